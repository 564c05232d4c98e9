"""One trace context for everything overcast does (DESIGN.md, "One trace context"; docs/tracing.md).

A span is opened at the front door for every AWS API request (`open_api` / `close_api`, called by
overcast.aws.dispatch) and around every hop overcast performs on its own (`hop(...)`: a Lambda
invocation, an event source mapping batch, an SNS delivery, ...). The current span lives in a
context variable, so a hop started while a request is being served is that request's child, and
so is every task the request spawns. Where work crosses a queue, a stream, a timer or a restart,
the context travels the way AWS carries it: an X-Ray trace header (`Root=1-...;Parent=...;
Sampled=1`) stored with the message or record (SQS's AWSTraceHeader, `_X_AMZN_TRACE_ID` in a
function, X-Amzn-Trace-Id on requests), and the hop that picks the work up names it as its parent.

Spans go to a bounded in-memory ring of recent traces (RECORDER); finished spans are handed to
the callbacks of `RECORDER.subscribe` (the SSE stream, exporters). Recording is cheap: ids from
a pool of random hex digits, made only when asked for, payloads kept as at most `payload_bytes` of the bytes already in hand and only
rendered (decoded, base64, truncation marker) when a span is read.

This module imports nothing of overcast's, so the engine, the runtime and every service can use it.
"""

from __future__ import annotations

import base64
import contextvars
import logging
import os
import re
import time
import zlib
from collections import deque
from collections.abc import Callable

log = logging.getLogger("overcast.tracing")
_time = time.time
_new = object.__new__

_current: contextvars.ContextVar[Span | None] = contextvars.ContextVar("overcast_span", default=None)

MAX_SPANS_PER_TRACE = 10_000  # spans beyond this in one trace are counted, not kept
_ROOT = re.compile(r"^1-[0-9a-f]{8}-[0-9a-f]{24}$")
_SPAN_ID = re.compile(r"^[0-9a-f]{16}$")
# Lambda's recursive loop detection field (docs/lambda.md, "Recursive loop detection"): the form
# AWS sends today, `<request counter>:<8 hex hash>:<loop counter>` (`1:fe460cdd:0`), and its older
# `<hash>:<counter>`; anything else is not carried on.
_LINEAGE = re.compile(r"^(?:(\d{1,3}):)?([0-9a-f]{8}):(\d{1,5})$")
# Control characters that make valid UTF-8 still unreadable as text (NUL, ESC, ...): shown as base64.
_BINARY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# How each service is named in span names ("SQS.SendMessage"): botocore's serviceId without spaces.
DISPLAY = {
    "sqs": "SQS", "dynamodb": "DynamoDB", "dynamodbstreams": "DynamoDBStreams", "lambda": "Lambda", "s3": "S3",
    "sns": "SNS", "events": "EventBridge", "kinesis": "Kinesis", "firehose": "Firehose", "stepfunctions": "SFN",
    "apigateway": "APIGateway", "apigatewayv2": "ApiGatewayV2", "apigatewaymanagementapi": "ApiGatewayManagementApi",
    "appsync": "AppSync", "cloudformation": "CloudFormation", "logs": "CloudWatchLogs", "scheduler": "Scheduler",
    "sts": "STS", "iam": "IAM", "ssm": "SSM", "secretsmanager": "SecretsManager", "glue": "Glue", "athena": "Athena",
    "cognito-idp": "CognitoIdentityProvider", "cognito-identity": "CognitoIdentity", "ecr": "ECR",
}


# -- ids and the X-Ray trace header ----------------------------------------------------------------

_POOL_BYTES = 8192
_pool = ""  # random hex digits, handed out in slices (one getrandom call per ~600 ids)
_pool_at = 0
_second = -1  # the epoch second _second_hex spells (8 hex digits)
_second_hex = ""


def _random_hex(digits: int) -> str:
    global _pool, _pool_at
    at = _pool_at
    end = at + digits
    if end > len(_pool):
        _pool, at, end = os.urandom(_POOL_BYTES).hex(), 0, digits
    _pool_at = end
    return _pool[at:end]


def new_trace_id(now: float | None = None) -> str:
    """An X-Ray trace id: 1-{epoch seconds, 8 hex}-{96 random bits, 24 hex}."""
    global _second, _second_hex
    second = int(now if now is not None else time.time())
    if second != _second:
        _second, _second_hex = second, f"{second & 0xFFFFFFFF:08x}"
    return f"1-{_second_hex}-{_random_hex(24)}"


def new_span_id() -> str:
    return _random_hex(16)


class TraceContext:
    """What a trace header carries: the trace, the span to be a child of, the sampling decision,
    and Lambda's Lineage (None when the header has none)."""

    __slots__ = ("trace_id", "parent_id", "sampled", "lineage")

    def __init__(self, trace_id: str, parent_id: str | None = None, sampled: bool = True,
                 lineage: str | None = None):
        self.trace_id = trace_id
        self.parent_id = parent_id
        self.sampled = sampled
        self.lineage = lineage

    def header(self) -> str:
        parent = f";Parent={self.parent_id}" if self.parent_id else ""
        return f"Root={self.trace_id}{parent};Sampled={1 if self.sampled else 0}"

    def __repr__(self) -> str:
        return f"TraceContext({self.header()})"


def parse_header(value: str | None) -> TraceContext | None:
    """An X-Amzn-Trace-Id (or AWSTraceHeader, _X_AMZN_TRACE_ID) value: `Root=1-...;Parent=...;
    Sampled=1`, fields in any order and case (Lambda answers `root=`); a valid Lineage= is kept
    (Lambda's recursive loop detection); unknown fields (Self=) are ignored. None when it names no
    valid trace."""
    if not value:
        return None
    root = parent = lineage = None
    sampled = True
    for part in value.split(";"):
        key, _, text = part.partition("=")
        key = key.strip().lower()
        text = text.strip()
        if key == "root":
            root = text.lower()
        elif key == "parent":
            parent = text.lower()
        elif key == "sampled":
            sampled = text != "0"
        elif key == "lineage" and _LINEAGE.match(text):
            lineage = text
    if root is None or not _ROOT.match(root):
        return None
    if parent is not None and not _SPAN_ID.match(parent):
        parent = None
    return TraceContext(root, parent, sampled, lineage)


def next_lineage(lineage: str | None, origin: str) -> tuple[str, int]:
    """The Lineage a Lambda invocation carries on, and which invocation of its chain it is (1 for
    the first). The count in the field is the invocations before it (AWS's first is `:0`): the
    one it came with plus one, or 0 in a new chain, whose hash names `origin` (the function that
    began it)."""
    match = _LINEAGE.match(lineage) if lineage else None
    if match is None:
        return f"1:{zlib.crc32(origin.encode()):08x}:0", 1
    requests, digest, count = match.groups()
    count = min(int(count) + 1, 32767)
    return f"{requests or 1}:{digest}:{count}", count + 1


def format_header(trace_id: str, parent_id: str | None, sampled: bool = True) -> str:
    return TraceContext(trace_id, parent_id, sampled).header()


def random_header() -> str:
    """A trace header for when tracing is off (what Lambda passes a function even unsampled)."""
    return f"Root={new_trace_id()};Sampled=0"


# -- payloads ---------------------------------------------------------------------------------------

def render_payload(data: bytes | str | None, size: int, limit: int) -> tuple[str | None, bool]:
    """(text, truncated) for a captured payload: UTF-8 text as is; binary or non-UTF-8 bytes as
    base64 after a `[base64]` marker; cut ones end with `[truncated: N bytes]` (N: the whole size)."""
    if data is None:
        return None, False
    truncated = size > limit
    if isinstance(data, str):
        text = data
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            if truncated and e.reason == "unexpected end of data" and e.start >= len(data) - 3:
                text = data[:e.start].decode("utf-8", "strict")  # the cut fell inside a character
            else:
                text = None
        if text is not None and _BINARY.search(text):
            text = None
        if text is None:
            text = "[base64] " + base64.b64encode(data).decode("ascii")
    if truncated:
        text += f" [truncated: {size} bytes]"
    return text, truncated


# -- spans ------------------------------------------------------------------------------------------

class Span:
    """One unit of work. A context manager: inside `with`, it is the current span; an exception
    leaving the block marks it failed (AWS errors by code and message).

    One is made for every request, so it is cheap: __init__ sets what every span has and the rest
    are class defaults until set; the ids are made only when something asks for them (a header for
    work across a queue, a reader). A trace is held by its first span in this process, its holder
    (`root`): the trace id, the trace's other spans, what it dropped; a one-span trace (most
    requests) is just that span."""

    # the defaults of what most spans never set
    _id = None  # the span id, made when asked for
    parent = None  # the parent span in this process, or None (then _parent_id, from a trace header)
    _parent_id = None
    sampled = True  # False: a trace the caller said not to record (Sampled=0); its spans are made, not kept
    # X-Ray's sampling decision for this span's work, as AWS would have it: None when nobody decided (overcast
    # records it, as if X-Ray tracing were active), True or False when a caller's header (Sampled=1/0) or a
    # Lambda function's TracingConfig did. A Sampled=0 call in a trace overcast records (a PassThrough
    # function's SDK calls) is recorded with False, so the trace stays whole in overcast's own view.
    xray = None
    # Lambda's Lineage (a trace header's field, next_lineage): the count of function invocations in
    # the chain this work belongs to; carried only where AWS carries it (lineage_header)
    lineage = None
    name = resource = error = attributes = None
    kind = "api"  # (every other span sets its own kind and operation: these are the front door's)
    operation = ""
    end = None
    status = "ok"
    _request = _response = None  # the payloads, at most RECORDER.payload_bytes of each
    _request_size = _response_size = 0  # a payload's whole size, set only when it was cut (else its length)
    _token = http_status = None
    _hint = None  # the value of the request parameter that names its resource (RESOURCE_PARAMS), ARN made when read
    _holder = None  # the span that holds this span's trace, when it is not this span (no reference to itself:
    # a one-span trace is no reference cycle, so it is freed as it leaves the ring, not by the cyclic collector)
    # kept on a trace's holder only
    _tid = None  # the trace id, made when asked for
    members = None  # the trace's other spans
    dropped = 0  # spans not kept (beyond MAX_SPANS_PER_TRACE, or the oldest half of a huge trace)
    evicted = False  # the trace left the ring

    def __init__(self, root: Span | None, kind: str, service: str, operation: str, account: str, region: str):
        # (open_api makes the front door's spans without this call; what it sets, in the same order)
        self.kind = kind
        self.service = service
        self.operation = operation
        self.account = account
        self.region = region
        self.start = _time()
        if root is not None:
            self._holder = root

    @property
    def root(self) -> Span:
        """The span that holds this span's trace (this span, for the first span of a trace here)."""
        return self._holder or self

    # -- ids, made when first asked for --

    @property
    def trace_id(self) -> str:
        root = self._holder or self
        trace_id = root._tid
        if trace_id is None:
            trace_id = root._tid = new_trace_id(root.start)
            if root.sampled and not root.evicted:  # (in the ring)
                RECORDER._by_id[trace_id] = root
        return trace_id

    @property
    def span_id(self) -> str:
        span_id = self._id
        if span_id is None:
            span_id = self._id = _random_hex(16)
        return span_id

    @property
    def parent_id(self) -> str | None:
        parent = self.parent
        return parent.span_id if parent is not None else self._parent_id

    @property
    def context(self) -> TraceContext:
        return TraceContext(self.trace_id, self.span_id, self.sampled)

    def header(self) -> str:
        """The trace header a child carries: Root={trace};Parent={this span};Sampled=1."""
        root = self._holder or self
        trace_id = root._tid
        span_id = self._id
        if trace_id is None and span_id is None and root is self:
            # the usual case (SQS SendMessage's AWSTraceHeader): both ids at once, from one slice of the pool
            global _pool, _pool_at, _second, _second_hex
            at = _pool_at
            end = at + 40
            if end > len(_pool):
                _pool, at, end = os.urandom(_POOL_BYTES).hex(), 0, 40
            _pool_at = end
            second = int(self.start)
            if second != _second:
                _second, _second_hex = second, f"{second & 0xFFFFFFFF:08x}"
            trace_id = self._tid = f"1-{_second_hex}-{_pool[at:at + 24]}"
            span_id = self._id = _pool[at + 24:end]
            if self.sampled and not self.evicted:  # (in the ring)
                RECORDER._by_id[trace_id] = self
        else:
            if trace_id is None:
                trace_id = self.trace_id
            if span_id is None:
                span_id = self._id = _random_hex(16)
        return f"Root={trace_id};Parent={span_id};Sampled={'0' if not self.sampled or self.xray is False else '1'}"

    def lineage_header(self) -> str:
        """header() with the span's Lineage: for what carries it on AWS (a function's own trace
        header, SQS and SNS messages, S3 notifications, asynchronous invocations), so that Lambda
        counts a loop through them; the rest (streams, EventBridge, Step Functions) carry none."""
        lineage = self.lineage
        return self.header() if lineage is None else f"{self.header()};Lineage={lineage}"

    # -- filling in --

    def set_request(self, data: bytes | str | None) -> None:
        if data is not None:
            if len(data) > RECORDER.payload_bytes:
                self._request_size = len(data)
                data = data[:RECORDER.payload_bytes]
            self._request = data

    def set_response(self, data: bytes | str | None) -> None:
        if data is not None:
            if len(data) > RECORDER.payload_bytes:
                self._response_size = len(data)
                data = data[:RECORDER.payload_bytes]
            self._response = data

    def set(self, key: str, value) -> None:
        """A free-form attribute (strings and numbers)."""
        if self.attributes is None:
            self.attributes = {}
        self.attributes[key] = value

    def fail(self, error: str | BaseException) -> None:
        self.status = "error"
        if isinstance(error, BaseException):  # AWS errors by code and message; Step Functions' by error and cause
            code = getattr(error, "code", None) or getattr(error, "error", None) or getattr(error, "error_type", None)
            message = getattr(error, "message", None)
            if message is None:
                message = getattr(error, "cause", None)
            error = f"{code}: {message}" if isinstance(code, str) and message is not None \
                else f"{type(error).__name__}: {error}"
        self.error = error[:1024]

    def finish(self) -> None:
        if self.end is None:
            self.end = time.time()
            if RECORDER._subscribers and self.sampled:
                RECORDER._finish(self)

    def finish_at(self, end: float) -> None:
        """End at a time already known: work reported after it was done (`joined`)."""
        if self.end is None:
            self.end = end
            if RECORDER._subscribers and self.sampled:
                RECORDER._finish(self)

    def __enter__(self) -> Span:
        self._token = _current.set(self)
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if error is not None and self.status == "ok":
            self.fail(error)
        self.finish()
        if self._token is not None:
            try:
                _current.reset(self._token)
            except ValueError:  # left in another context (a generator closed elsewhere)
                pass
            self._token = None

    # -- reading --

    @property
    def display_name(self) -> str:
        if self.name:
            return self.name
        return f"{DISPLAY.get(self.service, self.service)}.{self.operation or 'Unknown'}"

    def to_json(self) -> dict:
        limit = RECORDER.payload_bytes
        request, response = self._request, self._response
        request, cut_request = render_payload(request, self._request_size or len(request or ""), limit)
        response, cut_response = render_payload(response, self._response_size or len(response or ""), limit)
        end = self.end
        attributes = dict(self.attributes or {})
        if self.http_status is not None:
            attributes["httpStatus"] = self.http_status
        return {
            "traceId": self.trace_id, "spanId": self.span_id, "parentId": self.parent_id,
            "name": self.display_name, "kind": self.kind, "service": self.service, "operation": self.operation,
            "resource": self.resource_arn(), "account": self.account, "region": self.region,
            "start": self.start, "end": end,
            "durationMs": round((end - self.start) * 1000, 3) if end is not None else None,
            "status": self.status, "error": self.error, "request": request, "response": response,
            "truncated": cut_request or cut_response, "attributes": attributes,
        }

    def resource_arn(self) -> str | None:
        if self.resource is None and self._hint is not None:
            return resource_arn(self.service, self.account, self.region, self._hint)
        return self.resource

    # -- the trace, on its holder --

    def spans(self) -> list[Span]:
        """The trace's spans (this span holds it), in the order they began."""
        members = self.members
        return [self] if not members else [self, *members]


class _NoSpan:
    """What `hop` returns when tracing is off: every method does nothing."""

    __slots__ = ()
    trace_id = span_id = parent_id = None
    sampled = False

    def __enter__(self):
        return self

    def __exit__(self, *_):
        return None

    def header(self) -> str:
        return random_header()

    @property
    def context(self):
        return None

    def set_request(self, data) -> None:
        pass

    set_response = set_request

    def set(self, key, value) -> None:
        pass

    def fail(self, error) -> None:
        pass

    def finish(self) -> None:
        pass


NO_SPAN = _NoSpan()
INHERIT = object()  # `hop(parent=INHERIT)`: a child of the current span (a new trace if there is none)


def current() -> Span | None:
    return _current.get()


def current_header() -> str | None:
    """The trace header for work the current span causes (None outside any span)."""
    span = _current.get()
    return span.header() if span is not None else None


def current_lineage_header() -> str | None:
    """current_header() with the current span's Lineage (Span.lineage_header)."""
    span = _current.get()
    return span.lineage_header() if span is not None else None


def _child(parent, kind: str, service: str, operation: str, account: str, region: str) -> Span:
    """A span under `parent`: a Span of this process, or a TraceContext from a header (None: a new trace)."""
    if parent is None:
        return Span(None, kind, service, operation, account, region)
    if parent.__class__ is Span:
        span = Span(parent._holder or parent, kind, service, operation, account, region)
        span.parent = parent
    else:
        span = Span(RECORDER._by_id.get(parent.trace_id), kind, service, operation, account, region)
        if span._holder is None:  # the first span of this trace here: it holds it
            span._tid = parent.trace_id
        span._parent_id = parent.parent_id
    if parent.lineage is not None:
        span.lineage = parent.lineage
    if parent.__class__ is Span:
        if not parent.sampled:
            span.sampled = False
        elif parent.xray is not None:
            span.xray = parent.xray
    elif not parent.sampled:
        if span._holder is None:  # a trace not recorded here: Sampled=0 is not recorded
            span.sampled = False
        else:  # a call in a trace overcast records (a PassThrough function's SDK call): recorded, X-Ray says no
            span.xray = False
    else:
        span.xray = True
    return span


def hop(service: str, operation: str, *, resource: str | None = None, account: str = "", region: str = "",
        parent=INHERIT, name: str | None = None, request: bytes | str | None = None,
        attributes: dict | None = None, links=None) -> Span | _NoSpan:
    """A span for work overcast does on its own; use it as a context manager. `parent`: INHERIT
    (the current span), None (a new trace), a Span, a TraceContext or a trace header string (a
    header naming no valid trace starts a new one). `links`: trace headers of the work a batch
    carries; the traces other than the span's own are kept in its `links` attribute."""
    if not RECORDER.enabled:
        return NO_SPAN
    if parent is INHERIT:
        parent = _current.get()
    elif parent.__class__ is str:
        parent = parse_header(parent)
    span = _child(parent, "hop", service, operation, account, region)
    span.name = name
    span.resource = resource
    if request is not None:
        span.set_request(request)
    if attributes:
        span.attributes = dict(attributes)
    if links:
        own = span.trace_id
        others = []
        for link in links:
            context = parse_header(link) if link else None
            if context is not None and context.trace_id != own and context.trace_id not in others:
                others.append(context.trace_id)
        if others:
            span.set("links", " ".join(others[:20]))
    RECORDER._begin(span)
    return span


def joined(trace_id: str, span_id: str, parent_id: str | None, kind: str, service: str, operation: str,
           account: str, region: str, start: float) -> Span:
    """A span of work done outside overcast, with ids of its own, that joins the trace it names
    under the span it names (a segment a function's X-Ray SDK sent): recorded now, ended by
    `finish_at`."""
    span = _child(TraceContext(trace_id, parent_id), kind, service, operation, account, region)
    span._id = span_id
    span.start = start
    RECORDER._begin(span)
    return span


def open_api(header: str | None, service: str, account: str, region: str, body: bytes | None,
             own_task: bool = False) -> Span | None:
    """The front door's span for an AWS API request (made current until `close_api`); `header`:
    the request's X-Amzn-Trace-Id. None when tracing is off. `own_task`: the caller is server.py,
    whose every request runs in an asyncio task of its own (uvicorn's and overcast.http2's), in a
    context copied from the connection's: no span of this process is its parent, and the task ends
    with the request, so the span is made current without keeping the token to unset it (a context
    variable's set and reset cost a request ~1,600 instructions; what the request spawns copied the
    context already, and nothing after the answer in that task makes spans)."""
    recorder = RECORDER
    if not recorder.enabled:
        return None
    # (a call overcast makes through the gateway itself, API Gateway's AWS integrations, has a current span)
    parent = parse_header(header) if header else None if own_task else _current.get()
    if parent is None:  # the usual case: a new trace, recorded here without a call (Span.__init__ inlined)
        span = _new(Span)  # (kind "api" and operation "" are the class's defaults: the front door's)
        span.service = service
        span.account = account
        span.region = region
        span.start = _time()
        if body:
            if len(body) > recorder.payload_bytes:
                span._request_size = len(body)
                body = body[:recorder.payload_bytes]
            span._request = body
        if own_task:
            _current.set(span)
        else:
            span._token = _current.set(span)
        ring = recorder._ring
        ring.append(span)
        if len(ring) > recorder._room:  # full: the oldest traces leave (a few at once)
            recorder._evict()
        return span
    span = _child(parent, "api", service, "", account, region)
    if body:
        span.set_request(body)
    if own_task:
        _current.set(span)
    else:
        span._token = _current.set(span)
    recorder._begin(span)
    return span


def close_api(span: Span, status: int, body: bytes | None, own_task: bool = False) -> None:
    """End the front door's span with the answer's HTTP status and body (`own_task` as given to
    `open_api`: the span stays current, the task ends with the request)."""
    if status >= 400:
        span.status = "error"
        if span.error is None:
            span.error = f"HTTP {status}"
    recorder = RECORDER
    if body:
        if len(body) > recorder.payload_bytes:
            span._response_size = len(body)
            body = body[:recorder.payload_bytes]
        span._response = body
    span.http_status = status
    span.end = _time()
    if not own_task:
        token = span._token
        if token is not None:
            span._token = None
            try:
                _current.reset(token)
            except ValueError:
                pass
    if recorder._subscribers and span.sampled:
        recorder._finish(span)


def answer_header(span: Span) -> str:
    """The X-Amzn-Trace-Id an answer carries where AWS answers one (Lambda, API Gateway): Root and Sampled."""
    return f"Root={span.trace_id};Sampled={'1' if span.sampled else '0'}"


class suspended:  # noqa: N801 - used as a statement: `with tracing.suspended():`
    """No current span inside the block: for starting long-lived work (a provider's start-up,
    its pollers and timers) while a request is served, so that it is no child of that request."""

    __slots__ = ("_token",)

    def __enter__(self):
        self._token = _current.set(None)
        return self

    def __exit__(self, *_):
        _current.reset(self._token)


def detached() -> contextvars.Context:
    """A copy of the current context without a current span: for long-lived tasks and timers
    started while a request is served (pollers, schedules), whose work is no child of it."""
    context = contextvars.copy_context()
    context.run(_current.set, None)
    return context


# -- resource ARNs of API calls, from a parameter (made when read) ----------------------------------

# The parameter of each service's requests that names the resource a call is about.
RESOURCE_PARAMS: dict[str, tuple[str, ...]] = {
    "sqs": ("QueueUrl", "QueueName"), "dynamodb": ("TableName",), "lambda": ("FunctionName",),
    "sns": ("TopicArn", "TargetArn", "SubscriptionArn"), "kinesis": ("StreamARN", "StreamName"),
    "firehose": ("DeliveryStreamName",), "stepfunctions": ("stateMachineArn", "executionArn"),
    "logs": ("logGroupName",), "ssm": ("Name",), "events": ("EventBusName",), "appsync": ("apiId",),
    "apigateway": ("restApiId",), "apigatewayv2": ("ApiId",), "scheduler": ("Name",),
    "cloudformation": ("StackName",), "secretsmanager": ("SecretId",), "dynamodbstreams": ("StreamArn",),
}


def resource_hint(service: str, params: dict) -> str | None:
    """The value of the first parameter of RESOURCE_PARAMS that a request has."""
    keys = RESOURCE_PARAMS.get(service)
    if keys is not None:
        for key in keys:
            value = params.get(key)
            if value.__class__ is str and value:
                return value
    return None


def resource_arn(service: str, account: str, region: str, value: str) -> str | None:
    if value.startswith("arn:"):
        return value
    if service == "sqs":  # a QueueUrl (its account in its path) or a QueueName
        parts = value.rstrip("/").split("/")
        return f"arn:aws:sqs:{region}:{parts[-2] if len(parts) > 1 else account}:{parts[-1]}"
    where = f"{region}:{account}"
    forms = {"dynamodb": f"arn:aws:dynamodb:{where}:table/{value}",
             "lambda": f"arn:aws:lambda:{where}:function:{value}",
             "kinesis": f"arn:aws:kinesis:{where}:stream/{value}",
             "firehose": f"arn:aws:firehose:{where}:deliverystream/{value}",
             "logs": f"arn:aws:logs:{where}:log-group:{value}",
             "ssm": f"arn:aws:ssm:{where}:parameter/{value.lstrip('/')}",
             "events": f"arn:aws:events:{where}:event-bus/{value}",
             "appsync": f"arn:aws:appsync:{where}:apis/{value}",
             "apigateway": f"arn:aws:apigateway:{region}::/restapis/{value}",
             "apigatewayv2": f"arn:aws:apigateway:{region}::/apis/{value}",
             "scheduler": f"arn:aws:scheduler:{where}:schedule/default/{value}",
             "secretsmanager": f"arn:aws:secretsmanager:{where}:secret:{value}"}
    return forms.get(service)


# -- the ring of recent traces ----------------------------------------------------------------------

def summary(root: Span) -> dict:
    """What GET /_overcast/traces says of the trace `root` holds."""
    spans = root.spans()
    start = min(s.start for s in spans)
    ends = [s.end for s in spans]
    end = None if None in ends else max(ends)
    first = next((s for s in spans if s.parent is None and s._parent_id is None), None) or min(spans, key=_by_start)
    services = []
    for s in spans:
        if s.service not in services:
            services.append(s.service)
    return {"traceId": root.trace_id, "start": start, "end": end,
            "durationMs": round((end - start) * 1000, 3) if end is not None else None,
            "spanCount": len(spans) + root.dropped,
            "status": "error" if any(s.status == "error" for s in spans) else "ok",
            "root": {"name": first.display_name, "service": first.service, "operation": first.operation,
                     "resource": first.resource_arn()},
            "services": services}


def _by_start(span: Span) -> float:
    return span.start


class Recorder:
    """The bounded ring of traces (each by its holder span): at most `max_traces` traces and
    `max_spans` spans in all (the oldest traces leave first), at most MAX_SPANS_PER_TRACE kept per
    trace (the rest counted). Written on the event loop; readers copy what they read."""

    def __init__(self):
        self.enabled = True
        self.max_traces = 1000
        self.max_spans = 100_000
        self.payload_bytes = 4096
        self._ring: deque[Span] = deque()  # the traces' holders, oldest first
        self._by_id: dict[str, Span] = {}  # the holders in the ring whose trace id is known
        self._members = 0  # the spans kept that are not their trace's holder (the ring holds the others)
        # how many traces the ring holds before the oldest leave: max_traces, fewer when the traces' other
        # spans take the room of max_spans (the front door compares the ring's length with it, nothing more)
        self._room = 1000
        self._batch = 15  # how many more than needed leave at once (so that the front door evicts seldom)
        self._subscribers: list[Callable[[Span], None]] = []

    def configure(self, enabled: bool = True, max_traces: int = 1000, max_spans: int = 100_000,
                  payload_bytes: int = 4096) -> None:
        self.enabled = enabled
        self.max_traces = max(1, max_traces)
        self.max_spans = max(1, max_spans)
        self.payload_bytes = max(0, payload_bytes)
        self._batch = self.max_traces // 64
        self.clear()

    def clear(self) -> None:
        for root in self._ring:
            root.evicted = True
        self._ring = deque()
        self._by_id = {}
        self._members = 0
        self._room = min(self.max_traces, self.max_spans)

    # -- recording (the hot path) --

    def _begin(self, span: Span) -> None:
        if not span.sampled:  # Sampled=0 (X-Ray's meaning): not recorded, nor are its children
            return
        root = span._holder
        if root is None:  # a new trace
            ring = self._ring
            ring.append(span)
            if span._tid is not None:
                self._by_id[span._tid] = span
            if len(ring) > self._room:
                self._evict()
            return
        if root.evicted:  # a child of a trace that left the ring: the trace comes back, held by this span
            span._tid = root.trace_id
            span._holder = None
            self._begin(span)
            return
        members = root.members
        if members is None:
            members = root.members = []
        elif len(members) >= MAX_SPANS_PER_TRACE - 1:
            root.dropped += 1
            return
        members.append(span)
        self._members += 1
        self._room = min(self.max_traces, self.max_spans - self._members)
        if len(self._ring) > self._room:
            self._evict()

    def _evict(self) -> None:
        """The oldest traces leave until at most max_traces and max_spans are kept; when it is the
        number of traces that is over, `_batch` more (1/64th of max_traces) leave with them, so that
        the front door (open_api) makes this call once in that many requests rather than on each."""
        ring = self._ring
        by_id = self._by_id
        max_spans = self.max_spans
        if not self._members and self.max_traces <= max_spans:  # one-span traces only (most servers): by count
            for _ in range(len(ring) - self.max_traces + self._batch if len(ring) > self.max_traces else 0):
                oldest = ring.popleft()
                oldest.evicted = True
                if oldest._tid is not None and by_id.get(oldest._tid) is oldest:
                    del by_id[oldest._tid]
            self._room = self.max_traces
            return
        keep = self.max_traces - self._batch if len(ring) > self.max_traces else self.max_traces
        while ring and (len(ring) > keep or len(ring) + self._members > max_spans):
            if len(ring) == 1 and ring[0].members:  # one huge trace: drop the oldest half of its other spans
                root = ring[0]
                half = max(1, len(root.members) // 2)
                del root.members[:half]
                root.dropped += half
                self._members -= half
                continue
            oldest = ring.popleft()
            oldest.evicted = True
            members = oldest.members
            if members:
                self._members -= len(members)
            trace_id = oldest._tid
            if trace_id is not None and by_id.get(trace_id) is oldest:
                del by_id[trace_id]
        self._room = min(self.max_traces, max_spans - self._members)

    def _finish(self, span: Span) -> None:
        for callback in self._subscribers:
            try:
                callback(span)
            except Exception:
                log.exception("a trace subscriber failed")

    # -- subscribers (the SSE stream, exporters) --

    def subscribe(self, callback: Callable[[Span], None]) -> Callable[[], None]:
        """Call `callback(span)` for every span as it ends (on the thread that ended it; keep it
        short and never block). Returns the function that unsubscribes."""
        self._subscribers = self._subscribers + [callback]

        def unsubscribe() -> None:
            self._subscribers = [c for c in self._subscribers if c is not callback]

        return unsubscribe

    def exporting(self) -> bool:
        """Whether spans are handed to subscribers as they end (what is set on a span after its
        end then reaches the ring only)."""
        return bool(self._subscribers)

    # -- reading --

    def traces(self, limit: int = 50, service: str | None = None, status: str | None = None,
               resource: str | None = None, before: float | None = None) -> list[dict]:
        """Summaries of the newest traces first, filtered (a trace matches when one of its spans does)."""
        out = []
        for root in reversed(list(self._ring)):
            spans = root.spans()
            if service and not any(s.service == service for s in spans):
                continue
            if resource and not any(resource in (s.resource_arn() or "") for s in spans):
                continue
            if before is not None and min(s.start for s in spans) >= before:
                continue
            found = summary(root)
            if status and found["status"] != status:
                continue
            out.append(found)
            if len(out) >= limit:
                break
        return out

    def trace(self, trace_id: str) -> Span | None:
        """The holder of a trace in the ring, by its id (an id nobody asked for cannot be known)."""
        return self._by_id.get(trace_id)

    def trace_ids(self) -> list[str]:
        """The ids of the traces in the ring, oldest first (an id nobody asked for is made now)."""
        return [root.trace_id for root in list(self._ring)]

    def __len__(self) -> int:
        return len(self._ring)


RECORDER = Recorder()


def configure(config) -> None:
    """Apply the settings (overcast.config.Config) to the recorder."""
    RECORDER.configure(config.tracing, config.trace_traces, config.trace_spans, config.trace_payload_bytes)
