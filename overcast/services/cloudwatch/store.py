"""CloudWatch's tables: every data point put (PutMetricData, or a CloudWatch Logs metric filter),
kept as its statistic set so that any period's statistics can be computed from it; dashboards;
alarms (their configuration and state as one JSON document), the metrics each alarm watches (so
that a data point wakes the alarms of its metric), their history and tags."""

from __future__ import annotations

from overcast.storage import Database

SCHEMA = "cloudwatch"  # its version row in schema_versions
MIGRATIONS = [
    """
    CREATE TABLE cw_datapoints (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        namespace TEXT NOT NULL,
        metric TEXT NOT NULL,
        dimensions TEXT NOT NULL,   -- canonical JSON: [[name, value], ...] sorted by name
        ts INTEGER NOT NULL,        -- milliseconds since the epoch
        count REAL NOT NULL,
        total REAL NOT NULL,
        minimum REAL NOT NULL,
        maximum REAL NOT NULL,
        unit TEXT NOT NULL
    );
    CREATE INDEX cw_datapoints_by_metric ON cw_datapoints(account, region, namespace, metric, dimensions, ts);
    CREATE INDEX cw_datapoints_by_time ON cw_datapoints(account, region, ts);
    """,
    # dashboards are global: one set per account, whatever the region
    """
    CREATE TABLE cw_dashboards (
        account TEXT NOT NULL,
        name TEXT NOT NULL,
        body TEXT NOT NULL,
        modified INTEGER NOT NULL,
        PRIMARY KEY (account, name)
    );
    """,
    """
    CREATE TABLE cw_alarms (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,          -- MetricAlarm | CompositeAlarm
        doc TEXT NOT NULL,           -- the alarm as DescribeAlarms answers it (timestamps in epoch seconds)
        PRIMARY KEY (account, region, name)
    );
    CREATE TABLE cw_alarm_metrics (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        alarm TEXT NOT NULL,
        namespace TEXT NOT NULL,
        metric TEXT NOT NULL
    );
    CREATE INDEX cw_alarm_metrics_by_metric ON cw_alarm_metrics(account, region, namespace, metric);
    CREATE INDEX cw_alarm_metrics_by_alarm ON cw_alarm_metrics(account, region, alarm);
    CREATE TABLE cw_alarm_history (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        alarm TEXT NOT NULL,
        kind TEXT NOT NULL,
        ts REAL NOT NULL,            -- epoch seconds
        item_type TEXT NOT NULL,     -- ConfigurationUpdate | StateUpdate | Action
        summary TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX cw_alarm_history_by_alarm ON cw_alarm_history(account, region, alarm, ts);
    CREATE INDEX cw_alarm_history_by_time ON cw_alarm_history(account, region, ts);
    CREATE TABLE cw_tags (
        arn TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (arn, key)
    );
    """,
]

Point = tuple  # (namespace, metric, dimensions JSON, ts ms, count, sum, min, max, unit)


class CloudWatchStore:
    def __init__(self, db: Database):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)

    def add(self, account, region, points: list[Point], expire_before: int) -> None:
        """Store data points in one transaction (and forget the account's older than
        `expire_before`: AWS keeps metric data for 15 months)."""
        with self.db.transaction():
            self.db.execute("DELETE FROM cw_datapoints WHERE account=? AND region=? AND ts < ?",
                            (account, region, expire_before))
            self.db.execute_many(
                "INSERT INTO cw_datapoints(account, region, namespace, metric, dimensions, ts, count, total, minimum, "
                "maximum, unit) VALUES (?,?,?,?,?,?,?,?,?,?,?)", [(account, region, *p) for p in points])

    def metrics(self, account, region, namespace: str | None, metric: str | None, since: int) -> list[tuple]:
        """(namespace, metric, dimensions JSON) of every metric with data since `since`, sorted."""
        sql = "SELECT DISTINCT namespace, metric, dimensions FROM cw_datapoints WHERE account=? AND region=? AND ts >= ?"
        args: list = [account, region, since]
        if namespace is not None:
            sql += " AND namespace=?"
            args.append(namespace)
        if metric is not None:
            sql += " AND metric=?"
            args.append(metric)
        return self.db.query(sql + " ORDER BY namespace, metric, dimensions", args)

    def points(self, account, region, namespace, metric, dimensions: str, start: int, end: int,
               unit: str | None) -> list[tuple]:
        """(ts, count, sum, min, max, unit) of one metric in [start, end), by time."""
        sql = ("SELECT ts, count, total, minimum, maximum, unit FROM cw_datapoints WHERE account=? AND region=? "
               "AND namespace=? AND metric=? AND dimensions=? AND ts >= ? AND ts < ?")
        args: list = [account, region, namespace, metric, dimensions, start, end]
        if unit is not None:
            sql += " AND unit=?"
            args.append(unit)
        return self.db.query(sql + " ORDER BY ts", args)

    # -- dashboards ----------------------------------------------------------------------------------

    def put_dashboard(self, account, name, body: str, modified: int) -> None:
        self.db.execute("INSERT INTO cw_dashboards(account, name, body, modified) VALUES (?,?,?,?) "
                        "ON CONFLICT(account, name) DO UPDATE SET body=excluded.body, modified=excluded.modified",
                        (account, name, body, modified))

    def dashboard(self, account, name):
        """(name, body, modified ms) or None."""
        return self.db.query_one("SELECT name, body, modified FROM cw_dashboards WHERE account=? AND name=?",
                                 (account, name))

    def dashboards(self, account, prefix: str) -> list[tuple]:
        """(name, size in bytes, modified ms) by name."""
        return self.db.query("SELECT name, LENGTH(CAST(body AS BLOB)), modified FROM cw_dashboards WHERE account=? "
                             "AND name >= ? AND name < ? ORDER BY name", (account, prefix, prefix + "\U0010ffff"))

    def delete_dashboards(self, account, names: list[str]) -> list[str]:
        """Delete all of them, or none: the names that do not exist (then nothing was deleted)."""
        with self.db.transaction():
            missing = [n for n in names if self.dashboard(account, n) is None]
            if not missing:
                self.db.execute_many("DELETE FROM cw_dashboards WHERE account=? AND name=?",
                                     [(account, n) for n in names])
                self.db.execute_many("DELETE FROM cw_tags WHERE arn=?",
                                     [(f"arn:aws:cloudwatch::{account}:dashboard/{n}",) for n in names])
            return missing

    # -- alarms ----------------------------------------------------------------------------------

    def transaction(self):
        return self.db.transaction()

    def put_alarm(self, account, region, name, kind: str, doc: str, metrics: list[tuple[str, str]]) -> None:
        """Create or replace an alarm and the (namespace, metric) pairs it watches."""
        with self.db.transaction():
            self.db.execute("INSERT INTO cw_alarms(account, region, name, kind, doc) VALUES (?,?,?,?,?) "
                            "ON CONFLICT(account, region, name) DO UPDATE SET kind=excluded.kind, doc=excluded.doc",
                            (account, region, name, kind, doc))
            self.db.execute("DELETE FROM cw_alarm_metrics WHERE account=? AND region=? AND alarm=?",
                            (account, region, name))
            self.db.execute_many("INSERT INTO cw_alarm_metrics(account, region, alarm, namespace, metric) "
                                 "VALUES (?,?,?,?,?)", [(account, region, name, n, m) for n, m in set(metrics)])

    def update_alarm(self, account, region, name, doc: str) -> None:
        self.db.execute("UPDATE cw_alarms SET doc=? WHERE account=? AND region=? AND name=?",
                        (doc, account, region, name))

    def alarm(self, account, region, name) -> tuple | None:
        """(kind, doc JSON) or None."""
        return self.db.query_one("SELECT kind, doc FROM cw_alarms WHERE account=? AND region=? AND name=?",
                                 (account, region, name))

    def alarms(self, account, region, kinds=("MetricAlarm", "CompositeAlarm"), prefix: str = "") -> list[tuple]:
        """(name, kind, doc JSON) by name."""
        marks = ",".join("?" * len(kinds))
        return self.db.query(f"SELECT name, kind, doc FROM cw_alarms WHERE account=? AND region=? AND kind IN ({marks}) "
                             "AND name >= ? AND name < ? ORDER BY name",
                             (account, region, *kinds, prefix, prefix + "\U0010ffff"))

    def alarms_of_metric(self, account, region, namespace, metric) -> list[str]:
        """The names of the alarms watching a metric."""
        return [row[0] for row in self.db.query(
            "SELECT DISTINCT alarm FROM cw_alarm_metrics WHERE account=? AND region=? AND namespace=? AND metric=?",
            (account, region, namespace, metric))]

    def all_metric_alarms(self) -> list[tuple]:
        """(account, region, name) of every metric alarm (at start: their evaluations to arm)."""
        return self.db.query("SELECT account, region, name FROM cw_alarms WHERE kind='MetricAlarm'")

    def delete_alarm(self, account, region, name, arn: str) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM cw_alarms WHERE account=? AND region=? AND name=?", (account, region, name))
            self.db.execute("DELETE FROM cw_alarm_metrics WHERE account=? AND region=? AND alarm=?",
                            (account, region, name))
            self.db.execute("DELETE FROM cw_tags WHERE arn=?", (arn,))

    def add_history(self, account, region, alarm, kind, ts: float, item_type: str, summary: str, data: str,
                    expire_before: float) -> None:
        """Record a history item (and forget the account's older than `expire_before`)."""
        self.db.execute("DELETE FROM cw_alarm_history WHERE account=? AND region=? AND ts < ?",
                        (account, region, expire_before))
        self.db.execute("INSERT INTO cw_alarm_history(account, region, alarm, kind, ts, item_type, summary, data) "
                        "VALUES (?,?,?,?,?,?,?,?)", (account, region, alarm, kind, ts, item_type, summary, data))

    def history(self, account, region, alarm: str | None, kinds, item_type: str | None, start: float, end: float,
                newest_first: bool) -> list[tuple]:
        """(id, alarm, kind, ts, item_type, summary, data) in [start, end)."""
        marks = ",".join("?" * len(kinds))
        sql = (f"SELECT id, alarm, kind, ts, item_type, summary, data FROM cw_alarm_history WHERE account=? "
               f"AND region=? AND kind IN ({marks}) AND ts >= ? AND ts < ?")
        args: list = [account, region, *kinds, start, end]
        if alarm is not None:
            sql += " AND alarm=?"
            args.append(alarm)
        if item_type is not None:
            sql += " AND item_type=?"
            args.append(item_type)
        order = "DESC" if newest_first else "ASC"
        return self.db.query(sql + f" ORDER BY ts {order}, id {order}", args)

    # -- tags ------------------------------------------------------------------------------------

    def tags(self, arn: str) -> list[tuple[str, str]]:
        return self.db.query("SELECT key, value FROM cw_tags WHERE arn=? ORDER BY key", (arn,))

    def tag(self, arn: str, tags: dict[str, str]) -> None:
        self.db.execute_many("INSERT INTO cw_tags(arn, key, value) VALUES (?,?,?) ON CONFLICT(arn, key) DO UPDATE "
                             "SET value=excluded.value", [(arn, k, v) for k, v in tags.items()])

    def untag(self, arn: str, keys: list[str]) -> None:
        self.db.execute_many("DELETE FROM cw_tags WHERE arn=? AND key=?", [(arn, k) for k in keys])


def has_pending_work(db) -> bool:
    """At start-up: metric alarms to evaluate? (Called only once the service's schema exists.)"""
    return db.scalar("SELECT 1 FROM cw_alarms WHERE kind='MetricAlarm' LIMIT 1") is not None
