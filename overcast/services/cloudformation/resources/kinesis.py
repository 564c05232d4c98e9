"""AWS::Kinesis::Stream and AWS::Kinesis::StreamConsumer, through the Kinesis provider. A stream
counts as created or updated once it is ACTIVE, as CloudFormation waits for it."""

from __future__ import annotations

import datetime

from overcast.services.cloudformation.resources.base import (
    ResourceOp,
    ResourceType,
    tag_changes,
    tag_map,
)


async def _until_active(op: ResourceOp, name: str) -> None:
    kinesis = await op.providers.get("kinesis")
    await kinesis.until_active(op.context("kinesis", "DescribeStreamSummary"), name)


def _mode(props: dict) -> str:
    return (props.get("StreamModeDetails") or {}).get("StreamMode") or "PROVISIONED"


class Stream(ResourceType):
    type_name = "AWS::Kinesis::Stream"
    name_length = 128

    async def create(self, op: ResourceOp):
        props = op.properties
        name = op.name("Name", 128)
        on_demand = _mode(props) == "ON_DEMAND"
        await op.call("kinesis", "CreateStream", {
            "StreamName": name, "ShardCount": None if on_demand else props.get("ShardCount") or 1,
            "StreamModeDetails": {"StreamMode": _mode(props)}, "Tags": tag_map(props.get("Tags")) or None})
        await _until_active(op, name)
        hours = props.get("RetentionPeriodHours")
        if hours is not None and hours != 24:
            operation = "IncreaseStreamRetentionPeriod" if hours > 24 else "DecreaseStreamRetentionPeriod"
            await op.call("kinesis", operation, {"StreamName": name, "RetentionPeriodHours": hours})
        await self._encryption(op, name, props.get("StreamEncryption"), None)
        await self._metrics(op, name, props.get("DesiredShardLevelMetrics"), None)
        return name, await self._attributes(op, name)

    @staticmethod
    async def _attributes(op: ResourceOp, name: str) -> dict:
        summary = (await op.call("kinesis", "DescribeStreamSummary", {"StreamName": name}))["StreamDescriptionSummary"]
        return {"Arn": summary["StreamARN"]}

    @staticmethod
    async def _encryption(op: ResourceOp, name: str, new: dict | None, old: dict | None) -> None:
        if (new or None) == (old or None):
            return
        if old:
            await op.call("kinesis", "StopStreamEncryption", {"StreamName": name, "EncryptionType": old["EncryptionType"],
                                                              "KeyId": old["KeyId"]})
            await _until_active(op, name)
        if new:
            await op.call("kinesis", "StartStreamEncryption", {"StreamName": name,
                                                               "EncryptionType": new["EncryptionType"],
                                                               "KeyId": new["KeyId"]})
            await _until_active(op, name)

    @staticmethod
    async def _metrics(op: ResourceOp, name: str, new: list | None, old: list | None) -> None:
        new, old = set(new or ()), set(old or ())
        if new - old:
            await op.call("kinesis", "EnableEnhancedMonitoring", {"StreamName": name,
                                                                  "ShardLevelMetrics": sorted(new - old)})
        if old - new:
            await op.call("kinesis", "DisableEnhancedMonitoring", {"StreamName": name,
                                                                   "ShardLevelMetrics": sorted(old - new)})

    async def update(self, op: ResourceOp):
        name, props, old = op.physical_id, op.properties, op.old_properties
        arn = op.attributes["Arn"]
        if _mode(props) != _mode(old):
            await op.call("kinesis", "UpdateStreamMode", {"StreamARN": arn,
                                                          "StreamModeDetails": {"StreamMode": _mode(props)}})
            await _until_active(op, name)
        if _mode(props) == "PROVISIONED" and (props.get("ShardCount") or 1) != (old.get("ShardCount") or 1):
            await op.call("kinesis", "UpdateShardCount", {"StreamName": name, "ScalingType": "UNIFORM_SCALING",
                                                          "TargetShardCount": props.get("ShardCount") or 1})
            await _until_active(op, name)
        hours, old_hours = props.get("RetentionPeriodHours") or 24, old.get("RetentionPeriodHours") or 24
        if hours != old_hours:
            operation = "IncreaseStreamRetentionPeriod" if hours > old_hours else "DecreaseStreamRetentionPeriod"
            await op.call("kinesis", operation, {"StreamName": name, "RetentionPeriodHours": hours})
        await self._encryption(op, name, props.get("StreamEncryption"), old.get("StreamEncryption"))
        await self._metrics(op, name, props.get("DesiredShardLevelMetrics"), old.get("DesiredShardLevelMetrics"))
        tags, gone = tag_changes(old, props)
        if gone:
            await op.call("kinesis", "RemoveTagsFromStream", {"StreamName": name, "TagKeys": gone})
        if tags:
            await op.call("kinesis", "AddTagsToStream", {"StreamName": name, "Tags": tags})
        return await self._attributes(op, name)

    async def delete(self, op: ResourceOp):
        await op.call("kinesis", "DeleteStream", {"StreamName": op.physical_id, "EnforceConsumerDeletion": True})


class StreamConsumer(ResourceType):
    """Every property is createOnly: a change replaces the consumer."""

    type_name = "AWS::Kinesis::StreamConsumer"
    extra_attributes = frozenset({"ConsumerName", "StreamARN"})  # documented, not in the schema

    async def create(self, op: ResourceOp):
        props = op.properties
        consumer = (await op.call("kinesis", "RegisterStreamConsumer", {
            "StreamARN": props.get("StreamARN"), "ConsumerName": props.get("ConsumerName"),
            "Tags": tag_map(props.get("Tags")) or None}))["Consumer"]
        return consumer["ConsumerARN"], {
            "ConsumerARN": consumer["ConsumerARN"], "ConsumerName": consumer["ConsumerName"],
            "ConsumerStatus": consumer["ConsumerStatus"], "StreamARN": props.get("StreamARN"),
            "ConsumerCreationTimestamp": datetime.datetime.fromtimestamp(
                consumer["ConsumerCreationTimestamp"], datetime.UTC).isoformat().replace("+00:00", "Z")}

    async def delete(self, op: ResourceOp):
        await op.call("kinesis", "DeregisterStreamConsumer", {"ConsumerARN": op.physical_id})
