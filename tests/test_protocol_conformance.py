"""The AWS protocol test vectors (tests/protocol_tests, vendored with their licence) through overcast's protocol layer.

Input cases: the HTTP request a correct client sends (`serialized`) must parse into `params`.
Output cases: `result` (or the error) serialized by overcast must parse back, with botocore's own
response parser, into the same `result` (or the same error code and fields).
"""

from __future__ import annotations

import base64
import datetime
import json
import math
from pathlib import Path
from urllib.parse import unquote

import pytest
from botocore.awsrequest import HeadersDict
from botocore.model import ServiceModel as BotoServiceModel
from botocore.parsers import create_parser

from overcast.aws.context import HttpRequest, RequestContext
from overcast.aws.errors import AwsError
from overcast.aws.models import ServiceModel
from overcast.aws.protocols import get_protocol

VECTORS = Path(__file__).resolve().parent / "protocol_tests"

# Input cases that test what a client does, or where the client drops what a server would need.
SKIPPED_INPUT = {
    # request compression is applied by the client (the vectors' bodies are not really gzipped)
    "SDKAppliedContentEncoding_awsJson1_0": "client-side request compression",
    "SDKAppendsGzipAndIgnoresHttpProvidedEncoding_awsJson1_0": "client-side request compression",
    "SDKAppliedContentEncoding_awsJson1_1": "client-side request compression",
    "SDKAppendsGzipAndIgnoresHttpProvidedEncoding_awsJson1_1": "client-side request compression",
    "SDKAppliedContentEncoding_awsQuery": "client-side request compression",
    "SDKAppendsGzipAndIgnoresHttpProvidedEncoding_awsQuery": "client-side request compression",
    "SDKAppliedContentEncoding_restJson1": "client-side request compression",
    "SDKAppendedGzipAfterProvidedEncoding_restJson1": "client-side request compression",
    "SDKAppliedContentEncoding_restXml": "client-side request compression",
    "SDKAppendedGzipAfterProvidedEncoding_restXml": "client-side request compression",
    # the client fills an idempotency token the caller left out; the server just receives it
    "QueryProtocolIdempotencyTokenAutoFill": "client-side idempotency token auto-fill",
    "RestJsonQueryIdempotencyTokenAutoFill": "client-side idempotency token auto-fill",
    "QueryIdempotencyTokenAutoFill": "client-side idempotency token auto-fill",
    # host prefixes and endpoint paths are the client's business (the vectors even omit X-Amz-Target)
    "AwsJson10EndpointTrait": "client-side endpoint host prefix",
    "AwsJson10EndpointTraitWithHostLabel": "client-side endpoint host prefix",
    "AwsJson10HostWithPath": "client-side endpoint path",
    "AwsJson11EndpointTrait": "client-side endpoint host prefix",
    "AwsJson11EndpointTraitWithHostLabel": "client-side endpoint host prefix",
    "AwsJson11HostWithPath": "client-side endpoint path",
    "RestJsonHostWithPath": "client-side endpoint path",
    # lossy on the wire: the client drops what a server cannot recover
    "QueryEmptyQueryMaps": "botocore sends nothing for an empty map: indistinguishable from an absent one",
    "RestJsonQueryPrecedence": "the client drops the map entry a named query parameter overrides",
    "RestXmlQueryPrecedence": "the client drops the map entry a named query parameter overrides",
    "RestJsonHttpPrefixHeadersAreNotPresent": "an empty prefix-header map sends no header: indistinguishable from none",
    "HttpPrefixHeadersAreNotPresent": "an empty prefix-header map sends no header: indistinguishable from none",
    "RestJsonOmitsEmptyListQueryValues": "an empty query list sends nothing: indistinguishable from none",
    "RestJsonAllQueryStringTypes": "the catch-all query map holds what the client chose to repeat in it",
    "RestJsonSupportsNaNFloatQueryValues": "the catch-all query map holds what the client chose to repeat in it",
    "RestJsonSupportsInfinityFloatQueryValues": "the catch-all query map holds what the client chose to repeat in it",
    "RestJsonSupportsNegativeInfinityFloatQueryValues": "the catch-all query map holds what the client chose to repeat in it",
    "RestJsonQueryStringEscaping": "the catch-all query map holds what the client chose to repeat in it",
    "RestJsonZeroAndFalseQueryValues": "the catch-all query map holds what the client chose to repeat in it",
    "MediaTypeHeaderInputBase64": "botocore sends a jsonvalue header as base64(JSON of the value); the vector "
    "treats the value as JSON text",
}

# Output cases botocore's own parsers cannot read, whoever writes the response.
SKIPPED_OUTPUT = {
    "QueryXmlLists": "botocore reads flattened list items by the member's locationName: two flattened "
    "lists with the same member name collide",
    "XmlLists": "botocore reads flattened list items by the member's locationName: two flattened "
    "lists with the same member name collide",
    "RestJsonHttpPayloadTraitsWithNoBlobBody": "botocore reads an empty body as an empty blob payload",
    "HttpPayloadTraitsWithNoBlobBody": "botocore reads an empty body as an empty blob payload",
    "RestJsonHttpPayloadWithUnsetUnion": "botocore rejects an empty union payload",
    "RestXmlHttpPayloadWithUnsetUnion": "botocore rejects an empty union payload",
    "HttpPrefixHeadersResponse": "an empty header prefix catches every response header, x-amzn-requestid included",
    "RestJsonInputAndOutputWithQuotedStringHeaders": "botocore splits header lists on every comma, quotes or not",
    "RestJsonInputAndOutputWithTimestampHeaders": "botocore splits header lists on every comma, inside HTTP dates too",
    "InputAndOutputWithTimestampHeaders": "botocore splits header lists on every comma, inside HTTP dates too",
}

SUITES = {
    "json_1_0": "json",
    "json": "json",
    "json_1_0-query-compatible": "json",
    "query": "query",
    "rest-json": "rest-json",
    "rest-xml": "rest-xml",
    "smithy-rpc-v2-cbor": "rpcv2cbor",
    "smithy-rpc-v2-cbor-query-compatible": "rpcv2cbor",
}


def _load(kind: str):
    # The vectors travel with the project: a checkout without them is broken, so collection fails
    # loudly (FileNotFoundError) rather than skipping the conformance suite.
    params = []
    for suite_file, protocol in SUITES.items():
        for suite in json.loads((VECTORS / kind / f"{suite_file}.json").read_text()):
            for case in suite["cases"]:
                case_id = f"{suite_file}:{suite.get('description', '')}:{case['id']}"
                skipped = SKIPPED_INPUT if kind == "input" else SKIPPED_OUTPUT
                marks = [pytest.mark.skip(reason=skipped[case["id"]])] if case["id"] in skipped else []
                params.append(pytest.param(protocol, suite, case, id=case_id, marks=marks))
    return params


def _spec(suite: dict, case: dict) -> dict:
    given = case["given"]
    return {"metadata": suite["metadata"], "shapes": suite["shapes"], "operations": {given["name"]: given}}


def _normalize(value):
    """Compare values the way the vectors mean them: timestamps as epoch seconds, blobs as text,
    numbers as floats, NaN/Infinity by name."""
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_normalize(v) for v in value]
    if isinstance(value, datetime.datetime):
        return round(value.timestamp(), 3)
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        if isinstance(value, float) and math.isnan(value):
            return "NaN"
        if isinstance(value, float) and math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return float(value)
    if hasattr(value, "read"):
        return _normalize(value.read())
    return value


def _request(serialized: dict, protocol: str) -> HttpRequest:
    path, _, query = serialized["uri"].partition("?")
    headers = {k.lower(): v for k, v in (serialized.get("headers") or {}).items()}
    body = serialized.get("body") or ""
    # the CBOR vectors give their binary bodies in base64
    raw = base64.b64decode(body) if protocol == "rpcv2cbor" else body.encode()
    return HttpRequest(serialized["method"], unquote(path), path, query, headers, raw)


@pytest.mark.parametrize(("protocol", "suite", "case"), _load("input"))
def test_parse_request(protocol, suite, case):
    model = ServiceModel("protocoltest", _spec(suite, case))
    operation, params = get_protocol(protocol).parse(model, _request(case["serialized"], protocol))
    assert operation.name == case["given"]["name"]
    assert _normalize(params) == _normalize(case["params"])


def _to_output(shape, value):
    """A vector's `result` as a provider would return it (floats as floats, not "NaN")."""
    if value is None or shape is None:
        return value
    kind = shape.type_name
    if kind == "structure" and not getattr(shape, "is_document_type", False):
        return {k: _to_output(shape.members.get(k), v) for k, v in value.items()}
    if kind == "list":
        return [_to_output(shape.member, v) for v in value]
    if kind == "map":
        return {k: _to_output(shape.value, v) for k, v in value.items()}
    if kind in ("float", "double") and isinstance(value, str):
        return float(value)
    return value


def _context() -> RequestContext:
    return RequestContext("000000000000", "us-east-1", "protocoltest", HttpRequest("POST", "/", "/", "", {}, b""),
                          request_id="req-1234")


def _botocore_response(response) -> dict:
    headers = HeadersDict()
    for name, value in response.headers:
        headers[name] = value
    return {"status_code": response.status, "headers": headers, "body": response.body}


@pytest.mark.parametrize(("protocol", "suite", "case"), _load("output"))
def test_serialize_response(protocol, suite, case):
    spec = _spec(suite, case)
    model = ServiceModel("protocoltest", spec)
    operation = model.operations[case["given"]["name"]]
    boto_model = BotoServiceModel(spec)
    boto_operation = boto_model.operation_model(operation.name)
    impl = get_protocol(protocol)
    parser = create_parser(boto_model.metadata["protocol"])

    if "errorCode" in case:
        shape_name = None
        for ref in case["given"].get("errors", []):
            shape = suite["shapes"][ref["shape"]]
            if shape.get("error", {}).get("code", ref["shape"]) == case["errorCode"] or ref["shape"] == case["errorCode"]:
                shape_name = ref["shape"]
        assert shape_name is not None
        fields = dict(case.get("error") or {})
        message = case.get("errorMessage") or fields.pop("Message", None) or fields.pop("message", None) or ""
        fields.pop("Message", None)
        fields.pop("message", None)
        error_shape = boto_model.shape_for(shape_name)
        status = case["response"]["status_code"]
        error = AwsError(shape_name, message, status, **_to_output(error_shape, fields))
        response = impl.serialize_error(model, operation, error, _context())
        assert response.status == case["response"]["status_code"]
        raw = _botocore_response(response)
        parsed = parser.parse(raw, boto_operation.output_shape)
        assert parsed["Error"]["Code"] == case["errorCode"]
        if case.get("errorMessage"):
            assert parsed["Error"]["Message"] == case["errorMessage"]
        modeled = parser.parse(raw, boto_model.shape_for_error_code(case["errorCode"]))
        modeled.pop("ResponseMetadata", None)
        expected = dict(case.get("error") or {})
        assert _normalize({k: modeled.get(k) for k in expected}) == _normalize(expected)
        return

    output = _to_output(boto_operation.output_shape, case["result"])
    response = impl.serialize(model, operation, output, _context())
    parsed = parser.parse(_botocore_response(response), boto_operation.output_shape)
    parsed.pop("ResponseMetadata", None)
    assert _normalize(parsed) == _normalize(case["result"])


# Smithy RPC v2 CBOR outputs whose vector body is the form a server writes (the other output cases
# are what a client must also accept: definite lengths, half-precision floats, extra fields...):
# overcast writes these bytes exactly — indefinite-length maps and lists, doubles as 0xfb (NaN and
# the infinities too), floats as 0xfa, `{}` for an empty output and nothing when there is none.
SERVER_FORM_CBOR = ("empty_output", "no_output", "optional_output", "RpcV2CborDateTimeWithFractionalSeconds",
                    "RpcV2CborRecursiveShapes", "RpcV2CborLists", "RpcV2CborListsEmpty",
                    "RpcV2CborSimpleScalarProperties", "RpcV2CborSupportsNaNFloatOutputs",
                    "RpcV2CborSupportsInfinityFloatOutputs", "RpcV2CborSupportsNegativeInfinityFloatOutputs")


def _cbor_output_cases():
    for suite in json.loads((VECTORS / "output" / "smithy-rpc-v2-cbor.json").read_text()):
        for case in suite["cases"]:
            if case["id"] in SERVER_FORM_CBOR:
                yield pytest.param(suite, case, id=case["id"])


@pytest.mark.parametrize(("suite", "case"), list(_cbor_output_cases()))
def test_rpcv2cbor_output_bytes_are_the_vectors(suite, case):
    spec = _spec(suite, case)
    model = ServiceModel("protocoltest", spec)
    operation = model.operations[case["given"]["name"]]
    boto_operation = BotoServiceModel(spec).operation_model(operation.name)
    response = get_protocol("rpcv2cbor").serialize(model, operation, _to_output(boto_operation.output_shape,
                                                                                case["result"]), _context())
    assert response.body == base64.b64decode(case["response"].get("body") or "")


def test_all_server_form_cbor_vectors_are_checked():
    assert len(list(_cbor_output_cases())) == len(SERVER_FORM_CBOR)


@pytest.mark.parametrize("protocol", ["json", "rpcv2cbor"])
@pytest.mark.parametrize(("query_mode", "status"), [(None, 400), ("false", 400), ("true", 402)])
def test_query_compatible_status_only_in_query_mode(protocol, query_mode, status):
    """The vectors' CustomCodeError (awsQueryError code Customized, status 402) goes out with 400
    (QueryCompatibleAwsJson10CustomCodeError); a client that sends x-amzn-query-mode: true, as the
    SDKs do for such services, gets the awsQuery status. The code is in x-amzn-query-error either way."""
    suite_file = "json_1_0-query-compatible" if protocol == "json" else "smithy-rpc-v2-cbor-query-compatible"
    suite = next(s for s in json.loads((VECTORS / "output" / f"{suite_file}.json").read_text())
                 if any(c["id"].endswith("CustomCodeError") and "NoCustom" not in c["id"] for c in s["cases"]))
    case = next(c for c in suite["cases"] if c.get("errorCode") == "Customized")
    model = ServiceModel("protocoltest", _spec(suite, case))
    headers = {"x-amzn-query-mode": query_mode} if query_mode else {}
    ctx = RequestContext("000000000000", "us-east-1", "protocoltest", HttpRequest("POST", "/", "/", "", headers, b""),
                         request_id="req-1234")
    response = get_protocol(protocol).serialize_error(model, model.operations[case["given"]["name"]],
                                                      AwsError("CustomCodeError", "Hi", 402), ctx)
    assert response.status == status
    assert dict(response.headers)["x-amzn-query-error"] == "Customized;Sender"
