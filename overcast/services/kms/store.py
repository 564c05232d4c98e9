"""KMS's tables: keys (metadata as JSON, key material sealed), aliases and grants."""

from __future__ import annotations

import orjson

from overcast.storage import Database

SCHEMA = "kms"  # its version row in schema_versions
MIGRATIONS = [
    """
    CREATE TABLE kms_keys (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        key_id TEXT NOT NULL,
        metadata TEXT NOT NULL,
        material BLOB NOT NULL,
        tags TEXT NOT NULL DEFAULT '[]',
        policy TEXT NOT NULL,
        PRIMARY KEY (account, region, key_id)
    );
    CREATE TABLE kms_aliases (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        key_id TEXT NOT NULL,
        created REAL NOT NULL,
        updated REAL NOT NULL,
        PRIMARY KEY (account, region, name)
    );
    """,
    # grants: the grant token is a secret of its own (RetireGrant takes it), kept beside the grant
    """
    CREATE TABLE kms_grants (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        grant_id TEXT NOT NULL,
        key_id TEXT NOT NULL,
        token TEXT NOT NULL,
        grant_doc TEXT NOT NULL,
        PRIMARY KEY (account, region, grant_id)
    );
    CREATE INDEX kms_grants_key ON kms_grants (account, region, key_id);
    CREATE INDEX kms_grants_token ON kms_grants (token);
    """,
]


class KmsStore:
    def __init__(self, db: Database):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)

    def transaction(self):
        return self.db.transaction()

    def create_key(self, account: str, region: str, key_id: str, metadata: dict, material: bytes, tags: list,
                   policy: str) -> None:
        self.db.execute("INSERT INTO kms_keys (account, region, key_id, metadata, material, tags, policy) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)", (account, region, key_id, orjson.dumps(metadata).decode(),
                                                        material, orjson.dumps(tags).decode(), policy))

    def get_key(self, account: str, region: str, key_id: str) -> tuple[dict, bytes, list, str] | None:
        row = self.db.query_one("SELECT metadata, material, tags, policy FROM kms_keys WHERE account = ? AND "
                                "region = ? AND key_id = ?", (account, region, key_id))
        if row is None:
            return None
        return orjson.loads(row[0]), bytes(row[1]), orjson.loads(row[2]), row[3]

    def save_metadata(self, account: str, region: str, key_id: str, metadata: dict) -> None:
        self.db.execute("UPDATE kms_keys SET metadata = ? WHERE account = ? AND region = ? AND key_id = ?",
                        (orjson.dumps(metadata).decode(), account, region, key_id))

    def save_material(self, account: str, region: str, key_id: str, metadata: dict, material: bytes) -> None:
        self.db.execute("UPDATE kms_keys SET metadata = ?, material = ? WHERE account = ? AND region = ? AND "
                        "key_id = ?", (orjson.dumps(metadata).decode(), material, account, region, key_id))

    def save_tags(self, account: str, region: str, key_id: str, tags: list) -> None:
        self.db.execute("UPDATE kms_keys SET tags = ? WHERE account = ? AND region = ? AND key_id = ?",
                        (orjson.dumps(tags).decode(), account, region, key_id))

    def save_policy(self, account: str, region: str, key_id: str, policy: str) -> None:
        self.db.execute("UPDATE kms_keys SET policy = ? WHERE account = ? AND region = ? AND key_id = ?",
                        (policy, account, region, key_id))

    def key_regions(self, account: str, key_id: str) -> list[str]:
        """The regions that hold a key of this id (a multi-Region key and its replicas)."""
        return [r[0] for r in self.db.query("SELECT region FROM kms_keys WHERE account = ? AND key_id = ? "
                                            "ORDER BY region", (account, key_id))]

    def list_keys(self, account: str, region: str, after: str, limit: int) -> list[tuple[str, dict]]:
        rows = self.db.query("SELECT key_id, metadata FROM kms_keys WHERE account = ? AND region = ? AND key_id > ? "
                             "ORDER BY key_id LIMIT ?", (account, region, after, limit))
        return [(r[0], orjson.loads(r[1])) for r in rows]

    # -- aliases ------------------------------------------------------------------------------

    def get_alias(self, account: str, region: str, name: str) -> tuple | None:
        return self.db.query_one("SELECT name, key_id, created, updated FROM kms_aliases WHERE account = ? AND "
                                 "region = ? AND name = ?", (account, region, name))

    def put_alias(self, account: str, region: str, name: str, key_id: str, now: float) -> None:
        self.db.execute("INSERT INTO kms_aliases (account, region, name, key_id, created, updated) "
                        "VALUES (?, ?, ?, ?, ?, ?)", (account, region, name, key_id, now, now))

    def retarget_alias(self, account: str, region: str, name: str, key_id: str, now: float) -> None:
        self.db.execute("UPDATE kms_aliases SET key_id = ?, updated = ? WHERE account = ? AND region = ? AND name = ?",
                        (key_id, now, account, region, name))

    def delete_alias(self, account: str, region: str, name: str) -> None:
        self.db.execute("DELETE FROM kms_aliases WHERE account = ? AND region = ? AND name = ?",
                        (account, region, name))

    def list_aliases(self, account: str, region: str, key_id: str | None, after: str, limit: int) -> list[tuple]:
        sql = "SELECT name, key_id, created, updated FROM kms_aliases WHERE account = ? AND region = ? AND name > ?"
        params: list = [account, region, after]
        if key_id is not None:
            sql += " AND key_id = ?"
            params.append(key_id)
        return self.db.query(sql + " ORDER BY name LIMIT ?", (*params, limit))

    # -- grants -------------------------------------------------------------------------------

    def put_grant(self, account: str, region: str, grant_id: str, key_id: str, token: str, grant: dict) -> None:
        self.db.execute("INSERT INTO kms_grants (account, region, grant_id, key_id, token, grant_doc) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (account, region, grant_id, key_id, token, orjson.dumps(grant).decode()))

    def grants(self, account: str, region: str, key_id: str) -> list[tuple[str, str, dict]]:
        rows = self.db.query("SELECT grant_id, token, grant_doc FROM kms_grants WHERE account = ? AND region = ? "
                             "AND key_id = ? ORDER BY grant_id", (account, region, key_id))
        return [(r[0], r[1], orjson.loads(r[2])) for r in rows]

    def retirable_grants(self, account: str, region: str, principal: str) -> list[dict]:
        rows = self.db.query("SELECT grant_doc FROM kms_grants WHERE account = ? AND region = ? ORDER BY grant_id",
                             (account, region))
        return [g for g in (orjson.loads(r[0]) for r in rows) if g.get("RetiringPrincipal") == principal]

    def grant_by_token(self, token: str) -> tuple[str, str, str, str] | None:
        """(account, region, key id, grant id) of the grant whose token this is."""
        return self.db.query_one("SELECT account, region, key_id, grant_id FROM kms_grants WHERE token = ?", (token,))

    def delete_grant(self, account: str, region: str, grant_id: str) -> None:
        self.db.execute("DELETE FROM kms_grants WHERE account = ? AND region = ? AND grant_id = ?",
                        (account, region, grant_id))

    def delete_grants_of(self, account: str, region: str, key_id: str) -> None:
        self.db.execute("DELETE FROM kms_grants WHERE account = ? AND region = ? AND key_id = ?",
                        (account, region, key_id))
