"""Authorizers: Lambda TOKEN and REQUEST (policies, context, caching, API keys from the
authorizer), AWS_IAM (SigV4), Cognito (not available yet)."""

from __future__ import annotations

import boto3
import httpx
import pytest
from apigateway_support import LAMBDA_URI, Api, function_arn
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from lambda_functions import create_python, source


@pytest.fixture(scope="module")
def apigw(client):
    return client("apigateway")


@pytest.fixture(scope="module")
def functions(client):
    lam = client("lambda")
    create_python(lam, "apigw-auth-authorizer", source("apigw_authorizer.py"))
    create_python(lam, "apigw-auth-backend", source("apigw_backend.py"))
    return function_arn(lam, "apigw-auth-authorizer"), function_arn(lam, "apigw-auth-backend")


def _api_with_authorizer(apigw, endpoint, functions, name, ttl=0, **authorizer):
    auth_arn, backend = functions
    api = Api(apigw, endpoint, name)
    authorizer.setdefault("type", "TOKEN")
    if authorizer["type"] == "TOKEN":
        authorizer.setdefault("identitySource", "method.request.header.Authorization")
    created = apigw.create_authorizer(restApiId=api.id, name=f"{name}-auth", authorizerUri=LAMBDA_URI.format(arn=auth_arn),
                                      authorizerResultTtlInSeconds=ttl, **authorizer)
    api.lambda_proxy("/secure", "GET", backend, authorizationType="CUSTOM", authorizerId=created["id"])
    api.method("/mapped", "GET", {
        "type": "MOCK", "requestTemplates": {"application/json": '{"statusCode": 200}'}},
        {"200": {"responseTemplates": {"application/json":
                                       '{"principal": "$context.authorizer.principalId", "tier": "$context.authorizer.tier"}'}}},
        authorizationType="CUSTOM", authorizerId=created["id"])
    api.deploy()
    return api, created


def test_token_authorizer_allows_and_passes_context_to_lambda(apigw, endpoint, functions):
    api, _ = _api_with_authorizer(apigw, endpoint, functions, "auth-allow")
    r = api.call("GET", "/secure", headers={"Authorization": "alice"})
    assert r.status_code == 200, r.text
    authorizer = r.json()["requestContext"]["authorizer"]
    assert authorizer["principalId"] == "user-alice"
    assert authorizer["tier"] == "gold"
    assert authorizer["vip"] is True


def test_authorizer_context_reaches_mapping_templates(apigw, endpoint, functions):
    api, _ = _api_with_authorizer(apigw, endpoint, functions, "auth-vtl")
    r = api.call("GET", "/mapped", headers={"Authorization": "bob"})
    assert r.json() == {"principal": "user-bob", "tier": "gold"}


def test_missing_token_answers_401_unauthorized(apigw, endpoint, functions):
    api, _ = _api_with_authorizer(apigw, endpoint, functions, "auth-missing")
    r = api.call("GET", "/secure")
    assert r.status_code == 401
    assert r.json() == {"message": "Unauthorized"}


def test_authorizer_raising_unauthorized_answers_401(apigw, endpoint, functions):
    api, _ = _api_with_authorizer(apigw, endpoint, functions, "auth-fail")
    r = api.call("GET", "/secure", headers={"Authorization": "fail"})
    assert r.status_code == 401
    assert r.json() == {"message": "Unauthorized"}


def test_deny_policy_answers_403_explicit_deny(apigw, endpoint, functions):
    api, _ = _api_with_authorizer(apigw, endpoint, functions, "auth-deny")
    r = api.call("GET", "/secure", headers={"Authorization": "deny"})
    assert r.status_code == 403
    assert r.json() == {"message": "User is not authorized to access this resource with an explicit deny"}


def test_policy_not_covering_method_arn_answers_403(apigw, endpoint, functions):
    api, _ = _api_with_authorizer(apigw, endpoint, functions, "auth-narrow")
    r = api.call("GET", "/secure", headers={"Authorization": "narrow"})
    assert r.status_code == 403
    assert r.json() == {"message": "User is not authorized to access this resource"}


def test_malformed_authorizer_answer_is_a_500_configuration_error(apigw, endpoint, functions):
    api, _ = _api_with_authorizer(apigw, endpoint, functions, "auth-broken")
    r = api.call("GET", "/secure", headers={"Authorization": "broken"})
    assert r.status_code == 500
    assert r.headers["x-amzn-errortype"] == "AuthorizerConfigurationException"


def test_identity_validation_expression_rejects_without_invoking(apigw, endpoint, functions):
    api, _ = _api_with_authorizer(apigw, endpoint, functions, "auth-regex", identityValidationExpression="^Bearer .+$")
    assert api.call("GET", "/secure", headers={"Authorization": "alice"}).status_code == 401
    assert api.call("GET", "/secure", headers={"Authorization": "Bearer alice"}).status_code == 200


def test_authorizer_result_is_cached_for_its_ttl(apigw, endpoint, functions):
    api, _ = _api_with_authorizer(apigw, endpoint, functions, "auth-cache", ttl=300)
    first = api.call("GET", "/secure", headers={"Authorization": "carol"}).json()["requestContext"]["authorizer"]
    second = api.call("GET", "/secure", headers={"Authorization": "carol"}).json()["requestContext"]["authorizer"]
    assert first["calls"] == second["calls"]
    other = api.call("GET", "/secure", headers={"Authorization": "dave"}).json()["requestContext"]["authorizer"]
    assert other["calls"] != first["calls"]


def test_flush_stage_authorizers_cache_reinvokes_authorizer(apigw, endpoint, functions):
    api, _ = _api_with_authorizer(apigw, endpoint, functions, "auth-flush", ttl=300)
    first = api.call("GET", "/secure", headers={"Authorization": "erin"}).json()["requestContext"]["authorizer"]
    apigw.flush_stage_authorizers_cache(restApiId=api.id, stageName="test")
    again = api.call("GET", "/secure", headers={"Authorization": "erin"}).json()["requestContext"]["authorizer"]
    assert again["calls"] != first["calls"]


def test_request_authorizer_uses_header_and_query_identity_sources(apigw, endpoint, functions):
    api, _ = _api_with_authorizer(apigw, endpoint, functions, "auth-request", type="REQUEST",
                                  identitySource="method.request.header.X-Token, method.request.querystring.who")
    assert api.call("GET", "/secure", headers={"X-Token": "t-"}).status_code == 401
    r = api.call("GET", "/secure", headers={"X-Token": "t-"}, params={"who": "zed"})
    assert r.status_code == 200
    assert r.json()["requestContext"]["authorizer"]["principalId"] == "user-t-zed"
    mapped = api.call("GET", "/mapped", headers={"X-Token": "t-"}, params={"who": "amy"})
    assert mapped.json() == {"principal": "user-t-amy", "tier": "gold"}


def test_api_key_from_authorizer_usage_identifier_key(apigw, endpoint, functions):
    auth_arn, backend = functions
    api = Api(apigw, endpoint, "auth-apikey", apiKeySource="AUTHORIZER")
    authorizer = apigw.create_authorizer(restApiId=api.id, name="k", type="TOKEN", authorizerResultTtlInSeconds=0,
                                         identitySource="method.request.header.Authorization",
                                         authorizerUri=LAMBDA_URI.format(arn=auth_arn))
    api.lambda_proxy("/metered", "GET", backend, authorizationType="CUSTOM", authorizerId=authorizer["id"],
                     apiKeyRequired=True)
    api.deploy()
    key = apigw.create_api_key(name="from-authorizer", enabled=True, value="authorizer-issued-key-000001")
    plan = apigw.create_usage_plan(name="auth-plan", apiStages=[{"apiId": api.id, "stage": "test"}])
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    assert api.call("GET", "/metered", headers={"Authorization": "key-authorizer-issued-key-000001"}).status_code == 200
    assert api.call("GET", "/metered", headers={"Authorization": "key-wrong-key-value-000000000"}).status_code == 403


def _pool_user(client, name):
    """(pool ARN, app client id, ID token, access token) of a confirmed user in a new pool."""
    idp = client("cognito-idp")
    pool = idp.create_user_pool(PoolName=name)["UserPool"]
    app = idp.create_user_pool_client(UserPoolId=pool["Id"], ClientName="app", ExplicitAuthFlows=[
        "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool["Id"], Username="erin", MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": "erin@example.com"}])
    idp.admin_set_user_password(UserPoolId=pool["Id"], Username="erin", Password="Passw0rd!", Permanent=True)
    tokens = idp.admin_initiate_auth(UserPoolId=pool["Id"], ClientId=app, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                     AuthParameters={"USERNAME": "erin", "PASSWORD": "Passw0rd!"})["AuthenticationResult"]
    return pool["Arn"], app, tokens["IdToken"], tokens["AccessToken"]


def test_cognito_authorizer_verifies_the_pool_token_and_passes_claims(apigw, endpoint, functions, client):
    _, backend = functions
    pool_arn, app, id_token, access_token = _pool_user(client, "apigw-cognito")
    api = Api(apigw, endpoint, "auth-cognito")
    authorizer = apigw.create_authorizer(restApiId=api.id, name="pool", type="COGNITO_USER_POOLS",
                                         providerARNs=[pool_arn], identitySource="method.request.header.Authorization")
    api.lambda_proxy("/me", "GET", backend, authorizationType="COGNITO_USER_POOLS", authorizerId=authorizer["id"])
    api.lambda_proxy("/scoped", "GET", backend, authorizationType="COGNITO_USER_POOLS", authorizerId=authorizer["id"],
                     authorizationScopes=["aws.cognito.signin.user.admin"])
    api.deploy()
    r = api.call("GET", "/me", headers={"Authorization": id_token})
    assert r.status_code == 200, r.text
    claims = r.json()["requestContext"]["authorizer"]["claims"]
    assert claims["cognito:username"] == "erin" and claims["email"] == "erin@example.com" and claims["aud"] == app
    assert api.call("GET", "/me").status_code == 401
    assert api.call("GET", "/me", headers={"Authorization": id_token[:-4] + "AAAA"}).json() == {"message": "Unauthorized"}
    assert api.call("GET", "/me", headers={"Authorization": access_token}).status_code == 401  # no scopes: ID token
    assert api.call("GET", "/scoped", headers={"Authorization": access_token}).status_code == 200
    assert api.call("GET", "/scoped", headers={"Authorization": id_token}).status_code == 401
    _, _, foreign, _ = _pool_user(client, "apigw-other-pool")
    assert api.call("GET", "/me", headers={"Authorization": foreign}).status_code == 401


def _iam_api(apigw, endpoint, name):
    api = Api(apigw, endpoint, name)
    api.mock("/iam", authorizationType="AWS_IAM")
    api.deploy()
    return api


def test_aws_iam_without_signature_answers_missing_authentication_token(apigw, endpoint):
    api = _iam_api(apigw, endpoint, "iam-unsigned")
    r = api.call("GET", "/iam")
    assert r.status_code == 403
    assert r.json() == {"message": "Missing Authentication Token"}


def _signed_get(url: str, access_key: str, secret: str, token: str | None = None) -> httpx.Response:
    request = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials(access_key, secret, token), "execute-api", "us-east-1").add_auth(request)
    return httpx.get(url, headers=dict(request.headers))


def test_aws_iam_accepts_a_sigv4_signed_request(apigw, endpoint):
    api = _iam_api(apigw, endpoint, "iam-signed")
    assert _signed_get(api.url("/iam"), "AKIDEXAMPLE", "any-secret").status_code == 200


def test_aws_iam_verifies_signatures_of_overcast_issued_credentials(apigw, endpoint):
    api = _iam_api(apigw, endpoint, "iam-verified")
    sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                       aws_secret_access_key="test")
    creds = sts.get_session_token()["Credentials"]
    good = _signed_get(api.url("/iam"), creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    assert good.status_code == 200, good.text
    bad = _signed_get(api.url("/iam"), creds["AccessKeyId"], "wrong-secret", creds["SessionToken"])
    assert bad.status_code == 403
    assert "signature" in bad.json()["message"]


def test_import_realistic_openapi_with_lambda_proxy_authorizer_and_cors(apigw, endpoint, functions):
    import json

    auth_arn, backend = functions
    proxy = {"type": "aws_proxy", "httpMethod": "POST", "passthroughBehavior": "when_no_match",
             "uri": LAMBDA_URI.format(arn=backend)}
    cors = {"type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
            "responses": {"default": {"statusCode": "200", "responseParameters": {
                "method.response.header.Access-Control-Allow-Methods": "'GET,POST,OPTIONS'",
                "method.response.header.Access-Control-Allow-Headers": "'Content-Type,Authorization'",
                "method.response.header.Access-Control-Allow-Origin": "'*'"}}}}
    cors_op = {"responses": {"200": {"description": "cors", "headers": {
        "Access-Control-Allow-Origin": {"schema": {"type": "string"}},
        "Access-Control-Allow-Methods": {"schema": {"type": "string"}},
        "Access-Control-Allow-Headers": {"schema": {"type": "string"}}}}},
        "x-amazon-apigateway-integration": cors}
    spec = {
        "openapi": "3.0.1",
        "info": {"title": "Orders", "version": "2024-01-01"},
        "paths": {
            "/orders": {
                "get": {"security": [{"jwt": []}], "responses": {}, "x-amazon-apigateway-integration": proxy,
                        "parameters": [{"name": "status", "in": "query", "schema": {"type": "string"}}]},
                "post": {"security": [{"jwt": []}], "x-amazon-apigateway-request-validator": "all",
                         "requestBody": {"required": True, "content": {"application/json": {
                             "schema": {"$ref": "#/components/schemas/Order"}}}},
                         "responses": {}, "x-amazon-apigateway-integration": proxy},
                "options": cors_op,
            },
            "/orders/{orderId}": {
                "parameters": [{"name": "orderId", "in": "path", "required": True, "schema": {"type": "string"}}],
                "get": {"security": [{"jwt": []}], "responses": {}, "x-amazon-apigateway-integration": proxy},
                "options": cors_op,
            },
            "/health": {"get": {"responses": {}, "x-amazon-apigateway-integration": {
                "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
                "responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": '{"up": true}'}}}}}},
        },
        "components": {
            "schemas": {
                "Order": {"type": "object", "required": ["items"], "properties": {
                    "items": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Line"}}}},
                "Line": {"type": "object", "required": ["sku", "qty"], "properties": {
                    "sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}}},
            },
            "securitySchemes": {"jwt": {
                "type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "custom",
                "x-amazon-apigateway-authorizer": {"type": "token", "authorizerUri": LAMBDA_URI.format(arn=auth_arn),
                                                   "authorizerResultTtlInSeconds": 0}}},
        },
        "x-amazon-apigateway-request-validators": {"all": {"validateRequestBody": True, "validateRequestParameters": True}},
        "x-amazon-apigateway-gateway-responses": {
            "UNAUTHORIZED": {"statusCode": 401, "responseParameters": {"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"},
                             "responseTemplates": {"application/json": '{"error": "login required"}'}}},
    }
    api_id = apigw.import_rest_api(body=json.dumps(spec).encode())["id"]
    apigw.create_deployment(restApiId=api_id, stageName="prod")
    base = f"{endpoint}/_aws/execute-api/{api_id}/prod"
    assert httpx.get(f"{base}/health").json() == {"up": True}
    denied = httpx.get(f"{base}/orders")
    assert denied.status_code == 401
    assert denied.json() == {"error": "login required"}
    assert denied.headers["access-control-allow-origin"] == "*"
    h = {"Authorization": "alice"}
    event = httpx.get(f"{base}/orders/o-9", headers=h, timeout=30).json()
    assert event["resource"] == "/orders/{orderId}"
    assert event["pathParameters"] == {"orderId": "o-9"}
    assert event["requestContext"]["authorizer"]["principalId"] == "user-alice"
    assert httpx.post(f"{base}/orders", json={"items": [{"sku": "a", "qty": 0}]}, headers=h).status_code == 400
    assert httpx.post(f"{base}/orders", json={"items": [{"sku": "a", "qty": 2}]}, headers=h).status_code == 200
    preflight = httpx.options(f"{base}/orders/o-9")
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-methods"] == "GET,POST,OPTIONS"


def test_test_invoke_authorizer_reports_principal_and_policy(apigw, endpoint, functions):
    import json

    api, authorizer = _api_with_authorizer(apigw, endpoint, functions, "auth-test-invoke")
    out = apigw.test_invoke_authorizer(restApiId=api.id, authorizerId=authorizer["id"], headers={"Authorization": "zoe"})
    assert out["clientStatus"] == 200
    assert out["principalId"] == "user-zoe"
    assert json.loads(out["policy"])["Statement"][0]["Effect"] == "Allow"
    missing = apigw.test_invoke_authorizer(restApiId=api.id, authorizerId=authorizer["id"], headers={})
    assert missing["clientStatus"] == 401
