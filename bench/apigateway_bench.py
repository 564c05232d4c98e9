"""API Gateway data-plane throughput with wrk (8 connections): a MOCK method and a warm
Lambda-proxy method of a deployed REST API.

    apt-get install wrk
    .venv/bin/python bench/apigateway_bench.py [seconds]

Starts its own overcast (ephemeral data directory), builds the API with boto3, warms the
function, runs wrk against each method and prints requests/s and latency percentiles.
Targets: MOCK >= 8,000 req/s; Lambda proxy >= 1,500 req/s with p50 <= 5 ms.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import zipfile

import boto3
import httpx
from common import Server

HANDLER = """
def handler(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": '{"ok": true}'}
"""


def _zip(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("app.py", text)
    return buffer.getvalue()


def wrk(url: str, seconds: int) -> tuple[float, str, str, str]:
    result = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", url], capture_output=True, text=True)
    out = result.stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, p50, p99, non2xx.group(1) if non2xx else "0"


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    server = Server()
    try:
        kw = dict(endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="test",
                  aws_secret_access_key="test")
        apigw, lam = boto3.client("apigateway", **kw), boto3.client("lambda", **kw)
        fn = lam.create_function(FunctionName="bench", Runtime="python3.12", Handler="app.handler",
                                 Role="arn:aws:iam::000000000000:role/r", Code={"ZipFile": _zip(HANDLER)})
        api = apigw.create_rest_api(name="bench")
        root = api["rootResourceId"]
        mock = apigw.create_resource(restApiId=api["id"], parentId=root, pathPart="mock")["id"]
        apigw.put_method(restApiId=api["id"], resourceId=mock, httpMethod="GET", authorizationType="NONE")
        apigw.put_integration(restApiId=api["id"], resourceId=mock, httpMethod="GET", type="MOCK",
                              requestTemplates={"application/json": '{"statusCode": 200}'})
        apigw.put_method_response(restApiId=api["id"], resourceId=mock, httpMethod="GET", statusCode="200")
        apigw.put_integration_response(restApiId=api["id"], resourceId=mock, httpMethod="GET", statusCode="200",
                                       responseTemplates={"application/json": '{"ok": true}'})
        proxy = apigw.create_resource(restApiId=api["id"], parentId=root, pathPart="fn")["id"]
        apigw.put_method(restApiId=api["id"], resourceId=proxy, httpMethod="GET", authorizationType="NONE")
        apigw.put_integration(restApiId=api["id"], resourceId=proxy, httpMethod="GET", type="AWS_PROXY",
                              integrationHttpMethod="POST",
                              uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{fn['FunctionArn']}/invocations")
        apigw.create_deployment(restApiId=api["id"], stageName="bench")
        base = f"{server.endpoint}/_aws/execute-api/{api['id']}/bench"
        for path in ("/mock", "/fn"):
            for _ in range(50):  # warm: compiled stage
                assert httpx.get(base + path).status_code == 200
        wrk(base + "/fn", 2)  # warm a sandbox per connection, as a warm API has
        rate, p50, p99, bad = wrk(base + "/mock", seconds)
        print(f"MOCK method:         {rate:>9,.0f} req/s  p50 {p50:>8}  p99 {p99:>8}  non-2xx {bad}   target >= 8,000 req/s")
        rate, p50, p99, bad = wrk(base + "/fn", seconds)
        print(f"Lambda proxy (warm): {rate:>9,.0f} req/s  p50 {p50:>8}  p99 {p99:>8}  non-2xx {bad}   "
              "target >= 1,500 req/s, p50 <= 5 ms")
        print(f"server RSS after the runs: {server.rss_mb():.1f} MB")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
