"""S3 buckets: creation rules, listing, configurations."""

from __future__ import annotations

import datetime
import json
import time

import pytest
from botocore.exceptions import ClientError
from s3_support import error_of, raw

pytest_plugins = ["s3_fixtures"]


def test_create_bucket_in_us_east_1_takes_no_location_constraint(s3, unique_name):
    name = unique_name("b")
    s3.create_bucket(Bucket=name)
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] is None
    s3.head_bucket(Bucket=name)


def test_create_bucket_in_us_east_1_with_us_east_1_constraint_is_invalid(s3, unique_name):
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=unique_name("b"), CreateBucketConfiguration={"LocationConstraint": "us-east-1"})
    assert error_of(e)["Code"] == "InvalidLocationConstraint"
    assert error_of(e)["Status"] == 400


def test_create_bucket_in_other_region_requires_matching_constraint(client, unique_name):
    s3 = client("s3", region="eu-west-1")
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=unique_name("b"))
    assert error_of(e)["Code"] == "IllegalLocationConstraintException"
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=unique_name("b"), CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    assert error_of(e)["Code"] == "IllegalLocationConstraintException"
    name = unique_name("b")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
    assert s3.head_bucket(Bucket=name)["BucketRegion"] == "eu-west-1"


@pytest.mark.parametrize("name", ["ab", "UPPER-case", "has_underscore", "192.168.1.1", "-start", "a..b", "x" * 64])
def test_invalid_bucket_name_is_rejected(s3, name):
    with pytest.raises(ClientError) as e:
        raw_create = s3.meta.events  # noqa: F841
        s3.create_bucket(Bucket=name)
    assert error_of(e)["Code"] in ("InvalidBucketName",)


def test_bucket_names_are_global_across_accounts(client, unique_name):
    name = unique_name("b")
    client("s3").create_bucket(Bucket=name)
    other = client("s3", access_key="222222222222")
    with pytest.raises(ClientError) as e:
        other.create_bucket(Bucket=name)
    assert error_of(e)["Code"] == "BucketAlreadyExists"
    assert error_of(e)["Status"] == 409


def test_recreating_own_bucket_outside_us_east_1_is_already_owned_by_you(client, unique_name):
    s3 = client("s3", region="eu-west-1")
    name = unique_name("b")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert error_of(e)["Code"] == "BucketAlreadyOwnedByYou"


def test_delete_non_empty_bucket_is_bucket_not_empty(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=bucket)
    assert error_of(e)["Code"] == "BucketNotEmpty"
    assert error_of(e)["Status"] == 409
    s3.delete_object(Bucket=bucket, Key="k")
    s3.delete_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket=bucket)
    assert error_of(e)["Code"] == "404"


def test_missing_bucket_is_no_such_bucket(s3, unique_name):
    with pytest.raises(ClientError) as e:
        s3.list_objects_v2(Bucket=unique_name("missing"))
    err = error_of(e)
    assert (err["Code"], err["Message"], err["Status"]) == ("NoSuchBucket", "The specified bucket does not exist", 404)


def test_list_buckets_pages_with_continuation_token(client, unique_name):
    s3 = client("s3", access_key="333333333333")
    names = sorted(unique_name("pg") for _ in range(3))
    for name in names:
        s3.create_bucket(Bucket=name)
    first = s3.list_buckets(MaxBuckets=2, Prefix="pg-")
    assert len(first["Buckets"]) == 2 and "ContinuationToken" in first
    rest = s3.list_buckets(MaxBuckets=2, Prefix="pg-", ContinuationToken=first["ContinuationToken"])
    seen = [b["Name"] for b in first["Buckets"] + rest["Buckets"]]
    assert seen == sorted(seen) and set(names) <= set(seen)


def test_versioning_configuration_round_trips(s3, bucket):
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"


def test_bucket_tagging_round_trips_and_missing_is_no_such_tag_set(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.get_bucket_tagging(Bucket=bucket)
    assert error_of(e)["Code"] == "NoSuchTagSet"
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "env", "Value": "dev"}]})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "env", "Value": "dev"}]
    s3.delete_bucket_tagging(Bucket=bucket)
    with pytest.raises(ClientError):
        s3.get_bucket_tagging(Bucket=bucket)


def test_bucket_policy_is_stored(s3, bucket):
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                       "Resource": f"arn:aws:s3:::{bucket}/*"}]}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == policy
    with pytest.raises(ClientError) as e:
        s3.put_bucket_policy(Bucket=bucket, Policy="not json")
    assert error_of(e)["Code"] == "MalformedPolicy"


def test_default_encryption_and_ownership_and_public_access_block(s3, bucket):
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"][0]["ObjectOwnership"] == \
        "BucketOwnerEnforced"
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={"BlockPublicAcls": False})
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is False


def test_cors_configuration_missing_is_no_such_cors_configuration(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.get_bucket_cors(Bucket=bucket)
    assert error_of(e)["Code"] == "NoSuchCORSConfiguration"


def test_cors_preflight_and_response_headers_follow_the_rules(s3, bucket, endpoint):
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["GET", "PUT"],
        "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 300}]})
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    ok = raw(endpoint, "OPTIONS", f"/{bucket}/k", headers={"Origin": "https://app.example.com",
                                                           "Access-Control-Request-Method": "PUT",
                                                           "Access-Control-Request-Headers": "content-type"})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "PUT" in ok.headers["access-control-allow-methods"]
    assert ok.headers["access-control-max-age"] == "300"
    denied = raw(endpoint, "OPTIONS", f"/{bucket}/k", headers={"Origin": "https://evil.example.com",
                                                               "Access-Control-Request-Method": "GET"})
    assert denied.status_code == 403
    assert "<Code>AccessForbidden</Code>" in denied.text and "<Message>CORSResponse: " in denied.text
    get = raw(endpoint, "GET", f"/{bucket}/k", headers={"Origin": "https://app.example.com"})
    assert get.headers["access-control-allow-origin"] == "https://app.example.com"
    assert get.headers["access-control-expose-headers"] == "ETag"


def test_preflight_without_cors_configuration_is_forbidden(bucket, endpoint):
    r = raw(endpoint, "OPTIONS", f"/{bucket}/k", headers={"Origin": "https://a.example",
                                                          "Access-Control-Request-Method": "GET"})
    assert r.status_code == 403
    assert "CORS is not enabled for this bucket." in r.text


def test_lifecycle_expiration_deletes_due_objects(s3, bucket):
    s3.put_object(Bucket=bucket, Key="logs/old.txt", Body=b"x")
    s3.put_object(Bucket=bucket, Key="keep/me.txt", Body=b"x")
    past = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [{
        "ID": "expire-logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Date": past}}]})
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rules[0]["ID"] == "expire-logs"
    deadline = time.time() + 5
    keys = None
    while time.time() < deadline:
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        if keys == ["keep/me.txt"]:
            break
        time.sleep(0.05)
    assert keys == ["keep/me.txt"]


def test_missing_lifecycle_is_no_such_lifecycle_configuration(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert error_of(e)["Code"] == "NoSuchLifecycleConfiguration"


def test_malformed_xml_body_is_malformed_xml(bucket, endpoint):
    r = raw(endpoint, "PUT", f"/{bucket}?tagging", content=b"<Tagging><TagSet><Tag>")
    assert r.status_code == 400
    assert "<Code>MalformedXML</Code>" in r.text


def test_unimplemented_operation_answers_not_implemented(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.get_bucket_analytics_configuration(Bucket=bucket, Id="x")
    assert error_of(e)["Code"] == "NotImplemented"
    assert error_of(e)["Status"] == 501
