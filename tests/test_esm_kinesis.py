"""Lambda event source mappings on Kinesis streams (run when overcast has Kinesis)."""

from __future__ import annotations

import base64
import json
import time

import pytest
from messaging_support import forwarder, make_queue
from test_esm import records_in

from overcast.services import SERVICES

pytestmark = pytest.mark.skipif("kinesis" not in SERVICES, reason="overcast has no Kinesis yet")


@pytest.fixture(scope="module")
def kinesis(client):
    return client("kinesis")


def make_stream(kinesis, name, shards=1):
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    for _ in range(100):
        description = kinesis.describe_stream(StreamName=name)["StreamDescription"]
        if description["StreamStatus"] == "ACTIVE":
            return description["StreamARN"]
        time.sleep(0.05)
    raise AssertionError("stream not active")


def test_kinesis_records_reach_the_function_per_shard_in_order(client, kinesis, unique_name):
    lam, sqs = client("lambda"), client("sqs")
    sink, _ = make_queue(sqs, unique_name("sink"))
    function = forwarder(lam, unique_name("fn"), sink)
    stream = make_stream(kinesis, unique_name("s"))
    lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=function, StartingPosition="TRIM_HORIZON",
                                    BatchSize=10)
    for i in range(5):
        kinesis.put_record(StreamName=stream.split("/")[-1], PartitionKey="k", Data=json.dumps({"n": i}).encode())
    records = records_in(sqs, sink, 5)
    assert [json.loads(base64.b64decode(r["kinesis"]["data"]))["n"] for r in records] == list(range(5))
    record = records[0]
    assert (record["eventSource"], record["eventName"], record["eventSourceARN"]) == \
        ("aws:kinesis", "aws:kinesis:record", stream)
    assert record["kinesis"]["partitionKey"] == "k"
    assert record["eventID"].startswith("shardId-")


def test_kinesis_filter_on_decoded_data(client, kinesis, unique_name):
    lam, sqs = client("lambda"), client("sqs")
    sink, _ = make_queue(sqs, unique_name("sink"))
    function = forwarder(lam, unique_name("fn"), sink)
    stream = make_stream(kinesis, unique_name("s"))
    lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=function, StartingPosition="TRIM_HORIZON",
                                    FilterCriteria={"Filters": [{"Pattern": json.dumps(
                                        {"data": {"temperature": [{"numeric": [">", 30]}]}})}]})
    name = stream.split("/")[-1]
    for t in (10, 35, 20):
        kinesis.put_record(StreamName=name, PartitionKey="k", Data=json.dumps({"temperature": t}).encode())
    records = records_in(sqs, sink, 2, timeout=4)
    assert [json.loads(base64.b64decode(r["kinesis"]["data"])) for r in records] == [{"temperature": 35}]


def test_kinesis_latest_skips_earlier_records(client, kinesis, unique_name):
    lam, sqs = client("lambda"), client("sqs")
    sink, _ = make_queue(sqs, unique_name("sink"))
    function = forwarder(lam, unique_name("fn"), sink)
    stream = make_stream(kinesis, unique_name("s"))
    name = stream.split("/")[-1]
    kinesis.put_record(StreamName=name, PartitionKey="k", Data=b'"old"')
    lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=function, StartingPosition="LATEST")
    kinesis.put_record(StreamName=name, PartitionKey="k", Data=b'"new"')
    records = records_in(sqs, sink, 2, timeout=4)
    assert [base64.b64decode(r["kinesis"]["data"]) for r in records] == [b'"new"']


def test_parallelization_factor_keeps_order_per_partition_key(client, kinesis, unique_name):
    lam, sqs = client("lambda"), client("sqs")
    sink, _ = make_queue(sqs, unique_name("sink"))
    function = forwarder(lam, unique_name("fn"), sink)
    stream = make_stream(kinesis, unique_name("s"))
    name = stream.split("/")[-1]
    for i in range(6):
        kinesis.put_record(StreamName=name, PartitionKey="ab"[i % 2], Data=json.dumps({"n": i}).encode())
    lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=function, StartingPosition="TRIM_HORIZON",
                                    BatchSize=1, ParallelizationFactor=2)
    records = records_in(sqs, sink, 6)
    by_key = {}
    for record in records:
        by_key.setdefault(record["kinesis"]["partitionKey"], []).append(
            json.loads(base64.b64decode(record["kinesis"]["data"]))["n"])
    assert by_key == {"a": [0, 2, 4], "b": [1, 3, 5]}
