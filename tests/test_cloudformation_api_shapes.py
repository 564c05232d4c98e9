"""What DescribeStacks, DescribeChangeSet and DescribeStackEvents answer, member by member, as
AWS's recorded answers show them; and AWS::CloudWatch::Alarm."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError, WaiterError

FAST = {"Delay": 0.2, "MaxAttempts": 300}
CHAIN = json.dumps({"Description": "chain", "Resources": {
    "C": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": {"Ref": "B"}}},
    "A": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": "root"}},
    "B": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": {"Ref": "A"}}}}})


@pytest.fixture
def cf(client):
    return client("cloudformation")


def test_describe_stacks_leaves_out_empty_members_and_shows_the_rollback_configuration(cf, unique_name):
    name = unique_name("shape")
    cf.create_stack(StackName=name, TemplateBody=CHAIN)
    cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=FAST)
    stack = cf.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["RollbackConfiguration"] == {}
    for member in ("Parameters", "Capabilities", "RetainExceptOnCreate", "LastUpdatedTime"):
        assert member not in stack
    assert stack["Description"] == "chain"


def test_a_stack_a_change_set_created_has_a_last_updated_time(cf, unique_name):
    name = unique_name("via-cs")
    cf.create_change_set(StackName=name, ChangeSetName="first", ChangeSetType="CREATE", TemplateBody=CHAIN,
                         Description="my change set")
    cf.get_waiter("change_set_create_complete").wait(StackName=name, ChangeSetName="first", WaiterConfig=FAST)
    described = cf.describe_change_set(StackName=name, ChangeSetName="first")
    assert described["Description"] == "my change set"  # the change set's own, not the template's
    assert described["RollbackConfiguration"] == {}
    assert "Parameters" not in described
    assert "LastUpdatedTime" not in cf.describe_stacks(StackName=name)["Stacks"][0]
    cf.execute_change_set(StackName=name, ChangeSetName="first")
    cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=FAST)
    stack = cf.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["LastUpdatedTime"] >= stack["CreationTime"]


def test_events_sorted_by_timestamp_keep_the_order_resources_were_made_and_deleted(cf, unique_name):
    name = unique_name("order")
    cf.create_stack(StackName=name, TemplateBody=CHAIN)
    cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=FAST)
    stack_id = cf.describe_stacks(StackName=name)["Stacks"][0]["StackId"]
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)
    events = cf.describe_stack_events(StackName=stack_id)["StackEvents"]
    stamps = [e["Timestamp"] for e in events]
    assert stamps == sorted(stamps, reverse=True) and len(set(stamps)) == len(stamps)
    done = sorted((e for e in events if e["LogicalResourceId"] in "ABC" and e["ResourceStatus"].endswith("_COMPLETE")),
                  key=lambda e: e["Timestamp"])
    assert [(e["LogicalResourceId"], e["ResourceStatus"]) for e in done] == [
        ("A", "CREATE_COMPLETE"), ("B", "CREATE_COMPLETE"), ("C", "CREATE_COMPLETE"),
        ("C", "DELETE_COMPLETE"), ("B", "DELETE_COMPLETE"), ("A", "DELETE_COMPLETE")]


def test_describe_stack_events_of_a_missing_stack(cf):
    with pytest.raises(ClientError) as info:
        cf.describe_stack_events(StackName="does-not-exist")
    assert info.value.response["Error"]["Code"] == "ValidationError"
    assert info.value.response["Error"]["Message"] == "Stack [does-not-exist] does not exist"


def test_rollback_triggers_are_refused_not_ignored(cf, unique_name):
    with pytest.raises(ClientError) as info:
        cf.create_stack(StackName=unique_name("triggers"), TemplateBody=CHAIN, RollbackConfiguration={
            "RollbackTriggers": [{"Arn": "arn:aws:cloudwatch:us-east-1:000000000000:alarm:a",
                                  "Type": "AWS::CloudWatch::Alarm"}]})
    assert info.value.response["Error"]["Code"] == "ValidationError"


def test_cloudwatch_alarm_is_created_updated_and_deleted(cf, client, unique_name):
    cw = client("cloudwatch")
    template = {
        "Parameters": {"Threshold": {"Type": "String", "Default": "1000.0"}},
        "Resources": {"Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "AlarmDescription": "latency", "MetricName": "Latency", "Namespace": "AWS/ApiGateway",
            "Statistic": "Average", "Period": "60", "EvaluationPeriods": 1, "Threshold": {"Ref": "Threshold"},
            "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
            "Dimensions": [{"Name": "ApiName", "Value": "api"}]}}},
        "Outputs": {"Name": {"Value": {"Ref": "Alarm"}}, "Arn": {"Value": {"Fn::GetAtt": ["Alarm", "Arn"]}}}}
    name = unique_name("alarm")
    cf.create_stack(StackName=name, TemplateBody=json.dumps(template))
    cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=FAST)
    out = {o["OutputKey"]: o["OutputValue"] for o in cf.describe_stacks(StackName=name)["Stacks"][0]["Outputs"]}
    alarm = cw.describe_alarms(AlarmNames=[out["Name"]])["MetricAlarms"][0]
    assert alarm["AlarmArn"] == out["Arn"] and out["Name"].startswith(f"{name}-Alarm-")
    assert (alarm["Threshold"], alarm["Period"], alarm["Dimensions"]) == (1000.0, 60, [{"Name": "ApiName",
                                                                                       "Value": "api"}])
    cf.update_stack(StackName=name, TemplateBody=json.dumps(template),
                    Parameters=[{"ParameterKey": "Threshold", "ParameterValue": "5"}])
    cf.get_waiter("stack_update_complete").wait(StackName=name, WaiterConfig=FAST)
    assert cw.describe_alarms(AlarmNames=[out["Name"]])["MetricAlarms"][0]["Threshold"] == 5.0
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)
    assert cw.describe_alarms(AlarmNames=[out["Name"]])["MetricAlarms"] == []


def test_a_template_without_transforms_is_its_own_processed_template(cf, unique_name):
    body = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"
    name = unique_name("yaml")
    cf.create_stack(StackName=name, TemplateBody=body)
    cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=FAST)
    assert cf.get_template(StackName=name, TemplateStage="Processed")["TemplateBody"] == body


def test_a_review_stack_gets_the_change_set_tags_when_it_is_executed(cf, unique_name):
    name = unique_name("tags")
    cf.create_change_set(StackName=name, ChangeSetName="cs", ChangeSetType="CREATE", TemplateBody=CHAIN,
                         Tags=[{"Key": "foo", "Value": "bar"}])
    cf.get_waiter("change_set_create_complete").wait(StackName=name, ChangeSetName="cs", WaiterConfig=FAST)
    assert cf.describe_stacks(StackName=name)["Stacks"][0]["Tags"] == []
    cf.execute_change_set(StackName=name, ChangeSetName="cs")
    cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=FAST)
    assert cf.describe_stacks(StackName=name)["Stacks"][0]["Tags"] == [{"Key": "foo", "Value": "bar"}]


def test_an_ssm_parameter_type_naming_a_missing_parameter(cf, unique_name):
    body = json.dumps({"Parameters": {"InputValue": {"Type": "AWS::SSM::Parameter::Value<String>"}},
                       "Resources": {"P": {"Type": "AWS::SSM::Parameter",
                                           "Properties": {"Type": "String", "Value": {"Ref": "InputValue"}}}}})
    with pytest.raises(ClientError) as info:
        cf.create_stack(StackName=unique_name("ssm"), TemplateBody=body,
                        Parameters=[{"ParameterKey": "InputValue", "ParameterValue": "parameter-does-not-exist"}])
    assert info.value.response["Error"]["Code"] == "ValidationError"
    assert info.value.response["Error"]["Message"] == \
        "Parameter InputValue should either have input value or default value"


def error_of(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def test_errors_for_missing_stacks_and_names_are_worded_as_aws_words_them(cf, unique_name):
    assert error_of(lambda: cf.describe_change_set(StackName="somestack", ChangeSetName="DoesNotExist")) == \
        ("ValidationError", "Stack [somestack] does not exist")
    assert error_of(lambda: cf.delete_change_set(StackName="nostack", ChangeSetName="x")) == \
        ("ValidationError", "Stack [nostack] does not exist")
    assert error_of(lambda: cf.get_template()) == \
        ("ValidationError", "StackName is required if ChangeSetName is not specified.")
    assert error_of(lambda: cf.get_template(ChangeSetName="does-not-exist")) == \
        ("ValidationError", "StackName is a required parameter.")


def test_get_template_summary_of_a_review_stack_is_refused(cf, unique_name):
    name = unique_name("review")
    cf.create_change_set(StackName=name, ChangeSetName="cs", ChangeSetType="CREATE", TemplateBody=CHAIN)
    cf.get_waiter("change_set_create_complete").wait(StackName=name, ChangeSetName="cs", WaiterConfig=FAST)
    assert error_of(lambda: cf.get_template_summary(StackName=name)) == \
        ("ValidationError", "GetTemplateSummary cannot be called on REVIEW_IN_PROGRESS stacks.")


def test_event_bus_policies_add_and_remove_their_statements(cf, client, unique_name):
    events = client("events")
    bus, name = unique_name("bus"), unique_name("bus-policy")
    template = {"Resources": {
        "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": bus}},
        "Account": {"Type": "AWS::Events::EventBusPolicy", "Properties": {
            "StatementId": "pol1", "Action": "events:PutEvents", "EventBusName": {"Ref": "Bus"},
            "Principal": "111122223333"}},
        "Whole": {"Type": "AWS::Events::EventBusPolicy", "Properties": {
            "StatementId": "pol2", "EventBusName": {"Ref": "Bus"}, "Statement": {
                "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
                "Action": "events:PutEvents", "Resource": {"Fn::GetAtt": ["Bus", "Arn"]}}}}}}
    cf.create_stack(StackName=name, TemplateBody=json.dumps(template))
    cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=FAST)
    policy = json.loads(events.describe_event_bus(Name=bus)["Policy"])
    assert sorted(s["Sid"] for s in policy["Statement"]) == ["pol1", "pol2"]
    whole = next(s for s in policy["Statement"] if s["Sid"] == "pol2")
    assert whole["Principal"] == {"AWS": "arn:aws:iam::444455556666:root"}
    del template["Resources"]["Account"]
    cf.update_stack(StackName=name, TemplateBody=json.dumps(template))
    cf.get_waiter("stack_update_complete").wait(StackName=name, WaiterConfig=FAST)
    policy = json.loads(events.describe_event_bus(Name=bus)["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["pol2"]
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)


def test_resource_and_parameter_names_must_be_alphanumeric(cf, unique_name):
    param = {"Parameters": {"AWS::NoValue": {"Type": "String", "Default": "foo"}},
             "Resources": {"P": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": "v"}}}}
    resource = {"Resources": {"AWS::NoValue": {"Type": "AWS::SSM::Parameter",
                                               "Properties": {"Type": "String", "Value": "v"}}}}
    condition = {"Conditions": {"AWS::NoValue": {"Fn::Equals": ["a", "a"]}},
                 "Resources": {"P": {"Type": "AWS::SSM::Parameter", "Condition": "AWS::NoValue",
                                     "Properties": {"Type": "String", "Value": "v"}}}}
    for template, message in ((param, "Template format error: Parameter name AWS::NoValue is non alphanumeric."),
                              (resource, "Template format error: Resource name AWS::NoValue is non alphanumeric.")):
        body = json.dumps(template)
        assert error_of(lambda body=body: cf.create_change_set(StackName=unique_name("names"), ChangeSetName="cs",
                                                               ChangeSetType="CREATE", TemplateBody=body)) \
            == ("ValidationError", message)
    name = unique_name("cond-name")  # a condition may be named so
    cf.create_change_set(StackName=name, ChangeSetName="cs", ChangeSetType="CREATE", TemplateBody=json.dumps(condition))
    cf.get_waiter("change_set_create_complete").wait(StackName=name, ChangeSetName="cs", WaiterConfig=FAST)


def test_a_subscription_reaches_a_topic_in_the_region_it_names(cf, client, unique_name):
    west = client("sns", region="eu-west-1")
    topic = west.create_topic(Name=unique_name("west-topic"))["TopicArn"]
    queue = client("sqs").create_queue(QueueName=unique_name("east-queue"))["QueueUrl"]
    queue_arn = client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    name = unique_name("sub-region")
    cf.create_stack(StackName=name, TemplateBody=json.dumps({"Resources": {"Sub": {
        "Type": "AWS::SNS::Subscription", "Properties": {"TopicArn": topic, "Protocol": "sqs",
                                                         "Endpoint": queue_arn, "Region": "eu-west-1"}}}}))
    cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=FAST)
    subs = west.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [s["Endpoint"] for s in subs] == [queue_arn]
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)
    assert west.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []


def test_executing_a_change_set_retires_the_stacks_change_sets(cf, unique_name):
    # AWS removes them from the stack (not listed, names free), yet each ARN still describes one:
    # the executed EXECUTE_COMPLETE, the others OBSOLETE
    name = unique_name("cs-life")
    created = cf.create_change_set(StackName=name, ChangeSetName="first", ChangeSetType="CREATE", TemplateBody=CHAIN)
    cf.get_waiter("change_set_create_complete").wait(ChangeSetName=created["Id"], WaiterConfig=FAST)
    cf.execute_change_set(ChangeSetName=created["Id"])
    cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=FAST)
    assert cf.describe_change_set(ChangeSetName=created["Id"])["ExecutionStatus"] == "EXECUTE_COMPLETE"
    updated = CHAIN.replace('"root"', '"root2"')
    ids = {}
    for cs_name in ("first", "third"):  # "first" is free again
        ids[cs_name] = cf.create_change_set(StackName=name, ChangeSetName=cs_name, TemplateBody=updated)["Id"]
        cf.get_waiter("change_set_create_complete").wait(StackName=name, ChangeSetName=cs_name, WaiterConfig=FAST)
    assert ids["first"] != created["Id"]
    cf.execute_change_set(StackName=name, ChangeSetName="first")
    cf.get_waiter("stack_update_complete").wait(StackName=name, WaiterConfig=FAST)
    assert cf.list_change_sets(StackName=name)["Summaries"] == []
    statuses = [cf.describe_change_set(ChangeSetName=i)["ExecutionStatus"] for i in (ids["first"], ids["third"])]
    assert statuses == ["EXECUTE_COMPLETE", "OBSOLETE"]
    with pytest.raises(ClientError) as e:
        cf.execute_change_set(ChangeSetName=ids["third"])
    assert e.value.response["Error"]["Code"] == "InvalidChangeSetStatus"
    # a CREATE change set for a stack that exists is a ValidationError naming the stack as given
    stack_id = created["StackId"]
    with pytest.raises(ClientError) as e:
        cf.create_change_set(StackName=stack_id, ChangeSetName="again", ChangeSetType="CREATE", TemplateBody=CHAIN)
    assert e.value.response["Error"]["Code"] == "ValidationError"
    assert e.value.response["Error"]["Message"] == (f"Stack [{stack_id}] already exists and cannot be created again "
                                                    "with the changeSet [again].")
    # after the stack is deleted its executed change sets can still be described by id
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)
    assert cf.describe_change_set(ChangeSetName=created["Id"])["ExecutionStatus"] == "EXECUTE_COMPLETE"


def test_describe_change_set_shows_property_values_only_when_asked(cf, unique_name):
    name = unique_name("cs-values")
    cf.create_change_set(StackName=name, ChangeSetName="first", ChangeSetType="CREATE", TemplateBody=CHAIN)
    cf.get_waiter("change_set_create_complete").wait(StackName=name, ChangeSetName="first", WaiterConfig=FAST)
    plain = cf.describe_change_set(StackName=name, ChangeSetName="first")["Changes"]
    assert all("AfterContext" not in c["ResourceChange"] for c in plain)
    changes = {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"] for c in cf.describe_change_set(
        StackName=name, ChangeSetName="first", IncludePropertyValues=True)["Changes"]}
    assert json.loads(changes["A"]["AfterContext"]) == {"Properties": {"Type": "String", "Value": "root"}}
    # B's value is A's name, which only the deployment knows
    assert json.loads(changes["B"]["AfterContext"]) == {
        "Properties": {"Type": "String", "Value": "{{changeSet:KNOWN_AFTER_APPLY}}"}}
    assert "BeforeContext" not in changes["A"]
    cf.execute_change_set(StackName=name, ChangeSetName="first")
    cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=FAST)
    smaller = json.loads(CHAIN)
    del smaller["Resources"]["C"]
    cf.create_change_set(StackName=name, ChangeSetName="second", TemplateBody=json.dumps(smaller))
    cf.get_waiter("change_set_create_complete").wait(StackName=name, ChangeSetName="second", WaiterConfig=FAST)
    removed = cf.describe_change_set(StackName=name, ChangeSetName="second",
                                     IncludePropertyValues=True)["Changes"][0]["ResourceChange"]
    assert removed["Action"] == "Remove" and "AfterContext" not in removed
    before = json.loads(removed["BeforeContext"])["Properties"]
    assert before["Type"] == "String" and before["Value"].startswith(name)  # B's deployed name


def test_template_metadata_alone_is_no_change(cf, unique_name):
    # AWS: "you can't update the Metadata section by itself"
    name = unique_name("meta")
    template = json.loads(CHAIN)
    template["Metadata"] = {"Note": "one"}
    cf.create_stack(StackName=name, TemplateBody=json.dumps(template))
    cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=FAST)
    template["Metadata"] = {"Note": "two"}
    cf.create_change_set(StackName=name, ChangeSetName="meta", TemplateBody=json.dumps(template))
    with pytest.raises(WaiterError):
        cf.get_waiter("change_set_create_complete").wait(StackName=name, ChangeSetName="meta", WaiterConfig=FAST)
    described = cf.describe_change_set(StackName=name, ChangeSetName="meta")
    assert described["Status"] == "FAILED" and "didn't contain changes" in described["StatusReason"]
    with pytest.raises(ClientError) as e:
        cf.update_stack(StackName=name, TemplateBody=json.dumps(template))
    assert e.value.response["Error"]["Message"] == "No updates are to be performed."


def test_get_template_summary_lists_resource_identifiers_and_needs_resources(cf):
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"},
                              "P1": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": "a"}},
                              "P2": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": "b"}}}}
    summary = cf.get_template_summary(TemplateBody=json.dumps(template))
    # a topic is identified by its ARN, which the template cannot set: no identifiers to give
    assert summary["ResourceIdentifierSummaries"] == [
        {"ResourceType": "AWS::SNS::Topic", "LogicalResourceIds": ["Topic"]},
        {"ResourceType": "AWS::SSM::Parameter", "LogicalResourceIds": ["P1", "P2"], "ResourceIdentifiers": ["Name"]}]
    with pytest.raises(ClientError) as e:
        cf.get_template_summary(TemplateBody="{}")
    assert e.value.response["Error"]["Code"] == "ValidationError"
    assert e.value.response["Error"]["Message"] == "Template format error: At least one Resources member must be defined."
    # the template's Metadata as AWS's recorded answer prints it (not as JSON)
    template["Metadata"] = {"TopicName": "sns-topic-simple"}
    assert cf.get_template_summary(TemplateBody=json.dumps(template))["Metadata"] == \
        "{'TopicName': 'sns-topic-simple'}"


def test_describe_stack_resource_errors_name_the_stack_as_given(cf, unique_name):
    with pytest.raises(ClientError) as e:
        cf.describe_stack_resource(StackName="not-a-valid-stack", LogicalResourceId="A")
    assert e.value.response["Error"]["Message"] == "Stack 'not-a-valid-stack' does not exist"
    name = unique_name("dsr")
    cf.create_stack(StackName=name, TemplateBody=CHAIN)
    cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=FAST)
    stack_id = cf.describe_stacks(StackName=name)["Stacks"][0]["StackId"]
    with pytest.raises(ClientError) as e:
        cf.describe_stack_resource(StackName=stack_id, LogicalResourceId="not-a-valid-resource")
    assert e.value.response["Error"]["Message"] == f"Resource not-a-valid-resource does not exist for stack {stack_id}"


def test_list_stacks_summaries_show_drift_not_checked(cf, unique_name):
    name = unique_name("listed")
    cf.create_stack(StackName=name, TemplateBody=CHAIN)
    cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=FAST)
    summary = next(s for s in cf.list_stacks()["StackSummaries"] if s["StackName"] == name)
    assert summary["DriftInformation"] == {"StackDriftStatus": "NOT_CHECKED"}


@pytest.mark.parametrize("url, message", [
    ("s3://my-bucket/t.yml", "S3 error: Domain name specified in my-bucket is not a valid S3 domain"),
    ("https://example.com/dummy.yml", "TemplateURL must be a supported URL.")])
def test_template_urls_that_are_not_s3_https_urls(cf, unique_name, url, message):
    with pytest.raises(ClientError) as e:
        cf.create_stack(StackName=unique_name("badurl"), TemplateURL=url)
    assert e.value.response["Error"]["Message"] == message


def test_a_resource_without_a_required_property_fails_with_the_schema_violation(cf, unique_name):
    name = unique_name("required")
    cf.create_stack(StackName=name, TemplateBody=json.dumps({"Resources": {
        "MyParameter": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String"}}}}))
    with pytest.raises(WaiterError):
        cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=FAST)
    failed = [e for e in cf.describe_stack_events(StackName=name)["StackEvents"]
              if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed[0]["ResourceStatusReason"] == (
        "Properties validation failed for resource MyParameter with message: #: required key [Value] not found")


def test_stack_sets_are_not_made_so_none_is_found(cf):
    """overcast makes no stack sets (CreateStackSet answers NotImplemented): every other operation
    finds none, with AWS's answers for a stack set that does not exist (LocalStack's AWS-recorded
    resources/test_stack_sets.py)."""
    with pytest.raises(ClientError) as e:
        cf.create_stack_set(StackSetName="mine", TemplateBody='{"Resources": {}}')
    assert e.value.response["Error"]["Code"] == "NotImplemented"
    for call in (lambda: cf.create_stack_instances(StackSetName="nope", Accounts=["000000000000"],
                                                   Regions=["us-east-1"]),
                 lambda: cf.describe_stack_set(StackSetName="nope"),
                 lambda: cf.list_stack_instances(StackSetName="nope")):
        with pytest.raises(ClientError) as e:
            call()
        assert e.value.response["Error"] == {"Type": "Sender", "Code": "StackSetNotFoundException",
                                             "Message": "StackSet nope not found"}
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    cf.delete_stack_set(StackSetName="nope")  # (idempotent, as on AWS)
    assert cf.list_stack_sets()["Summaries"] == []
