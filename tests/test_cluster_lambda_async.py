"""Lambda's asynchronous invocations in a cluster (docs/cluster.md, docs/lambda.md): one queue in
PostgreSQL that every node takes from. Events sent round-robin run on several nodes, each once;
a node killed with kill -9 while running events: another node runs them again within the stated
time (AWS's asynchronous invocations are at-least-once); a node with no room leaves an event to a
node that has; retries follow MaximumRetryAttempts and reach the destinations across nodes.
Skips without a reachable PostgreSQL, except in CI (tests/cluster_support.py)."""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter

import pytest
from cluster_support import create_database, name, queue, receive, start_nodes, stop_nodes
from conftest import make_client
from lambda_functions import create_python

from overcast.storage.coordination import HEARTBEAT_SECONDS, LEASE_SECONDS

TAKEOVER = LEASE_SECONDS + HEARTBEAT_SECONDS  # a dead node is known dead within this (storage/coordination.py)

# Says which node ran it (its AWS_ENDPOINT_URL is the node's), tells a queue when it starts, then
# sleeps or fails as the event asks.
HANDLER = """
import json, os, time, boto3
def handler(event, context):
    if event.get("started"):
        boto3.client("sqs").send_message(QueueUrl=event["started"], MessageBody=json.dumps(
            {"id": event["id"], "node": os.environ["AWS_ENDPOINT_URL"]}))
    time.sleep(event.get("sleep", 0))
    if event.get("fail"):
        raise RuntimeError("failing on purpose")
    return {"id": event.get("id"), "node": os.environ["AWS_ENDPOINT_URL"]}
"""


def port(url: str) -> str:
    """The node a URL names (the sandboxes call their node at 127.0.0.1, the tests at localhost)."""
    return url.rsplit(":", 1)[1]


def function(endpoints: list[str], prefix: str, **config) -> str:
    """A function made on the first node and invoked once through each (a warm sandbox per node,
    and each node learns the address its sandboxes call back)."""
    fn = name(prefix)
    lam = make_client(endpoints[0], "lambda")
    create_python(lam, fn, HANDLER, Timeout=30)
    if config:
        lam.put_function_event_invoke_config(FunctionName=fn, **config)
    for endpoint in endpoints:
        make_client(endpoint, "lambda").invoke(FunctionName=fn, Payload=b"{}")
    return fn


@pytest.fixture(scope="module")
def nodes():
    url, drop = create_database("overcast_async")
    started = start_nodes(url, 3, env={"OVERCAST_LAMBDA_RETRY_DELAY": "0.5"})
    yield started
    stop_nodes(started)
    drop()


@pytest.fixture(scope="module")
def endpoints(nodes) -> list[str]:
    return [node.endpoint for node in nodes]


def test_events_sent_round_robin_run_on_several_nodes_each_once(endpoints):
    sqs = make_client(endpoints[0], "sqs")
    done, done_arn = queue(sqs, "done")
    fn = function(endpoints, "rr", DestinationConfig={"OnSuccess": {"Destination": done_arn}})
    senders = itertools.cycle([make_client(e, "lambda") for e in endpoints])
    for i in range(30):
        assert next(senders).invoke(FunctionName=fn, InvocationType="Event",
                                    Payload=json.dumps({"id": i}))["StatusCode"] == 202
    records = receive(sqs, done, 30, timeout=60)
    assert sorted(r["requestPayload"]["id"] for r in records) == list(range(30))  # each once ...
    assert receive(sqs, done, 1, timeout=3) == []  # ... and no late second run
    assert all(r["requestContext"]["condition"] == "Success" for r in records)
    ran_on = Counter(port(r["responsePayload"]["node"]) for r in records)
    assert len(ran_on) > 1, ran_on
    assert set(ran_on) <= {port(e) for e in endpoints}


def test_retries_follow_the_event_invoke_config_across_nodes(endpoints):
    sqs = make_client(endpoints[1], "sqs")
    failed, failed_arn = queue(sqs, "failed")
    fn = function(endpoints, "retry", MaximumRetryAttempts=1,
                  DestinationConfig={"OnFailure": {"Destination": failed_arn}})
    senders = itertools.cycle([make_client(e, "lambda") for e in endpoints])
    for i in range(6):
        next(senders).invoke(FunctionName=fn, InvocationType="Event", Payload=json.dumps({"id": i, "fail": True}))
    records = receive(sqs, failed, 6, timeout=60)
    assert sorted(r["requestPayload"]["id"] for r in records) == list(range(6))
    for record in records:
        assert record["requestContext"]["condition"] == "RetriesExhausted"
        assert record["requestContext"]["approximateInvokeCount"] == 2  # the attempt and one retry
        assert record["responsePayload"]["errorMessage"] == "failing on purpose"
    assert receive(sqs, failed, 1, timeout=3) == []


def test_a_node_killed_while_running_events_leaves_them_to_another_node(database_for_kill, request):
    nodes = start_nodes(database_for_kill, 2, env={"OVERCAST_LAMBDA_ASYNC_CONCURRENCY": "4"})
    request.node.funcargs["nodes"] = nodes  # their logs in the report of a failure (conftest.py)
    try:
        victim, survivor = nodes
        endpoints = [n.endpoint for n in nodes]
        sqs = make_client(survivor.endpoint, "sqs")
        started, _ = queue(sqs, "started")
        done, done_arn = queue(sqs, "done")
        fn = function(endpoints, "kill", DestinationConfig={"OnSuccess": {"Destination": done_arn}})
        lam = make_client(victim.endpoint, "lambda")
        # four run on the victim at once (it has room for four), long enough to be killed under them ...
        for i in range(4):
            lam.invoke(FunctionName=fn, InvocationType="Event",
                       Payload=json.dumps({"id": i, "sleep": 15, "started": started}))
        first = receive(sqs, started, 4, timeout=30)
        assert sorted(s["id"] for s in first) == [0, 1, 2, 3]
        assert {port(s["node"]) for s in first} == {port(victim.endpoint)}
        # ... and the victim, full, leaves a fifth to the survivor at once
        lam.invoke(FunctionName=fn, InvocationType="Event", Payload=json.dumps({"id": 4, "started": started}))
        [fifth] = receive(sqs, started, 1, timeout=15)
        assert fifth["id"] == 4 and port(fifth["node"]) == port(survivor.endpoint)
        victim.stop(kill=True)
        killed = time.monotonic()
        again = receive(sqs, started, 1, timeout=TAKEOVER + 15)
        took = time.monotonic() - killed
        print(f"a killed node's events started again on another node {took:.1f} s after kill -9")
        again += receive(sqs, started, 3, timeout=15)
        assert sorted(s["id"] for s in again) == [0, 1, 2, 3]  # run again (at least once) ...
        assert {port(s["node"]) for s in again} == {port(survivor.endpoint)}  # ... by the survivor
        # (3 s for a sandbox's start on this loaded machine and this test's polling)
        assert took <= TAKEOVER + 3, took
        records = receive(sqs, done, 5, timeout=40)
        assert sorted(r["requestPayload"]["id"] for r in records) == [0, 1, 2, 3, 4]
        assert receive(sqs, done, 1, timeout=3) == []  # none runs a third time
    finally:
        stop_nodes(nodes)


@pytest.fixture
def database_for_kill():
    url, drop = create_database("overcast_async_kill")
    yield url
    drop()
