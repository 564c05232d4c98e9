"""What tracing costs in time (not instructions), in one process: blocks of requests alternate
between modes of the same app, each block's CPU time taken; the medians of each mode's blocks are
compared. A shared machine's drift falls on every mode alike, so the ratios are steady to about a
percent in a run of a minute, where wrk's rounds through two servers spread over several.

    .venv/bin/python bench/trace_interleaved.py [OP] [blocks] [--modes=on,off]
    # OP: bench/inprocess.py's (ddb-get, the default; sqs-send, ...); 200 requests a block

Modes (the first ones are compared with the last):
  on        tracing on, as served
  off       tracing off (open_api answers None)
  no-ring   on, with a ring of one (each span freed by the next one's append): what keeping the
            last 1,000 traces costs is on minus this
  no-span   open_api answers one span made beforehand and close_api does nothing: what the
            dispatcher's own lines for the span cost (the calls, its attribute stores)
  floor     the least a request's record could cost in Python: no-span's shared span made current
            (the context variable set), two clock readings, and at the end one tuple of the
            record's fields appended to a deque of 1,000 (its eviction in C): no Span per request

docs/tracing.md ("Cost in time") says what it found: a span costs several times more time in a
request than its instructions cost alone (bench/trace_calls.py), since the request's other work
has pushed tracing's code and data out of the processor's caches by the time it runs.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections import deque

import inprocess

from overcast import tracing
from overcast.aws import dispatch

BLOCK = 200


class _Modes:
    """Switches the running app between the modes (module attributes the dispatcher reads)."""

    def __init__(self):
        self.ring = tracing.RECORDER._ring
        self.open_api, self.close_api = dispatch.open_api, dispatch.close_api
        shared = tracing.Span(None, "api", "dynamodb", "", "000000000000", "us-east-1")
        self.fixed_open = lambda *args: shared
        self.no_close = lambda *args: None
        records = deque(maxlen=1000)
        clock, current = tracing._time, tracing._current

        def floor_open(header, service, account, region, body, own_task=False):
            current.set(shared)
            shared.start = clock()
            shared._request = body
            return shared

        def floor_close(span, status, body, own_task=False):
            records.append((span.service, span.account, span.region, span.start, span._request, span.operation,
                            span._hint, span.error, status, body, clock()))

        self.floor = floor_open, floor_close

    def use(self, mode: str) -> None:
        recorder = tracing.RECORDER
        recorder.enabled = mode != "off"
        recorder._ring = deque(maxlen=1) if mode == "no-ring" else self.ring
        recorder._room = 1 << 30 if mode == "no-ring" else recorder.max_traces
        dispatch.open_api, dispatch.close_api = (
            (self.fixed_open, self.no_close) if mode == "no-span" else self.floor if mode == "floor" else
            (self.open_api, self.close_api))


async def run(op: str, blocks: int, modes: list[str]) -> None:
    app, request, send = await inprocess.prepare(op, blocks * len(modes) * BLOCK)
    switch = _Modes()
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    n = 50
    for block in range(blocks):
        for mode in modes if block % 2 == 0 else modes[::-1]:
            switch.use(mode)
            batch = [request(n + i) for i in range(BLOCK)]
            n += BLOCK
            started = time.thread_time()
            for service, target, body in batch:
                status, answer = await send(service, target, body)
                assert status == 200, answer
            times[mode].append((time.thread_time() - started) / BLOCK * 1e6)
    switch.use("on")
    base = statistics.median(times[modes[-1]])
    for mode in modes:
        median = statistics.median(times[mode])
        low, _, high = statistics.quantiles(times[mode], n=4)
        print(f"{op} {mode:<8} {median:7.2f} us CPU a request (quartiles {low:.2f}-{high:.2f}), "
              f"{median / base - 1:+.1%} against {modes[-1]} ({blocks} blocks of {BLOCK})")
    await app.close()


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    op = args[0] if args else "ddb-get"
    blocks = int(args[1]) if len(args) > 1 else 80
    modes = next((a.split("=", 1)[1].split(",") for a in sys.argv if a.startswith("--modes=")),
                 ["on", "no-ring", "floor", "no-span", "off"])
    asyncio.run(run(op, blocks, modes))


if __name__ == "__main__":
    main()
