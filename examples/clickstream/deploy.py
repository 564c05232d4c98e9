"""Deploy the clickstream example: page clicks go into Kinesis, Firehose buffers them into S3
(GZIP, one object per minute or 1 MB), and every hour an EventBridge schedule runs a Lambda
function that crawls the new files with a Glue crawler and asks Athena for the top pages.

    python examples/clickstream/deploy.py        # against AWS_ENDPOINT_URL or http://localhost:4566
    python examples/clickstream/deploy.py clicks # then: send 500 simulated clicks
"""

from __future__ import annotations

import io
import json
import os
import random
import sys
import time
import uuid
import zipfile

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
PAGES = ["/", "/pricing", "/docs", "/blog", "/signup"]


def _clients(endpoint: str):
    kw = dict(endpoint_url=endpoint, region_name="us-east-1",
              aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
              aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"))
    return {s: boto3.client(s, **kw) for s in ("kinesis", "firehose", "s3", "glue", "lambda", "events", "sts")}


def deploy(endpoint: str, suffix: str | None = None, buffer_seconds: int = 60) -> dict:
    suffix = suffix or uuid.uuid4().hex[:8]
    c = _clients(endpoint)
    account = c["sts"].get_caller_identity()["Account"]
    role = f"arn:aws:iam::{account}:role/clickstream"
    bucket, stream, database = f"clickstream-{suffix}", f"clicks-{suffix}", f"clickstream_{suffix}"
    c["s3"].create_bucket(Bucket=bucket)
    c["kinesis"].create_stream(StreamName=stream, ShardCount=2)
    c["kinesis"].get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 1})
    stream_arn = c["kinesis"].describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    c["firehose"].create_delivery_stream(
        DeliveryStreamName=f"clicks-to-s3-{suffix}", DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": stream_arn, "RoleARN": role},
        ExtendedS3DestinationConfiguration={
            "RoleARN": role, "BucketARN": f"arn:aws:s3:::{bucket}", "CompressionFormat": "GZIP",
            "Prefix": "clicks/dt=!{timestamp:yyyy-MM-dd}/", "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/",
            "BufferingHints": {"IntervalInSeconds": buffer_seconds, "SizeInMBs": 1}})
    c["glue"].create_database(DatabaseInput={"Name": database})
    crawler = f"clicks-{suffix}"
    c["glue"].create_crawler(Name=crawler, Role=role, DatabaseName=database,
                             Targets={"S3Targets": [{"Path": f"s3://{bucket}/clicks/"}]})
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.write(os.path.join(HERE, "src", "report.py"), "report.py")
    function = c["lambda"].create_function(
        FunctionName=f"clickstream-report-{suffix}", Runtime="python3.11", Handler="report.handler", Role=role,
        Code={"ZipFile": code.getvalue()}, Timeout=120,
        Environment={"Variables": {"DATABASE": database, "CRAWLER": crawler, "BUCKET": bucket}})
    rule = c["events"].put_rule(Name=f"clickstream-hourly-{suffix}", ScheduleExpression="rate(1 hour)")
    c["events"].put_targets(Rule=f"clickstream-hourly-{suffix}",
                            Targets=[{"Id": "report", "Arn": function["FunctionArn"]}])
    return {"bucket": bucket, "stream": stream, "database": database, "crawler": crawler,
            "function": function["FunctionName"], "ruleArn": rule["RuleArn"]}


def send_clicks(endpoint: str, stream: str, count: int = 500, seed: int = 1) -> dict:
    """Simulated visitors clicking through the site; returns the clicks per page."""
    kinesis = _clients(endpoint)["kinesis"]
    rng, per_page, records = random.Random(seed), {}, []
    for _ in range(count):
        visitor, page = f"v{rng.randrange(60)}", rng.choice(PAGES)
        per_page[page] = per_page.get(page, 0) + 1
        click = {"visitor": visitor, "page": page, "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                 "referrer": rng.choice(["google", "direct", "newsletter"])}
        records.append({"Data": (json.dumps(click) + "\n").encode(), "PartitionKey": visitor})
    for start in range(0, len(records), 500):
        kinesis.put_records(StreamName=stream, Records=records[start:start + 500])
    return per_page


if __name__ == "__main__":
    url = os.environ.get("AWS_ENDPOINT_URL", "http://localhost:4566")
    out = deploy(url)
    if sys.argv[1:] == ["clicks"]:
        out["clicks"] = send_clicks(url, out["stream"])
    json.dump(out, sys.stdout, indent=2)
    print()
