"""Athena's SQL, taken apart: what kind of statement a query is, Hive DDL (CREATE EXTERNAL TABLE,
ALTER TABLE ADD PARTITION, ...) parsed into Glue documents, and Trino SELECTs translated to DuckDB
with sqlglot (read="trino", write="duckdb") after their tables are resolved against the catalog."""

from __future__ import annotations

import base64
import json
import re

import sqlglot
from sqlglot import exp


class QueryError(Exception):
    """A query that fails: `reason` is Athena's StateChangeReason, category/type its AthenaError."""

    def __init__(self, reason: str, category: int = 2, error_type: int = 1000):
        super().__init__(reason)
        self.reason = reason
        self.category = category
        self.error_type = error_type


_WORD = re.compile(r"\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*([A-Za-z]+)(?:\s+([A-Za-z]+))?(?:\s+([A-Za-z]+))?", re.S)


def strip_comments(sql: str) -> str:
    return re.sub(r"^\s*(?:--[^\n]*(?:\n|$)\s*|/\*.*?\*/\s*)*", "", sql, flags=re.S).strip().rstrip(";").strip()


def classify(sql: str) -> tuple[str, str]:
    """(StatementType, SubstatementType) of a query."""
    words = [w.upper() for w in re.findall(r"[A-Za-z_]+", strip_comments(sql)[:200])[:4]]
    first = words[0] if words else ""
    second = words[1] if len(words) > 1 else ""
    if first in ("SELECT", "WITH", "VALUES", "TABLE", "("):
        return "DML", "SELECT"
    if first == "INSERT":
        return "DML", "INSERT"
    if first == "EXPLAIN":
        return "UTILITY", "EXPLAIN"
    if first in ("SHOW", "DESCRIBE", "DESC"):
        return "UTILITY", f"{first}_{second}" if first == "SHOW" else "DESCRIBE"
    if first == "EXECUTE":
        return "DML", "EXECUTE"
    if first == "CREATE" and " AS " in f" {strip_comments(sql).upper()} " and second == "TABLE":
        return "DML", "CREATE_TABLE_AS_SELECT"
    if first in ("CREATE", "DROP", "ALTER", "MSCK"):
        return "DDL", f"{first}_{second}"
    return "DML", first or "UNKNOWN"


def _unquote(name: str) -> str:
    return name.strip().strip("`\"").lower()


def qualified(name: str, default_db: str) -> tuple[str, str]:
    parts = [_unquote(p) for p in re.split(r"\.(?=(?:[^`\"]*[`\"][^`\"]*[`\"])*[^`\"]*$)", name.strip())]
    if parts and parts[0] == "awsdatacatalog" and len(parts) == 3:
        parts = parts[1:]
    if len(parts) == 1:
        return default_db, parts[0]
    return parts[-2], parts[-1]


def _balanced(text: str, start: int) -> int:
    """Index just after the parenthesis that closes the one at `start`."""
    depth, i, quote = 0, start, None
    while i < len(text):
        c = text[i]
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"`":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise QueryError("line 1:1: mismatched parentheses")


def split_top(text: str, sep: str = ",") -> list[str]:
    parts, depth, quote, current = [], 0, None, []
    for c in text:
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"`":
            quote = c
        elif c in "(<[":
            depth += 1
        elif c in ")>]":
            depth -= 1
        elif c == sep and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(c)
    if "".join(current).strip():
        parts.append("".join(current))
    return parts


def _columns(text: str) -> list[dict]:
    out = []
    for part in split_top(text):
        m = re.match(r"\s*([`\"]?)([^`\"\s]+)\1\s+(.+?)(?:\s+COMMENT\s+'((?:[^']|'')*)')?\s*$", part, re.S | re.I)
        if not m:
            raise QueryError(f"line 1:1: invalid column definition {part.strip()!r}")
        column = {"Name": m.group(2).lower(), "Type": re.sub(r"\s+", "", m.group(3)).lower()}
        if m.group(4):
            column["Comment"] = m.group(4)
        out.append(column)
    return out


def _props(text: str) -> dict:
    return {k: v for k, v in re.findall(r"'((?:[^']|'')*)'\s*=\s*'((?:[^']|'')*)'", text)}


STORED = {
    "PARQUET": ("org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"),
    "ORC": ("org.apache.hadoop.hive.ql.io.orc.OrcInputFormat", "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat",
            "org.apache.hadoop.hive.ql.io.orc.OrcSerde"),
    "TEXTFILE": ("org.apache.hadoop.mapred.TextInputFormat",
                 "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                 "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"),
}


def parse_create_external(sql: str, default_db: str) -> tuple[str, dict, bool]:
    """CREATE EXTERNAL TABLE -> (database, Glue TableInput, if_not_exists)."""
    text = strip_comments(sql)
    m = re.match(r"(?is)CREATE\s+EXTERNAL\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?([`\"\w.]+)\s*\(", text)
    if not m:
        raise QueryError("line 1:1: mismatched input. Expecting: CREATE EXTERNAL TABLE name (columns) ...")
    db, name = qualified(m.group(2), default_db)
    end = _balanced(text, m.end() - 1)
    columns = _columns(text[m.end():end - 1])
    rest = text[end:]
    partitions = []
    pm = re.search(r"(?is)PARTITIONED\s+BY\s*\(", rest)
    if pm:
        pend = _balanced(rest, pm.end() - 1)
        partitions = _columns(rest[pm.end():pend - 1])
        rest = rest[:pm.start()] + rest[pend:]
    serde, serde_params = STORED["TEXTFILE"][2], {}
    input_format, output_format = STORED["TEXTFILE"][0], STORED["TEXTFILE"][1]
    if sm := re.search(r"(?is)ROW\s+FORMAT\s+SERDE\s+'([^']+)'", rest):
        serde = sm.group(1)
    if wm := re.search(r"(?is)WITH\s+SERDEPROPERTIES\s*\(", rest):
        serde_params.update(_props(rest[wm.end():_balanced(rest, wm.end() - 1) - 1]))
    if dm := re.search(r"(?is)ROW\s+FORMAT\s+DELIMITED(.*?)(?=STORED|LOCATION|TBLPROPERTIES|WITH\s+SERDE|$)", rest):
        clause = dm.group(1)
        for key, pattern in (("field.delim", r"FIELDS\s+TERMINATED\s+BY\s+'([^']*)'"),
                             ("escape.delim", r"ESCAPED\s+BY\s+'([^']*)'"),
                             ("line.delim", r"LINES\s+TERMINATED\s+BY\s+'([^']*)'"),
                             ("collection.delim", r"COLLECTION\s+ITEMS\s+TERMINATED\s+BY\s+'([^']*)'"),
                             ("mapkey.delim", r"MAP\s+KEYS\s+TERMINATED\s+BY\s+'([^']*)'")):
            if km := re.search(pattern, clause, re.I | re.S):
                serde_params[key] = km.group(1).encode().decode("unicode_escape")
    if fm := re.search(r"(?is)STORED\s+AS\s+INPUTFORMAT\s+'([^']+)'\s+OUTPUTFORMAT\s+'([^']+)'", rest):
        input_format, output_format = fm.group(1), fm.group(2)
    elif fm := re.search(r"(?is)STORED\s+AS\s+(\w+)", rest):
        kind = fm.group(1).upper()
        if kind not in STORED:
            raise QueryError(f"line 1:1: STORED AS {kind} is not supported by overcast (PARQUET, ORC, TEXTFILE).")
        input_format, output_format, stored_serde = STORED[kind]
        if kind != "TEXTFILE" or not re.search(r"(?i)ROW\s+FORMAT\s+SERDE", rest):
            serde = stored_serde if kind != "TEXTFILE" else serde
    lm = re.search(r"(?is)LOCATION\s+'([^']+)'", rest)
    if not lm:
        raise QueryError("line 1:1: External tables need a LOCATION 's3://bucket/prefix/'.")
    location = lm.group(1)
    table_params = {"EXTERNAL": "TRUE"}
    if tm := re.search(r"(?is)TBLPROPERTIES\s*\(", rest):
        table_params.update(_props(rest[tm.end():_balanced(rest, tm.end() - 1) - 1]))
    low = serde.lower()
    table_params.setdefault("classification", "parquet" if "parquet" in low else "orc" if "orc" in low
                            else "json" if "json" in low else "csv")
    table = {"Name": name, "TableType": "EXTERNAL_TABLE", "Parameters": table_params,
             "PartitionKeys": partitions,
             "StorageDescriptor": {"Columns": columns, "Location": location, "InputFormat": input_format,
                                   "OutputFormat": output_format, "Compressed": False, "NumberOfBuckets": -1,
                                   "SerdeInfo": {"SerializationLibrary": serde, "Parameters": serde_params},
                                   "StoredAsSubDirectories": False}}
    return db, table, bool(m.group(1))


def parse_partition_spec(text: str) -> list[tuple[str, str]]:
    return [(k.lower(), v) for k, v in re.findall(r"[`\"]?(\w+)[`\"]?\s*=\s*'((?:[^']|'')*)'", text)]


# -- SELECT translation ---------------------------------------------------------------------------

def parse_select(sql: str):
    try:
        trees = sqlglot.parse(sql, read="trino")
    except sqlglot.errors.ParseError as e:
        err = e.errors[0] if e.errors else {}
        where = f"line {err.get('line', 1)}:{err.get('col', 1)}: " if err else ""
        raise QueryError(f"SYNTAX_ERROR: {where}{err.get('description') or str(e).splitlines()[0]}") from None
    except sqlglot.errors.SqlglotError as e:
        raise QueryError(f"SYNTAX_ERROR: line 1:1: {e}") from None
    trees = [t for t in trees if t is not None]
    if len(trees) != 1:
        raise QueryError("SYNTAX_ERROR: line 1:1: Only one sql statement is allowed. Got: " + str(len(trees)))
    return trees[0]


def tables_of(tree, default_db: str) -> list[tuple[str, str, exp.Table]]:
    """(database, table, node) of every catalog table the query reads (CTE names excluded)."""
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    out = []
    for table in tree.find_all(exp.Table):
        if not table.name or isinstance(table.this, exp.Func | exp.Unnest):
            continue
        if not table.args.get("db") and table.name.lower() in ctes:
            continue
        catalog = (table.catalog or "").lower()
        if catalog and catalog != "awsdatacatalog":
            raise QueryError(f"CATALOG_NOT_FOUND: line 1:1: Catalog '{catalog}' does not exist")
        out.append(((table.db or default_db).lower(), table.name.lower(), table))
    return out


def to_duckdb(tree, resolved: dict) -> str:
    """The query for DuckDB, with each catalog table replaced by its view name."""
    tree = tree.copy()
    default = resolved.get("__default__")
    for table in list(tree.find_all(exp.Table)):
        key = ((table.db or default or "").lower(), table.name.lower())
        view = resolved.get(key)
        if view is None:
            continue
        alias = table.args.get("alias")
        new = exp.Table(this=exp.to_identifier(view, quoted=True), alias=alias or exp.TableAlias(
            this=exp.to_identifier(table.name, quoted=True)))
        table.replace(new)
    return tree.sql(dialect="duckdb")


def partition_predicate(tree, partition_keys: set[str]) -> str | None:
    """The WHERE conjuncts that use only partition columns, as DuckDB SQL (for pruning)."""
    select = tree if isinstance(tree, exp.Select) else None
    if select is None or not select.args.get("where"):
        return None
    condition = select.args["where"].this
    conjuncts = list(condition.flatten()) if isinstance(condition, exp.And) else [condition]
    keep = []
    for c in conjuncts:
        columns = [col.name.lower() for col in c.find_all(exp.Column)]
        if columns and all(col in partition_keys for col in columns) and not c.find(exp.Subquery, exp.Select):
            stripped = c.copy()
            for col in stripped.find_all(exp.Column):
                col.set("table", None)
            keep.append(stripped.sql(dialect="duckdb"))
    return " AND ".join(f"({k})" for k in keep) if keep else None


def substitute(sql: str, values: list[str]) -> str:
    """Replace each `?` outside quotes with the next execution parameter (already SQL literals)."""
    out, quote, it = [], None, iter(values)
    for c in sql:
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "?":
            try:
                out.append(next(it))
            except StopIteration:
                raise QueryError("SYNTAX_ERROR: line 1:1: Incorrect number of parameters: expected more "
                                 f"than {len(values)}") from None
            continue
        out.append(c)
    if next(it, None) is not None:
        raise QueryError("SYNTAX_ERROR: line 1:1: Incorrect number of parameters: too many provided")
    return "".join(out)


# -- views (stored in Glue as Athena stores them: VIRTUAL_VIEW with a "Presto View" text) ---------

def view_doc(name: str, db: str, sql: str, columns: list[dict]) -> dict:
    original = {"originalSql": sql, "catalog": "awsdatacatalog", "schema": db,
                "columns": [{"name": c["Name"], "type": c["Type"]} for c in columns]}
    encoded = base64.b64encode(json.dumps(original).encode()).decode()
    return {"Name": name, "TableType": "VIRTUAL_VIEW", "Parameters": {"presto_view": "true", "comment": "Presto View"},
            "ViewOriginalText": f"/* Presto View: {encoded} */", "ViewExpandedText": "/* Presto View */",
            "PartitionKeys": [], "StorageDescriptor": {"Columns": columns, "Location": "", "SerdeInfo": {}}}


def view_text(doc: dict) -> str:
    text = doc.get("ViewOriginalText") or ""
    m = re.match(r"\s*/\*\s*Presto View:\s*(\S+)\s*\*/", text)
    if m:
        try:
            return json.loads(base64.b64decode(m.group(1)))["originalSql"]
        except (ValueError, KeyError, TypeError):
            pass
    if text and not text.lstrip().startswith("/*"):
        return text
    raise QueryError(f"VIEW_IS_STALE: line 1:1: View '{doc.get('Name')}' has no readable definition")
