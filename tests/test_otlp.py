"""Spans exported over OTLP/HTTP (OVERCAST_OTLP_ENDPOINT) to a receiver that decodes each request
with the OpenTelemetry protocol's own protobuf classes (opentelemetry-proto): trace ids are the
X-Ray ids' 128 bits, parents are kept, each AWS service is a service, the AWS semantic conventions'
attributes are there, failures have status ERROR, unsampled requests are not sent; a collector that
is down costs one warning and no request waits on it."""

from __future__ import annotations

import gzip
import os
import socket
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.exceptions import ClientError
from conftest import OvercastProcess, make_client
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from overcast.tracing.otlp import traces_url


class Receiver:
    """An OTLP/HTTP receiver: POST /v1/traces, protobuf bodies, decoded by opentelemetry-proto."""

    def __init__(self):
        self.spans: list[tuple[dict, Span]] = []  # (resource attributes, span)
        self.requests = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                ok = self.path == "/v1/traces" and self.headers.get("Content-Type") == "application/x-protobuf"
                if ok:
                    request = ExportTraceServiceRequest.FromString(body)
                    with receiver.lock:
                        receiver.requests += 1
                        for resource_spans in request.resource_spans:
                            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
                            for scope_spans in resource_spans.scope_spans:
                                for span in scope_spans.spans:
                                    receiver.spans.append((resource, span))
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200 if ok else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def of_trace(self, trace_id: str) -> list[tuple[dict, Span]]:
        wanted = otel_trace_id(trace_id)
        with self.lock:
            return [(r, s) for r, s in self.spans if s.trace_id == wanted]

    def wait(self, trace_id: str, count: int = 1, timeout: float = 15.0) -> list[tuple[dict, Span]]:
        deadline = time.time() + timeout
        while True:
            found = self.of_trace(trace_id)
            if len(found) >= count:
                return found
            if time.time() > deadline:
                raise AssertionError(f"{len(found)} of {count} spans of {trace_id} arrived")
            time.sleep(0.05)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _value(any_value):
    return getattr(any_value, any_value.WhichOneof("value"))


def attributes(span: Span) -> dict:
    return {a.key: _value(a.value) for a in span.attributes}


def otel_trace_id(xray_id: str) -> bytes:
    return bytes.fromhex(xray_id[2:10] + xray_id[11:])


def new_trace_id() -> str:
    return f"1-{int(time.time()):08x}-{os.urandom(12).hex()}"


def traced(client, header: str):
    """The client sends `header` as X-Amzn-Trace-Id on every call."""
    def add(request, **_):
        request.headers["X-Amzn-Trace-Id"] = header
    client.meta.events.register("before-sign.*.*", add)
    return client


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def exporting(receiver):
    server = OvercastProcess(env={"OVERCAST_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "100"})
    yield server
    server.stop()


def test_an_api_call_is_a_server_span_of_its_service(exporting, receiver):
    tid, parent = new_trace_id(), os.urandom(8).hex()
    sqs = traced(make_client(exporting.endpoint, "sqs", region="eu-west-1", access_key="111111111111"),
                 f"Root={tid};Parent={parent};Sampled=1")
    url = sqs.create_queue(QueueName="otlp-orders")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    spans = receiver.wait(tid, 2)
    resource, send = next((r, s) for r, s in spans if s.name == "SQS.SendMessage")
    assert send.trace_id == otel_trace_id(tid) and len(send.trace_id) == 16
    assert send.parent_span_id == bytes.fromhex(parent) and len(send.span_id) == 8
    assert send.kind == Span.SPAN_KIND_SERVER
    assert send.end_time_unix_nano > send.start_time_unix_nano > (time.time() - 60) * 1e9
    assert send.status.code != Status.STATUS_CODE_ERROR
    attrs = attributes(send)
    assert attrs["rpc.system"] == "aws-api" and attrs["rpc.service"] == "SQS" and attrs["rpc.method"] == "SendMessage"
    assert attrs["aws.region"] == "eu-west-1" and attrs["http.response.status_code"] == 200
    assert attrs["cloud.resource_id"] == "arn:aws:sqs:eu-west-1:111111111111:otlp-orders"
    assert resource["service.name"] == "SQS" and resource["cloud.provider"] == "aws"
    assert resource["cloud.account.id"] == "111111111111" and resource["cloud.region"] == "eu-west-1"


def test_each_service_is_a_service_of_its_own(exporting, receiver):
    tid = new_trace_id()
    header = f"Root={tid};Sampled=1"
    traced(make_client(exporting.endpoint, "sqs"), header).list_queues()
    traced(make_client(exporting.endpoint, "dynamodb"), header).list_tables()
    spans = receiver.wait(tid, 2)
    assert {r["service.name"]: s.name for r, s in spans} == {"SQS": "SQS.ListQueues",
                                                            "DynamoDB": "DynamoDB.ListTables"}


def test_a_failed_call_has_status_error(exporting, receiver):
    tid = new_trace_id()
    sqs = traced(make_client(exporting.endpoint, "sqs"), f"Root={tid};Sampled=1")
    with pytest.raises(ClientError):
        sqs.get_queue_url(QueueName="otlp-no-such-queue")
    [(_, span)] = receiver.wait(tid)
    assert span.status.code == Status.STATUS_CODE_ERROR
    assert "QueueDoesNotExist" in span.status.message or "NonExistentQueue" in span.status.message
    assert attributes(span)["http.response.status_code"] == 400


def test_an_unsampled_request_is_not_exported(exporting, receiver):
    unsampled, sampled = new_trace_id(), new_trace_id()
    traced(make_client(exporting.endpoint, "sqs"), f"Root={unsampled};Sampled=0").list_queues()
    traced(make_client(exporting.endpoint, "sqs"), f"Root={sampled};Sampled=1").list_queues()
    receiver.wait(sampled)
    time.sleep(0.5)
    assert receiver.of_trace(unsampled) == []


def test_spans_go_in_batches(exporting, receiver):
    tid = new_trace_id()
    sqs = traced(make_client(exporting.endpoint, "sqs"), f"Root={tid};Sampled=1")
    before = receiver.requests
    for _ in range(50):
        sqs.list_queues()
    receiver.wait(tid, 50)
    assert receiver.requests - before < 50


def test_the_endpoint_is_read_as_otel_exporter_otlp_endpoint():
    assert traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert traces_url("http://collector:4318/") == "http://collector:4318/v1/traces"
    assert traces_url("https://api.honeycomb.io/v1/traces") == "https://api.honeycomb.io/v1/traces"


def test_a_collector_that_is_down_costs_one_warning_and_no_wait():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    server = OvercastProcess(env={"OVERCAST_OTLP_ENDPOINT": f"http://127.0.0.1:{dead}",
                                  "OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "2"})
    try:
        sqs = make_client(server.endpoint, "sqs")
        url = sqs.create_queue(QueueName="otlp-down")["QueueUrl"]
        took = []
        deadline = time.time() + 6  # past the exporter's first failed batch (its retries end after 2 s)
        while time.time() < deadline:
            started = time.perf_counter()
            sqs.send_message(QueueUrl=url, MessageBody="x")
            took.append(time.perf_counter() - started)
        took.sort()
        assert took[len(took) // 2] < 0.05 and took[-1] < 1.0, (took[len(took) // 2], took[-1])
        warnings = [line for line in server.log if "OTLP collector" in line]
        assert len(warnings) == 1, list(server.log)
        assert f"127.0.0.1:{dead}/v1/traces" in warnings[0]
        assert not [line for line in server.log if "Traceback" in line or "opentelemetry" in line]
    finally:
        server.stop()


def test_xray_segments_are_exported_in_their_trace(exporting, receiver):
    """Segments sent to X-Ray join overcast's trace, and so the export: each under its service."""
    import json

    tid, app_id, call_id = new_trace_id(), os.urandom(8).hex(), os.urandom(8).hex()
    traced(make_client(exporting.endpoint, "sqs"), f"Root={tid};Parent={call_id};Sampled=1").list_queues()
    now = time.time()
    make_client(exporting.endpoint, "xray").put_trace_segments(TraceSegmentDocuments=[json.dumps({
        "name": "checkout", "id": app_id, "trace_id": tid, "start_time": now - 1, "end_time": now,
        "annotations": {"order": "o-1"},
        "subsegments": [{"name": "SQS", "id": call_id, "start_time": now - 0.9, "end_time": now - 0.1,
                         "namespace": "aws", "aws": {"operation": "ListQueues"}}]})])
    spans = {s.span_id.hex(): (r, s) for r, s in receiver.wait(tid, 3)}
    resource, app = spans[app_id]
    assert resource["service.name"] == "checkout" and app.name == "checkout" and app.parent_span_id == b""
    assert attributes(app)["annotation.order"] == "o-1"
    resource, call = spans[call_id]
    assert resource["service.name"] == "checkout" and call.parent_span_id == bytes.fromhex(app_id)
    [(resource, api)] = [(r, s) for r, s in spans.values() if s.name == "SQS.ListQueues"]
    assert resource["service.name"] == "SQS" and api.parent_span_id == bytes.fromhex(call_id)
