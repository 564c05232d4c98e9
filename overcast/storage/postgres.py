"""The PostgreSQL backend (cluster mode, docs/cluster.md): the same `Database` the stores use with
SQLite, over psycopg 3 and a psycopg_pool connection pool.

- The stores' SQL is SQLite's; each distinct statement is translated once (overcast.storage.dialect)
  and the translation cached, so the hot path costs a dict look-up on top of psycopg's own
  execute. psycopg prepares a statement on the server the second time it runs
  (`prepare_threshold`), so hot statements are parsed and planned once per connection.
- The event loop owns one connection, taken from the pool and kept, as SQLite's single
  connection: statements run on it one at a time, in autocommit unless inside `transaction()`
  (BEGIN ... COMMIT). The pool's other connections serve the blob store's threads, and one
  serves the pipeline (storage/pipeline.py): the hot single statements that several requests
  send together and await (SendMessage's INSERT, GetItem's SELECT).
- Durable answers, one disk flush for many: the event loop's connection commits asynchronously
  (synchronous_commit = off: a COMMIT does not wait for the disk), and before an answer that
  wrote is sent, the server awaits `sync()`: a barrier transaction on a connection of its own,
  committed synchronously, whose commit record follows every commit before it, so its flush
  makes them all durable. Requests that wrote while a barrier was in flight share the next one
  (group commit), and the event loop serves other requests while a barrier waits for the disk.
  Work without a request (pollers, timers) does not wait: PostgreSQL's WAL writer flushes its
  commits within a fraction of a second (wal_writer_delay).
- The database lost while serving: the statement fails with `StorageUnavailable` (AWS's 503
  ServiceUnavailable, rendered by the protocol layer), the broken connection goes back to the
  pool, which reconnects in its own threads, and the next request that finds a connection
  ready proceeds; nothing blocks the event loop waiting for the database to return.
- A 503 means that nothing was written (clients retry it). Where a write was sent and its answer
  never came (a COMMIT, or a write in autocommit, on a connection that died under it), or a
  commit could not be confirmed on the disk, the outcome is unknown: `OutcomeUnknown`, AWS's 500
  InternalFailure. So that the loss of an idle connection (the database gone and back while the
  node waited) is not mistaken for that, a write in autocommit first checks that its connection
  has not been closed by the other end since its last use, and takes another if it has; the
  barrier's connection, found dead, is replaced and the barrier made again (a barrier on a new
  connection covers the commits before it only if the server has not restarted in between:
  `pg_postmaster_start_time()` is compared).
"""

from __future__ import annotations

import asyncio
import logging
import select
import time
from collections.abc import Iterable, Sequence
from contextlib import contextmanager

import psycopg
from psycopg import postgres as pg_types
from psycopg.adapt import Dumper, Loader
from psycopg.types.string import StrDumper
from psycopg_pool import ConnectionPool, PoolTimeout

from overcast.storage.database import Database, split_statements
from overcast.storage.dialect import NOCASE_DDL, Table, Translation, TranslationError, translate
from overcast.storage.errors import OutcomeUnknown, SchemaTooNew, StorageUnavailable
from overcast.storage.pipeline import Pipeline

log = logging.getLogger("overcast")

_SCHEMA_TABLE = (
    'CREATE TABLE IF NOT EXISTS schema_versions (service TEXT COLLATE "C" PRIMARY KEY, version BIGINT NOT NULL)'
)
_MIGRATION_LOCK = 0x6F766572  # pg_advisory_xact_lock key while a node migrates ("over")
# tables `reset` leaves alone: the schema bookkeeping and the cluster's own (storage/coordination.py)
KEPT_ON_RESET = {"schema_versions"}
KEPT_PREFIX = "cluster_"
POOL_SIZE = 8  # the event loop's connection and the blob store's threads
# kept open, and opened again after the database's return: the event loop's and the pipeline's,
# so that neither finds the pool empty (a 503) because the other took the one it reconnected
POOL_MIN = 2
CONNECT_TIMEOUT = 5  # seconds, when the URL does not say
RECONNECT_TIMEOUT = 2.0  # seconds the pool retries a lost connection; then the next request starts a retry


class _BoolDumper(Dumper):
    """Booleans as integers, as SQLite stores them (the stores' flag columns are INTEGER)."""

    oid = pg_types.types["int2"].oid  # widened by PostgreSQL where an int or bigint is wanted

    def dump(self, obj):
        return b"1" if obj else b"0"


class _NumberLoader(Loader):
    """NUMERIC (what SUM and AVG of integers return) as int or float, as SQLite answers."""

    def load(self, data):
        text = bytes(data)
        if b"." in text or b"e" in text or b"N" in text:
            return float(text)
        return int(text)


def _configure(conn: psycopg.Connection) -> None:
    adapters = conn.adapters
    adapters.register_dumper(bool, _BoolDumper)
    # str as text, not psycopg's default "unknown": a string bound for a BYTEA column is refused
    # instead of being parsed as bytea's escape syntax (SQLite would store it as it came)
    adapters.register_dumper(str, StrDumper)
    adapters.register_loader("numeric", _NumberLoader)


def display_url(url: str) -> str:
    """The URL without its password, for logs and `overcast status`."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://..."
    host = info.get("host", "localhost")
    port = info.get("port", "5432")
    user = f"{info['user']}@" if info.get("user") else ""
    return f"postgresql://{user}{host}:{port}/{info.get('dbname', '')}"


def connect_kwargs(url: str) -> dict:
    info = psycopg.conninfo.conninfo_to_dict(url)
    kwargs = {"autocommit": True, "cursor_factory": psycopg.RawCursor, "prepare_threshold": 2}
    if "connect_timeout" not in info:
        kwargs["connect_timeout"] = CONNECT_TIMEOUT
    if "application_name" not in info:
        kwargs["application_name"] = "overcast"
    return kwargs


def barrier_kwargs(url: str) -> dict:
    kwargs = connect_kwargs(url)
    del kwargs["cursor_factory"], kwargs["prepare_threshold"]
    options = psycopg.conninfo.conninfo_to_dict(url).get("options", "")
    kwargs["options"] = f"{options} -c synchronous_commit=on".strip()
    return kwargs


async def run_statement(pgconn: psycopg.pq.abc.PGconn, sql: bytes, params: Sequence[bytes] | None = None,
                        timeout: float | None = None) -> None:
    """Run one statement on a connection nothing else uses and wait for it, on libpq directly:
    the event loop watches the socket, without psycopg's async machinery (per wait: a lock, a
    timer, a future and its generators, and a Task where asyncio.wait_for adds one), which the
    group commit's barrier and the notifications' batches paid at every request that wrote and
    cost more CPU than the write itself. Its rows, if any, are not read. Raises
    psycopg.OperationalError when the connection fails, TimeoutError after `timeout` seconds
    (the connection is then busy: close it), psycopg.Error of its SQLSTATE when the statement
    fails."""
    if params is None:
        pgconn.send_query(sql)
    else:
        pgconn.send_query_params(sql, params)
    loop = asyncio.get_running_loop()
    fd = pgconn.socket
    while pgconn.flush():  # (a statement larger than the socket's buffer) the rest when writable
        writable = loop.create_future()
        loop.add_writer(fd, lambda f=writable: f.done() or f.set_result(None))
        try:
            await writable
        finally:
            loop.remove_writer(fd)
    done = loop.create_future()

    def readable() -> None:
        try:
            pgconn.consume_input()
        except psycopg.Error as e:
            if not done.done():
                done.set_exception(e)
            return
        if not pgconn.is_busy() and not done.done():
            done.set_result(None)

    timer = None
    if timeout is not None:
        timer = loop.call_later(timeout, lambda: done.done() or done.set_exception(TimeoutError()))
    loop.add_reader(fd, readable)
    try:
        await done
    finally:
        loop.remove_reader(fd)
        if timer is not None:
            timer.cancel()
    error = None
    while (result := pgconn.get_result()) is not None:
        if result.status not in (psycopg.pq.ExecStatus.COMMAND_OK, psycopg.pq.ExecStatus.TUPLES_OK):
            error = psycopg.errors.error_from_result(result)
    if pgconn.status == psycopg.pq.ConnStatus.BAD:
        raise psycopg.OperationalError("the connection was lost")
    if error is not None:
        raise error


def probe(url: str) -> None:
    """Connect once, raising StorageUnavailable with PostgreSQL's own reason when that fails
    (the pool would only say that it timed out)."""
    try:
        psycopg.connect(url, **connect_kwargs(url)).close()
    except psycopg.Error as e:
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0].removeprefix("connection failed: ")
        raise StorageUnavailable(f"cannot connect to PostgreSQL at {display_url(url)}: {reason}") from None


class PostgresDatabase(Database):
    skip_locked = " FOR UPDATE SKIP LOCKED"  # (Database.skip_locked)

    def __init__(self, url: str, pool_size: int = POOL_SIZE):
        self.url = display_url(url)
        probe(url)
        self._pool = ConnectionPool(url, min_size=POOL_MIN, max_size=pool_size, kwargs=connect_kwargs(url),
                                    configure=_configure, open=False, name="overcast",
                                    reconnect_timeout=RECONNECT_TIMEOUT, timeout=10)
        try:
            self._pool.open(wait=True, timeout=CONNECT_TIMEOUT * 2)
        except PoolTimeout:
            self._pool.close()
            raise StorageUnavailable(f"cannot connect to PostgreSQL at {self.url}: no connection in time") from None
        self._conn: psycopg.Connection | None = None
        self._cursor = None
        self._depth = 0
        self._translations: dict[tuple[str, bool], Translation] = {}
        self._table_info: dict[str, Table | None] = {}
        self._lost_at = 0.0
        self._url = url
        self._write_seq = 0  # commits on the loop's connection so far
        self._synced_seq = 0  # ... of which a barrier has made this many durable
        self._barrier: asyncio.Future | None = None
        self._barrier_conn: psycopg.AsyncConnection | None = None
        self._tx_wrote = False  # the open transaction has written (its COMMIT's loss leaves the outcome unknown)
        self._instance = None  # the server's pg_postmaster_start_time() (a restart loses unflushed commits)
        self._setup()
        self.pipeline = Pipeline(self)

    # -- connections ---------------------------------------------------------------------------

    def _connection(self):
        """The event loop's cursor, taking a connection from the pool when it has none (after a
        loss: then only one that is ready, so a request never waits for the database)."""
        if self._conn is None:
            for _ in range(POOL_SIZE):  # the pool's idle connections may have died with the database
                try:
                    self._conn = self._pool.getconn(timeout=0.01 if self._lost_at else 5)
                except PoolTimeout:
                    raise StorageUnavailable() from None
                self._cursor = self._conn.cursor()
                try:
                    self._cursor.execute("SET synchronous_commit = off")  # made durable by sync()
                    break
                except psycopg.OperationalError as e:
                    error = self._lost(e)
            else:
                raise error
            if self._lost_at:
                log.warning("PostgreSQL is back after %.1f s", time.monotonic() - self._lost_at)
                self._lost_at = 0.0
        return self._cursor

    def _live_cursor(self):
        """The loop's cursor, for a write in autocommit: if the other end closed the connection
        while it was idle (the database lost, maybe back since), another one, so that a failure of
        the write itself means its outcome is unknown, not that it was never sent."""
        cursor = self._connection()
        conn = self._conn
        try:
            if select.select([conn.pgconn.socket], [], [], 0)[0]:  # idle, yet something to read
                conn.pgconn.consume_input()  # a notice is read and kept; an end of file raises
        except (psycopg.OperationalError, OSError, ValueError) as e:
            self._lost(e)
            cursor = self._connection()
        return cursor

    def _lost(self, error: Exception) -> StorageUnavailable:
        if not self._lost_at:
            self._lost_at = time.monotonic()
            log.error("lost PostgreSQL: %s", str(error).strip().splitlines()[0] if str(error).strip() else error)
        conn, self._conn, self._cursor = self._conn, None, None
        self._depth = 0
        if conn is not None:
            try:
                self._pool.putconn(conn)  # broken: the pool discards it and connects anew
            except Exception:
                pass
        return StorageUnavailable()

    def _run(self, sql: str, params, returning: bool = False):
        translation = self._translations.get((sql, returning))
        if translation is None:
            translation = self._translate(sql, returning)
        if translation.names is not None and isinstance(params, dict):
            params = [params[name] for name in translation.names]
        autocommitted = translation.writes and not self._depth
        cursor = self._live_cursor() if autocommitted else self._connection()
        try:
            cursor.execute(translation.sql, params or None)
        except psycopg.OperationalError as e:
            if self._conn is not None and not self._conn.broken and not self._conn.closed:
                raise
            lost = self._lost(e)
            raise (OutcomeUnknown(str(e)) if autocommitted else lost) from None
        if autocommitted:
            self._write_seq += 1
        elif translation.writes:
            self._tx_wrote = True
        return cursor

    def _translate(self, sql: str, returning: bool) -> Translation:
        try:
            translation = translate(sql, self._table, returning)
        except TranslationError:
            log.error("cannot translate for PostgreSQL: %s", sql)
            raise
        self._translations[(sql, returning)] = translation
        return translation

    def _table(self, name: str) -> Table | None:
        if name in self._table_info:
            return self._table_info[name]
        try:
            return self._look_up_table(name)
        except psycopg.OperationalError as e:  # the database went away: 503, as for any statement
            if self._conn is not None and not self._conn.broken and not self._conn.closed:
                raise
            raise self._lost(e) from None

    def _look_up_table(self, name: str) -> Table | None:
        cursor = self._connection()
        cursor.execute(
            "SELECT a.attname, a.attidentity <> '' OR (a.attnum = ANY(i.indkey) AND a.atttypid = 'int8'::regtype "
            "AND array_length(i.indkey, 1) = 1 AND a.attgenerated = '') "
            "FROM pg_attribute a LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary "
            "WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            (name,))
        rows = cursor.fetchall()
        if not rows:
            return None  # not cached: a migration may create it
        cursor.execute(
            "SELECT array_agg(a.attname ORDER BY k.n) FROM pg_index i "
            "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
            "WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL "
            "GROUP BY i.indexrelid, i.indisprimary ORDER BY i.indisprimary DESC, i.indexrelid",
            (name,))
        keys = tuple(tuple(r[0]) for r in cursor.fetchall())
        identity = next((r[0] for r in rows if r[1] and r[0] != "rowid"), None) or \
            next((r[0] for r in rows if r[0] == "rowid"), None)
        table = Table(tuple(r[0] for r in rows), keys, identity)
        self._table_info[name] = table
        return table

    # -- schema --------------------------------------------------------------------------------

    def _setup(self) -> None:
        cursor = self._connection()
        cursor.execute(_SCHEMA_TABLE)
        try:
            cursor.execute(NOCASE_DDL)
        except psycopg.errors.UniqueViolation:
            pass  # another node created it at the same moment
        cursor.execute("SELECT service, version FROM schema_versions")
        self._versions = dict(cursor.fetchall())
        cursor.execute("SELECT pg_postmaster_start_time()")
        self._instance = cursor.fetchone()[0]

    def migrate(self, service: str, migrations: Sequence[str]) -> None:
        current = self._versions.get(service, 0)
        if current > len(migrations):
            raise SchemaTooNew(service, current, len(migrations))
        if current == len(migrations):
            return
        with self.transaction():
            cursor = self._connection()
            cursor.execute("SELECT pg_advisory_xact_lock($1)", (_MIGRATION_LOCK,))  # one node migrates
            cursor.execute("SELECT version FROM schema_versions WHERE service = $1", (service,))
            row = cursor.fetchone()
            current = row[0] if row else 0
            if current > len(migrations):
                raise SchemaTooNew(service, current, len(migrations))
            for version, script in enumerate(migrations[current:], start=current + 1):
                # one round trip per script (without parameters psycopg sends several statements at once)
                cursor.execute(";\n".join(translate(statement, self._table).sql
                                           for statement in split_statements(script)))
                cursor.execute(
                    "INSERT INTO schema_versions(service, version) VALUES($1, $2) "
                    "ON CONFLICT(service) DO UPDATE SET version = excluded.version",
                    (service, version),
                )
                current = version
        self._versions[service] = current
        self._table_info.clear()  # tables changed: translations that looked at them are stale
        self._translations.clear()

    # -- queries -------------------------------------------------------------------------------

    def execute(self, sql: str, params: Sequence | dict = ()) -> int:
        return self._run(sql, params).rowcount

    def execute_many(self, sql: str, rows: Iterable[Sequence]) -> None:
        translation = self._translations.get((sql, False)) or self._translate(sql, False)
        rows = list(rows)
        if not rows:
            return
        if translation.names is not None and isinstance(rows[0], dict):
            rows = [[row[name] for name in translation.names] for row in rows]
        autocommitted = not self._depth
        cursor = self._live_cursor() if autocommitted else self._connection()
        try:
            cursor.executemany(translation.sql, rows)
        except psycopg.OperationalError as e:
            if self._conn is not None and not self._conn.broken and not self._conn.closed:
                raise
            lost = self._lost(e)
            raise (OutcomeUnknown(str(e)) if autocommitted else lost) from None
        if autocommitted:
            self._write_seq += 1
        else:
            self._tx_wrote = True

    def insert(self, sql: str, params: Sequence | dict = ()) -> int:
        cursor = self._run(sql, params, returning=True)
        if cursor.description is None:
            return None
        row = cursor.fetchone()
        return row[0] if row else None

    def query(self, sql: str, params: Sequence | dict = ()) -> list[tuple]:
        return self._run(sql, params).fetchall()

    def query_one(self, sql: str, params: Sequence | dict = ()) -> tuple | None:
        return self._run(sql, params).fetchone()

    def scalar(self, sql: str, params: Sequence | dict = ()):
        row = self._run(sql, params).fetchone()
        return row[0] if row else None

    @contextmanager
    def transaction(self):
        """As SQLite's: nested uses join the outer one; committed when the outermost block exits
        without an exception, rolled back otherwise."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        cursor = self._connection()
        conn = self._conn
        try:
            cursor.execute("BEGIN")
        except psycopg.OperationalError as e:
            raise self._lost(e) from None
        self._depth = 1
        self._tx_wrote = False
        try:
            yield self
        except BaseException:
            self._depth = 0
            if self._conn is conn and not conn.broken:
                try:
                    cursor.execute("ROLLBACK")
                except psycopg.OperationalError:
                    self._lost(RuntimeError("rollback failed"))
            raise
        self._depth = 0
        try:
            cursor.execute("COMMIT")
        except psycopg.OperationalError as e:  # sent, and no answer: committed or not, unknown
            lost = self._lost(e)
            raise (OutcomeUnknown(str(e)) if self._tx_wrote else lost) from None
        self._write_seq += 1

    # -- durability ----------------------------------------------------------------------------

    @property
    def commits(self) -> int:
        return self._write_seq

    @property
    def unsynced(self) -> bool:
        """Commits on the loop's connection not yet known to be on the disk."""
        return self._write_seq > self._synced_seq

    async def sync(self) -> None:
        """Wait until every commit made so far is durable (see the module's docstring)."""
        wanted = self._write_seq
        while self._synced_seq < wanted:
            if self._barrier is None:
                self._barrier = asyncio.ensure_future(self._flush_barrier())
            await asyncio.shield(self._barrier)

    async def _flush_barrier(self) -> None:
        """The commits before it are committed: if they cannot be confirmed durable, their outcome
        is unknown (OutcomeUnknown), never "not done" (a 503 that a client would retry)."""
        covers = self._write_seq  # the commits made before this barrier starts
        try:
            while True:
                fresh = self._barrier_conn is None or self._barrier_conn.closed
                try:
                    if fresh:
                        self._barrier_conn = await psycopg.AsyncConnection.connect(
                            self._url, **barrier_kwargs(self._url))
                        cursor = await self._barrier_conn.execute("SELECT pg_postmaster_start_time()")
                        instance = (await cursor.fetchone())[0]
                        if instance != self._instance:  # restarted: commits not yet flushed were lost
                            self._instance = instance
                            raise OutcomeUnknown("PostgreSQL restarted before the commits were flushed")
                    # a transaction with an id writes a commit record; committed synchronously, it
                    # waits for the WAL to be flushed up to it, which covers every commit before it
                    await run_statement(self._barrier_conn.pgconn, b"SELECT pg_current_xact_id()")
                    break
                except (psycopg.OperationalError, OSError) as e:
                    conn, self._barrier_conn = self._barrier_conn, None
                    if conn is not None:
                        await conn.close()
                    if fresh:
                        raise OutcomeUnknown(str(e)) from None
                    # a connection made earlier, which may have died while idle: once more, anew
        finally:
            self._barrier = None
        self._synced_seq = max(self._synced_seq, covers)

    def tables(self) -> set[str]:
        return {r[0] for r in self.query("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}

    def reset(self) -> None:
        """DELETE, not TRUNCATE: TRUNCATE gives each of some 200 tables and their indexes new files
        (3 s for a reset on an idle machine, over 5 s under load), where most tables are empty or
        nearly so and a DELETE of them costs next to nothing. (ON DELETE CASCADE makes the order
        free.)"""
        tables = sorted(t for t in self.tables() - KEPT_ON_RESET if not t.startswith(KEPT_PREFIX))
        with self.transaction():
            for table in tables:
                self.execute(f'DELETE FROM "{table}"')

    # -- the blob store's connections ----------------------------------------------------------

    @contextmanager
    def connection(self, timeout: float = 3.0):
        """A pooled connection of its own, for a thread (the blob store): `with db.connection() as
        conn`. The database out of reach: StorageUnavailable (a broken connection goes back to the
        pool, which replaces it)."""
        try:
            with self._pool.connection(timeout=timeout) as conn:
                yield conn
        except PoolTimeout:
            raise StorageUnavailable() from None
        except psycopg.OperationalError as e:
            if isinstance(e, psycopg.errors.QueryCanceled):
                raise
            raise StorageUnavailable(str(e)) from None

    def close(self) -> None:
        self.pipeline.close()
        if self._barrier_conn is not None:
            self._barrier_conn.pgconn.finish()  # (no loop to await its close on)
            self._barrier_conn = None
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                self._pool.putconn(conn)
            except Exception:
                pass
        self._pool.close()
