"""Keyed one-shot timers that start a coroutine at a wall-clock time, and the tasks they start.

Deliveries waiting for their next retry, scheduled rules and schedules waiting for their next
fire time: each is one timer on the event loop under a key (setting a key again replaces its
timer), never a loop that sleeps and looks. A provider keeps one Timers and calls `cancel_all`
at stop and reset; the work itself is in the database, so `start` can set the timers again.

In a cluster (storage/coordination.py) a Timers has a gate: the service's timers run on the one
node holding its lease. On another node, setting a timer arms nothing there: it asks the holder
to read the service's timed work again (`Gate.kick`); the holder's `start` then sets its timers
afresh (`rearming`: a key whose work is running right now is left to that work).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Hashable


class Timers:
    __slots__ = ("_handles", "_tasks", "_gate", "_running")

    def __init__(self, gate=None) -> None:
        self._handles: dict[Hashable, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task] = set()
        self._gate = gate
        self._running: dict[Hashable, asyncio.Task] = {}  # (cluster only) keys whose work runs now

    def at(self, key: Hashable, when: float, start: Callable[[], Coroutine]) -> None:
        """Run `start()` at epoch time `when` (at once when it has passed), replacing the key's timer."""
        gate = self._gate
        if gate is not None:
            if not gate.runs():
                gate.kick()
                return
            if gate.rearming and key in self._running:
                return
        self.cancel(key)
        delay = when - time.time()
        if delay <= 0:
            self._start(key, start)
            return

        def fire() -> None:
            self._handles.pop(key, None)
            self._start(key, start)

        self._handles[key] = asyncio.get_running_loop().call_later(delay, fire)

    def _start(self, key: Hashable, start: Callable[[], Coroutine]) -> None:
        task = self.spawn(start())
        if self._gate is not None:
            self._running[key] = task
            task.add_done_callback(lambda done: self._running.pop(key, None) if self._running.get(key) is done
                                   else None)

    def cancel(self, key: Hashable) -> None:
        handle = self._handles.pop(key, None)
        if handle is not None:
            handle.cancel()

    def spawn(self, coroutine: Coroutine) -> asyncio.Task:
        """Run a coroutine as a task that `cancel_all(tasks=True)` can stop."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def cancel_all(self, tasks: bool = False) -> None:
        """Cancel every timer (reset); with tasks=True also the running tasks (shutdown)."""
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()
        if tasks:
            for task in list(self._tasks):
                task.cancel()
