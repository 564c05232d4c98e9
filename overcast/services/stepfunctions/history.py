"""An execution's history and where a run of states is (History, Scope), the JSON and time
formatting they share, and how branches and iterations run together (gather_or_fail): used by
the interpreter and by Map states (maps.py) alike."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import orjson

_ISO_SECONDS: dict[int, str] = {}


def iso(epoch: float) -> str:
    """2024-01-02T03:04:05.678Z; the part up to the second is formatted once per second."""
    second, millis = divmod(round(epoch * 1000), 1000)  # (rounded: 0.127 is 126.99999... ms as a float)
    prefix = _ISO_SECONDS.get(second)
    if prefix is None:
        if len(_ISO_SECONDS) > 64:
            _ISO_SECONDS.clear()
        prefix = _ISO_SECONDS[second] = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
    return f"{prefix}{millis:03d}Z"


def dumps(value) -> str:
    return orjson.dumps(value).decode()


# Events that the next event on AWS does not name as its previous one (the next iteration's
# MapIterationStarted, and the Map or Parallel state's StateExited, name the event before them).
UNLINKED = frozenset(("MapIterationSucceeded", "MapStateSucceeded", "ParallelStateSucceeded"))


class History:
    """An execution's events, numbered, each with the id of the event before it on its path.
    STANDARD executions commit them at checkpoints; EXPRESS executions keep none."""

    sink = None  # called with the events committed(): the execution's CloudWatch Logs (execution_logs.py)

    def __init__(self, keep: bool, next_id: int = 1):
        self.keep = keep
        self.next_id = next_id
        self.pending: list[dict] = []
        self.last_linked = next_id - 1  # the last event not in UNLINKED

    @property
    def last_id(self) -> int:
        return self.next_id - 1

    def add(self, kind: str, previous: int = 0, **details) -> int:
        event_id = self.next_id
        self.next_id += 1
        if kind not in UNLINKED:
            self.last_linked = event_id
        if self.keep:
            event = {"timestamp": time.time(), "type": kind, "id": event_id, "previousEventId": previous}
            event.update(details)
            self.pending.append(event)
        return event_id

    def take(self) -> list[dict]:
        events, self.pending = self.pending, []
        return events

    def committed(self, events: list[dict]) -> None:
        """Events taken are committed: on to the sink (the log group), which hears only of what the
        history kept."""
        if self.sink is not None and events:
            self.sink(events)


class Scope:
    """Where a run of states is: its variables, the id of the last event on its path, and what the
    running state assigned (its StateExited event lists them)."""

    __slots__ = ("variables", "last_event", "top", "map_item", "assigned")

    def __init__(self, variables: dict, last_event: int, top: bool, map_item: dict | None = None):
        self.variables = variables
        self.last_event = last_event
        self.top = top
        self.map_item = map_item
        self.assigned: dict = {}


async def gather_or_fail(coroutines):
    """Run them together (Parallel branches, Map iterations); the first failure cancels the others
    and is raised."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
