"""Secrets Manager tables: secrets, their versions (sealed values) and staging labels."""

from __future__ import annotations

from overcast.storage import Database

SCHEMA = "secretsmanager"  # its version row in schema_versions
MIGRATIONS = [
    """
    CREATE TABLE sm_secrets (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        arn TEXT NOT NULL,
        description TEXT,
        kms_key_id TEXT,
        tags TEXT NOT NULL DEFAULT '[]',
        policy TEXT,
        created REAL NOT NULL,
        changed REAL NOT NULL,
        accessed REAL,
        delete_at REAL,
        rotation_lambda TEXT,
        rotation_rules TEXT,
        rotation_enabled INTEGER NOT NULL DEFAULT 0,
        last_rotated REAL,
        next_rotation REAL,
        PRIMARY KEY (account, region, name)
    );
    CREATE UNIQUE INDEX sm_secrets_by_arn ON sm_secrets(arn);
    CREATE TABLE sm_versions (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        version_id TEXT NOT NULL,
        value BLOB,
        is_binary INTEGER NOT NULL DEFAULT 0,
        created REAL NOT NULL,
        accessed REAL,
        PRIMARY KEY (account, region, name, version_id)
    );
    CREATE TABLE sm_stages (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        stage TEXT NOT NULL,
        version_id TEXT NOT NULL,
        PRIMARY KEY (account, region, name, stage)
    );
    """,
    # AWS leaves Tags out of DescribeSecret and ListSecrets until a secret has had tags, and
    # answers [] once the last is removed: tags_shown records which of the two an empty list is.
    """
    ALTER TABLE sm_secrets ADD COLUMN tags_shown INTEGER NOT NULL DEFAULT 0;
    UPDATE sm_secrets SET tags_shown = 1 WHERE tags != '[]';
    """,
]

SECRET = ("name, arn, description, kms_key_id, tags, policy, created, changed, accessed, delete_at, rotation_lambda, "
          "rotation_rules, rotation_enabled, last_rotated, next_rotation, account, region, tags_shown")
UPDATABLE = {"description", "kms_key_id", "tags", "policy", "changed", "accessed", "delete_at", "rotation_lambda",
             "rotation_rules", "rotation_enabled", "last_rotated", "next_rotation", "tags_shown"}


def has_pending_work(db: Database) -> bool:
    """Secrets waiting for their deletion date or their next rotation."""
    return db.scalar("SELECT 1 FROM sm_secrets WHERE delete_at IS NOT NULL OR next_rotation IS NOT NULL LIMIT 1") \
        is not None


class SecretsStore:
    def __init__(self, db: Database):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)

    def transaction(self):
        return self.db.transaction()

    # -- secrets -------------------------------------------------------------------------------

    def by_name(self, account, region, name):
        return self.db.query_one(f"SELECT {SECRET} FROM sm_secrets WHERE account=? AND region=? AND name=?",
                                 (account, region, name))

    def by_arn(self, arn):
        return self.db.query_one(f"SELECT {SECRET} FROM sm_secrets WHERE arn=?", (arn,))

    def tagged(self, account: str, region: str) -> list[tuple]:
        """(arn, tags as stored) of the secrets (not those scheduled for deletion) of an account's region that have tags, for the
        Resource Groups Tagging API."""
        return self.db.query("SELECT arn, tags FROM sm_secrets WHERE account=? AND region=? AND tags != '[]' AND delete_at IS NULL ORDER BY arn", (account, region))

    def create(self, account, region, name, arn, description, kms_key_id, tags: str, now: float) -> None:
        self.db.execute(
            "INSERT INTO sm_secrets(account, region, name, arn, description, kms_key_id, tags, created, changed, "
            "tags_shown) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (account, region, name, arn, description, kms_key_id, tags, now, now, int(tags != "[]")))

    def update(self, account, region, name, **fields) -> None:
        assert set(fields) <= UPDATABLE
        assignments = ", ".join(f"{k}=?" for k in fields)
        self.db.execute(f"UPDATE sm_secrets SET {assignments} WHERE account=? AND region=? AND name=?",
                        (*fields.values(), account, region, name))

    def delete(self, account, region, name) -> None:
        with self.db.transaction():
            for table in ("sm_stages", "sm_versions", "sm_secrets"):
                self.db.execute(f"DELETE FROM {table} WHERE account=? AND region=? AND name=?", (account, region, name))

    def page(self, account, region, order: str, descending: bool, offset: int, limit: int):
        direction = "DESC" if descending else "ASC"
        return self.db.query(f"SELECT {SECRET} FROM sm_secrets WHERE account=? AND region=? "
                             f"ORDER BY {order} {direction}, name {direction} LIMIT ? OFFSET ?",
                             (account, region, limit, offset))

    def timed(self):
        """Every secret with a deletion date or a next rotation: (account, region, name, delete_at, next_rotation)."""
        return self.db.query("SELECT account, region, name, delete_at, next_rotation FROM sm_secrets "
                             "WHERE delete_at IS NOT NULL OR next_rotation IS NOT NULL")

    # -- versions and stages -------------------------------------------------------------------

    def versions(self, account, region, name):
        """(version_id, created, accessed, has_value) in creation order."""
        return self.db.query("SELECT version_id, created, accessed, value IS NOT NULL FROM sm_versions "
                             "WHERE account=? AND region=? AND name=? ORDER BY created, version_id",
                             (account, region, name))

    def version(self, account, region, name, version_id):
        """(value, is_binary, created) or None."""
        return self.db.query_one("SELECT value, is_binary, created FROM sm_versions "
                                 "WHERE account=? AND region=? AND name=? AND version_id=?",
                                 (account, region, name, version_id))

    def add_version(self, account, region, name, version_id, value: bytes | None, is_binary: bool, now: float) -> None:
        self.db.execute("INSERT INTO sm_versions(account, region, name, version_id, value, is_binary, created) "
                        "VALUES (?,?,?,?,?,?,?)", (account, region, name, version_id, value, int(is_binary), now))

    def fill_version(self, account, region, name, version_id, value: bytes, is_binary: bool) -> None:
        self.db.execute("UPDATE sm_versions SET value=?, is_binary=? WHERE account=? AND region=? AND name=? "
                        "AND version_id=?", (value, int(is_binary), account, region, name, version_id))

    def touch_version(self, account, region, name, version_id, day: float) -> None:
        """Record a read on `day` (a write only the first time each day)."""
        self.db.execute("UPDATE sm_secrets SET accessed=? WHERE account=? AND region=? AND name=? "
                        "AND (accessed IS NULL OR accessed < ?)", (day, account, region, name, day))
        self.db.execute("UPDATE sm_versions SET accessed=? WHERE account=? AND region=? AND name=? AND version_id=? "
                        "AND (accessed IS NULL OR accessed < ?)", (day, account, region, name, version_id, day))

    def drop_version(self, account, region, name, version_id) -> None:
        self.db.execute("DELETE FROM sm_versions WHERE account=? AND region=? AND name=? AND version_id=?",
                        (account, region, name, version_id))

    def stages(self, account, region, name) -> dict[str, str]:
        """stage -> version id."""
        return dict(self.db.query("SELECT stage, version_id FROM sm_stages WHERE account=? AND region=? AND name=?",
                                  (account, region, name)))

    def set_stage(self, account, region, name, stage, version_id) -> None:
        self.db.execute("INSERT INTO sm_stages(account, region, name, stage, version_id) VALUES (?,?,?,?,?) "
                        "ON CONFLICT DO UPDATE SET version_id=excluded.version_id",
                        (account, region, name, stage, version_id))

    def remove_stage(self, account, region, name, stage) -> None:
        self.db.execute("DELETE FROM sm_stages WHERE account=? AND region=? AND name=? AND stage=?",
                        (account, region, name, stage))
