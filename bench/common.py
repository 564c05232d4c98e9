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

READY = re.compile(r"ready on (http://\S+)")
AUTH = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"


class Server:
    def __init__(self, port: int = 0, data_dir: str | None = None):
        args = [sys.executable, "-m", "overcast", "start", "--port", str(port)]
        args += ["--data-dir", data_dir] if data_dir else ["--ephemeral"]
        self.started = time.perf_counter()
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
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
