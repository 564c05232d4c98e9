"""AppSync's CloudWatch Logs: what a GraphQL request writes to `/aws/appsync/apis/{apiId}` when its
API has a `logConfig` (AWS AppSync Developer Guide, "Monitoring and logging" and its log type
reference). Every event starts with, or carries as `requestId`, the request's id (the answer's
x-amzn-RequestId).

Request-level events, whatever the fieldLogLevel: the request and response headers (verbose
content), the `GraphQL Query` line, ExecutionSummary (parsing and validation offsets) and
RequestSummary (status code and latency). Field-level events, by fieldLogLevel: RequestMapping /
ResponseMapping (BeforeMapping / AfterMapping for a pipeline's before and after templates,
RequestFunctionEvaluation / ResponseFunctionEvaluation for APPSYNC_JS code) with the evaluated
template and the context unless excludeVerboseContent, for every field at ALL and for fields in
error at ERROR, INFO and DEBUG; Tracing (path, parentType, returnType, fieldName, startOffset,
duration) for every field at ALL; APPSYNC_JS `console` lines at the levels that take them.

An API without logConfig costs one attribute test per request and per resolver call: the
request's RequestLog is None and nothing here runs. Offsets and durations are nanoseconds, as
AppSync writes them."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from inspect import isawaitable

import orjson

# fieldLogLevel -> rank; a field-level entry is written when its level's rank is at most this
LEVELS = {"NONE": 0, "ERROR": 1, "INFO": 2, "DEBUG": 3, "ALL": 4}
# APPSYNC_JS console methods -> the fieldLogLevel rank from which their lines are written
CONSOLE = {"error": 1, "warn": 2, "info": 2, "log": 2, "debug": 3}
_CONSOLE_LABEL = {"error": "ERROR", "warn": "WARN", "info": "INFO", "log": "INFO", "debug": "DEBUG"}
_HIDDEN = frozenset(("authorization", "x-api-key"))


def group_name(api_id: str) -> str:
    return f"/aws/appsync/apis/{api_id}"


def _json(value) -> bytes:
    return orjson.dumps(value, default=str)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _java_map(pairs) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in pairs) + "}"


class RequestLog:
    """The log events of one GraphQL request, written after its answer by CloudWatch Logs'
    provider (append_soon: the group and stream are created if missing)."""

    __slots__ = ("api", "request_id", "level", "verbose", "events", "started_ns", "started_ms", "_prefix", "parsing",
                 "validation")

    def __init__(self, api, config: dict, request_id: str):
        self.api = api
        self.request_id = request_id
        self.level = LEVELS.get(config.get("fieldLogLevel") or "NONE", 0)
        self.verbose = not config.get("excludeVerboseContent")
        self.events: list[tuple[int, str]] = []
        self.started_ns = time.perf_counter_ns()
        self.started_ms = int(time.time() * 1000)
        self._prefix = (b'{"requestId":' + _json(request_id) + b',"graphQLAPIId":' + _json(api.api_id) + b",")
        self.parsing: tuple[int, int] | None = None  # (startOffset, duration) once the query was parsed
        self.validation: tuple[int, int] | None = None

    # -- writing ------------------------------------------------------------------------------

    def offset(self) -> int:
        return time.perf_counter_ns() - self.started_ns

    def _now_ms(self) -> int:
        return int(time.time() * 1000)

    def line(self, text: str) -> None:
        self.events.append((self._now_ms(), f"{self.request_id} {text}"))

    def entry(self, doc: dict) -> None:
        self.events.append((self._now_ms(), (self._prefix + _json(doc)[1:]).decode()))

    # -- request level ------------------------------------------------------------------------

    def request_headers(self, headers: dict) -> None:
        if self.verbose:
            self.line("Request Headers: " + _java_map(
                (k, f"[{v}]") for k, v in headers.items() if k not in _HIDDEN))

    def query(self, text: str, operation_name, variables) -> None:
        self.line(f"GraphQL Query: {text}, Operation: {operation_name if operation_name else 'null'}, "
                  f"Variables: {_json(variables or {}).decode()}")

    def execution_summary(self) -> None:
        """The operation's summary, once it ran (or failed its parsing or validation)."""
        if self.parsing is None:
            return
        parsing, validation = self.parsing, self.validation or (self.parsing[0] + self.parsing[1], 0)
        end_ms = self._now_ms()
        self.entry({"logType": "ExecutionSummary", "version": 1, "startTime": _iso(self.started_ms),
                    "endTime": _iso(end_ms), "duration": self.offset(),
                    "parsing": {"startOffset": parsing[0], "duration": parsing[1]},
                    "validation": {"startOffset": validation[0], "duration": validation[1]}})

    def finish(self, logs_provider, stream: str, status: int, headers) -> None:
        """The response headers and RequestSummary, then everything to the API's log group."""
        if self.verbose:
            self.line("Response Headers: " + _java_map(headers))
        self.entry({"logType": "RequestSummary", "statusCode": status, "latency": self.offset()})
        logs_provider.append_soon(self.api.account, self.api.region, group_name(self.api.api_id), stream, self.events)

    # -- field level --------------------------------------------------------------------------

    def mapping(self, call, log_type: str, ctx: dict, evaluated, function: dict | None = None,
                response: bool = False) -> None:
        """A mapping template's (or JS handler's) entry, kept on the call until the field's
        outcome is known (only fields in error are written below ALL)."""
        info = call.info
        doc = {"logType": log_type, "path": info.path.as_list(), "fieldName": info.field_name,
               "parentType": info.parent_type.name, "resolverArn": _resolver_arn(call)}
        if function is not None:
            doc["functionName"] = function.get("name")
            doc["functionArn"] = function.get("functionArn")
        if self.verbose:
            path = doc["path"]
            context = {"arguments": ctx.get("arguments"), "stash": ctx.get("stash"),
                       "outErrors": [_out_error(e) for e, at, _ in call.state.appended if at == path]}
            for key in ("source", "prev"):
                if ctx.get(key) is not None:
                    context[key] = ctx[key]
            if response:
                context["result"] = ctx.get("result")
                if ctx.get("error") is not None:
                    context["error"] = ctx["error"]
            doc["context"] = context
            if log_type.endswith("FunctionEvaluation"):
                doc["evaluationResult"] = evaluated
            else:
                doc["transformedTemplate"] = evaluated
        entries = call.log_entries
        if entries is None:
            entries = call.log_entries = []
        entries.append((self._now_ms(), _json(doc)))

    def field_done(self, call, errors: list[str]) -> None:
        """Write the call's mapping entries: all at ALL, those of a field in error from ERROR."""
        entries = call.log_entries
        if not entries:
            return
        in_error = bool(errors)
        if not in_error and self.level < LEVELS["ALL"]:
            return
        head = self._prefix + (b'"fieldInError":true,"errors":' + _json(errors) + b"," if in_error
                               else b'"fieldInError":false,')
        for ms, doc in entries:
            self.events.append((ms, (head + doc[1:]).decode()))

    def console(self, lines: list) -> None:
        """APPSYNC_JS console lines ([method, text]) at the levels the API's fieldLogLevel takes."""
        for method, text in lines:
            if CONSOLE.get(method, 2) <= self.level:
                self.line(f"{_CONSOLE_LABEL.get(method, 'INFO')} - {text}")

    def tracer(self):
        """graphql-core middleware writing a Tracing entry per resolved field (fieldLogLevel ALL)."""
        def trace(next_, root, info, **args):
            start = self.offset()
            result = next_(root, info, **args)
            if isawaitable(result):
                async def timed():
                    try:
                        return await result
                    finally:
                        self._trace(info, start)
                return timed()
            self._trace(info, start)
            return result
        return trace

    def _trace(self, info, start: int) -> None:
        self.entry({"logType": "Tracing", "path": info.path.as_list(), "parentType": info.parent_type.name,
                    "returnType": str(info.return_type), "fieldName": info.field_name, "startOffset": start,
                    "duration": self.offset() - start})


def _resolver_arn(call) -> str:
    api = call.state.api
    return (f"arn:aws:appsync:{api.region}:{api.account}:apis/{api.api_id}/types/{call.info.parent_type.name}"
            f"/resolvers/{call.info.field_name}")


def _out_error(error) -> dict:
    return {"message": error.message, "errorType": error.error_type, "data": error.data,
            "errorInfo": error.error_info}


def new_stream_name() -> str:
    """A log stream of the API's group for this server's requests: 32 hex digits (AppSync's stream
    names are opaque ids)."""
    return secrets.token_hex(16)
