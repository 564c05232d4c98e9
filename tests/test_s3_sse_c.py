"""SSE-C: objects written with a customer-provided key are read, copied and uploaded in parts only
with the same key (the S3 user guide's "Using server-side encryption with customer-provided keys",
and the answers AWS recorded in LocalStack's AWS-validated snapshots)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from botocore.exceptions import ClientError
from s3_support import error_of

pytest_plugins = ["s3_fixtures"]

KEY = b"1234567890abcdef1234567890abcdef"
OTHER = b"abcdef1234567890abcdef1234567890"


def _sse(key: bytes = KEY, prefix: str = "SSECustomer", algorithm: str = "AES256") -> dict:
    return {f"{prefix}Algorithm": algorithm, f"{prefix}Key": base64.b64encode(key).decode(),
            f"{prefix}KeyMD5": base64.b64encode(hashlib.md5(key).digest()).decode()}


def _failure(call, **kwargs) -> dict:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return error_of(info)


MD5 = base64.b64encode(hashlib.md5(KEY).digest()).decode()
NEEDS_KEY = {"Code": "InvalidRequest", "Status": 400, "Message": "The object was stored using a form of Server Side "
             "Encryption. The correct parameters must be provided to retrieve the object."}
WRONG_KEY = {"Code": "AccessDenied", "Status": 403, "Message": "Requests specifying Server Side Encryption with "
             "Customer provided keys must provide the correct secret key."}


def test_an_object_is_read_only_with_its_key(s3, bucket):
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"test_data", **_sse())
    assert (put["SSECustomerAlgorithm"], put["SSECustomerKeyMD5"]) == ("AES256", MD5)
    assert "ServerSideEncryption" not in put
    got = s3.get_object(Bucket=bucket, Key="k", **_sse())
    assert got["Body"].read() == b"test_data"
    assert (got["SSECustomerAlgorithm"], got["SSECustomerKeyMD5"]) == ("AES256", MD5)
    assert "ServerSideEncryption" not in got
    assert s3.head_object(Bucket=bucket, Key="k", **_sse())["ContentLength"] == 9
    attributes = s3.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=["ObjectSize"], **_sse())
    assert attributes["ObjectSize"] == 9
    assert _failure(s3.get_object, Bucket=bucket, Key="k") == NEEDS_KEY
    assert _failure(s3.get_object, Bucket=bucket, Key="k", **_sse(OTHER)) == WRONG_KEY
    assert _failure(s3.get_object_attributes, Bucket=bucket, Key="k", ObjectAttributes=["ETag"]) == NEEDS_KEY
    assert _failure(s3.get_object, Bucket=bucket, Key="k", **_sse(algorithm="KMS")) == {
        "Code": "InvalidEncryptionAlgorithmError", "Status": 400, "ArgumentName": "x-amz-server-side-encryption",
        "ArgumentValue": "KMS", "Message": "The Encryption request you specified is not valid. Supported value: AES256."}
    # HEAD answers the status alone
    with pytest.raises(ClientError) as info:
        s3.head_object(Bucket=bucket, Key="k", **_sse(OTHER))
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # botocore computes the MD5 itself when none is given, over the key as sent: a different key
    given = _sse()
    del given["SSECustomerKeyMD5"]
    assert _failure(s3.get_object, Bucket=bucket, Key="k", **given) == WRONG_KEY
    s3.delete_object(Bucket=bucket, Key="k")  # deleting needs no key


def test_a_key_given_for_an_object_without_one_is_refused(s3, bucket):
    s3.put_object(Bucket=bucket, Key="plain", Body=b"x")
    error = _failure(s3.get_object, Bucket=bucket, Key="plain", **_sse())
    assert error == {"Code": "InvalidRequest", "Status": 400,
                     "Message": "The encryption parameters are not applicable to this object."}


def test_write_validation(s3, bucket):
    def put(**kwargs):
        return _failure(s3.put_object, Bucket=bucket, Key="k", Body=b"x", **kwargs)

    argument = {"ArgumentName": "x-amz-server-side-encryption", "Status": 400}
    assert put(ServerSideEncryption="AES256", **_sse(algorithm="KMS")) == {
        **argument, "Code": "InvalidArgument", "ArgumentValue": "AES256",
        "Message": "Server Side Encryption with Customer provided key is incompatible with the encryption method "
                   "specified"}
    assert put(**_sse(algorithm="KMS"))["Code"] == "InvalidEncryptionAlgorithmError"
    no_algorithm = _sse()
    del no_algorithm["SSECustomerAlgorithm"]
    assert put(**no_algorithm) == {**argument, "Code": "InvalidArgument", "Message": "Requests specifying Server "
                                   "Side Encryption with Customer provided keys must provide a valid encryption "
                                   "algorithm."}
    assert put(SSECustomerAlgorithm="AES256", SSECustomerKeyMD5=MD5)["Message"] == (
        "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.")
    assert put(**_sse(KEY[:10])) == {**argument, "Code": "InvalidArgument",
                                     "Message": "The secret key was invalid for the specified algorithm."}
    bad_md5 = {**_sse(), "SSECustomerKeyMD5": ("a" if MD5[0] != "a" else "b") + MD5[1:]}
    assert put(**bad_md5)["Message"] == "The calculated MD5 hash of the key did not match the hash that was provided."
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="k")  # nothing was stored


def test_versions_keep_their_own_keys(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"version1", **_sse())["VersionId"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"version2", **_sse(OTHER))
    assert s3.get_object(Bucket=bucket, Key="k", **_sse(OTHER))["Body"].read() == b"version2"
    assert _failure(s3.get_object, Bucket=bucket, Key="k", **_sse()) == WRONG_KEY
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=first, **_sse())["Body"].read() == b"version1"


def test_copies_read_the_source_with_its_key(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"test_data", **_sse())
    source = f"{bucket}/src"
    error = _failure(s3.copy_object, Bucket=bucket, Key="dst", CopySource=source, **_sse())
    assert error == NEEDS_KEY
    plain = s3.copy_object(Bucket=bucket, Key="dst", CopySource=source, **_sse(prefix="CopySourceSSECustomer"))
    assert plain["ServerSideEncryption"] == "AES256" and "SSECustomerKeyMD5" not in plain
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"test_data"
    copied = s3.copy_object(Bucket=bucket, Key="dst", CopySource=source,
                            **_sse(prefix="CopySourceSSECustomer"), **_sse(OTHER))
    assert copied["SSECustomerAlgorithm"] == "AES256" and "ServerSideEncryption" not in copied
    assert _failure(s3.get_object, Bucket=bucket, Key="dst") == NEEDS_KEY
    assert s3.get_object(Bucket=bucket, Key="dst", **_sse(OTHER))["Body"].read() == b"test_data"
    error = _failure(s3.copy_object, Bucket=bucket, Key="dst", CopySource=source, ServerSideEncryption="AES256",
                     **_sse(prefix="CopySourceSSECustomer"), **_sse())
    assert (error["Code"], error["ArgumentValue"]) == ("InvalidArgument", "AES256")


def test_multipart_parts_need_the_upload_key(s3, bucket):
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k", **_sse())
    assert upload["SSECustomerKeyMD5"] == MD5
    upload_id = upload["UploadId"]
    missing = ("The multipart upload initiate requested encryption. Subsequent part requests must include the "
               "appropriate encryption parameters.")
    error = _failure(s3.upload_part, Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"x")
    assert (error["Code"], error["Message"]) == ("InvalidRequest", missing)
    error = _failure(s3.upload_part, Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"x",
                     **_sse(OTHER))
    assert error["Message"] == "The provided encryption parameters did not match the ones used originally."
    part = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"abc", **_sse())
    assert part["SSECustomerKeyMD5"] == MD5
    done = s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    # no default CRC64NVME for an SSE-C upload, and no encryption named (AWS's recorded answers)
    assert not {"ChecksumCRC64NVME", "SSECustomerAlgorithm", "ServerSideEncryption"} & set(done)
    assert _failure(s3.get_object, Bucket=bucket, Key="k") == NEEDS_KEY
    assert s3.get_object(Bucket=bucket, Key="k", **_sse())["Body"].read() == b"abc"
    # an upload without a key takes no part with one
    other = s3.create_multipart_upload(Bucket=bucket, Key="p")["UploadId"]
    error = _failure(s3.upload_part, Bucket=bucket, Key="p", UploadId=other, PartNumber=1, Body=b"x", **_sse())
    assert error["Message"] == missing
