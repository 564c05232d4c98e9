"""Shared by the benchmarks: start an overcast server as a user would, and sign-free requests.

overcast does not check signatures, but it reads the SigV4 credential scope to route requests, so
the benchmarks send an Authorization header with a scope and a dummy signature.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
READY = re.compile(r"ready on (http://\S+)")
AUTH = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"


class Server:
    def __init__(self, port: int = 0, data_dir: str | None = None, env: dict | None = None):
        # PYTHONPATH=ROOT: the server runs the checkout this script belongs to (a git worktree), not
        # whichever copy the venv's editable install points at: before/after comparisons need it.
        args = [sys.executable, "-m", "overcast", "start", "--port", str(port)]
        args += ["--data-dir", data_dir] if data_dir else ["--ephemeral"]
        self.started = time.perf_counter()
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        env={**os.environ, "PYTHONPATH": ROOT, **(env or {})})
        for line in self.process.stdout:
            match = READY.search(line)
            if match:
                self.endpoint = match.group(1)
                self.ready = time.perf_counter()
                break
        else:
            raise RuntimeError("overcast did not start")

    def rss_mb(self) -> float:
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def json_call(endpoint: str, service: str, target: str, body: bytes, version: str = "1.0", timeout: float = 10):
    """One awsJson request with http.client (no SDK overhead); returns (status, body bytes)."""
    import http.client
    from urllib.parse import urlparse

    url = urlparse(endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
    conn.request(
        "POST",
        "/",
        body=body,
        headers={
            "Content-Type": f"application/x-amz-json-{version}",
            "X-Amz-Target": target,
            "Authorization": AUTH.format(service=service),
        },
    )
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def env_flag(name: str, default: str) -> str:
    return os.environ.get(name, default)


BARE_APP = """
import uvicorn

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b"{}"})

uvicorn.run(app, host="127.0.0.1", port={port}, loop="uvloop", http="httptools", log_level="warning",
            access_log=False, server_header=False, date_header=False)
"""


def cpu_seconds(pid: int) -> float:
    """CPU time of all the process's threads, to the nanosecond (/proc/PID/task/*/schedstat)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass  # a thread that ended meanwhile
    return total / 1e9


class Limit(float):
    """The bare-ASGI rate (requests/s), with the bare server's CPU time per request (µs)."""

    cpu_us: float = float("nan")


class Wrk:
    """One wrk run against a server process: its rate, and the server's CPU time per request.
    On a shared machine the rate swings with the other processes' load, the CPU time a request
    costs the server much less: cpu_us beside the bare server's is the steadier ratio."""

    def __init__(self, pid: int, endpoint: str, seconds: int, lua_script: str, env: dict | None = None):
        before = cpu_seconds(pid)
        result = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", "-s", lua_script, endpoint],
                                capture_output=True, text=True, env={**os.environ, **(env or {})})
        used = cpu_seconds(pid) - before
        self.stdout = result.stdout
        self.rate = float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))
        self.requests = int(re.search(r"(\d+) requests in", result.stdout).group(1))
        errors = re.search(r"non-2xx or socket errors: (\d+)", result.stdout)
        self.errors = int(errors.group(1)) if errors else 0
        self.cpu_us = used / max(self.requests, 1) * 1e6


def against_limit(rate: float, limit: float, cpu_us: float | None = None) -> str:
    """A throughput figure beside the bare-ASGI limit measured in the same run: absolute figures
    swing 2x between machines (and +-30% on a loaded one), the ratio is the figure to compare.
    With `cpu_us` (the server's CPU time per request): also the bare server's over it, the share
    of the limit one core would give if the machine were quiet."""
    text = f"{rate:,.0f} /s = {rate / limit:.0%} of the bare-ASGI limit ({limit:,.0f} /s)"
    bare_us = getattr(limit, "cpu_us", float("nan"))
    if cpu_us is not None and bare_us == bare_us:
        text += f"; server CPU {cpu_us:.0f} us/request, bare {bare_us:.0f} us = {bare_us / cpu_us:.0%}"
    return text


def bare_asgi_rate(seconds: int, lua_script: str, env: dict | None = None) -> Limit:
    """Requests/s wrk gets from a bare uvicorn ASGI app answering a constant, with the same script
    and connections as the benchmark: the limit overcast's figures are compared with (DESIGN.md);
    its `cpu_us`, the bare server's CPU time per request."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-c", BARE_APP.replace("{port}", str(port))])
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        run = Wrk(process.pid, f"http://127.0.0.1:{port}", seconds, lua_script, env)
        limit = Limit(run.rate)
        limit.cpu_us = run.cpu_us
        return limit
    finally:
        process.terminate()
        process.wait(timeout=10)
