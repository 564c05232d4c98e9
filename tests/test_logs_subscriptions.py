"""CloudWatch Logs subscription filters through boto3: Put/Describe/DeleteSubscriptionFilter with
AWS's errors, and matching events delivered to a Lambda function ({"awslogs": {"data": ...}})
and to a Kinesis stream (gzip record data), as AWS sends them."""

from __future__ import annotations

import gzip
import json
import time

import pytest
from botocore.exceptions import ClientError
from lambda_functions import create_python

ACCOUNT = "000000000000"


@pytest.fixture(scope="module")
def logs(client):
    return client("logs")


@pytest.fixture
def group(logs, unique_name):
    name = "/test/" + unique_name("subs")
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="s1")
    return name


@pytest.fixture
def kinesis_arn(client, unique_name):
    kinesis = client("kinesis")
    name = unique_name("ks")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    for _ in range(100):
        summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        if summary["StreamStatus"] == "ACTIVE":
            return summary["StreamARN"]
        time.sleep(0.1)
    raise AssertionError("stream never became ACTIVE")


def _error(excinfo) -> tuple[str, str]:
    e = excinfo.value.response
    return e["Error"]["Code"], e["Error"].get("Message", "")


def _put(logs, group, messages):
    start = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName="s1",
                        logEvents=[{"timestamp": start + i, "message": m} for i, m in enumerate(messages)])
    return start


def test_filters_are_put_described_replaced_and_deleted(logs, group, kinesis_arn):
    logs.put_subscription_filter(logGroupName=group, filterName="a", filterPattern="ERROR", destinationArn=kinesis_arn,
                                 roleArn=f"arn:aws:iam::{ACCOUNT}:role/cwl")
    logs.put_subscription_filter(logGroupName=group, filterName="b", filterPattern="", destinationArn=kinesis_arn,
                                 distribution="Random")
    filters = logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
    assert [(f["filterName"], f["filterPattern"], f["destinationArn"], f["distribution"]) for f in filters] == [
        ("a", "ERROR", kinesis_arn, "ByLogStream"), ("b", "", kinesis_arn, "Random")]
    assert filters[0]["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/cwl" and "roleArn" not in filters[1]
    assert all(f["logGroupName"] == group and isinstance(f["creationTime"], int) for f in filters)
    # a third filter is over the quota of two; replacing one by its name is not
    with pytest.raises(ClientError) as e:
        logs.put_subscription_filter(logGroupName=group, filterName="c", filterPattern="", destinationArn=kinesis_arn)
    assert _error(e) == ("LimitExceededException", "Resource limit exceeded.")
    logs.put_subscription_filter(logGroupName=group, filterName="a", filterPattern="WARN", destinationArn=kinesis_arn)
    page = logs.describe_subscription_filters(logGroupName=group, filterNamePrefix="a")["subscriptionFilters"]
    assert [(f["filterName"], f["filterPattern"]) for f in page] == [("a", "WARN")]
    first = logs.describe_subscription_filters(logGroupName=group, limit=1)
    assert [f["filterName"] for f in first["subscriptionFilters"]] == ["a"]
    second = logs.describe_subscription_filters(logGroupName=group, limit=1, nextToken=first["nextToken"])
    assert [f["filterName"] for f in second["subscriptionFilters"]] == ["b"] and "nextToken" not in second
    logs.delete_subscription_filter(logGroupName=group, filterName="a")
    with pytest.raises(ClientError) as e:
        logs.delete_subscription_filter(logGroupName=group, filterName="a")
    assert _error(e) == ("ResourceNotFoundException", "The specified subscription filter does not exist.")
    assert [f["filterName"] for f in logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]] == ["b"]


def test_bad_input_gets_aws_errors(logs, group, kinesis_arn, unique_name):
    with pytest.raises(ClientError) as e:
        logs.put_subscription_filter(logGroupName=group + "-nope", filterName="a", filterPattern="",
                                     destinationArn=kinesis_arn)
    assert _error(e) == ("ResourceNotFoundException", "The specified log group does not exist.")
    with pytest.raises(ClientError) as e:
        logs.describe_subscription_filters(logGroupName=group + "-nope")
    assert _error(e)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        logs.put_subscription_filter(logGroupName=group, filterName="a", filterPattern="",
                                     destinationArn=f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{unique_name('none')}")
    assert _error(e)[0] == "InvalidParameterException" and "Kinesis stream" in _error(e)[1]
    with pytest.raises(ClientError) as e:
        logs.put_subscription_filter(logGroupName=group, filterName="a", filterPattern="",
                                     destinationArn=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{unique_name('none')}")
    assert _error(e)[0] == "InvalidParameterException" and "lambda function" in _error(e)[1]
    with pytest.raises(ClientError) as e:
        logs.put_subscription_filter(logGroupName=group, filterName="a", filterPattern="",
                                     destinationArn=f"arn:aws:sqs:us-east-1:{ACCOUNT}:q")
    assert _error(e)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        logs.put_subscription_filter(logGroupName=group, filterName="a", filterPattern='"unterminated',
                                     destinationArn=kinesis_arn)
    assert _error(e)[0] == "InvalidParameterException"
    assert logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"] == []


def test_matching_events_reach_a_kinesis_stream_as_gzip(logs, group, kinesis_arn, client):
    kinesis = client("kinesis")
    logs.put_subscription_filter(logGroupName=group, filterName="errors", filterPattern="ERROR",
                                 destinationArn=kinesis_arn)
    start = _put(logs, group, ["INFO fine", "ERROR one", "ERROR two"])
    iterator = kinesis.get_shard_iterator(StreamARN=kinesis_arn, ShardId="shardId-000000000000",
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = []
    deadline = time.time() + 20
    while not records and time.time() < deadline:
        out = kinesis.get_records(ShardIterator=iterator, StreamARN=kinesis_arn)
        records, iterator = out["Records"], out["NextShardIterator"]
        time.sleep(0.2)
    [record] = records
    assert record["PartitionKey"] == "s1"  # ByLogStream
    message = json.loads(gzip.decompress(record["Data"]))
    assert {k: message[k] for k in ("messageType", "owner", "logGroup", "logStream", "subscriptionFilters")} == {
        "messageType": "DATA_MESSAGE", "owner": ACCOUNT, "logGroup": group, "logStream": "s1",
        "subscriptionFilters": ["errors"]}
    assert [(e["timestamp"], e["message"]) for e in message["logEvents"]] == [(start + 1, "ERROR one"),
                                                                             (start + 2, "ERROR two")]
    assert all(e["id"].isdigit() and len(e["id"]) == 56 for e in message["logEvents"])


HANDLER = """import base64, gzip, json
def handler(event, context):
    data = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    print("GOT " + json.dumps(data))
"""


def test_matching_events_invoke_a_lambda_function_asynchronously(logs, group, client, unique_name):
    lam = client("lambda")
    name = unique_name("sub")
    function_arn = create_python(lam, name, HANDLER)["FunctionArn"]
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    logs.put_subscription_filter(logGroupName=group, filterName="all", filterPattern="?alpha ?beta",
                                 destinationArn=function_arn)
    _put(logs, group, ["alpha 1", "gamma", "beta 2"])
    deadline = time.time() + 60
    got = []
    while not got and time.time() < deadline:
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}", filterPattern="GOT")["events"]
        except ClientError:
            events = []
        got = [json.loads(e["message"].split("GOT ", 1)[1]) for e in events]
        time.sleep(0.5)
    [message] = got
    assert message["messageType"] == "DATA_MESSAGE" and message["logGroup"] == group
    assert message["subscriptionFilters"] == ["all"] and message["owner"] == ACCOUNT
    assert [e["message"] for e in message["logEvents"]] == ["alpha 1", "beta 2"]


def test_matching_events_reach_a_firehose_stream_as_gzip(logs, group, client, unique_name):
    s3, firehose = client("s3"), client("firehose")
    bucket = unique_name("subs-bucket")
    s3.create_bucket(Bucket=bucket)
    name = unique_name("ds")
    arn = firehose.create_delivery_stream(
        DeliveryStreamName=name, DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={"RoleARN": f"arn:aws:iam::{ACCOUNT}:role/firehose",
                                            "BucketARN": f"arn:aws:s3:::{bucket}",
                                            "BufferingHints": {"IntervalInSeconds": 0, "SizeInMBs": 1}})["DeliveryStreamARN"]
    logs.put_subscription_filter(logGroupName=group, filterName="fh", filterPattern="-debug", destinationArn=arn,
                                 roleArn=f"arn:aws:iam::{ACCOUNT}:role/cwl")
    _put(logs, group, ["debug x", "kept"])
    deadline = time.time() + 20
    contents = []
    while not contents and time.time() < deadline:
        contents = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
        time.sleep(0.2)
    [obj] = contents
    message = json.loads(gzip.decompress(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()))
    assert message["subscriptionFilters"] == ["fh"] and [e["message"] for e in message["logEvents"]] == ["kept"]


def test_another_accounts_destination_delivers_to_its_stream_once_its_policy_allows(client, unique_name):
    """Account A (the receiver) makes a destination for its Kinesis stream; account B subscribes
    its log group to it once A's access policy admits B; B's events land in A's stream."""
    receiver, sender = "111111111111", "222222222222"
    la, lb = client("logs", access_key=receiver), client("logs", access_key=sender)
    kinesis = client("kinesis", access_key=receiver)
    stream = unique_name("dest")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    for _ in range(100):
        summary = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
        if summary["StreamStatus"] == "ACTIVE":
            break
        time.sleep(0.1)
    role = f"arn:aws:iam::{receiver}:role/logs-to-kinesis"
    name = unique_name("dest")
    made = la.put_destination(destinationName=name, targetArn=summary["StreamARN"], roleArn=role,
                              tags={"team": "core"})["destination"]
    arn = f"arn:aws:logs:us-east-1:{receiver}:destination:{name}"
    assert made == {"destinationName": name, "targetArn": summary["StreamARN"], "roleArn": role, "arn": arn,
                    "creationTime": made["creationTime"]}
    assert la.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "core"}
    assert la.describe_destinations(DestinationNamePrefix=name)["destinations"] == [made]

    group = "/sender/" + unique_name("grp")
    lb.create_log_group(logGroupName=group)
    lb.create_log_stream(logGroupName=group, logStreamName="s1")
    with pytest.raises(ClientError) as e:
        lb.put_subscription_filter(logGroupName=group, filterName="f", filterPattern="", destinationArn=arn)
    assert _error(e)[0] == "AccessDeniedException"
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": sender},
                         "Action": "logs:PutSubscriptionFilter", "Resource": arn}]})
    la.put_destination_policy(destinationName=name, accessPolicy=policy)
    assert la.describe_destinations(DestinationNamePrefix=name)["destinations"][0]["accessPolicy"] == policy
    lb.put_subscription_filter(logGroupName=group, filterName="f", filterPattern="ERROR", destinationArn=arn)
    start = _put(lb, group, ["INFO skip", "ERROR crossed"])

    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId="shardId-000000000000",
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records: list = []
    deadline = time.time() + 20
    while not records and time.time() < deadline:
        out = kinesis.get_records(ShardIterator=iterator)
        records, iterator = out["Records"], out["NextShardIterator"]
        time.sleep(0.2)
    [record] = records
    message = json.loads(gzip.decompress(record["Data"]))
    assert (message["owner"], message["logGroup"], message["subscriptionFilters"]) == (sender, group, ["f"])
    assert [(e["timestamp"], e["message"]) for e in message["logEvents"]] == [(start + 1, "ERROR crossed")]

    la.delete_destination(destinationName=name)
    assert la.describe_destinations(DestinationNamePrefix=name)["destinations"] == []
    with pytest.raises(ClientError) as e:
        la.delete_destination(destinationName=name)
    assert _error(e) == ("ResourceNotFoundException", "The specified destination does not exist.")
