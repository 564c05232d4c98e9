"""Distributed Map children as a queue in the database (sfn_map_children) that every node of a
cluster takes from, as Lambda's asynchronous invocations are (docs/cluster.md).

The parent's Map state stays the gate for MaxConcurrency: it queues a child as another ends and
waits for its result. A node runs up to `limit` children at once (OVERCAST_SFN_MAP_CHILD_CONCURRENCY);
a child queued on a node with room is claimed by it in the same INSERT, otherwise the nodes with
room are woken (channel "stepfunctions", key ("children", "")) and the first claims it
(FOR UPDATE SKIP LOCKED). A child's result reaches its parent in memory when both run on one node;
across nodes it is written to the row and the parent's node is woken (("child-done", map run)).
Aborting a map run (StopExecution, the parent failing, the parent's Map state run again after its
node died) deletes its rows and cancels its children wherever they run (("map-aborted", map run)).
A dead node's children wait again once it is known dead and run again from their start, as new
child executions (the one the dead node started is ABORTED first).

On a single node (SQLite) the queue is not used: children run in their parent's task, as coroutines,
up to MaxConcurrency; a restart runs the Map state again from its start, so they need no row."""

from __future__ import annotations

import asyncio
import logging
import os

import orjson

from overcast.services.stepfunctions.history import dumps

log = logging.getLogger("overcast.stepfunctions")

def _nothing(_arn) -> None:
    pass


CHILD_CONCURRENCY = 1000  # children one node runs at once (AWS's own default for a map run's children)


class MapChildren:
    def __init__(self, provider):
        self.provider = provider
        self.store = provider.store
        self._node = provider.providers.coordination.node_id
        self._coordination = provider.providers.coordination
        self._channel = provider._channel  # None on a single node
        self.limit = max(1, int(os.environ.get("OVERCAST_SFN_MAP_CHILD_CONCURRENCY", CHILD_CONCURRENCY)))
        self._running: dict[int, tuple[str, asyncio.Task]] = {}  # row id -> (map run, task) run here
        self._waiting: dict[int, tuple[str, asyncio.Future]] = {}  # row id -> (map run, parent's future) here
        self._maps: dict[str, set[int]] = {}  # map run -> its rows whose parent waits here
        self._wanted = False  # children may wait that no node claimed yet
        self._stopping = False

    # -- the parent's side --------------------------------------------------------------------------

    async def run(self, parent, processor: dict, value, label: str, execution_type: str, map_run: str,
                  language: str, variables: dict, map_item: dict) -> dict:
        """Queue one child of `map_run` and wait for its record (maps.child_record)."""
        spec = {"parent": {"arn": parent.arn, "account": parent.account, "region": parent.region,
                           "machine_arn": parent.machine_arn, "machine_name": parent.machine_name,
                           "role": parent.role},
                "processor": processor, "value": value, "label": label, "type": execution_type,
                "language": language, "variables": variables, "item": map_item}
        if self._channel is None:  # one node: no other takes it, and a restart runs the Map state again
            return await self.provider.run_child(spec, map_run, _nothing)
        here = len(self._running) < self.limit
        row = self.store.queue_child(map_run, parent.arn, dumps(spec), self._node if here else None)
        future = asyncio.get_running_loop().create_future()
        self._waiting[row] = (map_run, future)
        self._maps.setdefault(map_run, set()).add(row)
        try:
            if here:
                self._start(row, map_run, spec, None)
            else:
                self._want()  # claimed here when a child ends, unless a node with room takes it first
                if self._channel is not None:
                    self._channel.publish(("children", ""))
            return await future
        finally:
            self._waiting.pop(row, None)
            rows = self._maps.get(map_run)
            if rows is not None:
                rows.discard(row)
                if not rows:
                    del self._maps[map_run]

    def abort(self, map_run: str) -> None:
        """The map run ends before its children (its parent stopped or failed): its rows go, and
        its children stop wherever they run."""
        if self._channel is None:
            return  # (one node: they run in the parent's task, cancelled with it)
        try:
            elsewhere = any(node != self._node for node in self.store.drop_children(map_run))
        except Exception as e:  # (the database out of reach: the parent's resume drops them)
            log.warning("aborting the children of %s: %s", map_run, e)
            elsewhere = True
        self._cancel(map_run)
        if elsewhere and self._channel is not None:
            self._channel.publish(("map-aborted", map_run))

    def drop_of(self, execution: str) -> None:
        """An execution's Map states run again (it resumes after a restart or its node's death):
        the rows of its earlier map runs go, and their children stop wherever they run."""
        if self._channel is None:
            return
        for map_run in self.store.child_map_runs(execution):
            self.abort(map_run)

    # -- where children run ---------------------------------------------------------------------

    def _start(self, row: int, map_run: str, spec: dict, previous: str | None) -> None:
        task = asyncio.get_running_loop().create_task(self._run_child(row, map_run, spec, previous))
        self._running[row] = (map_run, task)
        task.add_done_callback(lambda _t: self._ended(row))

    def _ended(self, row: int) -> None:
        self._running.pop(row, None)
        if self._wanted and not self._stopping:
            self._wanted = False
            self._want()

    async def _run_child(self, row: int, map_run: str, spec: dict, previous: str | None) -> None:
        if previous:  # a re-run of a child a dead node started: that execution ends first
            self.provider.abort_stale_child(previous)
        record = await self.provider.run_child(spec, map_run, lambda arn: self.store.child_started(row, arn))
        if self._stopping:  # (the server stops: another node runs it again, or the next start)
            return
        waiting = self._waiting.get(row)
        if waiting is not None:  # the parent waits on this node
            if self.store.finish_child(row, self._node):
                if not waiting[1].done():
                    waiting[1].set_result(record)
        elif self.store.finish_child(row, self._node, dumps(record)) and self._channel is not None:
            self._channel.publish(("child-done", map_run))

    def _want(self) -> None:
        if self._wanted or self._stopping:
            return
        self._wanted = True
        asyncio.get_running_loop().call_soon(self._claim)

    def _claim(self) -> None:
        room = self.limit - len(self._running)
        if not self._wanted or room <= 0 or self._stopping:
            return  # full: claimed again when a child ends
        self._wanted = False
        try:
            rows = self.store.claim_children(self._node, room)
        except Exception as e:  # the database is out of reach: the next wake-up tries again
            log.warning("claiming Distributed Map children: %s", e)
            return
        for row, map_run, spec, previous in rows:
            self._start(row, map_run, orjson.loads(spec), previous)
        if len(rows) == room:
            self._wanted = True  # maybe more: claimed again when a child ends

    def _cancel(self, map_run: str) -> None:
        for row_map_run, task in list(self._running.values()):
            if row_map_run == map_run:
                task.cancel()

    # -- notifications, lifecycle ---------------------------------------------------------------

    def from_another_node(self, kind: str, name: str) -> None:
        if kind == "children":
            self._want()
        elif kind == "map-aborted":
            self._cancel(name)
        elif kind == "child-done" and name in self._maps:
            self._collect(name)

    def _collect(self, map_run: str) -> None:
        """Children of a map run whose parent waits here ended on other nodes: their results."""
        for row, text in self.store.child_results(map_run):
            waiting = self._waiting.get(row)
            if waiting is not None and not waiting[1].done():
                waiting[1].set_result(orjson.loads(text))

    def notifications_restarted(self) -> None:
        for map_run in list(self._maps):
            self._collect(map_run)
        self._want()

    async def start(self) -> None:
        if self._channel is None:
            return
        if self._coordination.first:  # (no other node runs parents: rows of ended ones are left-overs)
            self.store.drop_orphan_children()
        await self.free_dead_claims()

    async def free_dead_claims(self) -> None:
        """Children held by dead nodes (or by this server's previous run) wait again."""
        try:
            dead = await self._coordination.dead_nodes(self.store.child_claimers(self._node))
            freed = sum(self.store.release_children(node) for node in dead)
        except Exception as e:
            log.warning("looking for Distributed Map children of dead nodes: %s", e)
            return
        if freed:
            log.info("%d Distributed Map child(ren) of %d dead node(s) queued again", freed, len(dead))
        self._want()

    async def stop(self) -> None:
        """The children running here stop; their rows wait again for another node (or the next
        start), whose run of them starts a new child execution."""
        self._stopping = True
        tasks = [task for _, task in self._running.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            if self.store.release_children(self._node) and self._channel is not None:
                self._channel.publish(("children", ""))
        except Exception as e:
            log.warning("releasing this node's Distributed Map children: %s", e)

    def reset(self) -> None:
        for _, task in list(self._running.values()):
            task.cancel()
