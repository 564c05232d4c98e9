"""(operation, params) -> the provider's method, and the request pipeline around it."""

from __future__ import annotations

import gc
import importlib
import inspect
import logging
import time

from overcast.aws.context import HttpRequest, HttpResponse, RequestContext
from overcast.aws.errors import AwsError, internal_error, nested_too_deeply, not_implemented
from overcast.aws.legacy_models import PROTOCOL_MODELS, load_legacy_model, protocol_model
from overcast.aws.models import OperationModel, load_service_model
from overcast.aws.protocols import get_protocol, is_query_request, request_protocol
from overcast.aws.protocols.validate import style_for
from overcast.aws.routing import Route, route
from overcast.aws.signing import (
    SignatureFailure,
    Verifier,
    parse_credentials,
    takes_unsigned,
    unsigned_operation,
)
from overcast.config import Config
from overcast.services import SERVICES, load_provider_class
from overcast.storage import BlobStore, Database
from overcast.storage.coordination import Local
from overcast.tracing import RESOURCE_PARAMS, answer_header, close_api, open_api, resource_hint, suspended

log = logging.getLogger("overcast")

# Credentials overcast's STS (ASIA...) and IAM (AKIA...) issue carry the account they belong to.
ISSUED_KEY_PREFIXES = ("ASIA", "AKIA")


def settle_heap() -> None:
    """Move every object alive now into the collector's permanent generation (gc.freeze): what a
    provider's first load brings (botocore's models, compiled plans: hundreds of thousands of
    objects) lives as long as the server, and a full collection would otherwise walk it all each
    time. Full collections come with a steady flow of objects that outlive two young collections,
    such as the trace ring's spans: with tracing on, they were a tenth of a SendMessage's CPU."""
    gc.freeze()


class Providers:
    """The running providers, created on first use, and what they share."""

    def __init__(self, config: Config, db: Database, blobs: BlobStore, coordination=None):
        self.config = config
        self.db = db
        self.blobs = blobs
        # wake-ups and leases between the nodes of a cluster; one node: storage.coordination.Local
        self.coordination = coordination if coordination is not None else Local()
        self.started_at = time.time()
        self._providers: dict[str, object] = {}
        self._handlers: dict[tuple[str, str], tuple] = {}
        self._issued_keys: dict[str, tuple[str, str]] = {}
        # `overcast reset` on one node of a cluster: the others drop what they derived from the
        # deleted rows (storage/coordination.Cluster.cache; missed notifications drop every cache)
        self._reset_everywhere = self.coordination.cache("reset", self._reset_providers, lambda: None)

    async def get(self, service: str):
        provider = self._providers.get(service)
        if provider is None:
            spec = SERVICES[service]
            provider = load_provider_class(spec)(self)
            self._providers[service] = provider
            with suspended():  # what it starts (timers, pollers, resumed work) is no child of this request
                if spec.leased and self.coordination.cluster:  # its timed work runs where its lease is
                    self.coordination.lease_service(service, provider)
                elif spec.pending_work and not self.coordination.first and not spec.shares_work:
                    # a service whose work is not leased yet: what a crash left is recovered once per
                    # cluster start, by its first node (docs/cluster.md); a later node must not run it again
                    pass
                else:
                    await provider.start()
            settle_heap()
        return provider

    async def identity_for_key(self, access_key: str) -> tuple[str, str] | None:
        """(account, user or role-session ARN) of credentials that overcast's STS or IAM issued,
        remembered once found (issued keys never change owner)."""
        identity = self._issued_keys.get(access_key)
        if identity is None:
            identity = await (await self.get("sts")).identity_for_issued_key(access_key)
            if identity is not None:
                self._issued_keys[access_key] = identity
        return identity

    async def account_for_key(self, access_key: str) -> str | None:
        """The account of credentials that overcast's STS or IAM issued."""
        identity = await self.identity_for_key(access_key)
        return identity[0] if identity else None

    def loaded(self) -> dict[str, object]:
        return dict(self._providers)

    async def handler(self, service: str, operation: OperationModel):
        """The bound provider method for an operation, whether it is a coroutine, the provider's
        `authorize(ctx, params)` if it has one (a check of parameters every operation shares, such
        as Glue's CatalogId naming another account) and the parameter that names the resource of
        its trace span (None: it has none), cached."""
        key = (service, operation.name)
        entry = self._handlers.get(key)
        if entry is None:
            provider = await self.get(service)
            method = getattr(provider, operation.method_name, None)
            if self.db.pipeline is not None:  # (PostgreSQL) its statement awaited in the pipeline
                method = getattr(provider, operation.method_name + "_pipelined", method)
            # the parameter that names the request's resource (tracing.RESOURCE_PARAMS: the first the operation has)
            shape = operation.service.shapes.get(operation.input_shape, {}) if operation.input_shape else {}
            members = shape.get("members", {})
            hint = next((key for key in RESOURCE_PARAMS.get(service, ()) if key in members), None)
            entry = (method, inspect.iscoroutinefunction(method), getattr(provider, "authorize", None), hint)
            self._handlers[key] = entry
            settle_heap()
        return entry

    async def stop(self) -> None:
        for provider in self._providers.values():
            try:
                await provider.stop()
            except Exception:
                log.exception("stopping %s", provider)

    def reset(self) -> None:
        self.db.reset()
        self._reset_everywhere(0)

    def _reset_providers(self, _key=None) -> None:
        self._issued_keys.clear()
        for provider in self._providers.values():
            provider.reset()


class Gateway:
    """server.py hands every AWS API request here."""

    def __init__(self, providers: Providers, verify: bool = True):
        """`verify` False: a gateway for the requests overcast builds itself on an account's
        behalf (API Gateway's AWS integrations), which carry no client's signature."""
        self.providers = providers
        self._fronts: dict[str, object] = {}
        config = providers.config
        # None unless signatures are verified: then the request path does no signature work at all
        self.verifier = Verifier(providers, parse_credentials(config.credentials)) \
            if verify and config.verify_signatures else None

    async def handle(self, request: HttpRequest, target: Route | None = None, own_task: bool = False) -> HttpResponse:
        """`target`: the request's route from its headers, when server.py found it already (an
        unsigned form request is routed again here, by its body's Action). `own_task`: server.py's
        requests, each served in an asyncio task of its own (tracing.open_api)."""
        if target is None or target.service is None:
            target = route(request)
        if target.service is None:
            return _unknown_service(request, target)
        if target.access_key[:4] in ISSUED_KEY_PREFIXES:
            identity = await self.providers.identity_for_key(target.access_key)
            if identity is not None:
                target.account, target.principal = identity
        # the request's span (overcast.tracing): current while the request is served, so what it
        # causes (a function's invocation, a message's AWSTraceHeader, a stream record) is its child
        span = open_api(request.headers.get("x-amzn-trace-id"), target.service, target.account, target.region,
                        request.body, own_task)
        spec = SERVICES[target.service]
        if spec.front is not None:  # a service with its own front door (S3)
            return await self._front(spec, request, target, span, own_task)
        model, protocol, ctx = self._speaking(request, target)
        operation = None
        try:
            if self.verifier is not None:
                await self._verify(request, ctx, model)
                if span is not None:  # the account of the key that signed it
                    span.account = ctx.account
            operation, params = protocol.parse(model, request)
            if ctx.access_key == "" and self.verifier is not None and not unsigned_operation(operation):
                raise SignatureFailure("missing").as_error(_family(ctx, model))
            ctx.operation = operation.name
            if span is not None:
                span.operation = operation.name
            method, is_async, authorize, hint = await self.providers.handler(spec.name, operation)
            if hint is not None and span is not None:  # (the ARN is made when the span is read)
                value = params.get(hint)
                span._hint = value if value.__class__ is str else resource_hint(spec.name, params)
            if method is None:
                raise not_implemented(f"{model.metadata.get('serviceId', spec.name)} {operation.name}")
            if authorize is not None:
                authorize(ctx, params)
            result = await method(ctx, params) if is_async else method(ctx, params)
            if isinstance(result, HttpResponse):  # an event stream (Kinesis SubscribeToShard)
                response = result
            else:
                response = protocol.serialize(model, operation, result, ctx)
        except AwsError as error:
            if span is not None:
                span.fail(error)
            response = protocol.serialize_error(model, operation, error, ctx)
        except RecursionError:  # input nested deeper than any limit above caught: the client's fault
            log.warning("%s %s: input nested too deeply", spec.name, operation.name if operation else "(unparsed)")
            response = protocol.serialize_error(model, operation, nested_too_deeply(style_for(model).code), ctx)
        except Exception:
            log.exception("%s %s failed", spec.name, operation.name if operation else "(unparsed)")
            response = protocol.serialize_error(model, operation, internal_error(), ctx)
        except BaseException:  # cancelled (the client went away)
            if span is not None:
                close_api(span, 499, None, own_task)
            raise
        if span is not None:
            close_api(span, response.status, response.body if response.stream is None else None, own_task)
            if spec.name == "lambda":  # Lambda answers with the invocation's trace, as AWS does
                response.headers.append(("X-Amzn-Trace-Id", answer_header(span)))
        return response

    async def _front(self, spec, request: HttpRequest, target: Route, span, own_task: bool) -> HttpResponse:
        front = self._fronts.get(spec.name)
        if front is None:
            module_name, _, class_name = spec.front.partition(":")
            front = getattr(importlib.import_module(module_name), class_name)(self)
            self._fronts[spec.name] = front
        try:
            response = await front.handle(request, target)
        except BaseException:
            if span is not None:
                close_api(span, 499, None, own_task)
            raise
        if span is not None:
            close_api(span, response.status, response.body if response.stream is None else None, own_task)
        return response

    def refuse(self, request: HttpRequest, target: Route, error: AwsError) -> HttpResponse:
        """An error for a request the front door turned away before its service saw it, in the
        protocol the request speaks (overcast.security)."""
        if target.service is None:
            return _unknown_service(request, target, error)
        model, protocol, ctx = self._speaking(request, target)
        return protocol.serialize_error(model, None, error, ctx)

    def too_large(self, request: HttpRequest, target: Route, limit: int) -> HttpResponse:
        """A request body above its service's limit (ServiceSpec.max_request_bytes), refused in
        the service's protocol with its error (ServiceSpec.too_large_error) before it is read."""
        if target.service is None:  # an unsigned request, routed by its body: the generic error
            error = AwsError("RequestEntityTooLarge", f"Request must be smaller than {limit} bytes.", 413)
            return _unknown_service(request, target, error)
        spec = SERVICES[target.service]
        model, protocol, ctx = self._speaking(request, target)
        operation = _operation_from_headers(model, request)
        code, status = spec.too_large_error
        what = f" for the {operation.name} operation" if operation is not None else ""
        error = AwsError(code, f"Request must be smaller than {limit} bytes{what}", status)
        return protocol.serialize_error(model, operation, error, ctx)

    def _speaking(self, request: HttpRequest, target: Route):
        """(model, protocol, context) of a request to an AWS service: the model the protocol it
        speaks needs (SQS's older awsQuery model, Athena's awsJson or restJson1 model, whichever
        the installed botocore lacks), the protocol and the request's context."""
        spec = SERVICES[target.service]
        model = load_service_model(spec.name)
        also = PROTOCOL_MODELS.get(spec.name, ())
        # awsQuery besides the model's own protocol: SQS's older clients (its legacy model), and
        # services whose model lists both (CloudWatch's older SDKs and CLIs); other protocols
        # the service has a model for (legacy_models.PROTOCOL_MODELS)
        protocol_name = request_protocol(model, request, spec.legacy_query_model is not None or "query" in model.protocols,
                                         also)
        if protocol_name != model.protocol:
            if protocol_name == "query" and spec.legacy_query_model:
                model = load_legacy_model(spec.legacy_query_model)
            elif protocol_name in also:
                model = protocol_model(spec.name, protocol_name)
        ctx = RequestContext(target.account, target.region, spec.name, request, protocol=protocol_name,
                             access_key=target.access_key, principal=target.principal)
        return model, get_protocol(protocol_name), ctx

    async def _verify(self, request: HttpRequest, ctx: RequestContext, model) -> None:
        """The request's signature (overcast.aws.signing); its key's account scopes the request."""
        try:
            signed = await self.verifier.verify(request)
        except SignatureFailure as failure:
            raise failure.as_error(_family(ctx, model)) from None
        if signed is None:
            ctx.access_key = ""  # anonymous: refused after parsing, unless the operation takes no signature
            if not takes_unsigned(model):
                raise SignatureFailure("missing").as_error(_family(ctx, model))
        else:
            ctx.access_key, ctx.account = signed.access_key, signed.account


def _operation_from_headers(model, request: HttpRequest) -> OperationModel | None:
    """The operation a request names before its body is read: X-Amz-Target (JSON protocols) or
    the rest protocols' method and path; None otherwise (awsQuery names it in the body)."""
    target = request.headers.get("x-amz-target")
    if target:
        return model.operations.get(target.rpartition(".")[2])
    if model.protocol in ("rest-json", "rest-xml"):
        try:
            return get_protocol(model.protocol).match_operation(model, request)
        except AwsError:
            return None
    return None


def _family(ctx: RequestContext, model) -> str:
    """How a service words signature errors: awsQuery services (and SQS, query-compatible in JSON
    too) as "query", every other JSON and REST service as "json"."""
    return "query" if ctx.protocol == "query" or "awsQueryCompatible" in model.metadata else "json"


def _unknown_service(request: HttpRequest, target: Route, error: AwsError | None = None) -> HttpResponse:
    """No implemented service matches: answer in the protocol the request seems to speak."""
    what = f"The service '{target.signing_name}'" if target.signing_name else "This request's service"
    error = error or AwsError(
        "NotImplemented" if target.signing_name else "UnknownService",
        f"{what} is not implemented by overcast yet." if target.signing_name
        else "Could not determine the AWS service this request is for.",
        501 if target.signing_name else 400,
    )
    ctx = RequestContext(target.account, target.region, "", request)
    if is_query_request(request) or request.headers.get("content-type", "").endswith("xml"):
        return get_protocol("query").serialize_error(None, None, error, ctx)
    return get_protocol("json").serialize_error(None, None, error, ctx)
