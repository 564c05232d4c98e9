"""Amazon SQS: standard and FIFO queues, long polling, dead-letter queues and redrive.

State lives in the database (store.py). In memory there are only caches and wake-up machinery:
the parsed queue settings (keyed by account, region, name; dropped on SetQueueAttributes,
DeleteQueue and reset, on every node of a cluster: storage/coordination.Cluster.cache), the long-poll waiters, and the asyncio tasks that run message moves
(whose state is in the database and which resume after a restart).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
import uuid
from contextlib import contextmanager

import orjson

from overcast import tracing
from overcast.aws import tags as reserved_tags
from overcast.aws.context import random_uuid
from overcast.aws.errors import AwsError
from overcast.engine.waiters import Waiters
from overcast.services.base import Provider
from overcast.services.sqs import models as m
from overcast.services.sqs.metrics import SqsMetrics
from overcast.services.sqs.models import Queue, invalid_parameter
from overcast.services.sqs.store import SqsStore

log = logging.getLogger("overcast.sqs")

_SWEEP_INTERVAL_MS = 5_000
_GROUP_PAGE = 20  # a FIFO group's messages read at a time (a receive takes at most 10)
_HEAD_PAGE = 50  # a FIFO queue's visible messages looked at a time for the groups' first ones
_MESSAGE_SYSTEM_ATTRIBUTES = (
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageDeduplicationId",
    "MessageGroupId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
)
_SQS_ACTIONS = frozenset(
    {
        "*", "ChangeMessageVisibility", "DeleteMessage", "GetQueueAttributes", "GetQueueUrl",
        "ListDeadLetterSourceQueues", "PurgeQueue", "ReceiveMessage", "SendMessage", "ListQueueTags",
        "ChangeMessageVisibilityBatch", "DeleteMessageBatch", "SendMessageBatch",
        "StartMessageMoveTask", "CancelMessageMoveTask", "ListMessageMoveTasks",
    }
)

# The AWSTraceHeader system attribute as stored (models.encode_attributes' form), for a trace header
_TRACE_ATTRIBUTE = '{"AWSTraceHeader":{"DataType":"String","StringValue":"%s"}}'


def _trace_attribute(ctx) -> str | None:
    """The AWSTraceHeader stored with a message whose sender set none (docs/tracing.md, "SQS"). As on
    AWS: the X-Amzn-Trace-Id the SendMessage request came with, as it was sent, and none without
    one. A message overcast sends itself (an SNS delivery of an Active topic, an EventBridge or
    S3 notification target, an API Gateway integration) carries the trace of the hop sending it, as
    AWS's integrations pass theirs on."""
    header = ctx.request.headers.get("x-amzn-trace-id")
    if header:
        return orjson.dumps({"AWSTraceHeader": {"DataType": "String", "StringValue": header}}).decode()
    span = tracing.current()
    if span is not None and (span.kind != "api" or span.parent is not None):  # not a client's request
        return _TRACE_ATTRIBUTE % span.lineage_header()  # (its Lineage: a loop through SNS or S3 counts)
    return None


def _batch_result(successful: list, failed: list) -> dict:
    """A batch's answer: AWS leaves an empty Successful or Failed list out (LocalStack's
    AWS-recorded test_send_message_batch_with_oversized_contents_with_updated_maximum_message_size)."""
    result = {}
    if successful:
        result["Successful"] = successful
    if failed:
        result["Failed"] = failed
    return result


def _not_found(parameter: str) -> AwsError:
    return AwsError("ResourceNotFoundException",
                    f"The resource that you specified for the {parameter} parameter doesn't exist.", 404)


def _now_ms() -> int:
    return int(time.time() * 1000)


# A batch is authorized by its single-message action (sqs:SendMessage covers SendMessageBatch).
_BATCH_ACTIONS = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
                  "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}


class SqsProvider(Provider):
    service = "sqs"

    def __init__(self, providers):
        super().__init__(providers)
        self.store = SqsStore(self.db)
        self._queues: dict[tuple[str, str, str], Queue] = {}
        # a change to a queue's row drops it from every node's _queues (storage/coordination.py)
        self._forget_key = providers.coordination.cache("sqs-queues", self._drop_queue, self._queues.clear)
        self._waiters = Waiters(providers.coordination.channel("sqs"))
        self._moves: dict[str, asyncio.Task] = {}
        self._swept: dict[int, int] = {}
        self._last_seq = 0
        self._dedup_purged = 0
        self._pending: list[tuple] | None = None  # standard-queue rows held by batched_sends
        self.metrics = SqsMetrics(self)  # AWS/SQS metrics to CloudWatch, off the requests' path

    async def start(self) -> None:
        for task_id in self.store.running_move_tasks():
            self._start_move(task_id)

    async def stop(self) -> None:
        for task in list(self._moves.values()):
            task.cancel()
        self._moves.clear()
        self.metrics.stop()
        self._waiters.notify_all()

    def reset(self) -> None:
        for task in list(self._moves.values()):
            task.cancel()
        self._moves.clear()
        self.metrics.stop()
        self._queues.clear()
        self._swept.clear()
        self._waiters.notify_all()

    # -- queue lookup --------------------------------------------------------------------------

    def _queue(self, account: str, region: str, name: str) -> Queue | None:
        key = (account, region, name)
        queue = self._queues.get(key)
        if queue is None:
            row = self.store.get_queue(account, region, name)
            if row is None:
                return None
            queue_id, attributes, tags, created, modified, purged_at, dedup_scope = row
            queue = Queue(queue_id, account, region, name, orjson.loads(attributes), orjson.loads(tags), created,
                          modified, purged_at, dedup_scope)
            self._queues[key] = queue
        return queue

    def _queue_by_arn(self, arn: str) -> Queue | None:
        parsed = m.parse_arn(arn)
        return self._queue(*parsed) if parsed else None

    def _resolve(self, ctx, url) -> Queue:
        """The queue a QueueUrl names: any URL whose last path segments are account and name,
        or a bare queue name in the caller's account."""
        if not url:
            # Older awsQuery clients POST to the queue URL itself and leave QueueUrl out.
            path = ctx.request.path
            if path.count("/") != 2 or m.split_queue_url(path)[0] in (None, ""):
                raise m.missing_parameter("QueueUrl")
            url = path
        account, name = m.split_queue_url(url)
        if account == "":
            raise m.queue_does_not_exist(ctx)
        account = account or ctx.account
        queue = self._queue(account, ctx.region, name)
        if queue is None:
            raise m.queue_does_not_exist(ctx)
        if account != ctx.account and not self._allowed(ctx, queue, ctx.operation):
            raise AwsError("AccessDenied", f"Access to the resource {url} is denied.", 403)
        return queue

    @staticmethod
    def _allowed(ctx, queue: Queue, action: str) -> bool:
        """Another account may use a queue when the queue's Policy allows it (AddPermission, or a
        policy set with SetQueueAttributes): the shared resource-policy evaluator decides
        (imported on the first request from another account, not with the provider)."""
        from overcast.aws import policy as iam_policy

        principal = iam_policy.caller(ctx)
        request = iam_policy.Request(principal, f"sqs:{_BATCH_ACTIONS.get(action, action)}", queue.arn,
                                     iam_policy.request_context(ctx, principal))
        return iam_policy.allows(queue.attributes.get("Policy"), request, queue.account)

    def resource_policy(self, arn: str) -> str | None:
        """The queue's policy, for deliveries from another account (engine/targets.py)."""
        queue = self._queue_by_arn(arn)
        return queue.attributes.get("Policy") if queue else None

    def _drop_queue(self, key: tuple) -> None:
        self._queues.pop(key, None)

    def _forget(self, queue: Queue) -> None:
        self._forget_key((queue.account, queue.region, queue.name))

    def _sweep(self, queue: Queue, now: int) -> None:
        """Delete expired messages, at most every few seconds per queue."""
        if now - self._swept.get(queue.id, 0) >= _SWEEP_INTERVAL_MS:
            self._swept[queue.id] = now
            self.store.delete_expired(queue.id, now - queue.retention_ms)
        if now - self._dedup_purged >= 60_000:
            self._dedup_purged = now
            self.store.purge_dedup(now)

    # -- queues ----------------------------------------------------------------------------------

    @staticmethod
    def _not_at_queue_url(ctx) -> None:
        """CreateQueue and ListQueues name no queue: AWS refuses them sent to a queue's URL over
        awsQuery (as recorded; what it answers over JSON there is not known, so JSON is served)."""
        if ctx.protocol == "query" and ctx.request.path.count("/") == 2 and m.split_queue_url(ctx.request.path)[0]:
            raise AwsError("InvalidAction", f"The action {ctx.operation} is not valid for this endpoint.")

    def create_queue(self, ctx, params):
        self._not_at_queue_url(ctx)
        name = params.get("QueueName") or ""
        attributes = params.get("Attributes") or {}
        tags = params.get("tags") or {}
        fifo = str(attributes.get("FifoQueue", "")).lower() == "true"
        m.validate_queue_name(name, fifo)
        given = m.normalize_attributes(attributes, creating=True, fifo=fifo)
        existing = self._queue(ctx.account, ctx.region, name)
        if existing is not None:
            defaults = {**m.STANDARD_DEFAULTS, **(m.FIFO_DEFAULTS if existing.fifo else {})}
            for key, value in given.items():
                current = existing.attributes.get(key, defaults.get(key, ""))
                if not m.same_attribute_value(key, current, value):
                    raise AwsError(
                        "QueueNameExists",
                        f"A queue already exists with the same name and a different value for attribute {key}",
                    )
            return {"QueueUrl": existing.url(ctx.endpoint)}
        deleted_at = self.store.deleted_at(ctx.account, ctx.region, name)
        if deleted_at is not None and time.time() - deleted_at < m.DELETED_RECENTLY_SECONDS:
            raise AwsError(
                "QueueDeletedRecently",
                "You must wait 60 seconds after deleting a queue before you can create another with the same name.",
            )
        self._validate_tags(tags)
        full = {**m.STANDARD_DEFAULTS, **(m.FIFO_DEFAULTS if fifo else {})}
        full.update(given)
        full = self._settle_attributes(ctx, name, fifo, full, attributes.get("RedrivePolicy"))
        now = int(time.time())
        self.store.create_queue(ctx.account, ctx.region, name, full, tags, now, full.get("DeduplicationScope"))
        created = self._queue(ctx.account, ctx.region, name)
        if created is not None:
            self.metrics.active(created)  # its gauges are published from the next minute
        return {"QueueUrl": f"{ctx.endpoint}/{ctx.account}/{name}"}

    def _settle_attributes(self, ctx, name: str, fifo: bool, attributes: dict, raw_redrive=None,
                           check_redrive: bool = True) -> dict:
        """Drop emptied attributes, keep SSE settings consistent, check the redrive policy."""
        attributes = {k: v for k, v in attributes.items() if v != ""}
        if "KmsMasterKeyId" in attributes:
            if attributes.get("SqsManagedSseEnabled") == "true" and "SqsManagedSseEnabled" in attributes:
                attributes["SqsManagedSseEnabled"] = "false"
            attributes.setdefault("KmsDataKeyReusePeriodSeconds", "300")
        redrive = attributes.get("RedrivePolicy")
        if redrive and check_redrive:
            policy = orjson.loads(redrive)
            target = self._queue_by_arn(policy["deadLetterTargetArn"])
            reason = None
            source_arn = f"arn:aws:sqs:{ctx.region}:{ctx.account}:{name}"
            if target is None or target.account != ctx.account or target.region != ctx.region:
                reason = "Dead letter target does not exist."
            elif target.fifo != fifo:
                reason = "Dead-letter queue must be same type of queue as the source."
            elif not target.allows_as_dlq_source(source_arn):
                reason = "Queue is not allowed to be a dead-letter queue source of the target queue."
            if reason:
                raise invalid_parameter(
                    f"Value {raw_redrive or redrive} for parameter RedrivePolicy is invalid. Reason: {reason}"
                )
        return attributes

    @staticmethod
    def _validate_tags(tags: dict) -> None:
        for key, value in tags.items():
            if not key or len(key) > 128 or value is None or len(value) > 256:
                raise invalid_parameter(f"Tag {key} has an invalid key or value.")

    def delete_queue(self, ctx, params):
        queue = self._resolve(ctx, params.get("QueueUrl"))
        self.store.delete_queue(queue.id, queue.account, queue.region, queue.name, time.time())
        self._forget(queue)
        self._swept.pop(queue.id, None)
        self._waiters.notify(queue.id)
        self.metrics.forget(queue.account, queue.region, queue.name)
        return {}

    def get_queue_url(self, ctx, params):
        name = params.get("QueueName") or ""
        owner = params.get("QueueOwnerAWSAccountId") or ctx.account
        queue = self._queue(owner, ctx.region, name)
        if queue is None or (owner != ctx.account and not self._allowed(ctx, queue, "GetQueueUrl")):
            raise m.queue_does_not_exist(ctx)
        return {"QueueUrl": queue.url(ctx.endpoint)}

    def list_queues(self, ctx, params):
        self._not_at_queue_url(ctx)
        prefix = params.get("QueueNamePrefix") or ""
        max_results = params.get("MaxResults")
        if max_results is not None and not 1 <= max_results <= 1000:
            raise invalid_parameter(
                f"Value {max_results} for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000."
            )
        after = self._decode_token(params.get("NextToken"))
        limit = max_results or 1000
        names = self.store.list_queue_names(ctx.account, ctx.region, prefix, after, limit + 1)
        result: dict = {}
        if max_results is not None and len(names) > limit:
            names = names[:limit]
            result["NextToken"] = self._encode_token(names[-1])
        names = names[:limit]
        if names:
            result["QueueUrls"] = [f"{ctx.endpoint}/{ctx.account}/{n}" for n in names]
        return result

    @staticmethod
    def _encode_token(value: str) -> str:
        return base64.urlsafe_b64encode(orjson.dumps({"after": value})).decode()

    @staticmethod
    def _decode_token(token: str | None) -> str:
        if not token:
            return ""
        try:
            return str(orjson.loads(base64.urlsafe_b64decode(token.encode()))["after"])
        except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
            raise invalid_parameter("Invalid NextToken value.") from None

    def get_queue_attributes(self, ctx, params):
        queue = self._resolve(ctx, params.get("QueueUrl"))
        names = params.get("AttributeNames") or []
        for name in names:
            if name != "All" and name not in m.ALL_QUEUE_ATTRIBUTES:
                raise m.unknown_attribute(name)
        if not names:
            return {}
        wanted = set(m.ATTRIBUTE_ORDER) if "All" in names else set(names)
        values = dict(queue.attributes)
        values["QueueArn"] = queue.arn
        values["CreatedTimestamp"] = str(queue.created)
        values["LastModifiedTimestamp"] = str(queue.modified)
        if not values.get("KmsMasterKeyId"):  # AWS shows the reuse period only with a key to reuse
            values.pop("KmsDataKeyReusePeriodSeconds", None)
        if wanted & {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"}:
            now = _now_ms()
            self._sweep(queue, now)
            visible, in_flight, delayed = self.store.counts(queue.id, now, now - queue.retention_ms)
            values["ApproximateNumberOfMessages"] = str(visible)
            values["ApproximateNumberOfMessagesNotVisible"] = str(in_flight)
            values["ApproximateNumberOfMessagesDelayed"] = str(delayed)
        attributes = {k: values[k] for k in m.ATTRIBUTE_ORDER if k in wanted and k in values}
        return {"Attributes": attributes} if attributes else {}

    def set_queue_attributes(self, ctx, params):
        queue = self._resolve(ctx, params.get("QueueUrl"))
        given = params.get("Attributes") or {}
        if queue.fifo and str(given.get("FifoQueue", "")).lower() == "true":  # what it is already: nothing to do
            given = {k: v for k, v in given.items() if k != "FifoQueue"}
        normalized = m.normalize_attributes(given, creating=False, fifo=queue.fifo)
        if "KmsMasterKeyId" in normalized and normalized["KmsMasterKeyId"] and "SqsManagedSseEnabled" not in normalized:
            normalized["SqsManagedSseEnabled"] = "false"
        if normalized.get("SqsManagedSseEnabled") == "true":
            normalized.setdefault("KmsMasterKeyId", "")
            normalized.setdefault("KmsDataKeyReusePeriodSeconds", "")
        merged = self._settle_attributes(
            ctx, queue.name, queue.fifo, {**queue.attributes, **normalized}, given.get("RedrivePolicy"),
            check_redrive="RedrivePolicy" in normalized,
        )
        self.store.update_attributes(queue.id, merged, int(time.time()))
        self._forget(queue)
        self._waiters.notify(queue.id)
        return {}

    def purge_queue(self, ctx, params):
        queue = self._resolve(ctx, params.get("QueueUrl"))
        now = time.time()
        if queue.purged_at is not None and now - queue.purged_at < m.PURGE_INTERVAL_SECONDS:
            raise AwsError(
                "PurgeQueueInProgress", f"Only one PurgeQueue operation on {queue.name} is allowed every 60 seconds.",
                403)
        self.store.set_purged(queue.id, now)
        queue.purged_at = now
        self._forget(queue)  # (another node's copy: its next PurgeQueue within 60 s is refused too)
        return {}

    # -- tags and permissions --------------------------------------------------------------------

    def tag_queue(self, ctx, params):
        queue = self._resolve(ctx, params.get("QueueUrl"))
        tags = params.get("Tags") or {}
        self._validate_tags(tags)
        if bad := reserved_tags.refused(ctx, tags):
            raise invalid_parameter(f"Tag keys beginning with aws: are reserved for AWS use and cannot be added, changed or removed: {', '.join(bad)}")
        merged = {**queue.tags, **tags}
        if len(merged) > 50:
            raise invalid_parameter(f"Too many tags added for queue {queue.name}.")
        self.store.update_tags(queue.id, merged)
        queue.tags = merged
        self._forget(queue)
        return {}

    def untag_queue(self, ctx, params):
        queue = self._resolve(ctx, params.get("QueueUrl"))
        keys = set(params.get("TagKeys") or [])
        if bad := reserved_tags.refused(ctx, sorted(keys)):
            raise invalid_parameter(f"Tag keys beginning with aws: are reserved for AWS use and cannot be added, changed or removed: {', '.join(bad)}")
        remaining = {k: v for k, v in queue.tags.items() if k not in keys}
        self.store.update_tags(queue.id, remaining)
        queue.tags = remaining
        self._forget(queue)
        return {}

    def list_queue_tags(self, ctx, params):
        queue = self._resolve(ctx, params.get("QueueUrl"))
        return {"Tags": dict(queue.tags)} if queue.tags else {}

    def tagged_resources(self, ctx) -> list[tuple[str, dict]]:
        """(ARN, tags) of this account's queues in the request's region that have tags: what the
        Resource Groups Tagging API lists (services/resourcegroupstaggingapi)."""
        return [(f"arn:aws:sqs:{ctx.region}:{ctx.account}:{name}", orjson.loads(tags))
                for name, tags in self.store.tagged(ctx.account, ctx.region)]

    def add_permission(self, ctx, params):
        queue = self._resolve(ctx, params.get("QueueUrl"))
        label = params.get("Label") or ""
        accounts = params.get("AWSAccountIds") or []
        actions = params.get("Actions") or []
        if not label or len(label) > 80 or not all(c.isalnum() or c in "-_" for c in label):
            raise invalid_parameter(
                f"Value {label} for parameter Label is invalid. Reason: Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length."
            )
        if not accounts:
            raise m.missing_parameter("AWSAccountIds")
        if not actions:
            raise m.missing_parameter("Actions")
        for action in actions:
            if action not in _SQS_ACTIONS:
                raise invalid_parameter(f"Value SQS:{action} for parameter ActionName is invalid. Reason: Please refer to the appropriate WSDL for a list of valid actions.")
        policy = orjson.loads(queue.attributes["Policy"]) if queue.attributes.get("Policy") else {
            "Version": "2008-10-17",  # the version AWS writes into the policy AddPermission starts
            "Id": f"{queue.arn}/SQSDefaultPolicy",
            "Statement": [],
        }
        statements = policy.setdefault("Statement", [])
        if any(isinstance(s, dict) and s.get("Sid") == label for s in statements):
            raise invalid_parameter(f"Value {label} for parameter Label is invalid. Reason: Already exists.")
        principals = [f"arn:aws:iam::{a}:root" for a in accounts]
        sqs_actions = [f"SQS:{a}" for a in actions]
        statements.append(
            {
                "Sid": label,
                "Effect": "Allow",
                "Principal": {"AWS": principals[0] if len(principals) == 1 else principals},
                "Action": sqs_actions[0] if len(sqs_actions) == 1 else sqs_actions,
                "Resource": queue.arn,
            }
        )
        self._write_policy(queue, policy)
        return {}

    def remove_permission(self, ctx, params):
        queue = self._resolve(ctx, params.get("QueueUrl"))
        label = params.get("Label") or ""
        policy = orjson.loads(queue.attributes["Policy"]) if queue.attributes.get("Policy") else {}
        statements = policy.get("Statement") or []
        kept = [s for s in statements if not (isinstance(s, dict) and s.get("Sid") == label)]
        if len(kept) == len(statements):
            raise invalid_parameter(
                f"Value {label} for parameter Label is invalid. Reason: can't find label."
            )
        policy["Statement"] = kept
        self._write_policy(queue, policy if kept else None)
        return {}

    def _write_policy(self, queue: Queue, policy: dict | None) -> None:
        attributes = dict(queue.attributes)
        if policy is None:
            attributes.pop("Policy", None)
        else:
            attributes["Policy"] = orjson.dumps(policy).decode()
        self.store.update_attributes(queue.id, attributes, int(time.time()))
        self._forget(queue)

    # -- sending ---------------------------------------------------------------------------------

    def _next_seq(self) -> str:
        seq = time.time_ns()
        if seq <= self._last_seq:
            seq = self._last_seq + 1
        self._last_seq = seq
        return str(10**19 + seq)

    def _build_message(self, ctx, queue: Queue, entry: dict, now: int) -> tuple[tuple, dict, str | None, int]:
        """Validate one message; returns (row, result, dedup key, size). Raises AwsError."""
        body = entry.get("MessageBody")
        if not body:
            raise m.missing_parameter("MessageBody")
        bad = m.find_invalid_character(body)
        if bad is not None:
            raise m.invalid_body(bad)
        size = len(body.encode()) if not body.isascii() else len(body)
        attributes = entry.get("MessageAttributes")
        md5_attributes = stored_attributes = None
        if attributes:
            size += m.validate_message_attributes(attributes)
            md5_attributes = m.md5_of_attributes(attributes)
            stored_attributes = m.encode_attributes(attributes)
        if size > queue.max_size:
            raise invalid_parameter(
                f"One or more parameters are invalid. Reason: Message must be shorter than {queue.max_size} bytes."
            )
        system = entry.get("MessageSystemAttributes")
        md5_system = stored_system = None
        if system:
            m.validate_system_attributes(system)
            md5_system = m.md5_of_attributes(system)
            stored_system = m.encode_attributes(system)
        else:
            stored_system = _trace_attribute(ctx)
        delay = entry.get("DelaySeconds")
        if delay == 0 and queue.fifo:  # FIFO queues take no per-message delay, but 0 asks for none: the queue's
            delay = None
        if delay is not None:
            if queue.fifo:
                raise invalid_parameter(
                    f"Value {delay} for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type."
                )
            if not 0 <= delay <= 900:
                raise invalid_parameter(
                    f"Value {delay} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900."
                )
        else:
            delay = queue.delay
        group_id = entry.get("MessageGroupId")
        dedup_id = entry.get("MessageDeduplicationId")
        seq = dedup_key = None
        if group_id is not None:
            m.validate_dedup_id(group_id, "MessageGroupId")
        if queue.fifo:
            if not group_id:
                raise m.missing_parameter("MessageGroupId")
            if dedup_id is not None:
                m.validate_dedup_id(dedup_id, "MessageDeduplicationId")
            elif queue.content_dedup:
                dedup_id = hashlib.sha256(body.encode()).hexdigest()
            else:
                raise invalid_parameter(
                    "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly"
                )
            # group and id are printable ASCII: a control character joins them (not NUL, which
            # PostgreSQL text cannot hold)
            dedup_key = f"{group_id}\x1f{dedup_id}" if queue.dedup_by_group else dedup_id
            seq = self._next_seq()
        elif dedup_id is not None:
            raise invalid_parameter(
                f"Value {dedup_id} for parameter MessageDeduplicationId is invalid. Reason: The request includes a parameter that is not valid for this queue type."
            )
        message_id = random_uuid()
        md5 = m.md5_hex(body.encode())
        row = (queue.id, message_id, body, md5, stored_attributes, md5_attributes, stored_system, md5_system, now,
               now + delay * 1000, group_id, dedup_id, seq, ctx.account, None)
        result = {"MD5OfMessageBody": md5, "MessageId": message_id}
        if md5_attributes:
            result["MD5OfMessageAttributes"] = md5_attributes
        if md5_system:
            result["MD5OfMessageSystemAttributes"] = md5_system
        if seq:
            result["SequenceNumber"] = seq
        return row, result, dedup_key, size

    def _store_fifo(self, queue: Queue, row: tuple, result: dict, dedup_key: str, now: int) -> None:
        """Inside a transaction: store a FIFO message unless it is a duplicate within 5 minutes,
        in which case the result names the original message."""
        duplicate = self.store.find_duplicate(queue.id, dedup_key, now)
        if duplicate is not None:
            result["MessageId"], result["SequenceNumber"] = duplicate
            return
        self.store.remember_dedup(queue.id, dedup_key, row[1], row[12], now + m.DEDUP_WINDOW_MS)
        self.store.insert_message(row)

    def send_message(self, ctx, params):
        queue = self._resolve(ctx, params.get("QueueUrl"))
        now = _now_ms()
        row, result, dedup_key, size = self._build_message(ctx, queue, params, now)
        if queue.fifo:
            with self.store.transaction():
                self._store_fifo(queue, row, result, dedup_key, now)
        elif self._pending is not None:  # inserted with the batch's other rows, in this order
            self._pending.append(row)
            self._note_sent(queue, size)
            return result
        else:
            self.store.insert_message(row)
        if self._waiters.has_waiters(queue.id):
            self._waiters.notify(queue.id)
        self._note_sent(queue, size)
        return result

    @contextmanager
    def batched_sends(self):
        """Inside the caller's transaction: the standard-queue messages send_message takes in the
        block are inserted together when it ends (one executemany, in the order sent; an SNS
        fan-out's ten deliveries cost one statement's overhead, not ten), and their queues'
        long-poll waiters woken then. A FIFO queue's message is stored at once (its deduplication
        reads what came before it). An exception drops the rows with the transaction. The block
        must not await: the rows are held on the provider, so another request's send_message run
        in between would join the batch (SNS's Publish runs its deliveries' block without one)."""
        if self._pending is not None:  # nested: the outer block inserts
            yield
            return
        self._pending = pending = []
        try:
            yield
        finally:
            self._pending = None
        if pending:
            self.store.insert_messages(pending)
            for queue_id in dict.fromkeys(row[0] for row in pending):
                if self._waiters.has_waiters(queue_id):
                    self._waiters.notify(queue_id)

    async def send_message_pipelined(self, ctx, params):
        """SendMessage on PostgreSQL: a standard queue's INSERT sent with other requests'
        statements (storage/pipeline.py); a FIFO queue's transaction stays synchronous."""
        queue = self._resolve(ctx, params.get("QueueUrl"))
        if queue.fifo:
            return self.send_message(ctx, params)
        row, result, _, size = self._build_message(ctx, queue, params, _now_ms())
        await self.store.insert_message_pipelined(row)
        if self._waiters.has_waiters(queue.id):
            self._waiters.notify(queue.id)
        self._note_sent(queue, size)
        return result

    def _note_sent(self, queue: Queue, size: int) -> None:
        self.metrics.note(queue, "NumberOfMessagesSent", 1, size=size)

    def send_message_batch(self, ctx, params):
        queue = self._resolve(ctx, params.get("QueueUrl"))
        entries = params.get("Entries") or []
        self._check_batch(entries, "SendMessageBatchRequestEntry")
        if queue.fifo:  # an entry without a group or deduplication id fails the whole request, as on AWS
            for entry in entries:
                if not entry.get("MessageGroupId"):
                    raise invalid_parameter("The request must contain the parameter MessageGroupId.")
                if entry.get("MessageDeduplicationId") is None and not queue.content_dedup:
                    raise invalid_parameter("The queue should either have ContentBasedDeduplication enabled or "
                                            "MessageDeduplicationId provided explicitly")
        now = _now_ms()
        successful, failed, rows = [], [], []
        total = 0
        for entry in entries:
            try:
                row, result, dedup_key, size = self._build_message(ctx, queue, entry, now)
            except AwsError as error:
                failed.append(self._failure(entry["Id"], error))
                continue
            total += size
            result = {"Id": entry["Id"], **result}
            rows.append((row, result, dedup_key, size))
            successful.append(result)
        limit = max(m.MAX_MESSAGE_SIZE, queue.max_size)
        if total > limit:
            raise AwsError(
                "BatchRequestTooLong", f"Batch requests cannot be longer than {limit} bytes. You have sent {total} bytes."
            )
        if rows:
            with self.store.transaction():
                if queue.fifo:
                    for row, result, dedup_key, _ in rows:
                        self._store_fifo(queue, row, result, dedup_key, now)
                else:
                    self.store.insert_messages([r[0] for r in rows])
            self._waiters.notify(queue.id)
            for r in rows:
                self._note_sent(queue, r[3])
        return _batch_result(successful, failed)

    @staticmethod
    def _failure(entry_id: str, error: AwsError) -> dict:
        return {"Id": entry_id, "SenderFault": error.sender_fault, "Code": error.code, "Message": error.message}

    @staticmethod
    def _check_batch(entries: list, entry_name: str) -> None:
        if not entries:
            raise AwsError("EmptyBatchRequest", f"There should be at least one {entry_name} in the request.")
        if len(entries) > 10:
            raise AwsError(
                "TooManyEntriesInBatchRequest", f"Maximum number of entries per request are 10. You have sent {len(entries)}."
            )
        seen = set()
        for entry in entries:
            entry_id = entry.get("Id")
            if not m.valid_batch_id(entry_id):
                raise AwsError(
                    "InvalidBatchEntryId",
                    "A batch entry id can only contain alphanumeric characters, hyphens and underscores. "
                    "It can be at most 80 letters long.",
                )
            if entry_id in seen:
                raise AwsError("BatchEntryIdsNotDistinct", f"Id {entry_id} repeated.")
            seen.add(entry_id)

    # -- receiving -------------------------------------------------------------------------------

    async def receive_message(self, ctx, params):
        queue = self._resolve(ctx, params.get("QueueUrl"))
        count = params.get("MaxNumberOfMessages")
        if count is not None and not 1 <= count <= 10:
            raise invalid_parameter(
                f"Value {count} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
            )
        visibility = params.get("VisibilityTimeout")
        if visibility is not None and not 0 <= visibility <= 43_200:
            raise invalid_parameter(
                f"Value {visibility} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided."
            )
        wait = params.get("WaitTimeSeconds")
        if wait is not None and not 0 <= wait <= 20:
            raise invalid_parameter(
                f"Value {wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."
            )
        count = count or 1
        wait = queue.wait if wait is None else wait
        system_names = set(params.get("AttributeNames") or ()) | set(params.get("MessageSystemAttributeNames") or ())
        attribute_names = params.get("MessageAttributeNames") or []
        attempt_id = params.get("ReceiveRequestAttemptId") if queue.fifo else None
        if attempt_id is not None:
            previous = self.store.get_attempt(queue.id, attempt_id, _now_ms() - 5 * 60 * 1000)
            if previous is not None:
                return self._decode_attempt(previous)

        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        key = (queue.account, queue.region, queue.name)
        while True:
            messages = self._receive_now(queue, count, visibility, system_names, attribute_names)
            if messages:
                break
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            now = _now_ms()
            next_visible = self.store.next_visible_at(queue.id, now)
            timeout = remaining if next_visible is None else min(remaining, (next_visible - now) / 1000 + 0.002)
            await self._waiters.wait(queue.id, timeout)
            queue = self._queue(*key)
            if queue is None:  # deleted while we waited
                return {}
        if not messages:
            self.metrics.note(queue, "NumberOfEmptyReceives", 1)
            return {}
        self.metrics.note(queue, "NumberOfMessagesReceived", len(messages))
        result = {"Messages": messages}
        if attempt_id is not None:
            self.store.save_attempt(queue.id, attempt_id, _now_ms(), self._encode_attempt(result))
        return result

    @staticmethod
    def _encode_attempt(result: dict) -> str:
        def default(value):
            if isinstance(value, bytes):
                return {"__b64": base64.b64encode(value).decode()}
            raise TypeError

        return orjson.dumps(result, default=default).decode()

    @staticmethod
    def _decode_attempt(text: str) -> dict:
        result = orjson.loads(text)
        for message in result.get("Messages", []):
            for value in (message.get("MessageAttributes") or {}).values():
                if isinstance(value.get("BinaryValue"), dict):
                    value["BinaryValue"] = base64.b64decode(value["BinaryValue"]["__b64"])
        return result

    def _receive_now(self, queue: Queue, count: int, visibility: int | None, system_names: set,
                     attribute_names: list) -> list[dict]:
        """Take up to `count` receivable messages now (no await: atomic on the event loop)."""
        now = _now_ms()
        self._sweep(queue, now)
        cutoff = now - queue.retention_ms
        rows = self._pick_fifo(queue, count, now, cutoff) if queue.fifo else self._pick_standard(queue, count, now, cutoff)
        if not rows:
            return []
        timeout = queue.visibility_timeout if visibility is None else visibility
        self.store.mark_received([r[0] for r in rows], now + timeout * 1000, now)
        return [self._message_out(queue, r, now, system_names, attribute_names) for r in rows]

    def _pick_standard(self, queue: Queue, count: int, now: int, cutoff: int) -> list[tuple]:
        """Up to `count` visible messages. Rows taken here are only marked received afterwards,
        so a second query (needed only when dead-letter moves used up candidates) skips them."""
        taken: list[tuple] = []
        taken_ids: set[int] = set()
        for _ in range(20):  # bounded: each further round follows at least one dead-letter move
            rows = self.store.visible_messages(queue.id, now, cutoff, count)
            moved = False
            for row in rows:
                if row[0] in taken_ids:
                    continue
                if queue.dlq_arn and row[9] >= queue.max_receive_count and self._dead_letter(queue, row, now):
                    moved = True
                    continue
                taken.append(row)
                taken_ids.add(row[0])
                if len(taken) >= count:
                    return taken
            if not moved:
                break
        return taken

    def _pick_fifo(self, queue: Queue, count: int, now: int, cutoff: int) -> list[tuple]:
        """Up to `count` messages, as many of one group as there are (AWS returns a group's
        messages together). A group is receivable while its first message is visible; it gives
        its messages in send order up to the first one in flight. Groups come in the order their
        first message became visible (sent, or its visibility timeout ran out or was ended), as
        the snapshots recorded on AWS show: a group just received from goes behind the others.
        The first page of visible messages (in that order) usually holds the groups needed, and a
        group is read from its first message on, so a receive reads about as many rows as it
        returns however long one group is; past that page only groups' first messages are
        looked for (a long group whose first message is in flight is passed over in SQL)."""
        taken: list[tuple] = []
        seen: set[str] = set()
        after = (-1, 0)
        firsts_only = False
        while True:
            page = self.store.fifo_visible_page(queue.id, now, cutoff, after, _HEAD_PAGE, firsts_only)
            for row_id, group, visible_at, first in page:
                after = (visible_at, row_id)
                if not first or group in seen:
                    continue
                seen.add(group)
                if self._take_group(queue, group, row_id, count, now, cutoff, taken):
                    return taken
            if len(page) < _HEAD_PAGE:
                return taken
            firsts_only = True

    def _take_group(self, queue: Queue, group: str, head: int, count: int, now: int, cutoff: int,
                    taken: list[tuple]) -> bool:
        """Add a group's messages from its first one up to the first in flight; True once `taken`
        holds `count`. A message due for the dead-letter queue is moved there on the way."""
        after = head
        while True:
            rows = self.store.group_messages(queue.id, group, after, _GROUP_PAGE)
            for row in rows:
                after = row[0] + 1
                if row[8] <= cutoff:  # expired, to be swept
                    continue
                if row[16] > now:  # in flight or delayed: the rest of the group waits
                    return False
                if queue.dlq_arn and row[9] >= queue.max_receive_count and self._dead_letter(queue, row, now):
                    continue
                taken.append(row)
                if len(taken) >= count:
                    return True
            if len(rows) < _GROUP_PAGE:
                return False

    def _dead_letter(self, queue: Queue, row: tuple, now: int) -> bool:
        """Move a message that was received maxReceiveCount times to the dead-letter queue."""
        target = self._queue_by_arn(queue.dlq_arn)
        if target is None:
            return False
        # Standard DLQs keep the original enqueue time (retention counts from it); FIFO resets it.
        sent_at = now if target.fifo else row[8]
        # ApproximateReceiveCount counts receives "across all queues" (AWS's ReceiveMessage
        # reference): a dead-lettered message keeps its count (AWS's recorded DLQ messages show 2)
        self.store.move_message(row, target.id, sent_at, now, queue.arn, keep_fifo=target.fifo, keep_receives=True)
        self._waiters.notify(target.id)
        return True

    @staticmethod
    def _message_out(queue: Queue, row: tuple, now: int, system_names: set, attribute_names: list) -> dict:
        (row_id, message_id, body, md5, attributes, md5_attributes, system, _md5_system, sent_at, receive_count,
         first_receive, group_id, dedup_id, seq, sender_id, dlq_source, _visible) = row
        message = {
            "MessageId": message_id,
            "ReceiptHandle": m.make_receipt_handle(queue.id, row_id, message_id, uuid.uuid4().hex),
            "MD5OfBody": md5,
            "Body": body,
        }
        if system_names:
            everything = "All" in system_names
            values = {
                "SenderId": sender_id,
                "SentTimestamp": str(sent_at),
                "ApproximateReceiveCount": str(receive_count + 1),
                "ApproximateFirstReceiveTimestamp": str(first_receive or now),
            }
            if group_id is not None:
                values["MessageGroupId"] = group_id
            if dedup_id is not None:
                values["MessageDeduplicationId"] = dedup_id
            if seq is not None:
                values["SequenceNumber"] = seq
            if system:
                trace = orjson.loads(system).get("AWSTraceHeader")
                if trace:
                    values["AWSTraceHeader"] = trace["StringValue"]
            if dlq_source:
                values["DeadLetterQueueSourceArn"] = dlq_source
            selected = {k: v for k, v in values.items() if everything or k in system_names}
            if selected:
                message["Attributes"] = selected
        if attributes and attribute_names:
            decoded = m.decode_attributes(attributes)
            selected = m.select_attributes(decoded, attribute_names)
            if selected:
                message["MD5OfMessageAttributes"] = (
                    md5_attributes if len(selected) == len(decoded) else m.md5_of_attributes(selected)
                )
                message["MessageAttributes"] = selected
        return message

    def peek_messages(self, account: str, region: str, url: str, limit: int, after: int) -> dict:
        """The web console's look at a queue (AWS has no such operation): up to `limit` messages
        after position `after`, in the order sent, visible, in flight or delayed, none of them
        received or changed. {"messages": [...], "next": position | None}."""
        owner, name = m.split_queue_url(url)
        if owner not in (None, account):  # "" (no queue URL) or another account's queue
            raise m.queue_does_not_exist()
        queue = self._queue(account, region, name)
        if queue is None:
            raise m.queue_does_not_exist()
        now = _now_ms()
        rows = self.store.messages_after(queue.id, after, now - queue.retention_ms, limit + 1)
        out = []
        for row in rows[:limit]:
            message = self._message_out(queue, row, now, {"All"}, ["All"])
            del message["ReceiptHandle"]  # nothing was received
            attributes = message["Attributes"]
            attributes["ApproximateReceiveCount"] = str(row[9])
            if row[10] is None:
                del attributes["ApproximateFirstReceiveTimestamp"]
            visible_at = row[16]
            state = "visible" if visible_at <= now else ("inflight" if row[9] else "delayed")
            out.append({**message, "State": state, "VisibleAt": visible_at, "Position": row[0]})
        return {"messages": out, "next": rows[limit - 1][0] if len(rows) > limit else None}

    # -- deleting and visibility -----------------------------------------------------------------

    def _row_for_handle(self, queue: Queue, handle: str) -> tuple[int, str]:
        parsed = m.parse_receipt_handle(handle or "")
        if parsed is None or parsed[0] != queue.id:
            raise m.invalid_receipt_handle(handle)
        return parsed[1], parsed[2]

    def delete_message(self, ctx, params):
        queue = self._resolve(ctx, params.get("QueueUrl"))
        self._delete(queue, params.get("ReceiptHandle"))
        return {}

    def _delete(self, queue: Queue, handle: str) -> None:
        row_id, message_id = self._row_for_handle(queue, handle)
        if queue.fifo:  # a FIFO message's handle lasts as long as its visibility timeout
            state = self.store.message_state(queue.id, row_id, message_id)
            if state is not None and state[0] <= _now_ms():
                raise m.expired_receipt_handle(handle)
        deleted = self.store.delete_message(queue.id, row_id, message_id)
        if deleted is not None:
            self.metrics.note(queue, "NumberOfMessagesDeleted", 1)
        if deleted is not None and queue.fifo:
            self._waiters.notify(queue.id)  # the message's group may be receivable now

    def delete_message_batch(self, ctx, params):
        queue = self._resolve(ctx, params.get("QueueUrl"))
        entries = params.get("Entries") or []
        self._check_batch(entries, "DeleteMessageBatchRequestEntry")
        successful, failed = [], []
        with self.store.transaction():
            for entry in entries:
                try:
                    self._delete(queue, entry.get("ReceiptHandle"))
                    successful.append({"Id": entry["Id"]})
                except AwsError as error:
                    failed.append(self._failure(entry["Id"], error))
        return _batch_result(successful, failed)

    def change_message_visibility(self, ctx, params):
        queue = self._resolve(ctx, params.get("QueueUrl"))
        self._change_visibility(queue, params.get("ReceiptHandle"), params.get("VisibilityTimeout"))
        return {}

    def _change_visibility(self, queue: Queue, handle: str, timeout) -> None:
        row_id, message_id = self._row_for_handle(queue, handle)
        if timeout is None:
            raise m.missing_parameter("VisibilityTimeout")
        if not 0 <= timeout <= 43_200:
            raise invalid_parameter(
                f"Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided."
            )
        now = _now_ms()
        state = self.store.message_state(queue.id, row_id, message_id)
        if state is None:
            raise invalid_parameter(
                f"Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not "
                "available for visibility timeout change."
            )
        visible_at, receive_count = state
        if receive_count == 0:
            raise AwsError("MessageNotInflight", "The message referred to isn't in flight.")
        # once the visibility timeout has run out AWS still takes the change on a standard queue
        # (LocalStack's AWS-recorded test_change_message_visibility_after_visibility_timeout_expiration);
        # a FIFO message's handle has expired then
        if visible_at <= now and queue.fifo:
            raise m.expired_receipt_handle(handle)
        self.store.set_visible_at(row_id, now + timeout * 1000)
        self._waiters.notify(queue.id)

    def change_message_visibility_batch(self, ctx, params):
        queue = self._resolve(ctx, params.get("QueueUrl"))
        entries = params.get("Entries") or []
        self._check_batch(entries, "ChangeMessageVisibilityBatchRequestEntry")
        successful, failed = [], []
        with self.store.transaction():
            for entry in entries:
                try:
                    self._change_visibility(queue, entry.get("ReceiptHandle"), entry.get("VisibilityTimeout"))
                    successful.append({"Id": entry["Id"]})
                except AwsError as error:
                    failed.append(self._failure(entry["Id"], error))
        return _batch_result(successful, failed)

    # -- dead-letter queues and message moves ----------------------------------------------------

    def _dlq_sources(self, queue: Queue) -> list[str]:
        names = []
        for name, attributes in self.store.queues_with_attribute_text(queue.account, queue.region, queue.arn):
            redrive = orjson.loads(attributes).get("RedrivePolicy")
            if redrive and orjson.loads(redrive).get("deadLetterTargetArn") == queue.arn:
                names.append(name)
        return names

    def list_dead_letter_source_queues(self, ctx, params):
        queue = self._resolve(ctx, params.get("QueueUrl"))
        max_results = params.get("MaxResults")
        if max_results is not None and not 1 <= max_results <= 1000:
            raise invalid_parameter(
                f"Value {max_results} for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000."
            )
        after = self._decode_token(params.get("NextToken"))
        names = [n for n in self._dlq_sources(queue) if n > after]
        result: dict = {}
        if max_results is not None and len(names) > max_results:
            names = names[:max_results]
            result["NextToken"] = self._encode_token(names[-1])
        result["queueUrls"] = [f"{ctx.endpoint}/{queue.account}/{n}" for n in names[:1000]]
        return result

    def _source_queue(self, ctx, arn: str) -> Queue:
        queue = self._queue_by_arn(arn or "")
        if queue is None or queue.account != ctx.account:
            raise _not_found("SourceArn")
        return queue

    def start_message_move_task(self, ctx, params):
        source_arn = params.get("SourceArn")
        source = self._source_queue(ctx, source_arn)
        if not self._dlq_sources(source):
            raise invalid_parameter("Source queue must be configured as a Dead Letter Queue.")
        destination_arn = params.get("DestinationArn")
        if destination_arn is not None:
            destination = self._queue_by_arn(destination_arn)
            if destination is None or destination.account != ctx.account:
                raise _not_found("DestinationArn")
        rate = params.get("MaxNumberOfMessagesPerSecond")
        if rate is not None and not 1 <= rate <= 500:
            raise invalid_parameter(
                f"Value {rate} for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: Must be between 1 and 500."
            )
        if self.store.active_move_task(source.arn) is not None:
            raise invalid_parameter(
                "There is already a task running. Only one active task is allowed for a source queue arn at a given time."
            )
        last_row = self.store.max_message_row(source.id)
        task_id = str(uuid.uuid4())
        self.store.insert_move_task(
            {
                "task_id": task_id,
                "account": ctx.account,
                "region": ctx.region,
                "source_arn": source.arn,
                "destination_arn": destination_arn,
                "max_per_second": rate,
                "status": "RUNNING",
                "to_move": self.store.count_messages(source.id, last_row),
                "last_row": last_row,
                "started_at": _now_ms(),
            }
        )
        self._start_move(task_id)
        return {"TaskHandle": self._task_handle(task_id, source.arn)}

    @staticmethod
    def _task_handle(task_id: str, source_arn: str) -> str:
        return base64.b64encode(orjson.dumps({"taskId": task_id, "sourceArn": source_arn})).decode()

    def _start_move(self, task_id: str) -> None:
        task = asyncio.get_running_loop().create_task(self._run_move(task_id))
        self._moves[task_id] = task
        task.add_done_callback(lambda _t: self._moves.pop(task_id, None) if self._moves.get(task_id) is _t else None)

    async def _run_move(self, task_id: str) -> None:
        after = 0
        try:
            while True:
                row = self.store.move_task(task_id)
                if row is None or row[1] != "RUNNING":
                    return
                _, _, account, region, source_arn, destination_arn, rate, moved, last_row = row
                source = self._queue_by_arn(source_arn)
                if source is None:
                    self.store.update_move_task(task_id, status="FAILED", failure_reason="AWS.SimpleQueueService.NonExistentQueue")
                    return
                now = _now_ms()
                batch = self.store.movable_messages(source.id, now, last_row, after, rate or 100)
                if not batch:
                    self.store.update_move_task(task_id, status="COMPLETED")
                    return
                count = 0
                for message in batch:
                    after = message[0]
                    target = self._queue_by_arn(destination_arn or message[15] or "")
                    if target is None:
                        if destination_arn:  # the destination was deleted while the task ran: AWS fails it
                            self.store.update_move_task(task_id, status="FAILED", moved=moved + count,
                                                        failure_reason="AWS.SimpleQueueService.NonExistentQueue")
                            return
                        continue
                    self.store.move_message(message, target.id, now, now, None, keep_fifo=target.fifo)
                    self._waiters.notify(target.id)
                    count += 1
                self.store.update_move_task(task_id, moved=moved + count)
                # MaxNumberOfMessagesPerSecond: one batch of `rate` messages per second.
                await asyncio.sleep(1.0 if rate else 0)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("message move task %s failed", task_id)
            self.store.update_move_task(task_id, status="FAILED", failure_reason="InternalError")

    def _task_from_handle(self, ctx, handle: str) -> tuple:
        """The task a handle names, checked as AWS checks it (LocalStack's AWS-recorded move task
        tests): a handle that is not one -> InvalidParameterValue; a source queue that does not
        exist, then a task that does not -> ResourceNotFoundException (404)."""
        try:
            decoded = orjson.loads(base64.b64decode(handle or "", validate=True))
            task_id, source_arn = decoded["taskId"], decoded["sourceArn"]
            if not isinstance(task_id, str) or not isinstance(source_arn, str):
                raise TypeError
        except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
            raise invalid_parameter("Value for parameter TaskHandle is invalid.") from None
        self._source_queue(ctx, source_arn)
        row = self.store.move_task(task_id)
        if row is None or row[2] != ctx.account or row[4] != source_arn:
            raise AwsError("ResourceNotFoundException", "Task does not exist.", 404)
        return row

    def cancel_message_move_task(self, ctx, params):
        row = self._task_from_handle(ctx, params.get("TaskHandle"))
        task_id, status = row[0], row[1]
        if status != "RUNNING":
            raise invalid_parameter("Only active tasks can be cancelled.")
        task = self._moves.pop(task_id, None)
        if task is not None:
            task.cancel()
        self.store.update_move_task(task_id, status="CANCELLED")
        return {"ApproximateNumberOfMessagesMoved": self.store.move_task(task_id)[7]}

    def list_message_move_tasks(self, ctx, params):
        source = self._source_queue(ctx, params.get("SourceArn"))
        max_results = params.get("MaxResults")
        if max_results is not None and not 1 <= max_results <= 10:
            raise invalid_parameter(
                f"Value {max_results} for parameter MaxResults is invalid. Reason: You must enter a number that's between 1 and 10."
            )
        results = []
        for task_id, status, source_arn, destination_arn, rate, moved, to_move, failure, started in self.store.move_tasks(
            source.arn, max_results or 1
        ):
            entry = {"Status": status, "SourceArn": source_arn}
            if status == "RUNNING":
                entry["TaskHandle"] = self._task_handle(task_id, source_arn)
            if destination_arn:
                entry["DestinationArn"] = destination_arn
            if rate:
                entry["MaxNumberOfMessagesPerSecond"] = rate
            entry["ApproximateNumberOfMessagesMoved"] = moved
            if to_move is not None:
                entry["ApproximateNumberOfMessagesToMove"] = to_move
            if failure:
                entry["FailureReason"] = failure
            entry["StartedTimestamp"] = started
            results.append(entry)
        return {"Results": results}
