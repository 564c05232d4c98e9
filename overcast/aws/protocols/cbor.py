"""awsJson over CBOR (`application/x-amz-cbor-1.1`): what the AWS SDK for Java and the Kinesis
Producer/Client Libraries send to Kinesis by default. Same X-Amz-Target and members as awsJson;
the body is CBOR, blobs are byte strings and timestamps are CBOR tag 1 holding integer epoch
*milliseconds* both ways (not RFC 8949's seconds: that is what Kinesis and the AWS SDKs do, see
aws/aws-sdk-java-v2#4661; a float there breaks the SDKs).

Requests are turned into the JSON protocol's form and parsed by it (validation included);
outputs are walked by their shape to put blobs and timestamps back in CBOR's form.
"""

from __future__ import annotations

import base64
import datetime

from overcast.aws.context import HttpRequest, HttpResponse, RequestContext
from overcast.aws.errors import AwsError
from overcast.aws.models import OperationModel, ServiceModel
from overcast.aws.protocols.json import JSON_PROTOCOL

CONTENT_TYPE = "application/x-amz-cbor-1.1"


def _from_millis(value, immutable=False):
    """cbor2's decoder for tag 1: Kinesis's epoch milliseconds, made the JSON form's epoch seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AwsError("SerializationException", "Tag 1 (epoch time) must hold a number.")
    return value / 1000


def to_json(value):
    """A decoded CBOR body in the JSON protocol's form: blobs base64, timestamps epoch seconds."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    return value


def decode_body(body: bytes, epoch_time) -> dict:
    """A request's CBOR body (a map), tag 1 (epoch time) read by `epoch_time`; AWS's
    SerializationException for what is not CBOR or not a map."""
    import cbor2

    if not body:
        return {}
    try:
        params = cbor2.loads(body, semantic_decoders={1: epoch_time})
    except AwsError:
        raise
    except Exception:
        raise AwsError("SerializationException", "Malformed CBOR in request body.") from None
    if not isinstance(params, dict):
        raise AwsError("SerializationException", "Start of structure or map found where not expected.")
    return params


def _epoch(value) -> float:
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    return float(value)


def _millis(value) -> int:
    return round(_epoch(value) * 1000)


def to_cbor(model: ServiceModel, shape_name: str, value, epoch_time=_millis, doubles: bool = False):
    """An output walked by its shape into CBOR's form: blobs as byte strings, timestamps as tag 1
    holding `epoch_time(value)`; with `doubles`, whole numbers of float/double members as floats."""
    import cbor2

    if value is None:
        return None
    shape = model.shapes[shape_name]
    kind = shape["type"]
    if kind == "structure":
        if not isinstance(value, dict):
            return value
        members = shape.get("members", {})
        return {k: to_cbor(model, members[k]["shape"], v, epoch_time, doubles) if k in members else v
                for k, v in value.items() if v is not None}
    if kind == "list":
        return [to_cbor(model, shape["member"]["shape"], v, epoch_time, doubles) for v in value]
    if kind == "map":
        return {k: to_cbor(model, shape["value"]["shape"], v, epoch_time, doubles) for k, v in value.items()}
    if kind == "blob":
        return value.encode() if isinstance(value, str) else bytes(value)
    if kind == "timestamp":
        return cbor2.CBORTag(1, epoch_time(value))
    if doubles and kind in ("float", "double") and isinstance(value, int):
        return float(value)
    return value


class CborProtocol:
    name = "cbor"

    def parse(self, model: ServiceModel, request: HttpRequest) -> tuple[OperationModel, dict]:
        import orjson

        params = decode_body(request.body, _from_millis)
        as_json = HttpRequest(request.method, request.path, request.raw_path, request.query_string,
                              request.headers, orjson.dumps(to_json(params)), request.scheme, request.client)
        return JSON_PROTOCOL.parse(model, as_json)

    def serialize(self, model: ServiceModel, operation: OperationModel, output: dict | None,
                  ctx: RequestContext) -> HttpResponse:
        import cbor2

        body = to_cbor(model, operation.output_shape, output) if output and operation.output_shape else {}
        return HttpResponse(200, self._headers(ctx), cbor2.dumps(body or {}))

    def serialize_error(self, model: ServiceModel | None, operation: OperationModel | None, error: AwsError,
                        ctx: RequestContext | None) -> HttpResponse:
        import cbor2

        payload = {"__type": error.code, "message": error.message}
        payload.update({k: v for k, v in error.fields.items() if not k.startswith("_")})
        return HttpResponse(error.status, self._headers(ctx), cbor2.dumps(payload))

    @staticmethod
    def _headers(ctx: RequestContext | None) -> list[tuple[str, str]]:
        headers = [("content-type", CONTENT_TYPE)]
        if ctx is not None:
            headers.append(("x-amzn-RequestId", ctx.request_id))
        return headers


CBOR_PROTOCOL = CborProtocol()
