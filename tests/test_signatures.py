"""OVERCAST_VERIFY_SIGNATURES: SigV4 signatures (header, presigned, S3 chunked) checked against
the secret of the access key, on a server of their own with the setting on."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from xml.etree import ElementTree

import boto3
import botocore
import botocore.auth
import botocore.crt.auth
import httpx
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config as BotoConfig
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.conftest import OvercastProcess

KEY, SECRET = "AKIDOVERCASTTEST1", "registered-secret"
ACCOUNT_KEY, ACCOUNT_SECRET = "222233334444", "account-secret"
SIGNATURE_MESSAGE = ("The request signature we calculated does not match the signature you provided. Check your "
                     "AWS Secret Access Key and signing method. Consult the service documentation for details.")
TOKEN_MESSAGE = "The security token included in the request is invalid."


@pytest.fixture(scope="module")
def verifying():
    server = OvercastProcess(env={"OVERCAST_VERIFY_SIGNATURES": "1",
                                  "OVERCAST_CREDENTIALS": f"{KEY}:{SECRET},{ACCOUNT_KEY}:{ACCOUNT_SECRET}"})
    yield server.endpoint
    server.stop()


def _client(endpoint, service, key=KEY, secret=SECRET, token=None, **config):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, aws_session_token=token,
                        config=BotoConfig(retries={"max_attempts": 0}, **config))


def _error(call) -> ClientError:
    with pytest.raises(ClientError) as info:
        call()
    return info.value


# -- header signatures --------------------------------------------------------------------------------


def test_registered_key_works_and_its_account_scopes_the_request(verifying):
    sqs = _client(verifying, "sqs")
    url = sqs.create_queue(QueueName="signed")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "hello"
    identity = _client(verifying, "sts", ACCOUNT_KEY, ACCOUNT_SECRET).get_caller_identity()
    assert identity["Account"] == ACCOUNT_KEY


def test_sqs_json_wrong_secret_is_signature_does_not_match(verifying):
    error = _error(lambda: _client(verifying, "sqs", secret="wrong").list_queues())
    assert error.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert error.response["Error"]["Message"].startswith(SIGNATURE_MESSAGE)
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_sqs_query_protocol_wrong_secret(verifying):
    """An awsQuery form POST signed with the wrong secret answers SignatureDoesNotMatch in XML."""
    body = "Action=ListQueues&Version=2012-11-05"
    request = AWSRequest("POST", verifying + "/", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    from botocore.auth import SigV4Auth

    SigV4Auth(Credentials(KEY, "wrong"), "sqs", "us-east-1").add_auth(request)
    response = httpx.post(verifying + "/", content=body, headers=dict(request.headers))
    assert response.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in response.text
    assert "<Type>Sender</Type>" in response.text
    SigV4Auth(Credentials(KEY, SECRET), "sqs", "us-east-1").add_auth(request := AWSRequest(
        "POST", verifying + "/", data=body, headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}))
    assert httpx.post(verifying + "/", content=body, headers=dict(request.headers)).status_code == 200


def test_dynamodb_wrong_secret_and_unknown_key(verifying):
    error = _error(lambda: _client(verifying, "dynamodb", secret="wrong").list_tables())
    assert error.response["Error"]["Code"] == "InvalidSignatureException"
    assert error.response["Error"]["Message"].startswith(SIGNATURE_MESSAGE)
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    error = _error(lambda: _client(verifying, "dynamodb", key="AKIDUNKNOWN0000").list_tables())
    assert error.response["Error"]["Code"] == "UnrecognizedClientException"
    assert error.response["Error"]["Message"] == TOKEN_MESSAGE
    assert _client(verifying, "dynamodb").list_tables()["TableNames"] == []


def test_lambda_rest_json_wrong_secret(verifying):
    error = _error(lambda: _client(verifying, "lambda", secret="wrong").list_functions())
    assert error.response["Error"]["Code"] == "InvalidSignatureException"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "Functions" in _client(verifying, "lambda").list_functions()


@pytest.mark.parametrize("service", ["sqs", "sns", "sts", "iam"])
def test_unknown_key_is_invalid_client_token_id(verifying, service):
    call = {"sqs": "list_queues", "sns": "list_topics", "sts": "get_caller_identity", "iam": "list_users"}[service]
    error = _error(getattr(_client(verifying, service, key="AKIDUNKNOWN0000"), call))
    assert error.response["Error"]["Code"] == "InvalidClientTokenId"
    assert error.response["Error"]["Message"] == TOKEN_MESSAGE
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_unsigned_request_is_missing_authentication_token(verifying):
    response = httpx.post(verifying + "/", data={"Action": "ListQueues", "Version": "2012-11-05"})
    assert response.status_code == 403
    assert "<Code>MissingAuthenticationToken</Code>" in response.text
    response = httpx.post(verifying + "/", content=b"{}", headers={
        "X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"})
    assert response.status_code == 403
    assert response.json()["__type"].endswith("MissingAuthenticationTokenException")


def test_cognito_user_operations_take_no_signature_admin_ones_do(verifying):
    """The model marks SignUp, InitiateAuth, GetUser, ... `authtype: none` (boto3 and Amplify send
    them unsigned: the client id or the access token is the credential); Admin* need a signature."""
    idp = _client(verifying, "cognito-idp", key=ACCOUNT_KEY, secret=ACCOUNT_SECRET)
    pool = idp.create_user_pool(PoolName="unsigned-ops")["UserPool"]["Id"]
    app = idp.create_user_pool_client(UserPoolId=pool, ClientName="web", ExplicitAuthFlows=[
        "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool, Username="amy", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool, Username="amy", Password="Passw0rd!", Permanent=True)
    anonymous = boto3.client("cognito-idp", endpoint_url=verifying, region_name="us-east-1",
                             config=BotoConfig(signature_version=botocore.UNSIGNED, retries={"max_attempts": 0}))
    tokens = anonymous.initiate_auth(ClientId=app, AuthFlow="USER_PASSWORD_AUTH",
                                     AuthParameters={"USERNAME": "amy", "PASSWORD": "Passw0rd!"})["AuthenticationResult"]
    assert anonymous.get_user(AccessToken=tokens["AccessToken"])["Username"] == "amy"
    error = _error(lambda: anonymous.admin_get_user(UserPoolId=pool, Username="amy"))
    assert error.response["Error"]["Code"] == "MissingAuthenticationTokenException"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def _signed_get(url: str, key: str, secret: str) -> httpx.Response:
    request = AWSRequest(method="GET", url=url)
    botocore.auth.SigV4Auth(Credentials(key, secret), "cognito-idp", "us-east-1").add_auth(request)
    return httpx.get(url, headers=dict(request.headers))


def test_cognito_codes_need_a_valid_signature_and_show_its_accounts_pools(verifying):
    idp = _client(verifying, "cognito-idp", key=ACCOUNT_KEY, secret=ACCOUNT_SECRET)
    pool = idp.create_user_pool(PoolName="signed-codes")["UserPool"]["Id"]
    app = idp.create_user_pool_client(UserPoolId=pool, ClientName="web")["UserPoolClient"]["ClientId"]
    idp.sign_up(ClientId=app, Username="amy", Password="Passw0rd!",
                UserAttributes=[{"Name": "email", "Value": "amy@example.com"}])
    url = f"{verifying}/_overcast/cognito-idp/codes"
    unsigned = httpx.get(url)
    assert unsigned.status_code == 403 and unsigned.json()["__type"] == "MissingAuthenticationTokenException"
    forged = _signed_get(url, ACCOUNT_KEY, "not-the-secret")
    assert forged.status_code == 403 and forged.json()["__type"] == "InvalidSignatureException"
    mine = _signed_get(url, ACCOUNT_KEY, ACCOUNT_SECRET)
    assert mine.status_code == 200 and [c["username"] for c in mine.json()["codes"]] == ["amy"]
    other = _signed_get(url, KEY, SECRET)  # a registered key of the default account
    assert other.status_code == 200 and not [c for c in other.json()["codes"] if c["userPoolId"] == pool]


def _signed_at(monkeypatch, moment):
    """Sign as if the clock said `moment` (botocore's own signers and its awscrt ones)."""
    def now(remove_tzinfo=True):
        return moment.replace(tzinfo=None) if remove_tzinfo else moment

    monkeypatch.setattr(botocore.auth, "get_current_datetime", now)
    if botocore.auth.HAS_CRT:
        monkeypatch.setattr(botocore.crt.auth, "get_current_datetime", now)


def test_request_time_too_skewed(verifying, monkeypatch):
    _signed_at(monkeypatch, datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=20))
    error = _error(lambda: _client(verifying, "sqs").list_queues())
    assert error.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert error.response["Error"]["Message"].startswith("Signature expired: ")
    assert error.response["Error"]["Message"].endswith(" - 15 min.)")
    error = _error(lambda: _client(verifying, "s3").list_buckets())
    assert error.response["Error"]["Code"] == "RequestTimeTooSkewed"
    _signed_at(monkeypatch, datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=20))
    error = _error(lambda: _client(verifying, "dynamodb").list_tables())
    assert error.response["Error"]["Code"] == "InvalidSignatureException"
    assert error.response["Error"]["Message"].startswith("Signature not yet current: ")


def test_sts_issued_credentials_verify_with_their_session_token(verifying):
    credentials = _client(verifying, "sts").get_session_token()["Credentials"]
    sqs = _client(verifying, "sqs", credentials["AccessKeyId"], credentials["SecretAccessKey"],
                  credentials["SessionToken"])
    sqs.create_queue(QueueName="temporary")
    assert any(url.endswith("/temporary") for url in sqs.list_queues()["QueueUrls"])
    wrong = _client(verifying, "sqs", credentials["AccessKeyId"], "wrong", credentials["SessionToken"])
    assert _error(wrong.list_queues).response["Error"]["Code"] == "SignatureDoesNotMatch"
    no_token = _client(verifying, "sqs", credentials["AccessKeyId"], credentials["SecretAccessKey"])
    assert _error(no_token.list_queues).response["Error"]["Code"] == "InvalidClientTokenId"


def test_iam_access_keys_verify_until_deactivated(verifying):
    iam = _client(verifying, "iam")
    iam.create_user(UserName="signer")
    key = iam.create_access_key(UserName="signer")["AccessKey"]
    sts = _client(verifying, "sts", key["AccessKeyId"], key["SecretAccessKey"])
    assert sts.get_caller_identity()["Arn"].endswith(":user/signer")
    iam.update_access_key(UserName="signer", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    assert _error(sts.get_caller_identity).response["Error"]["Code"] == "InvalidClientTokenId"


# -- S3 ------------------------------------------------------------------------------------------------


def test_s3_header_signature(verifying):
    s3 = _client(verifying, "s3")
    s3.create_bucket(Bucket="signed-bucket")
    s3.put_object(Bucket="signed-bucket", Key="a b/ü.txt", Body=b"data")
    assert s3.get_object(Bucket="signed-bucket", Key="a b/ü.txt")["Body"].read() == b"data"
    error = _error(lambda: _client(verifying, "s3", secret="wrong").get_object(Bucket="signed-bucket", Key="a b/ü.txt"))
    assert error.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert error.response["Error"]["Message"] == ("The request signature we calculated does not match the signature "
                                                  "you provided. Check your key and signing method.")
    error = _error(lambda: _client(verifying, "s3", key="AKIDUNKNOWN0000").list_buckets())
    assert error.response["Error"]["Code"] == "InvalidAccessKeyId"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_s3_anonymous_request_is_access_denied(verifying):
    _client(verifying, "s3").create_bucket(Bucket="private-bucket")
    response = httpx.get(verifying + "/private-bucket/x")
    assert response.status_code == 403
    assert "<Code>AccessDenied</Code>" in response.text


def test_s3_anonymous_request_is_served_when_the_bucket_policy_allows_everyone(verifying):
    s3 = _client(verifying, "s3")
    s3.create_bucket(Bucket="public-bucket")
    s3.put_object(Bucket="public-bucket", Key="page.html", Body=b"<p>hi</p>")
    s3.put_bucket_policy(Bucket="public-bucket", Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::public-bucket/*"}]}))
    assert httpx.get(verifying + "/public-bucket/page.html").content == b"<p>hi</p>"
    response = httpx.put(verifying + "/public-bucket/other.html", content=b"x")
    assert response.status_code == 403 and "<Code>AccessDenied</Code>" in response.text
    response = httpx.put(verifying + "/anonymous-bucket")
    assert response.status_code == 403 and "<Code>AccessDenied</Code>" in response.text


def test_s3_presigned_url(verifying):
    s3 = _client(verifying, "s3", signature_version="s3v4")
    s3.create_bucket(Bucket="presigned-bucket")
    s3.put_object(Bucket="presigned-bucket", Key="k", Body=b"secret data")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "presigned-bucket", "Key": "k"}, ExpiresIn=60)
    assert httpx.get(url).content == b"secret data"
    tampered = url.replace("/k?", "/other?")
    response = httpx.get(tampered)
    assert response.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in response.text
    response = httpx.get(url.replace("X-Amz-Expires=60", "X-Amz-Expires=600"))
    assert response.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in response.text
    put = s3.generate_presigned_url("put_object", Params={"Bucket": "presigned-bucket", "Key": "up"}, ExpiresIn=60)
    assert httpx.put(put, content=b"uploaded").status_code == 200
    assert s3.get_object(Bucket="presigned-bucket", Key="up")["Body"].read() == b"uploaded"


def test_s3_sigv2_presigned_url_boto3_makes_by_default(verifying):
    s3 = _client(verifying, "s3")
    s3.create_bucket(Bucket="sigv2-bucket")
    s3.put_object(Bucket="sigv2-bucket", Key="a key", Body=b"v2")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "sigv2-bucket", "Key": "a key",
                                                          "ResponseContentType": "text/plain"}, ExpiresIn=60)
    assert "AWSAccessKeyId=" in url
    response = httpx.get(url)
    assert response.content == b"v2" and response.headers["content-type"] == "text/plain"
    response = httpx.get(url.replace("text%2Fplain", "text%2Fhtml"))
    assert response.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in response.text
    wrong = _client(verifying, "s3", secret="wrong").generate_presigned_url(
        "get_object", Params={"Bucket": "sigv2-bucket", "Key": "a key"}, ExpiresIn=60)
    assert httpx.get(wrong).status_code == 403


def test_s3_expired_presigned_url(verifying, monkeypatch):
    s3 = _client(verifying, "s3", signature_version="s3v4")
    s3.create_bucket(Bucket="expired-bucket")
    s3.put_object(Bucket="expired-bucket", Key="k", Body=b"x")
    _signed_at(monkeypatch, datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=120))
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "expired-bucket", "Key": "k"}, ExpiresIn=60)
    response = httpx.get(url)
    assert response.status_code == 403
    assert "<Code>AccessDenied</Code>" in response.text and "<Message>Request has expired</Message>" in response.text


def _xml_error(body: bytes) -> dict:
    return {child.tag: child.text for child in ElementTree.fromstring(body)}


def test_s3_signature_mismatch_lists_the_bytes_signed(verifying):
    s3 = _client(verifying, "s3", signature_version="s3v4")
    s3.create_bucket(Bucket="bytes-bucket")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "bytes-bucket", "Key": "k"}, ExpiresIn=60)
    error = _xml_error(httpx.get(url.replace("/k?", "/other?")).content)
    assert error["Code"] == "SignatureDoesNotMatch"
    assert error["StringToSignBytes"] == " ".join(f"{b:02x}" for b in error["StringToSign"].encode())
    assert error["CanonicalRequestBytes"].startswith("47 45 54 0a")  # "GET\n"


def test_s3_non_ascii_header_values_verify(verifying):
    """SDKs sign the text of a non-ASCII header value and send it UTF-8-encoded."""
    s3 = _client(verifying, "s3")
    s3.create_bucket(Bucket="unicode-bucket")
    s3.put_object(Bucket="unicode-bucket", Key="k", Body=b"x", CacheControl="ÄMÄZÕÑ S3",
                  ContentDisposition='attachment; filename="test_—_é.pdf"')
    assert s3.head_object(Bucket="unicode-bucket", Key="k")["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_s3_presigned_url_refuses_unsigned_amz_headers(verifying):
    s3 = _client(verifying, "s3", signature_version="s3v4")
    s3.create_bucket(Bucket="unsigned-bucket")
    url = s3.generate_presigned_url("put_object", Params={"Bucket": "unsigned-bucket", "Key": "k",
                                                          "Metadata": {"foo": "bar"}}, ExpiresIn=60)
    assert httpx.put(url, content=b"x", headers={"x-amz-meta-foo": "bar"}).status_code == 200
    response = httpx.put(url, content=b"x", headers={"x-amz-meta-foo": "bar", "x-amz-meta-wrong": "w"})
    error = _xml_error(response.content)
    assert (response.status_code, error["Code"], error["HeadersNotSigned"]) == (403, "AccessDenied", "x-amz-meta-wrong")
    assert error["Message"] == "There were headers present in the request which were not signed"
    broken = url.replace("X-Amz-Credential=" + KEY + "%2F", "X-Amz-Credential=" + KEY + "%252F")
    error = _xml_error(httpx.put(broken, content=b"x").content)
    assert error["Code"] == "AuthorizationQueryParametersError"
    assert error["Message"].startswith("Error parsing the X-Amz-Credential parameter")


def test_s3_sigv2_presigned_url_signs_the_amz_query_parameters(verifying):
    s3 = _client(verifying, "s3")
    s3.create_bucket(Bucket="sigv2-meta-bucket")
    url = s3.generate_presigned_url("put_object", Params={"Bucket": "sigv2-meta-bucket", "Key": "k",
                                                          "Metadata": {"foo": "bar"}}, ExpiresIn=60)
    assert "x-amz-meta-foo=bar" in url
    assert httpx.put(url, content=b"x").status_code == 200
    assert s3.head_object(Bucket="sigv2-meta-bucket", Key="k")["Metadata"] == {"foo": "bar"}
    assert httpx.put(url.replace("x-amz-meta-foo=bar", "x-amz-meta-foo=baz"), content=b"x").status_code == 403
    response = httpx.put(re.sub(r"&?Signature=[^&]*", "", url), content=b"x")
    error = _xml_error(response.content)
    assert (response.status_code, error["Code"]) == (403, "AccessDenied")
    assert error["Message"] == "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters"


@pytest.mark.parametrize("version", ["s3v4", "s3"])
def test_s3_browser_post_policy_signature(verifying, version):
    s3 = _client(verifying, "s3")
    bucket = f"post-policy-{version}"
    s3.create_bucket(Bucket=bucket)
    post = _client(verifying, "s3", signature_version=version).generate_presigned_post(bucket, "k", ExpiresIn=60)
    assert httpx.post(post["url"], data=post["fields"], files={"file": b"data"}).status_code == 204
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"data"
    fields = {**post["fields"], "policy": post["fields"]["policy"][:-2]}
    response = httpx.post(post["url"], data=fields, files={"file": b"other"})
    error = _xml_error(response.content)
    assert (response.status_code, error["Code"]) == (403, "SignatureDoesNotMatch")
    assert error["StringToSign"] == fields["policy"]
    assert error["SignatureProvided"] == fields.get("x-amz-signature", fields.get("signature"))
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"data"
    wrong = _client(verifying, "s3", secret="wrong", signature_version=version).generate_presigned_post(bucket, "k")
    assert httpx.post(wrong["url"], data=wrong["fields"], files={"file": b"x"}).status_code == 403


def test_s3_tampered_body_is_refused(verifying):
    """The body must hash to the signed x-amz-content-sha256."""
    s3 = _client(verifying, "s3")
    s3.create_bucket(Bucket="hash-bucket")
    request = AWSRequest("PUT", f"{verifying}/hash-bucket/k", data=b"original")
    S3SigV4Auth(Credentials(KEY, SECRET), "s3", "us-east-1").add_auth(request)
    response = httpx.put(request.url, content=b"tampered", headers=dict(request.headers))
    assert response.status_code == 400
    assert "<Code>XAmzContentSHA256Mismatch</Code>" in response.text
    assert _error(lambda: s3.head_object(Bucket="hash-bucket", Key="k")).response["Error"]["Code"] == "404"


def test_s3_upload_fileobj_multipart(verifying):
    s3 = _client(verifying, "s3")
    s3.create_bucket(Bucket="upload-bucket")
    data = os.urandom(9 * 1024 * 1024)
    from boto3.s3.transfer import TransferConfig

    s3.upload_fileobj(io.BytesIO(data), "upload-bucket", "big", Config=TransferConfig(multipart_threshold=5 << 20))
    assert s3.get_object(Bucket="upload-bucket", Key="big")["Body"].read() == data


def _chunked_put(endpoint, path, chunks, secret=SECRET, tamper=None, trailer=None):
    """A PutObject with STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]: the seed signature by
    botocore's S3 signer (it signs the x-amz-content-sha256 value given), each chunk signed as
    the S3 API reference (sigv4-streaming) defines."""
    mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" + ("-TRAILER" if trailer else "")
    headers = {"x-amz-content-sha256": mode, "Content-Encoding": "aws-chunked",
               "x-amz-decoded-content-length": str(sum(len(c) for c in chunks))}
    if trailer:
        headers["x-amz-trailer"] = trailer[0]
    request = AWSRequest("PUT", endpoint + path, headers=headers)
    signer = S3SigV4Auth(Credentials(KEY, secret), "s3", "us-east-1")
    signer.payload = lambda _request: mode  # botocore would hash the (empty) body instead
    signer.add_auth(request)
    amz_date = request.headers["X-Amz-Date"]
    date = amz_date[:8]
    previous = request.headers["Authorization"].rsplit("Signature=", 1)[1]
    key = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    for part in ("us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    scope = f"{date}/us-east-1/s3/aws4_request"
    empty = hashlib.sha256(b"").hexdigest()
    body = b""
    for index, chunk in enumerate([*chunks, b""]):
        to_sign = (f"AWS4-HMAC-SHA256-PAYLOAD\n{amz_date}\n{scope}\n{previous}\n{empty}\n"
                   f"{hashlib.sha256(chunk).hexdigest()}")
        previous = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        sent = chunk if tamper != index else b"X" + chunk[1:]
        body += f"{len(chunk):x};chunk-signature={previous}\r\n".encode() + (sent + b"\r\n" if chunk else b"")
    if trailer:
        canonical = f"{trailer[0]}:{trailer[1]}\n"
        to_sign = (f"AWS4-HMAC-SHA256-TRAILER\n{amz_date}\n{scope}\n{previous}\n"
                   f"{hashlib.sha256(canonical.encode()).hexdigest()}")
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        body += f"{trailer[0]}:{trailer[1]}\r\nx-amz-trailer-signature:{signature}\r\n".encode()
    body += b"\r\n"
    return httpx.put(request.url, content=body, headers=dict(request.headers))


def test_s3_chunked_signed_upload(verifying):
    s3 = _client(verifying, "s3")
    s3.create_bucket(Bucket="chunked-bucket")
    chunks = [os.urandom(65536), os.urandom(65536), b"tail"]
    response = _chunked_put(verifying, "/chunked-bucket/ok", chunks)
    assert response.status_code == 200, response.text
    assert s3.get_object(Bucket="chunked-bucket", Key="ok")["Body"].read() == b"".join(chunks)
    response = _chunked_put(verifying, "/chunked-bucket/bad", chunks, tamper=1)
    assert response.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in response.text
    assert _error(lambda: s3.head_object(Bucket="chunked-bucket", Key="bad")).response["Error"]["Code"] == "404"


def test_s3_chunked_signed_upload_with_signed_trailer(verifying):
    import base64
    import zlib

    s3 = _client(verifying, "s3")
    s3.create_bucket(Bucket="trailer-bucket")
    data = os.urandom(70000)
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    response = _chunked_put(verifying, "/trailer-bucket/ok", [data[:65536], data[65536:]],
                            trailer=("x-amz-checksum-crc32", crc))
    assert response.status_code == 200, response.text
    assert s3.get_object(Bucket="trailer-bucket", Key="ok")["Body"].read() == data


def test_aws_cli_upload(verifying, tmp_path):
    """The AWS CLI's s3 cp (its own streaming choice) with the registered key."""
    _client(verifying, "s3").create_bucket(Bucket="cli-bucket")
    source = tmp_path / "file.bin"
    source.write_bytes(os.urandom(10 * 1024 * 1024))
    env = {**os.environ, "AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1"}
    aws = os.path.join(os.path.dirname(sys.executable), "aws")
    done = subprocess.run([aws, "--endpoint-url", verifying, "s3", "cp", str(source), "s3://cli-bucket/file.bin"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    env["AWS_SECRET_ACCESS_KEY"] = "wrong"
    done = subprocess.run([aws, "--endpoint-url", verifying, "s3", "cp", str(source), "s3://cli-bucket/other.bin"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode != 0 and "SignatureDoesNotMatch" in done.stderr


# -- functions -------------------------------------------------------------------------------------------


def test_function_sdk_calls_verify_with_role_credentials(verifying):
    """Lambda gives the function its role's STS credentials: its own SDK calls verify."""
    lam = _client(verifying, "lambda")
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "import boto3\n"
                                       "def handler(event, context):\n"
                                       "    return boto3.client('sts').get_caller_identity()['Arn']\n")
    lam.create_function(FunctionName="signed-fn", Runtime=f"python{sys.version_info[0]}.{sys.version_info[1]}",
                        Role="arn:aws:iam::000000000000:role/fn-role", Handler="handler.handler",
                        Code={"ZipFile": code.getvalue()})
    result = lam.invoke(FunctionName="signed-fn")
    payload = json.loads(result["Payload"].read())
    assert "FunctionError" not in result, payload
    assert payload == "arn:aws:sts::000000000000:assumed-role/fn-role/signed-fn"
    # a one-character function name is too short for a session name: AWS's "<name>@lambda_function"
    lam.create_function(FunctionName="k", Runtime=f"python{sys.version_info[0]}.{sys.version_info[1]}",
                        Role="arn:aws:iam::000000000000:role/fn-role", Handler="handler.handler",
                        Code={"ZipFile": code.getvalue()})
    assert json.loads(lam.invoke(FunctionName="k")["Payload"].read()) == \
        "arn:aws:sts::000000000000:assumed-role/fn-role/k@lambda_function"
    # a path with percent-encoded characters (the ARN's colons): signed double-encoded, as every
    # service but S3 does
    arn = lam.get_function(FunctionName="signed-fn")["Configuration"]["FunctionArn"]
    assert lam.get_function(FunctionName=arn + ":$LATEST")["Configuration"]["FunctionName"] == "signed-fn"


def test_api_gateway_aws_integrations_work_when_signatures_are_verified(verifying):
    # API Gateway's calls to services for an integration carry no client's signature: overcast
    # makes them itself for the API's account (they answered InvalidClientTokenId)
    from tests.apigateway_support import Api

    apigw, sqs = _client(verifying, "apigateway"), _client(verifying, "sqs")
    queue_url = sqs.create_queue(QueueName="apigw-verified")["QueueUrl"]
    account = queue_url.rstrip("/").split("/")[-2]
    api = Api(apigw, verifying, "verified")
    api.method("/send", "POST", {"type": "AWS", "integrationHttpMethod": "POST",
                                 "uri": f"arn:aws:apigateway:us-east-1:sqs:path/{account}/apigw-verified",
                                 "requestParameters": {"integration.request.header.Content-Type":
                                                       "'application/x-www-form-urlencoded'"},
                                 "requestTemplates": {"application/json": "Action=SendMessage&MessageBody=$input.body"}},
               {"200": {}})
    api.deploy()
    r = api.call("POST", "/send", json={"hello": "verified"})
    assert r.status_code == 200, r.text
    messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"]
    assert json.loads(messages[0]["Body"]) == {"hello": "verified"}


def test_cloudformation_wait_condition_urls_verify(verifying):
    """The response URLs CloudFormation hands out (wait condition handles, custom resources) are
    presigned with credentials overcast issued to the account, so they verify too."""
    import time

    cf = _client(verifying, "cloudformation")
    template = {"Resources": {
        "Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
        "Wait": {"Type": "AWS::CloudFormation::WaitCondition",
                 "Properties": {"Handle": {"Ref": "Handle"}, "Timeout": "60"}}}}
    cf.create_stack(StackName="signed-wait", TemplateBody=json.dumps(template))
    deadline, url = time.time() + 30, None
    while url is None and time.time() < deadline:
        resources = cf.describe_stack_resources(StackName="signed-wait")["StackResources"]
        url = next((r.get("PhysicalResourceId") for r in resources if r["LogicalResourceId"] == "Handle"), None)
        time.sleep(0.1)
    signal = {"Status": "SUCCESS", "Reason": "done", "UniqueId": "1", "Data": "ok"}
    assert httpx.put(url, content=json.dumps(signal).encode(),
                     headers={"Content-Type": "application/json"}).status_code == 200
    cf.get_waiter("stack_create_complete").wait(StackName="signed-wait", WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
