"""Kinesis Data Streams tables: streams, shards (with lineage and hash-key ranges) and records.

Sequence numbers are a per-stream counter (`kinesis_streams.last_seq`), so they increase in
commit order within every shard; the wire form is a 56-digit decimal string (see provider.py).
"""

from __future__ import annotations

import orjson

SCHEMA = "kinesis"  # its version row in schema_versions
MIGRATIONS = [
    """
    CREATE TABLE kinesis_streams (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        arn TEXT NOT NULL UNIQUE,
        mode TEXT NOT NULL,
        created REAL NOT NULL,
        ready_at REAL NOT NULL,          -- CREATING / UPDATING until then, ACTIVE after
        settling TEXT NOT NULL,          -- the status shown before ready_at
        retention_hours INTEGER NOT NULL,
        encryption TEXT NOT NULL DEFAULT 'NONE',
        key_id TEXT,
        last_seq INTEGER NOT NULL DEFAULT 0,
        next_shard INTEGER NOT NULL DEFAULT 0,
        tags TEXT NOT NULL DEFAULT '{}',
        monitoring TEXT NOT NULL DEFAULT '[]',
        UNIQUE (account, region, name)
    );
    CREATE TABLE kinesis_shards (
        stream_id INTEGER NOT NULL REFERENCES kinesis_streams(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        parent INTEGER,
        adjacent_parent INTEGER,
        start_hash TEXT NOT NULL,
        end_hash TEXT NOT NULL,
        start_seq INTEGER NOT NULL,
        end_seq INTEGER,                 -- set when the shard is closed by a reshard
        PRIMARY KEY (stream_id, idx)
    );
    CREATE TABLE kinesis_records (
        stream_id INTEGER NOT NULL,
        shard INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        pkey TEXT NOT NULL,
        data BLOB NOT NULL,
        arrival REAL NOT NULL,
        PRIMARY KEY (stream_id, shard, seq)
    ) WITHOUT ROWID;
    CREATE TABLE kinesis_consumers (
        arn TEXT PRIMARY KEY,
        stream_id INTEGER NOT NULL REFERENCES kinesis_streams(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        created REAL NOT NULL,
        UNIQUE (stream_id, name)
    );
    """,
    # the trace of the PutRecord(s) that wrote a record (an X-Ray trace header), for its consumers
    "ALTER TABLE kinesis_records ADD COLUMN trace TEXT;",
    # resource policies (PutResourcePolicy) of a stream or a consumer: they go with it when it is deleted
    "ALTER TABLE kinesis_streams ADD COLUMN policy TEXT;",
    "ALTER TABLE kinesis_consumers ADD COLUMN policy TEXT;",
]

STREAM_COLUMNS = ("id, account, region, name, arn, mode, created, ready_at, settling, retention_hours, "
                  "encryption, key_id, last_seq, next_shard, tags, monitoring")


class KinesisStore:
    def __init__(self, db):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)

    # -- streams ------------------------------------------------------------------------------

    def tagged(self, account: str, region: str) -> list[tuple]:
        """(arn, tags as stored) of the streams of an account's region that have tags, for the
        Resource Groups Tagging API."""
        return self.db.query("SELECT arn, tags FROM kinesis_streams WHERE account=? AND region=? AND tags != '{}' ORDER BY arn", (account, region))

    def create_stream(self, account, region, name, arn, mode, now, ready_at, shards, tags) -> int:
        with self.db.transaction():
            # every shard starts at its own sequence number, as on AWS (a client may tell shards
            # apart by it); records then follow all of them
            sid = self.db.insert(
                "INSERT INTO kinesis_streams(account, region, name, arn, mode, created, ready_at, settling, "
                "retention_hours, next_shard, tags, last_seq) VALUES(?,?,?,?,?,?,?,'CREATING',24,?,?,?)",
                (account, region, name, arn, mode, now, ready_at, len(shards), orjson.dumps(tags).decode(),
                 len(shards) - 1))
            self.db.execute_many(
                "INSERT INTO kinesis_shards(stream_id, idx, start_hash, end_hash, start_seq) VALUES(?,?,?,?,?)",
                [(sid, i, str(lo), str(hi), i) for i, (lo, hi) in enumerate(shards)])
        return sid

    def stream(self, account, region, name) -> tuple | None:
        return self.db.query_one(f"SELECT {STREAM_COLUMNS} FROM kinesis_streams WHERE account=? AND region=? "
                                 "AND name=?", (account, region, name))

    def stream_by_arn(self, arn) -> tuple | None:
        return self.db.query_one(f"SELECT {STREAM_COLUMNS} FROM kinesis_streams WHERE arn=?", (arn,))

    def stream_by_id(self, sid) -> tuple | None:
        return self.db.query_one(f"SELECT {STREAM_COLUMNS} FROM kinesis_streams WHERE id=?", (sid,))

    def list_streams(self, account, region) -> list[tuple]:
        return self.db.query(f"SELECT {STREAM_COLUMNS} FROM kinesis_streams WHERE account=? AND region=? "
                             "ORDER BY name", (account, region))

    def delete_stream(self, sid) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM kinesis_records WHERE stream_id=?", (sid,))
            self.db.execute("DELETE FROM kinesis_streams WHERE id=?", (sid,))

    def update_stream(self, sid, **fields) -> None:
        sets = ", ".join(f"{k}=?" for k in fields)
        self.db.execute(f"UPDATE kinesis_streams SET {sets} WHERE id=?", (*fields.values(), sid))

    # -- shards -------------------------------------------------------------------------------

    def shards(self, sid) -> list[tuple]:
        """(idx, parent, adjacent_parent, start_hash, end_hash, start_seq, end_seq), by index."""
        return self.db.query("SELECT idx, parent, adjacent_parent, start_hash, end_hash, start_seq, end_seq "
                             "FROM kinesis_shards WHERE stream_id=? ORDER BY idx", (sid,))

    def reshard(self, sid, close: list[int], children: list[tuple], ready_at: float) -> None:
        """Close the shards `close` at the stream's current sequence and open `children`
        ((idx, parent, adjacent_parent, start_hash, end_hash)), in one transaction."""
        with self.db.transaction():
            last = self.db.scalar("SELECT last_seq FROM kinesis_streams WHERE id=?", (sid,))
            self.db.execute_many("UPDATE kinesis_shards SET end_seq=? WHERE stream_id=? AND idx=?",
                                 [(last, sid, i) for i in close])
            self.db.execute_many(
                "INSERT INTO kinesis_shards(stream_id, idx, parent, adjacent_parent, start_hash, end_hash, start_seq) "
                "VALUES(?,?,?,?,?,?,?)",
                [(sid, c[0], c[1], c[2], str(c[3]), str(c[4]), last + 1 + j) for j, c in enumerate(children)])
            self.db.execute("UPDATE kinesis_streams SET next_shard=next_shard+?, ready_at=?, settling='UPDATING', "
                            "last_seq=last_seq+? WHERE id=?", (len(children), ready_at, len(children), sid))

    # -- records ------------------------------------------------------------------------------

    def put(self, sid, rows: list[tuple], trace: str | None = None) -> int:
        """rows: (shard, pkey, data, arrival); `trace`: the trace header they were written in;
        returns the first sequence number given (in order)."""
        with self.db.transaction():
            first = self.db.scalar("UPDATE kinesis_streams SET last_seq=last_seq+? WHERE id=? RETURNING last_seq",
                                   (len(rows), sid)) - len(rows) + 1
            self.db.execute_many(
                "INSERT INTO kinesis_records(stream_id, shard, seq, pkey, data, arrival, trace) VALUES(?,?,?,?,?,?,?)",
                [(sid, r[0], first + i, r[1], r[2], r[3], trace) for i, r in enumerate(rows)])
        return first

    def read_traced(self, sid, shard, after_seq, limit, oldest) -> list[tuple]:
        """(seq, pkey, data, arrival, trace header) after `after_seq`, not older than `oldest`."""
        return self.db.query("SELECT seq, pkey, data, arrival, trace FROM kinesis_records WHERE stream_id=? AND shard=? "
                             "AND seq>? AND arrival>=? ORDER BY seq LIMIT ?", (sid, shard, after_seq, oldest, limit))

    def read(self, sid, shard, after_seq, limit, oldest) -> list[tuple]:
        """(seq, pkey, data, arrival) after `after_seq`, not older than `oldest`."""
        return self.db.query("SELECT seq, pkey, data, arrival FROM kinesis_records WHERE stream_id=? AND shard=? "
                             "AND seq>? AND arrival>=? ORDER BY seq LIMIT ?", (sid, shard, after_seq, oldest, limit))

    def last_in_shard(self, sid, shard) -> tuple | None:
        return self.db.query_one("SELECT seq, arrival FROM kinesis_records WHERE stream_id=? AND shard=? "
                                 "ORDER BY seq DESC LIMIT 1", (sid, shard))

    def seq_at(self, sid, shard, timestamp) -> int:
        """The last sequence number before `timestamp` in the shard (records at or after it follow)."""
        row = self.db.query_one("SELECT seq FROM kinesis_records WHERE stream_id=? AND shard=? AND arrival<? "
                                "ORDER BY seq DESC LIMIT 1", (sid, shard, timestamp))
        return row[0] if row else 0

    def purge(self, sid, oldest) -> None:
        self.db.execute("DELETE FROM kinesis_records WHERE stream_id=? AND arrival<?", (sid, oldest))

    # -- consumers ----------------------------------------------------------------------------

    def add_consumer(self, arn, sid, name, now) -> None:
        self.db.execute("INSERT INTO kinesis_consumers(arn, stream_id, name, created) VALUES(?,?,?,?)",
                        (arn, sid, name, now))

    def consumers(self, sid) -> list[tuple]:
        return self.db.query("SELECT arn, name, created FROM kinesis_consumers WHERE stream_id=? ORDER BY created",
                             (sid,))

    def consumer(self, sid, name=None, arn=None) -> tuple | None:
        if arn is not None:
            return self.db.query_one("SELECT arn, name, created, stream_id FROM kinesis_consumers WHERE arn=?",
                                     (arn,))
        return self.db.query_one("SELECT arn, name, created, stream_id FROM kinesis_consumers WHERE stream_id=? "
                                 "AND name=?", (sid, name))

    # -- resource policies ----------------------------------------------------------------------

    def policy(self, arn) -> tuple[bool, str | None]:
        """(whether a stream or consumer has this ARN, its resource policy's text or None)."""
        for table in ("kinesis_streams", "kinesis_consumers"):
            row = self.db.query_one(f"SELECT policy FROM {table} WHERE arn=?", (arn,))
            if row is not None:
                return True, row[0]
        return False, None

    def set_policy(self, arn, policy: str | None) -> None:
        with self.db.transaction():
            for table in ("kinesis_streams", "kinesis_consumers"):
                self.db.execute(f"UPDATE {table} SET policy=? WHERE arn=?", (policy, arn))

    def delete_consumer(self, arn) -> None:
        self.db.execute("DELETE FROM kinesis_consumers WHERE arn=?", (arn,))
