"""Input validation against the model's shapes: required members, types, enums, lengths, ranges
and patterns — in the form each service answers with.

A checker is compiled once per shape and cached on the ServiceModel, so a request pays only for
the members it sends. How failures are reported differs per service (`ValidationStyle`):

- Smithy/Coral services (awsJson, restJson, restXml): `ValidationException`, "1 validation error
  detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null".
- awsQuery services (IAM, STS, SNS...): the same message with code `ValidationError`.
- SQS (both its JSON and query protocols): a missing member is `MissingParameter` ("The request
  must contain the parameter QueueUrl."); the model's other constraints are not enforced by the
  protocol (SQS checks its own limits, with its own messages).

A value of the wrong JSON type raises `TypeMismatch` at once; the JSON protocols answer it with
`SerializationException`, the text protocols never produce one (their parsers convert text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from overcast.aws.errors import AwsError
from overcast.aws.models import OperationModel, ServiceModel
from overcast.aws.protocols.shapes import recursive_stand_in


@dataclass(frozen=True, slots=True)
class ValidationStyle:
    code: str = "ValidationException"  # error code for constraint failures
    missing_as_parameter: bool = False  # MissingParameter instead of "Member must not be null"
    constraints: bool = True  # enforce enum / length / range / pattern
    invalid_value_code: str | None = None  # code for an unparsable text value (query, rest)
    enums_only: bool = False  # of the constraints, enforce only enums (lengths etc. are the service's)
    unchecked_enums: frozenset = frozenset()  # enum shapes the service checks itself, with its own errors
    too_long: tuple = ()  # (shape name, whole message) pairs: a too-long value answers that message alone
    # operations whose model lists ValidationException and not `code` answer ValidationException
    # (CloudWatch Logs: its newer APIs, vended-log deliveries..., answer as Smithy services do)
    code_from_errors: bool = False
    pattern_first: bool = False  # a pattern failure is listed before a length failure of the same value
    enum_order: tuple = ()  # (shape name, values) pairs: an enum AWS lists in an order of its own
    # (list shape name, members AWS adds) pairs: a list of structures AWS quotes in a message as
    # its Java code prints them, "[Entry(member=value, ..., extra=null), ...]"
    java_lists: tuple = ()
    unchecked_patterns: frozenset = frozenset()  # shapes whose model pattern the service does not enforce
    # a body member's path starts with the operation's input name ("updateRestApiInput.patchOperations"),
    # a member bound to the URI, query string or a header does not (API Gateway)
    input_prefix: bool = False
    # whether the constraints AWS lists for a list's or map value's scalar members end with
    # "Member must not be null" (Lambda's, EventBridge's...; not API Gateway's), see _whole_checker
    member_not_null: bool = True
    # (shape name, pattern) pairs: the pattern AWS checks and quotes where botocore's model has
    # another (a newer or older revision of the service's model)
    patterns: tuple = ()
    model_order: frozenset = frozenset()  # structures whose problems come in model order, not the request's
    # (list shape name, values) pairs: a list of an unchecked enum whose members are checked against
    # the model's enum and reported for the whole list, "Member must satisfy enum value set: [values]"
    # with the values AWS lists (Lambda's CompatibleRuntimes)
    enum_lists: tuple = ()
    # shapes whose failing value AWS does not quote ("Value at 'x' failed ...") and whose enum it
    # does not list ("Member must satisfy enum value set")
    unquoted: frozenset = frozenset()


SMITHY = ValidationStyle()
QUERY = ValidationStyle(code="ValidationError")
# IAM (AWS's recorded answers to the service-specific credential operations): a bad credential id
# or status is not quoted, and the status's enum is not listed.
IAM = ValidationStyle(code="ValidationError", unquoted=frozenset(("serviceSpecificCredentialId", "statusType")))
SQS = ValidationStyle(code="InvalidParameterValue", missing_as_parameter=True, constraints=False,
                      invalid_value_code="InvalidParameterValue")
# S3 validates its XML configurations against its schema (required elements, enumerations) and
# answers MalformedXML; it checks lengths, notification events and regions itself, with its own errors.
S3 = ValidationStyle(code="MalformedXML", enums_only=True,
                     unchecked_enums=frozenset(("Event", "FilterRuleName", "BucketLocationConstraint")))

# Cognito answers its "1 validation error detected: ..." messages as InvalidParameterException.
COGNITO = ValidationStyle(code="InvalidParameterException")

# CloudWatch Logs answers its "1 validation error detected: ..." messages as
# InvalidParameterException, and a log group or stream name over 512 characters with a message
# of its own (both as AWS's recorded answers show).
_NAME_TOO_LONG = "Invalid LogGroup or LogStream, both must have length less than or equal to 512."
# Its newer operations (delivery sources and destinations, ...) list only ValidationException and
# answer with it; OutputFormat's enum is listed in AWS's own order by the provider, which differs
# from botocore's.
LOGS = ValidationStyle(code="InvalidParameterException",
                       too_long=(("LogGroupName", _NAME_TOO_LONG), ("LogStreamName", _NAME_TOO_LONG)),
                       code_from_errors=True, unchecked_enums=frozenset(("OutputFormat",)),
                       # AWS accepted the namespace "A.B-c_d/1#2:metricNamespace" in a metric filter,
                       # which the model's pattern [^:*$]* refuses
                       unchecked_patterns=frozenset(("MetricNamespace",)))

# EventBridge (AWS's recorded answers): a name's pattern failure comes before its length failure;
# the API destination's HTTP methods are listed in AWS's order, not botocore's; an OAuth
# connection's HttpMethod is accepted in any case (the provider checks it).
# PutEvents' entries are quoted as AWS's Java code prints them, with two members of AWS's own that
# the API model does not have.
EVENTS = ValidationStyle(pattern_first=True, unchecked_enums=frozenset(("ConnectionOAuthHttpMethod",)),
                         enum_order=(("ApiDestinationHttpMethod", ("HEAD", "POST", "PATCH", "DELETE", "PUT", "GET",
                                                                   "OPTIONS")),),
                         java_lists=(("PutEventsRequestEntryList", ("kmsKeyIdentifier", "internalMetadata")),))

# API Gateway (AWS's recorded answers): a body member's path names the operation's input, and
# these enums are listed in AWS's order, not botocore's.
APIGATEWAY = ValidationStyle(input_prefix=True, model_order=frozenset(("EndpointConfiguration",)), member_not_null=False, enum_order=(
    ("Op", ("add", "remove", "move", "test", "replace", "copy")),
    ("EndpointType", ("PRIVATE", "EDGE", "REGIONAL")),
    ("IntegrationType", ("HTTP", "MOCK", "AWS_PROXY", "HTTP_PROXY", "AWS")),
    ("DocumentationPartType", ("RESPONSE_BODY", "RESPONSE", "METHOD", "MODEL", "AUTHORIZER", "RESPONSE_HEADER",
                               "RESOURCE", "PATH_PARAMETER", "REQUEST_BODY", "QUERY_PARAMETER", "API",
                               "REQUEST_HEADER")),
    ("GatewayResponseType", ("REQUEST_TOO_LARGE", "RESOURCE_NOT_FOUND", "AUTHORIZER_CONFIGURATION_ERROR",
                             "MISSING_AUTHENTICATION_TOKEN", "BAD_REQUEST_BODY", "INVALID_SIGNATURE", "INVALID_API_KEY",
                             "BAD_REQUEST_PARAMETERS", "AUTHORIZER_FAILURE", "UNAUTHORIZED", "INTEGRATION_TIMEOUT",
                             "ACCESS_DENIED", "DEFAULT_4XX", "DEFAULT_5XX", "WAF_FILTERED", "QUOTA_EXCEEDED",
                             "THROTTLED", "API_CONFIGURATION_ERROR", "UNSUPPORTED_MEDIA_TYPE", "INTEGRATION_FAILURE",
                             "EXPIRED_TOKEN"))))

# CloudWatch lists the alarm states in an order of its own (AWS's recorded answers).
CLOUDWATCH = ValidationStyle(enum_order=(("StateValue", ("INSUFFICIENT_DATA", "ALARM", "OK")),))

# KMS (AWS's recorded answers): a too-long Plaintext is not quoted, and these enums are listed
# in AWS's order (KeySpec and KeyUsageType as AWS listed them when the answers were recorded).
KMS = ValidationStyle(
    too_long=(("PlaintextType", "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: "
                                "Member must have length less than or equal to 4096"),),
    enum_order=(("MacAlgorithmSpec", ("HMAC_SHA_384", "HMAC_SHA_256", "HMAC_SHA_224", "HMAC_SHA_512")),
                ("KeySpec", ("RSA_2048", "ECC_NIST_P384", "ECC_NIST_P256", "ECC_NIST_P521", "HMAC_384", "RSA_3072",
                             "ECC_SECG_P256K1", "RSA_4096", "SYMMETRIC_DEFAULT", "HMAC_256", "HMAC_224", "HMAC_512")),
                ("KeyUsageType", ("ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC"))))

# The runtimes AWS lists, in its order, when a function's or layer's runtime is not one it knows
# (its recorded answers to CreateFunction, UpdateFunctionConfiguration and PublishLayerVersion).
AWS_RUNTIME_LIST = ("nodejs20.x", "python3.14", "provided.al2023", "python3.12", "python3.13", "nodejs24.x", "nodejs22.x",
                    "java25", "python3.10", "python3.11", "java21", "ruby3.3", "ruby3.4", "ruby3.2", "python3.8",
                    "python3.9", "java17", "nodejs16.x", "dotnet10", "dotnet8", "java11", "dotnet6", "nodejs18.x",
                    "provided.al2", "java8.al2")

# Lambda (AWS's recorded answers): these enums are listed in AWS's order, not botocore's.
# Its resource ARN patterns are those of AWS's model when its answers were recorded: taggable
# resources without `network-connector`, layer version ARNs without the outer parentheses.
# Runtime is checked by the provider, with the words and the list of runtimes AWS answers; a
# layer's CompatibleRuntimes here, so that a bad runtime and a bad architecture are reported
# together ("2 validation errors detected"), as AWS does.
LAMBDA = ValidationStyle(
    unchecked_enums=frozenset(("Runtime",)),
    enum_lists=(("CompatibleRuntimes", AWS_RUNTIME_LIST),),
    enum_order=(("EventSourcePosition", ("LATEST", "AT_TIMESTAMP", "TRIM_HORIZON")),
                ("RecursiveLoop", ("Terminate", "Allow")), ("InvokeMode", ("RESPONSE_STREAM", "BUFFERED"))),
    patterns=(("TaggableResource", r"arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:"
                                   r"\d{12}:(function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?|layer:([a-zA-Z0-9-_]+)|"
                                   r"code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-fA-F]{8}-"
                                   r"[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|"
                                   r"capacity-provider:[a-zA-Z0-9-_]+)"),
              ("LayerVersionArn", r"(arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-"
                                  r"\d{1}:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+)|"
                                  r"(arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+)")))

# Step Functions lists the execution statuses in an order of its own (AWS's recorded answers).
STEPFUNCTIONS = ValidationStyle(enum_order=(("ExecutionStatus", ("SUCCEEDED", "TIMED_OUT", "PENDING_REDRIVE", "ABORTED",
                                                                  "FAILED", "RUNNING")),))

# Services whose answers differ from their protocol's default, by botocore model name.
SERVICE_STYLES: dict[str, ValidationStyle] = {"sqs": SQS, "s3": S3, "cognito-idp": COGNITO, "logs": LOGS,
                                              "events": EVENTS, "apigateway": APIGATEWAY,
                                              "cloudwatch": CLOUDWATCH, "kms": KMS, "lambda": LAMBDA,
                                              "iam": IAM, "stepfunctions": STEPFUNCTIONS}
PROTOCOL_STYLES: dict[str, ValidationStyle] = {"query": QUERY, "ec2": QUERY}


def style_for(model: ServiceModel) -> ValidationStyle:
    return SERVICE_STYLES.get(model.name) or PROTOCOL_STYLES.get(model.protocol) or SMITHY


class TypeMismatch(Exception):
    def __init__(self, path, kind: str, value):
        path = _text(path)
        super().__init__(path)
        self.path = path
        self.kind = kind
        self.value = value


_TYPES = {
    "string": str,
    "boolean": bool,
    "integer": int,
    "long": int,
    "short": int,
    "byte": int,
    "float": (int, float),
    "double": (int, float),
    "list": (list, tuple),
    "map": dict,
    "structure": dict,
    "blob": (bytes, bytearray, str),
}


def validate_input(model: ServiceModel, operation: OperationModel, params: dict) -> None:
    """Raise the service's validation error if params break the operation's input shape."""
    if not operation.input_shape:
        return
    check = _checker(model, operation.input_shape)
    if check is None:
        return
    problems: list = []
    check(params, "", problems)
    if problems:
        if style_for(model).input_prefix:
            problems = _prefixed(model, operation, problems)
        raise _error(model, problems, operation)


def _prefixed(model: ServiceModel, operation: OperationModel, problems: list) -> list:
    """Problems whose path starts at a body member, named from the operation's input
    ("createRestApiInput.name"), as API Gateway names them."""
    members = model.shapes[operation.input_shape].get("members", {})
    body = {_lower(name) for name, ref in members.items() if "location" not in ref}
    prefix = f"{_lower(operation.name)}Input."
    out = []
    for kind, path, text in problems:
        shown = path if kind != "missing" else _lower(path)
        if kind != "whole" and shown.split(".", 1)[0] in body:
            text = text.replace(f" at '{shown}", f" at '{prefix}{shown}", 1)
        out.append((kind, path, text))
    return out


def shape_is_valid(model: ServiceModel, shape_name: str, value) -> bool:
    """Whether a value satisfies a shape (for services that report any failure with one error of
    their own, as S3 does with MalformedXML)."""
    check = _checker(model, shape_name)
    if check is None:
        return True
    problems: list = []
    try:
        check(value, "", problems)
    except TypeMismatch:
        return False
    return not problems


def invalid_value(model: ServiceModel, name: str, value: str, kind: str) -> AwsError:
    """A text value (query parameter, header, label) that does not parse as its shape's type."""
    style = style_for(model)
    if style.invalid_value_code:
        return AwsError(style.invalid_value_code,
                        f"Value {value} for parameter {name} is invalid. Reason: must be of type {kind}.")
    return AwsError(style.code, f"1 validation error detected: Value '{value}' at '{_lower(name)}' failed to "
                    f"satisfy constraint: Member must be of type {kind}")


def _error(model: ServiceModel, problems: list, operation: OperationModel | None = None) -> AwsError:
    style = style_for(model)
    code = style.code
    if style.code_from_errors and operation is not None:
        errors = {e.get("shape") for e in operation.spec.get("errors", ())}
        if "ValidationException" in errors and code not in errors:
            code = "ValidationException"
    if style.missing_as_parameter:
        for kind, name, _ in problems:
            if kind == "missing":
                return AwsError("MissingParameter", f"The request must contain the parameter {name}.")
    for kind, _, text in problems:
        if kind == "whole":  # a message of the service's own, not part of a list
            return AwsError(code, text)
    messages = [text for _, _, text in problems]
    count = len(messages)
    noun = "error" if count == 1 else "errors"
    return AwsError(code, f"{count} validation {noun} detected: " + "; ".join(messages))


# -- compiled checkers -------------------------------------------------------------------------


def _checker(model: ServiceModel, shape_name: str):
    cache = model.cache("validators")
    if shape_name in cache:
        return cache[shape_name]
    cache[shape_name] = recursive_stand_in(cache, shape_name, lambda value: None)  # cycles
    cache[shape_name] = result = _compile(model, shape_name, style_for(model))
    return result


def _lower(name: str) -> str:
    return name[:1].lower() + name[1:]


def _text(path) -> str:
    """A member's path as AWS's messages show it ("key.pk.member"). Checkers pass paths as
    tuples and spell them out only for a message: a valid request, the usual one, builds none.
    (parent, name) is a structure's member: "parent.name", or "name" at the top; (parent, step,
    suffix) is a list's item or a map's key or value: "parent.step" then ".suffix" if any."""
    if path.__class__ is str:
        return path
    parent = _text(path[0])
    if len(path) == 2:
        return f"{parent}.{path[1]}" if parent else path[1]
    return f"{parent}.{path[1]}.{path[2]}" if path[2] else f"{parent}.{path[1]}"


def _show(value) -> str:
    if isinstance(value, bytes | bytearray):
        return "java.nio.HeapByteBuffer"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):  # as AWS's Java code prints them: [a, b], {k=v}
        return "[" + ", ".join("null" if v is None else _show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={'null' if v is None else _show(v)}" for k, v in value.items()) + "}"
    return str(value)


def _compile(model: ServiceModel, shape_name: str, style: ValidationStyle):
    shape = model.shapes[shape_name]
    kind = shape["type"]
    expected = _TYPES.get(kind)
    if kind == "structure" and shape.get("document"):
        return None
    tests = _constraint_tests(shape_name, shape, kind, style, model) if style.constraints else []

    # one test per kind, chosen here rather than on every value
    if expected is None:
        def type_ok(value) -> bool:
            return True
    elif kind in ("float", "double"):
        def type_ok(value) -> bool:
            if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
                return True
            return isinstance(value, expected) and not isinstance(value, bool)
    elif expected is int:  # JSON's true is no integer, though bool is a subclass of int
        def type_ok(value) -> bool:
            return isinstance(value, int) and value.__class__ is not bool
    else:  # bool (boolean) is not a str, bytes, list or dict
        def type_ok(value) -> bool:
            return isinstance(value, expected)

    if kind == "structure":
        members = shape.get("members", {})
        required = tuple(shape.get("required", ()))
        model_order = shape_name in style.model_order
        subs = {}  # member name -> (its checker, its name in paths)
        for name, ref in members.items():
            sub = _checker(model, ref["shape"])
            if sub is not None:
                subs[name] = (sub, _lower(name))

        def check_structure(value, path, problems):
            if not isinstance(value, dict):
                raise TypeMismatch(path or shape_name, kind, value)
            for name in required:
                if value.get(name) is None:
                    problems.append(("missing", name, f"Value null at '{_text((path, _lower(name)))}' failed to "
                                     "satisfy constraint: Member must not be null"))
            if model_order:
                for name, member in subs.items():
                    member_value = value.get(name)
                    if member_value is not None:
                        member[0](member_value, (path, member[1]), problems)
                return
            for name, member_value in value.items():
                member = subs.get(name)
                if member is not None and member_value is not None:
                    member[0](member_value, (path, member[1]), problems)

        return check_structure

    if kind in ("list", "map") and style.constraints and not style.enums_only:
        whole = _whole_checker(model, shape, kind, style, tests)
        if whole is not None:
            return whole
    if kind == "list":
        sub = _checker(model, shape["member"]["shape"])
        sparse = bool(shape.get("sparse"))

        def check_list(value, path, problems):
            if not isinstance(value, list | tuple):
                raise TypeMismatch(path, kind, value)
            for test in tests:
                test(value, path, problems)
            for i, item in enumerate(value, 1):
                if item is not None:
                    if sub is not None:
                        sub(item, (path, i, "member"), problems)
                elif not sparse:  # a JSON null inside a list the model does not mark sparse
                    problems.append(("null", _text(path), f"Value null at '{_text((path, i, 'member'))}' failed "
                                     "to satisfy constraint: Member must not be null"))

        return check_list

    if kind == "map":
        ksub = _checker(model, shape["key"]["shape"])
        vsub = _checker(model, shape["value"]["shape"])

        def check_map(value, path, problems):
            if not isinstance(value, dict):
                raise TypeMismatch(path, kind, value)
            for test in tests:
                test(value, path, problems)
            for k, item in value.items():
                if ksub is not None:
                    ksub(k, (path, "key", ""), problems)
                if vsub is not None and item is not None:
                    vsub(item, (path, k, "member"), problems)

        return check_map

    if not tests:
        if expected is None:
            return None

        if kind in ("string", "boolean"):  # the commonest leaves: the test inline
            def check_type(value, path, problems):
                if not isinstance(value, expected):
                    raise TypeMismatch(path, kind, value)
        else:
            def check_type(value, path, problems):
                if not type_ok(value):
                    raise TypeMismatch(path, kind, value)

        return check_type

    def check_scalar(value, path, problems):
        if not type_ok(value):
            raise TypeMismatch(path, kind, value)
        for test in tests:
            test(value, path, problems)

    return check_scalar


_SCALARS = frozenset(("string", "integer", "long", "short", "byte", "float", "double", "boolean"))


def _member_constraints(model: ServiceModel, shape_name: str, style: ValidationStyle, key: bool = False) -> list[str]:
    """The constraints AWS lists for a list's (or a map's keys' or values') scalar members, in its
    order: the upper bound, the lower bound, the pattern, the enum, then "Member must not be null"
    (not for map keys, nor for a string that may be empty: Lambda's subnet and security group ids,
    as AWS's recorded answers show)."""
    shape = model.shapes[shape_name]
    noun = "length" if shape["type"] == "string" else "value"
    lo, hi = shape.get("min"), shape.get("max")
    out = []
    if hi is not None:
        out.append(f"Member must have {noun} less than or equal to {hi}")
    if lo is not None:
        out.append(f"Member must have {noun} greater than or equal to {lo}")
    if "pattern" in shape and shape_name not in style.unchecked_patterns:
        pattern = dict(style.patterns).get(shape_name) or shape["pattern"]
        out.append(f"Member must satisfy regular expression pattern: {pattern}")
    if "enum" in shape and shape_name not in style.unchecked_enums:
        out.append(f"Member must satisfy enum value set: [{', '.join(dict(style.enum_order).get(shape_name) or shape['enum'])}]")
    if style.member_not_null and not key and not (shape["type"] == "string" and lo == 0):
        out.append("Member must not be null")
    return out


def _java_scalar(model: ServiceModel, shape_name: str, value) -> str:
    """A scalar as AWS's Java code prints it inside a list or map: doubles with their ".0"."""
    if model.shapes[shape_name]["type"] in ("float", "double") and isinstance(value, int | float) \
            and not isinstance(value, bool):
        return repr(float(value))
    return _show(value)


def _whole_checker(model: ServiceModel, shape: dict, kind: str, style: ValidationStyle, tests: list):
    """A list of scalars, or a map with scalar keys or values, whose members have constraints:
    AWS reports a bad member once, for the whole value (as its recorded answers show for Lambda's
    architectures, layers and routing weights, and API Gateway's endpoint types):
    "Value '[X86_64]' at 'architectures' failed to satisfy constraint: Member must satisfy
    constraint: [Member must satisfy enum value set: [x86_64, arm64], Member must not be null]";
    a map's: "Value '{2=2.0}' at 'w' failed to satisfy constraint: Map value must satisfy
    constraint: [...]" (keys: "Map keys must ..."). None when the per-member checker is the one
    (members that are structures, or scalars without constraints)."""
    if kind == "list":
        parts = [("Member", shape["member"]["shape"], False)]
    else:
        parts = [("Map keys", shape["key"]["shape"], True), ("Map value", shape["value"]["shape"], False)]
    checks = []  # (label, member shape, is the map's key, its checker, AWS's constraint list or None)
    for label, name, key in parts:
        if model.shapes[name]["type"] not in _SCALARS:
            return None  # structures, lists and maps inside: reported per member
        sub = _checker(model, name)
        if sub is None:
            continue
        constraints = _member_constraints(model, name, style, key)
        # a type check only (no constraint of the member's own): problems stay per member
        whole = ", ".join(constraints) if any(c != "Member must not be null" for c in constraints) else None
        checks.append((label, name, key, sub, whole))
    if not any(c[4] for c in checks):
        return None
    sparse = bool(shape.get("sparse"))

    def shown(value) -> str:
        if kind == "list":
            name = parts[0][1]
            return "[" + ", ".join("null" if v is None else _java_scalar(model, name, v) for v in value) + "]"
        return "{" + ", ".join(f"{_java_scalar(model, parts[0][1], k)}={'null' if v is None else _java_scalar(model, parts[1][1], v)}"
                               for k, v in value.items()) + "}"

    key_sub = next((c[3] for c in checks if c[2]), None)
    value_sub = next((c[3] for c in checks if not c[2]), None)

    def check_whole(value, path, problems):
        if not isinstance(value, list | tuple) if kind == "list" else not isinstance(value, dict):
            raise TypeMismatch(path, kind, value)
        for test in tests:
            test(value, path, problems)
        # the usual case, a valid value, costs what the per-member checker costs: the members'
        # problems are gathered, and worded for the whole value only when there are some
        found: list = []
        if kind == "list":
            for i, item in enumerate(value, 1):
                if item is not None:
                    value_sub(item, (path, i, "member"), found)
                elif not sparse:  # a JSON null inside a list the model does not mark sparse
                    problems.append(("null", _text(path), f"Value null at '{_text((path, i, 'member'))}' "
                                     "failed to satisfy constraint: Member must not be null"))
        else:
            for k, item in value.items():
                if key_sub is not None:
                    key_sub(k, (path, "key", ""), found)
                if value_sub is not None and item is not None:
                    value_sub(item, (path, k, "member"), found)
        if found:
            reword(value, path, problems)

    def reword(value, path, problems):
        for label, _, key, sub, constraints in checks:
            found: list = []
            items = enumerate(value, 1) if kind == "list" else value.items()
            for k, item in items:
                if key:
                    sub(k, (path, "key", ""), found)
                elif item is not None:
                    sub(item, (path, k, "member"), found)
            if found and constraints is None:
                problems.extend(found)
            elif found:
                where = _text(path)
                problems.append(("constraint", where, f"Value '{shown(value)}' at '{where}' failed to satisfy "
                                 f"constraint: {label} must satisfy constraint: [{constraints}]"))

    return check_whole


def _java(model: ServiceModel, shape_name: str, value, extra: tuple = ()) -> str:
    """A value as AWS's Java code prints it in a message: Shape(member=value, ...), [a, b], null."""
    if value is None:
        return "null"
    shape = model.shapes[shape_name]
    if shape["type"] == "structure" and isinstance(value, dict):
        members = [f"{_lower(name)}={_java(model, ref['shape'], value.get(name))}"
                   for name, ref in shape.get("members", {}).items()]
        return f"{shape_name}({', '.join(members + [f'{name}=null' for name in extra])})"
    if shape["type"] == "list" and isinstance(value, list | tuple):
        return "[" + ", ".join(_java(model, shape["member"]["shape"], item, extra) for item in value) + "]"
    return _show(value)


def _constraint_tests(shape_name: str, shape: dict, kind: str, style: ValidationStyle,
                      model: ServiceModel | None = None) -> list:
    tests = []
    java = dict(style.java_lists)
    if model is not None and shape_name in java:
        def show(value, extra=java[shape_name]):
            return _java(model, shape_name, value, extra)
    else:
        show = _show
    if style.enums_only:
        shape = {"enum": shape["enum"]} if "enum" in shape and shape_name not in style.unchecked_enums else {}
    elif shape_name in style.unchecked_enums:
        shape = {key: value for key, value in shape.items() if key != "enum"}

    unquoted = shape_name in style.unquoted

    def problem(value, path, text):
        path = _text(path)
        if unquoted:
            return ("constraint", path, f"Value at '{path}' failed to satisfy constraint: {text}")
        return ("constraint", path, f"Value '{show(value)}' at '{path}' failed to satisfy constraint: {text}")

    lo, hi = shape.get("min"), shape.get("max")
    if kind in ("string", "list", "map", "blob") and (lo is not None or hi is not None):
        noun = "length" if kind in ("string", "blob") else "length"
        too_long = dict(style.too_long).get(shape_name)

        def test_length(value, path, problems, lo=lo, hi=hi):
            n = len(value)
            if lo is not None and n < lo:
                problems.append(problem(value, path, f"Member must have {noun} greater than or equal to {lo}"))
            elif hi is not None and n > hi and too_long:
                problems.append(("whole", _text(path), too_long))
            elif hi is not None and n > hi:
                problems.append(problem(value, path, f"Member must have {noun} less than or equal to {hi}"))

        tests.append(test_length)
    elif kind in ("integer", "long", "short", "byte", "float", "double") and (lo is not None or hi is not None):

        def test_range(value, path, problems, lo=lo, hi=hi):
            if isinstance(value, str):
                return
            if lo is not None and value < lo:
                problems.append(problem(value, path, f"Member must have value greater than or equal to {lo}"))
            elif hi is not None and value > hi:
                problems.append(problem(value, path, f"Member must have value less than or equal to {hi}"))

        tests.append(test_range)
    if kind == "string" and "enum" in shape:
        allowed = frozenset(shape["enum"])
        listed = ", ".join(dict(style.enum_order).get(shape_name) or shape["enum"])
        enum_text = "Member must satisfy enum value set" + ("" if unquoted else f": [{listed}]")

        def test_enum(value, path, problems):
            if value not in allowed:
                problems.append(problem(value, path, enum_text))

        tests.append(test_enum)
    listed_members = dict(style.enum_lists).get(shape_name)
    if kind == "list" and listed_members and model is not None:
        allowed_members = frozenset(model.shapes[model.shapes[shape_name]["member"]["shape"]]["enum"])
        listed_text = ", ".join(listed_members)

        def test_members(value, path, problems):
            if any(item not in allowed_members for item in value):
                problems.append(problem(value, path, f"Member must satisfy enum value set: [{listed_text}]"))

        tests.append(test_members)
    if kind == "string" and "pattern" in shape and shape_name not in style.unchecked_patterns:
        pattern = dict(style.patterns).get(shape_name) or shape["pattern"]
        try:
            # DOTALL: AWS accepts multi-line values for `^.*$` (AppSync's mapping templates)
            regex = re.compile(pattern, re.DOTALL)
        except re.error:
            regex = None
        if regex is not None:

            def test_pattern(value, path, problems):
                if regex.fullmatch(value) is None:
                    problems.append(problem(value, path, f"Member must satisfy regular expression pattern: {pattern}"))

            if style.pattern_first:
                tests.insert(0, test_pattern)
            else:
                tests.append(test_pattern)
    return tests
