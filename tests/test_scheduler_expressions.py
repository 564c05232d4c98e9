"""Schedule expressions (overcast/engine/schedules.py): rate(), cron() with AWS's six fields and
its special characters, at(), time zones — the examples of AWS's EventBridge documentation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from overcast.engine.schedules import ScheduleError, parse

# Thursday 26 November 2026, 20:00:30 UTC
NOW = datetime(2026, 11, 26, 20, 0, 30, tzinfo=UTC).timestamp()


def next_fire(expression: str, timezone: str | None = None, after: float = NOW) -> datetime | None:
    when = parse(expression, timezone, allow_at=True).next_after(after)
    return None if when is None else datetime.fromtimestamp(when, UTC)


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("expression, expected", [
    ("cron(0 10 * * ? *)", at(2026, 11, 27, 10, 0)),            # 10:00 every day
    ("cron(15 12 ? * MON-FRI *)", at(2026, 11, 27, 12, 15)),     # 12:15 on weekdays
    ("cron(0/10 * ? * MON-FRI *)", at(2026, 11, 26, 20, 10)),    # every 10 minutes on weekdays
    ("cron(0/5 8-17 ? * MON-FRI *)", at(2026, 11, 27, 8, 0)),    # every 5 minutes, 8:00-17:55
    ("cron(0 8 1 * ? *)", at(2026, 12, 1, 8, 0)),                # 8:00 on the first of the month
    ("cron(0 8 L * ? *)", at(2026, 11, 30, 8, 0)),               # the last day of the month
    ("cron(0 9 1W * ? *)", at(2026, 12, 1, 9, 0)),               # the weekday nearest the 1st
    ("cron(0 9 ? * 2#1 *)", at(2026, 12, 7, 9, 0)),              # the first Monday
    ("cron(0 18 ? * 6L 2027)", at(2027, 1, 29, 18, 0)),          # the last Friday, in 2027
    ("cron(30 21 ? * THU *)", at(2026, 11, 26, 21, 30)),         # later today
    ("cron(0 0 1 JAN ? *)", at(2027, 1, 1, 0, 0)),
])
def test_cron_next_fire_times(expression, expected):
    assert next_fire(expression) == expected


def test_weekday_nearest_a_saturday_is_the_friday_before():
    # 1 May 2027 is a Saturday: 1W is Monday 3 May (the Friday before is in April)
    assert next_fire("cron(0 9 1W * ? *)", after=at(2027, 4, 15, 0, 0).timestamp()) == at(2027, 5, 3, 9, 0)
    # 15 May 2027 is a Saturday: 15W is Friday 14 May
    assert next_fire("cron(0 9 15W * ? *)", after=at(2027, 5, 2, 0, 0).timestamp()) == at(2027, 5, 14, 9, 0)


def test_rate_counts_from_its_start():
    schedule = parse("rate(5 minutes)")
    assert schedule.next_after(NOW, start=NOW - 60) == NOW + 240
    assert parse("rate(1 hour)").next_after(NOW, start=NOW) == NOW + 3600
    assert parse("rate(2 days)").next_after(NOW, start=NOW + 100) == NOW + 100


def test_cron_in_a_time_zone():
    # 9:00 in New York is 14:00 UTC in November (EST)
    assert next_fire("cron(0 9 * * ? *)", "America/New_York") == at(2026, 11, 27, 14, 0)


def test_local_times_skipped_by_daylight_saving_do_not_fire():
    # 29 March 2026, 02:30 does not exist in Paris; the next 02:30 is on 30 March (00:30 UTC)
    after = at(2026, 3, 28, 12, 0).timestamp()
    assert next_fire("cron(30 2 * * ? *)", "Europe/Paris", after) == at(2026, 3, 30, 0, 30)


def test_at_fires_once():
    assert next_fire("at(2026-12-01T10:00:00)") == at(2026, 12, 1, 10, 0)
    assert next_fire("at(2026-12-01T10:00:00)", "Asia/Tokyo") == at(2026, 12, 1, 1, 0)
    assert next_fire("at(2020-01-01T00:00:00)") is None


def test_cron_past_its_last_year_never_fires():
    assert next_fire("cron(0 0 1 1 ? 2020)") is None


@pytest.mark.parametrize("expression", [
    "rate(1 minutes)", "rate(5 minute)", "rate(0 minutes)", "rate(5 weeks)", "rate(-1 minutes)",
    "cron(0 10 * * * *)",         # day-of-month and day-of-week both given
    "cron(0 10 ? * ? *)",         # both '?'
    "cron(60 10 * * ? *)", "cron(0 24 * * ? *)", "cron(0 10 32 * ? *)", "cron(0 10 ? * 8 *)",
    "cron(0 10 * * ?)", "cron(0 10 * FOO ? *)", "cron(0 9 ? * 2#6 *)", "cron(0/0 * * * ? *)",
    "every 5 minutes", "at(2026-13-01T00:00:00)",
])
def test_invalid_expressions(expression):
    with pytest.raises(ScheduleError):
        parse(expression, allow_at=True)


def test_at_is_only_for_scheduler():
    with pytest.raises(ScheduleError):
        parse("at(2026-12-01T10:00:00)")


def test_unknown_time_zone():
    with pytest.raises(ScheduleError):
        parse("rate(1 hour)", "Mars/Olympus")
