"""AWS::SNS::Topic, AWS::SNS::Subscription and AWS::SNS::TopicPolicy, through the SNS provider."""

from __future__ import annotations

import json

from overcast.services.cloudformation.resources.base import (
    ResourceFailed,
    ResourceOp,
    ResourceType,
    tag_changes,
)
from overcast.services.cloudformation.resources.sqs import as_attribute

_TOPIC_ATTRIBUTES = ("DisplayName", "FifoTopic", "ContentBasedDeduplication", "KmsMasterKeyId", "SignatureVersion",
                     "TracingConfig", "ArchivePolicy", "DataProtectionPolicy", "FifoThroughputScope")
_SUBSCRIPTION_ATTRIBUTES = ("FilterPolicy", "FilterPolicyScope", "RawMessageDelivery", "RedrivePolicy",
                            "DeliveryPolicy", "SubscriptionRoleArn", "ReplayPolicy")


# DeliveryStatusLogging's Protocol -> the prefix of its topic attributes
_LOGGING_PROTOCOLS = {"http/s": "HTTP", "sqs": "SQS", "lambda": "Lambda", "firehose": "Firehose",
                      "application": "Application"}


def _topic_attributes(props: dict) -> dict:
    attributes = {k: as_attribute(props[k]) for k in _TOPIC_ATTRIBUTES if k in props}
    for config in props.get("DeliveryStatusLogging") or []:  # delivery status logging, per protocol
        prefix = _LOGGING_PROTOCOLS.get(str(config.get("Protocol", "")).lower())
        if prefix is None:
            raise ResourceFailed(f"DeliveryStatusLogging: Protocol {config.get('Protocol')!r} is not one of "
                             f"{', '.join(_LOGGING_PROTOCOLS)}")
        for key in ("SuccessFeedbackRoleArn", "FailureFeedbackRoleArn", "SuccessFeedbackSampleRate"):
            if config.get(key) not in (None, ""):
                attributes[prefix + key] = as_attribute(config[key])
    return attributes


class Topic(ResourceType):
    type_name = "AWS::SNS::Topic"
    name_length = 256
    extra_attributes = frozenset({"TopicName"})  # documented, not in the schema

    async def create(self, op: ResourceOp):
        props = op.properties
        fifo = str(props.get("FifoTopic", "")).lower() == "true"
        name = props.get("TopicName") or (op.name(max_length=251) + ".fifo" if fifo else op.name(max_length=256))
        tags = [{"Key": t["Key"], "Value": t["Value"]} for t in props.get("Tags") or []]
        arn = (await op.call("sns", "CreateTopic", {"Name": name, "Attributes": _topic_attributes(props),
                                                    "Tags": tags or None}))["TopicArn"]
        for sub in props.get("Subscription") or []:
            await op.call("sns", "Subscribe", {"TopicArn": arn, "Protocol": sub["Protocol"],
                                               "Endpoint": sub["Endpoint"]})
        return arn, {"TopicArn": arn, "TopicName": name}

    async def update(self, op: ResourceOp):
        arn = op.physical_id
        new, old = _topic_attributes(op.properties), _topic_attributes(op.old_properties)
        for key, value in new.items():
            if old.get(key) != value:
                await op.call("sns", "SetTopicAttributes", {"TopicArn": arn, "AttributeName": key,
                                                            "AttributeValue": value})
        for key in old.keys() - new.keys():
            if key == "DisplayName" or "Feedback" in key:
                await op.call("sns", "SetTopicAttributes", {"TopicArn": arn, "AttributeName": key,
                                                            "AttributeValue": ""})
        old_subs = {(s["Protocol"], s["Endpoint"]) for s in op.old_properties.get("Subscription") or []}
        new_subs = {(s["Protocol"], s["Endpoint"]) for s in op.properties.get("Subscription") or []}
        if old_subs != new_subs:
            existing = (await op.call("sns", "ListSubscriptionsByTopic", {"TopicArn": arn}))["Subscriptions"]
            for sub in existing:
                if (sub["Protocol"], sub["Endpoint"]) in old_subs - new_subs:
                    await op.call("sns", "Unsubscribe", {"SubscriptionArn": sub["SubscriptionArn"]})
            for protocol, endpoint in new_subs - old_subs:
                await op.call("sns", "Subscribe", {"TopicArn": arn, "Protocol": protocol, "Endpoint": endpoint})
        tags, gone = tag_changes(op.old_properties, op.properties)
        if gone:
            await op.call("sns", "UntagResource", {"ResourceArn": arn, "TagKeys": gone})
        if tags:
            await op.call("sns", "TagResource", {"ResourceArn": arn, "Tags": [{"Key": k, "Value": v}
                                                                             for k, v in tags.items()]})
        return op.attributes

    async def delete(self, op: ResourceOp):
        await op.call("sns", "DeleteTopic", {"TopicArn": op.physical_id})


class Subscription(ResourceType):
    type_name = "AWS::SNS::Subscription"

    async def create(self, op: ResourceOp):
        props = op.properties
        attributes = {k: as_attribute(props[k]) for k in _SUBSCRIPTION_ATTRIBUTES if k in props}
        arn = (await op.call("sns", "Subscribe", {
            "TopicArn": props.get("TopicArn"), "Protocol": props.get("Protocol"), "Endpoint": props.get("Endpoint"),
            "Attributes": attributes or None, "ReturnSubscriptionArn": True},
            region=props.get("Region")))["SubscriptionArn"]  # Region: where the topic is
        return arn, {"Arn": arn}

    async def update(self, op: ResourceOp):
        new = {k: as_attribute(op.properties[k]) for k in _SUBSCRIPTION_ATTRIBUTES if k in op.properties}
        old = {k: as_attribute(op.old_properties[k]) for k in _SUBSCRIPTION_ATTRIBUTES if k in op.old_properties}
        for key in set(new) | set(old):
            if new.get(key) != old.get(key):
                value = new.get(key, "false" if key == "RawMessageDelivery" else "")
                await op.call("sns", "SetSubscriptionAttributes", {"SubscriptionArn": op.physical_id,
                                                                   "AttributeName": key, "AttributeValue": value},
                              region=_region_of(op.physical_id))
        return op.attributes

    async def delete(self, op: ResourceOp):
        await op.call("sns", "Unsubscribe", {"SubscriptionArn": op.physical_id}, region=_region_of(op.physical_id))


def _region_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else None


def _default_policy(arn: str, account: str) -> str:
    """The policy SNS gives a new topic, which a deleted TopicPolicy leaves behind."""
    actions = ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission", "SNS:RemovePermission",
               "SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic", "SNS:Publish"]
    return json.dumps({"Version": "2008-10-17", "Id": "__default_policy_ID", "Statement": [
        {"Sid": "__default_statement_ID", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": actions,
         "Resource": arn, "Condition": {"StringEquals": {"AWS:SourceOwner": account}}}]})


class TopicPolicy(ResourceType):
    type_name = "AWS::SNS::TopicPolicy"
    extra_attributes = frozenset({"Id"})

    async def create(self, op: ResourceOp):
        await self._apply(op, op.properties)
        return op.name(), {"Id": op.planned_name}

    async def _apply(self, op: ResourceOp, props: dict):
        for arn in props.get("Topics") or []:
            await op.call("sns", "SetTopicAttributes", {"TopicArn": arn, "AttributeName": "Policy",
                                                        "AttributeValue": as_attribute(props.get("PolicyDocument"))})

    async def update(self, op: ResourceOp):
        for arn in set(op.old_properties.get("Topics") or []) - set(op.properties.get("Topics") or []):
            await self._reset(op, arn)
        await self._apply(op, op.properties)
        return op.attributes

    async def _reset(self, op: ResourceOp, arn: str):
        try:
            await op.call("sns", "SetTopicAttributes", {"TopicArn": arn, "AttributeName": "Policy",
                                                        "AttributeValue": _default_policy(arn, op.account)})
        except Exception:  # the topic went first
            pass

    async def delete(self, op: ResourceOp):
        for arn in op.properties.get("Topics") or []:
            await self._reset(op, arn)
