"""examples/rest-api and examples/webhook-queue, deployed and exercised against the test server."""

from __future__ import annotations

import importlib.util
import json
import os
import time

import httpx

from tests.example_checks import rest_api_behaves

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def _load(example: str):
    spec = importlib.util.spec_from_file_location(f"example_{example.replace('-', '_')}",
                                                  os.path.join(ROOT, example, "deploy.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rest_api_example_crud_with_validation_api_key_and_signed_in_users(endpoint):
    out = _load("rest-api").deploy(endpoint)
    rest_api_behaves(endpoint, out["url"], out["apiKey"], out["userPoolId"], out["userPoolClientId"])


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
