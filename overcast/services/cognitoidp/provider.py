"""Amazon Cognito user pools: pools with their policies and attribute schemas, app clients (with
secrets and SECRET_HASH), users and their lifecycle (sign-up, confirmation codes, admin creation,
passwords, attributes, groups), and authentication that issues real RS256 tokens: USER_SRP_AUTH,
USER_PASSWORD_AUTH, ADMIN_USER_PASSWORD_AUTH, REFRESH_TOKEN_AUTH, NEW_PASSWORD_REQUIRED,
SOFTWARE_TOKEN_MFA and CUSTOM_AUTH, with the Lambda triggers at their moments.

There is no mail: codes a pool would send are written to overcast's log and listed, for the
account the request is signed for, at GET /_overcast/cognito-idp/codes (docs/cognito.md).

In-process API for the authorizers (API Gateway, HTTP APIs, AppSync):

    cognito = await providers.get("cognito-idp")
    claims = cognito.verify_token(pool_id, token, token_use=None)  # raises jwt.InvalidTokenError
    keys = cognito.jwks(pool_id)                                   # None when no such pool
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import re
import secrets
import string
import time
import uuid
from collections import OrderedDict
from datetime import UTC, datetime

import jwt
import orjson
import pyotp

from overcast.aws.context import HttpRequest, HttpResponse
from overcast.aws.errors import AwsError
from overcast.services.base import Provider
from overcast.services.cognitoidp import srp, tokens
from overcast.services.cognitoidp.store import CognitoStore
from overcast.services.cognitoidp.verify import pool_of_issuer

log = logging.getLogger("overcast.cognito")

STANDARD_ATTRIBUTES = (
    "address", "birthdate", "email", "email_verified", "family_name", "gender", "given_name", "locale",
    "middle_name", "name", "nickname", "phone_number", "phone_number_verified", "picture", "preferred_username",
    "profile", "sub", "updated_at", "website", "zoneinfo",
)
DEFAULT_POLICY = {"MinimumLength": 8, "RequireUppercase": True, "RequireLowercase": True, "RequireNumbers": True,
                  "RequireSymbols": True, "TemporaryPasswordValidityDays": 7}
SYMBOLS = set("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ")
CODE_SECONDS = 24 * 3600
SESSION_SECONDS = 180
LOCKOUT_AFTER = 5
SIGNIN_SCOPE = "aws.cognito.signin.user.admin"
# scrypt's cost for stored password hashes: memory-hard (1 MiB) yet about a millisecond, so that a
# local pool signs in hundreds of users a second; the cost is kept with each hash, so it can grow.
SCRYPT_N = 2**10
PROVEN_PASSWORDS = 10_000  # matches remembered in memory (_proves_password), 32 bytes each
VERIFIED_TOKENS = 4096  # tokens remembered as verified (verify_issued), a few KB each
_POOL_ID = re.compile(r"^[\w-]+_[0-9a-zA-Z]+$")


def _error(code: str, message: str, status: int = 400) -> AwsError:
    return AwsError(code, message, status)


def _not_authorized(message: str = "Incorrect username or password.") -> AwsError:
    return _error("NotAuthorizedException", message)


def _invalid(message: str) -> AwsError:
    return _error("InvalidParameterException", message)


def _attrs_list(attrs: dict) -> list[dict]:
    return [{"Name": k, "Value": v} for k, v in attrs.items()]


def _attrs_dict(items) -> dict:
    return {a["Name"]: a.get("Value", "") for a in items or []}


def _code() -> str:
    return "".join(secrets.choice(string.digits) for _ in range(6))


class CognitoIdpProvider(Provider):
    service = "cognito-idp"

    def __init__(self, providers):
        super().__init__(providers)
        self.store = CognitoStore(self.db)
        # Passwords this process has seen match (see _proves_password): keyed digests, newest last.
        self._proven: OrderedDict[bytes, None] = OrderedDict()
        self._proven_key = secrets.token_bytes(32)
        # Tokens verified already (see verify_issued): token -> (pool id, its key, claims).
        self._verified: OrderedDict[str, tuple[str, str, dict]] = OrderedDict()
        self._accounts = None  # overcast.aws.signing.RequestAccount, made at the codes endpoint's first use

    def reset(self) -> None:
        self._proven.clear()
        self._verified.clear()

    # -- pools -------------------------------------------------------------------------------------

    def _pool(self, pool_id: str, ctx=None) -> dict:
        pool = self.store.pool(pool_id) if isinstance(pool_id, str) else None
        if pool is not None and ctx is not None and ctx.access_key and \
                self.store.pool_scope(pool_id)[0] != ctx.account:
            pool = None
        if pool is None:
            if not isinstance(pool_id, str) or not _POOL_ID.match(pool_id):
                raise _invalid(f"1 validation error detected: Value '{pool_id}' at 'userPoolId' failed to satisfy "
                               "constraint: Member must satisfy regular expression pattern: [\\w-]+_[0-9a-zA-Z]+")
            raise _error("ResourceNotFoundException", f"User pool {pool_id} does not exist.")
        return pool

    def create_user_pool(self, ctx, params):
        name = params["PoolName"]
        pool_id = f"{ctx.region}_{''.join(secrets.choice(string.ascii_letters + string.digits) for _ in range(9))}"
        now = time.time()
        policy = {**DEFAULT_POLICY, **((params.get("Policies") or {}).get("PasswordPolicy") or {})}
        if not 6 <= policy["MinimumLength"] <= 99:
            raise _invalid("Minimum password length must be between 6 and 99")
        if params.get("UsernameAttributes") and params.get("AliasAttributes"):
            raise _invalid("Only one of the aliasAttributes or usernameAttributes can be set in a User Pool.")
        schema = self._schema(params.get("Schema") or [])
        pool = {
            "Id": pool_id, "Name": name, "Arn": f"arn:aws:cognito-idp:{ctx.region}:{ctx.account}:userpool/{pool_id}",
            "Policies": {"PasswordPolicy": policy, **({"SignInPolicy": params["Policies"]["SignInPolicy"]}
                                                     if (params.get("Policies") or {}).get("SignInPolicy") else {})},
            "LambdaConfig": params.get("LambdaConfig") or {}, "Status": "Enabled",
            "LastModifiedDate": now, "CreationDate": now, "SchemaAttributes": schema,
            "AutoVerifiedAttributes": params.get("AutoVerifiedAttributes") or [],
            "UsernameAttributes": params.get("UsernameAttributes") or [],
            "AliasAttributes": params.get("AliasAttributes") or [],
            "UsernameConfiguration": params.get("UsernameConfiguration") or {"CaseSensitive": False},
            "MfaConfiguration": params.get("MfaConfiguration", "OFF"),
            "EstimatedNumberOfUsers": 0,
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": False, "UnusedAccountValidityDays": 7,
                                      **(params.get("AdminCreateUserConfig") or {})},
            "AccountRecoverySetting": params.get("AccountRecoverySetting") or {"RecoveryMechanisms": [
                {"Priority": 1, "Name": "verified_email"}, {"Priority": 2, "Name": "verified_phone_number"}]},
            "UserPoolTags": params.get("UserPoolTags") or {},
            "DeletionProtection": params.get("DeletionProtection", "INACTIVE"),
            "UserPoolTier": params.get("UserPoolTier", "ESSENTIALS"),
        }
        for key in ("EmailConfiguration", "SmsConfiguration", "VerificationMessageTemplate", "DeviceConfiguration",
                    "UserAttributeUpdateSettings", "UserPoolAddOns", "EmailVerificationMessage",
                    "EmailVerificationSubject", "SmsVerificationMessage", "SmsAuthenticationMessage"):
            if key in params:
                pool[key] = params[key]
        self.store.put_pool(pool_id, ctx.account, ctx.region, pool, tokens.new_private_key())
        return {"UserPool": pool}

    @staticmethod
    def _schema(extra: list[dict]) -> list[dict]:
        schema = [{"Name": name, "AttributeDataType": "Boolean" if name.endswith("_verified") else
                   "Number" if name == "updated_at" else "String", "Mutable": name != "sub",
                   "Required": name == "sub", "DeveloperOnlyAttribute": False}
                  for name in STANDARD_ATTRIBUTES]
        by_name = {a["Name"]: a for a in schema}
        for attribute in extra:
            name = attribute.get("Name")
            if not name:
                raise _invalid("Attribute name is required")
            if name in by_name:
                by_name[name].update({k: v for k, v in attribute.items() if k != "Name"})
                continue
            if len(name) > 20:
                raise _invalid(f"Custom attribute name {name} is too long")
            custom = {"AttributeDataType": "String", "Mutable": True, "Required": False,
                      "DeveloperOnlyAttribute": False, **attribute, "Name": f"custom:{name}"}
            if custom.get("Required"):
                raise _invalid("Required custom attributes are not supported currently.")
            schema.append(custom)
        return schema

    def describe_user_pool(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        pool["EstimatedNumberOfUsers"] = len(self.store.users(pool["Id"]))
        domain = next((d for d in [self._pool_domain(pool["Id"])] if d), None)
        if domain:
            pool["Domain"] = domain
        return {"UserPool": pool}

    def _pool_domain(self, pool_id) -> str | None:
        return self.db.scalar("SELECT domain FROM cognito_domains WHERE pool = ?", (pool_id,))

    def update_user_pool(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        for key, value in params.items():
            if key == "UserPoolId":
                continue
            if key == "Policies":
                value = {"PasswordPolicy": {**DEFAULT_POLICY, **(value.get("PasswordPolicy") or {})},
                         **({"SignInPolicy": value["SignInPolicy"]} if value.get("SignInPolicy") else {})}
            pool[key] = value
        pool["LastModifiedDate"] = time.time()
        self.store.put_pool(pool["Id"], ctx.account, ctx.region, pool)
        return {}

    def delete_user_pool(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        if pool.get("DeletionProtection") == "ACTIVE":
            raise _invalid("The user pool cannot be deleted because deletion protection is activated. Deletion "
                           "protection must be inactivated first.")
        self.store.delete_pool(pool["Id"])
        return {}

    def list_user_pools(self, ctx, params):
        pools = [{"Id": p["Id"], "Name": p["Name"], "LambdaConfig": p.get("LambdaConfig") or {},
                  "Status": "Enabled", "LastModifiedDate": p["LastModifiedDate"], "CreationDate": p["CreationDate"]}
                 for p in self.store.pools(ctx.account, ctx.region)]
        return self._page(pools, params, "UserPools", "NextToken", "MaxResults")

    @staticmethod
    def _page(items, params, key, token_key="NextToken", limit_key="MaxResults", default=60):
        token = params.get(token_key) or "0"
        if not token.isdigit():
            raise _invalid("Invalid pagination token")
        start, limit = int(token), params.get(limit_key) or default
        out = {key: items[start:start + limit]}
        if start + limit < len(items):
            out[token_key if token_key != "PaginationToken" else "PaginationToken"] = str(start + limit)
        return out

    def add_custom_attributes(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        existing = {a["Name"] for a in pool["SchemaAttributes"]}
        for attribute in params["CustomAttributes"]:
            if f"custom:{attribute['Name']}" in existing:
                raise _invalid(f"custom:{attribute['Name']}: Existing attribute already has name "
                               f"custom:{attribute['Name']}.")
        pool["SchemaAttributes"] += self._schema(params["CustomAttributes"])[len(STANDARD_ATTRIBUTES):]
        self.store.put_pool(pool["Id"], ctx.account, ctx.region, pool)
        return {}

    def set_user_pool_mfa_config(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        if "MfaConfiguration" in params:
            pool["MfaConfiguration"] = params["MfaConfiguration"]
        if "SoftwareTokenMfaConfiguration" in params:
            pool["SoftwareTokenMfaConfiguration"] = params["SoftwareTokenMfaConfiguration"]
        if "SmsMfaConfiguration" in params:
            pool["SmsMfaConfiguration"] = params["SmsMfaConfiguration"]
        self.store.put_pool(pool["Id"], ctx.account, ctx.region, pool)
        return self.get_user_pool_mfa_config(ctx, params)

    def get_user_pool_mfa_config(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        out = {"MfaConfiguration": pool.get("MfaConfiguration", "OFF")}
        for key in ("SoftwareTokenMfaConfiguration", "SmsMfaConfiguration"):
            if key in pool:
                out[key] = pool[key]
        return out

    # -- app clients ---------------------------------------------------------------------------------

    def create_user_pool_client(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        client_id = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(26))
        now = time.time()
        client = {"UserPoolId": pool["Id"], "ClientName": params["ClientName"], "ClientId": client_id,
                  "LastModifiedDate": now, "CreationDate": now,
                  "RefreshTokenValidity": params.get("RefreshTokenValidity", 30),
                  "AccessTokenValidity": params.get("AccessTokenValidity", 60),
                  "IdTokenValidity": params.get("IdTokenValidity", 60),
                  "TokenValidityUnits": {"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "days",
                                         **(params.get("TokenValidityUnits") or {})},
                  "ExplicitAuthFlows": params.get("ExplicitAuthFlows") or ["ALLOW_REFRESH_TOKEN_AUTH",
                                                                           "ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH"],
                  "PreventUserExistenceErrors": params.get("PreventUserExistenceErrors", "ENABLED"),
                  "EnableTokenRevocation": params.get("EnableTokenRevocation", True),
                  "AllowedOAuthFlowsUserPoolClient": params.get("AllowedOAuthFlowsUserPoolClient", False),
                  "AuthSessionValidity": params.get("AuthSessionValidity", 3)}
        for key in ("ReadAttributes", "WriteAttributes", "SupportedIdentityProviders", "CallbackURLs", "LogoutURLs",
                    "DefaultRedirectURI", "AllowedOAuthFlows", "AllowedOAuthScopes", "AnalyticsConfiguration",
                    "EnablePropagateAdditionalUserContextData"):
            if key in params:
                client[key] = params[key]
        self._check_client(client)
        if params.get("GenerateSecret"):
            client["ClientSecret"] = base64.b32encode(secrets.token_bytes(40)).decode().lower().rstrip("=")[:51]
        self.store.put_client(client_id, pool["Id"], client)
        return {"UserPoolClient": client}

    def _check_client(self, client: dict) -> None:
        for flow in client.get("ExplicitAuthFlows") or []:
            if flow not in ("ADMIN_NO_SRP_AUTH", "CUSTOM_AUTH_FLOW_ONLY", "USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH",
                            "ALLOW_CUSTOM_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH",
                            "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_AUTH"):
                raise _invalid(f"1 validation error detected: Value '[{flow}]' at 'explicitAuthFlows' failed to "
                               "satisfy constraint: Member must satisfy enum value set")
        if client.get("AllowedOAuthFlowsUserPoolClient") and not client.get("CallbackURLs") and \
                "client_credentials" not in (client.get("AllowedOAuthFlows") or []):
            raise _invalid("CallbackURLs must be specified when OAuth flows are enabled.")

    def _client(self, pool_id: str | None, client_id: str) -> dict:
        client = self.store.client(client_id) if isinstance(client_id, str) else None
        if client is None or (pool_id is not None and client["UserPoolId"] != pool_id):
            raise _error("ResourceNotFoundException", f"User pool client {client_id} does not exist.")
        return client

    def describe_user_pool_client(self, ctx, params):
        self._pool(params["UserPoolId"], ctx)
        return {"UserPoolClient": self._client(params["UserPoolId"], params["ClientId"])}

    def update_user_pool_client(self, ctx, params):
        self._pool(params["UserPoolId"], ctx)
        client = self._client(params["UserPoolId"], params["ClientId"])
        for key, value in params.items():
            if key not in ("UserPoolId", "ClientId"):
                client[key] = value
        self._check_client(client)
        client["LastModifiedDate"] = time.time()
        self.store.put_client(client["ClientId"], client["UserPoolId"], client)
        return {"UserPoolClient": client}

    def delete_user_pool_client(self, ctx, params):
        self._pool(params["UserPoolId"], ctx)
        self._client(params["UserPoolId"], params["ClientId"])
        self.store.delete_client(params["ClientId"])
        return {}

    def list_user_pool_clients(self, ctx, params):
        self._pool(params["UserPoolId"], ctx)
        items = [{"ClientId": c["ClientId"], "UserPoolId": c["UserPoolId"], "ClientName": c["ClientName"]}
                 for c in self.store.clients(params["UserPoolId"])]
        return self._page(items, params, "UserPoolClients")

    @staticmethod
    def _check_secret_hash(client: dict, username: str, secret_hash: str | None) -> None:
        secret = client.get("ClientSecret")
        if secret is None:
            return
        if not secret_hash:
            raise _not_authorized(f"Client {client['ClientId']} is configured with secret but SECRET_HASH was not "
                                  "received")
        expected = base64.b64encode(hmac.new(secret.encode(), (username + client["ClientId"]).encode(),
                                             hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(expected, secret_hash):
            raise _not_authorized(f"Unable to verify secret hash for client {client['ClientId']}")

    # -- passwords and users ---------------------------------------------------------------------------

    @staticmethod
    def _check_password(pool: dict, password: str) -> None:
        policy = pool["Policies"]["PasswordPolicy"]
        problems = []
        if len(password) < policy.get("MinimumLength", 8):
            problems.append("Password not long enough")
        if policy.get("RequireLowercase") and not any(c.islower() for c in password):
            problems.append("Password must have lowercase characters")
        if policy.get("RequireUppercase") and not any(c.isupper() for c in password):
            problems.append("Password must have uppercase characters")
        if policy.get("RequireNumbers") and not any(c.isdigit() for c in password):
            problems.append("Password must have numeric characters")
        if policy.get("RequireSymbols") and not any(c in SYMBOLS for c in password):
            problems.append("Password must have symbol characters")
        if problems:
            raise _error("InvalidPasswordException", f"Password did not conform with policy: {problems[0]}")

    @staticmethod
    def _set_password(pool: dict, user: dict, password: str) -> None:
        salt = secrets.token_bytes(16)
        user["_password"] = {"salt": salt.hex(), "n": SCRYPT_N,
                             "hash": hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=8, p=1).hex()}
        srp_salt, verifier = srp.verifier(pool["Id"], user["Username"], password)
        user["_srp"] = {"salt": srp_salt, "verifier": verifier}

    async def _proves_password(self, user: dict, password: str) -> bool:
        """Whether `password` is the user's: scrypt against the stored hash, in a thread (it
        releases the GIL, so sign-ins hash on the second core). A match is remembered as a keyed
        SHA-256 of (stored hash, password), the key in memory only: the same user signing in again
        with the same password (test suites, load runs) costs a hash, not another 1 MiB scrypt.
        A wrong password is always scrypted; a new password is a new stored hash, which no
        remembered digest matches."""
        stored = user.get("_password")
        if not stored:
            return False
        memo = hmac.new(self._proven_key, f"{stored['salt']}:{stored['hash']}:".encode() + password.encode(),
                        hashlib.sha256).digest()
        if memo in self._proven:
            self._proven.move_to_end(memo)
            return True
        if not await asyncio.to_thread(self._password_matches, user, password):
            return False
        self._proven[memo] = None
        if len(self._proven) > PROVEN_PASSWORDS:
            self._proven.popitem(last=False)
        return True

    @staticmethod
    def _password_matches(user: dict, password: str) -> bool:
        stored = user.get("_password")
        if not stored:
            return False
        digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(stored["salt"]), n=stored.get("n", 2**14), r=8,
                                p=1).hex()
        return hmac.compare_digest(digest, stored["hash"])

    def _username_is_alias(self, pool: dict, name: str) -> str | None:
        """For pools that sign in by email or phone: which attribute a sign-in name is."""
        allowed = pool.get("UsernameAttributes") or []
        if "email" in allowed and "@" in name:
            return "email"
        if "phone_number" in allowed and name.startswith("+"):
            return "phone_number"
        return None

    def _find_user(self, pool: dict, name: str) -> dict | None:
        """A user by username, sub, or a sign-in alias (verified email/phone, preferred_username)."""
        if not isinstance(name, str) or not name:
            return None
        case_sensitive = (pool.get("UsernameConfiguration") or {}).get("CaseSensitive", False)
        user = self.store.user(pool["Id"], name if case_sensitive else name.lower())
        if user is None and not case_sensitive:
            user = self.store.user(pool["Id"], name)
        if user is not None:
            return user
        for column, attribute in (("email", "email"), ("phone", "phone_number"), ("preferred", "preferred_username")):
            allowed = attribute in (pool.get("UsernameAttributes") or []) or attribute in (
                pool.get("AliasAttributes") or [])
            if not allowed:
                continue
            for candidate in self.store.user_by(pool["Id"], column, name.lower() if column != "phone" else name):
                verified = attribute == "preferred_username" or \
                    attribute in (pool.get("UsernameAttributes") or []) or \
                    candidate["Attributes"].get(f"{attribute}_verified") == "true"
                if verified:
                    return candidate
        by_sub = self.store.user_by(pool["Id"], "sub", name)
        return by_sub[0] if by_sub else None

    def _user(self, pool: dict, name: str) -> dict:
        user = self._find_user(pool, name)
        if user is None:
            raise _error("UserNotFoundException", "User does not exist.")
        return user

    def _new_user(self, pool: dict, username: str, attributes: dict, status: str) -> dict:
        alias = self._username_is_alias(pool, username)
        if (pool.get("UsernameAttributes") or []) and alias is None:
            raise _invalid("Username should be either an email or a phone number.")
        attrs = dict(attributes)
        if alias is not None:
            attrs[alias] = username
        self._check_attributes(pool, attrs, creating=True)
        sub = str(uuid.uuid4())
        case_sensitive = (pool.get("UsernameConfiguration") or {}).get("CaseSensitive", False)
        internal = sub if alias is not None else (username if case_sensitive else username.lower())
        if self.store.user(pool["Id"], internal) is not None:
            raise _error("UsernameExistsException", "User already exists")
        if alias is not None and self.store.user_by(pool["Id"], "email" if alias == "email" else "phone",
                                                    username.lower() if alias == "email" else username):
            raise _error("UsernameExistsException", f"An account with the given {alias.replace('_', ' ')} already "
                                                    "exists.")
        attrs["sub"] = sub
        now = time.time()
        return {"Username": internal, "Attributes": attrs, "UserCreateDate": now, "UserLastModifiedDate": now,
                "Enabled": True, "UserStatus": status, "MFAOptions": [], "_failed": 0}

    def _check_attributes(self, pool: dict, attrs: dict, creating: bool = False) -> None:
        schema = {a["Name"]: a for a in pool["SchemaAttributes"]}
        for name, value in attrs.items():
            if name not in schema:
                raise _invalid(f"Attributes did not conform to the schema: {name}: Attribute does not exist in the "
                               "schema.\n")
            if not isinstance(value, str) or len(value) > 2048:
                raise _invalid(f"Attributes did not conform to the schema: {name}: String must be no longer than "
                               "2048 characters")
            if name == "email" and value and not re.match(r"^[^@\s]+@[^@\s]+$", value):
                raise _invalid("Invalid email address format.")
            if name == "phone_number" and value and not re.match(r"^\+\d{4,15}$", value):
                raise _invalid("Invalid phone number format.")
        if creating:
            for attribute in pool["SchemaAttributes"]:
                if attribute.get("Required") and attribute["Name"] != "sub" and not attrs.get(attribute["Name"]):
                    raise _invalid(f"Attributes did not conform to the schema: {attribute['Name']}: The attribute "
                                   f"{attribute['Name']} is required\n")

    def _public_user(self, user: dict, admin: bool = True) -> dict:
        out = {"Username": user["Username"], "UserAttributes" if not admin else "Attributes":
               _attrs_list(user["Attributes"])}
        if admin:
            out.update({k: user[k] for k in ("UserCreateDate", "UserLastModifiedDate", "Enabled", "UserStatus")})
        mfa = user.get("_mfa") or {}
        if mfa.get("totp_enabled"):
            out["UserMFASettingList"] = ["SOFTWARE_TOKEN_MFA"]
            if mfa.get("preferred"):
                out["PreferredMfaSetting"] = "SOFTWARE_TOKEN_MFA"
        return out

    def _save(self, pool: dict, user: dict) -> None:
        user["UserLastModifiedDate"] = time.time()
        self.store.put_user(pool["Id"], user)

    # -- codes (no mail: the log and /_overcast/cognito-idp/codes) ---------------------------------------

    def _send_code(self, pool: dict, user: dict, purpose: str, attribute: str = "email") -> dict:
        code = _code()
        destination = user["Attributes"].get(attribute) or user["Attributes"].get("phone_number") or ""
        self.store.put_code(pool["Id"], user["Username"], purpose, code, time.time() + CODE_SECONDS, destination)
        log.warning("cognito: %s code for %s in %s: %s", purpose, user["Username"], pool["Id"], code)
        self._trigger(pool, "CustomMessage", f"CustomMessage_{_MESSAGE_SOURCES.get(purpose, 'SignUp')}", user,
                      {"codeParameter": "{####}", "usernameParameter": user["Username"],
                       "userAttributes": user["Attributes"]})
        masked = destination[:1] + "***@" + destination.split("@", 1)[1] if "@" in destination else \
            "+*******" + destination[-4:] if destination else ""
        medium = "EMAIL" if "@" in destination else "SMS"
        return {"Destination": masked, "DeliveryMedium": medium, "AttributeName": attribute}

    def _use_code(self, pool: dict, user: dict, purpose: str, code: str) -> None:
        found = self.store.code(pool["Id"], user["Username"], purpose)
        if found is None:
            raise _error("ExpiredCodeException", "Invalid code provided, please request a code again.")
        expected, expires = found
        if expires < time.time():
            self.store.delete_code(pool["Id"], user["Username"], purpose)
            raise _error("ExpiredCodeException", "Invalid code provided, please request a code again.")
        if not hmac.compare_digest(expected, code or ""):
            raise _error("CodeMismatchException", "Invalid verification code provided, please try again.")
        self.store.delete_code(pool["Id"], user["Username"], purpose)

    def codes(self, account: str, pool_id: str | None = None) -> list[dict]:
        return self.store.codes(account, pool_id)

    # -- Lambda triggers ---------------------------------------------------------------------------------

    def _trigger_arn(self, pool: dict, name: str) -> str | None:
        config = pool.get("LambdaConfig") or {}
        if name == "PreTokenGeneration":
            v2 = config.get("PreTokenGenerationConfig") or {}
            return v2.get("LambdaArn") or config.get("PreTokenGeneration")
        return config.get(name)

    async def _atrigger(self, pool: dict, name: str, source: str, user: dict | None, request: dict,
                        client_id: str | None = None) -> dict | None:
        arn = self._trigger_arn(pool, name)
        if not arn:
            return None
        account, region = self.store.pool_scope(pool["Id"])
        version = "1"
        if name == "PreTokenGeneration":
            version = {"V2_0": "2", "V3_0": "3"}.get((pool["LambdaConfig"].get("PreTokenGenerationConfig") or {})
                                                      .get("LambdaVersion"), "1")
        event = {"version": version, "region": region, "userPoolId": pool["Id"],
                 "userName": user["Username"] if user else request.get("userName", ""),
                 "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": client_id or "CLIENT_ID"},
                 "triggerSource": source, "request": request, "response": {}}
        lam = await self.providers.get("lambda")
        try:
            result = await lam.invoke_function(account, region, arn, orjson.dumps(event))
        except AwsError as e:
            raise _error("UnexpectedLambdaException", f"{name} invocation failed due to error {e.code}.") from None
        if result.function_error:
            try:
                message = orjson.loads(result.payload).get("errorMessage", "")
            except (orjson.JSONDecodeError, AttributeError):
                message = result.payload.decode(errors="replace")
            raise _error("UserLambdaValidationException", f"{name} failed with error {message}.")
        try:
            answer = orjson.loads(result.payload)
        except orjson.JSONDecodeError:
            raise _error("InvalidLambdaResponseException", f"Invalid lambda response from {name}.") from None
        if not isinstance(answer, dict):
            raise _error("InvalidLambdaResponseException", f"Invalid lambda response from {name}.")
        return answer.get("response") or {}

    def _trigger(self, pool, name, source, user, request, client_id=None):
        """Fire-and-forget triggers (CustomMessage): invoked in the background."""
        if not self._trigger_arn(pool, name):
            return

        async def run():
            try:
                await self._atrigger(pool, name, source, user, request, client_id)
            except AwsError as e:
                log.warning("cognito %s trigger failed: %s", name, e.message)

        asyncio.get_running_loop().create_task(run())

    # -- sign-up and confirmation ------------------------------------------------------------------------

    def _pool_of_client(self, client_id: str) -> tuple[dict, dict]:
        client = self.store.client(client_id) if isinstance(client_id, str) else None
        if client is None:
            raise _error("ResourceNotFoundException", f"User pool client {client_id} does not exist.")
        return self.store.pool(client["UserPoolId"]), client

    async def sign_up(self, ctx, params):
        pool, client = self._pool_of_client(params["ClientId"])
        username = params["Username"]
        self._check_secret_hash(client, username, params.get("SecretHash"))
        password = params.get("Password")
        if password is None:
            raise _invalid("Password is required for sign-up")
        self._check_password(pool, password)
        user = self._new_user(pool, username, _attrs_dict(params.get("UserAttributes")), "UNCONFIRMED")
        response = await self._atrigger(pool, "PreSignUp", "PreSignUp_SignUp", user, {
            "userAttributes": user["Attributes"], "validationData": _attrs_dict(params.get("ValidationData")),
            "clientMetadata": params.get("ClientMetadata") or {}}, client["ClientId"]) or {}
        self._set_password(pool, user, password)
        confirmed = bool(response.get("autoConfirmUser"))
        if response.get("autoVerifyEmail") and "email" in user["Attributes"]:
            user["Attributes"]["email_verified"] = "true"
        if response.get("autoVerifyPhone") and "phone_number" in user["Attributes"]:
            user["Attributes"]["phone_number_verified"] = "true"
        user["UserStatus"] = "CONFIRMED" if confirmed else "UNCONFIRMED"
        self._save(pool, user)
        out = {"UserConfirmed": confirmed, "UserSub": user["Attributes"]["sub"]}
        if confirmed:
            await self._atrigger(pool, "PostConfirmation", "PostConfirmation_ConfirmSignUp", user,
                                 {"userAttributes": user["Attributes"]}, client["ClientId"])
        elif pool.get("AutoVerifiedAttributes"):
            attribute = "email" if "email" in pool["AutoVerifiedAttributes"] else "phone_number"
            out["CodeDeliveryDetails"] = self._send_code(pool, user, "signup", attribute)
        else:
            self._send_code(pool, user, "signup")
        return out

    async def confirm_sign_up(self, ctx, params):
        pool, client = self._pool_of_client(params["ClientId"])
        self._check_secret_hash(client, params["Username"], params.get("SecretHash"))
        user = self._user(pool, params["Username"])
        if user["UserStatus"] == "CONFIRMED" and not params.get("ForceAliasCreation"):
            raise _not_authorized("User cannot be confirmed. Current status is CONFIRMED")
        self._use_code(pool, user, "signup", params["ConfirmationCode"])
        return await self._confirm(pool, user, client["ClientId"], "PostConfirmation_ConfirmSignUp")

    async def _confirm(self, pool, user, client_id, source):
        user["UserStatus"] = "CONFIRMED"
        verified = pool.get("AutoVerifiedAttributes") or ["email"]
        for attribute in ("email", "phone_number"):
            if attribute in verified and attribute in user["Attributes"]:
                user["Attributes"][f"{attribute}_verified"] = "true"
        self._save(pool, user)
        await self._atrigger(pool, "PostConfirmation", source, user, {"userAttributes": user["Attributes"]},
                             client_id)
        return {}

    async def admin_confirm_sign_up(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        user = self._user(pool, params["Username"])
        if user["UserStatus"] == "CONFIRMED":
            raise _not_authorized("User cannot be confirmed. Current status is CONFIRMED")
        user["UserStatus"] = "CONFIRMED"
        self._save(pool, user)
        await self._atrigger(pool, "PostConfirmation", "PostConfirmation_ConfirmSignUp", user,
                             {"userAttributes": user["Attributes"]})
        return {}

    def resend_confirmation_code(self, ctx, params):
        pool, client = self._pool_of_client(params["ClientId"])
        self._check_secret_hash(client, params["Username"], params.get("SecretHash"))
        user = self._user(pool, params["Username"])
        if user["UserStatus"] == "CONFIRMED":
            raise _invalid("User is already confirmed.")
        return {"CodeDeliveryDetails": self._send_code(pool, user, "signup")}

    # -- admin user management -----------------------------------------------------------------------------

    async def admin_create_user(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        attrs = _attrs_dict(params.get("UserAttributes"))
        if params.get("MessageAction") == "RESEND":
            user = self._user(pool, params["Username"])
            self._send_code(pool, user, "invitation")
            return {"User": self._public_user(user)}
        user = self._new_user(pool, params["Username"], attrs, "FORCE_CHANGE_PASSWORD")
        temporary = params.get("TemporaryPassword") or self._generate_password(pool)
        self._check_password(pool, temporary)
        self._set_password(pool, user, temporary)
        user["_temporary_until"] = time.time() + pool["Policies"]["PasswordPolicy"].get(
            "TemporaryPasswordValidityDays", 7) * 86400
        self._save(pool, user)
        if params.get("MessageAction") != "SUPPRESS":
            self.store.put_code(pool["Id"], user["Username"], "invitation", temporary,
                                user["_temporary_until"], user["Attributes"].get("email", ""))
            log.warning("cognito: invitation for %s in %s: temporary password %s", user["Username"], pool["Id"],
                        temporary)
        return {"User": self._public_user(user)}

    @staticmethod
    def _generate_password(pool: dict) -> str:
        length = max(12, pool["Policies"]["PasswordPolicy"].get("MinimumLength", 8))
        body = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length - 4))
        return body + secrets.choice(string.ascii_uppercase) + secrets.choice(string.ascii_lowercase) + \
            secrets.choice(string.digits) + "!"

    def admin_get_user(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        user = self._user(pool, params["Username"])
        out = self._public_user(user, admin=False)
        out.update({k: user[k] for k in ("UserCreateDate", "UserLastModifiedDate", "Enabled", "UserStatus")})
        out["MFAOptions"] = []
        return out

    def admin_delete_user(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        user = self._user(pool, params["Username"])
        self.store.delete_user(pool["Id"], user["Username"])
        return {}

    def admin_update_user_attributes(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        user = self._user(pool, params["Username"])
        updates = _attrs_dict(params["UserAttributes"])
        self._update_attributes(pool, user, updates, admin=True)
        return {}

    def _update_attributes(self, pool, user, updates: dict, admin: bool) -> list[dict]:
        if "sub" in updates:
            raise _invalid("Cannot modify an immutable attribute: sub")
        schema = {a["Name"]: a for a in pool["SchemaAttributes"]}
        for name in updates:
            if name in schema and not schema[name].get("Mutable", True):
                raise _invalid(f"Cannot modify an immutable attribute: {name}")
        self._check_attributes(pool, updates)
        deliveries = []
        for name, value in updates.items():
            changed = user["Attributes"].get(name) != value
            user["Attributes"][name] = value
            if name in ("email", "phone_number") and changed and f"{name}_verified" not in updates:
                user["Attributes"][f"{name}_verified"] = "false"
                if not admin and name in (pool.get("AutoVerifiedAttributes") or []):
                    deliveries.append(self._send_code(pool, user, f"verify:{name}", name))
        self._save(pool, user)
        return deliveries

    def admin_delete_user_attributes(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        user = self._user(pool, params["Username"])
        for name in params["UserAttributeNames"]:
            user["Attributes"].pop(name, None)
        self._save(pool, user)
        return {}

    def admin_disable_user(self, ctx, params):
        return self._enable(ctx, params, False)

    def admin_enable_user(self, ctx, params):
        return self._enable(ctx, params, True)

    def _enable(self, ctx, params, enabled: bool):
        pool = self._pool(params["UserPoolId"], ctx)
        user = self._user(pool, params["Username"])
        user["Enabled"] = enabled
        self._save(pool, user)
        return {}

    def admin_set_user_password(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        user = self._user(pool, params["Username"])
        self._check_password(pool, params["Password"])
        self._set_password(pool, user, params["Password"])
        permanent = params.get("Permanent", False)
        user["UserStatus"] = "CONFIRMED" if permanent else "FORCE_CHANGE_PASSWORD"
        user.pop("_temporary_until", None)
        self._save(pool, user)
        return {}

    def admin_reset_user_password(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        user = self._user(pool, params["Username"])
        user["UserStatus"] = "RESET_REQUIRED"
        self._save(pool, user)
        self._send_code(pool, user, "forgot")
        return {}

    def admin_user_global_sign_out(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        user = self._user(pool, params["Username"])
        self._sign_out(pool, user)
        return {}

    def _sign_out(self, pool, user) -> None:
        self.store.revoke_user_tokens(pool["Id"], user["Username"])

    def list_users(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        users = self.store.users(pool["Id"])
        flt = params.get("Filter")
        if flt:
            m = re.match(r'^\s*"?([\w:]+)"?\s*(=|\^=)\s*"(.*)"\s*$', flt)
            if m is None:
                raise _invalid("Error while parsing filter.")
            name, op, value = m.groups()

            def field(u):
                if name == "username":
                    return u["Username"]
                if name in ("status", "cognito:user_status"):
                    return u["UserStatus"]
                if name == "enabled":
                    return "true" if u["Enabled"] else "false"
                return u["Attributes"].get(name)

            users = [u for u in users if (field(u) == value if op == "=" else (field(u) or "").startswith(value))]
        wanted = params.get("AttributesToGet")
        items = []
        for u in users:
            public = self._public_user(u)
            if wanted is not None:
                public["Attributes"] = [a for a in public["Attributes"] if a["Name"] in wanted]
            items.append(public)
        limit = params.get("Limit") or 60
        token = params.get("PaginationToken") or "0"
        if not token.isdigit():
            raise _invalid("Invalid pagination token")
        start = int(token)
        out = {"Users": items[start:start + limit]}
        if start + limit < len(items):
            out["PaginationToken"] = str(start + limit)
        return out

    # -- groups --------------------------------------------------------------------------------------------

    def create_group(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        if self.store.group(pool["Id"], params["GroupName"]) is not None:
            raise _error("GroupExistsException", "A group with the name already exists.")
        now = time.time()
        group = {"GroupName": params["GroupName"], "UserPoolId": pool["Id"], "LastModifiedDate": now,
                 "CreationDate": now, **{k: params[k] for k in ("Description", "RoleArn", "Precedence") if k in params}}
        self.store.put_group(pool["Id"], group)
        return {"Group": group}

    def _group(self, pool, name) -> dict:
        group = self.store.group(pool["Id"], name)
        if group is None:
            raise _error("ResourceNotFoundException", "Group not found.")
        return group

    def get_group(self, ctx, params):
        return {"Group": self._group(self._pool(params["UserPoolId"], ctx), params["GroupName"])}

    def update_group(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        group = self._group(pool, params["GroupName"])
        group.update({k: params[k] for k in ("Description", "RoleArn", "Precedence") if k in params})
        group["LastModifiedDate"] = time.time()
        self.store.put_group(pool["Id"], group)
        return {"Group": group}

    def delete_group(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        self._group(pool, params["GroupName"])
        self.store.delete_group(pool["Id"], params["GroupName"])
        return {}

    def list_groups(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        return self._page(self.store.groups(pool["Id"]), params, "Groups", "NextToken", "Limit")

    def admin_add_user_to_group(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        user = self._user(pool, params["Username"])
        self._group(pool, params["GroupName"])
        self.store.add_member(pool["Id"], user["Username"], params["GroupName"])
        return {}

    def admin_remove_user_from_group(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        user = self._user(pool, params["Username"])
        self._group(pool, params["GroupName"])
        self.store.remove_member(pool["Id"], user["Username"], params["GroupName"])
        return {}

    def admin_list_groups_for_user(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        user = self._user(pool, params["Username"])
        return self._page(self.store.groups_of(pool["Id"], user["Username"]), params, "Groups", "NextToken", "Limit")

    def list_users_in_group(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        self._group(pool, params["GroupName"])
        users = [self._public_user(u) for u in self.store.members(pool["Id"], params["GroupName"])]
        return self._page(users, params, "Users", "NextToken", "Limit")

    # -- domains and resource servers ------------------------------------------------------------------------

    def create_user_pool_domain(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        domain = params["Domain"]
        if not re.match(r"^[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?$", domain) and "CustomDomainConfig" not in params:
            raise _invalid(f"1 validation error detected: Value '{domain}' at 'domain' failed to satisfy constraint")
        if self.store.domain(domain) is not None:
            raise _invalid("Domain already exists.")
        account, region = self.store.pool_scope(pool["Id"])
        self.store.put_domain(domain, pool["Id"], {
            "UserPoolId": pool["Id"], "AWSAccountId": account, "Domain": domain, "Status": "ACTIVE",
            "Version": "1", "S3Bucket": "", "CloudFrontDistribution": f"{domain}.auth.{region}.amazoncognito.com",
            **({"CustomDomainConfig": params["CustomDomainConfig"]} if "CustomDomainConfig" in params else {}),
            **({"ManagedLoginVersion": params["ManagedLoginVersion"]} if "ManagedLoginVersion" in params else {})})
        return {"CloudFrontDomain": f"{domain}.auth.{region}.amazoncognito.com",
                **({"ManagedLoginVersion": params["ManagedLoginVersion"]} if "ManagedLoginVersion" in params else {})}

    def describe_user_pool_domain(self, ctx, params):
        found = self.store.domain(params["Domain"])
        return {"DomainDescription": found or {}}

    def delete_user_pool_domain(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        found = self.store.domain(params["Domain"])
        if found is None or found["UserPoolId"] != pool["Id"]:
            raise _invalid("No such domain or user pool exists.")
        self.store.delete_domain(params["Domain"])
        return {}

    def create_resource_server(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        if self.store.resource_server(pool["Id"], params["Identifier"]) is not None:
            raise _invalid(f"{params['Identifier']} already exists in user pool {pool['Id']}.")
        server = {"UserPoolId": pool["Id"], "Identifier": params["Identifier"], "Name": params["Name"],
                  "Scopes": params.get("Scopes") or []}
        self.store.put_resource_server(pool["Id"], server)
        return {"ResourceServer": server}

    def describe_resource_server(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        server = self.store.resource_server(pool["Id"], params["Identifier"])
        if server is None:
            raise _error("ResourceNotFoundException", f"Resource server {params['Identifier']} does not exist.")
        return {"ResourceServer": server}

    def update_resource_server(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        self.describe_resource_server(ctx, params)
        server = {"UserPoolId": pool["Id"], "Identifier": params["Identifier"], "Name": params["Name"],
                  "Scopes": params.get("Scopes") or []}
        self.store.put_resource_server(pool["Id"], server)
        return {"ResourceServer": server}

    def delete_resource_server(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        self.describe_resource_server(ctx, params)
        self.store.delete_resource_server(pool["Id"], params["Identifier"])
        return {}

    def list_resource_servers(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        return self._page(self.store.resource_servers(pool["Id"]), params, "ResourceServers")

    # -- tokens ----------------------------------------------------------------------------------------------

    def _validity(self, client: dict, kind: str) -> int:
        units = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
        unit = (client.get("TokenValidityUnits") or {}).get(kind, "days" if kind == "RefreshToken" else "minutes")
        default = 30 if kind == "RefreshToken" else 60
        return int(client.get(f"{kind}Validity") or default) * units[unit]

    async def _issue(self, pool: dict, client: dict, user: dict, source: str = "TokenGeneration_Authentication",
                     scopes: list[str] | None = None, refresh: bool = True, auth_time: int | None = None,
                     origin: str | None = None, nonce: str | None = None) -> dict:
        """ID, access and (for a new sign-in) refresh tokens. Tokens that a refresh issues keep the
        sign-in's origin_jti, so revoking the sign-in revokes them all."""
        now = tokens.now()
        auth_time = auth_time or now
        origin = origin or tokens.jti()
        ranked = sorted(self.store.groups_of(pool["Id"], user["Username"]),
                        key=lambda g: (g.get("Precedence", 2**31), g["GroupName"]))
        groups = [g["GroupName"] for g in ranked]
        roles = [g["RoleArn"] for g in ranked if g.get("RoleArn")]
        iss = tokens.issuer(pool["Id"])
        event_id = str(uuid.uuid4())
        id_claims = {"sub": user["Attributes"]["sub"], "iss": iss, "cognito:username": user["Username"],
                     "origin_jti": origin, "aud": client["ClientId"], "event_id": event_id, "token_use": "id",
                     "auth_time": auth_time, "exp": now + self._validity(client, "IdToken"), "iat": now,
                     "jti": tokens.jti()}
        for name, value in user["Attributes"].items():
            if name == "sub" or name.startswith("dev:"):
                continue
            id_claims[name] = (value == "true") if name.endswith("_verified") else value
        if nonce:
            id_claims["nonce"] = nonce
        if groups:
            id_claims["cognito:groups"] = groups
        if roles:
            id_claims["cognito:roles"] = roles
            id_claims["cognito:preferred_role"] = roles[0]
        scope = " ".join(scopes) if scopes is not None else SIGNIN_SCOPE
        access_claims = {"sub": user["Attributes"]["sub"], "iss": iss, "client_id": client["ClientId"],
                         "origin_jti": origin, "event_id": event_id, "token_use": "access", "scope": scope,
                         "auth_time": auth_time, "exp": now + self._validity(client, "AccessToken"), "iat": now,
                         "jti": tokens.jti(), "username": user["Username"]}
        if groups:
            access_claims["cognito:groups"] = groups
        response = await self._atrigger(pool, "PreTokenGeneration", source, user, {
            "userAttributes": user["Attributes"], "groupConfiguration": {
                "groupsToOverride": groups, "iamRolesToOverride": roles, "preferredRole": roles[0] if roles else None},
            **({"scopes": scope.split()} if (pool["LambdaConfig"].get("PreTokenGenerationConfig") or {}).get(
                "LambdaVersion") in ("V2_0", "V3_0") else {})}, client["ClientId"])
        if response:
            self._override_claims(response, id_claims, access_claims)
        access, id_token = await tokens.sign_all(pool["Id"], self.store.private_key(pool["Id"]),
                                                 [access_claims, id_claims])
        out = {"AccessToken": access, "ExpiresIn": self._validity(client, "AccessToken"), "TokenType": "Bearer",
               "IdToken": id_token}
        if refresh:
            token = tokens.new_refresh_token()
            self.store.put_refresh(token, pool["Id"], client["ClientId"], user["Username"], origin,
                                   time.time() + self._validity(client, "RefreshToken"))
            out["RefreshToken"] = token
        return out

    # -- the hosted OAuth 2.0 endpoints' use of the pool (hosted.py) ------------------------------------------

    async def hosted_sign_in(self, pool: dict, client: dict, username: str, password: str) -> dict:
        """The user the login page's username and password sign in (AwsError with the message to show)."""
        user = self._find_user(pool, username)
        if user is None:
            raise _not_authorized()
        self._check_lockout(user)
        await self._atrigger(pool, "PreAuthentication", "PreAuthentication_Authentication", user, {
            "userAttributes": user["Attributes"], "validationData": {}}, client["ClientId"])
        if not await self._proves_password(user, password):
            raise self._failed_attempt(pool, user)
        self._clear_failures(pool, user)
        if not user["Enabled"]:
            raise _not_authorized("User is disabled.")
        if user["UserStatus"] != "CONFIRMED":
            raise _not_authorized("The user must be confirmed, and any temporary password changed, before "
                                  "signing in here.")
        if self._needs_totp(pool, user):
            raise _invalid("This sign-in page does not take MFA codes yet: sign in through the API "
                           "(SOFTWARE_TOKEN_MFA) instead.")
        await self._atrigger(pool, "PostAuthentication", "PostAuthentication_Authentication", user, {
            "userAttributes": user["Attributes"], "newDeviceUsed": False}, client["ClientId"])
        return user

    async def oauth_tokens(self, pool, client, user, scopes: list[str], refresh: bool, nonce=None,
                           auth_time=None) -> dict:
        """Tokens for an OAuth 2.0 sign-in: the access token carries the granted scopes; the ID
        token comes only with the openid scope."""
        issued = await self._issue(pool, client, user, "TokenGeneration_HostedAuth", scopes=scopes, refresh=refresh,
                                   nonce=nonce, auth_time=auth_time)
        if "openid" not in scopes:
            issued.pop("IdToken", None)
        return issued

    async def oauth_refresh(self, pool, client, token: str) -> dict:
        return (await self._refresh(pool, client, token, None, None))["AuthenticationResult"]

    async def machine_token(self, pool: dict, client: dict, scopes: list[str]) -> dict:
        """client_credentials: an access token for the app client itself, with resource-server scopes."""
        now = tokens.now()
        validity = self._validity(client, "AccessToken")
        claims = {"sub": client["ClientId"], "token_use": "access", "scope": " ".join(scopes),
                  "auth_time": now, "iss": tokens.issuer(pool["Id"]), "exp": now + validity, "iat": now,
                  "version": 2, "jti": tokens.jti(), "client_id": client["ClientId"]}
        [token] = await tokens.sign_all(pool["Id"], self.store.private_key(pool["Id"]), [claims])
        return {"AccessToken": token, "ExpiresIn": validity, "TokenType": "Bearer"}

    def access_user_any_scope(self, access_token: str) -> tuple[dict, dict, dict]:
        """(pool, user, claims) of a valid user access token, whatever its scopes (userInfo)."""
        try:
            claims = self.verify_issued(None, access_token, "access")
        except jwt.InvalidTokenError:
            raise _not_authorized("Invalid Access Token") from None
        pool_id = pool_of_issuer(claims["iss"])
        user = self.store.user(pool_id, claims.get("username", ""))
        if user is None:
            raise _not_authorized("Invalid Access Token")
        return self.store.pool(pool_id), user, claims

    async def hosted(self, request: HttpRequest, found) -> HttpResponse:
        from overcast.services.cognitoidp.hosted import HostedUI

        return await HostedUI(self).handle(request, found)

    @staticmethod
    def _override_claims(response: dict, id_claims: dict, access_claims: dict) -> None:
        protected = {"iss", "sub", "aud", "token_use", "exp", "iat", "auth_time", "jti", "origin_jti", "event_id"}
        v1 = response.get("claimsOverrideDetails")
        v2 = response.get("claimsAndScopeOverrideDetails")
        if v1:
            for k, v in (v1.get("claimsToAddOrOverride") or {}).items():
                if k not in protected:
                    id_claims[k] = v
            for k in v1.get("claimsToSuppress") or []:
                if k not in protected:
                    id_claims.pop(k, None)
            groups = (v1.get("groupOverrideDetails") or {}).get("groupsToOverride")
            if groups is not None:
                id_claims["cognito:groups"] = access_claims["cognito:groups"] = groups
        if v2:
            for target, details in ((id_claims, v2.get("idTokenGeneration")),
                                    (access_claims, v2.get("accessTokenGeneration"))):
                details = details or {}
                for k, v in (details.get("claimsToAddOrOverride") or {}).items():
                    if k not in protected:
                        target[k] = v
                for k in details.get("claimsToSuppress") or []:
                    if k not in protected:
                        target.pop(k, None)
            access = v2.get("accessTokenGeneration") or {}
            scopes = access_claims["scope"].split()
            scopes += [s for s in access.get("scopesToAdd") or [] if s not in scopes]
            scopes = [s for s in scopes if s not in (access.get("scopesToSuppress") or [])]
            access_claims["scope"] = " ".join(scopes)
            groups = (v2.get("groupOverrideDetails") or {}).get("groupsToOverride")
            if groups is not None:
                id_claims["cognito:groups"] = access_claims["cognito:groups"] = groups

    def jwks(self, pool_id: str) -> dict | None:
        pem = self.store.private_key(pool_id)
        return tokens.jwks(pool_id, pem) if pem else None

    def verify_token(self, pool_id: str, token: str, token_use: str | None = None) -> dict:
        """Claims of a token this pool issued and has not revoked; jwt.InvalidTokenError otherwise."""
        return self.verify_issued({pool_id}, token, token_use)

    def verify_issued(self, pool_ids, token: str, token_use: str | None = None) -> dict:
        """Claims of `token` if one of `pool_ids` (None: any pool) signed it, it has not expired and
        it is not revoked; jwt.InvalidTokenError (ExpiredSignatureError once expired) otherwise.

        A token verified once is remembered with its claims and the key that verified it, so the
        same token on later requests (a client sends it on every call) skips parsing and the RSA
        check; never the expiry, the pool's current key (a deleted or re-keyed pool fails it) or
        the revocation list."""
        cached = self._verified.get(token)
        if cached is not None:
            pool_id, pem, claims = cached
            self._verified.move_to_end(token)
        else:
            issued_by = tokens.unverified(token).get("iss")
            pool_id, pem, claims = pool_of_issuer(issued_by if isinstance(issued_by, str) else None), None, None
        if pool_id is None or (pool_ids is not None and pool_id not in pool_ids):
            raise jwt.InvalidTokenError("the token was not issued by a trusted user pool")
        current = self.store.private_key(pool_id)
        if current is None:
            raise jwt.InvalidTokenError(f"User pool {pool_id} does not exist")
        if claims is None or pem != current:
            claims = tokens.verify(token, pool_id, current)
            self._verified[token] = (pool_id, current, claims)
            if len(self._verified) > VERIFIED_TOKENS:
                self._verified.popitem(last=False)
        elif claims["exp"] <= time.time():
            raise jwt.ExpiredSignatureError("Signature has expired")
        if token_use is not None and claims.get("token_use") != token_use:
            raise jwt.InvalidTokenError(f"the token is not an {token_use} token")
        if claims.get("token_use") == "access" and self.store.origin_revoked(claims.get("origin_jti", "")):
            raise jwt.InvalidTokenError("Access Token has been revoked")
        return dict(claims)

    def _access_user(self, access_token: str) -> tuple[dict, dict, dict]:
        """(pool, user, claims) of a valid access token."""
        try:
            claims = self.verify_issued(None, access_token, "access")
        except jwt.ExpiredSignatureError:
            raise _not_authorized("Access Token has expired") from None
        except jwt.InvalidTokenError as e:
            message = "Access Token has been revoked" if "revoked" in str(e) else "Invalid Access Token"
            raise _not_authorized(message) from None
        pool_id = pool_of_issuer(claims["iss"])
        pool = self.store.pool(pool_id)
        user = self.store.user(pool_id, claims["username"])
        if pool is None or user is None:
            raise _not_authorized("Invalid Access Token")
        if SIGNIN_SCOPE not in claims.get("scope", "").split():
            raise _not_authorized("Access Token does not have required scopes")
        return pool, user, claims

    # -- authentication ----------------------------------------------------------------------------------------

    async def initiate_auth(self, ctx, params):
        pool, client = self._pool_of_client(params["ClientId"])
        return await self._initiate(pool, client, params, admin=False)

    async def admin_initiate_auth(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        client = self._client(pool["Id"], params["ClientId"])
        return await self._initiate(pool, client, params, admin=True)

    def _flow_allowed(self, client: dict, flow: str) -> bool:
        allowed = client.get("ExplicitAuthFlows") or []
        names = {"USER_SRP_AUTH": ("ALLOW_USER_SRP_AUTH",),
                 "USER_PASSWORD_AUTH": ("ALLOW_USER_PASSWORD_AUTH", "USER_PASSWORD_AUTH"),
                 "ADMIN_USER_PASSWORD_AUTH": ("ALLOW_ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"),
                 "ADMIN_NO_SRP_AUTH": ("ALLOW_ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"),
                 "REFRESH_TOKEN_AUTH": ("ALLOW_REFRESH_TOKEN_AUTH",), "REFRESH_TOKEN": ("ALLOW_REFRESH_TOKEN_AUTH",),
                 "CUSTOM_AUTH": ("ALLOW_CUSTOM_AUTH", "CUSTOM_AUTH_FLOW_ONLY"), "USER_AUTH": ("ALLOW_USER_AUTH",)}
        return any(name in allowed for name in names.get(flow, ()))

    async def _initiate(self, pool, client, params, admin: bool):
        flow = params["AuthFlow"]
        auth = params.get("AuthParameters") or {}
        if flow not in ("USER_SRP_AUTH", "REFRESH_TOKEN_AUTH", "REFRESH_TOKEN", "CUSTOM_AUTH", "USER_PASSWORD_AUTH",
                        "ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH", "USER_AUTH"):
            raise _invalid(f"1 validation error detected: Value '{flow}' at 'authFlow' failed to satisfy constraint")
        if flow.startswith("ADMIN") and not admin:
            raise _invalid("Initiate Auth method not supported.")
        if not self._flow_allowed(client, flow):
            raise _invalid("Auth flow not enabled for this client")
        if flow in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
            return await self._refresh(pool, client, auth.get("REFRESH_TOKEN"), auth.get("SECRET_HASH"),
                                       auth.get("USERNAME"))
        username = auth.get("USERNAME")
        if not username:
            raise _invalid("Missing required parameter USERNAME")
        self._check_secret_hash(client, username, auth.get("SECRET_HASH"))
        user = self._find_user(pool, username)
        if flow in ("USER_PASSWORD_AUTH", "ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH") and user is None and \
                auth.get("PASSWORD"):
            user = await self._migrate(pool, client, username, auth["PASSWORD"])
        if user is None:
            if client.get("PreventUserExistenceErrors") == "ENABLED":
                raise _not_authorized()
            raise _error("UserNotFoundException", "User does not exist.")
        if flow == "CUSTOM_AUTH":
            return await self._custom_start(pool, client, user, auth)
        if flow == "USER_SRP_AUTH" or (flow == "USER_AUTH" and "SRP_A" in auth):
            return await self._srp_start(pool, client, user, auth)
        if flow == "USER_AUTH":
            return self._user_auth_start(pool, client, user, auth)
        password = auth.get("PASSWORD")
        if password is None:
            raise _invalid("Missing required parameter PASSWORD")
        return await self._password_step(pool, client, user, password)

    async def _migrate(self, pool, client, username, password) -> dict | None:
        response = await self._atrigger(pool, "UserMigration", "UserMigration_Authentication", None, {
            "password": password, "validationData": {}, "userName": username}, client["ClientId"])
        if not response or not response.get("userAttributes"):
            return None
        attrs = dict(response["userAttributes"])
        attrs.pop("username", None)
        user = self._new_user(pool, username, attrs, "CONFIRMED" if response.get("finalUserStatus") != "RESET_REQUIRED"
                              else "RESET_REQUIRED")
        self._set_password(pool, user, password)
        self._save(pool, user)
        return user

    def _check_lockout(self, user) -> None:
        if user.get("_locked_until", 0) > time.time():
            raise _not_authorized("Password attempts exceeded")

    def _failed_attempt(self, pool, user) -> AwsError:
        user["_failed"] = user.get("_failed", 0) + 1
        if user["_failed"] >= LOCKOUT_AFTER:
            user["_locked_until"] = time.time() + min(900, 2 ** (user["_failed"] - LOCKOUT_AFTER))
        self._save(pool, user)
        return _not_authorized("Password attempts exceeded" if user["_failed"] > LOCKOUT_AFTER else
                               "Incorrect username or password.")

    async def _password_step(self, pool, client, user, password):
        self._check_lockout(user)
        await self._atrigger(pool, "PreAuthentication", "PreAuthentication_Authentication", user, {
            "userAttributes": user["Attributes"], "validationData": {}}, client["ClientId"])
        if not await self._proves_password(user, password):
            raise self._failed_attempt(pool, user)
        return await self._after_password(pool, client, user)

    def _clear_failures(self, pool, user) -> None:
        """The password was right: the count of failures starts again (written only if there was one)."""
        if user.get("_failed") or "_locked_until" in user:
            user["_failed"] = 0
            user.pop("_locked_until", None)
            self._save(pool, user)

    async def _after_password(self, pool, client, user):
        """The password was right: the next challenge, or tokens."""
        self._clear_failures(pool, user)
        if not user["Enabled"]:
            raise _not_authorized("User is disabled.")
        if user["UserStatus"] == "UNCONFIRMED":
            raise _error("UserNotConfirmedException", "User is not confirmed.")
        if user["UserStatus"] == "RESET_REQUIRED":
            raise _error("PasswordResetRequiredException", "Password reset required for the user")
        if user["UserStatus"] == "FORCE_CHANGE_PASSWORD":
            if user.get("_temporary_until", float("inf")) < time.time():
                raise _not_authorized("Temporary password has expired and must be reset by an administrator.")
            required = [f"userAttributes.{a['Name']}" for a in pool["SchemaAttributes"]
                        if a.get("Required") and a["Name"] != "sub" and a["Name"] not in user["Attributes"]]
            return self._challenge(pool, client, user, "NEW_PASSWORD_REQUIRED", {
                "USER_ID_FOR_SRP": user["Username"], "requiredAttributes": orjson.dumps(required).decode(),
                "userAttributes": orjson.dumps({k: v for k, v in user["Attributes"].items()
                                                if k != "sub"}).decode()})
        if self._needs_totp(pool, user):
            return self._challenge(pool, client, user, "SOFTWARE_TOKEN_MFA", {"USER_ID_FOR_SRP": user["Username"]})
        if pool.get("MfaConfiguration") == "ON" and not (user.get("_mfa") or {}).get("totp_enabled"):
            return self._challenge(pool, client, user, "MFA_SETUP", {"MFAS_CAN_SETUP": '["SOFTWARE_TOKEN_MFA"]'})
        return await self._success(pool, client, user)

    @staticmethod
    def _needs_totp(pool, user) -> bool:
        return pool.get("MfaConfiguration", "OFF") in ("ON", "OPTIONAL") and \
            bool((user.get("_mfa") or {}).get("totp_enabled"))

    async def _success(self, pool, client, user, source="TokenGeneration_Authentication"):
        result = await self._issue(pool, client, user, source)
        await self._atrigger(pool, "PostAuthentication", "PostAuthentication_Authentication", user, {
            "userAttributes": user["Attributes"], "newDeviceUsed": False}, client["ClientId"])
        return {"ChallengeParameters": {}, "AuthenticationResult": result}

    def _challenge(self, pool, client, user, name, parameters, extra: dict | None = None, alias: str | None = None):
        """A challenge and its session; `alias`: a second id the answer may name the session by
        instead (the SRP secret block), kept in the same write and taken with it."""
        session = base64.b64encode(secrets.token_bytes(96)).decode()
        expires = time.time() + max(SESSION_SECONDS, int(client.get("AuthSessionValidity", 3)) * 60)
        doc = {"pool": pool["Id"], "client": client["ClientId"], "user": user["Username"], "challenge": name,
               **(extra or {})}
        if alias:
            doc["alias"] = alias
        self.store.put_sessions([(session, doc, expires)] + ([(alias, {"session": session}, expires)] if alias else []))
        return {"ChallengeName": name, "Session": session, "ChallengeParameters": parameters}

    def _take_session(self, session_id: str | None, alias: str | None) -> dict | None:
        """The session a challenge's answer names (by its id, else by its alias), taken once: both
        ids are gone afterwards, so the same answer cannot be sent again."""
        if not session_id and alias:
            pointer = self.store.take_session(alias)
            session_id = pointer.get("session") if pointer else None
        session = self.store.take_session(session_id) if session_id else None
        if session is not None and session.get("alias"):
            self.store.take_session(session["alias"])
        return session

    async def _srp_start(self, pool, client, user, auth):
        a_hex = auth.get("SRP_A")
        if not a_hex:
            raise _invalid("Missing required parameter SRP_A")
        try:
            if int(a_hex, 16) % srp.N == 0:
                raise ValueError
        except ValueError:
            raise _invalid("SRP_A is not a valid value") from None
        self._check_lockout(user)
        verifier = user.get("_srp")
        if verifier is None:
            raise _not_authorized()
        b_hex, big_b = srp.server_challenge(verifier["verifier"])
        secret_block = base64.b64encode(secrets.token_bytes(64)).decode()
        state = {"a": a_hex, "b": b_hex, "B": big_b, "block": secret_block}
        # AWS takes the PASSWORD_VERIFIER answer without the Session too: the secret block finds it
        return self._challenge(pool, client, user, "PASSWORD_VERIFIER", {
            "SALT": verifier["salt"], "SRP_B": big_b, "SECRET_BLOCK": secret_block, "USERNAME": user["Username"],
            "USER_ID_FOR_SRP": user["Username"]}, state, alias=f"srp:{secret_block}")

    def _user_auth_start(self, pool, client, user, auth):
        preferred = auth.get("PREFERRED_CHALLENGE")
        if preferred == "PASSWORD" and auth.get("PASSWORD") is not None:
            raise _invalid("Use RespondToAuthChallenge with SELECT_CHALLENGE PASSWORD")
        return self._challenge(pool, client, user, "SELECT_CHALLENGE", {},
                               {"available": ["PASSWORD", "PASSWORD_SRP"]}) | {
            "AvailableChallenges": ["PASSWORD", "PASSWORD_SRP"]}

    async def _custom_start(self, pool, client, user, auth):
        return await self._custom_next(pool, client, user, [], auth.get("SRP_A"))

    async def _custom_next(self, pool, client, user, session_history: list, srp_a=None):
        if not self._trigger_arn(pool, "DefineAuthChallenge"):
            raise _invalid("Custom auth lambda trigger is not configured for the user pool.")
        defined = await self._atrigger(pool, "DefineAuthChallenge", "DefineAuthChallenge_Authentication", user, {
            "userAttributes": user["Attributes"], "session": session_history, "userNotFound": False},
            client["ClientId"]) or {}
        if defined.get("failAuthentication"):
            raise _not_authorized()
        if defined.get("issueTokens"):
            return await self._success(pool, client, user)
        name = defined.get("challengeName", "CUSTOM_CHALLENGE")
        if name == "PASSWORD_VERIFIER" and srp_a:
            return await self._srp_start(pool, client, user, {"SRP_A": srp_a})
        created = await self._atrigger(pool, "CreateAuthChallenge", "CreateAuthChallenge_Authentication", user, {
            "userAttributes": user["Attributes"], "challengeName": name, "session": session_history},
            client["ClientId"]) or {}
        return self._challenge(pool, client, user, name, {**(created.get("publicChallengeParameters") or {}),
                                                          "USERNAME": user["Username"]},
                               {"history": session_history, "private": created.get("privateChallengeParameters") or {},
                                "metadata": created.get("challengeMetadata")})

    async def respond_to_auth_challenge(self, ctx, params):
        pool, client = self._pool_of_client(params["ClientId"])
        return await self._respond(pool, client, params)

    async def admin_respond_to_auth_challenge(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        client = self._client(pool["Id"], params["ClientId"])
        return await self._respond(pool, client, params)

    async def _respond(self, pool, client, params):
        name = params["ChallengeName"]
        answers = params.get("ChallengeResponses") or {}
        block = answers.get("PASSWORD_CLAIM_SECRET_BLOCK") if name == "PASSWORD_VERIFIER" else None
        session = self._take_session(params.get("Session"), f"srp:{block}" if block else None)
        if session is None or session["pool"] != pool["Id"] or session["client"] != client["ClientId"]:
            raise _not_authorized("Invalid session for the user, session is expired.")
        if session["challenge"] != name and not (session["challenge"] == "SELECT_CHALLENGE"):
            raise _invalid(f"Invalid challenge name {name}")
        user = self.store.user(pool["Id"], session["user"])
        if user is None:
            raise _not_authorized()
        self._check_secret_hash(client, answers.get("USERNAME", user["Username"]), answers.get("SECRET_HASH"))
        if name == "PASSWORD_VERIFIER":
            ok = await tokens.off_loop(srp.check_claim, pool["Id"], user["Username"], user["_srp"]["verifier"],
                                       session["a"], session["b"], session["B"],
                                       answers.get("PASSWORD_CLAIM_SECRET_BLOCK", ""), answers.get("TIMESTAMP", ""),
                                       answers.get("PASSWORD_CLAIM_SIGNATURE", ""))
            if not ok or answers.get("PASSWORD_CLAIM_SECRET_BLOCK") != session["block"]:
                raise self._failed_attempt(pool, user)
            await self._atrigger(pool, "PreAuthentication", "PreAuthentication_Authentication", user, {
                "userAttributes": user["Attributes"], "validationData": {}}, client["ClientId"])
            if "history" in session:  # SRP inside a custom flow
                return await self._custom_next(pool, client, user, session["history"] + [
                    {"challengeName": "PASSWORD_VERIFIER", "challengeResult": True}])
            return await self._after_password(pool, client, user)
        if name == "SELECT_CHALLENGE":
            answer = answers.get("ANSWER")
            if answer == "PASSWORD":
                return await self._password_step(pool, client, user, answers.get("PASSWORD", ""))
            if answer == "PASSWORD_SRP":
                return await self._srp_start(pool, client, user, answers)
            raise _invalid(f"Invalid ANSWER {answer}")
        if name == "NEW_PASSWORD_REQUIRED":
            new = answers.get("NEW_PASSWORD")
            if not new:
                raise _invalid("Missing required parameter NEW_PASSWORD")
            self._check_password(pool, new)
            extra = {k.split(".", 1)[1]: v for k, v in answers.items() if k.startswith("userAttributes.")}
            if extra:
                self._update_attributes(pool, user, extra, admin=True)
            self._set_password(pool, user, new)
            user["UserStatus"] = "CONFIRMED"
            user.pop("_temporary_until", None)
            self._save(pool, user)
            return await self._after_password(pool, client, user)
        if name == "SOFTWARE_TOKEN_MFA":
            secret = (user.get("_mfa") or {}).get("secret")
            code = answers.get("SOFTWARE_TOKEN_MFA_CODE", "")
            if not secret or not pyotp.TOTP(secret).verify(code, valid_window=1):
                self._failed_attempt(pool, user)
                raise _error("CodeMismatchException", "Invalid code received for user")
            return await self._success(pool, client, user)
        if name == "MFA_SETUP":
            raise _invalid("Set up MFA with AssociateSoftwareToken and VerifySoftwareToken using the session first")
        if name == "CUSTOM_CHALLENGE":
            verified = await self._atrigger(pool, "VerifyAuthChallengeResponse",
                                            "VerifyAuthChallengeResponse_Authentication", user, {
                                                "userAttributes": user["Attributes"],
                                                "privateChallengeParameters": session.get("private") or {},
                                                "challengeAnswer": answers.get("ANSWER", "")}, client["ClientId"]) or {}
            history = session.get("history", []) + [{"challengeName": "CUSTOM_CHALLENGE",
                                                     "challengeResult": bool(verified.get("answerCorrect")),
                                                     "challengeMetadata": session.get("metadata")}]
            return await self._custom_next(pool, client, user, history)
        raise _invalid(f"Invalid challenge name {name}")

    async def _refresh(self, pool, client, token, secret_hash, username):
        record = self.store.refresh(token or "")
        if record is None or record["revoked"] or record["client"] != client["ClientId"] or \
                record["pool"] != pool["Id"]:
            raise _not_authorized("Invalid Refresh Token")
        if record["expires"] < time.time():
            raise _not_authorized("Refresh Token has expired")
        user = self.store.user(pool["Id"], record["username"])
        if user is None:
            raise _not_authorized("Invalid Refresh Token")
        if client.get("ClientSecret"):
            self._check_secret_hash(client, username or user["Username"], secret_hash)
        if not user["Enabled"]:
            raise _not_authorized("User is disabled.")
        result = await self._issue(pool, client, user, "TokenGeneration_RefreshTokens", refresh=False,
                                   origin=record["origin"])
        return {"ChallengeParameters": {}, "AuthenticationResult": result}

    async def get_tokens_from_refresh_token(self, ctx, params):
        pool, client = self._pool_of_client(params["ClientId"])
        if client.get("ClientSecret") and params.get("ClientSecret") != client["ClientSecret"]:
            raise _not_authorized(f"Unable to verify secret hash for client {client['ClientId']}")
        result = await self._refresh(pool, client, params["RefreshToken"], None, None)
        return {"AuthenticationResult": result["AuthenticationResult"]}

    def revoke_token(self, ctx, params):
        pool, client = self._pool_of_client(params["ClientId"])
        if client.get("ClientSecret") and params.get("ClientSecret") != client["ClientSecret"]:
            raise _not_authorized(f"Unable to verify secret hash for client {client['ClientId']}")
        if not client.get("EnableTokenRevocation", True):
            raise _error("UnsupportedTokenTypeException", "Token revocation is not enabled for this client")
        record = self.store.refresh(params["Token"])
        if record is None or record["client"] != client["ClientId"]:
            raise _error("UnsupportedTokenTypeException", "Unsupported token type")
        self.store.revoke_refresh(params["Token"])
        return {}

    # -- the signed-in user (access token) ---------------------------------------------------------------------

    def get_user(self, ctx, params):
        pool, user, _ = self._access_user(params["AccessToken"])
        out = self._public_user(user, admin=False)
        out["MFAOptions"] = []
        return out

    def delete_user(self, ctx, params):
        pool, user, _ = self._access_user(params["AccessToken"])
        self.store.delete_user(pool["Id"], user["Username"])
        return {}

    def update_user_attributes(self, ctx, params):
        pool, user, _ = self._access_user(params["AccessToken"])
        deliveries = self._update_attributes(pool, user, _attrs_dict(params["UserAttributes"]), admin=False)
        return {"CodeDeliveryDetailsList": deliveries}

    def delete_user_attributes(self, ctx, params):
        pool, user, _ = self._access_user(params["AccessToken"])
        for name in params["UserAttributeNames"]:
            user["Attributes"].pop(name, None)
        self._save(pool, user)
        return {}

    async def change_password(self, ctx, params):
        pool, user, _ = self._access_user(params["AccessToken"])
        self._check_lockout(user)
        if not await self._proves_password(user, params.get("PreviousPassword") or ""):
            raise self._failed_attempt(pool, user)
        self._check_password(pool, params["ProposedPassword"])
        self._set_password(pool, user, params["ProposedPassword"])
        self._save(pool, user)
        return {}

    def global_sign_out(self, ctx, params):
        pool, user, _ = self._access_user(params["AccessToken"])
        self._sign_out(pool, user)
        return {}

    def get_user_attribute_verification_code(self, ctx, params):
        pool, user, _ = self._access_user(params["AccessToken"])
        attribute = params["AttributeName"]
        if attribute not in ("email", "phone_number") or attribute not in user["Attributes"]:
            raise _invalid(f"Invalid attribute name {attribute}")
        return {"CodeDeliveryDetails": self._send_code(pool, user, f"verify:{attribute}", attribute)}

    def verify_user_attribute(self, ctx, params):
        pool, user, _ = self._access_user(params["AccessToken"])
        attribute = params["AttributeName"]
        self._use_code(pool, user, f"verify:{attribute}", params["Code"])
        user["Attributes"][f"{attribute}_verified"] = "true"
        self._save(pool, user)
        return {}

    # -- forgotten passwords -------------------------------------------------------------------------------------

    def forgot_password(self, ctx, params):
        pool, client = self._pool_of_client(params["ClientId"])
        self._check_secret_hash(client, params["Username"], params.get("SecretHash"))
        user = self._find_user(pool, params["Username"])
        if user is None:
            if client.get("PreventUserExistenceErrors") == "ENABLED":
                return {"CodeDeliveryDetails": {"Destination": "***", "DeliveryMedium": "EMAIL",
                                                "AttributeName": "email"}}
            raise _error("UserNotFoundException", "Username/client id combination not found.")
        if not user["Enabled"]:
            raise _not_authorized("User is disabled.")
        return {"CodeDeliveryDetails": self._send_code(pool, user, "forgot")}

    async def confirm_forgot_password(self, ctx, params):
        pool, client = self._pool_of_client(params["ClientId"])
        self._check_secret_hash(client, params["Username"], params.get("SecretHash"))
        user = self._find_user(pool, params["Username"])
        if user is None:
            raise _error("ExpiredCodeException" if client.get("PreventUserExistenceErrors") == "ENABLED"
                         else "UserNotFoundException",
                         "Invalid code provided, please request a code again." if
                         client.get("PreventUserExistenceErrors") == "ENABLED" else "User does not exist.")
        self._use_code(pool, user, "forgot", params["ConfirmationCode"])
        self._check_password(pool, params["Password"])
        self._set_password(pool, user, params["Password"])
        user["UserStatus"] = "CONFIRMED"
        self._save(pool, user)
        await self._atrigger(pool, "PostConfirmation", "PostConfirmation_ConfirmForgotPassword", user,
                             {"userAttributes": user["Attributes"]}, client["ClientId"])
        return {}

    # -- TOTP MFA ---------------------------------------------------------------------------------------------

    def associate_software_token(self, ctx, params):
        if params.get("AccessToken"):
            pool, user, _ = self._access_user(params["AccessToken"])
            session = None
        else:
            session = self.store.take_session(params.get("Session") or "")
            if session is None:
                raise _not_authorized("Invalid session for the user, session is expired.")
            pool = self.store.pool(session["pool"])
            user = self.store.user(session["pool"], session["user"])
        secret = pyotp.random_base32(32)
        user["_mfa"] = {**(user.get("_mfa") or {}), "pending_secret": secret}
        self._save(pool, user)
        out = {"SecretCode": secret}
        if session is not None:
            new_session = base64.b64encode(secrets.token_bytes(96)).decode()
            self.store.put_session(new_session, {**session, "challenge": "MFA_SETUP"}, time.time() + SESSION_SECONDS)
            out["Session"] = new_session
        return out

    async def verify_software_token(self, ctx, params):
        session = None
        if params.get("AccessToken"):
            pool, user, _ = self._access_user(params["AccessToken"])
        else:
            session = self.store.take_session(params.get("Session") or "")
            if session is None:
                raise _not_authorized("Invalid session for the user, session is expired.")
            pool = self.store.pool(session["pool"])
            user = self.store.user(session["pool"], session["user"])
        mfa = user.get("_mfa") or {}
        secret = mfa.get("pending_secret")
        if not secret:
            raise _error("InvalidUserPoolConfigurationException", "Software token MFA has not been associated")
        if not pyotp.TOTP(secret).verify(params["UserCode"], valid_window=1):
            raise _error("EnableSoftwareTokenMFAException", "Code mismatch")
        user["_mfa"] = {"secret": secret, "totp_enabled": True, "preferred": True,
                        "device_name": params.get("FriendlyDeviceName")}
        self._save(pool, user)
        out = {"Status": "SUCCESS"}
        if session is not None:
            new_session = base64.b64encode(secrets.token_bytes(96)).decode()
            self.store.put_session(new_session, {**session, "challenge": "MFA_SETUP"}, time.time() + SESSION_SECONDS)
            out["Session"] = new_session
        return out

    def set_user_mfa_preference(self, ctx, params):
        pool, user, _ = self._access_user(params["AccessToken"])
        return self._mfa_preference(pool, user, params)

    def admin_set_user_mfa_preference(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        return self._mfa_preference(pool, self._user(pool, params["Username"]), params)

    def _mfa_preference(self, pool, user, params):
        settings = params.get("SoftwareTokenMfaSettings")
        if settings is not None:
            mfa = user.get("_mfa") or {}
            if settings.get("Enabled") and not mfa.get("secret"):
                raise _invalid("User has not verified software token mfa")
            mfa["totp_enabled"] = bool(settings.get("Enabled"))
            mfa["preferred"] = bool(settings.get("PreferredMfa"))
            user["_mfa"] = mfa
            self._save(pool, user)
        return {}

    # -- tags -------------------------------------------------------------------------------------------------

    def _pool_by_arn(self, ctx, arn: str) -> dict:
        return self._pool(arn.rsplit("/", 1)[-1], ctx)

    def tag_resource(self, ctx, params):
        pool = self._pool_by_arn(ctx, params["ResourceArn"])
        pool["UserPoolTags"] = {**(pool.get("UserPoolTags") or {}), **params["Tags"]}
        self.store.put_pool(pool["Id"], ctx.account, ctx.region, pool)
        return {}

    def untag_resource(self, ctx, params):
        pool = self._pool_by_arn(ctx, params["ResourceArn"])
        for key in params["TagKeys"]:
            (pool.get("UserPoolTags") or {}).pop(key, None)
        self.store.put_pool(pool["Id"], ctx.account, ctx.region, pool)
        return {}

    def list_tags_for_resource(self, ctx, params):
        return {"Tags": self._pool_by_arn(ctx, params["ResourceArn"]).get("UserPoolTags") or {}}

    def get_signing_certificate(self, ctx, params):
        pool = self._pool(params["UserPoolId"], ctx)
        jwks = self.jwks(pool["Id"])
        return {"Certificate": orjson.dumps(jwks).decode()}

    # -- overcast's endpoints: JWKS, OpenID configuration, codes -------------------------------------------------

    async def http(self, request: HttpRequest) -> HttpResponse:
        path = request.path.rstrip("/")
        if path in ("/_overcast/cognito/codes", "/_overcast/cognito-idp/codes") and request.method == "GET":
            from urllib.parse import parse_qs

            from overcast.aws.signing import RequestAccount, SignatureFailure

            if self._accounts is None:
                self._accounts = RequestAccount(self.providers)
            try:  # a request signed like an API call sees its account's codes; unsigned, the default account's
                account = await self._accounts.of(request)
            except SignatureFailure as failure:
                error = failure.as_error("json")
                return _json(error.status, {"__type": error.code, "message": error.message})
            pool_id = (parse_qs(request.query_string).get("userPoolId") or [None])[0]
            return _json(200, {"codes": self.codes(account, pool_id)})
        parts = path.strip("/").split("/")
        pool_id = parts[0] if parts else ""
        if len(parts) == 3 and parts[1] == ".well-known" and request.method in ("GET", "HEAD"):
            if self.store.pool(pool_id) is None:
                return _json(404, {"message": f"User pool {pool_id} does not exist."})
            if parts[2] == "jwks.json":
                return _json(200, self.jwks(pool_id))
            if parts[2] == "openid-configuration":
                return _json(200, self._openid_configuration(pool_id))
        return _json(404, {"message": "Not found"})

    def _openid_configuration(self, pool_id: str) -> dict:
        iss = tokens.issuer(pool_id)
        domain = self._pool_domain(pool_id)
        region = pool_id.split("_", 1)[0]
        base = f"https://{domain}.auth.{region}.amazoncognito.com" if domain else iss
        return {"authorization_endpoint": f"{base}/oauth2/authorize", "end_session_endpoint": f"{base}/logout",
                "id_token_signing_alg_values_supported": ["RS256"], "issuer": iss, "jwks_uri": f"{iss}/.well-known/jwks.json",
                "response_types_supported": ["code", "token"], "revocation_endpoint": f"{base}/oauth2/revoke",
                "scopes_supported": ["openid", "email", "phone", "profile"], "subject_types_supported": ["public"],
                "token_endpoint": f"{base}/oauth2/token", "token_endpoint_auth_methods_supported":
                    ["client_secret_basic", "client_secret_post"], "userinfo_endpoint": f"{base}/oauth2/userInfo"}


_MESSAGE_SOURCES = {"signup": "SignUp", "forgot": "ForgotPassword", "invitation": "AdminCreateUser",
                    "verify:email": "VerifyUserAttribute", "verify:phone_number": "VerifyUserAttribute"}


def _json(status: int, payload) -> HttpResponse:
    return HttpResponse(status, [("content-type", "application/json")], orjson.dumps(payload))


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()
