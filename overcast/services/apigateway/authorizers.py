"""Authorization: Lambda authorizers (TOKEN and REQUEST; results cached by TTL; IAM policies
evaluated against the method ARN), AWS_IAM (SigV4), and Cognito user pools (the token verified
against the pools in providerARNs; scopes checked against the method's authorizationScopes)."""

from __future__ import annotations

import json
import logging
import re
import time

import orjson

from overcast.aws.errors import AwsError
from overcast.services.apigateway.errors import GatewayError

log = logging.getLogger("overcast.apigateway")

_LAMBDA_URI = re.compile(r"functions/(.+?)/invocations")
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")


def method_arn(stage, state) -> str:
    return (f"arn:aws:execute-api:{stage.region}:{stage.account}:{stage.api_id}/{stage.stage_name}/"
            f"{state.http_method}{state.path}")


def _identity_values(authorizer, state) -> list[str] | None:
    """The identity sources' values; None when one is missing (401 without invoking)."""
    values = []
    for source in [s.strip() for s in (authorizer.get("identitySource") or "").split(",") if s.strip()]:
        value = state.param_value(source)
        if value is None or value == "":
            return None
        values.append(value)
    return values


def _request_event(stage, state, arn: str) -> dict:
    ctx = state.context
    return {
        "type": "REQUEST", "methodArn": arn, "resource": state.resource["path"], "path": state.path,
        "httpMethod": state.http_method, "headers": dict(state.headers_cased),
        "multiValueHeaders": state.multi_headers_cased(),
        "queryStringParameters": dict(state.query), "multiValueQueryStringParameters": dict(state.multi_query),
        "pathParameters": dict(state.path_params), "stageVariables": dict(stage.variables),
        "requestContext": {"resourceId": ctx["resourceId"], "resourcePath": ctx["resourcePath"],
                           "httpMethod": state.http_method, "requestId": state.request_id, "path": ctx["path"],
                           "accountId": stage.account, "stage": stage.stage_name, "apiId": stage.api_id,
                           "identity": ctx["identity"], "domainName": ctx["domainName"],
                           "requestTime": ctx["requestTime"], "requestTimeEpoch": ctx["requestTimeEpoch"],
                           "protocol": "HTTP/1.1"},
    }


def _glob(pattern: str) -> re.Pattern:
    return re.compile("^" + re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".") + "$")


def policy_allows(policy: dict, arn: str) -> bool | None:
    """True (an Allow matches and no Deny), False (explicit Deny), None (nothing matches)."""
    statements = policy.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    allowed = False
    for st in statements:
        if not isinstance(st, dict):
            continue
        actions = st.get("Action") or []
        actions = [actions] if isinstance(actions, str) else actions
        if not any(_glob(a).match("execute-api:Invoke") for a in actions if isinstance(a, str)):
            continue
        resources = st.get("Resource") or []
        resources = [resources] if isinstance(resources, str) else resources
        if not any(_glob(r).match(arn) for r in resources if isinstance(r, str)):
            continue
        if st.get("Effect") == "Deny":
            return False
        if st.get("Effect") == "Allow":
            allowed = True
    return True if allowed else None


async def _invoke_authorizer(plane, stage, authorizer, event: dict) -> dict:
    """The authorizer Lambda's answer; raises the gateway error AWS answers for its failures."""
    match = _LAMBDA_URI.search(authorizer.get("authorizerUri") or "")
    if not match:
        raise GatewayError("AUTHORIZER_CONFIGURATION_ERROR")
    lam = await plane.provider.providers.get("lambda")
    try:
        result = await lam.invoke_function(stage.account, stage.region, match.group(1), orjson.dumps(event))
    except AwsError as e:
        log.warning("API Gateway %s: authorizer %s failed: %s", stage.api_id, authorizer.get("name"), e)
        raise GatewayError("AUTHORIZER_CONFIGURATION_ERROR") from None
    try:
        out = orjson.loads(result.payload)
    except orjson.JSONDecodeError:
        raise GatewayError("AUTHORIZER_CONFIGURATION_ERROR") from None
    if result.function_error:
        if isinstance(out, dict) and out.get("errorMessage") == "Unauthorized":
            raise GatewayError("UNAUTHORIZED")
        raise GatewayError("AUTHORIZER_CONFIGURATION_ERROR")
    if not isinstance(out, dict) or "principalId" not in out or not isinstance(out.get("policyDocument"), dict):
        raise GatewayError("AUTHORIZER_CONFIGURATION_ERROR")
    return out


async def run_authorizer(plane, stage, state, plan) -> None:
    authorizer = plan.authorizer
    if authorizer is None:
        raise GatewayError("AUTHORIZER_CONFIGURATION_ERROR")
    kind = authorizer.get("type")
    if kind == "COGNITO_USER_POOLS":
        await _cognito(plane, state, plan, authorizer)
        return
    if kind == "TOKEN":
        source = authorizer.get("identitySource") or "method.request.header.Authorization"
        token = state.param_value(source)
        if not token:
            raise GatewayError("UNAUTHORIZED")
        expression = authorizer.get("identityValidationExpression")
        if expression and not re.fullmatch(expression, token):
            raise GatewayError("UNAUTHORIZED")
        identity = [token]
    else:
        identity = _identity_values(authorizer, state)
        if identity is None:
            raise GatewayError("UNAUTHORIZED")
    arn = method_arn(stage, state)
    ttl = int(authorizer.get("authorizerResultTtlInSeconds", 300) or 0)
    cache_key = (stage.api_id, authorizer["id"], *identity) if identity else None
    cached = plane.authorizer_cache.get(cache_key) if (ttl and cache_key) else None
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        out = cached[1]
    else:
        if kind == "TOKEN":
            event = {"type": "TOKEN", "authorizationToken": identity[0], "methodArn": arn}
        else:
            event = _request_event(stage, state, arn)
        out = await _invoke_authorizer(plane, stage, authorizer, event)
        if ttl and cache_key:
            cache = plane.authorizer_cache
            if len(cache) >= 10_000:  # bounded: drop what expired, else the oldest half
                for key in [k for k, (expires, _) in cache.items() if expires <= now] or list(cache)[:5_000]:
                    del cache[key]
            cache[cache_key] = (now + ttl, out)
    verdict = policy_allows(out["policyDocument"], arn)
    if verdict is False:
        raise GatewayError("ACCESS_DENIED", "User is not authorized to access this resource with an explicit deny")
    if verdict is None:
        raise GatewayError("ACCESS_DENIED", "User is not authorized to access this resource")
    context = {}
    for k, v in (out.get("context") or {}).items():
        if isinstance(v, (dict, list)):
            raise GatewayError("AUTHORIZER_CONFIGURATION_ERROR")
        context[k] = v
    state.authorizer = {"principalId": out["principalId"], **context}
    state.invalidate_context()
    if out.get("usageIdentifierKey"):
        state.authorizer_api_key = out["usageIdentifierKey"]


async def _cognito(plane, state, plan, authorizer) -> None:
    """COGNITO_USER_POOLS: an ID token, or an access token carrying one of the method's
    authorizationScopes when it has some; the claims reach the integration as
    requestContext.authorizer.claims (every value a string, as API Gateway passes them)."""
    import jwt

    from overcast.services.cognitoidp.verify import pool_of_arn, verify

    source = authorizer.get("identitySource") or "method.request.header.Authorization"
    token = state.param_value(source)
    if not token:
        raise GatewayError("UNAUTHORIZED")
    expression = authorizer.get("identityValidationExpression")
    if expression and not re.fullmatch(expression, token):
        raise GatewayError("UNAUTHORIZED")
    scopes = plan.method.get("authorizationScopes") or []
    pools = {pool_of_arn(arn) for arn in authorizer.get("providerARNs") or []}
    try:
        claims = await verify(plane.provider.providers, pools, token.removeprefix("Bearer ").strip(),
                              "access" if scopes else None)
    except jwt.InvalidTokenError:
        raise GatewayError("UNAUTHORIZED") from None
    if scopes and not set(scopes) & set(str(claims.get("scope", "")).split()):
        raise GatewayError("UNAUTHORIZED")
    if not scopes and claims.get("token_use") != "id":
        raise GatewayError("UNAUTHORIZED")
    state.authorizer = {"claims": {k: v if isinstance(v, str) else ",".join(v) if isinstance(v, list) else
                                   str(v).lower() if isinstance(v, bool) else str(v) for k, v in claims.items()}}
    state.invalidate_context()


async def check_iam(provider, state) -> None:
    """AWS_IAM: the request must be SigV4-signed. Signatures by credentials overcast's STS issued
    are verified with their secret; other keys' signatures are accepted as present."""
    headers = state.headers
    auth = headers.get("authorization", "")
    match = _CREDENTIAL.search(auth)
    if match is None:
        if "X-Amz-Signature=" in state.request.query_string:
            return
        if auth:
            raise GatewayError("INVALID_SIGNATURE", "Authorization header requires 'Credential' parameter. Authorization "
                                              "header requires 'Signature' parameter. Authorization header requires "
                                              "'SignedHeaders' parameter.")
        raise GatewayError("MISSING_AUTHENTICATION_TOKEN")
    access_key = match.group(1)
    state.identity_extra = {"accessKey": access_key}
    secret, arn, account = None, None, None
    try:
        sts = await provider.providers.get("sts")
        session = sts.store.get(access_key)
        if session is not None:
            secret, arn, account = session.secret, session.arn, session.account
    except Exception:
        secret = None
    if account:
        state.identity_extra.update(accountId=account, caller=arn, userArn=arn, user=arn)
    state.invalidate_context()
    if secret is None:
        return
    if not _signature_valid(state, secret, match):
        raise GatewayError("INVALID_SIGNATURE", "The request signature we calculated does not match the signature you "
                                          "provided. Check your AWS Secret Access Key and signing method. Consult the "
                                          "service documentation for details.")


def _signature_valid(state, secret: str, match) -> bool:
    try:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        auth = state.headers["authorization"]
        signed = re.search(r"SignedHeaders=([^,\s]+)", auth).group(1).split(";")
        given = re.search(r"Signature=([0-9a-f]+)", auth).group(1)
        request = state.request
        url = f"http://{request.headers.get('host', 'localhost')}{request.raw_path}"
        if request.query_string:
            url += "?" + request.query_string
        aws_request = AWSRequest(method=request.method, url=url, data=request.body,
                                 headers={h: request.headers.get(h, "") for h in signed})
        aws_request.context["timestamp"] = request.headers.get("x-amz-date", "")
        signer = SigV4Auth(Credentials(match.group(1), secret, request.headers.get("x-amz-security-token")),
                           match.group(4), match.group(3))
        canonical = signer.canonical_request(aws_request)
        string_to_sign = signer.string_to_sign(aws_request, canonical)
        expected = signer.signature(string_to_sign, aws_request)
        return expected == given
    except Exception:
        log.exception("SigV4 verification failed")
        return False


async def test_invoke(plane, ctx, api, authorizer, params) -> dict:
    """TestInvokeAuthorizer: run the authorizer with the given headers and report its answer."""
    started = time.monotonic()
    headers = params.get("headers") or {}
    if authorizer.get("type") == "TOKEN":
        source = (authorizer.get("identitySource") or "method.request.header.Authorization").rsplit(".", 1)[-1]
        token = next((v for k, v in headers.items() if k.lower() == source.lower()), None)
        if not token:
            return {"clientStatus": 401, "log": "Unauthorized", "latency": 0}
        event = {"type": "TOKEN", "authorizationToken": token,
                 "methodArn": f"arn:aws:execute-api:{ctx.region}:{ctx.account}:{api['id']}/ESTestInvoke-stage/GET/"}
    else:
        event = {"type": "REQUEST", "headers": headers, "queryStringParameters": {},
                 "methodArn": f"arn:aws:execute-api:{ctx.region}:{ctx.account}:{api['id']}/ESTestInvoke-stage/GET/"}

    class _Stage:
        account, region, api_id = ctx.account, ctx.region, api["id"]

    try:
        out = await _invoke_authorizer(plane, _Stage, authorizer, event)
    except Exception as e:
        status = getattr(e, "status", 500)
        return {"clientStatus": status, "log": str(getattr(e, "message", e)),
                "latency": int((time.monotonic() - started) * 1000)}
    return {"clientStatus": 200, "principalId": out.get("principalId"),
            "policy": json.dumps(out.get("policyDocument")), "authorization": {},
            "claims": {k: str(v) for k, v in (out.get("context") or {}).items()},
            "latency": int((time.monotonic() - started) * 1000)}
