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
import struct

from overcast.aws.context import HttpRequest, HttpResponse, RequestContext
from overcast.aws.errors import AwsError
from overcast.aws.models import OperationModel, ServiceModel
from overcast.aws.protocols.json import JSON_PROTOCOL
from overcast.aws.protocols.shapes import json_float

CONTENT_TYPE = "application/x-amz-cbor-1.1"


def _from_millis(value, immutable=False):
    """cbor2's decoder for tag 1: Kinesis's epoch milliseconds, made the JSON form's epoch seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AwsError("SerializationException", "Tag 1 (epoch time) must hold a number.")
    return value / 1000


def to_json(value):
    """A decoded CBOR body in the JSON protocol's form: blobs base64, timestamps epoch seconds,
    NaN and the infinities as strings."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, float):
        return json_float(value)  # NaN and the infinities as awsJson spells them (JSON has none)
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


_INF = float("inf")


def _epoch(value) -> float:
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    return float(value)


def _millis(value) -> int:
    return round(_epoch(value) * 1000)


class Indefinite:
    """A list (`items` a list) or map (`items` a dict) that `write_indefinite` encodes with
    indefinite length: 0x9f / 0xbf, the items, then the break 0xff."""

    __slots__ = ("items",)

    def __init__(self, items):
        self.items = items


class SizedFloat:
    """A float member's value as a single-precision float (0xfa), or a double member's NaN or
    infinity as a double (0xfb: cbor2 alone would shrink those to half precision)."""

    __slots__ = ("value", "single")

    def __init__(self, value: float, single: bool):
        self.value = value
        self.single = single


def write_indefinite(encoder, value) -> None:
    """cbor2's `default` hook for Indefinite and SizedFloat."""
    if isinstance(value, SizedFloat):
        try:
            encoder.write(b"\xfa" + struct.pack(">f", value.value) if value.single
                          else b"\xfb" + struct.pack(">d", value.value))
        except OverflowError:  # beyond single precision's range: a double rather than an error
            encoder.write(b"\xfb" + struct.pack(">d", value.value))
        return
    if not isinstance(value, Indefinite):
        raise TypeError(f"cannot encode {type(value).__name__} as CBOR")
    items = value.items
    if isinstance(items, dict):
        encoder.write(b"\xbf")
        for k, v in items.items():
            encoder.encode(k)
            encoder.encode(v)
    else:
        encoder.write(b"\x9f")
        for v in items:
            encoder.encode(v)
    encoder.write(b"\xff")


def to_cbor(model: ServiceModel, shape_name: str, value, epoch_time=_millis, smithy: bool = False):
    """An output walked by its shape into CBOR's form: blobs as byte strings, timestamps as tag 1
    holding `epoch_time(value)`. With `smithy` (Smithy RPC v2 CBOR), as AWS's servers write it
    (the protocol's test vectors, CloudWatch's recorded `Timestamps\\x9f\\xc1\\xfb...`): lists and
    maps with indefinite length, doubles as doubles (whole numbers too), floats as single-precision
    floats; encode the result with `default=write_indefinite`."""
    import cbor2

    if value is None:
        return None
    shape = model.shapes[shape_name]
    kind = shape["type"]
    if kind == "structure":
        if not isinstance(value, dict):
            return value
        members = shape.get("members", {})
        out = {k: to_cbor(model, members[k]["shape"], v, epoch_time, smithy) if k in members else v
               for k, v in value.items() if v is not None}
        return Indefinite(out) if smithy else out
    if kind == "list":
        out = [to_cbor(model, shape["member"]["shape"], v, epoch_time, smithy) for v in value]
        return Indefinite(out) if smithy else out
    if kind == "map":
        out = {k: to_cbor(model, shape["value"]["shape"], v, epoch_time, smithy) for k, v in value.items()}
        return Indefinite(out) if smithy else out
    if kind == "blob":
        return value.encode() if isinstance(value, str) else bytes(value)
    if kind == "timestamp":
        return cbor2.CBORTag(1, epoch_time(value))
    if smithy and kind in ("float", "double") and isinstance(value, int | float) and not isinstance(value, bool):
        value = float(value)
        if kind == "float" or value != value or value in (_INF, -_INF):
            return SizedFloat(value, kind == "float")
        return value  # cbor2 writes a finite float as a double
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
