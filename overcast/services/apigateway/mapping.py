"""Per-request state and per-method plans: the request as API Gateway sees it ($context,
$input, $stageVariables, parameter mappings), request validation, and VTL rendering with
API Gateway's variables on the shared engine (overcast/vtl)."""

from __future__ import annotations

import base64
import json
import os
import re
import time
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import parse_qsl, unquote

import orjson

from overcast import tracing, vtl
from overcast.services.apigateway.errors import GatewayError
from overcast.vtl import jsonpath


def media_matches(content_type: str, patterns) -> bool:
    if not content_type or not patterns:
        return False
    ctype = content_type.split(";", 1)[0].strip().lower()
    for pattern in patterns:
        p = pattern.lower()
        if p.startswith("*/") and p != "*/*":
            continue  # a wildcard on the left matches nothing, not even itself (AWS's recorded answers)
        if p == ctype or p == "*/*":
            return True
        if p.endswith("/*") and ctype.startswith(p[:-1]):
            return True
    return False


class Util(vtl.Util):
    """API Gateway's $util."""


UTIL = Util()


# API Gateway's Velocity prints a JSON object as a Java map (`{foo=bar}`), a JSON array as JSON
# (`[{"foo":"bar"}]`, objects inside it too), true/false, null
_java_text = vtl.java_printer(lambda items, _text: vtl.to_json(items))


# and a null reference prints nothing (AWS's recorded answers: `$input.path('$.missing')` is empty)
RENDERING = vtl.Rendering(_java_text, null="", null_is_empty=True)


class InputApi:
    """$input: body, json(path), path(path), params(name)."""

    __slots__ = ("_body", "_state", "_parsed", "_has_parsed")

    def __init__(self, body: str, state):
        self._body = body
        self._state = state
        self._has_parsed = False
        self._parsed = None

    def _doc(self):
        if not self._has_parsed:
            text = self._body
            if not text or not text.strip():
                self._parsed = {}
            else:
                try:
                    self._parsed = json.loads(text)
                except ValueError:
                    self._parsed = text
            self._has_parsed = True
        return self._parsed

    @property
    def body(self):
        return self._body or "{}"  # an empty body is an empty JSON object, as on AWS

    def path(self, expr):
        try:
            return jsonpath.evaluate(self._doc(), expr)
        except jsonpath.JsonPathError as e:
            raise vtl.VtlError(str(e)) from None

    def json(self, expr):
        value = self.path(expr)
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False) if value is not None else ""

    def params(self, name=None):
        state = self._state
        if name is None:
            return {"path": dict(state.path_params), "querystring": dict(state.query),
                    "header": dict(state.headers_cased)}
        for source in (state.path_params, state.query, state.headers_cased):
            if name in source:
                return source[name]
        lowered = state.headers.get(name.lower())
        return lowered if lowered is not None else ""

    def size(self):
        return len(self._body)


def render(template, state, body_text: str) -> str:
    """A mapping template rendered against the request, as the span APIGateway.MappingTemplate
    (its input the body, its output what the template made)."""
    namespace = {
        "input": InputApi(body_text, state),
        "context": state.context,
        "stageVariables": state.stage.variables,
        "util": UTIL,
    }
    with tracing.hop("apigateway", "MappingTemplate", account=state.stage.account, region=state.stage.region,
                     request=body_text,
                     attributes={"template": template[:512] if isinstance(template, str) else "(compiled)"}) as span:
        out = vtl.render(vtl.compile_template(template) if isinstance(template, str) else template, namespace,
                         RENDERING)
        span.set_response(out)
    return out


class SchemaSet:
    """The API's models as draft-4 validators, compiled on first use; models refer to each
    other with https://apigateway.amazonaws.com/restapis/{api}/models/{name}."""

    def __init__(self, api_id: str, models: dict):
        self.api_id = api_id
        self.models = models
        self._validators: dict = {}
        self._registry = None

    def _schema(self, name):
        model = self.models.get(name)
        if model is None or not model.get("schema"):
            return None
        try:
            return orjson.loads(model["schema"])
        except orjson.JSONDecodeError:
            return None

    def validator(self, name: str):
        if name in self._validators:
            return self._validators[name]
        schema = self._schema(name)
        validator = None
        if schema is not None:
            import jsonschema
            from referencing import Registry, Resource
            from referencing.jsonschema import DRAFT4

            if self._registry is None:
                resources = []
                for other in self.models:
                    s = self._schema(other)
                    if isinstance(s, dict):
                        uri = f"https://apigateway.amazonaws.com/restapis/{self.api_id}/models/{other}"
                        resources.append((uri, Resource.from_contents(s, default_specification=DRAFT4)))
                self._registry = Registry().with_resources(resources)
            try:
                validator = jsonschema.Draft4Validator(schema, registry=self._registry)
            except Exception:
                validator = None
        self._validators[name] = validator
        return validator


class MethodPlan:
    """What one method does, compiled from the deployment once."""

    def __init__(self, stage, resource: dict, method: dict):
        self.stage = stage
        self.resource = resource
        self.method = method
        self.http_method = method["httpMethod"]
        self.authorization = method.get("authorizationType") or "NONE"
        self.authorizer = stage.authorizers.get(method.get("authorizerId") or "")
        self.api_key_required = bool(method.get("apiKeyRequired"))
        self.integration = method.get("methodIntegration") or {}
        path = resource["path"]
        # usage plan method throttles are keyed "/items/GET"; stage method settings "~1items/GET"
        self.throttle_key = f"{path}/{self.http_method}"
        self.settings_key = f"{path.replace('~', '~0').replace('/', '~1')}/{self.http_method}"
        validator = stage.snapshot.get("requestValidators", {}).get(method.get("requestValidatorId") or "") or {}
        self.validate_body = bool(validator.get("validateRequestBody"))
        self.validate_params = bool(validator.get("validateRequestParameters"))
        self.required_params = [k for k, required in (method.get("requestParameters") or {}).items() if required]
        self.request_models = method.get("requestModels") or {}
        responses = []
        default = None
        for _status, ir in (self.integration.get("integrationResponses") or {}).items():
            pattern = ir.get("selectionPattern")
            if pattern:
                try:
                    responses.append((re.compile(pattern, re.DOTALL), ir))
                except re.error:
                    continue
            else:
                default = ir
        self.integration_responses = responses
        self.default_response = default
        self.method_responses = method.get("methodResponses") or {}

    def select_response(self, subject: str | None) -> dict | None:
        if subject is not None:
            for pattern, ir in self.integration_responses:
                if pattern.fullmatch(subject):
                    return ir
        return self.default_response

    def validate(self, state) -> None:
        if self.validate_params and self.required_params:
            missing = []
            # AWS lists them by location: headers, then path, then query string
            for key in sorted(self.required_params, key=lambda k: k.split(".", 3)[2]):
                _, _, where, name = key.split(".", 3)
                if where == "querystring" and name not in state.query:
                    missing.append(name)
                elif where == "header" and name.lower() not in state.headers:
                    missing.append(name)
                elif where == "path" and not state.path_params.get(name):
                    missing.append(name)
            if missing:
                raise GatewayError("BAD_REQUEST_PARAMETERS",
                                   f"Missing required request parameters: [{', '.join(missing)}]")
        if self.validate_body and self.request_models:
            ctype = (state.headers.get("content-type") or "application/json").split(";", 1)[0].strip().lower()
            model = self.request_models.get(ctype) or self.request_models.get("$default")
            if model is None and len(self.request_models) == 1 and "content-type" not in state.headers:
                model = next(iter(self.request_models.values()))
            if model is None:
                return
            validator = self.stage.schemas.validator(model)
            if validator is None:
                return
            try:
                document = json.loads(state.body_text() or "null")
            except ValueError:
                raise GatewayError("BAD_REQUEST_BODY", "Invalid request body") from None
            if not validator.is_valid(document):
                raise GatewayError("BAD_REQUEST_BODY", "Invalid request body")


# request headers that are API Gateway's own and never part of the method request: a Lambda proxy
# event and an HTTP_PROXY call leave them out, `$input.params()` reads them as empty, whatever the
# client sent (AWS's recorded answers in LocalStack's header remapping tests)
_UNSEEN_HEADERS = frozenset((
    "connection", "content-md5", "expect", "max-forwards", "proxy-authenticate", "server", "te", "trailer",
    "transfer-encoding", "upgrade", "www-authenticate"))


class RequestState:
    """One request as API Gateway sees it."""

    def __init__(self, stage, request, path: str, request_id: str):
        self.stage = stage
        self.request = request
        self.path = path  # after the stage, percent-decoded: what routing matches
        self.raw_path = _as_sent(request, path)  # the same path as the client sent it (%2B kept)
        self.http_method = request.method.upper()
        self.request_id = request_id
        self._extended_id = None
        headers = request.headers
        if not _UNSEEN_HEADERS.isdisjoint(headers):
            headers = {k: v for k, v in headers.items() if k not in _UNSEEN_HEADERS}
        self.headers = headers  # the method request's headers (lower-cased names)
        self.started = time.time()
        self.query: dict[str, str] = {}
        self.multi_query: dict[str, list[str]] = {}
        for k, v in parse_qsl(request.query_string, keep_blank_values=True):
            self.query[k] = v
            self.multi_query.setdefault(k, []).append(v)
        self._sent_names = _sent_names(request)
        self.headers_cased = {self._sent_names.get(k) or _title(k): v for k, v in headers.items()}
        self.path_params: dict[str, str] = {}
        self.resource = None
        self.plan = None
        self.trace_header: str | None = None  # the X-Amzn-Trace-Id a Lambda proxy event carried
        self.untraced = False  # refused before any backend was called: the answer has no X-Amzn-Trace-Id
        self.failure_log: str | None = None  # why the execution failed, for TestInvokeMethod's log
        self.endpoint_log: list[str] | None = None  # TestInvokeMethod's lines for the endpoint call
        self.canary: bool | None = None  # served by the stage's canary (None: the stage has none)
        self.integration_latency: int | None = None  # ms the integration took ($context.integrationLatency)
        self.api_key = None
        self.authorizer_api_key = None
        self.authorizer: dict | None = None  # {principalId, claims or context...}
        self.identity_extra: dict = {}
        self.error: dict = {}
        # what mapping templates set in $context.requestOverride (the integration request's
        # header, querystring and path parameters) and $context.responseOverride (the method
        # response's status and headers): kept across the request's templates
        self.request_override: dict = {"header": {}, "querystring": {}, "path": {}}
        self.response_override: dict = {"header": {}}
        self._context = None
        self._body_text = None

    def multi_headers_cased(self) -> dict[str, list[str]]:
        """multiValueHeaders: every value of a repeated header, apart."""
        return {self._sent_names.get(k) or _title(k): self.request.header_values(k) for k in self.headers}

    @property
    def extended_id(self) -> str:
        """AWS's extendedRequestId (x-amz-apigw-id): 16 characters."""
        if self._extended_id is None:
            self._extended_id = os.urandom(8).hex().upper()
        return self._extended_id

    def invalidate_context(self) -> None:
        """$context is built once; identity or authorizer facts learnt later rebuild it."""
        self._context = None

    def bind(self, resource, plan, path_params) -> None:
        self.resource = resource
        self.plan = plan
        self.path_params = path_params
        self._context = None

    def raw_path_params(self) -> dict[str, str]:
        """The path parameters as the client sent them, percent-encoding kept (a Lambda proxy
        event's `pathParameters`: AWS's recorded `test%2Balias`). Decoded when the raw path does
        not split into the same segments (an encoded `/`)."""
        if self.raw_path == self.path or not self.path_params:
            return dict(self.path_params)
        segments, raw = self.path.strip("/").split("/"), self.raw_path.strip("/").split("/")
        if len(segments) != len(raw):
            return dict(self.path_params)
        params = dict(self.path_params)
        for i, part in enumerate(self.resource["path"].strip("/").split("/")):
            if part.startswith("{") and part.endswith("+}"):
                params[part[1:-2]] = "/".join(raw[i:])
            elif part.startswith("{") and part.endswith("}"):
                params[part[1:-1]] = raw[i]
        return params

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def is_binary(self) -> bool:
        return self.stage.is_binary(self.headers.get("content-type", ""))

    def body_text(self) -> str:
        if self._body_text is None:
            body = self.request.body
            if self.is_binary:
                self._body_text = base64.b64encode(body).decode()
            else:
                self._body_text = body.decode("utf-8", "replace")
        return self._body_text

    @property
    def request_time(self) -> str:
        return _clf_time(int(self.started))

    @property
    def domain_name(self) -> str:
        # the Host header as sent (AWS's recorded events: domainName equals Host), port and all
        return self.headers.get("host", "") or f"{self.stage.api_id}.execute-api.localhost"

    def identity(self) -> dict:
        client = self.request.client
        identity = {
            "cognitoIdentityPoolId": None, "accountId": None, "cognitoIdentityId": None, "caller": None,
            "sourceIp": client[0] if client else "127.0.0.1", "principalOrgId": None, "accessKey": None,
            "cognitoAuthenticationType": None, "cognitoAuthenticationProvider": None, "userArn": None,
            "userAgent": self.headers.get("user-agent"), "user": None,
        }
        if self.api_key is not None:
            identity["apiKey"] = self.api_key["value"]
            identity["apiKeyId"] = self.api_key["id"]
        identity.update(self.identity_extra)
        return identity

    @property
    def context(self) -> dict:
        if self._context is None:
            stage = self.stage
            resource = self.resource or {}
            ctx = {
                "accountId": stage.account, "apiId": stage.api_id, "domainName": self.domain_name,
                "domainPrefix": self.domain_name.split(":", 1)[0].split(".", 1)[0], "extendedRequestId": self.extended_id,
                "httpMethod": self.http_method, "identity": self.identity(), "path": f"/{stage.stage_name}{self.raw_path}",
                "protocol": "HTTP/1.1", "requestId": self.request_id, "deploymentId": stage.deployment_id,
                "requestTime": self.request_time, "requestTimeEpoch": int(self.started * 1000),
                "resourceId": resource.get("id"), "resourcePath": resource.get("path"), "stage": stage.stage_name,
            }
            if self.authorizer is not None:
                ctx["authorizer"] = self.authorizer
            if self.canary is not None:
                ctx["isCanaryRequest"] = self.canary
            self._context = ctx
        # $context.error is there once a gateway response is made (AWS's $context.keySet() of an
        # integration request has no error, nor awsEndpointRequestId before an AWS service answered)
        if self.error:
            self._context["error"] = self.error
        self._context["requestOverride"] = self.request_override
        self._context["responseOverride"] = self.response_override
        return self._context

    def param_value(self, expr: str, response: dict | None = None):
        """A mapping expression's value: 'literal', method.request.{path|querystring|header|
        multivaluequerystring|multivalueheader}.x, method.request.body[.JSONPath],
        stageVariables.x, context.x, integration.response.{header|body}..."""
        if expr is None:
            return None
        expr = expr.strip()
        if len(expr) >= 2 and expr[0] == "'" and expr[-1] == "'":
            return expr[1:-1]
        if expr.startswith("method.request."):
            rest = expr[len("method.request."):]
            if rest == "body":
                return self.body_text()
            if rest.startswith("body."):
                try:
                    value = jsonpath.evaluate(json.loads(self.body_text() or "null"), "$" + rest[4:])
                except (ValueError, jsonpath.JsonPathError):
                    return None
                return value if isinstance(value, str) or value is None else json.dumps(value)
            where, _, name = rest.partition(".")
            if where == "path":
                return self.path_params.get(name)
            if where == "querystring":
                return self.query.get(name)
            if where == "multivaluequerystring":
                return ",".join(self.multi_query.get(name, [])) or None
            if where in ("header", "multivalueheader"):
                return self.headers.get(name.lower())
            return None
        if expr.startswith("stageVariables."):
            return self.stage.variables.get(expr[len("stageVariables."):])
        if expr.startswith("context."):
            value = self.context
            for part in expr[len("context."):].split("."):
                value = value.get(part) if isinstance(value, dict) else None
            return value if value is None or isinstance(value, str) else json.dumps(value) if isinstance(value, (dict, list)) else str(value)
        if expr.startswith("integration.response.") and response is not None:
            rest = expr[len("integration.response."):]
            if rest.startswith("header.") or rest.startswith("multivalueheader."):
                name = rest.split(".", 1)[1].lower()
                for k, v in response.get("headers", []):
                    if k.lower() == name:
                        return v
                return None
            if rest == "body":
                return response.get("body_text")
            if rest.startswith("body."):
                try:
                    value = jsonpath.evaluate(json.loads(response.get("body_text") or "null"), "$" + rest[4:])
                except (ValueError, jsonpath.JsonPathError):
                    return None
                return value if isinstance(value, str) or value is None else json.dumps(value)
        return None


@lru_cache(maxsize=8)
def _clf_time(second: int) -> str:
    """The request time as AWS writes it (09/Apr/2015:12:34:56 +0000); one format per second."""
    return datetime.fromtimestamp(second, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def _sent_names(request) -> dict[str, str]:
    """Lower-cased header name -> the name as the client spelt it (its first spelling): AWS
    passes header names on that way (`tEsT-HEADeR`)."""
    sent: dict[str, str] = {}
    for raw in request.header_names or ():
        name = raw.decode("latin-1")
        sent.setdefault(name.lower(), name)
    return sent


@lru_cache(maxsize=512)
def _title(name: str) -> str:
    return "-".join(p[:1].upper() + p[1:] for p in name.split("-"))


def _as_sent(request, path: str) -> str:
    """`path` (the decoded end of the request's path) as the client sent it: the end of the raw
    path that decodes to it. API Gateway keeps a REST API's path percent-encoded in what it
    passes on ($context.path, a Lambda proxy event's `path`); routing matches the decoded one.
    The path itself when nothing was encoded, or when no end of the raw path decodes to it."""
    raw = request.raw_path
    if raw == request.path or "%" not in raw:
        return path
    start = raw.find("/")
    while start != -1:
        if unquote(raw[start:]) == path:
            return raw[start:]
        start = raw.find("/", start + 1)
    return path
