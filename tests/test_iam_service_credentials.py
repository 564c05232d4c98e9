"""IAM service-specific credentials: CodeCommit Git credentials and Amazon Keyspaces (Cassandra)
credentials of an IAM user, with AWS's answers and errors."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from error_support import client_error as _error

CODECOMMIT = "codecommit.amazonaws.com"
KEYSPACES = "cassandra.amazonaws.com"


@pytest.fixture
def user(iam, unique_name):
    return iam.create_user(UserName=unique_name("user"))["User"]


@pytest.mark.parametrize("service", [CODECOMMIT, KEYSPACES])
def test_service_specific_credential_lifecycle(iam, user, service):
    name = user["UserName"]
    created = iam.create_service_specific_credential(UserName=name, ServiceName=service)["ServiceSpecificCredential"]
    credential_id = created["ServiceSpecificCredentialId"]
    assert credential_id.startswith("ACCA") and len(credential_id) == 21
    assert created["ServiceUserName"] == f"{name}-at-000000000000"
    assert (created["UserName"], created["ServiceName"], created["Status"]) == (name, service, "Active")
    assert len(created["ServicePassword"]) == 44

    listed = iam.list_service_specific_credentials(UserName=name, ServiceName=service)
    assert "IsTruncated" not in listed
    [entry] = listed["ServiceSpecificCredentials"]
    assert "ServicePassword" not in entry
    assert entry["ServiceSpecificCredentialId"] == credential_id

    iam.update_service_specific_credential(UserName=name, ServiceSpecificCredentialId=credential_id, Status="Inactive")
    [entry] = iam.list_service_specific_credentials(UserName=name)["ServiceSpecificCredentials"]
    assert entry["Status"] == "Inactive"

    reset = iam.reset_service_specific_credential(UserName=name, ServiceSpecificCredentialId=credential_id)
    reset = reset["ServiceSpecificCredential"]
    assert reset["Status"] == "Inactive"
    assert reset["ServicePassword"] != created["ServicePassword"]

    iam.delete_service_specific_credential(UserName=name, ServiceSpecificCredentialId=credential_id)
    assert iam.list_service_specific_credentials(UserName=name)["ServiceSpecificCredentials"] == []


def test_list_for_another_service_is_empty(iam, user):
    iam.create_service_specific_credential(UserName=user["UserName"], ServiceName=CODECOMMIT)
    listed = iam.list_service_specific_credentials(UserName=user["UserName"], ServiceName=KEYSPACES)
    assert listed["ServiceSpecificCredentials"] == []


@pytest.mark.parametrize("service", ["nonexistentservice.amazonaws.com", "o3on3n3onosneo", "lambda.amazonaws.com"])
def test_unsupported_service_is_no_such_entity(iam, user, service):
    message = f"No such service {service} is supported for Service Specific Credentials"
    with pytest.raises(ClientError) as excinfo:
        iam.create_service_specific_credential(UserName=user["UserName"], ServiceName=service)
    assert _error(excinfo) == (404, "NoSuchEntity", message)
    with pytest.raises(ClientError) as excinfo:
        iam.list_service_specific_credentials(UserName=user["UserName"], ServiceName=service)
    assert _error(excinfo) == (404, "NoSuchEntity", message)


def test_missing_user_is_reported_before_the_service(iam):
    with pytest.raises(ClientError) as excinfo:
        iam.create_service_specific_credential(UserName="no-such-user", ServiceName="nonexistentservice.amazonaws.com")
    assert _error(excinfo) == (404, "NoSuchEntity", "The user with name no-such-user cannot be found.")


def test_third_credential_for_a_service_is_limit_exceeded(iam, user):
    for _ in range(2):
        iam.create_service_specific_credential(UserName=user["UserName"], ServiceName=CODECOMMIT)
    with pytest.raises(ClientError) as excinfo:
        iam.create_service_specific_credential(UserName=user["UserName"], ServiceName=CODECOMMIT)
    assert _error(excinfo)[:2] == (409, "LimitExceeded")
    iam.create_service_specific_credential(UserName=user["UserName"], ServiceName=KEYSPACES)


def test_user_with_credential_cannot_be_deleted(iam, user):
    iam.create_service_specific_credential(UserName=user["UserName"], ServiceName=CODECOMMIT)
    with pytest.raises(ClientError) as excinfo:
        iam.delete_user(UserName=user["UserName"])
    assert _error(excinfo) == (409, "DeleteConflict", "Cannot delete entity, must remove referenced objects first.")


def test_wrong_user_or_id(iam, user):
    name = user["UserName"]
    credential_id = iam.create_service_specific_credential(UserName=name, ServiceName=CODECOMMIT)[
        "ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
    with pytest.raises(ClientError) as excinfo:
        iam.reset_service_specific_credential(UserName="wrong-user-name", ServiceSpecificCredentialId=credential_id)
    assert _error(excinfo) == (404, "NoSuchEntity", "The user with name wrong-user-name cannot be found.")
    with pytest.raises(ClientError) as excinfo:
        iam.delete_service_specific_credential(UserName=name, ServiceSpecificCredentialId="satisfiesregexbutstillinvalid")
    assert _error(excinfo) == (404, "NoSuchEntity", "No such credential satisfiesregexbutstillinvalid exists")
    with pytest.raises(ClientError) as excinfo:
        iam.update_service_specific_credential(UserName=name, ServiceSpecificCredentialId="not-an-id-with-hyphens",
                                               Status="Inactive")
    assert _error(excinfo) == (
        400, "ValidationError",
        "1 validation error detected: Value at 'serviceSpecificCredentialId' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\w]+",
    )


def test_bad_status_is_validation_error(iam, user):
    credential_id = iam.create_service_specific_credential(UserName=user["UserName"], ServiceName=CODECOMMIT)[
        "ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
    with pytest.raises(ClientError) as excinfo:
        iam.update_service_specific_credential(ServiceSpecificCredentialId=credential_id, Status="Invalid")
    assert _error(excinfo) == (
        400, "ValidationError",
        "1 validation error detected: Value at 'status' failed to satisfy constraint: Member must satisfy enum value set",
    )


def test_bedrock_api_keys_are_not_implemented(iam, user):
    with pytest.raises(ClientError) as excinfo:
        iam.create_service_specific_credential(UserName=user["UserName"], ServiceName="bedrock.amazonaws.com")
    assert _error(excinfo)[:2] == (501, "NotImplemented")
