"""The test harness: one real overcast server per test session (per xdist worker), on a free
port with an ephemeral data directory, driven through real clients."""

from __future__ import annotations

import atexit
import collections
import json
import os
import re
import subprocess
import sys
import threading
import uuid

import boto3
import pytest
from botocore.config import Config as BotoConfig

READY = re.compile(r"ready on (http://\S+)")

# OVERCAST_TEST_DATABASE_URL=postgresql://host:port/any runs every server of the session on
# PostgreSQL (docs/cluster.md): each gets a database of its own, created for it and dropped when
# the session ends; servers started on the same data directory (restart tests) share one.
TEST_DATABASE_URL = os.environ.get("OVERCAST_TEST_DATABASE_URL", "")


class TestDatabases:
    """The PostgreSQL databases this session made: overcast_test_<random>, one per data directory
    (or per ephemeral server)."""

    def __init__(self, url: str):
        import psycopg

        self.psycopg = psycopg
        self.url = url
        self.by_dir: dict[str, str] = {}
        self.made: list[str] = []

    def _admin(self):
        return self.psycopg.connect(self.url, autocommit=True)

    def url_for(self, data_dir: str | None) -> str:
        name = self.by_dir.get(data_dir) if data_dir else None
        if name is None:
            name = f"overcast_test_{uuid.uuid4().hex[:16]}"
            with self._admin() as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            self.made.append(name)
            if data_dir:
                self.by_dir[data_dir] = name
        info = self.psycopg.conninfo.conninfo_to_dict(self.url)
        info["dbname"] = name
        return self.psycopg.conninfo.make_conninfo(**info)

    def drop_all(self) -> None:
        with self._admin() as conn:
            for name in self.made:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.made.clear()
        self.by_dir.clear()


TEST_DATABASES = TestDatabases(TEST_DATABASE_URL) if TEST_DATABASE_URL else None


def stored_rows(data_dir, sql: str) -> list[tuple]:
    """What a server started on `data_dir` stored, read straight from its database (SQLite's
    file, or its PostgreSQL database under OVERCAST_TEST_DATABASE_URL): for tests of what is at rest."""
    if TEST_DATABASES is not None:
        with TEST_DATABASES.psycopg.connect(TEST_DATABASES.url_for(str(data_dir))) as conn:
            return conn.execute(sql).fetchall()
    import sqlite3

    db = sqlite3.connect(os.path.join(data_dir, "overcast.db"))
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


@pytest.fixture(scope="session", autouse=True)
def _test_databases():
    yield TEST_DATABASES
    if TEST_DATABASES is not None:
        TEST_DATABASES.drop_all()


_STARTED: list[subprocess.Popen] = []


@atexit.register
def _stop_leftovers() -> None:
    """Servers a failed fixture never stopped go with their pytest worker: left running, a cluster
    node holds its PostgreSQL connections (100 in all by default) and the next tests find none."""
    for process in _STARTED:
        if process.poll() is None:
            process.kill()


class OvercastProcess:
    """A running `overcast start` subprocess."""

    def __init__(self, data_dir: str | None = None, port: int = 0, env: dict | None = None, preexec_fn=None):
        args = [sys.executable, "-m", "overcast", "start", "--port", str(port)]
        args += ["--data-dir", data_dir] if data_dir else ["--ephemeral"]
        if TEST_DATABASES is not None and "OVERCAST_DATABASE_URL" not in (env or {}):
            env = {**(env or {}), "OVERCAST_DATABASE_URL": TEST_DATABASES.url_for(
                data_dir or (env or {}).get("OVERCAST_DATA_DIR"))}
        self.process = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
            preexec_fn=preexec_fn,  # e.g. a lower open-file limit for the server alone
        )
        _STARTED.append(self.process)
        self.endpoint = self._wait_ready()

    def _wait_ready(self) -> str:
        lines = []
        for line in self.process.stdout:
            lines.append(line)
            match = READY.search(line)
            if match:
                # Keep reading what the server logs: a pipe nobody drains fills up (64 KB) and the
                # server then blocks on its next log line, looking like a hang.
                self.log: collections.deque[str] = collections.deque(maxlen=1000)
                threading.Thread(target=self.log.extend, args=(self.process.stdout,), daemon=True).start()
                return match.group(1)
        raise RuntimeError("overcast did not start:\n" + "".join(lines))

    def stop(self, kill: bool = False) -> None:
        if self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def overcast():
    server = OvercastProcess()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def endpoint(overcast) -> str:
    return overcast.endpoint


def make_client(endpoint: str, service: str, region: str = "us-east-1", access_key: str = "test", **config):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=access_key,
        aws_secret_access_key="test",
        config=BotoConfig(retries={"max_attempts": 0}, **config),
    )


@pytest.fixture(scope="session")
def client(endpoint):
    """client("sqs", region="eu-west-1", access_key="111111111111") -> a boto3 client on overcast."""

    def factory(service: str, **kwargs):
        return make_client(endpoint, service, **kwargs)

    return factory


@pytest.fixture(scope="session")
def aws_cli(endpoint):
    """aws_cli("sqs", "list-queues") -> parsed JSON output (or raises with the CLI's stderr)."""

    def run(*args, check=True, region="us-east-1"):
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": region,
            "AWS_PAGER": "",
        }
        result = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "aws"), "--endpoint-url", endpoint, "--output", "json", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        if not check:
            return result
        return json.loads(result.stdout) if result.stdout.strip() else {}

    return run


@pytest.fixture
def unique_name():
    """A name no other test uses: tests share one server."""

    def make(prefix: str = "t") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:12]}"

    return make


@pytest.fixture(scope="module")
def playwright():
    """Playwright's driver (sync API), one per test module; the test is skipped where Chromium or
    Playwright is missing (tests/browser_support.py), and fails there when OVERCAST_REQUIRE_BROWSER=1
    (CI sets it: a browser test must not stop running unnoticed)."""
    from browser_support import missing

    reason = missing()
    if reason:
        if os.environ.get("OVERCAST_REQUIRE_BROWSER") == "1":
            pytest.fail(f"OVERCAST_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright):
    """Headless Chromium (Debian's, never a downloaded one), one per test module."""
    from browser_support import launch

    chromium = launch(playwright)
    yield chromium
    chromium.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test shows what the session's server logged lately (a 500's traceback is there)."""
    outcome = yield
    report = outcome.get_result()
    funcargs = getattr(item, "funcargs", {})
    servers = [funcargs.get("overcast"), *(funcargs.get("nodes") or [])]  # (nodes: a cluster's, test_cluster*)
    for i, server in enumerate(servers):
        if report.failed and server is not None and getattr(server, "log", None):
            title = "overcast server log (last lines)" if i == 0 else f"cluster node {i} log (last lines)"
            report.sections.append((title, "".join(list(server.log)[-60:])))


@pytest.fixture(scope="session")
def iam(client):
    """An IAM client (the IAM test files share it)."""
    return client("iam")


# The files whose tests take longest, run first: `make test` hands out whole files in collection
# order (`--dist loadfile --no-loadscope-reorder`), and a file of two-minute tests started last
# would keep the run going alone at its end (the SAM CLI, CDK and Serverless Framework
# deployments, the cluster's kill -9 tests, CloudFormation's one-minute stack timeout).
LONG_FIRST = ("test_sam_cli.py", "test_cdk.py", "test_serverless_framework.py", "test_cluster", "test_cloudformation.py",
              "test_postgres_storage.py", "test_kms_keys.py", "test_console_browser.py", "test_security_browser.py")


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        name = item.nodeid.rsplit("/", 1)[-1]
        return next((i for i, prefix in enumerate(LONG_FIRST) if name.startswith(prefix)), len(LONG_FIRST))

    items.sort(key=rank)  # (stable: the rest keep their order)
