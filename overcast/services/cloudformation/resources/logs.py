"""AWS::Logs::LogGroup, through the CloudWatch Logs provider."""

from __future__ import annotations

from overcast.services.cloudformation.resources.base import ResourceOp, ResourceType, collect


class LogGroup(ResourceType):
    type_name = "AWS::Logs::LogGroup"
    name_length = 512

    async def create(self, op: ResourceOp):
        props = op.properties
        name = op.name("LogGroupName", 512)
        tags = {t["Key"]: t["Value"] for t in props.get("Tags") or []}
        await op.call("logs", "CreateLogGroup", {"logGroupName": name, "kmsKeyId": props.get("KmsKeyId"),
                                                 "tags": tags or None, "logGroupClass": props.get("LogGroupClass")})
        if props.get("RetentionInDays") is not None:
            await op.call("logs", "PutRetentionPolicy", {"logGroupName": name,
                                                         "retentionInDays": int(props["RetentionInDays"])})
        return name, {"Arn": f"arn:aws:logs:{op.region}:{op.account}:log-group:{name}:*"}

    async def update(self, op: ResourceOp):
        name, props, old = op.physical_id, op.properties, op.old_properties
        if props.get("RetentionInDays") != old.get("RetentionInDays"):
            if props.get("RetentionInDays") is None:
                await op.call("logs", "DeleteRetentionPolicy", {"logGroupName": name})
            else:
                await op.call("logs", "PutRetentionPolicy", {"logGroupName": name,
                                                             "retentionInDays": int(props["RetentionInDays"])})
        tags = {t["Key"]: t["Value"] for t in props.get("Tags") or []}
        old_tags = {t["Key"]: t["Value"] for t in old.get("Tags") or []}
        if tags != old_tags:
            arn = op.attributes["Arn"].removesuffix(":*")
            gone = [k for k in old_tags if k not in tags]
            if gone:
                await op.call("logs", "UntagResource", {"resourceArn": arn, "tagKeys": gone})
            if tags:
                await op.call("logs", "TagResource", {"resourceArn": arn, "tags": tags})
        return op.attributes

    async def delete(self, op: ResourceOp):
        await op.call("logs", "DeleteLogGroup", {"logGroupName": op.physical_id})

    async def read(self, op: ResourceOp, identifier: str):
        groups = await collect(op, "logs", "DescribeLogGroups", {"logGroupNamePrefix": identifier}, "logGroups",
                               "nextToken")
        group = next((g for g in groups if g["logGroupName"] == identifier), None)
        if group is None:
            return None
        out = {"LogGroupName": identifier, "Arn": group["arn"], "LogGroupClass": group.get("logGroupClass", "STANDARD")}
        if group.get("retentionInDays") is not None:
            out["RetentionInDays"] = group["retentionInDays"]
        if group.get("kmsKeyId"):
            out["KmsKeyId"] = group["kmsKeyId"]
        return out

    async def list(self, op: ResourceOp):
        groups = await collect(op, "logs", "DescribeLogGroups", {}, "logGroups", "nextToken")
        return [g["logGroupName"] for g in groups]


class SubscriptionFilter(ResourceType):
    """Through PutSubscriptionFilter/DeleteSubscriptionFilter; the physical id is the filter name."""

    type_name = "AWS::Logs::SubscriptionFilter"
    name_length = 512

    @staticmethod
    def _params(name: str, props: dict) -> dict:
        return {"logGroupName": props.get("LogGroupName"), "filterName": name,
                "filterPattern": props.get("FilterPattern", ""), "destinationArn": props.get("DestinationArn"),
                "roleArn": props.get("RoleArn"), "distribution": props.get("Distribution")}

    async def create(self, op: ResourceOp):
        name = op.name("FilterName", 512)
        await op.call("logs", "PutSubscriptionFilter", self._params(name, op.properties))
        return name, {}

    async def update(self, op: ResourceOp):
        await op.call("logs", "PutSubscriptionFilter", self._params(op.physical_id, op.properties))
        return {}

    async def delete(self, op: ResourceOp):
        await op.call("logs", "DeleteSubscriptionFilter", {"logGroupName": op.properties.get("LogGroupName"),
                                                           "filterName": op.physical_id})
