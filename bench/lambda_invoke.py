"""Lambda: warm synchronous invoke latency through boto3, cold start, and Event throughput.

    .venv/bin/python bench/lambda_invoke.py [warm-invokes]
    .venv/bin/python bench/lambda_invoke.py --dwell [events]

Targets: warm invoke p50 through boto3 <= 1.5x the p50 of a trivial boto3 call
(GetAccountSettings) measured in the same run, interleaved so load swings hit both alike
(issue 21); cold start <= 100 ms; 200 concurrent Event invokes complete using both cores.

--dwell: the time an Event invoke waits in the queue, one at a time on a warm sandbox: from just
before the client sends Invoke to the handler's first line (the handler returns its time.time(),
which the OnSuccess destination's record carries back; client and sandbox share the clock).
OVERCAST_DATABASE_URL in the environment runs the server on PostgreSQL.

Cold start is measured two ways: the whole Invoke round trip on a never-invoked function, and
the REPORT line's Init Duration (process start -> runtime client's first /next).
"""

from __future__ import annotations

import io
import json
import statistics
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor

import boto3
import httpx
from botocore.config import Config
from common import Server

HELLO = "def handler(event, context):\n    return {'hello': 'world'}\n"
ROLE = "arn:aws:iam::000000000000:role/bench"


def zipped(source: str, filename: str = "app.py") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(filename, source)
    return buffer.getvalue()


def client(endpoint: str, service: str):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 0}, max_pool_connections=64))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


STAMP = "import time\ndef handler(event, context):\n    return {'started': time.time()}\n"


def dwell(count: int) -> None:
    server = Server()
    try:
        lam = client(server.endpoint, "lambda")
        sqs = client(server.endpoint, "sqs")
        url = sqs.create_queue(QueueName="dwell")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        lam.create_function(FunctionName="stamp", Runtime="python3.11", Role=ROLE, Handler="app.handler",
                            Code={"ZipFile": zipped(STAMP)})
        lam.put_function_event_invoke_config(FunctionName="stamp", DestinationConfig={"OnSuccess": {"Destination": arn}})
        lam.invoke(FunctionName="stamp", Payload=b"{}")  # a warm sandbox
        waits, roots = [], []
        for i in range(count + 5):
            sent = time.time()
            answer = lam.invoke(FunctionName="stamp", InvocationType="Event", Payload=b"{}")
            while True:
                got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5).get("Messages", [])
                if got:
                    break
            sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
            if i >= 5:  # (the first few warm the paths up)
                waits.append((json.loads(got[0]["Body"])["responsePayload"]["started"] - sent) * 1000)
                header = answer["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-trace-id", "")
                roots.append(header.split(";")[0].removeprefix("Root="))
        # the server's own figure: the AsyncInvoke span's dwellMs (event committed -> attempt starts)
        queued = []
        for root in roots:
            spans = httpx.get(f"{server.endpoint}/_overcast/traces/{root}", timeout=10).json().get("spans", [])
            queued += [s["attributes"]["dwellMs"] for s in spans if s["name"] == "Lambda.AsyncInvoke"]
        if queued:
            print(f"in the server, event committed -> attempt starts ({len(queued)}): p50 {percentile(queued, 50):.3f} ms"
                  f"  p90 {percentile(queued, 90):.3f} ms")
        print(f"Event invoke dwell ({count}, one at a time, warm): p50 {percentile(waits, 50):.2f} ms  "
              f"p90 {percentile(waits, 90):.2f} ms  max {max(waits):.2f} ms  (Invoke sent -> handler started)")
    finally:
        server.stop()


def main() -> None:
    if sys.argv[1:2] == ["--dwell"]:
        return dwell(int(sys.argv[2]) if len(sys.argv) > 2 else 200)
    warm_count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    server = Server()
    try:
        lam = client(server.endpoint, "lambda")
        logs = client(server.endpoint, "logs")
        sqs = client(server.endpoint, "sqs")

        # cold starts: a fresh function each time
        cold, init = [], []
        for i in range(10):
            name = f"cold-{i}"
            lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                                Code={"ZipFile": zipped(HELLO + f"# {i}\n")})
            start = time.perf_counter()
            lam.invoke(FunctionName=name, Payload=b"{}")["Payload"].read()
            cold.append((time.perf_counter() - start) * 1000)
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}", filterPattern="REPORT")["events"]
            report = events[0]["message"]
            init.append(float(report.split("Init Duration: ")[1].split(" ms")[0]))

        # warm synchronous invokes
        lam.create_function(FunctionName="warm", Runtime="python3.11", Role=ROLE, Handler="app.handler",
                            Code={"ZipFile": zipped(HELLO)})
        for _ in range(50):
            lam.invoke(FunctionName="warm", Payload=b"{}")["Payload"].read()
        warm, baseline = [], []
        for _ in range(warm_count):  # interleaved: a load swing on a shared machine hits both alike
            start = time.perf_counter()
            # the payload read, as a client does: left unread, urllib3 cannot reuse the connection,
            # and each invoke would open a new one (whose leftovers then slow the trivial call)
            lam.invoke(FunctionName="warm", Payload=b'{"n": 1}')["Payload"].read()
            warm.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            lam.get_account_settings()
            baseline.append((time.perf_counter() - start) * 1000)

        # 200 concurrent Event invokes, completion observed through an OnSuccess SQS destination
        url = sqs.create_queue(QueueName="done")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        lam.create_function(FunctionName="events", Runtime="python3.11", Role=ROLE, Handler="app.handler",
                            Code={"ZipFile": zipped(HELLO)})
        lam.put_function_event_invoke_config(FunctionName="events", DestinationConfig={"OnSuccess": {"Destination": arn}})
        lam.invoke(FunctionName="events", Payload=b"{}")  # one warm sandbox to start from
        count = 200
        cpu_before = _cpu(server.process.pid)
        start = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda i: lam.invoke(FunctionName="events", InvocationType="Event",
                                               Payload=json.dumps({"i": i})), range(count)))
        accepted = time.perf_counter() - start
        received = 0
        while received < count and time.perf_counter() - start < 120:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
            received += len(got)
            if got:
                sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                                for i, m in enumerate(got)])
        elapsed = time.perf_counter() - start
        cpu = _cpu(server.process.pid) - cpu_before

        print(f"cold start, Invoke round trip:  median {statistics.median(cold):.1f} ms (min {min(cold):.1f})  target <= 100 ms")
        print(f"cold start, Init Duration:      median {statistics.median(init):.1f} ms (min {min(init):.1f})")
        floor = percentile(baseline, 50)
        print(f"warm invoke via boto3 ({warm_count}):  p50 {percentile(warm, 50):.2f} ms  p99 {percentile(warm, 99):.2f} ms"
              f"  = {percentile(warm, 50) / floor:.2f}x the floor  target <= 1.5x")
        print(f"floor, a trivial boto3 call (GetAccountSettings): p50 {floor:.2f} ms")
        print(f"{count} Event invokes: accepted in {accepted:.2f} s, all {received} completed in {elapsed:.2f} s "
              f"({received / elapsed:.0f}/s); server CPU {cpu:.2f} s (sandboxes are separate processes)")
    finally:
        server.stop()


def _cpu(pid: int) -> float:
    import os

    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


if __name__ == "__main__":
    main()
