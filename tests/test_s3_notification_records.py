"""The fields of S3's event records as AWS sends them (the S3 user guide's "Event message
structure", and the records AWS recorded in LocalStack's AWS-validated snapshots)."""

from __future__ import annotations

import json
import time

import pytest

pytest_plugins = ["s3_fixtures"]


def _receive(sqs, url, wanted: int) -> list[dict]:
    out, deadline = [], time.time() + 10
    while len(out) < wanted and time.time() < deadline:
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            out += json.loads(m["Body"]).get("Records", [])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out


@pytest.fixture
def queue(client, s3, bucket, unique_name):
    sqs = client("sqs")
    url = sqs.create_queue(QueueName=unique_name("q"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [{
        "QueueArn": arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*", "s3:ObjectTagging:*"]}]})
    return sqs, url


def test_records_name_the_owner_and_the_caller_as_s3_does(client, s3, bucket, queue, unique_name):
    iam = client("iam")
    user = iam.create_user(UserName=unique_name("u"))["User"]
    key = iam.create_access_key(UserName=user["UserName"])["AccessKey"]
    as_user = client("s3", access_key=key["AccessKeyId"])
    as_user.put_object(Bucket=bucket, Key="by-user", Body=b"x")
    s3.put_object(Bucket=bucket, Key="by-root", Body=b"x")
    by_user, by_root = _receive(*queue, 2)
    # the caller: an IAM user by its unique id
    assert by_user["userIdentity"]["principalId"] == f"AWS:{user['UserId']}"
    # the owner: a customer id, not the account id (which S3 events never show)
    owner = by_user["s3"]["bucket"]["ownerIdentity"]["principalId"]
    assert owner == by_root["s3"]["bucket"]["ownerIdentity"]["principalId"]
    assert owner.startswith("A") and len(owner) == 14 and owner.isalnum() and owner.isupper()
    assert "000000000000" not in json.dumps(by_user["s3"]["bucket"])


def test_tagging_and_delete_marker_records(s3, bucket, queue):
    s3.put_object(Bucket=bucket, Key="k", Body=b"hello world")
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "a", "Value": "1"}]})
    s3.delete_object_tagging(Bucket=bucket, Key="k")
    created, tagged, untagged = _receive(*queue, 3)
    assert created["s3"]["object"]["size"] == 11
    assert tagged["eventName"] == "ObjectTagging:Put" and untagged["eventName"] == "ObjectTagging:Delete"
    for record in (tagged, untagged):  # no size on tagging events
        assert "size" not in record["s3"]["object"] and record["s3"]["object"]["eTag"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.delete_object(Bucket=bucket, Key="k")
    (marker,) = _receive(*queue, 1)
    assert marker["eventName"] == "ObjectRemoved:DeleteMarkerCreated"
    assert marker["s3"]["object"]["eTag"] == "d41d8cd98f00b204e9800998ecf8427e"  # the empty body's MD5
