"""The trace (issue 17, docs/tracing.md): a span for every AWS API request at the front door,
X-Amzn-Trace-Id honoured and answered, payloads kept (binary as base64, huge ones cut, both
marked), a bounded ring, and the endpoints under /_overcast/traces — same-origin reads only."""

from __future__ import annotations

import base64
import json
import os
import random
import subprocess
import sys
import threading
import time

import httpx
import pytest
from conftest import OvercastProcess, make_client

AUTH = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"


def new_root() -> str:
    return f"1-{int(time.time()):08x}-{random.getrandbits(96):024x}"


def get_trace(endpoint: str, trace_id: str, **params) -> dict:
    response = httpx.get(f"{endpoint}/_overcast/traces/{trace_id}", params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def spans_of(endpoint: str, trace_id: str, until=None, timeout: float = 10.0) -> list[dict]:
    """The spans of a trace once `until(spans)` holds (spans of hops may end after the answer)."""
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(f"{endpoint}/_overcast/traces/{trace_id}", timeout=10)
        spans = response.json()["spans"] if response.status_code == 200 else []
        if spans and (until is None or until(spans)):
            return spans
        if time.monotonic() > deadline:
            raise AssertionError(f"trace {trace_id}: {json.dumps(spans, indent=1)[:3000]}")
        time.sleep(0.05)


def trace_id_of(response_metadata: dict) -> str:
    """The trace id an answer carries (Lambda's, API Gateway's), or the one a Traced client sent."""
    header = response_metadata["HTTPHeaders"].get("x-amzn-trace-id") or response_metadata["_sent_trace"]
    return header.split(";")[0].removeprefix("Root=")


class Traced:
    """Every call of a boto3 client sent with a trace header of a new trace (no Parent), as a
    traced caller sends it; the answer's ResponseMetadata notes it (AWS APIs other than Lambda
    answer no trace header)."""

    def __init__(self, client):
        self.client = client
        self.header = None
        client.meta.events.register("before-sign.*.*", self._add)
        client.meta.events.register("after-call.*.*", self._note)

    def _add(self, request, **kwargs):
        self.header = f"Root={new_root()};Sampled=1"
        request.headers["X-Amzn-Trace-Id"] = self.header

    def _note(self, http_response, parsed, **kwargs):
        parsed.setdefault("ResponseMetadata", {})["_sent_trace"] = self.header

    def __getattr__(self, name):
        return getattr(self.client, name)


def traced(client) -> Traced:
    return Traced(client)


def json_request(endpoint: str, service: str, target: str, body: bytes, headers: dict | None = None,
                 version: str = "1.0") -> httpx.Response:
    return httpx.post(endpoint, content=body, timeout=10, headers={
        "Content-Type": f"application/x-amz-json-{version}", "X-Amz-Target": target,
        "Authorization": AUTH.format(service=service), **(headers or {})})


# -- the front door's span ---------------------------------------------------------------------------

def test_every_api_request_is_a_span_with_its_service_operation_resource_and_payloads(client, endpoint, unique_name):
    sqs = traced(client("sqs", region="eu-west-1", access_key="111111111111"))
    url = sqs.create_queue(QueueName=unique_name("orders"))["QueueUrl"]
    sent = sqs.send_message(QueueUrl=url, MessageBody="one order")
    trace_id = trace_id_of(sent["ResponseMetadata"])
    [span] = get_trace(endpoint, trace_id)["spans"]
    assert span["traceId"] == trace_id and span["parentId"] is None and len(span["spanId"]) == 16
    assert span["name"] == "SQS.SendMessage" and span["kind"] == "api"
    assert (span["service"], span["operation"]) == ("sqs", "SendMessage")
    assert span["resource"] == f"arn:aws:sqs:eu-west-1:111111111111:{url.rsplit('/', 1)[1]}"
    assert (span["account"], span["region"]) == ("111111111111", "eu-west-1")
    assert span["status"] == "ok" and span["error"] is None
    assert span["end"] >= span["start"] and span["durationMs"] >= 0
    assert json.loads(span["request"])["MessageBody"] == "one order"
    assert json.loads(span["response"])["MessageId"] == sent["MessageId"]
    assert span["truncated"] is False
    assert span["attributes"]["httpStatus"] == 200


def test_an_incoming_trace_header_is_honoured(endpoint):
    root, parent = new_root(), f"{random.getrandbits(64):016x}"
    response = json_request(endpoint, "dynamodb", "DynamoDB_20120810.ListTables", b"{}",
                            {"X-Amzn-Trace-Id": f"Root={root};Parent={parent};Sampled=1"})
    assert response.status_code == 200
    assert "x-amzn-trace-id" not in response.headers  # DynamoDB answers none, as on AWS
    [span] = get_trace(endpoint, root)["spans"]
    assert span["parentId"] == parent and span["name"] == "DynamoDB.ListTables"


def test_an_unsampled_request_is_not_recorded(endpoint):
    root = new_root()
    response = json_request(endpoint, "dynamodb", "DynamoDB_20120810.ListTables", b"{}",
                            {"X-Amzn-Trace-Id": f"Root={root};Parent=0123456789abcdef;Sampled=0"})
    assert response.status_code == 200
    assert httpx.get(f"{endpoint}/_overcast/traces/{root}").status_code == 404


def test_lambda_answers_the_trace_id(client, endpoint):
    answer = client("lambda").list_functions()
    header = answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-trace-id"]
    assert header.startswith("Root=1-") and header.endswith(";Sampled=1")
    [span] = get_trace(endpoint, trace_id_of(answer["ResponseMetadata"]))["spans"]
    assert span["name"] == "Lambda.ListFunctions" and span["parentId"] is None


def test_a_malformed_trace_header_starts_a_new_trace(endpoint):
    response = httpx.get(f"{endpoint}/2015-03-31/functions/", timeout=10, headers={
        "Authorization": AUTH.format(service="lambda"), "X-Amzn-Trace-Id": "Root=not-a-trace;Parent=zz;Sampled=1"})
    assert response.status_code == 200
    root = response.headers["x-amzn-trace-id"].split(";")[0].removeprefix("Root=")
    assert root != "not-a-trace" and root.startswith("1-")
    assert get_trace(endpoint, root)["spans"][0]["parentId"] is None


def test_a_failed_request_is_an_error_span_naming_aws_error(client, endpoint):
    sqs = traced(client("sqs"))
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as raised:
        sqs.get_queue_url(QueueName="no-such-queue-for-tracing")
    trace_id = trace_id_of(raised.value.response["ResponseMetadata"])
    [span] = get_trace(endpoint, trace_id)["spans"]
    assert span["status"] == "error"
    assert span["error"] == "QueueDoesNotExist: The specified queue does not exist."
    assert span["attributes"]["httpStatus"] == 400


def test_s3_requests_are_spans_with_the_bucket_and_key(client, endpoint, unique_name):
    s3 = traced(client("s3"))
    bucket = unique_name("traced")
    s3.create_bucket(Bucket=bucket)
    put = s3.put_object(Bucket=bucket, Key="a/b.txt", Body=b"hello")
    [span] = get_trace(endpoint, trace_id_of(put["ResponseMetadata"]))["spans"]
    assert (span["name"], span["resource"]) == ("S3.PutObject", f"arn:aws:s3:::{bucket}/a/b.txt")
    with pytest.raises(s3.exceptions.NoSuchKey) as raised:
        s3.get_object(Bucket=bucket, Key="missing")
    [span] = get_trace(endpoint, trace_id_of(raised.value.response["ResponseMetadata"]))["spans"]
    assert span["status"] == "error" and span["error"].startswith("NoSuchKey: ")


def test_binary_and_non_utf8_payloads_are_base64_and_marked(endpoint):
    body = b"\xff\xfe\x00binary\x80"
    root = new_root()
    response = json_request(endpoint, "dynamodb", "DynamoDB_20120810.GetItem", body,
                            {"X-Amzn-Trace-Id": f"Root={root};Sampled=1"})
    assert response.status_code == 400
    [span] = get_trace(endpoint, root)["spans"]
    assert span["request"] == "[base64] " + base64.b64encode(body).decode()
    assert span["truncated"] is False


def test_huge_payloads_are_truncated_and_marked(client, endpoint, unique_name):
    url = client("sqs").create_queue(QueueName=unique_name("big"))["QueueUrl"]
    body = json.dumps({"QueueUrl": url, "MessageBody": "é" * 100_000}, ensure_ascii=False).encode()
    root = new_root()
    response = json_request(endpoint, "sqs", "AmazonSQS.SendMessage", body, {"X-Amzn-Trace-Id": f"Root={root}"})
    assert response.status_code == 200, response.text
    [span] = get_trace(endpoint, root)["spans"]
    assert span["truncated"] is True
    assert span["request"].endswith(f" [truncated: {len(body)} bytes]")
    kept = span["request"].removesuffix(f" [truncated: {len(body)} bytes]")
    assert body.decode().startswith(kept) and 4090 <= len(kept.encode()) <= 4096
    assert "\ufffd" not in kept  # a character the cut fell inside is left out, not mangled
    assert json.loads(span["response"])["MessageId"] == response.json()["MessageId"]


# -- the endpoints ------------------------------------------------------------------------------------

def test_list_is_newest_first_with_summaries_and_filters(client, endpoint, unique_name):
    ddb = traced(client("dynamodb"))
    name = unique_name("tbl")
    with pytest.raises(ddb.exceptions.ResourceNotFoundException) as raised:
        ddb.describe_table(TableName=name)
    failed = trace_id_of(raised.value.response["ResponseMetadata"])
    ok = trace_id_of(traced(client("sqs")).list_queues()["ResponseMetadata"])
    listed = httpx.get(f"{endpoint}/_overcast/traces", params={"limit": 1000}).json()["traces"]
    ids = [t["traceId"] for t in listed]
    assert ids.index(ok) < ids.index(failed)  # newest first
    summary = listed[ids.index(failed)]
    assert summary["status"] == "error" and summary["spanCount"] == 1 and summary["services"] == ["dynamodb"]
    assert summary["root"] == {"name": "DynamoDB.DescribeTable", "service": "dynamodb", "operation": "DescribeTable",
                               "resource": f"arn:aws:dynamodb:us-east-1:000000000000:table/{name}"}
    assert summary["end"] >= summary["start"] and summary["durationMs"] >= 0
    by_resource = httpx.get(f"{endpoint}/_overcast/traces", params={"resource": name}).json()["traces"]
    assert [t["traceId"] for t in by_resource] == [failed]
    errors = httpx.get(f"{endpoint}/_overcast/traces", params={"status": "error", "service": "dynamodb",
                                                               "limit": 1000}).json()["traces"]
    assert failed in [t["traceId"] for t in errors] and ok not in [t["traceId"] for t in errors]
    assert all(t["status"] == "error" and "dynamodb" in t["services"] for t in errors)
    older = httpx.get(f"{endpoint}/_overcast/traces", params={"before": summary["start"], "limit": 1000}).json()
    assert all(t["start"] < summary["start"] for t in older["traces"])
    assert len(httpx.get(f"{endpoint}/_overcast/traces", params={"limit": 1}).json()["traces"]) == 1


@pytest.mark.parametrize("query", ["limit=abc", "limit=0", "limit=100000", "status=broken", "before=yesterday"])
def test_bad_list_parameters_are_400_with_a_message(endpoint, query):
    response = httpx.get(f"{endpoint}/_overcast/traces?{query}")
    assert response.status_code == 400 and response.json()["message"]


def test_unknown_trace_is_404_with_a_message(endpoint):
    response = httpx.get(f"{endpoint}/_overcast/traces/{new_root()}")
    assert response.status_code == 404 and "message" in response.json()


def test_a_trace_with_thousands_of_spans_is_paginated(endpoint):
    root = new_root()
    header = {"X-Amzn-Trace-Id": f"Root={root};Sampled=1"}
    with httpx.Client(timeout=10) as http:
        for _ in range(2100):
            http.post(endpoint, content=b"{}", headers={
                "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.ListTables",
                "Authorization": AUTH.format(service="dynamodb"), **header})
    first = get_trace(endpoint, root)
    assert first["spanCount"] == 2100 and len(first["spans"]) == 1000 and first["nextOffset"] == 1000
    second = get_trace(endpoint, root, offset=1000, limit=1000)
    third = get_trace(endpoint, root, offset=2000, limit=1000)
    assert len(second["spans"]) == 1000 and len(third["spans"]) == 100 and third["nextOffset"] is None
    starts = [s["start"] for page in (first, second, third) for s in page["spans"]]
    assert starts == sorted(starts) and len({s["spanId"] for p in (first, second, third) for s in p["spans"]}) == 2100
    assert httpx.get(f"{endpoint}/_overcast/traces/{root}?offset=-1").status_code == 400


def test_the_stream_sends_each_span_as_it_ends_filtered(client, endpoint, unique_name):
    sqs = traced(client("sqs"))
    url = sqs.create_queue(QueueName=unique_name("live"))["QueueUrl"]
    seen: list[dict] = []
    ready = threading.Event()

    def listen():
        with httpx.stream("GET", f"{endpoint}/_overcast/traces/stream", params={"service": "sqs"}, timeout=30) as r:
            assert r.headers["content-type"] == "text/event-stream"
            event = None
            for line in r.iter_lines():
                if line.startswith(":"):
                    ready.set()
                elif line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "span":
                    span = json.loads(line[6:])
                    seen.append(span)
                    if span["operation"] == "SendMessage" and span["resource"].endswith(url.rsplit("/", 1)[1]):
                        return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert ready.wait(10)
    client("dynamodb").list_tables()  # filtered out
    sent = sqs.send_message(QueueUrl=url, MessageBody="live")
    listener.join(10)
    assert not listener.is_alive()
    assert seen[-1]["traceId"] == trace_id_of(sent["ResponseMetadata"]) and seen[-1]["end"] is not None
    assert all(span["service"] == "sqs" for span in seen)


# -- same-origin reads only ----------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/_overcast/traces", "/_overcast/traces/1-00000000-000000000000000000000000",
                                  "/_overcast/traces/stream"])
@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},  # fetch() from another site
    {"Origin": "http://localhost:3000", "Sec-Fetch-Site": "same-site"},  # another port of this machine
    {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"},  # <script src> / <img>: no Origin
])
def test_a_page_on_another_origin_cannot_read_the_traces(endpoint, path, headers):
    response = httpx.get(endpoint + path, headers=headers, timeout=10)
    assert response.status_code == 403
    assert response.json()["__type"] == "AccessDenied"
    assert "access-control-allow-origin" not in response.headers


def test_a_same_origin_page_reads_the_traces_without_cors_headers(endpoint):
    host = endpoint.removeprefix("http://")
    response = httpx.get(f"{endpoint}/_overcast/traces", headers={"Origin": endpoint, "Host": host,
                                                                  "Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 200 and "traces" in response.json()
    assert "access-control-allow-origin" not in response.headers


def test_a_cross_site_preflight_grants_nothing(endpoint):
    response = httpx.options(f"{endpoint}/_overcast/traces", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "GET", "Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403 and "access-control-allow-origin" not in response.headers


# -- settings ---------------------------------------------------------------------------------------------

def test_the_ring_keeps_the_configured_number_of_traces():
    server = OvercastProcess(env={"OVERCAST_TRACE_TRACES": "5"})
    try:
        sqs = traced(make_client(server.endpoint, "sqs"))
        ids = [trace_id_of(sqs.list_queues()["ResponseMetadata"]) for _ in range(12)]
        listed = [t["traceId"] for t in httpx.get(f"{server.endpoint}/_overcast/traces?limit=100").json()["traces"]]
        assert listed == ids[::-1][:5]
        assert httpx.get(f"{server.endpoint}/_overcast/traces/{ids[0]}").status_code == 404
    finally:
        server.stop()


def test_the_ring_keeps_at_most_the_configured_spans_and_traces():
    server = OvercastProcess(env={"OVERCAST_TRACE_TRACES": "128", "OVERCAST_TRACE_SPANS": "20"})
    try:
        sqs = make_client(server.endpoint, "sqs")
        root = new_root()
        sqs.meta.events.register("before-sign.sqs.*", lambda request, **_: request.headers.__setitem__(
            "X-Amzn-Trace-Id", f"Root={root};Sampled=1"))
        for _ in range(30):  # one trace of 30 spans: more than the ring keeps, its oldest spans are dropped
            sqs.list_queues()
        big = httpx.get(f"{server.endpoint}/_overcast/traces/{root}").json()
        assert len(big["spans"]) <= 20 and big["spanCount"] + big["dropped"] == 30
        sqs = traced(make_client(server.endpoint, "sqs"))
        ids = [trace_id_of(sqs.list_queues()["ResponseMetadata"]) for _ in range(25)]
        listed = [t["traceId"] for t in httpx.get(f"{server.endpoint}/_overcast/traces?limit=1000").json()["traces"]]
        assert listed == ids[::-1][:20]  # 20 spans in all: the big trace left first, then the oldest
        ids += [trace_id_of(sqs.list_queues()["ResponseMetadata"]) for _ in range(120)]
        listed = [t["traceId"] for t in httpx.get(f"{server.endpoint}/_overcast/traces?limit=1000").json()["traces"]]
        assert listed == ids[::-1][:20]
    finally:
        server.stop()
    server = OvercastProcess(env={"OVERCAST_TRACE_TRACES": "128"})
    try:
        sqs = traced(make_client(server.endpoint, "sqs"))
        ids = [trace_id_of(sqs.list_queues()["ResponseMetadata"]) for _ in range(140)]
        listed = [t["traceId"] for t in httpx.get(f"{server.endpoint}/_overcast/traces?limit=1000").json()["traces"]]
        # at most 128; when the ring is full the oldest leave two at a time (1/64th of the setting)
        assert 126 <= len(listed) <= 128 and listed == ids[::-1][:len(listed)]
        assert httpx.get(f"{server.endpoint}/_overcast/traces/{ids[0]}").status_code == 404
    finally:
        server.stop()


def test_tracing_off_records_nothing_and_answers_no_trace_header():
    server = OvercastProcess(env={"OVERCAST_TRACING": "0"})
    try:
        answer = make_client(server.endpoint, "lambda").list_functions()
        assert "x-amzn-trace-id" not in answer["ResponseMetadata"]["HTTPHeaders"]
        assert httpx.get(f"{server.endpoint}/_overcast/traces").json() == {"traces": []}
    finally:
        server.stop()


# -- overcast trace ----------------------------------------------------------------------------------------

def _tail(endpoint: str, *args: str) -> subprocess.Popen:
    port = endpoint.rsplit(":", 1)[1]
    process = subprocess.Popen([sys.executable, "-m", "overcast", "trace", "--port", port, *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert "tailing the trace" in process.stderr.readline()
    return process


def _lines_until(process: subprocess.Popen, text: str, timeout: float = 15.0) -> list[str]:
    lines: list[str] = []
    done = threading.Event()

    def read():
        for line in process.stdout:
            lines.append(line)
            if text in line:
                done.set()
                return

    threading.Thread(target=read, daemon=True).start()
    done.wait(timeout)
    process.terminate()
    process.wait(10)
    assert any(text in line for line in lines), lines
    return lines


def test_overcast_trace_tails_spans_filtered_by_service_and_resource(client, endpoint, unique_name):
    sqs = traced(client("sqs"))
    name = unique_name("tail")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    other = sqs.create_queue(QueueName=unique_name("other"))["QueueUrl"]
    process = _tail(endpoint, "--service", "sqs", "--resource", name, "--color", "never")
    client("dynamodb").list_tables()
    sqs.send_message(QueueUrl=other, MessageBody="not this one")
    sent = sqs.send_message(QueueUrl=url, MessageBody="this one")
    lines = _lines_until(process, "SQS.SendMessage")
    [line] = lines
    assert trace_id_of(sent["ResponseMetadata"])[-8:] in line
    assert f"arn:aws:sqs:us-east-1:000000000000:{name}" in line and " ok " in line and " ms" in line
    assert "\x1b[" not in line


def test_overcast_trace_shows_only_errors_in_color(client, endpoint):
    process = _tail(endpoint, "--status", "error", "--color", "always")
    sqs = client("sqs")
    sqs.list_queues()
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName="tail-missing-queue")
    lines = _lines_until(process, "SQS.GetQueueUrl")
    line = next(line for line in lines if "SQS.GetQueueUrl" in line)
    assert "\x1b[31merror" in line and "QueueDoesNotExist: The specified queue does not exist." in line
    assert not any("ListQueues" in line for line in lines)


def test_overcast_trace_says_when_overcast_is_not_running():
    result = subprocess.run([sys.executable, "-m", "overcast", "trace", "--port", "1"], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 1 and "not running" in result.stderr
