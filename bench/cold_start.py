"""Lambda cold starts including the first one after the server starts (issue 14: every cold start
<= 100 ms). Each round starts a fresh overcast, then invokes three never-invoked functions one
after another: the first pays whatever one-time work is left on the invoke path.

    .venv/bin/python bench/cold_start.py [rounds] [--node | --ruby | --runtime=python3.X]

--node: nodejs20.x functions (a fresh Node process each: no spares) instead of python3.11.
--runtime=python3.X or nodejs2X.x: functions of that runtime (on the version `overcast
install-python-runtimes` / `install-node-runtimes` installed, where it did).
--ruby: ruby3.3 functions (a fresh Ruby process each, overcast/runtime/ruby_bootstrap.rb).

Prints each round's three Invoke round trips (boto3, ms) and the server CPU (all threads) each took.
"""

from __future__ import annotations

import statistics
import sys
import time

from common import Server, cpu_seconds
from lambda_invoke import HELLO, ROLE, client, zipped

RUNTIME = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--runtime=")), "")
NODE = "--node" in sys.argv or RUNTIME.startswith("nodejs")
RUBY = "--ruby" in sys.argv
PYTHON = RUNTIME if RUNTIME.startswith("python") else "python3.11"


def one_round() -> tuple[list[float], list[float]]:
    server = Server()
    try:
        lam = client(server.endpoint, "lambda")
        lam.get_account_settings()  # the Lambda service loaded, as any earlier call to it would
        times, cpus = [], []
        for i in range(3):
            name = f"cold-{i}"
            if NODE:
                lam.create_function(FunctionName=name, Runtime=RUNTIME if NODE and RUNTIME else "nodejs20.x", Role=ROLE, Handler="index.handler",
                                    Code={"ZipFile": zipped(f"exports.handler = async () => ({{hello: {i}}});", "index.js")})
            elif RUBY:
                lam.create_function(FunctionName=name, Runtime="ruby3.3", Role=ROLE, Handler="app.handler",
                                    Code={"ZipFile": zipped(f"def handler(event:, context:) = {{'hello' => {i}}}\n", "app.rb")})
            else:
                lam.create_function(FunctionName=name, Runtime=PYTHON, Role=ROLE, Handler="app.handler",
                                    Code={"ZipFile": zipped(HELLO + f"# {i}\n")})
            cpu = cpu_seconds(server.process.pid)
            start = time.perf_counter()
            lam.invoke(FunctionName=name, Payload=b"{}")
            times.append((time.perf_counter() - start) * 1000)
            cpus.append((cpu_seconds(server.process.pid) - cpu) * 1000)
        logs = client(server.endpoint, "logs")
        inits = []
        for i in range(3):
            report = logs.filter_log_events(logGroupName=f"/aws/lambda/cold-{i}", filterPattern="REPORT")["events"]
            inits.append(float(report[0]["message"].split("Init Duration: ")[1].split(" ms")[0]))
        print(f"  init durations (spawn -> first /next): {', '.join(f'{x:.0f} ms' for x in inits)}")
        return times, cpus
    finally:
        server.stop()


def main() -> None:
    numbers = [a for a in sys.argv[1:] if a.isdigit()]
    rounds = int(numbers[0]) if numbers else 5
    results = [one_round() for _ in range(rounds)]
    for n, (times, cpus) in enumerate(results, 1):
        print(f"round {n}: " + ", ".join(f"{which} {t:.0f} ms (server CPU {c:.1f} ms)"
                                         for which, t, c in zip(("first", "second", "third"), times, cpus, strict=True)))
    firsts = [t[0] for t, _ in results]
    later = [x for t, _ in results for x in t[1:]]
    print(f"first cold start after start-up: median {statistics.median(firsts):.0f} ms, max {max(firsts):.0f} ms")
    print(f"later cold starts:               median {statistics.median(later):.0f} ms, max {max(later):.0f} ms")
    print("target: every cold start <= 100 ms")


if __name__ == "__main__":
    main()
