"""Serving HTTP APIs: route matching, authorizers, throttling, CORS, parameter mapping, and the
Lambda proxy payload formats 2.0 and 1.0, as AWS documents them."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import orjson

from overcast import tracing
from overcast.aws.context import HttpRequest, HttpResponse
from overcast.engine import access_logs
from overcast.engine import http as http_client
from overcast.services.apigatewayv2 import authorizers
from overcast.services.apigatewayv2.deployed import Deployed, lookup
from overcast.services.apigatewayv2.integrations import (
    IntegrationFailure,
    evaluate,
    invoke_lambda,
    service_integration,
    stage_uri,
)

log = logging.getLogger("overcast.apigatewayv2")

MAX_PAYLOAD = 10 * 1024 * 1024  # HTTP APIs: 10 MB request payload
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript", "application/x-www-form-urlencoded")
_HOP_HEADERS = frozenset(("connection", "keep-alive", "transfer-encoding", "upgrade", "content-length", "host"))


def _message(status: int, message: str, headers: list | None = None) -> HttpResponse:
    return HttpResponse(status, [("content-type", "application/json"), *(headers or [])],
                        orjson.dumps({"message": message}))


def request_time(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def _is_text(content_type: str) -> bool:
    return not content_type or content_type.startswith(_TEXT_TYPES) or "json" in content_type or "xml" in content_type


class HttpApiServer:
    def __init__(self, provider):
        self.provider = provider
        self.providers = provider.providers

    async def handle(self, request: HttpRequest, api_id: str, path: str, domain: str) -> HttpResponse | None:
        """A request to an API's endpoint; `path` is the part after the API (stage first).
        None when api_id is no HTTP or WebSocket API of this service."""
        custom = api_id.startswith("domain:")
        if custom:  # a custom domain name: its API mappings pick API and stage
            resolved = self.provider.resolve_domain(api_id[len("domain:"):], path)
            if resolved is None:
                return _message(404, "Not Found")
            api_id, stage, path = resolved
            status, api, deployed, rest = lookup(self.provider, api_id, stage, path)
            if status == "api":
                return _message(404, "Not Found")
        else:
            status, api, deployed, rest = lookup(self.provider, api_id, None, path)
        if status == "api":
            return None
        if not custom and ".execute-api." not in domain:  # path forms: the events name the API's own host
            domain = f"{api_id}.{self.provider.endpoint_host()}"
        if api["ProtocolType"] == "WEBSOCKET":
            return await self._websocket_http(request, api, path)
        if api.get("DisableExecuteApiEndpoint") and ".execute-api." in domain:
            return _message(403, "Forbidden")
        if deployed is None:
            return _message(404, "Not Found")
        return await self.serve(request, deployed, rest, domain)

    async def _websocket_http(self, request: HttpRequest, api: dict, path: str) -> HttpResponse:
        """Plain HTTP to a WebSocket API: the @connections management API (as users' functions
        call it), else 426 as for a missing upgrade."""
        parts = path.lstrip("/").split("/")
        if len(parts) >= 3 and parts[1] == "@connections":
            from overcast.services.apigatewaymanagementapi.provider import handle_http

            return await handle_http(self.providers, request, "/" + "/".join(parts[1:]), api["ApiId"])
        return _message(426, "Upgrade Required")

    async def serve(self, request: HttpRequest, deployed: Deployed, path: str, domain: str) -> HttpResponse:
        """One request to an HTTP API: the span ApiGatewayV2.Request (in the caller's trace when it
        sends X-Amzn-Trace-Id), its integration a child span."""
        with tracing.hop("apigatewayv2", "Request", resource=f"arn:aws:execute-api:{deployed.region}:{deployed.account}:"
                         f"{deployed.api_id}/{deployed.stage_name}/{request.method}{path}", account=deployed.account,
                         region=deployed.region, parent=request.headers.get("x-amzn-trace-id"), request=request.body,
                         attributes={"method": request.method, "path": path, "stage": deployed.stage_name}) as span:
            facts: dict = {"started": time.time()}
            response = await self._serve(request, deployed, path, domain, facts)
            span.set("httpStatus", response.status)
            span.set_response(response.body if response.stream is None else None)
            if response.status >= 400:
                span.fail(f"HTTP {response.status}")
        settings = deployed.stage.get("AccessLogSettings") or {}
        if settings.get("DestinationArn") and settings.get("Format"):
            self._access_log(settings, deployed, request, path, domain, response, facts)
        return response

    def _access_log(self, settings: dict, deployed: Deployed, request: HttpRequest, path: str, domain: str,
                    response: HttpResponse, facts: dict) -> None:
        """The request's line in the stage's access log, in the variables AWS documents for HTTP
        APIs' access logs (a request refused before its route was found has no routeKey)."""
        context = facts.get("context") or {}
        started = facts["started"]
        latency = facts.get("integration_latency")
        stage = deployed.stage_name
        variables = {
            "accountId": deployed.account, "apiId": deployed.api_id, "domainName": domain,
            "domainPrefix": domain.split(".", 1)[0], "requestId": facts.get("request_id"),
            "extendedRequestId": facts.get("request_id"), "routeKey": context.get("routeKey"), "stage": stage,
            "httpMethod": request.method, "path": path if stage == "$default" else f"/{stage}{path}",
            "protocol": "HTTP/1.1", "requestTime": request_time(started), "requestTimeEpoch": int(started * 1000),
            "identity": {"sourceIp": (request.client or ("127.0.0.1",))[0],
                         "userAgent": request.headers.get("user-agent")},
            "status": response.status, "responseLength": len(response.body) if response.stream is None else None,
            "responseLatency": int((time.time() - started) * 1000), "integrationLatency": latency,
            "integration": {"latency": latency, "status": facts.get("integration_status")},
            "integrationStatus": facts.get("integration_status"), "authorizer": context.get("authorizer")}
        access_logs.deliver(self.providers, settings["DestinationArn"], access_logs.render(settings["Format"], variables),
                            deployed.api_id, stage)

    async def _serve(self, request: HttpRequest, deployed: Deployed, path: str, domain: str,
                     facts: dict) -> HttpResponse:
        """The answer; `facts` gets what the access log reads (the request id, the context, the
        integration's status and latency)."""
        api = deployed.api
        request_id = base64.b64encode(uuid.uuid4().bytes[:6]).decode().rstrip("=")
        facts["request_id"] = request_id
        extra = [("apigw-requestid", request_id)]
        cors = api.get("CorsConfiguration")
        origin = request.headers.get("origin")
        if cors and request.method == "OPTIONS" and origin and "access-control-request-method" in request.headers:
            return self._preflight(cors, request, extra)
        if request.too_large or len(request.body) > MAX_PAYLOAD:
            return self._finish(_message(413, "Request Entity Too Large", extra), cors, origin)
        route, path_params = deployed.match_http(request.method, path)
        if route is None:
            return self._finish(_message(404, "Not Found", extra), cors, origin)
        route_key = route["RouteKey"]
        if deployed.throttled(route_key):
            return self._finish(_message(429, "Too Many Requests", extra), cors, origin)
        now = time.time()
        query_pairs = parse_qsl(request.query_string, keep_blank_values=True)
        query: dict[str, list[str]] = {}
        for k, v in query_pairs:
            query.setdefault(k, []).append(v)
        stage = deployed.stage_name
        raw_path = path if stage == "$default" else f"/{stage}{path if path != '/' else ''}" or "/"
        context = {
            "accountId": deployed.account, "apiId": deployed.api_id, "domainName": domain,
            "domainPrefix": domain.split(".", 1)[0], "requestId": request_id, "routeKey": route_key,
            "stage": stage, "time": request_time(now), "timeEpoch": int(now * 1000),
            "http": {"method": request.method, "path": raw_path, "protocol": "HTTP/1.1",
                     "sourceIp": (request.client or ("127.0.0.1",))[0],
                     "userAgent": request.headers.get("user-agent", "")},
        }
        facts["context"] = context
        source = {"headers": request.headers, "query": {k: ",".join(v) for k, v in query.items()},
                  "path_params": path_params, "path": raw_path, "body": request.body, "context": context,
                  "stage_variables": deployed.stage.get("StageVariables") or {}, "resource_path": path}
        authorizer_context = None
        try:
            authorizer_context = await self._authorize(deployed, route, request, source, context, query, path_params,
                                                       raw_path, request_id)
        except authorizers.Denied as denied:
            headers = extra + ([("www-authenticate", 'Bearer')] if denied.status == 401 else [])
            return self._finish(_message(denied.status, denied.message, headers), cors, origin)
        if authorizer_context is not None:
            context["authorizer"] = authorizer_context
            # mappings read $context.authorizer.claims.x (JWT) and $context.authorizer.x (Lambda)
            flat = authorizer_context.get("jwt") or authorizer_context.get("lambda") or authorizer_context
            source["context"] = {**context, "authorizer": flat}
        integration = deployed.integration_for(route)
        if integration is None:
            return self._finish(_message(500, "Internal Server Error", extra), cors, origin)
        # the integration timeout (TimeoutInMillis, 50 ms to 30 s): past it the client gets 503 and the
        # call finishes in the background (a function is not killed by the gateway's timeout)
        call = asyncio.ensure_future(self._integrate(deployed, integration, route, request, raw_path, path, query,
                                                     path_params, context, source, extra))
        called = time.time()
        try:
            response = await asyncio.wait_for(asyncio.shield(call), (integration.get("TimeoutInMillis") or 30000) / 1000)
            facts["integration_status"] = response.status
        except IntegrationFailure:
            response = _message(500, "Internal Server Error", extra)
        except TimeoutError:
            call.add_done_callback(_ignore_result)
            response = _message(503, "Service Unavailable", extra)
        facts["integration_latency"] = int((time.time() - called) * 1000)
        response = self._map_response(integration, response, source)
        return self._finish(response, cors, origin)

    # -- authorization -------------------------------------------------------------------------

    async def _authorize(self, deployed, route, request, source, context, query, path_params, raw_path, request_id):
        kind = route.get("AuthorizationType") or "NONE"
        if kind == "NONE":
            return None
        if kind == "AWS_IAM":
            if not request.headers.get("authorization", "").startswith("AWS4-HMAC-SHA256"):
                raise authorizers.Denied(403, "Forbidden")
            return {"iam": {"accessKey": request.headers["authorization"].split("Credential=")[-1].split("/")[0],
                            "accountId": deployed.account}}
        authorizer = deployed.authorizers.get(route.get("AuthorizerId") or "")
        if authorizer is None:
            raise authorizers.Denied(500, "Internal Server Error")
        if kind == "JWT":
            return {"jwt": await authorizers.check_jwt(authorizer, route, source, self.providers)}
        method_arn = (f"arn:aws:execute-api:{deployed.region}:{deployed.account}:{deployed.api_id}/"
                      f"{deployed.stage_name}/{request.method}{source['resource_path']}")
        version = authorizer.get("AuthorizerPayloadFormatVersion") or "2.0"
        if version == "2.0":
            event = self._event_v2(deployed, route, request, raw_path, query, path_params, context, None)
            event = {"version": "2.0", "type": "REQUEST", "routeArn": method_arn,
                     "identitySource": [evaluate(i, source) for i in authorizer.get("IdentitySource") or []],
                     **{k: v for k, v in event.items() if k not in ("version", "body", "isBase64Encoded")}}
        else:
            event = self._event_v1(deployed, route, request, raw_path, query, path_params, context, None)
            event = {"version": "1.0", "type": "REQUEST", "methodArn": method_arn,
                     "identitySource": ",".join(evaluate(i, source) or "" for i in authorizer.get("IdentitySource") or []),
                     "authorizationToken": request.headers.get("authorization"),
                     **{k: v for k, v in event.items() if k not in ("version", "body", "isBase64Encoded")}}
        result = await authorizers.check_request(self.providers, deployed, authorizer, event, source, method_arn)
        return result if "lambda" in result else {"lambda": result}

    # -- CORS ----------------------------------------------------------------------------------

    @staticmethod
    def _origin_allowed(cors: dict, origin: str) -> bool:
        allowed = cors.get("AllowOrigins") or []
        return "*" in allowed or origin in allowed

    def _preflight(self, cors: dict, request: HttpRequest, extra: list) -> HttpResponse:
        origin = request.headers["origin"]
        headers = list(extra)
        method = request.headers.get("access-control-request-method", "").upper()
        methods = [m.upper() for m in cors.get("AllowMethods") or []]
        if self._origin_allowed(cors, origin) and ("*" in methods or method in methods):
            allow_all = "*" in (cors.get("AllowOrigins") or []) and not cors.get("AllowCredentials")
            headers.append(("access-control-allow-origin", "*" if allow_all else origin))
            headers.append(("access-control-allow-methods", ",".join(methods) if "*" not in methods else method))
            wanted = request.headers.get("access-control-request-headers")
            allow_headers = [h.lower() for h in cors.get("AllowHeaders") or []]
            if allow_headers:
                headers.append(("access-control-allow-headers",
                                wanted if "*" in allow_headers and wanted else ",".join(allow_headers)))
            if cors.get("AllowCredentials"):
                headers.append(("access-control-allow-credentials", "true"))
            if cors.get("MaxAge") is not None:
                headers.append(("access-control-max-age", str(cors["MaxAge"])))
        return HttpResponse(204, headers, b"")

    def _finish(self, response: HttpResponse, cors: dict | None, origin: str | None) -> HttpResponse:
        if cors and origin and self._origin_allowed(cors, origin):
            response.headers = [(k, v) for k, v in response.headers if not k.lower().startswith("access-control-")]
            allow_all = "*" in (cors.get("AllowOrigins") or []) and not cors.get("AllowCredentials")
            response.headers.append(("access-control-allow-origin", "*" if allow_all else origin))
            if cors.get("AllowCredentials"):
                response.headers.append(("access-control-allow-credentials", "true"))
            if cors.get("ExposeHeaders"):
                response.headers.append(("access-control-expose-headers", ",".join(cors["ExposeHeaders"])))
        return response

    # -- integrations --------------------------------------------------------------------------

    async def _integrate(self, deployed, integration, route, request, raw_path, path, query, path_params, context,
                         source, extra) -> HttpResponse:
        with tracing.hop("apigatewayv2", "Integration", resource=integration.get("IntegrationUri"),
                         account=deployed.account, region=deployed.region,
                         attributes={"integrationType": integration.get("IntegrationType"), "routeKey": route["RouteKey"],
                                     "integrationSubtype": integration.get("IntegrationSubtype") or ""}) as span:
            response = await self._integration(deployed, integration, route, request, raw_path, path, query,
                                               path_params, context, source, extra)
            span.set("httpStatus", response.status)
            if response.status >= 500:
                span.fail(f"HTTP {response.status}")
            return response

    async def _integration(self, deployed, integration, route, request, raw_path, path, query, path_params, context,
                           source, extra) -> HttpResponse:
        kind = integration.get("IntegrationType")
        headers = dict(request.headers)
        mapped_query = {k: list(v) for k, v in query.items()}
        mapped_path = path
        for key, expression in (integration.get("RequestParameters") or {}).items() if not integration.get(
                "IntegrationSubtype") else ():
            action, _, target = key.partition(":")
            where, _, name = target.partition(".")
            value = evaluate(expression, source) if action != "remove" else None
            if where == "header":
                lname = name.lower()
                if action == "remove":
                    headers.pop(lname, None)
                elif value is not None:
                    headers[lname] = f"{headers[lname]},{value}" if action == "append" and lname in headers else value
            elif where == "querystring":
                if action == "remove":
                    mapped_query.pop(name, None)
                elif value is not None:
                    mapped_query[name] = mapped_query.get(name, []) + [value] if action == "append" else [value]
            elif target == "path" and action == "overwrite" and value is not None:
                mapped_path = value
        if integration.get("IntegrationSubtype"):
            status, body = await service_integration(self.providers, deployed.account, deployed.region, integration, source)
            return HttpResponse(status, [("content-type", "application/json"), *extra], body)
        if kind == "AWS_PROXY":
            # repeated headers keep their separate values unless parameter mapping changed them
            repeated = {k: v for k, v in (request.repeated_headers or {}).items() if headers.get(k) == request.headers.get(k)}
            mapped = HttpRequest(request.method, request.path, request.raw_path, request.query_string, headers,
                                 request.body, request.scheme, request.client, repeated_headers=repeated or None)
            if (integration.get("PayloadFormatVersion") or "2.0") == "2.0":
                event = self._event_v2(deployed, route, mapped, raw_path, mapped_query, path_params, context,
                                       request.body)
                payload = await invoke_lambda(self.providers, deployed.account, deployed.region,
                                              stage_uri(integration["IntegrationUri"], source["stage_variables"]), event)
                return self._response_v2(payload, extra)
            event = self._event_v1(deployed, route, mapped, raw_path, mapped_query, path_params, context, request.body)
            payload = await invoke_lambda(self.providers, deployed.account, deployed.region,
                                          stage_uri(integration["IntegrationUri"], source["stage_variables"]), event)
            return self._response_v1(payload, extra)
        if kind == "HTTP_PROXY":
            return await self._http_proxy(integration, request, headers, mapped_path, mapped_query, path_params,
                                          source, extra)
        return _message(500, "Internal Server Error", extra)

    async def _http_proxy(self, integration, request, headers, path, query, path_params, source, extra) -> HttpResponse:
        uri = stage_uri(integration["IntegrationUri"], source["stage_variables"])
        for name, value in path_params.items():
            uri = uri.replace("{" + name + "+}", value).replace("{" + name + "}", value)
        uri = evaluate(uri, source) if "${" in uri else uri
        if integration.get("RequestParameters", {}).get("overwrite:path"):
            base = uri.split("://", 1)
            host = base[1].split("/", 1)[0] if len(base) > 1 else ""
            uri = f"{base[0]}://{host}{path}"
        from urllib.parse import urlencode

        qs = urlencode([(k, v) for k, values in query.items() for v in values])
        if qs:
            uri += ("&" if "?" in uri else "?") + qs
        method = integration.get("IntegrationMethod") or "ANY"
        method = request.method if method == "ANY" else method
        out_headers = {k: v for k, v in headers.items() if k not in _HOP_HEADERS}
        try:
            status, response_headers, body = await http_client.request(
                method, uri, request.body, out_headers, timeout=(integration.get("TimeoutInMillis") or 30000) / 1000 + 1)
        except http_client.HttpError as e:  # (the integration timeout itself is the caller's: 503 too)
            log.info("HTTP_PROXY %s failed: %s", uri, e)
            return _message(503, "Service Unavailable", extra)
        return HttpResponse(status, [(k, v) for k, v in response_headers.items() if k not in _HOP_HEADERS] + extra, body)

    # -- payload format 2.0 --------------------------------------------------------------------

    def _event_v2(self, deployed, route, request, raw_path, query, path_params, context, body) -> dict:
        headers = {}
        cookies = []
        for key, value in request.headers.items():
            if key == "cookie":
                cookies = [c.strip() for c in value.split(";") if c.strip()]
            else:
                headers[key] = value
        event = {"version": "2.0", "routeKey": route["RouteKey"], "rawPath": raw_path,
                 "rawQueryString": request.query_string}
        if cookies:
            event["cookies"] = cookies
        event["headers"] = headers
        if query:
            event["queryStringParameters"] = {k: ",".join(v) for k, v in query.items()}
        event["requestContext"] = dict(context)
        if body:
            text_type = _is_text(request.headers.get("content-type", ""))
            event["body"] = body.decode("utf-8") if text_type and _utf8(body) else base64.b64encode(body).decode()
            event["isBase64Encoded"] = not (text_type and _utf8(body))
        else:
            event["isBase64Encoded"] = False
        if path_params:
            event["pathParameters"] = path_params
        if deployed.stage.get("StageVariables"):
            event["stageVariables"] = deployed.stage["StageVariables"]
        return event

    def _response_v2(self, payload: bytes, extra: list) -> HttpResponse:
        try:
            value = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return _message(500, "Internal Server Error", extra)
        if not isinstance(value, dict) or "statusCode" not in value:
            # AWS infers the response from valid JSON without a statusCode: 200, application/json,
            # not base64, and the function's answer as the body: a string as itself (no quotes),
            # anything else as its JSON text
            body = value.encode() if isinstance(value, str) else payload
            return HttpResponse(200, [("content-type", "application/json"), *extra], body)
        return self._proxy_response(value, extra, v2=True)

    def _proxy_response(self, value: dict, extra: list, v2: bool) -> HttpResponse:
        try:
            status = int(value.get("statusCode"))
        except (TypeError, ValueError):
            return _message(500, "Internal Server Error", extra)
        headers: list[tuple[str, str]] = []
        seen = set()
        for key, values in (value.get("multiValueHeaders") or {}).items():
            for v in values if isinstance(values, list) else [values]:
                headers.append((key, str(v)))
            seen.add(key.lower())
        for key, v in (value.get("headers") or {}).items():
            if key.lower() not in seen:
                headers.append((key, str(v) if not isinstance(v, bool) else str(v).lower()))
        for cookie in value.get("cookies") or [] if v2 else []:
            headers.append(("set-cookie", cookie))
        body = value.get("body")
        if body is None:
            data = b""
        elif isinstance(body, str):
            if value.get("isBase64Encoded"):
                try:
                    data = base64.b64decode(body)
                except ValueError:
                    return _message(500, "Internal Server Error", extra)
            else:
                data = body.encode()
        else:
            data = orjson.dumps(body)
        if not any(k.lower() == "content-type" for k, _ in headers) and data:
            headers.append(("content-type", "application/json" if v2 else "application/json"))
        return HttpResponse(status, headers + extra, data)

    # -- payload format 1.0 --------------------------------------------------------------------

    def _event_v1(self, deployed, route, request, raw_path, query, path_params, context, body) -> dict:
        headers = dict(request.headers)
        multi_headers = {k: request.header_values(k) for k in headers}
        route_key = route["RouteKey"]
        resource = route_key.partition(" ")[2] if route_key != "$default" else "$default"
        now_ms = context["timeEpoch"]
        request_context = {
            "accountId": deployed.account, "apiId": deployed.api_id,
            "domainName": context["domainName"], "domainPrefix": context["domainPrefix"],
            "extendedRequestId": context["requestId"], "httpMethod": request.method,
            "identity": {"accessKey": None, "accountId": None, "caller": None, "cognitoAmr": None,
                         "cognitoAuthenticationProvider": None, "cognitoAuthenticationType": None,
                         "cognitoIdentityId": None, "cognitoIdentityPoolId": None, "principalOrgId": None,
                         "sourceIp": context["http"]["sourceIp"], "user": None,
                         "userAgent": context["http"]["userAgent"], "userArn": None},
            "path": raw_path, "protocol": "HTTP/1.1", "requestId": context["requestId"],
            "requestTime": context["time"], "requestTimeEpoch": now_ms,
            "resourceId": route_key, "resourcePath": resource, "stage": deployed.stage_name,
        }
        if context.get("authorizer"):
            auth = context["authorizer"]
            request_context["authorizer"] = auth.get("lambda", auth) if "jwt" not in auth else {
                "claims": auth["jwt"]["claims"], "scopes": auth["jwt"]["scopes"]}
        event = {
            "version": "1.0", "resource": resource, "path": raw_path, "httpMethod": request.method,
            "headers": headers, "multiValueHeaders": multi_headers,
            "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
            "multiValueQueryStringParameters": {k: v for k, v in query.items()} or None,
            "requestContext": request_context,
            "pathParameters": path_params or None,
            "stageVariables": deployed.stage.get("StageVariables") or None,
        }
        if body:
            text_type = _is_text(request.headers.get("content-type", ""))
            event["body"] = body.decode("utf-8") if text_type and _utf8(body) else base64.b64encode(body).decode()
            event["isBase64Encoded"] = not (text_type and _utf8(body))
        else:
            event["body"] = None
            event["isBase64Encoded"] = False
        return event

    def _response_v1(self, payload: bytes, extra: list) -> HttpResponse:
        try:
            value = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return _message(500, "Internal Server Error", extra)
        if not isinstance(value, dict) or "statusCode" not in value:
            return _message(500, "Internal Server Error", extra)
        return self._proxy_response(value, extra, v2=False)

    # -- response parameter mapping ------------------------------------------------------------

    def _map_response(self, integration: dict, response: HttpResponse, source: dict) -> HttpResponse:
        mappings = integration.get("ResponseParameters") or {}
        rules = mappings.get(str(response.status))
        if not rules:
            return response
        headers_src = {k.lower(): v for k, v in response.headers}
        response_source = {**source, "headers": {}, "response_headers": headers_src}
        for key, expression in rules.items():
            action, _, target = key.partition(":")
            if expression.startswith("$response.header."):
                value = headers_src.get(expression[len("$response.header."):].lower())
            elif expression.startswith("$response.body"):
                from overcast.services.apigatewayv2.integrations import body_path

                found = body_path(response.body, expression[len("$response.body"):].split("."))
                value = None if found is None else (found if isinstance(found, str) else orjson.dumps(found).decode())
            else:
                value = evaluate(expression, response_source)
            if target == "statuscode" and action == "overwrite" and value is not None:
                try:
                    response.status = int(value)
                except ValueError:
                    pass
                continue
            where, _, name = target.partition(".")
            if where != "header":
                continue
            lname = name.lower()
            if action == "remove":
                response.headers = [(k, v) for k, v in response.headers if k.lower() != lname]
            elif value is not None:
                if action == "overwrite":
                    response.headers = [(k, v) for k, v in response.headers if k.lower() != lname]
                response.headers.append((name, value))
        return response


def _ignore_result(task: asyncio.Future) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so that asyncio does not log it


def _utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False
