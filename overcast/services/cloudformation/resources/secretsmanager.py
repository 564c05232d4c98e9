"""AWS::SecretsManager::Secret (with GenerateSecretString) and AWS::SecretsManager::RotationSchedule,
through the Secrets Manager provider."""

from __future__ import annotations

import json

from overcast.aws.errors import AwsError
from overcast.services.cloudformation.resources.base import (
    ResourceFailed,
    ResourceOp,
    ResourceType,
    is_missing,
)

_PASSWORD_OPTIONS = ("ExcludeCharacters", "ExcludeLowercase", "ExcludeNumbers", "ExcludePunctuation",
                     "ExcludeUppercase", "IncludeSpace", "PasswordLength", "RequireEachIncludedType")


def _bool(value) -> bool | None:
    return None if value is None else str(value).lower() == "true"


async def _secret_string(op: ResourceOp, props: dict) -> str | None:
    """SecretString as given, or the one GenerateSecretString describes: a random password, alone
    or placed under GenerateStringKey in the SecretStringTemplate JSON object."""
    generate = props.get("GenerateSecretString")
    if generate is None:
        return props.get("SecretString")
    if props.get("SecretString") is not None:
        raise ResourceFailed("You can't specify both SecretString and GenerateSecretString")
    options = {k: generate[k] for k in _PASSWORD_OPTIONS if k in generate}
    for key in ("ExcludeLowercase", "ExcludeNumbers", "ExcludePunctuation", "ExcludeUppercase", "IncludeSpace",
                "RequireEachIncludedType"):
        if key in options:
            options[key] = _bool(options[key])
    if "PasswordLength" in options:
        options["PasswordLength"] = int(options["PasswordLength"])
    password = (await op.call("secretsmanager", "GetRandomPassword", options))["RandomPassword"]
    template, key = generate.get("SecretStringTemplate"), generate.get("GenerateStringKey")
    if (template is None) != (key is None):
        raise ResourceFailed("SecretStringTemplate and GenerateStringKey must be given together")
    if template is None:
        return password
    try:
        document = json.loads(template)
    except ValueError:
        raise ResourceFailed("SecretStringTemplate must be a JSON object") from None
    if not isinstance(document, dict):
        raise ResourceFailed("SecretStringTemplate must be a JSON object")
    document[key] = password
    return json.dumps(document)


class Secret(ResourceType):
    type_name = "AWS::SecretsManager::Secret"
    name_length = 512

    async def create(self, op: ResourceOp):
        props = op.properties
        if props.get("ReplicaRegions"):
            raise ResourceFailed("ReplicaRegions is not supported by overcast")
        out = await op.call("secretsmanager", "CreateSecret", {
            "Name": op.name("Name", 512), "Description": props.get("Description"), "KmsKeyId": props.get("KmsKeyId"),
            "SecretString": await _secret_string(op, props), "Tags": props.get("Tags") or None})
        return out["ARN"], {"Id": out["ARN"]}

    async def update(self, op: ResourceOp):
        arn, props, old = op.physical_id, op.properties, op.old_properties
        params = {"SecretId": arn}
        for key in ("Description", "KmsKeyId"):
            if props.get(key) != old.get(key):
                params[key] = props.get(key) or ""
        if props.get("SecretString") != old.get("SecretString") or \
                props.get("GenerateSecretString") != old.get("GenerateSecretString"):
            params["SecretString"] = await _secret_string(op, props)
        if len(params) > 1:
            await op.call("secretsmanager", "UpdateSecret", params)
        tags = {t["Key"]: t.get("Value", "") for t in props.get("Tags") or []}
        old_tags = {t["Key"]: t.get("Value", "") for t in old.get("Tags") or []}
        gone = [k for k in old_tags if k not in tags]
        if gone:
            await op.call("secretsmanager", "UntagResource", {"SecretId": arn, "TagKeys": gone})
        if tags and tags != old_tags:
            await op.call("secretsmanager", "TagResource", {"SecretId": arn, "Tags": [
                {"Key": k, "Value": v} for k, v in tags.items()]})
        return {"Id": arn}

    async def delete(self, op: ResourceOp):
        try:  # CloudFormation deletes a stack's secrets without a recovery window
            await op.call("secretsmanager", "DeleteSecret", {"SecretId": op.physical_id,
                                                             "ForceDeleteWithoutRecovery": True})
        except AwsError as e:
            if not is_missing(e):
                raise


def _rules(props: dict) -> dict | None:
    rules = props.get("RotationRules")
    if not rules:
        return None
    out = {}
    if rules.get("AutomaticallyAfterDays") is not None:
        out["AutomaticallyAfterDays"] = int(rules["AutomaticallyAfterDays"])
    for key in ("ScheduleExpression", "Duration"):
        if rules.get(key):
            out[key] = rules[key]
    return out


class RotationSchedule(ResourceType):
    type_name = "AWS::SecretsManager::RotationSchedule"

    async def create(self, op: ResourceOp):
        await self._rotate(op, op.properties, immediately=True)
        secret = await op.call("secretsmanager", "DescribeSecret", {"SecretId": op.properties["SecretId"]})
        return secret["ARN"], {}

    async def _rotate(self, op: ResourceOp, props: dict, immediately: bool) -> None:
        if props.get("HostedRotationLambda"):
            raise ResourceFailed("HostedRotationLambda (rotation functions AWS deploys from the Serverless "
                                 "Application Repository) is not supported by overcast; give RotationLambdaARN")
        if not props.get("RotationLambdaARN"):
            raise ResourceFailed("RotationLambdaARN is required")
        immediately = immediately and _bool(props.get("RotateImmediatelyOnUpdate", True)) is not False
        await op.call("secretsmanager", "RotateSecret", {
            "SecretId": props["SecretId"], "RotationLambdaARN": props["RotationLambdaARN"],
            "RotationRules": _rules(props), "RotateImmediately": immediately})

    async def update(self, op: ResourceOp):
        await self._rotate(op, op.properties, immediately=True)
        return {}

    async def delete(self, op: ResourceOp):
        try:
            await op.call("secretsmanager", "CancelRotateSecret", {"SecretId": op.physical_id})
        except AwsError as e:
            if not is_missing(e) and e.code != "InvalidRequestException":
                raise


class ResourcePolicy(ResourceType):
    """A secret's resource policy; Ref and Id are the secret's ARN."""

    type_name = "AWS::SecretsManager::ResourcePolicy"

    async def create(self, op: ResourceOp):
        out = await self._put(op)
        return out["ARN"], {"Id": out["ARN"]}

    async def _put(self, op: ResourceOp) -> dict:
        props = op.properties
        policy = props.get("ResourcePolicy")
        return await op.call("secretsmanager", "PutResourcePolicy", {
            "SecretId": props.get("SecretId"),
            "ResourcePolicy": policy if isinstance(policy, str) else json.dumps(policy),
            "BlockPublicPolicy": _bool(props.get("BlockPublicPolicy"))})

    async def update(self, op: ResourceOp):
        await self._put(op)
        return op.attributes

    async def delete(self, op: ResourceOp):
        try:
            await op.call("secretsmanager", "DeleteResourcePolicy", {"SecretId": op.physical_id})
        except AwsError as e:
            if not is_missing(e):
                raise
