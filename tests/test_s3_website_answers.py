"""Static website answers and website configuration checks as S3 gives them (the S3 user guide's
website hosting pages, and AWS's recorded answers in LocalStack's AWS-validated snapshots)."""

from __future__ import annotations

import httpx
import pytest
from botocore.exceptions import ClientError
from s3_support import error_of

pytest_plugins = ["s3_fixtures"]


def _website(endpoint: str, bucket: str, path: str, headers: dict | None = None) -> httpx.Response:
    port = endpoint.rsplit(":", 1)[1]
    return httpx.get(f"http://127.0.0.1:{port}{path}", follow_redirects=False,
                     headers={"Host": f"{bucket}.s3-website.localhost.localstack.cloud:{port}", **(headers or {})})


def _refusal(s3, bucket, config) -> dict:
    with pytest.raises(ClientError) as info:
        s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration=config)
    return error_of(info)


def test_conditional_gets_and_a_missing_error_document(s3, bucket, endpoint):
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"},
                                                               "ErrorDocument": {"Key": "error.html"}})
    # neither the page nor the custom error document: S3's page says both
    missing = _website(endpoint, bucket, "/")
    assert missing.status_code == 404
    assert "<li>Key: index.html</li>" in missing.text
    assert "<h3>An Error Occurred While Attempting to Retrieve a Custom Error Document</h3>" in missing.text
    assert "<li>Key: error.html</li>" in missing.text
    etag = s3.put_object(Bucket=bucket, Key="index.html", Body=b"home", ContentType="text/html")["ETag"]
    assert _website(endpoint, bucket, "/", {"If-None-Match": etag}).status_code == 304
    assert _website(endpoint, bucket, "/", {"If-None-Match": '"other"'}).status_code == 200
    assert _website(endpoint, bucket, "/", {"If-Match": '"other"'}).status_code == 412


def test_website_configuration_checks(s3, bucket):
    index = {"IndexDocument": {"Suffix": "index.html"}}
    error = _refusal(s3, bucket, {"RedirectAllRequestsTo": {"HostName": "test"}, **index})
    assert (error["Code"], error["ArgumentName"], error["ArgumentValue"]) == (
        "InvalidArgument", "RedirectAllRequestsTo", "not null")
    error = _refusal(s3, bucket, {"ErrorDocument": {"Key": "e.html"}})
    assert (error["Message"], error["ArgumentName"], error["ArgumentValue"]) == (
        "A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty", "IndexDocument", "null")
    error = _refusal(s3, bucket, {**index, "RoutingRules": [{"Redirect": {"Protocol": "protocol"}}]})
    assert (error["Code"], error["Message"]) == ("InvalidRequest", "Invalid protocol, protocol can be http or https. "
                                                 "If not defined the protocol will be selected automatically.")
    error = _refusal(s3, bucket, {**index, "RoutingRules": [
        {"Redirect": {"ReplaceKeyPrefixWith": "prefix", "ReplaceKeyWith": "key"}}]})
    assert error["Message"] == "You can only define ReplaceKeyPrefix or ReplaceKey but not both."
    error = _refusal(s3, bucket, {**index, "RoutingRules": [{"Redirect": {"HostName": "h"}, "Condition": {}}]})
    assert error["Message"].startswith("Condition cannot be empty.")
    assert _refusal(s3, bucket, {**index, "RoutingRules": []})["Code"] == "MalformedXML"
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={**index, "RoutingRules": [
        {"Condition": {"KeyPrefixEquals": "old/"}, "Redirect": {"ReplaceKeyPrefixWith": "new/", "Protocol": "https"}}]})


def test_an_error_document_with_a_redirect_location_redirects(s3, bucket, endpoint):
    """The error document's own x-amz-website-redirect-location is followed: the 404 is lost."""
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"},
                                                               "ErrorDocument": {"Key": "error.html"}})
    s3.put_object(Bucket=bucket, Key="index.html", WebsiteRedirectLocation="/another/index.html")
    s3.put_object(Bucket=bucket, Key="error.html", Body=b"error_redirected", WebsiteRedirectLocation="/another/error.html")
    first = _website(endpoint, bucket, "/")
    assert (first.status_code, first.headers["location"]) == (301, "/another/index.html")
    missing = _website(endpoint, bucket, "/another/index.html")
    assert (missing.status_code, missing.headers["location"]) == (301, "/another/error.html")
