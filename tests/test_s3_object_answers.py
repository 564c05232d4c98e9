"""Objects' copies, parts, digests and metadata as S3 answers them (AWS's S3 API reference, and the
answers AWS recorded in LocalStack's AWS-validated snapshots, docs/conformance.md)."""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest
from botocore.exceptions import ClientError
from s3_support import error_of, raw

pytest_plugins = ["s3_fixtures"]

SAME = ("This copy request is illegal because it is trying to copy an object to itself without changing the "
        "object's metadata, storage class, website redirect location or encryption attributes.")


def _failure(call, **kwargs) -> dict:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return error_of(info)


def test_copy_source_plus_is_a_space_and_a_bad_source_is_named(s3, bucket, endpoint):
    s3.put_object(Bucket=bucket, Key="a b", Body=b"x")
    r = raw(endpoint, "PUT", f"/{bucket}/copy", headers={"x-amz-copy-source": f"{bucket}%2Fa+b"})
    assert r.status_code == 200, r.text
    assert s3.get_object(Bucket=bucket, Key="copy")["Body"].read() == b"x"
    error = _failure(s3.copy_object, Bucket=bucket, Key="k", CopySource="wrongformat")
    assert error == {"Code": "InvalidArgument", "Message": "Invalid copy source object key", "Status": 400,
                     "ArgumentName": "x-amz-copy-source", "ArgumentValue": "x-amz-copy-source"}


def test_copy_in_place_rules(s3, bucket, unique_name):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    # versioned or not, a copy onto itself must change something
    error = _failure(s3.copy_object, Bucket=bucket, Key="k", CopySource=f"{bucket}/k")
    assert (error["Code"], error["Message"]) == ("InvalidRequest", SAME)
    copied = s3.copy_object(Bucket=bucket, Key="k", CopySource=f"{bucket}/k", MetadataDirective="REPLACE")
    assert copied["CopySourceVersionId"] == first and copied["VersionId"] != first
    # an older version copied over the current one is a restore, allowed
    s3.copy_object(Bucket=bucket, Key="k", CopySource=f"{bucket}/k?versionId={first}")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    s3.copy_object(Bucket=bucket, Key="k", CopySource=f"{bucket}/k", MetadataDirective="REPLACE")
    again = s3.copy_object(Bucket=bucket, Key="k", CopySource=f"{bucket}/k", MetadataDirective="REPLACE")
    assert again["VersionId"] == "null" and "CopySourceVersionId" not in again  # a null source version
    # a bucket with a default encryption configuration of its own may copy in place
    encrypted = unique_name("enc")
    s3.create_bucket(Bucket=encrypted)
    s3.put_object(Bucket=encrypted, Key="k", Body=b"")
    assert _failure(s3.copy_object, Bucket=encrypted, Key="k", CopySource=f"{encrypted}/k")["Code"] == "InvalidRequest"
    s3.put_bucket_encryption(Bucket=encrypted, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}]})
    s3.copy_object(Bucket=encrypted, Key="k", CopySource=f"{encrypted}/k")


def test_a_copy_takes_the_requests_storage_class(s3, bucket):
    s3.put_object(Bucket=bucket, Key="ia", Body=b"x", StorageClass="STANDARD_IA")
    s3.copy_object(Bucket=bucket, Key="copy", CopySource=f"{bucket}/ia")
    assert s3.get_object_attributes(Bucket=bucket, Key="copy", ObjectAttributes=["StorageClass"])[
        "StorageClass"] == "STANDARD"
    error = _failure(s3.copy_object, Bucket=bucket, Key="ia", CopySource=f"{bucket}/ia")
    assert (error["Code"], error["Message"]) == ("InvalidRequest", SAME)
    s3.copy_object(Bucket=bucket, Key="ia", CopySource=f"{bucket}/ia", StorageClass="STANDARD_IA")


def test_bad_digest_names_the_expected_digest_as_s3_does(s3, bucket):
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    error = _failure(s3.put_object, Bucket=bucket, Key="k", Body=b"data", ContentMD5=wrong)
    assert (error["Code"], error["ExpectedDigest"]) == ("BadDigest", hashlib.md5(b"other").hexdigest())
    assert error["CalculatedDigest"] == base64.b64encode(hashlib.md5(b"data").digest()).decode()
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    error = _failure(s3.upload_part, Bucket=bucket, Key="k", UploadId=upload, PartNumber=1, Body=b"data",
                     ContentMD5=wrong)
    assert (error["Code"], error["ExpectedDigest"]) == ("BadDigest", wrong)


def test_part_reads(s3, bucket):
    s3.put_object(Bucket=bucket, Key="single", Body=b"test-123")
    part = s3.get_object(Bucket=bucket, Key="single", PartNumber=1, ChecksumMode="ENABLED")
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206 and part["ContentRange"] == "bytes 0-7/8"
    assert "PartsCount" not in part and part["ChecksumType"] == "FULL_OBJECT" and "ChecksumCRC32" in part
    error = _failure(s3.get_object, Bucket=bucket, Key="single", PartNumber=2)
    assert (error["Code"], error["Status"], error["ActualPartCount"]) == ("InvalidPartNumber", 416, "1")
    error = _failure(s3.get_object, Bucket=bucket, Key="single", PartNumber=1, Range="bytes=0-3")
    assert (error["Code"], error["Message"]) == ("InvalidRequest",
                                                 "Cannot specify both Range header and partNumber query parameter")


def test_listings_name_the_buckets_region(client, unique_name):
    s3 = client("s3", region="us-east-1")
    name = unique_name("west")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    for call in (s3.list_objects_v2, s3.list_objects, s3.head_bucket):
        assert call(Bucket=name)["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-west-2"


def test_rfc2047_encoded_metadata_is_kept_decoded(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Metadata={
        "b": "=?UTF-8?B?YWJj?=", "q": "=?UTF-8?Q?actually-ascii?=", "mostly": "=?UTF-8?Q?=C3=84M=C3=84Z S3?=",
        "replacement": "=?UTF-8?B?77+977+977+9?=", "plain": "as-is"})
    # answered decoded where HTTP carries it; encoded again, Q or B as S3 chooses, where it does not
    assert s3.head_object(Bucket=bucket, Key="k")["Metadata"] == {
        "b": "abc", "q": "actually-ascii", "mostly": "=?UTF-8?Q?=C3=84M=C3=84Z_S3?=",
        "replacement": "=?UTF-8?B?77+977+977+9?=", "plain": "as-is"}


def test_storage_classes(s3, bucket):
    for call, extra in ((s3.put_object, {"Body": b"x"}), (s3.create_multipart_upload, {})):
        error = _failure(call, Bucket=bucket, Key="k", StorageClass="OUTPOSTS", **extra)
        assert error == {"Code": "InvalidStorageClass", "Message": "The storage class you specified is not valid",
                         "StorageClassRequested": "OUTPOSTS", "Status": 400}
    for archived in ("GLACIER", "DEEP_ARCHIVE"):
        s3.put_object(Bucket=bucket, Key=archived, Body=b"x", StorageClass=archived)
        assert s3.head_object(Bucket=bucket, Key=archived)["StorageClass"] == archived
        error = _failure(s3.get_object, Bucket=bucket, Key=archived)
        assert error == {"Code": "InvalidObjectState", "Message": "The operation is not valid for the object's "
                         "storage class", "StorageClass": archived, "Status": 403}
    s3.put_object(Bucket=bucket, Key="ir", Body=b"x", StorageClass="GLACIER_IR")
    assert s3.get_object(Bucket=bucket, Key="ir")["Body"].read() == b"x"


def test_version_ids_look_like_s3s(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for _ in range(20):
        version = s3.put_object(Bucket=bucket, Key="k", Body=b"x")["VersionId"]
        assert len(version) == 32 and all(c.isascii() and (c.isalnum() or c in "._") for c in version)
        assert s3.get_object(Bucket=bucket, Key="k", VersionId=version)["VersionId"] == version


def test_tagging_answers(s3, bucket, endpoint):
    error = _failure(s3.get_object_tagging, Bucket=bucket, Key="fake-key")
    assert (error["Code"], error["Key"]) == ("NoSuchKey", f"{bucket}/fake-key")
    assert _failure(s3.delete_object_tagging, Bucket=bucket, Key="fake-key")["Key"] == "fake-key"
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="a=1")
    # a Tagging document without a TagSet clears the tags
    r = raw(endpoint, "PUT", f"/{bucket}/k?tagging",
            content=b'<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/" />')
    assert r.status_code == 200, r.text
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []


def test_response_documents_as_s3_writes_them(s3, bucket, endpoint):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    listing = raw(endpoint, "GET", "/").text
    assert listing.index("<Owner>") < listing.index("<Buckets>")
    assert ".000Z</CreationDate>" in listing
    for query in ("", "?list-type=2", "?versions"):
        text = raw(endpoint, "GET", f"/{bucket}{query}").text
        assert text.index("<Name>") < text.index("<Contents>" if "versions" not in query else "<Version>")
    location = raw(endpoint, "GET", f"/{bucket}?location").text
    assert location.endswith('<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>')
    # a copy source given as a path-style URL
    r = raw(endpoint, "PUT", f"/{bucket}/copy", headers={"x-amz-copy-source": f"{endpoint}/{bucket}/k"})
    assert r.status_code == 200, r.text
    assert '<CopyObjectResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' in r.text
    assert ".000Z</LastModified>" in r.text
    # a 204 carries no Content-Length (RFC 9110)
    deleted = raw(endpoint, "DELETE", f"/{bucket}/copy")
    assert deleted.status_code == 204 and "content-length" not in deleted.headers


def test_notification_filter_rules_need_a_name_and_a_value(s3, bucket, client, unique_name):
    queue = client("sqs").create_queue(QueueName=unique_name("q"))["QueueUrl"]
    arn = client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for rule in ({"Name": "prefix"}, {"Value": "test"}):
        config = {"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
                                           "Filter": {"Key": {"FilterRules": [rule]}}}]}
        r = _failure(s3.put_bucket_notification_configuration, Bucket=bucket, NotificationConfiguration=config)
        assert r["Code"] == "MalformedXML"


def test_conditional_completion_after_another_write_is_a_conflict(s3, bucket):
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"test")["ETag"]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload, PartNumber=1, Body=b"test")
    parts = {"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]}
    second = s3.put_object(Bucket=bucket, Key="k", Body=b"test")["ETag"]  # the same content, written again
    assert first == second
    # the condition holds, but the key was written after the upload began: restart the upload
    error = _failure(s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=upload, MultipartUpload=parts,
                     IfMatch=second)
    assert error == {"Code": "ConditionalRequestConflict", "Condition": "If-Match", "Key": "k", "Status": 409,
                     "Message": "The conditional request cannot succeed due to a conflicting operation against this "
                     "resource."}
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload, PartNumber=1, Body=b"test")
    s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload, IfMatch=second,
                                 MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]})
    # a condition that fails is answered first
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"other")
    error = _failure(s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=upload, MultipartUpload=parts,
                     IfMatch=first)
    assert (error["Code"], error["Status"]) == ("PreconditionFailed", 412)


def test_copy_source_if_unmodified_since_is_checked_before_if_none_match(s3, bucket):
    import datetime

    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"x")["ETag"]
    error = _failure(s3.copy_object, Bucket=bucket, Key="copy", CopySource=f"{bucket}/k",
                     CopySourceIfUnmodifiedSince=datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC),
                     CopySourceIfNoneMatch=etag)
    assert (error["Code"], error["Condition"]) == ("PreconditionFailed", "x-amz-copy-source-If-Unmodified-Since")


def test_version_ids_named_in_deletes_and_reads(s3, bucket, unique_name, endpoint):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    # a bucket never versioned has only the null version
    error = _failure(s3.delete_object, Bucket=bucket, Key="k", VersionId="HPniJFCxqTsMuIH9KX8K8wEjNUgmABCD")
    assert (error["Code"], error["ArgumentName"]) == ("InvalidArgument", "versionId")
    versioned = unique_name("v")
    s3.create_bucket(Bucket=versioned)
    s3.put_bucket_versioning(Bucket=versioned, VersioningConfiguration={"Status": "Enabled"})
    version = s3.put_object(Bucket=versioned, Key="k", Body=b"x")["VersionId"]
    s3.delete_object(Bucket=versioned, Key="k", VersionId=version)
    # an id that was ours and is gone: deleting it again succeeds, reading it is NoSuchVersion
    assert s3.delete_object(Bucket=versioned, Key="k", VersionId=version)["VersionId"] == version
    assert _failure(s3.get_object, Bucket=versioned, Key="k", VersionId=version)["Code"] == "NoSuchVersion"
    # an id S3 never made is malformed
    error = _failure(s3.delete_object, Bucket=versioned, Key="k", VersionId=version[:-4] + "ABCD")
    assert (error["Code"], error["Message"]) == ("InvalidArgument", "Invalid version id specified")
    # a delete marker read by its version id: 405, allowing only DELETE
    marker = s3.delete_object(Bucket=versioned, Key="m")["VersionId"]
    r = raw(endpoint, "GET", f"/{versioned}/m?versionId={marker}")
    assert r.status_code == 405 and r.headers["allow"] == "DELETE" and r.headers["x-amz-delete-marker"] == "true"


def test_no_expiration_header_for_a_named_version(s3, bucket):
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "r", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 3}}]})
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert "Expiration" in s3.head_object(Bucket=bucket, Key="k")
    assert "Expiration" not in s3.head_object(Bucket=bucket, Key="k", VersionId="null")


def test_presigned_urls_carry_conditional_headers_in_their_query(s3, bucket):
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "k"})
    first = httpx.put(url + "&if-none-match=%2A", content=b"x")
    assert first.status_code == 200
    again = httpx.put(url + "&if-none-match=%2A", content=b"y")
    assert again.status_code == 412 and "<Condition>If-None-Match</Condition>" in again.text
    assert httpx.put(url + "&if-match=%22nope%22", content=b"z").status_code == 412


def _composite_upload(s3, bucket, key, algorithm):
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm=algorithm)["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"part data",
                          ChecksumAlgorithm=algorithm)
    return upload, part


def test_a_copy_of_a_composite_object_keeps_its_algorithm(s3, bucket):
    import hashlib as _hashlib

    upload, part = _composite_upload(s3, bucket, "k", "SHA256")
    s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": part["ETag"], "ChecksumSHA256": part["ChecksumSHA256"]}]})
    copied = s3.copy_object(Bucket=bucket, Key="copy", CopySource=f"{bucket}/k")["CopyObjectResult"]
    assert copied["ChecksumSHA256"] == base64.b64encode(_hashlib.sha256(b"part data").digest()).decode()
    assert "ChecksumCRC64NVME" not in copied


def test_a_part_checksum_of_another_algorithm_is_bad_digest(s3, bucket):
    upload, part = _composite_upload(s3, bucket, "k", "CRC32")
    error = _failure(s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": part["ETag"], "ChecksumSHA256": "a" * 43 + "="}]})
    assert (error["Code"], error["Message"]) == ("BadDigest",
                                                 "The sha256 you specified for part 1 did not match what we received.")


def test_sigv2_presigned_urls_carry_metadata_in_their_query(s3, bucket):
    # boto3's SigV2 presigning moves x-amz-* headers into the query string
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "k", "Metadata": {"foo": "bar"}})
    assert "x-amz-meta-foo=bar" in url
    assert httpx.put(url, content=b"content").status_code == 200
    assert s3.head_object(Bucket=bucket, Key="k")["Metadata"] == {"foo": "bar"}


def test_the_first_bad_response_override_in_query_order_is_named(s3, bucket, endpoint):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    error = _failure(s3.get_object, Bucket=bucket, Key="k", ResponseContentDisposition="a\u2014b",
                     ResponseCacheControl="c\u2014d")
    assert (error["Code"], error["ArgumentName"]) == ("InvalidArgument", "response-cache-control")
