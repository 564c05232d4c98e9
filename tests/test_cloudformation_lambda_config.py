"""AWS::Lambda::Version and AWS::Lambda::Alias with a ProvisionedConcurrencyConfig (put, waited
for until its sandboxes have started, changed and removed with the stack), AWS::Lambda::
CodeSigningConfig and a function's CodeSigningConfigArn, and a JSON template with a trailing comma,
which CloudFormation deploys (LocalStack's resources/test_lambda.py deploys such templates against
AWS); and S3 bucket settings and the short physical id of AWS::IAM::Policy."""

from __future__ import annotations

import json

import pytest
from cfn_support import wait

ROLE_ARN = "arn:aws:iam::000000000000:role/lambda-role"


@pytest.fixture
def cf(client):
    return client("cloudformation")


def _function(name: str, **props) -> dict:
    return {"Type": "AWS::Lambda::Function",
            "Properties": {"FunctionName": name, "Runtime": "python3.11", "Handler": "index.handler",
                           "Role": ROLE_ARN, "Code": {"ZipFile": "def handler(event, context):\n    return 'hi'\n"},
                           **props}}


def _provisioned_template(name: str, version_count: int | None, alias_count: int | None,
                          description: str = "") -> str:
    version = {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "Fn"}}}
    if version_count:
        version["Properties"]["ProvisionedConcurrencyConfig"] = {"ProvisionedConcurrentExecutions": version_count}
    alias = {"Type": "AWS::Lambda::Alias",
             "Properties": {"FunctionName": {"Ref": "Fn"}, "Name": "live",
                            "FunctionVersion": {"Fn::GetAtt": ["Version", "Version"]}}}
    if alias_count:
        alias["Properties"]["ProvisionedConcurrencyConfig"] = {"ProvisionedConcurrentExecutions": alias_count}
    resources = {"Fn": _function(name, Description=description), "Version": version}
    if alias_count is not None:
        resources["Alias"] = alias
    return json.dumps({"Resources": resources,
                       "Outputs": {"Version": {"Value": {"Fn::GetAtt": ["Version", "Version"]}}}})


def _version(stack: dict) -> str:
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["Version"]


def test_a_versions_provisioned_concurrency_is_ready_when_the_stack_is(cf, client, unique_name):
    lam, name = client("lambda"), unique_name("pcv")
    cf.create_stack(StackName=name, TemplateBody=_provisioned_template(name, 1, None))
    version = _version(wait(cf, "stack_create_complete", name))
    config = lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier=version)
    assert (config["Status"], config["RequestedProvisionedConcurrentExecutions"],
            config["AllocatedProvisionedConcurrentExecutions"]) == ("READY", 1, 1)
    # the config is one of a version's create-only properties (AWS's schema): a new version replaces it
    # (with a change of the function's, so that there is a new version to publish)
    cf.update_stack(StackName=name, TemplateBody=_provisioned_template(name, None, None, "changed"))
    replacement = _version(wait(cf, "stack_update_complete", name))
    assert replacement != version
    with pytest.raises(lam.exceptions.ProvisionedConcurrencyConfigNotFoundException):
        lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier=replacement)
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]] == \
        ["$LATEST", replacement]
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})


def test_an_aliass_provisioned_concurrency_follows_the_template(cf, client, unique_name):
    lam, name = client("lambda"), unique_name("pca")
    cf.create_stack(StackName=name, TemplateBody=_provisioned_template(name, None, 1))
    wait(cf, "stack_create_complete", name)
    config = lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="live")
    assert (config["Status"], config["RequestedProvisionedConcurrentExecutions"]) == ("READY", 1)
    cf.update_stack(StackName=name, TemplateBody=_provisioned_template(name, None, 2))
    wait(cf, "stack_update_complete", name)
    config = lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="live")
    assert (config["Status"], config["RequestedProvisionedConcurrentExecutions"]) == ("READY", 2)
    assert lam.invoke(FunctionName=name, Qualifier="live")["Payload"].read() == b'"hi"'
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
    assert lam.list_functions()["Functions"] == [] or name not in [f["FunctionName"]
                                                                    for f in lam.list_functions()["Functions"]]


def test_a_code_signing_config_and_a_function_that_uses_it(cf, client, unique_name):
    lam, name = client("lambda"), unique_name("csc")
    signer = "arn:aws:signer:us-east-1:000000000000:/signing-profiles/test"

    def template(policy: str, attached: bool) -> str:
        function = _function(name)
        if attached:
            function["Properties"]["CodeSigningConfigArn"] = {"Ref": "Signing"}
        return json.dumps({"Resources": {
            "Signing": {"Type": "AWS::Lambda::CodeSigningConfig", "Properties": {
                "Description": "Code Signing", "AllowedPublishers": {"SigningProfileVersionArns": [signer]},
                "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": policy}}},
            "Fn": function},
            "Outputs": {"Ref": {"Value": {"Ref": "Signing"}},
                        "Arn": {"Value": {"Fn::GetAtt": ["Signing", "CodeSigningConfigArn"]}},
                        "Id": {"Value": {"Fn::GetAtt": ["Signing", "CodeSigningConfigId"]}}}})

    cf.create_stack(StackName=name, TemplateBody=template("Warn", True))
    out = {o["OutputKey"]: o["OutputValue"] for o in wait(cf, "stack_create_complete", name)["Outputs"]}
    assert out["Ref"] == out["Arn"] and out["Arn"].endswith(":code-signing-config:" + out["Id"])
    config = lam.get_code_signing_config(CodeSigningConfigArn=out["Arn"])["CodeSigningConfig"]
    assert config["Description"] == "Code Signing"
    assert config["AllowedPublishers"] == {"SigningProfileVersionArns": [signer]}
    assert lam.get_function_code_signing_config(FunctionName=name)["CodeSigningConfigArn"] == out["Arn"]

    cf.update_stack(StackName=name, TemplateBody=template("Enforce", False))
    wait(cf, "stack_update_complete", name)
    config = lam.get_code_signing_config(CodeSigningConfigArn=out["Arn"])["CodeSigningConfig"]
    assert config["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": "Enforce"}
    assert "CodeSigningConfigArn" not in lam.get_function_code_signing_config(FunctionName=name)

    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_code_signing_config(CodeSigningConfigArn=out["Arn"])


def test_a_json_template_with_a_trailing_comma_deploys(cf, client, unique_name):
    name = unique_name("comma")
    body = '{"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"Tags": [{"Key": "a", "Value": "b"},]}},\n}}'
    cf.create_stack(StackName=name, TemplateBody=body)
    wait(cf, "stack_create_complete", name)
    # anything worse than a trailing comma is CloudFormation's JSON error, with its place
    with pytest.raises(cf.exceptions.ClientError) as error:
        cf.validate_template(TemplateBody='{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"} "X": 1}}')
    assert error.value.response["Error"]["Message"] == \
        "Template format error: JSON not well-formed. (line 1,  column 53)"


def test_a_buckets_cors_object_lock_acceleration_and_logging_are_applied(cf, client, unique_name):
    s3, name = client("s3"), unique_name("bkt")

    def template(with_settings: bool) -> str:
        props = {"ObjectLockEnabled": True,
                 "ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled",
                                             "Rule": {"DefaultRetention": {"Days": 2, "Mode": "GOVERNANCE"}}},
                 "CorsConfiguration": {"CorsRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"],
                                                      "ExposedHeaders": ["Date"], "MaxAge": 10}]}}
        if with_settings:
            props.update(AccelerateConfiguration={"AccelerationStatus": "Enabled"},
                         LoggingConfiguration={"LogFilePrefix": "logs/"})
        return json.dumps({"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": props}}})

    cf.create_stack(StackName=name, TemplateBody=template(True))
    wait(cf, "stack_create_complete", name)
    bucket = cf.describe_stack_resource(StackName=name, LogicalResourceId="Bucket")[
        "StackResourceDetail"]["PhysicalResourceId"]
    rule = s3.get_bucket_cors(Bucket=bucket)["CORSRules"][0]
    assert (rule["ExposeHeaders"], rule["MaxAgeSeconds"]) == (["Date"], 10)
    assert s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]["Rule"] == \
        {"DefaultRetention": {"Days": 2, "Mode": "GOVERNANCE"}}
    assert s3.get_bucket_accelerate_configuration(Bucket=bucket)["Status"] == "Enabled"
    # no destination: the bucket logs to itself
    assert s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"] == {"TargetBucket": bucket, "TargetPrefix": "logs/"}

    cf.update_stack(StackName=name, TemplateBody=template(False))
    wait(cf, "stack_update_complete", name)
    assert s3.get_bucket_accelerate_configuration(Bucket=bucket)["Status"] == "Suspended"
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=bucket)


def test_an_iam_policys_physical_id_is_awss_short_form(cf, client, unique_name):
    name = unique_name("policystack")
    cf.create_stack(StackName=name, Capabilities=["CAPABILITY_IAM"], TemplateBody=json.dumps({"Resources": {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                    "Action": "sts:AssumeRole"}]}}},
        "fnServiceRoleDefaultPolicy0ED5D3E5": {"Type": "AWS::IAM::Policy", "Properties": {
            "PolicyName": "p", "Roles": [{"Ref": "Role"}], "PolicyDocument": {
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}}}}}))
    wait(cf, "stack_create_complete", name)
    physical = cf.describe_stack_resource(StackName=name, LogicalResourceId="fnServiceRoleDefaultPolicy0ED5D3E5")[
        "StackResourceDetail"]["PhysicalResourceId"]
    # (as "stack-fnSe-3OZPF82JL41D" in AWS's recordings: parts of both names and a 12-character suffix)
    stack_part, logical_part, suffix = physical.split("-")
    assert name.startswith(stack_part) and "fnServiceRole".startswith(logical_part) and len(suffix) == 12
    assert len(physical) == 23
