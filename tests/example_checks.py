"""The seed examples' behaviour, asserted end to end against a deployed copy, whichever tool
deployed it (SAM, CloudFormation, the Serverless Framework, CDK): each function takes the deployed
app's addresses and fails the test if the app does not behave as its README says."""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import os
import time

import httpx
import jwt
import websockets
from cognito_support import signed_up_user


def rest_api_behaves(endpoint: str, url: str, api_key: str, user_pool_id: str, client_id: str) -> None:
    """examples/rest-api at `url` (the stage's base URL): an API key is required; creating,
    replacing and deleting need a user signed in to the pool (its ID token), and only the user who
    created an item may change it; bodies are validated against the Item model; a browser's
    preflight is answered without a key or a token."""
    key = {"x-api-key": api_key}
    amy = signed_up_user(endpoint, user_pool_id, client_id, f"amy-{api_key[:8]}@example.com")
    bob = signed_up_user(endpoint, user_pool_id, client_id, f"bob-{api_key[:8]}@example.com")
    h = {**key, "Authorization": amy["IdToken"]}
    assert httpx.get(f"{url}/items", timeout=30).status_code == 403  # no API key
    unsigned = httpx.post(f"{url}/items", json={"name": "lamp", "price": 12.5}, headers=key, timeout=30)
    assert unsigned.status_code == 401 and unsigned.json() == {"message": "Unauthorized"}
    forged = httpx.post(f"{url}/items", json={"name": "lamp", "price": 12.5},
                        headers={**key, "Authorization": amy["IdToken"][:-4] + "AAAA"}, timeout=30)
    assert forged.status_code == 401
    bad = httpx.post(f"{url}/items", json={"name": ""}, headers=h, timeout=30)
    assert bad.status_code == 400 and bad.json() == {"message": "Invalid request body"}
    created = httpx.post(f"{url}/items", json={"name": "lamp", "price": 12.5}, headers=h, timeout=30)
    assert created.status_code == 201, created.text
    item = created.json()
    assert item["ownerEmail"] == f"amy-{api_key[:8]}@example.com"
    assert item["owner"] == jwt.decode(amy["IdToken"], options={"verify_signature": False})["sub"]
    assert httpx.get(f"{url}/items/{item['id']}", headers=key, timeout=30).json()["name"] == "lamp"  # reads: no sign-in
    other = {**key, "Authorization": bob["IdToken"]}  # another user may read it but not change it
    refused = httpx.put(f"{url}/items/{item['id']}", json={"name": "mine", "price": 1}, headers=other, timeout=30)
    assert refused.status_code == 403 and "only the user who created" in refused.json()["message"]
    replaced = httpx.put(f"{url}/items/{item['id']}", json={"name": "desk lamp", "price": 15}, headers=h, timeout=30)
    assert replaced.status_code == 200, replaced.text
    assert [i["name"] for i in httpx.get(f"{url}/items", headers=key, timeout=30).json()["items"]] == ["desk lamp"]
    assert httpx.delete(f"{url}/items/{item['id']}", headers=other, timeout=30).status_code == 403
    assert httpx.delete(f"{url}/items/{item['id']}", headers=h, timeout=30).status_code == 204
    assert httpx.get(f"{url}/items/{item['id']}", headers=key, timeout=30).status_code == 404
    preflight = httpx.options(f"{url}/items", headers={"Origin": "http://localhost:3000",
                                                       "Access-Control-Request-Method": "POST"}, timeout=30)
    assert preflight.status_code == 200
    assert "Authorization" in preflight.headers["access-control-allow-headers"]


def webhooks_behave(client, url: str, queue_url: str, table: str, dead_letter_url: str) -> None:
    """examples/webhook-queue: a POST is answered 202 at once, the consumer stores it in the table,
    and a poison message ends in the dead-letter queue."""
    answer = httpx.post(url, json={"action": "opened", "number": 7}, headers={"X-Webhook-Source": "github"}, timeout=30)
    assert answer.status_code == 202, answer.text
    assert answer.json()["accepted"] is True
    client("sqs").send_message(QueueUrl=queue_url, MessageBody="not json")  # a poison message
    dynamodb = client("dynamodb")
    deadline, items = time.monotonic() + 30, []
    while time.monotonic() < deadline and not items:
        items = dynamodb.scan(TableName=table)["Items"]
        time.sleep(0.2)
    assert items, "the consumer stored nothing"
    assert json.loads(items[0]["payload"]["S"]) == {"action": "opened", "number": 7}
    assert items[0]["source"]["S"] == "github"
    dead = client("sqs").receive_message(QueueUrl=dead_letter_url, WaitTimeSeconds=20)["Messages"]
    assert dead[0]["Body"] == "not json"


def stock_counter_pushes(client, ws_url: str, stock_table: str) -> None:
    """examples/live-stock-counter at `ws_url` (the stage's WebSocket URL): a watcher of a product
    page gets the new count when it changes in DynamoDB, and the current count when it asks."""

    def set_stock(count: int) -> None:
        client("dynamodb").put_item(TableName=stock_table, Item={"productId": {"S": "p1"}, "stock": {"N": str(count)}})

    async def go():
        async with websockets.connect(ws_url + "?page=p1") as watcher:
            await asyncio.get_running_loop().run_in_executor(None, set_stock, 7)
            pushed = json.loads(await asyncio.wait_for(watcher.recv(), 60))
            await watcher.send(json.dumps({"action": "current"}))
            current = json.loads(await asyncio.wait_for(watcher.recv(), 60))
            return pushed, current

    pushed, current = asyncio.run(go())
    assert pushed == current == {"productId": "p1", "stock": 7}


def clickstream_reports(endpoint: str, client, stream: str, bucket: str, rule_arn: str, database: str) -> None:
    """examples/clickstream (deployed with a short Firehose buffer): clicks sent to the stream land
    in S3, and the scheduled report (its rule fired now through overcast's clock) crawls them, asks
    Athena for the top pages and writes report/latest.json with each page's clicks."""
    spec = importlib.util.spec_from_file_location(
        "example_clickstream", os.path.join(os.path.dirname(__file__), "..", "examples", "clickstream", "deploy.py"))
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    per_page = example.send_clicks(endpoint, stream, 300)
    s3 = client("s3")
    deadline = time.time() + 30
    while time.time() < deadline and not s3.list_objects_v2(Bucket=bucket, Prefix="clicks/").get("Contents"):
        time.sleep(0.2)
    time.sleep(1.5)  # both shards' records flushed
    fired = httpx.post(f"{endpoint}/_overcast/events/fire", params={"rule": rule_arn}, headers={"X-Overcast-Request": "1"})
    assert fired.status_code < 300, fired.text
    report, deadline = None, time.time() + 60
    while time.time() < deadline and report is None:
        try:
            report = json.loads(s3.get_object(Bucket=bucket, Key="report/latest.json")["Body"].read())
        except s3.exceptions.NoSuchKey:
            time.sleep(0.3)
    assert report is not None, "the scheduled report never ran"
    assert {r["page"]: int(r["clicks"]) for r in report} == per_page
    table = client("glue").get_table(DatabaseName=database, Name="clicks")["Table"]
    assert [k["Name"] for k in table["PartitionKeys"]] == ["dt"]


def graphql_products_behave(endpoint: str, out: dict) -> None:
    """examples/graphql-products, given its apiKey, userPoolId, userPoolClientId, pathGraphqlUrl and
    pathRealtimeUrl: users sign in; queries, mutations (VTL, JS, Lambda) by the "editors" group only,
    reads with the API key, and a subscription over the real-time endpoint with a user's token."""
    url = out["pathGraphqlUrl"]
    pool, app = out["userPoolId"], out["userPoolClientId"]
    editor = signed_up_user(endpoint, pool, app, "eve@example.com", groups=("editors",))["IdToken"]
    editor_id = jwt.decode(editor, options={"verify_signature": False})["sub"]
    reader = signed_up_user(endpoint, pool, app, "rob@example.com")["IdToken"]

    def gql(text, variables=None, token=editor):
        headers = {"Authorization": token} if token else {"x-api-key": out["apiKey"]}
        r = httpx.post(url, json={"query": text, "variables": variables or {}}, headers=headers, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    async def scenario():
        # a signed-in reader subscribes with the ID token (AppSync's header for user pools)
        header = base64.b64encode(json.dumps({"host": "example", "Authorization": reader}).encode()).decode()
        async with websockets.connect(f"{out['pathRealtimeUrl']}?header={header}&payload=e30=",
                                      subprotocols=["graphql-ws"]) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            data = json.dumps({"query": 'subscription { onProductChanged(category: "home") { id name price updatedBy } }'})
            await ws.send(json.dumps({"id": "1", "type": "start", "payload": {
                "data": data, "extensions": {"authorization": {"host": "example", "Authorization": reader}}}}))
            while json.loads(await ws.recv())["type"] != "start_ack":
                pass
            created = await asyncio.to_thread(gql, 'mutation($i: ProductInput!) { createProduct(input: $i) { id name category price updatedBy } }',
                                              {"i": {"name": "Lamp", "category": "home", "price": 20.0}})
            product = created["data"]["createProduct"]
            await asyncio.to_thread(gql, 'mutation { createProduct(input: {name: "Bike", category: "sport", price: 300}) { id category } }')
            while (msg := json.loads(await asyncio.wait_for(ws.recv(), 10)))["type"] == "ka":
                pass
            assert msg["payload"]["data"]["onProductChanged"] == {"id": product["id"], "name": "Lamp", "price": 20.0,
                                                                  "updatedBy": editor_id}
            return product

    product = asyncio.run(scenario())
    got = gql('query($id: ID!) { getProduct(id: $id) { name priceWithTax fr: priceWithTax(country: "FR") } }', {"id": product["id"]})
    assert got == {"data": {"getProduct": {"name": "Lamp", "priceWithTax": 23.8, "fr": 24.0}}}
    updated = gql('mutation($id: ID!) { updatePrice(id: $id, price: 25) { price updatedAt updatedBy } }', {"id": product["id"]})
    assert updated["data"]["updatePrice"]["price"] == 25.0
    assert updated["data"]["updatePrice"]["updatedBy"] == editor_id
    # readers and the API key read the catalogue, but only editors change it
    page = gql('{ productsByCategory(category: "home") { items { name } nextToken } }', token=reader)
    assert page == {"data": {"productsByCategory": {"items": [{"name": "Lamp"}], "nextToken": None}}}
    assert gql('query($id: ID!) { getProduct(id: $id) { price } }', {"id": product["id"]}, token=None) == {
        "data": {"getProduct": {"price": 25.0}}}
    for token in (reader, None):
        refused = gql('mutation($id: ID!) { updatePrice(id: $id, price: 1) { price } }', {"id": product["id"]}, token=token)
        assert refused["data"] == {"updatePrice": None}
        assert refused["errors"][0]["errorType"] == "Unauthorized"
        assert refused["errors"][0]["message"] == "Not Authorized to access updatePrice on type Mutation"
    anonymous = httpx.post(url, json={"query": "{ getProduct(id: \"x\") { id } }"})
    assert anonymous.status_code == 401 and anonymous.json()["errors"][0]["errorType"] == "UnauthorizedException"
    missing = gql('mutation { updatePrice(id: "nope", price: 1) { id } }')
    assert missing["errors"][0]["errorType"] == "DynamoDB:ConditionalCheckFailedException"
    negative = gql('mutation { createProduct(input: {name: "x", category: "home", price: -1}) { id } }')
    assert negative["errors"][0] == {**negative["errors"][0], "errorType": "ValidationError",
                                     "message": "A price cannot be negative"}


def order_workflow_behaves(client, sfn, url: str, approvals_url: str, table: str, pricing_machine: str,
                           bucket: str, rows: int = 250) -> None:
    """examples/order-workflow: a POST starts an execution that reserves stock and asks a human
    through the approvals queue; approving it confirms the order in DynamoDB; an order for more
    than is in stock is rejected without asking; a CSV of order lines is priced by the Distributed
    Map in batches of 100, the results written back to the bucket."""
    import csv
    import io

    from messaging_support import receive
    from sfn_support import wait_done

    order_id = f"o-{os.urandom(4).hex()}"
    started = httpx.post(url, json={"orderId": order_id, "item": "lamp", "quantity": 2}, timeout=30)
    assert started.status_code == 200, started.text
    ddb = client("dynamodb")
    [message] = receive(client("sqs"), approvals_url, timeout=30)
    request = json.loads(message["Body"])
    assert request["order"]["orderId"] == order_id and request["order"]["reservation"] == {"reserved": True}
    assert ddb.get_item(TableName=table, Key={"id": {"S": order_id}})["Item"]["status"] == {"S": "RESERVED"}
    sfn.send_task_success(taskToken=request["token"], output=json.dumps({"approved": True}))
    described = wait_done(sfn, started.json()["executionArn"], timeout=30)
    assert described["status"] == "SUCCEEDED", described
    assert ddb.get_item(TableName=table, Key={"id": {"S": order_id}})["Item"]["status"] == {"S": "CONFIRMED"}

    too_many = httpx.post(url, json={"orderId": f"{order_id}-x", "item": "lamp", "quantity": 50}, timeout=30)
    described = wait_done(sfn, too_many.json()["executionArn"], timeout=30)
    assert (described["status"], described["error"]) == ("FAILED", "OrderRejected")

    lines = io.StringIO()
    writer = csv.writer(lines)
    writer.writerow(["line", "quantity", "unit_price"])
    for i in range(rows):
        writer.writerow([i, i % 5 + 1, "2.50"])
    s3 = client("s3")
    s3.put_object(Bucket=bucket, Key="lines.csv", Body=lines.getvalue().encode())
    execution = sfn.start_execution(stateMachineArn=pricing_machine, input=json.dumps({"key": "lines.csv"}))
    described = wait_done(sfn, execution["executionArn"], timeout=60)
    assert described["status"] == "SUCCEEDED", described
    manifest_key = json.loads(described["output"])["ResultWriterDetails"]["Key"]
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=manifest_key)["Body"].read())
    [succeeded] = manifest["ResultFiles"]["SUCCEEDED"]
    batches = [json.loads(r["Output"]) for r in json.loads(s3.get_object(Bucket=bucket, Key=succeeded["Key"])["Body"].read())]
    assert len(batches) == -(-rows // 100) and sum(b["rows"] for b in batches) == rows
    assert round(sum(b["total"] for b in batches), 2) == round(sum((i % 5 + 1) * 2.5 for i in range(rows)), 2)
