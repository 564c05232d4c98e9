"""API Gateway's control plane through boto3 and the AWS CLI: REST APIs, resources, methods,
integrations, deployments, stages, models, validators, authorizers, gateway responses, domain
names, tags, OpenAPI import and export, and AWS's errors."""

from __future__ import annotations

import json
import re

import pytest
from apigateway_support import Api
from botocore.exceptions import ClientError

ID = re.compile(r"^[a-z0-9]{10}$")


@pytest.fixture(scope="module")
def apigw(client):
    return client("apigateway")


def error(excinfo):
    e = excinfo.value.response
    return e["Error"]["Code"], e["Error"]["Message"], e["ResponseMetadata"]["HTTPStatusCode"]


def test_create_rest_api_returns_aws_shape(apigw):
    api = apigw.create_rest_api(name="shape", description="d", tags={"team": "x"})
    assert ID.match(api["id"])
    assert ID.match(api["rootResourceId"])
    assert api["name"] == "shape"
    assert api["apiKeySource"] == "HEADER"
    assert api["endpointConfiguration"] == {"types": ["EDGE"], "ipAddressType": "ipv4"}
    assert api["tags"] == {"team": "x"}
    assert api["createdDate"]
    assert api["ResponseMetadata"]["HTTPStatusCode"] == 201


def test_get_rest_api_unknown_answers_not_found(apigw):
    with pytest.raises(ClientError) as e:
        apigw.get_rest_api(restApiId="abcdefghij")
    assert error(e) == ("NotFoundException", "Invalid API identifier specified 000000000000:abcdefghij", 404)


def test_get_rest_apis_lists_and_pages(apigw):
    ids = {apigw.create_rest_api(name=f"page-{i}")["id"] for i in range(3)}
    listed = []
    position = None
    while True:
        kwargs = {"limit": 2, **({"position": position} if position else {})}
        page = apigw.get_rest_apis(**kwargs)
        listed += [a["id"] for a in page["items"]]
        position = page.get("position")
        if not position:
            break
    assert ids <= set(listed)


def test_update_rest_api_with_patch_operations(apigw):
    api = apigw.create_rest_api(name="patch-me")
    out = apigw.update_rest_api(restApiId=api["id"], patchOperations=[
        {"op": "replace", "path": "/name", "value": "patched"},
        {"op": "add", "path": "/binaryMediaTypes/image~1png"}])
    assert out["name"] == "patched"
    assert out["binaryMediaTypes"] == ["image/png"]


def test_delete_rest_api(apigw):
    api = apigw.create_rest_api(name="doomed")
    apigw.delete_rest_api(restApiId=api["id"])
    with pytest.raises(ClientError) as e:
        apigw.get_rest_api(restApiId=api["id"])
    assert error(e)[0] == "NotFoundException"


def test_new_api_has_default_empty_and_error_models(apigw):
    api = apigw.create_rest_api(name="models-default")
    assert sorted(m["name"] for m in apigw.get_models(restApiId=api["id"])["items"]) == ["Empty", "Error"]


def test_resources_tree_paths_and_sibling_conflict(apigw):
    api = apigw.create_rest_api(name="tree")
    a = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="users")
    b = apigw.create_resource(restApiId=api["id"], parentId=a["id"], pathPart="{userId}")
    c = apigw.create_resource(restApiId=api["id"], parentId=b["id"], pathPart="{proxy+}")
    assert (a["path"], b["path"], c["path"]) == ("/users", "/users/{userId}", "/users/{userId}/{proxy+}")
    with pytest.raises(ClientError) as e:
        apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="users")
    assert error(e)[0] == "ConflictException"
    with pytest.raises(ClientError) as e:
        apigw.create_resource(restApiId=api["id"], parentId=a["id"], pathPart="{other}")
    assert error(e)[0] == "BadRequestException"
    paths = [r["path"] for r in apigw.get_resources(restApiId=api["id"])["items"]]
    assert paths == ["/", "/users", "/users/{userId}", "/users/{userId}/{proxy+}"]


def test_delete_resource_removes_children(apigw):
    api = apigw.create_rest_api(name="tree-delete")
    a = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="a")
    apigw.create_resource(restApiId=api["id"], parentId=a["id"], pathPart="b")
    apigw.delete_resource(restApiId=api["id"], resourceId=a["id"])
    assert [r["path"] for r in apigw.get_resources(restApiId=api["id"])["items"]] == ["/"]


def test_method_integration_and_responses_round_trip(apigw, endpoint):
    api = Api(apigw, endpoint, "roundtrip")
    rid = api.resource("/r")
    apigw.put_method(restApiId=api.id, resourceId=rid, httpMethod="POST", authorizationType="NONE",
                     apiKeyRequired=True, requestParameters={"method.request.querystring.q": True})
    apigw.put_integration(restApiId=api.id, resourceId=rid, httpMethod="POST", type="HTTP",
                          integrationHttpMethod="GET", uri="http://example.com/{q}",
                          requestTemplates={"application/json": "{}"})
    apigw.put_method_response(restApiId=api.id, resourceId=rid, httpMethod="POST", statusCode="200",
                              responseModels={"application/json": "Empty"})
    apigw.put_integration_response(restApiId=api.id, resourceId=rid, httpMethod="POST", statusCode="200",
                                   selectionPattern="")
    method = apigw.get_method(restApiId=api.id, resourceId=rid, httpMethod="POST")
    assert method["apiKeyRequired"] is True
    assert method["requestParameters"] == {"method.request.querystring.q": True}
    assert method["methodIntegration"]["type"] == "HTTP"
    assert method["methodIntegration"]["timeoutInMillis"] == 29000
    assert method["methodIntegration"]["passthroughBehavior"] == "WHEN_NO_MATCH"
    assert method["methodIntegration"]["integrationResponses"]["200"]["statusCode"] == "200"
    assert method["methodResponses"]["200"]["responseModels"] == {"application/json": "Empty"}
    updated = apigw.update_method(restApiId=api.id, resourceId=rid, httpMethod="POST",
                                  patchOperations=[{"op": "replace", "path": "/apiKeyRequired", "value": "false"}])
    assert updated["apiKeyRequired"] is False


def test_put_method_twice_answers_conflict(apigw, endpoint):
    api = Api(apigw, endpoint, "method-twice")
    rid = api.resource("/m")
    apigw.put_method(restApiId=api.id, resourceId=rid, httpMethod="GET", authorizationType="NONE")
    with pytest.raises(ClientError) as e:
        apigw.put_method(restApiId=api.id, resourceId=rid, httpMethod="GET", authorizationType="NONE")
    assert error(e)[0] == "ConflictException"


def test_integration_timeout_out_of_range_answers_bad_request(apigw, endpoint):
    api = Api(apigw, endpoint, "timeout-range")
    rid = api.resource("/t")
    apigw.put_method(restApiId=api.id, resourceId=rid, httpMethod="GET", authorizationType="NONE")
    with pytest.raises(ClientError) as e:
        apigw.put_integration(restApiId=api.id, resourceId=rid, httpMethod="GET", type="MOCK", timeoutInMillis=40000)
    assert error(e)[0] == "BadRequestException"


def test_create_deployment_without_integration_answers_bad_request(apigw, endpoint):
    api = Api(apigw, endpoint, "no-integration")
    rid = api.resource("/x")
    apigw.put_method(restApiId=api.id, resourceId=rid, httpMethod="GET", authorizationType="NONE")
    with pytest.raises(ClientError) as e:
        apigw.create_deployment(restApiId=api.id, stageName="dev")
    assert error(e) == ("BadRequestException", "No integration defined for method", 400)


def test_create_deployment_without_methods_answers_bad_request(apigw):
    api = apigw.create_rest_api(name="empty-deploy")
    with pytest.raises(ClientError) as e:
        apigw.create_deployment(restApiId=api["id"], stageName="dev")
    assert error(e) == ("BadRequestException", "The REST API doesn't contain any methods", 400)


def test_deployments_and_stages_with_variables_and_method_settings(apigw, endpoint):
    api = Api(apigw, endpoint, "stages")
    api.mock("/s")
    d1 = apigw.create_deployment(restApiId=api.id, description="first")
    stage = apigw.create_stage(restApiId=api.id, stageName="beta", deploymentId=d1["id"], variables={"v": "1"})
    assert stage["deploymentId"] == d1["id"]
    assert stage["variables"] == {"v": "1"}
    updated = apigw.update_stage(restApiId=api.id, stageName="beta", patchOperations=[
        {"op": "replace", "path": "/variables/v", "value": "2"},
        {"op": "replace", "path": "/~1s/GET/throttling/rateLimit", "value": "5"}])
    assert updated["variables"] == {"v": "2"}
    assert updated["methodSettings"]["~1s/GET"]["throttlingRateLimit"] == 5.0
    assert [s["stageName"] for s in apigw.get_stages(restApiId=api.id)["item"]] == ["beta"]
    with pytest.raises(ClientError) as e:
        apigw.create_stage(restApiId=api.id, stageName="beta", deploymentId=d1["id"])
    assert error(e)[0] == "ConflictException"
    with pytest.raises(ClientError) as e:
        apigw.delete_deployment(restApiId=api.id, deploymentId=d1["id"])
    assert error(e)[0] == "BadRequestException"
    apigw.delete_stage(restApiId=api.id, stageName="beta")
    apigw.delete_deployment(restApiId=api.id, deploymentId=d1["id"])
    assert apigw.get_deployments(restApiId=api.id)["items"] == []


def test_models_validators_and_authorizers_crud(apigw):
    api = apigw.create_rest_api(name="crud")
    model = apigw.create_model(restApiId=api["id"], name="Pet", contentType="application/json",
                               schema='{"type": "object"}')
    assert apigw.get_model(restApiId=api["id"], modelName="Pet")["id"] == model["id"]
    with pytest.raises(ClientError) as e:
        apigw.create_model(restApiId=api["id"], name="Bad", contentType="application/json", schema="{nope")
    assert error(e)[0] == "BadRequestException"
    validator = apigw.create_request_validator(restApiId=api["id"], name="all", validateRequestBody=True,
                                               validateRequestParameters=True)
    assert apigw.get_request_validators(restApiId=api["id"])["items"][0]["id"] == validator["id"]
    authorizer = apigw.create_authorizer(restApiId=api["id"], name="a", type="TOKEN",
                                         authorizerUri="arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                                                       "arn:aws:lambda:us-east-1:000000000000:function:f/invocations",
                                         identitySource="method.request.header.Authorization")
    assert authorizer["authorizerResultTtlInSeconds"] == 300
    apigw.delete_authorizer(restApiId=api["id"], authorizerId=authorizer["id"])
    with pytest.raises(ClientError) as e:
        apigw.get_authorizer(restApiId=api["id"], authorizerId=authorizer["id"])
    assert error(e)[0] == "NotFoundException"


def test_gateway_responses_list_defaults_and_customizations(apigw):
    api = apigw.create_rest_api(name="gwr")
    items = {r["responseType"]: r for r in apigw.get_gateway_responses(restApiId=api["id"])["items"]}
    assert items["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == "403"
    assert items["MISSING_AUTHENTICATION_TOKEN"]["defaultResponse"] is True
    apigw.put_gateway_response(restApiId=api["id"], responseType="THROTTLED", statusCode="503")
    got = apigw.get_gateway_response(restApiId=api["id"], responseType="THROTTLED")
    assert got["statusCode"] == "503"
    assert got["defaultResponse"] is False


def test_domain_names_and_base_path_mappings(apigw, endpoint, unique_name):
    api = Api(apigw, endpoint, "domains")
    api.mock("/d")
    api.deploy("live")
    name = f"{unique_name('api')}.example.com"
    domain = apigw.create_domain_name(domainName=name, regionalCertificateArn="arn:aws:acm:us-east-1:000000000000:certificate/x",
                                      endpointConfiguration={"types": ["REGIONAL"]})
    assert domain["regionalDomainName"].endswith(".amazonaws.com")
    mapping = apigw.create_base_path_mapping(domainName=name, restApiId=api.id, stage="live", basePath="v1")
    assert mapping == {**mapping, "basePath": "v1", "restApiId": api.id, "stage": "live"}
    assert [m["basePath"] for m in apigw.get_base_path_mappings(domainName=name)["items"]] == ["v1"]
    apigw.delete_domain_name(domainName=name)
    with pytest.raises(ClientError) as e:
        apigw.get_domain_name(domainName=name)
    assert error(e)[0] == "NotFoundException"


def test_tags_on_rest_api_by_arn(apigw):
    api = apigw.create_rest_api(name="tags")
    arn = f"arn:aws:apigateway:us-east-1::/restapis/{api['id']}"
    apigw.tag_resource(resourceArn=arn, tags={"a": "1", "b": "2"})
    apigw.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert apigw.get_tags(resourceArn=arn)["tags"] == {"b": "2"}


OPENAPI = {
    "openapi": "3.0.1",
    "info": {"title": "Pet Store", "version": "2.1"},
    "paths": {
        "/pets": {
            "get": {
                "operationId": "listPets",
                "parameters": [{"name": "limit", "in": "query", "required": False, "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pets"}}}}},
                "x-amazon-apigateway-integration": {
                    "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
                    "responses": {"default": {"statusCode": "200",
                                              "responseTemplates": {"application/json": '[{"id": 1, "name": "rex"}]'}}},
                },
            },
            "post": {
                "security": [{"api_key": []}],
                "x-amazon-apigateway-request-validator": "body-only",
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewPet"}}}},
                "responses": {"201": {"description": "created"}},
                "x-amazon-apigateway-integration": {
                    "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 201}'},
                    "responses": {"default": {"statusCode": "201", "responseTemplates": {"application/json": '{"created": true}'}}},
                },
            },
        },
        "/pets/{petId}": {
            "get": {
                "parameters": [{"name": "petId", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": {
                    "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
                    "responses": {"default": {"statusCode": "200",
                                              "responseTemplates": {"application/json": '{"id": "$input.params(\'petId\')"}'}}},
                },
            },
        },
    },
    "components": {
        "schemas": {
            "NewPet": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"},
                                                                              "tag": {"$ref": "#/components/schemas/Tag"}}},
            "Tag": {"type": "string", "enum": ["dog", "cat"]},
            "Pets": {"type": "array", "items": {"type": "object"}},
        },
        "securitySchemes": {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}},
    },
    "x-amazon-apigateway-request-validators": {"body-only": {"validateRequestBody": True, "validateRequestParameters": False}},
    "x-amazon-apigateway-gateway-responses": {
        "DEFAULT_4XX": {"responseParameters": {"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"}},
    },
}


def test_import_openapi_builds_a_working_api(apigw, endpoint):
    imported = apigw.import_rest_api(body=json.dumps(OPENAPI).encode())
    assert imported["name"] == "Pet Store"
    assert imported["version"] == "2.1"
    api_id = imported["id"]
    paths = sorted(r["path"] for r in apigw.get_resources(restApiId=api_id)["items"])
    assert paths == ["/", "/pets", "/pets/{petId}"]
    apigw.create_deployment(restApiId=api_id, stageName="v1")
    import httpx

    base = f"{endpoint}/_aws/execute-api/{api_id}/v1"
    assert httpx.get(f"{base}/pets").json() == [{"id": 1, "name": "rex"}]
    assert httpx.get(f"{base}/pets/p9").json() == {"id": "p9"}
    denied = httpx.post(f"{base}/pets", json={"name": "x"})
    assert denied.status_code == 403
    assert denied.headers["access-control-allow-origin"] == "*"
    key = apigw.create_api_key(name="petkey", enabled=True)
    plan = apigw.create_usage_plan(name="petplan", apiStages=[{"apiId": api_id, "stage": "v1"}])
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    h = {"x-api-key": key["value"]}
    assert httpx.post(f"{base}/pets", json={"name": "x", "tag": "bird"}, headers=h).status_code == 400
    created = httpx.post(f"{base}/pets", json={"name": "x", "tag": "dog"}, headers=h)
    assert created.status_code == 201
    assert created.json() == {"created": True}


def test_import_invalid_openapi_answers_bad_request(apigw):
    with pytest.raises(ClientError) as e:
        apigw.import_rest_api(body=b"this is not an api definition")
    assert error(e)[:1] == ("BadRequestException",)
    with pytest.raises(ClientError) as e:
        apigw.import_rest_api(body=json.dumps({"info": {"title": "x"}}).encode())
    assert error(e)[0] == "BadRequestException"


def test_import_swagger_2_with_yaml(apigw):
    body = b"""swagger: "2.0"
info: {title: Yaml API, version: "1"}
paths:
  /ping:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses: {default: {statusCode: "200"}}
"""
    imported = apigw.import_rest_api(body=body)
    assert imported["name"] == "Yaml API"
    resources = apigw.get_resources(restApiId=imported["id"], embed=["methods"])["items"]
    ping = next(r for r in resources if r["path"] == "/ping")
    assert ping["resourceMethods"]["GET"]["methodIntegration"]["type"] == "MOCK"


def test_put_rest_api_overwrite_replaces_definition(apigw):
    imported = apigw.import_rest_api(body=json.dumps(OPENAPI).encode())
    replacement = {"openapi": "3.0.1", "info": {"title": "Smaller", "version": "1"},
                   "paths": {"/only": {"get": {"responses": {"200": {"description": "ok"}},
                                               "x-amazon-apigateway-integration": {"type": "mock"}}}}}
    out = apigw.put_rest_api(restApiId=imported["id"], mode="overwrite", body=json.dumps(replacement).encode())
    assert out["name"] == "Smaller"
    paths = sorted(r["path"] for r in apigw.get_resources(restApiId=imported["id"])["items"])
    assert paths == ["/", "/only"]


def test_get_export_returns_openapi_with_integrations(apigw):
    imported = apigw.import_rest_api(body=json.dumps(OPENAPI).encode())
    apigw.create_deployment(restApiId=imported["id"], stageName="exp")
    exported = apigw.get_export(restApiId=imported["id"], stageName="exp", exportType="oas30",
                                parameters={"extensions": "integrations"}, accepts="application/json")
    doc = json.loads(exported["body"].read())
    assert doc["openapi"] == "3.0.1"
    assert set(doc["paths"]) == {"/pets", "/pets/{petId}"}
    assert doc["paths"]["/pets"]["get"]["x-amazon-apigateway-integration"]["type"] == "mock"
    assert doc["paths"]["/pets"]["post"]["security"] == [{"api_key": []}]
    assert doc["components"]["schemas"]["NewPet"]["properties"]["tag"] == {"$ref": "#/components/schemas/Tag"}
    swagger = json.loads(apigw.get_export(restApiId=imported["id"], stageName="exp", exportType="swagger")["body"].read())
    assert swagger["swagger"] == "2.0"
    assert swagger["basePath"] == "/exp"


def test_cli_creates_and_lists_rest_apis(aws_cli):
    created = aws_cli("apigateway", "create-rest-api", "--name", "from-cli")
    assert ID.match(created["id"])
    listed = aws_cli("apigateway", "get-rest-apis")
    assert created["id"] in [a["id"] for a in listed["items"]]
    resources = aws_cli("apigateway", "get-resources", "--rest-api-id", created["id"])
    assert resources["items"][0]["path"] == "/"


def test_test_invoke_method_runs_the_undeployed_definition(apigw, endpoint):
    api = Api(apigw, endpoint, "test-invoke")
    rid = api.mock("/things/{id}", template='{"id": "$input.params(\'id\')", "v": "$stageVariables.v"}')
    out = apigw.test_invoke_method(restApiId=api.id, resourceId=rid, httpMethod="GET",
                                   pathWithQueryString="/things/t7", stageVariables={"v": "x"})
    assert out["status"] == 200
    assert json.loads(out["body"]) == {"id": "t7", "v": "x"}
    assert out["headers"]["Content-Type"] == "application/json"


def test_import_api_keys_from_csv(apigw):
    out = apigw.import_api_keys(body=b"name,key,enabled\nimported-one,imported-key-value-000000001,true\n",
                                format="csv")
    assert len(out["ids"]) == 1
    key = apigw.get_api_key(apiKey=out["ids"][0], includeValue=True)
    assert (key["name"], key["value"], key["enabled"]) == ("imported-one", "imported-key-value-000000001", True)


def test_deployed_api_and_usage_survive_a_restart(tmp_path):
    import httpx
    from conftest import OvercastProcess, make_client

    server = OvercastProcess(data_dir=str(tmp_path))
    try:
        apigw = make_client(server.endpoint, "apigateway")
        api = Api(apigw, server.endpoint, "durable")
        api.mock("/keep", template='{"kept": true}', apiKeyRequired=True)
        api.deploy("prod")
        key = apigw.create_api_key(name="durable", enabled=True)
        plan = apigw.create_usage_plan(name="durable", apiStages=[{"apiId": api.id, "stage": "prod"}],
                                       quota={"limit": 10, "period": "DAY"})
        apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
        assert api.call("GET", "/keep", headers={"x-api-key": key["value"]}).status_code == 200
    finally:
        server.stop(kill=True)
    server = OvercastProcess(data_dir=str(tmp_path))
    try:
        url = f"{server.endpoint}/_aws/execute-api/{api.id}/prod/keep"
        assert httpx.get(url, headers={"x-api-key": key["value"]}).json() == {"kept": True}
        apigw = make_client(server.endpoint, "apigateway")
        from datetime import UTC, datetime

        today = datetime.now(UTC).date().isoformat()
        usage = apigw.get_usage(usagePlanId=plan["id"], startDate=today, endDate=today)
        assert usage["items"][key["id"]] == [[2, 8]]
    finally:
        server.stop()


def test_import_api_keys_that_are_not_utf8_is_bad_request(apigw):
    with pytest.raises(ClientError) as excinfo:
        apigw.import_api_keys(body=b"name,key\n\xff\xfe,abc\n", format="csv")
    assert excinfo.value.response["Error"]["Code"] == "BadRequestException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_untagged_api_answers_no_tags_until_updated(apigw):
    # AWS leaves tags out of an untagged API's CreateRestApi and GetRestApis answers, and answers
    # tags: {} once UpdateRestApi has touched it
    api = apigw.create_rest_api(name="untagged")
    assert "tags" not in api
    assert "tags" not in next(a for a in apigw.get_rest_apis(limit=500)["items"] if a["id"] == api["id"])
    updated = apigw.update_rest_api(restApiId=api["id"], patchOperations=[
        {"op": "replace", "path": "/description", "value": "d"}])
    assert updated["tags"] == {}


def test_endpoint_configuration_answers_its_ip_address_type(apigw):
    assert apigw.create_rest_api(name="regional", endpointConfiguration={"types": ["REGIONAL"]})[
        "endpointConfiguration"] == {"types": ["REGIONAL"], "ipAddressType": "ipv4"}
    assert apigw.create_rest_api(name="private", endpointConfiguration={"types": ["PRIVATE"]})[
        "endpointConfiguration"] == {"types": ["PRIVATE"], "ipAddressType": "dualstack"}
    assert apigw.create_rest_api(name="dual", endpointConfiguration={"types": ["REGIONAL"],
                                                                    "ipAddressType": "dualstack"})[
        "endpointConfiguration"]["ipAddressType"] == "dualstack"
    with pytest.raises(ClientError) as e:
        apigw.create_rest_api(name="bad", endpointConfiguration={"types": ["NOPE"]})
    assert error(e)[0] == "ValidationException"  # the enum of endpointConfiguration.types


def test_get_rest_apis_lists_in_creation_order(apigw):
    ids = [apigw.create_rest_api(name=f"order-{i}")["id"] for i in range(3)]
    listed = [a["id"] for a in apigw.get_rest_apis(limit=500)["items"] if a["id"] in ids]
    assert listed == ids


def test_unknown_api_errors_name_what_aws_names(apigw):
    api = apigw.create_rest_api(name="errors")
    for call in (lambda: apigw.get_authorizers(restApiId="nosuchapi1"),
                 lambda: apigw.get_request_validators(restApiId="nosuchapi1"),
                 lambda: apigw.update_rest_api(restApiId="nosuchapi1", patchOperations=[])):
        with pytest.raises(ClientError) as e:
            call()
        assert error(e) == ("NotFoundException", "Invalid API identifier specified 000000000000:nosuchapi1", 404)
    # a call addressing an object of the API says that object is unknown
    with pytest.raises(ClientError) as e:
        apigw.get_method(restApiId="nosuchapi1", resourceId=api["rootResourceId"], httpMethod="GET")
    assert error(e) == ("NotFoundException", "Invalid Resource identifier specified", 404)
    with pytest.raises(ClientError) as e:
        apigw.get_request_validator(restApiId="nosuchapi1", requestValidatorId="abc123")
    assert error(e) == ("NotFoundException", "Invalid Request Validator identifier specified", 404)
    with pytest.raises(ClientError) as e:
        apigw.create_request_validator(restApiId="nosuchapi1", name="v")
    assert error(e) == ("BadRequestException", "Invalid REST API identifier specified", 400)


def test_greedy_resource_child_error_names_the_variable(apigw):
    api = apigw.create_rest_api(name="greedy")
    proxy = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="{proxy+}")
    with pytest.raises(ClientError) as e:
        apigw.create_resource(restApiId=api["id"], parentId=proxy["id"], pathPart="child")
    assert error(e) == ("BadRequestException",
                        "Cannot create a child of a resource with a greedy path variable: {proxy+}", 400)


def test_deployment_answers_api_summary_only_when_embedded(apigw):
    api = apigw.create_rest_api(name="summary")
    apigw.put_method(restApiId=api["id"], resourceId=api["rootResourceId"], httpMethod="GET",
                     authorizationType="NONE")
    apigw.put_integration(restApiId=api["id"], resourceId=api["rootResourceId"], httpMethod="GET", type="MOCK")
    deployment = apigw.create_deployment(restApiId=api["id"])
    assert "apiSummary" not in deployment
    assert "apiSummary" not in apigw.get_deployment(restApiId=api["id"], deploymentId=deployment["id"])
    assert "apiSummary" not in apigw.get_deployments(restApiId=api["id"])["items"][0]
    embedded = apigw.get_deployment(restApiId=api["id"], deploymentId=deployment["id"], embed=["apisummary"])
    assert embedded["apiSummary"] == {"/": {"GET": {"authorizationType": "NONE", "apiKeyRequired": False}}}


def test_untagged_stage_and_emptied_maps_are_left_out(apigw):
    api = apigw.create_rest_api(name="empties")
    root = api["rootResourceId"]
    apigw.put_method(restApiId=api["id"], resourceId=root, httpMethod="GET", authorizationType="NONE",
                     requestParameters={"method.request.querystring.q": False})
    apigw.put_integration(restApiId=api["id"], resourceId=root, httpMethod="GET", type="MOCK")
    apigw.put_method_response(restApiId=api["id"], resourceId=root, httpMethod="GET", statusCode="200",
                              responseModels={"application/json": "Empty"})
    deployment = apigw.create_deployment(restApiId=api["id"])
    stage = apigw.create_stage(restApiId=api["id"], stageName="dev", deploymentId=deployment["id"])
    assert "tags" not in stage
    assert "tags" not in apigw.get_stages(restApiId=api["id"])["item"][0]
    tagged = apigw.create_stage(restApiId=api["id"], stageName="prod", deploymentId=deployment["id"],
                                tags={"a": "1"})
    assert tagged["tags"] == {"a": "1"}
    method = apigw.update_method(restApiId=api["id"], resourceId=root, httpMethod="GET", patchOperations=[
        {"op": "remove", "path": "/requestParameters/method.request.querystring.q"}])
    assert "requestParameters" not in method
    response = apigw.update_method_response(restApiId=api["id"], resourceId=root, httpMethod="GET",
                                            statusCode="200", patchOperations=[
                                                {"op": "remove", "path": "/responseModels/application~1json"}])
    assert "responseModels" not in response


def test_validation_errors_name_the_input_and_list_enums_in_aws_order(apigw):
    # API Gateway names a body member from the operation's input, a URI member by itself, and
    # lists these enums in its own order
    api = apigw.create_rest_api(name="validation")
    root = api["rootResourceId"]
    apigw.put_method(restApiId=api["id"], resourceId=root, httpMethod="GET", authorizationType="NONE")
    with pytest.raises(ClientError) as e:
        apigw.put_integration(restApiId=api["id"], resourceId=root, httpMethod="GET", type="HTTPS_PROXY")
    assert error(e) == ("ValidationException", "1 validation error detected: Value 'HTTPS_PROXY' at "
                        "'putIntegrationInput.type' failed to satisfy constraint: Member must satisfy enum value "
                        "set: [HTTP, MOCK, AWS_PROXY, HTTP_PROXY, AWS]", 400)
    with pytest.raises(ClientError) as e:
        apigw.update_method_response(restApiId=api["id"], resourceId=root, httpMethod="GET", statusCode="wrong",
                                     patchOperations=[{"op": "wrong_op", "path": "/x"}])
    assert error(e)[2] == 400
    assert error(e)[1] == (
        "2 validation errors detected: Value 'wrong_op' at 'updateMethodResponseInput.patchOperations.1.member.op' "
        "failed to satisfy constraint: Member must satisfy enum value set: [add, remove, move, test, replace, copy]; "
        "Value 'wrong' at 'statusCode' failed to satisfy constraint: Member must satisfy regular expression "
        "pattern: [1-5]\\d\\d")
    with pytest.raises(ClientError) as e:
        apigw.get_gateway_response(restApiId=api["id"], responseType="FAKE")
    assert error(e)[1].startswith("1 validation error detected: Value 'FAKE' at 'responseType' failed to satisfy "
                                  "constraint: Member must satisfy enum value set: [REQUEST_TOO_LARGE, "
                                  "RESOURCE_NOT_FOUND, ")


def test_root_resource_keeps_its_path_part_and_parent(apigw):
    api = apigw.create_rest_api(name="root-update")
    root = api["rootResourceId"]
    for path, value, key in (("/pathPart", "dogs", "pathPart"), ("/parentId", root, "parentId")):
        with pytest.raises(ClientError) as e:
            apigw.update_resource(restApiId=api["id"], resourceId=root,
                                  patchOperations=[{"op": "replace", "path": path, "value": value}])
        assert error(e) == ("BadRequestException", f"Root resource cannot update its {key}.", 400)
    assert apigw.get_resource(restApiId=api["id"], resourceId=root)["path"] == "/"


def test_model_with_empty_description_answers_none(apigw):
    api = apigw.create_rest_api(name="model-desc")
    model = apigw.create_model(restApiId=api["id"], name="M", contentType="application/json", description="",
                               schema=json.dumps({"type": "object"}))
    assert "description" not in model


def test_put_method_takes_the_authorization_type_in_any_case(apigw):
    api = apigw.create_rest_api(name="auth-case")
    method = apigw.put_method(restApiId=api["id"], resourceId=api["rootResourceId"], httpMethod="GET",
                              authorizationType="none")
    assert method["authorizationType"] == "NONE"
    with pytest.raises(ClientError) as e:
        apigw.put_method(restApiId=api["id"], resourceId=api["rootResourceId"], httpMethod="POST",
                         authorizationType="SOMETHING")
    assert error(e) == ("BadRequestException", "Invalid authorization type specified. Valid options are "
                        "NONE,AWS_IAM,CUSTOM,COGNITO_USER_POOLS", 400)


def test_model_errors_as_aws_answers_them(apigw):
    api = apigw.create_rest_api(name="model-errors")
    schema = json.dumps({"title": "MySchema", "type": "object"})
    for kwargs, message in (({"name": ""}, "Model name must be non-empty"),
                            ({"name": "NoSchema", "schema": None},
                             "Model schema must have at least 1 property or array items defined")):
        args = {"restApiId": api["id"], "contentType": "application/json", "name": "M", "schema": schema, **kwargs}
        with pytest.raises(ClientError) as e:
            apigw.create_model(**{k: v for k, v in args.items() if v is not None})
        assert error(e) == ("BadRequestException", message, 400)
    # an unknown API is answered as an unknown model
    with pytest.raises(ClientError) as e:
        apigw.get_model(restApiId="nosuchapi1", modelName="MySchema")
    assert error(e) == ("NotFoundException", "Invalid model name specified: MySchema", 404)
    apigw.create_model(restApiId=api["id"], name="MySchema", contentType="application/json", schema=schema,
                       description="d")
    bad_ops = ((({"op": "add", "path": "/wrong-path", "value": "x"}),
                "Invalid patch path  '/wrong-path' specified for op 'add'. Please choose supported operations"),
               (({"op": "replace", "path": "/name", "value": "x"}),
                "Invalid patch path  '/name' specified for op 'replace'. Must be one of: [/description, /schema]"),
               (({"op": "replace", "path": "/schema", "value": ""}),
                "Model schema must have at least 1 property or array items defined"))
    for op, message in bad_ops:
        with pytest.raises(ClientError) as e:
            apigw.update_model(restApiId=api["id"], modelName="MySchema", patchOperations=[op])
        assert error(e) == ("BadRequestException", message, 400)
    updated = apigw.update_model(restApiId=api["id"], modelName="MySchema", patchOperations=[
        {"op": "replace", "path": "/description", "value": ""},
        {"op": "replace", "path": "/schema", "value": json.dumps({"type": "object", "title": "New"})}])
    assert "description" not in updated and json.loads(updated["schema"])["title"] == "New"


def test_create_rest_api_optional_params_as_aws_checks_them(apigw):
    with pytest.raises(ClientError) as e:
        apigw.create_rest_api(name="empty-desc", description="")
    assert error(e) == ("BadRequestException", "Description cannot be an empty string", 400)
    with pytest.raises(ClientError) as e:
        apigw.create_rest_api(name="neg-size", minimumCompressionSize=-1)
    assert error(e) == ("BadRequestException", "Invalid minimum compression size, must be between 0 and 10485760",
                        400)
    api = apigw.create_rest_api(name="empty-media", binaryMediaTypes=[], minimumCompressionSize=0)
    assert "binaryMediaTypes" not in api
    assert api["minimumCompressionSize"] == 0


def test_stage_canary_settings_answer_aws_defaults(apigw):
    api = apigw.create_rest_api(name="canary")
    apigw.put_method(restApiId=api["id"], resourceId=api["rootResourceId"], httpMethod="GET",
                     authorizationType="NONE")
    apigw.put_integration(restApiId=api["id"], resourceId=api["rootResourceId"], httpMethod="GET", type="MOCK")
    deployment = apigw.create_deployment(restApiId=api["id"])["id"]
    stage = apigw.create_stage(restApiId=api["id"], stageName="dev", deploymentId=deployment,
                               canarySettings={"deploymentId": deployment, "percentTraffic": 50,
                                               "stageVariableOverrides": {"v": "c"}})
    assert stage["canarySettings"] == {"deploymentId": deployment, "percentTraffic": 50.0,
                                       "stageVariableOverrides": {"v": "c"}, "useStageCache": False}
    plain = apigw.create_stage(restApiId=api["id"], stageName="prod", deploymentId=deployment)
    assert "canarySettings" not in plain


def test_integration_connection_type_only_for_http_integrations(apigw):
    api = apigw.create_rest_api(name="conn-type")
    root = api["rootResourceId"]
    for verb in ("GET", "POST"):
        apigw.put_method(restApiId=api["id"], resourceId=root, httpMethod=verb, authorizationType="NONE")
    mock = apigw.put_integration(restApiId=api["id"], resourceId=root, httpMethod="GET", type="MOCK")
    assert "connectionType" not in mock
    assert "connectionType" not in apigw.get_method(restApiId=api["id"], resourceId=root,
                                                    httpMethod="GET")["methodIntegration"]
    http = apigw.put_integration(restApiId=api["id"], resourceId=root, httpMethod="POST", type="HTTP",
                                 integrationHttpMethod="POST", uri="http://example.com")
    assert http["connectionType"] == "INTERNET"


def test_integration_cache_namespace_defaults_to_the_resource_id(apigw):
    # AWS's recorded answers: an integration's cacheNamespace is its resource's id unless given
    api = apigw.create_rest_api(name="cache-ns")
    root = api["rootResourceId"]
    apigw.put_method(restApiId=api["id"], resourceId=root, httpMethod="GET", authorizationType="NONE")
    assert apigw.put_integration(restApiId=api["id"], resourceId=root, httpMethod="GET",
                                 type="MOCK")["cacheNamespace"] == root
    assert apigw.put_integration(restApiId=api["id"], resourceId=root, httpMethod="GET", type="MOCK",
                                 cacheNamespace="mine")["cacheNamespace"] == "mine"
