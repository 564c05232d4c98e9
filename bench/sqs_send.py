"""SQS SendMessage throughput with wrk (8 connections, awsJson 1.0), durable writes.

    apt-get install wrk
    .venv/bin/python bench/sqs_send.py [seconds]

Starts its own overcast (ephemeral data directory), creates a queue, runs wrk, then checks that
the queue holds every message wrk saw acknowledged; then the bare-ASGI limit with the same wrk
script. Target (issue 21): >= 40% of the limit.
"""

from __future__ import annotations

import json
import os
import shutil
import sys

from common import Server, Wrk, against_limit, bare_asgi_rate, json_call

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    server = Server()
    try:
        status, body = json_call(server.endpoint, "sqs", "AmazonSQS.CreateQueue", b'{"QueueName":"bench"}')
        assert status == 200, body
        queue_url = json.loads(body)["QueueUrl"]
        run = Wrk(server.process.pid, server.endpoint, seconds, os.path.join(HERE, "sqs_send.lua"),
                  {"QUEUE_URL": queue_url})
        limit = bare_asgi_rate(seconds, os.path.join(HERE, "sqs_send.lua"), {"QUEUE_URL": queue_url})
        print(run.stdout)
        status, body = json_call(
            server.endpoint,
            "sqs",
            "AmazonSQS.GetQueueAttributes",
            json.dumps({"QueueUrl": queue_url, "AttributeNames": ["ApproximateNumberOfMessages"]}).encode(),
        )
        stored = int(json.loads(body)["Attributes"]["ApproximateNumberOfMessages"])
        print(f"SendMessage: {against_limit(run.rate, limit, run.cpu_us)} over {seconds} s, 8 connections; "
              f"{run.requests:,} sent, {stored:,} stored in the queue")
        print(f"server RSS after the run: {server.rss_mb():.1f} MB")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
