"""Step Functions' tables: state machines with their versions and aliases, activities, executions
with their event histories, task tokens waiting for an answer, map runs, tags.

An execution's row holds its status and, while it runs, its cursor (the top-level state it is in
and that state's input); its history is one row per event, committed as the execution goes, so
that a restarted server resumes it where it was.
"""

from __future__ import annotations

import orjson

SCHEMA = "stepfunctions"  # its version row in schema_versions
MIGRATIONS = [
    """
    CREATE TABLE sfn_machines (
        arn TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX sfn_machines_scope ON sfn_machines(account, region, name);
    CREATE TABLE sfn_versions (
        arn TEXT PRIMARY KEY,
        machine TEXT NOT NULL,
        version INTEGER NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX sfn_versions_machine ON sfn_versions(machine, version);
    CREATE TABLE sfn_aliases (
        arn TEXT PRIMARY KEY,
        machine TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX sfn_aliases_machine ON sfn_aliases(machine);
    CREATE TABLE sfn_activities (
        arn TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE TABLE sfn_executions (
        arn TEXT PRIMARY KEY,
        machine TEXT NOT NULL,
        status TEXT NOT NULL,
        started REAL NOT NULL,
        parent TEXT,
        doc TEXT NOT NULL,
        cursor TEXT
    );
    CREATE INDEX sfn_executions_machine ON sfn_executions(machine, started);
    CREATE INDEX sfn_executions_running ON sfn_executions(status) WHERE status = 'RUNNING';
    CREATE TABLE sfn_history (
        execution TEXT NOT NULL,
        id INTEGER NOT NULL,
        doc TEXT NOT NULL,
        PRIMARY KEY (execution, id)
    ) WITHOUT ROWID;
    CREATE TABLE sfn_tokens (
        token TEXT PRIMARY KEY,
        execution TEXT NOT NULL,
        state TEXT NOT NULL,
        activity TEXT,
        doc TEXT NOT NULL
    );
    CREATE INDEX sfn_tokens_execution ON sfn_tokens(execution);
    CREATE TABLE sfn_map_runs (
        arn TEXT PRIMARY KEY,
        execution TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX sfn_map_runs_execution ON sfn_map_runs(execution);
    CREATE TABLE sfn_tags (
        arn TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (arn, key)
    );
    """,
    # the last SendTaskHeartbeat received by a node that does not run the task (a cluster):
    # the node running it reads it when the task's HeartbeatSeconds would run out
    "ALTER TABLE sfn_tokens ADD COLUMN beat REAL;",
    # the node running an execution (coordination.node_id): a live node takes over a dead one's
    "ALTER TABLE sfn_executions ADD COLUMN node TEXT;",
    # Distributed Map children waiting (node NULL) or running on `node`, taken by any node with
    # room (children.py); `child`: the child execution a run of it started, `result`: its record
    # once it ended on a node other than its parent's
    """
    CREATE TABLE sfn_map_children (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        map_run TEXT NOT NULL,
        execution TEXT NOT NULL,
        spec TEXT NOT NULL,
        node TEXT,
        child TEXT,
        result TEXT
    );
    CREATE INDEX sfn_map_children_claim ON sfn_map_children(node, id);
    CREATE INDEX sfn_map_children_run ON sfn_map_children(map_run);
    CREATE INDEX sfn_map_children_execution ON sfn_map_children(execution);
    """,
    # the highest version number each machine has published: AWS never reuses a deleted version's number
    """
    CREATE TABLE sfn_version_numbers (
        machine TEXT PRIMARY KEY,
        last INTEGER NOT NULL
    );
    """,
]


def has_pending_work(db) -> bool:
    """Running STANDARD executions resume at start-up."""
    return db.query_one("SELECT 1 FROM sfn_executions WHERE status = 'RUNNING' LIMIT 1") is not None


def _dumps(doc) -> str:
    return orjson.dumps(doc).decode()


class StepFunctionsStore:
    def __init__(self, db):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)

    def transaction(self):
        return self.db.transaction()

    # -- state machines, versions, aliases ---------------------------------------------------------

    def put_machine(self, arn, account, region, name, doc: dict) -> None:
        self.db.execute("INSERT INTO sfn_machines(arn, account, region, name, doc) VALUES(?,?,?,?,?) "
                        "ON CONFLICT(arn) DO UPDATE SET doc = excluded.doc",
                        (arn, account, region, name, _dumps(doc)))

    def get_machine(self, arn: str) -> dict | None:
        row = self.db.query_one("SELECT doc FROM sfn_machines WHERE arn = ?", (arn,))
        return orjson.loads(row[0]) if row else None

    def list_machines(self, account, region) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM sfn_machines WHERE account = ? AND region = ? ORDER BY name", (account, region))]

    def delete_machine(self, arn: str) -> None:
        with self.db.transaction():
            for table, column in (("sfn_versions", "machine"), ("sfn_aliases", "machine"),
                                  ("sfn_version_numbers", "machine"), ("sfn_machines", "arn")):
                self.db.execute(f"DELETE FROM {table} WHERE {column} = ?", (arn,))
            self.db.execute("DELETE FROM sfn_tags WHERE arn = ? OR arn LIKE ?", (arn, arn + ":%"))

    def put_version(self, arn, machine, version: int, doc: dict) -> None:
        with self.db.transaction():
            self.db.execute("INSERT INTO sfn_versions(arn, machine, version, doc) VALUES(?,?,?,?) "
                            "ON CONFLICT(arn) DO UPDATE SET doc = excluded.doc", (arn, machine, version, _dumps(doc)))
            self.db.execute("INSERT INTO sfn_version_numbers(machine, last) VALUES(?,?) "
                            "ON CONFLICT(machine) DO UPDATE SET last = max(last, excluded.last)", (machine, version))

    def last_version_number(self, machine: str) -> int:
        """The highest version number the machine has published, deleted or not (0 for none)."""
        row = self.db.query_one("SELECT last FROM sfn_version_numbers WHERE machine = ?", (machine,))
        if row:
            return row[0]
        # versions published before this table existed
        row = self.db.query_one("SELECT max(version) FROM sfn_versions WHERE machine = ?", (machine,))
        return (row[0] or 0) if row else 0

    def get_version(self, arn: str) -> dict | None:
        row = self.db.query_one("SELECT doc FROM sfn_versions WHERE arn = ?", (arn,))
        return orjson.loads(row[0]) if row else None

    def versions(self, machine: str) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM sfn_versions WHERE machine = ? ORDER BY version DESC", (machine,))]

    def delete_version(self, arn: str) -> None:
        self.db.execute("DELETE FROM sfn_versions WHERE arn = ?", (arn,))

    def put_alias(self, arn, machine, doc: dict) -> None:
        self.db.execute("INSERT INTO sfn_aliases(arn, machine, doc) VALUES(?,?,?) "
                        "ON CONFLICT(arn) DO UPDATE SET doc = excluded.doc", (arn, machine, _dumps(doc)))

    def get_alias(self, arn: str) -> dict | None:
        row = self.db.query_one("SELECT doc FROM sfn_aliases WHERE arn = ?", (arn,))
        return orjson.loads(row[0]) if row else None

    def aliases(self, machine: str) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM sfn_aliases WHERE machine = ? ORDER BY arn", (machine,))]

    def delete_alias(self, arn: str) -> None:
        self.db.execute("DELETE FROM sfn_aliases WHERE arn = ?", (arn,))

    # -- activities ------------------------------------------------------------------------------

    def put_activity(self, arn, account, region, doc: dict) -> None:
        self.db.execute("INSERT INTO sfn_activities(arn, account, region, doc) VALUES(?,?,?,?) "
                        "ON CONFLICT(arn) DO NOTHING", (arn, account, region, _dumps(doc)))

    def get_activity(self, arn: str) -> dict | None:
        row = self.db.query_one("SELECT doc FROM sfn_activities WHERE arn = ?", (arn,))
        return orjson.loads(row[0]) if row else None

    def list_activities(self, account, region) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM sfn_activities WHERE account = ? AND region = ? ORDER BY arn", (account, region))]

    def delete_activity(self, arn: str) -> None:
        self.db.execute("DELETE FROM sfn_activities WHERE arn = ?", (arn,))

    # -- executions ------------------------------------------------------------------------------

    def insert_execution(self, arn, machine, started, doc: dict, parent: str | None = None,
                         events: list[dict] = (), node: str | None = None) -> bool:
        """A new execution, run by `node`, with its first events; False when the name is taken."""
        with self.db.transaction():
            if self.db.query_one("SELECT 1 FROM sfn_executions WHERE arn = ?", (arn,)):
                return False
            self.db.execute("INSERT INTO sfn_executions(arn, machine, status, started, parent, doc, node) "
                            "VALUES(?,?,?,?,?,?,?)", (arn, machine, doc["status"], started, parent, _dumps(doc), node))
            self._add_events(arn, events)
        return True

    def get_execution(self, arn: str) -> dict | None:
        row = self.db.query_one("SELECT doc FROM sfn_executions WHERE arn = ?", (arn,))
        return orjson.loads(row[0]) if row else None

    def execution_cursor(self, arn: str) -> dict | None:
        row = self.db.query_one("SELECT cursor FROM sfn_executions WHERE arn = ?", (arn,))
        return orjson.loads(row[0]) if row and row[0] else None

    def list_executions(self, machine: str | None = None, status: str | None = None,
                        parent: str | None = None) -> list[dict]:
        sql, args = "SELECT doc FROM sfn_executions WHERE 1 = 1", []
        for column, value in (("machine", machine), ("status", status), ("parent", parent)):
            if value is not None:
                sql += f" AND {column} = ?"
                args.append(value)
        sql += " ORDER BY started DESC, arn DESC"
        return [orjson.loads(r[0]) for r in self.db.query(sql, args)]

    def running_nodes(self) -> set[str]:
        """The nodes running executions ('' for rows older than the column)."""
        return {r[0] for r in self.db.query(
            "SELECT DISTINCT COALESCE(node, '') FROM sfn_executions WHERE status = 'RUNNING'")}

    def running_of(self, node: str) -> list[str]:
        return [r[0] for r in self.db.query("SELECT arn FROM sfn_executions WHERE status = 'RUNNING' AND "
                                            "COALESCE(node, '') = ?", (node,))]

    def take_running(self, dead: str, node: str, limit: int | None = None) -> tuple[list[str], bool]:
        """Up to `limit` running executions of the dead node `dead` that `node` takes (each row
        once: two live nodes taking at once each get different ones), and whether any was left."""
        taken = []
        rows = self.db.query("SELECT arn FROM sfn_executions WHERE status = 'RUNNING' AND COALESCE(node, '') = ? "
                             "ORDER BY started", (dead,))
        for (arn,) in rows:
            if limit is not None and len(taken) >= limit:
                return taken, True
            if self.db.execute("UPDATE sfn_executions SET node = ? WHERE arn = ? AND status = 'RUNNING' AND "
                               "COALESCE(node, '') = ?", (node, arn, dead)):
                taken.append(arn)
        return taken, False

    def set_node(self, arn: str, node: str) -> None:
        self.db.execute("UPDATE sfn_executions SET node = ? WHERE arn = ?", (node, arn))

    def checkpoint(self, arn: str, events: list[dict], cursor: dict | None = None, doc: dict | None = None,
                   only_running: bool = False, owner: str | None = None) -> bool:
        """Commit the events recorded since the last checkpoint, with the new cursor (and the
        execution's document when it changed), in one transaction. With `only_running`, nothing
        is written unless the execution is still RUNNING (False then): an execution ends once,
        even when a StopExecution made on another node of a cluster races its own end; with
        `owner`, only while that node runs it (a node cut off long enough to be taken for dead,
        whose executions another node took over, ends none of them)."""
        with self.db.transaction():
            if doc is not None:
                updated = self.db.execute(
                    "UPDATE sfn_executions SET status = ?, doc = ? WHERE arn = ?"
                    + (" AND status = 'RUNNING'" if only_running else "")
                    + (" AND node = ?" if owner else ""), (doc["status"], _dumps(doc), arn, *((owner,) if owner else ())))
                if not updated:
                    return False
            self._add_events(arn, events)
            if cursor is not None:
                self.db.execute("UPDATE sfn_executions SET cursor = ? WHERE arn = ?", (_dumps(cursor), arn))
        return True

    def checkpoint_many(self, batch: list[tuple[str, list[dict], dict | None]]) -> None:
        """Several executions' checkpoints (arn, events, cursor) in one transaction: a commit is
        the costly part of a state transition, and concurrent executions can share it."""
        with self.db.transaction():
            rows = [(arn, e["id"], _dumps(e)) for arn, events, _ in batch for e in events]
            if rows:  # (an event id already taken: the execution was stopped on another node meanwhile)
                self.db.execute_many("INSERT INTO sfn_history(execution, id, doc) VALUES(?,?,?) "
                                     "ON CONFLICT(execution, id) DO NOTHING", rows)
            cursors = [(_dumps(cursor), arn) for arn, _, cursor in batch if cursor is not None]
            if cursors:
                self.db.execute_many("UPDATE sfn_executions SET cursor = ? WHERE arn = ?", cursors)

    def _add_events(self, arn: str, events) -> None:
        if events:
            self.db.execute_many("INSERT INTO sfn_history(execution, id, doc) VALUES(?,?,?)",
                                 [(arn, e["id"], _dumps(e)) for e in events])

    def history(self, arn: str, after: int, limit: int, reverse: bool) -> list[dict]:
        if reverse:
            rows = self.db.query("SELECT doc FROM sfn_history WHERE execution = ? AND id < ? ORDER BY id DESC LIMIT ?",
                                 (arn, after or 2**62, limit))
        else:
            rows = self.db.query("SELECT doc FROM sfn_history WHERE execution = ? AND id > ? ORDER BY id LIMIT ?",
                                 (arn, after, limit))
        return [orjson.loads(r[0]) for r in rows]

    def last_event_id(self, arn: str) -> int:
        return self.db.scalar("SELECT MAX(id) FROM sfn_history WHERE execution = ?", (arn,)) or 0

    def delete_history_after(self, arn: str, event_id: int) -> None:
        self.db.execute("DELETE FROM sfn_history WHERE execution = ? AND id > ?", (arn, event_id))

    # -- task tokens -----------------------------------------------------------------------------

    def put_token(self, token, execution, state, doc: dict, activity: str | None = None) -> None:
        self.db.execute("INSERT INTO sfn_tokens(token, execution, state, activity, doc) VALUES(?,?,?,?,?) "
                        "ON CONFLICT(token) DO UPDATE SET doc = excluded.doc",
                        (token, execution, state, activity, _dumps(doc)))

    def get_token(self, token: str) -> dict | None:
        text = self.token_text(token)
        return orjson.loads(text) if text else None

    def token_text(self, token: str) -> str | None:
        row = self.db.query_one("SELECT doc FROM sfn_tokens WHERE token = ?", (token,))
        return row[0] if row else None

    def replace_token(self, token: str, before: str, doc: dict) -> bool:
        """Write a token's document only if it is still `before`: False when another request (on
        another node of a cluster) answered the task or handed it to a worker meanwhile."""
        return bool(self.db.execute("UPDATE sfn_tokens SET doc = ? WHERE token = ? AND doc = ?",
                                    (_dumps(doc), token, before)))

    def beat(self, token: str, when: float) -> bool:
        """A heartbeat for a task that another node runs; False when the token is gone."""
        return bool(self.db.execute("UPDATE sfn_tokens SET beat = ? WHERE token = ?", (when, token)))

    def last_beat(self, token: str) -> float | None:
        return self.db.scalar("SELECT beat FROM sfn_tokens WHERE token = ?", (token,))

    def delete_token(self, token: str) -> None:
        self.db.execute("DELETE FROM sfn_tokens WHERE token = ?", (token,))

    def delete_tokens_of(self, execution: str) -> None:
        self.db.execute("DELETE FROM sfn_tokens WHERE execution = ?", (execution,))

    def tokens_by_state(self, execution: str) -> dict[str, str]:
        """The tokens an execution's tasks wait on, by state name."""
        return dict(self.db.query("SELECT state, token FROM sfn_tokens WHERE execution = ?", (execution,)))

    def next_activity_task(self, activity: str) -> tuple[str, dict, str] | None:
        """The oldest activity task no worker has taken yet: (token, document, its text)."""
        rows = self.db.query("SELECT token, doc FROM sfn_tokens WHERE activity = ? ORDER BY rowid", (activity,))
        for token, text in rows:
            doc = orjson.loads(text)
            if not doc.get("taken"):
                return token, doc, text
        return None

    # -- map runs --------------------------------------------------------------------------------

    def put_map_run(self, arn, execution, doc: dict) -> None:
        self.db.execute("INSERT INTO sfn_map_runs(arn, execution, doc) VALUES(?,?,?) "
                        "ON CONFLICT(arn) DO UPDATE SET doc = excluded.doc", (arn, execution, _dumps(doc)))

    def get_map_run(self, arn: str) -> dict | None:
        row = self.db.query_one("SELECT doc FROM sfn_map_runs WHERE arn = ?", (arn,))
        return orjson.loads(row[0]) if row else None

    def map_runs(self, execution: str) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.query(
            "SELECT doc FROM sfn_map_runs WHERE execution = ? ORDER BY rowid", (execution,))]

    # -- Distributed Map children (children.py) ---------------------------------------------------
    # A row is a child waiting (node NULL) or running on `node`; it goes when its parent has its
    # result, or when its map run is aborted.

    def queue_child(self, map_run: str, execution: str, spec: str, node: str | None) -> int:
        return self.db.insert("INSERT INTO sfn_map_children(map_run, execution, spec, node) VALUES(?,?,?,?)",
                              (map_run, execution, spec, node))

    def claim_children(self, node: str, limit: int) -> list[tuple]:
        """Up to `limit` waiting children, oldest first, now `node`'s: (id, map run, spec, the
        child execution an earlier run started). Concurrent claimers skip each other's rows."""
        return self.db.query(
            f"UPDATE sfn_map_children SET node = ? WHERE id IN (SELECT id FROM sfn_map_children WHERE node IS NULL "
            f"ORDER BY id LIMIT ?{self.db.skip_locked}) RETURNING id, map_run, spec, child", (node, limit))

    def child_started(self, row: int, arn: str) -> None:
        self.db.execute("UPDATE sfn_map_children SET child = ? WHERE id = ?", (arn, row))

    def finish_child(self, row: int, node: str, result: str | None = None) -> bool:
        """A child ended on `node`, if it still holds it: the row goes (its parent waits on the same
        node), or keeps the `result` for the parent's node. False: the map run was aborted, or the
        row was taken as a dead node's."""
        if result is None:
            return self.db.execute("DELETE FROM sfn_map_children WHERE id = ? AND node = ?", (row, node)) > 0
        return self.db.execute("UPDATE sfn_map_children SET result = ? WHERE id = ? AND node = ?",
                               (result, row, node)) > 0

    def child_results(self, map_run: str) -> list[tuple[int, str]]:
        """The results of a map run's children that ended (on other nodes), taken: (id, record)."""
        return self.db.query("DELETE FROM sfn_map_children WHERE map_run = ? AND result IS NOT NULL "
                             "RETURNING id, result", (map_run,))

    def drop_children(self, map_run: str) -> list[str]:
        """A map run's rows go: the nodes that were running some of them."""
        return [r[0] for r in self.db.query("DELETE FROM sfn_map_children WHERE map_run = ? RETURNING node",
                                            (map_run,)) if r[0] is not None]

    def child_map_runs(self, execution: str) -> list[str]:
        return [r[0] for r in self.db.query("SELECT DISTINCT map_run FROM sfn_map_children WHERE execution = ?",
                                            (execution,))]

    def drop_orphan_children(self) -> None:
        """Rows whose parent no longer runs (a cluster's first node, or a single node, at start)."""
        self.db.execute("DELETE FROM sfn_map_children WHERE execution NOT IN "
                        "(SELECT arn FROM sfn_executions WHERE status = 'RUNNING')")

    def child_claimers(self, exclude: str) -> list[str]:
        return [r[0] for r in self.db.query(
            "SELECT DISTINCT node FROM sfn_map_children WHERE node IS NOT NULL AND node != ?", (exclude,))]

    def release_children(self, node: str) -> int:
        """A node is dead or stopping: the children it ran wait again (their results not yet taken
        stay: the parent's node takes them)."""
        return self.db.execute("UPDATE sfn_map_children SET node = NULL WHERE node = ? AND result IS NULL", (node,))

    # -- tags ------------------------------------------------------------------------------------

    def tagged(self, account: str, region: str) -> dict[str, dict]:
        """{ARN: tags} of the account's tagged state machines and activities in `region`, for the
        Resource Groups Tagging API (tags are kept by ARN, so the ARN's prefix picks them)."""
        prefix = f"arn:aws:states:{region}:{account}:"
        out: dict[str, dict] = {}
        for arn, key, value in self.db.query("SELECT arn, key, value FROM sfn_tags WHERE substr(arn, 1, ?) = ? "
                                             "ORDER BY arn, key", (len(prefix), prefix)):
            out.setdefault(arn, {})[key] = value
        return out

    def tags(self, arn: str) -> list[dict]:
        return [{"key": k, "value": v} for k, v in self.db.query(
            "SELECT key, value FROM sfn_tags WHERE arn = ? ORDER BY key", (arn,))]

    def tag(self, arn: str, tags: list[dict]) -> None:
        with self.db.transaction():
            for t in tags:
                self.db.execute("INSERT INTO sfn_tags(arn, key, value) VALUES(?,?,?) "
                                "ON CONFLICT(arn, key) DO UPDATE SET value = excluded.value", (arn, t["key"], t["value"]))

    def untag(self, arn: str, keys: list[str]) -> None:
        with self.db.transaction():
            for k in keys:
                self.db.execute("DELETE FROM sfn_tags WHERE arn = ? AND key = ?", (arn, k))
