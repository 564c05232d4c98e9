"""S3's tables: buckets (with their configurations as JSON), object versions, multipart uploads
and their parts. Object bodies are files in the blob store; rows name them."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from overcast.storage import Database

SCHEMA = "s3"  # its version row in schema_versions
MIGRATIONS = [
    """
    CREATE TABLE s3_buckets (
        name TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        created REAL NOT NULL,
        versioning TEXT NOT NULL DEFAULT '',
        object_lock INTEGER NOT NULL DEFAULT 0,
        config TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE s3_objects (
        id INTEGER PRIMARY KEY,
        bucket TEXT NOT NULL,
        key TEXT NOT NULL,
        version_id TEXT NOT NULL,
        latest INTEGER NOT NULL,
        delete_marker INTEGER NOT NULL DEFAULT 0,
        size INTEGER NOT NULL DEFAULT 0,
        etag TEXT NOT NULL DEFAULT '',
        modified REAL NOT NULL,
        blob TEXT,
        meta TEXT NOT NULL DEFAULT '{}'
    );
    CREATE UNIQUE INDEX s3_objects_version ON s3_objects(bucket, key, version_id);
    CREATE INDEX s3_objects_latest ON s3_objects(bucket, latest, key);
    CREATE TABLE s3_uploads (
        upload_id TEXT PRIMARY KEY,
        bucket TEXT NOT NULL,
        key TEXT NOT NULL,
        initiated REAL NOT NULL,
        meta TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX s3_uploads_bucket ON s3_uploads(bucket, key, initiated);
    CREATE TABLE s3_parts (
        upload_id TEXT NOT NULL,
        part_number INTEGER NOT NULL,
        size INTEGER NOT NULL,
        etag TEXT NOT NULL,
        modified REAL NOT NULL,
        blob TEXT NOT NULL,
        checksums TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (upload_id, part_number)
    );
    """,
    # small objects keep their body in the row (a file per 1 KiB object costs more than the object)
    """
    ALTER TABLE s3_objects ADD COLUMN data BLOB;
    """,
    # event notifications not yet delivered: written in the transaction of the write that emitted
    # them, deleted once delivered, so a crash in between delays them but never loses them
    """
    CREATE TABLE s3_deliveries (
        id INTEGER PRIMARY KEY,
        bucket TEXT NOT NULL,
        account TEXT NOT NULL,
        kind TEXT NOT NULL,
        arn TEXT NOT NULL,
        message TEXT NOT NULL
    );
    """,
    # the trace of the write that emitted a notification (an X-Ray trace header), for its delivery
    "ALTER TABLE s3_deliveries ADD COLUMN trace TEXT;",
    # the node delivering a notification (a cluster: a dead node's are taken by a live one)
    "ALTER TABLE s3_deliveries ADD COLUMN node TEXT;",
]


@dataclass(slots=True)
class Bucket:
    name: str
    account: str
    region: str
    created: float
    versioning: str  # "", "Enabled", "Suspended"
    object_lock: bool
    config: dict = field(default_factory=dict)


@dataclass(slots=True)
class Obj:
    id: int
    bucket: str
    key: str
    version_id: str
    latest: bool
    delete_marker: bool
    size: int
    etag: str
    modified: float
    blob: str | None
    meta: dict


_OBJ_COLUMNS = "id, bucket, key, version_id, latest, delete_marker, size, etag, modified, blob, meta"


def _obj(row) -> Obj:
    return Obj(row[0], row[1], row[2], row[3], bool(row[4]), bool(row[5]), row[6], row[7], row[8], row[9],
               orjson.loads(row[10]))


class S3Store:
    def __init__(self, db: Database):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)
        self._buckets: dict[str, Bucket] = {}  # parsed bucket rows; dropped on every bucket write
        # what a bucket write calls; the provider makes it drop the bucket on every node of a
        # cluster too (storage/coordination.Cluster.cache)
        self.forget_bucket = self.drop_bucket

    def transaction(self):
        return self.db.transaction()

    # -- buckets -------------------------------------------------------------------------------

    def bucket(self, name: str) -> Bucket | None:
        """A bucket, from a cache of parsed rows that this store's writes keep current."""
        cached = self._buckets.get(name)
        if cached is not None:
            return Bucket(cached.name, cached.account, cached.region, cached.created, cached.versioning,
                          cached.object_lock, cached.config)
        bucket = self._load_bucket(name)
        if bucket is not None:
            if len(self._buckets) > 10_000:
                self._buckets.clear()
            self._buckets[name] = bucket
            return Bucket(bucket.name, bucket.account, bucket.region, bucket.created, bucket.versioning,
                          bucket.object_lock, bucket.config)
        return None

    def forget(self) -> None:
        self._buckets.clear()

    def drop_bucket(self, name: str) -> None:
        self._buckets.pop(name, None)

    def _load_bucket(self, name: str) -> Bucket | None:
        row = self.db.query_one(
            "SELECT name, account, region, created, versioning, object_lock, config FROM s3_buckets WHERE name = ?",
            (name,))
        if row is None:
            return None
        return Bucket(row[0], row[1], row[2], row[3], row[4], bool(row[5]), orjson.loads(row[6]))

    def create_bucket(self, bucket: Bucket) -> None:
        self.db.execute(
            "INSERT INTO s3_buckets(name, account, region, created, versioning, object_lock, config) "
            "VALUES(?, ?, ?, ?, ?, ?, ?)",
            (bucket.name, bucket.account, bucket.region, bucket.created, bucket.versioning, int(bucket.object_lock),
             orjson.dumps(bucket.config).decode()))

    def delete_bucket(self, name: str) -> None:
        self.db.execute("DELETE FROM s3_buckets WHERE name = ?", (name,))
        self.forget_bucket(name)

    def save_bucket(self, bucket: Bucket) -> None:
        self.db.execute("UPDATE s3_buckets SET versioning = ?, object_lock = ?, config = ? WHERE name = ?",
                        (bucket.versioning, int(bucket.object_lock), orjson.dumps(bucket.config).decode(),
                         bucket.name))
        self.forget_bucket(bucket.name)

    def buckets(self, account: str, after: str, prefix: str, region: str | None, limit: int) -> list[Bucket]:
        sql = ("SELECT name, account, region, created, versioning, object_lock, config FROM s3_buckets "
               "WHERE account = ? AND name > ? AND name >= ?")
        args: list = [account, after, prefix]
        if region:
            sql += " AND region = ?"
            args.append(region)
        sql += " ORDER BY name LIMIT ?"
        args.append(limit)
        return [Bucket(r[0], r[1], r[2], r[3], r[4], bool(r[5]), orjson.loads(r[6])) for r in self.db.query(sql, args)
                if r[0].startswith(prefix)]

    def buckets_with_config(self, name: str) -> list[Bucket]:
        rows = self.db.query("SELECT name, account, region, created, versioning, object_lock, config FROM s3_buckets "
                             "WHERE config LIKE ?", (f'%"{name}"%',))
        return [Bucket(r[0], r[1], r[2], r[3], r[4], bool(r[5]), orjson.loads(r[6])) for r in rows]

    def bucket_is_empty(self, name: str) -> bool:
        return (self.db.query_one("SELECT 1 FROM s3_objects WHERE bucket = ? LIMIT 1", (name,)) is None
                and self.db.query_one("SELECT 1 FROM s3_uploads WHERE bucket = ? LIMIT 1", (name,)) is None)

    # -- objects -------------------------------------------------------------------------------

    def latest(self, bucket: str, key: str) -> Obj | None:
        row = self.db.query_one(f"SELECT {_OBJ_COLUMNS} FROM s3_objects WHERE bucket = ? AND latest = 1 AND key = ?",
                                (bucket, key))
        return _obj(row) if row else None

    def version(self, bucket: str, key: str, version_id: str) -> Obj | None:
        row = self.db.query_one(f"SELECT {_OBJ_COLUMNS} FROM s3_objects WHERE bucket = ? AND key = ? AND version_id = ?",
                                (bucket, key, version_id))
        return _obj(row) if row else None

    def put_version(self, bucket: str, key: str, version_id: str, delete_marker: bool, size: int, etag: str,
                    modified: float, blob: str | None, meta: dict, data: bytes | None = None,
                    unversioned: bool = False) -> list[str]:
        """Insert a new latest version; a version with the same id (the "null" version) is
        replaced. Returns the blob keys no longer referenced (to delete after commit)."""
        if version_id == "null" and unversioned:
            # a bucket never versioned holds only "null" versions: one upsert does it
            old = self.db.query_one("SELECT blob FROM s3_objects WHERE bucket = ? AND key = ? AND version_id = 'null'",
                                    (bucket, key))
            self.db.execute(
                "INSERT INTO s3_objects(bucket, key, version_id, latest, delete_marker, size, etag, modified, blob, "
                "meta, data) VALUES(?, ?, 'null', 1, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(bucket, key, version_id) DO "
                "UPDATE SET latest = 1, delete_marker = excluded.delete_marker, size = excluded.size, "
                "etag = excluded.etag, modified = excluded.modified, blob = excluded.blob, meta = excluded.meta, "
                "data = excluded.data",
                (bucket, key, int(delete_marker), size, etag, modified, blob, orjson.dumps(meta).decode(), data))
            return [old[0]] if old is not None and old[0] and old[0] != blob else []
        orphans = []
        with self.db.transaction():
            old = self.db.query_one("SELECT blob FROM s3_objects WHERE bucket = ? AND key = ? AND version_id = ?",
                                    (bucket, key, version_id))
            if old is not None:
                if old[0]:
                    orphans.append(old[0])
                self.db.execute("DELETE FROM s3_objects WHERE bucket = ? AND key = ? AND version_id = ?",
                                (bucket, key, version_id))
            self.db.execute("UPDATE s3_objects SET latest = 0 WHERE bucket = ? AND key = ? AND latest = 1",
                            (bucket, key))
            self.db.execute(
                "INSERT INTO s3_objects(bucket, key, version_id, latest, delete_marker, size, etag, modified, blob, meta, "
                "data) VALUES(?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)",
                (bucket, key, version_id, int(delete_marker), size, etag, modified, blob, orjson.dumps(meta).decode(),
                 data))
        return orphans

    def data(self, obj: Obj) -> bytes:
        """The body of an object kept in its row (blob is None)."""
        return self.db.scalar("SELECT data FROM s3_objects WHERE id = ?", (obj.id,)) or b""

    def update_meta(self, obj: Obj) -> None:
        self.db.execute("UPDATE s3_objects SET meta = ? WHERE id = ?", (orjson.dumps(obj.meta).decode(), obj.id))

    def delete_version(self, obj: Obj) -> None:
        """Remove one version; when it was the latest, the next newest becomes latest."""
        with self.db.transaction():
            self.db.execute("DELETE FROM s3_objects WHERE id = ?", (obj.id,))
            if obj.latest:
                row = self.db.query_one("SELECT id FROM s3_objects WHERE bucket = ? AND key = ? ORDER BY id DESC LIMIT 1",
                                        (obj.bucket, obj.key))
                if row:
                    self.db.execute("UPDATE s3_objects SET latest = 1 WHERE id = ?", (row[0],))

    def blob_in_use(self, blob: str) -> bool:
        return self.db.query_one("SELECT 1 FROM s3_objects WHERE blob = ? LIMIT 1", (blob,)) is not None

    def list_latest(self, bucket: str, after: str, prefix: str, limit: int) -> list[Obj]:
        """Current (non-delete-marker) objects with key > after and the prefix, in key order."""
        lower = max(after, prefix)
        op = ">" if after >= prefix else ">="
        rows = self.db.query(
            f"SELECT {_OBJ_COLUMNS} FROM s3_objects WHERE bucket = ? AND latest = 1 AND delete_marker = 0 "
            f"AND key {op} ? ORDER BY key LIMIT ?", (bucket, lower, limit))
        return [_obj(r) for r in rows]

    def list_versions(self, bucket: str, after_key: str, after_id: int | None, prefix: str, limit: int) -> list[Obj]:
        """All versions in (key, newest first) order, starting after (after_key, after_id)."""
        lower = max(after_key, prefix)
        if after_id is not None and after_key >= prefix:
            rows = self.db.query(
                f"SELECT {_OBJ_COLUMNS} FROM s3_objects WHERE bucket = ? AND "
                f"((key = ? AND id < ?) OR key > ?) ORDER BY key, id DESC LIMIT ?",
                (bucket, after_key, after_id, after_key, limit))
        else:
            op = ">" if after_key >= prefix and after_key else ">="
            rows = self.db.query(
                f"SELECT {_OBJ_COLUMNS} FROM s3_objects WHERE bucket = ? AND key {op} ? ORDER BY key, id DESC LIMIT ?",
                (bucket, lower, limit))
        return [_obj(r) for r in rows]

    def all_latest(self, bucket: str) -> list[Obj]:
        rows = self.db.query(f"SELECT {_OBJ_COLUMNS} FROM s3_objects WHERE bucket = ? AND latest = 1", (bucket,))
        return [_obj(r) for r in rows]

    # -- multipart -----------------------------------------------------------------------------

    def create_upload(self, upload_id: str, bucket: str, key: str, initiated: float, meta: dict) -> None:
        self.db.execute("INSERT INTO s3_uploads(upload_id, bucket, key, initiated, meta) VALUES(?, ?, ?, ?, ?)",
                        (upload_id, bucket, key, initiated, orjson.dumps(meta).decode()))

    def upload(self, upload_id: str) -> tuple | None:
        row = self.db.query_one("SELECT upload_id, bucket, key, initiated, meta FROM s3_uploads WHERE upload_id = ?",
                                (upload_id,))
        return (row[0], row[1], row[2], row[3], orjson.loads(row[4])) if row else None

    def uploads(self, bucket: str, prefix: str, after_key: str, after: tuple[float, str] | None,
                limit: int) -> list[tuple]:
        """Uploads with the prefix in S3's order (key, then initiation time), after `after_key`'s
        upload (initiated, upload id), or after every upload of `after_key` when `after` is None."""
        if after is None:
            rows = self.db.query(
                "SELECT upload_id, bucket, key, initiated, meta FROM s3_uploads WHERE bucket = ? AND key >= ? "
                "AND key > ? ORDER BY key, initiated, upload_id LIMIT ?", (bucket, prefix, after_key, limit))
        else:
            rows = self.db.query(
                "SELECT upload_id, bucket, key, initiated, meta FROM s3_uploads WHERE bucket = ? AND key >= ? "
                "AND (key > ? OR (key = ? AND (initiated > ? OR (initiated = ? AND upload_id > ?)))) "
                "ORDER BY key, initiated, upload_id LIMIT ?",
                (bucket, prefix, after_key, after_key, after[0], after[0], after[1], limit))
        return [(r[0], r[1], r[2], r[3], orjson.loads(r[4])) for r in rows if r[2].startswith(prefix)]

    def put_part(self, upload_id: str, number: int, size: int, etag: str, modified: float, blob: str,
                 checksums: dict) -> str | None:
        with self.db.transaction():
            old = self.db.scalar("SELECT blob FROM s3_parts WHERE upload_id = ? AND part_number = ?", (upload_id, number))
            self.db.execute(
                "INSERT INTO s3_parts(upload_id, part_number, size, etag, modified, blob, checksums) "
                "VALUES(?, ?, ?, ?, ?, ?, ?) ON CONFLICT(upload_id, part_number) DO UPDATE SET size = excluded.size, "
                "etag = excluded.etag, modified = excluded.modified, blob = excluded.blob, checksums = excluded.checksums",
                (upload_id, number, size, etag, modified, blob, orjson.dumps(checksums).decode()))
        return old

    def parts(self, upload_id: str, after: int = 0, limit: int = 100_000) -> list[tuple]:
        rows = self.db.query(
            "SELECT part_number, size, etag, modified, blob, checksums FROM s3_parts WHERE upload_id = ? "
            "AND part_number > ? ORDER BY part_number LIMIT ?", (upload_id, after, limit))
        return [(r[0], r[1], r[2], r[3], r[4], orjson.loads(r[5])) for r in rows]

    def delete_upload(self, upload_id: str) -> list[str]:
        with self.db.transaction():
            blobs = [r[0] for r in self.db.query("SELECT blob FROM s3_parts WHERE upload_id = ?", (upload_id,))]
            self.db.execute("DELETE FROM s3_parts WHERE upload_id = ?", (upload_id,))
            self.db.execute("DELETE FROM s3_uploads WHERE upload_id = ?", (upload_id,))
        return blobs

    # -- event notifications waiting for delivery ----------------------------------------------

    def add_delivery(self, bucket: str, account: str, kind: str, arn: str, message: str,
                     trace: str | None = None, node: str | None = None) -> int:
        return self.db.insert("INSERT INTO s3_deliveries(bucket, account, kind, arn, message, trace, node) "
                              "VALUES(?,?,?,?,?,?,?)", (bucket, account, kind, arn, message, trace, node))

    def delivery(self, delivery_id: int) -> tuple[str, str, str, str, str, str | None] | None:
        """(bucket, its account, kind, destination ARN, message, trace header) of a pending notification."""
        return self.db.query_one("SELECT bucket, account, kind, arn, message, trace FROM s3_deliveries WHERE id = ?",
                                 (delivery_id,))

    def delete_delivery(self, delivery_id: int) -> None:
        self.db.execute("DELETE FROM s3_deliveries WHERE id = ?", (delivery_id,))

    def delivery_nodes(self, exclude: str) -> set[str | None]:
        """The other nodes (None: no node recorded) with notifications not delivered yet."""
        return {row[0] for row in self.db.query(
            "SELECT DISTINCT node FROM s3_deliveries WHERE node IS NULL OR node != ?", (exclude,))}

    def claim_deliveries(self, node: str, dead: list[str], unowned: bool) -> list[int]:
        """The notifications of dead nodes (and with `unowned`, of none) become `node`'s: each row
        is taken by one node (the UPDATE re-checks its WHERE on a row another node changed)."""
        if not dead and not unowned:
            return []
        marks = ",".join("?" * len(dead))
        where = " OR ".join(([f"node IN ({marks})"] if dead else []) + (["node IS NULL"] if unowned else []))
        return sorted(row[0] for row in self.db.query(
            f"UPDATE s3_deliveries SET node = ? WHERE {where} RETURNING id", (node, *dead)))

    def pending_deliveries(self) -> list[int]:
        return [r[0] for r in self.db.query("SELECT id FROM s3_deliveries ORDER BY id")]


def blobs_in_use(db, keys: list[str]) -> set[str]:
    """Which of these blob keys an object version or an upload's part refers to (at start-up:
    the others were orphaned by a crash). One pass over each table, not one query per key."""
    wanted = set(keys)
    rows = db.query("SELECT blob FROM s3_objects WHERE blob IS NOT NULL UNION SELECT blob FROM s3_parts")
    return {row[0] for row in rows if row[0] in wanted}


def has_pending_work(db) -> bool:
    """At start-up: lifecycle rules whose expiration timer must run, or notifications not yet
    delivered? (Called only once the service's schema exists.)"""
    return (db.scalar("SELECT 1 FROM s3_deliveries LIMIT 1") is not None
            or db.scalar("SELECT 1 FROM s3_buckets WHERE config LIKE '%lifecycle%' LIMIT 1") is not None)
