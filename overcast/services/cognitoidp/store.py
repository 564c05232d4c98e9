"""Cognito user pools' tables: pools (with their signing key), app clients, users (with their
password hash and SRP verifier), groups and memberships, domains, resource servers, refresh
tokens, codes sent to users, and auth sessions between challenges."""

from __future__ import annotations

import time

import orjson

SCHEMA = "cognito-idp"  # its version row in schema_versions
MIGRATIONS = [
    """
    CREATE TABLE cognito_pools (
        id TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        doc TEXT NOT NULL,
        private_key TEXT NOT NULL
    );
    CREATE INDEX cognito_pools_scope ON cognito_pools(account, region);
    CREATE TABLE cognito_clients (
        id TEXT PRIMARY KEY,
        pool TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX cognito_clients_pool ON cognito_clients(pool);
    CREATE TABLE cognito_users (
        pool TEXT NOT NULL,
        username TEXT NOT NULL,
        sub TEXT NOT NULL,
        email TEXT,
        phone TEXT,
        preferred TEXT,
        doc TEXT NOT NULL,
        PRIMARY KEY (pool, username)
    );
    CREATE INDEX cognito_users_sub ON cognito_users(pool, sub);
    CREATE INDEX cognito_users_email ON cognito_users(pool, email);
    CREATE INDEX cognito_users_phone ON cognito_users(pool, phone);
    CREATE INDEX cognito_users_preferred ON cognito_users(pool, preferred);
    CREATE TABLE cognito_groups (
        pool TEXT NOT NULL,
        name TEXT NOT NULL,
        doc TEXT NOT NULL,
        PRIMARY KEY (pool, name)
    );
    CREATE TABLE cognito_memberships (
        pool TEXT NOT NULL,
        username TEXT NOT NULL,
        grp TEXT NOT NULL,
        PRIMARY KEY (pool, username, grp)
    );
    CREATE TABLE cognito_domains (
        domain TEXT PRIMARY KEY,
        pool TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE TABLE cognito_resource_servers (
        pool TEXT NOT NULL,
        identifier TEXT NOT NULL,
        doc TEXT NOT NULL,
        PRIMARY KEY (pool, identifier)
    );
    CREATE TABLE cognito_refresh_tokens (
        token TEXT PRIMARY KEY,
        pool TEXT NOT NULL,
        client TEXT NOT NULL,
        username TEXT NOT NULL,
        origin TEXT NOT NULL,
        issued REAL NOT NULL,
        expires REAL NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX cognito_refresh_user ON cognito_refresh_tokens(pool, username);
    CREATE INDEX cognito_refresh_origin ON cognito_refresh_tokens(origin);
    CREATE TABLE cognito_codes (
        pool TEXT NOT NULL,
        username TEXT NOT NULL,
        purpose TEXT NOT NULL,
        code TEXT NOT NULL,
        expires REAL NOT NULL,
        destination TEXT,
        sent REAL NOT NULL,
        PRIMARY KEY (pool, username, purpose)
    );
    CREATE TABLE cognito_sessions (
        id TEXT PRIMARY KEY,
        expires REAL NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE TABLE cognito_auth_codes (
        code TEXT PRIMARY KEY,
        expires REAL NOT NULL,
        doc TEXT NOT NULL
    );
    """,
]

_USER_COLUMNS = "doc"


def _dumps(doc) -> str:
    return orjson.dumps(doc).decode()


class CognitoStore:
    def __init__(self, db):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)

    def transaction(self):
        return self.db.transaction()

    # -- pools -------------------------------------------------------------------------------------

    def put_pool(self, pool_id, account, region, doc: dict, private_key: str | None = None) -> None:
        if private_key is not None:
            self.db.execute("INSERT INTO cognito_pools(id, account, region, doc, private_key) VALUES(?,?,?,?,?)",
                            (pool_id, account, region, _dumps(doc), private_key))
        else:
            self.db.execute("UPDATE cognito_pools SET doc = ? WHERE id = ?", (_dumps(doc), pool_id))

    def pool(self, pool_id: str) -> dict | None:
        row = self.db.query_one("SELECT doc FROM cognito_pools WHERE id = ?", (pool_id,))
        return orjson.loads(row[0]) if row else None

    def pool_scope(self, pool_id: str) -> tuple[str, str] | None:
        row = self.db.query_one("SELECT account, region FROM cognito_pools WHERE id = ?", (pool_id,))
        return (row[0], row[1]) if row else None

    def private_key(self, pool_id: str) -> str | None:
        return self.db.scalar("SELECT private_key FROM cognito_pools WHERE id = ?", (pool_id,))

    def pools(self, account, region) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM cognito_pools WHERE account = ? AND region = ? ORDER BY rowid", (account, region))]

    def delete_pool(self, pool_id: str) -> None:
        with self.db.transaction():
            for table in ("cognito_clients", "cognito_users", "cognito_groups", "cognito_memberships",
                          "cognito_domains", "cognito_resource_servers", "cognito_refresh_tokens", "cognito_codes"):
                self.db.execute(f"DELETE FROM {table} WHERE pool = ?", (pool_id,))
            self.db.execute("DELETE FROM cognito_pools WHERE id = ?", (pool_id,))

    # -- clients -----------------------------------------------------------------------------------

    def put_client(self, client_id, pool_id, doc: dict) -> None:
        self.db.execute("INSERT INTO cognito_clients(id, pool, doc) VALUES(?,?,?) "
                        "ON CONFLICT(id) DO UPDATE SET doc = excluded.doc", (client_id, pool_id, _dumps(doc)))

    def client(self, client_id: str) -> dict | None:
        row = self.db.query_one("SELECT doc FROM cognito_clients WHERE id = ?", (client_id,))
        return orjson.loads(row[0]) if row else None

    def clients(self, pool_id: str) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM cognito_clients WHERE pool = ? ORDER BY rowid", (pool_id,))]

    def delete_client(self, client_id: str) -> None:
        self.db.execute("DELETE FROM cognito_clients WHERE id = ?", (client_id,))

    # -- users ---------------------------------------------------------------------------------------

    def put_user(self, pool_id: str, doc: dict) -> None:
        attrs = doc["Attributes"]
        self.db.execute(
            "INSERT INTO cognito_users(pool, username, sub, email, phone, preferred, doc) VALUES(?,?,?,?,?,?,?) "
            "ON CONFLICT(pool, username) DO UPDATE SET email = excluded.email, phone = excluded.phone, "
            "preferred = excluded.preferred, doc = excluded.doc",
            (pool_id, doc["Username"], attrs["sub"], (attrs.get("email") or "").lower() or None,
             attrs.get("phone_number"), (attrs.get("preferred_username") or "").lower() or None, _dumps(doc)))

    def user(self, pool_id: str, username: str) -> dict | None:
        row = self.db.query_one("SELECT doc FROM cognito_users WHERE pool = ? AND username = ?", (pool_id, username))
        return orjson.loads(row[0]) if row else None

    def user_by(self, pool_id: str, column: str, value: str) -> list[dict]:
        assert column in ("sub", "email", "phone", "preferred")
        return [orjson.loads(r[0]) for r in self.db.query(
            f"SELECT doc FROM cognito_users WHERE pool = ? AND {column} = ?", (pool_id, value))]

    def users(self, pool_id: str) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM cognito_users WHERE pool = ? ORDER BY rowid", (pool_id,))]

    def delete_user(self, pool_id: str, username: str) -> None:
        with self.db.transaction():
            for table in ("cognito_users", "cognito_memberships", "cognito_refresh_tokens", "cognito_codes"):
                self.db.execute(f"DELETE FROM {table} WHERE pool = ? AND username = ?", (pool_id, username))

    # -- groups ----------------------------------------------------------------------------------------

    def put_group(self, pool_id: str, doc: dict) -> None:
        self.db.execute("INSERT INTO cognito_groups(pool, name, doc) VALUES(?,?,?) "
                        "ON CONFLICT(pool, name) DO UPDATE SET doc = excluded.doc",
                        (pool_id, doc["GroupName"], _dumps(doc)))

    def group(self, pool_id: str, name: str) -> dict | None:
        row = self.db.query_one("SELECT doc FROM cognito_groups WHERE pool = ? AND name = ?", (pool_id, name))
        return orjson.loads(row[0]) if row else None

    def groups(self, pool_id: str) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM cognito_groups WHERE pool = ? ORDER BY name", (pool_id,))]

    def delete_group(self, pool_id: str, name: str) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM cognito_memberships WHERE pool = ? AND grp = ?", (pool_id, name))
            self.db.execute("DELETE FROM cognito_groups WHERE pool = ? AND name = ?", (pool_id, name))

    def add_member(self, pool_id, username, group) -> None:
        self.db.execute("INSERT OR IGNORE INTO cognito_memberships(pool, username, grp) VALUES(?,?,?)",
                        (pool_id, username, group))

    def remove_member(self, pool_id, username, group) -> None:
        self.db.execute("DELETE FROM cognito_memberships WHERE pool = ? AND username = ? AND grp = ?",
                        (pool_id, username, group))

    def groups_of(self, pool_id, username) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT g.doc FROM cognito_memberships m JOIN cognito_groups g ON g.pool = m.pool AND g.name = m.grp "
            "WHERE m.pool = ? AND m.username = ? ORDER BY g.name", (pool_id, username))]

    def members(self, pool_id, group) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT u.doc FROM cognito_memberships m JOIN cognito_users u ON u.pool = m.pool AND "
            "u.username = m.username WHERE m.pool = ? AND m.grp = ? ORDER BY u.username", (pool_id, group))]

    # -- domains and resource servers ------------------------------------------------------------------

    def put_domain(self, domain, pool_id, doc: dict) -> None:
        self.db.execute("INSERT INTO cognito_domains(domain, pool, doc) VALUES(?,?,?) "
                        "ON CONFLICT(domain) DO UPDATE SET doc = excluded.doc", (domain, pool_id, _dumps(doc)))

    def domain(self, domain: str) -> dict | None:
        row = self.db.query_one("SELECT doc FROM cognito_domains WHERE domain = ?", (domain,))
        return orjson.loads(row[0]) if row else None

    def delete_domain(self, domain: str) -> None:
        self.db.execute("DELETE FROM cognito_domains WHERE domain = ?", (domain,))

    def put_resource_server(self, pool_id, doc: dict) -> None:
        self.db.execute("INSERT INTO cognito_resource_servers(pool, identifier, doc) VALUES(?,?,?) "
                        "ON CONFLICT(pool, identifier) DO UPDATE SET doc = excluded.doc",
                        (pool_id, doc["Identifier"], _dumps(doc)))

    def resource_server(self, pool_id, identifier) -> dict | None:
        row = self.db.query_one("SELECT doc FROM cognito_resource_servers WHERE pool = ? AND identifier = ?",
                                (pool_id, identifier))
        return orjson.loads(row[0]) if row else None

    def resource_servers(self, pool_id) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM cognito_resource_servers WHERE pool = ? ORDER BY identifier", (pool_id,))]

    def delete_resource_server(self, pool_id, identifier) -> None:
        self.db.execute("DELETE FROM cognito_resource_servers WHERE pool = ? AND identifier = ?", (pool_id, identifier))

    # -- refresh tokens -------------------------------------------------------------------------------

    def put_refresh(self, token, pool_id, client_id, username, origin, expires) -> None:
        self.db.execute("INSERT INTO cognito_refresh_tokens(token, pool, client, username, origin, issued, expires) "
                        "VALUES(?,?,?,?,?,?,?)", (token, pool_id, client_id, username, origin, time.time(), expires))

    def refresh(self, token: str) -> dict | None:
        row = self.db.query_one("SELECT pool, client, username, origin, issued, expires, revoked "
                                "FROM cognito_refresh_tokens WHERE token = ?", (token,))
        if row is None:
            return None
        return dict(zip(("pool", "client", "username", "origin", "issued", "expires", "revoked"), row, strict=True))

    def origin_revoked(self, origin: str) -> bool:
        """Whether the sign-in that issued tokens with this origin_jti was revoked (RevokeToken,
        GlobalSignOut)."""
        return bool(self.db.scalar("SELECT revoked FROM cognito_refresh_tokens WHERE origin = ?", (origin,)))

    def revoke_refresh(self, token: str) -> None:
        self.db.execute("UPDATE cognito_refresh_tokens SET revoked = 1 WHERE token = ?", (token,))

    def revoke_user_tokens(self, pool_id, username) -> None:
        self.db.execute("UPDATE cognito_refresh_tokens SET revoked = 1 WHERE pool = ? AND username = ?",
                        (pool_id, username))

    # -- codes "sent" to users --------------------------------------------------------------------------

    def put_code(self, pool_id, username, purpose, code, expires, destination) -> None:
        self.db.execute("INSERT INTO cognito_codes(pool, username, purpose, code, expires, destination, sent) "
                        "VALUES(?,?,?,?,?,?,?) ON CONFLICT(pool, username, purpose) DO UPDATE SET "
                        "code = excluded.code, expires = excluded.expires, destination = excluded.destination, "
                        "sent = excluded.sent", (pool_id, username, purpose, code, expires, destination, time.time()))

    def code(self, pool_id, username, purpose) -> tuple[str, float] | None:
        row = self.db.query_one("SELECT code, expires FROM cognito_codes WHERE pool = ? AND username = ? "
                                "AND purpose = ?", (pool_id, username, purpose))
        return (row[0], row[1]) if row else None

    def delete_code(self, pool_id, username, purpose) -> None:
        self.db.execute("DELETE FROM cognito_codes WHERE pool = ? AND username = ? AND purpose = ?",
                        (pool_id, username, purpose))

    def codes(self, account: str, pool_id: str | None = None) -> list[dict]:
        """The codes "sent" to users of the account's pools (of one pool), oldest first."""
        sql = ("SELECT c.pool, c.username, c.purpose, c.code, c.expires, c.destination, c.sent FROM cognito_codes c "
               "JOIN cognito_pools p ON p.id = c.pool WHERE p.account = ?")
        rows = self.db.query(sql + (" AND c.pool = ?" if pool_id else "") + " ORDER BY c.sent",
                             (account, pool_id) if pool_id else (account,))
        keys = ("userPoolId", "username", "purpose", "code", "expires", "destination", "sent")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    # -- sessions between challenges, and OAuth2 authorization codes ------------------------------------

    def put_session(self, session_id, doc: dict, expires: float) -> None:
        self.put_sessions([(session_id, doc, expires)])

    def put_sessions(self, sessions: list[tuple[str, dict, float]]) -> None:
        """(id, doc, expires) rows in one write, expired sessions dropped on the way."""
        with self.db.transaction():
            self.db.execute("DELETE FROM cognito_sessions WHERE expires < ?", (time.time(),))
            for session_id, doc, expires in sessions:
                self.db.execute("INSERT INTO cognito_sessions(id, expires, doc) VALUES(?,?,?) "
                                "ON CONFLICT(id) DO UPDATE SET doc = excluded.doc, expires = excluded.expires",
                                (session_id, expires, _dumps(doc)))

    def take_session(self, session_id: str) -> dict | None:
        with self.db.transaction():
            row = self.db.query_one("SELECT doc, expires FROM cognito_sessions WHERE id = ?", (session_id,))
            self.db.execute("DELETE FROM cognito_sessions WHERE id = ?", (session_id,))
        if row is None or row[1] < time.time():
            return None
        return orjson.loads(row[0])

    def put_auth_code(self, code, doc: dict, expires: float) -> None:
        self.db.execute("INSERT INTO cognito_auth_codes(code, expires, doc) VALUES(?,?,?)",
                        (code, expires, _dumps(doc)))

    def take_auth_code(self, code: str) -> dict | None:
        with self.db.transaction():
            row = self.db.query_one("SELECT doc, expires FROM cognito_auth_codes WHERE code = ?", (code,))
            self.db.execute("DELETE FROM cognito_auth_codes WHERE code = ?", (code,))
        if row is None or row[1] < time.time():
            return None
        return orjson.loads(row[0])
