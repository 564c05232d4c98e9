"""Limits instead of exhaustion: request bodies above their service's documented size are refused
with the service's error before they are read whole, and bodies are collected in linear time, so
one huge request neither exhausts memory nor stalls the other clients."""

from __future__ import annotations

import http.client
import multiprocessing
import resource
import socket
import time

import pytest
from conftest import OvercastProcess
from limits_support import (
    AUTH,
    address,
    flood_with_huge_bodies,
    median,
    read_answer,
    send_huge_body,
    send_while_reading,
    small_send_latencies,
    sqs_head,
)

from overcast.connections import connection_cap

SQS_LIMIT = 3 * 1024 * 1024 + 64 * 1024  # ServiceSpec("sqs").max_request_bytes


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_too_large_content_length_is_refused_before_the_body_is_sent(endpoint):
    with socket.create_connection(address(endpoint), timeout=10) as sock:
        sock.sendall((sqs_head(extra="Content-Length: 100000000\r\n") + "\r\n").encode())
        answer = read_answer(sock)  # returns: the server answered and closed without the body
    assert _status(answer) == 413
    assert b"connection: close" in answer.lower()
    assert b'"__type":"com.amazonaws.sqs#RequestEntityTooLarge"' in answer
    assert f"Request must be smaller than {SQS_LIMIT} bytes for the SendMessage operation".encode() in answer


def test_chunked_body_over_the_limit_is_refused_while_it_arrives(endpoint):
    answer, elapsed = send_huge_body(endpoint, sqs_head(), 100 * 1024 * 1024, chunked=True)
    assert _status(answer) == 413
    assert b"RequestEntityTooLarge" in answer
    assert elapsed < 1


def test_body_at_the_limit_of_its_service_is_still_read(endpoint, client, unique_name):
    """A body just under SQS's limit reaches SQS, which answers its own message-size error."""
    queue_url = client("sqs").create_queue(QueueName=unique_name("big"))["QueueUrl"]
    body = b'{"QueueUrl":"%s","MessageBody":"' % queue_url.encode()
    body += b"a" * (SQS_LIMIT - len(body) - 2) + b'"}'
    with socket.create_connection(address(endpoint), timeout=10) as sock:
        sock.sendall((sqs_head(extra=f"Content-Length: {len(body)}\r\nConnection: close\r\n") + "\r\n").encode() + body)
        answer = read_answer(sock)
    assert _status(answer) == 400
    assert b"InvalidParameterValue" in answer


def test_lambda_refuses_a_body_larger_than_any_lambda_request(endpoint):
    head = ("POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nHost: localhost\r\n"
            f"Authorization: {AUTH.format(service='lambda')}\r\nContent-Length: 80000000\r\n\r\n")
    with socket.create_connection(address(endpoint), timeout=10) as sock:
        sock.sendall(head.encode())
        answer = read_answer(sock)
    assert _status(answer) == 413
    assert b"x-amzn-errortype: RequestEntityTooLargeException" in answer
    assert b"Request must be smaller than 70167211 bytes for the Invoke operation" in answer


def test_deployed_api_refuses_a_body_over_ten_megabytes_unread(endpoint, client, unique_name):
    """API Gateway's own REQUEST_TOO_LARGE answer, though the body is never read."""
    apigw = client("apigateway")
    api = apigw.create_rest_api(name=unique_name("big"))
    root = apigw.get_resources(restApiId=api["id"])["items"][0]["id"]
    apigw.put_method(restApiId=api["id"], resourceId=root, httpMethod="POST", authorizationType="NONE")
    apigw.put_integration(restApiId=api["id"], resourceId=root, httpMethod="POST", type="MOCK",
                          requestTemplates={"application/json": '{"statusCode": 200}'})
    apigw.create_deployment(restApiId=api["id"], stageName="prod")
    head = (f"POST /restapis/{api['id']}/prod/_user_request_/ HTTP/1.1\r\nHost: localhost\r\n"
            "Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n")
    with socket.create_connection(address(endpoint), timeout=10) as sock:
        sock.sendall(head.encode())
        answer = read_answer(sock)
    assert _status(answer) == 413
    assert b"x-amzn-ErrorType: RequestTooLargeException" in answer  # AWS's spelling
    assert answer.endswith(b'{"message":"Request Too Long"}')


def test_huge_body_does_not_stall_other_clients(endpoint, client, unique_name):
    """100 MB bodies keep arriving (from another process, so that the client's own GIL is not
    what is measured) while small SendMessage requests are timed."""
    queue_url = client("sqs").create_queue(QueueName=unique_name("busy"))["QueueUrl"]
    small_send_latencies(endpoint, queue_url, 10)  # warm up
    idle = median(small_send_latencies(endpoint, queue_url, 40))
    context = multiprocessing.get_context("spawn")
    started, stop, results = context.Event(), context.Event(), context.Queue()
    flooder = context.Process(target=flood_with_huge_bodies, args=(endpoint, started, stop, results))
    flooder.start()
    try:
        assert started.wait(30)
        busy = small_send_latencies(endpoint, queue_url, 40)
    finally:
        stop.set()
        refusals = results.get(timeout=60)
        flooder.join(10)
    assert refusals
    assert all(status == 413 for status, _ in refusals), refusals
    assert median([elapsed for _, elapsed in refusals]) < 1
    # Not stalled (on main each body took 16 s and every other client waited). The 2x-idle target
    # is measured by bench/large_body.py; this test runs beside others on a loaded 2-core CI
    # machine, where the flood itself competes for the CPU, so it allows more.
    assert median(busy) < 2 * idle + 0.1, (idle, median(busy))


# -- connections: header size, header timeout, connection cap ---------------------------------


@pytest.fixture(scope="module")
def strict_server():
    """A server with a 1 s timeout for request heads (OVERCAST_REQUEST_TIMEOUT)."""
    server = OvercastProcess(env={"OVERCAST_REQUEST_TIMEOUT": "1"})
    yield server
    server.stop()


def _low_open_file_limit():
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


@pytest.fixture(scope="module")
def crowded_server():
    """A server under a low open-file limit (256): its connection cap is 90% of it, less a reserve."""
    server = OvercastProcess(preexec_fn=_low_open_file_limit)
    yield server
    server.stop()


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


def _health(endpoint: str) -> int:
    with socket.create_connection(address(endpoint), timeout=10) as sock:
        sock.sendall(b"GET /_overcast/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        return _status(read_answer(sock))


def test_huge_header_is_refused_with_431_and_its_memory_is_not_kept(endpoint, overcast):
    before = _rss_mb(overcast.process.pid)
    for _ in range(5):
        head = b"GET /_overcast/health HTTP/1.1\r\nHost: localhost\r\nX-Big: "
        answer, elapsed = send_while_reading(endpoint, head, [b"a" * (1 << 20)] * 64)  # a 64 MB header
        assert _status(answer) == 431 and elapsed < 5
        assert b"connection: close" in answer
    assert _rss_mb(overcast.process.pid) - before < 20
    assert _health(endpoint) == 200


def test_headers_under_the_limit_are_served(endpoint):
    with socket.create_connection(address(endpoint), timeout=10) as sock:
        sock.sendall(b"GET /_overcast/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                     + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 1000) for i in range(50)) + b"\r\n")
        assert _status(read_answer(sock)) == 200


def test_connection_that_sends_nothing_is_closed_after_the_timeout(strict_server):
    with socket.create_connection(address(strict_server.endpoint), timeout=10) as sock:
        started = time.monotonic()
        assert read_answer(sock) == b""
        assert 0.9 < time.monotonic() - started < 4


def test_headers_dribbled_a_byte_at_a_time_are_cut_off(strict_server):
    def dribble():
        for byte in b"GET /_overcast/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 1000:
            yield bytes([byte])
            time.sleep(0.1)

    answer, elapsed = send_while_reading(strict_server.endpoint, b"", dribble())
    assert _status(answer) == 408
    assert elapsed < 4


def test_keep_alive_connection_serves_requests_within_the_timeout(strict_server):
    conn = http.client.HTTPConnection(*address(strict_server.endpoint), timeout=10)
    for _ in range(3):
        conn.request("GET", "/_overcast/health")
        response = conn.getresponse()
        response.read()
        assert response.status == 200
        time.sleep(0.3)
    conn.close()


def test_connections_over_the_cap_get_503_and_clients_are_served_once_they_leave(crowded_server):
    endpoint = crowded_server.endpoint
    idle = []
    try:
        for _ in range(300):  # more than the 256 descriptors the server may open
            idle.append(socket.create_connection(address(endpoint), timeout=10))
        answers: dict[int, bytes] = {}  # the sockets the server answered (and closed)
        deadline = time.monotonic() + 10
        while True:  # the server accepts and answers them as fast as a loaded machine lets it
            for i, sock in enumerate(idle):
                if i not in answers:
                    sock.setblocking(False)
                    try:
                        answers[i] = sock.recv(65536)[:12]
                    except BlockingIOError:
                        pass  # held open, waiting for a request
            held = len(idle) - len(answers)
            if held <= connection_cap(256) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert 0 < held <= connection_cap(256)
        assert set(answers.values()) == {b"HTTP/1.1 503"}
        assert _status_or_refused(endpoint) == 503  # full: refused at once, not hung
    finally:
        for sock in idle:
            sock.close()
    deadline = time.monotonic() + 5
    while _status_or_refused(endpoint) != 200:
        assert time.monotonic() < deadline, "the server did not serve clients again"
        time.sleep(0.05)


def _status_or_refused(endpoint: str) -> int:
    try:
        return _health(endpoint)
    except (ConnectionError, IndexError, ValueError):
        return 0
