"""storage/coordination.py against a real PostgreSQL: notifications between nodes, leases held
by exactly one node, a dead node's leases taken within LEASE_SECONDS + HEARTBEAT_SECONDS, and
a node of a newer version refusing to join older ones. Several `Cluster` nodes run in this one
process over one fresh database (the multi-process cluster is tests/test_cluster.py)."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest
from cluster_support import create_database

from overcast.engine.timers import Timers
from overcast.engine.waiters import Waiters
from overcast.storage import coordination
from overcast.storage.coordination import Cluster, ClusterError, WorkKind


@pytest.fixture(scope="module")
def database_url():
    url, drop = create_database("overcast_coord")
    yield url
    drop()


def run(coroutine):
    return asyncio.run(coroutine)


async def _nodes(url: str, count: int, version: str = "0.1.0") -> list[Cluster]:
    nodes = []
    for i in range(count):
        node = Cluster(url, f"http://127.0.0.1:{40000 + i}", version)
        await node.start()
        nodes.append(node)
    return nodes


async def _stop(nodes) -> None:
    for node in nodes:
        await node.stop()


def test_a_notify_on_one_node_wakes_a_waiter_on_another(database_url):
    async def scenario():
        a, b = await _nodes(database_url, 2)
        try:
            waiters_a = Waiters(a.channel("sqs"))
            waiters_b = Waiters(b.channel("sqs"))
            waiting = asyncio.ensure_future(waiters_a.wait((7, "queue"), 10))
            await asyncio.sleep(0.05)
            started = time.monotonic()
            waiters_b.notify((7, "queue"))
            woke = await waiting
            return woke, time.monotonic() - started
        finally:
            await _stop([a, b])

    woke, elapsed = run(scenario())
    assert woke is True
    assert elapsed < 1.0


def test_a_waiter_on_another_key_or_channel_stays_asleep(database_url):
    async def scenario():
        a, b = await _nodes(database_url, 2)
        try:
            sqs_a = Waiters(a.channel("sqs"))
            kinesis_b = Waiters(b.channel("kinesis"))
            sqs_b = Waiters(b.channel("sqs"))
            waiting = asyncio.ensure_future(sqs_a.wait(1, 0.6))
            await asyncio.sleep(0.05)
            kinesis_b.notify(1)
            sqs_b.notify(2)
            return await waiting
        finally:
            await _stop([a, b])

    assert run(scenario()) is False


def _kind(prefix: str, names: set[str], running: dict[str, list[str]], node: str) -> WorkKind:
    return WorkKind(prefix, lambda: sorted(names),
                    lambda name: running.setdefault(name, []).append(node),
                    lambda name: running[name].remove(node))


def test_each_piece_of_work_runs_on_exactly_one_node_and_work_spreads(database_url):
    async def scenario():
        nodes = await _nodes(database_url, 3)
        names = {f"job:{i}" for i in range(6)}
        running: dict[str, list[str]] = {}
        try:
            for node in nodes:
                node.register(_kind("job", names, running, node.node_id))
            deadline = time.monotonic() + 3 * coordination.HEARTBEAT_SECONDS + 2
            while time.monotonic() < deadline and len(running) < len(names):
                await asyncio.sleep(0.1)
            return {name: list(holders) for name, holders in running.items()}, [len(n._held) for n in nodes]
        finally:
            await _stop(nodes)

    running, held = run(scenario())
    assert sorted(running) == sorted(f"job:{i}" for i in range(6))
    assert all(len(holders) == 1 for holders in running.values()), running
    assert held == [2, 2, 2]  # the fair share: 6 pieces over 3 live nodes


def test_a_dead_nodes_leases_are_taken_within_the_stated_time(database_url):
    async def scenario():
        a, b = await _nodes(database_url, 2)
        running: dict[str, list[str]] = {}
        names = {"esm:one", "esm:two"}
        try:
            a.register(_kind("esm", names, running, a.node_id))
            await asyncio.sleep(coordination.HEARTBEAT_SECONDS + 1)  # a takes its share (b has not registered)
            b.register(_kind("esm", names, running, b.node_id))
            held_by_a = sorted(a._held)
            assert held_by_a and {h for holders in running.values() for h in holders} == {a.node_id}
            # a dies without a word: its heartbeats stop, its leases stay in the table
            a._beat.cancel()
            a._listener.cancel()
            a._renewer_stop.set()
            died = time.monotonic()
            while time.monotonic() - died < 15 and sorted(b._held) != sorted(names):
                await asyncio.sleep(0.05)
            return time.monotonic() - died, sorted(b._held), b.takeovers, held_by_a
        finally:
            await _stop([b])
            a._stopped = True
            await a._conn.close()

    elapsed, held, takeovers, held_by_a = run(scenario())
    assert held == ["esm:one", "esm:two"]
    assert elapsed <= coordination.LEASE_SECONDS + coordination.HEARTBEAT_SECONDS + 0.5
    assert sorted(name for name, _ in takeovers) == held_by_a


def test_a_node_started_where_a_killed_one_ran_frees_its_leases_at_once(database_url):
    """A node of this machine whose process is gone (kill -9, then overcast started again) is
    dead at once, not when its heartbeat expires: its leases are free and the new node, alone,
    is the cluster's first (it recovers what the killed one left)."""
    import socket
    import subprocess

    gone = subprocess.Popen(["true"])
    gone.wait()  # a process id that no longer runs
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(coordination.SCHEMA)
        conn.execute("INSERT INTO cluster_nodes(id, address, version, pid, host) VALUES('killed', "
                     "'http://127.0.0.1:1', '0.1.0', %s, %s)", (gone.pid, socket.gethostname()))
        conn.execute("INSERT INTO cluster_leases(name, holder, expires) "
                     "VALUES('timer:killed', 'killed', now() + interval '1 minute')")

    async def scenario():
        (node,) = await _nodes(database_url, 1)
        try:
            return node.first, node.live_node_ids()
        finally:
            await _stop([node])

    first, live = run(scenario())
    assert first and "killed" not in live
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM cluster_leases WHERE holder = 'killed'").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM cluster_nodes WHERE id = 'killed'").fetchone() == (0,)


def test_a_leaving_node_hands_its_work_over_at_once(database_url):
    async def scenario():
        a, b = await _nodes(database_url, 2)
        running: dict[str, list[str]] = {}
        names = {"timer:x"}
        a.register(_kind("timer", names, running, a.node_id))
        await asyncio.sleep(0.5)
        b.register(_kind("timer", names, running, b.node_id))
        await asyncio.sleep(0.5)
        try:
            assert running == {"timer:x": [a.node_id]}
            left = time.monotonic()
            await a.stop()
            while time.monotonic() - left < 5 and running["timer:x"] != [b.node_id]:
                await asyncio.sleep(0.05)
            return {k: list(v) for k, v in running.items()}, time.monotonic() - left, b.node_id
        finally:
            await _stop([b])

    running, elapsed, b_id = run(scenario())
    assert running == {"timer:x": [b_id]}
    assert elapsed < 1.5  # told by a's notification, not after its lease expired


def test_a_newer_node_refuses_to_migrate_while_older_ones_run(database_url):
    async def scenario():
        (old,) = await _nodes(database_url, 1, version="0.0.9")
        try:
            newer = Cluster(database_url, "http://127.0.0.1:40009", "0.1.0")
            with pytest.raises(ClusterError) as refused:
                await newer.start()
            return str(refused.value)
        finally:
            await _stop([old])

    message = run(scenario())
    assert "refuses to migrate" in message and "0.0.9" in message


def test_a_node_that_cannot_reach_postgresql_says_so(database_url):
    async def scenario():
        node = Cluster("postgresql://postgres@127.0.0.1:1/none", "http://127.0.0.1:40010", "0.1.0")
        with pytest.raises(ClusterError) as refused:
            await node.start()
        return str(refused.value)

    assert "cannot reach PostgreSQL" in run(scenario())


def test_status_lists_nodes_and_leases(database_url):
    async def scenario():
        a, b = await _nodes(database_url, 2)
        try:
            a.register(_kind("esm", {"esm:s"}, {}, a.node_id))
            await asyncio.sleep(coordination.HEARTBEAT_SECONDS + 0.5)
            return await b.status(), a.node_id, b.node_id
        finally:
            await _stop([a, b])

    status, a_id, b_id = run(scenario())
    ids = [n["id"] for n in status["nodes"]]
    assert a_id in ids and b_id in ids
    assert all(n["alive"] for n in status["nodes"] if n["id"] in (a_id, b_id))
    assert {"name": "esm:s", "holder": a_id} == {k: v for k, v in status["leases"][0].items() if k != "expires_in"}
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM cluster_nodes WHERE id IN (%s, %s)", (a_id, b_id)).fetchone()[0] == 0


class _TimedService:
    """What a leased provider gives coordination: start (arm its timers from its work) and stop."""

    def __init__(self, node: Cluster, work: dict, fired: list):
        self.timers = Timers(node.gate("demo"))
        self.node, self.work, self.fired = node, work, fired

    async def start(self) -> None:
        for key, when in self.work.items():
            self.timers.at(key, when, lambda key=key: self._fire(key))

    async def _fire(self, key) -> None:
        self.fired.append((key, self.node.node_id))
        self.work.pop(key, None)

    async def stop(self) -> None:
        self.timers.cancel_all(tasks=True)


def test_timed_work_set_on_another_node_runs_once_on_the_lease_holder(database_url):
    async def scenario():
        a, b = await _nodes(database_url, 2)
        work: dict = {}  # stands for the service's table, which every node reads
        fired: list = []
        services = [_TimedService(a, work, fired), _TimedService(b, work, fired)]
        try:
            a.lease_service("demo", services[0])
            await asyncio.sleep(0.5)
            b.lease_service("demo", services[1])
            await asyncio.sleep(0.5)
            holder = [s for s in services if s.timers._gate.runs()]
            other = [s for s in services if not s.timers._gate.runs()]
            assert len(holder) == 1 and len(other) == 1
            work["job"] = time.time() + 0.3
            other[0].timers.at("job", work["job"], lambda: other[0]._fire("job"))  # a request on the other node
            await asyncio.sleep(1.5)
            return fired, holder[0].node.node_id
        finally:
            await _stop([a, b])

    fired, holder = run(scenario())
    assert fired == [("job", holder)]
