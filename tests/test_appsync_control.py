"""AppSync's control plane through boto3 and the AWS CLI: APIs, schemas, data sources, resolvers,
functions, API keys, introspection, evaluation, tags."""

from __future__ import annotations

import json
import time

import pytest
from appsync_support import NONE_REQUEST, RESULT_RESPONSE, create_api
from botocore.exceptions import ClientError

SCHEMA = """
type Query { getPost(id: ID!): Post }
type Mutation { addPost(id: ID!, title: String): Post }
type Post @aws_api_key { id: ID! title: String at: AWSDateTime }
type Subscription { onAddPost: Post @aws_subscribe(mutations: ["addPost"]) }
"""


@pytest.fixture
def appsync(client):
    return client("appsync")


def code_of(excinfo) -> tuple[str, int]:
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_create_graphql_api_returns_arn_uris_and_auth(appsync, unique_name):
    api = appsync.create_graphql_api(name=unique_name("api"), authenticationType="API_KEY", tags={"team": "a"})["graphqlApi"]
    assert api["arn"] == f"arn:aws:appsync:us-east-1:000000000000:apis/{api['apiId']}"
    assert api["uris"]["GRAPHQL"].startswith(f"http://{api['apiId']}.appsync-api.us-east-1.")
    assert api["uris"]["REALTIME"].startswith(f"ws://{api['apiId']}.appsync-realtime-api.us-east-1.")
    assert api["authenticationType"] == "API_KEY"
    assert api["tags"] == {"team": "a"}


def test_get_list_update_delete_graphql_api(appsync, unique_name):
    api_id = appsync.create_graphql_api(name=unique_name("api"), authenticationType="API_KEY")["graphqlApi"]["apiId"]
    assert appsync.get_graphql_api(apiId=api_id)["graphqlApi"]["apiId"] == api_id
    assert api_id in [a["apiId"] for a in appsync.list_graphql_apis()["graphqlApis"]]
    updated = appsync.update_graphql_api(apiId=api_id, name="renamed", authenticationType="AWS_IAM",
                                         additionalAuthenticationProviders=[{"authenticationType": "API_KEY"}])
    assert updated["graphqlApi"]["name"] == "renamed"
    assert updated["graphqlApi"]["additionalAuthenticationProviders"] == [{"authenticationType": "API_KEY"}]
    appsync.delete_graphql_api(apiId=api_id)
    with pytest.raises(ClientError) as e:
        appsync.get_graphql_api(apiId=api_id)
    assert code_of(e) == ("NotFoundException", 404)


def test_create_api_with_oidc_without_issuer_is_a_bad_request(appsync, unique_name):
    with pytest.raises(ClientError) as e:
        appsync.create_graphql_api(name=unique_name("api"), authenticationType="OPENID_CONNECT")
    assert code_of(e) == ("BadRequestException", 400)


def test_apis_are_scoped_by_region(client, unique_name):
    api_id = client("appsync").create_graphql_api(name=unique_name("api"), authenticationType="API_KEY")["graphqlApi"]["apiId"]
    with pytest.raises(ClientError) as e:
        client("appsync", region="eu-west-1").get_graphql_api(apiId=api_id)
    assert code_of(e)[0] == "NotFoundException"


def test_schema_creation_succeeds_with_appsync_scalars_and_directives(appsync, unique_name):
    api_id, _ = create_api(appsync, unique_name("api"), SCHEMA)
    status = appsync.get_schema_creation_status(apiId=api_id)
    assert status["status"] == "SUCCESS"


def test_invalid_sdl_fails_schema_creation_with_the_parser_message(appsync, unique_name):
    api_id = appsync.create_graphql_api(name=unique_name("api"), authenticationType="API_KEY")["graphqlApi"]["apiId"]
    assert appsync.start_schema_creation(apiId=api_id, definition=b"type Query { a: }")["status"] == "PROCESSING"
    status = appsync.get_schema_creation_status(apiId=api_id)
    assert status["status"] == "FAILED"
    assert "Syntax Error" in status["details"]


def test_schema_referencing_an_unknown_type_fails(appsync, unique_name):
    api_id = appsync.create_graphql_api(name=unique_name("api"), authenticationType="API_KEY")["graphqlApi"]["apiId"]
    appsync.start_schema_creation(apiId=api_id, definition=b"type Query { a: Nope }")
    status = appsync.get_schema_creation_status(apiId=api_id)
    assert status["status"] == "FAILED" and "Nope" in status["details"]


def test_introspection_schema_in_sdl_and_json(appsync, unique_name):
    api_id, _ = create_api(appsync, unique_name("api"), SCHEMA)
    sdl = appsync.get_introspection_schema(apiId=api_id, format="SDL")["schema"].read().decode()
    assert "type Post" in sdl and "@aws_subscribe" in sdl
    plain = appsync.get_introspection_schema(apiId=api_id, format="SDL", includeDirectives=False)["schema"].read().decode()
    assert "@aws_subscribe" not in plain and "scalar AWSDateTime" not in plain
    doc = json.loads(appsync.get_introspection_schema(apiId=api_id, format="JSON")["schema"].read())
    names = {t["name"] for t in doc["data"]["__schema"]["types"]}
    assert {"Post", "Query", "AWSDateTime"} <= names


def test_data_source_crud(appsync, unique_name):
    api_id, _ = create_api(appsync, unique_name("api"), SCHEMA)
    created = appsync.create_data_source(apiId=api_id, name="posts", type="AMAZON_DYNAMODB",
                                         dynamodbConfig={"tableName": "Posts", "awsRegion": "us-east-1"})["dataSource"]
    assert created["dataSourceArn"].endswith(f"apis/{api_id}/datasources/posts")
    assert appsync.get_data_source(apiId=api_id, name="posts")["dataSource"]["dynamodbConfig"]["tableName"] == "Posts"
    appsync.update_data_source(apiId=api_id, name="posts", type="NONE")
    assert appsync.get_data_source(apiId=api_id, name="posts")["dataSource"]["type"] == "NONE"
    assert [d["name"] for d in appsync.list_data_sources(apiId=api_id)["dataSources"]] == ["posts"]
    appsync.delete_data_source(apiId=api_id, name="posts")
    with pytest.raises(ClientError) as e:
        appsync.get_data_source(apiId=api_id, name="posts")
    assert code_of(e) == ("NotFoundException", 404)


def test_unsupported_data_source_type_answers_not_implemented(appsync, unique_name):
    api_id, _ = create_api(appsync, unique_name("api"), SCHEMA)
    with pytest.raises(ClientError) as e:
        appsync.create_data_source(apiId=api_id, name="es", type="AMAZON_OPENSEARCH_SERVICE",
                                   openSearchServiceConfig={"endpoint": "https://x", "awsRegion": "us-east-1"})
    assert code_of(e)[1] == 501


def test_resolver_crud_and_unknown_field(appsync, unique_name):
    api_id, _ = create_api(appsync, unique_name("api"), SCHEMA)
    appsync.create_data_source(apiId=api_id, name="none", type="NONE")
    resolver = appsync.create_resolver(apiId=api_id, typeName="Query", fieldName="getPost", dataSourceName="none",
                                       requestMappingTemplate=NONE_REQUEST, responseMappingTemplate=RESULT_RESPONSE)["resolver"]
    assert resolver["resolverArn"].endswith("/types/Query/resolvers/getPost") and resolver["kind"] == "UNIT"
    assert [r["fieldName"] for r in appsync.list_resolvers(apiId=api_id, typeName="Query")["resolvers"]] == ["getPost"]
    with pytest.raises(ClientError) as e:
        appsync.create_resolver(apiId=api_id, typeName="Query", fieldName="nope", dataSourceName="none",
                                requestMappingTemplate=NONE_REQUEST)
    assert code_of(e)[0] == "NotFoundException"
    appsync.delete_resolver(apiId=api_id, typeName="Query", fieldName="getPost")
    with pytest.raises(ClientError) as e:
        appsync.get_resolver(apiId=api_id, typeName="Query", fieldName="getPost")
    assert code_of(e) == ("NotFoundException", 404)


def test_resolver_with_invalid_js_code_is_a_bad_request(appsync, unique_name):
    api_id, _ = create_api(appsync, unique_name("api"), SCHEMA)
    appsync.create_data_source(apiId=api_id, name="none", type="NONE")
    with pytest.raises(ClientError) as e:
        appsync.create_resolver(apiId=api_id, typeName="Query", fieldName="getPost", dataSourceName="none",
                                runtime={"name": "APPSYNC_JS", "runtimeVersion": "1.0.0"},
                                code="export function request(ctx) { return {")
    assert code_of(e) == ("BadRequestException", 400)


def test_function_crud_and_pipeline_reference(appsync, unique_name):
    api_id, _ = create_api(appsync, unique_name("api"), SCHEMA)
    appsync.create_data_source(apiId=api_id, name="none", type="NONE")
    fn = appsync.create_function(apiId=api_id, name="f1", dataSourceName="none", functionVersion="2018-05-29",
                                 requestMappingTemplate=NONE_REQUEST, responseMappingTemplate=RESULT_RESPONSE)
    fid = fn["functionConfiguration"]["functionId"]
    assert appsync.get_function(apiId=api_id, functionId=fid)["functionConfiguration"]["name"] == "f1"
    appsync.create_resolver(apiId=api_id, typeName="Query", fieldName="getPost", kind="PIPELINE",
                            pipelineConfig={"functions": [fid]}, requestMappingTemplate="{}",
                            responseMappingTemplate="$util.toJson($ctx.prev.result)")
    by_function = appsync.list_resolvers_by_function(apiId=api_id, functionId=fid)["resolvers"]
    assert [r["fieldName"] for r in by_function] == ["getPost"]
    with pytest.raises(ClientError) as e:
        appsync.delete_function(apiId=api_id, functionId=fid)
    assert code_of(e)[0] == "ConcurrentModificationException"


def test_api_key_expiry_defaults_to_seven_days_and_is_bounded(appsync, unique_name):
    api_id = appsync.create_graphql_api(name=unique_name("api"), authenticationType="API_KEY")["graphqlApi"]["apiId"]
    key = appsync.create_api_key(apiId=api_id, description="d")["apiKey"]
    assert key["id"].startswith("da2-")
    assert abs(key["expires"] - (time.time() + 7 * 86400)) < 3700
    with pytest.raises(ClientError) as e:
        appsync.create_api_key(apiId=api_id, expires=int(time.time()) + 60)
    assert code_of(e) == ("ApiKeyValidityOutOfBoundsException", 400)
    with pytest.raises(ClientError) as e:
        appsync.create_api_key(apiId=api_id, expires=int(time.time()) + 400 * 86400)
    assert code_of(e)[0] == "ApiKeyValidityOutOfBoundsException"
    updated = appsync.update_api_key(apiId=api_id, id=key["id"], description="new")["apiKey"]
    assert updated["description"] == "new"
    assert [k["id"] for k in appsync.list_api_keys(apiId=api_id)["apiKeys"]] == [key["id"]]
    appsync.delete_api_key(apiId=api_id, id=key["id"])
    assert appsync.list_api_keys(apiId=api_id)["apiKeys"] == []


def test_tags_on_an_api(appsync, unique_name):
    arn = appsync.create_graphql_api(name=unique_name("api"), authenticationType="API_KEY")["graphqlApi"]["arn"]
    appsync.tag_resource(resourceArn=arn, tags={"a": "1", "b": "2"})
    appsync.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert appsync.list_tags_for_resource(resourceArn=arn)["tags"] == {"b": "2"}


def test_evaluate_mapping_template_uses_appsync_util(appsync):
    out = appsync.evaluate_mapping_template(
        template='{"key": {"id": $util.dynamodb.toDynamoDBJson($ctx.args.id)}, "flag": $ctx.args.flag}$util.qr($ctx.stash.put("s", 1))',
        context=json.dumps({"arguments": {"id": "a1", "flag": True}}))
    assert json.loads(out["evaluationResult"]) == {"key": {"id": {"S": "a1"}}, "flag": True}
    assert json.loads(out["stash"]) == {"s": 1}


def test_evaluate_mapping_template_reports_util_error(appsync):
    out = appsync.evaluate_mapping_template(template='$util.error("boom", "Custom")', context="{}")
    assert out["error"]["message"] == "boom"


def test_evaluate_code_runs_appsync_js(appsync):
    code = """import { util } from '@aws-appsync/utils';
import * as ddb from '@aws-appsync/utils/dynamodb';
export function request(ctx) { ctx.stash.seen = true; return ddb.get({ key: { id: ctx.args.id } }); }
export function response(ctx) { return ctx.result; }"""
    out = appsync.evaluate_code(runtime={"name": "APPSYNC_JS", "runtimeVersion": "1.0.0"}, code=code,
                                context=json.dumps({"arguments": {"id": "p1"}}), function="request")
    assert json.loads(out["evaluationResult"]) == {"operation": "GetItem", "key": {"id": {"S": "p1"}}}
    assert json.loads(out["stash"]) == {"seen": True}


def test_cli_lists_apis(aws_cli, appsync, unique_name):
    name = unique_name("cli")
    appsync.create_graphql_api(name=name, authenticationType="API_KEY")
    out = aws_cli("appsync", "list-graphql-apis")
    assert name in [a["name"] for a in out["graphqlApis"]]


def test_api_and_resolvers_survive_a_kill_and_restart(tmp_path):
    from appsync_support import query as gql
    from conftest import OvercastProcess, make_client

    server = OvercastProcess(data_dir=str(tmp_path))
    try:
        appsync = make_client(server.endpoint, "appsync")
        api_id, key = create_api(appsync, "durable", "type Query { v: Int }")
        appsync.create_data_source(apiId=api_id, name="none", type="NONE")
        appsync.create_resolver(apiId=api_id, typeName="Query", fieldName="v", dataSourceName="none",
                                requestMappingTemplate='{"version": "2018-05-29", "payload": 7}',
                                responseMappingTemplate=RESULT_RESPONSE)
    finally:
        server.stop(kill=True)
    server = OvercastProcess(data_dir=str(tmp_path))
    try:
        assert gql(server.endpoint, api_id, key, "{ v }").json() == {"data": {"v": 7}}
    finally:
        server.stop()
