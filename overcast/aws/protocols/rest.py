"""What rest-json and rest-xml share: routing a method and path to an operation by its
`http.requestUri`, and binding members to the URI, query string, headers, status code and payload.

The route table is compiled once per model (cached on the ServiceModel). The body itself (JSON or
XML) is left to the subclass: `_read_body` / `_write_body` / `_error_response`.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote

from overcast.aws.context import HttpRequest, HttpResponse, RequestContext
from overcast.aws.errors import AwsError
from overcast.aws.legacy_models import query_error_code
from overcast.aws.models import OperationModel, ServiceModel
from overcast.aws.protocols.shapes import from_text, ref_traits, to_text
from overcast.aws.protocols.validate import TypeMismatch, invalid_value, validate_input

_LABEL = re.compile(r"\{([^}]+)\}")
_SCALARS = frozenset(("string", "integer", "long", "short", "byte", "float", "double", "boolean", "timestamp", "blob"))


class _Route:
    __slots__ = ("operation", "regex", "labels", "query", "score")

    def __init__(self, operation: OperationModel):
        self.operation = operation
        uri = operation.http.get("requestUri", "/")
        path, _, query = uri.partition("?")
        self.query = {}
        for part in query.split("&") if query else ():
            key, sep, value = part.partition("=")
            self.query[key] = value if sep else None
        self.labels: list[str] = []
        pattern, pos, literal, greedy = [], 0, 0, 0
        for match in _LABEL.finditer(path):
            text = path[pos:match.start()]
            pattern.append(re.escape(text))
            literal += len(text)
            name = match.group(1)
            if name.endswith("+"):
                self.labels.append(name[:-1])
                pattern.append("(.+)")
                greedy += 1
            else:
                self.labels.append(name)
                pattern.append("([^/]+)")
            pos = match.end()
        tail = path[pos:]
        literal += len(tail)
        pattern.append(re.escape(tail.rstrip("/")) + "/?")
        self.regex = re.compile("^" + "".join(pattern) + "$")
        # most specific first: more literal text, more required query parts, no greedy label
        self.score = (-literal, -len(self.query), greedy, -len(self.labels))

    def match(self, raw_path: str, query: dict) -> dict | None:
        for key, value in self.query.items():
            if key not in query or (value is not None and query[key][0] != value):
                return None
        m = self.regex.match(raw_path)
        if m is None:
            return None
        return {name: unquote(value) for name, value in zip(self.labels, m.groups(), strict=True)}


def _routes(model: ServiceModel) -> dict[str, list[_Route]]:
    table = model._rest_routes
    if table is None:
        table = {}
        for operation in model.operations.values():
            table.setdefault(operation.http.get("method", "POST").upper(), []).append(_Route(operation))
        for routes in table.values():
            routes.sort(key=lambda r: r.score)
        model._rest_routes = table
    return table


class _Bindings:
    """Where each input member of a shape comes from, indexed by wire name."""

    __slots__ = ("payload", "body", "uri", "query", "headers", "prefixed", "query_maps")

    def __init__(self):
        self.payload: tuple | None = None  # (name, traits, target, kind) of the member that is the whole body
        self.body = False  # members without a location: read from the JSON or XML body (no payload member)
        self.uri: list[tuple] = []  # (name, label, target, kind, traits)
        self.query: dict[str, tuple] = {}  # query parameter -> (name, target, kind, traits)
        self.headers: dict[str, tuple] = {}  # lower-cased header -> (name, target, kind, traits)
        self.prefixed: list[tuple[str, str]] = []  # (name, lower-cased header prefix)
        self.query_maps: list[tuple[str, str]] = []  # (name, target): the query's unclaimed rest


def _bindings(model: ServiceModel, shape_name: str) -> _Bindings:
    cache = model.cache("rest_bindings")
    found = cache.get(shape_name)
    if found is None:
        found = cache[shape_name] = _Bindings()
        payload = model.shapes[shape_name].get("payload")
        for name, traits, target, kind, location in _member_plan(model, shape_name):
            if name == payload:
                found.payload = (name, traits, target, kind)
                continue
            if location is None:
                found.body = not payload
                continue
            wire = traits.get("locationName", name)
            if location == "uri":
                found.uri.append((name, wire, target, kind, traits))
            elif location == "querystring":
                if kind == "map":
                    found.query_maps.append((name, target))
                else:
                    found.query[wire] = (name, target, kind, traits)
            elif location == "header":
                found.headers[wire.lower()] = (name, target, kind, traits)
            elif location == "headers":
                found.prefixed.append((name, wire.lower()))
    return found


def _output_bindings(model: ServiceModel, shape_name: str) -> tuple:
    """(payload member, whether other members go in the body, {member: (traits, target, kind,
    location, wire name)}) for an output shape; uri and querystring bindings mean nothing in a
    response, so those members are body members."""
    cache = model.cache("rest_output_bindings")
    found = cache.get(shape_name)
    if found is None:
        payload = model.shapes[shape_name].get("payload")
        members, has_body_members = {}, False
        for name, traits, target, kind, location in _member_plan(model, shape_name):
            if location in ("uri", "querystring"):
                location = None
            if location is None and name != payload:
                has_body_members = True
            members[name] = (traits, target, kind, location, traits.get("locationName", name))
        found = cache[shape_name] = (payload, has_body_members, members)
    return found


def _member_plan(model: ServiceModel, shape_name: str) -> list[tuple]:
    """(name, traits, target shape name, kind, location) per member, cached."""
    cache = model.cache("rest_plans")
    plan = cache.get(shape_name)
    if plan is None:
        plan = []
        for name, ref in model.shapes[shape_name].get("members", {}).items():
            traits = ref_traits(model, ref)
            target = model.shapes[ref["shape"]]
            plan.append((name, traits, ref["shape"], target["type"], traits.get("location")))
        cache[shape_name] = plan
    return plan


def split_header_list(text: str) -> list[str]:
    """A comma-separated header value, honouring double-quoted items (RFC 7230)."""
    items, i, n = [], 0, len(text)
    while i < n:
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] == '"':
            i += 1
            buf = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                buf.append(text[i])
                i += 1
            items.append("".join(buf))
            i += 1
            while i < n and text[i] != ",":
                i += 1
            i += 1
        else:
            j = text.find(",", i)
            j = n if j == -1 else j
            items.append(text[i:j].strip())
            i = j + 1
    return items


def _join_header_list(items: list[str]) -> str:
    out = []
    for item in items:
        if "," in item or '"' in item:
            item = '"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"'
        out.append(item)
    return ", ".join(out)


class RestProtocol:
    name = "rest"
    content_type = "application/json"

    # -- parse -----------------------------------------------------------------------------

    def parse(self, model: ServiceModel, request: HttpRequest) -> tuple[OperationModel, dict]:
        query = self.parse_query(request)
        route, labels = self._route(model, request, query)
        return route.operation, self.bind(model, route.operation, request, labels, query)

    def match_operation(self, model: ServiceModel, request: HttpRequest) -> OperationModel:
        """The operation a request's method and path name, before its body is read."""
        return self._route(model, request, self.parse_query(request))[0].operation

    def _route(self, model: ServiceModel, request: HttpRequest, query: dict) -> tuple[_Route, dict]:
        raw_path = request.raw_path or request.path
        for route in _routes(model).get(request.method.upper(), ()):
            labels = route.match(raw_path, query)
            if labels is not None:
                return route, labels
        raise self._unknown_operation(request)

    @staticmethod
    def parse_query(request: HttpRequest) -> dict[str, list[str]]:
        try:
            query: dict[str, list[str]] = {}
            for key, value in parse_qsl(request.query_string, keep_blank_values=True, max_num_fields=10_000):
                query.setdefault(key, []).append(value)
        except ValueError:
            raise AwsError("InvalidArgument", "The query string is malformed.") from None
        return query

    def bind(self, model: ServiceModel, operation: OperationModel, request: HttpRequest, labels: dict,
             query: dict, validate: bool = True) -> dict:
        """An operation's input from the request (for callers that chose the operation
        themselves, e.g. S3's front door, which routes on headers and query parameters too, and
        validates what S3 validates itself)."""
        params: dict = {}
        if operation.input_shape:
            try:
                params = self._bind_input(model, operation.input_shape, request, labels, query)
                if validate:
                    validate_input(model, operation, params)
            except TypeMismatch as e:
                raise AwsError("SerializationException", f"Unexpected value at '{e.path}': expected {e.kind}.") from None
        return params

    def _unknown_operation(self, request: HttpRequest) -> AwsError:
        return AwsError("UnknownOperationException", f"No operation matches {request.method} {request.path}", 404)

    def _bind_input(self, model, shape_name, request, labels, query) -> dict:
        params: dict = {}
        bindings = _bindings(model, shape_name)
        if bindings.payload is not None:
            name, traits, target, kind = bindings.payload
            value = self._read_payload(model, target, kind, traits, request.body)
            if value is not None:
                params[name] = value
        elif bindings.body:
            params.update(self._read_body(model, shape_name, request.body))
        for name, wire, target, kind, traits in bindings.uri:
            if wire in labels:
                params[name] = self._bound(model, target, kind, traits, labels[wire], "iso8601", wire)
        for wire, values in query.items():
            entry = bindings.query.get(wire)
            if entry is None:
                continue
            name, target, kind, traits = entry
            if kind == "list":
                mref = model.shapes[target]["member"]
                mshape = model.shapes[mref["shape"]]
                params[name] = [self._bound(model, mref["shape"], mshape["type"], ref_traits(model, mref), v,
                                            "iso8601", wire) for v in values]
            else:
                params[name] = self._bound(model, target, kind, traits, values[0], "iso8601", wire)
        # headers: walk the request's few headers, not the shape's many header members
        for header, text in request.headers.items():
            entry = bindings.headers.get(header)
            if entry is not None:
                name, target, kind, traits = entry
                params[name] = self._header_value(model, target, kind, traits, text, header)
        for name, prefix in bindings.prefixed:
            found = {k[len(prefix):]: v for k, v in request.headers.items() if k.startswith(prefix)}
            if found:
                params[name] = found
        for name, target in bindings.query_maps:  # query maps take what nothing else claimed
            vshape = model.shapes[model.shapes[target]["value"]["shape"]]
            found = {k: (v if vshape["type"] == "list" else v[0]) for k, v in query.items()
                     if k not in bindings.query}
            if found:
                params[name] = found
        return params

    def _bound(self, model, target, kind, traits, text, default_fmt, wire):
        try:
            return self._text_value(model, target, kind, traits, text, default_fmt)
        except (ValueError, TypeError, OverflowError):
            raise invalid_value(model, wire, text, kind) from None

    def _header_value(self, model, target, kind, traits, text, wire):
        if kind != "list":
            return self._bound(model, target, kind, traits, text, "rfc822", wire)
        mref = model.shapes[target]["member"]
        mshape = model.shapes[mref["shape"]]
        items = split_header_list(text)
        if mshape["type"] == "timestamp" and (
            (ref_traits(model, mref).get("timestampFormat") or mshape.get("timestampFormat", "rfc822")) == "rfc822"
        ):
            items = [f"{items[i]}, {items[i + 1]}" for i in range(0, len(items) - 1, 2)]
        return [self._bound(model, mref["shape"], mshape["type"], ref_traits(model, mref), v, "rfc822", wire)
                for v in items]

    def _text_value(self, model, shape_name, kind, traits, text, default_fmt):
        shape = model.shapes[shape_name]
        if kind not in _SCALARS:
            return text
        fmt = traits.get("timestampFormat") or shape.get("timestampFormat") or default_fmt
        if kind == "string" and traits.get("jsonvalue"):
            return from_text(kind, text, fmt, jsonvalue=True)
        return from_text(kind, text, fmt)

    def _read_payload(self, model, target, kind, traits, body: bytes):
        if kind == "blob":
            return bytes(body) if body else None
        if kind == "string":
            return body.decode("utf-8", "replace") if body else None
        if not body or body.isspace():
            return None
        value = self._read_payload_structure(model, target, traits, body)
        return value if value != {} else None  # an empty structure is what clients send for none

    # subclasses: JSON or XML bodies
    def _read_body(self, model, shape_name, body: bytes) -> dict:
        raise NotImplementedError

    def _read_payload_structure(self, model, shape_name, traits, body: bytes):
        raise NotImplementedError

    # -- serialize -------------------------------------------------------------------------

    def serialize(self, model: ServiceModel, operation: OperationModel, output: dict | None, ctx: RequestContext) -> HttpResponse:
        status = int(operation.http.get("responseCode", 200))
        headers = [("x-amzn-RequestId", ctx.request_id)] if ctx is not None else []
        body = b""
        content_type = None
        if operation.output_shape:
            output = output or {}
            status, body, content_type = self._bind_output(model, operation.output_shape, output, headers, status)
        # a Content-Type header member (API Gateway's GetExport contentType) says it for the payload
        if content_type and not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("content-type", content_type))
        return HttpResponse(status, headers, body)

    def _bind_output(self, model, shape_name, output: dict, headers: list, status: int):
        payload, has_body_members, members = _output_bindings(model, shape_name)
        body, content_type = b"", None
        # walk the few members the provider returned, not the shape's many
        for name, value in output.items():
            entry = members.get(name)
            if entry is None or value is None:
                continue
            traits, target, kind, location, wire = entry
            if location is None:
                if name == payload:
                    body, content_type = self._write_payload(model, target, kind, traits, value)
            elif location == "header":
                if kind == "list":
                    mref = model.shapes[target]["member"]
                    mkind = model.shapes[mref["shape"]]["type"]
                    mtraits = ref_traits(model, mref)
                    items = [self._header_text(model, mref["shape"], mkind, mtraits, v) for v in value]
                    if mkind == "timestamp":
                        headers.append((wire, ", ".join(items)))
                    else:
                        headers.append((wire, _join_header_list(items)))
                else:
                    headers.append((wire, self._header_text(model, target, kind, traits, value)))
            elif location == "headers":
                for k, v in value.items():
                    headers.append((f"{wire}{k}", str(v)))
            elif location == "statusCode":
                status = int(value)
        if not payload and has_body_members:
            body = self._write_body(model, shape_name, output)
            content_type = self.content_type
        return status, body, content_type

    def _header_text(self, model, shape_name, kind, traits, value) -> str:
        shape = model.shapes[shape_name]
        fmt = traits.get("timestampFormat") or shape.get("timestampFormat") or "rfc822"
        return to_text(kind, value, fmt, jsonvalue=bool(traits.get("jsonvalue")))

    def _write_payload(self, model, target, kind, traits, value):
        if kind == "blob":
            return (value.encode() if isinstance(value, str) else bytes(value)), "application/octet-stream"
        if kind == "string":
            return value.encode(), "text/plain"
        return self._write_payload_structure(model, target, traits, value), self.content_type

    def _write_body(self, model, shape_name, output: dict) -> bytes:
        raise NotImplementedError

    def _write_payload_structure(self, model, shape_name, traits, value) -> bytes:
        raise NotImplementedError

    # -- errors ----------------------------------------------------------------------------

    def _error_code_status(self, model, error: AwsError) -> tuple[str, int]:
        code, status = error.code, error.status
        query = query_error_code(model, code)
        if query is not None:
            code = query[0]
            if query[1] and status == 400:
                status = query[1]
        elif model is not None and status == 400:
            trait = model.shapes.get(error.code, {}).get("error", {})
            status = trait.get("httpStatusCode", status)
        return code, status

    def _error_headers(self, model, error: AwsError, ctx) -> tuple[list, set]:
        """Headers for the error shape's header-bound members, and the names they took."""
        headers = [("x-amzn-RequestId", ctx.request_id)] if ctx is not None else []
        taken = set()
        shape = model.shapes.get(error.code) if model is not None else None
        if shape is not None and shape.get("type") == "structure" and error.fields:
            for name, traits, target, kind, location in _member_plan(model, error.code):
                if location == "header" and error.fields.get(name) is not None:
                    headers.append((traits.get("locationName", name),
                                    self._header_text(model, target, kind, traits, error.fields[name])))
                    taken.add(name)
                elif location is not None:
                    taken.add(name)
        return headers, taken
