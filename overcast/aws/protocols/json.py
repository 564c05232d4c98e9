"""awsJson 1.0 and 1.1: POST /, X-Amz-Target: Prefix.Operation, JSON body both ways.

The hot path: a body whose input shape has nothing to convert (no timestamps, blobs, floats,
renamed members) is passed to the provider as orjson decoded it, after the compiled validator
(validate.py) has checked it. Converters are compiled once per shape (jsoncodec.py).
"""

from __future__ import annotations

import re

import orjson

from overcast.aws.context import HttpRequest, HttpResponse, RequestContext
from overcast.aws.errors import AwsError
from overcast.aws.legacy_models import query_error_code
from overcast.aws.models import OperationModel, ServiceModel
from overcast.aws.protocols.jsoncodec import decoder, encoder, error_body
from overcast.aws.protocols.validate import TypeMismatch, validate_input


class JsonProtocol:
    name = "json"

    def parse(self, model: ServiceModel, request: HttpRequest) -> tuple[OperationModel, dict]:
        target = request.headers.get("x-amz-target")
        if not target:
            raise AwsError("UnknownOperationException", "Missing required header: X-Amz-Target")
        prefix, _, name = target.rpartition(".")
        operation = model.operations.get(name)
        if operation is None or (model.target_prefix and prefix != model.target_prefix):
            raise AwsError("UnknownOperationException", f"Unknown operation {target}")
        body = request.body
        if body and not body.isspace():
            try:
                params = orjson.loads(body)
            except orjson.JSONDecodeError:
                raise AwsError("SerializationException", "Malformed JSON in request body.") from None
            if not isinstance(params, dict):
                raise AwsError("SerializationException", "Start of structure or map found where not expected.")
        else:
            params = {}
        shape = operation.input_shape
        if shape:
            try:
                decode = decoder(model, shape)
                if decode is not None:
                    params = decode(params)
                validate_input(model, operation, params)
            except TypeMismatch as e:
                raise AwsError("SerializationException", _mismatch_message(e)) from None
            except ValueError as e:
                raise AwsError("SerializationException", str(e)) from None
        return operation, params

    def serialize(self, model: ServiceModel, operation: OperationModel, output: dict | None, ctx: RequestContext) -> HttpResponse:
        if output and operation.output_shape:
            encode = encoder(model, operation.output_shape)
            if encode is not None:
                output = encode(output)
        body = orjson.dumps(output) if output else b"{}"
        return HttpResponse(200, self._headers(model, ctx), body)

    def serialize_error(self, model: ServiceModel | None, operation: OperationModel | None, error: AwsError, ctx: RequestContext | None) -> HttpResponse:
        code = error.code
        fields = error.fields
        if code == "ValidationException" and _CORAL_VALIDATION.match(error.message or ""):
            # the model's constraints ("1 validation error detected: Value ... at 'stateValue' failed to
            # satisfy constraint: ...") are AWS's shared validation layer's answer, named by its own
            # namespace whatever the service (CloudWatch's recorded answers, DynamoDB's)
            namespace = VALIDATION_NAMESPACE
        else:
            namespace = _namespace(model)
        status = error.status
        query = None
        if model is not None and model.query_compatible:
            query = query_error_code(model, code)
            # the awsQuery status of an error (its awsQueryError trait: CloudWatch's ResourceNotFound
            # 404, SQS's OverLimit 403) is answered only to a client that says it reads errors as
            # awsQuery would (`x-amzn-query-mode: true`, which the SDKs send); any other client gets
            # the JSON protocol's 400 (AWS's vectors, QueryCompatibleAwsJson10CustomCodeError: 402
            # in the trait, 400 on the wire; CloudWatch's recorded answers)
            if (query is not None and query[1] == status and 400 < status < 500 and ctx is not None
                    and ctx.request.headers.get("x-amzn-query-mode") != "true"):
                status = 400
        # an unmodelled error of a query-compatible service may travel under another JSON type than
        # its query code (SQS: InvalidParameterValue as InvalidParameterValueException): `_json_type`
        json_type = fields.get("_json_type") or code
        payload = {"__type": f"{namespace}#{json_type}" if namespace else json_type}
        payload.update(error_body(model, code, error))
        headers = self._headers(model, ctx)
        if model is not None and model.query_compatible:
            fault = "Sender" if error.sender_fault else "Receiver"
            headers.append(("x-amzn-query-error", f"{query[0] if query else code};{fault}"))
        return HttpResponse(status, headers, orjson.dumps(payload))

    @staticmethod
    def _headers(model: ServiceModel | None, ctx: RequestContext | None) -> list[tuple[str, str]]:
        version = model.metadata.get("jsonVersion", "1.0") if model is not None else "1.0"
        headers = [("content-type", f"application/x-amz-json-{version}")]
        if ctx is not None:
            headers.append(("x-amzn-RequestId", ctx.request_id))
        return headers


def _mismatch_message(e: TypeMismatch) -> str:
    where = f" at '{e.path}'" if e.path else ""
    found = type(e.value).__name__
    found = {"str": "string", "int": "number", "float": "number", "bool": "boolean", "list": "list",
             "dict": "structure or map"}.get(found, found)
    return f"Unexpected {found}{where}: expected {e.kind}."


VALIDATION_NAMESPACE = "com.amazon.coral.validate"
_CORAL_VALIDATION = re.compile(r"\d+ validation errors? detected: ")

# The namespace AWS's answers put before an error's name where it is not com.amazonaws.<endpoint
# prefix>: the service's own model namespace, keyed by endpoint prefix (CloudWatch's recorded
# answers: com.amazonaws.cloudwatch.v2010_08_01#ResourceNotFound; DynamoDB's, as AWS's SDK logs
# show them: com.amazonaws.dynamodb.v20120810#ResourceNotFoundException).
NAMESPACES = {
    "monitoring": "com.amazonaws.cloudwatch.v2010_08_01",
    "dynamodb": "com.amazonaws.dynamodb.v20120810",
}


def _namespace(model: ServiceModel | None) -> str | None:
    """The namespace AWS puts before an error name in __type (com.amazonaws.sqs#...)."""
    if model is None:
        return None
    cache = model.cache("namespaces")
    namespace = cache.get("json")
    if namespace is None:
        uid = model.metadata.get("endpointPrefix") or model.name
        namespace = cache["json"] = NAMESPACES.get(uid) or f"com.amazonaws.{uid}"
    return namespace


JSON_PROTOCOL = JsonProtocol()
