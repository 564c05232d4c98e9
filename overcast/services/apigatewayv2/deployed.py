"""What a stage serves: its routes, integrations and authorizers (the live definition for an
auto-deploying stage, else the deployment's snapshot), compiled once per change of the API."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field


@dataclass
class CompiledRoute:
    route: dict
    method: str  # "ANY" or a method
    segments: list[tuple[int, str]]  # (0 literal | 1 variable | 2 greedy, text or name)
    sort_key: tuple

    def match(self, parts: list[str]) -> dict | None:
        params: dict[str, str] = {}
        segments = self.segments
        for i, (kind, text) in enumerate(segments):
            if kind == 2:
                rest = parts[i:]
                if not rest or rest == [""]:
                    return None
                params[text] = "/".join(rest)
                return params
            if i >= len(parts):
                return None
            if kind == 0:
                if parts[i] != text:
                    return None
            else:
                if parts[i] == "":
                    return None
                params[text] = parts[i]
        return params if len(parts) == len(segments) else None


def _compile_route(route: dict) -> CompiledRoute | None:
    key = route["RouteKey"]
    if key.startswith("$"):
        return None
    method, _, path = key.partition(" ")
    parts = path.strip("/").split("/") if path.strip("/") else []
    segments = []
    for part in parts:
        m = re.fullmatch(r"\{([^}+]+)(\+?)\}", part)
        if m:
            segments.append((2 if m.group(2) else 1, m.group(1)))
        else:
            segments.append((0, part))
    kinds = tuple(k for k, _ in segments)
    # most specific first: literal segments beat variables beat greedy ones, position by
    # position; a specific method beats ANY
    sort_key = (kinds + (3,), method.upper() == "ANY")
    return CompiledRoute(route, method.upper(), segments, sort_key)


@dataclass
class Deployed:
    account: str
    region: str
    api: dict
    stage: dict
    routes: dict[str, dict]  # route key -> route
    integrations: dict[str, dict]
    authorizers: dict[str, dict]
    compiled: list[CompiledRoute] = field(default_factory=list)
    buckets: dict = field(default_factory=dict)  # route key -> [tokens, last refill]
    auth_cache: dict = field(default_factory=dict)

    @property
    def api_id(self) -> str:
        return self.api["ApiId"]

    @property
    def stage_name(self) -> str:
        return self.stage["StageName"]

    def integration_for(self, route: dict) -> dict | None:
        target = route.get("Target") or ""
        if not target.startswith("integrations/"):
            return None
        return self.integrations.get(target.split("/", 1)[1])

    def match_http(self, method: str, path: str) -> tuple[dict | None, dict]:
        parts = path.strip("/").split("/") if path.strip("/") else []
        method = method.upper()
        for compiled in self.compiled:
            if compiled.method != "ANY" and compiled.method != method:
                continue
            params = compiled.match(parts)
            if params is not None:
                return compiled.route, params
        return self.routes.get("$default"), {}

    def throttled(self, route_key: str) -> bool:
        """Token bucket per route: the route's settings, else the stage's default ones."""
        settings = (self.stage.get("RouteSettings") or {}).get(route_key) or {}
        default = self.stage.get("DefaultRouteSettings") or {}
        rate = settings.get("ThrottlingRateLimit", default.get("ThrottlingRateLimit"))
        burst = settings.get("ThrottlingBurstLimit", default.get("ThrottlingBurstLimit"))
        if rate is None and burst is None:
            return False
        rate = float(rate if rate is not None else 10000)
        burst = float(burst if burst is not None else 5000)
        now = time.monotonic()
        bucket = self.buckets.get(route_key)
        if bucket is None:
            bucket = self.buckets[route_key] = [burst, now]
        bucket[0] = min(burst, bucket[0] + (now - bucket[1]) * rate)
        bucket[1] = now
        if bucket[0] >= 1:
            bucket[0] -= 1
            return False
        return True


def build(provider, account: str, region: str, api: dict, stage: dict) -> Deployed | None:
    """The stage's deployed definition, or None when nothing is deployed to it."""
    store = provider.store
    api_id = api["ApiId"]
    if stage.get("AutoDeploy"):
        snapshot = provider.snapshot(account, region, api_id)
    elif stage.get("DeploymentId"):
        snapshot = store.get_item(account, region, api_id, "snapshot", stage["DeploymentId"])
        if snapshot is None:
            return None
    else:
        return None
    deployed = Deployed(
        account, region, api, stage,
        routes={r["RouteKey"]: r for r in snapshot["route"]},
        integrations={i["IntegrationId"]: i for i in snapshot["integration"]},
        authorizers={a["AuthorizerId"]: a for a in snapshot["authorizer"]},
    )
    compiled = [c for c in (_compile_route(r) for r in snapshot["route"]) if c is not None]
    compiled.sort(key=lambda c: c.sort_key)
    deployed.compiled = compiled
    return deployed


def lookup(provider, api_id: str, stage_name: str | None, path: str) -> tuple[str, dict | None, Deployed | None, str]:
    """Find the API and stage a request names. Returns (status, api, deployed, rest of path):
    status "" when found, else "api" (no such API) or "stage" (no such stage / not deployed)."""
    found = provider.store.find_api(api_id)
    if found is None:
        return "api", None, None, path
    account, region, api = found
    version = provider.version(api_id)

    def deployed_for(name: str) -> Deployed | None:
        def make():
            stage = provider.store.get_item(account, region, api_id, "stage", name)
            if stage is None:
                return False
            return build(provider, account, region, api, stage) or False
        value = provider.compiled((api_id, name, version), make)
        return value or None

    if stage_name is None:  # the first path segment names the stage, else $default
        segments = path.lstrip("/").split("/", 1)
        first = segments[0]
        if first:
            deployed = deployed_for(first)
            if deployed is not None:
                return "", api, deployed, "/" + (segments[1] if len(segments) > 1 else "")
        deployed = deployed_for("$default")
        if deployed is not None:
            return "", api, deployed, path
        return "stage", api, None, path
    deployed = deployed_for(stage_name)
    return ("", api, deployed, path) if deployed is not None else ("stage", api, None, path)

