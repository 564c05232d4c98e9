"""IAM managed policies: customer policies, versions, tags, attachments and AWS managed policies."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from error_support import client_error as _error

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)


def _doc(action: str = "s3:GetObject") -> dict:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}


@pytest.fixture
def policy(iam, unique_name):
    return iam.create_policy(PolicyName=unique_name("pol"), PolicyDocument=json.dumps(_doc()))["Policy"]


def test_create_policy_returns_policy(iam, unique_name):
    name = unique_name("pol")
    policy = iam.create_policy(
        PolicyName=name, Path="/team/", PolicyDocument=json.dumps(_doc()), Description="reads",
        Tags=[{"Key": "k", "Value": "v"}],
    )["Policy"]
    assert policy["Arn"] == f"arn:aws:iam::000000000000:policy/team/{name}"
    assert policy["PolicyId"].startswith("ANPA") and len(policy["PolicyId"]) == 21
    assert policy["DefaultVersionId"] == "v1"
    assert policy["AttachmentCount"] == 0
    assert policy["IsAttachable"] is True
    assert policy["Tags"] == [{"Key": "k", "Value": "v"}]


def test_create_policy_with_duplicate_name_is_entity_already_exists(iam, policy):
    with pytest.raises(ClientError) as excinfo:
        iam.create_policy(PolicyName=policy["PolicyName"], PolicyDocument=json.dumps(_doc()))
    assert _error(excinfo) == (
        409, "EntityAlreadyExists",
        f"A policy called {policy['PolicyName']} already exists. Duplicate names are not allowed.",
    )


def test_create_policy_with_malformed_json_is_malformed_policy_document(iam, unique_name):
    with pytest.raises(ClientError) as excinfo:
        iam.create_policy(PolicyName=unique_name("pol"), PolicyDocument='{"Version": "2012-10-17", ')
    assert _error(excinfo) == (400, "MalformedPolicyDocument", "This policy contains invalid Json")


def test_create_policy_with_principal_is_malformed_policy_document(iam, unique_name):
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}
    with pytest.raises(ClientError) as excinfo:
        iam.create_policy(PolicyName=unique_name("pol"), PolicyDocument=json.dumps(document))
    assert _error(excinfo) == (400, "MalformedPolicyDocument", "Policy document should not specify a principal.")


def test_get_policy_returns_description(iam, unique_name):
    name = unique_name("pol")
    arn = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(_doc()), Description="d")["Policy"]["Arn"]
    got = iam.get_policy(PolicyArn=arn)["Policy"]
    assert (got["PolicyName"], got["Description"]) == (name, "d")


def test_get_missing_policy_is_no_such_entity(iam):
    arn = "arn:aws:iam::000000000000:policy/never-made"
    with pytest.raises(ClientError) as excinfo:
        iam.get_policy(PolicyArn=arn)
    assert _error(excinfo) == (404, "NoSuchEntity", f"Policy {arn} was not found.")


def test_get_aws_managed_policy(iam):
    policy = iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")["Policy"]
    assert policy["PolicyName"] == "AWSLambdaBasicExecutionRole"
    assert policy["Path"] == "/service-role/"
    assert policy["DefaultVersionId"] == "v1"
    version = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId="v1")["PolicyVersion"]
    actions = version["Document"]["Statement"][0]["Action"]
    assert "logs:PutLogEvents" in actions


def test_get_policy_version_returns_decoded_document(iam, policy):
    version = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId="v1")["PolicyVersion"]
    assert version["Document"] == _doc()
    assert version["IsDefaultVersion"] is True


def test_create_policy_version_set_as_default(iam, policy):
    arn = policy["Arn"]
    created = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(_doc("s3:*")), SetAsDefault=True)
    assert created["PolicyVersion"]["VersionId"] == "v2"
    assert created["PolicyVersion"]["IsDefaultVersion"] is True
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in versions] == [("v2", True), ("v1", False)]


def test_create_sixth_policy_version_is_limit_exceeded(iam, policy):
    for _ in range(4):
        iam.create_policy_version(PolicyArn=policy["Arn"], PolicyDocument=json.dumps(_doc()))
    with pytest.raises(ClientError) as excinfo:
        iam.create_policy_version(PolicyArn=policy["Arn"], PolicyDocument=json.dumps(_doc()))
    status, code, message = _error(excinfo)
    assert (status, code) == (409, "LimitExceeded")
    assert message.startswith("A managed policy can have up to 5 versions.")


def test_set_default_policy_version_and_delete_old_version(iam, policy):
    arn = policy["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(_doc("s3:*")))
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v2")
    iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]] == ["v2"]
    created = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(_doc()))
    assert created["PolicyVersion"]["VersionId"] == "v3"


def test_delete_default_policy_version_is_delete_conflict(iam, policy):
    with pytest.raises(ClientError) as excinfo:
        iam.delete_policy_version(PolicyArn=policy["Arn"], VersionId="v1")
    assert _error(excinfo) == (409, "DeleteConflict", "Cannot delete the default version of a policy.")


def test_get_missing_policy_version_is_no_such_entity(iam, policy):
    with pytest.raises(ClientError) as excinfo:
        iam.get_policy_version(PolicyArn=policy["Arn"], VersionId="v9")
    assert _error(excinfo)[:2] == (404, "NoSuchEntity")


def test_attachment_count_and_list_entities_for_policy(iam, policy, unique_name):
    role = unique_name("role")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)
    user = unique_name("user")
    iam.create_user(UserName=user)
    group = unique_name("group")
    iam.create_group(GroupName=group)
    iam.attach_role_policy(RoleName=role, PolicyArn=policy["Arn"])
    iam.attach_user_policy(UserName=user, PolicyArn=policy["Arn"])
    iam.attach_group_policy(GroupName=group, PolicyArn=policy["Arn"])
    assert iam.get_policy(PolicyArn=policy["Arn"])["Policy"]["AttachmentCount"] == 3
    entities = iam.list_entities_for_policy(PolicyArn=policy["Arn"])
    assert [r["RoleName"] for r in entities["PolicyRoles"]] == [role]
    assert [u["UserName"] for u in entities["PolicyUsers"]] == [user]
    assert [g["GroupName"] for g in entities["PolicyGroups"]] == [group]
    only_roles = iam.list_entities_for_policy(PolicyArn=policy["Arn"], EntityFilter="Role")
    assert only_roles["PolicyUsers"] == [] and len(only_roles["PolicyRoles"]) == 1


def test_delete_attached_policy_is_delete_conflict(iam, policy, unique_name):
    role = unique_name("role")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)
    iam.attach_role_policy(RoleName=role, PolicyArn=policy["Arn"])
    with pytest.raises(ClientError) as excinfo:
        iam.delete_policy(PolicyArn=policy["Arn"])
    assert _error(excinfo) == (409, "DeleteConflict", "Cannot delete a policy attached to entities.")


def test_delete_policy_with_extra_versions_is_delete_conflict(iam, policy):
    iam.create_policy_version(PolicyArn=policy["Arn"], PolicyDocument=json.dumps(_doc()))
    with pytest.raises(ClientError) as excinfo:
        iam.delete_policy(PolicyArn=policy["Arn"])
    assert _error(excinfo)[:2] == (409, "DeleteConflict")


def test_delete_policy_removes_it(iam, policy):
    iam.delete_policy(PolicyArn=policy["Arn"])
    with pytest.raises(ClientError) as excinfo:
        iam.get_policy(PolicyArn=policy["Arn"])
    assert _error(excinfo)[:2] == (404, "NoSuchEntity")


def test_list_policies_local_scope_with_path_prefix(iam, unique_name):
    path = f"/{unique_name('path')}/"
    names = sorted(unique_name("pol") for _ in range(3))
    for name in names:
        iam.create_policy(PolicyName=name, Path=path, PolicyDocument=json.dumps(_doc()))
    policies = iam.list_policies(Scope="Local", PathPrefix=path)["Policies"]
    assert [p["PolicyName"] for p in policies] == names


def test_list_policies_aws_scope_includes_common_managed_policies(iam):
    names = {p["PolicyName"] for page in iam.get_paginator("list_policies").paginate(Scope="AWS") for p in page["Policies"]}
    assert {"AdministratorAccess", "ReadOnlyAccess", "AWSLambdaBasicExecutionRole", "AWSLambdaVPCAccessExecutionRole",
            "AWSLambdaSQSQueueExecutionRole", "AmazonDynamoDBFullAccess", "AmazonS3FullAccess",
            "AmazonSQSFullAccess"} <= names


def test_list_policies_only_attached(client, unique_name):
    iam = client("iam", access_key="121212121212")
    role = unique_name("role")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)
    iam.create_policy(PolicyName=unique_name("unused"), PolicyDocument=json.dumps(_doc()))
    iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    attached = iam.list_policies(OnlyAttached=True)["Policies"]
    assert [(p["PolicyName"], p["AttachmentCount"]) for p in attached] == [("AmazonS3ReadOnlyAccess", 1)]


def test_list_policies_paginates(iam, unique_name):
    path = f"/{unique_name('pg')}/"
    for _ in range(3):
        iam.create_policy(PolicyName=unique_name("pol"), Path=path, PolicyDocument=json.dumps(_doc()))
    first = iam.list_policies(Scope="Local", PathPrefix=path, MaxItems=2)
    assert first["IsTruncated"] is True and len(first["Policies"]) == 2
    rest = iam.list_policies(Scope="Local", PathPrefix=path, MaxItems=2, Marker=first["Marker"])
    assert rest["IsTruncated"] is False and len(rest["Policies"]) == 1


def test_tag_untag_and_list_policy_tags(iam, policy):
    iam.tag_policy(PolicyArn=policy["Arn"], Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    iam.untag_policy(PolicyArn=policy["Arn"], TagKeys=["a"])
    assert iam.list_policy_tags(PolicyArn=policy["Arn"])["Tags"] == [{"Key": "b", "Value": "2"}]
