"""Amazon EventBridge Scheduler: schedule groups; schedules with at(), rate() and cron() in time
zones, start and end dates, flexible time windows and ActionAfterCompletion; templated targets
(SQS, SNS, Lambda, EventBridge PutEvents, CloudWatch Logs) and universal targets
(arn:aws:scheduler:::aws-sdk:<service>:<apiAction>, run against overcast's own providers);
retry policy and dead-letter queue.

Each enabled schedule has one timer (loop.call_at) for its next fire time. A firing commits a
pending-invocation row before delivering it, so an invocation survives kill -9.
"""

from __future__ import annotations

import inspect
import logging
import os
import random
import re
import time
import uuid
from urllib.parse import parse_qs

import orjson

from overcast import tracing
from overcast.aws import policy as iam_policy
from overcast.aws.context import HttpRequest, HttpResponse
from overcast.aws.errors import AwsError
from overcast.engine.schedules import ScheduleError
from overcast.engine.schedules import parse as parse_schedule
from overcast.engine.targets import (
    SDK_SERVICES,
    DeliveryError,
    Sender,
    deliver,
    internal_ctx,
    operation_method,
)
from overcast.engine.timers import Timers
from overcast.services import SERVICES
from overcast.services.base import Provider
from overcast.services.scheduler.store import SchedulerStore

log = logging.getLogger("overcast.scheduler")

NAME = re.compile(r"^[0-9a-zA-Z\-_.]{1,64}$")
UNIVERSAL = re.compile(r"^arn:aws[\w-]*:scheduler:::aws-sdk:([a-z0-9]+):([A-Za-z0-9]+)$")

DEFAULT_RETRY = {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}


def validation(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def not_found(message: str) -> AwsError:
    return AwsError("ResourceNotFoundException", message, 404)


class SchedulerProvider(Provider):
    service = "scheduler"

    def __init__(self, providers):
        super().__init__(providers)
        self.store = SchedulerStore(self.db)
        self._timers = Timers(providers.coordination.gate("scheduler"))  # ("schedule", arn): next fire time; ("delivery", id): next attempt
        self.retry_delay = float(os.environ.get("OVERCAST_SCHEDULER_RETRY_DELAY", 1))

    async def start(self) -> None:
        for schedule in self.store.all_enabled():
            self._arm(schedule)
        for delivery_id, next_at in self.store.pending_deliveries():
            self._schedule_delivery(delivery_id, next_at)

    async def stop(self) -> None:
        self._timers.cancel_all(tasks=True)

    def reset(self) -> None:
        self._timers.cancel_all()

    # -- groups ----------------------------------------------------------------------------------

    @staticmethod
    def _group_arn(ctx, name) -> str:
        return f"arn:aws:scheduler:{ctx.region}:{ctx.account}:schedule-group/{name}"

    def _group(self, ctx, name: str) -> dict:
        arn = self._group_arn(ctx, name)
        group = self.store.get_group(arn)
        if group is None and name == "default":
            now = time.time()
            group = {"Arn": arn, "Name": "default", "State": "ACTIVE", "CreationDate": now,
                     "LastModificationDate": now, "Tags": []}
            self.store.put_group(arn, ctx.account, ctx.region, name, group)
        if group is None:
            raise not_found(f"Schedule group {name} does not exist.")
        return group

    def create_schedule_group(self, ctx, params):
        name = params["Name"]
        if not NAME.match(name):
            raise validation(f"Invalid schedule group name {name}.")
        arn = self._group_arn(ctx, name)
        if name == "default" or self.store.get_group(arn) is not None:
            raise AwsError("ConflictException", f"Schedule group {name} already exists.", 409)
        now = time.time()
        self.store.put_group(arn, ctx.account, ctx.region, name,
                             {"Arn": arn, "Name": name, "State": "ACTIVE", "CreationDate": now,
                              "LastModificationDate": now, "Tags": params.get("Tags") or []})
        return {"ScheduleGroupArn": arn}

    def get_schedule_group(self, ctx, params):
        return {k: v for k, v in self._group(ctx, params["Name"]).items() if k != "Tags"}

    def delete_schedule_group(self, ctx, params):
        name = params["Name"]
        if name == "default":
            raise validation("You cannot delete the default group.")
        group = self._group(ctx, name)
        for schedule in self.store.schedules_in_group(ctx.account, ctx.region, name):
            self._disarm(schedule["Arn"])
        self.store.delete_group(group["Arn"], ctx.account, ctx.region, name)
        return {}

    def list_schedule_groups(self, ctx, params):
        self._group(ctx, "default")
        groups = [{k: v for k, v in g.items() if k != "Tags"} for g in self.store.list_groups(ctx.account, ctx.region)
                  if g["Name"].startswith(params.get("NamePrefix") or "")]
        return self._page(groups, params, "ScheduleGroups")

    @staticmethod
    def _page(items, params, key) -> dict:
        token = params.get("NextToken") or "0"
        start = int(token) if token.isdigit() else 0
        limit = params.get("MaxResults") or 100
        out = {key: items[start:start + limit]}
        if start + limit < len(items):
            out["NextToken"] = str(start + limit)
        return out

    # -- schedules -------------------------------------------------------------------------------

    def _schedule_arn(self, ctx, group, name) -> str:
        return f"arn:aws:scheduler:{ctx.region}:{ctx.account}:schedule/{group}/{name}"

    def _check(self, params: dict) -> None:
        expression = params["ScheduleExpression"]
        if expression != expression.strip():  # AWS refuses surrounding spaces (EventBridge rules too)
            raise validation(f"Invalid Schedule Expression {expression}.")
        try:
            schedule = parse_schedule(params["ScheduleExpression"], params.get("ScheduleExpressionTimezone"),
                                      allow_at=True)
        except ScheduleError as e:
            if e.timezone:
                raise validation(f"Invalid ScheduleExpressionTimezone {params.get('ScheduleExpressionTimezone')}.") \
                    from None
            raise validation(f"Invalid Schedule Expression {params['ScheduleExpression']}.") from None
        start, end = params.get("StartDate"), params.get("EndDate")
        if start and end and start >= end:
            raise validation("The StartDate must come before the EndDate.")
        window = params.get("FlexibleTimeWindow") or {}
        if window.get("Mode") == "FLEXIBLE" and not 1 <= (window.get("MaximumWindowInMinutes") or 0) <= 1440:
            raise validation("MaximumWindowInMinutes must be between 1 and 1440 when Mode is FLEXIBLE.")
        if window.get("Mode") == "OFF" and window.get("MaximumWindowInMinutes"):
            raise validation("MaximumWindowInMinutes must not be set when Mode is OFF.")
        target = params["Target"]
        arn = target.get("Arn") or ""
        match = UNIVERSAL.match(arn)
        if match:
            service = SDK_SERVICES.get(match.group(1), match.group(1))
            if service not in SERVICES:
                raise validation(f"The universal target service {match.group(1)} is not supported by overcast yet.")
        elif not arn.startswith("arn:") or arn.count(":") < 5:
            raise validation(f"Invalid target ARN {arn}.")
        if target.get("Input") is not None and match:
            try:
                orjson.loads(target["Input"])
            except orjson.JSONDecodeError:
                raise validation("Input must be valid JSON for universal targets.") from None
        retry = target.get("RetryPolicy") or {}
        if not 0 <= retry.get("MaximumRetryAttempts", 0) <= 185:
            raise validation("MaximumRetryAttempts must be between 0 and 185.")
        if not 60 <= retry.get("MaximumEventAgeInSeconds", 60) <= 86400:
            raise validation("MaximumEventAgeInSeconds must be between 60 and 86400.")
        del schedule  # parsed for validation only

    def _doc(self, ctx, params, arn, group, created) -> dict:
        now = time.time()
        # the retry policy a target gets when it sets none (or part of one): AWS's documented
        # defaults, 24 hours and 185 attempts, which GetSchedule then answers
        target = {**params["Target"], "RetryPolicy": {**DEFAULT_RETRY, **(params["Target"].get("RetryPolicy") or {})}}
        doc = {"Arn": arn, "Name": params["Name"], "GroupName": group,
               "ScheduleExpression": params["ScheduleExpression"], "State": params.get("State") or "ENABLED",
               "Target": target, "FlexibleTimeWindow": params["FlexibleTimeWindow"],
               "CreationDate": created or now, "LastModificationDate": now,
               "ActionAfterCompletion": params.get("ActionAfterCompletion") or "NONE"}
        for key in ("Description", "ScheduleExpressionTimezone", "KmsKeyArn"):
            if params.get(key) is not None:
                doc[key] = params[key]
        for key in ("StartDate", "EndDate"):
            if params.get(key) is not None:
                doc[key] = params[key].timestamp()
        return doc

    def create_schedule(self, ctx, params):
        name = params["Name"]
        if not NAME.match(name):
            raise validation(f"Invalid schedule name {name}.")
        group = params.get("GroupName") or "default"
        self._group(ctx, group)
        arn = self._schedule_arn(ctx, group, name)
        if self.store.get_schedule(arn) is not None:
            raise AwsError("ConflictException", f"Schedule {name} already exists.", 409)
        self._check(params)
        doc = self._doc(ctx, params, arn, group, None)
        self.store.put_schedule(arn, ctx.account, ctx.region, group, name, doc["State"], doc)
        self._arm(doc)
        return {"ScheduleArn": arn}

    def _schedule(self, ctx, params) -> dict:
        group = params.get("GroupName") or "default"
        schedule = self.store.get_schedule(self._schedule_arn(ctx, group, params["Name"]))
        if schedule is None:
            raise not_found(f"Schedule {params['Name']} does not exist.")
        return schedule

    def get_schedule(self, ctx, params):
        return self._schedule(ctx, params)

    def update_schedule(self, ctx, params):
        existing = self._schedule(ctx, params)
        self._check(params)
        doc = self._doc(ctx, params, existing["Arn"], existing["GroupName"], existing["CreationDate"])
        self.store.put_schedule(doc["Arn"], ctx.account, ctx.region, doc["GroupName"], doc["Name"], doc["State"], doc)
        self._arm(doc)
        return {"ScheduleArn": doc["Arn"]}

    def delete_schedule(self, ctx, params):
        schedule = self._schedule(ctx, params)
        self.store.delete_schedule(schedule["Arn"])
        self._disarm(schedule["Arn"])
        return {}

    def list_schedules(self, ctx, params):
        items = []
        for s in self.store.list_schedules(ctx.account, ctx.region):
            if params.get("GroupName") and s["GroupName"] != params["GroupName"]:
                continue
            if not s["Name"].startswith(params.get("NamePrefix") or ""):
                continue
            if params.get("State") and s["State"] != params["State"]:
                continue
            items.append({"Arn": s["Arn"], "Name": s["Name"], "GroupName": s["GroupName"], "State": s["State"],
                          "CreationDate": s["CreationDate"], "LastModificationDate": s["LastModificationDate"],
                          "Target": {"Arn": s["Target"]["Arn"]}})
        return self._page(items, params, "Schedules")

    # -- tags (schedule groups) ------------------------------------------------------------------

    def _tagged(self, ctx, arn: str) -> dict:
        parts = arn.split(":") if isinstance(arn, str) else ()
        if len(parts) >= 6:  # another account's group: no resource policies, so refused
            iam_policy.check(ctx, parts[4], arn, f"scheduler:{ctx.operation}", status=403)
        group = self.store.get_group(arn)
        if group is None:
            raise not_found(f"Schedule group {arn.rsplit('/', 1)[-1]} does not exist.")
        return group

    def tag_resource(self, ctx, params):
        group = self._tagged(ctx, params["ResourceArn"])
        tags = {t["Key"]: t["Value"] for t in group.get("Tags") or []}
        tags.update({t["Key"]: t["Value"] for t in params.get("Tags") or []})
        group["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        self.store.put_group(group["Arn"], ctx.account, ctx.region, group["Name"], group)
        return {}

    def untag_resource(self, ctx, params):
        group = self._tagged(ctx, params["ResourceArn"])
        group["Tags"] = [t for t in group.get("Tags") or [] if t["Key"] not in set(params.get("TagKeys") or [])]
        self.store.put_group(group["Arn"], ctx.account, ctx.region, group["Name"], group)
        return {}

    def list_tags_for_resource(self, ctx, params):
        return {"Tags": self._tagged(ctx, params["ResourceArn"]).get("Tags") or []}

    # -- timers ----------------------------------------------------------------------------------

    def _disarm(self, arn: str) -> None:
        self._timers.cancel(("schedule", arn))

    def _next(self, doc: dict, after: float) -> float | None:
        schedule = parse_schedule(doc["ScheduleExpression"], doc.get("ScheduleExpressionTimezone"), allow_at=True)
        start = doc.get("StartDate")
        origin = start if start is not None else doc["CreationDate"]
        at = schedule.next_after(max(after, (start or after) - 0.001), start=origin)
        if at is None or (doc.get("EndDate") is not None and at > doc["EndDate"]):
            return None
        return at

    def _arm(self, doc: dict) -> None:
        self._disarm(doc["Arn"])
        if doc["State"] != "ENABLED":
            return
        try:
            at = self._next(doc, time.time())
        except ScheduleError:
            return
        if at is None:
            self._completed(doc)
            return
        window = doc.get("FlexibleTimeWindow") or {}
        if window.get("Mode") == "FLEXIBLE":
            at += random.random() * 60 * (window.get("MaximumWindowInMinutes") or 0)
        arn = doc["Arn"]
        self._timers.at(("schedule", arn), at, lambda: self._fire(arn, at))

    def _completed(self, doc: dict) -> None:
        """No more invocations: ActionAfterCompletion DELETE removes the schedule."""
        if doc.get("ActionAfterCompletion") == "DELETE":
            self.store.delete_schedule(doc["Arn"])

    async def _fire(self, arn: str, at: float | None = None, rearm: bool = True) -> None:
        doc = self.store.get_schedule(arn)
        if doc is None:
            return
        scheduled = at or time.time()
        job = {"schedule_arn": arn, "target": doc["Target"], "scheduled_time": scheduled,
               "execution_id": str(uuid.uuid4())}
        # each firing is a trace of its own; its delivery (run now and on retries) belongs to it
        with tracing.hop("scheduler", "Fire", resource=arn, account=arn.split(":")[4], region=arn.split(":")[3],
                         parent=None, attributes={"executionId": job["execution_id"], "scheduledTime": scheduled,
                                                  "targetArn": doc["Target"].get("Arn") or ""}) as span:
            if span.trace_id is not None:
                job["trace"] = span.header()
            delivery_id = self.store.add_delivery(job, time.time())
        self._schedule_delivery(delivery_id, 0)
        if rearm:
            doc_now = self.store.get_schedule(arn)
            if doc_now is not None:
                self._arm(doc_now)

    # -- deliveries ------------------------------------------------------------------------------

    def _schedule_delivery(self, delivery_id: int, at: float) -> None:
        self._timers.at(("delivery", delivery_id), at, lambda: self._run_delivery(delivery_id))

    @staticmethod
    def _input(job: dict, attempts: int) -> str:
        text = job["target"].get("Input")
        if text is None:
            text = "{}"
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(job["scheduled_time"]))
        for name, value in (("scheduled-time", stamp), ("execution-id", job["execution_id"]),
                            ("attempt-number", str(attempts + 1)), ("schedule-arn", job["schedule_arn"])):
            text = text.replace(f"<aws.scheduler.{name}>", value)
        return text

    async def _run_delivery(self, delivery_id: int) -> None:
        row = self.store.get_delivery(delivery_id)
        if row is None:
            return
        job, attempts, first_at = row
        target = job["target"]
        body = self._input(job, attempts)
        with tracing.hop("scheduler", "Target", resource=target.get("Arn"), parent=job.get("trace"), request=body,
                         attributes={"scheduleArn": job["schedule_arn"], "attempt": attempts + 1}) as span:
            await self._deliver(delivery_id, job, target, body, attempts, first_at, span)

    async def _deliver(self, delivery_id: int, job: dict, target: dict, body: str, attempts: int, first_at: float,
                       span) -> None:
        try:
            await self._invoke(job["schedule_arn"], target, body, job["execution_id"])
        except DeliveryError as error:
            span.fail(error)
            attempts += 1
            policy = target.get("RetryPolicy") or {}
            delay = min(self.retry_delay * (2 ** (attempts - 1)), 300)
            if error.client or attempts > policy.get("MaximumRetryAttempts", 185) or \
                    time.time() + delay - first_at > policy.get("MaximumEventAgeInSeconds", 86400):
                await self._dead_letter(job, body, error, attempts)
                self.store.delete_delivery(delivery_id)
            else:
                self.store.retry_delivery(delivery_id, attempts, time.time() + delay)
                self._schedule_delivery(delivery_id, time.time() + delay)
            return
        except Exception as error:
            span.fail(error)
            log.exception("scheduler delivery %s", delivery_id)
        self.store.delete_delivery(delivery_id)
        self._maybe_complete(job["schedule_arn"])

    def _maybe_complete(self, arn: str) -> None:
        doc = self.store.get_schedule(arn)
        if doc is None or doc.get("ActionAfterCompletion") != "DELETE":
            return
        try:
            if self._next(doc, time.time()) is None:
                self.store.delete_schedule(arn)
                self._disarm(arn)
        except ScheduleError:
            pass

    async def _invoke(self, schedule_arn: str, target: dict, body: str, execution_id: str) -> None:
        arn = target["Arn"]
        match = UNIVERSAL.match(arn)
        if match:
            await self._universal(schedule_arn, match.group(1), match.group(2), body)
            return
        service, region, account = arn.split(":")[2:5]
        if service == "events" and ":event-bus/" in arn:
            params = target.get("EventBridgeParameters") or {}
            events = await self.providers.get("events")
            # sent as the schedule's account: another account's bus must allow it in its policy
            ctx = internal_ctx("events", schedule_arn.split(":")[4], region, "PutEvents")
            result = await events.put_events(ctx, {"Entries": [{
                "Source": params.get("Source") or "aws.scheduler", "DetailType": params.get("DetailType") or
                "Scheduled Event", "Detail": body, "EventBusName": arn, "Resources": [schedule_arn]}]})
            if result["FailedEntryCount"]:
                failure = result["Entries"][0]
                raise DeliveryError(failure["ErrorCode"], failure["ErrorMessage"])
            return
        group = (target.get("SqsParameters") or {}).get("MessageGroupId")
        # the schedule's role acts for its account: a target of another account must allow that account
        sender = Sender("", schedule_arn, schedule_arn.split(":")[4])
        await deliver(self.providers, arn, body, group_id=group, source="scheduler", sender=sender,
                      dedup_id=execution_id if arn.endswith(".fifo") else None,
                      partition_key=(target.get("KinesisParameters") or {}).get("PartitionKey") or execution_id)

    async def _universal(self, schedule_arn: str, sdk_service: str, action: str, body: str) -> None:
        """arn:aws:scheduler:::aws-sdk:sqs:sendMessage: the Input is the API call's parameters."""
        service = SDK_SERVICES.get(sdk_service, sdk_service)
        operation_name = action[0].upper() + action[1:]
        operation, method = await operation_method(self.providers, service, operation_name)
        if operation is None:
            raise DeliveryError("ValidationException", f"Unknown action {sdk_service}:{action}.")
        if method is None:
            raise DeliveryError("NotImplemented", f"{service} {operation_name} is not implemented by overcast yet.")
        try:
            params = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise DeliveryError("ValidationException", "Input is not valid JSON.") from None
        _, _, _, region, account = schedule_arn.split(":")[:5]
        ctx = internal_ctx(service, account, region, operation_name)
        try:
            result = method(ctx, params)
            if inspect.isawaitable(result):
                await result
        except AwsError as e:
            raise DeliveryError(e.code, e.message, client=e.status < 500) from None

    async def _dead_letter(self, job: dict, body: str, error: DeliveryError, attempts: int) -> None:
        dlq = (job["target"].get("DeadLetterConfig") or {}).get("Arn")
        if not dlq:
            log.warning("scheduler target %s failed (%s); no dead-letter queue", job["target"]["Arn"], error)
            return

        def s(v):
            return {"DataType": "String", "StringValue": str(v)[:1000] or "-"}
        attributes = {"X-Amz-Scheduler-Attempt": s(attempts), "X-Amz-Scheduler-Schedule-Arn": s(job["schedule_arn"]),
                      "X-Amz-Scheduler-Target-Arn": s(job["target"]["Arn"]),
                      "X-Amz-Scheduler-Error-Code": s(error.code), "X-Amz-Scheduler-Error-Message": s(error.message)}
        try:
            await deliver(self.providers, dlq, body, attributes=attributes,
                          sender=Sender("", job["schedule_arn"], job["schedule_arn"].split(":")[4]))
        except DeliveryError as e:
            log.warning("scheduler dead-letter queue %s unusable (%s)", dlq, e)

    # -- overcast's endpoint: run a schedule now (test clock) -------------------------------------

    async def http(self, request: HttpRequest) -> HttpResponse:
        path = request.path.rstrip("/")
        if path == "/_overcast/scheduler/fire" and request.method == "POST":
            query = {k: v[0] for k, v in parse_qs(request.query_string).items()}
            arn = query.get("schedule")
            if not arn or self.store.get_schedule(arn) is None:
                return _json(404, {"error": "NotFound", "message": f"No schedule {arn}"})
            await self._fire(arn, rearm=False)
            return _json(200, {"fired": arn})
        return _json(404, {"error": "NotFound", "message": f"No overcast endpoint {request.method} {request.path}"})


def _json(status: int, payload) -> HttpResponse:
    return HttpResponse(status, [("content-type", "application/json")], orjson.dumps(payload))
