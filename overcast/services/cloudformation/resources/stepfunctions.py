"""AWS::StepFunctions::StateMachine and AWS::StepFunctions::Activity, through the Step Functions
provider. A definition comes as DefinitionString, Definition (an object) or DefinitionS3Location
(read through S3's provider), with DefinitionSubstitutions applied to `${name}` placeholders."""

from __future__ import annotations

import json

from overcast.services.cloudformation.resources.base import ResourceOp, ResourceType


def _tags(props: dict) -> list[dict]:
    return [{"key": t["Key"], "value": t["Value"]} for t in props.get("Tags") or []]


async def _definition(op: ResourceOp) -> str:
    props = op.properties
    if "DefinitionString" in props:
        text = props["DefinitionString"]
    elif "Definition" in props:
        text = json.dumps(props["Definition"])
    else:
        location = props.get("DefinitionS3Location") or {}
        s3 = await op.providers.get("s3")
        text = (await s3.read_object(op.account, op.region, location.get("Bucket", ""), location.get("Key", ""),
                                     location.get("Version"))).decode()
    for name, value in (props.get("DefinitionSubstitutions") or {}).items():
        text = text.replace("${" + name + "}", value if isinstance(value, str) else json.dumps(value))
    return text


class StateMachine(ResourceType):
    type_name = "AWS::StepFunctions::StateMachine"
    name_length = 80

    async def create(self, op: ResourceOp):
        props = op.properties
        name = op.name("StateMachineName", max_length=80)
        out = await op.call("stepfunctions", "CreateStateMachine", {
            "name": name, "definition": await _definition(op), "roleArn": props.get("RoleArn"),
            "type": props.get("StateMachineType", "STANDARD"), "tags": _tags(props) or None,
            "loggingConfiguration": _lower_keys(props.get("LoggingConfiguration")),
            "tracingConfiguration": _lower_keys(props.get("TracingConfiguration"))})
        return out["stateMachineArn"], await self._attributes(op, out["stateMachineArn"])

    async def _attributes(self, op: ResourceOp, arn: str) -> dict:
        described = await op.call("stepfunctions", "DescribeStateMachine", {"stateMachineArn": arn})
        # a machine has no revision id until its first update; AWS calls that first revision INITIAL
        return {"Arn": arn, "Name": described["name"], "StateMachineRevisionId": described.get("revisionId") or "INITIAL"}

    async def update(self, op: ResourceOp):
        props = op.properties
        await op.call("stepfunctions", "UpdateStateMachine", {
            "stateMachineArn": op.physical_id, "definition": await _definition(op), "roleArn": props.get("RoleArn"),
            "loggingConfiguration": _lower_keys(props.get("LoggingConfiguration")),
            "tracingConfiguration": _lower_keys(props.get("TracingConfiguration"))})
        old = {t["key"] for t in _tags(op.old_properties)}
        new = _tags(props)
        gone = [k for k in old if k not in {t["key"] for t in new}]
        if gone:
            await op.call("stepfunctions", "UntagResource", {"resourceArn": op.physical_id, "tagKeys": gone})
        if new:
            await op.call("stepfunctions", "TagResource", {"resourceArn": op.physical_id, "tags": new})
        return await self._attributes(op, op.physical_id)

    async def delete(self, op: ResourceOp):
        await op.call("stepfunctions", "DeleteStateMachine", {"stateMachineArn": op.physical_id})


class Activity(ResourceType):
    type_name = "AWS::StepFunctions::Activity"
    name_length = 80

    async def create(self, op: ResourceOp):
        name = op.name("Name", max_length=80)
        out = await op.call("stepfunctions", "CreateActivity", {"name": name, "tags": _tags(op.properties) or None})
        return out["activityArn"], {"Arn": out["activityArn"], "Name": name}

    async def update(self, op: ResourceOp):
        tags = _tags(op.properties)
        if tags:
            await op.call("stepfunctions", "TagResource", {"resourceArn": op.physical_id, "tags": tags})
        return {"Arn": op.physical_id, "Name": op.physical_id.rsplit(":", 1)[1]}

    async def delete(self, op: ResourceOp):
        await op.call("stepfunctions", "DeleteActivity", {"activityArn": op.physical_id})


def _lower_keys(value):
    """CloudFormation's LoggingConfiguration {Level, IncludeExecutionData, Destinations} -> the API's
    camelCase members."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: _lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_keys(v) for v in value]
    return value
