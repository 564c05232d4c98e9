"""AWS::Logs::LogGroup, LogStream, SubscriptionFilter, Destination and ResourcePolicy, through the
CloudWatch Logs provider."""

from __future__ import annotations

import json

from overcast.aws.errors import AwsError
from overcast.services.cloudformation.resources.base import ResourceOp, ResourceType, collect, is_missing


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


class LogStream(ResourceType):
    """A stream of a log group; Ref is its name (every property is createOnly: a change replaces it)."""

    type_name = "AWS::Logs::LogStream"
    name_length = 512

    async def create(self, op: ResourceOp):
        name = op.name("LogStreamName", 512)
        await op.call("logs", "CreateLogStream", {"logGroupName": op.properties.get("LogGroupName"),
                                                  "logStreamName": name})
        return name, {}

    async def delete(self, op: ResourceOp):
        try:
            await op.call("logs", "DeleteLogStream", {"logGroupName": op.properties.get("LogGroupName"),
                                                      "logStreamName": op.physical_id})
        except AwsError as e:
            if not is_missing(e):
                raise


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


class Destination(ResourceType):
    """Through PutDestination / PutDestinationPolicy / DeleteDestination; Ref is the name."""

    type_name = "AWS::Logs::Destination"
    name_length = 512

    async def _put(self, op: ResourceOp, name: str) -> dict:
        props = op.properties
        await op.call("logs", "PutDestination", {"destinationName": name, "targetArn": props.get("TargetArn"),
                                                 "roleArn": props.get("RoleArn"),
                                                 "tags": {t["Key"]: t["Value"] for t in props.get("Tags") or []} or None})
        if props.get("DestinationPolicy") and props.get("DestinationPolicy") != op.old_properties.get("DestinationPolicy"):
            await op.call("logs", "PutDestinationPolicy", {"destinationName": name,
                                                           "accessPolicy": props["DestinationPolicy"]})
        return {"Arn": f"arn:aws:logs:{op.region}:{op.account}:destination:{name}"}

    async def create(self, op: ResourceOp):
        name = op.name("DestinationName", 512)
        return name, await self._put(op, name)

    async def update(self, op: ResourceOp):
        attributes = await self._put(op, op.physical_id)
        tags = {t["Key"]: t["Value"] for t in op.properties.get("Tags") or []}
        old_tags = {t["Key"]: t["Value"] for t in op.old_properties.get("Tags") or []}
        if tags != old_tags:
            gone = [k for k in old_tags if k not in tags]
            if gone:
                await op.call("logs", "UntagResource", {"resourceArn": attributes["Arn"], "tagKeys": gone})
            if tags:
                await op.call("logs", "TagResource", {"resourceArn": attributes["Arn"], "tags": tags})
        return attributes

    async def delete(self, op: ResourceOp):
        await op.call("logs", "DeleteDestination", {"destinationName": op.physical_id})


class ResourcePolicy(ResourceType):
    """Through PutResourcePolicy / DeleteResourcePolicy; Ref is the policy name."""

    type_name = "AWS::Logs::ResourcePolicy"

    @staticmethod
    def _document(props: dict) -> str:
        document = props.get("PolicyDocument")
        return document if isinstance(document, str) else json.dumps(document)

    async def create(self, op: ResourceOp):
        name = op.properties.get("PolicyName")
        await op.call("logs", "PutResourcePolicy", {"policyName": name, "policyDocument": self._document(op.properties)})
        return name, {}

    async def update(self, op: ResourceOp):
        await op.call("logs", "PutResourcePolicy", {"policyName": op.physical_id,
                                                    "policyDocument": self._document(op.properties)})
        return {}

    async def delete(self, op: ResourceOp):
        await op.call("logs", "DeleteResourcePolicy", {"policyName": op.physical_id})
