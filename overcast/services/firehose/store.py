"""Firehose tables: delivery streams, the durable record buffer, Kinesis-source checkpoints."""

from __future__ import annotations

import orjson

SCHEMA = "firehose"  # its version row in schema_versions
MIGRATIONS = [
    """
    CREATE TABLE firehose_streams (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        arn TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 1,
        created REAL NOT NULL,
        updated REAL NOT NULL,
        destination TEXT NOT NULL,      -- ExtendedS3DestinationConfiguration, as given (JSON)
        source TEXT,                    -- KinesisStreamSourceConfiguration (JSON)
        encryption TEXT,
        tags TEXT NOT NULL DEFAULT '{}',
        UNIQUE (account, region, name)
    );
    CREATE TABLE firehose_buffer (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        stream_id INTEGER NOT NULL REFERENCES firehose_streams(id) ON DELETE CASCADE,
        data BLOB NOT NULL,
        arrival REAL NOT NULL
    );
    CREATE INDEX firehose_buffer_stream ON firehose_buffer(stream_id, id);
    CREATE TABLE firehose_checkpoints (
        stream_id INTEGER NOT NULL REFERENCES firehose_streams(id) ON DELETE CASCADE,
        shard TEXT NOT NULL,
        seq TEXT,
        PRIMARY KEY (stream_id, shard)
    );
    """,
    # the trace each buffered record was put in (an X-Ray trace header): its flush links them
    "ALTER TABLE firehose_buffer ADD COLUMN trace TEXT;",
]

COLUMNS = "id, account, region, name, arn, type, version, created, updated, destination, source, encryption, tags"


class Stream:
    __slots__ = ("id", "account", "region", "name", "arn", "type", "version", "created", "updated",
                 "destination", "source", "encryption", "tags")

    def __init__(self, row):
        for slot, value in zip(self.__slots__, row, strict=True):
            setattr(self, slot, value)
        self.destination = orjson.loads(self.destination)
        self.source = orjson.loads(self.source) if self.source else None
        self.encryption = orjson.loads(self.encryption) if self.encryption else None
        self.tags = orjson.loads(self.tags)


def _dump(value) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


class FirehoseStore:
    def __init__(self, db):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)

    def create(self, account, region, name, arn, kind, now, destination, source, encryption, tags,
               checkpoints: dict) -> int:
        with self.db.transaction():
            sid = self.db.insert(
                f"INSERT INTO firehose_streams({COLUMNS.replace('id, ', '', 1)}) VALUES(?,?,?,?,?,1,?,?,?,?,?,?)",
                (account, region, name, arn, kind, now, now, _dump(destination), _dump(source), _dump(encryption),
                 _dump(tags)))
            self.db.execute_many("INSERT INTO firehose_checkpoints(stream_id, shard, seq) VALUES(?,?,?)",
                                 [(sid, shard, seq) for shard, seq in checkpoints.items()])
        return sid

    def get(self, account, region, name) -> Stream | None:
        row = self.db.query_one(f"SELECT {COLUMNS} FROM firehose_streams WHERE account=? AND region=? AND name=?",
                                (account, region, name))
        return Stream(row) if row else None

    def by_id(self, sid) -> Stream | None:
        row = self.db.query_one(f"SELECT {COLUMNS} FROM firehose_streams WHERE id=?", (sid,))
        return Stream(row) if row else None

    def list(self, account, region) -> list[Stream]:
        return [Stream(r) for r in self.db.query(f"SELECT {COLUMNS} FROM firehose_streams WHERE account=? AND "
                                                 "region=? ORDER BY name", (account, region))]

    def ids(self) -> list[int]:
        return [row[0] for row in self.db.query("SELECT id FROM firehose_streams")]

    def all_with_work(self) -> list[Stream]:
        return [Stream(r) for r in self.db.query(
            f"SELECT {COLUMNS} FROM firehose_streams WHERE type='KinesisStreamAsSource' OR id IN "
            "(SELECT DISTINCT stream_id FROM firehose_buffer)")]

    def delete(self, sid) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM firehose_buffer WHERE stream_id=?", (sid,))
            self.db.execute("DELETE FROM firehose_checkpoints WHERE stream_id=?", (sid,))
            self.db.execute("DELETE FROM firehose_streams WHERE id=?", (sid,))

    def update(self, sid, **fields) -> None:
        fields = {k: _dump(v) if k in ("destination", "encryption", "tags") else v for k, v in fields.items()}
        sets = ", ".join(f"{k}=?" for k in fields)
        self.db.execute(f"UPDATE firehose_streams SET {sets} WHERE id=?", (*fields.values(), sid))

    # -- the buffer ---------------------------------------------------------------------------

    def buffer(self, sid, rows: list[tuple[bytes, float]], trace: str | None = None) -> None:
        with self.db.transaction():
            self.db.execute_many("INSERT INTO firehose_buffer(stream_id, data, arrival, trace) VALUES(?,?,?,?)",
                                 [(sid, d, a, trace) for d, a in rows])

    def buffer_from_kinesis(self, sid, shard, seq, rows: list[tuple[bytes, float, str | None]]) -> None:
        """rows: (data, arrival, the trace header the record was written in)."""
        with self.db.transaction():
            self.db.execute_many("INSERT INTO firehose_buffer(stream_id, data, arrival, trace) VALUES(?,?,?,?)",
                                 [(sid, d, a, t) for d, a, t in rows])
            self.db.execute("INSERT INTO firehose_checkpoints(stream_id, shard, seq) VALUES(?,?,?) "
                            "ON CONFLICT(stream_id, shard) DO UPDATE SET seq=excluded.seq", (sid, shard, seq))

    def checkpoints(self, sid) -> dict:
        return dict(self.db.query("SELECT shard, seq FROM firehose_checkpoints WHERE stream_id=?", (sid,)))

    def buffered(self, sid, max_bytes: int) -> list[tuple[int, bytes, float, str | None]]:
        """The oldest buffered records up to `max_bytes` (at least one): (id, data, arrival, trace)."""
        out, size = [], 0
        for row in self.db.query("SELECT id, data, arrival, trace FROM firehose_buffer WHERE stream_id=? ORDER BY id "
                                 "LIMIT 100000", (sid,)):
            if out and size + len(row[1]) > max_bytes:
                break
            out.append(row)
            size += len(row[1])
        return out

    def buffer_state(self, sid) -> tuple[int, float | None]:
        """(bytes buffered, arrival of the oldest record)."""
        row = self.db.query_one("SELECT COALESCE(SUM(LENGTH(data)), 0), MIN(arrival) FROM firehose_buffer "
                                "WHERE stream_id=?", (sid,))
        return row[0], row[1]

    def drop(self, sid, last_id: int) -> None:
        self.db.execute("DELETE FROM firehose_buffer WHERE stream_id=? AND id<=?", (sid, last_id))


def has_pending_work(db) -> bool:
    """At start-up: buffered records to flush, or Kinesis sources to read? (Called only once the service's schema exists.)"""
    return (
        db.scalar('SELECT 1 FROM firehose_buffer LIMIT 1') is not None
        or db.scalar("SELECT 1 FROM firehose_streams WHERE type = 'KinesisStreamAsSource' LIMIT 1") is not None
    )
