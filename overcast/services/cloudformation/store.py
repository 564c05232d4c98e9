"""CloudFormation's tables: stacks, their resources and events, change sets, exports and imports.

A stack, a resource and a change set are each one JSON document beside the columns that are
queried (status, name, scope): the engine reads and writes them whole, and the documents follow
the API's shapes closely, so there is little to map.
"""

from __future__ import annotations

import orjson

SCHEMA = "cloudformation"  # its version row in schema_versions
MIGRATIONS = [
    """
    CREATE TABLE cfn_stacks (
        stack_id TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        deleted INTEGER NOT NULL DEFAULT 0,
        created REAL NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX cfn_stacks_scope ON cfn_stacks(account, region, name);
    CREATE INDEX cfn_stacks_status ON cfn_stacks(status);
    CREATE TABLE cfn_resources (
        stack_id TEXT NOT NULL,
        logical_id TEXT NOT NULL,
        doc TEXT NOT NULL,
        PRIMARY KEY (stack_id, logical_id)
    );
    CREATE TABLE cfn_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        stack_id TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX cfn_events_stack ON cfn_events(stack_id, id);
    CREATE TABLE cfn_change_sets (
        change_set_id TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        stack_id TEXT NOT NULL,
        name TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX cfn_change_sets_stack ON cfn_change_sets(stack_id, name);
    CREATE TABLE cfn_exports (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        stack_id TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (account, region, name)
    );
    CREATE TABLE cfn_imports (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        stack_id TEXT NOT NULL,
        PRIMARY KEY (account, region, name, stack_id)
    );
    """,
    # the node running the stack's operation: the one that wrote its last status (a cluster: a
    # dead node's operations are resumed by a live node)
    "ALTER TABLE cfn_stacks ADD COLUMN node TEXT;",
    # AWS::CloudFormation::Macro: the account's macros by name, and the Lambda function each runs
    """
    CREATE TABLE cfn_macros (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        function TEXT NOT NULL,
        stack_id TEXT NOT NULL,
        PRIMARY KEY (account, region, name)
    );
    """,
]

_ACTIVE_STATUSES = ("CREATE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "UPDATE_IN_PROGRESS",
                    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS",
                    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "DELETE_IN_PROGRESS")


def _dumps(value) -> str:
    return orjson.dumps(value).decode()


def has_pending_work(db) -> bool:
    """At start-up: a deployment that a stop or a crash interrupted?"""
    marks = ",".join("?" * len(_ACTIVE_STATUSES))
    return db.scalar(f"SELECT 1 FROM cfn_stacks WHERE status IN ({marks}) LIMIT 1", _ACTIVE_STATUSES) is not None


class CfnStore:
    def __init__(self, db, node: str | None = None):
        self.db = db
        self.node = node  # this node's id, written with each status it sets
        db.migrate(SCHEMA, MIGRATIONS)

    def transaction(self):
        return self.db.transaction()

    # -- stacks ------------------------------------------------------------------------------

    def put_stack(self, stack: dict) -> None:
        self.db.execute(
            "INSERT INTO cfn_stacks(stack_id, account, region, name, status, deleted, created, doc, node) "
            "VALUES(?,?,?,?,?,?,?,?,?) ON CONFLICT(stack_id) DO UPDATE SET status = excluded.status, "
            "deleted = excluded.deleted, doc = excluded.doc, "
            # a status is set by the node running the operation (other writes, tags, keep it)
            "node = CASE WHEN cfn_stacks.status = excluded.status THEN cfn_stacks.node ELSE excluded.node END",
            (stack["StackId"], stack["account"], stack["region"], stack["StackName"], stack["StackStatus"],
             int(stack["StackStatus"] == "DELETE_COMPLETE"), stack["CreationTime"], _dumps(stack), self.node))

    def get_stack(self, stack_id: str) -> dict | None:
        row = self.db.query_one("SELECT doc FROM cfn_stacks WHERE stack_id = ?", (stack_id,))
        return orjson.loads(row[0]) if row else None

    def live_stack_by_name(self, account: str, region: str, name: str) -> dict | None:
        row = self.db.query_one("SELECT doc FROM cfn_stacks WHERE account = ? AND region = ? AND name = ? "
                                "AND deleted = 0 ORDER BY created DESC LIMIT 1", (account, region, name))
        return orjson.loads(row[0]) if row else None

    def stacks(self, account: str, region: str, include_deleted: bool) -> list[dict]:
        sql = "SELECT doc FROM cfn_stacks WHERE account = ? AND region = ?"
        if not include_deleted:
            sql += " AND deleted = 0"
        return [orjson.loads(r[0]) for r in self.db.query(sql + " ORDER BY created DESC", (account, region))]

    def interrupted_stacks(self) -> list[dict]:
        marks = ",".join("?" * len(_ACTIVE_STATUSES))
        return [orjson.loads(r[0]) for r in self.db.query(
            f"SELECT doc FROM cfn_stacks WHERE status IN ({marks}) ORDER BY created", _ACTIVE_STATUSES)]

    def operation_node(self, stack_id: str) -> str | None:
        """The node that set the stack's last status (the one running its operation)."""
        return self.db.scalar("SELECT node FROM cfn_stacks WHERE stack_id = ?", (stack_id,))

    def operation_nodes(self) -> set[str | None]:
        """The other nodes running stack operations (None: an operation with no node recorded)."""
        marks = ",".join("?" * len(_ACTIVE_STATUSES))
        return {r[0] for r in self.db.query(
            f"SELECT DISTINCT node FROM cfn_stacks WHERE status IN ({marks}) AND (node IS NULL OR node != ?)",
            (*_ACTIVE_STATUSES, self.node))}

    def claim_operations(self, dead: list[str], unowned: bool) -> list[dict]:
        """The stacks whose operation dead nodes (with `unowned`, no node) were running become
        this node's, each taken by one node (the UPDATE re-checks its WHERE on a row another node
        changed): their docs, oldest first."""
        if not dead and not unowned:
            return []
        marks = ",".join("?" * len(_ACTIVE_STATUSES))
        owner = " OR ".join(([f"node IN ({','.join('?' * len(dead))})"] if dead else []) +
                            (["node IS NULL"] if unowned else []))
        stacks = [orjson.loads(r[0]) for r in self.db.query(
            f"UPDATE cfn_stacks SET node = ? WHERE status IN ({marks}) AND ({owner}) RETURNING doc",
            (self.node, *_ACTIVE_STATUSES, *dead))]
        return sorted(stacks, key=lambda stack: stack["CreationTime"])

    # -- macros ------------------------------------------------------------------------------

    def put_macro(self, account: str, region: str, name: str, function: str, stack_id: str) -> bool:
        """Registers a macro; False when the name is taken."""
        with self.db.transaction():
            if self.macro_function(account, region, name) is not None:
                return False
            self.db.execute("INSERT INTO cfn_macros(account, region, name, function, stack_id) VALUES(?,?,?,?,?)",
                            (account, region, name, function, stack_id))
            return True

    def set_macro_function(self, account: str, region: str, name: str, function: str) -> None:
        self.db.execute("UPDATE cfn_macros SET function = ? WHERE account = ? AND region = ? AND name = ?",
                        (function, account, region, name))

    def macro_function(self, account: str, region: str, name: str) -> str | None:
        return self.db.scalar("SELECT function FROM cfn_macros WHERE account = ? AND region = ? AND name = ?",
                              (account, region, name))

    def delete_macro(self, account: str, region: str, name: str) -> None:
        self.db.execute("DELETE FROM cfn_macros WHERE account = ? AND region = ? AND name = ?", (account, region, name))

    # -- resources ---------------------------------------------------------------------------

    def put_resource(self, stack_id: str, resource: dict) -> None:
        self.db.execute("INSERT INTO cfn_resources(stack_id, logical_id, doc) VALUES(?,?,?) "
                        "ON CONFLICT(stack_id, logical_id) DO UPDATE SET doc = excluded.doc",
                        (stack_id, resource["LogicalResourceId"], _dumps(resource)))

    def delete_resource(self, stack_id: str, logical_id: str) -> None:
        self.db.execute("DELETE FROM cfn_resources WHERE stack_id = ? AND logical_id = ?", (stack_id, logical_id))

    def resources(self, stack_id: str) -> dict[str, dict]:
        return {r[0]: orjson.loads(r[1]) for r in self.db.query(
            "SELECT logical_id, doc FROM cfn_resources WHERE stack_id = ? ORDER BY rowid", (stack_id,))}

    def stack_of_physical_id(self, account: str, region: str, physical_id: str) -> tuple[dict, dict] | None:
        for stack_id, doc in self.db.query(
                "SELECT r.stack_id, r.doc FROM cfn_resources r JOIN cfn_stacks s ON s.stack_id = r.stack_id "
                "WHERE s.account = ? AND s.region = ? AND s.deleted = 0 "
                "AND json_extract(r.doc, '$.PhysicalResourceId') = ?", (account, region, physical_id)):
            return self.get_stack(stack_id), orjson.loads(doc)
        return None

    # -- events ------------------------------------------------------------------------------

    def add_event(self, stack_id: str, event: dict) -> None:
        self.db.execute("INSERT INTO cfn_events(stack_id, doc) VALUES(?, ?)", (stack_id, _dumps(event)))

    def events(self, stack_id: str) -> list[dict]:
        """Newest first, as DescribeStackEvents answers."""
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM cfn_events WHERE stack_id = ? ORDER BY id DESC", (stack_id,))]

    def events_page(self, stack_id: str, before: int | None, limit: int) -> tuple[list[dict], int | None]:
        """Up to `limit` events older than the event numbered `before` (None: the newest), newest
        first, and the number to continue before (None when these were the last)."""
        rows = self.db.query(
            "SELECT id, doc FROM cfn_events WHERE stack_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
            (stack_id, before if before is not None else 2**63 - 1, limit + 1))
        more = len(rows) > limit
        rows = rows[:limit]
        return [orjson.loads(r[1]) for r in rows], (rows[-1][0] if more else None)

    # -- change sets -------------------------------------------------------------------------

    def put_change_set(self, cs: dict) -> None:
        self.db.execute(
            "INSERT INTO cfn_change_sets(change_set_id, account, region, stack_id, name, doc) VALUES(?,?,?,?,?,?) "
            "ON CONFLICT(change_set_id) DO UPDATE SET doc = excluded.doc",
            (cs["ChangeSetId"], cs["account"], cs["region"], cs["StackId"], cs["ChangeSetName"], _dumps(cs)))

    def get_change_set(self, change_set_id: str) -> dict | None:
        row = self.db.query_one("SELECT doc FROM cfn_change_sets WHERE change_set_id = ?", (change_set_id,))
        return orjson.loads(row[0]) if row else None

    # A change set is retired when its stack runs one of them: it keeps answering to its ARN, but no
    # longer belongs to the stack (not listed, its name free again).
    _ACTIVE = "json_extract(doc, '$.retired') IS NULL"

    def change_set_by_name(self, stack_id: str, name: str) -> dict | None:
        row = self.db.query_one(f"SELECT doc FROM cfn_change_sets WHERE stack_id = ? AND name = ? AND {self._ACTIVE}",
                                (stack_id, name))
        return orjson.loads(row[0]) if row else None

    def change_sets(self, stack_id: str) -> list[dict]:
        """The stack's active change sets."""
        return [orjson.loads(r[0]) for r in self.db.query(
            f"SELECT doc FROM cfn_change_sets WHERE stack_id = ? AND {self._ACTIVE} ORDER BY rowid", (stack_id,))]

    def delete_change_set(self, change_set_id: str) -> None:
        self.db.execute("DELETE FROM cfn_change_sets WHERE change_set_id = ?", (change_set_id,))

    def delete_active_change_sets(self, stack_id: str) -> None:
        self.db.execute(f"DELETE FROM cfn_change_sets WHERE stack_id = ? AND {self._ACTIVE}", (stack_id,))

    # -- exports and imports -----------------------------------------------------------------

    def export(self, account: str, region: str, name: str) -> tuple[str, str] | None:
        """(value, exporting stack id) of an export, or None."""
        row = self.db.query_one("SELECT value, stack_id FROM cfn_exports WHERE account = ? AND region = ? AND name = ?",
                                (account, region, name))
        return (row[0], row[1]) if row else None

    def exports(self, account: str, region: str) -> list[tuple[str, str, str]]:
        return [tuple(r) for r in self.db.query(
            "SELECT name, value, stack_id FROM cfn_exports WHERE account = ? AND region = ? ORDER BY name",
            (account, region))]

    def set_exports(self, account: str, region: str, stack_id: str, exports: dict[str, str]) -> None:
        self.db.execute("DELETE FROM cfn_exports WHERE stack_id = ?", (stack_id,))
        self.db.execute_many("INSERT INTO cfn_exports(account, region, name, stack_id, value) VALUES(?,?,?,?,?)",
                             [(account, region, n, stack_id, v) for n, v in exports.items()])

    def exports_of(self, stack_id: str) -> dict[str, str]:
        return dict(self.db.query("SELECT name, value FROM cfn_exports WHERE stack_id = ?", (stack_id,)))

    def importers(self, account: str, region: str, name: str) -> list[str]:
        return [r[0] for r in self.db.query(
            "SELECT stack_id FROM cfn_imports WHERE account = ? AND region = ? AND name = ? ORDER BY stack_id",
            (account, region, name))]

    def set_imports(self, account: str, region: str, stack_id: str, names) -> None:
        self.db.execute("DELETE FROM cfn_imports WHERE stack_id = ?", (stack_id,))
        self.db.execute_many("INSERT OR IGNORE INTO cfn_imports(account, region, name, stack_id) VALUES(?,?,?,?)",
                             [(account, region, n, stack_id) for n in names])
