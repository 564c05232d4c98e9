"""Secrets Manager through boto3 and the AWS CLI: versions and staging labels, idempotency,
listing with filters, deletion with a recovery window, resource policies, random passwords, and
rotation through a real rotation Lambda."""

from __future__ import annotations

import json
import string
import time
import uuid

import pytest
from botocore.exceptions import ClientError
from conftest import OvercastProcess, make_client, stored_rows
from lambda_functions import create_python, source


@pytest.fixture(scope="module")
def sm(client):
    return client("secretsmanager")


def error(excinfo) -> tuple[str, str]:
    e = excinfo.value.response
    return e["Error"]["Code"], e["Error"].get("Message", "")


@pytest.fixture
def name(unique_name):
    return "app/" + unique_name("secret")


def eventually(check, timeout: float = 30.0):
    """Poll `check` until it returns a truthy value (rotation runs after RotateSecret answers)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


@pytest.mark.postgres_e2e
def test_create_and_get_string(sm, name):
    out = sm.create_secret(Name=name, SecretString='{"password":"p1"}', Description="db")
    assert out["Name"] == name and len(out["VersionId"]) == 36
    assert out["ARN"].startswith(f"arn:aws:secretsmanager:us-east-1:000000000000:secret:{name}-")
    assert len(out["ARN"].rsplit("-", 1)[1]) == 6
    got = sm.get_secret_value(SecretId=name)
    assert got["SecretString"] == '{"password":"p1"}' and got["VersionStages"] == ["AWSCURRENT"]
    assert got["ARN"] == out["ARN"] and got["VersionId"] == out["VersionId"]
    assert sm.get_secret_value(SecretId=out["ARN"])["SecretString"] == '{"password":"p1"}'
    partial = out["ARN"].rsplit("-", 1)[0]
    assert sm.get_secret_value(SecretId=partial)["VersionId"] == out["VersionId"]


def test_binary_secret(sm, name):
    sm.create_secret(Name=name, SecretBinary=b"\x00\x01binary")
    got = sm.get_secret_value(SecretId=name)
    assert got["SecretBinary"] == b"\x00\x01binary" and "SecretString" not in got


def test_missing_secret(sm):
    with pytest.raises(ClientError) as e:
        sm.get_secret_value(SecretId="does/not/exist")
    assert error(e) == ("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")


def test_create_twice_answers_exists_and_token_is_idempotent(sm, name):
    token = str(uuid.uuid4())
    first = sm.create_secret(Name=name, SecretString="v", ClientRequestToken=token)
    again = sm.create_secret(Name=name, SecretString="v", ClientRequestToken=token)
    assert again["VersionId"] == first["VersionId"] == token
    with pytest.raises(ClientError) as e:
        sm.create_secret(Name=name, SecretString="other")
    assert error(e)[0] == "ResourceExistsException"


def test_both_string_and_binary_rejected(sm, name):
    with pytest.raises(ClientError) as e:
        sm.create_secret(Name=name, SecretString="a", SecretBinary=b"b")
    assert error(e)[0] == "InvalidParameterException"


def test_invalid_name(sm):
    with pytest.raises(ClientError) as e:
        sm.create_secret(Name="bad name#", SecretString="v")
    assert error(e) == ("ValidationException", "Invalid name. Must be a valid name containing alphanumeric "
                        "characters, or any of the following: -/_+=.@!")


def test_value_size_limit(sm, name):
    sm.create_secret(Name=name, SecretString="x" * 65536)
    with pytest.raises(ClientError) as e:
        sm.put_secret_value(SecretId=name, SecretString="x" * 65537)
    assert error(e)[0] == "ValidationException"
    with pytest.raises(ClientError) as e:
        sm.put_secret_value(SecretId=name, SecretString="é" * 40000)  # 80,000 bytes
    assert error(e)[0] == "ValidationException"


@pytest.mark.postgres_e2e
def test_put_secret_value_moves_current_and_previous(sm, name):
    v1 = sm.create_secret(Name=name, SecretString="one")["VersionId"]
    v2 = sm.put_secret_value(SecretId=name, SecretString="two")["VersionId"]
    v3 = sm.put_secret_value(SecretId=name, SecretString="three")["VersionId"]
    stages = sm.describe_secret(SecretId=name)["VersionIdsToStages"]
    assert stages == {v3: ["AWSCURRENT"], v2: ["AWSPREVIOUS"]}
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"] == "two"
    assert sm.get_secret_value(SecretId=name, VersionId=v1)["SecretString"] == "one"  # deprecated, still readable
    listed = sm.list_secret_version_ids(SecretId=name)["Versions"]
    assert {v["VersionId"] for v in listed} == {v2, v3}
    listed = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
    # AWS lists a deprecated version without VersionStages
    assert {v["VersionId"]: v.get("VersionStages") for v in listed} == {
        v1: None, v2: ["AWSPREVIOUS"], v3: ["AWSCURRENT"]}


def test_put_with_pending_stage_keeps_current(sm, name):
    sm.create_secret(Name=name, SecretString="live")
    out = sm.put_secret_value(SecretId=name, SecretString="next", VersionStages=["AWSPENDING"])
    assert out["VersionStages"] == ["AWSPENDING"]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "live"
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPENDING")["SecretString"] == "next"


def test_put_same_token_different_value(sm, name):
    sm.create_secret(Name=name, SecretString="a")
    token = str(uuid.uuid4())
    sm.put_secret_value(SecretId=name, SecretString="b", ClientRequestToken=token)
    assert sm.put_secret_value(SecretId=name, SecretString="b", ClientRequestToken=token)["VersionId"] == token
    with pytest.raises(ClientError) as e:
        sm.put_secret_value(SecretId=name, SecretString="c", ClientRequestToken=token)
    assert error(e)[0] == "ResourceExistsException"


def test_missing_version_and_stage(sm, name):
    sm.create_secret(Name=name, SecretString="a")
    with pytest.raises(ClientError) as e:
        sm.get_secret_value(SecretId=name, VersionStage="AWSPENDING")
    assert error(e) == ("ResourceNotFoundException",
                        "Secrets Manager can't find the specified secret value for staging label: AWSPENDING")
    missing = str(uuid.uuid4())
    with pytest.raises(ClientError) as e:
        sm.get_secret_value(SecretId=name, VersionId=missing)
    assert error(e) == ("ResourceNotFoundException",
                        f"Secrets Manager can't find the specified secret value for VersionId: {missing}")


@pytest.mark.postgres_e2e
def test_update_secret_and_version_stage(sm, name):
    v1 = sm.create_secret(Name=name, SecretString="a")["VersionId"]
    out = sm.update_secret(SecretId=name, Description="new", KmsKeyId="alias/mine", SecretString="b")
    v2 = out["VersionId"]
    described = sm.describe_secret(SecretId=name)
    assert described["Description"] == "new" and described["KmsKeyId"] == "alias/mine"
    with pytest.raises(ClientError) as e:
        sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=v1)
    assert error(e)[0] == "InvalidParameterException"
    sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=v1, RemoveFromVersionId=v2)
    assert sm.describe_secret(SecretId=name)["VersionIdsToStages"] == {v1: ["AWSCURRENT"], v2: ["AWSPREVIOUS"]}
    sm.update_secret_version_stage(SecretId=name, VersionStage="blue", MoveToVersionId=v2)
    assert sm.get_secret_value(SecretId=name, VersionStage="blue")["SecretString"] == "b"
    sm.update_secret_version_stage(SecretId=name, VersionStage="blue", RemoveFromVersionId=v2)
    assert sm.describe_secret(SecretId=name)["VersionIdsToStages"][v2] == ["AWSPREVIOUS"]


def test_describe_dates_and_last_accessed(sm, name):
    sm.create_secret(Name=name, SecretString="a", Tags=[{"Key": "team", "Value": "red"}])
    described = sm.describe_secret(SecretId=name)
    assert "LastAccessedDate" not in described and "RotationEnabled" not in described
    assert described["CreatedDate"] <= described["LastChangedDate"]
    assert described["Tags"] == [{"Key": "team", "Value": "red"}]
    sm.get_secret_value(SecretId=name)
    assert sm.describe_secret(SecretId=name)["LastAccessedDate"].hour == 0  # kept to the day


@pytest.mark.postgres_e2e
def test_list_secrets_filters(sm, unique_name):
    prefix = unique_name("list")
    sm.create_secret(Name=f"{prefix}/alpha", SecretString="a", Description="Payments database",
                     Tags=[{"Key": "env", "Value": "prod"}])
    sm.create_secret(Name=f"{prefix}/beta", SecretString="b", Description="cache", Tags=[{"Key": "env", "Value": "dev"}])

    def names(filters, **kwargs):
        return sorted(s["Name"] for page in sm.get_paginator("list_secrets").paginate(Filters=filters, **kwargs)
                      for s in page["SecretList"])

    assert names([{"Key": "name", "Values": [prefix]}]) == [f"{prefix}/alpha", f"{prefix}/beta"]
    assert names([{"Key": "name", "Values": [prefix]}, {"Key": "description", "Values": ["payments"]}]) == [
        f"{prefix}/alpha"]
    assert names([{"Key": "name", "Values": [prefix]}, {"Key": "tag-value", "Values": ["dev"]}]) == [f"{prefix}/beta"]
    assert names([{"Key": "name", "Values": [prefix]}, {"Key": "tag-key", "Values": ["!env"]}]) == []
    assert names([{"Key": "all", "Values": [prefix]}, {"Key": "all", "Values": ["Database"]}]) == [f"{prefix}/alpha"]
    paged = [s["Name"] for page in sm.get_paginator("list_secrets").paginate(
        Filters=[{"Key": "name", "Values": [prefix]}], PaginationConfig={"PageSize": 1}) for s in page["SecretList"]]
    assert sorted(paged) == [f"{prefix}/alpha", f"{prefix}/beta"]
    entry = sm.list_secrets(Filters=[{"Key": "name", "Values": [f"{prefix}/alpha"]}])["SecretList"][0]
    assert list(entry["SecretVersionsToStages"].values()) == [["AWSCURRENT"]]


@pytest.mark.postgres_e2e
def test_delete_with_recovery_window_and_restore(sm, name):
    arn = sm.create_secret(Name=name, SecretString="a")["ARN"]
    out = sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    assert out["ARN"] == arn
    days = (out["DeletionDate"] - sm.describe_secret(SecretId=name)["LastChangedDate"]).total_seconds() / 86400
    assert 6.9 < days < 7.1
    for call in (lambda: sm.get_secret_value(SecretId=name), lambda: sm.put_secret_value(SecretId=name, SecretString="b"),
                 lambda: sm.update_secret(SecretId=name, Description="x")):
        with pytest.raises(ClientError) as e:
            call()
        assert error(e) == ("InvalidRequestException",
                            "You can't perform this operation on the secret because it was marked for deletion.")
    assert "DeletedDate" in sm.describe_secret(SecretId=name)
    listed = sm.list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"]
    assert listed == []
    listed = sm.list_secrets(Filters=[{"Key": "name", "Values": [name]}], IncludePlannedDeletion=True)["SecretList"]
    assert [s["Name"] for s in listed] == [name]
    with pytest.raises(ClientError) as e:
        sm.create_secret(Name=name, SecretString="again")
    assert error(e)[0] == "InvalidRequestException"
    sm.restore_secret(SecretId=name)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "a"
    assert "DeletedDate" not in sm.describe_secret(SecretId=name)


def test_delete_window_bounds_and_force(sm, name):
    sm.create_secret(Name=name, SecretString="a")
    for days in (6, 31):
        with pytest.raises(ClientError) as e:
            sm.delete_secret(SecretId=name, RecoveryWindowInDays=days)
        assert error(e)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        sm.delete_secret(SecretId=name, RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True)
    assert error(e)[0] == "InvalidParameterException"
    sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    with pytest.raises(ClientError) as e:
        sm.describe_secret(SecretId=name)
    assert error(e)[0] == "ResourceNotFoundException"
    sm.create_secret(Name=name, SecretString="reborn")  # the name is free again


def test_default_recovery_window_is_thirty_days(sm, name):
    sm.create_secret(Name=name, SecretString="a")
    before = time.time()
    deletion = sm.delete_secret(SecretId=name)["DeletionDate"].timestamp()
    assert abs(deletion - before - 30 * 86400) < 60


def test_deletion_happens_at_the_date_even_after_a_restart(tmp_path):
    env = {"OVERCAST_SECRETSMANAGER_DAY_SECONDS": "0.2"}  # a 7-day window lasts 1.4 s
    server = OvercastProcess(data_dir=str(tmp_path), env=env)
    try:
        sm = make_client(server.endpoint, "secretsmanager")
        sm.create_secret(Name="doomed", SecretString="a")
        sm.create_secret(Name="kept", SecretString="b")
        sm.delete_secret(SecretId="doomed", RecoveryWindowInDays=7)
    finally:
        server.stop(kill=True)
    server = OvercastProcess(data_dir=str(tmp_path), env=env)
    try:
        sm = make_client(server.endpoint, "secretsmanager")

        def gone():
            try:
                sm.describe_secret(SecretId="doomed")
                return False
            except ClientError as e:
                return error_code(e) == "ResourceNotFoundException"

        assert eventually(gone, timeout=10)
        assert sm.get_secret_value(SecretId="kept")["SecretString"] == "b"
    finally:
        server.stop()


def error_code(e: ClientError) -> str:
    return e.response["Error"]["Code"]


def test_values_are_encrypted_at_rest(tmp_path):
    server = OvercastProcess(data_dir=str(tmp_path))
    try:
        make_client(server.endpoint, "secretsmanager").create_secret(Name="s", SecretString="plain-text-password")
    finally:
        server.stop()
    values = [bytes(v) for (v,) in stored_rows(tmp_path, "SELECT value FROM sm_versions")]
    assert values and not any(b"plain-text-password" in v for v in values)


@pytest.mark.postgres_e2e
def test_tags(sm, name):
    sm.create_secret(Name=name, SecretString="a", Tags=[{"Key": "a", "Value": "1"}])
    sm.tag_resource(SecretId=name, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "changed"}])
    sm.untag_resource(SecretId=name, TagKeys=["b"])
    assert sm.describe_secret(SecretId=name)["Tags"] == [{"Key": "a", "Value": "changed"}]
    with pytest.raises(ClientError) as e:
        sm.tag_resource(SecretId=name, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert error(e)[0] == "InvalidParameterException"


@pytest.mark.postgres_e2e
def test_resource_policy(sm, name):
    sm.create_secret(Name=name, SecretString="a")
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
        "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
    sm.put_resource_policy(SecretId=name, ResourcePolicy=policy)
    assert json.loads(sm.get_resource_policy(SecretId=name)["ResourcePolicy"]) == json.loads(policy)
    public = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
    with pytest.raises(ClientError) as e:
        sm.put_resource_policy(SecretId=name, ResourcePolicy=public, BlockPublicPolicy=True)
    assert error(e)[0] == "PublicPolicyException"
    with pytest.raises(ClientError) as e:
        sm.put_resource_policy(SecretId=name, ResourcePolicy="{not json")
    assert error(e)[0] == "MalformedPolicyDocumentException"
    sm.delete_resource_policy(SecretId=name)
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=name)
    checked = sm.validate_resource_policy(ResourcePolicy=json.dumps({"Statement": [{"Effect": "Allow",
                                                                                   "Action": "x"}]}))
    assert checked["PolicyValidationPassed"] is False and checked["ValidationErrors"]
    assert sm.validate_resource_policy(SecretId=name, ResourcePolicy=policy)["PolicyValidationPassed"] is True


def test_random_password_defaults_and_options(sm):
    password = sm.get_random_password()["RandomPassword"]
    assert len(password) == 32
    assert {bool(set(password) & set(chars)) for chars in (string.ascii_lowercase, string.ascii_uppercase,
                                                            string.digits, string.punctuation)} == {True}
    only_digits = sm.get_random_password(PasswordLength=50, ExcludeLowercase=True, ExcludeUppercase=True,
                                         ExcludePunctuation=True)["RandomPassword"]
    assert len(only_digits) == 50 and only_digits.isdigit()
    no_vowels = sm.get_random_password(PasswordLength=200, ExcludeCharacters="aeiouAEIOU")["RandomPassword"]
    assert not set(no_vowels) & set("aeiouAEIOU")
    spaced = sm.get_random_password(PasswordLength=4, IncludeSpace=True, ExcludeLowercase=True, ExcludeUppercase=True,
                                    ExcludeNumbers=True, ExcludePunctuation=True)["RandomPassword"]
    assert spaced == "    "
    with pytest.raises(ClientError) as e:
        sm.get_random_password(PasswordLength=2)  # four required types do not fit in two characters
    assert error(e)[0] == "InvalidParameterException"
    assert len(sm.get_random_password(PasswordLength=2, RequireEachIncludedType=False)["RandomPassword"]) == 2
    with pytest.raises(ClientError) as e:
        sm.get_random_password(ExcludeLowercase=True, ExcludeUppercase=True, ExcludeNumbers=True,
                               ExcludePunctuation=True)
    assert error(e)[0] == "InvalidParameterException"


@pytest.mark.postgres_e2e
def test_batch_get_secret_value(sm, name):
    sm.create_secret(Name=name, SecretString="a")
    out = sm.batch_get_secret_value(SecretIdList=[name, "missing/secret"])
    assert [v["SecretString"] for v in out["SecretValues"]] == ["a"]
    assert out["Errors"][0]["SecretId"] == "missing/secret"
    assert out["Errors"][0]["ErrorCode"] == "ResourceNotFoundException"
    out = sm.batch_get_secret_value(Filters=[{"Key": "name", "Values": [name]}])
    assert [v["Name"] for v in out["SecretValues"]] == [name]


def test_accounts_and_regions_are_separate(client, name):
    mine = client("secretsmanager", access_key="222222222222")
    mine.create_secret(Name=name, SecretString="a")
    for other in (client("secretsmanager"), client("secretsmanager", region="eu-west-1", access_key="222222222222")):
        with pytest.raises(ClientError) as e:
            other.get_secret_value(SecretId=name)
        assert error_code(e.value) == "ResourceNotFoundException"


def test_another_account_reads_only_what_the_resource_policy_grants(client, name):
    owner = client("secretsmanager", access_key="444444444444")
    other = client("secretsmanager", access_key="555555555555")
    # a value leaves its account only under a customer managed key (the default key can't be shared)
    key = client("kms", access_key="444444444444").create_key()["KeyMetadata"]["Arn"]
    arn = owner.create_secret(Name=name, SecretString="shared", KmsKeyId=key)["ARN"]
    with pytest.raises(ClientError) as e:
        other.get_secret_value(SecretId=arn)
    assert error(e)[0] == "AccessDeniedException"
    assert "because no resource-based policy allows the secretsmanager:GetSecretValue action" in error(e)[1]
    owner.put_resource_policy(SecretId=name, ResourcePolicy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::555555555555:root"},
        "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], "Resource": "*"}]}))
    assert other.get_secret_value(SecretId=arn)["SecretString"] == "shared"
    assert other.describe_secret(SecretId=arn)["Name"] == name
    with pytest.raises(ClientError) as e:
        other.put_secret_value(SecretId=arn, SecretString="overwritten")
    assert error(e)[0] == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        other.get_secret_value(SecretId=name)  # a bare name is always the caller's own account
    assert error(e)[0] == "ResourceNotFoundException"
    assert owner.get_secret_value(SecretId=name)["SecretString"] == "shared"


def test_cli(aws_cli, name):
    created = aws_cli("secretsmanager", "create-secret", "--name", name, "--secret-string", "from-cli")
    got = aws_cli("secretsmanager", "get-secret-value", "--secret-id", created["ARN"])
    assert got["SecretString"] == "from-cli"
    result = aws_cli("secretsmanager", "get-secret-value", "--secret-id", name + "-none", check=False)
    assert result.returncode != 0 and "ResourceNotFoundException" in result.stderr


# -- rotation -----------------------------------------------------------------------------------


def allow_secrets_manager(lam, function_name: str) -> None:
    """AWS invokes a rotation function as secretsmanager.amazonaws.com: its policy must say so."""
    lam.add_permission(FunctionName=function_name, StatementId="SecretsManagerRotation",
                       Action="lambda:InvokeFunction", Principal="secretsmanager.amazonaws.com")


@pytest.fixture
def rotation_function(client, unique_name):
    lam = client("lambda")

    def make(fail_step: str | None = None) -> tuple[str, str]:
        fn = unique_name("rotate")
        database = "/" + unique_name("db") + "/password"
        env = {"DATABASE_PARAMETER": database}
        if fail_step:
            env["FAIL_STEP"] = fail_step
        arn = create_python(lam, fn, source("rotation.py"), Timeout=30,
                            Environment={"Variables": env})["FunctionArn"]
        allow_secrets_manager(lam, fn)
        return arn, database

    return make


@pytest.mark.postgres_e2e
def test_rotation_runs_the_four_steps(sm, client, name, rotation_function):
    function_arn, database = rotation_function()
    v1 = sm.create_secret(Name=name, SecretString="initial-password")["VersionId"]
    out = sm.rotate_secret(SecretId=name, RotationLambdaARN=function_arn, RotationRules={"AutomaticallyAfterDays": 30})
    token = out["VersionId"]
    rotated = eventually(lambda: sm.describe_secret(SecretId=name).get("LastRotatedDate"))
    assert rotated
    described = sm.describe_secret(SecretId=name)
    assert described["RotationEnabled"] is True and described["RotationLambdaARN"] == function_arn
    assert described["RotationRules"]["AutomaticallyAfterDays"] == 30
    assert described["VersionIdsToStages"] == {token: ["AWSCURRENT"], v1: ["AWSPREVIOUS"]}
    assert 29 < (described["NextRotationDate"] - described["LastRotatedDate"]).total_seconds() / 86400 < 31
    new_password = sm.get_secret_value(SecretId=name)["SecretString"]
    assert new_password != "initial-password" and len(new_password) == 32
    stored = client("ssm").get_parameter(Name=database, WithDecryption=True)["Parameter"]["Value"]
    assert stored == new_password  # setSecret reached the "database" from inside the function
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"] == "initial-password"


def test_failed_rotation_step_keeps_current(sm, client, name, rotation_function):
    function_arn, _ = rotation_function(fail_step="testSecret")
    v1 = sm.create_secret(Name=name, SecretString="initial-password")["VersionId"]
    token = sm.rotate_secret(SecretId=name, RotationLambdaARN=function_arn)["VersionId"]
    logs = client("logs")
    group = "/aws/lambda/" + function_arn.rsplit(":", 1)[1]

    def failed_step_logged():
        try:
            events = logs.filter_log_events(logGroupName=group, filterPattern='"failed on purpose"')["events"]
        except ClientError:
            return False
        return bool(events)

    assert eventually(failed_step_logged)

    # the step failed after createSecret put the new value: AWSCURRENT never moved (no finishSecret)
    described = sm.describe_secret(SecretId=name)
    assert described["VersionIdsToStages"][v1] == ["AWSCURRENT"]
    assert described["VersionIdsToStages"][token] == ["AWSPENDING"]
    assert "LastRotatedDate" not in described
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "initial-password"
    pending = sm.get_secret_value(SecretId=name, VersionStage="AWSPENDING")
    assert pending["VersionId"] == token  # createSecret ran and put the new value before testSecret failed


def test_rotate_without_function_and_cancel(sm, name, rotation_function):
    sm.create_secret(Name=name, SecretString="a")
    with pytest.raises(ClientError) as e:
        sm.rotate_secret(SecretId=name)
    assert error(e)[0] == "InvalidRequestException"
    function_arn, _ = rotation_function()
    with pytest.raises(ClientError) as e:
        sm.rotate_secret(SecretId=name, RotationLambdaARN=function_arn,
                         RotationRules={"AutomaticallyAfterDays": 5, "ScheduleExpression": "rate(10 days)"})
    assert error(e)[0] == "InvalidParameterException"
    sm.rotate_secret(SecretId=name, RotationLambdaARN=function_arn,
                     RotationRules={"ScheduleExpression": "rate(10 days)"}, RotateImmediately=False)
    described = sm.describe_secret(SecretId=name)
    assert described["RotationEnabled"] is True and "NextRotationDate" in described
    assert list(described["VersionIdsToStages"].values()) == [["AWSCURRENT"]]  # nothing rotated yet
    sm.cancel_rotate_secret(SecretId=name)
    described = sm.describe_secret(SecretId=name)
    assert described["RotationEnabled"] is False and "NextRotationDate" not in described


def test_scheduled_rotation_fires_after_the_interval(tmp_path):
    env = {"OVERCAST_SECRETSMANAGER_DAY_SECONDS": "1"}
    server = OvercastProcess(data_dir=str(tmp_path), env=env)
    try:
        sm = make_client(server.endpoint, "secretsmanager")
        lam = make_client(server.endpoint, "lambda")
        arn = create_python(lam, "rotator", source("rotation.py"), Timeout=30,
                            Environment={"Variables": {"DATABASE_PARAMETER": "/db/password"}})["FunctionArn"]
        allow_secrets_manager(lam, "rotator")
        sm.create_secret(Name="scheduled", SecretString="first")
        sm.rotate_secret(SecretId="scheduled", RotationLambdaARN=arn, RotationRules={"AutomaticallyAfterDays": 1},
                         RotateImmediately=False)
        assert eventually(lambda: sm.describe_secret(SecretId="scheduled").get("LastRotatedDate"))
        assert sm.get_secret_value(SecretId="scheduled")["SecretString"] != "first"
    finally:
        server.stop()


# -- answers AWS recorded (LocalStack's AWS-validated snapshots) ---------------------------------


def test_describe_leaves_out_tags_until_tagged_and_versions_until_one_exists(sm, name):
    sm.create_secret(Name=name, Description="")
    described = sm.describe_secret(SecretId=name)
    assert "Tags" not in described and "VersionIdsToStages" not in described and "Description" not in described
    assert "Tags" not in sm.list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"][0]
    sm.tag_resource(SecretId=name, Tags=[{"Key": "a", "Value": "1"}])
    assert sm.describe_secret(SecretId=name)["Tags"] == [{"Key": "a", "Value": "1"}]
    sm.untag_resource(SecretId=name, TagKeys=["a"])
    assert sm.describe_secret(SecretId=name)["Tags"] == []  # once tagged, an empty list is shown


def test_description_filter_matches_words(sm, unique_name):
    prefix = unique_name("words")
    for suffix, description in (("one", "a secret"), ("two", "an secret"), ("three", "asecret"), ("four", "thesecret")):
        sm.create_secret(Name=f"{prefix}/{suffix}", SecretString="s", Description=description)

    def names(value):
        listed = sm.list_secrets(Filters=[{"Key": "name", "Values": [prefix]},
                                          {"Key": "description", "Values": [value]}])["SecretList"]
        return sorted(s["Name"].rsplit("/", 1)[1] for s in listed)

    assert names("a secret") == ["one", "two"]
    assert names("a") == ["one", "three", "two"]
    assert names("!a") == ["four"]


@pytest.mark.parametrize("bad", ["Inv Name", " Inv*Name? "])
def test_invalid_secret_id_is_a_validation_error_everywhere(sm, bad):
    calls = [lambda: sm.describe_secret(SecretId=bad), lambda: sm.get_secret_value(SecretId=bad),
             lambda: sm.delete_secret(SecretId=bad, ForceDeleteWithoutRecovery=True),
             lambda: sm.untag_resource(SecretId=bad, TagKeys=["k"]),
             lambda: sm.update_secret(SecretId=bad, Description="d"),
             lambda: sm.validate_resource_policy(SecretId=bad, ResourcePolicy='{"Statement": []}')]
    for call in calls:
        with pytest.raises(ClientError) as e:
            call()
        assert error(e) == ("ValidationException", "Invalid name. Must be a valid name containing alphanumeric "
                            "characters, or any of the following: -/_+=.@!")


def test_new_current_value_takes_pending_off_the_old_current(sm, name):
    v0 = sm.create_secret(Name=name, SecretString="one")["VersionId"]
    v1 = sm.put_secret_value(SecretId=name, SecretString="two", VersionStages=["AWSPENDING"])["VersionId"]
    sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=v1,
                                   RemoveFromVersionId=v0)
    assert sm.describe_secret(SecretId=name)["VersionIdsToStages"][v1] == ["AWSCURRENT", "AWSPENDING"]
    v2 = sm.put_secret_value(SecretId=name, SecretString="three")["VersionId"]
    assert sm.describe_secret(SecretId=name)["VersionIdsToStages"] == {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]}


def test_forced_delete_of_a_missing_secret_answers_as_deleted(sm, name):
    out = sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    assert out["Name"] == name and out["ARN"].startswith(f"arn:aws:secretsmanager:us-east-1:000000000000:secret:{name}-")
    assert out["DeletionDate"]
    with pytest.raises(ClientError) as e:
        sm.delete_secret(SecretId=name)  # with a recovery window it is still not found
    assert error(e)[0] == "ResourceNotFoundException"


def test_version_stage_not_on_version_id(sm, name):
    version = sm.create_secret(Name=name, SecretString="s")["VersionId"]
    with pytest.raises(ClientError) as e:
        sm.get_secret_value(SecretId=name, VersionId=version, VersionStage="AWSPREVIOUS")
    assert error(e) == ("InvalidRequestException",
                        "You provided a VersionStage that is not associated to the provided VersionId.")


def test_requests_without_client_request_token(endpoint, sm, name):
    from botocore.handlers import generate_idempotent_uuid

    raw = make_client(endpoint, "secretsmanager")
    raw.meta.events.unregister("before-parameter-build", generate_idempotent_uuid)
    message = "You must provide a ClientRequestToken value. We recommend a UUID-type value."
    for call in (lambda: raw.create_secret(Name=name, SecretString="s"),
                 lambda: raw.put_secret_value(SecretId=name, SecretString="s"),
                 lambda: raw.update_secret(SecretId=name, SecretString="s")):
        with pytest.raises(ClientError) as e:
            call()
        assert error(e) == ("InvalidRequestException", message)
    with pytest.raises(ClientError) as e:
        raw.rotate_secret(SecretId=name)
    assert error(e) == ("InvalidParameterException", message)
    raw.create_secret(Name=name)  # no value, no version: no token needed
    assert "VersionIdsToStages" not in sm.describe_secret(SecretId=name)


def test_default_key_secret_value_stays_in_its_account(client, name):
    owner = client("secretsmanager", access_key="666666666666")
    other = client("secretsmanager", access_key="777777777777")
    arn = owner.create_secret(Name=name, SecretString="secret")["ARN"]
    owner.put_resource_policy(SecretId=arn, ResourcePolicy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::777777777777:root"}, "Action": "secretsmanager:*",
        "Resource": "*"}]}))
    assert other.describe_secret(SecretId=arn)["ARN"] == arn
    message = ("You can't access a secret from a different AWS account if you encrypt the secret with the default "
               "KMS service key.")
    for call in (lambda: other.get_secret_value(SecretId=arn),
                 lambda: other.put_secret_value(SecretId=arn, SecretString="new")):
        with pytest.raises(ClientError) as e:
            call()
        assert error(e) == ("InvalidRequestException", message)
    assert len(other.list_secret_version_ids(SecretId=arn)["Versions"]) == 1
    other.tag_resource(SecretId=arn, Tags=[{"Key": "k", "Value": "v"}])
    assert owner.describe_secret(SecretId=arn)["Tags"] == [{"Key": "k", "Value": "v"}]


def test_rotation_needs_a_function_secrets_manager_may_invoke(sm, client, name, unique_name):
    sm.create_secret(Name=name, SecretString="init")
    lam = client("lambda")
    missing = "arn:aws:lambda:us-east-1:000000000000:function:" + unique_name("missing")
    fn = unique_name("rotate")
    unpermitted = create_python(lam, fn, source("rotation.py"))["FunctionArn"]
    for arn in (missing, unpermitted):
        with pytest.raises(ClientError) as e:
            sm.rotate_secret(SecretId=name, RotationLambdaARN=arn, RotationRules={"AutomaticallyAfterDays": 1})
        assert error(e) == ("AccessDeniedException", "Secrets Manager cannot invoke the specified Lambda function. "
                            "Ensure that the function policy grants access to the principal "
                            "secretsmanager.amazonaws.com.")
    described = sm.describe_secret(SecretId=name)
    assert "RotationEnabled" not in described and "RotationLambdaARN" not in described
