"""What AppSync's `$util` (VTL) and `util` (JavaScript) compute, in Python: DynamoDB typed
values, time formats, ids, filter transforms."""

from __future__ import annotations

import base64
import os
import re
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import orjson

from overcast.services.appsync.errors import ResolverError

# -- DynamoDB typed values ----------------------------------------------------------------------


def to_dynamodb(value):
    """A plain value as a DynamoDB attribute value in AppSync's request format (numbers as JSON
    numbers)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float, Decimal)):
        return {"N": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (bytes, bytearray)):
        return {"B": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, dict):
        return {"M": {k: to_dynamodb(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple, set, frozenset)):
        return {"L": [to_dynamodb(v) for v in value]}
    return {"S": str(value)}


def to_map_values(value: dict) -> dict:
    return {k: to_dynamodb(v) for k, v in (value or {}).items()}


def _number_text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def to_wire(value):
    """AppSync's request-format attribute value -> DynamoDB's wire format (N as strings)."""
    if not isinstance(value, dict) or len(value) != 1:
        raise ResolverError(f"Invalid DynamoDB attribute value: {orjson.dumps(value).decode()}", "DynamoDB:ValidationException")
    (kind, inner), = value.items()
    if kind == "N":
        return {"N": _number_text(inner)}
    if kind == "NS":
        return {"NS": [_number_text(v) for v in inner]}
    if kind == "M":
        return {"M": {k: to_wire(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [to_wire(v) for v in inner]}
    if kind in ("B",):
        return {"B": base64.b64decode(inner) if isinstance(inner, str) else inner}
    if kind == "BS":
        return {"BS": [base64.b64decode(v) if isinstance(v, str) else v for v in inner]}
    return {kind: inner}


def wire_map(values: dict | None) -> dict:
    return {k: to_wire(v) for k, v in (values or {}).items()}


def _number(text: str):
    try:
        return int(text)
    except ValueError:
        number = float(text)
        return int(number) if number.is_integer() and "e" not in text.lower() and "." not in text else number


def from_wire(value):
    """DynamoDB's wire format -> the plain JSON value AppSync hands to response templates."""
    (kind, inner), = value.items()
    if kind == "S" or kind == "BOOL":
        return inner
    if kind == "N":
        return _number(inner)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: from_wire(v) for k, v in inner.items()}
    if kind == "L":
        return [from_wire(v) for v in inner]
    if kind == "SS":
        return list(inner)
    if kind == "NS":
        return [_number(v) for v in inner]
    if kind == "B":
        return base64.b64encode(inner).decode() if isinstance(inner, (bytes, bytearray)) else inner
    if kind == "BS":
        return [base64.b64encode(v).decode() if isinstance(v, (bytes, bytearray)) else v for v in inner]
    return inner


def item_from_wire(item: dict | None):
    return None if item is None else {k: from_wire(v) for k, v in item.items()}


# -- ids ------------------------------------------------------------------------------------------

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def auto_id() -> str:
    return str(uuid.uuid4())


def auto_ulid() -> str:
    number = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(number >> (5 * i)) & 31] for i in range(25, -1, -1))


def auto_ksuid() -> str:
    number = int.from_bytes((int(time.time()) - 1400000000).to_bytes(4, "big") + os.urandom(16), "big")
    out = []
    while number:
        number, rem = divmod(number, 62)
        out.append(_BASE62[rem])
    return "".join(reversed(out)).rjust(27, "0")


# -- time -----------------------------------------------------------------------------------------


def now_iso8601() -> str:
    return epoch_ms_to_iso8601(int(time.time() * 1000))


def epoch_ms_to_iso8601(ms) -> str:
    moment = datetime.fromtimestamp(int(ms) / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso8601_to_epoch_ms(text: str) -> int:
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise ResolverError(f"Unable to parse '{text}' as an ISO 8601 date-time.") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


_JAVA_TOKENS = re.compile(r"yyyy|yy|MMMM|MMM|MM|M|dd|d|HH|H|hh|h|mm|m|ss|s|SSS|a|EEEE|EEE|E|Z|XXX|XX|X|z|'[^']*'")
_JAVA_TO_STRF = {"yyyy": "%Y", "yy": "%y", "MMMM": "%B", "MMM": "%b", "MM": "%m", "dd": "%d", "HH": "%H",
                 "hh": "%I", "mm": "%M", "ss": "%S", "a": "%p", "EEEE": "%A", "EEE": "%a", "E": "%a", "Z": "%z",
                 "z": "%Z"}


def _zone(tz: str | None):
    if not tz or tz in ("UTC", "Z", "GMT"):
        return UTC
    match = re.match(r"^(?:UTC|GMT)?([+-])(\d{1,2}):?(\d{2})?$", tz)
    if match:
        sign = 1 if match.group(1) == "+" else -1
        return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3) or 0)))
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(tz)
    except Exception:
        raise ResolverError(f"Unknown time zone: {tz}") from None


def format_java(moment: datetime, pattern: str) -> str:
    """A Java DateTimeFormatter pattern, for the letters templates use."""
    def sub(match):
        token = match.group(0)
        if token.startswith("'"):
            return token[1:-1] or "'"
        if token == "SSS":
            return f"{moment.microsecond // 1000:03d}"
        if token in ("M", "d", "H", "h", "m", "s"):
            value = {"M": moment.month, "d": moment.day, "H": moment.hour, "h": (moment.hour % 12) or 12,
                     "m": moment.minute, "s": moment.second}[token]
            return str(value)
        if token in ("X", "XX", "XXX"):
            offset = moment.utcoffset() or timedelta(0)
            if not offset:
                return "Z"
            minutes = int(offset.total_seconds() // 60)
            sign = "+" if minutes >= 0 else "-"
            hours, mins = divmod(abs(minutes), 60)
            return f"{sign}{hours:02d}" + ("" if token == "X" else (f"{mins:02d}" if token == "XX" else f":{mins:02d}"))
        return moment.strftime(_JAVA_TO_STRF[token])
    return _JAVA_TOKENS.sub(sub, pattern)


def now_formatted(pattern: str, tz: str | None = None) -> str:
    return format_java(datetime.now(_zone(tz)), pattern)


def epoch_ms_to_formatted(ms, pattern: str, tz: str | None = None) -> str:
    return format_java(datetime.fromtimestamp(int(ms) / 1000, _zone(tz)), pattern)


def parse_formatted_to_epoch_ms(text: str, pattern: str, tz: str | None = None) -> int:
    strf = _JAVA_TOKENS.sub(lambda m: m.group(0)[1:-1] if m.group(0).startswith("'") else
                            ("%f" if m.group(0) == "SSS" else _JAVA_TO_STRF.get(m.group(0) * 2 if len(m.group(0)) == 1 and m.group(0) in "MdHms" else m.group(0), "%z")), pattern)
    try:
        moment = datetime.strptime(text, strf)
    except ValueError:
        raise ResolverError(f"Unable to parse '{text}' with format '{pattern}'.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_zone(tz))
    return int(moment.timestamp() * 1000)


# -- filter transforms ----------------------------------------------------------------------------

_FILTER_OPS = {"eq": "=", "ne": "<>", "le": "<=", "lt": "<", "ge": ">=", "gt": ">"}


def to_dynamodb_filter_expression(filter_input: dict | None) -> dict | None:
    """$util.transform.toDynamoDBFilterExpression: a GraphQL filter input (field -> {eq, ne, le, lt,
    ge, gt, contains, notContains, between, beginsWith, attributeExists, attributeType, size}, with
    and / or / not) -> {"expression", "expressionNames", "expressionValues"}."""
    if not filter_input:
        return None
    names: dict = {}
    values: dict = {}
    counter = [0]

    def value_ref(field: str, op: str, value) -> str:
        counter[0] += 1
        ref = f":{re.sub(r'[^A-Za-z0-9_]', '_', field)}_{op}" + ("" if counter[0] == 1 else f"_{counter[0]}")
        values[ref] = to_dynamodb(value)
        return ref

    def field_expr(field: str, conditions: dict) -> str:
        name = f"#{re.sub(r'[^A-Za-z0-9_]', '_', field)}"
        names[name] = field
        parts = []
        for op, value in conditions.items():
            if op in _FILTER_OPS:
                parts.append(f"({name} {_FILTER_OPS[op]} {value_ref(field, op, value)})")
            elif op == "contains":
                parts.append(f"(contains({name},{value_ref(field, op, value)}))")
            elif op == "notContains":
                parts.append(f"(NOT contains({name},{value_ref(field, op, value)}))")
            elif op == "beginsWith":
                parts.append(f"(begins_with({name},{value_ref(field, op, value)}))")
            elif op == "between":
                low = value_ref(field, "between_0", value[0])
                high = value_ref(field, "between_1", value[1])
                parts.append(f"({name} BETWEEN {low} AND {high})")
            elif op == "attributeExists":
                parts.append(f"({'attribute_exists' if value else 'attribute_not_exists'}({name}))")
            elif op == "attributeType":
                parts.append(f"(attribute_type({name},{value_ref(field, op, value)}))")
            elif op == "in":
                refs = [value_ref(field, f"in_{i}", v) for i, v in enumerate(value or [])]
                parts.append(f"({name} IN ({','.join(refs)}))")
            elif op == "size":
                inner = []
                for size_op, size_value in (value or {}).items():
                    if size_op in _FILTER_OPS:
                        inner.append(f"(size({name}) {_FILTER_OPS[size_op]} {value_ref(field, 'size_' + size_op, size_value)})")
                parts.append(" AND ".join(inner))
            else:
                raise ResolverError(f"Unsupported filter operator: {op}")
        return "(" + " AND ".join(parts) + ")" if len(parts) > 1 else (parts[0] if parts else "")

    def group(node: dict) -> str:
        parts = []
        for key, value in node.items():
            if value is None:
                continue
            if key in ("and", "or") and len(value) == 1:
                parts.append(group(value[0]))  # "((a))" is what DynamoDB refuses as redundant parentheses
            elif key == "and":
                parts.append("(" + " AND ".join(group(v) for v in value) + ")")
            elif key == "or":
                parts.append("(" + " OR ".join(group(v) for v in value) + ")")
            elif key == "not":
                parts.append(f"(NOT {group(value)})")
            else:
                parts.append(field_expr(key, value))
        return "(" + " AND ".join(parts) + ")" if len(parts) > 1 else (parts[0] if parts else "")

    out = {"expression": group(filter_input)}
    if names:
        out["expressionNames"] = names
    if values:
        out["expressionValues"] = values
    return out


def to_subscription_filter(filter_input: dict | None, ignored: list | None = None, rules: dict | None = None) -> dict:
    """$util.transform.toSubscriptionFilter: a filter input ({field: {op: value}}, with `and` and
    `or`) -> an enhanced subscription filter ({"filterGroup": [{"filters": [...]}]})."""
    ignored = set(ignored or [])

    def groups(node: dict) -> list[list[dict]]:
        result = [[]]
        for key, value in (node or {}).items():
            if key in ignored or value is None:
                continue
            if key == "and":
                for sub in value:
                    result = [a + b for a in result for b in groups(sub)]
            elif key == "or":
                alternatives = [g for sub in value for g in groups(sub)]
                result = [a + b for a in result for b in alternatives]
            elif isinstance(value, dict):
                for op, operand in value.items():
                    result = [g + [{"fieldName": key, "operator": op, "value": operand}] for g in result]
            else:
                result = [g + [{"fieldName": key, "operator": "eq", "value": value}] for g in result]
        return result

    merged = dict(filter_input or {})
    for key, value in (rules or {}).items():
        merged[key] = value
    return {"filterGroup": [{"filters": g} for g in groups(merged) if g]}
