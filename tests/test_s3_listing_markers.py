"""Listing markers and common prefixes as S3 pages them (the ListObjects / ListObjectVersions /
ListMultipartUploads API reference, and the answers AWS recorded in LocalStack's AWS-validated
snapshots, docs/conformance.md)."""

from __future__ import annotations

import time
from xml.etree import ElementTree

import pytest
from botocore.exceptions import ClientError
from s3_support import error_of, raw

pytest_plugins = ["s3_fixtures"]

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
KEYS = ["folder/aSubfolder/subFile1", "folder/aSubfolder/subFile2", "folder/file1", "folder/file2"]


def test_a_marker_inside_a_common_prefix_is_past_it(s3, bucket):
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    page = s3.list_objects(Bucket=bucket, Prefix="folder/", Delimiter="/", MaxKeys=1,
                           Marker="folder/aSubfolder/subFile1")
    assert [c["Key"] for c in page["Contents"]] == ["folder/file1"]
    assert "CommonPrefixes" not in page and page["NextMarker"] == "folder/file1" and page["IsTruncated"]
    page = s3.list_objects_v2(Bucket=bucket, Prefix="folder/", Delimiter="/", StartAfter="folder/aSubfolder/")
    assert [c["Key"] for c in page["Contents"]] == ["folder/file1", "folder/file2"]
    assert "CommonPrefixes" not in page


def test_version_pages_with_common_prefixes_end(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    seen, marker = [], ""
    for _ in range(5):
        page = s3.list_object_versions(Bucket=bucket, Prefix="folder/", Delimiter="/", MaxKeys=1, KeyMarker=marker)
        seen += [p["Prefix"] for p in page.get("CommonPrefixes", [])] + [v["Key"] for v in page.get("Versions", [])]
        if not page["IsTruncated"]:
            break
        marker = page["NextKeyMarker"]
    assert seen == ["folder/aSubfolder/", "folder/file1", "folder/file2"]
    assert not page["IsTruncated"]


def test_multipart_upload_listing(s3, bucket):
    ids = {}
    for key in KEYS:
        ids[key] = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    # only common prefixes listed: no markers to go on from
    page = s3.list_multipart_uploads(Bucket=bucket, Prefix="folder/", Delimiter="/", MaxUploads=1)
    assert page["CommonPrefixes"] == [{"Prefix": "folder/aSubfolder/"}] and page["IsTruncated"]
    assert page["NextKeyMarker"] == "" and page["NextUploadIdMarker"] == ""
    for marker in ("folder/aSubfolder/", "folder/aSubfolder/subFile1"):
        page = s3.list_multipart_uploads(Bucket=bucket, Prefix="folder/", Delimiter="/", MaxUploads=1,
                                         KeyMarker=marker)
        assert [u["Key"] for u in page["Uploads"]] == ["folder/file1"] and "CommonPrefixes" not in page
        assert (page["NextKeyMarker"], page["NextUploadIdMarker"]) == ("folder/file1", ids["folder/file1"])
    page = s3.list_multipart_uploads(Bucket=bucket, Prefix="folder/", Delimiter="/")
    assert [u["Key"] for u in page["Uploads"]] == ["folder/file1", "folder/file2"]
    assert page["NextKeyMarker"] == "folder/file2" and not page["IsTruncated"]
    # an upload id marker that is not an upload of the key marker
    with pytest.raises(ClientError) as info:
        s3.list_multipart_uploads(Bucket=bucket, KeyMarker="folder/file1", UploadIdMarker=ids["folder/file2"])
    assert error_of(info) == {"Code": "InvalidArgument", "Message": "Invalid uploadId marker", "Status": 400,
                              "ArgumentName": "upload-id-marker", "ArgumentValue": ids["folder/file2"]}
    # without a key marker the upload id marker is ignored
    page = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=1, UploadIdMarker=ids["folder/file2"])
    assert page["Uploads"][0]["Key"] == KEYS[0] and page["UploadIdMarker"] == ""


def test_uploads_of_one_key_are_listed_in_the_order_they_began(s3, bucket):
    started = []
    for _ in range(4):
        started.append(s3.create_multipart_upload(Bucket=bucket, Key="same")["UploadId"])
        time.sleep(0.01)
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == started
    page = s3.list_multipart_uploads(Bucket=bucket, KeyMarker="same", UploadIdMarker=started[1])
    assert [u["UploadId"] for u in page["Uploads"]] == started[2:]


def test_empty_integer_query_parameters_are_not_given(s3, bucket, endpoint):
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="k", UploadId=upload, PartNumber=1, Body=b"data")
    for extra in ("part-number-marker=", "max-parts="):
        r = raw(endpoint, "GET", f"/{bucket}/k?uploadId={upload}&{extra}")
        assert r.status_code == 200, r.text
        page = ElementTree.fromstring(r.content)
        assert page.find(f"{NS}MaxParts").text == "1000" and page.find(f"{NS}Part/{NS}PartNumber").text == "1"
    r = raw(endpoint, "GET", f"/{bucket}?max-keys=")
    assert r.status_code == 200 and ElementTree.fromstring(r.content).find(f"{NS}MaxKeys").text == "1000"


def test_object_attributes_past_the_last_part(s3, bucket):
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k", ChecksumAlgorithm="SHA256")["UploadId"]
    parts = []
    for number, body in ((1, b"a" * 5 * 1024 * 1024), (2, b"b")):
        part = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload, PartNumber=number, Body=body,
                              ChecksumAlgorithm="SHA256")
        parts.append({"PartNumber": number, "ETag": part["ETag"], "ChecksumSHA256": part["ChecksumSHA256"]})
    s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload, MultipartUpload={"Parts": parts})
    out = s3.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=["ObjectParts"], MaxParts=1,
                                   PartNumberMarker=10)["ObjectParts"]
    assert (out["NextPartNumberMarker"], out["PartNumberMarker"], out["IsTruncated"]) == (0, 10, False)
    out = s3.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=["ObjectParts"], MaxParts=1)["ObjectParts"]
    assert (out["NextPartNumberMarker"], out["IsTruncated"]) == (1, True)
