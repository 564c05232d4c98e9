"""A fresh PostgreSQL database for the cluster tests, and the nodes that run over it.

The server is at OVERCAST_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432/postgres,
trust authentication, as on this project's machines and in CI). Tests that need it skip when it
is not reachable, except in CI (CI=true), where .ci/run makes sure it is and they must run."""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
import uuid

import pytest

ADMIN_URL = os.environ.get("OVERCAST_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def postgres_or_skip():
    """A psycopg connection to the admin database, or skip (fail in CI)."""
    try:
        import psycopg

        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as e:  # psycopg missing or the server not reachable
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {ADMIN_URL}: {e}")


# PostgreSQL admits 100 connections by default and a node holds 4 to 13 of them, so pytest's
# workers run the tests of at most CLUSTER_SLOTS databases at once (a lock file per slot, shared by
# every worker); a worker's nested databases (a module's and one test's own) share its slot.
CLUSTER_SLOTS = int(os.environ.get("OVERCAST_TEST_CLUSTER_SLOTS", "2"))
_slot = {"file": None, "count": 0}
_slot_lock = threading.Lock()


def _take_slot() -> None:
    with _slot_lock:
        if _slot["count"] == 0:
            _slot["file"] = _lock_a_slot_file()
        _slot["count"] += 1


def _lock_a_slot_file():
    import fcntl
    import tempfile

    deadline = time.monotonic() + 900
    while True:
        for i in range(CLUSTER_SLOTS):
            f = open(os.path.join(tempfile.gettempdir(), f"overcast-test-cluster-slot-{i}"), "w")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return f
            except BlockingIOError:
                f.close()
        if time.monotonic() > deadline:
            pytest.fail("no cluster test slot came free in 15 minutes")
        time.sleep(0.2)


def _give_slot() -> None:
    with _slot_lock:
        _slot["count"] -= 1
        if _slot["count"] == 0:
            _slot["file"].close()  # (releases the lock)
            _slot["file"] = None


def create_database(prefix: str = "overcast_cluster") -> tuple[str, callable]:
    """(url of a new empty database, a function dropping it)."""
    admin = postgres_or_skip()
    _take_slot()
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        try:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()
        finally:
            _give_slot()

    return _with_database(ADMIN_URL, name), drop


def start_nodes(url: str, count: int, env: dict | None = None) -> list:
    """`count` overcast nodes on free ports over the database at `url`, started side by side."""
    from concurrent.futures import ThreadPoolExecutor

    from conftest import OvercastProcess

    def start(_=None):
        return OvercastProcess(env={"OVERCAST_DATABASE_URL": url, **(env or {})})

    first = start()  # (several nodes creating a fresh database's first tables at once race in CREATE TABLE)
    with ThreadPoolExecutor(max(1, count - 1)) as pool:
        starting = [pool.submit(start) for _ in range(count - 1)]
    started, failures = [first], []
    for future in starting:
        try:
            started.append(future.result())
        except Exception as e:
            failures.append(e)
    if failures:  # the nodes that did start stop too: left running, they hold the database's connections
        stop_nodes(started)
        raise failures[0]
    return started


def cluster_view(endpoint: str) -> dict:
    """What `overcast status` reads: the cluster's nodes and leases. A node answers 503 when it
    cannot read them within 5 s (its database connection slow to open: nodes that have just
    started are loading their services); asked again then, for up to 20 s."""
    import time

    import httpx

    deadline = time.monotonic() + 20
    while True:
        response = httpx.get(f"{endpoint}/_overcast/cluster", timeout=10)
        if response.status_code != 503 or time.monotonic() > deadline:
            return response.json()
        time.sleep(0.5)


def holders(endpoint: str, prefix: str = "") -> dict[str, str]:
    """lease name -> holding node id, for the leases whose names start with `prefix`."""
    return {lease["name"]: lease["holder"] for lease in cluster_view(endpoint)["leases"]
            if lease["name"].startswith(prefix)}


class TcpProxy:
    """A TCP forwarder to PostgreSQL that a test can cut (every connection closed, new ones
    refused) and restore: the database "lost" for the nodes that connect through it, without
    touching the server other tests and sessions share."""

    def __init__(self, target_port: int = 5432):
        import asyncio

        self.target_port = target_port
        self.loop = asyncio.new_event_loop()
        self.cut_off = False
        self._writers: set = set()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        ready.wait(10)

    def _run(self, ready) -> None:
        import asyncio

        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _serve(self, reader, writer) -> None:
        import asyncio

        if self.cut_off:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(source, sink) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                sink.close()
                self._writers.discard(sink)

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def url(self, database_url: str) -> str:
        import psycopg

        info = psycopg.conninfo.conninfo_to_dict(database_url)
        info.update(host="127.0.0.1", port=str(self.port))
        return psycopg.conninfo.make_conninfo(**info)

    def cut(self) -> None:
        def close_all():
            self.cut_off = True
            for writer in list(self._writers):
                writer.transport.abort()
            self._writers.clear()

        self.loop.call_soon_threadsafe(close_all)

    def restore(self) -> None:
        self.loop.call_soon_threadsafe(setattr, self, "cut_off", False)

    def close(self) -> None:
        self.cut()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


def stop_nodes(nodes) -> None:
    """Stop nodes side by side (each leaves the cluster gracefully; one after another is slow)."""
    for node in nodes:
        if node.process.poll() is None:
            node.process.terminate()
    for node in nodes:
        try:
            node.process.wait(timeout=15)
        except Exception:
            node.process.kill()


# -- what the cluster tests' scenarios share ------------------------------------------------------

def name(prefix: str) -> str:
    """A resource name of this test's own (the nodes share one database)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def queue(sqs, prefix: str) -> tuple[str, str]:
    """A new queue's URL and ARN."""
    url = sqs.create_queue(QueueName=name(prefix))["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def receive(sqs, url: str, expected: int, timeout: float) -> list[dict]:
    """The bodies (JSON) of up to `expected` messages, each deleted once received."""
    got: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(got) < expected and time.monotonic() < deadline:
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            got.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return got
