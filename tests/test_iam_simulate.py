"""The IAM policy simulator: SimulatePrincipalPolicy and SimulateCustomPolicy, decided by
overcast's policy evaluator, in AWS's answer shape."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from error_support import client_error as _error

PUT_OBJECT = {
    "Version": "2012-10-17",
    "Statement": {"Sid": "", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"},
}
BUCKET = "arn:aws:s3:::bucket"


@pytest.fixture
def policy_arn(iam, unique_name):
    return iam.create_policy(PolicyName=unique_name("policy"), PolicyDocument=json.dumps(PUT_OBJECT))["Policy"]["Arn"]


def _principal(iam, unique_name, kind: str, policy_arn: str) -> str:
    name = unique_name(kind)
    if kind == "role":
        trust = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"},
                                                        "Action": "sts:AssumeRole"}}
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    elif kind == "group":
        arn = iam.create_group(GroupName=name)["Group"]["Arn"]
        iam.attach_group_policy(GroupName=name, PolicyArn=policy_arn)
    else:
        arn = iam.create_user(UserName=name)["User"]["Arn"]
        iam.attach_user_policy(UserName=name, PolicyArn=policy_arn)
    return arn


@pytest.mark.parametrize("kind", ["role", "group", "user"])
def test_simulate_principal_policy_allows_what_its_policy_allows(iam, unique_name, policy_arn, kind):
    arn = _principal(iam, unique_name, kind, policy_arn)
    answer = iam.simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=["s3:PutObject", "s3:GetObjectVersion"], ResourceArns=[BUCKET]
    )
    assert answer["IsTruncated"] is False
    put, get = answer["EvaluationResults"]
    statement = {
        "SourcePolicyId": policy_arn.rsplit("/", 1)[1], "SourcePolicyType": "IAM Policy",
        "StartPosition": {"Line": 1, "Column": 41}, "EndPosition": {"Line": 1, "Column": 113},
    }
    assert put == {
        "EvalActionName": "s3:PutObject", "EvalResourceName": BUCKET, "EvalDecision": "allowed",
        "EvalDecisionDetails": {}, "MatchedStatements": [statement], "MissingContextValues": [],
        "OrganizationsDecisionDetail": {"AllowedByOrganizations": True},
        "ResourceSpecificResults": [{"EvalResourceName": BUCKET, "EvalResourceDecision": "allowed",
                                     "MatchedStatements": [statement], "MissingContextValues": []}],
    }
    assert (get["EvalDecision"], get["MatchedStatements"]) == ("implicitDeny", [])


def test_user_is_granted_its_groups_policies(iam, unique_name, policy_arn):
    group_arn = _principal(iam, unique_name, "group", policy_arn)
    user = iam.create_user(UserName=unique_name("member"))["User"]
    iam.add_user_to_group(GroupName=group_arn.rsplit("/", 1)[1], UserName=user["UserName"])
    [result] = iam.simulate_principal_policy(PolicySourceArn=user["Arn"], ActionNames=["s3:PutObject"])["EvaluationResults"]
    assert (result["EvalResourceName"], result["EvalDecision"]) == ("*", "allowed")
    assert "EvalDecisionDetails" not in result


def test_explicit_deny_wins(iam, unique_name, policy_arn):
    arn = _principal(iam, unique_name, "user", policy_arn)
    deny = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": BUCKET}]}
    iam.put_user_policy(UserName=arn.rsplit("/", 1)[1], PolicyName="no-s3", PolicyDocument=json.dumps(deny))
    [result] = iam.simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=["s3:PutObject"], ResourceArns=[BUCKET]
    )["EvaluationResults"]
    assert result["EvalDecision"] == "explicitDeny"
    assert {s["SourcePolicyId"] for s in result["MatchedStatements"]} == {"no-s3", policy_arn.rsplit("/", 1)[1]}


def test_permissions_boundary_limits_the_grant(iam, unique_name, policy_arn):
    arn = _principal(iam, unique_name, "user", policy_arn)
    iam.put_user_permissions_boundary(UserName=arn.rsplit("/", 1)[1],
                                      PermissionsBoundary="arn:aws:iam::aws:policy/AmazonSQSFullAccess")
    [result] = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["s3:PutObject"])["EvaluationResults"]
    assert result["EvalDecision"] == "implicitDeny"
    assert result["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}


def test_simulate_custom_policy_with_conditions(iam):
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
        "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}},
    }]}
    kwargs = {"PolicyInputList": [json.dumps(policy, indent=2)], "ActionNames": ["s3:GetObject"]}
    [missing] = iam.simulate_custom_policy(**kwargs)["EvaluationResults"]
    assert (missing["EvalDecision"], missing["MissingContextValues"]) == ("implicitDeny", ["aws:RequestedRegion"])
    context = [{"ContextKeyName": "aws:RequestedRegion", "ContextKeyValues": ["eu-west-1"], "ContextKeyType": "string"}]
    [allowed] = iam.simulate_custom_policy(**kwargs, ContextEntries=context)["EvaluationResults"]
    assert allowed["EvalDecision"] == "allowed"
    [statement] = allowed["MatchedStatements"]
    assert statement["SourcePolicyId"] == "PolicyInputList.1"
    assert (statement["StartPosition"], statement["EndPosition"]) == ({"Line": 4, "Column": 6}, {"Line": 13, "Column": 6})


def test_simulate_custom_policy_pages_results(iam):
    kwargs = {"PolicyInputList": [json.dumps(PUT_OBJECT)], "ActionNames": ["s3:PutObject", "s3:GetObject", "s3:ListBucket"]}
    first = iam.simulate_custom_policy(**kwargs, MaxItems=2)
    assert [r["EvalActionName"] for r in first["EvaluationResults"]] == ["s3:PutObject", "s3:GetObject"]
    assert first["IsTruncated"] is True
    rest = iam.simulate_custom_policy(**kwargs, Marker=first["Marker"])
    assert [r["EvalActionName"] for r in rest["EvaluationResults"]] == ["s3:ListBucket"]


def test_missing_or_malformed_source_arn(iam):
    with pytest.raises(ClientError) as excinfo:
        iam.simulate_principal_policy(PolicySourceArn="arn:aws:iam::000000000000:user/nobody-here", ActionNames=["s3:*"])
    assert _error(excinfo) == (404, "NoSuchEntity", "The user with name nobody-here cannot be found.")
    with pytest.raises(ClientError) as excinfo:
        iam.simulate_principal_policy(PolicySourceArn="arn:aws:s3:::not-a-principal", ActionNames=["s3:*"])
    assert _error(excinfo)[:2] == (400, "InvalidInput")
