"""DynamoDB Streams: records written with each table write, read by the Streams API and by
in-process consumers (the Lambda event-source-mapping poller) without HTTP.

Each stream has one shard. A record's sequence number is its row id in `ddb_stream_records`
offset by 10**20, so sequence numbers are 21-digit decimal strings increasing in commit order.
Records are kept 24 hours; a disabled stream stays readable for 24 hours.

In-process API (on the DynamoDB provider's `streams` attribute):

    shard_ids = streams.shard_ids(stream_arn)
    records = streams.read(stream_arn, shard_id, after_sequence, limit)
    records = await streams.wait_for_records(stream_arn, shard_id, after_sequence, timeout)

`after_sequence` is a sequence number string (records after it are returned) or None for the
oldest record. Records are the dicts GetRecords returns.
"""

from __future__ import annotations

import base64
import binascii
import time

import orjson

from overcast.aws.errors import AwsError
from overcast.engine.waiters import Waiters
from overcast.services.dynamodb.store import DynamoDbStore
from overcast.services.dynamodb.values import item_from_json

RETENTION = 24 * 3600
ITERATOR_LIFETIME = 15 * 60
SEQ_BASE = 10**20


def seq_text(seq: int) -> str:
    return str(SEQ_BASE + seq)


def seq_number(text: str) -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise AwsError("ValidationException", f"Invalid SequenceNumber: {text}") from None
    return value - SEQ_BASE


def _not_found(what: str = "Requested resource not found") -> AwsError:
    return AwsError("ResourceNotFoundException", what, 400)


class StreamsHub:
    def __init__(self, store: DynamoDbStore, channel=None):
        self.store = store
        self.waiters = Waiters(channel)
        self._purged = 0.0

    # -- writes (called by the DynamoDB provider inside its write transaction) ----------------

    def notify(self, stream_arn: str) -> None:
        self.waiters.notify(stream_arn)

    # -- reads -------------------------------------------------------------------------------

    def _stream(self, arn: str) -> tuple:
        row = self.store.get_stream(arn) if isinstance(arn, str) else None
        if row is None or (row[10] is not None and row[10] < time.time() - RETENTION):
            raise _not_found(f"Requested resource not found: Stream: {arn} not found")
        return row

    def _purge(self) -> None:
        now = time.time()
        if now - self._purged > 60:
            self._purged = now
            self.store.purge_records(now - RETENTION)

    def read(self, stream_arn: str, shard_id: str, after_sequence: str | None, limit: int = 1000) -> list[dict]:
        """Records as a function's event carries them (binaries as base64 text, as GetRecords
        answers them on the wire), each with the trace header of the write that made it under
        "_trace" (when traced), for in-process consumers to pop."""
        stream = self._stream(stream_arn)
        if shard_id != stream[8]:
            raise _not_found(f"Requested resource not found: Shard does not exist: {shard_id}")
        after = seq_number(after_sequence) if after_sequence else 0
        return self._records(stream, after, limit, in_process=True)

    def shard_ids(self, stream_arn: str) -> list[str]:
        """The stream's shards (one per stream in overcast), oldest first."""
        return [self._stream(stream_arn)[8]]

    async def wait_for_records(self, stream_arn: str, shard_id: str, after_sequence: str | None,
                               timeout: float) -> list[dict]:
        """Records after `after_sequence`; when there are none yet, wait up to `timeout` seconds
        for a write to the stream's table."""
        deadline = time.monotonic() + timeout
        while True:
            records = self.read(stream_arn, shard_id, after_sequence)
            remaining = deadline - time.monotonic()
            if records or remaining <= 0:
                return records
            await self.waiters.wait(stream_arn, remaining)

    def _records(self, stream: tuple, after: int, limit: int, in_process: bool = False) -> list[dict]:
        self._purge()
        rows = self.store.records_after(stream[0], after, time.time() - RETENTION, limit)
        return [self._record(seq, blob, stream[7], in_process) for seq, blob in rows]

    @staticmethod
    def _record(seq: int, blob: bytes, view_type: str, in_process: bool = False) -> dict:
        """A stored record (its images JSON-safe, binaries as base64 text): for GetRecords with
        binaries as bytes (the protocol layer encodes them), for in-process readers as stored."""
        raw = orjson.loads(blob)
        images = (lambda item: item) if in_process else item_from_json
        dynamodb = {
            "ApproximateCreationDateTime": float(raw["t"]),  # (a number with a fraction in events, as AWS's)
            "Keys": images(raw["k"]),
            "SequenceNumber": seq_text(seq),
            "SizeBytes": raw["z"],
            "StreamViewType": view_type,
        }
        if "n" in raw:
            dynamodb["NewImage"] = images(raw["n"])
        if "o" in raw:
            dynamodb["OldImage"] = images(raw["o"])
        record = {
            "eventID": raw["id"],
            "eventName": raw["e"],
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": raw["r"],
            "dynamodb": dynamodb,
        }
        if raw.get("u"):
            record["userIdentity"] = {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}
        if in_process and "x" in raw:
            record["_trace"] = raw["x"]
        return record

    # -- the Streams API ---------------------------------------------------------------------

    def list_streams(self, account: str, region: str, params: dict) -> dict:
        rows = self.store.list_streams(account, region, params.get("TableName"), time.time() - RETENTION)
        start = params.get("ExclusiveStartStreamArn")
        if start:
            arns = [r[0] for r in rows]
            rows = rows[arns.index(start) + 1:] if start in arns else []
        limit = params.get("Limit") or 100
        page = rows[:limit]
        out = {"Streams": [{"StreamArn": arn, "TableName": table, "StreamLabel": label} for arn, table, label in page]}
        if len(rows) > limit:
            out["LastEvaluatedStreamArn"] = page[-1][0]
        return out

    def describe_stream(self, account: str, region: str, params: dict) -> dict:
        stream = self._stream(params["StreamArn"])
        self._check_scope(stream, account, region)
        _id, _account, _region, table_name, _table_id, arn, label, view_type, shard_id, created, disabled = stream
        first, _last = self.store.stream_bounds(stream[0], time.time() - RETENTION)
        shard = {"ShardId": shard_id, "SequenceNumberRange": {"StartingSequenceNumber": seq_text(first or 1)}}
        if disabled is not None:
            last = self.store.stream_bounds(stream[0], 0)[1]
            shard["SequenceNumberRange"]["EndingSequenceNumber"] = seq_text(last or 1)
        return {
            "StreamDescription": {
                "StreamArn": arn,
                "StreamLabel": label,
                "StreamStatus": "DISABLED" if disabled is not None else "ENABLED",
                "StreamViewType": view_type,
                "CreationRequestDateTime": created,
                "TableName": table_name,
                "KeySchema": self._key_schema(stream),
                # shards after ExclusiveStartShardId, in id order (a stream has one shard here)
                "Shards": [shard] if shard_id > (params.get("ExclusiveStartShardId") or "") else [],
            }
        }

    _key_schema_lookup = None  # set by the provider: stream row -> the table's KeySchema

    def _key_schema(self, stream: tuple) -> list:
        return self._key_schema_lookup(stream) if self._key_schema_lookup else []

    @staticmethod
    def _check_scope(stream: tuple, account: str, region: str) -> None:
        if stream[1] != account or stream[2] != region:
            raise _not_found(f"Requested resource not found: Stream: {stream[5]} not found")

    def get_shard_iterator(self, account: str, region: str, params: dict) -> dict:
        stream = self._stream(params["StreamArn"])
        self._check_scope(stream, account, region)
        shard_id = params["ShardId"]
        if shard_id != stream[8]:
            raise _not_found(f"Requested resource not found: Shard does not exist: {shard_id}")
        kind = params["ShardIteratorType"]
        number = params.get("SequenceNumber")
        if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            if not number:
                raise AwsError("ValidationException", "Sequence number must be specified for AT_SEQUENCE_NUMBER or "
                               "AFTER_SEQUENCE_NUMBER iterator types")
            seq = seq_number(number)
            after = seq - 1 if kind == "AT_SEQUENCE_NUMBER" else seq
        elif kind == "TRIM_HORIZON":
            after = 0
        else:  # LATEST
            after = self.store.stream_bounds(stream[0], 0)[1] or self.store.last_seq()
        return {"ShardIterator": self._iterator(stream[5], shard_id, after)}

    @staticmethod
    def _iterator(arn: str, shard_id: str, after: int) -> str:
        """`<stream ARN>|1|<opaque>`, the form AWS's iterators take."""
        payload = orjson.dumps([shard_id, after, int(time.time())])
        return f"{arn}|1|{base64.urlsafe_b64encode(payload).decode()}"

    def get_records(self, account: str, region: str, params: dict) -> dict:
        text = params["ShardIterator"]
        try:
            arn, version, opaque = text.split("|", 2)
            if version != "1":
                raise ValueError(version)
            shard_id, after, issued = orjson.loads(base64.urlsafe_b64decode(opaque.encode()))
        except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
            raise AwsError("ValidationException", "Invalid ShardIterator") from None
        if time.time() - issued > ITERATOR_LIFETIME:
            raise AwsError("ExpiredIteratorException", "Iterator expired. The iterator was created at time "
                           f"{time.strftime('%a %b %d %H:%M:%S UTC %Y', time.gmtime(issued))} while right now it is "
                           f"{time.strftime('%a %b %d %H:%M:%S UTC %Y', time.gmtime())} which is further in the future "
                           "than the tolerated delay of 900000 milliseconds.")
        stream = self._stream(arn)
        self._check_scope(stream, account, region)
        limit = params.get("Limit") or 1000
        records = self._records(stream, after, limit)
        last = seq_number(records[-1]["dynamodb"]["SequenceNumber"]) if records else after
        out: dict = {"Records": records}
        if stream[10] is None or records:
            out["NextShardIterator"] = self._iterator(arn, shard_id, last)
        return out
