"""API Gateway's tables. A REST API's definition (resources, methods, integrations, models,
validators, authorizers, gateway responses, stages) is one JSON document: the control plane
reads, changes and writes it whole (APIs are small); a deployment stores a snapshot of it, which
the data plane compiles once. Account-wide resources (API keys, usage plans and their keys,
domain names and base path mappings) are documents of their own kind. Usage counts per key and
day are rows, so GetUsage reports what was served."""

from __future__ import annotations

import orjson

SCHEMA = "apigateway"  # its version row in schema_versions
MIGRATIONS = [
    """
    CREATE TABLE apigw_apis (
        account TEXT NOT NULL, region TEXT NOT NULL, id TEXT NOT NULL, doc BLOB NOT NULL,
        PRIMARY KEY (account, region, id)
    );
    CREATE INDEX apigw_apis_id ON apigw_apis(id);
    CREATE TABLE apigw_deployments (
        account TEXT NOT NULL, region TEXT NOT NULL, api_id TEXT NOT NULL, id TEXT NOT NULL,
        doc BLOB NOT NULL, snapshot BLOB NOT NULL,
        PRIMARY KEY (account, region, api_id, id)
    );
    CREATE TABLE apigw_objects (
        account TEXT NOT NULL, region TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL,
        doc BLOB NOT NULL, created REAL NOT NULL,
        PRIMARY KEY (account, region, kind, id)
    );
    CREATE TABLE apigw_usage (
        account TEXT NOT NULL, region TEXT NOT NULL, plan_id TEXT NOT NULL, key_id TEXT NOT NULL,
        day TEXT NOT NULL, used INTEGER NOT NULL,
        PRIMARY KEY (account, region, plan_id, key_id, day)
    );
    """,
]


class ApiGatewayStore:
    def __init__(self, db):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)

    # -- REST APIs ---------------------------------------------------------------------------

    def get_api(self, account: str, region: str, api_id: str) -> dict | None:
        row = self.db.query_one("SELECT doc FROM apigw_apis WHERE account = ? AND region = ? AND id = ?",
                                (account, region, api_id))
        return orjson.loads(row[0]) if row else None

    def locate_api(self, api_id: str) -> tuple[str, str] | None:
        row = self.db.query_one("SELECT account, region FROM apigw_apis WHERE id = ?", (api_id,))
        return (row[0], row[1]) if row else None

    def list_apis(self, account: str, region: str) -> list[dict]:
        rows = self.db.query("SELECT doc FROM apigw_apis WHERE account = ? AND region = ? ORDER BY rowid",
                             (account, region))
        return [orjson.loads(r[0]) for r in rows]

    def put_api(self, account: str, region: str, doc: dict) -> None:
        self.db.execute(
            "INSERT INTO apigw_apis(account, region, id, doc) VALUES(?, ?, ?, ?) "
            "ON CONFLICT(account, region, id) DO UPDATE SET doc = excluded.doc",
            (account, region, doc["id"], orjson.dumps(doc)))

    def delete_api(self, account: str, region: str, api_id: str) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM apigw_apis WHERE account = ? AND region = ? AND id = ?", (account, region, api_id))
            self.db.execute("DELETE FROM apigw_deployments WHERE account = ? AND region = ? AND api_id = ?",
                            (account, region, api_id))

    # -- deployments -------------------------------------------------------------------------

    def put_deployment(self, account, region, api_id, doc: dict, snapshot: dict) -> None:
        self.db.execute(
            "INSERT INTO apigw_deployments(account, region, api_id, id, doc, snapshot) VALUES(?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(account, region, api_id, id) DO UPDATE SET doc = excluded.doc",
            (account, region, api_id, doc["id"], orjson.dumps(doc), orjson.dumps(snapshot)))

    def get_deployment(self, account, region, api_id, deployment_id) -> dict | None:
        row = self.db.query_one("SELECT doc FROM apigw_deployments WHERE account = ? AND region = ? AND api_id = ? AND id = ?",
                                (account, region, api_id, deployment_id))
        return orjson.loads(row[0]) if row else None

    def get_snapshot(self, account, region, api_id, deployment_id) -> dict | None:
        row = self.db.query_one(
            "SELECT snapshot FROM apigw_deployments WHERE account = ? AND region = ? AND api_id = ? AND id = ?",
            (account, region, api_id, deployment_id))
        return orjson.loads(row[0]) if row else None

    def list_deployments(self, account, region, api_id) -> list[dict]:
        rows = self.db.query("SELECT doc FROM apigw_deployments WHERE account = ? AND region = ? AND api_id = ?",
                             (account, region, api_id))
        return sorted((orjson.loads(r[0]) for r in rows), key=lambda d: d.get("createdDate", 0))

    def delete_deployment(self, account, region, api_id, deployment_id) -> int:
        return self.db.execute("DELETE FROM apigw_deployments WHERE account = ? AND region = ? AND api_id = ? AND id = ?",
                               (account, region, api_id, deployment_id))

    # -- account-wide objects ----------------------------------------------------------------

    def get_object(self, account, region, kind, obj_id) -> dict | None:
        row = self.db.query_one("SELECT doc FROM apigw_objects WHERE account = ? AND region = ? AND kind = ? AND id = ?",
                                (account, region, kind, obj_id))
        return orjson.loads(row[0]) if row else None

    def list_objects(self, account, region, kind, prefix: str | None = None) -> list[dict]:
        if prefix is None:
            rows = self.db.query("SELECT doc FROM apigw_objects WHERE account = ? AND region = ? AND kind = ? ORDER BY created, id",
                                 (account, region, kind))
        else:
            rows = self.db.query(
                "SELECT doc FROM apigw_objects WHERE account = ? AND region = ? AND kind = ? AND substr(id, 1, ?) = ? "
                "ORDER BY created, id", (account, region, kind, len(prefix), prefix))
        return [orjson.loads(r[0]) for r in rows]

    def put_object(self, account, region, kind, obj_id, doc: dict, created: float) -> None:
        self.db.execute(
            "INSERT INTO apigw_objects(account, region, kind, id, doc, created) VALUES(?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(account, region, kind, id) DO UPDATE SET doc = excluded.doc",
            (account, region, kind, obj_id, orjson.dumps(doc), created))

    def delete_object(self, account, region, kind, obj_id) -> int:
        return self.db.execute("DELETE FROM apigw_objects WHERE account = ? AND region = ? AND kind = ? AND id = ?",
                               (account, region, kind, obj_id))

    def delete_objects_prefixed(self, account, region, kind, prefix) -> None:
        self.db.execute("DELETE FROM apigw_objects WHERE account = ? AND region = ? AND kind = ? AND substr(id, 1, ?) = ?",
                        (account, region, kind, len(prefix), prefix))

    def locate_domain(self, name: str) -> tuple[str, str] | None:
        row = self.db.query_one("SELECT account, region FROM apigw_objects WHERE kind = 'domainname' AND id = ?", (name,))
        return (row[0], row[1]) if row else None

    # -- usage -------------------------------------------------------------------------------

    def add_usage(self, account, region, plan_id, key_id, day: str, n: int = 1) -> None:
        self.db.execute(
            "INSERT INTO apigw_usage(account, region, plan_id, key_id, day, used) VALUES(?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(account, region, plan_id, key_id, day) DO UPDATE SET used = used + excluded.used",
            (account, region, plan_id, key_id, day, n))

    def admit_usage(self, account, region, plan_id, key_id, day: str, start: str, limit: int) -> bool:
        """Count one request on `day` unless the quota (`limit` requests since `start`) is used up:
        True when counted. One statement, so that nodes racing for a quota's last request admit
        one: the upsert's WHERE is checked on today's row as the other node's update left it (its
        row lock is waited for), and the days before today no longer change."""
        earlier = ("(SELECT COALESCE(SUM(used), 0) FROM apigw_usage WHERE account = ? AND region = ? "
                   "AND plan_id = ? AND key_id = ? AND day >= ? AND day < ?)")
        which = (account, region, plan_id, key_id, start, day)
        return self.db.execute(
            f"INSERT INTO apigw_usage(account, region, plan_id, key_id, day, used) SELECT ?, ?, ?, ?, ?, 1 "
            f"WHERE {earlier} < ? ON CONFLICT(account, region, plan_id, key_id, day) "
            f"DO UPDATE SET used = apigw_usage.used + 1 WHERE apigw_usage.used + {earlier} < ?",
            (account, region, plan_id, key_id, day, *which, limit, *which, limit)) > 0

    def set_usage(self, account, region, plan_id, key_id, day: str, used: int) -> None:
        self.db.execute(
            "INSERT INTO apigw_usage(account, region, plan_id, key_id, day, used) VALUES(?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(account, region, plan_id, key_id, day) DO UPDATE SET used = excluded.used",
            (account, region, plan_id, key_id, day, used))

    def usage(self, account, region, plan_id, start: str, end: str, key_id: str | None = None) -> list[tuple]:
        sql = ("SELECT key_id, day, used FROM apigw_usage WHERE account = ? AND region = ? AND plan_id = ? "
               "AND day >= ? AND day <= ?")
        args = [account, region, plan_id, start, end]
        if key_id:
            sql += " AND key_id = ?"
            args.append(key_id)
        return self.db.query(sql, args)

    def used_since(self, account, region, plan_id, key_id, start: str) -> int:
        return self.db.scalar("SELECT COALESCE(SUM(used), 0) FROM apigw_usage WHERE account = ? AND region = ? "
                              "AND plan_id = ? AND key_id = ? AND day >= ?", (account, region, plan_id, key_id, start)) or 0
