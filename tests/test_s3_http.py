"""S3 at the HTTP level: aws-chunked uploads, presigned URLs, browser POST uploads, websites,
event notifications to SQS, and the AWS CLI."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import time
import zlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum
from s3_support import raw

pytest_plugins = ["s3_fixtures"]


def _crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def test_aws_chunked_unsigned_payload_with_trailing_checksum(s3, bucket, endpoint):
    data = os.urandom(300_000)
    body = AwsChunkedWrapper(io.BytesIO(data), checksum_cls=Crc32Checksum, checksum_name="x-amz-checksum-crc32",
                             chunk_size=65536).read()
    r = raw(endpoint, "PUT", f"/{bucket}/chunked", content=body, headers={
        "Content-Encoding": "aws-chunked", "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "x-amz-trailer": "x-amz-checksum-crc32", "x-amz-decoded-content-length": str(len(data))})
    assert r.status_code == 200, r.text
    assert r.headers["x-amz-checksum-crc32"] == _crc32_b64(data)
    got = s3.get_object(Bucket=bucket, Key="chunked")
    assert got["Body"].read() == data
    assert "ContentEncoding" not in got


def test_aws_chunked_signed_payload_chunks(s3, bucket, endpoint):
    data = b"a" * 70_000 + b"b" * 10
    sig = "0" * 64
    body = (f"{65536:x};chunk-signature={sig}\r\n".encode() + data[:65536] + b"\r\n"
            + f"{len(data) - 65536:x};chunk-signature={sig}\r\n".encode() + data[65536:] + b"\r\n"
            + f"0;chunk-signature={sig}\r\n\r\n".encode())
    r = raw(endpoint, "PUT", f"/{bucket}/signed", content=body, headers={
        "Content-Encoding": "aws-chunked", "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "x-amz-decoded-content-length": str(len(data))})
    assert r.status_code == 200, r.text
    assert s3.get_object(Bucket=bucket, Key="signed")["Body"].read() == data


def test_aws_chunked_wrong_trailing_checksum_is_bad_digest(bucket, endpoint):
    data = b"payload"
    body = (f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n")
    r = raw(endpoint, "PUT", f"/{bucket}/bad", content=body, headers={
        "Content-Encoding": "aws-chunked", "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "x-amz-trailer": "x-amz-checksum-crc32", "x-amz-decoded-content-length": str(len(data))})
    assert r.status_code == 400
    assert "<Code>BadDigest</Code>" in r.text


def test_presigned_get_and_put_work_with_plain_http_clients(s3, bucket, endpoint, tmp_path):
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "p.txt"}, ExpiresIn=300)
    source = tmp_path / "p.txt"
    source.write_bytes(b"via curl")
    subprocess.run(["curl", "-sf", "-T", str(source), put_url], check=True, timeout=30)
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p.txt"}, ExpiresIn=300)
    assert httpx.get(get_url).content == b"via curl"


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
def test_expired_presigned_url_is_access_denied(client, bucket, signature_version):
    s3 = client("s3", signature_version=signature_version)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=60)
    assert httpx.get(url).content == b"x"
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if "X-Amz-Date" in query:
        query["X-Amz-Date"] = "20200101T000000Z"
    else:
        query["Expires"] = "1577836800"
    r = httpx.get(urlunsplit(parts._replace(query=urlencode(query))))
    assert r.status_code == 403
    assert "<Code>AccessDenied</Code><Message>Request has expired</Message>" in r.text


def test_post_policy_upload_with_multipart_form(s3, bucket):
    post = s3.generate_presigned_post(bucket, "uploads/${filename}", Fields={"success_action_status": "201"},
                                      Conditions=[["starts-with", "$key", "uploads/"],
                                                  {"success_action_status": "201"},
                                                  ["content-length-range", 1, 1000]], ExpiresIn=300)
    r = httpx.post(post["url"], data=post["fields"], files={"file": ("photo.txt", b"form data", "text/plain")})
    assert r.status_code == 201, r.text
    assert "<Key>uploads/photo.txt</Key>" in r.text
    got = s3.get_object(Bucket=bucket, Key="uploads/photo.txt")
    assert got["Body"].read() == b"form data"
    assert got["ContentType"] == "text/plain"


def test_post_policy_condition_failure_is_access_denied(s3, bucket):
    post = s3.generate_presigned_post(bucket, "other/x", Conditions=[["starts-with", "$key", "uploads/"]])
    r = httpx.post(post["url"], data=post["fields"], files={"file": ("x", b"data")})
    assert r.status_code == 403
    assert "Invalid according to Policy: Policy Condition failed" in r.text


def test_expired_post_policy_is_access_denied(s3, bucket):
    policy = base64.b64encode(json.dumps({"expiration": "2020-01-01T00:00:00Z",
                                          "conditions": [{"bucket": bucket}, ["starts-with", "$key", ""]]}).encode())
    # a policy comes with its signature's fields (without them: AccessDenied "Access Denied")
    r = httpx.post(f"{s3.meta.endpoint_url}/{bucket}", data={"key": "k", "policy": policy.decode(),
                                                             "AWSAccessKeyId": "test", "signature": "c2ln"},
                   files={"file": ("x", b"data")})
    assert r.status_code == 403
    assert "Invalid according to Policy: Policy expired." in r.text


def _website(endpoint: str, bucket: str, path: str, host_form: str = "{b}.s3-website.localhost.localstack.cloud"):
    port = endpoint.rsplit(":", 1)[1]
    return httpx.get(f"http://127.0.0.1:{port}{path}", headers={"Host": f"{host_form.format(b=bucket)}:{port}"},
                     follow_redirects=False)


def test_website_serves_index_and_error_documents(s3, bucket, endpoint):
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"},
                                                               "ErrorDocument": {"Key": "404.html"}})
    s3.put_object(Bucket=bucket, Key="index.html", Body=b"<h1>home</h1>", ContentType="text/html")
    s3.put_object(Bucket=bucket, Key="docs/index.html", Body=b"docs", ContentType="text/html")
    s3.put_object(Bucket=bucket, Key="404.html", Body=b"missing page", ContentType="text/html")
    home = _website(endpoint, bucket, "/")
    assert home.status_code == 200 and home.content == b"<h1>home</h1>"
    assert home.headers["content-type"] == "text/html"
    assert _website(endpoint, bucket, "/docs/").content == b"docs"
    folder = _website(endpoint, bucket, "/docs")
    assert folder.status_code == 302 and folder.headers["location"] == "/docs/"
    missing = _website(endpoint, bucket, "/nope", "{b}.s3-website-us-east-1.localhost")
    assert missing.status_code == 404 and missing.content == b"missing page"
    assert s3.get_bucket_website(Bucket=bucket)["IndexDocument"] == {"Suffix": "index.html"}


def test_website_without_configuration_is_html_404(bucket, endpoint):
    r = _website(endpoint, bucket, "/")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "<li>Code: NoSuchWebsiteConfiguration</li>" in r.text


def test_website_redirect_all_requests_and_routing_rules(s3, bucket, endpoint, unique_name):
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={
        "IndexDocument": {"Suffix": "index.html"},
        "RoutingRules": [{"Condition": {"KeyPrefixEquals": "old/"},
                          "Redirect": {"ReplaceKeyPrefixWith": "new/", "HttpRedirectCode": "302"}}]})
    moved = _website(endpoint, bucket, "/old/page.html")
    assert moved.status_code == 302 and moved.headers["location"].endswith("/new/page.html")
    other = unique_name("redir")
    s3.create_bucket(Bucket=other)
    s3.put_bucket_website(Bucket=other, WebsiteConfiguration={"RedirectAllRequestsTo": {"HostName": "example.com",
                                                                                        "Protocol": "https"}})
    r = _website(endpoint, other, "/a/b")
    assert r.status_code == 301 and r.headers["location"] == "https://example.com/a/b"


def _receive(sqs, url, wanted: int = 1) -> list[dict]:
    out, deadline = [], time.time() + 10
    while len(out) < wanted and time.time() < deadline:
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out


def test_notifications_deliver_test_event_and_object_events_to_sqs(client, s3, bucket, unique_name):
    sqs = client("sqs")
    url = sqs.create_queue(QueueName=unique_name("q"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [{
        "Id": "uploads", "QueueArn": arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}, {"Name": "suffix", "Value": ".csv"}]}}}]})
    test = _receive(sqs, url)[0]
    assert test["Event"] == "s3:TestEvent" and test["Bucket"] == bucket
    s3.put_object(Bucket=bucket, Key="in/skip.txt", Body=b"x")
    s3.put_object(Bucket=bucket, Key="in/my file.csv", Body=b"a,b")
    s3.delete_object(Bucket=bucket, Key="in/my file.csv")
    records = [r for m in _receive(sqs, url, 2) for r in m["Records"]]
    created, removed = records
    assert created["eventVersion"] == "2.1" and created["eventSource"] == "aws:s3"
    assert created["eventName"] == "ObjectCreated:Put"
    assert created["s3"]["configurationId"] == "uploads"
    assert created["s3"]["bucket"]["name"] == bucket
    assert created["s3"]["object"]["key"] == "in/my+file.csv"
    assert created["s3"]["object"]["size"] == 3
    assert created["s3"]["object"]["eTag"] and created["s3"]["object"]["sequencer"]
    assert removed["eventName"] == "ObjectRemoved:Delete"


def test_notifications_deliver_through_an_sns_topic_to_its_sqs_subscription(client, s3, bucket, unique_name):
    sqs, sns = client("sqs"), client("sns")
    url = sqs.create_queue(QueueName=unique_name("q"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name=unique_name("t"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    # same account: delivered without a topic policy, as to queues
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"TopicConfigurations": [{
        "Id": "to-topic", "TopicArn": topic, "Events": ["s3:ObjectCreated:*"]}]})
    assert s3.get_bucket_notification_configuration(Bucket=bucket)["TopicConfigurations"][0]["TopicArn"] == topic
    test = _receive(sqs, url)[0]
    assert test["Type"] == "Notification" and test["TopicArn"] == topic
    assert test["Subject"] == "Amazon S3 Notification"
    assert json.loads(test["Message"])["Event"] == "s3:TestEvent"
    s3.put_object(Bucket=bucket, Key="report.csv", Body=b"a,b")
    envelope = _receive(sqs, url)[0]
    assert envelope["Subject"] == "Amazon S3 Notification"
    record = json.loads(envelope["Message"])["Records"][0]
    assert record["eventSource"] == "aws:s3" and record["eventName"] == "ObjectCreated:Put"
    assert record["s3"]["configurationId"] == "to-topic"
    assert record["s3"]["bucket"]["name"] == bucket and record["s3"]["object"]["key"] == "report.csv"


def test_notifications_invoke_a_lambda_function_asynchronously(client, s3, bucket, unique_name):
    from lambda_functions import ROLE, python_zip

    sqs, lam = client("sqs"), client("lambda")
    url = sqs.create_queue(QueueName=unique_name("q"))["QueueUrl"]
    code = ("import boto3, json, os\ndef handler(event, context):\n"
            "    boto3.client('sqs').send_message(QueueUrl=os.environ['OUT'], MessageBody=json.dumps(event))\n")
    arn = lam.create_function(FunctionName=unique_name("on-upload"), Runtime="python3.11", Role=ROLE,
                              Handler="app.handler", Code={"ZipFile": python_zip(code)},
                              Environment={"Variables": {"OUT": url}})["FunctionArn"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"Id": "fn", "LambdaFunctionArn": arn, "Events": ["s3:ObjectRemoved:*"]}]})
    s3.put_object(Bucket=bucket, Key="gone.txt", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="gone.txt")
    events = _receive(sqs, url)  # no s3:TestEvent: S3 sends that to queues and topics only
    record = events[0]["Records"][0]
    assert record["eventName"] == "ObjectRemoved:Delete" and record["s3"]["object"]["key"] == "gone.txt"
    assert record["s3"]["configurationId"] == "fn"


@pytest.mark.parametrize("kind, arn", [
    ("TopicConfigurations", "arn:aws:sns:us-east-1:000000000000:no-such-topic"),
    ("LambdaFunctionConfigurations", "arn:aws:lambda:us-east-1:000000000000:function:no-such-function"),
])
def test_notification_to_missing_topic_or_function_is_invalid_argument(s3, bucket, kind, arn):
    from botocore.exceptions import ClientError

    key = "TopicArn" if kind == "TopicConfigurations" else "LambdaFunctionArn"
    with pytest.raises(ClientError) as e:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={kind: [{
            key: arn, "Events": ["s3:ObjectCreated:*"]}]})
    assert e.value.response["Error"]["Code"] == "InvalidArgument"
    assert e.value.response["Error"]["Message"] == "Unable to validate the following destination configurations"


def test_notification_to_missing_queue_is_invalid_argument(s3, bucket):
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as e:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [{
            "QueueArn": "arn:aws:sqs:us-east-1:000000000000:does-not-exist", "Events": ["s3:ObjectCreated:*"]}]})
    assert e.value.response["Error"]["Code"] == "InvalidArgument"
    assert e.value.response["Error"]["Message"] == "Unable to validate the following destination configurations"


def _cli(endpoint, *args):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_PAGER": ""}
    aws = os.path.join(os.path.dirname(__import__("sys").executable), "aws")
    return subprocess.run([aws, "--endpoint-url", endpoint, *args], capture_output=True, text=True, env=env, timeout=60)


def test_cli_cp_sync_ls_rm(endpoint, s3, bucket, tmp_path):
    src = tmp_path / "site"
    (src / "css").mkdir(parents=True)
    (src / "index.html").write_text("<h1>hi</h1>")
    (src / "css" / "app.css").write_text("body{}")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(12 * 1024 * 1024))
    r = _cli(endpoint, "s3", "cp", str(big), f"s3://{bucket}/big.bin")
    assert r.returncode == 0, r.stderr
    r = _cli(endpoint, "s3", "sync", str(src), f"s3://{bucket}/site")
    assert r.returncode == 0, r.stderr
    listing = _cli(endpoint, "s3", "ls", "--recursive", f"s3://{bucket}")
    assert "site/css/app.css" in listing.stdout and "big.bin" in listing.stdout
    back = tmp_path / "back.bin"
    assert _cli(endpoint, "s3", "cp", f"s3://{bucket}/big.bin", str(back)).returncode == 0
    assert back.read_bytes() == big.read_bytes()
    again = _cli(endpoint, "s3", "sync", str(src), f"s3://{bucket}/site")
    assert again.returncode == 0 and "upload:" not in again.stdout
    assert _cli(endpoint, "s3", "rm", "--recursive", f"s3://{bucket}/site").returncode == 0
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["big.bin"]


def test_cli_website_and_s3api(endpoint, aws_cli, bucket):
    r = _cli(endpoint, "s3", "website", f"s3://{bucket}", "--index-document", "index.html",
             "--error-document", "error.html")
    assert r.returncode == 0, r.stderr
    assert aws_cli("s3api", "get-bucket-website", "--bucket", bucket)["IndexDocument"]["Suffix"] == "index.html"
    assert aws_cli("s3api", "head-bucket", "--bucket", bucket)["BucketRegion"] == "us-east-1"


def test_unsigned_request_to_path_is_routed_to_s3(bucket, endpoint):
    r = httpx.get(f"{endpoint}/{bucket}/nothing-here")
    assert r.status_code == 404
    assert "<Code>NoSuchKey</Code>" in r.text


@pytest.mark.parametrize("method,path,headers,body", [
    ("GET", "/{b}?list-type=2&max-keys=abc", {}, b""),
    ("GET", "/{b}?max-keys=-1", {}, b""),
    ("PUT", "/{b}/k?partNumber=x&uploadId=y", {}, b"x"),
    ("PUT", "/{b}/k?partNumber=1&uploadId=nope", {}, b"x"),
    ("GET", "/{b}/k", {"Range": "bytes=garbage"}, b""),
    ("GET", "/{b}/k?partNumber=abc", {}, b""),
    ("PUT", "/{b}/k", {"x-amz-copy-source": "nothing"}, b""),
    ("PUT", "/{b}/k", {"x-amz-copy-source": "/%ZZ/%"}, b""),
    ("POST", "/{b}/k?uploadId=nope", {}, b"<CompleteMultipartUpload>"),
    ("POST", "/{b}?delete", {}, b"<Delete><Object></Object></Delete>"),
    ("POST", "/{b}?delete", {}, b"not xml"),
    ("PUT", "/{b}?versioning", {}, b"<VersioningConfiguration><Status>Maybe</Status></VersioningConfiguration>"),
    ("PUT", "/{b}?cors", {}, b"<CORSConfiguration></CORSConfiguration>"),
    ("PUT", "/{b}?lifecycle", {}, b"<LifecycleConfiguration><Rule><Status>x</Status></Rule></LifecycleConfiguration>"),
    ("PUT", "/{b}/k", {"x-amz-checksum-crc32": "!!"}, b"x"),
    ("PUT", "/{b}/k", {"Content-MD5": "short"}, b"x"),
    ("PUT", "/{b}/k", {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": "5"}, b"zz\r\nhello"),
    ("GET", "/{b}/k?versionId=%00bad", {}, b""),
    ("PATCH", "/{b}/k", {}, b""),
    ("POST", "/{b}", {"content-type": "multipart/form-data; boundary=xyz"}, b"--xyz\r\nbroken"),
])
def test_bad_input_never_gets_a_500(bucket, endpoint, method, path, headers, body):
    r = raw(endpoint, method, path.format(b=bucket), headers=headers, content=body)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    if method != "HEAD":
        assert "<Error><Code>" in r.text
