"""Start-up (issue 21: the first SQS call answered within 150 ms of the process's start, idle RSS
<= 45 MB; docs/architecture.md, "Start-up"): what starting the server imports, and that Lambda's
spare still starts with it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import READY, OvercastProcess, make_client

from overcast.runtime import spares as spares_module

ROOT = Path(__file__).resolve().parents[1]

# Modules the server does not need before its first answer, each a measurable part of start-up:
# uvicorn's WebSocket protocol (websockets reads its version from the installed metadata), the
# HTTP client only `overcast status | reset | trace` use, html's entity table (the Cognito hosted
# UI's pages), the policy evaluator (SQS: only requests from another account), the SDK.
NOT_AT_START_UP = ("websockets", "urllib.request", "http.client", "email.parser", "html", "overcast.aws.policy",
                   "botocore", "boto3", "awscrt")


def test_the_server_imports_no_heavy_module_and_one_provider_for_its_first_answer(tmp_path):
    """The server itself, started as `overcast start` is, asked one SQS call, then stopped: the
    modules it had imported when it exited."""
    listing = tmp_path / "modules"
    code = ("import atexit, runpy, sys; "
            f"atexit.register(lambda: open({str(listing)!r}, 'w').write(' '.join(sys.modules))); "
            "sys.argv = ['overcast', 'start', '--port', '0', '--ephemeral']; "
            "runpy.run_module('overcast', run_name='__main__', alter_sys=True)")
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        endpoint = next(m.group(1) for line in process.stdout if (m := READY.search(line)))
        make_client(endpoint, "sqs").list_queues()
    finally:
        process.terminate()
        process.wait(timeout=10)
    loaded = set(listing.read_text().split())
    assert "overcast.server" in loaded
    assert not [name for name in NOT_AT_START_UP if name in loaded]
    # providers are imported on their service's first request (services/__init__.py lists them as data)
    assert [name for name in loaded if name.startswith("overcast.services.") and name.endswith(".provider")] == [
        "overcast.services.sqs.provider"]


def _zygotes(pid: int) -> list[int]:
    """The server's children that are Lambda's spare-runtime zygotes."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                command = f.read().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        if parent == pid and any(part.endswith(b"spare_runtime.py") for part in command) and b"zygote" in command:
            found.append(int(entry))
    return found


def _wait_for_zygote(pid: int) -> None:
    deadline = time.monotonic() + 30
    while not _zygotes(pid):
        assert time.monotonic() < deadline, "no Lambda spare started"
        time.sleep(0.05)


zygotes = pytest.mark.skipif(not spares_module._ZYGOTES, reason="zygotes need Linux (clone, pidfd)")


@zygotes
def test_lambda_spare_starts_with_the_server_without_any_lambda_call(tmp_path):
    """(so that the first cold start finds it: runtime/spares.py)"""
    server = OvercastProcess(data_dir=str(tmp_path / "data"))
    try:
        make_client(server.endpoint, "sqs").list_queues()
        _wait_for_zygote(server.process.pid)
    finally:
        server.stop()
