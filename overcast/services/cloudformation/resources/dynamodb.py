"""AWS::DynamoDB::Table (indexes, streams, TTL, tags), through the DynamoDB provider."""

from __future__ import annotations

from overcast.services.cloudformation.resources.base import ResourceOp, ResourceType, collect, read_or_none


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


class Table(ResourceType):
    type_name = "AWS::DynamoDB::Table"
    name_length = 255

    async def create(self, op: ResourceOp):
        props = op.properties
        name = op.name("TableName", 255)
        params = {"TableName": name, "AttributeDefinitions": props.get("AttributeDefinitions"),
                  "KeySchema": props.get("KeySchema"), "BillingMode": props.get("BillingMode"),
                  "ProvisionedThroughput": _throughput(props.get("ProvisionedThroughput")),
                  "StreamSpecification": _stream(props), "SSESpecification": props.get("SSESpecification"),
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
        out = {"TableName": table["TableName"], "Arn": table["TableArn"],
               "AttributeDefinitions": table.get("AttributeDefinitions") or [], "KeySchema": table["KeySchema"],
               "BillingMode": (table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")}
        if out["BillingMode"] == "PROVISIONED":
            throughput = table.get("ProvisionedThroughput") or {}
            out["ProvisionedThroughput"] = {"ReadCapacityUnits": throughput.get("ReadCapacityUnits"),
                                            "WriteCapacityUnits": throughput.get("WriteCapacityUnits")}
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if table.get(key):
                out[key] = [{k: index[k] for k in ("IndexName", "KeySchema", "Projection") if k in index}
                            for index in table[key]]
        stream = table.get("StreamSpecification") or {}
        if stream.get("StreamEnabled"):
            out["StreamSpecification"] = {"StreamViewType": stream["StreamViewType"]}
            out["StreamArn"] = table.get("LatestStreamArn")
        return out

    async def list(self, op: ResourceOp):
        return await collect(op, "dynamodb", "ListTables", {}, "TableNames", "ExclusiveStartTableName",
                             "LastEvaluatedTableName")
