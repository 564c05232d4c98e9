"""Request bodies built to exhaust a protocol parser — parameter names nested 200,000 dots deep,
JSON, CBOR and XML nested far past any shape — are answered at once with a 4xx in the protocol's
format, and the server keeps serving."""

from __future__ import annotations

import time

import cbor2
import httpx
import pytest

AUTH = "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=x"


def _post(endpoint: str, service: str, path: str = "/", **kwargs) -> httpx.Response:
    headers = {"Authorization": AUTH.format(service=service), **kwargs.pop("headers", {})}
    return httpx.post(endpoint + path, headers=headers, timeout=30, **kwargs)


def test_query_parameter_name_200000_levels_deep_answers_at_once(endpoint):
    # Every dotted prefix of such a name was computed: quadratic, minutes of a blocked event loop.
    started = time.monotonic()
    r = _post(endpoint, "iam", headers={"Content-Type": "application/x-www-form-urlencoded"},
              content="Action=ListUsers&Version=2010-05-08&" + "a." * 200_000 + "b=1")
    assert r.status_code == 200, r.text
    assert "<ListUsersResponse" in r.text
    assert time.monotonic() - started < 10


def test_json_nested_past_the_decoder_limit_is_a_serialization_error(endpoint):
    body = '{"TableName":"t","Item":{"pk":' + '{"L":[' * 5000 + '{"S":"x"}' + "]}" * 5000 + "}}"
    r = _post(endpoint, "dynamodb", headers={"X-Amz-Target": "DynamoDB_20120810.PutItem",
                                             "Content-Type": "application/x-amz-json-1.0"}, content=body)
    assert r.status_code == 400
    assert r.json() == {"__type": "com.amazonaws.dynamodb.v20120810#SerializationException",
                        "message": "Malformed JSON in request body."}


@pytest.mark.parametrize("depth", [1_000, 1_000_000])
def test_cbor_nested_a_million_levels_is_malformed(endpoint, depth):
    head = cbor2.dumps({"StreamName": "s"})
    body = b"\xa2" + head[1:] + cbor2.dumps("Tags") + b"\x81" * depth + b"\x01"  # arrays in arrays
    r = _post(endpoint, "kinesis", headers={"X-Amz-Target": "Kinesis_20131202.ListStreams",
                                            "Content-Type": "application/x-amz-cbor-1.1"}, content=body)
    assert r.status_code == 400
    assert cbor2.loads(r.content) == {"__type": "SerializationException", "message": "Malformed CBOR in request body."}


def test_xml_nested_200000_levels_is_malformed(endpoint, client, unique_name):
    bucket = unique_name("deep")
    client("s3").create_bucket(Bucket=bucket)
    body = '<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>' + "<a>" * 200_000 + "</a>" * 200_000 \
        + "</TagSet></Tagging>"
    r = httpx.put(f"{endpoint}/{bucket}?tagging", headers={"Authorization": AUTH.format(service="s3")},
                  content=body, timeout=30)
    assert r.status_code == 400
    assert "<Code>MalformedXML</Code>" in r.text
    assert httpx.get(f"{endpoint}/_overcast/health").status_code == 200
