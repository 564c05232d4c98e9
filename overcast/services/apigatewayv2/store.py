"""API Gateway v2's tables and queries: the only place its SQL lives.

Resources are JSON documents in the shape the control plane answers with: one row per API, one
row per child resource (routes, integrations, stages, ...) keyed by its kind, one per domain name
and API mapping. WebSocket connections have a row each while they are open (GetConnection); the
sockets themselves live in memory, so rows left by a previous run are cleared at start-up.
"""

from __future__ import annotations

import orjson

from overcast.storage import Database

SCHEMA = "apigatewayv2"  # its version row in schema_versions
MIGRATIONS = [
    """
    CREATE TABLE apigwv2_apis (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        api_id TEXT NOT NULL,
        doc TEXT NOT NULL,
        PRIMARY KEY (account, region, api_id)
    );
    CREATE UNIQUE INDEX apigwv2_apis_id ON apigwv2_apis(api_id);
    CREATE TABLE apigwv2_items (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        api_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        item_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        doc TEXT NOT NULL,
        PRIMARY KEY (account, region, api_id, kind, item_id)
    );
    CREATE TABLE apigwv2_domains (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        doc TEXT NOT NULL,
        PRIMARY KEY (account, region, name)
    );
    CREATE TABLE apigwv2_tags (
        arn TEXT PRIMARY KEY,
        tags TEXT NOT NULL
    );
    CREATE TABLE apigwv2_connections (
        connection_id TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        api_id TEXT NOT NULL,
        stage TEXT NOT NULL,
        connected_at REAL NOT NULL,
        last_active_at REAL NOT NULL,
        source_ip TEXT NOT NULL,
        user_agent TEXT
    );
    """,
    # the node holding the socket (cluster mode: PostToConnection made on another node goes there)
    "ALTER TABLE apigwv2_connections ADD COLUMN node TEXT NOT NULL DEFAULT ''",
]


def _load(text):
    return orjson.loads(text) if text is not None else None


class ApiGatewayV2Store:
    def __init__(self, db: Database):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)

    # -- APIs ----------------------------------------------------------------------------------

    def put_api(self, account: str, region: str, api_id: str, doc: dict) -> None:
        self.db.execute(
            "INSERT INTO apigwv2_apis(account, region, api_id, doc) VALUES(?, ?, ?, ?) "
            "ON CONFLICT(account, region, api_id) DO UPDATE SET doc = excluded.doc",
            (account, region, api_id, orjson.dumps(doc).decode()),
        )

    def get_api(self, account: str, region: str, api_id: str) -> dict | None:
        return _load(self.db.scalar("SELECT doc FROM apigwv2_apis WHERE account = ? AND region = ? AND api_id = ?",
                                    (account, region, api_id)))

    def find_api(self, api_id: str) -> tuple[str, str, dict] | None:
        """An API by its id alone (ids are unique across accounts): (account, region, doc)."""
        row = self.db.query_one("SELECT account, region, doc FROM apigwv2_apis WHERE api_id = ?", (api_id,))
        return (row[0], row[1], orjson.loads(row[2])) if row else None

    def list_apis(self, account: str, region: str) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM apigwv2_apis WHERE account = ? AND region = ? ORDER BY rowid", (account, region))]

    def delete_api(self, account: str, region: str, api_id: str) -> bool:
        with self.db.transaction():
            self.db.execute("DELETE FROM apigwv2_items WHERE account = ? AND region = ? AND api_id = ?",
                            (account, region, api_id))
            return self.db.execute("DELETE FROM apigwv2_apis WHERE account = ? AND region = ? AND api_id = ?",
                                   (account, region, api_id)) > 0

    # -- child resources -----------------------------------------------------------------------

    def put_item(self, account: str, region: str, api_id: str, kind: str, item_id: str, doc: dict) -> None:
        self.db.execute(
            "INSERT INTO apigwv2_items(account, region, api_id, kind, item_id, seq, doc) "
            "VALUES(?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM apigwv2_items), ?) "
            "ON CONFLICT(account, region, api_id, kind, item_id) DO UPDATE SET doc = excluded.doc",
            (account, region, api_id, kind, item_id, orjson.dumps(doc).decode()),
        )

    def get_item(self, account: str, region: str, api_id: str, kind: str, item_id: str) -> dict | None:
        return _load(self.db.scalar(
            "SELECT doc FROM apigwv2_items WHERE account = ? AND region = ? AND api_id = ? AND kind = ? AND item_id = ?",
            (account, region, api_id, kind, item_id)))

    def list_items(self, account: str, region: str, api_id: str, kind: str) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM apigwv2_items WHERE account = ? AND region = ? AND api_id = ? AND kind = ? ORDER BY seq",
            (account, region, api_id, kind))]

    def delete_item(self, account: str, region: str, api_id: str, kind: str, item_id: str) -> bool:
        return self.db.execute(
            "DELETE FROM apigwv2_items WHERE account = ? AND region = ? AND api_id = ? AND kind = ? AND item_id = ?",
            (account, region, api_id, kind, item_id)) > 0

    def delete_kind(self, account: str, region: str, api_id: str, kind: str) -> None:
        self.db.execute("DELETE FROM apigwv2_items WHERE account = ? AND region = ? AND api_id = ? AND kind = ?",
                        (account, region, api_id, kind))

    # -- domain names --------------------------------------------------------------------------

    def put_domain(self, account: str, region: str, name: str, doc: dict) -> None:
        self.db.execute(
            "INSERT INTO apigwv2_domains(account, region, name, doc) VALUES(?, ?, ?, ?) "
            "ON CONFLICT(account, region, name) DO UPDATE SET doc = excluded.doc",
            (account, region, name, orjson.dumps(doc).decode()))

    def get_domain(self, account: str, region: str, name: str) -> dict | None:
        return _load(self.db.scalar("SELECT doc FROM apigwv2_domains WHERE account = ? AND region = ? AND name = ?",
                                    (account, region, name)))

    def find_domain(self, name: str) -> tuple[str, str, dict] | None:
        row = self.db.query_one("SELECT account, region, doc FROM apigwv2_domains WHERE name = ?", (name,))
        return (row[0], row[1], orjson.loads(row[2])) if row else None

    def list_domains(self, account: str, region: str) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM apigwv2_domains WHERE account = ? AND region = ? ORDER BY rowid", (account, region))]

    def delete_domain(self, account: str, region: str, name: str) -> bool:
        with self.db.transaction():
            self.db.execute("DELETE FROM apigwv2_items WHERE account = ? AND region = ? AND api_id = ? AND kind = 'mapping'",
                            (account, region, "domain:" + name))
            return self.db.execute("DELETE FROM apigwv2_domains WHERE account = ? AND region = ? AND name = ?",
                                   (account, region, name)) > 0

    # -- tags ----------------------------------------------------------------------------------

    def get_tags(self, arn: str) -> dict:
        return _load(self.db.scalar("SELECT tags FROM apigwv2_tags WHERE arn = ?", (arn,))) or {}

    def set_tags(self, arn: str, tags: dict) -> None:
        if not tags:
            self.db.execute("DELETE FROM apigwv2_tags WHERE arn = ?", (arn,))
            return
        self.db.execute("INSERT INTO apigwv2_tags(arn, tags) VALUES(?, ?) ON CONFLICT(arn) DO UPDATE SET tags = excluded.tags",
                        (arn, orjson.dumps(tags).decode()))

    # -- connections ---------------------------------------------------------------------------

    def add_connection(self, connection_id: str, account: str, region: str, api_id: str, stage: str,
                       connected_at: float, source_ip: str, user_agent: str | None, node: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO apigwv2_connections(connection_id, account, region, api_id, stage, connected_at, "
            "last_active_at, source_ip, user_agent, node) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (connection_id, account, region, api_id, stage, connected_at, connected_at, source_ip, user_agent, node))

    def connection_node(self, connection_id: str) -> tuple[str, str] | None:
        """(api id, node holding the socket) of an open connection."""
        return self.db.query_one("SELECT api_id, node FROM apigwv2_connections WHERE connection_id = ?",
                                 (connection_id,))

    def get_connection(self, connection_id: str) -> tuple | None:
        """(account, region, api_id, stage, connected_at, last_active_at, source_ip, user_agent)."""
        return self.db.query_one(
            "SELECT account, region, api_id, stage, connected_at, last_active_at, source_ip, user_agent "
            "FROM apigwv2_connections WHERE connection_id = ?", (connection_id,))

    def touch_connection(self, connection_id: str, when: float) -> None:
        self.db.execute("UPDATE apigwv2_connections SET last_active_at = ? WHERE connection_id = ?", (when, connection_id))

    def remove_connection(self, connection_id: str) -> None:
        self.db.execute("DELETE FROM apigwv2_connections WHERE connection_id = ?", (connection_id,))

    def clear_connections(self, keep_nodes: list[str] | None = None) -> None:
        """Forget the connections of servers that stopped; on a cluster, those of the nodes
        still running (`keep_nodes`) stay."""
        if not keep_nodes:
            self.db.execute("DELETE FROM apigwv2_connections")
            return
        marks = ", ".join("?" * len(keep_nodes))
        self.db.execute(f"DELETE FROM apigwv2_connections WHERE node NOT IN ({marks})", keep_nodes)


def has_pending_work(db) -> bool:
    """At start-up: WebSocket connection rows of the previous run to clear? (Called only once the service's schema exists.)"""
    return db.scalar('SELECT 1 FROM apigwv2_connections LIMIT 1') is not None
