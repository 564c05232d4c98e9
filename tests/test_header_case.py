"""Answer header names on the wire keep the case AWS gives them (HTTP/1.1): S3's CORS headers, an
API Gateway mapping's header, the server's own Content-Length, Date and Connection, framing intact."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
from apigateway_support import Api


def raw_request(endpoint: str, request: bytes) -> tuple[bytes, list[bytes], bytes]:
    """The status line, the header lines as written and the body of one HTTP/1.1 exchange."""
    url = urlsplit(endpoint)
    with socket.create_connection((url.hostname, url.port), timeout=30) as s:
        s.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            assert chunk, data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = next(int(v) for n, _, v in (ln.partition(b": ") for ln in lines[1:]) if n.lower() == b"content-length")
        while len(body) < length:
            chunk = s.recv(65536)
            assert chunk
            body += chunk
    return lines[0], lines[1:], body


def names(lines: list[bytes]) -> list[str]:
    return [line.partition(b":")[0].decode() for line in lines]


def test_s3_cors_preflight_header_names_keep_aws_case(client, endpoint, unique_name):
    s3 = client("s3")
    bucket = unique_name("cors-case")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": ["*"],
         "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 60}]})
    host = urlsplit(endpoint).netloc.encode()
    status, lines, _ = raw_request(endpoint, (
        f"OPTIONS /{bucket}/key HTTP/1.1\r\nHost: ".encode() + host + b"\r\nOrigin: https://app.example\r\n"
        b"Access-Control-Request-Method: PUT\r\nAccess-Control-Request-Headers: x-amz-meta-a\r\n"
        b"Content-Length: 0\r\n\r\n"))
    assert status == b"HTTP/1.1 200 OK"
    got = names(lines)
    for name in ("Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Max-Age",
                 "Access-Control-Allow-Headers", "Vary"):
        assert name in got, got
    assert "access-control-allow-origin" not in got
    assert "Content-Length" in got and "Date" in got  # the server's own, as AWS spells them


def test_s3_preflight_refused_without_cors_keeps_framing(client, endpoint, unique_name):
    s3 = client("s3")
    bucket = unique_name("cors-none")
    s3.create_bucket(Bucket=bucket)
    host = urlsplit(endpoint).netloc.encode()
    status, lines, body = raw_request(endpoint, (
        f"OPTIONS /{bucket}/key HTTP/1.1\r\nHost: ".encode() + host + b"\r\nOrigin: https://app.example\r\n"
        b"Access-Control-Request-Method: GET\r\nContent-Length: 0\r\n\r\n"))
    assert status.startswith(b"HTTP/1.1 403")
    assert b"<Code>AccessForbidden</Code>" in body
    got = [n.lower() for n in names(lines)]
    assert got.count("content-length") == 1 and "transfer-encoding" not in got  # framed once


@pytest.mark.parametrize("name", ["X-My-Header", "x-lower-header"])
def test_apigateway_mapped_header_name_is_written_as_configured(client, endpoint, name):
    apigw = client("apigateway")
    api = Api(apigw, endpoint, f"header-case-{name}")
    rid = api.resource("/h")
    apigw.put_method(restApiId=api.id, resourceId=rid, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api.id, resourceId=rid, httpMethod="GET", type="MOCK",
                          requestTemplates={"application/json": '{"statusCode": 200}'})
    apigw.put_method_response(restApiId=api.id, resourceId=rid, httpMethod="GET", statusCode="200",
                              responseParameters={f"method.response.header.{name}": True})
    apigw.put_integration_response(restApiId=api.id, resourceId=rid, httpMethod="GET", statusCode="200",
                                   responseParameters={f"method.response.header.{name}": "'mapped'"},
                                   responseTemplates={"application/json": '{"ok": true}'})
    api.deploy()
    path = urlsplit(api.url("/h"))
    status, lines, body = raw_request(endpoint, f"GET {path.path} HTTP/1.1\r\nHost: {path.netloc}\r\n\r\n".encode())
    assert status == b"HTTP/1.1 200 OK"
    assert f"{name}: mapped".encode() in lines
    assert body == b'{"ok": true}'
    # what clients that ignore case see is unchanged
    assert api.call("GET", "/h").headers[name.lower()] == "mapped"


def test_bad_request_still_answers_framed_json(endpoint):
    host = urlsplit(endpoint).netloc.encode()
    status, lines, body = raw_request(endpoint, b"GET /_overcast/no-such HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 404")
    assert len(body) == int(next(ln.partition(b": ")[2] for ln in lines if ln.lower().startswith(b"content-length")))


def test_connection_close_is_answered_with_aws_spelling(endpoint):
    host = urlsplit(endpoint).netloc.encode()
    status, lines, _ = raw_request(endpoint, b"GET /_overcast/health HTTP/1.1\r\nHost: " + host +
                                   b"\r\nConnection: close\r\n\r\n")
    assert status == b"HTTP/1.1 200 OK"
    assert b"Connection: close" in lines


def test_s3_get_with_origin_is_matched_like_s3(client, endpoint, unique_name):
    s3 = client("s3")
    bucket = unique_name("cors-get")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["GET"], "AllowedHeaders": ["x-amz-meta-*"]}]})
    host = urlsplit(endpoint).netloc.encode()

    def get(extra: bytes) -> list[bytes]:
        status, lines, body = raw_request(endpoint, f"GET /{bucket}/k HTTP/1.1\r\nHost: ".encode() + host +
                                          b"\r\nOrigin: https://app.example\r\n" + extra + b"\r\n")
        assert status == b"HTTP/1.1 200 OK" and body == b"x"
        return lines

    lines = get(b"")
    assert b"Access-Control-Allow-Origin: https://app.example" in lines
    assert b"Vary: Origin, Access-Control-Request-Headers, Access-Control-Request-Method" in lines
    # a GET carrying a preflight's headers is matched by them: no rule allows PUT, nor this header
    for extra in (b"Access-Control-Request-Method: PUT\r\n", b"Access-Control-Request-Headers: x-amz-request-payer\r\n"):
        assert not [ln for ln in get(extra) if ln.lower().startswith(b"access-control-")]
    assert b"Access-Control-Allow-Methods: GET" in get(b"Access-Control-Request-Headers: x-amz-meta-a\r\n")


@pytest.mark.parametrize("kind,uri,header", [
    ("HTTP_PROXY", None, "Content-Length"),  # overcast's health page, which answers 200 otherwise
    ("AWS", "arn:aws:apigateway:us-east-1:sqs:action/SendMessage", "Transfer-Encoding"),
    ("AWS", "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
            "arn:aws:lambda:us-east-1:000000000000:function:none/invocations", "Authorization"),
    ("AWS_PROXY", "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                  "arn:aws:lambda:us-east-1:000000000000:function:none/invocations", "TE"),
])
def test_apigateway_mapping_a_reserved_request_header_answers_500(client, endpoint, kind, uri, header):
    apigw = client("apigateway")
    api = Api(apigw, endpoint, f"reserved-{kind}-{header}")
    rid = api.resource("/r")
    apigw.put_method(restApiId=api.id, resourceId=rid, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api.id, resourceId=rid, httpMethod="GET", type=kind,
                          uri=uri or f"{endpoint}/_overcast/health",
                          integrationHttpMethod="GET" if uri is None else "POST",
                          requestParameters={f"integration.request.header.{header}": "'1'"})
    apigw.put_method_response(restApiId=api.id, resourceId=rid, httpMethod="GET", statusCode="200")
    if kind == "AWS":
        apigw.put_integration_response(restApiId=api.id, resourceId=rid, httpMethod="GET", statusCode="200")
    api.deploy()
    r = api.call("GET", "/r")
    assert r.status_code == 500
    assert r.json() == {"message": "Internal server error"}
    assert r.headers["x-amzn-ErrorType"] == "InternalServerErrorException"


@pytest.mark.parametrize("content_type, target, body", [
    (b"application/x-amz-json-1.0", b"AmazonSQS.ListQueues", b"{}"),  # awsJson
    (b"application/x-amz-json-1.1", b"Logs_20140328.DescribeLogGroups", b"{}"),
])
def test_request_id_header_is_spelt_as_aws_spells_it(endpoint, content_type, target, body):
    """AWS answers its JSON and query protocols' request id as `x-amzn-RequestId` (clients that
    compare header names case-sensitively, as some test suites do, see it so)."""
    host = urlsplit(endpoint).netloc.encode()
    auth = (b"AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/" + (b"sqs" if b"SQS" in target else b"logs")
            + b"/aws4_request, SignedHeaders=host, Signature=0")
    status, lines, _ = raw_request(endpoint, b"POST / HTTP/1.1\r\nHost: " + host + b"\r\nContent-Type: " + content_type
                                   + b"\r\nX-Amz-Target: " + target + b"\r\nAuthorization: " + auth
                                   + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    assert status.startswith(b"HTTP/1.1 200")
    assert "x-amzn-RequestId" in names(lines)
