"""Two checkouts of overcast side by side, interleaved in one run (a load swing on a shared
machine hits both alike): warm synchronous invoke p50 against GetAccountSettings' p50 on each
server, and cold starts, including the first after each server's start-up, and a burst: BURST
new functions invoked at once (threads), each its own cold start.

    .venv/bin/python bench/lambda_side_by_side.py BEFORE_CHECKOUT AFTER_CHECKOUT [warm-invokes] [rounds] [burst]

e.g. `git worktree add --detach /tmp/before <commit>` then `bench/lambda_side_by_side.py /tmp/before .`
Each server runs its own checkout (PYTHONPATH); the sandboxes' runtimes are each server's own.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from common import Server, cpu_seconds
from lambda_invoke import HELLO, ROLE, client, percentile, zipped


def cold_round(path: str, burst: int) -> tuple[list[float], list[float], list[float], list[float]]:
    """A fresh server; three never-invoked functions one after another (as bench/cold_start.py),
    then `burst` new functions invoked at once."""
    server = Server(env={"PYTHONPATH": path})
    try:
        lam = client(server.endpoint, "lambda")
        lam.get_account_settings()
        times, cpus = [], []
        for i in range(3):
            name = f"cold-{i}"
            lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                                Code={"ZipFile": zipped(HELLO + f"# {i}\n")})
            cpu = cpu_seconds(server.process.pid)
            start = time.perf_counter()
            lam.invoke(FunctionName=name, Payload=b"{}")["Payload"].read()
            times.append((time.perf_counter() - start) * 1000)
            cpus.append((cpu_seconds(server.process.pid) - cpu) * 1000)
        logs = client(server.endpoint, "logs")
        inits = []
        for i in range(3):
            report = logs.filter_log_events(logGroupName=f"/aws/lambda/cold-{i}", filterPattern="REPORT")["events"]
            inits.append(float(report[0]["message"].split("Init Duration: ")[1].split(" ms")[0]))
        for i in range(burst):
            lam.create_function(FunctionName=f"burst-{i}", Runtime="python3.11", Role=ROLE, Handler="app.handler",
                                Code={"ZipFile": zipped(HELLO + f"# burst {i}\n")})
        clients = [client(server.endpoint, "lambda") for _ in range(burst)]

        def invoke(i: int) -> float:
            start = time.perf_counter()
            clients[i].invoke(FunctionName=f"burst-{i}", Payload=b"{}")["Payload"].read()
            return (time.perf_counter() - start) * 1000

        with ThreadPoolExecutor(burst or 1) as pool:
            bursts = list(pool.map(invoke, range(burst)))
        return times, cpus, inits, bursts
    finally:
        server.stop()


def warm(paths: list[str], count: int) -> dict[str, tuple[list[float], list[float]]]:
    servers = {path: Server(env={"PYTHONPATH": path}) for path in paths}
    try:
        lams = {path: client(server.endpoint, "lambda") for path, server in servers.items()}
        for lam in lams.values():
            lam.create_function(FunctionName="warm", Runtime="python3.11", Role=ROLE, Handler="app.handler",
                                Code={"ZipFile": zipped(HELLO)})
            for _ in range(50):
                lam.invoke(FunctionName="warm", Payload=b"{}")["Payload"].read()
                lam.get_account_settings()
        out = {path: ([], []) for path in paths}
        for _ in range(count):
            for path, lam in lams.items():
                invokes, floor = out[path]
                start = time.perf_counter()
                lam.invoke(FunctionName="warm", Payload=b'{"n": 1}')["Payload"].read()
                invokes.append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                lam.get_account_settings()
                floor.append((time.perf_counter() - start) * 1000)
        return out
    finally:
        for server in servers.values():
            server.stop()


def main() -> None:
    paths = [os.path.abspath(p) for p in sys.argv[1:3]]
    # `python -m overcast` puts the working directory first on sys.path: from a checkout's root, the
    # servers would both run that checkout, whatever PYTHONPATH says
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    burst = int(sys.argv[5]) if len(sys.argv) > 5 else 4
    print(f"load before: {os.getloadavg()[0]:.2f}")
    cold = {path: [] for path in paths}
    for _ in range(rounds):
        for path in paths:
            cold[path].append(cold_round(path, burst))
    warm_out = warm(paths, count)
    print(f"load after: {os.getloadavg()[0]:.2f}")
    for label, path in zip(("before", "after"), paths, strict=True):
        invokes, floor = warm_out[path]
        firsts = [times[0] for times, _, _, _ in cold[path]]
        later = [t for times, _, _, _ in cold[path] for t in times[1:]]
        inits = [i for _, _, round_inits, _ in cold[path] for i in round_inits]
        cpus = [c for _, round_cpus, _, _ in cold[path] for c in round_cpus]
        bursts = [b for _, _, _, round_bursts in cold[path] for b in round_bursts]
        print(f"{label} ({path}):")
        print(f"  warm invoke p50 {percentile(invokes, 50):.2f} ms (p90 {percentile(invokes, 90):.2f}) / GetAccountSettings "
              f"p50 {percentile(floor, 50):.2f} ms = {percentile(invokes, 50) / percentile(floor, 50):.2f}x  target <= 1.5x")
        print(f"  cold start, first after start-up: median {statistics.median(firsts):.0f} ms, max {max(firsts):.0f} ms; "
              f"later: median {statistics.median(later):.0f} ms, max {max(later):.0f} ms  target <= 100 ms")
        print(f"  Init Duration median {statistics.median(inits):.0f} ms, max {max(inits):.0f} ms; "
              f"server CPU per cold start median {statistics.median(cpus):.1f} ms")
        if bursts:
            print(f"  burst of {burst} new functions at once: median {statistics.median(bursts):.0f} ms, "
                  f"max {max(bursts):.0f} ms (per round: " + ", ".join(
                      f"{max(b):.0f}" for _, _, _, b in cold[path]) + " ms)")


if __name__ == "__main__":
    main()
