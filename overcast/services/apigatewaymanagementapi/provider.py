"""The API Gateway management API (@connections): PostToConnection, GetConnection and
DeleteConnection on the live WebSocket connections that apigatewayv2's ConnectionManager holds.

Reached three ways: signed for `execute-api` on overcast's own endpoint (`/@connections/{id}`),
on an API's host (`{apiId}.execute-api.<host>/{stage}/@connections/{id}`, the endpoint AWS's
docs build from requestContext.domainName and stage), and on the path form
(`/_aws/execute-api/{apiId}/{stage}/@connections/{id}`)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from overcast.aws.context import HttpRequest, HttpResponse, RequestContext
from overcast.aws.errors import AwsError, internal_error
from overcast.services.base import Provider

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
        if conn is None:
            raise _gone(params["ConnectionId"])
        try:
            await manager.post(conn, data)
        except Exception:
            raise _gone(params["ConnectionId"]) from None
        return {}

    async def get_connection(self, ctx, params):
        manager = await self._manager()
        conn = manager.get(params["ConnectionId"])
        if conn is None:
            raise _gone(params["ConnectionId"])
        identity = {"SourceIp": conn.source_ip}
        if conn.user_agent:
            identity["UserAgent"] = conn.user_agent
        return {"ConnectedAt": datetime.fromtimestamp(conn.connected_at, UTC),
                "LastActiveAt": datetime.fromtimestamp(conn.last_active, UTC),
                "Identity": identity}

    async def delete_connection(self, ctx, params):
        manager = await self._manager()
        conn = manager.get(params["ConnectionId"])
        if conn is None:
            raise _gone(params["ConnectionId"])
        await manager.delete(conn)
        return {}


async def handle_http(providers, request: HttpRequest, path: str, api_id: str | None = None) -> HttpResponse:
    """A management API call; `path` is "/@connections/...". Arriving on an API's own URL
    (`api_id`), it reaches that API's connections only (another API's are gone to it)."""
    from overcast.aws.models import load_service_model
    from overcast.aws.protocols import get_protocol
    from overcast.aws.routing import route

    model = load_service_model("apigatewaymanagementapi")
    protocol = get_protocol("rest-json")
    target = route(request)
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
            conn = manager.get(unquote(parts[2])) if len(parts) > 2 else None
            if conn is not None and conn.deployed.api_id != api_id:
                raise _gone(parts[2])
        operation, params = protocol.parse(model, inner)
        ctx.operation = operation.name
        method, is_async, _ = await providers.handler("apigatewaymanagementapi", operation)
        result = await method(ctx, params) if is_async else method(ctx, params)
        return protocol.serialize(model, operation, result, ctx)
    except AwsError as error:
        return protocol.serialize_error(model, operation, error, ctx)
    except Exception:
        log.exception("management API %s failed", operation.name if operation else "(unparsed)")
        return protocol.serialize_error(model, operation, internal_error(), ctx)


class ManagementFront:
    """The service's front door (ServiceSpec.front) on overcast's own endpoint: the same
    pipeline as on an API's URL, with AWS's 413 for oversized posts."""

    def __init__(self, gateway):
        self.providers = gateway.providers

    async def handle(self, request: HttpRequest, target) -> HttpResponse:
        return await handle_http(self.providers, request, request.path)
