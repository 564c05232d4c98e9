"""What every provider method receives besides its parameters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from random import getrandbits

from overcast.aws.errors import AwsError

REQUEST_TIMEOUT_MESSAGE = ("Your socket connection to the server was not read from or written to within the "
                           "timeout period. Idle connections will be closed.")


class ReadWatchdog:
    """Gives up on request bodies whose client went silent (it declared more than it sends):
    AWS's RequestTimeout, as S3 answers it. Each receive() only notes when it started; one timer,
    armed while any read is pending, cancels the reads silent for longer than the timeout — no
    timer per request on the hot path."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self._reading: dict[asyncio.Task, float] = {}
        self._expired: set[asyncio.Task] = set()
        self._timer: asyncio.TimerHandle | None = None

    async def receive(self, receive):
        """One ASGI receive(), or AwsError RequestTimeout after `timeout` seconds of silence."""
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        self._reading[task] = loop.time()
        if self._timer is None:
            self._timer = loop.call_later(self.timeout, self._sweep)
        try:
            return await receive()
        except asyncio.CancelledError:
            if task not in self._expired:
                raise
            self._expired.discard(task)
            task.uncancel()
            raise AwsError("RequestTimeout", REQUEST_TIMEOUT_MESSAGE, 400) from None
        finally:
            self._reading.pop(task, None)

    def _sweep(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now, oldest = loop.time(), None
        for task, since in list(self._reading.items()):
            if now - since >= self.timeout:
                del self._reading[task]
                self._expired.add(task)
                task.cancel()
            elif oldest is None or since < oldest:
                oldest = since
        if oldest is not None:
            self._timer = loop.call_later(self.timeout - (now - oldest), self._sweep)


class BodyStream:
    """A request body read as it arrives (the ASGI `receive` channel), for the services whose
    ServiceSpec asks for it (S3: objects stream to disk instead of into memory)."""

    __slots__ = ("_receive", "_watchdog", "_pending", "done", "received", "disconnected", "timed_out")

    def __init__(self, receive, watchdog: ReadWatchdog):
        self._receive = receive
        self._watchdog = watchdog
        self._pending = b""
        self.done = False
        self.received = 0
        self.disconnected = False
        self.timed_out = False  # the client went silent mid-body: the connection must close

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body's chunks, as the client sends them; each byte is yielded once."""
        if self._pending:
            chunk, self._pending = self._pending, b""
            yield chunk
        while not self.done:
            try:
                message = await self._watchdog.receive(self._receive)
            except AwsError:
                self.done = self.timed_out = True
                raise
            if message["type"] == "http.disconnect":
                self.done = self.disconnected = True
                raise ConnectionError("client disconnected")
            chunk = message.get("body", b"")
            self.done = not message.get("more_body", False)
            self.received += len(chunk)
            if chunk:
                yield chunk

    def push_back(self, data: bytes) -> None:
        """Return unread bytes to the front of the stream."""
        self._pending = data + self._pending

    async def read(self, limit: int | None = None) -> bytes:
        """The rest of the body in memory; more than `limit` bytes raises OverflowError."""
        parts, size = [], 0
        async for chunk in self.chunks():
            parts.append(chunk)
            size += len(chunk)
            if limit is not None and size > limit:
                raise OverflowError(size)
        return b"".join(parts)

    async def drain(self) -> None:
        """Read and drop what is left, so the connection can answer and be reused."""
        try:
            async for _ in self.chunks():
                pass
        except ConnectionError:
            pass


_UUID_CLEAR = ~((0xF << 76) | (0x3 << 62))  # the version nibble and the variant's two top bits
_UUID_SET = (0x4 << 76) | (0x2 << 62)  # version 4, variant 10 (RFC 4122)


def random_uuid() -> str:
    """A random (version 4) UUID as text, in str(uuid.uuid4())'s form, without building a UUID
    object on the way: every request gets one (its request id), every SQS message another. The
    bits come from `random` (no system call, unlike os.urandom, a tenth of a GetItem's time in
    process): these ids must be unique, not secret (nothing is authorised by knowing one)."""
    x = f"{getrandbits(128) & _UUID_CLEAR | _UUID_SET:032x}"
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


@dataclass(slots=True)
class HttpRequest:
    method: str
    path: str  # percent-decoded path
    raw_path: str  # path as sent, percent-encoded
    query_string: str  # raw query string, without '?'
    headers: dict[str, str]  # lower-cased names; repeated headers joined with ","
    body: bytes
    scheme: str = "http"
    client: tuple | None = None
    stream: BodyStream | None = None  # set (and body left empty) for services that stream bodies
    # Headers that came more than once, each value apart (lower-cased names): what API Gateway's
    # multiValueHeaders needs, since a joined value cannot be split back safely.
    repeated_headers: dict[str, list[str]] | None = None
    # Set by the front door (overcast.security) when a browser page on an origin overcast does not
    # trust sent this request to S3 ("" when the browser named no origin): S3 decides by the
    # bucket's CORS rules and POST policies whether to serve it.
    cross_site: str | None = None
    # The body was larger than its door takes (doors.MAX_BODY) and was not read (body left empty):
    # the door answers its service's own "too large" error.
    too_large: bool = False
    # The header names as the client spelt them, in order (HTTP/1.1 over httptools; None else):
    # API Gateway passes them on to integrations in that case.
    header_names: list[bytes] | None = None
    # A TLS connection's (version, cipher suite) as OpenSSL names them ("TLSv1.3", ...), over
    # HTTP/1.1 (None else): function URLs pass them on as AWS's front end does
    tls: tuple[str, str] | None = None

    def forwarded(self) -> tuple[str, str, str]:
        """The X-Forwarded-For, -Port and -Proto values AWS's front ends (API Gateway, function
        URLs) give a proxied request: the client's address appended to any For chain the client
        sent (the HTTP server already took a chain sent from a local peer as the client's address:
        that address is not appended twice), the port and the scheme it used."""
        client = self.client[0] if self.client else "127.0.0.1"
        chain = [p.strip() for p in (self.headers.get("x-forwarded-for") or "").split(",") if p.strip()]
        if not chain or chain[-1] != client:
            chain.append(client)
        port = self.host.rpartition(":")[2] if ":" in self.host else ""
        return ", ".join(chain), port if port.isdigit() else ("443" if self.scheme == "https" else "80"), self.scheme

    def header_values(self, name: str) -> list[str]:
        """Every value a header came with, in order (name lower-cased)."""
        if self.repeated_headers and name in self.repeated_headers:
            return self.repeated_headers[name]
        value = self.headers.get(name)
        return [] if value is None else [value]

    @property
    def host(self) -> str:
        return self.headers.get("host", "")


@dataclass(slots=True)
class HttpResponse:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    # A streamed body instead of `body`: an async iterator of bytes chunks. The headers must then
    # carry the content-length (or the body is sent chunked).
    stream: AsyncIterator[bytes] | None = None


@dataclass(slots=True)
class RequestContext:
    account: str
    region: str
    service: str  # botocore model name, e.g. "sqs"
    request: HttpRequest
    operation: str = ""
    protocol: str = ""
    access_key: str = ""
    principal: str = ""  # ARN of the user or role session of keys overcast issued; else the account's root
    request_id: str = field(default_factory=random_uuid)
    signed: object | None = None  # overcast.aws.signing.Signed, when signatures are verified
    # "cloudformation" when CloudFormation's engine makes the call for a stack (it may set the
    # reserved aws:cloudformation:* tags, which services refuse from anyone else)
    caller: str = ""

    @property
    def endpoint(self) -> str:
        """The base URL the client used, e.g. http://localhost:4566 — used to build queue URLs."""
        return f"{self.request.scheme}://{self.request.host or 'localhost:4566'}"
