"""CloudWatch Logs tables: log groups, log streams and their events."""

from __future__ import annotations

from overcast.storage import Database

SCHEMA = "logs"  # its version row in schema_versions
MIGRATIONS = [
    """
    CREATE TABLE logs_groups (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        created INTEGER NOT NULL,
        retention INTEGER,
        kms_key TEXT,
        tags TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (account, region, name)
    );
    CREATE TABLE logs_streams (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        grp TEXT NOT NULL,
        name TEXT NOT NULL,
        created INTEGER NOT NULL,
        first_ts INTEGER,
        last_ts INTEGER,
        last_ingest INTEGER,
        stored_bytes INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (account, region, grp, name)
    );
    CREATE TABLE logs_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        grp TEXT NOT NULL,
        stream TEXT NOT NULL,
        ts INTEGER NOT NULL,
        ingest INTEGER NOT NULL,
        message TEXT NOT NULL
    );
    CREATE INDEX logs_events_by_stream ON logs_events(account, region, grp, stream, id);
    CREATE INDEX logs_events_by_group ON logs_events(account, region, grp, ts, id);
    """,
    """
    CREATE TABLE logs_subscriptions (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        grp TEXT NOT NULL,
        name TEXT NOT NULL,
        pattern TEXT NOT NULL,
        destination TEXT NOT NULL,
        role TEXT,
        distribution TEXT NOT NULL,
        created INTEGER NOT NULL,
        PRIMARY KEY (account, region, grp, name)
    );
    CREATE TABLE logs_deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        destination TEXT NOT NULL,
        partition_key TEXT NOT NULL,
        payload BLOB NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0
    );
    """,
    """
    CREATE TABLE logs_resource_policies (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        document TEXT NOT NULL,
        updated INTEGER NOT NULL,
        PRIMARY KEY (account, region, name)
    );
    """,
    """
    CREATE TABLE logs_destinations (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        target TEXT NOT NULL,
        role TEXT NOT NULL,
        policy TEXT,
        tags TEXT NOT NULL DEFAULT '{}',
        created INTEGER NOT NULL,
        PRIMARY KEY (account, region, name)
    );
    """,
    # the log class a group was created with (STANDARD, INFREQUENT_ACCESS or DELIVERY)
    "ALTER TABLE logs_groups ADD COLUMN log_class TEXT NOT NULL DEFAULT 'STANDARD';",
    """
    CREATE TABLE logs_delivery_destinations (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        output_format TEXT,
        resource_arn TEXT,
        policy TEXT,
        tags TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (account, region, name)
    );
    """,
    # Logs Insights queries: run when started, their results kept for GetQueryResults
    """
    CREATE TABLE logs_queries (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        id TEXT NOT NULL,
        created INTEGER NOT NULL,
        group_names TEXT NOT NULL,
        query_string TEXT NOT NULL,
        language TEXT NOT NULL,
        status TEXT NOT NULL,
        results TEXT NOT NULL,
        statistics TEXT NOT NULL,
        PRIMARY KEY (account, region, id)
    );
    CREATE INDEX logs_queries_by_time ON logs_queries(account, region, created);
    """,
    # metric filters: matching events become CloudWatch metric data points
    """
    CREATE TABLE logs_metric_filters (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        grp TEXT NOT NULL,
        name TEXT NOT NULL,
        pattern TEXT NOT NULL,
        transformations TEXT NOT NULL,
        created INTEGER NOT NULL,
        PRIMARY KEY (account, region, grp, name)
    );
    """,
]

_GROUP = "name, created, retention, kms_key, tags, log_class"
_STREAM = "name, created, first_ts, last_ts, last_ingest, stored_bytes"


class LogsStore:
    def __init__(self, db: Database):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)

    def transaction(self):
        return self.db.transaction()

    # -- groups --------------------------------------------------------------------------------

    def create_group(self, account, region, name, created, kms_key, tags: str, log_class: str = "STANDARD") -> bool:
        return self.db.execute(
            "INSERT INTO logs_groups(account, region, name, created, kms_key, tags, log_class) VALUES (?,?,?,?,?,?,?) "
            "ON CONFLICT DO NOTHING", (account, region, name, created, kms_key, tags, log_class)) > 0

    def get_group(self, account, region, name):
        return self.db.query_one(f"SELECT {_GROUP} FROM logs_groups WHERE account=? AND region=? AND name=?",
                                 (account, region, name))

    def list_groups(self, account, region, prefix: str, after: str, limit: int):
        return self.db.query(
            f"SELECT {_GROUP} FROM logs_groups WHERE account=? AND region=? AND name >= ? AND name < ? AND name > ? "
            "ORDER BY name LIMIT ?", (account, region, prefix, prefix + "\U0010ffff", after, limit))

    def delete_group(self, account, region, name) -> bool:
        with self.db.transaction():
            self.db.execute("DELETE FROM logs_events WHERE account=? AND region=? AND grp=?", (account, region, name))
            self.db.execute("DELETE FROM logs_streams WHERE account=? AND region=? AND grp=?", (account, region, name))
            self.db.execute("DELETE FROM logs_subscriptions WHERE account=? AND region=? AND grp=?", (account, region, name))
            self.db.execute("DELETE FROM logs_metric_filters WHERE account=? AND region=? AND grp=?", (account, region, name))
            return self.db.execute("DELETE FROM logs_groups WHERE account=? AND region=? AND name=?",
                                   (account, region, name)) > 0

    def set_retention(self, account, region, name, days) -> None:
        self.db.execute("UPDATE logs_groups SET retention=? WHERE account=? AND region=? AND name=?",
                        (days, account, region, name))

    def tagged(self, account: str, region: str) -> list[tuple]:
        """(name, tags as stored) of the log groups of an account's region that have tags, for the
        Resource Groups Tagging API."""
        return self.db.query("SELECT name, tags FROM logs_groups WHERE account=? AND region=? AND tags != '{}' ORDER BY name", (account, region))

    def set_tags(self, account, region, name, tags: str) -> None:
        self.db.execute("UPDATE logs_groups SET tags=? WHERE account=? AND region=? AND name=?",
                        (tags, account, region, name))

    def group_bytes(self, account, region, name) -> int:
        return self.db.scalar("SELECT COALESCE(SUM(stored_bytes), 0) FROM logs_streams WHERE account=? AND region=? AND grp=?",
                              (account, region, name)) or 0

    # -- streams -------------------------------------------------------------------------------

    def create_stream(self, account, region, grp, name, created) -> bool:
        return self.db.execute(
            "INSERT INTO logs_streams(account, region, grp, name, created) VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
            (account, region, grp, name, created)) > 0

    def get_stream(self, account, region, grp, name):
        return self.db.query_one(
            f"SELECT {_STREAM} FROM logs_streams WHERE account=? AND region=? AND grp=? AND name=?",
            (account, region, grp, name))

    def list_streams(self, account, region, grp, prefix: str, by_time: bool, descending: bool, offset: int, limit: int):
        order = "COALESCE(last_ts, 0)" if by_time else "name"
        direction = "DESC" if descending else "ASC"
        return self.db.query(
            f"SELECT {_STREAM} FROM logs_streams WHERE account=? AND region=? AND grp=? AND name >= ? AND name < ? "
            f"ORDER BY {order} {direction}, name {direction} LIMIT ? OFFSET ?",
            (account, region, grp, prefix, prefix + "\U0010ffff", limit, offset))

    def stream_names(self, account, region, grp, prefix: str = "") -> list[str]:
        return [r[0] for r in self.db.query(
            "SELECT name FROM logs_streams WHERE account=? AND region=? AND grp=? AND name >= ? AND name < ?",
            (account, region, grp, prefix, prefix + "\U0010ffff"))]

    def delete_stream(self, account, region, grp, name) -> bool:
        with self.db.transaction():
            self.db.execute("DELETE FROM logs_events WHERE account=? AND region=? AND grp=? AND stream=?",
                            (account, region, grp, name))
            return self.db.execute("DELETE FROM logs_streams WHERE account=? AND region=? AND grp=? AND name=?",
                                   (account, region, grp, name)) > 0

    # -- events --------------------------------------------------------------------------------

    def expire(self, account, region, grp, cutoff: int) -> None:
        """Delete a group's events older than `cutoff` (retention)."""
        self.db.execute("DELETE FROM logs_events WHERE account=? AND region=? AND grp=? AND ts < ?",
                        (account, region, grp, cutoff))

    def add_events(self, account, region, grp, stream, events: list[tuple[int, str]], ingest: int) -> None:
        if not events:
            return
        size = sum(len(m) + 26 for _, m in events)
        first = min(ts for ts, _ in events)
        last = max(ts for ts, _ in events)
        with self.db.transaction():
            self.db.execute_many(
                "INSERT INTO logs_events(account, region, grp, stream, ts, ingest, message) VALUES (?,?,?,?,?,?,?)",
                [(account, region, grp, stream, ts, ingest, message) for ts, message in events])
            self.db.execute(
                "UPDATE logs_streams SET first_ts = MIN(COALESCE(first_ts, ?), ?), last_ts = MAX(COALESCE(last_ts, ?), ?), "
                "last_ingest = ?, stored_bytes = stored_bytes + ? WHERE account=? AND region=? AND grp=? AND name=?",
                (first, first, last, last, ingest, size, account, region, grp, stream))

    def stream_events(self, account, region, grp, stream, start, end, after_id, before_id, limit, forward):
        """(id, ts, message, ingest) of one stream in id order; `forward` picks the first `limit`
        after `after_id`, else the last `limit` before `before_id` (returned ascending)."""
        sql = "SELECT id, ts, message, ingest FROM logs_events WHERE account=? AND region=? AND grp=? AND stream=?"
        args: list = [account, region, grp, stream]
        if start is not None:
            sql += " AND ts >= ?"
            args.append(start)
        if end is not None:
            sql += " AND ts < ?"
            args.append(end)
        if after_id is not None:
            sql += " AND id > ?"
            args.append(after_id)
        if before_id is not None:
            sql += " AND id < ?"
            args.append(before_id)
        sql += f" ORDER BY id {'ASC' if forward else 'DESC'} LIMIT ?"
        args.append(limit)
        rows = self.db.query(sql, args)
        return rows if forward else rows[::-1]

    def group_events(self, account, region, grp, streams: list[str] | None, start, end, after: tuple | None, limit: int):
        """(id, stream, ts, message, ingest) of a group in (ts, id) order, after the (ts, id) cursor."""
        sql = "SELECT id, stream, ts, message, ingest FROM logs_events WHERE account=? AND region=? AND grp=?"
        args: list = [account, region, grp]
        if streams is not None:
            sql += f" AND stream IN ({','.join('?' * len(streams))})"
            args += streams
        if start is not None:
            sql += " AND ts >= ?"
            args.append(start)
        if end is not None:
            sql += " AND ts <= ?"
            args.append(end)
        if after is not None:
            sql += " AND (ts > ? OR (ts = ? AND id > ?))"
            args += [after[0], after[0], after[1]]
        sql += " ORDER BY ts, id LIMIT ?"
        args.append(limit)
        return self.db.query(sql, args)

    def event(self, account, region, event_id: int):
        """(group, stream, ts, message, ingest) of one event, for a Logs Insights @ptr."""
        return self.db.query_one("SELECT grp, stream, ts, message, ingest FROM logs_events WHERE id=? AND account=? "
                                 "AND region=?", (event_id, account, region))

    # -- Logs Insights queries ------------------------------------------------------------------

    def add_query(self, account, region, query_id, created, groups: str, query_string, language, status,
                  results: str, statistics: str, expire_before: int) -> None:
        """Keep a finished query (and forget the account's queries older than `expire_before`)."""
        with self.db.transaction():
            self.db.execute("DELETE FROM logs_queries WHERE account=? AND region=? AND created < ?",
                            (account, region, expire_before))
            self.db.execute(
                "INSERT INTO logs_queries(account, region, id, created, group_names, query_string, language, status, results, "
                "statistics) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (account, region, query_id, created, groups, query_string, language, status, results, statistics))

    _QUERY = "id, created, group_names, query_string, language, status, results, statistics"

    def query(self, account, region, query_id):
        """(id, created, groups, query string, language, status, results, statistics) or None."""
        return self.db.query_one(f"SELECT {self._QUERY} FROM logs_queries WHERE account=? AND region=? AND id=?",
                                 (account, region, query_id))

    def queries(self, account, region) -> list[tuple]:
        """The account's queries, newest first (results left out: (id, created, groups, query
        string, language, status))."""
        return self.db.query("SELECT id, created, group_names, query_string, language, status FROM logs_queries "
                             "WHERE account=? AND region=? ORDER BY created DESC, id", (account, region))

    # -- metric filters ------------------------------------------------------------------------------

    def put_metric_filter(self, account, region, grp, name, pattern, transformations: str, created: int,
                          limit: int) -> bool:
        """Create or replace a filter; False (nothing written) when creating would exceed `limit`."""
        with self.db.transaction():
            exists = self.db.scalar("SELECT 1 FROM logs_metric_filters WHERE account=? AND region=? AND grp=? AND name=?",
                                    (account, region, grp, name))
            if not exists and self.metric_filter_count(account, region, grp) >= limit:
                return False
            self.db.execute(
                "INSERT INTO logs_metric_filters(account, region, grp, name, pattern, transformations, created) "
                "VALUES (?,?,?,?,?,?,?) ON CONFLICT(account, region, grp, name) DO UPDATE SET pattern=excluded.pattern, "
                "transformations=excluded.transformations",
                (account, region, grp, name, pattern, transformations, created))
            return True

    def metric_filter_count(self, account, region, grp) -> int:
        return self.db.scalar("SELECT COUNT(*) FROM logs_metric_filters WHERE account=? AND region=? AND grp=?",
                              (account, region, grp)) or 0

    def metric_filters(self, account, region, grp: str | None = None, prefix: str = "") -> list[tuple]:
        """(group, name, pattern, transformations JSON, created), by name then group."""
        sql = ("SELECT grp, name, pattern, transformations, created FROM logs_metric_filters WHERE account=? AND region=? "
               "AND name >= ? AND name < ?")
        args: list = [account, region, prefix, prefix + "\U0010ffff"]
        if grp is not None:
            sql += " AND grp=?"
            args.append(grp)
        return self.db.query(sql + " ORDER BY name, grp", args)

    def delete_metric_filter(self, account, region, grp, name) -> bool:
        return self.db.execute("DELETE FROM logs_metric_filters WHERE account=? AND region=? AND grp=? AND name=?",
                               (account, region, grp, name)) > 0

    def has_metric_filters(self) -> bool:
        return self.db.scalar("SELECT 1 FROM logs_metric_filters LIMIT 1") is not None

    # -- subscription filters and their pending deliveries ----------------------------------------

    def put_subscription(self, account, region, grp, name, pattern, destination, role, distribution, created) -> None:
        self.db.execute(
            "INSERT INTO logs_subscriptions(account, region, grp, name, pattern, destination, role, distribution, created) "
            "VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(account, region, grp, name) DO UPDATE SET pattern=excluded.pattern, "
            "destination=excluded.destination, role=excluded.role, distribution=excluded.distribution",
            (account, region, grp, name, pattern, destination, role, distribution, created))

    def subscriptions(self, account, region, grp) -> list[tuple]:
        """(name, pattern, destination, role, distribution, created) of a group's filters, by name."""
        return self.db.query("SELECT name, pattern, destination, role, distribution, created FROM logs_subscriptions "
                             "WHERE account=? AND region=? AND grp=? ORDER BY name", (account, region, grp))

    def delete_subscription(self, account, region, grp, name) -> bool:
        return self.db.execute("DELETE FROM logs_subscriptions WHERE account=? AND region=? AND grp=? AND name=?",
                               (account, region, grp, name)) > 0

    def add_delivery(self, destination: str, partition_key: str, payload: bytes) -> int:
        return self.db.insert("INSERT INTO logs_deliveries(destination, partition_key, payload) VALUES (?,?,?)",
                              (destination, partition_key, payload))

    def delivery(self, delivery_id: int) -> tuple[str, str, bytes, int] | None:
        """(destination ARN, partition key, gzip of the JSON message, attempts so far)."""
        return self.db.query_one("SELECT destination, partition_key, payload, attempts FROM logs_deliveries WHERE id=?",
                                 (delivery_id,))

    def retry_delivery(self, delivery_id: int, attempts: int) -> None:
        self.db.execute("UPDATE logs_deliveries SET attempts=? WHERE id=?", (attempts, delivery_id))

    def delete_delivery(self, delivery_id: int) -> None:
        self.db.execute("DELETE FROM logs_deliveries WHERE id=?", (delivery_id,))

    def pending_deliveries(self) -> list[int]:
        return [r[0] for r in self.db.query("SELECT id FROM logs_deliveries ORDER BY id")]

    # -- account resource policies (which services and accounts may write into log groups) --------

    def put_policy(self, account, region, name, document: str, updated: int, limit: int) -> bool:
        """Create or replace a policy; False (nothing written) when creating would exceed `limit`."""
        with self.db.transaction():
            exists = self.db.scalar("SELECT 1 FROM logs_resource_policies WHERE account=? AND region=? AND name=?",
                                    (account, region, name))
            if not exists and self.db.scalar("SELECT COUNT(*) FROM logs_resource_policies WHERE account=? AND region=?",
                                             (account, region)) >= limit:
                return False
            self.db.execute(
                "INSERT INTO logs_resource_policies(account, region, name, document, updated) VALUES (?,?,?,?,?) "
                "ON CONFLICT(account, region, name) DO UPDATE SET document=excluded.document, updated=excluded.updated",
                (account, region, name, document, updated))
            return True

    def policies(self, account, region) -> list[tuple[str, str, int]]:
        """(name, document, last updated) of the account's policies in the region, by name."""
        return self.db.query("SELECT name, document, updated FROM logs_resource_policies WHERE account=? AND region=? "
                             "ORDER BY name", (account, region))

    def delete_policy(self, account, region, name) -> bool:
        return self.db.execute("DELETE FROM logs_resource_policies WHERE account=? AND region=? AND name=?",
                               (account, region, name)) > 0

    # -- destinations (another account's subscriptions deliver through them) ----------------------

    def put_destination(self, account, region, name, target, role, tags: str, created: int) -> None:
        """Create, or change the target and role of an existing destination (its policy, tags and
        creation time stay)."""
        self.db.execute(
            "INSERT INTO logs_destinations(account, region, name, target, role, tags, created) VALUES (?,?,?,?,?,?,?) "
            "ON CONFLICT(account, region, name) DO UPDATE SET target=excluded.target, role=excluded.role",
            (account, region, name, target, role, tags, created))

    def destination(self, account, region, name):
        """(name, target, role, policy, tags, created) or None."""
        return self.db.query_one("SELECT name, target, role, policy, tags, created FROM logs_destinations "
                                 "WHERE account=? AND region=? AND name=?", (account, region, name))

    def destinations(self, account, region, prefix: str) -> list[tuple]:
        return self.db.query("SELECT name, target, role, policy, tags, created FROM logs_destinations "
                             "WHERE account=? AND region=? AND name >= ? AND name < ? ORDER BY name",
                             (account, region, prefix, prefix + "\U0010ffff"))

    def set_destination(self, account, region, name, column: str, value) -> bool:
        assert column in ("policy", "tags")
        return self.db.execute(f"UPDATE logs_destinations SET {column}=? WHERE account=? AND region=? AND name=?",
                               (value, account, region, name)) > 0

    def delete_destination(self, account, region, name) -> bool:
        return self.db.execute("DELETE FROM logs_destinations WHERE account=? AND region=? AND name=?",
                               (account, region, name)) > 0


    # -- vended-log delivery destinations ----------------------------------------------------------

    _DELIVERY_DESTINATION = "name, type, output_format, resource_arn, policy, tags"

    def put_delivery_destination(self, account, region, name, kind, output_format, resource_arn, tags: str | None):
        """Create or overwrite a delivery destination (its policy stays; tags stay unless given)."""
        update = "type=excluded.type, output_format=excluded.output_format, resource_arn=excluded.resource_arn"
        if tags is not None:  # given again: they replace the old ones
            update += ", tags=excluded.tags"
        self.db.execute(
            "INSERT INTO logs_delivery_destinations(account, region, name, type, output_format, resource_arn, tags) "
            f"VALUES (?,?,?,?,?,?,?) ON CONFLICT(account, region, name) DO UPDATE SET {update}",
            (account, region, name, kind, output_format, resource_arn, tags or "{}"))

    def delivery_destination(self, account, region, name):
        """(name, type, output format, resource ARN, policy, tags) or None."""
        return self.db.query_one(f"SELECT {self._DELIVERY_DESTINATION} FROM logs_delivery_destinations "
                                 "WHERE account=? AND region=? AND name=?", (account, region, name))

    def delivery_destinations(self, account, region) -> list[tuple]:
        """In the order they were created, as AWS lists them (rowid: PostgreSQL's translation keeps it)."""
        return self.db.query(f"SELECT {self._DELIVERY_DESTINATION} FROM logs_delivery_destinations "
                             "WHERE account=? AND region=? ORDER BY rowid", (account, region))

    def set_delivery_destination(self, account, region, name, column: str, value) -> bool:
        assert column in ("policy", "tags")
        return self.db.execute(f"UPDATE logs_delivery_destinations SET {column}=? WHERE account=? AND region=? AND name=?",
                               (value, account, region, name)) > 0

    def delete_delivery_destination(self, account, region, name) -> bool:
        return self.db.execute("DELETE FROM logs_delivery_destinations WHERE account=? AND region=? AND name=?",
                               (account, region, name)) > 0


def has_pending_work(db) -> bool:
    """At start-up: subscription deliveries committed but not yet sent? (Called once the schema
    exists; a data directory from before subscription filters has no such table yet.)"""
    if "logs_deliveries" not in db.tables():
        return False
    return db.scalar("SELECT 1 FROM logs_deliveries LIMIT 1") is not None
