"""API Gateway v2 control plane through boto3 and the AWS CLI."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

LAMBDA_ARN = "arn:aws:lambda:us-east-1:000000000000:function:nothing"


@pytest.fixture(scope="module")
def gw(client):
    return client("apigatewayv2")


def _code(error: pytest.ExceptionInfo) -> tuple[str, int]:
    response = error.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_create_http_api_returns_execute_api_endpoint(gw, endpoint):
    api = gw.create_api(Name="a", ProtocolType="HTTP")
    port = endpoint.rsplit(":", 1)[1]
    assert api["ApiEndpoint"] == f"http://{api['ApiId']}.execute-api.localhost.localstack.cloud:{port}"
    assert api["RouteSelectionExpression"] == "${request.method} ${request.path}"
    assert api["ApiKeySelectionExpression"] == "$request.header.x-api-key"
    assert len(api["ApiId"]) == 10


def test_create_websocket_api_returns_ws_endpoint(gw):
    api = gw.create_api(Name="w", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action")
    assert api["ApiEndpoint"].startswith(f"ws://{api['ApiId']}.execute-api.localhost.localstack.cloud:")


def test_websocket_api_requires_route_selection_expression(gw):
    with pytest.raises(ClientError) as error:
        gw.create_api(Name="w", ProtocolType="WEBSOCKET")
    assert _code(error) == ("BadRequestException", 400)


def test_get_missing_api_is_not_found(gw):
    with pytest.raises(ClientError) as error:
        gw.get_api(ApiId="nope123456")
    assert _code(error) == ("NotFoundException", 404)


def test_quick_create_makes_route_integration_and_default_stage(gw):
    api = gw.create_api(Name="q", ProtocolType="HTTP", Target=LAMBDA_ARN, RouteKey="GET /items")
    routes = gw.get_routes(ApiId=api["ApiId"])["Items"]
    assert [r["RouteKey"] for r in routes] == ["GET /items"]
    integration = gw.get_integration(ApiId=api["ApiId"], IntegrationId=routes[0]["Target"].split("/")[1])
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["PayloadFormatVersion"] == "2.0"
    stage = gw.get_stage(ApiId=api["ApiId"], StageName="$default")
    assert stage["AutoDeploy"] is True and stage["ApiGatewayManaged"] is True


def test_update_and_delete_api(gw):
    api = gw.create_api(Name="u", ProtocolType="HTTP")
    updated = gw.update_api(ApiId=api["ApiId"], Name="renamed", Description="d")
    assert updated["Name"] == "renamed" and updated["Description"] == "d"
    assert api["ApiId"] in [a["ApiId"] for a in gw.get_apis()["Items"]]
    gw.delete_api(ApiId=api["ApiId"])
    with pytest.raises(ClientError):
        gw.get_api(ApiId=api["ApiId"])


def test_route_crud_and_duplicate_key_conflicts(gw):
    api_id = gw.create_api(Name="r", ProtocolType="HTTP")["ApiId"]
    route = gw.create_route(ApiId=api_id, RouteKey="GET /pets/{id}")
    assert gw.get_route(ApiId=api_id, RouteId=route["RouteId"])["RouteKey"] == "GET /pets/{id}"
    with pytest.raises(ClientError) as error:
        gw.create_route(ApiId=api_id, RouteKey="GET /pets/{id}")
    assert _code(error) == ("ConflictException", 409)
    gw.update_route(ApiId=api_id, RouteId=route["RouteId"], RouteKey="POST /pets")
    assert gw.get_route(ApiId=api_id, RouteId=route["RouteId"])["RouteKey"] == "POST /pets"
    gw.delete_route(ApiId=api_id, RouteId=route["RouteId"])
    assert gw.get_routes(ApiId=api_id)["Items"] == []


def test_http_route_key_must_have_method_and_path(gw):
    api_id = gw.create_api(Name="r", ProtocolType="HTTP")["ApiId"]
    with pytest.raises(ClientError) as error:
        gw.create_route(ApiId=api_id, RouteKey="pets")
    assert _code(error) == ("BadRequestException", 400)


def test_route_target_must_name_an_integration(gw):
    api_id = gw.create_api(Name="r", ProtocolType="HTTP")["ApiId"]
    with pytest.raises(ClientError) as error:
        gw.create_route(ApiId=api_id, RouteKey="GET /x", Target="integrations/missing")
    assert _code(error) == ("BadRequestException", 400)


def test_integration_types_are_checked_per_protocol(gw):
    http_id = gw.create_api(Name="i", ProtocolType="HTTP")["ApiId"]
    with pytest.raises(ClientError) as error:
        gw.create_integration(ApiId=http_id, IntegrationType="MOCK")
    assert _code(error) == ("BadRequestException", 400)
    ws_id = gw.create_api(Name="i", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action")["ApiId"]
    mock = gw.create_integration(ApiId=ws_id, IntegrationType="MOCK")
    assert mock["IntegrationType"] == "MOCK"


def test_sqs_service_integration_is_stored_with_subtype(gw):
    api_id = gw.create_api(Name="s", ProtocolType="HTTP")["ApiId"]
    integration = gw.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationSubtype="SQS-SendMessage", PayloadFormatVersion="1.0",
        CredentialsArn="arn:aws:iam::000000000000:role/r",
        RequestParameters={"QueueUrl": "$request.header.queue", "MessageBody": "$request.body"})
    assert integration["IntegrationSubtype"] == "SQS-SendMessage"
    assert integration["RequestParameters"]["QueueUrl"] == "$request.header.queue"


def test_unknown_integration_subtype_is_bad_request(gw):
    api_id = gw.create_api(Name="s", ProtocolType="HTTP")["ApiId"]
    with pytest.raises(ClientError) as error:
        gw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationSubtype="AppConfig-GetConfiguration",
                              PayloadFormatVersion="1.0", RequestParameters={"Application": "x"})
    assert _code(error) == ("BadRequestException", 400)


def test_stage_crud_with_variables_and_route_settings(gw):
    api_id = gw.create_api(Name="st", ProtocolType="HTTP")["ApiId"]
    gw.create_stage(ApiId=api_id, StageName="dev", StageVariables={"v": "1"},
                    RouteSettings={"GET /x": {"ThrottlingBurstLimit": 1, "ThrottlingRateLimit": 1.0}})
    stage = gw.get_stage(ApiId=api_id, StageName="dev")
    assert stage["StageVariables"] == {"v": "1"}
    assert stage["RouteSettings"]["GET /x"]["ThrottlingBurstLimit"] == 1
    with pytest.raises(ClientError) as error:
        gw.create_stage(ApiId=api_id, StageName="dev")
    assert _code(error) == ("ConflictException", 409)
    gw.update_stage(ApiId=api_id, StageName="dev", StageVariables={"v": "2"})
    assert gw.get_stage(ApiId=api_id, StageName="dev")["StageVariables"] == {"v": "2"}
    gw.delete_route_settings(ApiId=api_id, StageName="dev", RouteKey="GET /x")
    gw.delete_stage(ApiId=api_id, StageName="dev")
    assert gw.get_stages(ApiId=api_id)["Items"] == []


def test_deployment_to_stage(gw):
    api_id = gw.create_api(Name="d", ProtocolType="HTTP")["ApiId"]
    gw.create_route(ApiId=api_id, RouteKey="GET /x")
    gw.create_stage(ApiId=api_id, StageName="v1")
    deployment = gw.create_deployment(ApiId=api_id, StageName="v1", Description="first")
    assert deployment["DeploymentStatus"] == "DEPLOYED"
    assert gw.get_stage(ApiId=api_id, StageName="v1")["DeploymentId"] == deployment["DeploymentId"]
    assert [d["DeploymentId"] for d in gw.get_deployments(ApiId=api_id)["Items"]] == [deployment["DeploymentId"]]
    with pytest.raises(ClientError) as error:
        gw.delete_deployment(ApiId=api_id, DeploymentId=deployment["DeploymentId"])
    assert _code(error) == ("BadRequestException", 400)


def test_jwt_authorizer_requires_issuer(gw):
    api_id = gw.create_api(Name="a", ProtocolType="HTTP")["ApiId"]
    with pytest.raises(ClientError) as error:
        gw.create_authorizer(ApiId=api_id, Name="j", AuthorizerType="JWT", IdentitySource=["$request.header.Authorization"],
                             JwtConfiguration={"Audience": ["x"]})
    assert _code(error) == ("BadRequestException", 400)
    authorizer = gw.create_authorizer(ApiId=api_id, Name="j", AuthorizerType="JWT",
                                      IdentitySource=["$request.header.Authorization"],
                                      JwtConfiguration={"Audience": ["x"], "Issuer": "http://issuer"})
    assert gw.get_authorizer(ApiId=api_id, AuthorizerId=authorizer["AuthorizerId"])["JwtConfiguration"]["Issuer"] == "http://issuer"


def test_models_and_route_responses(gw):
    api_id = gw.create_api(Name="m", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action")["ApiId"]
    model = gw.create_model(ApiId=api_id, Name="M", Schema=json.dumps({"type": "object"}))
    assert gw.get_model(ApiId=api_id, ModelId=model["ModelId"])["Name"] == "M"
    route = gw.create_route(ApiId=api_id, RouteKey="send")
    response = gw.create_route_response(ApiId=api_id, RouteId=route["RouteId"], RouteResponseKey="$default")
    items = gw.get_route_responses(ApiId=api_id, RouteId=route["RouteId"])["Items"]
    assert [r["RouteResponseId"] for r in items] == [response["RouteResponseId"]]


def test_domain_name_and_api_mapping(gw, unique_name):
    api_id = gw.create_api(Name="dn", ProtocolType="HTTP", Target=LAMBDA_ARN)["ApiId"]
    name = f"{unique_name('api')}.example.com"
    domain = gw.create_domain_name(DomainName=name, DomainNameConfigurations=[{"CertificateArn": "arn:aws:acm:us-east-1:000000000000:certificate/x"}])
    assert domain["DomainName"] == name
    mapping = gw.create_api_mapping(DomainName=name, ApiId=api_id, Stage="$default", ApiMappingKey="v1")
    assert gw.get_api_mappings(DomainName=name)["Items"][0]["ApiMappingId"] == mapping["ApiMappingId"]
    with pytest.raises(ClientError) as error:
        gw.create_domain_name(DomainName=name)
    assert _code(error) == ("ConflictException", 409)
    gw.delete_api_mapping(DomainName=name, ApiMappingId=mapping["ApiMappingId"])
    gw.delete_domain_name(DomainName=name)
    with pytest.raises(ClientError) as error:
        gw.get_domain_name(DomainName=name)
    assert _code(error) == ("NotFoundException", 404)


def test_tags_on_api(gw):
    api = gw.create_api(Name="t", ProtocolType="HTTP", Tags={"a": "1"})
    arn = f"arn:aws:apigateway:us-east-1::/apis/{api['ApiId']}"
    assert api["Tags"] == {"a": "1"}
    gw.tag_resource(ResourceArn=arn, Tags={"b": "2"})
    assert gw.get_tags(ResourceArn=arn)["Tags"] == {"a": "1", "b": "2"}
    gw.untag_resource(ResourceArn=arn, TagKeys=["a"])
    assert gw.get_api(ApiId=api["ApiId"])["Tags"] == {"b": "2"}


def test_cors_configuration_update_and_delete(gw):
    api = gw.create_api(Name="c", ProtocolType="HTTP", CorsConfiguration={"AllowOrigins": ["https://a.example"]})
    assert api["CorsConfiguration"]["AllowOrigins"] == ["https://a.example"]
    gw.delete_cors_configuration(ApiId=api["ApiId"])
    assert "CorsConfiguration" not in gw.get_api(ApiId=api["ApiId"])


def test_import_and_export_openapi(gw):
    spec = {
        "openapi": "3.0.1", "info": {"title": "pets", "version": "1"},
        "paths": {"/pets": {"get": {"x-amazon-apigateway-integration": {
            "type": "AWS_PROXY", "uri": LAMBDA_ARN, "payloadFormatVersion": "2.0", "httpMethod": "POST"}}}},
    }
    api = gw.import_api(Body=json.dumps(spec))
    assert api["Name"] == "pets" and api["ProtocolType"] == "HTTP"
    assert [r["RouteKey"] for r in gw.get_routes(ApiId=api["ApiId"])["Items"]] == ["GET /pets"]
    spec["paths"] = {"/cats": {"post": spec["paths"]["/pets"]["get"]}}
    gw.reimport_api(ApiId=api["ApiId"], Body=json.dumps(spec))
    assert [r["RouteKey"] for r in gw.get_routes(ApiId=api["ApiId"])["Items"]] == ["POST /cats"]
    exported = json.loads(gw.export_api(ApiId=api["ApiId"], Specification="OAS30", OutputType="JSON")["body"].read())
    assert "/cats" in exported["paths"]


def test_aws_cli_lists_apis(aws_cli, gw):
    api = gw.create_api(Name="cli", ProtocolType="HTTP")
    listed = aws_cli("apigatewayv2", "get-apis")
    assert api["ApiId"] in [a["ApiId"] for a in listed["Items"]]



def test_get_apis_with_a_non_numeric_max_results_is_bad_request(client):
    unvalidated = client("apigatewayv2", parameter_validation=False)  # MaxResults is a string on the wire
    with pytest.raises(ClientError) as error:
        unvalidated.get_apis(MaxResults="many")
    assert _code(error) == ("BadRequestException", 400)


def test_domain_name_with_a_certificate_upload_date_reads_back(gw, unique_name):
    import datetime

    name = f"{unique_name('api')}.example.com"
    uploaded = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    gw.create_domain_name(DomainName=name, DomainNameConfigurations=[
        {"CertificateArn": "arn:aws:acm:us-east-1:000000000000:certificate/x", "CertificateUploadDate": uploaded}])
    config = gw.get_domain_name(DomainName=name)["DomainNameConfigurations"][0]
    assert config["CertificateUploadDate"] == uploaded
    assert any(d["DomainName"] == name for d in gw.get_domain_names()["Items"])
