"""examples/clickstream deployed and exercised: clicks through Kinesis, Firehose, S3, the crawler
and Athena, the report run by its EventBridge schedule (fired now through the test clock)."""

from __future__ import annotations

import importlib.util
import json
import os
import time

import httpx

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "clickstream")


def _load():
    spec = importlib.util.spec_from_file_location("example_clickstream", os.path.join(ROOT, "deploy.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_clickstream_example_reports_top_pages(endpoint, client):
    example = _load()
    out = example.deploy(endpoint, buffer_seconds=1)
    per_page = example.send_clicks(endpoint, out["stream"], 300)
    s3 = client("s3")
    deadline = time.time() + 30
    while time.time() < deadline and not s3.list_objects_v2(Bucket=out["bucket"], Prefix="clicks/").get("Contents"):
        time.sleep(0.2)
    time.sleep(1.5)  # both shards' records flushed
    fired = httpx.post(f"{endpoint}/_overcast/events/fire", params={"rule": out["ruleArn"]},
                       headers={"X-Overcast-Request": "1"})
    assert fired.status_code < 300, fired.text
    report = None
    deadline = time.time() + 60
    while time.time() < deadline and report is None:
        try:
            report = json.loads(s3.get_object(Bucket=out["bucket"], Key="report/latest.json")["Body"].read())
        except s3.exceptions.NoSuchKey:
            time.sleep(0.3)
    assert report is not None, "the scheduled report never ran"
    assert {r["page"]: int(r["clicks"]) for r in report} == per_page
    table = client("glue").get_table(DatabaseName=out["database"], Name="clicks")["Table"]
    assert [k["Name"] for k in table["PartitionKeys"]] == ["dt"]
