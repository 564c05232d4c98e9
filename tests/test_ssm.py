"""SSM Parameter Store through boto3 and the AWS CLI: types, SecureString encryption, versions,
labels, history, paths, filters, pagination, tiers, tags, limits and AWS's errors."""

from __future__ import annotations

import base64
import os

import pytest
from botocore.exceptions import ClientError
from conftest import TEST_DATABASES, OvercastProcess, make_client, stored_rows


@pytest.fixture(scope="module")
def ssm(client):
    return client("ssm")


def error(excinfo) -> tuple[str, str]:
    e = excinfo.value.response
    return e["Error"]["Code"], e["Error"].get("Message", "")


@pytest.fixture
def path(unique_name):
    return "/" + unique_name("app")


@pytest.mark.postgres_e2e
def test_put_and_get_string(ssm, path):
    ssm.put_parameter(Name=f"{path}/url", Value="https://x", Type="String")
    got = ssm.get_parameter(Name=f"{path}/url")["Parameter"]
    assert got["Name"] == f"{path}/url" and got["Value"] == "https://x" and got["Type"] == "String"
    assert got["Version"] == 1 and got["DataType"] == "text"
    assert got["ARN"] == f"arn:aws:ssm:us-east-1:000000000000:parameter{path}/url"
    assert got["LastModifiedDate"].year >= 2024


def test_put_answers_version_and_tier(ssm, path):
    out = ssm.put_parameter(Name=f"{path}/a", Value="1", Type="String")
    assert (out["Version"], out["Tier"]) == (1, "Standard")
    out = ssm.put_parameter(Name=f"{path}/a", Value="2", Overwrite=True)
    assert (out["Version"], out["Tier"]) == (2, "Standard")


def test_get_by_arn(ssm, path):
    ssm.put_parameter(Name=f"{path}/x", Value="v", Type="String")
    arn = ssm.get_parameter(Name=f"{path}/x")["Parameter"]["ARN"]
    assert ssm.get_parameter(Name=arn)["Parameter"]["Value"] == "v"
    ssm.put_parameter(Name=f"{path}/x", Value="v2", Overwrite=True)
    assert ssm.get_parameter(Name=f"{arn}:1")["Parameter"]["Value"] == "v"


def test_put_existing_without_overwrite_answers_already_exists(ssm, path):
    ssm.put_parameter(Name=f"{path}/p", Value="1", Type="String")
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name=f"{path}/p", Value="2", Type="String")
    assert error(e) == ("ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the "
                        "overwrite option in the request to true.")
    assert ssm.get_parameter(Name=f"{path}/p")["Parameter"]["Value"] == "1"


def test_missing_parameter_answers_not_found(ssm, path):
    with pytest.raises(ClientError) as e:
        ssm.get_parameter(Name=f"{path}/nope")
    assert error(e)[0] == "ParameterNotFound"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as e:
        ssm.delete_parameter(Name=f"{path}/nope")
    assert error(e)[0] == "ParameterNotFound"


def test_string_list(ssm, path):
    ssm.put_parameter(Name=f"{path}/list", Value="a,b,c", Type="StringList")
    got = ssm.get_parameter(Name=f"{path}/list")["Parameter"]
    assert (got["Type"], got["Value"]) == ("StringList", "a,b,c")


@pytest.mark.postgres_e2e
def test_secure_string_is_encrypted_unless_with_decryption(ssm, path):
    ssm.put_parameter(Name=f"{path}/secret", Value="hunter2", Type="SecureString")
    plain = ssm.get_parameter(Name=f"{path}/secret", WithDecryption=True)["Parameter"]
    assert plain["Value"] == "hunter2" and plain["Type"] == "SecureString"
    hidden = ssm.get_parameter(Name=f"{path}/secret")["Parameter"]["Value"]
    assert hidden != "hunter2" and b"hunter2" not in base64.b64decode(hidden)
    [meta] = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [f"{path}/secret"]}])["Parameters"]
    assert meta["KeyId"] == "alias/aws/ssm"


def test_secure_string_is_encrypted_at_rest(tmp_path):
    server = OvercastProcess(data_dir=str(tmp_path))
    try:
        ssm = make_client(server.endpoint, "ssm")
        ssm.put_parameter(Name="/at-rest/pw", Value="very-secret-value", Type="SecureString", KeyId="alias/mine")
        ssm.put_parameter(Name="/at-rest/plain", Value="visible-value", Type="String")
    finally:
        server.stop()
    if TEST_DATABASES is None:  # the key apart from the database, the owner's alone
        key = tmp_path / "keys" / "master.key"
        assert oct(os.stat(key).st_mode & 0o777) == "0o600"
    else:  # cluster mode: in the database the nodes share (docs/cluster.md)
        assert len(stored_rows(tmp_path, "SELECT value FROM overcast_secrets WHERE name = 'keys/master.key'")[0][0]) == 32
    values = [bytes(v) if isinstance(v, bytes) else v.encode() for (v,) in stored_rows(tmp_path, "SELECT value FROM ssm_versions")]
    assert any(b"visible-value" in v for v in values)
    assert not any(b"very-secret-value" in v for v in values)
    server = OvercastProcess(data_dir=str(tmp_path))  # the key survives a restart
    try:
        got = make_client(server.endpoint, "ssm").get_parameter(Name="/at-rest/pw", WithDecryption=True)
        assert got["Parameter"]["Value"] == "very-secret-value"
    finally:
        server.stop()


def test_key_id_on_string_is_rejected(ssm, path):
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name=f"{path}/k", Value="v", Type="String", KeyId="alias/x")
    assert error(e)[0] == "ValidationException"


@pytest.mark.postgres_e2e
def test_versions_and_selectors(ssm, path):
    name = f"{path}/v"
    for value in ("one", "two", "three"):
        ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
    assert ssm.get_parameter(Name=name)["Parameter"]["Version"] == 3
    got = ssm.get_parameter(Name=f"{name}:1")["Parameter"]
    assert (got["Value"], got["Version"], got["Selector"]) == ("one", 1, ":1")
    with pytest.raises(ClientError) as e:
        ssm.get_parameter(Name=f"{name}:9")
    assert error(e) == ("ParameterVersionNotFound",
                        f"Systems Manager could not find version 9 of {name}. Verify the version and try again.")


@pytest.mark.postgres_e2e
def test_labels_select_move_and_unlabel(ssm, path):
    name = f"{path}/l"
    for value in ("a", "b"):
        ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
    out = ssm.label_parameter_version(Name=name, ParameterVersion=1, Labels=["prod", "1bad", "awsx", "ok.v-1"])
    assert out["ParameterVersion"] == 1 and sorted(out["InvalidLabels"]) == ["1bad", "awsx"]
    got = ssm.get_parameter(Name=f"{name}:prod")["Parameter"]
    assert (got["Value"], got["Selector"]) == ("a", ":prod")
    assert ssm.label_parameter_version(Name=name, Labels=["prod"])["ParameterVersion"] == 2  # latest: the label moves
    assert ssm.get_parameter(Name=f"{name}:prod")["Parameter"]["Value"] == "b"
    history = ssm.get_parameter_history(Name=name)["Parameters"]
    assert [h["Labels"] for h in history] == [["ok.v-1"], ["prod"]]
    out = ssm.unlabel_parameter_version(Name=name, ParameterVersion=2, Labels=["prod", "ok.v-1"])
    assert out["RemovedLabels"] == ["prod"] and out["InvalidLabels"] == ["ok.v-1"]
    with pytest.raises(ClientError) as e:
        ssm.get_parameter(Name=f"{name}:prod")
    assert error(e)[0] == "ParameterVersionNotFound"


def test_label_limit_is_ten_per_version(ssm, path):
    name = f"{path}/ten"
    ssm.put_parameter(Name=name, Value="a", Type="String")
    ssm.label_parameter_version(Name=name, Labels=[f"l{i}" for i in range(10)])
    with pytest.raises(ClientError) as e:
        ssm.label_parameter_version(Name=name, Labels=["eleventh"])
    assert error(e)[0] == "ParameterVersionLabelLimitExceeded"


def test_label_missing_version(ssm, path):
    name = f"{path}/lv"
    ssm.put_parameter(Name=name, Value="a", Type="String")
    with pytest.raises(ClientError) as e:
        ssm.label_parameter_version(Name=name, ParameterVersion=5, Labels=["x"])
    assert error(e)[0] == "ParameterVersionNotFound"
    with pytest.raises(ClientError) as e:
        ssm.label_parameter_version(Name=f"{path}/absent", Labels=["x"])
    assert error(e)[0] == "ParameterNotFound"


def test_history_pages_and_decrypts(ssm, path):
    name = f"{path}/h"
    for i in range(5):
        ssm.put_parameter(Name=name, Value=f"s{i}", Type="SecureString", Overwrite=True, Description=f"d{i}")
    pages = list(ssm.get_paginator("get_parameter_history").paginate(
        Name=name, WithDecryption=True, PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3
    items = [p for page in pages for p in page["Parameters"]]
    assert [i["Value"] for i in items] == [f"s{i}" for i in range(5)]
    assert [i["Version"] for i in items] == [1, 2, 3, 4, 5]
    assert items[0]["Description"] == "d0" and items[0]["KeyId"] == "alias/aws/ssm"


def test_get_parameters_lists_invalid(ssm, path):
    ssm.put_parameter(Name=f"{path}/a", Value="1", Type="String")
    ssm.put_parameter(Name=f"{path}/b", Value="2", Type="SecureString")
    out = ssm.get_parameters(Names=[f"{path}/a", f"{path}/b", f"{path}/missing", f"{path}/a:7"], WithDecryption=True)
    assert sorted(p["Value"] for p in out["Parameters"]) == ["1", "2"]
    assert sorted(out["InvalidParameters"]) == sorted([f"{path}/missing", f"{path}/a:7"])


@pytest.mark.postgres_e2e
def test_get_parameters_by_path(ssm, path):
    for name in ("a", "b", "sub/c", "sub/deeper/d"):
        ssm.put_parameter(Name=f"{path}/{name}", Value=name, Type="String")
    ssm.put_parameter(Name=f"{path}x/elsewhere", Value="no", Type="String")
    one = ssm.get_parameters_by_path(Path=path)["Parameters"]
    assert sorted(p["Value"] for p in one) == ["a", "b"]
    everything = [p["Value"] for page in ssm.get_paginator("get_parameters_by_path").paginate(
        Path=path + "/", Recursive=True, PaginationConfig={"PageSize": 1}) for p in page["Parameters"]]
    assert sorted(everything) == ["a", "b", "sub/c", "sub/deeper/d"]


def test_get_parameters_by_path_filters_and_decryption(ssm, path):
    ssm.put_parameter(Name=f"{path}/plain", Value="p", Type="String")
    ssm.put_parameter(Name=f"{path}/secure", Value="s", Type="SecureString")
    out = ssm.get_parameters_by_path(Path=path, WithDecryption=True,
                                     ParameterFilters=[{"Key": "Type", "Values": ["SecureString"]}])["Parameters"]
    assert [(p["Name"], p["Value"]) for p in out] == [(f"{path}/secure", "s")]
    with pytest.raises(ClientError) as e:
        ssm.get_parameters_by_path(Path=path, ParameterFilters=[{"Key": "Name", "Values": ["x"]}])
    assert error(e)[0] == "InvalidFilterKey"


def test_get_parameters_by_path_label_filter(ssm, path):
    ssm.put_parameter(Name=f"{path}/a", Value="old", Type="String")
    ssm.put_parameter(Name=f"{path}/a", Value="new", Type="String", Overwrite=True)
    ssm.put_parameter(Name=f"{path}/b", Value="b", Type="String")
    ssm.label_parameter_version(Name=f"{path}/a", ParameterVersion=1, Labels=["stable"])
    out = ssm.get_parameters_by_path(Path=path, ParameterFilters=[{"Key": "Label", "Values": ["stable"]}])
    assert [(p["Name"], p["Value"]) for p in out["Parameters"]] == [(f"{path}/a", "old")]


def test_get_parameters_by_path_rejects_bad_path(ssm):
    with pytest.raises(ClientError) as e:
        ssm.get_parameters_by_path(Path="no-slash")
    assert error(e)[0] == "ValidationException"


@pytest.mark.postgres_e2e
def test_describe_parameters_filters_and_pages(ssm, path):
    for i in range(4):
        ssm.put_parameter(Name=f"{path}/d{i}", Value="v", Type="SecureString" if i % 2 else "String",
                          Description=f"number {i}")
    names = [p["Name"] for page in ssm.get_paginator("describe_parameters").paginate(
        ParameterFilters=[{"Key": "Name", "Option": "BeginsWith", "Values": [f"{path}/d"]}],
        PaginationConfig={"PageSize": 3}) for p in page["Parameters"]]
    assert names == [f"{path}/d{i}" for i in range(4)]
    secure = ssm.describe_parameters(ParameterFilters=[
        {"Key": "Path", "Option": "OneLevel", "Values": [path]},
        {"Key": "Type", "Values": ["SecureString"]}])["Parameters"]
    assert [p["Name"] for p in secure] == [f"{path}/d1", f"{path}/d3"]
    assert secure[0]["Description"] == "number 1" and secure[0]["ARN"].endswith(f"parameter{path}/d1")
    with pytest.raises(ClientError) as e:
        ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Option": "Sideways", "Values": ["x"]}])
    assert error(e)[0] == "InvalidFilterOption"


def test_describe_parameters_tag_filter(ssm, path):
    ssm.put_parameter(Name=f"{path}/t1", Value="v", Type="String", Tags=[{"Key": "team", "Value": "red"}])
    ssm.put_parameter(Name=f"{path}/t2", Value="v", Type="String", Tags=[{"Key": "team", "Value": "blue"}])
    out = ssm.describe_parameters(ParameterFilters=[{"Key": "Path", "Values": [path]},
                                                    {"Key": "tag:team", "Values": ["blue"]}])["Parameters"]
    assert [p["Name"] for p in out] == [f"{path}/t2"]


@pytest.mark.postgres_e2e
def test_delete_parameters(ssm, path):
    ssm.put_parameter(Name=f"{path}/a", Value="1", Type="String")
    out = ssm.delete_parameters(Names=[f"{path}/a", f"{path}/gone"])
    assert out["DeletedParameters"] == [f"{path}/a"] and out["InvalidParameters"] == [f"{path}/gone"]
    with pytest.raises(ClientError):
        ssm.get_parameter(Name=f"{path}/a")


def test_delete_then_create_starts_at_version_one(ssm, path):
    ssm.put_parameter(Name=f"{path}/a", Value="1", Type="String")
    ssm.put_parameter(Name=f"{path}/a", Value="2", Type="String", Overwrite=True)
    ssm.delete_parameter(Name=f"{path}/a")
    assert ssm.put_parameter(Name=f"{path}/a", Value="3", Type="String")["Version"] == 1


@pytest.mark.postgres_e2e
def test_tags(ssm, path):
    name = f"{path}/tagged"
    ssm.put_parameter(Name=name, Value="v", Type="String", Tags=[{"Key": "a", "Value": "1"}])
    ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=name, Tags=[{"Key": "b", "Value": "2"}])
    ssm.remove_tags_from_resource(ResourceType="Parameter", ResourceId=name, TagKeys=["a"])
    assert ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"] == [
        {"Key": "b", "Value": "2"}]
    with pytest.raises(ClientError) as e:
        ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=f"{path}/none")
    assert error(e)[0] == "InvalidResourceId"
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name=name, Value="v", Overwrite=True, Tags=[{"Key": "a", "Value": "1"}])
    assert error(e)[0] == "ValidationException"


def test_standard_tier_value_limit(ssm, path):
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name=f"{path}/big", Value="x" * 4097, Type="String")
    code, message = error(e)
    assert code == "ValidationException" and "Standard tier parameters support a maximum parameter value of 4096" in message
    assert ssm.put_parameter(Name=f"{path}/big", Value="x" * 4096, Type="String")["Tier"] == "Standard"
    out = ssm.put_parameter(Name=f"{path}/bigger", Value="x" * 8192, Type="String", Tier="Advanced")
    assert out["Tier"] == "Advanced"
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name=f"{path}/huge", Value="x" * 8193, Type="String", Tier="Advanced")
    assert error(e)[0] == "ValidationException"


def test_intelligent_tiering_and_no_downgrade(ssm, path):
    assert ssm.put_parameter(Name=f"{path}/s", Value="small", Type="String", Tier="Intelligent-Tiering")["Tier"] == \
        "Standard"
    assert ssm.put_parameter(Name=f"{path}/s", Value="y" * 5000, Overwrite=True,
                             Tier="Intelligent-Tiering")["Tier"] == "Advanced"
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name=f"{path}/s", Value="small", Overwrite=True, Tier="Standard")
    assert error(e)[0] == "ValidationException" and "downgrade" in error(e)[1]


@pytest.mark.parametrize("name", ["has space", "bad*char", "a/b", "/a//b", "awsthing", "SSM-x", "x" * 1012])
def test_invalid_names(ssm, name):
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name=name, Value="v", Type="String")
    assert error(e)[0] == "ValidationException"


def test_reserved_aws_path(ssm):
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name="/aws/service/mine", Value="v", Type="String")
    assert error(e)[0] == "AccessDeniedException"


def test_hierarchy_depth_limit(ssm, path):
    deep = path + "".join(f"/l{i}" for i in range(15))
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name=deep, Value="v", Type="String")
    assert error(e)[0] == "HierarchyLevelLimitExceededException"
    ssm.put_parameter(Name=path + "".join(f"/l{i}" for i in range(14)), Value="v", Type="String")


def test_allowed_pattern(ssm, path):
    ssm.put_parameter(Name=f"{path}/n", Value="42", Type="String", AllowedPattern=r"^\d+$")
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name=f"{path}/n", Value="forty", Overwrite=True)
    assert error(e) == ("ParameterPatternMismatchException",
                        r"Parameter value, cannot be validated against allowedPattern: ^\d+$")
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name=f"{path}/bad", Value="v", Type="String", AllowedPattern="([")
    assert error(e)[0] == "InvalidAllowedPatternException"


def test_data_type_image(ssm, path):
    ssm.put_parameter(Name=f"{path}/ami", Value="ami-0123456789abcdef0", Type="String", DataType="aws:ec2:image")
    assert ssm.get_parameter(Name=f"{path}/ami")["Parameter"]["DataType"] == "aws:ec2:image"
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name=f"{path}/ami2", Value="not-an-ami", Type="String", DataType="aws:ec2:image")
    assert error(e)[0] == "ValidationException"
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name=f"{path}/dt", Value="v", Type="String", DataType="Text")
    assert error(e)[0] == "ValidationException"


@pytest.mark.postgres_e2e
def test_hundred_versions_then_oldest_goes_unless_labelled(ssm, path):
    name = f"{path}/many"
    for i in range(100):
        ssm.put_parameter(Name=name, Value=str(i), Type="String", Overwrite=True)
    assert ssm.put_parameter(Name=name, Value="100", Overwrite=True)["Version"] == 101
    with pytest.raises(ClientError) as e:
        ssm.get_parameter(Name=f"{name}:1")
    assert error(e)[0] == "ParameterVersionNotFound"
    ssm.label_parameter_version(Name=name, ParameterVersion=2, Labels=["keep"])
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name=name, Value="101", Overwrite=True)
    assert error(e)[0] == "ParameterMaxVersionLimitExceeded"


def test_policies_answer_not_implemented(ssm, path):
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name=f"{path}/p", Value="v", Type="String", Tier="Advanced",
                          Policies='[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2030-01-01T00:00:00.000Z"}}]')
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501


def test_accounts_and_regions_are_separate(client, path):
    mine = client("ssm", access_key="111111111111")
    other_region = client("ssm", region="eu-west-1")
    mine.put_parameter(Name=f"{path}/scoped", Value="v", Type="String")
    with pytest.raises(ClientError):
        client("ssm").get_parameter(Name=f"{path}/scoped")
    with pytest.raises(ClientError):
        other_region.get_parameter(Name=f"{path}/scoped")
    arn = mine.get_parameter(Name=f"{path}/scoped")["Parameter"]["ARN"]
    assert arn.startswith("arn:aws:ssm:us-east-1:111111111111:parameter/")


def test_cli_put_get_and_path(aws_cli, path):
    out = aws_cli("ssm", "put-parameter", "--name", f"{path}/cli", "--value", "from-cli", "--type", "SecureString")
    assert out["Version"] == 1
    got = aws_cli("ssm", "get-parameter", "--name", f"{path}/cli", "--with-decryption")
    assert got["Parameter"]["Value"] == "from-cli"
    listed = aws_cli("ssm", "get-parameters-by-path", "--path", path, "--recursive")
    assert [p["Name"] for p in listed["Parameters"]] == [f"{path}/cli"]
    result = aws_cli("ssm", "get-parameter", "--name", f"{path}/none", check=False)
    assert result.returncode != 0 and "ParameterNotFound" in result.stderr


# -- answers AWS recorded (LocalStack's AWS-validated tests) -------------------------------------


def test_one_level_name_is_the_same_with_a_leading_slash(ssm, unique_name):
    name = unique_name("plain")
    ssm.put_parameter(Name=name, Value="123", Type="String")
    got = ssm.get_parameter(Name=f"/{name}")["Parameter"]
    assert got["Name"] == f"/{name}" and got["Value"] == "123"  # answered as the caller spelled it
    assert ssm.get_parameters(Names=[f"/{name}"])["Parameters"][0]["Name"] == f"/{name}"
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name=f"/{name}", Value="456", Type="String")
    assert error(e)[0] == "ParameterAlreadyExists"
    ssm.put_parameter(Name=f"/{name}", Value="456", Type="String", Overwrite=True)
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "456"
    ssm.delete_parameter(Name=f"/{name}")
    with pytest.raises(ClientError) as e:
        ssm.get_parameter(Name=name)
    assert error(e)[0] == "ParameterNotFound"


@pytest.mark.parametrize("form", ["{p}//b//c", "{bare}/b/c"])
def test_get_parameter_with_a_malformed_name(ssm, path, form):
    ssm.put_parameter(Name=f"{path}/b/c", Value="123", Type="String")
    with pytest.raises(ClientError) as e:
        ssm.get_parameter(Name=form.format(p=path, bare=path.lstrip("/")))
    code, message = error(e)
    assert code == "ValidationException" and "sub-paths divided by slash symbol" in message


def test_secrets_manager_reference(client, ssm, unique_name):
    import json

    sm = client("secretsmanager")
    name = unique_name("referenced")
    created = sm.create_secret(Name=name, SecretString="my_secret")
    ref = f"/aws/reference/secretsmanager/{name}"
    got = ssm.get_parameter(Name=ref, WithDecryption=True)["Parameter"]
    assert got["Name"] == ref and got["Value"] == "my_secret" and got["Type"] == "SecureString"
    assert got["ARN"] == created["ARN"]
    source = json.loads(got["SourceResult"])
    assert source["name"] == name and source["ARN"] == created["ARN"] and source["versionStages"] == ["AWSCURRENT"]
    by_stage = ssm.get_parameter(Name=f"{ref}:AWSCURRENT", WithDecryption=True)["Parameter"]
    assert by_stage["Selector"] == ":AWSCURRENT" and by_stage["Value"] == "my_secret"
    by_version = ssm.get_parameter(Name=f"{ref}:{created['VersionId']}", WithDecryption=True)["Parameter"]
    assert by_version["Selector"] == f":{created['VersionId']}" and by_version["Name"] == ref
    with pytest.raises(ClientError) as e:
        ssm.get_parameter(Name=ref)
    assert error(e) == ("ValidationException", "WithDecryption flag must be True for retrieving a Secret Manager "
                        "secret.")
    with pytest.raises(ClientError) as e:
        ssm.get_parameter(Name="/aws/reference/secretsmanager/inexistent", WithDecryption=True)
    assert error(e) == ("ParameterNotFound", "Secret /aws/reference/secretsmanager/inexistent not found.")
    with pytest.raises(ClientError) as e:
        ssm.get_parameter(Name=name, WithDecryption=True)  # a secret is no parameter of its own name
    assert error(e)[0] == "ParameterNotFound"
    out = ssm.get_parameters(Names=[ref, "/aws/reference/secretsmanager/inexistent"], WithDecryption=True)
    assert [p["Name"] for p in out["Parameters"]] == [ref]
    assert out["InvalidParameters"] == ["/aws/reference/secretsmanager/inexistent"]


# -- maintenance windows -----------------------------------------------------------------------


def test_maintenance_window_lifecycle(ssm, unique_name):
    name = unique_name("mw")
    token = unique_name("token")
    window_id = ssm.create_maintenance_window(Name=name, Schedule="cron(0 16 ? * TUE *)", Duration=4, Cutoff=1,
                                              AllowUnassociatedTargets=False, Description="patching",
                                              ClientToken=token, Tags=[{"Key": "team", "Value": "ops"}])["WindowId"]
    assert window_id.startswith("mw-") and len(window_id) == 20
    again = ssm.create_maintenance_window(Name=name, Schedule="cron(0 16 ? * TUE *)", Duration=4, Cutoff=1,
                                          AllowUnassociatedTargets=False, Description="patching", ClientToken=token)
    assert again["WindowId"] == window_id  # the same ClientToken and settings: the same window
    with pytest.raises(ClientError) as e:
        ssm.create_maintenance_window(Name=name, Schedule="rate(1 day)", Duration=4, Cutoff=1,
                                      AllowUnassociatedTargets=False, ClientToken=token)
    assert error(e)[0] == "IdempotentParameterMismatch"
    got = ssm.get_maintenance_window(WindowId=window_id)
    assert got["Name"] == name and got["Duration"] == 4 and got["Cutoff"] == 1 and got["Enabled"] is True
    assert got["Description"] == "patching" and got["AllowUnassociatedTargets"] is False
    assert got["NextExecutionTime"].endswith("T16:00Z") and got["CreatedDate"] <= got["ModifiedDate"]
    tags = ssm.list_tags_for_resource(ResourceType="MaintenanceWindow", ResourceId=window_id)["TagList"]
    assert tags == [{"Key": "team", "Value": "ops"}]

    updated = ssm.update_maintenance_window(WindowId=window_id, Enabled=False, Duration=6)
    assert updated["Enabled"] is False and updated["Duration"] == 6 and updated["Description"] == "patching"
    got = ssm.get_maintenance_window(WindowId=window_id)
    assert "NextExecutionTime" not in got  # a disabled window does not open
    replaced = ssm.update_maintenance_window(WindowId=window_id, Name=name, Schedule="rate(7 days)", Duration=2,
                                             Cutoff=0, AllowUnassociatedTargets=True, Replace=True)
    assert "Description" not in replaced  # Replace clears what the request leaves out

    listed = ssm.describe_maintenance_windows(Filters=[{"Key": "Name", "Values": [name]}])["WindowIdentities"]
    assert [w["WindowId"] for w in listed] == [window_id] and listed[0]["Schedule"] == "rate(7 days)"
    assert ssm.delete_maintenance_window(WindowId=window_id)["WindowId"] == window_id
    with pytest.raises(ClientError) as e:
        ssm.get_maintenance_window(WindowId=window_id)
    assert error(e) == ("DoesNotExistException", f"Maintenance window {window_id} does not exist")
    assert ssm.delete_maintenance_window(WindowId=window_id)["WindowId"] == window_id  # as AWS: no error


def test_maintenance_window_checks(ssm, unique_name):
    base = {"Name": unique_name("mw"), "Schedule": "cron(0 2 ? * THU#3 *)", "Duration": 4, "Cutoff": 1,
            "AllowUnassociatedTargets": True}
    for change in ({"Cutoff": 4}, {"Schedule": "every tuesday"}, {"ScheduleTimezone": "Mars/Olympus"},
                   {"Schedule": "rate(5 days)", "ScheduleOffset": 2}, {"EndDate": "2020-01-01T00:00:00Z"},
                   {"StartDate": "2099-06-01T00:00:00Z", "EndDate": "2099-01-01T00:00:00Z"},
                   {"StartDate": "not a date"}):
        with pytest.raises(ClientError) as e:
            ssm.create_maintenance_window(**{**base, **change})
        assert error(e)[0] == "ValidationException", change
    with pytest.raises(ClientError) as e:
        ssm.create_maintenance_window(**{**base, "Duration": 25})  # the model's range
    assert error(e)[0] == "ValidationException"
    with pytest.raises(ClientError) as e:
        ssm.get_maintenance_window(WindowId="mw-00000000000000000")
    assert error(e) == ("DoesNotExistException", "Maintenance window mw-00000000000000000 does not exist")
    window_id = ssm.create_maintenance_window(**{**base, "ScheduleTimezone": "America/Los_Angeles",
                                                 "ScheduleOffset": 2, "StartDate": "2099-01-01T00:00:00-08:00"})[
        "WindowId"]
    got = ssm.get_maintenance_window(WindowId=window_id)
    # the third Thursday of January 2099 is the 15th; two days later at 02:00 Pacific time
    assert got["NextExecutionTime"] == "2099-01-17T02:00-08:00"
    with pytest.raises(ClientError) as e:
        ssm.update_maintenance_window(WindowId=window_id, Name=base["Name"], Replace=True)
    assert error(e)[0] == "ValidationException"
    ssm.delete_maintenance_window(WindowId=window_id)


def test_maintenance_window_tags_through_the_tagging_api(client, ssm, unique_name):
    tagging = client("resourcegroupstaggingapi")
    window_id = ssm.create_maintenance_window(Name=unique_name("mw"), Schedule="rate(1 day)", Duration=2, Cutoff=1,
                                              AllowUnassociatedTargets=True)["WindowId"]
    arn = f"arn:aws:ssm:us-east-1:000000000000:maintenancewindow/{window_id}"
    assert tagging.tag_resources(ResourceARNList=[arn], Tags={"stage": "prod"})["FailedResourcesMap"] == {}
    assert ssm.list_tags_for_resource(ResourceType="MaintenanceWindow", ResourceId=window_id)["TagList"] == [
        {"Key": "stage", "Value": "prod"}]
    listed = tagging.get_resources(TagFilters=[{"Key": "stage", "Values": ["prod"]}])["ResourceTagMappingList"]
    assert arn in [r["ResourceARN"] for r in listed]
    ssm.delete_maintenance_window(WindowId=window_id)
