"""AWS::ApiGatewayV2::* types, through the API Gateway v2 provider: Api (quick create, or from an
OpenAPI Body/BodyS3Location), Route, Integration, Stage, Deployment, Authorizer, RouteResponse,
IntegrationResponse, DomainName, ApiMapping. The v2 API's members are CloudFormation's property
names, so most properties pass through as they are."""

from __future__ import annotations

import json
from typing import ClassVar

from overcast.services.cloudformation.resources.apigateway import _body
from overcast.services.cloudformation.resources.base import ResourceOp, ResourceType, tag_changes, tag_map

_API_UPDATABLE = ("Name", "Description", "CorsConfiguration", "DisableExecuteApiEndpoint",
                  "RouteSelectionExpression", "Version", "ApiKeySelectionExpression", "CredentialsArn", "RouteKey",
                  "Target", "DisableSchemaValidation")


async def retag(op: ResourceOp, path: str) -> None:
    """An update's tag changes of the resource at `path` (/apis/{id}, /domainnames/{name}, ...)."""
    tags, gone = tag_changes(op.old_properties, op.properties)
    arn = f"arn:aws:apigateway:{op.region}::{path}"
    if gone:
        await op.call("apigatewayv2", "UntagResource", {"ResourceArn": arn, "TagKeys": gone})
    if tags:
        await op.call("apigatewayv2", "TagResource", {"ResourceArn": arn, "Tags": tags})


class Api(ResourceType):
    type_name = "AWS::ApiGatewayV2::Api"

    async def create(self, op: ResourceOp):
        props = op.properties
        body = await _body(op, props)
        if body is not None:
            api = await op.call("apigatewayv2", "ImportApi", {"Body": body.decode(),
                                                              "FailOnWarnings": props.get("FailOnWarnings"),
                                                              "Basepath": props.get("BasePath")})
            updates = {k: props[k] for k in ("Name", "Description", "CorsConfiguration", "DisableExecuteApiEndpoint")
                       if props.get(k) is not None}
            if updates:
                api = await op.call("apigatewayv2", "UpdateApi", {"ApiId": api["ApiId"], **updates})
            if tag_map(props.get("Tags")):
                await op.call("apigatewayv2", "TagResource", {
                    "ResourceArn": f"arn:aws:apigateway:{op.region}::/apis/{api['ApiId']}", "Tags": tag_map(props["Tags"])})
        else:
            params = {k: props[k] for k in ("Name", "ProtocolType", "Description", "CorsConfiguration",
                                            "DisableExecuteApiEndpoint", "RouteSelectionExpression", "Version",
                                            "ApiKeySelectionExpression", "CredentialsArn", "RouteKey", "Target",
                                            "Tags", "IpAddressType", "DisableSchemaValidation") if k in props}
            params.setdefault("Name", op.name(max_length=128))
            api = await op.call("apigatewayv2", "CreateApi", params)
        return api["ApiId"], {"ApiId": api["ApiId"], "ApiEndpoint": api.get("ApiEndpoint", "")}

    async def update(self, op: ResourceOp):
        props, old = op.properties, op.old_properties
        if props.get("Body") != old.get("Body") or props.get("BodyS3Location") != old.get("BodyS3Location"):
            body = await _body(op, props)
            if body is not None:
                await op.call("apigatewayv2", "ReimportApi", {"ApiId": op.physical_id, "Body": body.decode(),
                                                              "FailOnWarnings": props.get("FailOnWarnings")})
        updates = {k: props[k] for k in _API_UPDATABLE if k in props and props.get(k) != old.get(k)}
        if updates:
            await op.call("apigatewayv2", "UpdateApi", {"ApiId": op.physical_id, **updates})
        if old.get("CorsConfiguration") and not props.get("CorsConfiguration"):
            await op.call("apigatewayv2", "DeleteCorsConfiguration", {"ApiId": op.physical_id})
        await retag(op, f"/apis/{op.physical_id}")
        api = await op.call("apigatewayv2", "GetApi", {"ApiId": op.physical_id})
        return {"ApiId": api["ApiId"], "ApiEndpoint": api.get("ApiEndpoint", "")}

    async def delete(self, op: ResourceOp):
        await op.call("apigatewayv2", "DeleteApi", {"ApiId": op.physical_id})


class _Child(ResourceType):
    """A sub-resource of an API: created, updated and deleted with the same members."""

    noun: ClassVar[str] = ""  # "Route" -> CreateRoute/UpdateRoute/DeleteRoute, RouteId
    parents: ClassVar[tuple[str, ...]] = ("ApiId",)
    drop: ClassVar[tuple[str, ...]] = ()

    def _params(self, props: dict) -> dict:
        params = {k: v for k, v in props.items() if k not in self.drop}
        for key, value in list(params.items()):
            if isinstance(value, str) and value.isdigit() and key.endswith(("InMillis", "InSeconds")):
                params[key] = int(value)
        return params

    def _ids(self, op: ResourceOp) -> dict:
        return {k: op.properties[k] for k in self.parents}

    async def create(self, op: ResourceOp):
        out = await op.call("apigatewayv2", f"Create{self.noun}", self._params(op.properties))
        identifier = out[f"{self.noun}Id"]
        return identifier, {f"{self.noun}Id": identifier}

    async def update(self, op: ResourceOp):
        params = {k: v for k, v in self._params(op.properties).items()}
        await op.call("apigatewayv2", f"Update{self.noun}", {**params, f"{self.noun}Id": op.physical_id})
        return op.attributes

    async def delete(self, op: ResourceOp):
        await op.call("apigatewayv2", f"Delete{self.noun}", {**self._ids(op), f"{self.noun}Id": op.physical_id})


class Route(_Child):
    type_name = "AWS::ApiGatewayV2::Route"
    noun = "Route"
    drop = ("RouteResponseSelectionExpression_",)


class Integration(_Child):
    type_name = "AWS::ApiGatewayV2::Integration"
    noun = "Integration"

    def _params(self, props: dict) -> dict:
        params = super()._params(props)
        if params.get("TimeoutInMillis") is not None:
            params["TimeoutInMillis"] = int(params["TimeoutInMillis"])
        return params


class RouteResponse(_Child):
    type_name = "AWS::ApiGatewayV2::RouteResponse"
    noun = "RouteResponse"
    parents = ("ApiId", "RouteId")


class IntegrationResponse(_Child):
    type_name = "AWS::ApiGatewayV2::IntegrationResponse"
    noun = "IntegrationResponse"
    parents = ("ApiId", "IntegrationId")


class Authorizer(_Child):
    type_name = "AWS::ApiGatewayV2::Authorizer"
    noun = "Authorizer"


class Deployment(_Child):
    type_name = "AWS::ApiGatewayV2::Deployment"
    noun = "Deployment"


class Stage(ResourceType):
    type_name = "AWS::ApiGatewayV2::Stage"

    def _params(self, props: dict) -> dict:
        params = {k: v for k, v in props.items() if k not in ("AccessLogSettings_",)}
        if isinstance(params.get("Tags"), str):
            params["Tags"] = json.loads(params["Tags"])
        return params

    async def create(self, op: ResourceOp):
        await op.call("apigatewayv2", "CreateStage", self._params(op.properties))
        return op.properties["StageName"], {}

    async def update(self, op: ResourceOp):
        params = self._params(op.properties)
        params.pop("Tags", None)
        await op.call("apigatewayv2", "UpdateStage", params)
        await retag(op, f"/apis/{op.properties['ApiId']}/stages/{op.physical_id}")
        return {}

    async def delete(self, op: ResourceOp):
        await op.call("apigatewayv2", "DeleteStage", {"ApiId": op.properties["ApiId"], "StageName": op.physical_id})


class DomainName(ResourceType):
    type_name = "AWS::ApiGatewayV2::DomainName"

    @staticmethod
    def _attributes(domain: dict) -> dict:
        config = (domain.get("DomainNameConfigurations") or [{}])[0]
        return {"DomainNameArn": domain["DomainNameArn"], "RegionalDomainName": config.get("ApiGatewayDomainName", ""),
                "RegionalHostedZoneId": config.get("HostedZoneId", "")}

    async def create(self, op: ResourceOp):
        props = op.properties
        domain = await op.call("apigatewayv2", "CreateDomainName", {
            "DomainName": props["DomainName"], "DomainNameConfigurations": props.get("DomainNameConfigurations"),
            "MutualTlsAuthentication": props.get("MutualTlsAuthentication"), "RoutingMode": props.get("RoutingMode"),
            "Tags": tag_map(props.get("Tags")) or None})
        return domain["DomainName"], self._attributes(domain)

    async def update(self, op: ResourceOp):
        props = op.properties
        domain = await op.call("apigatewayv2", "UpdateDomainName", {
            "DomainName": op.physical_id, "DomainNameConfigurations": props.get("DomainNameConfigurations"),
            "MutualTlsAuthentication": props.get("MutualTlsAuthentication"), "RoutingMode": props.get("RoutingMode")})
        await retag(op, f"/domainnames/{op.physical_id}")
        return self._attributes(domain)

    async def delete(self, op: ResourceOp):
        await op.call("apigatewayv2", "DeleteDomainName", {"DomainName": op.physical_id})


class ApiMapping(ResourceType):
    type_name = "AWS::ApiGatewayV2::ApiMapping"

    async def create(self, op: ResourceOp):
        props = op.properties
        mapping = await op.call("apigatewayv2", "CreateApiMapping", {
            "DomainName": props["DomainName"], "ApiId": props["ApiId"], "Stage": props["Stage"],
            "ApiMappingKey": props.get("ApiMappingKey")})
        return mapping["ApiMappingId"], {"ApiMappingId": mapping["ApiMappingId"]}

    async def update(self, op: ResourceOp):
        props = op.properties
        await op.call("apigatewayv2", "UpdateApiMapping", {
            "ApiMappingId": op.physical_id, "DomainName": props["DomainName"], "ApiId": props["ApiId"],
            "Stage": props["Stage"], "ApiMappingKey": props.get("ApiMappingKey") or ""})
        return op.attributes

    async def delete(self, op: ResourceOp):
        await op.call("apigatewayv2", "DeleteApiMapping", {"DomainName": op.properties["DomainName"],
                                                           "ApiMappingId": op.physical_id})
