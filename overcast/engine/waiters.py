"""Wake-ups for work that waits on a key (an SQS queue, a stream shard...): no sleep loops.

A waiter registers a future under a key and sleeps until someone calls `notify(key)` or its
timeout passes. Everything runs on the event loop, so a check-then-wait sequence without an
`await` in between cannot miss a notification. The structure holds no state of its own: it is
wake-up machinery only, and `cancel_all` (reset, shutdown) releases every waiter.

In a cluster (storage/coordination.py) a Waiters has a channel: `notify` also publishes the key
to the other nodes, whose Waiters on the same channel wake their own waiters. On one node there
is no channel and nothing more is done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable


class Waiters:
    __slots__ = ("_waiting", "_channel")

    def __init__(self, channel=None) -> None:
        self._waiting: dict[Hashable, set[asyncio.Future]] = {}
        self._channel = channel
        if channel is not None:
            channel.subscribe(self._wake, self._wake_all)

    def has_waiters(self, key: Hashable) -> bool:
        """Whether a notify may wake anyone (on another node, it may)."""
        return key in self._waiting or self._channel is not None

    async def wait(self, key: Hashable, timeout: float) -> bool:
        """Sleep until notified (True) or until `timeout` seconds pass (False)."""
        if timeout <= 0:
            return False
        future = asyncio.get_running_loop().create_future()
        waiting = self._waiting.get(key)
        if waiting is None:
            waiting = self._waiting[key] = set()
        waiting.add(future)
        try:
            await asyncio.wait_for(future, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            waiting.discard(future)
            if not waiting and self._waiting.get(key) is waiting:
                del self._waiting[key]

    def notify(self, key: Hashable) -> None:
        """Wake every waiter on `key`, on every node (they re-check their condition themselves)."""
        self._wake(key)
        if self._channel is not None:
            self._channel.publish(key)

    def _wake(self, key: Hashable) -> None:
        waiting = self._waiting.get(key)
        if waiting:
            for future in waiting:
                if not future.done():
                    future.set_result(None)

    def _wake_all(self) -> None:
        for key in list(self._waiting):
            self._wake(key)

    def notify_all(self) -> None:
        """Wake every waiter of this node (reset, shutdown)."""
        self._wake_all()
