"""Cognito identity pools' tables: pools (with their roles), identities and the logins linked to
them, and the key that signs the pools' OpenID tokens."""

from __future__ import annotations

import orjson

SCHEMA = "cognito-identity"  # its version row in schema_versions
MIGRATIONS = [
    """
    CREATE TABLE cognito_identity_pools (
        id TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX cognito_identity_pools_scope ON cognito_identity_pools(account, region);
    CREATE TABLE cognito_identities (
        id TEXT PRIMARY KEY,
        pool TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX cognito_identities_pool ON cognito_identities(pool);
    CREATE TABLE cognito_identity_logins (
        pool TEXT NOT NULL,
        login TEXT NOT NULL,
        identity TEXT NOT NULL,
        PRIMARY KEY (pool, login)
    );
    CREATE TABLE cognito_identity_keys (
        region TEXT PRIMARY KEY,
        private_key TEXT NOT NULL
    );
    """,
]


def _dumps(doc) -> str:
    return orjson.dumps(doc).decode()


class IdentityStore:
    def __init__(self, db):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)

    def transaction(self):
        return self.db.transaction()

    def put_pool(self, pool_id, account, region, doc: dict) -> None:
        self.db.execute("INSERT INTO cognito_identity_pools(id, account, region, doc) VALUES(?,?,?,?) "
                        "ON CONFLICT(id) DO UPDATE SET doc = excluded.doc", (pool_id, account, region, _dumps(doc)))

    def pool(self, pool_id: str) -> tuple[str, str, dict] | None:
        row = self.db.query_one("SELECT account, region, doc FROM cognito_identity_pools WHERE id = ?", (pool_id,))
        return (row[0], row[1], orjson.loads(row[2])) if row else None

    def pools(self, account, region) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM cognito_identity_pools WHERE account = ? AND region = ? ORDER BY rowid", (account, region))]

    def delete_pool(self, pool_id: str) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM cognito_identity_logins WHERE pool = ?", (pool_id,))
            self.db.execute("DELETE FROM cognito_identities WHERE pool = ?", (pool_id,))
            self.db.execute("DELETE FROM cognito_identity_pools WHERE id = ?", (pool_id,))

    def identity(self, identity_id: str) -> tuple[str, dict] | None:
        row = self.db.query_one("SELECT pool, doc FROM cognito_identities WHERE id = ?", (identity_id,))
        return (row[0], orjson.loads(row[1])) if row else None

    def put_identity(self, identity_id, pool_id, doc: dict) -> None:
        self.db.execute("INSERT INTO cognito_identities(id, pool, doc) VALUES(?,?,?) "
                        "ON CONFLICT(id) DO UPDATE SET doc = excluded.doc", (identity_id, pool_id, _dumps(doc)))

    def identities(self, pool_id: str) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM cognito_identities WHERE pool = ? ORDER BY rowid", (pool_id,))]

    def identity_for_login(self, pool_id, login: str) -> str | None:
        return self.db.scalar("SELECT identity FROM cognito_identity_logins WHERE pool = ? AND login = ?",
                              (pool_id, login))

    def link(self, pool_id, login: str, identity_id: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO cognito_identity_logins(pool, login, identity) VALUES(?,?,?)",
                        (pool_id, login, identity_id))

    def delete_identity(self, identity_id: str) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM cognito_identity_logins WHERE identity = ?", (identity_id,))
            self.db.execute("DELETE FROM cognito_identities WHERE id = ?", (identity_id,))

    def signing_key(self, region: str, make) -> str:
        pem = self.db.scalar("SELECT private_key FROM cognito_identity_keys WHERE region = ?", (region,))
        if pem is None:
            self.db.execute("INSERT OR IGNORE INTO cognito_identity_keys(region, private_key) VALUES(?, ?)",
                            (region, make()))
            pem = self.db.scalar("SELECT private_key FROM cognito_identity_keys WHERE region = ?", (region,))
        return pem
