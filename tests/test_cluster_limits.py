"""Limits across a cluster's nodes (docs/cluster.md, docs/lambda.md). Lambda's reserved concurrency: a
function's ReservedConcurrentExecutions bounds its invocations in the whole cluster, whichever
node takes each call, as on AWS. A synchronous invoke over the limit answers 429
TooManyRequestsException (Reason ReservedFunctionConcurrentInvocationLimitExceeded); asynchronous
ones wait in the queue; a node killed with kill -9 while an invocation holds the reservation frees
it within the stated take-over time. Kinesis's per-shard write limit is split among the live
nodes: records put on three nodes at once admit the shard's limit, not three times it. Skips without a reachable PostgreSQL, except in CI
(tests/cluster_support.py)."""

from __future__ import annotations

import itertools
import json
import threading
import time

import pytest
from botocore.exceptions import BotoCoreError, ClientError
from cluster_support import create_database, name, queue, receive, start_nodes, stop_nodes
from conftest import make_client
from lambda_functions import create_python

from overcast.storage.coordination import HEARTBEAT_SECONDS, LEASE_SECONDS

TAKEOVER = LEASE_SECONDS + HEARTBEAT_SECONDS  # a dead node is known dead within this (storage/coordination.py)

# Tells a queue when it starts (and on which node), then sleeps as the event asks; answers when it
# started and ended.
HANDLER = """
import json, os, time, boto3
def handler(event, context):
    started = time.time()
    if event.get("started"):
        boto3.client("sqs").send_message(QueueUrl=event["started"], MessageBody=json.dumps(
            {"id": event.get("id"), "node": os.environ["AWS_ENDPOINT_URL"]}))
    time.sleep(event.get("sleep", 0))
    return {"id": event.get("id"), "started": started, "ended": time.time(), "node": os.environ["AWS_ENDPOINT_URL"]}
"""


def function(endpoints: list[str], prefix: str, reserved: int, **config) -> str:
    """A function with `reserved` concurrency, made on the first node and invoked once through
    each (a warm sandbox per node)."""
    fn = name(prefix)
    lam = make_client(endpoints[0], "lambda")
    create_python(lam, fn, HANDLER, Timeout=60)
    if config:
        lam.put_function_event_invoke_config(FunctionName=fn, **config)
    for endpoint in endpoints:
        assert make_client(endpoint, "lambda").invoke(FunctionName=fn, Payload=b"{}")["StatusCode"] == 200
    lam.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=reserved)
    return fn


def invoke(endpoint: str, fn: str, event: dict) -> dict:
    """Invoke synchronously (no retries): the answer, or the error's code, reason and status."""
    try:
        answer = make_client(endpoint, "lambda", read_timeout=120).invoke(FunctionName=fn,
                                                                          Payload=json.dumps(event))
    except ClientError as e:
        return {"error": e.response["Error"]["Code"], "reason": e.response.get("Reason"),
                "status": e.response["ResponseMetadata"]["HTTPStatusCode"], "message": e.response["Error"]["Message"]}
    return {"status": answer["StatusCode"], "payload": json.loads(answer["Payload"].read())}


def at_once(calls: list) -> list[dict]:
    """Run the calls (endpoint, fn, event) in threads released together; their answers in order."""
    answers: list = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i, call):
        barrier.wait()
        answers[i] = invoke(*call)

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    return answers


@pytest.fixture(scope="module")
def nodes():
    url, drop = create_database("overcast_limits")
    started = start_nodes(url, 3, env={"OVERCAST_LAMBDA_THROTTLE_DELAY": "0.2", "OVERCAST_KINESIS_SHARD_LIMITS": "1",
                                       "OVERCAST_KINESIS_TRANSITION_SECONDS": "0"})
    yield started
    stop_nodes(started)
    drop()


@pytest.fixture(scope="module")
def endpoints(nodes) -> list[str]:
    return [node.endpoint for node in nodes]


def test_reserved_concurrency_of_one_admits_one_invocation_across_three_nodes(endpoints):
    fn = function(endpoints, "one", reserved=1)
    # six slow invocations sent round-robin to the three nodes at once: one runs, five are throttled
    calls = [(endpoint, fn, {"id": i, "sleep": 4}) for i, endpoint in zip(range(6), itertools.cycle(endpoints))]
    answers = at_once(calls)
    ran = [a for a in answers if a.get("status") == 200]
    throttled = [a for a in answers if a.get("status") == 429]
    assert len(ran) == 1, answers
    assert len(throttled) == 5, answers
    for answer in throttled:
        assert answer["error"] == "TooManyRequestsException"
        assert answer["reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
        assert answer["message"] == "Rate Exceeded."
    # the slot is free once the invocation answered: the next call runs, on any node
    for endpoint in endpoints:
        assert invoke(endpoint, fn, {"id": "after"})["status"] == 200


def test_reserved_concurrency_of_two_admits_two_and_the_rest_are_throttled(endpoints):
    fn = function(endpoints, "two", reserved=2)
    calls = [(endpoint, fn, {"id": i, "sleep": 4}) for i, endpoint in zip(range(6), itertools.cycle(endpoints))]
    answers = at_once(calls)
    assert sorted(a["status"] for a in answers) == [200, 200, 429, 429, 429, 429], answers
    # without a reservation the same burst all runs (the unreserved pool is 1000, split by three)
    make_client(endpoints[0], "lambda").delete_function_concurrency(FunctionName=fn)
    assert [a["status"] for a in at_once(calls)] == [200] * 6


def test_asynchronous_invocations_over_the_reservation_wait_in_the_queue(endpoints):
    sqs = make_client(endpoints[0], "sqs")
    done, done_arn = queue(sqs, "done")
    fn = function(endpoints, "async", reserved=1, DestinationConfig={"OnSuccess": {"Destination": done_arn}})
    senders = itertools.cycle([make_client(e, "lambda") for e in endpoints])
    for i in range(4):
        assert next(senders).invoke(FunctionName=fn, InvocationType="Event",
                                    Payload=json.dumps({"id": i, "sleep": 1}))["StatusCode"] == 202
    records = receive(sqs, done, 4, timeout=60)
    assert sorted(r["requestPayload"]["id"] for r in records) == [0, 1, 2, 3]  # each ran (none dropped) ...
    runs = sorted((r["responsePayload"]["started"], r["responsePayload"]["ended"]) for r in records)
    for (_, ended), (started, _) in itertools.pairwise(runs):
        assert started >= ended - 0.05, runs  # ... one at a time, whichever node ran it
    assert len({r["responsePayload"]["node"] for r in records}) >= 1


def test_a_shards_write_limit_holds_across_three_nodes(endpoints):
    stream = name("hot")
    make_client(endpoints[0], "kinesis").create_stream(StreamName=stream, ShardCount=1)
    clients = [make_client(e, "kinesis") for e in endpoints]
    for kinesis in clients:  # ACTIVE, and each node has read the stream
        kinesis.describe_stream_summary(StreamName=stream)
    outcomes: list = [None] * 3
    barrier = threading.Barrier(3)

    def put(i):
        barrier.wait()
        outcomes[i] = clients[i].put_records(StreamName=stream, Records=[{"Data": b"x", "PartitionKey": "p"}] * 500)

    began = time.monotonic()
    threads = [threading.Thread(target=put, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    elapsed = time.monotonic() - began
    admitted = sum(500 - out["FailedRecordCount"] for out in outcomes)
    for out in outcomes:
        assert {r["ErrorCode"] for r in out["Records"] if "ErrorCode" in r} <= {"ProvisionedThroughputExceededException"}
    # 1,000 records at once for the shard (333 a node), then 1,000 more each second; each node
    # counting the whole limit admitted all 1,500
    assert 999 <= admitted <= 999 + 1000 * elapsed, (admitted, elapsed)
    assert admitted < 1500
    # a 1 MB record still goes in through a node whose share of the bytes is a third of it
    time.sleep(1.1)
    assert clients[0].put_record(StreamName=stream, Data=b"x" * 1_000_000, PartitionKey="p")["SequenceNumber"]


def test_a_node_killed_while_holding_the_reservation_frees_it(database_for_kill, request):
    nodes = start_nodes(database_for_kill, 2)
    request.node.funcargs["nodes"] = nodes  # their logs in the report of a failure (conftest.py)
    try:
        victim, survivor = nodes
        sqs = make_client(survivor.endpoint, "sqs")
        started, _ = queue(sqs, "started")
        fn = function([n.endpoint for n in nodes], "kill", reserved=1)
        def hold():  # (its connection dies with the victim)
            try:
                invoke(victim.endpoint, fn, {"id": "long", "sleep": 60, "started": started})
            except (BotoCoreError, ClientError):
                pass

        holder = threading.Thread(target=hold)
        holder.start()
        [running] = receive(sqs, started, 1, timeout=30)
        assert running["id"] == "long"
        answer = invoke(survivor.endpoint, fn, {"id": "meanwhile"})
        assert answer["status"] == 429 and answer["reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
        victim.stop(kill=True)
        killed = time.monotonic()
        while True:
            answer = invoke(survivor.endpoint, fn, {"id": "after"})
            if answer["status"] == 200:
                break
            assert answer["status"] == 429, answer
            assert time.monotonic() - killed < TAKEOVER + 10, "the killed node's slot was never freed"
            time.sleep(0.2)
        took = time.monotonic() - killed
        print(f"a killed node's reserved-concurrency slot freed {took:.1f} s after kill -9")
        assert took <= TAKEOVER + 1, took
        holder.join(10)
    finally:
        stop_nodes(nodes)


@pytest.fixture
def database_for_kill():
    url, drop = create_database("overcast_limits_kill")
    yield url
    drop()
