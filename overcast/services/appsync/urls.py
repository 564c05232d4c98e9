"""The data plane's URL forms (imported by server.py and overcast.websocket at start-up: keep it
free of heavy imports).

    http://{apiId}.appsync-api.<anything>/graphql                 queries and mutations (host form)
    http://localhost:4566/_aws/appsync/{apiId}/graphql           (path form)
    ws://{apiId}.appsync-realtime-api.<anything>/graphql          subscriptions (host form)
    ws://localhost:4566/_aws/appsync/{apiId}/graphql/realtime    (path form; also .../graphql)
"""

from __future__ import annotations

PATH_PREFIX = "/_aws/appsync/"


def match(host: str, path: str) -> tuple[str, str] | None:
    """(api id, "graphql" | "realtime") for a data-plane request, or None."""
    name = host.split(":", 1)[0]
    marker = name.find(".appsync-api.")
    if marker > 0:
        return (name[:marker], "graphql") if path.rstrip("/") in ("/graphql", "") else None
    marker = name.find(".appsync-realtime-api.")
    if marker > 0:
        return (name[:marker], "realtime") if path.rstrip("/") in ("/graphql", "/graphql/connect", "") else None
    if path.startswith(PATH_PREFIX):
        api_id, _, rest = path[len(PATH_PREFIX):].partition("/")
        rest = rest.rstrip("/")
        if api_id and rest in ("graphql", ""):
            return api_id, "graphql"
        if api_id and rest in ("graphql/realtime", "realtime"):
            return api_id, "realtime"
    return None


def realtime_match(host: str, path: str):
    """For overcast.websocket: any data-plane URL of an API answers WebSocket upgrades."""
    found = match(host, path)
    return (found[0], "realtime") if found is not None else None


def uris(api_id: str, region: str, host: str) -> dict:
    port = host.rsplit(":", 1)[1] if ":" in host and not host.endswith("]") else "4566"
    return {
        "GRAPHQL": f"http://{api_id}.appsync-api.{region}.localhost.localstack.cloud:{port}/graphql",
        "REALTIME": f"ws://{api_id}.appsync-realtime-api.{region}.localhost.localstack.cloud:{port}/graphql",
    }
