"""Front doors: HTTP requests on the AWS port that are not AWS API calls — deployed APIs,
GraphQL endpoints, function URLs, and the URLs a service hands out itself (SNS's SubscribeURL,
Lambda's code downloads, test clocks). Each is found by host and path before the body is read.

DOORS is ordered: the first predicate that matches takes the request, and its handler answers
it, or answers None to hand it on to the AWS API gateway (a host that looked like a custom
domain name but is none). WebSocket upgrades have the same kind of table in overcast.websocket.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from overcast import execute_api
from overcast.aws.context import HttpRequest, HttpResponse
from overcast.services.appsync.urls import match as appsync_match
from overcast.services.cognitoidp.hosted import match as cognito_hosted_match

# Services that serve URLs under /_overcast/{service}/ through their provider's `http(request)`.
SERVICE_URLS = frozenset(("lambda", "sns", "events", "scheduler", "cognito-idp"))
# A user pool's issuer URL path: /{region}_{id}/.well-known/jwks.json (or openid-configuration)
_POOL_WELL_KNOWN = re.compile(r"^/[a-z]{2}(?:-[a-z]+)+-\d_[0-9A-Za-z]+/\.well-known/[a-z\-.]+$")


def _service_url(host: str, path: str) -> str | None:
    """/_overcast/{service}/... for a service in SERVICE_URLS; a Lambda function URL's host."""
    if path.startswith("/_overcast/"):
        service = path.split("/", 3)[2]
        return service if service in SERVICE_URLS else None
    if _POOL_WELL_KNOWN.match(path):  # Cognito's JWKS and OpenID configuration, at the issuer's path
        return "cognito-idp"
    return "lambda" if ".lambda-url." in host else None


async def _service_http(providers, request: HttpRequest, service: str) -> HttpResponse:
    return await (await providers.get(service)).http(request)


async def _cognito_hosted(providers, request: HttpRequest, found) -> HttpResponse:
    return await (await providers.get("cognito-idp")).hosted(request, found)


async def _appsync(providers, request: HttpRequest, found) -> HttpResponse:
    return await (await providers.get("appsync")).handle_graphql(request, found)


Door = tuple[Callable[[str, str], object], Callable[..., Awaitable[HttpResponse | None]]]

DOORS: list[Door] = [
    (_service_url, _service_http),
    (appsync_match, _appsync),
    (cognito_hosted_match, _cognito_hosted),  # a user pool domain's OAuth 2.0 endpoints and login page
    (execute_api.match, execute_api.dispatch),  # API Gateway REST, HTTP and custom domain names
]


# The largest request body a door takes, where its service documents one (API Gateway: 10 MB
# payloads): a larger one is not read, and the door answers its own error for it
# (HttpRequest.too_large). Other doors take DEFAULT_MAX_REQUEST_BYTES; above it, plain 413.
MAX_BODY: dict[Callable, int] = {execute_api.dispatch: 10 * 1024 * 1024}


def find(host: str, path: str):
    """(handler, match) for a request that comes in through a front door, else None."""
    for predicate, handler in DOORS:
        found = predicate(host, path)
        if found is not None:
            return handler, found
    return None
