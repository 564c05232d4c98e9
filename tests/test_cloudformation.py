"""CloudFormation through boto3: stacks deploy real resources through the services' own providers,
updates replace or modify them as the resource schemas say, failures roll back."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from cfn_support import FAST, own_tags, settle, wait


@pytest.fixture
def cf(client):
    return client("cloudformation")






def outputs(stack: dict) -> dict:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def error_of(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


QUEUES = """
Parameters:
  Visibility: {Type: Number, Default: 40, MinValue: 0, MaxValue: 43200}
Resources:
  Dlq:
    Type: AWS::SQS::Queue
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: !Ref Visibility
      RedrivePolicy: {deadLetterTargetArn: !GetAtt Dlq.Arn, maxReceiveCount: 3}
Outputs:
  Url: {Value: !Ref Queue}
  Arn: {Value: !GetAtt Queue.Arn}
  Name: {Value: !GetAtt Queue.QueueName}
"""


@pytest.mark.postgres_e2e
def test_create_update_delete_a_stack_of_queues(cf, client, unique_name):
    sqs = client("sqs")
    name = unique_name("queues")
    stack_id = cf.create_stack(StackName=name, TemplateBody=QUEUES)["StackId"]
    assert stack_id.startswith(f"arn:aws:cloudformation:us-east-1:000000000000:stack/{name}/")
    stack = wait(cf, "stack_create_complete", name)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    out = outputs(stack)
    assert out["Name"].startswith(f"{name}-Queue-")
    attrs = sqs.get_queue_attributes(QueueUrl=out["Url"], AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "40" and attrs["QueueArn"] == out["Arn"]
    assert json.loads(attrs["RedrivePolicy"])["deadLetterTargetArn"].endswith(f"{name}-Dlq-" +
                                                                               json.loads(attrs["RedrivePolicy"])[
                                                                                   "deadLetterTargetArn"].rsplit("-", 1)[1])
    resources = {r["LogicalResourceId"]: r for r in cf.list_stack_resources(StackName=name)["StackResourceSummaries"]}
    assert resources["Queue"]["PhysicalResourceId"] == out["Url"]
    assert resources["Queue"]["ResourceStatus"] == "CREATE_COMPLETE"
    detail = cf.describe_stack_resource(StackName=name, LogicalResourceId="Dlq")["StackResourceDetail"]
    assert detail["ResourceType"] == "AWS::SQS::Queue"
    events = cf.describe_stack_events(StackName=name)["StackEvents"]
    assert events[0]["ResourceStatus"] == "CREATE_COMPLETE" and events[0]["LogicalResourceId"] == name
    assert events[-1]["ResourceStatus"] == "CREATE_IN_PROGRESS" and events[-1]["ResourceStatusReason"] == "User Initiated"
    # Dlq was created before Queue, which needs its Arn
    order = [(e["LogicalResourceId"], e["ResourceStatus"]) for e in reversed(events)]
    assert order.index(("Dlq", "CREATE_COMPLETE")) < order.index(("Queue", "CREATE_IN_PROGRESS"))

    # an in-place update: same queue, new attribute
    cf.update_stack(StackName=name, TemplateBody=QUEUES, Parameters=[{"ParameterKey": "Visibility",
                                                                       "ParameterValue": "90"}])
    stack = wait(cf, "stack_update_complete", name)
    assert outputs(stack)["Url"] == out["Url"]
    assert sqs.get_queue_attributes(QueueUrl=out["Url"], AttributeNames=["VisibilityTimeout"])["Attributes"][
        "VisibilityTimeout"] == "90"
    code, message = error_of(lambda: cf.update_stack(StackName=name, TemplateBody=QUEUES, Parameters=[
        {"ParameterKey": "Visibility", "UsePreviousValue": True}]))
    assert (code, message) == ("ValidationError", "No updates are to be performed.")

    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=stack_id, WaiterConfig=FAST)
    with pytest.raises(ClientError):
        sqs.get_queue_attributes(QueueUrl=out["Url"])
    code, message = error_of(lambda: cf.describe_stacks(StackName=name))
    assert (code, message) == ("ValidationError", f"Stack with id {name} does not exist")
    deleted = cf.describe_stacks(StackName=stack_id)["Stacks"][0]
    assert deleted["StackStatus"] == "DELETE_COMPLETE"
    summaries = cf.list_stacks(StackStatusFilter=["DELETE_COMPLETE"])["StackSummaries"]
    assert stack_id in [s["StackId"] for s in summaries]


def test_a_create_only_property_change_replaces_the_resource(cf, client, unique_name):
    name = unique_name("replace")
    template = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-a"}}},
                "Outputs": {"Url": {"Value": {"Ref": "Queue"}}}}
    cf.create_stack(StackName=name, TemplateBody=json.dumps(template))
    old_url = outputs(wait(cf, "stack_create_complete", name))["Url"]
    template["Resources"]["Queue"]["Properties"]["QueueName"] = f"{name}-b"
    cf.update_stack(StackName=name, TemplateBody=json.dumps(template))
    new_url = outputs(wait(cf, "stack_update_complete", name))["Url"]
    assert new_url.endswith(f"{name}-b") and new_url != old_url
    urls = client("sqs").list_queues(QueueNamePrefix=name).get("QueueUrls", [])
    assert urls == [new_url]  # the old queue was deleted in the cleanup phase
    statuses = [e["ResourceStatus"] for e in cf.describe_stack_events(StackName=name)["StackEvents"]]
    assert statuses[0] == "UPDATE_COMPLETE" and "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS" in statuses
    cf.delete_stack(StackName=name)


def test_an_unsupported_type_fails_its_resource_and_rolls_back(cf, client, unique_name):
    name = unique_name("unsupported")
    template = {"Resources": {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": name}},
        "Thing": {"Type": "AWS::GameLift::Fleet", "DependsOn": "Queue", "Properties": {"Name": "x"}}}}
    cf.create_stack(StackName=name, TemplateBody=json.dumps(template))
    stack = settle(cf, name)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    events = cf.describe_stack_events(StackName=name)["StackEvents"]
    failed = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed[0]["LogicalResourceId"] == "Thing"
    assert failed[0]["ResourceStatusReason"] == "Resource type AWS::GameLift::Fleet is not supported by overcast"
    rollback = [e for e in events if e["ResourceStatus"] == "ROLLBACK_IN_PROGRESS"][0]
    assert rollback["ResourceStatusReason"] == ("The following resource(s) failed to create: [Thing]. "
                                                "Rollback requested by user.")
    assert client("sqs").list_queues(QueueNamePrefix=name).get("QueueUrls", []) == []
    code, message = error_of(lambda: cf.update_stack(StackName=name, TemplateBody=json.dumps(template)))
    assert "is in ROLLBACK_COMPLETE state and can not be updated." in message
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=stack["StackId"], WaiterConfig=FAST)


@pytest.mark.postgres_e2e
def test_a_failing_service_call_rolls_back_with_the_services_message(cf, client, unique_name):
    name = unique_name("badq")
    template = {"Resources": {
        "Good": {"Type": "AWS::SQS::Queue"},
        "Bad": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 99999}}}}
    cf.create_stack(StackName=name, TemplateBody=json.dumps(template))
    assert settle(cf, name)["StackStatus"] == "ROLLBACK_COMPLETE"
    failed = [e for e in cf.describe_stack_events(StackName=name)["StackEvents"]
              if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed[0]["LogicalResourceId"] == "Bad" and "VisibilityTimeout" in failed[0]["ResourceStatusReason"]
    assert client("sqs").list_queues(QueueNamePrefix=name).get("QueueUrls", []) == []


@pytest.mark.parametrize("body, message", [
    ("Resources: {}", "Template format error: At least one Resources member must be defined."),
    ("Resources:\n  A: {Type: AWS::SQS::Queue, Properties: {QueueName: !Ref Nope}}",
     "Template format error: Unresolved resource dependencies [Nope] in the Resources block of the template"),
    ("Resources:\n  A: {Type: AWS::SQS::Queue, Properties: {QueueName: !GetAtt Nope.Arn}}",
     "Template error: instance of Fn::GetAtt references undefined resource Nope"),
    ("Resources:\n  A: {Type: AWS::SQS::Queue, Properties: {QueueName: !GetAtt B.Arn}}\n"
     "  B: {Type: AWS::SQS::Queue, Properties: {QueueName: !GetAtt A.Arn}}",
     "Circular dependency between resources: [A, B]"),
    ("Resources:\n  A: {Type: AWS::SQS::Queue, Properties: {QueueName: !GetAtt B.Nope}}\n  B: {Type: AWS::SQS::Queue}",
     "Template error: resource B does not support attribute type Nope in Fn::GetAtt"),
    ("Resources:\n  A: {Type: AWS::Made::Up}", "Template format error: Unrecognized resource types: [AWS::Made::Up]"),
    ("Resources:\n  A: [unclosed", "Template format error: YAML not well-formed. (line 3, column 1)"),
    ("Foo: 1\nResources:\n  A: {Type: AWS::SQS::Queue}",
     "Template format error: Invalid template property or properties [Foo]"),
    ("Parameters:\n  P: {Type: String}\nResources:\n  A: {Type: AWS::SQS::Queue}", "Parameters: [P] must have values"),
    ("Parameters:\n  P: {Type: String, Default: x, AllowedValues: [a, b]}\nResources:\n  A: {Type: AWS::SQS::Queue}",
     "Parameter 'P' must be one of AllowedValues"),
    ("Parameters:\n  P: {Type: String, Default: x1, AllowedPattern: '[a-z]+'}\nResources:\n  A: {Type: AWS::SQS::Queue}",
     "Parameter 'P' must match pattern [a-z]+"),
    ("Parameters:\n  P: {Type: Number, Default: abc}\nResources:\n  A: {Type: AWS::SQS::Queue}",
     "Parameter 'P' must be a number."),
    ("Parameters:\n  P: {Type: Number, Default: 5, MaxValue: 3}\nResources:\n  A: {Type: AWS::SQS::Queue}",
     "Parameter 'P' must be a number not greater than 3"),
    ("Parameters:\n  P: {Type: String, Default: ab, MinLength: 3}\nResources:\n  A: {Type: AWS::SQS::Queue}",
     "Parameter 'P' must contain at least 3 characters"),
    ("Parameters:\n  P: {Type: Strin}\nResources:\n  A: {Type: AWS::SQS::Queue}",
     "Template format error: Unrecognized parameter type: Strin"),
])
def test_bad_templates_get_cloudformations_errors(cf, unique_name, body, message):
    assert error_of(lambda: cf.create_stack(StackName=unique_name("bad"), TemplateBody=body)) == (
        "ValidationError", message)


def test_parameters_no_echo_lists_and_unknown_keys(cf, unique_name):
    name = unique_name("params")
    body = """
Parameters:
  Secret: {Type: String, NoEcho: true}
  Names: {Type: CommaDelimitedList, Default: "a,b,c"}
Resources:
  Q: {Type: AWS::SQS::Queue, Properties: {QueueName: !Join ["-", [!Ref "AWS::StackName", !Select [1, !Ref Names]]]}}
Outputs:
  Name: {Value: !GetAtt Q.QueueName}
  Count: {Value: !Join [":", !Ref Names]}
"""
    code, message = error_of(lambda: cf.create_stack(StackName=name, TemplateBody=body, Parameters=[
        {"ParameterKey": "Secret", "ParameterValue": "x"}, {"ParameterKey": "Other", "ParameterValue": "y"}]))
    assert message == "Parameters: [Other] do not exist in the template"
    cf.create_stack(StackName=name, TemplateBody=body, Parameters=[{"ParameterKey": "Secret", "ParameterValue": "s3cr3t"}])
    stack = wait(cf, "stack_create_complete", name)
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]} == {"Secret": "****",
                                                                                    "Names": "a,b,c"}
    assert outputs(stack) == {"Name": f"{name}-b", "Count": "a:b:c"}
    cf.delete_stack(StackName=name)


def test_conditions_mappings_and_intrinsics(cf, unique_name):
    name = unique_name("intrinsics")
    body = """
Parameters:
  Env: {Type: String, Default: prod, AllowedValues: [dev, prod]}
Mappings:
  Sizes: {prod: {Timeout: "60"}, dev: {Timeout: "5"}}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
  Both: !And [!Condition IsProd, !Or [!Condition IsProd, !Condition IsDev]]
Resources:
  Prod:
    Type: AWS::SQS::Queue
    Condition: IsProd
    Properties:
      VisibilityTimeout: !FindInMap [Sizes, !Ref Env, Timeout]
      DelaySeconds: !If [IsDev, 5, !Ref "AWS::NoValue"]
  Dev:
    Type: AWS::SQS::Queue
    Condition: IsDev
Outputs:
  Sub: {Value: !Sub "${AWS::StackName}/${Prod.QueueName}/${AWS::Region}/${AWS::AccountId}/${!Literal}"}
  SubVars: {Value: !Sub ["${A}-${B}", {A: !Ref Env, B: !Select [0, !GetAZs ""]}]}
  Split: {Value: !Select [2, !Split [",", "x,y,z"]]}
  B64: {Value: !Base64 "hi"}
  Cidr: {Value: !Join [" ", !Cidr ["10.0.0.0/16", 3, 8]]}
  Partition: {Value: !Sub "${AWS::Partition}.${AWS::URLSuffix}"}
  OnlyDev: {Value: dev, Condition: IsDev}
  Both: {Value: !If [Both, "yes", "no"]}
"""
    cf.create_stack(StackName=name, TemplateBody=body)
    stack = wait(cf, "stack_create_complete", name)
    out = outputs(stack)
    resources = [r["LogicalResourceId"] for r in cf.list_stack_resources(StackName=name)["StackResourceSummaries"]]
    assert resources == ["Prod"]
    queue_name = out["Sub"].split("/")[1]
    assert out["Sub"] == f"{name}/{queue_name}/us-east-1/000000000000/${{Literal}}"
    assert out["SubVars"] == "prod-us-east-1a"
    assert out["Split"] == "z" and out["B64"] == "aGk=" and out["Both"] == "yes"
    assert out["Cidr"] == "10.0.0.0/24 10.0.1.0/24 10.0.2.0/24"
    assert out["Partition"] == "aws.amazonaws.com" and "OnlyDev" not in out
    cf.delete_stack(StackName=name)


@pytest.mark.postgres_e2e
def test_exports_imports_and_their_errors(cf, unique_name):
    exporter, importer, twin = unique_name("exp"), unique_name("imp"), unique_name("twin")
    export_name = unique_name("shared")
    body = f"""
Resources:
  Q: {{Type: AWS::SQS::Queue}}
Outputs:
  Arn: {{Value: !GetAtt Q.Arn, Export: {{Name: {export_name}}}}}
"""
    cf.create_stack(StackName=exporter, TemplateBody=body)
    arn = outputs(wait(cf, "stack_create_complete", exporter))["Arn"]
    assert {"ExportingStackId": cf.describe_stacks(StackName=exporter)["Stacks"][0]["StackId"],
            "Name": export_name, "Value": arn} in cf.list_exports()["Exports"]
    cf.create_stack(StackName=importer, TemplateBody=f"""
Resources:
  Q: {{Type: AWS::SQS::Queue, Properties: {{RedrivePolicy: {{deadLetterTargetArn: !ImportValue {export_name},
                                                              maxReceiveCount: 2}}}}}}
Outputs:
  Imported: {{Value: !ImportValue {export_name}}}
""")
    assert outputs(wait(cf, "stack_create_complete", importer))["Imported"] == arn
    assert cf.list_imports(ExportName=export_name)["Imports"] == [importer]

    cf.create_stack(StackName=twin, TemplateBody=body)
    stack = settle(cf, twin)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    rollback = [e for e in cf.describe_stack_events(StackName=twin)["StackEvents"]
                if e["ResourceStatus"] == "ROLLBACK_IN_PROGRESS"][0]
    assert rollback["ResourceStatusReason"] == f"Export with name {export_name} is already exported by stack {exporter}"

    cf.delete_stack(StackName=exporter)
    stack = settle(cf, exporter)
    assert stack["StackStatus"] == "DELETE_FAILED"
    assert stack["StackStatusReason"] == f"Export {export_name} cannot be deleted as it is in use by {importer}"
    cf.delete_stack(StackName=importer)
    cf.get_waiter("stack_delete_complete").wait(StackName=importer, WaiterConfig=FAST)
    cf.delete_stack(StackName=exporter)
    cf.get_waiter("stack_delete_complete").wait(StackName=exporter, WaiterConfig=FAST)
    code, message = error_of(lambda: cf.list_imports(ExportName=export_name))
    assert message == f"Export '{export_name}' is not imported by any stack."


def test_deletion_policy_retain_keeps_the_resource(cf, client, unique_name):
    name = unique_name("retain")
    body = json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "DeletionPolicy": "Retain",
                                           "Properties": {"QueueName": name}}}})
    cf.create_stack(StackName=name, TemplateBody=body)
    wait(cf, "stack_create_complete", name)
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)
    urls = client("sqs").list_queues(QueueNamePrefix=name)["QueueUrls"]
    assert len(urls) == 1
    client("sqs").delete_queue(QueueUrl=urls[0])


@pytest.mark.postgres_e2e
def test_change_sets_describe_add_modify_remove_and_execute(cf, client, unique_name):
    name = unique_name("cs")
    v1 = {"Resources": {"A": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 10}},
                        "B": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-b"}},
                        "C": {"Type": "AWS::SQS::Queue"}}}
    created = cf.create_change_set(StackName=name, ChangeSetName="first", ChangeSetType="CREATE",
                                   TemplateBody=json.dumps(v1))
    cf.get_waiter("change_set_create_complete").wait(ChangeSetName=created["Id"], WaiterConfig=FAST)
    assert cf.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS"
    described = cf.describe_change_set(ChangeSetName="first", StackName=name)
    assert described["Status"] == "CREATE_COMPLETE" and described["ExecutionStatus"] == "AVAILABLE"
    assert sorted((c["ResourceChange"]["Action"], c["ResourceChange"]["LogicalResourceId"])
                  for c in described["Changes"]) == [("Add", "A"), ("Add", "B"), ("Add", "C")]
    cf.execute_change_set(ChangeSetName=created["Id"])
    wait(cf, "stack_create_complete", name)

    v2 = {"Resources": {"A": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 20}},
                        "B": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-b2"}},
                        "D": {"Type": "AWS::SQS::Queue"}}}
    second = cf.create_change_set(StackName=name, ChangeSetName="second", TemplateBody=json.dumps(v2))
    cf.get_waiter("change_set_create_complete").wait(ChangeSetName=second["Id"], WaiterConfig=FAST)
    changes = {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"]
               for c in cf.describe_change_set(ChangeSetName=second["Id"])["Changes"]}
    assert changes["A"]["Action"] == "Modify" and changes["A"]["Replacement"] == "False"
    assert changes["A"]["Details"][0]["Target"] == {"Attribute": "Properties", "Name": "VisibilityTimeout",
                                                    "RequiresRecreation": "Never"}
    assert changes["B"]["Action"] == "Modify" and changes["B"]["Replacement"] == "True"
    assert changes["C"]["Action"] == "Remove" and changes["D"]["Action"] == "Add"
    assert [s["ChangeSetName"] for s in cf.list_change_sets(StackName=name)["Summaries"]] == ["second"]
    cf.execute_change_set(ChangeSetName="second", StackName=name)
    wait(cf, "stack_update_complete", name)
    logical = sorted(r["LogicalResourceId"] for r in cf.list_stack_resources(StackName=name)["StackResourceSummaries"])
    assert logical == ["A", "B", "D"]

    empty = cf.create_change_set(StackName=name, ChangeSetName="empty", TemplateBody=json.dumps(v2))
    described = cf.describe_change_set(ChangeSetName=empty["Id"])
    assert described["Status"] == "FAILED" and described["ExecutionStatus"] == "UNAVAILABLE"
    assert described["StatusReason"] == ("The submitted information didn't contain changes. Submit different "
                                         "information to create a change set.")
    code, _ = error_of(lambda: cf.execute_change_set(ChangeSetName=empty["Id"]))
    assert code == "InvalidChangeSetStatus"
    cf.delete_change_set(ChangeSetName=empty["Id"])
    code, message = error_of(lambda: cf.describe_change_set(ChangeSetName=empty["Id"]))
    assert code == "ChangeSetNotFound"
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)


def test_template_url_in_every_s3_form(cf, client, endpoint, unique_name):
    s3 = client("s3")
    bucket = unique_name("templates")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="dir/t.json", Body=json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}))
    for url in (f"{endpoint}/{bucket}/dir/t.json", f"https://s3.amazonaws.com/{bucket}/dir/t.json",
                f"https://{bucket}.s3.us-east-1.amazonaws.com/dir/t.json",
                f"https://{bucket}.s3.amazonaws.com/dir/t.json",
                f"https://s3.us-east-1.amazonaws.com/{bucket}/dir/t.json"):
        summary = cf.get_template_summary(TemplateURL=url)
        assert summary["ResourceTypes"] == ["AWS::SQS::Queue"], url
    name = unique_name("fromurl")
    cf.create_stack(StackName=name, TemplateURL=f"{endpoint}/{bucket}/dir/t.json")
    wait(cf, "stack_create_complete", name)
    # boto3 hands a JSON template back parsed
    assert cf.get_template(StackName=name)["TemplateBody"] == {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}
    code, message = error_of(lambda: cf.create_stack(StackName=unique_name("x"),
                                                     TemplateURL=f"{endpoint}/{bucket}/missing.json"))
    assert message == "TemplateURL must reference a valid S3 object to which you have access."
    cf.delete_stack(StackName=name)


def test_validate_template_and_termination_protection(cf, unique_name):
    body = """
Description: demo
Parameters:
  P: {Type: String, Default: x, Description: a parameter, NoEcho: true}
Resources:
  Q: {Type: AWS::SQS::Queue}
"""
    out = cf.validate_template(TemplateBody=body)
    assert out["Description"] == "demo"
    assert out["Parameters"] == [{"ParameterKey": "P", "DefaultValue": "x", "NoEcho": True,
                                  "Description": "a parameter"}]
    name = unique_name("protected")
    cf.create_stack(StackName=name, TemplateBody=body, EnableTerminationProtection=True)
    wait(cf, "stack_create_complete", name)
    code, message = error_of(lambda: cf.delete_stack(StackName=name))
    assert message == f"Stack [{name}] cannot be deleted while TerminationProtection is enabled"
    cf.update_termination_protection(StackName=name, EnableTerminationProtection=False)
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)
    code, message = error_of(lambda: cf.create_stack(StackName="9bad", TemplateBody=body))
    assert code == "ValidationError"


APP = """
Transform: AWS::LanguageExtensions
Parameters:
  Stage: {Type: String, Default: dev}
  Topics: {Type: CommaDelimitedList, Default: "orders,refunds"}
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]
      ManagedPolicyArns: [!Ref Managed]
      Policies:
        - PolicyName: inline
          PolicyDocument: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "sqs:*", Resource: "*"}]}
  Managed:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "logs:*", Resource: "*"}]}
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      StreamSpecification: {StreamViewType: NEW_IMAGE}
      TimeToLiveSpecification: {AttributeName: expires, Enabled: true}
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt Role.Arn
      Environment: {Variables: {TABLE: !Ref Table, STAGE: !Ref Stage}}
      Code:
        ZipFile: |
          import os
          def handler(event, context):
              return {"table": os.environ["TABLE"], "stage": os.environ["STAGE"], "event": event}
  Logs:
    Type: AWS::Logs::LogGroup
    Properties: {LogGroupName: !Sub "/aws/lambda/${Fn}", RetentionInDays: 7}
  Queue:
    Type: AWS::SQS::Queue
  Mapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties: {FunctionName: !Ref Fn, EventSourceArn: !GetAtt Queue.Arn, BatchSize: 5}
  'Fn::ForEach::Topics':
    - TopicName
    - !Ref Topics
    - 'Topic${TopicName}':
        Type: AWS::SNS::Topic
        Properties: {TopicName: !Sub "${AWS::StackName}-${TopicName}"}
  Sub:
    Type: AWS::SNS::Subscription
    Properties: {TopicArn: !Ref Topicorders, Protocol: sqs, Endpoint: !GetAtt Queue.Arn, RawMessageDelivery: true}
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      WebsiteConfiguration: {IndexDocument: index.html}
      CorsConfiguration: {CorsRules: [{AllowedMethods: [GET], AllowedOrigins: ["*"], MaxAge: 60}]}
      LifecycleConfiguration: {Rules: [{Id: expire, Status: Enabled, Prefix: tmp/, ExpirationInDays: 1}]}
      NotificationConfiguration:
        QueueConfigurations: [{Event: "s3:ObjectCreated:*", Queue: !GetAtt Queue.Arn}]
  Rule:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: {source: [demo]}
      Targets: [{Id: q, Arn: !GetAtt Queue.Arn}]
  Permission:
    Type: AWS::Lambda::Permission
    Properties: {FunctionName: !Ref Fn, Action: lambda:InvokeFunction, Principal: events.amazonaws.com}
Outputs:
  Function: {Value: !Ref Fn}
  TableStream: {Value: !GetAtt Table.StreamArn}
  Bucket: {Value: !Ref Bucket}
  Website: {Value: !GetAtt Bucket.WebsiteURL}
  TopicCount: {Value: !Length {Ref: Topics}}
  Json: {Value: !ToJsonString {a: [1, 2]}}
  Queue: {Value: !Ref Queue}
"""


@pytest.mark.postgres_e2e
def test_a_stack_of_many_services_deploys_updates_and_deletes(cf, client, unique_name):
    name = unique_name("app")
    code, message = error_of(lambda: cf.create_stack(StackName=name, TemplateBody=APP))
    assert (code, message) == ("InsufficientCapabilitiesException", "Requires capabilities : [CAPABILITY_AUTO_EXPAND]")
    code, message = error_of(lambda: cf.create_stack(StackName=name, TemplateBody=APP,
                                                     Capabilities=["CAPABILITY_AUTO_EXPAND"]))
    assert (code, message) == ("InsufficientCapabilitiesException", "Requires capabilities : [CAPABILITY_IAM]")
    cf.create_stack(StackName=name, TemplateBody=APP, Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
    stack = wait(cf, "stack_create_complete", name)
    out = outputs(stack)
    assert out["TopicCount"] == "2" and out["Json"] == '{"a":[1,2]}'
    lam = client("lambda")
    result = json.loads(lam.invoke(FunctionName=out["Function"], Payload=b'{"x": 1}')["Payload"].read())
    assert result["stage"] == "dev" and result["event"] == {"x": 1}
    assert client("dynamodb").describe_table(TableName=result["table"])["Table"]["LatestStreamArn"] == out["TableStream"]
    assert client("dynamodb").describe_time_to_live(TableName=result["table"])["TimeToLiveDescription"][
        "TimeToLiveStatus"] == "ENABLED"
    topics = [t["TopicArn"] for t in client("sns").list_topics()["Topics"]]
    assert any(t.endswith(f":{name}-orders") for t in topics) and any(t.endswith(f":{name}-refunds") for t in topics)
    s3 = client("s3")
    assert s3.get_bucket_website(Bucket=out["Bucket"])["IndexDocument"] == {"Suffix": "index.html"}
    assert s3.get_bucket_cors(Bucket=out["Bucket"])["CORSRules"][0]["MaxAgeSeconds"] == 60
    assert s3.get_bucket_notification_configuration(Bucket=out["Bucket"])["QueueConfigurations"][0]["Events"] == [
        "s3:ObjectCreated:*"]
    assert client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{out['Function']}")["logGroups"][0][
        "retentionInDays"] == 7
    mappings = lam.list_event_source_mappings(FunctionName=out["Function"])["EventSourceMappings"]
    assert mappings[0]["BatchSize"] == 5

    # a code change and a property change, in place
    changed = APP.replace('"stage": os.environ["STAGE"]', '"stage": os.environ["STAGE"] + "!"').replace(
        "RetentionInDays: 7", "RetentionInDays: 14")
    cf.update_stack(StackName=name, TemplateBody=changed, Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
                    Parameters=[{"ParameterKey": "Stage", "ParameterValue": "prod"}])
    stack = wait(cf, "stack_update_complete", name)
    assert outputs(stack)["Function"] == out["Function"]
    result = json.loads(lam.invoke(FunctionName=out["Function"], Payload=b"{}")["Payload"].read())
    assert result["stage"] == "prod!"
    assert client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{out['Function']}")["logGroups"][0][
        "retentionInDays"] == 14

    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)
    with pytest.raises(ClientError):
        lam.get_function(FunctionName=out["Function"])
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=out["Bucket"])


CUSTOM = """
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
      Code:
        ZipFile: |
          import cfnresponse, json
          def handler(event, context):
              props = event["ResourceProperties"]
              if props.get("Fail") == "yes" and event["RequestType"] != "Delete":
                  cfnresponse.send(event, context, cfnresponse.FAILED, {}, reason="asked to fail")
                  return
              greeting = "hello " + props.get("Name", "")
              cfnresponse.send(event, context, cfnresponse.SUCCESS, {"Greeting": greeting, "Type": event["RequestType"],
                                                                     "Flags": json.dumps(props["Flags"], sort_keys=True)},
                               physicalResourceId="greeter-" + props.get("Name", ""))
  Greeter:
    Type: Custom::Greeter
    Properties: {ServiceToken: !GetAtt Provider.Arn, Name: !Ref Who, Fail: !Ref Fail,
                 Flags: {Enabled: true, Count: 3, Items: [1.5, false, text]}}
Parameters:
  Who: {Type: String, Default: world}
  Fail: {Type: String, Default: "no"}
Outputs:
  Greeting: {Value: !GetAtt Greeter.Greeting}
  Type: {Value: !GetAtt Greeter.Type}
  Id: {Value: !Ref Greeter}
  Flags: {Value: !GetAtt Greeter.Flags}
"""


@pytest.mark.postgres_e2e
def test_a_lambda_backed_custom_resource_answers_through_cfn_response(cf, unique_name):
    name = unique_name("custom")
    cf.create_stack(StackName=name, TemplateBody=CUSTOM, Capabilities=["CAPABILITY_IAM"])
    out = outputs(wait(cf, "stack_create_complete", name))
    # booleans and numbers reach the provider as strings, at any depth, as CloudFormation sends them
    flags = '{"Count": "3", "Enabled": "true", "Items": ["1.5", "false", "text"]}'
    assert out == {"Greeting": "hello world", "Type": "Create", "Id": "greeter-world", "Flags": flags}
    cf.update_stack(StackName=name, TemplateBody=CUSTOM, Capabilities=["CAPABILITY_IAM"],
                    Parameters=[{"ParameterKey": "Who", "ParameterValue": "again"}])
    out = outputs(wait(cf, "stack_update_complete", name))
    assert out == {"Greeting": "hello again", "Type": "Update", "Id": "greeter-again", "Flags": flags}
    cf.update_stack(StackName=name, TemplateBody=CUSTOM, Capabilities=["CAPABILITY_IAM"],
                    Parameters=[{"ParameterKey": "Who", "UsePreviousValue": True},
                                {"ParameterKey": "Fail", "ParameterValue": "yes"}])
    stack = settle(cf, name)
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert outputs(stack)["Greeting"] == "hello again"
    failed = [e for e in cf.describe_stack_events(StackName=name)["StackEvents"] if e["ResourceStatus"] == "UPDATE_FAILED"]
    assert failed[0]["LogicalResourceId"] == "Greeter"
    assert "Received response status [FAILED] from custom resource. Message returned: asked to fail" in failed[0][
        "ResourceStatusReason"]
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)


@pytest.mark.postgres_e2e
def test_wait_condition_handle_takes_signals(cf, unique_name):
    import threading

    import httpx

    name = unique_name("wait")
    body = """
Resources:
  Handle: {Type: AWS::CloudFormation::WaitConditionHandle}
  Wait:
    Type: AWS::CloudFormation::WaitCondition
    Properties: {Handle: !Ref Handle, Timeout: 60, Count: 1}
  After: {Type: AWS::SQS::Queue, DependsOn: Wait}
Outputs:
  Data: {Value: !GetAtt Wait.Data}
"""
    cf.create_stack(StackName=name, TemplateBody=body)
    import time

    url = None
    deadline = time.time() + 30
    while url is None and time.time() < deadline:
        resources = cf.list_stack_resources(StackName=name)["StackResourceSummaries"]
        url = next((r.get("PhysicalResourceId") for r in resources if r["LogicalResourceId"] == "Handle"
                    and r["ResourceStatus"] == "CREATE_COMPLETE"), None)
        time.sleep(0.1)
    assert cf.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "CREATE_IN_PROGRESS"
    signal = {"Status": "SUCCESS", "Reason": "done", "UniqueId": "host1", "Data": "ready"}
    threading.Thread(target=lambda: httpx.put(url, content=json.dumps(signal))).start()
    stack = wait(cf, "stack_create_complete", name)
    assert json.loads(outputs(stack)["Data"]) == {"host1": "ready"}
    cf.delete_stack(StackName=name)


@pytest.mark.postgres_e2e
def test_nested_stacks_pass_parameters_and_outputs(cf, client, endpoint, unique_name):
    s3 = client("s3")
    bucket, name = unique_name("nested"), unique_name("parent")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="child.yaml", Body=b"""
Parameters:
  Prefix: {Type: String}
Resources:
  Q: {Type: AWS::SQS::Queue, Properties: {QueueName: !Sub "${Prefix}-child"}}
Outputs:
  QueueArn: {Value: !GetAtt Q.Arn}
""")
    body = f"""
Resources:
  Child:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: https://s3.amazonaws.com/{bucket}/child.yaml
      Parameters: {{Prefix: {name}}}
Outputs:
  Arn: {{Value: !GetAtt Child.Outputs.QueueArn}}
  ChildId: {{Value: !Ref Child}}
"""
    cf.create_stack(StackName=name, TemplateBody=body)
    out = outputs(wait(cf, "stack_create_complete", name))
    assert out["Arn"].endswith(f":{name}-child")
    child = cf.describe_stacks(StackName=out["ChildId"])["Stacks"][0]
    assert child["ParentId"] == cf.describe_stacks(StackName=name)["Stacks"][0]["StackId"]
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)
    assert cf.describe_stacks(StackName=out["ChildId"])["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    assert client("sqs").list_queues(QueueNamePrefix=f"{name}-child").get("QueueUrls", []) == []


def test_aws_cli_cloudformation_deploy_and_delete(aws_cli, client, tmp_path, unique_name):
    name = unique_name("cli")
    template = tmp_path / "template.yaml"
    template.write_text(QUEUES)
    result = aws_cli("cloudformation", "deploy", "--stack-name", name, "--template-file", str(template), check=False)
    assert result.returncode == 0, result.stderr
    assert f"Successfully created/updated stack - {name}" in result.stdout
    stack = aws_cli("cloudformation", "describe-stacks", "--stack-name", name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    result = aws_cli("cloudformation", "deploy", "--stack-name", name, "--template-file", str(template),
                     "--parameter-overrides", "Visibility=120", check=False)
    assert result.returncode == 0, result.stderr
    url = outputs(aws_cli("cloudformation", "describe-stacks", "--stack-name", name)["Stacks"][0])["Url"]
    assert client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"][
        "VisibilityTimeout"] == "120"
    unchanged = aws_cli("cloudformation", "deploy", "--stack-name", name, "--template-file", str(template),
                        "--parameter-overrides", "Visibility=120", check=False)
    # the CLI's own behaviour for an empty change set (without --no-fail-on-empty-changeset)
    assert unchanged.returncode == 255 and f"No changes to deploy. Stack {name} is up to date" in unchanged.stderr
    events = aws_cli("cloudformation", "describe-stack-events", "--stack-name", name)["StackEvents"]
    assert events[0]["ResourceStatus"] == "UPDATE_COMPLETE"
    aws_cli("cloudformation", "delete-stack", "--stack-name", name)
    client("cloudformation").get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)


@pytest.mark.postgres_e2e
def test_ssm_parameter_types_and_dynamic_references(cf, client, unique_name):
    ssm = client("ssm")
    name = unique_name("cfnrefs")
    ssm.put_parameter(Name=f"/{name}/timeout", Value="45", Type="String")
    ssm.put_parameter(Name=f"/{name}/delay", Value="7", Type="String")
    ssm.put_parameter(Name=f"/{name}/secret", Value="s3cr3t", Type="SecureString")
    body = f"""
Parameters:
  Timeout: {{Type: "AWS::SSM::Parameter::Value<String>", Default: /{name}/timeout}}
Resources:
  Q:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: !Ref Timeout
      DelaySeconds: "{{{{resolve:ssm:/{name}/delay}}}}"
      Tags: [{{Key: secret, Value: "{{{{resolve:ssm-secure:/{name}/secret}}}}"}}]
Outputs:
  Url: {{Value: !Ref Q}}
"""
    cf.create_stack(StackName=name, TemplateBody=body)
    stack = wait(cf, "stack_create_complete", name)
    assert stack["Parameters"] == [{"ParameterKey": "Timeout", "ParameterValue": f"/{name}/timeout",
                                    "ResolvedValue": "45"}]
    sqs = client("sqs")
    url = outputs(stack)["Url"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "45" and attrs["DelaySeconds"] == "7"
    assert own_tags(sqs.list_queue_tags(QueueUrl=url)["Tags"]) == {"secret": "s3cr3t"}
    cf.delete_stack(StackName=name)


def test_secrets_manager_dynamic_references(cf, client, unique_name):
    name = unique_name("secretrefs")
    arn = client("secretsmanager").create_secret(Name=name, SecretString=json.dumps({"user": "admin", "n": 3}))["ARN"]
    body = f"""
Resources:
  Q:
    Type: AWS::SQS::Queue
    Properties:
      DelaySeconds: "{{{{resolve:secretsmanager:{name}:SecretString:n}}}}"
      Tags:
        - {{Key: user, Value: "{{{{resolve:secretsmanager:{arn}:SecretString:user:AWSCURRENT}}}}"}}
        - {{Key: whole, Value: "{{{{resolve:secretsmanager:{name}}}}}"}}
Outputs:
  Url: {{Value: !Ref Q}}
"""
    cf.create_stack(StackName=name, TemplateBody=body)
    url = outputs(wait(cf, "stack_create_complete", name))["Url"]
    sqs = client("sqs")
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["DelaySeconds"])["Attributes"]["DelaySeconds"] == "3"
    tags = sqs.list_queue_tags(QueueUrl=url)["Tags"]
    assert tags["user"] == "admin" and json.loads(tags["whole"]) == {"user": "admin", "n": 3}
    missing = unique_name("nosecret")
    cf.create_stack(StackName=missing, TemplateBody=body.replace(f"secretsmanager:{name}:SecretString:n",
                                                                 f"secretsmanager:{missing}:SecretString:n"))
    assert settle(cf, missing)["StackStatus"] == "ROLLBACK_COMPLETE"
    failed = [e for e in cf.describe_stack_events(StackName=missing)["StackEvents"]
              if e["ResourceStatus"] == "CREATE_FAILED"]
    assert "Secrets Manager can't find the specified secret" in failed[0]["ResourceStatusReason"]
    cf.delete_stack(StackName=name)


def test_iam_users_groups_instance_profiles_and_policies(cf, client, unique_name):
    name = unique_name("iam")
    body = f"""
Resources:
  Group:
    Type: AWS::IAM::Group
    Properties:
      Policies: [{{PolicyName: read, PolicyDocument: {{Statement: [{{Effect: Allow, Action: "s3:Get*", Resource: "*"}}]}}}}]
  User:
    Type: AWS::IAM::User
    Properties:
      UserName: {name}-user
      Groups: [!Ref Group]
      ManagedPolicyArns: [!Ref Managed]
  Managed:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument: {{Statement: [{{Effect: Allow, Action: "sqs:*", Resource: "*"}}]}}
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {{Statement: [{{Effect: Allow, Principal: {{Service: ec2.amazonaws.com}}, Action: sts:AssumeRole}}]}}
  Profile:
    Type: AWS::IAM::InstanceProfile
    Properties: {{Roles: [!Ref Role]}}
  Inline:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: extra
      Roles: [!Ref Role]
      PolicyDocument: {{Statement: [{{Effect: Allow, Action: "logs:*", Resource: "*"}}]}}
Outputs:
  Group: {{Value: !Ref Group}}
  Profile: {{Value: !GetAtt Profile.Arn}}
  Role: {{Value: !Ref Role}}
"""
    code, message = error_of(lambda: cf.create_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_IAM"]))
    assert (code, message) == ("InsufficientCapabilitiesException", "Requires capabilities : [CAPABILITY_NAMED_IAM]")
    cf.create_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"])
    out = outputs(wait(cf, "stack_create_complete", name))
    iam = client("iam")
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=f"{name}-user")["Groups"]] == [out["Group"]]
    assert iam.list_group_policies(GroupName=out["Group"])["PolicyNames"] == ["read"]
    assert len(iam.list_attached_user_policies(UserName=f"{name}-user")["AttachedPolicies"]) == 1
    assert iam.list_role_policies(RoleName=out["Role"])["PolicyNames"] == ["extra"]
    profiles = iam.list_instance_profiles_for_role(RoleName=out["Role"])["InstanceProfiles"]
    assert [p["Arn"] for p in profiles] == [out["Profile"]]
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)
    with pytest.raises(ClientError):
        iam.get_user(UserName=f"{name}-user")
    with pytest.raises(ClientError):
        iam.get_role(RoleName=out["Role"])


def test_iam_access_key_service_linked_role_and_untagged_user(cf, client, unique_name):
    name = unique_name("iamkeys")
    body = """
Parameters:
  Status: {Type: String, Default: Active}
  Serial: {Type: String, Default: "1"}
Resources:
  User:
    Type: AWS::IAM::User
    Properties: {UserName: USER}
  Key:
    Type: AWS::IAM::AccessKey
    DependsOn: User
    Properties: {UserName: USER, Status: !Ref Status, Serial: !Ref Serial}
  Linked:
    Type: AWS::IAM::ServiceLinkedRole
    Properties: {AWSServiceName: elasticbeanstalk.amazonaws.com, Description: made by a stack}
  Lambda:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: ALLOW, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]}
Outputs:
  KeyId: {Value: !Ref Key}
  Secret: {Value: !GetAtt Key.SecretAccessKey}
  Linked: {Value: !Ref Linked}
""".replace("USER", f"{name}-user")
    cf.create_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"])
    out = outputs(wait(cf, "stack_create_complete", name))
    iam = client("iam")
    [key] = iam.list_access_keys(UserName=f"{name}-user")["AccessKeyMetadata"]
    assert (key["AccessKeyId"], key["Status"]) == (out["KeyId"], "Active")
    assert len(out["Secret"]) == 40
    assert "Tags" not in iam.get_user(UserName=f"{name}-user")["User"]  # AWS tags no user a stack makes
    linked = iam.get_role(RoleName=out["Linked"])["Role"]
    assert (linked["RoleName"], linked["Description"]) == ("AWSServiceRoleForElasticBeanstalk", "made by a stack")

    cf.update_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"],
                    Parameters=[{"ParameterKey": "Status", "ParameterValue": "Inactive"},
                                {"ParameterKey": "Serial", "ParameterValue": "2"}])
    updated = outputs(wait(cf, "stack_update_complete", name))
    assert updated["KeyId"] != out["KeyId"]  # a new Serial replaces the key
    [key] = iam.list_access_keys(UserName=f"{name}-user")["AccessKeyMetadata"]
    assert (key["AccessKeyId"], key["Status"]) == (updated["KeyId"], "Inactive")
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)
    with pytest.raises(ClientError):
        iam.get_role(RoleName="AWSServiceRoleForElasticBeanstalk")


def test_stack_events_are_published_to_notification_arns(cf, client, unique_name):
    sns, sqs = client("sns"), client("sqs")
    name = unique_name("notify")
    topic = sns.create_topic(Name=name)["TopicArn"]
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    cf.create_stack(StackName=name, TemplateBody=QUEUES, NotificationARNs=[topic])
    wait(cf, "stack_create_complete", name)
    bodies = []
    while not any("ResourceStatus='CREATE_COMPLETE'" in b and f"LogicalResourceId='{name}'" in b for b in bodies):
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=5).get("Messages", [])
        assert messages, bodies
        bodies += [m["Body"] for m in messages]
    assert any("ResourceType='AWS::SQS::Queue'" in b and "LogicalResourceId='Dlq'" in b for b in bodies)
    assert bodies[0].startswith("StackId='arn:aws:cloudformation:us-east-1:000000000000:stack/")
    cf.delete_stack(StackName=name)


def test_timeout_in_minutes_fails_a_create_that_takes_too_long(cf, client, unique_name):
    """A wait condition nobody signals outlasts the stack's one-minute timeout."""
    name = unique_name("timeout")
    body = f"""
Resources:
  Queue: {{Type: AWS::SQS::Queue, Properties: {{QueueName: {name}}}}}
  Handle: {{Type: AWS::CloudFormation::WaitConditionHandle}}
  Wait:
    Type: AWS::CloudFormation::WaitCondition
    DependsOn: Queue
    Properties: {{Handle: !Ref Handle, Timeout: 3600}}
"""
    cf.create_stack(StackName=name, TemplateBody=body, TimeoutInMinutes=1)
    import time

    deadline = time.time() + 90
    while time.time() < deadline:
        stack = cf.describe_stacks(StackName=name)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS"):
            break
        time.sleep(1)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    events = cf.describe_stack_events(StackName=name)["StackEvents"]
    assert [e["ResourceStatusReason"] for e in events if e["ResourceStatus"] == "ROLLBACK_IN_PROGRESS"] == [
        "Create timed out"]
    assert [e["ResourceStatusReason"] for e in events if e["ResourceStatus"] == "CREATE_FAILED"] == [
        "Resource creation cancelled"]
    assert client("sqs").list_queues(QueueNamePrefix=name).get("QueueUrls", []) == []


def test_cdk_metadata_deploys_as_cloudformation_accepts_it(cf, unique_name):
    """Every CDK app carries an AWS::CDK::Metadata resource; CloudFormation creates it (a UUID
    physical id, GetAtt Id) and deletes it with the stack."""
    name = unique_name("cdkmeta")
    body = json.dumps({"Resources": {
        "CDKMetadata": {"Type": "AWS::CDK::Metadata",
                        "Properties": {"Analytics": "v2:deflate64:H4sIAAAAAAAA/zPSszQ0MFRMLC/WTU7J1s3JTNKrDi5JTM7WAQ"}},
        "Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"Id": {"Value": {"Fn::GetAtt": ["CDKMetadata", "Id"]}}}})
    cf.create_stack(StackName=name, TemplateBody=body)
    stack = wait(cf, "stack_create_complete", name)
    resource = cf.describe_stack_resource(StackName=name, LogicalResourceId="CDKMetadata")["StackResourceDetail"]
    assert resource["ResourceType"] == "AWS::CDK::Metadata"
    assert resource["ResourceStatus"] == "CREATE_COMPLETE"
    assert outputs(stack)["Id"] == resource["PhysicalResourceId"]
    assert len(resource["PhysicalResourceId"]) == 36  # a UUID
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)


def test_delete_change_set_of_a_name_the_stack_does_not_have_succeeds(cf, unique_name):
    """DeleteChangeSet's only error is InvalidChangeSetStatus: deleting a change set name an existing
    stack does not have succeeds (the Serverless Framework does it before each update); on a stack
    that does not exist the name is still a ValidationError."""
    name = unique_name("delcs")
    cf.create_stack(StackName=name, TemplateBody=QUEUES)
    wait(cf, "stack_create_complete", name)
    assert cf.delete_change_set(StackName=name, ChangeSetName="never-created")["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert error_of(lambda: cf.describe_change_set(StackName=name, ChangeSetName="never-created"))[0] == \
        "ChangeSetNotFound"
    code, message = error_of(lambda: cf.delete_change_set(StackName=unique_name("nostack"), ChangeSetName="x"))
    assert code == "ValidationError" and message.endswith("does not exist")
    cf.delete_stack(StackName=name)


INLINE_POLICY = """
Parameters:
  Actions: {Type: CommaDelimitedList, Default: "sqs:SendMessage"}
  WithPolicy: {Type: String, Default: "yes"}
Conditions:
  Attached: !Equals [!Ref WithPolicy, "yes"]
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      Tags: [{Key: team, Value: queues}]
  Policy:
    Type: AWS::SQS::QueueInlinePolicy
    Condition: Attached
    Properties:
      Queue: !Ref Queue
      PolicyDocument:
        Version: "2012-10-17"
        Statement: [{Effect: Allow, Principal: "*", Action: !Ref Actions, Resource: !GetAtt Queue.Arn}]
Outputs:
  Url: {Value: !Ref Queue}
  PolicyRef: {Value: !Ref Policy, Condition: Attached}
"""


def test_queue_inline_policy_attaches_updates_and_detaches(cf, client, unique_name):
    # AWS::SQS::QueueInlinePolicy (AWS's template reference: Ref is the queue's URL); the queue
    # keeps only the template's tags, as LocalStack's AWS-recorded SQS resource tests show
    sqs = client("sqs")
    name = unique_name("inline")
    cf.create_stack(StackName=name, TemplateBody=INLINE_POLICY)
    out = outputs(wait(cf, "stack_create_complete", name))
    assert out["PolicyRef"] == out["Url"]
    assert sqs.list_queue_tags(QueueUrl=out["Url"])["Tags"] == {"team": "queues"}

    def policy() -> dict | None:
        found = sqs.get_queue_attributes(QueueUrl=out["Url"], AttributeNames=["Policy"]).get("Attributes", {})
        return json.loads(found["Policy"]) if "Policy" in found else None

    assert policy()["Statement"][0]["Action"] == ["sqs:SendMessage"]
    cf.update_stack(StackName=name, UsePreviousTemplate=True,
                    Parameters=[{"ParameterKey": "Actions", "ParameterValue": "sqs:SendMessage,sqs:ReceiveMessage"}])
    wait(cf, "stack_update_complete", name)
    assert policy()["Statement"][0]["Action"] == ["sqs:SendMessage", "sqs:ReceiveMessage"]
    cf.update_stack(StackName=name, UsePreviousTemplate=True,
                    Parameters=[{"ParameterKey": "Actions", "UsePreviousValue": True},
                                {"ParameterKey": "WithPolicy", "ParameterValue": "no"}])
    wait(cf, "stack_update_complete", name)
    assert policy() is None
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)


def test_removed_queue_properties_go_back_to_sqs_defaults(cf, client, unique_name):
    name = unique_name("unset")
    props = {"QueueName": f"{name}.fifo", "FifoQueue": True, "ContentBasedDeduplication": True,
             "DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId", "VisibilityTimeout": 42,
             "KmsMasterKeyId": "alias/aws/sqs", "KmsDataKeyReusePeriodSeconds": 200}
    template = {"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": props}},
                "Outputs": {"Url": {"Value": {"Ref": "Q"}}}}
    cf.create_stack(StackName=name, TemplateBody=json.dumps(template))
    url = outputs(wait(cf, "stack_create_complete", name))["Url"]
    sqs = client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["KmsDataKeyReusePeriodSeconds"] == "200" and attributes["ContentBasedDeduplication"] == "true"

    # only the period removed: KMS stays, with SQS's default period
    del props["KmsDataKeyReusePeriodSeconds"]
    cf.update_stack(StackName=name, TemplateBody=json.dumps(template))
    wait(cf, "stack_update_complete", name)
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["KmsMasterKeyId"] == "alias/aws/sqs" and attributes["KmsDataKeyReusePeriodSeconds"] == "300"

    # everything but the name removed (the period with KMS, as in LocalStack's recorded stack updates): as
    # AWS's stack update leaves the queue (the high-throughput settings stay)
    props["KmsDataKeyReusePeriodSeconds"] = 200
    cf.update_stack(StackName=name, TemplateBody=json.dumps(template))
    wait(cf, "stack_update_complete", name)
    template["Resources"]["Q"]["Properties"] = {"QueueName": f"{name}.fifo", "FifoQueue": True}
    cf.update_stack(StackName=name, TemplateBody=json.dumps(template))
    assert outputs(wait(cf, "stack_update_complete", name))["Url"] == url
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert "KmsMasterKeyId" not in attributes and "KmsDataKeyReusePeriodSeconds" not in attributes
    assert attributes["ContentBasedDeduplication"] == "false" and attributes["VisibilityTimeout"] == "30"
    assert (attributes["DeduplicationScope"], attributes["FifoThroughputLimit"]) == ("messageGroup",
                                                                                   "perMessageGroupId")
    cf.delete_stack(StackName=name)
