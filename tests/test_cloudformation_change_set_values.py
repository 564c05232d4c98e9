"""Fn::GetAtt of a resource's own properties, and the values DescribeChangeSet shows for them, as
AWS's recorded answers show them (LocalStack's test_change_set_fn_get_attr.py and its
neighbours)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError, WaiterError
from cfn_support import FAST, settle, wait


@pytest.fixture
def cf(client):
    return client("cloudformation")


def _topics(name: str, display: str, second: bool = True) -> str:
    resources = {"Topic1": {"Type": "AWS::SNS::Topic",
                            "Properties": {"TopicName": f"{name}-1", "DisplayName": display}}}
    if second:
        resources["Topic2"] = {"Type": "AWS::SNS::Topic", "Properties": {
            "TopicName": f"{name}-2", "DisplayName": {"Fn::GetAtt": ["Topic1", "DisplayName"]}}}
    return json.dumps({"Resources": resources})


def _change_set(cf, name: str, body: str, kind: str = "UPDATE", **kwargs) -> tuple[dict, dict]:
    cf.create_change_set(StackName=name, ChangeSetName="cs", ChangeSetType=kind, TemplateBody=body, **kwargs)
    cf.get_waiter("change_set_create_complete").wait(StackName=name, ChangeSetName="cs", WaiterConfig=FAST)
    plain = {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"]
             for c in cf.describe_change_set(StackName=name, ChangeSetName="cs")["Changes"]}
    values = {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"]
              for c in cf.describe_change_set(StackName=name, ChangeSetName="cs",
                                              IncludePropertyValues=True)["Changes"]}
    return plain, values


def test_get_att_of_a_property_is_its_value_and_unknown_until_deployed(cf, client, unique_name):
    name = unique_name("gp")
    plain, values = _change_set(cf, name, _topics(name, "display-value-1"), "CREATE")
    assert json.loads(values["Topic2"]["AfterContext"])["Properties"] == {
        "DisplayName": "{{changeSet:KNOWN_AFTER_APPLY}}", "TopicName": f"{name}-2"}
    cf.execute_change_set(StackName=name, ChangeSetName="cs")
    wait(cf, "stack_create_complete", name)
    arn = cf.describe_stack_resource(StackName=name, LogicalResourceId="Topic2")["StackResourceDetail"][
        "PhysicalResourceId"]
    assert client("sns").get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "display-value-1"


def test_an_added_resource_reads_the_deployed_value_of_a_resource_the_change_set_modifies(cf, unique_name):
    name = unique_name("ga")
    cf.create_stack(StackName=name, TemplateBody=_topics(name, "display-value-1", second=False))
    wait(cf, "stack_create_complete", name)
    plain, values = _change_set(cf, name, _topics(name, "display-value-2"))
    assert plain["Topic2"]["Action"] == "Add"
    # AWS's recorded answer: the value before this change set runs, not KNOWN_AFTER_APPLY
    assert json.loads(values["Topic2"]["AfterContext"])["Properties"]["DisplayName"] == "display-value-1"


def test_a_dependent_of_a_modified_property_is_dynamic_unless_property_values_are_shown(cf, unique_name):
    name = unique_name("gd")
    cf.create_stack(StackName=name, TemplateBody=_topics(name, "display-value-1"))
    wait(cf, "stack_create_complete", name)
    plain, values = _change_set(cf, name, _topics(name, "display-value-2"))
    assert plain["Topic2"]["Action"] == "Modify"
    assert plain["Topic2"]["Details"] == [{
        "Target": {"Attribute": "Properties", "Name": "DisplayName", "RequiresRecreation": "Never"},
        "Evaluation": "Dynamic", "ChangeSource": "ResourceAttribute", "CausingEntity": "Topic1.DisplayName"}]
    assert set(values) == {"Topic1"}  # AWS leaves the dependent out when it shows the values


def test_a_replaced_resource_makes_its_dependents_values_unknown(cf, unique_name):
    name = unique_name("gr")
    cf.create_stack(StackName=name, TemplateBody=_topics(name, "value"))
    wait(cf, "stack_create_complete", name)
    body = json.loads(_topics(name, "new-value"))
    body["Resources"]["Topic1"]["Properties"]["TopicName"] = f"{name}-renamed"
    plain, values = _change_set(cf, name, json.dumps(body))
    assert plain["Topic1"]["Replacement"] == "True"
    assert json.loads(values["Topic2"]["AfterContext"])["Properties"]["DisplayName"] == \
        "{{changeSet:KNOWN_AFTER_APPLY}}"


def test_get_att_of_a_name_that_is_neither_attribute_nor_property_is_refused(cf, unique_name):
    body = json.loads(_topics("x", "v"))
    body["Resources"]["Topic2"]["Properties"]["DisplayName"] = {"Fn::GetAtt": ["Topic1", "NoSuchThing"]}
    with pytest.raises(ClientError) as e:
        cf.create_stack(StackName=unique_name("gn"), TemplateBody=json.dumps(body))
    assert e.value.response["Error"]["Message"] == \
        "Template error: resource Topic1 does not support attribute type NoSuchThing in Fn::GetAtt"


@pytest.mark.parametrize("get_att", [["Topic1"], [{"Ref": "P"}]])
def test_a_get_att_without_two_parameters_is_refused_with_aws_wording(cf, unique_name, get_att):
    body = {"Parameters": {"P": {"Type": "String", "Default": "x"}}, "Resources": {
        "Topic1": {"Type": "AWS::SNS::Topic"},
        "Param": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": {"Fn::GetAtt": get_att}}}}}
    with pytest.raises(ClientError) as e:
        cf.create_change_set(StackName=unique_name("gw"), ChangeSetName="cs", ChangeSetType="CREATE",
                             TemplateBody=json.dumps(body))
    assert e.value.response["Error"]["Code"] == "ValidationError"
    assert e.value.response["Error"]["Message"] == (
        "Template error: every Fn::GetAtt object requires two non-empty parameters, the resource name and the "
        "resource attribute")


def test_describe_with_property_values_warns_of_an_import_of_a_missing_export(cf, unique_name):
    name, export = unique_name("ie"), unique_name("no-such-export")
    body = {"Resources": {"MyFoo": {"Type": "AWS::SSM::Parameter",
                                    "Properties": {"Type": "String", "Value": {"Fn::ImportValue": export}}}}}
    cf.create_change_set(StackName=name, ChangeSetName="cs", ChangeSetType="CREATE", TemplateBody=json.dumps(body))
    cf.get_waiter("change_set_create_complete").wait(StackName=name, ChangeSetName="cs", WaiterConfig=FAST)
    assert "StatusReason" not in cf.describe_change_set(StackName=name, ChangeSetName="cs")
    described = cf.describe_change_set(StackName=name, ChangeSetName="cs", IncludePropertyValues=True)
    assert described["Status"] == "CREATE_COMPLETE"
    assert described["StatusReason"] == (
        "[WARN] --include-property-values option can return incomplete ChangeSet data because: ChangeSet "
        f"creation failed for resource [MyFoo] because: No export named {export}")
    assert json.loads(described["Changes"][0]["ResourceChange"]["AfterContext"])["Properties"]["Value"] == \
        "{{changeSet:KNOWN_AFTER_APPLY}}"


@pytest.mark.parametrize("select", [{"Fn::Select": [0, 2]}, {"Fn::Select": [100, ["test"]]}])
def test_a_select_of_no_list_or_past_a_literal_list_is_refused_with_aws_wording(cf, unique_name, select):
    body = {"Resources": {"P": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": select}}}}
    with pytest.raises(ClientError) as e:
        cf.create_change_set(StackName=unique_name("sel"), ChangeSetName="cs", ChangeSetType="CREATE",
                             TemplateBody=json.dumps(body))
    assert e.value.response["Error"]["Message"] == \
        "Template error: Fn::Select requires a list argument with two elements: an integer index and a list"


def _include_stack(cf, client, unique_name, snippet: str, template: dict) -> tuple[str, str]:
    bucket, name = unique_name("include"), unique_name("inc")
    client("s3").create_bucket(Bucket=bucket)
    client("s3").put_object(Bucket=bucket, Key="snippet", Body=snippet.encode())
    body = json.dumps(template).replace("LOCATION", f"s3://{bucket}/snippet")
    cf.create_change_set(StackName=name, ChangeSetName="cs", ChangeSetType="CREATE", TemplateBody=body,
                         Capabilities=["CAPABILITY_AUTO_EXPAND"])
    cf.get_waiter("change_set_create_complete").wait(StackName=name, ChangeSetName="cs", WaiterConfig=FAST)
    cf.execute_change_set(StackName=name, ChangeSetName="cs")
    wait(cf, "stack_create_complete", name)
    return name, bucket


def test_aws_include_in_a_section_adds_the_snippets_keys(cf, client, unique_name):
    param = unique_name("included")
    snippet = f"""
        Included:
            Type: AWS::SSM::Parameter
            Properties:
                Name: {param}
                Type: String
                Value: from-s3
    """
    name, _ = _include_stack(cf, client, unique_name, snippet, {"Resources": {
        "Own": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": "own"}},
        "Fn::Transform": {"Name": "AWS::Include", "Parameters": {"Location": "LOCATION"}}}})
    logical = {r["LogicalResourceId"] for r in cf.describe_stack_resources(StackName=name)["StackResources"]}
    assert logical == {"Own", "Included"}
    assert client("ssm").get_parameter(Name=param)["Parameter"]["Value"] == "from-s3"


def test_aws_include_at_the_top_level_adds_sections(cf, client, unique_name):
    snippet = '{"Outputs": {"ParameterRef": {"Value": {"Ref": "Own"}}}}'
    name, _ = _include_stack(cf, client, unique_name, snippet, {
        "Transform": {"Name": "AWS::Include", "Parameters": {"Location": "LOCATION"}},
        "Resources": {"Own": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": "own"}}}})
    stack = cf.describe_stacks(StackName=name)["Stacks"][0]
    physical = cf.describe_stack_resource(StackName=name, LogicalResourceId="Own")["StackResourceDetail"][
        "PhysicalResourceId"]
    assert stack["Outputs"] == [{"OutputKey": "ParameterRef", "OutputValue": physical}]


def test_aws_include_of_a_missing_object_fails_the_change_set(cf, unique_name):
    name = unique_name("incmiss")
    body = {"Resources": {
        "Own": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": "own"}},
        "Fn::Transform": {"Name": "AWS::Include", "Parameters": {"Location": "s3://no-such-bucket-x/snippet"}}}}
    cf.create_change_set(StackName=name, ChangeSetName="cs", ChangeSetType="CREATE", TemplateBody=json.dumps(body))
    with pytest.raises(WaiterError):
        cf.get_waiter("change_set_create_complete").wait(StackName=name, ChangeSetName="cs", WaiterConfig=FAST)
    described = cf.describe_change_set(StackName=name, ChangeSetName="cs")
    assert described["Status"] == "FAILED"
    assert described["StatusReason"].startswith("Transform AWS::Include failed with: ")


def _replace_topic(cf, name: str, policy: str | None = None) -> list[tuple[str, str]]:
    def body(suffix):
        topic = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": f"{name}-{suffix}"}}
        if policy:
            topic["UpdateReplacePolicy"] = policy
        return json.dumps({"Resources": {"Foo": topic}})

    cf.create_stack(StackName=name, TemplateBody=body(1))
    wait(cf, "stack_create_complete", name)
    cf.update_stack(StackName=name, TemplateBody=body(2))
    wait(cf, "stack_update_complete", name)
    events = cf.describe_stack_events(StackName=name)["StackEvents"]
    return [(e["ResourceStatus"], e.get("PhysicalResourceId", "").rsplit(":", 1)[-1])
            for e in reversed(events) if e["LogicalResourceId"] == "Foo"]


def test_the_cleanup_of_a_replaced_resource_has_its_own_delete_events(cf, unique_name):
    name = unique_name("repl")
    events = _replace_topic(cf, name)
    assert events[-4:] == [
        ("UPDATE_IN_PROGRESS", f"{name}-1"), ("UPDATE_COMPLETE", f"{name}-2"),
        ("DELETE_IN_PROGRESS", f"{name}-1"), ("DELETE_COMPLETE", f"{name}-1")]
    resource = cf.describe_stack_resource(StackName=name, LogicalResourceId="Foo")["StackResourceDetail"]
    assert resource["ResourceStatus"] == "UPDATE_COMPLETE"


def test_a_replaced_resource_kept_by_its_update_replace_policy_is_delete_skipped(cf, client, unique_name):
    name = unique_name("keep")
    events = _replace_topic(cf, name, "Retain")
    assert events[-1] == ("DELETE_SKIPPED", f"{name}-1")
    topics = [t["TopicArn"] for t in client("sns").list_topics()["Topics"]]
    assert any(t.endswith(f":{name}-1") for t in topics)


def test_a_parameter_whose_value_is_aws_novalue_is_no_value(cf, client, unique_name):
    name = unique_name("novalue")
    cf.create_stack(StackName=name, TemplateBody=json.dumps({
        "Parameters": {"LogGroupName": {"Type": "String", "Default": "AWS::NoValue"}},
        "Resources": {"Group": {"Type": "AWS::Logs::LogGroup", "Properties": {
            "LogGroupName": {"Ref": "LogGroupName"}, "RetentionInDays": 731}}},
        "Outputs": {"Group": {"Value": {"Ref": "Group"}}}}))
    stack = wait(cf, "stack_create_complete", name)
    group = stack["Outputs"][0]["OutputValue"]
    assert group.startswith(f"{name}-Group-")  # a generated name, as when LogGroupName is not set
    groups = client("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert [g["retentionInDays"] for g in groups] == [731]


def test_a_create_rolled_back_shows_a_deletion_time_and_no_change_set(cf, client, unique_name):
    name, group = unique_name("rolled"), unique_name("existing")
    client("logs").create_log_group(logGroupName=group)
    cf.create_change_set(StackName=name, ChangeSetName="cs", ChangeSetType="CREATE", TemplateBody=json.dumps({
        "Resources": {"Group": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": group}}}}))
    cf.get_waiter("change_set_create_complete").wait(StackName=name, ChangeSetName="cs", WaiterConfig=FAST)
    cf.execute_change_set(StackName=name, ChangeSetName="cs")
    stack = settle(cf, name)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert "DeletionTime" in stack and "ChangeSetId" not in stack


def test_language_extensions_processed_template_has_the_known_values(cf, unique_name):
    name = unique_name("langext")
    body = """
Transform: AWS::LanguageExtensions
Parameters:
  Names: {Type: CommaDelimitedList, Default: "a,b,c"}
Resources:
  Count:
    Type: AWS::SSM::Parameter
    Properties: {Type: String, Value: {"Fn::Length": {Ref: Names}}}
  Json:
    Type: AWS::SSM::Parameter
    Properties: {Type: String, Value: {"Fn::ToJsonString": [x, y]}}
  'Fn::ForEach::Params':
    - Item
    - [Foo, Bar]
    - 'P${Item}':
        Type: AWS::SSM::Parameter
        Properties:
          Type: String
          Value: {"Fn::Join": [".", [{Ref: Item}, fifo]]}
          Description: !Sub "value ${Item} ${!Literal}"
          Tags: {region: !Sub "${AWS::Region}"}
"""
    cf.create_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_AUTO_EXPAND"])
    wait(cf, "stack_create_complete", name)
    resources = cf.get_template(StackName=name, TemplateStage="Processed")["TemplateBody"]["Resources"]
    assert resources["Count"]["Properties"]["Value"] == 3
    assert resources["Json"]["Properties"]["Value"] == '["x","y"]'
    assert resources["PFoo"]["Properties"]["Value"] == "Foo.fifo"
    assert resources["PFoo"]["Properties"]["Description"] == "value Foo ${Literal}"
    assert resources["PBar"]["Properties"]["Tags"] == {"region": {"Fn::Sub": "${AWS::Region}"}}  # not known yet


def test_aws_include_location_from_an_fn_sub_of_parameters_and_a_whole_resource(cf, client, unique_name):
    bucket, name = unique_name("incsub"), unique_name("incsub")
    client("s3").create_bucket(Bucket=bucket)
    client("s3").put_object(Bucket=bucket, Key="topic.yaml", Body=b"Type: AWS::SNS::Topic\n")
    cf.create_stack(StackName=name, TemplateBody=json.dumps({
        "Parameters": {"BucketName": {"Type": "String"}},
        "Resources": {"Topic": {"Fn::Transform": {"Name": "AWS::Include", "Parameters": {
            "Location": {"Fn::Sub": "s3://${BucketName}/topic.yaml"}}}}},
        "Outputs": {"Topic": {"Value": {"Ref": "Topic"}}}}),
        Parameters=[{"ParameterKey": "BucketName", "ParameterValue": bucket}], Capabilities=["CAPABILITY_AUTO_EXPAND"])
    topic = wait(cf, "stack_create_complete", name)["Outputs"][0]["OutputValue"]
    assert client("sns").get_topic_attributes(TopicArn=topic)["Attributes"]["TopicArn"] == topic


def test_a_part_of_a_property_unknown_until_deployed_leaves_the_rest_shown(cf, unique_name):
    # AWS's recorded answer for a SAM function with an API event: the generated API's Body is its
    # swagger (the title the stack's name), only what names the function unknown
    name = unique_name("gk")
    template = {"Transform": "AWS::Serverless-2016-10-31", "Resources": {"Fn": {
        "Type": "AWS::Serverless::Function",
        "Properties": {"Handler": "index.handler", "Runtime": "nodejs20.x",
                       "InlineCode": "exports.handler = async () => ({statusCode: 200, body: 'hi'});",
                       "Environment": {"Variables": {"PLAIN": "known", "TOPIC": {"Ref": "Topic"}}},
                       "Events": {"Hello": {"Type": "Api", "Properties": {"Path": "/hello", "Method": "get"}}}}},
        "Topic": {"Type": "AWS::SNS::Topic"}}}
    _, values = _change_set(cf, name, json.dumps(template), "CREATE",
                            Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
    body = json.loads(values["ServerlessRestApi"]["AfterContext"])["Properties"]["Body"]
    assert body["swagger"] == "2.0" and body["info"] == {"title": name, "version": "1.0"}
    integration = body["paths"]["/hello"]["get"]["x-amazon-apigateway-integration"]
    assert integration["uri"] == "{{changeSet:KNOWN_AFTER_APPLY}}" and integration["type"] == "aws_proxy"
    environment = json.loads(values["Fn"]["AfterContext"])["Properties"]["Environment"]
    assert environment == {"Variables": {"PLAIN": "known", "TOPIC": "{{changeSet:KNOWN_AFTER_APPLY}}"}}
    cf.delete_stack(StackName=name)
