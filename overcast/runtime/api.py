"""The Lambda Runtime API, served to one sandbox on its own loopback port.

A deliberately small HTTP/1.1 server (asyncio.Protocol): the runtime interface clients send a
handful of request shapes (GET .../invocation/next, POST .../response, .../error, /init/error),
with Content-Length or chunked bodies, over keep-alive connections. Each request is handed to the
sandbox (`on_request`), which answers at once or, for /next, when an invocation arrives.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct

log = logging.getLogger("overcast.lambda")

_REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            413: "Payload Too Large", 500: "Internal Server Error"}
MAX_BODY = 64 * 1024 * 1024


class RuntimeConnection(asyncio.Protocol):
    __slots__ = ("handler", "transport", "buffer", "continued", "head")

    def __init__(self, handler):
        self.handler = handler  # the sandbox: on_request(conn, method, path, headers, body)
        self.transport = None
        self.buffer = bytearray()
        self.continued = False
        # the parsed head of a request whose body has not all arrived: (body start, method, target,
        # headers). The runtime clients send a POST's head and body in two writes, often read apart
        self.head = None

    def connection_made(self, transport):
        self.transport = transport
        owner = self.handler.owner_uid
        if owner is not None:
            peer = _peer_uid(transport)
            if peer != owner:
                # another user's process (another function's sandbox) on this loopback port: it
                # must not take this function's invocations or answer them
                log.warning("Runtime API of a sandbox of uid %s: refused a connection from uid %s", owner, peer)
                transport.close()

    def connection_lost(self, exc):
        self.transport = None
        self.handler.on_connection_lost(self)

    def data_received(self, data: bytes):
        self.buffer += data
        while self.buffer:
            request = self._parse()
            if request is None:
                return
            self.handler.on_request(self, *request)

    def _parse(self):
        buf = self.buffer
        head = self.head
        if head is None:
            head = self.head = self._parse_head()
            if head is None:
                return None
        start, method, target, headers = head
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = bytearray()
            pos = start
            while True:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    return self._need_more(headers)
                try:
                    size = int(bytes(buf[pos:eol]).split(b";")[0], 16)
                except ValueError:
                    self._fail(400)
                    return None
                if size == 0:
                    trailer_end = buf.find(b"\r\n\r\n", eol)
                    if trailer_end < 0:
                        if buf[eol:eol + 4] == b"\r\n\r\n":
                            trailer_end = eol
                        else:
                            return self._need_more(headers)
                    consumed = trailer_end + 4
                    break
                if eol + 2 + size + 2 > len(buf):
                    return self._need_more(headers)
                body += buf[eol + 2:eol + 2 + size]
                pos = eol + 2 + size + 2
            body = bytes(body)
        else:
            try:
                length = int(headers.get("content-length", "0") or 0)
            except ValueError:
                self._fail(400)
                return None
            if length > MAX_BODY:
                self._fail(413)
                return None
            if len(buf) < start + length:
                return self._need_more(headers)
            body = bytes(buf[start:start + length])
            consumed = start + length
        del buf[:consumed]
        self.continued = False
        self.head = None
        return method, target, headers, body

    def _parse_head(self):
        buf = self.buffer
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > 65536:
                self._fail(400)
            return None
        lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
        try:
            method, target, _ = lines[0].split(" ", 2)
        except ValueError:
            self._fail(400)
            return None
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if not _from_runtime(headers):
            self._fail(403)
            return None
        return end + 4, method, target, headers

    def _need_more(self, headers):
        if not self.continued and headers.get("expect", "").lower() == "100-continue":
            self.continued = True
            if self.transport is not None:
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        return None

    def _fail(self, status: int):
        self.buffer.clear()
        self.head = None
        self.respond(status, b'{"errorMessage":"bad request","errorType":"InvalidRequest"}')
        if self.transport is not None:
            self.transport.close()

    def respond(self, status: int, body: bytes = b"", headers: list[tuple[str, str]] | None = None):
        if self.transport is None or self.transport.is_closing():
            return
        head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}", "Content-Type: application/json",
                f"Content-Length: {len(body)}"]
        for name, value in headers or ():
            head.append(f"{name}: {value}")
        self.transport.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)


def _from_runtime(headers: dict[str, str]) -> bool:
    """A runtime client's request, not a web browser's: a page on another site (the port is on
    the user's loopback, beside the browser) could otherwise take a function's next event or
    answer an invocation in its place. Browsers mark what they send (Origin on a cross-site
    request, Sec-Fetch-Site on every one to a loopback address); a page reached by DNS
    rebinding names its own host. Runtime clients send none of these and name 127.0.0.1 (the
    AWS_LAMBDA_RUNTIME_API given them)."""
    if "origin" in headers or "sec-fetch-site" in headers:
        return False
    host = headers.get("host")
    return host is None or host.rpartition(":")[0] in _LOOPBACK_HOSTS or host in _LOOPBACK_HOSTS


_LOOPBACK_HOSTS = frozenset(("127.0.0.1", "localhost"))


def _peer_uid(transport) -> int | None:
    """The uid owning the client end of a loopback TCP connection: one sock_diag netlink query
    for that socket (about 0.1 ms), else /proc/net/tcp (which lists every socket)."""
    try:
        peer_port = transport.get_extra_info("peername")[1]
        own_port = transport.get_extra_info("sockname")[1]
    except (TypeError, IndexError):
        return None
    try:
        return _diag_uid(peer_port, own_port)
    except OSError:
        return _proc_uid(peer_port, own_port)


_LOOPBACK = socket.inet_aton("127.0.0.1") + bytes(12)


def _diag_uid(peer_port: int, own_port: int) -> int | None:
    """NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY for exactly one TCP socket (inet_diag_req_v2 with
    its inet_diag_sockid and no cookie); the answer's inet_diag_msg carries the owner's uid."""
    sockid = struct.pack("!HH", peer_port, own_port) + _LOOPBACK + _LOOPBACK + struct.pack("=III", 0, 0xFFFFFFFF,
                                                                                           0xFFFFFFFF)
    request = struct.pack("=BBBBI", socket.AF_INET, socket.IPPROTO_TCP, 0, 0, 0xFFFFFFFF) + sockid
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 4) as diag:  # NETLINK_SOCK_DIAG
        diag.send(struct.pack("=IHHII", 16 + len(request), 20, 1, 1, 0) + request)  # NLM_F_REQUEST
        answer = diag.recv(8192)
    if len(answer) < 88 or struct.unpack_from("=H", answer, 4)[0] != 20:
        return None  # NLMSG_ERROR: no such socket
    return struct.unpack_from("=I", answer, 16 + 4 + 48 + 12)[0]  # after expires, rqueue, wqueue


def _proc_uid(peer_port: int, own_port: int) -> int | None:
    key = f"0100007F:{peer_port:04X} 0100007F:{own_port:04X}".encode()
    for _ in range(3):  # the kernel may skip an entry while other sockets come and go: read again
        try:
            with open("/proc/net/tcp", "rb") as f:
                table = f.read()
        except OSError:
            return None
        at = table.find(key)
        if at >= 0:
            line = table[at:table.find(b"\n", at)].split()
            try:
                return int(line[6])  # local, remote, state, queues, timer, retransmits, uid
            except (IndexError, ValueError):
                return None
    return None


async def serve(handler) -> tuple[asyncio.AbstractServer, int]:
    """Listen on a free loopback port for one sandbox; returns (server, port)."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: RuntimeConnection(handler), "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]
