"""API Gateway (REST APIs, v1): the control plane, one method per operation of botocore's
`apigateway` model, and the door to the data plane (`execute_api`, in runtime.py)."""

from __future__ import annotations

import base64
import copy
import random
import re as _re
import string
import time
from datetime import UTC, date, datetime, timedelta

import orjson

from overcast.aws.errors import AwsError
from overcast.services.apigateway import openapi
from overcast.services.apigateway.builders import (
    bad_request,
    build_integration,
    default_ip_address_type,
    new_id,
)
from overcast.services.apigateway.runtime import DataPlane
from overcast.services.apigateway.runtime import plain_error as runtime_error
from overcast.services.apigateway.store import ApiGatewayStore
from overcast.services.base import Provider

HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "ANY")

GATEWAY_RESPONSE_TYPES = {
    "DEFAULT_4XX": None, "DEFAULT_5XX": None, "ACCESS_DENIED": "403", "API_CONFIGURATION_ERROR": "500",
    "AUTHORIZER_CONFIGURATION_ERROR": "500", "AUTHORIZER_FAILURE": "500", "BAD_REQUEST_PARAMETERS": "400",
    "BAD_REQUEST_BODY": "400", "EXPIRED_TOKEN": "403", "INTEGRATION_FAILURE": "504", "INTEGRATION_TIMEOUT": "504",
    "INVALID_API_KEY": "403", "INVALID_SIGNATURE": "403", "MISSING_AUTHENTICATION_TOKEN": "403",
    "QUOTA_EXCEEDED": "429", "REQUEST_TOO_LARGE": "413", "RESOURCE_NOT_FOUND": "404", "THROTTLED": "429",
    "UNAUTHORIZED": "401", "UNSUPPORTED_MEDIA_TYPE": "415", "WAF_FILTERED": "403",
}

EMPTY_SCHEMA = '{\n  "$schema": "http://json-schema.org/draft-04/schema#",\n  "title" : "Empty Schema",\n  "type" : "object"\n}'
ERROR_SCHEMA = ('{\n  "$schema" : "http://json-schema.org/draft-04/schema#",\n  "title" : "Error Schema",\n'
                '  "type" : "object",\n  "properties" : {\n    "message" : { "type" : "string" }\n  }\n}')

# patch values arrive as strings: the fields whose value is a boolean or a number
_BOOL_FIELDS = {"enabled", "apiKeyRequired", "validateRequestBody", "validateRequestParameters",
                "cacheClusterEnabled", "tracingEnabled", "disableExecuteApiEndpoint", "metricsEnabled",
                "dataTraceEnabled", "cachingEnabled", "cacheDataEncrypted", "requireAuthorizationForCacheControl",
                "generateDistinctId", "useStageCache"}
_INT_FIELDS = {"burstLimit", "limit", "offset", "timeoutInMillis", "authorizerResultTtlInSeconds",
               "minimumCompressionSize", "throttlingBurstLimit", "cacheTtlInSeconds"}
_FLOAT_FIELDS = {"rateLimit", "throttlingRateLimit", "percentTraffic"}
# string lists patched by item: "add /binaryMediaTypes/image~1png"
_LIST_FIELDS = {"binaryMediaTypes", "cacheKeyParameters", "stageKeys", "authorizationScopes", "providerARNs",
                "features", "types"}
_METHOD_SETTING_PATHS = {
    "throttling/ratelimit": "throttlingRateLimit", "throttling/burstlimit": "throttlingBurstLimit",
    "logging/loglevel": "loggingLevel", "logging/datatrace": "dataTraceEnabled", "metrics/enabled": "metricsEnabled",
    "caching/enabled": "cachingEnabled", "caching/ttlinseconds": "cacheTtlInSeconds",
    "caching/dataencrypted": "cacheDataEncrypted",
    "caching/requireauthorizationforcachecontrol": "requireAuthorizationForCacheControl",
    "caching/unauthorizedcachecontrolheaderstrategy": "unauthorizedCacheControlHeaderStrategy",
}
_DEFAULT_METHOD_SETTINGS = {
    "metricsEnabled": False, "dataTraceEnabled": False, "throttlingBurstLimit": 5000, "throttlingRateLimit": 10000.0,
    "cachingEnabled": False, "cacheTtlInSeconds": 300, "cacheDataEncrypted": False,
    "requireAuthorizationForCacheControl": True, "unauthorizedCacheControlHeaderStrategy": "SUCCEED_WITH_RESPONSE_HEADER",
}


def now() -> int:
    return int(time.time())


def _canary_defaults(stage: dict) -> None:
    """A stage's canary settings answer AWS's defaults for what was not given."""
    canary = stage.get("canarySettings")
    if isinstance(canary, dict):
        canary.setdefault("percentTraffic", 0.0)
        canary.setdefault("useStageCache", False)


def _drop_empty(doc: dict, keys: tuple) -> None:
    """AWS leaves out a map whose last entry a patch removed (as it never answers an empty one)."""
    for key in keys:
        if doc.get(key) == {}:
            del doc[key]


def _deployment_view(deployment: dict, summary: bool = False) -> dict:
    """A deployment as AWS answers it: its apiSummary only when GetDeployment embeds it."""
    return deployment if summary else {k: v for k, v in deployment.items() if k != "apiSummary"}


def not_found(message: str) -> AwsError:
    return AwsError("NotFoundException", message, 404)


def conflict(message: str) -> AwsError:
    return AwsError("ConflictException", message, 409)


def _unescape(segment: str) -> str:
    return segment.replace("~1", "/").replace("~0", "~")


def _coerce(field: str, value):
    if value is None and field in _BOOL_FIELDS:
        return False  # a flag replaced without a value is off (AWS's answer)
    if not isinstance(value, str):
        return value
    if field in _BOOL_FIELDS:
        return value.lower() == "true"
    try:
        if field in _INT_FIELDS:
            return int(value)
        if field in _FLOAT_FIELDS:
            return float(value)
    except ValueError:
        raise bad_request(f"Invalid value for {field}: {value}") from None
    return value


def apply_patch(doc: dict, operations: list[dict] | None, allowed: set[str] | None = None) -> dict:
    """API Gateway's patch operations (add, remove, replace, copy, move) on a resource document.
    Map members (`/variables/x`, `/requestParameters/...`) and lists of strings
    (`/binaryMediaTypes/image~1png`) follow AWS's conventions."""
    for op in operations or ():
        kind = op.get("op")
        path = op.get("path") or ""
        value = op.get("value")
        parts = [_unescape(p) for p in path.strip("/").split("/")] if path.strip("/") else []
        if not parts:
            raise bad_request(f"Invalid patch path {path}")
        if allowed is not None and parts[0] not in allowed:
            raise bad_request(f"Invalid patch path '{path}' specified for op '{kind}'. Must be one of: "
                              f"[{', '.join('/' + a for a in sorted(allowed))}]")
        if kind in ("copy", "move"):
            src = [_unescape(p) for p in (op.get("from") or "").strip("/").split("/")]
            holder = doc
            for p in src[:-1]:
                holder = holder.get(p, {})
            value = holder.get(src[-1]) if isinstance(holder, dict) else None
            if kind == "move" and isinstance(holder, dict):
                holder.pop(src[-1], None)
            kind = "add"
        target = doc
        for p in parts[:-1]:
            existing = target.get(p)
            if isinstance(existing, list):
                target = existing
                break
            if not isinstance(existing, dict):
                if kind == "remove":
                    target = None
                    break
                existing = target[p] = [] if p in _LIST_FIELDS else {}
                if isinstance(existing, list):
                    target = existing
                    break
            target = existing
        last = parts[-1]
        if target is None:
            continue
        if isinstance(target, list):  # /binaryMediaTypes/image~1png
            item = last
            if kind == "replace" and value:  # replace /endpointConfiguration/types/EDGE value REGIONAL
                if item in target:
                    target[target.index(item)] = value
                elif value not in target:
                    target.append(value)
            elif kind in ("add", "replace") and item not in target:
                target.append(item)
            elif kind == "remove" and item in target:
                target.remove(item)
            continue
        if isinstance(target.get(last), list) and kind == "add" and value is not None:
            if value not in target[last]:
                target[last].append(value)
            continue
        if kind == "remove":
            if isinstance(target.get(last), list) and value is not None:
                if value in target[last]:
                    target[last].remove(value)
            else:
                target.pop(last, None)
        elif kind in ("add", "replace"):
            target[last] = _coerce(last, value)
        else:
            raise bad_request("Invalid patch operation specified. Must be one of: [add, remove, move, test, replace, copy]")
    return doc


def check_patch(operations: list[dict] | None, paths: tuple[str, ...], ops: tuple[str, ...] = ("replace",)) -> None:
    """AWS's answers for a patch of a resource whose fields change only by some operations: an
    unknown path, then a known path with an operation it does not take (two spaces included)."""
    for op in operations or ():
        path, kind = op.get("path") or "", op.get("op")
        if path not in paths:
            raise bad_request(f"Invalid patch path  '{path}' specified for op '{kind}'. Must be one of: "
                              f"[{', '.join(paths)}]")
        if kind not in ops:
            raise bad_request(f"Invalid patch path  '{path}' specified for op '{kind}'. Please choose supported operations")


_METHOD_SCALARS = ("authorizationType", "authorizerId", "apiKeyRequired", "operationName", "requestValidatorId")


def _check_method_patch(operations: list[dict] | None) -> None:
    """UpdateMethod's paths: the scalars by replace only, one request parameter or model
    (`/requestModels/application~1json`) per operation, the authorization scopes."""
    for op in operations or ():
        path = op.get("path") or ""
        parts = path.strip("/").split("/")
        if parts[0] in ("requestParameters", "requestModels") and len(parts) == 2:
            continue
        if parts[0] == "authorizationScopes":
            continue
        if len(parts) == 1 and parts[0] in _METHOD_SCALARS:
            if op.get("op") != "replace":
                raise bad_request("Invalid patch operation specified. Must be one of: [replace]")
            continue
        raise bad_request(f"Invalid patch path {path}")


def _check_map_patch(doc: dict, operations: list[dict] | None, maps: dict[str, str]) -> None:
    """Patches of map entries (`/responseParameters/method.response.header.x`): any other path is
    refused, and replacing or removing an entry the map does not have is AWS's NotFoundException
    with the map's message."""
    for op in operations or ():
        path = op.get("path") or ""
        parts = path.strip("/").split("/")
        if len(parts) != 2 or parts[0] not in maps:
            raise bad_request(f"Invalid patch path {path}")
        if op.get("op") in ("replace", "remove") and _unescape(parts[1]) not in (doc.get(parts[0]) or {}):
            raise not_found(maps[parts[0]])


def _check_private_dualstack(config: dict) -> None:
    if "PRIVATE" in (config.get("types") or ()) and config.get("ipAddressType") == "ipv4":
        raise bad_request("Only dualstack ipAddressType is supported for Private APIs.")


def _rest_api_patch(operations: list[dict] | None, view: dict) -> list[dict]:
    """UpdateRestApi's special paths, as AWS treats them: binaryMediaTypes only by item (a
    replaced type goes to the end of the list), minimumCompressionSize only by replace, removed
    by an empty value."""
    out = []
    for op in operations or ():
        path, kind, value = op.get("path") or "", op.get("op"), op.get("value")
        if path == "/binaryMediaTypes":
            raise bad_request("Invalid patch path /binaryMediaTypes")
        if path == "/endpointConfiguration/ipAddressType" and kind != "replace":
            raise bad_request("Invalid patch operation specified. Must be one of: [replace]")
        if path.startswith("/endpointConfiguration/types/"):
            # an API has one endpoint type, replaced by index (/types/0) or by name (/types/EDGE)
            if kind != "replace":
                raise bad_request("Invalid patch operation specified. Must be 'add'|'remove'|'replace'")
            types = view.setdefault("endpointConfiguration", {}).setdefault("types", [])
            item = _unescape(path.rsplit("/", 1)[1])
            if item.isdigit() and int(item) < len(types):
                types[int(item)] = value
            elif item in types:
                types[types.index(item)] = value
            else:
                types.append(value)
            continue
        if path.startswith("/binaryMediaTypes/") and kind == "replace" and value:
            out += [{"op": "remove", "path": path}, {"op": "add", "path": "/binaryMediaTypes/" +
                                                       value.replace("~", "~0").replace("/", "~1")}]
            continue
        if path == "/minimumCompressionSize":
            if kind != "replace":
                raise bad_request("Invalid patch operation specified. Must be one of: [replace]")
            if value in (None, ""):
                out.append({"op": "remove", "path": path})
                continue
            try:
                size = int(value)
            except ValueError:
                size = -1
            if not 0 <= size <= 10485760:
                raise bad_request("Invalid minimum compression size, must be between 0 and 10485760")
        out.append(op)
    return out


_PATCH_OPS = ("add", "remove", "move", "test", "replace", "copy")


def _check_gateway_response_patch(response: dict, operations: list[dict] | None) -> None:
    """UpdateGatewayResponse: statusCode by replace, entries of the two maps (a replaced
    parameter must exist), never a null value; AWS's messages, in the order AWS checks."""
    for i, op in enumerate(operations or (), 1):
        if op.get("op") not in _PATCH_OPS:
            raise AwsError("ValidationException", f"1 validation error detected: Value '{op.get('op')}' at "
                           f"'updateGatewayResponseInput.patchOperations.{i}.member.op' failed to satisfy constraint: "
                           "Member must satisfy enum value set: [add, remove, move, test, replace, copy]", 400)
    for op in operations or ():
        path = op.get("path")
        parts = (path or "").strip("/").split("/")
        if path == "/statusCode" and op.get("op") == "replace":
            continue
        if len(parts) != 2 or parts[0] not in ("responseParameters", "responseTemplates"):
            raise bad_request(f"Invalid patch path {path if path is not None else 'null'}")
        if op.get("op") in ("add", "replace") and not op.get("value"):
            raise bad_request(f"Invalid null or empty value in {parts[0]}")
        if (op.get("op") == "replace" and parts[0] == "responseParameters"
                and _unescape(parts[1]) not in (response.get("responseParameters") or {})):
            raise not_found("Invalid parameter name specified")


_STAGE_FIELDS = ("description", "deploymentId", "variables", "cacheClusterEnabled", "cacheClusterSize", "tracingEnabled",
                 "clientCertificateId", "documentationVersion", "canarySettings", "accessLogSettings", "webAclArn")
# AWS's own list (its missing commas included), answered for a path UpdateStage does not know
_STAGE_PATHS_MESSAGE = (
    "[/deploymentId, /description, /cacheClusterEnabled, /cacheClusterSize, /clientCertificateId, /accessLogSettings, "
    "/accessLogSettings/destinationArn, /accessLogSettings/format, /{resourcePath}/{httpMethod}/metrics/enabled, "
    "/{resourcePath}/{httpMethod}/logging/dataTrace, /{resourcePath}/{httpMethod}/logging/loglevel, "
    "/{resourcePath}/{httpMethod}/throttling/burstLimit/{resourcePath}/{httpMethod}/throttling/rateLimit"
    "/{resourcePath}/{httpMethod}/caching/ttlInSeconds, /{resourcePath}/{httpMethod}/caching/enabled, "
    "/{resourcePath}/{httpMethod}/caching/dataEncrypted, "
    "/{resourcePath}/{httpMethod}/caching/requireAuthorizationForCacheControl, "
    "/{resourcePath}/{httpMethod}/caching/unauthorizedCacheControlHeaderStrategy, /*/*/metrics/enabled, "
    "/*/*/logging/dataTrace, /*/*/logging/loglevel, /*/*/throttling/burstLimit /*/*/throttling/rateLimit "
    "/*/*/caching/ttlInSeconds, /*/*/caching/enabled, /*/*/caching/dataEncrypted, "
    "/*/*/caching/requireAuthorizationForCacheControl, /*/*/caching/unauthorizedCacheControlHeaderStrategy, "
    "/variables/{variable_name}, /tracingEnabled]")


def _check_access_log_patch(op: dict, segs: list[str]) -> None:
    """/accessLogSettings is removed whole; its destinationArn and format are added or replaced
    with a value (AWS reads removing one of them as removing a method setting, and refuses)."""
    kind = op.get("op")
    if len(segs) == 1:
        if kind != "remove":
            raise bad_request("Invalid accessLogSettings path. Must be one of : [/accessLogSettings/destinationArn, "
                              "/accessLogSettings/format]")
        return
    if kind == "remove":
        raise bad_request(f"Cannot remove method setting {'/'.join(segs)} because there is no method setting for "
                          "this method ")
    if len(segs) != 2 or segs[1] not in ("destinationArn", "format"):
        raise bad_request("Invalid accessLogSettings path. Must be one of : [/accessLogSettings/destinationArn, "
                          "/accessLogSettings/format]")
    if not op.get("value"):
        raise bad_request("Access Log value must not be empty")


def _page(items: list, params: dict) -> dict:
    start = 0
    position = params.get("position")
    if position:
        try:
            start = int(base64.urlsafe_b64decode(position.encode()).decode().removeprefix("offset:"))
        except (ValueError, UnicodeDecodeError):
            raise bad_request("Invalid position parameter") from None
    limit = params.get("limit") or 500
    if limit < 1 or limit > 500:
        raise bad_request("1 validation error detected: Value at 'limit' failed to satisfy constraint: "
                          "Member must have value less than or equal to 500")
    page = items[start:start + limit]
    out = {"items": page}
    if start + limit < len(items):
        # an opaque token, as AWS's: clients only hand it back
        out["position"] = base64.urlsafe_b64encode(f"offset:{start + limit}".encode()).decode()
    return out


class ApiGatewayProvider(Provider):
    service = "apigateway"

    def __init__(self, providers):
        super().__init__(providers)
        self.store = ApiGatewayStore(self.db)
        # bumped by every control-plane write: the data plane's compiled stages check it; on a
        # cluster, on every node (storage/coordination.Cluster.cache)
        self.generation = 0
        self._bump_everywhere = providers.coordination.cache("apigateway", self._bump, self._bump)
        self.plane = DataPlane(self)

    def _bump(self, _key=None) -> None:
        self.generation += 1

    def _changed(self) -> None:
        self._bump_everywhere(0)

    def reset(self) -> None:
        self.generation += 1
        self.plane.reset()

    async def stop(self) -> None:
        await self.plane.stop()

    async def handle_execute_api(self, request, api_id: str, path: str, domain: str):
        """The data plane: a request for a deployed API (see overcast/execute_api.py), `path`
        starting with the stage. None when `api_id` is not a REST API."""
        return await self.plane.handle(request, api_id, path)

    # -- documents ---------------------------------------------------------------------------

    def _api(self, ctx, api_id: str, missing: str | None = None) -> dict:
        """The REST API; AWS's NotFoundException names the account and id, or, for a call
        addressing an object of the API (a resource, a validator), says that object is unknown."""
        doc = self.store.get_api(ctx.account, ctx.region, api_id)
        if doc is None:
            raise not_found(missing or f"Invalid API identifier specified {ctx.account}:{api_id}")
        return doc

    def _save(self, ctx, doc: dict) -> None:
        self._changed()
        self.store.put_api(ctx.account, ctx.region, doc)

    def _resource(self, api: dict, resource_id: str) -> dict:
        resource = api["resources"].get(resource_id)
        if resource is None:
            raise not_found("Invalid Resource identifier specified")
        return resource

    def _method(self, api: dict, resource_id: str, http_method: str) -> dict:
        method = self._resource(api, resource_id).get("resourceMethods", {}).get(http_method.upper())
        if method is None:
            raise not_found("Invalid Method identifier specified")
        return method

    def _object(self, ctx, kind: str, obj_id: str, message: str) -> dict:
        doc = self.store.get_object(ctx.account, ctx.region, kind, obj_id)
        if doc is None:
            raise not_found(message)
        return doc

    def _put_object(self, ctx, kind: str, obj_id: str, doc: dict) -> None:
        self._changed()
        self.store.put_object(ctx.account, ctx.region, kind, obj_id, doc, time.time())

    # -- REST APIs ---------------------------------------------------------------------------

    def new_api_doc(self, params: dict) -> dict:
        api_id = new_id()
        root_id = new_id()
        api = {
            "id": api_id,
            "name": params.get("name"),
            "createdDate": now(),
            "apiKeySource": params.get("apiKeySource") or "HEADER",
            "endpointConfiguration": params.get("endpointConfiguration") or {"types": ["EDGE"]},
            "disableExecuteApiEndpoint": bool(params.get("disableExecuteApiEndpoint", False)),
            "rootResourceId": root_id,
            "resources": {root_id: {"id": root_id, "path": "/", "resourceMethods": {}}},
            "models": {
                "Empty": {"id": new_id(), "name": "Empty", "description": "This is a default empty schema model",
                          "schema": EMPTY_SCHEMA, "contentType": "application/json"},
                "Error": {"id": new_id(), "name": "Error", "description": "This is a default error schema model",
                          "schema": ERROR_SCHEMA, "contentType": "application/json"},
            },
            "requestValidators": {},
            "authorizers": {},
            "gatewayResponses": {},
            "stages": {},
            "documentationParts": {},
        }
        for key in ("description", "version", "binaryMediaTypes", "minimumCompressionSize", "policy", "tags",
                    "cloneFrom"):
            if params.get(key) is not None and params[key] != []:  # AWS leaves out an empty list
                api[key] = params[key]
        if "endpointConfiguration" in params and "types" in params["endpointConfiguration"]:
            for t in params["endpointConfiguration"]["types"]:
                if t not in ("EDGE", "REGIONAL", "PRIVATE"):
                    raise bad_request(f"Invalid endpoint configuration type: {t}")
        default_ip_address_type(api["endpointConfiguration"])
        return api

    @staticmethod
    def api_view(api: dict) -> dict:
        out = {k: v for k, v in api.items() if k not in ("resources", "models", "requestValidators", "authorizers",
                                                          "gatewayResponses", "stages", "documentationParts",
                                                          "documentationVersions")}
        # AWS leaves `tags` out of an untagged API's CreateRestApi/GetRestApis answer, and answers
        # `tags: {}` once an update or import has touched it (update_rest_api, put_rest_api)
        return out

    def create_rest_api(self, ctx, params):
        if not params.get("name"):
            raise bad_request("Invalid REST API name specified")
        if params.get("description") == "":
            raise bad_request("Description cannot be an empty string")
        size = params.get("minimumCompressionSize")
        if size is not None and not 0 <= size <= 10485760:
            raise bad_request("Invalid minimum compression size, must be between 0 and 10485760")
        config = params.get("endpointConfiguration")
        if config is not None:
            types = config.get("types")
            if types is not None and not types:
                raise bad_request("REGIONAL Configuration and EDGE Configuration cannot be both DISABLED.")
            if types and len(types) > 1:
                raise bad_request("Cannot create an api with multiple Endpoint Types.")
            _check_private_dualstack(config)
        api = self.new_api_doc(params)
        if params.get("cloneFrom"):
            source = self._api(ctx, params["cloneFrom"])
            for key in ("resources", "models", "requestValidators", "authorizers", "gatewayResponses"):
                api[key] = copy.deepcopy(source[key])
            api["rootResourceId"] = source["rootResourceId"]
        self._save(ctx, api)
        return self.api_view(api)

    def get_rest_api(self, ctx, params):
        return self.api_view(self._api(ctx, params["restApiId"]))

    def get_rest_apis(self, ctx, params):
        return _page([self.api_view(a) for a in self.store.list_apis(ctx.account, ctx.region)], params)

    def update_rest_api(self, ctx, params):
        api = self._api(ctx, params["restApiId"])
        view = self.api_view(api)
        was_private = "PRIVATE" in (view.get("endpointConfiguration") or {}).get("types", ())
        apply_patch(view, _rest_api_patch(params.get("patchOperations"), view),
                    {"name", "description", "version", "binaryMediaTypes", "minimumCompressionSize", "apiKeySource",
                     "policy", "disableExecuteApiEndpoint", "endpointConfiguration"})
        if view.get("apiKeySource") not in ("HEADER", "AUTHORIZER"):
            raise bad_request("Invalid API Key Source: must be HEADER or AUTHORIZER")
        config = view.get("endpointConfiguration") or {}
        if "PRIVATE" in (config.get("types") or ()) and not was_private and not any(
                op.get("path") == "/endpointConfiguration/ipAddressType" for op in params.get("patchOperations") or ()):
            config["ipAddressType"] = "dualstack"  # a private API is dualstack unless the patch says otherwise
        if any(t not in ("EDGE", "REGIONAL", "PRIVATE") for t in config.get("types") or ()):
            raise bad_request("Invalid EndpointTypes specified. Valid options are REGIONAL,EDGE,PRIVATE")
        if config.get("ipAddressType") not in (None, "ipv4", "dualstack"):
            raise bad_request("ipAddressType must be either ipv4 or dualstack.")
        _check_private_dualstack(config)
        for key in set(self.api_view(api)) - set(view):  # what the patch removed
            del api[key]
        api.update(view)
        default_ip_address_type(api["endpointConfiguration"])
        api.setdefault("tags", {})
        self._save(ctx, api)
        return self.api_view(api)

    def delete_rest_api(self, ctx, params):
        self._api(ctx, params["restApiId"])
        self._changed()
        self.store.delete_api(ctx.account, ctx.region, params["restApiId"])
        self.plane.forget(params["restApiId"])
        return {}

    def import_rest_api(self, ctx, params):
        spec = openapi.load(params.get("body"))
        api = self.new_api_doc({"name": "imported"})
        # an imported API has exactly the document's models: no default Empty or Error model (AWS's
        # recorded imports: a document without definitions gives an API without models)
        api["models"] = {}
        warnings = openapi.apply(api, spec, mode="overwrite", fail_on_warnings=_flag(params, "failonwarnings"),
                                 params=params.get("parameters") or {})
        self._save(ctx, api)
        return _with_warnings(self.api_view(api), warnings)

    def put_rest_api(self, ctx, params):
        spec = openapi.load(params.get("body"))  # AWS reads the document before it looks the API up
        api = self._api(ctx, params["restApiId"])
        warnings = openapi.apply(api, spec, mode=params.get("mode") or "merge",
                                 fail_on_warnings=bool(params.get("failOnWarnings")), params=params.get("parameters") or {})
        api.setdefault("tags", {})
        self._save(ctx, api)
        return _with_warnings(self.api_view(api), warnings)

    def get_export(self, ctx, params):
        api = self._api(ctx, params["restApiId"])
        stage = api["stages"].get(params["stageName"])
        if stage is None:
            raise not_found("Invalid Stage identifier specified")
        snapshot = self.store.get_snapshot(ctx.account, ctx.region, api["id"], stage["deploymentId"]) or api
        export_type = params["exportType"]
        if export_type not in ("oas30", "swagger"):
            raise bad_request(f"No API exporter for type '{export_type}'")
        extensions = (params.get("parameters") or {}).get("extensions", "")
        body = openapi.export(api, snapshot, stage, export_type, extensions, ctx)
        accept = params.get("accepts") or ""
        if "yaml" in accept:
            import yaml

            text = yaml.safe_dump(body, sort_keys=False).encode()
            content_type, suffix = "application/yaml", "yaml"
        else:
            text = orjson.dumps(body, option=orjson.OPT_INDENT_2)
            # JSON, answered as an octet stream (AWS's recorded answers, the SDK asking for JSON)
            content_type, suffix = "application/octet-stream", "json"
        # the file is named after the API's version (the export's info.version)
        name = f"{export_type}_{body['info']['version']}.{suffix}"
        return {"contentType": content_type, "contentDisposition": f'attachment; filename="{name}"', "body": text}

    # -- resources ---------------------------------------------------------------------------

    @staticmethod
    def resource_view(resource: dict, embed_methods: bool = True) -> dict:
        out = {k: v for k, v in resource.items() if k != "resourceMethods"}
        methods = resource.get("resourceMethods") or {}
        if methods:
            out["resourceMethods"] = (copy.deepcopy(methods) if embed_methods
                                      else {m: {} for m in methods})
        return out

    def create_resource(self, ctx, params):
        api = self._api(ctx, params["restApiId"], "Invalid Resource identifier specified")
        parent = self._resource(api, params["parentId"])
        part = params.get("pathPart") or ""
        resource = self.add_resource(api, parent, part)
        self._save(ctx, api)
        return self.resource_view(resource)

    def add_resource(self, api: dict, parent: dict, part: str) -> dict:
        import re as _re

        if not _re.fullmatch(r"[A-Za-z0-9._\-:$@=~!*'()]+|\{[A-Za-z0-9._\-]+\+?\}", part or ""):
            raise bad_request("Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end "
                              "and an optional plus sign before the closing brace.")
        for other in api["resources"].values():
            if other.get("parentId") == parent["id"]:
                if other["pathPart"] == part:
                    raise conflict(f"Another resource with the same parent already has this name: {part}")
                if part.startswith("{") and other["pathPart"].startswith("{"):
                    raise bad_request(f"A sibling ({other['pathPart']}) of this resource already has a variable path part "
                                      "-- only one is allowed")
        if parent.get("pathPart", "").endswith("+}"):
            raise bad_request(f"Cannot create a child of a resource with a greedy path variable: {parent['pathPart']}")
        base = parent["path"].rstrip("/")
        resource = {"id": new_id(), "parentId": parent["id"], "pathPart": part, "path": f"{base}/{part}",
                    "resourceMethods": {}}
        api["resources"][resource["id"]] = resource
        return resource

    def get_resource(self, ctx, params):
        api = self._api(ctx, params["restApiId"], "Invalid Resource identifier specified")
        return self.resource_view(self._resource(api, params["resourceId"]))

    def get_resources(self, ctx, params):
        api = self._api(ctx, params["restApiId"])
        embed = "methods" in (params.get("embed") or [])
        items = sorted(api["resources"].values(), key=lambda r: r["path"])
        return _page([self.resource_view(r, embed) for r in items], params)

    def update_resource(self, ctx, params):
        api = self._api(ctx, params["restApiId"], "Invalid Resource identifier specified")
        resource = self._resource(api, params["resourceId"])
        view = {"parentId": resource.get("parentId"), "pathPart": resource.get("pathPart")}
        check_patch(params.get("patchOperations"), ("/parentId", "/pathPart"))
        apply_patch(view, params.get("patchOperations"), {"parentId", "pathPart"})
        if resource["id"] == api["rootResourceId"]:  # the root ("/") has neither to change
            for key in ("parentId", "pathPart"):
                if view[key] != resource.get(key):
                    raise bad_request(f"Root resource cannot update its {key}.")
        if view["pathPart"] != resource.get("pathPart") or view["parentId"] != resource.get("parentId"):
            parent = self._resource(api, view["parentId"])
            ancestor = parent
            while ancestor is not None:  # the new parent may not be the resource or below it
                if ancestor["id"] == resource["id"]:
                    raise bad_request("Resources cannot be cyclical.")
                ancestor = api["resources"].get(ancestor.get("parentId"))
            for other in api["resources"].values():
                if other.get("parentId") == parent["id"] and other["id"] != resource["id"] \
                        and other["pathPart"] == view["pathPart"]:
                    raise conflict(f"Another resource with the same parent already has this name: {view['pathPart']}")
            resource.update(view)
            self._repath(api, resource, parent)
        self._save(ctx, api)
        return self.resource_view(resource)

    def _repath(self, api, resource, parent):
        resource["path"] = parent["path"].rstrip("/") + "/" + resource["pathPart"]
        for child in api["resources"].values():
            if child.get("parentId") == resource["id"]:
                self._repath(api, child, resource)

    def delete_resource(self, ctx, params):
        api = self._api(ctx, params["restApiId"], "Invalid Resource identifier specified")
        resource = self._resource(api, params["resourceId"])
        if resource["id"] == api["rootResourceId"]:
            raise bad_request("Cannot delete the root resource")
        doomed = {resource["id"]}
        changed = True
        while changed:
            changed = False
            for r in api["resources"].values():
                if r.get("parentId") in doomed and r["id"] not in doomed:
                    doomed.add(r["id"])
                    changed = True
        for rid in doomed:
            del api["resources"][rid]
        self._save(ctx, api)
        return {}

    # -- methods -----------------------------------------------------------------------------

    def put_method(self, ctx, params):
        api = self._api(ctx, params["restApiId"], "Invalid Resource identifier specified")
        resource = self._resource(api, params["resourceId"])
        http_method = params["httpMethod"].upper()
        if http_method not in HTTP_METHODS:
            raise bad_request("Invalid HttpMethod specified. Valid options are GET,PUT,POST,DELETE,PATCH,OPTIONS,HEAD,ANY")
        if http_method in resource.get("resourceMethods", {}):
            raise conflict("Method already exists for this resource")
        # AWS takes the type in any case ("none"; its recorded tests send it so) and keeps its name
        auth = (params.get("authorizationType") or "NONE").upper()
        if auth not in ("NONE", "AWS_IAM", "CUSTOM", "COGNITO_USER_POOLS"):
            raise bad_request("Invalid authorization type specified. Valid options are NONE,AWS_IAM,CUSTOM,COGNITO_USER_POOLS")
        if auth in ("CUSTOM", "COGNITO_USER_POOLS"):
            if not params.get("authorizerId") or params["authorizerId"] not in api["authorizers"]:
                raise bad_request("Invalid authorizer ID specified. Setting the authorization type to CUSTOM or "
                                  "COGNITO_USER_POOLS requires a valid authorizer.")
        if params.get("requestValidatorId") and params["requestValidatorId"] not in api["requestValidators"]:
            raise bad_request("Invalid Request Validator identifier specified")
        names = [k.split(".", 3)[3] for k in params.get("requestParameters") or {}
                 if k.startswith(("method.request.querystring.", "method.request.header.", "method.request.path."))]
        if len(names) != len(set(names)):
            raise bad_request("Parameter names must be unique across querystring, header and path")
        for _content_type, model in (params.get("requestModels") or {}).items():
            if model not in api["models"]:
                raise bad_request(f"Invalid model identifier specified: {model}")
        method = {"httpMethod": http_method, "authorizationType": auth,
                  "apiKeyRequired": bool(params.get("apiKeyRequired", False))}
        for key in ("authorizerId", "operationName", "requestParameters", "requestModels", "requestValidatorId",
                    "authorizationScopes"):
            if params.get(key) is not None:
                method[key] = params[key]
        resource.setdefault("resourceMethods", {})[http_method] = method
        self._save(ctx, api)
        return copy.deepcopy(method)

    def get_method(self, ctx, params):
        api = self._api(ctx, params["restApiId"], "Invalid Resource identifier specified")
        return copy.deepcopy(self._method(api, params["resourceId"], params["httpMethod"]))

    def update_method(self, ctx, params):
        api = self._api(ctx, params["restApiId"], "Invalid Resource identifier specified")
        method = self._method(api, params["resourceId"], params["httpMethod"])
        _check_method_patch(params.get("patchOperations"))
        apply_patch(method, params.get("patchOperations"),
                    {"authorizationType", "authorizerId", "apiKeyRequired", "operationName", "requestParameters",
                     "requestModels", "requestValidatorId", "authorizationScopes"})
        _drop_empty(method, ("requestParameters", "requestModels"))
        if method.get("authorizationType") in ("CUSTOM", "COGNITO_USER_POOLS"):
            if method.get("authorizerId") not in api["authorizers"]:
                raise bad_request("Invalid authorizer ID specified. Setting the authorization type to CUSTOM or "
                                  "COGNITO_USER_POOLS requires a valid authorizer.")
        else:
            method.pop("authorizerId", None)  # AWS ignores an authorizer for NONE and AWS_IAM
        if method.get("requestValidatorId") and method["requestValidatorId"] not in api["requestValidators"]:
            raise bad_request("Invalid Request Validator identifier specified")
        self._save(ctx, api)
        return copy.deepcopy(method)

    def delete_method(self, ctx, params):
        api = self._api(ctx, params["restApiId"], "Invalid Resource identifier specified")
        self._method(api, params["resourceId"], params["httpMethod"])
        del api["resources"][params["resourceId"]]["resourceMethods"][params["httpMethod"].upper()]
        self._save(ctx, api)
        return {}

    def put_method_response(self, ctx, params):
        api = self._api(ctx, params["restApiId"], "Invalid Resource identifier specified")
        method = self._method(api, params["resourceId"], params["httpMethod"])
        response = {"statusCode": params["statusCode"]}
        for key in ("responseParameters", "responseModels"):
            if params.get(key) is not None:
                response[key] = params[key]
        method.setdefault("methodResponses", {})[params["statusCode"]] = response
        self._save(ctx, api)
        return response

    def _method_response(self, method, status):
        response = (method.get("methodResponses") or {}).get(status)
        if response is None:
            raise not_found("Invalid Response status code specified")
        return response

    def get_method_response(self, ctx, params):
        api = self._api(ctx, params["restApiId"], "Invalid Resource identifier specified")
        return self._method_response(self._method(api, params["resourceId"], params["httpMethod"]), params["statusCode"])

    def update_method_response(self, ctx, params):
        api = self._api(ctx, params["restApiId"], "Invalid Resource identifier specified")
        response = self._method_response(self._method(api, params["resourceId"], params["httpMethod"]),
                                         params["statusCode"])
        _check_map_patch(response, params.get("patchOperations"), {
            "responseParameters": "Invalid parameter name specified",
            "responseModels": "Content-Type specified was not found"})
        apply_patch(response, params.get("patchOperations"), {"responseParameters", "responseModels"})
        _drop_empty(response, ("responseParameters", "responseModels"))
        self._save(ctx, api)
        return response

    def delete_method_response(self, ctx, params):
        api = self._api(ctx, params["restApiId"], "Invalid Resource identifier specified")
        method = self._method(api, params["resourceId"], params["httpMethod"])
        self._method_response(method, params["statusCode"])
        del method["methodResponses"][params["statusCode"]]
        self._save(ctx, api)
        return {}

    async def test_invoke_method(self, ctx, params):
        api = self._api(ctx, params["restApiId"], "Invalid Resource identifier specified")
        resource = self._resource(api, params["resourceId"])
        if "ANY" not in (resource.get("resourceMethods") or {}):  # an ANY method answers every method
            self._method(api, params["resourceId"], params["httpMethod"])
        return await self.plane.test_invoke_method(ctx, api, resource, params["httpMethod"].upper(), params)

    # -- integrations ------------------------------------------------------------------------

    def put_integration(self, ctx, params):
        api = self._api(ctx, params["restApiId"], "Invalid Resource identifier specified")
        method = self._method(api, params["resourceId"], params["httpMethod"])
        integration = build_integration(params)
        method["methodIntegration"] = integration
        self._save(ctx, api)
        return copy.deepcopy(integration)

    def _integration(self, api, params) -> dict:
        integration = self._method(api, params["resourceId"], params["httpMethod"]).get("methodIntegration")
        if integration is None:
            raise not_found("Invalid Integration identifier specified")
        return integration

    def get_integration(self, ctx, params):
        return copy.deepcopy(self._integration(self._api(ctx, params["restApiId"], "Invalid Resource identifier specified"), params))

    def update_integration(self, ctx, params):
        api = self._api(ctx, params["restApiId"], "Invalid Resource identifier specified")
        integration = self._integration(api, params)
        apply_patch(integration, params.get("patchOperations"),
                    {"uri", "httpMethod", "credentials", "requestParameters", "requestTemplates", "passthroughBehavior",
                     "contentHandling", "timeoutInMillis", "cacheNamespace", "cacheKeyParameters", "connectionType",
                     "connectionId", "tlsConfig", "type"})
        self._save(ctx, api)
        return copy.deepcopy(integration)

    def delete_integration(self, ctx, params):
        api = self._api(ctx, params["restApiId"], "Invalid Resource identifier specified")
        self._integration(api, params)
        del self._method(api, params["resourceId"], params["httpMethod"])["methodIntegration"]
        self._save(ctx, api)
        return {}

    def put_integration_response(self, ctx, params):
        api = self._api(ctx, params["restApiId"], "Invalid Resource identifier specified")
        integration = self._integration(api, params)
        response = {"statusCode": params["statusCode"]}
        for key in ("selectionPattern", "responseParameters", "responseTemplates", "contentHandling"):
            if params.get(key) is not None:
                response[key] = params[key]
        if response.get("responseTemplates"):  # AWS keeps an empty template as null (a pass-through)
            response["responseTemplates"] = {k: v or None for k, v in response["responseTemplates"].items()}
        integration.setdefault("integrationResponses", {})[params["statusCode"]] = response
        self._save(ctx, api)
        return response

    def _integration_response(self, integration, status):
        response = (integration.get("integrationResponses") or {}).get(status)
        if response is None:
            raise not_found("Invalid Response status code specified")
        return response

    def get_integration_response(self, ctx, params):
        api = self._api(ctx, params["restApiId"], "Invalid Resource identifier specified")
        return self._integration_response(self._integration(api, params), params["statusCode"])

    def update_integration_response(self, ctx, params):
        api = self._api(ctx, params["restApiId"], "Invalid Resource identifier specified")
        response = self._integration_response(self._integration(api, params), params["statusCode"])
        apply_patch(response, params.get("patchOperations"),
                    {"selectionPattern", "responseParameters", "responseTemplates", "contentHandling"})
        self._save(ctx, api)
        return response

    def delete_integration_response(self, ctx, params):
        api = self._api(ctx, params["restApiId"], "Invalid Resource identifier specified")
        self._resource(api, params["resourceId"])
        try:
            integration = self._integration(api, params)
        except AwsError:  # a method the resource lacks: AWS names the integration
            raise not_found("Invalid Integration identifier specified") from None
        self._integration_response(integration, params["statusCode"])
        del integration["integrationResponses"][params["statusCode"]]
        if not integration["integrationResponses"]:  # AWS answers no map once the last one is gone
            del integration["integrationResponses"]
        self._save(ctx, api)
        return {}

    # -- deployments and stages --------------------------------------------------------------

    def create_deployment(self, ctx, params):
        api = self._api(ctx, params["restApiId"])
        methods = [(r, m) for r in api["resources"].values() for m in (r.get("resourceMethods") or {}).values()]
        if not methods:
            raise bad_request("The REST API doesn't contain any methods")
        for _resource, method in methods:
            if "methodIntegration" not in method:
                raise bad_request("No integration defined for method")
        canary = params.get("canarySettings")
        if canary is not None:  # a canary release of an existing stage
            name = params.get("stageName")
            if not name:
                raise bad_request("Invalid deployment content specified.Non null and non empty stageName must be "
                                  f"provided for canary deployment. Provided value is {'null' if name is None else name}")
            if name not in api["stages"]:
                raise bad_request(f"Invalid deployment content specified.Stage {name} must already be created before "
                                  "making a canary release deployment")
        deployment = {"id": new_id(), "createdDate": now()}
        if params.get("description"):
            deployment["description"] = params["description"]
        summary: dict = {}
        for resource, method in methods:
            summary.setdefault(resource["path"], {})[method["httpMethod"]] = {
                "authorizationType": method.get("authorizationType", "NONE"),
                "apiKeyRequired": method.get("apiKeyRequired", False)}
        # kept for GetDeployment's embed=apisummary; CreateDeployment's answer has no apiSummary
        deployment["apiSummary"] = summary
        snapshot = {k: api.get(k) for k in ("resources", "models", "requestValidators", "authorizers",
                                             "gatewayResponses", "binaryMediaTypes", "apiKeySource", "policy",
                                             "minimumCompressionSize", "disableExecuteApiEndpoint", "rootResourceId",
                                             "name", "description", "version")}
        with self.db.transaction():
            self.store.put_deployment(ctx.account, ctx.region, api["id"], deployment, snapshot)
            stage_name = params.get("stageName")
            if stage_name:
                stage = api["stages"].get(stage_name)
                if stage is None:
                    stage = self._new_stage(stage_name, deployment["id"], params)
                    api["stages"][stage_name] = stage
                elif canary is not None:  # the stage keeps its deployment; the canary runs the new one
                    stage["canarySettings"] = {"deploymentId": deployment["id"], "useStageCache": False,
                                               **{k: v for k, v in canary.items() if k != "deploymentId"}}
                    _canary_defaults(stage)
                    stage["lastUpdatedDate"] = now()
                else:
                    stage["deploymentId"] = deployment["id"]
                    stage["lastUpdatedDate"] = now()
                    if params.get("variables"):
                        stage.setdefault("variables", {}).update(params["variables"])
                self._save(ctx, api)
        self._changed()
        return _deployment_view(deployment)

    def _deployment(self, ctx, params) -> dict:
        self._api(ctx, params["restApiId"])
        deployment = self.store.get_deployment(ctx.account, ctx.region, params["restApiId"], params["deploymentId"])
        if deployment is None:
            raise not_found("Invalid Deployment identifier specified")
        return deployment

    def get_deployment(self, ctx, params):
        embed = [e.lower() for e in params.get("embed") or []]
        return _deployment_view(self._deployment(ctx, params), "apisummary" in embed)

    def get_deployments(self, ctx, params):
        self._api(ctx, params["restApiId"])
        return _page([_deployment_view(d) for d in self.store.list_deployments(ctx.account, ctx.region,
                                                                              params["restApiId"])], params)

    def update_deployment(self, ctx, params):
        deployment = self._deployment(ctx, params)
        apply_patch(deployment, params.get("patchOperations"), {"description"})
        snapshot = self.store.get_snapshot(ctx.account, ctx.region, params["restApiId"], deployment["id"])
        self.store.put_deployment(ctx.account, ctx.region, params["restApiId"], deployment, snapshot)
        return _deployment_view(deployment)

    def delete_deployment(self, ctx, params):
        api = self._api(ctx, params["restApiId"])
        self.get_deployment(ctx, params)
        for stage in api["stages"].values():
            if stage.get("deploymentId") == params["deploymentId"]:
                raise bad_request("Active stages pointing to this deployment must be moved or deleted")
        self.store.delete_deployment(ctx.account, ctx.region, api["id"], params["deploymentId"])
        self._changed()
        return {}

    @staticmethod
    def _new_stage(name: str, deployment_id: str, params: dict) -> dict:
        stage = {"deploymentId": deployment_id, "stageName": name, "createdDate": now(), "lastUpdatedDate": now(),
                 "cacheClusterEnabled": bool(params.get("cacheClusterEnabled", False)),
                 "cacheClusterStatus": "NOT_AVAILABLE", "tracingEnabled": bool(params.get("tracingEnabled", False)),
                 "methodSettings": {}}
        if params.get("tags"):  # AWS leaves tags out of an untagged stage's answers
            stage["tags"] = params["tags"]
        if params.get("variables"):
            stage["variables"] = params["variables"]
        for key in ("description", "documentationVersion", "cacheClusterSize", "canarySettings"):
            if params.get(key) is not None:
                stage[key] = params[key]
        _canary_defaults(stage)
        if params.get("stageDescription"):
            stage["description"] = params["stageDescription"]
        return stage

    def create_stage(self, ctx, params):
        api = self._api(ctx, params["restApiId"])
        name = params["stageName"]
        if name in api["stages"]:
            raise conflict("Stage already exists")
        import re as _re

        if not _re.fullmatch(r"[A-Za-z0-9_\-]+", name):
            raise bad_request("Stage name only allows a-zA-Z0-9_")
        if self.store.get_deployment(ctx.account, ctx.region, api["id"], params["deploymentId"]) is None:
            raise not_found("Invalid Deployment identifier specified")
        _check_variables(params.get("variables"))
        canary = params.get("canarySettings")
        if canary is not None:
            canary.setdefault("deploymentId", params["deploymentId"])
            if self.store.get_deployment(ctx.account, ctx.region, api["id"], canary["deploymentId"]) is None:
                raise bad_request("Deployment id does not exist")
        stage = self._new_stage(name, params["deploymentId"], params)
        api["stages"][name] = stage
        self._save(ctx, api)
        return stage

    def _stage(self, api, name) -> dict:
        stage = api["stages"].get(name)
        if stage is None:
            raise not_found("Invalid Stage identifier specified")
        return stage

    def get_stage(self, ctx, params):
        return self._stage(self._api(ctx, params["restApiId"]), params["stageName"])

    def get_stages(self, ctx, params):
        api = self._api(ctx, params["restApiId"])
        stages = list(api["stages"].values())
        if params.get("deploymentId"):
            stages = [s for s in stages if s.get("deploymentId") == params["deploymentId"]]
        return {"item": stages}

    def update_stage(self, ctx, params):
        api = self._api(ctx, params["restApiId"])
        stage = self._stage(api, params["stageName"])
        plain = []
        for op in params.get("patchOperations") or ():
            if op.get("op") == "copy" and (op.get("path"), op.get("from")) not in _CANARY_PROMOTIONS:
                raise bad_request(f"Invalid copy operation with path: {op.get('path')} and from {op.get('from')}. "
                                  "Valid copy:path are [/deploymentId, /variables] and valid copy:from are "
                                  "[/canarySettings/deploymentId, /canarySettings/stageVariableOverrides]")
        for op in params.get("patchOperations") or ():
            path = op.get("path") or ""
            segs = path.strip("/").split("/")
            if op.get("op") == "copy":
                # promoting the canary: its deployment, or its variable overrides over the stage's
                canary = stage.get("canarySettings")
                if not canary:
                    raise bad_request("Promotion not available. Canary does not exist.")
                if path == "/deploymentId":
                    stage["deploymentId"] = canary.get("deploymentId") or stage["deploymentId"]
                elif canary.get("stageVariableOverrides"):
                    stage["variables"] = {**(stage.get("variables") or {}), **canary["stageVariableOverrides"]}
            elif segs[0] == "accessLogSettings":
                _check_access_log_patch(op, segs)
                plain.append(op)
            elif segs[0] == "canarySettings" and op.get("op") != "copy":
                self._patch_canary(ctx, api, stage, op, segs)
            elif segs[0] in _STAGE_FIELDS and (len(segs) == 1 or segs[0] in ("variables", "canarySettings")):
                plain.append(op)
            elif len(segs) == 2 and op.get("op") == "remove":
                # /{resourcePath}/{method}: drop that method's settings (Terraform's */* on delete)
                key = f"{segs[0]}/{segs[1]}"
                if stage.get("methodSettings", {}).pop(key, None) is None:
                    raise bad_request(f"Cannot remove method setting {key} because there is no method setting "
                                      "for this method ")
            elif len(segs) >= 3 and _METHOD_SETTING_PATHS.get("/".join(segs[2:]).lower()):
                # /{resourcePath}/{method}/{setting}: method settings, keyed "~1items/GET" or "*/*"
                field = _METHOD_SETTING_PATHS["/".join(segs[2:]).lower()]
                key = f"{segs[0]}/{segs[1]}"
                # a method's own settings start from the stage-wide ones (*/*), as on AWS
                all_settings = stage.setdefault("methodSettings", {})
                settings = all_settings.setdefault(key, dict(all_settings.get("*/*") or _DEFAULT_METHOD_SETTINGS))
                if op.get("op") == "remove":
                    settings.pop(field, None)
                else:
                    settings[field] = _coerce(field, op.get("value"))
            else:
                raise bad_request(f"Invalid method setting path: {path}. Must be one of: {_STAGE_PATHS_MESSAGE}")
        apply_patch(stage, plain, set(_STAGE_FIELDS))
        _drop_empty(stage, ("accessLogSettings",))
        if self.store.get_deployment(ctx.account, ctx.region, api["id"], stage["deploymentId"]) is None:
            raise bad_request("Invalid deployment id specified")
        _check_variables(stage.get("variables"))
        _canary_defaults(stage)
        stage["lastUpdatedDate"] = now()
        self._save(ctx, api)
        return stage

    def _patch_canary(self, ctx, api, stage, op, segs) -> None:
        """/canarySettings is removed whole; its members are set by replace only (a canary that
        does not exist yet starts on the stage's deployment, at 0%)."""
        path, kind = op.get("path") or "", op.get("op")
        if len(segs) == 1:
            if kind != "remove":
                raise bad_request(f"Invalid method setting path: {path}. Must be one of: {_STAGE_PATHS_MESSAGE}")
            stage.pop("canarySettings", None)
            return
        if kind == "remove":
            raise bad_request(f"Cannot remove method setting {'/'.join(segs)} because there is no method setting for "
                              "this method ")
        if kind == "add":
            raise bad_request(f"Invalid add operation with path: {path}")
        field = segs[1]
        if not (field in ("deploymentId", "percentTraffic", "useStageCache") and len(segs) == 2
                or field == "stageVariableOverrides" and len(segs) == 3):
            raise bad_request(f"Invalid method setting path: {path}. Must be one of: {_STAGE_PATHS_MESSAGE}")
        value = op.get("value")
        if field == "deploymentId" and self.store.get_deployment(ctx.account, ctx.region, api["id"], value) is None:
            raise bad_request("Deployment id does not exist")
        canary = stage.setdefault("canarySettings", {"deploymentId": stage["deploymentId"]})
        if field == "stageVariableOverrides":
            canary.setdefault("stageVariableOverrides", {})[_unescape(segs[2])] = value
        else:
            canary[field] = _coerce(field, value)

    def delete_stage(self, ctx, params):
        api = self._api(ctx, params["restApiId"])
        self._stage(api, params["stageName"])
        del api["stages"][params["stageName"]]
        self._save(ctx, api)
        return {}

    def flush_stage_authorizers_cache(self, ctx, params):
        self._stage(self._api(ctx, params["restApiId"]), params["stageName"])
        self.plane.flush_authorizer_cache(params["restApiId"])
        return {}

    def flush_stage_cache(self, ctx, params):
        self._stage(self._api(ctx, params["restApiId"]), params["stageName"])
        return {}

    # -- models and validators ---------------------------------------------------------------

    def create_model(self, ctx, params):
        api = self._api(ctx, params["restApiId"])
        name = params["name"]
        if name in api["models"]:
            raise conflict("Model name already exists for this REST API")
        import re as _re

        if not name:
            raise bad_request("Model name must be non-empty")
        if not _re.fullmatch(r"[A-Za-z0-9]+", name):
            raise bad_request("Model name must be alphanumeric")
        if not params.get("schema"):
            raise bad_request(EMPTY_MODEL_SCHEMA)
        _check_schema(params["schema"])
        model = {"id": new_id(), "name": name, "contentType": params.get("contentType") or "application/json"}
        for key in ("description", "schema"):
            if params.get(key):  # AWS leaves out an empty description
                model[key] = params[key]
        api["models"][name] = model
        self._save(ctx, api)
        return model

    def _model(self, api, name):
        model = api["models"].get(name)
        if model is None:
            raise not_found(f"Invalid model name specified: {name}")
        return model

    def _api_model(self, ctx, params) -> tuple[dict, dict]:
        """The API and its model; AWS answers an unknown API as an unknown model here."""
        missing = f"Invalid model name specified: {params['modelName']}"
        api = self._api(ctx, params["restApiId"], missing)
        return api, self._model(api, params["modelName"])

    def get_model(self, ctx, params):
        return self._api_model(ctx, params)[1]

    def get_models(self, ctx, params):
        return _page(list(self._api(ctx, params["restApiId"])["models"].values()), params)

    def update_model(self, ctx, params):
        api, model = self._api_model(ctx, params)
        for op in params.get("patchOperations") or []:
            if op.get("op") != "replace":
                raise bad_request(f"Invalid patch path  '{op.get('path')}' specified for op '{op.get('op')}'. "
                                  "Please choose supported operations")
            if op.get("path") not in ("/description", "/schema"):
                raise bad_request(f"Invalid patch path  '{op.get('path')}' specified for op 'replace'. "
                                  "Must be one of: [/description, /schema]")
            if op.get("path") == "/schema" and not op.get("value"):
                raise bad_request(EMPTY_MODEL_SCHEMA)
        apply_patch(model, params.get("patchOperations"), {"schema", "description"})
        _drop_empty_text(model, "description")
        _check_schema(model["schema"])
        self._save(ctx, api)
        return model

    def delete_model(self, ctx, params):
        api, _model = self._api_model(ctx, params)
        for r in api["resources"].values():
            for m in (r.get("resourceMethods") or {}).values():
                if params["modelName"] in (m.get("requestModels") or {}).values():
                    raise conflict(f"Cannot delete model '{params['modelName']}', is referenced in method request: "
                                   f"{r['path']}/{m['httpMethod']}")
        del api["models"][params["modelName"]]
        self._save(ctx, api)
        return {}

    def get_model_template(self, ctx, params):
        self._model(self._api(ctx, params["restApiId"]), params["modelName"])
        return {"value": "#set($inputRoot = $input.path('$'))\n{ }"}

    def create_request_validator(self, ctx, params):
        if self.store.get_api(ctx.account, ctx.region, params["restApiId"]) is None:
            raise bad_request("Invalid REST API identifier specified")  # AWS's answer here: 400, not 404
        api = self._api(ctx, params["restApiId"])
        validator = {"id": new_id(6), "name": params.get("name") or "",
                     "validateRequestBody": bool(params.get("validateRequestBody", False)),
                     "validateRequestParameters": bool(params.get("validateRequestParameters", False))}
        api["requestValidators"][validator["id"]] = validator
        self._save(ctx, api)
        return validator

    def _validator(self, api, vid):
        validator = api["requestValidators"].get(vid)
        if validator is None:
            raise not_found("Invalid Request Validator identifier specified")
        return validator

    def get_request_validator(self, ctx, params):
        return self._validator(self._api(ctx, params["restApiId"], "Invalid Request Validator identifier specified"), params["requestValidatorId"])

    def get_request_validators(self, ctx, params):
        return _page(list(self._api(ctx, params["restApiId"])["requestValidators"].values()), params)

    def update_request_validator(self, ctx, params):
        api = self._api(ctx, params["restApiId"], "Invalid Request Validator identifier specified")
        validator = self._validator(api, params["requestValidatorId"])
        check_patch(params.get("patchOperations"), ("/name", "/validateRequestParameters", "/validateRequestBody"))
        apply_patch(validator, params.get("patchOperations"), {"name", "validateRequestBody", "validateRequestParameters"})
        if not validator.get("name"):
            raise bad_request("Request Validator name cannot be blank")
        self._save(ctx, api)
        return validator

    def delete_request_validator(self, ctx, params):
        api = self._api(ctx, params["restApiId"], "Invalid Request Validator identifier specified")
        self._validator(api, params["requestValidatorId"])
        del api["requestValidators"][params["requestValidatorId"]]
        self._save(ctx, api)
        return {}

    # -- authorizers -------------------------------------------------------------------------

    def create_authorizer(self, ctx, params):
        if self.store.get_api(ctx.account, ctx.region, params["restApiId"]) is None:
            # AWS's recorded answer for an API that does not exist (not a NotFoundException)
            raise conflict("Unable to complete operation due to concurrent modification. Please try again later.")
        api = self._api(ctx, params["restApiId"])
        kind = params.get("type")
        if kind not in ("TOKEN", "REQUEST", "COGNITO_USER_POOLS"):
            raise bad_request("Invalid authorizer type specified. Valid options are TOKEN,REQUEST,COGNITO_USER_POOLS")
        if kind in ("TOKEN", "REQUEST") and not params.get("authorizerUri"):
            raise bad_request("Authorizer URI is required for TOKEN and REQUEST authorizers")
        if kind == "COGNITO_USER_POOLS" and not params.get("providerARNs"):
            raise bad_request("ProviderARNs need to be specified for COGNITO_USER_POOLS authorizers")
        authorizer = {"id": new_id(6), "name": params.get("name"), "type": kind,
                      "authorizerResultTtlInSeconds": params.get("authorizerResultTtlInSeconds", 300)}
        if kind == "TOKEN" and not params.get("identitySource"):
            raise bad_request("Identity source is required for TOKEN authorizers")
        for key in ("providerARNs", "authType", "authorizerUri", "authorizerCredentials", "identitySource",
                    "identityValidationExpression"):
            if params.get(key) is not None:
                authorizer[key] = params[key]
        api["authorizers"][authorizer["id"]] = authorizer
        self._save(ctx, api)
        return authorizer

    def _authorizer(self, api, aid):
        authorizer = api["authorizers"].get(aid)
        if authorizer is None:
            raise not_found("Invalid Authorizer identifier specified")
        return authorizer

    def get_authorizer(self, ctx, params):
        return self._authorizer(self._api(ctx, params["restApiId"]), params["authorizerId"])

    def get_authorizers(self, ctx, params):
        return _page(list(self._api(ctx, params["restApiId"])["authorizers"].values()), params)

    def update_authorizer(self, ctx, params):
        api = self._api(ctx, params["restApiId"])
        authorizer = self._authorizer(api, params["authorizerId"])
        apply_patch(authorizer, params.get("patchOperations"),
                    {"name", "type", "providerARNs", "authType", "authorizerUri", "authorizerCredentials",
                     "identitySource", "identityValidationExpression", "authorizerResultTtlInSeconds"})
        self._save(ctx, api)
        return authorizer

    def delete_authorizer(self, ctx, params):
        api = self._api(ctx, params["restApiId"])
        self._authorizer(api, params["authorizerId"])
        for r in api["resources"].values():
            for m in (r.get("resourceMethods") or {}).values():
                if m.get("authorizerId") == params["authorizerId"]:
                    raise conflict("Cannot delete authorizer, is referenced in method: "
                                   f"{m['httpMethod']}/{r['path']}")
        del api["authorizers"][params["authorizerId"]]
        self._save(ctx, api)
        return {}

    async def test_invoke_authorizer(self, ctx, params):
        api = self._api(ctx, params["restApiId"])
        authorizer = self._authorizer(api, params["authorizerId"])
        return await self.plane.test_authorizer(ctx, api, authorizer, params)

    # -- gateway responses -------------------------------------------------------------------

    def _gateway_response(self, api, rtype) -> dict:
        if rtype not in GATEWAY_RESPONSE_TYPES:
            raise bad_request(f"Invalid response type specified: {rtype}")
        custom = api["gatewayResponses"].get(rtype)
        if custom is not None:
            return custom
        out = {"responseType": rtype, "defaultResponse": True, "responseParameters": {},
               "responseTemplates": {"application/json": '{"message":$context.error.messageString}'}}
        status = GATEWAY_RESPONSE_TYPES[rtype]
        if status:
            out["statusCode"] = status
            # a type not customized answers its family's customization (DEFAULT_4XX or DEFAULT_5XX)
            family = api["gatewayResponses"].get("DEFAULT_4XX" if status.startswith("4") else "DEFAULT_5XX")
            if family is not None:
                for key in ("statusCode", "responseParameters", "responseTemplates"):
                    if family.get(key):
                        out[key] = copy.deepcopy(family[key])
        return out

    def put_gateway_response(self, ctx, params):
        api = self._api(ctx, params["restApiId"])
        rtype = params["responseType"]
        self._gateway_response(api, rtype)
        response = {"responseType": rtype, "defaultResponse": False,
                    "responseParameters": params.get("responseParameters") or {},
                    # AWS's default template unless the customization gives its own
                    "responseTemplates": params.get("responseTemplates") or
                    {"application/json": '{"message":$context.error.messageString}'}}
        if params.get("statusCode"):
            response["statusCode"] = params["statusCode"]
        elif GATEWAY_RESPONSE_TYPES[rtype]:
            response["statusCode"] = GATEWAY_RESPONSE_TYPES[rtype]
        api["gatewayResponses"][rtype] = response
        self._save(ctx, api)
        return response

    def get_gateway_response(self, ctx, params):
        return self._gateway_response(self._api(ctx, params["restApiId"]), params["responseType"])

    def get_gateway_responses(self, ctx, params):
        api = self._api(ctx, params["restApiId"])
        return _page([self._gateway_response(api, t) for t in GATEWAY_RESPONSE_TYPES], params)

    def update_gateway_response(self, ctx, params):
        api = self._api(ctx, params["restApiId"])
        response = copy.deepcopy(self._gateway_response(api, params["responseType"]))
        _check_gateway_response_patch(response, params.get("patchOperations"))
        apply_patch(response, params.get("patchOperations"), {"statusCode", "responseParameters", "responseTemplates"})
        response["defaultResponse"] = False
        api["gatewayResponses"][params["responseType"]] = response
        self._save(ctx, api)
        return response

    def delete_gateway_response(self, ctx, params):
        api = self._api(ctx, params["restApiId"])
        self._gateway_response(api, params["responseType"])
        if params["responseType"] not in api["gatewayResponses"]:
            raise not_found("Gateway response type not defined on api")
        del api["gatewayResponses"][params["responseType"]]
        self._save(ctx, api)
        return {}

    # -- API keys ----------------------------------------------------------------------------

    def create_api_key(self, ctx, params):
        value = params.get("value") or "".join(random.choices(string.ascii_letters + string.digits, k=40))
        if len(value) < 20:
            raise bad_request("API Key value should be at least 20 characters")
        if len(value) > 128:
            raise bad_request("API Key value exceeds maximum size of 128 characters")
        if len(params.get("name") or "") > 1024:
            raise bad_request("Invalid API Key name, can be at most 1024 characters.")
        _check_key_description(params.get("description"))
        for other in self.store.list_objects(ctx.account, ctx.region, "apikey"):
            if other["value"] == value:
                raise conflict("API Key already exists")
        key = {"id": new_id(), "value": value, "enabled": bool(params.get("enabled", False)),
               "createdDate": now(), "lastUpdatedDate": now(), "stageKeys": []}
        if params.get("name"):  # AWS leaves out an empty name
            key["name"] = params["name"]
        if params.get("tags"):  # as for REST APIs: no tags until tagged or updated
            key["tags"] = params["tags"]
        for k in ("description", "customerId"):
            if params.get(k) is not None:
                key[k] = params[k]
        for sk in params.get("stageKeys") or ():
            key["stageKeys"].append(f"{sk.get('restApiId')}/{sk.get('stageName')}")
        self._put_object(ctx, "apikey", key["id"], key)
        return key

    def _api_key(self, ctx, key_id) -> dict:
        return self._object(ctx, "apikey", key_id, "Invalid API Key identifier specified")

    def get_api_key(self, ctx, params):
        key = self._api_key(ctx, params["apiKey"])
        if not params.get("includeValue"):
            key.pop("value", None)
        return key

    def get_api_keys(self, ctx, params):
        if params.get("limit") is not None and params["limit"] < 1:
            return {"items": []}  # AWS answers a limit below 1 with an empty page, not an error
        # AWS lists the newest key first
        keys = self.store.list_objects(ctx.account, ctx.region, "apikey")[::-1]
        if params.get("nameQuery"):
            keys = [k for k in keys if k.get("name", "").startswith(params["nameQuery"])]
        if params.get("customerId"):
            keys = [k for k in keys if k.get("customerId") == params["customerId"]]
        if not params.get("includeValues"):
            for k in keys:
                k.pop("value", None)
        return _page(keys, params)

    def update_api_key(self, ctx, params):
        key = self._api_key(ctx, params["apiKey"])
        for op in params.get("patchOperations") or ():
            # AWS's message (its two spaces included); stages are patched by add/remove only
            path = op.get("path") or ""
            if op.get("op") == "replace" and path not in ("/description", "/enabled", "/name", "/customerId"):
                raise bad_request(f"Invalid patch path  '{path}' specified for op 'replace'. Must be one of: "
                                  "[/description, /enabled, /name, /customerId]")
        apply_patch(key, params.get("patchOperations"), {"name", "description", "enabled", "customerId", "stages",
                                                         "stageKeys"})
        _check_key_description(key.get("description"))
        _drop_empty_text(key, "name")
        key["lastUpdatedDate"] = now()
        key.setdefault("tags", {})
        self._put_object(ctx, "apikey", key["id"], key)
        return {k: v for k, v in key.items() if k != "value"}  # AWS's UpdateApiKey answer has no value

    def delete_api_key(self, ctx, params):
        self._api_key(ctx, params["apiKey"])
        with self.db.transaction():
            self.store.delete_object(ctx.account, ctx.region, "apikey", params["apiKey"])
            for plan in self.store.list_objects(ctx.account, ctx.region, "usageplan"):
                self.store.delete_object(ctx.account, ctx.region, "usageplankey", f"{plan['id']}/{params['apiKey']}")
        self._changed()
        return {}

    def import_api_keys(self, ctx, params):
        if params.get("format") != "csv":
            raise bad_request("Only csv format is supported")
        import csv
        import io

        body = params.get("body") or b""
        try:
            text = body.decode() if isinstance(body, bytes) else body
        except UnicodeDecodeError:
            raise bad_request("Invalid API keys file: it must be UTF-8 CSV") from None
        rows = list(csv.DictReader(io.StringIO(text)))
        ids = []
        for row in rows:
            row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
            key = self.create_api_key(ctx, {"name": row.get("name"), "value": row.get("key"),
                                            "description": row.get("description"),
                                            "enabled": row.get("enabled", "true").lower() == "true"})
            ids.append(key["id"])
            for plan_id in filter(None, (row.get("usageplanids") or "").split(",")):
                self.create_usage_plan_key(ctx, {"usagePlanId": plan_id.strip(), "keyId": key["id"], "keyType": "API_KEY"})
        return {"ids": ids, "warnings": []}

    # -- usage plans -------------------------------------------------------------------------

    def _check_api_stages(self, ctx, stages):
        for s in stages or ():
            api = self.store.get_api(ctx.account, ctx.region, s.get("apiId", ""))
            if api is None:
                raise not_found(f"Invalid API identifier specified {ctx.account}:{s.get('apiId')}")
            if s.get("stage") not in api["stages"]:
                raise not_found(f"Invalid stage identifier specified {ctx.account}:{s.get('apiId')}:{s.get('stage')}")

    def create_usage_plan(self, ctx, params):
        if not params.get("name"):
            raise bad_request("Invalid usage plan name specified")
        self._check_api_stages(ctx, params.get("apiStages"))
        plan = {"id": new_id(6), "name": params["name"], "apiStages": params.get("apiStages") or []}
        if params.get("tags"):  # AWS leaves out an untagged plan's tags
            plan["tags"] = params["tags"]
        for key in ("description", "throttle", "quota"):
            if params.get(key) is not None:
                plan[key] = params[key]
        if plan.get("quota") and plan["quota"].get("period") not in ("DAY", "WEEK", "MONTH"):
            raise bad_request("Invalid quota period specified. Valid options are DAY, WEEK, MONTH")
        self._put_object(ctx, "usageplan", plan["id"], plan)
        return plan

    def _plan(self, ctx, plan_id):
        return self._object(ctx, "usageplan", plan_id, "Invalid Usage Plan ID specified")

    def get_usage_plan(self, ctx, params):
        # GetUsagePlan and UpdateUsagePlan answer tags ({} when none); Create and the list do not
        return {"tags": {}, **self._plan(ctx, params["usagePlanId"])}

    def get_usage_plans(self, ctx, params):
        plans = self.store.list_objects(ctx.account, ctx.region, "usageplan")
        if params.get("keyId"):
            plans = [p for p in plans if self.store.get_object(ctx.account, ctx.region, "usageplankey",
                                                               f"{p['id']}/{params['keyId']}")]
        return _page(plans, params)

    def update_usage_plan(self, ctx, params):
        plan = self._plan(ctx, params["usagePlanId"])
        plain = []
        for op in params.get("patchOperations") or ():
            path = op.get("path") or ""
            if path == "/apiStages" and op.get("op") in ("add", "remove"):
                api_id, sep, stage = (op.get("value") or "").partition(":")
                if not sep or not api_id or not stage:
                    raise bad_request("Invalid API Stage specified")
                if op["op"] == "remove" and not any(s["apiId"] == api_id and s["stage"] == stage
                                                    for s in plan["apiStages"]):
                    raise not_found(f"Invalid API Stage {{api: {api_id}, stage: {stage}}} specified for usageplan "
                                    f"{plan['id']}")
                if op["op"] == "add":
                    self._check_api_stages(ctx, [{"apiId": api_id, "stage": stage}])
                    if not any(s["apiId"] == api_id and s["stage"] == stage for s in plan["apiStages"]):
                        plan["apiStages"].append({"apiId": api_id, "stage": stage})
                else:
                    plan["apiStages"] = [s for s in plan["apiStages"] if not (s["apiId"] == api_id and s["stage"] == stage)]
            elif path.startswith("/apiStages/"):
                # /apiStages/{apiId}:{stage}/throttle/{resourcePath}/{method}/rateLimit
                segs = path.split("/")
                api_id, _, stage = segs[2].partition(":")
                entry = next((s for s in plan["apiStages"] if s["apiId"] == api_id and s["stage"] == stage), None)
                if entry is None:
                    raise not_found(f"Invalid stage identifier specified {api_id}:{stage}")
                if len(segs) >= 6 and segs[3] == "throttle":
                    method_key = "/".join(_unescape(s) for s in segs[4:6])
                    throttle = entry.setdefault("throttle", {})
                    if op.get("op") == "remove" and len(segs) == 6:
                        throttle.pop(method_key, None)
                    elif len(segs) == 7:
                        throttle.setdefault(method_key, {})[segs[6]] = _coerce(segs[6], op.get("value"))
                    elif op.get("value"):
                        throttle[method_key] = orjson.loads(op["value"])
                elif len(segs) == 4 and segs[3] == "throttle" and op.get("value"):
                    entry["throttle"] = orjson.loads(op["value"])
            else:
                plain.append(op)
        apply_patch(plan, plain, {"name", "description", "throttle", "quota", "productCode"})
        if plan.get("quota"):
            plan["quota"].setdefault("offset", 0)  # AWS answers a quota's offset, 0 unless given
        self._put_object(ctx, "usageplan", plan["id"], plan)
        return {"tags": {}, **plan}

    def delete_usage_plan(self, ctx, params):
        self._plan(ctx, params["usagePlanId"])
        with self.db.transaction():
            self.store.delete_object(ctx.account, ctx.region, "usageplan", params["usagePlanId"])
            self.store.delete_objects_prefixed(ctx.account, ctx.region, "usageplankey", params["usagePlanId"] + "/")
        self._changed()
        return {}

    def create_usage_plan_key(self, ctx, params):
        plan = self._plan(ctx, params["usagePlanId"])
        if params.get("keyType") != "API_KEY":
            raise bad_request("Invalid key type specified. Valid options are API_KEY")
        key = self._api_key(ctx, params["keyId"])
        obj_id = f"{plan['id']}/{key['id']}"
        if self.store.get_object(ctx.account, ctx.region, "usageplankey", obj_id):
            raise conflict("Usage Plan Key already exists")
        # one key may be in only one plan per API stage
        stages = {(s["apiId"], s["stage"]) for s in plan["apiStages"]}
        for other in self.store.list_objects(ctx.account, ctx.region, "usageplan"):
            if other["id"] != plan["id"] and self.store.get_object(ctx.account, ctx.region, "usageplankey",
                                                                   f"{other['id']}/{key['id']}"):
                if stages & {(s["apiId"], s["stage"]) for s in other["apiStages"]}:
                    raise conflict(f"Usage Plan {other['id']} cannot be added because API Key {key['id']} cannot "
                                   "reference multiple Usage Plans with the same API Stage")
        doc = {"id": key["id"], "type": "API_KEY", "value": key["value"]}
        if key.get("name"):
            doc["name"] = key["name"]
        self._put_object(ctx, "usageplankey", obj_id, doc)
        return doc

    def _plan_key(self, ctx, plan_id, key_id) -> dict:
        self._plan(ctx, plan_id)
        doc = self.store.get_object(ctx.account, ctx.region, "usageplankey", f"{plan_id}/{key_id}")
        if doc is None:
            raise not_found("Invalid Usage Plan Key identifier specified")
        key = self.store.get_object(ctx.account, ctx.region, "apikey", key_id)
        if key:
            doc.update(value=key["value"], name=key.get("name", ""))
        return doc

    def get_usage_plan_key(self, ctx, params):
        return self._plan_key(ctx, params["usagePlanId"], params["keyId"])

    def get_usage_plan_keys(self, ctx, params):
        # AWS answers an unknown plan id with an empty list (no NotFoundException)
        # newest first, as GetApiKeys
        keys = self.store.list_objects(ctx.account, ctx.region, "usageplankey", params["usagePlanId"] + "/")[::-1]
        if params.get("nameQuery"):
            keys = [k for k in keys if k.get("name", "").startswith(params["nameQuery"])]
        return _page(keys, params)

    def delete_usage_plan_key(self, ctx, params):
        self._plan_key(ctx, params["usagePlanId"], params["keyId"])
        self.store.delete_object(ctx.account, ctx.region, "usageplankey", f"{params['usagePlanId']}/{params['keyId']}")
        self._changed()
        return {}

    def get_usage(self, ctx, params):
        plan = self._plan(ctx, params["usagePlanId"])
        try:
            start = date.fromisoformat(params["startDate"])
            end = date.fromisoformat(params["endDate"])
        except ValueError:
            raise bad_request("Invalid date format: dates must be yyyy-MM-dd") from None
        if end < start:
            raise bad_request("The usage data period must not be negative")
        if params.get("keyId"):
            self._plan_key(ctx, plan["id"], params["keyId"])
        rows = self.store.usage(ctx.account, ctx.region, plan["id"], start.isoformat(), end.isoformat(), params.get("keyId"))
        by_key: dict[str, dict[str, int]] = {}
        for key_id, day, used in rows:
            by_key.setdefault(key_id, {})[day] = used
        keys = ([params["keyId"]] if params.get("keyId") else
                [k["id"] for k in self.store.list_objects(ctx.account, ctx.region, "usageplankey", plan["id"] + "/")])
        quota = (plan.get("quota") or {}).get("limit")
        items = {}
        for key_id in keys:
            days = by_key.get(key_id, {})
            series, day, running = [], start, 0
            while day <= end:
                used = days.get(day.isoformat(), 0)
                running += used
                remaining = max(quota - running, 0) if quota is not None else 0
                series.append([used, remaining])
                day += timedelta(days=1)
            items[key_id] = series
        return {"usagePlanId": plan["id"], "startDate": start.isoformat(), "endDate": end.isoformat(), "items": items}

    def update_usage(self, ctx, params):
        plan = self._plan(ctx, params["usagePlanId"])
        self._plan_key(ctx, plan["id"], params["keyId"])
        for op in params.get("patchOperations") or ():
            if op.get("path") == "/remaining" and op.get("op") == "replace":
                quota = (plan.get("quota") or {}).get("limit", 0)
                start = self.plane.period_start(plan, datetime.now(UTC))
                remaining = int(op.get("value") or 0)
                today = datetime.now(UTC).date().isoformat()
                used_other = self.store.used_since(ctx.account, ctx.region, plan["id"], params["keyId"], start) - \
                    self.store.used_since(ctx.account, ctx.region, plan["id"], params["keyId"], today)
                self.store.set_usage(ctx.account, ctx.region, plan["id"], params["keyId"], today,
                                     max(quota - remaining - used_other, 0))
            else:
                raise bad_request("Invalid patch path: only replace /remaining is supported")
        today = datetime.now(UTC).date().isoformat()
        return self.get_usage(ctx, {"usagePlanId": plan["id"], "keyId": params["keyId"], "startDate": today,
                                    "endDate": today})

    # -- domain names ------------------------------------------------------------------------

    def create_domain_name(self, ctx, params):
        name = params["domainName"]
        if self.store.get_object(ctx.account, ctx.region, "domainname", name):
            raise conflict("The domain name you provided already exists.")
        endpoint = params.get("endpointConfiguration") or {"types": ["EDGE"]}
        domain = {"domainName": name, "domainNameStatus": "AVAILABLE", "endpointConfiguration": endpoint,
                  "securityPolicy": params.get("securityPolicy") or "TLS_1_2", "tags": params.get("tags") or {},
                  "certificateUploadDate": now()}
        if "REGIONAL" in endpoint.get("types", []):
            domain["regionalDomainName"] = f"d-{new_id()}.execute-api.{ctx.region}.amazonaws.com"
            domain["regionalHostedZoneId"] = "Z1UJRXOUMOOFQ8"
            if params.get("regionalCertificateArn"):
                domain["regionalCertificateArn"] = params["regionalCertificateArn"]
        else:
            domain["distributionDomainName"] = f"d{new_id(13)}.cloudfront.net"
            domain["distributionHostedZoneId"] = "Z2FDTNDATAQYW2"
            if params.get("certificateArn"):
                domain["certificateArn"] = params["certificateArn"]
        for key in ("certificateName", "mutualTlsAuthentication", "ownershipVerificationCertificateArn"):
            if params.get(key) is not None:
                domain[key] = params[key]
        self._put_object(ctx, "domainname", name, domain)
        return domain

    def _domain(self, ctx, name):
        return self._object(ctx, "domainname", name, "Invalid domain name identifier specified")

    def get_domain_name(self, ctx, params):
        return self._domain(ctx, params["domainName"])

    def get_domain_names(self, ctx, params):
        return _page(self.store.list_objects(ctx.account, ctx.region, "domainname"), params)

    def update_domain_name(self, ctx, params):
        domain = self._domain(ctx, params["domainName"])
        apply_patch(domain, params.get("patchOperations"), {"certificateName", "certificateArn", "regionalCertificateArn",
                                                            "securityPolicy", "endpointConfiguration",
                                                            "mutualTlsAuthentication"})
        self._put_object(ctx, "domainname", domain["domainName"], domain)
        return domain

    def delete_domain_name(self, ctx, params):
        self._domain(ctx, params["domainName"])
        with self.db.transaction():
            self.store.delete_object(ctx.account, ctx.region, "domainname", params["domainName"])
            self.store.delete_objects_prefixed(ctx.account, ctx.region, "basepath", params["domainName"] + "/")
        self._changed()
        return {}

    def create_base_path_mapping(self, ctx, params):
        domain = self._domain(ctx, params["domainName"])
        base = params.get("basePath") or "(none)"
        api = self.store.get_api(ctx.account, ctx.region, params["restApiId"])
        if api is None:
            raise bad_request("Invalid REST API identifier specified")
        if params.get("stage") and params["stage"] not in api["stages"]:
            raise bad_request("Invalid stage identifier specified")
        obj_id = f"{domain['domainName']}/{base}"
        if self.store.get_object(ctx.account, ctx.region, "basepath", obj_id):
            raise conflict("Base path already exists for this domain name")
        mapping = {"basePath": base, "restApiId": params["restApiId"]}
        if params.get("stage"):
            mapping["stage"] = params["stage"]
        self._put_object(ctx, "basepath", obj_id, mapping)
        return mapping

    def _mapping(self, ctx, domain, base):
        self._domain(ctx, domain)
        return self._object(ctx, "basepath", f"{domain}/{base or '(none)'}", "Invalid base path mapping identifier specified")

    def get_base_path_mapping(self, ctx, params):
        return self._mapping(ctx, params["domainName"], params["basePath"])

    def get_base_path_mappings(self, ctx, params):
        self._domain(ctx, params["domainName"])
        return _page(self.store.list_objects(ctx.account, ctx.region, "basepath", params["domainName"] + "/"), params)

    def update_base_path_mapping(self, ctx, params):
        mapping = self._mapping(ctx, params["domainName"], params["basePath"])
        old = mapping["basePath"]
        apply_patch(mapping, params.get("patchOperations"), {"basePath", "restapiId", "restApiId", "stage"})
        if "restapiId" in mapping:
            mapping["restApiId"] = mapping.pop("restapiId")
        with self.db.transaction():
            self.store.delete_object(ctx.account, ctx.region, "basepath", f"{params['domainName']}/{old}")
            self._put_object(ctx, "basepath", f"{params['domainName']}/{mapping['basePath']}", mapping)
        return mapping

    def delete_base_path_mapping(self, ctx, params):
        mapping = self._mapping(ctx, params["domainName"], params["basePath"])
        self.store.delete_object(ctx.account, ctx.region, "basepath", f"{params['domainName']}/{mapping['basePath']}")
        self._changed()
        return {}

    async def handle_custom_domain(self, request, host: str, path: str):
        """A request whose Host is a domain name created with CreateDomainName: the base path
        mapping its first path segment names (else the "(none)" mapping) picks the API and stage.
        None when the host is no domain name of this service's."""
        name = host.split(":", 1)[0].lower()
        where = self.store.locate_domain(name)
        if where is None:
            return None
        account, region = where
        first, _, rest = path.lstrip("/").partition("/")
        mapping = self.store.get_object(account, region, "basepath", f"{name}/{first}") if first else None
        if mapping is None:
            mapping = self.store.get_object(account, region, "basepath", f"{name}/(none)")
            rest = path.lstrip("/")
        if mapping is None:
            return runtime_error(403, "ForbiddenException", "Forbidden")
        stage = mapping.get("stage")
        tail = f"/{stage}/{rest}" if stage else f"/{rest}"
        response = await self.plane.handle(request, mapping["restApiId"], tail)
        return response if response is not None else runtime_error(403, "ForbiddenException", "Forbidden")

    # -- account and tags --------------------------------------------------------------------

    def get_account(self, ctx, params):
        doc = self.store.get_object(ctx.account, ctx.region, "account", "account") or {}
        return {"throttleSettings": {"burstLimit": 5000, "rateLimit": 10000.0}, "features": ["UsagePlans"],
                "apiKeyVersion": "4", **doc}

    def update_account(self, ctx, params):
        doc = self.store.get_object(ctx.account, ctx.region, "account", "account") or {}
        apply_patch(doc, params.get("patchOperations"), {"cloudwatchRoleArn", "features"})
        self._put_object(ctx, "account", "account", doc)
        return self.get_account(ctx, params)

    def _tag_holder(self, ctx, arn: str):
        """The document an ARN names and a function that saves it."""
        path = arn.split("::", 1)[1] if "::" in arn else ""
        parts = path.strip("/").split("/")
        if len(parts) >= 2 and parts[0] == "restapis":
            api = self._api(ctx, parts[1])
            if len(parts) == 2:
                return api, lambda: self._save(ctx, api)
            if len(parts) == 4 and parts[2] == "stages":
                return self._stage(api, parts[3]), lambda: self._save(ctx, api)
        kinds = {"apikeys": "apikey", "usageplans": "usageplan", "domainnames": "domainname", "vpclinks": "vpclink"}
        if len(parts) == 2 and parts[0] in kinds:
            doc = self._object(ctx, kinds[parts[0]], parts[1], "Invalid resource identifier specified")
            return doc, lambda: self._put_object(ctx, kinds[parts[0]], parts[1], doc)
        raise not_found("Invalid resource identifier specified")

    def tag_resource(self, ctx, params):
        doc, save = self._tag_holder(ctx, params["resourceArn"])
        doc.setdefault("tags", {}).update(params.get("tags") or {})
        save()
        return {}

    def untag_resource(self, ctx, params):
        doc, save = self._tag_holder(ctx, params["resourceArn"])
        for key in params.get("tagKeys") or ():
            doc.get("tags", {}).pop(key, None)
        save()
        return {}

    def get_tags(self, ctx, params):
        doc, _ = self._tag_holder(ctx, params["resourceArn"])
        return {"tags": doc.get("tags") or {}}

    # -- VPC links ---------------------------------------------------------------------------
    # A VPC link is stored and answered as AWS does. overcast has no load balancers to attach it
    # to, so it is ready at once (AVAILABLE once created); integrations through it are not served.

    def create_vpc_link(self, ctx, params):
        if not params.get("name"):
            raise bad_request("Name cannot be empty")
        for arn in params.get("targetArns") or ():
            if not _re.fullmatch(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d*:.+", arn):
                raise bad_request(f"Invalid ARN. ARN is not well formed {arn}")
        link = {"id": new_id(6), "name": params["name"], "targetArns": params.get("targetArns") or [],
                "status": "AVAILABLE", "statusMessage": "Your vpc link is ready for use",
                "tags": params.get("tags") or {}}
        if params.get("description"):
            link["description"] = params["description"]
        self._put_object(ctx, "vpclink", link["id"], link)
        # CreateVpcLink answers the link as it was accepted: PENDING, without tags or status message
        out = {k: v for k, v in link.items() if k not in ("statusMessage", "tags")}
        out["status"] = "PENDING"
        if link["tags"]:
            out["tags"] = link["tags"]
        return out

    def _vpc_link(self, ctx, link_id) -> dict:
        return self._object(ctx, "vpclink", link_id, "Invalid Vpc Link identifier specified")

    def get_vpc_link(self, ctx, params):
        return self._vpc_link(ctx, params["vpcLinkId"])

    def get_vpc_links(self, ctx, params):
        links = self.store.list_objects(ctx.account, ctx.region, "vpclink")
        for link in links:  # GetVpcLinks leaves out tags it has not been asked for
            if not link.get("tags"):
                link.pop("tags", None)
        return _page(links, params)

    def update_vpc_link(self, ctx, params):
        link = self._vpc_link(ctx, params["vpcLinkId"])
        apply_patch(link, params.get("patchOperations"), {"name", "description"})
        if not link.get("name"):
            raise bad_request("Name cannot be empty")
        self._put_object(ctx, "vpclink", link["id"], link)
        return link

    def delete_vpc_link(self, ctx, params):
        self._vpc_link(ctx, params["vpcLinkId"])
        self.store.delete_object(ctx.account, ctx.region, "vpclink", params["vpcLinkId"])
        self._changed()
        return {}

    # -- documentation (stored, not rendered) ------------------------------------------------

    def create_documentation_part(self, ctx, params):
        api = self._api(ctx, params["restApiId"])
        part = {"id": new_id(), "location": params["location"], "properties": params.get("properties") or ""}
        api.setdefault("documentationParts", {})[part["id"]] = part
        self._save(ctx, api)
        return part

    def get_documentation_parts(self, ctx, params):
        return _page(list(self._api(ctx, params["restApiId"]).get("documentationParts", {}).values()), params)

    def get_documentation_part(self, ctx, params):
        part = self._api(ctx, params["restApiId"], "Invalid Documentation part identifier specified").get("documentationParts", {}).get(params["documentationPartId"])
        if part is None:
            raise not_found("Invalid Documentation part identifier specified")
        return part

    def update_documentation_part(self, ctx, params):
        api = self._api(ctx, params["restApiId"], "Invalid Documentation part identifier specified")
        part = api.get("documentationParts", {}).get(params["documentationPartId"])
        if part is None:
            raise not_found("Invalid Documentation part identifier specified")
        check_patch(params.get("patchOperations"), ("/properties",))
        for op in params.get("patchOperations") or ():
            part["properties"] = op.get("value") or ""
        self._save(ctx, api)
        return part

    # A documentation version is a snapshot of the API's documentation parts, as AWS keeps one
    # (stored with it; overcast renders no documentation from it).

    def create_documentation_version(self, ctx, params):
        api = self._api(ctx, params["restApiId"])
        name = params.get("documentationVersion") or ""
        versions = api.setdefault("documentationVersions", {})
        if name in versions:
            raise conflict(f"Documentation version {name} already exists")
        if params.get("stageName"):
            self._stage(api, params["stageName"])["documentationVersion"] = name
        version = {"version": name, "createdDate": now()}
        if params.get("description"):
            version["description"] = params["description"]
        versions[name] = {**version, "parts": copy.deepcopy(api.get("documentationParts", {}))}
        self._save(ctx, api)
        return version

    @staticmethod
    def _doc_version(api, name) -> dict:
        version = api.get("documentationVersions", {}).get(name)
        if version is None:
            raise not_found("Invalid Documentation version identifier specified")
        return version

    @staticmethod
    def _doc_version_view(version: dict) -> dict:
        return {k: v for k, v in version.items() if k != "parts"}

    def get_documentation_version(self, ctx, params):
        api = self._api(ctx, params["restApiId"], "Invalid Documentation version identifier specified")
        return self._doc_version_view(self._doc_version(api, params["documentationVersion"]))

    def get_documentation_versions(self, ctx, params):
        api = self._api(ctx, params["restApiId"])
        return _page([self._doc_version_view(v) for v in api.get("documentationVersions", {}).values()], params)

    def update_documentation_version(self, ctx, params):
        api = self._api(ctx, params["restApiId"], "Invalid Documentation version identifier specified")
        version = self._doc_version(api, params["documentationVersion"])
        apply_patch(version, params.get("patchOperations"), {"description"})
        _drop_empty_text(version, "description")
        self._save(ctx, api)
        return self._doc_version_view(version)

    def delete_documentation_version(self, ctx, params):
        api = self._api(ctx, params["restApiId"], "Invalid Documentation version identifier specified")
        self._doc_version(api, params["documentationVersion"])
        del api["documentationVersions"][params["documentationVersion"]]
        self._save(ctx, api)
        return {}

    def import_documentation_parts(self, ctx, params):
        api = self._api(ctx, params["restApiId"])
        try:
            spec = openapi.load(params.get("body"))
        except AwsError:
            raise bad_request("Unable to build importer with provided input.") from None
        mode = (params.get("mode") or "merge").lower()
        ids = openapi.merge_documentation(api, openapi.documentation_parts(spec), mode)
        self._save(ctx, api)
        return {"ids": ids}  # AWS leaves out an empty warnings list

    def delete_documentation_part(self, ctx, params):
        api = self._api(ctx, params["restApiId"])
        if api.get("documentationParts", {}).pop(params["documentationPartId"], None) is None:
            raise not_found("Invalid Documentation part identifier specified")
        self._save(ctx, api)
        return {}


# UpdateStage's copy operations: a canary's promotion (path, from)
_CANARY_PROMOTIONS = frozenset((("/deploymentId", "/canarySettings/deploymentId"),
                                ("/variables", "/canarySettings/stageVariableOverrides")))


def _with_warnings(view: dict, warnings: list[str]) -> dict:
    """An imported API's answer: AWS lists the import's warnings, when there are any."""
    if warnings:
        view = {**view, "warnings": warnings}
    return view


def _check_key_description(description) -> None:
    if description is not None and len(description) > 125000:
        raise bad_request("Invalid API Key description specified.")


def _check_variables(variables):
    import re as _re

    for k, v in (variables or {}).items():
        if not _re.fullmatch(r"[A-Za-z0-9_]+", k):
            raise bad_request("Stage variable names must only contain alphanumeric characters and underscores")
        if not _re.fullmatch(r"[A-Za-z0-9\-._~:/?#&=,]*", v or ""):
            raise bad_request("Stage variable value must only contain alphanumeric characters and the characters "
                              "-._~:/?#&=,")


EMPTY_MODEL_SCHEMA = "Model schema must have at least 1 property or array items defined"


def _drop_empty_text(doc: dict, key: str) -> None:
    if doc.get(key) == "":  # AWS leaves out a text set to ""
        del doc[key]


def _check_schema(text: str) -> None:
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        raise bad_request("Invalid model specified: Validation Result: warnings : [], errors : [Invalid model schema "
                          "specified]") from None


def _flag(params: dict, name: str) -> bool:
    return str((params.get("parameters") or {}).get(name, params.get("failOnWarnings", False))).lower() == "true"
