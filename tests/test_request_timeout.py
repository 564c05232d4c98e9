"""A client that declares more body than it sends gets AWS's RequestTimeout once it has been
silent for the timeout (OVERCAST_REQUEST_TIMEOUT), instead of holding its request open forever."""

import socket
import time

import pytest
from conftest import OvercastProcess


@pytest.fixture(scope="module")
def impatient_server():
    server = OvercastProcess(env={"OVERCAST_REQUEST_TIMEOUT": "1"})
    yield server
    server.stop()


def _send_partial(endpoint: str, head: str, body: bytes) -> tuple[bytes, float]:
    host, port = endpoint.split("//")[1].split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer, time.monotonic() - started


def test_json_request_with_a_missing_body_answers_request_timeout(impatient_server):
    auth = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0"
    head = ("POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.0\r\n"
            f"X-Amz-Target: AmazonSQS.ListQueues\r\nAuthorization: {auth}\r\nContent-Length: 100\r\n")
    answer, elapsed = _send_partial(impatient_server.endpoint, head, b"{}")
    assert answer.startswith(b"HTTP/1.1 400")
    assert b'"__type":"RequestTimeout"' in answer
    assert 0.9 < elapsed < 5


def test_s3_put_with_a_missing_body_answers_s3_request_timeout(impatient_server):
    from conftest import make_client

    make_client(impatient_server.endpoint, "s3").create_bucket(Bucket="slow-uploads")
    auth = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0"
    head = ("PUT /slow-uploads/key HTTP/1.1\r\nHost: localhost\r\nx-amz-content-sha256: UNSIGNED-PAYLOAD\r\n"
            f"Authorization: {auth}\r\nContent-Length: 1000\r\n")
    answer, elapsed = _send_partial(impatient_server.endpoint, head, b"only a little")
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"<Code>RequestTimeout</Code>" in answer
    assert 0.9 < elapsed < 5
