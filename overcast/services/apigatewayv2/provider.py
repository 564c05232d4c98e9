"""API Gateway v2 (HTTP and WebSocket APIs): the control plane, and the entry points that serve
deployed APIs (serving.py for HTTP APIs, websocket.py for WebSocket connections)."""

from __future__ import annotations

import logging
import time

from overcast.services.apigatewayv2.errors import bad_request, conflict, not_found
from overcast.services.apigatewayv2.ids import new_id
from overcast.services.apigatewayv2.store import ApiGatewayV2Store
from overcast.services.base import Provider

log = logging.getLogger("overcast.apigatewayv2")

# child resources: operation noun -> (kind stored, id member, id length)
_KINDS = {
    "Route": ("route", "RouteId", 7),
    "Integration": ("integration", "IntegrationId", 7),
    "Authorizer": ("authorizer", "AuthorizerId", 6),
    "Model": ("model", "ModelId", 6),
    "Deployment": ("deployment", "DeploymentId", 6),
}
_INTEGRATION_TYPES = ("AWS", "AWS_PROXY", "HTTP", "HTTP_PROXY", "MOCK")
_SUBTYPES = {
    "SQS-SendMessage", "SQS-ReceiveMessage", "SQS-DeleteMessage", "SQS-PurgeQueue",
    "EventBridge-PutEvents", "Kinesis-PutRecord",
    "StepFunctions-StartExecution", "StepFunctions-StartSyncExecution", "StepFunctions-StopExecution",
}
EXECUTE_API_SUFFIX = "execute-api.localhost.localstack.cloud"


class ApiGatewayV2Provider(Provider):
    service = "apigatewayv2"

    def __init__(self, providers):
        super().__init__(providers)
        self.store = ApiGatewayV2Store(self.db)
        # sockets do not survive a restart (on a cluster: those of the other running nodes do)
        self.store.clear_connections(providers.coordination.live_node_ids())
        self._versions: dict[str, int] = {}  # api id -> change counter (compiled routes are keyed by it)
        self._unchanged = 0  # the counter of an API not in _versions
        self._compiled: dict[tuple, object] = {}
        # a change made on any node of a cluster moves the API's counter on every node
        # (storage/coordination.Cluster.cache)
        self._changed_everywhere = providers.coordination.cache("apigatewayv2", self._bump, self._bump_all)
        self._websockets = None
        self._serving = None

    # -- live parts ----------------------------------------------------------------------------

    @property
    def websockets(self):
        if self._websockets is None:
            from overcast.services.apigatewayv2.websocket import ConnectionManager

            self._websockets = ConnectionManager(self)
        return self._websockets

    @property
    def serving(self):
        if self._serving is None:
            from overcast.services.apigatewayv2.serving import HttpApiServer

            self._serving = HttpApiServer(self)
        return self._serving

    async def stop(self) -> None:
        if self._websockets is not None:
            await self._websockets.close_all()

    def reset(self) -> None:
        self._versions.clear()
        self._compiled.clear()
        if self._websockets is not None:
            self._websockets.drop_all()

    def changed(self, api_id: str) -> None:
        self._changed_everywhere(api_id)

    def _bump(self, api_id: str) -> None:
        self._versions[api_id] = self._versions.get(api_id, self._unchanged) + 1

    def _bump_all(self) -> None:
        """Every API may have changed (notifications were missed): every counter moves on, never
        back to a value an earlier compilation was keyed by."""
        for api_id in self._versions:
            self._versions[api_id] += 1
        self._unchanged += 1
        self._compiled.clear()

    def version(self, api_id: str) -> int:
        return self._versions.get(api_id, self._unchanged)

    def compiled(self, key: tuple, build):
        """A compiled object (route table) for key, which includes the API's change counter."""
        value = self._compiled.get(key)
        if value is None:
            if len(self._compiled) > 4096:
                self._compiled.clear()
            value = self._compiled[key] = build()
        return value

    async def handle_custom_domain(self, request, host: str, path: str):
        """overcast.execute_api's entry for a Host that may be a custom domain name: served
        through its API mappings, or None when it is not one of this service's domain names."""
        name = host.split(":", 1)[0].lower()
        if self.store.find_domain(name) is None:
            return None
        return await self.serving.handle(request, "domain:" + name, path, host)

    async def handle_execute_api(self, request, api_id: str, path: str, domain: str):
        """overcast.execute_api's entry: serve a request to one of this service's APIs (None when
        api_id is not one)."""
        return await self.serving.handle(request, api_id, path, domain)

    # -- helpers -------------------------------------------------------------------------------

    def endpoint_host(self) -> str:
        return f"{EXECUTE_API_SUFFIX}:{self.config.port}"

    def api_endpoint(self, ctx, api_id: str, protocol: str) -> str:
        """The API's endpoint in the scheme the caller reached overcast with: https/wss for a
        client pointed at https:// (AWS's form), http/ws for one pointed at http:// (the port
        serves both, docs/https.md)."""
        secure = ctx.request is not None and ctx.request.scheme == "https"
        if protocol == "WEBSOCKET":
            return f"{'wss' if secure else 'ws'}://{api_id}.{self.endpoint_host()}"
        return f"{'https' if secure else 'http'}://{api_id}.{self.endpoint_host()}"

    def _api(self, ctx, api_id: str) -> dict:
        api = self.store.get_api(ctx.account, ctx.region, api_id)
        if api is None:
            raise not_found("API")
        return api

    def _arn(self, ctx, path: str) -> str:
        return f"arn:aws:apigateway:{ctx.region}::{path}"

    def _with_tags(self, doc: dict, arn: str) -> dict:
        tags = self.store.get_tags(arn)
        return {**doc, "Tags": tags} if tags else doc

    def _api_out(self, ctx, api: dict) -> dict:
        """An API as the control plane answers it: its tags, and its endpoint on the port overcast
        listens on now (not stored: the port can change between runs)."""
        api = self._with_tags(api, self._arn(ctx, f"/apis/{api['ApiId']}"))
        return {**api, "ApiEndpoint": self.api_endpoint(ctx, api["ApiId"], api["ProtocolType"])}

    @staticmethod
    def _page(items: list[dict], params: dict) -> dict:
        start = int(params.get("NextToken") or 0) if str(params.get("NextToken") or "0").isdigit() else 0
        max_results = str(params.get("MaxResults") or "0")  # a string in the model (a query parameter)
        if not max_results.isdigit():
            raise bad_request(f"Invalid MaxResults: {max_results}")
        size = int(max_results) or len(items) or 1
        page = items[start:start + size]
        out = {"Items": page}
        if start + size < len(items):
            out["NextToken"] = str(start + size)
        return out

    @staticmethod
    def _merge(doc: dict, params: dict, skip: tuple = ()) -> dict:
        for key, value in params.items():
            if key in ("ApiId",) or key in skip or value is None:
                continue
            doc[key] = value
        return doc

    # -- APIs ----------------------------------------------------------------------------------

    def create_api(self, ctx, params):
        protocol = params["ProtocolType"]
        if protocol not in ("HTTP", "WEBSOCKET"):
            raise bad_request(f"Invalid protocol type {protocol}")
        if protocol == "WEBSOCKET" and not params.get("RouteSelectionExpression"):
            raise bad_request("RouteSelectionExpression is required for WEBSOCKET APIs")
        if protocol == "WEBSOCKET" and (params.get("Target") or params.get("RouteKey")):
            raise bad_request("Target and RouteKey are only supported for HTTP APIs")
        if protocol == "WEBSOCKET" and params.get("CorsConfiguration"):
            raise bad_request("CORS configuration is supported only for HTTP APIs.")
        api_id = new_id()
        doc = {
            "ApiId": api_id,
            "Name": params["Name"],
            "ProtocolType": protocol,
            "ApiEndpoint": self.api_endpoint(ctx, api_id, protocol),
            "ApiKeySelectionExpression": params.get("ApiKeySelectionExpression") or "$request.header.x-api-key",
            "CreatedDate": time.time(),
            "DisableExecuteApiEndpoint": bool(params.get("DisableExecuteApiEndpoint", False)),
            "IpAddressType": params.get("IpAddressType") or "ipv4",
            "RouteSelectionExpression": params.get("RouteSelectionExpression") or "${request.method} ${request.path}",
        }
        for key in ("Description", "Version", "CorsConfiguration", "DisableSchemaValidation"):
            if params.get(key) is not None:
                doc[key] = params[key]
        with self.db.transaction():
            self.store.put_api(ctx.account, ctx.region, api_id, doc)
            if params.get("Tags"):
                self.store.set_tags(self._arn(ctx, f"/apis/{api_id}"), params["Tags"])
            if params.get("Target"):
                self._quick_create(ctx, api_id, params)
        self.changed(api_id)
        return self._api_out(ctx, doc)

    def _quick_create(self, ctx, api_id: str, params: dict) -> None:
        target = params["Target"]
        integration_type = "AWS_PROXY" if target.startswith("arn:") else "HTTP_PROXY"
        integration = self._new_integration(ctx, api_id, {
            "IntegrationType": integration_type, "IntegrationUri": target,
            "IntegrationMethod": None if integration_type == "AWS_PROXY" else "ANY",
            "PayloadFormatVersion": "2.0" if integration_type == "AWS_PROXY" else "1.0",
            "CredentialsArn": params.get("CredentialsArn")}, managed=True)
        route_key = params.get("RouteKey") or "$default"
        route_id = new_id(7)
        self.store.put_item(ctx.account, ctx.region, api_id, "route", route_id, {
            "RouteId": route_id, "RouteKey": route_key, "Target": f"integrations/{integration['IntegrationId']}",
            "AuthorizationType": "NONE", "ApiKeyRequired": False, "ApiGatewayManaged": True})
        now = time.time()
        self.store.put_item(ctx.account, ctx.region, api_id, "stage", "$default", {
            "StageName": "$default", "AutoDeploy": True, "ApiGatewayManaged": True, "CreatedDate": now,
            "LastUpdatedDate": now, "DefaultRouteSettings": {"DetailedMetricsEnabled": False}, "RouteSettings": {},
            "StageVariables": {}})

    def get_api(self, ctx, params):
        api_id = params["ApiId"]
        return self._api_out(ctx, self._api(ctx, api_id))

    def get_apis(self, ctx, params):
        items = [self._api_out(ctx, a) for a in self.store.list_apis(ctx.account, ctx.region)]
        return self._page(items, params)

    def update_api(self, ctx, params):
        api = self._api(ctx, params["ApiId"])
        if api["ProtocolType"] == "WEBSOCKET" and params.get("CorsConfiguration"):
            raise bad_request("CORS configuration is supported only for HTTP APIs.")
        if params.get("Target") or params.get("RouteKey"):
            if api["ProtocolType"] != "HTTP":
                raise bad_request("Target and RouteKey are only supported for HTTP APIs")
        self._merge(api, params, skip=("Target", "RouteKey", "CredentialsArn"))
        self.store.put_api(ctx.account, ctx.region, api["ApiId"], api)
        self.changed(api["ApiId"])
        return self._api_out(ctx, api)

    def delete_api(self, ctx, params):
        api_id = params["ApiId"]
        if not self.store.delete_api(ctx.account, ctx.region, api_id):
            raise not_found("API")
        self.store.set_tags(self._arn(ctx, f"/apis/{api_id}"), {})
        self.changed(api_id)
        if self._websockets is not None:
            self._websockets.api_deleted(api_id)
        return {}

    def delete_cors_configuration(self, ctx, params):
        api = self._api(ctx, params["ApiId"])
        api.pop("CorsConfiguration", None)
        self.store.put_api(ctx.account, ctx.region, api["ApiId"], api)
        self.changed(api["ApiId"])
        return {}

    def import_api(self, ctx, params):
        from overcast.services.apigatewayv2.openapi import import_openapi

        return import_openapi(self, ctx, None, params)

    def reimport_api(self, ctx, params):
        from overcast.services.apigatewayv2.openapi import import_openapi

        self._api(ctx, params["ApiId"])
        return import_openapi(self, ctx, params["ApiId"], params)

    def export_api(self, ctx, params):
        from overcast.services.apigatewayv2.openapi import export_openapi

        return export_openapi(self, ctx, params)

    # -- generic child resources ---------------------------------------------------------------

    def _get(self, ctx, api_id: str, kind: str, item_id: str, what: str) -> dict:
        self._api(ctx, api_id)
        doc = self.store.get_item(ctx.account, ctx.region, api_id, kind, item_id)
        if doc is None:
            raise not_found(what)
        return doc

    def _put(self, ctx, api_id: str, kind: str, item_id: str, doc: dict) -> dict:
        self.store.put_item(ctx.account, ctx.region, api_id, kind, item_id, doc)
        self.changed(api_id)
        return doc

    def _delete(self, ctx, api_id: str, kind: str, item_id: str, what: str) -> dict:
        self._api(ctx, api_id)
        if not self.store.delete_item(ctx.account, ctx.region, api_id, kind, item_id):
            raise not_found(what)
        self.changed(api_id)
        return {}

    def _list(self, ctx, api_id: str, kind: str, params: dict) -> dict:
        self._api(ctx, api_id)
        return self._page(self.store.list_items(ctx.account, ctx.region, api_id, kind), params)

    # -- routes --------------------------------------------------------------------------------

    def _check_route(self, ctx, api: dict, params: dict) -> None:
        key = params.get("RouteKey")
        if key is not None and api["ProtocolType"] == "HTTP" and key != "$default":
            method, _, path = key.partition(" ")
            if not path.startswith("/") or method.upper() not in (
                    "ANY", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"):
                raise bad_request(f"Unable to create route {key}. Route key must be $default or "
                                  "follow the format 'HTTP_METHOD /resource/path'")
        target = params.get("Target")
        if target:
            integration_id = target.split("/", 1)[-1]
            if self.store.get_item(ctx.account, ctx.region, api["ApiId"], "integration", integration_id) is None:
                raise bad_request(f"Invalid integration target {target}")
        authorizer_id = params.get("AuthorizerId")
        if authorizer_id and self.store.get_item(ctx.account, ctx.region, api["ApiId"], "authorizer", authorizer_id) is None:
            raise not_found("Authorizer")

    def create_route(self, ctx, params):
        api = self._api(ctx, params["ApiId"])
        self._check_route(ctx, api, params)
        for other in self.store.list_items(ctx.account, ctx.region, api["ApiId"], "route"):
            if other["RouteKey"] == params["RouteKey"]:
                raise conflict(f"Unable to create route. A route with the key {params['RouteKey']} already exists")
        route_id = new_id(7)
        doc = {"RouteId": route_id, "ApiKeyRequired": False, "AuthorizationType": "NONE"}
        self._merge(doc, params)
        return self._put(ctx, api["ApiId"], "route", route_id, doc)

    def get_route(self, ctx, params):
        return self._get(ctx, params["ApiId"], "route", params["RouteId"], "Route")

    def get_routes(self, ctx, params):
        return self._list(ctx, params["ApiId"], "route", params)

    def update_route(self, ctx, params):
        api = self._api(ctx, params["ApiId"])
        doc = self._get(ctx, api["ApiId"], "route", params["RouteId"], "Route")
        self._check_route(ctx, api, params)
        self._merge(doc, params)
        return self._put(ctx, api["ApiId"], "route", doc["RouteId"], doc)

    def delete_route(self, ctx, params):
        self.store.delete_kind(ctx.account, ctx.region, params["ApiId"], "routeresponse:" + params["RouteId"])
        return self._delete(ctx, params["ApiId"], "route", params["RouteId"], "Route")

    def delete_route_request_parameter(self, ctx, params):
        doc = self._get(ctx, params["ApiId"], "route", params["RouteId"], "Route")
        (doc.get("RequestParameters") or {}).pop(params["RequestParameterKey"], None)
        self._put(ctx, params["ApiId"], "route", doc["RouteId"], doc)
        return {}

    def create_route_response(self, ctx, params):
        self._get(ctx, params["ApiId"], "route", params["RouteId"], "Route")
        response_id = new_id(6)
        doc = {"RouteResponseId": response_id}
        self._merge(doc, params, skip=("RouteId",))
        return self._put(ctx, params["ApiId"], "routeresponse:" + params["RouteId"], response_id, doc)

    def get_route_response(self, ctx, params):
        return self._get(ctx, params["ApiId"], "routeresponse:" + params["RouteId"], params["RouteResponseId"], "RouteResponse")

    def get_route_responses(self, ctx, params):
        self._get(ctx, params["ApiId"], "route", params["RouteId"], "Route")
        return self._list(ctx, params["ApiId"], "routeresponse:" + params["RouteId"], params)

    def update_route_response(self, ctx, params):
        kind = "routeresponse:" + params["RouteId"]
        doc = self._get(ctx, params["ApiId"], kind, params["RouteResponseId"], "RouteResponse")
        self._merge(doc, params, skip=("RouteId",))
        return self._put(ctx, params["ApiId"], kind, doc["RouteResponseId"], doc)

    def delete_route_response(self, ctx, params):
        return self._delete(ctx, params["ApiId"], "routeresponse:" + params["RouteId"], params["RouteResponseId"],
                            "RouteResponse")

    # -- integrations --------------------------------------------------------------------------

    def _check_integration(self, api: dict, doc: dict) -> None:
        kind = doc.get("IntegrationType")
        if kind not in _INTEGRATION_TYPES:
            raise bad_request(f"Invalid integration type {kind}")
        if api["ProtocolType"] == "HTTP" and kind in ("AWS", "HTTP"):
            raise bad_request(f"Integration type {kind} is not supported for HTTP APIs")
        if api["ProtocolType"] == "HTTP" and kind == "MOCK":
            raise bad_request("Integration type MOCK is not supported for HTTP APIs")
        subtype = doc.get("IntegrationSubtype")
        if subtype is not None and subtype not in _SUBTYPES:
            if subtype.split("-", 1)[0] in ("SQS", "EventBridge", "Kinesis", "StepFunctions", "AppConfig"):
                raise bad_request(f"Integration subtype {subtype} is not supported by overcast yet")
            raise bad_request(f"Invalid integration subtype {subtype}")
        if kind in ("AWS_PROXY", "HTTP_PROXY", "HTTP", "AWS") and not doc.get("IntegrationUri") and subtype is None:
            raise bad_request("IntegrationUri is required for integration type " + kind)
        version = doc.get("PayloadFormatVersion")
        if version not in (None, "1.0", "2.0"):
            raise bad_request(f"Invalid payload format version {version}")
        if version == "2.0" and (api["ProtocolType"] == "WEBSOCKET" or kind != "AWS_PROXY" or subtype):
            raise bad_request("Payload format version 2.0 is supported only for AWS_PROXY integrations of HTTP APIs")

    def _new_integration(self, ctx, api_id: str, params: dict, managed: bool = False) -> dict:
        api = self._api(ctx, api_id)
        integration_id = new_id(7)
        doc = {"IntegrationId": integration_id, "ConnectionType": "INTERNET", "TimeoutInMillis": 30000}
        self._merge(doc, params)
        if doc["IntegrationType"] == "AWS_PROXY" and api["ProtocolType"] == "HTTP":
            doc.setdefault("PayloadFormatVersion", "2.0" if doc.get("IntegrationSubtype") is None else "1.0")
        elif api["ProtocolType"] == "HTTP":
            doc.setdefault("PayloadFormatVersion", "1.0")
        if api["ProtocolType"] == "WEBSOCKET":
            doc.setdefault("PassthroughBehavior", "WHEN_NO_MATCH")
            doc["TimeoutInMillis"] = params.get("TimeoutInMillis") or 29000
        if doc.get("IntegrationType") in ("HTTP_PROXY", "HTTP") and not doc.get("IntegrationMethod"):
            doc["IntegrationMethod"] = "ANY" if api["ProtocolType"] == "HTTP" else "POST"
        if managed:
            doc["ApiGatewayManaged"] = True
        self._check_integration(api, doc)
        doc = {k: v for k, v in doc.items() if v is not None}
        return self._put(ctx, api_id, "integration", integration_id, doc)

    def create_integration(self, ctx, params):
        return self._new_integration(ctx, params["ApiId"], params)

    def get_integration(self, ctx, params):
        return self._get(ctx, params["ApiId"], "integration", params["IntegrationId"], "Integration")

    def get_integrations(self, ctx, params):
        return self._list(ctx, params["ApiId"], "integration", params)

    def update_integration(self, ctx, params):
        api = self._api(ctx, params["ApiId"])
        doc = self._get(ctx, api["ApiId"], "integration", params["IntegrationId"], "Integration")
        self._merge(doc, params)
        self._check_integration(api, doc)
        return self._put(ctx, api["ApiId"], "integration", doc["IntegrationId"], doc)

    def delete_integration(self, ctx, params):
        self.store.delete_kind(ctx.account, ctx.region, params["ApiId"], "integrationresponse:" + params["IntegrationId"])
        return self._delete(ctx, params["ApiId"], "integration", params["IntegrationId"], "Integration")

    def create_integration_response(self, ctx, params):
        self._get(ctx, params["ApiId"], "integration", params["IntegrationId"], "Integration")
        response_id = new_id(6)
        doc = {"IntegrationResponseId": response_id}
        self._merge(doc, params, skip=("IntegrationId",))
        return self._put(ctx, params["ApiId"], "integrationresponse:" + params["IntegrationId"], response_id, doc)

    def get_integration_response(self, ctx, params):
        return self._get(ctx, params["ApiId"], "integrationresponse:" + params["IntegrationId"],
                         params["IntegrationResponseId"], "IntegrationResponse")

    def get_integration_responses(self, ctx, params):
        self._get(ctx, params["ApiId"], "integration", params["IntegrationId"], "Integration")
        return self._list(ctx, params["ApiId"], "integrationresponse:" + params["IntegrationId"], params)

    def update_integration_response(self, ctx, params):
        kind = "integrationresponse:" + params["IntegrationId"]
        doc = self._get(ctx, params["ApiId"], kind, params["IntegrationResponseId"], "IntegrationResponse")
        self._merge(doc, params, skip=("IntegrationId",))
        return self._put(ctx, params["ApiId"], kind, doc["IntegrationResponseId"], doc)

    def delete_integration_response(self, ctx, params):
        return self._delete(ctx, params["ApiId"], "integrationresponse:" + params["IntegrationId"],
                            params["IntegrationResponseId"], "IntegrationResponse")

    # -- authorizers ---------------------------------------------------------------------------

    def _check_authorizer(self, api: dict, doc: dict) -> None:
        kind = doc.get("AuthorizerType")
        if kind not in ("JWT", "REQUEST"):
            raise bad_request(f"Invalid authorizer type {kind}")
        if kind == "JWT":
            if api["ProtocolType"] != "HTTP":
                raise bad_request("JWT authorizers are supported only for HTTP APIs")
            jwt = doc.get("JwtConfiguration") or {}
            if not jwt.get("Issuer"):
                raise bad_request("JwtConfiguration.Issuer is required for JWT authorizers")
        if kind == "REQUEST" and not doc.get("AuthorizerUri"):
            raise bad_request("AuthorizerUri is required for REQUEST authorizers")
        if doc.get("EnableSimpleResponses") and doc.get("AuthorizerPayloadFormatVersion") != "2.0":
            raise bad_request("Simple responses are supported only for authorizer payload format version 2.0")

    def create_authorizer(self, ctx, params):
        api = self._api(ctx, params["ApiId"])
        authorizer_id = new_id(6)
        doc = {"AuthorizerId": authorizer_id}
        self._merge(doc, params)
        if api["ProtocolType"] == "HTTP" and doc["AuthorizerType"] == "REQUEST":
            doc.setdefault("AuthorizerResultTtlInSeconds", 0)
        self._check_authorizer(api, doc)
        return self._put(ctx, api["ApiId"], "authorizer", authorizer_id, doc)

    def get_authorizer(self, ctx, params):
        return self._get(ctx, params["ApiId"], "authorizer", params["AuthorizerId"], "Authorizer")

    def get_authorizers(self, ctx, params):
        return self._list(ctx, params["ApiId"], "authorizer", params)

    def update_authorizer(self, ctx, params):
        api = self._api(ctx, params["ApiId"])
        doc = self._get(ctx, api["ApiId"], "authorizer", params["AuthorizerId"], "Authorizer")
        self._merge(doc, params)
        self._check_authorizer(api, doc)
        return self._put(ctx, api["ApiId"], "authorizer", doc["AuthorizerId"], doc)

    def delete_authorizer(self, ctx, params):
        return self._delete(ctx, params["ApiId"], "authorizer", params["AuthorizerId"], "Authorizer")

    def reset_authorizers_cache(self, ctx, params):
        self._get(ctx, params["ApiId"], "stage", params["StageName"], "Stage")
        self.changed(params["ApiId"])  # cached authorizer answers are keyed by the change counter
        return {}

    # -- models --------------------------------------------------------------------------------

    def create_model(self, ctx, params):
        api = self._api(ctx, params["ApiId"])
        for other in self.store.list_items(ctx.account, ctx.region, api["ApiId"], "model"):
            if other["Name"] == params["Name"]:
                raise conflict(f"Model name already exists for this API: {params['Name']}")
        model_id = new_id(6)
        doc = {"ModelId": model_id, "ContentType": "application/json"}
        self._merge(doc, params)
        return self._put(ctx, api["ApiId"], "model", model_id, doc)

    def get_model(self, ctx, params):
        return self._get(ctx, params["ApiId"], "model", params["ModelId"], "Model")

    def get_models(self, ctx, params):
        return self._list(ctx, params["ApiId"], "model", params)

    def get_model_template(self, ctx, params):
        self._get(ctx, params["ApiId"], "model", params["ModelId"], "Model")
        return {"Value": "#set($inputRoot = $input.path('$'))\n{ }"}

    def update_model(self, ctx, params):
        doc = self._get(ctx, params["ApiId"], "model", params["ModelId"], "Model")
        self._merge(doc, params)
        return self._put(ctx, params["ApiId"], "model", doc["ModelId"], doc)

    def delete_model(self, ctx, params):
        return self._delete(ctx, params["ApiId"], "model", params["ModelId"], "Model")

    # -- deployments and stages ----------------------------------------------------------------

    def snapshot(self, ctx_account: str, region: str, api_id: str) -> dict:
        """What a deployment freezes: the routes, integrations, authorizers and responses."""
        kinds = {}
        for kind in ("route", "integration", "authorizer"):
            kinds[kind] = self.store.list_items(ctx_account, region, api_id, kind)
        for route in kinds["route"]:
            route["_responses"] = self.store.list_items(ctx_account, region, api_id, "routeresponse:" + route["RouteId"])
        for integration in kinds["integration"]:
            integration["_responses"] = self.store.list_items(
                ctx_account, region, api_id, "integrationresponse:" + integration["IntegrationId"])
        return kinds

    def _deploy(self, ctx, api_id: str, description: str | None, auto: bool = False) -> dict:
        deployment_id = new_id(6)
        doc = {"DeploymentId": deployment_id, "CreatedDate": time.time(), "DeploymentStatus": "DEPLOYED",
               "AutoDeployed": auto}
        if description is not None:
            doc["Description"] = description
        self.store.put_item(ctx.account, ctx.region, api_id, "deployment", deployment_id, doc)
        self.store.put_item(ctx.account, ctx.region, api_id, "snapshot", deployment_id,
                            self.snapshot(ctx.account, ctx.region, api_id))
        return doc

    def create_deployment(self, ctx, params):
        api = self._api(ctx, params["ApiId"])
        stage_name = params.get("StageName")
        with self.db.transaction():
            stage = None
            if stage_name:
                stage = self.store.get_item(ctx.account, ctx.region, api["ApiId"], "stage", stage_name)
                if stage is None:
                    raise bad_request(f"Invalid stage identifier specified: {stage_name}")
                if stage.get("AutoDeploy"):
                    raise bad_request("Stage is configured for auto deployment: deployments are created automatically")
            if api["ProtocolType"] == "WEBSOCKET" and not self.store.list_items(ctx.account, ctx.region, api["ApiId"], "route"):
                raise bad_request("At least one route is required before deploying the Api.")
            doc = self._deploy(ctx, api["ApiId"], params.get("Description"))
            if stage is not None:
                stage["DeploymentId"] = doc["DeploymentId"]
                stage["LastUpdatedDate"] = time.time()
                self.store.put_item(ctx.account, ctx.region, api["ApiId"], "stage", stage_name, stage)
        self.changed(api["ApiId"])
        return doc

    def get_deployment(self, ctx, params):
        return self._get(ctx, params["ApiId"], "deployment", params["DeploymentId"], "Deployment")

    def get_deployments(self, ctx, params):
        return self._list(ctx, params["ApiId"], "deployment", params)

    def update_deployment(self, ctx, params):
        doc = self._get(ctx, params["ApiId"], "deployment", params["DeploymentId"], "Deployment")
        self._merge(doc, params)
        return self._put(ctx, params["ApiId"], "deployment", doc["DeploymentId"], doc)

    def delete_deployment(self, ctx, params):
        api_id, deployment_id = params["ApiId"], params["DeploymentId"]
        for stage in self.store.list_items(ctx.account, ctx.region, api_id, "stage"):
            if stage.get("DeploymentId") == deployment_id:
                raise bad_request(f"Active stages pointing to this deployment must be moved or deleted: {stage['StageName']}")
        self.store.delete_item(ctx.account, ctx.region, api_id, "snapshot", deployment_id)
        return self._delete(ctx, api_id, "deployment", deployment_id, "Deployment")

    def _stage_arn(self, ctx, api_id: str, stage: str) -> str:
        return self._arn(ctx, f"/apis/{api_id}/stages/{stage}")

    def _check_stage(self, ctx, api_id: str, doc: dict) -> None:
        deployment_id = doc.get("DeploymentId")
        if deployment_id and self.store.get_item(ctx.account, ctx.region, api_id, "deployment", deployment_id) is None:
            raise bad_request(f"Invalid deployment identifier specified: {deployment_id}")
        for settings in [doc.get("DefaultRouteSettings") or {}, *(doc.get("RouteSettings") or {}).values()]:
            for key in ("ThrottlingBurstLimit", "ThrottlingRateLimit"):
                if settings.get(key) is not None and settings[key] < 0:
                    raise bad_request(f"{key} must be non-negative")

    def create_stage(self, ctx, params):
        api = self._api(ctx, params["ApiId"])
        name = params["StageName"]
        if self.store.get_item(ctx.account, ctx.region, api["ApiId"], "stage", name) is not None:
            raise conflict(f"Stage already exists: {name}")
        if name == "$default" and api["ProtocolType"] == "WEBSOCKET":
            raise bad_request("Stage name $default is reserved for HTTP APIs")
        now = time.time()
        doc = {"StageName": name, "CreatedDate": now, "LastUpdatedDate": now, "RouteSettings": {},
               "StageVariables": {}, "DefaultRouteSettings": {"DetailedMetricsEnabled": False}}
        if api["ProtocolType"] == "HTTP":
            doc["AutoDeploy"] = False
        self._merge(doc, params, skip=("Tags",))
        self._check_stage(ctx, api["ApiId"], doc)
        with self.db.transaction():
            if doc.get("AutoDeploy") and api["ProtocolType"] == "WEBSOCKET" and self.store.list_items(
                    ctx.account, ctx.region, api["ApiId"], "route"):
                doc["DeploymentId"] = self._deploy(ctx, api["ApiId"], "Automatic deployment", auto=True)["DeploymentId"]
            self.store.put_item(ctx.account, ctx.region, api["ApiId"], "stage", name, doc)
            if params.get("Tags"):
                self.store.set_tags(self._stage_arn(ctx, api["ApiId"], name), params["Tags"])
        self.changed(api["ApiId"])
        return self._with_tags(doc, self._stage_arn(ctx, api["ApiId"], name))

    def get_stage(self, ctx, params):
        doc = self._get(ctx, params["ApiId"], "stage", params["StageName"], "Stage")
        return self._with_tags(doc, self._stage_arn(ctx, params["ApiId"], params["StageName"]))

    def get_stages(self, ctx, params):
        out = self._list(ctx, params["ApiId"], "stage", params)
        out["Items"] = [self._with_tags(s, self._stage_arn(ctx, params["ApiId"], s["StageName"])) for s in out["Items"]]
        return out

    def update_stage(self, ctx, params):
        doc = self._get(ctx, params["ApiId"], "stage", params["StageName"], "Stage")
        self._merge(doc, params, skip=("StageName",))
        doc["LastUpdatedDate"] = time.time()
        self._check_stage(ctx, params["ApiId"], doc)
        self._put(ctx, params["ApiId"], "stage", doc["StageName"], doc)
        return self._with_tags(doc, self._stage_arn(ctx, params["ApiId"], params["StageName"]))

    def delete_stage(self, ctx, params):
        self._delete(ctx, params["ApiId"], "stage", params["StageName"], "Stage")
        self.store.set_tags(self._stage_arn(ctx, params["ApiId"], params["StageName"]), {})
        return {}

    def delete_route_settings(self, ctx, params):
        doc = self._get(ctx, params["ApiId"], "stage", params["StageName"], "Stage")
        if params["RouteKey"] not in (doc.get("RouteSettings") or {}):
            raise not_found("RouteSettings")
        doc["RouteSettings"].pop(params["RouteKey"])
        self._put(ctx, params["ApiId"], "stage", doc["StageName"], doc)
        return {}

    def delete_access_log_settings(self, ctx, params):
        doc = self._get(ctx, params["ApiId"], "stage", params["StageName"], "Stage")
        doc.pop("AccessLogSettings", None)
        self._put(ctx, params["ApiId"], "stage", doc["StageName"], doc)
        return {}

    # -- domain names and API mappings ---------------------------------------------------------

    def _domain(self, ctx, name: str) -> dict:
        doc = self.store.get_domain(ctx.account, ctx.region, name)
        if doc is None:
            raise not_found("domain name")
        return doc

    def create_domain_name(self, ctx, params):
        name = params["DomainName"]
        if self.store.find_domain(name) is not None:
            raise conflict(f"The domain name you provided already exists: {name}")
        configs = []
        for config in params.get("DomainNameConfigurations") or [{}]:
            configs.append({"ApiGatewayDomainName": f"d-{new_id(10)}.{EXECUTE_API_SUFFIX}",
                            "DomainNameStatus": "AVAILABLE", "EndpointType": "REGIONAL",
                            "HostedZoneId": "Z1UJRXOUMOOFQ8", "SecurityPolicy": "TLS_1_2", **config})
        doc = {"DomainName": name, "ApiMappingSelectionExpression": "$request.basepath",
               "DomainNameConfigurations": configs,
               "DomainNameArn": self._arn(ctx, f"/domainnames/{name}"),
               "RoutingMode": params.get("RoutingMode") or "API_MAPPING_ONLY"}
        if params.get("MutualTlsAuthentication"):
            doc["MutualTlsAuthentication"] = params["MutualTlsAuthentication"]
        with self.db.transaction():
            self.store.put_domain(ctx.account, ctx.region, name, doc)
            if params.get("Tags"):
                self.store.set_tags(doc["DomainNameArn"], params["Tags"])
        return self._with_tags(doc, doc["DomainNameArn"])

    def get_domain_name(self, ctx, params):
        doc = self._domain(ctx, params["DomainName"])
        return self._with_tags(doc, doc["DomainNameArn"])

    def get_domain_names(self, ctx, params):
        return self._page([self._with_tags(d, d["DomainNameArn"]) for d in self.store.list_domains(ctx.account, ctx.region)],
                          params)

    def update_domain_name(self, ctx, params):
        doc = self._domain(ctx, params["DomainName"])
        self._merge(doc, params)
        self.store.put_domain(ctx.account, ctx.region, doc["DomainName"], doc)
        return self._with_tags(doc, doc["DomainNameArn"])

    def delete_domain_name(self, ctx, params):
        doc = self._domain(ctx, params["DomainName"])
        self.store.delete_domain(ctx.account, ctx.region, params["DomainName"])
        self.store.set_tags(doc["DomainNameArn"], {})
        return {}

    def create_api_mapping(self, ctx, params):
        domain = params["DomainName"]
        self._domain(ctx, domain)
        self._api(ctx, params["ApiId"])
        if self.store.get_item(ctx.account, ctx.region, params["ApiId"], "stage", params["Stage"]) is None:
            raise bad_request(f"Invalid stage identifier specified: {params['Stage']}")
        key = params.get("ApiMappingKey") or ""
        for other in self.store.list_items(ctx.account, ctx.region, "domain:" + domain, "mapping"):
            if (other.get("ApiMappingKey") or "") == key:
                raise conflict("ApiMapping with the same key already exists for this domain name")
        mapping_id = new_id(6)
        doc = {"ApiMappingId": mapping_id, "ApiId": params["ApiId"], "Stage": params["Stage"]}
        if key:
            doc["ApiMappingKey"] = key
        self.store.put_item(ctx.account, ctx.region, "domain:" + domain, "mapping", mapping_id, doc)
        return doc

    def _mapping(self, ctx, params) -> dict:
        self._domain(ctx, params["DomainName"])
        doc = self.store.get_item(ctx.account, ctx.region, "domain:" + params["DomainName"], "mapping", params["ApiMappingId"])
        if doc is None:
            raise not_found("ApiMapping")
        return doc

    def get_api_mapping(self, ctx, params):
        return self._mapping(ctx, params)

    def get_api_mappings(self, ctx, params):
        self._domain(ctx, params["DomainName"])
        return self._page(self.store.list_items(ctx.account, ctx.region, "domain:" + params["DomainName"], "mapping"), params)

    def update_api_mapping(self, ctx, params):
        doc = self._mapping(ctx, params)
        for key in ("ApiId", "Stage", "ApiMappingKey"):
            if params.get(key) is not None:
                doc[key] = params[key]
        self.store.put_item(ctx.account, ctx.region, "domain:" + params["DomainName"], "mapping", doc["ApiMappingId"], doc)
        return doc

    def delete_api_mapping(self, ctx, params):
        self._mapping(ctx, params)
        self.store.delete_item(ctx.account, ctx.region, "domain:" + params["DomainName"], "mapping", params["ApiMappingId"])
        return {}

    def resolve_domain(self, host: str, path: str) -> tuple[str, str, str] | None:
        """A request to a custom domain name: (api id, stage, path within the API) by the API
        mapping whose key is the longest leading part of the path, else the empty-key mapping."""
        found = self.store.find_domain(host.lower())
        if found is None:
            return None
        account, region, _ = found
        segments = [s for s in path.split("/") if s]
        best, best_length = None, -1
        for mapping in self.store.list_items(account, region, "domain:" + host, "mapping"):
            key = [s for s in (mapping.get("ApiMappingKey") or "").split("/") if s]
            if segments[:len(key)] == key and len(key) > best_length:
                best, best_length = mapping, len(key)
        if best is None:
            return None
        rest = "/" + "/".join(segments[best_length:])
        if path.endswith("/") and rest != "/":
            rest += "/"
        return best["ApiId"], best["Stage"], rest

    # -- tags ----------------------------------------------------------------------------------

    def _check_arn(self, ctx, arn: str) -> None:
        prefix = f"arn:aws:apigateway:{ctx.region}::"
        if not arn.startswith(prefix):
            raise not_found("resource")
        path = arn[len(prefix):].split("/")
        if len(path) >= 3 and path[1] == "apis":
            self._api(ctx, path[2])
            if len(path) >= 5 and path[3] == "stages":
                self._get(ctx, path[2], "stage", path[4], "Stage")
        elif len(path) >= 3 and path[1] == "domainnames":
            self._domain(ctx, path[2])
        else:
            raise not_found("resource")

    def tag_resource(self, ctx, params):
        arn = params["ResourceArn"]
        self._check_arn(ctx, arn)
        self.store.set_tags(arn, {**self.store.get_tags(arn), **(params.get("Tags") or {})})
        return {}

    def untag_resource(self, ctx, params):
        arn = params["ResourceArn"]
        self._check_arn(ctx, arn)
        tags = self.store.get_tags(arn)
        for key in params.get("TagKeys") or ():
            tags.pop(key, None)
        self.store.set_tags(arn, tags)
        return {}

    def get_tags(self, ctx, params):
        self._check_arn(ctx, params["ResourceArn"])
        return {"Tags": self.store.get_tags(params["ResourceArn"])}

    # -- VPC links (stored; overcast reaches private targets directly) -------------------------

    def create_vpc_link(self, ctx, params):
        link_id = new_id(6)
        doc = {"VpcLinkId": link_id, "Name": params["Name"], "SecurityGroupIds": params.get("SecurityGroupIds") or [],
               "SubnetIds": params["SubnetIds"], "CreatedDate": time.time(), "VpcLinkStatus": "AVAILABLE",
               "VpcLinkVersion": "V2"}
        self.store.put_item(ctx.account, ctx.region, "vpclinks", "vpclink", link_id, doc)
        return doc

    def _vpc_link(self, ctx, link_id):
        doc = self.store.get_item(ctx.account, ctx.region, "vpclinks", "vpclink", link_id)
        if doc is None:
            raise not_found("VpcLink")
        return doc

    def get_vpc_link(self, ctx, params):
        return self._vpc_link(ctx, params["VpcLinkId"])

    def get_vpc_links(self, ctx, params):
        return self._page(self.store.list_items(ctx.account, ctx.region, "vpclinks", "vpclink"), params)

    def update_vpc_link(self, ctx, params):
        doc = self._vpc_link(ctx, params["VpcLinkId"])
        if params.get("Name"):
            doc["Name"] = params["Name"]
        self.store.put_item(ctx.account, ctx.region, "vpclinks", "vpclink", doc["VpcLinkId"], doc)
        return doc

    def delete_vpc_link(self, ctx, params):
        self._vpc_link(ctx, params["VpcLinkId"])
        self.store.delete_item(ctx.account, ctx.region, "vpclinks", "vpclink", params["VpcLinkId"])
        return {}
