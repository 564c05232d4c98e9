"""A mapping's poller that fails on something unexpected (a defect met by one batch) polls again
from its checkpoint after a back-off, instead of stopping for good (engine/esm.py
Pollers._keep_running): in process, with the poll itself replaced by one that fails twice."""

from __future__ import annotations

import asyncio
import logging

import pytest

from overcast.engine import esm
from overcast.storage.errors import StorageUnavailable


def test_a_poller_that_raises_polls_again_after_a_doubling_back_off(monkeypatch, caplog):
    waits = []

    async def wait(seconds):  # the waits asked for, none waited
        waits.append(seconds)

    monkeypatch.setattr(esm.asyncio, "sleep", wait)
    failures = [RuntimeError("a defect"), StorageUnavailable(), *(RuntimeError("again") for _ in range(7))]
    polls = []

    async def poll():
        polls.append(len(waits))
        if failures:
            raise failures.pop(0)

    pollers = esm.Pollers(providers=None, store=None)
    with caplog.at_level(logging.ERROR, logger="overcast.esm"):
        asyncio.run(pollers._keep_running({"UUID": "m-1"}, poll))
    assert len(polls) == 10  # eight defects and the database away, then a poll that returned
    # a defect: 1 s, doubling to a minute; the database away: its own short wait
    assert waits == [1.0, esm.STORAGE_RETRY_SECONDS, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    assert [r.message for r in caplog.records][:2] == [
        "event source mapping m-1 failed; polling again in 1 s", "event source mapping m-1 failed; polling again in 2 s"]


def test_a_cancelled_poller_stops_at_once():
    async def main():
        started = asyncio.Event()

        async def poll():
            started.set()
            await asyncio.sleep(60)

        task = asyncio.ensure_future(esm.Pollers(None, None)._keep_running({"UUID": "m-2"}, poll))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
