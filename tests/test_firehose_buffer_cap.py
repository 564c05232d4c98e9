"""OVERCAST_FIREHOSE_MAX_BUFFER_SECONDS caps every stream's buffering interval (for tests that
cannot wait AWS's 300 s default): a stream with the default hints delivers within the cap, its
object named with the destination's FileExtension, and still describes the hints it was given."""

from __future__ import annotations

import time

import pytest
from conftest import OvercastProcess, make_client


@pytest.fixture(scope="module")
def server():
    process = OvercastProcess(env={"OVERCAST_FIREHOSE_MAX_BUFFER_SECONDS": "0.5"})
    yield process
    process.stop()


def test_default_hints_deliver_within_the_cap_with_the_file_extension(server):
    s3 = make_client(server.endpoint, "s3")
    firehose = make_client(server.endpoint, "firehose")
    s3.create_bucket(Bucket="capped")
    firehose.create_delivery_stream(DeliveryStreamName="capped", DeliveryStreamType="DirectPut",
                                    ExtendedS3DestinationConfiguration={
                                        "BucketARN": "arn:aws:s3:::capped", "FileExtension": ".txt",
                                        "RoleARN": "arn:aws:iam::000000000000:role/firehose",
                                        "ErrorOutputPrefix": "errors"})
    described = firehose.describe_delivery_stream(DeliveryStreamName="capped")["DeliveryStreamDescription"]
    hints = described["Destinations"][0]["ExtendedS3DestinationDescription"]["BufferingHints"]
    assert hints == {"SizeInMBs": 5, "IntervalInSeconds": 300}
    firehose.put_record(DeliveryStreamName="capped", Record={"Data": b"one"})
    firehose.put_record(DeliveryStreamName="capped", Record={"Data": b"two"})
    deadline = time.monotonic() + 10
    objects = []
    while time.monotonic() < deadline and not objects:
        objects = s3.list_objects_v2(Bucket="capped").get("Contents", [])
        time.sleep(0.2)
    assert len(objects) == 1 and objects[0]["Key"].endswith(".txt")
    assert s3.get_object(Bucket="capped", Key=objects[0]["Key"])["Body"].read() == b"onetwo"


def test_without_the_cap_the_default_interval_holds_the_records(client, unique_name):
    s3, firehose = client("s3"), client("firehose")
    bucket = unique_name("uncapped")
    s3.create_bucket(Bucket=bucket)
    firehose.create_delivery_stream(DeliveryStreamName=bucket, ExtendedS3DestinationConfiguration={
        "BucketARN": f"arn:aws:s3:::{bucket}", "RoleARN": "arn:aws:iam::000000000000:role/firehose"})
    firehose.put_record(DeliveryStreamName=bucket, Record={"Data": b"waiting"})
    time.sleep(1.5)
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0  # AWS's 300 s, not delivered yet
