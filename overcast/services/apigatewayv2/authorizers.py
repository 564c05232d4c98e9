"""Authorizers: JWT (issuer, audience, expiry and scopes checked against the issuer's JWKS,
fetched over HTTP from its OpenID configuration) and REQUEST Lambda authorizers (simple and IAM
policy responses, cached by identity source for AuthorizerResultTtlInSeconds)."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict

import orjson

from overcast.engine import http as http_client
from overcast.services.apigatewayv2.integrations import IntegrationFailure, evaluate, invoke_lambda

log = logging.getLogger("overcast.apigatewayv2")

_JWKS_TTL = 300.0
# issuer -> (fetched at, its keys as PyJWK objects by key id): parsed once, not per request
_jwks_cache: dict[str, tuple[float, dict]] = {}
# token -> (issuer, key id, the key that verified it, claims, flattened claims, scopes): a client sends
# the same token on every request; it is parsed and its signature checked once (its expiry, always)
_verified: OrderedDict[str, tuple] = OrderedDict()
_VERIFIED_TOKENS = 4096


class Denied(Exception):
    """status 401 (Unauthorized) or 403 (Forbidden), or 500 when the authorizer failed."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


async def _keys(issuer: str, providers=None, refresh: bool = False) -> dict:
    """The issuer's signing keys by key id, cached for _JWKS_TTL; an overcast user pool's come in
    process, any other issuer's from its OpenID configuration over HTTP."""
    from jwt import PyJWKSet

    from overcast.services.cognitoidp.verify import jwks as pool_jwks
    from overcast.services.cognitoidp.verify import pool_of_issuer

    cached = _jwks_cache.get(issuer)
    now = time.monotonic()
    if cached is not None and not refresh and now - cached[0] < _JWKS_TTL:
        return cached[1]
    pool_id = pool_of_issuer(issuer)
    if pool_id is not None and providers is not None:  # overcast's own user pool: its keys, in process
        document = await pool_jwks(providers, pool_id)
        if document is None:
            raise ValueError(f"user pool {pool_id} does not exist")
    else:
        base = issuer.rstrip("/")
        status, _, body = await http_client.request("GET", base + "/.well-known/openid-configuration", timeout=5)
        if status != 200:
            raise ValueError(f"OpenID configuration of {issuer} answered {status}")
        uri = orjson.loads(body).get("jwks_uri")
        status, _, body = await http_client.request("GET", uri, timeout=5)
        if status != 200:
            raise ValueError(f"JWKS of {issuer} answered {status}")
        document = orjson.loads(body)
    keys = {key.key_id: key for key in PyJWKSet.from_dict(document).keys}
    if len(_jwks_cache) > 1024:
        _jwks_cache.clear()
    _jwks_cache[issuer] = (now, keys)
    return keys


async def check_jwt(authorizer: dict, route: dict, source: dict, providers=None) -> dict:
    """The `authorizer.jwt` context ({claims, scopes}); raises Denied."""
    identity = (authorizer.get("IdentitySource") or ["$request.header.Authorization"])[0]
    token = evaluate(identity, source)
    if not token:
        raise Denied(401, "Unauthorized")
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    config = authorizer.get("JwtConfiguration") or {}
    issuer = config.get("Issuer")
    audience = config.get("Audience") or []
    cached = _verified.get(token)
    if cached is not None and cached[0] == issuer and cached[3]["exp"] > time.time() and \
            (await _keys(issuer, providers)).get(cached[1]) is cached[2]:  # the same key, still the issuer's
        _verified.move_to_end(token)
        _, _, _, claims, flat, scopes = cached
    else:
        claims, flat, scopes = await _verify(authorizer, token, issuer, providers)
    token_audience = claims.get("aud")
    if isinstance(token_audience, str):
        token_audience = [token_audience]
    if audience and not set(token_audience or []) & set(audience) and claims.get("client_id") not in audience:
        raise Denied(401, "Unauthorized")
    required = route.get("AuthorizationScopes") or []
    if required and not set(required) & set(scopes):
        raise Denied(403, "Forbidden")
    return {"claims": dict(flat), "scopes": list(scopes) or None}


async def _verify(authorizer: dict, token: str, issuer: str, providers) -> tuple[dict, dict, list]:
    """(claims, claims as strings, scopes) of a token whose signature the issuer's key checks
    (remembered in _verified); raises Denied."""
    import jwt

    from overcast.services.cognitoidp.verify import unverified

    try:
        kid = unverified(token, 0).get("kid")
        key = (await _keys(issuer, providers)).get(kid)
        if key is None:  # a key the issuer added since: look again, once
            key = (await _keys(issuer, providers, refresh=True)).get(kid)
        if key is None:
            raise Denied(401, "Unauthorized")
        # the key's own algorithm, never the token's choice (no `alg: none`, no HS256 with a public key)
        claims = jwt.decode(token, key.key, algorithms=[key.algorithm_name or "RS256"], issuer=issuer,
                            options={"verify_aud": False, "require": ["exp", "iss"]}, leeway=0)
    except Denied:
        raise
    except Exception as e:  # expired, bad signature, wrong issuer, unreachable JWKS
        log.info("JWT authorizer %s: %s", authorizer.get("Name"), e)
        raise Denied(401, "Unauthorized") from None
    scopes = str(claims.get("scope") or claims.get("scp") or "").split()
    flat = {k: (v if isinstance(v, str) else (str(v) if isinstance(v, int | float | bool) else orjson.dumps(v).decode()))
            for k, v in claims.items()}
    _verified[token] = (issuer, kid, key, claims, flat, scopes)
    if len(_verified) > _VERIFIED_TOKENS:
        _verified.popitem(last=False)
    return claims, flat, scopes


def _allows(policy: dict, method_arn: str) -> bool:
    import fnmatch

    allowed = False
    for statement in policy.get("Statement") or []:
        resources = statement.get("Resource") or []
        resources = [resources] if isinstance(resources, str) else resources
        if any(fnmatch.fnmatchcase(method_arn, r) for r in resources):
            if statement.get("Effect") == "Deny":
                return False
            if statement.get("Effect") == "Allow":
                allowed = True
    return allowed


async def check_request(providers, deployed, authorizer: dict, event: dict, source: dict, method_arn: str) -> dict:
    """A REQUEST Lambda authorizer. Returns the `authorizer` context to pass on; raises Denied."""
    identities = authorizer.get("IdentitySource") or []
    values = []
    for identity in identities:
        value = evaluate(identity, source)
        if value is None:
            raise Denied(401, "Unauthorized")
        values.append(value)
    ttl = int(authorizer.get("AuthorizerResultTtlInSeconds") or 0)
    cache_key = (authorizer["AuthorizerId"], tuple(values))
    now = time.monotonic()
    cached = deployed.auth_cache.get(cache_key) if ttl and identities else None
    if cached is not None and cached[0] > now:
        result = cached[1]
    else:
        try:
            payload = await invoke_lambda(providers, deployed.account, deployed.region, authorizer["AuthorizerUri"], event)
            result = orjson.loads(payload)
        except (IntegrationFailure, orjson.JSONDecodeError):
            raise Denied(500, "Internal Server Error") from None
        if ttl and identities:
            deployed.auth_cache[cache_key] = (now + ttl, result)
    if not isinstance(result, dict):
        raise Denied(500, "Internal Server Error")
    if authorizer.get("EnableSimpleResponses"):
        if result.get("isAuthorized") is not True:
            raise Denied(403, "Forbidden")
        return {"lambda": result.get("context") or {}}
    policy = result.get("policyDocument")
    if not isinstance(policy, dict) or not _allows(policy, method_arn):
        raise Denied(403, "Forbidden")
    context = dict(result.get("context") or {})
    if result.get("principalId") is not None:
        context["principalId"] = result["principalId"]
    return context
