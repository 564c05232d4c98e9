"""examples/graphql-products, deployed and exercised: queries, mutations (VTL, JS, Lambda) and a
subscription over the real-time endpoint."""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import os

import httpx
import websockets

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "graphql-products")


def _deploy(endpoint):
    spec = importlib.util.spec_from_file_location("example_graphql_products", os.path.join(ROOT, "deploy.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.deploy(endpoint)


def test_graphql_products_example_end_to_end(endpoint):
    out = _deploy(endpoint)
    url, headers = out["pathGraphqlUrl"], {"x-api-key": out["apiKey"]}

    def gql(text, variables=None):
        r = httpx.post(url, json={"query": text, "variables": variables or {}}, headers=headers, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    async def scenario():
        header = base64.b64encode(json.dumps({"host": "example", "x-api-key": out["apiKey"]}).encode()).decode()
        async with websockets.connect(f"{out['pathRealtimeUrl']}?header={header}&payload=e30=",
                                      subprotocols=["graphql-ws"]) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            data = json.dumps({"query": 'subscription { onProductChanged(category: "home") { id name price } }'})
            await ws.send(json.dumps({"id": "1", "type": "start", "payload": {
                "data": data, "extensions": {"authorization": {"x-api-key": out["apiKey"]}}}}))
            while json.loads(await ws.recv())["type"] != "start_ack":
                pass
            created = await asyncio.to_thread(gql, 'mutation($i: ProductInput!) { createProduct(input: $i) { id name category price } }',
                                              {"i": {"name": "Lamp", "category": "home", "price": 20.0}})
            product = created["data"]["createProduct"]
            await asyncio.to_thread(gql, 'mutation { createProduct(input: {name: "Bike", category: "sport", price: 300}) { id category } }')
            while (msg := json.loads(await asyncio.wait_for(ws.recv(), 10)))["type"] == "ka":
                pass
            assert msg["payload"]["data"]["onProductChanged"] == {"id": product["id"], "name": "Lamp", "price": 20.0}
            return product

    product = asyncio.run(scenario())
    got = gql('query($id: ID!) { getProduct(id: $id) { name priceWithTax fr: priceWithTax(country: "FR") } }', {"id": product["id"]})
    assert got == {"data": {"getProduct": {"name": "Lamp", "priceWithTax": 23.8, "fr": 24.0}}}
    updated = gql('mutation($id: ID!) { updatePrice(id: $id, price: 25) { price updatedAt } }', {"id": product["id"]})
    assert updated["data"]["updatePrice"]["price"] == 25.0
    page = gql('{ productsByCategory(category: "home") { items { name } nextToken } }')
    assert page == {"data": {"productsByCategory": {"items": [{"name": "Lamp"}], "nextToken": None}}}
    missing = gql('mutation { updatePrice(id: "nope", price: 1) { id } }')
    assert missing["errors"][0]["errorType"] == "DynamoDB:ConditionalCheckFailedException"
    negative = gql('mutation { createProduct(input: {name: "x", category: "home", price: -1}) { id } }')
    assert negative["errors"][0] == {**negative["errors"][0], "errorType": "ValidationError",
                                     "message": "A price cannot be negative"}
