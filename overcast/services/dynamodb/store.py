"""DynamoDB's tables and queries: the only place its SQL lives.

- `ddb_tables`: one row per table; `spec` is the table's description as JSON (key schema,
  attribute definitions, indexes, billing, stream and TTL settings, tags).
- `ddb_items`: one row per item: (table_id, hash, pk, sk) is the primary key, where `pk` and `sk`
  are the sortable encodings of the key values (values.key_bytes; sk is b"" without a sort key)
  and `hash` the partition hash that orders Scan. `item` is the serialized item
  (values.dump_item). `ttl` holds the item's TTL attribute (epoch seconds) when the table has TTL.
- `ddb_index_items`: one row per item per secondary index it appears in, keyed by the index's
  own (hash, pk, sk) and then the table's key, holding the projected item: a Query on an index
  reads this table only.
- `ddb_streams` / `ddb_stream_records`: streams and their records; a record's sequence number
  derives from its row id, so records are in commit order.
- `ddb_tx_tokens`: TransactWriteItems ClientRequestTokens (idempotency for ten minutes).
"""

from __future__ import annotations

import orjson

from overcast.storage import Database

SCHEMA = "dynamodb"  # its version row in schema_versions
MIGRATIONS = [
    """
    CREATE TABLE ddb_tables (
        id INTEGER PRIMARY KEY,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        spec TEXT NOT NULL,
        UNIQUE (account, region, name)
    );
    CREATE TABLE ddb_items (
        table_id INTEGER NOT NULL,
        hash INTEGER NOT NULL,
        pk BLOB NOT NULL,
        sk BLOB NOT NULL,
        item BLOB NOT NULL,
        ttl REAL,
        PRIMARY KEY (table_id, hash, pk, sk)
    ) WITHOUT ROWID;
    CREATE INDEX ddb_items_ttl ON ddb_items (ttl, table_id) WHERE ttl IS NOT NULL;
    CREATE TABLE ddb_index_items (
        table_id INTEGER NOT NULL,
        index_name TEXT NOT NULL,
        hash INTEGER NOT NULL,
        pk BLOB NOT NULL,
        sk BLOB NOT NULL,
        tpk BLOB NOT NULL,
        tsk BLOB NOT NULL,
        item BLOB NOT NULL,
        PRIMARY KEY (table_id, index_name, hash, pk, sk, tpk, tsk)
    ) WITHOUT ROWID;
    CREATE TABLE ddb_streams (
        id INTEGER PRIMARY KEY,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        table_name TEXT NOT NULL,
        table_id INTEGER,
        arn TEXT NOT NULL UNIQUE,
        label TEXT NOT NULL,
        view_type TEXT NOT NULL,
        shard_id TEXT NOT NULL,
        created REAL NOT NULL,
        disabled REAL
    );
    CREATE INDEX ddb_streams_table ON ddb_streams (account, region, table_name);
    CREATE TABLE ddb_stream_records (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        stream_id INTEGER NOT NULL,
        created REAL NOT NULL,
        record BLOB NOT NULL
    );
    CREATE INDEX ddb_stream_records_stream ON ddb_stream_records (stream_id, seq);
    CREATE TABLE ddb_tx_tokens (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        token TEXT NOT NULL,
        digest TEXT NOT NULL,
        created REAL NOT NULL,
        response BLOB NOT NULL,
        PRIMARY KEY (account, region, token)
    );
    """,
]

_GET = "SELECT item FROM ddb_items WHERE table_id = ? AND hash = ? AND pk = ? AND sk = ?"
_PUT = "INSERT OR REPLACE INTO ddb_items (table_id, hash, pk, sk, item, ttl) VALUES (?, ?, ?, ?, ?, ?)"
_DELETE = "DELETE FROM ddb_items WHERE table_id = ? AND hash = ? AND pk = ? AND sk = ?"
_PUT_INDEX = ("INSERT OR REPLACE INTO ddb_index_items (table_id, index_name, hash, pk, sk, tpk, tsk, item) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
_DELETE_INDEX = ("DELETE FROM ddb_index_items WHERE table_id = ? AND index_name = ? AND hash = ? AND pk = ? AND sk = ? "
                 "AND tpk = ? AND tsk = ?")

_SK_OPS = {"=": "sk = ?", "<": "sk < ?", "<=": "sk <= ?", ">": "sk > ?", ">=": "sk >= ?"}


class DynamoDbStore:
    def __init__(self, db: Database):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)

    def transaction(self):
        return self.db.transaction()

    # -- tables ------------------------------------------------------------------------------

    def get_table(self, account: str, region: str, name: str) -> tuple | None:
        return self.db.query_one("SELECT id, spec FROM ddb_tables WHERE account = ? AND region = ? AND name = ?",
                                 (account, region, name))

    def create_table(self, account: str, region: str, name: str, spec: dict) -> int:
        return self.db.insert("INSERT INTO ddb_tables (account, region, name, spec) VALUES (?, ?, ?, ?)",
                              (account, region, name, orjson.dumps(spec).decode()))

    def save_table(self, table_id: int, spec: dict) -> None:
        self.db.execute("UPDATE ddb_tables SET spec = ? WHERE id = ?", (orjson.dumps(spec).decode(), table_id))

    def delete_table(self, table_id: int) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM ddb_tables WHERE id = ?", (table_id,))
            self.db.execute("DELETE FROM ddb_items WHERE table_id = ?", (table_id,))
            self.db.execute("DELETE FROM ddb_index_items WHERE table_id = ?", (table_id,))

    def list_tables(self, account: str, region: str, after: str, limit: int) -> list[str]:
        rows = self.db.query("SELECT name FROM ddb_tables WHERE account = ? AND region = ? AND name > ? "
                             "ORDER BY name LIMIT ?", (account, region, after, limit))
        return [r[0] for r in rows]

    def tagged(self, account: str, region: str) -> list[tuple]:
        """(spec,) of every table of an account's region (its tags are in the spec), for the
        Resource Groups Tagging API."""
        return self.db.query("SELECT spec FROM ddb_tables WHERE account = ? AND region = ? ORDER BY name", (account, region))

    def table_stats(self, table_id: int) -> tuple[int, int]:
        row = self.db.query_one("SELECT COUNT(*), COALESCE(SUM(LENGTH(item)), 0) FROM ddb_items WHERE table_id = ?",
                                (table_id,))
        return row[0], row[1]

    def index_stats(self, table_id: int, index_name: str) -> tuple[int, int]:
        row = self.db.query_one("SELECT COUNT(*), COALESCE(SUM(LENGTH(item)), 0) FROM ddb_index_items "
                                "WHERE table_id = ? AND index_name = ?", (table_id, index_name))
        return row[0], row[1]

    def collection_size(self, table_id: int, hash_: int, pk: bytes, local_indexes: list[str]) -> int:
        """Bytes stored for one item collection: the items with this partition key and their
        entries in the table's local secondary indexes."""
        marks = ", ".join("?" * len(local_indexes))
        row = self.db.query_one(
            "SELECT (SELECT COALESCE(SUM(LENGTH(item)), 0) FROM ddb_items WHERE table_id = ? AND hash = ? AND pk = ?)"
            " + (SELECT COALESCE(SUM(LENGTH(item)), 0) FROM ddb_index_items WHERE table_id = ? AND index_name IN "
            f"({marks}) AND hash = ? AND pk = ?)", (table_id, hash_, pk, table_id, *local_indexes, hash_, pk))
        return row[0]

    def ttl_tables(self) -> list[tuple]:
        return self.db.query("SELECT id, account, region, name, spec FROM ddb_tables WHERE spec LIKE '%\"TtlAttribute\"%'")

    # -- items -------------------------------------------------------------------------------

    def get_item(self, table_id: int, hash_: int, pk: bytes, sk: bytes) -> bytes | None:
        row = self.db.query_one(_GET, (table_id, hash_, pk, sk))
        return row[0] if row else None

    async def get_item_pipelined(self, table_id: int, hash_: int, pk: bytes, sk: bytes) -> bytes | None:
        row = await self.db.pipeline.query_one(_GET, (table_id, hash_, pk, sk))
        return row[0] if row else None

    def put_item(self, table_id: int, hash_: int, pk: bytes, sk: bytes, blob: bytes, ttl: float | None) -> None:
        self.db.execute(_PUT, (table_id, hash_, pk, sk, blob, ttl))

    def delete_item(self, table_id: int, hash_: int, pk: bytes, sk: bytes) -> None:
        self.db.execute(_DELETE, (table_id, hash_, pk, sk))

    def put_items(self, rows: list[tuple]) -> None:
        self.db.execute_many(_PUT, rows)

    def put_index_item(self, table_id: int, index: str, hash_: int, pk: bytes, sk: bytes, tpk: bytes, tsk: bytes,
                       blob: bytes) -> None:
        self.db.execute(_PUT_INDEX, (table_id, index, hash_, pk, sk, tpk, tsk, blob))

    def put_index_items(self, rows: list[tuple]) -> None:
        self.db.execute_many(_PUT_INDEX, rows)

    def delete_index_item(self, table_id: int, index: str, hash_: int, pk: bytes, sk: bytes, tpk: bytes,
                          tsk: bytes) -> None:
        self.db.execute(_DELETE_INDEX, (table_id, index, hash_, pk, sk, tpk, tsk))

    def drop_index(self, table_id: int, index: str) -> None:
        self.db.execute("DELETE FROM ddb_index_items WHERE table_id = ? AND index_name = ?", (table_id, index))

    def set_ttl_values(self, rows: list[tuple]) -> None:
        """rows = (ttl, table_id, hash, pk, sk)."""
        self.db.execute_many("UPDATE ddb_items SET ttl = ? WHERE table_id = ? AND hash = ? AND pk = ? AND sk = ?", rows)

    def clear_ttl_values(self, table_id: int) -> None:
        self.db.execute("UPDATE ddb_items SET ttl = NULL WHERE table_id = ? AND ttl IS NOT NULL", (table_id,))

    def query_items(self, table_id: int, hash_: int, pk: bytes, sk_op: str | None, sk_args: tuple, forward: bool,
                    after: bytes | None, limit: int) -> list[tuple]:
        """(sk, item) rows of one partition, in sort-key order, after the `after` sort key."""
        sql = "SELECT sk, item FROM ddb_items WHERE table_id = ? AND hash = ? AND pk = ?"
        params: list = [table_id, hash_, pk]
        sql, params = _sk_condition(sql, params, sk_op, sk_args)
        if after is not None:
            sql += " AND sk > ?" if forward else " AND sk < ?"
            params.append(after)
        sql += " ORDER BY sk" + ("" if forward else " DESC") + " LIMIT ?"
        params.append(limit)
        return self.db.query(sql, params)

    def scan_items(self, table_id: int, after: tuple | None, hash_range: tuple[int, int] | None, limit: int) -> list[tuple]:
        """(hash, pk, sk, item) rows in scan order (partition hash, then keys)."""
        sql = "SELECT hash, pk, sk, item FROM ddb_items WHERE table_id = ?"
        params: list = [table_id]
        if hash_range is not None:
            sql += " AND hash >= ? AND hash < ?"
            params += hash_range
        if after is not None:
            sql += " AND (hash, pk, sk) > (?, ?, ?)"
            params += after
        sql += " ORDER BY hash, pk, sk LIMIT ?"
        params.append(limit)
        return self.db.query(sql, params)

    def query_index(self, table_id: int, index: str, hash_: int, pk: bytes, sk_op: str | None, sk_args: tuple,
                    forward: bool, after: tuple | None, limit: int) -> list[tuple]:
        """(sk, tpk, tsk, item) rows of one index partition in index sort-key order."""
        sql = "SELECT sk, tpk, tsk, item FROM ddb_index_items WHERE table_id = ? AND index_name = ? AND hash = ? AND pk = ?"
        params: list = [table_id, index, hash_, pk]
        sql, params = _sk_condition(sql, params, sk_op, sk_args)
        if after is not None:
            sql += " AND (sk, tpk, tsk) > (?, ?, ?)" if forward else " AND (sk, tpk, tsk) < (?, ?, ?)"
            params += after
        order = "" if forward else " DESC"
        sql += f" ORDER BY sk{order}, tpk{order}, tsk{order} LIMIT ?"
        params.append(limit)
        return self.db.query(sql, params)

    def scan_index(self, table_id: int, index: str, after: tuple | None, hash_range: tuple[int, int] | None,
                   limit: int) -> list[tuple]:
        """(hash, pk, sk, tpk, tsk, item) rows of an index in scan order."""
        sql = "SELECT hash, pk, sk, tpk, tsk, item FROM ddb_index_items WHERE table_id = ? AND index_name = ?"
        params: list = [table_id, index]
        if hash_range is not None:
            sql += " AND hash >= ? AND hash < ?"
            params += hash_range
        if after is not None:
            sql += " AND (hash, pk, sk, tpk, tsk) > (?, ?, ?, ?, ?)"
            params += after
        sql += " ORDER BY hash, pk, sk, tpk, tsk LIMIT ?"
        params.append(limit)
        return self.db.query(sql, params)

    def expired_items(self, now: float, oldest: float, limit: int) -> list[tuple]:
        """(table_id, hash, pk, sk, item) of items whose TTL has passed (but is not older than `oldest`)."""
        return self.db.query("SELECT table_id, hash, pk, sk, item FROM ddb_items WHERE ttl IS NOT NULL AND ttl <= ? "
                             "AND ttl >= ? ORDER BY ttl LIMIT ?", (now, oldest, limit))

    def next_expiry(self, oldest: float) -> float | None:
        return self.db.scalar("SELECT MIN(ttl) FROM ddb_items WHERE ttl IS NOT NULL AND ttl >= ?", (oldest,))

    # -- streams -----------------------------------------------------------------------------

    def create_stream(self, account: str, region: str, table_name: str, table_id: int, arn: str, label: str,
                      view_type: str, shard_id: str, created: float) -> int:
        return self.db.insert(
            "INSERT INTO ddb_streams (account, region, table_name, table_id, arn, label, view_type, shard_id, created) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (account, region, table_name, table_id, arn, label, view_type, shard_id, created))

    def disable_streams(self, table_id: int, now: float) -> None:
        self.db.execute("UPDATE ddb_streams SET disabled = ?, table_id = NULL WHERE table_id = ? AND disabled IS NULL",
                        (now, table_id))

    def get_stream(self, arn: str) -> tuple | None:
        """(id, account, region, table_name, table_id, arn, label, view_type, shard_id, created, disabled)."""
        return self.db.query_one("SELECT id, account, region, table_name, table_id, arn, label, view_type, shard_id, "
                                 "created, disabled FROM ddb_streams WHERE arn = ?", (arn,))

    def list_streams(self, account: str, region: str, table_name: str | None, since: float) -> list[tuple]:
        sql = ("SELECT arn, table_name, label FROM ddb_streams WHERE account = ? AND region = ? "
               "AND (disabled IS NULL OR disabled > ?)")
        params: list = [account, region, since]
        if table_name:
            sql += " AND table_name = ?"
            params.append(table_name)
        return self.db.query(sql + " ORDER BY id", params)

    def add_record(self, stream_id: int, created: float, record: bytes) -> int:
        return self.db.insert("INSERT INTO ddb_stream_records (stream_id, created, record) VALUES (?, ?, ?)",
                              (stream_id, created, record))

    def records_after(self, stream_id: int, after: int, since: float, limit: int) -> list[tuple]:
        return self.db.query("SELECT seq, record FROM ddb_stream_records WHERE stream_id = ? AND seq > ? AND created > ? "
                             "ORDER BY seq LIMIT ?", (stream_id, after, since, limit))

    def stream_bounds(self, stream_id: int, since: float) -> tuple:
        return self.db.query_one("SELECT MIN(seq), MAX(seq) FROM ddb_stream_records WHERE stream_id = ? AND created > ?",
                                 (stream_id, since))

    def last_seq(self) -> int:
        """The newest record's sequence number (records older than any still kept are gone, so an
        iterator after it sees exactly the records written from now on)."""
        return self.db.scalar("SELECT COALESCE(MAX(seq), 0) FROM ddb_stream_records")

    def purge_records(self, before: float) -> None:
        self.db.execute("DELETE FROM ddb_stream_records WHERE created <= ?", (before,))
        self.db.execute("DELETE FROM ddb_streams WHERE disabled IS NOT NULL AND disabled <= ?", (before,))

    # -- transactions ------------------------------------------------------------------------

    def get_token(self, account: str, region: str, token: str, since: float) -> tuple | None:
        return self.db.query_one("SELECT digest, response FROM ddb_tx_tokens WHERE account = ? AND region = ? "
                                 "AND token = ? AND created > ?", (account, region, token, since))

    def save_token(self, account: str, region: str, token: str, digest: str, now: float, response: bytes) -> None:
        self.db.execute("DELETE FROM ddb_tx_tokens WHERE created <= ?", (now - 600,))
        self.db.execute("INSERT OR REPLACE INTO ddb_tx_tokens (account, region, token, digest, created, response) "
                        "VALUES (?, ?, ?, ?, ?, ?)", (account, region, token, digest, now, response))


def _sk_condition(sql: str, params: list, op: str | None, args: tuple) -> tuple[str, list]:
    if op is None:
        return sql, params
    if op == "BETWEEN":
        return sql + " AND sk >= ? AND sk <= ?", params + list(args)
    if op == "begins_with":
        prefix = args[0]
        sql += " AND sk >= ? AND substr(sk, 1, ?) = ?"
        return sql, params + [prefix, len(prefix), prefix]
    return sql + " AND " + _SK_OPS[op], params + [args[0]]
