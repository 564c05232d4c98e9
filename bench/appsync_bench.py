"""AppSync benchmarks: GraphQL queries per second with wrk (8 connections) for a field resolved
by a NONE data source and by a DynamoDB GetItem resolver (VTL), and the time from a mutation's
answer to its delivery to 1,000 WebSocket subscribers.

    apt-get install wrk
    .venv/bin/python bench/appsync_bench.py [seconds] [subscribers]

Targets (issue 10): >= 2,000 DynamoDB-resolver queries/s; fan-out to 1,000 subscribers < 1 s.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import subprocess
import sys
import time

import boto3
import httpx
from botocore.config import Config
from common import Server

HERE = os.path.dirname(os.path.abspath(__file__))

SCHEMA = """
type Query { hello: String getItem(id: ID!): Item getItemJs(id: ID!): Item }
type Mutation { addItem(id: ID!, name: String): Item }
type Item { id: ID! name: String }
type Subscription { onAddItem: Item @aws_subscribe(mutations: ["addItem"]) }
"""


def client(endpoint: str, service: str):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=Config(retries={"max_attempts": 0}))


def setup(endpoint: str) -> tuple[str, str]:
    appsync, ddb = client(endpoint, "appsync"), client(endpoint, "dynamodb")
    ddb.create_table(TableName="bench-items", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    for i in range(100):
        ddb.put_item(TableName="bench-items", Item={"id": {"S": f"i{i}"}, "name": {"S": f"item {i}"}})
    api_id = appsync.create_graphql_api(name="bench", authenticationType="API_KEY")["graphqlApi"]["apiId"]
    appsync.start_schema_creation(apiId=api_id, definition=SCHEMA.encode())
    key = appsync.create_api_key(apiId=api_id)["apiKey"]["id"]
    appsync.create_data_source(apiId=api_id, name="none", type="NONE")
    appsync.create_data_source(apiId=api_id, name="items", type="AMAZON_DYNAMODB",
                               dynamodbConfig={"tableName": "bench-items", "awsRegion": "us-east-1"})
    appsync.create_resolver(apiId=api_id, typeName="Query", fieldName="hello", dataSourceName="none",
                            requestMappingTemplate='{"version": "2018-05-29", "payload": "world"}',
                            responseMappingTemplate="$util.toJson($ctx.result)")
    appsync.create_resolver(apiId=api_id, typeName="Query", fieldName="getItem", dataSourceName="items",
                            requestMappingTemplate='{"version": "2017-02-28", "operation": "GetItem", '
                                                   '"key": {"id": $util.dynamodb.toDynamoDBJson($ctx.args.id)}}',
                            responseMappingTemplate="$util.toJson($ctx.result)")
    appsync.create_resolver(apiId=api_id, typeName="Query", fieldName="getItemJs", dataSourceName="items",
                            runtime={"name": "APPSYNC_JS", "runtimeVersion": "1.0.0"},
                            code="import * as ddb from '@aws-appsync/utils/dynamodb';\n"
                                 "export const request = (ctx) => ddb.get({ key: { id: ctx.args.id } });\n"
                                 "export const response = (ctx) => ctx.result;\n")
    appsync.create_resolver(apiId=api_id, typeName="Mutation", fieldName="addItem", dataSourceName="none",
                            requestMappingTemplate='{"version": "2018-05-29", "payload": $util.toJson($ctx.args)}',
                            responseMappingTemplate="$util.toJson($ctx.result)")
    return api_id, key


def wrk(endpoint: str, api_id: str, key: str, query: str, seconds: int) -> float:
    path = f"/_aws/appsync/{api_id}/graphql"
    body = json.dumps({"query": query})
    check = httpx.post(endpoint + path, content=body, headers={"x-api-key": key, "content-type": "application/json"})
    assert check.status_code == 200 and "errors" not in check.json(), check.text
    env = {**os.environ, "GQL_PATH": path, "KEY": key, "BODY": body}
    out = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "-s", os.path.join(HERE, "appsync_query.lua"), endpoint],
                         capture_output=True, text=True, env=env).stdout
    errors = re.search(r"non-2xx or socket errors: (\d+)", out)
    assert errors is None or errors.group(1) == "0", out
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


async def fan_out(endpoint: str, api_id: str, key: str, count: int) -> tuple[float, float]:
    import websockets

    header = base64.b64encode(json.dumps({"host": "bench", "x-api-key": key}).encode()).decode()
    url = endpoint.replace("http://", "ws://") + f"/_aws/appsync/{api_id}/graphql/realtime?header={header}&payload=e30="
    data = json.dumps({"query": "subscription { onAddItem { id name } }", "variables": {}})
    start_msg = json.dumps({"id": "s", "type": "start", "payload": {"data": data, "extensions": {"authorization": {"x-api-key": key}}}})

    async def subscriber():
        ws = await websockets.connect(url, subprotocols=["graphql-ws"], max_queue=None)
        await ws.send(json.dumps({"type": "connection_init"}))
        await ws.send(start_msg)
        while True:
            msg = json.loads(await ws.recv())
            if msg["type"] == "start_ack":
                return ws

    t0 = time.perf_counter()
    sockets = []
    for i in range(0, count, 100):
        sockets += await asyncio.gather(*(subscriber() for _ in range(min(100, count - i))))
    subscribed = time.perf_counter() - t0

    async def receive(ws):
        while True:
            msg = json.loads(await ws.recv())
            if msg["type"] == "data":
                return time.perf_counter()

    waiters = [asyncio.create_task(receive(ws)) for ws in sockets]
    async with httpx.AsyncClient() as http:
        sent = time.perf_counter()
        r = await http.post(f"{endpoint}/_aws/appsync/{api_id}/graphql", headers={"x-api-key": key},
                            json={"query": 'mutation { addItem(id: "x", name: "fan") { id name } }'})
        answered = time.perf_counter()
        assert r.status_code == 200, r.text
    last = max(await asyncio.gather(*waiters))
    for ws in sockets:
        await ws.close()
    print(f"  {count} subscribers connected and started in {subscribed:.2f} s")
    return answered - sent, last - sent


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    subscribers = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    server = Server()
    try:
        api_id, key = setup(server.endpoint)
        none_rate = wrk(server.endpoint, api_id, key, "{ hello }", seconds)
        print(f"query, NONE data source, wrk 8 connections:          {none_rate:,.0f} /s")
        ddb_rate = wrk(server.endpoint, api_id, key, '{ getItem(id: "i42") { id name } }', seconds)
        print(f"query, DynamoDB GetItem resolver, wrk 8 connections: {ddb_rate:,.0f} /s   target >= 2,000 /s")
        js_rate = wrk(server.endpoint, api_id, key, '{ getItemJs(id: "i42") { id name } }', seconds)
        print(f"query, DynamoDB GetItem resolver in APPSYNC_JS:      {js_rate:,.0f} /s")
        answer, last = asyncio.run(fan_out(server.endpoint, api_id, key, subscribers))
        print(f"mutation fan-out to {subscribers} subscribers: answered in {answer * 1000:.1f} ms, "
              f"last subscriber received after {last * 1000:.0f} ms   target < 1 s")
        print(f"server RSS after the run: {server.rss_mb():.0f} MB")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
