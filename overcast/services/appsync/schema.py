"""AppSync schemas: SDL with AppSync's scalars and directives, built into a graphql-core schema.

AppSync defines its scalars (AWSDate, AWSJSON, ...) and its directives (@aws_subscribe,
@aws_api_key, ...) itself: a schema uses them without declaring them. `build` prepends the
definitions the SDL does not declare, applies `extend` definitions, and raises SchemaError with
graphql-core's message for an invalid schema."""

from __future__ import annotations

import ipaddress
import re
from datetime import date, datetime, time

import orjson
from graphql import (
    GraphQLError,
    GraphQLScalarType,
    GraphQLSchema,
    build_ast_schema,
    extend_schema,
    introspection_from_schema,
    parse,
    print_schema,
    validate_schema,
)
from graphql.language import (
    DocumentNode,
    TypeDefinitionNode,
    TypeExtensionNode,
    print_ast,
)
from graphql.language.ast import (
    BooleanValueNode,
    FloatValueNode,
    IntValueNode,
    ListValueNode,
    ObjectValueNode,
    StringValueNode,
)

AWS_SCALARS = ("AWSDate", "AWSTime", "AWSDateTime", "AWSTimestamp", "AWSEmail", "AWSJSON", "AWSURL", "AWSPhone",
               "AWSIPAddress")

AWS_DIRECTIVES = {
    "aws_subscribe": "directive @aws_subscribe(mutations: [String]) on FIELD_DEFINITION",
    "aws_api_key": "directive @aws_api_key on FIELD_DEFINITION | OBJECT",
    "aws_iam": "directive @aws_iam on FIELD_DEFINITION | OBJECT",
    "aws_lambda": "directive @aws_lambda on FIELD_DEFINITION | OBJECT",
    "aws_oidc": "directive @aws_oidc on FIELD_DEFINITION | OBJECT",
    "aws_cognito_user_pools": "directive @aws_cognito_user_pools(cognito_groups: [String]) on FIELD_DEFINITION | OBJECT",
    "aws_auth": "directive @aws_auth(cognito_groups: [String]) on FIELD_DEFINITION",
    "aws_publish": "directive @aws_publish(subscriptions: [String]) on FIELD_DEFINITION",
}

AUTH_DIRECTIVES = {"aws_api_key": "API_KEY", "aws_iam": "AWS_IAM", "aws_lambda": "AWS_LAMBDA", "aws_oidc": "OPENID_CONNECT",
                   "aws_cognito_user_pools": "AMAZON_COGNITO_USER_POOLS", "aws_auth": "AMAZON_COGNITO_USER_POOLS"}


class SchemaError(Exception):
    """An SDL AppSync would not accept; the message is what GetSchemaCreationStatus reports."""


# -- scalars ----------------------------------------------------------------------------------

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-.]{3,}$")
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://\S+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(Z|[+-]\d{2}:\d{2}(:\d{2})?)?$")
_TIME = re.compile(r"^\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}(:\d{2})?)?$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}(:\d{2})?)$")


def _check_date(text: str) -> bool:
    if not _DATE.match(text):
        return False
    try:
        date.fromisoformat(text[:10])
    except ValueError:
        return False
    return True


def _check_time(text: str) -> bool:
    if not _TIME.match(text):
        return False
    try:
        time.fromisoformat(text[:8] if len(text) >= 8 and text[5:6] == ":" else text[:5])
    except ValueError:
        return False
    return True


def _check_datetime(text: str) -> bool:
    if not _DATETIME.match(text):
        return False
    try:
        datetime.fromisoformat(text[:19])
    except ValueError:
        return False
    return True


def _check_ip(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


_STRING_CHECKS = {
    "AWSDate": _check_date,
    "AWSTime": _check_time,
    "AWSDateTime": _check_datetime,
    "AWSEmail": lambda t: bool(_EMAIL.match(t)),
    "AWSURL": lambda t: bool(_URL.match(t)),
    "AWSPhone": lambda t: bool(_PHONE.match(t)),
    "AWSIPAddress": _check_ip,
}


def _literal_value(node):
    if isinstance(node, StringValueNode):
        return node.value
    if isinstance(node, IntValueNode):
        return int(node.value)
    if isinstance(node, FloatValueNode):
        return float(node.value)
    if isinstance(node, BooleanValueNode):
        return node.value
    if isinstance(node, ListValueNode):
        return [_literal_value(v) for v in node.values]
    if isinstance(node, ObjectValueNode):
        return {f.name.value: _literal_value(f.value) for f in node.fields}
    return None


def _string_scalar(name: str) -> GraphQLScalarType:
    check = _STRING_CHECKS[name]

    def parse_value(value):
        if not isinstance(value, str) or not check(value):
            raise GraphQLError(f"Variable has an invalid value: Unable to parse {value!r} as valid {name}.")
        return value

    def parse_literal(node, _variables=None):
        if not isinstance(node, StringValueNode) or not check(node.value):
            raise GraphQLError(f"Argument has an invalid value: Unable to parse {print_ast(node)} as valid {name}.")
        return node.value

    return GraphQLScalarType(name, serialize=lambda v: v if isinstance(v, str) else str(v), parse_value=parse_value,
                             parse_literal=parse_literal)


def _timestamp() -> GraphQLScalarType:
    def coerce(value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise GraphQLError(f"Unable to parse {value!r} as valid AWSTimestamp.")
        return value

    def parse_literal(node, _variables=None):
        if not isinstance(node, IntValueNode):
            raise GraphQLError(f"Argument has an invalid value: Unable to parse {print_ast(node)} as valid AWSTimestamp.")
        return int(node.value)

    def serialize(value):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    return GraphQLScalarType("AWSTimestamp", serialize=serialize, parse_value=coerce, parse_literal=parse_literal)


def _json_scalar() -> GraphQLScalarType:
    """AWSJSON: a JSON document as a string on the wire; arguments reach resolvers as that string
    (as AppSync passes them); results that are maps or lists are serialized to a string."""

    def serialize(value):
        if isinstance(value, str):
            return value
        return orjson.dumps(value).decode()

    def parse_value(value):
        if isinstance(value, str):
            try:
                orjson.loads(value)
            except orjson.JSONDecodeError:
                raise GraphQLError(f"Variable has an invalid value: Unable to parse {value!r} as valid AWSJSON.") from None
            return value
        return orjson.dumps(value).decode()

    def parse_literal(node, _variables=None):
        if isinstance(node, StringValueNode):
            return parse_value(node.value)
        return orjson.dumps(_literal_value(node)).decode()

    return GraphQLScalarType("AWSJSON", serialize=serialize, parse_value=parse_value, parse_literal=parse_literal)


def _scalar(name: str) -> GraphQLScalarType:
    if name == "AWSTimestamp":
        return _timestamp()
    if name == "AWSJSON":
        return _json_scalar()
    return _string_scalar(name)


# -- building ---------------------------------------------------------------------------------


def build(sdl: str) -> GraphQLSchema:
    """The executable schema of an SDL, or SchemaError."""
    try:
        document = parse(sdl)
    except GraphQLError as e:
        raise SchemaError(_message(e)) from None
    declared = set()
    definitions, extensions = [], []
    for node in document.definitions:
        if isinstance(node, TypeExtensionNode):
            extensions.append(node)
            continue
        definitions.append(node)
        if isinstance(node, TypeDefinitionNode) or node.kind == "directive_definition":
            declared.add(node.name.value)
    prelude = [f"scalar {name}" for name in AWS_SCALARS if name not in declared]
    prelude += [text for name, text in AWS_DIRECTIVES.items() if name not in declared]
    try:
        base = parse("\n".join(prelude))
        doc = DocumentNode(definitions=tuple(base.definitions) + tuple(definitions))
        schema = build_ast_schema(doc, assume_valid_sdl=False)
        if extensions:
            schema = extend_schema(schema, DocumentNode(definitions=tuple(extensions)))
    except (GraphQLError, TypeError) as e:
        raise SchemaError(_message(e)) from None
    errors = validate_schema(schema)
    if errors:
        raise SchemaError("; ".join(_message(e) for e in errors))
    if schema.query_type is None:
        raise SchemaError("There is no top level schema object defined.")
    for name in AWS_SCALARS:
        node = schema.type_map.get(name)
        if isinstance(node, GraphQLScalarType):
            real = _scalar(name)
            node.serialize = node.coerce_output_value = real.serialize
            node.parse_value = node.coerce_input_value = real.parse_value
            node.parse_literal = real.parse_literal
            node.coerce_input_literal = None
    return schema


def _message(error: Exception) -> str:
    if isinstance(error, GraphQLError):
        text = error.message
        if error.locations:
            loc = error.locations[0]
            text += f" (line {loc.line}, column {loc.column})"
        return text
    return str(error)


def sdl_without_aws_prelude(schema: GraphQLSchema) -> str:
    """print_schema without AppSync's built-in scalars and directives (which AppSync leaves out)."""
    text = print_schema(schema)
    blocks = text.split("\n\n")
    keep = []
    for block in blocks:
        head = block.strip()
        if any(head.startswith(f"scalar {name}") for name in AWS_SCALARS):
            continue
        if any(head.startswith(f"directive @{name}") for name in AWS_DIRECTIVES):
            continue
        keep.append(block)
    return "\n\n".join(keep) + "\n"


def introspection_json(schema: GraphQLSchema) -> bytes:
    return orjson.dumps({"data": introspection_from_schema(schema)})

