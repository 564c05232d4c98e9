"""AWS::ApiGateway::* types, through the API Gateway (REST) provider: RestApi (also from an
OpenAPI Body or BodyS3Location), Resource, Method (with its integration and responses),
Deployment, Stage, Model, RequestValidator, Authorizer, ApiKey, UsagePlan, UsagePlanKey,
GatewayResponse, DomainName, BasePathMapping, Account."""

from __future__ import annotations

import json

from overcast.aws.errors import AwsError
from overcast.services.cloudformation.resources.base import (
    ResourceOp,
    ResourceType,
    api_members,
    is_missing,
    tag_changes,
    tag_map,
)


async def retag(op: ResourceOp, path: str) -> None:
    """An update's tag changes of the resource at `path` (/restapis/{id}, /apikeys/{id}, ...)."""
    tags, gone = tag_changes(op.old_properties, op.properties)
    arn = f"arn:aws:apigateway:{op.region}::{path}"
    if gone:
        await op.call("apigateway", "UntagResource", {"resourceArn": arn, "tagKeys": gone})
    if tags:
        await op.call("apigateway", "TagResource", {"resourceArn": arn, "tags": tags})


def _replace(path: str, value) -> dict:
    return {"op": "replace", "path": path, "value": "" if value is None else str(value).lower()
            if isinstance(value, bool) else str(value)}


async def _body(op: ResourceOp, props: dict) -> bytes | None:
    if props.get("Body") is not None:
        body = props["Body"]
        return (body if isinstance(body, str) else json.dumps(body)).encode()
    location = props.get("BodyS3Location")
    if location:
        s3 = await op.providers.get("s3")
        return await s3.read_object(op.account, op.region, location["Bucket"], location["Key"],
                                    location.get("Version"))
    return None


def _endpoint(props: dict) -> dict | None:
    """EndpointConfiguration ({Types, VpcEndpointIds, IpAddressType}) as the API's members."""
    config = props.get("EndpointConfiguration")
    if not isinstance(config, dict):
        return None
    out = {member: config[prop] for prop, member in (("Types", "types"), ("VpcEndpointIds", "vpcEndpointIds"),
                                                     ("IpAddressType", "ipAddressType")) if config.get(prop) is not None}
    return out or None


class RestApi(ResourceType):
    type_name = "AWS::ApiGateway::RestApi"

    async def create(self, op: ResourceOp):
        props = op.properties
        body = await _body(op, props)
        endpoint = _endpoint(props)
        if body is not None:
            parameters = dict(props.get("Parameters") or {})
            if endpoint and endpoint.get("types") and "endpointConfigurationTypes" not in parameters:
                parameters["endpointConfigurationTypes"] = endpoint["types"][0]
            api = await op.call("apigateway", "ImportRestApi", {
                "body": body, "failOnWarnings": props.get("FailOnWarnings"), "parameters": parameters or None})
            patches = self._patches({}, props, body_given=True)
            if patches:
                api = await op.call("apigateway", "UpdateRestApi", {"restApiId": api["id"], "patchOperations": patches})
            if tag_map(props.get("Tags")):
                await op.call("apigateway", "TagResource", {"resourceArn": f"arn:aws:apigateway:{op.region}::/restapis/"
                                                                           f"{api['id']}", "tags": tag_map(props["Tags"])})
        else:
            api = await op.call("apigateway", "CreateRestApi", {
                "name": props.get("Name") or op.name(), "description": props.get("Description"),
                "binaryMediaTypes": props.get("BinaryMediaTypes"),
                "minimumCompressionSize": props.get("MinimumCompressionSize"),
                "apiKeySource": props.get("ApiKeySourceType"),
                "endpointConfiguration": endpoint,
                "policy": json.dumps(props["Policy"]) if isinstance(props.get("Policy"), dict) else props.get("Policy"),
                "disableExecuteApiEndpoint": props.get("DisableExecuteApiEndpoint"),
                "tags": {t["Key"]: t["Value"] for t in props.get("Tags") or []} or None})
        return api["id"], await self._attributes(op, api["id"])

    @staticmethod
    def _patches(old: dict, new: dict, body_given: bool = False) -> list[dict]:
        patches = []
        for prop, path in (("Name", "/name"), ("Description", "/description"),
                           ("MinimumCompressionSize", "/minimumCompressionSize"),
                           ("ApiKeySourceType", "/apiKeySource"),
                           ("DisableExecuteApiEndpoint", "/disableExecuteApiEndpoint")):
            if new.get(prop) is not None and (body_given or new.get(prop) != old.get(prop)):
                patches.append(_replace(path, new[prop]))
        before, after = (_endpoint(old) or {}).get("types") or ["EDGE"], (_endpoint(new) or {}).get("types")
        if after and after != before and not body_given:  # an API has one endpoint type
            patches.append({"op": "replace", "path": f"/endpointConfiguration/types/{before[0]}", "value": after[0]})
        if new.get("Policy") is not None and (body_given or new.get("Policy") != old.get("Policy")):
            policy = new["Policy"]
            patches.append(_replace("/policy", policy if isinstance(policy, str) else json.dumps(policy)))
        return patches

    async def _attributes(self, op: ResourceOp, api_id: str) -> dict:
        resources = (await op.call("apigateway", "GetResources", {"restApiId": api_id, "limit": 500}))["items"]
        root = next((r["id"] for r in resources if r.get("path") == "/"), "")
        return {"RestApiId": api_id, "RootResourceId": root}

    async def update(self, op: ResourceOp):
        props, old, api_id = op.properties, op.old_properties, op.physical_id
        if props.get("Body") != old.get("Body") or props.get("BodyS3Location") != old.get("BodyS3Location"):
            body = await _body(op, props)
            if body is not None:
                await op.call("apigateway", "PutRestApi", {"restApiId": api_id, "mode": props.get("Mode") or "overwrite",
                                                           "body": body, "failOnWarnings": props.get("FailOnWarnings"),
                                                           "parameters": props.get("Parameters")})
            patches = self._patches({}, props, body_given=True)
        else:
            patches = self._patches(old, props)
        if patches:
            await op.call("apigateway", "UpdateRestApi", {"restApiId": api_id, "patchOperations": patches})
        await retag(op, f"/restapis/{api_id}")
        return await self._attributes(op, api_id)

    async def delete(self, op: ResourceOp):
        await op.call("apigateway", "DeleteRestApi", {"restApiId": op.physical_id})


class Resource(ResourceType):
    type_name = "AWS::ApiGateway::Resource"

    async def create(self, op: ResourceOp):
        props = op.properties
        out = await op.call("apigateway", "CreateResource", {"restApiId": props["RestApiId"],
                                                             "parentId": props["ParentId"],
                                                             "pathPart": props["PathPart"]})
        return out["id"], {"ResourceId": out["id"]}

    async def delete(self, op: ResourceOp):
        await op.call("apigateway", "DeleteResource", {"restApiId": op.properties["RestApiId"],
                                                       "resourceId": op.physical_id})


def _lower_first(doc):
    """CloudFormation's PascalCase Integration/MethodResponse members -> the API's camelCase."""
    if isinstance(doc, dict):
        return {(k[:1].lower() + k[1:]): v for k, v in doc.items()}
    return doc


class Method(ResourceType):
    type_name = "AWS::ApiGateway::Method"

    async def create(self, op: ResourceOp):
        await self._put(op, op.properties)
        props = op.properties
        return f"{props['RestApiId']}|{props['ResourceId']}|{props['HttpMethod'].upper()}", {}

    async def _put(self, op: ResourceOp, props: dict) -> None:
        ids = {"restApiId": props["RestApiId"], "resourceId": props["ResourceId"],
               "httpMethod": props["HttpMethod"].upper()}
        await op.call("apigateway", "PutMethod", {
            **ids, "authorizationType": props.get("AuthorizationType") or "NONE",
            "authorizerId": props.get("AuthorizerId"), "apiKeyRequired": _bool(props.get("ApiKeyRequired")),
            "operationName": props.get("OperationName"), "requestParameters": _bools(props.get("RequestParameters")),
            "requestModels": props.get("RequestModels"), "requestValidatorId": props.get("RequestValidatorId"),
            "authorizationScopes": props.get("AuthorizationScopes")})
        for response in props.get("MethodResponses") or []:
            await op.call("apigateway", "PutMethodResponse", {
                **ids, "statusCode": str(response["StatusCode"]),
                "responseParameters": _bools(response.get("ResponseParameters")),
                "responseModels": response.get("ResponseModels")})
        integration = props.get("Integration")
        if integration:
            params = {k: v for k, v in _lower_first(integration).items() if k != "integrationResponses"}
            params["type"] = params.get("type")
            if params.get("timeoutInMillis") is not None:
                params["timeoutInMillis"] = int(params["timeoutInMillis"])
            await op.call("apigateway", "PutIntegration", {**ids, **params})
            for response in integration.get("IntegrationResponses") or []:
                await op.call("apigateway", "PutIntegrationResponse", {
                    **ids, "statusCode": str(response["StatusCode"]),
                    "selectionPattern": response.get("SelectionPattern"),
                    "responseParameters": response.get("ResponseParameters"),
                    "responseTemplates": response.get("ResponseTemplates"),
                    "contentHandling": response.get("ContentHandling")})

    async def update(self, op: ResourceOp):
        await self._delete(op, op.old_properties)
        await self._put(op, op.properties)
        return {}

    async def _delete(self, op: ResourceOp, props: dict) -> None:
        try:
            await op.call("apigateway", "DeleteMethod", {"restApiId": props["RestApiId"],
                                                         "resourceId": props["ResourceId"],
                                                         "httpMethod": props["HttpMethod"].upper()})
        except AwsError as e:
            if not is_missing(e):
                raise

    async def delete(self, op: ResourceOp):
        await self._delete(op, op.properties)


def _bool(value):
    if value is None:
        return None
    return str(value).lower() == "true"


def _bools(mapping: dict | None) -> dict | None:
    return {k: _bool(v) for k, v in mapping.items()} if mapping else None


def _canary(settings) -> dict | None:
    """A canary's settings (DeploymentCanarySettings, CanarySetting) as the API's members."""
    if not isinstance(settings, dict):
        return None
    out = {member: settings[prop] for prop, member in (
        ("DeploymentId", "deploymentId"), ("PercentTraffic", "percentTraffic"),
        ("StageVariableOverrides", "stageVariableOverrides"), ("UseStageCache", "useStageCache"))
        if settings.get(prop) is not None}
    if "percentTraffic" in out:
        out["percentTraffic"] = float(out["percentTraffic"])
    if "useStageCache" in out:
        out["useStageCache"] = _bool(out["useStageCache"])
    return out


def _access_log(old: dict, new: dict) -> list[dict]:
    """The UpdateStage patches that make a stage's access log setting the template's."""
    before, after = old.get("AccessLogSetting") or {}, new.get("AccessLogSetting") or {}
    if before == after:
        return []
    if not after:
        return [{"op": "remove", "path": "/accessLogSettings"}]
    return [_replace(f"/accessLogSettings/{member}", after[prop])
            for prop, member in (("DestinationArn", "destinationArn"), ("Format", "format"))
            if after.get(prop) is not None]


class Deployment(ResourceType):
    type_name = "AWS::ApiGateway::Deployment"

    async def create(self, op: ResourceOp):
        props = op.properties
        stage = props.get("StageDescription") or {}
        out = await op.call("apigateway", "CreateDeployment", {
            "restApiId": props["RestApiId"], "stageName": props.get("StageName"),
            "description": props.get("Description"), "stageDescription": stage.get("Description"),
            "variables": stage.get("Variables"), "tracingEnabled": _bool(stage.get("TracingEnabled")),
            "canarySettings": _canary(props.get("DeploymentCanarySettings"))})
        patches = _access_log({}, stage)
        if patches and props.get("StageName"):
            await op.call("apigateway", "UpdateStage", {"restApiId": props["RestApiId"], "stageName": props["StageName"],
                                                        "patchOperations": patches})
        return out["id"], {"DeploymentId": out["id"]}

    async def update(self, op: ResourceOp):
        props, old = op.properties, op.old_properties
        ids = {"restApiId": props["RestApiId"]}
        if props.get("Description") != old.get("Description"):
            await op.call("apigateway", "UpdateDeployment", {**ids, "deploymentId": op.physical_id, "patchOperations": [
                _replace("/description", props.get("Description"))]})
        if props.get("StageName") and props.get("StageName") != old.get("StageName"):
            try:
                await op.call("apigateway", "UpdateStage", {**ids, "stageName": props["StageName"], "patchOperations": [
                    _replace("/deploymentId", op.physical_id)]})
            except AwsError:
                await op.call("apigateway", "CreateStage", {**ids, "stageName": props["StageName"],
                                                            "deploymentId": op.physical_id})
        return op.attributes

    async def delete(self, op: ResourceOp):
        props = op.properties
        ids = {"restApiId": props["RestApiId"]}
        try:
            stages = (await op.call("apigateway", "GetStages", {**ids, "deploymentId": op.physical_id}))["item"]
        except AwsError as e:
            if is_missing(e):
                return
            raise
        for stage in stages:  # the stage the deployment created (StageName) goes with it
            if stage["stageName"] == props.get("StageName"):
                await op.call("apigateway", "DeleteStage", {**ids, "stageName": stage["stageName"]})
        try:
            await op.call("apigateway", "DeleteDeployment", {**ids, "deploymentId": op.physical_id})
        except AwsError as e:  # still used by a stage the template does not own: AWS leaves it too
            if e.code != "BadRequestException":
                raise


class Stage(ResourceType):
    type_name = "AWS::ApiGateway::Stage"

    async def create(self, op: ResourceOp):
        props = op.properties
        name = props.get("StageName") or op.name(max_length=128)
        await op.call("apigateway", "CreateStage", {
            "restApiId": props["RestApiId"], "stageName": name, "deploymentId": props["DeploymentId"],
            "description": props.get("Description"), "variables": props.get("Variables"),
            "tracingEnabled": _bool(props.get("TracingEnabled")),
            "cacheClusterEnabled": _bool(props.get("CacheClusterEnabled")),
            "canarySettings": _canary(props.get("CanarySetting")),
            "tags": {t["Key"]: t["Value"] for t in props.get("Tags") or []} or None})
        patches = self._method_settings(props.get("MethodSettings")) + _access_log({}, props)
        if patches:
            await op.call("apigateway", "UpdateStage", {"restApiId": props["RestApiId"], "stageName": name,
                                                        "patchOperations": patches})
        return name, {}

    @staticmethod
    def _method_settings(settings) -> list[dict]:
        patches = []
        names = {"ThrottlingBurstLimit": "throttling/burstLimit", "ThrottlingRateLimit": "throttling/rateLimit",
                 "MetricsEnabled": "metrics/enabled", "LoggingLevel": "logging/loglevel",
                 "DataTraceEnabled": "logging/dataTrace", "CachingEnabled": "caching/enabled"}
        for setting in settings or []:
            path = (setting.get("ResourcePath") or "/*").replace("/", "~1")
            prefix = "/*/*" if setting.get("ResourcePath") in (None, "/*") else f"/{path}/{setting.get('HttpMethod', '*')}"
            for key, name in names.items():
                if setting.get(key) is not None:
                    patches.append(_replace(f"{prefix}/{name}", setting[key]))
        return patches

    async def update(self, op: ResourceOp):
        props, old = op.properties, op.old_properties
        patches = []
        for prop, path in (("DeploymentId", "/deploymentId"), ("Description", "/description"),
                           ("TracingEnabled", "/tracingEnabled"), ("CacheClusterEnabled", "/cacheClusterEnabled")):
            if props.get(prop) != old.get(prop):
                patches.append(_replace(path, props.get(prop)))
        variables, old_variables = props.get("Variables") or {}, old.get("Variables") or {}
        for key, value in variables.items():
            if old_variables.get(key) != value:
                patches.append(_replace(f"/variables/{key}", value))
        for key in old_variables.keys() - variables.keys():
            patches.append({"op": "remove", "path": f"/variables/{key}"})
        if props.get("MethodSettings") != old.get("MethodSettings"):
            patches += self._method_settings(props.get("MethodSettings"))
        patches += _access_log(old, props)
        if patches:
            await op.call("apigateway", "UpdateStage", {"restApiId": props["RestApiId"], "stageName": op.physical_id,
                                                        "patchOperations": patches})
        await retag(op, f"/restapis/{props['RestApiId']}/stages/{op.physical_id}")
        return {}

    async def delete(self, op: ResourceOp):
        await op.call("apigateway", "DeleteStage", {"restApiId": op.properties["RestApiId"],
                                                    "stageName": op.physical_id})


class Model(ResourceType):
    type_name = "AWS::ApiGateway::Model"

    async def create(self, op: ResourceOp):
        props = op.properties
        schema = props.get("Schema")
        name = props.get("Name") or op.name(max_length=60).replace("-", "")
        await op.call("apigateway", "CreateModel", {
            "restApiId": props["RestApiId"], "name": name, "contentType": props.get("ContentType") or "application/json",
            "description": props.get("Description"),
            "schema": schema if isinstance(schema, str) or schema is None else json.dumps(schema)})
        return name, {}

    async def update(self, op: ResourceOp):
        schema = op.properties.get("Schema")
        patches = [_replace("/schema", schema if isinstance(schema, str) else json.dumps(schema or {})),
                   _replace("/description", op.properties.get("Description"))]
        await op.call("apigateway", "UpdateModel", {"restApiId": op.properties["RestApiId"],
                                                    "modelName": op.physical_id, "patchOperations": patches})
        return {}

    async def delete(self, op: ResourceOp):
        await op.call("apigateway", "DeleteModel", {"restApiId": op.properties["RestApiId"],
                                                    "modelName": op.physical_id})


class RequestValidator(ResourceType):
    type_name = "AWS::ApiGateway::RequestValidator"

    async def create(self, op: ResourceOp):
        props = op.properties
        out = await op.call("apigateway", "CreateRequestValidator", {
            "restApiId": props["RestApiId"], "name": props.get("Name") or op.name(),
            "validateRequestBody": _bool(props.get("ValidateRequestBody")),
            "validateRequestParameters": _bool(props.get("ValidateRequestParameters"))})
        return out["id"], {"RequestValidatorId": out["id"]}

    async def update(self, op: ResourceOp):
        props = op.properties
        await op.call("apigateway", "UpdateRequestValidator", {
            "restApiId": props["RestApiId"], "requestValidatorId": op.physical_id, "patchOperations": [
                _replace("/validateRequestBody", bool(_bool(props.get("ValidateRequestBody")))),
                _replace("/validateRequestParameters", bool(_bool(props.get("ValidateRequestParameters"))))]})
        return op.attributes

    async def delete(self, op: ResourceOp):
        await op.call("apigateway", "DeleteRequestValidator", {"restApiId": op.properties["RestApiId"],
                                                               "requestValidatorId": op.physical_id})


class Authorizer(ResourceType):
    type_name = "AWS::ApiGateway::Authorizer"

    def _params(self, props: dict) -> dict:
        return {"restApiId": props["RestApiId"], "name": props.get("Name"), "type": props.get("Type"),
                "authorizerUri": props.get("AuthorizerUri"), "authorizerCredentials": props.get("AuthorizerCredentials"),
                "identitySource": props.get("IdentitySource"),
                "identityValidationExpression": props.get("IdentityValidationExpression"),
                "authorizerResultTtlInSeconds": int(props["AuthorizerResultTtlInSeconds"])
                if props.get("AuthorizerResultTtlInSeconds") is not None else None,
                "providerARNs": props.get("ProviderARNs"), "authType": props.get("AuthType")}

    async def create(self, op: ResourceOp):
        out = await op.call("apigateway", "CreateAuthorizer", self._params(op.properties))
        return out["id"], {"AuthorizerId": out["id"]}

    async def update(self, op: ResourceOp):
        props = op.properties
        patches = [_replace(f"/{k}", v) for k, v in self._params(props).items()
                   if k not in ("restApiId", "type", "providerARNs") and v is not None]
        await op.call("apigateway", "UpdateAuthorizer", {"restApiId": props["RestApiId"],
                                                         "authorizerId": op.physical_id, "patchOperations": patches})
        return op.attributes

    async def delete(self, op: ResourceOp):
        await op.call("apigateway", "DeleteAuthorizer", {"restApiId": op.properties["RestApiId"],
                                                         "authorizerId": op.physical_id})


class ApiKey(ResourceType):
    type_name = "AWS::ApiGateway::ApiKey"

    async def create(self, op: ResourceOp):
        props = op.properties
        out = await op.call("apigateway", "CreateApiKey", {
            "name": props.get("Name") or op.name(), "description": props.get("Description"),
            "enabled": _bool(props.get("Enabled")) or False, "value": props.get("Value"),
            "stageKeys": [{"restApiId": s.get("RestApiId"), "stageName": s.get("StageName")}
                          for s in props.get("StageKeys") or []] or None,
            "tags": {t["Key"]: t["Value"] for t in props.get("Tags") or []} or None})
        return out["id"], {"APIKeyId": out["id"]}

    async def update(self, op: ResourceOp):
        props = op.properties
        await op.call("apigateway", "UpdateApiKey", {"apiKey": op.physical_id, "patchOperations": [
            _replace("/enabled", bool(_bool(props.get("Enabled")))), _replace("/description", props.get("Description"))]})
        await retag(op, f"/apikeys/{op.physical_id}")
        return op.attributes

    async def delete(self, op: ResourceOp):
        await op.call("apigateway", "DeleteApiKey", {"apiKey": op.physical_id})


def _stages(props: dict) -> list[dict]:
    out = []
    for stage in props.get("ApiStages") or []:
        entry = {"apiId": stage["ApiId"], "stage": stage["Stage"]}
        if stage.get("Throttle"):
            entry["throttle"] = {path: _throttle(t) for path, t in stage["Throttle"].items()}
        out.append(entry)
    return out


def _throttle(value: dict | None) -> dict | None:
    if not value:
        return None
    out = {}
    if value.get("BurstLimit") is not None:
        out["burstLimit"] = int(value["BurstLimit"])
    if value.get("RateLimit") is not None:
        out["rateLimit"] = float(value["RateLimit"])
    return out


class UsagePlan(ResourceType):
    type_name = "AWS::ApiGateway::UsagePlan"

    async def create(self, op: ResourceOp):
        props = op.properties
        quota = props.get("Quota")
        out = await op.call("apigateway", "CreateUsagePlan", {
            "name": props.get("UsagePlanName") or op.name(), "description": props.get("Description"),
            "apiStages": _stages(props) or None, "throttle": _throttle(props.get("Throttle")),
            "quota": {"limit": int(quota["Limit"]), "period": quota["Period"], "offset": int(quota.get("Offset", 0))}
            if quota else None, "tags": {t["Key"]: t["Value"] for t in props.get("Tags") or []} or None})
        return out["id"], {"Id": out["id"]}

    async def update(self, op: ResourceOp):
        props, old = op.properties, op.old_properties
        patches = []
        if props.get("UsagePlanName") != old.get("UsagePlanName") and props.get("UsagePlanName"):
            patches.append(_replace("/name", props["UsagePlanName"]))
        if props.get("Description") != old.get("Description"):
            patches.append(_replace("/description", props.get("Description")))
        for key, field in (("RateLimit", "rateLimit"), ("BurstLimit", "burstLimit")):
            if (props.get("Throttle") or {}).get(key) != (old.get("Throttle") or {}).get(key):
                patches.append(_replace(f"/throttle/{field}", (props.get("Throttle") or {}).get(key, 0)))
        for key, field in (("Limit", "limit"), ("Period", "period"), ("Offset", "offset")):
            if (props.get("Quota") or {}).get(key) != (old.get("Quota") or {}).get(key) and \
                    (props.get("Quota") or {}).get(key) is not None:
                patches.append(_replace(f"/quota/{field}", props["Quota"][key]))
        old_stages = {f"{s['apiId']}:{s['stage']}" for s in _stages(old)}
        new_stages = {f"{s['apiId']}:{s['stage']}" for s in _stages(props)}
        patches += [{"op": "remove", "path": "/apiStages", "value": s} for s in sorted(old_stages - new_stages)]
        patches += [{"op": "add", "path": "/apiStages", "value": s} for s in sorted(new_stages - old_stages)]
        if patches:
            await op.call("apigateway", "UpdateUsagePlan", {"usagePlanId": op.physical_id, "patchOperations": patches})
        await retag(op, f"/usageplans/{op.physical_id}")
        return op.attributes

    async def delete(self, op: ResourceOp):
        await op.call("apigateway", "DeleteUsagePlan", {"usagePlanId": op.physical_id})


class UsagePlanKey(ResourceType):
    type_name = "AWS::ApiGateway::UsagePlanKey"

    async def create(self, op: ResourceOp):
        props = op.properties
        out = await op.call("apigateway", "CreateUsagePlanKey", {"usagePlanId": props["UsagePlanId"],
                                                                 "keyId": props["KeyId"], "keyType": props["KeyType"]})
        return f"{props['UsagePlanId']}:{out['id']}", {"Id": f"{props['UsagePlanId']}:{out['id']}"}

    async def delete(self, op: ResourceOp):
        plan, _, key = op.physical_id.partition(":")
        await op.call("apigateway", "DeleteUsagePlanKey", {"usagePlanId": plan, "keyId": key})


class GatewayResponse(ResourceType):
    type_name = "AWS::ApiGateway::GatewayResponse"

    @staticmethod
    async def _put(op: ResourceOp) -> None:
        props = op.properties
        await op.call("apigateway", "PutGatewayResponse", {
            "restApiId": props["RestApiId"], "responseType": props["ResponseType"],
            "statusCode": str(props["StatusCode"]) if props.get("StatusCode") is not None else None,
            "responseParameters": props.get("ResponseParameters"), "responseTemplates": props.get("ResponseTemplates")})

    async def create(self, op: ResourceOp):
        await self._put(op)
        return op.name(), {"Id": op.name()}

    async def update(self, op: ResourceOp):
        await self._put(op)  # PutGatewayResponse replaces the whole response
        return op.attributes

    async def delete(self, op: ResourceOp):
        await op.call("apigateway", "DeleteGatewayResponse", {"restApiId": op.properties["RestApiId"],
                                                              "responseType": op.properties["ResponseType"]})


class DomainName(ResourceType):
    type_name = "AWS::ApiGateway::DomainName"

    @staticmethod
    def _attributes(op: ResourceOp, domain: dict) -> dict:
        return {"DistributionDomainName": domain.get("distributionDomainName", ""),
                "DistributionHostedZoneId": domain.get("distributionHostedZoneId", ""),
                "RegionalDomainName": domain.get("regionalDomainName", ""),
                "RegionalHostedZoneId": domain.get("regionalHostedZoneId", ""),
                "DomainNameArn": f"arn:aws:apigateway:{op.region}::/domainnames/{domain['domainName']}"}

    async def create(self, op: ResourceOp):
        params = api_members("apigateway", "CreateDomainName", op.properties)
        params["tags"] = tag_map(op.properties.get("Tags")) or None
        domain = await op.call("apigateway", "CreateDomainName", params)
        return domain["domainName"], self._attributes(op, domain)

    async def update(self, op: ResourceOp):
        props, old = op.properties, op.old_properties
        patches = [_replace(f"/{member}", props.get(prop)) for prop, member in (
            ("CertificateArn", "certificateArn"), ("RegionalCertificateArn", "regionalCertificateArn"),
            ("SecurityPolicy", "securityPolicy")) if props.get(prop) != old.get(prop) and props.get(prop) is not None]
        if patches:
            await op.call("apigateway", "UpdateDomainName", {"domainName": op.physical_id, "patchOperations": patches})
        await retag(op, f"/domainnames/{op.physical_id}")
        domain = await op.call("apigateway", "GetDomainName", {"domainName": op.physical_id})
        return self._attributes(op, domain)

    async def delete(self, op: ResourceOp):
        await op.call("apigateway", "DeleteDomainName", {"domainName": op.physical_id})


class BasePathMapping(ResourceType):
    """Its id is the domain name and base path, joined with "|" as CloudFormation joins a compound
    primary identifier."""

    type_name = "AWS::ApiGateway::BasePathMapping"

    async def create(self, op: ResourceOp):
        props = op.properties
        mapping = await op.call("apigateway", "CreateBasePathMapping", {
            "domainName": props["DomainName"], "basePath": props.get("BasePath"), "restApiId": props.get("RestApiId"),
            "stage": props.get("Stage")})
        return f"{props['DomainName']}|{mapping['basePath']}", {}

    async def update(self, op: ResourceOp):
        props, old = op.properties, op.old_properties
        patches = [_replace(f"/{member}", props.get(prop)) for prop, member in (
            ("RestApiId", "restapiId"), ("Stage", "stage")) if props.get(prop) != old.get(prop)]
        if patches:
            domain, _, base = op.physical_id.partition("|")
            await op.call("apigateway", "UpdateBasePathMapping", {"domainName": domain, "basePath": base,
                                                                  "patchOperations": patches})
        return {}

    async def delete(self, op: ResourceOp):
        domain, _, base = op.physical_id.partition("|")
        await op.call("apigateway", "DeleteBasePathMapping", {"domainName": domain, "basePath": base})


class Account(ResourceType):
    """The account's CloudWatch role for API logs. A delete leaves it set: AWS documents that API
    Gateway can still assume the role after the stack is gone."""

    type_name = "AWS::ApiGateway::Account"

    @staticmethod
    async def _apply(op: ResourceOp) -> None:
        await op.call("apigateway", "UpdateAccount", {"patchOperations": [
            _replace("/cloudwatchRoleArn", op.properties.get("CloudWatchRoleArn"))]})

    async def create(self, op: ResourceOp):
        await self._apply(op)
        return op.name(), {"Id": op.name()}

    async def update(self, op: ResourceOp):
        await self._apply(op)
        return op.attributes

    async def delete(self, op: ResourceOp):
        return None
