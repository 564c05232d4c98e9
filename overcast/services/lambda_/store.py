"""Lambda's tables: functions ($LATEST), published versions, aliases, layers, resource policies,
event-invoke configs, function URLs, and the durable queue of asynchronous (Event) invocations.

Function and version configurations are stored as the JSON of their FunctionConfiguration (less
what is computed when answering), code as content-addressed blobs (see provider._code_key)."""

from __future__ import annotations

import orjson

from overcast.storage import Database

SCHEMA = "lambda"  # its version row in schema_versions
MIGRATIONS = [
    """
    CREATE TABLE lambda_functions (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        config TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '{}',
        reserved INTEGER,
        last_version INTEGER NOT NULL DEFAULT 0,
        created REAL NOT NULL,
        PRIMARY KEY (account, region, name)
    );
    CREATE TABLE lambda_versions (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        config TEXT NOT NULL,
        PRIMARY KEY (account, region, name, version)
    );
    CREATE TABLE lambda_aliases (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        alias TEXT NOT NULL,
        config TEXT NOT NULL,
        PRIMARY KEY (account, region, name, alias)
    );
    CREATE TABLE lambda_policies (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        qualifier TEXT NOT NULL,
        policy TEXT NOT NULL,
        revision TEXT NOT NULL,
        PRIMARY KEY (account, region, name, qualifier)
    );
    CREATE TABLE lambda_event_configs (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        qualifier TEXT NOT NULL,
        config TEXT NOT NULL,
        PRIMARY KEY (account, region, name, qualifier)
    );
    CREATE TABLE lambda_urls (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        qualifier TEXT NOT NULL,
        url_id TEXT NOT NULL UNIQUE,
        config TEXT NOT NULL,
        PRIMARY KEY (account, region, name, qualifier)
    );
    CREATE TABLE lambda_provisioned (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        qualifier TEXT NOT NULL,
        config TEXT NOT NULL,
        PRIMARY KEY (account, region, name, qualifier)
    );
    CREATE TABLE lambda_layers (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        config TEXT NOT NULL,
        PRIMARY KEY (account, region, name, version)
    );
    CREATE TABLE lambda_layer_counters (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        last_version INTEGER NOT NULL,
        PRIMARY KEY (account, region, name)
    );
    CREATE TABLE lambda_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        qualifier TEXT,
        request_id TEXT NOT NULL,
        payload BLOB NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        received REAL NOT NULL,
        due REAL NOT NULL
    );
    """,
    # the trace an asynchronous invocation was queued in (an X-Ray trace header): its attempts join it
    "ALTER TABLE lambda_events ADD COLUMN trace TEXT;",
    # the queue is shared by a cluster's nodes: `node` is the node running the event (NULL: free)
    """
    ALTER TABLE lambda_events ADD COLUMN node TEXT;
    CREATE INDEX lambda_events_claim ON lambda_events(node, due);
    """,
    # code signing configurations (signing.py); a function's own is "_CodeSigningConfigArn" in its config
    """
    CREATE TABLE lambda_code_signing (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        id TEXT NOT NULL,
        config TEXT NOT NULL,
        PRIMARY KEY (account, region, id)
    );
    """,
    # the sum of reserved concurrency an invocation reads (get_invocable) from the functions that
    # reserve some (usually none), not from every function of the account: without it each invoke
    # read all the account's rows, configurations included (200 functions: 134 us against 13 us)
    "CREATE INDEX lambda_functions_reserved ON lambda_functions(account, region) WHERE reserved IS NOT NULL;",
    # reserved concurrency across a cluster's nodes: one row per unit of a function's reservation,
    # taken (node, request) by an invocation while it runs (claim_slot); unused on one node
    """
    CREATE TABLE lambda_slots (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        slot INTEGER NOT NULL,
        node TEXT,
        request TEXT,
        PRIMARY KEY (account, region, name, slot)
    );
    CREATE INDEX lambda_slots_node ON lambda_slots(node) WHERE node IS NOT NULL;
    """,
]

_EVENT = "id, account, region, name, qualifier, request_id, payload, attempts, received, trace"


def has_pending_work(db: Database) -> bool:
    """Whether Lambda has work to resume at start-up: queued Event invocations or provisioned
    concurrency to pre-warm (the server then starts the Lambda provider without waiting for a request)."""
    if "lambda_events" not in db.tables():
        return False
    return bool(db.scalar("SELECT EXISTS (SELECT 1 FROM lambda_events) OR EXISTS (SELECT 1 FROM lambda_provisioned)"))


def _j(value) -> str:
    return orjson.dumps(value).decode()


class LambdaStore:
    def __init__(self, db: Database):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)

    def transaction(self):
        return self.db.transaction()

    # -- functions -----------------------------------------------------------------------------

    def create_function(self, account, region, name, config: dict, tags: dict, created: float) -> bool:
        return self.db.execute(
            "INSERT INTO lambda_functions(account, region, name, config, tags, created) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT DO NOTHING", (account, region, name, _j(config), _j(tags), created)) > 0

    def get_function(self, account, region, name):
        """(config, tags, reserved, last_version) or None."""
        row = self.db.query_one(
            "SELECT config, tags, reserved, last_version FROM lambda_functions WHERE account=? AND region=? AND name=?",
            (account, region, name))
        if row is None:
            return None
        return orjson.loads(row[0]), orjson.loads(row[1]), row[2], row[3]

    def get_invocable(self, account, region, name):
        """(config, reserved, reserved total of the account and region) or None: what an
        invocation reads, in one query."""
        row = self.db.query_one(
            "SELECT config, reserved, (SELECT COALESCE(SUM(reserved), 0) FROM lambda_functions"
            " WHERE account=? AND region=? AND reserved IS NOT NULL)"
            " FROM lambda_functions WHERE account=? AND region=? AND name=?",
            (account, region, account, region, name))
        if row is None:
            return None
        return orjson.loads(row[0]), row[1], row[2] or 0

    def put_config(self, account, region, name, config: dict) -> None:
        self.db.execute("UPDATE lambda_functions SET config=? WHERE account=? AND region=? AND name=?",
                        (_j(config), account, region, name))

    def tagged(self, account: str, region: str) -> list[tuple]:
        """(name, tags as stored) of the functions of an account's region that have tags, for the
        Resource Groups Tagging API."""
        return self.db.query("SELECT name, tags FROM lambda_functions WHERE account=? AND region=? AND tags != '{}' ORDER BY name", (account, region))

    def put_tags(self, account, region, name, tags: dict) -> None:
        self.db.execute("UPDATE lambda_functions SET tags=? WHERE account=? AND region=? AND name=?",
                        (_j(tags), account, region, name))

    def set_reserved(self, account, region, name, reserved: int | None) -> None:
        self.db.execute("UPDATE lambda_functions SET reserved=? WHERE account=? AND region=? AND name=?",
                        (reserved, account, region, name))

    def reserved_total(self, account, region, exclude: str | None = None) -> int:
        return self.db.scalar(
            "SELECT COALESCE(SUM(reserved), 0) FROM lambda_functions WHERE account=? AND region=? AND name != ?"
            " AND reserved IS NOT NULL",
            (account, region, exclude or "")) or 0

    def list_functions(self, account, region, after: str, limit: int) -> list[tuple[str, dict]]:
        rows = self.db.query(
            "SELECT name, config FROM lambda_functions WHERE account=? AND region=? AND name > ? ORDER BY name LIMIT ?",
            (account, region, after, limit))
        return [(n, orjson.loads(c)) for n, c in rows]

    def account_usage(self, account, region) -> tuple[int, int]:
        """(function count, TotalCodeSize): AWS counts the storage of every deployment package and
        layer archive, so each function's $LATEST, each published version and each layer version."""
        rows = self.db.query("SELECT config FROM lambda_functions WHERE account=? AND region=?", (account, region))
        total = sum(orjson.loads(c).get("CodeSize", 0) for (c,) in rows)
        total += sum(orjson.loads(c).get("CodeSize", 0) for (c,) in self.db.query(
            "SELECT config FROM lambda_versions WHERE account=? AND region=?", (account, region)))
        total += sum((orjson.loads(c).get("Content") or {}).get("CodeSize", 0) for (c,) in self.db.query(
            "SELECT config FROM lambda_layers WHERE account=? AND region=?", (account, region)))
        return len(rows), total

    def delete_function(self, account, region, name) -> None:
        with self.db.transaction():
            for table in ("lambda_versions", "lambda_aliases", "lambda_policies", "lambda_event_configs",
                          "lambda_urls", "lambda_provisioned", "lambda_slots"):
                self.db.execute(f"DELETE FROM {table} WHERE account=? AND region=? AND name=?", (account, region, name))
            self.db.execute("DELETE FROM lambda_functions WHERE account=? AND region=? AND name=?", (account, region, name))

    # -- versions ------------------------------------------------------------------------------

    def add_version(self, account, region, name, config_for) -> dict:
        """Allocate the next version number and store config_for(number)."""
        with self.db.transaction():
            self.db.execute("UPDATE lambda_functions SET last_version = last_version + 1 WHERE account=? AND region=? AND name=?",
                            (account, region, name))
            number = self.db.scalar("SELECT last_version FROM lambda_functions WHERE account=? AND region=? AND name=?",
                                    (account, region, name))
            config = config_for(number)
            self.db.execute("INSERT INTO lambda_versions(account, region, name, version, config) VALUES (?,?,?,?,?)",
                            (account, region, name, number, _j(config)))
        return config

    def get_version(self, account, region, name, version: int) -> dict | None:
        text = self.db.scalar("SELECT config FROM lambda_versions WHERE account=? AND region=? AND name=? AND version=?",
                              (account, region, name, version))
        return orjson.loads(text) if text else None

    def latest_version(self, account, region, name) -> dict | None:
        text = self.db.scalar("SELECT config FROM lambda_versions WHERE account=? AND region=? AND name=? "
                              "ORDER BY version DESC LIMIT 1", (account, region, name))
        return orjson.loads(text) if text else None

    def list_versions(self, account, region, name) -> list[dict]:
        return [orjson.loads(c) for (c,) in self.db.query(
            "SELECT config FROM lambda_versions WHERE account=? AND region=? AND name=? ORDER BY version",
            (account, region, name))]

    def delete_version(self, account, region, name, version: int) -> bool:
        return self.db.execute("DELETE FROM lambda_versions WHERE account=? AND region=? AND name=? AND version=?",
                               (account, region, name, version)) > 0

    # -- keyed JSON documents (aliases, policies, event configs, urls, provisioned) --------------

    def get_doc(self, table, account, region, name, key_column, key) -> dict | None:
        column = "policy" if table == "lambda_policies" else "config"
        text = self.db.scalar(f"SELECT {column} FROM {table} WHERE account=? AND region=? AND name=? AND {key_column}=?",
                              (account, region, name, key))
        return orjson.loads(text) if text else None

    def put_doc(self, table, account, region, name, key_column, key, doc: dict, **extra) -> None:
        column = "policy" if table == "lambda_policies" else "config"
        columns = ["account", "region", "name", key_column, column, *extra]
        values = [account, region, name, key, _j(doc), *extra.values()]
        updates = ", ".join(f"{c}=excluded.{c}" for c in (column, *extra))
        self.db.execute(f"INSERT INTO {table}({', '.join(columns)}) VALUES ({','.join('?' * len(values))}) "
                        f"ON CONFLICT(account, region, name, {key_column}) DO UPDATE SET {updates}", values)

    def delete_doc(self, table, account, region, name, key_column, key) -> bool:
        return self.db.execute(f"DELETE FROM {table} WHERE account=? AND region=? AND name=? AND {key_column}=?",
                               (account, region, name, key)) > 0

    def list_docs(self, table, account, region, name) -> list[dict]:
        return [orjson.loads(c) for (c,) in self.db.query(
            f"SELECT config FROM {table} WHERE account=? AND region=? AND name=? ORDER BY 1", (account, region, name))]

    def url_by_id(self, url_id: str):
        row = self.db.query_one("SELECT account, region, name, qualifier, config FROM lambda_urls WHERE url_id=?", (url_id,))
        return (*row[:4], orjson.loads(row[4])) if row else None

    def runtimes(self) -> list[str]:
        """The runtimes of every function and published version."""
        return [r[0] for r in self.db.query(
            "SELECT json_extract(config, '$.Runtime') FROM lambda_functions UNION "
            "SELECT json_extract(config, '$.Runtime') FROM lambda_versions") if r[0]]

    def list_provisioned(self, account, region, name) -> dict[str, dict]:
        """A function's provisioned-concurrency configurations by qualifier."""
        return {q: orjson.loads(c) for q, c in self.db.query(
            "SELECT qualifier, config FROM lambda_provisioned WHERE account=? AND region=? AND name=? ORDER BY qualifier",
            (account, region, name))}

    def all_provisioned(self) -> list[tuple]:
        return [(*r[:4], orjson.loads(r[4])) for r in self.db.query(
            "SELECT account, region, name, qualifier, config FROM lambda_provisioned")]

    # -- code signing configurations --------------------------------------------------------------

    def put_code_signing(self, account, region, csc_id: str, config: dict) -> None:
        self.db.execute("INSERT INTO lambda_code_signing(account, region, id, config) VALUES (?,?,?,?) "
                        "ON CONFLICT(account, region, id) DO UPDATE SET config=excluded.config",
                        (account, region, csc_id, _j(config)))

    def get_code_signing(self, account, region, csc_id: str) -> dict | None:
        text = self.db.scalar("SELECT config FROM lambda_code_signing WHERE account=? AND region=? AND id=?",
                              (account, region, csc_id))
        return orjson.loads(text) if text else None

    def list_code_signing(self, account, region, after: str, limit: int) -> list[dict]:
        return [orjson.loads(c) for (c,) in self.db.query(
            "SELECT config FROM lambda_code_signing WHERE account=? AND region=? AND id > ? ORDER BY id LIMIT ?",
            (account, region, after, limit))]

    def delete_code_signing(self, account, region, csc_id: str) -> bool:
        return self.db.execute("DELETE FROM lambda_code_signing WHERE account=? AND region=? AND id=?",
                               (account, region, csc_id)) > 0

    def functions_signed_by(self, account, region, csc_arn: str) -> list[str]:
        """The functions whose code signing configuration is csc_arn (their FunctionArn)."""
        return [r[0] for r in self.db.query(
            "SELECT json_extract(config, '$.FunctionArn') FROM lambda_functions WHERE account=? AND region=? "
            "AND json_extract(config, '$._CodeSigningConfigArn') = ? ORDER BY name", (account, region, csc_arn))]

    # -- layers --------------------------------------------------------------------------------

    def add_layer_version(self, account, region, name, config_for) -> dict:
        with self.db.transaction():
            self.db.execute("INSERT INTO lambda_layer_counters(account, region, name, last_version) VALUES (?,?,?,1) "
                            "ON CONFLICT(account, region, name) DO UPDATE SET last_version = last_version + 1", (account, region, name))
            number = self.db.scalar("SELECT last_version FROM lambda_layer_counters WHERE account=? AND region=? AND name=?",
                                    (account, region, name))
            config = config_for(number)
            self.db.execute("INSERT INTO lambda_layers(account, region, name, version, config) VALUES (?,?,?,?,?)",
                            (account, region, name, number, _j(config)))
        return config

    def get_layer_version(self, account, region, name, version: int) -> dict | None:
        text = self.db.scalar("SELECT config FROM lambda_layers WHERE account=? AND region=? AND name=? AND version=?",
                              (account, region, name, version))
        return orjson.loads(text) if text else None

    def list_layer_versions(self, account, region, name) -> list[dict]:
        return [orjson.loads(c) for (c,) in self.db.query(
            "SELECT config FROM lambda_layers WHERE account=? AND region=? AND name=? ORDER BY version DESC",
            (account, region, name))]

    def list_layers(self, account, region) -> list[tuple[str, dict]]:
        rows = self.db.query(
            "SELECT name, config FROM lambda_layers l WHERE account=? AND region=? AND version = "
            "(SELECT MAX(version) FROM lambda_layers m WHERE m.account=l.account AND m.region=l.region AND m.name=l.name) "
            "ORDER BY name", (account, region))
        return [(n, orjson.loads(c)) for n, c in rows]

    def set_layer_version(self, account, region, name, version: int, config: dict) -> None:
        self.db.execute("UPDATE lambda_layers SET config=? WHERE account=? AND region=? AND name=? AND version=?",
                        (_j(config), account, region, name, version))

    def delete_layer_version(self, account, region, name, version: int) -> None:
        self.db.execute("DELETE FROM lambda_layers WHERE account=? AND region=? AND name=? AND version=?",
                        (account, region, name, version))

    # -- the asynchronous invocation queue -------------------------------------------------------
    # Rows are events waiting (node NULL, due: when they may run next) or running on `node`. Any
    # node claims due events (claim_events); a node's claims are released when it is known dead.

    def enqueue(self, account, region, name, qualifier, request_id, payload: bytes, now: float,
                trace: str | None = None, node: str | None = None) -> int:
        """Queue an event; `node`: the node that runs it at once (it had a worker free), else None."""
        return self.db.insert(
            "INSERT INTO lambda_events(account, region, name, qualifier, request_id, payload, received, due, trace, "
            "node) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (account, region, name, qualifier, request_id, payload, now, now, trace, node))

    def claim_events(self, node: str, now: float, limit: int) -> list[tuple]:
        """Up to `limit` due events, earliest first, now `node`'s: rows of (id, account, region,
        name, qualifier, request_id, payload, attempts, received, trace). On PostgreSQL the rows
        another node is claiming at the same moment are skipped (FOR UPDATE SKIP LOCKED); SQLite
        has a single writer, so the UPDATE is atomic as it stands."""
        return self.db.query(
            f"UPDATE lambda_events SET node = ? WHERE id IN (SELECT id FROM lambda_events WHERE node IS NULL "
            f"AND due <= ? ORDER BY due LIMIT ?{self.db.skip_locked}) RETURNING {_EVENT}", (node, now, limit))

    def next_due(self, now: float) -> float | None:
        """When the earliest waiting event that is not due yet is."""
        return self.db.scalar("SELECT MIN(due) FROM lambda_events WHERE node IS NULL AND due > ?", (now,))

    def release(self, event_id: int, node: str, attempts: int, due: float) -> bool:
        """Put an event back in the queue, to run again at `due` (a retry, or a throttled attempt),
        if `node` still holds it."""
        return self.db.execute("UPDATE lambda_events SET node = NULL, attempts = ?, due = ? WHERE id = ? AND node = ?",
                               (attempts, due, event_id, node)) > 0

    def finish(self, event_id: int, node: str) -> None:
        """Done with the event (delivered, dropped or failed for good), if `node` still holds it."""
        self.db.execute("DELETE FROM lambda_events WHERE id = ? AND node = ?", (event_id, node))

    def claimers(self, exclude: str) -> list[str]:
        """The other nodes holding events (live or not)."""
        return [row[0] for row in self.db.query(
            "SELECT DISTINCT node FROM lambda_events WHERE node IS NOT NULL AND node != ?", (exclude,))]

    def release_claims(self, node: str) -> int:
        """A node is dead or stopping: its events wait again (each is run again from its last
        attempt count)."""
        return self.db.execute("UPDATE lambda_events SET node = NULL WHERE node = ?", (node,))

    # -- reserved concurrency across nodes (a cluster only) ----------------------------------------
    # A function with ReservedConcurrentExecutions = n has slots 0..n-1 (rows made when first
    # needed); an invocation runs while it holds one (node, request), so however many nodes take
    # its calls, at most n run at once. The claim is one statement: the subquery locks the free
    # slot it picks (FOR UPDATE SKIP LOCKED), so two nodes claiming at once take different slots,
    # as with the event queue. Slots at or above a lowered reservation are not claimed again.

    def claim_slot(self, account, region, name, limit: int, node: str, request: str) -> bool:
        """Take a free slot below `limit` for `request` on `node`; False: all are taken (throttled)."""
        if self._take_slot(account, region, name, limit, node, request):
            return True
        # none free: the slots may not exist yet (the first invoke since the reservation was set
        # or raised); a throttled invoke pays this second statement, an admitted one never
        have = self.db.scalar("SELECT COUNT(*) FROM lambda_slots WHERE account=? AND region=? AND name=? AND slot < ?",
                              (account, region, name, limit))
        if have >= limit:
            return False
        self.db.execute_many("INSERT OR IGNORE INTO lambda_slots(account, region, name, slot) VALUES (?,?,?,?)",
                             [(account, region, name, slot) for slot in range(limit)])
        return self._take_slot(account, region, name, limit, node, request)

    def _take_slot(self, account, region, name, limit, node, request) -> bool:
        return bool(self.db.query(
            f"UPDATE lambda_slots SET node = ?, request = ? WHERE rowid IN (SELECT rowid FROM lambda_slots "
            f"WHERE account=? AND region=? AND name=? AND slot < ? AND node IS NULL LIMIT 1{self.db.skip_locked}) "
            f"RETURNING slot", (node, request, account, region, name, limit)))

    def release_slot(self, account, region, name, node: str, request: str) -> None:
        """The invocation ended: its slot is free (unless freed already, its node taken for dead)."""
        self.db.execute("UPDATE lambda_slots SET node = NULL, request = NULL WHERE account=? AND region=? AND name=? "
                        "AND node = ? AND request = ?", (account, region, name, node, request))

    def slot_holders(self, exclude: str) -> list[str]:
        """The other nodes holding slots (live or not)."""
        return [row[0] for row in self.db.query(
            "SELECT DISTINCT node FROM lambda_slots WHERE node IS NOT NULL AND node != ?", (exclude,))]

    def release_slots(self, node: str) -> int:
        """A node is dead or stopping: the slots its invocations held are free."""
        return self.db.execute("UPDATE lambda_slots SET node = NULL, request = NULL WHERE node = ?", (node,))
