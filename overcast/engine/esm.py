"""Lambda event-source-mapping pollers: each enabled mapping has its own asyncio tasks in the
engine, woken by the source itself (SQS's long-poll waiters, DynamoDB streams' wait API), so no
mapping waits behind another and nothing sleeps in a polling loop.

SQS: up to ScalingConfig.MaximumConcurrency concurrent pollers (default 5) each receive a batch
(BatchSize, MaximumBatchingWindowInSeconds), invoke the function synchronously, and delete the
messages it handled. A failed batch is left to become visible again after the queue's visibility
timeout; the queue's own redrive policy moves poison messages to its dead-letter queue after
maxReceiveCount. ReportBatchItemFailures keeps only the failed messages. Messages that do not
match FilterCriteria are deleted without invoking the function (as AWS does).

DynamoDB streams: one poller per shard, in order, from a checkpoint stored in the database
(TRIM_HORIZON or LATEST at creation), with batching window, FilterCriteria, MaximumRetryAttempts,
MaximumRecordAgeInSeconds, BisectBatchOnFunctionError, ReportBatchItemFailures and OnFailure
destinations (SQS, SNS).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import uuid
from datetime import UTC, datetime

import orjson

from overcast.aws.errors import AwsError
from overcast.engine.patterns import PatternError, compile_pattern
from overcast.engine.targets import DeliveryError, deliver, internal_ctx

log = logging.getLogger("overcast.esm")

STREAM_IDLE_WAIT = 60.0  # a stream poller re-checks its stream at least this often (it is woken by writes)


def _matchers(doc: dict) -> list:
    out = []
    for item in (doc.get("FilterCriteria") or {}).get("Filters") or []:
        try:
            out.append(compile_pattern(item.get("Pattern") or "{}"))
        except PatternError:
            continue
    return out


def _iso(when: float) -> str:
    moment = datetime.fromtimestamp(when, UTC)
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
        if ":sqs:" in arn:
            workers = (doc.get("ScalingConfig") or {}).get("MaximumConcurrency") or 5
            tasks = [loop.create_task(self._sqs_worker(doc, account, region)) for _ in range(min(workers, 50))]
        else:
            tasks = [loop.create_task(self._stream_poller(doc, account, region))]
        self._tasks[doc["UUID"]] = tasks

    def stop(self, mapping_id: str) -> None:
        for task in self._tasks.pop(mapping_id, []):
            task.cancel()

    def stop_all(self) -> None:
        for mapping_id in list(self._tasks):
            self.stop(mapping_id)

    def _note(self, mapping_id: str, result: str) -> None:
        found = self.store.get(mapping_id)
        if found is not None and found[0].get("LastProcessingResult") != result:
            doc, account, region = found
            doc["LastProcessingResult"] = result
            self.store.put(doc, account, region)

    # -- SQS -------------------------------------------------------------------------------------

    async def _sqs_worker(self, doc: dict, account: str, region: str) -> None:
        try:
            await self._sqs_loop(doc, account, region)
        except asyncio.CancelledError:
            raise
        except Exception:
            if not asyncio.current_task().cancelling():  # (at shutdown the database may be gone first)
                log.exception("SQS event source mapping %s stopped", doc["UUID"])

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
                    result = await lam.invoke_function(account, region, doc["FunctionArn"], payload)
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
        return {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"], "attributes": attributes, "messageAttributes": message_attributes,
                "md5OfBody": message["MD5OfBody"], "eventSource": "aws:sqs", "eventSourceARN": arn,
                "awsRegion": region}

    # -- DynamoDB streams ------------------------------------------------------------------------

    async def _stream_poller(self, doc: dict, account: str, region: str) -> None:
        try:
            ddb = await self.providers.get("dynamodb")
            streams = ddb.streams
            arn = doc["EventSourceArn"]
            shards = streams.shard_ids(arn)
        except AwsError as e:
            self._note(doc["UUID"], f"PROBLEM: {e.message}")
            return
        except asyncio.CancelledError:
            raise
        tasks = [asyncio.get_running_loop().create_task(self._shard(doc, account, region, streams, shard))
                 for shard in shards]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    async def _shard(self, doc: dict, account: str, region: str, streams, shard: str) -> None:
        try:
            await self._shard_loop(doc, account, region, streams, shard)
        except asyncio.CancelledError:
            raise
        except Exception:
            if not asyncio.current_task().cancelling():
                log.exception("stream event source mapping %s stopped", doc["UUID"])

    def _initial_position(self, doc: dict, streams, arn: str, shard: str) -> str | None:
        if doc.get("StartingPosition") != "LATEST":
            return None
        last = None
        while True:
            page = streams.read(arn, shard, last, 1000)
            if not page:
                return last
            last = page[-1]["dynamodb"]["SequenceNumber"]

    async def _shard_loop(self, doc: dict, account: str, region: str, streams, shard: str) -> None:
        lam = await self.providers.get("lambda")
        arn = doc["EventSourceArn"]
        mapping_id = doc["UUID"]
        known, position = self.store.checkpoint(mapping_id, shard)
        if not known:
            position = self._initial_position(doc, streams, arn, shard)
            self.store.save_checkpoint(mapping_id, shard, position)
        batch_size = doc["BatchSize"]
        window = doc.get("MaximumBatchingWindowInSeconds") or 0
        loop = asyncio.get_running_loop()
        current = asyncio.current_task()
        while not current.cancelling():
            try:
                records = await streams.wait_for_records(arn, shard, position, STREAM_IDLE_WAIT)
            except AwsError as e:
                self._note(mapping_id, f"PROBLEM: {e.message}")
                return
            if not records:
                continue
            if window and len(records) < batch_size:
                deadline = loop.time() + window
                while len(records) < batch_size and (remaining := deadline - loop.time()) > 0:
                    more = await streams.wait_for_records(arn, shard, records[-1]["dynamodb"]["SequenceNumber"],
                                                          remaining)
                    if not more:
                        break
                    records += more
            batch = records[:batch_size]
            for record in batch:
                record["eventSourceARN"] = arn
            position = await self._process(doc, account, region, lam, shard, batch, position)
            self.store.save_checkpoint(mapping_id, shard, position)

    async def _process(self, doc, account, region, lam, shard, batch: list[dict], position) -> str | None:
        """Deliver one batch with retries, bisection and partial failures; returns the new
        checkpoint (the sequence number of the last record dealt with)."""
        matchers = _matchers(doc)
        max_retries = doc.get("MaximumRetryAttempts", -1)
        max_age = doc.get("MaximumRecordAgeInSeconds", -1)
        bisect = doc.get("BisectBatchOnFunctionError")
        report_failures = "ReportBatchItemFailures" in (doc.get("FunctionResponseTypes") or [])
        pending = [batch]
        attempts = 0
        while pending:
            original = pending[0]
            if not original:
                pending.pop(0)
                continue
            end = original[-1]["dynamodb"]["SequenceNumber"]
            chunk = original
            if max_age != -1:
                now = time.time()
                fresh = [r for r in chunk if now - float(r["dynamodb"]["ApproximateCreationDateTime"]) <= max_age]
                if len(fresh) < len(chunk):
                    await self._on_failure(doc, shard, [r for r in chunk if r not in fresh], "RecordAgeExceeded",
                                           attempts)
                    chunk = pending[0] = fresh
            if matchers:
                chunk = [r for r in chunk if any(m.matches(r) for m in matchers)]
            if not chunk:  # nothing left to send: the records are dealt with
                pending.pop(0)
                position, attempts = end, 0
                continue
            try:
                result = await lam.invoke_function(account, region, doc["FunctionArn"], orjson.dumps({"Records": chunk}))
                error, payload = result.function_error, result.payload
            except AwsError as e:
                error, payload = e.code, b""
            if error is None:
                failed = _item_failures(payload) if report_failures else set()
                if failed is None:
                    failed = {chunk[0]["dynamodb"]["SequenceNumber"]}
                if not failed:
                    pending.pop(0)
                    position, attempts = end, 0
                    self._note(doc["UUID"], "OK")
                    continue
                # a partial failure: checkpoint before the lowest failed record, retry from it
                lowest = min(int(s) for s in failed if s.isdigit()) if any(s.isdigit() for s in failed) else 0
                rest = [r for r in pending[0] if int(r["dynamodb"]["SequenceNumber"]) >= lowest]
                done = [r for r in pending[0] if int(r["dynamodb"]["SequenceNumber"]) < lowest]
                if done:
                    position = done[-1]["dynamodb"]["SequenceNumber"]
                pending[0] = rest
            self._note(doc["UUID"], "PROBLEM: Function call failed")
            attempts += 1
            if max_retries != -1 and attempts > max_retries:
                await self._on_failure(doc, shard, pending[0], "RetryAttemptsExhausted", attempts)
                pending.pop(0)
                position, attempts = end, 0
                continue
            if bisect and len(pending[0]) > 1:
                half = len(pending[0]) // 2
                pending[0:1] = [pending[0][:half], pending[0][half:]]
            await asyncio.sleep(min(0.05 * 2 ** min(attempts, 7), 5.0))  # back-off between retries, not a poll
        return position

    async def _on_failure(self, doc, shard, records: list[dict], condition: str, attempts: int) -> None:
        if not records:
            return
        target = ((doc.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        if not target:
            log.warning("event source mapping %s: %d record(s) discarded (%s)", doc["UUID"], len(records), condition)
            return
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
        body = {
            "requestContext": {"requestId": str(uuid.uuid4()), "functionArn": doc["FunctionArn"],
                               "condition": condition, "approximateInvokeCount": attempts},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0", "timestamp": _iso(time.time()),
            "DDBStreamBatchInfo": {
                "shardId": shard, "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(float(first["ApproximateCreationDateTime"])),
                "approximateArrivalOfLastRecord": _iso(float(last["ApproximateCreationDateTime"])),
                "batchSize": len(records), "streamArn": doc["EventSourceArn"]},
        }
        try:
            await deliver(self.providers, target, orjson.dumps(body).decode())
        except DeliveryError as e:
            log.warning("event source mapping %s: OnFailure destination %s failed: %s", doc["UUID"], target, e)


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
