"""IAM users, access keys, groups and GetAccountAuthorizationDetails."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from error_support import client_error as _error

DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}
SQS_FULL = "arn:aws:iam::aws:policy/AmazonSQSFullAccess"


@pytest.fixture
def user(iam, unique_name):
    return iam.create_user(UserName=unique_name("user"))["User"]


@pytest.fixture
def group(iam, unique_name):
    return iam.create_group(GroupName=unique_name("group"))["Group"]


# -- users ------------------------------------------------------------------------------------


def test_create_user_returns_user(iam, unique_name):
    name = unique_name("user")
    user = iam.create_user(UserName=name, Path="/staff/", Tags=[{"Key": "dept", "Value": "eng"}])["User"]
    assert user["Arn"] == f"arn:aws:iam::000000000000:user/staff/{name}"
    assert user["UserId"].startswith("AIDA") and len(user["UserId"]) == 21
    assert user["Tags"] == [{"Key": "dept", "Value": "eng"}]


def test_create_duplicate_user_is_entity_already_exists(iam, user):
    with pytest.raises(ClientError) as excinfo:
        iam.create_user(UserName=user["UserName"])
    assert _error(excinfo) == (409, "EntityAlreadyExists", f"User with name {user['UserName']} already exists.")


def test_get_missing_user_is_no_such_entity(iam):
    with pytest.raises(ClientError) as excinfo:
        iam.get_user(UserName="nobody-here")
    assert _error(excinfo) == (404, "NoSuchEntity", "The user with name nobody-here cannot be found.")


def test_get_user_without_name_for_root_credentials(iam):
    user = iam.get_user()["User"]
    assert user["Arn"] == "arn:aws:iam::000000000000:root"
    assert user["UserId"] == "000000000000"


def test_list_users_filters_by_path_prefix(iam, unique_name):
    path = f"/{unique_name('p')}/"
    names = sorted(unique_name("u") for _ in range(2))
    for name in names:
        iam.create_user(UserName=name, Path=path)
    assert [u["UserName"] for u in iam.list_users(PathPrefix=path)["Users"]] == names


def test_update_user_renames_and_keeps_memberships(iam, user, group, unique_name):
    iam.add_user_to_group(GroupName=group["GroupName"], UserName=user["UserName"])
    new_name = unique_name("renamed")
    iam.update_user(UserName=user["UserName"], NewUserName=new_name)
    renamed = iam.get_user(UserName=new_name)["User"]
    assert renamed["UserId"] == user["UserId"]
    assert renamed["Arn"] == f"arn:aws:iam::000000000000:user/{new_name}"
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=new_name)["Groups"]] == [group["GroupName"]]


def test_delete_user_removes_it(iam, user):
    iam.delete_user(UserName=user["UserName"])
    with pytest.raises(ClientError) as excinfo:
        iam.get_user(UserName=user["UserName"])
    assert _error(excinfo)[:2] == (404, "NoSuchEntity")


def test_delete_user_with_access_key_is_delete_conflict(iam, user):
    iam.create_access_key(UserName=user["UserName"])
    with pytest.raises(ClientError) as excinfo:
        iam.delete_user(UserName=user["UserName"])
    assert _error(excinfo) == (409, "DeleteConflict", "Cannot delete entity, must delete access keys first.")


def test_delete_user_with_attached_policy_is_delete_conflict(iam, user):
    iam.attach_user_policy(UserName=user["UserName"], PolicyArn=SQS_FULL)
    with pytest.raises(ClientError) as excinfo:
        iam.delete_user(UserName=user["UserName"])
    assert _error(excinfo) == (409, "DeleteConflict", "Cannot delete entity, must detach all policies first.")


def test_user_policies_attached_and_inline(iam, user):
    name = user["UserName"]
    iam.attach_user_policy(UserName=name, PolicyArn=SQS_FULL)
    assert iam.list_attached_user_policies(UserName=name)["AttachedPolicies"] == [
        {"PolicyName": "AmazonSQSFullAccess", "PolicyArn": SQS_FULL}
    ]
    iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps(DOC))
    assert iam.get_user_policy(UserName=name, PolicyName="inline")["PolicyDocument"] == DOC
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == ["inline"]
    iam.delete_user_policy(UserName=name, PolicyName="inline")
    iam.detach_user_policy(UserName=name, PolicyArn=SQS_FULL)
    iam.delete_user(UserName=name)


# -- access keys ------------------------------------------------------------------------------


def test_create_access_key_returns_akia_key_and_secret(iam, user):
    key = iam.create_access_key(UserName=user["UserName"])["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA") and len(key["AccessKeyId"]) == 20
    assert len(key["SecretAccessKey"]) == 40
    assert key["Status"] == "Active"
    assert key["UserName"] == user["UserName"]


def test_list_update_and_delete_access_keys(iam, user):
    name = user["UserName"]
    key_id = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    iam.update_access_key(UserName=name, AccessKeyId=key_id, Status="Inactive")
    keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["Status"]) for k in keys] == [(key_id, "Inactive")]
    iam.delete_access_key(UserName=name, AccessKeyId=key_id)
    assert iam.list_access_keys(UserName=name)["AccessKeyMetadata"] == []


def test_third_access_key_is_limit_exceeded(iam, user):
    for _ in range(2):
        iam.create_access_key(UserName=user["UserName"])
    with pytest.raises(ClientError) as excinfo:
        iam.create_access_key(UserName=user["UserName"])
    assert _error(excinfo) == (409, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2")


def test_delete_missing_access_key_is_no_such_entity(iam, user):
    with pytest.raises(ClientError) as excinfo:
        iam.delete_access_key(UserName=user["UserName"], AccessKeyId="AKIAAAAAAAAAAAAAAAAA")
    assert _error(excinfo) == (404, "NoSuchEntity", "The Access Key with id AKIAAAAAAAAAAAAAAAAA cannot be found.")


# -- groups -----------------------------------------------------------------------------------


def test_create_group_returns_group(iam, unique_name):
    name = unique_name("group")
    group = iam.create_group(GroupName=name, Path="/g/")["Group"]
    assert group["GroupId"].startswith("AGPA")
    assert group["Arn"] == f"arn:aws:iam::000000000000:group/g/{name}"
    assert name in [g["GroupName"] for g in iam.list_groups(PathPrefix="/g/")["Groups"]]


def test_create_duplicate_group_is_entity_already_exists(iam, group):
    with pytest.raises(ClientError) as excinfo:
        iam.create_group(GroupName=group["GroupName"])
    assert _error(excinfo) == (409, "EntityAlreadyExists", f"Group with name {group['GroupName']} already exists.")


def test_add_and_remove_user_from_group(iam, user, group):
    iam.add_user_to_group(GroupName=group["GroupName"], UserName=user["UserName"])
    got = iam.get_group(GroupName=group["GroupName"])
    assert [u["UserName"] for u in got["Users"]] == [user["UserName"]]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=user["UserName"])["Groups"]] == [group["GroupName"]]
    iam.remove_user_from_group(GroupName=group["GroupName"], UserName=user["UserName"])
    assert iam.get_group(GroupName=group["GroupName"])["Users"] == []


def test_delete_group_with_members_is_delete_conflict(iam, user, group):
    iam.add_user_to_group(GroupName=group["GroupName"], UserName=user["UserName"])
    with pytest.raises(ClientError) as excinfo:
        iam.delete_group(GroupName=group["GroupName"])
    assert _error(excinfo) == (409, "DeleteConflict", "Cannot delete entity, must remove users from group first.")


def test_group_policies_attach_detach(iam, group):
    name = group["GroupName"]
    iam.attach_group_policy(GroupName=name, PolicyArn=SQS_FULL)
    assert [p["PolicyArn"] for p in iam.list_attached_group_policies(GroupName=name)["AttachedPolicies"]] == [SQS_FULL]
    iam.detach_group_policy(GroupName=name, PolicyArn=SQS_FULL)
    iam.delete_group(GroupName=name)
    with pytest.raises(ClientError) as excinfo:
        iam.get_group(GroupName=name)
    assert _error(excinfo) == (404, "NoSuchEntity", f"The group with name {name} cannot be found.")


def test_get_account_authorization_details(client, unique_name):
    iam = client("iam", access_key="343434343434")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                    "Action": "sts:AssumeRole"}]}
    role = unique_name("role")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName=role, PolicyName="inline", PolicyDocument=json.dumps(DOC))
    iam.attach_role_policy(RoleName=role, PolicyArn=SQS_FULL)
    details = iam.get_account_authorization_details(Filter=["Role", "AWSManagedPolicy"])
    [detail] = details["RoleDetailList"]
    assert detail["RoleName"] == role
    assert detail["AssumeRolePolicyDocument"] == trust
    assert detail["RolePolicyList"] == [{"PolicyName": "inline", "PolicyDocument": DOC}]
    assert detail["AttachedManagedPolicies"] == [{"PolicyName": "AmazonSQSFullAccess", "PolicyArn": SQS_FULL}]
    assert [p["PolicyName"] for p in details["Policies"]] == ["AmazonSQSFullAccess"]
    assert details["UserDetailList"] == []
