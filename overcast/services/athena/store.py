"""Athena tables: workgroups, query executions, named queries, prepared statements, tags."""

from __future__ import annotations

import orjson

SCHEMA = "athena"  # its version row in schema_versions
MIGRATIONS = [
    """
    CREATE TABLE athena_workgroups (
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL,
        PRIMARY KEY (account, region, name)
    );
    CREATE TABLE athena_queries (
        account TEXT NOT NULL, region TEXT NOT NULL, id TEXT NOT NULL, workgroup TEXT NOT NULL,
        submitted REAL NOT NULL, doc TEXT NOT NULL, result TEXT,
        PRIMARY KEY (account, region, id)
    );
    CREATE INDEX athena_queries_wg ON athena_queries(account, region, workgroup, submitted);
    CREATE TABLE athena_named_queries (
        account TEXT NOT NULL, region TEXT NOT NULL, id TEXT NOT NULL, workgroup TEXT NOT NULL, doc TEXT NOT NULL,
        PRIMARY KEY (account, region, id)
    );
    CREATE TABLE athena_prepared (
        account TEXT NOT NULL, region TEXT NOT NULL, workgroup TEXT NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL,
        PRIMARY KEY (account, region, workgroup, name)
    );
    CREATE TABLE athena_tags (arn TEXT PRIMARY KEY, tags TEXT NOT NULL);
    """,
]


def _j(v) -> str:
    return orjson.dumps(v).decode()


class AthenaStore:
    def __init__(self, db):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)

    # workgroups
    def workgroup(self, account, region, name) -> dict | None:
        row = self.db.query_one("SELECT doc FROM athena_workgroups WHERE account=? AND region=? AND name=?",
                                (account, region, name))
        return orjson.loads(row[0]) if row else None

    def workgroups(self, account, region) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM athena_workgroups WHERE account=? AND region=? ORDER BY name", (account, region))]

    def put_workgroup(self, account, region, doc, create: bool) -> bool:
        if create:
            return self.db.execute("INSERT OR IGNORE INTO athena_workgroups VALUES(?,?,?,?)",
                                   (account, region, doc["Name"], _j(doc))) == 1
        return self.db.execute("UPDATE athena_workgroups SET doc=? WHERE account=? AND region=? AND name=?",
                               (_j(doc), account, region, doc["Name"])) == 1

    def delete_workgroup(self, account, region, name) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM athena_workgroups WHERE account=? AND region=? AND name=?",
                            (account, region, name))
            self.db.execute("DELETE FROM athena_named_queries WHERE account=? AND region=? AND workgroup=?",
                            (account, region, name))
            self.db.execute("DELETE FROM athena_prepared WHERE account=? AND region=? AND workgroup=?",
                            (account, region, name))

    # queries
    def add_query(self, account, region, qid, workgroup, submitted, doc) -> None:
        self.db.execute("INSERT INTO athena_queries(account, region, id, workgroup, submitted, doc) VALUES(?,?,?,?,?,?)",
                        (account, region, qid, workgroup, submitted, _j(doc)))

    def query(self, account, region, qid) -> tuple[dict, dict | None] | None:
        row = self.db.query_one("SELECT doc, result FROM athena_queries WHERE account=? AND region=? AND id=?",
                                (account, region, qid))
        return (orjson.loads(row[0]), orjson.loads(row[1]) if row[1] else None) if row else None

    def update_query(self, account, region, qid, doc, result=None) -> None:
        if result is None:
            self.db.execute("UPDATE athena_queries SET doc=? WHERE account=? AND region=? AND id=?",
                            (_j(doc), account, region, qid))
        else:
            self.db.execute("UPDATE athena_queries SET doc=?, result=? WHERE account=? AND region=? AND id=?",
                            (_j(doc), _j(result), account, region, qid))

    def query_ids(self, account, region, workgroup) -> list[str]:
        return [r[0] for r in self.db.query("SELECT id FROM athena_queries WHERE account=? AND region=? AND "
                                            "workgroup=? ORDER BY submitted DESC", (account, region, workgroup))]

    def unfinished(self) -> list[tuple[str, str, dict]]:
        return [(a, r, orjson.loads(d)) for a, r, d in self.db.query(
            "SELECT account, region, doc FROM athena_queries WHERE doc LIKE '%\"State\":\"QUEUED\"%' OR "
            "doc LIKE '%\"State\":\"RUNNING\"%'")]

    # named queries
    def put_named(self, account, region, doc) -> None:
        self.db.execute("INSERT OR REPLACE INTO athena_named_queries VALUES(?,?,?,?,?)",
                        (account, region, doc["NamedQueryId"], doc["WorkGroup"], _j(doc)))

    def named(self, account, region, nid) -> dict | None:
        row = self.db.query_one("SELECT doc FROM athena_named_queries WHERE account=? AND region=? AND id=?",
                                (account, region, nid))
        return orjson.loads(row[0]) if row else None

    def named_ids(self, account, region, workgroup) -> list[str]:
        return [r[0] for r in self.db.query("SELECT id FROM athena_named_queries WHERE account=? AND region=? AND "
                                            "workgroup=? ORDER BY rowid", (account, region, workgroup))]

    def delete_named(self, account, region, nid) -> bool:
        return self.db.execute("DELETE FROM athena_named_queries WHERE account=? AND region=? AND id=?",
                               (account, region, nid)) == 1

    # prepared statements
    def put_prepared(self, account, region, doc, create: bool) -> bool:
        if create:
            return self.db.execute("INSERT OR IGNORE INTO athena_prepared VALUES(?,?,?,?,?)",
                                   (account, region, doc["WorkGroupName"], doc["StatementName"], _j(doc))) == 1
        return self.db.execute("UPDATE athena_prepared SET doc=? WHERE account=? AND region=? AND workgroup=? AND "
                               "name=?", (_j(doc), account, region, doc["WorkGroupName"], doc["StatementName"])) == 1

    def prepared(self, account, region, workgroup, name) -> dict | None:
        row = self.db.query_one("SELECT doc FROM athena_prepared WHERE account=? AND region=? AND workgroup=? AND "
                                "name=?", (account, region, workgroup, name))
        return orjson.loads(row[0]) if row else None

    def prepared_all(self, account, region, workgroup) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM athena_prepared WHERE account=? AND region=? AND workgroup=? ORDER BY name",
            (account, region, workgroup))]

    def delete_prepared(self, account, region, workgroup, name) -> bool:
        return self.db.execute("DELETE FROM athena_prepared WHERE account=? AND region=? AND workgroup=? AND name=?",
                               (account, region, workgroup, name)) == 1

    # tags
    def tags(self, arn) -> dict:
        row = self.db.query_one("SELECT tags FROM athena_tags WHERE arn=?", (arn,))
        return orjson.loads(row[0]) if row else {}

    def set_tags(self, arn, tags) -> None:
        self.db.execute("INSERT OR REPLACE INTO athena_tags VALUES(?,?)", (arn, _j(tags)))
