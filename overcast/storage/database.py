"""The one database every service's store uses: SQLite in WAL mode under the data directory (the
default), or PostgreSQL in cluster mode (overcast.storage.postgres, docs/cluster.md).

Durability: each write transaction is committed before the request that made it is answered.
With WAL and synchronous=NORMAL a commit is a write() into the WAL file, which the operating
system keeps when the process is killed (kill -9); only a power loss could drop the last commits.

Stores never import a driver themselves: they call `execute`, `query`, `query_one` and
`transaction` of a `Database`, with SQL written for SQLite, which the PostgreSQL backend
translates (overcast.storage.dialect).
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterable, Sequence
from contextlib import contextmanager

from overcast.storage.errors import SchemaTooNew

if sys.version_info < (3, 12):
    # CPython 3.11's sqlite3 binds an int, float or str as it is but looks an adapter up for any
    # other parameter, and for None or bytes that lookup fails by raising and clearing an
    # AttributeError (PrepareProtocol.__adapt__): ~2,100 instructions a NULL or blob, and an SQS
    # message's row binds seven NULLs (a 10-way SNS fan-out 80). Registered, each is found in the
    # adapters' dict and passed on by a C call: {}.get(None) is None, bytes(b) is b (an exact bytes;
    # a subclass keeps the old path). Bound the same: NULL, and the blob.
    sqlite3.register_adapter(type(None), {}.get)
    sqlite3.register_adapter(bytes, bytes)

_SCHEMA_TABLE = """
CREATE TABLE IF NOT EXISTS schema_versions (
    service TEXT PRIMARY KEY,
    version INTEGER NOT NULL
)
"""


class Database:
    """What every store calls. Statements take `?` (or `:name`) placeholders; `execute`,
    `insert` and `execute_many` outside `transaction()` commit on their own."""

    url = ""  # where the data lives, as `overcast status` shows it
    # PostgreSQL commits asynchronously and makes them durable in groups: an answer that wrote
    # waits for `await sync()` while `unsynced` (overcast.storage.postgres). SQLite's commits are
    # durable when they return (never unsynced). `commits` counts the commits made so far (a
    # request during which it did not move wrote nothing).
    unsynced = False
    commits = 0
    # What a subquery choosing rows to claim ends with (a queue several nodes take work from:
    # UPDATE ... WHERE id IN (SELECT id ... LIMIT n<skip_locked>)). PostgreSQL: FOR UPDATE SKIP
    # LOCKED, so that concurrent claimers take different rows without waiting for each other.
    # SQLite: nothing; it has one writer at a time, so the UPDATE is atomic as it stands.
    skip_locked = ""
    # PostgreSQL: the hot single statements several requests send together (storage/pipeline.py),
    # awaited by the providers' `<operation>_pipelined` methods (aws/dispatch.py). SQLite: None.
    pipeline = None

    async def sync(self) -> None:
        pass

    def migrate(self, service: str, migrations: Sequence[str]) -> None:
        raise NotImplementedError

    def execute(self, sql: str, params: Sequence | dict = ()) -> int:
        raise NotImplementedError

    def execute_many(self, sql: str, rows: Iterable[Sequence]) -> None:
        raise NotImplementedError

    def insert(self, sql: str, params: Sequence | dict = ()) -> int:
        raise NotImplementedError

    def query(self, sql: str, params: Sequence | dict = ()) -> list[tuple]:
        raise NotImplementedError

    def query_one(self, sql: str, params: Sequence | dict = ()) -> tuple | None:
        raise NotImplementedError

    def scalar(self, sql: str, params: Sequence | dict = ()):
        raise NotImplementedError

    def transaction(self):
        raise NotImplementedError

    def tables(self) -> set[str]:
        """The names of the tables that exist (the stores' and the schema bookkeeping)."""
        raise NotImplementedError

    def versions(self) -> dict[str, int]:
        """{service: schema version} as the database records them."""
        return dict(self.query("SELECT service, version FROM schema_versions"))

    def reset(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class SqliteDatabase(Database):
    def __init__(self, path: str):
        self.path = self.url = path
        self._conn = self._connect()
        self._depth = 0
        self._conn.execute(_SCHEMA_TABLE)

    def _connect(self) -> sqlite3.Connection:
        # sqlite3 keeps prepared statements per connection in an LRU of `cached_statements`
        # (default 128); every service's store shares this connection and together they have
        # some 650 statement sites, so a mixed workload would re-prepare its hot statements.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, cached_statements=1024)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("PRAGMA temp_store=MEMORY")
        return conn

    # -- schema ------------------------------------------------------------------------------

    def migrate(self, service: str, migrations: Sequence[str]) -> None:
        """Apply the service's migrations that have not run yet, each in its own transaction.

        `migrations` is the service's ordered list of SQL scripts; its length is the schema
        version. Scripts are never edited once released: a change is a new script at the end.
        """
        row = self._conn.execute("SELECT version FROM schema_versions WHERE service = ?", (service,)).fetchone()
        current = row[0] if row else 0
        if current > len(migrations):
            raise SchemaTooNew(service, current, len(migrations))
        for version, script in enumerate(migrations[current:], start=current + 1):
            with self.transaction():
                for statement in split_statements(script):
                    self._conn.execute(statement)
                self._conn.execute(
                    "INSERT INTO schema_versions(service, version) VALUES(?, ?) "
                    "ON CONFLICT(service) DO UPDATE SET version = excluded.version",
                    (service, version),
                )

    # -- queries -----------------------------------------------------------------------------

    def execute(self, sql: str, params: Sequence | dict = ()) -> int:
        """Run one statement; returns the number of rows changed. Outside a transaction it
        commits on its own (autocommit)."""
        return self._conn.execute(sql, params).rowcount

    def execute_many(self, sql: str, rows: Iterable[Sequence]) -> None:
        self._conn.executemany(sql, rows)

    def insert(self, sql: str, params: Sequence | dict = ()) -> int:
        """Run an INSERT; returns the new row id."""
        return self._conn.execute(sql, params).lastrowid

    def query(self, sql: str, params: Sequence | dict = ()) -> list[tuple]:
        return self._conn.execute(sql, params).fetchall()

    def query_one(self, sql: str, params: Sequence | dict = ()) -> tuple | None:
        return self._conn.execute(sql, params).fetchone()

    def scalar(self, sql: str, params: Sequence | dict = ()):
        row = self._conn.execute(sql, params).fetchone()
        return row[0] if row else None

    @contextmanager
    def transaction(self):
        """A write transaction; nested uses join the outer one. Committed when the outermost
        block exits without an exception, rolled back otherwise."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self._conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self
        except BaseException:
            self._depth = 0
            self._conn.execute("ROLLBACK")
            raise
        self._depth = 0
        self._conn.execute("COMMIT")

    def tables(self) -> set[str]:
        return {r[0] for r in self._conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}

    def reset(self) -> None:
        """Delete every row of every table except the schema bookkeeping (overcast reset)."""
        tables = sorted(self.tables() - {"schema_versions"})
        with self.transaction():
            self._conn.execute("PRAGMA defer_foreign_keys=ON")
            for table in tables:
                self._conn.execute(f'DELETE FROM "{table}"')

    def close(self) -> None:
        try:
            self._conn.execute("PRAGMA optimize")
        finally:
            self._conn.close()


def split_statements(script: str) -> list[str]:
    """Split a migration script into statements (sqlite3's execute runs one at a time)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
