"""What tracing costs: SQS SendMessage and DynamoDB GetItem throughput with wrk (8 connections),
tracing on and tracing off, side by side in one run; and the instructions per request of the hot
paths (SQS SendMessage and ReceiveMessage, DynamoDB GetItem and PutItem, Lambda Invoke) in one
process (callgrind), which a shared machine's noise does not move.

    apt-get install wrk valgrind
    .venv/bin/python bench/trace_cost.py [seconds] [rounds] [--restarts=K]   # wrk, alternating rounds
    .venv/bin/python bench/trace_cost.py --callgrind [n] [--ops=sqs-send,ddb-get]   # instructions/request
    .venv/bin/python bench/trace_cost.py --callgrind --otlp [--children] [n] [--ops=...]   # the OTLP export's
    .venv/bin/python bench/trace_cost.py --callgrind-server [seconds] [--cache-sim]   # per request, wrk through uvicorn
    .venv/bin/python bench/trace_cost.py --bytecodes [n] [--ops=sqs-send,ddb-get]   # Python bytecodes/request

wrk: two overcast servers run at once (OVERCAST_TRACING=1 and =0); each round runs wrk against one,
then the other (the order alternating), so both see the same load from the rest of the machine; the
figures are the median of each mode's rounds, and the median of the rounds' own on/off ratios (the
two runs of a round are next to each other in time, so a load that drifts over the run cancels in
their ratio; more, shorter rounds narrow it: `trace_cost.py 2 41`). --restarts=K: the rounds run
by K sets of fresh servers in turn (a process's speed for its whole life varies by a point or two
with where its memory lies; one set of servers is one draw of it). Beside the rate, each server's CPU time per request (its process's user + system time
over the requests wrk counted): on a shared, loaded machine the rate moves with the neighbours from
one round to the next, the CPU a request costs much less. callgrind: bench/inprocess.py under valgrind with n and 3n requests, tracing on and off;
the difference of the totals divided by 2n is the cost of one request (start-up cancels out). Lambda
Invoke counts overcast's process only (the function's sandbox is a process of its own).
--otlp: tracing on with spans exported to a local OTLP receiver, against tracing on without the
export (the `otlp` extra must be installed); --children counts the export process too.
--callgrind-server: what wrk measures, counted instead of timed: `overcast start` itself under
valgrind (its process only), tracing on and off, the trace ring filled first (1,000 ListQueues),
then wrk itself (the same scripts, 8 connections) for s and 3s seconds; the difference of the totals
divided by the difference of the requests wrk counted is the cost of one request. (An earlier form
drove it with http.client, one request at a time: its figures moved by +4.7% to +10% between runs
for GetItem.) The server's idle work (its timers) while valgrind runs slowly adds some noise.
--cache-sim: callgrind's cache simulation too, the first-level cache misses per request beside
the instructions (what a span kept for 1,000 requests costs in memory traffic).
--bytecodes: the Python bytecodes a request executes, tracing on and off (bench/inprocess.py --bytecodes,
n requests after the ring is full), and the functions where they differ: exact, in seconds, where
callgrind takes minutes; what it does not count is the C work (allocation, the collector, the clock,
the context variable), which callgrind does.
Target (issue 17): tracing on within 5% of tracing off.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from common import READY, ROOT, Server, json_call

HERE = os.path.dirname(os.path.abspath(__file__))
OPS = ("sqs-send", "ddb-get")


def _prepare(server: Server, call=json_call) -> dict:
    """A queue, and a table of 1000 items (user-0..999, sk 1); the wrk environment of each op."""
    status, body = call(server.endpoint, "sqs", "AmazonSQS.CreateQueue", b'{"QueueName":"bench"}')
    assert status == 200, body
    queue_url = json.loads(body)["QueueUrl"]
    status, body = call(server.endpoint, "dynamodb", "DynamoDB_20120810.CreateTable", json.dumps({
        "TableName": "bench", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "sk", "AttributeType": "N"}]}).encode())
    assert status == 200, body
    for start in range(0, 1000, 25):
        items = [{"PutRequest": {"Item": {"pk": {"S": f"user-{i}"}, "sk": {"N": "1"},
                                          "name": {"S": "a short order event"}, "total": {"N": "42.5"}}}}
                 for i in range(start, start + 25)]
        status, body = call(server.endpoint, "dynamodb", "DynamoDB_20120810.BatchWriteItem",
                                 json.dumps({"RequestItems": {"bench": items}}).encode())
        assert status == 200, body
    return {"sqs-send": ("sqs_send.lua", {"QUEUE_URL": queue_url}),
            "ddb-get": ("dynamodb.lua", {"OP": "GetItem", "TABLE": "bench", "KEYS": "1000"})}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/PID/stat's utime and stime)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wrk(server: Server, seconds: int, script: str, env: dict) -> tuple[float, float]:
    """(requests per second, the server's CPU microseconds per request) of one wrk run."""
    cpu = _cpu_seconds(server.process.pid)
    result = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "-s", os.path.join(HERE, script),
                             server.endpoint], capture_output=True, text=True, env={**os.environ, **env})
    cpu = _cpu_seconds(server.process.pid) - cpu
    found = re.search(r"non-2xx or socket errors: (\d+)", result.stdout)
    assert found is None or int(found.group(1)) == 0, result.stdout
    requests = int(re.search(r"(\d+) requests in", result.stdout).group(1))
    return float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1)), cpu / requests * 1e6


def _quartiles(values: list[float]) -> str:
    if len(values) < 4:
        return "n/a"
    low, _, high = statistics.quantiles(values, n=4)
    return f"{low:.1%}-{high:.1%}"


def _servers() -> dict[str, Server]:
    return {"on": Server(env={"OVERCAST_TRACING": "1"}), "off": Server(env={"OVERCAST_TRACING": "0"})}


def wrk_run(seconds: int, rounds: int, restarts: int = 1) -> None:
    """`restarts`: the rounds are run by that many sets of fresh servers, one after the other: a
    server process is faster or slower by a point or two for the whole of its life (where its
    memory happens to lie), which the rounds of one set of servers cannot average out."""
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    rates: dict[tuple[str, str], list[float]] = {}
    cpus: dict[tuple[str, str], list[float]] = {}
    names: list[str] = []
    done = 0
    for group in range(restarts):
        servers = _servers()
        names = list(servers)
        share = (rounds - done) // (restarts - group)
        try:
            setups = {name: _prepare(server) for name, server in servers.items()}
            for op in OPS:
                for i in range(done, done + share):
                    for name in names[i % len(names):] + names[:i % len(names)]:  # each first in turn
                        script, env = setups[name][op]
                        rate, cpu = _wrk(servers[name], seconds, script, env)
                        rates.setdefault((op, name), []).append(rate)
                        cpus.setdefault((op, name), []).append(cpu)
        finally:
            for server in servers.values():
                server.stop()
        done += share
    if restarts > 1:
        print(f"({rounds} rounds, by {restarts} sets of fresh servers)")
    for op in OPS:
        for on_name in [name for name in names if name != "off"]:
            _report(op, on_name, rates, cpus, rounds, seconds)


def _report(op: str, name: str, rates: dict, cpus: dict, rounds: int, seconds: int) -> None:
    on, off = statistics.median(rates[(op, name)]), statistics.median(rates[(op, "off")])
    print(f"{op}: tracing {name} {on:,.0f} /s, off {off:,.0f} /s: {name} is {on / off:.1%} of off "
          f"(median of {rounds} rounds of {seconds} s; {name} {[round(r) for r in rates[(op, name)]]}, "
          f"off {[round(r) for r in rates[(op, 'off')]]})")
    # each round's runs are next to each other in time: their ratio cancels the load that drifts
    # from one round to the next, which the two medians above do not
    pairs = [a / b for a, b in zip(rates[(op, name)], rates[(op, "off")], strict=True)]
    print(f"{op}: round by round, {name} is {statistics.median(pairs):.1%} of off (median of the "
          f"{rounds} rounds' ratios; quartiles {_quartiles(pairs)})")
    on, off = statistics.median(cpus[(op, name)]), statistics.median(cpus[(op, "off")])
    print(f"{op}: the server's CPU per request, tracing {name} {on:,.0f} us, off {off:,.0f} us: {on / off - 1:+.1%} "
          f"({name} {[round(c) for c in cpus[(op, name)]]}, off {[round(c) for c in cpus[(op, 'off')]]}); "
          f"load average {os.getloadavg()[0]:.1f}")


# the hot paths measured in one process (bench/inprocess.py's ops)
CALLGRIND_OPS = ("sqs-send", "sqs-receive", "ddb-get", "ddb-put", "lambda-invoke")


def _callgrind_counts(out: str) -> dict[str, int]:
    """The events callgrind counted (Ir, and with --cache-sim=yes the cache misses: I1mr, D1mr,
    D1mw...) summed over all the processes whose files are in `out` (then removed)."""
    counts: dict[str, int] = {}
    for name in os.listdir(out):
        with open(os.path.join(out, name)) as f:
            text = f.read()
        events = re.search(r"^events: (.*)$", text, re.M)
        found = re.search(r"^(?:summary|totals): (.*)$", text, re.M)
        if events and found:
            for event, value in zip(events.group(1).split(), found.group(1).split(), strict=False):
                counts[event] = counts.get(event, 0) + int(value)
    shutil.rmtree(out, ignore_errors=True)
    return counts


def _callgrind_total(out: str) -> int:
    """The instructions callgrind counted in all the processes whose files are in `out` (then removed)."""
    return _callgrind_counts(out).get("Ir", 0)


def _instructions(job: tuple[str, str, int], collector: str | None, children: bool) -> int:
    """Instructions of one bench/inprocess.py run: `mode` on, off, or export (tracing on, spans
    exported to `collector`); with `children`, the processes it starts counted too."""
    op, mode, count = job
    args = [op, str(count), "--tracing", "off" if mode == "off" else "on"]
    if mode == "export":
        args += ["--otlp", collector]
    out = tempfile.mkdtemp(prefix="trace-cost-")
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/callgrind.%p",
                    f"--trace-children={'yes' if children else 'no'}", sys.executable,
                    os.path.join(HERE, "inprocess.py"), *args], capture_output=True, text=True,
                   env={**os.environ, "PYTHONHASHSEED": "0"})  # the same dict layouts every run: less noise
    total = _callgrind_total(out)
    if not total:
        sys.exit(f"{op} ({mode}, {count}) failed")
    return total


def callgrind_run(count: int, ops: list[str], modes: tuple[str, str], children: bool = False) -> None:
    """Instructions per request in two modes (tracing on and off; or export and on), for each op
    (two valgrind runs at a time)."""
    if not shutil.which("valgrind"):
        sys.exit("valgrind is not installed: apt-get install valgrind")
    collector = _collector() if "export" in modes else None
    jobs = [(op, mode, n) for op in ops for mode in modes for n in (count, 3 * count)]
    with ThreadPoolExecutor(2) as pool:
        totals = dict(zip(jobs, pool.map(lambda job: _instructions(job, collector, children), jobs), strict=True))
    a, b = modes
    print(f"{'op':<14} {a:>12} {b:>12} {'difference':>10} {'':>7}   (instructions per request"
          f"{', the processes it starts included' if children else ''})")
    for op in ops:
        per = {mode: (totals[(op, mode, 3 * count)] - totals[(op, mode, count)]) / (2 * count) for mode in modes}
        print(f"{op:<14} {per[a]:>12,.0f} {per[b]:>12,.0f} {per[a] - per[b]:>+10,.0f} {per[a] / per[b] - 1:>+7.1%}")


def _server_instructions(job: tuple[str, str, int, bool]) -> tuple[int, dict[str, int]]:
    """(requests, callgrind's counts) of an `overcast start` under callgrind that wrk drove with `op`
    for `seconds` after its set-up (the same in every run, so that it cancels out)."""
    op, mode, seconds, cache_sim = job
    out = tempfile.mkdtemp(prefix="trace-cost-")
    process = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--cache-sim={'yes' if cache_sim else 'no'}",
         f"--callgrind-out-file={out}/callgrind.%p", "--trace-children=no",
         sys.executable, "-m", "overcast", "start", "--port", "0", "--ephemeral"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONPATH": ROOT, "PYTHONHASHSEED": "0", "OVERCAST_TRACING": "1" if mode == "on" else "0"})
    try:
        for line in process.stdout:
            found = READY.search(line)
            if found:
                break
        else:
            sys.exit(f"{op} ({mode}, {seconds} s): overcast did not start")
        threading.Thread(target=process.stdout.read, daemon=True).start()  # its log never fills the pipe
        server = Server.__new__(Server)
        server.endpoint = found.group(1)
        def slow_call(endpoint: str, service: str, target: str, body: bytes) -> tuple[int, bytes]:
            return json_call(endpoint, service, target, body, timeout=600)  # valgrind is slow

        setup = _prepare(server, slow_call)
        for _ in range(1000):  # the trace ring full: each request measured evicts the oldest trace
            status, body = slow_call(server.endpoint, "sqs", "AmazonSQS.ListQueues", b"{}")
            assert status == 200, body
        script, env = setup[op]
        result = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "--timeout", "60s",
                                 "-s", os.path.join(HERE, script), server.endpoint],
                                capture_output=True, text=True, env={**os.environ, **env})
        errors = re.search(r"non-2xx or socket errors: (\d+)", result.stdout)
        assert errors is None or int(errors.group(1)) == 0, result.stdout
        requests = int(re.search(r"(\d+) requests in", result.stdout).group(1))
    finally:
        process.terminate()
        process.wait(600)
    return requests, _callgrind_counts(out)


def callgrind_server_run(seconds: int, cache_sim: bool = False) -> None:
    if not shutil.which("valgrind") or not shutil.which("wrk"):
        sys.exit("valgrind and wrk are needed: apt-get install valgrind wrk")
    jobs = [(op, mode, s, cache_sim) for op in OPS for mode in ("on", "off") for s in (seconds, 3 * seconds)]
    with ThreadPoolExecutor(2) as pool:
        counts = dict(zip(jobs, pool.map(_server_instructions, jobs), strict=True))
    events = ("Ir", "I1mr", "D1mr", "D1mw") if cache_sim else ("Ir",)
    print(f"{'op':<10} {'event':<6} {'on':>10} {'off':>10} {'difference':>10} {'':>7}   (per request, overcast start's "
          f"process, driven by wrk for {seconds} and {3 * seconds} s; Ir: instructions, *mr/*mw: cache misses)")
    for op in OPS:
        for event in events:
            per = {}
            for mode in ("on", "off"):
                (few, short), (many, long) = counts[(op, mode, seconds, cache_sim)], counts[(op, mode, 3 * seconds, cache_sim)]
                per[mode] = (long[event] - short[event]) / (many - few)
            print(f"{op:<10} {event:<6} {per['on']:>10,.0f} {per['off']:>10,.0f} {per['on'] - per['off']:>+10,.0f} "
                  f"{per['on'] / per['off'] - 1:>+7.1%}")


def bytecodes_run(count: int, ops: list[str]) -> None:
    """Python bytecodes per request, tracing on and off (runs of n and 3n requests: what happens once,
    a regular expression compiled on first use, cancels out), and the functions that differ most."""

    def counted(op: str, mode: str, n: int) -> dict[str, int]:
        result = subprocess.run([sys.executable, os.path.join(HERE, "inprocess.py"), op, str(n), "--bytecodes",
                                 "--tracing", mode], capture_output=True, text=True)
        if result.returncode:
            sys.exit(f"{op} ({mode}, {n}) failed: {result.stderr[-2000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])["bytecodes"]

    for op in ops:
        per = {}
        for mode in ("on", "off"):
            few, many = counted(op, mode, count), counted(op, mode, 3 * count)
            per[mode] = {name: (many.get(name, 0) - few.get(name, 0)) / (2 * count) for name in set(few) | set(many)}
        on, off = sum(per["on"].values()), sum(per["off"].values())
        print(f"{op}: {on:,.1f} bytecodes per request with tracing on, {off:,.1f} off: {on - off:+,.1f} "
              f"({on / off - 1:+.1%})")
        names = set(per["on"]) | set(per["off"])
        differ = sorted(((per["on"].get(n, 0) - per["off"].get(n, 0), n) for n in names), key=lambda d: -abs(d[0]))
        for difference, name in differ[:8]:
            if abs(difference) >= 0.5:
                print(f"    {difference:+8.1f}  {name}")


def _collector() -> str:
    """An OTLP/HTTP receiver that takes every request (200, an empty ExportTraceServiceResponse)."""
    class Take(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Take)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


if __name__ == "__main__":
    if "--bytecodes" in sys.argv:
        rest = [a for a in sys.argv[1:] if not a.startswith("--")]
        chosen = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--ops=")]
        bytecodes_run(int(rest[0]) if rest else 200, chosen[0].split(",") if chosen else list(OPS))
    elif "--callgrind-server" in sys.argv:
        rest = [a for a in sys.argv[1:] if not a.startswith("--")]
        callgrind_server_run(int(rest[0]) if rest else 20, "--cache-sim" in sys.argv)
    elif "--callgrind" in sys.argv:
        rest = [a for a in sys.argv[1:] if not a.startswith("--")]
        chosen = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--ops=")]
        ops = chosen[0].split(",") if chosen else list(CALLGRIND_OPS)
        if "--otlp" in sys.argv:  # the OTLP export's cost: tracing on with the export and without
            callgrind_run(int(rest[0]) if rest else 100, ops, ("export", "on"), "--children" in sys.argv)
        else:
            callgrind_run(int(rest[0]) if rest else 100, ops, ("on", "off"))
    else:
        rest = [a for a in sys.argv[1:] if not a.startswith("--")]
        restarts = [int(a.split("=", 1)[1]) for a in sys.argv if a.startswith("--restarts=")]
        wrk_run(int(rest[0]) if rest else 10, int(rest[1]) if len(rest) > 1 else 3, restarts[0] if restarts else 1)
