"""Cluster mode (docs/cluster.md): three overcast nodes on three ports over one fresh PostgreSQL
database, driven round-robin with boto3, websockets and httpx. Any node answers any request,
wake-ups cross nodes (LISTEN/NOTIFY), work without a request runs once, on the node holding its
lease. Skips without a reachable PostgreSQL, except in CI (tests/cluster_support.py)."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import websockets
from apigatewayv2_support import WS_BACKEND, function_arn, websocket_api, ws_url
from appsync_support import create_api, query, realtime_url
from cluster_support import create_database, holders, start_nodes, stop_nodes
from conftest import make_client

FORWARD = """
import json, os, boto3
_sqs = boto3.client("sqs")
def handler(event, context):
    for record in event["Records"]:
        _sqs.send_message(QueueUrl=os.environ["OUT"], MessageBody=record["body"])
    return {}
"""


@pytest.fixture(scope="module")
def nodes():
    url, drop = create_database()
    started = start_nodes(url, 3)
    yield started
    stop_nodes(started)
    drop()


@pytest.fixture(scope="module")
def endpoints(nodes) -> list[str]:
    return [node.endpoint for node in nodes]


def clients(endpoints, service: str) -> list:
    return [make_client(e, service) for e in endpoints]


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def receive_all(sqs, url: str, expected: int, timeout: float) -> list[dict]:
    got: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(got) < expected and time.monotonic() < deadline:
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            got.append(m)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return got


def test_every_node_serves_state_made_on_another(endpoints):
    a, b, c = clients(endpoints, "dynamodb")
    table = name("t")
    a.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                   KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                   AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    writers = itertools.cycle([a, b, c])
    for i in range(9):
        next(writers).put_item(TableName=table, Item={"pk": {"S": f"k{i}"}, "n": {"N": str(i)}})
    for node in (a, b, c):
        assert node.scan(TableName=table)["Count"] == 9
        assert node.get_item(TableName=table, Key={"pk": {"S": "k4"}})["Item"]["n"] == {"N": "4"}


def test_long_poll_on_one_node_wakes_at_once_when_another_node_sends(endpoints):
    a, b, c = clients(endpoints, "sqs")
    url = a.create_queue(QueueName=name("q"))["QueueUrl"]
    result = {}

    def poll():
        started = time.monotonic()
        result["messages"] = c.receive_message(QueueUrl=url, WaitTimeSeconds=20).get("Messages", [])
        result["woke"] = time.monotonic()
        result["waited"] = result["woke"] - started

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(1.0)  # the long poll is waiting on node C
    sent = time.monotonic()
    b.send_message(QueueUrl=url, MessageBody="from b")
    thread.join(25)
    assert [m["Body"] for m in result["messages"]] == ["from b"]
    assert result["woke"] - sent < 1.5  # woken by node B's notification, not by the 20 s timeout


def test_websocket_on_one_node_receives_post_to_connection_made_on_another(endpoints):
    lam_a = make_client(endpoints[0], "lambda")
    gw_a = make_client(endpoints[0], "apigatewayv2")
    function = function_arn(lam_a, name("ws"), WS_BACKEND)
    api_id, _ = websocket_api(gw_a, function, routes=("$connect", "$default", "whoami"),
                              two_way=("$default", "whoami"))

    async def scenario():
        async with websockets.connect(ws_url(endpoints[0], api_id)) as ws:  # the socket is held by node A
            await ws.send(json.dumps({"action": "whoami"}))
            answer = json.loads(await asyncio.wait_for(ws.recv(), 30))
            connection_id = answer["event"]["requestContext"]["connectionId"]
            for endpoint in endpoints[1:]:  # posts made on nodes B and C
                management = make_client(f"{endpoint}/_aws/execute-api/{api_id}/prod", "apigatewaymanagementapi")
                await asyncio.to_thread(management.post_to_connection, ConnectionId=connection_id,
                                        Data=f"via {endpoint}".encode())
                assert await asyncio.wait_for(ws.recv(), 10) == f"via {endpoint}"
                info = await asyncio.to_thread(management.get_connection, ConnectionId=connection_id)
                assert info["Identity"]["SourceIp"] == "127.0.0.1"
            management = make_client(f"{endpoints[2]}/_aws/execute-api/{api_id}/prod", "apigatewaymanagementapi")
            await asyncio.to_thread(management.delete_connection, ConnectionId=connection_id)
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
            return connection_id, management

    connection_id, management = asyncio.run(scenario())
    with pytest.raises(management.exceptions.GoneException):
        management.post_to_connection(ConnectionId=connection_id, Data=b"late")


SCHEMA = """
type Query { ping: String }
type Mutation { addPost(id: ID!, title: String): Post }
type Post { id: ID! title: String }
type Subscription { onAddPost: Post @aws_subscribe(mutations: ["addPost"]) }
"""


def test_appsync_subscription_on_one_node_receives_mutations_made_on_the_others(nodes, endpoints):
    appsync = make_client(endpoints[1], "appsync")
    api_id, key = create_api(appsync, name("subs"), SCHEMA)
    appsync.create_data_source(apiId=api_id, name="none", type="NONE")
    appsync.create_resolver(apiId=api_id, typeName="Mutation", fieldName="addPost", dataSourceName="none",
                            requestMappingTemplate='{"version": "2018-05-29", "payload": $util.toJson($ctx.args)}',
                            responseMappingTemplate="$util.toJson($ctx.result)")
    auth = {"host": f"{api_id}.appsync-api.us-east-1.amazonaws.com", "x-api-key": key}
    encoded = base64.b64encode(json.dumps(auth).encode()).decode()

    async def next_data(ws) -> dict:
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if message["type"] != "ka":
                return message

    async def scenario():
        url = f"{realtime_url(endpoints[0], api_id)}?header={encoded}&payload=e30="
        async with websockets.connect(url, subprotocols=["graphql-ws"]) as ws:  # subscribed on node A
            await ws.send(json.dumps({"type": "connection_init"}))
            assert (await next_data(ws))["type"] == "connection_ack"
            await ws.send(json.dumps({"id": "s", "type": "start", "payload": {
                "data": json.dumps({"query": "subscription { onAddPost { id title } }"}),
                "extensions": {"authorization": auth}}}))
            assert await next_data(ws) == {"type": "start_ack", "id": "s"}
            received = []
            for i, endpoint in enumerate(endpoints[1:]):  # mutations on nodes B and C
                response = await asyncio.to_thread(
                    query, endpoint, api_id, key, f'mutation {{ addPost(id: "{i}", title: "t{i}") {{ id title }} }}')
                assert response.status_code == 200
                received.append(await next_data(ws))
            return received

    assert asyncio.run(scenario()) == [
        {"id": "s", "type": "data", "payload": {"data": {"onAddPost": {"id": "0", "title": "t0"}}}},
        {"id": "s", "type": "data", "payload": {"data": {"onAddPost": {"id": "1", "title": "t1"}}}},
    ]


def test_event_source_mapping_runs_on_one_node_and_handles_each_message_once(endpoints):
    sqs = clients(endpoints, "sqs")
    lam = make_client(endpoints[2], "lambda")
    source = sqs[0].create_queue(QueueName=name("in"))["QueueUrl"]
    out = sqs[1].create_queue(QueueName=name("out"))["QueueUrl"]
    source_arn = sqs[0].get_queue_attributes(QueueUrl=source, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    function = function_arn(lam, name("fwd"), FORWARD, Environment={"Variables": {"OUT": out}})
    mapping = lam.create_event_source_mapping(FunctionName=function, EventSourceArn=source_arn, BatchSize=5)["UUID"]
    senders = itertools.cycle(sqs)
    bodies = [f"m{i}" for i in range(30)]
    for body in bodies:
        next(senders).send_message(QueueUrl=source, MessageBody=body)
    got = receive_all(sqs[2], out, len(bodies), timeout=60)
    assert sorted(m["Body"] for m in got) == sorted(bodies)  # each once
    assert receive_all(sqs[2], out, 1, timeout=2) == []  # and no late duplicate
    leased = [holders(e, f"esm:{mapping}") for e in endpoints]
    assert leased[0] == leased[1] == leased[2] and len(leased[0]) == 1  # one node runs its pollers
    lam.delete_event_source_mapping(UUID=mapping)
    deadline = time.monotonic() + 10
    while holders(endpoints[0], f"esm:{mapping}") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert holders(endpoints[0], f"esm:{mapping}") == {}  # deleted: its lease is given back


def test_a_schedule_made_on_any_node_fires_once(endpoints):
    sqs = make_client(endpoints[0], "sqs")
    url = sqs.create_queue(QueueName=name("sched"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    # far enough ahead that all three exist before it (an at() time already past never fires)
    when = (datetime.now(UTC) + timedelta(seconds=8)).strftime("%Y-%m-%dT%H:%M:%S")
    for i, endpoint in enumerate(endpoints):  # one schedule made on each node
        make_client(endpoint, "scheduler").create_schedule(
            Name=name(f"s{i}"), ScheduleExpression=f"at({when})", FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": arn, "RoleArn": "arn:aws:iam::000000000000:role/r", "Input": json.dumps({"from": i})})
    got = receive_all(sqs, url, 3, timeout=30)
    assert sorted(json.loads(m["Body"])["from"] for m in got) == [0, 1, 2]
    assert receive_all(sqs, url, 1, timeout=3) == []  # each fired once, on the node holding the lease
    assert list(holders(endpoints[1], "service:scheduler")) == ["service:scheduler"]


def test_overcast_status_shows_the_nodes_their_load_and_leases(nodes, endpoints):
    import subprocess
    import sys

    port = endpoints[1].rsplit(":", 1)[1]
    out = subprocess.run([sys.executable, "-m", "overcast", "status", "--port", port], capture_output=True,
                         text=True, timeout=30).stdout
    assert "cluster:  3 live node(s); heartbeat 2 s, leases expire after 6 s" in out
    for endpoint in endpoints:
        assert endpoint.replace("localhost", "127.0.0.1") in out
    assert "leases: " in out and "sandboxes" in out
    view = httpx.get(f"{endpoints[0]}/_overcast/cluster", timeout=10).json()
    assert len([n for n in view["nodes"] if n["alive"]]) == 3
