"""What a crawler infers from S3 objects (pure functions; run in a thread): the file's format
and columns (JSON lines, CSV with header detection, Parquet, ORC), type merging across files,
and partitions from the folders under a table's root (Hive-style `key=value/` or positional
`2024/01/15/` -> partition_0, partition_1, ...)."""

from __future__ import annotations

import csv
import gzip
import io
import re

import orjson

SAMPLE_BYTES = 4 * 1024 * 1024
SAMPLE_ROWS = 2000
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_ .\-]*$")

FORMATS = {
    "json": {"InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
             "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
             "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe", "Parameters": {"paths": ""}}},
    "csv": {"InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                          "Parameters": {"field.delim": ","}}},
    "parquet": {"InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
                              "Parameters": {"serialization.format": "1"}}},
    "orc": {"InputFormat": "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat",
            "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.orc.OrcSerde",
                          "Parameters": {"serialization.format": "1"}}},
}


class Inferred:
    __slots__ = ("classification", "compression", "columns", "header", "delimiter")

    def __init__(self, classification, compression, columns, header=False, delimiter=","):
        self.classification = classification
        self.compression = compression
        self.columns = columns  # [(name, hive type)]
        self.header = header
        self.delimiter = delimiter


def decompress(key: str, data: bytes) -> tuple[bytes, str]:
    if key.endswith(".gz") or data[:2] == b"\x1f\x8b":
        return gzip.decompress(data), "gzip"
    if key.endswith(".snappy") and not key.endswith(".parquet"):
        import cramjam

        try:
            return bytes(cramjam.snappy.decompress(data)), "snappy"
        except Exception:
            return _hadoop_snappy(data), "snappy"
    return data, "none"


def _hadoop_snappy(data: bytes) -> bytes:
    import struct

    import cramjam

    out, pos = bytearray(), 0
    while pos + 8 <= len(data):
        _, length = struct.unpack(">II", data[pos:pos + 8])
        out += bytes(cramjam.snappy.decompress_raw(data[pos + 8:pos + 8 + length]))
        pos += 8 + length
    return bytes(out)


def infer(key: str, data: bytes) -> Inferred | None:
    """The format and columns of one object, or None when it holds nothing to classify."""
    if data[:4] == b"PAR1" or key.endswith(".parquet"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        from overcast.services.glue.types import from_arrow

        schema = pq.read_schema(pa.BufferReader(data))
        return Inferred("parquet", "none", [(f.name.lower(), from_arrow(f.type)) for f in schema])
    if data[:3] == b"ORC":
        import pyarrow as pa
        import pyarrow.orc as orc

        from overcast.services.glue.types import from_arrow

        schema = orc.ORCFile(pa.BufferReader(data)).schema
        return Inferred("orc", "none", [(f.name.lower(), from_arrow(f.type)) for f in schema])
    data, compression = decompress(key, data)
    text = data[:SAMPLE_BYTES]
    stripped = text.lstrip()
    if not stripped:
        return None
    if stripped[:1] in (b"{", b"["):
        columns = _infer_json(text)
        if columns is not None:
            return Inferred("json", compression, columns)
    return _infer_csv(text, compression)


# -- JSON ----------------------------------------------------------------------------------------

def _json_type(value):
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "int" if -2**31 <= value < 2**31 else "bigint"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        inner = None
        for item in value:
            if item is not None:
                inner = merge(inner, _json_type(item))
        return ("array", inner or "string")
    if isinstance(value, dict):
        return ("struct", {k: _json_type(v) for k, v in value.items() if v is not None})
    return None


def merge(a, b):
    if a is None:
        return b
    if b is None or a == b:
        return a
    if isinstance(a, str) and isinstance(b, str):
        nums = ("int", "bigint", "double")
        if a in nums and b in nums:
            return nums[max(nums.index(a), nums.index(b))]
        return "string"
    if isinstance(a, tuple) and isinstance(b, tuple) and a[0] == b[0]:
        if a[0] == "array":
            return ("array", merge(a[1], b[1]))
        fields = dict(a[1])
        for k, v in b[1].items():
            fields[k] = merge(fields.get(k), v)
        return ("struct", fields)
    return "string"


def render(t) -> str:
    if isinstance(t, str):
        return t
    if t[0] == "array":
        return f"array<{render(t[1])}>"
    return "struct<" + ",".join(f"{k}:{render(v)}" for k, v in t[1].items()) + ">"


def _infer_json(text: bytes):
    fields: dict = {}
    lines = text.splitlines()
    if len(text) >= SAMPLE_BYTES and lines:
        lines = lines[:-1]  # the last line may be cut
    seen = 0
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError:
            # several JSON objects on one line (Firehose without a delimiter): split on }{
            try:
                docs = orjson.loads(b"[" + line.replace(b"}{", b"},{") + b"]")
            except orjson.JSONDecodeError:
                return None if not seen else _finish(fields)
            for d in docs:
                _add(fields, d)
            seen += len(docs)
            continue
        _add(fields, doc)
        seen += 1
        if seen >= SAMPLE_ROWS:
            break
    return _finish(fields) if seen else None


def _add(fields: dict, doc) -> None:
    if isinstance(doc, dict):
        for k, v in doc.items():
            fields[k] = merge(fields.get(k), _json_type(v))


def _finish(fields: dict):
    return [(k.lower(), render(v or "string")) for k, v in fields.items()]


# -- CSV -----------------------------------------------------------------------------------------

def _cell_type(value: str):
    if value == "":
        return None
    if _INT.match(value):
        return "bigint"
    if _FLOAT.match(value):
        return "double"
    if value.lower() in ("true", "false"):
        return "boolean"
    return "string"


def _infer_csv(text: bytes, compression: str) -> Inferred | None:
    sample = text.decode("utf-8", errors="replace")
    first = sample.split("\n", 1)[0]
    delimiter = max((",", "\t", "|", ";"), key=first.count)
    if first.count(delimiter) == 0:
        delimiter = ","
    rows = []
    for row in csv.reader(io.StringIO(sample), delimiter=delimiter):
        if row:
            rows.append(row)
        if len(rows) > SAMPLE_ROWS:
            break
    if len(text) >= SAMPLE_BYTES and len(rows) > 2:
        rows = rows[:-1]
    if not rows:
        return None
    width = max(len(r) for r in rows)
    head, body = rows[0], rows[1:]
    types = [None] * width
    for row in body:
        for i, cell in enumerate(row):
            types[i] = merge(types[i], _cell_type(cell))
    header = bool(body) and all(_cell_type(c) == "string" and _IDENT.match(c) for c in head) and \
        len(set(head)) == len(head) and (
            any(t not in (None, "string") for t in types) or
            all(not any(r[i] == c for r in body if i < len(r)) for i, c in enumerate(head)))
    if not header:
        for i, cell in enumerate(head):
            types[i] = merge(types[i], _cell_type(cell))
        names = [f"col{i}" for i in range(width)]
    else:
        names = [_column_name(c) for c in head] + [f"col{i}" for i in range(len(head), width)]
    return Inferred("csv", compression, [(n, t or "string") for n, t in zip(names, types, strict=True)],
                    header, delimiter)


def _column_name(text: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", text.strip().lower())


# -- partitions ----------------------------------------------------------------------------------

def partition_values(relative_dirs: list[str]) -> list[tuple[str | None, str]]:
    """['year=2024', '01'] -> [('year', '2024'), (None, '01')]."""
    out = []
    for segment in relative_dirs:
        key, sep, value = segment.partition("=")
        out.append((key, value) if sep and key else (None, segment))
    return out


def partition_keys(dir_lists: list[list[str]]) -> list[str]:
    """Names of the partition columns for files at these folder paths (below the table root)."""
    if not dir_lists:
        return []
    depth = min(len(d) for d in dir_lists)
    names = []
    for level in range(depth):
        keys = {partition_values([d[level]])[0][0] for d in dir_lists}
        names.append(keys.pop() if len(keys) == 1 and None not in keys else f"partition_{level}")
    return names


def table_name(text: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", text.lower()) or "table"
