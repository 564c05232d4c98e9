"""What tracing costs: SQS SendMessage and DynamoDB GetItem throughput with wrk (8 connections),
tracing on and tracing off, side by side in one run; and the instructions per request of the same
two calls in one process (callgrind), which a shared machine's noise does not move.

    apt-get install wrk valgrind
    .venv/bin/python bench/trace_cost.py [seconds] [rounds]      # wrk, two servers, alternating rounds
    .venv/bin/python bench/trace_cost.py --callgrind [n]         # instructions/request (bench/inprocess.py)

wrk: two overcast servers run at once (OVERCAST_TRACING=1 and =0); each round runs wrk against one,
then the other, so both see the same load from the rest of the machine; the figure is the median of
the rounds. callgrind: bench/inprocess.py under valgrind with n and 3n requests, tracing on and off;
the difference of the totals divided by 2n is the cost of one request (start-up cancels out).
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


def _instructions(op: str, tracing: str, count: int) -> int:
    result = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                             os.path.join(HERE, "inprocess.py"), op, str(count), "--tracing", tracing],
                            capture_output=True, text=True)
    return int(re.search(r"Collected : (\d+)", result.stderr).group(1))


def callgrind_run(count: int) -> None:
    if not shutil.which("valgrind"):
        sys.exit("valgrind is not installed: apt-get install valgrind")
    for op in OPS:
        per = {}
        for tracing in ("on", "off"):
            per[tracing] = (_instructions(op, tracing, 3 * count) - _instructions(op, tracing, count)) / (2 * count)
        print(f"{op}: {per['on']:,.0f} instructions/request tracing on, {per['off']:,.0f} off: "
              f"+{per['on'] - per['off']:,.0f} (+{per['on'] / per['off'] - 1:.1%})")


if __name__ == "__main__":
    if "--callgrind" in sys.argv:
        rest = [a for a in sys.argv[1:] if a != "--callgrind"]
        callgrind_run(int(rest[0]) if rest else 100)
    else:
        wrk_run(int(sys.argv[1]) if len(sys.argv) > 1 else 10, int(sys.argv[2]) if len(sys.argv) > 2 else 3)
