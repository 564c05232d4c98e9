"""Who is calling a GraphQL API, per authorization mode: API_KEY (x-api-key, expiry enforced),
AWS_IAM (SigV4: the credential scope is read and the caller's account resolved; the signature is
not verified), AWS_LAMBDA (the authorizer function decides; resolverContext reaches $ctx.identity),
OPENID_CONNECT (the JWT is verified against the issuer's JWKS with PyJWT) and
AMAZON_COGNITO_USER_POOLS (the token is verified against overcast's own user pool: its key, its
expiry, its revocations)."""

from __future__ import annotations

import base64
import logging
import re
import time

import orjson

log = logging.getLogger("overcast.appsync")

UNAUTHORIZED = {"errors": [{"errorType": "UnauthorizedException", "message": "You are not authorized to make this call."}]}

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")


def _jwt_claims(token: str) -> dict | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = orjson.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, orjson.JSONDecodeError):
        return None
    return claims if isinstance(claims, dict) else None


def _bearer(value: str) -> str:
    return value[7:].strip() if value[:7].lower() == "bearer " else value.strip()


class Authenticator:
    def __init__(self, provider):
        self.provider = provider
        self._lambda_cache: dict[tuple, tuple[float, object]] = {}
        self._jwks: dict[str, tuple[float, dict]] = {}

    def reset(self) -> None:
        self._lambda_cache.clear()
        self._jwks.clear()

    def _providers(self, api) -> list[dict]:
        doc = api.api
        return [doc] + list(doc.get("additionalAuthenticationProviders") or [])

    async def authenticate(self, api, headers: dict, request, source_ip, query_string: str = "",
                           operation: dict | None = None):
        """(mode, identity) for the credentials in `headers` (lower-case names), or None."""
        api_key = headers.get("x-api-key")
        authorization = headers.get("authorization") or ""
        ip = source_ip or (request.client[0] if request is not None and request.client else "127.0.0.1")
        for config in self._providers(api):
            mode = config.get("authenticationType")
            if mode == "API_KEY":
                if api_key:
                    key = api.api_keys.get(api_key)
                    if key is not None and key["expires"] > time.time():
                        return "API_KEY", None
            elif mode == "AWS_IAM":
                if authorization.startswith("AWS4-"):
                    return "AWS_IAM", await self._iam(authorization, ip)
            elif mode == "AMAZON_COGNITO_USER_POOLS":
                identity = await self._cognito(config, authorization, ip) if authorization else None
                if identity is not None:
                    return mode, identity
            elif mode == "OPENID_CONNECT":
                identity = await self._oidc(config, authorization, ip) if authorization else None
                if identity is not None:
                    return mode, identity
            elif mode == "AWS_LAMBDA":
                if authorization and not authorization.startswith("AWS4-"):
                    identity = await self._lambda(api, config, authorization, headers, query_string, operation)
                    if identity is not None:
                        return mode, identity
        return None

    async def _iam(self, authorization: str, ip: str) -> dict:
        match = _CREDENTIAL.search(authorization)
        access_key = match.group(1) if match else ""
        from overcast.aws.routing import account_for

        account = account_for(access_key)
        if access_key[:4] in ("ASIA", "AKIA"):
            account = await self.provider.providers.account_for_key(access_key) or account
        return {"accountId": account, "cognitoIdentityPoolId": None, "cognitoIdentityId": None, "sourceIp": [ip],
                "username": access_key, "userArn": f"arn:aws:iam::{account}:root", "cognitoIdentityAuthType": None,
                "cognitoIdentityAuthProvider": None}

    async def _cognito(self, config: dict, authorization: str, ip: str) -> dict | None:
        """AMAZON_COGNITO_USER_POOLS: an ID or access token the pool signed and has not revoked,
        from an app client the API's appIdClientRegex admits."""
        import jwt

        from overcast.services.cognitoidp.verify import verify

        pool = config.get("userPoolConfig") or {}
        try:
            claims = await verify(self.provider.providers, {pool.get("userPoolId", "")}, _bearer(authorization))
        except jwt.InvalidTokenError:
            return None
        regex = pool.get("appIdClientRegex")
        client = claims.get("client_id") or claims.get("aud")
        if regex and (not client or not re.fullmatch(regex, str(client))):
            return None
        return {"sub": claims.get("sub"), "issuer": claims.get("iss"),
                "username": claims.get("cognito:username") or claims.get("username"), "claims": claims,
                "sourceIp": [ip], "defaultAuthStrategy": pool.get("defaultAction") or "ALLOW",
                "groups": claims.get("cognito:groups")}

    async def _oidc(self, config: dict, authorization: str, ip: str) -> dict | None:
        import jwt

        oidc = config.get("openIDConnectConfig") or {}
        issuer = (oidc.get("issuer") or "").rstrip("/")
        token = _bearer(authorization)
        claims = _jwt_claims(token)
        if claims is None or str(claims.get("iss", "")).rstrip("/") != issuer:
            return None
        try:
            header = jwt.get_unverified_header(token)
            keys = await self._keys(issuer)
            key = None
            for jwk in keys.get("keys", []):
                if header.get("kid") is None or jwk.get("kid") == header.get("kid"):
                    key = jwt.PyJWK.from_dict(jwk)
                    break
            if key is None:
                return None
            client_id = oidc.get("clientId")
            verified = jwt.decode(token, key=key.key, algorithms=[header.get("alg", "RS256")],
                                  audience=client_id or None, options={"verify_aud": bool(client_id), "verify_iss": False})
        except Exception as e:  # any failure to verify is an unauthorized call
            log.debug("OIDC token rejected: %s", e)
            return None
        now = time.time()
        if oidc.get("iatTTL") and now - float(verified.get("iat", 0)) > oidc["iatTTL"] / 1000:
            return None
        if oidc.get("authTTL") and now - float(verified.get("auth_time", verified.get("iat", 0))) > oidc["authTTL"] / 1000:
            return None
        return {"sub": verified.get("sub"), "issuer": verified.get("iss"), "claims": verified, "sourceIp": [ip]}

    async def _keys(self, issuer: str) -> dict:
        cached = self._jwks.get(issuer)
        if cached is not None and cached[0] > time.time():
            return cached[1]
        import httpx

        async with httpx.AsyncClient(timeout=5.0) as client:
            uri = f"{issuer}/.well-known/jwks.json"
            try:
                discovery = await client.get(f"{issuer}/.well-known/openid-configuration")
                if discovery.status_code == 200:
                    uri = discovery.json().get("jwks_uri") or uri
            except (httpx.HTTPError, ValueError):
                pass
            response = await client.get(uri)
            keys = response.json()
        self._jwks[issuer] = (time.time() + 300, keys)
        return keys

    async def _lambda(self, api, config: dict, authorization: str, headers: dict, query_string: str,
                      operation: dict | None) -> dict | None:
        settings = config.get("lambdaAuthorizerConfig") or {}
        regex = settings.get("identityValidationExpression")
        if regex and not re.fullmatch(regex, authorization):
            return None
        ttl = settings.get("authorizerResultTtlInSeconds")
        ttl = 300 if ttl is None else int(ttl)
        key = (api.api_id, authorization)
        cached = self._lambda_cache.get(key)
        if cached is not None and cached[0] > time.time():
            return cached[1]
        event = {"authorizationToken": authorization,
                 "requestContext": {"apiId": api.api_id, "accountId": api.account, "requestId": _request_id(),
                                    "queryString": (operation or {}).get("query"),
                                    "operationName": (operation or {}).get("operationName"),
                                    "variables": (operation or {}).get("variables") or {}},
                 "requestHeaders": {k: v for k, v in headers.items() if k != "authorization"}}
        from overcast.aws.errors import AwsError

        lam = await self.provider.providers.get("lambda")
        try:
            result = await lam.invoke_function(api.account, api.region, settings["authorizerUri"], orjson.dumps(event))
            answer = orjson.loads(result.payload) if result.payload and not result.function_error else None
        except (AwsError, orjson.JSONDecodeError):
            answer = None
        identity = None
        if isinstance(answer, dict) and answer.get("isAuthorized") is True:
            identity = {"resolverContext": answer.get("resolverContext") or {}}
            if answer.get("deniedFields"):
                identity["_denied"] = list(answer["deniedFields"])
            if answer.get("ttlOverride") is not None:
                ttl = int(answer["ttlOverride"])
        if ttl > 0:
            if len(self._lambda_cache) > 10000:
                self._lambda_cache.clear()
            self._lambda_cache[key] = (time.time() + ttl, identity)
        return identity


def _request_id() -> str:
    import uuid

    return str(uuid.uuid4())
