"""The trace over HTTP, under /_overcast/traces (the contract the console codes against:
TRACE_CONTRACT.md in the project's shared notes; docs/tracing.md):

- GET /_overcast/traces?limit=50&service=&status=&resource=&before=  summaries, newest first
- GET /_overcast/traces/{traceId}?offset=0&limit=1000                 one trace's spans, by start
- GET /_overcast/traces/stream?service=&status=&resource=             server-sent events: each span as it ends

Same-origin reads only: overcast.security refuses a page on another origin before these run.
"""

from __future__ import annotations

import asyncio
import threading
from urllib.parse import parse_qs

import orjson

from overcast.aws.context import HttpRequest, HttpResponse
from overcast.tracing import RECORDER, Span

PREFIX = "/_overcast/traces"
KEEP_ALIVE_SECONDS = 15.0
MAX_LIST = 1000
MAX_PAGE = 5000
QUEUE_LIMIT = 10_000  # spans waiting for a slow stream reader; beyond, they are dropped (and said so)


class BadRequest(Exception):
    pass


def handles(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


async def serve(request: HttpRequest) -> HttpResponse:
    path = request.path.rstrip("/")
    if request.method not in ("GET", "HEAD"):
        return _json(405, {"message": f"{request.method} is not allowed on {request.path}; use GET."},
                     [("Allow", "GET, HEAD")])
    query = {key: values[-1] for key, values in parse_qs(request.query_string, keep_blank_values=True).items()}
    try:
        if path == PREFIX:
            return _json(200, {"traces": RECORDER.traces(
                limit=_int(query, "limit", 50, 1, MAX_LIST), service=query.get("service") or None,
                status=_status(query), resource=query.get("resource") or None, before=_float(query, "before"))})
        if path == PREFIX + "/stream":
            return _stream(query, head=request.method == "HEAD")
        trace_id = path[len(PREFIX) + 1:]
        if "/" in trace_id:
            return _json(404, {"message": f"No overcast endpoint GET {request.path}"})
        offset = _int(query, "offset", 0, 0, None)
        limit = _int(query, "limit", 1000, 1, MAX_PAGE)
    except BadRequest as e:
        return _json(400, {"message": str(e)})
    root = RECORDER.trace(trace_id)
    if root is None:
        return _json(404, {"message": f"Trace {trace_id} is not among the {RECORDER.max_traces} most recent traces "
                                      "overcast keeps (OVERCAST_TRACE_TRACES)."})
    spans = sorted(root.spans(), key=_start)
    page = spans[offset:offset + limit]
    following = offset + limit if offset + limit < len(spans) else None
    return _json(200, {"traceId": trace_id, "spans": [s.to_json() for s in page], "spanCount": len(spans),
                       "dropped": root.dropped, "nextOffset": following})


def _start(span: Span) -> float:
    return span.start


def _int(query: dict, name: str, default: int, low: int, high: int | None) -> int:
    text = query.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"{name} must be an integer, not {text!r}.") from None
    if value < low or (high is not None and value > high):
        raise BadRequest(f"{name} must be between {low} and {high}." if high is not None
                         else f"{name} must be at least {low}.")
    return value


def _float(query: dict, name: str) -> float | None:
    text = query.get(name)
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise BadRequest(f"{name} must be a time in epoch seconds, not {text!r}.") from None


def _status(query: dict) -> str | None:
    status = query.get("status") or None
    if status not in (None, "ok", "error"):
        raise BadRequest(f"status must be ok or error, not {status!r}.")
    return status


def _json(status: int, payload: dict, headers: list | None = None) -> HttpResponse:
    return HttpResponse(status, [("content-type", "application/json"), ("cache-control", "no-store"),
                                 *(headers or [])], orjson.dumps(payload))


# -- the live stream -------------------------------------------------------------------------------

def _matcher(query: dict):
    service = query.get("service") or None
    status = _status(query)
    resource = query.get("resource") or None

    def matches(span: Span) -> bool:
        return ((service is None or span.service == service) and (status is None or span.status == status)
                and (resource is None or resource in (span.resource_arn() or "")))

    return matches


def _stream(query: dict, head: bool = False) -> HttpResponse:
    matches = _matcher(query)
    headers = [("content-type", "text/event-stream"), ("cache-control", "no-store"), ("x-accel-buffering", "no")]
    if head:
        return HttpResponse(200, headers, b"")
    return HttpResponse(200, headers, stream=_events(matches))


async def _events(matches):
    """`event: span` for each span that ends (filtered), `: keep-alive` comments when quiet. The
    subscriber only queues the span (on the loop's thread, or handed over from another thread);
    rendering happens here, off the hot path."""
    loop = asyncio.get_running_loop()
    loop_thread = threading.get_ident()
    queue: asyncio.Queue = asyncio.Queue()
    dropped = 0

    def offer(span: Span) -> None:
        nonlocal dropped
        if queue.qsize() >= QUEUE_LIMIT:
            dropped += 1
        else:
            queue.put_nowait(span)

    def push(span: Span) -> None:
        if threading.get_ident() == loop_thread:
            offer(span)
        else:
            loop.call_soon_threadsafe(offer, span)

    unsubscribe = RECORDER.subscribe(push)
    try:
        yield b": overcast trace stream\n\n"
        while True:
            try:
                span = await asyncio.wait_for(queue.get(), KEEP_ALIVE_SECONDS)
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            batch = [span]
            while not queue.empty():
                batch.append(queue.get_nowait())
            out = []
            if dropped:
                out.append(b"event: dropped\ndata: " + orjson.dumps({"count": dropped}) + b"\n\n")
                dropped = 0
            for span in batch:
                if matches(span):
                    out.append(b"event: span\ndata: " + orjson.dumps(span.to_json()) + b"\n\n")
            if out:
                yield b"".join(out)
    finally:
        unsubscribe()
