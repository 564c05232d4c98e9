"""DynamoDB attribute values: validation, numbers, sizes, comparisons and sortable key encodings.

Items are kept in their wire form, {"name": {"S": "x"}, "n": {"N": "1.5"}, "b": {"B": b"..."}},
with binaries as bytes (the protocol layer decodes base64). Numbers are normalized on write
("1.50" -> "1.5", "1e2" -> "100") as DynamoDB does.

Sort keys are stored as bytes whose memcmp order is DynamoDB's order: strings as UTF-8, binaries
as themselves, numbers through `encode_number` (sign, exponent, digits; negatives inverted).
"""

from __future__ import annotations

import base64
import hashlib
import re
from decimal import Context, Decimal

import orjson

from overcast.aws.errors import AwsError

_WIDE = Context(prec=60, Emax=999999, Emin=-999999)
_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
TYPES = ("S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL")
SET_NAMES = {"SS": "string set", "NS": "number set", "BS": "binary set"}
MAX_ITEM_SIZE = 400 * 1024


def invalid(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def params_invalid(message: str) -> AwsError:
    return invalid("One or more parameter values were invalid: " + message)


# -- numbers -----------------------------------------------------------------------------------


def parse_number(text) -> Decimal:
    if not isinstance(text, str) or not _NUMBER.match(text):
        raise invalid("A value provided cannot be converted into a number")
    value = Decimal(text.strip())
    if value.is_zero():
        return Decimal(0)
    # The magnitude first: normalizing 1e999999999 would overflow even a wide decimal context.
    adjusted = value.adjusted()
    if adjusted > 125:
        raise invalid("Number overflow. Attempting to store a number with magnitude larger than supported range")
    if adjusted < -130:
        raise invalid("Number underflow. Attempting to store a number with magnitude smaller than supported range")
    digits = value.normalize(_WIDE).as_tuple().digits
    if len(digits) > 38:
        raise invalid("Attempting to store more than 38 significant digits in a Number")
    return value


def format_number(value: Decimal) -> str:
    if value.is_zero():
        return "0"
    return format(value.normalize(_WIDE), "f")


def _integer_digits(text) -> str | None:
    """The digits of a plain integer of at most 38 characters ("42", "-7", "007"), else None.
    Most numbers sent are such integers (counters, timestamps, sort keys): they are normalized
    and encoded from their text, without the three Decimal normalizations of the general path."""
    if text.__class__ is not str:
        return None
    digits = text[1:] if text[:1] == "-" else text
    if 0 < len(digits) <= 38 and digits.isdigit() and digits.isascii():
        return digits
    return None


def normalize_number(text: str) -> str:
    digits = _integer_digits(text)
    if digits is not None:  # what format_number(parse_number(text)) gives, for the common case
        digits = digits.lstrip("0")
        return ("-" + digits if text[0] == "-" else digits) if digits else "0"
    return format_number(parse_number(text))


def encode_number(value: Decimal) -> bytes:
    """Bytes whose memcmp order is numeric order."""
    if value.is_zero():
        return b"\x01"
    sign, digits, _ = value.normalize(_WIDE).as_tuple()
    exponent = value.adjusted() + 200  # 70 .. 325
    digit_bytes = bytes(48 + d for d in digits)
    if not sign:
        return b"\x02" + exponent.to_bytes(2, "big") + digit_bytes
    inverted = bytes(105 - b for b in digit_bytes)  # '0'..'9' -> '9'..'0'
    return b"\x00" + (65535 - exponent).to_bytes(2, "big") + inverted + b"\xff"


# -- validation --------------------------------------------------------------------------------


MAX_NESTING = 32  # levels of maps and lists in one attribute value


def nesting_exceeded() -> AwsError:
    return invalid(f"Nesting Levels have exceeded supported limits: Nesting level of {MAX_NESTING} exceeded")


def check_value(value, depth: int = 0) -> dict:
    """Validate one AttributeValue (recursively); returns it with its numbers normalized."""
    if not isinstance(value, dict) or not value:
        raise invalid("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
    if len(value) > 1:
        raise invalid("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the "
                      "supported datatypes")
    (kind, inner), = value.items()
    if kind == "S":
        if not isinstance(inner, str):
            raise AwsError("SerializationException", "Unexpected value type in payload: S must be a string")
        return value
    if kind == "N":
        return {"N": normalize_number(inner)}
    if kind == "B":
        if isinstance(inner, str):
            return {"B": inner.encode()}
        return value
    if kind in ("SS", "NS", "BS"):
        if not isinstance(inner, list):
            raise AwsError("SerializationException", f"Unexpected value type in payload: {kind} must be a list")
        if not inner:
            raise params_invalid(f"An {SET_NAMES[kind]}  may not be empty")
        if kind == "NS":
            numbers = [parse_number(n) for n in inner]
            normalized = [format_number(n) for n in numbers]
            if len(set(numbers)) != len(numbers):
                raise params_invalid(f"Input collection {_show_list(inner)} contains duplicates.")
            return {"NS": normalized}
        if kind == "BS":
            inner = [b.encode() if isinstance(b, str) else b for b in inner]
            value = {"BS": inner}
        if len(set(inner)) != len(inner):
            raise params_invalid(f"Input collection {_show_list(inner)} contains duplicates.")
        return value
    if kind == "M":
        if not isinstance(inner, dict):
            raise AwsError("SerializationException", "Unexpected value type in payload: M must be a map")
        if depth >= MAX_NESTING:
            raise nesting_exceeded()
        return {"M": {k: check_value(v, depth + 1) for k, v in inner.items()}}
    if kind == "L":
        if not isinstance(inner, list):
            raise AwsError("SerializationException", "Unexpected value type in payload: L must be a list")
        if depth >= MAX_NESTING:
            raise nesting_exceeded()
        return {"L": [check_value(v, depth + 1) for v in inner]}
    if kind == "NULL":
        if inner is not True:
            raise params_invalid("Null attribute value types must have the value of true")
        return value
    if kind == "BOOL":
        return value
    raise invalid("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")


def _show_list(values) -> str:
    return "[" + ", ".join(v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in values) + "]"


def check_item(item) -> dict:
    if not isinstance(item, dict):
        raise AwsError("SerializationException", "Item must be a map")
    out = {}
    for name, value in item.items():
        if name == "":
            raise params_invalid("An AttributeValue may not contain an empty attribute name")
        out[name] = check_value(value)
    return out


# -- sizes -------------------------------------------------------------------------------------


def value_size(value: dict) -> int:
    (kind, inner), = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return _number_size(inner)
    if kind == "B":
        return len(inner)
    if kind == "SS":
        return sum(len(s.encode()) for s in inner)
    if kind == "NS":
        return sum(_number_size(n) for n in inner)
    if kind == "BS":
        return sum(len(b) for b in inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in inner)
    return 1


def _number_size(text: str) -> int:
    digits = len(text.lstrip("-").replace(".", "").strip("0")) or 1
    return (digits + 1) // 2 + 1


def item_size(item: dict) -> int:
    return sum(len(k.encode()) + value_size(v) for k, v in item.items())


# -- ordering and equality ---------------------------------------------------------------------


def type_of(value: dict) -> str:
    return next(iter(value))


def scalar_of(value: dict):
    """A comparable Python value for a scalar AttributeValue (S, N, B), else None."""
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return inner.encode()
    if kind == "N":
        return Decimal(inner)
    if kind == "B":
        return bytes(inner)
    return None


def values_equal(a: dict, b: dict) -> bool:
    ka, va = next(iter(a.items()))
    kb, vb = next(iter(b.items()))
    if ka != kb:
        return False
    if ka == "N":
        return Decimal(va) == Decimal(vb)
    if ka == "NS":
        return {Decimal(x) for x in va} == {Decimal(x) for x in vb}
    if ka in ("SS", "BS"):
        return set(va) == set(vb)
    if ka == "M":
        return va.keys() == vb.keys() and all(values_equal(v, vb[k]) for k, v in va.items())
    if ka == "L":
        return len(va) == len(vb) and all(values_equal(x, y) for x, y in zip(va, vb, strict=True))
    return va == vb


def items_equal(a: dict | None, b: dict | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.keys() == b.keys() and all(values_equal(v, b[k]) for k, v in a.items())


def key_bytes(value: dict) -> bytes:
    """The sortable byte encoding of a key attribute value (S, N or B)."""
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return inner.encode()
    if kind == "N":
        digits = _integer_digits(inner)
        if digits is not None:  # encode_number's bytes without a Decimal
            digits = digits.lstrip("0")
            if not digits:
                return b"\x01"
            exponent = len(digits) + 199  # adjusted exponent (len - 1) + 200
            significant = digits.rstrip("0").encode()
            if inner[0] != "-":
                return b"\x02" + exponent.to_bytes(2, "big") + significant
            return b"\x00" + (65535 - exponent).to_bytes(2, "big") + significant.translate(_INVERTED) + b"\xff"
        return encode_number(Decimal(inner))
    return bytes(inner)


_INVERTED = bytes.maketrans(b"0123456789", b"9876543210")  # encode_number's inversion of a negative's digits


def hash_of(pk: bytes) -> int:
    """The partition hash: orders Scan as DynamoDB's hash order does, and splits parallel scans."""
    return int.from_bytes(hashlib.md5(pk).digest()[:4], "big")


# -- storage form ------------------------------------------------------------------------------


def _has_binary(value: dict) -> bool:
    kind, inner = next(iter(value.items()))
    if kind in ("B", "BS"):
        return True
    if kind == "M":
        return any(_has_binary(v) for v in inner.values())
    if kind == "L":
        return any(_has_binary(v) for v in inner)
    return False


def _to_json(value: dict) -> dict:
    kind, inner = next(iter(value.items()))
    if kind == "B":
        return {"B": base64.b64encode(inner).decode()}
    if kind == "BS":
        return {"BS": [base64.b64encode(b).decode() for b in inner]}
    if kind == "M":
        return {"M": {k: _to_json(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [_to_json(v) for v in inner]}
    return value


def _from_json(value: dict) -> dict:
    kind, inner = next(iter(value.items()))
    if kind == "B":
        return {"B": base64.b64decode(inner)}
    if kind == "BS":
        return {"BS": [base64.b64decode(b) for b in inner]}
    if kind == "M":
        return {"M": {k: _from_json(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [_from_json(v) for v in inner]}
    return value


def dump_item(item: dict) -> bytes:
    """An item as stored: orjson of its wire form; a leading 'b' marks items holding binaries."""
    if any(_has_binary(v) for v in item.values()):
        return b"b" + orjson.dumps({k: _to_json(v) for k, v in item.items()})
    return orjson.dumps(item)


def load_item(data: bytes) -> dict:
    if data[:1] == b"b":
        return {k: _from_json(v) for k, v in orjson.loads(data[1:]).items()}
    return orjson.loads(data)


def show_value(value: dict) -> str:
    """AttributeValue as DynamoDB prints it in messages: {N:5}."""
    kind, inner = next(iter(value.items()))
    return "{" + f"{kind}:{inner}" + "}"


def item_to_json(item: dict) -> dict:
    """An item with binaries as base64 text (JSON-safe)."""
    return {k: _to_json(v) for k, v in item.items()}


def item_from_json(item: dict) -> dict:
    return {k: _from_json(v) for k, v in item.items()}
