"""Lambda's answers shaped as AWS's (LocalStack's AWS-validated test_lambda_api.py, issue 14):
the runtime's version, revisions of in-progress states, what list answers leave out, JSON log
levels, and AWS's error for a deprecated runtime."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from lambda_functions import ROLE, create_python, python_zip, source


@pytest.fixture(scope="module")
def lam(client):
    return client("lambda")


def all_functions(lam, **kwargs) -> list[dict]:
    """Every page of ListFunctions (other test files share the server: more than a page of functions)."""
    return [f for page in lam.get_paginator("list_functions").paginate(**kwargs) for f in page["Functions"]]


def test_function_configuration_names_the_runtime_version(lam, unique_name):
    name = unique_name("fn")
    created = create_python(lam, name)
    arn = created["RuntimeVersionConfig"]["RuntimeVersionArn"]
    assert arn.startswith("arn:aws:lambda:us-east-1::runtime:") and len(arn.rsplit(":", 1)[1]) == 64
    assert lam.get_function(FunctionName=name)["Configuration"]["RuntimeVersionConfig"]["RuntimeVersionArn"] == arn
    updated = lam.update_function_configuration(FunctionName=name, Runtime="python3.12")
    assert updated["RuntimeVersionConfig"]["RuntimeVersionArn"] != arn  # another runtime, another version


def test_create_and_update_answers_carry_the_in_progress_revision(lam, unique_name):
    name = unique_name("fn")
    created = create_python(lam, name)
    active = lam.get_function(FunctionName=name)["Configuration"]
    assert active["State"] == "Active" and active["RevisionId"] != created["RevisionId"]
    updated = lam.update_function_configuration(FunctionName=name, Timeout=9, RevisionId=active["RevisionId"])
    done = lam.get_function_configuration(FunctionName=name)
    assert done["LastUpdateStatus"] == "Successful" and done["RevisionId"] not in (updated["RevisionId"], active["RevisionId"])
    # the revision of the finished update is the one a conditional update names
    lam.update_function_code(FunctionName=name, ZipFile=python_zip(source("echo.py")), RevisionId=done["RevisionId"])


def test_list_answers_leave_out_state_and_runtime_version(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name)
    lam.publish_version(FunctionName=name)
    versions = lam.list_versions_by_function(FunctionName=name)["Versions"]
    listed = [f for f in all_functions(lam, FunctionVersion="ALL") if f["FunctionName"] == name]
    assert len(versions) == 2 and len(listed) == 2
    for config in versions + listed:
        assert not {"State", "LastUpdateStatus", "RuntimeVersionConfig"} & set(config)
        assert config["Runtime"] == "python3.11"


def test_json_log_format_defaults_levels_to_info(lam, unique_name):
    name = unique_name("fn")
    out = create_python(lam, name, LoggingConfig={"LogFormat": "JSON"})
    assert out["LoggingConfig"] == {"LogFormat": "JSON", "LogGroup": f"/aws/lambda/{name}",
                                    "ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO"}
    out = lam.update_function_configuration(FunctionName=name, LoggingConfig={"ApplicationLogLevel": "DEBUG"})
    assert out["LoggingConfig"]["ApplicationLogLevel"] == "DEBUG" and out["LoggingConfig"]["SystemLogLevel"] == "INFO"
    text = create_python(lam, unique_name("fn"))["LoggingConfig"]
    assert "ApplicationLogLevel" not in text and text["LogFormat"] == "Text"


@pytest.mark.parametrize("runtime", ["python3.7", "python3.8", "nodejs14.x", "nodejs16.x", "java8", "go1.x", "provided"])
def test_deprecated_runtime_is_refused_as_aws_does(lam, unique_name, runtime):
    with pytest.raises(ClientError) as e:
        lam.create_function(FunctionName=unique_name("fn"), Runtime=runtime, Role=ROLE, Handler="app.handler",
                            Code={"ZipFile": python_zip(source("echo.py"))})
    err = e.value.response
    assert err["Error"]["Code"] == "InvalidParameterValueException"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err["Error"]["Message"] == (f"The runtime parameter of {runtime} is no longer supported for creating or "
                                       "updating AWS Lambda functions. We recommend you use a supported runtime while "
                                       "creating or updating functions.")


def test_deprecated_runtime_is_refused_on_update(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name)
    with pytest.raises(ClientError) as e:
        lam.update_function_configuration(FunctionName=name, Runtime="python3.7")
    assert e.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert lam.get_function_configuration(FunctionName=name)["Runtime"] == "python3.11"


def test_function_of_another_region_is_not_found(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name)
    arn = f"arn:aws:lambda:eu-central-1:000000000000:function:{name}"
    for call in (lam.get_function, lam.get_function_configuration, lam.delete_function):
        with pytest.raises(ClientError) as e:
            call(FunctionName=arn)
        err = e.value.response
        assert err["Error"]["Code"] == "ResourceNotFoundException" and err["ResponseMetadata"]["HTTPStatusCode"] == 404
        assert err["Error"]["Message"] == "Functions from 'eu-central-1' are not reachable in this region ('us-east-1')"
    assert lam.get_function(FunctionName=name)["Configuration"]["FunctionName"] == name


def test_missing_function_is_named_with_the_qualifier_asked_for(lam, unique_name):
    name = unique_name("fn")
    # (DeleteFunction refuses $LATEST before looking: test_lambda_api_validation.py)
    for call in (lam.get_function, lam.get_function_configuration):
        with pytest.raises(ClientError) as e:
            call(FunctionName=name, Qualifier="$LATEST")
        assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
        assert e.value.response["Error"]["Message"] == (
            f"Function not found: arn:aws:lambda:us-east-1:000000000000:function:{name}:$LATEST")
    with pytest.raises(ClientError) as e:
        lam.get_function(FunctionName=name)
    assert e.value.response["Error"]["Message"] == f"Function not found: arn:aws:lambda:us-east-1:000000000000:function:{name}"


def test_url_config_of_missing_function_or_alias(lam, unique_name):
    name = unique_name("fn")
    for call in (lam.get_function_url_config, lam.delete_function_url_config):
        with pytest.raises(ClientError) as e:
            call(FunctionName=name)
        assert e.value.response["Error"] == {"Code": "ResourceNotFoundException",
                                             "Message": "The resource you requested does not exist."}
    with pytest.raises(ClientError) as e:
        lam.create_function_url_config(FunctionName=name, AuthType="NONE")
    assert e.value.response["Error"] == {"Code": "ResourceNotFoundException", "Message": "Function does not exist"}
    create_python(lam, name)
    with pytest.raises(ClientError) as e:
        lam.create_function_url_config(FunctionName=name, Qualifier="nosuchalias", AuthType="NONE")
    assert e.value.response["Error"]["Message"] == "Function does not exist"
    for qualifier in ("1", "$LATEST"):
        with pytest.raises(ClientError) as e:
            lam.create_function_url_config(FunctionName=name, Qualifier=qualifier, AuthType="NONE")
        assert e.value.response["Error"]["Code"] == "ValidationException"
        assert f"Value '{qualifier}' at 'qualifier' failed to satisfy constraint" in e.value.response["Error"]["Message"]
    assert lam.create_function_url_config(FunctionName=name, AuthType="NONE")["AuthType"] == "NONE"
    assert lam.get_function_url_config(FunctionName=name)["AuthType"] == "NONE"


def test_event_invoke_config_of_missing_function_or_version(lam, unique_name):
    name = unique_name("fn")
    arn = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    with pytest.raises(ClientError) as e:
        lam.get_function_event_invoke_config(FunctionName=name)
    assert e.value.response["Error"] == {"Code": "ResourceNotFoundException",
                                         "Message": f"The function {arn}:$LATEST doesn't have an EventInvokeConfig"}
    create_python(lam, name)
    with pytest.raises(ClientError) as e:
        lam.get_function_event_invoke_config(FunctionName=name, Qualifier="12")
    assert e.value.response["Error"]["Message"] == f"The function {arn}:12 doesn't have an EventInvokeConfig"


def test_tags_on_a_version_or_alias_are_refused(lam, unique_name):
    name = unique_name("fn")
    arn = create_python(lam, name)["FunctionArn"]
    for qualified in (f"{arn}:$LATEST", f"{arn}:1"):
        with pytest.raises(ClientError) as e:
            lam.tag_resource(Resource=qualified, Tags={"a": "b"})
        assert e.value.response["Error"] == {
            "Code": "InvalidParameterValueException",
            "Message": "Tags on function aliases and versions are not supported. Please specify a function ARN."}
    lam.tag_resource(Resource=arn, Tags={"a": "b"})
    assert lam.list_tags(Resource=arn)["Tags"] == {"a": "b"}


def test_delete_function_answers_204(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name)
    out = lam.delete_function(FunctionName=name)
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 204 and out["StatusCode"] == 204
    with pytest.raises(ClientError) as e:
        lam.delete_function(FunctionName=name)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_update_url_config_of_missing_function_alias_or_config(lam, unique_name):
    name = unique_name("fn")
    with pytest.raises(ClientError) as e:
        lam.update_function_url_config(FunctionName=name, AuthType="NONE")
    assert e.value.response["Error"] == {"Code": "ResourceNotFoundException", "Message": "Function does not exist"}
    create_python(lam, name)
    with pytest.raises(ClientError) as e:
        lam.update_function_url_config(FunctionName=name, Qualifier="nosuchalias", AuthType="NONE")
    assert e.value.response["Error"]["Message"] == "Function does not exist"
    with pytest.raises(ClientError) as e:
        lam.update_function_url_config(FunctionName=name, AuthType="NONE")
    assert e.value.response["Error"] == {"Code": "ResourceNotFoundException",
                                         "Message": "The resource you requested does not exist."}
    lam.create_function_url_config(FunctionName=name, AuthType="NONE")
    assert lam.update_function_url_config(FunctionName=name, AuthType="AWS_IAM")["AuthType"] == "AWS_IAM"


def test_publish_creates_a_version_only_when_latest_changed(lam, unique_name):
    name = unique_name("fn")
    created = create_python(lam, name, Publish=True)
    assert created["Version"] == "1" and created["State"] == "Pending"  # the function's answer, naming version 1
    assert created["FunctionArn"].endswith(f":function:{name}")
    assert lam.publish_version(FunctionName=name)["Version"] == "1"  # nothing changed since
    lam.update_function_configuration(FunctionName=name, Description="second")
    assert lam.publish_version(FunctionName=name)["Version"] == "2"  # a description is a change too
    again = lam.publish_version(FunctionName=name, Description="ignored")
    assert (again["Version"], again["Description"]) == ("2", "second")
    versions = lam.list_versions_by_function(FunctionName=name)["Versions"]
    assert versions[0]["FunctionArn"].endswith(f"{name}:$LATEST")
    listed = [f["FunctionArn"] for f in all_functions(lam, FunctionVersion="ALL") if f["FunctionName"] == name]
    assert listed[0].endswith(f"{name}:$LATEST")
    assert [f["FunctionArn"] for f in all_functions(lam) if f["FunctionName"] == name] == [listed[0][:-8]]
