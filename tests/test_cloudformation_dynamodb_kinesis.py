"""AWS::DynamoDB::Table's KinesisStreamSpecification: the table's Kinesis streaming destination,
ACTIVE once the stack is (LocalStack's resources/test_kinesis.py records AWS answering so)."""

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
