"""Clickstream benchmark: N click events through Kinesis -> Firehose -> S3 -> Glue crawler ->
Athena GROUP BY, against DuckDB reading the same files directly.

    .venv/bin/python bench/analytics_bench.py [events] [connections]

Prints: PutRecords throughput (500 records per call, over `connections` keep-alive HTTP
connections, default 4), the end-to-end latency (first PutRecords until every record is in S3),
the crawl time, and the Athena query time (cold: files copied into Athena's cache; warm) beside
raw DuckDB over the same objects. Targets (issue 9): >= 20,000 records/s into Kinesis; the
Athena query within 1.5x of raw DuckDB.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import random
import sys
import tempfile
import threading
import time
from urllib.parse import urlparse

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import AUTH, Server  # noqa: E402

PAGES = [f"/page/{i}" for i in range(50)]
COUNTRIES = ["de", "fr", "us", "jp", "br", "in", "gb", "es"]
SQL = ("SELECT page, count(*) AS clicks, approx_distinct(user_id) AS users, avg(ms) AS avg_ms "
       "FROM {table} GROUP BY page ORDER BY clicks DESC LIMIT 10")


def bodies(stream: str, count: int) -> list[bytes]:
    rng = random.Random(7)
    out, start = [], time.time()
    for offset in range(0, count, 500):
        records = []
        for i in range(offset, min(count, offset + 500)):
            event = {"user_id": f"u{rng.randrange(20000)}", "page": rng.choice(PAGES), "ms": rng.randrange(5, 900),
                     "country": rng.choice(COUNTRIES), "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + i / 1000))}
            data = base64.b64encode((json.dumps(event) + "\n").encode()).decode()
            records.append({"Data": data, "PartitionKey": event["user_id"]})
        out.append(json.dumps({"StreamName": stream, "Records": records}).encode())
    return out


def put_all(endpoint: str, calls: list[bytes], connections: int) -> float:
    url = urlparse(endpoint)
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Kinesis_20131202.PutRecords",
               "Authorization": AUTH.format(service="kinesis")}
    errors = []

    def worker(chunk):
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        for body in chunk:
            conn.request("POST", "/", body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            if response.status != 200 or json.loads(data)["FailedRecordCount"]:
                errors.append(data[:200])
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(calls[i::connections],)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} PutRecords calls failed: {errors[0]}")
    return time.perf_counter() - started


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    connections = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    server = Server()
    try:
        kw = dict(endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="test",
                  aws_secret_access_key="test")
        kinesis, firehose, s3, glue, athena = (boto3.client(s, **kw) for s in
                                               ("kinesis", "firehose", "s3", "glue", "athena"))
        s3.create_bucket(Bucket="clicks")
        kinesis.create_stream(StreamName="clicks", ShardCount=4)
        while kinesis.describe_stream_summary(StreamName="clicks")["StreamDescriptionSummary"]["StreamStatus"] != "ACTIVE":
            time.sleep(0.1)
        arn = kinesis.describe_stream_summary(StreamName="clicks")["StreamDescriptionSummary"]["StreamARN"]
        firehose.create_delivery_stream(
            DeliveryStreamName="clicks", DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration={"KinesisStreamARN": arn, "RoleARN": "arn:aws:iam::000000000000:role/r"},
            ExtendedS3DestinationConfiguration={
                "RoleARN": "arn:aws:iam::000000000000:role/r", "BucketARN": "arn:aws:s3:::clicks",
                "Prefix": "raw/", "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 2}})
        calls = bodies("clicks", count)
        started = time.perf_counter()
        put_seconds = put_all(server.endpoint, calls, connections)
        print(f"events: {count:,}   PutRecords calls: {len(calls):,} x 500, {connections} connections")
        print(f"Kinesis PutRecords: {count / put_seconds:,.0f} records/s ({put_seconds:.2f} s)")
        # end to end: until every record is in S3 (count the lines Firehose wrote)
        lines, deadline = 0, time.time() + 600
        while lines < count and time.time() < deadline:
            objects = s3.list_objects_v2(Bucket="clicks", Prefix="raw/").get("Contents", [])
            sizes = sum(o["Size"] for o in objects)
            if sizes:
                lines = sum(s3.get_object(Bucket="clicks", Key=o["Key"])["Body"].read().count(b"\n")
                            for o in objects) if sizes > count * 60 else 0
            if lines < count:
                time.sleep(0.5)
        end_to_end = time.perf_counter() - started
        print(f"end to end (first PutRecords -> all {lines:,} records in S3): {end_to_end:.2f} s "
              f"({len(objects)} objects; {end_to_end - put_seconds:.2f} s after the last PutRecords)")
        glue.create_database(DatabaseInput={"Name": "analytics"})
        glue.create_crawler(Name="clicks", Role="arn:aws:iam::000000000000:role/r", DatabaseName="analytics",
                            Targets={"S3Targets": [{"Path": "s3://clicks/raw/"}]})
        t0 = time.perf_counter()
        glue.start_crawler(Name="clicks")
        while "LastCrawl" not in glue.get_crawler(Name="clicks")["Crawler"]:
            time.sleep(0.05)
        print(f"crawler: {time.perf_counter() - t0:.2f} s")
        for label in ("cold", "warm", "warm"):
            t0 = time.perf_counter()
            qid = athena.start_query_execution(QueryString=SQL.format(table="raw"),
                                               QueryExecutionContext={"Database": "analytics"},
                                               ResultConfiguration={"OutputLocation": "s3://clicks/results/"})["QueryExecutionId"]
            while True:
                execution = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
                if execution["Status"]["State"] not in ("QUEUED", "RUNNING"):
                    break
                time.sleep(0.01)
            wall = time.perf_counter() - t0
            assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
            stats = execution["Statistics"]
            print(f"Athena query ({label}): {wall * 1000:.0f} ms wall, engine {stats['EngineExecutionTimeInMillis']} ms,"
                  f" scanned {stats['DataScannedInBytes'] / 1e6:.1f} MB")
        import duckdb

        with tempfile.TemporaryDirectory() as folder:
            paths = []
            for o in objects:
                path = os.path.join(folder, o["Key"].replace("/", "_"))
                with open(path, "wb") as f:
                    f.write(s3.get_object(Bucket="clicks", Key=o["Key"])["Body"].read())
                paths.append(path)
            typed = ("{'user_id': 'VARCHAR', 'page': 'VARCHAR', 'ms': 'BIGINT', 'country': 'VARCHAR', "
                     "'ts': 'VARCHAR'}")
            for label, source in (("raw DuckDB, schema detected", f"read_json({paths!r}, format='auto')"),
                                  ("raw DuckDB, columns given", f"read_json({paths!r}, columns={typed})")):
                raw_sql = SQL.replace("approx_distinct", "approx_count_distinct").format(table=source)
                for _ in range(2):
                    t0 = time.perf_counter()
                    duckdb.connect().execute(raw_sql).fetchall()
                    print(f"{label} over the same files: {(time.perf_counter() - t0) * 1000:.0f} ms")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
