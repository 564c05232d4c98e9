"""AWS::SQS::Queue, AWS::SQS::QueuePolicy and AWS::SQS::QueueInlinePolicy, through the SQS provider."""

from __future__ import annotations

import asyncio
import json
import time

from overcast.aws.errors import AwsError
from overcast.services.cloudformation.resources.base import ResourceOp, ResourceType, read_or_none
from overcast.services.sqs import models as sqs_models

_ATTRIBUTES = ("ContentBasedDeduplication", "DeduplicationScope", "DelaySeconds", "FifoQueue", "FifoThroughputLimit",
               "KmsDataKeyReusePeriodSeconds", "KmsMasterKeyId", "MaximumMessageSize", "MessageRetentionPeriod",
               "ReceiveMessageWaitTimeSeconds", "RedriveAllowPolicy", "RedrivePolicy", "SqsManagedSseEnabled",
               "VisibilityTimeout")
# what a removed property goes back to (an empty value removes the attribute), as AWS's stack
# updates leave it: without KmsMasterKeyId the queue has neither it nor KmsDataKeyReusePeriodSeconds
# (SQS drops the period with the key), without only the period SQS's default period
_DEFAULTS = {"DelaySeconds": "0", "MaximumMessageSize": "262144", "MessageRetentionPeriod": "345600",
             "ReceiveMessageWaitTimeSeconds": "0", "VisibilityTimeout": "30", "RedrivePolicy": "",
             "RedriveAllowPolicy": "", "ContentBasedDeduplication": "false", "KmsMasterKeyId": "",
             "KmsDataKeyReusePeriodSeconds": "300"}


def as_attribute(value) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def queue_attributes(props: dict, fifo: bool) -> dict:
    attrs = {k: as_attribute(props[k]) for k in _ATTRIBUTES if k in props}
    if not fifo:
        attrs.pop("FifoQueue", None)
    return attrs


async def _create_queue(op: ResourceOp, params: dict) -> dict:
    """CreateQueue, waiting out SQS's cooldown on a name deleted less than 60 s ago
    (QueueDeletedRecently) instead of failing the stack: a named queue's replacement, or a stack
    deleted and deployed again, reuses the name at once. AWS's own stack operations deploy such
    templates (LocalStack's CloudFormation update tests were recorded on AWS), as provisioning tools
    do by retrying (Terraform's aws_sqs_queue retries QueueDeletedRecently)."""
    give_up = time.monotonic() + sqs_models.DELETED_RECENTLY_SECONDS + 5
    while True:
        try:
            return await op.call("sqs", "CreateQueue", params)
        except AwsError as e:
            if e.code != "QueueDeletedRecently" or time.monotonic() > give_up:
                raise
        await asyncio.sleep(min(1.0, sqs_models.DELETED_RECENTLY_SECONDS / 10))


class Queue(ResourceType):
    type_name = "AWS::SQS::Queue"
    extra_attributes = frozenset({"QueueName"})
    name_length = 80

    async def create(self, op: ResourceOp):
        props = op.properties
        fifo = str(props.get("FifoQueue", "")).lower() == "true"
        name = props.get("QueueName") or (op.name(max_length=75) + ".fifo" if fifo else op.name(max_length=80))
        tags = {t["Key"]: t["Value"] for t in props.get("Tags") or []}
        params = {"QueueName": name, "Attributes": queue_attributes(props, fifo), "tags": tags or None}
        url = (await _create_queue(op, params))["QueueUrl"]
        return url, await self._attributes(op, url)

    async def _attributes(self, op: ResourceOp, url: str) -> dict:
        arn = (await op.call("sqs", "GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["QueueArn"]}))[
            "Attributes"]["QueueArn"]
        return {"Arn": arn, "QueueUrl": url, "QueueName": arn.rsplit(":", 1)[1]}

    async def update(self, op: ResourceOp):
        fifo = str(op.properties.get("FifoQueue", "")).lower() == "true"
        attrs = queue_attributes(op.properties, fifo)
        for key in queue_attributes(op.old_properties, fifo):  # removed settings go back to SQS's defaults
            if key not in attrs and key in _DEFAULTS:
                attrs[key] = _DEFAULTS[key]
        if attrs.get("KmsMasterKeyId") == "":
            attrs.pop("KmsDataKeyReusePeriodSeconds", None)
        if attrs:
            await op.call("sqs", "SetQueueAttributes", {"QueueUrl": op.physical_id, "Attributes": attrs})
        old_tags = {t["Key"]: t["Value"] for t in op.old_properties.get("Tags") or []}
        tags = {t["Key"]: t["Value"] for t in op.properties.get("Tags") or []}
        gone = [k for k in old_tags if k not in tags]
        if gone:
            await op.call("sqs", "UntagQueue", {"QueueUrl": op.physical_id, "TagKeys": gone})
        if tags and tags != old_tags:
            await op.call("sqs", "TagQueue", {"QueueUrl": op.physical_id, "Tags": tags})
        return await self._attributes(op, op.physical_id)

    async def delete(self, op: ResourceOp):
        await op.call("sqs", "DeleteQueue", {"QueueUrl": op.physical_id})

    async def read(self, op: ResourceOp, identifier: str):
        found = await read_or_none(op.call("sqs", "GetQueueAttributes", {"QueueUrl": identifier,
                                                                         "AttributeNames": ["All"]}))
        if found is None:
            return None
        attrs = found.get("Attributes") or {}
        out = {"QueueUrl": identifier, "Arn": attrs.get("QueueArn"), "QueueName": identifier.rsplit("/", 1)[-1]}
        for key in ("DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
                    "VisibilityTimeout", "KmsDataKeyReusePeriodSeconds"):
            if key in attrs:
                out[key] = int(attrs[key])
        for key in ("FifoQueue", "ContentBasedDeduplication", "SqsManagedSseEnabled"):
            if key in attrs:
                out[key] = attrs[key] == "true"
        for key in ("RedrivePolicy", "RedriveAllowPolicy"):
            if attrs.get(key):
                out[key] = json.loads(attrs[key])
        for key in ("DeduplicationScope", "FifoThroughputLimit", "KmsMasterKeyId"):
            if key in attrs:
                out[key] = attrs[key]
        tags = (await op.call("sqs", "ListQueueTags", {"QueueUrl": identifier})).get("Tags") or {}
        out["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
        return out

    async def list(self, op: ResourceOp):
        return (await op.call("sqs", "ListQueues", {})).get("QueueUrls") or []


class QueuePolicy(ResourceType):
    type_name = "AWS::SQS::QueuePolicy"

    async def create(self, op: ResourceOp):
        await self._apply(op, op.properties)
        return op.name(), {}

    async def update(self, op: ResourceOp):
        removed = [q for q in op.old_properties.get("Queues") or [] if q not in (op.properties.get("Queues") or [])]
        for url in removed:
            await op.call("sqs", "SetQueueAttributes", {"QueueUrl": url, "Attributes": {"Policy": ""}})
        await self._apply(op, op.properties)
        return {}

    async def _apply(self, op: ResourceOp, props: dict):
        policy = as_attribute(props.get("PolicyDocument") or {})
        for url in props.get("Queues") or []:
            await op.call("sqs", "SetQueueAttributes", {"QueueUrl": url, "Attributes": {"Policy": policy}})

    async def delete(self, op: ResourceOp):
        for url in op.properties.get("Queues") or []:
            try:
                await op.call("sqs", "SetQueueAttributes", {"QueueUrl": url, "Attributes": {"Policy": ""}})
            except Exception:  # the queue went first: nothing left to detach from
                pass


class QueueInlinePolicy(ResourceType):
    """One queue's policy (AWS's template reference: Ref is the queue's URL; a new Queue is a
    replacement, a new PolicyDocument an update in place)."""

    type_name = "AWS::SQS::QueueInlinePolicy"

    async def create(self, op: ResourceOp):
        url = op.properties.get("Queue")
        await self._set(op, url, as_attribute(op.properties.get("PolicyDocument") or {}))
        return url, {}

    async def update(self, op: ResourceOp):
        await self._set(op, op.physical_id, as_attribute(op.properties.get("PolicyDocument") or {}))
        return {}

    async def delete(self, op: ResourceOp):
        try:
            await self._set(op, op.physical_id, "")
        except AwsError:  # the queue went first: nothing left to detach from
            pass

    @staticmethod
    async def _set(op: ResourceOp, url: str, policy: str) -> None:
        await op.call("sqs", "SetQueueAttributes", {"QueueUrl": url, "Attributes": {"Policy": policy}})
