"""HTTP/2 on overcast's one port: an ASGI driver over the `h2` protocol library.

The AWS SDK for JavaScript v3 speaks HTTP/2 to Kinesis (with prior knowledge over `http://`, by
ALPN over `https://`), and SubscribeToShard's event stream needs it. overcast.connections sees the
HTTP/2 connection preface on a new connection and hands the connection to `H2Protocol`; HTTP/1.1
stays on uvicorn's httptools protocol. Each stream becomes one ASGI `http` request to the same app
uvicorn calls, so every door and service answers HTTP/2 exactly as it answers HTTP/1.1.

Flow control both ways: a request body's window is given back as the app reads it (a client cannot
make the server buffer more than a window per stream), and a response waits for the client's
window and for the socket to drain. A connection with no open stream for `idle_timeout` seconds
gets GOAWAY and is closed, as an idle HTTP/1.1 connection is.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from collections import deque

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
from uvicorn.protocols.utils import get_local_addr, get_remote_addr, is_ssl

log = logging.getLogger("overcast")

MAX_CONCURRENT_STREAMS = 128
# Headers HTTP/2 forbids in a message (RFC 9113 8.2.2): the app's HTTP/1.1 framing hints are dropped.
_CONNECTION_HEADERS = frozenset((b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade"))


class _Stream:
    """One request/response exchange on the connection."""

    __slots__ = ("id", "chunks", "complete", "body_read", "gone", "wake", "status", "headers", "headers_sent", "ended",
                 "task")

    def __init__(self, stream_id: int):
        self.id = stream_id
        self.chunks: deque[tuple[bytes, int]] = deque()  # body data not yet read, with its flow-controlled size
        self.complete = False  # the client ended its side (all of the body is in `chunks`)
        self.body_read = False  # the app has been told the body ended
        self.gone = False  # reset by the client, or the connection is lost
        self.wake = asyncio.Event()  # set when body data arrives, the body ends or the stream goes
        self.status = 200
        self.headers: list[tuple[bytes, bytes]] = []
        self.headers_sent = False
        self.ended = False  # the response is complete
        self.task: asyncio.Task | None = None


class H2Protocol(asyncio.Protocol):
    """One HTTP/2 connection (after the preface was seen), serving the ASGI app uvicorn loaded."""

    def __init__(self, config, server_state, app_state, *, idle_timeout: float, max_header_bytes: int):
        self.app = config.loaded_app
        self.root_path = config.root_path
        self.connections = server_state.connections
        self.tasks = server_state.tasks
        self.app_state = app_state
        self.idle_timeout = idle_timeout
        self.loop = asyncio.get_event_loop()
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding=None))
        self.conn.local_settings = h2.settings.Settings(client=False, initial_values={
            h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: MAX_CONCURRENT_STREAMS,
            h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: max_header_bytes,
        })
        self.streams: dict[int, _Stream] = {}
        self.window_open = asyncio.Event()  # pulsed when the client grants more window
        self.writable = asyncio.Event()  # cleared while the transport's buffer is full
        self.writable.set()
        self.closing = False
        self.transport = None
        self._idle: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.connections.add(self)
        self.server = get_local_addr(transport)
        self.client = get_remote_addr(transport)
        self.scheme = "https" if is_ssl(transport) else "http"
        self.conn.initiate_connection()
        self._flush()
        self._idle_check()

    def data_received(self, data: bytes) -> None:
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError:  # h2 has queued the GOAWAY that says why
            self._flush()
            self.transport.close()
            return
        for event in events:
            if isinstance(event, h2.events.RequestReceived):
                self._request(event)
            elif isinstance(event, h2.events.DataReceived):
                stream = self.streams.get(event.stream_id)
                if stream is None or stream.gone:  # nobody will read it: give the window back now
                    self._acknowledge(event.flow_controlled_length, event.stream_id)
                else:
                    stream.chunks.append((event.data, event.flow_controlled_length))
                    stream.wake.set()
            elif isinstance(event, h2.events.StreamEnded):
                stream = self.streams.get(event.stream_id)
                if stream is not None:
                    stream.complete = True
                    stream.wake.set()
            elif isinstance(event, h2.events.StreamReset):
                self._gone(self.streams.get(event.stream_id))
            elif isinstance(event, (h2.events.WindowUpdated, h2.events.RemoteSettingsChanged)):
                self.window_open.set()
            elif isinstance(event, h2.events.ConnectionTerminated):
                # the client's GOAWAY: with NO_ERROR it opens no more streams but the open ones
                # go on (the SDK for JavaScript says it while a SubscribeToShard is streaming)
                self.closing = True
                if event.error_code != h2.errors.ErrorCodes.NO_ERROR or not self.streams:
                    self._flush()
                    self.transport.close()
                    return
                # h2 marks the whole connection closed on any GOAWAY and would refuse to send
                # the rest of the open streams' answers, which RFC 9113 6.8 allows: reopen it
                # (new streams are refused above while `closing`)
                self.conn.state_machine.state = h2.connection.ConnectionState.SERVER_OPEN
        self._flush()

    def connection_lost(self, exc) -> None:
        self.connections.discard(self)
        if self._idle is not None:
            self._idle.cancel()
        self.closing = True
        for stream in list(self.streams.values()):
            self._gone(stream)
        self.window_open.set()
        self.writable.set()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def shutdown(self) -> None:
        """uvicorn's graceful shutdown: no new streams; GOAWAY and close once the open ones are
        answered (h2 sends nothing more after a GOAWAY, so it waits for them)."""
        self.closing = True
        if not self.streams:
            self._goaway()

    # -- streams ----------------------------------------------------------------------------

    def _request(self, event: h2.events.RequestReceived) -> None:
        if self.closing:
            self.conn.reset_stream(event.stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)
            return
        method = target = authority = b""
        headers: list[tuple[bytes, bytes]] = []
        cookies: list[bytes] = []
        has_host = False
        for name, value in event.headers:
            if name[:1] == b":":
                if name == b":method":
                    method = value
                elif name == b":path":
                    target = value
                elif name == b":authority":
                    authority = value
            elif name == b"cookie":  # HTTP/2 may split cookies; an HTTP/1.1 app expects one header
                cookies.append(value)
            else:
                has_host = has_host or name == b"host"
                headers.append((name, value))
        if authority and not has_host:
            headers.insert(0, (b"host", authority))
        if cookies:
            headers.append((b"cookie", b"; ".join(cookies)))
        raw_path, _, query = target.partition(b"?")
        path = raw_path.decode("ascii", "replace")
        if "%" in path:
            path = urllib.parse.unquote(path)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "2",
            "server": self.server,
            "client": self.client,
            "scheme": self.scheme,
            "method": method.decode("ascii", "replace"),
            "root_path": self.root_path,
            "path": self.root_path + path,
            "raw_path": self.root_path.encode("ascii") + raw_path,
            "query_string": query,
            "headers": headers,
            "state": self.app_state.copy(),
        }
        stream = _Stream(event.stream_id)
        if event.stream_ended is not None:
            stream.complete = True
        self.streams[event.stream_id] = stream
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        stream.task = task = self.loop.create_task(self._run(stream, scope))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(self, stream: _Stream, scope: dict) -> None:
        try:
            await self.app(scope, lambda: self._receive(stream), lambda message: self._send(stream, message))
        except Exception:
            log.exception("the app failed on an HTTP/2 request")
            self._fail(stream)
        else:
            self._fail(stream)  # when the app returned without finishing its answer
        finally:
            self._done(stream)

    async def _receive(self, stream: _Stream) -> dict:
        while True:
            if stream.chunks:
                data, size = stream.chunks.popleft()
                self._acknowledge(size, stream.id)
                self._flush()
                stream.body_read = not stream.chunks and stream.complete
                return {"type": "http.request", "body": data, "more_body": not stream.body_read}
            if stream.complete and not stream.body_read and not stream.gone:
                stream.body_read = True
                return {"type": "http.request", "body": b"", "more_body": False}
            if stream.gone or stream.ended:
                return {"type": "http.disconnect"}
            stream.wake.clear()
            await stream.wake.wait()

    async def _send(self, stream: _Stream, message: dict) -> None:
        kind = message["type"]
        if stream.gone or stream.ended:
            return  # the client went away: the app's answer has nowhere to go
        if kind == "http.response.start":
            stream.status = message["status"]
            stream.headers = [(name.lower(), value) for name, value in message.get("headers", ())
                              if name.lower() not in _CONNECTION_HEADERS]
            return
        if kind != "http.response.body":
            return
        body = message.get("body", b"")
        more = message.get("more_body", False)
        if not stream.headers_sent:
            stream.headers_sent = True
            try:
                self.conn.send_headers(stream.id, [(b":status", str(stream.status).encode()), *stream.headers],
                                       end_stream=not body and not more)
            except h2.exceptions.ProtocolError:
                self._gone(stream)
                return
            if not body and not more:
                stream.ended = True
            self._flush()
        if body:
            await self._send_data(stream, body, end=not more)
        elif not more and not stream.ended:
            stream.ended = True
            try:
                self.conn.end_stream(stream.id)
            except h2.exceptions.ProtocolError:  # the stream or the connection closed meanwhile
                self._gone(stream)
            self._flush()
        if stream.ended:
            stream.wake.set()  # a receive() waiting for the disconnect returns now

    async def _send_data(self, stream: _Stream, body: bytes, end: bool) -> None:
        view = memoryview(body)
        while True:
            if stream.gone:
                return
            if not self.writable.is_set():
                await self.writable.wait()
                continue
            try:
                window = self.conn.local_flow_control_window(stream.id)
            except h2.exceptions.ProtocolError:  # the stream or the connection closed meanwhile
                self._gone(stream)
                return
            size = min(window, len(view), self.conn.max_outbound_frame_size)
            if size <= 0 and view:
                self.window_open.clear()
                await self.window_open.wait()
                continue
            last = size == len(view)
            try:
                self.conn.send_data(stream.id, bytes(view[:size]), end_stream=end and last)
            except h2.exceptions.ProtocolError:  # the stream or the connection closed meanwhile
                self._gone(stream)
                return
            self._flush()
            view = view[size:]
            if last:
                stream.ended = stream.ended or end
                return

    # -- helpers ----------------------------------------------------------------------------

    def _flush(self) -> None:
        data = self.conn.data_to_send()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def _acknowledge(self, size: int, stream_id: int) -> None:
        if size:
            try:
                self.conn.acknowledge_received_data(size, stream_id)
            except h2.exceptions.ProtocolError:
                pass  # the stream closed meanwhile; its share of the connection window no longer matters

    def _fail(self, stream: _Stream) -> None:
        """An answer the app did not finish: 500 when nothing was sent yet, else the stream is reset."""
        if stream.gone or stream.ended:
            return
        if stream.headers_sent:
            self._reset(stream, h2.errors.ErrorCodes.INTERNAL_ERROR)
            return
        stream.headers_sent = stream.ended = True
        try:
            self.conn.send_headers(stream.id, [(b":status", b"500")], end_stream=True)
        except h2.exceptions.ProtocolError:  # the stream or the connection closed meanwhile
            pass
        self._flush()

    def _reset(self, stream: _Stream, code) -> None:
        try:
            self.conn.reset_stream(stream.id, code)
        except h2.exceptions.ProtocolError:  # the stream or the connection closed meanwhile
            pass
        self._gone(stream)
        self._flush()

    def _gone(self, stream: _Stream | None) -> None:
        if stream is not None:
            stream.gone = True
            stream.wake.set()
            self.window_open.set()

    def _done(self, stream: _Stream) -> None:
        self.streams.pop(stream.id, None)
        stream.chunks.clear()
        if not self.streams:
            if self.closing:
                self._goaway()
            else:
                self._idle_check()

    def _idle_check(self) -> None:
        if self._idle is None and self.idle_timeout > 0:
            self._idle = self.loop.call_later(self.idle_timeout, self._close_idle)

    def _close_idle(self) -> None:
        self._idle = None
        if not self.streams:
            self.closing = True
            self._goaway()

    def _goaway(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        try:
            self.conn.close_connection()
        except h2.exceptions.ProtocolError:
            pass  # the connection had already said GOAWAY
        self._flush()
        self.transport.close()
