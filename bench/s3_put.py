"""S3 PUT of 1 KiB objects with wrk (8 connections), beside the bare-ASGI limit measured in the
same run (bench/common.py), and the count stored afterwards.

    apt-get install wrk
    .venv/bin/python bench/s3_put.py [seconds]

Target (issue 14): >= 10,000 PUT/s. bench/s3_bench.py measures the large transfers.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import boto3
from common import Server, against_limit, bare_asgi_rate

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    server = Server()
    try:
        s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test")
        s3.create_bucket(Bucket="bench")
        script = os.path.join(HERE, "s3_put.lua")
        result = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "-s", script, server.endpoint],
                                capture_output=True, text=True, env={**os.environ, "BUCKET": "bench"})
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))
        limit = bare_asgi_rate(seconds, script, {"BUCKET": "bench"})
        stored = sum(len(p.get("Contents", [])) for p in s3.get_paginator("list_objects_v2").paginate(
            Bucket="bench", Prefix="obj/"))
        print(f"1 KiB PUT: {against_limit(rate, limit)} over {seconds} s, 8 connections; {stored:,} objects stored")
        print("target: >= 10,000 /s")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
