"""One evaluator for the resource policies every service keeps: S3 bucket policies, Lambda
function policies, SNS topic and SQS queue policies, EventBridge bus policies, IAM role trust
policies.

overcast does not enforce identity (IAM) policies, so a resource policy decides alone whether
another account may use a resource: the request is allowed when a statement allows it and none
denies it (an explicit Deny wins), as AWS decides a cross-account request whose caller's own
identity policies allow everything. Requests within the resource's own account are not
evaluated at all (see `allows`): IAM is stored, not enforced, and applications rely on that.

The grammar is IAM's: Statement (a list or one object), Effect, Principal / NotPrincipal,
Action / NotAction, Resource / NotResource with `*` and `?` wildcards, and Condition with the
String, Numeric, Date, Bool, Arn, IpAddress, Null operators, their IfExists forms and the
ForAnyValue / ForAllValues set qualifiers. Condition keys are case-insensitive.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import re
import time
from dataclasses import dataclass, field

import orjson

from overcast.aws.errors import AwsError

ALLOW = "Allow"
DENY = "Deny"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: an account's identity (its root, a user, a role session), a service acting
    on a resource's behalf (sns.amazonaws.com delivering to a queue), or nobody (anonymous)."""

    account: str
    arn: str = ""  # arn:aws:iam::ACCOUNT:root when empty
    service: str = ""  # e.g. "sns.amazonaws.com"
    anonymous: bool = False

    @property
    def identity_arn(self) -> str:
        return self.arn or f"arn:aws:iam::{self.account}:root"


@dataclass(slots=True)
class Request:
    """What is asked of the resource: the action (service:Operation), the resource's ARN, and the
    condition keys known for this request (names lower-cased; values a string or a list)."""

    principal: Principal
    action: str
    resource: str
    context: dict = field(default_factory=dict)


def caller(ctx) -> Principal:
    """The principal of an API request (RequestContext): its account and, for credentials
    overcast issued, the user's or role session's ARN."""
    return Principal(ctx.account, getattr(ctx, "principal", "") or "", anonymous=not ctx.access_key)


def request_context(ctx, principal: Principal, **keys) -> dict:
    """The global condition keys of an API request, plus the service's own (`keys`, named as in
    policies, e.g. {"aws:SourceArn": ...}; a None value is left out)."""
    now = time.time()
    values = {
        "aws:principalaccount": principal.account,
        "aws:principalarn": principal.identity_arn,
        "aws:principaltype": _principal_type(principal),
        "aws:currenttime": datetime.datetime.fromtimestamp(now, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:epochtime": str(int(now)),
    }
    request = getattr(ctx, "request", None)
    if request is not None:
        values["aws:securetransport"] = "true" if request.scheme in ("https", "wss") else "false"
        if request.client:
            values["aws:sourceip"] = str(request.client[0])
        agent = request.headers.get("user-agent")
        if agent:
            values["aws:useragent"] = agent
    if principal.service:
        values["aws:principalservicename"] = principal.service
    for key, value in keys.items():
        if value is not None:
            values[key.lower()] = value
    return values


def _principal_type(principal: Principal) -> str:
    if principal.anonymous:
        return "Anonymous"
    if principal.service:
        return "AWSService"
    if ":assumed-role/" in principal.arn:
        return "AssumedRole"
    if ":user/" in principal.arn:
        return "User"
    if ":federated-user/" in principal.arn:
        return "FederatedUser"
    return "Account"


# -- the decision ------------------------------------------------------------------------------


def parse(policy) -> dict | None:
    """A policy document from its JSON text (or an already parsed dict); None when there is none
    or it is not valid JSON (then nothing is granted)."""
    if policy is None or policy == "":
        return None
    if isinstance(policy, dict):
        return policy
    try:
        doc = orjson.loads(policy)
    except (orjson.JSONDecodeError, TypeError):
        return None
    return doc if isinstance(doc, dict) else None


def evaluate(policy, request: Request) -> str | None:
    """"Deny" when a statement that applies denies, else "Allow" when one allows, else None."""
    doc = parse(policy)
    if doc is None:
        return None
    statements = doc.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return None
    decision = None
    for statement in statements:
        if not isinstance(statement, dict) or not _applies(statement, request):
            continue
        effect = _effect(statement)
        if effect == DENY:
            return DENY
        if effect == ALLOW:
            decision = ALLOW
    return decision


def _effect(statement: dict):
    """A statement's Effect; IAM takes a trust policy's in any case ("ALLOW")."""
    effect = statement.get("Effect")
    return effect.capitalize() if isinstance(effect, str) else effect


def statements(policy) -> list:
    """A policy's statements as a list (Statement may be one object); [] when there are none."""
    doc = parse(policy)
    found = doc.get("Statement") if doc is not None else None
    if isinstance(found, dict):
        return [found]
    return found if isinstance(found, list) else []


def applies(statement, request: Request, *, conditions: bool = True) -> bool:
    """Whether one statement applies to a request (its principal, action, resource and, unless
    `conditions` is False, its conditions), whatever its effect."""
    if not isinstance(statement, dict):
        return False
    if not conditions:
        statement = {key: value for key, value in statement.items() if key != "Condition"}
    return _applies(statement, request)


def condition_keys(statement) -> set[str]:
    """The condition keys a statement tests, as the policy writes them."""
    condition = statement.get("Condition") if isinstance(statement, dict) else None
    if not isinstance(condition, dict):
        return set()
    return {key for block in condition.values() if isinstance(block, dict) for key in block}


def allows(policy, request: Request, owner_account: str) -> bool:
    """Whether a request may use a resource of `owner_account`: always within the owner's own
    account (IAM is not enforced there, and a service delivering for a resource of the same
    account needs no grant either), else only when the resource's policy allows it."""
    if request.principal.account == owner_account:
        return True
    return evaluate(policy, request) == ALLOW


def refusal(policy, request: Request, owner_account: str) -> str | None:
    """None when `allows`; else AWS's message for the refused request, which says whether no
    statement allowed it or one denied it (the wording Lambda, STS, EventBridge and others use)."""
    if request.principal.account == owner_account:
        return None
    decision = evaluate(policy, request)
    if decision == ALLOW:
        return None
    who = request.principal.service or request.principal.identity_arn
    why = ("with an explicit deny in a resource-based policy" if decision == DENY
           else f"because no resource-based policy allows the {request.action} action")
    return f"User: {who} is not authorized to perform: {request.action} on resource: {request.resource} {why}"


def check(ctx, owner_account: str, resource: str, action: str, policy=None, code: str = "AccessDeniedException",
          status: int = 400, **keys) -> None:
    """For a provider: raise AWS's `code` unless the caller of `ctx` may do `action` on `resource`
    of `owner_account` (its own account always may; another only through `policy`). `keys` are
    the service's condition keys."""
    if ctx.account == owner_account:
        return
    principal = caller(ctx)
    message = refusal(policy, Request(principal, action, resource, request_context(ctx, principal, **keys)),
                      owner_account)
    if message is not None:
        raise AwsError(code, message, status)


def _applies(statement: dict, request: Request) -> bool:
    if "Principal" in statement:
        if not _principal_matches(statement["Principal"], request.principal):
            return False
    elif "NotPrincipal" in statement:
        if _principal_matches(statement["NotPrincipal"], request.principal):
            return False
    if "Action" in statement:
        if not _any_glob(statement["Action"], request.action, ignore_case=True):
            return False
    elif "NotAction" in statement:
        if _any_glob(statement["NotAction"], request.action, ignore_case=True):
            return False
    if "Resource" in statement:
        if not _any_glob(statement["Resource"], request.resource):
            return False
    elif "NotResource" in statement:
        if _any_glob(statement["NotResource"], request.resource):
            return False
    condition = statement.get("Condition")
    return condition is None or _conditions_hold(condition, request.context)


# -- principals --------------------------------------------------------------------------------


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _principal_matches(element, principal: Principal) -> bool:
    if element == "*":
        return True
    if not isinstance(element, dict):
        return False
    for kind, values in element.items():
        for value in _listed(values):
            if not isinstance(value, str):
                continue
            if kind == "AWS" and _aws_principal_matches(value, principal):
                return True
            if kind == "Service" and (value == "*" or value == principal.service) and principal.service:
                return True
            if kind == "CanonicalUser" and not principal.service and value == canonical_id(principal.account):
                return True
    return False


def _aws_principal_matches(value: str, principal: Principal) -> bool:
    """{"AWS": ...}: "*" (everyone, anonymous too), an account id or its root ARN (any identity
    of that account), or a user's or role's ARN (that user; any session of that role)."""
    if value == "*":
        return not principal.service
    if principal.service:
        return False
    if value == principal.account or value == f"arn:aws:iam::{principal.account}:root":
        return not principal.anonymous
    arn = principal.arn
    if not arn or principal.anonymous:
        return False
    if value == arn:
        return True
    # A role's ARN matches its sessions: arn:aws:sts::ACCT:assumed-role/NAME/SESSION.
    parts = value.split(":", 5)
    if len(parts) == 6 and parts[2] == "iam" and parts[5].startswith("role/"):
        role_name = parts[5].rsplit("/", 1)[1]
        return arn.startswith(f"arn:{parts[1]}:sts::{parts[4]}:assumed-role/{role_name}/")
    return False


def canonical_id(account: str) -> str:
    """The canonical user id S3 shows for an account (its Owner ID)."""
    import hashlib

    return hashlib.sha256(account.encode()).hexdigest()


# -- wildcards ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern:
    """IAM's wildcards: `*` any run of characters, `?` one character; nothing else is special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_matches(pattern: str, value: str, ignore_case: bool = False) -> bool:
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    return _glob(pattern, ignore_case).fullmatch(value) is not None


def _any_glob(patterns, value: str, ignore_case: bool = False) -> bool:
    return any(isinstance(p, str) and glob_matches(p, value, ignore_case) for p in _listed(patterns))


# -- conditions --------------------------------------------------------------------------------


def _conditions_hold(condition, context: dict) -> bool:
    """Every operator block holds; within a block every key holds (AND); a key holds when the
    request's value matches any of the policy's values (OR)."""
    if not isinstance(condition, dict):
        return False
    for operator, block in condition.items():
        if not isinstance(block, dict):
            return False
        for key, wanted in block.items():
            if not _condition_holds(operator, key.lower(), _listed(wanted), context):
                return False
    return True


def _condition_holds(operator: str, key: str, wanted: list, context: dict) -> bool:
    qualifier = ""
    if ":" in operator:
        qualifier, _, operator = operator.partition(":")
        qualifier = qualifier.lower()
    if_exists = operator.endswith("IfExists")
    if if_exists:
        operator = operator[: -len("IfExists")]
    present = context.get(key)
    if operator == "Null":
        is_null = present is None or present == []
        return any(str(w).lower() == ("true" if is_null else "false") for w in wanted)
    test = _OPERATORS.get(operator)
    if test is None:
        return False  # an operator overcast does not know grants nothing (and denies nothing)
    negated = operator.startswith(("StringNot", "NumericNot", "DateNot", "ArnNot", "NotIp", "BinaryNot"))
    if present is None:
        if qualifier == "forallvalues":
            return True
        return if_exists or (negated and qualifier != "foranyvalue")
    values = present if isinstance(present, list) else [present]
    wanted = [w if isinstance(w, str) else _as_text(w) for w in wanted]

    def one(value) -> bool:
        hit = any(test(str(value), w) for w in wanted)
        return not hit if negated else hit

    if qualifier == "forallvalues":
        return all(one(v) for v in values)
    return any(one(v) for v in values)


def _as_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _numeric(compare):
    def test(value: str, wanted: str) -> bool:
        a, b = _number(value), _number(wanted)
        return a is not None and b is not None and compare(a, b)

    return test


def _date(text: str) -> float | None:
    try:
        return float(text)  # epoch seconds are a valid date value
    except ValueError:
        pass
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed.timestamp()


def _dates(compare):
    def test(value: str, wanted: str) -> bool:
        a, b = _date(value), _date(wanted)
        return a is not None and b is not None and compare(a, b)

    return test


def _ip_in(value: str, wanted: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(wanted, strict=False)
    except ValueError:
        return False


def _string_equals(value: str, wanted: str) -> bool:
    return value == wanted


def _string_equals_ignore_case(value: str, wanted: str) -> bool:
    return value.lower() == wanted.lower()


def _string_like(value: str, wanted: str) -> bool:
    return glob_matches(wanted, value)


def _bool(value: str, wanted: str) -> bool:
    return value.lower() == wanted.lower()


# The negated operators test the positive form and invert (see _condition_holds).
_OPERATORS = {
    "StringEquals": _string_equals,
    "StringNotEquals": _string_equals,
    "StringEqualsIgnoreCase": _string_equals_ignore_case,
    "StringNotEqualsIgnoreCase": _string_equals_ignore_case,
    "StringLike": _string_like,
    "StringNotLike": _string_like,
    "NumericEquals": _numeric(lambda a, b: a == b),
    "NumericNotEquals": _numeric(lambda a, b: a == b),
    "NumericLessThan": _numeric(lambda a, b: a < b),
    "NumericLessThanEquals": _numeric(lambda a, b: a <= b),
    "NumericGreaterThan": _numeric(lambda a, b: a > b),
    "NumericGreaterThanEquals": _numeric(lambda a, b: a >= b),
    "DateEquals": _dates(lambda a, b: a == b),
    "DateNotEquals": _dates(lambda a, b: a == b),
    "DateLessThan": _dates(lambda a, b: a < b),
    "DateLessThanEquals": _dates(lambda a, b: a <= b),
    "DateGreaterThan": _dates(lambda a, b: a > b),
    "DateGreaterThanEquals": _dates(lambda a, b: a >= b),
    "Bool": _bool,
    "BinaryEquals": _string_equals,
    "ArnEquals": _string_like,  # ArnEquals and ArnLike both take wildcards
    "ArnLike": _string_like,
    "ArnNotEquals": _string_like,
    "ArnNotLike": _string_like,
    "IpAddress": _ip_in,
    "NotIpAddress": _ip_in,
}
