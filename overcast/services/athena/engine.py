"""Running a query in DuckDB (called in a thread): one in-memory connection per query, one view
per catalog table over the table's files (copied from S3 into a local cache), the results
rendered as Athena renders them."""

from __future__ import annotations

import datetime
import decimal
import gzip
import io
import os
import uuid

import orjson

from overcast.services.athena.sql import QueryError
from overcast.services.glue import types as hive

TEXT_TYPES = ("timestamp", "date")


def table_format(doc: dict) -> str:
    sd = doc.get("StorageDescriptor") or {}
    serde = ((sd.get("SerdeInfo") or {}).get("SerializationLibrary") or "").lower()
    fmt = (sd.get("InputFormat") or "").lower()
    classification = ((doc.get("Parameters") or {}).get("classification") or "").lower()
    if "parquet" in serde or "parquet" in fmt or classification == "parquet":
        return "parquet"
    if "orc" in serde or "orc" in fmt or classification == "orc":
        return "orc"
    if "json" in serde or classification == "json":
        return "json"
    return "csv"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _file_list(files: list[str]) -> str:
    return "[" + ", ".join(_literal(f) for f in files) + "]"


def _json_keys(path: str) -> dict:
    """lower-case key -> the key as the data spells it (OpenX JSON SerDe matches case-insensitively)."""
    opener = gzip.open if path.endswith(".gz") else open
    keys = {}
    try:
        with opener(path, "rb") as f:
            for _ in range(50):
                line = f.readline()
                if not line:
                    break
                try:
                    doc = orjson.loads(line)
                except orjson.JSONDecodeError:
                    try:
                        doc = orjson.loads(b"[" + line.replace(b"}{", b"},{") + b"]")[0]
                    except (orjson.JSONDecodeError, IndexError):
                        continue
                if isinstance(doc, dict):
                    for k in doc:
                        keys.setdefault(k.lower(), k)
    except OSError:
        pass
    return keys


def view_sql(conn, doc: dict, parts: list[tuple[list[str], list[str]]]) -> str:
    """SQL of the view over a table: `parts` is [(partition values, local files)]."""
    sd = doc.get("StorageDescriptor") or {}
    columns = [(c["Name"].lower(), c.get("Type") or "string") for c in sd.get("Columns") or []]
    keys = [(k["Name"].lower(), k.get("Type") or "string") for k in doc.get("PartitionKeys") or []]
    try:
        nodes = {name: hive.parse(t) for name, t in columns + keys}
    except ValueError as e:
        raise QueryError(f"HIVE_METASTORE_ERROR: table {doc.get('Name')}: {e}", 2, 1000) from None
    duck = {name: hive.to_duckdb(node) for name, node in nodes.items()}
    fmt = table_format(doc)
    serde_params = (sd.get("SerdeInfo") or {}).get("Parameters") or {}
    table_params = doc.get("Parameters") or {}
    branches = []
    for values, files in parts:
        if not files:
            continue
        part_cols = [f"CAST({_literal(v)} AS {duck[k]}) AS {_quote(k)}" for (k, _), v in zip(keys, values, strict=False)]
        if fmt in ("parquet", "orc"):
            present = {r[0].lower(): (r[0], r[1]) for r in conn.execute(
                f"DESCRIBE SELECT * FROM read_parquet({_file_list(files)}, union_by_name=true)").fetchall()}
            cols = []
            for name, _ in columns:
                if name not in present:
                    cols.append(f"CAST(NULL AS {duck[name]}) AS {_quote(name)}")
                elif present[name][1] == duck[name]:
                    cols.append(f"{_quote(present[name][0])} AS {_quote(name)}")
                else:
                    cols.append(f"TRY_CAST({_quote(present[name][0])} AS {duck[name]}) AS {_quote(name)}")
            source = f"read_parquet({_file_list(files)}, union_by_name=true)"
        elif fmt == "json":
            spelled = _json_keys(files[0])
            spec, cols = [], []
            for name, _ in columns:
                key = spelled.get(name, name)
                text = isinstance(nodes[name], str) and nodes[name] in TEXT_TYPES
                spec.append(f"{_literal(key)}: {_literal('VARCHAR' if text else duck[name])}")
                cols.append(f"TRY_CAST({_quote(key)} AS {duck[name]}) AS {_quote(name)}" if text
                            else f"{_quote(key)} AS {_quote(name)}")
            if not spec:
                raise QueryError(f"HIVE_METASTORE_ERROR: Table {doc['Name']} has no columns")
            source = (f"read_json({_file_list(files)}, format='auto', columns={{{', '.join(spec)}}}, "
                      "ignore_errors=true, maximum_object_size=67108864)")
        else:
            delim = serde_params.get("field.delim") or serde_params.get("separatorChar") or \
                table_params.get("delimiter") or ("," if "opencsv" in
                                                  ((sd.get("SerdeInfo") or {}).get("SerializationLibrary") or "").lower()
                                                  else "\x01")
            header = int(table_params.get("skip.header.line.count") or 0) > 0
            spec = ", ".join(f"{_literal(f'c{i}')}: 'VARCHAR'" for i in range(len(columns)))
            quote = serde_params.get("quoteChar", '"')
            source = (f"read_csv({_file_list(files)}, delim={_literal(delim)}, header={str(header).lower()}, "
                      f"columns={{{spec}}}, auto_detect=false, quote={_literal(quote)}, escape={_literal(quote)}, "
                      "null_padding=true, ignore_errors=true, nullstr='\\N')")
            cols = [f"TRY_CAST(\"c{i}\" AS {duck[name]}) AS {_quote(name)}" for i, (name, _) in enumerate(columns)]
        branches.append(f"SELECT {', '.join(cols + part_cols)} FROM {source}")
    if not branches:
        cols = [f"CAST(NULL AS {duck[n]}) AS {_quote(n)}" for n, _ in columns + keys]
        return f"SELECT {', '.join(cols) or 'NULL AS _empty'} WHERE false"
    return " UNION ALL BY NAME ".join(branches) if len(branches) > 1 else branches[0]


def connect():
    import duckdb

    conn = duckdb.connect(":memory:")
    conn.execute("SET TimeZone='UTC'")
    return conn


# -- results --------------------------------------------------------------------------------------

def athena_type(duck_type: str) -> tuple[str, int, int]:
    """(Athena type name, precision, scale) for a DuckDB result type."""
    t = duck_type.upper()
    if t.endswith("[]") or t.startswith("LIST"):
        return "array", 0, 0
    if t.startswith("STRUCT"):
        return "row", 0, 0
    if t.startswith("MAP"):
        return "map", 0, 0
    if t.startswith("DECIMAL"):
        p, s = (t[8:-1].split(",") + ["0"])[:2]
        return "decimal", int(p), int(s)
    base = {"VARCHAR": ("varchar", 2147483647), "BIGINT": ("bigint", 19), "HUGEINT": ("bigint", 19),
            "UBIGINT": ("bigint", 19), "INTEGER": ("integer", 10), "UINTEGER": ("bigint", 19),
            "SMALLINT": ("smallint", 5), "TINYINT": ("tinyint", 3), "DOUBLE": ("double", 17), "FLOAT": ("float", 17),
            "BOOLEAN": ("boolean", 0), "DATE": ("date", 0), "TIMESTAMP": ("timestamp", 3),
            "TIMESTAMP WITH TIME ZONE": ("timestamp with time zone", 3), "TIME": ("time", 3),
            "BLOB": ("varbinary", 1073741824), "INTERVAL": ("interval day to second", 0), "JSON": ("json", 0),
            "UUID": ("uuid", 0), "NULL": ("unknown", 0)}.get(t, ("varchar", 2147483647))
    return base[0], base[1], 0


def render(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
        return text + " UTC" if value.tzinfo is not None else text
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value) if value == value and value not in (float("inf"), float("-inf")) else \
            {True: "NaN"}.get(value != value, "Infinity" if value > 0 else "-Infinity")
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join("null" if v is None else render(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={'null' if v is None else render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bytes | bytearray):
        return " ".join(f"{b:02x}" for b in value)
    return str(value)


def csv_bytes(header: list[str] | None, rows: list[list[str | None]]) -> bytes:
    """Athena's result CSV: every value in double quotes, NULL as an empty unquoted field."""
    out = io.StringIO()
    def line(values):
        out.write(",".join("" if v is None else '"' + v.replace('"', '""') + '"' for v in values) + "\n")
    if header is not None:
        line(header)
    for row in rows:
        line(row)
    return out.getvalue().encode()


def run_select(conn, query: str) -> tuple[list[tuple[str, str]], list[list[str | None]]]:
    import duckdb

    try:
        cursor = conn.execute(query)
    except duckdb.ParserException as e:
        raise QueryError(f"SYNTAX_ERROR: {_first(e)}") from None
    except (duckdb.BinderException, duckdb.CatalogException) as e:
        raise QueryError(f"COLUMN_NOT_FOUND: {_first(e)}" if "column" in str(e).lower()
                         else f"SYNTAX_ERROR: {_first(e)}") from None
    except duckdb.InterruptException:
        raise QueryError("Query cancelled by user", 2, 1000) from None
    except duckdb.Error as e:
        raise QueryError(f"GENERIC_INTERNAL_ERROR: {_first(e)}", 2, 1001) from None
    description = cursor.description or []
    columns = [(d[0], str(d[1])) for d in description]
    rows = []
    try:
        while True:
            batch = cursor.fetchmany(10000)
            if not batch:
                break
            rows.extend([render(v) for v in row] for row in batch)
    except duckdb.InterruptException:
        raise QueryError("Query cancelled by user", 2, 1000) from None
    except duckdb.Error as e:
        raise QueryError(f"HIVE_BAD_DATA: {_first(e)}", 2, 1001) from None
    return columns, rows


def _first(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def ctas(conn, query: str, folder: str, partitioned_by: list[str], fmt: str,
         delimiter: str = ",") -> tuple[list[tuple[str, str]], int, list[str]]:
    """Write the query's rows under `folder` (Parquet/JSON/CSV, Hive partitions); returns the
    columns, the row count and the files written (relative paths)."""
    import duckdb

    try:
        columns = [(r[0], r[1]) for r in conn.execute(f"DESCRIBE {query}").fetchall()]
        count = conn.execute(f"SELECT count(*) FROM ({query})").fetchone()[0]
        text = f"FORMAT CSV, HEADER false, DELIMITER {_literal(delimiter)}"
        options = {"parquet": "FORMAT PARQUET", "json": "FORMAT JSON", "textfile": text, "csv": text}.get(fmt.lower())
        if options is None:
            raise QueryError(f"NOT_SUPPORTED: format '{fmt}' is not supported by overcast's CTAS (PARQUET, JSON, "
                             "TEXTFILE).")
        os.makedirs(folder, exist_ok=True)
        if partitioned_by:
            parts = ", ".join(_quote(p) for p in partitioned_by)
            conn.execute(f"COPY ({query}) TO {_literal(folder)} ({options}, PARTITION_BY ({parts}), "
                         f"FILENAME_PATTERN {_literal(str(uuid.uuid4()) + '_{i}')})")
        else:
            ext = {"parquet": ".parquet", "json": ".json"}.get(fmt.lower(), ".csv")
            conn.execute(f"COPY ({query}) TO {_literal(os.path.join(folder, str(uuid.uuid4()) + ext))} ({options})")
    except QueryError:
        raise
    except duckdb.Error as e:
        raise QueryError(f"SYNTAX_ERROR: {_first(e)}") from None
    files = []
    for root, _, names in os.walk(folder):
        for name in names:
            files.append(os.path.relpath(os.path.join(root, name), folder))
    return columns, count, sorted(files)
