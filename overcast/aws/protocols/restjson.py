"""restJson1: REST routing and bindings (rest.py) with JSON bodies.

Errors: `{"message": ...}` plus the error shape's members, with the code in the
`x-amzn-errortype` header (what botocore's RestJSONParser reads first).
"""

from __future__ import annotations

import orjson

from overcast.aws.context import HttpResponse, RequestContext
from overcast.aws.errors import AwsError
from overcast.aws.models import OperationModel, ServiceModel
from overcast.aws.protocols.jsoncodec import decoder, encoder, error_body
from overcast.aws.protocols.rest import RestProtocol, _member_plan


class RestJsonProtocol(RestProtocol):
    name = "rest-json"
    content_type = "application/json"

    def _load(self, body: bytes):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            raise AwsError("SerializationException", "Malformed JSON in request body.") from None

    def _read_body(self, model, shape_name, body: bytes) -> dict:
        if not body or body.isspace():
            return {}
        value = self._load(body)
        if not isinstance(value, dict):
            raise AwsError("SerializationException", "Start of structure or map found where not expected.")
        decode = decoder(model, shape_name)
        return decode(value) if decode is not None else value

    def _read_payload_structure(self, model, shape_name, traits, body: bytes):
        value = self._load(body)
        decode = decoder(model, shape_name)
        try:
            return decode(value) if decode is not None else value
        except ValueError as e:
            raise AwsError("SerializationException", str(e)) from None

    def _write_body(self, model, shape_name, output: dict) -> bytes:
        body = {name: output[name] for name, _t, _s, _k, location in _member_plan(model, shape_name)
                if location not in ("header", "headers", "statusCode") and output.get(name) is not None}
        encode = encoder(model, shape_name)
        return orjson.dumps(encode(body) if encode is not None else body)

    def _write_payload_structure(self, model, shape_name, traits, value) -> bytes:
        encode = encoder(model, shape_name)
        return orjson.dumps(encode(value) if encode is not None else value)

    def serialize_error(self, model: ServiceModel | None, operation: OperationModel | None, error: AwsError, ctx: RequestContext | None) -> HttpResponse:
        code, status = self._error_code_status(model, error)
        headers, taken = self._error_headers(model, error, ctx)
        headers.append(("x-amzn-errortype", code))
        headers.append(("content-type", "application/json"))
        return HttpResponse(status, headers, orjson.dumps(error_body(model, error.code, error, skip=taken)))


REST_JSON_PROTOCOL = RestJsonProtocol()
