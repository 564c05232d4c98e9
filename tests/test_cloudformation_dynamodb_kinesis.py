"""AWS::DynamoDB::Table's KinesisStreamSpecification: the table's Kinesis streaming destination,
ACTIVE once the stack is (LocalStack's resources/test_kinesis.py records AWS answering so); and
DescribeDeliveryStream of a Firehose stream reading Kinesis, as resources/test_firehose.py records."""

from __future__ import annotations

import json

from cfn_support import wait


def _template(table: str, streams: list[str], destination: str | None) -> str:
    resources = {s: {"Type": "AWS::Kinesis::Stream", "Properties": {"ShardCount": 1}} for s in streams}
    properties = {"TableName": table, "BillingMode": "PAY_PER_REQUEST",
                  "AttributeDefinitions": [{"AttributeName": "pkey", "AttributeType": "S"}],
                  "KeySchema": [{"AttributeName": "pkey", "KeyType": "HASH"}]}
    if destination:
        properties["KinesisStreamSpecification"] = {"StreamArn": {"Fn::GetAtt": [destination, "Arn"]}}
    resources["Table"] = {"Type": "AWS::DynamoDB::Table", "Properties": properties}
    return json.dumps({"Resources": resources, "Outputs": {
        s: {"Value": {"Fn::GetAtt": [s, "Arn"]}} for s in streams}})


def test_a_tables_kinesis_destination_follows_the_template(client, unique_name):
    cf, dynamodb = client("cloudformation"), client("dynamodb")
    name, table = unique_name("kds"), unique_name("table")
    cf.create_stack(StackName=name, TemplateBody=_template(table, ["One", "Two"], "One"))
    arns = {o["OutputKey"]: o["OutputValue"] for o in wait(cf, "stack_create_complete", name)["Outputs"]}

    def destinations():
        found = dynamodb.describe_kinesis_streaming_destination(TableName=table)["KinesisDataStreamDestinations"]
        return {(d["StreamArn"], d["DestinationStatus"]) for d in found}

    assert destinations() == {(arns["One"], "ACTIVE")}
    cf.update_stack(StackName=name, TemplateBody=_template(table, ["One", "Two"], "Two"))
    wait(cf, "stack_update_complete", name)
    assert destinations() == {(arns["One"], "DISABLED"), (arns["Two"], "ACTIVE")}
    cf.update_stack(StackName=name, TemplateBody=_template(table, ["One", "Two"], None))
    wait(cf, "stack_update_complete", name)
    assert destinations() == {(arns["One"], "DISABLED"), (arns["Two"], "DISABLED")}


def test_a_delivery_stream_reading_kinesis_shows_no_encryption_status_until_updated(client, unique_name):
    firehose, kinesis, s3 = client("firehose"), client("kinesis"), client("s3")
    stream, bucket, name = unique_name("src"), unique_name("dest"), unique_name("ds")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.2})
    s3.create_bucket(Bucket=bucket)
    role = "arn:aws:iam::000000000000:role/firehose"
    firehose.create_delivery_stream(
        DeliveryStreamName=name, DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": kinesis.describe_stream(StreamName=stream)[
            "StreamDescription"]["StreamARN"], "RoleARN": role},
        ExtendedS3DestinationConfiguration={"BucketARN": f"arn:aws:s3:::{bucket}", "RoleARN": role})
    described = firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    assert "DeliveryStreamEncryptionConfiguration" not in described and "LastUpdateTimestamp" not in described
    firehose.update_destination(DeliveryStreamName=name, CurrentDeliveryStreamVersionId=described["VersionId"],
                                DestinationId=described["Destinations"][0]["DestinationId"],
                                ExtendedS3DestinationUpdate={"Prefix": "p/"})
    assert "LastUpdateTimestamp" in firehose.describe_delivery_stream(DeliveryStreamName=name)[
        "DeliveryStreamDescription"]
