"""Schedule expressions of EventBridge rules and EventBridge Scheduler: rate(), cron() in AWS's
six-field syntax (minutes hours day-of-month month day-of-week year, with `?`, `L`, `W`, `#`) and
at(); the next fire time after a moment, in UTC or in a time zone.

Nothing here sleeps: callers set a timer (loop.call_at) for the time `next_after` returns.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ScheduleError(ValueError):
    def __init__(self, message: str, timezone: bool = False):
        super().__init__(message)
        self.timezone = timezone  # the time zone, not the expression, is wrong


_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_MONTHS = {m: i for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}
_UNIT = {"minute": 60, "hour": 3600, "day": 86400}


class Schedule:
    """A parsed expression. `kind` is "rate", "cron" or "at"."""

    def __init__(self, expression: str, timezone: str | None = None, allow_at: bool = False):
        self.expression = expression.strip()
        try:
            self.zone = ZoneInfo(timezone) if timezone and timezone != "UTC" else UTC
        except (ZoneInfoNotFoundError, ValueError):
            raise ScheduleError(f"Invalid time zone: {timezone}", timezone=True) from None
        text = self.expression
        if m := _RATE.match(text):
            value, unit = int(m.group(1)), m.group(2)
            if value <= 0 or (value == 1) != (not unit.endswith("s")):
                raise ScheduleError(text)
            self.kind = "rate"
            self.seconds = value * _UNIT[unit.rstrip("s")]
        elif m := _CRON.match(text):
            self.kind = "cron"
            self.cron = _Cron(m.group(1))
        elif allow_at and (m := _AT.match(text)):
            self.kind = "at"
            try:
                local = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
            except ValueError:
                raise ScheduleError(text) from None
            self.at = local.replace(tzinfo=self.zone).timestamp()
        else:
            raise ScheduleError(text)

    def next_after(self, after: float, start: float | None = None) -> float | None:
        """The first fire time strictly after `after` (epoch seconds); rates count from `start`."""
        if self.kind == "rate":
            origin = start if start is not None else after
            if after < origin:
                return origin
            periods = int((after - origin) // self.seconds) + 1
            return origin + periods * self.seconds
        if self.kind == "at":
            return self.at if self.at > after else None
        return self.cron.next_after(after, self.zone)


def parse(expression: str, timezone: str | None = None, allow_at: bool = False) -> Schedule:
    return Schedule(expression, timezone, allow_at)


class _Cron:
    def __init__(self, body: str):
        fields = body.split()
        if len(fields) != 6:
            raise ScheduleError(body)
        minutes, hours, dom, month, dow, year = fields
        if (dom == "?") == (dow == "?"):
            raise ScheduleError(body)  # exactly one of day-of-month and day-of-week is '?'
        self.minutes = _values(minutes, 0, 59)
        self.hours = _values(hours, 0, 23)
        self.months = _values(month, 1, 12, _MONTHS)
        self.years = _values(year, 1970, 2199)
        self.dom = None if dom == "?" else _DayOfMonth(dom)
        self.dow = None if dow == "?" else _DayOfWeek(dow)

    def _day_matches(self, day: datetime) -> bool:
        if self.dom is not None:
            return self.dom.matches(day)
        return self.dow.matches(day)

    def next_after(self, after: float, zone) -> float | None:
        moment = datetime.fromtimestamp(after, zone).replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = moment.replace(hour=0, minute=0)
        for _ in range(366 * 8):
            if day.year > 2199:
                return None
            if day.year in self.years and day.month in self.months and self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = day.replace(hour=hour, minute=minute)
                        if candidate >= moment:
                            utc = _to_utc(candidate, zone)
                            if utc is not None and utc > after:
                                return utc
            day = (day + timedelta(days=1)).replace(hour=0, minute=0)
        return None


def _to_utc(local: datetime, zone) -> float | None:
    if zone is UTC:
        return local.timestamp()
    naive = local.replace(tzinfo=None)
    aware = naive.replace(tzinfo=zone)
    # a local time inside a DST gap does not exist: AWS skips it
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        return None
    return aware.timestamp()


def _number(text: str, low: int, high: int, names: dict | None = None) -> int:
    value = names.get(text.upper()) if names else None
    if value is None:
        if not text.isdigit():
            raise ScheduleError(text)
        value = int(text)
    if not low <= value <= high:
        raise ScheduleError(text)
    return value


def _values(field: str, low: int, high: int, names: dict | None = None) -> set[int]:
    result: set[int] = set()
    for part in field.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(field)
            step = int(step_text)
        if part == "*":
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _number(a, low, high, names), _number(b, low, high, names)
        else:
            start = _number(part, low, high, names)
            end = high if step > 1 or "/" in field else start
        if start <= end:
            result.update(range(start, end + 1, step))
        else:  # a wrapping range such as FRI-MON
            result.update(v for v in list(range(start, high + 1)) + list(range(low, end + 1)))
    return result


class _DayOfMonth:
    def __init__(self, field: str):
        self.last = self.weekday_near = None
        self.last_offset = 0
        if field == "L" or re.match(r"^L-\d+$", field):
            self.last = True
            self.last_offset = int(field[2:]) if len(field) > 1 else 0
            self.values = set()
        elif field == "LW":
            self.last, self.weekday_near = True, "L"
            self.values = set()
        elif re.match(r"^\d+W$", field):
            self.weekday_near = _number(field[:-1], 1, 31)
            self.values = set()
        else:
            self.values = _values(field, 1, 31)

    def matches(self, day: datetime) -> bool:
        days_in_month = calendar.monthrange(day.year, day.month)[1]
        if self.weekday_near is not None:
            target = days_in_month if self.weekday_near == "L" else min(self.weekday_near, days_in_month)
            return day.day == _nearest_weekday(day.year, day.month, target, days_in_month)
        if self.last:
            return day.day == days_in_month - self.last_offset
        return day.day in self.values


def _nearest_weekday(year: int, month: int, target: int, days_in_month: int) -> int:
    weekday = calendar.weekday(year, month, target)  # Monday 0 ... Sunday 6
    if weekday == 5:  # Saturday: Friday before, unless that leaves the month
        return target - 1 if target > 1 else target + 2
    if weekday == 6:  # Sunday: Monday after, unless that leaves the month
        return target + 1 if target < days_in_month else target - 2
    return target


class _DayOfWeek:
    def __init__(self, field: str):
        self.nth = self.last = None
        if m := re.match(r"^([A-Za-z]{3}|\d)#(\d)$", field):
            self.day = _number(m.group(1), 1, 7, _DAYS)
            self.nth = int(m.group(2))
            if not 1 <= self.nth <= 5:
                raise ScheduleError(field)
            self.values = set()
        elif m := re.match(r"^([A-Za-z]{3}|\d)?L$", field):
            self.day = _number(m.group(1), 1, 7, _DAYS) if m.group(1) else 7
            self.last = True
            self.values = set()
        else:
            self.values = _values(field, 1, 7, _DAYS)

    def matches(self, day: datetime) -> bool:
        aws_day = (day.weekday() + 1) % 7 + 1  # SUN=1 ... SAT=7
        if self.nth is not None:
            return aws_day == self.day and (day.day - 1) // 7 + 1 == self.nth
        if self.last:
            days_in_month = calendar.monthrange(day.year, day.month)[1]
            return aws_day == self.day and day.day + 7 > days_in_month
        return aws_day in self.values
