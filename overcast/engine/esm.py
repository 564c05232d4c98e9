"""Lambda event-source-mapping pollers: each enabled mapping has its own asyncio tasks in the
engine, woken by the source itself (SQS's long-poll waiters, DynamoDB streams' wait API), so no
mapping waits behind another and nothing sleeps in a polling loop.

SQS: up to ScalingConfig.MaximumConcurrency concurrent pollers (default 5) each receive a batch
(BatchSize, MaximumBatchingWindowInSeconds), invoke the function synchronously, and delete the
messages it handled. A failed batch is left to become visible again after the queue's visibility
timeout; the queue's own redrive policy moves poison messages to its dead-letter queue after
maxReceiveCount. ReportBatchItemFailures keeps only the failed messages. Messages that do not
match FilterCriteria are deleted without invoking the function (as AWS does).

DynamoDB streams and Kinesis: one poller per shard, in order, from a checkpoint stored in the
database (TRIM_HORIZON, LATEST or AT_TIMESTAMP fixed at creation), with batching window,
FilterCriteria, MaximumRetryAttempts, MaximumRecordAgeInSeconds, BisectBatchOnFunctionError,
ReportBatchItemFailures, ParallelizationFactor (lanes by partition key), tumbling windows (state
kept with the checkpoint; a timer for the window's final invocation) and OnFailure destinations
(SQS, SNS). A closed Kinesis shard's poller ends at the shard's end; its children are picked up.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
import uuid
from datetime import UTC, datetime

import orjson

from overcast import tracing
from overcast.aws.errors import AwsError
from overcast.engine.patterns import PatternError, compile_pattern
from overcast.engine.targets import DeliveryError, deliver, internal_ctx, store_record
from overcast.storage.errors import StorageUnavailable

log = logging.getLogger("overcast.esm")

STORAGE_RETRY_SECONDS = 1.0  # a poller whose database went away (PostgreSQL) tries again this often
# a poller that failed on something unexpected (a defect) starts again from its checkpoint after
# this back-off, doubling up to the maximum: a bad batch must not stop a mapping for good
FAILURE_RETRY_SECONDS = 1.0
FAILURE_RETRY_MAX_SECONDS = 60.0
STREAM_IDLE_WAIT = 60.0  # a stream poller re-checks its stream at least this often (it is woken by writes)


def _matchers(doc: dict) -> list:
    out = []
    for item in (doc.get("FilterCriteria") or {}).get("Filters") or []:
        try:
            out.append(compile_pattern(item.get("Pattern") or "{}"))
        except PatternError:
            continue
    return out


def _iso(when: float, whole_seconds: bool = False) -> str:
    moment = datetime.fromtimestamp(when, UTC)
    if whole_seconds:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Pollers:
    def __init__(self, providers, store):
        self.providers = providers
        self.store = store
        self._tasks: dict[str, list[asyncio.Task]] = {}

    def start(self, doc: dict, account: str, region: str) -> None:
        self.stop(doc["UUID"])
        loop = asyncio.get_running_loop()
        arn = doc["EventSourceArn"]
        context = tracing.detached()  # a poller's work is no child of the request that started it
        if ":sqs:" in arn:
            workers = (doc.get("ScalingConfig") or {}).get("MaximumConcurrency") or 5
            tasks = [loop.create_task(self._sqs_worker(doc, account, region), context=context.copy())
                     for _ in range(min(workers, 50))]
        else:
            tasks = [loop.create_task(self._stream_poller(doc, account, region), context=context)]
        self._tasks[doc["UUID"]] = tasks

    async def prime(self, doc: dict) -> None:
        """At creation: fix a stream mapping's starting checkpoints now (LATEST means the stream's
        end when the mapping is created, not when its poller first runs)."""
        if ":sqs:" in doc["EventSourceArn"]:
            return
        source = await self._source(doc)
        for shard in source.shard_ids():
            self.store.save_checkpoint(doc["UUID"], shard, source.start_position(doc, shard))

    def stop(self, mapping_id: str) -> None:
        for task in self._tasks.pop(mapping_id, []):
            task.cancel()

    def stop_all(self) -> None:
        for mapping_id in list(self._tasks):
            self.stop(mapping_id)

    def _note(self, mapping_id: str, result: str) -> None:
        """LastProcessingResult, which AWS shows for stream mappings only (never for an SQS queue's)."""
        found = self.store.get(mapping_id)
        if found is not None and ":sqs:" in found[0]["EventSourceArn"]:
            return
        if found is not None and found[0].get("LastProcessingResult") != result:
            doc, account, region = found
            doc["LastProcessingResult"] = result
            self.store.put(doc, account, region)

    # -- SQS -------------------------------------------------------------------------------------

    async def _sqs_worker(self, doc: dict, account: str, region: str) -> None:
        await self._keep_running(doc, lambda: self._sqs_loop(doc, account, region))

    async def _keep_running(self, doc: dict, poll) -> None:
        """Run a poller (`poll()`, a coroutine from its checkpoint) until it returns: the database
        away (PostgreSQL), again once it is back; an unexpected error, logged and again after a
        back-off, so that a defect met by one batch does not stop the mapping for good."""
        backoff = FAILURE_RETRY_SECONDS
        while True:
            try:
                await poll()
                return
            except asyncio.CancelledError:
                raise
            except StorageUnavailable:
                await asyncio.sleep(STORAGE_RETRY_SECONDS)
            except Exception:
                if asyncio.current_task().cancelling():  # (at shutdown the database may be gone first)
                    return
                log.exception("event source mapping %s failed; polling again in %.0f s", doc["UUID"], backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, FAILURE_RETRY_MAX_SECONDS)

    async def _sqs_loop(self, doc: dict, account: str, region: str) -> None:
        sqs = await self.providers.get("sqs")
        lam = await self.providers.get("lambda")
        arn = doc["EventSourceArn"]
        _, _, _, q_region, q_account, q_name = arn.split(":", 5)
        url = f"http://localhost/{q_account}/{q_name}"
        ctx = internal_ctx("sqs", q_account, q_region, "ReceiveMessage")
        batch_size = doc["BatchSize"]
        window = doc.get("MaximumBatchingWindowInSeconds") or 0
        matchers = _matchers(doc)
        report_failures = "ReportBatchItemFailures" in (doc.get("FunctionResponseTypes") or [])
        loop = asyncio.get_running_loop()
        current = asyncio.current_task()
        while not current.cancelling():  # (asyncio.wait_for can swallow a cancellation in Python 3.11)
            try:
                messages = await self._receive(sqs, ctx, url, min(batch_size, 10), 20)
                if messages and (window or len(messages) < batch_size) and window:
                    deadline = loop.time() + window
                    while len(messages) < batch_size and (remaining := deadline - loop.time()) > 0:
                        more = await self._receive(sqs, ctx, url, min(batch_size - len(messages), 10),
                                                   max(1, int(remaining + 0.999)))
                        messages += more
            except StorageUnavailable:
                raise
            except AwsError as e:
                self._note(doc["UUID"], f"PROBLEM: {e.code}: {e.message}")
                log.warning("SQS event source mapping %s: %s; poller stopped", doc["UUID"], e.message)
                return
            if not messages:
                continue
            records = [self._sqs_record(m, arn, q_region) for m in messages]
            handled = []
            if matchers:
                keep = []
                for message, record in zip(messages, records, strict=True):
                    view = dict(record)
                    try:
                        view["body"] = orjson.loads(record["body"])
                    except orjson.JSONDecodeError:
                        pass
                    if any(m.matches(view) for m in matchers):
                        keep.append(record)
                    else:
                        handled.append(message["ReceiptHandle"])
                records = keep
            if records:
                payload = orjson.dumps({"Records": records})
                try:
                    with self._batch_span(doc, account, region, [r["attributes"].get("AWSTraceHeader")
                                                                 for r in records]) as span:
                        result = await lam.invoke_function(account, region, doc["FunctionArn"], payload)
                        _note_result(span, result)
                except AwsError as e:
                    self._note(doc["UUID"], f"PROBLEM: {e.code}")
                    records = []  # throttled or gone: the messages come back after the visibility timeout
                    result = None
                if result is not None and result.function_error is None:
                    failed = set()
                    if report_failures:
                        failed = _item_failures(result.payload)
                        if failed is None:  # an invalid response counts as a failure of the whole batch
                            failed = {r["messageId"] for r in records}
                    handled += [r["receiptHandle"] for r in records if r["messageId"] not in failed]
                    self._note(doc["UUID"], "OK")
                elif result is not None:
                    self._note(doc["UUID"], "PROBLEM: Function call failed")
            if handled:
                self._delete(sqs, q_account, q_region, url, handled)

    @staticmethod
    def _batch_span(doc: dict, account: str, region: str, traces: list[str | None]):
        """The span of one batch: in the trace of its first record that carries one (SQS's
        AWSTraceHeader, the trace a stream record was written in), the others' traces linked."""
        first = next((t for t in traces if t), None)
        return tracing.hop("lambda", "EventSourceMapping", resource=doc.get("EventSourceMappingArn"), account=account,
                           region=region, parent=first, links=traces,
                           attributes={"eventSourceArn": doc["EventSourceArn"], "functionArn": doc["FunctionArn"],
                                       "batchSize": len(traces)})

    @staticmethod
    async def _receive(sqs, ctx, url, count, wait) -> list[dict]:
        response = await sqs.receive_message(ctx, {"QueueUrl": url, "MaxNumberOfMessages": count,
                                                   "WaitTimeSeconds": wait, "AttributeNames": ["All"],
                                                   "MessageSystemAttributeNames": ["All"],
                                                   "MessageAttributeNames": ["All"]})
        return response.get("Messages") or []

    @staticmethod
    def _delete(sqs, account, region, url, handles: list[str]) -> None:
        ctx = internal_ctx("sqs", account, region, "DeleteMessageBatch")
        for start in range(0, len(handles), 10):
            entries = [{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(handles[start:start + 10])]
            try:
                sqs.delete_message_batch(ctx, {"QueueUrl": url, "Entries": entries})
            except AwsError as e:
                log.warning("deleting handled messages from %s: %s", url, e.message)

    @staticmethod
    def _sqs_record(message: dict, arn: str, region: str) -> dict:
        attributes = {k: str(v) for k, v in (message.get("Attributes") or {}).items()}
        message_attributes = {}
        for name, value in (message.get("MessageAttributes") or {}).items():
            out = {"stringListValues": [], "binaryListValues": [], "dataType": value.get("DataType")}
            if value.get("StringValue") is not None:
                out["stringValue"] = value["StringValue"]
            if value.get("BinaryValue") is not None:
                out["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
            message_attributes[name] = out
        record = {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
                  "body": message["Body"], "attributes": attributes, "messageAttributes": message_attributes,
                  "md5OfBody": message["MD5OfBody"], "eventSource": "aws:sqs", "eventSourceARN": arn,
                  "awsRegion": region}
        if message.get("MD5OfMessageAttributes"):  # a message with attributes: their digest too, as AWS sends it
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        return record

    # -- streams: DynamoDB Streams and Kinesis --------------------------------------------------

    async def _source(self, doc: dict):
        arn = doc["EventSourceArn"]
        if ":kinesis:" in arn:
            return KinesisSource(await self.providers.get("kinesis"), arn)
        return DynamoDbSource((await self.providers.get("dynamodb")).streams, arn)

    async def _stream_poller(self, doc: dict, account: str, region: str) -> None:
        """One task per shard. A shard's task ends when its shard is closed and read to its end
        (Kinesis resharding); the shards that replaced it are then picked up."""
        try:
            source = await self._source(doc)
        except AwsError as e:
            self._note(doc["UUID"], f"PROBLEM: {e.message}")
            return
        loop = asyncio.get_running_loop()
        running: dict[str, asyncio.Task] = {}
        finished: set[str] = set()
        try:
            while True:
                try:
                    shards = source.shard_ids()
                except AwsError as e:
                    self._note(doc["UUID"], f"PROBLEM: {e.message}")
                    return
                for shard in shards:
                    if shard not in running and shard not in finished:
                        running[shard] = loop.create_task(self._shard(doc, account, region, source, shard))
                if not running:
                    return
                done, _ = await asyncio.wait(running.values(), return_when=asyncio.FIRST_COMPLETED)
                for shard, task in list(running.items()):
                    if task in done:
                        finished.add(shard)
                        del running[shard]
        finally:
            for task in running.values():
                task.cancel()

    async def _shard(self, doc: dict, account: str, region: str, source, shard: str) -> None:
        await self._keep_running(doc, lambda: self._shard_loop(doc, account, region, source, shard))

    async def _shard_loop(self, doc: dict, account: str, region: str, source, shard: str) -> None:
        lam = await self.providers.get("lambda")
        mapping_id = doc["UUID"]
        known, position = self.store.checkpoint(mapping_id, shard)
        if not known:  # a shard that appeared after the mapping was created: from its start
            position = None if doc.get("StartingPosition") != "LATEST" or source.kind == "kinesis" \
                else source.start_position(doc, shard)
            self.store.save_checkpoint(mapping_id, shard, position)
        batch_size = doc["BatchSize"]
        window = doc.get("MaximumBatchingWindowInSeconds") or 0
        tumbling = doc.get("TumblingWindowInSeconds") or 0
        loop = asyncio.get_running_loop()
        current = asyncio.current_task()
        while not current.cancelling():  # (asyncio.wait_for can swallow a cancellation in Python 3.11)
            open_window = self.store.window(mapping_id, shard) if tumbling else None
            idle = STREAM_IDLE_WAIT
            if open_window is not None:
                closes_in = open_window["start"] + tumbling - time.time()
                if closes_in <= 0:  # the window's time is up: its final invocation
                    await self._close_window(doc, account, region, lam, source, shard, open_window)
                    continue
                idle = min(idle, closes_in + 0.01)
            try:
                raw = source.read(shard, position)
                if not raw:
                    if source.closed(shard) and open_window is None:
                        return  # read to the end of a closed shard
                    raw = await source.wait(shard, position, idle)
                if not raw:
                    continue
                if window and len(raw) < batch_size:
                    deadline = loop.time() + window
                    while len(raw) < batch_size and (remaining := deadline - loop.time()) > 0:
                        more = await source.wait(shard, source.raw_sequence(raw[-1]), remaining)
                        if not more:
                            break
                        raw += more
            except StorageUnavailable:
                raise
            except AwsError as e:
                self._note(mapping_id, f"PROBLEM: {e.message}")
                return
            # the trace each record was written in, by sequence number (for the batch's span)
            traces = {source.raw_sequence(r): r.pop("_trace", None) for r in raw}
            factor = doc.get("ParallelizationFactor") or 1
            if factor > 1 and not tumbling:
                position = await self._parallel(doc, account, region, lam, source, shard,
                                                [source.event_record(r, shard, region)
                                                 for r in raw[:batch_size * factor]], position, factor, traces)
                self.store.save_checkpoint(mapping_id, shard, position)
                continue
            batch = [source.event_record(r, shard, region) for r in raw[:batch_size]]
            state = None
            if tumbling:
                start = source.arrival(batch[0]) // tumbling * tumbling
                if open_window is not None and start > open_window["start"]:
                    await self._close_window(doc, account, region, lam, source, shard, open_window)
                    continue  # read again: the records start a new window
                if open_window is None:
                    open_window = {"start": start, "state": {}}
                    self.store.save_window(mapping_id, shard, open_window)
                batch = [r for r in batch if source.arrival(r) // tumbling * tumbling <= open_window["start"]]
                state = {"window": open_window, "tumbling": tumbling}
            position = await self._process(doc, account, region, lam, source, shard, batch, position, state, traces)
            self.store.save_checkpoint(mapping_id, shard, position)
            if state is not None:
                self.store.save_window(mapping_id, shard, state["window"])

    async def _parallel(self, doc, account, region, lam, source, shard, records: list[dict], position,
                        factor: int, traces: dict) -> str | None:
        """ParallelizationFactor: up to `factor` batches of one shard at once, records of one
        partition key always in the same lane (so in order); the checkpoint moves past all of them
        once every lane is done."""
        lanes: list[list[dict]] = [[] for _ in range(factor)]
        for record in records:
            key = source.partition_key(record)
            lanes[int(hashlib.md5(key.encode()).hexdigest()[:8], 16) % factor].append(record)
        batch_size = doc["BatchSize"]

        async def run(lane: list[dict]) -> None:
            for start in range(0, len(lane), batch_size):
                await self._process(doc, account, region, lam, source, shard, lane[start:start + batch_size], None,
                                    traces=traces)

        await asyncio.gather(*(run(lane) for lane in lanes if lane))
        return source.sequence(records[-1]) if records else position

    def _window_payload(self, doc, source, shard, state: dict, records: list, final: bool) -> dict:
        start = state["window"]["start"]
        return {"Records": records,
                "window": {"start": _iso(start).replace(".000Z", "Z"),
                           "end": _iso(start + state["tumbling"]).replace(".000Z", "Z")},
                "state": state["window"]["state"], "shardId": shard, "eventSourceARN": doc["EventSourceArn"],
                "isFinalInvokeForWindow": final, "isWindowTerminatedEarly": False}

    async def _close_window(self, doc, account, region, lam, source, shard, open_window: dict) -> None:
        """The final invocation of a tumbling window (no records, the aggregated state)."""
        state = {"window": open_window, "tumbling": doc["TumblingWindowInSeconds"]}
        payload = self._window_payload(doc, source, shard, state, [], True)
        for attempt in range(3):
            try:
                result = await lam.invoke_function(account, region, doc["FunctionArn"], orjson.dumps(payload))
                if result.function_error is None:
                    break
            except AwsError:
                pass
            await asyncio.sleep(0.1 * 2 ** attempt)  # back-off between retries, not a poll
        self.store.save_window(doc["UUID"], shard, None)

    async def _process(self, doc, account, region, lam, source, shard, batch: list[dict], position,
                       window: dict | None = None, traces: dict | None = None) -> str | None:
        """Deliver one batch with retries, bisection and partial failures; returns the new
        checkpoint (the sequence number of the last record dealt with). With a tumbling window,
        the invocation carries the window and its state, and the function's answered state is kept."""
        matchers = _matchers(doc)
        max_retries = doc.get("MaximumRetryAttempts", -1)
        max_age = doc.get("MaximumRecordAgeInSeconds", -1)
        bisect = doc.get("BisectBatchOnFunctionError")
        report_failures = "ReportBatchItemFailures" in (doc.get("FunctionResponseTypes") or [])
        seq = source.sequence
        pending = [batch]
        attempts = 0
        while pending:
            original = pending[0]
            if not original:
                pending.pop(0)
                continue
            end = seq(original[-1])
            chunk = original
            if max_age != -1:
                now = time.time()
                fresh = [r for r in chunk if now - source.arrival(r) <= max_age]
                if len(fresh) < len(chunk):
                    await self._on_failure(doc, source, shard, [r for r in chunk if r not in fresh],
                                           "RecordAgeExceeded", attempts)
                    chunk = pending[0] = fresh
            if matchers:
                chunk = [r for r in chunk if any(m.matches(source.filter_view(r)) for m in matchers)]
            if not chunk:  # nothing left to send: the records are dealt with
                pending.pop(0)
                position, attempts = end, 0
                continue
            try:
                request = {"Records": chunk} if window is None else \
                    self._window_payload(doc, source, shard, window, chunk, False)
                with self._batch_span(doc, account, region, [(traces or {}).get(seq(r)) for r in chunk]) as span:
                    if attempts:
                        span.set("retry", attempts)
                    result = await lam.invoke_function(account, region, doc["FunctionArn"], orjson.dumps(request))
                    _note_result(span, result)
                error, payload = result.function_error, result.payload
                if error is None and window is not None:
                    answered = _answer_state(payload)
                    if answered is not None:
                        window["window"]["state"] = answered
            except AwsError as e:
                error, payload = e.code, b""
            last_error = error  # (the function's error, None when it answered: named in an OnFailure record)
            if error is None:
                failed = _item_failures(payload) if report_failures else set()
                if failed is None:
                    failed = {seq(chunk[0])}
                if not failed:
                    pending.pop(0)
                    position, attempts = end, 0
                    self._note(doc["UUID"], "OK")
                    continue
                # a partial failure: checkpoint before the lowest failed record, retry from it
                lowest = min((int(s) for s in failed if s.isdigit()), default=0)
                done = [r for r in pending[0] if int(seq(r)) < lowest]
                if done:
                    position = seq(done[-1])
                pending[0] = [r for r in pending[0] if int(seq(r)) >= lowest]
            self._note(doc["UUID"], "PROBLEM: Function call failed")
            attempts += 1
            if max_retries != -1 and attempts > max_retries:
                await self._on_failure(doc, source, shard, pending[0], "RetryAttemptsExhausted", attempts,
                                       function_error=last_error)
                pending.pop(0)
                position, attempts = end, 0
                continue
            if bisect and len(pending[0]) > 1:
                half = len(pending[0]) // 2
                pending[0:1] = [pending[0][:half], pending[0][half:]]
            await asyncio.sleep(min(0.05 * 2 ** min(attempts, 7), 5.0))  # back-off between retries, not a poll
        return position

    async def _on_failure(self, doc, source, shard, records: list[dict], condition: str, attempts: int,
                          function_error: str | None = None) -> None:
        """AWS's OnFailure record. After retries, its responseContext names the last invocation's
        function error (null when the function answered, reporting item failures or not); a record
        too old has none (AWS's records of both)."""
        if not records:
            return
        target = ((doc.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        if not target:
            log.warning("event source mapping %s: %d record(s) discarded (%s)", doc["UUID"], len(records), condition)
            return
        now = time.time()
        body = {
            "requestContext": {"requestId": str(uuid.uuid4()), "functionArn": doc["FunctionArn"],
                               "condition": condition, "approximateInvokeCount": attempts},
            "version": "1.0", "timestamp": _iso(now),
            source.batch_info_key: {
                "shardId": shard, "startSequenceNumber": source.sequence(records[0]),
                "endSequenceNumber": source.sequence(records[-1]),
                "approximateArrivalOfFirstRecord": _iso(source.arrival(records[0]), source.whole_seconds),
                "approximateArrivalOfLastRecord": _iso(source.arrival(records[-1]), source.whole_seconds),
                "batchSize": len(records), "streamArn": doc["EventSourceArn"]},
        }
        if condition != "RecordAgeExceeded":
            body["responseContext"] = {"statusCode": 200, "executedVersion": "$LATEST",
                                       "functionError": "Unhandled" if function_error else None}
        try:
            if target.split(":")[2:3] == ["s3"]:  # the batch itself too, under "payload" (AWS's S3 records)
                _, _, _, region, account, *_ = doc["FunctionArn"].split(":")
                await store_record(self.providers, target, account, region, f"aws/lambda/{doc['UUID']}/{shard}",
                                   orjson.dumps({**body, "payload": {"Records": records}}), when=now)
            else:
                await deliver(self.providers, target, orjson.dumps(body).decode())
        except DeliveryError as e:
            log.warning("event source mapping %s: OnFailure destination %s failed: %s", doc["UUID"], target, e)


class DynamoDbSource:
    """A DynamoDB stream through the DynamoDB provider's in-process streams API."""

    kind = "dynamodb"
    batch_info_key = "DDBStreamBatchInfo"
    whole_seconds = True  # a record's creation time is to the second: AWS's OnFailure record prints no millis

    def __init__(self, streams, arn: str):
        self.streams, self.arn = streams, arn

    def shard_ids(self) -> list[str]:
        return self.streams.shard_ids(self.arn)

    def read(self, shard: str, after: str | None, limit: int = 1000) -> list[dict]:
        return self.streams.read(self.arn, shard, after, limit)

    async def wait(self, shard: str, after: str | None, timeout: float) -> list[dict]:
        return await self.streams.wait_for_records(self.arn, shard, after, timeout)

    def closed(self, shard: str) -> bool:
        return False

    def start_position(self, doc: dict, shard: str) -> str | None:
        if doc.get("StartingPosition") != "LATEST":
            return None
        last = None
        while page := self.read(shard, last):
            last = page[-1]["dynamodb"]["SequenceNumber"]
        return last

    @staticmethod
    def raw_sequence(record: dict) -> str:
        return record["dynamodb"]["SequenceNumber"]

    def event_record(self, record: dict, shard: str, region: str) -> dict:
        record["eventSourceARN"] = self.arn
        return record

    @staticmethod
    def sequence(record: dict) -> str:
        return record["dynamodb"]["SequenceNumber"]

    @staticmethod
    def arrival(record: dict) -> float:
        return float(record["dynamodb"]["ApproximateCreationDateTime"])

    @staticmethod
    def filter_view(record: dict) -> dict:
        return record

    @staticmethod
    def partition_key(record: dict) -> str:
        return orjson.dumps(record["dynamodb"]["Keys"], option=orjson.OPT_SORT_KEYS).decode()


class KinesisSource:
    """A Kinesis stream through the Kinesis provider's in-process API."""

    kind = "kinesis"
    batch_info_key = "KinesisBatchInfo"
    whole_seconds = False

    def __init__(self, kinesis, arn: str):
        self.kinesis, self.arn = kinesis, arn

    def shard_ids(self) -> list[str]:
        return self.kinesis.shard_ids(self.arn)

    def read(self, shard: str, after: str | None, limit: int = 1000) -> list[dict]:
        return self.kinesis.read(self.arn, shard, after, limit)

    async def wait(self, shard: str, after: str | None, timeout: float) -> list[dict]:
        return await self.kinesis.wait_for_records(self.arn, shard, after, timeout)

    def closed(self, shard: str) -> bool:
        return self.kinesis.shard_closed(self.arn, shard)

    def start_position(self, doc: dict, shard: str) -> str | None:
        position = doc.get("StartingPosition")
        if position == "LATEST":
            return self.kinesis.latest_sequence(self.arn, shard)
        if position == "AT_TIMESTAMP":
            return self.kinesis.sequence_before(self.arn, shard, float(doc.get("StartingPositionTimestamp") or 0))
        return None

    @staticmethod
    def raw_sequence(record: dict) -> str:
        return record["SequenceNumber"]

    def event_record(self, record: dict, shard: str, region: str) -> dict:
        return {"kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": record["PartitionKey"],
                            "sequenceNumber": record["SequenceNumber"],
                            "data": base64.b64encode(record["Data"]).decode(),
                            "approximateArrivalTimestamp": record["ApproximateArrivalTimestamp"]},
                "eventSource": "aws:kinesis", "eventVersion": "1.0",
                "eventID": f"{shard}:{record['SequenceNumber']}", "eventName": "aws:kinesis:record",
                "invokeIdentityArn": f"arn:aws:iam::{self.arn.split(':')[4]}:role/lambda-role",
                "awsRegion": region, "eventSourceARN": self.arn}

    @staticmethod
    def sequence(record: dict) -> str:
        return record["kinesis"]["sequenceNumber"]

    @staticmethod
    def arrival(record: dict) -> float:
        return float(record["kinesis"]["approximateArrivalTimestamp"])

    @staticmethod
    def partition_key(record: dict) -> str:
        return record["kinesis"]["partitionKey"]

    @staticmethod
    def filter_view(record: dict) -> dict:
        """Filters see the record with its data decoded: {"data": {...JSON...}, "kinesis": {...}}."""
        data = base64.b64decode(record["kinesis"]["data"])
        try:
            decoded = orjson.loads(data)
        except orjson.JSONDecodeError:
            decoded = data.decode("utf-8", "replace")
        return {**record, "data": decoded}


def _note_result(span, result) -> None:
    if result is not None and result.function_error is not None:
        span.fail(f"{result.function_error}: the function failed")


def _answer_state(payload: bytes) -> dict | None:
    """The `state` a tumbling-window function answered with."""
    try:
        response = orjson.loads(payload) if payload else None
    except orjson.JSONDecodeError:
        return None
    state = response.get("state") if isinstance(response, dict) else None
    return state if isinstance(state, dict) else None


def _item_failures(payload: bytes, key: str = "itemIdentifier") -> set | None:
    """The identifiers a ReportBatchItemFailures response names; None when the response is invalid."""
    if not payload or payload.strip() in (b"null", b""):
        return set()
    try:
        response = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(response, dict) or "batchItemFailures" not in response:
        return set()
    failures = response["batchItemFailures"]
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return None
    out = set()
    for item in failures:
        if not isinstance(item, dict) or not isinstance(item.get(key), str) or not item[key]:
            return None
        out.add(item[key])
    return out
