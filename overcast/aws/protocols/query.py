"""awsQuery: form-encoded parameters (POST body or GET query string) with Action and Version;
XML responses wrapped in <{Operation}Response> and <{resultWrapper}>.

Parameter names follow botocore's QuerySerializer: structure members by locationName or name,
lists as `Name.member.N` (or `Name.N` when flattened, the member's locationName replacing the
last part), maps as `Name.entry.N.key` / `.value` (or `Name.N.key` when flattened).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from overcast.aws.context import HttpRequest, HttpResponse, RequestContext
from overcast.aws.errors import AwsError
from overcast.aws.legacy_models import query_error_code
from overcast.aws.models import OperationModel, ServiceModel
from overcast.aws.protocols.shapes import from_text, ref_traits
from overcast.aws.protocols.validate import TypeMismatch, invalid_value, validate_input
from overcast.aws.protocols.xmlcodec import escape_text, structure_children

_SCALARS = frozenset(("string", "integer", "long", "short", "byte", "float", "double", "boolean", "timestamp", "blob"))
MAX_FIELDS = 10_000


def parse_form(request: HttpRequest) -> dict[str, str]:
    """The request's parameters: the query string, then a form body. Malformed input -> 4xx."""
    try:
        pairs = parse_qsl(request.query_string, keep_blank_values=True, max_num_fields=MAX_FIELDS)
        if request.method == "POST" and request.body:
            text = request.body.decode("utf-8")
            pairs += parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise AwsError("MalformedQueryString", "The query string contains a syntax error.", 404) from None
    return dict(pairs)


class QueryProtocol:
    name = "query"

    def parse(self, model: ServiceModel, request: HttpRequest) -> tuple[OperationModel, dict]:
        form = parse_form(request)
        action = form.get("Action")
        # a request to a resource's own URL (an SQS queue URL, the model's path-bound member)
        # rather than to the service's: AWS words its errors for "this endpoint"
        bound = model.path_bound is not None and request.path not in ("", "/")
        if not action:
            if bound:
                raise AwsError("UnknownOperationException", "", 404)  # AWS: 404 and a bare element
            raise AwsError("MissingAction", "Missing Action")
        operation = model.operations.get(action)
        if operation is None:
            raise AwsError("InvalidAction",
                           f"The action {action} is not valid for this {'endpoint' if bound else 'web service'}.")
        params: dict = {}
        if operation.input_shape:
            prefixes = _prefixes(form)
            params = _structure(model, operation.input_shape, form, prefixes, "")
            try:
                validate_input(model, operation, params)
            except TypeMismatch as e:  # cannot happen for parsed text, but never a 500
                raise invalid_value(model, e.path, str(e.value), e.kind) from None
        return operation, params

    def serialize(self, model: ServiceModel, operation: OperationModel, output: dict | None, ctx: RequestContext) -> HttpResponse:
        root = f"{operation.name}Response"
        parts = [f'<{root} xmlns="{_namespace(model)}">']
        if operation.output_shape:
            wrapper = operation.output_wrapper
            if wrapper:
                parts.append(f"<{wrapper}>")
            if output:
                structure_children(model, operation.output_shape, output, parts)
            if wrapper:
                if parts[-1] == f"<{wrapper}>":  # nothing in it: AWS answers <ReceiveMessageResult/>
                    parts[-1] = f"<{wrapper}/>"
                else:
                    parts.append(f"</{wrapper}>")
        parts.append(f"<ResponseMetadata><RequestId>{ctx.request_id}</RequestId></ResponseMetadata></{root}>")
        return HttpResponse(200, _headers(ctx), "".join(parts).encode())

    def serialize_error(self, model: ServiceModel | None, operation: OperationModel | None, error: AwsError, ctx: RequestContext | None) -> HttpResponse:
        code, status = error.code, error.status
        if code == "UnknownOperationException":  # a request that names no action at all
            return HttpResponse(status, _headers(ctx), b"<UnknownOperationException/>")
        query = query_error_code(model, code)
        if query is not None:
            code = query[0]
            if query[1] and status == 400:
                status = query[1]
        fault = "Sender" if error.sender_fault else "Receiver"
        ns = f' xmlns="{_namespace(model)}"' if model is not None else ""
        parts = [f"<ErrorResponse{ns}><Error><Type>{fault}</Type><Code>{escape_text(code)}</Code>"]
        if not error.fields.get("_no_message"):  # some of AWS's errors have no message (CloudWatch's ResourceNotFound)
            parts.append(f"<Message>{escape_text(error.message)}</Message>")
        fields = {k: v for k, v in error.fields.items() if not k.startswith("_") and k not in ("Message", "message")}
        if fields and model is not None and model.shapes.get(error.code, {}).get("type") == "structure":
            structure_children(model, error.code, fields, parts)
        request_id = ctx.request_id if ctx is not None else ""
        parts.append(f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>")
        return HttpResponse(status, _headers(ctx), "".join(parts).encode())


def _headers(ctx: RequestContext | None) -> list[tuple[str, str]]:
    headers = [("content-type", "text/xml")]
    if ctx is not None:
        headers.append(("x-amzn-RequestId", ctx.request_id))
    return headers


def _namespace(model: ServiceModel) -> str:
    cache = model.cache("namespaces")
    ns = cache.get("query")
    if ns is None:
        meta = model.metadata
        ns = meta.get("xmlNamespace") or f"https://{meta.get('endpointPrefix', model.name)}.amazonaws.com/doc/{meta.get('apiVersion', '')}/"
        cache["query"] = ns
    return ns


# -- form -> params ----------------------------------------------------------------------------


# No shape nests a parameter name deeper than this; prefixes past it are never looked up, and
# computing them all would be quadratic in a key like a.a.a... (200,000 dots: minutes).
MAX_KEY_DEPTH = 64


def _prefixes(form: dict) -> set[str]:
    """Every key and every dotted prefix of a key: what tells a structure or list item exists."""
    out = set()
    for key in form:
        out.add(key)
        i = key.find(".")
        depth = 0
        while i != -1 and depth < MAX_KEY_DEPTH:
            out.add(key[:i])
            i = key.find(".", i + 1)
            depth += 1
    return out


def _query_plan(model: ServiceModel, shape_name: str) -> list[tuple]:
    cache = model.cache("query_plans")
    plan = cache.get(shape_name)
    if plan is None:
        plan = []
        for name, ref in model.shapes[shape_name].get("members", {}).items():
            traits = ref_traits(model, ref)
            key = traits.get("locationName", name)
            # a flattened map named apart from its locationName (SQS's MessageAttributes, sent as
            # MessageAttribute.N): AWS takes the member's own name too
            alt = name if key != name and traits.get("flattened") and model.shapes[ref["shape"]]["type"] == "map" \
                else None
            plan.append((name, key, ref["shape"], traits, alt))
        cache[shape_name] = plan
    return plan


def _structure(model: ServiceModel, shape_name: str, form: dict, prefixes: set, prefix: str) -> dict:
    out = {}
    for name, key, target, traits, alt in _query_plan(model, shape_name):
        full = f"{prefix}.{key}" if prefix else key
        if alt is not None and full not in prefixes:
            alt = f"{prefix}.{alt}" if prefix else alt
            if alt in prefixes:
                full = alt
        if full in prefixes or model.shapes[target]["type"] == "list":
            value = _value(model, target, traits, form, prefixes, full)
            if value is not None:
                out[name] = value
    return out


def _value(model: ServiceModel, shape_name: str, traits: dict, form: dict, prefixes: set, full: str):
    shape = model.shapes[shape_name]
    kind = shape["type"]
    if kind in _SCALARS:
        text = form.get(full)
        if text is None:
            return None
        try:
            return from_text(kind, text, traits.get("timestampFormat") or shape.get("timestampFormat"))
        except (ValueError, TypeError, OverflowError):
            raise invalid_value(model, full, text, kind) from None
    if kind == "structure":
        return _structure(model, shape_name, form, prefixes, full)
    if kind == "list":
        mref = shape["member"]
        mtraits = ref_traits(model, mref)
        if traits.get("flattened"):
            item_prefix = full
            if "locationName" in mtraits:
                # botocore names the items after the list member's locationName; Smithy clients
                # after the structure member: accept either
                renamed = ".".join(full.split(".")[:-1] + [mtraits["locationName"]])
                if f"{renamed}.1" in prefixes:
                    item_prefix = renamed
        else:
            item_prefix = f"{full}.{mtraits.get('locationName', 'member')}"
        items = []
        i = 1
        while f"{item_prefix}.{i}" in prefixes:
            items.append(_value(model, mref["shape"], mtraits, form, prefixes, f"{item_prefix}.{i}"))
            i += 1
        if not items and form.get(full) != "" and item_prefix not in prefixes:
            return None
        return items
    if kind == "map":
        kref, vref = shape["key"], shape["value"]
        ktraits, vtraits = ref_traits(model, kref), ref_traits(model, vref)
        kname, vname = ktraits.get("locationName", "key"), vtraits.get("locationName", "value")
        entry_prefix = full if traits.get("flattened") else f"{full}.entry"
        out = {}
        i = 1
        while f"{entry_prefix}.{i}" in prefixes:
            base = f"{entry_prefix}.{i}"
            k = _value(model, kref["shape"], ktraits, form, prefixes, f"{base}.{kname}")
            if k is not None:
                out[k] = _value(model, vref["shape"], vtraits, form, prefixes, f"{base}.{vname}")
            i += 1
        return out
    return form.get(full)


def form_input(model: ServiceModel, operation: OperationModel, form: dict[str, str]) -> dict:
    """An operation's input from awsQuery-named parameters, whatever the service's protocol (API
    Gateway's action integrations call JSON services so)."""
    if not operation.input_shape:
        return {}
    return _structure(model, operation.input_shape, form, _prefixes(form), "")


QUERY_PROTOCOL = QueryProtocol()
