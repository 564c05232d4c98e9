"""The server's own endpoints and the behaviour every AWS request shares."""

import httpx


def test_health_reports_version_and_services(endpoint):
    health = httpx.get(f"{endpoint}/_overcast/health").json()
    assert health["status"] == "running"
    assert health["version"]
    assert {"sqs", "sts", "iam"} <= set(health["services"])
    assert health["uptime_seconds"] >= 0


def test_localstack_health_has_localstacks_shape(endpoint):
    health = httpx.get(f"{endpoint}/_localstack/health").json()
    assert "sqs" in health["services"]
    assert health["services"]["sqs"] in ("available", "running")
    assert "version" in health


def test_unknown_internal_endpoint_is_404(endpoint):
    assert httpx.get(f"{endpoint}/_overcast/nope").status_code == 404


def test_unsigned_request_for_no_service_gets_aws_shaped_error(endpoint):
    response = httpx.post(f"{endpoint}/", content=b"{}", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["__type"] == "UnknownService"
    assert response.headers["x-amzn-requestid"]


def test_unimplemented_service_gets_not_implemented(endpoint):
    auth = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/cloudsearch/aws4_request, SignedHeaders=host, Signature=x"
    response = httpx.post(f"{endpoint}/", content=b"{}", headers={"authorization": auth, "content-type": "application/x-amz-json-1.1"})
    assert response.status_code == 501
    assert response.json()["__type"] == "NotImplemented"
