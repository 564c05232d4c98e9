"""The HTTP connections the server accepts: uvicorn's httptools protocol, with the limits a
server that untrusted clients can reach needs and httptools lacks.

- A request's head (request line and headers) larger than `max_header_bytes` gets 431 and the
  connection closes: httptools keeps no limit of its own.
- A connection that sends no complete request head within `timeout` seconds of opening or of its
  last answer is closed (408 when it had sent part of a head): idle sockets and headers dribbled
  a byte at a time (slowloris) cannot pin file descriptors.
- Above `max_connections` open connections (WebSockets included), a new one gets 503 and is
  closed at once, so the process never runs out of file descriptors and clients are served
  again as soon as the crowd leaves.

One timer (HeadWatch) watches every connection waiting for a request head: each only notes when
it began waiting, so the hot path pays a dict write and a dict pop per request, no timer.

The same port speaks HTTPS and HTTP/2 (docs/https.md). A connection's first bytes tell which: a TLS
handshake record (0x16) is answered with TLS (asyncio's TLS protocol between the socket and this
one, with the context of overcast.tls), and what comes through it is looked at again; the HTTP/2
connection preface hands the connection to overcast.http2. Anything else is HTTP/1.1 (and
WebSocket upgrades) on uvicorn's fast path, which pays one flag test per read for this.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from asyncio import sslproto

import orjson
from uvicorn.protocols.http import httptools_impl
from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

log = logging.getLogger("overcast")

# File descriptors kept out of the connection cap: the database and its WAL, blob files being
# read or written, sandboxes' pipes, the listening sockets.
RESERVED_DESCRIPTORS = 64


def _answer(status: str, message: str) -> bytes:
    body = orjson.dumps({"message": message})
    return (f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\nconnection: close\r\n"
            f"content-length: {len(body)}\r\n\r\n").encode() + body


HEAD_TOO_LARGE = _answer("431 Request Header Fields Too Large", "Request header fields too large")
HEAD_TIMEOUT = _answer("408 Request Timeout", "The request headers did not arrive in time")
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"  # what an HTTP/2 client sends first (RFC 9113 3.4)
TOO_MANY_CONNECTIONS = _answer("503 Service Unavailable", "Too many open connections; try again later")


class LazyWebSocketProtocol:
    """uvicorn's WebSocket protocol (websockets' sans-I/O one, as uvicorn's ws="auto" picks),
    imported on the first upgrade rather than at start-up: importing the websockets package was
    an eighth of the instructions the server ran until its first answer (74 M of ~600 M: it reads
    its own version from the installed metadata), and most runs never see an upgrade. uvicorn
    calls this as the protocol class; what it gets is the real protocol."""

    def __new__(cls, *args, **kwargs):
        from uvicorn.protocols.websockets.auto import AutoWebSocketsProtocol

        return AutoWebSocketsProtocol(*args, **kwargs)


def raise_open_file_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit (a connection is a file descriptor);
    returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < target:
        for wanted in (target, 1 << 16):  # macOS refuses more than its OPEN_MAX
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
                break
            except (ValueError, OSError):
                continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def connection_cap(open_files: int) -> int:
    """How many connections may be open at once under an open-file limit: 90% of it, less the
    descriptors the server needs for itself."""
    return max(16, int(open_files * 0.9) - RESERVED_DESCRIPTORS)


class HeadWatch:
    """Closes connections whose request head has not arrived within `timeout` seconds."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.waiting: dict[LimitedHttpToolsProtocol, float] = {}
        self._timer: asyncio.TimerHandle | None = None

    def wait(self, protocol: LimitedHttpToolsProtocol, loop: asyncio.AbstractEventLoop) -> None:
        self.waiting[protocol] = loop.time()
        if self._timer is None:
            self._timer = loop.call_later(self.timeout, self._sweep, loop)

    def done(self, protocol: LimitedHttpToolsProtocol) -> None:
        self.waiting.pop(protocol, None)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        now, oldest = loop.time(), None
        for protocol, since in list(self.waiting.items()):
            if now - since >= self.timeout:
                del self.waiting[protocol]
                protocol.give_up(HEAD_TIMEOUT if protocol.head_bytes else None)
            elif oldest is None or since < oldest:
                oldest = since
        if oldest is not None:
            self._timer = loop.call_later(self.timeout - (now - oldest), self._sweep, loop)


class CaseKeepingCycle(RequestResponseCycle):
    """uvicorn's request/response cycle (RequestResponseCycle.send) writing the answer's header
    names in the case the app gave them, where uvicorn lower-cases them: AWS answers
    `Access-Control-Allow-Origin`, `ETag` or an API Gateway mapping's `X-My-Header` as spelt, and
    clients that compare names case-sensitively (SDK snapshot tests) see the same on overcast.
    Otherwise uvicorn's logic, whole: delegating the body to uvicorn's send, or swapping a cycle's
    class per request, cost 4-9% of the connection's instructions (bench/http1_write.py).
    HTTP/2 lower-cases names by definition (http2.py)."""

    async def send(self, message) -> None:
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()
        if self.disconnected:
            return
        if not self.response_started:
            if message["type"] != "http.response.start":
                raise RuntimeError(f"Expected ASGI message 'http.response.start', but got '{message['type']}'.")
            self.response_started = True
            self.waiting_for_100_continue = False
            status_code = message["status"]
            if self.access_log:
                self.access_logger.info('%s - "%s %s HTTP/%s" %d', get_client_addr(self.scope), self.scope["method"],
                                        get_path_with_query_string(self.scope), self.scope["http_version"],
                                        status_code)
            content = [STATUS_LINE[status_code]]
            has_connection_close = False
            for name, value in self.default_headers + list(message.get("headers", ())):
                if HEADER_RE.search(name):
                    raise RuntimeError("Invalid HTTP header name.")
                if HEADER_VALUE_RE.search(value):
                    raise RuntimeError("Invalid HTTP header value.")
                lower = name.lower()  # to recognize the framing headers; `name` is what is written
                if lower == b"content-length" and self.chunked_encoding is None:
                    self.expected_content_length = int(value.decode())
                    self.chunked_encoding = False
                elif lower == b"transfer-encoding" and value.lower() == b"chunked":
                    self.expected_content_length = 0
                    self.chunked_encoding = True
                elif lower == b"connection":
                    if b"close" in [token.lower().strip() for token in value.split(b",")]:
                        self.keep_alive = False
                        has_connection_close = True
                content.extend((name, b": ", value, b"\r\n"))
            if not self.keep_alive and not has_connection_close:
                content.append(b"Connection: close\r\n")
            if self.chunked_encoding is None and self.scope["method"] != "HEAD" and status_code not in (204, 304):
                self.chunked_encoding = True  # neither content-length nor transfer-encoding given
                content.append(b"Transfer-Encoding: chunked\r\n")
            content.append(b"\r\n")
            self.transport.write(b"".join(content))
        elif not self.response_complete:
            if message["type"] != "http.response.body":
                raise RuntimeError(f"Expected ASGI message 'http.response.body', but got '{message['type']}'.")
            body = message.get("body", b"")
            more_body = message.get("more_body", False)
            if self.scope["method"] == "HEAD":
                self.expected_content_length = 0
            elif self.chunked_encoding:
                content = [b"%x\r\n" % len(body), body, b"\r\n"] if body else []
                if not more_body:
                    content.append(b"0\r\n\r\n")
                self.transport.write(b"".join(content))
            else:
                if len(body) > self.expected_content_length:
                    raise RuntimeError("Response content longer than Content-Length")
                self.expected_content_length -= len(body)
                self.transport.write(body)
            if not more_body:
                if self.expected_content_length != 0:
                    raise RuntimeError("Response content shorter than Content-Length")
                self.response_complete = True
                self.message_event.set()
                if not self.keep_alive:
                    self.transport.close()
                self.on_response()
        else:
            raise RuntimeError(f"Unexpected ASGI message '{message['type']}' sent, after response already completed.")


# uvicorn's protocol builds each request's cycle by this module-level name (on_headers_complete):
# the server's protocol (below) is the only httptools protocol in overcast's process.
httptools_impl.RequestResponseCycle = CaseKeepingCycle


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a cap on open connections, on the size of a request's
    head and on the time it may take to arrive. Subclassed per server by `protocol_class`."""

    max_connections: int = 1 << 20
    max_header_bytes: int = 64 * 1024
    head_watch: HeadWatch
    overcast_config = None  # overcast's Config: the TLS certificate's settings
    tls: tuple[str, str] | None = None  # a TLS connection's (version, cipher suite), as OpenSSL names them

    def connection_made(self, transport) -> None:
        super().connection_made(transport)  # again once TLS is up, with the TLS transport
        secure = transport.get_extra_info("ssl_object")
        if secure is not None:  # (function URLs pass them on: x-amzn-tls-version, x-amzn-tls-cipher-suite)
            self.tls = (secure.version(), secure.cipher()[0])
        self.head_bytes = 0
        self.sniffing = b""  # the connection's first bytes until they tell its protocol; None after
        if len(self.connections) > self.max_connections:
            log.warning("%d connections open: refusing more (OVERCAST_MAX_CONNECTIONS)", len(self.connections) - 1)
            self.give_up(TOO_MANY_CONNECTIONS)
            return
        self.head_watch.wait(self, self.loop)

    def connection_lost(self, exc) -> None:
        self.head_watch.done(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.sniffing is not None:
            data = self._sniff(data)
            if not data:
                return
        super().data_received(data)
        if self in self.head_watch.waiting:  # still no complete head: all of `data` belonged to it
            self.head_bytes += len(data)
            if self.head_bytes > self.max_header_bytes:
                self.head_watch.done(self)
                self.give_up(HEAD_TOO_LARGE)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        # the header names as the client spelt them, in order (ASGI's are lower-cased): API
        # Gateway hands them to integrations that way. One list append per header.
        self.header_names = self.scope["overcast.header_names"] = []
        if self.tls is not None:
            self.scope["overcast.tls"] = self.tls

    def on_header(self, name: bytes, value: bytes) -> None:
        # uvicorn's on_header (httptools_impl.py), which lower-cases the name, keeping the name as sent
        self.header_names.append(name)
        value = value.rstrip(b" \t")  # llhttp keeps trailing whitespace, which RFC 9110 5.5 excludes
        name = name.lower()
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.head_watch.done(self)
        self.head_bytes = 0
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        idle = not self.pipeline  # else a pipelined request, its head already read, starts now
        super().on_response_complete()
        if idle and not self.transport.is_closing():  # keep-alive: the next request's head is awaited
            self.head_watch.wait(self, self.loop)

    def _sniff(self, data: bytes) -> bytes | None:
        """The bytes to parse as HTTP/1.1, or None when the connection went to TLS or HTTP/2 (or
        what came so far could still be the HTTP/2 preface)."""
        data = self.sniffing + data
        if data[:1] == b"\x16" and self.scheme == "http" and self.overcast_config is not None:
            self.sniffing = None
            self._start_tls(data)
            return None
        if PREFACE.startswith(data[:len(PREFACE)]):
            if len(data) < len(PREFACE):
                self.sniffing = data
                return None
            self.sniffing = None
            self._start_http2(data)
            return None
        self.sniffing = None
        return data

    def _start_tls(self, hello: bytes) -> None:
        """Put TLS between the socket and this protocol: once the handshake is done,
        connection_made is called again with the TLS transport (scheme https, wss)."""
        from overcast import tls

        try:
            context = tls.server_context(self.overcast_config)
        except (OSError, ValueError) as e:
            log.error("HTTPS is not available: %s", e)
            self.give_up(None)
            return
        handshake = self.loop.create_future()
        handshake.add_done_callback(self._handshake_done)
        secure = sslproto.SSLProtocol(self.loop, self, context, handshake, server_side=True,
                                      ssl_handshake_timeout=self.head_watch.timeout)
        raw = self.transport
        raw.set_protocol(secure)
        secure.connection_made(raw)
        view = memoryview(hello)
        while view:  # the ClientHello already read, handed to the TLS protocol's buffer
            buffer = secure.get_buffer(len(view))
            size = min(len(buffer), len(view))
            buffer[:size] = view[:size]
            secure.buffer_updated(size)
            view = view[size:]

    def _handshake_done(self, handshake: asyncio.Future) -> None:
        if handshake.cancelled() or handshake.exception() is not None:
            # no TLS connection came of it, so connection_lost will not be called: forget it here
            self.head_watch.done(self)
            self.connections.discard(self)

    def _start_http2(self, data: bytes) -> None:
        from overcast.http2 import H2Protocol

        self.head_watch.done(self)
        self.connections.discard(self)
        protocol = H2Protocol(self.config, self.server_state, self.app_state,
                              idle_timeout=self.head_watch.timeout, max_header_bytes=self.max_header_bytes)
        self.transport.set_protocol(protocol)
        protocol.connection_made(self.transport)
        protocol.data_received(data)

    def give_up(self, answer: bytes | None) -> None:
        """Answer (when there is something to say) and close the connection."""
        if self.transport.is_closing():
            return
        if answer is not None:
            self.transport.write(answer)
        self.transport.close()


def protocol_class(max_connections: int, max_header_bytes: int, timeout: float, config=None) -> type[HttpToolsProtocol]:
    """The protocol uvicorn instantiates for each connection, with this server's limits (and,
    given overcast's Config, HTTPS)."""
    return type("OvercastHttpProtocol", (LimitedHttpToolsProtocol,), {
        "max_connections": max_connections,
        "max_header_bytes": max_header_bytes,
        "head_watch": HeadWatch(timeout),
        "overcast_config": config,
    })
