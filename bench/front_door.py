"""What the front door's browser checks (overcast/security.py: Host names, cross-site requests)
cost an SQS SendMessage, as a share of the server's CPU time per request.

    apt-get install wrk
    .venv/bin/python bench/front_door.py [seconds]

On a busy machine throughput swings by more than the 2% budget (issue 13) from one run to the
next, so this measures the two sides apart: the checks in-process on a SendMessage's headers
(timeit, best of 5), and the server process's CPU time (utime + stime from /proc) per SendMessage
under wrk (bench/sqs_send.lua, 8 connections). Target: the checks cost <= 2% of a request.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import timeit

from common import AUTH, Server, json_call

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from overcast import security  # noqa: E402
from overcast.aws.context import HttpRequest  # noqa: E402
from overcast.config import Config  # noqa: E402


def checks_ns() -> float:
    """ns per request for what server.py adds on an SDK's request: the Host decision, the
    cross-site test and the /_overcast/ prefix test."""
    guard = security.BrowserGuard(Config())
    request = HttpRequest("POST", "/", "/", "", {
        "host": "127.0.0.1:4566", "content-type": "application/x-amz-json-1.0", "x-amz-target": "AmazonSQS.SendMessage",
        "authorization": AUTH.format(service="sqs"), "content-length": "90"}, b"")

    def run():
        guard.serves(request.host)
        security.foreign_origin(request)
        request.path.startswith("/_overcast/")

    number = 200_000
    return min(timeit.repeat(run, number=number, repeat=5)) / number * 1e9


def server_cpu_us(seconds: int) -> tuple[float, float]:
    """(server CPU µs per SendMessage, requests/s) under wrk."""
    tick = os.sysconf("SC_CLK_TCK")

    def cpu(pid: int) -> float:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    server = Server()
    try:
        _, body = json_call(server.endpoint, "sqs", "AmazonSQS.CreateQueue", b'{"QueueName":"bench"}')
        queue_url = json.loads(body)["QueueUrl"]
        before = cpu(server.process.pid)
        out = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "-s", os.path.join(HERE, "sqs_send.lua"),
                              server.endpoint], capture_output=True, text=True,
                             env={**os.environ, "QUEUE_URL": queue_url}).stdout
        used = cpu(server.process.pid) - before
    finally:
        server.stop()
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return used * 1e6 / requests, rate


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    ns = checks_ns()
    per_request, rate = server_cpu_us(seconds)
    print(f"front-door checks: {ns:,.0f} ns per request")
    print(f"SendMessage: {rate:,.0f} /s, {per_request:,.1f} µs of server CPU per request")
    print(f"the checks are {ns / 1000 / per_request:.2%} of a SendMessage (target <= 2%)")


if __name__ == "__main__":
    main()
