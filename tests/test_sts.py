"""STS through boto3, the AWS CLI and raw awsQuery requests."""

from __future__ import annotations

import base64
import datetime
import json

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from conftest import make_client
from error_support import client_error as _error

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)
SESSION_POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
)


def _client_with(endpoint: str, service: str, credentials: dict):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def _signed_headers(service: str) -> dict:
    return {
        "Authorization": f"AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/{service}/aws4_request, "
        "SignedHeaders=host, Signature=0",
        "Content-Type": "application/x-www-form-urlencoded",
    }


@pytest.fixture(scope="module")
def sts(client):
    return client("sts")


# -- GetCallerIdentity ------------------------------------------------------------------------


def test_get_caller_identity_for_plain_key_is_account_root(sts):
    identity = sts.get_caller_identity()
    assert identity["Account"] == "000000000000"
    assert identity["Arn"] == "arn:aws:iam::000000000000:root"
    assert identity["UserId"] == "000000000000"


def test_get_caller_identity_uses_twelve_digit_key_as_account(client):
    identity = client("sts", access_key="111111111111").get_caller_identity()
    assert identity["Account"] == "111111111111"
    assert identity["Arn"] == "arn:aws:iam::111111111111:root"


@pytest.mark.postgres_e2e
def test_get_caller_identity_for_iam_user_access_key(client, endpoint, unique_name):
    iam = client("iam")
    name = unique_name("user")
    user = iam.create_user(UserName=name)["User"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    sts = boto3.client(
        "sts", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
    )
    identity = sts.get_caller_identity()
    assert identity["Arn"] == user["Arn"]
    assert identity["UserId"] == user["UserId"]
    assert identity["Account"] == "000000000000"


# -- AssumeRole -------------------------------------------------------------------------------


@pytest.mark.postgres_e2e
def test_assume_role_issues_temporary_credentials(client):
    before = datetime.datetime.now(datetime.UTC)
    sts = client("sts", access_key="123456789012")  # a role of the caller's own account: trust is not checked
    result = sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/demo", RoleSessionName="session-1")
    credentials = result["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA") and len(credentials["AccessKeyId"]) == 20
    assert len(credentials["SecretAccessKey"]) == 40
    assert credentials["SessionToken"]
    lifetime = (credentials["Expiration"] - before).total_seconds()
    assert 3590 <= lifetime <= 3610
    assert result["AssumedRoleUser"]["Arn"] == "arn:aws:sts::123456789012:assumed-role/demo/session-1"
    assert result["AssumedRoleUser"]["AssumedRoleId"].startswith("AROA")
    assert result["AssumedRoleUser"]["AssumedRoleId"].endswith(":session-1")
    assert "PackedPolicySize" not in result


@pytest.mark.postgres_e2e
def test_assumed_role_credentials_work_and_carry_the_role_identity(client, endpoint, unique_name):
    iam = client("iam")
    name = unique_name("role")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST, Path="/app/")["Role"]
    result = client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="worker")
    identity = _client_with(endpoint, "sts", result["Credentials"]).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::000000000000:assumed-role/{name}/worker"
    assert identity["UserId"] == f"{role['RoleId']}:worker"
    assert identity["Account"] == "000000000000"
    assert result["AssumedRoleUser"]["AssumedRoleId"] == f"{role['RoleId']}:worker"


def test_assumed_role_credentials_work_for_other_services(client, endpoint):
    result = client("sts").assume_role(RoleArn="arn:aws:iam::000000000000:role/anything", RoleSessionName="other")
    iam = _client_with(endpoint, "iam", result["Credentials"])
    assert "Roles" in iam.list_roles(MaxItems=1)


def test_assume_role_duration_seconds_sets_expiration(sts):
    before = datetime.datetime.now(datetime.UTC)
    result = sts.assume_role(RoleArn="arn:aws:iam::000000000000:role/d", RoleSessionName="short", DurationSeconds=900)
    lifetime = (result["Credentials"]["Expiration"] - before).total_seconds()
    assert 890 <= lifetime <= 910


def test_assume_role_with_session_policy_reports_packed_policy_size(sts):
    result = sts.assume_role(RoleArn="arn:aws:iam::000000000000:role/p", RoleSessionName="pol", Policy=SESSION_POLICY)
    assert 0 < result["PackedPolicySize"] <= 100


def test_assume_role_echoes_source_identity(sts):
    result = sts.assume_role(RoleArn="arn:aws:iam::000000000000:role/p", RoleSessionName="src", SourceIdentity="alice")
    assert result["SourceIdentity"] == "alice"


def test_assume_role_with_malformed_role_arn_is_validation_error(sts):
    with pytest.raises(ClientError) as excinfo:
        sts.assume_role(RoleArn="arn:aws:s3:::not-a-role-arn", RoleSessionName="bad")
    assert _error(excinfo) == (400, "ValidationError", "Request ARN is invalid")


@pytest.mark.parametrize("arn", ["nothing-valid-in-here", "arn::b:::something/test-role", "arn:a::::something/test-role",
                                 "arn:a:::something/test-role", "arn:a:a::aaaaaaaaaa:"])
def test_assume_role_with_what_is_no_arn_names_it_invalid(sts, arn):
    # AWS's recorded answers: a string that is no ARN at all is quoted back
    with pytest.raises(ClientError) as excinfo:
        sts.assume_role(RoleArn=arn, RoleSessionName="Session1")
    assert _error(excinfo) == (400, "ValidationError", f"{arn} is invalid")


@pytest.mark.postgres_e2e
def test_session_tags_are_checked_and_transitive_ones_bind_a_role_chain(client, endpoint, unique_name):
    iam, sts = client("iam"), client("sts")
    roles = [iam.create_role(RoleName=unique_name("chain"), AssumeRolePolicyDocument=TRUST)["Role"] for _ in range(2)]
    tag = [{"Key": "SessionTag1", "Value": "SessionValue1"}]
    with pytest.raises(ClientError) as excinfo:
        sts.assume_role(RoleArn=roles[0]["Arn"], RoleSessionName="s1", Tags=tag, TransitiveTagKeys=["InvalidKey"])
    assert _error(excinfo) == (400, "InvalidParameterValue",
                               "The specified transitive tag key must be included in the requested tags.")
    with pytest.raises(ClientError) as excinfo:
        sts.assume_role(RoleArn=roles[0]["Arn"], RoleSessionName="s1",
                        Tags=tag + [{"Key": "sessiontag1", "Value": "v2"}], TransitiveTagKeys=["sessiontag1"])
    assert _error(excinfo) == (400, "InvalidParameterValue",
                               "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
    # transitive keys compare case-insensitively
    first = sts.assume_role(RoleArn=roles[0]["Arn"], RoleSessionName="s1", Tags=tag, TransitiveTagKeys=["sessiontag1"])
    chained = _client_with(endpoint, "sts", first["Credentials"])
    conflict = ("One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key "
                "from the calling session.")
    for key in ("SessionTag1", "SESSIONTAG1"):
        with pytest.raises(ClientError) as excinfo:
            chained.assume_role(RoleArn=roles[1]["Arn"], RoleSessionName="s2", Tags=[{"Key": key, "Value": "x"}])
        assert _error(excinfo) == (400, "InvalidParameterValue", conflict)
    # the chain's next session inherits the transitive tag: its own chained session may not set it either
    second = chained.assume_role(RoleArn=roles[1]["Arn"], RoleSessionName="s2", Tags=[{"Key": "other", "Value": "x"}])
    with pytest.raises(ClientError) as excinfo:
        _client_with(endpoint, "sts", second["Credentials"]).assume_role(
            RoleArn=roles[0]["Arn"], RoleSessionName="s3", Tags=tag)
    assert _error(excinfo) == (400, "InvalidParameterValue", conflict)


def test_assume_role_with_duration_below_900_is_validation_error(client):
    sts = client("sts", parameter_validation=False)  # boto3 would refuse it before sending
    with pytest.raises(ClientError) as excinfo:
        sts.assume_role(RoleArn="arn:aws:iam::000000000000:role/d", RoleSessionName="low", DurationSeconds=100)
    status, code, message = _error(excinfo)
    assert (status, code) == (400, "ValidationError")
    assert "Member must have value greater than or equal to 900" in message


def test_assume_role_with_duration_above_43200_is_validation_error(sts):
    with pytest.raises(ClientError) as excinfo:
        sts.assume_role(RoleArn="arn:aws:iam::000000000000:role/d", RoleSessionName="high", DurationSeconds=43201)
    status, code, message = _error(excinfo)
    assert (status, code) == (400, "ValidationError")
    assert "Member must have value less than or equal to 43200" in message


def test_assume_role_beyond_role_max_session_duration_is_validation_error(client, unique_name):
    role = client("iam").create_role(RoleName=unique_name("r"), AssumeRolePolicyDocument=TRUST)["Role"]
    with pytest.raises(ClientError) as excinfo:
        client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="long", DurationSeconds=7200)
    assert _error(excinfo) == (
        400, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    )


def test_assume_role_with_invalid_session_name_is_validation_error(sts):
    with pytest.raises(ClientError) as excinfo:
        sts.assume_role(RoleArn="arn:aws:iam::000000000000:role/d", RoleSessionName="has space")
    status, code, message = _error(excinfo)
    assert (status, code) == (400, "ValidationError")
    assert "at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern" in message


def test_assume_role_with_malformed_session_policy_is_malformed_policy_document(sts):
    with pytest.raises(ClientError) as excinfo:
        sts.assume_role(RoleArn="arn:aws:iam::000000000000:role/d", RoleSessionName="mal", Policy="{not json")
    assert _error(excinfo)[:2] == (400, "MalformedPolicyDocument")


# -- other credentials ------------------------------------------------------------------------


@pytest.mark.postgres_e2e
def test_get_session_token_keeps_the_caller_identity(client, endpoint):
    result = client("sts", access_key="222222222222").get_session_token(DurationSeconds=900)
    credentials = result["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    identity = _client_with(endpoint, "sts", credentials).get_caller_identity()
    assert identity["Arn"] == "arn:aws:iam::222222222222:root"


def test_get_session_token_with_duration_above_129600_is_validation_error(sts):
    with pytest.raises(ClientError) as excinfo:
        sts.get_session_token(DurationSeconds=129601)
    assert _error(excinfo)[:2] == (400, "ValidationError")


def test_get_session_token_with_session_credentials_is_access_denied(sts, endpoint):
    credentials = sts.assume_role(RoleArn="arn:aws:iam::000000000000:role/x", RoleSessionName="s1")["Credentials"]
    with pytest.raises(ClientError) as excinfo:
        _client_with(endpoint, "sts", credentials).get_session_token()
    assert _error(excinfo)[:2] == (403, "AccessDenied")


def test_get_federation_token_returns_federated_user(client, endpoint):
    result = client("sts", access_key="333333333333").get_federation_token(Name="bob", Policy=SESSION_POLICY)
    assert result["FederatedUser"] == {
        "Arn": "arn:aws:sts::333333333333:federated-user/bob",
        "FederatedUserId": "333333333333:bob",
    }
    assert result["PackedPolicySize"] > 0
    identity = _client_with(endpoint, "sts", result["Credentials"]).get_caller_identity()
    assert identity["Arn"] == "arn:aws:sts::333333333333:federated-user/bob"


def test_assume_role_with_web_identity_reads_token_claims(sts, endpoint):
    claims = {"sub": "user-42", "aud": "my-client", "iss": "https://issuer.example.com"}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    token = f"eyJhbGciOiJSUzI1NiJ9.{payload}.not-checked"
    result = sts.assume_role_with_web_identity(
        RoleArn="arn:aws:iam::000000000000:role/web", RoleSessionName="web-session", WebIdentityToken=token
    )
    assert result["SubjectFromWebIdentityToken"] == "user-42"
    assert result["Audience"] == "my-client"
    assert result["Provider"] == "issuer.example.com"
    assert result["AssumedRoleUser"]["Arn"] == "arn:aws:sts::000000000000:assumed-role/web/web-session"
    identity = _client_with(endpoint, "sts", result["Credentials"]).get_caller_identity()
    assert identity["Arn"] == result["AssumedRoleUser"]["Arn"]


def test_assume_role_with_saml_uses_assertion_subject(sts):
    assertion = base64.b64encode(
        b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        b'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><saml:Issuer>https://idp.example.com</saml:Issuer>'
        b"<saml:Assertion><saml:Subject><saml:NameID Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:transient\">"
        b"alice@example.com</saml:NameID></saml:Subject><saml:AttributeStatement>"
        b'<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName">'
        b"<saml:AttributeValue>alice</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>"
        b"</saml:Assertion></samlp:Response>"
    ).decode()
    result = sts.assume_role_with_saml(
        RoleArn="arn:aws:iam::000000000000:role/saml",
        PrincipalArn="arn:aws:iam::000000000000:saml-provider/corp",
        SAMLAssertion=assertion,
    )
    assert result["Subject"] == "alice@example.com"
    assert result["SubjectType"] == "transient"
    assert result["Issuer"] == "https://idp.example.com"
    assert result["AssumedRoleUser"]["Arn"] == "arn:aws:sts::000000000000:assumed-role/saml/alice"
    assert result["Credentials"]["AccessKeyId"].startswith("ASIA")


def test_get_access_key_info_for_issued_credentials(client):
    credentials = client("sts", access_key="444444444444").get_session_token()["Credentials"]
    assert client("sts").get_access_key_info(AccessKeyId=credentials["AccessKeyId"])["Account"] == "444444444444"


def test_get_access_key_info_for_unknown_key_is_default_account(sts):
    assert sts.get_access_key_info(AccessKeyId="AKIAIOSFODNN7EXAMPLE")["Account"] == "000000000000"


def test_get_access_key_info_for_iam_user_key(client, unique_name):
    iam = client("iam", access_key="555555555555")
    name = unique_name("keyuser")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    assert client("sts").get_access_key_info(AccessKeyId=key)["Account"] == "555555555555"


def test_decode_authorization_message_is_invalid_authorization_message(sts):
    with pytest.raises(ClientError) as excinfo:
        sts.decode_authorization_message(EncodedMessage="abc")
    assert _error(excinfo)[:2] == (400, "InvalidAuthorizationMessageException")


# -- the wire and the CLI ---------------------------------------------------------------------


def test_raw_unknown_action_is_invalid_action_xml_error(endpoint):
    response = httpx.post(endpoint, content="Action=Bogus&Version=2011-06-15", headers=_signed_headers("sts"))
    assert response.status_code == 400
    assert "<ErrorResponse" in response.text
    assert "<Code>InvalidAction</Code>" in response.text


def test_raw_assume_role_without_session_name_is_validation_error_xml(endpoint):
    body = "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A000000000000%3Arole%2Fx"
    response = httpx.post(endpoint, content=body, headers=_signed_headers("sts"))
    assert response.status_code == 400
    assert "<Code>ValidationError</Code>" in response.text
    assert "Value null at &apos;roleSessionName&apos;" in response.text or "Value null at 'roleSessionName'" in response.text


def test_raw_get_caller_identity_answers_xml(endpoint):
    response = httpx.post(endpoint, content="Action=GetCallerIdentity&Version=2011-06-15", headers=_signed_headers("sts"))
    assert response.status_code == 200
    assert "<Arn>arn:aws:iam::000000000000:root</Arn>" in response.text


def test_cli_get_caller_identity(aws_cli):
    assert aws_cli("sts", "get-caller-identity") == {
        "UserId": "000000000000",
        "Account": "000000000000",
        "Arn": "arn:aws:iam::000000000000:root",
    }


def test_cli_assume_role(aws_cli):
    result = aws_cli(
        "sts", "assume-role", "--role-arn", "arn:aws:iam::000000000000:role/cli", "--role-session-name", "cli-session"
    )
    assert result["AssumedRoleUser"]["Arn"] == "arn:aws:sts::000000000000:assumed-role/cli/cli-session"
    assert result["Credentials"]["AccessKeyId"].startswith("ASIA")


@pytest.mark.postgres_e2e
def test_assumed_role_credentials_act_in_the_roles_account(client, endpoint, unique_name):
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"}, "Action": "sts:AssumeRole"}]})
    role_arn = client("iam", access_key="222233334444").create_role(
        RoleName=unique_name("cross"), AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    credentials = client("sts").assume_role(RoleArn=role_arn, RoleSessionName="cross-session")["Credentials"]
    session_iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    name = unique_name("role")
    session_iam.create_role(RoleName=name, AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}')
    created = make_client(endpoint, "iam", access_key="222233334444").get_role(RoleName=name)["Role"]
    assert created["Arn"] == f"arn:aws:iam::222233334444:role/{name}"


def test_get_user_without_name_as_a_role_session_is_validation_error(client, endpoint):
    result = client("sts").assume_role(RoleArn="arn:aws:iam::000000000000:role/anything", RoleSessionName="no-user")
    with pytest.raises(ClientError) as excinfo:
        _client_with(endpoint, "iam", result["Credentials"]).get_user()
    error = excinfo.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "ValidationError", "1 validation error detected: Must specify userName when calling with non-User credentials"
    )
