"""Helpers for the AppSync tests: an API with a schema and an API key, and a GraphQL client."""

from __future__ import annotations

import time

import httpx


def graphql_url(endpoint: str, api_id: str) -> str:
    return f"{endpoint}/_aws/appsync/{api_id}/graphql"


def realtime_url(endpoint: str, api_id: str) -> str:
    return endpoint.replace("http://", "ws://") + f"/_aws/appsync/{api_id}/graphql/realtime"


def create_api(appsync, name: str, schema: str, auth: str = "API_KEY", **extra) -> tuple[str, str | None]:
    """(api id, api key) of a new API whose schema was created successfully."""
    api = appsync.create_graphql_api(name=name, authenticationType=auth, **extra)["graphqlApi"]
    api_id = api["apiId"]
    appsync.start_schema_creation(apiId=api_id, definition=schema.encode())
    for _ in range(50):
        status = appsync.get_schema_creation_status(apiId=api_id)
        if status["status"] != "PROCESSING":
            break
        time.sleep(0.05)
    assert status["status"] == "SUCCESS", status
    key = appsync.create_api_key(apiId=api_id)["apiKey"]["id"] if auth == "API_KEY" else None
    return api_id, key


def query(endpoint: str, api_id: str, key: str | None, text: str, variables: dict | None = None,
          headers: dict | None = None) -> httpx.Response:
    sent = dict(headers or {})
    if key is not None:
        sent["x-api-key"] = key
    body = {"query": text}
    if variables is not None:
        body["variables"] = variables
    return httpx.post(graphql_url(endpoint, api_id), json=body, headers=sent, timeout=30)


NONE_REQUEST = '{"version": "2017-02-28", "payload": $util.toJson($ctx.args)}'
RESULT_RESPONSE = "$util.toJson($ctx.result)"
