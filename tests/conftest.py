"""The test harness: one real overcast server per test session (per xdist worker), on a free
port with an ephemeral data directory, driven through real clients."""

from __future__ import annotations

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


class OvercastProcess:
    """A running `overcast start` subprocess."""

    def __init__(self, data_dir: str | None = None, port: int = 0, env: dict | None = None, preexec_fn=None):
        args = [sys.executable, "-m", "overcast", "start", "--port", str(port)]
        args += ["--data-dir", data_dir] if data_dir else ["--ephemeral"]
        self.process = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
            preexec_fn=preexec_fn,  # e.g. a lower open-file limit for the server alone
        )
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
    Playwright is missing (tests/browser_support.py)."""
    from browser_support import missing

    reason = missing()
    if reason:
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
