"""Lambda code signing configurations (CreateCodeSigningConfig and the rest): kept, listed,
attached to functions, and applied to deployments: overcast has no AWS Signer, so no code is
signed by a trusted publisher, and a function whose configuration says Enforce refuses new code."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from lambda_functions import create_python, python_zip, source

PUBLISHERS = {"SigningProfileVersionArns": ["arn:aws:signer:us-east-1:000000000000:/signing-profiles/test"]}


@pytest.fixture(scope="module")
def lam(client):
    return client("lambda")


def error(e) -> tuple:
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"], \
        e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_code_signing_config_lifecycle(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name)
    created = lam.create_code_signing_config(Description="d", AllowedPublishers=PUBLISHERS)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    config = created["CodeSigningConfig"]
    arn = config["CodeSigningConfigArn"]
    assert arn == f"arn:aws:lambda:us-east-1:000000000000:code-signing-config:{config['CodeSigningConfigId']}"
    assert config["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": "Warn"}  # AWS's default
    updated = lam.update_code_signing_config(CodeSigningConfigArn=arn,
                                             CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Enforce"})
    assert updated["CodeSigningConfig"]["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"] == "Enforce"
    assert lam.get_code_signing_config(CodeSigningConfigArn=arn)["CodeSigningConfig"] == updated["CodeSigningConfig"]
    assert arn in [c["CodeSigningConfigArn"] for c in lam.list_code_signing_configs()["CodeSigningConfigs"]]

    assert lam.get_function_code_signing_config(FunctionName=name).get("CodeSigningConfigArn") is None
    put = lam.put_function_code_signing_config(FunctionName=name, CodeSigningConfigArn=arn)
    assert (put["CodeSigningConfigArn"], put["FunctionName"]) == (arn, name)
    assert lam.get_function_code_signing_config(FunctionName=name)["CodeSigningConfigArn"] == arn
    function_arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    assert lam.list_functions_by_code_signing_config(CodeSigningConfigArn=arn)["FunctionArns"] == [function_arn]
    with pytest.raises(ClientError) as e:  # still used by the function
        lam.delete_code_signing_config(CodeSigningConfigArn=arn)
    assert error(e)[0] == "ResourceConflictException"

    assert lam.delete_function_code_signing_config(FunctionName=name)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert lam.list_functions_by_code_signing_config(CodeSigningConfigArn=arn)["FunctionArns"] == []
    assert lam.delete_code_signing_config(CodeSigningConfigArn=arn)["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as e:
        lam.get_code_signing_config(CodeSigningConfigArn=arn)
    assert error(e) == ("ResourceNotFoundException", f"The Lambda code signing configuration {arn} can not be found.", 404)


def test_missing_configuration_or_function(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name)
    arn = lam.create_code_signing_config(AllowedPublishers=PUBLISHERS)["CodeSigningConfig"]["CodeSigningConfigArn"]
    other = arn[:-1] + ("x" if arn[-1] != "x" else "y")
    with pytest.raises(ClientError) as e:
        lam.put_function_code_signing_config(FunctionName="csc-missing-fn", CodeSigningConfigArn=other)
    assert error(e) == ("CodeSigningConfigNotFoundException", "The code signing configuration cannot be found. Check "
                        f"that the provided configuration is not deleted: {other}.", 404)
    with pytest.raises(ClientError) as e:
        lam.put_function_code_signing_config(FunctionName="csc-missing-fn", CodeSigningConfigArn=arn)
    assert error(e) == ("ResourceNotFoundException",
                        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:csc-missing-fn", 404)
    for call in (lam.update_code_signing_config, lam.delete_code_signing_config, lam.list_functions_by_code_signing_config):
        with pytest.raises(ClientError) as e:
            call(CodeSigningConfigArn=other)
        assert error(e)[0] == "ResourceNotFoundException"
    # deleting a function's configuration when it has none is fine
    assert lam.delete_function_code_signing_config(FunctionName=name)["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_enforce_refuses_unsigned_code_and_warn_deploys_it(lam, unique_name):
    enforce = lam.create_code_signing_config(AllowedPublishers=PUBLISHERS, CodeSigningPolicies={
        "UntrustedArtifactOnDeployment": "Enforce"})["CodeSigningConfig"]["CodeSigningConfigArn"]
    warn = lam.create_code_signing_config(AllowedPublishers=PUBLISHERS)["CodeSigningConfig"]["CodeSigningConfigArn"]
    with pytest.raises(ClientError) as e:
        create_python(lam, unique_name("fn"), CodeSigningConfigArn=enforce)
    assert error(e)[0::2] == ("CodeVerificationFailedException", 400)
    name = unique_name("fn")
    create_python(lam, name, CodeSigningConfigArn=warn)
    assert lam.get_function_code_signing_config(FunctionName=name)["CodeSigningConfigArn"] == warn
    lam.update_function_code(FunctionName=name, ZipFile=python_zip(source("echo.py")))
    lam.put_function_code_signing_config(FunctionName=name, CodeSigningConfigArn=enforce)
    with pytest.raises(ClientError) as e:
        lam.update_function_code(FunctionName=name, ZipFile=python_zip(source("echo.py")))
    assert error(e)[0] == "CodeVerificationFailedException"
