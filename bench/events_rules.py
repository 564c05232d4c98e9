"""EventBridge benchmark: PutEvents (10 entries per request, wrk with 8 connections) against a bus
with 100 rules; every event is matched against all 100 patterns and delivered (durably) to the
SQS target of the one rule it matches.

    .venv/bin/python bench/events_rules.py [seconds]

Target (issue 8): >= 5,000 events/s matched against 100 rules on 2 cores.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import Server  # noqa: E402
from sns_fanout import cpu_seconds  # noqa: E402


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    server = Server()
    try:
        kw = dict(endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="test",
                  aws_secret_access_key="test")
        events, sqs = boto3.client("events", **kw), boto3.client("sqs", **kw)
        events.create_event_bus(Name="bench")
        url = sqs.create_queue(QueueName="matched")["QueueUrl"]
        for i in range(99):  # patterns of the usual shapes that the benchmark's events do not match
            pattern = {"source": [f"app.service{i}"], "detail-type": ["OrderPlaced"]} if i % 3 == 0 else \
                {"source": ["app.orders"], "detail": {"order": {"state": [f"state-{i}"]}}} if i % 3 == 1 else \
                {"source": [{"prefix": f"svc{i}."}], "detail": {"order": {"total": [{"numeric": [">", 1000 + i]}]}}}
            events.put_rule(Name=f"r{i}", EventBusName="bench", EventPattern=json.dumps(pattern))
            events.put_targets(Rule=f"r{i}", EventBusName="bench",
                               Targets=[{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:000000000000:matched"}])
        events.put_rule(Name="hit", EventBusName="bench", EventPattern=json.dumps(
            {"source": ["app.orders"], "detail": {"order": {"state": ["placed"], "total": [{"numeric": [">", 10]}]}}}))
        events.put_targets(Rule="hit", EventBusName="bench",
                           Targets=[{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:000000000000:matched"}])
        before = cpu_seconds(server.process.pid)
        result = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", "-s",
                                 os.path.join(HERE, "events_put.lua"), server.endpoint],
                                capture_output=True, text=True, env={**os.environ, "BUS": "bench"})
        cpu = cpu_seconds(server.process.pid) - before
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))
        total = int(re.search(r"(\d+) requests in", result.stdout).group(1))
        errors = re.search(r"non-2xx or socket errors: (\d+)", result.stdout).group(1)
        p50 = re.search(r"^\s+50%\s+(\S+)", result.stdout, re.M).group(1)
        delivered = int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
                        ["Attributes"]["ApproximateNumberOfMessages"])
        print(f"EventBridge PutEvents (10 entries/request) against 100 rules, wrk 8 connections, {seconds}s:")
        print(f"  {rate * 10:,.0f} events/s ({rate:,.0f} requests/s), p50 {p50}, errors {errors}")
        print(f"  delivered to the matching rule's queue: {delivered} (events accepted: {total * 10})")
        print(f"  server CPU: {cpu / (total * 10 or 1) * 1e6:,.0f} us per event ({cpu:.1f} s over {seconds} s)")
        print("  target: >= 5,000 events/s")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
