"""OpenAPI 3 and Swagger 2 import (ImportRestApi, PutRestApi) and export (GetExport), with
API Gateway's `x-amazon-apigateway-*` extensions."""

from __future__ import annotations

import copy
import re
import time

import orjson

from overcast.aws.errors import AwsError
from overcast.services.apigateway.builders import (
    bad_request,
    build_integration,
    default_ip_address_type,
    new_id,
)

_OPS = ("get", "put", "post", "delete", "options", "head", "patch", "x-amazon-apigateway-any-method")
MODEL_URL = "https://apigateway.amazonaws.com/restapis/{api}/models/{name}"


def load(body) -> dict:
    if body is None or body == b"" or body == "":
        raise bad_request("Invalid OpenAPI input.")
    data = body if isinstance(body, (bytes, bytearray)) else str(body).encode()
    try:
        spec = orjson.loads(data)
    except orjson.JSONDecodeError:
        try:
            import yaml

            spec = yaml.safe_load(data)
        except Exception:
            raise bad_request("Invalid OpenAPI input.") from None
    if not isinstance(spec, dict):
        raise bad_request("Invalid OpenAPI input.")
    if not (str(spec.get("openapi", "")).startswith("3.") or str(spec.get("swagger", "")) == "2.0"):
        raise bad_request("Invalid OpenAPI input.")
    if not isinstance(spec.get("paths", {}), dict):
        raise bad_request("Errors found during import:\n\tInvalid paths object")
    return spec


# the location types whose parts address a path: AWS fills in "/" when a part names none
_PATH_TYPES = frozenset(("RESOURCE", "METHOD", "PATH_PARAMETER", "QUERY_PARAMETER", "REQUEST_HEADER", "REQUEST_BODY",
                         "RESPONSE", "RESPONSE_HEADER", "RESPONSE_BODY"))


def documentation_parts(spec: dict) -> list[dict]:
    """The documentation parts of a document's x-amazon-apigateway-documentation: locations as
    AWS stores them (a path type's missing path is "/"), properties as JSON text."""
    doc = spec.get("x-amazon-apigateway-documentation") or {}
    parts = doc.get("documentationParts") if isinstance(doc, dict) else None
    out = []
    for part in parts or ():
        location = dict((part or {}).get("location") or {})
        kind = location.get("type")
        if kind is None:
            raise bad_request("Invalid documentation part: location type is required")
        if kind in _PATH_TYPES:
            location.setdefault("path", "/")
        out.append({"location": location, "properties": orjson.dumps(part.get("properties") or {}).decode()})
    return out


def merge_documentation(api: dict, parts: list[dict], mode: str) -> list[str]:
    """Put parts into the API (overwrite: they replace every part; merge: a part at the location
    of an existing one replaces its properties); their ids, in the document's order."""
    if mode == "overwrite":
        api["documentationParts"] = {}
    existing = api.setdefault("documentationParts", {})
    by_location = {orjson.dumps(p["location"], option=orjson.OPT_SORT_KEYS): p for p in existing.values()}
    ids = []
    for part in parts:
        key = orjson.dumps(part["location"], option=orjson.OPT_SORT_KEYS)
        current = by_location.get(key)
        if current is not None:
            current["properties"] = part["properties"]
        else:
            current = {"id": new_id(), **part}
            existing[current["id"]] = current
            by_location[key] = current
        ids.append(current["id"])
    return ids


def _model_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _rewrite_refs(schema, api_id: str):
    if isinstance(schema, dict):
        out = {}
        for k, v in schema.items():
            if k == "$ref" and isinstance(v, str) and v.startswith("#/"):
                out[k] = MODEL_URL.format(api=api_id, name=_model_name(v))
            else:
                out[k] = _rewrite_refs(v, api_id)
        return out
    if isinstance(schema, list):
        return [_rewrite_refs(v, api_id) for v in schema]
    return schema


def apply(api: dict, spec: dict, mode: str = "overwrite", fail_on_warnings: bool = False,
          params: dict | None = None) -> list[str]:
    """Turn an OpenAPI document into the API's resources, methods, models, validators,
    authorizers and gateway responses (mode overwrite replaces them, merge adds); the import's
    warnings (with fail_on_warnings, AWS's 400 instead)."""
    warnings: list[str] = []
    swagger = "swagger" in spec
    info = spec.get("info") or {}
    api_id = api["id"]
    if mode == "overwrite":
        root = api["rootResourceId"]
        api["resources"] = {root: {"id": root, "path": "/", "resourceMethods": {}}}
        api["models"] = {k: v for k, v in api["models"].items() if k in ("Empty", "Error")}
        api["requestValidators"] = {}
        api["authorizers"] = {}
        api["gatewayResponses"] = {}
        if info.get("title"):
            api["name"] = info["title"]
        if info.get("description") is not None:
            api["description"] = info["description"]
        if info.get("version") is not None:
            api["version"] = str(info["version"])
    else:  # merge: the document's title and version win, its binary media types are added
        if info.get("title"):
            api["name"] = info["title"]
        if info.get("version") is not None:
            api["version"] = str(info["version"])
    if spec.get("x-amazon-apigateway-binary-media-types"):
        kept = (api.get("binaryMediaTypes") or []) if mode == "merge" else []
        api["binaryMediaTypes"] = kept + [t for t in spec["x-amazon-apigateway-binary-media-types"] if t not in kept]
    if spec.get("x-amazon-apigateway-api-key-source"):
        api["apiKeySource"] = spec["x-amazon-apigateway-api-key-source"]
    if spec.get("x-amazon-apigateway-policy"):
        api["policy"] = orjson.dumps(spec["x-amazon-apigateway-policy"]).decode()
    endpoint = (params or {}).get("endpointConfigurationTypes")
    if endpoint:
        api["endpointConfiguration"] = {"types": [endpoint]}
        default_ip_address_type(api["endpointConfiguration"])

    if spec.get("x-amazon-apigateway-documentation") is not None:
        merge_documentation(api, documentation_parts(spec), mode)

    # models
    schemas = spec.get("definitions") if swagger else (spec.get("components") or {}).get("schemas")
    for name, schema in (schemas or {}).items():
        if not re.fullmatch(r"[A-Za-z0-9]+", name):
            if fail_on_warnings:
                raise bad_request(f"Errors found during import:\n\tModel name must be alphanumeric: {name}")
            continue
        body = _rewrite_refs(schema, api_id)  # kept as the document gives it (no $schema or title added)
        existing = api["models"].get(name)
        api["models"][name] = {"id": existing["id"] if existing else new_id(), "name": name,
                               "contentType": "application/json", "schema": orjson.dumps(body).decode()}
        if isinstance(schema, dict) and schema.get("description"):  # AWS describes the model by it
            api["models"][name]["description"] = schema["description"]

    # request validators
    validators_by_name = {v["name"]: v["id"] for v in api["requestValidators"].values()}
    for name, conf in (spec.get("x-amazon-apigateway-request-validators") or {}).items():
        vid = validators_by_name.get(name) or new_id(6)
        api["requestValidators"][vid] = {"id": vid, "name": name,
                                         "validateRequestBody": bool(conf.get("validateRequestBody")),
                                         "validateRequestParameters": bool(conf.get("validateRequestParameters"))}
        validators_by_name[name] = vid
    default_validator = spec.get("x-amazon-apigateway-request-validator")

    # security schemes: API keys, authorizers, IAM
    schemes = spec.get("securityDefinitions") if swagger else (spec.get("components") or {}).get("securitySchemes")
    scheme_kind: dict[str, tuple[str, str | None]] = {}
    authorizers_by_name = {a["name"]: a["id"] for a in api["authorizers"].values()}
    for name, scheme in (schemes or {}).items():
        authorizer = scheme.get("x-amazon-apigateway-authorizer")
        authtype = (scheme.get("x-amazon-apigateway-authtype") or "").lower()
        if authorizer:
            kind = (authorizer.get("type") or "token").upper()
            aid = authorizers_by_name.get(name) or new_id(6)
            doc = {"id": aid, "name": name, "type": kind}
            # a Cognito authorizer has no TTL unless the document gives one (AWS's recorded import)
            if kind != "COGNITO_USER_POOLS" or authorizer.get("authorizerResultTtlInSeconds") is not None:
                doc["authorizerResultTtlInSeconds"] = authorizer.get("authorizerResultTtlInSeconds", 300)
            if authtype:
                doc["authType"] = scheme.get("x-amazon-apigateway-authtype")
            for key in ("authorizerUri", "authorizerCredentials", "identityValidationExpression", "providerARNs"):
                if authorizer.get(key) is not None:
                    doc[key] = authorizer[key]
            source = authorizer.get("identitySource")
            if source is None and kind in ("TOKEN", "COGNITO_USER_POOLS") and scheme.get("in") == "header":
                source = f"method.request.header.{scheme.get('name')}"
            if source:
                doc["identitySource"] = source
            api["authorizers"][aid] = doc
            scheme_kind[name] = ("COGNITO_USER_POOLS" if kind == "COGNITO_USER_POOLS" else "CUSTOM", aid)
        elif authtype == "awssigv4":
            scheme_kind[name] = ("AWS_IAM", None)
        elif scheme.get("type") == "apiKey" and scheme.get("in") == "header" and scheme.get("name", "").lower() == "x-api-key":
            scheme_kind[name] = ("API_KEY", None)

    # gateway responses
    for rtype, conf in (spec.get("x-amazon-apigateway-gateway-responses") or {}).items():
        response = {"responseType": rtype, "defaultResponse": False,
                    "responseParameters": conf.get("responseParameters") or {},
                    "responseTemplates": conf.get("responseTemplates") or {}}
        if conf.get("statusCode"):
            response["statusCode"] = str(conf["statusCode"])
        api["gatewayResponses"][rtype] = response

    # paths
    global_security = spec.get("security")
    for path, item in (spec.get("paths") or {}).items():
        if not isinstance(item, dict) or not path.startswith("/"):
            raise bad_request(f"Errors found during import:\n\tInvalid path {path}")
        resource = _ensure_resource(api, path)
        shared_params = item.get("parameters") or []
        for op_name, op in item.items():
            if op_name not in _OPS or not isinstance(op, dict):
                continue
            http_method = "ANY" if op_name == "x-amazon-apigateway-any-method" else op_name.upper()
            method = {"httpMethod": http_method, "authorizationType": "NONE", "apiKeyRequired": False}
            if op.get("operationId"):
                method["operationName"] = op["operationId"]
            request_params = {}
            for p in [*shared_params, *(op.get("parameters") or [])]:
                if "$ref" in p:
                    p = _resolve(spec, p["$ref"]) or {}
                where = {"path": "path", "query": "querystring", "header": "header"}.get(p.get("in"))
                if where:
                    request_params[f"method.request.{where}.{p['name']}"] = bool(p.get("required", where == "path"))
                elif p.get("in") == "body" and (p.get("schema") or {}).get("$ref"):
                    method["requestModels"] = {"application/json": _model_name(p["schema"]["$ref"])}
            # a path parameter the document does not declare is a required one to AWS (its
            # recorded import of /echo/{data}); a greedy {proxy+} is left as declared
            for name in re.findall(r"\{([^}+]+)\}", path):
                request_params.setdefault(f"method.request.path.{name}", True)
            if request_params:
                method["requestParameters"] = request_params
            body = op.get("requestBody")
            if body:
                if "$ref" in body:
                    body = _resolve(spec, body["$ref"]) or {}
                models = {}
                for ctype, media in (body.get("content") or {}).items():
                    ref = (media.get("schema") or {}).get("$ref")
                    if ref:
                        models[ctype] = _model_name(ref)
                if models:
                    method["requestModels"] = models
            security = op.get("security", global_security) or []
            for requirement in security:
                for name in requirement:
                    kind, aid = scheme_kind.get(name, (None, None))
                    if kind == "API_KEY":
                        method["apiKeyRequired"] = True
                    elif kind in ("CUSTOM", "COGNITO_USER_POOLS"):
                        method["authorizationType"] = kind
                        method["authorizerId"] = aid
                        if requirement[name]:
                            method["authorizationScopes"] = requirement[name]
                    elif kind == "AWS_IAM":
                        method["authorizationType"] = "AWS_IAM"
            validator = op.get("x-amazon-apigateway-request-validator", default_validator)
            if validator:
                if validator not in validators_by_name:
                    raise bad_request(f"Errors found during import:\n\tInvalid request validator '{validator}'")
                method["requestValidatorId"] = validators_by_name[validator]
            responses = {}
            for status, resp in (op.get("responses") or {}).items():
                if status == "default" or "$ref" in (resp or {}):
                    continue
                mr = {"statusCode": str(status)}
                headers = (resp or {}).get("headers") or {}
                if headers:
                    mr["responseParameters"] = {f"method.response.header.{h}": False for h in headers}
                models = {}
                if swagger:
                    ref = ((resp or {}).get("schema") or {}).get("$ref")
                    if ref:
                        models["application/json"] = _model_name(ref)
                else:
                    for ctype, media in ((resp or {}).get("content") or {}).items():
                        ref = (media.get("schema") or {}).get("$ref")
                        if ref:
                            models[ctype] = _model_name(ref)
                if models:
                    mr["responseModels"] = models
                responses[str(status)] = mr
            if responses:
                method["methodResponses"] = responses
            integration = op.get("x-amazon-apigateway-integration")
            if integration:
                method["methodIntegration"] = _integration({"cacheNamespace": resource["id"], **integration}, path,
                                                           http_method, warnings)
            resource.setdefault("resourceMethods", {})[http_method] = method
    if warnings and fail_on_warnings:
        raise bad_request("Warnings found during import:\n\t" + "\n\t".join(warnings))
    return warnings


def _resolve(spec: dict, ref: str):
    node = spec
    for part in ref.lstrip("#/").split("/"):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _integration(conf: dict, path: str, http_method: str, warnings: list[str]) -> dict:
    kind = str(conf.get("type", "")).upper()
    params = {"type": kind, "uri": conf.get("uri"), "integrationHttpMethod": conf.get("httpMethod"),
              "passthroughBehavior": (conf.get("passthroughBehavior") or "WHEN_NO_MATCH").upper().replace("_", "_"),
              "timeoutInMillis": conf.get("timeoutInMillis", 29000)}
    for key in ("credentials", "requestParameters", "requestTemplates", "contentHandling", "cacheNamespace",
                "cacheKeyParameters", "connectionType", "connectionId", "tlsConfig"):
        if conf.get(key) is not None:
            params[key] = conf[key]
    if isinstance(params.get("requestParameters"), dict):
        # a value that is not a string is dropped with AWS's warning
        kept = {}
        for key, value in params["requestParameters"].items():
            if isinstance(value, str):
                kept[key] = value
            else:
                warnings.append(f"Invalid format for 'requestParameters'. Expected type string for property '{key}' "
                                f"of resource '{path}' and method '{http_method}' but got "
                                f"'{orjson.dumps(value).decode()}'")
        params["requestParameters"] = kept
    if kind == "MOCK":
        params.pop("uri", None)
    try:
        integration = build_integration({k: v for k, v in params.items() if v is not None})
    except AwsError as e:
        raise bad_request(f"Errors found during import:\n\tUnable to put integration on '{http_method}' for resource at "
                   f"path '{path}': {e.message}") from None
    responses = {}
    for pattern, resp in (conf.get("responses") or {}).items():
        status = str(resp.get("statusCode", "200"))
        ir = {"statusCode": status}
        if pattern != "default":
            ir["selectionPattern"] = pattern
        for key in ("responseParameters", "responseTemplates", "contentHandling"):
            if resp.get(key) is not None:
                ir[key] = resp[key]
        responses[status] = ir
    if responses:
        integration["integrationResponses"] = responses
    return integration


def _ensure_resource(api: dict, path: str) -> dict:
    by_path = {r["path"]: r for r in api["resources"].values()}
    resource = by_path["/"]
    current = ""
    for part in [p for p in path.split("/") if p]:
        current += "/" + part
        child = by_path.get(current)
        if child is None:
            child = {"id": new_id(), "parentId": resource["id"], "pathPart": part, "path": current, "resourceMethods": {}}
            api["resources"][child["id"]] = child
            by_path[current] = child
        resource = child
    return resource


def export(api: dict, snapshot: dict, stage: dict, export_type: str, extensions: str, ctx) -> dict:
    """GetExport: the deployed API as OpenAPI 3.0.1 or Swagger 2.0."""
    ext = {e.strip() for e in (extensions or "").split(",")}
    with_integrations = bool(ext & {"integrations", "apigateway"})
    with_auth = bool(ext & {"authorizers", "apigateway"})
    oas3 = export_type == "oas30"
    host = f"{api['id']}.execute-api.{ctx.region}.amazonaws.com"
    out: dict = {"openapi": "3.0.1"} if oas3 else {"swagger": "2.0"}
    # an API without a version exports the stage's creation time as one (ISO 8601, as AWS does)
    created = stage.get("createdDate")
    version = snapshot.get("version") or (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(created)))
                                          if isinstance(created, (int, float)) else "1")
    out["info"] = {"title": snapshot.get("name") or api.get("name"), "version": version}
    if snapshot.get("description"):
        out["info"]["description"] = snapshot["description"]
    if oas3:
        out["servers"] = [{"url": f"https://{host}/{{basePath}}",
                           "variables": {"basePath": {"default": stage["stageName"]}}}]
    else:
        out["host"] = host
        out["basePath"] = f"/{stage['stageName']}"
        out["schemes"] = ["https"]
    paths: dict = {}
    api_key_used = False
    used_models: set[str] = set()  # AWS exports the models methods use (and what those refer to)
    for resource in sorted(snapshot["resources"].values(), key=lambda r: r["path"]):
        methods = resource.get("resourceMethods") or {}
        if not methods:
            continue
        item = paths.setdefault(resource["path"], {})
        for http_method, method in methods.items():
            op: dict = {}
            if method.get("operationName"):
                op["operationId"] = method["operationName"]
            parameters = []
            for key, required in (method.get("requestParameters") or {}).items():
                _, _, where, name = key.split(".", 3)
                p = {"name": name, "in": {"querystring": "query"}.get(where, where)}
                if required or not oas3:  # OpenAPI 3 leaves out required: false (AWS's export)
                    p["required"] = bool(required)
                if oas3:
                    p["schema"] = {"type": "string"}
                else:
                    p["type"] = "string"
                parameters.append(p)
            if parameters:
                op["parameters"] = parameters
            models = method.get("requestModels") or {}
            used_models.update(models.values())
            if models:
                if oas3:
                    op["requestBody"] = {"content": {ct: {"schema": {"$ref": f"#/components/schemas/{m}"}}
                                                     for ct, m in models.items()}, "required": True}
                else:
                    op.setdefault("parameters", []).append(
                        {"in": "body", "name": next(iter(models.values())), "required": True,
                         "schema": {"$ref": f"#/definitions/{next(iter(models.values()))}"}})
            responses = {}
            for status, mr in (method.get("methodResponses") or {}).items():
                r: dict = {"description": f"{status} response"}
                headers = {k.rsplit(".", 1)[-1]: {"schema": {"type": "string"}} if oas3 else {"type": "string"}
                           for k in (mr.get("responseParameters") or {})}
                if headers:
                    r["headers"] = headers
                if oas3 and not mr.get("responseModels"):
                    r["content"] = {}  # AWS's OpenAPI 3 export names no media type then
                if mr.get("responseModels"):
                    used_models.update(mr["responseModels"].values())
                    if oas3:
                        r["content"] = {ct: {"schema": {"$ref": f"#/components/schemas/{m}"}}
                                        for ct, m in mr["responseModels"].items()}
                    else:
                        r["schema"] = {"$ref": f"#/definitions/{next(iter(mr['responseModels'].values()))}"}
                responses[status] = r
            op["responses"] = responses or {"200": {"description": "200 response"}}
            if not oas3:
                # Swagger's media types: what the method's models and its integration's templates
                # name (AWS's export)
                integ = method.get("methodIntegration") or {}
                consumes = list(dict.fromkeys([*models, *(integ.get("requestTemplates") or {})]))
                produces = list(dict.fromkeys(
                    [ct for mr in (method.get("methodResponses") or {}).values() for ct in mr.get("responseModels") or {}]
                    + [ct for ir in (integ.get("integrationResponses") or {}).values()
                       for ct in ir.get("responseTemplates") or {}]))
                if consumes:
                    op["consumes"] = consumes
                if produces:
                    op["produces"] = produces
            security = []
            if method.get("apiKeyRequired"):
                security.append({"api_key": []})
                api_key_used = True
            if with_auth and method.get("authorizationType") in ("CUSTOM", "COGNITO_USER_POOLS"):
                authorizer = snapshot["authorizers"].get(method.get("authorizerId"), {})
                security.append({authorizer.get("name", "authorizer"): method.get("authorizationScopes") or []})
            elif with_auth and method.get("authorizationType") == "AWS_IAM":
                security.append({"sigv4": []})
            if security:
                op["security"] = security
            if with_integrations and method.get("methodIntegration"):
                integ = method["methodIntegration"]
                x = {"type": integ["type"].lower()}
                # as AWS exports it: passthroughBehavior in lower case, no cacheNamespace, a
                # timeout only when not the default 29 s
                for key in ("uri", "httpMethod", "requestParameters", "requestTemplates", "contentHandling",
                            "credentials", "cacheKeyParameters"):
                    if integ.get(key) not in (None, [], {}):
                        x[key] = integ[key]
                if integ.get("passthroughBehavior"):
                    x["passthroughBehavior"] = integ["passthroughBehavior"].lower()
                if integ.get("timeoutInMillis") not in (None, 29000):
                    x["timeoutInMillis"] = integ["timeoutInMillis"]
                if integ.get("integrationResponses"):
                    x["responses"] = {}
                    for status, ir in integ["integrationResponses"].items():
                        entry = {"statusCode": status}
                        for key in ("responseParameters", "responseTemplates", "contentHandling"):
                            if ir.get(key):
                                entry[key] = ir[key]
                        x["responses"][ir.get("selectionPattern") or "default"] = entry
                op["x-amazon-apigateway-integration"] = x
            item["x-amazon-apigateway-any-method" if http_method == "ANY" else http_method.lower()] = op
    out["paths"] = paths
    schemas = {}
    models_by_name = snapshot.get("models", {})
    pending = list(used_models)
    while pending:  # the models a used one refers to are used too
        text = (models_by_name.get(pending.pop()) or {}).get("schema") or ""
        for ref in re.findall(r"(?:/models/|#/definitions/|#/components/schemas/)([A-Za-z0-9]+)", text):
            if ref not in used_models:
                used_models.add(ref)
                pending.append(ref)
    for name, model in models_by_name.items():
        if name not in used_models:
            continue
        try:
            schema = orjson.loads(model.get("schema") or "{}")
        except orjson.JSONDecodeError:
            continue
        schema = copy.deepcopy(schema)
        schema.pop("$schema", None)
        text = orjson.dumps(schema).decode()
        prefix = "#/components/schemas/" if oas3 else "#/definitions/"
        text = re.sub(r"https://apigateway\.amazonaws\.com/restapis/[^/]+/models/", prefix, text)
        schemas[name] = orjson.loads(text)
    security_schemes = {}
    if api_key_used:
        security_schemes["api_key"] = {"type": "apiKey", "name": "x-api-key", "in": "header"}
    if with_auth:
        for authorizer in snapshot.get("authorizers", {}).values():
            source = authorizer.get("identitySource", "method.request.header.Authorization")
            security_schemes[authorizer["name"]] = {
                "type": "apiKey", "name": source.rsplit(".", 1)[-1], "in": "header",
                "x-amazon-apigateway-authtype": authorizer.get("authType", "custom"),
                "x-amazon-apigateway-authorizer": {k: v for k, v in {
                    "type": authorizer["type"].lower(), "authorizerUri": authorizer.get("authorizerUri"),
                    "identitySource": authorizer.get("identitySource"),
                    "authorizerResultTtlInSeconds": authorizer.get("authorizerResultTtlInSeconds"),
                    "providerARNs": authorizer.get("providerARNs")}.items() if v is not None}}
    if oas3:
        components = {}
        if schemas:
            components["schemas"] = schemas
        if security_schemes:
            components["securitySchemes"] = security_schemes
        out["components"] = components  # AWS answers an empty one too
    else:
        if schemas:
            out["definitions"] = schemas
        if security_schemes:
            out["securityDefinitions"] = security_schemes
    if ext & {"apigateway"}:
        if snapshot.get("binaryMediaTypes"):
            out["x-amazon-apigateway-binary-media-types"] = snapshot["binaryMediaTypes"]
        if snapshot.get("gatewayResponses"):
            out["x-amazon-apigateway-gateway-responses"] = {
                t: {k: v for k, v in r.items() if k in ("statusCode", "responseParameters", "responseTemplates")}
                for t, r in snapshot["gatewayResponses"].items()}
        if snapshot.get("requestValidators"):
            out["x-amazon-apigateway-request-validators"] = {
                v["name"]: {"validateRequestBody": v["validateRequestBody"],
                            "validateRequestParameters": v["validateRequestParameters"]}
                for v in snapshot["requestValidators"].values()}
    return out
