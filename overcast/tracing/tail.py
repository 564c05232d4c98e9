"""`overcast trace`: reading the server-sent events of /_overcast/traces/stream and printing each
span as one line, colored: the time it ended, the trace (a color per trace, so one chain's lines
stand out), the span's name, status, duration and resource, and the error of a failed span."""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Iterator

_RESET = "\x1b[0m"
_DIM = "\x1b[2m"
_BOLD = "\x1b[1m"
_RED = "\x1b[31m"
_GREEN = "\x1b[32m"
_TRACE_COLORS = ("\x1b[36m", "\x1b[35m", "\x1b[33m", "\x1b[34m", "\x1b[96m", "\x1b[95m", "\x1b[93m", "\x1b[94m")


def read_events(stream) -> Iterator[tuple[str, str]]:
    """(event, data) for each server-sent event of a binary line stream (an HTTP response)."""
    event, data = "message", []
    while True:
        raw = stream.readline()
        if not raw:
            return
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
        elif line.startswith(":"):
            continue  # a comment (keep-alive)
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)


class Printer:
    def __init__(self, out, color: bool = False, as_json: bool = False):
        self.out = out
        self.color = color
        self.as_json = as_json

    def _paint(self, code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if self.color else text

    def event(self, event: str, data: str) -> None:
        if event == "dropped":
            count = json.loads(data).get("count")
            self.out.write(self._paint(_DIM, f"... {count} span(s) dropped (this reader fell behind)") + "\n")
        elif event == "span":
            span = json.loads(data)
            self.out.write((json.dumps(span) if self.as_json else self.line(span)) + "\n")
        self.out.flush()

    def line(self, span: dict) -> str:
        when = span.get("end") or span.get("start") or time.time()
        stamp = time.strftime("%H:%M:%S", time.localtime(when)) + f".{int(when * 1000) % 1000:03d}"
        trace = span.get("traceId") or ""
        short = trace[-8:]
        trace_color = _TRACE_COLORS[zlib.crc32(trace.encode()) % len(_TRACE_COLORS)]
        failed = span.get("status") == "error"
        status = self._paint(_RED if failed else _GREEN, "error" if failed else "ok   ")
        duration = span.get("durationMs")
        took = f"{duration:9.2f} ms" if isinstance(duration, (int, float)) else "        - ms"
        name = span.get("name") or ""
        if span.get("kind") == "hop":
            name = "↳ " + name
        parts = [self._paint(_DIM, stamp), self._paint(trace_color, short), self._paint(_BOLD, f"{name:<34}"),
                 status, took]
        if span.get("resource"):
            parts.append(span["resource"])
        if failed and span.get("error"):
            parts.append(self._paint(_RED, span["error"]))
        return "  ".join(parts)
