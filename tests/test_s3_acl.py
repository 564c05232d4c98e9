"""S3 access control lists (the S3 user guide's "Access control list (ACL) overview" and "S3
Object Ownership"): a bucket created without ObjectOwnership has ACLs disabled and refuses any
ACL but the owner's full control; with ACLs enabled, canned ACLs, grant headers and ACL documents
are kept (the bucket's in its configuration, an object's per version) and answered as S3 expands
them; bad grants get AWS's errors; Block Public Access refuses public ACLs."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, WaiterError

pytest_plugins = ["s3_fixtures"]

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
EC2 = "6aa5a366c34c1cbe25dc49211496e913e0351eb0e8c37aa3477e40942ec6b97c"


def _error(call, **kwargs) -> dict:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return {**caught.value.response["Error"], "Status": caught.value.response["ResponseMetadata"]["HTTPStatusCode"]}


@pytest.fixture
def owner_id(s3):
    return s3.list_buckets()["Owner"]["ID"]


@pytest.fixture
def acl_bucket(s3, unique_name):
    """A bucket with ACLs enabled and no Block Public Access, as the user guide's steps make one."""
    name = unique_name("acl")
    s3.create_bucket(Bucket=name, ObjectOwnership="ObjectWriter")
    s3.delete_public_access_block(Bucket=name)
    return name


def _user(canonical_id, permission="FULL_CONTROL"):
    return {"Grantee": {"ID": canonical_id, "Type": "CanonicalUser"}, "Permission": permission}


def _group(uri, permission):
    return {"Grantee": {"Type": "Group", "URI": uri}, "Permission": permission}


def test_acls_disabled_by_default(s3, bucket, owner_id):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    for call, kwargs in ((s3.put_bucket_acl, {}), (s3.put_object_acl, {"Key": "k"}),
                         (s3.put_object, {"Key": "k2", "Body": b"x"}),
                         (s3.create_multipart_upload, {"Key": "k3"}),
                         (s3.copy_object, {"Key": "k4", "CopySource": f"{bucket}/k"})):
        error = _error(call, Bucket=bucket, ACL="public-read", **kwargs)
        assert (error["Code"], error["Message"], error["Status"]) == (
            "AccessControlListNotSupported", "The bucket does not allow ACLs", 400)
    error = _error(s3.put_object_acl, Bucket=bucket, Key="k", GrantRead=f'uri="{LOG_DELIVERY}"')
    assert error["Code"] == "AccessControlListNotSupported"
    # the bucket owner's full control, in any of its forms, is accepted
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    s3.put_object(Bucket=bucket, Key="k5", Body=b"x", ACL="bucket-owner-full-control")
    s3.put_object_acl(Bucket=bucket, Key="k", GrantFullControl=f'id="{owner_id}"')
    private = {"Owner": {"ID": owner_id}, "Grants": [_user(owner_id)]}
    for acl in (s3.get_bucket_acl(Bucket=bucket), s3.get_object_acl(Bucket=bucket, Key="k"),
                s3.get_object_acl(Bucket=bucket, Key="k5")):
        assert {k: acl[k] for k in ("Owner", "Grants")} == private
    assert "k2" not in [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


@pytest.mark.parametrize("canned, extra", [
    ("private", []),
    ("public-read", [_group(ALL_USERS, "READ")]),
    ("public-read-write", [_group(ALL_USERS, "READ"), _group(ALL_USERS, "WRITE")]),
    ("authenticated-read", [_group(AUTHENTICATED, "READ")]),
    ("aws-exec-read", [_user(EC2, "READ")]),
    ("log-delivery-write", [_group(LOG_DELIVERY, "WRITE"), _group(LOG_DELIVERY, "READ_ACP")]),
    ("bucket-owner-read", []),
    ("bucket-owner-full-control", []),
])
def test_canned_acls_expand_as_s3_does(s3, acl_bucket, owner_id, canned, extra):
    expected = [_user(owner_id), *extra]
    s3.put_object(Bucket=acl_bucket, Key="k", Body=b"x", ACL=canned)
    assert s3.get_object_acl(Bucket=acl_bucket, Key="k")["Grants"] == expected
    s3.put_object_acl(Bucket=acl_bucket, Key="k", ACL=canned)
    assert s3.get_object_acl(Bucket=acl_bucket, Key="k")["Grants"] == expected
    s3.put_bucket_acl(Bucket=acl_bucket, ACL=canned)
    assert s3.get_bucket_acl(Bucket=acl_bucket)["Grants"] == expected


def test_grant_headers_and_documents_are_kept(s3, acl_bucket, owner_id):
    s3.put_bucket_acl(Bucket=acl_bucket, GrantRead=f'uri="{LOG_DELIVERY}", id="{owner_id}"',
                      GrantWriteACP=f'uri="{ALL_USERS}"')
    assert s3.get_bucket_acl(Bucket=acl_bucket)["Grants"] == [
        _group(LOG_DELIVERY, "READ"), _user(owner_id, "READ"), _group(ALL_USERS, "WRITE_ACP")]
    policy = {"Owner": {"ID": owner_id}, "Grants": [_user(owner_id), _group(LOG_DELIVERY, "WRITE")]}
    s3.put_bucket_acl(Bucket=acl_bucket, AccessControlPolicy=policy)
    assert s3.get_bucket_acl(Bucket=acl_bucket)["Grants"] == policy["Grants"]
    s3.put_object(Bucket=acl_bucket, Key="k", Body=b"x")
    s3.put_object_acl(Bucket=acl_bucket, Key="k", AccessControlPolicy=policy)
    assert s3.get_object_acl(Bucket=acl_bucket, Key="k")["Grants"] == policy["Grants"]


def test_object_acls_belong_to_their_version(s3, acl_bucket, owner_id):
    s3.put_bucket_versioning(Bucket=acl_bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=acl_bucket, Key="k", Body=b"1", ACL="public-read")["VersionId"]
    s3.put_object(Bucket=acl_bucket, Key="k", Body=b"2")
    assert s3.get_object_acl(Bucket=acl_bucket, Key="k")["Grants"] == [_user(owner_id)]
    assert s3.get_object_acl(Bucket=acl_bucket, Key="k", VersionId=first)["Grants"] == [
        _user(owner_id), _group(ALL_USERS, "READ")]


def test_writes_carry_their_acl_and_copies_do_not_inherit(s3, acl_bucket, owner_id):
    s3.put_object(Bucket=acl_bucket, Key="src", Body=b"x", ACL="public-read")
    s3.copy_object(Bucket=acl_bucket, Key="copy", CopySource=f"{acl_bucket}/src")
    assert s3.get_object_acl(Bucket=acl_bucket, Key="copy")["Grants"] == [_user(owner_id)]
    s3.copy_object(Bucket=acl_bucket, Key="copy2", CopySource=f"{acl_bucket}/src", ACL="authenticated-read")
    assert s3.get_object_acl(Bucket=acl_bucket, Key="copy2")["Grants"][1] == _group(AUTHENTICATED, "READ")
    upload = s3.create_multipart_upload(Bucket=acl_bucket, Key="mp", ACL="public-read-write")["UploadId"]
    etag = s3.upload_part(Bucket=acl_bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"x")["ETag"]
    s3.complete_multipart_upload(Bucket=acl_bucket, Key="mp", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert s3.get_object_acl(Bucket=acl_bucket, Key="mp")["Grants"][1:] == [
        _group(ALL_USERS, "READ"), _group(ALL_USERS, "WRITE")]


def test_bad_acls_get_aws_errors(s3, bucket, owner_id):
    """Checked before Object Ownership (AWS's recorded answers on a bucket with ACLs disabled)."""
    def code(**kwargs):
        error = _error(s3.put_bucket_acl, Bucket=bucket, **kwargs)
        return error["Code"], error.get("Message"), error.get("ArgumentName"), error.get("ArgumentValue")

    assert code(ACL="fake-acl") == ("InvalidArgument", None, "x-amz-acl", "fake-acl")  # an empty Message
    assert code(AccessControlPolicy={})[0] == "MalformedACLError"
    assert code()[0] == "MissingSecurityHeader"
    assert code(GrantWrite='uri="http://acs.amazonaws.com/groups/s3/FakeGroup"')[:3] == (
        "InvalidArgument", "Invalid group uri", "uri")
    assert code(GrantWrite='fakekey="1234"') == (
        "InvalidArgument", "Argument format not recognized", "x-amz-grant-write", 'fakekey="1234"')
    assert code(GrantWrite='id="wrong-id"') == ("InvalidArgument", "Invalid id", "id", "wrong-id")
    assert code(GrantRead='emailAddress="someone@example.com"')[0] == "UnresolvableGrantByEmailAddress"
    assert code(ACL="private", GrantRead=f'uri="{LOG_DELIVERY}"')[:2] == (
        "InvalidRequest", "Specifying both Canned ACLs and Header Grants is not allowed")
    assert code(AccessControlPolicy={"Grants": [_group(LOG_DELIVERY, "WRITE")]})[0] == "MalformedACLError"
    assert code(AccessControlPolicy={"Owner": {"ID": "wrong-id"}, "Grants": []})[:3] == (
        "InvalidArgument", "Invalid id", "CanonicalUser/ID")
    assert code(AccessControlPolicy={"Owner": {"ID": owner_id}, "Grants": [
        _group("http://acs.amazonaws.com/groups/s3/FakeGroup", "READ")]})[:3] == (
        "InvalidArgument", "Invalid group uri", "Group/URI")
    assert code(ACL="private", AccessControlPolicy={"Owner": {"ID": owner_id}, "Grants": [_user(owner_id)]})[0] \
        == "UnexpectedContent"
    assert _error(s3.put_object, Bucket=bucket, Key="k", Body=b"x", ACL="fake-acl")["Code"] == "InvalidArgument"


def test_block_public_acls_refuses_public_acls(s3, unique_name, owner_id):
    name = unique_name("bpa")
    s3.create_bucket(Bucket=name, ObjectOwnership="BucketOwnerPreferred")  # Block Public Access on by default
    error = _error(s3.put_bucket_acl, Bucket=name, ACL="public-read")
    assert (error["Code"], error["Status"]) == ("AccessDenied", 403)
    assert _error(s3.put_object, Bucket=name, Key="k", Body=b"x", ACL="authenticated-read")["Code"] == "AccessDenied"
    s3.put_bucket_acl(Bucket=name, GrantRead=f'uri="{LOG_DELIVERY}"')  # not public
    assert s3.get_bucket_acl(Bucket=name)["Grants"] == [_group(LOG_DELIVERY, "READ")]
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={"BlockPublicAcls": False})
    s3.put_bucket_acl(Bucket=name, ACL="public-read")
    assert s3.get_bucket_acl(Bucket=name)["Grants"][1] == _group(ALL_USERS, "READ")


def test_ownership_enforced_needs_an_owner_only_bucket_acl(s3, acl_bucket, owner_id, unique_name):
    enforced = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    s3.put_bucket_acl(Bucket=acl_bucket, ACL="public-read")
    error = _error(s3.put_bucket_ownership_controls, Bucket=acl_bucket, OwnershipControls=enforced)
    assert (error["Code"], error["Status"]) == ("InvalidBucketAclWithObjectOwnership", 400)
    s3.put_bucket_acl(Bucket=acl_bucket, ACL="private")
    s3.put_bucket_ownership_controls(Bucket=acl_bucket, OwnershipControls=enforced)
    assert _error(s3.put_bucket_acl, Bucket=acl_bucket, ACL="public-read")["Code"] == "AccessControlListNotSupported"
    error = _error(s3.create_bucket, Bucket=unique_name("cb"), ACL="public-read")
    assert error["Code"] == "InvalidBucketAclWithObjectOwnership"
    name = unique_name("cb")
    s3.create_bucket(Bucket=name, ACL="public-read", ObjectOwnership="ObjectWriter")
    assert s3.get_bucket_acl(Bucket=name)["Grants"][1] == _group(ALL_USERS, "READ")


def test_object_acl_put_is_an_event(s3, acl_bucket, owner_id):
    """PutObjectAcl answers nothing of its own; the ACL it set is what GetObjectAcl answers after a
    restart-free re-read of the stored version (kept in SQL with the version's row)."""
    s3.put_object(Bucket=acl_bucket, Key="k", Body=b"x")
    assert "VersionId" not in s3.put_object_acl(Bucket=acl_bucket, Key="k", ACL="public-read")
    assert s3.get_object_acl(Bucket=acl_bucket, Key="k")["Grants"][1] == _group(ALL_USERS, "READ")
    assert _error(s3.put_object_acl, Bucket=acl_bucket, Key="missing", ACL="private")["Code"] == "NoSuchKey"


# -- enforcement: with signatures verified, an ACL grant admits callers no bucket policy admits --

KEY, SECRET = "AKIDOVERCASTACL1", "acl-secret"
OTHER_KEY, OTHER_SECRET = "333344445555", "other-secret"


@pytest.fixture(scope="module")
def verifying():
    from tests.conftest import OvercastProcess

    server = OvercastProcess(env={"OVERCAST_VERIFY_SIGNATURES": "1",
                                  "OVERCAST_CREDENTIALS": f"{KEY}:{SECRET},{OTHER_KEY}:{OTHER_SECRET}"})
    yield server.endpoint
    server.stop()


def _signed(endpoint, key=KEY, secret=SECRET):
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 0}))


def test_public_read_acl_admits_anonymous_reads(verifying):
    import httpx

    s3 = _signed(verifying)
    s3.create_bucket(Bucket="acl-public", ObjectOwnership="ObjectWriter")
    s3.delete_public_access_block(Bucket="acl-public")
    s3.put_object(Bucket="acl-public", Key="open", Body=b"hello", ACL="public-read")
    s3.put_object(Bucket="acl-public", Key="closed", Body=b"secret")
    assert httpx.get(verifying + "/acl-public/open").content == b"hello"
    assert httpx.head(verifying + "/acl-public/open").status_code == 200
    assert httpx.get(verifying + "/acl-public/closed").status_code == 403
    assert httpx.get(verifying + "/acl-public?list-type=2").status_code == 403  # the bucket's ACL is private
    assert httpx.put(verifying + "/acl-public/new", content=b"x").status_code == 403
    s3.put_bucket_acl(Bucket="acl-public", ACL="public-read-write")
    assert b"<Key>open</Key>" in httpx.get(verifying + "/acl-public?list-type=2").content
    assert httpx.put(verifying + "/acl-public/new", content=b"x").status_code == 200
    # IgnorePublicAcls: the grants are kept but no longer count
    s3.put_public_access_block(Bucket="acl-public", PublicAccessBlockConfiguration={"IgnorePublicAcls": True})
    assert httpx.get(verifying + "/acl-public/open").status_code == 403
    assert s3.get_object_acl(Bucket="acl-public", Key="open")["Grants"][1]["Grantee"]["URI"] == ALL_USERS


def test_acl_grants_to_another_account_and_to_authenticated_users(verifying):
    s3, other = _signed(verifying), _signed(verifying, OTHER_KEY, OTHER_SECRET)
    s3.create_bucket(Bucket="acl-shared", ObjectOwnership="BucketOwnerPreferred")
    s3.put_object(Bucket="acl-shared", Key="k", Body=b"x")
    assert _error(other.get_object, Bucket="acl-shared", Key="k")["Code"] == "AccessDenied"
    other_id = other.list_buckets()["Owner"]["ID"]
    s3.put_object_acl(Bucket="acl-shared", Key="k", GrantRead=f'id="{other_id}"')
    assert other.get_object(Bucket="acl-shared", Key="k")["Body"].read() == b"x"
    s3.delete_public_access_block(Bucket="acl-shared")
    s3.put_object(Bucket="acl-shared", Key="k2", Body=b"y", ACL="authenticated-read")
    assert other.get_object(Bucket="acl-shared", Key="k2")["Body"].read() == b"y"
    s3.put_public_access_block(Bucket="acl-shared", PublicAccessBlockConfiguration={"IgnorePublicAcls": True})
    assert _error(other.get_object, Bucket="acl-shared", Key="k2")["Code"] == "AccessDenied"


def test_a_policy_deny_wins_over_an_acl_grant(verifying):
    import json

    import httpx

    s3 = _signed(verifying)
    s3.create_bucket(Bucket="acl-denied", ObjectOwnership="ObjectWriter")
    s3.delete_public_access_block(Bucket="acl-denied")
    s3.put_object(Bucket="acl-denied", Key="k", Body=b"x", ACL="public-read")
    s3.put_bucket_policy(Bucket="acl-denied", Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acl-denied/*"}]}))
    assert httpx.get(verifying + "/acl-denied/k").status_code == 403


def test_cloudformation_bucket_access_control(client, unique_name, owner_id):
    """AWS::S3::Bucket's AccessControl is the bucket's canned ACL, set after OwnershipControls and
    the public access block; with ACLs disabled (the default) a public one fails the stack."""
    cf, s3 = client("cloudformation"), client("s3")
    template = """
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      AccessControl: LogDeliveryWrite
      OwnershipControls: {Rules: [{ObjectOwnership: BucketOwnerPreferred}]}
Outputs:
  Bucket: {Value: !Ref Bucket}
"""
    name = unique_name("cfnacl")
    cf.create_stack(StackName=name, TemplateBody=template)
    cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    bucket = cf.describe_stacks(StackName=name)["Stacks"][0]["Outputs"][0]["OutputValue"]
    assert s3.get_bucket_acl(Bucket=bucket)["Grants"] == [
        _user(owner_id), _group(LOG_DELIVERY, "WRITE"), _group(LOG_DELIVERY, "READ_ACP")]
    refused = unique_name("cfnacl")
    cf.create_stack(StackName=refused, TemplateBody=template.replace(
        "      OwnershipControls: {Rules: [{ObjectOwnership: BucketOwnerPreferred}]}\n", ""))
    with pytest.raises(WaiterError):
        cf.get_waiter("stack_create_complete").wait(StackName=refused, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    reasons = [e.get("ResourceStatusReason") or "" for e in cf.describe_stack_events(StackName=refused)["StackEvents"]]
    assert "The bucket does not allow ACLs" in reasons
