"""S3 object keys as Firehose names them: custom prefixes with `!{namespace:value}` expressions,
the default `YYYY/MM/dd/HH/` time prefix, and the object name suffix."""

from __future__ import annotations

import datetime
import gzip
import io
import re
import secrets
import string
import struct
import uuid
import zipfile

EXPRESSION = re.compile(r"!\{([A-Za-z]+):([^}]*)\}")
NAMESPACES = {"timestamp", "firehose", "partitionKeyFromQuery", "partitionKeyFromLambda"}
_ALPHABET = string.ascii_letters + string.digits
_JAVA = {"yyyy": "%Y", "uuuu": "%Y", "yy": "%y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S",
         "DDD": "%j", "EEE": "%a", "MMM": "%b", "a": "%p"}


class PrefixError(ValueError):
    pass


def validate(prefix: str | None, error_prefix: str | None, dynamic: bool) -> None:
    """Reject what CreateDeliveryStream rejects (InvalidArgumentException text in the error)."""
    prefix = prefix or ""
    found = EXPRESSION.findall(prefix)
    for namespace, value in found + EXPRESSION.findall(error_prefix or ""):
        if namespace not in NAMESPACES:
            raise PrefixError(f"The expression namespace {namespace} is not supported.")
        if namespace == "firehose" and value not in ("random-string", "error-output-type"):
            raise PrefixError(f"The expression !{{firehose:{value}}} is not supported.")
        if namespace.startswith("partitionKey") and not dynamic:
            raise PrefixError("Dynamic partitioning must be enabled to use partitionKeyFromQuery or "
                              "partitionKeyFromLambda expressions in the prefix.")
    if any(n == "firehose" and v == "error-output-type" for n, v in found):
        raise PrefixError("The expression !{firehose:error-output-type} is only allowed in ErrorOutputPrefix.")
    if found and not error_prefix:
        raise PrefixError("ErrorOutputPrefix cannot be null or empty when Prefix contains expressions.")
    if dynamic and not any(n.startswith("partitionKey") for n, _ in found):
        raise PrefixError("When dynamic partitioning is enabled, the Prefix must contain at least one "
                          "partitionKeyFromQuery or partitionKeyFromLambda expression.")


def java_time(pattern: str, when: datetime.datetime) -> str:
    """A Java DateTimeFormatter pattern's common letters (yyyy MM dd HH mm ss, 'quoted text')."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "'":
            end = pattern.find("'", i + 1)
            end = len(pattern) if end < 0 else end
            out.append(pattern[i + 1:end] or "'")
            i = end + 1
            continue
        if c.isalpha():
            j = i
            while j < len(pattern) and pattern[j] == c:
                j += 1
            run = pattern[i:j]
            if run in _JAVA:
                out.append(when.strftime(_JAVA[run]))
            elif run == "SSS":
                out.append(f"{when.microsecond // 1000:03d}")
            else:
                out.append(run)
            i = j
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _moment(when: float, zone: str | None) -> datetime.datetime:
    if zone and zone != "UTC":
        from zoneinfo import ZoneInfo

        return datetime.datetime.fromtimestamp(when, ZoneInfo(zone))
    return datetime.datetime.fromtimestamp(when, datetime.UTC)


def valid_zone(zone: str) -> bool:
    try:
        _moment(0, zone)
        return True
    except (KeyError, ValueError):
        return False


def evaluate(prefix: str | None, when: float, error_type: str | None = None,
             query_keys: dict | None = None, lambda_keys: dict | None = None, zone: str | None = None) -> str:
    """The evaluated prefix. Without expressions the default `YYYY/MM/dd/HH/` is appended.
    Times are UTC unless `zone` (CustomTimeZone) names another."""
    moment = _moment(when, zone)
    prefix = prefix or ""
    if not EXPRESSION.search(prefix):
        head = f"{error_type}/" if error_type and not prefix else prefix
        return head + moment.strftime("%Y/%m/%d/%H/")

    def replace(m):
        namespace, value = m.group(1), m.group(2)
        if namespace == "timestamp":
            return java_time(value, moment)
        if namespace == "firehose":
            return "".join(secrets.choice(_ALPHABET) for _ in range(11)) if value == "random-string" \
                else (error_type or "")
        if namespace == "partitionKeyFromQuery":
            return str((query_keys or {}).get(value, ""))
        return str((lambda_keys or {}).get(value, ""))

    return EXPRESSION.sub(replace, prefix)


def object_name(stream: str, version: int, when: float, extension: str = "", zone: str | None = None,
                seed: str | None = None) -> str:
    """`seed`: the object's name is derived from it (the same seed, the same name), else random."""
    moment = _moment(when, zone)
    unique = uuid.uuid5(uuid.NAMESPACE_URL, seed) if seed is not None else uuid.uuid4()
    return f"{stream}-{version}-{moment.strftime('%Y-%m-%d-%H-%M-%S')}-{unique}{extension}"


# -- compression ----------------------------------------------------------------------------------

EXTENSIONS = {"GZIP": ".gz", "ZIP": ".zip", "Snappy": ".snappy", "HADOOP_SNAPPY": ".snappy"}


def compress(data: bytes, fmt: str, name: str = "data") -> bytes:
    if fmt == "GZIP":
        return gzip.compress(data)
    if fmt == "ZIP":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(name, data)
        return buffer.getvalue()
    if fmt == "Snappy":  # the framing format (what `snappy -d`/python-snappy stream_decompress read)
        import cramjam

        return bytes(cramjam.snappy.compress(data))
    if fmt == "HADOOP_SNAPPY":  # Hadoop's block format: [raw length][compressed length][raw snappy] per block
        import cramjam

        out = bytearray()
        block = 256 * 1024
        for start in range(0, len(data), block):
            chunk = data[start:start + block]
            packed = bytes(cramjam.snappy.compress_raw(chunk))
            out += struct.pack(">II", len(chunk), len(packed)) + packed
        return bytes(out)
    return data
