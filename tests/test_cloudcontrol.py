"""Cloud Control API through boto3: GetResource and ListResources answered by the CloudFormation
resource types' read and list handlers (the resources a stack made, and those made through the
services' APIs alike), with AWS's errors for unknown types, types without a handler and identifiers
that name nothing; CreateResource, UpdateResource and DeleteResource through the same types'
create, update and delete handlers, followed with GetResourceRequestStatus and its waiter."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError
from cfn_support import own_tags

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


@pytest.mark.postgres_e2e
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
    assert queue["DelaySeconds"] == 4 and own_tags(queue["Tags"]) == [{"Key": "app", "Value": "cc"}]
    assert _get(cc, "AWS::Logs::LogGroup", deployed["Logs"])["RetentionInDays"] == 7


@pytest.mark.postgres_e2e
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


@pytest.mark.postgres_e2e
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


def _done(cc, event: dict) -> dict:
    """The request's final ProgressEvent, through botocore's waiter (a FAILED request is returned too)."""
    try:
        cc.get_waiter("resource_request_success").wait(RequestToken=event["RequestToken"], WaiterConfig=FAST)
    except Exception:  # noqa: BLE001 - the waiter stops at FAILED; the event says why
        pass
    return cc.get_resource_request_status(RequestToken=event["RequestToken"])["ProgressEvent"]


@pytest.mark.postgres_e2e
def test_create_update_and_delete_through_the_resource_handlers(client, unique_name):
    """CreateResource, UpdateResource (an RFC 6902 patch) and DeleteResource run the CloudFormation
    types' handlers, so the queue is a real SQS queue; each answers IN_PROGRESS at once and ends
    SUCCESS in GetResourceRequestStatus, with the model read back."""
    cc, sqs = client("cloudcontrol"), client("sqs")
    name = unique_name("cc-made")
    started = cc.create_resource(TypeName="AWS::SQS::Queue", ClientToken=name, DesiredState=json.dumps(
        {"QueueName": name, "DelaySeconds": 3, "Tags": [{"Key": "app", "Value": "cc"}]}))["ProgressEvent"]
    assert (started["Operation"], started["OperationStatus"], started["TypeName"]) == (
        "CREATE", "IN_PROGRESS", "AWS::SQS::Queue")
    done = _done(cc, started)
    assert done["OperationStatus"] == "SUCCESS", done
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    assert done["Identifier"] == url  # the type's primary identifier, QueueUrl
    model = json.loads(done["ResourceModel"])
    assert model["QueueName"] == name and model["DelaySeconds"] == 3 and model["Arn"].endswith(f":{name}")
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"app": "cc"}
    # the same ClientToken again is the same request, not a second queue
    again = cc.create_resource(TypeName="AWS::SQS::Queue", ClientToken=name, DesiredState=json.dumps(
        {"QueueName": name, "DelaySeconds": 3, "Tags": [{"Key": "app", "Value": "cc"}]}))["ProgressEvent"]
    assert again["RequestToken"] == started["RequestToken"]
    with pytest.raises(ClientError) as info:
        cc.create_resource(TypeName="AWS::SQS::Queue", ClientToken=name, DesiredState=json.dumps({"QueueName": "x"}))
    assert info.value.response["Error"]["Code"] == "ClientTokenConflictException"

    patch = [{"op": "replace", "path": "/DelaySeconds", "value": 9},
             {"op": "add", "path": "/VisibilityTimeout", "value": 45}]
    updated = _done(cc, cc.update_resource(TypeName="AWS::SQS::Queue", Identifier=url,
                                           PatchDocument=json.dumps(patch))["ProgressEvent"])
    assert (updated["Operation"], updated["OperationStatus"]) == ("UPDATE", "SUCCESS"), updated
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attributes["DelaySeconds"], attributes["VisibilityTimeout"]) == ("9", "45")
    assert json.loads(updated["ResourceModel"])["DelaySeconds"] == 9

    # a createOnly property cannot change in place: the request fails, the queue stays
    renamed = _done(cc, cc.update_resource(TypeName="AWS::SQS::Queue", Identifier=url, PatchDocument=json.dumps(
        [{"op": "replace", "path": "/QueueName", "value": "other"}]))["ProgressEvent"])
    assert (renamed["OperationStatus"], renamed["ErrorCode"]) == ("FAILED", "NotUpdatable")
    assert renamed["StatusMessage"] == "Invalid patch update: createOnlyProperties [/properties/QueueName] cannot be updated"

    deleted = _done(cc, cc.delete_resource(TypeName="AWS::SQS::Queue", Identifier=url)["ProgressEvent"])
    assert (deleted["Operation"], deleted["OperationStatus"], deleted["Identifier"]) == ("DELETE", "SUCCESS", url)
    with pytest.raises(ClientError) as info:
        sqs.get_queue_url(QueueName=name)
    assert info.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    gone = _done(cc, cc.delete_resource(TypeName="AWS::SQS::Queue", Identifier=url)["ProgressEvent"])
    assert (gone["OperationStatus"], gone["ErrorCode"]) == ("FAILED", "NotFound")

    listed = cc.list_resource_requests(ResourceRequestStatusFilter={"Operations": ["UPDATE"],
                                                                    "OperationStatuses": ["FAILED"]})
    assert renamed["RequestToken"] in [e["RequestToken"] for e in listed["ResourceRequestStatusSummaries"]]
    assert all(e["Operation"] == "UPDATE" and e["OperationStatus"] == "FAILED"
               for e in listed["ResourceRequestStatusSummaries"])


def test_types_without_a_read_handler_and_resources_other_tools_made(client, unique_name):
    """A type without a read handler (an IAM role) is created, updated and deleted from what Cloud
    Control recorded; a resource the service's API made (a DynamoDB table) is updated and deleted
    from what its read handler answers; names left out are generated."""
    cc, iam, ddb = client("cloudcontrol"), client("iam"), client("dynamodb")
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole"}]}
    made = _done(cc, cc.create_resource(TypeName="AWS::IAM::Role", DesiredState=json.dumps(
        {"AssumeRolePolicyDocument": trust, "Description": "first"}))["ProgressEvent"])
    assert made["OperationStatus"] == "SUCCESS", made
    role = made["Identifier"]
    assert role.startswith("Role-") and iam.get_role(RoleName=role)["Role"]["Description"] == "first"
    assert json.loads(made["ResourceModel"])["Arn"].endswith(f":role/{role}")
    changed = _done(cc, cc.update_resource(TypeName="AWS::IAM::Role", Identifier=role, PatchDocument=json.dumps(
        [{"op": "replace", "path": "/Description", "value": "second"}]))["ProgressEvent"])
    assert changed["OperationStatus"] == "SUCCESS", changed
    assert iam.get_role(RoleName=role)["Role"]["Description"] == "second"
    assert _done(cc, cc.delete_resource(TypeName="AWS::IAM::Role", Identifier=role)["ProgressEvent"])[
        "OperationStatus"] == "SUCCESS"
    assert role not in [r["RoleName"] for r in iam.list_roles()["Roles"]]

    table = unique_name("cc-table")
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    streamed = _done(cc, cc.update_resource(TypeName="AWS::DynamoDB::Table", Identifier=table, PatchDocument=json.dumps(
        [{"op": "add", "path": "/StreamSpecification", "value": {"StreamViewType": "NEW_IMAGE"}}]))["ProgressEvent"])
    assert streamed["OperationStatus"] == "SUCCESS", streamed
    assert ddb.describe_table(TableName=table)["Table"]["StreamSpecification"]["StreamViewType"] == "NEW_IMAGE"
    assert _done(cc, cc.delete_resource(TypeName="AWS::DynamoDB::Table", Identifier=table)["ProgressEvent"])[
        "OperationStatus"] == "SUCCESS"
    assert table not in ddb.list_tables()["TableNames"]


def test_bad_requests_answer_aws_errors(client):
    cc = client("cloudcontrol")

    def error(call, **kwargs) -> tuple[str, str]:
        with pytest.raises(ClientError) as info:
            call(**kwargs)
        return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]

    assert error(cc.create_resource, TypeName="AWS::SQS::Queue", DesiredState="{not json")[0] == "InvalidRequestException"
    assert error(cc.create_resource, TypeName="AWS::SQS::Queue", DesiredState="[1]")[0] == "InvalidRequestException"
    code, message = error(cc.create_resource, TypeName="AWS::SQS::Queue", DesiredState='{"Nope": 1}')
    assert code == "InvalidRequestException" and "/properties/Nope" in message
    code, message = error(cc.create_resource, TypeName="AWS::SQS::Queue", DesiredState='{"Arn": "x"}')
    assert code == "InvalidRequestException" and "/properties/Arn" in message
    assert error(cc.create_resource, TypeName="AWS::Nope::Thing", DesiredState="{}") == (
        "TypeNotFoundException", "The type 'AWS::Nope::Thing' cannot be found.")
    assert error(cc.update_resource, TypeName="AWS::SQS::Queue", Identifier="x", PatchDocument='{"op": 1}')[0] == \
        "InvalidRequestException"
    assert error(cc.update_resource, TypeName="AWS::SQS::Queue", Identifier="x",
                 PatchDocument='[{"op": "explode", "path": "/A"}]')[0] == "InvalidRequestException"
    # types whose resource schema has no handler for the action (AWS's schemas say which)
    assert error(cc.create_resource, TypeName="AWS::CloudFormation::WaitConditionHandle", DesiredState="{}") == (
        "UnsupportedActionException", "Resource type AWS::CloudFormation::WaitConditionHandle does not support "
                                      "CREATE action")
    assert error(cc.update_resource, TypeName="AWS::Lambda::Permission", Identifier="f|s", PatchDocument="[]") == (
        "UnsupportedActionException", "Resource type AWS::Lambda::Permission does not support UPDATE action")
    assert error(cc.get_resource_request_status, RequestToken="00000000-0000-0000-0000-000000000000")[0] == \
        "RequestTokenNotFoundException"
    # a resource that does not exist: the request is taken and fails with NotFound, as on AWS
    missing = _done(cc, cc.update_resource(TypeName="AWS::IAM::Role", Identifier="no-such-role", PatchDocument=json.dumps(
        [{"op": "replace", "path": "/Description", "value": "x"}]))["ProgressEvent"])
    assert (missing["OperationStatus"], missing["ErrorCode"]) == ("FAILED", "NotFound")
    assert missing["StatusMessage"] == "Resource of type 'AWS::IAM::Role' with identifier 'no-such-role' was not found."
    # a service's refusal is the request's FAILED event with the service's reason
    bad = _done(cc, cc.create_resource(TypeName="AWS::SQS::Queue", DesiredState=json.dumps(
        {"QueueName": "bad name!"}))["ProgressEvent"])
    assert (bad["OperationStatus"], bad["ErrorCode"]) == ("FAILED", "InvalidRequest") and bad["StatusMessage"]


def test_a_stack_made_through_cloud_control_is_a_stack_of_its_own(client, endpoint, unique_name):
    cc, cf, s3 = client("cloudcontrol"), client("cloudformation"), client("s3")
    bucket = unique_name("cc-templates")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="t.yaml", Body=b"Resources:\n  Q: {Type: AWS::SQS::Queue}\n"
                                                     b"Outputs:\n  Url: {Value: !Ref Q}\n")
    made = _done(cc, cc.create_resource(TypeName="AWS::CloudFormation::Stack", DesiredState=json.dumps(
        {"TemplateURL": f"{endpoint}/{bucket}/t.yaml"}))["ProgressEvent"])
    assert made["OperationStatus"] == "SUCCESS", made
    stack = cf.describe_stacks(StackName=made["Identifier"])["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE" and "ParentId" not in stack and "RootId" not in stack
    url = stack["Outputs"][0]["OutputValue"]
    assert client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    gone = _done(cc, cc.delete_resource(TypeName="AWS::CloudFormation::Stack", Identifier=made["Identifier"])[
        "ProgressEvent"])
    assert gone["OperationStatus"] == "SUCCESS", gone
    assert cf.describe_stacks(StackName=made["Identifier"])["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"


@pytest.mark.postgres_e2e
def test_cancel_resource_request(client, endpoint, unique_name):
    """CancelResourceRequest stops an IN_PROGRESS request (here a stack whose wait condition is
    never signalled): CANCEL_IN_PROGRESS at once, CANCEL_COMPLETE when the handler has stopped;
    a finished request answers ConcurrentModificationException, an unknown token
    RequestTokenNotFoundException (AWS's documented errors)."""
    cc, s3 = client("cloudcontrol"), client("s3")
    bucket = unique_name("cc-cancel")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="t.yaml", Body=b"Resources:\n  Handle: {Type: AWS::CloudFormation::WaitConditionHandle}\n"
                                                     b"  Wait:\n    Type: AWS::CloudFormation::WaitCondition\n"
                                                     b"    Properties: {Handle: !Ref Handle, Timeout: '3'}\n")
    started = cc.create_resource(TypeName="AWS::CloudFormation::Stack", DesiredState=json.dumps(
        {"TemplateURL": f"{endpoint}/{bucket}/t.yaml"}))["ProgressEvent"]
    canceling = cc.cancel_resource_request(RequestToken=started["RequestToken"])["ProgressEvent"]
    assert (canceling["RequestToken"], canceling["Operation"], canceling["OperationStatus"]) == (
        started["RequestToken"], "CREATE", "CANCEL_IN_PROGRESS")
    done = _done(cc, started)
    assert done["OperationStatus"] == "CANCEL_COMPLETE", done
    listed = cc.list_resource_requests(ResourceRequestStatusFilter={"OperationStatuses": ["CANCEL_COMPLETE"]})
    assert started["RequestToken"] in [e["RequestToken"] for e in listed["ResourceRequestStatusSummaries"]]

    def error(token: str) -> tuple[str, int]:
        with pytest.raises(ClientError) as info:
            cc.cancel_resource_request(RequestToken=token)
        return info.value.response["Error"]["Code"], info.value.response["ResponseMetadata"]["HTTPStatusCode"]

    assert error(started["RequestToken"]) == ("ConcurrentModificationException", 500)  # canceled already
    finished = _done(cc, cc.create_resource(TypeName="AWS::SQS::Queue", DesiredState=json.dumps(
        {"QueueName": unique_name("cc-cancel")}))["ProgressEvent"])
    assert finished["OperationStatus"] == "SUCCESS"
    assert error(finished["RequestToken"]) == ("ConcurrentModificationException", 500)
    assert error("00000000-0000-0000-0000-000000000000") == ("RequestTokenNotFoundException", 400)
    cc.delete_resource(TypeName="AWS::SQS::Queue", Identifier=finished["Identifier"])
