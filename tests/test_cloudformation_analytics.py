"""CloudFormation deploys Kinesis streams and consumers, Firehose delivery streams, Glue databases,
tables and crawlers, and Athena workgroups and named queries through the services' own providers:
created, updated in place or replaced as their schemas say, and deleted."""

from __future__ import annotations

import gzip
import json
import time

import pytest
from botocore.exceptions import ClientError
from cfn_support import own_tags

FAST = {"Delay": 0.2, "MaxAttempts": 300}


@pytest.fixture
def cf(client):
    return client("cloudformation")


def deploy(cf, name: str, body: str, create: bool = True, **params) -> dict:
    parameters = [{"ParameterKey": k, "ParameterValue": str(v)} for k, v in params.items()]
    if create:
        cf.create_stack(StackName=name, TemplateBody=body, Parameters=parameters)
    else:
        cf.update_stack(StackName=name, TemplateBody=body, Parameters=parameters)
    cf.get_waiter("stack_create_complete" if create else "stack_update_complete").wait(StackName=name,
                                                                                       WaiterConfig=FAST)
    stack = cf.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


STREAMS = """
Parameters:
  Shards: {Type: Number, Default: 1}
  Hours: {Type: Number, Default: 24}
  Prefix: {Type: String, Default: v1/}
  Consumer: {Type: String, Default: reader}
Resources:
  Bucket: {Type: AWS::S3::Bucket}
  Stream:
    Type: AWS::Kinesis::Stream
    Properties:
      ShardCount: !Ref Shards
      RetentionPeriodHours: !Ref Hours
      Tags: [{Key: app, Value: clicks}]
  Reader:
    Type: AWS::Kinesis::StreamConsumer
    Properties: {StreamARN: !GetAtt Stream.Arn, ConsumerName: !Ref Consumer}
  Delivery:
    Type: AWS::KinesisFirehose::DeliveryStream
    Properties:
      DeliveryStreamType: DirectPut
      ExtendedS3DestinationConfiguration:
        BucketARN: !GetAtt Bucket.Arn
        RoleARN: !Sub arn:aws:iam::${AWS::AccountId}:role/firehose
        Prefix: !Ref Prefix
        CompressionFormat: GZIP
        BufferingHints: {IntervalInSeconds: "1", SizeInMBs: "1"}
Outputs:
  Stream: {Value: !Ref Stream}
  StreamArn: {Value: !GetAtt Stream.Arn}
  Consumer: {Value: !Ref Reader}
  ConsumerName: {Value: !GetAtt Reader.ConsumerName}
  ConsumerStatus: {Value: !GetAtt Reader.ConsumerStatus}
  Delivery: {Value: !Ref Delivery}
  DeliveryArn: {Value: !GetAtt Delivery.Arn}
  Bucket: {Value: !Ref Bucket}
"""


def _objects(s3, bucket: str, prefix: str) -> list[bytes]:
    deadline = time.time() + 20
    while time.time() < deadline:
        contents = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        if contents:
            return [gzip.decompress(s3.get_object(Bucket=bucket, Key=c["Key"])["Body"].read()) for c in contents]
        time.sleep(0.2)
    return []


def test_kinesis_streams_consumers_and_firehose(cf, client, unique_name):
    kinesis, firehose, s3 = client("kinesis"), client("firehose"), client("s3")
    name = unique_name("streams")
    out = deploy(cf, name, STREAMS)
    summary = kinesis.describe_stream_summary(StreamName=out["Stream"])["StreamDescriptionSummary"]
    assert summary["StreamStatus"] == "ACTIVE" and summary["OpenShardCount"] == 1
    assert summary["StreamARN"] == out["StreamArn"] and summary["RetentionPeriodHours"] == 24
    assert own_tags(kinesis.list_tags_for_stream(StreamName=out["Stream"])["Tags"]) == [{"Key": "app", "Value": "clicks"}]
    consumer = kinesis.describe_stream_consumer(ConsumerARN=out["Consumer"])["ConsumerDescription"]
    assert (consumer["ConsumerName"], out["ConsumerName"], out["ConsumerStatus"]) == ("reader", "reader", "ACTIVE")
    assert out["DeliveryArn"] == f"arn:aws:firehose:us-east-1:000000000000:deliverystream/{out['Delivery']}"
    firehose.put_record(DeliveryStreamName=out["Delivery"], Record={"Data": b'{"n": 1}\n'})
    assert _objects(s3, out["Bucket"], "v1/") == [b'{"n": 1}\n']

    # in place: shard count, retention, the delivery prefix; replaced: the consumer's name
    updated = deploy(cf, name, STREAMS, create=False, Shards=2, Hours=48, Prefix="v2/", Consumer="reader2")
    summary = kinesis.describe_stream_summary(StreamName=out["Stream"])["StreamDescriptionSummary"]
    assert (summary["StreamStatus"], summary["OpenShardCount"], summary["RetentionPeriodHours"]) == ("ACTIVE", 2, 48)
    assert updated["StreamArn"] == out["StreamArn"] and updated["DeliveryArn"] == out["DeliveryArn"]
    assert updated["Consumer"] != out["Consumer"] and updated["ConsumerName"] == "reader2"
    consumers = kinesis.list_stream_consumers(StreamARN=out["StreamArn"])["Consumers"]
    assert [c["ConsumerName"] for c in consumers] == ["reader2"]
    firehose.put_record(DeliveryStreamName=out["Delivery"], Record={"Data": b'{"n": 2}\n'})
    assert _objects(s3, out["Bucket"], "v2/") == [b'{"n": 2}\n']

    for key in [c["Key"] for c in s3.list_objects_v2(Bucket=out["Bucket"]).get("Contents", [])]:
        s3.delete_object(Bucket=out["Bucket"], Key=key)
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)
    assert out["Stream"] not in kinesis.list_streams()["StreamNames"]
    assert out["Delivery"] not in firehose.list_delivery_streams()["DeliveryStreamNames"]


CATALOG = """
Parameters:
  Comment: {Type: String, Default: first}
  Cutoff: {Type: Number, Default: 10000000}
  Query: {Type: String, Default: SELECT 1}
Resources:
  Db:
    Type: AWS::Glue::Database
    Properties:
      CatalogId: !Ref AWS::AccountId
      DatabaseInput: {Description: !Ref Comment}
  Events:
    Type: AWS::Glue::Table
    Properties:
      CatalogId: !Ref AWS::AccountId
      DatabaseName: !Ref Db
      TableInput:
        Name: events
        Description: !Ref Comment
        TableType: EXTERNAL_TABLE
        PartitionKeys: [{Name: dt, Type: string}]
        StorageDescriptor:
          Location: s3://somewhere/events/
          InputFormat: org.apache.hadoop.mapred.TextInputFormat
          OutputFormat: org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat
          SerdeInfo: {SerializationLibrary: org.openx.data.jsonserde.JsonSerDe}
          Columns: [{Name: page, Type: string}, {Name: ms, Type: int}]
  Crawler:
    Type: AWS::Glue::Crawler
    Properties:
      Role: !Sub arn:aws:iam::${AWS::AccountId}:role/glue
      DatabaseName: !Ref Db
      Description: !Ref Comment
      Targets: {S3Targets: [{Path: s3://somewhere/events/}]}
      Schedule: {ScheduleExpression: cron(0 * * * ? *)}
      Tags: {team: data}
  Group:
    Type: AWS::Athena::WorkGroup
    Properties:
      Name: !Sub ${AWS::StackName}-wg
      Description: !Ref Comment
      WorkGroupConfiguration:
        BytesScannedCutoffPerQuery: !Ref Cutoff
        ResultConfiguration: {OutputLocation: s3://somewhere/results/}
  Saved:
    Type: AWS::Athena::NamedQuery
    Properties: {Database: !Ref Db, WorkGroup: !Ref Group, QueryString: !Ref Query, Name: saved}
Outputs:
  Db: {Value: !Ref Db}
  Table: {Value: !Ref Events}
  Crawler: {Value: !Ref Crawler}
  Group: {Value: !Ref Group}
  Created: {Value: !GetAtt Group.CreationTime}
  Engine: {Value: !GetAtt Group.WorkGroupConfiguration.EngineVersion.EffectiveEngineVersion}
  Query: {Value: !Ref Saved}
  QueryId: {Value: !GetAtt Saved.NamedQueryId}
"""


def test_glue_catalog_crawler_and_athena_workgroup(cf, client, unique_name):
    glue, athena = client("glue"), client("athena")
    name = unique_name("catalog")
    out = deploy(cf, name, CATALOG)
    assert out["Db"] == out["Db"].lower() and "-db-" in out["Db"]
    assert glue.get_database(Name=out["Db"])["Database"]["Description"] == "first"
    table = glue.get_table(DatabaseName=out["Db"], Name=out["Table"])["Table"]
    assert out["Table"] == "events" and [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == ["page", "ms"]
    crawler = glue.get_crawler(Name=out["Crawler"])["Crawler"]
    assert crawler["Schedule"]["ScheduleExpression"] == "cron(0 * * * ? *)" and crawler["DatabaseName"] == out["Db"]
    arn = f"arn:aws:glue:us-east-1:000000000000:crawler/{out['Crawler']}"
    assert own_tags(glue.get_tags(ResourceArn=arn)["Tags"]) == {"team": "data"}
    group = athena.get_work_group(WorkGroup=out["Group"])["WorkGroup"]
    assert group["Configuration"]["BytesScannedCutoffPerQuery"] == 10000000
    assert out["Engine"] == "Athena engine version 3" and out["Created"].endswith("Z")
    assert out["Query"] == out["QueryId"]
    saved = athena.get_named_query(NamedQueryId=out["Query"])["NamedQuery"]
    assert (saved["Database"], saved["WorkGroup"], saved["QueryString"]) == (out["Db"], out["Group"], "SELECT 1")

    updated = deploy(cf, name, CATALOG, create=False, Comment="second", Cutoff=20000000, Query="SELECT 2")
    assert {k: v for k, v in updated.items() if not k.startswith("Query")} == \
        {k: v for k, v in out.items() if not k.startswith("Query")}  # in place
    assert glue.get_database(Name=out["Db"])["Database"]["Description"] == "second"
    assert glue.get_table(DatabaseName=out["Db"], Name="events")["Table"]["Description"] == "second"
    assert glue.get_crawler(Name=out["Crawler"])["Crawler"]["Description"] == "second"
    group = athena.get_work_group(WorkGroup=out["Group"])["WorkGroup"]
    assert group["Description"] == "second" and group["Configuration"]["BytesScannedCutoffPerQuery"] == 20000000
    assert updated["Query"] != out["Query"]  # every property of a named query is createOnly: replaced
    with pytest.raises(ClientError):
        athena.get_named_query(NamedQueryId=out["Query"])
    assert athena.get_named_query(NamedQueryId=updated["Query"])["NamedQuery"]["QueryString"] == "SELECT 2"

    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)
    with pytest.raises(ClientError) as info:
        glue.get_database(Name=out["Db"])
    assert info.value.response["Error"]["Code"] == "EntityNotFoundException"
    with pytest.raises(ClientError):
        athena.get_work_group(WorkGroup=out["Group"])
    with pytest.raises(ClientError):
        glue.get_crawler(Name=out["Crawler"])


def test_a_firehose_destination_overcast_does_not_deliver_to_fails_with_the_services_reason(cf, unique_name):
    name = unique_name("splunk")
    body = json.dumps({"Resources": {"Delivery": {"Type": "AWS::KinesisFirehose::DeliveryStream", "Properties": {
        "HttpEndpointDestinationConfiguration": {
            "EndpointConfiguration": {"Url": "https://example.com"}, "S3Configuration": {
                "BucketARN": "arn:aws:s3:::b", "RoleARN": "arn:aws:iam::000000000000:role/r"}}}}}})
    cf.create_stack(StackName=name, TemplateBody=body)
    deadline = time.time() + 30
    while cf.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"].endswith("IN_PROGRESS") and \
            time.time() < deadline:
        time.sleep(0.1)
    assert cf.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
    failed = [e for e in cf.describe_stack_events(StackName=name)["StackEvents"] if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed[0]["ResourceStatusReason"] == ("HttpEndpointDestinationConfiguration is not supported by overcast "
                                                 "yet: only S3 (ExtendedS3) destinations are.")
