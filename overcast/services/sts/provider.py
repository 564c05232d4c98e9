"""STS: temporary credentials and caller identity.

overcast accepts any credentials on every request, so the credentials STS issues work at once.
They are remembered (services/sts/store.py) so that GetCallerIdentity answers with the identity
they carry: the assumed role, the federated user, or the caller who asked for a session token.

Trust policies are not evaluated: AssumeRole succeeds for any well-formed role ARN (using the
role's RoleId when the role exists in overcast's IAM), and web identity tokens and SAML
assertions are read but their signatures are not checked. See docs/iam-sts.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import os
import re
import time
import xml.etree.ElementTree as ET

import orjson

from overcast.aws import policy as iam_policy
from overcast.aws.errors import AwsError
from overcast.aws.routing import account_for
from overcast.services.base import Provider
from overcast.services.iam import common
from overcast.services.iam.common import as_datetime, check_name, check_range, stable_id, validation_error
from overcast.services.iam.policies import check_document
from overcast.services.sts.store import Session, StsStore

_ROLE_ARN = re.compile(r"arn:(aws[\w-]*):iam::(\d{12}):role((?:/[\x21-\x7e]*)?/)([\w+=,.@-]{1,64})", re.ASCII)
_SAML_PROVIDER_ARN = re.compile(r"arn:aws[\w-]*:iam::\d{12}:saml-provider/([\w.-]+)", re.ASCII)
_SESSION_NAME = r"[\w+=,.@-]*"
_SAML = "{urn:oasis:names:tc:SAML:2.0:assertion}"


def _session_token() -> str:
    return "FwoGZXIvYXdzE" + base64.b64encode(os.urandom(264)).decode()


def _packed_size(policy: str | None, policy_arns: list | None, tags: list | None) -> int | None:
    """PackedPolicySize: how much of the session's policy and tag allowance is used, in percent."""
    if policy is None and not policy_arns and not tags:
        return None
    size = len(orjson.dumps(orjson.loads(policy))) if policy else 0
    size += sum(len(p.get("arn") or "") for p in policy_arns or [])
    size += sum(len(t.get("Key", "")) + len(t.get("Value", "")) for t in tags or [])
    percent = math.ceil(size * 100 / 2048)
    if percent > 100:
        raise AwsError(
            "PackedPolicyTooLarge",
            f"Packed size of consumed session policies and session tags exceeds limit by {percent - 100}%.",
            400,
        )
    return percent


def _check_session_policy(params: dict) -> None:
    if params.get("Policy") is not None:
        check_document(params["Policy"], member="Policy")
    arns = params.get("PolicyArns") or []
    if len(arns) > 10:
        raise validation_error(
            [f"Value '{arns}' at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10"]
        )
    tags = params.get("Tags") or []
    if len(tags) > 50:
        raise validation_error(
            [f"Value '{tags}' at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"]
        )


def _jwt_claims(token: str) -> dict:
    """The claims of a JWT, read without checking its signature; {} when it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = orjson.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _saml_fields(assertion: str) -> dict:
    """Subject, format, issuer and RoleSessionName of a base64 SAML response; signature unchecked."""
    try:
        root = ET.fromstring(base64.b64decode(assertion, validate=False))
    except (ValueError, binascii.Error, ET.ParseError):
        return {}
    fields = {}
    name_id = root.find(f".//{_SAML}Subject/{_SAML}NameID")
    if name_id is not None and name_id.text:
        fields["subject"] = name_id.text.strip()
        fmt = name_id.get("Format", "")
        fields["subject_type"] = fmt.rsplit(":", 1)[-1] if fmt else "persistent"
    issuer = root.find(f".//{_SAML}Issuer")
    if issuer is not None and issuer.text:
        fields["issuer"] = issuer.text.strip()
    for attribute in root.iter(f"{_SAML}Attribute"):
        if attribute.get("Name") == "https://aws.amazon.com/SAML/Attributes/RoleSessionName":
            value = attribute.find(f"{_SAML}AttributeValue")
            if value is not None and value.text:
                fields["session_name"] = value.text.strip()
    return fields


class StsProvider(Provider):
    service = "sts"

    def __init__(self, providers):
        super().__init__(providers)
        self.store = StsStore(self.db)
        self._function_credentials: dict[tuple, dict] = {}  # see function_credentials
        self._account_credentials: dict[str, dict] = {}  # see issue_for_account

    # -- identity ---------------------------------------------------------------------------

    async def _identity(self, ctx) -> tuple[dict, Session | None]:
        """(GetCallerIdentity's answer, the STS session the request was signed with, if any)."""
        session = self.store.get(ctx.access_key) if ctx.access_key else None
        if session is not None:
            if session.expiration < time.time():
                raise AwsError("ExpiredToken", "The security token included in the request is expired", 403)
            return {"UserId": session.user_id, "Account": session.account, "Arn": session.arn}, session
        if ctx.access_key.startswith(common.ACCESS_KEY):
            iam = await self.providers.get("iam")
            user = iam.identity_for_access_key(ctx.access_key)
            if user is not None:
                return user, None
        # Any other key is the account's root user (the account is the key when it is 12 digits).
        return {"UserId": ctx.account, "Account": ctx.account, "Arn": f"arn:aws:iam::{ctx.account}:root"}, None

    async def get_caller_identity(self, ctx, params: dict) -> dict:
        identity, _ = await self._identity(ctx)
        return identity

    async def get_access_key_info(self, ctx, params: dict) -> dict:
        key = check_name(params.get("AccessKeyId"), "AccessKeyId", 128, r"[\w]*", min_length=16)
        return {"Account": await self.account_for_issued_key(key) or account_for(key)}

    async def account_for_issued_key(self, key: str) -> str | None:
        """The account of credentials overcast issued (STS sessions, IAM users' access keys);
        None for any other key. The gateway scopes requests signed with them to that account."""
        identity = await self.identity_for_issued_key(key)
        return identity[0] if identity else None

    async def identity_for_issued_key(self, key: str) -> tuple[str, str] | None:
        """(account, ARN of the role session or user) of credentials overcast issued; None for
        any other key. Resource policies that name a user or role match on that ARN."""
        session = self.store.get(key)
        if session is not None:
            return session.account, session.arn
        if key.startswith(common.ACCESS_KEY):
            user = (await self.providers.get("iam")).identity_for_access_key(key)
            if user is not None:
                return user["Account"], user["Arn"]
        return None

    async def signing_credential(self, key: str):
        """The secret (and session token, expiry) of credentials overcast issued, for signature
        verification (overcast.aws.signing); None for a key overcast did not issue or that IAM
        deactivated (AWS then answers as for an unknown key)."""
        from overcast.aws.signing import Credential

        session = self.store.get(key)
        if session is not None:
            return Credential(session.secret, session.account, session.session_token, session.expiration)
        if key.startswith(common.ACCESS_KEY):
            found = (await self.providers.get("iam")).secret_for_access_key(key)
            if found is not None:
                return Credential(found[1], found[0])
        return None

    def decode_authorization_message(self, ctx, params: dict) -> dict:
        # overcast never denies a request, so it never encodes an authorization message.
        raise AwsError(
            "InvalidAuthorizationMessageException",
            "The encoded authorization message is invalid: overcast does not enforce IAM and issues none.",
            400,
        )

    # -- credentials ------------------------------------------------------------------------

    def _issue(self, account: str, kind: str, arn: str, user_id: str, duration: int,
               role_arn: str | None = None, session_name: str | None = None,
               transitive_tags: dict | None = None) -> dict:
        created = time.time()
        session = Session(
            access_key_id=common.new_access_key_id(common.TEMPORARY_KEY),
            account=account,
            secret=common.new_secret(),
            session_token=_session_token(),
            kind=kind,
            arn=arn,
            user_id=user_id,
            role_arn=role_arn,
            session_name=session_name,
            expiration=float(int(created + duration)),
            created=created,
            transitive_tags=orjson.dumps(transitive_tags).decode() if transitive_tags else None,
        )
        self.store.add(session)
        return {
            "AccessKeyId": session.access_key_id,
            "SecretAccessKey": session.secret,
            "SessionToken": session.session_token,
            "Expiration": as_datetime(session.expiration),
        }

    def issue_for(self, account: str, arn: str, user_id: str, duration: int, role_arn: str,
                  session_name: str) -> dict:
        """Role credentials that another service hands out on the role's behalf (Cognito identity
        pools): remembered like AssumeRole's, so that they act as the role."""
        return self._issue(account, "assumed-role", arn, user_id, duration, role_arn, session_name)

    def issue_for_account(self, account: str, at_least: int) -> dict:
        """Credentials of the account itself that overcast signs its own presigned URLs with
        (CloudFormation's custom resource and wait condition response URLs): remembered like
        GetSessionToken's, so that they verify when signatures are verified, on every node. The
        same ones while they are still stored and valid for `at_least` seconds more."""
        found = self._account_credentials.get(account)
        if found is None or found["Expiration"].timestamp() < time.time() + at_least or \
                self.store.get(found["AccessKeyId"]) is None:
            found = self._issue(account, "session", f"arn:aws:iam::{account}:root", account, 4 * at_least)
            self._account_credentials[account] = found
        return found

    async def _assume(self, ctx, params: dict, session_name: str, kind: str = "assumed-role",
                      check_trust: bool = False) -> dict:
        """Credentials for a role: the common part of the AssumeRole* operations."""
        role_arn = params.get("RoleArn")
        if role_arn is None:
            raise validation_error(["Value null at 'roleArn' failed to satisfy constraint: Member must not be null"])
        if len(role_arn) < 20:
            raise validation_error(
                [f"Value '{role_arn}' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20"]
            )
        parts = role_arn.split(":", 5)
        if len(parts) < 6 or parts[0] != "arn" or not parts[1] or not parts[2] or not parts[5]:
            raise AwsError("ValidationError", f"{role_arn} is invalid", 400)  # not an ARN at all
        match = _ROLE_ARN.fullmatch(role_arn)
        if match is None:
            raise AwsError("ValidationError", "Request ARN is invalid", 400)
        partition, account, _, role_name = match.groups()
        check_name(session_name, "RoleSessionName", 64, _SESSION_NAME, min_length=2)
        duration = check_range(params.get("DurationSeconds"), "DurationSeconds", 900, 43200) or 3600
        _check_session_policy(params)
        transitive = self._transitive_tags(ctx, params)
        role = (await self.providers.get("iam")).role_for_arn(account, role_name)
        if role is not None and role["Arn"] != role_arn:
            role = None  # same name, other path: not this role
        if check_trust and account != ctx.account:
            self._check_trust(ctx, role, role_arn, account, session_name)
        if role is not None and duration > role["MaxSessionDuration"]:
            raise AwsError(
                "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.", 400
            )
        role_id = role["RoleId"] if role else stable_id(common.ROLE_ID, role_arn.lower())
        arn = f"arn:{partition}:sts::{account}:assumed-role/{role_name}/{session_name}"
        assumed_id = f"{role_id}:{session_name}"
        output = {
            "Credentials": self._issue(account, kind, arn, assumed_id, duration, role_arn, session_name, transitive),
            "AssumedRoleUser": {"Arn": arn, "AssumedRoleId": assumed_id},
        }
        packed = _packed_size(params.get("Policy"), params.get("PolicyArns"), params.get("Tags"))
        if packed is not None:
            output["PackedPolicySize"] = packed
        return output

    def _transitive_tags(self, ctx, params: dict) -> dict:
        """The transitive session tags of the new session: those the calling role session passes
        on (a role chain keeps them; the request may not set a key of theirs again) and those the
        request marks transitive. Tag keys compare case-insensitively, as AWS documents."""
        tags = {t.get("Key"): t.get("Value") for t in params.get("Tags") or []}
        lowered = {key.lower(): key for key in tags if key is not None}
        if len(lowered) < len(params.get("Tags") or []):
            raise AwsError("InvalidParameterValue",
                           "Duplicate tag keys found. Please note that Tag keys are case insensitive.", 400)
        transitive = {}
        for key in params.get("TransitiveTagKeys") or []:
            if (key or "").lower() not in lowered:
                raise AwsError("InvalidParameterValue",
                               "The specified transitive tag key must be included in the requested tags.", 400)
            transitive[lowered[key.lower()]] = tags[lowered[key.lower()]]
        caller = self.store.get(ctx.access_key) if ctx is not None and ctx.access_key else None
        inherited = orjson.loads(caller.transitive_tags) if caller is not None and caller.transitive_tags else {}
        if any(key.lower() in lowered for key in inherited):
            raise AwsError("InvalidParameterValue", "One of the specified transitive tag keys can't be set because it "
                           "conflicts with a transitive tag key from the calling session.", 400)
        return {**inherited, **transitive}

    @staticmethod
    def _check_trust(ctx, role: dict | None, role_arn: str, account: str, session_name: str) -> None:
        """Another account may assume a role only when the role exists and its trust policy allows
        the caller (the shared evaluator decides); within an account overcast does not check trust."""
        principal = iam_policy.caller(ctx)
        request = iam_policy.Request(principal, "sts:AssumeRole", role_arn, iam_policy.request_context(
            ctx, principal, **{"sts:RoleSessionName": session_name}))
        trust = role["AssumeRolePolicyDocument"] if role else None
        if not iam_policy.allows(trust, request, account):
            raise AwsError("AccessDenied", f"User: {principal.identity_arn} is not authorized to perform: "
                           f"sts:AssumeRole on resource: {role_arn}", 403)

    async def function_credentials(self, account: str, role_arn: str, function_name: str) -> dict:
        """Credentials for a Lambda function's execution role, as Lambda hands them to its
        sandboxes (session name: the function's name). Issued once and reused until an hour
        before they expire; used when signatures are verified, so that the function's own SDK
        calls verify too."""
        key = (account, role_arn, function_name)
        found = self._function_credentials.get(key)
        if found is not None and found["Expiration"].timestamp() - time.time() > 1800:
            return found
        # a one-character name is shorter than a session name may be: AWS names the session
        # "<name>@lambda_function" then
        session_name = function_name[:64] if len(function_name) > 1 else f"{function_name}@lambda_function"
        try:
            output = await self._assume(None, {"RoleArn": role_arn, "DurationSeconds": 43200}, session_name)
        except AwsError:  # the role allows shorter sessions
            output = await self._assume(None, {"RoleArn": role_arn}, session_name)
        self._function_credentials[key] = output["Credentials"]
        return output["Credentials"]

    async def assume_role(self, ctx, params: dict) -> dict:
        source_identity = params.get("SourceIdentity")
        if source_identity is not None:
            check_name(source_identity, "SourceIdentity", 64, _SESSION_NAME, min_length=2)
        # web identity and SAML callers are federated, not another account: only AssumeRole checks trust
        output = await self._assume(ctx, params, params.get("RoleSessionName"), check_trust=True)
        if source_identity is not None:
            output["SourceIdentity"] = source_identity
        return output

    async def assume_role_with_web_identity(self, ctx, params: dict) -> dict:
        token = params.get("WebIdentityToken")
        if not token or len(token) < 4:
            raise validation_error(
                [f"Value '{token}' at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4"]
            )
        output = await self._assume(ctx, params, params.get("RoleSessionName"))
        claims = _jwt_claims(token)
        audience = claims.get("aud")
        if isinstance(audience, list):
            audience = audience[0] if audience else None
        issuer = claims.get("iss") or params.get("ProviderId")
        output["SubjectFromWebIdentityToken"] = str(claims.get("sub") or "anonymous")
        if issuer:
            output["Provider"] = str(issuer).removeprefix("https://")
        if audience:
            output["Audience"] = str(audience)
        return output

    async def assume_role_with_saml(self, ctx, params: dict) -> dict:
        principal = params.get("PrincipalArn") or ""
        provider = _SAML_PROVIDER_ARN.fullmatch(principal)
        if provider is None:
            raise AwsError("ValidationError", "Request ARN is invalid", 400)
        assertion = params.get("SAMLAssertion") or ""
        fields = _saml_fields(assertion)
        subject = fields.get("subject", "saml-user")
        session_name = re.sub(r"[^\w+=,.@-]", "_", fields.get("session_name") or subject)[:64]
        if len(session_name) < 2:
            session_name = "saml-user"
        output = await self._assume(ctx, params, session_name)
        issuer = fields.get("issuer", "")
        account = output["AssumedRoleUser"]["Arn"].split(":")[4]
        qualifier = base64.b64encode(hashlib.sha1(f"{issuer}{account}/{provider.group(1)}".encode()).digest()).decode()
        output.update({
            "Subject": subject,
            "SubjectType": fields.get("subject_type", "persistent"),
            "Issuer": issuer,
            "Audience": "https://signin.aws.amazon.com/saml",
            "NameQualifier": qualifier,
        })
        return output

    async def get_session_token(self, ctx, params: dict) -> dict:
        duration = check_range(params.get("DurationSeconds"), "DurationSeconds", 900, 129600) or 43200
        identity, session = await self._identity(ctx)
        if session is not None:
            raise AwsError("AccessDenied", "Cannot call GetSessionToken with session credentials", 403)
        if identity["Arn"].endswith(":root"):
            duration = min(duration, 3600)  # AWS caps root sessions at one hour
        credentials = self._issue(identity["Account"], "session", identity["Arn"], identity["UserId"], duration)
        return {"Credentials": credentials}

    async def get_federation_token(self, ctx, params: dict) -> dict:
        name = check_name(params.get("Name"), "Name", 32, _SESSION_NAME, min_length=2)
        duration = check_range(params.get("DurationSeconds"), "DurationSeconds", 900, 129600) or 43200
        _check_session_policy(params)
        identity, session = await self._identity(ctx)
        if session is not None:
            raise AwsError("AccessDenied", "Cannot call GetFederationToken with session credentials", 403)
        if identity["Arn"].endswith(":root"):
            duration = min(duration, 3600)
        account = identity["Account"]
        arn = f"arn:aws:sts::{account}:federated-user/{name}"
        user_id = f"{account}:{name}"
        output = {
            "Credentials": self._issue(account, "federated-user", arn, user_id, duration, session_name=name),
            "FederatedUser": {"Arn": arn, "FederatedUserId": user_id},
        }
        packed = _packed_size(params.get("Policy"), params.get("PolicyArns"), params.get("Tags"))
        if packed is not None:
            output["PackedPolicySize"] = packed
        return output
