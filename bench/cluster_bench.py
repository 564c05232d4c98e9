"""Cluster mode (docs/cluster.md): aggregate SQS SendMessage throughput of two nodes against one,
over one PostgreSQL database; and how long a killed node's leases take to move.

    apt-get install wrk
    .venv/bin/python bench/cluster_bench.py [seconds] [postgresql://postgres@127.0.0.1:5432/postgres]

Creates a database of its own (dropped at the end). One node: wrk with 8 connections. Two nodes:
two wrk processes of 4 connections each, one per node, at the same time (the sum is the cluster's
figure). Then, three times: kill -9 a node holding leases and time until the other holds
them (the stated bound is LEASE_SECONDS + HEARTBEAT_SECONDS).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request

import psycopg
from common import READY, json_call

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from overcast.storage.coordination import HEARTBEAT_SECONDS, LEASE_SECONDS  # noqa: E402


class Node:
    def __init__(self, database: str):
        self.process = subprocess.Popen([sys.executable, "-m", "overcast", "start", "--port", "0", "--ephemeral"],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        env={**os.environ, "OVERCAST_DATABASE_URL": database})
        for line in self.process.stdout:
            match = READY.search(line)
            if match:
                self.endpoint = match.group(1)
                break
        else:
            raise RuntimeError("overcast did not start")
        # keep draining its output (a full pipe would stall it)
        import threading

        threading.Thread(target=lambda: [None for _ in self.process.stdout], daemon=True).start()

    def view(self) -> dict:
        with urllib.request.urlopen(f"{self.endpoint}/_overcast/cluster", timeout=10) as response:
            return json.load(response)

    def stop(self, kill: bool = False) -> None:
        if self.process.poll() is None:
            (self.process.kill if kill else self.process.terminate)()
            self.process.wait(10)


def wrk(endpoint: str, connections: int, seconds: int, queue_url: str) -> subprocess.Popen:
    return subprocess.Popen(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s",
                             os.path.join(HERE, "sqs_send.lua"), endpoint],
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "QUEUE_URL": queue_url})


def rate(process: subprocess.Popen) -> float:
    out = process.communicate()[0]
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    admin_url = sys.argv[2] if len(sys.argv) > 2 else "postgresql://postgres@127.0.0.1:5432/postgres"
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    name = f"overcast_bench_{secrets.token_hex(4)}"
    admin = psycopg.connect(admin_url, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    info = psycopg.conninfo.conninfo_to_dict(admin_url)
    info["dbname"] = name
    database = psycopg.conninfo.make_conninfo(**info)
    nodes: list[Node] = []
    try:
        nodes.append(Node(database))
        status, body = json_call(nodes[0].endpoint, "sqs", "AmazonSQS.CreateQueue", b'{"QueueName":"bench"}')
        assert status == 200, body
        queue_url = json.loads(body)["QueueUrl"]
        one = rate(wrk(nodes[0].endpoint, 8, seconds, queue_url))
        nodes.append(Node(database))
        time.sleep(2 * HEARTBEAT_SECONDS)
        runs = [wrk(node.endpoint, 4, seconds, queue_url) for node in nodes]
        two = [rate(run) for run in runs]
        print(f"SQS SendMessage on PostgreSQL, 8 connections, {seconds} s: one node {one:,.0f}/s; "
              f"two nodes {sum(two):,.0f}/s ({' + '.join(f'{r:,.0f}' for r in two)}), "
              f"{sum(two) / one:.2f}x one node")
        takeovers = []
        for _ in range(3):
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:  # wait until the leases are held
                view = nodes[0].view()
                alive = {n["id"] for n in view["nodes"] if n["alive"]}
                leases = view["leases"]
                if len(leases) >= 4 and all(lease["holder"] in alive for lease in leases):
                    break  # the leased services' leases, held by live nodes
                time.sleep(0.2)
            holder = leases[0]["holder"]
            victim = next(n for n in nodes if n.view()["node"] == holder)
            survivor = next(n for n in nodes if n is not victim)
            victim.stop(kill=True)
            killed = time.monotonic()
            while any(lease["holder"] == holder for lease in survivor.view()["leases"]):
                time.sleep(0.05)
            takeovers.append(time.monotonic() - killed)
            nodes.remove(victim)
            nodes.append(Node(database))
        print(f"lease takeover after kill -9 of the holder: {', '.join(f'{t:.1f} s' for t in takeovers)} "
              f"(bound: {LEASE_SECONDS + HEARTBEAT_SECONDS:.0f} s = lease {LEASE_SECONDS:.0f} s + heartbeat "
              f"{HEARTBEAT_SECONDS:.0f} s)")
    finally:
        for node in nodes:
            node.stop()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


if __name__ == "__main__":
    main()
