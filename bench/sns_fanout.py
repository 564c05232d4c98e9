"""SNS benchmark: Publish to a topic with 10 SQS subscriptions, with wrk (8 connections).

    .venv/bin/python bench/sns_fanout.py [seconds]

Every publish commits its 10 SQS messages (signed envelopes) before it is answered; the script
checks afterwards that each queue holds one message per accepted publish.
Target (issue 8): >= 3,000 publishes/s with 10-way fan-out on 2 cores.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import Server, against_limit, bare_asgi_rate  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    server = Server()
    try:
        kw = dict(endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="test",
                  aws_secret_access_key="test")
        sns, sqs = boto3.client("sns", **kw), boto3.client("sqs", **kw)
        topic = sns.create_topic(Name="bench")["TopicArn"]
        queues = []
        for i in range(10):
            url = sqs.create_queue(QueueName=f"fan-{i}")["QueueUrl"]
            queues.append(url)
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=f"arn:aws:sqs:us-east-1:000000000000:fan-{i}")
        sns.publish(TopicArn=topic, Message="warm up")
        cpu_before = cpu_seconds(server.process.pid)
        result = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", "-s",
                                 os.path.join(HERE, "sns_publish.lua"), server.endpoint],
                                capture_output=True, text=True, env={**os.environ, "TOPIC_ARN": topic})
        cpu = cpu_seconds(server.process.pid) - cpu_before
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))
        total = int(re.search(r"(\d+) requests in", result.stdout).group(1))
        errors = re.search(r"non-2xx or socket errors: (\d+)", result.stdout).group(1)
        p50 = re.search(r"^\s+50%\s+(\S+)", result.stdout, re.M).group(1)
        p99 = re.search(r"^\s+99%\s+(\S+)", result.stdout, re.M).group(1)
        counts = [int(sqs.get_queue_attributes(QueueUrl=u, AttributeNames=["ApproximateNumberOfMessages"])
                      ["Attributes"]["ApproximateNumberOfMessages"]) for u in queues]
        limit = bare_asgi_rate(seconds, os.path.join(HERE, "sns_publish.lua"), {"TOPIC_ARN": topic})
        print(f"SNS Publish, 10 SQS subscriptions, wrk 8 connections, {seconds}s:")
        print(f"  {against_limit(rate, limit)}: {rate * 10:,.0f} SQS deliveries/s, p50 {p50}, p99 {p99}, errors {errors}")
        print(f"  messages per queue: min {min(counts)}, max {max(counts)} (publishes answered: {total + 1})")
        print(f"  server CPU: {cpu / (total or 1) * 1e6:,.0f} us per publish ({cpu:.1f} s over {seconds} s; the rest of "
              f"the 2 cores runs wrk and whatever else the machine does)")
        print("  target: >= 3,000 publishes/s")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
