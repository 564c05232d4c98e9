"""X-Ray and overcast's trace ring (overcast.tracing), both ways.

Segments that functions send join the trace they name: each segment and subsegment becomes a
span of kind "xray" in the ring (so /_overcast/traces/{id}, the console, `overcast trace` and the
OTLP export show it), parented by its `parent_id` — in a Lambda function, the X-Ray SDK's
subsegments have the invocation's span as parent, because _X_AMZN_TRACE_ID names it. An in-progress
segment is an open span until its complete document arrives.

The other way, overcast's own spans of a trace are X-Ray segments to the X-Ray API (segments.
span_document), next to the stored documents: overcast traces every request, so the X-Ray API sees
every trace of the ring, as if X-Ray tracing were active everywhere, except the calls to the X-Ray
API itself (reading traces must not make traces) and what a sampling decision left out: a Lambda
function's TracingConfig (PassThrough, invoked by no sampled caller) and a caller's Sampled=0.
"""

from __future__ import annotations

import orjson

from overcast import tracing
from overcast.services.xray import segments as seg

KIND = "xray"


def enabled() -> bool:
    return tracing.RECORDER.enabled


def _own(span) -> bool:
    """A span of overcast's own work that X-Ray shows: not a stored segment, not an X-Ray call, not
    work X-Ray's sampling left out (a PassThrough function invoked by an untraced caller, and its calls)."""
    return span.kind != KIND and span.service != "xray" and span.xray is not False


def _spans(trace_id: str) -> list:
    holder = tracing.RECORDER.trace(trace_id)
    return holder.spans() if holder is not None else []


def owner(trace_id: str) -> tuple[str, str] | None:
    """(account, region) of the overcast span a trace started with, if the ring holds the trace."""
    for span in _spans(trace_id):
        if _own(span) and span.account and span.region:
            return span.account, span.region
    return None


def spans_of(trace_id: str, account: str, region: str) -> list[dict]:
    """overcast's own spans of a trace (not the X-Ray ones: those are stored), as segment documents,
    when any span of the trace is the account's and region's."""
    spans = [s for s in _spans(trace_id) if _own(s)]
    if not any(s.account == account and s.region == region for s in spans):
        return []
    return [seg.span_document(_fields(s), tracing.DISPLAY.get(s.service, s.service)) for s in spans]


def _fields(span) -> dict:
    """What span_document reads of a span (TRACE_CONTRACT.md's names), without rendering payloads."""
    return {"traceId": span.trace_id, "spanId": span.span_id, "parentId": span.parent_id, "name": span.display_name,
            "kind": span.kind, "service": span.service, "operation": span.operation, "resource": span.resource_arn(),
            "account": span.account, "region": span.region, "start": span.start, "end": span.end,
            "status": span.status, "error": span.error,
            "attributes": {**(span.attributes or {}), **({"httpStatus": span.http_status} if span.http_status else {})}}


def trace_ids(account: str, region: str, start: float, end: float) -> list[tuple[str, float]]:
    """(trace id, latest time) of the ring's traces that have a span of the account and region
    which started or ended in [start, end]."""
    found = []
    for trace_id in tracing.RECORDER.trace_ids():
        latest = None
        for span in _spans(trace_id):
            if not _own(span) or span.account != account or span.region != region:
                continue
            when = span.end if span.end is not None else span.start
            if start <= when <= end or start <= span.start <= end:
                latest = when if latest is None else max(latest, when)
        if latest is not None:
            found.append((trace_id, latest))
    return found


def record(accepted: list[seg.Accepted], account: str, region: str) -> None:
    """Put accepted documents (and the subsegments nested in them) in the ring as spans."""
    if not tracing.RECORDER.enabled:
        return
    for item in accepted:
        doc = item.document
        service = _service_name(doc, item)
        _put(doc, item.trace_id, item.parent_id, account, region, service, item.text)
        for sub, parent_id in seg.walk(doc):
            _put(sub, item.trace_id, parent_id, account, region, service, None)


def _service_name(doc: dict, item: seg.Accepted) -> str:
    """The service a document's work belongs to (OTLP's service.name): a segment's own name; for
    an independent subsegment, its parent's service — in a function, the function."""
    if item.kind == "segment":
        return doc["name"]
    for span in _spans(item.trace_id):
        if span.span_id == item.parent_id:
            if span.kind == KIND:
                return (span.attributes or {}).get("xray.service") or span.name or doc["name"]
            resource = span.resource_arn() or ""
            if ":function:" in resource:
                return resource.split(":function:", 1)[1].split(":", 1)[0]
            return tracing.DISPLAY.get(span.service, span.service)
    return doc["name"]


def _put(doc: dict, trace_id: str, parent_id: str | None, account: str, region: str, service: str,
         text: str | None) -> None:
    span_id = doc.get("id")
    if not isinstance(span_id, str):
        return
    aws = doc.get("aws") if isinstance(doc.get("aws"), dict) else {}
    operation = aws.get("operation") if isinstance(aws.get("operation"), str) else (
        "Subsegment" if parent_id else "Segment")
    span = _find(trace_id, span_id) or tracing.joined(trace_id, span_id, parent_id, KIND, KIND, operation, account,
                                                       region, float(doc["start_time"]))
    span.name = doc.get("name")
    span.operation = operation
    span.start = float(doc["start_time"])
    resource = doc.get("resource_arn") or aws.get("function_arn")
    span.resource = resource if isinstance(resource, str) else None
    attributes = {"xray.service": service}
    origin = seg.origin_of(doc)
    if origin:
        attributes["xray.origin"] = origin
    if isinstance(doc.get("namespace"), str):
        attributes["xray.namespace"] = doc["namespace"]
    status = seg.status_of(doc)
    span.http_status = status
    if isinstance(doc.get("user"), str):
        attributes["xray.user"] = doc["user"]
    for key, value in (doc.get("annotations") or {}).items() if isinstance(doc.get("annotations"), dict) else ():
        if isinstance(value, str | int | float | bool):
            attributes[f"annotation.{key}"] = value
    span.attributes = attributes
    error, fault, throttle = seg.flags(doc)
    if error or fault or throttle:
        span.status = "error"
        span.error = _cause(doc) or ("fault" if fault else "throttle" if throttle else "error")
    else:
        span.status, span.error = "ok", None
    span.set_request(text if text is not None else orjson.dumps(doc).decode())
    if doc.get("end_time") is not None:
        span.finish_at(float(doc["end_time"]))


def _find(trace_id: str, span_id: str):
    for span in _spans(trace_id):
        if span.kind == KIND and span.span_id == span_id:
            return span
    return None


def _cause(doc: dict) -> str | None:
    cause = doc.get("cause")
    if isinstance(cause, dict):
        for exception in cause.get("exceptions") or ():
            if isinstance(exception, dict) and exception.get("message"):
                kind = exception.get("type")
                return f"{kind}: {exception['message']}" if kind else str(exception["message"])
    return None
