"""ImportApi / ReimportApi / ExportApi for HTTP APIs: OpenAPI 3.0 (JSON or YAML) with API
Gateway's extensions (x-amazon-apigateway-integration, -cors, -authorizer via
securitySchemes)."""

from __future__ import annotations

import time

import orjson

from overcast.services.apigatewayv2.errors import bad_request
from overcast.services.apigatewayv2.ids import new_id

_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "x-amazon-apigateway-any-method")


def _parse(body: str) -> dict:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        import yaml

        try:
            doc = yaml.safe_load(body)
        except yaml.YAMLError as e:
            raise bad_request(f"Invalid OpenAPI definition: {e}") from None
    if not isinstance(doc, dict) or not (doc.get("openapi") or doc.get("swagger")):
        raise bad_request("Invalid OpenAPI definition: the document is not an OpenAPI 3.0 definition")
    return doc


def import_openapi(provider, ctx, api_id: str | None, params: dict) -> dict:
    doc = _parse(params["Body"])
    info = doc.get("info") or {}
    store = provider.store
    warnings = []
    with provider.db.transaction():
        if api_id is None:
            api = provider.create_api(ctx, {"Name": info.get("title") or "imported", "ProtocolType": "HTTP",
                                            "Description": info.get("description"), "Version": info.get("version")})
            api_id = api["ApiId"]
        else:
            api = store.get_api(ctx.account, ctx.region, api_id)
            for kind in ("route", "integration", "authorizer"):
                for item in store.list_items(ctx.account, ctx.region, api_id, kind):
                    store.delete_item(ctx.account, ctx.region, api_id, kind,
                                      item.get("RouteId") or item.get("IntegrationId") or item.get("AuthorizerId"))
            for key, value in (("Name", info.get("title")), ("Description", info.get("description")),
                               ("Version", info.get("version"))):
                if value:
                    api[key] = value
        cors = doc.get("x-amazon-apigateway-cors")
        if cors:
            api["CorsConfiguration"] = {
                {"allowOrigins": "AllowOrigins", "allowMethods": "AllowMethods", "allowHeaders": "AllowHeaders",
                 "exposeHeaders": "ExposeHeaders", "maxAge": "MaxAge", "allowCredentials": "AllowCredentials"}[k]: v
                for k, v in cors.items() if k in ("allowOrigins", "allowMethods", "allowHeaders", "exposeHeaders",
                                                   "maxAge", "allowCredentials")}
        store.put_api(ctx.account, ctx.region, api_id, api)
        authorizer_ids = {}
        for name, scheme in ((doc.get("components") or {}).get("securitySchemes") or {}).items():
            ext = scheme.get("x-amazon-apigateway-authorizer")
            if not ext:
                continue
            authorizer_id = new_id(6)
            authorizer = {"AuthorizerId": authorizer_id, "Name": name}
            if ext.get("type") == "jwt":
                authorizer.update(AuthorizerType="JWT", IdentitySource=[ext.get("identitySource", "$request.header.Authorization")],
                                  JwtConfiguration={"Issuer": (ext.get("jwtConfiguration") or {}).get("issuer"),
                                                    "Audience": (ext.get("jwtConfiguration") or {}).get("audience") or []})
            else:
                source = ext.get("identitySource") or ""
                authorizer.update(AuthorizerType="REQUEST", AuthorizerUri=ext.get("authorizerUri"),
                                  AuthorizerPayloadFormatVersion=ext.get("authorizerPayloadFormatVersion", "2.0"),
                                  EnableSimpleResponses=bool(ext.get("enableSimpleResponses")),
                                  IdentitySource=[s.strip() for s in source.split(",")] if isinstance(source, str) else source,
                                  AuthorizerResultTtlInSeconds=int(ext.get("authorizerResultTtlInSeconds", 0)))
            store.put_item(ctx.account, ctx.region, api_id, "authorizer", authorizer_id, authorizer)
            authorizer_ids[name] = authorizer_id
        for path, item in (doc.get("paths") or {}).items():
            for method, operation in (item or {}).items():
                if method.lower() not in _METHODS or not isinstance(operation, dict):
                    continue
                verb = "ANY" if method.lower() == "x-amazon-apigateway-any-method" else method.upper()
                route_key = "$default" if path == "$default" else f"{verb} {path}"
                route_id = new_id(7)
                route = {"RouteId": route_id, "RouteKey": route_key, "ApiKeyRequired": False, "AuthorizationType": "NONE"}
                ext = operation.get("x-amazon-apigateway-integration")
                if ext:
                    integration_id = new_id(7)
                    kind = str(ext.get("type", "aws_proxy")).upper()
                    integration = {"IntegrationId": integration_id, "IntegrationType": kind,
                                   "ConnectionType": ext.get("connectionType", "INTERNET"),
                                   "PayloadFormatVersion": str(ext.get("payloadFormatVersion", "2.0" if kind == "AWS_PROXY" else "1.0")),
                                   "TimeoutInMillis": int(ext.get("timeoutInMillis", 30000))}
                    if ext.get("uri"):
                        integration["IntegrationUri"] = ext["uri"]
                    if ext.get("httpMethod") and kind != "AWS_PROXY":
                        integration["IntegrationMethod"] = ext["httpMethod"]
                    if ext.get("integrationSubtype"):
                        integration["IntegrationSubtype"] = ext["integrationSubtype"]
                    if ext.get("requestParameters"):
                        integration["RequestParameters"] = ext["requestParameters"]
                    store.put_item(ctx.account, ctx.region, api_id, "integration", integration_id, integration)
                    route["Target"] = f"integrations/{integration_id}"
                else:
                    warnings.append(f"Route {route_key} has no x-amazon-apigateway-integration: created without a target")
                for requirement in operation.get("security") or []:
                    for name, scopes in requirement.items():
                        if name in authorizer_ids:
                            authorizer = store.get_item(ctx.account, ctx.region, api_id, "authorizer", authorizer_ids[name])
                            route["AuthorizationType"] = "JWT" if authorizer["AuthorizerType"] == "JWT" else "CUSTOM"
                            route["AuthorizerId"] = authorizer_ids[name]
                            if scopes:
                                route["AuthorizationScopes"] = scopes
                store.put_item(ctx.account, ctx.region, api_id, "route", route_id, route)
        if params.get("FailOnWarnings") and warnings:
            raise bad_request("Warnings found during import:\n" + "\n".join(warnings))
    provider.changed(api_id)
    api = provider._api_out(ctx, store.get_api(ctx.account, ctx.region, api_id))
    if warnings:
        api = {**api, "Warnings": warnings}
    return api


def export_openapi(provider, ctx, params: dict) -> dict:
    api = provider._api(ctx, params["ApiId"])
    if api["ProtocolType"] != "HTTP":
        raise bad_request("Export is supported only for HTTP APIs")
    api_id = api["ApiId"]
    if params.get("StageName"):
        provider._get(ctx, api_id, "stage", params["StageName"], "Stage")
    store = provider.store
    integrations = {i["IntegrationId"]: i for i in store.list_items(ctx.account, ctx.region, api_id, "integration")}
    include = params.get("IncludeExtensions", True) is not False
    paths: dict = {}
    for route in store.list_items(ctx.account, ctx.region, api_id, "route"):
        key = route["RouteKey"]
        method, _, path = key.partition(" ") if key != "$default" else ("ANY", "", "$default")
        verb = "x-amazon-apigateway-any-method" if method == "ANY" else method.lower()
        operation: dict = {"responses": {"default": {"description": "Default response for " + key}}}
        integration = integrations.get((route.get("Target") or "/").split("/", 1)[-1])
        if include and integration:
            ext = {"type": integration["IntegrationType"].lower(), "payloadFormatVersion": integration.get("PayloadFormatVersion", "1.0"),
                   "connectionType": integration.get("ConnectionType", "INTERNET")}
            if integration.get("IntegrationUri"):
                ext["uri"] = integration["IntegrationUri"]
            ext["httpMethod"] = integration.get("IntegrationMethod", "POST")
            operation["x-amazon-apigateway-integration"] = ext
        params_in_path = [p.strip("{}+") for p in path.split("/") if p.startswith("{")]
        if params_in_path:
            operation["parameters"] = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                                       for n in params_in_path]
        paths.setdefault(path, {})[verb] = operation
    doc = {"openapi": "3.0.1", "info": {"title": api["Name"], "version": api.get("Version") or
                                        time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(api["CreatedDate"]))},
           "paths": paths}
    if api.get("Description"):
        doc["info"]["description"] = api["Description"]
    if include:
        doc["x-amazon-apigateway-importexport-version"] = "1.0"
    if params.get("OutputType") == "YAML":
        import yaml

        return {"body": yaml.safe_dump(doc, sort_keys=False).encode()}
    return {"body": orjson.dumps(doc)}
