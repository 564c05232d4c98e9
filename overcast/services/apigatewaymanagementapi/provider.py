"""The API Gateway management API (@connections): PostToConnection, GetConnection and
DeleteConnection on the live WebSocket connections that apigatewayv2's ConnectionManager holds.

Reached three ways: signed for `execute-api` on overcast's own endpoint (`/@connections/{id}`),
on an API's host (`{apiId}.execute-api.<host>/{stage}/@connections/{id}`, the endpoint AWS's
docs build from requestContext.domainName and stage), and on the path form
(`/_aws/execute-api/{apiId}/{stage}/@connections/{id}`)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from urllib.parse import quote

import orjson

from overcast import tracing
from overcast.aws.context import HttpRequest, HttpResponse, RequestContext
from overcast.aws.errors import AwsError, internal_error
from overcast.engine import http as http_client
from overcast.security import INTERNAL_HEADER
from overcast.services.base import Provider
from overcast.storage.coordination import CLUSTER_TOKEN_HEADER

log = logging.getLogger("overcast.apigatewayv2")

MAX_POST = 128 * 1024


def _gone(connection_id: str) -> AwsError:
    return AwsError("GoneException", "", 410)


class ApiGatewayManagementApiProvider(Provider):
    service = "apigatewaymanagementapi"

    async def _manager(self):
        return (await self.providers.get("apigatewayv2")).websockets

    async def post_to_connection(self, ctx, params):
        data = params.get("Data") or b""
        if isinstance(data, str):
            data = data.encode()
        if len(data) > MAX_POST:
            raise AwsError("PayloadTooLargeException", "Request entity too large", 413)
        manager = await self._manager()
        conn = manager.get(params["ConnectionId"])
        _name_resource(params["ConnectionId"], conn)
        if conn is None:
            await self._on_its_node(manager, "POST", params["ConnectionId"], data)
            return {}
        try:
            await manager.post(conn, data)
        except Exception:
            raise _gone(params["ConnectionId"]) from None
        return {}

    async def get_connection(self, ctx, params):
        manager = await self._manager()
        conn = manager.get(params["ConnectionId"])
        described = manager.describe(conn) if conn is not None else \
            orjson.loads(await self._on_its_node(manager, "GET", params["ConnectionId"]))
        identity = {"SourceIp": described["source_ip"]}
        if described["user_agent"]:
            identity["UserAgent"] = described["user_agent"]
        return {"ConnectedAt": datetime.fromtimestamp(described["connected_at"], UTC),
                "LastActiveAt": datetime.fromtimestamp(described["last_active"], UTC),
                "Identity": identity}

    async def delete_connection(self, ctx, params):
        manager = await self._manager()
        conn = manager.get(params["ConnectionId"])
        if conn is None:
            await self._on_its_node(manager, "DELETE", params["ConnectionId"])
            return {}
        await manager.delete(conn)
        return {}

    async def _on_its_node(self, manager, method: str, connection_id: str, data: bytes = b"") -> bytes:
        """A cluster: the call made on the node holding the connection's socket (its answer's
        body); GoneException when no running node holds it."""
        found = manager.elsewhere(connection_id)
        if found is None:
            raise _gone(connection_id)
        try:
            status, _, body = await http_client.request(
                method, f"{found[1]}/_overcast/cluster/connections/{quote(connection_id, safe='')}", data,
                {CLUSTER_TOKEN_HEADER: self.providers.coordination.token(), INTERNAL_HEADER: "cluster"}, timeout=10)
        except http_client.HttpError:
            raise _gone(connection_id) from None
        if status != 200:
            raise _gone(connection_id)
        return body


def _name_resource(connection_id: str, conn) -> None:
    """The connection's ARN on the call's span (when the connection is known)."""
    span = tracing.current()
    if span is not None and span.kind == "api" and conn is not None:
        deployed = conn.deployed
        span.resource = (f"arn:aws:execute-api:{deployed.region}:{deployed.account}:{deployed.api_id}/"
                         f"{deployed.stage_name}/POST/@connections/{connection_id}")


async def handle_http(providers, request: HttpRequest, path: str, api_id: str | None = None) -> HttpResponse:
    """A management API call; `path` is "/@connections/...". Arriving on an API's own URL
    (`api_id`), it reaches that API's connections only (another API's are gone to it). Through
    the gateway (ManagementFront) the call's span is open already; on an API's URL it opens here."""
    target = _route(request)
    span = tracing.current()
    if span is not None and span.kind == "api":
        return await _handle_http(providers, request, path, api_id, target, span)
    span = tracing.open_api(request.headers.get("x-amzn-trace-id"), "apigatewaymanagementapi", target.account,
                            target.region, request.body)
    if span is None:
        return await _handle_http(providers, request, path, api_id, target, None)
    response = None
    try:
        response = await _handle_http(providers, request, path, api_id, target, span)
    finally:
        tracing.close_api(span, response.status if response is not None else 500,
                          response.body if response is not None else None)
    response.headers.append(("X-Amzn-Trace-Id", tracing.answer_header(span)))
    return response


def _route(request: HttpRequest):
    from overcast.aws.routing import route

    return route(request)


async def _handle_http(providers, request: HttpRequest, path: str, api_id: str | None, target, span) -> HttpResponse:
    from overcast.aws.models import load_service_model
    from overcast.aws.protocols import get_protocol

    model = load_service_model("apigatewaymanagementapi")
    protocol = get_protocol("rest-json")
    inner = HttpRequest(request.method, path, path, request.query_string, request.headers, request.body,
                        request.scheme, request.client)
    ctx = RequestContext(target.account, target.region, "apigatewaymanagementapi", inner, protocol="rest-json",
                         access_key=target.access_key)
    operation = None
    try:
        if inner.method == "POST" and len(inner.body) > MAX_POST:
            # before the model's own length check (which would answer ValidationException)
            raise AwsError("PayloadTooLargeException", "Request entity too large", 413)
        if api_id is not None:
            from urllib.parse import unquote

            parts = path.split("/")
            manager = (await providers.get("apigatewayv2")).websockets
            connection_id = unquote(parts[2]) if len(parts) > 2 else ""
            conn = manager.get(connection_id) if connection_id else None
            if conn is not None and conn.deployed.api_id != api_id:
                raise _gone(parts[2])
            elsewhere = manager.elsewhere(connection_id) if connection_id and conn is None else None
            if elsewhere is not None and elsewhere[0] != api_id:
                raise _gone(parts[2])
        operation, params = protocol.parse(model, inner)
        ctx.operation = operation.name
        if span is not None:
            span.operation = operation.name
        method, is_async, _, _ = await providers.handler("apigatewaymanagementapi", operation)
        result = await method(ctx, params) if is_async else method(ctx, params)
        return protocol.serialize(model, operation, result, ctx)
    except AwsError as error:
        if span is not None:
            span.fail(error)
        return protocol.serialize_error(model, operation, error, ctx)
    except Exception:
        log.exception("management API %s failed", operation.name if operation else "(unparsed)")
        return protocol.serialize_error(model, operation, internal_error(), ctx)


async def handle_cluster(providers, request: HttpRequest, connection_id: str) -> HttpResponse:
    """/_overcast/cluster/connections/{id}: another node of the cluster posts to, describes or
    closes a connection whose socket this node holds (server.py checks the cluster's token)."""
    manager = (await providers.get("apigatewayv2")).websockets
    conn = manager.get(connection_id)
    if conn is None:
        return HttpResponse(410, [("content-type", "application/json")], b'{"message":"Gone"}')
    try:
        if request.method == "POST":
            await manager.post(conn, request.body)
        elif request.method == "DELETE":
            await manager.delete(conn)
        elif request.method == "GET":
            return HttpResponse(200, [("content-type", "application/json")], orjson.dumps(manager.describe(conn)))
        else:
            return HttpResponse(405, [("content-type", "application/json")], b'{"message":"Method Not Allowed"}')
    except Exception:
        return HttpResponse(410, [("content-type", "application/json")], b'{"message":"Gone"}')
    return HttpResponse(200, [("content-type", "application/json")], b"{}")


class ManagementFront:
    """The service's front door (ServiceSpec.front) on overcast's own endpoint: the same
    pipeline as on an API's URL, with AWS's 413 for oversized posts."""

    def __init__(self, gateway):
        self.providers = gateway.providers

    async def handle(self, request: HttpRequest, target) -> HttpResponse:
        return await handle_http(self.providers, request, request.path)
