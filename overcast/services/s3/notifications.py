"""S3 event notifications: matching events against a bucket's NotificationConfiguration and
delivering S3's event messages.

Each destination is delivered through its service's own provider API, never its tables: SQS
queues by SendMessage, SNS topics by the SNS provider's publish_internal (subject "Amazon S3
Notification"), Lambda functions by an asynchronous (Event) invoke, and with an
EventBridgeConfiguration every event goes to the bucket's account and region's default event bus
(EventBridge's put_event_internal) in S3's EventBridge format ("Object Created", "Object Deleted",
... with source aws.s3), whatever the other configurations' filters.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import itertools
import logging
import os
import time
import uuid
from typing import NamedTuple
from urllib.parse import quote_plus

import orjson

from overcast import tracing
from overcast.aws.context import HttpRequest, RequestContext
from overcast.aws.errors import AwsError
from overcast.engine.targets import Sender, delivery_refusal

log = logging.getLogger("overcast.s3")

EVENTS = frozenset((
    "s3:ObjectCreated:*", "s3:ObjectCreated:Put", "s3:ObjectCreated:Post", "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload", "s3:ObjectRemoved:*", "s3:ObjectRemoved:Delete",
    "s3:ObjectRemoved:DeleteMarkerCreated", "s3:ObjectTagging:*", "s3:ObjectTagging:Put",
    "s3:ObjectTagging:Delete", "s3:LifecycleExpiration:*", "s3:LifecycleExpiration:Delete",
    "s3:LifecycleExpiration:DeleteMarkerCreated", "s3:ObjectRestore:*", "s3:ObjectRestore:Post",
    "s3:ObjectRestore:Completed", "s3:ObjectRestore:Delete", "s3:ReducedRedundancyLostObject", "s3:Replication:*",
    "s3:ObjectAcl:Put", "s3:IntelligentTiering", "s3:LifecycleTransition",
))
# S3 events as EventBridge names them: (detail-type, reason, deletion-type)
_EVENTBRIDGE = {
    "ObjectCreated:Put": ("Object Created", "PutObject", None),
    "ObjectCreated:Post": ("Object Created", "POST Object", None),
    "ObjectCreated:Copy": ("Object Created", "CopyObject", None),
    "ObjectCreated:CompleteMultipartUpload": ("Object Created", "CompleteMultipartUpload", None),
    "ObjectRemoved:Delete": ("Object Deleted", "DeleteObject", "Permanently Deleted"),
    "ObjectRemoved:DeleteMarkerCreated": ("Object Deleted", "DeleteObject", "Delete Marker Created"),
    "LifecycleExpiration:Delete": ("Object Deleted", "Lifecycle Expiration", "Permanently Deleted"),
    "LifecycleExpiration:DeleteMarkerCreated": ("Object Deleted", "Lifecycle Expiration", "Delete Marker Created"),
    "ObjectTagging:Put": ("Object Tags Added", None, None),
    "ObjectTagging:Delete": ("Object Tags Deleted", None, None),
    "ObjectAcl:Put": ("Object ACL Updated", None, None),
}
_KINDS = (("QueueConfigurations", "QueueArn", "sqs"), ("TopicConfigurations", "TopicArn", "sns"),
          ("LambdaFunctionConfigurations", "LambdaFunctionArn", "lambda"))


# the ArgumentName of a destination ARN that does not parse, per configuration kind
_ARGUMENT_NAMES = {"sqs": "Queue", "sns": "Topic", "lambda": "CloudFunction"}


_EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def customer_id(account: str) -> str:
    """The Amazon customer id S3's events name a bucket owner by (`A3NL1KOZZKExample`), not the
    account id: 14 upper-case letters and digits, the same for an account every time."""
    digest = base64.b32encode(hashlib.sha256(f"s3-owner:{account}".encode()).digest()).decode()
    return "A" + digest[:13]


class Notifier:
    def __init__(self, provider):
        self.provider = provider
        self._sequence = itertools.count(int(time.time() * 1000) << 8)
        self._tasks: set[asyncio.Task] = set()
        # In-process listeners on a bucket's new objects (CloudFormation waits for custom
        # resources' answers this way): bucket name -> callbacks taking the object key.
        self._watchers: dict[str, set] = {}
        self._node = provider.providers.coordination.node_id  # written on the rows this node delivers

    def _principal(self, ctx) -> str:
        """userIdentity.principalId: "AWS:" and the IAM user's unique id (AIDA...) for an IAM user's
        key, as S3 names it; else the access key, or the account's customer id."""
        if ctx is None:
            return "AmazonS3"
        iam = self.provider.providers.loaded().get("iam") if ctx.access_key else None
        identity = iam.identity_for_access_key(ctx.access_key) if iam is not None else None
        if identity is not None:
            return f"AWS:{identity['UserId']}"
        return f"AWS:{ctx.access_key}" if ctx.access_key else customer_id(ctx.account)

    def watch(self, bucket_name: str, callback) -> None:
        self._watchers.setdefault(bucket_name, set()).add(callback)

    def unwatch(self, bucket_name: str, callback) -> None:
        watchers = self._watchers.get(bucket_name)
        if watchers is not None:
            watchers.discard(callback)
            if not watchers:
                del self._watchers[bucket_name]

    async def _provider(self, service: str):
        return await self.provider.providers.get(service)

    async def validate(self, bucket, config: dict, skip_destinations: bool = False) -> None:
        """Check a configuration as S3 does (AWS's recorded answers): events, filter rules (their
        names are stored as Prefix / Suffix), ARNs that parse, then — unless
        SkipDestinationValidation — that each destination exists and lets S3 publish; every
        destination that does not is named in one error (ArgumentName1, ArgumentValue1, ...)."""
        unusable: list[tuple[str, str]] = []
        for list_name, arn_name, kind in _KINDS:
            for entry in config.get(list_name) or []:
                if not entry.get("Id"):  # S3 names a configuration given without an Id
                    entry["Id"] = base64.b64encode(os.urandom(36)).decode()
                arn = entry.get(arn_name) or ""
                for event in entry.get("Events") or []:
                    if event not in EVENTS:
                        raise AwsError("InvalidArgument", "The event is not supported for notifications", 400,
                                       ArgumentName="Event", ArgumentValue=event)
                rules = (((entry.get("Filter") or {}).get("Key") or {}).get("FilterRules")) or []
                seen = set()
                for rule in rules:
                    if rule.get("Name") is None or rule.get("Value") is None:  # both are required by the schema
                        raise AwsError("MalformedXML", "The XML you provided was not well-formed or did not validate "
                                       "against our published schema")
                    name = (rule.get("Name") or "").lower()
                    if name not in ("prefix", "suffix") or name in seen:
                        raise AwsError("InvalidArgument", "filter rule name must be either prefix or suffix", 400,
                                       ArgumentName="FilterRule.Name", ArgumentValue=rule.get("Name"))
                    seen.add(name)
                    rule["Name"] = name.capitalize()
                parts = arn.split(":")
                if len(parts) < 6 or parts[0] != "arn":
                    raise AwsError("InvalidArgument", "The ARN could not be parsed", 400,
                                   ArgumentName=_ARGUMENT_NAMES[kind], ArgumentValue=arn)
                if parts[2] != kind:
                    unusable.append((arn, "The destination ARN is not valid"))
                    continue
                if skip_destinations:
                    continue
                why = await self._destination_problem(kind, arn, parts)
                if why is None and await self._refusal(bucket, kind, arn) is not None:
                    what = {"sqs": "queue", "sns": "topic", "lambda": "function"}[kind]
                    why = f"Permissions on the destination {what} do not allow S3 to publish notifications from " \
                          "this bucket"
                if why is not None:
                    unusable.append((arn, why))
        if unusable:
            fields = {}
            for n, (arn, why) in enumerate(unusable, 1):
                fields[f"ArgumentName{n}"], fields[f"ArgumentValue{n}"] = arn, why
            raise AwsError("InvalidArgument", "Unable to validate the following destination configurations", 400,
                           **fields)

    async def _destination_problem(self, kind: str, arn: str, parts: list[str]) -> str | None:
        """Why S3 cannot use this destination (it checks when the configuration is put), or None."""
        if kind in ("sqs", "sns") and parts[5].endswith(".fifo"):
            return f"FIFO {'queues' if kind == 'sqs' else 'topics'} are not supported as event destinations"
        provider = await self._provider(kind)
        account, region = parts[4], parts[3]
        try:
            if kind == "sqs":
                provider.get_queue_url(_internal_ctx("sqs", account, region, "GetQueueUrl"),
                                       {"QueueName": parts[5], "QueueOwnerAWSAccountId": account})
            elif kind == "sns":
                provider.get_topic_attributes(_internal_ctx("sns", account, region, "GetTopicAttributes"),
                                              {"TopicArn": arn})
            else:
                provider.get_function_configuration(_internal_ctx("lambda", account, region, "GetFunctionConfiguration"),
                                                    {"FunctionName": arn})
        except AwsError:
            if kind == "lambda":  # AWS's words for a function it cannot find
                return f"Not authorized to invoke function [{arn}]"
            return f"The destination {'queue' if kind == 'sqs' else 'topic'} does not exist"
        return None

    async def test_event(self, bucket, config: dict) -> None:
        message = orjson.dumps({
            "Service": "Amazon S3", "Event": "s3:TestEvent", "Time": _iso(time.time()), "Bucket": bucket.name,
            "RequestId": f"{next(self._sequence):016X}", "HostId": "overcast",
        }).decode()
        for list_name, arn_name, kind in _KINDS:
            if kind == "lambda":  # S3 tests queues and topics with this message, not functions
                continue
            for entry in config.get(list_name) or []:
                await self._deliver(kind, entry[arn_name], message)

    def emit(self, bucket, event: str, key: str, size: int, etag: str, version_id: str | None, ctx) -> None:
        """Match an event against the bucket's configuration and deliver in the background."""
        if self._watchers and event.startswith("ObjectCreated"):
            for callback in list(self._watchers.get(bucket.name, ())):
                callback(key)
        config = bucket.config.get("notification")
        if not config:
            return
        targets = []
        for list_name, arn_name, kind in _KINDS:
            for entry in config.get(list_name) or []:
                if _matches(entry, event, key):
                    targets.append((kind, entry[arn_name], entry.get("Id") or "overcast-notification"))
        to_eventbridge = "EventBridgeConfiguration" in config and event in _EVENTBRIDGE
        if not targets and not to_eventbridge:
            return
        sequencer = f"{next(self._sequence):016X}"
        for kind, arn, config_id in targets:
            record = self._record(bucket, event, key, size, etag, version_id, ctx, config_id, sequencer)
            self._outbox(bucket, kind, arn, orjson.dumps({"Records": [record]}).decode())
        if to_eventbridge:
            bus = f"arn:aws:events:{bucket.region}:{bucket.account}:event-bus/default"
            message = self._eventbridge_event(bucket, event, key, size, etag, version_id, ctx, sequencer)
            self._outbox(bucket, "eventbridge", bus, orjson.dumps(message).decode())

    def _outbox(self, bucket, kind: str, arn: str, message: str) -> None:
        """Keep a notification to deliver: its row commits with the write that emitted it (the
        caller's transaction, S3Provider._atomic); delivery starts once that code has returned
        to the loop, that is once it committed (a rolled-back row is not found, and skipped)."""
        delivery_id = self.provider.store.add_delivery(bucket.name, bucket.account, kind, arn, message,
                                                       tracing.current_lineage_header(), self._node)
        try:
            asyncio.get_running_loop().call_soon(self._start, delivery_id)
        except RuntimeError:
            pass  # no loop running: delivered when the provider next starts (resume)

    async def take_over(self) -> None:
        """(A cluster) Deliver the notifications that dead nodes committed and did not deliver:
        each row is taken by one live node (its `node` set to this one's while it still names the
        dead one). Run at start and whenever a node is seen gone."""
        store, coordination = self.provider.store, self.provider.providers.coordination
        try:
            others = store.delivery_nodes(self._node)
            dead = await coordination.dead_nodes(node for node in others if node is not None)
            taken = store.claim_deliveries(self._node, sorted(dead), None in others)
        except Exception as e:
            log.warning("taking over the S3 notifications of dead nodes: %s", e)
            return
        if taken:
            log.info("delivering %d S3 notification(s) left by dead node(s)", len(taken))
        for delivery_id in taken:
            self._start(delivery_id)

    def resume(self) -> None:
        """Deliver the notifications committed but not delivered before a crash or a stop."""
        for delivery_id in self.provider.store.pending_deliveries():
            self._start(delivery_id)

    def _start(self, delivery_id: int) -> None:
        self.spawn(self._run(delivery_id))

    async def _run(self, delivery_id: int) -> None:
        row = self.provider.store.delivery(delivery_id)
        if row is None:
            return
        bucket_name, account, kind, arn, message, trace = row
        # in the trace of the write that emitted it (kept with the row: a restart resumes it there)
        with tracing.hop("s3", "Notification", resource=arn, account=account, parent=trace, request=message,
                         attributes={"bucket": bucket_name, "destination": kind}):
            await self._deliver(kind, arn, message, BucketRef(bucket_name, account))
        self.provider.store.delete_delivery(delivery_id)  # after one attempt, as before: at least once

    def spawn(self, coroutine) -> None:
        try:
            task = asyncio.get_running_loop().create_task(coroutine)
        except RuntimeError:
            coroutine.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _record(self, bucket, event, key, size, etag, version_id, ctx, config_id, sequencer) -> dict:
        # tagging and ACL events are eventVersion 2.3 without a sequencer (AWS's recorded answers)
        tagging = event.startswith(("ObjectTagging", "ObjectAcl"))
        obj = {"key": quote_plus(key, safe="/")}
        if not tagging:
            obj["sequencer"] = sequencer
        if event.startswith("ObjectCreated"):
            obj["size"] = size
        if event.startswith("ObjectCreated") or tagging:  # tagging events carry no size (AWS's recorded answers)
            obj["eTag"] = etag.strip('"')
        elif event == "ObjectRemoved:DeleteMarkerCreated":  # a marker's ETag is the empty body's MD5
            obj["eTag"] = _EMPTY_MD5
        if version_id and version_id != "null":
            obj["versionId"] = version_id
        request_id = ctx.request_id if ctx is not None else f"{next(self._sequence):016X}"
        principal = self._principal(ctx)
        source_ip = "127.0.0.1"
        if ctx is not None and ctx.request.client:
            source_ip = ctx.request.client[0]
        return {
            "eventVersion": "2.3" if tagging else "2.1",
            "eventSource": "aws:s3",
            "awsRegion": bucket.region,
            "eventTime": _iso(time.time()),
            "eventName": event,
            "userIdentity": {"principalId": principal},
            "requestParameters": {"sourceIPAddress": source_ip},
            "responseElements": {"x-amz-request-id": request_id, "x-amz-id-2": request_id},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": config_id,
                "bucket": {"name": bucket.name, "ownerIdentity": {"principalId": customer_id(bucket.account)},
                           "arn": f"arn:aws:s3:::{bucket.name}"},
                "object": obj,
            },
        }

    def _eventbridge_event(self, bucket, event, key, size, etag, version_id, ctx, sequencer) -> dict:
        """The event S3 sends to EventBridge (the S3 user guide's "EventBridge message structure")."""
        detail_type, reason, deletion = _EVENTBRIDGE[event]
        obj: dict = {"key": key}
        if event.startswith("ObjectCreated") or event.startswith("ObjectTagging"):
            obj.update(size=size, etag=etag.strip('"'))
        elif event.startswith("ObjectAcl"):  # its ETag without a size (AWS's recorded answers)
            obj["etag"] = etag.strip('"')
        if version_id and version_id != "null":
            obj["version-id"] = version_id
        if not event.startswith(("ObjectTagging", "ObjectAcl")):
            obj["sequencer"] = sequencer
        source_ip = ctx.request.client[0] if ctx is not None and ctx.request.client else "127.0.0.1"
        detail: dict = {
            "version": "0", "bucket": {"name": bucket.name}, "object": obj,
            "request-id": ctx.request_id if ctx is not None else f"{next(self._sequence):016X}",
            "requester": ctx.account if ctx is not None else "s3.amazonaws.com",
            "source-ip-address": source_ip,
        }
        if reason:
            detail["reason"] = reason
        if deletion:
            detail["deletion-type"] = deletion
        return {"version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type, "source": "aws.s3",
                "account": bucket.account, "time": _iso(time.time())[:19] + "Z", "region": bucket.region,
                "resources": [f"arn:aws:s3:::{bucket.name}"], "detail": detail}

    async def _refusal(self, bucket, kind: str, arn: str) -> str | None:
        """Why S3 may not deliver this bucket's events to a destination of another account (its
        resource policy must allow s3.amazonaws.com, as AWS checks); None when it may."""
        parts = arn.split(":")
        if bucket is None or kind == "eventbridge" or len(parts) < 6 or parts[4] == bucket.account:
            return None
        target = await self.provider.providers.get(kind)
        return delivery_refusal(target, arn, Sender("s3.amazonaws.com", f"arn:aws:s3:::{bucket.name}", bucket.account))

    async def _deliver(self, kind: str, arn: str, message: str, bucket=None) -> None:
        parts = arn.split(":")
        account, region = parts[4], parts[3]
        try:
            refused = await self._refusal(bucket, kind, arn)
            if refused is not None:
                log.warning("S3 notification to %s refused: %s", arn, refused)
                return
            provider = await self._provider("events" if kind == "eventbridge" else kind)
            if kind == "eventbridge":
                await provider.put_event_internal(account, region, arn, message)
            elif kind == "sqs":
                ctx = _internal_ctx("sqs", account, region, "SendMessage")
                provider.send_message(ctx, {"QueueUrl": f"http://localhost:4566/{account}/{parts[5]}",
                                            "MessageBody": message})
            elif kind == "sns":
                await provider.publish_internal(account, region, arn, message, subject="Amazon S3 Notification")
            else:
                await provider.invoke_function(account, region, arn, message.encode(), invocation_type="Event")
        except AwsError as e:
            _failed(e)
            log.warning("S3 notification to %s failed: %s", arn, e)
        except Exception as e:
            _failed(e)
            log.exception("S3 notification to %s failed", arn)


def _failed(error: Exception) -> None:
    span = tracing.current()
    if span is not None and span.kind == "hop":
        span.fail(error)


class BucketRef(NamedTuple):
    """The bucket a pending notification came from (it may be gone by its delivery)."""

    name: str
    account: str


def _matches(entry: dict, event: str, key: str) -> bool:
    wanted = entry.get("Events") or []
    family = event.split(":")[0]
    if f"s3:{event}" not in wanted and f"s3:{family}:*" not in wanted:
        return False
    for rule in (((entry.get("Filter") or {}).get("Key") or {}).get("FilterRules")) or []:
        name, value = (rule.get("Name") or "").lower(), rule.get("Value") or ""
        if name == "prefix" and not key.startswith(value):
            return False
        if name == "suffix" and not key.endswith(value):
            return False
    return True


def _iso(epoch: float) -> str:
    dt = datetime.datetime.fromtimestamp(epoch, datetime.UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _internal_ctx(service: str, account: str, region: str, operation: str) -> RequestContext:
    request = HttpRequest("POST", "/", "/", "", {"host": "localhost:4566"}, b"")
    return RequestContext(account, region, service, request, operation=operation, access_key=account)
