"""WebSocket endpoints: ASGI websocket scopes are routed here by host and path. Each entry of
HANDLERS is (predicate(host, path) -> match or None, "module:function"); the function is called
as `await function(providers, scope, receive, send, match)`. API Gateway WebSocket APIs are
here; AppSync's real-time endpoint plugs in the same way."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from overcast.execute_api import match as execute_api_match
from overcast.services.appsync.urls import realtime_match as appsync_realtime_match


def _execute_api(host: str, path: str):
    """execute-api hosts and paths; not the custom-domain-like hosts execute_api.match also
    claims (WebSocket APIs are not served on custom domain names: those go to the next entry)."""
    found = execute_api_match(host, path)
    return found if found is not None and found[0] else None


HANDLERS: list[tuple[Callable[[str, str], object], str]] = [
    (_execute_api, "overcast.services.apigatewayv2.websocket:asgi_handler"),
    (appsync_realtime_match, "overcast.services.appsync.realtime:asgi_handler"),
]


def find(host: str, path: str):
    """(handler function, match) for a websocket request, or None."""
    for predicate, target in HANDLERS:
        found = predicate(host, path)
        if found is not None:
            module_name, _, name = target.partition(":")
            return getattr(importlib.import_module(module_name), name), found
    return None


async def handle(providers, scope, receive, send) -> None:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
    found = find(headers.get("host", ""), scope.get("path", "/"))
    if found is None:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.close", "code": 1008})
        return
    function, matched = found
    await function(providers, scope, receive, send, matched)
