"""SQLite against PostgreSQL (cluster mode, docs/cluster.md) in one run, one node each: SQS
SendMessage (durable) and DynamoDB GetItem with wrk, 8 connections, the same wrk scripts as
bench/sqs_send.py and bench/dynamodb_bench.py. Target (issue 20): PostgreSQL >= 50% of SQLite.

    apt-get install wrk
    .venv/bin/python bench/storage_bench.py [seconds] [postgresql://postgres@127.0.0.1:5432/postgres]

The PostgreSQL node gets a database of its own (created, then dropped). The two servers run one
after the other, each alone on the machine; each figure is the better of two wrk runs.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys

import psycopg
from common import Server, json_call

HERE = os.path.dirname(os.path.abspath(__file__))


def wrk(endpoint: str, seconds: int, script: str, env: dict) -> tuple[float, int]:
    result = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "-s", os.path.join(HERE, script), endpoint],
                            capture_output=True, text=True, env={**os.environ, **env})
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))
    found = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
    return rate, int(found.group(1)) if found else 0


def measure(env: dict, seconds: int) -> dict[str, float]:
    server = Server(env=env)
    try:
        endpoint = server.endpoint
        status, body = json_call(endpoint, "sqs", "AmazonSQS.CreateQueue", b'{"QueueName":"bench"}')
        assert status == 200, body
        queue = {"QUEUE_URL": json.loads(body)["QueueUrl"]}
        status, body = json_call(endpoint, "dynamodb", "DynamoDB_20120810.CreateTable", json.dumps({
            "TableName": "bench", "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                     {"AttributeName": "sk", "AttributeType": "N"}]}).encode())
        assert status == 200, body
        for start in range(0, 1000, 25):
            status, body = json_call(endpoint, "dynamodb", "DynamoDB_20120810.BatchWriteItem", json.dumps(
                {"RequestItems": {"bench": [{"PutRequest": {"Item": {
                    "pk": {"S": f"user-{i}"}, "sk": {"N": "1"}, "name": {"S": "n"}}}}
                    for i in range(start, start + 25)]}}).encode())
            assert status == 200, body
        get = {"OP": "GetItem", "TABLE": "bench", "KEYS": "1000"}
        out = {}
        for name, script, script_env in (("SendMessage", "sqs_send.lua", queue), ("GetItem", "dynamodb.lua", get)):
            runs = [wrk(endpoint, seconds, script, script_env) for _ in range(2)]
            assert all(errors == 0 for _, errors in runs), runs
            out[name] = max(rate for rate, _ in runs)
        return out
    finally:
        server.stop()


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    admin_url = sys.argv[2] if len(sys.argv) > 2 else "postgresql://postgres@127.0.0.1:5432/postgres"
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    name = f"overcast_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        commit = admin.execute("SHOW synchronous_commit").fetchone()[0]
    url = psycopg.conninfo.make_conninfo(admin_url, dbname=name)
    try:
        sqlite = measure({}, seconds)
        postgres = measure({"OVERCAST_DATABASE_URL": url}, seconds)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"one node, wrk 8 connections, {seconds} s (best of 2); PostgreSQL synchronous_commit={commit}")
    print(f"{'':12} {'SQLite':>10} {'PostgreSQL':>11} {'ratio':>6}")
    for op in ("SendMessage", "GetItem"):
        print(f"{op:12} {sqlite[op]:>8,.0f}/s {postgres[op]:>9,.0f}/s {postgres[op] / sqlite[op]:>6.0%}")
    print(f"load average: {os.getloadavg()[0]:.1f} (2 cores)")


if __name__ == "__main__":
    main()
