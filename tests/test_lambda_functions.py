"""Lambda's functions API through boto3: create, read, update, delete, list, versions, aliases,
resource policies, tags, concurrency settings, layers — and AWS's errors for bad input."""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.request

import pytest
from botocore.exceptions import ClientError
from lambda_functions import ROLE, create_python, python_zip, source, zip_files


@pytest.fixture(scope="module")
def lam(client):
    return client("lambda")


def error(excinfo) -> tuple[str, str, int]:
    e = excinfo.value.response
    return e["Error"]["Code"], e["Error"].get("Message", ""), e["ResponseMetadata"]["HTTPStatusCode"]


def test_create_function_answers_configuration_pending(lam, unique_name):
    name = unique_name("fn")
    code = python_zip(source("echo.py"))
    out = create_python(lam, name, Description="d", Timeout=7, MemorySize=256, Environment={"Variables": {"MY_A": "1"}})
    assert out["FunctionName"] == name
    assert out["FunctionArn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    assert out["Runtime"] == "python3.11" and out["Handler"] == "app.handler"
    assert out["Timeout"] == 7 and out["MemorySize"] == 256 and out["Description"] == "d"
    assert out["CodeSha256"] == base64.b64encode(hashlib.sha256(code).digest()).decode()
    assert out["CodeSize"] == len(code)
    assert out["Version"] == "$LATEST"
    assert out["State"] == "Pending" and out["StateReasonCode"] == "Creating"
    assert out["Environment"] == {"Variables": {"MY_A": "1"}}
    assert out["PackageType"] == "Zip"


@pytest.mark.postgres_e2e
def test_get_function_is_active_after_create(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name)
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    out = lam.get_function(FunctionName=name)
    assert out["Configuration"]["State"] == "Active"
    assert out["Configuration"]["LastUpdateStatus"] == "Successful"
    assert out["Code"]["RepositoryType"] == "S3"


def test_get_function_code_location_downloads_the_zip(lam, unique_name):
    name = unique_name("fn")
    code = python_zip(source("echo.py"))
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"ZipFile": code})
    location = lam.get_function(FunctionName=name)["Code"]["Location"]
    with urllib.request.urlopen(location) as response:
        assert response.read() == code


def test_get_function_unknown_answers_resource_not_found(lam, unique_name):
    name = unique_name("missing")
    with pytest.raises(ClientError) as e:
        lam.get_function(FunctionName=name)
    assert error(e) == ("ResourceNotFoundException",
                        f"Function not found: arn:aws:lambda:us-east-1:000000000000:function:{name}", 404)


def test_get_function_accepts_arn_and_partial_arn(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name)
    arn = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    assert lam.get_function_configuration(FunctionName=arn)["FunctionName"] == name
    assert lam.get_function_configuration(FunctionName=f"000000000000:function:{name}")["FunctionName"] == name


def test_create_function_twice_answers_conflict(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name)
    with pytest.raises(ClientError) as e:
        create_python(lam, name)
    assert error(e) == ("ResourceConflictException", f"Function already exist: {name}", 409)


def test_create_function_with_bad_zip_answers_could_not_unzip(lam, unique_name):
    with pytest.raises(ClientError) as e:
        lam.create_function(FunctionName=unique_name("fn"), Runtime="python3.11", Role=ROLE, Handler="app.handler",
                            Code={"ZipFile": b"this is not a zip"})
    code, message, status = error(e)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert message.startswith("Could not unzip uploaded file")


def test_create_function_with_unsupported_runtime_lists_valid_runtimes(lam, unique_name):
    with pytest.raises(ClientError) as e:
        create_python(lam, unique_name("fn"), runtime="java21")
    code, message, status = error(e)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert "java21" in message and "python3.12" in message


def test_create_function_with_unknown_runtime_answers_validation(lam, unique_name):
    # AWS's recorded answer (LocalStack's test_create_lambda_exceptions): its own list of runtimes
    with pytest.raises(ClientError) as e:
        create_python(lam, unique_name("fn"), runtime="cobol85")
    code, message, status = error(e)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert message.startswith("Value cobol85 at 'runtime' failed to satisfy constraint: Member must satisfy enum "
                              "value set: [nodejs20.x, python3.14, provided.al2023, ")
    assert message.endswith(", provided.al2, java8.al2] or be a valid ARN")
    name = unique_name("fn")
    create_python(lam, name)
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    with pytest.raises(ClientError) as e:
        lam.update_function_configuration(FunctionName=name, Runtime="PYTHON3.9")
    assert error(e)[0] == "InvalidParameterValueException"
    with pytest.raises(ClientError) as e:  # a layer's runtimes: one validation error for the list
        lam.publish_layer_version(LayerName=unique_name("layer"), Content={"ZipFile": python_zip("x = 1")},
                                  CompatibleRuntimes=["nope", "python3.12"])
    assert error(e)[0] == "ValidationException"
    assert error(e)[1].startswith("1 validation error detected: Value '[nope, python3.12]' at 'compatibleRuntimes' "
                                  "failed to satisfy constraint: Member must satisfy enum value set: [nodejs20.x, ")
    with pytest.raises(ClientError) as e:
        lam.list_layers(CompatibleRuntime="nope")
    assert error(e)[0] == "ValidationException" and "at 'compatibleRuntime'" in error(e)[1]


def test_layer_with_unknown_runtime_and_architecture_answers_both(lam, unique_name):
    # AWS's recorded answer (LocalStack's test_layer_exceptions): both members in one error, the
    # runtimes with AWS's list of runtimes, the architectures with their member constraints
    with pytest.raises(ClientError) as e:
        lam.publish_layer_version(LayerName=unique_name("layer"), Content={"ZipFile": python_zip("x = 1")},
                                  CompatibleRuntimes=["invalidruntime", "nodejs20.x"],
                                  CompatibleArchitectures=["invalidarch", "x86_64"])
    code, message, status = error(e)
    assert (code, status) == ("ValidationException", 400)
    assert message.startswith("2 validation errors detected: Value '[invalidruntime, nodejs20.x]' at "
                              "'compatibleRuntimes' failed to satisfy constraint: Member must satisfy enum value "
                              "set: [nodejs20.x, python3.14, ")
    assert message.endswith(", provided.al2, java8.al2]; Value '[invalidarch, x86_64]' at 'compatibleArchitectures' "
                            "failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum "
                            "value set: [x86_64, arm64], Member must not be null]")
    # ListLayers' filter lists AWS's own set of layer runtimes (names the API model does not have)
    with pytest.raises(ClientError) as e:
        lam.list_layers(CompatibleRuntime="runtimedoesnotexist")
    assert error(e)[1].startswith("1 validation error detected: Value 'runtimedoesnotexist' at 'compatibleRuntime' "
                                  "failed to satisfy constraint: Member must satisfy enum value set: [ruby3.5, ruby2.6, "
                                  "dotnetcore1.0, python3.7, nodejs8.10, nasa, ")
    # empty lists are valid
    published = lam.publish_layer_version(LayerName=unique_name("layer"), Content={"ZipFile": python_zip("x = 1")},
                                          CompatibleRuntimes=[], CompatibleArchitectures=[])
    assert published["CompatibleRuntimes"] == [] and published["CompatibleArchitectures"] == []


def test_create_function_without_handler_answers_invalid_parameter(lam, unique_name):
    with pytest.raises(ClientError) as e:
        lam.create_function(FunctionName=unique_name("fn"), Runtime="python3.11", Role=ROLE,
                            Code={"ZipFile": python_zip("x = 1")})
    assert error(e)[0] == "InvalidParameterValueException"


def test_create_function_with_reserved_environment_key_answers_invalid_parameter(lam, unique_name):
    with pytest.raises(ClientError) as e:
        create_python(lam, unique_name("fn"), Environment={"Variables": {"AWS_REGION": "x"}})
    code, message, _ = error(e)
    assert code == "InvalidParameterValueException"
    assert "Reserved keys used in this request: AWS_REGION" in message


def test_create_function_with_bad_role_answers_validation(lam, unique_name):
    with pytest.raises(ClientError) as e:
        lam.create_function(FunctionName=unique_name("fn"), Runtime="python3.11", Role="not-a-role",
                            Handler="app.handler", Code={"ZipFile": python_zip("x = 1")})
    assert error(e)[0] == "ValidationException"


def test_update_function_configuration_changes_settings_and_revision(lam, unique_name):
    name = unique_name("fn")
    before = create_python(lam, name)
    out = lam.update_function_configuration(FunctionName=name, Timeout=10, MemorySize=512,
                                            Environment={"Variables": {"MY_B": "2"}})
    assert out["Timeout"] == 10 and out["MemorySize"] == 512
    assert out["LastUpdateStatus"] == "InProgress"
    assert out["RevisionId"] != before["RevisionId"]
    config = lam.get_function_configuration(FunctionName=name)
    assert config["Environment"] == {"Variables": {"MY_B": "2"}}
    assert config["LastUpdateStatus"] == "Successful"


@pytest.mark.postgres_e2e
def test_update_function_configuration_with_stale_revision_answers_precondition_failed(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name)
    with pytest.raises(ClientError) as e:
        lam.update_function_configuration(FunctionName=name, Timeout=5, RevisionId="stale")
    assert error(e)[0] == "PreconditionFailedException" and error(e)[2] == 412


@pytest.mark.postgres_e2e
def test_update_function_code_changes_what_runs(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name, "def handler(e, c):\n    return 'one'\n")
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'"one"'
    new = python_zip("def handler(e, c):\n    return 'two'\n")
    out = lam.update_function_code(FunctionName=name, ZipFile=new)
    assert out["CodeSha256"] == base64.b64encode(hashlib.sha256(new).digest()).decode()
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'"two"'


@pytest.mark.postgres_e2e
def test_delete_function_removes_it(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name)
    lam.delete_function(FunctionName=name)
    with pytest.raises(ClientError) as e:
        lam.get_function(FunctionName=name)
    assert error(e)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        lam.delete_function(FunctionName=name)
    assert error(e)[2] == 404


@pytest.mark.postgres_e2e
def test_list_functions_pages_with_marker(client, unique_name):
    lam = client("lambda", region="ap-south-1")
    names = sorted(unique_name("page") for _ in range(5))
    for name in names:
        create_python(lam, name)
    seen, marker = [], None
    while True:
        kwargs = {"MaxItems": 2, **({"Marker": marker} if marker else {})}
        page = lam.list_functions(**kwargs)
        seen += [f["FunctionName"] for f in page["Functions"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert [n for n in seen if n in names] == names


def test_functions_are_scoped_by_region(client, unique_name):
    name = unique_name("fn")
    create_python(client("lambda", region="eu-west-1"), name)
    with pytest.raises(ClientError) as e:
        client("lambda", region="eu-west-2").get_function(FunctionName=name)
    assert error(e)[0] == "ResourceNotFoundException"


@pytest.mark.postgres_e2e
def test_publish_version_snapshots_configuration(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name)
    v1 = lam.publish_version(FunctionName=name, Description="first")
    assert v1["Version"] == "1" and v1["FunctionArn"].endswith(f":{name}:1")
    assert lam.publish_version(FunctionName=name)["Version"] == "1"  # nothing changed: same version
    lam.update_function_configuration(FunctionName=name, Timeout=9)
    v2 = lam.publish_version(FunctionName=name)
    assert v2["Version"] == "2" and v2["Timeout"] == 9
    assert lam.get_function_configuration(FunctionName=name, Qualifier="1")["Timeout"] == 3
    versions = [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]]
    assert versions == ["$LATEST", "1", "2"]


def test_publish_version_with_wrong_sha_answers_invalid_parameter(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name)
    with pytest.raises(ClientError) as e:
        lam.publish_version(FunctionName=name, CodeSha256="nope")
    assert error(e)[0] == "InvalidParameterValueException"


@pytest.mark.postgres_e2e
def test_alias_points_at_a_version(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name, "def handler(e, c):\n    return 'v1'\n")
    lam.publish_version(FunctionName=name)
    lam.update_function_code(FunctionName=name, ZipFile=python_zip("def handler(e, c):\n    return 'v2'\n"))
    lam.publish_version(FunctionName=name)
    alias = lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    assert alias["AliasArn"].endswith(f":{name}:live")
    out = lam.invoke(FunctionName=name, Qualifier="live")
    assert out["Payload"].read() == b'"v1"' and out["ExecutedVersion"] == "1"
    lam.update_alias(FunctionName=name, Name="live", FunctionVersion="2")
    assert lam.invoke(FunctionName=f"{name}:live")["Payload"].read() == b'"v2"'
    assert [a["Name"] for a in lam.list_aliases(FunctionName=name)["Aliases"]] == ["live"]
    lam.delete_alias(FunctionName=name, Name="live")
    with pytest.raises(ClientError) as e:
        lam.get_alias(FunctionName=name, Name="live")
    assert error(e)[0] == "ResourceNotFoundException"


@pytest.mark.postgres_e2e
def test_alias_weighted_routing_splits_invocations(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name, "def handler(e, c):\n    return 'v1'\n")
    lam.publish_version(FunctionName=name)
    lam.update_function_code(FunctionName=name, ZipFile=python_zip("def handler(e, c):\n    return 'v2'\n"))
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="canary", FunctionVersion="1",
                     RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})
    executed = {lam.invoke(FunctionName=name, Qualifier="canary")["ExecutedVersion"] for _ in range(40)}
    assert executed == {"1", "2"}


def test_alias_to_missing_version_answers_not_found(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name)
    with pytest.raises(ClientError) as e:
        lam.create_alias(FunctionName=name, Name="x", FunctionVersion="7")
    assert error(e)[0] == "ResourceNotFoundException"


@pytest.mark.postgres_e2e
def test_add_permission_and_get_policy_return_the_statement(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name)
    out = lam.add_permission(FunctionName=name, StatementId="s3invoke", Action="lambda:InvokeFunction",
                             Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::bucket",
                             SourceAccount="000000000000")
    statement = json.loads(out["Statement"])
    assert statement == {
        "Sid": "s3invoke", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "lambda:InvokeFunction", "Resource": f"arn:aws:lambda:us-east-1:000000000000:function:{name}",
        "Condition": {"StringEquals": {"AWS:SourceAccount": "000000000000"},
                      "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::bucket"}},
    }
    policy = json.loads(lam.get_policy(FunctionName=name)["Policy"])
    assert policy["Version"] == "2012-10-17" and policy["Statement"] == [statement]


def test_add_permission_duplicate_sid_answers_conflict(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name)
    lam.add_permission(FunctionName=name, StatementId="a", Action="lambda:InvokeFunction", Principal="sns.amazonaws.com")
    with pytest.raises(ClientError) as e:
        lam.add_permission(FunctionName=name, StatementId="a", Action="lambda:InvokeFunction", Principal="sns.amazonaws.com")
    assert error(e)[0] == "ResourceConflictException"


def test_remove_permission_then_get_policy_answers_not_found(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name)
    lam.add_permission(FunctionName=name, StatementId="a", Action="lambda:InvokeFunction", Principal="sns.amazonaws.com")
    lam.remove_permission(FunctionName=name, StatementId="a")
    with pytest.raises(ClientError) as e:
        lam.get_policy(FunctionName=name)
    assert error(e)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        lam.remove_permission(FunctionName=name, StatementId="a")
    assert error(e)[0] == "ResourceNotFoundException"


def test_tags_are_added_listed_and_removed(lam, unique_name):
    name = unique_name("fn")
    arn = create_python(lam, name, Tags={"team": "a"})["FunctionArn"]
    lam.tag_resource(Resource=arn, Tags={"env": "dev"})
    assert lam.list_tags(Resource=arn)["Tags"] == {"team": "a", "env": "dev"}
    lam.untag_resource(Resource=arn, TagKeys=["team"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"env": "dev"}
    assert lam.get_function(FunctionName=name)["Tags"] == {"env": "dev"}


@pytest.mark.postgres_e2e
def test_function_concurrency_is_put_got_and_deleted(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name)
    assert lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=5)["ReservedConcurrentExecutions"] == 5
    assert lam.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == 5
    assert lam.get_function(FunctionName=name)["Concurrency"] == {"ReservedConcurrentExecutions": 5}
    lam.delete_function_concurrency(FunctionName=name)
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=name)


def test_function_concurrency_beyond_unreserved_minimum_answers_invalid_parameter(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name)
    limit = lam.get_account_settings()["AccountLimit"]["ConcurrentExecutions"]
    with pytest.raises(ClientError) as e:
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=limit)
    assert error(e)[0] == "InvalidParameterValueException"
    assert "UnreservedConcurrentExecution below its minimum value" in error(e)[1]


def test_get_account_settings_reports_limits_and_usage(client, unique_name):
    lam = client("lambda", region="ca-central-1")
    create_python(lam, unique_name("fn"))
    out = lam.get_account_settings()
    assert out["AccountLimit"]["ConcurrentExecutions"] >= 1
    assert out["AccountLimit"]["CodeSizeZipped"] == 52428800
    assert out["AccountUsage"]["FunctionCount"] >= 1


@pytest.mark.postgres_e2e
def test_layer_is_published_versioned_and_importable(lam, unique_name):
    layer_name = unique_name("layer")
    content = zip_files({"python/layered.py": "VALUE = 'from the layer'\n"})
    v1 = lam.publish_layer_version(LayerName=layer_name, Content={"ZipFile": content}, CompatibleRuntimes=["python3.11"])
    assert v1["Version"] == 1 and v1["LayerVersionArn"].endswith(f":layer:{layer_name}:1")
    v2 = lam.publish_layer_version(LayerName=layer_name, Content={"ZipFile": content})
    assert v2["Version"] == 2
    assert [v["Version"] for v in lam.list_layer_versions(LayerName=layer_name)["LayerVersions"]] == [2, 1]
    name = unique_name("fn")
    create_python(lam, name, "import layered\ndef handler(e, c):\n    return layered.VALUE\n",
                  Layers=[v1["LayerVersionArn"]])
    assert lam.get_function_configuration(FunctionName=name)["Layers"][0]["Arn"] == v1["LayerVersionArn"]
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'"from the layer"'


def test_function_with_missing_layer_answers_invalid_parameter(lam, unique_name):
    with pytest.raises(ClientError) as e:
        create_python(lam, unique_name("fn"), Layers=["arn:aws:lambda:us-east-1:000000000000:layer:nope:1"])
    assert error(e)[0] == "InvalidParameterValueException"


def test_event_invoke_config_is_put_and_got(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name)
    out = lam.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=1, MaximumEventAgeInSeconds=120,
        DestinationConfig={"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:dlq"}})
    assert out["MaximumRetryAttempts"] == 1
    got = lam.get_function_event_invoke_config(FunctionName=name)
    assert got["DestinationConfig"]["OnFailure"]["Destination"] == "arn:aws:sqs:us-east-1:000000000000:dlq"
    assert got["FunctionArn"].endswith(f":{name}:$LATEST")
    lam.delete_function_event_invoke_config(FunctionName=name)
    with pytest.raises(ClientError) as e:
        lam.get_function_event_invoke_config(FunctionName=name)
    assert error(e)[0] == "ResourceNotFoundException"


def test_cli_creates_and_lists_functions(aws_cli, unique_name, tmp_path):
    name = unique_name("cli")
    path = tmp_path / "code.zip"
    path.write_bytes(python_zip(source("echo.py")))
    out = aws_cli("lambda", "create-function", "--function-name", name, "--runtime", "python3.11", "--role", ROLE,
                  "--handler", "app.handler", "--zip-file", f"fileb://{path}")
    assert out["FunctionName"] == name
    listed = aws_cli("lambda", "list-functions")
    assert name in [f["FunctionName"] for f in listed["Functions"]]


@pytest.mark.postgres_e2e
def test_create_function_from_s3_object(client, lam, unique_name):
    s3 = client("s3")
    bucket = unique_name("code")
    s3.create_bucket(Bucket=bucket)
    code = python_zip("def handler(e, c):\n    return 'from s3'\n")
    s3.put_object(Bucket=bucket, Key="fn.zip", Body=code)
    name = unique_name("fn")
    out = lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                              Code={"S3Bucket": bucket, "S3Key": "fn.zip"})
    assert out["CodeSize"] == len(code)
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'"from s3"'


def test_create_function_from_missing_s3_object_answers_invalid_parameter(client, lam, unique_name):
    s3 = client("s3")
    bucket = unique_name("code")
    s3.create_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        lam.create_function(FunctionName=unique_name("fn"), Runtime="python3.11", Role=ROLE, Handler="app.handler",
                            Code={"S3Bucket": bucket, "S3Key": "missing.zip"})
    code, message, _ = error(e)
    assert code == "InvalidParameterValueException"
    assert message.startswith("Error occurred while GetObject. S3 Error Code: NoSuchKey.")


_SNAPSTART_HANDLER = """
import os
from snapshot_restore_py import register_after_restore, register_before_snapshot

events = ["init"]


@register_before_snapshot
def before():
    events.append("before-snapshot")


@register_after_restore
def after():
    events.append("after-restore")


def handler(event, context):
    return {"events": events, "init_type": os.environ["AWS_LAMBDA_INITIALIZATION_TYPE"]}
"""


def test_snapstart_applies_to_published_versions(lam, unique_name):
    # AWS: SnapStart is set on the function and applies to the versions published from it
    # (OptimizationStatus On); $LATEST keeps running on demand. A SnapStart version's runtime runs
    # its before-snapshot hooks after init and its after-restore hooks before the first invocation
    # (AWS's Python runtime includes the Snapshot Restore for Python library)
    name = unique_name("fn")
    created = create_python(lam, name, _SNAPSTART_HANDLER, runtime="python3.12")
    assert created["SnapStart"] == {"ApplyOn": "None", "OptimizationStatus": "Off"}
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    updated = lam.update_function_configuration(FunctionName=name, SnapStart={"ApplyOn": "PublishedVersions"})
    assert updated["SnapStart"] == {"ApplyOn": "PublishedVersions", "OptimizationStatus": "Off"}
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.get_waiter("published_version_active").wait(FunctionName=name, Qualifier=version)
    assert lam.get_function_configuration(FunctionName=name, Qualifier=version)["SnapStart"] == \
        {"ApplyOn": "PublishedVersions", "OptimizationStatus": "On"}
    assert lam.get_function(FunctionName=name)["Configuration"]["SnapStart"] == \
        {"ApplyOn": "PublishedVersions", "OptimizationStatus": "Off"}

    out = json.loads(lam.invoke(FunctionName=name, Qualifier=version)["Payload"].read())
    assert out == {"events": ["init", "before-snapshot", "after-restore"], "init_type": "snap-start"}
    out = json.loads(lam.invoke(FunctionName=name)["Payload"].read())
    assert out == {"events": ["init"], "init_type": "on-demand"}

    # turned off again: later versions run on demand
    off = lam.update_function_configuration(FunctionName=name, SnapStart={"ApplyOn": "None"}, Timeout=5)
    assert off["SnapStart"] == {"ApplyOn": "None", "OptimizationStatus": "Off"}
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    later = lam.publish_version(FunctionName=name)["Version"]
    assert lam.get_function_configuration(FunctionName=name, Qualifier=later)["SnapStart"] == \
        {"ApplyOn": "None", "OptimizationStatus": "Off"}


def test_snapstart_for_an_unsupported_runtime_answers_invalid_parameter(lam, unique_name):
    # AWS's answer for a runtime without SnapStart, and the model's enum for ApplyOn
    with pytest.raises(ClientError) as e:
        create_python(lam, unique_name("fn"), runtime="python3.11", SnapStart={"ApplyOn": "PublishedVersions"})
    assert error(e)[:2] == ("InvalidParameterValueException",
                            "python3.11 is not supported for SnapStart enabled functions.")
    name = unique_name("fn")
    create_python(lam, name, runtime="python3.12", SnapStart={"ApplyOn": "PublishedVersions"})
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    with pytest.raises(ClientError) as e:  # the runtime changed under SnapStart
        lam.update_function_configuration(FunctionName=name, Runtime="python3.11")
    assert error(e)[:2] == ("InvalidParameterValueException",
                            "python3.11 is not supported for SnapStart enabled functions.")
    with pytest.raises(ClientError) as e:
        lam.update_function_configuration(FunctionName=name, SnapStart={"ApplyOn": "invalidOption"})
    assert error(e)[:2] == ("ValidationException", "1 validation error detected: Value 'invalidOption' at "
                            "'snapStart.applyOn' failed to satisfy constraint: Member must satisfy enum value set: "
                            "[PublishedVersions, None]")


def test_snapstart_hook_that_raises_fails_the_invocation(lam, unique_name):
    # an after-restore hook that raises: the runtime reports it (/runtime/restore/error) and exits,
    # and the invocation answers the error as a failed init
    name = unique_name("fn")
    text = ("from snapshot_restore_py import register_after_restore\n\n\n"
            "@register_after_restore\ndef after():\n    raise RuntimeError('no connection after restore')\n\n\n"
            "def handler(event, context):\n    return 'unreachable'\n")
    create_python(lam, name, text, runtime="python3.12", SnapStart={"ApplyOn": "PublishedVersions"})
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    version = lam.publish_version(FunctionName=name)["Version"]
    out = lam.invoke(FunctionName=name, Qualifier=version)
    assert out["FunctionError"] == "Unhandled"
    body = json.loads(out["Payload"].read())
    assert body["errorType"] == "RuntimeError" and body["errorMessage"] == "no connection after restore"
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'"unreachable"'  # $LATEST: no hooks run
