"""The data plane of REST APIs: a stage's deployment compiled once into a router and per-method
plans (templates, validators, schemas), then each request walked through AWS's pipeline —
route, authorize, API key and usage plan, validate, integrate, map the response — with gateway
responses for every failure."""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

import orjson

from overcast import tracing, vtl
from overcast.aws.context import HttpRequest, HttpResponse
from overcast.engine import access_logs
from overcast.services.apigateway import authorizers, integrations, mapping
from overcast.services.apigateway.errors import GATEWAY_ERRORS, GatewayError
from overcast.vtl import VtlError

log = logging.getLogger("overcast.apigateway")

MAX_BODY = 10 * 1024 * 1024

# -- routing -----------------------------------------------------------------------------------


class _Node:
    __slots__ = ("static", "param", "param_name", "greedy", "greedy_name", "resource")

    def __init__(self):
        self.static: dict[str, _Node] = {}
        self.param: _Node | None = None
        self.param_name = ""
        self.greedy: _Node | None = None
        self.greedy_name = ""
        self.resource: dict | None = None


def build_router(resources: dict) -> _Node:
    root = _Node()
    for resource in resources.values():
        node = root
        for part in [p for p in resource["path"].split("/") if p]:
            if part.startswith("{") and part.endswith("+}"):
                if node.greedy is None:
                    node.greedy = _Node()
                node.greedy_name = part[1:-2]
                node = node.greedy
            elif part.startswith("{") and part.endswith("}"):
                if node.param is None:
                    node.param = _Node()
                node.param_name = part[1:-1]
                node = node.param
            else:
                node = node.static.setdefault(part, _Node())
        node.resource = resource
    return root


def _has_method(resource: dict | None, http_method: str) -> bool:
    if resource is None:
        return False
    methods = resource.get("resourceMethods") or {}
    return http_method in methods or "ANY" in methods


def match_route(root: _Node, segments: list[str], http_method: str) -> tuple[dict, dict] | None:
    """The resource for a path, AWS's precedence: static, then {param}, then {proxy+}; a
    resource without the method (or ANY) lets a less specific one answer."""

    def walk(node: _Node, i: int, params: dict):
        if i == len(segments):
            if _has_method(node.resource, http_method):
                return node.resource, params
            return None
        seg = segments[i]
        child = node.static.get(seg)
        if child is not None:
            found = walk(child, i + 1, params)
            if found:
                return found
        if node.param is not None and seg:
            found = walk(node.param, i + 1, {**params, node.param_name: seg})
            if found:
                return found
        if node.greedy is not None and _has_method(node.greedy.resource, http_method):
            return node.greedy.resource, {**params, node.greedy_name: "/".join(segments[i:])}
        return None

    return walk(root, 0, {})


# -- compiled deployment -----------------------------------------------------------------------


class CompiledStage:
    def __init__(self, plane, account, region, api, stage, snapshot, generation):
        self.account = account
        self.region = region
        self.api_id = api["id"]
        self.stage_name = stage["stageName"]
        self.deployment_id = stage["deploymentId"]
        self.variables = stage.get("variables") or {}
        self.method_settings = stage.get("methodSettings") or {}
        self.tracing_enabled = bool(stage.get("tracingEnabled"))
        settings = stage.get("accessLogSettings") or {}
        # (a line per request once both are set: the destination and the line's format)
        self.access_log = settings if settings.get("destinationArn") and settings.get("format") else None
        self.snapshot = snapshot
        self.generation = generation
        self.router = build_router(snapshot["resources"])
        self.binary_types = snapshot.get("binaryMediaTypes") or []
        self.api_key_source = snapshot.get("apiKeySource") or "HEADER"
        self.gateway_responses = snapshot.get("gatewayResponses") or {}
        self.authorizers = snapshot.get("authorizers") or {}
        self.plans: dict = {}  # api key value -> (key doc, plan doc)
        self.canary: CompiledStage | None = None  # the canary's deployment, and its share in %
        self.canary_percent = 0.0
        self.has_canary = False  # canarySettings set, whatever its share
        self._methods: dict[tuple[str, str], mapping.MethodPlan] = {}
        self.schemas = mapping.SchemaSet(self.api_id, snapshot.get("models") or {})

    def method_plan(self, resource: dict, http_method: str) -> mapping.MethodPlan:
        key = (resource["id"], http_method)
        plan = self._methods.get(key)
        if plan is None:
            methods = resource.get("resourceMethods") or {}
            method = methods.get(http_method) or methods["ANY"]
            plan = mapping.MethodPlan(self, resource, method)
            self._methods[key] = plan
        return plan

    def is_binary(self, content_type: str) -> bool:
        return mapping.media_matches(content_type, self.binary_types)


class TokenBucket:
    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: int):
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(float(self.burst), self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class DataPlane:
    def __init__(self, provider):
        self.provider = provider
        self._located: dict[str, tuple[str, str]] = {}
        self._absent: tuple[int, set[str]] = (-1, set())  # ids known not to be REST APIs, per generation
        self._stages: dict[tuple[str, str], CompiledStage] = {}
        self._buckets: dict[tuple, TokenBucket] = {}
        self._nodes = 1  # live nodes of the cluster when the buckets were made
        self.authorizer_cache: dict[tuple, tuple[float, dict]] = {}
        self.integrations = integrations.Integrations(provider)

    def reset(self) -> None:
        self._located.clear()
        self._absent = (-1, set())
        self._stages.clear()
        self._buckets.clear()
        self.authorizer_cache.clear()

    async def stop(self) -> None:
        await self.integrations.close()

    def forget(self, api_id: str) -> None:
        self._located.pop(api_id, None)

    def flush_authorizer_cache(self, api_id: str) -> None:
        for key in [k for k in self.authorizer_cache if k[0] == api_id]:
            del self.authorizer_cache[key]

    # -- lookups -----------------------------------------------------------------------------

    def _locate(self, api_id: str):
        where = self._located.get(api_id)
        if where is None:
            generation, absent = self._absent
            if generation != self.provider.generation:
                absent = set()
                self._absent = (self.provider.generation, absent)
            elif api_id in absent:  # another service's API (v2), asked again: no query
                return None
            where = self.provider.store.locate_api(api_id)
            if where is not None:
                self._located[api_id] = where
            elif len(absent) < 10_000:
                absent.add(api_id)
        return where

    def _stage(self, api_id: str, stage_name: str) -> CompiledStage | None:
        compiled = self._stages.get((api_id, stage_name))
        generation = self.provider.generation
        if compiled is not None and compiled.generation == generation:
            return compiled
        where = self._locate(api_id)
        if where is None:
            return None
        account, region = where
        api = self.provider.store.get_api(account, region, api_id)
        if api is None:
            self._located.pop(api_id, None)
            return None
        stage = api["stages"].get(stage_name)
        if stage is None:
            return None
        snapshot = None
        if compiled is not None and compiled.deployment_id == stage["deploymentId"]:
            snapshot = compiled.snapshot
        if snapshot is None:
            snapshot = self.provider.store.get_snapshot(account, region, api_id, stage["deploymentId"])
        if snapshot is None:
            return None
        compiled = CompiledStage(self, account, region, api, stage, snapshot, generation)
        self._load_plans(compiled)
        self._compile_canary(compiled, api, stage)
        self._stages[(api_id, stage_name)] = compiled
        return compiled

    def _compile_canary(self, compiled: CompiledStage, api: dict, stage: dict) -> None:
        """A stage's canary release: its deployment, with the canary's stage variable overrides,
        serves percentTraffic % of the stage's requests (AWS's canary release)."""
        canary = stage.get("canarySettings") or {}
        compiled.has_canary = bool(stage.get("canarySettings"))
        percent = float(canary.get("percentTraffic") or 0)
        if percent <= 0 or not canary.get("deploymentId"):
            return
        snapshot = self.provider.store.get_snapshot(compiled.account, compiled.region, compiled.api_id,
                                                    canary["deploymentId"])
        if snapshot is None:
            return
        variables = {**(stage.get("variables") or {}), **(canary.get("stageVariableOverrides") or {})}
        canary_stage = {**stage, "deploymentId": canary["deploymentId"], "variables": variables}
        compiled.canary = CompiledStage(self, compiled.account, compiled.region, api, canary_stage, snapshot,
                                        compiled.generation)
        self._load_plans(compiled.canary)
        compiled.canary_percent = percent

    def _load_plans(self, compiled: CompiledStage) -> None:
        store = self.provider.store
        keys = {k["id"]: k for k in store.list_objects(compiled.account, compiled.region, "apikey")}
        for plan in store.list_objects(compiled.account, compiled.region, "usageplan"):
            stage_entry = next((s for s in plan.get("apiStages") or ()
                                if s.get("apiId") == compiled.api_id and s.get("stage") == compiled.stage_name), None)
            if stage_entry is None:
                continue
            for link in store.list_objects(compiled.account, compiled.region, "usageplankey", plan["id"] + "/"):
                key = keys.get(link["id"])
                if key is not None:
                    compiled.plans[key["value"]] = (key, plan, stage_entry)

    # -- serving -----------------------------------------------------------------------------

    async def handle(self, request: HttpRequest, api_id: str, path: str) -> HttpResponse | None:
        if self._locate(api_id) is None:
            return None
        stripped = path.lstrip("/")
        stage_name, _, rest = stripped.partition("/")
        compiled = self._stage(api_id, stage_name) if stage_name else None
        request_id = str(uuid.uuid4())
        if compiled is None:
            return plain_error(403, "ForbiddenException", "Forbidden", request_id)
        access_log = compiled.access_log  # (the stage's, also for its canary's requests)
        failure = None
        canary = None  # $context.isCanaryRequest: present only on a stage with a canary
        if compiled.has_canary:
            canary = compiled.canary is not None and random.random() * 100 < compiled.canary_percent
            if canary:
                compiled = compiled.canary
        state = mapping.RequestState(compiled, request, "/" + rest, request_id)
        state.canary = canary
        # the span APIGateway.Request (in the caller's trace when it sends X-Amzn-Trace-Id), whose
        # trace id the answer carries, as API Gateway's does
        with tracing.hop("apigateway", "Request", account=compiled.account, region=compiled.region,
                         resource=f"arn:aws:execute-api:{compiled.region}:{compiled.account}:{api_id}/"
                                  f"{compiled.stage_name}/{request.method}/{rest}",
                         parent=request.headers.get("x-amzn-trace-id"), request=request.body,
                         attributes={"method": request.method, "path": "/" + rest, "stage": compiled.stage_name,
                                     "requestId": request_id}) as span:
            try:
                if request.too_large or len(request.body) > MAX_BODY:
                    raise GatewayError("REQUEST_TOO_LARGE")
                response = await self._serve(compiled, state)
            except GatewayError as e:
                span.fail(f"{e.kind}: {e.message}")
                failure = e
                response = self.gateway_response(compiled, state, e)
            except Exception as e:
                log.exception("API Gateway %s %s failed", api_id, path)
                span.fail(e)
                failure = GatewayError("DEFAULT_5XX")
                response = self.gateway_response(compiled, state, failure)
            span.set("httpStatus", response.status)
            span.set_response(response.body if response.stream is None else None)
            if response.status >= 400 and span.status == "ok":
                span.fail(f"HTTP {response.status}")
            # the answer carries the trace of what the integration called (AWS's recorded answers:
            # a Lambda proxy's is the header its event got; a MOCK's has none unless the stage
            # traces with X-Ray, tracingEnabled)
            if state.trace_header is not None:
                response.headers.append(("X-Amzn-Trace-Id", state.trace_header))
            elif span.trace_id is not None and (compiled.tracing_enabled or not state.untraced and (
                    state.plan is None or state.plan.integration.get("type") != "MOCK")):
                response.headers.append(("X-Amzn-Trace-Id", f"Root={span.trace_id};Sampled=1"))
        # API Gateway's front end says so on every answer to a connection it keeps (AWS's
        # recorded headers); HTTP/2 drops the header (overcast.http2)
        if "close" not in (request.headers.get("connection") or "").lower() and \
                not any(k.lower() == "connection" for k, _ in response.headers):
            response.headers.append(("Connection", "keep-alive"))
        if access_log is not None:
            self._access_log(access_log, compiled, state, response, failure)
        return response

    def _access_log(self, settings: dict, compiled: CompiledStage, state, response: HttpResponse,
                    failure: GatewayError | None) -> None:
        """The request's line in the stage's access log: $context as mapping templates see it, and
        what only the answer knows."""
        variables = dict(state.context)
        latency = state.integration_latency
        variables.update(
            status=response.status, responseLatency=int((time.time() - state.started) * 1000),
            responseLength=len(response.body) if response.stream is None else None,
            integrationLatency=latency, integration={"latency": latency})
        if failure is not None:
            variables["error"] = {"message": failure.message, "responseType": failure.kind}
        access_logs.deliver(self.provider.providers, settings["destinationArn"],
                            access_logs.render(settings["format"], variables), compiled.api_id, compiled.stage_name)

    async def _serve(self, compiled: CompiledStage, state: mapping.RequestState) -> HttpResponse:
        # leading and trailing slashes do not count; an empty segment inside the path ("a//b")
        # matches no static or {param} resource, and a {proxy+} takes it as sent ("a//b"), as AWS does
        trimmed = state.path.strip("/")
        segments = trimmed.split("/") if trimmed else []
        found = match_route(compiled.router, segments, state.http_method)
        if found is None:
            raise GatewayError("MISSING_AUTHENTICATION_TOKEN")
        resource, path_params = found
        plan = compiled.method_plan(resource, state.http_method)
        state.bind(resource, plan, path_params)
        self._stage_throttle(compiled, plan)
        if plan.authorization == "AWS_IAM":
            await authorizers.check_iam(self.provider, state)
        elif plan.authorization in ("CUSTOM", "COGNITO_USER_POOLS"):
            await authorizers.run_authorizer(self, compiled, state, plan)
        if plan.api_key_required:
            self._check_api_key(compiled, state, plan)
        plan.validate(state)
        called = time.time()
        try:
            return await self.integrations.run(compiled, state, plan)
        finally:
            state.integration_latency = int((time.time() - called) * 1000)

    def _stage_throttle(self, compiled: CompiledStage, plan) -> None:
        settings = compiled.method_settings
        if not settings:
            return
        for key in (plan.settings_key, "*/*"):
            s = settings.get(key)
            if s and ("throttlingRateLimit" in s or "throttlingBurstLimit" in s):
                rate = float(s.get("throttlingRateLimit", 10000.0))
                burst = int(s.get("throttlingBurstLimit", 5000))
                if rate >= 10000 and burst >= 5000:
                    return
                bucket_key = ("stage", compiled.api_id, compiled.stage_name, key, rate, burst)
                if not self._take(bucket_key, rate, burst):
                    raise GatewayError("THROTTLED")
                return

    def _take(self, key, rate, burst) -> bool:
        # On a cluster of N live nodes each node admits 1/N of the rate and burst, so that the
        # cluster's total is the configured one behind a round-robin load balancer
        # (docs/cluster.md); the buckets are made anew when N changes. One node: N is 1.
        nodes = self.provider.providers.coordination.live_nodes()
        if nodes != self._nodes:
            self._nodes = nodes
            self._buckets.clear()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(rate / nodes, max(1, burst // nodes)) if nodes > 1 \
                else TokenBucket(rate, burst)
        return bucket.take()

    def _check_api_key(self, compiled: CompiledStage, state, plan) -> None:
        value = state.authorizer_api_key if compiled.api_key_source == "AUTHORIZER" else state.header("x-api-key")
        entry = compiled.plans.get(value) if value else None
        if entry is None or not entry[0].get("enabled", False):
            raise GatewayError("INVALID_API_KEY")
        key, usage_plan, stage_entry = entry
        state.api_key = key
        state.invalidate_context()
        method_throttle = (stage_entry.get("throttle") or {}).get(plan.throttle_key)
        if method_throttle:
            if not self._take(("plan", usage_plan["id"], key["id"], plan.throttle_key, method_throttle.get("rateLimit"),
                               method_throttle.get("burstLimit")),
                              float(method_throttle.get("rateLimit", 0)), int(method_throttle.get("burstLimit", 0))):
                raise GatewayError("THROTTLED")
        throttle = usage_plan.get("throttle")
        if throttle and ("rateLimit" in throttle or "burstLimit" in throttle):
            if not self._take(("plan", usage_plan["id"], key["id"], throttle.get("rateLimit"), throttle.get("burstLimit")),
                              float(throttle.get("rateLimit", 0)), int(throttle.get("burstLimit", 0))):
                raise GatewayError("THROTTLED")
        store = self.provider.store
        now = datetime.now(UTC)
        quota = usage_plan.get("quota")
        if quota and quota.get("limit") is not None:
            # checked and counted in one statement: nodes of a cluster never admit more than the quota
            if not store.admit_usage(compiled.account, compiled.region, usage_plan["id"], key["id"],
                                     now.date().isoformat(), self.period_start(usage_plan, now), int(quota["limit"])):
                raise GatewayError("QUOTA_EXCEEDED")
        else:
            store.add_usage(compiled.account, compiled.region, usage_plan["id"], key["id"], now.date().isoformat())

    @staticmethod
    def period_start(plan: dict, now: datetime) -> str:
        quota = plan.get("quota") or {}
        period = quota.get("period", "DAY")
        today = now.date()
        if period == "WEEK":
            # offset 0 starts weeks on Sunday, 1 on Monday, ...
            first = (today.weekday() + 1) % 7  # days since Sunday
            start = today - timedelta(days=(first - int(quota.get("offset", 0) or 0)) % 7)
        elif period == "MONTH":
            start = today.replace(day=1)
        else:
            start = today
        return start.isoformat()

    # -- gateway responses -------------------------------------------------------------------

    def gateway_response(self, compiled: CompiledStage, state, error: GatewayError) -> HttpResponse:
        """The gateway response for a failure: the API's customization of its type, else of
        DEFAULT_4XX / DEFAULT_5XX (whose status code, when set, applies to every type of its class
        left unspecified), else AWS's default. REQUEST_TOO_LARGE cannot be customized."""
        status = error.status
        custom = None if error.kind == "REQUEST_TOO_LARGE" else compiled.gateway_responses.get(error.kind)
        if custom is not None:
            # a customization that keeps its type's default status code does not change a status
            # the failure set itself (a Lambda proxy called with GET: AWS answers 500, not the
            # type's documented 504, customized or not)
            if custom.get("statusCode") and (int(custom["statusCode"]) != GATEWAY_ERRORS[error.kind][0]
                                             or error.status == GATEWAY_ERRORS[error.kind][0]):
                status = int(custom["statusCode"])
        elif error.kind != "REQUEST_TOO_LARGE":
            custom = compiled.gateway_responses.get("DEFAULT_5XX" if error.status >= 500 else "DEFAULT_4XX")
            if custom is not None and custom.get("statusCode"):
                status = int(custom["statusCode"])
        # spelt as AWS answers them (the server writes names as given)
        headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", state.request_id),
                   ("x-amzn-ErrorType", error.error_type), ("x-amz-apigw-id", state.extended_id)]
        body = None
        if custom is not None:
            for name, expr in (custom.get("responseParameters") or {}).items():
                if name.startswith("gatewayresponse.header."):
                    value = state.param_value(expr)
                    if value is not None:
                        headers.append((name[len("gatewayresponse.header."):], str(value)))
            templates = custom.get("responseTemplates") or {}
            template = templates.get("application/json") or (next(iter(templates.values())) if templates else None)
            if template is not None:
                state.error = {"message": error.message, "messageString": json.dumps(error.message),
                               "responseType": error.kind}
                try:
                    body = mapping.render(template, state, state.body_text()).encode()
                except VtlError:
                    body = None
        if body is None:
            body = error.body if error.body is not None else orjson.dumps({"message": error.message})
        return HttpResponse(status, headers, body)

    async def test_invoke_method(self, ctx, api: dict, resource: dict, http_method: str, params: dict) -> dict:
        """TestInvokeMethod: run the method of the current (undeployed) definition."""
        stage = {"stageName": "test-invoke-stage", "deploymentId": "test-invoke-deployment-id",
                 "variables": params.get("stageVariables") or {}}
        compiled = CompiledStage(self, ctx.account, ctx.region, api, stage, api, self.provider.generation)
        self._load_plans(compiled)
        path, _, query = (params.get("pathWithQueryString") or resource["path"]).partition("?")
        headers = {k.lower(): v for k, v in (params.get("headers") or {}).items()}
        headers.setdefault("host", f"{api['id']}.execute-api.{ctx.region}.amazonaws.com")
        body = (params.get("body") or "").encode()
        request = HttpRequest(http_method, path, path, query, headers, body)
        state = mapping.RequestState(compiled, request, path, str(uuid.uuid4()))
        started = time.monotonic()
        plan = compiled.method_plan(resource, http_method)
        segments = [s for s in path.split("/") if s]
        found = match_route(compiled.router, segments, http_method)
        state.bind(resource, plan, found[1] if found and found[0]["id"] == resource["id"] else {})
        state.endpoint_log = []
        # a call to a backend is traced, as on a stage (a MOCK calls none)
        calls_backend = plan.integration.get("type") != "MOCK"
        if calls_backend:
            state.trace_header = tracing.random_header()
        failed = False
        try:
            plan.validate(state)
            response = await self.integrations.run(compiled, state, plan)
        except GatewayError as e:
            failed = True
            response = self.gateway_response(compiled, state, e)
        if calls_backend and not failed and state.trace_header and \
                not any(k.lower() == "x-amzn-trace-id" for k, _ in response.headers):
            response.headers.insert(0, ("X-Amzn-Trace-Id", state.trace_header))
        # the answer's headers as TestInvokeMethod reports them: the method's own (AWS's recorded
        # answers leave out the request ids and, for a failure, the Content-Type)
        dropped = {"x-amzn-requestid", "x-amz-apigw-id", "connection"} | ({"content-type"} if failed else set())
        multi: dict[str, list[str]] = {}
        for k, v in response.headers:
            if k.lower() not in dropped:
                name = "x-amzn-ErrorType" if k.lower() == "x-amzn-errortype" else k
                multi.setdefault(name, []).append(v)
        headers = {k: v[-1] for k, v in multi.items()}
        body_out = response.body.decode("utf-8", "replace")
        stamp = time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime())
        lines = [f"Starting execution for request: {state.request_id}",
                 f"HTTP Method: {http_method}, Resource Path: {path}",
                 f"Method request path: {vtl.java_map_text(dict(state.path_params), str)}",
                 f"Method request query string: {vtl.java_map_text(dict(state.query), str)}",
                 f"Method request headers: {vtl.java_map_text(dict(params.get('headers') or {}), str)}",
                 f"Method request body before transformations: {params.get('body') or ''}", *state.endpoint_log]
        if failed:
            if state.failure_log:
                lines.append(state.failure_log)
        else:
            lines += [f"Method response body after transformations: {body_out}",
                      f"Method response headers: {vtl.java_map_text(headers, str)}",
                      "Successfully completed execution"]
        lines.append(f"Method completed with status: {response.status}")
        log_text = f"Execution log for request {state.request_id}\n" + "".join(f"{stamp} : {line}\n" for line in lines)
        return {"status": response.status, "body": body_out, "headers": headers, "multiValueHeaders": multi,
                "log": log_text, "latency": int((time.monotonic() - started) * 1000)}

    async def test_authorizer(self, ctx, api, authorizer, params):
        return await authorizers.test_invoke(self, ctx, api, authorizer, params)


def plain_error(status: int, error_type: str, message: str, request_id: str | None = None) -> HttpResponse:
    request_id = request_id or str(uuid.uuid4())
    return HttpResponse(status, [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id),
                                 ("x-amzn-ErrorType", error_type)], orjson.dumps({"message": message}))

