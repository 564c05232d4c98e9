"""Smithy RPC v2 CBOR: POST /service/<target prefix>/operation/<Operation> with
`smithy-protocol: rpc-v2-cbor`, CBOR bodies both ways (blobs as byte strings, timestamps as CBOR
tag 1 holding epoch *seconds*), errors as `{"__type": "<namespace>#<Code>", "message": ...}` with
the HTTP status, and, for query-compatible services, the x-amzn-query-error header. CloudWatch
offers it (its model's first protocol).

Requests are turned into the JSON protocol's form (the operation named as X-Amz-Target would name
it) and parsed by it, validation included; outputs and errors are the JSON protocol's, re-encoded.
"""

from __future__ import annotations

import orjson

from overcast.aws.context import HttpRequest, HttpResponse, RequestContext
from overcast.aws.errors import AwsError
from overcast.aws.models import OperationModel, ServiceModel
from overcast.aws.protocols.cbor import decode_body, to_cbor, to_json, write_indefinite
from overcast.aws.protocols.json import JSON_PROTOCOL

CONTENT_TYPE = "application/cbor"


def _epoch_seconds(value, immutable=False):
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AwsError("SerializationException", "Tag 1 (epoch time) must hold a number.")
    return value


def _seconds(value) -> float:
    from overcast.aws.protocols.shapes import to_datetime

    return float(to_datetime(value).timestamp())  # a double, as AWS sends it (and Smithy specifies)


class RpcV2CborProtocol:
    name = "rpcv2cbor"

    def parse(self, model: ServiceModel, request: HttpRequest) -> tuple[OperationModel, dict]:
        parts = request.path.strip("/").split("/")
        if len(parts) != 4 or parts[0] != "service" or parts[2] != "operation" or request.method != "POST":
            raise AwsError("UnknownOperationException", f"Unknown operation {request.path}")
        params = decode_body(request.body, _epoch_seconds)
        headers = {**request.headers, "x-amz-target": f"{parts[1]}.{parts[3]}"}
        as_json = HttpRequest(request.method, request.path, request.raw_path, request.query_string, headers,
                              orjson.dumps(to_json(params)), request.scheme, request.client)
        return JSON_PROTOCOL.parse(model, as_json)

    def serialize(self, model: ServiceModel, operation: OperationModel, output: dict | None,
                  ctx: RequestContext) -> HttpResponse:
        import cbor2

        if not operation.output_shape:  # no output: an empty body without a Content-Type (the vectors' no_output)
            return HttpResponse(200, self._headers(ctx, body=False), b"")
        body = to_cbor(model, operation.output_shape, output or {}, _seconds, smithy=True)
        return HttpResponse(200, self._headers(ctx), cbor2.dumps(body, default=write_indefinite))

    def serialize_error(self, model: ServiceModel | None, operation: OperationModel | None, error: AwsError,
                        ctx: RequestContext | None) -> HttpResponse:
        import cbor2

        as_json = JSON_PROTOCOL.serialize_error(model, operation, error, ctx)
        headers = self._headers(ctx) + [(k, v) for k, v in as_json.headers if k == "x-amzn-query-error"]
        return HttpResponse(as_json.status, headers, cbor2.dumps(orjson.loads(as_json.body)))

    @staticmethod
    def _headers(ctx: RequestContext | None, body: bool = True) -> list[tuple[str, str]]:
        headers = [("content-type", CONTENT_TYPE)] if body else []
        headers.append(("smithy-protocol", "rpc-v2-cbor"))
        if ctx is not None:
            headers.append(("x-amzn-RequestId", ctx.request_id))
        return headers


RPCV2_CBOR_PROTOCOL = RpcV2CborProtocol()
