"""SNS Firehose subscriptions and EventBridge Firehose targets (run when overcast has Firehose)."""

from __future__ import annotations

import json
import time

import pytest

from overcast.services import SERVICES

pytestmark = pytest.mark.skipif("firehose" not in SERVICES, reason="overcast has no Firehose yet")
ROLE = "arn:aws:iam::000000000000:role/firehose"


def delivery_stream(client, unique_name) -> tuple[str, str]:
    s3, firehose = client("s3"), client("firehose")
    bucket = unique_name("bkt")
    s3.create_bucket(Bucket=bucket)
    name = unique_name("ds")
    arn = firehose.create_delivery_stream(
        DeliveryStreamName=name, DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket}",
                                            "BufferingHints": {"IntervalInSeconds": 1, "SizeInMBs": 1}},
    )["DeliveryStreamARN"]
    return arn, bucket


def first_object(client, bucket, timeout=10.0) -> bytes:
    s3 = client("s3")
    deadline = time.time() + timeout
    while time.time() < deadline:
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        if keys:
            return s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read()
        time.sleep(0.1)
    raise AssertionError("nothing delivered")


def test_sns_firehose_subscription_delivers_raw_messages(client, unique_name):
    sns = client("sns")
    stream, bucket = delivery_stream(client, unique_name)
    topic = sns.create_topic(Name=unique_name("topic"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="firehose", Endpoint=stream,
                  Attributes={"SubscriptionRoleArn": ROLE, "RawMessageDelivery": "true"})
    sns.publish(TopicArn=topic, Message="to the lake")
    assert first_object(client, bucket) == b"to the lake"


def test_sns_firehose_subscription_needs_a_role(client, unique_name):
    sns = client("sns")
    topic = sns.create_topic(Name=unique_name("topic"))["TopicArn"]
    with pytest.raises(Exception) as info:
        sns.subscribe(TopicArn=topic, Protocol="firehose",
                      Endpoint="arn:aws:firehose:us-east-1:000000000000:deliverystream/x")
    assert info.value.response["Error"]["Code"] == "InvalidParameter"


def test_eventbridge_firehose_target(client, unique_name):
    events = client("events")
    stream, bucket = delivery_stream(client, unique_name)
    source = unique_name("app")
    rule = unique_name("rule")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=rule, Targets=[{"Id": "fh", "Arn": stream, "RoleArn": ROLE}])
    events.put_events(Entries=[{"Source": source, "DetailType": "t", "Detail": '{"lake": true}'}])
    assert json.loads(first_object(client, bucket))["detail"] == {"lake": True}


def test_sns_firehose_delivery_status_lines(client, unique_name):
    sns, logs = client("sns"), client("logs")
    stream, bucket = delivery_stream(client, unique_name)
    topic = sns.create_topic(Name=unique_name("topic"), Attributes={
        "FirehoseSuccessFeedbackRoleArn": "arn:aws:iam::000000000000:role/SNSFeedback",
        "FirehoseSuccessFeedbackSampleRate": "100",
        "FirehoseFailureFeedbackRoleArn": "arn:aws:iam::000000000000:role/SNSFeedback"})["TopicArn"]
    gone = stream.rsplit("/", 1)[0] + "/" + unique_name("gone")
    for endpoint in (stream, gone):
        sns.subscribe(TopicArn=topic, Protocol="firehose", Endpoint=endpoint,
                      Attributes={"SubscriptionRoleArn": ROLE, "RawMessageDelivery": "true"})
    sns.publish(TopicArn=topic, Message="to the lake")
    assert first_object(client, bucket) == b"to the lake"
    group = "sns/us-east-1/000000000000/" + topic.rsplit(":", 1)[1]
    lines = {}
    deadline = time.time() + 10
    while len(lines) < 2 and time.time() < deadline:
        for name in (group, group + "/Failure"):
            try:
                for event in logs.filter_log_events(logGroupName=name)["events"]:
                    line = json.loads(event["message"])
                    lines[line["delivery"]["destination"]] = line
            except logs.exceptions.ResourceNotFoundException:
                pass
        time.sleep(0.2)
    ok, failed = lines[stream], lines[gone]
    assert (ok["status"], ok["delivery"]["statusCode"], ok["delivery"]["attempts"]) == ("SUCCESS", 200, 1)
    assert json.loads(ok["delivery"]["providerResponse"])["firehoseRecordId"]
    assert failed["status"] == "FAILURE"
    assert json.loads(failed["delivery"]["providerResponse"])["firehoseRequestId"] == "Unrecoverable"
