"""S3 refuses configuration documents that do not validate against its schema (a wrong root
element, a bad enumeration, a missing document) and object keys whose percent-encoding is not
UTF-8 — with AWS's errors, storing nothing."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from s3_support import raw

pytest_plugins = ["s3_fixtures"]

NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
MALFORMED = "The XML you provided was not well-formed or did not validate against our published schema"
ACL_BODY = ('<AccessControlPolicy {ns}><Owner><ID>owner</ID></Owner><AccessControlList><Grant>'
            '<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>owner</ID>'
            '</Grantee><Permission>{permission}</Permission></Grant></AccessControlList></AccessControlPolicy>')


def _error(response) -> tuple[int, str, str]:
    root = ET.fromstring(response.content)
    return response.status_code, root.findtext("Code"), root.findtext("Message")


def test_notification_with_a_wrong_root_element(endpoint, s3, bucket):
    r = raw(endpoint, "PUT", f"/{bucket}?notification", content=f"<Foo {NS}/>")
    assert _error(r) == (400, "MalformedXML", MALFORMED)


def test_notification_with_an_empty_body(endpoint, bucket):
    r = raw(endpoint, "PUT", f"/{bucket}?notification", content=b"")
    assert _error(r) == (400, "MissingRequestBodyError", "Request Body is empty")


def test_notification_with_a_bad_event_keeps_its_own_error(endpoint, bucket):
    body = (f"<NotificationConfiguration {NS}><QueueConfiguration><Queue>arn:aws:sqs:us-east-1:000000000000:q"
            "</Queue><Event>s3:Nothing</Event></QueueConfiguration></NotificationConfiguration>")
    r = raw(endpoint, "PUT", f"/{bucket}?notification", content=body)
    assert _error(r) == (400, "InvalidArgument", "The event is not supported for notifications")


def test_notification_without_its_required_destination(endpoint, s3, bucket):
    body = (f"<NotificationConfiguration {NS}><QueueConfiguration><Event>s3:ObjectCreated:*</Event>"
            "</QueueConfiguration></NotificationConfiguration>")
    r = raw(endpoint, "PUT", f"/{bucket}?notification", content=body)
    assert _error(r) == (400, "MalformedXML", MALFORMED)
    assert s3.get_bucket_notification_configuration(Bucket=bucket).get("QueueConfigurations") is None


def test_acl_with_a_wrong_root_element(endpoint, bucket):
    r = raw(endpoint, "PUT", f"/{bucket}?acl", content=f"<Foo {NS}/>")
    assert _error(r) == (400, "MalformedACLError", MALFORMED)


def test_acl_with_a_bad_permission(endpoint, bucket):
    r = raw(endpoint, "PUT", f"/{bucket}?acl", content=ACL_BODY.format(ns=NS, permission="FULL_CONTROLL"))
    assert _error(r) == (400, "MalformedACLError", MALFORMED)


def test_object_acl_with_a_bad_permission(endpoint, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    r = raw(endpoint, "PUT", f"/{bucket}/k?acl", content=ACL_BODY.format(ns=NS, permission="EVERYTHING"))
    assert _error(r) == (400, "MalformedACLError", MALFORMED)


def test_acl_with_neither_a_body_nor_a_header(endpoint, bucket):
    r = raw(endpoint, "PUT", f"/{bucket}?acl", content=b"")
    assert _error(r) == (400, "MissingSecurityHeader", "Your request was missing a required header")


def test_acl_by_header_or_valid_document_is_accepted(endpoint, s3, bucket):
    assert raw(endpoint, "PUT", f"/{bucket}?acl", content=b"", headers={"x-amz-acl": "private"}).status_code == 200
    owner_id = s3.list_buckets()["Owner"]["ID"]  # an ACL document names canonical IDs (else InvalidArgument)
    r = raw(endpoint, "PUT", f"/{bucket}?acl",
            content=ACL_BODY.format(ns=NS, permission="FULL_CONTROL").replace(">owner<", f">{owner_id}<"))
    assert r.status_code == 200, r.text
    s3.put_bucket_acl(Bucket=bucket, ACL="private")


def test_accelerate_with_another_configuration(endpoint, s3, bucket):
    body = f"<VersioningConfiguration {NS}><Status>Enabled</Status></VersioningConfiguration>"
    r = raw(endpoint, "PUT", f"/{bucket}?accelerate", content=body)
    assert _error(r) == (400, "MalformedXML", MALFORMED)
    assert s3.get_bucket_accelerate_configuration(Bucket=bucket).get("Status") is None


def test_accelerate_with_a_bad_status(endpoint, bucket):
    body = f"<AccelerateConfiguration {NS}><Status>Sometimes</Status></AccelerateConfiguration>"
    r = raw(endpoint, "PUT", f"/{bucket}?accelerate", content=body)
    assert _error(r) == (400, "MalformedXML", MALFORMED)


SUBRESOURCES = ["accelerate", "cors", "encryption", "lifecycle", "logging", "notification", "object-lock",
                "ownershipControls", "publicAccessBlock", "replication", "requestPayment", "tagging", "versioning",
                "website"]


@pytest.mark.parametrize("subresource", SUBRESOURCES)
def test_every_configuration_refuses_a_wrong_root_element(endpoint, bucket, subresource):
    r = raw(endpoint, "PUT", f"/{bucket}?{subresource}", content=f"<Unrelated {NS}><Status>Enabled</Status></Unrelated>")
    assert _error(r) == (400, "MalformedXML", MALFORMED)


@pytest.mark.parametrize("subresource", sorted(set(SUBRESOURCES) - {"lifecycle", "object-lock"}))
def test_every_required_configuration_refuses_an_empty_body(endpoint, bucket, subresource):
    r = raw(endpoint, "PUT", f"/{bucket}?{subresource}", content=b"")
    assert _error(r) == (400, "MissingRequestBodyError", "Request Body is empty")


def test_an_empty_bucket_policy_is_a_malformed_policy(endpoint, bucket):
    """A policy that is empty is not JSON (AWS's recorded answer to PutBucketPolicy with Policy="")."""
    r = raw(endpoint, "PUT", f"/{bucket}?policy", content=b"")
    assert _error(r) == (400, "MalformedPolicy", "Policies must be valid JSON and the first byte must be '{'")


@pytest.mark.parametrize("subresource,body", [
    ("requestPayment", "<RequestPaymentConfiguration {ns}><Payer>Nobody</Payer></RequestPaymentConfiguration>"),
    ("ownershipControls", "<OwnershipControls {ns}><Rule><ObjectOwnership>Nobody</ObjectOwnership></Rule>"
                          "</OwnershipControls>"),
    ("encryption", "<ServerSideEncryptionConfiguration {ns}><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>"
                   "ROT13</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>"),
    ("tagging", "<Tagging {ns}><TagSet><Tag><Key>only-a-key</Key></Tag></TagSet></Tagging>"),
    ("cors", "<CORSConfiguration {ns}><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>"),
])
def test_bad_enum_or_missing_element_is_malformed(endpoint, bucket, subresource, body):
    r = raw(endpoint, "PUT", f"/{bucket}?{subresource}", content=body.format(ns=NS))
    assert _error(r) == (400, "MalformedXML", MALFORMED)


def test_policy_that_is_not_json(endpoint, bucket):
    r = raw(endpoint, "PUT", f"/{bucket}?policy", content=f"<Policy {NS}/>")
    assert _error(r) == (400, "MalformedPolicy", "Policies must be valid JSON and the first byte must be '{'")


@pytest.mark.parametrize("encoded", ["k%FF", "k%FE", "k%C3", "%ED%A0%80"])
def test_key_that_is_not_utf8_is_an_invalid_uri(endpoint, s3, bucket, encoded):
    r = raw(endpoint, "PUT", f"/{bucket}/{encoded}", content=b"data")
    assert _error(r) == (400, "InvalidURI", "Couldn't parse the specified URI.")
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_keys_ff_and_fe_are_never_merged(endpoint, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k\ufffd", Body=b"original")
    for encoded in ("k%FF", "k%FE"):
        assert raw(endpoint, "PUT", f"/{bucket}/{encoded}", content=b"overwrite").status_code == 400
        assert raw(endpoint, "GET", f"/{bucket}/{encoded}").status_code == 400
    assert s3.get_object(Bucket=bucket, Key="k\ufffd")["Body"].read() == b"original"


def test_key_that_is_not_utf8_in_virtual_host_style(endpoint, bucket):
    host = f"{bucket}.s3.localhost.localstack.cloud"
    r = raw(endpoint, "PUT", "/k%FF", content=b"data", headers={"Host": host})
    assert _error(r) == (400, "InvalidURI", "Couldn't parse the specified URI.")


def test_utf8_keys_still_round_trip(endpoint, s3, bucket):
    assert raw(endpoint, "PUT", f"/{bucket}/caf%C3%A9", content=b"x").status_code == 200
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["café"]


@pytest.mark.parametrize("query", ["prefix=k%FF", "list-type=2&start-after=%FE", "marker=%FF", "delimiter=%C3"])
def test_listing_parameter_that_is_not_utf8(endpoint, bucket, query):
    r = raw(endpoint, "GET", f"/{bucket}?{query}")
    assert _error(r) == (400, "InvalidURI", "Couldn't parse the specified URI.")


def test_copy_source_that_is_not_utf8(endpoint, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k\ufffd", Body=b"original")
    r = raw(endpoint, "PUT", f"/{bucket}/copy", headers={"x-amz-copy-source": f"{bucket}/k%FF"})
    assert _error(r) == (400, "InvalidArgument", "Invalid copy source encoding")
