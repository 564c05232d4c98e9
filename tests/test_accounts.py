"""Accounts are separated as AWS separates them: account B (access key 222222222222) cannot read,
write, list or delete account A's (111111111111) resources by ARN, name or URL, and gets AWS's
error; A's data is unchanged; once A's resource policy grants B, B's request works."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

A, B = "111111111111", "222222222222"


@pytest.fixture
def a(client):
    return lambda service, **kw: client(service, access_key=A, **kw)


@pytest.fixture
def b(client):
    return lambda service, **kw: client(service, access_key=B, **kw)


def refused(call, code: str, status: int | None = None, message: str | None = None) -> dict:
    with pytest.raises(ClientError) as info:
        call()
    error = info.value.response["Error"]
    assert error["Code"] == code, info.value.response
    if status is not None:
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    if message is not None:
        assert error.get("Message") == message, error
    return error


def grant(principal: str, actions, resource, effect: str = "Allow", **extra) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "grant", "Effect": effect, "Principal": {"AWS": principal}, "Action": actions,
         "Resource": resource, **extra}]})


# -- S3 --------------------------------------------------------------------------------------


def test_s3_another_accounts_bucket_is_refused(a, b, unique_name):
    s3a, s3b = a("s3"), b("s3")
    bucket = unique_name("acct")
    s3a.create_bucket(Bucket=bucket)
    s3a.put_object(Bucket=bucket, Key="k", Body=b"from A")
    denied = dict(code="AccessDenied", status=403, message="Access Denied")
    refused(lambda: s3b.get_object(Bucket=bucket, Key="k"), **denied)
    refused(lambda: s3b.put_object(Bucket=bucket, Key="k", Body=b"from B"), **denied)
    refused(lambda: s3b.list_objects_v2(Bucket=bucket), **denied)
    refused(lambda: s3b.list_objects(Bucket=bucket), **denied)
    refused(lambda: s3b.get_bucket_location(Bucket=bucket), **denied)
    refused(lambda: s3b.delete_object(Bucket=bucket, Key="k"), **denied)
    refused(lambda: s3b.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k"}]}), **denied)
    refused(lambda: s3b.delete_bucket(Bucket=bucket), **denied)
    refused(lambda: s3b.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": []}), **denied)
    refused(lambda: s3b.create_multipart_upload(Bucket=bucket, Key="m"), **denied)
    refused(lambda: s3b.copy_object(Bucket=bucket, Key="c", CopySource={"Bucket": bucket, "Key": "k"}), **denied)
    with pytest.raises(ClientError) as info:
        s3b.head_object(Bucket=bucket, Key="k")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # B's own bucket cannot copy A's object out either
    mine = unique_name("acct")
    s3b.create_bucket(Bucket=mine)
    refused(lambda: s3b.copy_object(Bucket=mine, Key="c", CopySource={"Bucket": bucket, "Key": "k"}), **denied)
    # B does not see A's bucket, and cannot take its name
    assert bucket not in [x["Name"] for x in s3b.list_buckets()["Buckets"]]
    refused(lambda: s3b.create_bucket(Bucket=bucket), "BucketAlreadyExists", 409)
    # A's data is unchanged
    assert s3a.get_object(Bucket=bucket, Key="k")["Body"].read() == b"from A"
    assert [o["Key"] for o in s3a.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]


def test_s3_bucket_policy_is_only_the_owners_to_read_or_change(a, b, unique_name):
    s3a, s3b = a("s3"), b("s3")
    bucket = unique_name("acct")
    s3a.create_bucket(Bucket=bucket)
    s3a.put_bucket_policy(Bucket=bucket, Policy=grant(B, "s3:*", [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]))
    refused(lambda: s3b.get_bucket_policy(Bucket=bucket), "MethodNotAllowed", 405)
    refused(lambda: s3b.put_bucket_policy(Bucket=bucket, Policy=grant("*", "s3:*", "*")), "MethodNotAllowed", 405)
    refused(lambda: s3b.delete_bucket_policy(Bucket=bucket), "MethodNotAllowed", 405)
    assert B in s3a.get_bucket_policy(Bucket=bucket)["Policy"]


def test_s3_bucket_policy_grants_another_account(a, b, unique_name):
    s3a, s3b = a("s3"), b("s3")
    bucket = unique_name("acct")
    s3a.create_bucket(Bucket=bucket)
    s3a.put_object(Bucket=bucket, Key="public/k", Body=b"shared")
    s3a.put_object(Bucket=bucket, Key="private/k", Body=b"secret")
    s3a.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{B}:root"}, "Action": ["s3:Get*", "s3:PutObject"],
         "Resource": f"arn:aws:s3:::{bucket}/public/*"},
        {"Effect": "Allow", "Principal": {"AWS": B}, "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/public/ro*"},
    ]}))
    assert s3b.get_object(Bucket=bucket, Key="public/k")["Body"].read() == b"shared"
    s3b.put_object(Bucket=bucket, Key="public/new", Body=b"from B")
    assert s3a.get_object(Bucket=bucket, Key="public/new")["Body"].read() == b"from B"
    assert len(s3b.list_objects_v2(Bucket=bucket)["Contents"]) == 3
    refused(lambda: s3b.get_object(Bucket=bucket, Key="private/k"), "AccessDenied", 403)
    refused(lambda: s3b.put_object(Bucket=bucket, Key="public/ro-file", Body=b"x"), "AccessDenied", 403)
    refused(lambda: s3b.delete_object(Bucket=bucket, Key="public/k"), "AccessDenied", 403)
    # the owner itself is never refused by its own bucket policy (IAM is not enforced in an account)
    s3a.put_object(Bucket=bucket, Key="public/ro-file", Body=b"owner")


def test_s3_presigned_url_of_another_account_is_refused(a, b, unique_name):
    import httpx

    s3a, s3b = a("s3"), b("s3")
    bucket = unique_name("acct")
    s3a.create_bucket(Bucket=bucket)
    s3a.put_object(Bucket=bucket, Key="k", Body=b"from A")
    assert httpx.get(s3a.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})).content == b"from A"
    response = httpx.get(s3b.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}))
    assert response.status_code == 403
    assert b"<Code>AccessDenied</Code>" in response.content
