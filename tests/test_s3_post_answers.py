"""Browser POST uploads answered as S3 answers them (the S3 API reference's "POST Object" and
"Browser-based uploads using POST", and AWS's recorded answers in LocalStack's AWS-validated
snapshots)."""

from __future__ import annotations

import httpx

pytest_plugins = ["s3_fixtures"]


def _post(presigned: dict, **files) -> httpx.Response:
    return httpx.post(presigned["url"], data=presigned["fields"], files=files or {"file": ("f.txt", b"abcdef")},
                      timeout=30, follow_redirects=False)


def test_redirects_and_their_conditions(s3, bucket):
    target = "http://localhost.test/random"
    presigned = s3.generate_presigned_post(bucket, "k", Fields={"success_action_redirect": target},
                                           Conditions=[["eq", "$success_action_redirect", target]], ExpiresIn=60)
    r = _post(presigned)
    assert r.status_code == 303 and r.headers.get_list("location") == [r.headers["location"]]
    assert r.headers["location"].startswith(target + "?bucket=")
    presigned["fields"]["success_action_redirect"] = "http://wrong.location/test"
    r = _post(presigned)
    assert r.status_code == 403 and "Policy Condition failed" in r.text
    # a condition naming the field without "$" is not met either
    presigned = s3.generate_presigned_post(bucket, "k", Fields={"success_action_redirect": target},
                                           Conditions=[["eq", "success_action_redirect", target]], ExpiresIn=60)
    r = _post(presigned)
    assert r.status_code == 403
    assert '[\\"eq\\", \\"success_action_redirect\\"' in r.text or '["eq", "success_action_redirect"' in r.text
    # a redirect S3 cannot read as a URL is as if it were not there
    presigned = s3.generate_presigned_post(bucket, "k", Fields={"success_action_redirect": "/relative"},
                                           Conditions=[["eq", "$success_action_redirect", "/relative"]], ExpiresIn=60)
    assert _post(presigned).status_code == 204


def test_upload_answers_and_fields(s3, bucket):
    presigned = s3.generate_presigned_post(bucket, "k", ExpiresIn=60)
    r = _post(presigned)
    assert r.status_code == 204 and "x-amz-checksum-crc64nvme" in r.headers
    presigned = s3.generate_presigned_post(bucket, "as-field-${filename}", ExpiresIn=60)
    r = _post(presigned, file=(None, b"as a string"))  # a plain field: no file name
    assert r.status_code == 204, r.text
    assert s3.get_object(Bucket=bucket, Key="as-field-${filename}")["Body"].read() == b"as a string"
    presigned = s3.generate_presigned_post(bucket, "exp", Fields={"Expires": "Wed, 21 Oct 2037 07:28:00 GMT"},
                                           Conditions=[{"Expires": "Wed, 21 Oct 2037 07:28:00 GMT"}], ExpiresIn=60)
    assert _post(presigned).status_code == 204
    assert s3.head_object(Bucket=bucket, Key="exp")["ExpiresString"] == "Wed, 21 Oct 2037 07:28:00 GMT"


def test_policy_simple_conditions_have_one_property(s3, bucket):
    presigned = s3.generate_presigned_post(bucket, "k", Conditions=[{"bucket": bucket, "key": "k"}], ExpiresIn=60)
    r = _post(presigned)
    assert r.status_code == 400 and "<Code>InvalidPolicyDocument</Code>" in r.text
    assert "Simple-Conditions must have exactly one property specified." in r.text
    r = _post(s3.generate_presigned_post(bucket, "k", ExpiresIn=60))
    assert r.headers["x-amz-checksum-type"] == "FULL_OBJECT"


def test_a_policy_comes_with_its_signature_fields(s3, bucket):
    presigned = s3.generate_presigned_post(bucket, "k", ExpiresIn=60)  # SigV2 fields: AWSAccessKeyId, signature
    fields = dict(presigned["fields"])
    fields.pop("AWSAccessKeyId")
    r = httpx.post(presigned["url"], data=fields, files={"file": ("f", b"x")}, timeout=30)
    assert r.status_code == 400 and "<ArgumentName>AWSAccessKeyId</ArgumentName>" in r.text
    assert "Bucket POST must contain a field named 'AWSAccessKeyId'.  If it is specified, please check the order " \
           "of the fields." in r.text
    only_policy = {k: v for k, v in presigned["fields"].items() if k in ("key", "policy")}
    r = httpx.post(presigned["url"], data=only_policy, files={"file": ("f", b"x")}, timeout=30)
    assert r.status_code == 403 and "<Code>AccessDenied</Code>" in r.text


def test_a_bucket_post_that_is_not_a_form_is_a_failed_precondition(bucket, endpoint):
    r = httpx.post(f"{endpoint}/{bucket}", content=b"not a form", headers={"Content-Type": "text/html"}, timeout=30)
    assert r.status_code == 412
    assert "<Condition>Bucket POST must be of the enclosure-type multipart/form-data</Condition>" in r.text
