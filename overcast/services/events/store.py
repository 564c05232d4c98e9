"""EventBridge's tables: buses, rules, targets, pending deliveries, archives (with their events),
replays, connections and API destinations. Resources other than rules and targets are stored as
one JSON document each in `events_resources`, keyed by kind and ARN."""

from __future__ import annotations

import orjson

SCHEMA = "events"  # its version row in schema_versions
MIGRATIONS = [
    """
    CREATE TABLE events_rules (
        arn TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        bus TEXT NOT NULL,
        name TEXT NOT NULL,
        pattern TEXT,
        schedule TEXT,
        state TEXT NOT NULL,
        doc TEXT NOT NULL,
        created REAL NOT NULL
    );
    CREATE INDEX events_rules_bus ON events_rules(account, region, bus, name);
    CREATE TABLE events_targets (
        rule_arn TEXT NOT NULL,
        id TEXT NOT NULL,
        doc TEXT NOT NULL,
        PRIMARY KEY (rule_arn, id)
    );
    CREATE TABLE events_resources (
        kind TEXT NOT NULL,
        arn TEXT NOT NULL,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        doc TEXT NOT NULL,
        PRIMARY KEY (kind, arn)
    );
    CREATE INDEX events_resources_scope ON events_resources(kind, account, region, name);
    CREATE TABLE events_deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        first_at REAL NOT NULL,
        next_at REAL NOT NULL
    );
    CREATE TABLE events_archived (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        archive_arn TEXT NOT NULL,
        time REAL NOT NULL,
        event TEXT NOT NULL
    );
    CREATE INDEX events_archived_time ON events_archived(archive_arn, time);
    """,
]


class EventsStore:
    def __init__(self, db):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)

    def transaction(self):
        return self.db.transaction()

    # rules
    def put_rule(self, arn, account, region, bus, name, pattern, schedule, state, doc: dict, created: float) -> None:
        self.db.execute(
            "INSERT INTO events_rules(arn, account, region, bus, name, pattern, schedule, state, doc, created) "
            "VALUES(?,?,?,?,?,?,?,?,?,?) ON CONFLICT(arn) DO UPDATE SET pattern = excluded.pattern, "
            "schedule = excluded.schedule, state = excluded.state, doc = excluded.doc",
            (arn, account, region, bus, name, pattern, schedule, state, orjson.dumps(doc).decode(), created))

    def tagged_docs(self, account: str, region: str) -> list[tuple]:
        """(arn, doc) of the account's rules and event buses in `region` (their tags are in the
        doc), for the Resource Groups Tagging API."""
        return self.db.query("SELECT arn, doc FROM events_rules WHERE account=? AND region=? UNION ALL "
                             "SELECT arn, doc FROM events_resources WHERE kind='bus' AND account=? AND region=?",
                             (account, region, account, region))

    def get_rule(self, arn: str) -> dict | None:
        row = self.db.query_one("SELECT doc, created FROM events_rules WHERE arn = ?", (arn,))
        if row is None:
            return None
        doc = orjson.loads(row[0])
        doc["_created"] = row[1]
        return doc

    def rules_of_bus(self, account, region, bus) -> list[dict]:
        rows = self.db.query("SELECT doc, created FROM events_rules WHERE account = ? AND region = ? AND bus = ? "
                             "ORDER BY name", (account, region, bus))
        out = []
        for doc, created in rows:
            doc = orjson.loads(doc)
            doc["_created"] = created
            out.append(doc)
        return out

    def scheduled_rules(self) -> list[dict]:
        out = []
        for doc, created in self.db.query("SELECT doc, created FROM events_rules WHERE schedule IS NOT NULL"):
            doc = orjson.loads(doc)
            doc["_created"] = created
            out.append(doc)
        return out

    def delete_rule(self, arn: str) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM events_targets WHERE rule_arn = ?", (arn,))
            self.db.execute("DELETE FROM events_rules WHERE arn = ?", (arn,))

    # targets
    def targets(self, rule_arn: str) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM events_targets WHERE rule_arn = ? ORDER BY rowid", (rule_arn,))]  # as put

    def put_target(self, rule_arn: str, target: dict) -> None:
        self.db.execute("INSERT INTO events_targets(rule_arn, id, doc) VALUES(?,?,?) ON CONFLICT(rule_arn, id) "
                        "DO UPDATE SET doc = excluded.doc", (rule_arn, target["Id"], orjson.dumps(target).decode()))

    def delete_target(self, rule_arn: str, target_id: str) -> int:
        return self.db.execute("DELETE FROM events_targets WHERE rule_arn = ? AND id = ?", (rule_arn, target_id))

    def rules_with_target(self, account, region, bus, target_arn) -> list[str]:
        return [r[0] for r in self.db.query(
            "SELECT DISTINCT r.name FROM events_rules r JOIN events_targets t ON t.rule_arn = r.arn "
            "WHERE r.account = ? AND r.region = ? AND r.bus = ? AND json_extract(t.doc, '$.Arn') = ? ORDER BY r.name",
            (account, region, bus, target_arn))]

    # generic resources (buses, archives, replays, connections, API destinations)
    def put(self, kind: str, arn: str, account: str, region: str, name: str, doc: dict) -> None:
        self.db.execute("INSERT INTO events_resources(kind, arn, account, region, name, doc) VALUES(?,?,?,?,?,?) "
                        "ON CONFLICT(kind, arn) DO UPDATE SET doc = excluded.doc",
                        (kind, arn, account, region, name, orjson.dumps(doc).decode()))

    def get(self, kind: str, arn: str) -> dict | None:
        row = self.db.query_one("SELECT doc FROM events_resources WHERE kind = ? AND arn = ?", (kind, arn))
        return orjson.loads(row[0]) if row else None

    def list(self, kind: str, account: str, region: str) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM events_resources WHERE kind = ? AND account = ? AND region = ? ORDER BY name",
            (kind, account, region))]

    def every(self, kind: str) -> list[dict]:
        """Every resource of a kind, in every account and Region."""
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM events_resources WHERE kind = ? ORDER BY arn", (kind,))]

    def delete(self, kind: str, arn: str) -> int:
        return self.db.execute("DELETE FROM events_resources WHERE kind = ? AND arn = ?", (kind, arn))

    # deliveries
    def add_delivery(self, job: dict, now: float) -> int:
        return self.db.insert("INSERT INTO events_deliveries(job, first_at, next_at) VALUES(?,?,?)",
                              (orjson.dumps(job).decode(), now, now))

    def pending_deliveries(self) -> list[tuple[int, float]]:
        return self.db.query("SELECT id, next_at FROM events_deliveries ORDER BY id")

    def get_delivery(self, delivery_id: int) -> tuple[dict, int, float] | None:
        row = self.db.query_one("SELECT job, attempts, first_at FROM events_deliveries WHERE id = ?", (delivery_id,))
        return (orjson.loads(row[0]), row[1], row[2]) if row else None

    def retry_delivery(self, delivery_id: int, attempts: int, next_at: float) -> None:
        self.db.execute("UPDATE events_deliveries SET attempts = ?, next_at = ? WHERE id = ?",
                        (attempts, next_at, delivery_id))

    def delete_delivery(self, delivery_id: int) -> None:
        self.db.execute("DELETE FROM events_deliveries WHERE id = ?", (delivery_id,))

    # archives
    def archive(self, archive_arn: str, when: float, event: str) -> None:
        self.db.execute("INSERT INTO events_archived(archive_arn, time, event) VALUES(?,?,?)", (archive_arn, when, event))

    def archived(self, archive_arn: str, start: float, end: float) -> list[str]:
        return [r[0] for r in self.db.query(
            "SELECT event FROM events_archived WHERE archive_arn = ? AND time >= ? AND time <= ? ORDER BY id",
            (archive_arn, start, end))]

    def archive_stats(self, archive_arn: str) -> tuple[int, int]:
        row = self.db.query_one("SELECT COUNT(*), COALESCE(SUM(LENGTH(event)), 0) FROM events_archived "
                                "WHERE archive_arn = ?", (archive_arn,))
        return row[0], row[1]

    def expire_archived(self, archive_arn: str, before: float) -> None:
        self.db.execute("DELETE FROM events_archived WHERE archive_arn = ? AND time < ?", (archive_arn, before))

    def drop_archive(self, archive_arn: str) -> None:
        self.db.execute("DELETE FROM events_archived WHERE archive_arn = ?", (archive_arn,))


def has_pending_work(db) -> bool:
    """At start-up: scheduled rules to arm and target deliveries not yet made? (Called only once the service's schema exists.)"""
    return (
        db.scalar("SELECT 1 FROM events_rules WHERE schedule IS NOT NULL AND state = 'ENABLED' LIMIT 1") is not None
        or db.scalar('SELECT 1 FROM events_deliveries LIMIT 1') is not None
    )
