"""Subscriptions over AppSync's real-time WebSocket protocol, with a raw `websockets` client that
follows AWS's published protocol (graphql-ws subprotocol, base64 header and payload)."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
import websockets
from appsync_support import create_api, query, realtime_url

SCHEMA = """
type Query { ping: String }
type Mutation {
  addPost(id: ID!, author: String!, title: String, score: Int): Post
  addSecret(id: ID!): Post
}
type Post { id: ID! author: String title: String score: Int }
type Subscription {
  onAddPost(author: String): Post @aws_subscribe(mutations: ["addPost"])
  onHighScore(min: Int!): Post @aws_subscribe(mutations: ["addPost"])
}
"""

NONE_ECHO = '{"version": "2018-05-29", "payload": $util.toJson($ctx.args)}'


@pytest.fixture(scope="module")
def api(client, endpoint):
    import uuid

    appsync = client("appsync")
    api_id, key = create_api(appsync, f"subs-{uuid.uuid4().hex[:8]}", SCHEMA)
    appsync.create_data_source(apiId=api_id, name="none", type="NONE")
    appsync.create_resolver(apiId=api_id, typeName="Mutation", fieldName="addPost", dataSourceName="none",
                            requestMappingTemplate=NONE_ECHO, responseMappingTemplate="$util.toJson($ctx.result)")
    appsync.create_resolver(apiId=api_id, typeName="Subscription", fieldName="onHighScore", dataSourceName="none",
                            requestMappingTemplate='{"version": "2018-05-29", "payload": {}}',
                            responseMappingTemplate='$extensions.setSubscriptionFilter($util.transform.toSubscriptionFilter('
                                                    '{"score": {"ge": $ctx.args.min}}))$util.toJson(null)')
    return {"id": api_id, "key": key, "endpoint": endpoint}


def header(api, key=None) -> dict:
    return {"host": f"{api['id']}.appsync-api.us-east-1.amazonaws.com", "x-api-key": key or api["key"]}


def connect(api, key=None, subprotocols=("graphql-ws",)):
    encoded = base64.b64encode(json.dumps(header(api, key)).encode()).decode()
    url = f"{realtime_url(api['endpoint'], api['id'])}?header={encoded}&payload=e30="
    return websockets.connect(url, subprotocols=list(subprotocols))


async def init(ws) -> dict:
    await ws.send(json.dumps({"type": "connection_init"}))
    ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert ack["type"] == "connection_ack"
    return ack


async def start(ws, api, sub_id: str, text: str, variables=None, authorization=None) -> dict:
    data = json.dumps({"query": text, "variables": variables or {}})
    auth = header(api) if authorization is None else authorization
    await ws.send(json.dumps({"id": sub_id, "type": "start", "payload": {"data": data, "extensions": {"authorization": auth}}}))
    return await next_message(ws)


async def next_message(ws, timeout=5) -> dict:
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if msg["type"] != "ka":
            return msg


def mutate(api, text):
    return query(api["endpoint"], api["id"], api["key"], text).json()


def run(coro):
    return asyncio.run(coro)


def test_connection_init_is_acknowledged_with_timeout_and_keep_alive(api):
    async def scenario():
        async with connect(api) as ws:
            assert ws.subprotocol == "graphql-ws"
            ack = await init(ws)
            assert ack["payload"]["connectionTimeoutMs"] == 300000
            assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "ka"}
    run(scenario())


def test_connection_with_a_wrong_api_key_gets_connection_error(api):
    async def scenario():
        async with connect(api, key="da2-wrong") as ws:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert msg["type"] == "connection_error"
            assert msg["payload"]["errors"][0]["errorType"] == "UnauthorizedException"
    run(scenario())


def test_subscription_receives_the_mutation_result(api):
    async def scenario():
        async with connect(api) as ws:
            await init(ws)
            assert await start(ws, api, "s1", "subscription { onAddPost { id title } }") == {"type": "start_ack", "id": "s1"}
            await asyncio.to_thread(mutate, api, 'mutation { addPost(id: "1", author: "ann", title: "hi") { id author title } }')
            msg = await next_message(ws)
            assert msg == {"id": "s1", "type": "data", "payload": {"data": {"onAddPost": {"id": "1", "title": "hi"}}}}
    run(scenario())


def test_subscription_arguments_filter_by_the_mutation_fields(api):
    async def scenario():
        async with connect(api) as ws:
            await init(ws)
            await start(ws, api, "bob", 'subscription { onAddPost(author: "bob") { id author } }')
            await asyncio.to_thread(mutate, api, 'mutation { addPost(id: "2", author: "ann") { id author } }')
            await asyncio.to_thread(mutate, api, 'mutation { addPost(id: "3", author: "bob") { id author } }')
            msg = await next_message(ws)
            assert msg["payload"]["data"]["onAddPost"] == {"id": "3", "author": "bob"}
    run(scenario())


def test_mutation_selection_set_bounds_what_subscribers_receive(api):
    async def scenario():
        async with connect(api) as ws:
            await init(ws)
            await start(ws, api, "s", "subscription { onAddPost { id title score } }")
            await asyncio.to_thread(mutate, api, 'mutation { addPost(id: "4", author: "c", title: "t", score: 3) { id author } }')
            msg = await next_message(ws)
            assert msg["payload"]["data"]["onAddPost"] == {"id": "4", "title": None, "score": None}
    run(scenario())


def test_enhanced_filter_set_by_the_subscription_resolver(api):
    async def scenario():
        async with connect(api) as ws:
            await init(ws)
            assert (await start(ws, api, "hs", "subscription { onHighScore(min: 10) { id score } }"))["type"] == "start_ack"
            await asyncio.to_thread(mutate, api, 'mutation { addPost(id: "5", author: "x", score: 3) { id score } }')
            await asyncio.to_thread(mutate, api, 'mutation { addPost(id: "6", author: "x", score: 30) { id score } }')
            msg = await next_message(ws)
            assert msg["payload"]["data"]["onHighScore"] == {"id": "6", "score": 30}
    run(scenario())


def test_stop_answers_complete_and_ends_delivery(api):
    async def scenario():
        async with connect(api) as ws:
            await init(ws)
            await start(ws, api, "s", "subscription { onAddPost { id } }")
            await ws.send(json.dumps({"type": "stop", "id": "s"}))
            assert await next_message(ws) == {"type": "complete", "id": "s"}
            await asyncio.to_thread(mutate, api, 'mutation { addPost(id: "7", author: "x") { id } }')
            with pytest.raises(TimeoutError):
                await next_message(ws, timeout=0.5)
    run(scenario())


def test_start_without_authorization_is_refused(api):
    async def scenario():
        async with connect(api) as ws:
            await init(ws)
            msg = await start(ws, api, "s", "subscription { onAddPost { id } }", authorization={})
            assert msg["type"] == "error" and msg["id"] == "s"
            assert msg["payload"]["errors"][0]["errorType"] == "UnauthorizedException"
    run(scenario())


def test_start_with_an_invalid_subscription_answers_an_error(api):
    async def scenario():
        async with connect(api) as ws:
            await init(ws)
            msg = await start(ws, api, "s", "subscription { nope { id } }")
            assert msg["type"] == "error" and "nope" in msg["payload"]["errors"][0]["message"]
    run(scenario())


def test_connection_without_graphql_ws_subprotocol_is_refused(api):
    async def scenario():
        with pytest.raises(websockets.exceptions.InvalidHandshake):
            async with connect(api, subprotocols=("other",)):
                pass
    run(scenario())


def test_header_may_come_in_a_subprotocol(api):
    async def scenario():
        encoded = base64.urlsafe_b64encode(json.dumps(header(api)).encode()).decode().rstrip("=")
        url = realtime_url(api["endpoint"], api["id"])
        async with websockets.connect(url, subprotocols=["graphql-ws", f"header-{encoded}"]) as ws:
            await init(ws)
    run(scenario())


def test_host_form_realtime_url(api):
    async def scenario():
        encoded = base64.b64encode(json.dumps(header(api)).encode()).decode()
        url = api["endpoint"].replace("http://", "ws://") + f"/graphql?header={encoded}&payload=e30="
        host = f"{api['id']}.appsync-realtime-api.us-east-1.localhost.localstack.cloud"
        async with websockets.connect(url, subprotocols=["graphql-ws"], additional_headers={"Host": host}) as ws:
            await init(ws)
    run(scenario())


def test_malformed_start_messages_get_errors_and_keep_the_connection(api):
    async def scenario():
        async with connect(api) as ws:
            await init(ws)
            await ws.send(json.dumps({"id": "a", "type": "start", "payload": "nope"}))
            assert (await next_message(ws))["type"] == "error"
            await ws.send(json.dumps({"id": "b", "type": "start", "payload": {"data": "[1]", "extensions": {"authorization": header(api)}}}))
            assert (await next_message(ws))["type"] == "error"
            await ws.send("not json")
            assert (await next_message(ws))["type"] == "error"
            assert (await start(ws, api, "c", "subscription { onAddPost { id } }"))["type"] == "start_ack"
    run(scenario())


def test_subscription_over_http_is_refused(api):
    r = query(api["endpoint"], api["id"], api["key"], "subscription { onAddPost { id } }")
    assert r.status_code == 400 and r.json()["errors"][0]["errorType"] == "UnsupportedOperation"


def test_start_checks_the_subscription_field_auth_directives(client, endpoint, unique_name):
    appsync = client("appsync")
    api_id, _ = create_api(appsync, unique_name("subauth"), """
type Query { ping: String }
type Mutation { add(id: ID!): Thing }
type Thing @aws_api_key @aws_iam { id: ID! }
type Subscription {
  onAdd: Thing @aws_subscribe(mutations: ["add"]) @aws_iam
  onAddForKeys: Thing @aws_subscribe(mutations: ["add"]) @aws_api_key
}""", auth="AWS_IAM", additionalAuthenticationProviders=[{"authenticationType": "API_KEY"}])
    key = appsync.create_api_key(apiId=api_id)["apiKey"]["id"]
    sub_api = {"id": api_id, "key": key, "endpoint": endpoint}

    async def scenario():
        async with connect(sub_api) as ws:
            await init(ws)
            refused = await start(ws, sub_api, "a", "subscription { onAdd { id } }")
            assert refused["type"] == "error" and refused["payload"]["errors"][0]["errorType"] == "Unauthorized"
            assert (await start(ws, sub_api, "b", "subscription { onAddForKeys { id } }"))["type"] == "start_ack"
    run(scenario())
