"""Cloud Control API through boto3: GetResource and ListResources answered by the CloudFormation
resource types' read and list handlers (the resources a stack made, and those made through the
services' APIs alike), with AWS's errors for unknown types, types without a handler and identifiers
that name nothing."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

FAST = {"Delay": 0.2, "MaxAttempts": 300}

STACK = """
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt Role.Arn
      Timeout: 7
      Environment: {Variables: {MODE: test}}
      Code: {ZipFile: "def handler(event, context):\\n    return 'ok'\\n"}
  Url:
    Type: AWS::Lambda::Url
    Properties: {TargetFunctionArn: !GetAtt Fn.Arn, AuthType: NONE}
  Queue:
    Type: AWS::SQS::Queue
    Properties: {DelaySeconds: 4, Tags: [{Key: app, Value: cc}]}
  Logs:
    Type: AWS::Logs::LogGroup
    Properties: {RetentionInDays: 7}
Outputs:
  Fn: {Value: !Ref Fn}
  FnArn: {Value: !GetAtt Fn.Arn}
  Url: {Value: !GetAtt Url.FunctionUrl}
  Queue: {Value: !Ref Queue}
  Logs: {Value: !Ref Logs}
"""


@pytest.fixture(scope="module")
def deployed(client):
    cf = client("cloudformation")
    name = f"cloudcontrol-{uuid.uuid4().hex[:12]}"
    cf.create_stack(StackName=name, TemplateBody=STACK, Capabilities=["CAPABILITY_IAM"])
    cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=FAST)
    yield {o["OutputKey"]: o["OutputValue"] for o in cf.describe_stacks(StackName=name)["Stacks"][0]["Outputs"]}
    cf.delete_stack(StackName=name)


def _get(cc, type_name: str, identifier: str) -> dict:
    described = cc.get_resource(TypeName=type_name, Identifier=identifier)
    assert described["TypeName"] == type_name and described["ResourceDescription"]["Identifier"] == identifier
    return json.loads(described["ResourceDescription"]["Properties"])


def test_get_resource_reads_what_a_stack_made(client, deployed):
    cc = client("cloudcontrol")
    url = _get(cc, "AWS::Lambda::Url", deployed["FnArn"])
    assert url["FunctionUrl"] == deployed["Url"] and url["AuthType"] == "NONE"
    # sam list endpoints asks by the function's name (the function's physical id)
    assert _get(cc, "AWS::Lambda::Url", deployed["Fn"])["FunctionUrl"] == deployed["Url"]
    function = _get(cc, "AWS::Lambda::Function", deployed["Fn"])
    assert (function["Arn"], function["Timeout"], function["Environment"]) == (
        deployed["FnArn"], 7, {"Variables": {"MODE": "test"}})
    queue = _get(cc, "AWS::SQS::Queue", deployed["Queue"])
    assert queue["DelaySeconds"] == 4 and queue["Tags"] == [{"Key": "app", "Value": "cc"}]
    assert _get(cc, "AWS::Logs::LogGroup", deployed["Logs"])["RetentionInDays"] == 7


def test_get_resource_reads_what_the_apis_made(client, unique_name):
    cc, ddb = client("cloudcontrol"), client("dynamodb")
    table = unique_name("cc-table")
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    properties = _get(cc, "AWS::DynamoDB::Table", table)
    assert properties["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert properties["BillingMode"] == "PAY_PER_REQUEST" and properties["Arn"].endswith(f":table/{table}")
    listed = cc.list_resources(TypeName="AWS::DynamoDB::Table")["ResourceDescriptions"]
    assert table in [d["Identifier"] for d in listed]


def test_list_resources_pages(client, deployed, unique_name):
    cc, sqs = client("cloudcontrol"), client("sqs")
    for i in range(3):
        sqs.create_queue(QueueName=unique_name(f"cc-page-{i}"))
    first = cc.list_resources(TypeName="AWS::SQS::Queue", MaxResults=2)
    assert len(first["ResourceDescriptions"]) == 2 and first["NextToken"]
    identifiers = [d["Identifier"] for d in first["ResourceDescriptions"]]
    pages = cc.get_paginator("list_resources").paginate(TypeName="AWS::SQS::Queue")
    every = [d["Identifier"] for page in pages for d in page["ResourceDescriptions"]]
    assert identifiers == every[:2] and deployed["Queue"] in every
    assert json.loads(next(d for page in cc.get_paginator("list_resources").paginate(TypeName="AWS::SQS::Queue")
                           for d in page["ResourceDescriptions"] if d["Identifier"] == deployed["Queue"])[
        "Properties"])["DelaySeconds"] == 4


@pytest.mark.parametrize("type_name, identifier, code, message", [
    ("AWS::Lambda::Url", "no-such-function", "ResourceNotFoundException",
     "AWS::Lambda::Url Handler returned status FAILED: Resource of type 'AWS::Lambda::Url' with identifier "
     "'no-such-function' was not found."),
    ("AWS::Nope::Thing", "x", "TypeNotFoundException", "The type 'AWS::Nope::Thing' cannot be found."),
    ("AWS::SNS::Subscription", "x", "UnsupportedActionException",
     "Resource type AWS::SNS::Subscription does not support READ action"),
])
def test_get_resource_errors(client, type_name, identifier, code, message):
    with pytest.raises(ClientError) as info:
        client("cloudcontrol").get_resource(TypeName=type_name, Identifier=identifier)
    assert info.value.response["Error"]["Code"] == code
    assert info.value.response["Error"]["Message"].startswith(message)
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_create_resource_is_not_implemented(client):
    with pytest.raises(ClientError) as info:
        client("cloudcontrol").create_resource(TypeName="AWS::SQS::Queue", DesiredState="{}")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
