"""SSM maintenance windows: Create, Get, Update, Delete and DescribeMaintenanceWindows with AWS's
checks of a window's schedule (cron, rate or at, in an IANA time zone, with a day offset for
cron), its active period (StartDate, EndDate) and its cutoff, and NextExecutionTime computed from
them. Targets and tasks (RegisterTargetWithMaintenanceWindow, RegisterTaskWithMaintenanceWindow)
are not implemented, so no window has anything to run and none is executed."""

from __future__ import annotations

import base64
import secrets
import time
from datetime import UTC, datetime

import orjson

from overcast.aws.errors import AwsError
from overcast.engine import schedules

MAX_WINDOWS = 50  # AWS's quota of maintenance windows per account and Region
SETTINGS = ("Name", "Description", "StartDate", "EndDate", "Schedule", "ScheduleTimezone", "ScheduleOffset",
            "Duration", "Cutoff", "AllowUnassociatedTargets")
REQUIRED = ("Name", "Schedule", "Duration", "Cutoff", "AllowUnassociatedTargets")
IDENTITY = ("Name", "Description", "Enabled", "Duration", "Cutoff", "Schedule", "ScheduleTimezone", "ScheduleOffset",
            "EndDate", "StartDate")
FILTER_KEYS = ("Name", "Enabled")
DAY = 86400


def _validation(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def not_found(window_id: str) -> AwsError:
    return AwsError("DoesNotExistException", f"Maintenance window {window_id} does not exist")


def _moment(text: str | None, member: str) -> float | None:
    """An ISO-8601 date and time (StartDate, EndDate) as epoch seconds; without an offset, UTC."""
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise _validation(f"Invalid {member}: {text}. The date must be in ISO-8601 format, for example "
                          "2021-04-07T14:29:00-08:00.") from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _schedule(doc: dict) -> schedules.Schedule:
    try:
        return schedules.parse(doc["Schedule"], doc.get("ScheduleTimezone"), allow_at=True)
    except schedules.ScheduleError as e:
        if e.timezone:
            raise _validation(f"Invalid ScheduleTimezone: {doc.get('ScheduleTimezone')}. Use a time zone in IANA "
                              "format, for example America/Chicago.") from None
        raise _validation(f"Invalid Schedule: {doc['Schedule']}. Use a cron, rate or at expression.") from None


def check(doc: dict, now: float) -> None:
    """AWS's checks of a window's settings taken together."""
    schedule = _schedule(doc)
    if doc["Cutoff"] >= doc["Duration"]:
        raise _validation("The Cutoff must be less than the Duration of the maintenance window.")
    if doc.get("ScheduleOffset") is not None and schedule.kind != "cron":
        raise _validation("ScheduleOffset can only be used with a cron expression.")
    start, end = _moment(doc.get("StartDate"), "StartDate"), _moment(doc.get("EndDate"), "EndDate")
    if end is not None and end <= now:
        raise _validation("EndDate must be in the future.")
    if start is not None and end is not None and end <= start:
        raise _validation("EndDate must be later than StartDate.")


def next_execution(doc: dict, created: float, now: float) -> str | None:
    """When the window next opens, in its time zone (minutes, ISO-8601), within its active period;
    None when disabled or when it will not open again."""
    if not doc.get("Enabled"):
        return None
    schedule = _schedule(doc)
    start, end = _moment(doc.get("StartDate"), "StartDate"), _moment(doc.get("EndDate"), "EndDate")
    after = max(now, start) if start is not None else now
    offset = (doc.get("ScheduleOffset") or 0) * DAY  # the window opens that many days after the cron time
    when = schedule.next_after(after - offset, start=start if start is not None else created)
    if when is None or (end is not None and when + offset > end):
        return None
    local = datetime.fromtimestamp(when + offset, schedule.zone)
    text = local.isoformat(timespec="minutes")
    return text.removesuffix("+00:00") + "Z" if schedule.zone is UTC else text


class MaintenanceWindows:
    """The SSM provider's maintenance-window operations, on its store."""

    def __init__(self, store):
        self.store = store

    def _doc(self, ctx, window_id: str) -> tuple[dict, dict]:
        found = self.store.window(ctx.account, ctx.region, window_id)
        if found is None:
            raise not_found(window_id)
        return orjson.loads(found[0]), orjson.loads(found[1])

    def create(self, ctx, params) -> dict:
        now = time.time()
        doc = {k: params[k] for k in SETTINGS if params.get(k) is not None}
        doc["Enabled"] = True
        check(doc, now)
        token = params.get("ClientToken")
        tags = {t["Key"]: t["Value"] for t in params.get("Tags") or []}
        with self.store.transaction():
            if token:
                earlier = self.store.window_by_token(ctx.account, ctx.region, token)
                if earlier is not None:
                    kept = orjson.loads(earlier[1])
                    if any(kept.get(k) != doc.get(k) for k in SETTINGS):
                        raise AwsError("IdempotentParameterMismatch", "Error: Idempotent parameter mismatch. The "
                                       "ClientToken was used before with other parameters.")
                    return {"WindowId": earlier[0]}
            if self.store.window_count(ctx.account, ctx.region) >= MAX_WINDOWS:
                raise AwsError("ResourceLimitExceededException", f"Maximum number of maintenance windows "
                               f"({MAX_WINDOWS}) reached for this account and Region.")
            window_id = "mw-" + secrets.token_hex(9)[:17]
            doc["CreatedDate"] = doc["ModifiedDate"] = now
            self.store.put_window(ctx.account, ctx.region, window_id, orjson.dumps(doc).decode(),
                                  orjson.dumps(tags).decode(), token, now)
        return {"WindowId": window_id}

    def get(self, ctx, params) -> dict:
        doc, _ = self._doc(ctx, params["WindowId"])
        out = {"WindowId": params["WindowId"], **doc}
        upcoming = next_execution(doc, doc["CreatedDate"], time.time())
        if upcoming is not None:
            out["NextExecutionTime"] = upcoming
        return out

    def update(self, ctx, params) -> dict:
        window_id = params["WindowId"]
        with self.store.transaction():
            doc, _ = self._doc(ctx, window_id)
            if params.get("Replace"):  # the request is the whole window: what it leaves out is cleared
                missing = [k for k in REQUIRED if params.get(k) is None]
                if missing:
                    raise _validation(f"Replace requires every required setting of the window; missing: "
                                      f"{', '.join(missing)}.")
                doc = {k: v for k, v in doc.items() if k not in SETTINGS}
            doc.update({k: params[k] for k in (*SETTINGS, "Enabled") if params.get(k) is not None})
            check(doc, time.time())
            doc["ModifiedDate"] = time.time()
            self.store.update_window(ctx.account, ctx.region, window_id, doc=orjson.dumps(doc).decode())
        out = {"WindowId": window_id}
        out.update({k: doc[k] for k in (*SETTINGS, "Enabled") if k in doc})
        return out

    def delete(self, ctx, params) -> dict:
        """AWS answers the id whether or not the window existed."""
        self.store.delete_window(ctx.account, ctx.region, params["WindowId"])
        return {"WindowId": params["WindowId"]}

    def describe(self, ctx, params) -> dict:
        filters = {}
        for f in params.get("Filters") or []:
            if f["Key"] not in FILTER_KEYS:
                raise _validation(f"The filter key {f['Key']} is not valid. Valid filter keys: "
                                  f"{', '.join(FILTER_KEYS)}.")
            filters[f["Key"]] = f.get("Values") or []
        limit = params.get("MaxResults") or 10
        position = (0.0, "")
        if params.get("NextToken"):
            try:
                created, last = orjson.loads(base64.urlsafe_b64decode(params["NextToken"].encode()))
                position = (float(created), str(last))
            except Exception:
                raise _validation("The NextToken is not valid.") from None
        now, out, more = time.time(), [], False
        while True:
            rows = self.store.windows(ctx.account, ctx.region, *position, 100)
            for window_id, text, created in rows:
                position = (created, window_id)
                doc = orjson.loads(text)
                if not self._matches(doc, filters):
                    continue
                if len(out) == limit:
                    more = True
                    break
                out.append(self._identity(window_id, doc, now))
            if more or len(rows) < 100:
                break
        result = {"WindowIdentities": out}
        if more:
            last = out[-1]["WindowId"]
            created = orjson.loads(self.store.window(ctx.account, ctx.region, last)[0])["CreatedDate"]
            result["NextToken"] = base64.urlsafe_b64encode(orjson.dumps([created, last])).decode()
        return result

    @staticmethod
    def _matches(doc: dict, filters: dict) -> bool:
        if "Name" in filters and doc["Name"] not in filters["Name"]:
            return False
        if "Enabled" in filters and str(doc["Enabled"]).lower() not in [v.lower() for v in filters["Enabled"]]:
            return False
        return True

    @staticmethod
    def _identity(window_id: str, doc: dict, now: float) -> dict:
        out = {"WindowId": window_id, **{k: doc[k] for k in IDENTITY if k in doc}}
        upcoming = next_execution(doc, doc["CreatedDate"], now)
        if upcoming is not None:
            out["NextExecutionTime"] = upcoming
        return out

    # -- tags (AddTagsToResource and friends with ResourceType=MaintenanceWindow) ---------------

    def tags(self, ctx, window_id: str) -> dict:
        found = self.store.window(ctx.account, ctx.region, window_id)
        if found is None:
            raise AwsError("InvalidResourceId", "The resource ID is not valid. Verify that you entered the correct "
                           "ID and try again.")
        return orjson.loads(found[1])

    def set_tags(self, ctx, window_id: str, tags: dict) -> None:
        self.store.update_window(ctx.account, ctx.region, window_id, tags=orjson.dumps(tags).decode())
