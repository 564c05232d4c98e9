"""Storage on PostgreSQL (cluster mode, docs/cluster.md) where it differs from SQLite: the database
lost while serving and back, blobs as rows (streamed, ranged, concatenated, swept after a crash),
keys the nodes share, and the schema's versions. The rest of the suite runs on PostgreSQL too with
OVERCAST_TEST_DATABASE_URL. These tests skip where PostgreSQL is out of reach (not in CI)."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
import uuid

import psycopg
import pytest
from botocore.exceptions import ClientError
from cluster_support import create_database
from conftest import OvercastProcess, make_client
from postgres_support import Proxy


@pytest.fixture
def database():
    url, drop = create_database("overcast_storage")
    yield url
    drop()


def _error(e: ClientError) -> tuple[int, str, str]:
    return (e.value.response["ResponseMetadata"]["HTTPStatusCode"], e.value.response["Error"]["Code"],
            e.value.response["Error"].get("Message", ""))


def test_database_lost_while_serving_answers_503_then_recovers_without_restart(database, tmp_path):
    proxy = Proxy(database)
    server = OvercastProcess(data_dir=str(tmp_path), env={"OVERCAST_DATABASE_URL": proxy.url})
    try:
        sqs = make_client(server.endpoint, "sqs")
        ddb = make_client(server.endpoint, "dynamodb")
        s3 = make_client(server.endpoint, "s3")
        queue = sqs.create_queue(QueueName="lost")["QueueUrl"]
        sqs.send_message(QueueUrl=queue, MessageBody="before")
        ddb.create_table(TableName="lost", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        ddb.put_item(TableName="lost", Item={"k": {"S": "a"}})
        s3.create_bucket(Bucket="lost-bucket")
        s3.put_object(Bucket="lost-bucket", Key="big", Body=os.urandom(300_000))

        proxy.cut()
        lost_until = time.monotonic() + 10
        while time.monotonic() < lost_until:  # lost for 10 s: every request fails fast, in its protocol
            started = time.monotonic()
            with pytest.raises(ClientError) as e:
                sqs.send_message(QueueUrl=queue, MessageBody="during")  # JSON protocol
            assert _error(e)[:2] == (503, "ServiceUnavailable")
            with pytest.raises(ClientError) as e:
                ddb.get_item(TableName="lost", Key={"k": {"S": "a"}})
            assert _error(e) == (503, "ServiceUnavailable",
                                 "The request has failed due to a temporary failure of the server.")
            with pytest.raises(ClientError) as e:
                s3.get_object(Bucket="lost-bucket", Key="big")  # REST-XML
            assert _error(e)[:2] == (503, "ServiceUnavailable")
            assert time.monotonic() - started < 3
            time.sleep(1)

        proxy.restore()
        deadline = time.monotonic() + 15
        while True:
            try:
                sqs.send_message(QueueUrl=queue, MessageBody="after")
                break
            except ClientError as e:
                assert e.response["Error"]["Code"] == "ServiceUnavailable"
                assert time.monotonic() < deadline, "not back within 15 s of the database's return"
                time.sleep(0.2)
        bodies = set()
        for _ in range(5):
            bodies |= {m["Body"] for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10,
                                                              WaitTimeSeconds=1).get("Messages", [])}
            if bodies == {"before", "after"}:
                break
        assert bodies == {"before", "after"}
        assert ddb.get_item(TableName="lost", Key={"k": {"S": "a"}})["Item"] == {"k": {"S": "a"}}
        assert len(s3.get_object(Bucket="lost-bucket", Key="big")["Body"].read()) == 300_000
        assert server.process.poll() is None
    finally:
        server.stop()
        proxy.close()


def test_a_write_is_refused_only_when_it_did_not_happen_and_never_applied_twice(database):
    """The storage layer itself, over a proxy cut and restored: a 503 (StorageUnavailable) only
    for what was not written; a commit whose flush cannot be confirmed is OutcomeUnknown (500),
    and connections that died while idle (the loop's and the group commit's) are replaced
    instead of failing the first write after the database's return (which a client would retry:
    stored twice)."""
    import asyncio

    from overcast.storage.errors import OutcomeUnknown, StorageUnavailable
    from overcast.storage.postgres import PostgresDatabase

    proxy = Proxy(database)
    db = PostgresDatabase(proxy.url)

    async def scenario():
        db.execute("CREATE TABLE writes (body TEXT)")
        db.execute("INSERT INTO writes VALUES ('before')")
        await db.sync()  # the group commit's own connection is open now
        proxy.cut()
        with pytest.raises(StorageUnavailable) as refused:
            db.execute("INSERT INTO writes VALUES ('during')")
        assert (refused.value.status, refused.value.code) == (503, "ServiceUnavailable")
        proxy.restore()
        deadline = time.monotonic() + 15
        while True:  # the first write that finds a connection ready is applied, once
            try:
                db.execute("INSERT INTO writes VALUES ('after')")
                break
            except OutcomeUnknown:
                raise
            except StorageUnavailable:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.1)
        await db.sync()  # its dead connection replaced: confirmed, not refused
        db.execute("INSERT INTO writes VALUES ('unconfirmed')")
        proxy.cut()
        with pytest.raises(OutcomeUnknown) as unknown:  # committed, its flush unconfirmed
            await db.sync()
        assert (unknown.value.status, unknown.value.code) == (500, "InternalFailure")
        proxy.restore()

    try:
        asyncio.run(scenario())
        with psycopg.connect(database) as conn:
            rows = [r[0] for r in conn.execute("SELECT body FROM writes ORDER BY body")]
        assert rows == ["after", "before", "unconfirmed"]
    finally:
        db.close()
        proxy.close()


def test_the_pipeline_batches_a_turns_statements_and_refuses_only_what_it_did_not_send(database):
    """Statements awaited in the pipeline (storage/pipeline.py): those of one loop turn answer
    each its own rows, a failing one fails alone, writes count in the group commit; a connection
    that died while idle is replaced (503 while the database is away, then the write is applied
    once), and one that dies with statements in flight fails them: a write's outcome unknown (500),
    a read not done (503)."""
    import asyncio

    from overcast.storage.errors import OutcomeUnknown, StorageUnavailable
    from overcast.storage.postgres import PostgresDatabase

    proxy = Proxy(database)
    db = PostgresDatabase(proxy.url)

    async def scenario():
        db.execute("CREATE TABLE piped (id INTEGER PRIMARY KEY, body BLOB)")
        before = db.commits
        results = await asyncio.gather(
            *(db.pipeline.query("INSERT INTO piped(id, body) VALUES (?, ?)", (i, bytes([i]) * 3)) for i in range(5)),
            db.pipeline.query("INSERT INTO piped(id, body) VALUES (?, ?)", (1, b"again")),  # taken: fails alone
            db.pipeline.query_one("SELECT body FROM piped WHERE id = ?", (4,)), return_exceptions=True)
        assert results[:5] == [[]] * 5
        assert isinstance(results[5], psycopg.errors.UniqueViolation)
        assert results[6] == (b"\x04\x04\x04",)  # (sent after the INSERTs: it sees them)
        assert db.commits == before + 5 and db.unsynced
        await db.sync()
        db.execute("CREATE TABLE numbered (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)")
        assert [await db.pipeline.insert("INSERT INTO numbered(v) VALUES (?)", (v,)) for v in "ab"] == [1, 2]
        proxy.cut()
        await asyncio.sleep(0.2)
        with pytest.raises(StorageUnavailable) as refused:  # the idle connection found dead: never sent
            await db.pipeline.query("INSERT INTO piped(id, body) VALUES (?, ?)", (10, b"during"))
        assert not isinstance(refused.value, OutcomeUnknown)
        proxy.restore()
        deadline = time.monotonic() + 15
        while True:
            try:
                await db.pipeline.query("INSERT INTO piped(id, body) VALUES (?, ?)", (11, b"after"))
                break
            except OutcomeUnknown:
                raise
            except StorageUnavailable:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.1)
        in_flight = [db.pipeline.query("SELECT pg_sleep(0.5)"),
                     db.pipeline.query("INSERT INTO piped(id, body) VALUES (?, ?)", (12, b"lost?"))]
        await asyncio.sleep(0.1)
        proxy.cut()
        outcomes = await asyncio.gather(*in_flight, return_exceptions=True)
        assert type(outcomes[0]) is StorageUnavailable and type(outcomes[1]) is OutcomeUnknown, outcomes
        proxy.restore()

    try:
        asyncio.run(scenario())
        with psycopg.connect(database) as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM piped WHERE id < 12 ORDER BY id")]
        assert ids == [0, 1, 2, 3, 4, 11]
    finally:
        db.close()
        proxy.close()


def test_object_bodies_are_chunk_rows_streamed_ranged_and_concatenated(database, tmp_path):
    server = OvercastProcess(data_dir=str(tmp_path), env={"OVERCAST_DATABASE_URL": database})
    try:
        s3 = make_client(server.endpoint, "s3")
        s3.create_bucket(Bucket="chunks")
        body = os.urandom(5 * 1024 * 1024 + 123)
        s3.put_object(Bucket="chunks", Key="big", Body=body)
        assert s3.get_object(Bucket="chunks", Key="big")["Body"].read() == body
        start = 1024 * 1024 - 10  # a range across a chunk boundary
        ranged = s3.get_object(Bucket="chunks", Key="big", Range=f"bytes={start}-{start + 99}")["Body"].read()
        assert ranged == body[start:start + 100]
        upload = s3.create_multipart_upload(Bucket="chunks", Key="joined")["UploadId"]
        parts = [os.urandom(5 * 1024 * 1024), os.urandom(1234)]
        etags = [s3.upload_part(Bucket="chunks", Key="joined", UploadId=upload, PartNumber=i + 1, Body=p)["ETag"]
                 for i, p in enumerate(parts)]
        s3.complete_multipart_upload(Bucket="chunks", Key="joined", UploadId=upload, MultipartUpload={
            "Parts": [{"PartNumber": i + 1, "ETag": etag} for i, etag in enumerate(etags)]})
        joined = s3.get_object(Bucket="chunks", Key="joined")["Body"].read()
        assert hashlib.sha256(joined).digest() == hashlib.sha256(b"".join(parts)).digest()
        with psycopg.connect(database) as conn:
            sizes = [r[0] for r in conn.execute(
                "SELECT octet_length(c.data) FROM overcast_blob_chunks c JOIN overcast_blobs b ON b.id = c.id "
                "WHERE b.size = %s ORDER BY c.position", (len(body),))]
            assert max(sizes) <= 1024 * 1024 and sum(sizes) == len(body)
            assert not os.path.exists(os.path.join(tmp_path, "blobs", "s3"))  # nothing on the node's disk
        s3.delete_object(Bucket="chunks", Key="big")
    finally:
        server.stop()


def test_blobs_a_crash_left_in_the_database_are_removed_at_start(database, tmp_path):
    server = OvercastProcess(data_dir=str(tmp_path), env={"OVERCAST_DATABASE_URL": database})
    try:
        s3 = make_client(server.endpoint, "s3")
        s3.create_bucket(Bucket="swept")
        kept = os.urandom(200_000)
        s3.put_object(Bucket="swept", Key="kept", Body=kept)
    finally:
        server.stop(kill=True)
    orphan, unfinished = f"s3/ff/{uuid.uuid4().hex}", uuid.uuid4().hex
    with psycopg.connect(database, autocommit=True) as conn:
        # a blob committed by a node killed before its object's row (no row names it), and the
        # chunks of an upload under way when its node died (no key points at them), both old
        conn.execute("INSERT INTO overcast_blobs (key, id, size, created) VALUES (%s, %s, 6, %s)",
                     (orphan, "orphan-chunks", time.time() - 3600))
        conn.execute("INSERT INTO overcast_blob_chunks (id, position, data, written) VALUES (%s, 0, %s, %s)",
                     ("orphan-chunks", b"orphan", time.time() - 3600))
        conn.execute("INSERT INTO overcast_blob_chunks (id, position, data, written) VALUES (%s, 0, %s, %s)",
                     (unfinished, b"half", time.time() - 7200))
    server = OvercastProcess(data_dir=str(tmp_path), env={"OVERCAST_DATABASE_URL": database})
    try:
        deadline = time.monotonic() + 10
        with psycopg.connect(database, autocommit=True) as conn:
            while conn.execute("SELECT count(*) FROM overcast_blob_chunks WHERE id IN (%s, %s)",
                               ("orphan-chunks", unfinished)).fetchone()[0]:
                assert time.monotonic() < deadline, "the crash's blobs are still there"
                time.sleep(0.2)
            assert conn.execute("SELECT 1 FROM overcast_blobs WHERE key = %s", (orphan,)).fetchone() is None
        assert make_client(server.endpoint, "s3").get_object(Bucket="swept", Key="kept")["Body"].read() == kept
    finally:
        server.stop()


def test_nodes_share_the_sealing_key_through_the_database(database, tmp_path):
    first = OvercastProcess(data_dir=str(tmp_path / "a"), env={"OVERCAST_DATABASE_URL": database})
    second = OvercastProcess(data_dir=str(tmp_path / "b"), env={"OVERCAST_DATABASE_URL": database})
    try:
        make_client(first.endpoint, "ssm").put_parameter(Name="/shared/pw", Value="s3cret", Type="SecureString")
        got = make_client(second.endpoint, "ssm").get_parameter(Name="/shared/pw", WithDecryption=True)
        assert got["Parameter"]["Value"] == "s3cret"
        secret = make_client(second.endpoint, "secretsmanager").create_secret(Name="shared", SecretString="x1")
        assert make_client(first.endpoint, "secretsmanager").get_secret_value(
            SecretId=secret["ARN"])["SecretString"] == "x1"
        assert not os.path.exists(tmp_path / "a" / "keys") and not os.path.exists(tmp_path / "b" / "keys")
    finally:
        first.stop()
        second.stop()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "overcast", *args], capture_output=True, text=True, timeout=120)


def test_migrate_creates_every_schema_once_and_a_newer_schema_is_refused(database, tmp_path):
    first = _cli("migrate", "--database", database)
    assert first.returncode == 0, first.stderr
    current = re.search(r"\bsqs 0 -> (\d+)", first.stdout)  # SQS's schema version today, whatever it is
    assert current and "storage 0 -> 1" in first.stdout, first.stdout
    current = int(current.group(1))
    again = _cli("migrate", "--database", database)
    assert again.returncode == 0 and again.stdout.strip().endswith("up to date")
    with psycopg.connect(database, autocommit=True) as conn:  # as a newer overcast would leave it
        conn.execute("UPDATE schema_versions SET version = version + 1 WHERE service = 'sqs'")
    refused = _cli("migrate", "--database", database)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        f"overcast: the database's sqs schema is version {current + 1}, newer than this overcast's ({current}): a newer overcast has "
        "migrated it; run that version (or newer)"]
    start = _cli("start", "--port", "0", "--data-dir", str(tmp_path), "--database", database)
    assert start.returncode == 1
    assert len(start.stderr.strip().splitlines()) == 1 and "newer than this overcast's" in start.stderr


def test_migrate_refuses_while_an_older_node_runs(database):
    assert _cli("migrate", "--database", database).returncode == 0
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS cluster_nodes (id TEXT PRIMARY KEY, address TEXT NOT NULL, "
                     "version TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL, "
                     "started TIMESTAMPTZ NOT NULL DEFAULT now(), heartbeat TIMESTAMPTZ NOT NULL DEFAULT now(), "
                     "load JSONB NOT NULL DEFAULT '{}')")
        conn.execute("INSERT INTO cluster_nodes (id, address, version, pid, host) "
                     "VALUES ('old-node', 'http://10.0.0.9:4566', '0.0.1', 1, 'h')")
    refused = _cli("migrate", "--database", database)
    assert refused.returncode == 1
    assert "refuses to migrate the cluster's schema while nodes of an older version run: old-node at " \
           "http://10.0.0.9:4566 (version 0.0.1)" in refused.stderr
