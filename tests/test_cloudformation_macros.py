"""CloudFormation macros (AWS::CloudFormation::Macro): the macro's Lambda function really runs
with AWS's documented event, for template-level Transform entries and Fn::Transform snippets (the
snippets first), and its answer (status, fragment, errorMessage) decides the stack's fate; also
the Fn::GetAtt return values AWS documents beyond the schemas, and UpdateStack of a template that
declares a transform."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from cfn_support import settle, wait
from lambda_functions import create_python

# Adds params.Input before "<replace-this>" in every string, and records the event it got.
REPLACE = """
import json

def handler(event, context):
    def walk(node):
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, str) and "<replace-this>" in node:
            return node.replace("<replace-this>", event["params"]["Input"] + " <replace-this>")
        return node
    fragment = walk(event["fragment"])
    if "Resources" in fragment:
        recorded = {k: v for k, v in event.items() if k not in ("fragment", "requestId")}
        fragment["Resources"]["Event"] = {"Type": "AWS::SSM::Parameter",
                                          "Properties": {"Type": "String", "Value": json.dumps(recorded)}}
    return {"requestId": event["requestId"], "status": "success", "fragment": fragment}
"""

REFUSE = """
def handler(event, context):
    return {"requestId": event["requestId"], "status": "failed", "fragment": event["fragment"],
            "errorMessage": "not today"}
"""

RAISE = """
def handler(event, context):
    raise Exception("boom")
"""

MACRO = """
Parameters:
  FunctionName: {Type: String}
  MacroName: {Type: String}
Resources:
  Macro:
    Type: AWS::CloudFormation::Macro
    Properties: {Name: !Ref MacroName, FunctionName: !Ref FunctionName}
Outputs:
  MacroRef: {Value: !Ref Macro}
"""


@pytest.fixture
def cf(client):
    return client("cloudformation")






def macro(client, cf, unique_name, code: str) -> str:
    """A macro backed by a new function running `code`: its name."""
    lam = client("lambda")
    function = unique_name("macro-fn")
    create_python(lam, function, code, runtime="python3.12")
    lam.get_waiter("function_active_v2").wait(FunctionName=function)
    name, stack = unique_name("Macro"), unique_name("macro-stack")
    cf.create_stack(StackName=stack, TemplateBody=MACRO, Parameters=[
        {"ParameterKey": "FunctionName", "ParameterValue": function},
        {"ParameterKey": "MacroName", "ParameterValue": name}])
    created = wait(cf, "stack_create_complete", stack)
    assert created["Outputs"] == [{"OutputKey": "MacroRef", "OutputValue": name}]
    resource = cf.describe_stack_resources(StackName=stack)["StackResources"][0]
    assert (resource["ResourceType"], resource["PhysicalResourceId"]) == ("AWS::CloudFormation::Macro", name)
    return name


def test_macros_run_snippets_first_then_template_transforms_with_aws_event(client, cf, unique_name):
    name = macro(client, cf, unique_name, REPLACE)
    template = {
        "Parameters": {"Example": {"Type": "String", "Default": "example-value"},
                       "Input": {"Type": "String"}, "Names": {"Type": "CommaDelimitedList"}},
        "Resources": {"Parameter": {"Type": "AWS::SSM::Parameter", "Properties": {
            "Type": "String", "Value": "<replace-this>",
            "Fn::Transform": [{"Name": name, "Parameters": {"Input": "snippet"}},
                              {"Name": name, "Parameters": {"Input": "second-snippet"}}]}}},
        "Outputs": {"Value": {"Value": {"Fn::GetAtt": ["Parameter", "Value"]}},
                    "Event": {"Value": {"Fn::GetAtt": ["Event", "Value"]}}},
        "Transform": [{"Name": name, "Parameters": {"Input": {"Ref": "Input"}}}],
    }
    given = [{"ParameterKey": "Input", "ParameterValue": "global"}, {"ParameterKey": "Names", "ParameterValue": "a,b"}]
    stack = unique_name("uses-macro")
    with pytest.raises(ClientError) as info:
        cf.create_stack(StackName=stack, TemplateBody=json.dumps(template), Parameters=given)
    assert info.value.response["Error"]["Code"] == "InsufficientCapabilitiesException"
    cf.create_stack(StackName=stack, TemplateBody=json.dumps(template), Parameters=given,
                    Capabilities=["CAPABILITY_AUTO_EXPAND"])
    out = {o["OutputKey"]: o["OutputValue"] for o in wait(cf, "stack_create_complete", stack)["Outputs"]}
    assert out["Value"] == "snippet second-snippet global <replace-this>"
    account = client("sts").get_caller_identity()["Account"]
    assert json.loads(out["Event"]) == {
        "region": "us-east-1", "accountId": account, "transformId": f"{account}::{name}",
        "params": {"Input": "global"},  # the Ref resolved
        "templateParameterValues": {"Example": "example-value", "Input": "global", "Names": ["a", "b"]}}
    processed = cf.get_template(StackName=stack, TemplateStage="Processed")["TemplateBody"]
    assert "Transform" not in processed
    assert processed["Resources"]["Parameter"]["Properties"] == {
        "Type": "String", "Value": "snippet second-snippet global <replace-this>"}


@pytest.mark.parametrize("code, reason", [
    (REFUSE, "Transform {account}::{name} failed with: not today. Rollback requested by user."),
    (RAISE, "Received malformed response from transform {account}::{name}. Rollback requested by user."),
])
def test_a_failing_macro_rolls_the_new_stack_back_with_its_reason(client, cf, unique_name, code, reason):
    name = macro(client, cf, unique_name, code)
    account = client("sts").get_caller_identity()["Account"]
    stack = unique_name("macro-fails")
    cf.create_stack(StackName=stack, Capabilities=["CAPABILITY_AUTO_EXPAND"], TemplateBody=json.dumps({
        "Transform": name, "Resources": {"P": {"Type": "AWS::SSM::Parameter",
                                               "Properties": {"Type": "String", "Value": "v"}}}}))
    assert settle(cf, stack)["StackStatus"] == "ROLLBACK_COMPLETE"
    events = cf.describe_stack_events(StackName=stack)["StackEvents"]
    rolling = [e for e in events if e["ResourceStatus"] == "ROLLBACK_IN_PROGRESS"]
    assert rolling[0]["ResourceStatusReason"] == reason.format(account=account, name=name)
    assert not cf.describe_stack_resources(StackName=stack)["StackResources"]


def test_a_transform_name_must_be_a_string(cf, unique_name):
    body = json.dumps({"Parameters": {"M": {"Type": "String"}}, "Transform": [{"Name": {"Ref": "M"}}],
                       "Resources": {"T": {"Type": "AWS::SNS::Topic"}}})
    with pytest.raises(ClientError) as info:
        cf.create_stack(StackName=unique_name("bad-transform"), TemplateBody=body,
                        Parameters=[{"ParameterKey": "M", "ParameterValue": "x"}],
                        Capabilities=["CAPABILITY_AUTO_EXPAND"])
    assert info.value.response["Error"]["Code"] == "ValidationError"
    assert info.value.response["Error"]["Message"] == "Key Name of transform definition must be a string."


def test_get_att_answers_the_documented_topic_name_and_event_bus_name(cf, unique_name):
    stack, bus = unique_name("getatt"), unique_name("bus")
    cf.create_stack(StackName=stack, TemplateBody=json.dumps({
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"},
                      "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": bus}}},
        "Outputs": {"TopicName": {"Value": {"Fn::GetAtt": ["Topic", "TopicName"]}},
                    "TopicArn": {"Value": {"Fn::GetAtt": ["Topic", "TopicArn"]}},
                    "BusName": {"Value": {"Fn::GetAtt": ["Bus", "Name"]}}}}))
    out = {o["OutputKey"]: o["OutputValue"] for o in wait(cf, "stack_create_complete", stack)["Outputs"]}
    assert out["TopicArn"].endswith(":" + out["TopicName"])
    assert out["TopicName"].startswith(f"{stack}-Topic-")
    assert out["BusName"] == bus


def test_update_of_a_template_with_a_transform_runs_even_when_nothing_changed(cf, unique_name):
    body = "Transform: AWS::Serverless-2016-10-31\nResources:\n  MyTopic:\n    Type: AWS::SNS::Topic\n"
    stack = unique_name("same-transform")
    cf.create_stack(StackName=stack, TemplateBody=body, Capabilities=["CAPABILITY_AUTO_EXPAND"])
    wait(cf, "stack_create_complete", stack)
    cf.update_stack(StackName=stack, TemplateBody=body, Capabilities=["CAPABILITY_AUTO_EXPAND"])
    assert wait(cf, "stack_update_complete", stack)["StackStatus"] == "UPDATE_COMPLETE"
    plain = unique_name("same-plain")
    cf.create_stack(StackName=plain, TemplateBody="Resources:\n  T:\n    Type: AWS::SNS::Topic\n")
    wait(cf, "stack_create_complete", plain)
    with pytest.raises(ClientError) as info:
        cf.update_stack(StackName=plain, TemplateBody="Resources:\n  T:\n    Type: AWS::SNS::Topic\n")
    assert info.value.response["Error"]["Message"] == "No updates are to be performed."


def test_a_template_body_over_51200_bytes_is_refused_with_the_body_in_the_message(cf, unique_name):
    body = json.dumps({"Resources": {f"T{n}": {"Type": "AWS::SNS::Topic"} for n in range(2000)}})
    with pytest.raises(ClientError) as info:
        cf.create_stack(StackName=unique_name("big"), TemplateBody=body)
    assert info.value.response["Error"]["Message"] == (
        f"1 validation error detected: Value '{body}' at 'templateBody' failed to satisfy constraint: Member must "
        "have length less than or equal to 51200")
