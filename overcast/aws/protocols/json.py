"""awsJson 1.0 and 1.1: POST /, X-Amz-Target: Prefix.Operation, JSON body both ways."""

from __future__ import annotations

import orjson

from overcast.aws.context import HttpRequest, HttpResponse, RequestContext
from overcast.aws.errors import AwsError
from overcast.aws.models import OperationModel, ServiceModel
from overcast.aws.protocols.shapes import (
    decode_blob,
    encode_blob,
    format_timestamp,
    needs_conversion,
    parse_timestamp,
)
from overcast.aws.protocols.validate import validate_input


class JsonProtocol:
    name = "json"

    def parse(self, model: ServiceModel, request: HttpRequest) -> tuple[OperationModel, dict]:
        target = request.headers.get("x-amz-target", "")
        prefix, _, name = target.rpartition(".")
        operation = model.operations.get(name)
        if operation is None or (model.target_prefix and prefix != model.target_prefix):
            raise AwsError("UnknownOperationException", f"Unknown operation {target or '(missing X-Amz-Target)'}")
        body = request.body
        if body.strip():
            try:
                params = orjson.loads(body)
            except orjson.JSONDecodeError:
                raise AwsError("SerializationException", "Start of structure or map found where not expected.") from None
            if not isinstance(params, dict):
                raise AwsError("SerializationException", "Start of structure or map found where not expected.")
        else:
            params = {}
        if operation.input_shape:
            if needs_conversion(model, operation.input_shape):
                params = _decode(model, operation.input_shape, params, "")
            validate_input(model, operation, params)
        return operation, params

    def serialize(self, model: ServiceModel, operation: OperationModel, output: dict | None, ctx: RequestContext) -> HttpResponse:
        if output and operation.output_shape and needs_conversion(model, operation.output_shape):
            output = _encode(model, operation.output_shape, output)
        body = orjson.dumps(output or {})
        return HttpResponse(200, self._headers(model, ctx), body)

    def serialize_error(self, model: ServiceModel | None, operation: OperationModel | None, error: AwsError, ctx: RequestContext | None) -> HttpResponse:
        code = error.code
        namespace = _namespace(model)
        payload = {"__type": f"{namespace}#{code}" if namespace else code, "message": error.message}
        if error.fields:
            payload.update(error.fields)
        headers = self._headers(model, ctx)
        if model is not None and model.query_compatible:
            query_code = error.fields.pop("_query_code", None) if error.fields else None
            shape = model.shapes.get(code, {})
            query_code = query_code or shape.get("error", {}).get("code") or code
            fault = "Sender" if error.sender_fault else "Receiver"
            headers.append(("x-amzn-query-error", f"{query_code};{fault}"))
            payload.pop("_query_code", None)
        return HttpResponse(error.status, headers, orjson.dumps(payload))

    @staticmethod
    def _headers(model: ServiceModel | None, ctx: RequestContext | None) -> list[tuple[str, str]]:
        version = model.metadata.get("jsonVersion", "1.0") if model is not None else "1.0"
        headers = [("content-type", f"application/x-amz-json-{version}")]
        if ctx is not None:
            headers.append(("x-amzn-requestid", ctx.request_id))
        return headers


def _namespace(model: ServiceModel | None) -> str | None:
    """The Smithy namespace AWS puts before an error name in __type (com.amazonaws.sqs#...)."""
    if model is None:
        return None
    namespace = model.__dict__.get("_json_namespace")
    if namespace is None:
        uid = model.metadata.get("endpointPrefix") or model.name
        namespace = model.__dict__["_json_namespace"] = f"com.amazonaws.{uid}"
    return namespace


def _decode(model: ServiceModel, shape_name: str, value, path: str):
    """Turn JSON values into Python values where the shape asks (timestamps, blobs)."""
    shape = model.shapes[shape_name]
    kind = shape["type"]
    try:
        if kind == "structure" and isinstance(value, dict):
            members = shape.get("members", {})
            return {
                k: (_decode(model, members[k]["shape"], v, f"{path}.{k}") if k in members and v is not None else v)
                for k, v in value.items()
            }
        if kind == "list" and isinstance(value, list):
            member = shape["member"]["shape"]
            return [_decode(model, member, v, f"{path}[{i}]") for i, v in enumerate(value)]
        if kind == "map" and isinstance(value, dict):
            vshape = shape["value"]["shape"]
            return {k: _decode(model, vshape, v, f"{path}.{k}") for k, v in value.items()}
        if kind == "timestamp" and isinstance(value, int | float | str) and not isinstance(value, bool):
            return parse_timestamp(value, shape.get("timestampFormat"))
        if kind == "blob" and isinstance(value, str):
            return decode_blob(value)
    except ValueError as e:
        raise AwsError("SerializationException", f"Invalid value at '{path.lstrip('.')}': {e}") from None
    return value


def _encode(model: ServiceModel, shape_name: str, value):
    shape = model.shapes[shape_name]
    kind = shape["type"]
    if value is None:
        return None
    if kind == "structure" and isinstance(value, dict):
        members = shape.get("members", {})
        return {k: (_encode(model, members[k]["shape"], v) if k in members else v) for k, v in value.items() if v is not None}
    if kind == "list" and isinstance(value, list | tuple):
        member = shape["member"]["shape"]
        return [_encode(model, member, v) for v in value]
    if kind == "map" and isinstance(value, dict):
        vshape = shape["value"]["shape"]
        return {k: _encode(model, vshape, v) for k, v in value.items()}
    if kind == "timestamp":
        return format_timestamp(value, shape.get("timestampFormat", "unixTimestamp"))
    if kind == "blob":
        return encode_blob(value)
    return value


JSON_PROTOCOL = JsonProtocol()
