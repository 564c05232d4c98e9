"""Integrations: AWS_PROXY (Lambda, payload 1.0), AWS (non-proxy Lambda, and service actions
executed in-process through overcast's own gateway machinery), HTTP / HTTP_PROXY (a real
outbound call) and MOCK; request and response mapping."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import time
from email.utils import formatdate
from urllib.parse import parse_qsl, urlencode

import orjson

from overcast import tracing, vtl
from overcast.aws.context import HttpRequest, HttpResponse
from overcast.aws.errors import AwsError
from overcast.services import SERVICES
from overcast.services.apigateway import mapping
from overcast.services.apigateway.errors import GatewayError
from overcast.vtl import VtlError

log = logging.getLogger("overcast.apigateway")

_LAMBDA_URI = re.compile(r"^arn:[^:]+:apigateway:([^:]*):lambda:path/[^/]+/functions/(.+)/invocations/?$")
_AWS_URI = re.compile(r"^arn:[^:]+:apigateway:([^:]*):([^:]+):(action|path)/(.*)$")
_BARE_NAME = re.compile(rb'([{,]\s*)([A-Za-z_$][\w$]*)\s*:')  # an object member name without quotes
_REPLACED_HEADERS = frozenset(("connection", "content-length", "x-forwarded-for", "x-forwarded-port",
                               "x-forwarded-proto", "x-amzn-trace-id"))
_FRAMING_HEADERS = frozenset(("content-length", "transfer-encoding"))
_CANONICAL_NAMES = {"authorization": "Authorization", "user-agent": "User-Agent"}
# mapped request headers an HTTP integration's request never carries (AWS's recorded backend requests)
_HTTP_UNSENT_HEADERS = frozenset(("connection", "expect", "proxy-authenticate", "te", "via"))
# the client's headers an HTTP_PROXY integration's request does not pass on (besides the ones
# that are not part of the method request, mapping._UNSEEN_HEADERS)
_HTTP_PROXY_UNSENT_HEADERS = frozenset(("host", "content-length", "content-encoding", "via"))
_LAMBDA_RESERVED_HEADERS = _FRAMING_HEADERS | {"authorization", "connection", "expect", "proxy-authenticate", "te"}
# method response headers API Gateway keeps for itself: a mapped one is answered as
# x-amzn-Remapped-<name> (AWS's recorded answers)
_REMAPPED_RESPONSE_HEADERS = frozenset((
    "authorization", "connection", "content-length", "content-md5", "date", "expect", "host", "max-forwards",
    "proxy-authenticate", "server", "trailer", "upgrade", "user-agent", "www-authenticate"))
_PROXY_KEYS = frozenset(("statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"))
# services whose subdomain in an integration URI differs from overcast's model name
_SUBDOMAINS = {"monitoring": "cloudwatch", "email": "ses", "states": "stepfunctions", "execute-api": "apigateway"}


class Integrations:
    def __init__(self, provider):
        self.provider = provider
        self._http = None
        self._gateway = None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def http_client(self):
        if self._http is None:
            import httpx

            self._http = httpx.AsyncClient(follow_redirects=False, verify=False)
        return self._http

    def gateway(self):
        if self._gateway is None:
            from overcast.aws.dispatch import Gateway

            # the service calls API Gateway makes for the API's account, unsigned by any client:
            # not refused when overcast verifies clients' signatures
            self._gateway = Gateway(self.provider.providers, verify=False)
        return self._gateway

    # -- entry -------------------------------------------------------------------------------

    async def run(self, stage, state, plan) -> HttpResponse:
        integration = plan.integration
        with tracing.hop("apigateway", "Integration", resource=integration.get("uri"), account=stage.account,
                         region=stage.region, attributes={"integrationType": integration.get("type") or ""}) as span:
            response = await self._run(stage, state, plan)
            span.set("httpStatus", response.status)
            return response

    async def _run(self, stage, state, plan) -> HttpResponse:
        integration = plan.integration
        kind = integration.get("type")
        timeout = (integration.get("timeoutInMillis") or 29000) / 1000
        if kind != "MOCK" and integration.get("requestParameters"):
            self._refuse_reserved_headers(state, integration)
        if kind == "AWS_PROXY":
            return await self._lambda_proxy(stage, state, plan, timeout)
        if kind == "HTTP_PROXY":
            return await self._http_proxy(stage, state, plan, timeout)
        body_in = self._request_body(state, plan)
        if kind == "MOCK":
            result = self._mock(body_in)
        elif kind == "HTTP":
            result = await self._http_call(stage, state, plan, body_in, timeout)
        elif kind == "AWS":
            match = _LAMBDA_URI.match(integration.get("uri", ""))
            if match:
                result = await self._lambda_call(stage, state, plan, match.group(2), body_in, timeout)
            else:
                result = await self._aws_call(stage, state, plan, body_in, timeout)
        else:
            raise GatewayError("API_CONFIGURATION_ERROR")
        return self._respond(state, plan, result)

    # -- request mapping ---------------------------------------------------------------------

    @staticmethod
    def _refuse_reserved_headers(state, integration: dict) -> None:
        """The body's framing is API Gateway's: an integration request mapping Content-Length or
        Transfer-Encoding is refused with AWS's 500, and a Lambda integration (AWS, AWS_PROXY) also
        refuses Authorization, Connection, Expect, Proxy-Authenticate and TE (AWS's recorded
        answers in LocalStack's header remapping tests)."""
        reserved = _LAMBDA_RESERVED_HEADERS if "lambda:path" in (integration.get("uri") or "") else _FRAMING_HEADERS
        for target in integration["requestParameters"]:
            if target.startswith("integration.request.header.") and \
                    target[len("integration.request.header."):].lower() in reserved:
                log.warning("API Gateway %s: the integration request maps the reserved header %s",
                            state.stage.api_id, target[len("integration.request.header."):])
                # answered before any backend is called: AWS's recorded 500s carry no X-Amzn-Trace-Id
                state.untraced = True
                raise GatewayError("DEFAULT_5XX")

    def _request_body(self, state, plan) -> bytes:
        integration = plan.integration
        templates = integration.get("requestTemplates") or {}
        ctype = (state.headers.get("content-type") or "application/json").split(";", 1)[0].strip().lower()
        template = templates.get(ctype)
        handling = integration.get("contentHandling")
        if template is None:
            passthrough = integration.get("passthroughBehavior") or "WHEN_NO_MATCH"
            if passthrough == "NEVER" or (passthrough == "WHEN_NO_TEMPLATES" and templates):
                raise GatewayError("UNSUPPORTED_MEDIA_TYPE")
            # AWS's conversion table (payload encodings): a binary body (its Content-Type one of
            # the binaryMediaTypes) is passed as is, or base64-encoded for CONVERT_TO_TEXT; a text
            # body (bytes that are not UTF-8 read as U+FFFD) as text, or base64-decoded for
            # CONVERT_TO_BINARY, where text that is not base64 fails with AWS's 500
            if state.is_binary:
                return base64.b64encode(state.request.body) if handling == "CONVERT_TO_TEXT" else state.request.body
            if handling == "CONVERT_TO_BINARY":
                return _base64_decoded(state.body_text(), state)
            return state.body_text().encode()
        if handling == "CONVERT_TO_BINARY":
            # binary data cannot reach a mapping template (AWS's recorded 500)
            log.warning("API Gateway %s: CONVERT_TO_BINARY with a request template", state.stage.api_id)
            raise GatewayError("DEFAULT_5XX")
        if not template:
            return b""
        try:
            return mapping.render(template, state, state.body_text()).encode()
        except VtlError as e:
            log.warning("API Gateway %s: request template failed: %s", state.stage.api_id, e)
            raise GatewayError("DEFAULT_5XX") from None

    def _mapped_params(self, state, plan, where: str) -> dict:
        prefix = f"integration.request.{where}."
        out = {}
        for target, expr in (plan.integration.get("requestParameters") or {}).items():
            if target.startswith(prefix):
                value = state.param_value(expr)
                if value is not None:
                    out[target[len(prefix):]] = value
        # what the request template set in $context.requestOverride wins
        override = state.request_override.get(where)
        if isinstance(override, dict):
            out.update({str(k): _param_text(v) for k, v in override.items() if v is not None})
        return out

    # -- MOCK --------------------------------------------------------------------------------

    @staticmethod
    def _mock(body: bytes) -> dict:
        status = 200
        if body.strip():
            try:
                try:
                    doc = json.loads(body)
                except ValueError:  # AWS also reads unquoted names: the Serverless Framework's CORS
                    # preflights send {statusCode:200}
                    doc = json.loads(_BARE_NAME.sub(rb'\1"\2":', body))
                status = int(doc.get("statusCode", 200)) if isinstance(doc, dict) else 200
            except (ValueError, TypeError):
                raise GatewayError("DEFAULT_5XX") from None
        return {"status": status, "headers": [], "body": b"", "subject": str(status)}

    # -- Lambda ------------------------------------------------------------------------------

    async def _invoke(self, stage, function: str, payload: bytes, timeout: float, state=None, sent=None):
        if state is not None and state.endpoint_log is not None:
            return await self._invoke_logged(stage, function, payload, timeout, state, payload if sent is None else sent)
        lam = await self.provider.providers.get("lambda")
        # The invocation runs as its own task: past the integration timeout the caller gets 504
        # and the function still runs to its end, as on AWS. One future and one timer wait for it.
        loop = asyncio.get_running_loop()
        task = loop.create_task(lam.invoke_function(stage.account, stage.region, function, payload))
        waiter = loop.create_future()

        def wake(_=None):
            if not waiter.done():
                waiter.set_result(None)

        task.add_done_callback(wake)
        timer = loop.call_later(timeout, wake)
        try:
            await waiter
        finally:
            timer.cancel()
        if not task.done():
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
            raise GatewayError("INTEGRATION_TIMEOUT")
        try:
            return task.result()
        except AwsError as e:
            log.warning("API Gateway %s: Lambda %s failed: %s", stage.api_id, function, e)
            raise GatewayError("DEFAULT_5XX") from None

    async def _invoke_logged(self, stage, function: str, payload: bytes, timeout: float, state, sent: bytes):
        """The invocation, with the endpoint request and answer written to TestInvokeMethod's log
        as API Gateway writes them for a Lambda integration: the Invoke call it makes (its URI,
        the headers of API Gateway's own that it carries, the body) and Lambda's answer (status,
        Invoke's answer headers, body). overcast invokes the function in process: no signature
        headers are listed, since none is made."""
        lines = state.endpoint_log
        url = f"https://lambda.{stage.region}.amazonaws.com/2015-03-31/functions/{function}/invocations"
        headers = {"x-amzn-lambda-integration-tag": state.request_id, "x-amzn-apigateway-api-id": stage.api_id,
                   "Accept": "application/json", "User-Agent": f"AmazonAPIGateway_{stage.api_id}"}
        if state.trace_header:
            headers["X-Amzn-Trace-Id"] = state.trace_header
        # the body as the mapping made it (an empty one is logged empty; Lambda is given `{}`)
        lines += [f"Endpoint request URI: {url}", f"Endpoint request headers: {vtl.java_map_text(headers, str)}",
                  f"Endpoint request body after transformations: {sent.decode('utf-8', 'replace')}",
                  f"Sending request to {url}"]
        started = time.monotonic()
        result = await self._invoke(stage, function, payload, timeout)
        answer = {"Date": formatdate(usegmt=True), "Content-Type": "application/json",
                  "Content-Length": str(len(result.payload)), "Connection": "keep-alive",
                  "x-amzn-RequestId": result.request_id, "X-Amz-Executed-Version": result.executed_version}
        if result.function_error:
            answer["X-Amz-Function-Error"] = result.function_error
        if state.trace_header:
            answer["X-Amzn-Trace-Id"] = state.trace_header
        lines += [f"Received response. Status: {result.status}, Integration latency: "
                  f"{int((time.monotonic() - started) * 1000)} ms",
                  f"Endpoint response headers: {vtl.java_map_text(answer, str)}",
                  f"Endpoint response body before transformations: {result.payload.decode('utf-8', 'replace')}"]
        return result

    def _function(self, stage, state, plan) -> str:
        match = _LAMBDA_URI.match(plan.integration.get("uri", ""))
        if not match:
            raise GatewayError("DEFAULT_5XX")
        return _substitute_stage_vars(match.group(2), stage.variables)

    def proxy_event(self, stage, state, plan) -> dict:
        headers = dict(state.headers_cased)
        multi_headers = state.multi_headers_cased()
        # the X-Forwarded-* headers API Gateway's front end adds to every proxied request
        request = state.request
        forwarded_for, port, proto = request.forwarded()
        forwarded = {"X-Forwarded-For": forwarded_for, "X-Forwarded-Port": port, "X-Forwarded-Proto": proto,
                     "X-Amzn-Trace-Id": _trace_header(request.headers.get("x-amzn-trace-id"))}
        state.trace_header = forwarded["X-Amzn-Trace-Id"]
        # the names come as the client spelt them: its own X-Forwarded-* (replaced), Connection
        # (hop-by-hop) and Content-Length are not passed on in any case, and Authorization and
        # User-Agent are spelt so whatever the client sent (AWS's recorded events: `aUThorization`,
        # `authorization`, `user-Agent`)
        for name in [k for k in headers if k.lower() in _REPLACED_HEADERS or k.lower() in _CANONICAL_NAMES]:
            value, values = headers.pop(name), multi_headers.pop(name, None)
            canonical = _CANONICAL_NAMES.get(name.lower())
            if canonical is not None:
                headers[canonical] = value
                multi_headers[canonical] = values or [value]
        headers.update(forwarded)
        multi_headers.update({k: [v] for k, v in forwarded.items()})
        ctx = state.context
        request_context = {
            "resourceId": ctx["resourceId"], "resourcePath": ctx["resourcePath"], "httpMethod": state.http_method,
            "extendedRequestId": ctx["extendedRequestId"], "requestTime": ctx["requestTime"], "path": ctx["path"],
            "accountId": stage.account, "protocol": "HTTP/1.1", "stage": stage.stage_name,
            "domainPrefix": ctx["domainPrefix"], "requestTimeEpoch": ctx["requestTimeEpoch"],
            "requestId": state.request_id, "identity": ctx["identity"], "domainName": ctx["domainName"],
            "deploymentId": stage.deployment_id, "apiId": stage.api_id,
        }
        if state.authorizer is not None:
            request_context["authorizer"] = dict(state.authorizer)
        body = state.request.body
        binary = state.is_binary
        return {
            "resource": state.resource["path"],
            # as sent, percent-encoding kept; "//x" is "/x" (requestContext.path keeps it as sent)
            "path": "/" + state.raw_path.lstrip("/"),
            "httpMethod": state.http_method,
            "headers": headers or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": dict(state.query) or None,
            "multiValueQueryStringParameters": {k: list(v) for k, v in state.multi_query.items()} or None,
            "pathParameters": state.raw_path_params() or None,
            "stageVariables": dict(stage.variables) or None,
            "requestContext": request_context,
            "body": (base64.b64encode(body).decode() if binary else body.decode("utf-8", "replace")) if body else None,
            "isBase64Encoded": bool(binary and body),
        }

    async def _lambda_proxy(self, stage, state, plan, timeout) -> HttpResponse:
        if (plan.integration.get("httpMethod") or "POST").upper() != "POST":
            # Lambda's Invoke is a POST: API Gateway's call with another method fails, answered as
            # an integration failure with status 500 (AWS's recorded answer, not the type's 504)
            log.warning("API Gateway %s: Lambda proxy integration with integrationHttpMethod %s (Invoke is a POST)",
                        stage.api_id, plan.integration.get("httpMethod"))
            raise GatewayError("INTEGRATION_FAILURE", status=500)
        function = self._function(stage, state, plan)
        event = self.proxy_event(stage, state, plan)
        result = await self._invoke(stage, function, orjson.dumps(event), timeout, state)
        if result.function_error:
            return self._malformed(state)
        try:
            out = orjson.loads(result.payload)
        except orjson.JSONDecodeError:
            return self._malformed(state)
        if not isinstance(out, dict) or not set(out) <= _PROXY_KEYS:
            return self._malformed(state)
        status = out.get("statusCode", 200)  # AWS answers 200 to {} and to headers alone (recorded answers)
        if isinstance(status, str) and status.isdigit():
            status = int(status)
        if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
            return self._malformed(state)
        body = out.get("body")
        if body is None:
            raw = b""
        elif isinstance(body, str):
            # a base64 body is answered decoded only to a client whose Accept's first media type
            # is of the API's binary media types (AWS's recorded answers: an Accept of */* or
            # image/* is not expanded, a type application/* takes application/x, a type with a
            # wildcard on the left matches nothing); to any other, as the function sent it
            accept = state.headers.get("accept", "").split(",", 1)[0]
            if out.get("isBase64Encoded") and stage.is_binary(accept):
                raw = _base64_decoded(body, state)  # AWS's 500 for a body that is not base64
            else:
                raw = body.encode()
        else:
            return self._malformed(state)
        # headers and multiValueHeaders merge: for a name in both, multiValueHeaders' values then
        # headers' value, under multiValueHeaders' spelling (AWS's recorded answers)
        merged: dict[str, tuple[str, list[str]]] = {}
        if not isinstance(out.get("headers") or {}, dict) or not isinstance(out.get("multiValueHeaders") or {}, dict):
            return self._malformed(state)
        for k, values in (out.get("multiValueHeaders") or {}).items():
            if not isinstance(values, list):  # a multiValueHeaders value is a list (AWS answers 502)
                return self._malformed(state)
            merged[k.lower()] = (k, [_header_text(v) for v in values])
        for k, v in (out.get("headers") or {}).items():
            merged.setdefault(k.lower(), (k, []))[1].append(_header_text(v))
        headers = [(name, v) for name, values in merged.values() for v in values]
        seen = set(merged)
        if "content-type" not in seen:
            headers.append(("Content-Type", "application/json"))
        headers += [("x-amzn-RequestId", state.request_id), ("x-amz-apigw-id", state.extended_id)]
        return HttpResponse(status, headers, raw)

    @staticmethod
    def _malformed(state) -> HttpResponse:
        log.info("API Gateway %s: Malformed Lambda proxy response", state.stage.api_id)
        return HttpResponse(502, [("Content-Type", "application/json"), ("x-amzn-RequestId", state.request_id),
                                  ("x-amzn-ErrorType", "InternalServerErrorException")],
                            b'{"message": "Internal server error"}')

    async def _lambda_call(self, stage, state, plan, function, body: bytes, timeout) -> dict:
        function = _substitute_stage_vars(function, stage.variables)
        payload = body if body.strip() else b"{}"
        try:
            orjson.loads(payload)
        except orjson.JSONDecodeError:
            payload = orjson.dumps(payload.decode("utf-8", "replace"))
        result = await self._invoke(stage, function, payload, timeout, state, body)
        subject = None
        if result.function_error:
            try:
                err = orjson.loads(result.payload)
                subject = err.get("errorMessage") if isinstance(err, dict) else None
            except orjson.JSONDecodeError:
                subject = None
            subject = subject or ""
        return {"status": 200, "headers": [], "body": result.payload, "subject": subject, "lambda": True}

    # -- AWS services ------------------------------------------------------------------------

    async def _aws_call(self, stage, state, plan, body: bytes, timeout) -> dict:
        integration = plan.integration
        match = _AWS_URI.match(_substitute_stage_vars(integration.get("uri", ""), stage.variables))
        if not match:
            raise GatewayError("DEFAULT_5XX")
        region = match.group(1) or stage.region
        subdomain, kind, rest = match.group(2), match.group(3), match.group(4)
        service = _SUBDOMAINS.get(subdomain, subdomain.split(".")[-1])
        spec = SERVICES.get(service)
        if spec is None:
            log.warning("API Gateway %s: integration with %s: overcast does not implement that service yet",
                        stage.api_id, service)
            raise GatewayError("DEFAULT_5XX")
        from overcast.aws.legacy_models import PROTOCOL_MODELS, protocol_model
        from overcast.aws.models import load_service_model

        model = load_service_model(spec.name)
        headers = {"host": "localhost"}
        headers.update({k.lower(): v for k, v in self._mapped_params(state, plan, "header").items()})
        # API Gateway asks query services (SQS, SNS) for JSON unless the integration maps an Accept
        # header (AWS's recorded answers: a template reads $.SendMessageResponse)
        wants_json = "json" in headers.get("accept", "application/json")
        query = self._mapped_params(state, plan, "querystring")
        paths = self._mapped_params(state, plan, "path")
        method = (integration.get("httpMethod") or "POST").upper()
        if method == "ANY":  # the method the client called with, as for HTTP integrations
            method = state.http_method
        protocol = model.protocol
        legacy = None
        if kind == "action" and protocol != "json" and "json" in PROTOCOL_MODELS.get(spec.name, ()):
            # an action of a service that answers awsJson besides the installed model's protocol
            # (Athena's restJson1 model, botocore 1.44.18 and later): called in awsJson, as before
            model, protocol = protocol_model(spec.name, "json"), "json"
        if kind == "action":
            action = rest.split("&", 1)[0]
            if protocol in ("query", "ec2") or spec.legacy_query_model:
                # API Gateway calls query services (SQS, SNS) with awsQuery forms
                form = {"Action": action, "Version": model.metadata.get("apiVersion", ""), **query}
                text = urlencode(form)
                if body.strip():
                    text += "&" + body.decode("utf-8", "replace")
                body = text.encode()
                query = {}
                headers["content-type"] = "application/x-www-form-urlencoded"
                path = "/"
                method = "POST"
            elif protocol == "json" and model.target_prefix:
                if query and not body.strip():
                    # the action's parameters in the query string and no body: AWS calls the
                    # service in its query form (awsQuery names) and answers the action's legacy
                    # JSON envelope (AWS's recorded answer of SSM's GetParameter?Name=…)
                    legacy = model.operations.get(action)
                    if legacy is None:
                        raise GatewayError("DEFAULT_5XX")
                    body = _query_input(model, legacy, query)
                    query = {}
                headers["x-amz-target"] = f"{model.target_prefix}.{action}"
                headers["content-type"] = f"application/x-amz-json-{model.metadata.get('jsonVersion', '1.0')}"
                path = "/"
                method = "POST"
            else:
                raise GatewayError("DEFAULT_5XX")
        else:
            path = "/" + rest
            for name, value in paths.items():
                path = path.replace("{" + name + "}", value)
            if protocol in ("query",) or spec.legacy_query_model:
                headers.setdefault("content-type", "application/x-www-form-urlencoded")
            elif protocol == "json" and model.target_prefix and "x-amz-target" not in headers:
                headers.setdefault("content-type", f"application/x-amz-json-{model.metadata.get('jsonVersion', '1.0')}")
        signing = spec.signing_names[0]
        stamp = time.strftime("%Y%m%d", time.gmtime())
        headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={stage.account}/{stamp}/{region}/{signing}/aws4_request, "
                                    "SignedHeaders=host, Signature=0")
        from urllib.parse import quote

        request = HttpRequest(method=method, path=_unquote(path), raw_path=quote(_unquote(path), safe="/~"),
                              query_string=urlencode(query), headers=headers, body=body)
        try:
            response = await asyncio.wait_for(self.gateway().handle(request), timeout)
        except TimeoutError:
            raise GatewayError("INTEGRATION_TIMEOUT") from None
        out_body = response.body
        if response.stream is not None:
            chunks = []
            async for chunk in response.stream:
                chunks.append(chunk)
            out_body = b"".join(chunks)
        out_headers = response.headers
        if legacy is not None and response.status == 200:
            out_body = _legacy_envelope(model, legacy, out_body, next(
                (v for k, v in out_headers if k.lower() == "x-amzn-requestid"), state.request_id))
            out_headers = [(k, v) for k, v in out_headers if k.lower() != "content-type"]
            out_headers.append(("Content-Type", "application/json"))
        if wants_json and (protocol == "query" or spec.legacy_query_model) and out_body.lstrip().startswith(b"<"):
            # query services answer JSON to "Accept: application/json", as AWS's do for API Gateway
            converted = _xml_to_json(out_body)
            if converted is not None:
                out_body = converted
                out_headers = [(k, v) for k, v in out_headers if k.lower() != "content-type"]
                out_headers.append(("Content-Type", "application/json"))
        # the service's request id, $context.awsEndpointRequestId of the response templates
        state.context["awsEndpointRequestId"] = next(
            (v for k, v in response.headers if k.lower() == "x-amzn-requestid"), state.request_id)
        return {"status": response.status, "headers": out_headers, "body": out_body,
                "subject": str(response.status)}

    # -- HTTP --------------------------------------------------------------------------------

    def _http_url(self, stage, state, plan, greedy: bool) -> str:
        uri = _substitute_stage_vars(plan.integration.get("uri", ""), stage.variables)
        paths = self._mapped_params(state, plan, "path")
        if greedy:
            for name, value in state.path_params.items():
                paths.setdefault(name, value)
        for name, value in paths.items():
            uri = uri.replace("{" + name + "+}", value).replace("{" + name + "}", value)
        if not uri.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0]:
            # no host (a stage variable the stage does not define): AWS's configuration error, 500
            state.failure_log = "Execution failed due to configuration error: Invalid endpoint address"
            log.warning("API Gateway %s: integration endpoint %r has no host", stage.api_id, uri)
            raise GatewayError("API_CONFIGURATION_ERROR")
        return uri

    async def _http_proxy(self, stage, state, plan, timeout) -> HttpResponse:
        import httpx

        url = self._http_url(stage, state, plan, greedy=True)
        # the client's headers (less the Host, framing, proxy ones and Content-Encoding, as AWS's
        # recorded backend requests show), a mapped header replacing the client's of that name,
        # and API Gateway's own X-Amzn-Apigateway-Api-Id and X-Amzn-Trace-Id
        headers = {k: v for k, v in state.headers.items() if k not in _HTTP_PROXY_UNSENT_HEADERS}
        mapped = {k: v for k, v in self._mapped_params(state, plan, "header").items()
                  if k.lower() not in _HTTP_UNSENT_HEADERS}
        for name in mapped:
            headers.pop(name.lower(), None)
        headers.update(mapped)
        headers["X-Amzn-Apigateway-Api-Id"] = stage.api_id
        headers["X-Amzn-Trace-Id"] = _trace_header(state.request.headers.get("x-amzn-trace-id"))
        state.untraced = True  # the answer is the backend's: AWS's recorded ones carry no X-Amzn-Trace-Id
        params = [(k, v) for k, vs in state.multi_query.items() for v in vs]
        for k, v in self._mapped_params(state, plan, "querystring").items():
            params.append((k, v))
        method = plan.integration.get("httpMethod") or state.http_method
        if method == "ANY":
            method = state.http_method
        url, params = _query_apart(url, params)
        url = _loopback(url, headers)
        try:
            response = await self.http_client().request(method, url, headers=headers, params=params,
                                                        content=state.request.body, timeout=timeout)
        except httpx.TimeoutException:
            raise GatewayError("INTEGRATION_TIMEOUT") from None
        except httpx.HTTPError as e:
            log.warning("API Gateway %s: HTTP_PROXY %s failed: %s", stage.api_id, url, e)
            raise GatewayError("INTEGRATION_FAILURE", "Internal server error") from None
        # the backend's headers as it spelt them; those API Gateway answers itself (Connection,
        # Content-Length, Date, Server, ...) as x-amzn-Remapped-<name> (AWS's recorded answers);
        # the body's framing and encoding are the answer's own (httpx decoded the body)
        out_headers = []
        for raw_name, raw_value in response.headers.raw:
            name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
            if name.lower() not in ("transfer-encoding", "content-encoding"):
                out_headers.append((_response_header_name(name), value))
        out_headers += [("x-amzn-RequestId", state.request_id), ("x-amz-apigw-id", state.extended_id)]
        return HttpResponse(response.status_code, out_headers, response.content)

    async def _http_call(self, stage, state, plan, body: bytes, timeout) -> dict:
        import httpx

        url = self._http_url(stage, state, plan, greedy=False)
        headers = self._http_headers(stage, state, self._mapped_params(state, plan, "header"))
        params = self._mapped_params(state, plan, "querystring")
        method = plan.integration.get("httpMethod") or "GET"
        if method == "ANY":
            method = state.http_method
        if body and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = state.headers.get("content-type", "application/json")
        url, params = _query_apart(url, list(params.items()))
        url = _loopback(url, headers)
        try:
            response = await self.http_client().request(method, url, headers=headers, params=params, content=body,
                                                        timeout=timeout)
        except httpx.TimeoutException:
            raise GatewayError("INTEGRATION_TIMEOUT") from None
        except httpx.HTTPError as e:
            log.warning("API Gateway %s: HTTP %s failed: %s", stage.api_id, url, e)
            raise GatewayError("INTEGRATION_FAILURE", "Internal server error") from None
        return {"status": response.status_code, "headers": list(response.headers.items()), "body": response.content,
                "subject": str(response.status_code)}

    @staticmethod
    def _http_headers(stage, state, mapped: dict) -> dict:
        """An HTTP integration's request headers as API Gateway sends them (AWS's recorded backend
        requests): the mapped ones, less the hop-by-hop and proxy headers it never passes on
        (Connection, Expect, Proxy-Authenticate, TE, Via); `Accept: application/json` and
        `User-Agent: AmazonAPIGateway_<apiId>` unless mapped; and its own
        `X-Amzn-Apigateway-Api-Id` and `X-Amzn-Trace-Id` (the trace the answer carries)."""
        headers = {k: v for k, v in mapped.items() if k.lower() not in _HTTP_UNSENT_HEADERS}
        named = {k.lower() for k in headers}
        if "accept" not in named:
            headers["Accept"] = "application/json"
        if "user-agent" not in named:
            headers["User-Agent"] = f"AmazonAPIGateway_{stage.api_id}"
        headers["X-Amzn-Apigateway-Api-Id"] = stage.api_id
        state.trace_header = _trace_header(state.request.headers.get("x-amzn-trace-id"))
        headers["X-Amzn-Trace-Id"] = state.trace_header
        return headers

    # -- response mapping --------------------------------------------------------------------

    def _respond(self, state, plan, result: dict) -> HttpResponse:
        ir = plan.select_response(result.get("subject"))
        if ir is None:
            log.warning("API Gateway %s: Execution failed due to configuration error: No match for output mapping "
                        "and no default output mapping configured", state.stage.api_id)
            raise GatewayError("API_CONFIGURATION_ERROR")
        status = int(ir.get("statusCode") or 200)
        body = result.get("body") or b""
        body_text = body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else str(body)
        response_view = {"headers": result.get("headers") or [], "body_text": body_text}
        headers: list[tuple[str, str]] = []
        content_type = None
        for target, expr in (ir.get("responseParameters") or {}).items():
            if target.startswith("method.response.header."):
                value = state.param_value(expr, response_view)
                if value is not None:
                    name = target[len("method.response.header."):]
                    if name.lower() == "transfer-encoding":
                        continue  # the answer's framing is API Gateway's own
                    name = _response_header_name(name)
                    headers.append((name, str(value)))
                    if name.lower() == "content-type":
                        content_type = str(value)
        source_type = next((v for k, v in result.get("headers") or [] if k.lower() == "content-type"), None)
        templates = ir.get("responseTemplates") or {}
        template = None
        if templates:
            accept = state.headers.get("accept", "")
            key = next((k for k in templates if k in accept), None)
            if key is None:
                key = "application/json" if "application/json" in templates else next(iter(templates))
            template = templates[key]
            if content_type is None:
                content_type = key
        handling = ir.get("contentHandling")
        payload_binary = state.stage.is_binary(source_type or "")
        if template:
            if handling == "CONVERT_TO_BINARY":
                # binary data cannot reach a mapping template (AWS's recorded 500)
                log.warning("API Gateway %s: CONVERT_TO_BINARY with a response template", state.stage.api_id)
                raise GatewayError("DEFAULT_5XX")
            text = base64.b64encode(body).decode() if payload_binary and isinstance(body, bytes) else body_text
            try:
                body = mapping.render(template, state, text).encode()
            except VtlError as e:
                log.warning("API Gateway %s: response template failed: %s", state.stage.api_id, e)
                raise GatewayError("DEFAULT_5XX") from None
        else:
            # AWS's conversion table (payload encodings): without a contentHandling, an Accept of
            # one of the binaryMediaTypes converts to binary and any other to text. To text: a
            # binary payload (its Content-Type one of the binaryMediaTypes) is base64-encoded, a
            # text one read as UTF-8 (U+FFFD for other bytes); to binary: a binary payload is
            # answered as is, a text one base64-decoded (AWS's 500 when it is not base64)
            accept_first = state.headers.get("accept", "").split(",", 1)[0]
            if handling is None:
                handling = "CONVERT_TO_BINARY" if state.stage.is_binary(accept_first) else "CONVERT_TO_TEXT"
            if handling == "CONVERT_TO_TEXT":
                if payload_binary:
                    body = base64.b64encode(body)
                elif not body.isascii():
                    body = body_text.encode()
            elif not payload_binary:
                body = _base64_decoded(body, state)
        if content_type is None:
            content_type = source_type
        if content_type is None:
            content_type = "application/json"
        if not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", content_type))
        status, headers = _overridden(state.response_override, status, headers)
        headers += [("x-amzn-RequestId", state.request_id), ("x-amz-apigw-id", state.extended_id)]
        return HttpResponse(status, headers, body if isinstance(body, bytes) else bytes(body))


def _query_input(model, operation, query: dict) -> bytes:
    """A JSON service's input from awsQuery-named parameters (`Name=x`, `Names.member.1=x`)."""
    from overcast.aws.protocols import query as query_protocol

    try:
        params = query_protocol.form_input(model, operation, query)
        return orjson.dumps(params, default=lambda v: base64.b64encode(v).decode())
    except (AwsError, TypeError):
        raise GatewayError("DEFAULT_5XX") from None


def _legacy_envelope(model, operation, body: bytes, request_id: str) -> bytes:
    """A JSON service's answer as its query form renders it in JSON: `{"<Op>Response":
    {"<Op>Result": …, "ResponseMetadata": {"RequestId": …}}}`, every member of the output's
    structures present (null when not set)."""
    try:
        output = orjson.loads(body) if body.strip() else {}
    except orjson.JSONDecodeError:
        return body

    def filled(shape_name: str, value):
        shape = model.shapes[shape_name]
        kind = shape["type"]
        if kind == "structure" and isinstance(value, dict):
            return {name: filled(ref["shape"], value[name]) if value.get(name) is not None else None
                    for name, ref in shape.get("members", {}).items()}
        if kind == "list" and isinstance(value, list):
            return [filled(shape["member"]["shape"], v) for v in value]
        if kind == "map" and isinstance(value, dict):
            return {k: filled(shape["value"]["shape"], v) for k, v in value.items()}
        return value

    result = filled(operation.output_shape, output) if operation.output_shape else None
    name = operation.name
    return orjson.dumps({f"{name}Response": {f"{name}Result": result,
                                             "ResponseMetadata": {"RequestId": request_id}}})


def _xml_to_json(body: bytes) -> bytes | None:
    """An awsQuery XML answer as the JSON AWS gives the same action: elements become objects,
    repeated elements lists, leaves their text."""
    from xml.etree import ElementTree

    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return None

    def local(tag: str) -> str:
        return tag.rsplit("}", 1)[-1]

    def convert(element):
        children = list(element)
        if not children:
            return element.text
        out: dict = {}
        for child in children:
            name, value = local(child.tag), convert(child)
            if name in out:
                if not isinstance(out[name], list):
                    out[name] = [out[name]]
                out[name].append(value)
            else:
                out[name] = value
        return out

    return orjson.dumps({local(root.tag): convert(root)})


def _base64_decoded(text, state) -> bytes:
    """CONVERT_TO_BINARY of a text payload: its base64 decoding, or AWS's 500 for text that is
    not base64."""
    try:
        return base64.b64decode(text.strip(), validate=True)
    except ValueError:
        log.warning("API Gateway %s: CONVERT_TO_BINARY of a payload that is not base64", state.stage.api_id)
        raise GatewayError("DEFAULT_5XX") from None


def _header_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_STAGE_VAR = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")


def _query_apart(url: str, params: list[tuple[str, str]]) -> tuple[str, list[tuple[str, str]]]:
    """The integration URI's own query string (`?a=b`, `?${stageVariables.qs}`) kept before the
    parameters added to it: httpx replaces a URL's query with the `params` it is given."""
    base, mark, query = url.partition("?")
    if not mark:
        return url, params
    return base, parse_qsl(query, keep_blank_values=True) + params


def _loopback(url: str, headers: dict):
    """A URL under localhost.localstack.cloud (the host names overcast hands out: Lambda function
    URLs, execute-api) is 127.0.0.1 by definition (public DNS answers so): connect there, with the
    name in the Host header, so that it works on a machine without DNS too."""
    import httpx

    parsed = httpx.URL(url)
    host = parsed.host
    if host != "localhost.localstack.cloud" and not host.endswith(".localhost.localstack.cloud"):
        return url
    for k in [k for k in headers if k.lower() == "host"]:
        del headers[k]
    headers["Host"] = f"{host}:{parsed.port}" if parsed.port else host
    return parsed.copy_with(host="127.0.0.1")


def _param_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _response_header_name(name: str) -> str:
    return "x-amzn-Remapped-" + name if name.lower() in _REMAPPED_RESPONSE_HEADERS else name


def _overridden(override: dict, status: int, headers: list) -> tuple[int, list]:
    """The method response after what the templates set in $context.responseOverride: its
    status (when a valid HTTP status) and headers (replacing those of the same name)."""
    wanted = override.get("status")
    try:
        wanted = int(wanted) if wanted is not None and not isinstance(wanted, bool) else None
    except (TypeError, ValueError):
        wanted = None
    if wanted is not None and 100 <= wanted <= 599:
        status = wanted
    header = override.get("header")
    extra = {_response_header_name(str(k)): _param_text(v) for k, v in header.items()
             if v is not None and str(k).lower() != "transfer-encoding"} if isinstance(header, dict) else {}
    if extra:
        lowered = {k.lower() for k in extra}
        headers = [(k, v) for k, v in headers if k.lower() not in lowered] + list(extra.items())
    return status, headers


def _trace_header(sent: str | None) -> str:
    """The X-Amzn-Trace-Id a proxy event carries, as API Gateway's front end sets it on every
    request: the client's when it names its parent, the client's trace with a parent of API
    Gateway's when it names only the trace, else a new trace (this request's span's when tracing
    is on)."""
    context = tracing.parse_header(sent)
    if context is None:
        return tracing.current_header() or tracing.random_header()
    if context.parent_id:
        return sent
    return tracing.format_header(context.trace_id, tracing.new_span_id(), context.sampled)


def _substitute_stage_vars(text: str, variables: dict) -> str:
    if "${" not in text:
        return text
    return _STAGE_VAR.sub(lambda m: variables.get(m.group(1), ""), text)


def _unquote(path: str) -> str:
    from urllib.parse import unquote

    return unquote(path)
