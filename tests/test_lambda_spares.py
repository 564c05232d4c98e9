"""Python runtimes started ahead of cold starts (overcast/runtime/spares.py), with real interpreters:
on Linux spares are forked from a zygote per interpreter, so that a burst of cold starts gets its
spares at once, each the server's own child (CLONE_PARENT) in a session of its own; a spare taken
is replaced at once; a zygote that dies is replaced and the spares it forked live on. Elsewhere
(and here with zygotes=False) each spare is an interpreter of its own, one loading at a time."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

import pytest

from overcast.runtime import spares as spares_module
from overcast.runtime.sandbox import FunctionSpec
from overcast.runtime.spares import Spares

zygotes = pytest.mark.skipif(not spares_module._ZYGOTES, reason="zygotes need Linux (clone, pidfd)")


def _spec(code_dir: str) -> FunctionSpec:
    return FunctionSpec(key="k", account="000000000000", region="us-east-1", name="f", version="$LATEST",
                        arn="arn:aws:lambda:us-east-1:000000000000:function:f", runtime="python3.11",
                        handler="app.handler", memory=128, timeout=3, code_dir=code_dir, opt_dir=None,
                        environment={}, log_group="/aws/lambda/f", endpoint="http://127.0.0.1:1",
                        interpreter=[sys.executable, "-m", "awslambdaric", "app.handler"])


async def _until(condition, seconds: float = 60) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not reached in time")


def _status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as f:
        return {k: v.strip() for k, v in (line.split(":", 1) for line in f if ":" in line)}


async def _release(spare) -> int:
    """Its stdin closed without a function: it exits (0), and is reaped by the server's watch."""
    os.close(spare.stdin_fd)
    code = await asyncio.wait_for(spare.process.wait(), 30)
    os.close(spare.read_fd)
    return code


@zygotes
def test_a_burst_of_cold_starts_gets_spares_forked_at_once_each_the_servers_child(tmp_path):
    async def scenario():
        spares = Spares(2)
        key = (sys.executable, False)
        spec = _spec(str(tmp_path))
        try:
            spares.want(*key)
            await _until(lambda: len(spares._ready.get(key, ())) == 2)
            zygote = spares._zygote[key]
            assert _status(zygote.process.pid)["Threads"] == "1"  # forks copy no other thread's lock
            begin = time.perf_counter()
            burst = await asyncio.gather(*(spares.take(spec) for _ in range(6)))  # 2 ready, 4 forked at once
            took = time.perf_counter() - begin
            assert all(spare is not None and spare.loaded.done() for spare in burst)
            assert len({spare.process.pid for spare in burst}) == 6
            assert took < 5, took  # forks: milliseconds each (an interpreter's start: 50-250 ms of CPU)
            for spare in burst:
                status = _status(spare.process.pid)
                assert status["PPid"] == str(os.getpid())  # the server's child, not the zygote's
                # a session of its own (made by the spare once forked: the pid is answered before)
                await _until(lambda spare=spare: os.getsid(spare.process.pid) == spare.process.pid)
                assert status["Threads"] == "1"
            await _until(lambda: len(spares._ready.get(key, ())) == 2)  # each taken replaced
            assert [await _release(spare) for spare in burst] == [0] * 6
            assert _status(zygote.process.pid)["PPid"] == str(os.getpid())
        finally:
            spares.stop()

    asyncio.run(scenario())


@zygotes
def test_a_zygote_that_dies_is_replaced_and_the_spares_it_forked_live_on(tmp_path):
    async def scenario():
        spares = Spares(1)
        key = (sys.executable, False)
        spec = _spec(str(tmp_path))
        try:
            spares.want(*key)
            await _until(lambda: len(spares._ready.get(key, ())) == 1)
            first = spares._zygote[key]
            kept = await spares.take(spec)
            await _until(lambda: len(spares._ready.get(key, ())) == 1)
            os.kill(first.process.pid, signal.SIGKILL)
            await _until(lambda: first.closed)
            assert kept.process.returncode is None and _status(kept.process.pid)["PPid"] == str(os.getpid())
            taken = [await spares.take(spec), await spares.take(spec)]  # the one forked before, then a new zygote's
            assert all(spare is not None for spare in taken)
            assert spares._zygote[key] is not first and spares._zygote[key].ever_loaded
            assert [await _release(spare) for spare in (kept, *taken)] == [0, 0, 0]
        finally:
            spares.stop()

    asyncio.run(scenario())


def test_spares_that_are_interpreters_of_their_own_load_one_at_a_time_and_are_replaced(tmp_path):
    async def scenario():
        spares = Spares(2, zygotes=False)
        key = (sys.executable, False)
        spec = _spec(str(tmp_path))
        taken = []
        try:
            spares.want(*key)

            def loaded() -> int:
                return sum(spare.loaded.done() for spare in spares._ready.get(key, ()))

            await _until(lambda: loaded() == 2 and key not in spares._starting)
            assert not spares._zygote
            taken.append(await spares.take(spec))
            assert taken[0] is not None and taken[0].loaded.done()
            await _until(lambda: loaded() == 2 and key not in spares._starting)  # replaced
            assert [await _release(spare) for spare in taken] == [0]
        finally:
            spares.stop()

    asyncio.run(scenario())


def test_no_spares_wanted_starts_no_zygote(tmp_path):
    async def scenario():
        spares = Spares(0)
        try:
            spares.want(sys.executable, False)
            assert await spares.take(_spec(str(tmp_path))) is None  # a fresh start
            await asyncio.sleep(0.2)
            assert not spares._zygote and not spares._ready.get((sys.executable, False))
        finally:
            spares.stop()

    asyncio.run(scenario())
