"""AWS::KMS::Key and AWS::KMS::Alias, through the KMS provider."""

from __future__ import annotations

import json

from overcast.aws.errors import AwsError
from overcast.services.cloudformation.resources.base import (
    ResourceFailed,
    ResourceOp,
    ResourceType,
    is_missing,
    tag_changes,
    tag_map,
)

# What a change of these needs is a new key; the handler AWS runs does that by replacement, which
# overcast's engine does only for createOnly properties (these are not), so it refuses the update.
_FIXED = ("KeySpec", "KeyUsage", "Origin", "MultiRegion")


def _policy(props: dict) -> str | None:
    policy = props.get("KeyPolicy")
    if policy is None or isinstance(policy, str):
        return policy
    return json.dumps(policy)


def _false(value) -> bool:
    return str(value).lower() == "false"


def _true(value) -> bool:
    return str(value).lower() == "true"


class Key(ResourceType):
    type_name = "AWS::KMS::Key"

    async def create(self, op: ResourceOp):
        props = op.properties
        tags = [{"TagKey": k, "TagValue": v} for k, v in tag_map(props.get("Tags")).items()]
        metadata = (await op.call("kms", "CreateKey", {
            "Description": props.get("Description"), "Policy": _policy(props), "KeySpec": props.get("KeySpec"),
            "KeyUsage": props.get("KeyUsage"), "Origin": props.get("Origin"),
            "MultiRegion": _true(props.get("MultiRegion")) or None, "Tags": tags or None,
            "BypassPolicyLockoutSafetyCheck": _true(props.get("BypassPolicyLockoutSafetyCheck")) or None}))[
            "KeyMetadata"]
        key_id = metadata["KeyId"]
        op.physical_id = key_id  # a failure below leaves a key the rollback deletes
        try:
            if _true(props.get("EnableKeyRotation")):
                await op.call("kms", "EnableKeyRotation", {"KeyId": key_id,
                                                          "RotationPeriodInDays": _int(props.get("RotationPeriodInDays"))})
            if _false(props.get("Enabled")):
                await op.call("kms", "DisableKey", {"KeyId": key_id})
        except AwsError as e:
            e.physical_id = key_id
            raise
        return key_id, {"Arn": metadata["Arn"], "KeyId": key_id}

    async def update(self, op: ResourceOp):
        props, old, key_id = op.properties, op.old_properties, op.physical_id
        changed = [k for k in _FIXED if props.get(k) != old.get(k)]
        if changed:
            raise ResourceFailed(f"Changing {', '.join(changed)} of an AWS::KMS::Key (a new key) is not supported "
                                 "by overcast")
        if props.get("Description") != old.get("Description"):
            await op.call("kms", "UpdateKeyDescription", {"KeyId": key_id, "Description": props.get("Description") or ""})
        if _policy(props) != _policy(old) and props.get("KeyPolicy") is not None:
            await op.call("kms", "PutKeyPolicy", {"KeyId": key_id, "PolicyName": "default", "Policy": _policy(props),
                                                  "BypassPolicyLockoutSafetyCheck":
                                                      _true(props.get("BypassPolicyLockoutSafetyCheck")) or None})
        # a disabled key's rotation cannot change: enable first, disable last
        enabled = not _false(props.get("Enabled"))
        toggled = enabled != (not _false(old.get("Enabled")))
        if toggled and enabled:
            await op.call("kms", "EnableKey", {"KeyId": key_id})
        rotation = (_true(props.get("EnableKeyRotation")), props.get("RotationPeriodInDays"))
        if rotation != (_true(old.get("EnableKeyRotation")), old.get("RotationPeriodInDays")):
            if rotation[0]:
                await op.call("kms", "EnableKeyRotation", {"KeyId": key_id, "RotationPeriodInDays": _int(rotation[1])})
            else:
                await op.call("kms", "DisableKeyRotation", {"KeyId": key_id})
        if toggled and not enabled:
            await op.call("kms", "DisableKey", {"KeyId": key_id})
        tags, gone = tag_changes(old, props)
        if gone:
            await op.call("kms", "UntagResource", {"KeyId": key_id, "TagKeys": gone})
        if tags:
            await op.call("kms", "TagResource", {"KeyId": key_id, "Tags": [{"TagKey": k, "TagValue": v}
                                                                           for k, v in tags.items()]})
        return op.attributes

    async def delete(self, op: ResourceOp):
        # AWS schedules the key's deletion: PendingWindowInDays (7-30, default 30) later
        try:
            await op.call("kms", "ScheduleKeyDeletion", {"KeyId": op.physical_id,
                                                         "PendingWindowInDays": _int(op.properties.get(
                                                             "PendingWindowInDays"))})
        except AwsError as e:
            if not is_missing(e) and e.code != "KMSInvalidStateException":  # already pending deletion
                raise


def _int(value) -> int | None:
    return None if value is None else int(value)


class Alias(ResourceType):
    type_name = "AWS::KMS::Alias"

    async def create(self, op: ResourceOp):
        props = op.properties
        await op.call("kms", "CreateAlias", {"AliasName": props.get("AliasName"),
                                             "TargetKeyId": props.get("TargetKeyId")})
        return props.get("AliasName"), {}

    async def update(self, op: ResourceOp):
        await op.call("kms", "UpdateAlias", {"AliasName": op.physical_id,
                                             "TargetKeyId": op.properties.get("TargetKeyId")})
        return op.attributes

    async def delete(self, op: ResourceOp):
        try:
            await op.call("kms", "DeleteAlias", {"AliasName": op.physical_id})
        except AwsError as e:
            if not is_missing(e):
                raise
