"""Glue Data Catalog tables: databases, tables (with versions), partitions, crawlers, tags.
Resources are stored as their API documents (JSON)."""

from __future__ import annotations

import orjson

SCHEMA = "glue"  # its version row in schema_versions
MIGRATIONS = [
    """
    CREATE TABLE glue_databases (
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL,
        PRIMARY KEY (account, region, name)
    );
    CREATE TABLE glue_tables (
        account TEXT NOT NULL, region TEXT NOT NULL, db TEXT NOT NULL, name TEXT NOT NULL,
        version INTEGER NOT NULL, doc TEXT NOT NULL,
        PRIMARY KEY (account, region, db, name)
    );
    CREATE TABLE glue_table_versions (
        account TEXT NOT NULL, region TEXT NOT NULL, db TEXT NOT NULL, name TEXT NOT NULL,
        version INTEGER NOT NULL, doc TEXT NOT NULL,
        PRIMARY KEY (account, region, db, name, version)
    );
    CREATE TABLE glue_partitions (
        account TEXT NOT NULL, region TEXT NOT NULL, db TEXT NOT NULL, tbl TEXT NOT NULL,
        vkey TEXT NOT NULL, doc TEXT NOT NULL,
        PRIMARY KEY (account, region, db, tbl, vkey)
    );
    CREATE TABLE glue_crawlers (
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL,
        metrics TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (account, region, name)
    );
    CREATE TABLE glue_tags (
        arn TEXT PRIMARY KEY, tags TEXT NOT NULL
    );
    """,
    # the node running a crawl (a cluster: a dead node's crawls are ended by a live node)
    "ALTER TABLE glue_crawlers ADD COLUMN node TEXT;",
]


def _j(doc) -> str:
    return orjson.dumps(doc).decode()


def vkey(values: list[str]) -> str:
    return _j(list(values))


class GlueStore:
    def __init__(self, db):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)

    # databases
    def put_database(self, account, region, name, doc, create: bool) -> bool:
        if create:
            return self.db.execute("INSERT OR IGNORE INTO glue_databases VALUES(?,?,?,?)",
                                   (account, region, name, _j(doc))) == 1
        return self.db.execute("UPDATE glue_databases SET doc=? WHERE account=? AND region=? AND name=?",
                               (_j(doc), account, region, name)) == 1

    def database(self, account, region, name) -> dict | None:
        row = self.db.query_one("SELECT doc FROM glue_databases WHERE account=? AND region=? AND name=?",
                                (account, region, name))
        return orjson.loads(row[0]) if row else None

    def databases(self, account, region) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM glue_databases WHERE account=? AND region=? ORDER BY name", (account, region))]

    def delete_database(self, account, region, name) -> None:
        with self.db.transaction():
            for table in ("glue_tables", "glue_table_versions"):
                self.db.execute(f"DELETE FROM {table} WHERE account=? AND region=? AND db=?", (account, region, name))
            self.db.execute("DELETE FROM glue_partitions WHERE account=? AND region=? AND db=?",
                            (account, region, name))
            self.db.execute("DELETE FROM glue_databases WHERE account=? AND region=? AND name=?",
                            (account, region, name))
            # its tags go with it (the Tagging API would still list a deleted database)
            self.db.execute("DELETE FROM glue_tags WHERE arn=?", (f"arn:aws:glue:{region}:{account}:database/{name}",))

    # tables
    def table(self, account, region, db, name) -> dict | None:
        row = self.db.query_one("SELECT doc FROM glue_tables WHERE account=? AND region=? AND db=? AND name=?",
                                (account, region, db, name))
        return orjson.loads(row[0]) if row else None

    def tables(self, account, region, db) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM glue_tables WHERE account=? AND region=? AND db=? ORDER BY name", (account, region, db))]

    def put_table(self, account, region, db, doc: dict, create: bool) -> bool:
        name = doc["Name"]
        with self.db.transaction():
            current = self.db.scalar("SELECT version FROM glue_tables WHERE account=? AND region=? AND db=? AND "
                                     "name=?", (account, region, db, name))
            if create == (current is not None):
                return False
            version = (current or 0) + 1
            doc["VersionId"] = str(version)
            self.db.execute("INSERT INTO glue_tables VALUES(?,?,?,?,?,?) ON CONFLICT(account, region, db, name) "
                            "DO UPDATE SET version=excluded.version, doc=excluded.doc",
                            (account, region, db, name, version, _j(doc)))
            self.db.execute("INSERT OR REPLACE INTO glue_table_versions VALUES(?,?,?,?,?,?)",
                            (account, region, db, name, version, _j(doc)))
        return True

    def delete_table(self, account, region, db, name) -> bool:
        with self.db.transaction():
            self.db.execute("DELETE FROM glue_table_versions WHERE account=? AND region=? AND db=? AND name=?",
                            (account, region, db, name))
            self.db.execute("DELETE FROM glue_partitions WHERE account=? AND region=? AND db=? AND tbl=?",
                            (account, region, db, name))
            return self.db.execute("DELETE FROM glue_tables WHERE account=? AND region=? AND db=? AND name=?",
                                   (account, region, db, name)) == 1

    def table_versions(self, account, region, db, name) -> list[tuple[int, dict]]:
        return [(v, orjson.loads(d)) for v, d in self.db.query(
            "SELECT version, doc FROM glue_table_versions WHERE account=? AND region=? AND db=? AND name=? "
            "ORDER BY version DESC", (account, region, db, name))]

    def delete_table_version(self, account, region, db, name, version) -> bool:
        return self.db.execute("DELETE FROM glue_table_versions WHERE account=? AND region=? AND db=? AND name=? "
                               "AND version=?", (account, region, db, name, version)) == 1

    # partitions
    def put_partitions(self, account, region, db, tbl, docs: list[dict], create: bool = True) -> list[bool]:
        """Insert (create) or replace partitions; returns per doc whether it was written."""
        out = []
        with self.db.transaction():
            for doc in docs:
                key = vkey(doc["Values"])
                if create:
                    out.append(self.db.execute("INSERT OR IGNORE INTO glue_partitions VALUES(?,?,?,?,?,?)",
                                               (account, region, db, tbl, key, _j(doc))) == 1)
                else:
                    out.append(self.db.execute("INSERT OR REPLACE INTO glue_partitions VALUES(?,?,?,?,?,?)",
                                               (account, region, db, tbl, key, _j(doc))) >= 1)
        return out

    def partition(self, account, region, db, tbl, values) -> dict | None:
        row = self.db.query_one("SELECT doc FROM glue_partitions WHERE account=? AND region=? AND db=? AND tbl=? "
                                "AND vkey=?", (account, region, db, tbl, vkey(values)))
        return orjson.loads(row[0]) if row else None

    def partitions(self, account, region, db, tbl) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM glue_partitions WHERE account=? AND region=? AND db=? AND tbl=? ORDER BY vkey",
            (account, region, db, tbl))]

    def delete_partition(self, account, region, db, tbl, values) -> bool:
        return self.db.execute("DELETE FROM glue_partitions WHERE account=? AND region=? AND db=? AND tbl=? AND "
                               "vkey=?", (account, region, db, tbl, vkey(values))) == 1

    def replace_partition(self, account, region, db, tbl, old_values, doc) -> bool:
        with self.db.transaction():
            if not self.delete_partition(account, region, db, tbl, old_values):
                return False
            self.db.execute("INSERT OR REPLACE INTO glue_partitions VALUES(?,?,?,?,?,?)",
                            (account, region, db, tbl, vkey(doc["Values"]), _j(doc)))
        return True

    # crawlers
    def crawler(self, account, region, name) -> tuple[dict, dict] | None:
        row = self.db.query_one("SELECT doc, metrics FROM glue_crawlers WHERE account=? AND region=? AND name=?",
                                (account, region, name))
        return (orjson.loads(row[0]), orjson.loads(row[1])) if row else None

    def crawlers(self, account=None, region=None) -> list[tuple[str, str, dict, dict]]:
        if account is None:
            rows = self.db.query("SELECT account, region, doc, metrics FROM glue_crawlers ORDER BY name")
        else:
            rows = self.db.query("SELECT account, region, doc, metrics FROM glue_crawlers WHERE account=? AND "
                                 "region=? ORDER BY name", (account, region))
        return [(a, r, orjson.loads(d), orjson.loads(m)) for a, r, d, m in rows]

    def put_crawler(self, account, region, doc, create: bool, metrics: dict | None = None) -> bool:
        if create:
            return self.db.execute("INSERT OR IGNORE INTO glue_crawlers(account, region, name, doc) VALUES(?,?,?,?)",
                                   (account, region, doc["Name"], _j(doc))) == 1
        if metrics is not None:
            return self.db.execute("UPDATE glue_crawlers SET doc=?, metrics=? WHERE account=? AND region=? AND "
                                   "name=?", (_j(doc), _j(metrics), account, region, doc["Name"])) == 1
        return self.db.execute("UPDATE glue_crawlers SET doc=? WHERE account=? AND region=? AND name=?",
                               (_j(doc), account, region, doc["Name"])) == 1

    def put_crawl(self, account, region, doc, node: str | None) -> None:
        """A crawl begins on `node` (its doc RUNNING), or ends (None)."""
        self.db.execute("UPDATE glue_crawlers SET doc=?, node=? WHERE account=? AND region=? AND name=?",
                        (_j(doc), node, account, region, doc["Name"]))

    def crawl_nodes(self, exclude: str) -> set[str | None]:
        """The other nodes running crawls (None: a crawl running with no node recorded)."""
        return {row[0] for row in self.db.query(
            "SELECT DISTINCT node FROM glue_crawlers WHERE (node IS NOT NULL AND node != ?) OR (node IS NULL AND "
            "(doc LIKE '%\"RUNNING\"%' OR doc LIKE '%\"STOPPING\"%'))", (exclude,))}

    def claim_crawls(self, node: str, dead: list[str], unowned: bool) -> list[tuple[str, str, str]]:
        """The crawls of dead nodes (with `unowned`, those running with no node recorded) become
        `node`'s, each taken by one node: (account, region, name)."""
        if not dead and not unowned:
            return []
        where = " OR ".join(([f"node IN ({','.join('?' * len(dead))})"] if dead else []) +
                            (["(node IS NULL AND (doc LIKE '%\"RUNNING\"%' OR doc LIKE '%\"STOPPING\"%'))"]
                             if unowned else []))
        return [tuple(row) for row in self.db.query(
            f"UPDATE glue_crawlers SET node = ? WHERE {where} RETURNING account, region, name", (node, *dead))]

    def delete_crawler(self, account, region, name) -> bool:
        with self.db.transaction():
            self.db.execute("DELETE FROM glue_tags WHERE arn=?", (f"arn:aws:glue:{region}:{account}:crawler/{name}",))
            return self.db.execute("DELETE FROM glue_crawlers WHERE account=? AND region=? AND name=?",
                                   (account, region, name)) == 1

    # tags
    def tagged(self, account: str, region: str) -> list[tuple]:
        """(arn, tags as stored) of the account's resources in `region` that have tags, for the
        Resource Groups Tagging API. Tags are kept by ARN, so the ARN's prefix picks them."""
        prefix = f"arn:aws:glue:{region}:{account}:"
        return self.db.query("SELECT arn, tags FROM glue_tags WHERE substr(arn, 1, ?) = ? AND tags != '{}' ORDER BY arn",
                             (len(prefix), prefix))

    def tags(self, arn) -> dict:
        row = self.db.query_one("SELECT tags FROM glue_tags WHERE arn=?", (arn,))
        return orjson.loads(row[0]) if row else {}

    def set_tags(self, arn, tags: dict) -> None:
        self.db.execute("INSERT OR REPLACE INTO glue_tags VALUES(?,?)", (arn, _j(tags)))


def has_pending_work(db) -> bool:
    """At start-up: crawlers that are scheduled or were running? (Called only once the service's schema exists.)"""
    return db.scalar('SELECT 1 FROM glue_crawlers WHERE doc LIKE \'%"SCHEDULED"%\' OR doc LIKE \'%"RUNNING"%\' LIMIT 1') is not None
