"""AWS::KMS::Key, AWS::KMS::Alias, AWS::SecretsManager::ResourcePolicy and AWS::Logs::LogStream:
stacks create, update and delete them through the services' own providers (LocalStack's
resources/test_kms.py, test_secretsmanager.py and test_logs.py deploy these templates against AWS)."""

from __future__ import annotations

import json

import pytest
from cfn_support import own_tags, wait


@pytest.fixture
def cf(client):
    return client("cloudformation")


POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*",
                                                   "Principal": {"AWS": {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:root"}}}]}


def _key_template(alias: str, **props) -> str:
    return json.dumps({
        "Resources": {
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"Description": "a key", "KeyPolicy": POLICY, **props}},
            "KeyAlias": {"Type": "AWS::KMS::Alias", "Properties": {"AliasName": alias, "TargetKeyId": {"Ref": "Key"}}}},
        "Outputs": {"KeyId": {"Value": {"Ref": "Key"}}, "KeyArn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}},
                    "Alias": {"Value": {"Ref": "KeyAlias"}}}})


def _outputs(stack: dict) -> dict:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def test_a_key_and_its_alias_are_made_updated_and_deleted(cf, client, unique_name):
    kms, name, alias = client("kms"), unique_name("kms"), f"alias/{unique_name('cfn')}"
    cf.create_stack(StackName=name, TemplateBody=_key_template(alias, Tags=[{"Key": "team", "Value": "a"}]))
    out = _outputs(wait(cf, "stack_create_complete", name))
    metadata = kms.describe_key(KeyId=out["KeyId"])["KeyMetadata"]
    assert metadata["Arn"] == out["KeyArn"] and metadata["Enabled"] and metadata["Description"] == "a key"
    assert out["Alias"] == alias
    assert [a["TargetKeyId"] for a in kms.list_aliases()["Aliases"] if a["AliasName"] == alias] == [out["KeyId"]]
    assert json.loads(kms.get_key_policy(KeyId=out["KeyId"], PolicyName="default")["Policy"])["Statement"][0][
        "Action"] == "kms:*"
    tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=out["KeyId"])["Tags"]}
    assert own_tags(tags) == {"team": "a"} and tags["aws:cloudformation:logical-id"] == "Key"

    cf.update_stack(StackName=name, TemplateBody=_key_template(alias, Enabled=False, EnableKeyRotation=True,
                                                               Description="changed"))
    wait(cf, "stack_update_complete", name)
    metadata = kms.describe_key(KeyId=out["KeyId"])["KeyMetadata"]
    assert (metadata["Enabled"], metadata["Description"]) == (False, "changed")
    assert kms.get_key_rotation_status(KeyId=out["KeyId"])["KeyRotationEnabled"]

    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
    assert kms.describe_key(KeyId=out["KeyId"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert not [a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == alias]


def test_a_key_made_disabled(cf, client, unique_name):
    name = unique_name("kmsoff")
    cf.create_stack(StackName=name, TemplateBody=json.dumps({
        "Resources": {"Key": {"Type": "AWS::KMS::Key", "Properties": {"Enabled": False, "PendingWindowInDays": 7}}},
        "Outputs": {"KeyId": {"Value": {"Ref": "Key"}}}}))
    key_id = _outputs(wait(cf, "stack_create_complete", name))["KeyId"]
    assert client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
    assert client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["PendingDeletionWindowInDays"] == 7


def test_a_secrets_resource_policy(cf, client, unique_name):
    name = unique_name("secpol")
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
        "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}}]}
    cf.create_stack(StackName=name, TemplateBody=json.dumps({
        "Resources": {
            "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {"SecretString": "s"}},
            "Policy": {"Type": "AWS::SecretsManager::ResourcePolicy", "Properties": {
                "SecretId": {"Ref": "Secret"}, "ResourcePolicy": policy, "BlockPublicPolicy": True}}},
        "Outputs": {"Secret": {"Value": {"Ref": "Secret"}}, "PolicyRef": {"Value": {"Ref": "Policy"}}}}))
    out = _outputs(wait(cf, "stack_create_complete", name))
    assert out["PolicyRef"] == out["Secret"]  # Ref of the policy is the secret's ARN
    secrets = client("secretsmanager")
    got = json.loads(secrets.get_resource_policy(SecretId=out["Secret"])["ResourcePolicy"])
    assert got["Statement"][0]["Action"] == "secretsmanager:GetSecretValue"
    cf.update_stack(StackName=name, TemplateBody=json.dumps({
        "Resources": {"Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {"SecretString": "s"}}},
        "Outputs": {"Secret": {"Value": {"Ref": "Secret"}}}}))
    wait(cf, "stack_update_complete", name)
    assert "ResourcePolicy" not in secrets.get_resource_policy(SecretId=out["Secret"])


def test_a_log_stream_in_a_group_of_the_stack(cf, client, unique_name):
    name = unique_name("stream")
    cf.create_stack(StackName=name, TemplateBody=json.dumps({
        "Resources": {
            "Group": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 731}},
            "Stream": {"Type": "AWS::Logs::LogStream", "Properties": {"LogGroupName": {"Ref": "Group"}}}},
        "Outputs": {"Group": {"Value": {"Ref": "Group"}}, "Stream": {"Value": {"Ref": "Stream"}}}}))
    out = _outputs(wait(cf, "stack_create_complete", name))
    logs = client("logs")
    streams = logs.describe_log_streams(logGroupName=out["Group"], logStreamNamePrefix=out["Stream"])["logStreams"]
    assert [s["logStreamName"] for s in streams] == [out["Stream"]]
    assert out["Stream"].startswith(f"{name}-Stream-")
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
    assert not logs.describe_log_groups(logGroupNamePrefix=out["Group"])["logGroups"]


def test_a_composite_alarm_over_the_stacks_metric_alarms(cf, client, unique_name):
    name = unique_name("composite")

    def alarm(metric):
        return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "AlarmName": f"{name}-{metric}", "ComparisonOperator": "GreaterThanThreshold", "EvaluationPeriods": 1,
            "MetricName": metric, "Namespace": "Custom", "Period": 60, "Statistic": "Average", "Threshold": 70}}

    cf.create_stack(StackName=name, TemplateBody=json.dumps({
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic"}, "Cpu": alarm("CPU"), "Memory": alarm("Memory"),
            "High": {"Type": "AWS::CloudWatch::CompositeAlarm", "DependsOn": ["Cpu", "Memory"], "Properties": {
                "AlarmRule": f"(ALARM({name}-CPU) OR ALARM({name}-Memory))", "AlarmActions": [{"Ref": "Topic"}],
                "AlarmDescription": "high"}}},
        "Outputs": {"Composite": {"Value": {"Ref": "High"}}, "Arn": {"Value": {"Fn::GetAtt": ["High", "Arn"]}}}}))
    out = _outputs(wait(cf, "stack_create_complete", name))
    cloudwatch = client("cloudwatch")
    found = cloudwatch.describe_alarms(AlarmNames=[out["Composite"]], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
    assert [(a["AlarmArn"], a["AlarmRule"], a["AlarmDescription"]) for a in found] == [
        (out["Arn"], f"(ALARM({name}-CPU) OR ALARM({name}-Memory))", "high")]
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
    assert not cloudwatch.describe_alarms(AlarmNames=[out["Composite"]], AlarmTypes=["CompositeAlarm"])[
        "CompositeAlarms"]
