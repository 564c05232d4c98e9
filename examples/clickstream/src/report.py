"""The hourly report (a Lambda function on an EventBridge schedule): crawl the clicks Firehose
delivered, then ask Athena for the top pages, and keep the answer in S3 as report/latest.json."""

import json
import os
import time

import boto3

DATABASE = os.environ["DATABASE"]
CRAWLER = os.environ["CRAWLER"]
BUCKET = os.environ["BUCKET"]
WORKGROUP = os.environ.get("WORKGROUP", "primary")
QUERY = """
SELECT page, count(*) AS clicks, approx_distinct(visitor) AS visitors,
       date_trunc('hour', max(from_iso8601_timestamp(ts))) AS last_hour
FROM clicks GROUP BY page ORDER BY clicks DESC, page LIMIT 10
"""


def handler(event, context):
    glue, athena, s3 = boto3.client("glue"), boto3.client("athena"), boto3.client("s3")
    glue.start_crawler(Name=CRAWLER)
    while glue.get_crawler(Name=CRAWLER)["Crawler"]["State"] != "READY":
        time.sleep(0.2)
    qid = athena.start_query_execution(
        QueryString=QUERY, QueryExecutionContext={"Database": DATABASE}, WorkGroup=WORKGROUP,
        ResultConfiguration={"OutputLocation": f"s3://{BUCKET}/athena/"})["QueryExecutionId"]
    while True:
        status = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
        if status["State"] not in ("QUEUED", "RUNNING"):
            break
        time.sleep(0.2)
    if status["State"] != "SUCCEEDED":
        raise RuntimeError(status.get("StateChangeReason", status["State"]))
    rows = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"]
    header = [c["VarCharValue"] for c in rows[0]["Data"]]
    report = [dict(zip(header, (c.get("VarCharValue") for c in r["Data"]), strict=True)) for r in rows[1:]]
    s3.put_object(Bucket=BUCKET, Key="report/latest.json", Body=json.dumps(report).encode())
    return {"queryExecutionId": qid, "rows": len(report)}
