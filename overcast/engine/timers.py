"""Keyed one-shot timers that start a coroutine at a wall-clock time, and the tasks they start.

Deliveries waiting for their next retry, scheduled rules and schedules waiting for their next
fire time: each is one timer on the event loop under a key (setting a key again replaces its
timer), never a loop that sleeps and looks. A provider keeps one Timers and calls `cancel_all`
at stop and reset; the work itself is in the database, so `start` can set the timers again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Hashable


class Timers:
    __slots__ = ("_handles", "_tasks")

    def __init__(self) -> None:
        self._handles: dict[Hashable, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task] = set()

    def at(self, key: Hashable, when: float, start: Callable[[], Coroutine]) -> None:
        """Run `start()` at epoch time `when` (at once when it has passed), replacing the key's timer."""
        self.cancel(key)
        delay = when - time.time()
        if delay <= 0:
            self.spawn(start())
            return

        def fire() -> None:
            self._handles.pop(key, None)
            self.spawn(start())

        self._handles[key] = asyncio.get_running_loop().call_later(delay, fire)

    def cancel(self, key: Hashable) -> None:
        handle = self._handles.pop(key, None)
        if handle is not None:
            handle.cancel()

    def spawn(self, coroutine: Coroutine) -> None:
        """Run a coroutine as a task that `cancel_all(tasks=True)` can stop."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cancel_all(self, tasks: bool = False) -> None:
        """Cancel every timer (reset); with tasks=True also the running tasks (shutdown)."""
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()
        if tasks:
            for task in list(self._tasks):
                task.cancel()
