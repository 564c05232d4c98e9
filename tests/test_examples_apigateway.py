"""examples/rest-api and examples/webhook-queue, deployed and exercised against the test server."""

from __future__ import annotations

import importlib.util
import json
import os
import time

import httpx
import jwt
from cognito_support import signed_up_user

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def _load(example: str):
    spec = importlib.util.spec_from_file_location(f"example_{example.replace('-', '_')}",
                                                  os.path.join(ROOT, example, "deploy.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rest_api_example_crud_with_validation_api_key_and_signed_in_users(endpoint):
    out = _load("rest-api").deploy(endpoint)
    url, key = out["url"], {"x-api-key": out["apiKey"]}
    amy = signed_up_user(endpoint, out["userPoolId"], out["userPoolClientId"], "amy@example.com")
    bob = signed_up_user(endpoint, out["userPoolId"], out["userPoolClientId"], "bob@example.com")
    h = {**key, "Authorization": amy["IdToken"]}
    assert httpx.get(f"{url}/items").status_code == 403  # no API key
    unsigned = httpx.post(f"{url}/items", json={"name": "lamp", "price": 12.5}, headers=key)
    assert unsigned.status_code == 401 and unsigned.json() == {"message": "Unauthorized"}
    forged = httpx.post(f"{url}/items", json={"name": "lamp", "price": 12.5},
                        headers={**key, "Authorization": amy["IdToken"][:-4] + "AAAA"})
    assert forged.status_code == 401
    bad = httpx.post(f"{url}/items", json={"name": ""}, headers=h)
    assert bad.status_code == 400
    assert bad.json() == {"message": "Invalid request body"}
    created = httpx.post(f"{url}/items", json={"name": "lamp", "price": 12.5}, headers=h, timeout=30)
    assert created.status_code == 201, created.text
    item = created.json()
    assert item["ownerEmail"] == "amy@example.com"
    assert item["owner"] == jwt.decode(amy["IdToken"], options={"verify_signature": False})["sub"]
    assert httpx.get(f"{url}/items/{item['id']}", headers=key).json()["name"] == "lamp"  # reads need no sign-in
    # another user may read it but not change it
    other = {**key, "Authorization": bob["IdToken"]}
    refused = httpx.put(f"{url}/items/{item['id']}", json={"name": "mine", "price": 1}, headers=other, timeout=30)
    assert refused.status_code == 403 and "only the user who created" in refused.json()["message"]
    assert httpx.put(f"{url}/items/{item['id']}", json={"name": "desk lamp", "price": 15}, headers=h).status_code == 200
    assert [i["name"] for i in httpx.get(f"{url}/items", headers=key).json()["items"]] == ["desk lamp"]
    assert httpx.delete(f"{url}/items/{item['id']}", headers=other).status_code == 403
    assert httpx.delete(f"{url}/items/{item['id']}", headers=h).status_code == 204
    assert httpx.get(f"{url}/items/{item['id']}", headers=key).status_code == 404
    # a browser's preflight is answered without a key or a token
    preflight = httpx.options(f"{url}/items", headers={"Origin": "http://localhost:3000",
                                                       "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 200
    assert "Authorization" in preflight.headers["access-control-allow-headers"]


def test_webhook_queue_example_puts_posts_into_sqs(endpoint, client):
    out = _load("webhook-queue").deploy(endpoint, consumer=False)
    r = httpx.post(out["url"], json={"action": "opened", "number": 7}, headers={"X-Webhook-Source": "github"})
    assert r.status_code == 202, r.text
    assert r.json()["accepted"] is True
    sqs = client("sqs")
    messages = sqs.receive_message(QueueUrl=out["queueUrl"], WaitTimeSeconds=2, MessageAttributeNames=["All"])["Messages"]
    assert json.loads(messages[0]["Body"]) == {"action": "opened", "number": 7}
    assert messages[0]["MessageAttributes"]["source"]["StringValue"] == "github"
    rejected = httpx.post(out["url"], content=b"a=b", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert rejected.status_code == 415


def test_webhook_queue_example_consumer_stores_webhooks_and_dead_letters_poison(endpoint, client):
    out = _load("webhook-queue").deploy(endpoint)
    for number in range(3):
        r = httpx.post(out["url"], json={"action": "opened", "number": number}, headers={"X-Webhook-Source": "github"})
        assert r.status_code == 202, r.text
    client("sqs").send_message(QueueUrl=out["queueUrl"], MessageBody="not json")  # a poison message
    dynamodb = client("dynamodb")
    deadline = time.monotonic() + 30
    items = []
    while time.monotonic() < deadline and len(items) < 3:
        items = dynamodb.scan(TableName=out["table"])["Items"]
        time.sleep(0.2)
    assert sorted(json.loads(i["payload"]["S"])["number"] for i in items) == [0, 1, 2]
    assert {i["source"]["S"] for i in items} == {"github"}
    dead = client("sqs").receive_message(QueueUrl=out["dlqUrl"], WaitTimeSeconds=20)["Messages"]
    assert dead[0]["Body"] == "not json"
