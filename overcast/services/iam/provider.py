"""IAM: roles, managed and inline policies, users, access keys, groups, instance profiles and
service-linked roles, stored per account (IAM is global: no region).

overcast stores IAM resources but does not enforce them: policies are never evaluated, and any
credentials may call any API. See docs/iam-sts.md.
"""

from __future__ import annotations

import re
import uuid

import orjson

from overcast.aws import policy as evaluator
from overcast.aws import tags as reserved_tags
from overcast.aws.errors import AwsError, not_implemented
from overcast.services.base import Provider
from overcast.services.iam import certificates, common, simulate
from overcast.services.iam.common import (
    as_datetime,
    check_name,
    check_path,
    check_range,
    new_id,
    now,
    paginate,
    stable_id,
    validation_error,
)
from overcast.services.iam.policies import (
    AWS_MANAGED,
    AWS_POLICY_PREFIX,
    aws_managed,
    check_document,
    encode_document,
    is_aws_managed,
)
from overcast.services.iam.service_roles import SERVICE_ROLE_POLICY_ARNS, SERVICE_ROLES
from overcast.services.iam.store import Entity, IamStore, ManagedPolicy, ServerCertificate, ServiceCredential

ROLE, USER, GROUP, PROFILE = "role", "user", "group", "instance-profile"
_KIND_LABEL = {ROLE: "role", USER: "user", GROUP: "group"}
_ID_PREFIX = {ROLE: common.ROLE_ID, USER: common.USER_ID, GROUP: common.GROUP_ID, PROFILE: common.PROFILE_ID}
_NAME_MAX = {ROLE: 64, USER: 64, GROUP: 128, PROFILE: 128}
_NAME_MEMBER = {ROLE: "RoleName", USER: "UserName", GROUP: "GroupName", PROFILE: "InstanceProfileName"}
_ATTACHED_QUOTA = {ROLE: "PoliciesPerRole", USER: "PoliciesPerUser", GROUP: "PoliciesPerGroup"}
_INLINE_QUOTA = {ROLE: 10240, USER: 2048, GROUP: 5120}  # aggregate inline policy size, whitespace excluded
_POLICY_ARN = re.compile(r"arn:aws[\w-]*:iam::(\d{12}|aws):policy((?:/[\x21-\x7e]*)?/)([\w+=,.@-]+)", re.ASCII)
_AWS_POLICY_CREATED = 1423247985.0  # 2015-02-06T18:39:45Z, when most AWS managed policies appeared
_SERVICE_ROLE_PATH = "/aws-service-role/"
# Services that take service-specific credentials (IAM User Guide, "Service-specific credentials
# for IAM users"): CodeCommit's Git credentials and Amazon Keyspaces' Cassandra credentials. Bedrock's
# API keys are service-specific credentials too, but expire and have their own shape: not supported.
_CREDENTIAL_SERVICES = ("codecommit.amazonaws.com", "cassandra.amazonaws.com")
_BEDROCK = "bedrock.amazonaws.com"
_DELETION_TASK = re.compile(r"task/aws-service-role/[\w.-]+/[\w+=,.@-]+/[0-9a-f-]{36}")


def _not_found(kind: str, name: str) -> AwsError:
    if kind == PROFILE:
        return AwsError("NoSuchEntity", f"Instance Profile {name} cannot be found.", 404)
    return AwsError("NoSuchEntity", f"The {_KIND_LABEL[kind]} with name {name} cannot be found.", 404)


def _already_exists(kind: str, name: str) -> AwsError:
    if kind == PROFILE:
        return AwsError("EntityAlreadyExists", f"Instance Profile {name} already exists.", 409)
    return AwsError("EntityAlreadyExists", f"{_KIND_LABEL[kind].capitalize()} with name {name} already exists.", 409)


def _conflict(message: str) -> AwsError:
    return AwsError("DeleteConflict", message, 409)


def _invalid_arn(arn: str) -> AwsError:
    return AwsError("InvalidInput", f"ARN {arn} is not valid.", 400)


def _boundary(arn: str | None) -> dict | None:
    if not arn:
        return None
    return {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn}


def _clean(output: dict) -> dict:
    return {k: v for k, v in output.items() if v is not None}


class IamProvider(Provider):
    service = "iam"

    def __init__(self, providers):
        super().__init__(providers)
        self.store = IamStore(self.db)

    # == shared helpers ===========================================================================

    def _arn(self, account: str, kind: str, path: str, name: str) -> str:
        return f"arn:aws:iam::{account}:{kind}{path}{name}"

    def _get(self, ctx, kind: str, name: str | None) -> Entity:
        check_name(name, _NAME_MEMBER[kind], _NAME_MAX[kind] if kind != USER else 128)
        entity = self.store.entity(ctx.account, kind, name)
        if entity is None:
            raise _not_found(kind, name)
        return entity

    def _create(self, ctx, kind: str, name: str, path: str | None, tags: list | None = None, **extra) -> Entity:
        check_name(name, _NAME_MEMBER[kind], _NAME_MAX[kind])
        path = check_path(path)
        self._check_tags(tags)
        entity = Entity(
            account=ctx.account, kind=kind, name=name, id=new_id(_ID_PREFIX[kind]),
            arn=self._arn(ctx.account, kind, path, name), path=path, created=now(), **extra,
        )
        with self.db.transaction():
            if not self.store.add_entity(entity):
                raise _already_exists(kind, name)
            if tags:
                self.store.put_tags(ctx.account, entity.id, tags)
        return entity

    @staticmethod
    def _check_tags(tags: list | None, limit: int = 50) -> None:
        if not tags:
            return
        if len(tags) > limit:
            raise validation_error(
                [f"Value '{tags}' at 'tags' failed to satisfy constraint: Member must have length less than or equal to {limit}"]
            )
        keys = [tag.get("Key") for tag in tags]
        for key in keys:
            check_name(key, "tags.member.key", 128, r"[\w\s.:/=+\-@]+", ascii=False)
        for tag in tags:
            value = tag.get("Value")
            if value is None:
                raise validation_error(["Value null at 'tags.member.value' failed to satisfy constraint: Member must not be null"])
            if len(value) > 256:
                check_name(value, "tags.member.value", 256, r"[\w\s.:/=+\-@]*", min_length=0, ascii=False)
        if len({k.lower() for k in keys}) != len(keys):
            raise AwsError("InvalidInput", "Duplicate tag keys found. Please note that Tag keys are case insensitive.", 400)

    def _tag(self, ctx, resource_id: str, tags: list | None, quota: str) -> None:
        if not tags:
            raise validation_error(["Value null at 'tags' failed to satisfy constraint: Member must not be null"])
        self._check_tags(tags)
        self._refuse_reserved(ctx, [t["Key"] for t in tags])
        if self.store.tag_count(ctx.account, resource_id, [t["Key"] for t in tags]) > 50:
            raise AwsError("LimitExceeded", f"The number of tags has reached the maximum limit ({quota}: 50).", 409)
        self.store.put_tags(ctx.account, resource_id, tags)

    def _untag(self, ctx, resource_id: str, keys: list) -> None:
        self._refuse_reserved(ctx, keys)
        self.store.remove_tags(ctx.account, resource_id, keys)

    @staticmethod
    def _refuse_reserved(ctx, keys: list) -> None:
        if bad := reserved_tags.refused(ctx, keys):
            raise AwsError("InvalidInput", f"Tag keys beginning with aws: are reserved for AWS use and cannot be added, changed or removed: {', '.join(bad)}")

    def _list_tags(self, ctx, resource_id: str, params: dict) -> dict:
        tags = self.store.tags(ctx.account, resource_id)
        indexed = [(f"{i:06d}", tag) for i, tag in enumerate(tags)]
        page, more = paginate(indexed, params, key=lambda item: item[0])
        return {"Tags": [tag for _, tag in page], **more}

    def _caller_user(self, ctx) -> Entity | None:
        """The IAM user whose access key signed the request, if it is one overcast issued."""
        key = self.store.access_key(ctx.access_key) if ctx.access_key else None
        return self.store.entity_by_id(key[1]) if key else None

    # -- policy ARNs ------------------------------------------------------------------------

    def _parse_policy_arn(self, arn: str | None) -> tuple[str, str, str]:
        """(account or 'aws', path, name); InvalidInput when arn is not a policy ARN."""
        if arn is None:
            raise validation_error(["Value null at 'policyArn' failed to satisfy constraint: Member must not be null"])
        match = _POLICY_ARN.fullmatch(arn)
        if match is None:
            if not arn.startswith("arn:") or arn.count(":") < 5:  # not an ARN at all (a policy's name...)
                raise AwsError("ValidationError", "Invalid ARN:  Could not be parsed!", 400)
            raise _invalid_arn(arn)
        return match.group(1), match.group(2), match.group(3)

    def _policy_view(self, ctx, arn: str, *, attach: bool = False) -> dict:
        """A managed policy, customer or AWS, as a dict of its fields; NoSuchEntity if missing."""
        owner, path, name = self._parse_policy_arn(arn)
        missing = AwsError(
            "NoSuchEntity",
            f"Policy {arn} does not exist or is not attachable." if attach else f"Policy {arn} was not found.",
            404,
        )
        if owner == "aws":
            if not is_aws_managed(arn):
                raise missing
            path, name, description, _ = aws_managed(arn)
            return {
                "arn": arn, "name": name, "id": stable_id(common.POLICY_ID, arn), "path": path,
                "description": description, "default_version": "v1", "created": _AWS_POLICY_CREATED,
                "updated": _AWS_POLICY_CREATED, "aws": True,
            }
        policy = self.store.policy(ctx.account, arn)
        if policy is None or owner != ctx.account:
            raise missing
        return {
            "arn": policy.arn, "name": policy.name, "id": policy.id, "path": policy.path,
            "description": policy.description, "default_version": policy.default_version,
            "created": policy.created, "updated": policy.updated, "aws": False, "policy": policy,
        }

    def _customer_policy(self, ctx, arn: str) -> ManagedPolicy:
        view = self._policy_view(ctx, arn)
        if view["aws"]:
            raise AwsError("AccessDenied", f"AWS managed policy {arn} cannot be modified.", 403)
        return view["policy"]

    def _policy_out(self, ctx, view: dict, full: bool = True) -> dict:
        output = {
            "PolicyName": view["name"],
            "PolicyId": view["id"],
            "Arn": view["arn"],
            "Path": view["path"],
            "DefaultVersionId": view["default_version"],
            "AttachmentCount": self.store.attachment_count(ctx.account, view["arn"]),
            "PermissionsBoundaryUsageCount": self.store.boundary_count(ctx.account, view["arn"]),
            "IsAttachable": True,
            "CreateDate": as_datetime(view["created"]),
            "UpdateDate": as_datetime(view["updated"]),
        }
        if full:
            if view["description"]:
                output["Description"] = view["description"]
            if not view["aws"]:
                tags = self.store.tags(ctx.account, view["id"])
                if tags:
                    output["Tags"] = tags
        return output

    def _boundary_arn(self, ctx, arn: str | None) -> str | None:
        if arn is None:
            return None
        owner, _, _ = self._parse_policy_arn(arn)
        if owner == "aws" or self.store.policy(ctx.account, arn) is not None:
            return arn
        raise AwsError("NoSuchEntity", f"Scope ARN: {arn} does not exist or is not attachable.", 404)

    # -- attachments and inline policies, for roles, users and groups -------------------------

    def _attach(self, ctx, kind: str, params: dict) -> dict:
        entity = self._get(ctx, kind, params.get(_NAME_MEMBER[kind]))
        arn = params.get("PolicyArn")
        self._policy_view(ctx, arn, attach=True)
        attached = self.store.attached(ctx.account, entity.id)
        if arn not in attached and len(attached) >= 10:
            raise AwsError("LimitExceeded", f"Cannot exceed quota for {_ATTACHED_QUOTA[kind]}: 10", 409)
        self.store.attach(ctx.account, entity.id, arn)
        return {}

    def _detach(self, ctx, kind: str, params: dict) -> dict:
        entity = self._get(ctx, kind, params.get(_NAME_MEMBER[kind]))
        arn = params.get("PolicyArn")
        self._parse_policy_arn(arn)
        if not self.store.detach(ctx.account, entity.id, arn):
            raise AwsError("NoSuchEntity", f"Policy {arn} was not found.", 404)
        return {}

    def _list_attached(self, ctx, kind: str, params: dict) -> dict:
        entity = self._get(ctx, kind, params.get(_NAME_MEMBER[kind]))
        prefix = params.get("PathPrefix") or "/"
        items = []
        for arn in self.store.attached(ctx.account, entity.id):
            match = _POLICY_ARN.fullmatch(arn)
            if match and match.group(2).startswith(prefix):
                items.append({"PolicyName": match.group(3), "PolicyArn": arn})
        # by name, upper case first (AWS's recorded answer lists AWSLambdaBasicExecutionRole before
        # AmazonSNSFullAccess: LocalStack's cloudformation/resources/test_sam_policies)
        items.sort(key=lambda p: (p["PolicyName"], p["PolicyArn"]))
        page, more = paginate(items, params, key=lambda p: f"{p['PolicyName']}\x00{p['PolicyArn']}")
        return {"AttachedPolicies": page, **more}

    def _put_inline(self, ctx, kind: str, params: dict) -> dict:
        entity = self._get(ctx, kind, params.get(_NAME_MEMBER[kind]))
        name = check_name(params.get("PolicyName"), "PolicyName", 128)
        document = params.get("PolicyDocument")
        check_document(document)
        existing = self.store.inline_all(ctx.account, entity.id)
        size = sum(len("".join(doc.split())) for n, doc in existing if n.lower() != name.lower())
        if size + len("".join(document.split())) > _INLINE_QUOTA[kind]:
            raise AwsError(
                "LimitExceeded",
                f"Maximum policy size of {_INLINE_QUOTA[kind]} bytes exceeded for {_KIND_LABEL[kind]} {entity.name}",
                409,
            )
        self.store.put_inline(ctx.account, entity.id, name, document)
        return {}

    def _get_inline(self, ctx, kind: str, params: dict) -> dict:
        entity = self._get(ctx, kind, params.get(_NAME_MEMBER[kind]))
        name = check_name(params.get("PolicyName"), "PolicyName", 128)
        found = self.store.inline(ctx.account, entity.id, name)
        if found is None:
            raise AwsError("NoSuchEntity", f"The {_KIND_LABEL[kind]} policy with name {name} cannot be found.", 404)
        return {_NAME_MEMBER[kind]: entity.name, "PolicyName": found[0], "PolicyDocument": encode_document(found[1])}

    def _list_inline(self, ctx, kind: str, params: dict) -> dict:
        entity = self._get(ctx, kind, params.get(_NAME_MEMBER[kind]))
        names = [name for name, _ in self.store.inline_all(ctx.account, entity.id)]
        page, more = paginate(names, params, key=str.lower)
        return {"PolicyNames": page, **more}

    def _delete_inline(self, ctx, kind: str, params: dict) -> dict:
        entity = self._get(ctx, kind, params.get(_NAME_MEMBER[kind]))
        name = check_name(params.get("PolicyName"), "PolicyName", 128)
        if not self.store.delete_inline(ctx.account, entity.id, name):
            raise AwsError("NoSuchEntity", f"The {_KIND_LABEL[kind]} policy with name {name} cannot be found.", 404)
        return {}

    def _check_no_policies(self, ctx, entity: Entity) -> None:
        if self.store.attached(ctx.account, entity.id):
            raise _conflict("Cannot delete entity, must detach all policies first.")
        if self.store.inline_all(ctx.account, entity.id):
            raise _conflict("Cannot delete entity, must delete policies first.")

    # == roles ====================================================================================

    def _role_out(self, ctx, role: Entity, full: bool = True) -> dict:
        output = {
            "Path": role.path,
            "RoleName": role.name,
            "RoleId": role.id,
            "Arn": role.arn,
            "CreateDate": as_datetime(role.created),
            "AssumeRolePolicyDocument": encode_document(role.assume_policy) if role.assume_policy else None,
            "Description": role.description or None,
            "MaxSessionDuration": role.max_session,
        }
        if full:
            output["PermissionsBoundary"] = _boundary(role.boundary)
            output["Tags"] = self.store.tags(ctx.account, role.id) or None
            output["RoleLastUsed"] = {}
        return _clean(output)

    @staticmethod
    def _check_description(description: str | None) -> None:
        if description is not None and len(description) > 1000:
            raise validation_error(
                [f"Value '{description}' at 'description' failed to satisfy constraint: "
                 "Member must have length less than or equal to 1000"]
            )

    @staticmethod
    def _check_modifiable(role: Entity) -> None:
        if role.path.startswith(_SERVICE_ROLE_PATH):
            raise AwsError(
                "UnmodifiableEntity",
                f"Cannot perform the operation on the protected role '{role.name}' - this role is only modifiable by AWS",
                400,
            )

    def create_role(self, ctx, params: dict) -> dict:
        check_name(params.get("RoleName"), "RoleName", 64)
        document = params.get("AssumeRolePolicyDocument")
        check_document(document, trust=True, member="AssumeRolePolicyDocument")
        self._check_description(params.get("Description"))
        max_session = check_range(params.get("MaxSessionDuration"), "MaxSessionDuration", 3600, 43200) or 3600
        boundary = self._boundary_arn(ctx, params.get("PermissionsBoundary"))
        role = self._create(
            ctx, ROLE, params["RoleName"], params.get("Path"), params.get("Tags"),
            description=params.get("Description"), assume_policy=document, max_session=max_session, boundary=boundary,
        )
        output = self._role_out(ctx, role)
        output.pop("RoleLastUsed", None)
        if params.get("MaxSessionDuration") is None:  # AWS's recorded answers name it only when it was set
            output.pop("MaxSessionDuration", None)
        return {"Role": output}

    def get_role(self, ctx, params: dict) -> dict:
        return {"Role": self._role_out(ctx, self._get(ctx, ROLE, params.get("RoleName")))}

    def list_roles(self, ctx, params: dict) -> dict:
        prefix = check_path(params.get("PathPrefix"), "PathPrefix", prefix=True)
        roles = self.store.entities(ctx.account, ROLE, prefix)
        page, more = paginate(roles, params, key=lambda r: r.name.lower())
        return {"Roles": [self._role_out(ctx, r, full=False) for r in page], **more}

    def update_role(self, ctx, params: dict) -> dict:
        role = self._get(ctx, ROLE, params.get("RoleName"))
        self._check_modifiable(role)
        changes = {}
        if params.get("Description") is not None:
            self._check_description(params["Description"])
            changes["description"] = params["Description"]
        if params.get("MaxSessionDuration") is not None:
            changes["max_session"] = check_range(params["MaxSessionDuration"], "MaxSessionDuration", 3600, 43200)
        if changes:
            self.store.update_entity(role.id, **changes)
        return {}

    def update_role_description(self, ctx, params: dict) -> dict:
        role = self._get(ctx, ROLE, params.get("RoleName"))  # a service-linked role's description may change too
        self._check_description(params.get("Description"))
        self.store.update_entity(role.id, description=params.get("Description"))
        return {"Role": self._role_out(ctx, self.store.entity_by_id(role.id))}

    def update_assume_role_policy(self, ctx, params: dict) -> dict:
        role = self._get(ctx, ROLE, params.get("RoleName"))
        self._check_modifiable(role)
        document = params.get("PolicyDocument")
        check_document(document, trust=True)
        self.store.update_entity(role.id, assume_policy=document)
        return {}

    def delete_role(self, ctx, params: dict) -> dict:
        role = self._get(ctx, ROLE, params.get("RoleName"))
        self._check_modifiable(role)
        if self.store.containers(ctx.account, role.id):
            raise _conflict("Cannot delete entity, must remove roles from instance profile first.")
        self._check_no_policies(ctx, role)
        self.store.delete_entity(ctx.account, role.id)
        return {}

    def put_role_permissions_boundary(self, ctx, params: dict) -> dict:
        role = self._get(ctx, ROLE, params.get("RoleName"))
        self._check_modifiable(role)
        self.store.update_entity(role.id, boundary=self._boundary_arn(ctx, params.get("PermissionsBoundary")))
        return {}

    def delete_role_permissions_boundary(self, ctx, params: dict) -> dict:
        role = self._get(ctx, ROLE, params.get("RoleName"))
        self._check_modifiable(role)
        self.store.update_entity(role.id, boundary=None)
        return {}

    def tag_role(self, ctx, params: dict) -> dict:
        role = self._get(ctx, ROLE, params.get("RoleName"))
        self._tag(ctx, role.id, params.get("Tags"), "TagsPerRole")
        return {}

    def untag_role(self, ctx, params: dict) -> dict:
        role = self._get(ctx, ROLE, params.get("RoleName"))
        self._untag(ctx, role.id, params.get("TagKeys") or [])
        return {}

    def list_role_tags(self, ctx, params: dict) -> dict:
        return self._list_tags(ctx, self._get(ctx, ROLE, params.get("RoleName")).id, params)

    def attach_role_policy(self, ctx, params: dict) -> dict:
        role = self._get(ctx, ROLE, params.get("RoleName"))
        self._check_modifiable(role)
        return self._attach(ctx, ROLE, params)

    def detach_role_policy(self, ctx, params: dict) -> dict:
        return self._detach(ctx, ROLE, params)

    def list_attached_role_policies(self, ctx, params: dict) -> dict:
        return self._list_attached(ctx, ROLE, params)

    def put_role_policy(self, ctx, params: dict) -> dict:
        return self._put_inline(ctx, ROLE, params)

    def get_role_policy(self, ctx, params: dict) -> dict:
        return self._get_inline(ctx, ROLE, params)

    def list_role_policies(self, ctx, params: dict) -> dict:
        return self._list_inline(ctx, ROLE, params)

    def delete_role_policy(self, ctx, params: dict) -> dict:
        return self._delete_inline(ctx, ROLE, params)

    # -- service-linked roles ---------------------------------------------------------------

    def create_service_linked_role(self, ctx, params: dict) -> dict:
        service = params.get("AWSServiceName")
        check_name(service, "AWSServiceName", 128)
        facts = SERVICE_ROLES.get(service)
        if facts is None:
            raise AwsError("InvalidInput", f"Invalid service principal: {service}", 400)
        self._check_description(params.get("Description"))
        name = facts.role_name
        suffix = params.get("CustomSuffix")
        if suffix is not None:
            if not facts.custom_suffix:
                raise AwsError("InvalidInput", f"Custom suffix is not allowed for {service}", 400)
            check_name(suffix, "CustomSuffix", 64)
            name = f"{name}_{suffix}"
        trust = orjson.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }).decode()
        with self.db.transaction():
            try:
                role = self._create(
                    ctx, ROLE, name, f"{_SERVICE_ROLE_PATH}{service}/",
                    description=params.get("Description"), assume_policy=trust, max_session=3600,
                )
            except AwsError as error:
                if error.code != "EntityAlreadyExists":
                    raise
                raise AwsError(
                    "InvalidInput",
                    f"Service role name {name} has been taken in this account, please try a different suffix.",
                    400,
                ) from None
            self.store.attach(ctx.account, role.id, facts.policy_arn)
        output = self._role_out(ctx, role)
        output.pop("RoleLastUsed", None)
        output.pop("MaxSessionDuration", None)  # the answer to the create names neither; GetRole does
        return {"Role": output}

    def delete_service_linked_role(self, ctx, params: dict) -> dict:
        role = self._get(ctx, ROLE, params.get("RoleName"))
        if not role.path.startswith(_SERVICE_ROLE_PATH):
            raise AwsError("InvalidInput", f"Role {role.name} is not a service-linked role.", 400)
        with self.db.transaction():
            for arn in self.store.attached(ctx.account, role.id):
                self.store.detach(ctx.account, role.id, arn)
            for name, _ in self.store.inline_all(ctx.account, role.id):
                self.store.delete_inline(ctx.account, role.id, name)
            self.store.delete_entity(ctx.account, role.id)
        service = role.path[len(_SERVICE_ROLE_PATH):].strip("/")
        return {"DeletionTaskId": f"task/aws-service-role/{service}/{role.name}/{uuid.uuid4()}"}

    def get_service_linked_role_deletion_status(self, ctx, params: dict) -> dict:
        task = params.get("DeletionTaskId") or ""
        if not _DELETION_TASK.fullmatch(task):
            raise AwsError("InvalidInput", f"Invalid deletion task id: {task}", 400)
        return {"Status": "SUCCEEDED"}  # overcast deletes service-linked roles at once

    # == managed policies =========================================================================

    def create_policy(self, ctx, params: dict) -> dict:
        name = check_name(params.get("PolicyName"), "PolicyName", 128)
        path = params.get("Path") or "/"
        if not re.fullmatch(r"((/[A-Za-z0-9\.,\+@=_-]+)*)/", path) or len(path) > 512:
            raise validation_error(
                [f"Value '{path}' at 'path' failed to satisfy constraint: Member must satisfy regular expression "
                 r"pattern: ((/[A-Za-z0-9\.,\+@=_-]+)*)/"]
            )
        document = params.get("PolicyDocument")
        check_document(document)
        description = params.get("Description")
        if description is not None and len(description) > 1000:
            raise validation_error(
                [f"Value '{description}' at 'description' failed to satisfy constraint: "
                 "Member must have length less than or equal to 1000"]
            )
        self._check_tags(params.get("Tags"))
        created = now()
        policy = ManagedPolicy(
            account=ctx.account, arn=f"arn:aws:iam::{ctx.account}:policy{path}{name}", name=name,
            id=new_id(common.POLICY_ID), path=path, description=description, default_version="v1",
            next_version=2, created=created, updated=created,
        )
        if not self.store.add_policy(policy, document, params.get("Tags") or []):
            raise AwsError("EntityAlreadyExists", f"A policy called {name} already exists. Duplicate names are not allowed.", 409)
        return {"Policy": self._policy_out(ctx, self._policy_view(ctx, policy.arn))}

    def get_policy(self, ctx, params: dict) -> dict:
        return {"Policy": self._policy_out(ctx, self._policy_view(ctx, params.get("PolicyArn")))}

    def list_policies(self, ctx, params: dict) -> dict:
        scope = params.get("Scope") or "All"
        if scope not in ("All", "AWS", "Local"):
            raise validation_error(
                [f"Value '{scope}' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]"]
            )
        prefix = params.get("PathPrefix") or "/"
        only_attached = bool(params.get("OnlyAttached"))
        usage = params.get("PolicyUsageFilter")
        views = []
        if scope in ("All", "AWS"):
            arns = {f"{AWS_POLICY_PREFIX}{path}{name}" for path, name, _, _ in AWS_MANAGED}
            arns |= SERVICE_ROLE_POLICY_ARNS
            arns |= {arn for arn in self.store.attached_arns(ctx.account) if is_aws_managed(arn)}
            views += [self._policy_view(ctx, arn) for arn in arns]
        if scope in ("All", "Local"):
            views += [self._policy_view(ctx, p.arn) for p in self.store.policies(ctx.account)]
        outputs = []
        for view in views:
            if not view["path"].startswith(prefix):
                continue
            output = self._policy_out(ctx, view, full=False)
            if only_attached or usage:
                used_as_policy = output["AttachmentCount"] > 0
                used_as_boundary = output["PermissionsBoundaryUsageCount"] > 0
                if usage == "PermissionsPolicy" and not used_as_policy:
                    continue
                if usage == "PermissionsBoundary" and not used_as_boundary:
                    continue
                if only_attached and not (used_as_policy or used_as_boundary):
                    continue
            outputs.append(output)
        outputs.sort(key=lambda p: (p["PolicyName"].lower(), p["Arn"]))
        page, more = paginate(outputs, params, key=lambda p: f"{p['PolicyName'].lower()}\x00{p['Arn']}")
        return {"Policies": page, **more}

    def delete_policy(self, ctx, params: dict) -> dict:
        policy = self._customer_policy(ctx, params.get("PolicyArn"))
        if self.store.attachment_count(ctx.account, policy.arn) or self.store.boundary_count(ctx.account, policy.arn):
            raise _conflict("Cannot delete a policy attached to entities.")
        if len(self.store.versions(ctx.account, policy.arn)) > 1:
            raise _conflict(
                "This policy has more than one version. Before you delete a policy, you must delete the policy's "
                "versions. The default version is deleted with the policy."
            )
        self.store.delete_policy(ctx.account, policy)
        return {}

    def create_policy_version(self, ctx, params: dict) -> dict:
        policy = self._customer_policy(ctx, params.get("PolicyArn"))
        document = params.get("PolicyDocument")
        check_document(document)
        if len(self.store.versions(ctx.account, policy.arn)) >= 5:
            raise AwsError(
                "LimitExceeded",
                "A managed policy can have up to 5 versions. Before you create a new version, you must delete an "
                "existing version.",
                409,
            )
        set_default = bool(params.get("SetAsDefault"))
        created = now()
        version_id = self.store.add_version(policy, document, set_default, created)
        return {"PolicyVersion": {"VersionId": version_id, "IsDefaultVersion": set_default, "CreateDate": as_datetime(created)}}

    def _version_view(self, ctx, arn: str, version_id: str | None) -> tuple[dict, tuple[str, str, float]]:
        if not version_id or not re.fullmatch(r"v[1-9][0-9]*(\.[A-Za-z0-9-]*)?", version_id):
            raise validation_error(
                [f"Value '{version_id}' at 'versionId' failed to satisfy constraint: Member must satisfy regular "
                 r"expression pattern: v[1-9][0-9]*(\.[A-Za-z0-9-]*)?"]
            )
        view = self._policy_view(ctx, arn)
        if view["aws"]:
            version = ("v1", aws_managed(arn)[3], _AWS_POLICY_CREATED) if version_id == "v1" else None
        else:
            version = self.store.version(ctx.account, arn, version_id)
        if version is None:
            raise AwsError("NoSuchEntity", f"Policy {arn} version {version_id} does not exist or is not attachable.", 404)
        return view, version

    def get_policy_version(self, ctx, params: dict) -> dict:
        view, (version_id, document, created) = self._version_view(ctx, params.get("PolicyArn"), params.get("VersionId"))
        return {
            "PolicyVersion": {
                "Document": encode_document(document),
                "VersionId": version_id,
                "IsDefaultVersion": version_id == view["default_version"],
                "CreateDate": as_datetime(created),
            }
        }

    def list_policy_versions(self, ctx, params: dict) -> dict:
        arn = params.get("PolicyArn")
        view = self._policy_view(ctx, arn)
        if view["aws"]:
            versions = [("v1", "", _AWS_POLICY_CREATED)]
        else:
            versions = self.store.versions(ctx.account, arn)
        items = [
            {"VersionId": v, "IsDefaultVersion": v == view["default_version"], "CreateDate": as_datetime(created)}
            for v, _, created in versions
        ]
        page, more = paginate(items, params, key=lambda item: f"{1_000_000_000 - int(item['VersionId'][1:]):010d}")
        return {"Versions": page, **more}

    def delete_policy_version(self, ctx, params: dict) -> dict:
        policy = self._customer_policy(ctx, params.get("PolicyArn"))
        _, (version_id, _, _) = self._version_view(ctx, policy.arn, params.get("VersionId"))
        if version_id == policy.default_version:
            raise _conflict("Cannot delete the default version of a policy.")
        self.store.delete_version(ctx.account, policy.arn, version_id)
        return {}

    def set_default_policy_version(self, ctx, params: dict) -> dict:
        policy = self._customer_policy(ctx, params.get("PolicyArn"))
        _, (version_id, _, _) = self._version_view(ctx, policy.arn, params.get("VersionId"))
        self.store.set_default_version(ctx.account, policy.arn, version_id, now())
        return {}

    def tag_policy(self, ctx, params: dict) -> dict:
        policy = self._customer_policy(ctx, params.get("PolicyArn"))
        self._tag(ctx, policy.id, params.get("Tags"), "TagsPerPolicy")
        return {}

    def untag_policy(self, ctx, params: dict) -> dict:
        policy = self._customer_policy(ctx, params.get("PolicyArn"))
        self._untag(ctx, policy.id, params.get("TagKeys") or [])
        return {}

    def list_policy_tags(self, ctx, params: dict) -> dict:
        view = self._policy_view(ctx, params.get("PolicyArn"))
        if view["aws"]:
            return {"Tags": [], "IsTruncated": False}
        return self._list_tags(ctx, view["id"], params)

    def list_entities_for_policy(self, ctx, params: dict) -> dict:
        arn = params.get("PolicyArn")
        self._policy_view(ctx, arn)
        wanted = params.get("EntityFilter")
        prefix = params.get("PathPrefix") or "/"
        usage = params.get("PolicyUsageFilter")
        entities = []
        if usage != "PermissionsBoundary":
            entities += self.store.entities_for_policy(ctx.account, arn)
        if usage != "PermissionsPolicy":
            for kind in (ROLE, USER):
                entities += [e for e in self.store.entities(ctx.account, kind) if e.boundary == arn]
        output = {"PolicyGroups": [], "PolicyUsers": [], "PolicyRoles": []}
        seen = set()
        for e in entities:
            if e.id in seen or not e.path.startswith(prefix):
                continue
            seen.add(e.id)
            if e.kind == ROLE and wanted in (None, "Role"):
                output["PolicyRoles"].append({"RoleName": e.name, "RoleId": e.id})
            elif e.kind == USER and wanted in (None, "User"):
                output["PolicyUsers"].append({"UserName": e.name, "UserId": e.id})
            elif e.kind == GROUP and wanted in (None, "Group"):
                output["PolicyGroups"].append({"GroupName": e.name, "GroupId": e.id})
        return {**output, "IsTruncated": False}

    # == users and access keys ====================================================================

    def _user_out(self, ctx, user: Entity, full: bool = True) -> dict:
        output = {
            "Path": user.path,
            "UserName": user.name,
            "UserId": user.id,
            "Arn": user.arn,
            "CreateDate": as_datetime(user.created),
        }
        if full:
            output["PermissionsBoundary"] = _boundary(user.boundary)
            output["Tags"] = self.store.tags(ctx.account, user.id) or None
        return _clean(output)

    def create_user(self, ctx, params: dict) -> dict:
        check_name(params.get("UserName"), "UserName", 64)
        boundary = self._boundary_arn(ctx, params.get("PermissionsBoundary"))
        user = self._create(ctx, USER, params["UserName"], params.get("Path"), params.get("Tags"), boundary=boundary)
        return {"User": self._user_out(ctx, user)}

    def get_user(self, ctx, params: dict) -> dict:
        if params.get("UserName") is None:
            user = self._caller_user(ctx)
            session = bool(ctx.principal) and ":user/" not in ctx.principal  # a role's or federated user's
            if user is None and session:
                raise validation_error(["Must specify userName when calling with non-User credentials"])
            if user is None:  # root credentials: IAM answers with the account's root user
                return {"User": {"Path": "/", "UserId": ctx.account, "Arn": f"arn:aws:iam::{ctx.account}:root",
                                 "CreateDate": as_datetime(self.providers.started_at)}}
            return {"User": self._user_out(ctx, user)}
        return {"User": self._user_out(ctx, self._get(ctx, USER, params["UserName"]))}

    def list_users(self, ctx, params: dict) -> dict:
        prefix = check_path(params.get("PathPrefix"), "PathPrefix", prefix=True)
        users = self.store.entities(ctx.account, USER, prefix)
        page, more = paginate(users, params, key=lambda u: u.name.lower())
        return {"Users": [self._user_out(ctx, u, full=False) for u in page], **more}

    def _rename(self, ctx, kind: str, entity: Entity, new_name: str | None, new_path: str | None) -> None:
        name = check_name(new_name, "New" + _NAME_MEMBER[kind], _NAME_MAX[kind]) if new_name else entity.name
        path = check_path(new_path, "NewPath") if new_path else entity.path
        if name.lower() != entity.name.lower() and self.store.entity(ctx.account, kind, name) is not None:
            raise _already_exists(kind, name)
        self.store.update_entity(entity.id, name=name, path=path, arn=self._arn(ctx.account, kind, path, name))

    def update_user(self, ctx, params: dict) -> dict:
        user = self._get(ctx, USER, params.get("UserName"))
        self._rename(ctx, USER, user, params.get("NewUserName"), params.get("NewPath"))
        return {}

    def delete_user(self, ctx, params: dict) -> dict:
        user = self._get(ctx, USER, params.get("UserName"))
        if self.store.access_keys(ctx.account, user.id):
            raise _conflict("Cannot delete entity, must delete access keys first.")
        if self.store.service_credentials(ctx.account, user.id):
            raise _conflict("Cannot delete entity, must remove referenced objects first.")
        if self.store.containers(ctx.account, user.id):
            raise _conflict("Cannot delete entity, must remove users from group first.")
        self._check_no_policies(ctx, user)
        self.store.delete_entity(ctx.account, user.id)
        return {}

    def tag_user(self, ctx, params: dict) -> dict:
        self._tag(ctx, self._get(ctx, USER, params.get("UserName")).id, params.get("Tags"), "TagsPerUser")
        return {}

    def untag_user(self, ctx, params: dict) -> dict:
        user = self._get(ctx, USER, params.get("UserName"))
        self._untag(ctx, user.id, params.get("TagKeys") or [])
        return {}

    def list_user_tags(self, ctx, params: dict) -> dict:
        return self._list_tags(ctx, self._get(ctx, USER, params.get("UserName")).id, params)

    def put_user_permissions_boundary(self, ctx, params: dict) -> dict:
        user = self._get(ctx, USER, params.get("UserName"))
        self.store.update_entity(user.id, boundary=self._boundary_arn(ctx, params.get("PermissionsBoundary")))
        return {}

    def delete_user_permissions_boundary(self, ctx, params: dict) -> dict:
        user = self._get(ctx, USER, params.get("UserName"))
        self.store.update_entity(user.id, boundary=None)
        return {}

    def attach_user_policy(self, ctx, params: dict) -> dict:
        return self._attach(ctx, USER, params)

    def detach_user_policy(self, ctx, params: dict) -> dict:
        return self._detach(ctx, USER, params)

    def list_attached_user_policies(self, ctx, params: dict) -> dict:
        return self._list_attached(ctx, USER, params)

    def put_user_policy(self, ctx, params: dict) -> dict:
        return self._put_inline(ctx, USER, params)

    def get_user_policy(self, ctx, params: dict) -> dict:
        return self._get_inline(ctx, USER, params)

    def list_user_policies(self, ctx, params: dict) -> dict:
        return self._list_inline(ctx, USER, params)

    def delete_user_policy(self, ctx, params: dict) -> dict:
        return self._delete_inline(ctx, USER, params)

    def _key_owner(self, ctx, params: dict) -> Entity:
        if params.get("UserName") is not None:
            return self._get(ctx, USER, params["UserName"])
        user = self._caller_user(ctx)
        if user is None:
            raise validation_error(["Must specify userName when calling with non-User credentials"])
        return user

    def create_access_key(self, ctx, params: dict) -> dict:
        user = self._key_owner(ctx, params)
        if len(self.store.access_keys(ctx.account, user.id)) >= 2:
            raise AwsError("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2", 409)
        key_id, secret, created = common.new_access_key_id(), common.new_secret(), now()
        self.store.add_access_key(ctx.account, key_id, user.id, secret, created)
        return {
            "AccessKey": {
                "UserName": user.name, "AccessKeyId": key_id, "Status": "Active",
                "SecretAccessKey": secret, "CreateDate": as_datetime(created),
            }
        }

    def list_access_keys(self, ctx, params: dict) -> dict:
        user = self._key_owner(ctx, params)
        keys = [
            {"UserName": user.name, "AccessKeyId": k, "Status": status, "CreateDate": as_datetime(created)}
            for k, status, created in self.store.access_keys(ctx.account, user.id)
        ]
        page, more = paginate(keys, params, key=lambda k: k["AccessKeyId"])
        return {"AccessKeyMetadata": page, **more}

    def update_access_key(self, ctx, params: dict) -> dict:
        user = self._key_owner(ctx, params)
        status = params.get("Status")
        if status not in ("Active", "Inactive"):
            raise validation_error(
                [f"Value '{status}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]"]
            )
        if not self.store.update_access_key(ctx.account, user.id, params.get("AccessKeyId"), status):
            raise AwsError("NoSuchEntity", f"The Access Key with id {params.get('AccessKeyId')} cannot be found.", 404)
        return {}

    def delete_access_key(self, ctx, params: dict) -> dict:
        user = self._key_owner(ctx, params)
        if not self.store.delete_access_key(ctx.account, user.id, params.get("AccessKeyId")):
            raise AwsError("NoSuchEntity", f"The Access Key with id {params.get('AccessKeyId')} cannot be found.", 404)
        return {}

    def get_access_key_last_used(self, ctx, params: dict) -> dict:
        key = self.store.access_key(params.get("AccessKeyId") or "")
        if key is None or key[0] != ctx.account:
            raise AwsError("AccessDenied", "The specified access key is not found or is not accessible.", 403)
        user = self.store.entity_by_id(key[1])
        return {
            "UserName": user.name if user else None,
            "AccessKeyLastUsed": {"ServiceName": "N/A", "Region": "N/A"},
        }

    # -- service-specific credentials (CodeCommit Git, Amazon Keyspaces) ----------------------

    @staticmethod
    def _credential_service(service: str | None) -> str:
        if service == _BEDROCK:
            raise not_implemented("Service-specific credentials for Amazon Bedrock (API keys)")
        if service not in _CREDENTIAL_SERVICES:
            raise AwsError("NoSuchEntity", f"No such service {service} is supported for Service Specific Credentials", 404)
        return service

    def _credential(self, ctx, params: dict) -> tuple[Entity, ServiceCredential]:
        # the id's pattern and length, and the status's values, are checked against the model
        credential_id = params["ServiceSpecificCredentialId"]
        user = self._key_owner(ctx, params)
        credential = self.store.service_credential(ctx.account, user.id, credential_id)
        if credential is None:
            raise AwsError("NoSuchEntity", f"No such credential {credential_id} exists", 404)
        return user, credential

    @staticmethod
    def _credential_out(user: Entity, credential: ServiceCredential, password: bool = False) -> dict:
        output = {
            "UserName": user.name,
            "Status": credential.status,
            "ServiceUserName": credential.service_user_name,
            "CreateDate": as_datetime(credential.created),
            "ServiceSpecificCredentialId": credential.id,
            "ServiceName": credential.service,
        }
        if password:
            output["ServicePassword"] = credential.password
        return output

    def create_service_specific_credential(self, ctx, params: dict) -> dict:
        user = self._get(ctx, USER, params.get("UserName"))
        service = self._credential_service(params.get("ServiceName"))
        if params.get("CredentialAgeDays") is not None:
            raise not_implemented("Expiring service-specific credentials (CredentialAgeDays)")
        with self.db.transaction():
            existing = [c for c in self.store.service_credentials(ctx.account, user.id) if c.service == service]
            if len(existing) >= 2:
                raise AwsError("LimitExceeded", "Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: 2", 409)
            credential = ServiceCredential(
                id=new_id(common.SERVICE_CREDENTIAL_ID), account=ctx.account, user_id=user.id, service=service,
                service_user_name=f"{user.name}-at-{ctx.account}", password=common.new_service_password(),
                status="Active", created=now(),
            )
            self.store.add_service_credential(credential)
        return {"ServiceSpecificCredential": self._credential_out(user, credential, password=True)}

    def list_service_specific_credentials(self, ctx, params: dict) -> dict:
        service = params.get("ServiceName")
        if service is not None:
            self._credential_service(service)
        if params.get("AllUsers"):
            credentials = self.store.service_credentials(ctx.account)
        else:
            credentials = self.store.service_credentials(ctx.account, self._key_owner(ctx, params).id)
        users = {}
        items = []
        for credential in credentials:
            if service is not None and credential.service != service:
                continue
            user = users.get(credential.user_id) or self.store.entity_by_id(credential.user_id)
            users[credential.user_id] = user
            items.append(self._credential_out(user, credential))
        if params.get("Marker") is None and params.get("MaxItems") is None:
            return {"ServiceSpecificCredentials": items}  # AWS's answer names no IsTruncated then
        page, more = paginate(items, params, key=lambda c: f"{c['CreateDate'].timestamp():020.3f}{c['ServiceSpecificCredentialId']}")
        return {"ServiceSpecificCredentials": page, **more}

    def update_service_specific_credential(self, ctx, params: dict) -> dict:
        _, credential = self._credential(ctx, params)
        self.store.update_service_credential(credential.id, status=params["Status"])
        return {}

    def reset_service_specific_credential(self, ctx, params: dict) -> dict:
        user, credential = self._credential(ctx, params)
        credential.password = common.new_service_password()
        self.store.update_service_credential(credential.id, password=credential.password)
        return {"ServiceSpecificCredential": self._credential_out(user, credential, password=True)}

    def delete_service_specific_credential(self, ctx, params: dict) -> dict:
        _, credential = self._credential(ctx, params)
        self.store.delete_service_credential(credential.id)
        return {}

    # == server certificates =======================================================================

    def _certificate(self, ctx, name: str) -> ServerCertificate:
        certificate = self.store.server_certificate(ctx.account, name)
        if certificate is None:
            raise AwsError("NoSuchEntity", f"The Server Certificate with name {name} cannot be found.", 404)
        return certificate

    @staticmethod
    def _certificate_metadata(ctx, certificate: ServerCertificate) -> dict:
        return {
            "Path": certificate.path,
            "ServerCertificateName": certificate.name,
            "ServerCertificateId": certificate.id,
            "Arn": f"arn:aws:iam::{ctx.account}:server-certificate{certificate.path}{certificate.name}",
            "UploadDate": as_datetime(certificate.uploaded),
            "Expiration": as_datetime(certificate.expires),
        }

    def upload_server_certificate(self, ctx, params: dict) -> dict:
        name = params["ServerCertificateName"]
        path = check_path(params.get("Path"))
        tags = params.get("Tags")
        self._check_tags(tags)
        self._refuse_reserved(ctx, [t["Key"] for t in tags or []])
        expires = certificates.check(params["CertificateBody"], params["PrivateKey"], params.get("CertificateChain"))
        certificate = ServerCertificate(
            account=ctx.account, name=name, id=new_id(common.SERVER_CERTIFICATE_ID), path=path,
            # kept without surrounding whitespace, as GetServerCertificate answers (AWS's recorded answer)
            body=params["CertificateBody"].strip(), chain=(params.get("CertificateChain") or "").strip() or None,
            uploaded=now(), expires=expires,
        )
        with self.db.transaction():
            if not self.store.add_server_certificate(certificate):
                raise AwsError("EntityAlreadyExists", f"The Server Certificate with name {name} already exists.", 409)
            if tags:
                self.store.put_tags(ctx.account, certificate.id, tags)
        return _clean({"ServerCertificateMetadata": self._certificate_metadata(ctx, certificate), "Tags": tags or None})

    def get_server_certificate(self, ctx, params: dict) -> dict:
        certificate = self._certificate(ctx, params["ServerCertificateName"])
        return {"ServerCertificate": _clean({
            "ServerCertificateMetadata": self._certificate_metadata(ctx, certificate),
            "CertificateBody": certificate.body,
            "CertificateChain": certificate.chain,
            "Tags": self.store.tags(ctx.account, certificate.id),
        })}

    def list_server_certificates(self, ctx, params: dict) -> dict:
        prefix = check_path(params.get("PathPrefix"), "PathPrefix", prefix=True)
        page, more = paginate(self.store.server_certificates(ctx.account, prefix), params, key=lambda c: c.name.lower())
        return {"ServerCertificateMetadataList": [self._certificate_metadata(ctx, c) for c in page], **more}

    def update_server_certificate(self, ctx, params: dict) -> dict:
        certificate = self._certificate(ctx, params["ServerCertificateName"])
        name = params.get("NewServerCertificateName") or certificate.name
        path = params.get("NewPath") or certificate.path
        with self.db.transaction():
            other = self.store.server_certificate(ctx.account, name)
            if other is not None and other.id != certificate.id:
                raise AwsError("EntityAlreadyExists", f"The Server Certificate with name {name} already exists.", 409)
            self.store.update_server_certificate(ctx.account, certificate.id, name, path)
        return {}

    def delete_server_certificate(self, ctx, params: dict) -> dict:
        certificate = self._certificate(ctx, params["ServerCertificateName"])
        self.store.delete_server_certificate(ctx.account, certificate.id)
        return {}

    def tag_server_certificate(self, ctx, params: dict) -> dict:
        certificate = self._certificate(ctx, params["ServerCertificateName"])
        self._tag(ctx, certificate.id, params.get("Tags"), "TagsPerServerCertificate")
        return {}

    def untag_server_certificate(self, ctx, params: dict) -> dict:
        certificate = self._certificate(ctx, params["ServerCertificateName"])
        self._untag(ctx, certificate.id, params.get("TagKeys") or [])
        return {}

    def list_server_certificate_tags(self, ctx, params: dict) -> dict:
        return self._list_tags(ctx, self._certificate(ctx, params["ServerCertificateName"]).id, params)

    # == the policy simulator ======================================================================

    def _managed_document(self, ctx, arn: str) -> str:
        view = self._policy_view(ctx, arn)
        if view["aws"]:
            return aws_managed(arn)[3]
        return self.store.version(ctx.account, arn, view["default_version"])[1]

    def _entity_sources(self, ctx, entity: Entity, excluded: set[str]) -> list[simulate.PolicySource]:
        """An entity's inline and attached policies, as the simulator's policy sources."""
        sources = [simulate.PolicySource(name, simulate.IDENTITY_TYPE, document)
                   for name, document in self.store.inline_all(ctx.account, entity.id)]
        for arn in self.store.attached(ctx.account, entity.id):
            if arn not in excluded:
                sources.append(simulate.PolicySource(arn.rsplit("/", 1)[1], simulate.IDENTITY_TYPE,
                                                     self._managed_document(ctx, arn)))
        return sources

    def _source_entity(self, ctx, arn: str) -> tuple[str, Entity]:
        match = re.fullmatch(r"arn:aws[\w-]*:iam::(\d{12}):(user|group|role)((?:/[\x21-\x7e]*)?/)([\w+=,.@-]+)", arn,
                             re.ASCII)
        if match is None:
            raise AwsError("InvalidInput", f"Invalid Entity Arn: {arn} does not clearly define entity type and name.", 400)
        account, kind, _, name = match.groups()
        entity = self.store.entity(account, kind, name) if account == ctx.account else None
        if entity is None or entity.arn != arn:
            raise _not_found(kind, name)
        return kind, entity

    @staticmethod
    def _input_sources(documents: list | None, member: str) -> list[simulate.PolicySource]:
        """Policies given in the request, checked as IAM checks identity policies."""
        sources = []
        for number, document in enumerate(documents or [], start=1):
            try:
                check_document(document, member=member)
            except AwsError as error:
                raise AwsError("InvalidInput", error.message, 400) from None
            sources.append(simulate.PolicySource(f"{member}.{number}", simulate.IDENTITY_TYPE, document))
        return sources

    def _simulate(self, ctx, params: dict, identity: list, boundaries: list, principal_arn: str) -> dict:
        if params.get("ResourceHandlingOption") is not None:
            raise not_implemented("The policy simulator's EC2 scenarios (ResourceHandlingOption)")
        caller = params.get("CallerArn") or principal_arn
        principal_account = caller.split(":")[4] if caller.count(":") >= 5 else ctx.account
        owner = params.get("ResourceOwner")
        owner_account = owner.split(":")[4] if owner and owner.count(":") >= 5 else owner or principal_account
        resource_policy = params.get("ResourcePolicy")
        simulation = simulate.Simulation(
            identity=identity,
            boundaries=boundaries,
            resource_policy=simulate.PolicySource("ResourcePolicy", simulate.RESOURCE_TYPE, resource_policy)
            if resource_policy else None,
            principal=evaluator.Principal(principal_account, caller if ":root" not in caller else ""),
            context=simulate.context_from_entries(params.get("ContextEntries")),
            cross_account=owner_account != principal_account,
        )
        results = simulate.simulate(simulation, params.get("ActionNames") or [], params.get("ResourceArns") or ["*"])
        numbered = [(f"{i:06d}", r) for i, r in enumerate(results)]
        page, more = paginate(numbered, params, key=lambda item: item[0])
        return {"EvaluationResults": [r for _, r in page], **more}

    def simulate_principal_policy(self, ctx, params: dict) -> dict:
        arn = params["PolicySourceArn"]
        kind, entity = self._source_entity(ctx, arn)
        excluded = set(params.get("PolicyExclusionList") or [])
        identity = self._entity_sources(ctx, entity, excluded)
        if kind == USER:
            for group in self.store.containers(ctx.account, entity.id):
                identity += self._entity_sources(ctx, group, excluded)
        identity += self._input_sources(params.get("PolicyInputList"), "PolicyInputList")
        boundaries = self._input_sources(params.get("PermissionsBoundaryPolicyInputList"),
                                         "PermissionsBoundaryPolicyInputList")
        if not boundaries and entity.boundary:
            boundaries = [simulate.PolicySource(entity.boundary.rsplit("/", 1)[1], "PermissionsBoundaryPolicy",
                                                self._managed_document(ctx, entity.boundary))]
        return self._simulate(ctx, params, identity, boundaries, arn)

    def simulate_custom_policy(self, ctx, params: dict) -> dict:
        if params.get("OrderedOrganizationPolicyInputList"):
            raise not_implemented("Simulating organization policies (OrderedOrganizationPolicyInputList)")
        identity = self._input_sources(params.get("PolicyInputList"), "PolicyInputList")
        boundaries = self._input_sources(params.get("PermissionsBoundaryPolicyInputList"),
                                         "PermissionsBoundaryPolicyInputList")
        return self._simulate(ctx, params, identity, boundaries, f"arn:aws:iam::{ctx.account}:root")

    # == groups ===================================================================================

    def _group_out(self, group: Entity) -> dict:
        return {
            "Path": group.path, "GroupName": group.name, "GroupId": group.id,
            "Arn": group.arn, "CreateDate": as_datetime(group.created),
        }

    def create_group(self, ctx, params: dict) -> dict:
        group = self._create(ctx, GROUP, params.get("GroupName"), params.get("Path"))
        return {"Group": self._group_out(group)}

    def get_group(self, ctx, params: dict) -> dict:
        group = self._get(ctx, GROUP, params.get("GroupName"))
        users = self.store.members(ctx.account, group.id)
        page, more = paginate(users, params, key=lambda u: u.name.lower())
        return {"Group": self._group_out(group), "Users": [self._user_out(ctx, u, full=False) for u in page], **more}

    def list_groups(self, ctx, params: dict) -> dict:
        prefix = check_path(params.get("PathPrefix"), "PathPrefix", prefix=True)
        groups = self.store.entities(ctx.account, GROUP, prefix)
        page, more = paginate(groups, params, key=lambda g: g.name.lower())
        return {"Groups": [self._group_out(g) for g in page], **more}

    def update_group(self, ctx, params: dict) -> dict:
        group = self._get(ctx, GROUP, params.get("GroupName"))
        self._rename(ctx, GROUP, group, params.get("NewGroupName"), params.get("NewPath"))
        return {}

    def delete_group(self, ctx, params: dict) -> dict:
        group = self._get(ctx, GROUP, params.get("GroupName"))
        if self.store.members(ctx.account, group.id):
            raise _conflict("Cannot delete entity, must remove users from group first.")
        self._check_no_policies(ctx, group)
        self.store.delete_entity(ctx.account, group.id)
        return {}

    def add_user_to_group(self, ctx, params: dict) -> dict:
        group = self._get(ctx, GROUP, params.get("GroupName"))
        user = self._get(ctx, USER, params.get("UserName"))
        groups = self.store.containers(ctx.account, user.id)
        if group.id not in {g.id for g in groups} and len(groups) >= 10:
            raise AwsError("LimitExceeded", "Cannot exceed quota for GroupsPerUser: 10", 409)
        self.store.add_member(ctx.account, group.id, user.id)
        return {}

    def remove_user_from_group(self, ctx, params: dict) -> dict:
        group = self._get(ctx, GROUP, params.get("GroupName"))
        user = self._get(ctx, USER, params.get("UserName"))
        if not self.store.remove_member(ctx.account, group.id, user.id):
            raise AwsError("NoSuchEntity", f"User {user.name} is not in group {group.name}.", 404)
        return {}

    def list_groups_for_user(self, ctx, params: dict) -> dict:
        user = self._get(ctx, USER, params.get("UserName"))
        groups = self.store.containers(ctx.account, user.id)
        page, more = paginate(groups, params, key=lambda g: g.name.lower())
        return {"Groups": [self._group_out(g) for g in page], **more}

    def attach_group_policy(self, ctx, params: dict) -> dict:
        return self._attach(ctx, GROUP, params)

    def detach_group_policy(self, ctx, params: dict) -> dict:
        return self._detach(ctx, GROUP, params)

    def list_attached_group_policies(self, ctx, params: dict) -> dict:
        return self._list_attached(ctx, GROUP, params)

    def put_group_policy(self, ctx, params: dict) -> dict:
        return self._put_inline(ctx, GROUP, params)

    def get_group_policy(self, ctx, params: dict) -> dict:
        return self._get_inline(ctx, GROUP, params)

    def list_group_policies(self, ctx, params: dict) -> dict:
        return self._list_inline(ctx, GROUP, params)

    def delete_group_policy(self, ctx, params: dict) -> dict:
        return self._delete_inline(ctx, GROUP, params)

    # == instance profiles ========================================================================

    def _profile_out(self, ctx, profile: Entity, tags: bool = True) -> dict:
        output = {
            "Path": profile.path,
            "InstanceProfileName": profile.name,
            "InstanceProfileId": profile.id,
            "Arn": profile.arn,
            "CreateDate": as_datetime(profile.created),
            "Roles": [self._role_out(ctx, r, full=False) for r in self.store.members(ctx.account, profile.id)],
        }
        if tags:
            output["Tags"] = self.store.tags(ctx.account, profile.id) or None
        return _clean(output)

    def create_instance_profile(self, ctx, params: dict) -> dict:
        profile = self._create(ctx, PROFILE, params.get("InstanceProfileName"), params.get("Path"), params.get("Tags"))
        return {"InstanceProfile": self._profile_out(ctx, profile)}

    def get_instance_profile(self, ctx, params: dict) -> dict:
        return {"InstanceProfile": self._profile_out(ctx, self._get(ctx, PROFILE, params.get("InstanceProfileName")))}

    def list_instance_profiles(self, ctx, params: dict) -> dict:
        prefix = check_path(params.get("PathPrefix"), "PathPrefix", prefix=True)
        profiles = self.store.entities(ctx.account, PROFILE, prefix)
        page, more = paginate(profiles, params, key=lambda p: p.name.lower())
        return {"InstanceProfiles": [self._profile_out(ctx, p, tags=False) for p in page], **more}

    def delete_instance_profile(self, ctx, params: dict) -> dict:
        profile = self._get(ctx, PROFILE, params.get("InstanceProfileName"))
        if self.store.members(ctx.account, profile.id):
            raise _conflict("Cannot delete entity, must remove roles from instance profile first.")
        self.store.delete_entity(ctx.account, profile.id)
        return {}

    def add_role_to_instance_profile(self, ctx, params: dict) -> dict:
        profile = self._get(ctx, PROFILE, params.get("InstanceProfileName"))
        role = self._get(ctx, ROLE, params.get("RoleName"))
        if self.store.members(ctx.account, profile.id):
            raise AwsError("LimitExceeded", "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1", 409)
        self.store.add_member(ctx.account, profile.id, role.id)
        return {}

    def remove_role_from_instance_profile(self, ctx, params: dict) -> dict:
        profile = self._get(ctx, PROFILE, params.get("InstanceProfileName"))
        role = self._get(ctx, ROLE, params.get("RoleName"))
        if not self.store.remove_member(ctx.account, profile.id, role.id):
            raise AwsError("NoSuchEntity", f"The role with name {role.name} cannot be found.", 404)
        return {}

    def list_instance_profiles_for_role(self, ctx, params: dict) -> dict:
        role = self._get(ctx, ROLE, params.get("RoleName"))
        profiles = self.store.containers(ctx.account, role.id)
        page, more = paginate(profiles, params, key=lambda p: p.name.lower())
        return {"InstanceProfiles": [self._profile_out(ctx, p, tags=False) for p in page], **more}

    def tag_instance_profile(self, ctx, params: dict) -> dict:
        profile = self._get(ctx, PROFILE, params.get("InstanceProfileName"))
        self._tag(ctx, profile.id, params.get("Tags"), "TagsPerInstanceProfile")
        return {}

    def untag_instance_profile(self, ctx, params: dict) -> dict:
        profile = self._get(ctx, PROFILE, params.get("InstanceProfileName"))
        self._untag(ctx, profile.id, params.get("TagKeys") or [])
        return {}

    def list_instance_profile_tags(self, ctx, params: dict) -> dict:
        return self._list_tags(ctx, self._get(ctx, PROFILE, params.get("InstanceProfileName")).id, params)

    # == account ==================================================================================

    def get_account_authorization_details(self, ctx, params: dict) -> dict:
        wanted = set(params.get("Filter") or ("User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"))
        account = ctx.account
        output = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}

        def inline(entity):
            return [{"PolicyName": n, "PolicyDocument": encode_document(d)} for n, d in self.store.inline_all(account, entity.id)]

        def attached(entity):
            return [{"PolicyName": arn.rsplit("/", 1)[1], "PolicyArn": arn} for arn in self.store.attached(account, entity.id)]

        if "User" in wanted:
            for user in self.store.entities(account, USER):
                output["UserDetailList"].append(_clean({
                    **self._user_out(ctx, user),
                    "UserPolicyList": inline(user),
                    "GroupList": [g.name for g in self.store.containers(account, user.id)],
                    "AttachedManagedPolicies": attached(user),
                }))
        if "Group" in wanted:
            for group in self.store.entities(account, GROUP):
                output["GroupDetailList"].append({
                    **self._group_out(group), "GroupPolicyList": inline(group), "AttachedManagedPolicies": attached(group),
                })
        if "Role" in wanted:
            for role in self.store.entities(account, ROLE):
                detail = self._role_out(ctx, role)
                detail.pop("Description", None)
                detail.pop("MaxSessionDuration", None)
                detail.update({
                    "InstanceProfileList": [self._profile_out(ctx, p, tags=False) for p in self.store.containers(account, role.id)],
                    "RolePolicyList": inline(role),
                    "AttachedManagedPolicies": attached(role),
                })
                output["RoleDetailList"].append(detail)
        arns = []
        if "LocalManagedPolicy" in wanted:
            arns += [p.arn for p in self.store.policies(account)]
        if "AWSManagedPolicy" in wanted:
            arns += sorted(arn for arn in self.store.attached_arns(account) if is_aws_managed(arn))
        for arn in arns:
            view = self._policy_view(ctx, arn)
            detail = self._policy_out(ctx, view)
            detail.pop("Tags", None)
            if view["aws"]:
                versions = [("v1", aws_managed(arn)[3], _AWS_POLICY_CREATED)]
            else:
                versions = self.store.versions(account, arn)
            detail["PolicyVersionList"] = [
                {"Document": encode_document(doc), "VersionId": v, "IsDefaultVersion": v == view["default_version"],
                 "CreateDate": as_datetime(created)}
                for v, doc, created in versions
            ]
            output["Policies"].append(detail)
        return {**output, "IsTruncated": False}

    # == for other services (STS) =================================================================

    def identity_for_access_key(self, access_key: str) -> dict | None:
        """The IAM user an overcast-issued access key belongs to: {Account, Arn, UserId}."""
        key = self.store.access_key(access_key) if access_key else None
        user = self.store.entity_by_id(key[1]) if key else None
        if user is None:
            return None
        return {"Account": user.account, "Arn": user.arn, "UserId": user.id}

    def secret_for_access_key(self, access_key: str) -> tuple[str, str] | None:
        """(account, secret) of an active access key overcast issued, for signature verification."""
        return self.store.active_key_secret(access_key)

    def role_for_arn(self, account: str, name: str) -> dict | None:
        """{RoleId, MaxSessionDuration, Arn, AssumeRolePolicyDocument} of a role, if it exists in
        overcast's IAM."""
        role = self.store.entity(account, ROLE, name)
        if role is None:
            return None
        return {"RoleId": role.id, "MaxSessionDuration": role.max_session, "Arn": role.arn,
                "AssumeRolePolicyDocument": role.assume_policy}
