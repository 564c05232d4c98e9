"""S3 in a cluster (docs/cluster.md): lifecycle expiry runs on the one node holding the lease
"s3:lifecycle", whichever node the rules were put on (each expired object's notification once);
a node killed with kill -9 while it holds the lease, or with event notifications committed and
not delivered: a live node expires and delivers them within the stated time, each once. Skips
without a reachable PostgreSQL, except in CI (tests/cluster_support.py)."""

from __future__ import annotations

import datetime
import itertools
import json
import time
from collections import Counter

import psycopg
import pytest
from cluster_support import cluster_view, create_database, holders, name, start_nodes, stop_nodes
from conftest import make_client

from overcast.storage.coordination import HEARTBEAT_SECONDS, LEASE_SECONDS

TAKEOVER = LEASE_SECONDS + HEARTBEAT_SECONDS  # a dead node is known dead within this (storage/coordination.py)
PAST = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)


def events(sqs, url: str, expected: int, timeout: float) -> list[dict]:
    """S3 event records received from the queue (the test event excepted)."""
    out, deadline = [], time.monotonic() + timeout
    while len(out) < expected and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            out += json.loads(message["Body"]).get("Records", [])
    return out


def bucket_with_queue(s3, sqs, events_wanted: list[str]) -> tuple[str, str, str]:
    """(bucket, queue url, queue arn): the bucket's notifications of `events_wanted` go to the queue."""
    bucket, url = name("bkt"), sqs.create_queue(QueueName=name("s3events"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": events_wanted}]})
    events(sqs, url, 1, timeout=3)  # the test event S3 sends when the configuration is put
    return bucket, url, arn


def expire_all(s3, bucket: str) -> None:
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [{
        "ID": "all", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Date": PAST}}]})


def keys(s3, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


@pytest.fixture(scope="module")
def nodes():
    url, drop = create_database("overcast_s3")
    started = start_nodes(url, 3)
    yield started
    stop_nodes(started)
    drop()


def test_lifecycle_expiry_runs_on_the_lease_holder_and_notifies_each_object_once(nodes):
    endpoints = [n.endpoint for n in nodes]
    s3s = [make_client(e, "s3") for e in endpoints]
    sqs = make_client(endpoints[0], "sqs")
    bucket, url, _ = bucket_with_queue(s3s[0], sqs, ["s3:LifecycleExpiration:*"])
    for i, s3 in zip(range(12), itertools.cycle(s3s), strict=False):
        s3.put_object(Bucket=bucket, Key=f"k{i}", Body=b"x")
    leased = holders(endpoints[0], "s3:")
    assert list(leased) == ["s3:lifecycle"]  # one node expires, for the whole cluster
    holder = leased["s3:lifecycle"]
    other = next(s3 for s3, e in zip(s3s, endpoints, strict=True) if cluster_view(e)["node"] != holder)
    expire_all(other, bucket)  # put on a node that does not hold the lease: the holder is told
    records = events(sqs, url, 12, timeout=15)
    assert keys(s3s[2], bucket) == []
    records += events(sqs, url, 1, timeout=3)  # (a second expiry by another node would show now)
    assert Counter(r["s3"]["object"]["key"] for r in records) == Counter(f"k{i}" for i in range(12))
    assert {r["eventName"] for r in records} == {"LifecycleExpiration:Delete"}


def test_a_killed_nodes_lifecycle_and_undelivered_notifications_move_to_a_live_node(request):
    db_url, drop = create_database("overcast_s3_kill")
    nodes = start_nodes(db_url, 3)
    request.node.funcargs["nodes"] = nodes  # their logs in the report of a failure (conftest.py)
    try:
        deadline = time.monotonic() + TAKEOVER
        while not holders(nodes[0].endpoint, "s3:") and time.monotonic() < deadline:
            time.sleep(0.1)
        victim_id = holders(nodes[0].endpoint, "s3:")["s3:lifecycle"]
        victim = next(n for n in nodes if cluster_view(n.endpoint)["node"] == victim_id)
        survivor = next(n for n in nodes if n is not victim)
        s3, sqs = make_client(survivor.endpoint, "s3"), make_client(survivor.endpoint, "sqs")
        bucket, url, arn = bucket_with_queue(s3, sqs, ["s3:LifecycleExpiration:*"])
        for i in range(5):
            make_client(victim.endpoint, "s3").put_object(Bucket=bucket, Key=f"k{i}", Body=b"x")
        # a notification the victim committed with its write and had not delivered when it died
        # (the row its write adds, as the victim's: delivering takes it microseconds, too short
        # a window for a kill -9 to hit)
        pending = json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"object": {"key": "pending"}}}]})
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("INSERT INTO s3_deliveries(bucket, account, kind, arn, message, node) "
                         "VALUES(%s, '000000000000', 'sqs', %s, %s, %s)", (bucket, arn, pending, victim_id))
        victim.stop(kill=True)
        killed = time.monotonic()
        expire_all(s3, bucket)  # no node expires until one takes the dead node's lease
        records, expired_after = [], None
        while time.monotonic() - killed < TAKEOVER + 10 and (len(records) < 6 or expired_after is None):
            records += events(sqs, url, 1, timeout=0.5)
            if expired_after is None and not keys(s3, bucket):
                expired_after = time.monotonic() - killed
        delivered_after = time.monotonic() - killed
        print(f"after kill -9: lifecycle expiry ran on another node {expired_after:.1f} s later, the dead "
              f"node's notification delivered within {delivered_after:.1f} s")
        records += events(sqs, url, 1, timeout=3)  # (a second delivery would show now)
        now_holder = holders(survivor.endpoint, "s3:")
    finally:
        stop_nodes(nodes)
        drop()
    assert Counter(r["s3"]["object"]["key"] for r in records) == Counter(["pending"] + [f"k{i}" for i in range(5)])
    assert now_holder["s3:lifecycle"] != victim_id
    # (1 s for the delivery and this test's polling on a loaded machine)
    assert expired_after is not None and expired_after <= TAKEOVER + 1, expired_after
    assert delivered_after <= TAKEOVER + 1, delivered_after
