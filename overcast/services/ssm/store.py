"""SSM Parameter Store tables: parameters (latest version, tags), every kept version, labels."""

from __future__ import annotations

from overcast.storage import Database

SCHEMA = "ssm"  # its version row in schema_versions
MIGRATIONS = [
    """
    CREATE TABLE ssm_parameters (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        tier TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (account, region, name)
    );
    CREATE TABLE ssm_versions (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        type TEXT NOT NULL,
        value BLOB NOT NULL,
        key_id TEXT,
        description TEXT,
        allowed_pattern TEXT,
        tier TEXT NOT NULL,
        data_type TEXT NOT NULL,
        modified REAL NOT NULL,
        user TEXT NOT NULL,
        PRIMARY KEY (account, region, name, version)
    );
    CREATE TABLE ssm_labels (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        label TEXT NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (account, region, name, label)
    );
    """,
    # maintenance windows: the window's settings as a JSON document (windows.py reads it)
    """
    CREATE TABLE ssm_windows (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        window_id TEXT NOT NULL,
        doc TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '{}',
        client_token TEXT,
        created REAL NOT NULL,
        PRIMARY KEY (account, region, window_id)
    );
    """,
]

# a version row: name, version, type, value, key_id, description, allowed_pattern, tier, data_type, modified, user
VERSION = "v.name, v.version, v.type, v.value, v.key_id, v.description, v.allowed_pattern, v.tier, v.data_type, " \
          "v.modified, v.user"


class SsmStore:
    def __init__(self, db: Database):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)

    def transaction(self):
        return self.db.transaction()

    # -- parameters ----------------------------------------------------------------------------

    def latest(self, account, region, name):
        """The latest version row of a parameter, or None."""
        return self.db.query_one(
            f"SELECT {VERSION} FROM ssm_parameters p JOIN ssm_versions v ON v.account = p.account AND "
            "v.region = p.region AND v.name = p.name AND v.version = p.version "
            "WHERE p.account=? AND p.region=? AND p.name=?", (account, region, name))

    def version(self, account, region, name, version: int):
        return self.db.query_one(
            f"SELECT {VERSION} FROM ssm_versions v WHERE account=? AND region=? AND name=? AND version=?",
            (account, region, name, version))

    def labelled(self, account, region, name, label: str):
        return self.db.query_one(
            f"SELECT {VERSION} FROM ssm_labels l JOIN ssm_versions v ON v.account = l.account AND "
            "v.region = l.region AND v.name = l.name AND v.version = l.version "
            "WHERE l.account=? AND l.region=? AND l.name=? AND l.label=?", (account, region, name, label))

    def parameter(self, account, region, name):
        """(version, tier, tags) of a parameter, or None."""
        return self.db.query_one("SELECT version, tier, tags FROM ssm_parameters WHERE account=? AND region=? AND name=?",
                                 (account, region, name))

    def count(self, account, region, tier: str) -> int:
        return self.db.scalar("SELECT COUNT(*) FROM ssm_parameters WHERE account=? AND region=? AND tier=?",
                              (account, region, tier))

    def put(self, account, region, name, version: int, tier: str, tags: str | None, row: tuple) -> None:
        """Write version `version` (row: type, value, key_id, description, allowed_pattern,
        data_type, modified, user) and make it the latest; tags None keeps the parameter's tags."""
        self.db.execute(
            "INSERT INTO ssm_versions(account, region, name, version, type, value, key_id, description, "
            "allowed_pattern, data_type, modified, user, tier) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (account, region, name, version, *row, tier))
        self.db.execute(
            "INSERT INTO ssm_parameters(account, region, name, version, tier, tags) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT DO UPDATE SET version=excluded.version, tier=excluded.tier",
            (account, region, name, version, tier, tags or "{}"))

    def oldest_version(self, account, region, name) -> int | None:
        return self.db.scalar("SELECT MIN(version) FROM ssm_versions WHERE account=? AND region=? AND name=?",
                              (account, region, name))

    def version_count(self, account, region, name) -> int:
        return self.db.scalar("SELECT COUNT(*) FROM ssm_versions WHERE account=? AND region=? AND name=?",
                              (account, region, name))

    def drop_version(self, account, region, name, version: int) -> None:
        self.db.execute("DELETE FROM ssm_versions WHERE account=? AND region=? AND name=? AND version=?",
                        (account, region, name, version))

    def delete(self, account, region, name) -> bool:
        with self.db.transaction():
            self.db.execute("DELETE FROM ssm_labels WHERE account=? AND region=? AND name=?", (account, region, name))
            self.db.execute("DELETE FROM ssm_versions WHERE account=? AND region=? AND name=?", (account, region, name))
            return self.db.execute("DELETE FROM ssm_parameters WHERE account=? AND region=? AND name=?",
                                   (account, region, name)) > 0

    def tagged(self, account: str, region: str) -> list[tuple]:
        """(name, tags as stored) of the parameters of an account's region that have tags, for the
        Resource Groups Tagging API."""
        return self.db.query("SELECT name, tags FROM ssm_parameters WHERE account=? AND region=? AND tags != '{}' ORDER BY name", (account, region))

    def set_tags(self, account, region, name, tags: str) -> None:
        self.db.execute("UPDATE ssm_parameters SET tags=? WHERE account=? AND region=? AND name=?",
                        (tags, account, region, name))

    def page(self, account, region, prefix: str, after: str, limit: int):
        """(latest version row..., tags) of parameters whose names start with `prefix`, after
        `after`, in name order."""
        return self.db.query(
            f"SELECT {VERSION}, p.tags FROM ssm_parameters p JOIN ssm_versions v ON v.account = p.account AND "
            "v.region = p.region AND v.name = p.name AND v.version = p.version "
            "WHERE p.account=? AND p.region=? AND p.name >= ? AND p.name < ? AND p.name > ? ORDER BY p.name LIMIT ?",
            (account, region, prefix, prefix + "\U0010ffff", after, limit))

    def history(self, account, region, name, after: int, limit: int):
        return self.db.query(
            f"SELECT {VERSION} FROM ssm_versions v WHERE account=? AND region=? AND name=? AND version > ? "
            "ORDER BY version LIMIT ?", (account, region, name, after, limit))

    # -- labels --------------------------------------------------------------------------------

    def labels(self, account, region, name) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for label, version in self.db.query(
                "SELECT label, version FROM ssm_labels WHERE account=? AND region=? AND name=? ORDER BY label",
                (account, region, name)):
            out.setdefault(version, []).append(label)
        return out

    def label_names(self, account, region, name) -> set[str]:
        return {r[0] for r in self.db.query("SELECT label FROM ssm_labels WHERE account=? AND region=? AND name=?",
                                            (account, region, name))}

    def set_label(self, account, region, name, label: str, version: int) -> None:
        self.db.execute(
            "INSERT INTO ssm_labels(account, region, name, label, version) VALUES (?,?,?,?,?) "
            "ON CONFLICT DO UPDATE SET version=excluded.version", (account, region, name, label, version))

    def remove_label(self, account, region, name, label: str, version: int) -> bool:
        return self.db.execute("DELETE FROM ssm_labels WHERE account=? AND region=? AND name=? AND label=? AND version=?",
                               (account, region, name, label, version)) > 0

    # -- maintenance windows -------------------------------------------------------------------

    def window(self, account, region, window_id):
        """(doc, tags, client_token) of a maintenance window, or None."""
        return self.db.query_one("SELECT doc, tags, client_token FROM ssm_windows WHERE account=? AND region=? "
                                 "AND window_id=?", (account, region, window_id))

    def window_by_token(self, account, region, token: str):
        """(window_id, doc) of the window CreateMaintenanceWindow made with `token`, or None."""
        return self.db.query_one("SELECT window_id, doc FROM ssm_windows WHERE account=? AND region=? "
                                 "AND client_token=?", (account, region, token))

    def window_count(self, account, region) -> int:
        return self.db.scalar("SELECT COUNT(*) FROM ssm_windows WHERE account=? AND region=?", (account, region))

    def put_window(self, account, region, window_id, doc: str, tags: str, token: str | None, now: float) -> None:
        self.db.execute("INSERT INTO ssm_windows(account, region, window_id, doc, tags, client_token, created) "
                        "VALUES (?,?,?,?,?,?,?)", (account, region, window_id, doc, tags, token, now))

    def update_window(self, account, region, window_id, doc: str | None = None, tags: str | None = None) -> None:
        if doc is not None:
            self.db.execute("UPDATE ssm_windows SET doc=? WHERE account=? AND region=? AND window_id=?",
                            (doc, account, region, window_id))
        if tags is not None:
            self.db.execute("UPDATE ssm_windows SET tags=? WHERE account=? AND region=? AND window_id=?",
                            (tags, account, region, window_id))

    def delete_window(self, account, region, window_id) -> None:
        self.db.execute("DELETE FROM ssm_windows WHERE account=? AND region=? AND window_id=?",
                        (account, region, window_id))

    def windows(self, account, region, after_created: float, after_id: str, limit: int):
        """(window_id, doc, created) in creation order, after the (created, id) position given."""
        return self.db.query("SELECT window_id, doc, created FROM ssm_windows WHERE account=? AND region=? "
                             "AND (created > ? OR (created = ? AND window_id > ?)) ORDER BY created, window_id "
                             "LIMIT ?", (account, region, after_created, after_created, after_id, limit))

    def tagged_windows(self, account: str, region: str) -> list[tuple]:
        """(window_id, tags as stored) of the windows that have tags, for the Tagging API."""
        return self.db.query("SELECT window_id, tags FROM ssm_windows WHERE account=? AND region=? AND tags != '{}' "
                             "ORDER BY window_id", (account, region))
