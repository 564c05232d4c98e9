"""CloudWatch metrics' table: every data point put (PutMetricData, or a CloudWatch Logs metric
filter), kept as its statistic set so that any period's statistics can be computed from it."""

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
            return missing
