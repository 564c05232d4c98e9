"""CloudFormation after a kill -9 in the middle of a deployment, and custom resources that never
answer: each ends in a stated status, with no resource left that no stack knows."""

from __future__ import annotations

import time

from conftest import OvercastProcess, make_client

WAITING = """
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties: {QueueName: %s}
  Handle: {Type: AWS::CloudFormation::WaitConditionHandle}
  Wait:
    Type: AWS::CloudFormation::WaitCondition
    DependsOn: Queue
    Properties: {Handle: !Ref Handle, Timeout: 600}
"""


def _until(check, timeout: float = 60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached")


def test_a_deployment_killed_midway_rolls_back_at_restart(tmp_path):
    data = str(tmp_path / "data")
    server = OvercastProcess(data_dir=data)
    try:
        cf, sqs = make_client(server.endpoint, "cloudformation"), make_client(server.endpoint, "sqs")
        cf.create_stack(StackName="interrupted", TemplateBody=WAITING % "durable-queue")
        stack_id = cf.describe_stacks(StackName="interrupted")["Stacks"][0]["StackId"]

        def waiting():
            resources = {r["LogicalResourceId"]: r["ResourceStatus"]
                         for r in cf.list_stack_resources(StackName="interrupted")["StackResourceSummaries"]}
            return resources.get("Wait") == "CREATE_IN_PROGRESS"

        _until(waiting)
        assert sqs.list_queues(QueueNamePrefix="durable-queue")["QueueUrls"]
    finally:
        server.stop(kill=True)

    server = OvercastProcess(data_dir=data)
    try:
        cf, sqs = make_client(server.endpoint, "cloudformation"), make_client(server.endpoint, "sqs")
        stack = _until(lambda: (s := cf.describe_stacks(StackName=stack_id)["Stacks"][0])["StackStatus"] in (
            "ROLLBACK_COMPLETE", "ROLLBACK_FAILED") and s)
        assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
        events = cf.describe_stack_events(StackName=stack_id)["StackEvents"]
        reasons = [e.get("ResourceStatusReason") for e in events if e["ResourceStatus"] == "ROLLBACK_IN_PROGRESS"]
        assert reasons == ["overcast restarted while the stack's operation was in progress"]
        assert sqs.list_queues(QueueNamePrefix="durable-queue").get("QueueUrls", []) == []
        assert cf.list_stack_resources(StackName=stack_id)["StackResourceSummaries"] == []
    finally:
        server.stop()


SILENT = """
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]
  Provider:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt Role.Arn
      Code:
        ZipFile: |
          import cfnresponse
          def handler(event, context):
              if event["RequestType"] == "Delete":  # only deletes are answered
                  cfnresponse.send(event, context, cfnresponse.SUCCESS, {}, event["PhysicalResourceId"])
  Silent:
    Type: AWS::CloudFormation::CustomResource
    Properties: {ServiceToken: !GetAtt Provider.Arn}
"""


def test_a_custom_resource_that_never_answers_times_out(tmp_path):
    server = OvercastProcess(env={"OVERCAST_CFN_CUSTOM_RESOURCE_TIMEOUT": "2"})
    try:
        cf = make_client(server.endpoint, "cloudformation")
        cf.create_stack(StackName="silent", TemplateBody=SILENT, Capabilities=["CAPABILITY_IAM"])
        stack = _until(lambda: (s := cf.describe_stacks(StackName="silent")["Stacks"][0])["StackStatus"] in (
            "ROLLBACK_COMPLETE", "ROLLBACK_FAILED") and s)
        assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
        failed = [e for e in cf.describe_stack_events(StackName="silent")["StackEvents"]
                  if e["ResourceStatus"] == "CREATE_FAILED"]
        assert failed[0]["LogicalResourceId"] == "Silent"
        assert failed[0]["ResourceStatusReason"].startswith(
            "CloudFormation did not receive a response from your Custom Resource. Please check your logs for requestId")
    finally:
        server.stop()


def test_an_update_killed_midway_rolls_back_at_restart(tmp_path):
    data = str(tmp_path / "data")
    before = "Resources:\n  Queue: {Type: AWS::SQS::Queue, Properties: {QueueName: upd-queue, DelaySeconds: 1}}\n"
    after = (WAITING % "upd-queue").replace("QueueName: upd-queue", "QueueName: upd-queue, DelaySeconds: 9") + \
        "  Extra: {Type: AWS::SQS::Queue, Properties: {QueueName: upd-extra}}\n"
    server = OvercastProcess(data_dir=data)
    try:
        cf, sqs = make_client(server.endpoint, "cloudformation"), make_client(server.endpoint, "sqs")
        cf.create_stack(StackName="updating", TemplateBody=before)
        _until(lambda: cf.describe_stacks(StackName="updating")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE")
        cf.update_stack(StackName="updating", TemplateBody=after)

        def waiting():
            resources = {r["LogicalResourceId"]: r["ResourceStatus"]
                         for r in cf.list_stack_resources(StackName="updating")["StackResourceSummaries"]}
            return resources.get("Wait") == "CREATE_IN_PROGRESS" and resources.get("Extra") == "CREATE_COMPLETE"

        _until(waiting)
        url = sqs.get_queue_url(QueueName="upd-queue")["QueueUrl"]
        assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["DelaySeconds"])["Attributes"][
            "DelaySeconds"] == "9"
    finally:
        server.stop(kill=True)

    server = OvercastProcess(data_dir=data)
    try:
        cf, sqs = make_client(server.endpoint, "cloudformation"), make_client(server.endpoint, "sqs")
        stack = _until(lambda: (s := cf.describe_stacks(StackName="updating")["Stacks"][0])["StackStatus"] in (
            "UPDATE_ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_FAILED") and s)
        assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
        url = sqs.get_queue_url(QueueName="upd-queue")["QueueUrl"]
        assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["DelaySeconds"])["Attributes"][
            "DelaySeconds"] == "1"
        assert sqs.list_queues(QueueNamePrefix="upd-extra").get("QueueUrls", []) == []
        resources = [r["LogicalResourceId"] for r in cf.list_stack_resources(StackName="updating")[
            "StackResourceSummaries"]]
        assert resources == ["Queue"]
        assert "DelaySeconds: 1" in cf.get_template(StackName="updating")["TemplateBody"]
    finally:
        server.stop()
