"""Start-up time and idle memory: process start -> first SQS call answered, and RSS when idle.

    .venv/bin/python bench/startup.py [runs]

Targets (DESIGN.md): ready within 150 ms, idle RSS <= 45 MB.
"""

from __future__ import annotations

import compileall
import os
import statistics
import sys
import time

from common import ROOT, Server, cpu_seconds, json_call


def one_run() -> tuple[float, float, float, float]:
    server = Server()
    status, _ = json_call(server.endpoint, "sqs", "AmazonSQS.ListQueues", b"{}")
    answered = time.perf_counter()
    cpu = cpu_seconds(server.process.pid)  # what start-up cost the server, whatever else runs
    assert status == 200, status
    time.sleep(1.0)  # idle: let start-up garbage settle before reading RSS
    rss = server.rss_mb()
    server.stop()
    return (server.ready - server.started) * 1000, (answered - server.started) * 1000, rss, cpu * 1000


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    # the checkout's bytecode, as an installed package has it (pip compiles at install): without it,
    # and with PYTHONDONTWRITEBYTECODE set, every start compiles overcast's modules (~60 ms of CPU)
    compileall.compile_dir(os.path.join(ROOT, "overcast"), quiet=1)
    results = [one_run() for _ in range(runs)]
    ready = [r[0] for r in results]
    first = [r[1] for r in results]
    rss = [r[2] for r in results]
    cpu = [r[3] for r in results]
    print(f"runs: {runs}")
    print(f"listening after start:        median {statistics.median(ready):.0f} ms (min {min(ready):.0f})")
    print(f"first SQS call answered:      median {statistics.median(first):.0f} ms (min {min(first):.0f})  target <= 150 ms")
    print(f"server CPU until then:        median {statistics.median(cpu):.0f} ms (min {min(cpu):.0f})  "
          "(the wall times above also wait for a core on a loaded machine; this does not)")
    print(f"idle RSS after one SQS call:  median {statistics.median(rss):.1f} MB  target <= 45 MB")


if __name__ == "__main__":
    main()
