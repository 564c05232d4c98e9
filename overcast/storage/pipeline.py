"""Statements of several requests sent to PostgreSQL together (libpq's pipeline mode), for the
hot single-statement paths (SQS SendMessage's INSERT, DynamoDB GetItem's SELECT): fewer round
trips and fewer context switches per request than one synchronous statement each.

Why: on the event loop's connection every statement is a synchronous round trip: the loop sends
it, sleeps until PostgreSQL's backend has been scheduled, run it and answered, and only then
serves the next request. With the requests of one loop turn awaiting their statements here, the
loop sends them all in one write at the end of the turn and goes on serving; their results come
back together and wake them. The round trips of a turn become one, and the loop never sleeps
on the database while it has requests to serve.

Each statement is followed by a Sync: it runs in autocommit, as on the loop's connection (a
statement between two Syncs is its own implicit transaction), and a failing one fails only its
own request. The connection is one of the pool's, kept, with asynchronous commits as the loop's
(the group commit's barrier, storage/postgres.py, covers them: a write counts in the database's
commits once its result has come). Statements are prepared once per connection, as psycopg does
(keyed by their SQL and their parameters' types); parameters and rows go through psycopg's own
adapters (the connection's Transformer), so what a store reads is what the synchronous path
reads. Only statements outside a transaction come here: a store's transaction stays on the loop's
connection, whole.

Losing the connection fails what was in flight: a write's outcome is then unknown (AWS's 500,
OutcomeUnknown), a read was not done (503, StorageUnavailable); the next statement takes a
connection from the pool again (without waiting for one, while the database is away)."""

from __future__ import annotations

import asyncio
import collections
import logging
import select

import psycopg
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer

from overcast.storage.errors import OutcomeUnknown, StorageUnavailable

log = logging.getLogger("overcast")

_OK = (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK)


class _Statement:
    __slots__ = ("sql", "params", "future", "writes", "prepare", "result", "error")

    def __init__(self, sql: bytes, params, future: asyncio.Future, writes: bool):
        self.sql, self.params, self.future, self.writes = sql, params, future, writes
        self.prepare = None  # (name, types) when this statement prepares its name first
        self.result = None
        self.error = None


class Pipeline:
    def __init__(self, db):
        self.db = db
        self._conn: psycopg.Connection | None = None
        self._tx: Transformer | None = None
        self._names: dict[tuple, bytes] = {}  # (sql, parameter types) -> prepared statement's name
        self._prepared = 0  # names given so far
        self._queued: list[_Statement] = []
        # what the connection will answer, in order: ("prepare"|"query", statement) or ("sync", None)
        self._expected: collections.deque = collections.deque()
        self._pending: pq.abc.PGresult | None = None  # the head's result, until its end (None) comes
        self._flushing = False
        self._reading = False
        self._lost = False  # the last connection failed: take only a ready one from the pool
        self._fd = -1  # its socket, while the loop watches it
        self._writing = 0  # its socket, while what was sent waits for room in it

    # -- the stores' side -----------------------------------------------------------------------

    def query(self, sql: str, params=(), returning: bool = False) -> asyncio.Future:
        """A future of the statement's rows (a list of tuples); `returning`: an INSERT answers
        the identity it gave the row, as Database.insert."""
        translation = self.db._translations.get((sql, returning)) or self.db._translate(sql, returning)
        if translation.names is not None and isinstance(params, dict):
            params = [params[name] for name in translation.names]
        future = asyncio.get_running_loop().create_future()
        self._queued.append(_Statement(translation.sql.encode(), params, future, translation.writes))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().call_soon(self._send)
        return future

    async def query_one(self, sql: str, params=()) -> tuple | None:
        rows = await self.query(sql, params)
        return rows[0] if rows else None

    async def insert(self, sql: str, params=()):
        """An INSERT in autocommit: the identity it gave the row, as Database.insert."""
        rows = await self.query(sql, params, returning=True)
        return rows[0][0] if rows else None

    # -- the connection's side ------------------------------------------------------------------

    def _connection(self) -> psycopg.Connection:
        if self._conn is not None and not self._expected and not self._idle_and_alive():
            self._drop()  # closed by the other end while idle: a write sent on it would be lost unseen
        if self._conn is None:
            from psycopg_pool import PoolTimeout

            try:  # (the database away: only a connection that is ready, never a wait on the loop)
                conn = self.db._pool.getconn(timeout=0.01 if self._lost or self.db._lost_at else 5)
            except PoolTimeout:
                raise StorageUnavailable() from None
            try:
                conn.execute("SET synchronous_commit = off")  # made durable by the barrier, as the loop's
                conn.pgconn.nonblocking = 1
                conn.pgconn.enter_pipeline_mode()
            except psycopg.Error as e:
                self.db._pool.putconn(conn)
                raise StorageUnavailable(str(e)) from None
            self._conn, self._tx, self._names = conn, Transformer.from_context(conn), {}
            self._lost = False
        return self._conn

    def _idle_and_alive(self) -> bool:
        """Nothing in flight: whether the connection is still open (the database may have gone
        and come back meanwhile); what it says while idle (a notice) is read and dropped."""
        pgconn = self._conn.pgconn
        try:
            if select.select([pgconn.socket], [], [], 0)[0]:
                pgconn.consume_input()
                while not pgconn.is_busy() and pgconn.get_result() is not None:
                    pass
        except (psycopg.Error, OSError, ValueError):
            return False
        return pgconn.status == pq.ConnStatus.OK

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._lost = True
        if self._reading:
            self._reading = False
            asyncio.get_running_loop().remove_reader(self._fd)  # (a lost connection has no socket to ask)
        if self._writing:
            asyncio.get_running_loop().remove_writer(self._writing)
            self._writing = 0
        try:
            conn.close()  # (never back to the pool as it is: in pipeline mode, maybe half-way through)
            self.db._pool.putconn(conn)  # (closed: the pool discards it and connects anew)
        except Exception:
            pass

    def _send(self) -> None:
        """The end of a loop turn: what the turn's requests queued goes in one write."""
        self._flushing = False
        batch, self._queued = self._queued, []
        try:
            conn = self._connection()
        except StorageUnavailable as e:
            for statement in batch:
                statement.future.done() or statement.future.set_exception(e)
            return
        pgconn, tx = conn.pgconn, self._tx
        try:
            for statement in batch:
                params = tx.dump_sequence(statement.params, [PyFormat.AUTO] * len(statement.params)) \
                    if statement.params else None
                types = tx.types if statement.params else ()
                key = (statement.sql, types)
                name = self._names.get(key)
                if name is None:
                    self._prepared += 1
                    name = self._names[key] = f"_overcast_p{self._prepared}".encode()
                    pgconn.send_prepare(name, statement.sql, param_types=types)
                    statement.prepare = name
                    self._expected.append(("prepare", statement))
                pgconn.send_query_prepared(name, params, param_formats=tx.formats if params else None)
                pgconn.pipeline_sync()
                self._expected.append(("query", statement))
                self._expected.append(("sync", None))
            self._write(pgconn)
        except psycopg.Error as e:
            self._fail(e, batch)
            return
        if not self._reading:
            self._reading = True
            self._fd = pgconn.socket
            asyncio.get_running_loop().add_reader(self._fd, self._readable)

    def _write(self, pgconn) -> None:
        if self._writing or not pgconn.flush():
            return
        # more than the socket's buffer: the rest when it is writable
        loop = asyncio.get_running_loop()
        fd = self._writing = pgconn.socket

        def writable() -> None:
            try:
                if pgconn.flush():
                    return
            except psycopg.Error as e:
                self._fail(e)
                return
            loop.remove_writer(fd)
            self._writing = 0

        loop.add_writer(fd, writable)

    def _readable(self) -> None:
        pgconn = self._conn.pgconn
        try:
            pgconn.consume_input()
            while self._expected and not pgconn.is_busy():
                kind, statement = self._expected[0]
                result = pgconn.get_result()
                if kind == "sync":
                    if result is None:
                        break  # (its message has not come yet)
                    if result.status == pq.ExecStatus.PIPELINE_SYNC:
                        self._expected.popleft()
                    continue
                if result is not None:
                    if self._pending is None:
                        self._pending = result  # (the statement's end, None, follows)
                    continue
                result, self._pending = self._pending, None
                self._expected.popleft()
                self._settle(kind, statement, result)
        except psycopg.Error as e:
            self._fail(e)
            return
        if not self._expected and self._reading:
            self._reading = False
            asyncio.get_running_loop().remove_reader(self._fd)

    def _settle(self, kind: str, statement: _Statement, result) -> None:
        if result is None or result.status not in _OK:
            if statement.error is None and result is not None and result.status != pq.ExecStatus.PIPELINE_ABORTED:
                statement.error = psycopg.errors.error_from_result(result, encoding=self._conn.info.encoding)
            if kind == "prepare":
                self._names.pop(next(k for k, v in self._names.items() if v == statement.prepare), None)
                return
            error = statement.error or psycopg.errors.InternalError("the statement was not run")
            statement.future.done() or statement.future.set_exception(error)
            return
        if kind == "prepare":
            return
        if statement.writes:
            self.db._write_seq += 1  # committed (asynchronously): the next barrier covers it
        tx = self._tx
        tx.set_pgresult(result)
        rows = tx.load_rows(0, result.ntuples, tuple) if result.ntuples else []
        statement.future.done() or statement.future.set_result(rows)

    def _fail(self, error: Exception, batch: list[_Statement] = ()) -> None:
        """The connection failed: what was sent on it fails, and the next statement takes another."""
        statements = [s for kind, s in self._expected if kind == "query"] + list(batch)
        self._expected.clear()
        self._pending = None
        if self._conn is not None:
            self._drop()
        log.warning("PostgreSQL's pipeline connection failed: %s", str(error).strip().splitlines()[0]
                    if str(error).strip() else type(error).__name__)
        for statement in statements:
            if not statement.future.done():
                statement.future.set_exception(OutcomeUnknown(str(error)) if statement.writes
                                               else StorageUnavailable(str(error)))

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()
