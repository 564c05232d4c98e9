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


def json_call(endpoint: str, service: str, target: str, body: bytes, version: str = "1.0"):
    """One awsJson request with http.client (no SDK overhead); returns (status, body bytes)."""
    import http.client
    from urllib.parse import urlparse

    url = urlparse(endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
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


def against_limit(rate: float, limit: float) -> str:
    """A throughput figure beside the bare-ASGI limit measured in the same run: absolute figures
    swing 2x between machines (and +-30% on a loaded one), the ratio is the figure to compare."""
    return f"{rate:,.0f} /s = {rate / limit:.0%} of the bare-ASGI limit ({limit:,.0f} /s)"


def bare_asgi_rate(seconds: int, lua_script: str, env: dict | None = None) -> float:
    """Requests/s wrk gets from a bare uvicorn ASGI app answering a constant, with the same script
    and connections as the benchmark: the limit overcast's figures are compared with (DESIGN.md)."""
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
        result = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "-s", lua_script, f"http://127.0.0.1:{port}"],
                                capture_output=True, text=True, env={**os.environ, **(env or {})})
        return float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))
    finally:
        process.terminate()
        process.wait(timeout=10)
