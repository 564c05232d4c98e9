"""IAM roles, their inline and attached policies, instance profiles and service-linked roles."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from error_support import client_error as _error

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
PERMISSIONS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::bucket/*"}],
}
BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


@pytest.fixture
def role(iam, unique_name):
    return iam.create_role(RoleName=unique_name("role"), AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]


# -- create, get, list ------------------------------------------------------------------------


@pytest.mark.postgres_e2e
def test_create_role_returns_role_with_aws_ids(iam, unique_name):
    name = unique_name("role")
    role = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(TRUST),
        Path="/service/",
        Description="does things",
        MaxSessionDuration=7200,
        Tags=[{"Key": "team", "Value": "core"}],
    )["Role"]
    assert role["RoleName"] == name
    assert role["Path"] == "/service/"
    assert role["Arn"] == f"arn:aws:iam::000000000000:role/service/{name}"
    assert role["RoleId"].startswith("AROA") and len(role["RoleId"]) == 21
    assert role["AssumeRolePolicyDocument"] == TRUST
    assert role["Description"] == "does things"
    assert role["MaxSessionDuration"] == 7200
    assert role["Tags"] == [{"Key": "team", "Value": "core"}]


def test_create_role_names_max_session_duration_only_when_it_was_set(iam, unique_name):
    # as AWS's recorded CreateRole answers show; GetRole always names it
    role = iam.create_role(RoleName=unique_name("role"), AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]
    assert "MaxSessionDuration" not in role
    assert iam.get_role(RoleName=role["RoleName"])["Role"]["MaxSessionDuration"] == 3600


def test_get_role_returns_the_created_role(iam, role):
    got = iam.get_role(RoleName=role["RoleName"])["Role"]
    assert got["RoleId"] == role["RoleId"]
    assert got["Arn"] == role["Arn"]
    assert got["AssumeRolePolicyDocument"] == TRUST
    assert got["MaxSessionDuration"] == 3600
    assert got["CreateDate"] == role["CreateDate"]


def test_get_role_returns_policy_document_url_encoded_on_the_wire(endpoint, iam, role):
    import httpx

    body = f"Action=GetRole&Version=2010-05-08&RoleName={role['RoleName']}"
    headers = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    text = httpx.post(endpoint, content=body, headers=headers).text
    assert "<AssumeRolePolicyDocument>%7B%22Version%22%3A" in text


def test_create_role_with_duplicate_name_is_entity_already_exists(iam, role):
    with pytest.raises(ClientError) as excinfo:
        iam.create_role(RoleName=role["RoleName"], AssumeRolePolicyDocument=json.dumps(TRUST))
    assert _error(excinfo) == (409, "EntityAlreadyExists", f"Role with name {role['RoleName']} already exists.")


def test_role_names_are_unique_regardless_of_case(iam, role):
    with pytest.raises(ClientError) as excinfo:
        iam.create_role(RoleName=role["RoleName"].upper(), AssumeRolePolicyDocument=json.dumps(TRUST))
    assert _error(excinfo)[:2] == (409, "EntityAlreadyExists")


def test_create_role_with_malformed_trust_policy_is_malformed_policy_document(iam, unique_name):
    with pytest.raises(ClientError) as excinfo:
        iam.create_role(RoleName=unique_name("role"), AssumeRolePolicyDocument="{not json")
    assert _error(excinfo) == (400, "MalformedPolicyDocument", "This policy contains invalid Json")


def test_create_role_with_trust_policy_without_statement_is_malformed(iam, unique_name):
    with pytest.raises(ClientError) as excinfo:
        iam.create_role(RoleName=unique_name("role"), AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"}))
    assert _error(excinfo)[:2] == (400, "MalformedPolicyDocument")


def test_create_role_with_too_long_name_is_validation_error(iam):
    with pytest.raises(ClientError) as excinfo:
        iam.create_role(RoleName="r" * 65, AssumeRolePolicyDocument=json.dumps(TRUST))
    status, code, message = _error(excinfo)
    assert (status, code) == (400, "ValidationError")
    assert "Member must have length less than or equal to 64" in message


def test_create_role_with_max_session_duration_out_of_range_is_validation_error(iam, unique_name):
    with pytest.raises(ClientError) as excinfo:
        iam.create_role(RoleName=unique_name("r"), AssumeRolePolicyDocument=json.dumps(TRUST), MaxSessionDuration=43201)
    status, code, message = _error(excinfo)
    assert (status, code) == (400, "ValidationError")
    assert "Member must have value less than or equal to 43200" in message


def test_create_role_with_permissions_boundary(iam, unique_name):
    role = iam.create_role(
        RoleName=unique_name("r"), AssumeRolePolicyDocument=json.dumps(TRUST),
        PermissionsBoundary="arn:aws:iam::aws:policy/PowerUserAccess",
    )["Role"]
    assert role["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "Policy",
        "PermissionsBoundaryArn": "arn:aws:iam::aws:policy/PowerUserAccess",
    }


def test_get_missing_role_is_no_such_entity(iam):
    with pytest.raises(ClientError) as excinfo:
        iam.get_role(RoleName="no-such-role-here")
    assert _error(excinfo) == (404, "NoSuchEntity", "The role with name no-such-role-here cannot be found.")


def test_list_roles_filters_by_path_prefix(iam, unique_name):
    prefix = f"/{unique_name('p')}/"
    names = sorted(unique_name("r") for _ in range(3))
    for name in names:
        iam.create_role(RoleName=name, Path=prefix, AssumeRolePolicyDocument=json.dumps(TRUST))
    roles = iam.list_roles(PathPrefix=prefix)["Roles"]
    assert [r["RoleName"] for r in roles] == names


@pytest.mark.postgres_e2e
def test_list_roles_paginates_with_marker_and_max_items(iam, unique_name):
    prefix = f"/{unique_name('page')}/"
    names = sorted(unique_name("r") for _ in range(5))
    for name in names:
        iam.create_role(RoleName=name, Path=prefix, AssumeRolePolicyDocument=json.dumps(TRUST))
    first = iam.list_roles(PathPrefix=prefix, MaxItems=2)
    assert first["IsTruncated"] is True
    second = iam.list_roles(PathPrefix=prefix, MaxItems=2, Marker=first["Marker"])
    third = iam.list_roles(PathPrefix=prefix, MaxItems=2, Marker=second["Marker"])
    assert third["IsTruncated"] is False
    seen = [r["RoleName"] for page in (first, second, third) for r in page["Roles"]]
    assert seen == names


def test_list_roles_paginator_returns_every_role(iam, unique_name):
    prefix = f"/{unique_name('pg')}/"
    for _ in range(3):
        iam.create_role(RoleName=unique_name("r"), Path=prefix, AssumeRolePolicyDocument=json.dumps(TRUST))
    pages = iam.get_paginator("list_roles").paginate(PathPrefix=prefix, PaginationConfig={"PageSize": 1})
    assert sum(len(page["Roles"]) for page in pages) == 3


@pytest.mark.postgres_e2e
def test_roles_are_scoped_by_account(client, role):
    with pytest.raises(ClientError) as excinfo:
        client("iam", access_key="999999999999").get_role(RoleName=role["RoleName"])
    assert _error(excinfo)[:2] == (404, "NoSuchEntity")


# -- update, tags, delete ---------------------------------------------------------------------


def test_update_role_changes_description_and_max_session_duration(iam, role):
    iam.update_role(RoleName=role["RoleName"], Description="new", MaxSessionDuration=43200)
    got = iam.get_role(RoleName=role["RoleName"])["Role"]
    assert (got["Description"], got["MaxSessionDuration"]) == ("new", 43200)


def test_update_assume_role_policy_replaces_trust_policy(iam, role):
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "sts:AssumeRole"}],
    }
    iam.update_assume_role_policy(RoleName=role["RoleName"], PolicyDocument=json.dumps(trust))
    assert iam.get_role(RoleName=role["RoleName"])["Role"]["AssumeRolePolicyDocument"] == trust


def test_update_assume_role_policy_with_bad_json_is_malformed(iam, role):
    with pytest.raises(ClientError) as excinfo:
        iam.update_assume_role_policy(RoleName=role["RoleName"], PolicyDocument="[")
    assert _error(excinfo)[:2] == (400, "MalformedPolicyDocument")


@pytest.mark.postgres_e2e
def test_tag_untag_and_list_role_tags(iam, role):
    name = role["RoleName"]
    iam.tag_role(RoleName=name, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    iam.tag_role(RoleName=name, Tags=[{"Key": "a", "Value": "3"}])
    iam.untag_role(RoleName=name, TagKeys=["b"])
    assert iam.list_role_tags(RoleName=name)["Tags"] == [{"Key": "a", "Value": "3"}]
    assert iam.get_role(RoleName=name)["Role"]["Tags"] == [{"Key": "a", "Value": "3"}]


def test_delete_role_removes_it(iam, role):
    iam.delete_role(RoleName=role["RoleName"])
    with pytest.raises(ClientError) as excinfo:
        iam.get_role(RoleName=role["RoleName"])
    assert _error(excinfo)[:2] == (404, "NoSuchEntity")


def test_delete_missing_role_is_no_such_entity(iam):
    with pytest.raises(ClientError) as excinfo:
        iam.delete_role(RoleName="never-created-role")
    assert _error(excinfo) == (404, "NoSuchEntity", "The role with name never-created-role cannot be found.")


@pytest.mark.postgres_e2e
def test_delete_role_with_attached_policy_is_delete_conflict(iam, role):
    iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=BASIC)
    with pytest.raises(ClientError) as excinfo:
        iam.delete_role(RoleName=role["RoleName"])
    assert _error(excinfo) == (409, "DeleteConflict", "Cannot delete entity, must detach all policies first.")


def test_delete_role_with_inline_policy_is_delete_conflict(iam, role):
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="inline", PolicyDocument=json.dumps(PERMISSIONS))
    with pytest.raises(ClientError) as excinfo:
        iam.delete_role(RoleName=role["RoleName"])
    assert _error(excinfo) == (409, "DeleteConflict", "Cannot delete entity, must delete policies first.")


def test_delete_role_in_instance_profile_is_delete_conflict(iam, role, unique_name):
    profile = unique_name("profile")
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role["RoleName"])
    with pytest.raises(ClientError) as excinfo:
        iam.delete_role(RoleName=role["RoleName"])
    assert _error(excinfo) == (
        409, "DeleteConflict", "Cannot delete entity, must remove roles from instance profile first."
    )


# -- attached managed policies ----------------------------------------------------------------


def test_attach_aws_managed_policy_without_creating_it(iam, role):
    iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=BASIC)
    iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn="arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess")
    attached = iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]
    # by name, upper case first, as AWS's recorded answer lists them (LocalStack's test_sam_policies)
    assert attached == [
        {"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": BASIC},
        {"PolicyName": "AmazonDynamoDBFullAccess", "PolicyArn": "arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess"},
    ]


def test_attach_any_aws_managed_policy_arn(iam, role):
    arn = "arn:aws:iam::aws:policy/service-role/SomeFutureAwsPolicy"
    iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=arn)
    assert iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"] == [
        {"PolicyName": "SomeFutureAwsPolicy", "PolicyArn": arn}
    ]


def test_attach_role_policy_twice_is_idempotent(iam, role):
    iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=BASIC)
    iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=BASIC)
    assert len(iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]) == 1


def test_attach_missing_customer_policy_is_no_such_entity(iam, role):
    arn = "arn:aws:iam::000000000000:policy/does-not-exist"
    with pytest.raises(ClientError) as excinfo:
        iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=arn)
    assert _error(excinfo) == (404, "NoSuchEntity", f"Policy {arn} does not exist or is not attachable.")


def test_attach_policy_with_invalid_arn_is_invalid_input(iam, role):
    with pytest.raises(ClientError) as excinfo:
        iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn="arn:aws:s3:::not-a-policy")
    assert _error(excinfo) == (400, "InvalidInput", "ARN arn:aws:s3:::not-a-policy is not valid.")


@pytest.mark.parametrize("value", ["longpolicynamebutnoarn", "arn:aws:iam::a-policy-name"])
def test_attach_policy_with_something_not_an_arn_is_validation_error(iam, role, value):
    with pytest.raises(ClientError) as excinfo:
        iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=value)
    assert _error(excinfo) == (400, "ValidationError", "Invalid ARN:  Could not be parsed!")


def test_attach_policy_to_missing_role_is_no_such_entity(iam):
    with pytest.raises(ClientError) as excinfo:
        iam.attach_role_policy(RoleName="missing-role-x", PolicyArn=BASIC)
    assert _error(excinfo)[:2] == (404, "NoSuchEntity")


def test_attach_more_than_ten_policies_is_limit_exceeded(iam, role):
    for i in range(10):
        iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=f"arn:aws:iam::aws:policy/Policy{i}")
    with pytest.raises(ClientError) as excinfo:
        iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn="arn:aws:iam::aws:policy/Policy10")
    assert _error(excinfo) == (409, "LimitExceeded", "Cannot exceed quota for PoliciesPerRole: 10")


@pytest.mark.postgres_e2e
def test_detach_role_policy_removes_attachment(iam, role):
    iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=BASIC)
    iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=BASIC)
    assert iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"] == []
    iam.delete_role(RoleName=role["RoleName"])


def test_detach_policy_not_attached_is_no_such_entity(iam, role):
    with pytest.raises(ClientError) as excinfo:
        iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=BASIC)
    assert _error(excinfo) == (404, "NoSuchEntity", f"Policy {BASIC} was not found.")


# -- inline policies --------------------------------------------------------------------------


@pytest.mark.postgres_e2e
def test_put_get_list_delete_role_policy(iam, role):
    name = role["RoleName"]
    iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=json.dumps(PERMISSIONS))
    got = iam.get_role_policy(RoleName=name, PolicyName="read")
    assert (got["RoleName"], got["PolicyName"], got["PolicyDocument"]) == (name, "read", PERMISSIONS)
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == ["read"]
    iam.delete_role_policy(RoleName=name, PolicyName="read")
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == []


def test_put_role_policy_replaces_existing_document(iam, role):
    name = role["RoleName"]
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(PERMISSIONS))
    other = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(other))
    assert iam.get_role_policy(RoleName=name, PolicyName="p")["PolicyDocument"] == other


def test_put_role_policy_with_malformed_document_is_malformed(iam, role):
    with pytest.raises(ClientError) as excinfo:
        iam.put_role_policy(RoleName=role["RoleName"], PolicyName="bad", PolicyDocument="not json at all")
    assert _error(excinfo) == (400, "MalformedPolicyDocument", "This policy contains invalid Json")


def test_get_missing_role_policy_is_no_such_entity(iam, role):
    with pytest.raises(ClientError) as excinfo:
        iam.get_role_policy(RoleName=role["RoleName"], PolicyName="nope")
    assert _error(excinfo) == (404, "NoSuchEntity", "The role policy with name nope cannot be found.")


# -- instance profiles ------------------------------------------------------------------------


@pytest.mark.postgres_e2e
def test_instance_profile_lifecycle(iam, role, unique_name):
    name = unique_name("ip")
    profile = iam.create_instance_profile(InstanceProfileName=name, Path="/ec2/")["InstanceProfile"]
    assert profile["InstanceProfileId"].startswith("AIPA")
    assert profile["Arn"] == f"arn:aws:iam::000000000000:instance-profile/ec2/{name}"
    assert profile["Roles"] == []
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role["RoleName"])
    got = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    assert [r["RoleName"] for r in got["Roles"]] == [role["RoleName"]]
    for_role = iam.list_instance_profiles_for_role(RoleName=role["RoleName"])["InstanceProfiles"]
    assert [p["InstanceProfileName"] for p in for_role] == [name]
    assert name in [p["InstanceProfileName"] for p in iam.list_instance_profiles(PathPrefix="/ec2/")["InstanceProfiles"]]
    iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=role["RoleName"])
    iam.delete_instance_profile(InstanceProfileName=name)
    with pytest.raises(ClientError) as excinfo:
        iam.get_instance_profile(InstanceProfileName=name)
    assert _error(excinfo) == (404, "NoSuchEntity", f"Instance Profile {name} cannot be found.")


def test_instance_profile_holds_only_one_role(iam, unique_name):
    name = unique_name("ip")
    iam.create_instance_profile(InstanceProfileName=name)
    for i in range(2):
        role = unique_name("r")
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))
        if i == 0:
            iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)
    with pytest.raises(ClientError) as excinfo:
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)
    assert _error(excinfo)[:2] == (409, "LimitExceeded")


def test_delete_instance_profile_with_role_is_delete_conflict(iam, role, unique_name):
    name = unique_name("ip")
    iam.create_instance_profile(InstanceProfileName=name)
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role["RoleName"])
    with pytest.raises(ClientError) as excinfo:
        iam.delete_instance_profile(InstanceProfileName=name)
    assert _error(excinfo)[:2] == (409, "DeleteConflict")


def test_create_duplicate_instance_profile_is_entity_already_exists(iam, unique_name):
    name = unique_name("ip")
    iam.create_instance_profile(InstanceProfileName=name)
    with pytest.raises(ClientError) as excinfo:
        iam.create_instance_profile(InstanceProfileName=name)
    assert _error(excinfo) == (409, "EntityAlreadyExists", f"Instance Profile {name} already exists.")


# -- service-linked roles ---------------------------------------------------------------------


def test_create_service_linked_role_uses_aws_service_role_path(client):
    iam = client("iam", access_key="777777777777")
    role = iam.create_service_linked_role(AWSServiceName="elasticbeanstalk.amazonaws.com")["Role"]
    assert role["RoleName"] == "AWSServiceRoleForElasticBeanstalk"
    assert role["Path"] == "/aws-service-role/elasticbeanstalk.amazonaws.com/"
    assert role["Arn"] == (
        "arn:aws:iam::777777777777:role/aws-service-role/elasticbeanstalk.amazonaws.com/AWSServiceRoleForElasticBeanstalk"
    )
    principal = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert principal == {"Service": "elasticbeanstalk.amazonaws.com"}


def test_service_linked_role_has_its_aws_managed_policy_attached(client):
    iam = client("iam", access_key="777777777778")
    role = iam.create_service_linked_role(AWSServiceName="eks.amazonaws.com")["Role"]
    assert role["RoleName"] == "AWSServiceRoleForAmazonEKS"
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    attached = iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]
    arn = "arn:aws:iam::aws:policy/aws-service-role/AmazonEKSServiceRolePolicy"
    assert attached == [{"PolicyName": "AmazonEKSServiceRolePolicy", "PolicyArn": arn}]
    assert iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"] == []
    policy = iam.get_policy(PolicyArn=arn)["Policy"]
    assert (policy["Path"], policy["AttachmentCount"]) == ("/aws-service-role/", 1)
    listed = iam.list_policies(Scope="AWS", PathPrefix="/aws-service-role/")["Policies"]
    assert arn in {p["Arn"] for p in listed}


def test_service_linked_role_names_follow_aws(client):
    iam = client("iam", access_key="777777777779")
    names = {
        "autoscaling-plans.amazonaws.com": "AWSServiceRoleForAutoScalingPlans_EC2AutoScaling",
        "dms.amazonaws.com": "AWSServiceRoleForDMSServerless",
        "ops.apigateway.amazonaws.com": "AWSServiceRoleForAPIGateway",
    }
    for service, name in names.items():
        assert iam.create_service_linked_role(AWSServiceName=service)["Role"]["RoleName"] == name


def test_service_linked_role_custom_suffix_only_where_the_service_accepts_one(client):
    iam = client("iam", access_key="777777777780")
    role = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com", CustomSuffix="blue")["Role"]
    assert role["RoleName"] == "AWSServiceRoleForAutoScaling_blue"
    with pytest.raises(ClientError) as excinfo:
        iam.create_service_linked_role(AWSServiceName="batch.amazonaws.com", CustomSuffix="blue")
    assert _error(excinfo) == (400, "InvalidInput", "Custom suffix is not allowed for batch.amazonaws.com")
    with pytest.raises(ClientError) as excinfo:
        iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com", CustomSuffix="blue")
    assert _error(excinfo) == (
        400, "InvalidInput",
        "Service role name AWSServiceRoleForAutoScaling_blue has been taken in this account, please try a different suffix.",
    )


def test_service_linked_role_for_a_service_without_one_is_refused(client):
    iam = client("iam", access_key="777777777781")
    with pytest.raises(ClientError) as excinfo:
        iam.create_service_linked_role(AWSServiceName="notaservice.amazonaws.com")
    assert _error(excinfo) == (400, "InvalidInput", "Invalid service principal: notaservice.amazonaws.com")


def test_service_linked_role_cannot_be_deleted_with_delete_role(client):
    iam = client("iam", access_key="888888888888")
    role = iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com")["Role"]
    with pytest.raises(ClientError) as excinfo:
        iam.delete_role(RoleName=role["RoleName"])
    assert _error(excinfo)[:2] == (400, "UnmodifiableEntity")
    task = iam.delete_service_linked_role(RoleName=role["RoleName"])["DeletionTaskId"]
    assert iam.get_service_linked_role_deletion_status(DeletionTaskId=task)["Status"] == "SUCCEEDED"
    with pytest.raises(ClientError):
        iam.get_role(RoleName=role["RoleName"])
