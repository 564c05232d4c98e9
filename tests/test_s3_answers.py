"""S3's answers in the shape AWS gives them today, each checked against AWS's API reference or the
answers AWS recorded in LocalStack's AWS-validated snapshots (docs/conformance.md)."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest
from s3_support import raw

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
