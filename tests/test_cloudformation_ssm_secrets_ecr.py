"""CloudFormation resource types of SSM, Secrets Manager and ECR: stacks create, update and delete
them through the services' own providers."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import WaiterError
from cfn_support import own_tags
from lambda_functions import create_python, source

FAST = {"Delay": 0.2, "MaxAttempts": 300}


@pytest.fixture
def cf(client):
    return client("cloudformation")


def deploy(cf, name: str, template: str, waiter: str = "stack_create_complete", **kwargs) -> dict:
    if waiter == "stack_create_complete":
        cf.create_stack(StackName=name, TemplateBody=template, **kwargs)
    else:
        cf.update_stack(StackName=name, TemplateBody=template, **kwargs)
    cf.get_waiter(waiter).wait(StackName=name, WaiterConfig=FAST)
    stack = cf.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


PARAMETER = """
Resources:
  Param:
    Type: AWS::SSM::Parameter
    Properties:
      Name: {name}
      Type: String
      Value: {value}
      Description: from a stack
      Tags: {{team: red}}
Outputs:
  Name: {{Value: !Ref Param}}
  Value: {{Value: !GetAtt Param.Value}}
"""


def test_ssm_parameter_create_update_delete(cf, client, unique_name):
    ssm = client("ssm")
    stack, name = unique_name("ssm"), "/" + unique_name("cfn") + "/param"
    out = deploy(cf, stack, PARAMETER.format(name=name, value="one"))
    assert out == {"Name": name, "Value": "one"}
    got = ssm.get_parameter(Name=name)["Parameter"]
    assert (got["Value"], got["Version"]) == ("one", 1)
    assert own_tags(ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]) == [
        {"Key": "team", "Value": "red"}]
    out = deploy(cf, stack, PARAMETER.format(name=name, value="two"), "stack_update_complete")
    assert out["Value"] == "two" and ssm.get_parameter(Name=name)["Parameter"]["Version"] == 2
    cf.delete_stack(StackName=stack)
    cf.get_waiter("stack_delete_complete").wait(StackName=stack, WaiterConfig=FAST)
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name=name)


SECRET = """
Resources:
  Secret:
    Type: AWS::SecretsManager::Secret
    Properties:
      Name: {name}
      Description: generated
      GenerateSecretString:
        SecretStringTemplate: '{{"username": "app"}}'
        GenerateStringKey: password
        PasswordLength: 20
        ExcludePunctuation: true
  Plain:
    Type: AWS::SecretsManager::Secret
    Properties:
      SecretString: literal-value
Outputs:
  Arn: {{Value: !Ref Secret}}
  Plain: {{Value: !Ref Plain}}
"""


def test_secret_with_generated_string(cf, client, unique_name):
    sm = client("secretsmanager")
    stack, name = unique_name("sm"), "cfn/" + unique_name("secret")
    out = deploy(cf, stack, SECRET.format(name=name))
    value = json.loads(sm.get_secret_value(SecretId=out["Arn"])["SecretString"])
    assert value["username"] == "app" and len(value["password"]) == 20 and value["password"].isalnum()
    assert sm.get_secret_value(SecretId=out["Plain"])["SecretString"] == "literal-value"
    assert sm.describe_secret(SecretId=name)["Description"] == "generated"
    cf.delete_stack(StackName=stack)
    cf.get_waiter("stack_delete_complete").wait(StackName=stack, WaiterConfig=FAST)
    with pytest.raises(sm.exceptions.ResourceNotFoundException):
        sm.describe_secret(SecretId=name)  # deleted without a recovery window, as CloudFormation does


REPOSITORY = """
Resources:
  Repo:
    Type: AWS::ECR::Repository
    Properties:
      ImageTagMutability: IMMUTABLE
      ImageScanningConfiguration: {ScanOnPush: true}
      LifecyclePolicy:
        LifecyclePolicyText: '{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":5},"action":{"type":"expire"}}]}'
      RepositoryPolicyText:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {AWS: "arn:aws:iam::111111111111:root"}
            Action: ["ecr:BatchGetImage"]
Outputs:
  Name: {Value: !Ref Repo}
  Arn: {Value: !GetAtt Repo.Arn}
  Uri: {Value: !GetAtt Repo.RepositoryUri}
"""


def test_ecr_repository(cf, client, unique_name):
    ecr = client("ecr")
    stack = unique_name("ecr")
    out = deploy(cf, stack, REPOSITORY)
    assert out["Name"] == out["Name"].lower()
    assert out["Uri"] == f"000000000000.dkr.ecr.us-east-1.amazonaws.com/{out['Name']}"
    [repo] = ecr.describe_repositories(repositoryNames=[out["Name"]])["repositories"]
    assert repo["repositoryArn"] == out["Arn"] and repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert json.loads(ecr.get_lifecycle_policy(repositoryName=out["Name"])["lifecyclePolicyText"])["rules"]
    assert "ecr:BatchGetImage" in ecr.get_repository_policy(repositoryName=out["Name"])["policyText"]
    cf.delete_stack(StackName=stack)
    cf.get_waiter("stack_delete_complete").wait(StackName=stack, WaiterConfig=FAST)
    with pytest.raises(ecr.exceptions.RepositoryNotFoundException):
        ecr.describe_repositories(repositoryNames=[out["Name"]])


ROTATION = """
Resources:
  Secret:
    Type: AWS::SecretsManager::Secret
    Properties:
      GenerateSecretString: {{PasswordLength: 16}}
  Schedule:
    Type: AWS::SecretsManager::RotationSchedule
    Properties:
      SecretId: !Ref Secret
      RotationLambdaARN: {function}
      RotationRules: {{AutomaticallyAfterDays: 30}}
Outputs:
  Arn: {{Value: !Ref Secret}}
"""


def test_rotation_schedule_rotates_through_the_function(cf, client, unique_name):
    sm = client("secretsmanager")
    function = create_python(client("lambda"), unique_name("rot"), source("rotation.py"), Timeout=30,
                             Environment={"Variables": {"DATABASE_PARAMETER": "/" + unique_name("db")}})
    # Secrets Manager invokes the function as secretsmanager.amazonaws.com: its policy must allow it
    client("lambda").add_permission(FunctionName=function["FunctionName"], StatementId="rotation",
                                    Action="lambda:InvokeFunction", Principal="secretsmanager.amazonaws.com")
    stack = unique_name("rotation")
    out = deploy(cf, stack, ROTATION.format(function=function["FunctionArn"]))
    described = sm.describe_secret(SecretId=out["Arn"])
    assert described["RotationEnabled"] is True and described["RotationLambdaARN"] == function["FunctionArn"]
    assert described["RotationRules"]["AutomaticallyAfterDays"] == 30
    deadline = time.monotonic() + 30
    while "LastRotatedDate" not in described and time.monotonic() < deadline:
        time.sleep(0.1)
        described = sm.describe_secret(SecretId=out["Arn"])
    assert "LastRotatedDate" in described and len(described["VersionIdsToStages"]) == 2
    cf.delete_stack(StackName=stack)
    cf.get_waiter("stack_delete_complete").wait(StackName=stack, WaiterConfig=FAST)


def test_secure_string_parameter_fails_the_stack_with_the_reason(cf, unique_name):
    stack = unique_name("securestring")
    cf.create_stack(StackName=stack, TemplateBody="""
Resources:
  Param:
    Type: AWS::SSM::Parameter
    Properties: {Type: SecureString, Value: x}
""")
    with pytest.raises(WaiterError):
        cf.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig=FAST)
    events = cf.describe_stack_events(StackName=stack)["StackEvents"]
    [failed] = [e for e in events if e["LogicalResourceId"] == "Param" and e["ResourceStatus"] == "CREATE_FAILED"]
    assert "SecureString" in failed["ResourceStatusReason"]


REFERENCES = """
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      Tags:
        - {{Key: secure, Value: "{{{{resolve:ssm-secure:{secure}}}}}"}}
        - {{Key: user, Value: "user-{{{{resolve:secretsmanager:{secret}:SecretString:username}}}}"}}
        - {{Key: whole, Value: "{{{{resolve:secretsmanager:{secret_arn}}}}}"}}
        - {{Key: previous, Value: "{{{{resolve:secretsmanager:{secret}:SecretString:username:AWSPREVIOUS}}}}"}}
Outputs:
  Url: {{Value: !Ref Queue}}
"""


def test_dynamic_references_to_secure_strings_and_secrets(cf, client, unique_name):
    ssm, sm, sqs = client("ssm"), client("secretsmanager"), client("sqs")
    secure = "/" + unique_name("ref") + "/secure"
    ssm.put_parameter(Name=secure, Value="hidden", Type="SecureString")
    secret = unique_name("refsecret")
    sm.create_secret(Name=secret, SecretString='{"username": "old"}')
    arn = sm.put_secret_value(SecretId=secret, SecretString='{"username": "app", "password": "pw"}')["ARN"]
    out = deploy(cf, unique_name("refs"), REFERENCES.format(secure=secure, secret=secret, secret_arn=arn))
    assert own_tags(sqs.list_queue_tags(QueueUrl=out["Url"])["Tags"]) == {
        "secure": "hidden", "user": "user-app", "whole": '{"username": "app", "password": "pw"}', "previous": "old"}


@pytest.mark.parametrize("kind", ["CommaDelimitedList", "List<String>"])
def test_an_ssm_parameter_typed_as_a_list_is_a_list(cf, client, unique_name, kind):
    """A parameter of type AWS::SSM::Parameter::Value<CommaDelimitedList> (or <List<String>>) names
    a StringList parameter, and Ref answers its items as a list, as LocalStack's AWS-recorded
    test_create_change_set_with_ssm_parameter_list shows it in a policy's Resource."""
    name = unique_name("listparam")
    arns = ["arn:aws:ssm:us-east-1:000000000000:parameter/some/params",
            "arn:aws:ssm:us-east-1:000000000000:parameter/some/other/params"]
    client("ssm").put_parameter(Name=name, Value=",".join(arns), Type="StringList")
    template = json.dumps({
        "Parameters": {"P": {"Type": f"AWS::SSM::Parameter::Value<{kind}>"}},
        "Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
            "Policies": [{"PolicyName": "policy-123", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "*", "Resource": {"Ref": "P"}}]}}]}}},
        "Outputs": {"Role": {"Value": {"Ref": "Role"}}, "Count": {"Value": {"Fn::Join": ["+", {"Ref": "P"}]}}}})
    out = deploy(cf, name, template, Parameters=[{"ParameterKey": "P", "ParameterValue": name}],
                 Capabilities=["CAPABILITY_IAM"])
    assert out["Count"] == "+".join(arns)
    document = client("iam").get_role_policy(RoleName=out["Role"], PolicyName="policy-123")["PolicyDocument"]
    assert document["Statement"][0]["Resource"] == arns
