"""CloudFormation deploys EventBridge archives, connections and API destinations, and EventBridge
Scheduler schedules and groups (also SAM's ScheduleV2 event), through the services' own providers:
created, used, updated in place and deleted. Types whose service operation overcast lacks fail
their resource with a reason naming it."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError
from cfn_support import own_tags

FAST = {"Delay": 0.2, "MaxAttempts": 300}


@pytest.fixture
def cf(client):
    return client("cloudformation")


def deploy(cf, name: str, body: str, create: bool = True, **kw) -> dict:
    if create:
        cf.create_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
                        **kw)
    else:
        cf.update_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
                        **kw)
    cf.get_waiter("stack_create_complete" if create else "stack_update_complete").wait(StackName=name,
                                                                                       WaiterConfig=FAST)
    stack = cf.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def delete(cf, name: str) -> None:
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)


def fire_schedule(endpoint: str, arn: str) -> None:
    request = urllib.request.Request(f"{endpoint}/_overcast/scheduler/fire?schedule={arn}", method="POST",
                                     headers={"X-Overcast-Request": "1"})
    urllib.request.urlopen(request).read()


def receive(sqs, url: str, timeout: float = 20) -> list[str]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages", [])
        if messages:
            return [m["Body"] for m in messages]
    return []


SCHEDULES = """
Parameters:
  Rate: {Type: String, Default: rate(1 hour)}
  Message: {Type: String, Default: first}
  Team: {Type: String, Default: a}
Resources:
  Inbox: {Type: AWS::SQS::Queue}
  Group:
    Type: AWS::Scheduler::ScheduleGroup
    Properties:
      Tags: [{Key: team, Value: !Ref Team}]
  Tick:
    Type: AWS::Scheduler::Schedule
    Properties:
      GroupName: !Ref Group
      ScheduleExpression: !Ref Rate
      FlexibleTimeWindow: {Mode: "OFF"}
      Description: ticks into the inbox
      Target:
        Arn: !GetAtt Inbox.Arn
        RoleArn: !Sub arn:aws:iam::${AWS::AccountId}:role/scheduler
        Input: !Sub '{"message": "${Message}"}'
        RetryPolicy: {MaximumRetryAttempts: "3", MaximumEventAgeInSeconds: "120"}
Outputs:
  Inbox: {Value: !Ref Inbox}
  Group: {Value: !Ref Group}
  GroupArn: {Value: !GetAtt Group.Arn}
  GroupState: {Value: !GetAtt Group.State}
  Created: {Value: !GetAtt Group.CreationDate}
  Schedule: {Value: !Ref Tick}
  ScheduleArn: {Value: !GetAtt Tick.Arn}
"""


def test_scheduler_schedule_and_group_deploy_fire_update_and_delete(cf, client, endpoint, unique_name):
    scheduler, sqs = client("scheduler"), client("sqs")
    name = unique_name("sched")
    out = deploy(cf, name, SCHEDULES)
    assert out["Group"].startswith(f"{name}-Group-") and out["GroupState"] == "ACTIVE"
    assert out["GroupArn"] == f"arn:aws:scheduler:us-east-1:000000000000:schedule-group/{out['Group']}"
    assert out["Created"].endswith("Z") and out["Created"][:2] == "20"
    assert out["ScheduleArn"] == (f"arn:aws:scheduler:us-east-1:000000000000:schedule/{out['Group']}/"
                                  f"{out['Schedule']}")
    schedule = scheduler.get_schedule(Name=out["Schedule"], GroupName=out["Group"])
    assert schedule["ScheduleExpression"] == "rate(1 hour)" and schedule["Description"] == "ticks into the inbox"
    assert schedule["Target"]["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 120}
    assert own_tags(scheduler.list_tags_for_resource(ResourceArn=out["GroupArn"])["Tags"]) == [{"Key": "team", "Value": "a"}]
    fire_schedule(endpoint, out["ScheduleArn"])
    assert [json.loads(b) for b in receive(sqs, out["Inbox"])] == [{"message": "first"}]

    updated = deploy(cf, name, SCHEDULES, create=False, Parameters=[
        {"ParameterKey": "Rate", "ParameterValue": "rate(5 minutes)"},
        {"ParameterKey": "Message", "ParameterValue": "second"}, {"ParameterKey": "Team", "ParameterValue": "b"}])
    assert updated["ScheduleArn"] == out["ScheduleArn"] and updated["GroupArn"] == out["GroupArn"]  # in place
    assert scheduler.get_schedule(Name=out["Schedule"], GroupName=out["Group"])["ScheduleExpression"] == \
        "rate(5 minutes)"
    assert own_tags(scheduler.list_tags_for_resource(ResourceArn=out["GroupArn"])["Tags"]) == [{"Key": "team", "Value": "b"}]
    fire_schedule(endpoint, out["ScheduleArn"])
    assert [json.loads(b) for b in receive(sqs, out["Inbox"])] == [{"message": "second"}]

    delete(cf, name)
    with pytest.raises(ClientError) as info:
        scheduler.get_schedule_group(Name=out["Group"])
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"


SAM_SCHEDULE_V2 = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Inbox: {Type: AWS::SQS::Queue}
  Ticker:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Environment: {Variables: {INBOX: !Ref Inbox}}
      InlineCode: |
        import json, os, boto3
        def handler(event, context):
            boto3.client("sqs").send_message(QueueUrl=os.environ["INBOX"], MessageBody=json.dumps(event))
      Events:
        Tick:
          Type: ScheduleV2
          Properties: {ScheduleExpression: rate(1 day), Input: '{"from": "scheduler"}'}
Outputs:
  Inbox: {Value: !Ref Inbox}
"""


def test_sam_schedule_v2_event_invokes_the_function(cf, client, endpoint, unique_name):
    name = unique_name("samsched")
    out = deploy(cf, name, SAM_SCHEDULE_V2)
    resources = {r["LogicalResourceId"]: r for r in cf.list_stack_resources(StackName=name)["StackResourceSummaries"]}
    schedule = resources["TickerTick"]
    assert schedule["ResourceType"] == "AWS::Scheduler::Schedule"
    arn = client("scheduler").get_schedule(Name=schedule["PhysicalResourceId"])["Arn"]
    fire_schedule(endpoint, arn)
    assert [json.loads(b) for b in receive(client("sqs"), out["Inbox"], 60)] == [{"from": "scheduler"}]
    delete(cf, name)


EVENTS = """
Parameters:
  Retention: {Type: Number, Default: 7}
  Rate: {Type: Number, Default: 10}
Resources:
  Bus:
    Type: AWS::Events::EventBus
    Properties: {Name: !Sub "${AWS::StackName}-bus"}
  Archive:
    Type: AWS::Events::Archive
    Properties:
      SourceArn: !GetAtt Bus.Arn
      Description: orders only
      EventPattern: {source: [orders]}
      RetentionDays: !Ref Retention
  Connection:
    Type: AWS::Events::Connection
    Properties:
      AuthorizationType: API_KEY
      Description: partner api
      AuthParameters:
        ApiKeyAuthParameters: {ApiKeyName: x-api-key, ApiKeyValue: s3cret}
  Destination:
    Type: AWS::Events::ApiDestination
    Properties:
      ConnectionArn: !GetAtt Connection.Arn
      InvocationEndpoint: https://partner.example/orders/*
      HttpMethod: POST
      InvocationRateLimitPerSecond: !Ref Rate
Outputs:
  Bus: {Value: !Ref Bus}
  Archive: {Value: !Ref Archive}
  ArchiveArn: {Value: !GetAtt Archive.Arn}
  Connection: {Value: !Ref Connection}
  ConnectionArn: {Value: !GetAtt Connection.Arn}
  ConnectionPolicyArn: {Value: !GetAtt Connection.ArnForPolicy}
  Secret: {Value: !GetAtt Connection.SecretArn}
  Destination: {Value: !Ref Destination}
  DestinationArn: {Value: !GetAtt Destination.Arn}
  DestinationPolicyArn: {Value: !GetAtt Destination.ArnForPolicy}
"""


def test_events_archive_connection_and_api_destination(cf, client, unique_name):
    events = client("events")
    name = unique_name("evx")
    out = deploy(cf, name, EVENTS)
    assert "-Archive-" in out["Archive"] and len(out["Archive"]) <= 48
    assert out["ArchiveArn"] == f"arn:aws:events:us-east-1:000000000000:archive/{out['Archive']}"
    archive = events.describe_archive(ArchiveName=out["Archive"])
    assert archive["RetentionDays"] == 7 and json.loads(archive["EventPattern"]) == {"source": ["orders"]}
    events.put_events(Entries=[{"Source": "orders", "DetailType": "placed", "Detail": "{}", "EventBusName": out["Bus"]},
                               {"Source": "other", "DetailType": "x", "Detail": "{}", "EventBusName": out["Bus"]}])
    assert events.describe_archive(ArchiveName=out["Archive"])["EventCount"] == 1
    connection = events.describe_connection(Name=out["Connection"])
    assert connection["AuthorizationType"] == "API_KEY" and connection["ConnectionArn"] == out["ConnectionArn"]
    assert connection["AuthParameters"] == {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key"}}
    assert out["ConnectionPolicyArn"] == f"arn:aws:events:us-east-1:000000000000:connection/{out['Connection']}"
    assert out["Secret"].startswith("arn:aws:secretsmanager:us-east-1:000000000000:secret:events!connection/")
    destination = events.describe_api_destination(Name=out["Destination"])
    assert destination["InvocationRateLimitPerSecond"] == 10 and destination["ConnectionArn"] == out["ConnectionArn"]
    assert out["DestinationPolicyArn"] == out["DestinationArn"].rsplit("/", 1)[0]

    updated = deploy(cf, name, EVENTS, create=False, Parameters=[{"ParameterKey": "Retention", "ParameterValue": "30"},
                                                                 {"ParameterKey": "Rate", "ParameterValue": "5"}])
    assert updated == out  # updated in place: same names and ARNs
    assert events.describe_archive(ArchiveName=out["Archive"])["RetentionDays"] == 30
    assert events.describe_api_destination(Name=out["Destination"])["InvocationRateLimitPerSecond"] == 5

    delete(cf, name)
    for call, kw in ((events.describe_archive, {"ArchiveName": out["Archive"]}),
                     (events.describe_connection, {"Name": out["Connection"]}),
                     (events.describe_api_destination, {"Name": out["Destination"]})):
        with pytest.raises(ClientError) as info:
            call(**kw)
        assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_subscription_filter_to_an_unsupported_destination_fails_with_logs_reason(cf, unique_name):
    resource = ("Filter:\n    Type: AWS::Logs::SubscriptionFilter\n    Properties: {LogGroupName: !Ref Logs, FilterPattern: '',"
                " DestinationArn: !GetAtt Queue.Arn}\n  Logs: {Type: AWS::Logs::LogGroup}\n  Queue: {Type: AWS::SQS::Queue}")
    name = unique_name("subsqs")
    cf.create_stack(StackName=name, TemplateBody=f"Resources:\n  {resource}\n")
    deadline = time.time() + 30
    while time.time() < deadline:
        stack = cf.describe_stacks(StackName=name)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS"):
            break
        time.sleep(0.1)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    failed = [e for e in cf.describe_stack_events(StackName=name)["StackEvents"] if e["ResourceStatus"] == "CREATE_FAILED"]
    [reason] = [e["ResourceStatusReason"] for e in failed]
    assert reason.startswith("Invalid destinationArn: arn:aws:sqs:us-east-1:000000000000:")
    assert [e["LogicalResourceId"] for e in failed] == ["Filter"]


def test_layer_version_permission_grants_and_revokes_a_statement(cf, client, unique_name):
    lam = client("lambda")
    from lambda_functions import zip_files

    layer = lam.publish_layer_version(LayerName=unique_name("layer"),
                                      Content={"ZipFile": zip_files({"python/x.py": "X = 1\n"})})
    name = unique_name("lvp")
    deploy(cf, name, "Resources:\n  Grant:\n    Type: AWS::Lambda::LayerVersionPermission\n"
                     "    Properties: {Action: lambda:GetLayerVersion, Principal: '111122223333',"
                     f" LayerVersionArn: '{layer['LayerVersionArn']}'}}\n")
    policy = json.loads(lam.get_layer_version_policy(LayerName=layer["LayerArn"],
                                                     VersionNumber=layer["Version"])["Policy"])
    [statement] = policy["Statement"]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}
    assert statement["Resource"] == layer["LayerVersionArn"] and statement["Sid"].startswith("Grant-")
    delete(cf, name)
    with pytest.raises(ClientError) as info:
        lam.get_layer_version_policy(LayerName=layer["LayerArn"], VersionNumber=layer["Version"])
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"


SAM_CLOUDWATCH_LOGS = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Inbox: {Type: AWS::SQS::Queue}
  Watched: {Type: AWS::Logs::LogGroup}
  Watcher:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Environment: {Variables: {INBOX: !Ref Inbox}}
      InlineCode: |
        import base64, gzip, os, boto3
        def handler(event, context):
            data = gzip.decompress(base64.b64decode(event["awslogs"]["data"])).decode()
            boto3.client("sqs").send_message(QueueUrl=os.environ["INBOX"], MessageBody=data)
      Events:
        Errors:
          Type: CloudWatchLogs
          Properties: {LogGroupName: !Ref Watched, FilterPattern: ERROR}
Outputs:
  Inbox: {Value: !Ref Inbox}
  Watched: {Value: !Ref Watched}
"""


def test_sam_cloudwatch_logs_event_invokes_the_function_on_put_log_events(cf, client, unique_name):
    name = unique_name("samlogs")
    out = deploy(cf, name, SAM_CLOUDWATCH_LOGS)
    logs = client("logs")
    [subscription] = logs.describe_subscription_filters(logGroupName=out["Watched"])["subscriptionFilters"]
    assert subscription["filterPattern"] == "ERROR" and ":function:" in subscription["destinationArn"]
    logs.create_log_stream(logGroupName=out["Watched"], logStreamName="app")
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=out["Watched"], logStreamName="app",
                        logEvents=[{"timestamp": now, "message": "ok"}, {"timestamp": now + 1, "message": "ERROR boom"}])
    [message] = [json.loads(b) for b in receive(client("sqs"), out["Inbox"], 60)]
    assert message["logGroup"] == out["Watched"] and message["logStream"] == "app"
    assert [e["message"] for e in message["logEvents"]] == ["ERROR boom"]
    delete(cf, name)
    with pytest.raises(ClientError) as info:
        logs.describe_subscription_filters(logGroupName=out["Watched"])
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"  # the group went with the stack


def test_logs_destination_and_resource_policy_deploy_update_and_delete(cf, client, unique_name):
    logs = client("logs")
    name = unique_name("logsdest")
    template = """
Parameters:
  Principal: {Type: String, Default: '111111111111'}
Resources:
  Stream: {Type: AWS::Kinesis::Stream, Properties: {ShardCount: 1}}
  Dest:
    Type: AWS::Logs::Destination
    Properties:
      DestinationName: DEST_NAME
      TargetArn: !GetAtt Stream.Arn
      RoleArn: arn:aws:iam::000000000000:role/logs-to-kinesis
      DestinationPolicy: !Sub '{"Statement":[{"Effect":"Allow","Principal":{"AWS":"${Principal}"},"Action":"logs:PutSubscriptionFilter","Resource":"*"}]}'
  Policy:
    Type: AWS::Logs::ResourcePolicy
    Properties:
      PolicyName: POLICY_NAME
      PolicyDocument: !Sub '{"Statement":[{"Effect":"Allow","Principal":{"AWS":"${Principal}"},"Action":"logs:PutLogEvents","Resource":"*"}]}'
Outputs:
  Dest: {Value: !Ref Dest}
  DestArn: {Value: !GetAtt Dest.Arn}
  Policy: {Value: !Ref Policy}
""".replace("DEST_NAME", unique_name("dest")).replace("POLICY_NAME", unique_name("pol"))
    out = deploy(cf, name, template)
    assert out["DestArn"] == f"arn:aws:logs:us-east-1:000000000000:destination:{out['Dest']}"
    [dest] = logs.describe_destinations(DestinationNamePrefix=out["Dest"])["destinations"]
    assert dest["targetArn"].startswith("arn:aws:kinesis:us-east-1:000000000000:stream/")
    assert '"111111111111"' in dest["accessPolicy"]
    policies = {p["policyName"]: p["policyDocument"] for p in logs.describe_resource_policies()["resourcePolicies"]}
    assert '"111111111111"' in policies[out["Policy"]]

    deploy(cf, name, template, create=False, Parameters=[{"ParameterKey": "Principal", "ParameterValue": "222222222222"}])
    [dest] = logs.describe_destinations(DestinationNamePrefix=out["Dest"])["destinations"]
    assert '"222222222222"' in dest["accessPolicy"]
    policies = {p["policyName"]: p["policyDocument"] for p in logs.describe_resource_policies()["resourcePolicies"]}
    assert '"222222222222"' in policies[out["Policy"]]

    delete(cf, name)
    assert logs.describe_destinations(DestinationNamePrefix=out["Dest"])["destinations"] == []
    assert out["Policy"] not in [p["policyName"] for p in logs.describe_resource_policies()["resourcePolicies"]]
