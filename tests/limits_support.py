"""Raw-socket clients for the limit tests and benchmark: what an attacker (or a broken client)
sends, which no SDK would."""

from __future__ import annotations

import json
import socket
import threading
import time

AUTH = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"


def address(endpoint: str) -> tuple[str, int]:
    host, port = endpoint.split("//")[1].split(":")
    return host, int(port)


def sqs_head(target: str = "SendMessage", extra: str = "") -> str:
    """The request line and headers of an awsJson SQS request, without the blank line."""
    return ("POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.0\r\n"
            f"X-Amz-Target: AmazonSQS.{target}\r\nAuthorization: {AUTH.format(service='sqs')}\r\n{extra}")


def read_answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    answer = b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except ConnectionResetError:
        pass
    return answer


def send_while_reading(endpoint: str, head: bytes, blocks) -> tuple[bytes, float]:
    """Send `head`, then each of `blocks`, while reading the answer (a server that refuses a
    request answers before it has all of it); returns (answer, seconds until the server closed
    the connection)."""
    sock = socket.create_connection(address(endpoint), timeout=30)

    def pump():
        try:
            sock.sendall(head)
            for block in blocks:
                sock.sendall(block)
        except OSError:
            pass  # the server answered and closed: the rest is never read

    started = time.monotonic()
    sender = threading.Thread(target=pump, daemon=True)
    sender.start()
    with sock:
        answer = read_answer(sock)
        elapsed = time.monotonic() - started
    sender.join(10)
    return answer, elapsed


def send_huge_body(endpoint: str, head: str, total: int, chunked: bool) -> tuple[bytes, float]:
    """Send `total` bytes of body (chunked or with its Content-Length) while reading the answer."""
    framing = "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {total}\r\n"
    block = b"a" * (1 << 20)

    def blocks():
        for _ in range(total >> 20):
            yield b"100000\r\n" + block + b"\r\n" if chunked else block
        if chunked:
            yield b"0\r\n\r\n"

    return send_while_reading(endpoint, (head + framing + "\r\n").encode(), blocks())


def flood_with_huge_bodies(endpoint: str, started, stop, results) -> None:
    """Send 100 MB chunked SendMessage bodies one after the other until `stop` is set (run in a
    process of its own); puts the (status, seconds) of each on `results`."""
    refusals = []
    while not stop.is_set():
        answer, elapsed = send_huge_body(endpoint, sqs_head(), 100 * 1024 * 1024, chunked=True)
        refusals.append((int(answer.split(b" ", 2)[1]) if answer else 0, elapsed))
        started.set()
    results.put(refusals)


def small_send_latencies(endpoint: str, queue_url: str, count: int) -> list[float]:
    """Seconds each of `count` small SendMessage requests took, one after the other on one
    keep-alive connection (http.client: no SDK overhead)."""
    import http.client

    host, port = address(endpoint)
    conn = http.client.HTTPConnection(host, port, timeout=30)
    body = json.dumps({"QueueUrl": queue_url, "MessageBody": "hello"}).encode()
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.SendMessage",
               "Authorization": AUTH.format(service="sqs")}
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        conn.request("POST", "/", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        assert response.status == 200
    conn.close()
    return latencies


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]
