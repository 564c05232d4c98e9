"""Event source mappings' tables: the mappings themselves and each stream shard's checkpoint."""

from __future__ import annotations

import orjson

SCHEMA = "esm"  # its version row in schema_versions
MIGRATIONS = [
    """
    CREATE TABLE esm_mappings (
        uuid TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        function_arn TEXT NOT NULL,
        source_arn TEXT NOT NULL,
        state TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX esm_mappings_scope ON esm_mappings(account, region);
    CREATE TABLE esm_checkpoints (
        uuid TEXT NOT NULL,
        shard TEXT NOT NULL,
        sequence TEXT,
        PRIMARY KEY (uuid, shard)
    );
    """,
    """
    ALTER TABLE esm_checkpoints ADD COLUMN window TEXT;
    """,
    # a mapping's tags: a column of their own, so that pollers writing the mapping's state never touch them
    "ALTER TABLE esm_mappings ADD COLUMN tags TEXT NOT NULL DEFAULT '{}';",
]


class MappingsStore:
    def __init__(self, db):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)

    def put(self, doc: dict, account: str, region: str) -> None:
        self.db.execute(
            "INSERT INTO esm_mappings(uuid, account, region, function_arn, source_arn, state, doc) VALUES(?,?,?,?,?,?,?) "
            "ON CONFLICT(uuid) DO UPDATE SET function_arn = excluded.function_arn, state = excluded.state, "
            "doc = excluded.doc",
            (doc["UUID"], account, region, doc["FunctionArn"], doc["EventSourceArn"], doc["State"],
             orjson.dumps(doc).decode()))

    def get(self, uuid: str) -> tuple[dict, str, str] | None:
        row = self.db.query_one("SELECT doc, account, region FROM esm_mappings WHERE uuid = ?", (uuid,))
        return (orjson.loads(row[0]), row[1], row[2]) if row else None

    def tags(self, uuid: str) -> dict:
        return orjson.loads(self.db.scalar("SELECT tags FROM esm_mappings WHERE uuid = ?", (uuid,)) or "{}")

    def put_tags(self, uuid: str, tags: dict) -> None:
        self.db.execute("UPDATE esm_mappings SET tags = ? WHERE uuid = ?", (orjson.dumps(tags).decode(), uuid))

    def list(self, account: str, region: str) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM esm_mappings WHERE account = ? AND region = ? ORDER BY rowid", (account, region))]

    def all(self) -> list[tuple[dict, str, str]]:
        return [(orjson.loads(r[0]), r[1], r[2]) for r in self.db.query(
            "SELECT doc, account, region FROM esm_mappings ORDER BY rowid")]

    def delete(self, uuid: str) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM esm_checkpoints WHERE uuid = ?", (uuid,))
            self.db.execute("DELETE FROM esm_mappings WHERE uuid = ?", (uuid,))

    def checkpoint(self, uuid: str, shard: str) -> tuple[bool, str | None]:
        """(known, sequence): whether a checkpoint exists, and the last processed sequence."""
        row = self.db.query_one("SELECT sequence FROM esm_checkpoints WHERE uuid = ? AND shard = ?", (uuid, shard))
        return (row is not None, row[0] if row else None)

    def window(self, uuid: str, shard: str) -> dict | None:
        """A tumbling window in progress: {"start": epoch seconds, "state": {...}}."""
        text = self.db.scalar("SELECT window FROM esm_checkpoints WHERE uuid = ? AND shard = ?", (uuid, shard))
        return orjson.loads(text) if text else None

    def save_window(self, uuid: str, shard: str, window: dict | None) -> None:
        self.db.execute("UPDATE esm_checkpoints SET window = ? WHERE uuid = ? AND shard = ?",
                        (orjson.dumps(window).decode() if window is not None else None, uuid, shard))

    def save_checkpoint(self, uuid: str, shard: str, sequence: str | None) -> None:
        self.db.execute("INSERT INTO esm_checkpoints(uuid, shard, sequence) VALUES(?,?,?) ON CONFLICT(uuid, shard) "
                        "DO UPDATE SET sequence = excluded.sequence", (uuid, shard, sequence))


def has_pending_work(db) -> bool:
    """At start-up: event source mappings whose pollers must run? (Called only once the service's schema exists.)"""
    return db.scalar("SELECT 1 FROM esm_mappings WHERE state IN ('Enabled', 'Enabling', 'Creating', 'Updating') LIMIT 1") is not None
