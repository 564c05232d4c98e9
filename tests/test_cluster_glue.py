"""Glue crawlers in a cluster (docs/cluster.md): crawler schedules fire on the one node holding
the lease "glue:schedules"; a node killed with kill -9 while it holds it, and while a crawl runs
on it: another node fires the schedules on, once a minute, and ends the dead node's crawl as a
restart does (FAILED, the crawler READY) within the stated time. Skips without a reachable
PostgreSQL, except in CI (tests/cluster_support.py)."""

from __future__ import annotations

import time

import orjson
import psycopg
from cluster_support import cluster_view, create_database, holders, name, start_nodes, stop_nodes
from conftest import make_client

from overcast.storage.coordination import HEARTBEAT_SECONDS, LEASE_SECONDS

TAKEOVER = LEASE_SECONDS + HEARTBEAT_SECONDS  # a dead node is known dead within this (storage/coordination.py)
ROLE = "arn:aws:iam::000000000000:role/glue"


def test_a_killed_nodes_crawl_is_ended_and_its_schedules_fire_on_another_node(request):
    db_url, drop = create_database("overcast_glue_kill")
    nodes = start_nodes(db_url, 3)
    request.node.funcargs["nodes"] = nodes  # their logs in the report of a failure (conftest.py)
    try:
        deadline = time.monotonic() + TAKEOVER
        while not holders(nodes[0].endpoint, "glue:") and time.monotonic() < deadline:
            time.sleep(0.1)
        leased = holders(nodes[0].endpoint, "glue:")
        assert list(leased) == ["glue:schedules"]  # one node fires every crawler's schedule
        victim_id = leased["glue:schedules"]
        victim = next(n for n in nodes if cluster_view(n.endpoint)["node"] == victim_id)
        survivor = next(n for n in nodes if n is not victim)
        s3, glue = make_client(survivor.endpoint, "s3"), make_client(victim.endpoint, "glue")
        bucket, database = name("glue"), name("db")
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="rows/part.json", Body=b'{"a": 1}\n')
        glue.create_database(DatabaseInput={"Name": database})
        targets = {"S3Targets": [{"Path": f"s3://{bucket}/rows/"}]}
        scheduled, running = name("every-minute"), name("running")
        glue.create_crawler(Name=scheduled, Role=ROLE, DatabaseName=database, Targets=targets,
                            Schedule="cron(* * * * ? *)")
        glue.create_crawler(Name=running, Role=ROLE, DatabaseName=database, Targets=targets)
        # a crawl the victim runs when it dies (its row as StartCrawler leaves it: RUNNING, the
        # victim's; a real crawl of a few objects ends in milliseconds, too short to kill it under)
        with psycopg.connect(db_url, autocommit=True) as conn:
            doc = orjson.loads(conn.execute("SELECT doc FROM glue_crawlers WHERE name = %s", (running,)).fetchone()[0])
            doc.update(State="RUNNING", CrawlElapsedTime=0)
            conn.execute("UPDATE glue_crawlers SET doc = %s, node = %s WHERE name = %s",
                         (orjson.dumps(doc).decode(), victim_id, running))
        victim.stop(kill=True)
        killed, killed_at = time.monotonic(), time.time()
        glue = make_client(survivor.endpoint, "glue")
        ended = None
        while time.monotonic() - killed < TAKEOVER + 10:
            crawler = glue.get_crawler(Name=running)["Crawler"]
            if crawler["State"] == "READY":
                ended = time.monotonic() - killed
                break
            time.sleep(0.1)
        print(f"a killed node's crawl ended by another node {ended:.1f} s after kill -9")
        # the every-minute schedule fires on a survivor: a crawl at the next minute's start
        fired = None
        while time.monotonic() - killed < 60 + TAKEOVER + 15:
            last = glue.get_crawler(Name=scheduled)["Crawler"].get("LastCrawl")
            if last and last["StartTime"].timestamp() > killed_at:  # (not one the victim ran before)
                fired = last
                break
            time.sleep(0.5)
        now_held = holders(survivor.endpoint, "glue:")
    finally:
        stop_nodes(nodes)
        drop()
    assert ended is not None and ended <= TAKEOVER + 1, ended
    assert crawler["LastCrawl"]["Status"] == "FAILED"
    assert crawler["LastCrawl"]["ErrorMessage"] == ("The crawl was interrupted by the loss of the overcast node "
                                                    "running it.")
    assert fired is not None and fired["Status"] == "SUCCEEDED"
    assert now_held["glue:schedules"] != victim_id
