"""S3 objects: put/get/head/delete, ranges, conditions, listing, copy, tagging, versions, lock."""

from __future__ import annotations

import base64
import datetime
import hashlib
import time

import httpx
import pytest
from botocore.exceptions import ClientError
from s3_support import error_of, raw

pytest_plugins = ["s3_fixtures"]


@pytest.mark.postgres_e2e
def test_put_then_get_returns_body_metadata_and_md5_etag(s3, bucket):
    body = b"hello world"
    put = s3.put_object(Bucket=bucket, Key="dir/a.txt", Body=body, ContentType="text/plain",
                        Metadata={"owner": "me"}, CacheControl="max-age=60")
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="dir/a.txt")
    assert got["Body"].read() == body
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"owner": "me"}
    assert got["CacheControl"] == "max-age=60"
    assert got["ContentLength"] == len(body)
    assert got["ETag"] == put["ETag"]


def test_head_object_returns_headers_without_body(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"12345")
    head = s3.head_object(Bucket=bucket, Key="k")
    assert head["ContentLength"] == 5
    assert head["ContentType"] == "binary/octet-stream"


def test_missing_key_is_no_such_key_with_s3_error_body(bucket, endpoint):
    r = raw(endpoint, "GET", f"/{bucket}/no/such.txt")
    assert r.status_code == 404
    assert r.text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>'
                             "<Message>The specified key does not exist.</Message><Key>no/such.txt</Key><RequestId>")
    assert r.headers["x-amz-request-id"] in r.text


def test_head_of_missing_key_is_404_without_body(bucket, endpoint):
    r = raw(endpoint, "HEAD", f"/{bucket}/nothing")
    assert r.status_code == 404
    assert r.content == b""


@pytest.mark.postgres_e2e
def test_keys_with_special_characters_round_trip(s3, bucket):
    keys = ["sp ace.txt", "uni/çé😀.bin", "a+b=c&d.txt", "percent%20.txt", "q?x#y"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    for key in keys:
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert sorted(listed, key=lambda k: k.encode()) == listed
    assert set(listed) == set(keys)


@pytest.mark.postgres_e2e
def test_range_get_answers_206_with_content_range(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"0123456789")
    got = s3.get_object(Bucket=bucket, Key="k", Range="bytes=2-5")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["ContentRange"] == "bytes 2-5/10"
    assert got["Body"].read() == b"2345"
    assert s3.get_object(Bucket=bucket, Key="k", Range="bytes=-3")["Body"].read() == b"789"
    assert s3.get_object(Bucket=bucket, Key="k", Range="bytes=7-")["Body"].read() == b"789"


def test_unsatisfiable_range_is_invalid_range_416(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"0123456789")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k", Range="bytes=20-30")
    err = error_of(e)
    assert (err["Code"], err["Status"], err["Message"]) == ("InvalidRange", 416, "The requested range is not satisfiable")


def test_if_none_match_with_current_etag_is_304(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"x")["ETag"]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k", IfNoneMatch=etag)
    assert error_of(e)["Status"] == 304


def test_if_match_with_other_etag_is_412(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k", IfMatch='"0000"')
    assert error_of(e)["Code"] == "PreconditionFailed"
    assert error_of(e)["Status"] == 412


def test_if_modified_since_now_is_304_and_if_unmodified_since_past_is_412(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    now = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=1)  # not before the object
    time.sleep(1)  # ... and not in the future either, which S3 ignores (test_s3_answers.py)
    past = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k", IfModifiedSince=now)
    assert error_of(e)["Status"] == 304
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k", IfUnmodifiedSince=past)
    assert error_of(e)["Status"] == 412
    assert s3.get_object(Bucket=bucket, Key="k", IfModifiedSince=past)["Body"].read() == b"x"


@pytest.mark.postgres_e2e
def test_conditional_write_if_none_match_star_refuses_existing_key(s3, bucket):
    s3.put_object(Bucket=bucket, Key="once", Body=b"1", IfNoneMatch="*")
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="once", Body=b"2", IfNoneMatch="*")
    err = error_of(e)
    assert (err["Code"], err["Status"]) == ("PreconditionFailed", 412)
    assert s3.get_object(Bucket=bucket, Key="once")["Body"].read() == b"1"


def test_wrong_content_md5_is_bad_digest(bucket, endpoint):
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    r = raw(endpoint, "PUT", f"/{bucket}/k", content=b"data", headers={"Content-MD5": wrong})
    assert r.status_code == 400
    assert "<Code>BadDigest</Code>" in r.text
    assert "The Content-MD5 you specified did not match what we received." in r.text


@pytest.mark.postgres_e2e
def test_checksums_are_computed_verified_and_returned(s3, bucket):
    for algorithm in ("CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"):
        put = s3.put_object(Bucket=bucket, Key=f"c-{algorithm}", Body=b"checksum me", ChecksumAlgorithm=algorithm)
        value = put[f"Checksum{algorithm}"]
        head = s3.head_object(Bucket=bucket, Key=f"c-{algorithm}", ChecksumMode="ENABLED")
        assert head[f"Checksum{algorithm}"] == value
    expected = base64.b64encode(hashlib.sha256(b"checksum me").digest()).decode()
    assert s3.head_object(Bucket=bucket, Key="c-SHA256", ChecksumMode="ENABLED")["ChecksumSHA256"] == expected


def test_wrong_checksum_header_is_bad_digest(bucket, endpoint):
    wrong = base64.b64encode(hashlib.sha256(b"nope").digest()).decode()
    r = raw(endpoint, "PUT", f"/{bucket}/k", content=b"data", headers={"x-amz-checksum-sha256": wrong})
    assert r.status_code == 400
    assert "<Code>BadDigest</Code>" in r.text


def test_delete_object_then_get_is_no_such_key(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert s3.delete_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k")
    assert error_of(e)["Code"] == "NoSuchKey"


@pytest.mark.postgres_e2e
def test_delete_objects_deletes_many(s3, bucket):
    for i in range(5):
        s3.put_object(Bucket=bucket, Key=f"k{i}", Body=b"x")
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": f"k{i}"} for i in range(3)]})
    assert sorted(d["Key"] for d in result["Deleted"]) == ["k0", "k1", "k2"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["k3", "k4"]


@pytest.mark.postgres_e2e
def test_list_objects_v2_pages_with_delimiter_and_start_after(s3, bucket):
    for key in ["a/1", "a/2", "b/1", "c", "d", "e"]:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    page = s3.list_objects_v2(Bucket=bucket, Delimiter="/", MaxKeys=3)
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["a/", "b/"]
    assert [o["Key"] for o in page["Contents"]] == ["c"]
    assert page["IsTruncated"] and page["KeyCount"] == 3
    rest = s3.list_objects_v2(Bucket=bucket, Delimiter="/", MaxKeys=3, ContinuationToken=page["NextContinuationToken"])
    assert [o["Key"] for o in rest["Contents"]] == ["d", "e"]
    assert not rest["IsTruncated"]
    after = s3.list_objects_v2(Bucket=bucket, StartAfter="b/1")
    assert [o["Key"] for o in after["Contents"]] == ["c", "d", "e"]
    prefixed = s3.list_objects_v2(Bucket=bucket, Prefix="a/")
    assert [o["Key"] for o in prefixed["Contents"]] == ["a/1", "a/2"]


def test_list_objects_v1_pages_with_marker(s3, bucket):
    for i in range(5):
        s3.put_object(Bucket=bucket, Key=f"k{i}", Body=b"x")
    page = s3.list_objects(Bucket=bucket, MaxKeys=2)
    assert [o["Key"] for o in page["Contents"]] == ["k0", "k1"] and page["IsTruncated"]
    rest = s3.list_objects(Bucket=bucket, Marker="k1")
    assert [o["Key"] for o in rest["Contents"]] == ["k2", "k3", "k4"]
    paginator = s3.get_paginator("list_objects")
    assert sum(len(p.get("Contents", [])) for p in paginator.paginate(Bucket=bucket, PaginationConfig={"PageSize": 2})) == 5


def test_list_with_encoding_type_url_encodes_keys(bucket, s3, endpoint):
    s3.put_object(Bucket=bucket, Key="a b+c", Body=b"x")
    r = raw(endpoint, "GET", f"/{bucket}?list-type=2&encoding-type=url")
    assert "<Key>a+b%2Bc</Key>" in r.text
    assert "<EncodingType>url</EncodingType>" in r.text


@pytest.mark.postgres_e2e
def test_copy_object_copies_or_replaces_metadata(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"body", Metadata={"a": "1"}, ContentType="text/plain")
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "src"})
    copied = s3.get_object(Bucket=bucket, Key="copy")
    assert copied["Body"].read() == b"body" and copied["Metadata"] == {"a": "1"}
    assert copied["ContentType"] == "text/plain"
    s3.copy_object(Bucket=bucket, Key="replaced", CopySource=f"{bucket}/src", MetadataDirective="REPLACE",
                   Metadata={"b": "2"})
    assert s3.head_object(Bucket=bucket, Key="replaced")["Metadata"] == {"b": "2"}


def test_copy_object_onto_itself_without_changes_is_invalid_request(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"body")
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="src", CopySource=f"{bucket}/src")
    assert error_of(e)["Code"] == "InvalidRequest"


def test_copy_source_if_match_failure_is_412(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"body")
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource=f"{bucket}/src", CopySourceIfMatch='"nope"')
    assert error_of(e)["Code"] == "PreconditionFailed"


@pytest.mark.postgres_e2e
def test_object_tagging_round_trips(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="a=1&b=2")
    assert s3.head_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"] == "2"
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "c", "Value": "3"}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == [{"Key": "c", "Value": "3"}]
    s3.delete_object_tagging(Bucket=bucket, Key="k")
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []


@pytest.mark.postgres_e2e
def test_versions_and_delete_markers(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    assert v1 != v2
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"].read() == b"one"
    marker = s3.delete_object(Bucket=bucket, Key="k")
    assert marker["DeleteMarker"] is True
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k")
    assert error_of(e)["Code"] == "NoSuchKey"
    listing = s3.list_object_versions(Bucket=bucket)
    assert [v["VersionId"] for v in listing["Versions"]] == [v2, v1]
    assert listing["DeleteMarkers"][0]["IsLatest"] is True
    s3.delete_object(Bucket=bucket, Key="k", VersionId=marker["VersionId"])
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"


@pytest.mark.postgres_e2e
def test_list_object_versions_pages(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for _ in range(3):
        s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    page = s3.list_object_versions(Bucket=bucket, MaxKeys=2)
    assert page["IsTruncated"] and len(page["Versions"]) == 2
    rest = s3.list_object_versions(Bucket=bucket, MaxKeys=2, KeyMarker=page["NextKeyMarker"],
                                   VersionIdMarker=page["NextVersionIdMarker"])
    assert len(rest["Versions"]) == 1 and not rest["IsTruncated"]


@pytest.mark.postgres_e2e
def test_object_lock_retention_blocks_version_delete(s3, unique_name):
    name = unique_name("lock")
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    version = s3.put_object(Bucket=name, Key="k", Body=b"x", ObjectLockMode="COMPLIANCE",
                            ObjectLockRetainUntilDate=until)["VersionId"]
    assert s3.get_object_retention(Bucket=name, Key="k")["Retention"]["Mode"] == "COMPLIANCE"
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket=name, Key="k", VersionId=version)
    assert error_of(e)["Code"] == "AccessDenied"
    assert error_of(e)["Status"] == 403


def test_legal_hold_blocks_version_delete_until_released(s3, unique_name):
    name = unique_name("lock")
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    version = s3.put_object(Bucket=name, Key="k", Body=b"x")["VersionId"]
    s3.put_object_legal_hold(Bucket=name, Key="k", LegalHold={"Status": "ON"})
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket=name, Key="k", VersionId=version)
    assert error_of(e)["Code"] == "AccessDenied"
    s3.put_object_legal_hold(Bucket=name, Key="k", LegalHold={"Status": "OFF"})
    s3.delete_object(Bucket=name, Key="k", VersionId=version)


def test_get_object_attributes(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"12345", ChecksumAlgorithm="SHA256")
    attrs = s3.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=["ETag", "ObjectSize", "Checksum",
                                                                              "StorageClass"])
    assert attrs["ObjectSize"] == 5
    assert attrs["ETag"] == hashlib.md5(b"12345").hexdigest()
    assert "ChecksumSHA256" in attrs["Checksum"]
    assert attrs["StorageClass"] == "STANDARD"


def test_virtual_host_addressing_with_localhost_subdomain(bucket, s3, endpoint):
    s3.put_object(Bucket=bucket, Key="v.txt", Body=b"virtual")
    port = endpoint.rsplit(":", 1)[1]
    r = httpx.get(f"http://127.0.0.1:{port}/v.txt", headers={"Host": f"{bucket}.s3.localhost.localstack.cloud:{port}",
                                                            **__import__("s3_support").auth()})
    assert r.status_code == 200 and r.content == b"virtual"
    r = httpx.get(f"http://127.0.0.1:{port}/v.txt", headers={"Host": f"{bucket}.localhost:{port}"})
    assert r.status_code == 200 and r.content == b"virtual"


def test_boto3_virtual_addressing_style(endpoint, unique_name, monkeypatch):
    import socket

    import boto3
    from botocore.config import Config

    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):  # no DNS here: *.localhost is loopback, as browsers and systemd have it
        return real("127.0.0.1" if str(host).endswith(".localhost") else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    port = endpoint.rsplit(":", 1)[1]
    s3v = boto3.client("s3", endpoint_url=f"http://localhost:{port}", region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test",
                       config=Config(s3={"addressing_style": "virtual"}, retries={"max_attempts": 0}))
    name = unique_name("vh")
    s3v.create_bucket(Bucket=name)
    s3v.put_object(Bucket=name, Key="x/y.txt", Body=b"hi")
    assert s3v.get_object(Bucket=name, Key="x/y.txt")["Body"].read() == b"hi"
    assert [o["Key"] for o in s3v.list_objects_v2(Bucket=name)["Contents"]] == ["x/y.txt"]


def test_small_and_large_bodies_starting_with_markup_are_returned_unchanged(s3, bucket):
    for key, body in (("small.html", b"<html>small</html>"), ("large.xml", b"<a>" + b"x" * 300_000 + b"</a>")):
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
