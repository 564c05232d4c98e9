"""Hive column types (what the Glue catalog stores) parsed, and mapped to pyarrow and DuckDB."""

from __future__ import annotations

import re

_SIMPLE_DUCK = {
    "string": "VARCHAR", "varchar": "VARCHAR", "char": "VARCHAR", "int": "INTEGER", "integer": "INTEGER",
    "bigint": "BIGINT", "smallint": "SMALLINT", "tinyint": "TINYINT", "double": "DOUBLE", "float": "FLOAT",
    "boolean": "BOOLEAN", "timestamp": "TIMESTAMP", "date": "DATE", "binary": "BLOB",
}


def parse(text: str):
    """'array<struct<a:int,b:string>>' -> ('array', ('struct', [('a', 'int'), ('b', 'string')])).
    Simple types are lower-case strings; decimal(p,s) is ('decimal', p, s)."""
    text = (text or "string").strip()
    try:
        node, rest = _parse(text.replace(" ", ""))
    except (AttributeError, IndexError, ValueError, TypeError):
        raise ValueError(f"invalid column type {text!r}") from None
    if rest:
        raise ValueError(f"unexpected {rest!r} in type {text!r}")
    return node


def _parse(s: str):
    m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", s)
    if not m:
        raise ValueError(f"bad type at {s!r}")
    name, rest = m.group(0).lower(), s[m.end():]
    if name in ("array", "map", "struct") and rest.startswith("<"):
        rest = rest[1:]
        if name == "array":
            inner, rest = _parse(rest)
            node = ("array", inner)
        elif name == "map":
            key, rest = _parse(rest)
            rest = rest[1:]  # ','
            value, rest = _parse(rest)
            node = ("map", key, value)
        else:
            fields = []
            while not rest.startswith(">"):
                fm = re.match(r"[^:,<>]+", rest)
                fname, rest = fm.group(0), rest[fm.end() + 1:]
                ftype, rest = _parse(rest)
                fields.append((fname, ftype))
                if rest.startswith(","):
                    rest = rest[1:]
            node = ("struct", fields)
        return node, rest[1:]
    if rest.startswith("("):
        end = rest.index(")")
        args = [int(a) for a in rest[1:end].split(",") if a]
        rest = rest[end + 1:]
        if name == "decimal":
            return ("decimal", *(args + [10, 0])[:2]) if len(args) < 2 else ("decimal", args[0], args[1]), rest
        return name, rest  # varchar(10), char(3)
    if name == "decimal":
        return ("decimal", 10, 0), rest
    return name, rest


def to_duckdb(node) -> str:
    if isinstance(node, str):
        return _SIMPLE_DUCK.get(node, "VARCHAR")
    if node[0] == "decimal":
        return f"DECIMAL({node[1]},{node[2]})"
    if node[0] == "array":
        return f"{to_duckdb(node[1])}[]"
    if node[0] == "map":
        return f"MAP({to_duckdb(node[1])}, {to_duckdb(node[2])})"
    return "STRUCT(" + ", ".join(f'"{n}" {to_duckdb(t)}' for n, t in node[1]) + ")"


def to_arrow(node):
    import pyarrow as pa

    if isinstance(node, str):
        return {
            "string": pa.string(), "varchar": pa.string(), "char": pa.string(), "int": pa.int32(),
            "integer": pa.int32(), "bigint": pa.int64(), "smallint": pa.int16(), "tinyint": pa.int8(),
            "double": pa.float64(), "float": pa.float32(), "boolean": pa.bool_(), "timestamp": pa.timestamp("ms"),
            "date": pa.date32(), "binary": pa.binary(),
        }.get(node, pa.string())
    if node[0] == "decimal":
        return pa.decimal128(node[1], node[2])
    if node[0] == "array":
        return pa.list_(to_arrow(node[1]))
    if node[0] == "map":
        return pa.map_(to_arrow(node[1]), to_arrow(node[2]))
    return pa.struct([(n, to_arrow(t)) for n, t in node[1]])


def from_arrow(dtype) -> str:
    """A pyarrow type as the Hive type name a crawler stores."""
    import pyarrow as pa
    import pyarrow.types as t

    if t.is_boolean(dtype):
        return "boolean"
    if t.is_int8(dtype):
        return "tinyint"
    if t.is_int16(dtype):
        return "smallint"
    if t.is_int32(dtype) or t.is_uint8(dtype) or t.is_uint16(dtype):
        return "int"
    if t.is_integer(dtype):
        return "bigint"
    if t.is_float32(dtype):
        return "float"
    if t.is_floating(dtype):
        return "double"
    if t.is_decimal(dtype):
        return f"decimal({dtype.precision},{dtype.scale})"
    if t.is_timestamp(dtype):
        return "timestamp"
    if t.is_date(dtype):
        return "date"
    if t.is_binary(dtype) or t.is_large_binary(dtype):
        return "binary"
    if t.is_list(dtype) or t.is_large_list(dtype):
        return f"array<{from_arrow(dtype.value_type)}>"
    if t.is_map(dtype):
        return f"map<{from_arrow(dtype.key_type)},{from_arrow(dtype.item_type)}>"
    if t.is_struct(dtype):
        return "struct<" + ",".join(f"{f.name}:{from_arrow(f.type)}" for f in dtype) + ">"
    if dtype == pa.null():
        return "string"
    return "string"
