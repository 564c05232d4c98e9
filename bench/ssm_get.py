"""SSM GetParameter throughput with wrk (8 connections, awsJson 1.1): String parameters, then
SecureString parameters read WithDecryption (each read opens the AES-GCM seal).

    apt-get install wrk
    .venv/bin/python bench/ssm_get.py [seconds]

Starts its own overcast (ephemeral data directory) and creates 100 parameters of each kind.
Also measures the bare-ASGI limit (bench/common.py) in the same run. Target (issue 16): >= 5,000
GetParameter/s.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

from common import Server, against_limit, bare_asgi_rate, json_call

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = 100


def wrk(endpoint: str, seconds: int, secure: bool) -> tuple[float, str]:
    result = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", "-s", os.path.join(HERE, "ssm_get.lua"),
                             endpoint], capture_output=True, text=True,
                            env={**os.environ, "KEYS": str(KEYS), "SECURE": "1" if secure else "0"})
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))
    errors = re.search(r"non-2xx or socket errors: (\d+)", result.stdout).group(1)
    return rate, errors


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    server = Server()
    try:
        for i in range(KEYS):
            for prefix, kind in (("p", "String"), ("s", "SecureString")):
                body = json.dumps({"Name": f"/bench/{prefix}-{i}", "Value": f"value {i}", "Type": kind}).encode()
                status, data = json_call(server.endpoint, "ssm", "AmazonSSM.PutParameter", body, version="1.1")
                assert status == 200, data
        rate, errors = wrk(server.endpoint, seconds, secure=False)
        limit = bare_asgi_rate(seconds, os.path.join(HERE, "ssm_get.lua"), {"KEYS": str(KEYS)})
        print(f"GetParameter (String):  {against_limit(rate, limit)} over {seconds} s, 8 connections "
              f"(errors: {errors})")
        rate, errors = wrk(server.endpoint, seconds, secure=True)
        print(f"GetParameter (SecureString, WithDecryption): {against_limit(rate, limit)} (errors: {errors})")
        print(f"server RSS after the run: {server.rss_mb():.1f} MB")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
