"""SNS's tables: topics, subscriptions, pending deliveries, FIFO deduplication, and the email/SMS
messages overcast records instead of sending."""

from __future__ import annotations

import orjson

SCHEMA = "sns"  # its version row in schema_versions
MIGRATIONS = [
    """
    CREATE TABLE sns_topics (
        arn TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        attributes TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '{}',
        seq INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX sns_topics_scope ON sns_topics(account, region, name);
    CREATE TABLE sns_subscriptions (
        arn TEXT PRIMARY KEY,
        topic_arn TEXT NOT NULL,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        owner TEXT NOT NULL,
        protocol TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        attributes TEXT NOT NULL,
        confirmed INTEGER NOT NULL,
        token TEXT
    );
    CREATE INDEX sns_subscriptions_topic ON sns_subscriptions(topic_arn);
    CREATE INDEX sns_subscriptions_scope ON sns_subscriptions(account, region);
    CREATE TABLE sns_deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        subscription_arn TEXT NOT NULL,
        job TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at REAL NOT NULL
    );
    CREATE TABLE sns_dedup (
        topic_arn TEXT NOT NULL,
        dedup_key TEXT NOT NULL,
        message_id TEXT NOT NULL,
        sequence TEXT,
        expires REAL NOT NULL,
        PRIMARY KEY (topic_arn, dedup_key)
    );
    CREATE TABLE sns_recorded (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        topic_arn TEXT,
        subscription_arn TEXT,
        protocol TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        message_id TEXT NOT NULL,
        subject TEXT,
        message TEXT NOT NULL,
        attributes TEXT,
        timestamp TEXT NOT NULL
    );
    """,
    """
    CREATE TABLE sns_sms_settings (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        attributes TEXT NOT NULL,
        PRIMARY KEY (account, region)
    );
    """,
    """
    CREATE TABLE sns_platform_apps (
        arn TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        attributes TEXT NOT NULL
    );
    CREATE INDEX sns_platform_apps_scope ON sns_platform_apps(account, region);
    CREATE TABLE sns_platform_endpoints (
        arn TEXT PRIMARY KEY,
        app_arn TEXT NOT NULL,
        attributes TEXT NOT NULL
    );
    CREATE INDEX sns_platform_endpoints_app ON sns_platform_endpoints(app_arn);
    """,
]


class SnsStore:
    def __init__(self, db):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)

    def transaction(self):
        return self.db.transaction()

    # topics
    def get_topic(self, arn: str) -> tuple | None:
        row = self.db.query_one("SELECT arn, account, region, name, attributes, tags FROM sns_topics WHERE arn = ?", (arn,))
        if row is None:
            return None
        return row[0], row[1], row[2], row[3], orjson.loads(row[4]), orjson.loads(row[5])

    def tagged(self, account: str, region: str) -> list[tuple]:
        """(arn, tags as stored) of the topics of an account's region that have tags, for the
        Resource Groups Tagging API."""
        return self.db.query("SELECT arn, tags FROM sns_topics WHERE account = ? AND region = ? AND tags != '{}' ORDER BY arn", (account, region))

    def put_topic(self, arn, account, region, name, attributes: dict, tags: dict) -> None:
        self.db.execute(
            "INSERT INTO sns_topics(arn, account, region, name, attributes, tags) VALUES(?,?,?,?,?,?) "
            "ON CONFLICT(arn) DO UPDATE SET attributes = excluded.attributes, tags = excluded.tags",
            (arn, account, region, name, orjson.dumps(attributes).decode(), orjson.dumps(tags).decode()),
        )

    def delete_topic(self, arn: str) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM sns_subscriptions WHERE topic_arn = ?", (arn,))
            self.db.execute("DELETE FROM sns_dedup WHERE topic_arn = ?", (arn,))
            self.db.execute("DELETE FROM sns_topics WHERE arn = ?", (arn,))

    def list_topics(self, account, region, after: str, limit: int) -> list[str]:
        return [r[0] for r in self.db.query(
            "SELECT arn FROM sns_topics WHERE account = ? AND region = ? AND arn > ? ORDER BY arn LIMIT ?",
            (account, region, after, limit))]

    def next_sequence(self, arn: str) -> int:
        self.db.execute("UPDATE sns_topics SET seq = seq + 1 WHERE arn = ?", (arn,))
        return self.db.scalar("SELECT seq FROM sns_topics WHERE arn = ?", (arn,))

    # SMS settings (SetSMSAttributes), per account and region
    def sms_settings(self, account: str, region: str) -> dict:
        row = self.db.query_one("SELECT attributes FROM sns_sms_settings WHERE account = ? AND region = ?",
                                (account, region))
        return orjson.loads(row[0]) if row else {}

    def put_sms_settings(self, account: str, region: str, attributes: dict) -> None:
        self.db.execute(
            "INSERT INTO sns_sms_settings(account, region, attributes) VALUES(?,?,?) "
            "ON CONFLICT(account, region) DO UPDATE SET attributes = excluded.attributes",
            (account, region, orjson.dumps(attributes).decode()))

    # mobile push: platform applications and their endpoints
    def get_app(self, arn: str) -> dict | None:
        row = self.db.query_one("SELECT attributes FROM sns_platform_apps WHERE arn = ?", (arn,))
        return orjson.loads(row[0]) if row else None

    def put_app(self, arn: str, account: str, region: str, attributes: dict) -> None:
        self.db.execute(
            "INSERT INTO sns_platform_apps(arn, account, region, attributes) VALUES(?,?,?,?) "
            "ON CONFLICT(arn) DO UPDATE SET attributes = excluded.attributes",
            (arn, account, region, orjson.dumps(attributes).decode()))

    def delete_app(self, arn: str) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM sns_platform_endpoints WHERE app_arn = ?", (arn,))
            self.db.execute("DELETE FROM sns_platform_apps WHERE arn = ?", (arn,))

    def list_apps(self, account: str, region: str, after: str, limit: int) -> list[tuple[str, dict]]:
        return [(r[0], orjson.loads(r[1])) for r in self.db.query(
            "SELECT arn, attributes FROM sns_platform_apps WHERE account = ? AND region = ? AND arn > ? "
            "ORDER BY arn LIMIT ?", (account, region, after, limit))]

    def get_endpoint(self, arn: str) -> dict | None:
        row = self.db.query_one("SELECT attributes FROM sns_platform_endpoints WHERE arn = ?", (arn,))
        return orjson.loads(row[0]) if row else None

    def put_endpoint(self, arn: str, app_arn: str, attributes: dict) -> None:
        self.db.execute(
            "INSERT INTO sns_platform_endpoints(arn, app_arn, attributes) VALUES(?,?,?) "
            "ON CONFLICT(arn) DO UPDATE SET attributes = excluded.attributes",
            (arn, app_arn, orjson.dumps(attributes).decode()))

    def delete_endpoint(self, arn: str) -> None:
        self.db.execute("DELETE FROM sns_platform_endpoints WHERE arn = ?", (arn,))

    def endpoints_of(self, app_arn: str, after: str, limit: int) -> list[tuple[str, dict]]:
        return [(r[0], orjson.loads(r[1])) for r in self.db.query(
            "SELECT arn, attributes FROM sns_platform_endpoints WHERE app_arn = ? AND arn > ? ORDER BY arn LIMIT ?",
            (app_arn, after, limit))]

    # subscriptions
    _SUB = "SELECT arn, topic_arn, account, region, owner, protocol, endpoint, attributes, confirmed, token FROM sns_subscriptions"

    @staticmethod
    def _sub(row) -> dict | None:
        if row is None:
            return None
        return {"arn": row[0], "topic_arn": row[1], "account": row[2], "region": row[3], "owner": row[4],
                "protocol": row[5], "endpoint": row[6], "attributes": orjson.loads(row[7]),
                "confirmed": bool(row[8]), "token": row[9]}

    def get_subscription(self, arn: str) -> dict | None:
        return self._sub(self.db.query_one(self._SUB + " WHERE arn = ?", (arn,)))

    def subscriptions_of(self, topic_arn: str) -> list[dict]:
        return [self._sub(r) for r in self.db.query(self._SUB + " WHERE topic_arn = ? ORDER BY arn", (topic_arn,))]

    def list_subscriptions(self, account, region, after: str, limit: int) -> list[dict]:
        return [self._sub(r) for r in self.db.query(
            self._SUB + " WHERE account = ? AND region = ? AND arn > ? ORDER BY arn LIMIT ?",
            (account, region, after, limit))]

    def subscription_by_token(self, topic_arn: str, token: str) -> dict | None:
        return self._sub(self.db.query_one(self._SUB + " WHERE topic_arn = ? AND token = ?", (topic_arn, token)))

    def put_subscription(self, sub: dict) -> None:
        self.db.execute(
            "INSERT INTO sns_subscriptions(arn, topic_arn, account, region, owner, protocol, endpoint, attributes, "
            "confirmed, token) VALUES(?,?,?,?,?,?,?,?,?,?) ON CONFLICT(arn) DO UPDATE SET "
            "attributes = excluded.attributes, confirmed = excluded.confirmed, token = excluded.token",
            (sub["arn"], sub["topic_arn"], sub["account"], sub["region"], sub["owner"], sub["protocol"],
             sub["endpoint"], orjson.dumps(sub["attributes"]).decode(), int(sub["confirmed"]), sub["token"]),
        )

    def delete_subscription(self, arn: str) -> int:
        return self.db.execute("DELETE FROM sns_subscriptions WHERE arn = ?", (arn,))

    # deliveries
    def add_delivery(self, subscription_arn: str, job: dict, next_at: float) -> int:
        return self.db.insert(
            "INSERT INTO sns_deliveries(subscription_arn, job, next_at) VALUES(?,?,?)",
            (subscription_arn, orjson.dumps(job).decode(), next_at),
        )

    def pending_deliveries(self) -> list[tuple[int, float]]:
        return self.db.query("SELECT id, next_at FROM sns_deliveries ORDER BY id")

    def get_delivery(self, delivery_id: int) -> tuple[str, dict, int] | None:
        row = self.db.query_one("SELECT subscription_arn, job, attempts FROM sns_deliveries WHERE id = ?", (delivery_id,))
        return (row[0], orjson.loads(row[1]), row[2]) if row else None

    def retry_delivery(self, delivery_id: int, attempts: int, next_at: float) -> None:
        self.db.execute("UPDATE sns_deliveries SET attempts = ?, next_at = ? WHERE id = ?", (attempts, next_at, delivery_id))

    def delete_delivery(self, delivery_id: int) -> None:
        self.db.execute("DELETE FROM sns_deliveries WHERE id = ?", (delivery_id,))

    # FIFO deduplication (5 minutes)
    def find_duplicate(self, topic_arn: str, key: str, now: float) -> tuple | None:
        return self.db.query_one(
            "SELECT message_id, sequence FROM sns_dedup WHERE topic_arn = ? AND dedup_key = ? AND expires > ?",
            (topic_arn, key, now))

    def remember(self, topic_arn: str, key: str, message_id: str, sequence: str, expires: float) -> None:
        self.db.execute(
            "INSERT INTO sns_dedup(topic_arn, dedup_key, message_id, sequence, expires) VALUES(?,?,?,?,?) "
            "ON CONFLICT(topic_arn, dedup_key) DO UPDATE SET message_id = excluded.message_id, "
            "sequence = excluded.sequence, expires = excluded.expires",
            (topic_arn, key, message_id, sequence, expires))

    def purge_dedup(self, now: float) -> None:
        self.db.execute("DELETE FROM sns_dedup WHERE expires <= ?", (now,))

    # recorded email / SMS
    def record(self, account, region, topic_arn, subscription_arn, protocol, endpoint, message_id, subject, message,
               attributes, timestamp) -> None:
        self.db.execute(
            "INSERT INTO sns_recorded(account, region, topic_arn, subscription_arn, protocol, endpoint, message_id, "
            "subject, message, attributes, timestamp) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
            (account, region, topic_arn, subscription_arn, protocol, endpoint, message_id, subject, message,
             orjson.dumps(attributes).decode() if attributes else None, timestamp))

    def recorded(self, filters: dict) -> list[dict]:
        clauses, args = [], []
        for column in ("account", "region", "topic_arn", "protocol", "endpoint"):
            if filters.get(column):
                clauses.append(f"{column} = ?")
                args.append(filters[column])
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = self.db.query(
            "SELECT account, region, topic_arn, subscription_arn, protocol, endpoint, message_id, subject, message, "
            "attributes, timestamp FROM sns_recorded" + where + " ORDER BY id", args)
        names = ("account", "region", "topic_arn", "subscription_arn", "protocol", "endpoint", "message_id",
                 "subject", "message", "attributes", "timestamp")
        out = []
        for row in rows:
            item = dict(zip(names, row, strict=True))
            item["attributes"] = orjson.loads(item["attributes"]) if item["attributes"] else {}
            out.append(item)
        return out

    def clear_recorded(self, filters: dict) -> int:
        clauses, args = [], []
        for column in ("account", "region", "topic_arn", "protocol", "endpoint"):
            if filters.get(column):
                clauses.append(f"{column} = ?")
                args.append(filters[column])
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        return self.db.execute("DELETE FROM sns_recorded" + where, args)


def has_pending_work(db) -> bool:
    """At start-up: SNS deliveries not yet made? (Called only once the service's schema exists.)"""
    return db.scalar('SELECT 1 FROM sns_deliveries LIMIT 1') is not None
