"""API Gateway control-plane answers as AWS gives them: API key limits, list order and paging,
VPC links, documentation parts and versions."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


@pytest.fixture(scope="module")
def apigw(client):
    return client("apigateway")


def _error(excinfo) -> tuple[str, str, int]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_api_key_limits_answer_aws_messages(apigw):
    with pytest.raises(ClientError) as e:
        apigw.create_api_key(name="a" * 1025)
    assert _error(e) == ("BadRequestException", "Invalid API Key name, can be at most 1024 characters.", 400)
    with pytest.raises(ClientError) as e:
        apigw.create_api_key(value="a" * 129)
    assert _error(e) == ("BadRequestException", "API Key value exceeds maximum size of 128 characters", 400)
    with pytest.raises(ClientError) as e:
        apigw.create_api_key(description="a" * 125001)
    assert _error(e) == ("BadRequestException", "Invalid API Key description specified.", 400)
    key = apigw.create_api_key(name="")
    assert "name" not in key and len(key["value"]) >= 20
    with pytest.raises(ClientError) as e:
        apigw.update_api_key(apiKey=key["id"], patchOperations=[{"op": "replace", "path": "/id", "value": "x"}])
    assert _error(e) == ("BadRequestException", "Invalid patch path  '/id' specified for op 'replace'. Must be one "
                         "of: [/description, /enabled, /name, /customerId]", 400)
    with pytest.raises(ClientError) as e:
        apigw.update_api_key(apiKey=key["id"], patchOperations=[{"op": "replace", "path": "/description",
                                                                 "value": "a" * 125001}])
    assert _error(e)[1] == "Invalid API Key description specified."


def test_api_keys_list_newest_first_with_opaque_positions(apigw):
    first = apigw.create_api_key(name="order-key-1")
    second = apigw.create_api_key(name="order-key-2")
    listed = [k["id"] for k in apigw.get_api_keys(nameQuery="order-key")["items"]]
    assert listed == [second["id"], first["id"]]
    page = apigw.get_api_keys(nameQuery="order-key", limit=1)
    assert page["items"][0]["id"] == second["id"] and not page["position"].isdigit()
    rest = apigw.get_api_keys(nameQuery="order-key", limit=1, position=page["position"])
    assert [k["id"] for k in rest["items"]] == [first["id"]] and "position" not in rest
    assert apigw.get_api_keys(limit=-1)["items"] == []  # AWS answers an empty page, no error


def test_usage_plan_keys_of_unknown_plan_list_empty_and_plans_untagged(apigw):
    assert apigw.get_usage_plan_keys(usagePlanId="bad-id")["items"] == []
    plan = apigw.create_usage_plan(name="untagged-plan", throttle={"rateLimit": 10, "burstLimit": 20})
    assert "tags" not in plan and plan["throttle"] == {"rateLimit": 10.0, "burstLimit": 20}


def test_vpc_link_lifecycle(apigw):
    arn = "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/net/nlb/50dc6c495c0c9188"
    created = apigw.create_vpc_link(name="link", targetArns=[arn])
    assert created["status"] == "PENDING" and created["targetArns"] == [arn] and "tags" not in created
    got = apigw.get_vpc_link(vpcLinkId=created["id"])
    assert got["status"] == "AVAILABLE" and got["statusMessage"] == "Your vpc link is ready for use"
    assert got["tags"] == {}
    listed = [link for link in apigw.get_vpc_links()["items"] if link["id"] == created["id"]]
    assert listed and "tags" not in listed[0]
    updated = apigw.update_vpc_link(vpcLinkId=created["id"],
                                    patchOperations=[{"op": "replace", "path": "/name", "value": "link-2"}])
    assert updated["name"] == "link-2"
    apigw.delete_vpc_link(vpcLinkId=created["id"])
    for call in (lambda: apigw.get_vpc_link(vpcLinkId=created["id"]),
                 lambda: apigw.delete_vpc_link(vpcLinkId=created["id"]),
                 lambda: apigw.update_vpc_link(vpcLinkId="nope", patchOperations=[])):
        with pytest.raises(ClientError) as e:
            call()
        assert _error(e) == ("NotFoundException", "Invalid Vpc Link identifier specified", 404)


def test_vpc_link_invalid_parameters(apigw):
    with pytest.raises(ClientError) as e:
        apigw.create_vpc_link(name="link", targetArns=["invalid-arn"])
    assert _error(e) == ("BadRequestException", "Invalid ARN. ARN is not well formed invalid-arn", 400)
    with pytest.raises(ClientError) as e:
        apigw.create_vpc_link(name="", targetArns=[])
    assert _error(e) == ("BadRequestException", "Name cannot be empty", 400)


def test_update_documentation_part(apigw):
    api = apigw.create_rest_api(name="docs-part")
    part = apigw.create_documentation_part(restApiId=api["id"], location={"type": "API"},
                                           properties='{"description": "one"}')
    updated = apigw.update_documentation_part(restApiId=api["id"], documentationPartId=part["id"], patchOperations=[
        {"op": "replace", "path": "/properties", "value": '{"description": "two"}'}])
    assert updated["properties"] == '{"description": "two"}'
    got = apigw.get_documentation_part(restApiId=api["id"], documentationPartId=part["id"])
    assert got["properties"] == '{"description": "two"}'
    with pytest.raises(ClientError) as e:
        apigw.update_documentation_part(restApiId=api["id"], documentationPartId=part["id"], patchOperations=[
            {"op": "add", "path": "/properties", "value": "{}"}])
    assert _error(e)[1] == "Invalid patch path  '/properties' specified for op 'add'. Please choose supported operations"
    with pytest.raises(ClientError) as e:
        apigw.update_documentation_part(restApiId=api["id"], documentationPartId=part["id"], patchOperations=[
            {"op": "replace", "path": "/invalidPath", "value": "{}"}])
    assert _error(e)[1] == "Invalid patch path  '/invalidPath' specified for op 'replace'. Must be one of: [/properties]"
    with pytest.raises(ClientError) as e:
        apigw.update_documentation_part(restApiId="nope", documentationPartId=part["id"], patchOperations=[])
    assert _error(e) == ("NotFoundException", "Invalid Documentation part identifier specified", 404)


def test_documentation_versions(apigw):
    api = apigw.create_rest_api(name="docs-version")
    apigw.create_documentation_part(restApiId=api["id"], location={"type": "API"}, properties='{"foo": "bar"}')
    created = apigw.create_documentation_version(restApiId=api["id"], documentationVersion="v123")
    assert created["version"] == "v123" and "createdDate" in created and "description" not in created
    updated = apigw.update_documentation_version(restApiId=api["id"], documentationVersion="v123", patchOperations=[
        {"op": "replace", "path": "/description", "value": "doc version new"}])
    assert updated["description"] == "doc version new"
    assert apigw.get_documentation_version(restApiId=api["id"], documentationVersion="v123")["description"] == \
        "doc version new"
    assert [v["version"] for v in apigw.get_documentation_versions(restApiId=api["id"])["items"]] == ["v123"]
    with pytest.raises(ClientError) as e:
        apigw.create_documentation_version(restApiId=api["id"], documentationVersion="v123")
    assert _error(e)[0] == "ConflictException"
    apigw.delete_documentation_version(restApiId=api["id"], documentationVersion="v123")
    with pytest.raises(ClientError) as e:
        apigw.get_documentation_version(restApiId=api["id"], documentationVersion="v123")
    assert _error(e) == ("NotFoundException", "Invalid Documentation version identifier specified", 404)
