"""Python runtimes started ahead of cold starts (overcast/runtime/spares.py), with real interpreters:
a spare taken is replaced once its function has started (the sandbox says so: handed_over), and
a burst of cold starts (one that leaves no loaded spare behind) makes the pool keep one more, up
to twice the configured number."""

from __future__ import annotations

import asyncio
import os
import sys

from overcast.runtime.sandbox import FunctionSpec
from overcast.runtime.spares import Spares


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


def test_a_burst_of_cold_starts_keeps_one_more_spare_and_each_taken_is_replaced_once_handed_over(tmp_path):
    async def scenario():
        spares = Spares(2)
        key = (sys.executable, False)
        spec = _spec(str(tmp_path))
        taken = []
        try:
            spares.want(*key)

            def loaded() -> int:
                return sum(spare.loaded.done() for spare in spares._ready.get(key, ()))

            await _until(lambda: loaded() == 2 and key not in spares._starting)
            taken.append(await spares.take(spec))  # one loaded spare is left: no burst
            assert taken[0] is not None and taken[0].loaded.done()
            assert spares._wanted[key] == 2
            await asyncio.sleep(0.2)
            assert len(spares._ready[key]) == 1  # not replaced while its function starts
            taken.append(await spares.take(spec))  # the last one: no loaded spare left, a burst
            assert spares._wanted[key] == 3
            taken[0].handed_over()
            taken[1].handed_over()  # now they are replaced, and one more started
            await _until(lambda: loaded() == 3 and key not in spares._starting)
            assert len(spares._ready[key]) == 3
            for _ in range(4):  # more bursts: at most twice the configured number are kept
                taken.append(await spares.take(spec))
                if taken[-1] is not None:
                    taken[-1].handed_over()
            await _until(lambda: loaded() == 4 and key not in spares._starting)
            assert spares._wanted[key] == 4 and len(spares._ready[key]) == 4
        finally:
            spares.stop()
            for spare in taken:
                if spare is not None:
                    os.killpg(spare.process.pid, 9)
                    await spare.process.wait()
                    spare.discard()

    asyncio.run(scenario())
