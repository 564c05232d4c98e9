"""STS's table: the temporary credentials it issued, so that a later request signed with one
of them knows whose identity it carries (GetCallerIdentity, GetAccessKeyInfo)."""

from __future__ import annotations

from dataclasses import dataclass

from overcast.storage import Database

SCHEMA = "sts"  # its version row in schema_versions
MIGRATIONS = [
    """
    CREATE TABLE sts_credentials (
        access_key_id TEXT PRIMARY KEY,
        account TEXT NOT NULL,          -- the account whose identity the credentials carry
        secret TEXT NOT NULL,
        session_token TEXT NOT NULL,
        kind TEXT NOT NULL,             -- assumed-role | federated-user | session
        arn TEXT NOT NULL,              -- GetCallerIdentity's Arn
        user_id TEXT NOT NULL,          -- GetCallerIdentity's UserId
        role_arn TEXT,
        session_name TEXT,
        expiration REAL NOT NULL,
        created REAL NOT NULL
    );
    CREATE INDEX sts_credentials_by_expiration ON sts_credentials(expiration);
    """,
    # the session's transitive tags ({key: value}, JSON), which a role chained from it inherits
    "ALTER TABLE sts_credentials ADD COLUMN transitive_tags TEXT",
]


@dataclass(slots=True)
class Session:
    access_key_id: str
    account: str
    secret: str
    session_token: str
    kind: str
    arn: str
    user_id: str
    role_arn: str | None
    session_name: str | None
    expiration: float
    created: float
    transitive_tags: str | None = None


_COLUMNS = ("access_key_id, account, secret, session_token, kind, arn, user_id, role_arn, session_name, expiration, "
            "created, transitive_tags")


class StsStore:
    def __init__(self, db: Database):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)

    def add(self, session: Session) -> None:
        with self.db.transaction():
            # Forget credentials that expired more than a day ago: the table stays small.
            self.db.execute("DELETE FROM sts_credentials WHERE expiration < ?", (session.created - 86400,))
            self.db.execute(
                f"INSERT INTO sts_credentials({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (session.access_key_id, session.account, session.secret, session.session_token, session.kind,
                 session.arn, session.user_id, session.role_arn, session.session_name, session.expiration,
                 session.created, session.transitive_tags),
            )

    def get(self, access_key_id: str) -> Session | None:
        row = self.db.query_one(f"SELECT {_COLUMNS} FROM sts_credentials WHERE access_key_id = ?", (access_key_id,))
        return Session(*row) if row else None
