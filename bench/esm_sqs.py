"""Event source mapping benchmark: 10,000 SQS messages through an SQS -> Lambda mapping with batch
size 10 (a Python function that counts its records).

    .venv/bin/python bench/esm_sqs.py [messages]

The messages are loaded first; the clock runs from CreateEventSourceMapping until the queue is
empty (every message delivered to the function and deleted).
Target (issue 8): >= 2,000 messages/s through the mapping on 2 cores.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
import zipfile

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import Server, json_call  # noqa: E402
from sns_fanout import cpu_seconds  # noqa: E402

HANDLER = "def handler(event, context):\n    return {'count': len(event['Records'])}\n"


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    server = Server()
    try:
        kw = dict(endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="test",
                  aws_secret_access_key="test")
        lam, sqs = boto3.client("lambda", **kw), boto3.client("sqs", **kw)
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("app.py", HANDLER)
        lam.create_function(FunctionName="counter", Runtime="python3.11", Handler="app.handler",
                            Role="arn:aws:iam::000000000000:role/r", Code={"ZipFile": code.getvalue()})
        lam.invoke(FunctionName="counter", Payload=b'{"Records": []}')  # warm one sandbox
        url = sqs.create_queue(QueueName="work")["QueueUrl"]
        for start in range(0, count, 10):
            entries = [{"Id": str(i), "MessageBody": json.dumps({"n": start + i})} for i in range(min(10, count - start))]
            status, _ = json_call(server.endpoint, "sqs", "AmazonSQS.SendMessageBatch",
                                  json.dumps({"QueueUrl": url, "Entries": entries}).encode())
            assert status == 200
        before_cpu = cpu_seconds(server.process.pid)
        started = time.perf_counter()
        lam.create_event_source_mapping(EventSourceArn="arn:aws:sqs:us-east-1:000000000000:work",
                                        FunctionName="counter", BatchSize=10)
        while True:
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            left = int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])
            if left == 0:
                break
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(server.process.pid) - before_cpu
        print(f"SQS -> Lambda event source mapping, batch size 10, {count:,} messages:")
        print(f"  {count / elapsed:,.0f} messages/s ({elapsed:.2f} s; {count / 10 / elapsed:,.0f} invocations/s)")
        print(f"  server CPU (without the sandboxes): {cpu / count * 1e6:,.0f} us per message")
        print("  target: >= 2,000 messages/s")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
