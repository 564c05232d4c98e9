"""overcast's spans to an OpenTelemetry collector over OTLP/HTTP (protobuf), when
OVERCAST_OTLP_ENDPOINT is set (docs/tracing.md), so that Jaeger, Grafana Tempo or Honeycomb show
the same traces as the console.

The encoding and the transport are OpenTelemetry's own (opentelemetry-sdk and
opentelemetry-exporter-otlp-proto-http, `pip install 'overcast[otlp]'`), and they run in a process
of their own (`python -m overcast.tracing.otlp`), started once the server is ready: converting and
encoding a span with OpenTelemetry's Python encoder costs far more CPU than serving the request
that made it, and in the server's process that work would take the interpreter from the requests.
A finished span costs the request path one append to a bounded queue; a thread of the server
hands what the queue holds to the export process in pickled batches of plain values; that
process feeds them to the SDK's BatchSpanProcessor (OTEL_BSP_* apply there) and its OTLP exporter.
A collector that is down costs nothing but the spans: they are dropped, one warning says so, and
one more line says when the collector answers again. A full queue drops spans too (said once).

Mapping: the X-Ray trace id 1-{8 hex}-{24 hex} is the 128-bit OpenTelemetry trace id of its 32 hex
digits, span ids are the same 64 bits, a span's parent is its parent. Each AWS service is a service
of its own (resource `service.name` "SQS", "Lambda", ..., `cloud.provider` aws, `cloud.region`,
`cloud.account.id`); API calls are SERVER spans named Service.Operation with the semantic
conventions' `rpc.system` aws-api, `rpc.service`, `rpc.method`; hops are INTERNAL spans. A failed
span has status ERROR with its error as description.
"""

from __future__ import annotations

import collections
import importlib.util
import logging
import os
import pickle
import struct
import subprocess
import sys
import threading
import time

from overcast import __version__
from overcast.tracing import DISPLAY, RECORDER

log = logging.getLogger("overcast.otlp")

QUEUE_SPANS = 2048  # spans waiting for the export process at most (as the SDK's own queue); beyond, dropped
RETRY_AFTER = 15.0  # seconds a collector that failed is left alone: batches meanwhile are dropped
SHUTDOWN_SECONDS = 5.0  # what stopping the server waits for the last batch at most
BATCH_SECONDS = 0.1  # how long the server's thread gathers spans before handing them over, at most
BATCH_SPANS = 256  # or until this many have gathered
_LENGTH = struct.Struct("<I")


def traces_url(endpoint: str) -> str:
    """OVERCAST_OTLP_ENDPOINT as OTEL_EXPORTER_OTLP_ENDPOINT reads: a base URL gets /v1/traces; a
    URL that already ends in /v1/traces is used as it is."""
    endpoint = endpoint.strip()
    if endpoint.rstrip("/").endswith("/v1/traces"):
        return endpoint
    return endpoint.rstrip("/") + "/v1/traces"


# What the export process gets of a span: these fields, in this order (plain values; pickled).
FIELDS = ("trace_id", "span_id", "parent_id", "kind", "service", "operation", "display_name", "resource",
          "account", "region", "start", "end", "status", "error", "http_status", "attributes")


def _values(span) -> tuple:
    return (span.trace_id, span.span_id, span.parent_id, span.kind, span.service, span.operation, span.display_name,
            span.resource_arn(), span.account, span.region, span.start, span.end, span.status, span.error,
            span.http_status, span.attributes)


class OtlpExport:
    """The server's half: the queue, the thread that empties it into the export process's stdin."""

    def __init__(self, endpoint: str, recorder=RECORDER):
        self.endpoint = traces_url(endpoint)
        self._queue: collections.deque = collections.deque()
        self._wake = threading.Event()
        self._full = threading.Event()
        self._awake = False  # the thread was woken and has not emptied the queue yet
        self._full_said = False
        self._closed = False
        self._process: subprocess.Popen | None = None
        self._unsubscribe = recorder.subscribe(self._on_end)
        self._thread = threading.Thread(target=self._run, name="overcast-otlp", daemon=True)
        self._thread.start()

    def _on_end(self, span) -> None:
        """The request path's part (on the event loop): the ids made if nobody asked yet, one append."""
        if not span.sampled:
            return
        span.trace_id, span.span_id, span.parent_id  # noqa: B018 - ids made when first asked for: here, on the loop
        queue = self._queue
        if len(queue) >= QUEUE_SPANS:
            if not self._full_said:
                self._full_said = True
                log.warning("OTLP export: more than %d spans wait for the exporter; spans are dropped while it "
                            "catches up (said once)", QUEUE_SPANS)
            return
        queue.append(span)
        if not self._awake:  # the first span of a batch: the thread waits BATCH_SECONDS for more
            self._awake = True
            self._wake.set()
        elif len(queue) == BATCH_SPANS:  # or until there are this many
            self._full.set()

    def _run(self) -> None:
        if importlib.util.find_spec("opentelemetry.exporter.otlp.proto.http") is None \
                or importlib.util.find_spec("opentelemetry.sdk") is None:
            log.error("OVERCAST_OTLP_ENDPOINT is set but OpenTelemetry's packages are missing: "
                      "pip install 'overcast[otlp]'; spans are not exported")
            self._unsubscribe()
            return
        try:
            self._process = subprocess.Popen([sys.executable, "-m", "overcast.tracing.otlp", self.endpoint],
                                             stdin=subprocess.PIPE, env={**os.environ, "PYTHONPATH": _path()})
        except OSError as e:
            log.error("OTLP export: the export process did not start (%s); spans are not exported", e)
            self._unsubscribe()
            return
        pipe = self._process.stdin
        queue = self._queue
        while True:
            self._wake.wait()  # a span ended (nothing to do while none do)
            if not self._closed:
                self._full.wait(BATCH_SECONDS)  # the batch window: one handover per batch, not per span
            self._wake.clear()
            self._full.clear()
            self._awake = False
            batch = []
            while queue:
                batch.append(_values(queue.popleft()))
            if batch:
                data = pickle.dumps(batch, pickle.HIGHEST_PROTOCOL)
                try:
                    pipe.write(_LENGTH.pack(len(data)) + data)
                    pipe.flush()
                except (OSError, ValueError):  # the export process is gone
                    log.error("OTLP export: the export process ended; spans are not exported")
                    self._unsubscribe()
                    return
            if self._closed and not queue:
                break
        try:
            pipe.close()
        except OSError:
            pass

    def close(self) -> None:
        """Send what is queued (waiting at most SHUTDOWN_SECONDS) and stop."""
        self._unsubscribe()
        self._closed = True
        self._wake.set()
        self._full.set()
        self._thread.join(SHUTDOWN_SECONDS)
        process = self._process
        if process is None:
            return
        try:
            process.wait(SHUTDOWN_SECONDS)
        except subprocess.TimeoutExpired:  # a collector that hangs: stop its retries
            process.kill()
            process.wait()


def _path() -> str:
    """PYTHONPATH for the export process: where this overcast is imported from, first."""
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.pathsep.join([here, *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]])


# -- the export process ----------------------------------------------------------------------------

class _Span:
    """A span as the export process has it (FIELDS), read by _Converter as it reads overcast's."""

    __slots__ = (*FIELDS, "context")

    def __init__(self, values: tuple, context):
        for name, value in zip(FIELDS, values, strict=True):
            setattr(self, name, value)
        self.context = context  # the BatchSpanProcessor reads only context.trace_flags.sampled

    def resource_arn(self):
        return self.resource


def _serve(endpoint: str) -> None:
    """Read batches from stdin until it closes; feed them to the SDK's BatchSpanProcessor."""
    # the SDK's own failure lines would repeat for every batch while a collector is down:
    # overcast says it once (_Exporter)
    logging.getLogger("opentelemetry").setLevel(logging.CRITICAL)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.trace import SpanContext, TraceFlags

    sampled = SpanContext(1, 1, False, TraceFlags(TraceFlags.SAMPLED))
    exporter = _Exporter(OTLPSpanExporter(endpoint=endpoint), endpoint)
    processor = BatchSpanProcessor(exporter)
    stdin = sys.stdin.buffer
    try:
        while True:
            head = stdin.read(_LENGTH.size)
            if len(head) < _LENGTH.size:
                break
            data = stdin.read(_LENGTH.unpack(head)[0])
            for values in pickle.loads(data):
                processor.on_end(_Span(values, sampled))
    except KeyboardInterrupt:
        pass
    processor.shutdown()


class _Exporter:
    """The SpanExporter the BatchSpanProcessor calls (in its thread): converts overcast's spans,
    sends them with OpenTelemetry's OTLP/HTTP exporter, and keeps away from a collector that failed."""

    def __init__(self, inner, endpoint: str):
        from opentelemetry.sdk.trace.export import SpanExportResult

        self.inner = inner
        self.endpoint = endpoint
        self._result = SpanExportResult
        self._convert = _Converter()
        self._down_until = 0.0
        self._warned = False

    def export(self, batch) -> object:
        now = time.monotonic()
        if now < self._down_until:
            return self._result.FAILURE  # dropped: the collector failed a moment ago
        try:
            result = self.inner.export([self._convert(item) for item in batch])
        except Exception as e:  # the exporter's own failure must not end the processor's thread
            result, error = self._result.FAILURE, e
        else:
            error = None
        if result is self._result.SUCCESS:
            if self._warned:
                log.warning("OTLP collector at %s answers again: spans are exported", self.endpoint)
                self._warned = False
            return result
        self._down_until = time.monotonic() + RETRY_AFTER
        if not self._warned:
            self._warned = True
            log.warning("OTLP collector at %s did not take a batch of spans%s: spans are dropped until it does "
                        "(said once)", self.endpoint, f" ({error})" if error else "")
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class _Converter:
    """overcast spans to OpenTelemetry's ReadableSpan (in the exporter's thread)."""

    def __init__(self):
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import ReadableSpan
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope
        from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

        self.Resource, self.ReadableSpan, self.SpanContext = Resource, ReadableSpan, SpanContext
        self.flags = TraceFlags(TraceFlags.SAMPLED)
        self.kinds = {"api": SpanKind.SERVER, "hop": SpanKind.INTERNAL}
        self.internal = SpanKind.INTERNAL
        self.ok = Status(StatusCode.UNSET)
        self.Status, self.error = Status, StatusCode.ERROR
        self.scope = InstrumentationScope("overcast", __version__)
        # what the user's environment says of every resource (OTEL_RESOURCE_ATTRIBUTES), without
        # the service name: each AWS service is its own
        base = dict(Resource.create({}).attributes)
        base.pop("service.name", None)
        self.base = base
        self.resources: dict[tuple, object] = {}

    def resource(self, service_name: str, account: str, region: str):
        key = (service_name, account, region)
        resource = self.resources.get(key)
        if resource is None:
            attributes = {**self.base, "service.name": service_name, "service.namespace": "overcast",
                          "cloud.provider": "aws"}
            if account:
                attributes["cloud.account.id"] = account
            if region:
                attributes["cloud.region"] = region
            resource = self.resources[key] = self.Resource(attributes)
            if len(self.resources) > 10_000:
                self.resources.clear()
        return resource

    def __call__(self, span):
        trace = int(span.trace_id[2:10] + span.trace_id[11:], 16)
        context = self.SpanContext(trace, int(span.span_id, 16), False, self.flags)
        parent = self.SpanContext(trace, int(span.parent_id, 16), False, self.flags) if span.parent_id else None
        display = DISPLAY.get(span.service, span.service)
        extra = span.attributes or {}
        attributes = {"overcast.kind": span.kind}
        if span.kind == "api":
            attributes.update({"rpc.system": "aws-api", "rpc.service": display, "rpc.method": span.operation or ""})
        elif span.operation:
            attributes["overcast.operation"] = span.operation
        if span.region:
            attributes["aws.region"] = span.region
        resource_arn = span.resource_arn()
        if resource_arn:
            attributes["cloud.resource_id"] = resource_arn
        if span.http_status is not None:
            attributes["http.response.status_code"] = span.http_status
        for key, value in extra.items():
            if isinstance(value, str | int | float | bool):
                attributes[key if "." in key else f"overcast.{key}"] = value
        service_name = extra.get("xray.service") if span.kind == "xray" else None
        status = self.ok if span.status != "error" else self.Status(self.error, span.error or "error")
        end = span.end if span.end is not None else span.start
        return self.ReadableSpan(
            name=span.display_name, context=context, parent=parent,
            resource=self.resource(service_name or display, span.account, span.region),
            attributes=attributes, kind=self.kinds.get(span.kind, self.internal), status=status,
            start_time=int(span.start * 1e9), end_time=int(end * 1e9), instrumentation_scope=self.scope)


_export: OtlpExport | None = None


def start(config) -> None:
    """Export spans when the configuration names a collector (OVERCAST_OTLP_ENDPOINT)."""
    global _export
    if config.otlp_endpoint and RECORDER.enabled and _export is None:
        _export = OtlpExport(config.otlp_endpoint)


def stop() -> None:
    global _export
    if _export is not None:
        _export.close()
        _export = None


if __name__ == "__main__":
    _serve(sys.argv[1])
