"""HTTP APIs served for real: routes, payload formats 2.0 and 1.0, authorizers, CORS, mapping,
throttling and service integrations, reached with httpx on overcast's URL forms."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from apigatewayv2_support import ECHO, api_url, function_arn, host_headers, http_api

LAMBDA_ROLE = "arn:aws:iam::000000000000:role/r"


@pytest.fixture(scope="module")
def gw(client):
    return client("apigatewayv2")


@pytest.fixture(scope="module")
def echo(client):
    return function_arn(client("lambda"), f"echo-{uuid.uuid4().hex[:12]}", ECHO)


def _api_with_routes(gw, echo, keys, version="2.0", **api_kwargs):
    api_id = gw.create_api(Name="routes", ProtocolType="HTTP", **api_kwargs)["ApiId"]
    integration = gw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=echo,
                                        PayloadFormatVersion=version)
    for key in keys:
        gw.create_route(ApiId=api_id, RouteKey=key, Target="integrations/" + integration["IntegrationId"])
    gw.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    return api_id, integration


def test_payload_format_2_event(gw, echo, endpoint):
    api_id = http_api(gw, echo)["ApiId"]
    response = httpx.post(api_url(endpoint, api_id) + "/a/b?x=1&x=2&y=3", content=b'{"k": 1}',
                          headers={"content-type": "application/json", "cookie": "c1=v1; c2=v2", "x-custom": "h"})
    assert response.status_code == 200
    event = response.json()
    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == "/a/b"
    assert event["rawQueryString"] == "x=1&x=2&y=3"
    assert event["queryStringParameters"] == {"x": "1,2", "y": "3"}
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    assert event["headers"]["x-custom"] == "h" and "cookie" not in event["headers"]
    assert event["body"] == '{"k": 1}' and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["apiId"] == api_id and context["stage"] == "$default"
    assert context["domainName"].startswith(f"{api_id}.execute-api.localhost.localstack.cloud")
    assert context["domainPrefix"] == api_id
    assert context["http"]["method"] == "POST" and context["http"]["path"] == "/a/b"
    assert context["http"]["sourceIp"] == "127.0.0.1"
    assert isinstance(context["timeEpoch"], int)
    assert response.headers["apigw-requestid"] == context["requestId"]


def test_host_form_reaches_the_api(gw, echo, endpoint):
    api_id = http_api(gw, echo)["ApiId"]
    response = httpx.get(endpoint + "/hello", headers=host_headers(endpoint, api_id))
    assert response.status_code == 200
    assert response.json()["rawPath"] == "/hello"


def test_binary_body_is_base64_encoded(gw, echo, endpoint):
    api_id = http_api(gw, echo)["ApiId"]
    event = httpx.post(api_url(endpoint, api_id) + "/bin", content=b"\x00\xff\x01",
                       headers={"content-type": "application/octet-stream"}).json()
    assert event["isBase64Encoded"] is True and event["body"] == "AP8B"


def test_payload_format_1_event(gw, echo, endpoint):
    api_id, _ = _api_with_routes(gw, echo, ["GET /items/{id}"], version="1.0")
    event = httpx.get(api_url(endpoint, api_id) + "/items/42?a=1&a=2", headers={"x-h": "v"}).json()
    assert event["version"] == "1.0"
    assert event["resource"] == "/items/{id}" and event["path"] == "/items/42" and event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"a": "2"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert event["multiValueHeaders"]["x-h"] == ["v"]
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    assert event["requestContext"]["resourcePath"] == "/items/{id}"
    assert event["body"] is None and event["isBase64Encoded"] is False


# AWS's "format inferred" rule for payload format 2.0: valid JSON without a statusCode is the body,
# a string as itself (no quotes), anything else as the function's JSON; 200, application/json.
@pytest.mark.parametrize("answer, body", [
    ('"Hello from Lambda!"', "Hello from Lambda!"),
    ('{"message": "Hello from Lambda!"}', {"message": "Hello from Lambda!"}),
    ('{"body": "x", "headers": {"x-a": "b"}}', {"body": "x", "headers": {"x-a": "b"}}),
    ("[1, 2]", [1, 2]),
])
def test_format_2_infers_200_json_response(gw, client, unique_name, endpoint, answer, body):
    arn = function_arn(client("lambda"), unique_name("infer"), f"def handler(e, c):\n    return {answer}\n")
    response = httpx.get(api_url(endpoint, http_api(gw, arn)["ApiId"]) + "/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "x-a" not in response.headers
    assert (response.text if isinstance(body, str) else response.json()) == body


def test_proxy_response_status_headers_cookies_and_base64(gw, client, unique_name, endpoint):
    code = ("import base64\ndef handler(e, c):\n    return {'statusCode': 201, 'headers': {'x-a': 'b'}, "
            "'cookies': ['s=1; Path=/'], 'isBase64Encoded': True, 'body': base64.b64encode(b'\\x01\\x02').decode()}\n")
    arn = function_arn(client("lambda"), unique_name("resp"), code)
    response = httpx.get(api_url(endpoint, http_api(gw, arn)["ApiId"]) + "/")
    assert response.status_code == 201
    assert response.headers["x-a"] == "b"
    assert response.headers["set-cookie"] == "s=1; Path=/"
    assert response.content == b"\x01\x02"


def test_format_1_without_status_code_is_500(gw, client, unique_name, endpoint):
    arn = function_arn(client("lambda"), unique_name("bad1"), "def handler(e, c):\n    return 'text'\n")
    api_id = gw.create_api(Name="v1", ProtocolType="HTTP")["ApiId"]
    integration = gw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=arn,
                                        PayloadFormatVersion="1.0")
    gw.create_route(ApiId=api_id, RouteKey="$default", Target="integrations/" + integration["IntegrationId"])
    gw.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    response = httpx.get(api_url(endpoint, api_id) + "/")
    assert response.status_code == 500 and response.json() == {"message": "Internal Server Error"}


def test_function_error_answers_500(gw, client, unique_name, endpoint):
    arn = function_arn(client("lambda"), unique_name("err"), "def handler(e, c):\n    raise ValueError('x')\n")
    response = httpx.get(api_url(endpoint, http_api(gw, arn)["ApiId"]) + "/")
    assert response.status_code == 500 and response.json() == {"message": "Internal Server Error"}


def test_integration_timeout_answers_503(gw, client, unique_name, endpoint):
    arn = function_arn(client("lambda"), unique_name("slow"), "import time\ndef handler(e, c):\n    time.sleep(2)\n",
                       Timeout=5)
    api_id = gw.create_api(Name="slow", ProtocolType="HTTP")["ApiId"]
    integration = gw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=arn,
                                        PayloadFormatVersion="2.0", TimeoutInMillis=500)
    gw.create_route(ApiId=api_id, RouteKey="$default", Target="integrations/" + integration["IntegrationId"])
    gw.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    started = time.monotonic()
    response = httpx.get(api_url(endpoint, api_id) + "/", timeout=10)
    assert response.status_code == 503 and response.json() == {"message": "Service Unavailable"}
    assert time.monotonic() - started < 1.8


def test_request_over_10_mb_is_413(gw, echo, endpoint):
    api_id = http_api(gw, echo)["ApiId"]
    response = httpx.post(api_url(endpoint, api_id) + "/", content=b"x" * (10 * 1024 * 1024 + 1))
    assert response.status_code == 413 and response.json() == {"message": "Request Entity Too Large"}


def test_most_specific_route_wins(gw, echo, endpoint):
    api_id, _ = _api_with_routes(gw, echo, ["ANY /pets/{proxy+}", "GET /pets/{id}", "GET /pets/dog", "ANY /pets/{id}",
                                            "$default"])
    base = api_url(endpoint, api_id)
    assert httpx.get(base + "/pets/dog").json()["routeKey"] == "GET /pets/dog"
    assert httpx.get(base + "/pets/cat").json()["routeKey"] == "GET /pets/{id}"
    assert httpx.post(base + "/pets/cat").json()["routeKey"] == "ANY /pets/{id}"
    greedy = httpx.get(base + "/pets/a/b/c").json()
    assert greedy["routeKey"] == "ANY /pets/{proxy+}" and greedy["pathParameters"] == {"proxy": "a/b/c"}
    assert httpx.get(base + "/other").json()["routeKey"] == "$default"


def test_no_matching_route_is_404(gw, echo, endpoint):
    api_id, _ = _api_with_routes(gw, echo, ["GET /only"])
    response = httpx.get(api_url(endpoint, api_id) + "/missing")
    assert response.status_code == 404 and response.json() == {"message": "Not Found"}


def test_missing_api_is_404(endpoint):
    response = httpx.get(api_url(endpoint, "nosuchapi1") + "/x")
    assert response.status_code == 404 and response.json() == {"message": "Not Found"}


def test_named_stage_prefix_and_stage_variables(gw, echo, endpoint):
    api_id = gw.create_api(Name="stage", ProtocolType="HTTP")["ApiId"]
    integration = gw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=echo,
                                        PayloadFormatVersion="2.0")
    gw.create_route(ApiId=api_id, RouteKey="GET /x", Target="integrations/" + integration["IntegrationId"])
    gw.create_stage(ApiId=api_id, StageName="prod", AutoDeploy=True, StageVariables={"env": "p"})
    event = httpx.get(api_url(endpoint, api_id, "prod") + "/x").json()
    assert event["requestContext"]["stage"] == "prod"
    assert event["rawPath"] == "/prod/x"
    assert event["stageVariables"] == {"env": "p"}


def test_stage_variable_selects_the_function(gw, echo, endpoint):
    api_id = gw.create_api(Name="stagevar", ProtocolType="HTTP")["ApiId"]
    template = echo.rsplit(":", 1)[0] + ":${stageVariables.fn}"
    integration = gw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=template,
                                        PayloadFormatVersion="2.0")
    gw.create_route(ApiId=api_id, RouteKey="GET /v", Target="integrations/" + integration["IntegrationId"])
    gw.create_stage(ApiId=api_id, StageName="blue", AutoDeploy=True, StageVariables={"fn": echo.rsplit(":", 1)[1]})
    assert httpx.get(api_url(endpoint, api_id, "blue") + "/v").json()["stageVariables"]["fn"] == echo.rsplit(":", 1)[1]


def test_stage_without_auto_deploy_serves_its_deployment(gw, echo, endpoint):
    api_id = gw.create_api(Name="dep", ProtocolType="HTTP")["ApiId"]
    integration = gw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=echo,
                                        PayloadFormatVersion="2.0")
    gw.create_route(ApiId=api_id, RouteKey="GET /one", Target="integrations/" + integration["IntegrationId"])
    gw.create_stage(ApiId=api_id, StageName="live")
    assert httpx.get(api_url(endpoint, api_id, "live") + "/one").status_code == 404  # nothing deployed yet
    gw.create_deployment(ApiId=api_id, StageName="live")
    gw.create_route(ApiId=api_id, RouteKey="GET /two", Target="integrations/" + integration["IntegrationId"])
    assert httpx.get(api_url(endpoint, api_id, "live") + "/one").status_code == 200
    assert httpx.get(api_url(endpoint, api_id, "live") + "/two").status_code == 404  # not deployed


def test_custom_domain_name_serves_its_api_mappings(gw, echo, endpoint):
    import uuid as _uuid

    name = f"shop-{_uuid.uuid4().hex[:8]}.example.com"
    api_id, _ = _api_with_routes(gw, echo, ["GET /orders/{id}", "$default"])
    gw.create_domain_name(DomainName=name)
    gw.create_api_mapping(DomainName=name, ApiId=api_id, Stage="$default", ApiMappingKey="v1")
    port = endpoint.rsplit(":", 1)[1]
    response = httpx.get(f"http://127.0.0.1:{port}/v1/orders/7", headers={"host": f"{name}:{port}"})
    assert response.status_code == 200
    event = response.json()
    assert event["routeKey"] == "GET /orders/{id}" and event["pathParameters"] == {"id": "7"}
    assert event["requestContext"]["domainName"] == f"{name}:{port}"
    assert httpx.get(f"http://127.0.0.1:{port}/v2/x", headers={"host": name}).status_code == 404
    gw.delete_domain_name(DomainName=name)
    assert httpx.get(f"http://127.0.0.1:{port}/v1/orders/7", headers={"host": name}).status_code != 200


def test_parameter_mapping_overwrites_appends_and_removes(gw, echo, endpoint):
    api_id, integration = _api_with_routes(gw, echo, ["$default"])
    gw.update_integration(ApiId=api_id, IntegrationId=integration["IntegrationId"], RequestParameters={
        "overwrite:header.x-over": "static", "append:header.x-app": "$request.querystring.q",
        "remove:header.x-gone": "''", "overwrite:querystring.added": "$context.requestId"})
    event = httpx.get(api_url(endpoint, api_id) + "/m?q=v", headers={"x-over": "old", "x-app": "a", "x-gone": "1"}).json()
    assert event["headers"]["x-over"] == "static"
    assert event["headers"]["x-app"] == "a,v"
    assert "x-gone" not in event["headers"]
    assert event["queryStringParameters"]["added"] == event["requestContext"]["requestId"]


def test_response_parameter_mapping(gw, echo, endpoint):
    api_id, integration = _api_with_routes(gw, echo, ["$default"])
    gw.update_integration(ApiId=api_id, IntegrationId=integration["IntegrationId"], ResponseParameters={
        "200": {"overwrite:statuscode": "202", "append:header.x-extra": "yes"}})
    response = httpx.get(api_url(endpoint, api_id) + "/")
    assert response.status_code == 202 and response.headers["x-extra"] == "yes"


def test_cors_preflight_answered_by_gateway(gw, echo, endpoint):
    api_id = http_api(gw, echo, CorsConfiguration={
        "AllowOrigins": ["https://shop.example"], "AllowMethods": ["GET", "POST"], "AllowHeaders": ["content-type"],
        "MaxAge": 300})["ApiId"]
    preflight = httpx.options(api_url(endpoint, api_id) + "/x", headers={
        "origin": "https://shop.example", "access-control-request-method": "POST"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://shop.example"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["access-control-max-age"] == "300"
    response = httpx.get(api_url(endpoint, api_id) + "/x", headers={"origin": "https://shop.example"})
    assert response.headers["access-control-allow-origin"] == "https://shop.example"
    other = httpx.get(api_url(endpoint, api_id) + "/x", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_route_throttling_answers_429(gw, echo, endpoint):
    api_id, _ = _api_with_routes(gw, echo, ["GET /t"])
    gw.update_stage(ApiId=api_id, StageName="$default",
                    RouteSettings={"GET /t": {"ThrottlingBurstLimit": 1, "ThrottlingRateLimit": 0.01}})
    first = httpx.get(api_url(endpoint, api_id) + "/t")
    second = httpx.get(api_url(endpoint, api_id) + "/t")
    assert first.status_code == 200
    assert second.status_code == 429 and second.json() == {"message": "Too Many Requests"}


# -- authorizers -----------------------------------------------------------------------------


class _Issuer:
    """An OpenID issuer on a local port: its configuration, its JWKS, and tokens it signs."""

    def __init__(self):
        import jwt
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        public.update(kid="k1", use="sig", alg="RS256")
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    body = json.dumps({"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks"}).encode()
                elif self.path == "/jwks":
                    body = json.dumps({"keys": [public]}).encode()
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, **claims) -> str:
        import jwt

        now = int(time.time())
        payload = {"iss": self.url, "aud": "my-app", "sub": "user-1", "iat": now, "exp": now + 300, **claims}
        return jwt.encode(payload, self.key, algorithm="RS256", headers={"kid": "k1"})


@pytest.fixture(scope="module")
def issuer():
    server = _Issuer()
    yield server
    server.server.shutdown()


@pytest.fixture(scope="module")
def jwt_api(gw, echo, issuer):
    api_id, integration = _api_with_routes(gw, echo, [])
    authorizer = gw.create_authorizer(ApiId=api_id, Name="jwt", AuthorizerType="JWT",
                                      IdentitySource=["$request.header.Authorization"],
                                      JwtConfiguration={"Issuer": issuer.url, "Audience": ["my-app"]})
    for key, scopes in (("GET /open", None), ("GET /admin", ["admin"])):
        gw.create_route(ApiId=api_id, RouteKey=key, Target="integrations/" + integration["IntegrationId"],
                        AuthorizationType="JWT", AuthorizerId=authorizer["AuthorizerId"],
                        **({"AuthorizationScopes": scopes} if scopes else {}))
    return api_id


def test_jwt_authorizer_accepts_valid_token_and_passes_claims(jwt_api, issuer, endpoint):
    token = issuer.token(scope="read admin")
    response = httpx.get(api_url(endpoint, jwt_api) + "/open", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200
    jwt_context = response.json()["requestContext"]["authorizer"]["jwt"]
    assert jwt_context["claims"]["sub"] == "user-1"
    assert jwt_context["scopes"] == ["read", "admin"]


def test_jwt_claims_reach_parameter_mapping(gw, jwt_api, issuer, endpoint):
    integration_id = gw.get_integrations(ApiId=jwt_api)["Items"][0]["IntegrationId"]
    gw.update_integration(ApiId=jwt_api, IntegrationId=integration_id,
                          RequestParameters={"overwrite:header.x-user": "$context.authorizer.claims.sub"})
    token = issuer.token()
    event = httpx.get(api_url(endpoint, jwt_api) + "/open", headers={"authorization": token}).json()
    assert event["headers"]["x-user"] == "user-1"


def test_jwt_authorizer_rejects_missing_token(jwt_api, endpoint):
    response = httpx.get(api_url(endpoint, jwt_api) + "/open")
    assert response.status_code == 401 and response.json() == {"message": "Unauthorized"}


def test_jwt_authorizer_rejects_expired_token(jwt_api, issuer, endpoint):
    token = issuer.token(exp=int(time.time()) - 10)
    assert httpx.get(api_url(endpoint, jwt_api) + "/open", headers={"authorization": token}).status_code == 401


def test_jwt_authorizer_rejects_wrong_audience(jwt_api, issuer, endpoint):
    token = issuer.token(aud="someone-else")
    assert httpx.get(api_url(endpoint, jwt_api) + "/open", headers={"authorization": token}).status_code == 401


def test_jwt_authorizer_rejects_wrong_issuer(jwt_api, issuer, endpoint):
    token = issuer.token(iss="http://elsewhere")
    assert httpx.get(api_url(endpoint, jwt_api) + "/open", headers={"authorization": token}).status_code == 401


def test_jwt_authorizer_requires_route_scopes(jwt_api, issuer, endpoint):
    token = issuer.token(scope="read")
    response = httpx.get(api_url(endpoint, jwt_api) + "/admin", headers={"authorization": token})
    assert response.status_code == 403 and response.json() == {"message": "Forbidden"}


AUTHORIZER_SIMPLE = """
import os
def handler(event, context):
    print("called")
    token = event["headers"].get("x-token")
    return {"isAuthorized": token == "good", "context": {"user": "u-" + str(token)}}
"""

AUTHORIZER_IAM = """
def handler(event, context):
    effect = "Allow" if event["headers"].get("x-token") == "good" else "Deny"
    return {"principalId": "p1", "policyDocument": {"Version": "2012-10-17", "Statement": [
        {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["routeArn"]}]}, "context": {"k": "v"}}
"""


def _lambda_authorized_api(gw, echo, authorizer_arn, simple: bool, ttl: int = 0):
    api_id, integration = _api_with_routes(gw, echo, [])
    authorizer = gw.create_authorizer(ApiId=api_id, Name="la", AuthorizerType="REQUEST", AuthorizerUri=authorizer_arn,
                                      AuthorizerPayloadFormatVersion="2.0", EnableSimpleResponses=simple,
                                      IdentitySource=["$request.header.x-token"], AuthorizerResultTtlInSeconds=ttl)
    gw.create_route(ApiId=api_id, RouteKey="GET /p", Target="integrations/" + integration["IntegrationId"],
                    AuthorizationType="CUSTOM", AuthorizerId=authorizer["AuthorizerId"])
    return api_id


def test_lambda_authorizer_simple_response(gw, echo, client, unique_name, endpoint):
    arn = function_arn(client("lambda"), unique_name("auth"), AUTHORIZER_SIMPLE)
    api_id = _lambda_authorized_api(gw, echo, arn, simple=True)
    allowed = httpx.get(api_url(endpoint, api_id) + "/p", headers={"x-token": "good"})
    assert allowed.status_code == 200
    assert allowed.json()["requestContext"]["authorizer"]["lambda"] == {"user": "u-good"}
    denied = httpx.get(api_url(endpoint, api_id) + "/p", headers={"x-token": "bad"})
    assert denied.status_code == 403 and denied.json() == {"message": "Forbidden"}
    missing = httpx.get(api_url(endpoint, api_id) + "/p")
    assert missing.status_code == 401 and missing.json() == {"message": "Unauthorized"}


def test_lambda_authorizer_iam_policy_response(gw, echo, client, unique_name, endpoint):
    arn = function_arn(client("lambda"), unique_name("authiam"), AUTHORIZER_IAM)
    api_id = _lambda_authorized_api(gw, echo, arn, simple=False)
    allowed = httpx.get(api_url(endpoint, api_id) + "/p", headers={"x-token": "good"})
    assert allowed.status_code == 200
    assert allowed.json()["requestContext"]["authorizer"]["lambda"]["k"] == "v"
    assert httpx.get(api_url(endpoint, api_id) + "/p", headers={"x-token": "no"}).status_code == 403


def test_lambda_authorizer_answers_are_cached_for_ttl(gw, echo, client, unique_name, endpoint):
    lam, logs = client("lambda"), client("logs")
    name = unique_name("authc")
    arn = function_arn(lam, name, AUTHORIZER_SIMPLE)
    api_id = _lambda_authorized_api(gw, echo, arn, simple=True, ttl=300)
    for _ in range(3):
        assert httpx.get(api_url(endpoint, api_id) + "/p", headers={"x-token": "good"}).status_code == 200
    events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}", filterPattern="called")["events"]
    assert len([e for e in events if e["message"].startswith("called")]) == 1


# -- other integrations ----------------------------------------------------------------------


def test_sqs_send_message_integration(gw, client, unique_name, endpoint):
    sqs = client("sqs")
    queue_url = sqs.create_queue(QueueName=unique_name("q"))["QueueUrl"]
    api_id = gw.create_api(Name="sqs", ProtocolType="HTTP")["ApiId"]
    integration = gw.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationSubtype="SQS-SendMessage", PayloadFormatVersion="1.0",
        CredentialsArn=LAMBDA_ROLE, RequestParameters={"QueueUrl": queue_url, "MessageBody": "$request.body.message"})
    gw.create_route(ApiId=api_id, RouteKey="POST /hook", Target="integrations/" + integration["IntegrationId"])
    gw.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    response = httpx.post(api_url(endpoint, api_id) + "/hook", json={"message": "hello queue"})
    assert response.status_code == 200 and "MessageId" in response.json()
    messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"]
    assert messages[0]["Body"] == "hello queue"


def test_kinesis_put_record_integration(gw, client, unique_name, endpoint):
    kinesis = client("kinesis")
    stream = unique_name("s")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    api_id = gw.create_api(Name="kinesis", ProtocolType="HTTP")["ApiId"]
    integration = gw.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationSubtype="Kinesis-PutRecord", PayloadFormatVersion="1.0",
        CredentialsArn=LAMBDA_ROLE, RequestParameters={"StreamName": stream, "Data": "$request.body",
                                                       "PartitionKey": "$request.header.x-key"})
    gw.create_route(ApiId=api_id, RouteKey="POST /click", Target="integrations/" + integration["IntegrationId"])
    gw.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    response = httpx.post(api_url(endpoint, api_id) + "/click", content=b'{"page": "home"}', headers={"x-key": "k"})
    assert response.status_code == 200 and "SequenceNumber" in response.json()
    shard = kinesis.describe_stream(StreamName=stream)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=iterator)["Records"]] == [b'{"page": "home"}']


def test_http_proxy_integration_forwards_the_request(gw, endpoint):
    seen = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            seen["path"] = self.path
            seen["body"] = self.rfile.read(int(self.headers["content-length"]))
            body = b'{"from": "backend"}'
            self.send_response(201)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        backend = f"http://127.0.0.1:{server.server_address[1]}"
        api_id = gw.create_api(Name="proxy", ProtocolType="HTTP")["ApiId"]
        integration = gw.create_integration(ApiId=api_id, IntegrationType="HTTP_PROXY", IntegrationMethod="ANY",
                                            IntegrationUri=backend + "/backend/{proxy}", PayloadFormatVersion="1.0")
        gw.create_route(ApiId=api_id, RouteKey="ANY /api/{proxy+}", Target="integrations/" + integration["IntegrationId"])
        gw.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
        response = httpx.post(api_url(endpoint, api_id) + "/api/x/y?q=1", content=b"payload")
        assert response.status_code == 201 and response.json() == {"from": "backend"}
        assert seen["path"] == "/backend/x/y?q=1" and seen["body"] == b"payload"
    finally:
        server.shutdown()


def test_payload_format_1_keeps_each_value_of_a_repeated_header(gw, echo, endpoint):
    api_id, _ = _api_with_routes(gw, echo, ["GET /items/{id}"], version="1.0")
    event = httpx.get(api_url(endpoint, api_id) + "/items/1", headers=[("x-tag", "a"), ("x-tag", "b, c")]).json()
    assert event["multiValueHeaders"]["x-tag"] == ["a", "b, c"]


def test_jwt_authorizer_trusts_an_overcast_user_pool_issuer(gw, echo, client, endpoint):
    idp = client("cognito-idp")
    pool = idp.create_user_pool(PoolName="httpapi-pool")["UserPool"]["Id"]
    app = idp.create_user_pool_client(UserPoolId=pool, ClientName="spa", ExplicitAuthFlows=[
        "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool, Username="frank", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool, Username="frank", Password="Passw0rd!", Permanent=True)
    tokens = idp.admin_initiate_auth(UserPoolId=pool, ClientId=app, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                     AuthParameters={"USERNAME": "frank", "PASSWORD": "Passw0rd!"})["AuthenticationResult"]
    api_id, integration = _api_with_routes(gw, echo, [])
    authorizer = gw.create_authorizer(ApiId=api_id, Name="pool", AuthorizerType="JWT",
                                      IdentitySource=["$request.header.Authorization"],
                                      JwtConfiguration={"Issuer": f"https://cognito-idp.us-east-1.amazonaws.com/{pool}",
                                                        "Audience": [app]})
    gw.create_route(ApiId=api_id, RouteKey="GET /me", Target="integrations/" + integration["IntegrationId"],
                    AuthorizationType="JWT", AuthorizerId=authorizer["AuthorizerId"])
    url = api_url(endpoint, api_id) + "/me"
    for token in (tokens["AccessToken"], tokens["IdToken"]):  # access tokens match by client_id, ID tokens by aud
        response = httpx.get(url, headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        assert response.json()["requestContext"]["authorizer"]["jwt"]["claims"]["sub"]
    forged = tokens["AccessToken"][:-4] + "AAAA"
    assert httpx.get(url, headers={"authorization": f"Bearer {forged}"}).status_code == 401
