"""What tracing's front door costs alone, without the rest of a request: `open_api`, the operation
and resource hint dispatch sets, `close_api`, around a GetItem-sized request and answer, each in a
fresh context (as each request's own asyncio task has), the trace ring full. Run under callgrind with
two counts; the difference of the totals over the difference of the counts is one request's cost:

    valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python bench/trace_calls.py 20000 [MODE]
    valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python bench/trace_calls.py 60000 [MODE]

MODE: on (the default) or off: on minus off is what tracing adds (docs/tracing.md, "Cost"). To see
what its parts cost, on with one part taken out (on minus that mode is the part's cost):
  no-context  the span is not made current (the context variable's set replaced by a C call, `id`)
  no-ring     the ring keeps no span (a deque of one: each span is freed by the next one's append,
              so no span lives on: neither the collector's visits to kept spans nor the eviction)
"""

from __future__ import annotations

import contextvars
import os
import sys
from collections import deque

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from overcast import tracing  # noqa: E402
from overcast.tracing import close_api, open_api  # noqa: E402

BODY = b'{"TableName": "bench", "Key": {"pk": {"S": "user-1"}, "sk": {"N": "1"}}}' + b" " * 60
ANSWER = b'{"Item": {"pk": {"S": "user-1"}, "sk": {"N": "1"}, "name": {"S": "a short order event"}, "total": {"N": "42.5"}}}'
PARAMS = {"TableName": "bench", "Key": {}}


def one(hint: str = "TableName") -> None:
    span = open_api(None, "dynamodb", "000000000000", "us-east-1", BODY, True)
    answer = bytes(ANSWER)  # (an answer made by each request, freed or kept by the span)
    if span is not None:  # what overcast.aws.dispatch does between the two
        span.operation = "GetItem"
        if hint is not None:
            value = PARAMS.get(hint)
            span._hint = value if value.__class__ is str else None
        close_api(span, 200, answer, True)


def main() -> None:
    count = int(sys.argv[1])
    mode = sys.argv[2] if len(sys.argv) > 2 else "on"
    tracing.RECORDER.configure(mode != "off", 1000, 100_000, 4096)
    if mode == "no-context":
        stand_in = {"set": staticmethod(id), "get": staticmethod(lambda: None)}
        tracing._current = type("NotCurrent", (), stand_in)()
    elif mode == "no-ring":
        tracing.RECORDER._ring = deque(maxlen=1)
    elif mode not in ("on", "off"):
        sys.exit(f"unknown mode {mode}")
    Context = contextvars.Context
    for _ in range(1200):  # the ring full: every request measured evicts the oldest trace
        Context().run(one)
    for _ in range(count):
        Context().run(one)


if __name__ == "__main__":
    main()
