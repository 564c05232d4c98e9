"""AWS::DynamoDB::Table (indexes, streams, TTL, tags) and AWS::DynamoDB::GlobalTable (a table and its
replicas in other regions), through the DynamoDB provider."""

from __future__ import annotations

import asyncio
import time

from overcast.services.cloudformation.resources.base import (
    ResourceFailed,
    ResourceOp,
    ResourceType,
    collect,
    read_or_none,
)


def _throughput(value: dict | None) -> dict | None:
    if not value:
        return None
    return {"ReadCapacityUnits": int(value["ReadCapacityUnits"]), "WriteCapacityUnits": int(value["WriteCapacityUnits"])}


def _index(index: dict) -> dict:
    out = {k: index[k] for k in ("IndexName", "KeySchema", "Projection") if k in index}
    if index.get("ProvisionedThroughput"):
        out["ProvisionedThroughput"] = _throughput(index["ProvisionedThroughput"])
    return out


def _stream(props: dict) -> dict | None:
    spec = props.get("StreamSpecification")
    if not spec:
        return None
    return {"StreamEnabled": True, "StreamViewType": spec["StreamViewType"]}


def _sse(props: dict) -> dict | None:
    """The template's SSESpecification (SSEEnabled, SSEType, KMSMasterKeyId) as CreateTable takes it."""
    sse = props.get("SSESpecification") or {}
    if str(sse.get("SSEEnabled")).lower() != "true":
        return None
    out = {"Enabled": True, "SSEType": sse.get("SSEType") or "KMS"}
    if sse.get("KMSMasterKeyId"):
        out["KMSMasterKeyId"] = sse["KMSMasterKeyId"]
    return out


async def _kinesis_destination(op: ResourceOp, name: str, old: dict, new: dict) -> None:
    """KinesisStreamSpecification: the table's Kinesis streaming destination, enabled (and waited
    for until ACTIVE, as CloudFormation does), changed or disabled."""
    before, after = old.get("KinesisStreamSpecification") or {}, new.get("KinesisStreamSpecification") or {}
    if before == after:
        return
    precision = after.get("ApproximateCreationDateTimePrecision")
    if before.get("StreamArn") and before.get("StreamArn") != after.get("StreamArn"):
        await op.call("dynamodb", "DisableKinesisStreamingDestination", {"TableName": name,
                                                                          "StreamArn": before["StreamArn"]})
        await _settled(op, name, before["StreamArn"])
    if not after.get("StreamArn"):
        return
    config = {"ApproximateCreationDateTimePrecision": precision} if precision else None
    if before.get("StreamArn") == after["StreamArn"]:
        await op.call("dynamodb", "UpdateKinesisStreamingDestination", {
            "TableName": name, "StreamArn": after["StreamArn"],
            "UpdateKinesisStreamingConfiguration": config or {"ApproximateCreationDateTimePrecision": "MILLISECOND"}})
    else:
        await op.call("dynamodb", "EnableKinesisStreamingDestination", {
            "TableName": name, "StreamArn": after["StreamArn"], "EnableKinesisStreamingConfiguration": config})
    await _settled(op, name, after["StreamArn"])


async def _settled(op: ResourceOp, name: str, stream_arn: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = (await op.call("dynamodb", "DescribeKinesisStreamingDestination", {"TableName": name}))
        status = next((d["DestinationStatus"] for d in found.get("KinesisDataStreamDestinations") or []
                       if d["StreamArn"] == stream_arn), None)
        if status not in ("ENABLING", "DISABLING", "UPDATING"):
            return
        await asyncio.sleep(0.1)


class Table(ResourceType):
    type_name = "AWS::DynamoDB::Table"
    name_length = 255

    async def create(self, op: ResourceOp):
        props = op.properties
        name = op.name("TableName", 255)
        params = {"TableName": name, "AttributeDefinitions": props.get("AttributeDefinitions"),
                  "KeySchema": props.get("KeySchema"), "BillingMode": props.get("BillingMode"),
                  "ProvisionedThroughput": _throughput(props.get("ProvisionedThroughput")),
                  "StreamSpecification": _stream(props), "SSESpecification": _sse(props),
                  "TableClass": props.get("TableClass"),
                  "DeletionProtectionEnabled": props.get("DeletionProtectionEnabled"),
                  "Tags": props.get("Tags") or None}
        if props.get("GlobalSecondaryIndexes"):
            params["GlobalSecondaryIndexes"] = [_index(i) for i in props["GlobalSecondaryIndexes"]]
        if props.get("LocalSecondaryIndexes"):
            params["LocalSecondaryIndexes"] = [_index(i) for i in props["LocalSecondaryIndexes"]]
        table = (await op.call("dynamodb", "CreateTable", params))["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and str(ttl.get("Enabled")).lower() == "true":
            await op.call("dynamodb", "UpdateTimeToLive", {"TableName": name, "TimeToLiveSpecification": {
                "AttributeName": ttl["AttributeName"], "Enabled": True}})
        await _kinesis_destination(op, name, {}, props)
        return name, self._attributes(table)

    @staticmethod
    def _attributes(table: dict) -> dict:
        out = {"Arn": table["TableArn"]}
        if table.get("LatestStreamArn"):
            out["StreamArn"] = table["LatestStreamArn"]
        return out

    async def update(self, op: ResourceOp):
        props, old, name = op.properties, op.old_properties, op.physical_id
        params: dict = {}
        if props.get("BillingMode") != old.get("BillingMode"):
            params["BillingMode"] = props.get("BillingMode") or "PROVISIONED"
        if props.get("ProvisionedThroughput") != old.get("ProvisionedThroughput") and props.get("ProvisionedThroughput"):
            params["ProvisionedThroughput"] = _throughput(props["ProvisionedThroughput"])
        if props.get("StreamSpecification") != old.get("StreamSpecification"):
            if old.get("StreamSpecification") and props.get("StreamSpecification"):  # a new view type: off, then on
                await op.call("dynamodb", "UpdateTable", {"TableName": name,
                                                          "StreamSpecification": {"StreamEnabled": False}})
            params["StreamSpecification"] = _stream(props) or {"StreamEnabled": False}
        if props.get("DeletionProtectionEnabled") != old.get("DeletionProtectionEnabled"):
            params["DeletionProtectionEnabled"] = bool(props.get("DeletionProtectionEnabled"))
        if params:
            await op.call("dynamodb", "UpdateTable", {"TableName": name, **params})
        old_gsis = {i["IndexName"]: i for i in old.get("GlobalSecondaryIndexes") or []}
        new_gsis = {i["IndexName"]: i for i in props.get("GlobalSecondaryIndexes") or []}
        for index in old_gsis.keys() - new_gsis.keys():
            await op.call("dynamodb", "UpdateTable", {"TableName": name, "GlobalSecondaryIndexUpdates": [
                {"Delete": {"IndexName": index}}]})
        for index_name in new_gsis.keys() - old_gsis.keys():
            await op.call("dynamodb", "UpdateTable", {
                "TableName": name, "AttributeDefinitions": props.get("AttributeDefinitions"),
                "GlobalSecondaryIndexUpdates": [{"Create": _index(new_gsis[index_name])}]})
        if props.get("TimeToLiveSpecification") != old.get("TimeToLiveSpecification"):
            ttl = props.get("TimeToLiveSpecification") or {}
            before = old.get("TimeToLiveSpecification") or {}
            enabled = str(ttl.get("Enabled")).lower() == "true"
            if enabled or str(before.get("Enabled")).lower() == "true":
                await op.call("dynamodb", "UpdateTimeToLive", {"TableName": name, "TimeToLiveSpecification": {
                    "AttributeName": ttl.get("AttributeName") or before.get("AttributeName"), "Enabled": enabled}})
        await _kinesis_destination(op, name, old, props)
        if props.get("Tags") != old.get("Tags"):
            arn = op.attributes["Arn"]
            gone = [t["Key"] for t in old.get("Tags") or [] if t["Key"] not in {n["Key"] for n in props.get("Tags") or []}]
            if gone:
                await op.call("dynamodb", "UntagResource", {"ResourceArn": arn, "TagKeys": gone})
            if props.get("Tags"):
                await op.call("dynamodb", "TagResource", {"ResourceArn": arn, "Tags": props["Tags"]})
        table = (await op.call("dynamodb", "DescribeTable", {"TableName": name}))["Table"]
        return self._attributes(table)

    async def delete(self, op: ResourceOp):
        await op.call("dynamodb", "DeleteTable", {"TableName": op.physical_id})

    async def read(self, op: ResourceOp, identifier: str):
        found = await read_or_none(op.call("dynamodb", "DescribeTable", {"TableName": identifier}))
        if found is None:
            return None
        table = found["Table"]
        out = _table_properties(table)
        if out["BillingMode"] == "PROVISIONED":
            throughput = table.get("ProvisionedThroughput") or {}
            out["ProvisionedThroughput"] = {"ReadCapacityUnits": throughput.get("ReadCapacityUnits"),
                                            "WriteCapacityUnits": throughput.get("WriteCapacityUnits")}
        return out

    async def list(self, op: ResourceOp):
        return await collect(op, "dynamodb", "ListTables", {}, "TableNames", "ExclusiveStartTableName",
                             "LastEvaluatedTableName")


# AWS::DynamoDB::GlobalTable's properties overcast applies; any other is refused, never stored and ignored
_GLOBAL_PROPERTIES = frozenset({"TableName", "AttributeDefinitions", "KeySchema", "BillingMode",
                                "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "StreamSpecification",
                                "SSESpecification", "TimeToLiveSpecification", "Replicas"})
_REPLICA_PROPERTIES = frozenset({"Region", "Tags", "DeletionProtectionEnabled", "TableClass",
                                 "PointInTimeRecoverySpecification"})


def _check_global(props: dict, stack_region: str) -> list[dict]:
    """The template's replicas, stack region first, after refusing what overcast does not do."""
    unsupported = sorted(set(props) - _GLOBAL_PROPERTIES)
    if unsupported:
        raise ResourceFailed(f"AWS::DynamoDB::GlobalTable properties {', '.join(unsupported)} are not supported "
                             "by overcast")
    if (props.get("BillingMode") or "PROVISIONED") != "PAY_PER_REQUEST":
        # provisioned global tables need Application Auto Scaling (WriteProvisionedThroughputSettings)
        raise ResourceFailed("AWS::DynamoDB::GlobalTable with BillingMode PROVISIONED is not supported by overcast: "
                             "use PAY_PER_REQUEST")
    replicas = list(props.get("Replicas") or [])
    for replica in replicas:
        extra = sorted(set(replica) - _REPLICA_PROPERTIES)
        if extra:
            raise ResourceFailed(f"AWS::DynamoDB::GlobalTable replica properties {', '.join(extra)} are not "
                                 "supported by overcast")
    regions = [r.get("Region") for r in replicas]
    if len(set(regions)) != len(regions):
        raise ResourceFailed("Replicas must have unique regions")
    if stack_region not in regions:
        raise ResourceFailed(f"You must specify a replica in the stack's region ({stack_region})")
    return sorted(replicas, key=lambda r: r["Region"] != stack_region)


class GlobalTable(ResourceType):
    """A global table (version 2019.11.21): the table in the stack's region, made as
    AWS::DynamoDB::Table is, and a replica in each other region of `Replicas`, made with
    UpdateTable's ReplicaUpdates; each replica's own settings (tags, deletion protection, table
    class, point-in-time recovery) are applied in its region."""

    type_name = "AWS::DynamoDB::GlobalTable"
    name_length = 255

    async def create(self, op: ResourceOp):
        props = op.properties
        replicas = _check_global(props, op.region)
        name = op.name("TableName", 255)
        params = {"TableName": name, "AttributeDefinitions": props.get("AttributeDefinitions"),
                  "KeySchema": props.get("KeySchema"), "BillingMode": "PAY_PER_REQUEST",
                  "StreamSpecification": _stream(props)}
        if _sse(props):  # GlobalTable's SSESpecification has no KMSMasterKeyId: each replica's is its own
            params["SSESpecification"] = {"Enabled": True, "SSEType": _sse(props)["SSEType"]}
        if props.get("GlobalSecondaryIndexes"):
            params["GlobalSecondaryIndexes"] = [_index(i) for i in props["GlobalSecondaryIndexes"]]
        if props.get("LocalSecondaryIndexes"):
            params["LocalSecondaryIndexes"] = [_index(i) for i in props["LocalSecondaryIndexes"]]
        await op.call("dynamodb", "CreateTable", params)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and str(ttl.get("Enabled")).lower() == "true":  # before the replicas: they copy it
            await op.call("dynamodb", "UpdateTimeToLive", {"TableName": name, "TimeToLiveSpecification": {
                "AttributeName": ttl["AttributeName"], "Enabled": True}})
        for replica in replicas:
            if replica["Region"] != op.region:
                await op.call("dynamodb", "UpdateTable", {"TableName": name, "ReplicaUpdates": [
                    {"Create": {"RegionName": replica["Region"]}}]})
            await self._replica_settings(op, name, replica, {})
        return name, await self._attributes(op, name)

    @staticmethod
    async def _replica_settings(op: ResourceOp, name: str, replica: dict, old: dict) -> None:
        region = replica["Region"]
        table = (await op.call("dynamodb", "DescribeTable", {"TableName": name}, region=region))["Table"]
        params: dict = {}
        if bool(replica.get("DeletionProtectionEnabled")) != bool(old.get("DeletionProtectionEnabled")):
            params["DeletionProtectionEnabled"] = bool(replica.get("DeletionProtectionEnabled"))
        if replica.get("TableClass") and replica.get("TableClass") != old.get("TableClass"):
            params["TableClass"] = replica["TableClass"]
        if params:
            await op.call("dynamodb", "UpdateTable", {"TableName": name, **params}, region=region)
        pitr = replica.get("PointInTimeRecoverySpecification") or {}
        if pitr != (old.get("PointInTimeRecoverySpecification") or {}):
            await op.call("dynamodb", "UpdateContinuousBackups", {
                "TableName": name, "PointInTimeRecoverySpecification": {
                    "PointInTimeRecoveryEnabled": str(pitr.get("PointInTimeRecoveryEnabled")).lower() == "true"}},
                region=region)
        tags = {t["Key"]: t["Value"] for t in replica.get("Tags") or []}
        before = {t["Key"]: t["Value"] for t in old.get("Tags") or []}
        gone = [k for k in before if k not in tags]
        if gone:
            await op.call("dynamodb", "UntagResource", {"ResourceArn": table["TableArn"], "TagKeys": gone},
                          region=region)
        if tags and tags != before:
            await op.call("dynamodb", "TagResource", {"ResourceArn": table["TableArn"], "Tags": [
                {"Key": k, "Value": v} for k, v in tags.items()]}, region=region)

    @staticmethod
    async def _attributes(op: ResourceOp, name: str) -> dict:
        table = (await op.call("dynamodb", "DescribeTable", {"TableName": name}))["Table"]
        out = {"Arn": table["TableArn"], "TableId": table["TableId"]}
        if table.get("LatestStreamArn"):
            out["StreamArn"] = table["LatestStreamArn"]
        return out

    async def update(self, op: ResourceOp):
        props, old, name = op.properties, op.old_properties, op.physical_id
        replicas = _check_global(props, op.region)
        changed = sorted(k for k in _GLOBAL_PROPERTIES - {"Replicas", "TimeToLiveSpecification"}
                         if props.get(k) != old.get(k) and k != "TableName")
        if changed:
            raise ResourceFailed(f"Update of {', '.join(changed)} of AWS::DynamoDB::GlobalTable is not supported by "
                                 "overcast")
        before = {r["Region"]: r for r in old.get("Replicas") or []}
        after = {r["Region"]: r for r in replicas}
        for region in before.keys() - after.keys():
            await op.call("dynamodb", "UpdateTable", {"TableName": name, "ReplicaUpdates": [
                {"Delete": {"RegionName": region}}]})
        if props.get("TimeToLiveSpecification") != old.get("TimeToLiveSpecification"):
            ttl = props.get("TimeToLiveSpecification") or {}
            was = old.get("TimeToLiveSpecification") or {}
            enabled = str(ttl.get("Enabled")).lower() == "true"
            if enabled or str(was.get("Enabled")).lower() == "true":
                for region in after.keys() & before.keys():  # new replicas copy the table's setting
                    await op.call("dynamodb", "UpdateTimeToLive", {"TableName": name, "TimeToLiveSpecification": {
                        "AttributeName": ttl.get("AttributeName") or was.get("AttributeName"), "Enabled": enabled}},
                        region=region)
        for replica in replicas:
            if replica["Region"] not in before:
                await op.call("dynamodb", "UpdateTable", {"TableName": name, "ReplicaUpdates": [
                    {"Create": {"RegionName": replica["Region"]}}]})
            await self._replica_settings(op, name, replica, before.get(replica["Region"], {}))
        return await self._attributes(op, name)

    async def delete(self, op: ResourceOp):
        name = op.physical_id
        found = await read_or_none(op.call("dynamodb", "DescribeTable", {"TableName": name}))
        if found is None:
            return
        for replica in found["Table"].get("Replicas") or []:
            await op.call("dynamodb", "UpdateTable", {"TableName": name, "ReplicaUpdates": [
                {"Delete": {"RegionName": replica["RegionName"]}}]})
        await op.call("dynamodb", "DeleteTable", {"TableName": name})

    async def read(self, op: ResourceOp, identifier: str):
        found = await read_or_none(op.call("dynamodb", "DescribeTable", {"TableName": identifier}))
        if found is None:
            return None
        table = found["Table"]
        out = _table_properties(table)
        out["TableId"] = table["TableId"]
        out["Replicas"] = [{"Region": r} for r in sorted([op.region] + [
            r["RegionName"] for r in table.get("Replicas") or []])]
        return out

    async def list(self, op: ResourceOp):
        return await collect(op, "dynamodb", "ListTables", {}, "TableNames", "ExclusiveStartTableName",
                             "LastEvaluatedTableName")


def _table_properties(table: dict) -> dict:
    """What DescribeTable's answer gives both table resources (AWS::DynamoDB::Table and ::GlobalTable)."""
    out = {"TableName": table["TableName"], "Arn": table["TableArn"],
           "AttributeDefinitions": table.get("AttributeDefinitions") or [], "KeySchema": table["KeySchema"],
           "BillingMode": (table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")}
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if table.get(key):
            out[key] = [{k: index[k] for k in ("IndexName", "KeySchema", "Projection") if k in index}
                        for index in table[key]]
    stream = table.get("StreamSpecification") or {}
    if stream.get("StreamEnabled"):
        out["StreamSpecification"] = {"StreamViewType": stream["StreamViewType"]}
        out["StreamArn"] = table.get("LatestStreamArn")
    return out
