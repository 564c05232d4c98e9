"""IAM on the wire: raw awsQuery requests and the AWS CLI."""

from __future__ import annotations

import json

import httpx
import pytest

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)
HEADERS = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
    "Content-Type": "application/x-www-form-urlencoded",
}


def _post(endpoint: str, body: str | bytes) -> httpx.Response:
    return httpx.post(endpoint, content=body, headers=HEADERS)


def test_raw_unknown_action_is_invalid_action(endpoint):
    response = _post(endpoint, "Action=CreateUnicorn&Version=2010-05-08")
    assert response.status_code == 400
    assert response.text.startswith("<ErrorResponse")
    assert "<Code>InvalidAction</Code>" in response.text


def test_raw_missing_required_parameter_is_validation_error(endpoint):
    response = _post(endpoint, "Action=GetRole&Version=2010-05-08")
    assert response.status_code == 400
    assert "<Code>ValidationError</Code>" in response.text
    assert "roleName" in response.text


def test_raw_create_role_with_bad_document_is_malformed_policy_document(endpoint, unique_name):
    response = _post(endpoint, f"Action=CreateRole&Version=2010-05-08&RoleName={unique_name('r')}&AssumeRolePolicyDocument=%7Bx")
    assert response.status_code == 400
    assert "<Code>MalformedPolicyDocument</Code>" in response.text


def test_raw_wrong_type_for_max_items_is_validation_error(endpoint):
    response = _post(endpoint, "Action=ListRoles&Version=2010-05-08&MaxItems=lots")
    assert response.status_code == 400
    assert "<Code>ValidationError</Code>" in response.text


def test_raw_undecodable_body_is_4xx_xml_error(endpoint):
    response = _post(endpoint, b"\xff\xfe=\x00&&Action")
    assert 400 <= response.status_code < 500
    assert "<ErrorResponse" in response.text


def test_raw_bad_marker_is_4xx(endpoint):
    response = _post(endpoint, "Action=ListRoles&Version=2010-05-08&Marker=%25%25%25")
    assert 400 <= response.status_code < 500
    assert "<ErrorResponse" in response.text


@pytest.mark.parametrize("action", ["GetRole", "DeleteRole", "ListRolePolicies", "ListAttachedRolePolicies"])
def test_raw_missing_role_is_no_such_entity_404(endpoint, action):
    response = _post(endpoint, f"Action={action}&Version=2010-05-08&RoleName=definitely-missing")
    assert response.status_code == 404
    assert "<Code>NoSuchEntity</Code>" in response.text


def test_cli_create_role_and_get_role(aws_cli, unique_name):
    name = unique_name("cli")
    created = aws_cli("iam", "create-role", "--role-name", name, "--assume-role-policy-document", TRUST)
    assert created["Role"]["RoleName"] == name
    assert created["Role"]["AssumeRolePolicyDocument"] == json.loads(TRUST)
    got = aws_cli("iam", "get-role", "--role-name", name)
    assert got["Role"]["RoleId"] == created["Role"]["RoleId"]


def test_cli_list_roles(aws_cli, unique_name):
    name = unique_name("cli")
    path = f"/{unique_name('clipath')}/"
    aws_cli("iam", "create-role", "--role-name", name, "--path", path, "--assume-role-policy-document", TRUST)
    roles = aws_cli("iam", "list-roles", "--path-prefix", path)["Roles"]
    assert [r["RoleName"] for r in roles] == [name]


def test_cli_create_role_duplicate_fails_with_entity_already_exists(aws_cli, unique_name):
    name = unique_name("cli")
    aws_cli("iam", "create-role", "--role-name", name, "--assume-role-policy-document", TRUST)
    result = aws_cli("iam", "create-role", "--role-name", name, "--assume-role-policy-document", TRUST, check=False)
    assert result.returncode != 0
    assert "EntityAlreadyExists" in result.stderr


def test_raw_unimplemented_operation_is_not_implemented_501(endpoint):
    response = _post(endpoint, "Action=ListSAMLProviders&Version=2010-05-08")
    assert response.status_code == 501
    assert "<Code>NotImplemented</Code>" in response.text
