"""Requests to deployed APIs (API Gateway REST APIs and HTTP/WebSocket APIs), in the URL forms
tools already use:

    http://{apiId}.execute-api.<anything>/{stage}/{path}           (host form)
    http://localhost:4566/_aws/execute-api/{apiId}/{stage}/{path}   (path form)
    http://localhost:4566/restapis/{apiId}/{stage}/_user_request_/{path}

`match` tells such a request apart (before its body is read); `dispatch` hands it to the first
service in HANDLERS whose `handle_execute_api(request, api_id, path, domain)` does not answer None
(each service knows its own API ids)."""

from __future__ import annotations

import orjson

from overcast.aws.context import HttpRequest, HttpResponse

# (service, method) asked in turn; a service answers None for an API id that is not its own
HANDLERS: list[tuple[str, str]] = [
    ("apigatewayv2", "handle_execute_api"),
    ("apigateway", "handle_execute_api"),
]

PATH_PREFIX = "/_aws/execute-api/"


def match(host: str, path: str) -> tuple[str, str, str] | None:
    """(api id, path after the API — starting with the stage, domain) or None."""
    name = host.split(":", 1)[0]
    marker = name.find(".execute-api.")
    if marker > 0:
        return name[:marker], path or "/", host
    if path.startswith(PATH_PREFIX):
        rest = path[len(PATH_PREFIX):]
        api_id, _, tail = rest.partition("/")
        if api_id:
            return api_id, "/" + tail, host
    if path.startswith("/restapis/") and "/_user_request_" in path:
        parts = path.split("/", 5)  # "", restapis, id, stage, _user_request_, rest
        if len(parts) >= 5 and parts[4] == "_user_request_":
            return parts[2], f"/{parts[3]}/" + (parts[5] if len(parts) > 5 else ""), host
    if custom_domain(name):
        return "", path or "/", host  # api id "": a custom domain name, resolved by CUSTOM_DOMAIN_HANDLERS
    return None


# (service, method) asked in turn for a request whose Host may be a custom domain name
# (CreateDomainName + base path / API mappings): `method(request, host, path)` answers None when
# the service has no such domain; when none answers, the request goes to the AWS API gateway.
CUSTOM_DOMAIN_HANDLERS: list[tuple[str, str]] = [
    ("apigateway", "handle_custom_domain"),
    ("apigatewayv2", "handle_custom_domain"),
]


def custom_domain(name: str) -> bool:
    """Whether a host name could be a custom domain name: not an IP, not localhost, not an AWS or
    LocalStack host name, and not one that names a service (sqs.…, S3 bucket hosts)."""
    if "." not in name or name.endswith((".localhost", "localstack.cloud", "amazonaws.com")) or name[-1].isdigit():
        return False
    from overcast.aws.routing import s3_host
    from overcast.services import BY_HOST_PREFIX

    labels = name.split(".")
    return labels[0] not in BY_HOST_PREFIX and s3_host(labels) is None


async def dispatch(providers, request: HttpRequest, found: tuple[str, str, str]) -> HttpResponse | None:
    from overcast.services import SERVICES

    api_id, path, domain = found
    if not api_id:  # a custom domain name: None (not one) sends the request on to the AWS APIs
        for service, method in CUSTOM_DOMAIN_HANDLERS:
            if service not in SERVICES:
                continue
            handler = getattr(await providers.get(service), method, None)
            if handler is not None:
                response = await handler(request, domain, path)
                if response is not None:
                    return response
        return None
    for service, method in HANDLERS:
        if service not in SERVICES:
            continue
        handler = getattr(await providers.get(service), method, None)
        if handler is None:
            continue
        response = await handler(request, api_id, path, domain)
        if response is not None:
            return response
    return HttpResponse(404, [("content-type", "application/json")], orjson.dumps({"message": "Not Found"}))
