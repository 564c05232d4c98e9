"""The Runtime API's HTTP/1.1 reader (overcast/runtime/api.py) over a real loopback connection:
requests whose head and body arrive in separate writes, byte by byte, chunked, or several in one
write, are each handed to the sandbox once and whole."""

from __future__ import annotations

import asyncio
import socket

from overcast.runtime.api import serve


class _Recorder:
    owner_uid = None

    def __init__(self):
        self.requests = []
        self.arrived = asyncio.Event()

    def on_request(self, conn, method, target, headers, body):
        self.requests.append((method, target, headers.get("content-type"), body))
        conn.respond(202, b'{"status":"OK"}')
        self.arrived.set()

    def on_connection_lost(self, conn):
        pass


def _exchange(pieces: list[bytes], expected: int) -> list[tuple]:
    async def scenario():
        recorder = _Recorder()
        server, port = await serve(recorder)
        loop = asyncio.get_running_loop()
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setblocking(False)
        try:
            for piece in pieces:
                await loop.sock_sendall(sock, piece)
                await asyncio.sleep(0.01)  # each piece read on its own
            while len(recorder.requests) < expected:
                recorder.arrived.clear()
                await asyncio.wait_for(recorder.arrived.wait(), 5)
            answers = b""
            while answers.count(b"HTTP/1.1 202") < expected:
                answers += await loop.sock_recv(sock, 65536)
        finally:
            sock.close()
            server.close()
        return recorder.requests

    return asyncio.run(scenario())


HEAD = (b"POST /2018-06-01/runtime/invocation/abc/response HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n"
        b"Content-Type: application/json\r\nContent-Length: 18\r\n\r\n")
BODY = b'{"hello": "world"}'


def test_a_post_whose_head_and_body_arrive_apart_is_one_request():
    assert _exchange([HEAD, BODY], 1) == [("POST", "/2018-06-01/runtime/invocation/abc/response", "application/json",
                                           BODY)]


def test_a_request_sent_byte_by_byte_is_one_request():
    whole = HEAD + BODY
    assert _exchange([whole[i:i + 1] for i in range(len(whole))], 1) == [
        ("POST", "/2018-06-01/runtime/invocation/abc/response", "application/json", BODY)]


def test_a_chunked_body_in_pieces_then_a_second_request_in_the_same_write():
    head = (b"POST /2018-06-01/runtime/invocation/abc/error HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    following = b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n\r\n"
    got = _exchange([head, b"5\r\nhello\r\n", b"6\r\n world\r\n0\r\n\r\n" + following], 2)
    assert got == [("POST", "/2018-06-01/runtime/invocation/abc/error", None, b"hello world"),
                   ("GET", "/2018-06-01/runtime/invocation/next", None, b"")]


def _answer_to(head: bytes) -> tuple[bytes, int]:
    """The first line of the answer to one request, and how many requests reached the sandbox."""
    async def scenario():
        recorder = _Recorder()
        server, port = await serve(recorder)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(head)
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), 5)
        finally:
            writer.close()
            server.close()
        return line.strip(), len(recorder.requests)

    return asyncio.run(scenario())


NEXT = b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n"


def test_a_runtime_clients_request_is_served():
    assert _answer_to(NEXT + b"Host: 127.0.0.1:9001\r\n\r\n") == (b"HTTP/1.1 202 Accepted", 1)
    assert _answer_to(NEXT + b"Host: localhost:9001\r\n\r\n") == (b"HTTP/1.1 202 Accepted", 1)


def test_a_browsers_request_never_reaches_the_sandbox():
    # a page on another site (Origin), any page's request to a loopback address (Sec-Fetch-Site),
    # and a page that reached the port by DNS rebinding (its own host name) are each refused
    for head in (NEXT + b"Host: 127.0.0.1:9001\r\nOrigin: https://evil.example\r\n\r\n",
                 NEXT + b"Host: 127.0.0.1:9001\r\nSec-Fetch-Site: cross-site\r\n\r\n",
                 NEXT + b"Host: evil.example:9001\r\n\r\n"):
        assert _answer_to(head) == (b"HTTP/1.1 403 Forbidden", 0), head
