"""EventBridge Scheduler's tables: schedule groups, schedules and pending target invocations."""

from __future__ import annotations

import orjson

SCHEMA = "scheduler"  # its version row in schema_versions
MIGRATIONS = [
    """
    CREATE TABLE scheduler_groups (
        arn TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX scheduler_groups_scope ON scheduler_groups(account, region, name);
    CREATE TABLE scheduler_schedules (
        arn TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        grp TEXT NOT NULL,
        name TEXT NOT NULL,
        state TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX scheduler_schedules_scope ON scheduler_schedules(account, region, grp, name);
    CREATE TABLE scheduler_deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        first_at REAL NOT NULL,
        next_at REAL NOT NULL
    );
    """,
]


class SchedulerStore:
    def __init__(self, db):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)

    def transaction(self):
        return self.db.transaction()

    def put_group(self, arn, account, region, name, doc: dict) -> None:
        self.db.execute("INSERT INTO scheduler_groups(arn, account, region, name, doc) VALUES(?,?,?,?,?) "
                        "ON CONFLICT(arn) DO UPDATE SET doc = excluded.doc",
                        (arn, account, region, name, orjson.dumps(doc).decode()))

    def get_group(self, arn: str) -> dict | None:
        row = self.db.query_one("SELECT doc FROM scheduler_groups WHERE arn = ?", (arn,))
        return orjson.loads(row[0]) if row else None

    def list_groups(self, account, region) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM scheduler_groups WHERE account = ? AND region = ? ORDER BY name", (account, region))]

    def delete_group(self, arn: str, account, region, name) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM scheduler_schedules WHERE account = ? AND region = ? AND grp = ?",
                            (account, region, name))
            self.db.execute("DELETE FROM scheduler_groups WHERE arn = ?", (arn,))

    def put_schedule(self, arn, account, region, group, name, state, doc: dict) -> None:
        self.db.execute("INSERT INTO scheduler_schedules(arn, account, region, grp, name, state, doc) "
                        "VALUES(?,?,?,?,?,?,?) ON CONFLICT(arn) DO UPDATE SET state = excluded.state, doc = excluded.doc",
                        (arn, account, region, group, name, state, orjson.dumps(doc).decode()))

    def get_schedule(self, arn: str) -> dict | None:
        row = self.db.query_one("SELECT doc FROM scheduler_schedules WHERE arn = ?", (arn,))
        return orjson.loads(row[0]) if row else None

    def list_schedules(self, account, region) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM scheduler_schedules WHERE account = ? AND region = ? ORDER BY grp, name",
            (account, region))]

    def schedules_in_group(self, account, region, group) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM scheduler_schedules WHERE account = ? AND region = ? AND grp = ?", (account, region, group))]

    def all_enabled(self) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query("SELECT doc FROM scheduler_schedules WHERE state = 'ENABLED'")]

    def delete_schedule(self, arn: str) -> int:
        return self.db.execute("DELETE FROM scheduler_schedules WHERE arn = ?", (arn,))

    def add_delivery(self, job: dict, now: float) -> int:
        return self.db.insert("INSERT INTO scheduler_deliveries(job, first_at, next_at) VALUES(?,?,?)",
                              (orjson.dumps(job).decode(), now, now))

    def pending_deliveries(self) -> list[tuple[int, float]]:
        return self.db.query("SELECT id, next_at FROM scheduler_deliveries ORDER BY id")

    def get_delivery(self, delivery_id: int):
        row = self.db.query_one("SELECT job, attempts, first_at FROM scheduler_deliveries WHERE id = ?", (delivery_id,))
        return (orjson.loads(row[0]), row[1], row[2]) if row else None

    def retry_delivery(self, delivery_id: int, attempts: int, next_at: float) -> None:
        self.db.execute("UPDATE scheduler_deliveries SET attempts = ?, next_at = ? WHERE id = ?",
                        (attempts, next_at, delivery_id))

    def delete_delivery(self, delivery_id: int) -> None:
        self.db.execute("DELETE FROM scheduler_deliveries WHERE id = ?", (delivery_id,))


def has_pending_work(db) -> bool:
    """At start-up: enabled schedules to arm? (Called only once the service's schema exists.)"""
    return db.scalar("SELECT 1 FROM scheduler_schedules WHERE state = 'ENABLED' LIMIT 1") is not None
