"""Value conversions shared by the protocols: timestamps, blobs, and which shapes need them."""

from __future__ import annotations

import base64
import binascii
import datetime
from email.utils import format_datetime, parsedate_to_datetime

from overcast.aws.models import ServiceModel

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
    """Providers may return timestamps as datetimes or epoch seconds."""
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.datetime.fromtimestamp(float(value), UTC)


def format_timestamp(value, fmt: str) -> str | float | int:
    dt = to_datetime(value)
    if fmt == "unixTimestamp":
        seconds = dt.timestamp()
        return int(seconds) if seconds == int(seconds) else round(seconds, 3)
    if fmt == "rfc822":
        return format_datetime(dt, usegmt=True)
    # iso8601: AWS answers with millisecond precision only when there is a fraction
    if dt.microsecond:
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


def needs_conversion(model: ServiceModel, shape_name: str | None) -> bool:
    """True when a shape contains a timestamp or blob anywhere below it (so a JSON body must be
    walked); False lets the JSON protocol pass the decoded body through untouched."""
    if shape_name is None:
        return False
    cache = model.__dict__.setdefault("_needs_conversion", {})
    if shape_name in cache:
        return cache[shape_name]
    cache[shape_name] = False  # recursion guard: a cycle alone converts nothing
    shape = model.shapes[shape_name]
    kind = shape["type"]
    if kind in ("timestamp", "blob"):
        result = True
    elif kind == "structure":
        result = any(needs_conversion(model, m["shape"]) for m in shape.get("members", {}).values())
    elif kind == "list":
        result = needs_conversion(model, shape["member"]["shape"])
    elif kind == "map":
        result = needs_conversion(model, shape["key"]["shape"]) or needs_conversion(model, shape["value"]["shape"])
    else:
        result = False
    cache[shape_name] = result
    return result
