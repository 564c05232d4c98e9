"""Clean restarts: what a kill -9 leaves on disk (temporary files, blobs no row refers to) is
removed at the next start-up, and S3 event notifications of acknowledged writes are delivered
even when the server died between the write and the delivery."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid

import pytest
from conftest import TEST_DATABASES, OvercastProcess, make_client
from limits_support import AUTH, address


def _wait_for(predicate, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _temporary_files(root: str) -> list[str]:
    return [os.path.join(d, n) for d, dirs, files in os.walk(root) for n in dirs + files
            if n.endswith(".tmp") or ".tmp-" in n]


@pytest.mark.skipif(TEST_DATABASES is not None, reason="blobs are rows on PostgreSQL: "
                    "tests/test_postgres_storage.py sweeps those")
def test_temporary_and_unreferenced_blobs_left_by_kill_9_are_removed_at_start(tmp_path):
    data_dir = str(tmp_path / "data")
    body = os.urandom(3 * 1024 * 1024)
    server = OvercastProcess(data_dir=data_dir)
    upload = socket.create_connection(address(server.endpoint), timeout=10)
    try:
        s3 = make_client(server.endpoint, "s3")
        s3.create_bucket(Bucket="restart-bucket")
        s3.put_object(Bucket="restart-bucket", Key="kept", Body=body)
        # an upload under way when the server dies: its body is in a temporary file
        auth = AUTH.format(service="s3")
        upload.sendall((f"PUT /restart-bucket/half HTTP/1.1\r\nHost: localhost\r\nAuthorization: {auth}\r\n"
                        "x-amz-content-sha256: UNSIGNED-PAYLOAD\r\nContent-Length: 50000000\r\n\r\n").encode())
        upload.sendall(os.urandom(8 * 1024 * 1024))
        assert _wait_for(lambda: _temporary_files(os.path.join(data_dir, "blobs")))
    finally:
        server.stop(kill=True)
        upload.close()
    # what a crash between a blob's rename and its row's commit leaves: a blob no row names
    orphan = os.path.join(data_dir, "blobs", "s3", "ff", uuid.uuid4().hex)
    os.makedirs(os.path.dirname(orphan), exist_ok=True)
    with open(orphan, "wb") as f:
        f.write(b"orphan")
    unpacking = os.path.join(data_dir, "lambda", "code", f"{'0' * 64}.tmp-{uuid.uuid4().hex}")
    os.makedirs(unpacking)
    with open(os.path.join(unpacking, "handler.py"), "w") as f:
        f.write("half unpacked")
    past = time.time() - 60
    for path in [orphan, unpacking, *_temporary_files(data_dir)]:
        os.utime(path, (past, past))
    assert len(_temporary_files(data_dir)) >= 2

    server = OvercastProcess(data_dir=data_dir)
    try:
        assert _wait_for(lambda: not _temporary_files(data_dir) and not os.path.exists(orphan), 10)
        s3 = make_client(server.endpoint, "s3")
        assert s3.get_object(Bucket="restart-bucket", Key="kept")["Body"].read() == body
        assert "Contents" not in s3.list_objects_v2(Bucket="restart-bucket", Prefix="half")
        s3.put_object(Bucket="restart-bucket", Key="after", Body=body)  # new blobs are never swept
        time.sleep(0.2)
        assert s3.get_object(Bucket="restart-bucket", Key="after")["Body"].read() == body
    finally:
        server.stop()


def _put_until_killed(server: OvercastProcess, prefix: str, writers: int, kill_after: int) -> list[str]:
    """PutObjects from several threads at once; kill -9 the server right after the
    `kill_after`th acknowledgement, while others are in flight. Returns the acknowledged keys."""
    acknowledged: list[str] = []
    lock = threading.Lock()

    def writer(worker: int) -> None:
        client = make_client(server.endpoint, "s3")
        for n in range(1000):
            key = f"{prefix}-w{worker}-{n}"
            try:
                client.put_object(Bucket="notified-bucket", Key=key, Body=b"x")
            except Exception:
                return  # the server is gone: not acknowledged
            with lock:
                if len(acknowledged) >= kill_after:
                    return
                acknowledged.append(key)
                if len(acknowledged) == kill_after:
                    server.process.kill()
                    return

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return acknowledged


def test_s3_notifications_of_acknowledged_writes_survive_kill_9(tmp_path):
    """Each round kills the server as soon as a few of many concurrent PutObjects have been
    acknowledged, while their notifications may still wait for delivery; after the last round
    every acknowledged object's notification is in the queue."""
    data_dir = str(tmp_path / "data")
    acknowledged: list[str] = []
    queue_url = None
    for round_number in range(4):
        server = OvercastProcess(data_dir=data_dir)
        s3, sqs = make_client(server.endpoint, "s3"), make_client(server.endpoint, "sqs")
        if queue_url is None:
            queue_url = sqs.create_queue(QueueName="s3-events")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            s3.create_bucket(Bucket="notified-bucket")
            s3.put_bucket_notification_configuration(Bucket="notified-bucket", NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
        acknowledged += _put_until_killed(server, f"r{round_number}", writers=6, kill_after=20)
        server.stop(kill=True)
    assert len(acknowledged) >= 4 * 20

    server = OvercastProcess(data_dir=data_dir)
    try:
        sqs = make_client(server.endpoint, "sqs")
        notified: set[str] = set()

        def receive_all() -> bool:
            for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
                for record in json.loads(message["Body"]).get("Records", []):
                    notified.add(record["s3"]["object"]["key"])
            return set(acknowledged) <= notified

        assert _wait_for(receive_all, 20), sorted(set(acknowledged) - notified)[:10]
    finally:
        server.stop()
