"""Firehose in a cluster (docs/cluster.md): a delivery stream's flushes and its Kinesis source's
reads run on the one node holding its lease ("firehose:<id>"). Records put round-robin on three
nodes are delivered once, in one object per flush; a node killed with kill -9 while it holds
acknowledged records: another node flushes them within the stated time, each record once, and
reads the Kinesis source on from its checkpoint. Skips without a reachable PostgreSQL, except in
CI (tests/cluster_support.py)."""

from __future__ import annotations

import itertools
import time
from collections import Counter

import pytest
from cluster_support import cluster_view, create_database, holders, name, start_nodes, stop_nodes
from conftest import make_client

from overcast.storage.coordination import HEARTBEAT_SECONDS, LEASE_SECONDS

TAKEOVER = LEASE_SECONDS + HEARTBEAT_SECONDS  # a dead node's leases are taken within this (storage/coordination.py)
ROLE = "arn:aws:iam::000000000000:role/firehose"


def records_in(s3, bucket: str) -> list[bytes]:
    """Every line of every object in the bucket."""
    out = []
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        out += s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().splitlines()
    return out


def wait_records(s3, bucket: str, count: int, timeout: float) -> list[bytes]:
    deadline = time.monotonic() + timeout
    found = records_in(s3, bucket)
    while len(found) < count and time.monotonic() < deadline:
        time.sleep(0.1)
        found = records_in(s3, bucket)
    return found


def make_stream(firehose, stream: str, bucket: str, interval: int, source: str | None = None) -> str:
    extra = {"DeliveryStreamType": "KinesisStreamAsSource",
             "KinesisStreamSourceConfiguration": {"KinesisStreamARN": source, "RoleARN": ROLE}} if source else {}
    return firehose.create_delivery_stream(
        DeliveryStreamName=stream, ExtendedS3DestinationConfiguration={
            "RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket}",
            "BufferingHints": {"IntervalInSeconds": interval, "SizeInMBs": 1}}, **extra)["DeliveryStreamARN"]


def stream_lease(endpoint: str, holder: str | None = None, timeout: float = 10) -> dict[str, str]:
    """The leases of delivery streams (name -> holder), once there is one (held by `holder`)."""
    deadline = time.monotonic() + timeout
    while True:
        found = holders(endpoint, "firehose:")
        if (found and (holder is None or holder in found.values())) or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


@pytest.fixture(scope="module")
def nodes():
    url, drop = create_database("overcast_firehose")
    started = start_nodes(url, 3)
    yield started
    stop_nodes(started)
    drop()


def test_records_put_on_every_node_are_flushed_once_by_the_lease_holder(nodes):
    endpoints = [n.endpoint for n in nodes]
    s3 = make_client(endpoints[0], "s3")
    bucket, stream = name("fh-rr"), name("rr")
    s3.create_bucket(Bucket=bucket)
    make_stream(make_client(endpoints[1], "firehose"), stream, bucket, interval=2)
    leases = stream_lease(endpoints[2])
    assert len(leases) == 1 and list(leases.values()) == [cluster_view(endpoints[1])["node"]]  # its creator
    senders = itertools.cycle([make_client(e, "firehose") for e in endpoints])
    for i in range(30):
        next(senders).put_record(DeliveryStreamName=stream, Record={"Data": f"r{i}\n".encode()})
    found = wait_records(s3, bucket, 30, timeout=20)
    time.sleep(3)  # (an interval more: a second flush of the same records would show now)
    found = records_in(s3, bucket)
    assert Counter(found) == Counter(f"r{i}".encode() for i in range(30))  # each record once
    # one flush (or two, if the interval ran out during the puts), not one per node
    assert 1 <= len(s3.list_objects_v2(Bucket=bucket)["Contents"]) <= 2
    make_client(endpoints[0], "firehose").delete_delivery_stream(DeliveryStreamName=stream)
    deadline = time.monotonic() + TAKEOVER
    while holders(endpoints[0], "firehose:") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert holders(endpoints[0], "firehose:") == {}  # deleted: its lease is given back


def test_a_buffer_filled_on_other_nodes_is_flushed_by_size_at_once(nodes):
    """The holder counts the bytes other nodes buffered (their notifications carry them): a
    buffer reaching SizeInMBs is flushed then, not when the interval (900 s) runs out."""
    endpoints = [n.endpoint for n in nodes]
    s3 = make_client(endpoints[0], "s3")
    bucket, stream = name("fh-size"), name("size")
    s3.create_bucket(Bucket=bucket)
    make_stream(make_client(endpoints[0], "firehose"), stream, bucket, interval=900)
    assert list(stream_lease(endpoints[0]).values()) == [cluster_view(endpoints[0])["node"]]
    record = b"x" * (300 * 1024) + b"\n"
    for i in range(4):  # 1.2 MB, on the two nodes that do not hold the stream
        make_client(endpoints[1 + i % 2], "firehose").put_record(DeliveryStreamName=stream, Record={"Data": record})
    found = wait_records(s3, bucket, 3, timeout=10)
    assert len(found) >= 3  # (1 MiB holds three records: the first flush takes them)
    make_client(endpoints[0], "firehose").delete_delivery_stream(DeliveryStreamName=stream)


def test_a_killed_holders_buffer_is_flushed_by_another_node_once(request):
    url, drop = create_database("overcast_firehose_kill")
    nodes = start_nodes(url, 3)
    request.node.funcargs["nodes"] = nodes  # their logs in the report of a failure (conftest.py)
    try:
        victim, *survivors = nodes
        victim_id = cluster_view(victim.endpoint)["node"]
        s3 = make_client(survivors[0].endpoint, "s3")
        kinesis = make_client(survivors[1].endpoint, "kinesis")
        firehose = make_client(victim.endpoint, "firehose")
        direct_bucket, source_bucket, source = name("fh-direct"), name("fh-source"), name("src")
        s3.create_bucket(Bucket=direct_bucket)
        s3.create_bucket(Bucket=source_bucket)
        kinesis.create_stream(StreamName=source, ShardCount=1)
        kinesis.get_waiter("stream_exists").wait(StreamName=source, WaiterConfig={"Delay": 0.2})
        source_arn = kinesis.describe_stream_summary(StreamName=source)["StreamDescriptionSummary"]["StreamARN"]
        # both created on the victim, which holds their leases; the interval (5 s) runs out after the
        # kill, so that only a node taking the lease over can flush
        direct = name("direct")
        make_stream(firehose, direct, direct_bucket, interval=5)
        make_stream(firehose, name("fromkinesis"), source_bucket, interval=5, source=source_arn)
        leases = stream_lease(survivors[0].endpoint)
        deadline = time.monotonic() + 10
        while len(leases) < 2 and time.monotonic() < deadline:
            leases = stream_lease(survivors[0].endpoint)
        assert len(leases) == 2 and set(leases.values()) == {victim_id}, leases
        # acknowledged by the victim (no other node has a reason to look at the stream), the
        # source's records written on another node
        for batch in ("v", "s"):
            firehose.put_record_batch(DeliveryStreamName=direct,
                                      Records=[{"Data": f"{batch}{i}\n".encode()} for i in range(10)])
        kinesis.put_records(StreamName=source, Records=[{"Data": f"k{i}\n".encode(), "PartitionKey": "p"}
                                                        for i in range(10)])
        victim.stop(kill=True)
        killed = time.monotonic()
        kinesis.put_records(StreamName=source, Records=[{"Data": f"k{i}\n".encode(), "PartitionKey": "p"}
                                                        for i in range(10, 15)])
        flushed = wait_records(s3, direct_bucket, 20, timeout=TAKEOVER + 15)
        took = time.monotonic() - killed
        print(f"a killed node's Firehose buffer flushed by another node {took:.1f} s after kill -9")
        read = wait_records(s3, source_bucket, 15, timeout=15)
        time.sleep(6)  # (an interval more: a second flush of the same records would show now)
        flushed, read = records_in(s3, direct_bucket), records_in(s3, source_bucket)
        now_held = holders(survivors[0].endpoint, "firehose:")
    finally:
        stop_nodes(nodes)
        drop()
    assert Counter(flushed) == Counter([f"v{i}".encode() for i in range(10)] + [f"s{i}".encode() for i in range(10)])
    assert Counter(read) == Counter(f"k{i}".encode() for i in range(15))  # each once, from the checkpoint on
    assert set(now_held) == set(leases) and victim_id not in now_held.values()
    # (1 s for a flush's writes and this test's polling on a loaded machine)
    assert took <= TAKEOVER + 1, took
