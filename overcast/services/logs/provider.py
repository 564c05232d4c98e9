"""CloudWatch Logs (awsJson 1.1): log groups, streams, events, retention and tags — enough for
Lambda's logs and for `aws logs` / SDK readers. Also the internal `append` API Lambda writes with."""

from __future__ import annotations

import asyncio
import base64
import gzip
import inspect
import logging
import math
import re
import time
import uuid

import orjson

from overcast.aws import policy as iam_policy
from overcast.aws import tags as reserved_tags
from overcast.aws.errors import AwsError, not_implemented
from overcast.services import SERVICES
from overcast.services.base import Provider
from overcast.services.logs import insights
from overcast.services.logs.patterns import compile_pattern, select
from overcast.services.logs.store import LogsStore

log = logging.getLogger(__name__)

MAX_SUBSCRIPTION_FILTERS = 2  # per log group, AWS's quota
MAX_METRIC_FILTERS = 100  # per log group, AWS's quota
DELIVERY_ATTEMPTS = 3  # a destination that fails with a server error is retried, then the batch is dropped
_DESTINATIONS = {"lambda", "kinesis", "firehose"}
RETENTION_DAYS = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
MAX_BATCH_BYTES = 1_048_576
MAX_RESOURCE_POLICIES = 10  # per account and region, AWS's quota
MAX_POLICY_CHARS = 5120
QUERY_LIMIT = 10_000  # Logs Insights rows a query returns without `limit` (GetQueryResults' page)
QUERY_KEPT_MS = 7 * 86_400_000  # how long a query's results are kept (AWS: 7 days)
# PutDeliveryDestination's formats, in the order AWS's validation message lists them
OUTPUT_FORMATS = ("w3c", "raw", "json", "plain", "parquet")
# the services AWS documents as delivery sources (PutDeliverySource's logType list); overcast has none
VENDING_SERVICES = {"bedrock", "cloudfront", "codewhisperer", "mediapackage", "mediatailor", "entityresolution",
                    "sso", "pcs", "q", "qbusiness", "ses", "workmail", "ec2"}


def _now_ms() -> int:
    return int(time.time() * 1000)


def _group_missing() -> AwsError:
    return AwsError("ResourceNotFoundException", "The specified log group does not exist.")


def _stream_missing() -> AwsError:
    return AwsError("ResourceNotFoundException", "The specified log stream does not exist.")


def _token(value) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode()


def _offset(params: dict) -> int:
    """The list position a nextToken of ours holds (0 without one)."""
    if not params.get("nextToken"):
        return 0
    offset = _untoken(params["nextToken"])
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise AwsError("InvalidParameterException", "The specified nextToken is invalid.")
    return offset


def _untoken(text: str):
    try:
        return orjson.loads(base64.urlsafe_b64decode(text.encode()))
    except Exception:
        raise AwsError("InvalidParameterException", "The specified nextToken is invalid.") from None


class LogsProvider(Provider):
    service = "logs"

    def __init__(self, providers):
        super().__init__(providers)
        self.store = LogsStore(self.db)
        self._retention: dict[tuple, int | None] = {}  # (account, region, group) -> days, cached
        # a retention change drops the group's entry on every node (storage/coordination.Cluster.cache)
        self._forget_retention = providers.coordination.cache("logs-retention", self._drop_retention,
                                                              self._retention.clear)
        self._expired_at: dict[tuple, float] = {}  # when a group's old events were last deleted
        self._patterns: dict[str, object] = {}  # filter pattern -> compiled predicate
        self._tasks: set[asyncio.Task] = set()
        self._cloudwatch = None  # CloudWatch's provider, once a metric filter needs it
        # Lambda's log lines not yet written (append_soon): (account, region, group, stream, events)
        self._pending: list[tuple] = []

    async def start(self) -> None:
        if self.store.has_metric_filters():  # their data points go to CloudWatch as events arrive
            await self._load_cloudwatch()
        for delivery_id in self.store.pending_deliveries():  # committed before a crash or a stop
            self._start_delivery(delivery_id)

    async def stop(self) -> None:
        self.flush()  # what an invocation wrote is kept across a stop
        for task in list(self._tasks):
            task.cancel()

    def reset(self) -> None:
        self._pending.clear()
        self._retention.clear()
        self._expired_at.clear()

    # -- retention -----------------------------------------------------------------------------

    def _drop_retention(self, key: tuple) -> None:
        self._retention.pop(key, None)

    def _retention_days(self, account, region, group) -> int | None:
        key = (account, region, group)
        if key not in self._retention:
            row = self.store.get_group(account, region, group)
            self._retention[key] = row[2] if row else None
        return self._retention[key]

    def _cutoff(self, account, region, group) -> int | None:
        """Events before this timestamp have expired (None: kept forever). Expired events are
        hidden from reads at once and deleted at most once a minute per group, when it is written."""
        days = self._retention_days(account, region, group)
        return None if not days else _now_ms() - days * 86_400_000

    def _expire(self, account, region, group) -> None:
        cutoff = self._cutoff(account, region, group)
        key = (account, region, group)
        if cutoff is not None and time.time() - self._expired_at.get(key, 0) > 60:
            self._expired_at[key] = time.time()
            self.store.expire(account, region, group, cutoff)

    # -- internal API (Lambda, Step Functions) -------------------------------------------------

    def group_exists(self, account: str, region: str, group: str) -> bool:
        return self.store.get_group(account, region, group) is not None

    def append(self, account: str, region: str, group: str, stream: str, events: list[tuple[int, str]]) -> None:
        """Write events, creating the group and stream as Lambda does."""
        now = _now_ms()
        with self.store.transaction():
            if self.store.get_stream(account, region, group, stream) is None:
                self.store.create_group(account, region, group, now, None, "{}")
                self.store.create_stream(account, region, group, stream, now)
            deliveries = self._ingest(account, region, group, stream, events, now)
        self._after_ingest(account, region, group, deliveries)

    def append_soon(self, account: str, region: str, group: str, stream: str, events: list[tuple[int, str]],
                    prepare=None) -> None:
        """`append`, done right after the caller's answer has been sent rather than before it (as
        on AWS, a function's logs are delivered asynchronously). Written by a callback queued on
        the event loop now, which runs before the loop reads any further request: a client (or
        another caller) that asks for the lines after the invocation's answer finds them. Several
        invocations' lines that finish together go in one transaction. `prepare()`, if given, is
        called first, then: it may still add to `events` (Lambda's REPORT line)."""
        if not self._pending:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # no loop (a script using the provider directly): at once
                self._pending.append((account, region, group, stream, events, prepare))
                self.flush()
                return
        self._pending.append((account, region, group, stream, events, prepare))

    def flush(self) -> None:
        """Write the lines append_soon queued, in the order they were queued."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        for *_, prepare in pending:
            if prepare is not None:
                try:
                    prepare()
                except Exception:
                    log.exception("completing a Lambda invocation's log lines")
        after = []
        try:
            now = _now_ms()
            with self.store.transaction():
                known = set()
                for account, region, group, stream, events, _ in pending:
                    if (account, region, group, stream) not in known:
                        known.add((account, region, group, stream))
                        if self.store.get_stream(account, region, group, stream) is None:
                            self.store.create_group(account, region, group, now, None, "{}")
                            self.store.create_stream(account, region, group, stream, now)
                    after.append((account, region, group, self._ingest(account, region, group, stream, events, now)))
        except Exception:
            log.exception("writing %d Lambda invocations' logs", len(pending))
            return
        for account, region, group, deliveries in after:
            self._after_ingest(account, region, group, deliveries)

    def _ingest(self, account, region, group, stream, events: list[tuple[int, str]], now: int) -> list[int]:
        """Store events and, in the same transaction (the caller's), one delivery per subscription
        filter that matches some of them: so what PutLogEvents acknowledged reaches the
        destinations even if the server dies right after. Returns the deliveries' ids."""
        self.store.add_events(account, region, group, stream, events, now)
        if not events:
            return []
        deliveries = []
        for name, pattern, destination, _role, distribution, _created in self.store.subscriptions(account, region, group):
            match = self._pattern(pattern)
            matched = [{"id": f"{ts:017d}{uuid.uuid4().int % 10**39:039d}", "timestamp": ts, "message": message}
                       for ts, message in events if match(message)]
            if not matched:
                continue
            message = orjson.dumps({"messageType": "DATA_MESSAGE", "owner": account, "logGroup": group,
                                    "logStream": stream, "subscriptionFilters": [name], "logEvents": matched})
            key = str(uuid.uuid4()) if distribution == "Random" else stream
            deliveries.append(self.store.add_delivery(destination, key, gzip.compress(message)))
        self._emit_metrics(account, region, group, events)
        return deliveries

    def _after_ingest(self, account, region, group, deliveries: list[int]) -> None:
        self._expire(account, region, group)
        for delivery_id in deliveries:
            self._start_delivery(delivery_id)

    def _pattern(self, pattern: str):
        match = self._patterns.get(pattern)
        if match is None:
            if len(self._patterns) > 1000:
                self._patterns.clear()
            match = self._patterns[pattern] = compile_pattern(pattern)
        return match

    # -- subscription deliveries ---------------------------------------------------------------

    def _start_delivery(self, delivery_id: int) -> None:
        try:
            task = asyncio.get_running_loop().create_task(self._deliver(delivery_id))
        except RuntimeError:
            return  # no loop running: delivered when the provider next starts
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, delivery_id: int) -> None:
        """Hand one batch to its destination through that service's provider: a Lambda function
        invoked asynchronously with {"awslogs": {"data": base64(gzip(json))}}, a Kinesis or
        Firehose record whose data is the gzip itself, as AWS sends them."""
        from overcast.engine.targets import DeliveryError, Sender, deliver

        row = self.store.delivery(delivery_id)
        if row is None:
            return
        destination, key, payload, attempts = row
        parts = destination.split(":")
        sender = Sender("logs.amazonaws.com", f"arn:aws:logs:{parts[3]}:{parts[4]}:log-group:*", parts[4])
        if parts[2] == "logs":  # a destination (PutDestination): its stream, written as its account's role
            found = self.store.destination(parts[4], parts[3], destination.split(":destination:", 1)[-1])
            if found is None:
                log.warning("CloudWatch Logs subscription delivery to %s dropped: the destination is gone", destination)
                self.store.delete_delivery(delivery_id)
                return
            sender = Sender("logs.amazonaws.com", destination, parts[4])
            destination = found[1]
            parts = destination.split(":")
        if parts[2] == "lambda":
            body: str | bytes = orjson.dumps({"awslogs": {"data": base64.b64encode(payload).decode()}}).decode()
        else:
            body = payload
        try:
            await deliver(self.providers, destination, body, partition_key=key, sender=sender)
        except DeliveryError as e:
            if not e.client and attempts + 1 < DELIVERY_ATTEMPTS:
                self.store.retry_delivery(delivery_id, attempts + 1)
                await asyncio.sleep(attempts + 1)
                self._start_delivery(delivery_id)
                return
            log.warning("CloudWatch Logs subscription delivery to %s dropped: %s", destination, e)
        self.store.delete_delivery(delivery_id)

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _group_name(ctx, params) -> str:
        name = params.get("logGroupName")
        ident = params.get("logGroupIdentifier")
        if name and ident:
            raise AwsError("ValidationException", "LogGroup name and LogGroup ARN are mutually exclusive parameters.")
        if ident:
            if ident.startswith("arn:"):
                _refuse_other_account(ctx, ident)
                name = ident.split(":log-group:", 1)[-1]
                if name.endswith(":*"):
                    name = name[:-2]
            else:
                name = ident
        if not name:
            raise AwsError("InvalidParameterException", "Either the logGroupName or the logGroupIdentifier must be specified.")
        return name

    def _arn(self, ctx, name: str) -> str:
        return f"arn:aws:logs:{ctx.region}:{ctx.account}:log-group:{name}"

    def _group(self, ctx, name):
        row = self.store.get_group(ctx.account, ctx.region, name)
        if row is None:
            raise _group_missing()
        return row

    def _group_out(self, ctx, row) -> dict:
        name, created, retention, kms, _tags, log_class = row
        out = {"logGroupName": name, "creationTime": created,
               "metricFilterCount": self.store.metric_filter_count(ctx.account, ctx.region, name),
               "arn": self._arn(ctx, name) + ":*", "logGroupArn": self._arn(ctx, name),
               "storedBytes": self.store.group_bytes(ctx.account, ctx.region, name), "logGroupClass": log_class}
        if retention:
            out["retentionInDays"] = retention
        if kms:
            out["kmsKeyId"] = kms
        return out

    # -- log groups ----------------------------------------------------------------------------

    def create_log_group(self, ctx, params):
        name = params["logGroupName"]
        tags = params.get("tags") or {}
        if not self.store.create_group(ctx.account, ctx.region, name, _now_ms(), params.get("kmsKeyId"),
                                       orjson.dumps(tags).decode(), params.get("logGroupClass") or "STANDARD"):
            raise AwsError("ResourceAlreadyExistsException", "The specified log group already exists")
        return {}

    def delete_log_group(self, ctx, params):
        if not self.store.delete_group(ctx.account, ctx.region, params["logGroupName"]):
            raise _group_missing()
        self._forget_retention((ctx.account, ctx.region, params["logGroupName"]))
        return {}

    def describe_log_groups(self, ctx, params):
        prefix = params.get("logGroupNamePrefix") or ""
        pattern = params.get("logGroupNamePattern")
        if prefix and pattern:
            raise AwsError("InvalidParameterException",
                           "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
        limit = params.get("limit") or 50
        after = _untoken(params["nextToken"]) if params.get("nextToken") else ""
        wanted_class = params.get("logGroupClass")
        filtered = bool(pattern or wanted_class)
        rows = self.store.list_groups(ctx.account, ctx.region, prefix, after, 10_000 if filtered else limit + 1)
        if filtered:  # the pattern is a case-sensitive substring, as AWS documents it
            rows = [r for r in rows if (not pattern or pattern in r[0]) and wanted_class in (None, r[5])]
            rows = rows[:limit + 1]
        out = {"logGroups": [self._group_out(ctx, r) for r in rows[:limit]]}
        if len(rows) > limit:
            out["nextToken"] = _token(rows[limit - 1][0])
        return out

    def list_log_groups(self, ctx, params):
        """Log groups whose names match a regular expression (case-sensitive, `^` anchors a
        prefix, `|` separates up to five alternatives), in name order."""
        pattern = params.get("logGroupNamePattern")
        try:
            regex = re.compile(pattern) if pattern else None
        except re.error:
            raise AwsError("InvalidParameterException", f"Invalid logGroupNamePattern: {pattern}") from None
        wanted_class = params.get("logGroupClass")
        limit = params.get("limit") or 50
        after = _untoken(params["nextToken"]) if params.get("nextToken") else ""
        groups, last = [], after
        while len(groups) <= limit:
            rows = self.store.list_groups(ctx.account, ctx.region, "", last, 1000)
            for row in rows:
                if (regex is None or regex.search(row[0])) and wanted_class in (None, row[5]):
                    groups.append((row[0], row[5]))
            if len(rows) < 1000:
                break
            last = rows[-1][0]
        out = {"logGroups": [{"logGroupName": name, "logGroupArn": self._arn(ctx, name), "logGroupClass": log_class}
                             for name, log_class in groups[:limit]]}
        if len(groups) > limit:
            out["nextToken"] = _token(groups[limit - 1][0])
        return out

    def put_retention_policy(self, ctx, params):
        days = params["retentionInDays"]
        if days not in RETENTION_DAYS:
            raise AwsError("InvalidParameterException",
                           f"1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy constraint: "
                           f"Member must satisfy enum value set: {sorted(RETENTION_DAYS)}")
        self._group(ctx, params["logGroupName"])
        self.store.set_retention(ctx.account, ctx.region, params["logGroupName"], days)
        self._forget_retention((ctx.account, ctx.region, params["logGroupName"]))
        self._expired_at.pop((ctx.account, ctx.region, params["logGroupName"]), None)
        self._expire(ctx.account, ctx.region, params["logGroupName"])
        return {}

    def delete_retention_policy(self, ctx, params):
        self._group(ctx, params["logGroupName"])
        self.store.set_retention(ctx.account, ctx.region, params["logGroupName"], None)
        self._forget_retention((ctx.account, ctx.region, params["logGroupName"]))
        return {}

    # -- tags ----------------------------------------------------------------------------------

    def _tags(self, ctx, name) -> dict:
        return orjson.loads(self._group(ctx, name)[4])

    def tag_log_group(self, ctx, params):
        if bad := reserved_tags.refused(ctx, params.get("tags") or {}):
            raise AwsError("InvalidParameterException", f"Tag keys beginning with aws: are reserved for AWS use and cannot be added, changed or removed: {', '.join(bad)}")
        tags = self._tags(ctx, params["logGroupName"])
        tags.update(params.get("tags") or {})
        self.store.set_tags(ctx.account, ctx.region, params["logGroupName"], orjson.dumps(tags).decode())
        return {}

    def untag_log_group(self, ctx, params):
        if bad := reserved_tags.refused(ctx, params.get("tags") or []):
            raise AwsError("InvalidParameterException", f"Tag keys beginning with aws: are reserved for AWS use and cannot be added, changed or removed: {', '.join(bad)}")
        tags = self._tags(ctx, params["logGroupName"])
        for key in params.get("tags") or []:
            tags.pop(key, None)
        self.store.set_tags(ctx.account, ctx.region, params["logGroupName"], orjson.dumps(tags).decode())
        return {}

    def list_tags_log_group(self, ctx, params):
        return {"tags": self._tags(ctx, params["logGroupName"])}

    def _arn_group(self, ctx, arn: str) -> str:
        if ":log-group:" not in arn:
            raise AwsError("InvalidParameterException", f"Invalid resource ARN: {arn}")
        _refuse_other_account(ctx, arn)
        name = arn.split(":log-group:", 1)[1]
        return name[:-2] if name.endswith(":*") else name

    def _arn_destination(self, ctx, arn: str) -> str | None:
        """The name of this account's destination an ARN names ("delivery-destination:<name>" for a
        vended-log delivery destination); None for any other ARN."""
        if ":delivery-destination:" in arn:
            _refuse_other_account(ctx, arn)
            return "delivery-destination:" + arn.split(":delivery-destination:", 1)[1]
        if ":destination:" not in arn:
            return None
        _refuse_other_account(ctx, arn)
        name = arn.split(":destination:", 1)[1]
        if self.store.destination(ctx.account, ctx.region, name) is None:
            raise _destination_missing()
        return name

    def _destination_tags(self, ctx, name: str, change) -> dict:
        if name.startswith("delivery-destination:"):  # a vended-log delivery destination
            name = name.split(":", 1)[1]
            tags = orjson.loads(self._delivery_destination(ctx, name)[5])
            if change is not None:
                change(tags)
                self.store.set_delivery_destination(ctx.account, ctx.region, name, "tags", orjson.dumps(tags).decode())
            return tags
        tags = orjson.loads(self.store.destination(ctx.account, ctx.region, name)[4])
        if change is not None:
            change(tags)
            self.store.set_destination(ctx.account, ctx.region, name, "tags", orjson.dumps(tags).decode())
        return tags

    def tag_resource(self, ctx, params):
        destination = self._arn_destination(ctx, params["resourceArn"])
        if destination is not None:
            self._destination_tags(ctx, destination, lambda tags: tags.update(params.get("tags") or {}))
            return {}
        return self.tag_log_group(ctx, {"logGroupName": self._arn_group(ctx, params["resourceArn"]), "tags": params.get("tags")})

    def untag_resource(self, ctx, params):
        destination = self._arn_destination(ctx, params["resourceArn"])
        if destination is not None:
            self._destination_tags(ctx, destination, lambda tags: [tags.pop(k, None) for k in params.get("tagKeys") or []])
            return {}
        return self.untag_log_group(ctx, {"logGroupName": self._arn_group(ctx, params["resourceArn"]),
                                          "tags": params.get("tagKeys")})

    def list_tags_for_resource(self, ctx, params):
        destination = self._arn_destination(ctx, params["resourceArn"])
        if destination is not None:
            return {"tags": self._destination_tags(ctx, destination, None)}
        return {"tags": self._tags(ctx, self._arn_group(ctx, params["resourceArn"]))}

    def tagged_resources(self, ctx) -> list[tuple[str, dict]]:
        """(ARN, tags) of this account's log groups in the request's region that have tags: what the
        Resource Groups Tagging API lists (services/resourcegroupstaggingapi)."""
        return [(self._arn(ctx, name), orjson.loads(tags)) for name, tags in self.store.tagged(ctx.account, ctx.region)]

    # -- log streams ---------------------------------------------------------------------------

    def create_log_stream(self, ctx, params):
        group = params["logGroupName"]
        self._group(ctx, group)
        if not self.store.create_stream(ctx.account, ctx.region, group, params["logStreamName"], _now_ms()):
            raise AwsError("ResourceAlreadyExistsException", "The specified log stream already exists")
        return {}

    def delete_log_stream(self, ctx, params):
        self._group(ctx, params["logGroupName"])
        if not self.store.delete_stream(ctx.account, ctx.region, params["logGroupName"], params["logStreamName"]):
            raise _stream_missing()
        return {}

    def describe_log_streams(self, ctx, params):
        group = self._group_name(ctx, params)
        self._group(ctx, group)
        prefix = params.get("logStreamNamePrefix") or ""
        by_time = params.get("orderBy") == "LastEventTime"
        if by_time and prefix:
            raise AwsError("InvalidParameterException",
                           "Cannot order by LastEventTime with a logStreamNamePrefix.")
        limit = params.get("limit") or 50
        offset = _untoken(params["nextToken"]) if params.get("nextToken") else 0
        rows = self.store.list_streams(ctx.account, ctx.region, group, prefix, by_time, bool(params.get("descending")),
                                       int(offset), limit + 1)
        streams = []
        for name, created, first, last, ingest, size in rows[:limit]:
            item = {"logStreamName": name, "creationTime": created, "storedBytes": size,
                    "arn": f"{self._arn(ctx, group)}:log-stream:{name}"}
            if first is not None:
                item.update(firstEventTimestamp=first, lastEventTimestamp=last, lastIngestionTime=ingest)
            streams.append(item)
        out = {"logStreams": streams}
        if len(rows) > limit:
            out["nextToken"] = _token(int(offset) + limit)
        return out

    # -- events --------------------------------------------------------------------------------

    def put_log_events(self, ctx, params):
        group, stream = params["logGroupName"], params["logStreamName"]
        self._group(ctx, group)
        if self.store.get_stream(ctx.account, ctx.region, group, stream) is None:
            raise _stream_missing()
        events = params.get("logEvents") or []
        if not events:
            raise AwsError("InvalidParameterException", "1 validation error detected: Value '[]' at 'logEvents' failed "
                           "to satisfy constraint: Member must have length greater than or equal to 1")
        size = sum(len(e["message"].encode()) + 26 for e in events)
        if size > MAX_BATCH_BYTES:
            raise AwsError("InvalidParameterException", "Log events in a single PutLogEvents request must be under 1,048,576 bytes.")
        stamps = [e["timestamp"] for e in events]
        if stamps != sorted(stamps):
            raise AwsError("InvalidParameterException", "Log events in a single PutLogEvents request must be in chronological order.")
        now = _now_ms()
        accepted, too_old, too_new = [], None, None
        for i, e in enumerate(events):
            if e["timestamp"] < now - 14 * 86400_000:
                too_old = i + 1
            elif e["timestamp"] > now + 2 * 3600_000:
                too_new = i if too_new is None else too_new
            else:
                accepted.append((e["timestamp"], e["message"]))
        with self.store.transaction():
            deliveries = self._ingest(ctx.account, ctx.region, group, stream, accepted, now)
        self._after_ingest(ctx.account, ctx.region, group, deliveries)
        out = {"nextSequenceToken": f"{now:056d}"}
        rejected = {}
        if too_old is not None:
            rejected["tooOldLogEventEndIndex"] = too_old
        if too_new is not None:
            rejected["tooNewLogEventStartIndex"] = too_new
        if rejected:
            out["rejectedLogEventsInfo"] = rejected
        return out

    def get_log_events(self, ctx, params):
        group = self._group_name(ctx, params)
        self._group(ctx, group)
        stream = params["logStreamName"]
        if self.store.get_stream(ctx.account, ctx.region, group, stream) is None:
            raise _stream_missing()
        limit = min(params.get("limit") or 10_000, 10_000)
        start, end = params.get("startTime"), params.get("endTime")
        cutoff = self._cutoff(ctx.account, ctx.region, group)
        if cutoff is not None:
            start = cutoff if start is None else max(start, cutoff)
        token = params.get("nextToken")
        if token:
            if not (token.startswith("f/") or token.startswith("b/")) or not token[2:].isdigit():
                raise AwsError("InvalidParameterException", "The specified nextToken is invalid.")
            position = int(token[2:])
            forward = token.startswith("f/")
        else:
            forward = bool(params.get("startFromHead"))
            position = 0 if forward else 2**62
        if forward:
            rows = self.store.stream_events(ctx.account, ctx.region, group, stream, start, end, position, None, limit, True)
        else:
            rows = self.store.stream_events(ctx.account, ctx.region, group, stream, start, end, None, position, limit, False)
        events = [{"timestamp": ts, "message": message, "ingestionTime": ingest} for _id, ts, message, ingest in rows]
        if rows:
            first, last = rows[0][0], rows[-1][0]
        else:
            first = last = position if token else 0
        return {"events": events, "nextForwardToken": f"f/{last:056d}", "nextBackwardToken": f"b/{first:056d}"}

    def filter_log_events(self, ctx, params):
        group = self._group_name(ctx, params)
        self._group(ctx, group)
        names = params.get("logStreamNames")
        prefix = params.get("logStreamNamePrefix")
        if names and prefix:
            raise AwsError("InvalidParameterException",
                           "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
        streams = names if names else (self.store.stream_names(ctx.account, ctx.region, group, prefix) if prefix else None)
        match = compile_pattern(params.get("filterPattern"))
        limit = min(params.get("limit") or 10_000, 10_000)
        cursor = tuple(_untoken(params["nextToken"])) if params.get("nextToken") else None
        start = params.get("startTime")
        cutoff = self._cutoff(ctx.account, ctx.region, group)
        if cutoff is not None:
            start = cutoff if start is None else max(start, cutoff)
        events, last = [], cursor
        scanned = 0
        while len(events) < limit:
            rows = self.store.group_events(ctx.account, ctx.region, group, streams, start,
                                           params.get("endTime"), last, 1000)
            if not rows:
                last = None
                break
            for row_id, stream, ts, message, ingest in rows:
                last = (ts, row_id)
                scanned += 1
                if match(message):
                    events.append({"logStreamName": stream, "timestamp": ts, "message": message,
                                   "ingestionTime": ingest, "eventId": f"{ts:020d}{row_id:020d}"})
                    if len(events) >= limit:
                        break
            if len(rows) < 1000 and len(events) < limit:
                last = None
                break
        out = {"events": events, "searchedLogStreams": []}
        if last is not None:
            out["nextToken"] = _token(list(last))
        return out

    # -- subscription filters ------------------------------------------------------------------

    async def _check_destination(self, ctx, arn: str) -> None:
        """The destination must be a Lambda function, Kinesis stream or Firehose delivery stream
        of the caller's account that exists (cross-account logical destinations are not
        supported), checked through its service's provider as AWS checks it on Put."""
        from overcast.engine.targets import internal_ctx

        parts = (arn or "").split(":", 5)
        service = parts[2] if len(parts) == 6 and parts[0] == "arn" else ""
        if service == "logs" and parts[5].startswith("destination:"):
            self._check_logs_destination(ctx, arn, parts)
            return
        if service not in _DESTINATIONS:
            raise AwsError("InvalidParameterException", f"Invalid destinationArn: {arn}. overcast delivers subscriptions "
                           "to Lambda functions, Kinesis streams and Firehose delivery streams.")
        if parts[4] != ctx.account or parts[3] != ctx.region:
            raise AwsError("InvalidParameterException", "A subscription to another account's or region's resource goes "
                           "through a CloudWatch Logs destination (PutDestination) of that account.")
        provider = await self.providers.get(service)
        try:
            if service == "lambda":
                result = provider.get_function_configuration(
                    internal_ctx("lambda", parts[4], parts[3], "GetFunctionConfiguration"), {"FunctionName": arn})
            elif service == "kinesis":
                result = provider.describe_stream_summary(
                    internal_ctx("kinesis", parts[4], parts[3], "DescribeStreamSummary"), {"StreamARN": arn})
            else:
                result = provider.describe_delivery_stream(
                    internal_ctx("firehose", parts[4], parts[3], "DescribeDeliveryStream"),
                    {"DeliveryStreamName": parts[5].split("/", 1)[-1]})
            if inspect.isawaitable(result):
                await result
        except AwsError:
            raise AwsError("InvalidParameterException", {
                "lambda": "Could not execute the lambda function. Make sure you have given CloudWatch Logs permission "
                          "to execute your function.",
                "kinesis": "Could not deliver test message to specified Kinesis stream. Check if the given kinesis "
                           "stream is in ACTIVE state.",
                "firehose": "Could not deliver test message to specified Firehose stream. Check if the given Firehose "
                            "stream is in ACTIVE state."}[service]) from None

    def _check_logs_destination(self, ctx, arn: str, parts: list) -> None:
        """A destination of the log group's region, of this or another account; another account's
        destination admits the subscription only when its access policy allows
        logs:PutSubscriptionFilter for the caller (the shared evaluator decides)."""
        name = parts[5].split(":", 1)[1]
        found = self.store.destination(parts[4], parts[3], name) if parts[3] == ctx.region else None
        if found is None:
            raise AwsError("ResourceNotFoundException", "The specified destination does not exist.")
        iam_policy.check(ctx, parts[4], arn, "logs:PutSubscriptionFilter", found[3])

    async def put_subscription_filter(self, ctx, params):
        group, name = params["logGroupName"], params["filterName"]
        pattern = params.get("filterPattern") or ""
        self._group(ctx, group)
        self._pattern(pattern)  # an invalid pattern answers InvalidParameterException
        await self._check_destination(ctx, params["destinationArn"])
        existing = [row[0] for row in self.store.subscriptions(ctx.account, ctx.region, group)]
        if name not in existing and len(existing) >= MAX_SUBSCRIPTION_FILTERS:
            raise AwsError("LimitExceededException", "Resource limit exceeded.")
        self.store.put_subscription(ctx.account, ctx.region, group, name, pattern, params["destinationArn"],
                                    params.get("roleArn"), params.get("distribution") or "ByLogStream", _now_ms())
        return {}

    def describe_subscription_filters(self, ctx, params):
        group = params["logGroupName"]
        self._group(ctx, group)
        prefix = params.get("filterNamePrefix") or ""
        limit = params.get("limit") or 50
        rows = [r for r in self.store.subscriptions(ctx.account, ctx.region, group) if r[0].startswith(prefix)]
        offset = _offset(params)
        filters = []
        for name, pattern, destination, role, distribution, created in rows[offset:offset + limit]:
            item = {"filterName": name, "logGroupName": group, "filterPattern": pattern, "destinationArn": destination,
                    "distribution": distribution, "applyOnTransformedLogs": False, "creationTime": created}
            if role:
                item["roleArn"] = role
            filters.append(item)
        out = {"subscriptionFilters": filters}
        if offset + limit < len(rows):
            out["nextToken"] = _token(offset + limit)
        return out

    def delete_subscription_filter(self, ctx, params):
        self._group(ctx, params["logGroupName"])
        if not self.store.delete_subscription(ctx.account, ctx.region, params["logGroupName"], params["filterName"]):
            raise AwsError("ResourceNotFoundException", "The specified subscription filter does not exist.")
        return {}

    # -- destinations ------------------------------------------------------------------------------
    # A destination lets other accounts subscribe their log groups to this account's Kinesis
    # stream or Firehose delivery stream: PutSubscriptionFilter names the destination's ARN (its
    # access policy decides who may), and each matching batch is put into the destination's target
    # by the delivery code above, as this account.

    def _destination_out(self, ctx, row) -> dict:
        name, target, role, policy, _tags, created = row
        out = {"destinationName": name, "targetArn": target, "roleArn": role, "creationTime": created,
               "arn": f"arn:aws:logs:{ctx.region}:{ctx.account}:destination:{name}"}
        if policy:
            out["accessPolicy"] = policy
        return out

    async def put_destination(self, ctx, params):
        name, target = params["destinationName"], params["targetArn"]
        if target.split(":")[2:3] not in (["kinesis"], ["firehose"]):
            raise AwsError("InvalidParameterException", f"Invalid targetArn: {target}. A destination delivers to a "
                           "Kinesis stream or a Firehose delivery stream.")
        if target.split(":")[4:5] != [ctx.account]:
            raise AwsError("InvalidParameterException", "A destination's target must be of the destination's account.")
        if target.split(":")[3:4] == [ctx.region]:
            await self._check_destination(ctx, target)  # it exists (AWS checks it with the role)
        self.store.put_destination(ctx.account, ctx.region, name, target, params["roleArn"],
                                   orjson.dumps(params.get("tags") or {}).decode(), _now_ms())
        return {"destination": self._destination_out(ctx, self.store.destination(ctx.account, ctx.region, name))}

    def describe_destinations(self, ctx, params):
        rows = self.store.destinations(ctx.account, ctx.region, params.get("DestinationNamePrefix") or "")
        limit = params.get("limit") or 50
        offset = _offset(params)
        out = {"destinations": [self._destination_out(ctx, row) for row in rows[offset:offset + limit]]}
        if offset + limit < len(rows):
            out["nextToken"] = _token(offset + limit)
        return out

    def put_destination_policy(self, ctx, params):
        policy = params["accessPolicy"]
        if iam_policy.parse(policy) is None:
            raise AwsError("InvalidParameterException", "The access policy is not valid JSON.")
        if not self.store.set_destination(ctx.account, ctx.region, params["destinationName"], "policy", policy):
            raise _destination_missing()
        return {}

    def delete_destination(self, ctx, params):
        if not self.store.delete_destination(ctx.account, ctx.region, params["destinationName"]):
            raise _destination_missing()
        return {}

    # -- metric filters ------------------------------------------------------------------------------
    # A metric filter turns the events written to its log group that match its pattern into
    # CloudWatch data points: one per matching event (its metricValue: a number, or a `$.`
    # selector of a JSON event; dimensions from `$.` selectors), and, in each minute of a write
    # where nothing matched, one of defaultValue if the filter has one. They are put through
    # CloudWatch's provider in the transaction that stores the events.

    async def _load_cloudwatch(self):
        if self._cloudwatch is None and "cloudwatch" in SERVICES:
            self._cloudwatch = await self.providers.get("cloudwatch")
        return self._cloudwatch

    async def put_metric_filter(self, ctx, params):
        group, name, pattern = params["logGroupName"], params["filterName"], params["filterPattern"]
        self._group(ctx, group)
        self._pattern(pattern)  # an invalid pattern answers InvalidParameterException
        transformations = []
        for item in params["metricTransformations"]:
            _metric_value(item["metricValue"])  # a number or a selector
            dimensions = item.get("dimensions") or {}
            if len(dimensions) > 3:
                raise AwsError("InvalidParameterException", "A metric filter can have at most 3 dimensions.")
            if dimensions and item.get("defaultValue") is not None:
                raise AwsError("InvalidParameterException", "A metric filter with dimensions cannot have a default "
                               "value.")
            for selector in dimensions.values():
                _metric_value(selector, dimension=True)
            transformations.append({key: item[key] for key in
                                    ("metricName", "metricNamespace", "metricValue", "defaultValue", "dimensions", "unit")
                                    if item.get(key) is not None})
        if params.get("applyOnTransformedLogs"):
            raise not_implemented("CloudWatch Logs log transformers (applyOnTransformedLogs)")
        await self._load_cloudwatch()
        if not self.store.put_metric_filter(ctx.account, ctx.region, group, name, pattern,
                                            orjson.dumps(transformations).decode(), _now_ms(), MAX_METRIC_FILTERS):
            raise AwsError("LimitExceededException", "Resource limit exceeded.")
        return {}

    def describe_metric_filters(self, ctx, params):
        group = params.get("logGroupName")
        metric, namespace = params.get("metricName"), params.get("metricNamespace")
        if (metric is None) != (namespace is None):
            raise AwsError("InvalidParameterException", "If you specify either metricName or metricNamespace, you "
                           "must specify both.")
        if group is not None:  # else every group's filters (with the prefix, as AWS's recorded answers show)
            self._group(ctx, group)
        rows = self.store.metric_filters(ctx.account, ctx.region, group, params.get("filterNamePrefix") or "")
        filters = []
        for grp, name, pattern, transformations, created in rows:
            items = orjson.loads(transformations)
            if metric is not None and not any(t["metricName"] == metric and t["metricNamespace"] == namespace
                                              for t in items):
                continue
            filters.append({"filterName": name, "filterPattern": pattern, "metricTransformations": items,
                            "creationTime": created, "logGroupName": grp, "applyOnTransformedLogs": False})
        limit = params.get("limit") or 50
        offset = _offset(params)
        out = {"metricFilters": filters[offset:offset + limit]}
        if offset + limit < len(filters):
            out["nextToken"] = _token(offset + limit)
        return out

    def delete_metric_filter(self, ctx, params):
        self._group(ctx, params["logGroupName"])
        if not self.store.delete_metric_filter(ctx.account, ctx.region, params["logGroupName"], params["filterName"]):
            raise AwsError("ResourceNotFoundException", "The specified metric filter does not exist.")
        return {}

    def _emit_metrics(self, account, region, group, events: list[tuple[int, str]]) -> None:
        """The data points the group's metric filters make of events just stored, put into
        CloudWatch in the caller's transaction."""
        filters = self.store.metric_filters(account, region, group)
        if not filters:
            return
        points = []
        for _grp, _name, pattern, transformations, _created in filters:
            match = self._pattern(pattern)
            for item in orjson.loads(transformations):
                dimensions = item.get("dimensions") or {}
                matched_minutes = set()
                for ts, message in events:
                    if not match(message):
                        continue
                    matched_minutes.add(ts // 60_000)
                    document = _json_or_none(message) if "$" in item["metricValue"] or dimensions else None
                    value = _metric_number(item["metricValue"], document)
                    dims = {key: _dimension_text(selector, document) for key, selector in dimensions.items()}
                    if value is None or any(v is None for v in dims.values()):
                        continue  # the event lacks the value or a dimension: AWS publishes nothing for it
                    points.append(_point(item, dims, ts, value))
                if item.get("defaultValue") is not None:
                    for minute in sorted({ts // 60_000 for ts, _ in events} - matched_minutes):
                        points.append(_point(item, {}, minute * 60_000, float(item["defaultValue"])))
        if not points:
            return
        if self._cloudwatch is not None:
            self._cloudwatch.record(account, region, points)
        else:  # a node whose provider did not start (cluster): put them as soon as CloudWatch is loaded
            async def later():
                cloudwatch = await self._load_cloudwatch()
                if cloudwatch is not None:
                    cloudwatch.record(account, region, points)
            try:
                task = asyncio.get_running_loop().create_task(later())
            except RuntimeError:
                return
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    # -- Logs Insights ---------------------------------------------------------------------------------
    # A query runs when it is started (over the events stored then, on the event loop: overcast's
    # log groups are a developer's, not a fleet's), and its results are kept with it, so
    # GetQueryResults answers Complete at once and the results survive a restart. The language
    # is the subset insights.py describes; SQL and PPL, and the rest of CWLI, answer NotImplemented.

    def start_query(self, ctx, params):
        names = [params["logGroupName"]] if params.get("logGroupName") else []
        names += params.get("logGroupNames") or []
        for ident in params.get("logGroupIdentifiers") or []:
            names.append(self._group_name(ctx, {"logGroupIdentifier": ident.removesuffix(":*")}))
        given = sum(1 for key in ("logGroupName", "logGroupNames", "logGroupIdentifiers") if params.get(key))
        language = params.get("queryLanguage") or "CWLI"
        if language != "CWLI":
            raise not_implemented(f"CloudWatch Logs StartQuery in {language}")
        if given != 1:
            if given == 0 and re.match(r"\s*source\b", params["queryString"], re.IGNORECASE):
                raise not_implemented("CloudWatch Logs Insights' SOURCE command")
            raise AwsError("InvalidParameterException", "Exactly one of logGroupName, logGroupNames or "
                           "logGroupIdentifiers must be specified.")
        if len(names) > 50:
            raise AwsError("InvalidParameterException", "A query can name at most 50 log groups.")
        for name in names:
            if self.store.get_group(ctx.account, ctx.region, name) is None:
                raise AwsError("ResourceNotFoundException",
                               f"Log group '{name}' does not exist for account ID '{ctx.account}'")
        start, end = params["startTime"], params["endTime"]
        if end < start:
            raise AwsError("InvalidParameterException", "End time must not be before start time.")
        text = params["queryString"]
        try:
            query = insights.parse(text)
            run = insights.Run(query, params.get("limit") or QUERY_LIMIT)
            for name in dict.fromkeys(names):
                self._scan(ctx, name, start * 1000, end * 1000 + 999, run)
            results, total = run.finish()
        except RecursionError:  # thousands of nested parentheses or chained operators
            raise _malformed(insights.Malformed("The query nests too deeply.", 0, len(text))) from None
        except insights.Malformed as e:
            raise _malformed(e) from None
        except insights.Unsupported as e:
            raise not_implemented(str(e)) from None
        statistics = {"recordsMatched": float(run.matched if query.has_stats else total),
                      "recordsScanned": float(run.scanned), "bytesScanned": float(run.bytes)}
        query_id = str(uuid.uuid4())
        # kept as AWS shows it in DescribeQueries: the sources and time range, then the query
        sources = " ".join(f'"{name}"' for name in dict.fromkeys(names))
        shown = f"SOURCE {sources} START={start}000 END={end}999 | {params['queryString']}"
        now = _now_ms()
        self.store.add_query(ctx.account, ctx.region, query_id, now, orjson.dumps(list(dict.fromkeys(names))).decode(),
                             shown, language, "Complete", orjson.dumps(results).decode(),
                             orjson.dumps(statistics).decode(), now - QUERY_KEPT_MS)
        return {"queryId": query_id}

    def _scan(self, ctx, group: str, start: int, end: int, run) -> None:
        cutoff = self._cutoff(ctx.account, ctx.region, group)
        after = None
        while True:
            rows = self.store.group_events(ctx.account, ctx.region, group, None, max(start, cutoff or start), end,
                                           after, 1000)
            for event_id, stream, ts, message, ingest in rows:
                run.add({"@timestamp": insights.Timestamp(ts), "@message": message, "@logStream": stream,
                         "@log": f"{ctx.account}:{group}", "@ingestionTime": insights.Timestamp(ingest),
                         "@ptr": _token([event_id])})
            if len(rows) < 1000:
                return
            after = (rows[-1][2], rows[-1][0])

    def _query(self, ctx, query_id: str):
        row = self.store.query(ctx.account, ctx.region, query_id)
        if row is None:
            raise AwsError("ResourceNotFoundException", f"Query does not exist: {query_id}")
        return row

    def get_query_results(self, ctx, params):
        _id, _created, _groups, _shown, language, status, results, statistics = self._query(ctx, params["queryId"])
        rows = orjson.loads(results)
        offset = _offset(params)
        size = params.get("maxItems") or 10_000
        out = {"queryLanguage": language, "results": rows[offset:offset + size], "statistics": orjson.loads(statistics),
               "status": status}
        if offset + size < len(rows):
            out["nextToken"] = _token(offset + size)
        return out

    def stop_query(self, ctx, params):
        self._query(ctx, params["queryId"])  # every query has ended: it ran when it was started
        raise AwsError("InvalidParameterException", "Query is not running.")

    def describe_queries(self, ctx, params):
        group, status, language = params.get("logGroupName"), params.get("status"), params.get("queryLanguage")
        rows = [row for row in self.store.queries(ctx.account, ctx.region)
                if (group is None or group in orjson.loads(row[2])) and status in (None, row[5])
                and language in (None, row[4])]
        limit = params.get("maxResults") or 1000
        offset = _offset(params)
        queries = [{"queryLanguage": language_, "queryId": query_id, "queryString": shown, "status": status_,
                    "createTime": created, "logGroupName": orjson.loads(groups)[0]}
                   for query_id, created, groups, shown, language_, status_ in rows[offset:offset + limit]]
        out = {"queries": queries}
        if offset + limit < len(rows):
            out["nextToken"] = _token(offset + limit)
        return out

    def get_log_record(self, ctx, params):
        pointer = params["logRecordPointer"]
        try:
            event_id = _untoken(pointer)[0]
        except (AwsError, TypeError, IndexError, KeyError):
            event_id = None
        row = self.store.event(ctx.account, ctx.region, event_id) if isinstance(event_id, int) else None
        if row is None:
            raise AwsError("InvalidParameterException", f"The specified logRecordPointer is invalid: {pointer}")
        group, stream, ts, message, ingest = row
        record = {"@timestamp": str(ts), "@message": message, "@logStream": stream, "@log": f"{ctx.account}:{group}",
                  "@ingestionTime": str(ingest)}
        for key, value in insights.flatten(message).items():
            record.setdefault(key, insights.show(value))
        return {"logRecord": record}

    # -- vended-log deliveries ---------------------------------------------------------------------
    # A delivery pairs a delivery source (an AWS resource that vends logs: CloudFront access logs,
    # ...) with a delivery destination (an S3 bucket, a log group, a Firehose stream or X-Ray).
    # Destinations and their policies are resources of their own and are kept. No overcast service
    # vends logs, so no delivery source can exist: PutDeliverySource answers AWS's error for a
    # resource that cannot be one (or NotImplemented for the services AWS lists, none of which
    # overcast has), and CreateDelivery finds no source.

    def _delivery_destination_out(self, ctx, row, with_tags: bool = True) -> dict:
        name, kind, output_format, resource_arn, _policy, tags = row
        out = {"name": name, "arn": f"arn:aws:logs:{ctx.region}:{ctx.account}:delivery-destination:{name}",
               "deliveryDestinationType": kind}
        if output_format:
            out["outputFormat"] = output_format
        if resource_arn:
            out["deliveryDestinationConfiguration"] = {"destinationResourceArn": resource_arn}
        if with_tags and tags != "{}":
            out["tags"] = orjson.loads(tags)
        return out

    def _delivery_destination(self, ctx, name: str):
        row = self.store.delivery_destination(ctx.account, ctx.region, name)
        if row is None:
            raise _delivery_destination_missing()
        return row

    def put_delivery_destination(self, ctx, params):
        name = params["name"]
        output_format = params.get("outputFormat")
        if output_format is not None and output_format not in OUTPUT_FORMATS:
            raise AwsError("ValidationException", f"1 validation error detected: Value '{output_format}' at "
                           "'outputFormat' failed to satisfy constraint: Member must satisfy enum value set: "
                           f"[{', '.join(OUTPUT_FORMATS)}]")
        resource_arn = (params.get("deliveryDestinationConfiguration") or {}).get("destinationResourceArn")
        kind = params.get("deliveryDestinationType")
        if resource_arn is None:
            if kind != "XRAY":  # X-Ray's trace destination is the only one without a resource
                raise AwsError("ValidationException", "deliveryDestinationConfiguration is required for CloudWatch "
                               "Logs, Amazon S3 and Firehose delivery destinations.")
        else:
            found = _delivery_destination_type(resource_arn)
            if found is None:
                raise AwsError("ValidationException", f"Invalid destinationResourceArn: {resource_arn}. A delivery "
                               "destination is an S3 bucket, a CloudWatch Logs log group or a Firehose delivery stream.")
            if kind is not None and kind != found:
                raise AwsError("ValidationException", f"deliveryDestinationType {kind} does not match the "
                               f"destinationResourceArn, which is of type {found}.")
            if resource_arn.split(":")[4] not in ("", ctx.account):
                raise AwsError("ValidationException", "A delivery destination must be created in the account of "
                               "the resource that receives the logs.")
            kind = found
        if bad := reserved_tags.refused(ctx, params.get("tags") or {}):
            raise AwsError("ValidationException", f"Tag keys beginning with aws: are reserved for AWS use and cannot "
                           f"be added, changed or removed: {', '.join(bad)}")
        tags = orjson.dumps(params["tags"]).decode() if params.get("tags") is not None else None
        self.store.put_delivery_destination(ctx.account, ctx.region, name, kind, output_format, resource_arn, tags)
        row = self.store.delivery_destination(ctx.account, ctx.region, name)
        return {"deliveryDestination": self._delivery_destination_out(ctx, row, with_tags=False)}

    def get_delivery_destination(self, ctx, params):
        return {"deliveryDestination": self._delivery_destination_out(ctx, self._delivery_destination(ctx, params["name"]))}

    def describe_delivery_destinations(self, ctx, params):
        rows = self.store.delivery_destinations(ctx.account, ctx.region)
        limit = params.get("limit") or 50
        offset = _offset(params)
        out = {"deliveryDestinations": [self._delivery_destination_out(ctx, row) for row in rows[offset:offset + limit]]}
        if offset + limit < len(rows):
            out["nextToken"] = _token(offset + limit)
        return out

    def delete_delivery_destination(self, ctx, params):
        if not self.store.delete_delivery_destination(ctx.account, ctx.region, params["name"]):
            raise _delivery_destination_missing()
        return {}

    def put_delivery_destination_policy(self, ctx, params):
        name, document = params["deliveryDestinationName"], params["deliveryDestinationPolicy"]
        self._delivery_destination(ctx, name)
        parsed = iam_policy.parse(document)
        if parsed is None or not isinstance(parsed.get("Statement"), list | dict):
            raise AwsError("ValidationException", "The policy document is not valid JSON or has no Statement.")
        self.store.set_delivery_destination(ctx.account, ctx.region, name, "policy", document)
        return {"policy": {"deliveryDestinationPolicy": document}}

    def get_delivery_destination_policy(self, ctx, params):
        policy = self._delivery_destination(ctx, params["deliveryDestinationName"])[4]
        return {"policy": {"deliveryDestinationPolicy": policy} if policy else {}}

    def delete_delivery_destination_policy(self, ctx, params):
        self._delivery_destination(ctx, params["deliveryDestinationName"])
        self.store.set_delivery_destination(ctx.account, ctx.region, params["deliveryDestinationName"], "policy", None)
        return {}

    def put_delivery_source(self, ctx, params):
        service = params["resourceArn"].split(":")[2] if params["resourceArn"].count(":") >= 5 else ""
        if service in VENDING_SERVICES:
            raise not_implemented(f"CloudWatch Logs delivery sources of {service} (overcast has no service that "
                                  "vends logs)")
        raise AwsError("ResourceNotFoundException", "Cannot access provided service.")

    def describe_delivery_sources(self, ctx, params):
        _offset(params)
        return {"deliverySources": []}  # none can exist (put_delivery_source)

    def get_delivery_source(self, ctx, params):
        raise AwsError("ResourceNotFoundException", "Requested Delivery Source does not exist in this account.")

    def delete_delivery_source(self, ctx, params):  # AWS's message ends with two periods
        raise AwsError("ResourceNotFoundException", "Requested Delivery Source does not exist in this account..")

    def create_delivery(self, ctx, params):
        raise AwsError("ResourceNotFoundException", "Requested Delivery Source does not exist in this account.")

    def describe_deliveries(self, ctx, params):
        _offset(params)
        return {"deliveries": []}  # none can exist without a source

    def get_delivery(self, ctx, params):
        raise AwsError("ResourceNotFoundException", "Requested Delivery does not exist in this account.")

    def delete_delivery(self, ctx, params):
        raise AwsError("ResourceNotFoundException", "Requested Delivery does not exist in this account.")

    # -- resource policies -----------------------------------------------------------------------
    # Account-scoped policies that let AWS services (and other accounts) put events into this
    # account's log groups. Applied where overcast checks a delivery from another account
    # (engine/targets.py asks `resource_policy`), as for SQS queue and SNS topic policies.

    def _policy_out(self, name: str, document: str, updated: int) -> dict:
        return {"policyName": name, "policyDocument": document, "lastUpdatedTime": updated, "policyScope": "ACCOUNT"}

    def put_resource_policy(self, ctx, params):
        name, document = params.get("policyName"), params.get("policyDocument")
        if params.get("resourceArn"):
            raise AwsError("InvalidParameterException", "overcast supports account-scoped resource policies only "
                           "(PutResourcePolicy without resourceArn).")
        if not name or not document:
            raise AwsError("InvalidParameterException", "policyName and policyDocument are required.")
        if len(document) > MAX_POLICY_CHARS:
            raise AwsError("InvalidParameterException", f"1 validation error detected: Value at 'policyDocument' failed "
                           f"to satisfy constraint: Member must have length less than or equal to {MAX_POLICY_CHARS}")
        parsed = iam_policy.parse(document)
        if parsed is None or not isinstance(parsed.get("Statement"), list | dict):
            raise AwsError("InvalidParameterException", "Policy document is not valid JSON or has no Statement.")
        now = _now_ms()
        if not self.store.put_policy(ctx.account, ctx.region, name, document, now, MAX_RESOURCE_POLICIES):
            raise AwsError("LimitExceededException", "Resource limit exceeded.")
        return {"resourcePolicy": self._policy_out(name, document, now)}

    def describe_resource_policies(self, ctx, params):
        if params.get("resourceArn") or params.get("policyScope") == "RESOURCE":
            return {"resourcePolicies": []}  # no resource-scoped policies can exist (see put_resource_policy)
        rows = self.store.policies(ctx.account, ctx.region)
        limit = params.get("limit") or 50
        offset = _offset(params)
        out = {"resourcePolicies": [self._policy_out(*row) for row in rows[offset:offset + limit]]}
        if offset + limit < len(rows):
            out["nextToken"] = _token(offset + limit)
        return out

    def delete_resource_policy(self, ctx, params):
        name = params.get("policyName") or ""
        if not self.store.delete_policy(ctx.account, ctx.region, name):
            raise AwsError("ResourceNotFoundException", f"Policy with name [{name}] does not exist.")
        return {}

    def resource_policy(self, arn: str) -> dict | None:
        """The statements of every resource policy of the log group's account and region, as one
        document, for deliveries from another account (engine/targets.py)."""
        parts = arn.split(":", 5)
        if len(parts) < 6:
            return None
        statements = []
        for _name, document, _updated in self.store.policies(parts[4], parts[3]):
            found = (iam_policy.parse(document) or {}).get("Statement")
            statements += found if isinstance(found, list) else [found] if isinstance(found, dict) else []
        return {"Version": "2012-10-17", "Statement": statements} if statements else None


def _metric_value(text: str, dimension: bool = False) -> None:
    """A metricValue (a number, or a `$.` selector of JSON events) or a dimension's value (a
    selector); `$name`, a field of a space-delimited pattern, is not supported yet."""
    if text.startswith("$."):
        return
    if text.startswith("$"):
        raise not_implemented("CloudWatch Logs metric values from space-delimited pattern fields ($name)")
    if dimension:
        raise AwsError("InvalidParameterException", f"Invalid dimension value: {text}. A dimension's value is a "
                       "field selector such as $.field.")
    try:
        number = float(text)
    except ValueError:
        raise AwsError("InvalidParameterException", f"Invalid metric value: {text}. It must be a number or a field "
                       "selector such as $.field.") from None
    if math.isnan(number) or math.isinf(number):
        raise AwsError("InvalidParameterException", f"Invalid metric value: {text}.")


def _json_or_none(message: str):
    try:
        return orjson.loads(message)
    except orjson.JSONDecodeError:
        return None


def _selected(selector: str, document):
    if document is None:
        return None
    found = select(document, selector)
    return found[0] if found else None


def _metric_number(text: str, document) -> float | None:
    if not text.startswith("$"):
        return float(text)
    value = _selected(text, document)
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def _dimension_text(selector: str, document) -> str | None:
    value = _selected(selector, document)
    if value is None or isinstance(value, dict | list):
        return None
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _point(item: dict, dimensions: dict, ts: int, value: float) -> tuple:
    """A CloudWatch data point (store.Point) of one value."""
    from overcast.services.cloudwatch.provider import dimensions_key

    dims = dimensions_key([{"Name": k, "Value": v} for k, v in dimensions.items()])
    return (item["metricNamespace"], item["metricName"], dims, ts, 1.0, value, value, value, item.get("unit") or "None")


def _malformed(e) -> AwsError:
    return AwsError("MalformedQueryException", str(e), queryCompileError={
        "location": {"startCharOffset": e.start, "endCharOffset": e.end}, "message": str(e)})


def _delivery_destination_missing() -> AwsError:
    return AwsError("ResourceNotFoundException", "Requested Delivery Destination does not exist in this account.")


def _delivery_destination_type(arn: str) -> str | None:
    """S3, CWL or FH for a bucket, log group or Firehose stream ARN; None for any other."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or not parts[5]:
        return None
    if parts[2] == "s3":  # a bucket, or a bucket and a prefix
        return "S3"
    if parts[2] == "logs" and parts[5].startswith("log-group:"):
        return "CWL"
    if parts[2] == "firehose" and parts[5].startswith("deliverystream/"):
        return "FH"
    return None


def _destination_missing() -> AwsError:
    return AwsError("ResourceNotFoundException", "The specified destination does not exist.")


def _refuse_other_account(ctx, arn: str) -> None:
    """A log group ARN of another account: overcast has no cross-account observability links or
    log group resource policies, so the shared evaluator refuses it (never the caller's own group
    of the same name)."""
    parts = arn.split(":")
    if len(parts) >= 6:
        iam_policy.check(ctx, parts[4], arn.removesuffix(":*"), f"logs:{ctx.operation}")
