"""SSE-KMS: objects name a real KMS key of overcast's KMS, which must exist and be enabled to write
and to read (the S3 user guide's "Using server-side encryption with AWS KMS keys", and the answers
AWS recorded in LocalStack's AWS-validated snapshots)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from s3_support import error_of

pytest_plugins = ["s3_fixtures"]


def _failure(call, **kwargs) -> dict:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return error_of(info)


@pytest.fixture
def kms(client):
    return client("kms")


def test_put_and_get_with_a_customer_key(s3, bucket, kms):
    key = kms.create_key()["KeyMetadata"]
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"secret", ServerSideEncryption="aws:kms",
                        SSEKMSKeyId=key["KeyId"])
    assert (put["ServerSideEncryption"], put["SSEKMSKeyId"]) == ("aws:kms", key["Arn"])
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b"secret" and got["SSEKMSKeyId"] == key["Arn"]
    assert s3.head_object(Bucket=bucket, Key="k")["ServerSideEncryption"] == "aws:kms"
    # a disabled key can neither encrypt nor decrypt
    kms.disable_key(KeyId=key["KeyId"])
    for call, extra in ((s3.get_object, {}), (s3.put_object, {"Body": b"x", "ServerSideEncryption": "aws:kms",
                                                              "SSEKMSKeyId": key["KeyId"]})):
        error = _failure(call, Bucket=bucket, Key="k", **extra)
        assert error == {"Code": "KMS.DisabledException", "Message": f"{key['Arn']} is disabled.", "Status": 400}
    assert s3.head_object(Bucket=bucket, Key="k")["SSEKMSKeyId"] == key["Arn"]
    kms.enable_key(KeyId=key["KeyId"])
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    error = _failure(s3.get_object, Bucket=bucket, Key="k")
    assert (error["Code"], error["Message"]) == ("KMS.KMSInvalidStateException", f"{key['Arn']} is pending deletion.")


def test_keys_that_do_not_exist(s3, bucket):
    for call, extra in ((s3.put_object, {"Body": b"x"}), (s3.create_multipart_upload, {})):
        error = _failure(call, Bucket=bucket, Key="k", ServerSideEncryption="aws:kms", SSEKMSKeyId="fake-key-id",
                         **extra)
        assert error == {"Code": "KMS.NotFoundException", "Message": "Invalid keyId 'fake-key-id'", "Status": 400}
    missing = "arn:aws:kms:us-east-1:000000000000:key/134f2428-cec1-4b25-a1ae-9048164dba47"
    error = _failure(s3.put_object, Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="aws:kms",
                     SSEKMSKeyId=missing)
    assert error["Message"] == f"Key '{missing}' does not exist"
    other_region = "arn:aws:kms:us-west-2:000000000000:key/134f2428-cec1-4b25-a1ae-9048164dba47"
    error = _failure(s3.put_object, Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="aws:kms",
                     SSEKMSKeyId=other_region)
    assert (error["Code"], error["Message"]) == ("KMS.NotFoundException", "Invalid arn us-west-2")


def test_s3s_managed_key_and_the_bucket_default(s3, bucket, kms):
    put = s3.put_object(Bucket=bucket, Key="managed", Body=b"x", ServerSideEncryption="aws:kms")
    managed = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
    assert put["SSEKMSKeyId"] == managed["Arn"] and managed["KeyManager"] == "AWS"
    assert managed["Description"] == "Default key that protects my S3 objects when no other key is defined"
    key = kms.create_key()["KeyMetadata"]
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["KeyId"]},
        "BucketKeyEnabled": True}]})
    put = s3.put_object(Bucket=bucket, Key="default", Body=b"x")
    assert (put["ServerSideEncryption"], put["SSEKMSKeyId"], put["BucketKeyEnabled"]) == ("aws:kms", key["Arn"], True)
    # a copy and a multipart upload are encrypted as the destination says
    copy = s3.copy_object(Bucket=bucket, Key="copy", CopySource=f"{bucket}/managed")
    assert copy["SSEKMSKeyId"] == key["Arn"]
    copy = s3.copy_object(Bucket=bucket, Key="plain", CopySource=f"{bucket}/managed", ServerSideEncryption="AES256")
    assert copy["ServerSideEncryption"] == "AES256" and "SSEKMSKeyId" not in copy
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mpu")
    assert upload["SSEKMSKeyId"] == key["Arn"]
    part = s3.upload_part(Bucket=bucket, Key="mpu", UploadId=upload["UploadId"], PartNumber=1, Body=b"p")
    assert part["SSEKMSKeyId"] == key["Arn"]
    done = s3.complete_multipart_upload(Bucket=bucket, Key="mpu", UploadId=upload["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert (done["ServerSideEncryption"], done["SSEKMSKeyId"]) == ("aws:kms", key["Arn"])
    # the default CRC64NVME is kept and read, but the completion does not name it (AWS's recorded answers)
    assert "ChecksumCRC64NVME" not in done and "ChecksumType" not in done
    got = s3.get_object(Bucket=bucket, Key="mpu", ChecksumMode="ENABLED")
    assert got["SSEKMSKeyId"] == key["Arn"] and got["ChecksumType"] == "FULL_OBJECT" and got["ChecksumCRC64NVME"]


def test_a_copy_onto_itself_that_changes_the_encryption_is_allowed(s3, bucket, kms):
    key = kms.create_key()["KeyMetadata"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key["KeyId"])
    # no settings: the bucket's default (AES256) differs from the source's SSE-KMS
    copied = s3.copy_object(Bucket=bucket, Key="k", CopySource=f"{bucket}/k")
    assert copied["ServerSideEncryption"] == "AES256" and "SSEKMSKeyId" not in copied
    with pytest.raises(ClientError) as info:  # now the same encryption: nothing changes
        s3.copy_object(Bucket=bucket, Key="k", CopySource=f"{bucket}/k")
    assert error_of(info)["Code"] == "InvalidRequest"
