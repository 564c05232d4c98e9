"""Serving deployed REST APIs: URL forms, routing precedence, MOCK, Lambda proxy (payload 1.0),
non-proxy Lambda with VTL, gateway responses, validation, binary media, timeouts."""

from __future__ import annotations

import base64
import json
import re

import httpx
import pytest
from apigateway_support import LAMBDA_URI, Api, function_arn
from lambda_functions import create_python, source


@pytest.fixture(scope="module")
def apigw(client):
    return client("apigateway")


@pytest.fixture(scope="module")
def backend(client):
    lam = client("lambda")
    name = "apigw-serving-backend"
    create_python(lam, name, source("apigw_backend.py"), Timeout=10)
    return function_arn(lam, name)


@pytest.fixture(scope="module")
def proxy_api(apigw, endpoint, backend):
    api = Api(apigw, endpoint, "serving-proxy", binaryMediaTypes=["image/png"])
    api.lambda_proxy("/items", "ANY", backend)
    api.lambda_proxy("/items/{id}", "GET", backend)
    api.lambda_proxy("/files/{proxy+}", "ANY", backend)
    api.mock("/items/special", template='{"route": "static"}')
    api.method("/slow", "GET", {"type": "AWS_PROXY", "integrationHttpMethod": "POST",
                                "uri": LAMBDA_URI.format(arn=backend), "timeoutInMillis": 300})
    api.deploy("prod", variables={"color": "blue"})
    return api


@pytest.mark.postgres_e2e
def test_mock_integration_answers_its_response_template(apigw, endpoint):
    api = Api(apigw, endpoint, "mock-basic")
    api.mock("/hello", template='{"greeting": "hi", "stage": "$context.stage", "q": "$input.params(\'name\')"}')
    api.deploy("dev")
    r = api.call("GET", "/hello", params={"name": "ann"})
    assert r.status_code == 200
    assert r.json() == {"greeting": "hi", "stage": "dev", "q": "ann"}
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-amzn-requestid"]


@pytest.mark.postgres_e2e
def test_deployed_api_answers_on_all_three_url_forms(proxy_api, endpoint):
    forms = [
        httpx.get(f"{endpoint}/_aws/execute-api/{proxy_api.id}/prod/items/special"),
        httpx.get(f"{endpoint}/restapis/{proxy_api.id}/prod/_user_request_/items/special"),
        httpx.get(f"{endpoint}/prod/items/special",
                  headers={"Host": f"{proxy_api.id}.execute-api.localhost.localstack.cloud:4566"}),
    ]
    for r in forms:
        assert r.status_code == 200, r.text
        assert r.json() == {"route": "static"}


def test_unknown_path_answers_missing_authentication_token(proxy_api):
    r = proxy_api.call("GET", "/nothing/here")
    assert r.status_code == 403
    assert r.json() == {"message": "Missing Authentication Token"}
    assert r.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"


def test_method_not_defined_on_resource_answers_missing_authentication_token(proxy_api):
    r = proxy_api.call("DELETE", "/items/special")
    assert r.status_code == 403
    assert r.json() == {"message": "Missing Authentication Token"}


@pytest.mark.postgres_e2e
def test_unknown_stage_answers_forbidden(proxy_api):
    r = proxy_api.call("GET", "/items", stage="nostage")
    assert r.status_code == 403
    assert r.json() == {"message": "Forbidden"}


def test_static_path_wins_over_path_parameter(proxy_api):
    assert proxy_api.call("GET", "/items/special").json() == {"route": "static"}
    event = proxy_api.call("GET", "/items/42").json()
    assert event["resource"] == "/items/{id}"
    assert event["pathParameters"] == {"id": "42"}


@pytest.mark.postgres_e2e
def test_greedy_proxy_path_captures_the_rest(proxy_api):
    event = proxy_api.call("PUT", "/files/a/b/c.txt", content=b"x").json()
    assert event["resource"] == "/files/{proxy+}"
    assert event["pathParameters"] == {"proxy": "a/b/c.txt"}
    assert event["httpMethod"] == "PUT"


def test_lambda_proxy_event_keeps_the_path_percent_encoded_as_sent(proxy_api):
    # AWS's recorded event: `path`, `pathParameters` and `requestContext.path` keep `%2B` as the
    # client sent it (a `+` sent as such stays `+`); routing matches the decoded path
    event = proxy_api.call("GET", "/files/user/test%2Balias@x.com/plus/test+alias@x.com").json()
    assert event["resource"] == "/files/{proxy+}"
    assert event["path"] == "/files/user/test%2Balias@x.com/plus/test+alias@x.com"
    assert event["pathParameters"] == {"proxy": "user/test%2Balias@x.com/plus/test+alias@x.com"}
    assert event["requestContext"]["path"] == "/prod/files/user/test%2Balias@x.com/plus/test+alias@x.com"
    event = proxy_api.call("GET", "/items/a%20b").json()
    assert event["resource"] == "/items/{id}"
    assert event["pathParameters"] == {"id": "a%20b"}
    assert event["path"] == "/items/a%20b"


def test_lambda_proxy_event_leaves_out_api_gateways_own_request_headers(proxy_api):
    # AWS's recorded event: Content-MD5, Max-Forwards, Server, TE, Trailer, Upgrade,
    # WWW-Authenticate (and the hop-by-hop ones) are not passed on; others are
    sent = {"Content-MD5": "m", "Max-Forwards": "2", "Server": "s", "TE": "deflate", "Trailer": "Expires",
            "Upgrade": "HTTP/2.0", "WWW-Authenticate": "Basic x", "Pragma": "no-cache"}
    event = proxy_api.call("GET", "/items/1", headers=sent).json()
    assert event["headers"]["Pragma"] == "no-cache"
    assert event["multiValueHeaders"]["Pragma"] == ["no-cache"]
    for name in sent.keys() - {"Pragma"}:
        assert name.lower() not in {k.lower() for k in event["headers"]}, name
        assert name.lower() not in {k.lower() for k in event["multiValueHeaders"]}, name


@pytest.mark.postgres_e2e
def test_lambda_proxy_event_has_every_documented_field(proxy_api):
    r = proxy_api.call("POST", "/items", params=[("a", "1"), ("a", "2"), ("b", "x")],
                       content=b'{"name": "widget"}', headers={"Content-Type": "application/json", "X-Trace": "t1"})
    assert r.status_code == 200
    event = r.json()
    assert event["resource"] == "/items"
    assert event["path"] == "/items"
    assert event["httpMethod"] == "POST"
    assert event["headers"]["X-Trace"] == "t1"
    assert event["multiValueHeaders"]["X-Trace"] == ["t1"]
    assert event["queryStringParameters"] == {"a": "2", "b": "x"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x"]}
    assert event["pathParameters"] is None
    assert event["stageVariables"] == {"color": "blue"}
    assert event["body"] == '{"name": "widget"}'
    assert event["isBase64Encoded"] is False
    ctx = event["requestContext"]
    for key in ("resourceId", "resourcePath", "httpMethod", "requestId", "requestTime", "requestTimeEpoch",
                "identity", "domainName", "apiId", "stage", "protocol", "accountId", "path"):
        assert key in ctx, key
    assert ctx["apiId"] == proxy_api.id
    assert ctx["stage"] == "prod"
    assert ctx["resourcePath"] == "/items"
    assert ctx["path"] == "/prod/items"
    assert ctx["identity"]["sourceIp"]
    assert isinstance(ctx["requestTimeEpoch"], int)


@pytest.mark.postgres_e2e
def test_lambda_proxy_response_sets_status_headers_and_body(proxy_api):
    r = proxy_api.call("GET", "/items", params={"status": "201"})
    assert r.status_code == 201
    assert r.headers["x-custom"] == "yes"
    assert r.headers.get_list("x-multi") == ["a", "b"]


def test_malformed_lambda_proxy_response_answers_502(proxy_api):
    r = proxy_api.call("GET", "/items", params={"mode": "malformed"})
    assert r.status_code == 502
    assert r.json() == {"message": "Internal server error"}


def test_lambda_error_in_proxy_integration_answers_502(proxy_api):
    r = proxy_api.call("GET", "/items", params={"mode": "error"})
    assert r.status_code == 502
    assert r.json() == {"message": "Internal server error"}


def test_binary_media_type_body_reaches_lambda_base64_encoded(proxy_api):
    r = proxy_api.call("POST", "/items", content=b"\x89PNG\x00", headers={"Content-Type": "image/png"})
    event = r.json()
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x89PNG\x00"


def test_base64_encoded_lambda_response_is_decoded(proxy_api):
    # decoded for a client whose Accept is one of the API's binary media types, exactly
    r = proxy_api.call("GET", "/items", params={"mode": "binary"}, headers={"Accept": "image/png"})
    assert r.status_code == 200
    assert r.content == b"\x89PNG\x00\xff"
    assert r.headers["content-type"] == "image/png"
    # else answered as the function sent it (AWS's recorded answers: image/*, */* and none are not enough)
    for accept in ("image/*", "*/*", None):
        r = proxy_api.call("GET", "/items", params={"mode": "binary"}, headers={"Accept": accept} if accept else {})
        assert r.content == base64.b64encode(b"\x89PNG\x00\xff"), accept


def test_lambda_outliving_integration_timeout_answers_504(proxy_api):
    r = proxy_api.call("GET", "/slow", params={"mode": "sleep", "s": "1.5"})
    assert r.status_code == 504
    assert r.json() == {"message": "Endpoint request timed out"}


def test_integration_with_missing_function_answers_500(apigw, endpoint):
    api = Api(apigw, endpoint, "missing-fn")
    api.lambda_proxy("/x", "GET", "arn:aws:lambda:us-east-1:000000000000:function:does-not-exist-anywhere")
    api.deploy()
    r = api.call("GET", "/x")
    assert r.status_code == 500
    assert r.json() == {"message": "Internal server error"}


@pytest.mark.postgres_e2e
def test_non_proxy_lambda_maps_request_and_response_templates(apigw, endpoint, backend):
    api = Api(apigw, endpoint, "lambda-vtl")
    api.method("/orders/{id}", "POST", {
        "type": "AWS", "integrationHttpMethod": "POST", "uri": LAMBDA_URI.format(arn=backend),
        "requestTemplates": {"application/json": """{
  "id": "$input.params('id')",
  "name": "$util.escapeJavaScript($input.path('$.name'))",
  "qty": $input.json('$.qty'),
  "color": "$stageVariables.color"
}"""},
    }, {"200": {"responseTemplates": {"application/json": '{"order": $input.json(\'$.received\')}'}}})
    api.deploy(variables={"color": "red"})
    r = api.call("POST", "/orders/o-1", json={"name": 'he said "hi"', "qty": 3})
    assert r.status_code == 200, r.text
    assert r.json() == {"order": {"id": "o-1", "name": 'he said "hi"', "qty": 3, "color": "red"}}


def test_lambda_error_selects_integration_response_by_error_message(apigw, endpoint, backend):
    api = Api(apigw, endpoint, "lambda-errors")
    rid = api.method("/thing", "POST", {
        "type": "AWS", "integrationHttpMethod": "POST", "uri": LAMBDA_URI.format(arn=backend)},
        {"200": {}})
    apigw.put_method_response(restApiId=api.id, resourceId=rid, httpMethod="POST", statusCode="404")
    apigw.put_integration_response(restApiId=api.id, resourceId=rid, httpMethod="POST", statusCode="404",
                                   selectionPattern=r"\[NotFound\].*",
                                   responseTemplates={"application/json": '{"error": "$input.path(\'$.errorMessage\')"}'})
    api.deploy()
    ok = api.call("POST", "/thing", json={"a": 1})
    assert ok.status_code == 200
    assert ok.json() == {"received": {"a": 1}}
    missing = api.call("POST", "/thing", json={"fail": "[NotFound] no such thing"})
    assert missing.status_code == 404
    assert missing.json() == {"error": "[NotFound] no such thing"}


def test_response_parameters_set_headers_from_literals_and_integration(apigw, endpoint):
    api = Api(apigw, endpoint, "resp-params")
    rid = api.resource("/h")
    apigw.put_method(restApiId=api.id, resourceId=rid, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api.id, resourceId=rid, httpMethod="GET", type="MOCK",
                          requestTemplates={"application/json": '{"statusCode": 200}'})
    apigw.put_method_response(restApiId=api.id, resourceId=rid, httpMethod="GET", statusCode="200",
                              responseParameters={"method.response.header.X-Static": False,
                                                  "method.response.header.X-Stage": False})
    apigw.put_integration_response(restApiId=api.id, resourceId=rid, httpMethod="GET", statusCode="200",
                                   responseParameters={"method.response.header.X-Static": "'fixed'",
                                                       "method.response.header.X-Stage": "context.stage"},
                                   responseTemplates={"application/json": "{}"})
    api.deploy("v1")
    r = api.call("GET", "/h")
    assert r.headers["x-static"] == "fixed"
    assert r.headers["x-stage"] == "v1"


def test_passthrough_never_rejects_unmapped_content_type_with_415(apigw, endpoint):
    api = Api(apigw, endpoint, "passthrough-never")
    api.method("/p", "POST", {"type": "MOCK", "passthroughBehavior": "NEVER",
                              "requestTemplates": {"application/json": '{"statusCode": 200}'}},
               {"200": {"responseTemplates": {"application/json": '{"ok": true}'}}})
    api.deploy()
    assert api.call("POST", "/p", json={}).status_code == 200
    r = api.call("POST", "/p", content=b"a=b", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415
    assert r.json() == {"message": "Unsupported Media Type"}


def test_mock_request_template_may_leave_member_names_unquoted(apigw, endpoint):
    # the Serverless Framework's CORS preflight methods send {statusCode:200}, which AWS answers
    api = Api(apigw, endpoint, "mock-bare-names")
    api.method("/p", "OPTIONS", {"type": "MOCK", "requestTemplates": {"application/json": "{statusCode:200}"}},
               {"200": {"responseTemplates": {"application/json": ""}}})
    api.method("/q", "GET", {"type": "MOCK", "requestTemplates": {"application/json": "{ statusCode : 404 }"}},
               {"404": {"selectionPattern": "404", "responseTemplates": {"application/json": '{"missing": true}'}}})
    api.deploy()
    assert api.call("OPTIONS", "/p").status_code == 200
    missing = api.call("GET", "/q")
    assert missing.status_code == 404 and missing.json() == {"missing": True}


def test_passthrough_when_no_templates_rejects_when_templates_exist(apigw, endpoint):
    api = Api(apigw, endpoint, "passthrough-wnt")
    api.method("/p", "POST", {"type": "MOCK", "passthroughBehavior": "WHEN_NO_TEMPLATES",
                              "requestTemplates": {"application/json": '{"statusCode": 200}'}},
               {"200": {"responseTemplates": {"application/json": '{"ok": true}'}}})
    api.deploy()
    r = api.call("POST", "/p", content=b"<x/>", headers={"Content-Type": "application/xml"})
    assert r.status_code == 415


def test_template_error_answers_500_internal_server_error(apigw, endpoint):
    api = Api(apigw, endpoint, "bad-vtl")
    api.mock("/bad", template='{"x": $util.parseJson("not json")}')
    api.deploy()
    r = api.call("GET", "/bad")
    assert r.status_code == 500
    assert r.json() == {"message": "Internal server error"}


def test_request_validator_rejects_missing_required_parameters(apigw, endpoint):
    api = Api(apigw, endpoint, "validate-params")
    validator = apigw.create_request_validator(restApiId=api.id, name="params", validateRequestParameters=True)
    api.mock("/search", requestValidatorId=validator["id"],
             requestParameters={"method.request.querystring.q": True, "method.request.header.X-Tenant": True,
                                "method.request.querystring.page": False})
    api.deploy()
    r = api.call("GET", "/search")
    assert r.status_code == 400
    # listed by location, headers first (AWS's recorded answer: [x-header-param, issuer, qs1])
    assert r.json() == {"message": "Missing required request parameters: [X-Tenant, q]"}
    assert r.headers["x-amzn-errortype"] == "BadRequestException"
    assert api.call("GET", "/search", params={"q": "a"}, headers={"X-Tenant": "t"}).status_code == 200


@pytest.mark.postgres_e2e
def test_request_validator_checks_body_against_json_schema_model(apigw, endpoint):
    api = Api(apigw, endpoint, "validate-body")
    apigw.create_model(restApiId=api.id, name="Item", contentType="application/json", schema=json.dumps({
        "$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
        "required": ["name", "price"],
        "properties": {"name": {"type": "string", "minLength": 1}, "price": {"type": "number", "minimum": 0}},
    }))
    validator = apigw.create_request_validator(restApiId=api.id, name="body", validateRequestBody=True)
    api.mock("/items", "POST", requestValidatorId=validator["id"], requestModels={"application/json": "Item"})
    api.deploy()
    bad = api.call("POST", "/items", json={"name": "x", "price": -1})
    assert bad.status_code == 400
    assert bad.json() == {"message": "Invalid request body"}
    assert api.call("POST", "/items", content=b"{not json", headers={"Content-Type": "application/json"}).status_code == 400
    assert api.call("POST", "/items", json={"name": "x", "price": 2.5}).status_code == 200


def test_customized_gateway_response_changes_status_headers_and_template(apigw, endpoint):
    api = Api(apigw, endpoint, "gw-responses")
    api.mock("/ok")
    apigw.put_gateway_response(restApiId=api.id, responseType="MISSING_AUTHENTICATION_TOKEN", statusCode="404",
                               responseParameters={"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"},
                               responseTemplates={"application/json": '{"error": $context.error.messageString, '
                                                                      '"type": "$context.error.responseType"}'})
    api.deploy()
    r = api.call("GET", "/missing")
    assert r.status_code == 404
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.json() == {"error": "Missing Authentication Token", "type": "MISSING_AUTHENTICATION_TOKEN"}


def test_default_4xx_gateway_response_applies_to_every_client_error(apigw, endpoint):
    api = Api(apigw, endpoint, "gw-default4xx")
    api.mock("/ok")
    apigw.put_gateway_response(restApiId=api.id, responseType="DEFAULT_4XX",
                               responseParameters={"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"})
    api.deploy()
    r = api.call("GET", "/missing")
    assert r.status_code == 403
    assert r.headers["access-control-allow-origin"] == "*"


def test_cors_preflight_through_mock_options_method(apigw, endpoint):
    api = Api(apigw, endpoint, "cors")
    rid = api.resource("/data")
    apigw.put_method(restApiId=api.id, resourceId=rid, httpMethod="OPTIONS", authorizationType="NONE")
    apigw.put_integration(restApiId=api.id, resourceId=rid, httpMethod="OPTIONS", type="MOCK",
                          requestTemplates={"application/json": '{"statusCode": 200}'})
    apigw.put_method_response(restApiId=api.id, resourceId=rid, httpMethod="OPTIONS", statusCode="200",
                              responseParameters={f"method.response.header.Access-Control-Allow-{h}": False
                                                  for h in ("Headers", "Methods", "Origin")})
    apigw.put_integration_response(restApiId=api.id, resourceId=rid, httpMethod="OPTIONS", statusCode="200",
                                   responseParameters={
                                       "method.response.header.Access-Control-Allow-Headers":
                                           "'Content-Type,X-Amz-Date,Authorization,X-Api-Key'",
                                       "method.response.header.Access-Control-Allow-Methods": "'GET,OPTIONS'",
                                       "method.response.header.Access-Control-Allow-Origin": "'*'"},
                                   responseTemplates={"application/json": ""})
    api.deploy()
    r = api.call("OPTIONS", "/data", headers={"Origin": "http://example.com",
                                              "Access-Control-Request-Method": "GET"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["access-control-allow-methods"] == "GET,OPTIONS"


def test_body_over_10_mb_answers_413(proxy_api):
    r = proxy_api.call("POST", "/items", content=b"x" * (10 * 1024 * 1024 + 1))
    assert r.status_code == 413
    assert r.json() == {"message": "Request Too Long"}


@pytest.mark.postgres_e2e
def test_redeploy_changes_what_the_stage_serves(apigw, endpoint):
    api = Api(apigw, endpoint, "redeploy")
    rid = api.mock("/v", template='{"v": 1}')
    api.deploy()
    assert api.call("GET", "/v").json() == {"v": 1}
    apigw.update_integration_response(restApiId=api.id, resourceId=rid, httpMethod="GET", statusCode="200",
                                      patchOperations=[{"op": "replace", "path": "/responseTemplates/application~1json",
                                                        "value": '{"v": 2}'}])
    assert api.call("GET", "/v").json() == {"v": 1}  # not deployed yet
    api.deploy()
    assert api.call("GET", "/v").json() == {"v": 2}


@pytest.mark.postgres_e2e
def test_stage_method_throttling_answers_429(apigw, endpoint):
    api = Api(apigw, endpoint, "stage-throttle")
    api.mock("/t")
    api.deploy()
    apigw.update_stage(restApiId=api.id, stageName="test", patchOperations=[
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "1"},
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "2"}])
    responses = [api.call("GET", "/t") for _ in range(5)]
    codes = [r.status_code for r in responses]
    assert codes[:2] == [200, 200]
    assert 429 in codes
    # (the refused answer itself: a sixth call could find a token refilled on a slow machine)
    assert responses[codes.index(429)].json() == {"message": "Too Many Requests"}


@pytest.mark.postgres_e2e
def test_custom_domain_name_routes_by_host_and_base_path(apigw, endpoint, unique_name):
    api = Api(apigw, endpoint, "custom-domain")
    api.mock("/hello", template='{"via": "domain", "stage": "$context.stage"}')
    api.deploy("live")
    domain = f"{unique_name('api')}.example.org"
    apigw.create_domain_name(domainName=domain, regionalCertificateArn="arn:aws:acm:us-east-1:000000000000:certificate/c",
                             endpointConfiguration={"types": ["REGIONAL"]})
    apigw.create_base_path_mapping(domainName=domain, restApiId=api.id, stage="live", basePath="v1")
    apigw.create_base_path_mapping(domainName=domain, restApiId=api.id)  # (none): the stage comes from the path
    port = endpoint.rsplit(":", 1)[1]
    r = httpx.get(f"{endpoint}/v1/hello", headers={"Host": f"{domain}:{port}"})
    assert r.status_code == 200, r.text
    assert r.json() == {"via": "domain", "stage": "live"}
    r = httpx.get(f"{endpoint}/live/hello", headers={"Host": domain})
    assert r.json() == {"via": "domain", "stage": "live"}


def test_host_name_that_is_no_custom_domain_is_refused(client, endpoint):
    """Not a domain name of API Gateway's, nor a host overcast owns: refused (no DNS rebinding);
    tests/test_security.py shows the same host served once OVERCAST_ALLOWED_HOSTS names it."""
    r = httpx.post(endpoint, headers={"Host": "not-a-domain.example.net", "X-Amz-Target": "DynamoDB_20120810.ListTables",
                                      "Content-Type": "application/x-amz-json-1.0",
                                      "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/"
                                                       "aws4_request, SignedHeaders=host, Signature=0"}, content=b"{}")
    assert r.status_code == 403
    assert "OVERCAST_ALLOWED_HOSTS" in r.json()["message"]


def test_default_4xx_status_code_applies_to_unspecified_4xx_types(apigw, endpoint):
    api = Api(apigw, endpoint, "gw-default-status")
    api.mock("/ok")
    apigw.put_gateway_response(restApiId=api.id, responseType="DEFAULT_4XX", statusCode="418")
    api.deploy()
    r = api.call("GET", "/missing")
    assert r.status_code == 418
    assert r.json() == {"message": "Missing Authentication Token"}


def test_integration_without_matching_response_answers_500(apigw, endpoint):
    api = Api(apigw, endpoint, "no-ir")
    rid = api.resource("/x")
    apigw.put_method(restApiId=api.id, resourceId=rid, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api.id, resourceId=rid, httpMethod="GET", type="MOCK",
                          requestTemplates={"application/json": '{"statusCode": 200}'})
    api.deploy()
    r = api.call("GET", "/x")
    assert r.status_code == 500
    assert r.json() == {"message": "Internal server error"}


def test_stage_throttling_for_one_method_leaves_others_alone(apigw, endpoint):
    api = Api(apigw, endpoint, "method-throttle")
    api.mock("/slow")
    api.mock("/fast")
    api.deploy()
    apigw.update_stage(restApiId=api.id, stageName="test", patchOperations=[
        {"op": "replace", "path": "/~1slow/GET/throttling/rateLimit", "value": "0.5"},
        {"op": "replace", "path": "/~1slow/GET/throttling/burstLimit", "value": "1"}])
    assert [api.call("GET", "/slow").status_code for _ in range(3)] == [200, 429, 429]
    assert [api.call("GET", "/fast").status_code for _ in range(3)] == [200, 200, 200]


def test_lambda_proxy_event_keeps_each_value_of_a_repeated_header(proxy_api):
    event = proxy_api.call("GET", "/items/7", headers=[("X-Tag", "a"), ("X-Tag", "b, c")]).json()
    assert event["multiValueHeaders"]["X-Tag"] == ["a", "b, c"]
    assert event["headers"]["X-Tag"] == "a,b, c"


def test_lambda_proxy_event_has_the_x_forwarded_headers(proxy_api, endpoint):
    # API Gateway's front end adds X-Forwarded-For (the client's address, appended to any chain
    # the client sent), X-Forwarded-Port and X-Forwarded-Proto to every proxied request
    event = proxy_api.call("GET", "/items/1").json()
    port = endpoint.rsplit(":", 1)[1]
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["headers"]["X-Forwarded-Port"] == port
    assert event["headers"]["X-Forwarded-Proto"] == "http"
    assert event["multiValueHeaders"]["X-Forwarded-Proto"] == ["http"]
    # a chain the client sent is kept, the client's address last (a local peer's chain is taken by
    # the HTTP server as the client's address, so it is not repeated)
    chained = proxy_api.call("GET", "/items/1", headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}).json()
    assert chained["headers"]["X-Forwarded-For"] == "198.51.100.1, 203.0.113.7"
    assert chained["multiValueHeaders"]["X-Forwarded-For"] == ["198.51.100.1, 203.0.113.7"]


def test_greedy_path_keeps_a_double_slash_and_drops_a_trailing_one(proxy_api):
    # AWS's recorded answers: /files/a//b gives proxy "a//b"; /files/a/ gives proxy "a"
    event = proxy_api.call("GET", "/files/a//b.txt").json()
    assert event["pathParameters"] == {"proxy": "a//b.txt"}
    assert proxy_api.call("GET", "/files/a/").json()["pathParameters"] == {"proxy": "a"}
    # an empty segment matches no static or {param} resource
    r = proxy_api.call("GET", "/items//7")
    assert r.status_code == 403
    assert r.json() == {"message": "Missing Authentication Token"}


def test_lambda_proxy_event_domain_name_path_and_hop_by_hop_headers(proxy_api, endpoint):
    host = f"{proxy_api.id}.execute-api.localhost.localstack.cloud:{endpoint.rsplit(':', 1)[1]}"
    r = httpx.get(f"{endpoint}/prod//items/5", headers={"Host": host, "Connection": "keep-alive"})
    event = r.json()
    assert event["requestContext"]["domainName"] == host  # the Host header, as AWS's events show
    assert event["requestContext"]["domainPrefix"] == proxy_api.id
    assert event["path"] == "/items/5"
    assert "Connection" not in event["headers"] and "Connection" not in event["multiValueHeaders"]


def test_lambda_proxy_event_keeps_header_names_as_the_client_spelt_them(proxy_api):
    # AWS's recorded events: `tEsT-HEADeR` arrives as sent, in headers and multiValueHeaders; a
    # name sent in lower case stays lower case; the replaced headers go in any case
    event = proxy_api.call("GET", "/items/1", headers=[("tEsT-HEADeR", "a"), ("x-lower", "b"),
                                                       ("connection", "keep-alive"),
                                                       ("x-forwarded-proto", "ftp")]).json()
    assert event["headers"]["tEsT-HEADeR"] == "a"
    assert event["multiValueHeaders"]["tEsT-HEADeR"] == ["a"]
    assert event["headers"]["x-lower"] == "b"
    assert "Test-Header" not in event["headers"]
    assert not {"connection", "x-forwarded-proto"} & set(event["headers"])
    assert event["headers"]["X-Forwarded-Proto"] == "http"
    # but Authorization is spelt so, and Content-Length is not passed on
    event = proxy_api.call("POST", "/items", content=b'{"a": 1}', headers={"aUThorization": "Bearer t"}).json()
    assert event["headers"]["Authorization"] == "Bearer t"
    assert event["multiValueHeaders"]["Authorization"] == ["Bearer t"]
    assert "aUThorization" not in event["headers"]
    assert not any(k.lower() == "content-length" for k in event["headers"])


def test_lambda_proxy_event_carries_a_trace_header(proxy_api):
    # API Gateway sets X-Amzn-Trace-Id on every proxied request: a new trace without one, the
    # client's as sent when it names a parent, its trace with a parent of API Gateway's otherwise
    event = proxy_api.call("GET", "/items/1").json()
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24}(;.*)?", event["headers"]["X-Amzn-Trace-Id"])
    full = "Root=1-3152b799-8954dae64eda91bc9a23a7e8;Parent=7fa8c0f79203be72;Sampled=1"
    event = proxy_api.call("GET", "/items/1", headers={"x-amzn-trace-id": full}).json()
    assert event["headers"]["X-Amzn-Trace-Id"] == full
    assert "x-amzn-trace-id" not in event["headers"]
    event = proxy_api.call("GET", "/items/1", headers={"X-Amzn-Trace-Id": "Root=1-3152b799-8954dae64eda91bc9a23a7e8"}).json()
    parts = event["headers"]["X-Amzn-Trace-Id"].split(";")
    assert parts[0] == "Root=1-3152b799-8954dae64eda91bc9a23a7e8"
    assert re.fullmatch(r"Parent=[0-9a-f]{16}", parts[1])


def test_templates_print_objects_as_aws_does(apigw, endpoint, backend):
    # AWS's recorded answers: a JSON object from $input.path prints as a Java map ({foo=bar}), an
    # array as JSON, true as true; a missing path prints nothing; an empty body is {}
    api = Api(apigw, endpoint, "vtl-forms")
    api.method("/echo", "POST", {
        "type": "AWS", "integrationHttpMethod": "POST", "uri": LAMBDA_URI.format(arn=backend),
        "requestTemplates": {"application/json": '{"body": "$util.escapeJavaScript($input.body)", "doc": $input.json(\'$\')}'},
    }, {"200": {"responseTemplates": {"application/json": (
        "#set($r = $input.path('$.received.doc'))$r|$input.path('$.received.doc.list')|$r.toString()"
        "|$input.path('$.received.doc.missing')|$input.path('$.received.doc.n.x')|$input.path('$.received.body')")}}})
    api.deploy()
    r = api.call("POST", "/echo", json={"foo": "bar", "list": [{"a": 1}], "n": {"x": True}})
    assert r.status_code == 200, r.text
    assert r.text == ('{foo=bar, list=[{"a":1}], n={x=true}}|[{"a":1}]|{foo=bar, list=[{"a":1}], n={x=true}}'
                      '||true|{"foo":"bar","list":[{"a":1}],"n":{"x":true}}')
    r = api.call("POST", "/echo", headers={"Content-Type": "application/json"})
    assert r.text == "{}||{}|||{}"


def test_templates_override_the_response_status_and_headers(apigw, endpoint):
    # $context.responseOverride set in the request template of a MOCK holds for the method
    # response (AWS's recorded answer: status 444 and header foo), with or without a response
    # template; $context.requestOverride is readable by the response template
    api = Api(apigw, endpoint, "overrides")
    request_template = ("#set($context.responseOverride.status = 444)"
                        "#set($context.responseOverride.header.foo = \"bar\")"
                        "#set($context.requestOverride.path.carried = $input.params('v'))"
                        '{"statusCode": 200}')
    api.method("/with", "GET", {"type": "MOCK", "requestTemplates": {"application/json": request_template}},
               {"200": {"selectionPattern": "2\\d{2}", "responseTemplates": {"application/json": (
                   '{"status": "$context.responseOverride.status", "carried": "$context.requestOverride.path.carried"}')}}})
    api.method("/without", "GET", {"type": "MOCK", "requestTemplates": {"application/json": request_template}},
               {"200": {"selectionPattern": "2\\d{2}"}})
    api.deploy()
    r = api.call("GET", "/with", params={"v": "x1"})
    assert r.status_code == 444
    assert r.headers["foo"] == "bar"
    assert r.json() == {"status": "444", "carried": "x1"}
    r = api.call("GET", "/without")
    assert (r.status_code, r.headers["foo"]) == (444, "bar")


def test_aws_integration_uris_are_checked_as_aws_does(apigw, endpoint):
    # AWS's recorded answers for each way an AWS/AWS_PROXY integration URI can be wrong
    api = Api(apigw, endpoint, "uri-checks")
    rid = api.resource("/u")
    apigw.put_method(restApiId=api.id, resourceId=rid, httpMethod="GET", authorizationType="NONE")
    fn = "arn:aws:lambda:us-east-1:000000000000:function:f"
    cases = [("AWS", "non-valid-arn", "Invalid ARN specified in the request"),
             ("AWS_PROXY", f"bad-arn:lambda:path/2015-03-31/functions/{fn}/invocations", "Invalid ARN specified in the request"),
             ("AWS_PROXY", fn, "AWS ARN for integration must contain path or action"),
             ("AWS", "arn:aws:iam::000000000000:role/service-role/r", "AWS ARN for integration must contain path or action"),
             ("AWS_PROXY", f"arn:aws:apigateway:us-east-1:lambda:test/2015-03-31/functions/{fn}/invocations",
              "AWS ARN for integration must contain path or action"),
             ("AWS_PROXY", "arn:aws:apigateway:us-east-1:s3:path/b/k",
              "Integrations of type 'AWS_PROXY' currently only supports Lambda function and Firehose stream invocations."),
             ("AWS_PROXY", f"arn:aws:apigateway:us-east-1:lambda:path/random/value/{fn}/invocations",
              "Integrations of type 'AWS_PROXY' currently only supports Lambda function and Firehose stream invocations.")]
    for kind, uri, message in cases:
        with pytest.raises(apigw.exceptions.BadRequestException) as e:
            apigw.put_integration(restApiId=api.id, resourceId=rid, httpMethod="GET", type=kind, uri=uri,
                                  integrationHttpMethod="POST")
        assert e.value.response["Error"]["Message"] == message, uri
    apigw.put_integration(restApiId=api.id, resourceId=rid, httpMethod="GET", type="AWS", integrationHttpMethod="POST",
                          uri="arn:aws:apigateway:us-east-1:s3:path/b/k")


def test_lambda_proxy_called_with_another_method_than_post_fails(apigw, endpoint, backend):
    # Lambda's Invoke is a POST: AWS answers 500 Internal server error (its recorded answer)
    api = Api(apigw, endpoint, "proxy-get")
    api.method("/g", "GET", {"type": "AWS_PROXY", "integrationHttpMethod": "GET", "uri": LAMBDA_URI.format(arn=backend)})
    api.deploy()
    r = api.call("GET", "/g")
    assert r.status_code == 500
    assert r.json() == {"message": "Internal server error"}


def test_lambda_proxy_results_are_read_as_aws_does(proxy_api):
    # AWS's recorded answers: no statusCode is 200; a multiValueHeaders value that is not a list
    # is a malformed result (502); a name in both headers and multiValueHeaders gets both values
    def result(doc):
        return proxy_api.call("POST", "/items", params={"mode": "echo"}, json=doc)

    assert result({}).status_code == 200
    r = result({"headers": {"test-header": "value"}})
    assert (r.status_code, r.headers["test-header"]) == (200, "value")
    assert result({"statusCode": 200, "multiValueHeaders": {"x-multi": "v"}}).status_code == 502
    assert result({"statusCode": "test"}).status_code == 502
    assert result({"statusCode": "201"}).status_code == 201
    r = result({"statusCode": 200, "multiValueHeaders": {"tesT-Multi": ["value-multi"]}, "headers": {"test-multi": "value-solo"}})
    assert r.headers["test-multi"] == "value-multi, value-solo"


def test_a_canary_release_serves_its_share_of_the_stage_with_its_variable_overrides(apigw, endpoint):
    # AWS's canary release: percentTraffic % of the stage's requests go to the canary's
    # deployment, with the canary's stage variable overrides; the rest to the stage's deployment
    api = Api(apigw, endpoint, "canary-traffic")
    api.mock("/v", template='{"release": "stable", "v": "$stageVariables.v"}')
    api.deploy("live", variables={"v": "base"})
    apigw.put_integration_response(restApiId=api.id, resourceId=api.resource("/v"), httpMethod="GET",
                                   statusCode="200", responseTemplates={
                                       "application/json": '{"release": "canary", "v": "$stageVariables.v"}'})

    def answers(n):
        return [api.call("GET", "/v").json() for _ in range(n)]

    apigw.create_deployment(restApiId=api.id, stageName="live", canarySettings={
        "percentTraffic": 100, "stageVariableOverrides": {"v": "override"}})
    assert {tuple(a.items()) for a in answers(5)} == {(("release", "canary"), ("v", "override"))}
    apigw.update_stage(restApiId=api.id, stageName="live", patchOperations=[
        {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "50"}])
    assert {a["release"] for a in answers(60)} == {"stable", "canary"}  # 2 * 0.5^60 to fail by chance
    apigw.update_stage(restApiId=api.id, stageName="live", patchOperations=[
        {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "0"}])
    assert {tuple(a.items()) for a in answers(5)} == {(("release", "stable"), ("v", "base"))}
    apigw.update_stage(restApiId=api.id, stageName="live", patchOperations=[{"op": "remove", "path": "/canarySettings"}])
    assert {a["release"] for a in answers(5)} == {"stable"}


def test_test_invoke_method_of_a_lambda_integration_logs_the_endpoint_call(apigw, endpoint, backend):
    # AWS's recorded log for a non-proxy Lambda integration: the endpoint request (URI, headers,
    # body as mapped, empty when none), Lambda's answer (status, headers, body), then the method
    # response; the answer carries the call's X-Amzn-Trace-Id first
    api = Api(apigw, endpoint, "test-invoke-lambda")
    rid = api.method("/foo", "GET", {"type": "AWS", "integrationHttpMethod": "POST", "uri": LAMBDA_URI.format(arn=backend)},
                     {"200": {"selectionPattern": ""}})
    out = apigw.test_invoke_method(restApiId=api.id, resourceId=rid, httpMethod="GET", pathWithQueryString="/foo")
    assert out["status"] == 200 and json.loads(out["body"]) == {"received": {}}
    trace = out["headers"]["X-Amzn-Trace-Id"]
    assert trace.startswith("Root=1-")
    assert out["multiValueHeaders"]["X-Amzn-Trace-Id"] == [trace]
    lines = [line.split(" : ", 1)[-1] for line in out["log"].split("\n")]
    url = f"https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/{backend}/invocations"
    assert lines[7] == f"Endpoint request URI: {url}"
    assert lines[8].startswith("Endpoint request headers: {x-amzn-lambda-integration-tag=")
    assert lines[9:11] == ["Endpoint request body after transformations: ", f"Sending request to {url}"]
    assert re.fullmatch(r"Received response\. Status: 200, Integration latency: \d+ ms", lines[11])
    assert lines[12].startswith("Endpoint response headers: {Date=") and "X-Amz-Executed-Version=$LATEST" in lines[12]
    assert lines[13:] == [
        'Endpoint response body before transformations: {"received": {}}',
        'Method response body after transformations: {"received": {}}',
        f"Method response headers: {{X-Amzn-Trace-Id={trace}, Content-Type=application/json}}",
        "Successfully completed execution", "Method completed with status: 200", ""]
