"""SQS's tables and queries: the only place its SQL lives.

Times in the message table are epoch milliseconds. A message is visible when
`visible_at <= now`; it is in flight when it is invisible and has been received
(`receive_count > 0`), delayed when invisible and never received. Expiry (retention) is
judged against `sent_at` with the queue's current retention period, so a changed
MessageRetentionPeriod applies to messages already in the queue, as on AWS.
"""

from __future__ import annotations

import orjson

from overcast.storage import Database

SCHEMA = "sqs"  # its version row in schema_versions
MIGRATIONS = [
    """
    CREATE TABLE sqs_queues (
        id INTEGER PRIMARY KEY,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        attributes TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '{}',
        created INTEGER NOT NULL,
        modified INTEGER NOT NULL,
        purged_at REAL,
        UNIQUE (account, region, name)
    );
    CREATE TABLE sqs_deleted_queues (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        deleted_at REAL NOT NULL,
        PRIMARY KEY (account, region, name)
    );
    CREATE TABLE sqs_messages (
        id INTEGER PRIMARY KEY,
        queue_id INTEGER NOT NULL,
        message_id TEXT NOT NULL,
        body TEXT NOT NULL,
        md5 TEXT NOT NULL,
        attributes TEXT,
        md5_attributes TEXT,
        system_attributes TEXT,
        md5_system TEXT,
        sent_at INTEGER NOT NULL,
        visible_at INTEGER NOT NULL,
        receive_count INTEGER NOT NULL DEFAULT 0,
        first_receive_at INTEGER,
        group_id TEXT,
        dedup_id TEXT,
        seq TEXT,
        sender_id TEXT,
        dlq_source TEXT
    );
    CREATE INDEX sqs_messages_visible ON sqs_messages (queue_id, visible_at);
    CREATE INDEX sqs_messages_groups ON sqs_messages (queue_id, id) WHERE group_id IS NOT NULL;
    CREATE TABLE sqs_dedup (
        queue_id INTEGER NOT NULL,
        dedup_key TEXT NOT NULL,
        message_id TEXT NOT NULL,
        seq TEXT,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (queue_id, dedup_key)
    );
    CREATE TABLE sqs_receive_attempts (
        queue_id INTEGER NOT NULL,
        attempt_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        result TEXT NOT NULL,
        PRIMARY KEY (queue_id, attempt_id)
    );
    CREATE TABLE sqs_move_tasks (
        task_id TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        source_arn TEXT NOT NULL,
        destination_arn TEXT,
        max_per_second INTEGER,
        status TEXT NOT NULL,
        moved INTEGER NOT NULL DEFAULT 0,
        to_move INTEGER,
        last_row INTEGER NOT NULL,
        failure_reason TEXT,
        started_at INTEGER NOT NULL
    );
    CREATE INDEX sqs_move_tasks_source ON sqs_move_tasks (source_arn, started_at);
    """,
    # a FIFO receive looks up whether a message is the first of its group (fifo_visible_page)
    """
    CREATE INDEX sqs_messages_group_order ON sqs_messages (queue_id, group_id, id) WHERE group_id IS NOT NULL;
    """,
    # a FIFO queue deduplicates with the DeduplicationScope it was created with (NULL: its attribute's)
    """
    ALTER TABLE sqs_queues ADD COLUMN dedup_scope TEXT;
    """,
    # FIFO receives no longer walk a queue's messages in send order (sqs_messages_group_order
    # serves them): one index less to write per FIFO message
    """
    DROP INDEX IF EXISTS sqs_messages_groups;
    """,
]

MESSAGE_COLUMNS = (
    "id, message_id, body, md5, attributes, md5_attributes, system_attributes, md5_system, sent_at, "
    "receive_count, first_receive_at, group_id, dedup_id, seq, sender_id, dlq_source, visible_at"
)

_INSERT_MESSAGE = (
    "INSERT INTO sqs_messages (queue_id, message_id, body, md5, attributes, md5_attributes, system_attributes, "
    "md5_system, sent_at, visible_at, group_id, dedup_id, seq, sender_id, dlq_source) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class SqsStore:
    def __init__(self, db: Database):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)

    def transaction(self):
        return self.db.transaction()

    # -- queues ------------------------------------------------------------------------------

    def get_queue(self, account: str, region: str, name: str) -> tuple | None:
        return self.db.query_one(
            "SELECT id, attributes, tags, created, modified, purged_at, dedup_scope FROM sqs_queues "
            "WHERE account = ? AND region = ? AND name = ?",
            (account, region, name),
        )

    def create_queue(self, account: str, region: str, name: str, attributes: dict, tags: dict, now: int,
                     dedup_scope: str | None = None) -> int:
        with self.db.transaction():
            self.db.execute(
                "DELETE FROM sqs_deleted_queues WHERE account = ? AND region = ? AND name = ?", (account, region, name)
            )
            return self.db.insert(
                "INSERT INTO sqs_queues (account, region, name, attributes, tags, created, modified, dedup_scope) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (account, region, name, orjson.dumps(attributes).decode(), orjson.dumps(tags).decode(), now, now,
                 dedup_scope),
            )

    def deleted_at(self, account: str, region: str, name: str) -> float | None:
        return self.db.scalar(
            "SELECT deleted_at FROM sqs_deleted_queues WHERE account = ? AND region = ? AND name = ?",
            (account, region, name),
        )

    def delete_queue(self, queue_id: int, account: str, region: str, name: str, now: float) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM sqs_queues WHERE id = ?", (queue_id,))
            self.db.execute("DELETE FROM sqs_messages WHERE queue_id = ?", (queue_id,))
            self.db.execute("DELETE FROM sqs_dedup WHERE queue_id = ?", (queue_id,))
            self.db.execute("DELETE FROM sqs_receive_attempts WHERE queue_id = ?", (queue_id,))
            self.db.execute(
                "INSERT INTO sqs_deleted_queues (account, region, name, deleted_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (account, region, name) DO UPDATE SET deleted_at = excluded.deleted_at",
                (account, region, name, now),
            )

    def update_attributes(self, queue_id: int, attributes: dict, now: int) -> None:
        self.db.execute(
            "UPDATE sqs_queues SET attributes = ?, modified = ? WHERE id = ?",
            (orjson.dumps(attributes).decode(), now, queue_id),
        )

    def tagged(self, account: str, region: str) -> list[tuple]:
        """(name, tags as stored) of the queues of an account's region that have tags, for the
        Resource Groups Tagging API."""
        return self.db.query("SELECT name, tags FROM sqs_queues WHERE account = ? AND region = ? AND tags != '{}' ORDER BY name", (account, region))

    def update_tags(self, queue_id: int, tags: dict) -> None:
        self.db.execute("UPDATE sqs_queues SET tags = ? WHERE id = ?", (orjson.dumps(tags).decode(), queue_id))

    def list_queue_names(self, account: str, region: str, prefix: str, after: str, limit: int) -> list[str]:
        rows = self.db.query(
            "SELECT name FROM sqs_queues WHERE account = ? AND region = ? AND name >= ? AND name < ? AND name > ? "
            "ORDER BY name LIMIT ?",
            (account, region, prefix, prefix + "\U0010ffff", after, limit),
        )
        return [r[0] for r in rows]

    def queues_with_attribute_text(self, account: str, region: str, text: str) -> list[tuple[str, str]]:
        """(name, attributes JSON) of the queues whose attributes mention `text` (a DLQ ARN)."""
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return self.db.query(
            "SELECT name, attributes FROM sqs_queues WHERE account = ? AND region = ? AND attributes LIKE ? ESCAPE '\\' "
            "ORDER BY name",
            (account, region, pattern),
        )

    def set_purged(self, queue_id: int, now: float) -> None:
        with self.db.transaction():
            self.db.execute("UPDATE sqs_queues SET purged_at = ? WHERE id = ?", (now, queue_id))
            self.db.execute("DELETE FROM sqs_messages WHERE queue_id = ?", (queue_id,))
            # a purge forgets the deduplication ids too: the same id is accepted again (as on AWS)
            self.db.execute("DELETE FROM sqs_dedup WHERE queue_id = ?", (queue_id,))

    # -- messages ----------------------------------------------------------------------------

    def insert_message(self, row: tuple) -> int:
        """row = (queue_id, message_id, body, md5, attributes, md5_attributes, system_attributes,
        md5_system, sent_at, visible_at, group_id, dedup_id, seq, sender_id, dlq_source)."""
        return self.db.insert(_INSERT_MESSAGE, row)

    async def insert_message_pipelined(self, row: tuple) -> None:
        """insert_message, awaited in the database's pipeline (PostgreSQL: storage/pipeline.py)."""
        await self.db.pipeline.query(_INSERT_MESSAGE, row)

    def insert_messages(self, rows: list[tuple]) -> None:
        self.db.execute_many(_INSERT_MESSAGE, rows)

    def find_duplicate(self, queue_id: int, key: str, now: int) -> tuple | None:
        return self.db.query_one(
            "SELECT message_id, seq FROM sqs_dedup WHERE queue_id = ? AND dedup_key = ? AND expires_at > ?",
            (queue_id, key, now),
        )

    def remember_dedup(self, queue_id: int, key: str, message_id: str, seq: str | None, expires_at: int) -> None:
        self.db.execute(
            "INSERT INTO sqs_dedup (queue_id, dedup_key, message_id, seq, expires_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (queue_id, dedup_key) DO UPDATE SET message_id = excluded.message_id, seq = excluded.seq, "
            "expires_at = excluded.expires_at",
            (queue_id, key, message_id, seq, expires_at),
        )

    def purge_dedup(self, now: int) -> None:
        self.db.execute("DELETE FROM sqs_dedup WHERE expires_at <= ?", (now,))

    def visible_messages(self, queue_id: int, now: int, sent_after: int, limit: int) -> list[tuple]:
        return self.db.query(
            f"SELECT {MESSAGE_COLUMNS} FROM sqs_messages WHERE queue_id = ? AND visible_at <= ? AND sent_at > ? "
            "ORDER BY visible_at, id LIMIT ?",
            (queue_id, now, sent_after, limit),
        )

    def messages_after(self, queue_id: int, after_id: int, sent_after: int, limit: int) -> list[tuple]:
        """Every unexpired message, visible or not, in the order sent (the console's peek)."""
        return self.db.query(
            f"SELECT {MESSAGE_COLUMNS} FROM sqs_messages WHERE queue_id = ? AND id > ? AND sent_at > ? "
            "ORDER BY id LIMIT ?",
            (queue_id, after_id, sent_after, limit),
        )

    def fifo_visible_page(self, queue_id: int, now: int, sent_after: int, after: tuple[int, int],
                          limit: int, firsts_only: bool = False) -> list[tuple]:
        """A page of a FIFO queue's visible messages in the order they became visible, after the
        (visible_at, id) `after`: (id, group_id, visible_at, whether it is the first unexpired
        message of its group). `firsts_only`: only those first messages, however many others the
        scan passes over."""
        first = ("NOT EXISTS (SELECT 1 FROM sqs_messages e WHERE e.queue_id = h.queue_id AND e.group_id = h.group_id "
                 "AND e.id < h.id AND e.sent_at > ?)")
        return self.db.query(
            f"SELECT h.id, h.group_id, h.visible_at, {'1' if firsts_only else first} FROM sqs_messages h "
            "WHERE h.queue_id = ? AND h.visible_at <= ? AND h.sent_at > ? AND h.group_id IS NOT NULL "
            f"AND (h.visible_at > ? OR (h.visible_at = ? AND h.id > ?)) {'AND ' + first if firsts_only else ''} "
            "ORDER BY h.visible_at, h.id LIMIT ?",
            (*(() if firsts_only else (sent_after,)), queue_id, now, sent_after, after[0], after[0], after[1],
             *((sent_after,) if firsts_only else ()), limit),
        )

    def group_messages(self, queue_id: int, group_id: str, from_id: int, limit: int) -> list[tuple]:
        """A FIFO group's messages from `from_id` on, in send order."""
        return self.db.query(
            f"SELECT {MESSAGE_COLUMNS} FROM sqs_messages WHERE queue_id = ? AND group_id = ? AND id >= ? "
            "ORDER BY id LIMIT ?",
            (queue_id, group_id, from_id, limit),
        )

    def mark_received(self, ids: list[int], visible_at: int, now: int) -> None:
        marks = ",".join("?" * len(ids))
        self.db.execute(
            f"UPDATE sqs_messages SET visible_at = ?, receive_count = receive_count + 1, "
            f"first_receive_at = COALESCE(first_receive_at, ?) WHERE id IN ({marks})",
            (visible_at, now, *ids),
        )

    def next_visible_at(self, queue_id: int, now: int) -> int | None:
        return self.db.scalar(
            "SELECT MIN(visible_at) FROM sqs_messages WHERE queue_id = ? AND visible_at > ?", (queue_id, now)
        )

    def delete_message(self, queue_id: int, row_id: int, message_id: str) -> tuple | None:
        """Delete a message; returns its (group_id,) when it existed."""
        row = self.db.query_one(
            "SELECT group_id FROM sqs_messages WHERE id = ? AND queue_id = ? AND message_id = ?",
            (row_id, queue_id, message_id),
        )
        if row is not None:
            self.db.execute("DELETE FROM sqs_messages WHERE id = ?", (row_id,))
        return row

    def message_state(self, queue_id: int, row_id: int, message_id: str) -> tuple | None:
        """(visible_at, receive_count) of a message, or None."""
        return self.db.query_one(
            "SELECT visible_at, receive_count FROM sqs_messages WHERE id = ? AND queue_id = ? AND message_id = ?",
            (row_id, queue_id, message_id),
        )

    def set_visible_at(self, row_id: int, visible_at: int) -> None:
        self.db.execute("UPDATE sqs_messages SET visible_at = ? WHERE id = ?", (visible_at, row_id))

    def delete_expired(self, queue_id: int, sent_before: int) -> int:
        return self.db.execute("DELETE FROM sqs_messages WHERE queue_id = ? AND sent_at <= ?", (queue_id, sent_before))

    def counts(self, queue_id: int, now: int, sent_after: int) -> tuple[int, int, int]:
        """(visible, in flight, delayed) message counts."""
        row = self.db.query_one(
            "SELECT COALESCE(SUM(visible_at <= ?), 0), COALESCE(SUM(visible_at > ? AND receive_count > 0), 0), "
            "COALESCE(SUM(visible_at > ? AND receive_count = 0), 0) FROM sqs_messages WHERE queue_id = ? AND sent_at > ?",
            (now, now, now, queue_id, sent_after),
        )
        return row[0], row[1], row[2]

    def move_message(self, row: tuple, target_queue_id: int, sent_at: int, visible_at: int, dlq_source: str | None,
                     keep_fifo: bool, keep_receives: bool = False) -> None:
        """Move a message (a MESSAGE_COLUMNS row) to another queue, as a dead-letter move or a redrive.
        `keep_receives`: the message keeps its receive count and first receive time."""
        (row_id, message_id, body, md5, attributes, md5_attributes, system_attributes, md5_system, _sent,
         count, first, group_id, dedup_id, seq, sender_id, _source, _visible) = row
        if not keep_fifo:
            group_id = dedup_id = seq = None
        with self.db.transaction():
            self.db.execute("DELETE FROM sqs_messages WHERE id = ?", (row_id,))
            new_id = self.db.insert(
                _INSERT_MESSAGE,
                (target_queue_id, message_id, body, md5, attributes, md5_attributes, system_attributes, md5_system,
                 sent_at, visible_at, group_id, dedup_id, seq, sender_id, dlq_source),
            )
            if keep_receives and count:
                self.db.execute("UPDATE sqs_messages SET receive_count = ?, first_receive_at = ? WHERE id = ?",
                                (count, first, new_id))

    def movable_messages(self, queue_id: int, now: int, max_row: int, after_row: int, limit: int) -> list[tuple]:
        return self.db.query(
            f"SELECT {MESSAGE_COLUMNS} FROM sqs_messages WHERE queue_id = ? AND id > ? AND id <= ? AND visible_at <= ? "
            "ORDER BY id LIMIT ?",
            (queue_id, after_row, max_row, now, limit),
        )

    def max_message_row(self, queue_id: int) -> int:
        return self.db.scalar("SELECT COALESCE(MAX(id), 0) FROM sqs_messages WHERE queue_id = ?", (queue_id,))

    def count_messages(self, queue_id: int, max_row: int) -> int:
        return self.db.scalar("SELECT COUNT(*) FROM sqs_messages WHERE queue_id = ? AND id <= ?", (queue_id, max_row))

    # -- FIFO receive attempts ---------------------------------------------------------------

    def get_attempt(self, queue_id: int, attempt_id: str, since: int) -> str | None:
        return self.db.scalar(
            "SELECT result FROM sqs_receive_attempts WHERE queue_id = ? AND attempt_id = ? AND created_at > ?",
            (queue_id, attempt_id, since),
        )

    def save_attempt(self, queue_id: int, attempt_id: str, now: int, result: str) -> None:
        self.db.execute(
            "INSERT INTO sqs_receive_attempts (queue_id, attempt_id, created_at, result) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (queue_id, attempt_id) DO UPDATE SET created_at = excluded.created_at, result = excluded.result",
            (queue_id, attempt_id, now, result),
        )
        self.db.execute("DELETE FROM sqs_receive_attempts WHERE created_at <= ?", (now - 5 * 60 * 1000,))

    # -- message move tasks ------------------------------------------------------------------

    def insert_move_task(self, task: dict) -> None:
        self.db.execute(
            "INSERT INTO sqs_move_tasks (task_id, account, region, source_arn, destination_arn, max_per_second, status, "
            "moved, to_move, last_row, started_at) VALUES (:task_id, :account, :region, :source_arn, :destination_arn, "
            ":max_per_second, :status, 0, :to_move, :last_row, :started_at)",
            task,
        )

    def move_tasks(self, source_arn: str, limit: int) -> list[tuple]:
        return self.db.query(
            "SELECT task_id, status, source_arn, destination_arn, max_per_second, moved, to_move, failure_reason, "
            "started_at FROM sqs_move_tasks WHERE source_arn = ? ORDER BY started_at DESC, rowid DESC LIMIT ?",
            (source_arn, limit),
        )

    def move_task(self, task_id: str) -> tuple | None:
        return self.db.query_one(
            "SELECT task_id, status, account, region, source_arn, destination_arn, max_per_second, moved, last_row "
            "FROM sqs_move_tasks WHERE task_id = ?",
            (task_id,),
        )

    def running_move_tasks(self) -> list[str]:
        return [r[0] for r in self.db.query("SELECT task_id FROM sqs_move_tasks WHERE status IN ('RUNNING', 'CANCELLING')")]

    def active_move_task(self, source_arn: str) -> str | None:
        return self.db.scalar(
            "SELECT task_id FROM sqs_move_tasks WHERE source_arn = ? AND status IN ('RUNNING', 'CANCELLING')",
            (source_arn,),
        )

    def update_move_task(self, task_id: str, **fields) -> None:
        sets = ", ".join(f"{k} = ?" for k in fields)
        self.db.execute(f"UPDATE sqs_move_tasks SET {sets} WHERE task_id = ?", (*fields.values(), task_id))
