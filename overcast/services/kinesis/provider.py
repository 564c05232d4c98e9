"""Kinesis Data Streams: streams, shards with hash-key ranges and lineage, records, iterators,
resharding, enhanced fan-out consumer registration, encryption flags, tags.

In-process API for event-source-mapping pollers and Firehose (no HTTP):

    kinesis = await providers.get("kinesis")
    shard_ids = kinesis.shard_ids(stream_arn)                       # every shard, oldest first
    records = kinesis.read(stream_arn, shard_id, after_sequence, limit=1000)
    records = await kinesis.wait_for_records(stream_arn, shard_id, after_sequence, timeout)
    seq = kinesis.latest_sequence(stream_arn, shard_id)             # for LATEST (None: empty shard)
    seq = kinesis.sequence_before(stream_arn, shard_id, timestamp)  # for AT_TIMESTAMP
    written = kinesis.write(stream_arn, partition_key, data)        # a service's own record

`after_sequence` is a sequence number string (records after it) or None (from the oldest
retained record). Records are GetRecords' dicts: SequenceNumber, ApproximateArrivalTimestamp
(epoch seconds, float), Data (bytes), PartitionKey.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import hashlib
import os
import time

import orjson

from overcast import tracing
from overcast.aws import policy as iam_policy
from overcast.aws import tags as reserved_tags
from overcast.aws.errors import AwsError
from overcast.engine.waiters import Waiters
from overcast.services.base import Provider
from overcast.services.kinesis.store import KinesisStore

HASH_SPACE = 2**128
SEQ_BASE = 49 * 10**54  # 56-digit sequence numbers, like AWS's
ITERATOR_LIFETIME = 300.0
MAX_RECORD = 1024 * 1024
MAX_GET_BYTES = 10 * 1024 * 1024
# how long CreateStream / resharding shows CREATING / UPDATING before ACTIVE
TRANSITION_SECONDS = float(os.environ.get("OVERCAST_KINESIS_TRANSITION_SECONDS", "0.5"))
SHARD_LIMIT = 500
# AWS's write limits per shard (1,000 records/s and 1 MiB/s), enforced when this is set: the
# records over the limit fail with ProvisionedThroughputExceededException (PutRecords: partially)
ENFORCE_SHARD_LIMITS = os.environ.get("OVERCAST_KINESIS_SHARD_LIMITS", "").lower() in ("1", "true", "yes")
SUBSCRIPTION_SECONDS = float(os.environ.get("OVERCAST_KINESIS_SUBSCRIPTION_SECONDS", "300"))


def seq_text(seq: int) -> str:
    return str(SEQ_BASE + seq)


def seq_number(text, what: str = "StartingSequenceNumber") -> int:
    try:
        value = int(text) - SEQ_BASE
    except (TypeError, ValueError):
        value = -1
    if value < 0:
        raise AwsError("InvalidArgumentException", f"Invalid {what}: {text}")
    return value


def shard_name(idx: int) -> str:
    return f"shardId-{idx:012d}"


def shard_index(name) -> int:
    if isinstance(name, str) and name.startswith("shardId-"):
        name = name[8:]
    try:
        return int(name)
    except (TypeError, ValueError):
        return -1


def even_ranges(count: int, low: int = 0, high: int = HASH_SPACE - 1) -> list[tuple[int, int]]:
    span = high - low + 1
    return [(low + i * span // count, low + (i + 1) * span // count - 1) for i in range(count)]


def hash_key(partition_key: str) -> int:
    return int.from_bytes(hashlib.md5(partition_key.encode()).digest(), "big")


def _not_found(message: str) -> AwsError:
    return AwsError("ResourceNotFoundException", message)


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidArgumentException", message)



def _arrival() -> float:
    """A record's ApproximateArrivalTimestamp: AWS's are whole milliseconds, and CBOR clients get
    them as integer milliseconds, so JSON and CBOR readers see the same instant."""
    return round(time.time(), 3)

class Stream:
    """A row of kinesis_streams, by name."""

    __slots__ = ("id", "account", "region", "name", "arn", "mode", "created", "ready_at", "settling",
                 "retention_hours", "encryption", "key_id", "last_seq", "next_shard", "tags", "monitoring")

    def __init__(self, row):
        for slot, value in zip(self.__slots__, row, strict=True):
            setattr(self, slot, value)

    @property
    def status(self) -> str:
        return self.settling if time.time() < self.ready_at else "ACTIVE"


class KinesisProvider(Provider):
    service = "kinesis"

    def __init__(self, providers):
        super().__init__(providers)
        self.store = KinesisStore(self.db)
        self.waiters = Waiters(providers.coordination.channel("kinesis"))
        self._open: dict[int, tuple[list[int], list[int]]] = {}  # stream id -> (start hashes, shard idx)
        # a reshard or deletion drops the stream's open shards on every node (coordination.cache)
        self._forget_shards = providers.coordination.cache("kinesis-shards", self._drop_shards, self._open.clear)
        self._purged: dict[int, float] = {}
        self._buckets: dict[tuple[int, int], list[float]] = {}  # (stream, shard) -> [records, bytes, at]
        self._live_nodes = providers.coordination.live_nodes
        self._bucket_nodes = 1  # the live nodes the buckets were made for

    def reset(self) -> None:
        self._open.clear()
        self.waiters.notify_all()

    async def until_active(self, ctx, name: str) -> None:
        """Wait until the stream leaves CREATING/UPDATING (a timer to its ready time, not a poll):
        CloudFormation counts a stream as created or updated only once it is ACTIVE."""
        delay = self._stream(ctx, {"StreamName": name}).ready_at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)

    # -- lookups --------------------------------------------------------------------------------

    def _stream(self, ctx, params, required: bool = True) -> Stream:
        arn, name = params.get("StreamARN"), params.get("StreamName")
        row = None
        if arn:
            parts = arn.split(":")
            if len(parts) < 6 or not parts[5].startswith("stream/"):
                raise _invalid(f"Invalid StreamARN: {arn}")
            self._refuse_other_account(ctx, parts[4], arn)
            row = self.store.stream_by_arn(arn)
            name = parts[5][7:]
        elif name:
            row = self.store.stream(ctx.account, ctx.region, name)
        else:
            raise _invalid("Either StreamName or StreamARN should be provided.")
        # by ARN, another account's stream is reachable once its resource policy allowed the call
        if row is None or (ctx.account if arn else row[1], row[2]) != (ctx.account, ctx.region):
            raise _not_found(f"Stream {name} under account {ctx.account} not found.")
        return Stream(row)

    def _stream_arn_for(self, ctx, arn: str) -> Stream:
        """_stream_arn for a request: another account's stream only as its resource policy allows."""
        parts = arn.split(":") if isinstance(arn, str) else []
        if len(parts) >= 6:
            self._refuse_other_account(ctx, parts[4], arn)
        return self._stream_arn(arn)

    def _refuse_other_account(self, ctx, account: str, arn: str) -> None:
        """A stream or consumer of another account is used only as its resource policy allows
        (a consumer's own policy, else its stream's), judged by the shared evaluator."""
        if account == ctx.account:
            return
        found, policy = self.store.policy(arn)
        if not found or (policy is None and "/consumer/" in arn):
            found, policy = self.store.policy(arn.split("/consumer/")[0])
        iam_policy.check(ctx, account, arn, f"kinesis:{ctx.operation}", policy)

    # -- resource policies ----------------------------------------------------------------------

    def _policy_target(self, ctx, params) -> tuple[str, str | None]:
        arn = params["ResourceARN"]
        parts = arn.split(":")
        if len(parts) < 6 or not parts[5].startswith("stream/"):
            raise _invalid(f"Invalid ResourceARN: {arn}")
        self._refuse_other_account(ctx, parts[4], arn)
        found, policy = self.store.policy(arn)
        if not found:
            raise _not_found(f"Resource {arn} not found.")
        return arn, policy

    def put_resource_policy(self, ctx, params):
        arn, _ = self._policy_target(ctx, params)
        doc = iam_policy.parse(params["Policy"])
        if doc is None or not doc.get("Statement"):
            raise _invalid("Policy is not a valid JSON policy document with a Statement.")
        self.store.set_policy(arn, params["Policy"])
        return {}

    def get_resource_policy(self, ctx, params):
        _, policy = self._policy_target(ctx, params)
        return {"Policy": policy or "{}"}

    def delete_resource_policy(self, ctx, params):
        arn, policy = self._policy_target(ctx, params)
        if policy is None:
            raise _not_found(f"No resource policy found for resource {arn}.")
        self.store.set_policy(arn, None)
        return {}

    def _stream_arn(self, arn: str) -> Stream:
        row = self.store.stream_by_arn(arn) if isinstance(arn, str) else None
        if row is None:
            raise _not_found(f"Stream {arn} not found.")
        return Stream(row)

    def _drop_shards(self, stream_id: int) -> None:
        self._open.pop(stream_id, None)

    def _open_shards(self, stream: Stream) -> tuple[list[int], list[int]]:
        cached = self._open.get(stream.id)
        if cached is None:
            shards = sorted((int(s[3]), s[0]) for s in self.store.shards(stream.id) if s[6] is None)
            cached = self._open[stream.id] = ([s[0] for s in shards], [s[1] for s in shards])
        return cached

    def _shard_for(self, stream: Stream, key: int) -> int:
        starts, ids = self._open_shards(stream)
        return ids[bisect.bisect_right(starts, key) - 1]

    def _shard(self, stream: Stream, shard_id) -> tuple:
        idx = shard_index(shard_id)
        for shard in self.store.shards(stream.id):
            if shard[0] == idx:
                return shard
        raise _not_found(f"Shard {shard_id} in stream {stream.name} under account {stream.account} does not exist")

    def _oldest(self, stream: Stream) -> float:
        now = time.time()
        oldest = now - stream.retention_hours * 3600
        if now - self._purged.get(stream.id, 0) > 60:
            self._purged[stream.id] = now
            self.store.purge(stream.id, oldest)
        return oldest

    @staticmethod
    def _shard_doc(shard: tuple) -> dict:
        doc = {
            "ShardId": shard_name(shard[0]),
            "HashKeyRange": {"StartingHashKey": shard[3], "EndingHashKey": shard[4]},
            "SequenceNumberRange": {"StartingSequenceNumber": seq_text(shard[5])},
        }
        if shard[1] is not None:
            doc["ParentShardId"] = shard_name(shard[1])
        if shard[2] is not None:
            doc["AdjacentParentShardId"] = shard_name(shard[2])
        if shard[6] is not None:
            doc["SequenceNumberRange"]["EndingSequenceNumber"] = seq_text(shard[6])
        return doc

    @staticmethod
    def _mode(stream: Stream) -> dict:
        return {"StreamMode": stream.mode}

    # -- streams --------------------------------------------------------------------------------

    def create_stream(self, ctx, params):
        name = params["StreamName"]
        count = params.get("ShardCount")
        # neither a mode nor a shard count: AWS makes an on-demand stream (4 shards, as recorded
        # against AWS in LocalStack's test_create_stream_without_shard_count snapshot)
        default_mode = "PROVISIONED" if count is not None else "ON_DEMAND"
        mode = (params.get("StreamModeDetails") or {}).get("StreamMode", default_mode)
        if mode == "ON_DEMAND":
            if count is not None:
                raise _invalid("ShardCount cannot be specified for an ON_DEMAND stream.")
            count = 4
        elif count is None:
            count = 1  # AWS: ShardCount is required for provisioned streams by the console; the API defaults it
        if count < 1 or count > SHARD_LIMIT:
            raise AwsError("LimitExceededException", f"This request would exceed the shard limit for the account "
                           f"{ctx.account} in {ctx.region}. Current shard count for the account: 0. Limit: "
                           f"{SHARD_LIMIT}. Number of additional shards that would have resulted from this "
                           f"request: {count}.")
        if self.store.stream(ctx.account, ctx.region, name) is not None:
            raise AwsError("ResourceInUseException", f"Stream {name} under account {ctx.account} already exists.")
        now = time.time()
        arn = f"arn:aws:kinesis:{ctx.region}:{ctx.account}:stream/{name}"
        self.store.create_stream(ctx.account, ctx.region, name, arn, mode, now, now + TRANSITION_SECONDS,
                                 even_ranges(count), params.get("Tags") or {})
        return {}

    def delete_stream(self, ctx, params):
        stream = self._stream(ctx, params)
        if self.store.consumers(stream.id) and not params.get("EnforceConsumerDeletion"):
            raise AwsError("ResourceInUseException", f"Stream {stream.name} under account {ctx.account} has "
                           "registered consumers. Set EnforceConsumerDeletion to delete them with the stream.")
        self.store.delete_stream(stream.id)
        self._forget_shards(stream.id)
        self.waiters.notify(stream.id)
        return {}

    def describe_stream(self, ctx, params):
        stream = self._stream(ctx, params)
        shards = [self._shard_doc(s) for s in self.store.shards(stream.id)]
        start = shard_index(params.get("ExclusiveStartShardId")) if params.get("ExclusiveStartShardId") else -1
        shards = [s for s in shards if shard_index(s["ShardId"]) > start]
        limit = params.get("Limit") or 100
        return {"StreamDescription": {
            "StreamName": stream.name, "StreamARN": stream.arn, "StreamStatus": stream.status,
            "StreamModeDetails": self._mode(stream), "Shards": shards[:limit], "HasMoreShards": len(shards) > limit,
            "RetentionPeriodHours": stream.retention_hours, "StreamCreationTimestamp": stream.created,
            "EnhancedMonitoring": [{"ShardLevelMetrics": orjson.loads(stream.monitoring)}],
            "EncryptionType": stream.encryption, **({"KeyId": stream.key_id} if stream.key_id else {}),
        }}

    def describe_stream_summary(self, ctx, params):
        stream = self._stream(ctx, params)
        return {"StreamDescriptionSummary": {
            "StreamName": stream.name, "StreamARN": stream.arn, "StreamStatus": stream.status,
            "StreamModeDetails": self._mode(stream), "RetentionPeriodHours": stream.retention_hours,
            "StreamCreationTimestamp": stream.created,
            "EnhancedMonitoring": [{"ShardLevelMetrics": orjson.loads(stream.monitoring)}],
            "EncryptionType": stream.encryption, **({"KeyId": stream.key_id} if stream.key_id else {}),
            "OpenShardCount": len(self._open_shards(stream)[0]),
            "ConsumerCount": len(self.store.consumers(stream.id)),
        }}

    def list_streams(self, ctx, params):
        rows = [Stream(r) for r in self.store.list_streams(ctx.account, ctx.region)]
        after = params.get("ExclusiveStartStreamName") or ""
        token = params.get("NextToken")
        if token:
            try:
                after = base64.urlsafe_b64decode(token.encode()).decode()
            except (binascii.Error, ValueError, UnicodeDecodeError):
                raise _invalid(f"Invalid NextToken: {token}") from None
        rows = [r for r in rows if r.name > after]
        limit = params.get("Limit") or 100
        page, more = rows[:limit], len(rows) > limit
        out = {
            "StreamNames": [r.name for r in page], "HasMoreStreams": more,
            "StreamSummaries": [{"StreamName": r.name, "StreamARN": r.arn, "StreamStatus": r.status,
                                 "StreamModeDetails": self._mode(r), "StreamCreationTimestamp": r.created}
                                for r in page],
        }
        if more:
            out["NextToken"] = base64.urlsafe_b64encode(page[-1].name.encode()).decode()
        return out

    def describe_limits(self, ctx, params):
        rows = [Stream(r) for r in self.store.list_streams(ctx.account, ctx.region)]
        open_count = sum(len(self._open_shards(r)[0]) for r in rows)
        return {"ShardLimit": SHARD_LIMIT, "OpenShardCount": open_count,
                "OnDemandStreamCount": sum(r.mode == "ON_DEMAND" for r in rows), "OnDemandStreamCountLimit": 50}

    def increase_stream_retention_period(self, ctx, params):
        stream = self._stream(ctx, params)
        hours = params["RetentionPeriodHours"]
        if hours < stream.retention_hours:
            raise _invalid(f"Requested retention period ({hours} hours) for stream {stream.name} can not be "
                           f"shorter than existing retention period ({stream.retention_hours} hours). Use "
                           "DecreaseRetentionPeriod API.")
        if hours > 8760:
            raise _invalid(f"Retention period {hours} hours is longer than the maximum of 8760 hours.")
        self.store.update_stream(stream.id, retention_hours=hours)
        return {}

    def decrease_stream_retention_period(self, ctx, params):
        stream = self._stream(ctx, params)
        hours = params["RetentionPeriodHours"]
        if hours > stream.retention_hours:
            raise _invalid(f"Requested retention period ({hours} hours) for stream {stream.name} can not be "
                           f"longer than existing retention period ({stream.retention_hours} hours). Use "
                           "IncreaseRetentionPeriod API.")
        if hours < 24:
            raise _invalid(f"Minimum allowed retention period is 24 hours. Requested retention period ({hours}"
                           f" hours) is too short.")
        self.store.update_stream(stream.id, retention_hours=hours)
        return {}

    def update_stream_mode(self, ctx, params):
        stream = self._stream_arn_for(ctx, params["StreamARN"])
        self._check_active(stream)
        self.store.update_stream(stream.id, mode=params["StreamModeDetails"]["StreamMode"],
                                 ready_at=time.time() + TRANSITION_SECONDS, settling="UPDATING")
        return {}

    def start_stream_encryption(self, ctx, params):
        stream = self._stream(ctx, params)
        if params["EncryptionType"] != "KMS":
            raise _invalid("EncryptionType must be KMS.")
        self.store.update_stream(stream.id, encryption="KMS", key_id=params["KeyId"],
                                 ready_at=time.time() + TRANSITION_SECONDS, settling="UPDATING")
        return {}

    def stop_stream_encryption(self, ctx, params):
        stream = self._stream(ctx, params)
        self.store.update_stream(stream.id, encryption="NONE", key_id=None,
                                 ready_at=time.time() + TRANSITION_SECONDS, settling="UPDATING")
        return {}

    def enable_enhanced_monitoring(self, ctx, params):
        return self._monitoring(ctx, params, True)

    def disable_enhanced_monitoring(self, ctx, params):
        return self._monitoring(ctx, params, False)

    def _monitoring(self, ctx, params, enable: bool):
        stream = self._stream(ctx, params)
        current = orjson.loads(stream.monitoring)
        wanted = params["ShardLevelMetrics"]
        if "ALL" in wanted:
            wanted = ["IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords",
                      "WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded",
                      "IteratorAgeMilliseconds"]
        new = sorted(set(current) | set(wanted)) if enable else [m for m in current if m not in wanted]
        self.store.update_stream(stream.id, monitoring=orjson.dumps(new).decode())
        return {"StreamName": stream.name, "StreamARN": stream.arn, "CurrentShardLevelMetrics": current,
                "DesiredShardLevelMetrics": new}

    # -- tags -----------------------------------------------------------------------------------

    def add_tags_to_stream(self, ctx, params):
        stream = self._stream(ctx, params)
        if bad := reserved_tags.refused(ctx, params["Tags"]):
            raise _invalid(f"Tag keys beginning with aws: are reserved for AWS use and cannot be added, changed or removed: {', '.join(bad)}")
        tags = orjson.loads(stream.tags)
        tags.update(params["Tags"])
        if len(tags) > 50:
            raise _invalid("A stream cannot have more than 50 tags.")
        self.store.update_stream(stream.id, tags=orjson.dumps(tags).decode())
        return {}

    def remove_tags_from_stream(self, ctx, params):
        stream = self._stream(ctx, params)
        if bad := reserved_tags.refused(ctx, params["TagKeys"]):
            raise _invalid(f"Tag keys beginning with aws: are reserved for AWS use and cannot be added, changed or removed: {', '.join(bad)}")
        tags = {k: v for k, v in orjson.loads(stream.tags).items() if k not in params["TagKeys"]}
        self.store.update_stream(stream.id, tags=orjson.dumps(tags).decode())
        return {}

    def list_tags_for_stream(self, ctx, params):
        stream = self._stream(ctx, params)
        tags = sorted(orjson.loads(stream.tags).items())
        after = params.get("ExclusiveStartTagKey")
        if after:
            tags = [t for t in tags if t[0] > after]
        limit = params.get("Limit") or 50
        return {"Tags": [{"Key": k, "Value": v} for k, v in tags[:limit]], "HasMoreTags": len(tags) > limit}

    def _resource_stream(self, ctx, arn: str) -> Stream:
        return self._stream(ctx, {"StreamARN": arn.split("/consumer/")[0]})

    def tag_resource(self, ctx, params):
        return self.add_tags_to_stream(ctx, {"StreamARN": self._resource_stream(ctx, params["ResourceARN"]).arn,
                                             "Tags": params["Tags"]})

    def untag_resource(self, ctx, params):
        return self.remove_tags_from_stream(ctx, {"StreamARN": self._resource_stream(ctx, params["ResourceARN"]).arn,
                                                  "TagKeys": params["TagKeys"]})

    def list_tags_for_resource(self, ctx, params):
        stream = self._resource_stream(ctx, params["ResourceARN"])
        return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(orjson.loads(stream.tags).items())]}

    def tagged_resources(self, ctx) -> list[tuple[str, dict]]:
        """(ARN, tags) of this account's streams in the request's region that have tags: what the
        Resource Groups Tagging API lists (services/resourcegroupstaggingapi)."""
        return [(arn, orjson.loads(tags)) for arn, tags in self.store.tagged(ctx.account, ctx.region)]

    # -- records --------------------------------------------------------------------------------

    def _check_writable(self, stream: Stream) -> None:
        if stream.status == "CREATING":
            raise _not_found(f"Stream {stream.name} under account {stream.account} not found.")

    def _route(self, stream: Stream, partition_key: str, explicit) -> int:
        if explicit is not None:
            try:
                key = int(explicit)
            except (TypeError, ValueError):
                key = -1
            if not 0 <= key < HASH_SPACE:
                raise _invalid(f"Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
                               f"Specified value was {explicit}")
        else:
            key = hash_key(partition_key)
        return self._shard_for(stream, key)

    def _admit(self, stream: Stream, shard: int, size: int, now: float) -> bool:
        """Take one record of `size` bytes from the shard's write allowance (when enforced). On a
        cluster of N live nodes each node admits 1/N of the shard's allowance (no statement per
        record), so that behind a round-robin balancer the cluster admits the shard's limit, as
        API Gateway's throttles (docs/cluster.md); the buckets are made anew when N changes. A
        record larger than a node's share of the bytes is admitted when the bucket is full and
        leaves it in debt, so that the rate stays the share while a 1 MiB record still goes in."""
        nodes = self._live_nodes()
        if nodes != self._bucket_nodes:
            self._bucket_nodes = nodes
            self._buckets.clear()
        records, volume = 1000.0 / nodes, 1048576.0 / nodes
        bucket = self._buckets.get((stream.id, shard))
        if bucket is None:
            bucket = self._buckets[(stream.id, shard)] = [records, volume, now]
        elapsed = now - bucket[2]
        bucket[0] = min(records, bucket[0] + elapsed * records)
        bucket[1] = min(volume, bucket[1] + elapsed * volume)
        bucket[2] = now
        if bucket[0] < 1 or bucket[1] < min(size, volume):
            return False
        bucket[0] -= 1
        bucket[1] -= size
        return True

    @staticmethod
    def _throttled(stream: Stream, shard: int) -> str:
        return (f"Rate exceeded for shard {shard_name(shard)} in stream {stream.name} under account "
                f"{stream.account}.")

    def put_record(self, ctx, params):
        stream = self._stream(ctx, params)
        self._check_writable(stream)
        data, pkey = params["Data"], params["PartitionKey"]
        if len(data) + len(pkey.encode()) > MAX_RECORD:
            raise _invalid(f"1 validation error detected: Value at 'data' failed to satisfy constraint: Member "
                           f"must have length less than or equal to {MAX_RECORD}")
        shard = self._route(stream, pkey, params.get("ExplicitHashKey"))
        after = params.get("SequenceNumberForOrdering")
        if after is not None:
            seq_number(after, "SequenceNumberForOrdering")
        now = _arrival()
        if ENFORCE_SHARD_LIMITS and not self._admit(stream, shard, len(data) + len(pkey), now):
            raise AwsError("ProvisionedThroughputExceededException", self._throttled(stream, shard))
        seq = self.store.put(stream.id, [(shard, pkey, data, now)], tracing.current_header())
        self.waiters.notify(stream.id)
        return {"ShardId": shard_name(shard), "SequenceNumber": seq_text(seq), "EncryptionType": stream.encryption}

    def put_records(self, ctx, params):
        stream = self._stream(ctx, params)
        self._check_writable(stream)
        records = params["Records"]
        if len(records) > 500:
            raise _invalid("1 validation error detected: Value at 'records' failed to satisfy constraint: "
                           "Member must have length less than or equal to 500")
        now = _arrival()
        rows, results, total = [], [], 0
        starts, ids = self._open_shards(stream)
        for record in records:
            data, pkey = record["Data"], record["PartitionKey"]
            size = len(data) + len(pkey)
            total += size
            if size > MAX_RECORD:
                raise _invalid(f"1 validation error detected: Value at 'records.{len(rows) + 1}.member.data' "
                               f"failed to satisfy constraint: Member must have length less than or equal to "
                               f"{MAX_RECORD}")
            explicit = record.get("ExplicitHashKey")
            if explicit is None:
                shard = ids[bisect.bisect_right(starts, int.from_bytes(hashlib.md5(pkey.encode()).digest(),
                                                                       "big")) - 1]
            else:
                shard = self._route(stream, pkey, explicit)
            if ENFORCE_SHARD_LIMITS and not self._admit(stream, shard, size, now):
                rows.append(None)
                results.append(shard)
                continue
            rows.append((shard, pkey, data, now))
            results.append(None)
        if total > 5 * 1024 * 1024:
            raise _invalid("Records size exceeds 5 MB limit")
        accepted = [r for r in rows if r is not None]
        first = self.store.put(stream.id, accepted, tracing.current_header()) if accepted else 0
        self.waiters.notify(stream.id)
        if len(accepted) == len(rows):
            return {"FailedRecordCount": 0, "EncryptionType": stream.encryption,
                    "Records": [{"SequenceNumber": str(SEQ_BASE + first + i), "ShardId": shard_name(r[0])}
                                for i, r in enumerate(rows)]}
        out, n = [], 0
        for row, throttled in zip(rows, results, strict=True):
            if row is None:
                out.append({"ErrorCode": "ProvisionedThroughputExceededException",
                            "ErrorMessage": self._throttled(stream, throttled)})
            else:
                out.append({"SequenceNumber": str(SEQ_BASE + first + n), "ShardId": shard_name(row[0])})
                n += 1
        return {"FailedRecordCount": len(rows) - len(accepted), "EncryptionType": stream.encryption, "Records": out}

    # -- iterators ------------------------------------------------------------------------------

    @staticmethod
    def _iterator(stream_id: int, shard: int, after: int, issued: float | None = None) -> str:
        raw = orjson.dumps([stream_id, shard, after, issued or time.time()])
        return base64.b64encode(b"ocK1" + raw).decode()

    def get_shard_iterator(self, ctx, params):
        stream = self._stream(ctx, params)
        shard = self._shard(stream, params["ShardId"])
        kind = params["ShardIteratorType"]
        start = params.get("StartingSequenceNumber")
        if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            if start is None:
                raise _invalid(f"The StartingSequenceNumber must be specified for ShardIteratorType {kind}.")
            seq = seq_number(start)
            after = seq - 1 if kind == "AT_SEQUENCE_NUMBER" else seq
            if seq > stream.last_seq or (shard[6] is not None and seq > shard[6]) or seq < shard[5] - 1:
                raise _invalid(f"StartingSequenceNumber {start} used in GetShardIterator on shard "
                               f"{shard_name(shard[0])} in stream {stream.name} under account {ctx.account} is "
                               "invalid because it did not come from this stream.")
        elif kind == "TRIM_HORIZON":
            after = 0
        elif kind == "LATEST":
            last = self.store.last_in_shard(stream.id, shard[0])
            after = shard[6] if shard[6] is not None else max(last[0] if last else 0, shard[5] - 1)
        elif kind == "AT_TIMESTAMP":
            ts = params.get("Timestamp")
            if ts is None:
                raise _invalid("The Timestamp must be specified for ShardIteratorType AT_TIMESTAMP.")
            stamp = ts.timestamp() if hasattr(ts, "timestamp") else float(ts)
            if stamp > time.time() + 1:
                raise _invalid(f"The timestampInMillis parameter cannot be greater than the currentTimestampInMillis."
                               f" timestampInMillis: {int(stamp * 1000)}, currentTimestampInMillis: "
                               f"{int(time.time() * 1000)}")
            after = self.store.seq_at(stream.id, shard[0], stamp)
        else:
            raise _invalid(f"Invalid ShardIteratorType: {kind}")
        return {"ShardIterator": self._iterator(stream.id, shard[0], after)}

    def _decode_iterator(self, token: str) -> tuple[int, int, int, float]:
        if len(token) > 1 and token[0] == token[-1] == '"':
            token = token[1:-1]  # AWS reads an iterator wrapped in double quotes (a shell or JSON copy) as the iterator
        try:
            raw = base64.b64decode(token.encode(), validate=True)
            if not raw.startswith(b"ocK1"):
                raise ValueError
            sid, shard, after, issued = orjson.loads(raw[4:])
        except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
            raise _invalid(f"Invalid ShardIterator: {token}") from None
        return sid, shard, after, issued

    def get_records(self, ctx, params):
        sid, shard_idx, after, issued = self._decode_iterator(params["ShardIterator"])
        now = time.time()
        if now - issued > ITERATOR_LIFETIME:
            raise AwsError("ExpiredIteratorException", f"Iterator expired. The iterator was created at time "
                           f"{time.strftime('%a %b %d %H:%M:%S UTC %Y', time.gmtime(issued))} while right now it is "
                           f"{time.strftime('%a %b %d %H:%M:%S UTC %Y', time.gmtime(now))} which is further in the "
                           "future than the tolerated delay of 300000 milliseconds.")
        row = self.store.stream_by_id(sid)
        if row is not None and row[1] != ctx.account and row[2] == ctx.region:
            self._refuse_other_account(ctx, row[1], row[4])  # an iterator of a stream shared by its policy
        elif row is None or (row[1], row[2]) != (ctx.account, ctx.region):
            raise _not_found("Shard iterator refers to a stream that does not exist.")
        stream = Stream(row)
        limit = params.get("Limit") or 10000
        if not 1 <= limit <= 10000:
            raise _invalid(f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint:"
                           " Member must have value less than or equal to 10000")
        shard = self._shard(stream, shard_name(shard_idx))
        rows = self.store.read(sid, shard_idx, after, limit, self._oldest(stream))
        records, size = [], 0
        for seq, pkey, data, arrival in rows:
            size += len(data) + len(pkey)
            if records and size > MAX_GET_BYTES:
                break
            records.append({"SequenceNumber": seq_text(seq), "ApproximateArrivalTimestamp": arrival,
                            "Data": data, "PartitionKey": pkey})
        last = seq_number(records[-1]["SequenceNumber"]) if records else after
        caught_up = len(records) == len(rows) and len(rows) < limit
        out = {"Records": records, "MillisBehindLatest": 0 if caught_up or not records
               else max(0, int((now - records[-1]["ApproximateArrivalTimestamp"]) * 1000))}
        if shard[6] is not None and caught_up:  # a closed shard read to its end
            out["ChildShards"] = self._children(stream, shard_idx)
        else:
            out["NextShardIterator"] = self._iterator(sid, shard_idx, last)
        return out

    def _children(self, stream: Stream, idx: int) -> list[dict]:
        shards = self.store.shards(stream.id)
        out = []
        for s in shards:
            if idx in (s[1], s[2]):
                parents = [shard_name(p) for p in (s[1], s[2]) if p is not None]
                out.append({"ShardId": shard_name(s[0]), "ParentShards": parents,
                            "HashKeyRange": {"StartingHashKey": s[3], "EndingHashKey": s[4]}})
        return out

    def list_shards(self, ctx, params):
        token = params.get("NextToken")
        if token:
            if params.get("StreamName") or params.get("StreamARN"):
                raise _invalid("NextToken and StreamName cannot be provided together.")
            try:
                sid, after = orjson.loads(base64.b64decode(token))
            except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
                raise _invalid(f"Invalid NextToken: {token}") from None
            row = self.store.stream_by_id(sid) if isinstance(sid, int) else None
            if row is None:
                raise _not_found("The stream of this NextToken does not exist.")
            stream = Stream(row)
            # a token names the stream by overcast's id: the caller reaches it only as it reaches the
            # stream itself (its own, in its region, or another account's as that one's policy allows)
            if stream.account == ctx.account:
                if stream.region != ctx.region:
                    raise _not_found("The stream of this NextToken does not exist.")
            else:
                self._refuse_other_account(ctx, stream.account, stream.arn)
        else:
            stream = self._stream(ctx, params)
            after = shard_index(params["ExclusiveStartShardId"]) if params.get("ExclusiveStartShardId") else -1
        shards = [s for s in self.store.shards(stream.id) if s[0] > after]
        flt = params.get("ShardFilter")
        if flt:
            kind = flt["Type"]
            if kind in ("AT_LATEST",):
                shards = [s for s in shards if s[6] is None]
            elif kind == "AFTER_SHARD_ID":
                after_id = shard_index(flt.get("ShardId"))
                shards = [s for s in shards if s[0] > after_id]
            elif kind in ("AT_TIMESTAMP", "FROM_TIMESTAMP"):
                shards = [s for s in shards if s[6] is None or kind == "FROM_TIMESTAMP"]
        limit = params.get("MaxResults") or 1000
        page = shards[:limit]
        out = {"Shards": [self._shard_doc(s) for s in page]}
        if len(shards) > limit:
            out["NextToken"] = base64.b64encode(orjson.dumps([stream.id, page[-1][0]])).decode()
        return out

    # -- resharding -----------------------------------------------------------------------------

    def _check_active(self, stream: Stream) -> None:
        if stream.status != "ACTIVE":
            raise AwsError("ResourceInUseException", f"Stream {stream.name} under account {stream.account} not "
                           f"ACTIVE, instead in state {stream.status}")

    def _reshard(self, stream: Stream, close: list[int], children: list[tuple]) -> None:
        self.store.reshard(stream.id, close, children, time.time() + TRANSITION_SECONDS)
        self._forget_shards(stream.id)
        self.waiters.notify(stream.id)

    def split_shard(self, ctx, params):
        stream = self._stream(ctx, params)
        self._check_active(stream)
        shard = self._shard(stream, params["ShardToSplit"])
        if shard[6] is not None:
            raise AwsError("ResourceInUseException", f"Shard {shard_name(shard[0])} in stream {stream.name} under "
                           f"account {ctx.account} has already been merged or split, and thus is not eligible "
                           "for merging or splitting.")
        try:
            new = int(params["NewStartingHashKey"])
        except ValueError:
            raise _invalid(f"NewStartingHashKey {params['NewStartingHashKey']} is not a number.") from None
        low, high = int(shard[3]), int(shard[4])
        if not low < new <= high:
            raise _invalid(f"NewStartingHashKey {new} used in SplitShard() on shard {shard_name(shard[0])} in "
                           f"stream {stream.name} under account {ctx.account} is not both greater than one plus "
                           f"the shard's StartingHashKey {low} and less than the shard's EndingHashKey {high}.")
        n = stream.next_shard
        self._reshard(stream, [shard[0]], [(n, shard[0], None, low, new - 1), (n + 1, shard[0], None, new, high)])
        return {}

    def merge_shards(self, ctx, params):
        stream = self._stream(ctx, params)
        self._check_active(stream)
        a = self._shard(stream, params["ShardToMerge"])
        b = self._shard(stream, params["AdjacentShardToMerge"])
        for s in (a, b):
            if s[6] is not None:
                raise AwsError("ResourceInUseException", f"Shard {shard_name(s[0])} in stream {stream.name} under "
                               f"account {ctx.account} has already been merged or split, and thus is not eligible "
                               "for merging or splitting.")
        lo, hi = sorted((a, b), key=lambda s: int(s[3]))
        if int(lo[4]) + 1 != int(hi[3]):
            raise _invalid(f"Shards {shard_name(a[0])} and {shard_name(b[0])} in stream {stream.name} under "
                           f"account {ctx.account} are not an adjacent pair of shards eligible for merging")
        self._reshard(stream, [a[0], b[0]], [(stream.next_shard, a[0], b[0], int(lo[3]), int(hi[4]))])
        return {}

    def update_shard_count(self, ctx, params):
        stream = self._stream(ctx, params)
        self._check_active(stream)
        target = params["TargetShardCount"]
        if params["ScalingType"] != "UNIFORM_SCALING":
            raise _invalid(f"Invalid ScalingType: {params['ScalingType']}")
        open_shards = [s for s in self.store.shards(stream.id) if s[6] is None]
        current = len(open_shards)
        if target > current * 2 or target * 2 < current:
            raise _invalid(f"UpdateShardCount can only be used to double or halve the shard count: target "
                           f"{target}, current {current}.")
        if target > SHARD_LIMIT:
            raise AwsError("LimitExceededException", f"Target shard count {target} exceeds the shard limit.")
        if target != current:
            ranges = sorted((int(s[3]), int(s[4]), s[0]) for s in open_shards)
            children = []
            for i, (low, high) in enumerate(even_ranges(target)):
                covering = [r[2] for r in ranges if r[0] <= high and r[1] >= low]
                children.append((stream.next_shard + i, covering[0],
                                 covering[-1] if len(covering) > 1 else None, low, high))
            self._reshard(stream, [s[0] for s in open_shards], children)
        return {"StreamName": stream.name, "StreamARN": stream.arn, "CurrentShardCount": current,
                "TargetShardCount": target}

    # -- enhanced fan-out -----------------------------------------------------------------------

    def register_stream_consumer(self, ctx, params):
        stream = self._stream_arn_for(ctx, params["StreamARN"])
        name = params["ConsumerName"]
        if self.store.consumer(stream.id, name) is not None:
            raise AwsError("ResourceInUseException", f"Consumer {name} under stream {stream.name} already exists.")
        if len(self.store.consumers(stream.id)) >= 20:
            raise AwsError("LimitExceededException", "A stream can have at most 20 registered consumers.")
        now = time.time()
        arn = f"{stream.arn}/consumer/{name}:{int(now)}"
        self.store.add_consumer(arn, stream.id, name, now)
        return {"Consumer": {"ConsumerName": name, "ConsumerARN": arn, "ConsumerStatus": "ACTIVE",
                             "ConsumerCreationTimestamp": now}}

    def _consumer(self, ctx, params) -> tuple:
        arn = params.get("ConsumerARN")
        if arn:
            parts = arn.split(":")
            if len(parts) >= 6:
                self._refuse_other_account(ctx, parts[4], arn)
            row = self.store.consumer(None, arn=arn)
        elif params.get("StreamARN") and params.get("ConsumerName"):
            stream = self._stream_arn_for(ctx, params["StreamARN"])
            row = self.store.consumer(stream.id, params["ConsumerName"])
        else:
            raise _invalid("Either ConsumerARN or both StreamARN and ConsumerName must be provided.")
        if row is None:
            raise _not_found(f"Consumer {arn or params.get('ConsumerName')} not found.")
        return row

    def describe_stream_consumer(self, ctx, params):
        arn, name, created, sid = self._consumer(ctx, params)
        stream = Stream(self.store.stream_by_id(sid))
        return {"ConsumerDescription": {"ConsumerName": name, "ConsumerARN": arn, "ConsumerStatus": "ACTIVE",
                                        "ConsumerCreationTimestamp": created, "StreamARN": stream.arn}}

    def list_stream_consumers(self, ctx, params):
        stream = self._stream_arn_for(ctx, params["StreamARN"])
        return {"Consumers": [{"ConsumerName": n, "ConsumerARN": a, "ConsumerStatus": "ACTIVE",
                               "ConsumerCreationTimestamp": c} for a, n, c in self.store.consumers(stream.id)]}

    def deregister_stream_consumer(self, ctx, params):
        self.store.delete_consumer(self._consumer(ctx, params)[0])
        return {}

    def subscribe_to_shard(self, ctx, params):
        """Enhanced fan-out: an event stream of SubscribeToShardEvent messages over the HTTP
        response (HTTP/1.1, chunked), for SUBSCRIPTION_SECONDS (AWS: 5 minutes)."""
        consumer = self._consumer(ctx, {"ConsumerARN": params["ConsumerARN"]})
        stream = Stream(self.store.stream_by_id(consumer[3]))
        shard = self._shard(stream, params["ShardId"])
        position = params["StartingPosition"]
        kind = position["Type"]
        if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            seq = seq_number(position.get("SequenceNumber"), "SequenceNumber")
            after = seq - 1 if kind == "AT_SEQUENCE_NUMBER" else seq
        elif kind == "TRIM_HORIZON":
            after = 0
        elif kind == "LATEST":
            last = self.store.last_in_shard(stream.id, shard[0])
            after = shard[6] if shard[6] is not None else (last[0] if last else 0)
        elif kind == "AT_TIMESTAMP":
            ts = position.get("Timestamp")
            if ts is None:
                raise _invalid("The Timestamp must be specified for StartingPosition AT_TIMESTAMP.")
            after = self.store.seq_at(stream.id, shard[0], ts.timestamp() if hasattr(ts, "timestamp") else float(ts))
        else:
            raise _invalid(f"Invalid StartingPosition type: {kind}")
        from overcast.aws.context import HttpResponse

        return HttpResponse(200, [("content-type", "application/vnd.amazon.eventstream"),
                                  ("x-amzn-RequestId", ctx.request_id)],
                            stream=self._subscription(stream.id, shard[0], after))

    async def _subscription(self, sid: int, idx: int, after: int):
        from overcast.services.kinesis import eventstream

        deadline = time.monotonic() + SUBSCRIPTION_SECONDS
        yield eventstream.event("initial-response", b"{}")
        while True:
            row = self.store.stream_by_id(sid)
            if row is None:
                yield eventstream.exception("ResourceNotFoundException", "The stream was deleted.")
                return
            stream = Stream(row)
            shard = next((s for s in self.store.shards(sid) if s[0] == idx), None)
            rows = self.store.read(sid, idx, after, 10000, self._oldest(stream))
            records = [{"SequenceNumber": seq_text(seq), "ApproximateArrivalTimestamp": arrival,
                        "Data": base64.b64encode(data).decode(), "PartitionKey": pkey}
                       for seq, pkey, data, arrival in rows]
            if rows:
                after = rows[-1][0]
            done = shard is not None and shard[6] is not None and len(rows) < 10000
            payload = {"Records": records, "ContinuationSequenceNumber": None if done else seq_text(after),
                       "MillisBehindLatest": 0}
            if done:
                payload["ChildShards"] = self._children(stream, idx)
                payload.pop("ContinuationSequenceNumber")
            if rows or done:
                yield eventstream.event("SubscribeToShardEvent", orjson.dumps(payload))
            if done:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if not rows and not await self.waiters.wait(sid, min(remaining, 5.0)):
                yield eventstream.event("SubscribeToShardEvent", orjson.dumps(payload))  # heartbeat

    # -- the in-process API ---------------------------------------------------------------------

    def shard_ids(self, stream_arn: str) -> list[str]:
        return [shard_name(s[0]) for s in self.store.shards(self._stream_arn(stream_arn).id)]

    def read(self, stream_arn: str, shard_id: str, after_sequence: str | None, limit: int = 1000) -> list[dict]:
        stream = self._stream_arn(stream_arn)
        shard = self._shard(stream, shard_id)
        after = seq_number(after_sequence) if after_sequence else 0
        rows = self.store.read_traced(stream.id, shard[0], after, limit, self._oldest(stream))
        return [{"SequenceNumber": seq_text(seq), "ApproximateArrivalTimestamp": arrival, "Data": data,
                 "PartitionKey": pkey, "_trace": trace} for seq, pkey, data, arrival, trace in rows]

    async def wait_for_records(self, stream_arn: str, shard_id: str, after_sequence: str | None,
                               timeout: float) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            records = self.read(stream_arn, shard_id, after_sequence)
            remaining = deadline - time.monotonic()
            if records or remaining <= 0:
                return records
            await self.waiters.wait(self._stream_arn(stream_arn).id, remaining)

    def latest_sequence(self, stream_arn: str, shard_id: str) -> str | None:
        stream = self._stream_arn(stream_arn)
        last = self.store.last_in_shard(stream.id, self._shard(stream, shard_id)[0])
        return seq_text(last[0]) if last else None

    def sequence_before(self, stream_arn: str, shard_id: str, timestamp: float) -> str | None:
        stream = self._stream_arn(stream_arn)
        seq = self.store.seq_at(stream.id, self._shard(stream, shard_id)[0], timestamp)
        return seq_text(seq) if seq else None

    def write(self, stream_arn: str, partition_key: str, data: bytes) -> bool:
        """Write one record as a service writes it (DynamoDB's Kinesis streaming destinations),
        in the caller's transaction when it holds one, so the record commits with the change it
        describes. False when the stream is gone or not writable yet (nothing is written)."""
        row = self.store.stream_by_arn(stream_arn)
        if row is None:
            return False
        stream = Stream(row)
        if stream.status == "CREATING":
            return False
        shard = self._shard_for(stream, hash_key(partition_key))
        self.store.put(stream.id, [(shard, partition_key, data, _arrival())], tracing.current_header())
        self.waiters.notify(stream.id)
        return True

    def shard_closed(self, stream_arn: str, shard_id: str) -> bool:
        stream = self._stream_arn(stream_arn)
        return self._shard(stream, shard_id)[6] is not None


