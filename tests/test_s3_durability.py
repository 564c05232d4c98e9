"""S3 objects that were acknowledged survive kill -9, small (in the row) and large (in a file),
and lifecycle rules keep expiring objects across restarts."""

from __future__ import annotations

import datetime
import os
import time

from conftest import OvercastProcess, make_client


def test_s3_objects_and_lifecycle_rules_survive_kill_9(tmp_path):
    data_dir = str(tmp_path / "data")
    small, large = b"tiny", os.urandom(3 * 1024 * 1024)
    server = OvercastProcess(data_dir=data_dir)
    try:
        s3 = make_client(server.endpoint, "s3")
        s3.create_bucket(Bucket="durable-bucket")
        s3.put_object(Bucket="durable-bucket", Key="small", Body=small)
        s3.put_object(Bucket="durable-bucket", Key="large", Body=large)
        s3.put_object(Bucket="durable-bucket", Key="tmp/expire-me", Body=b"x")
    finally:
        server.stop(kill=True)
    assert server.process.returncode == -9
    server = OvercastProcess(data_dir=data_dir)
    try:
        s3 = make_client(server.endpoint, "s3")
        assert s3.get_object(Bucket="durable-bucket", Key="small")["Body"].read() == small
        assert s3.get_object(Bucket="durable-bucket", Key="large")["Body"].read() == large
        past = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
        s3.put_bucket_lifecycle_configuration(Bucket="durable-bucket", LifecycleConfiguration={"Rules": [{
            "ID": "tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Date": past}}]})
        assert s3.get_bucket_lifecycle_configuration(Bucket="durable-bucket")["Rules"][0]["ID"] == "tmp"
    finally:
        server.stop(kill=True)
    server = OvercastProcess(data_dir=data_dir)
    try:
        s3 = make_client(server.endpoint, "s3")
        deadline = time.time() + 5
        while time.time() < deadline:
            listing = s3.list_objects_v2(Bucket="durable-bucket", Prefix="tmp/")
            if not listing.get("Contents"):
                break
            time.sleep(0.1)
        assert not listing.get("Contents")
        assert s3.head_object(Bucket="durable-bucket", Key="small")["ContentLength"] == len(small)
    finally:
        server.stop()


def test_s3_acls_survive_kill_9(tmp_path):
    """A bucket's ACL (its configuration) and each object version's ACL (its row) are committed
    before PutBucketAcl / PutObjectAcl / PutObject answer."""
    data_dir = str(tmp_path / "data")
    server = OvercastProcess(data_dir=data_dir)
    try:
        s3 = make_client(server.endpoint, "s3")
        s3.create_bucket(Bucket="acl-durable", ObjectOwnership="ObjectWriter")
        s3.delete_public_access_block(Bucket="acl-durable")
        s3.put_bucket_acl(Bucket="acl-durable", ACL="public-read")
        s3.put_object(Bucket="acl-durable", Key="written", Body=b"x", ACL="authenticated-read")
        s3.put_object(Bucket="acl-durable", Key="changed", Body=b"x")
        s3.put_object_acl(Bucket="acl-durable", Key="changed", ACL="log-delivery-write")
    finally:
        server.stop(kill=True)
    server = OvercastProcess(data_dir=data_dir)
    try:
        s3 = make_client(server.endpoint, "s3")
        uris = [g["Grantee"].get("URI") for g in s3.get_bucket_acl(Bucket="acl-durable")["Grants"]]
        assert uris == [None, "http://acs.amazonaws.com/groups/global/AllUsers"]
        uris = [g["Grantee"].get("URI") for g in s3.get_object_acl(Bucket="acl-durable", Key="written")["Grants"]]
        assert uris == [None, "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"]
        grants = s3.get_object_acl(Bucket="acl-durable", Key="changed")["Grants"]
        assert [g["Permission"] for g in grants] == ["FULL_CONTROL", "WRITE", "READ_ACP"]
    finally:
        server.stop()
