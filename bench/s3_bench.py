"""S3 throughput and memory: large objects streamed through boto3 and the AWS CLI, 1 KiB PUTs
with wrk, and LIST latency.

    .venv/bin/python bench/s3_bench.py [--large-mib 1024] [--small-seconds 5]

Starts its own overcast (ephemeral data directory, on the same disk as the test files) and prints:
- PUT and GET of a 1 MiB object (boto3, per request) and of a large object (boto3 upload_file /
  download_file, `aws s3 cp` both ways), next to a plain file copy of the same file on the same
  disk (target: within 2x), with the server's peak RSS sampled during each large transfer
  (target: flat, i.e. not growing with the object);
- 1 KiB PUTs per second (wrk, 8 connections) and the number stored;
- LIST latency: one 1000-key page, and paging through every key.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from common import AUTH, Server

HERE = os.path.dirname(os.path.abspath(__file__))
MiB = 1024 * 1024


class RssSampler:
    """Samples the server's RSS every 20 ms while a transfer runs."""

    def __init__(self, server: Server):
        self.server = server
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.samples.append(self.server.rss_mb())
            self._stop.wait(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def peak(self) -> float:
        return max(self.samples) if self.samples else float("nan")


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def cli(endpoint: str, *args: str) -> None:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_PAGER": ""}
    aws = os.path.join(os.path.dirname(sys.executable), "aws")
    subprocess.run([aws, "--endpoint-url", endpoint, "--only-show-errors", *args], check=True, env=env)


def _plain_copy(source: str, target: str) -> None:
    with open(source, "rb") as src, open(target, "wb") as dst:
        while True:
            block = src.read(MiB)
            if not block:
                break
            dst.write(block)


def _raw_get(endpoint: str, path: str) -> bytes:
    import http.client
    from urllib.parse import urlparse

    url = urlparse(endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.request("GET", path, headers={"Authorization": AUTH.format(service="s3")})
    data = conn.getresponse().read()
    conn.close()
    return data


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--large-mib", type=int, default=1024)
    parser.add_argument("--small-seconds", type=int, default=5)
    parser.add_argument("--list-keys", type=int, default=10_000)
    parser.add_argument("--dir", default=None, help="where the data directory and test files go (default: $TMPDIR)")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="s3bench-", dir=args.dir)
    server = Server(data_dir=os.path.join(work, "data"))
    try:
        s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test", config=Config(retries={"max_attempts": 0}))
        s3.create_bucket(Bucket="bench")
        print(f"server RSS idle: {server.rss_mb():.1f} MB")

        # -- 1 MiB objects, per request ------------------------------------------------------
        small = os.urandom(MiB)
        puts = [timed(lambda i=i: s3.put_object(Bucket="bench", Key=f"mib/{i}", Body=small)) for i in range(50)]
        gets = [timed(lambda i=i: s3.get_object(Bucket="bench", Key=f"mib/{i}")["Body"].read()) for i in range(50)]
        print(f"1 MiB PUT (boto3): median {statistics.median(puts) * 1000:.1f} ms; "
              f"GET: median {statistics.median(gets) * 1000:.1f} ms")
        mib_file = os.path.join(work, "one.bin")
        with open(mib_file, "wb") as f:
            f.write(small)
        t_up = timed(lambda: cli(server.endpoint, "s3", "cp", mib_file, "s3://bench/cli-one.bin"))
        t_down = timed(lambda: cli(server.endpoint, "s3", "cp", "s3://bench/cli-one.bin", mib_file + ".back"))
        print(f"1 MiB aws s3 cp: up {t_up * 1000:.0f} ms, down {t_down * 1000:.0f} ms (includes CLI start-up)")

        # -- a large object ------------------------------------------------------------------
        size = args.large_mib * MiB
        big = os.path.join(work, "big.bin")
        with open(big, "wb") as f:
            block = os.urandom(8 * MiB)
            for _ in range(size // len(block)):
                f.write(block)
        os.sync()  # every measure below starts with no dirty pages waiting to be written back
        fast_copy = timed(lambda: shutil.copyfile(big, big + ".copy"))  # copy_file_range: may not move data
        os.unlink(big + ".copy")
        os.sync()
        copy_time = timed(lambda: _plain_copy(big, big + ".copy"))
        os.unlink(big + ".copy")
        os.sync()
        print(f"\n{args.large_mib} MiB object; plain file copy on the same disk (read + write, 1 MiB buffers, "
              f"as cp without copy offload): {copy_time:.2f} s ({size / MiB / copy_time:,.0f} MiB/s); "
              f"shutil.copyfile (copy_file_range): {fast_copy:.2f} s")
        transfer = TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB, max_concurrency=4)
        single = TransferConfig(multipart_threshold=size * 2)
        cases = [
            ("boto3 upload_file (multipart, 8 MiB parts)", lambda: s3.upload_file(big, "bench", "big-mp", Config=transfer)),
            ("boto3 download_file (ranged GETs)", lambda: s3.download_file("bench", "big-mp", big + ".d1", Config=transfer)),
            ("boto3 upload_file (one PUT)", lambda: s3.upload_file(big, "bench", "big-one", Config=single)),
            ("boto3 download_file (one GET)", lambda: s3.download_file("bench", "big-one", big + ".d2", Config=single)),
            ("aws s3 cp up", lambda: cli(server.endpoint, "s3", "cp", big, "s3://bench/big-cli")),
            ("aws s3 cp down", lambda: cli(server.endpoint, "s3", "cp", "s3://bench/big-cli", big + ".d3")),
        ]
        if shutil.which("curl"):  # a client that is not itself the bottleneck: the server's own pace
            headers = ["-H", "Authorization: " + AUTH.format(service="s3")]
            cases += [
                ("curl -T (one PUT)", lambda: subprocess.run(
                    ["curl", "-sf", "-T", big, f"{server.endpoint}/bench/big-curl", "-o", os.devnull, *headers],
                    check=True)),
                ("curl GET to a file", lambda: subprocess.run(
                    ["curl", "-sf", f"{server.endpoint}/bench/big-curl", "-o", big + ".d4", *headers], check=True)),
            ]
        for name, fn in cases:
            os.sync()
            with RssSampler(server) as rss:
                seconds = timed(fn)
            print(f"  {name:45s} {seconds:6.2f} s  {size / MiB / seconds:7,.0f} MiB/s  "
                  f"{seconds / copy_time:4.1f}x copy   server peak RSS {rss.peak:.0f} MB")
        for suffix in (".d1", ".d2", ".d3", ".d4"):
            if os.path.exists(big + suffix):
                os.unlink(big + suffix)

        # -- 1 KiB PUTs with wrk -------------------------------------------------------------
        if shutil.which("wrk"):
            result = subprocess.run(
                ["wrk", "-t2", "-c8", f"-d{args.small_seconds}s", "-s", os.path.join(HERE, "s3_put.lua"),
                 server.endpoint], capture_output=True, text=True, env={**os.environ, "BUCKET": "bench"})
            rate = float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))
            count = sum(len(p.get("Contents", [])) for p in s3.get_paginator("list_objects_v2").paginate(
                Bucket="bench", Prefix="obj/"))
            print(f"\n1 KiB PUT (wrk, 8 connections, {args.small_seconds} s): {rate:,.0f} /s; {count:,} objects stored")
        else:
            print("\nwrk is not installed (apt-get install wrk): skipping 1 KiB PUT throughput")
            count = 0
        # -- LIST latency --------------------------------------------------------------------
        if count < args.list_keys:
            body = b"x" * 1024
            for i in range(args.list_keys - count):
                s3.put_object(Bucket="bench", Key=f"obj/fill-{i:06d}", Body=body)
            count = args.list_keys
        pages = [timed(lambda: s3.list_objects_v2(Bucket="bench", Prefix="obj/", MaxKeys=1000)) for _ in range(20)]
        raw_pages = [timed(lambda: _raw_get(server.endpoint, "/bench?list-type=2&prefix=obj/&max-keys=1000"))
                     for _ in range(20)]
        full = timed(lambda: [p for p in s3.get_paginator("list_objects_v2").paginate(Bucket="bench", Prefix="obj/")])
        delim = [timed(lambda: s3.list_objects_v2(Bucket="bench", Delimiter="/")) for _ in range(20)]
        print(f"LIST over {count:,} objects: 1000-key page median {statistics.median(raw_pages) * 1000:.1f} ms "
              f"(raw HTTP), {statistics.median(pages) * 1000:.1f} ms (boto3, its XML parsing included); all pages "
              f"{full * 1000:.0f} ms (boto3); delimiter '/' at the root "
              f"{statistics.median(delim) * 1000:.1f} ms")
        print(f"server RSS at the end: {server.rss_mb():.1f} MB")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
