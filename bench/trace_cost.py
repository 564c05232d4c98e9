"""What tracing costs: SQS SendMessage and DynamoDB GetItem throughput with wrk (8 connections),
tracing on and tracing off, side by side in one run; and the instructions per request of the hot
paths (SQS SendMessage and ReceiveMessage, DynamoDB GetItem and PutItem, Lambda Invoke) in one
process (callgrind), which a shared machine's noise does not move.

    apt-get install wrk valgrind
    .venv/bin/python bench/trace_cost.py [seconds] [rounds]      # wrk, two servers, alternating rounds
    .venv/bin/python bench/trace_cost.py --callgrind [n] [--ops=sqs-send,ddb-get]   # instructions/request

wrk: two overcast servers run at once (OVERCAST_TRACING=1 and =0); each round runs wrk against one,
then the other, so both see the same load from the rest of the machine; the figure is the median of
the rounds. callgrind: bench/inprocess.py under valgrind with n and 3n requests, tracing on and off;
the difference of the totals divided by 2n is the cost of one request (start-up cancels out). Lambda
Invoke counts overcast's process only (the function's sandbox is a process of its own).
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
from concurrent.futures import ThreadPoolExecutor

from common import Server, json_call

HERE = os.path.dirname(os.path.abspath(__file__))
OPS = ("sqs-send", "ddb-get")


def _prepare(server: Server) -> dict:
    """A queue, and a table of 1000 items (user-0..999, sk 1); the wrk environment of each op."""
    status, body = json_call(server.endpoint, "sqs", "AmazonSQS.CreateQueue", b'{"QueueName":"bench"}')
    assert status == 200, body
    queue_url = json.loads(body)["QueueUrl"]
    status, body = json_call(server.endpoint, "dynamodb", "DynamoDB_20120810.CreateTable", json.dumps({
        "TableName": "bench", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "sk", "AttributeType": "N"}]}).encode())
    assert status == 200, body
    for start in range(0, 1000, 25):
        items = [{"PutRequest": {"Item": {"pk": {"S": f"user-{i}"}, "sk": {"N": "1"},
                                          "name": {"S": "a short order event"}, "total": {"N": "42.5"}}}}
                 for i in range(start, start + 25)]
        status, body = json_call(server.endpoint, "dynamodb", "DynamoDB_20120810.BatchWriteItem",
                                 json.dumps({"RequestItems": {"bench": items}}).encode())
        assert status == 200, body
    return {"sqs-send": ("sqs_send.lua", {"QUEUE_URL": queue_url}),
            "ddb-get": ("dynamodb.lua", {"OP": "GetItem", "TABLE": "bench", "KEYS": "1000"})}


def _wrk(endpoint: str, seconds: int, script: str, env: dict) -> float:
    result = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "-s", os.path.join(HERE, script), endpoint],
                            capture_output=True, text=True, env={**os.environ, **env})
    errors = int(re.search(r"non-2xx or socket errors: (\d+)", result.stdout).group(1))
    assert errors == 0, result.stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))


def wrk_run(seconds: int, rounds: int) -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    servers = {"on": Server(env={"OVERCAST_TRACING": "1"}), "off": Server(env={"OVERCAST_TRACING": "0"})}
    try:
        setups = {name: _prepare(server) for name, server in servers.items()}
        rates: dict[tuple[str, str], list[float]] = {}
        for op in OPS:
            for i in range(rounds):
                for name in (("on", "off") if i % 2 == 0 else ("off", "on")):
                    script, env = setups[name][op]
                    rates.setdefault((op, name), []).append(_wrk(servers[name].endpoint, seconds, script, env))
        for op in OPS:
            on, off = statistics.median(rates[(op, "on")]), statistics.median(rates[(op, "off")])
            print(f"{op}: tracing on {on:,.0f} /s, off {off:,.0f} /s: on is {on / off:.1%} of off "
                  f"(median of {rounds} rounds of {seconds} s; on {[round(r) for r in rates[(op, 'on')]]}, "
                  f"off {[round(r) for r in rates[(op, 'off')]]})")
    finally:
        for server in servers.values():
            server.stop()


# the hot paths measured in one process (bench/inprocess.py's ops)
CALLGRIND_OPS = ("sqs-send", "sqs-receive", "ddb-get", "ddb-put", "lambda-invoke")


def _instructions(job: tuple[str, str, int], env: dict) -> int:
    op, tracing, count = job
    result = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                             os.path.join(HERE, "inprocess.py"), op, str(count), "--tracing", tracing],
                            capture_output=True, text=True, env={**os.environ, **env})
    found = re.search(r"Collected : (\d+)", result.stderr)
    if found is None:
        sys.exit(f"{op} (tracing {tracing}, {count}) failed: {result.stderr[-2000:]}")
    return int(found.group(1))


def callgrind_run(count: int, ops: list[str], env: dict) -> None:
    """Instructions per request, tracing on and off, for each op (two valgrind runs at a time)."""
    if not shutil.which("valgrind"):
        sys.exit("valgrind is not installed: apt-get install valgrind")
    jobs = [(op, tracing, n) for op in ops for tracing in ("on", "off") for n in (count, 3 * count)]
    with ThreadPoolExecutor(2) as pool:
        totals = dict(zip(jobs, pool.map(lambda job: _instructions(job, env), jobs), strict=True))
    print(f"{'op':<14} {'tracing on':>12} {'off':>12} {'on - off':>10} {'':>7}   (instructions per request)")
    for op in ops:
        per = {tracing: (totals[(op, tracing, 3 * count)] - totals[(op, tracing, count)]) / (2 * count)
               for tracing in ("on", "off")}
        print(f"{op:<14} {per['on']:>12,.0f} {per['off']:>12,.0f} {per['on'] - per['off']:>+10,.0f} "
              f"{per['on'] / per['off'] - 1:>+7.1%}")


if __name__ == "__main__":
    if "--callgrind" in sys.argv:
        rest = [a for a in sys.argv[1:] if not a.startswith("--")]
        chosen = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--ops=")]
        otlp = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--otlp=")]
        callgrind_run(int(rest[0]) if rest else 100, chosen[0].split(",") if chosen else list(CALLGRIND_OPS),
                      {"OVERCAST_OTLP_ENDPOINT": otlp[0]} if otlp else {})
    else:
        wrk_run(int(sys.argv[1]) if len(sys.argv) > 1 else 10, int(sys.argv[2]) if len(sys.argv) > 2 else 3)
