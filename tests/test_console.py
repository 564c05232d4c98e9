"""The web console's server side (docs/console.md): its pages, its one API endpoint that runs any
AWS operation through overcast's own gateway, SQS peek, and the refusals that keep other
origins out. The pages themselves are walked in a real browser in test_console_browser.py."""

from __future__ import annotations

import base64
import json
import time

import boto3
import httpx
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from conftest import OvercastProcess

CONSOLE = "/_overcast/console/"
CALL = "/_overcast/console/api/call"
PEEK = "/_overcast/console/api/sqs/peek"


def _call(endpoint, service, operation, params=None, **extra):
    response = httpx.post(endpoint + CALL, json={"service": service, "operation": operation, "params": params or {},
                                                  **extra}, timeout=30)
    return response.status_code, response.json()


# -- pages ---------------------------------------------------------------------------------------


def test_console_page_is_served_by_overcast_with_a_this_origin_only_policy(endpoint):
    redirect = httpx.get(endpoint + "/_overcast/console")
    assert redirect.status_code == 308 and redirect.headers["location"] == CONSOLE
    page = httpx.get(endpoint + CONSOLE)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy and "connect-src 'self'" in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert '<script type="module" src="js/app.js">' in page.text
    assert "access-control-allow-origin" not in page.headers
    script = httpx.get(endpoint + CONSOLE + "js/app.js")
    assert script.status_code == 200 and script.headers["content-type"] == "text/javascript; charset=utf-8"
    again = httpx.get(endpoint + CONSOLE + "js/app.js", headers={"If-None-Match": script.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_console_static_files_stay_in_their_folder(endpoint):
    assert httpx.get(endpoint + CONSOLE + "nope.js").status_code == 404
    escape = httpx.get(endpoint + CONSOLE + "js/%2e%2e/%2e%2e/calls.py")
    assert escape.status_code == 404
    assert httpx.get(endpoint + CONSOLE + "js/%2e%2e/console.css").status_code == 404
    assert httpx.post(endpoint + CONSOLE, json={}).status_code == 405


# -- running operations ----------------------------------------------------------------------------


def test_console_call_runs_the_operation_in_the_chosen_account_and_region(endpoint, client, unique_name):
    name = unique_name("console")
    status, answer = _call(endpoint, "sqs", "CreateQueue", {"QueueName": name}, account="111111111111",
                           region="eu-west-1")
    assert status == 200, answer
    assert answer["result"]["QueueUrl"].endswith(f"/111111111111/{name}")
    assert answer["requestId"]
    theirs = client("sqs", region="eu-west-1", access_key="111111111111")
    assert theirs.get_queue_url(QueueName=name)["QueueUrl"].endswith(name)
    with pytest.raises(ClientError):
        client("sqs", region="eu-west-1").get_queue_url(QueueName=name)  # the default account has no such queue
    with pytest.raises(ClientError):
        client("sqs", access_key="111111111111").get_queue_url(QueueName=name)  # nor has us-east-1


def test_console_call_answers_the_error_an_sdk_gets(endpoint, client):
    status, answer = _call(endpoint, "sqs", "GetQueueUrl", {"QueueName": "console-no-such-queue"})
    with pytest.raises(ClientError) as sdk:
        client("sqs").get_queue_url(QueueName="console-no-such-queue")
    assert status == sdk.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert answer["error"] == {"code": sdk.value.response["Error"]["Code"], "message": sdk.value.response["Error"]["Message"]}
    status, answer = _call(endpoint, "dynamodb", "DescribeTable", {"TableName": "console-no-such-table"})
    assert status == 400
    assert answer["error"]["code"] == "ResourceNotFoundException"


def test_console_call_is_validated_by_overcast_as_any_request(endpoint, unique_name):
    url = _call(endpoint, "sqs", "CreateQueue", {"QueueName": unique_name("v")})[1]["result"]["QueueUrl"]
    status, answer = _call(endpoint, "sqs", "SendMessage", {"QueueUrl": url})
    assert status == 400
    assert answer["error"] == {"code": "MissingParameter", "message": "The request must contain the parameter MessageBody."}
    status, answer = _call(endpoint, "dynamodb", "PutItem", {"TableName": "x", "Item": "not a map"})
    assert status == 400 and answer["error"]["code"] in ("ValidationError", "SerializationException",
                                                           "ValidationException")


@pytest.mark.parametrize("body, status, code", [
    ({"service": "nosuch", "operation": "ListThings"}, 400, "ValidationError"),
    ({"service": "sqs", "operation": "NoSuchOperation"}, 400, "InvalidAction"),
    ({"service": "sqs", "operation": "List Queues"}, 400, "ValidationError"),
    ({"service": "sqs", "operation": "ListQueues", "params": []}, 400, "ValidationError"),
    ({"service": "sqs", "operation": "ListQueues", "account": "12"}, 400, "ValidationError"),
    ({"service": "sqs", "operation": "ListQueues", "region": "mars"}, 400, "ValidationError"),
    ({"service": "kinesis", "operation": "SubscribeToShard", "params": {}}, 400, "UnsupportedOperation"),
    ({"service": "sqs", "operation": "ListQueues", "presign": True}, 400, "ValidationError"),
    ({"service": "kinesis", "operation": "PutRecord", "params": {"Data": {"$base64": "%%%"}}}, 400, "ValidationError"),
])
def test_console_call_refuses_what_it_cannot_run(endpoint, body, status, code):
    response = httpx.post(endpoint + CALL, json=body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_console_api_refuses_bad_bodies_and_methods(endpoint):
    bad = httpx.post(endpoint + CALL, content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "SerializationException"
    array = httpx.post(endpoint + CALL, json=[1, 2])
    assert array.status_code == 400
    assert httpx.get(endpoint + CALL).status_code == 405
    assert httpx.post(endpoint + "/_overcast/console/api/nothing", json={}).status_code == 404


def test_console_call_carries_binary_data_and_timestamps_as_json(endpoint, client, unique_name):
    stream = unique_name("console")
    kinesis = client("kinesis")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.2})
    blob = bytes(range(250, 256)) + b"\x00"
    assert _call(endpoint, "kinesis", "PutRecord", {"StreamName": stream, "PartitionKey": "a",
                                                    "Data": {"$base64": base64.b64encode(blob).decode()}})[0] == 200
    assert _call(endpoint, "kinesis", "PutRecord", {"StreamName": stream, "PartitionKey": "a", "Data": "plain text"})[0] == 200
    shard = kinesis.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
    iterator = _call(endpoint, "kinesis", "GetShardIterator", {"StreamName": stream, "ShardId": shard,
                                                               "ShardIteratorType": "TRIM_HORIZON"})[1]["result"]["ShardIterator"]
    records = _call(endpoint, "kinesis", "GetRecords", {"ShardIterator": iterator})[1]["result"]["Records"]
    assert records[0]["Data"] == {"$base64": base64.b64encode(blob).decode()}
    assert records[1]["Data"] == "plain text"
    assert records[0]["ApproximateArrivalTimestamp"][:2] == "20" and "T" in records[0]["ApproximateArrivalTimestamp"]


def test_console_presigned_urls_upload_and_download_s3_objects(endpoint, client, unique_name):
    bucket = unique_name("console")
    client("s3").create_bucket(Bucket=bucket)
    status, answer = _call(endpoint, "s3", "PutObject", {"Bucket": bucket, "Key": "dir/a.bin"}, presign=True)
    assert status == 200 and answer["url"].startswith(endpoint + f"/{bucket}/dir/a.bin?")
    assert "X-Amz-Signature=" in answer["url"]
    assert httpx.put(answer["url"], content=b"\x00\x01 bytes").status_code == 200
    assert client("s3").get_object(Bucket=bucket, Key="dir/a.bin")["Body"].read() == b"\x00\x01 bytes"
    status, answer = _call(endpoint, "s3", "GetObject", {"Bucket": bucket, "Key": "dir/a.bin",
                                                         "ResponseContentDisposition": 'attachment; filename="a.bin"'},
                           presign=True)
    download = httpx.get(answer["url"])
    assert download.status_code == 200 and download.content == b"\x00\x01 bytes"
    assert download.headers["content-disposition"] == 'attachment; filename="a.bin"'
    # small objects come back in the answer itself, as text when they are UTF-8
    client("s3").put_object(Bucket=bucket, Key="t.txt", Body="héllo".encode())
    assert _call(endpoint, "s3", "GetObject", {"Bucket": bucket, "Key": "t.txt"})[1]["result"]["Body"] == "héllo"


# -- SQS peek ---------------------------------------------------------------------------------------


def _peek(endpoint, url, **extra):
    response = httpx.post(endpoint + PEEK, json={"queueUrl": url, **extra})
    return response.status_code, response.json()


def test_sqs_peek_shows_every_message_without_receiving_any(endpoint, client, unique_name):
    sqs = client("sqs")
    url = sqs.create_queue(QueueName=unique_name("peek"))["QueueUrl"]
    for body in ("one", "two", "<b>three</b>"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60)["Messages"][0]
    status, answer = _peek(endpoint, url)
    assert status == 200
    messages = answer["messages"]
    assert [m["Body"] for m in messages] == ["one", "two", "<b>three</b>", "later"]
    states = {m["Body"]: m["State"] for m in messages}
    assert states[received["Body"]] == "inflight" and states["later"] == "delayed"
    assert [m["State"] for m in messages if m["Body"] not in (received["Body"], "later")] == ["visible", "visible"]
    assert {m["Body"]: m["Attributes"]["ApproximateReceiveCount"] for m in messages}[received["Body"]] == "1"
    assert all("ReceiptHandle" not in m for m in messages)
    assert answer["next"] is None
    # peeking changed nothing: the two visible messages are still there to receive, once
    _peek(endpoint, url)
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert sorted(m["Body"] for m in again) == sorted(b for b in ("one", "two", "<b>three</b>") if b != received["Body"])
    assert all(m["Attributes"]["ApproximateReceiveCount"] == "1" for m in again)


def test_sqs_peek_pages_through_a_queue(endpoint, client, unique_name):
    sqs = client("sqs")
    url = sqs.create_queue(QueueName=unique_name("peek"))["QueueUrl"]
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    first = _peek(endpoint, url, limit=2)[1]
    assert [m["Body"] for m in first["messages"]] == ["0", "1"] and first["next"] is not None
    second = _peek(endpoint, url, limit=2, after=first["next"])[1]
    third = _peek(endpoint, url, limit=2, after=second["next"])[1]
    assert [m["Body"] for m in second["messages"] + third["messages"]] == ["2", "3", "4"]
    assert third["next"] is None


def test_sqs_peek_of_a_queue_that_is_not_there_or_not_the_accounts(endpoint, client, unique_name):
    status, answer = _peek(endpoint, f"{endpoint}/000000000000/{unique_name('none')}")
    assert status == 400 and answer["error"] == {"code": "QueueDoesNotExist", "message": "The specified queue does not exist."}
    theirs = client("sqs", access_key="222222222222").create_queue(QueueName=unique_name("theirs"))["QueueUrl"]
    assert _peek(endpoint, theirs)[0] == 400  # the console's account is 000000000000
    assert _peek(endpoint, theirs, account="222222222222")[0] == 200
    for bad in ({"limit": 0}, {"limit": 1001}, {"after": -1}, {"limit": "5"}):
        assert _peek(endpoint, theirs, **bad)[0] == 400
    assert httpx.post(endpoint + PEEK, json={}).status_code == 400


# -- other origins ---------------------------------------------------------------------------------


def test_console_api_refuses_a_page_on_another_origin(endpoint, client, unique_name):
    name = unique_name("csrf")
    body = {"service": "sqs", "operation": "CreateQueue", "params": {"QueueName": name}}
    evil = httpx.post(endpoint + CALL, json=body, headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert evil.status_code == 403 and evil.json()["__type"] == "AccessDenied"
    assert "access-control-allow-origin" not in evil.headers
    # a form or a text/plain fetch (no preflight) from another page, even one that names no origin
    form = httpx.post(endpoint + CALL, content=json.dumps(body).encode(),
                      headers={"Content-Type": "text/plain", "Sec-Fetch-Site": "cross-site"})
    assert form.status_code == 403
    plain = httpx.post(endpoint + CALL, content=b'{"service": "sqs"}', headers={"Content-Type": "text/plain"})
    assert plain.status_code == 403
    with pytest.raises(ClientError):
        client("sqs").get_queue_url(QueueName=name)  # nothing was created
    # what a cross-site page could read: nothing (no CORS on the console's API, reads refused too)
    preflight = httpx.options(endpoint + CALL, headers={"Origin": "https://evil.example",
                                                         "Access-Control-Request-Method": "POST",
                                                         "Access-Control-Request-Headers": "content-type"})
    assert "access-control-allow-origin" not in preflight.headers
    read = httpx.get(endpoint + "/_overcast/console/api/info", headers={"Sec-Fetch-Site": "cross-site"})
    assert read.status_code == 403
    peek = httpx.post(endpoint + PEEK, json={"queueUrl": "x"}, headers={"Origin": "http://localhost.evil.example:4566"})
    assert peek.status_code == 403
    same = httpx.post(endpoint + "/_overcast/console/api/info", json={},
                      headers={"Origin": endpoint, "Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 200 and "access-control-allow-origin" not in same.headers
    assert set(same.json()) == {"version", "regions", "services", "verifySignatures"}


# -- when overcast checks signatures -----------------------------------------------------------------


@pytest.fixture(scope="module")
def verifying():
    server = OvercastProcess(env={"OVERCAST_VERIFY_SIGNATURES": "1",
                                  "OVERCAST_CREDENTIALS": "AKIACONSOLETEST:console-secret:123456789012"})
    yield server.endpoint
    server.stop()


def test_console_calls_are_signed_with_the_users_own_keys_when_signatures_are_checked(verifying):
    status, answer = _call(verifying, "sts", "GetCallerIdentity")
    assert status == 403 and answer["error"]["code"] == "MissingAuthenticationToken"
    wrong = {"accessKeyId": "AKIACONSOLETEST", "secretAccessKey": "wrong"}
    status, answer = _call(verifying, "sqs", "ListQueues", credentials=wrong)
    assert status == 403 and answer["error"]["code"] == "SignatureDoesNotMatch"
    right = {"accessKeyId": "AKIACONSOLETEST", "secretAccessKey": "console-secret"}
    status, answer = _call(verifying, "sts", "GetCallerIdentity", credentials=right)
    assert status == 200 and answer["result"]["Account"] == "123456789012"
    url = _call(verifying, "sqs", "CreateQueue", {"QueueName": "signed-console"}, credentials=right)[1]["result"]["QueueUrl"]
    assert "/123456789012/" in url
    sqs = boto3.client("sqs", endpoint_url=verifying, region_name="us-east-1", aws_access_key_id="AKIACONSOLETEST",
                       aws_secret_access_key="console-secret", config=BotoConfig(retries={"max_attempts": 0}))
    sqs.send_message(QueueUrl=url, MessageBody="hi")
    assert httpx.post(verifying + PEEK, json={"queueUrl": url}).status_code == 403
    assert httpx.post(verifying + PEEK, json={"queueUrl": url, "credentials": wrong}).status_code == 403
    peeked = httpx.post(verifying + PEEK, json={"queueUrl": url, "credentials": right})
    assert peeked.status_code == 200 and [m["Body"] for m in peeked.json()["messages"]] == ["hi"]


def test_console_call_with_deeply_nested_parameters_is_a_client_error(endpoint):
    nested: dict = {}
    inner = nested
    for _ in range(900):
        inner["a"] = {}
        inner = inner["a"]
    status, answer = _call(endpoint, "dynamodb", "PutItem", {"TableName": "x", "Item": {"k": {"M": nested}}})
    assert 400 <= status < 500, answer
    assert httpx.get(endpoint + "/_overcast/health").status_code == 200


def test_console_reads_are_not_traced_and_its_writes_are(endpoint, unique_name):
    """The console sends its own reads unsampled (X-Amzn-Trace-Id Sampled=0), so browsing does
    not fill the trace list; what the user does from it is traced like any call."""
    name = unique_name("traced")
    url = _call(endpoint, "sqs", "CreateQueue", {"QueueName": name}, traced=True)[1]["result"]["QueueUrl"]
    since = time.time()
    assert _call(endpoint, "sqs", "GetQueueAttributes", {"QueueUrl": url}, traced=False)[0] == 200
    assert _call(endpoint, "sqs", "SendMessage", {"QueueUrl": url, "MessageBody": "from the console"})[0] == 200
    deadline = time.monotonic() + 5
    operations: list[str] = []
    while time.monotonic() < deadline and "SendMessage" not in operations:
        traces = httpx.get(endpoint + "/_overcast/traces", params={"service": "sqs", "limit": 50}).json()["traces"]
        operations = [t["root"]["operation"] for t in traces if t["start"] >= since and name in (t["root"]["resource"] or "")]
        time.sleep(0.05)
    assert operations == ["SendMessage"]
