"""What the CloudFormation engine does around the resources: stack tags and the
aws:cloudformation:* tags propagated to every resource that keeps tags, typed properties, a Delete for a custom resource whose Create failed,
dynamic-reference values kept out of what the API shows, and DescribeStackEvents in pages."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError
from cfn_support import FAST, own_tags, settle, wait


@pytest.fixture
def cf(client):
    return client("cloudformation")






def outputs(stack: dict) -> dict:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


TAGGED = """
Parameters:
  Delay: {Type: Number, Default: 3}
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      DelaySeconds: !Ref Delay
      Tags: [{Key: env, Value: prod}]
  Param:
    Type: AWS::SSM::Parameter
    Properties: {Type: String, Value: v1}
  Topic:
    Type: AWS::SNS::Topic
Outputs:
  Url: {Value: !Ref Queue}
  Param: {Value: !Ref Param}
  Topic: {Value: !Ref Topic}
"""


def test_stack_tags_reach_every_resource_that_keeps_tags_and_follow_updates(cf, client, unique_name):
    sqs, ssm, sns = client("sqs"), client("ssm"), client("sns")
    name = unique_name("tagged")
    stack_id = cf.create_stack(StackName=name, TemplateBody=TAGGED, Tags=[{"Key": "team", "Value": "a"},
                                                                          {"Key": "env", "Value": "dev"}])["StackId"]
    out = outputs(wait(cf, "stack_create_complete", name))

    def cfn(logical_id: str) -> dict:  # the tags CloudFormation adds to every resource it tags
        return {"aws:cloudformation:stack-name": name, "aws:cloudformation:stack-id": stack_id,
                "aws:cloudformation:logical-id": logical_id}

    # the resource's own tag wins over the stack's tag of the same key; a queue gets no
    # aws:cloudformation:* tags (LocalStack's AWS-recorded test_aws_sqs_queue snapshots)
    assert sqs.list_queue_tags(QueueUrl=out["Url"])["Tags"] == {"team": "a", "env": "prod"}
    param_tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=out["Param"])["TagList"]
    assert {t["Key"]: t["Value"] for t in param_tags} == {"team": "a", "env": "dev", **cfn("Param")}
    topic_tags = sns.list_tags_for_resource(ResourceArn=out["Topic"])["Tags"]
    assert {t["Key"]: t["Value"] for t in topic_tags} == {"team": "a", "env": "dev", **cfn("Topic")}
    # a Number parameter reaches the queue as the integer the schema types DelaySeconds with
    assert sqs.get_queue_attributes(QueueUrl=out["Url"], AttributeNames=["DelaySeconds"])["Attributes"] == {
        "DelaySeconds": "3"}

    # an update that only changes the stack's tags is an update, and the resources follow it
    cf.update_stack(StackName=name, UsePreviousTemplate=True, Tags=[{"Key": "team", "Value": "b"}])
    stack = wait(cf, "stack_update_complete", name)
    assert stack["Tags"] == [{"Key": "team", "Value": "b"}]
    assert sqs.list_queue_tags(QueueUrl=out["Url"])["Tags"] == {"team": "b", "env": "prod"}
    param_tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=out["Param"])["TagList"]
    assert {t["Key"]: t["Value"] for t in param_tags} == {"team": "b", **cfn("Param")}
    topic_tags = sns.list_tags_for_resource(ResourceArn=out["Topic"])["Tags"]
    assert {t["Key"]: t["Value"] for t in topic_tags} == {"team": "b", **cfn("Topic")}
    # the template is untouched: the tags are the stack's, not the resources' properties
    processed = json.dumps(cf.get_template(StackName=name, TemplateStage="Processed")["TemplateBody"])
    assert "team" not in processed and "aws:cloudformation" not in processed
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)


SYSTEM_TAGGED = """
Parameters:
  Suffix: {Type: String, Default: a}
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]
  Function:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt Role.Arn
      Code: {ZipFile: "def handler(event, context):\n    return 1\n"}
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${AWS::StackName}-${Suffix}"
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      Tags: [{Key: kind, Value: table}]
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      Tags: [{Key: owner, Value: me}]
  Logs:
    Type: AWS::Logs::LogGroup
  Machine:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      RoleArn: !GetAtt Role.Arn
      Definition: {StartAt: Done, States: {Done: {Type: Succeed}}}
  Repository:
    Type: AWS::ECR::Repository
  User:
    Type: AWS::IAM::User
    Properties:
      Tags: [{Key: suffix, Value: !Ref Suffix}]
  Nested:
    Type: AWS::CloudFormation::WaitConditionHandle
  Queue:
    Type: AWS::SQS::Queue
  Topic:
    Type: AWS::SNS::Topic
Outputs:
  Queue: {Value: !Ref Queue}
  Topic: {Value: !Ref Topic}
  User: {Value: !Ref User}
  Role: {Value: !Ref Role}
  RoleArn: {Value: !GetAtt Role.Arn}
  Function: {Value: !GetAtt Function.Arn}
  Table: {Value: !GetAtt Table.Arn}
  Bucket: {Value: !Ref Bucket}
  Logs: {Value: !Ref Logs}
  Machine: {Value: !Ref Machine}
  Repository: {Value: !GetAtt Repository.Arn}
"""


def test_resources_carry_the_aws_cloudformation_tags_through_each_service_tag_api(cf, client, unique_name):
    """CloudFormation tags what it creates with aws:cloudformation:stack-name, stack-id and
    logical-id (AWS's "Resource tag" page), through each service's own tag API; a replacement
    gets them too; the reserved prefix stays refused to a user, each service answering its own
    error, and a user's tag set that replaces a bucket's keeps them."""
    name = unique_name("systags")
    stack_id = cf.create_stack(StackName=name, TemplateBody=SYSTEM_TAGGED, Capabilities=["CAPABILITY_IAM"])["StackId"]
    out = outputs(wait(cf, "stack_create_complete", name))

    def cfn(logical_id: str) -> dict:
        return {"aws:cloudformation:stack-name": name, "aws:cloudformation:stack-id": stack_id,
                "aws:cloudformation:logical-id": logical_id}

    def pairs(tags) -> dict:
        return {t["Key"]: t["Value"] for t in tags}

    assert pairs(client("iam").list_role_tags(RoleName=out["Role"])["Tags"]) == cfn("Role")
    # an IAM user keeps only its own tags (AWS's recorded GetUser answers, resource_providers/aws_iam_user)
    assert pairs(client("iam").list_user_tags(UserName=out["User"])["Tags"]) == {"suffix": "a"}
    assert client("lambda").list_tags(Resource=out["Function"])["Tags"] == cfn("Function")
    # a table keeps only its own tags (AWS's recorded ListTagsOfResource, resources/test_dynamodb)
    assert pairs(client("dynamodb").list_tags_of_resource(ResourceArn=out["Table"])["Tags"]) == {"kind": "table"}
    assert pairs(client("s3").get_bucket_tagging(Bucket=out["Bucket"])["TagSet"]) == {"owner": "me", **cfn("Bucket")}
    assert client("logs").list_tags_for_resource(
        resourceArn=f"arn:aws:logs:us-east-1:000000000000:log-group:{out['Logs']}")["tags"] == cfn("Logs")
    machine_tags = client("stepfunctions").list_tags_for_resource(resourceArn=out["Machine"])["tags"]
    assert {t["key"]: t["value"] for t in machine_tags} == cfn("Machine")
    ecr = client("ecr")
    assert pairs(ecr.list_tags_for_resource(resourceArn=out["Repository"])["tags"]) == cfn("Repository")

    # a user may not set the reserved prefix (the engine may: it made the repository above)
    with pytest.raises(ClientError) as refused:
        ecr.tag_resource(resourceArn=out["Repository"], tags=[{"Key": "aws:cloudformation:stack-name", "Value": "x"}])
    assert refused.value.response["Error"]["Code"] == "InvalidTagParameterException"

    def refused_with(call, **kwargs) -> str:
        with pytest.raises(ClientError) as info:
            call(**kwargs)
        return info.value.response["Error"]["Code"]

    sqs, sns, lam, ddb, s3 = (client(s) for s in ("sqs", "sns", "lambda", "dynamodb", "s3"))
    stack_name_key = ["aws:cloudformation:stack-name"]
    assert refused_with(sqs.untag_queue, QueueUrl=out["Queue"], TagKeys=stack_name_key) == "InvalidParameterValue"
    assert refused_with(sqs.tag_queue, QueueUrl=out["Queue"], Tags={"aws:mine": "x"}) == "InvalidParameterValue"
    assert sqs.list_queue_tags(QueueUrl=out["Queue"]).get("Tags", {}) == {}  # queues get no aws:cloudformation tags
    assert refused_with(sns.untag_resource, ResourceArn=out["Topic"], TagKeys=stack_name_key) == "InvalidParameter"
    assert refused_with(sns.tag_resource, ResourceArn=out["Topic"], Tags=[{"Key": "AWS:mine", "Value": "x"}]) == \
        "InvalidParameter"
    assert pairs(sns.list_tags_for_resource(ResourceArn=out["Topic"])["Tags"]) == cfn("Topic")
    assert refused_with(lam.untag_resource, Resource=out["Function"], TagKeys=stack_name_key) == \
        "InvalidParameterValueException"
    assert refused_with(lam.tag_resource, Resource=out["Function"], Tags={"aws:cloudformation:logical-id": "x"}) == \
        "InvalidParameterValueException"
    assert refused_with(ddb.untag_resource, ResourceArn=out["Table"], TagKeys=stack_name_key) == "ValidationException"
    assert refused_with(ddb.tag_resource, ResourceArn=out["Table"], Tags=[{"Key": "aws:mine", "Value": "x"}]) == \
        "ValidationException"
    with pytest.raises(ClientError) as info:
        s3.put_bucket_tagging(Bucket=out["Bucket"], Tagging={"TagSet": [{"Key": "aws:mine", "Value": "x"}]})
    assert info.value.response["Error"]["Code"] == "InvalidTag"
    assert info.value.response["Error"]["Message"] == "System tags cannot be added/updated by requester"
    # a user's set replaces the user's tags; CloudFormation's stay, also through DeleteBucketTagging
    s3.put_bucket_tagging(Bucket=out["Bucket"], Tagging={"TagSet": [{"Key": "owner", "Value": "you"}]})
    assert pairs(s3.get_bucket_tagging(Bucket=out["Bucket"])["TagSet"]) == {"owner": "you", **cfn("Bucket")}
    s3.delete_bucket_tagging(Bucket=out["Bucket"])
    assert pairs(s3.get_bucket_tagging(Bucket=out["Bucket"])["TagSet"]) == cfn("Bucket")
    iam, logs, sfn = client("iam"), client("logs"), client("stepfunctions")
    assert refused_with(iam.untag_role, RoleName=out["Role"], TagKeys=stack_name_key) == "InvalidInput"
    assert refused_with(iam.tag_user, UserName=out["User"], Tags=[{"Key": "aws:mine", "Value": "x"}]) == "InvalidInput"
    assert pairs(iam.list_role_tags(RoleName=out["Role"])["Tags"]) == cfn("Role")
    log_arn = f"arn:aws:logs:us-east-1:000000000000:log-group:{out['Logs']}"
    assert refused_with(logs.untag_resource, resourceArn=log_arn, tagKeys=stack_name_key) == "InvalidParameterException"
    assert refused_with(logs.tag_log_group, logGroupName=out["Logs"], tags={"aws:mine": "x"}) == \
        "InvalidParameterException"
    assert logs.list_tags_for_resource(resourceArn=log_arn)["tags"] == cfn("Logs")
    assert refused_with(sfn.untag_resource, resourceArn=out["Machine"], tagKeys=stack_name_key) == "ValidationException"
    assert {t["key"] for t in sfn.list_tags_for_resource(resourceArn=out["Machine"])["tags"]} == set(cfn("Machine"))
    kinesis, events = client("kinesis"), client("events")
    stream = unique_name("systags")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    assert refused_with(kinesis.add_tags_to_stream, StreamName=stream, Tags={"aws:mine": "x"}) == \
        "InvalidArgumentException"
    kinesis.delete_stream(StreamName=stream)
    rule = events.put_rule(Name=unique_name("systags"), ScheduleExpression="rate(1 day)")["RuleArn"]
    assert refused_with(events.tag_resource, ResourceARN=rule, Tags=[{"Key": "aws:mine", "Value": "x"}]) == \
        "ValidationException"
    events.delete_rule(Name=rule.split("/")[-1])
    # a user's own tags still come and go
    sqs.tag_queue(QueueUrl=out["Queue"], Tags={"team": "a"})
    sqs.untag_queue(QueueUrl=out["Queue"], TagKeys=["team"])
    assert sqs.list_queue_tags(QueueUrl=out["Queue"]).get("Tags", {}) == {}  # queues get no aws:cloudformation tags

    # a replacement (a new table name) is a new resource, tagged as the old one was
    cf.update_stack(StackName=name, UsePreviousTemplate=True, Capabilities=["CAPABILITY_IAM"],
                    Parameters=[{"ParameterKey": "Suffix", "ParameterValue": "b"}])
    replaced = outputs(wait(cf, "stack_update_complete", name))["Table"]
    assert replaced != out["Table"]
    assert pairs(client("dynamodb").list_tags_of_resource(ResourceArn=replaced)["Tags"]) == {"kind": "table"}
    assert client("lambda").list_tags(Resource=out["Function"])["Tags"] == cfn("Function")  # untouched
    # an IAM user's own tag changed in place
    assert pairs(client("iam").list_user_tags(UserName=out["User"])["Tags"]) == {"suffix": "b"}
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)


CUSTOM_FAILS = """
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
      Timeout: 30
      Environment: {Variables: {LOG: !Ref Log}}
      Code:
        ZipFile: |
          import os, boto3, cfnresponse
          def handler(event, context):
              boto3.client("sqs").send_message(QueueUrl=os.environ["LOG"], MessageBody=event["RequestType"] + " " +
                                               event.get("PhysicalResourceId", "-"))
              if event["RequestType"] == "Create":
                  cfnresponse.send(event, context, cfnresponse.FAILED, {}, physicalResourceId="half-made",
                                   reason="quota exceeded")
              else:
                  cfnresponse.send(event, context, cfnresponse.SUCCESS, {}, physicalResourceId="half-made")
  Log:
    Type: AWS::SQS::Queue
    DeletionPolicy: Retain
  Thing:
    Type: Custom::Thing
    Properties: {ServiceToken: !GetAtt Provider.Arn}
Outputs:
  Log: {Value: !Ref Log}
"""


def test_a_custom_resource_whose_create_failed_gets_a_delete_on_rollback(cf, client, unique_name):
    name = unique_name("custfail")
    cf.create_stack(StackName=name, TemplateBody=CUSTOM_FAILS, Capabilities=["CAPABILITY_IAM"])
    stack = settle(cf, name)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    events = cf.describe_stack_events(StackName=name)["StackEvents"]
    failed = [e for e in events if e["LogicalResourceId"] == "Thing" and e["ResourceStatus"] == "CREATE_FAILED"]
    assert "Message returned: quota exceeded" in failed[0]["ResourceStatusReason"]
    deleted = [e for e in events if e["LogicalResourceId"] == "Thing" and e["ResourceStatus"] == "DELETE_COMPLETE"]
    assert deleted and deleted[0]["PhysicalResourceId"] == "half-made"
    queue = next(e["PhysicalResourceId"] for e in events if e["LogicalResourceId"] == "Log" and
                 e["ResourceStatus"] == "CREATE_COMPLETE")
    sqs = client("sqs")
    seen: list[str] = []
    deadline = time.time() + 20
    while time.time() < deadline and len(seen) < 2:
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                "Messages", []):
            seen.append(message["Body"])
    assert sorted(seen) == ["Create -", "Delete half-made"]
    sqs.delete_queue(QueueUrl=queue)


SECRET_TAG = """
Parameters:
  Delay: {Type: Number, Default: 0}
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      DelaySeconds: !Ref Delay
      Tags: [{Key: secret, Value: "{{resolve:ssm-secure:%s}}"}]
Outputs:
  Url: {Value: !Ref Queue}
"""


def test_resolved_dynamic_references_are_not_shown_and_not_reread_without_a_change(cf, client, unique_name):
    ssm, sqs = client("ssm"), client("sqs")
    parameter = "/" + unique_name("dyn") + "/password"
    ssm.put_parameter(Name=parameter, Value="hunter2", Type="SecureString")
    name = unique_name("dynref")
    body = SECRET_TAG % parameter
    cf.create_stack(StackName=name, TemplateBody=body)
    out = outputs(wait(cf, "stack_create_complete", name))
    assert own_tags(sqs.list_queue_tags(QueueUrl=out["Url"])["Tags"]) == {"secret": "hunter2"}

    # a new value alone changes nothing: AWS re-reads a reference only when the template changes
    ssm.put_parameter(Name=parameter, Value="correct-horse", Type="SecureString", Overwrite=True)
    with pytest.raises(ClientError) as info:
        cf.update_stack(StackName=name, UsePreviousTemplate=True)
    assert info.value.response["Error"]["Message"] == "No updates are to be performed."
    # nor does another change of the resource; a change of the reference itself (a version) does
    cf.update_stack(StackName=name, UsePreviousTemplate=True, Parameters=[{"ParameterKey": "Delay",
                                                                          "ParameterValue": "2"}])
    wait(cf, "stack_update_complete", name)
    assert own_tags(sqs.list_queue_tags(QueueUrl=out["Url"])["Tags"]) == {"secret": "hunter2"}
    cf.update_stack(StackName=name, TemplateBody=SECRET_TAG % f"{parameter}:2",
                    Parameters=[{"ParameterKey": "Delay", "UsePreviousValue": True}])
    wait(cf, "stack_update_complete", name)
    assert own_tags(sqs.list_queue_tags(QueueUrl=out["Url"])["Tags"]) == {"secret": "correct-horse"}

    shown = json.dumps(cf.describe_stack_events(StackName=name)["StackEvents"], default=str)
    shown += json.dumps(cf.get_template(StackName=name, TemplateStage="Processed")["TemplateBody"])
    shown += json.dumps(cf.describe_stack_resource(StackName=name, LogicalResourceId="Queue"), default=str)
    shown += json.dumps(cf.describe_stack_resources(StackName=name), default=str)
    assert "hunter2" not in shown and "correct-horse" not in shown
    properties = [json.loads(e["ResourceProperties"]) for e in cf.describe_stack_events(StackName=name)["StackEvents"]
                  if e.get("ResourceProperties")]
    assert properties and all(p["Tags"][0]["Value"].startswith(f"{{{{resolve:ssm-secure:{parameter}")
                              for p in properties)
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)


def test_describe_stack_events_comes_in_pages_of_100(cf, aws_cli, unique_name):
    name = unique_name("manyevents")
    body = "Resources:\n" + "".join(f"  Q{i}: {{Type: AWS::SQS::Queue}}\n" for i in range(60))
    cf.create_stack(StackName=name, TemplateBody=body)
    wait(cf, "stack_create_complete", name)
    first = cf.describe_stack_events(StackName=name)
    assert len(first["StackEvents"]) == 100 and first["NextToken"]
    second = cf.describe_stack_events(StackName=name, NextToken=first["NextToken"])
    assert len(second["StackEvents"]) == 22 and "NextToken" not in second
    events = first["StackEvents"] + second["StackEvents"]
    assert len({e["EventId"] for e in events}) == 122
    assert events[0]["ResourceStatus"] == "CREATE_COMPLETE" and events[0]["LogicalResourceId"] == name
    assert events[-1]["ResourceStatus"] == "CREATE_IN_PROGRESS" and events[-1]["LogicalResourceId"] == name
    stamps = [e["Timestamp"] for e in events]
    assert stamps == sorted(stamps, reverse=True)
    paged = [e for page in cf.get_paginator("describe_stack_events").paginate(StackName=name)
             for e in page["StackEvents"]]
    assert [e["EventId"] for e in paged] == [e["EventId"] for e in events]
    assert len(aws_cli("cloudformation", "describe-stack-events", "--stack-name", name)["StackEvents"]) == 122
    with pytest.raises(ClientError) as info:
        cf.describe_stack_events(StackName=name, NextToken="bm90LWEtdG9rZW4=")
    assert info.value.response["Error"]["Code"] == "ValidationError"
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)


NAMED_ARCHIVE = """
Parameters:
  Source: {Type: String, Default: A}
  Archive: {Type: String}
Conditions:
  FromA: !Equals [!Ref Source, A]
Resources:
  A: {Type: AWS::Events::EventBus, Properties: {Name: !Sub "${AWS::StackName}-a"}}
  B: {Type: AWS::Events::EventBus, Properties: {Name: !Sub "${AWS::StackName}-b"}}
  Archive:
    Type: AWS::Events::Archive
    Properties:
      ArchiveName: !Ref Archive
      SourceArn: !If [FromA, !GetAtt A.Arn, !GetAtt B.Arn]
"""


def test_a_custom_named_resource_that_needs_replacing_fails_the_update(cf, unique_name):
    """An archive's SourceArn is createOnly: a new bus needs a new archive, which cannot take the
    name the template gives the one that exists."""
    name, archive = unique_name("named"), unique_name("named-archive")[:40]
    cf.create_stack(StackName=name, TemplateBody=NAMED_ARCHIVE, Parameters=[{"ParameterKey": "Archive",
                                                                             "ParameterValue": archive}])
    wait(cf, "stack_create_complete", name)
    cf.update_stack(StackName=name, TemplateBody=NAMED_ARCHIVE, Parameters=[
        {"ParameterKey": "Archive", "UsePreviousValue": True}, {"ParameterKey": "Source", "ParameterValue": "B"}])
    assert settle(cf, name)["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    failed = [e for e in cf.describe_stack_events(StackName=name)["StackEvents"] if e["ResourceStatus"] == "UPDATE_FAILED"]
    assert failed[0]["ResourceStatusReason"] == (
        f"CloudFormation cannot update a stack when a custom-named resource requires replacing. Rename {archive} and "
        "update the stack again.")
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)


def test_cancel_update_stack_rolls_the_update_back_and_is_refused_outside_an_update(cf, client, unique_name):
    name, queue = unique_name("cancel"), unique_name("cq")
    first = "Resources:\n  Queue: {Type: AWS::SQS::Queue, Properties: {QueueName: QNAME}}\n".replace("QNAME", queue)
    cf.create_stack(StackName=name, TemplateBody=first)
    wait(cf, "stack_create_complete", name)
    with pytest.raises(ClientError) as e:
        cf.cancel_update_stack(StackName=name)
    assert e.value.response["Error"]["Code"] == "ValidationError"
    assert e.value.response["Error"]["Message"] == \
        "CancelUpdateStack cannot be called from current stack status CREATE_COMPLETE."
    cf.update_stack(StackName=name, TemplateBody=first + (
        "  Added: {Type: AWS::SQS::Queue, Properties: {QueueName: QNAME-added}}\n"
        "  Handle: {Type: AWS::CloudFormation::WaitConditionHandle}\n"
        "  Wait: {Type: AWS::CloudFormation::WaitCondition, DependsOn: Added, "
        "Properties: {Handle: !Ref Handle, Timeout: 600}}\n").replace("QNAME", queue))
    sqs = client("sqs")
    deadline = time.time() + 30
    while not sqs.list_queues(QueueNamePrefix=f"{queue}-added").get("QueueUrls") and time.time() < deadline:
        time.sleep(0.1)
    cf.cancel_update_stack(StackName=name)
    stack = settle(cf, name)
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    events = [e for e in cf.describe_stack_events(StackName=name)["StackEvents"] if e["LogicalResourceId"] == name]
    assert [e.get("ResourceStatusReason") for e in events if e["ResourceStatus"] == "UPDATE_ROLLBACK_IN_PROGRESS"] \
        == ["Stack update cancelled"]
    assert sqs.list_queues(QueueNamePrefix=f"{queue}-added").get("QueueUrls", []) == []
    assert {r["LogicalResourceId"] for r in cf.list_stack_resources(StackName=name)["StackResourceSummaries"]} \
        == {"Queue"}
