"""Cluster mode under faults (docs/cluster.md): a node killed with kill -9 under load, twenty
times over (every acknowledged write is there, no lease stays with a dead node, the work moves
within LEASE_SECONDS + HEARTBEAT_SECONDS); PostgreSQL lost for 10 s (every node answers 503
ServiceUnavailable, then all recover without a restart and leased work runs again); a node of a
newer version refusing to migrate while older ones run. Skips without a reachable PostgreSQL,
except in CI (tests/cluster_support.py)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from botocore.exceptions import ClientError
from cluster_support import TcpProxy, cluster_view, create_database, start_nodes, stop_nodes
from conftest import make_client

from overcast.storage.coordination import HEARTBEAT_SECONDS, LEASE_SECONDS

TAKEOVER = LEASE_SECONDS + HEARTBEAT_SECONDS  # the stated bound (storage/coordination.py)


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def live_ids(endpoint: str) -> dict[str, str]:
    """node id -> address of the nodes the cluster sees alive."""
    return {n["id"]: n["address"] for n in cluster_view(endpoint).get("nodes", []) if n["alive"]}


def stray_leases(endpoint: str, dead: set[str]) -> list[dict]:
    return [lease for lease in cluster_view(endpoint)["leases"] if lease["holder"] in dead]


@pytest.fixture
def database():
    url, drop = create_database("overcast_faults")
    yield url
    drop()


class Writer(threading.Thread):
    """Load: DynamoDB PutItem and SQS SendMessage round-robin over the live nodes, remembering
    what the nodes acknowledged."""

    def __init__(self, endpoints: list[str], table: str, queue: str):
        super().__init__(daemon=True)
        self.endpoints = list(endpoints)
        self.table, self.queue = table, queue
        self.items: list[str] = []
        self.messages: list[str] = []
        self.failures = 0
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    def run(self) -> None:
        clients: dict[str, tuple] = {}
        i = 0
        while not self.stopping.is_set():
            with self.lock:
                endpoint = self.endpoints[i % len(self.endpoints)]
            i += 1
            if endpoint not in clients:
                clients[endpoint] = (make_client(endpoint, "dynamodb", connect_timeout=2, read_timeout=5),
                                     make_client(endpoint, "sqs", connect_timeout=2, read_timeout=5))
            dynamodb, sqs = clients[endpoint]
            key = f"k{i}"
            try:
                dynamodb.put_item(TableName=self.table, Item={"pk": {"S": key}})
                self.items.append(key)
                sqs.send_message(QueueUrl=self.queue, MessageBody=key)
                self.messages.append(key)
            except Exception:
                self.failures += 1  # not acknowledged (the node died under it): no promise was made

    def add(self, endpoint: str) -> None:
        with self.lock:
            self.endpoints.append(endpoint)

    def remove(self, endpoint: str) -> None:
        with self.lock:
            self.endpoints.remove(endpoint)


def test_kill_9_under_load_twenty_times_loses_no_acknowledged_write_and_strands_no_lease(database, request):
    from concurrent.futures import ThreadPoolExecutor

    nodes = start_nodes(database, 3)
    everyone = list(nodes)
    request.node.funcargs["nodes"] = everyone  # their logs in the report of a failure (conftest.py)
    starter = ThreadPoolExecutor(2)
    try:
        first = nodes[0].endpoint
        dynamodb, sqs = make_client(first, "dynamodb"), make_client(first, "sqs")
        table = name("t")
        dynamodb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                              KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
        queue = sqs.create_queue(QueueName=name("q"))["QueueUrl"]
        target = sqs.create_queue(QueueName=name("fired"))["QueueUrl"]
        target_arn = sqs.get_queue_attributes(QueueUrl=target, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        ids = {n.endpoint: cluster_view(n.endpoint)["node"] for n in nodes}
        writer = Writer([n.endpoint for n in nodes], table, queue)
        writer.start()
        dead: set[str] = set()
        starting: list = []
        for _ in range(20):
            while len(nodes) < 2 or not starting and len(nodes) < 3:  # a replacement for each node killed
                if not starting:
                    starting.append(starter.submit(lambda: start_nodes(database, 1)[0]))
                done = starting.pop(0).result(120)
                everyone.append(done)
                ids[done.endpoint] = cluster_view(done.endpoint)["node"]
                nodes.append(done)
                writer.add(done.endpoint)
            time.sleep(0.5)  # under load
            victim = random.choice(nodes)
            nodes.remove(victim)
            writer.remove(victim.endpoint)
            victim.stop(kill=True)  # kill -9
            dead.add(ids[victim.endpoint])
            starting.append(starter.submit(lambda: start_nodes(database, 1)[0]))
        for future in starting:
            done = future.result(120)
            everyone.append(done)
            nodes.append(done)
        writer.stopping.set()
        writer.join(30)
        # no lease stays with a dead node
        deadline = time.monotonic() + TAKEOVER + 5
        while stray_leases(nodes[0].endpoint, dead) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert stray_leases(nodes[0].endpoint, dead) == []
        # every acknowledged write is there
        assert len(writer.items) > 50, (len(writer.items), writer.failures)
        reader = make_client(nodes[-1].endpoint, "dynamodb")
        stored = set()
        for page in reader.get_paginator("scan").paginate(TableName=table):
            stored |= {item["pk"]["S"] for item in page["Items"]}
        assert set(writer.items) <= stored
        received = set()
        consumer = make_client(nodes[1].endpoint, "sqs")
        while True:
            batch = consumer.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages")
            if not batch:
                break
            received |= {m["Body"] for m in batch}
            consumer.delete_message_batch(QueueUrl=queue, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])
        assert set(writer.messages) <= received
        # leased work runs after all that: a schedule made now fires once
        when = (datetime.now(UTC) + timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%S")
        make_client(nodes[2].endpoint, "scheduler").create_schedule(
            Name=name("after"), ScheduleExpression=f"at({when})", FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": target_arn, "RoleArn": "arn:aws:iam::000000000000:role/r", "Input": "{}"})
        fired = []
        deadline = time.monotonic() + 20
        while len(fired) < 1 and time.monotonic() < deadline:
            fired += consumer.receive_message(QueueUrl=target, WaitTimeSeconds=1).get("Messages", [])
        assert len(fired) == 1
    finally:
        starter.shutdown(wait=True)
        stop_nodes(everyone)


def test_a_killed_nodes_leases_are_taken_over_within_the_stated_time(database, request):
    nodes = start_nodes(database, 2)
    request.node.funcargs["nodes"] = nodes
    try:
        for node in nodes:  # the leased services, on one node or the other
            make_client(node.endpoint, "scheduler").list_schedules()
        deadline = time.monotonic() + TAKEOVER
        while not cluster_view(nodes[0].endpoint)["leases"] and time.monotonic() < deadline:
            time.sleep(0.2)
        victim_id = cluster_view(nodes[0].endpoint)["leases"][0]["holder"]
        victim = next(n for n in nodes if cluster_view(n.endpoint)["node"] == victim_id)
        survivor = next(n for n in nodes if n is not victim)
        held = {lease["name"] for lease in cluster_view(survivor.endpoint)["leases"] if lease["holder"] == victim_id}
        victim.stop(kill=True)
        killed = time.monotonic()
        while stray_leases(survivor.endpoint, {victim_id}) and time.monotonic() - killed < TAKEOVER + 10:
            time.sleep(0.1)
        took = time.monotonic() - killed
        survivor_id = cluster_view(survivor.endpoint)["node"]
        now_held = {lease["name"] for lease in cluster_view(survivor.endpoint)["leases"]
                    if lease["holder"] == survivor_id}
    finally:
        stop_nodes(nodes)
    assert held and held <= now_held
    assert took <= TAKEOVER + 1, took  # (1 s for this test's own polling under load)


def test_postgresql_lost_for_ten_seconds_answers_503_then_every_node_recovers(database, request):
    proxy = TcpProxy()
    nodes = start_nodes(proxy.url(database), 2)
    request.node.funcargs["nodes"] = nodes  # their logs in the report of a failure (conftest.py)
    try:
        endpoints = [n.endpoint for n in nodes]
        sqs = [make_client(e, "sqs") for e in endpoints]
        url = sqs[0].create_queue(QueueName=name("q"))["QueueUrl"]
        arn = sqs[0].get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        # due well after the outage (a one-time schedule whose time passed while no node could run
        # it is not fired late: the same as one whose time passed while a single node was down)
        when = (datetime.now(UTC) + timedelta(seconds=22)).strftime("%Y-%m-%dT%H:%M:%S")
        make_client(endpoints[1], "scheduler").create_schedule(
            Name=name("s"), ScheduleExpression=f"at({when})", FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": arn, "RoleArn": "arn:aws:iam::000000000000:role/r", "Input": '{"late": true}'})
        time.sleep(HEARTBEAT_SECONDS)
        proxy.cut()
        lost = time.monotonic()
        time.sleep(0.5)
        for client in sqs:
            with pytest.raises(ClientError) as refused:
                client.send_message(QueueUrl=url, MessageBody="during")
            assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
            assert refused.value.response["Error"]["Code"] == "ServiceUnavailable"
        assert httpx.get(f"{endpoints[0]}/_overcast/cluster", timeout=10).status_code == 503
        time.sleep(max(0.0, 10 - (time.monotonic() - lost)))
        proxy.restore()
        restored = time.monotonic()
        for client in sqs:  # each node serves again, without a restart
            while True:
                try:
                    client.send_message(QueueUrl=url, MessageBody="after")
                    break
                except ClientError as e:
                    assert e.response["Error"]["Code"] == "ServiceUnavailable"
                    assert time.monotonic() - restored < 15, "no recovery"
                    time.sleep(0.2)
        deadline = time.monotonic() + TAKEOVER + 5
        while len(live_ids(endpoints[0])) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(live_ids(endpoints[0])) == 2
        bodies = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and sum(b == '{"late": true}' for b in bodies) < 1:
            bodies += [m["Body"] for m in sqs[1].receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])]
        assert bodies.count('{"late": true}') == 1  # the schedule fired once, after the recovery
        assert bodies.count("after") == 2 and "during" not in bodies
        holders = {lease["holder"] for lease in cluster_view(endpoints[0])["leases"]}
        assert holders <= set(live_ids(endpoints[0]))
    finally:
        stop_nodes(nodes)
        proxy.close()


def test_a_newer_node_refuses_to_migrate_while_an_older_node_runs(database):
    (node,) = start_nodes(database, 1)  # creates the cluster's tables
    node.stop()
    stop = threading.Event()

    def older_node_heartbeats():
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("INSERT INTO cluster_nodes(id, address, version, pid, host) "
                         "VALUES('old-node', 'http://127.0.0.1:1', '0.0.1', 1, 'elsewhere')")
            while not stop.wait(0.5):
                conn.execute("UPDATE cluster_nodes SET heartbeat = now() WHERE id = 'old-node'")
            conn.execute("DELETE FROM cluster_nodes WHERE id = 'old-node'")

    beating = threading.Thread(target=older_node_heartbeats, daemon=True)
    beating.start()
    time.sleep(0.5)
    try:
        result = subprocess.run([sys.executable, "-m", "overcast", "start", "--port", "0", "--ephemeral"],
                                env={**os.environ, "OVERCAST_DATABASE_URL": database}, capture_output=True,
                                text=True, timeout=60)
    finally:
        stop.set()
        beating.join(5)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "refuses to migrate the cluster's schema while nodes of an older version run: " \
           "old-node at http://127.0.0.1:1 (version 0.0.1)" in output
    assert "Traceback" not in output
