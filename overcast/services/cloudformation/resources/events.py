"""AWS::Events::Rule and AWS::Events::EventBus, through the EventBridge provider."""

from __future__ import annotations

import asyncio
import json

from overcast.aws.errors import AwsError
from overcast.services.cloudformation.resources.base import ResourceOp, ResourceType, tag_changes, tag_map


def _rule_params(name: str, props: dict) -> dict:
    pattern = props.get("EventPattern")
    return {"Name": name, "EventBusName": props.get("EventBusName"),
            "EventPattern": json.dumps(pattern) if isinstance(pattern, (dict, list)) else pattern,
            "ScheduleExpression": props.get("ScheduleExpression"), "State": props.get("State") or "ENABLED",
            "Description": props.get("Description"), "RoleArn": props.get("RoleArn")}


def _targets(props: dict) -> list[dict]:
    out = []
    for target in props.get("Targets") or []:
        target = dict(target)
        for key in ("RetryPolicy",):
            if key in target:
                target[key] = {k: int(v) for k, v in target[key].items()}
        out.append(target)
    return out


async def retag(op: ResourceOp, arn: str) -> None:
    """An update's tag changes, through EventBridge's TagResource/UntagResource."""
    tags, gone = tag_changes(op.old_properties, op.properties)
    if gone:
        await op.call("events", "UntagResource", {"ResourceARN": arn, "TagKeys": gone})
    if tags:
        await op.call("events", "TagResource", {"ResourceARN": arn, "Tags": [{"Key": k, "Value": v}
                                                                           for k, v in tags.items()]})


class Rule(ResourceType):
    type_name = "AWS::Events::Rule"

    async def create(self, op: ResourceOp):
        name = op.name("Name", 64)
        params = _rule_params(name, op.properties)
        params["Tags"] = [{"Key": k, "Value": v} for k, v in tag_map(op.properties.get("Tags")).items()] or None
        arn = (await op.call("events", "PutRule", params))["RuleArn"]
        if _targets(op.properties):
            await self._put_targets(op, name, _targets(op.properties))
        return self._physical(name, op.properties), {"Arn": arn}

    @staticmethod
    def _physical(name: str, props: dict) -> str:
        bus = props.get("EventBusName")
        return f"{bus}|{name}" if bus and bus != "default" else name

    @staticmethod
    def _name(physical_id: str) -> str:
        return physical_id.rsplit("|", 1)[-1]

    async def _put_targets(self, op: ResourceOp, name: str, targets: list[dict]) -> None:
        result = await op.call("events", "PutTargets", {"Rule": name, "EventBusName": op.properties.get("EventBusName"),
                                                        "Targets": targets})
        if result.get("FailedEntryCount"):
            entry = result["FailedEntries"][0]
            from overcast.services.cloudformation.resources.base import ResourceFailed

            raise ResourceFailed(f"{entry.get('ErrorCode')}: {entry.get('ErrorMessage')}")

    async def update(self, op: ResourceOp):
        name = self._name(op.physical_id)
        arn = (await op.call("events", "PutRule", _rule_params(name, op.properties)))["RuleArn"]
        new = {t["Id"]: t for t in _targets(op.properties)}
        old = {t["Id"]: t for t in _targets(op.old_properties)}
        gone = [i for i in old if i not in new]
        if gone:
            await op.call("events", "RemoveTargets", {"Rule": name, "EventBusName": op.properties.get("EventBusName"),
                                                      "Ids": gone})
        changed = [t for i, t in new.items() if old.get(i) != t]
        if changed:
            await self._put_targets(op, name, changed)
        await retag(op, arn)
        return {"Arn": arn}

    async def delete(self, op: ResourceOp):
        name = self._name(op.physical_id)
        bus = op.properties.get("EventBusName")
        ids = [t["Id"] for t in op.properties.get("Targets") or []]
        if ids:
            await op.call("events", "RemoveTargets", {"Rule": name, "EventBusName": bus, "Ids": ids})
        await op.call("events", "DeleteRule", {"Name": name, "EventBusName": bus})


class EventBus(ResourceType):
    type_name = "AWS::Events::EventBus"
    extra_attributes = frozenset({"Name"})  # documented, not in the schema

    async def create(self, op: ResourceOp):
        props = op.properties
        out = await op.call("events", "CreateEventBus", {
            "Name": props["Name"], "EventSourceName": props.get("EventSourceName"),
            "Description": props.get("Description"), "Tags": props.get("Tags") or None})
        return props["Name"], {"Arn": out["EventBusArn"], "Name": props["Name"]}

    async def update(self, op: ResourceOp):
        if op.properties.get("Description") != op.old_properties.get("Description"):
            await op.call("events", "UpdateEventBus", {"Name": op.physical_id,
                                                       "Description": op.properties.get("Description") or ""})
        await retag(op, op.attributes["Arn"])
        return op.attributes

    async def delete(self, op: ResourceOp):
        await op.call("events", "DeleteEventBus", {"Name": op.physical_id})


def _pattern(value):
    return json.dumps(value) if isinstance(value, (dict, list)) else value


class Archive(ResourceType):
    type_name = "AWS::Events::Archive"
    name_length = 48

    async def create(self, op: ResourceOp):
        props = op.properties
        name = op.name("ArchiveName", 48)
        out = await op.call("events", "CreateArchive", {
            "ArchiveName": name, "EventSourceArn": props.get("SourceArn"), "Description": props.get("Description"),
            "EventPattern": _pattern(props.get("EventPattern")), "RetentionDays": props.get("RetentionDays"),
            "KmsKeyIdentifier": props.get("KmsKeyIdentifier")})
        return name, {"Arn": out["ArchiveArn"]}

    async def update(self, op: ResourceOp):
        props = op.properties
        out = await op.call("events", "UpdateArchive", {
            "ArchiveName": op.physical_id, "Description": props.get("Description") or "",
            "EventPattern": _pattern(props.get("EventPattern")) or "", "RetentionDays": props.get("RetentionDays") or 0,
            "KmsKeyIdentifier": props.get("KmsKeyIdentifier")})
        return {"Arn": out["ArchiveArn"]}

    async def delete(self, op: ResourceOp):
        await op.call("events", "DeleteArchive", {"ArchiveName": op.physical_id})


def _policy_arn(arn: str) -> str:
    """arn:...:connection/name/uuid -> arn:...:connection/name, the form IAM policies name."""
    return arn.rsplit("/", 1)[0]


class Connection(ResourceType):
    type_name = "AWS::Events::Connection"

    async def create(self, op: ResourceOp):
        props = op.properties
        name = op.name("Name", 64)
        await op.call("events", "CreateConnection", {
            "Name": name, "Description": props.get("Description"), "AuthorizationType": props.get("AuthorizationType"),
            "AuthParameters": props.get("AuthParameters"),
            "InvocationConnectivityParameters": props.get("InvocationConnectivityParameters"),
            "KmsKeyIdentifier": props.get("KmsKeyIdentifier")})
        return name, await self._attributes(op, name)

    @staticmethod
    async def _attributes(op: ResourceOp, name: str) -> dict:
        described = await op.call("events", "DescribeConnection", {"Name": name})
        arn = described["ConnectionArn"]
        return {"Arn": arn, "ArnForPolicy": _policy_arn(arn), "SecretArn": described.get("SecretArn", "")}

    async def update(self, op: ResourceOp):
        props = op.properties
        await op.call("events", "UpdateConnection", {
            "Name": op.physical_id, "Description": props.get("Description") or "",
            "AuthorizationType": props.get("AuthorizationType"), "AuthParameters": props.get("AuthParameters"),
            "KmsKeyIdentifier": props.get("KmsKeyIdentifier")})
        return await self._attributes(op, op.physical_id)

    async def delete(self, op: ResourceOp):
        await op.call("events", "DeleteConnection", {"Name": op.physical_id})


class ApiDestination(ResourceType):
    type_name = "AWS::Events::ApiDestination"

    @staticmethod
    def _params(name: str, props: dict) -> dict:
        return {"Name": name, "Description": props.get("Description"), "ConnectionArn": props.get("ConnectionArn"),
                "InvocationEndpoint": props.get("InvocationEndpoint"), "HttpMethod": props.get("HttpMethod"),
                "InvocationRateLimitPerSecond": props.get("InvocationRateLimitPerSecond")}

    async def create(self, op: ResourceOp):
        name = op.name("Name", 64)
        out = await op.call("events", "CreateApiDestination", self._params(name, op.properties))
        arn = out["ApiDestinationArn"]
        return name, {"Arn": arn, "ArnForPolicy": _policy_arn(arn)}

    async def update(self, op: ResourceOp):
        params = self._params(op.physical_id, op.properties)
        params["Description"] = params["Description"] or ""
        out = await op.call("events", "UpdateApiDestination", params)
        arn = out["ApiDestinationArn"]
        return {"Arn": arn, "ArnForPolicy": _policy_arn(arn)}

    async def delete(self, op: ResourceOp):
        await op.call("events", "DeleteApiDestination", {"Name": op.physical_id})


_POLICY_LOCKS: dict[tuple, asyncio.Lock] = {}


class EventBusPolicy(ResourceType):
    """One statement of an event bus's resource policy: a whole IAM `Statement`, or the
    PutPermission form (Action, Principal, Condition). Its id is the statement id."""

    type_name = "AWS::Events::EventBusPolicy"

    async def create(self, op: ResourceOp):
        await self._put(op, op.properties)
        return op.properties["StatementId"], {}

    async def update(self, op: ResourceOp):
        await self._remove(op, op.old_properties)
        await self._put(op, op.properties)
        return op.attributes

    async def delete(self, op: ResourceOp):
        await self._remove(op, op.properties)

    async def _put(self, op: ResourceOp, props: dict) -> None:
        bus, sid = props.get("EventBusName"), props["StatementId"]
        statement = props.get("Statement")
        if statement is None:
            await op.call("events", "PutPermission", {
                "EventBusName": bus, "StatementId": sid, "Action": props.get("Action"),
                "Principal": props.get("Principal"), "Condition": props.get("Condition")})
            return
        # read, change, write: one at a time per bus (a stack makes its policies concurrently)
        async with _POLICY_LOCKS.setdefault((op.account, op.region, bus), asyncio.Lock()):
            described = await op.call("events", "DescribeEventBus", {"Name": bus})
            policy = json.loads(described.get("Policy") or '{"Version": "2012-10-17", "Statement": []}')
            kept = [s for s in policy.get("Statement") or [] if s.get("Sid") != sid]
            policy["Statement"] = kept + [{**statement, "Sid": sid}]
            await op.call("events", "PutPermission", {"EventBusName": bus, "Policy": json.dumps(policy)})

    async def _remove(self, op: ResourceOp, props: dict) -> None:
        try:
            await op.call("events", "RemovePermission", {"EventBusName": props.get("EventBusName"),
                                                         "StatementId": props["StatementId"]})
        except AwsError as e:
            if e.code != "ResourceNotFoundException":  # already gone: the delete is done
                raise
