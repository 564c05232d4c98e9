"""What several overcast nodes over one PostgreSQL database need from each other: wake-ups
(notifications) and who runs the work that waits for no request (leases). One node on SQLite
has neither: `Local` answers every question at once and costs nothing.

Notifications: a `Channel` carries keys (an SQS queue id, a stream's ARN) between nodes. The
wake-up machinery (engine/waiters.Waiters) wakes its own waiters at once and hands the key to
its channel; the other nodes' Waiters wake theirs. On PostgreSQL this is LISTEN/NOTIFY on one
channel ("overcast"), payload "node channel json-key", over a connection dedicated to LISTEN;
notifications are sent in batches of one statement per event-loop turn. While that connection
is down no wake-up arrives, so every Waiters is woken when it comes back (waiters re-check their
condition: nothing is lost, a long poll at most returns early with nothing).

Caches: a provider that keeps stored configuration in memory (an SQS queue's attributes, an API's
compiled routes) gets from `cache(name, drop, drop_all)` the function it calls after changing what
an entry was read from. On one node that function is `drop` itself (nothing else to tell); on a
cluster it also publishes (name, key, number) on "cache"; every other node calls its own
`drop(key)` when the notification arrives and answers on "cache-ack", and calls `drop_all()` when
its notification connection is lost and when it is back (what it missed meanwhile is unknown). A request that
changed configuration is answered once its invalidations are sent and every other live node
acknowledged them (`invalidations_sent`, awaited by the server after the group commit; at most
ACK_SECONDS for a node that does not answer, which is then not waited for until it answers again): the client's next request, to any node, finds the
entry dropped. Nothing is added to the requests that only read, nor to any request on SQLite.

Leases: the table `cluster_leases(name, holder, expires)` says which node runs a piece of work
("esm:<uuid>": an event source mapping's pollers). A node renews its leases and its row in
`cluster_nodes(id, address, version, heartbeat, load)` every HEARTBEAT_SECONDS; a lease not
renewed for LEASE_SECONDS expires and the next heartbeat of another node takes it. A node killed
with kill -9 renewed at most HEARTBEAT_SECONDS before it died, so its work runs again elsewhere
within LEASE_SECONDS + HEARTBEAT_SECONDS (8 s) of its death. A node that cannot renew (the
database is gone) stops its leased work before its leases can expire, so no work runs on two
nodes at once. Times are the database's (now()), never the nodes' clocks.

Work is registered by kind (`WorkKind`: the names that should run, how to start and stop one);
each heartbeat a node claims free or expired leases up to its fair share (the work's count
divided by the live nodes, rounded up), so work spreads as nodes join and moves when one dies.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

import orjson

log = logging.getLogger("overcast.cluster")

HEARTBEAT_SECONDS = 2.0
LEASE_SECONDS = 6.0
NODE_FORGOTTEN_SECONDS = 300.0  # a node row not heartbeating this long is deleted
PG_CHANNEL = "overcast"
CLUSTER_TOKEN_HEADER = "x-overcast-cluster-token"  # requests between nodes (/_overcast/cluster/...)
# How long a change's answer waits for another node to drop its cache entries. A node busy on a
# loaded machine can take a second or more; one killed answers nothing until it is known dead
# (LEASE_SECONDS), and is then waited for no more (a suspect, until it answers again).
ACK_SECONDS = 5.0
MAX_PAYLOAD = 7900  # PostgreSQL's NOTIFY payload limit is 8000 bytes

SCHEMA = """
CREATE TABLE IF NOT EXISTS cluster_nodes (
    id TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    version TEXT NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    started TIMESTAMPTZ NOT NULL DEFAULT now(),
    heartbeat TIMESTAMPTZ NOT NULL DEFAULT now(),
    load JSONB NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS cluster_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    acquired TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS cluster_leases_holder ON cluster_leases(holder);
CREATE TABLE IF NOT EXISTS cluster_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: it exists
        return True
    return True


class ClusterError(Exception):
    """A node cannot join the cluster (a clear message for the command line)."""


@dataclass
class WorkKind:
    """Work of one kind that runs on exactly one node: `names()` lists what should run now (read
    from the database, so every node knows work created on any node); `start(name)` and
    `stop(name)` run and end one piece on this node."""

    prefix: str
    names: Callable[[], Iterable[str]]
    start: Callable[[str], None]
    stop: Callable[[str], None]


@dataclass
class _Subscriber:
    on_key: Callable[[Hashable], None]
    on_reset: Callable[[], None]


class Channel:
    """Keys published on one node reach the subscribers of the same channel name on the others."""

    __slots__ = ("name", "_hub", "_subscribers")

    def __init__(self, name: str, hub: Cluster):
        self.name = name
        self._hub = hub
        self._subscribers: list[_Subscriber] = []

    def subscribe(self, on_key: Callable[[Hashable], None], on_reset: Callable[[], None]) -> None:
        self._subscribers.append(_Subscriber(on_key, on_reset))

    def publish(self, key: Hashable) -> None:
        self._hub.publish(self.name, key)

    def _deliver(self, key: Hashable) -> None:
        for subscriber in self._subscribers:
            subscriber.on_key(key)

    def _reset(self) -> None:
        for subscriber in self._subscribers:
            subscriber.on_reset()


class Gate:
    """A service whose timed work (engine/timers.Timers) runs on the node holding the lease
    "service:<name>" (ServiceSpec.leased). Other nodes `kick` the holder, which reads the
    service's timed work again (its provider's `start`, with `rearming` set)."""

    __slots__ = ("name", "_cluster", "rearming")

    def __init__(self, name: str, cluster: Cluster):
        self.name = name
        self._cluster = cluster
        self.rearming = False

    def runs(self) -> bool:
        return self.name in self._cluster._held

    def kick(self) -> None:
        self._cluster.publish(self.name, 0)


class Local:
    """One node: no other node to wake, every lease is this node's. Work starts at once."""

    cluster = False
    first = True  # the first node of its cluster: recovers what the last run left

    def __init__(self):
        # this run's: work a store marked as claimed by an earlier run is a dead node's (dead_nodes)
        self.node_id = f"local-{os.getpid()}-{secrets.token_hex(3)}"

    def channel(self, name: str) -> Channel | None:
        return None

    def gate(self, service: str) -> Gate | None:
        return None

    def cache(self, name: str, drop: Callable[[Hashable], None],
              drop_all: Callable[[], None]) -> Callable[[Hashable], None]:
        return drop  # no other node's cache to drop: the provider's own function, at no cost

    invalidating = False  # (the server awaits invalidations_sent only while this is true)

    def register(self, kind: WorkKind) -> None:
        pass

    def run(self, kind: WorkKind, name: str) -> None:
        kind.start(name)

    def end(self, kind: WorkKind, name: str) -> None:
        kind.stop(name)

    def holds(self, name: str) -> bool:
        return True

    def live_nodes(self) -> int:
        return 1

    async def listening(self) -> None:
        pass

    def live_node_ids(self) -> list[str]:
        return []

    async def dead_nodes(self, nodes: Iterable[str]) -> set[str]:
        return {node for node in nodes if node != self.node_id}  # earlier runs of this server

    def on_nodes_gone(self, callback: Callable[[], None]) -> None:
        pass  # no other node to lose

    def other_addresses(self) -> list[str]:
        return []

    def node_address(self, node_id: str) -> str | None:
        return None

    def token(self) -> str:
        return ""

    def add_load(self, name: str, source: Callable[[], object]) -> None:
        pass

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def status(self) -> dict:
        return {"mode": "single", "nodes": [], "leases": []}


def _encode_key(key: Hashable) -> bytes:
    return orjson.dumps(key)


def _decode_key(data: bytes) -> Hashable:
    def freeze(value):
        return tuple(freeze(v) for v in value) if isinstance(value, list) else value

    return freeze(orjson.loads(data))


class Cluster:
    """A node of a cluster over PostgreSQL (docs/cluster.md)."""

    cluster = True

    def __init__(self, url: str, address: str | Callable[[], str], version: str):
        self.url = url
        # where the other nodes reach this one: a callable when the port is known only once the
        # server listens (--port 0)
        self._address = address
        self.version = version
        self.node_id = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._channels: dict[str, Channel] = {}
        self._gates: dict[str, Gate] = {}
        self._kinds: dict[str, WorkKind] = {}
        self._held: dict[str, WorkKind] = {}  # leases this node holds and runs
        self._loads: dict[str, Callable[[], object]] = {}
        self._outbox: list[str] = []
        self._flushing = False
        self._batch_done: asyncio.Future | None = None  # done when the batch being sent is
        self._caches: dict[str, tuple[Callable[[Hashable], None], Callable[[], None]]] = {}
        self._invalidations = 0  # published so far
        self._invalidations_sent = 0  # ... of which sent (or their send failed)
        self._unsent: list[str] = []  # invalidations whose send failed: sent again at the next heartbeat
        self._acks: dict[str, int] = {}  # node -> the last of this node's invalidations it dropped
        self._suspects: set[str] = set()  # nodes that let ACK_SECONDS pass: not waited for until they answer
        self._ack_arrived: asyncio.Future | None = None
        self._listener: asyncio.Task | None = None
        self._beat: asyncio.Task | None = None
        self._conn = None  # heartbeats and leases
        self._notify_conn = None  # NOTIFY
        self._lock = asyncio.Lock()
        self._live = 1
        self._addresses: dict[str, str] = {}
        self._gone_callbacks: list[Callable[[], None]] = []
        self._token = ""
        self._last_renewed = 0.0  # monotonic time of the last successful heartbeat
        self._fence: asyncio.TimerHandle | None = None
        self._renewer: threading.Thread | None = None
        self._renewer_stop = threading.Event()
        self._claiming: set[str] = set()
        self._stopped = False
        self.first = False  # set at start: no other node was alive (the cluster starts with this node)
        self._wake_beat = asyncio.Event()
        self.takeovers: list[tuple[str, float]] = []  # (lease, when) taken from a dead node, for status

    @property
    def address(self) -> str:
        return self._address() if callable(self._address) else self._address

    # -- joining and leaving -------------------------------------------------------------------

    async def start(self) -> None:
        import psycopg

        try:
            self._conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as e:
            raise ClusterError(f"cannot reach PostgreSQL for the cluster: {_first_line(e)}") from None
        async with self._conn.transaction():
            # one node at a time creates the tables and checks the versions
            await self._conn.execute("SELECT pg_advisory_xact_lock(7300719)")
            await self._conn.execute(SCHEMA)
            await self._forget_gone_here()
            await self._check_versions()
            await self._conn.execute(
                "INSERT INTO cluster_settings(name, value) VALUES('token', %s) ON CONFLICT (name) DO NOTHING",
                (secrets.token_urlsafe(32),))
            await self._conn.execute(
                "INSERT INTO cluster_nodes(id, address, version, pid, host) VALUES(%s, %s, %s, %s, %s)",
                (self.node_id, self.address, self.version, os.getpid(), socket.gethostname()))
        self._token = (await (await self._conn.execute(
            "SELECT value FROM cluster_settings WHERE name = 'token'")).fetchone())[0]
        self._renewed()
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        self._listener = loop.create_task(self._listen(ready))
        await asyncio.wait_for(ready, 10)
        # the others look again now, not at their next heartbeat: until they see this node, a change
        # they make is answered without waiting for this node to drop what it cached
        await self._conn.execute("SELECT pg_notify(%s, %s)", (PG_CHANNEL, f"{self.node_id} ~joined null"))
        await self._refresh_nodes()
        self.first = self._live == 1
        self._beat = loop.create_task(self._heartbeats())
        self._renewer = threading.Thread(target=self._renewals, args=(loop,), name="overcast-cluster-renewer",
                                         daemon=True)
        self._renewer.start()
        log.info("node %s joined the cluster (%d live nodes)", self.node_id, self._live)

    async def _forget_gone_here(self) -> None:
        """Nodes of this machine whose process is gone (killed, and this one started in its place)
        are dead now, not when their heartbeat expires: they leave as a stopped node does, so that
        their work moves at once and this node, alone, recovers what they left (`first`)."""
        rows = await (await self._conn.execute(
            "SELECT id, pid FROM cluster_nodes WHERE host = %s", (socket.gethostname(),))).fetchall()
        for node, pid in rows:
            if _process_alive(pid):
                continue
            log.info("node %s of this machine is gone (process %d): its leases are free", node, pid)
            await self._conn.execute("DELETE FROM cluster_leases WHERE holder = %s", (node,))
            await self._conn.execute("DELETE FROM cluster_nodes WHERE id = %s", (node,))
            await self._conn.execute("SELECT pg_notify(%s, %s)", (PG_CHANNEL, f"{node} ~left null"))

    async def _check_versions(self) -> None:
        """Nodes of another version must not share the schema: a newer node would migrate it
        under the older ones (and an older one cannot read a newer schema)."""
        rows = await (await self._conn.execute(
            "SELECT id, version, address FROM cluster_nodes WHERE heartbeat > now() - make_interval(secs => %s)",
            (LEASE_SECONDS,))).fetchall()
        other = [(node, version, address) for node, version, address in rows if version != self.version]
        if not other:
            return
        listed = ", ".join(f"{node} at {address} (version {version})" for node, version, address in other)
        if all(_version_tuple(version) < _version_tuple(self.version) for _, version, _ in other):
            raise ClusterError(f"overcast {self.version} refuses to migrate the cluster's schema while nodes of an "
                               f"older version run: {listed}. Stop them first (docs/cluster.md, upgrading).")
        raise ClusterError(f"overcast {self.version} cannot join: nodes of another version run: {listed}. "
                           f"Run the same version on every node (docs/cluster.md, upgrading).")

    async def stop(self) -> None:
        """Leave the cluster: stop this node's work and hand its leases back at once."""
        self._stopped = True
        self._renewer_stop.set()
        if self._renewer is not None:
            await asyncio.to_thread(self._renewer.join, 5)
        if self._fence is not None:
            self._fence.cancel()
        for task in (self._beat, self._listener):
            if task is not None:
                task.cancel()
        for name, kind in list(self._held.items()):
            self._stop_work(name, kind)
        if self._conn is not None:
            try:
                async with self._lock:
                    await self._conn.execute("DELETE FROM cluster_leases WHERE holder = %s", (self.node_id,))
                    await self._conn.execute("DELETE FROM cluster_nodes WHERE id = %s", (self.node_id,))
                    await self._conn.execute("SELECT pg_notify(%s, %s)", (PG_CHANNEL, f"{self.node_id} ~left null"))
            except Exception as e:
                log.warning("leaving the cluster: %s", _first_line(e))
            await self._conn.close()
            self._conn = None
        if self._notify_conn is not None:
            await self._notify_conn.close()
            self._notify_conn = None

    # -- notifications -------------------------------------------------------------------------

    def channel(self, name: str) -> Channel:
        channel = self._channels.get(name)
        if channel is None:
            channel = self._channels[name] = Channel(name, self)
        return channel

    def gate(self, service: str) -> Gate:
        name = f"service:{service}"
        gate = self._gates.get(name)
        if gate is None:
            gate = self._gates[name] = Gate(name, self)
        return gate

    def lease_service(self, service: str, provider) -> None:
        """Run a leased service's work (its provider's start and stop) only while this node
        holds "service:<name>"; when another node kicks, read its timed work again."""
        gate = self.gate(service)
        loop = asyncio.get_running_loop()

        async def rescan() -> None:
            gate.rearming = True
            try:
                await provider.start()
            finally:
                gate.rearming = False

        def kicked(_key=None) -> None:
            if gate.runs():
                loop.create_task(rescan())

        self.channel(gate.name).subscribe(kicked, kicked)
        self.register(WorkKind(gate.name, lambda: (gate.name,), lambda _: loop.create_task(provider.start()),
                               lambda _: loop.create_task(provider.stop())))

    def cache(self, name: str, drop: Callable[[Hashable], None],
              drop_all: Callable[[], None]) -> Callable[[Hashable], None]:
        """The function a provider calls once it changed what the entry `key` of its cache `name`
        was read from: drops it here and, through a notification ("cache"), on every other node."""
        self._caches[name] = (drop, drop_all)

        def forget(key: Hashable) -> None:
            drop(key)
            self._invalidations += 1
            self.publish("cache", (name, key, self._invalidations))
        return forget

    def _invalidated(self, node: str, data: str) -> None:
        """Another node's invalidation: drop the entry here, then tell that node it is dropped."""
        try:
            name, key, number = _decode_key(data.encode())
        except (orjson.JSONDecodeError, TypeError, ValueError):
            return
        entry = self._caches.get(name)
        if name == "*":  # too large to name its entry: everything
            self._drop_all_cached()
        elif entry is not None:
            entry[0](key)
        self.publish("cache-ack", (node, number))

    def _acknowledged(self, node: str, data: str) -> None:
        try:
            to, number = _decode_key(data.encode())
        except (orjson.JSONDecodeError, TypeError, ValueError):
            return
        if to == self.node_id and number > self._acks.get(node, 0):
            self._acks[node] = number  # (each node answers in the order it received)
            self._suspects.discard(node)
            done, self._ack_arrived = self._ack_arrived, None
            if done is not None and not done.done():
                done.set_result(None)

    def _drop_all_cached(self) -> None:
        for _, drop_all in self._caches.values():
            drop_all()

    @property
    def invalidating(self) -> bool:
        """Whether an answer waits (invalidations_sent): some invalidation is not sent yet, or not
        acknowledged yet by every live node. (Sent alone is not enough: a batch flushed before the
        request's commit came back left the answer waiting for no one's acknowledgement.)"""
        return self._invalidations_sent < self._invalidations or bool(self._unacknowledged(self._invalidations))

    async def invalidations_sent(self) -> None:
        """Wait until the invalidations published so far are sent (or their send failed) and every
        other live node has dropped the entries (or ACK_SECONDS passed: a node dead since its
        last heartbeat answers nothing, and one cut off from the database drops every cache when
        it is back)."""
        wanted = self._invalidations
        while self._invalidations_sent < wanted:
            if self._batch_done is None:
                self._batch_done = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._batch_done)
        deadline = time.monotonic() + ACK_SECONDS
        while late := self._unacknowledged(wanted):
            left = deadline - time.monotonic()
            if left <= 0:
                log.warning("invalidations not acknowledged within %.0f s by %s", ACK_SECONDS, ", ".join(late))
                self._suspects.update(late)
                return
            if self._ack_arrived is None:
                self._ack_arrived = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(asyncio.shield(self._ack_arrived), left)
            except TimeoutError:
                pass

    def _unacknowledged(self, wanted: int) -> list[str]:
        """The other live nodes that have not dropped invalidation `wanted` yet, but for the
        suspects (a node that let ACK_SECONDS pass once is dead, or so slow that waiting for it
        again would hold every change: it is waited for again once it answers)."""
        return [node for node in self._addresses
                if node != self.node_id and node not in self._suspects and self._acks.get(node, 0) < wanted]

    def publish(self, channel: str, key: Hashable) -> None:
        payload = f"{self.node_id} {channel} {_encode_key(key).decode()}"
        if len(payload.encode()) > MAX_PAYLOAD:
            log.warning("a notification on %s is too large to send (%d bytes)", channel, len(payload))
            if channel == "cache":  # the others cannot drop this one entry: they drop everything
                self.publish("cache", ("*", None, key[2]))
            return
        if payload in self._outbox:
            return
        self._outbox.append(payload)
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self._flush()))

    async def _flush(self) -> None:
        """Send what was published, on a connection of its own (a heartbeat never waits for it,
        nor it for a heartbeat); one statement for all that was published meanwhile."""
        import psycopg

        from overcast.storage.postgres import run_statement

        try:
            while self._outbox and not self._stopped:
                batch, self._outbox = self._outbox, []
                covers = self._invalidations
                try:
                    if self._notify_conn is None or self._notify_conn.closed:
                        self._notify_conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True,
                                                                                  connect_timeout=2)
                    # the payloads as parameters (no quoting), up to 1,000 a statement
                    for start in range(0, len(batch), 1000):
                        part = batch[start:start + 1000]
                        places = ", ".join(f"(${n})" for n in range(2, len(part) + 2))
                        await run_statement(self._notify_conn.pgconn,
                                            f"SELECT pg_notify($1, p) FROM (VALUES {places}) AS v(p)".encode(),
                                            [PG_CHANNEL.encode(), *(p.encode() for p in part)], timeout=5)
                except Exception as e:  # the database is gone: waiters wake by their own timeouts
                    log.warning("sending %d notifications failed: %s", len(batch), _first_line(e))
                    # a wake-up lost is made good by the waiters' own timeouts; an invalidation
                    # lost would leave another node's cache stale: sent again at the next heartbeat
                    self._unsent += [p for p in batch + self._outbox if p.split(" ", 2)[1] == "cache"]
                    self._outbox = []
                    conn, self._notify_conn = self._notify_conn, None
                    if conn is not None:
                        await conn.close()
                    return
                finally:
                    self._batch_sent(covers)
        finally:
            self._flushing = False
            self._batch_sent(self._invalidations)  # all sent, failed (kept for later) or stopping

    def _batch_sent(self, covers: int) -> None:
        """The invalidations published before the batch was taken are sent: wake who waits."""
        self._invalidations_sent = max(self._invalidations_sent, covers)
        done, self._batch_done = self._batch_done, None
        if done is not None and not done.done():
            done.set_result(None)

    async def _listen(self, ready: asyncio.Future) -> None:
        import psycopg

        delay = 0.2
        while not self._stopped:
            try:
                async with await psycopg.AsyncConnection.connect(self.url, autocommit=True,
                                                                 connect_timeout=5) as conn:
                    await conn.execute(f"LISTEN {PG_CHANNEL}")
                    if not ready.done():
                        ready.set_result(None)
                    else:  # notifications may have been missed while disconnected: everyone re-checks
                        self._drop_all_cached()
                        for channel in self._channels.values():
                            channel._reset()
                    delay = 0.2
                    async for notify in conn.notifies():
                        self._received(notify.payload)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                if not ready.done():
                    ready.set_exception(ClusterError(f"cannot listen for notifications: {_first_line(e)}"))
                    return
                log.warning("notification connection lost (%s); reconnecting", _first_line(e))
                # invalidations may be missed from now on: what is read meanwhile is cached anew
                # (and dropped again when the connection is back)
                self._drop_all_cached()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    def _received(self, payload: str) -> None:
        node, _, rest = payload.partition(" ")
        if node == self.node_id:
            return
        name, _, data = rest.partition(" ")
        if name == "~left" or name == "~joined":  # membership changed: look again now
            self._wake_beat.set()
            return
        if name == "cache":
            self._invalidated(node, data)
            return
        if name == "cache-ack":
            self._acknowledged(node, data)
            return
        channel = self._channels.get(name)
        if channel is None:
            return
        try:
            key = _decode_key(data.encode())
        except orjson.JSONDecodeError:
            return
        channel._deliver(key)

    # -- leases --------------------------------------------------------------------------------

    def register(self, kind: WorkKind) -> None:
        self._kinds[kind.prefix] = kind
        self._wake_beat.set()

    def run(self, kind: WorkKind, name: str) -> None:
        """Work created by a request on this node: claim it now (no waiting for a heartbeat)."""
        self._kinds.setdefault(kind.prefix, kind)
        if name in self._held or name in self._claiming:
            return
        self._claiming.add(name)
        asyncio.get_running_loop().create_task(self._claim_one(kind, name))

    async def _claim_one(self, kind: WorkKind, name: str) -> None:
        try:
            if await self._claim(name):
                self._start_work(name, kind)
        except Exception as e:
            log.warning("claiming %s: %s", name, _first_line(e))
        finally:
            self._claiming.discard(name)

    def end(self, kind: WorkKind, name: str) -> None:
        """Work deleted: stop it here and give its lease back."""
        if name in self._held:
            self._stop_work(name, kind)
        else:
            kind.stop(name)
        asyncio.get_running_loop().create_task(self._release(name))

    def holds(self, name: str) -> bool:
        return name in self._held

    async def _claim(self, name: str) -> bool:
        async with self._lock:
            row = await (await self._conn.execute(
                "INSERT INTO cluster_leases(name, holder, expires) VALUES(%s, %s, now() + make_interval(secs => %s)) "
                "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires, "
                "acquired = now() WHERE cluster_leases.expires < now() OR cluster_leases.holder = excluded.holder "
                "RETURNING (xmax <> 0)", (name, self.node_id, LEASE_SECONDS))).fetchone()
        return row is not None

    async def _release(self, name: str) -> None:
        try:
            async with self._lock:
                await self._conn.execute("DELETE FROM cluster_leases WHERE name = %s AND holder = %s",
                                         (name, self.node_id))
        except Exception as e:
            log.warning("releasing %s: %s", name, _first_line(e))

    def _start_work(self, name: str, kind: WorkKind) -> None:
        if name in self._held:
            return
        self._held[name] = kind
        try:
            kind.start(name)
        except Exception:
            log.exception("starting %s", name)

    def _stop_work(self, name: str, kind: WorkKind) -> None:
        self._held.pop(name, None)
        try:
            kind.stop(name)
        except Exception:
            log.exception("stopping %s", name)

    async def _heartbeats(self) -> None:
        """On the event loop: see which nodes live and claim the work due (not time-critical;
        the renewals that keep leases are the renewer thread's)."""
        while not self._stopped:
            try:
                await asyncio.wait_for(self._wake_beat.wait(), HEARTBEAT_SECONDS)
            except TimeoutError:
                pass
            self._wake_beat.clear()
            if self._stopped:  # (asyncio.wait_for can swallow a cancellation in Python 3.11)
                return
            try:
                await asyncio.wait_for(self._look_around(), 10)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("cluster look-around failed: %s", _first_line(e))
                await self._reconnect()

    def _renewals(self, loop: asyncio.AbstractEventLoop) -> None:
        """A thread of its own renews this node's row and leases every HEARTBEAT_SECONDS, so that
        a busy event loop (a node under load) never lets its leases expire; what it renewed is
        handed to the loop, which stops the work whose lease another node took."""
        import psycopg

        conn = None
        while not self._renewer_stop.wait(HEARTBEAT_SECONDS):
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.url, autocommit=True, connect_timeout=2)
                    conn.execute(f"SET statement_timeout = {int(LEASE_SECONDS / 2 * 1000)}")
                load = orjson.dumps(self._load()).decode()
                updated = conn.execute(
                    "UPDATE cluster_nodes SET heartbeat = now(), load = %s::jsonb, address = %s WHERE id = %s",
                    (load, self.address, self.node_id))
                if updated.rowcount == 0:  # forgotten while away (the database was lost): join again
                    conn.execute(
                        "INSERT INTO cluster_nodes(id, address, version, pid, host, load) "
                        "VALUES(%s, %s, %s, %s, %s, %s)",
                        (self.node_id, self.address, self.version, os.getpid(), socket.gethostname(), load))
                # only what runs here: a lease this node stopped (the fence) expires for another to take
                held = list(self._held)
                renewed = {row[0] for row in conn.execute(
                    "UPDATE cluster_leases SET expires = now() + make_interval(secs => %s) "
                    "WHERE holder = %s AND name = ANY(%s) RETURNING name",
                    (LEASE_SECONDS, self.node_id, held)).fetchall()}
                loop.call_soon_threadsafe(self._after_renewal, held, renewed)
                conn.execute("DELETE FROM cluster_nodes WHERE heartbeat < now() - make_interval(secs => %s)",
                             (NODE_FORGOTTEN_SECONDS,))
            except Exception as e:
                log.warning("cluster heartbeat failed: %s", _first_line(e))
                if conn is not None:
                    conn.close()
                    conn = None
            except BaseException:
                break
        if conn is not None:
            conn.close()

    def _after_renewal(self, held: list[str], renewed: set[str]) -> None:
        if self._stopped:
            return
        self._renewed()
        for name in held:
            kind = self._held.get(name)
            if kind is not None and name not in renewed:  # taken by another node while we could not renew
                log.warning("lease %s lost", name)
                self._stop_work(name, kind)

    def _renewed(self) -> None:
        """The leases were renewed now: if they are not renewed again before they could expire
        (the database is out of reach), this node stops their work first, so that the node that
        takes them over does not run it at the same time."""
        self._last_renewed = time.monotonic()
        if self._unsent and not self._flushing:  # the database is back: the invalidations it missed
            self._outbox, self._unsent = self._unsent + self._outbox, []
            self._flushing = True
            asyncio.ensure_future(self._flush())
        if self._fence is not None:
            self._fence.cancel()
        self._fence = asyncio.get_running_loop().call_later(LEASE_SECONDS - HEARTBEAT_SECONDS, self._fenced)

    def _fenced(self) -> None:
        self._fence = None
        if self._held:
            log.warning("leases not renewed for %.1f s: stopping this node's leased work",
                        time.monotonic() - self._last_renewed)
            for name, kind in list(self._held.items()):
                self._stop_work(name, kind)

    async def _reconnect(self) -> None:
        import psycopg

        try:
            if self._conn is not None:
                await self._conn.close()
            self._conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True, connect_timeout=2)
        except Exception:
            pass

    async def _look_around(self) -> None:
        await self._refresh_nodes()
        await self._claim_due()

    async def _refresh_nodes(self) -> None:
        async with self._lock:
            rows = await (await self._conn.execute(
                "SELECT id, address FROM cluster_nodes WHERE heartbeat > now() - make_interval(secs => %s)",
                (LEASE_SECONDS,))).fetchall()
        before, self._addresses = self._addresses, dict(rows)
        self._suspects &= self._addresses.keys()
        for node in self._addresses.keys() - before.keys():  # what was sent before it was seen: not waited for
            self._acks.setdefault(node, self._invalidations)
        self._live = max(1, len(rows))
        if any(node not in self._addresses for node in before):
            for callback in self._gone_callbacks:
                try:
                    callback()
                except Exception:
                    log.exception("after nodes left")

    async def _claim_due(self) -> None:
        """Claim free and expired leases of registered work, up to this node's fair share."""
        wanted: dict[str, WorkKind] = {}
        for kind in list(self._kinds.values()):
            try:
                for name in kind.names():
                    wanted[name] = kind
            except Exception:
                log.exception("listing work %s", kind.prefix)
        for name, kind in list(self._held.items()):
            if name not in wanted:  # deleted on another node
                self._stop_work(name, kind)
                await self._release(name)
        if not wanted:
            return
        share = math.ceil(len(wanted) / self._live)
        async with self._lock:
            rows = await (await self._conn.execute(
                "SELECT name, holder, expires < now() FROM cluster_leases WHERE name = ANY(%s)",
                (list(wanted),))).fetchall()
        taken = {name: (holder, expired) for name, holder, expired in rows}
        for name, kind in wanted.items():
            if name in self._held or name in self._claiming:
                continue
            holder, expired = taken.get(name, (None, True))
            if holder is not None and not expired:
                continue
            orphan = holder is not None
            if not orphan and len(self._held) >= share:
                continue  # free work: leave it to a node with room
            if await self._claim(name):
                if orphan:
                    log.info("took over %s from %s", name, holder)
                    self.takeovers.append((name, time.time()))
                    del self.takeovers[:-100]
                self._start_work(name, kind)

    # -- what other parts ask ------------------------------------------------------------------

    def live_nodes(self) -> int:
        return self._live

    async def listening(self) -> None:
        """The server listens now (its port is known): tell the other nodes its address."""
        try:
            async with self._lock:
                await asyncio.wait_for(self._conn.execute("UPDATE cluster_nodes SET address = %s WHERE id = %s",
                                                          (self.address, self.node_id)), 5)
        except Exception as e:
            log.warning("publishing this node's address: %s", _first_line(e))
        self._wake_beat.set()

    def live_node_ids(self) -> list[str]:
        return list(self._addresses) or [self.node_id]

    async def dead_nodes(self, nodes: Iterable[str]) -> set[str]:
        """Which of these node ids, found on work a node claimed in a store (Lambda's queued
        events), belong to no live node, so that their work may be taken. Asked of the database,
        not of this node's view (2 s old at most): a node that joined since has its row there
        before it claims anything. A node whose heartbeat expired counts as dead."""
        nodes = [node for node in set(nodes) if node != self.node_id]
        if not nodes:
            return set()
        async with self._lock:
            rows = await (await self._conn.execute(
                "SELECT n FROM unnest(%s::text[]) AS n WHERE n NOT IN "
                "(SELECT id FROM cluster_nodes WHERE heartbeat > now() - make_interval(secs => %s))",
                (nodes, LEASE_SECONDS))).fetchall()
        return {row[0] for row in rows}

    def on_nodes_gone(self, callback: Callable[[], None]) -> None:
        """`callback()` whenever a node this one saw alive is seen dead or gone (its heartbeat
        expired, it left, or a node restarted on its machine removed it)."""
        self._gone_callbacks.append(callback)

    def other_addresses(self) -> list[str]:
        """The addresses of the other live nodes (for calls between nodes)."""
        return [address for node, address in self._addresses.items() if node != self.node_id]

    def node_address(self, node_id: str) -> str | None:
        return self._addresses.get(node_id)

    def token(self) -> str:
        """A secret every node reads from the database: requests between nodes carry it."""
        return self._token

    def add_load(self, name: str, source: Callable[[], object]) -> None:
        """A figure for this node's row (sandboxes busy, connections open)."""
        self._loads[name] = source

    def _load(self) -> dict:
        load = {"leases": len(self._held)}
        for name, source in self._loads.items():
            try:
                load[name] = source()
            except Exception:
                pass
        return load

    async def status(self) -> dict:
        import psycopg

        # a connection of its own: `overcast status` answers while this node's work keeps the other busy
        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True, connect_timeout=3) as conn:
            nodes = await (await conn.execute(
                "SELECT id, address, version, host, pid, extract(epoch FROM started), "
                "extract(epoch FROM now() - heartbeat), load FROM cluster_nodes ORDER BY started")).fetchall()
            leases = await (await conn.execute(
                "SELECT name, holder, extract(epoch FROM expires - now()) FROM cluster_leases ORDER BY name"
            )).fetchall()
        return {
            "mode": "cluster",
            "node": self.node_id,
            "heartbeat_seconds": HEARTBEAT_SECONDS,
            "lease_seconds": LEASE_SECONDS,
            "nodes": [{"id": n, "address": a, "version": v, "host": h, "pid": p, "started": float(s),
                       "heartbeat_age": round(float(age), 3), "alive": float(age) <= LEASE_SECONDS, "load": load}
                      for n, a, v, h, p, s, age, load in nodes],
            "leases": [{"name": n, "holder": h, "expires_in": round(float(e), 3)} for n, h, e in leases],
        }


def _version_tuple(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def open_coordination(config, version: str):
    """The coordination a server runs with: `Cluster` on a PostgreSQL database, else `Local`."""
    url = getattr(config, "database", "") or ""  # a libpq URL or "key=value" string; empty: SQLite
    if not url:
        return Local()
    return Cluster(url, lambda: config.node_address or config.local_url, version)


__all__ = ["Channel", "Cluster", "ClusterError", "Gate", "Local", "WorkKind", "open_coordination"]
