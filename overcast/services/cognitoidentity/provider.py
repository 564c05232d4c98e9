"""Amazon Cognito identity pools: identities for guests and for users signed in to overcast's user
pools (their tokens verified in process), OpenID tokens for them, and AWS credentials for the
pool's authenticated or unauthenticated role issued by overcast's STS, so that the credentials
carry their identity (GetCallerIdentity answers with the assumed role)."""

from __future__ import annotations

import re
import time
import uuid

import jwt

from overcast.aws.errors import AwsError
from overcast.services.base import Provider
from overcast.services.cognitoidentity.store import IdentityStore
from overcast.services.cognitoidp import tokens
from overcast.services.cognitoidp.verify import verify

_USER_POOL_PROVIDER = re.compile(r"^cognito-idp\.[a-z0-9-]+\.amazonaws\.com/([\w-]+_[0-9A-Za-z]+)$")
_ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::(\d{12}):role/(?:[\w+=,.@/-]+/)?([\w+=,.@-]+)$")
OPENID_ISSUER = "https://cognito-identity.amazonaws.com"
CREDENTIAL_SECONDS = 3600


def _error(code: str, message: str, status: int = 400) -> AwsError:
    return AwsError(code, message, status)


def _not_found(what: str) -> AwsError:
    return _error("ResourceNotFoundException", what, 400)


class CognitoIdentityProvider(Provider):
    service = "cognito-identity"

    def __init__(self, providers):
        super().__init__(providers)
        self.store = IdentityStore(self.db)

    # -- pools -------------------------------------------------------------------------------------

    def _pool(self, ctx, pool_id: str) -> dict:
        found = self.store.pool(pool_id) if isinstance(pool_id, str) else None
        if found is None or (ctx.access_key and found[0] != ctx.account):
            raise _not_found(f"IdentityPool '{pool_id}' not found.")
        return found[2]

    def create_identity_pool(self, ctx, params):
        pool_id = f"{ctx.region}:{uuid.uuid4()}"
        pool = {"IdentityPoolId": pool_id, "IdentityPoolName": params["IdentityPoolName"],
                "AllowUnauthenticatedIdentities": params["AllowUnauthenticatedIdentities"],
                "AllowClassicFlow": params.get("AllowClassicFlow", False),
                "SupportedLoginProviders": params.get("SupportedLoginProviders") or {},
                "DeveloperProviderName": params.get("DeveloperProviderName"),
                "OpenIdConnectProviderARNs": params.get("OpenIdConnectProviderARNs") or [],
                "CognitoIdentityProviders": params.get("CognitoIdentityProviders") or [],
                "SamlProviderARNs": params.get("SamlProviderARNs") or [],
                "IdentityPoolTags": params.get("IdentityPoolTags") or {}, "Roles": {}, "RoleMappings": {}}
        self._check_providers(pool)
        self.store.put_pool(pool_id, ctx.account, ctx.region, pool)
        return self._public(pool)

    @staticmethod
    def _check_providers(pool: dict) -> None:
        for provider in pool["CognitoIdentityProviders"]:
            if not _USER_POOL_PROVIDER.match(provider.get("ProviderName") or ""):
                raise _error("InvalidParameterException", f"Invalid ProviderName: {provider.get('ProviderName')}")

    @staticmethod
    def _public(pool: dict) -> dict:
        return {k: v for k, v in pool.items() if k not in ("Roles", "RoleMappings") and v is not None}

    def describe_identity_pool(self, ctx, params):
        return self._public(self._pool(ctx, params["IdentityPoolId"]))

    def update_identity_pool(self, ctx, params):
        pool = self._pool(ctx, params["IdentityPoolId"])
        for key, value in params.items():
            if key != "IdentityPoolId":
                pool[key] = value
        self._check_providers(pool)
        self.store.put_pool(pool["IdentityPoolId"], ctx.account, ctx.region, pool)
        return self._public(pool)

    def delete_identity_pool(self, ctx, params):
        self._pool(ctx, params["IdentityPoolId"])
        self.store.delete_pool(params["IdentityPoolId"])
        return {}

    def list_identity_pools(self, ctx, params):
        pools = [{"IdentityPoolId": p["IdentityPoolId"], "IdentityPoolName": p["IdentityPoolName"]}
                 for p in self.store.pools(ctx.account, ctx.region)]
        token = params.get("NextToken") or "0"
        start = int(token) if token.isdigit() else 0
        limit = params["MaxResults"]
        out = {"IdentityPools": pools[start:start + limit]}
        if start + limit < len(pools):
            out["NextToken"] = str(start + limit)
        return out

    def set_identity_pool_roles(self, ctx, params):
        pool = self._pool(ctx, params["IdentityPoolId"])
        for kind, arn in params["Roles"].items():
            if kind not in ("authenticated", "unauthenticated") or not _ROLE_ARN.match(arn):
                raise _error("InvalidParameterException", f"Invalid role {kind}: {arn}")
        pool["Roles"] = params["Roles"]
        pool["RoleMappings"] = params.get("RoleMappings") or {}
        self.store.put_pool(pool["IdentityPoolId"], ctx.account, ctx.region, pool)
        return {}

    def get_identity_pool_roles(self, ctx, params):
        pool = self._pool(ctx, params["IdentityPoolId"])
        out = {"IdentityPoolId": pool["IdentityPoolId"], "Roles": pool["Roles"]}
        if pool["RoleMappings"]:
            out["RoleMappings"] = pool["RoleMappings"]
        return out

    # -- identities --------------------------------------------------------------------------------

    async def _logins(self, pool: dict, logins: dict | None) -> dict[str, dict]:
        """The verified claims of each login token, by provider name."""
        verified = {}
        trusted = {p["ProviderName"]: p for p in pool["CognitoIdentityProviders"]}
        for provider, token in (logins or {}).items():
            config = trusted.get(provider)
            match = _USER_POOL_PROVIDER.match(provider)
            if config is None or match is None:
                raise _error("NotAuthorizedException", f"Invalid login token. Not a valid OpenId Connect identity "
                                                       f"token or provider {provider} is not configured.")
            try:
                claims = await verify(self.providers, {match.group(1)}, token)
            except jwt.ExpiredSignatureError:
                raise _error("NotAuthorizedException", "Invalid login token. Token expired.") from None
            except jwt.InvalidTokenError:
                raise _error("NotAuthorizedException", "Invalid login token. Couldn't verify signed token.") from None
            audience = claims.get("aud") or claims.get("client_id")
            if config.get("ClientId") and audience != config["ClientId"]:
                raise _error("NotAuthorizedException", "Invalid login token. Incorrect client id.")
            verified[provider] = claims
        return verified

    async def get_id(self, ctx, params):
        found = self.store.pool(params["IdentityPoolId"])
        if found is None:
            raise _not_found(f"IdentityPool '{params['IdentityPoolId']}' not found.")
        account, region, pool = found
        logins = await self._logins(pool, params.get("Logins"))
        if not logins:
            if not pool["AllowUnauthenticatedIdentities"]:
                raise _error("NotAuthorizedException", "Unauthenticated access is not supported for this identity "
                                                       "pool.")
            return {"IdentityId": self._new_identity(pool, [])}
        keys = [f"{provider}:{claims['sub']}" for provider, claims in logins.items()]
        for key in keys:
            identity_id = self.store.identity_for_login(pool["IdentityPoolId"], key)
            if identity_id is not None:
                return {"IdentityId": identity_id}
        return {"IdentityId": self._new_identity(pool, keys, list(logins))}

    def _new_identity(self, pool: dict, keys: list[str], providers: list[str] = ()) -> str:
        region = pool["IdentityPoolId"].split(":", 1)[0]
        identity_id = f"{region}:{uuid.uuid4()}"
        now = time.time()
        with self.store.transaction():
            self.store.put_identity(identity_id, pool["IdentityPoolId"], {
                "IdentityId": identity_id, "Logins": list(providers), "CreationDate": now, "LastModifiedDate": now})
            for key in keys:
                self.store.link(pool["IdentityPoolId"], key, identity_id)
        return identity_id

    async def _identity(self, identity_id: str, logins: dict | None) -> tuple[str, str, dict, dict, dict]:
        """(account, region, pool, identity, verified logins) for an identity its caller may use:
        an authenticated identity needs one of its own logins, re-verified now."""
        found = self.store.identity(identity_id) if isinstance(identity_id, str) else None
        if found is None:
            raise _not_found(f"Identity '{identity_id}' not found.")
        pool_id, identity = found
        account, region, pool = self.store.pool(pool_id)
        verified = await self._logins(pool, logins)
        if identity["Logins"]:
            owned = [p for p, claims in verified.items()
                     if self.store.identity_for_login(pool_id, f"{p}:{claims['sub']}") == identity_id]
            if not owned:
                raise _error("NotAuthorizedException", "Access to Identity '" + identity_id + "' is forbidden.")
        elif verified:
            for provider, claims in verified.items():  # a guest signing in keeps the identity
                self.store.link(pool_id, f"{provider}:{claims['sub']}", identity_id)
            identity["Logins"] = list(verified)
            self.store.put_identity(identity_id, pool_id, identity)
        elif not pool["AllowUnauthenticatedIdentities"]:
            raise _error("NotAuthorizedException", "Unauthenticated access is not supported for this identity pool.")
        return account, region, pool, identity, verified

    def _role_for(self, pool: dict, verified: dict, custom: str | None) -> str:
        if not verified:
            role = pool["Roles"].get("unauthenticated")
            if not role:
                raise _error("InvalidIdentityPoolConfigurationException",
                             "Invalid identity pool configuration. Check assigned IAM roles for this pool.")
            return role
        for provider, claims in verified.items():
            mapping = pool["RoleMappings"].get(provider) or {}
            if mapping.get("Type") == "Token":
                roles = claims.get("cognito:roles") or []
                preferred = claims.get("cognito:preferred_role")
                if custom and custom in roles:
                    return custom
                if preferred or roles:
                    return preferred or roles[0]
                if mapping.get("AmbiguousRoleResolution") == "Deny":
                    raise _error("NotAuthorizedException", "No roles mapped from the token and the pool denies.")
            if mapping.get("Type") == "Rules":
                for rule in (mapping.get("RulesConfiguration") or {}).get("Rules") or []:
                    value = str(claims.get(rule["Claim"], ""))
                    operator = rule["MatchType"]
                    if (operator == "Equals" and value == rule["Value"]) or \
                            (operator == "Contains" and rule["Value"] in value) or \
                            (operator == "StartsWith" and value.startswith(rule["Value"])) or \
                            (operator == "NotEqual" and value != rule["Value"]):
                        return rule["RoleARN"]
                if mapping.get("AmbiguousRoleResolution") == "Deny":
                    raise _error("NotAuthorizedException", "No rule matched and the pool denies.")
        role = pool["Roles"].get("authenticated")
        if not role:
            raise _error("InvalidIdentityPoolConfigurationException",
                         "Invalid identity pool configuration. Check assigned IAM roles for this pool.")
        return role

    async def get_credentials_for_identity(self, ctx, params):
        identity_id = params["IdentityId"]
        account, region, pool, identity, verified = await self._identity(identity_id, params.get("Logins"))
        role_arn = self._role_for(pool, verified, params.get("CustomRoleArn"))
        match = _ROLE_ARN.match(role_arn)
        sts = await self.providers.get("sts")
        role_account, role_name = match.group(1), match.group(2)
        session = "CognitoIdentityCredentials"
        arn = f"arn:aws:sts::{role_account}:assumed-role/{role_name}/{session}"
        issued = sts.issue_for(role_account, arn, f"AROA{uuid.uuid4().hex[:17].upper()}:{session}", CREDENTIAL_SECONDS,
                               role_arn, session)
        return {"IdentityId": identity_id, "Credentials": {
            "AccessKeyId": issued["AccessKeyId"], "SecretKey": issued["SecretAccessKey"],
            "SessionToken": issued["SessionToken"], "Expiration": issued["Expiration"]}}

    async def get_open_id_token(self, ctx, params):
        identity_id = params["IdentityId"]
        account, region, pool, identity, verified = await self._identity(identity_id, params.get("Logins"))
        now = int(time.time())
        amr = ["authenticated", *verified] if verified else ["unauthenticated"]
        pem = self.store.signing_key(region, tokens.new_private_key)
        token = jwt.encode({"iss": OPENID_ISSUER, "sub": identity_id, "aud": pool["IdentityPoolId"], "amr": amr,
                            "iat": now, "exp": now + 600}, tokens._loaded(pem), algorithm="RS256",
                           headers={"kid": f"{region}-1"})
        return {"IdentityId": identity_id, "Token": token}

    def describe_identity(self, ctx, params):
        found = self.store.identity(params["IdentityId"])
        if found is None or self._pool(ctx, found[0]) is None:
            raise _not_found(f"Identity '{params['IdentityId']}' not found.")
        return found[1]

    def list_identities(self, ctx, params):
        self._pool(ctx, params["IdentityPoolId"])
        identities = self.store.identities(params["IdentityPoolId"])
        token = params.get("NextToken") or "0"
        start = int(token) if token.isdigit() else 0
        limit = params["MaxResults"]
        out = {"IdentityPoolId": params["IdentityPoolId"], "Identities": identities[start:start + limit]}
        if start + limit < len(identities):
            out["NextToken"] = str(start + limit)
        return out

    def delete_identities(self, ctx, params):
        unprocessed = []
        for identity_id in params["IdentityIdsToDelete"]:
            found = self.store.identity(identity_id)
            if found is None:
                unprocessed.append({"IdentityId": identity_id, "ErrorCode": "InternalServerError"})
                continue
            self._pool(ctx, found[0])
            self.store.delete_identity(identity_id)
        return {"UnprocessedIdentityIds": unprocessed}

    def tag_resource(self, ctx, params):
        pool = self._pool(ctx, params["ResourceArn"].rsplit("/", 1)[-1])
        pool["IdentityPoolTags"] = {**pool.get("IdentityPoolTags", {}), **params["Tags"]}
        self.store.put_pool(pool["IdentityPoolId"], ctx.account, ctx.region, pool)
        return {}

    def untag_resource(self, ctx, params):
        pool = self._pool(ctx, params["ResourceArn"].rsplit("/", 1)[-1])
        for key in params["TagKeys"]:
            pool.get("IdentityPoolTags", {}).pop(key, None)
        self.store.put_pool(pool["IdentityPoolId"], ctx.account, ctx.region, pool)
        return {}

    def list_tags_for_resource(self, ctx, params):
        return {"Tags": self._pool(ctx, params["ResourceArn"].rsplit("/", 1)[-1]).get("IdentityPoolTags") or {}}
