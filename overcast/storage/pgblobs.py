"""Blobs in PostgreSQL (cluster mode): the nodes of a cluster share nothing but the database, so
S3 bodies, function code, Firehose output and Athena results live there too (docs/cluster.md).

A blob is a row of `overcast_blobs` (key -> the id of its chunks, size) and its bytes are rows of
`overcast_blob_chunks` (id, position, data), a megabyte each, stored uncompressed out of line
(STORAGE EXTERNAL), so that a range is read with substring() without reading the rest. Writing
inserts the chunks under a fresh id as they come, each in its own transaction, then one
transaction points the key at them (and drops the chunks it pointed at before): a reader never
sees a partial blob, and a crash leaves chunks no key points at, removed at the next start-up.
Each call runs on a pooled connection of its own (PostgresDatabase.connection), in the caller's
thread, never on the event loop's connection.
"""

from __future__ import annotations

import bisect
import io
import os
import time
import uuid

from overcast.storage.blobs import BlobSink, BlobStore, FileBlobStore

CHUNK = 1 << 20  # bytes per chunk row
UNFINISHED_GRACE = 3600.0  # seconds an uncommitted blob may take (another node may be writing it)
ORPHAN_GRACE = 60.0  # seconds between a blob's commit and its row in the service's table, at most

SCHEMA = "storage"
MIGRATIONS = [
    """
    CREATE TABLE overcast_blobs (
        key TEXT PRIMARY KEY,
        id TEXT NOT NULL,
        size INTEGER NOT NULL,
        created REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX overcast_blobs_id ON overcast_blobs (id);
    CREATE TABLE overcast_blob_chunks (
        id TEXT NOT NULL,
        position INTEGER NOT NULL,
        data BLOB NOT NULL,
        written REAL NOT NULL,
        PRIMARY KEY (id, position)
    ) WITHOUT ROWID;
    ALTER TABLE overcast_blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
    CREATE TABLE overcast_secrets (
        name TEXT PRIMARY KEY,
        value BLOB NOT NULL
    ) WITHOUT ROWID;
    """,
]


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"


class _Sink(BlobSink):
    def __init__(self, store: PostgresBlobStore, key: str):
        self.store, self.key = store, key
        self.id = uuid.uuid4().hex
        self.size = 0
        self._position = 0  # where the next chunk starts
        self._pending = bytearray()

    def write(self, data) -> None:
        self.size += len(data)
        if not self._pending and len(data) == CHUNK:
            self._insert(data)
            return
        self._pending += data
        while len(self._pending) >= CHUNK:
            self._insert(bytes(self._pending[:CHUNK]))
            del self._pending[:CHUNK]

    def _insert(self, data) -> None:
        with self.store.db.connection() as conn:
            conn.execute("INSERT INTO overcast_blob_chunks (id, position, data, written) VALUES ($1, $2, $3, $4)",
                         (self.id, self._position, data, time.time()))
        self._position += len(data)

    def commit(self) -> None:
        if self._pending:
            self._insert(bytes(self._pending))
            self._pending.clear()
        with self.store.db.connection() as conn, conn.transaction():
            old = conn.execute("SELECT id FROM overcast_blobs WHERE key = $1 FOR UPDATE", (self.key,)).fetchone()
            conn.execute("INSERT INTO overcast_blobs (key, id, size, created) VALUES ($1, $2, $3, $4) "
                         "ON CONFLICT (key) DO UPDATE SET id = excluded.id, size = excluded.size, "
                         "created = excluded.created", (self.key, self.id, self.size, time.time()))
            if old is not None and old[0] != self.id:
                conn.execute("DELETE FROM overcast_blob_chunks WHERE id = $1", (old[0],))

    def abort(self) -> None:
        self._pending.clear()
        if self._position:
            with self.store.db.connection() as conn:
                conn.execute("DELETE FROM overcast_blob_chunks WHERE id = $1", (self.id,))


class _Reader(io.RawIOBase):
    """A blob read a chunk (or the part of one asked for) per round trip."""

    def __init__(self, store: PostgresBlobStore, key: str):
        super().__init__()
        self.store = store
        with store.db.connection() as conn:
            row = conn.execute("SELECT id, size FROM overcast_blobs WHERE key = $1", (key,)).fetchone()
            if row is None:
                raise FileNotFoundError(f"no blob {key!r}")
            self.id, self.size = row
            chunks = conn.execute("SELECT position, octet_length(data) FROM overcast_blob_chunks WHERE id = $1 "
                                  "ORDER BY position", (self.id,)).fetchall()
        self._starts = [start for start, _ in chunks]
        self._lengths = [length for _, length in chunks]
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, size: int = -1) -> bytes:
        if self._pos >= self.size or size == 0:
            return b""
        if size is None or size < 0:
            parts = []
            while self._pos < self.size:
                parts.append(self.read(CHUNK))
            return b"".join(parts)
        index = bisect.bisect_right(self._starts, self._pos) - 1
        start, length = self._starts[index], self._lengths[index]
        within = self._pos - start
        take = min(size, length - within)
        with self.store.db.connection() as conn:
            if within == 0 and take == length:
                row = conn.execute("SELECT data FROM overcast_blob_chunks WHERE id = $1 AND position = $2",
                                   (self.id, start)).fetchone()
            else:
                row = conn.execute("SELECT substring(data FROM $3 FOR $4) FROM overcast_blob_chunks "
                                   "WHERE id = $1 AND position = $2", (self.id, start, within + 1, take)).fetchone()
        if row is None:  # replaced or deleted while being read
            raise FileNotFoundError("the blob was deleted while it was read")
        self._pos += take
        return bytes(row[0])

    def readall(self) -> bytes:
        return self.read(-1)


class PostgresBlobStore(BlobStore):
    def __init__(self, db, cache_dir: str):
        """`db`: the PostgresDatabase; `cache_dir`: where `local_path` keeps this node's copies."""
        self.db = db
        self.cache_dir = cache_dir
        self.local = FileBlobStore(cache_dir)
        # its tables (SCHEMA) are made with every other schema, once the node may migrate
        # (engine/startup.py, `overcast migrate`)

    def create(self, key: str) -> BlobSink:
        return _Sink(self, key)

    def open(self, key: str):
        return _Reader(self, key)

    def get(self, key: str) -> bytes:
        with self.db.connection() as conn:
            rows = conn.execute("SELECT c.data FROM overcast_blobs b JOIN overcast_blob_chunks c ON c.id = b.id "
                                "WHERE b.key = $1 ORDER BY c.position", (key,)).fetchall()
            if not rows and conn.execute("SELECT 1 FROM overcast_blobs WHERE key = $1", (key,)).fetchone() is None:
                raise FileNotFoundError(f"no blob {key!r}")
        return b"".join(bytes(r[0]) for r in rows)

    def exists(self, key: str) -> bool:
        with self.db.connection() as conn:
            return conn.execute("SELECT 1 FROM overcast_blobs WHERE key = $1", (key,)).fetchone() is not None

    def delete(self, key: str) -> None:
        with self.db.connection() as conn, conn.transaction():
            row = conn.execute("DELETE FROM overcast_blobs WHERE key = $1 RETURNING id", (key,)).fetchone()
            if row is not None:
                conn.execute("DELETE FROM overcast_blob_chunks WHERE id = $1", (row[0],))

    def concatenate(self, keys: list[str], key: str) -> int:
        """Copied chunk by chunk inside the database: no byte travels to this node."""
        new_id = uuid.uuid4().hex
        offset = 0
        now = time.time()
        with self.db.connection() as conn, conn.transaction():
            for part in keys:
                row = conn.execute("SELECT id, size FROM overcast_blobs WHERE key = $1", (part,)).fetchone()
                if row is None:
                    raise FileNotFoundError(f"no blob {part!r}")
                conn.execute("INSERT INTO overcast_blob_chunks (id, position, data, written) "
                             "SELECT $1, position + $2, data, $3 FROM overcast_blob_chunks WHERE id = $4",
                             (new_id, offset, now, row[0]))
                offset += row[1]
            old = conn.execute("SELECT id FROM overcast_blobs WHERE key = $1 FOR UPDATE", (key,)).fetchone()
            conn.execute("INSERT INTO overcast_blobs (key, id, size, created) VALUES ($1, $2, $3, $4) "
                         "ON CONFLICT (key) DO UPDATE SET id = excluded.id, size = excluded.size, "
                         "created = excluded.created", (key, new_id, offset, now))
            if old is not None:
                conn.execute("DELETE FROM overcast_blob_chunks WHERE id = $1", (old[0],))
        return offset

    def local_path(self, key: str) -> str:
        if ".." in key.split("/") or key.startswith("/"):
            raise ValueError(f"invalid blob key {key!r}")
        path = os.path.join(self.cache_dir, key)
        if os.path.exists(path):
            return path
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
        try:
            with self.open(key) as src, open(tmp, "wb") as out:
                while chunk := src.read(CHUNK):
                    out.write(chunk)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        return path

    def clear(self, prefix: str) -> None:
        pattern = _like_prefix(prefix)
        with self.db.connection() as conn, conn.transaction():
            conn.execute("DELETE FROM overcast_blob_chunks WHERE id IN "
                         "(SELECT id FROM overcast_blobs WHERE key LIKE $1 ESCAPE '\\')", (pattern,))
            conn.execute("DELETE FROM overcast_blobs WHERE key LIKE $1 ESCAPE '\\'", (pattern,))

    def orphan_candidates(self, prefixes: list[str], before: float) -> dict[str, list[str]]:
        found = {}
        with self.db.connection() as conn:
            for prefix in prefixes:
                rows = conn.execute("SELECT key FROM overcast_blobs WHERE key LIKE $1 ESCAPE '\\' AND created < $2",
                                    (_like_prefix(prefix), before - ORPHAN_GRACE)).fetchall()
                found[prefix] = [r[0] for r in rows]
        return found

    def drop_unfinished(self, before: float) -> int:
        with self.db.connection() as conn:
            cursor = conn.execute(
                "DELETE FROM overcast_blob_chunks WHERE id IN (SELECT c.id FROM overcast_blob_chunks c "
                "WHERE NOT EXISTS (SELECT 1 FROM overcast_blobs b WHERE b.id = c.id) "
                "GROUP BY c.id HAVING max(c.written) < $1)", (before - UNFINISHED_GRACE,))
            return cursor.rowcount
