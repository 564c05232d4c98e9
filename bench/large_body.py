"""Huge request bodies against small ones: 100 MB SQS bodies keep arriving while small
SendMessage requests are timed on another connection.

    .venv/bin/python bench/large_body.py [seconds]

Prints how long each 100 MB body took to be refused, and the p50/p99 latency of small
SendMessage requests idle and during the flood. Target (issue 13): refused in under 1 s, p50
under 2x idle.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys

from common import Server, json_call

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from limits_support import flood_with_huge_bodies, small_send_latencies  # noqa: E402


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def main() -> None:
    count = int(sys.argv[1]) * 200 if len(sys.argv) > 1 else 1000
    server = Server()
    try:
        status, body = json_call(server.endpoint, "sqs", "AmazonSQS.CreateQueue", b'{"QueueName":"bench"}')
        queue_url = json.loads(body)["QueueUrl"]
        small_send_latencies(server.endpoint, queue_url, 100)
        idle = small_send_latencies(server.endpoint, queue_url, count)
        context = multiprocessing.get_context("spawn")
        started, stop, results = context.Event(), context.Event(), context.Queue()
        flooder = context.Process(target=flood_with_huge_bodies, args=(server.endpoint, started, stop, results))
        flooder.start()
        started.wait(30)
        busy = small_send_latencies(server.endpoint, queue_url, count)
        stop.set()
        refusals = results.get(timeout=60)
        flooder.join(10)
        statuses = sorted({status for status, _ in refusals})
        times = [elapsed for _, elapsed in refusals]
        print(f"100 MB bodies: {len(refusals)} sent, answered {statuses}, refused in "
              f"p50 {percentile(times, 0.5) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms")
        for name, values in (("idle", idle), ("during the flood", busy)):
            print(f"small SendMessage {name}: p50 {percentile(values, 0.5) * 1000:.2f} ms, "
                  f"p99 {percentile(values, 0.99) * 1000:.2f} ms ({len(values)} requests)")
        print(f"p50 during / idle: {percentile(busy, 0.5) / percentile(idle, 0.5):.2f}x")
        print(f"server RSS after the run: {server.rss_mb():.1f} MB")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
