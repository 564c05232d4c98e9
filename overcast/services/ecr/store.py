"""ECR tables: repositories and their settings, lifecycle and repository policies."""

from __future__ import annotations

from overcast.storage import Database

SCHEMA = "ecr"  # its version row in schema_versions
MIGRATIONS = [
    """
    CREATE TABLE ecr_repositories (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        created REAL NOT NULL,
        mutability TEXT NOT NULL,
        exclusions TEXT,
        scan_on_push INTEGER NOT NULL DEFAULT 0,
        encryption TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '[]',
        lifecycle_policy TEXT,
        repository_policy TEXT,
        PRIMARY KEY (account, region, name)
    );
    """,
]

REPOSITORY = "name, created, mutability, exclusions, scan_on_push, encryption, tags, lifecycle_policy, repository_policy"
UPDATABLE = {"mutability", "exclusions", "scan_on_push", "tags", "lifecycle_policy", "repository_policy"}


class EcrStore:
    def __init__(self, db: Database):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)

    def create(self, account, region, name, created, mutability, exclusions, scan_on_push, encryption, tags) -> bool:
        return self.db.execute(
            "INSERT INTO ecr_repositories(account, region, name, created, mutability, exclusions, scan_on_push, "
            "encryption, tags) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
            (account, region, name, created, mutability, exclusions, int(scan_on_push), encryption, tags)) > 0

    def get(self, account, region, name):
        return self.db.query_one(f"SELECT {REPOSITORY} FROM ecr_repositories WHERE account=? AND region=? AND name=?",
                                 (account, region, name))

    def page(self, account, region, after: str, limit: int):
        return self.db.query(f"SELECT {REPOSITORY} FROM ecr_repositories WHERE account=? AND region=? AND name > ? "
                             "ORDER BY name LIMIT ?", (account, region, after, limit))

    def update(self, account, region, name, **fields) -> None:
        assert set(fields) <= UPDATABLE
        assignments = ", ".join(f"{k}=?" for k in fields)
        self.db.execute(f"UPDATE ecr_repositories SET {assignments} WHERE account=? AND region=? AND name=?",
                        (*fields.values(), account, region, name))

    def delete(self, account, region, name) -> bool:
        return self.db.execute("DELETE FROM ecr_repositories WHERE account=? AND region=? AND name=?",
                               (account, region, name)) > 0
