"""WebSocket APIs: live connections (ASGI websocket scopes), route selection, the $connect /
$disconnect / $default / custom routes, route responses, and what the @connections management
API does to a connection (post, get, delete).

A connection is an object in memory holding the ASGI `send` of its socket; its record (ids,
times, identity) is a row in the database while it is open. Timers, not polling, end idle
connections (10 minutes on AWS) and old ones (2 hours): each connection has one timer handle,
re-armed for the remaining time when it fires early.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import uuid
from urllib.parse import parse_qsl

import orjson

from overcast import tracing
from overcast.engine import access_logs
from overcast.services.apigatewayv2 import authorizers
from overcast.services.apigatewayv2.deployed import Deployed, lookup
from overcast.services.apigatewayv2.ids import connection_id
from overcast.services.apigatewayv2.integrations import (
    IntegrationFailure,
    body_path,
    evaluate,
    invoke_lambda,
    service_integration,
    stage_uri,
)
from overcast.services.apigatewayv2.serving import request_time

log = logging.getLogger("overcast.apigatewayv2")

MAX_MESSAGE = 128 * 1024  # AWS: message payload size 128 KB


class _RefusedHandshakeFilter(logging.Filter):
    """uvicorn logs an error when an app refuses a handshake with an HTTP answer (the ASGI
    websocket.http.response extension), which is how a refused $connect is answered."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing handshake" not in record.getMessage()


logging.getLogger("uvicorn.error").addFilter(_RefusedHandshakeFilter())


def _request_id() -> str:
    return base64.b64encode(uuid.uuid4().bytes[:6]).decode().rstrip("=") + "="


class Connection:
    __slots__ = ("id", "deployed", "send", "connected_at", "last_active", "source_ip", "user_agent", "headers",
                 "query", "authorizer", "closed", "timer", "domain", "tasks", "close_code", "close_reason", "version",
                 "accepted")

    def __init__(self, connection_id, deployed: Deployed, send, source_ip, user_agent, headers, query, domain):
        self.id = connection_id
        self.deployed = deployed
        self.send = send
        self.connected_at = time.time()
        self.last_active = self.connected_at
        self.source_ip = source_ip
        self.user_agent = user_agent
        self.headers = headers
        self.query = query
        self.authorizer = None
        self.closed = False
        self.timer: asyncio.TimerHandle | None = None
        self.domain = domain
        self.tasks: set = set()
        self.close_code: int | None = None
        self.close_reason = ""
        self.version = -1  # the API's change counter when `deployed` was looked up
        # set once the handshake's answer is sent: a PostToConnection made the moment $connect
        # answered (a stream's push racing the handshake) waits for it instead of finding no socket
        self.accepted = asyncio.Event()


class ConnectionManager:
    def __init__(self, provider):
        self.provider = provider
        self.providers = provider.providers
        self.store = provider.store
        self.connections: dict[str, Connection] = {}
        config = provider.config
        self.idle_seconds = float(getattr(config, "websocket_idle_seconds", 600))
        self.max_seconds = float(getattr(config, "websocket_max_seconds", 7200))

    # -- handshake -----------------------------------------------------------------------------

    async def handle(self, scope, receive, send, api_id: str, path: str, domain: str) -> None:
        """An ASGI websocket scope for an API's endpoint; `path` is "/{stage}..."."""
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        stage_name = path.lstrip("/").split("/", 1)[0]
        if ".execute-api." not in domain:  # the path form: events name the API's own host
            domain = f"{api_id}.{self.provider.endpoint_host()}"
        status, api, deployed, _ = lookup(self.provider, api_id, stage_name or "-", path)
        if status == "api" or (api is not None and api["ProtocolType"] != "WEBSOCKET"):
            await _refuse(scope, send, 404, {"message": "Not Found"} if status == "api" else {"message": "Forbidden"})
            return
        if deployed is None:
            await _refuse(scope, send, 403, {"message": "Forbidden"})
            return
        headers: dict[str, str] = {}
        multi: dict[str, list[str]] = {}
        for name, value in scope["headers"]:
            key, text = name.decode("latin-1"), value.decode("latin-1")
            canonical = "-".join(p.capitalize() for p in key.split("-"))
            headers[canonical] = f"{headers[canonical]},{text}" if canonical in headers else text
            multi.setdefault(canonical, []).append(text)
        query_pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        client = scope.get("client") or ("127.0.0.1", 0)
        lower_headers = {k.lower(): v for k, v in headers.items()}
        conn = Connection(connection_id(), deployed, send, client[0], lower_headers.get("user-agent"), headers,
                          query_pairs, domain)
        conn.version = self.provider.version(api_id)
        route = deployed.routes.get("$connect")
        subprotocol = None
        with tracing.hop("apigatewayv2", "Connect", resource=_route_arn(deployed, "$connect"), account=deployed.account,
                         region=deployed.region, parent=lower_headers.get("x-amzn-trace-id"),
                         attributes={"connectionId": conn.id}) as span:
            if route is not None:
                source = self._source(conn, None, lower_headers)
                try:
                    conn.authorizer = await self._authorize_connect(conn, route, source, multi)
                except authorizers.Denied as denied:
                    span.fail(f"Denied: {denied.status} {denied.message}")
                    self._access_log(conn, self._event(conn, "$connect", "CONNECT", None, False, _request_id()),
                                     denied.status, denied.message)
                    await _refuse(scope, send, denied.status, {"message": denied.message})
                    return
                event = self._event(conn, "$connect", "CONNECT", None, False, _request_id())
                event["headers"] = headers
                event["multiValueHeaders"] = multi
                if query_pairs:
                    event["queryStringParameters"] = {k: v for k, v in query_pairs}
                    grouped: dict[str, list[str]] = {}
                    for k, v in query_pairs:
                        grouped.setdefault(k, []).append(v)
                    event["multiValueQueryStringParameters"] = grouped
                called = time.time()
                try:
                    status, body, response_headers = await self._integrate(conn, route, event, None, source)
                    self._access_log(conn, event, status, integration=(status, called))
                except IntegrationFailure:
                    status, body, response_headers = 500, orjson.dumps({"message": "Internal server error"}), {}
                    self._access_log(conn, event, 500, "Internal server error", (None, called))
                if status < 200 or status >= 300:
                    span.fail(f"$connect answered {status}")
                    await _refuse(scope, send, status, body)
                    return
                subprotocol = {k.lower(): v for k, v in (response_headers or {}).items()}.get("sec-websocket-protocol")
            else:  # (no $connect route: the connection is accepted, and logged so)
                self._access_log(conn, self._event(conn, "$connect", "CONNECT", None, False, _request_id()), 200)
        # a subprotocol is selected only when $connect answered with one, as on AWS
        accept = {"type": "websocket.accept"}
        if subprotocol:
            accept["subprotocol"] = subprotocol
        # the record first: GetConnection and the database know the connection once the client does
        self.store.add_connection(conn.id, deployed.account, deployed.region, deployed.api_id, deployed.stage_name,
                                  conn.connected_at, conn.source_ip, conn.user_agent, self.providers.coordination.node_id)
        # and the management API: once $connect has answered, AWS considers the connection open
        self.connections[conn.id] = conn
        try:
            await send(accept)
            conn.accepted.set()
            conn.last_active = time.time()  # idle from the moment the connection is open
            self._arm(conn)
            await self._receive_loop(conn, receive)
        finally:
            await self._closed(conn)
            conn.accepted.set()  # (a post waiting on a handshake that failed finds the connection closed)

    async def _authorize_connect(self, conn: Connection, route: dict, source: dict, multi: dict):
        kind = route.get("AuthorizationType") or "NONE"
        if kind == "NONE":
            return None
        if kind == "AWS_IAM":
            if "authorization" not in source["headers"] and "X-Amz-Credential" not in "".join(k for k, _ in conn.query):
                raise authorizers.Denied(403, "Forbidden")
            return None
        deployed = conn.deployed
        authorizer = deployed.authorizers.get(route.get("AuthorizerId") or "")
        if authorizer is None:
            raise authorizers.Denied(500, "Internal server error")
        method_arn = f"arn:aws:execute-api:{deployed.region}:{deployed.account}:{deployed.api_id}/{deployed.stage_name}/$connect"
        event = self._event(conn, "$connect", "CONNECT", None, False, _request_id())
        event.pop("body", None)
        event.pop("isBase64Encoded", None)
        event = {"type": "REQUEST", "methodArn": method_arn, "headers": conn.headers, "multiValueHeaders": multi,
                 "queryStringParameters": dict(conn.query), "stageVariables": deployed.stage.get("StageVariables") or {},
                 **event}
        result = await authorizers.check_request(self.providers, deployed, authorizer, event, source, method_arn)
        return result

    # -- messages ------------------------------------------------------------------------------

    async def _receive_loop(self, conn: Connection, receive) -> None:
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "websocket.disconnect":
                if conn.close_code is None:
                    code = message.get("code") or 1005
                    conn.close_code = code
                    reason = message.get("reason") or ""
                    conn.close_reason = reason or ("Client-side close frame status not set" if code == 1005 else "")
                return
            if kind != "websocket.receive":
                continue
            text = message.get("text")
            data = message.get("bytes")
            size = len(text.encode()) if text is not None else len(data or b"")
            conn.last_active = time.time()
            if size > MAX_MESSAGE:
                await self.close(conn, 1009, "Message too big", "Message too big")
                continue
            task = asyncio.get_running_loop().create_task(self._message(conn, text, data))
            conn.tasks.add(task)
            task.add_done_callback(conn.tasks.discard)

    def _refresh(self, conn: Connection) -> Deployed:
        """The stage's current definition (routes changed or redeployed since the connection
        opened apply to its next message); the old one when the stage is gone."""
        version = self.provider.version(conn.deployed.api_id)
        if version != conn.version:
            status, _, deployed, _ = lookup(self.provider, conn.deployed.api_id, conn.deployed.stage_name, "/")
            if deployed is not None:
                conn.deployed = deployed
            conn.version = version
        return conn.deployed

    async def _message(self, conn: Connection, text: str | None, data: bytes | None) -> None:
        """A message from the client: a new trace, the span ApiGatewayV2.Message."""
        deployed = conn.deployed
        with tracing.hop("apigatewayv2", "Message", resource=_route_arn(deployed, "message"), account=deployed.account,
                         region=deployed.region, parent=None, request=text if text is not None else data,
                         attributes={"connectionId": conn.id}):
            await self._route_message(conn, text, data)

    async def _route_message(self, conn: Connection, text: str | None, data: bytes | None) -> None:
        deployed = self._refresh(conn)
        request_id = _request_id()
        is_binary = text is None
        body_text = text if text is not None else base64.b64encode(data or b"").decode()
        route_key = self._select_route(deployed, text if text is not None else None)
        route = deployed.routes.get(route_key) if route_key else None
        if route is None:
            route = deployed.routes.get("$default")
            route_key = "$default"
        if route is None:
            self._access_log(conn, self._event(conn, route_key, "MESSAGE", None, False, request_id), 403, "Forbidden")
            await self._send_json(conn, {"message": "Forbidden", "connectionId": conn.id, "requestId": request_id})
            return
        if deployed.throttled(route_key):
            self._access_log(conn, self._event(conn, route_key, "MESSAGE", None, False, request_id), 429,
                             "Too Many Requests")
            await self._send_json(conn, {"message": "Too Many Requests", "connectionId": conn.id, "requestId": request_id})
            return
        span = tracing.current()
        if span is not None:
            span.set("routeKey", route_key)
        event = self._event(conn, route_key, "MESSAGE", body_text, is_binary, request_id)
        source = self._source(conn, text, {k.lower(): v for k, v in conn.headers.items()})
        called = time.time()
        try:
            status, body, _ = await self._integrate(conn, route, event, text if text is not None else data, source)
        except IntegrationFailure:
            self._access_log(conn, event, 500, "Internal server error", (None, called))
            await self._send_json(conn, {"message": "Internal server error", "connectionId": conn.id,
                                         "requestId": request_id})
            return
        self._access_log(conn, event, 200, integration=(status, called))
        if not route.get("RouteResponseSelectionExpression") or conn.closed:
            return
        if body is None or body == b"":
            return
        try:
            await conn.send({"type": "websocket.send", "text": body.decode("utf-8")})
        except UnicodeDecodeError:
            await conn.send({"type": "websocket.send", "bytes": body})
        except Exception:
            pass

    @staticmethod
    def _select_route(deployed: Deployed, text: str | None) -> str | None:
        expression = deployed.api.get("RouteSelectionExpression") or "$request.body.action"
        if "$request.body" not in expression:
            return expression if expression in deployed.routes else None
        if text is None:
            return None
        try:
            body = orjson.loads(text)
        except orjson.JSONDecodeError:
            return None

        def one(expr: str):
            if expr.startswith("$request.body"):
                value = body_path(body, expr[len("$request.body"):].split("."))
                return None if value is None or isinstance(value, dict | list) else (
                    value if isinstance(value, str) else orjson.dumps(value).decode())
            return expr

        if "${" in expression:
            import re

            parts = []
            for piece in re.split(r"(\$\{[^}]+\})", expression):
                if piece.startswith("${"):
                    value = one("$" + piece[2:-1])
                    if value is None:
                        return None
                    parts.append(value)
                else:
                    parts.append(piece)
            return "".join(parts)
        return one(expression)

    def _source(self, conn: Connection, body, lower_headers: dict) -> dict:
        return {"headers": lower_headers, "query": dict(conn.query), "path_params": {}, "path": "",
                "body": body, "context": {"connectionId": conn.id, "domainName": conn.domain,
                                          "stage": conn.deployed.stage_name, "apiId": conn.deployed.api_id,
                                          "authorizer": conn.authorizer or {}},
                "stage_variables": conn.deployed.stage.get("StageVariables") or {}}

    def _event(self, conn: Connection, route_key: str, event_type: str, body: str | None, is_binary: bool,
               request_id: str) -> dict:
        deployed = conn.deployed
        now = time.time()
        context = {
            "routeKey": route_key,
            "eventType": event_type,
            "extendedRequestId": request_id,
            "requestTime": request_time(now),
            "messageDirection": "IN",
            "stage": deployed.stage_name,
            "connectedAt": int(conn.connected_at * 1000),
            "requestTimeEpoch": int(now * 1000),
            "identity": {"sourceIp": conn.source_ip, **({"userAgent": conn.user_agent} if conn.user_agent else {})},
            "requestId": request_id,
            "domainName": conn.domain,
            "connectionId": conn.id,
            "apiId": deployed.api_id,
        }
        if event_type == "MESSAGE":
            context["messageId"] = _request_id()
        if conn.authorizer:
            context["authorizer"] = {k: v for k, v in conn.authorizer.items()} if "lambda" not in conn.authorizer else (
                conn.authorizer["lambda"])
        event: dict = {"requestContext": context}
        if body is not None:
            event["body"] = body
        event["isBase64Encoded"] = is_binary
        if deployed.stage.get("StageVariables"):
            event["stageVariables"] = deployed.stage["StageVariables"]
        return event

    async def _integrate(self, conn: Connection, route: dict, event: dict, raw_body, source: dict):
        """(status, body bytes or None, response headers), as the span ApiGatewayV2.Integration."""
        deployed = conn.deployed
        integration = deployed.integration_for(route) or {}
        with tracing.hop("apigatewayv2", "Integration", resource=integration.get("IntegrationUri"),
                         account=deployed.account, region=deployed.region,
                         attributes={"integrationType": integration.get("IntegrationType") or "",
                                     "routeKey": route.get("RouteKey") or ""}) as span:
            status, body, headers = await self._integration(conn, route, event, raw_body, source)
            span.set("httpStatus", status)
            span.set_response(body)
            return status, body, headers

    async def _integration(self, conn: Connection, route: dict, event: dict, raw_body, source: dict):
        deployed = conn.deployed
        integration = deployed.integration_for(route)
        if integration is None:
            raise IntegrationFailure("route has no integration")
        kind = integration.get("IntegrationType")
        if integration.get("IntegrationSubtype"):
            status, body = await service_integration(self.providers, deployed.account, deployed.region, integration, source)
            return status, body, {}
        if kind == "AWS_PROXY":
            payload = await invoke_lambda(self.providers, deployed.account, deployed.region,
                                          stage_uri(integration["IntegrationUri"], source["stage_variables"]), event)
            try:
                value = orjson.loads(payload)
            except orjson.JSONDecodeError:
                return 200, payload, {}
            if isinstance(value, dict) and "statusCode" in value:
                try:
                    status = int(value["statusCode"])
                except (TypeError, ValueError):
                    raise IntegrationFailure("bad statusCode") from None
                body = value.get("body")
                if body is None:
                    data = None
                elif isinstance(body, str):
                    data = base64.b64decode(body) if value.get("isBase64Encoded") else body.encode()
                else:
                    data = orjson.dumps(body)
                return status, data, value.get("headers") or {}
            if value is None:
                return 200, None, {}
            return 200, payload, {}
        if kind == "MOCK":
            templates = integration.get("RequestTemplates") or {}
            template = templates.get("application/json") or next(iter(templates.values()), None)
            status = 200
            if template:
                rendered = evaluate(template, source) if "${" in template else template
                try:
                    parsed = orjson.loads(rendered)
                    if isinstance(parsed, dict) and "statusCode" in parsed:
                        status = int(parsed["statusCode"])
                except (orjson.JSONDecodeError, TypeError, ValueError):
                    pass
            responses = integration.get("_responses") or []
            body = None
            for response in responses:
                rtemplates = response.get("ResponseTemplates") or {}
                if rtemplates:
                    text = rtemplates.get("application/json") or next(iter(rtemplates.values()))
                    body = (evaluate(text, source) if "${" in text else text).encode()
                    break
            return status, body, {}
        if kind in ("HTTP_PROXY", "HTTP"):
            from overcast.engine import http as http_client

            data = raw_body if isinstance(raw_body, bytes) else (raw_body or "").encode()
            try:
                status, headers, body = await http_client.request(
                    integration.get("IntegrationMethod") or "POST",
                    stage_uri(integration["IntegrationUri"], source["stage_variables"]), data,
                    {"content-type": "application/json"}, timeout=(integration.get("TimeoutInMillis") or 29000) / 1000)
            except http_client.HttpError as e:
                raise IntegrationFailure(str(e)) from None
            return status, body, headers
        raise IntegrationFailure(f"integration type {kind} is not supported for WebSocket APIs")

    async def _send_json(self, conn: Connection, value: dict) -> None:
        if conn.closed:
            return
        try:
            await conn.send({"type": "websocket.send", "text": orjson.dumps(value).decode()})
        except Exception:
            pass

    # -- timers and closing --------------------------------------------------------------------

    def _arm(self, conn: Connection) -> None:
        now = time.time()
        deadline = min(conn.last_active + self.idle_seconds, conn.connected_at + self.max_seconds)
        conn.timer = asyncio.get_running_loop().call_later(max(0.0, deadline - now) + 0.001, self._expire, conn)

    def _expire(self, conn: Connection) -> None:
        if conn.closed:
            return
        now = time.time()
        if now >= conn.connected_at + self.max_seconds or now >= conn.last_active + self.idle_seconds:
            task = asyncio.get_running_loop().create_task(self.close(conn, 1001, "Going away", "Going away"))
            conn.tasks.add(task)
            task.add_done_callback(conn.tasks.discard)
        else:
            self._arm(conn)

    async def close(self, conn: Connection, code: int, reason: str, disconnect_reason: str | None = None) -> None:
        """Close the socket from the server side; $disconnect follows when the loop ends."""
        if conn.close_code is None:
            conn.close_code = code
            conn.close_reason = disconnect_reason if disconnect_reason is not None else reason
        try:
            await conn.send({"type": "websocket.close", "code": code, "reason": reason})
        except Exception:
            pass

    async def _closed(self, conn: Connection) -> None:
        if conn.closed:
            return
        conn.closed = True
        if conn.timer is not None:
            conn.timer.cancel()
        self.connections.pop(conn.id, None)
        try:
            self.store.remove_connection(conn.id)
        except Exception:
            log.exception("removing connection %s", conn.id)
        route = self._refresh(conn).routes.get("$disconnect")
        event = self._event(conn, "$disconnect", "DISCONNECT", None, False, _request_id())
        if route is None:
            self._access_log(conn, event, 200)
            return
        event["requestContext"]["disconnectStatusCode"] = conn.close_code if conn.close_code is not None else 1005
        event["requestContext"]["disconnectReason"] = conn.close_reason or ""
        event["headers"] = {"Host": conn.headers.get("Host", conn.domain), "x-api-key": "",
                            "X-Forwarded-For": "", "x-restapi": ""}
        event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
        deployed = conn.deployed
        with tracing.hop("apigatewayv2", "Disconnect", resource=_route_arn(deployed, "$disconnect"),
                         account=deployed.account, region=deployed.region, parent=None,
                         attributes={"connectionId": conn.id, "closeCode": conn.close_code or 1005}) as span:
            called = time.time()
            try:
                status, _, _ = await self._integrate(conn, route, event, None, self._source(conn, None, {}))
                self._access_log(conn, event, 200, integration=(status, called))
            except IntegrationFailure as e:
                span.fail(f"IntegrationFailure: {e}")
                self._access_log(conn, event, 500, "Internal server error", (None, called))
            except Exception:
                log.exception("$disconnect of %s", conn.id)

    def _access_log(self, conn: Connection, event: dict, status: int, error: str | None = None,
                    integration: tuple | None = None) -> None:
        """The event's line in the stage's access log (when it has one): the event's requestContext,
        the status API Gateway answered, and the integration's status and latency."""
        deployed = conn.deployed
        settings = deployed.stage.get("AccessLogSettings") or {}
        if not (settings.get("DestinationArn") and settings.get("Format")):
            return
        variables = dict(event["requestContext"])
        variables["status"] = status
        if error:
            variables["error"] = {"message": error}
        if integration is not None:
            integration_status, called = integration
            latency = int((time.time() - called) * 1000)
            variables.update(integrationStatus=integration_status, integrationLatency=latency,
                             integration={"status": integration_status, "latency": latency})
        access_logs.deliver(self.providers, settings["DestinationArn"], access_logs.render(settings["Format"], variables),
                            deployed.api_id, deployed.stage_name)

    # -- the management API --------------------------------------------------------------------

    def get(self, connection_id: str) -> Connection | None:
        conn = self.connections.get(connection_id)
        return None if conn is None or conn.closed else conn

    async def post(self, conn: Connection, data: bytes) -> None:
        """PostToConnection's frame, sent as the span ApiGatewayV2.Send (a child of the call)."""
        deployed = conn.deployed
        await conn.accepted.wait()
        if conn.closed:
            raise ConnectionError("the connection closed")
        with tracing.hop("apigatewayv2", "Send", resource=_connection_arn(deployed, conn.id), account=deployed.account,
                         region=deployed.region, request=data, attributes={"connectionId": conn.id}):
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                await conn.send({"type": "websocket.send", "bytes": data})
                return
            await conn.send({"type": "websocket.send", "text": text})

    async def delete(self, conn: Connection) -> None:
        await conn.accepted.wait()
        await self.close(conn, 1000, "", "")

    def elsewhere(self, connection_id: str) -> tuple[str, str] | None:
        """(api id, address of the node) of a connection open on another node of a cluster."""
        coordination = self.providers.coordination
        if not coordination.cluster:
            return None
        found = self.store.connection_node(connection_id)
        if found is None or found[1] == coordination.node_id:
            return None
        address = coordination.node_address(found[1])
        return (found[0], address) if address else None  # (a dead node's sockets died with it)

    def describe(self, conn: Connection) -> dict:
        return {"connected_at": conn.connected_at, "last_active": conn.last_active, "source_ip": conn.source_ip,
                "user_agent": conn.user_agent, "api_id": conn.deployed.api_id}

    def api_deleted(self, api_id: str) -> None:
        for conn in list(self.connections.values()):
            if conn.deployed.api_id == api_id:
                task = asyncio.get_running_loop().create_task(self.close(conn, 1001, "Going away"))
                conn.tasks.add(task)
                task.add_done_callback(conn.tasks.discard)

    async def close_all(self) -> None:
        for conn in list(self.connections.values()):
            await self.close(conn, 1001, "Going away")

    def drop_all(self) -> None:
        for conn in list(self.connections.values()):
            try:
                asyncio.get_running_loop().create_task(self.close(conn, 1001, "Going away"))
            except RuntimeError:
                pass


def _route_arn(deployed: Deployed, route: str) -> str:
    return f"arn:aws:execute-api:{deployed.region}:{deployed.account}:{deployed.api_id}/{deployed.stage_name}/{route}"


def _connection_arn(deployed: Deployed, connection_id: str) -> str:
    return (f"arn:aws:execute-api:{deployed.region}:{deployed.account}:{deployed.api_id}/{deployed.stage_name}"
            f"/POST/@connections/{connection_id}")


async def _refuse(scope, send, status: int, body) -> None:
    """Refuse the handshake with an HTTP answer (the ASGI websocket.http.response extension), or
    a plain close (uvicorn answers 403) when the server does not offer it."""
    data = body if isinstance(body, bytes) else (orjson.dumps(body) if body is not None else b"")
    from http import HTTPStatus

    if status < 300 or status > 599 or status not in HTTPStatus._value2member_map_:
        status = 500  # what a handshake can answer: a known error status
    if "websocket.http.response" in (scope.get("extensions") or {}):
        await send({"type": "websocket.http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
        await send({"type": "websocket.http.response.body", "body": data})
    else:
        await send({"type": "websocket.close", "code": 1008})


async def asgi_handler(providers, scope, receive, send, matched) -> None:
    """overcast.websocket's entry for execute-api hosts and paths."""
    api_id, path, domain = matched
    provider = await providers.get("apigatewayv2")
    await provider.websockets.handle(scope, receive, send, api_id, path, domain)
