"""The ASGI app: one port for everything. Front doors (doors.py) take deployed APIs, GraphQL
endpoints, function URLs and the URLs services hand out; WebSocket upgrades go to overcast.websocket;
overcast's own endpoints live under /_overcast/ (and /_localstack/health for existing
wait-for-ready scripts); every other request is an AWS API call and goes to the gateway."""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import time
from urllib.parse import unquote

import orjson

from overcast import __version__, doors, execute_api, security, tracing
from overcast.aws.context import BodyStream, HttpRequest, HttpResponse, ReadWatchdog
from overcast.aws.dispatch import Gateway, Providers
from overcast.aws.errors import AwsError
from overcast.aws.routing import route, streams_body
from overcast.config import Config
from overcast.services import DEFAULT_MAX_REQUEST_BYTES, SERVICES
from overcast.storage import open_blobs, open_database
from overcast.storage.coordination import CLUSTER_TOKEN_HEADER, ClusterError, open_coordination
from overcast.storage.errors import OutcomeUnknown, StorageUnavailable
from overcast.tracing import endpoints as trace_endpoints

log = logging.getLogger("overcast")
_TOO_LARGE = object()  # _read_body's answer for a body above its limit


class OvercastApp:
    def __init__(self, config: Config):
        self.config = config
        self.providers: Providers | None = None
        self.gateway: Gateway | None = None
        self.started_at = time.time()
        self.read_watchdog = ReadWatchdog(config.request_timeout)
        self.guard = security.BrowserGuard(config)
        self.console = None  # overcast.console.Console, made on the console's first request
        self.xray_daemon = None  # the X-Ray daemon's UDP transport (overcast.services.xray.daemon)
        tracing.configure(config)

    # -- lifecycle ---------------------------------------------------------------------------

    def open(self) -> None:
        _private(self.config.data_dir, self.config.database_path)
        db = open_database(self.config)
        if self.config.postgres:  # shared by nodes of several versions: refuse a newer schema up front
            from overcast.storage.schemas import check_not_newer

            try:
                check_not_newer(db, postgres=True)
            except Exception:
                db.close()
                raise
        blobs = open_blobs(self.config, db)
        self.providers = Providers(self.config, db, blobs, open_coordination(self.config, __version__))
        self.gateway = Gateway(self.providers)

    async def listening(self) -> None:
        """Once the port is bound: a cluster's node tells the others its address; the X-Ray
        daemon's UDP port at the same number (or the one OVERCAST_XRAY_DAEMON_PORT names), where
        functions' X-Ray SDKs send their segments; the export of spans to an OpenTelemetry
        collector, when one is configured (OVERCAST_OTLP_ENDPOINT)."""
        if self.providers is not None:
            await self.providers.coordination.listening()
        if self.config.otlp_endpoint:
            from overcast.tracing import otlp

            otlp.start(self.config)
        setting = self.config.xray_daemon_port.strip().lower()
        if setting and not setting.isdigit() and setting != "off":
            log.warning("OVERCAST_XRAY_DAEMON_PORT=%s is neither a port number nor off: no X-Ray daemon port", setting)
        elif setting != "off" and self.xray_daemon is None:
            from overcast.services.xray import daemon

            port = int(setting) if setting else self.config.port
            self.xray_daemon, address = await daemon.listen(self.providers, self.config.host, port)
            self.config.xray_daemon_address = address or ""

    async def close(self) -> None:
        if self.config.otlp_endpoint:
            from overcast.tracing import otlp

            await asyncio.to_thread(otlp.stop)
        if self.xray_daemon is not None:
            self.xray_daemon.close()
            self.xray_daemon = None
        if self.console is not None:
            self.console.close()
        if self.providers is not None:
            from overcast.engine.startup import cancel_background

            cancel_background()
            await self.providers.coordination.stop()
            await self.providers.stop()
            self.providers.db.close()
            self.providers = None
        from overcast.runtime.spares import SPARES

        SPARES.stop()  # (started at start-up even when no function ever ran)

    # -- ASGI --------------------------------------------------------------------------------

    async def __call__(self, scope, receive, send):
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":  # API Gateway WebSocket APIs (overcast.websocket routes by host/path)
            from overcast import websocket

            host = next((v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"host"), "")
            if not self.guard.serves(host):  # no DNS rebinding: closing before accepting answers 403
                await receive()
                await send({"type": "websocket.close", "code": 1008})
                return
            await websocket.handle(self.providers, scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive, send):
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    if self.providers is None:
                        self.open()
                    from overcast.engine.startup import start_pending

                    await self.providers.coordination.start()  # a cluster's node: join it
                    await start_pending(self.providers)  # deliveries, timers, pollers waiting for no request
                except ClusterError as e:
                    log.error("%s", e)
                    await send({"type": "lifespan.startup.failed", "message": str(e)})
                    return
                except Exception as e:
                    log.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(e)})
                    return
                await send({"type": "lifespan.startup.complete"})
                from overcast.runtime import mounts
                from overcast.runtime.isolation import start_probes
                from overcast.runtime.spares import start_spares

                # as root: find out in the background whether the usual Lambda runtimes can run
                # as a sandbox user, and whether sandboxes can have mounts of their own, rather
                # than on the first invocation's path
                asyncio.get_running_loop().call_soon(start_probes)
                asyncio.get_running_loop().call_soon(mounts.probe_at_start)
                # and a Python runtime started ahead of the first Lambda cold start (runtime/spares.py)
                asyncio.get_running_loop().call_soon(start_spares)
            elif message["type"] == "lifespan.shutdown":
                await self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope, receive, send):
        commits = self.providers.db.commits
        headers: dict[str, str] = {}
        repeated: dict[str, list[str]] | None = None
        names = _HEADER_NAMES
        for name, value in scope["headers"]:
            key = names.get(name)
            if key is None:
                key = name.decode("latin-1").lower()
                if len(names) < 1024:  # the usual names, not every name a client ever sends
                    names[name] = key
            text = value.decode("latin-1")
            if key in headers:
                if repeated is None:
                    repeated = {}
                repeated.setdefault(key, [headers[key]]).append(text)
                headers[key] = f"{headers[key]},{text}"
            else:
                headers[key] = text
        path = scope["path"]
        request = HttpRequest(
            method=scope["method"],
            path=path,
            raw_path=(scope.get("raw_path") or path.encode()).decode("latin-1"),
            query_string=scope["query_string"].decode("latin-1"),
            headers=headers,
            body=b"",
            scheme=scope.get("scheme", "http"),
            client=scope.get("client"),
            repeated_headers=repeated,
            header_names=scope.get("overcast.header_names"),
            tls=scope.get("overcast.tls"),
        )
        door = doors.find(request.host, path)
        served = self.guard.serves(request.host)
        if not served and not _custom_domain(door):  # no DNS rebinding (docs/security.md)
            await _send(send, security.refuse_host(request.host))
            return
        internal = door is None and path.startswith(("/_overcast/", "/_localstack/"))
        origin = security.foreign_origin(request)  # None for SDKs, the CLI and same-origin pages
        if path.startswith("/_overcast/"):  # overcast's own endpoints, and the URLs services hand out
            refused = security.refuse_internal(request, origin)
            if refused is not None:
                await _send(send, refused)
                return
        target = None
        if door is None and not internal and streams_body(request):
            # the service reads the body as it arrives (S3 objects go straight to disk)
            request.stream = BodyStream(receive, self.read_watchdog)
        else:
            if door is not None:
                limit = doors.MAX_BODY.get(door[0], DEFAULT_MAX_REQUEST_BYTES)
            elif internal:
                limit = DEFAULT_MAX_REQUEST_BYTES
            else:
                target = route(request)  # from the headers alone; the gateway reuses it
                limit = SERVICES[target.service].max_request_bytes if target.service else DEFAULT_MAX_REQUEST_BYTES
            body = await self._read_body(request, receive, limit)
            if body is _TOO_LARGE and door is not None and door[0] in doors.MAX_BODY:
                request.too_large = True  # the door answers with its own error (API Gateway's shapes)
            elif not isinstance(body, bytes):  # refused (answered at once) or the client left (None)
                if body is _TOO_LARGE:
                    body = self._too_large(request, door is not None or internal, target, limit)
                if body is not None:
                    await _send(send, body)
                return
            else:
                request.body = body
        response = None
        if door is not None:  # deployed APIs, GraphQL endpoints, function URLs: their own CORS decides
            handler, found = door
            response = await handler(self.providers, request, found)
            if response is None and not served:  # it looked like a custom domain name but is none
                response = security.refuse_host(request.host)
        elif internal and (path.startswith("/_overcast/cluster/") or path.rstrip("/") == "/_overcast/cluster"):
            response = await self._cluster(request)
        elif internal:
            console = path == "/_overcast/console" or path.startswith("/_overcast/console/")
            if trace_endpoints.handles(path):
                response = await trace_endpoints.serve(request)
            else:
                response = await (self._console(request) if console else self._internal(request))
        if response is None:
            allowed = None
            if origin is not None:
                response, allowed = await self._cross_origin(request, origin)
            if response is None:
                response = await self.gateway.handle(request, target, own_task=True)
            if allowed is not None:
                security.allow_origin(response, allowed)
        if request.too_large or (request.stream is not None and request.stream.timed_out):
            response.headers.append(("connection", "close"))  # the rest of the body was not read
        if self.providers.db.unsynced:  # (PostgreSQL) what the request wrote reaches the disk first
            try:
                await self.providers.db.sync()
            except AwsError as e:  # the database went away: the writes may be lost, so no success
                if isinstance(e, OutcomeUnknown) and self.providers.db.commits == commits:
                    e = StorageUnavailable(str(e))  # nothing committed during this request: it wrote nothing
                response = _unsynced(e)
            if self.providers.coordination.invalidating:  # (a cluster) other nodes drop what it changed
                await self.providers.coordination.invalidations_sent()  # first (storage/coordination.py)
        await _send(send, response, receive)

    async def _cross_origin(self, request: HttpRequest, origin: str) -> tuple[HttpResponse | None, str | None]:
        """An AWS API request a browser sent from a page on another origin (docs/security.md):
        (the answer when the front door gives it, the origin to let read the service's answer).
        A trusted origin (this machine's pages, hosts the user allowed) is served like an SDK, and
        its preflights are answered here; S3 decides the others by the bucket's CORS rules and POST
        policies; any other service refuses them."""
        trusted = bool(origin) and self.guard.trusts(origin)
        target = route(request)
        preflight = security.is_preflight(request)
        if target.service == "s3" and (not preflight or await self._bucket_named(request)):
            if not trusted:
                request.cross_site = origin
            return None, None
        if trusted:
            return (security.preflight_answer(request, origin) if preflight else None), origin
        error = AwsError("AccessDenied", "overcast does not serve AWS API requests from a page on another "
                         f"origin ({origin or 'not named'}); see docs/security.md.", 403)
        return self.gateway.refuse(request, target, error), None

    async def _bucket_named(self, request: HttpRequest) -> bool:
        """Whether a preflight is for an existing bucket (its CORS rules answer) rather than for
        another service's URL that merely looks like S3's."""
        from overcast.services.s3.front import S3Front

        bucket, _, _ = S3Front._address(request)
        return bool(bucket) and (await self.providers.get("s3")).store.bucket(bucket) is not None

    async def _read_body(self, request: HttpRequest, receive, limit: int):
        """The whole request body, collected in linear time. Else: _TOO_LARGE above `limit`
        (Content-Length tells before a byte is read; a running count while a chunked body
        arrives), RequestTimeout's answer when the body stalls, None when the client went away."""
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return _TOO_LARGE
        parts: list[bytes] = []
        size = 0
        more = True
        while more:
            try:
                message = await self.read_watchdog.receive(receive)
            except AwsError as timeout:
                return _request_timeout(timeout)
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            more = message.get("more_body", False)
            if not more and not parts:
                return chunk if len(chunk) <= limit else _TOO_LARGE  # the usual case: one message
            size += len(chunk)
            if size > limit:
                return _TOO_LARGE
            parts.append(chunk)
        return b"".join(parts)

    def _too_large(self, request: HttpRequest, plain: bool, target, limit: int) -> HttpResponse:
        """The answer to a body above its limit: in the protocol of its service (plain JSON for
        overcast's own endpoints and doors); the connection closes after it, so the rest of the
        body is never read."""
        if plain:
            response = _json(413, {"message": f"Request must be smaller than {limit} bytes."})
        else:
            response = self.gateway.too_large(request, target, limit)
        response.headers.append(("connection", "close"))
        return response

    # -- overcast's own endpoints ------------------------------------------------------------

    async def _internal(self, request: HttpRequest) -> HttpResponse:
        path, method = request.path.rstrip("/"), request.method
        if path == "/_overcast/tls/ca.pem" and method in ("GET", "HEAD"):
            return await self._tls_authority()
        if path == "/_overcast/health" and method in ("GET", "HEAD"):
            return _json(200, self.health())
        if path == "/_localstack/health" and method in ("GET", "HEAD"):
            return _json(200, self.localstack_health())
        if path == "/_overcast/reset" and method == "POST":
            self.providers.reset()
            tracing.RECORDER.clear()
            return _json(200, {"reset": True})
        return _json(404, {"error": "NotFound", "message": f"No overcast endpoint {method} {request.path}"})

    async def _tls_authority(self) -> HttpResponse:
        """The certificate authority to trust for HTTPS on this port (docs/https.md), made on the
        first request for it or the first TLS connection. A public certificate: no secret in it."""
        from overcast import tls

        path = tls.ca_file(self.config)
        if path is None:
            return _json(404, {"error": "NotFound", "message": "overcast serves the certificate OVERCAST_TLS_CERT "
                               "names; trust the authority that issued it."})
        await asyncio.to_thread(tls.ensure_files, self.config)
        with open(path, "rb") as f:
            return HttpResponse(200, [("content-type", "application/x-pem-file")], f.read())

    async def _cluster(self, request: HttpRequest) -> HttpResponse:
        """Requests between the nodes of a cluster, with the token every node reads from the
        database (storage/coordination.py); anything else is not found."""
        coordination = self.providers.coordination
        if request.path.rstrip("/") == "/_overcast/cluster" and request.method in ("GET", "HEAD"):
            try:  # `overcast status`: nodes, leases, load
                return _json(200, await asyncio.wait_for(coordination.status(), 5))
            except Exception as e:  # the database is out of reach
                return _json(503, {"error": "ServiceUnavailable", "message": f"The cluster's database cannot be "
                                   f"read: {str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}"})
        token = request.headers.get(CLUSTER_TOKEN_HEADER, "")
        if coordination.cluster and token and hmac.compare_digest(token.encode(), coordination.token().encode()):
            prefix = "/_overcast/cluster/connections/"
            if request.path.startswith(prefix) and len(request.path) > len(prefix):
                from overcast.services.apigatewaymanagementapi.provider import handle_cluster

                return await handle_cluster(self.providers, request, unquote(request.path[len(prefix):]))
            parts = request.path.split("/")  # /_overcast/cluster/appsync/{api id}/{field}
            if parts[3:4] == ["appsync"] and len(parts) == 6 and request.method == "POST":
                try:
                    payload = orjson.loads(request.body)
                except orjson.JSONDecodeError:
                    return _json(400, {"error": "BadRequest", "message": "not JSON"})
                appsync = await self.providers.get("appsync")
                await appsync.subscriptions.deliver_from_elsewhere(unquote(parts[4]), unquote(parts[5]), payload)
                return _json(200, {})
        return _json(404, {"error": "NotFound", "message": f"No overcast endpoint {request.method} {request.path}"})

    async def _console(self, request: HttpRequest) -> HttpResponse:
        if self.console is None:
            from overcast.console import Console

            self.console = Console(self)
        return await self.console.handle(request)

    def health(self) -> dict:
        loaded = self.providers.loaded() if self.providers else {}
        return {
            "status": "running",
            "version": __version__,
            "uptime_seconds": round(time.time() - self.started_at, 3),
            "data_dir": self.config.data_dir,
            "database": self.providers.db.url if self.providers else None,
            "ephemeral": self.config.ephemeral,
            "cluster": self.providers.coordination.cluster if self.providers else False,
            "services": {name: ("running" if name in loaded else "available") for name in SERVICES},
        }

    def localstack_health(self) -> dict:
        """LocalStack's /_localstack/health shape, so existing wait-for-ready scripts work."""
        loaded = self.providers.loaded() if self.providers else {}
        return {
            "services": {name: ("running" if name in loaded else "available") for name in SERVICES},
            "edition": "community",
            "version": f"overcast-{__version__}",
        }


def _custom_domain(door) -> bool:
    """A door for a Host that may be a custom domain name (CreateDomainName): it serves the host
    when the name is one; otherwise the host is refused like any other that overcast does not own."""
    return door is not None and door[0] is execute_api.dispatch and door[1][0] == ""


def _private(data_dir: str, database: str) -> None:
    """The data directory is the server's alone (0700; the database files 0600), whoever made it:
    function code must not read other accounts' data (docs/security.md)."""
    os.makedirs(data_dir, mode=0o700, exist_ok=True)
    os.chmod(data_dir, 0o700)
    for path in (database, f"{database}-wal", f"{database}-shm"):
        if os.path.exists(path):
            os.chmod(path, 0o600)


def _request_timeout(error: AwsError) -> HttpResponse:
    """The body never came: AWS's RequestTimeout, and the connection closed (its framing is lost)."""
    return HttpResponse(error.status, [("content-type", "application/json"), ("connection", "close")],
                        orjson.dumps({"__type": error.code, "message": error.message}))


def _unsynced(error: AwsError) -> HttpResponse:
    """An error instead of an answer whose writes could not be confirmed durable: 500
    InternalFailure (OutcomeUnknown: committed, perhaps lost), or 503 for a request that wrote
    nothing (the protocol's own serializer is behind us: the JSON form; SDKs retry either)."""
    return HttpResponse(error.status, [("content-type", "application/json"), ("connection", "close")],
                        orjson.dumps({"__type": error.code, "message": error.message}))


# Header names as the request's dict spells them (text, lower-case), by the bytes that arrive:
# the same dozen names come with every request.
_HEADER_NAMES: dict[bytes, str] = {}


def _json(status: int, payload: dict) -> HttpResponse:
    return HttpResponse(status, [("content-type", "application/json")], orjson.dumps(payload))


async def _send(send, response: HttpResponse, receive=None) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    if response.stream is not None and receive is not None and \
            (("content-type", "application/vnd.amazon.eventstream") in response.headers
             or ("content-type", "text/event-stream") in response.headers):
        response.stream = _until_disconnect(response.stream, receive)
    if response.stream is not None:
        # a streamed body: the headers carry its length (or uvicorn sends it chunked)
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        stream = response.stream
        try:
            async for chunk in stream:
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()
        await send({"type": "http.response.body", "body": b""})
        return
    if response.status != 204 and not any(k.lower() == b"content-length" for k, _ in headers):  # RFC 9110 8.6
        headers.append((b"Content-Length", str(len(response.body)).encode()))  # spelt as AWS
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


async def _until_disconnect(stream, receive):
    """An endless stream (an AWS event stream: Kinesis SubscribeToShard; the trace's server-sent
    events) ends when its client goes away: uvicorn's send() ignores a closed connection, so watch
    receive() for it."""
    gone = asyncio.ensure_future(receive())
    chunks = stream.__aiter__()
    try:
        while True:
            following = asyncio.ensure_future(chunks.__anext__())
            await asyncio.wait({following, gone}, return_when=asyncio.FIRST_COMPLETED)
            if not following.done():
                following.cancel()
                return
            try:
                chunk = following.result()
            except StopAsyncIteration:
                return
            yield chunk
    finally:
        gone.cancel()
        close = getattr(stream, "aclose", None)
        if close is not None:
            try:
                await close()
            except RuntimeError:  # the generator is still finishing its cancelled step
                pass
