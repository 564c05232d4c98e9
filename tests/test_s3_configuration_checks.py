"""S3's checks of bucket configurations and object lock arguments, each as AWS answers it (AWS's S3
API reference, and the answers AWS recorded in LocalStack's AWS-validated snapshots,
docs/conformance.md)."""

from __future__ import annotations

import datetime

import pytest
from botocore.exceptions import ClientError
from s3_support import error_of

pytest_plugins = ["s3_fixtures"]

MALFORMED = {"Code": "MalformedXML", "Message": "The XML you provided was not well-formed or did not validate "
             "against our published schema", "Status": 400}


def _failure(call, **kwargs) -> dict:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return error_of(info)


@pytest.fixture
def locked_bucket(s3, unique_name):
    name = unique_name("lock")
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def test_ownership_controls_and_public_access_block_can_be_deleted(s3, bucket):
    # the defaults a bucket is created with
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}]
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "ObjectWriter"}]
    s3.delete_bucket_ownership_controls(Bucket=bucket)
    error = _failure(s3.get_bucket_ownership_controls, Bucket=bucket)
    assert (error["Code"], error["Message"], error["Status"], error["BucketName"]) == (
        "OwnershipControlsNotFoundError", "The bucket ownership controls were not found", 404, bucket)
    s3.delete_bucket_ownership_controls(Bucket=bucket)  # idempotent
    # a flag left out of the configuration is off
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": True})
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": False}
    s3.delete_public_access_block(Bucket=bucket)
    error = _failure(s3.get_public_access_block, Bucket=bucket)
    assert (error["Code"], error["Message"], error["Status"]) == (
        "NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found", 404)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={"BlockPublicAcls": True})
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True


def test_ownership_controls_checks(s3, bucket, unique_name):
    for rules in ([{"ObjectOwnership": "BucketOwnerPreferred"}, {"ObjectOwnership": "ObjectWriter"}],
                  [{"ObjectOwnership": "RandomValue"}], []):
        assert _failure(s3.put_bucket_ownership_controls, Bucket=bucket,
                        OwnershipControls={"Rules": rules}) == MALFORMED
    for value in ("RandomValue", ""):
        error = _failure(s3.create_bucket, Bucket=unique_name("own"), ObjectOwnership=value)
        assert error == {"Code": "InvalidArgument", "Message": f"Invalid x-amz-object-ownership header: {value}",
                         "ArgumentName": "x-amz-object-ownership", "Status": 400}
    name = unique_name("own")
    s3.create_bucket(Bucket=name, ObjectOwnership="BucketOwnerPreferred")
    assert s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerPreferred"}]


def test_encryption_policy_and_accelerate_checks(s3, bucket, unique_name):
    for rules in ([], [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}},
                       {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]):
        assert _failure(s3.put_bucket_encryption, Bucket=bucket,
                        ServerSideEncryptionConfiguration={"Rules": rules}) == MALFORMED
    error = _failure(s3.put_bucket_encryption, Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256", "KMSMasterKeyID": "randomkeyid"}}]})
    assert error == {"Code": "InvalidArgument", "ArgumentName": "ApplyServerSideEncryptionByDefault", "Status": 400,
                     "Message": "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or "
                     "aws:kms:dsse"}
    error = _failure(s3.put_bucket_policy, Bucket=bucket, Policy="")
    assert (error["Code"], error["Message"]) == ("MalformedPolicy",
                                                 "Policies must be valid JSON and the first byte must be '{'")
    dotted = f"test.bucket.{unique_name('acc')}"
    s3.create_bucket(Bucket=dotted)
    error = _failure(s3.put_bucket_accelerate_configuration, Bucket=dotted, AccelerateConfiguration={"Status": "random"})
    assert (error["Code"], error["Message"]) == (
        "InvalidRequest", "S3 Transfer Acceleration is not supported for buckets with periods (.) in their names")
    assert _failure(s3.put_bucket_accelerate_configuration, Bucket=bucket,
                    AccelerateConfiguration={"Status": "random"}) == MALFORMED


def test_list_buckets_checks_the_region(s3, bucket):
    error = _failure(s3.list_buckets, BucketRegion="eu-east-1")
    assert error == {"Code": "InvalidArgument", "Message": "Argument value eu-east-1 is not a valid AWS Region",
                     "ArgumentName": "bucket-region", "Status": 400}
    assert bucket in [b["Name"] for b in s3.list_buckets(BucketRegion="us-east-1")["Buckets"]]


def test_lifecycle_rules_are_checked(s3, bucket):
    def put(rule):
        return _failure(s3.put_bucket_lifecycle_configuration, Bucket=bucket,
                        LifecycleConfiguration={"Rules": [{"ID": "r", "Status": "Enabled", **rule}]})

    assert put({"Expiration": {"Days": 7}}) == MALFORMED  # neither Filter nor Prefix
    assert put({"Expiration": {"Days": 7}, "Filter": {}, "NoncurrentVersionExpiration": {}}) == MALFORMED
    assert put({"Expiration": {"Days": 7}, "Filter": {"And": {"Prefix": "a"}, "Prefix": ""}}) == MALFORMED
    assert put({"Expiration": {"Days": 7}, "Filter": {"ObjectSizeGreaterThan": 500, "Prefix": ""}}) == MALFORMED
    assert put({"Filter": {}, "Expiration": {"Days": 1, "ExpiredObjectDeleteMarker": True}}) == MALFORMED
    error = put({"Filter": {}, "Expiration": {"Date": datetime.datetime(2023, 1, 1, 2, 2)}})
    assert (error["Code"], error["Message"], error["ArgumentName"]) == (
        "InvalidArgument", "'Date' must be at midnight GMT", "Date")
    error = put({"Filter": {"And": {"Tags": [{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}]}},
                 "Expiration": {"Days": 1}})
    assert (error["Code"], error["Message"]) == ("InvalidRequest", "Duplicate Tag Keys are not allowed.")
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "r", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 7}},
        {"ID": "d", "Status": "Enabled", "Filter": {}, "NoncurrentVersionExpiration": {"NoncurrentDays": 2},
         "Expiration": {"Date": datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)}}]})
    assert len(s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]) == 2


def test_object_lock_configuration_checks(s3, locked_bucket):
    retention = {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}
    for config in ({"Rule": retention}, {}, {"ObjectLockEnabled": "Enabled", "Rule": {}},
                   {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {}}},
                   {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE"}}},
                   {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "BAD", "Days": 1}}},
                   {"ObjectLockEnabled": "Enabled",
                    "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1, "Years": 1}}}):
        assert _failure(s3.put_object_lock_configuration, Bucket=locked_bucket,
                        ObjectLockConfiguration=config) == MALFORMED
    s3.put_object_lock_configuration(Bucket=locked_bucket,
                                     ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": retention})
    assert s3.get_object_lock_configuration(Bucket=locked_bucket)["ObjectLockConfiguration"]["Rule"] == retention


def test_object_lock_headers_on_writes(s3, locked_bucket):
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=10)
    both = "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied"
    error = _failure(s3.put_object, Bucket=locked_bucket, Key="k", Body=b"x", ObjectLockMode="BAD-VALUE")
    assert error == {"Code": "InvalidArgument", "Message": both, "Status": 400,
                     "ArgumentName": "x-amz-object-lock-retain-until-date"}
    error = _failure(s3.put_object, Bucket=locked_bucket, Key="k", Body=b"x", ObjectLockRetainUntilDate=later)
    assert error == {"Code": "InvalidArgument", "Message": both, "Status": 400, "ArgumentName": "x-amz-object-lock-mode"}
    for call, extra in ((s3.put_object, {"Body": b"x"}), (s3.create_multipart_upload, {})):
        error = _failure(call, Bucket=locked_bucket, Key="k", ObjectLockMode="BAD-VALUE",
                         ObjectLockRetainUntilDate=later, **extra)
        assert error == {"Code": "InvalidArgument", "Message": "Unknown wormMode directive.", "Status": 400,
                         "ArgumentName": "x-amz-object-lock-mode", "ArgumentValue": "BAD-VALUE"}
    s3.put_object(Bucket=locked_bucket, Key="k", Body=b"x", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=later)
    assert s3.get_object_retention(Bucket=locked_bucket, Key="k")["Retention"]["Mode"] == "GOVERNANCE"


def test_retention_in_the_past_and_legal_hold_without_document(s3, locked_bucket, bucket):
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=10)
    s3.put_object(Bucket=locked_bucket, Key="k", Body=b"x", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=later)
    # the date is refused before the object's own retention could refuse a shorter one
    error = _failure(s3.put_object_retention, Bucket=locked_bucket, Key="k",
                     Retention={"Mode": "GOVERNANCE", "RetainUntilDate": datetime.datetime(2020, 1, 1,
                                                                                          tzinfo=datetime.UTC)})
    assert error == {"Code": "InvalidArgument", "Message": "The retain until date must be in the future!",
                     "ArgumentName": "RetainUntilDate", "ArgumentValue": "Tue Dec 31 16:00:00 PST 2019", "Status": 400}
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    # no LegalHold document: MalformedXML, even where the bucket has no Object Lock
    assert _failure(s3.put_object_legal_hold, Bucket=bucket, Key="k") == MALFORMED
    error = _failure(s3.put_object_legal_hold, Bucket=bucket, Key="k", LegalHold={"Status": "ON"})
    assert (error["Code"], error["Message"]) == ("InvalidRequest", "Bucket is missing Object Lock Configuration")


def test_bypass_governance_needs_an_object_lock_bucket(s3, bucket, locked_bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    expected = {"Code": "InvalidArgument", "ArgumentName": "x-amz-bypass-governance-retention", "Status": 400,
                "Message": "x-amz-bypass-governance-retention is only applicable to Object Lock enabled buckets."}
    for bypass in (True, False):
        assert _failure(s3.delete_object, Bucket=bucket, Key="k", BypassGovernanceRetention=bypass) == expected
    assert _failure(s3.delete_objects, Bucket=bucket, Delete={"Objects": [{"Key": "k"}]},
                    BypassGovernanceRetention=True) == expected
    s3.delete_object(Bucket=bucket, Key="k")
    s3.put_object(Bucket=locked_bucket, Key="k", Body=b"x")
    s3.delete_object(Bucket=locked_bucket, Key="k", BypassGovernanceRetention=True)


def test_bucket_logging_targets(s3, client, bucket, unique_name):
    target = unique_name("logs")
    s3.create_bucket(Bucket=target)
    status = {"LoggingEnabled": {"TargetBucket": target, "TargetPrefix": "log"}}
    s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus=status)
    assert s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]["TargetBucket"] == target
    s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={})  # an empty status turns logging off
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=bucket)
    missing = unique_name("none")
    error = _failure(s3.put_bucket_logging, Bucket=bucket, BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": missing, "TargetPrefix": "log"}})
    assert error == {"Code": "InvalidTargetBucketForLogging", "Message": "The target bucket for logging does not exist",
                     "TargetBucket": missing, "Status": 400}
    west = unique_name("west")
    s3.create_bucket(Bucket=west, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    error = _failure(s3.put_bucket_logging, Bucket=bucket, BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": west, "TargetPrefix": "log"}})
    assert error == {"Code": "CrossLocationLoggingProhibitted", "Message": "Cross S3 location logging not allowed. ",
                     "TargetBucketLocation": "us-west-2", "Status": 403}
    west_s3 = client("s3", region="us-west-2")
    error = _failure(west_s3.put_bucket_logging, Bucket=west, BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": target, "TargetPrefix": "log"}})
    assert (error["SourceBucketLocation"], error["TargetBucketLocation"]) == ("us-west-2", "us-east-1")


def test_replication_needs_versioned_buckets(s3, bucket, unique_name):
    destination = unique_name("dst")
    s3.create_bucket(Bucket=destination)
    config = {"Role": "arn:aws:iam::000000000000:role/replication", "Rules": [
        {"Status": "Enabled", "Priority": 1, "DeleteMarkerReplication": {"Status": "Disabled"},
         "Filter": {"Prefix": "Tax"}, "Destination": {"Bucket": f"arn:aws:s3:::{destination}"}}]}
    error = _failure(s3.put_bucket_replication, Bucket=bucket, ReplicationConfiguration=config)
    assert (error["Code"], error["Message"]) == (
        "InvalidRequest", "Versioning must be 'Enabled' on the bucket to apply a replication configuration")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    error = _failure(s3.put_bucket_replication, Bucket=bucket, ReplicationConfiguration=config)
    assert (error["Code"], error["Message"]) == ("InvalidRequest", "Destination bucket must have versioning enabled.")
    assert _failure(s3.put_bucket_replication, Bucket=bucket,
                    ReplicationConfiguration={**config, "Rules": []}) == MALFORMED
    s3.put_bucket_versioning(Bucket=destination, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_replication(Bucket=bucket, ReplicationConfiguration=config)
    rule = s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]["Rules"][0]
    assert rule["ID"] and rule["Filter"] == {"Prefix": "Tax"}  # a rule without an ID is given one


def test_logging_target_grants_take_every_acl_permission(s3, bucket, unique_name):
    target = unique_name("logs")
    s3.create_bucket(Bucket=target)
    group = {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/s3/LogDelivery"}
    grants = [{"Grantee": group, "Permission": "WRITE"}, {"Grantee": group, "Permission": "READ_ACP"}]
    s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={"LoggingEnabled": {
        "TargetBucket": target, "TargetPrefix": "log", "TargetGrants": grants}})
    assert s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]["TargetGrants"] == grants
    grants[1]["Permission"] = "NOPE"
    with pytest.raises(ClientError) as info:
        s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={"LoggingEnabled": {
            "TargetBucket": target, "TargetPrefix": "log", "TargetGrants": grants}})
    assert error_of(info)["Code"] == "MalformedXML"
