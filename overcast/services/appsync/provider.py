"""AWS AppSync: the control plane (botocore's appsync model, rest-json) and the GraphQL data plane
(queries and mutations over HTTP at the API's GRAPHQL uri; subscriptions at the REALTIME uri, in
realtime.py)."""

from __future__ import annotations

import base64
import logging
import secrets
import string
import time

import orjson

from overcast import tracing
from overcast.aws import policy as iam_policy
from overcast.aws.context import HttpRequest, HttpResponse, random_uuid
from overcast.aws.errors import AwsError
from overcast.services.appsync import auth as authn
from overcast.services.appsync import cwlogs
from overcast.services.appsync import engine as eng
from overcast.services.appsync.datasources import DataSources
from overcast.services.appsync.errors import EarlyReturn, ResolverError
from overcast.services.appsync.schema import SchemaError, build, introspection_json, sdl_without_aws_prelude
from overcast.services.appsync.store import AppSyncStore
from overcast.services.appsync.urls import uris
from overcast.services.base import Provider

log = logging.getLogger("overcast.appsync")

_ID_ALPHABET = string.ascii_lowercase + string.digits
AUTH_TYPES = ("API_KEY", "AWS_IAM", "AMAZON_COGNITO_USER_POOLS", "OPENID_CONNECT", "AWS_LAMBDA")
DATA_SOURCE_TYPES = ("AWS_LAMBDA", "AMAZON_DYNAMODB", "AMAZON_ELASTICSEARCH", "NONE", "HTTP", "RELATIONAL_DATABASE",
                     "AMAZON_OPENSEARCH_SERVICE", "AMAZON_EVENTBRIDGE", "AMAZON_BEDROCK_RUNTIME")
SUPPORTED_SOURCES = ("AWS_LAMBDA", "AMAZON_DYNAMODB", "NONE", "HTTP", "AMAZON_EVENTBRIDGE")
DAY = 86400


def _new_id(length: int = 26) -> str:
    """26 lower-case letters and digits, starting with a letter (function ids must: [_A-Za-z]...)."""
    return secrets.choice(string.ascii_lowercase) + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length - 1))


def not_found(message: str) -> AwsError:
    return AwsError("NotFoundException", message, 404)


def bad_request(message: str) -> AwsError:
    return AwsError("BadRequestException", message, 400)


class AppSyncProvider(Provider):
    service = "appsync"

    def __init__(self, providers):
        super().__init__(providers)
        self.store = AppSyncStore(self.db)
        self.engine = eng.Engine(self)
        self.sources = DataSources(providers)
        self.authenticator = authn.Authenticator(self)
        from overcast.services.appsync.realtime import Subscriptions

        self.subscriptions = Subscriptions(self)

    async def stop(self) -> None:
        await self.subscriptions.close()
        await self.sources.close()

    def reset(self) -> None:
        self.engine.compiled.clear()
        self.engine.log_streams.clear()
        self.authenticator.reset()

    # -- helpers ------------------------------------------------------------------------------

    def _api(self, ctx, api_id: str) -> dict:
        api = self.store.get_api(ctx.account, ctx.region, api_id)
        if api is None:
            raise not_found(f"GraphQL API {api_id} not found.")
        return api

    def _arn(self, ctx, suffix: str) -> str:
        return f"arn:aws:appsync:{ctx.region}:{ctx.account}:{suffix}"

    def _render_api(self, ctx, api: dict) -> dict:
        out = dict(api)
        out["uris"] = uris(api["apiId"], api["region"], ctx.request.host if ctx.request else "")
        out["tags"] = self.store.tags(api["arn"])
        out.pop("region", None)
        return out

    # -- GraphQL APIs -------------------------------------------------------------------------

    def _check_auth_config(self, params: dict) -> None:
        providers = [params] + list(params.get("additionalAuthenticationProviders") or [])
        for p in providers:
            kind = p.get("authenticationType")
            if kind not in AUTH_TYPES:
                raise bad_request(f"Invalid authentication type: {kind}")
            if kind == "OPENID_CONNECT" and not (p.get("openIDConnectConfig") or {}).get("issuer"):
                raise bad_request("OpenID Connect configuration is required for OPENID_CONNECT authentication type.")
            if kind == "AMAZON_COGNITO_USER_POOLS" and not (p.get("userPoolConfig") or {}).get("userPoolId"):
                raise bad_request("User pool configuration is required for AMAZON_COGNITO_USER_POOLS authentication type.")
            if kind == "AWS_LAMBDA" and not (p.get("lambdaAuthorizerConfig") or {}).get("authorizerUri"):
                raise bad_request("Lambda authorizer configuration is required for AWS_LAMBDA authentication type.")

    _API_FIELDS = ("logConfig", "userPoolConfig", "openIDConnectConfig", "additionalAuthenticationProviders",
                   "xrayEnabled", "lambdaAuthorizerConfig", "ownerContact", "introspectionConfig", "queryDepthLimit",
                   "resolverCountLimit", "enhancedMetricsConfig", "mergedApiExecutionRoleArn")

    def create_graphql_api(self, ctx, params):
        self._check_auth_config(params)
        if params.get("apiType") == "MERGED":
            raise AwsError("NotImplemented", "Merged APIs are not implemented by overcast yet.", 501, sender_fault=False)
        api_id = _new_id()
        api = {"name": params["name"], "apiId": api_id, "authenticationType": params["authenticationType"],
               "arn": self._arn(ctx, f"apis/{api_id}"), "visibility": params.get("visibility") or "GLOBAL",
               "apiType": params.get("apiType") or "GRAPHQL", "owner": ctx.account, "region": ctx.region,
               "xrayEnabled": bool(params.get("xrayEnabled")), "introspectionConfig": "ENABLED",
               "dns": {}}
        for key in self._API_FIELDS:
            if params.get(key) is not None:
                api[key] = params[key]
        with self.store.transaction():
            self.store.put_api(ctx.account, ctx.region, api_id, api, time.time())
            if params.get("tags"):
                self.store.set_tags(api["arn"], params["tags"])
        return {"graphqlApi": self._render_api(ctx, api)}

    def get_graphql_api(self, ctx, params):
        return {"graphqlApi": self._render_api(ctx, self._api(ctx, params["apiId"]))}

    def list_graphql_apis(self, ctx, params):
        apis = [a for a in self.store.list_apis(ctx.account, ctx.region)
                if not params.get("apiType") or a.get("apiType") == params["apiType"]]
        if params.get("owner") == "OTHER_ACCOUNTS":
            apis = []
        page, token = _paginate(apis, params)
        return {"graphqlApis": [self._render_api(ctx, a) for a in page], "nextToken": token}

    def update_graphql_api(self, ctx, params):
        api = self._api(ctx, params["apiId"])
        merged = {**api, **{k: v for k, v in params.items() if k != "apiId" and v is not None}}
        if "authenticationType" not in params:
            merged["authenticationType"] = api["authenticationType"]
        self._check_auth_config(merged)
        self.store.put_api(ctx.account, ctx.region, api["apiId"], merged, time.time())
        return {"graphqlApi": self._render_api(ctx, merged)}

    def delete_graphql_api(self, ctx, params):
        api = self._api(ctx, params["apiId"])
        with self.store.transaction():
            self.store.delete_api(ctx.account, ctx.region, api["apiId"])
            self.store.set_tags(api["arn"], {})
        self.engine.compiled.pop(api["apiId"], None)
        self.engine.log_streams.pop(api["apiId"], None)
        return {}

    # -- environment variables ----------------------------------------------------------------

    def put_graphql_api_environment_variables(self, ctx, params):
        api = self._api(ctx, params["apiId"])
        variables = params.get("environmentVariables") or {}
        if len(variables) > 50:
            raise bad_request("An API can have at most 50 environment variables.")
        api["environmentVariables"] = variables
        self.store.put_api(ctx.account, ctx.region, api["apiId"], api, time.time())
        return {"environmentVariables": variables}

    def get_graphql_api_environment_variables(self, ctx, params):
        return {"environmentVariables": self._api(ctx, params["apiId"]).get("environmentVariables") or {}}

    # -- schema -------------------------------------------------------------------------------

    def start_schema_creation(self, ctx, params):
        api = self._api(ctx, params["apiId"])
        definition = params.get("definition") or b""
        if isinstance(definition, str):
            definition = definition.encode()
        sdl = definition.decode("utf-8", "replace")
        try:
            schema = build(sdl)
        except SchemaError as e:
            status = {"status": "FAILED", "details": str(e)}
        else:
            count = len([n for n in schema.type_map if not n.startswith("__")])
            status = {"status": "SUCCESS", "details": f"Successfully created schema with {count} types."}
        now = time.time()
        with self.store.transaction():
            if status["status"] == "SUCCESS":
                self.store.put(ctx.account, ctx.region, api["apiId"], "schema", "", {"definition": sdl}, now)
            self.store.put(ctx.account, ctx.region, api["apiId"], "schema_status", "", status, now)
        return {"status": "PROCESSING"}

    def get_schema_creation_status(self, ctx, params):
        api = self._api(ctx, params["apiId"])
        status = self.store.get(ctx.account, ctx.region, api["apiId"], "schema_status", "")
        if status is None:
            raise not_found(f"No schema creation found for API {api['apiId']}.")
        return status

    def _schema(self, ctx, api_id: str):
        compiled = self.compiled(api_id)
        if compiled is None or compiled.schema is None:
            raise not_found(f"No schema found for GraphQL API {api_id}.")
        return compiled

    def get_introspection_schema(self, ctx, params):
        self._api(ctx, params["apiId"])
        compiled = self._schema(ctx, params["apiId"])
        if params.get("format") == "JSON":
            return {"schema": introspection_json(compiled.schema)}
        if params.get("includeDirectives", True) is not False:
            stored = self.store.get(ctx.account, ctx.region, params["apiId"], "schema", "")
            return {"schema": stored["definition"].encode()}
        return {"schema": sdl_without_aws_prelude(compiled.schema).encode()}

    def list_types(self, ctx, params):
        self._api(ctx, params["apiId"])
        compiled = self._schema(ctx, params["apiId"])
        types = []
        for name, gtype in compiled.schema.type_map.items():
            if name.startswith("__") or gtype.ast_node is None:
                continue
            types.append(self._type(ctx, params["apiId"], name, gtype, params.get("format")))
        page, token = _paginate(types, params)
        return {"types": page, "nextToken": token}

    def get_type(self, ctx, params):
        self._api(ctx, params["apiId"])
        compiled = self._schema(ctx, params["apiId"])
        gtype = compiled.schema.type_map.get(params["typeName"])
        if gtype is None or gtype.ast_node is None:
            raise not_found(f"Type {params['typeName']} not found.")
        return {"type": self._type(ctx, params["apiId"], params["typeName"], gtype, params.get("format"))}

    def _type(self, ctx, api_id, name, gtype, fmt) -> dict:
        from graphql.language import print_ast

        definition = print_ast(gtype.ast_node)
        if fmt == "JSON":
            from graphql import introspection_from_schema

            types = introspection_from_schema(self.compiled(api_id).schema)["__schema"]["types"]
            definition = orjson.dumps(next((t for t in types if t["name"] == name), {})).decode()
        return {"name": name, "description": gtype.description, "arn": self._arn(ctx, f"apis/{api_id}/types/{name}"),
                "definition": definition, "format": fmt or "SDL"}

    # -- data sources -------------------------------------------------------------------------

    _SOURCE_FIELDS = ("description", "serviceRoleArn", "dynamodbConfig", "lambdaConfig", "elasticsearchConfig",
                      "openSearchServiceConfig", "httpConfig", "relationalDatabaseConfig", "eventBridgeConfig",
                      "metricsConfig")

    def _source_doc(self, ctx, api_id: str, params: dict) -> dict:
        kind = params.get("type")
        if kind not in DATA_SOURCE_TYPES:
            raise bad_request(f"Invalid data source type: {kind}")
        if kind not in SUPPORTED_SOURCES:
            raise AwsError("NotImplemented", f"Data sources of type {kind} are not implemented by overcast yet.", 501,
                           sender_fault=False)
        required = {"AWS_LAMBDA": ("lambdaConfig", "lambdaFunctionArn"), "AMAZON_DYNAMODB": ("dynamodbConfig", "tableName"),
                    "HTTP": ("httpConfig", "endpoint"), "AMAZON_EVENTBRIDGE": ("eventBridgeConfig", "eventBusArn")}.get(kind)
        if required and not (params.get(required[0]) or {}).get(required[1]):
            raise bad_request(f"{required[0]} is required for data source type {kind}.")
        doc = {"dataSourceArn": self._arn(ctx, f"apis/{api_id}/datasources/{params['name']}"), "name": params["name"],
               "type": kind}
        for key in self._SOURCE_FIELDS:
            if params.get(key) is not None:
                doc[key] = params[key]
        if kind == "AMAZON_DYNAMODB":
            doc["dynamodbConfig"].setdefault("awsRegion", ctx.region)
            doc["dynamodbConfig"].setdefault("useCallerCredentials", False)
            doc["dynamodbConfig"].setdefault("versioned", False)
        return doc

    def create_data_source(self, ctx, params):
        api = self._api(ctx, params["apiId"])
        if self.store.get(ctx.account, ctx.region, api["apiId"], "datasource", params["name"]):
            raise bad_request(f"Data source with name {params['name']} already exists.")
        doc = self._source_doc(ctx, api["apiId"], params)
        self.store.put(ctx.account, ctx.region, api["apiId"], "datasource", params["name"], doc, time.time())
        return {"dataSource": doc}

    def _data_source(self, ctx, api_id: str, name: str) -> dict:
        doc = self.store.get(ctx.account, ctx.region, api_id, "datasource", name)
        if doc is None:
            raise not_found(f"Data source {name} not found.")
        return doc

    def get_data_source(self, ctx, params):
        self._api(ctx, params["apiId"])
        return {"dataSource": self._data_source(ctx, params["apiId"], params["name"])}

    def update_data_source(self, ctx, params):
        self._api(ctx, params["apiId"])
        self._data_source(ctx, params["apiId"], params["name"])
        doc = self._source_doc(ctx, params["apiId"], params)
        self.store.put(ctx.account, ctx.region, params["apiId"], "datasource", params["name"], doc, time.time())
        return {"dataSource": doc}

    def delete_data_source(self, ctx, params):
        self._api(ctx, params["apiId"])
        if not self.store.delete(ctx.account, ctx.region, params["apiId"], "datasource", params["name"]):
            raise not_found(f"Data source {params['name']} not found.")
        return {}

    def list_data_sources(self, ctx, params):
        self._api(ctx, params["apiId"])
        page, token = _paginate(self.store.list(ctx.account, ctx.region, params["apiId"], "datasource"), params)
        return {"dataSources": page, "nextToken": token}

    # -- resolvers and functions --------------------------------------------------------------

    def _check_code(self, params: dict) -> None:
        runtime = params.get("runtime")
        if runtime is None:
            if params.get("code"):
                raise bad_request("The runtime is required when code is given.")
            return
        if runtime.get("name") != "APPSYNC_JS" or runtime.get("runtimeVersion") != "1.0.0":
            raise bad_request(f"Unsupported runtime {runtime.get('name')} {runtime.get('runtimeVersion')}.")
        if not params.get("code"):
            raise bad_request("Code is required for the APPSYNC_JS runtime.")
        from overcast.services.appsync import js

        problem = js.check(params["code"])
        if problem:
            raise bad_request(f"The code contains one or more errors. {problem}")

    def _resolver_doc(self, ctx, api_id: str, params: dict) -> dict:
        kind = params.get("kind") or "UNIT"
        if kind == "UNIT" and params.get("dataSourceName"):
            self._data_source(ctx, api_id, params["dataSourceName"])
        if kind == "PIPELINE":
            for fid in (params.get("pipelineConfig") or {}).get("functions") or []:
                if self.store.get(ctx.account, ctx.region, api_id, "function", fid) is None:
                    raise not_found(f"Function {fid} not found.")
        self._check_code(params)
        doc = {"typeName": params["typeName"], "fieldName": params["fieldName"], "kind": kind,
               "resolverArn": self._arn(ctx, f"apis/{api_id}/types/{params['typeName']}/resolvers/{params['fieldName']}")}
        for key in ("dataSourceName", "requestMappingTemplate", "responseMappingTemplate", "pipelineConfig",
                    "syncConfig", "cachingConfig", "maxBatchSize", "runtime", "code", "metricsConfig"):
            if params.get(key) is not None:
                doc[key] = params[key]
        if kind == "UNIT":
            doc.pop("pipelineConfig", None)
        return doc

    def create_resolver(self, ctx, params):
        api = self._api(ctx, params["apiId"])
        name = f"{params['typeName']}.{params['fieldName']}"
        if self.store.get(ctx.account, ctx.region, api["apiId"], "resolver", name):
            raise bad_request(f"Only one resolver is allowed per field: {name}.")
        compiled = self.compiled(api["apiId"])
        if compiled is not None and compiled.schema is not None:
            gtype = compiled.schema.type_map.get(params["typeName"])
            if gtype is None or params["fieldName"] not in getattr(gtype, "fields", {}):
                raise not_found(f"No field named {params['fieldName']} found on type {params['typeName']}")
        doc = self._resolver_doc(ctx, api["apiId"], params)
        self.store.put(ctx.account, ctx.region, api["apiId"], "resolver", name, doc, time.time())
        return {"resolver": doc}

    def _resolver(self, ctx, params) -> dict:
        self._api(ctx, params["apiId"])
        doc = self.store.get(ctx.account, ctx.region, params["apiId"], "resolver", f"{params['typeName']}.{params['fieldName']}")
        if doc is None:
            raise not_found(f"No resolver found for {params['typeName']}.{params['fieldName']}.")
        return doc

    def get_resolver(self, ctx, params):
        return {"resolver": self._resolver(ctx, params)}

    def update_resolver(self, ctx, params):
        self._resolver(ctx, params)
        doc = self._resolver_doc(ctx, params["apiId"], params)
        self.store.put(ctx.account, ctx.region, params["apiId"], "resolver", f"{params['typeName']}.{params['fieldName']}",
                       doc, time.time())
        return {"resolver": doc}

    def delete_resolver(self, ctx, params):
        self._resolver(ctx, params)
        self.store.delete(ctx.account, ctx.region, params["apiId"], "resolver", f"{params['typeName']}.{params['fieldName']}")
        return {}

    def list_resolvers(self, ctx, params):
        self._api(ctx, params["apiId"])
        found = [r for r in self.store.list(ctx.account, ctx.region, params["apiId"], "resolver")
                 if r["typeName"] == params["typeName"]]
        page, token = _paginate(found, params)
        return {"resolvers": page, "nextToken": token}

    def list_resolvers_by_function(self, ctx, params):
        self._function(ctx, params["apiId"], params["functionId"])
        found = [r for r in self.store.list(ctx.account, ctx.region, params["apiId"], "resolver")
                 if params["functionId"] in ((r.get("pipelineConfig") or {}).get("functions") or [])]
        page, token = _paginate(found, params)
        return {"resolvers": page, "nextToken": token}

    def _function_doc(self, ctx, api_id: str, function_id: str, params: dict) -> dict:
        self._data_source(ctx, api_id, params["dataSourceName"])
        self._check_code(params)
        doc = {"functionId": function_id, "functionArn": self._arn(ctx, f"apis/{api_id}/functions/{function_id}"),
               "name": params["name"], "dataSourceName": params["dataSourceName"]}
        for key in ("description", "requestMappingTemplate", "responseMappingTemplate", "functionVersion",
                    "syncConfig", "maxBatchSize", "runtime", "code"):
            if params.get(key) is not None:
                doc[key] = params[key]
        if "runtime" not in doc:
            doc.setdefault("functionVersion", "2018-05-29")
        return doc

    def create_function(self, ctx, params):
        api = self._api(ctx, params["apiId"])
        doc = self._function_doc(ctx, api["apiId"], _new_id(), params)
        self.store.put(ctx.account, ctx.region, api["apiId"], "function", doc["functionId"], doc, time.time())
        return {"functionConfiguration": doc}

    def _function(self, ctx, api_id: str, function_id: str) -> dict:
        self._api(ctx, api_id)
        doc = self.store.get(ctx.account, ctx.region, api_id, "function", function_id)
        if doc is None:
            raise not_found(f"Function {function_id} not found.")
        return doc

    def get_function(self, ctx, params):
        return {"functionConfiguration": self._function(ctx, params["apiId"], params["functionId"])}

    def update_function(self, ctx, params):
        self._function(ctx, params["apiId"], params["functionId"])
        doc = self._function_doc(ctx, params["apiId"], params["functionId"], params)
        self.store.put(ctx.account, ctx.region, params["apiId"], "function", params["functionId"], doc, time.time())
        return {"functionConfiguration": doc}

    def delete_function(self, ctx, params):
        self._function(ctx, params["apiId"], params["functionId"])
        for r in self.store.list(ctx.account, ctx.region, params["apiId"], "resolver"):
            if params["functionId"] in ((r.get("pipelineConfig") or {}).get("functions") or []):
                raise AwsError("ConcurrentModificationException",
                               "Cannot delete a function that is used by a pipeline resolver.", 409)
        self.store.delete(ctx.account, ctx.region, params["apiId"], "function", params["functionId"])
        return {}

    def list_functions(self, ctx, params):
        self._api(ctx, params["apiId"])
        page, token = _paginate(self.store.list(ctx.account, ctx.region, params["apiId"], "function"), params)
        return {"functions": page, "nextToken": token}

    # -- API keys -----------------------------------------------------------------------------

    def _expiry(self, expires) -> int:
        now = time.time()
        if expires is None:
            expires = now + 7 * DAY
        expires = int(expires) // 3600 * 3600
        if expires < now + DAY - 3600:
            raise AwsError("ApiKeyValidityOutOfBoundsException", "API key must be valid for a minimum of 1 day.", 400)
        if expires > now + 365 * DAY:
            raise AwsError("ApiKeyValidityOutOfBoundsException", "API key must be valid for a maximum of 365 days.", 400)
        return expires

    def create_api_key(self, ctx, params):
        api = self._api(ctx, params["apiId"])
        expires = self._expiry(params.get("expires"))
        key = {"id": "da2-" + _new_id(), "expires": expires, "deletes": expires + 60 * DAY}
        if params.get("description") is not None:
            key["description"] = params["description"]
        self.store.put(ctx.account, ctx.region, api["apiId"], "apikey", key["id"], key, time.time())
        return {"apiKey": key}

    def list_api_keys(self, ctx, params):
        self._api(ctx, params["apiId"])
        now = time.time()
        keys = [k for k in self.store.list(ctx.account, ctx.region, params["apiId"], "apikey") if k["deletes"] > now]
        page, token = _paginate(keys, params)
        return {"apiKeys": page, "nextToken": token}

    def update_api_key(self, ctx, params):
        self._api(ctx, params["apiId"])
        key = self.store.get(ctx.account, ctx.region, params["apiId"], "apikey", params["id"])
        if key is None:
            raise not_found(f"API key {params['id']} not found.")
        if params.get("description") is not None:
            key["description"] = params["description"]
        if params.get("expires") is not None:
            key["expires"] = self._expiry(params["expires"])
            key["deletes"] = key["expires"] + 60 * DAY
        self.store.put(ctx.account, ctx.region, params["apiId"], "apikey", key["id"], key, time.time())
        return {"apiKey": key}

    def delete_api_key(self, ctx, params):
        self._api(ctx, params["apiId"])
        if not self.store.delete(ctx.account, ctx.region, params["apiId"], "apikey", params["id"]):
            raise not_found(f"API key {params['id']} not found.")
        return {}

    # -- tags ---------------------------------------------------------------------------------

    def _tagged(self, ctx, arn: str) -> None:
        parts = arn.split(":", 5)
        if len(parts) < 6 or parts[2] != "appsync" or not parts[5].startswith("apis/"):
            raise bad_request(f"Invalid resource ARN: {arn}")
        api_id = parts[5].split("/")[1]
        iam_policy.check(ctx, parts[4], arn, f"appsync:{ctx.operation}", status=403)  # another account's: no policies
        if self.store.get_api(parts[4], parts[3], api_id) is None:
            raise not_found(f"GraphQL API {api_id} not found.")

    def tag_resource(self, ctx, params):
        self._tagged(ctx, params["resourceArn"])
        tags = {**self.store.tags(params["resourceArn"]), **(params.get("tags") or {})}
        if len(tags) > 50:
            raise bad_request("A resource can have at most 50 tags.")
        self.store.set_tags(params["resourceArn"], tags)
        return {}

    def untag_resource(self, ctx, params):
        self._tagged(ctx, params["resourceArn"])
        tags = {k: v for k, v in self.store.tags(params["resourceArn"]).items() if k not in (params.get("tagKeys") or [])}
        self.store.set_tags(params["resourceArn"], tags)
        return {}

    def list_tags_for_resource(self, ctx, params):
        self._tagged(ctx, params["resourceArn"])
        return {"tags": self.store.tags(params["resourceArn"])}

    # -- evaluation ---------------------------------------------------------------------------

    def evaluate_mapping_template(self, ctx, params):
        from overcast.services.appsync import templates

        try:
            context = orjson.loads(params.get("context") or "{}")
        except orjson.JSONDecodeError as e:
            raise bad_request(f"Unable to parse the context: {e}") from None
        context = _evaluation_context(context)
        errors: list = []
        util = templates.AppSyncUtil(errors, None, ((context.get("info") or {}).get("fieldName"),
                                                     (context.get("info") or {}).get("parentTypeName")))
        out = {"logs": []}
        try:
            out["evaluationResult"] = templates.render(params["template"], context, util)
        except EarlyReturn as early:
            out["evaluationResult"] = orjson.dumps(early.value).decode() if early.has_value else ""
        except ResolverError as e:
            out["error"] = {"message": e.message}
        out["stash"] = orjson.dumps(context.get("stash") or {}).decode()
        out["outErrors"] = orjson.dumps([_out_error(e) for e in errors]).decode()
        out["logs"] = [text for _, text in util.log_lines or ()]
        return out

    async def evaluate_code(self, ctx, params):
        from overcast.services.appsync import js

        runtime = params.get("runtime") or {}
        if runtime.get("name") != "APPSYNC_JS":
            raise bad_request(f"Unsupported runtime {runtime.get('name')}.")
        try:
            context = orjson.loads(params.get("context") or "{}")
        except orjson.JSONDecodeError as e:
            raise bad_request(f"Unable to parse the context: {e}") from None
        context = _evaluation_context(context)
        function = params.get("function") or "request"
        problem = js.check(params["code"])
        if problem:
            return {"error": {"message": problem, "codeErrors": [{"errorType": "PARSER_ERROR", "value": problem}]},
                    "logs": []}
        result = await js.evaluate(params["code"], function, context, env=None)
        out = {"logs": result.logs, "stash": orjson.dumps(result.stash or {}).decode(),
               "outErrors": orjson.dumps([_out_error(e) for e in result.appended]).decode()}
        if result.error is not None:
            out["error"] = {"message": result.error.message}
        else:
            out["evaluationResult"] = orjson.dumps(result.value).decode()
        return out

    # -- the data plane -----------------------------------------------------------------------

    def compiled(self, api_id: str) -> eng.CompiledApi | None:
        version = self.store.api_version(api_id)
        if version is None:
            self.engine.compiled.pop(api_id, None)
            return None
        cached = self.engine.compiled.get(api_id)
        if cached is not None and cached.version == version:
            return cached
        found = self.store.api_by_id(api_id)
        if found is None:
            return None
        account, region, api, version = found
        schema = self.store.get(account, region, api_id, "schema", "")
        compiled = eng.CompiledApi(
            account, region, api, version, schema["definition"] if schema else None,
            self.store.list(account, region, api_id, "datasource"), self.store.list(account, region, api_id, "resolver"),
            self.store.list(account, region, api_id, "function"), self.store.list(account, region, api_id, "apikey"))
        self.engine.compiled[api_id] = compiled
        return compiled

    async def handle_graphql(self, request: HttpRequest, found) -> HttpResponse:
        """A GraphQL request, as the span AppSync.GraphQL (in the caller's trace when it sends
        X-Amzn-Trace-Id); its resolvers, templates and data sources are child spans."""
        api_id = found[0]
        api = self.compiled(api_id) if request.method == "POST" else None
        request_id = random_uuid()
        log = None
        if api is not None and api.log_config is not None:  # CloudWatch Logs (cwlogs.py)
            log = cwlogs.RequestLog(api, api.log_config, request_id)
            log.request_headers(request.headers)
        with tracing.hop("appsync", "GraphQL", parent=request.headers.get("x-amzn-trace-id"), request=request.body,
                         account=api.account if api is not None else "", region=api.region if api is not None else "",
                         resource=f"arn:aws:appsync:{api.region}:{api.account}:apis/{api_id}" if api is not None
                         else None, attributes={"apiId": api_id}) as span:
            try:
                response = await self._graphql(request, found, api, log)
            except Exception as e:
                log.exception("GraphQL request failed")
                span.fail(e)
                response = _answer(500, {"errors": [{"errorType": "InternalFailure",
                                                     "message": "An internal failure occurred. Please try again."}]})
            span.set("httpStatus", response.status)
            span.set_response(response.body)
            if response.status >= 400 and span.status == "ok":
                span.fail(f"HTTP {response.status}")
        response.headers.append(("x-amzn-RequestId", request_id))
        if log is not None:
            await self._write_logs(log, response)
        return response

    async def _write_logs(self, log, response: HttpResponse) -> None:
        headers = [(k, v) for k, v in response.headers if not k.startswith("access-control-")]
        if response.status >= 400 and response.body:
            try:
                first = (orjson.loads(response.body).get("errors") or [{}])[0]
            except (orjson.JSONDecodeError, AttributeError, IndexError, TypeError):
                first = {}
            if first.get("errorType"):
                headers.append(("x-amzn-ErrorType", first["errorType"]))
        api_id = log.api.api_id
        stream = self.engine.log_streams.get(api_id)
        if stream is None:
            stream = self.engine.log_streams[api_id] = cwlogs.new_stream_name()
        log.finish(await self.providers.get("logs"), stream, response.status, headers)

    async def _graphql(self, request: HttpRequest, found, api=None, log=None) -> HttpResponse:
        api_id, _kind = found
        if request.method == "OPTIONS":
            return HttpResponse(200, _CORS + [("access-control-max-age", "86400")], b"")
        if api is None:
            api = self.compiled(api_id)
        if api is None:
            return _answer(404, {"errors": [{"errorType": "NotFoundException", "message": f"GraphQL API {api_id} not found."}]})
        if request.method != "POST":
            return _answer(405, {"errors": [{"errorType": "MethodNotAllowedException",
                                             "message": "Only POST requests are supported."}]})
        headers = request.headers
        identity = await self.authenticator.authenticate(api, headers, request, None)
        if identity is None:
            return _answer(401, authn.UNAUTHORIZED)
        mode, who = identity
        try:
            body = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            return _answer(400, {"errors": [{"errorType": "MalformedHttpRequestException",
                                             "message": "Invalid JSON payload in POST request."}]})
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return _answer(400, {"errors": [{"errorType": "MalformedHttpRequestException",
                                             "message": "Invalid JSON payload in POST request."}]})
        if api.schema is None:
            return _answer(400, {"errors": [{"errorType": "BadRequestException",
                                             "message": f"No schema has been defined for GraphQL API {api_id}."}]})
        variables = body.get("variables") or {}
        if not isinstance(variables, dict):
            variables = {}
        status, payload = await self.execute(api, mode, who, headers, body["query"], variables, body.get("operationName"),
                                             log)
        if log is not None:
            log.execution_summary()
        if payload.get("errors"):
            span = tracing.current()
            if span is not None:
                first = payload["errors"][0]
                span.fail(f"{first.get('errorType') or 'GraphQLError'}: {first.get('message') or ''}")
        return _answer(status, payload)

    async def execute(self, api, mode, identity, headers, query, variables, operation_name, log=None):
        if log is None:
            document, errors, syntax, _, _ = api.document(query)
        else:
            log.query(query, operation_name, variables)
            start = log.offset()
            cached = query in api.documents
            document, errors, syntax, parsing, validation = api.document(query)
            if cached:  # parsed and validated before: this request's share is the cache lookup
                parsing, validation = log.offset() - start, 0
            log.parsing, log.validation = (start, parsing), (start + parsing, validation)
        if errors:
            return 400, {"data": None, "errors": [eng.validation_entry(e, syntax) for e in errors]}
        operation = eng.operation_of(document, operation_name)
        if operation is None:
            return 400, {"data": None, "errors": [{"path": None, "locations": [], "errorType": "ValidationError",
                                                   "message": "Unknown operation name or ambiguous operations."}]}
        if operation.variable_definitions:
            from graphql.execution.values import get_variable_values

            coerced = get_variable_values(api.schema, operation.variable_definitions, variables)
            if isinstance(coerced, list):
                return 400, {"data": None, "errors": [eng.validation_entry(e, False) for e in coerced]}
        if eng.is_subscription(operation):
            return 400, {"data": None, "errors": [{"errorType": "UnsupportedOperation", "message":
                                                   "Subscriptions are served over the real-time WebSocket endpoint."}]}
        denied = None
        if isinstance(identity, dict) and "_denied" in identity:
            identity = dict(identity)
            denied = identity.pop("_denied")
        state = eng.RequestState(self.engine, api, mode, identity, _public_headers(headers), variables)
        state.log = log
        if denied:
            state.denied_fields = {d.rsplit("/types/", 1)[-1].replace("/fields/", ".") for d in denied}
        result = await eng.run_document(api, state, document, variables, operation_name)
        payload = eng.shape_result(result, state)
        if eng.is_mutation(operation) and api.subscribed_by and result.data:
            self.subscriptions.publish(api, document, operation, result.data)
        return 200, payload


_CORS = [("access-control-allow-origin", "*"), ("access-control-allow-headers", "*"),
         ("access-control-allow-methods", "POST, OPTIONS")]


def _answer(status: int, payload) -> HttpResponse:
    return HttpResponse(status, [("content-type", "application/json; charset=UTF-8"), *_CORS], orjson.dumps(payload))


_HIDDEN_HEADERS = frozenset(("authorization", "x-api-key"))


def _public_headers(headers: dict) -> dict:
    return {k: v for k, v in headers.items() if k not in _HIDDEN_HEADERS}


def _paginate(items: list, params: dict):
    start = 0
    token = params.get("nextToken")
    if token:
        try:
            start = int(base64.b64decode(token).decode())
        except ValueError:
            raise bad_request("Invalid pagination token.") from None
    size = int(params.get("maxResults") or 25)
    page = items[start:start + size]
    more = start + size < len(items)
    return page, (base64.b64encode(str(start + size).encode()).decode() if more else None)


def _evaluation_context(context: dict) -> dict:
    args = context.get("arguments") if context.get("arguments") is not None else context.get("args") or {}
    out = dict(context)
    out["arguments"] = out["args"] = args
    out.setdefault("stash", {})
    out.setdefault("source", None)
    out.setdefault("identity", None)
    out.setdefault("prev", None)
    out.setdefault("info", {})
    out.setdefault("request", {"headers": {}})
    out.setdefault("result", None)
    out.setdefault("error", None)
    return out


def _out_error(error) -> dict:
    return {"message": error.message, "errorType": error.error_type, "data": error.data, "errorInfo": error.error_info}

