"""One node on PostgreSQL against one node on SQLite, side by side in one run (issue 20: SQS
SendMessage and DynamoDB GetItem on PostgreSQL >= 50% of the SQLite figure).

    apt-get install wrk
    .venv/bin/python bench/postgres_vs_sqlite.py [seconds] [rounds] [postgresql://postgres@127.0.0.1:5432/postgres]

Starts two servers of this checkout, one on an ephemeral SQLite data directory, one on a database
of its own on the given PostgreSQL (dropped at the end); creates a queue and a 1,000-item table on
each; then, `rounds` times, runs wrk (8 connections, bench/sqs_send.lua and bench/dynamodb.lua)
against one then the other, alternating, so that both see the same machine load. Prints each
run and the medians, with the machine's load average. The SendMessage runs check that every
acknowledged message is in the queue.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import statistics
import sys

import psycopg
from common import Server, Wrk, json_call

HERE = os.path.dirname(os.path.abspath(__file__))


def setup(server: Server) -> str:
    status, body = json_call(server.endpoint, "sqs", "AmazonSQS.CreateQueue", b'{"QueueName":"bench"}')
    assert status == 200, body
    ddb = lambda op, body: json_call(server.endpoint, "dynamodb", f"DynamoDB_20120810.{op}",  # noqa: E731
                                     json.dumps(body).encode())
    status, body = ddb("CreateTable", {
        "TableName": "bench", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "sk", "AttributeType": "N"}]})
    assert status == 200, body
    for start in range(0, 1000, 25):
        status, body = ddb("BatchWriteItem", {"RequestItems": {"bench": [
            {"PutRequest": {"Item": {"pk": {"S": f"user-{i}"}, "sk": {"N": "1"}, "name": {"S": "n"}}}}
            for i in range(start, start + 25)]}})
        assert status == 200, body
    return json.loads(json_call(server.endpoint, "sqs", "AmazonSQS.GetQueueUrl", b'{"QueueName":"bench"}')[1])["QueueUrl"]


def stored(server: Server, queue_url: str) -> int:
    status, body = json_call(server.endpoint, "sqs", "AmazonSQS.GetQueueAttributes", json.dumps(
        {"QueueUrl": queue_url, "AttributeNames": ["ApproximateNumberOfMessages"]}).encode())
    return int(json.loads(body)["Attributes"]["ApproximateNumberOfMessages"])


def load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    admin_url = sys.argv[3] if len(sys.argv) > 3 else "postgresql://postgres@127.0.0.1:5432/postgres"
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    name = f"overcast_bench_{secrets.token_hex(4)}"
    admin = psycopg.connect(admin_url, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    info = psycopg.conninfo.conninfo_to_dict(admin_url)
    info["dbname"] = name
    servers = {}
    try:
        servers["sqlite"] = Server()
        servers["postgres"] = Server(env={"OVERCAST_DATABASE_URL": psycopg.conninfo.make_conninfo(**info)})
        queues = {kind: setup(server) for kind, server in servers.items()}
        rates = {(kind, op): [] for kind in servers for op in ("SendMessage", "GetItem")}
        sent = dict.fromkeys(servers, 0)
        for n in range(rounds):
            for op in ("SendMessage", "GetItem"):
                for kind, server in servers.items():
                    if op == "SendMessage":
                        run = Wrk(server.process.pid, server.endpoint, seconds, os.path.join(HERE, "sqs_send.lua"),
                                  {"QUEUE_URL": queues[kind]})
                        sent[kind] += run.requests - run.errors
                    else:
                        run = Wrk(server.process.pid, server.endpoint, seconds, os.path.join(HERE, "dynamodb.lua"),
                                  {"OP": "GetItem", "TABLE": "bench", "KEYS": "1000"})
                    rates[kind, op].append(run.rate)
                    print(f"round {n + 1} {op:<11} {kind:<8} {run.rate:8,.0f} /s  server CPU {run.cpu_us:5.0f} us/request"
                          f"  errors {run.errors}  load {load()}", flush=True)
        for kind, server in servers.items():
            print(f"{kind}: {sent[kind]:,} SendMessage acknowledged, {stored(server, queues[kind]):,} in the queue")
        for op in ("SendMessage", "GetItem"):
            pg, lite = statistics.median(rates["postgres", op]), statistics.median(rates["sqlite", op])
            print(f"{op}: PostgreSQL {pg:,.0f} /s, SQLite {lite:,.0f} /s (medians of {rounds}): {pg / lite:.0%}")
    finally:
        for server in servers.values():
            server.stop()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


if __name__ == "__main__":
    main()
