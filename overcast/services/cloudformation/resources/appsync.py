"""AWS::AppSync::* types, through the AppSync provider: GraphQLApi, GraphQLSchema, DataSource,
Resolver, FunctionConfiguration, ApiKey (what SAM's AWS::Serverless::GraphQLApi becomes). The
properties are the API's members in PascalCase (matched through botocore's model); the
*S3Location properties (schema, mapping templates, code) are read through the S3 provider."""

from __future__ import annotations

from overcast.aws.errors import AwsError
from overcast.services.cloudformation.resources.base import (
    ResourceFailed,
    ResourceOp,
    ResourceType,
    api_members,
    tag_changes,
    tag_map,
)


async def _s3_text(op: ResourceOp, uri: str) -> str:
    """The text of an s3://bucket/key location (what `sam package` and `aws cloudformation package`
    write for a local schema, mapping template or code file)."""
    if not isinstance(uri, str) or not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ResourceFailed(f"Invalid S3 location {uri}: s3://bucket/key is expected")
    bucket, key = uri[5:].split("/", 1)
    s3 = await op.providers.get("s3")
    try:
        return (await s3.read_object(op.account, op.region, bucket, key)).decode()
    except AwsError as e:
        raise ResourceFailed(f"Could not read {uri}: {e.message or e.code}") from None


async def _with_s3_texts(op: ResourceOp, props: dict) -> dict:
    """Properties with RequestMappingTemplateS3Location, ResponseMappingTemplateS3Location and
    CodeS3Location read into RequestMappingTemplate, ResponseMappingTemplate and Code."""
    out = dict(props)
    for key in ("RequestMappingTemplate", "ResponseMappingTemplate", "Code"):
        location = out.pop(f"{key}S3Location", None)
        if location and out.get(key) is None:
            out[key] = await _s3_text(op, location)
    return out


def _api_id(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


class GraphQLApi(ResourceType):
    type_name = "AWS::AppSync::GraphQLApi"

    async def create(self, op: ResourceOp):
        props = op.properties
        params = api_members("appsync", "CreateGraphqlApi", {**props, "Name": props.get("Name") or op.name()})
        params["tags"] = tag_map(props.get("Tags")) or None
        api = (await op.call("appsync", "CreateGraphqlApi", params))["graphqlApi"]
        if props.get("EnvironmentVariables"):
            await op.call("appsync", "PutGraphqlApiEnvironmentVariables", {
                "apiId": api["apiId"], "environmentVariables": props["EnvironmentVariables"]})
        return api["arn"], self._attributes(op, api)

    @staticmethod
    def _attributes(op: ResourceOp, api: dict) -> dict:
        uris = api.get("uris") or {}
        graphql, realtime = uris.get("GRAPHQL", ""), uris.get("REALTIME", "")
        return {"ApiId": api["apiId"], "Arn": api["arn"], "GraphQLUrl": graphql, "RealtimeUrl": realtime,
                "GraphQLDns": graphql.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0],
                "RealtimeDns": realtime.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0],
                "GraphQLEndpointArn": f"arn:aws:appsync:{op.region}:{op.account}:endpoints/graphql-api/"
                                      f"{api['apiId']}"}

    async def update(self, op: ResourceOp):
        props, old = op.properties, op.old_properties
        api_id = op.attributes.get("ApiId") or _api_id(op.physical_id)
        params = api_members("appsync", "UpdateGraphqlApi", {**props, "Name": props.get("Name") or op.name()})
        api = (await op.call("appsync", "UpdateGraphqlApi", {**params, "apiId": api_id}))["graphqlApi"]
        if props.get("EnvironmentVariables") != old.get("EnvironmentVariables"):
            await op.call("appsync", "PutGraphqlApiEnvironmentVariables", {
                "apiId": api_id, "environmentVariables": props.get("EnvironmentVariables") or {}})
        tags, gone = tag_changes(old, props)
        if gone:
            await op.call("appsync", "UntagResource", {"resourceArn": api["arn"], "tagKeys": gone})
        if tags:
            await op.call("appsync", "TagResource", {"resourceArn": api["arn"], "tags": tags})
        return self._attributes(op, api)

    async def delete(self, op: ResourceOp):
        await op.call("appsync", "DeleteGraphqlApi", {"apiId": _api_id(op.physical_id)})


class GraphQLSchema(ResourceType):
    """The API's schema: started, then its creation status read (AppSync has no call that deletes a
    schema, so a delete leaves it to the API's own deletion)."""

    type_name = "AWS::AppSync::GraphQLSchema"

    async def _apply(self, op: ResourceOp) -> None:
        props = op.properties
        definition = props.get("Definition")
        if definition is None and props.get("DefinitionS3Location"):
            definition = await _s3_text(op, props["DefinitionS3Location"])
        await op.call("appsync", "StartSchemaCreation", {"apiId": props["ApiId"],
                                                         "definition": (definition or "").encode()})
        status = await op.call("appsync", "GetSchemaCreationStatus", {"apiId": props["ApiId"]})
        if status.get("status") != "SUCCESS":
            raise ResourceFailed(f"Schema Creation Status is FAILED with details: {status.get('details')}")

    async def create(self, op: ResourceOp):
        await self._apply(op)
        physical_id = f"{op.properties['ApiId']}GraphQLSchema"
        return physical_id, {"Id": physical_id}

    async def update(self, op: ResourceOp):
        await self._apply(op)
        return op.attributes

    async def delete(self, op: ResourceOp):
        return None


class DataSource(ResourceType):
    type_name = "AWS::AppSync::DataSource"
    extra_attributes = frozenset({"Name"})  # documented, not in the schema

    async def create(self, op: ResourceOp):
        source = (await op.call("appsync", "CreateDataSource",
                                api_members("appsync", "CreateDataSource", op.properties)))["dataSource"]
        return source["dataSourceArn"], {"DataSourceArn": source["dataSourceArn"], "Name": source["name"]}

    async def update(self, op: ResourceOp):
        source = (await op.call("appsync", "UpdateDataSource",
                                api_members("appsync", "UpdateDataSource", op.properties)))["dataSource"]
        return {"DataSourceArn": source["dataSourceArn"], "Name": source["name"]}

    async def delete(self, op: ResourceOp):
        await op.call("appsync", "DeleteDataSource", {"apiId": op.properties["ApiId"], "name": op.properties["Name"]})


class Resolver(ResourceType):
    type_name = "AWS::AppSync::Resolver"
    extra_attributes = frozenset({"TypeName", "FieldName"})  # documented, not in the schema

    async def _params(self, op: ResourceOp, operation: str) -> dict:
        return api_members("appsync", operation, await _with_s3_texts(op, op.properties))

    @staticmethod
    def _attributes(resolver: dict) -> dict:
        return {"ResolverArn": resolver["resolverArn"], "TypeName": resolver["typeName"],
                "FieldName": resolver["fieldName"]}

    async def create(self, op: ResourceOp):
        resolver = (await op.call("appsync", "CreateResolver", await self._params(op, "CreateResolver")))["resolver"]
        return resolver["resolverArn"], self._attributes(resolver)

    async def update(self, op: ResourceOp):
        resolver = (await op.call("appsync", "UpdateResolver", await self._params(op, "UpdateResolver")))["resolver"]
        return self._attributes(resolver)

    async def delete(self, op: ResourceOp):
        props = op.properties
        await op.call("appsync", "DeleteResolver", {"apiId": props["ApiId"], "typeName": props["TypeName"],
                                                    "fieldName": props["FieldName"]})


class FunctionConfiguration(ResourceType):
    type_name = "AWS::AppSync::FunctionConfiguration"
    extra_attributes = frozenset({"DataSourceName", "Name"})  # documented, not in the schema

    @staticmethod
    def _attributes(function: dict) -> dict:
        return {"FunctionArn": function["functionArn"], "FunctionId": function["functionId"],
                "DataSourceName": function["dataSourceName"], "Name": function["name"]}

    async def create(self, op: ResourceOp):
        props = await _with_s3_texts(op, {**op.properties, "Name": op.properties.get("Name") or op.name()})
        function = (await op.call("appsync", "CreateFunction", api_members("appsync", "CreateFunction", props)))[
            "functionConfiguration"]
        return function["functionArn"], self._attributes(function)

    async def update(self, op: ResourceOp):
        props = await _with_s3_texts(op, {**op.properties, "Name": op.properties.get("Name") or op.attributes["Name"]})
        params = api_members("appsync", "UpdateFunction", props)
        params["functionId"] = op.attributes["FunctionId"]
        function = (await op.call("appsync", "UpdateFunction", params))["functionConfiguration"]
        return self._attributes(function)

    async def delete(self, op: ResourceOp):
        await op.call("appsync", "DeleteFunction", {"apiId": op.properties["ApiId"],
                                                    "functionId": op.physical_id.rsplit("/", 1)[-1]})


class ApiKey(ResourceType):
    type_name = "AWS::AppSync::ApiKey"

    @staticmethod
    def _attributes(op: ResourceOp, api_id: str, key: dict) -> dict:
        arn = f"arn:aws:appsync:{op.region}:{op.account}:apis/{api_id}/apikeys/{key['id']}"
        return {"ApiKey": key["id"], "ApiKeyId": key["id"], "Arn": arn}

    async def create(self, op: ResourceOp):
        props = op.properties
        key = (await op.call("appsync", "CreateApiKey", {"apiId": props["ApiId"], "description": props.get("Description"),
                                                         "expires": props.get("Expires")}))["apiKey"]
        attributes = self._attributes(op, props["ApiId"], key)
        return attributes["Arn"], attributes

    async def update(self, op: ResourceOp):
        props = op.properties
        key = (await op.call("appsync", "UpdateApiKey", {
            "apiId": props["ApiId"], "id": op.attributes["ApiKeyId"], "description": props.get("Description") or "",
            "expires": props.get("Expires")}))["apiKey"]
        return self._attributes(op, props["ApiId"], key)

    async def delete(self, op: ResourceOp):
        await op.call("appsync", "DeleteApiKey", {"apiId": op.properties["ApiId"],
                                                  "id": op.physical_id.rsplit("/", 1)[-1]})
