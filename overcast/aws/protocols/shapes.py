"""Value conversions shared by the protocols: timestamps, blobs, and which shapes need them."""

from __future__ import annotations

import base64
import binascii
import datetime
import threading
from email.utils import format_datetime, parsedate_to_datetime

from overcast.aws.models import ServiceModel

# How many times one value may pass through a recursive shape (DynamoDB's AttributeValue inside
# its own maps and lists, ...) before the compiled converters and validators stop descending.
# Far above any depth a service accepts (DynamoDB: 32), so below it nothing changes; above it the
# rest of the value reaches the service unconverted, and the service refuses it with its own
# nesting limit, instead of the protocol recursing until Python's stack runs out.
MAX_RECURSION = 64
_recursion = threading.local()


def recursive_stand_in(cache: dict, shape_name: str, beyond):
    """What a shape's recursive members call while its compiled function is being built: the
    function from `cache` once built, or `beyond(value)` once MAX_RECURSION levels deep."""

    def through(value, *args):
        depth = getattr(_recursion, "depth", 0)
        if depth >= MAX_RECURSION:
            return beyond(value)
        _recursion.depth = depth + 1
        try:
            return cache[shape_name](value, *args)
        finally:
            _recursion.depth = depth

    return through

UTC = datetime.UTC


def parse_timestamp(value, fmt: str | None = None) -> datetime.datetime:
    """Accept epoch seconds (number or numeric string), ISO 8601, or RFC 822 (HTTP date)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {value!r}")
    text = value.strip()
    try:
        return datetime.datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        pass
    if fmt == "rfc822" or (text[:3].isalpha() and "," in text):
        return parsedate_to_datetime(text).astimezone(UTC)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def to_datetime(value) -> datetime.datetime:
    """Providers may return timestamps as datetimes, epoch seconds, or the ISO 8601 text a
    datetime becomes when a stored document went through JSON."""
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        return parse_timestamp(value)
    return datetime.datetime.fromtimestamp(float(value), UTC)


def format_timestamp(value, fmt: str) -> str | float | int:
    dt = to_datetime(value)
    if fmt == "unixTimestamp":
        seconds = dt.timestamp()
        return int(seconds) if seconds == int(seconds) else round(seconds, 3)
    if fmt == "rfc822":
        return format_datetime(dt, usegmt=True)
    # iso8601: AWS answers with millisecond precision only when there is a fraction (S3 always:
    # "iso8601-milliseconds", xmlcodec.MILLISECOND_TIMESTAMPS)
    if dt.microsecond or fmt == "iso8601-milliseconds":
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def decode_blob(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValueError(f"invalid base64: {e}") from None


def encode_blob(value) -> str:
    if isinstance(value, str):
        value = value.encode()
    return base64.b64encode(value).decode()


# -- traits and text forms shared by the query, rest and XML code ------------------------------

_TRAIT_KEYS = ("locationName", "flattened", "xmlNamespace", "xmlAttribute", "timestampFormat", "jsonvalue")


def ref_traits(model: ServiceModel, ref: dict) -> dict:
    """A member's effective serialization traits: the target shape's own, overridden by the
    member reference's (what botocore's resolve_shape_ref does)."""
    shape = model.shapes[ref["shape"]]
    traits = {k: shape[k] for k in _TRAIT_KEYS if k in shape}
    for k, v in ref.items():
        if k != "shape" and k != "documentation":
            traits[k] = v
    return traits


def format_float(value) -> str:
    """A float or double member's text (XML, headers, query strings): a whole number keeps its
    ".0", as AWS writes doubles (CloudWatch's awsQuery GetMetricData: `<member>41.0</member>`)."""
    value = float(value)
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def json_float(value):
    """JSON has no NaN/Infinity: AWS sends them as strings."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return format_float(value)
    return value


def parse_float(value) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
        return float(value)
    if isinstance(value, str):
        return float(value)
    raise ValueError(f"not a number: {value!r}")


def from_text(kind: str, text: str, fmt: str | None = None, jsonvalue: bool = False):
    """A scalar from its text form (query parameter, header, URI label, XML text). Raises ValueError."""
    if kind == "string":
        if jsonvalue:
            import orjson

            return orjson.loads(base64.b64decode(text))
        return text
    if kind in ("integer", "long", "short", "byte"):
        return int(text)
    if kind in ("float", "double"):
        return float(text) if text.strip() in ("NaN", "Infinity", "-Infinity") else float(text.strip())
    if kind == "boolean":
        low = text.strip().lower()
        if low == "true":
            return True
        if low == "false":
            return False
        raise ValueError(f"not a boolean: {text!r}")
    if kind == "timestamp":
        return parse_timestamp(text, fmt)
    if kind == "blob":
        return decode_blob(text)
    return text


def to_text(kind: str, value, fmt: str | None = None, jsonvalue: bool = False) -> str:
    """The text form of a scalar; timestamps in `fmt` (default iso8601)."""
    if kind == "boolean":
        return "true" if value else "false"
    if kind in ("float", "double"):
        return format_float(value)
    if kind == "timestamp":
        return str(format_timestamp(value, fmt or "iso8601"))
    if kind == "blob":
        return encode_blob(value)
    if kind == "string" and jsonvalue:
        import orjson

        return base64.b64encode(orjson.dumps(value)).decode()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
