"""AWS::IAM::Role, AWS::IAM::Policy and AWS::IAM::ManagedPolicy, through the IAM provider."""

from __future__ import annotations

import json

from overcast.aws.errors import AwsError
from overcast.services.cloudformation.resources.base import ResourceOp, ResourceType, is_missing


def document(value) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def _tags(props: dict) -> list[dict]:
    return [{"Key": t["Key"], "Value": t["Value"]} for t in props.get("Tags") or []]


async def _quietly(op: ResourceOp, service: str, operation: str, params: dict) -> None:
    """A detach/delete during a delete or an update: already gone is fine."""
    try:
        await op.call(service, operation, params)
    except AwsError as e:
        if not is_missing(e):
            raise


class Role(ResourceType):
    type_name = "AWS::IAM::Role"

    async def create(self, op: ResourceOp):
        props = op.properties
        name = op.name("RoleName", 64)
        role = (await op.call("iam", "CreateRole", {
            "RoleName": name, "Path": props.get("Path"),
            "AssumeRolePolicyDocument": document(props.get("AssumeRolePolicyDocument")),
            "Description": props.get("Description"), "MaxSessionDuration": _int(props.get("MaxSessionDuration")),
            "PermissionsBoundary": props.get("PermissionsBoundary"), "Tags": _tags(props) or None}))["Role"]
        await self._apply_policies(op, name, {}, props)
        return name, {"Arn": role["Arn"], "RoleId": role["RoleId"]}

    async def _apply_policies(self, op: ResourceOp, name: str, old: dict, new: dict) -> None:
        old_arns, new_arns = set(old.get("ManagedPolicyArns") or []), set(new.get("ManagedPolicyArns") or [])
        for arn in sorted(old_arns - new_arns):
            await _quietly(op, "iam", "DetachRolePolicy", {"RoleName": name, "PolicyArn": arn})
        for arn in sorted(new_arns - old_arns):
            await op.call("iam", "AttachRolePolicy", {"RoleName": name, "PolicyArn": arn})
        old_inline = {p["PolicyName"]: p for p in old.get("Policies") or []}
        new_inline = {p["PolicyName"]: p for p in new.get("Policies") or []}
        for policy_name in old_inline.keys() - new_inline.keys():
            await _quietly(op, "iam", "DeleteRolePolicy", {"RoleName": name, "PolicyName": policy_name})
        for policy_name, policy in new_inline.items():
            if old_inline.get(policy_name) != policy:
                await op.call("iam", "PutRolePolicy", {"RoleName": name, "PolicyName": policy_name,
                                                       "PolicyDocument": document(policy.get("PolicyDocument"))})

    async def update(self, op: ResourceOp):
        props, old, name = op.properties, op.old_properties, op.physical_id
        if props.get("AssumeRolePolicyDocument") != old.get("AssumeRolePolicyDocument"):
            await op.call("iam", "UpdateAssumeRolePolicy", {
                "RoleName": name, "PolicyDocument": document(props.get("AssumeRolePolicyDocument"))})
        if props.get("Description") != old.get("Description") or \
                props.get("MaxSessionDuration") != old.get("MaxSessionDuration"):
            await op.call("iam", "UpdateRole", {"RoleName": name, "Description": props.get("Description") or "",
                                                "MaxSessionDuration": _int(props.get("MaxSessionDuration")) or 3600})
        if props.get("PermissionsBoundary") != old.get("PermissionsBoundary"):
            if props.get("PermissionsBoundary"):
                await op.call("iam", "PutRolePermissionsBoundary", {
                    "RoleName": name, "PermissionsBoundary": props["PermissionsBoundary"]})
            else:
                await _quietly(op, "iam", "DeleteRolePermissionsBoundary", {"RoleName": name})
        if _tags(props) != _tags(old):
            gone = [t["Key"] for t in _tags(old) if t["Key"] not in {n["Key"] for n in _tags(props)}]
            if gone:
                await op.call("iam", "UntagRole", {"RoleName": name, "TagKeys": gone})
            if _tags(props):
                await op.call("iam", "TagRole", {"RoleName": name, "Tags": _tags(props)})
        await self._apply_policies(op, name, old, props)
        role = (await op.call("iam", "GetRole", {"RoleName": name}))["Role"]
        return {"Arn": role["Arn"], "RoleId": role["RoleId"]}

    async def delete(self, op: ResourceOp):
        name = op.physical_id
        try:
            attached = (await op.call("iam", "ListAttachedRolePolicies", {"RoleName": name}))["AttachedPolicies"]
        except AwsError as e:
            if is_missing(e):
                return
            raise
        for policy in attached:
            await _quietly(op, "iam", "DetachRolePolicy", {"RoleName": name, "PolicyArn": policy["PolicyArn"]})
        for policy_name in (await op.call("iam", "ListRolePolicies", {"RoleName": name}))["PolicyNames"]:
            await _quietly(op, "iam", "DeleteRolePolicy", {"RoleName": name, "PolicyName": policy_name})
        for profile in (await op.call("iam", "ListInstanceProfilesForRole", {"RoleName": name}))["InstanceProfiles"]:
            await _quietly(op, "iam", "RemoveRoleFromInstanceProfile", {
                "RoleName": name, "InstanceProfileName": profile["InstanceProfileName"]})
        await op.call("iam", "DeleteRole", {"RoleName": name})


_PRINCIPALS = (("Roles", "RoleName", "Role"), ("Users", "UserName", "User"), ("Groups", "GroupName", "Group"))


class Policy(ResourceType):
    """An inline policy put on roles, users and groups."""

    type_name = "AWS::IAM::Policy"
    extra_attributes = frozenset({"Id"})
    # its physical id is short on AWS: a few letters of the stack's and the resource's names and a
    # suffix ("stack-fnSe-3OZPF82JL41D", as LocalStack's recordings show it)
    name_length = 23

    async def create(self, op: ResourceOp):
        await self._put(op, op.properties)
        name = op.name(max_length=self.name_length)
        return name, {"Id": name}

    async def _put(self, op: ResourceOp, props: dict) -> None:
        for key, member, kind in _PRINCIPALS:
            for principal in props.get(key) or []:
                await op.call("iam", f"Put{kind}Policy", {member: principal, "PolicyName": props["PolicyName"],
                                                          "PolicyDocument": document(props.get("PolicyDocument"))})

    async def _remove(self, op: ResourceOp, props: dict, keep: dict | None = None) -> None:
        for key, member, kind in _PRINCIPALS:
            kept = set((keep or {}).get(key) or []) if (keep or {}).get("PolicyName") == props.get("PolicyName") \
                else set()
            for principal in props.get(key) or []:
                if principal not in kept:
                    await _quietly(op, "iam", f"Delete{kind}Policy", {member: principal,
                                                                      "PolicyName": props["PolicyName"]})

    async def update(self, op: ResourceOp):
        await self._remove(op, op.old_properties, op.properties)
        await self._put(op, op.properties)
        return {"Id": op.physical_id}

    async def delete(self, op: ResourceOp):
        await self._remove(op, op.properties)


class ManagedPolicy(ResourceType):
    type_name = "AWS::IAM::ManagedPolicy"
    name_length = 128

    async def create(self, op: ResourceOp):
        props = op.properties
        policy = (await op.call("iam", "CreatePolicy", {
            "PolicyName": op.name("ManagedPolicyName", 128), "Path": props.get("Path"),
            "PolicyDocument": document(props.get("PolicyDocument")), "Description": props.get("Description")}))["Policy"]
        await self._attach(op, policy["Arn"], {}, props)
        return policy["Arn"], self._attributes(policy)

    @staticmethod
    def _attributes(policy: dict) -> dict:
        return {"PolicyArn": policy["Arn"], "PolicyId": policy["PolicyId"], "DefaultVersionId":
                policy.get("DefaultVersionId", "v1"), "AttachmentCount": policy.get("AttachmentCount", 0),
                "IsAttachable": True, "CreateDate": str(policy.get("CreateDate", "")),
                "UpdateDate": str(policy.get("UpdateDate", ""))}

    async def _attach(self, op: ResourceOp, arn: str, old: dict, new: dict) -> None:
        for key, member, kind in _PRINCIPALS:
            before, after = set(old.get(key) or []), set(new.get(key) or [])
            for principal in sorted(before - after):
                await _quietly(op, "iam", f"Detach{kind}Policy", {member: principal, "PolicyArn": arn})
            for principal in sorted(after - before):
                await op.call("iam", f"Attach{kind}Policy", {member: principal, "PolicyArn": arn})

    async def update(self, op: ResourceOp):
        arn = op.physical_id
        if op.properties.get("PolicyDocument") != op.old_properties.get("PolicyDocument"):
            versions = (await op.call("iam", "ListPolicyVersions", {"PolicyArn": arn}))["Versions"]
            old = [v for v in versions if not v["IsDefaultVersion"]]
            if len(versions) >= 5 and old:
                oldest = sorted(old, key=lambda v: str(v.get("CreateDate")))[0]
                await op.call("iam", "DeletePolicyVersion", {"PolicyArn": arn, "VersionId": oldest["VersionId"]})
            await op.call("iam", "CreatePolicyVersion", {
                "PolicyArn": arn, "PolicyDocument": document(op.properties.get("PolicyDocument")), "SetAsDefault": True})
        await self._attach(op, arn, op.old_properties, op.properties)
        return self._attributes((await op.call("iam", "GetPolicy", {"PolicyArn": arn}))["Policy"])

    async def delete(self, op: ResourceOp):
        arn = op.physical_id
        await self._attach(op, arn, op.properties, {})
        try:
            versions = (await op.call("iam", "ListPolicyVersions", {"PolicyArn": arn}))["Versions"]
        except AwsError as e:
            if is_missing(e):
                return
            raise
        for version in versions:
            if not version["IsDefaultVersion"]:
                await _quietly(op, "iam", "DeletePolicyVersion", {"PolicyArn": arn, "VersionId": version["VersionId"]})
        await op.call("iam", "DeletePolicy", {"PolicyArn": arn})


def _int(value):
    return int(value) if value is not None else None


class _Principal(ResourceType):
    """AWS::IAM::User and AWS::IAM::Group: a name, a path, inline policies and managed policies."""

    kind = ""  # "User" or "Group"

    async def create(self, op: ResourceOp):
        props, kind = op.properties, self.kind
        name = op.name(f"{kind}Name", 64 if kind == "User" else 128)
        params = {f"{kind}Name": name, "Path": props.get("Path")}
        if kind == "User":
            params.update(PermissionsBoundary=props.get("PermissionsBoundary"), Tags=_tags(props) or None)
        out = (await op.call("iam", f"Create{kind}", params))[kind]
        await self._apply(op, name, {}, props)
        return name, {"Arn": out["Arn"]}

    async def _apply(self, op: ResourceOp, name: str, old: dict, new: dict) -> None:
        kind = self.kind
        member = f"{kind}Name"
        before, after = set(old.get("ManagedPolicyArns") or []), set(new.get("ManagedPolicyArns") or [])
        for arn in sorted(before - after):
            await _quietly(op, "iam", f"Detach{kind}Policy", {member: name, "PolicyArn": arn})
        for arn in sorted(after - before):
            await op.call("iam", f"Attach{kind}Policy", {member: name, "PolicyArn": arn})
        old_inline = {p["PolicyName"]: p for p in old.get("Policies") or []}
        new_inline = {p["PolicyName"]: p for p in new.get("Policies") or []}
        for policy_name in old_inline.keys() - new_inline.keys():
            await _quietly(op, "iam", f"Delete{kind}Policy", {member: name, "PolicyName": policy_name})
        for policy_name, policy in new_inline.items():
            if old_inline.get(policy_name) != policy:
                await op.call("iam", f"Put{kind}Policy", {member: name, "PolicyName": policy_name,
                                                          "PolicyDocument": document(policy.get("PolicyDocument"))})
        if kind == "User":
            groups_before, groups_after = set(old.get("Groups") or []), set(new.get("Groups") or [])
            for group in sorted(groups_before - groups_after):
                await _quietly(op, "iam", "RemoveUserFromGroup", {"UserName": name, "GroupName": group})
            for group in sorted(groups_after - groups_before):
                await op.call("iam", "AddUserToGroup", {"UserName": name, "GroupName": group})

    async def update(self, op: ResourceOp):
        if op.properties.get("Path") != op.old_properties.get("Path"):
            await op.call("iam", f"Update{self.kind}", {f"{self.kind}Name": op.physical_id,
                                                        "NewPath": op.properties.get("Path") or "/"})
        if self.kind == "User" and _tags(op.properties) != _tags(op.old_properties):  # a group keeps no tags
            new = _tags(op.properties)
            gone = [t["Key"] for t in _tags(op.old_properties) if t["Key"] not in {n["Key"] for n in new}]
            if gone:
                await op.call("iam", "UntagUser", {"UserName": op.physical_id, "TagKeys": gone})
            if new:
                await op.call("iam", "TagUser", {"UserName": op.physical_id, "Tags": new})
        await self._apply(op, op.physical_id, op.old_properties, op.properties)
        return op.attributes

    async def delete(self, op: ResourceOp):
        props = {**op.properties, "Groups": [], "Policies": [], "ManagedPolicyArns": []}
        try:
            await self._apply(op, op.physical_id, op.properties, props)
        except AwsError as e:
            if is_missing(e):
                return
            raise
        if self.kind == "Group":
            users = (await op.call("iam", "GetGroup", {"GroupName": op.physical_id})).get("Users") or []
            for user in users:
                await _quietly(op, "iam", "RemoveUserFromGroup", {"UserName": user["UserName"],
                                                                  "GroupName": op.physical_id})
        await op.call("iam", f"Delete{self.kind}", {f"{self.kind}Name": op.physical_id})


class User(_Principal):
    type_name = "AWS::IAM::User"
    kind = "User"


class Group(_Principal):
    type_name = "AWS::IAM::Group"
    kind = "Group"
    name_length = 128


class InstanceProfile(ResourceType):
    type_name = "AWS::IAM::InstanceProfile"
    name_length = 128

    async def create(self, op: ResourceOp):
        name = op.name("InstanceProfileName", 128)
        out = (await op.call("iam", "CreateInstanceProfile", {"InstanceProfileName": name,
                                                              "Path": op.properties.get("Path")}))["InstanceProfile"]
        for role in op.properties.get("Roles") or []:
            await op.call("iam", "AddRoleToInstanceProfile", {"InstanceProfileName": name, "RoleName": role})
        return name, {"Arn": out["Arn"]}

    async def update(self, op: ResourceOp):
        before, after = set(op.old_properties.get("Roles") or []), set(op.properties.get("Roles") or [])
        for role in sorted(before - after):
            await _quietly(op, "iam", "RemoveRoleFromInstanceProfile", {"InstanceProfileName": op.physical_id,
                                                                        "RoleName": role})
        for role in sorted(after - before):
            await op.call("iam", "AddRoleToInstanceProfile", {"InstanceProfileName": op.physical_id, "RoleName": role})
        return op.attributes

    async def delete(self, op: ResourceOp):
        for role in op.properties.get("Roles") or []:
            await _quietly(op, "iam", "RemoveRoleFromInstanceProfile", {"InstanceProfileName": op.physical_id,
                                                                        "RoleName": role})
        await op.call("iam", "DeleteInstanceProfile", {"InstanceProfileName": op.physical_id})


class AccessKey(ResourceType):
    """An IAM user's access key. Ref is its id; GetAtt SecretAccessKey its secret. A new Serial
    (or user) replaces the key, as the type's schema says; a new Status updates it."""

    type_name = "AWS::IAM::AccessKey"

    async def create(self, op: ResourceOp):
        props = op.properties
        key = (await op.call("iam", "CreateAccessKey", {"UserName": props.get("UserName")}))["AccessKey"]
        if (props.get("Status") or "Active") != "Active":
            await op.call("iam", "UpdateAccessKey", {"UserName": props.get("UserName"),
                                                     "AccessKeyId": key["AccessKeyId"], "Status": props["Status"]})
        return key["AccessKeyId"], {"SecretAccessKey": key["SecretAccessKey"]}

    async def update(self, op: ResourceOp):
        await op.call("iam", "UpdateAccessKey", {"UserName": op.properties.get("UserName"),
                                                 "AccessKeyId": op.physical_id,
                                                 "Status": op.properties.get("Status") or "Active"})
        return op.attributes

    async def delete(self, op: ResourceOp):
        await _quietly(op, "iam", "DeleteAccessKey", {"UserName": op.properties.get("UserName"),
                                                      "AccessKeyId": op.physical_id})


class ServiceLinkedRole(ResourceType):
    """A service-linked role, made by IAM from its facts about the service. Ref is its name."""

    type_name = "AWS::IAM::ServiceLinkedRole"

    async def create(self, op: ResourceOp):
        props = op.properties
        role = (await op.call("iam", "CreateServiceLinkedRole", {
            "AWSServiceName": props.get("AWSServiceName"), "CustomSuffix": props.get("CustomSuffix"),
            "Description": props.get("Description")}))["Role"]
        return role["RoleName"], {"RoleName": role["RoleName"]}

    async def update(self, op: ResourceOp):
        await op.call("iam", "UpdateRoleDescription", {"RoleName": op.physical_id,
                                                       "Description": op.properties.get("Description") or ""})
        return op.attributes

    async def delete(self, op: ResourceOp):
        await _quietly(op, "iam", "DeleteServiceLinkedRole", {"RoleName": op.physical_id})


class ServerCertificate(ResourceType):
    """An IAM server certificate. Ref is its name; GetAtt Arn its ARN."""

    type_name = "AWS::IAM::ServerCertificate"
    name_length = 128

    async def create(self, op: ResourceOp):
        props = op.properties
        name = op.name("ServerCertificateName", 128)
        out = await op.call("iam", "UploadServerCertificate", {
            "ServerCertificateName": name, "Path": props.get("Path"), "CertificateBody": props.get("CertificateBody"),
            "PrivateKey": props.get("PrivateKey"), "CertificateChain": props.get("CertificateChain"),
            "Tags": _tags(props) or None})
        return name, {"Arn": out["ServerCertificateMetadata"]["Arn"]}

    async def update(self, op: ResourceOp):
        name = op.physical_id
        if op.properties.get("Path") != op.old_properties.get("Path"):
            await op.call("iam", "UpdateServerCertificate", {"ServerCertificateName": name,
                                                             "NewPath": op.properties.get("Path") or "/"})
        new, old = _tags(op.properties), _tags(op.old_properties)
        gone = [t["Key"] for t in old if t["Key"] not in {n["Key"] for n in new}]
        if gone:
            await op.call("iam", "UntagServerCertificate", {"ServerCertificateName": name, "TagKeys": gone})
        if new and new != old:
            await op.call("iam", "TagServerCertificate", {"ServerCertificateName": name, "Tags": new})
        metadata = (await op.call("iam", "GetServerCertificate", {"ServerCertificateName": name}))["ServerCertificate"]
        return {"Arn": metadata["ServerCertificateMetadata"]["Arn"]}

    async def delete(self, op: ResourceOp):
        await _quietly(op, "iam", "DeleteServerCertificate", {"ServerCertificateName": op.physical_id})
