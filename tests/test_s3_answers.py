"""S3's answers in the shape AWS gives them today, each checked against AWS's API reference or the
answers AWS recorded in LocalStack's AWS-validated snapshots (docs/conformance.md)."""

from __future__ import annotations

import datetime
import email.utils
import json
import time
from xml.etree import ElementTree

import httpx
import pytest
from botocore.exceptions import ClientError
from s3_support import error_of, raw

pytest_plugins = ["s3_fixtures"]


def test_owners_carry_no_display_name(s3, bucket):
    """S3 stopped returning Owner.DisplayName on November 21, 2025 (the API reference's
    end-of-support notice): owners and ACL grantees carry their canonical ID only. A multipart
    upload's Initiator keeps its DisplayName, as AWS's recorded answers show."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    owner_id = s3.list_buckets()["Owner"]["ID"]
    assert s3.list_buckets()["Owner"] == {"ID": owner_id}
    assert s3.list_objects(Bucket=bucket)["Contents"][0]["Owner"] == {"ID": owner_id}
    assert s3.list_objects_v2(Bucket=bucket, FetchOwner=True)["Contents"][0]["Owner"] == {"ID": owner_id}
    assert s3.list_object_versions(Bucket=bucket)["Versions"][0]["Owner"] == {"ID": owner_id}
    acl = s3.get_bucket_acl(Bucket=bucket)
    assert acl["Owner"] == {"ID": owner_id}
    assert acl["Grants"][0]["Grantee"] == {"ID": owner_id, "Type": "CanonicalUser"}
    assert s3.get_object_acl(Bucket=bucket, Key="k")["Owner"] == {"ID": owner_id}
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    parts = s3.list_parts(Bucket=bucket, Key="m", UploadId=upload)
    assert parts["Owner"] == {"ID": owner_id}
    assert parts["Initiator"]["ID"] == owner_id and parts["Initiator"]["DisplayName"]
    listed = s3.list_multipart_uploads(Bucket=bucket)["Uploads"][0]
    assert listed["Owner"] == {"ID": owner_id} and listed["Initiator"]["DisplayName"]


def test_put_object_answers_no_size(s3, bucket):
    """PutObject's x-amz-object-size is sent only for appends (directory buckets), never on a
    general purpose bucket's PutObject."""
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"hello")
    assert "Size" not in put and "x-amz-object-size" not in put["ResponseMetadata"]["HTTPHeaders"]


@pytest.mark.parametrize("query, root", [
    ("", "ListBucketResult"), ("?list-type=2", "ListBucketResult"), ("?versions", "ListVersionsResult"),
    ("?uploads", "ListMultipartUploadsResult"), ("?acl", "AccessControlPolicy"), ("?versioning", "VersioningConfiguration"),
])
def test_answers_have_s3s_root_element_and_namespace(bucket, endpoint, query, root):
    """Clients that read S3's XML themselves find AWS's root element in S3's namespace (the
    S3 API reference's Response Syntax), not the model's output shape name."""
    r = raw(endpoint, "GET", f"/{bucket}{query}")
    assert r.status_code == 200
    assert ElementTree.fromstring(r.content).tag == "{http://s3.amazonaws.com/doc/2006-03-01/}" + root


def test_list_buckets_and_multipart_roots(s3, bucket, endpoint):
    assert ElementTree.fromstring(raw(endpoint, "GET", "/").content).tag.endswith("}ListAllMyBucketsResult")
    r = raw(endpoint, "POST", f"/{bucket}/k?uploads")
    assert ElementTree.fromstring(r.content).tag.endswith("}InitiateMultipartUploadResult")


def test_listings_give_times_in_whole_seconds(s3, unique_name, endpoint):
    """S3 lists LastModified / Initiated as `2023-11-15T12:02:40.000Z` (AWS's recorded answers)."""
    bucket = unique_name("ts")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="k")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="m", UploadId=upload, PartNumber=1, Body=b"p")
    times = []
    for query, path in (("?versions", ".//{*}LastModified"), ("?uploads", ".//{*}Initiated"),
                        (f"/m?uploadId={upload}", ".//{*}LastModified")):
        url = f"/{bucket}{query}" if query.startswith("?") else f"/{bucket}{query}"
        times += [e.text for e in ElementTree.fromstring(raw(endpoint, "GET", url).content).iterfind(path)]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    s3.put_object(Bucket=bucket, Key="k2", Body=b"x")
    for query in ("", "?list-type=2"):
        times += [e.text for e in ElementTree.fromstring(raw(endpoint, "GET", f"/{bucket}{query}").content)
                  .iterfind(".//{*}LastModified")]
    assert len(times) == 6 and all(t.endswith(".000Z") for t in times), times


def test_expected_bucket_owner(s3, bucket):
    policy = ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",'
              f' "Resource": "arn:aws:s3:::{bucket}/*"}}]}}')
    with pytest.raises(ClientError) as info:
        s3.put_bucket_policy(Bucket=bucket, Policy=policy, ExpectedBucketOwner="111111111111")
    assert error_of(info) == {"Code": "AccessDenied", "Message": "Access Denied", "Status": 403}
    for bad in ("0000", "abcd", "aa000000000$"):
        with pytest.raises(ClientError) as info:
            s3.get_bucket_policy(Bucket=bucket, ExpectedBucketOwner=bad)
        assert error_of(info) == {"Code": "InvalidBucketOwnerAWSAccountID", "Status": 400, "Message":
                                  f"The value of the expected bucket owner parameter must be an AWS Account ID... [{bad}]"}
    # the bucket's own account: as without it; PutBucketPolicy and PutBucketTagging answer 204
    put = s3.put_bucket_policy(Bucket=bucket, Policy=policy, ExpectedBucketOwner="000000000000")
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 204
    tagged = s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    assert tagged["ResponseMetadata"]["HTTPStatusCode"] == 204
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ExpectedBucketOwner="000000000000")


def test_expires_is_answered_as_given(s3, bucket):
    """The model's Expires is a string header: it comes back as it was sent (no 500), and a
    `response-expires` override is an HTTP date."""
    when = datetime.datetime(2015, 10, 21, 7, 28, tzinfo=datetime.UTC)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Expires=when)
    head = s3.head_object(Bucket=bucket, Key="k")
    assert head["ExpiresString"] == "Wed, 21 Oct 2015 07:28:00 GMT" and head["Expires"] == when
    got = s3.get_object(Bucket=bucket, Key="k", ResponseExpires=when)
    assert got["ResponseMetadata"]["HTTPHeaders"]["expires"] == "Wed, 21 Oct 2015 07:28:00 GMT"


def test_post_upload_with_unicode_metadata_is_answered_mail_safe(s3, bucket):
    """A browser POST may carry UTF-8 metadata; S3 answers it RFC 2047-encoded, and a character
    ISO-8859-1 lacks in another header as a space (AWS's recorded answers), never a 500."""
    fields = {"Cache-Control": "non-ascii-—_é_", "x-amz-meta-nonascii": "ÄMÄZÕÑ S3", "x-amz-meta-plain": "a b",
              "x-amz-meta-control": "\x00\x01"}
    post = s3.generate_presigned_post(bucket, "k", Fields=fields, Conditions=[{k: v} for k, v in fields.items()])
    r = httpx.post(post["url"], data=post["fields"], files={"file": ("k", b"body")})
    assert r.status_code == 204, r.text
    head = s3.head_object(Bucket=bucket, Key="k")
    assert head["Metadata"] == {"nonascii": "=?UTF-8?Q?=C3=84M=C3=84Z=C3=95=C3=91_S3?=", "plain": "a b",
                                "control": "=?UTF-8?B?AAE=?="}
    assert head["CacheControl"] == "non-ascii- _é_"


def test_location_constraints_as_aws_answers(client, unique_name):
    """Outside us-east-1 a constraint other than the region (a region's name or not) is
    IllegalLocationConstraintException; "EU" is eu-west-1's and GetBucketLocation answers it."""
    eu = client("s3", region="eu-west-1")
    for constraint in ("bar", "aws-global", "us-west-2"):
        with pytest.raises(ClientError) as info:
            eu.create_bucket(Bucket=unique_name("lc"), CreateBucketConfiguration={"LocationConstraint": constraint})
        assert error_of(info) == {"Code": "IllegalLocationConstraintException", "Status": 400, "Message":
                                  f"The {constraint} location constraint is incompatible for the region specific "
                                  "endpoint this request was sent to."}
    name = unique_name("lc")
    eu.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "EU"})
    assert eu.get_bucket_location(Bucket=name)["LocationConstraint"] == "EU"
    assert eu.head_bucket(Bucket=name)["BucketRegion"] == "eu-west-1"
    with pytest.raises(ClientError) as info:
        client("s3", region="us-east-2").create_bucket(Bucket=unique_name("lc"),
                                                       CreateBucketConfiguration={"LocationConstraint": "EU"})
    assert error_of(info)["Code"] == "IllegalLocationConstraintException"


def test_list_parts_and_versions_markers_and_part_copy_encryption(s3, bucket):
    """ListParts always names NextPartNumberMarker (0 without parts) and lists part checksums only
    for an upload that asked for an algorithm; ListObjectVersions always names VersionIdMarker;
    UploadPartCopy answers the part's encryption, as AWS's recorded answers show."""
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    assert s3.list_parts(Bucket=bucket, Key="m", UploadId=upload)["NextPartNumberMarker"] == 0
    s3.upload_part(Bucket=bucket, Key="m", UploadId=upload, PartNumber=1, Body=b"p")
    listed = s3.list_parts(Bucket=bucket, Key="m", UploadId=upload)
    assert listed["NextPartNumberMarker"] == 1 and not any(k.startswith("Checksum") for k in listed["Parts"][0])
    with_sums = s3.create_multipart_upload(Bucket=bucket, Key="c", ChecksumAlgorithm="SHA256")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="c", UploadId=with_sums, PartNumber=1, Body=b"p", ChecksumAlgorithm="SHA256")
    assert "ChecksumSHA256" in s3.list_parts(Bucket=bucket, Key="c", UploadId=with_sums)["Parts"][0]
    s3.put_object(Bucket=bucket, Key="src", Body=b"source")
    copied = s3.upload_part_copy(Bucket=bucket, Key="m", UploadId=upload, PartNumber=2,
                                 CopySource={"Bucket": bucket, "Key": "src"})
    assert copied["ServerSideEncryption"] == "AES256"
    assert s3.list_object_versions(Bucket=bucket)["VersionIdMarker"] == ""


def test_lifecycle_transition_default_minimum_object_size(s3, bucket):
    rules = {"Rules": [{"ID": "r", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 7}}]}
    put = s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=rules)
    assert put["TransitionDefaultMinimumObjectSize"] == "all_storage_classes_128K"
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=rules,
                                          TransitionDefaultMinimumObjectSize="varies_by_storage_class")
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert got["TransitionDefaultMinimumObjectSize"] == "varies_by_storage_class" and got["Rules"][0]["ID"] == "r"
    with pytest.raises(ClientError) as info:
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=rules,
                                              TransitionDefaultMinimumObjectSize="value")
    assert error_of(info) == {"Code": "InvalidRequest", "Status": 400,
                              "Message": "Invalid TransitionDefaultMinimumObjectSize found: value"}


def test_objects_a_lifecycle_rule_expires_carry_x_amz_expiration(s3, bucket):
    """PutObject, HeadObject and GetObject answer `x-amz-expiration: expiry-date="...", rule-id="..."`
    for an object an enabled expiration rule takes (prefix, tags, size bounds), the earliest due."""
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "small things", "Status": "Enabled", "Filter": {"ObjectSizeLessThan": 3}, "Expiration": {"Days": 2}},
        {"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 1}},
        {"ID": "off", "Status": "Disabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}},
    ]})
    put = s3.put_object(Bucket=bucket, Key="logs/a", Body=b"hello")
    day = datetime.datetime.now(datetime.UTC).date() + datetime.timedelta(days=2)
    expected = f'expiry-date="{day.strftime("%a, %d %b %Y")} 00:00:00 GMT", rule-id="logs"'
    assert put["Expiration"] == expected
    assert s3.head_object(Bucket=bucket, Key="logs/a")["Expiration"] == expected
    assert s3.get_object(Bucket=bucket, Key="logs/a")["Expiration"] == expected
    assert s3.put_object(Bucket=bucket, Key="x", Body=b"ab")["Expiration"].endswith('rule-id="small%20things"')
    assert "Expiration" not in s3.put_object(Bucket=bucket, Key="y", Body=b"abcdef")


def test_response_override_outside_latin1_is_invalid_argument(s3, bucket, endpoint):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    r = raw(endpoint, "GET", f"/{bucket}/k?response-cache-control=non-ascii-%E2%80%94")
    assert r.status_code == 400
    body = ElementTree.fromstring(r.content)
    assert body.findtext("Code") == "InvalidArgument"
    assert body.findtext("Message") == "Header value cannot be represented using ISO-8859-1."
    assert body.findtext("ArgumentName") == "response-cache-control"


def test_post_policy_with_bounds_that_are_not_integers_is_access_denied(s3, bucket):
    post = s3.generate_presigned_post(bucket, "k", Conditions=[["content-length-range", "test", "10"]])
    r = httpx.post(post["url"], data=post["fields"], files={"file": ("k", b"body")})
    assert r.status_code == 403
    assert ElementTree.fromstring(r.content).findtext("Message") == \
        'Invalid according to Policy: Policy Condition failed: ["content-length-range", "test", "10"]'


def _failure(call, **kwargs) -> dict:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return error_of(info)


def test_multipart_checksum_rules(s3, bucket):
    """CreateMultipartUpload and CompleteMultipartUpload refuse what AWS refuses (its recorded
    answers): a checksum type without an algorithm, a complete request of another checksum mode,
    a COMPOSITE part named without its checksum, a part checksum for an upload without one, and an
    MpuObjectSize that is not the parts' total."""
    assert _failure(s3.create_multipart_upload, Bucket=bucket, Key="k", ChecksumType="COMPOSITE")["Message"] == \
        "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header."
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k", ChecksumAlgorithm="CRC32",
                                        ChecksumType="COMPOSITE")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload, PartNumber=1, Body=b"data",
                          ChecksumAlgorithm="CRC32")
    bare = {"ETag": part["ETag"], "PartNumber": 1}
    assert _failure(s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=upload,
                    MultipartUpload={"Parts": [bare]})["Message"] == (
        "The upload was created using a crc32 checksum. The complete request must include the checksum for each "
        "part. It was missing for part 1 in the request.")
    assert _failure(s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=upload, ChecksumType="FULL_OBJECT",
                    MultipartUpload={"Parts": [{**bare, "ChecksumCRC32": part["ChecksumCRC32"]}]})["Message"] == (
        "The upload was created using the COMPOSITE checksum mode. The complete request must use the same checksum "
        "mode.")
    wrong = _failure(s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=upload,
                     MultipartUpload={"Parts": [{**bare, "ChecksumCRC32": "AAAAAA=="}]})
    assert wrong["Code"] == "InvalidPart" and wrong["ETag"] == part["ETag"].strip('"') and wrong["PartNumber"] == "1"
    assert _failure(s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=upload, MpuObjectSize=5,
                    MultipartUpload={"Parts": [{**bare, "ChecksumCRC32": part["ChecksumCRC32"]}]})["Message"] == \
        "The provided 'x-amz-mp-object-size' header value 5 does not match what was computed: 4"
    plain = s3.create_multipart_upload(Bucket=bucket, Key="p")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="p", UploadId=plain, PartNumber=1, Body=b"data")
    assert _failure(s3.complete_multipart_upload, Bucket=bucket, Key="p", UploadId=plain, MultipartUpload={
        "Parts": [{"ETag": part["ETag"], "PartNumber": 1, "ChecksumCRC32": part["ChecksumCRC32"]}]})["Code"] == \
        "InvalidPart"
    done = s3.complete_multipart_upload(Bucket=bucket, Key="p", UploadId=plain, MpuObjectSize=4,
                                        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]})
    assert done["ETag"].endswith('-1"')


def test_object_parts_and_upload_markers(s3, bucket):
    """GetObjectAttributes lists parts (with their checksums) for a COMPOSITE object only, else
    their count; ListMultipartUploads names the last upload listed as the next markers."""
    assert s3.list_multipart_uploads(Bucket=bucket)["NextKeyMarker"] == ""
    for key, extra in (("composite", {"ChecksumAlgorithm": "SHA256"}), ("plain", {})):
        upload = s3.create_multipart_upload(Bucket=bucket, Key=key, **extra)["UploadId"]
        part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"data", **extra)
        listed = s3.list_multipart_uploads(Bucket=bucket)
        assert (listed["NextKeyMarker"], listed["NextUploadIdMarker"]) == (key, upload) or key == "composite"
        given = {"ChecksumSHA256": part["ChecksumSHA256"]} if extra else {}
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload,
                                     MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1, **given}]})
    attrs = s3.get_object_attributes(Bucket=bucket, Key="composite", ObjectAttributes=["ObjectParts"])["ObjectParts"]
    assert attrs["TotalPartsCount"] == 1 and attrs["Parts"][0]["ChecksumSHA256"] == part_sha256(b"data")
    plain = s3.get_object_attributes(Bucket=bucket, Key="plain", ObjectAttributes=["ObjectParts"])["ObjectParts"]
    assert plain == {"TotalPartsCount": 1}


def part_sha256(data: bytes) -> str:
    import base64
    import hashlib

    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_tag_rules(s3, bucket, unique_name):
    """Tags as S3 checks them (AWS's recorded answers), for buckets, objects, the x-amz-tagging
    header and CreateBucket's Tags."""
    def put_bucket_tags(*tags):
        return _failure(s3.put_bucket_tagging, Bucket=bucket, Tagging={"TagSet": list(tags)})

    dup = put_bucket_tags({"Key": "K", "Value": "v"}, {"Key": "K", "Value": "v"})
    assert (dup["Code"], dup["Message"], dup["TagKey"]) == ("InvalidTag", "Cannot provide multiple Tags with the same "
                                                            "key", "K")
    bad_key = put_bucket_tags({"Key": "K1,K2", "Value": "v"})
    assert (bad_key["Message"], bad_key["TagKey"]) == ("The TagKey you have provided is invalid", "K1,K2")
    bad_value = put_bucket_tags({"Key": "K", "Value": "v1,v2"})
    assert (bad_value["Message"], bad_value["TagValue"]) == ("The TagValue you have provided is invalid", "v1,v2")
    assert put_bucket_tags({"Key": "aws:x", "Value": "v"})["Message"] == "System tags cannot be added/updated by requester"
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": []})  # the same as DeleteBucketTagging
    assert _failure(s3.get_bucket_tagging, Bucket=bucket)["Code"] == "NoSuchTagSet"

    s3.put_object(Bucket=bucket, Key="o", Body=b"x")
    aws = _failure(s3.put_object_tagging, Bucket=bucket, Key="o", Tagging={"TagSet": [{"Key": "aws:x", "Value": "v"}]})
    assert aws["Message"] == "Your TagKey cannot be prefixed with aws:"
    for header in ("a=1&a=2", "a=1,b=2"):
        wrong = _failure(s3.put_object, Bucket=bucket, Key="o", Body=b"x", Tagging=header)
        assert (wrong["Code"], wrong["ArgumentName"], wrong["ArgumentValue"]) == ("InvalidArgument", "x-amz-tagging",
                                                                                 header)

    name = unique_name("tagged")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"Tags": [{"Key": "tag1", "Value": "value1"}]})
    assert s3.get_bucket_tagging(Bucket=name)["TagSet"] == [{"Key": "tag1", "Value": "value1"}]
    assert _failure(s3.create_bucket, Bucket=name, CreateBucketConfiguration={
        "Tags": [{"Key": "tag2", "Value": "v"}]})["Code"] == "BucketAlreadyOwnedByYou"
    s3.create_bucket(Bucket=name)  # us-east-1: re-created without tags, 200, tags kept
    assert s3.get_bucket_tagging(Bucket=name)["TagSet"] == [{"Key": "tag1", "Value": "value1"}]
    assert _failure(s3.create_bucket, Bucket=unique_name("tagged"), CreateBucketConfiguration={
        "Tags": [{"Key": "aws:test", "Value": "v"}]})["Code"] == "InvalidTag"


def test_cors_refusals_are_access_forbidden(bucket, endpoint):
    """AWS's recorded answers: AccessForbidden "CORSResponse: ..." with the method asked for and
    the resource type; a preflight without Origin is BadRequest."""
    def preflight(path, **headers):
        r = raw(endpoint, "OPTIONS", path, headers=headers)
        body = ElementTree.fromstring(r.content)
        return r.status_code, {e.tag: e.text for e in body if e.tag not in ("RequestId", "HostId")}

    assert preflight(f"/{bucket}") == (400, {"Code": "BadRequest",
                                             "Message": "Insufficient information. Origin request header needed."})
    assert preflight(f"/{bucket}", Origin="https://a.example", **{"Access-Control-Request-Method": "PUT"}) == (
        403, {"Code": "AccessForbidden", "Message": "CORSResponse: CORS is not enabled for this bucket.",
              "Method": "PUT", "ResourceType": "BUCKET"})
    assert preflight(f"/{bucket}-none/k", Origin="https://a.example") == (
        403, {"Code": "AccessForbidden", "Message": "CORSResponse: Bucket not found", "Method": "OPTIONS",
              "ResourceType": "BUCKET"})


def test_answers_carry_a_date_header(s3, bucket, endpoint):
    """Every AWS answer carries Date (RFC 7231's IMF-fixdate), S3's too."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    for r in (raw(endpoint, "GET", f"/{bucket}/k"), raw(endpoint, "GET", f"/{bucket}/missing")):
        assert email.utils.parsedate_to_datetime(r.headers["date"]).tzinfo is not None


def test_eventbridge_notifications_reach_the_default_bus(s3, client, unique_name):
    """With an EventBridgeConfiguration, S3 sends its events to the account's default bus in
    EventBridge's S3 format, for rules to route (here to a queue)."""
    sqs, events = client("sqs"), client("events")
    bucket = unique_name("eb")
    s3.create_bucket(Bucket=bucket)
    queue = sqs.create_queue(QueueName=unique_name("ebq"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = unique_name("ebr")
    events.put_rule(Name=rule, EventPattern=f'{{"source": ["aws.s3"], "detail": {{"bucket": {{"name": ["{bucket}"]}}}}}}')
    events.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": queue_arn}])
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})
    assert "EventBridgeConfiguration" in s3.get_bucket_notification_configuration(Bucket=bucket)
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    s3.delete_object(Bucket=bucket, Key="k")
    got = []
    deadline = time.monotonic() + 20
    while len(got) < 2 and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=2, MaxNumberOfMessages=10).get("Messages", []):
            got.append(json.loads(message["Body"]))
    got.sort(key=lambda e: e["detail-type"])
    created, deleted = got
    assert created["source"] == "aws.s3" and created["detail-type"] == "Object Created"
    assert created["resources"] == [f"arn:aws:s3:::{bucket}"] and created["account"] == "000000000000"
    assert created["detail"]["bucket"] == {"name": bucket} and created["detail"]["reason"] == "PutObject"
    assert created["detail"]["object"]["etag"] == put["ETag"].strip('"') and created["detail"]["object"]["size"] == 4
    assert deleted["detail-type"] == "Object Deleted"
    assert (deleted["detail"]["reason"], deleted["detail"]["deletion-type"]) == ("DeleteObject", "Permanently Deleted")


def test_if_modified_since_in_the_future_is_ignored(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    future = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    assert s3.get_object(Bucket=bucket, Key="k", IfModifiedSince=future)["Body"].read() == b"data"
    assert s3.head_object(Bucket=bucket, Key="k", IfModifiedSince=future)["ContentLength"] == 4


def test_multipart_upload_without_algorithm_gets_a_full_object_crc64nvme(s3, bucket):
    """S3 gives an upload created without a checksum a FULL_OBJECT CRC64NVME (AWS's recorded
    answers), the same as a PutObject of the same bytes gets."""
    first, second = b"a" * (5 * 1024 * 1024), b"tail"
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    parts = []
    for number, body in ((1, first), (2, second)):
        part = s3.upload_part(Bucket=bucket, Key="m", UploadId=upload, PartNumber=number, Body=body)
        assert "ChecksumCRC64NVME" not in part
        parts.append({"ETag": part["ETag"], "PartNumber": number})
    done = s3.complete_multipart_upload(Bucket=bucket, Key="m", UploadId=upload, MultipartUpload={"Parts": parts})
    whole = s3.put_object(Bucket=bucket, Key="whole", Body=first + second, ChecksumAlgorithm="CRC64NVME")
    assert done["ChecksumCRC64NVME"] == whole["ChecksumCRC64NVME"] and done["ChecksumType"] == "FULL_OBJECT"
    attrs = s3.get_object_attributes(Bucket=bucket, Key="m", ObjectAttributes=["Checksum"])["Checksum"]
    assert attrs == {"ChecksumCRC64NVME": whole["ChecksumCRC64NVME"], "ChecksumType": "FULL_OBJECT"}


def test_checksums_on_ranges_covering_the_object_and_lowercase_checksum_mode(s3, bucket):
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"0123456789", ChecksumAlgorithm="CRC32")
    whole = s3.get_object(Bucket=bucket, Key="k", Range="bytes=0-100", ChecksumMode="ENABLED")
    assert whole["ContentRange"] == "bytes 0-9/10" and whole["ChecksumCRC32"] == put["ChecksumCRC32"]
    part = s3.get_object(Bucket=bucket, Key="k", Range="bytes=0-8", ChecksumMode="ENABLED")
    assert "ChecksumCRC32" not in part
    assert s3.get_object(Bucket=bucket, Key="k", ChecksumMode="enabled")["ChecksumCRC32"] == put["ChecksumCRC32"]


@pytest.mark.parametrize("checksum_type", ["COMPOSITE", "FULL_OBJECT"])
def test_part_reads_answer_the_parts_checksum(s3, bucket, checksum_type):
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m", ChecksumAlgorithm="CRC32C",
                                        ChecksumType=checksum_type)["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="m", UploadId=upload, PartNumber=1, Body=b"0123456789abcdef",
                          ChecksumAlgorithm="CRC32C")
    s3.complete_multipart_upload(Bucket=bucket, Key="m", UploadId=upload, MultipartUpload={"Parts": [
        {"ETag": part["ETag"], "PartNumber": 1, "ChecksumCRC32C": part["ChecksumCRC32C"]}]})
    for read in (s3.get_object, s3.head_object):
        got = read(Bucket=bucket, Key="m", PartNumber=1, ChecksumMode="ENABLED")
        assert (got["ChecksumCRC32C"], got["ChecksumType"], got["PartsCount"]) == (part["ChecksumCRC32C"],
                                                                                   checksum_type, 1)


def test_versioning_configuration_without_status(s3, bucket):
    assert _failure(s3.put_bucket_versioning, Bucket=bucket, VersioningConfiguration={}) == {
        "Code": "IllegalVersioningConfigurationException", "Message": "The Versioning element must be specified",
        "Status": 400}
    assert _failure(s3.put_bucket_versioning, Bucket=bucket,
                    VersioningConfiguration={"Status": "Disabled"})["Code"] == "MalformedXML"


def test_conditional_write_headers_s3_does_not_take(s3, bucket):
    """AWS's recorded answers: both headers, If-None-Match other than *, If-Match: * are
    NotImplemented with S3's additionalMessage; If-Match on a missing key is NoSuchKey."""
    both = _failure(s3.put_object, Bucket=bucket, Key="k", Body=b"x", IfMatch='"a"', IfNoneMatch="*")
    assert (both["Code"], both["Header"], both["additionalMessage"]) == (
        "NotImplemented", "If-Match,If-None-Match", "Multiple conditional request headers present in the request")
    etag = _failure(s3.put_object, Bucket=bucket, Key="k", Body=b"x", IfNoneMatch='"a"')
    assert (etag["Header"], etag["additionalMessage"]) == (
        "If-None-Match", "We don't accept the provided value of If-None-Match header for this API")
    star = _failure(s3.put_object, Bucket=bucket, Key="k", Body=b"x", IfMatch="*")
    assert (star["Header"], star["Status"]) == ("If-Match", 501)
    assert _failure(s3.put_object, Bucket=bucket, Key="k", Body=b"x", IfMatch='"abc"')["Code"] == "NoSuchKey"


def test_listing_argument_checks(s3, bucket):
    token = _failure(s3.list_objects_v2, Bucket=bucket, ContinuationToken="")
    assert (token["Code"], token["ArgumentName"]) == ("InvalidArgument", "continuation-token")
    marker = _failure(s3.list_object_versions, Bucket=bucket, VersionIdMarker="abc")
    assert marker["Message"] == "A version-id marker cannot be specified without a key marker."
    encoding = _failure(s3.list_multipart_uploads, Bucket=bucket, EncodingType="value")
    assert (encoding["Message"], encoding["ArgumentName"]) == ("Invalid Encoding Method specified in Request",
                                                               "encoding-type")


def test_notification_destination_checks(s3, bucket, client, unique_name):
    """AWS's recorded answers: an ARN that does not parse names the kind of destination; every
    destination that does not exist is named in one error (ArgumentName1, ArgumentValue1, ...);
    SkipDestinationValidation skips the existence check; filter rule names are stored as
    Prefix / Suffix."""
    def put(config, **kwargs):
        return s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=config, **kwargs)

    bad = _failure(put, config={"QueueConfigurations": [{"QueueArn": "invalid-queue", "Events": ["s3:ObjectCreated:*"]}]})
    assert (bad["Message"], bad["ArgumentName"], bad["ArgumentValue"]) == ("The ARN could not be parsed", "Queue",
                                                                           "invalid-queue")
    missing = [f"arn:aws:sqs:us-east-1:000000000000:{unique_name('none')}" for _ in range(2)]
    error = _failure(put, config={"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}
                                                         for arn in missing]})
    assert (error["ArgumentName1"], error["ArgumentValue1"]) == (missing[0], "The destination queue does not exist")
    assert error["ArgumentName2"] == missing[1]
    put({"QueueConfigurations": [{"QueueArn": missing[0], "Events": ["s3:ObjectCreated:*"]}]},
        SkipDestinationValidation=True)
    queue = client("sqs").create_queue(QueueName=unique_name("nq"))["QueueUrl"]
    arn = client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    put({"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"], "Filter": {"Key": {"FilterRules": [
        {"Name": "PREFIX", "Value": "a"}, {"Name": "suffix", "Value": ".txt"}]}}}]})
    rules = s3.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"][0]["Filter"]["Key"]
    assert [r["Name"] for r in rules["FilterRules"]] == ["Prefix", "Suffix"]


def test_head_bucket_names_its_arn(s3, bucket):
    head = s3.head_bucket(Bucket=bucket)
    assert head["BucketArn"] == f"arn:aws:s3:::{bucket}"
    headers = head["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amz-bucket-arn"] == f"arn:aws:s3:::{bucket}" and headers["content-type"] == "application/xml"


def test_a_version_id_on_a_bucket_never_versioned(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    wrong = _failure(s3.get_object, Bucket=bucket, Key="k", VersionId="HPniJFCxqTsMuIH9KX8K8wEjNUgmABCD")
    assert (wrong["Code"], wrong["Message"], wrong["ArgumentName"]) == ("InvalidArgument",
                                                                        "Invalid version id specified", "versionId")
    assert s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"x"


def test_complete_multipart_without_a_body_and_with_a_small_part(s3, bucket, endpoint):
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    r = raw(endpoint, "POST", f"/{bucket}/m?uploadId={upload}")
    assert r.status_code == 400 and ElementTree.fromstring(r.content).findtext("Message") == \
        "You must specify at least one part"
    parts = [{"ETag": s3.upload_part(Bucket=bucket, Key="m", UploadId=upload, PartNumber=n, Body=b"data")["ETag"],
              "PartNumber": n} for n in (1, 2)]
    small = _failure(s3.complete_multipart_upload, Bucket=bucket, Key="m", UploadId=upload,
                     MultipartUpload={"Parts": parts})
    assert (small["Code"], small["Message"], small["PartNumber"]) == (
        "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size", "1")


def test_null_versions_part_heads_and_composite_attributes(s3, bucket):
    """AWS's recorded answers: PutObject on a suspended bucket names no version; HeadObject of a
    part is 206; GetObjectAttributes gives a COMPOSITE checksum without its part count."""
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert "VersionId" not in s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m", ChecksumAlgorithm="SHA256")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="m", UploadId=upload, PartNumber=1, Body=b"data",
                          ChecksumAlgorithm="SHA256")
    done = s3.complete_multipart_upload(Bucket=bucket, Key="m", UploadId=upload, MultipartUpload={"Parts": [
        {"ETag": part["ETag"], "PartNumber": 1, "ChecksumSHA256": part["ChecksumSHA256"]}]})
    assert done["ChecksumSHA256"].endswith("-1")
    attrs = s3.get_object_attributes(Bucket=bucket, Key="m", ObjectAttributes=["Checksum"])["Checksum"]
    assert attrs["ChecksumSHA256"] == done["ChecksumSHA256"].split("-")[0]
    head = s3.head_object(Bucket=bucket, Key="m", PartNumber=1)
    assert head["ResponseMetadata"]["HTTPStatusCode"] == 206 and head["PartsCount"] == 1


def test_part_copy_ranges_batch_deletes_and_future_copy_conditions(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"0123456789")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    source = {"Bucket": bucket, "Key": "src"}
    over = _failure(s3.upload_part_copy, Bucket=bucket, Key="m", UploadId=upload, PartNumber=1, CopySource=source,
                    CopySourceRange="bytes=0-100")
    assert (over["Code"], over["Message"]) == ("InvalidArgument", "Range specified is not valid for source object of "
                                               "size: 10")
    past = _failure(s3.upload_part_copy, Bucket=bucket, Key="m", UploadId=upload, PartNumber=1, CopySource=source,
                    CopySourceRange="bytes=100-200")
    assert (past["Code"], past["Message"]) == ("InvalidRequest", "The specified copy range is invalid for the source "
                                               "object size")
    future = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    assert s3.upload_part_copy(Bucket=bucket, Key="m", UploadId=upload, PartNumber=1, CopySource=source,
                               CopySourceIfModifiedSince=future)["CopyPartResult"]["ETag"]
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [
        {"Key": "src", "VersionId": "HPniJFCxqTsMuIH9KX8K8wEjNUgmABCD"}]})
    assert result["Errors"] == [{"Key": "src", "VersionId": "HPniJFCxqTsMuIH9KX8K8wEjNUgmABCD",
                                 "Code": "NoSuchVersion", "Message": "The specified version does not exist."}]


def test_listing_and_bucket_deletion_details(s3, bucket, endpoint):
    """AWS's recorded answers: an empty delimiter is not echoed in ListObjects, a continuation
    page names no StartAfter, and a versioned bucket's BucketNotEmpty says to delete versions."""
    assert "Delimiter" not in s3.list_objects(Bucket=bucket, Delimiter="")
    for key in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    first = s3.list_objects_v2(Bucket=bucket, MaxKeys=1)
    page = s3.list_objects_v2(Bucket=bucket, MaxKeys=1, StartAfter="a", ContinuationToken=first["NextContinuationToken"])
    assert "StartAfter" not in page
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert _failure(s3.delete_bucket, Bucket=bucket)["Message"] == (
        "The bucket you tried to delete is not empty. You must delete all versions in the bucket.")


def test_tagging_and_acl_of_a_delete_marker(s3, bucket):
    """AWS's recorded answers: tagging operations and PutObjectAcl on a key whose latest version is
    a delete marker are 405 MethodNotAllowed (ResourceType DeleteMarker); GetObjectAcl is NoSuchKey."""
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="k")
    for call, kwargs in ((s3.get_object_tagging, {}), (s3.delete_object_tagging, {}),
                         (s3.put_object_tagging, {"Tagging": {"TagSet": []}}), (s3.put_object_acl, {"ACL": "private"})):
        refused = _failure(call, Bucket=bucket, Key="k", **kwargs)
        assert (refused["Code"], refused["ResourceType"], refused["Status"]) == ("MethodNotAllowed", "DeleteMarker", 405)
    assert _failure(s3.get_object_acl, Bucket=bucket, Key="k")["Code"] == "NoSuchKey"


def test_cors_rule_with_an_unsupported_method(s3, bucket):
    refused = _failure(s3.put_bucket_cors, Bucket=bucket, CORSConfiguration={"CORSRules": [
        {"AllowedMethods": ["MYMETHOD"], "AllowedOrigins": ["*"]}]})
    assert refused == {"Code": "InvalidRequest", "Status": 400,
                       "Message": "Found unsupported HTTP method in CORS config. Unsupported method is MYMETHOD"}


def test_server_header_generated_configuration_ids_and_tagging_event_version(s3, bucket, client, unique_name,
                                                                               endpoint):
    assert raw(endpoint, "GET", f"/{bucket}").headers["server"] == "AmazonS3"
    sqs = client("sqs")
    queue = sqs.create_queue(QueueName=unique_name("tq"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [
        {"QueueArn": arn, "Events": ["s3:ObjectTagging:*"]}]})
    assert s3.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"][0]["Id"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    records = []
    deadline = time.monotonic() + 20
    while not records and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=2, MaxNumberOfMessages=10).get("Messages", []):
            records += json.loads(message["Body"]).get("Records", [])
    assert records[0]["eventName"] == "ObjectTagging:Put" and records[0]["eventVersion"] == "2.3"
    assert "sequencer" not in records[0]["s3"]["object"]


def test_a_request_signed_for_aws_global_is_refused(endpoint, client, unique_name):
    """`aws-global` is botocore's endpoint pseudo-region, not a signing region: S3 answers
    AuthorizationHeaderMalformed naming us-east-1 (AWS's recorded answer); botocore itself signs
    such a client's requests for us-east-1, which work."""
    name = unique_name("global")
    response = raw(endpoint, "PUT", f"/{name}", region="aws-global")
    assert response.status_code == 400
    error = {child.tag.split("}")[-1]: child.text for child in ElementTree.fromstring(response.content)}
    assert (error["Code"], error["Region"]) == ("AuthorizationHeaderMalformed", "us-east-1")
    assert error["Message"] == ("The authorization header is malformed; the region 'aws-global' is wrong; "
                                "expecting 'us-east-1'")
    assert raw(endpoint, "HEAD", f"/{name}", region="aws-global").status_code == 400
    s3 = client("s3", region="aws-global")
    s3.create_bucket(Bucket=name)
    assert s3.head_bucket(Bucket=name)["BucketRegion"] == "us-east-1"
