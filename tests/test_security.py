"""The front door against a browser page on another origin (cross-site request forgery) and a
rebinding DNS name (docs/security.md). Each attack is sent through raw HTTP exactly as a browser
sends it — with the Origin and Sec-Fetch-* headers it adds and the content types a form, an <img>
or a no-preflight fetch can use — and must change nothing; the legitimate cases still work."""

from __future__ import annotations

import asyncio
import json
import socket
from urllib.parse import urlencode, urlparse

import httpx
import pytest
import websockets
from apigateway_support import Api
from conftest import OvercastProcess, make_client
from websockets.exceptions import InvalidStatus

pytest_plugins = ["s3_fixtures"]

EVIL = "http://evil.example"
# What a browser adds to a form submitted from a page on another site into an iframe ...
FORM = {"Origin": EVIL, "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe",
        "Content-Type": "application/x-www-form-urlencoded"}
# ... to an <img> (a GET: no Origin at all) ...
IMG = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}
# ... and to fetch(url, {method: "POST", mode: "no-cors", body: "..."}), which needs no preflight.
NO_CORS_FETCH = {"Origin": EVIL, "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "empty",
                 "Content-Type": "text/plain;charset=UTF-8"}
SIGNED_JSON = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.ListTables",
               "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, "
                                "SignedHeaders=host, Signature=0"}


@pytest.fixture
def private_server(tmp_path):
    server = OvercastProcess(data_dir=str(tmp_path / "data"))
    yield server
    server.stop()


@pytest.fixture
def queue(client, unique_name):
    sqs = client("sqs")
    return sqs, sqs.create_queue(QueueName=unique_name("q"))["QueueUrl"]


def _messages(sqs, url) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


# -- /_overcast/ endpoints ------------------------------------------------------------------------


def test_cross_site_text_plain_post_cannot_reset(private_server):
    sqs = make_client(private_server.endpoint, "sqs")
    sqs.create_queue(QueueName="survivor")
    for headers in (NO_CORS_FETCH, {**FORM, "Content-Type": "text/plain"}, {**FORM, "Origin": "null"}):
        r = httpx.post(f"{private_server.endpoint}/_overcast/reset", headers=headers, content=b'{"a":"b"}')
        assert r.status_code == 403, r.text
        assert r.json()["__type"] == "AccessDenied"
    # even a custom header or JSON does not help a page on another origin (its preflight gets no CORS)
    r = httpx.post(f"{private_server.endpoint}/_overcast/reset", headers={**NO_CORS_FETCH, "X-Overcast-Request": "1"})
    assert r.status_code == 403
    preflight = httpx.options(f"{private_server.endpoint}/_overcast/reset", headers={
        "Origin": EVIL, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-overcast-request"})
    assert "access-control-allow-origin" not in preflight.headers
    assert len(sqs.list_queues()["QueueUrls"]) == 1


def test_reset_needs_json_or_the_overcast_header(private_server):
    sqs = make_client(private_server.endpoint, "sqs")
    url = f"{private_server.endpoint}/_overcast/reset"
    sqs.create_queue(QueueName="kept")
    r = httpx.post(url, headers={"Content-Type": "text/plain"})  # no Origin, but no sign it is meant either
    assert r.status_code == 403
    assert "X-Overcast-Request" in r.json()["message"]
    assert len(sqs.list_queues()["QueueUrls"]) == 1
    assert httpx.post(url, json={}).json() == {"reset": True}
    sqs.create_queue(QueueName="again")
    same_origin = {"Origin": private_server.endpoint, "Sec-Fetch-Site": "same-origin", "X-Overcast-Request": "1"}
    assert httpx.post(url, headers=same_origin).json() == {"reset": True}
    assert sqs.list_queues().get("QueueUrls", []) == []


def test_test_clock_refuses_a_cross_site_form(endpoint):
    r = httpx.post(f"{endpoint}/_overcast/events/fire?rule=x", headers=FORM, content=b"")
    assert r.status_code == 403
    r = httpx.delete(f"{endpoint}/_overcast/sns/messages", headers={"Origin": EVIL, "X-Overcast-Request": "1"})
    assert r.status_code == 403
    assert httpx.get(f"{endpoint}/_overcast/health", headers=IMG).status_code == 200  # reads stay open


# -- AWS APIs -------------------------------------------------------------------------------------


def test_cross_site_form_cannot_delete_a_queue(endpoint, queue):
    sqs, url = queue
    r = httpx.post(endpoint + "/", headers=FORM, content=urlencode({"Action": "DeleteQueue", "QueueUrl": url}))
    assert r.status_code == 403
    assert "<Code>AccessDenied</Code>" in r.text
    assert sqs.get_queue_url(QueueName=url.rsplit("/", 1)[1])["QueueUrl"] == url


def test_cross_site_form_cannot_create_an_iam_user(endpoint, client, unique_name):
    name = unique_name("u")
    body = urlencode({"Action": "CreateUser", "UserName": name, "Version": "2010-05-08"})
    r = httpx.post(endpoint + "/", headers=FORM, content=body)
    assert r.status_code == 403
    assert "<Code>AccessDenied</Code>" in r.text
    assert name not in [u["UserName"] for u in client("iam").list_users()["Users"]]


def test_img_get_cannot_send_a_message(endpoint, queue):
    sqs, url = queue
    path = urlparse(url).path + "?" + urlencode({"Action": "SendMessage", "MessageBody": "pwned"})
    for headers in (IMG, {**IMG, "Sec-Fetch-Site": "same-site"}):
        r = httpx.get(endpoint + path, headers=headers)
        assert r.status_code == 403
        assert "<Code>AccessDenied</Code>" in r.text
    assert _messages(sqs, url) == 0
    assert httpx.get(endpoint + path).status_code == 200  # the same URL from curl: not a browser
    assert _messages(sqs, url) == 1


def test_cross_site_signed_json_request_is_refused(endpoint):
    r = httpx.post(endpoint + "/", headers={**SIGNED_JSON, "Origin": EVIL, "Sec-Fetch-Site": "cross-site"},
                   content=b"{}")
    assert r.status_code == 403
    assert r.json()["__type"].endswith("AccessDenied")
    preflight = httpx.options(endpoint + "/", headers={"Origin": EVIL, "Access-Control-Request-Method": "POST",
                                                       "Access-Control-Request-Headers": "authorization,x-amz-target"})
    assert "access-control-allow-origin" not in preflight.headers


def test_page_on_this_machine_calls_the_apis_like_the_browser_sdk(endpoint):
    """A single-page app on http://localhost:3000 using the AWS SDK for JavaScript: its preflight
    is answered, and its signed request is served with the CORS headers to read the answer."""
    app = "http://localhost:3000"
    preflight = httpx.options(endpoint + "/", headers={
        "Origin": app, "Access-Control-Request-Method": "POST", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "cross-site",
        "Access-Control-Request-Headers": "authorization,content-type,x-amz-date,x-amz-target,x-amz-user-agent"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == app
    assert "x-amz-target" in preflight.headers["access-control-allow-headers"]
    assert "POST" in preflight.headers["access-control-allow-methods"]
    r = httpx.post(endpoint + "/", headers={**SIGNED_JSON, "Origin": app, "Sec-Fetch-Site": "same-site"}, content=b"{}")
    assert r.status_code == 200
    assert "TableNames" in r.json()
    assert r.headers["access-control-allow-origin"] == app
    assert "x-amzn-requestid" in r.headers["access-control-expose-headers"]


def test_same_origin_form_is_served(endpoint, queue):
    sqs, url = queue
    headers = {**FORM, "Origin": endpoint, "Sec-Fetch-Site": "same-origin"}
    body = urlencode({"Action": "SendMessage", "QueueUrl": url, "MessageBody": "mine"})
    assert httpx.post(endpoint + "/", headers=headers, content=body).status_code == 200
    assert _messages(sqs, url) == 1


def test_deployed_api_decides_its_own_cross_site_requests(client, endpoint):
    """Deployed APIs are the application's own front door: a page on any origin reaches them, as
    on AWS, and their CORS configuration decides what it may read."""
    api = Api(client("apigateway"), endpoint, "cross-site")
    api.mock("/hello", template='{"served": true}')
    api.deploy("web")
    for headers in (IMG, {**IMG, "Origin": EVIL, "Sec-Fetch-Mode": "cors"}):
        r = httpx.get(api.url("/hello"), headers=headers)
        assert r.status_code == 200, r.text
        assert r.json() == {"served": True}
        assert "access-control-allow-origin" not in r.headers  # the API configured no CORS


def test_link_the_user_opened_is_served(endpoint):
    """Sec-Fetch-Site: none is a URL the user typed or bookmarked, not a page's doing."""
    r = httpx.get(endpoint + "/_overcast/health", headers={"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate"})
    assert r.json()["status"] == "running"


# -- S3 -------------------------------------------------------------------------------------------


def test_cross_site_multipart_form_without_policy_cannot_write(endpoint, s3, bucket):
    headers = {k: v for k, v in FORM.items() if k != "Content-Type"}
    for origin in (EVIL, "null"):
        r = httpx.post(f"{endpoint}/{bucket}", headers={**headers, "Origin": origin},
                       data={"key": "pwned.txt"}, files={"file": ("f.txt", b"pwned", "text/plain")})
        assert r.status_code == 403, r.text
        assert "<Code>AccessDenied</Code>" in r.text
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    # the same form from the command line (no browser headers) is S3's anonymous upload
    r = httpx.post(f"{endpoint}/{bucket}", data={"key": "curl.txt"}, files={"file": ("f.txt", b"ok", "text/plain")})
    assert r.status_code == 204, r.text


def test_cross_site_upload_with_a_signed_post_policy_is_served(endpoint, s3, bucket):
    post = s3.generate_presigned_post(bucket, "uploads/${filename}", Conditions=[["starts-with", "$key", "uploads/"]])
    headers = {k: v for k, v in FORM.items() if k != "Content-Type"}
    r = httpx.post(post["url"], headers=headers, data=post["fields"], files={"file": ("a.txt", b"hello", "text/plain")})
    assert r.status_code == 204, r.text
    assert s3.get_object(Bucket=bucket, Key="uploads/a.txt")["Body"].read() == b"hello"


def test_cross_site_put_needs_a_bucket_cors_rule(endpoint, s3, bucket):
    app = "https://app.example"
    headers = {"Origin": app, "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors", "Content-Type": "text/plain"}
    r = httpx.put(f"{endpoint}/{bucket}/k", headers=headers, content=b"v1")
    assert r.status_code == 403
    assert "<Code>AccessDenied</Code>" in r.text
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": [app], "AllowedMethods": ["PUT"], "AllowedHeaders": ["*"]}]})
    r = httpx.put(f"{endpoint}/{bucket}/k", headers=headers, content=b"v2")
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == app
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v2"
    assert httpx.put(f"{endpoint}/{bucket}/k", headers={**headers, "Origin": EVIL}, content=b"x").status_code == 403
    assert httpx.delete(f"{endpoint}/{bucket}/k", headers=headers).status_code == 403  # DELETE is not allowed
    # reads are a browser's to make (an <img>, a link): what the page may read is CORS's business
    assert httpx.get(f"{endpoint}/{bucket}/k", headers=IMG).content == b"v2"


# -- Host names (DNS rebinding) -------------------------------------------------------------------


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.5.6.7", "[::1]", "localhost:4566",
                                  "sqs.us-east-1.amazonaws.com", "bucket.s3.amazonaws.com", "b.localhost",
                                  "sqs.us-east-1.localhost.localstack.cloud:4566", "192.168.1.20:4566",
                                  "dynamodb.us-east-1.amazonaws.com", "LOCALHOST."])
def test_hosts_overcast_owns_are_served(endpoint, host):
    r = httpx.post(endpoint + "/", headers={**SIGNED_JSON, "Host": host}, content=b"{}")
    assert r.status_code == 200, (host, r.text)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:4566", "localhost.evil.example",
                                  "abc123.execute-api.evil.example", "x.lambda-url.us-east-1.evil.example",
                                  "amazonaws.com.evil.example", "1.2.3.4.nip.io"])
def test_foreign_hosts_are_refused_naming_the_setting(endpoint, host):
    r = httpx.post(endpoint + "/", headers={**SIGNED_JSON, "Host": host}, content=b"{}")
    assert r.status_code == 403
    assert "OVERCAST_ALLOWED_HOSTS" in r.json()["message"]
    assert httpx.get(endpoint + "/_overcast/health", headers={"Host": host}).status_code == 403


def test_request_without_host_is_served(endpoint):
    """HTTP/1.0 probes may leave Host out; a browser never does, so it cannot be rebinding."""
    url = urlparse(endpoint)
    with socket.create_connection((url.hostname, url.port), timeout=10) as conn:
        conn.sendall(b"GET /_overcast/health HTTP/1.0\r\n\r\n")
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]


def test_websocket_upgrade_with_a_foreign_host_is_refused(endpoint):
    url = endpoint.replace("http://", "ws://") + "/"

    async def attempt():
        async with websockets.connect(url, additional_headers={"Host": "evil.example"}):
            pass

    with pytest.raises(InvalidStatus) as raised:
        asyncio.run(attempt())
    assert raised.value.response.status_code == 403


def test_allowed_hosts_setting_adds_names(tmp_path):
    server = OvercastProcess(data_dir=str(tmp_path / "d"),
                             env={"OVERCAST_ALLOWED_HOSTS": "devbox.lan, *.corp.example"})
    try:
        for host, status in (("devbox.lan:4566", 200), ("a.corp.example", 200), ("corp.example", 403),
                             ("evil.example", 403)):
            r = httpx.post(server.endpoint + "/", headers={**SIGNED_JSON, "Host": host}, content=b"{}")
            assert r.status_code == status, host
        # a page on an allowed host may call the AWS APIs like a page on localhost
        r = httpx.post(server.endpoint + "/", headers={**SIGNED_JSON, "Origin": "http://devbox.lan:3000"},
                       content=b"{}")
        assert r.headers["access-control-allow-origin"] == "http://devbox.lan:3000"
    finally:
        server.stop()


def test_allowed_hosts_star_and_flag(tmp_path):
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-m", "overcast", "start", "--port", "0", "--ephemeral",
                                "--allowed-hosts", "*"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = process.stdout.readline()
        endpoint = line.split("ready on ", 1)[1].split()[0]
        r = httpx.post(endpoint + "/", headers={**SIGNED_JSON, "Host": "anything.example"}, content=b"{}")
        assert r.status_code == 200
        assert json.loads(r.text)["TableNames"] == []
        # `*` serves any Host, but does not make every page origin trusted
        r = httpx.post(endpoint + "/", headers={**SIGNED_JSON, "Origin": EVIL}, content=b"{}")
        assert r.status_code == 403
    finally:
        process.terminate()
        process.wait(timeout=10)
