"""AppSync's tables. Each API is one row of `appsync_apis` with a `version` that every change to
the API or anything under it (schema, data sources, resolvers, functions, API keys) bumps, so the
compiled form the data plane caches in memory is invalidated by one integer comparison. Resources
under an API are JSON documents in `appsync_resources`, keyed by kind and name."""

from __future__ import annotations

import orjson

SCHEMA = "appsync"  # its version row in schema_versions
MIGRATIONS = [
    """
    CREATE TABLE appsync_apis (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        api_id TEXT NOT NULL,
        doc TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 1,
        created REAL NOT NULL,
        PRIMARY KEY (account, region, api_id)
    );
    CREATE UNIQUE INDEX appsync_apis_id ON appsync_apis(api_id);
    CREATE TABLE appsync_resources (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        api_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        doc TEXT NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (account, region, api_id, kind, name)
    );
    CREATE TABLE appsync_tags (
        arn TEXT PRIMARY KEY,
        tags TEXT NOT NULL
    );
    """,
]


class AppSyncStore:
    def __init__(self, db):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)

    def transaction(self):
        return self.db.transaction()

    # -- APIs ---------------------------------------------------------------------------------

    def put_api(self, account: str, region: str, api_id: str, doc: dict, now: float) -> None:
        self.db.execute(
            "INSERT INTO appsync_apis(account, region, api_id, doc, version, created) VALUES(?, ?, ?, ?, 1, ?) "
            "ON CONFLICT(account, region, api_id) DO UPDATE SET doc = excluded.doc, version = appsync_apis.version + 1",
            (account, region, api_id, orjson.dumps(doc).decode(), now),
        )

    def get_api(self, account: str, region: str, api_id: str) -> dict | None:
        row = self.db.query_one(
            "SELECT doc FROM appsync_apis WHERE account = ? AND region = ? AND api_id = ?", (account, region, api_id))
        return orjson.loads(row[0]) if row else None

    def api_by_id(self, api_id: str) -> tuple[str, str, dict, int] | None:
        """(account, region, doc, version) of an API by its id alone (the data plane's URLs)."""
        row = self.db.query_one("SELECT account, region, doc, version FROM appsync_apis WHERE api_id = ?", (api_id,))
        return (row[0], row[1], orjson.loads(row[2]), row[3]) if row else None

    def api_version(self, api_id: str) -> int | None:
        return self.db.scalar("SELECT version FROM appsync_apis WHERE api_id = ?", (api_id,))

    def list_apis(self, account: str, region: str) -> list[dict]:
        rows = self.db.query(
            "SELECT doc FROM appsync_apis WHERE account = ? AND region = ? ORDER BY created, api_id", (account, region))
        return [orjson.loads(r[0]) for r in rows]

    def delete_api(self, account: str, region: str, api_id: str) -> bool:
        with self.db.transaction():
            self.db.execute("DELETE FROM appsync_resources WHERE account = ? AND region = ? AND api_id = ?",
                            (account, region, api_id))
            return self.db.execute("DELETE FROM appsync_apis WHERE account = ? AND region = ? AND api_id = ?",
                                   (account, region, api_id)) > 0

    def bump(self, account: str, region: str, api_id: str) -> None:
        self.db.execute("UPDATE appsync_apis SET version = version + 1 WHERE account = ? AND region = ? AND api_id = ?",
                        (account, region, api_id))

    # -- resources under an API ---------------------------------------------------------------

    def put(self, account: str, region: str, api_id: str, kind: str, name: str, doc: dict, now: float) -> None:
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO appsync_resources(account, region, api_id, kind, name, doc, created) "
                "VALUES(?, ?, ?, ?, ?, ?, ?) ON CONFLICT(account, region, api_id, kind, name) "
                "DO UPDATE SET doc = excluded.doc",
                (account, region, api_id, kind, name, orjson.dumps(doc).decode(), now),
            )
            self.bump(account, region, api_id)

    def get(self, account: str, region: str, api_id: str, kind: str, name: str) -> dict | None:
        row = self.db.query_one(
            "SELECT doc FROM appsync_resources WHERE account = ? AND region = ? AND api_id = ? AND kind = ? AND name = ?",
            (account, region, api_id, kind, name))
        return orjson.loads(row[0]) if row else None

    def list(self, account: str, region: str, api_id: str, kind: str) -> list[dict]:
        rows = self.db.query(
            "SELECT doc FROM appsync_resources WHERE account = ? AND region = ? AND api_id = ? AND kind = ? "
            "ORDER BY created, name", (account, region, api_id, kind))
        return [orjson.loads(r[0]) for r in rows]

    def delete(self, account: str, region: str, api_id: str, kind: str, name: str) -> bool:
        with self.db.transaction():
            gone = self.db.execute(
                "DELETE FROM appsync_resources WHERE account = ? AND region = ? AND api_id = ? AND kind = ? AND name = ?",
                (account, region, api_id, kind, name)) > 0
            if gone:
                self.bump(account, region, api_id)
        return gone

    # -- tags ---------------------------------------------------------------------------------

    def tags(self, arn: str) -> dict:
        row = self.db.query_one("SELECT tags FROM appsync_tags WHERE arn = ?", (arn,))
        return orjson.loads(row[0]) if row else {}

    def set_tags(self, arn: str, tags: dict) -> None:
        if tags:
            self.db.execute("INSERT INTO appsync_tags(arn, tags) VALUES(?, ?) "
                            "ON CONFLICT(arn) DO UPDATE SET tags = excluded.tags", (arn, orjson.dumps(tags).decode()))
        else:
            self.db.execute("DELETE FROM appsync_tags WHERE arn = ?", (arn,))
