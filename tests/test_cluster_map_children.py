"""Distributed Map children in a cluster (docs/cluster.md): queued in the database and taken by
whichever node has room (FOR UPDATE SKIP LOCKED), their results back to the parent's node; a
stopped parent aborts its children on every node; the children of a node killed with kill -9 run
again on the others and the map completes. Three nodes, each running at most two children at once
(OVERCAST_SFN_MAP_CHILD_CONCURRENCY=2), so that a map of six children needs all three. Skips
without a reachable PostgreSQL, except in CI (tests/cluster_support.py)."""

from __future__ import annotations

import json
import time
import uuid

import psycopg
import pytest
from cluster_support import create_database, start_nodes, stop_nodes
from sfn_support import create, sfn_client, wait_done

PER_NODE = {"OVERCAST_SFN_MAP_CHILD_CONCURRENCY": "2"}
ITEMS = [{"n": i} for i in range(6)]


@pytest.fixture(scope="module")
def cluster():
    url, drop = create_database("overcast_sfn_map")
    nodes = start_nodes(url, 3, PER_NODE)
    yield url, nodes
    stop_nodes(nodes)
    drop()


def map_machine(sfn, wait_seconds: int) -> str:
    """A Distributed Map of STANDARD children, each waiting `wait_seconds` and answering its item."""
    return create(sfn, f"dmap-{uuid.uuid4().hex[:10]}", {"StartAt": "Map", "States": {"Map": {
        "Type": "Map", "End": True,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "Work", "States": {
                              "Work": {"Type": "Wait", "Seconds": wait_seconds, "Next": "Answer"},
                              "Answer": {"Type": "Pass", "Parameters": {"twice.$": "States.MathAdd($.n, $.n)"},
                                         "End": True}}}}}})


def map_run_of(sfn, execution: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = sfn.list_map_runs(executionArn=execution)["mapRuns"]
        if runs:
            return runs[0]["mapRunArn"]
        time.sleep(0.05)
    raise AssertionError("no map run started")


def children(sfn, map_run: str, status: str | None = None) -> list[dict]:
    return sfn.list_executions(mapRunArn=map_run, **({"statusFilter": status} if status else {}))["executions"]


def wait_children(sfn, map_run: str, status: str, count: int, timeout: float = 15) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        found = children(sfn, map_run, status)
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(found)} children {status}, not {count}: {children(sfn, map_run)}")
        time.sleep(0.05)


def nodes_running(url: str, map_run: str) -> dict[str, str]:
    """Which node each child execution ran on (sfn_executions.node)."""
    with psycopg.connect(url) as conn:
        return dict(conn.execute("SELECT arn, node FROM sfn_executions WHERE parent = %s", (map_run,)).fetchall())


def test_children_spread_over_the_nodes_with_room_and_answer_the_parent(cluster):
    url, nodes = cluster
    a = sfn_client(nodes[0].endpoint)
    machine = map_machine(a, 2)
    started = time.monotonic()
    execution = a.start_execution(stateMachineArn=machine, input=json.dumps(ITEMS))["executionArn"]
    done = wait_done(sfn_client(nodes[1].endpoint), execution, timeout=30)
    elapsed = time.monotonic() - started
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == [{"twice": 2 * item["n"]} for item in ITEMS]  # in the items' order
    map_run = map_run_of(a, execution)
    ran_on = nodes_running(url, map_run)
    assert len(ran_on) == len(ITEMS)
    assert len(set(ran_on.values())) == 3, ran_on  # two per node: every node took its share
    assert {c["status"] for c in children(a, map_run)} == {"SUCCEEDED"}
    described = a.describe_map_run(mapRunArn=map_run)
    assert described["status"] == "SUCCEEDED" and described["executionCounts"]["succeeded"] == len(ITEMS)
    print(f"\n6 children of 2 s, two per node on three nodes: the map took {elapsed:.1f} s (one node: 6 s)")


def test_stopping_the_parent_on_another_node_aborts_its_children_on_every_node(cluster):
    url, nodes = cluster
    a, b = sfn_client(nodes[0].endpoint), sfn_client(nodes[1].endpoint)
    machine = map_machine(a, 60)
    execution = a.start_execution(stateMachineArn=machine, input=json.dumps(ITEMS))["executionArn"]
    map_run = map_run_of(a, execution)
    wait_children(a, map_run, "RUNNING", len(ITEMS))
    assert len(set(nodes_running(url, map_run).values())) == 3
    stopped = time.monotonic()
    b.stop_execution(executionArn=execution, error="Enough", cause="stopped on node B")
    aborted = wait_children(b, map_run, "ABORTED", len(ITEMS), timeout=10)
    print(f"\nStopExecution on node B: the 6 children on three nodes ABORTED after "
          f"{time.monotonic() - stopped:.2f} s")
    assert len(aborted) == len(ITEMS)
    assert wait_done(b, execution)["status"] == "ABORTED"
    deadline = time.monotonic() + 10
    while a.describe_map_run(mapRunArn=map_run)["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert a.describe_map_run(mapRunArn=map_run)["status"] == "ABORTED"
    with psycopg.connect(url) as conn:  # nothing of the map run is left queued
        assert conn.execute("SELECT count(*) FROM sfn_map_children WHERE map_run = %s", (map_run,)).fetchone()[0] == 0


def test_children_of_a_node_killed_with_kill_9_run_again_on_the_others():
    """The parent on node A; node B, running two of its children, is killed: once B is known dead
    its children are queued again, taken by A or C, and the map completes with every result; the
    child executions B had started end ABORTED."""
    from overcast.storage.coordination import HEARTBEAT_SECONDS, LEASE_SECONDS

    url, drop = create_database("overcast_sfn_map_kill")
    nodes = start_nodes(url, 3, PER_NODE)
    try:
        a = sfn_client(nodes[0].endpoint)
        machine = map_machine(a, 4)
        execution = a.start_execution(stateMachineArn=machine, input=json.dumps(ITEMS))["executionArn"]
        map_run = map_run_of(a, execution)
        wait_children(a, map_run, "RUNNING", len(ITEMS))
        ran_on = nodes_running(url, map_run)
        parent_node = nodes_running_parent(url, execution)
        victim = next(n for n in set(ran_on.values()) if n != parent_node)
        victims_children = {arn for arn, node in ran_on.items() if node == victim}
        index = [node_id(url, n.endpoint) for n in nodes].index(victim)
        nodes[index].process.kill()
        killed = time.monotonic()
        nodes[index].process.wait(10)
        done = wait_done(a, execution, timeout=LEASE_SECONDS + HEARTBEAT_SECONDS + 30)
        print(f"\na node running 2 of 6 children killed with kill -9: the map ended "
              f"{time.monotonic() - killed:.1f} s later (its children started again within "
              f"{LEASE_SECONDS + HEARTBEAT_SECONDS:.0f} s, then ran their 4 s)")
        assert done["status"] == "SUCCEEDED", done
        assert json.loads(done["output"]) == [{"twice": 2 * item["n"]} for item in ITEMS]
        statuses = {c["executionArn"]: c["status"] for c in children(a, map_run)}
        assert {statuses[arn] for arn in victims_children} == {"ABORTED"}, statuses
        assert sorted(statuses.values()).count("SUCCEEDED") == len(ITEMS)
        assert all(node != victim for arn, node in nodes_running(url, map_run).items()
                   if arn not in victims_children)
    finally:
        stop_nodes(nodes)
        drop()


def nodes_running_parent(url: str, execution: str) -> str:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT node FROM sfn_executions WHERE arn = %s", (execution,)).fetchone()[0]


def node_id(url: str, endpoint: str) -> str:
    port = endpoint.rsplit(":", 1)[1].rstrip("/")
    with psycopg.connect(url) as conn:
        for node, address in conn.execute("SELECT id, address FROM cluster_nodes").fetchall():
            if address.rstrip("/").endswith(f":{port}"):
                return node
    raise AssertionError(f"no node at {endpoint}")
