"""SQLite's SQL as PostgreSQL runs it: the stores keep one set of SQL, written for SQLite, and the
PostgreSQL backend translates each distinct statement once (then caches it) with sqlglot, plus
the few rewrites below that no general transpiler makes because they need the schema or follow
SQLite's own semantics:

- `?` and `:name` placeholders become `$1..$n` (psycopg's raw-query cursor sends them as they are,
  so a `%` in a literal needs no escaping); `Translation.names` says how a dict of named
  parameters is laid out.
- `INSERT OR IGNORE` -> `ON CONFLICT DO NOTHING`; `INSERT OR REPLACE` -> `ON CONFLICT (primary
  key) DO UPDATE`, setting every column the statement does not name back to its default, as
  SQLite's delete-then-insert does.
- DDL: INTEGER -> BIGINT (SQLite's integers are 64-bit), `INTEGER PRIMARY KEY` -> an identity
  column, BLOB -> BYTEA, REAL -> DOUBLE PRECISION, TEXT -> TEXT COLLATE "C" (SQLite compares
  and sorts text by its bytes), COLLATE NOCASE -> a case-insensitive ICU collation, and every
  table that has a rowid in SQLite gets a `rowid` column (an identity, or the integer primary
  key itself), so `ORDER BY rowid` keeps meaning insertion order. `WITHOUT ROWID` is dropped.
- `SUM(<comparison>)` counts the rows where it holds; `total(x)` is `COALESCE(SUM(x), 0.0)`;
  `json_extract(text, '$.a')` reads the text as JSON; LIKE without ESCAPE has no escape
  character (PostgreSQL's default is a backslash).
- ORDER BY keeps PostgreSQL's own NULL placement (sqlglot would add NULLS FIRST to keep
  SQLite's, which stops PostgreSQL from reading an index in order); the stores order by
  columns that are NOT NULL, or say NULLS FIRST/LAST themselves.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.dialects.sqlite import SQLite
from sqlglot.tokens import TokenType

NOCASE_COLLATION = "overcast_nocase"
# A collation PostgreSQL creates from ICU: case-insensitive (strength 2), as SQLite's NOCASE.
NOCASE_DDL = (f"CREATE COLLATION IF NOT EXISTS {NOCASE_COLLATION} "
              "(provider = icu, locale = 'und-u-ks-level2', deterministic = false)")


@dataclass(frozen=True)
class Table:
    """What a translation needs to know of a table: its columns in order, its unique keys (the
    primary key first) and its identity column (what `insert` returns, as SQLite's lastrowid)."""

    columns: tuple[str, ...]
    keys: tuple[tuple[str, ...], ...]
    identity: str | None


@dataclass(frozen=True)
class Translation:
    sql: str
    names: tuple[str, ...] | None  # parameter names in $n order, for a dict of parameters
    count: int  # how many parameters the statement takes
    writes: bool = True  # anything but a plain SELECT (a commit that the answer must wait for)


class TranslationError(Exception):
    pass


class _SQLite(SQLite):
    class Parser(SQLite.Parser):
        # a `?` keeps the name _tokens gave it, so that the n-th `?` is $n wherever it ends up
        PLACEHOLDER_PARSERS = {
            **SQLite.Parser.PLACEHOLDER_PARSERS,
            TokenType.PLACEHOLDER: lambda self: self.expression(exp.Placeholder(this=self._prev.text)),
        }


_SQLITE = _SQLite()
_NULLS = re.compile(r"\bNULLS\s+(FIRST|LAST)\b", re.IGNORECASE)


# PostgreSQL's reserved key words (its manual, appendix C): names SQLite lets a column have
_RESERVED = set("""
all analyse analyze and any array as asc asymmetric authorization binary both case cast check collate collation
column concurrently constraint create cross current_catalog current_date current_role current_schema current_time
current_timestamp current_user default deferrable desc distinct do else end except false fetch for foreign freeze
from full grant group having ilike in initially inner intersect into is isnull join lateral leading left like limit
localtime localtimestamp natural not notnull null offset on only or order outer overlaps placing primary references
returning right select session_user similar some symmetric system_user table tablesample then to trailing true
union unique user using variadic verbose when where window with
""".split())


class _Generator(Postgres.Generator):
    """PostgreSQL's generator writing placeholders as $n (`numbers`: each placeholder's n)."""

    numbers: dict[str, int] = {}
    RESERVED_KEYWORDS = _RESERVED  # quoted where a store uses one as a name (window, user, ...)

    def placeholder_sql(self, expression: exp.Placeholder) -> str:
        return f"${self.numbers[expression.name]}"


_POSTGRES = Postgres()


def translate(sql: str, table: Callable[[str], Table | None], returning: bool = False) -> Translation:
    """One SQLite statement as PostgreSQL runs it. `table(name)` describes an existing table (for
    INSERT OR REPLACE and RETURNING); `returning` adds `RETURNING <identity column>` to an INSERT."""
    tokens, names, positional = _tokens(sql)
    try:
        tree = _SQLITE.parser().parse(tokens, sql)[0]
    except sqlglot.errors.SqlglotError as e:
        raise TranslationError(f"cannot translate {sql!r}: {e}") from e
    if tree is None:
        raise TranslationError(f"cannot translate {sql!r}: no statement")
    tree = tree.transform(_rewrite, bool(_NULLS.search(sql)), copy=False)
    if isinstance(tree, exp.Create) and tree.kind == "TABLE":
        _create_table(tree)
    if isinstance(tree, exp.Insert):
        _insert(tree, table, returning)
    generator = _Generator(dialect=_POSTGRES, unsupported_level=sqlglot.ErrorLevel.IGNORE)
    generator.numbers = {name: i for i, name in enumerate(names, start=1)}
    return Translation(generator.generate(tree, copy=False), None if positional else tuple(names), len(names),
                       writes=not isinstance(tree, exp.Select | exp.Union))


_POSITIONAL = "__overcast_p"  # the name a `?` gets while the statement is parsed


def _tokens(sql: str) -> tuple[list, list[str], bool]:
    """The statement's tokens with each `?` named `__overcast_p<n>` (the parser below keeps the
    name), the placeholder names in order of first appearance, and whether they were `?`s
    (SQLite does not mix the two kinds)."""
    tokens = _SQLITE.tokenize(sql)
    names: list[str] = []
    positional = named = False
    previous = None
    for token in tokens:
        if token.token_type == TokenType.PLACEHOLDER and token.text == "?":
            positional = True
            token.text = f"{_POSITIONAL}{len(names) + 1}"
            names.append(token.text)
        elif (previous is not None and previous.token_type == TokenType.COLON and token.start == previous.end + 1
              and token.token_type == TokenType.VAR):
            named = True
            if token.text not in names:
                names.append(token.text)
        previous = token
    if positional and named:
        raise TranslationError(f"both ? and named placeholders in {sql!r}")
    return tokens, names, positional


# -- rewrites of any statement -----------------------------------------------------------------

def _rewrite(node: exp.Expression, keep_nulls: bool) -> exp.Expression:
    if isinstance(node, exp.Ordered) and not keep_nulls:
        node.set("nulls_first", bool(node.args.get("desc")))  # PostgreSQL's own placement
    elif isinstance(node, exp.Sum) and isinstance(node.this, exp.Predicate | exp.Connector | exp.Not):
        return exp.Sum(this=exp.Case(ifs=[exp.If(this=node.this, true=exp.Literal.number(1))],
                                     default=exp.Literal.number(0)))
    elif isinstance(node, exp.Anonymous) and node.name.lower() == "total":
        return exp.Coalesce(this=exp.Sum(this=node.expressions[0]), expressions=[exp.Literal.number("0.0")])
    elif isinstance(node, exp.Like) and not isinstance(node.parent, exp.Escape):
        return exp.Escape(this=node, expression=exp.Literal.string(""))
    elif isinstance(node, exp.JSONExtract | exp.JSONExtractScalar) and not _is_json(node.this):
        node.set("this", exp.Cast(this=node.this, to=_type(exp.DataType.Type.JSON)))
    elif isinstance(node, exp.ColumnDef):
        return _column(node)
    return node


def _type(kind: exp.DataType.Type) -> exp.DataType:
    """A type node (DataType.build would parse its argument, every time)."""
    return exp.DataType(this=kind, nested=False)


def _is_json(node: exp.Expression) -> bool:
    return isinstance(node, exp.Cast) and node.to.is_type("json")


# -- DDL -----------------------------------------------------------------------------------------

_INTEGER = {exp.DataType.Type.INT, exp.DataType.Type.BIGINT, exp.DataType.Type.SMALLINT,
            exp.DataType.Type.TINYINT, exp.DataType.Type.MEDIUMINT}
_REAL = {exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT, exp.DataType.Type.DECIMAL}
_BINARY = {exp.DataType.Type.VARBINARY, exp.DataType.Type.BINARY, exp.DataType.Type.BLOB}
_TEXT = {exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR, exp.DataType.Type.CHAR, exp.DataType.Type.NVARCHAR,
         exp.DataType.Type.NCHAR}


def _column(node: exp.ColumnDef) -> exp.ColumnDef:
    kind = node.args.get("kind")
    constraints = node.args.get("constraints") or []
    if kind is None:
        raise TranslationError(f"column {node.name} has no type")
    if kind.this in _INTEGER:
        node.set("kind", _type(exp.DataType.Type.BIGINT))
    elif kind.this in _REAL:
        node.set("kind", _type(exp.DataType.Type.DOUBLE))
    elif kind.this in _BINARY:
        node.set("kind", _type(exp.DataType.Type.VARBINARY))
    elif kind.this in _TEXT:
        node.set("kind", _type(exp.DataType.Type.TEXT))
        if not any(isinstance(c.kind, exp.CollateColumnConstraint) for c in constraints):
            constraints.insert(0, exp.ColumnConstraint(kind=exp.CollateColumnConstraint(
                this=exp.Identifier(this="C", quoted=True))))
            node.set("constraints", constraints)
    for constraint in constraints:
        if isinstance(constraint.kind, exp.CollateColumnConstraint):
            name = constraint.kind.this.name.upper()
            if name == "NOCASE":
                constraint.kind.set("this", exp.Identifier(this=NOCASE_COLLATION))
            elif name in ("BINARY", "C"):
                constraint.kind.set("this", exp.Identifier(this="C", quoted=True))
    return node


def _create_table(tree: exp.Create) -> None:
    schema = tree.this
    if not isinstance(schema, exp.Schema):
        return
    properties = tree.args.get("properties")
    without_rowid = False
    if properties is not None:
        kept = [p for p in properties.expressions if not isinstance(p, exp.WithoutRowidProperty)]
        without_rowid = len(kept) != len(properties.expressions)
        tree.set("properties", exp.Properties(expressions=kept) if kept else None)
    columns = [c for c in schema.expressions if isinstance(c, exp.ColumnDef)]
    key_columns = _table_primary_key(schema)
    integer_key = None
    for column in columns:
        constraints = column.args.get("constraints") or []
        is_key = any(isinstance(c.kind, exp.PrimaryKeyColumnConstraint) for c in constraints) \
            or key_columns == [column.name]
        if is_key and column.args["kind"].this == exp.DataType.Type.BIGINT and not without_rowid:
            integer_key = column
    if integer_key is not None:
        # SQLite's INTEGER PRIMARY KEY is the rowid: assigned when an insert leaves it out
        constraints = [c for c in integer_key.args.get("constraints") or []
                       if not isinstance(c.kind, exp.AutoIncrementColumnConstraint)]
        constraints.insert(0, exp.ColumnConstraint(kind=exp.GeneratedAsIdentityColumnConstraint(this=False)))
        integer_key.set("constraints", constraints)
        if integer_key.name.lower() != "rowid":
            schema.append("expressions", exp.ColumnDef(
                this=exp.to_identifier("rowid"), kind=_type(exp.DataType.Type.BIGINT),
                constraints=[exp.ColumnConstraint(kind=exp.ComputedColumnConstraint(
                    this=exp.column(integer_key.name), persisted=True))]))
    elif not without_rowid:
        schema.append("expressions", exp.ColumnDef(
            this=exp.to_identifier("rowid"), kind=_type(exp.DataType.Type.BIGINT),
            constraints=[exp.ColumnConstraint(kind=exp.GeneratedAsIdentityColumnConstraint(this=True))]))


def _table_primary_key(schema: exp.Schema) -> list[str]:
    for item in schema.expressions:
        if isinstance(item, exp.PrimaryKey):
            return [e.name for e in item.expressions]
    return []


# -- INSERT OR REPLACE / IGNORE, RETURNING -----------------------------------------------------------

def _insert(tree: exp.Insert, table_of, returning: bool) -> None:
    alternative = (tree.args.get("alternative") or "").upper()
    target = tree.this
    table_name = target.this.name if isinstance(target, exp.Schema) else target.name
    conflict = tree.args.get("conflict")
    if conflict is not None:
        _qualify_update(conflict, table_name)
    untargeted = conflict is not None and not conflict.args.get("conflict_keys") \
        and not conflict.args.get("constraint") and "UPDATE" in str(conflict.args.get("action") or "").upper()
    info = table_of(table_name) if (alternative == "REPLACE" or returning or untargeted) else None
    if untargeted:  # SQLite lets the last ON CONFLICT ... DO UPDATE name no key; PostgreSQL wants one
        if info is None:
            raise TranslationError(f"ON CONFLICT into {table_name}: no such table")
        conflict.set("conflict_keys", [exp.to_identifier(c) for c in _key_set_by(tree, target, info, table_name)])
    if alternative == "IGNORE":
        tree.set("alternative", None)
        tree.set("conflict", exp.OnConflict(action=exp.var("DO NOTHING")))
    elif alternative == "REPLACE":
        tree.set("alternative", None)
        if info is None:
            raise TranslationError(f"INSERT OR REPLACE into {table_name}: no such table")
        given = _given(tree, target, info)
        key = _key_set_by(tree, target, info, table_name)
        in_key = {c.lower() for c in key}
        sets = [exp.EQ(this=exp.column(c), expression=exp.column(c, table="excluded") if c.lower() in given
                       else exp.var("DEFAULT"))  # SQLite deletes the old row: what is not given is the default
                for c in info.columns if c.lower() not in in_key]
        tree.set("conflict", exp.OnConflict(
            conflict_keys=[exp.to_identifier(c) for c in key],
            action=exp.var("DO UPDATE" if sets else "DO NOTHING"),
            expressions=sets or None,
        ))
    if returning and info is not None and info.identity:
        tree.set("returning", exp.Returning(expressions=[exp.column(info.identity)]))


def _qualify_update(conflict: exp.OnConflict, table_name: str) -> None:
    """In DO UPDATE, a bare column is the existing row's in SQLite; PostgreSQL finds it ambiguous
    (it could be excluded's): name the table."""
    for item in conflict.expressions or []:
        if isinstance(item, exp.EQ):
            for column in item.expression.find_all(exp.Column):
                if not column.table:
                    column.set("table", exp.to_identifier(table_name))
    where = conflict.args.get("where")
    if where is not None:
        for column in where.find_all(exp.Column):
            if not column.table:
                column.set("table", exp.to_identifier(table_name))


def _given(tree: exp.Insert, target, info: Table) -> list[str]:
    """The columns an INSERT sets, lower-cased."""
    if isinstance(target, exp.Schema):
        return [e.name.lower() for e in target.expressions]
    return [c.lower() for c in info.columns[:_value_count(tree)]]


def _key_set_by(tree: exp.Insert, target, info: Table, table_name: str) -> tuple[str, ...]:
    """The key a new row can clash on: the first unique key (primary first) whose columns it sets."""
    given = _given(tree, target, info)
    key = next((k for k in info.keys if all(c.lower() in given for c in k)), None)
    if key is None:
        raise TranslationError(f"INSERT into {table_name}: it sets no unique key's columns")
    return key


def _value_count(tree: exp.Insert) -> int:
    values = tree.expression
    if isinstance(values, exp.Values) and values.expressions:
        return len(values.expressions[0].expressions)
    raise TranslationError("INSERT OR REPLACE without a column list needs VALUES")
