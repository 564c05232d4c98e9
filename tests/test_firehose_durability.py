"""Records Firehose accepted survive kill -9 before their buffer is flushed: the flush happens
after the restart."""

from __future__ import annotations

import time

from conftest import OvercastProcess, make_client


def test_buffered_records_survive_kill_9(tmp_path):
    server = OvercastProcess(data_dir=str(tmp_path))
    try:
        s3 = make_client(server.endpoint, "s3")
        firehose = make_client(server.endpoint, "firehose")
        s3.create_bucket(Bucket="durable-fh")
        firehose.create_delivery_stream(
            DeliveryStreamName="durable", ExtendedS3DestinationConfiguration={
                "RoleARN": "arn:aws:iam::000000000000:role/x", "BucketARN": "arn:aws:s3:::durable-fh",
                "BufferingHints": {"IntervalInSeconds": 2, "SizeInMBs": 1}})
        firehose.put_record_batch(DeliveryStreamName="durable",
                                  Records=[{"Data": f"r{i}\n".encode()} for i in range(10)])
        server.stop(kill=True)

        server = OvercastProcess(data_dir=str(tmp_path))
        s3 = make_client(server.endpoint, "s3")
        deadline = time.time() + 15
        contents = []
        while time.time() < deadline and not contents:
            contents = s3.list_objects_v2(Bucket="durable-fh").get("Contents", [])
            time.sleep(0.1)
        assert len(contents) == 1
        body = s3.get_object(Bucket="durable-fh", Key=contents[0]["Key"])["Body"].read()
        assert body == b"".join(f"r{i}\n".encode() for i in range(10))
    finally:
        server.stop()


def test_kinesis_records_survive_kill_9(tmp_path):
    server = OvercastProcess(data_dir=str(tmp_path))
    try:
        kinesis = make_client(server.endpoint, "kinesis")
        kinesis.create_stream(StreamName="durable", ShardCount=1)
        time.sleep(0.6)
        kinesis.put_records(StreamName="durable", Records=[{"Data": b"%d" % i, "PartitionKey": "p"} for i in range(5)])
        server.stop(kill=True)

        server = OvercastProcess(data_dir=str(tmp_path))
        kinesis = make_client(server.endpoint, "kinesis")
        iterator = kinesis.get_shard_iterator(StreamName="durable", ShardId="shardId-000000000000",
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        assert [r["Data"] for r in kinesis.get_records(ShardIterator=iterator)["Records"]] == [b"%d" % i for i in range(5)]
    finally:
        server.stop()
