"""Firehose: DirectPut and KinesisStreamAsSource delivery streams into S3 (ExtendedS3).

Records are durable once accepted: they sit in `firehose_buffer` until a flush has written
them to S3, so a crash before the flush loses none (the flush after restart delivers them; a
crash between the S3 write and the buffer delete flushes the same records again, under the same
object keys: they are derived from the flush's first record, so the object is written again,
not a second time). A flush happens when the buffer reaches BufferingHints.SizeInMBs, or
IntervalInSeconds after the oldest buffered record arrived (a timer, `loop.call_at`): one S3
object per flush (per partition with dynamic partitioning), never one per record.

On a cluster (docs/cluster.md) a delivery stream's flushes and its Kinesis source's reads run on
the one node holding its lease, "firehose:<id>" (storage/coordination.WorkKind): the node that
created the stream claims it, and a node taking it over from a dead one reads the buffer and
flushes what is due. A record put on another node is committed there, then that node notifies
the holder (channel "firehose", the stream's id), which looks at the buffer again.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import logging
import os
import re
import time
import uuid

import orjson

from overcast import tracing
from overcast.aws.errors import AwsError
from overcast.services.base import Provider
from overcast.services.firehose import prefixes
from overcast.services.firehose.store import FirehoseStore, Stream
from overcast.storage.coordination import WorkKind

log = logging.getLogger("overcast.firehose")

# A cap on every stream's buffering interval, in seconds (unset: none, AWS's behaviour). Tests and
# test suites written for emulators that deliver at once set it, to see a delivery without waiting
# the interval (300 s by default); streams still describe the BufferingHints they were given.
MAX_INTERVAL = float(os.environ.get("OVERCAST_FIREHOSE_MAX_BUFFER_SECONDS") or "inf")

MAX_RECORD = 1000 * 1024
MAX_BATCH_BYTES = 4 * 1024 * 1024
RETRY_DELAY = 5.0
LAMBDA_BATCH = 1000
KINESIS_IDLE_WAIT = 60.0
DESTINATION_ID = "destinationId-000000000001"
_JQ_PATH = re.compile(r'^\.(?:[A-Za-z_][A-Za-z0-9_]*|"[^"]+")(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|"[^"]+")|\[\d+\])*$')
_JQ_STEP = re.compile(r'\.([A-Za-z_][A-Za-z0-9_]*)|\."([^"]+)"|\[(\d+)\]')


def _not_found(name: str, account: str) -> AwsError:
    return AwsError("ResourceNotFoundException", f"Firehose {name} under account {account} not found.")


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidArgumentException", message)


def parse_metadata_query(query: str) -> list[tuple[str, str]]:
    """`{key: .a.b, other: .c}` -> [(key, path)]. Supported JQ forms: `.field`, `.a.b`, `."x y"`,
    `.list[0]` (paths only: no pipes or functions)."""
    body = query.strip()
    if not (body.startswith("{") and body.endswith("}")):
        raise _invalid(f"The MetadataExtractionQuery {query!r} is not a JQ object expression such as "
                       "'{key:.field}'.")
    pairs = []
    for part in body[1:-1].split(","):
        key, sep, path = part.partition(":")
        key, path = key.strip().strip('"'), path.strip()
        if not sep or not key or not _JQ_PATH.match(path):
            raise _invalid(f"The MetadataExtractionQuery expression {part.strip()!r} is not supported by overcast "
                           "(supported: .field, .a.b, .\"name\", .list[0]).")
        pairs.append((key, path))
    return pairs


def jq_path(document, path: str):
    value = document
    for name, quoted, index in _JQ_STEP.findall(path):
        if index:
            value = value[int(index)] if isinstance(value, list) and int(index) < len(value) else None
        else:
            value = value.get(name or quoted) if isinstance(value, dict) else None
        if value is None:
            return None
    return value


def _params(processor: dict) -> dict:
    return {p["ParameterName"]: p["ParameterValue"] for p in processor.get("Parameters") or []}


class FirehoseProvider(Provider):
    service = "firehose"

    def __init__(self, providers):
        super().__init__(providers)
        self.store = FirehoseStore(self.db)
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._flushing: dict[int, asyncio.Task] = {}
        self._pending: dict[int, int] = {}  # stream id -> bytes buffered (derived, rebuilt at start)
        self._sources: dict[int, asyncio.Task] = {}
        self._stopped = False
        self._coordination = providers.coordination
        self._channel = self._coordination.channel("firehose")  # None on one node: every stream is its own
        self._held: set[int] = set()  # (cluster) the streams whose lease this node holds
        self._outgoing: dict[int, int] = {}  # (cluster) stream id -> bytes buffered this turn, for their holders
        self._work = WorkKind("firehose", self._leases, self._take, self._give)
        if self._channel is not None:
            self._channel.subscribe(self._buffered_elsewhere, self._look_again)

    async def start(self) -> None:
        if self._channel is not None:  # the nodes claim the streams' leases (storage/coordination.py)
            self._coordination.register(self._work)
            return
        for stream in self.store.all_with_work():
            self._pending[stream.id] = self.store.buffer_state(stream.id)[0]
            self._schedule(stream)
            if stream.type == "KinesisStreamAsSource":
                self._start_source(stream)

    async def stop(self) -> None:
        self._stopped = True
        for timer in self._timers.values():
            timer.cancel()
        for task in list(self._sources.values()) + list(self._flushing.values()):
            task.cancel()

    # -- which node flushes a stream (a cluster) --------------------------------------------------

    def _leases(self) -> list[str]:
        return [f"firehose:{sid}" for sid in self.store.ids()]

    def _take(self, name: str) -> None:
        """This node holds the stream's lease now: flush what is due, arm the timer, read the source."""
        sid = int(name.partition(":")[2])
        stream = self.store.by_id(sid)
        if stream is None:
            return
        self._held.add(sid)
        self._pending[sid] = self.store.buffer_state(sid)[0]
        self._schedule(stream)
        if stream.type == "KinesisStreamAsSource":
            self._start_source(stream)

    def _give(self, name: str) -> None:
        """The lease is gone (the stream deleted, the lease lost, the node stopping): nothing of the
        stream runs here any more. A flush cut short is flushed again by the next holder, under the
        same object keys."""
        sid = int(name.partition(":")[2])
        self._held.discard(sid)
        timer = self._timers.pop(sid, None)
        if timer:
            timer.cancel()
        for tasks in (self._sources, self._flushing):
            task = tasks.pop(sid, None)
            if task:
                task.cancel()
        self._pending.pop(sid, None)

    def _buffered(self, stream: Stream, size: int) -> None:
        """Records were committed to the stream's buffer: count them here, or tell the holder
        (one notification per stream and loop turn, with the bytes added: the holder counts
        them as its own, with no query of the buffer's size)."""
        if self._channel is None or stream.id in self._held:
            self._added(stream, size)
            return
        if not self._outgoing:
            asyncio.get_running_loop().call_soon(self._send_outgoing)
        self._outgoing[stream.id] = self._outgoing.get(stream.id, 0) + size

    def _send_outgoing(self) -> None:
        outgoing, self._outgoing = self._outgoing, {}
        for sid, size in outgoing.items():
            self._channel.publish((sid, size))

    def _buffered_elsewhere(self, key) -> None:
        sid, size = key
        if sid not in self._held:
            return
        stream = self.store.by_id(sid)
        if stream is None:  # deleted on another node: give its lease back now
            self._coordination.end(self._work, f"firehose:{sid}")
        else:
            self._added(stream, size)

    def _look_again(self) -> None:
        """Notifications may have been missed (the connection for them was lost): read the
        buffers of the streams held here again."""
        for sid in list(self._held):
            stream = self.store.by_id(sid)
            if stream is None:
                self._coordination.end(self._work, f"firehose:{sid}")
                continue
            self._pending[sid] = self.store.buffer_state(sid)[0]
            if not (sid in self._flushing and not self._flushing[sid].done()):  # (a flush re-checks when it ends)
                self._schedule(stream)

    def reset(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        for task in self._sources.values():
            task.cancel()
        self._timers.clear()
        self._sources.clear()
        self._pending.clear()

    # -- helpers --------------------------------------------------------------------------------

    def _stream(self, ctx, name: str) -> Stream:
        stream = self.store.get(ctx.account, ctx.region, name)
        if stream is None:
            raise _not_found(name, ctx.account)
        return stream

    @staticmethod
    def _hints(stream: Stream) -> tuple[int, float]:
        hints = stream.destination.get("BufferingHints") or {}
        size = hints.get("SizeInMBs")
        if size is None:
            conversion = (stream.destination.get("DataFormatConversionConfiguration") or {}).get("Enabled")
            dynamic = (stream.destination.get("DynamicPartitioningConfiguration") or {}).get("Enabled")
            size = 128 if conversion else 64 if dynamic else 5
        interval = hints.get("IntervalInSeconds")
        return size * 1024 * 1024, min(MAX_INTERVAL, 300.0 if interval is None else float(interval))

    def _validate_destination(self, dest: dict) -> None:
        dynamic = bool((dest.get("DynamicPartitioningConfiguration") or {}).get("Enabled"))
        try:
            prefixes.validate(dest.get("Prefix"), dest.get("ErrorOutputPrefix"), dynamic)
        except prefixes.PrefixError as e:
            raise _invalid(str(e)) from None
        if dest.get("CustomTimeZone") and not prefixes.valid_zone(dest["CustomTimeZone"]):
            raise _invalid(f"CustomTimeZone {dest['CustomTimeZone']} is not a supported time zone.")
        conversion = dest.get("DataFormatConversionConfiguration") or {}
        if conversion.get("Enabled", True) and conversion:
            if dest.get("CompressionFormat", "UNCOMPRESSED") != "UNCOMPRESSED":
                raise _invalid("CompressionFormat must be UNCOMPRESSED when DataFormatConversionConfiguration is "
                               "enabled; set the compression in the output SerDe instead.")
            if not (conversion.get("SchemaConfiguration") or {}).get("TableName"):
                raise _invalid("DataFormatConversionConfiguration needs a SchemaConfiguration with DatabaseName "
                               "and TableName.")
        for processor in (dest.get("ProcessingConfiguration") or {}).get("Processors") or []:
            params = _params(processor)
            if processor["Type"] == "Lambda" and "LambdaArn" not in params:
                raise _invalid("Lambda processor requires a LambdaArn parameter.")
            if processor["Type"] == "MetadataExtraction":
                parse_metadata_query(params.get("MetadataExtractionQuery", ""))
        if dynamic and (dest.get("BufferingHints") or {}).get("SizeInMBs", 64) < 64:
            raise _invalid("BufferingHints.SizeInMBs must be at least 64 when dynamic partitioning is enabled.")

    def _describe(self, stream: Stream) -> dict:
        dest = dict(stream.destination)
        dest.setdefault("BufferingHints", {"SizeInMBs": 5, "IntervalInSeconds": 300})
        dest.setdefault("CompressionFormat", "UNCOMPRESSED")
        dest.setdefault("EncryptionConfiguration", {"NoEncryptionConfig": "NoEncryption"})
        dest.setdefault("S3BackupMode", "Disabled")
        dest.pop("S3BackupConfiguration", None)
        plain = {k: dest[k] for k in ("RoleARN", "BucketARN", "Prefix", "ErrorOutputPrefix", "BufferingHints",
                                      "CompressionFormat", "EncryptionConfiguration", "CloudWatchLoggingOptions")
                 if k in dest}
        out = {
            "DeliveryStreamName": stream.name, "DeliveryStreamARN": stream.arn, "DeliveryStreamStatus": "ACTIVE",
            "DeliveryStreamType": stream.type, "VersionId": str(stream.version), "CreateTimestamp": stream.created,
            "HasMoreDestinations": False,
            "Destinations": [{"DestinationId": DESTINATION_ID, "ExtendedS3DestinationDescription": dest,
                              "S3DestinationDescription": plain}],
        }
        # As AWS's recorded answer for a new stream reading a Kinesis stream shows: no
        # LastUpdateTimestamp before an update, and no server-side encryption status for a stream
        # that cannot have one (SSE is for DirectPut streams)
        if stream.version > 1:
            out["LastUpdateTimestamp"] = stream.updated
        if stream.type != "KinesisStreamAsSource":
            out["DeliveryStreamEncryptionConfiguration"] = stream.encryption or {"Status": "DISABLED"}
        if stream.source:
            out["Source"] = {"KinesisStreamSourceDescription": {
                "KinesisStreamARN": stream.source["KinesisStreamARN"], "RoleARN": stream.source.get("RoleARN"),
                "DeliveryStartTimestamp": stream.created}}
        else:
            out["Source"] = {"DirectPutSourceDescription": {}}
        return out

    # -- delivery streams -----------------------------------------------------------------------

    async def create_delivery_stream(self, ctx, params):
        name = params["DeliveryStreamName"]
        kind = params.get("DeliveryStreamType") or "DirectPut"
        dest = params.get("ExtendedS3DestinationConfiguration") or params.get("S3DestinationConfiguration")
        others = [k for k in params if k.endswith("DestinationConfiguration") and not k.endswith("S3DestinationConfiguration")]
        if others:
            raise _invalid(f"{others[0]} is not supported by overcast yet: only S3 (ExtendedS3) destinations are.")
        if dest is None:
            raise _invalid("A destination configuration is required (ExtendedS3DestinationConfiguration).")
        if kind not in ("DirectPut", "KinesisStreamAsSource"):
            raise _invalid(f"DeliveryStreamType {kind} is not supported by overcast yet.")
        if self.store.get(ctx.account, ctx.region, name) is not None:
            raise AwsError("ResourceInUseException", f"Firehose {name} under accountId {ctx.account} already exists")
        self._validate_destination(dest)
        source = params.get("KinesisStreamSourceConfiguration")
        checkpoints = {}
        if kind == "KinesisStreamAsSource":
            if not source:
                raise _invalid("KinesisStreamSourceConfiguration is required for KinesisStreamAsSource.")
            kinesis = await self.providers.get("kinesis")
            try:
                for shard in kinesis.shard_ids(source["KinesisStreamARN"]):
                    checkpoints[shard] = kinesis.latest_sequence(source["KinesisStreamARN"], shard)
            except AwsError:
                raise _invalid(f"Kinesis stream {source['KinesisStreamARN']} does not exist.") from None
        elif source:
            raise _invalid("KinesisStreamSourceConfiguration is only valid for KinesisStreamAsSource.")
        arn = f"arn:aws:firehose:{ctx.region}:{ctx.account}:deliverystream/{name}"
        tags = {t["Key"]: t.get("Value", "") for t in params.get("Tags") or []}
        encryption = params.get("DeliveryStreamEncryptionConfigurationInput")
        enc = {"KeyType": encryption.get("KeyType", "AWS_OWNED_CMK"), "Status": "ENABLED",
               **({"KeyARN": encryption["KeyARN"]} if encryption.get("KeyARN") else {})} if encryption else None
        sid = self.store.create(ctx.account, ctx.region, name, arn, kind, time.time(), dest, source, enc, tags,
                                checkpoints)
        if self._channel is not None:  # this node claims the stream's lease now (no wait for a heartbeat)
            self._coordination.run(self._work, f"firehose:{sid}")
        elif kind == "KinesisStreamAsSource":
            self._start_source(self.store.by_id(sid))
        return {"DeliveryStreamARN": arn}

    def delete_delivery_stream(self, ctx, params):
        stream = self._stream(ctx, params["DeliveryStreamName"])
        self.store.delete(stream.id)
        timer = self._timers.pop(stream.id, None)
        if timer:
            timer.cancel()
        task = self._sources.pop(stream.id, None)
        if task:
            task.cancel()
        self._pending.pop(stream.id, None)
        if self._channel is not None:
            if stream.id in self._held:
                self._coordination.end(self._work, f"firehose:{stream.id}")
            else:
                self._channel.publish((stream.id, 0))  # the holder gives the lease back at once
        return {}

    def describe_delivery_stream(self, ctx, params):
        return {"DeliveryStreamDescription": self._describe(self._stream(ctx, params["DeliveryStreamName"]))}

    def list_delivery_streams(self, ctx, params):
        streams = self.store.list(ctx.account, ctx.region)
        kind = params.get("DeliveryStreamType")
        if kind:
            streams = [s for s in streams if s.type == kind]
        start = params.get("ExclusiveStartDeliveryStreamName")
        if start:
            streams = [s for s in streams if s.name > start]
        limit = params.get("Limit") or 10
        return {"DeliveryStreamNames": [s.name for s in streams[:limit]], "HasMoreDeliveryStreams": len(streams) > limit}

    def update_destination(self, ctx, params):
        stream = self._stream(ctx, params["DeliveryStreamName"])
        if params["CurrentDeliveryStreamVersionId"] != str(stream.version):
            raise AwsError("ConcurrentModificationException", f"Firehose {stream.name} version "
                           f"{params['CurrentDeliveryStreamVersionId']} is not the current version {stream.version}.")
        if params["DestinationId"] != DESTINATION_ID:
            raise _invalid(f"Destination {params['DestinationId']} not found.")
        update = params.get("ExtendedS3DestinationUpdate") or params.get("S3DestinationUpdate")
        if update is None:
            raise _invalid("Only ExtendedS3DestinationUpdate / S3DestinationUpdate are supported by overcast.")
        dest = {**stream.destination, **update}
        self._validate_destination(dest)
        self.store.update(stream.id, destination=dest, version=stream.version + 1, updated=time.time())
        return {}

    def start_delivery_stream_encryption(self, ctx, params):
        stream = self._stream(ctx, params["DeliveryStreamName"])
        cfg = params.get("DeliveryStreamEncryptionConfigurationInput") or {}
        self.store.update(stream.id, encryption={"KeyType": cfg.get("KeyType", "AWS_OWNED_CMK"), "Status": "ENABLED",
                                                 **({"KeyARN": cfg["KeyARN"]} if cfg.get("KeyARN") else {})})
        return {}

    def stop_delivery_stream_encryption(self, ctx, params):
        stream = self._stream(ctx, params["DeliveryStreamName"])
        self.store.update(stream.id, encryption={"Status": "DISABLED"})
        return {}

    def tag_delivery_stream(self, ctx, params):
        stream = self._stream(ctx, params["DeliveryStreamName"])
        tags = {**stream.tags, **{t["Key"]: t.get("Value", "") for t in params["Tags"]}}
        if len(tags) > 50:
            raise AwsError("LimitExceededException", "A delivery stream can have at most 50 tags.")
        self.store.update(stream.id, tags=tags)
        return {}

    def untag_delivery_stream(self, ctx, params):
        stream = self._stream(ctx, params["DeliveryStreamName"])
        self.store.update(stream.id, tags={k: v for k, v in stream.tags.items() if k not in params["TagKeys"]})
        return {}

    def list_tags_for_delivery_stream(self, ctx, params):
        stream = self._stream(ctx, params["DeliveryStreamName"])
        tags = sorted(stream.tags.items())
        start = params.get("ExclusiveStartTagKey")
        if start:
            tags = [t for t in tags if t[0] > start]
        limit = params.get("Limit") or 50
        return {"Tags": [{"Key": k, "Value": v} for k, v in tags[:limit]], "HasMoreTags": len(tags) > limit}

    # -- records --------------------------------------------------------------------------------

    def _direct(self, ctx, name: str) -> Stream:
        stream = self._stream(ctx, name)
        if stream.type != "DirectPut":
            raise _invalid("This operation is not permitted on KinesisStreamAsSource delivery stream type.")
        return stream

    def put_record(self, ctx, params):
        stream = self._direct(ctx, params["DeliveryStreamName"])
        data = params["Record"]["Data"]
        if len(data) > MAX_RECORD:
            raise _invalid(f"Record size {len(data)} exceeds the maximum of {MAX_RECORD} bytes.")
        self.store.buffer(stream.id, [(data, time.time())], tracing.current_header())
        self._buffered(stream, len(data))
        return {"RecordId": _record_id(), "Encrypted": bool(stream.encryption and
                                                            stream.encryption.get("Status") == "ENABLED")}

    def put_record_batch(self, ctx, params):
        stream = self._direct(ctx, params["DeliveryStreamName"])
        records = params["Records"]
        if len(records) > 500:
            raise _invalid("1 validation error detected: Value at 'records' failed to satisfy constraint: Member "
                           "must have length less than or equal to 500")
        now, rows, responses, total = time.time(), [], [], 0
        for record in records:
            data = record["Data"]
            if len(data) > MAX_RECORD:
                responses.append({"ErrorCode": "InvalidArgumentException",
                                  "ErrorMessage": f"Record size {len(data)} exceeds the maximum of {MAX_RECORD} bytes."})
                continue
            total += len(data)
            rows.append((data, now))
            responses.append({"RecordId": _record_id()})
        if total > MAX_BATCH_BYTES:
            raise _invalid(f"Records size {total} exceeds the maximum request size of {MAX_BATCH_BYTES} bytes.")
        if rows:
            self.store.buffer(stream.id, rows, tracing.current_header())
            self._buffered(stream, total)
        failed = sum("ErrorCode" in r for r in responses)
        return {"FailedPutCount": failed, "RequestResponses": responses,
                "Encrypted": bool(stream.encryption and stream.encryption.get("Status") == "ENABLED")}

    # -- buffering ------------------------------------------------------------------------------

    def _added(self, stream: Stream, size: int) -> None:
        self._pending[stream.id] = self._pending.get(stream.id, 0) + size
        max_bytes, _ = self._hints(stream)
        if self._pending[stream.id] >= max_bytes:
            self._flush_now(stream.id)
        elif stream.id not in self._timers:
            self._schedule(stream)

    def _schedule(self, stream: Stream, delay: float | None = None) -> None:
        if self._stopped:
            return
        timer = self._timers.pop(stream.id, None)
        if timer:
            timer.cancel()
        if delay is None:
            size, oldest = self.store.buffer_state(stream.id)
            if oldest is None:
                return
            max_bytes, interval = self._hints(stream)
            delay = 0 if size >= max_bytes else max(0.0, oldest + interval - time.time())
        loop = asyncio.get_running_loop()
        self._timers[stream.id] = loop.call_at(loop.time() + delay, self._flush_now, stream.id)

    def _flush_now(self, sid: int) -> None:
        self._timers.pop(sid, None)
        if sid in self._flushing and not self._flushing[sid].done():
            return  # the running flush re-checks the buffer when it ends
        self._flushing[sid] = asyncio.get_running_loop().create_task(self._flush(sid))

    async def _flush(self, sid: int) -> None:
        retry = False
        try:
            while True:
                stream = self.store.by_id(sid)
                if stream is None:
                    return
                max_bytes, interval = self._hints(stream)
                size, oldest = self.store.buffer_state(sid)
                self._pending[sid] = size
                if oldest is None:
                    return
                if size < max_bytes and oldest + interval > time.time():
                    self._schedule(stream)
                    return
                rows = self.store.buffered(sid, max_bytes)
                traces = [row[3] for row in rows]
                # a flush is in the trace of its first record that has one; the others' are linked
                with tracing.hop("firehose", "Flush", resource=stream.arn, account=stream.account,
                                 region=stream.region, parent=next((t for t in traces if t), None), links=traces,
                                 attributes={"records": len(rows), "bytes": sum(len(row[1]) for row in rows)}):
                    await self._deliver(stream, [row[:3] for row in rows])
                self.store.drop(sid, rows[-1][0])
        except asyncio.CancelledError:
            raise
        except AwsError as e:  # the bucket is missing, the schema table is gone...: kept, retried
            log.warning("Firehose delivery failed (%s: %s); retrying in %ss", e.code, e.message, RETRY_DELAY)
            retry = True
        except Exception:
            log.exception("Firehose delivery failed; retrying in %ss", RETRY_DELAY)
            retry = True
        finally:
            self._flushing.pop(sid, None)
        if retry:
            stream = self.store.by_id(sid)
            if stream is not None:
                self._schedule(stream, RETRY_DELAY)

    async def flush_all(self) -> None:
        """Deliver every buffered record now (tests and shutdown helpers)."""
        for stream in self.store.all_with_work():
            self._flush_now(stream.id)

    # -- delivery -------------------------------------------------------------------------------

    async def _deliver(self, stream: Stream, rows: list[tuple[int, bytes, float]]) -> None:
        dest = stream.destination
        bucket = dest["BucketARN"].split(":::")[-1]
        processors = []
        pc = dest.get("ProcessingConfiguration") or {}
        if pc.get("Enabled", bool(pc.get("Processors"))):
            processors = pc.get("Processors") or []
        dynamic = bool((dest.get("DynamicPartitioningConfiguration") or {}).get("Enabled"))
        # records: [data, arrival, query_keys, lambda_keys]
        records = [[data, arrival, {}, {}] for _, data, arrival in rows]
        # the objects' names are derived from the flush's first record: a flush cut short (a crash,
        # a lease lost) and run again writes the same objects again, not a second copy
        seed = f"{stream.arn}/{stream.id}/{rows[0][0]}"
        failed: list[tuple[bytes, float, str, str, str, str | None]] = []  # data, arrival, type, code, msg, lambda
        for processor in processors:
            params = _params(processor)
            if processor["Type"] == "Lambda":
                records = await self._transform(stream, params["LambdaArn"], records, failed)
            elif processor["Type"] == "MetadataExtraction" and dynamic:
                pairs = parse_metadata_query(params.get("MetadataExtractionQuery", "{}"))
                kept = []
                for rec in records:
                    try:
                        doc = orjson.loads(rec[0])
                        keys = {k: jq_path(doc, p) for k, p in pairs}
                        missing = [k for k, v in keys.items() if v is None]
                        if missing:
                            raise ValueError(f"partition key {missing[0]} not found")
                        rec[2] = {k: v if isinstance(v, str) else orjson.dumps(v).decode() for k, v in keys.items()}
                        kept.append(rec)
                    except (orjson.JSONDecodeError, ValueError, TypeError) as e:
                        failed.append((rec[0], rec[1], "processing-failed",
                                       "DynamicPartitioning.MetadataExtractionFailed", str(e), None))
                records = kept
            elif processor["Type"] == "AppendDelimiterToRecord":
                delimiter = params.get("Delimiter", "\\n").encode().decode("unicode_escape").encode()
                for rec in records:
                    rec[0] = rec[0] + delimiter
        groups: dict[tuple, list] = {}
        for rec in records:
            key = (tuple(sorted(rec[2].items())), tuple(sorted(rec[3].items()))) if dynamic else ((), ())
            groups.setdefault(key, []).append(rec)
        conversion = dest.get("DataFormatConversionConfiguration") or {}
        converting = bool(conversion) and conversion.get("Enabled", True)
        schema = None
        if converting and records:
            schema = await self._schema(stream, conversion)
        compression = dest.get("CompressionFormat") or "UNCOMPRESSED"
        for number, ((qkeys, lkeys), group) in enumerate(groups.items()):
            oldest = min(r[1] for r in group)
            zone = dest.get("CustomTimeZone")
            prefix = prefixes.evaluate(dest.get("Prefix"), oldest, None, dict(qkeys), dict(lkeys), zone)
            if converting:
                body, bad, ext = await asyncio.to_thread(_convert, group, schema, conversion)
                failed.extend((d, a, "format-conversion-failed", "DataFormatConversion.ParseError", msg, None)
                              for d, a, msg in bad)
                if body is None:
                    continue
            else:
                body = b"".join(r[0] for r in group)
                ext = prefixes.EXTENSIONS.get(compression, "")
                if compression != "UNCOMPRESSED":
                    body = await asyncio.to_thread(prefixes.compress, body, compression)
            if dest.get("FileExtension"):
                ext = dest["FileExtension"]
            key = prefix + prefixes.object_name(stream.name, stream.version, oldest, ext, zone, f"{seed}/{number}")
            await self._write(stream, bucket, key, body)
        if failed:
            by_type: dict[str, list] = {}
            for item in failed:
                by_type.setdefault(item[2], []).append(item)
            for kind, items in by_type.items():
                oldest = min(i[1] for i in items)
                now = int(time.time() * 1000)
                lines = b"".join(orjson.dumps({
                    "attemptsMade": 1, "arrivalTimestamp": int(a * 1000), "errorCode": code, "errorMessage": msg,
                    "attemptEndingTimestamp": now, "rawData": base64.b64encode(d).decode(),
                    **({"lambdaArn": lam} if lam else {})}) + b"\n" for d, a, _, code, msg, lam in items)
                ext = ""
                if compression != "UNCOMPRESSED" and not converting:
                    lines = await asyncio.to_thread(prefixes.compress, lines, compression)
                    ext = prefixes.EXTENSIONS.get(compression, "")
                zone = dest.get("CustomTimeZone")
                prefix = prefixes.evaluate(dest.get("ErrorOutputPrefix"), oldest, kind, zone=zone)
                await self._write(stream, bucket, prefix + prefixes.object_name(stream.name, stream.version,
                                                                               oldest, ext, zone, f"{seed}/{kind}"), lines)

    async def _write(self, stream: Stream, bucket: str, key: str, body: bytes) -> None:
        s3 = await self.providers.get("s3")
        await s3.write_object(stream.account, stream.region, bucket, key, body)

    async def _transform(self, stream: Stream, function: str, records: list, failed: list) -> list:
        lam = await self.providers.get("lambda")
        out = []
        for start in range(0, len(records), LAMBDA_BATCH):
            chunk = records[start:start + LAMBDA_BATCH]
            ids = [f"{uuid.uuid4()}" for _ in chunk]
            event = {"invocationId": str(uuid.uuid4()), "deliveryStreamArn": stream.arn, "region": stream.region,
                     "records": [{"recordId": rid, "approximateArrivalTimestamp": int(rec[1] * 1000),
                                  "data": base64.b64encode(rec[0]).decode()} for rid, rec in zip(ids, chunk, strict=True)]}
            if stream.source:
                event["sourceKinesisStreamArn"] = stream.source["KinesisStreamARN"]
            error = None
            answers = {}
            try:
                result = await lam.invoke_function(stream.account, stream.region, function, orjson.dumps(event))
                if result.function_error:
                    error = ("Lambda.FunctionError", "The Lambda function was successfully invoked but it returned "
                             f"an error result: {result.payload[:500].decode(errors='replace')}")
                else:
                    answer = orjson.loads(result.payload)
                    answers = {r["recordId"]: r for r in answer["records"]}
            except AwsError as e:
                error = ("Lambda.InvokeAccessDenied" if e.code == "AccessDeniedException" else
                         "Lambda.FunctionNotFound" if e.code == "ResourceNotFoundException" else f"Lambda.{e.code}",
                         e.message)
            except (orjson.JSONDecodeError, KeyError, TypeError):
                error = ("Lambda.FunctionError", "The Lambda function returned an invalid response: it must be a "
                         "JSON object with a records list.")
            for rid, rec in zip(ids, chunk, strict=True):
                if error:
                    failed.append((rec[0], rec[1], "processing-failed", error[0], error[1], function))
                    continue
                answer = answers.get(rid)
                if answer is None:
                    failed.append((rec[0], rec[1], "processing-failed", "Lambda.MissingRecordId",
                                   f"A record with recordId {rid} was not returned by the function.", function))
                    continue
                result = answer.get("result")
                if result == "Dropped":
                    continue
                if result != "Ok":
                    failed.append((rec[0], rec[1], "processing-failed", "Lambda.ProcessingFailed",
                                   "The record was marked ProcessingFailed by the function." if
                                   result == "ProcessingFailed" else f"Invalid result {result!r}.", function))
                    continue
                try:
                    data = base64.b64decode(answer.get("data", ""), validate=True)
                except (ValueError, TypeError):
                    failed.append((rec[0], rec[1], "processing-failed", "Lambda.InvalidData",
                                   "The data returned by the function is not valid base64.", function))
                    continue
                keys = ((answer.get("metadata") or {}).get("partitionKeys")) or {}
                out.append([data, rec[1], rec[2], {k: str(v) for k, v in keys.items()}])
        return out

    async def _schema(self, stream: Stream, conversion: dict):
        cfg = conversion.get("SchemaConfiguration") or {}
        glue = await self.providers.get("glue")
        table = glue.table_doc(cfg.get("CatalogId") or stream.account, cfg.get("Region") or stream.region,
                               cfg["DatabaseName"], cfg["TableName"])
        return [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]

    # -- Kinesis as the source ------------------------------------------------------------------

    def _start_source(self, stream: Stream) -> None:
        if stream.id not in self._sources and not self._stopped:
            self._sources[stream.id] = asyncio.get_running_loop().create_task(self._poll_source(stream.id))

    async def _poll_source(self, sid: int) -> None:
        kinesis = await self.providers.get("kinesis")
        while True:
            stream = self.store.by_id(sid)
            if stream is None:
                return
            arn = stream.source["KinesisStreamARN"]
            try:
                shards = kinesis.shard_ids(arn)
                kstream = kinesis._stream_arn(arn)
            except AwsError:
                return
            checkpoints = self.store.checkpoints(sid)
            moved = 0
            for shard in shards:
                records = kinesis.read(arn, shard, checkpoints.get(shard), 10000)
                if records:
                    self.store.buffer_from_kinesis(sid, shard, records[-1]["SequenceNumber"],
                                                   [(r["Data"], r["ApproximateArrivalTimestamp"], r.get("_trace"))
                                                    for r in records])
                    moved += sum(len(r["Data"]) for r in records)
            if moved:
                self._added(stream, moved)
                await asyncio.sleep(0)
            else:
                await kinesis.waiters.wait(kstream.id, KINESIS_IDLE_WAIT)


def _record_id() -> str:
    return base64.b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes + uuid.uuid4().bytes[:10]).decode()[:56]


# -- format conversion (runs in a thread) ---------------------------------------------------------

def _coerce(value, node):
    if value is None:
        return None
    if isinstance(node, str):
        if node in ("string", "varchar", "char"):
            return value if isinstance(value, str) else orjson.dumps(value).decode()
        if node in ("int", "integer", "bigint", "smallint", "tinyint"):
            if isinstance(value, bool):
                raise ValueError(f"cannot convert {value!r} to {node}")
            return int(value)
        if node in ("double", "float"):
            return float(value)
        if node == "boolean":
            if isinstance(value, str):
                if value.lower() not in ("true", "false"):
                    raise ValueError(f"cannot convert {value!r} to boolean")
                return value.lower() == "true"
            return bool(value)
        if node == "timestamp":
            if isinstance(value, int | float):
                return datetime.datetime.fromtimestamp(value / 1000 if value > 1e11 else value, datetime.UTC)
            return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00").replace(" ", "T"))
        if node == "date":
            return datetime.date.fromisoformat(str(value)[:10])
        return value
    if node[0] == "decimal":
        import decimal

        return decimal.Decimal(str(value))
    if node[0] == "array":
        if not isinstance(value, list):
            raise ValueError("expected an array")
        return [_coerce(v, node[1]) for v in value]
    if node[0] == "map":
        return [(str(k), _coerce(v, node[2])) for k, v in value.items()]
    if not isinstance(value, dict):
        raise ValueError("expected an object")
    lowered = {k.lower(): v for k, v in value.items()}
    return {n: _coerce(lowered.get(n.lower()), t) for n, t in node[1]}


def _convert(group: list, columns: list[tuple[str, str]], conversion: dict):
    """JSON records -> one Parquet/ORC body; returns (body or None, [(data, arrival, error)], extension)."""
    import io

    import pyarrow as pa

    from overcast.services.glue import types

    nodes = [(name, types.parse(t)) for name, t in columns]
    schema = pa.schema([(name, types.to_arrow(node)) for name, node in nodes])
    rows, bad = [], []
    for data, arrival, *_ in group:
        try:
            for line in data.splitlines() or [b""]:
                if not line.strip():
                    continue
                doc = orjson.loads(line)
                if not isinstance(doc, dict):
                    raise ValueError("the record is not a JSON object")
                lowered = {k.lower(): v for k, v in doc.items()}
                rows.append({name: _coerce(lowered.get(name.lower()), node) for name, node in nodes})
        except (orjson.JSONDecodeError, ValueError, TypeError, ArithmeticError) as e:
            bad.append((data, arrival, f"The record could not be converted to the table's schema: {e}"))
    if not rows:
        return None, bad, ""
    table = pa.Table.from_pylist(rows, schema=schema)
    output = conversion.get("OutputFormatConfiguration", {}).get("Serializer", {})
    buffer = io.BytesIO()
    if "OrcSerDe" in output:
        import pyarrow.orc as orc

        compression = (output["OrcSerDe"].get("Compression") or "SNAPPY").lower()
        orc.write_table(table, buffer, compression="uncompressed" if compression == "none" else compression)
        return buffer.getvalue(), bad, ".orc"
    import pyarrow.parquet as pq

    compression = ((output.get("ParquetSerDe") or {}).get("Compression") or "SNAPPY").lower()
    compression = {"uncompressed": "none"}.get(compression, compression)
    pq.write_table(table, buffer, compression=compression)
    return buffer.getvalue(), bad, ".parquet"
