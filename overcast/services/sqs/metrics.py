"""The AWS/SQS metrics SQS publishes to CloudWatch, per QueueName, as AWS documents them:
NumberOfMessagesSent and SentMessageSize per message sent, NumberOfMessagesReceived per
ReceiveMessage that returned messages (their number), NumberOfEmptyReceives per one that returned
none, NumberOfMessagesDeleted per message deleted; and once a minute, for each queue active in the
last six hours (AWS's rule), the gauges ApproximateNumberOfMessagesVisible, ...NotVisible and
...Delayed.

Nothing of this is in a request's path beyond a dict update: a queue's points of a minute are
summed in memory (one statistic set per metric) and written to CloudWatch (its provider's
`record`) in one transaction half a second later; a kill -9 in that half second loses them. On a
cluster each node publishes what it served."""

from __future__ import annotations

import asyncio
import time

from overcast.services.cloudwatch.common import dimensions_key

ACTIVE_SECONDS = 6 * 3600  # AWS publishes a queue's gauges while it was active in the last six hours
FLUSH_DELAY = 0.5


class SqsMetrics:
    def __init__(self, provider):
        self._provider = provider
        self._sums: dict[tuple, list] = {}  # (account, region, queue, metric, minute) -> [count, sum, min, max]
        self._flush: asyncio.TimerHandle | None = None
        self._gauges: asyncio.TimerHandle | None = None
        self._active: dict[tuple[str, str, str], tuple] = {}  # (account, region, name) -> (queue, last active)
        self._tasks: set[asyncio.Task] = set()

    def note(self, queue, metric: str, value: float, size: float | None = None) -> None:
        """A data point of `metric` for the queue (and, with `size`, one of SentMessageSize). The
        points of a queue's metric in one minute are summed into one statistic set before they
        are written: a busy queue adds two rows a minute per metric, not one per message."""
        now = time.time()
        self._add(queue, metric, value, now)
        if size is not None:
            self._add(queue, "SentMessageSize", size, now)

    def _add(self, queue, metric: str, value: float, now: float) -> None:
        minute = int(now) // 60 * 60_000  # standard resolution: stored at its minute
        key = (queue.account, queue.region, queue.name, metric, minute)
        stats = self._sums.get(key)
        if stats is None:
            if self._flush is None:
                try:
                    loop = asyncio.get_running_loop()
                except RuntimeError:  # called outside the server (a unit test of the provider): nothing to publish to
                    return
                self._flush = loop.call_later(FLUSH_DELAY, self._spawn_flush)
                if self._gauges is None:
                    self.active(queue)
            self._sums[key] = [1.0, value, value, value]
            self._active[(queue.account, queue.region, queue.name)] = (queue, now)
        else:
            stats[0] += 1
            stats[1] += value
            if value < stats[2]:
                stats[2] = value
            elif value > stats[3]:
                stats[3] = value

    def active(self, queue) -> None:
        """The queue was used (or created): its gauges are published each minute for six hours."""
        self._active[(queue.account, queue.region, queue.name)] = (queue, time.time())
        if self._gauges is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # outside the server
                return
            self._gauges = loop.call_at(loop.time() + 60 - time.time() % 60, self._spawn_gauges)

    def forget(self, account: str, region: str, name: str) -> None:
        self._active.pop((account, region, name), None)

    def stop(self) -> None:
        for handle in (self._flush, self._gauges):
            if handle is not None:
                handle.cancel()
        self._flush = self._gauges = None
        self._sums.clear()
        self._active.clear()
        for task in list(self._tasks):
            task.cancel()

    def _spawn(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _spawn_flush(self) -> None:
        self._flush = None
        sums, self._sums = self._sums, {}
        batches: dict[tuple[str, str], list] = {}
        for (account, region, name, metric, minute), (count, total, low, high) in sums.items():
            batches.setdefault((account, region), []).append(
                ("AWS/SQS", metric, _dimensions(name), minute, count, total, low, high,
                 "Bytes" if metric == "SentMessageSize" else "Count"))
        self._spawn(self._write(batches))

    async def _write(self, batches: dict) -> None:
        cloudwatch = await self._provider.providers.get("cloudwatch")
        for (account, region), points in batches.items():
            cloudwatch.record(account, region, points)

    def _spawn_gauges(self) -> None:
        self._gauges = None
        now = time.time()
        store = self._provider.store
        batches: dict[tuple[str, str], list] = {}
        minute = int(now) // 60 * 60_000
        for key, (queue, last) in list(self._active.items()):
            if now - last > ACTIVE_SECONDS:
                del self._active[key]
                continue
            now_ms = int(now * 1000)
            visible, in_flight, delayed = store.counts(queue.id, now_ms, now_ms - queue.retention_ms)
            dims = _dimensions(queue.name)
            batches.setdefault((queue.account, queue.region), []).extend(
                ("AWS/SQS", metric, dims, minute, 1.0, float(n), float(n), float(n), "Count")
                for metric, n in (("ApproximateNumberOfMessagesVisible", visible),
                                  ("ApproximateNumberOfMessagesNotVisible", in_flight),
                                  ("ApproximateNumberOfMessagesDelayed", delayed)))
        if batches:
            self._spawn(self._write(batches))
        if self._active:
            loop = asyncio.get_running_loop()
            self._gauges = loop.call_at(loop.time() + 60 - time.time() % 60, self._spawn_gauges)


def _dimensions(name: str) -> str:
    return dimensions_key([{"Name": "QueueName", "Value": name}])
