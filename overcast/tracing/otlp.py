"""overcast's spans to an OpenTelemetry collector over OTLP/HTTP (protobuf), when
OVERCAST_OTLP_ENDPOINT is set (docs/tracing.md), so that Jaeger, Grafana Tempo or Honeycomb show
the same traces as the console.

The encoding and the transport are OpenTelemetry's own (opentelemetry-sdk and
opentelemetry-exporter-otlp-proto-http, `pip install 'overcast[otlp]'`), imported only when the
setting is on, in a thread once the server is ready: start-up and idle memory do not pay for them
otherwise. A finished span costs the request path one append to the BatchSpanProcessor's queue;
the processor's thread turns batches of them into OpenTelemetry spans and sends them. A collector
that is down costs nothing but the spans: they are dropped (the queue is bounded), one warning says
so, and one more line says when the collector answers again.

Mapping: the X-Ray trace id 1-{8 hex}-{24 hex} is the 128-bit OpenTelemetry trace id of its 32 hex
digits, span ids are the same 64 bits, a span's parent is its parent. Each AWS service is a service
of its own (resource `service.name` "SQS", "Lambda", ..., `cloud.provider` aws, `cloud.region`,
`cloud.account.id`); API calls are SERVER spans named Service.Operation with the semantic
conventions' `rpc.system` aws-api, `rpc.service`, `rpc.method`; hops are INTERNAL spans. A failed
span has status ERROR with its error as description.
"""

from __future__ import annotations

import collections
import logging
import threading
import time

from overcast import __version__
from overcast.tracing import DISPLAY, RECORDER

log = logging.getLogger("overcast.otlp")

EARLY_SPANS = 2048  # spans kept while the exporter starts (the processor's own queue is as big)
RETRY_AFTER = 15.0  # seconds a collector that failed is left alone: batches meanwhile are dropped
SHUTDOWN_SECONDS = 5.0  # what stopping the server waits for the last batch at most


def traces_url(endpoint: str) -> str:
    """OVERCAST_OTLP_ENDPOINT as OTEL_EXPORTER_OTLP_ENDPOINT reads: a base URL gets /v1/traces; a
    URL that already ends in /v1/traces is used as it is."""
    endpoint = endpoint.strip()
    if endpoint.rstrip("/").endswith("/v1/traces"):
        return endpoint
    return endpoint.rstrip("/") + "/v1/traces"


class _Finished:
    """A finished overcast span as the BatchSpanProcessor's queue carries it: the processor reads
    only `context.trace_flags.sampled` (every span overcast records is sampled), the exporter
    converts it in the processor's thread."""

    __slots__ = ("span",)
    context = None  # set to a sampled SpanContext once OpenTelemetry is imported

    def __init__(self, span):
        self.span = span


class OtlpExport:
    def __init__(self, endpoint: str, recorder=RECORDER):
        self.endpoint = traces_url(endpoint)
        self._early: collections.deque = collections.deque(maxlen=EARLY_SPANS)
        self._processor = None
        self._exporter = None
        self._closed = False
        self._unsubscribe = recorder.subscribe(self._on_end)
        self._thread = threading.Thread(target=self._start, name="overcast-otlp", daemon=True)
        self._thread.start()

    def _on_end(self, span) -> None:
        if not span.sampled:
            return
        span.trace_id, span.span_id, span.parent_id  # noqa: B018 - ids made when first asked for: here, on the loop
        processor = self._processor
        if processor is None:
            self._early.append(span)
        else:
            processor.on_end(_Finished(span))

    def _start(self) -> None:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
            from opentelemetry.trace import SpanContext, TraceFlags
        except ImportError:
            log.error("OVERCAST_OTLP_ENDPOINT is set but OpenTelemetry's packages are missing: "
                      "pip install 'overcast[otlp]'; spans are not exported")
            self._unsubscribe()
            return
        # the SDK's own failure lines would repeat for every batch while a collector is down:
        # overcast says it once (_Exporter)
        logging.getLogger("opentelemetry").setLevel(logging.CRITICAL)
        _Finished.context = SpanContext(1, 1, False, TraceFlags(TraceFlags.SAMPLED))
        self._exporter = _Exporter(OTLPSpanExporter(endpoint=self.endpoint), self.endpoint)
        processor = BatchSpanProcessor(self._exporter)
        if self._closed:
            processor.shutdown()
            return
        self._processor = processor
        while self._early:
            processor.on_end(_Finished(self._early.popleft()))

    def close(self) -> None:
        """Send what is queued (waiting at most SHUTDOWN_SECONDS) and stop."""
        self._closed = True
        self._unsubscribe()
        self._thread.join(SHUTDOWN_SECONDS)
        processor = self._processor
        if processor is None:
            return
        stopping = threading.Thread(target=processor.shutdown, name="overcast-otlp-stop", daemon=True)
        stopping.start()
        stopping.join(SHUTDOWN_SECONDS)
        if stopping.is_alive() and self._exporter is not None:  # a collector that hangs: stop its retries
            self._exporter.inner.shutdown()


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
            result = self.inner.export([self._convert(item.span) for item in batch])
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
