"""DynamoDB benchmarks: GetItem, durable PutItem and Query (100 items) throughput with wrk
(8 connections), each beside the bare-ASGI limit measured in the same run with the same wrk
script; and Query latency on a 1,000,000-item table and its GSI compared with a 1,000-item table.

    apt-get install wrk
    .venv/bin/python bench/dynamodb_bench.py [seconds] [items]

Starts its own overcast on a temporary data directory. The big table is loaded through the
DynamoDB store directly while the server is stopped (loading a million items over HTTP would
measure the loader, not the query), then the server is restarted on the same data.
Targets (issue 21): GetItem >= 50% of the limit, PutItem >= 35%, Query of 100 items >= 20%;
(issue 4) query time that does not grow with the table.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from urllib.parse import urlparse

from common import AUTH, Server, Wrk, against_limit, bare_asgi_rate, json_call

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def ddb(endpoint: str, op: str, body: dict):
    status, data = json_call(endpoint, "dynamodb", f"DynamoDB_20120810.{op}", json.dumps(body).encode())
    assert status == 200, data
    return json.loads(data)


def create(endpoint: str, name: str) -> None:
    ddb(endpoint, "CreateTable", {
        "TableName": name, "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": t}
                                 for a, t in (("pk", "S"), ("sk", "N"), ("g", "S"), ("gs", "N"))],
        "GlobalSecondaryIndexes": [{"IndexName": "by-g", "Projection": {"ProjectionType": "ALL"},
                                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"},
                                                  {"AttributeName": "gs", "KeyType": "RANGE"}]}],
    })


def wrk(server: Server, seconds: int, env: dict) -> Wrk:
    return Wrk(server.process.pid, server.endpoint, seconds, LUA, env)


LUA = os.path.join(HERE, "dynamodb.lua")


def load(data_dir: str, table: str, count: int, partitions: int) -> None:
    """Bulk-load `count` items through the store: `partitions` partitions, GSI rows included."""
    import orjson

    from overcast.services.dynamodb.store import DynamoDbStore
    from overcast.services.dynamodb.tables import Table
    from overcast.services.dynamodb.values import dump_item, hash_of, key_bytes
    from overcast.storage import SqliteDatabase

    db = SqliteDatabase(os.path.join(data_dir, "overcast.db"))
    store = DynamoDbStore(db)
    row = store.get_table("000000000000", "us-east-1", table)
    meta = Table(row[0], orjson.loads(row[1]), "000000000000", "us-east-1")
    per = count // partitions
    batch, index_batch = [], []
    for p in range(partitions):
        for i in range(per):
            item = {"pk": {"S": f"part-{p}"}, "sk": {"N": str(i)}, "g": {"S": f"grp-{p % 100}"},
                    "gs": {"N": str(p * per + i)}, "payload": {"S": "x" * 100}}
            pk, sk = key_bytes(item["pk"]), key_bytes(item["sk"])
            blob = dump_item(item)
            batch.append((meta.id, hash_of(pk), pk, sk, blob, None))
            ipk = key_bytes(item["g"])
            index_batch.append((meta.id, "by-g", hash_of(ipk), ipk, key_bytes(item["gs"]), pk, sk, blob))
            if len(batch) >= 50_000:
                with db.transaction():
                    store.put_items(batch)
                    store.put_index_items(index_batch)
                batch, index_batch = [], []
    if batch:
        with db.transaction():
            store.put_items(batch)
            store.put_index_items(index_batch)
    db.close()


def time_queries(endpoint: str, bodies: list[dict], rounds: int = 200) -> float:
    """Median milliseconds per Query over one keep-alive connection."""
    url = urlparse(endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.Query",
               "Authorization": AUTH.format(service="dynamodb")}
    samples = []
    for n in range(rounds):
        body = json.dumps(bodies[n % len(bodies)]).encode()
        started = time.perf_counter()
        conn.request("POST", "/", body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status == 200, data
        assert json.loads(data)["Count"] == 100, data[:300]
    conn.close()
    return statistics.median(samples)


def query_bodies(table: str, partitions: int, per: int) -> tuple[list, list]:
    table_q, index_q = [], []
    for p in range(0, partitions, max(1, partitions // 50)):
        start = (per // 2) % max(1, per - 100)
        table_q.append({"TableName": table, "KeyConditionExpression": "pk = :p AND sk >= :s", "Limit": 100,
                        "ExpressionAttributeValues": {":p": {"S": f"part-{p}"}, ":s": {"N": str(start)}}})
        index_q.append({"TableName": table, "IndexName": "by-g", "KeyConditionExpression": "g = :g AND gs >= :s",
                        "Limit": 100, "ExpressionAttributeValues": {":g": {"S": f"grp-{p % 100}"},
                                                                    ":s": {"N": str(p * per)}}})
    return table_q, index_q


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    big = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    if big < 100_000:  # 1,000 partitions, and each Query must find 100 items in its partition
        sys.exit("items must be at least 100,000 (1,000 partitions of at least 100 items)")
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    data_dir = tempfile.mkdtemp(prefix="overcast-ddb-bench-")
    try:
        server = Server(data_dir=data_dir)
        try:
            endpoint = server.endpoint
            create(endpoint, "bench")
            for start in range(0, 1000, 25):
                ddb(endpoint, "BatchWriteItem", {"RequestItems": {"bench": [
                    {"PutRequest": {"Item": {"pk": {"S": f"user-{i}"}, "sk": {"N": "1"}, "name": {"S": "n"}}}}
                    for i in range(start, start + 25)]}})
            create(endpoint, "plain")
            create(endpoint, "query")  # 10 partitions of 100 items: each Query answers 100 items
            for p in range(10):
                for start in range(0, 100, 25):
                    ddb(endpoint, "BatchWriteItem", {"RequestItems": {"query": [
                        {"PutRequest": {"Item": {"pk": {"S": f"part-{p}"}, "sk": {"N": str(i)},
                                                 "name": {"S": "a short order event"}, "total": {"N": "42.5"}}}}
                        for i in range(start, start + 25)]}})
            get = {"OP": "GetItem", "TABLE": "bench", "KEYS": "1000"}
            run = wrk(server, seconds, get)
            limit = bare_asgi_rate(seconds, LUA, get)
            print(f"GetItem:  {against_limit(run.rate, limit, run.cpu_us)} over {seconds} s, 8 connections "
                  f"(errors: {run.errors})")
            put = {"OP": "PutItem", "TABLE": "plain"}
            run = wrk(server, seconds, put)
            limit = bare_asgi_rate(seconds, LUA, put)
            count = ddb(endpoint, "Scan", {"TableName": "plain", "Select": "COUNT"})
            stored = count["Count"]
            while "LastEvaluatedKey" in count:
                count = ddb(endpoint, "Scan", {"TableName": "plain", "Select": "COUNT",
                                               "ExclusiveStartKey": count["LastEvaluatedKey"]})
                stored += count["Count"]
            print(f"PutItem:  {against_limit(run.rate, limit, run.cpu_us)} over {seconds} s, 8 connections, durable "
                  f"(errors: {run.errors}; "
                  f"{stored:,} items stored)")
            run = wrk(server, seconds, {"OP": "PutItem", "TABLE": "bench"})
            print(f"PutItem on a table with a GSI: {against_limit(run.rate, limit, run.cpu_us)} (errors: {run.errors})")
            query = {"OP": "Query", "TABLE": "query", "KEYS": "10"}
            run = wrk(server, seconds, query)
            limit = bare_asgi_rate(seconds, LUA, query)
            print(f"Query, 100 items: {against_limit(run.rate, limit, run.cpu_us)} over {seconds} s, 8 connections "
                  f"(errors: {run.errors})")
            create(endpoint, "small")
            create(endpoint, "big")
        finally:
            server.stop()
        started = time.perf_counter()
        load(data_dir, "small", 1_000, 10)
        load(data_dir, "big", big, 1_000)
        print(f"loaded {big:,} + 1,000 items (with GSI rows) through the store in {time.perf_counter() - started:.1f} s")
        server = Server(data_dir=data_dir)
        try:
            small_t, small_i = query_bodies("small", 10, 100)
            big_t, big_i = query_bodies("big", 1_000, big // 1_000)
            time_queries(server.endpoint, small_t, 20)
            print(f"Query 100 items, 1,000-item table:        {time_queries(server.endpoint, small_t):.2f} ms median")
            print(f"Query 100 items, {big:,}-item table:    {time_queries(server.endpoint, big_t):.2f} ms median")
            print(f"Query 100 items on GSI, 1,000-item table: {time_queries(server.endpoint, small_i):.2f} ms median")
            print(f"Query 100 items on GSI, {big:,}-item table: {time_queries(server.endpoint, big_i):.2f} ms median")
            print(f"server RSS: {server.rss_mb():.1f} MB")
        finally:
            server.stop()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
