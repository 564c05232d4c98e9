"""Warm sandboxes per function version, concurrency accounting, and idle reaping (timers)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import shutil
import subprocess
import sys
from collections.abc import Callable

from overcast.runtime import node_runtimes, python_runtimes
from overcast.runtime.sandbox import FunctionSpec, InitError, Outcome, Sandbox
from overcast.runtime.spares import SPARES

log = logging.getLogger("overcast.lambda")

PROVISIONED = "provisioned-concurrency"  # AWS_LAMBDA_INITIALIZATION_TYPE of provisioned sandboxes


class Throttled(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Interpreters:
    """Which Python runs each python3.x runtime: one installed for it by `overcast
    install-python-runtimes` (under `root`: python_runtimes.py), else the runtime's own version when
    one with awslambdaric is on PATH, else the host's (logged once). Deciding on PATH runs the
    candidate (a pyenv shim takes 100-500 ms), so it is done once per runtime, as a subprocess off
    the event loop, started ahead of need (`prepare`) rather than on a first invocation's path."""

    def __init__(self, root: str = "", node_root: str = ""):
        self.host = f"{sys.version_info[0]}.{sys.version_info[1]}"
        self.root = root
        self.node_root = node_root
        self._nodes: dict[str, str | None] = {}
        self._decided: dict[str, asyncio.Task] = {}
        self._installed: dict[str, python_runtimes.Installed | None] = {}

    def installed(self, runtime: str) -> python_runtimes.Installed | None:
        """The runtime's installation, when one was installed for it (read once: a small file)."""
        if runtime not in self._installed:
            wanted = self.root and runtime[len("python"):] != self.host
            self._installed[runtime] = python_runtimes.find(self.root, runtime) if wanted else None
            if self._installed[runtime] is not None:
                log.info("runtime %s: running on %s", runtime, self._installed[runtime].executable)
        return self._installed[runtime]

    def node_for(self, runtime: str) -> str | None:
        """The Node.js installed for a nodejs runtime (node_runtimes.py), or None: the host's."""
        if runtime not in self._nodes:
            self._nodes[runtime] = node_runtimes.find(self.node_root, runtime) if self.node_root else None
            if self._nodes[runtime] is not None:
                log.info("runtime %s: running on %s", runtime, self._nodes[runtime])
        return self._nodes[runtime]

    def prepare(self, runtimes) -> None:
        for runtime in runtimes:
            if runtime.startswith("python") and runtime[len("python"):] != self.host and runtime not in self._decided \
                    and self.installed(runtime) is None:
                self._decided[runtime] = asyncio.get_running_loop().create_task(self._decide(runtime))

    async def python_for(self, runtime: str) -> str:
        if runtime[len("python"):] == self.host:
            return sys.executable
        installed = self.installed(runtime)
        if installed is not None:
            return installed.executable
        self.prepare([runtime])
        return await asyncio.shield(self._decided[runtime])

    async def _decide(self, runtime: str) -> str:
        wanted = runtime[len("python"):]
        candidate = shutil.which(f"python{wanted}")
        chosen = candidate if candidate and await _has_awslambdaric(candidate) else sys.executable
        if chosen == sys.executable:
            log.warning("runtime %s: no Python %s installed for it (`overcast install-python-runtimes`) or with "
                        "awslambdaric on PATH; running it on the host's Python %s (%s)",
                        runtime, wanted, self.host, sys.executable)
        else:
            log.warning("runtime %s: running on %s", runtime, chosen)
        return chosen


async def _has_awslambdaric(python: str) -> bool:
    try:
        probe = await asyncio.create_subprocess_exec(python, "-c", "import awslambdaric", stdin=subprocess.DEVNULL,
                                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return False
    try:
        return await asyncio.wait_for(probe.wait(), 10) == 0
    except TimeoutError:
        probe.kill()
        await probe.wait()
        return False


class Pool:
    """The sandboxes of one function version (one configuration revision)."""

    def __init__(self, key: str):
        self.key = key
        self.idle: list[Sandbox] = []
        self.all: set[Sandbox] = set()


class Pools:
    def __init__(self, account_limit: int, idle_seconds: float, live_nodes: Callable[[], int] = lambda: 1,
                 python_runtimes_path: str = "", node_runtimes_path: str = ""):
        self.account_limit = account_limit
        # the account's unreserved concurrency is split among a cluster's live nodes (each admits
        # its share, counted in memory: no statement per invoke), as API Gateway's throttles are;
        # reserved concurrency is the cluster's exactly (lambda_slots, in the provider)
        self.live_nodes = live_nodes
        self.idle_seconds = idle_seconds
        self.pools: dict[str, Pool] = {}
        self.latest_key: dict[tuple, str] = {}  # (account, region, name, version) -> current key
        self.running_account: dict[tuple, int] = {}
        self.running_function: dict[tuple, int] = {}
        self.on_demand_function: dict[tuple, int] = {}  # of those, the ones not on provisioned concurrency
        self.interpreters = Interpreters(python_runtimes_path, node_runtimes_path)
        self.spares = SPARES

    def running(self, account: str, region: str, name: str | None = None) -> int:
        if name is None:
            return self.running_account.get((account, region), 0)
        return self.running_function.get((account, region, name), 0)

    def _pool(self, spec: FunctionSpec) -> Pool:
        pool = self.pools.get(spec.key)
        if pool is None:
            pool = self.pools[spec.key] = Pool(spec.key)
            ident = (spec.account, spec.region, spec.name, spec.version)
            old = self.latest_key.get(ident)
            self.latest_key[ident] = spec.key
            if old and old != spec.key:
                self.retire(old)
        return pool

    def retire(self, key: str) -> None:
        """A function version's code or configuration changed: idle sandboxes go now, busy ones
        when they finish."""
        pool = self.pools.pop(key, None)
        if pool is None:
            return
        for sandbox in pool.idle:
            sandbox.kill()
            pool.all.discard(sandbox)
        pool.idle.clear()

    def retire_function(self, account: str, region: str, name: str) -> None:
        for ident, key in list(self.latest_key.items()):
            if ident[:3] == (account, region, name):
                self.retire(key)
                del self.latest_key[ident]

    async def run(self, spec: FunctionSpec, request_id: str, payload: bytes, invoked_arn: str,
                  client_context: str | None, reserved: int | None, reserved_total: int,
                  provisioned: int = 0) -> Outcome:
        """Run one invocation; raises Throttled when the concurrency limits are reached. An idle
        sandbox of the version's provisioned concurrency runs it first, as on AWS; else it runs on
        demand, within what the function's reservation leaves beside its `provisioned` total."""
        fkey = (spec.account, spec.region, spec.name)
        akey = (spec.account, spec.region)
        pool = self._pool(spec)
        sandbox = self._idle_provisioned(pool)
        on_demand = sandbox is None
        if on_demand:
            if reserved is not None:
                if self.on_demand_function.get(fkey, 0) >= reserved - provisioned:
                    raise Throttled("ReservedFunctionConcurrentInvocationLimitExceeded")
            elif self.running_account.get(akey, 0) >= self._unreserved_share(reserved_total):
                raise Throttled("ConcurrentInvocationLimitExceeded")
            self.on_demand_function[fkey] = self.on_demand_function.get(fkey, 0) + 1
        self.running_function[fkey] = self.running_function.get(fkey, 0) + 1
        self.running_account[akey] = self.running_account.get(akey, 0) + 1
        try:
            return await self._run(spec, request_id, payload, invoked_arn, client_context, sandbox)
        finally:
            self.running_function[fkey] -= 1
            self.running_account[akey] -= 1
            if on_demand:
                self.on_demand_function[fkey] -= 1

    @staticmethod
    def _idle_provisioned(pool: Pool) -> Sandbox | None:
        """An idle sandbox of the pool's provisioned concurrency, taken out of the idle list."""
        for i in range(len(pool.idle) - 1, -1, -1):
            candidate = pool.idle[i]
            if candidate.spec.init_type == PROVISIONED and not candidate.dead:
                del pool.idle[i]
                candidate.idle_since = None
                return candidate
        return None

    def _unreserved_share(self, reserved_total: int) -> int:
        unreserved = max(0, self.account_limit - reserved_total)
        nodes = self.live_nodes()
        return unreserved if nodes <= 1 or not unreserved else max(1, unreserved // nodes)

    async def _run(self, spec, request_id, payload, invoked_arn, client_context, sandbox=None) -> Outcome:
        pool = self._pool(spec)
        init_ms = None
        while sandbox is None and pool.idle:
            candidate = pool.idle.pop()
            candidate.idle_since = None  # (its reaper's timer, if armed, finds it busy)
            if not candidate.dead:
                sandbox = candidate
                break
            pool.all.discard(candidate)
        if sandbox is None:
            sandbox = Sandbox(spec)
            pool.all.add(sandbox)
            try:
                init_ms = await sandbox.start(await self.spares.take(spec))
            except InitError as e:
                pool.all.discard(sandbox)
                return Outcome(e.payload, "Unhandled", e.lines, 0.0, e.init_ms, 0, fatal=True,
                               stream=sandbox.log_stream, init_failed=True)
        sandbox.busy = True
        try:
            outcome = await sandbox.invoke(request_id, payload, invoked_arn, client_context, init_ms=init_ms)
        except BaseException:
            sandbox.kill()
            pool.all.discard(sandbox)
            raise
        sandbox.busy = False
        if sandbox.dead or self.pools.get(spec.key) is not pool:
            sandbox.kill()
            pool.all.discard(sandbox)
        else:
            pool.idle.append(sandbox)
            loop = sandbox.loop
            sandbox.idle_since = loop.time()
            # one timer per idle period, not per invocation: a timer armed earlier that finds the
            # sandbox used since then arms itself again for the rest of its idle time
            if sandbox.idle_handle is None and sandbox.spec.init_type != PROVISIONED:
                sandbox.idle_handle = loop.call_at(sandbox.idle_since + self.idle_seconds, self._reap, pool, sandbox)
        return outcome

    def _reap(self, pool: Pool, sandbox: Sandbox) -> None:
        sandbox.idle_handle = None
        if sandbox.idle_since is None or sandbox not in pool.idle:
            return  # busy: armed again when it is idle again
        if sandbox.spec.init_type == PROVISIONED:
            return  # kept warm (provisioned concurrency)
        due = sandbox.idle_since + self.idle_seconds
        loop = asyncio.get_running_loop()
        if loop.time() < due:
            sandbox.idle_handle = loop.call_at(due, self._reap, pool, sandbox)
            return
        pool.idle.remove(sandbox)
        pool.all.discard(sandbox)
        sandbox.kill()

    async def prewarm(self, spec: FunctionSpec, count: int) -> int:
        """Provisioned concurrency: start sandboxes that are never reaped while idle; answers how
        many are ready."""
        pool = self._pool(spec)
        # its sandboxes tell the function so (AWS_LAMBDA_INITIALIZATION_TYPE), as on AWS
        provisioned_spec = dataclasses.replace(spec, init_type=PROVISIONED)
        missing = count - sum(1 for s in pool.all if s.spec.init_type == PROVISIONED and not s.dead)
        starts = []
        for _ in range(max(0, missing)):
            sandbox = Sandbox(provisioned_spec)
            pool.all.add(sandbox)
            starts.append(sandbox)
        results = await asyncio.gather(*(s.start() for s in starts), return_exceptions=True)
        for sandbox, result in zip(starts, results, strict=True):
            if isinstance(result, BaseException):
                pool.all.discard(sandbox)
                sandbox.kill()
            else:
                pool.idle.append(sandbox)
        return min(count, sum(1 for s in pool.all if s.spec.init_type == PROVISIONED and not s.dead))

    def stop(self) -> None:
        # (the spares hold no function's state: they stay, and the server's close stops them)
        for pool in self.pools.values():
            for sandbox in list(pool.all):
                sandbox.kill()
        self.pools.clear()
