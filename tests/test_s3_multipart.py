"""S3 multipart uploads, and the transfers that use them (upload_file/download_file)."""

from __future__ import annotations

import hashlib
import os

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError
from s3_support import error_of

pytest_plugins = ["s3_fixtures"]

MiB = 1024 * 1024


def test_upload_file_and_download_file_use_multipart_above_threshold(s3, bucket, tmp_path):
    data = os.urandom(20 * MiB + 123)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    s3.upload_file(str(source), bucket, "big.bin", Config=TransferConfig(multipart_threshold=8 * MiB,
                                                                        multipart_chunksize=8 * MiB))
    head = s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].endswith('-3"')
    target = tmp_path / "back.bin"
    s3.download_file(bucket, "big.bin", str(target))
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(data).digest()


def test_multipart_etag_is_md5_of_part_md5s(s3, bucket):
    parts = [os.urandom(5 * MiB), b"tail"]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    etags = [s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=i, Body=p)["ETag"]
             for i, p in enumerate(parts, 1)]
    done = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": i, "ETag": e} for i, e in enumerate(etags, 1)]})
    expected = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    assert done["ETag"] == f'"{expected}-2"'
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"".join(parts)
    assert s3.get_object(Bucket=bucket, Key="mp", PartNumber=2)["Body"].read() == b"tail"


def test_small_non_last_part_is_entity_too_small(s3, bucket):
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"small")["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=2, Body=b"last")["ETag"]
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    err = error_of(e)
    assert (err["Code"], err["Message"]) == ("EntityTooSmall", "Your proposed upload is smaller than the minimum "
                                             "allowed size")  # AWS's recorded answer


def test_unknown_part_is_invalid_part(s3, bucket):
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]})
    assert error_of(e)["Code"] == "InvalidPart"


def test_parts_out_of_order_is_invalid_part_order(s3, bucket):
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"x" * (5 * MiB))["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=2, Body=b"y")["ETag"]
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={
            "Parts": [{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]})
    assert error_of(e)["Code"] == "InvalidPartOrder"


def test_complete_without_parts_is_invalid_request(s3, bucket):
    """boto3 sends no body for an empty part list: AWS answers InvalidRequest (its recorded answer)."""
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={"Parts": []})
    assert (error_of(e)["Code"], error_of(e)["Message"]) == ("InvalidRequest", "You must specify at least one part")


def test_abort_removes_upload_and_later_calls_are_no_such_upload(s3, bucket):
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"x")
    s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload)
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket=bucket, Key="mp", UploadId=upload)
    assert error_of(e)["Code"] == "NoSuchUpload"
    assert error_of(e)["Status"] == 404


def test_list_parts_and_list_multipart_uploads(s3, bucket):
    upload = s3.create_multipart_upload(Bucket=bucket, Key="a/mp")["UploadId"]
    for n in (1, 2, 3):
        s3.upload_part(Bucket=bucket, Key="a/mp", UploadId=upload, PartNumber=n, Body=b"p" * n)
    parts = s3.list_parts(Bucket=bucket, Key="a/mp", UploadId=upload, MaxParts=2)
    assert [p["PartNumber"] for p in parts["Parts"]] == [1, 2] and parts["IsTruncated"]
    assert [p["Size"] for p in parts["Parts"]] == [1, 2]
    rest = s3.list_parts(Bucket=bucket, Key="a/mp", UploadId=upload, PartNumberMarker=parts["NextPartNumberMarker"])
    assert [p["PartNumber"] for p in rest["Parts"]] == [3]
    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("a/mp", upload)]


def test_upload_part_copy_copies_a_range(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"0123456789" * 600_000)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    part = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=upload, PartNumber=1,
                               CopySource=f"{bucket}/src", CopySourceRange="bytes=0-5242879")
    last = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=upload, PartNumber=2,
                               CopySource={"Bucket": bucket, "Key": "src"}, CopySourceRange="bytes=0-9")
    s3.complete_multipart_upload(Bucket=bucket, Key="dst", UploadId=upload, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]},
        {"PartNumber": 2, "ETag": last["CopyPartResult"]["ETag"]}]})
    body = s3.get_object(Bucket=bucket, Key="dst")["Body"].read()
    assert len(body) == 5 * MiB + 10 and body[-10:] == b"0123456789"


def test_multipart_with_composite_checksum(s3, bucket):
    upload = s3.create_multipart_upload(Bucket=bucket, Key="ck", ChecksumAlgorithm="SHA256")["UploadId"]
    p1 = s3.upload_part(Bucket=bucket, Key="ck", UploadId=upload, PartNumber=1, Body=b"a" * (5 * MiB),
                        ChecksumAlgorithm="SHA256")
    p2 = s3.upload_part(Bucket=bucket, Key="ck", UploadId=upload, PartNumber=2, Body=b"b", ChecksumAlgorithm="SHA256")
    done = s3.complete_multipart_upload(Bucket=bucket, Key="ck", UploadId=upload, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": p1["ETag"], "ChecksumSHA256": p1["ChecksumSHA256"]},
        {"PartNumber": 2, "ETag": p2["ETag"], "ChecksumSHA256": p2["ChecksumSHA256"]}]})
    assert done["ChecksumSHA256"].endswith("-2")
    assert done["ChecksumType"] == "COMPOSITE"


def test_part_number_out_of_range_is_invalid_argument(s3, bucket):
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=10001, Body=b"x")
    assert error_of(e)["Code"] == "InvalidArgument"


def test_empty_last_part_completes(s3, bucket):
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"")["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == b""
