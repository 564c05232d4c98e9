"""Authorization modes of the GraphQL endpoint: API keys (expiry enforced), AWS_IAM (SigV4),
Lambda authorizers (resolverContext), OpenID Connect (JWT verified against the issuer's JWKS),
Cognito user pools, and per-field directives with additional providers."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
import pytest
from appsync_support import create_api, graphql_url, query
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography.hazmat.primitives.asymmetric import rsa
from lambda_functions import create_python

SCHEMA = """
type Query {
  whoami: AWSJSON
  keyOnly: String @aws_api_key
  iamOnly: String @aws_iam
}
"""

IDENTITY = '{"version": "2018-05-29", "payload": $util.toJson($ctx.identity)}'


def setup_api(appsync, name, auth, **extra):
    api_id, _ = create_api(appsync, name, SCHEMA, auth=auth, **extra)
    appsync.create_data_source(apiId=api_id, name="none", type="NONE")
    appsync.create_resolver(apiId=api_id, typeName="Query", fieldName="whoami", dataSourceName="none",
                            requestMappingTemplate=IDENTITY, responseMappingTemplate="$util.toJson($ctx.result)")
    for field in ("keyOnly", "iamOnly"):
        appsync.create_resolver(apiId=api_id, typeName="Query", fieldName=field, dataSourceName="none",
                                requestMappingTemplate=f'{{"version": "2018-05-29", "payload": "{field}"}}',
                                responseMappingTemplate="$util.toJson($ctx.result)")
    return api_id


def signed_post(endpoint, api_id, body: dict, access_key="AKIDEXAMPLE") -> httpx.Response:
    url = graphql_url(endpoint, api_id)
    request = AWSRequest(method="POST", url=url, data=json.dumps(body), headers={"content-type": "application/json"})
    SigV4Auth(Credentials(access_key, "secret"), "appsync", "us-east-1").add_auth(request)
    return httpx.post(url, content=request.body, headers=dict(request.headers.items()))


def test_iam_signed_request_is_authorized_with_its_identity(client, endpoint, unique_name):
    api_id = setup_api(client("appsync"), unique_name("iam"), "AWS_IAM")
    r = signed_post(endpoint, api_id, {"query": "{ whoami }"}, access_key="123456789012")
    assert r.status_code == 200, r.text
    identity = json.loads(r.json()["data"]["whoami"])
    assert identity["accountId"] == "123456789012" and identity["username"] == "123456789012"


def test_iam_api_refuses_unsigned_requests(client, endpoint, unique_name):
    api_id = setup_api(client("appsync"), unique_name("iam"), "AWS_IAM")
    assert httpx.post(graphql_url(endpoint, api_id), json={"query": "{ whoami }"}).status_code == 401


def test_additional_api_key_provider_reaches_only_fields_that_allow_it(client, endpoint, unique_name):
    appsync = client("appsync")
    api_id = setup_api(appsync, unique_name("multi"), "AWS_IAM",
                       additionalAuthenticationProviders=[{"authenticationType": "API_KEY"}])
    key = appsync.create_api_key(apiId=api_id)["apiKey"]["id"]
    assert query(endpoint, api_id, key, "{ keyOnly }").json() == {"data": {"keyOnly": "keyOnly"}}
    body = query(endpoint, api_id, key, "{ iamOnly }").json()
    assert body["data"] == {"iamOnly": None}
    assert body["errors"][0]["errorType"] == "Unauthorized"
    assert body["errors"][0]["message"] == "Not Authorized to access iamOnly on type Query"
    assert signed_post(endpoint, api_id, {"query": "{ iamOnly }"}).json() == {"data": {"iamOnly": "iamOnly"}}


def test_lambda_authorizer_passes_resolver_context(client, endpoint, unique_name):
    lam = client("lambda")
    fn = unique_name("authz")
    create_python(lam, fn, "def handler(event, context):\n"
                           "    ok = event['authorizationToken'] == 'let-me-in'\n"
                           "    return {'isAuthorized': ok, 'resolverContext': {'user': 'u1', 'api': event['requestContext']['apiId']}}\n")
    arn = lam.get_function(FunctionName=fn)["Configuration"]["FunctionArn"]
    api_id = setup_api(client("appsync"), unique_name("lambda"), "AWS_LAMBDA",
                       lambdaAuthorizerConfig={"authorizerUri": arn, "authorizerResultTtlInSeconds": 0})
    ok = httpx.post(graphql_url(endpoint, api_id), json={"query": "{ whoami }"}, headers={"authorization": "let-me-in"})
    assert json.loads(ok.json()["data"]["whoami"]) == {"resolverContext": {"user": "u1", "api": api_id}}
    denied = httpx.post(graphql_url(endpoint, api_id), json={"query": "{ whoami }"}, headers={"authorization": "nope"})
    assert denied.status_code == 401


@pytest.fixture(scope="module")
def oidc_issuer():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    public.update({"kid": "k1", "alg": "RS256", "use": "sig"})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            issuer = f"http://127.0.0.1:{self.server.server_port}"
            if self.path == "/.well-known/openid-configuration":
                body = {"issuer": issuer, "jwks_uri": f"{issuer}/keys"}
            elif self.path == "/keys":
                body = {"keys": [public]}
            else:
                self.send_response(404)
                self.end_headers()
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    issuer = f"http://127.0.0.1:{server.server_port}"

    def token(**claims):
        now = int(time.time())
        body = {"iss": issuer, "sub": "user-1", "aud": "client-1", "iat": now, "exp": now + 600, **claims}
        return jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"})

    yield issuer, token
    server.shutdown()


def test_oidc_token_verified_against_the_issuer_jwks(client, endpoint, unique_name, oidc_issuer):
    issuer, token = oidc_issuer
    api_id = setup_api(client("appsync"), unique_name("oidc"), "OPENID_CONNECT",
                       openIDConnectConfig={"issuer": issuer, "clientId": "client-1"})
    r = httpx.post(graphql_url(endpoint, api_id), json={"query": "{ whoami }"}, headers={"authorization": token()})
    assert r.status_code == 200, r.text
    identity = json.loads(r.json()["data"]["whoami"])
    assert identity["sub"] == "user-1" and identity["issuer"] == issuer and identity["claims"]["aud"] == "client-1"


def test_oidc_expired_or_foreign_tokens_are_refused(client, endpoint, unique_name, oidc_issuer):
    issuer, token = oidc_issuer
    api_id = setup_api(client("appsync"), unique_name("oidc"), "OPENID_CONNECT",
                       openIDConnectConfig={"issuer": issuer, "clientId": "client-1"})
    url = graphql_url(endpoint, api_id)
    expired = token(exp=int(time.time()) - 10)
    assert httpx.post(url, json={"query": "{ whoami }"}, headers={"authorization": expired}).status_code == 401
    other_audience = token(aud="someone-else")
    assert httpx.post(url, json={"query": "{ whoami }"}, headers={"authorization": other_audience}).status_code == 401
    forged = token()[:-4] + "AAAA"
    assert httpx.post(url, json={"query": "{ whoami }"}, headers={"authorization": forged}).status_code == 401


def cognito_user(client, unique_name, groups=()) -> tuple[str, str, str]:
    """(pool id, app client id, an ID token) for a confirmed user of a new pool, in `groups`."""
    idp = client("cognito-idp")
    pool = idp.create_user_pool(PoolName=unique_name("pool"))["UserPool"]["Id"]
    app = idp.create_user_pool_client(UserPoolId=pool, ClientName="app", ExplicitAuthFlows=[
        "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool, Username="carol", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool, Username="carol", Password="Passw0rd!", Permanent=True)
    for group in groups:
        idp.create_group(UserPoolId=pool, GroupName=group)
        idp.admin_add_user_to_group(UserPoolId=pool, Username="carol", GroupName=group)
    result = idp.admin_initiate_auth(UserPoolId=pool, ClientId=app, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                     AuthParameters={"USERNAME": "carol", "PASSWORD": "Passw0rd!"})
    return pool, app, result["AuthenticationResult"]["IdToken"]


def test_cognito_user_pool_token_gives_claims(client, endpoint, unique_name):
    pool, app, token = cognito_user(client, unique_name, ["admins"])
    api_id = setup_api(client("appsync"), unique_name("cognito"), "AMAZON_COGNITO_USER_POOLS",
                       userPoolConfig={"userPoolId": pool, "awsRegion": "us-east-1", "defaultAction": "ALLOW"})
    r = httpx.post(graphql_url(endpoint, api_id), json={"query": "{ whoami }"}, headers={"authorization": token})
    identity = json.loads(r.json()["data"]["whoami"])
    assert identity["username"] == "carol" and identity["groups"] == ["admins"]
    assert identity["claims"]["aud"] == app


def test_forged_expired_or_foreign_cognito_tokens_are_refused(client, endpoint, unique_name):
    pool, _, token = cognito_user(client, unique_name)
    other_pool, _, other_token = cognito_user(client, unique_name)
    api_id = setup_api(client("appsync"), unique_name("cognito"), "AMAZON_COGNITO_USER_POOLS",
                       userPoolConfig={"userPoolId": pool, "awsRegion": "us-east-1", "defaultAction": "ALLOW"})
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode({**claims, "cognito:groups": ["admins"]}, "k" * 32, algorithm="HS256")
    unsigned = jwt.encode(claims, None, algorithm="none")
    for bad in (forged, unsigned, other_token, token[:-4] + "AAAA"):
        assert httpx.post(graphql_url(endpoint, api_id), json={"query": "{ whoami }"},
                          headers={"authorization": bad}).status_code == 401
    assert httpx.post(graphql_url(endpoint, api_id), json={"query": "{ whoami }"},
                      headers={"authorization": token}).status_code == 200


def test_expired_api_key_is_refused():
    from overcast.services.appsync.auth import Authenticator

    class Api:
        api = {"authenticationType": "API_KEY"}
        api_keys = {"da2-old": {"id": "da2-old", "expires": int(time.time()) - 1},
                    "da2-new": {"id": "da2-new", "expires": int(time.time()) + 3600}}

    auth = Authenticator(None)
    assert asyncio.run(auth.authenticate(Api(), {"x-api-key": "da2-old"}, None, "127.0.0.1")) is None
    assert asyncio.run(auth.authenticate(Api(), {"x-api-key": "da2-new"}, None, "127.0.0.1")) == ("API_KEY", None)


def test_cognito_groups_in_the_directive_restrict_the_field(client, endpoint, unique_name):
    appsync = client("appsync")
    admin_pool, _, admin_token = cognito_user(client, unique_name, ["admins"])
    idp = client("cognito-idp")
    idp.admin_create_user(UserPoolId=admin_pool, Username="dave", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=admin_pool, Username="dave", Password="Passw0rd!", Permanent=True)
    app = idp.list_user_pool_clients(UserPoolId=admin_pool)["UserPoolClients"][0]["ClientId"]
    user_token = idp.admin_initiate_auth(UserPoolId=admin_pool, ClientId=app, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                         AuthParameters={"USERNAME": "dave", "PASSWORD": "Passw0rd!"})[
        "AuthenticationResult"]["IdToken"]
    api_id, _ = create_api(appsync, unique_name("groups"), """
type Query {
  open: String
  admin: String @aws_cognito_user_pools(cognito_groups: ["admins"])
}""", auth="AMAZON_COGNITO_USER_POOLS", userPoolConfig={"userPoolId": admin_pool, "awsRegion": "us-east-1",
                                                        "defaultAction": "ALLOW"})
    appsync.create_data_source(apiId=api_id, name="none", type="NONE")
    for field in ("open", "admin"):
        appsync.create_resolver(apiId=api_id, typeName="Query", fieldName=field, dataSourceName="none",
                                requestMappingTemplate=f'{{"version": "2018-05-29", "payload": "{field}"}}',
                                responseMappingTemplate="$util.toJson($ctx.result)")

    def as_user(token):
        return httpx.post(graphql_url(endpoint, api_id), json={"query": "{ open admin }"},
                          headers={"authorization": token}).json()

    assert as_user(admin_token) == {"data": {"open": "open", "admin": "admin"}}
    body = as_user(user_token)
    assert body["data"] == {"open": "open", "admin": None}
    assert body["errors"][0]["errorType"] == "Unauthorized"
