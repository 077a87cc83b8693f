"""The local scheduler's expression engine: rate(), cron() and at() as EventBridge Scheduler
documents them, including time zones and daylight-saving transitions. Pure: no clock, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from devstack.schedule_expressions import (
    AtExpression,
    RateExpression,
    ScheduleExpressionError,
    next_fire_time,
    parse_expression,
    upcoming,
)

NY = "America/New_York"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ------------------------------------------------------------------------------------ rate()
@pytest.mark.parametrize(
    ("expression", "every"),
    [
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(15 minutes)", timedelta(minutes=15)),
        ("rate(1 hour)", timedelta(hours=1)),
        ("rate(2 hours)", timedelta(hours=2)),
        ("rate(1 day)", timedelta(days=1)),
        ("rate(5 days)", timedelta(days=5)),
    ],
)
def test_rate_units(expression: str, every: timedelta) -> None:
    assert parse_expression(expression) == RateExpression(every=every)


def test_rate_fires_at_creation_then_every_period() -> None:
    # Given a rate schedule created at 10:00:30 with no StartDate
    created = utc(2024, 5, 1, 10, 0, 30)
    # Then it fires at creation, then every 15 minutes from there
    assert next_fire_time("rate(15 minutes)", created - timedelta(seconds=1), anchor=created) == created
    assert upcoming("rate(15 minutes)", created, 3, anchor=created) == [
        utc(2024, 5, 1, 10, 15, 30),
        utc(2024, 5, 1, 10, 30, 30),
        utc(2024, 5, 1, 10, 45, 30),
    ]


def test_rate_start_and_end_dates() -> None:
    start = utc(2024, 5, 2, 0, 0)
    end = utc(2024, 5, 2, 2, 0)
    after = utc(2024, 5, 1, 12, 0)
    assert upcoming("rate(1 hour)", after, 10, anchor=utc(2024, 5, 1), start_date=start, end_date=end) == [
        start,
        utc(2024, 5, 2, 1),
        end,
    ]


def test_rate_days_are_24_hours_across_dst() -> None:
    # A day is 24 hours of elapsed time: the local hour moves when the clocks change.
    anchor = utc(2024, 3, 9, 14, 0)  # 09:00 EST
    fires = upcoming("rate(1 day)", anchor, 2, anchor=anchor, time_zone=NY)
    assert fires == [utc(2024, 3, 10, 14, 0), utc(2024, 3, 11, 14, 0)]  # 10:00 EDT


@pytest.mark.parametrize(
    "expression", ["rate(0 minutes)", "rate(5 weeks)", "rate(minutes)", "rate(-1 minutes)", "rate(1.5 hours)"]
)
def test_bad_rates_are_rejected(expression: str) -> None:
    with pytest.raises(ScheduleExpressionError):
        parse_expression(expression)


# ------------------------------------------------------------------------------------ at()
def test_at_is_wall_clock_time_in_the_schedule_zone() -> None:
    assert parse_expression("at(2024-07-04T09:30:00)") == AtExpression(datetime(2024, 7, 4, 9, 30))
    # 09:30 in New York in July is 13:30 UTC (EDT, UTC-4)
    assert next_fire_time("at(2024-07-04T09:30:00)", utc(2024, 7, 1), time_zone=NY) == utc(2024, 7, 4, 13, 30)
    assert next_fire_time("at(2024-07-04T09:30:00)", utc(2024, 7, 1)) == utc(2024, 7, 4, 9, 30)


def test_at_fires_once() -> None:
    when = utc(2024, 7, 4, 13, 30)
    assert next_fire_time("at(2024-07-04T09:30:00)", when, time_zone=NY) is None
    assert upcoming("at(2024-07-04T09:30:00)", utc(2024, 1, 1), 5, time_zone=NY) == [when]


@pytest.mark.parametrize(
    "expression", ["at(2024-02-30T00:00:00)", "at(2024-07-04 09:30:00)", "at(2024-07-04T09:30)"]
)
def test_bad_at_is_rejected(expression: str) -> None:
    with pytest.raises(ScheduleExpressionError):
        parse_expression(expression)


# ------------------------------------------------------------------------------------ cron()
def test_cron_daily_in_utc() -> None:
    assert upcoming("cron(0 12 * * ? *)", utc(2024, 1, 1, 12, 0), 2) == [
        utc(2024, 1, 2, 12),
        utc(2024, 1, 3, 12),
    ]


def test_cron_every_fifteen_minutes_in_office_hours_on_weekdays() -> None:
    # Friday 2024-05-03 17:50 UTC -> next is Monday 09:00
    fires = upcoming("cron(0/15 9-17 ? * MON-FRI *)", utc(2024, 5, 3, 17, 40), 3)
    assert fires == [utc(2024, 5, 3, 17, 45), utc(2024, 5, 6, 9, 0), utc(2024, 5, 6, 9, 15)]


def test_cron_day_of_week_numbers_are_sunday_first() -> None:
    # 1 = SUN ... 7 = SAT
    assert next_fire_time("cron(0 8 ? * 1 *)", utc(2024, 5, 1)) == utc(2024, 5, 5, 8)  # Sunday
    assert next_fire_time("cron(0 8 ? * 7 *)", utc(2024, 5, 1)) == utc(2024, 5, 4, 8)  # Saturday


def test_cron_nightly_at_practice_cutoff_hour_follows_the_time_zone() -> None:
    # 23:00 New York time: 04:00 UTC in winter (EST), 03:00 UTC in summer (EDT)
    assert next_fire_time("cron(0 23 * * ? *)", utc(2024, 1, 15, 12), time_zone=NY) == utc(2024, 1, 16, 4)
    assert next_fire_time("cron(0 23 * * ? *)", utc(2024, 7, 15, 12), time_zone=NY) == utc(2024, 7, 16, 3)


def test_cron_spring_forward_skips_the_missing_time() -> None:
    # 2024-03-10 02:30 does not exist in New York (02:00 -> 03:00): that day is skipped.
    fires = upcoming("cron(30 2 * * ? *)", utc(2024, 3, 9, 12), 2, time_zone=NY)
    assert fires == [utc(2024, 3, 11, 6, 30), utc(2024, 3, 12, 6, 30)]


def test_cron_fall_back_runs_the_repeated_hour_once() -> None:
    # 2024-11-03 01:00-01:59 happens twice in New York; the schedule runs once (the first, EDT).
    fires = upcoming("cron(0/30 1 * * ? *)", utc(2024, 11, 2, 12), 4, time_zone=NY)
    assert fires == [
        utc(2024, 11, 3, 5, 0),
        utc(2024, 11, 3, 5, 30),
        utc(2024, 11, 4, 6, 0),
        utc(2024, 11, 4, 6, 30),
    ]


def test_cron_every_hour_across_fall_back_never_repeats_a_local_hour() -> None:
    fires = upcoming("cron(0 * * * ? *)", utc(2024, 11, 3, 4, 30), 3, time_zone=NY)
    # 00:00 EDT (04:00Z) passed; 01:00 EDT (05:00Z); 01:00 EST (06:00Z) is skipped; 02:00 EST (07:00Z)
    assert fires == [utc(2024, 11, 3, 5), utc(2024, 11, 3, 7), utc(2024, 11, 3, 8)]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("cron(0 9 L * ? *)", [utc(2024, 2, 29, 9), utc(2024, 3, 31, 9)]),  # last day
        ("cron(0 9 LW * ? *)", [utc(2024, 2, 29, 9), utc(2024, 3, 29, 9)]),  # last weekday
        ("cron(0 9 1W * ? *)", [utc(2024, 2, 1, 9), utc(2024, 3, 1, 9)]),  # nearest weekday
        ("cron(0 9 15W * ? *)", [utc(2024, 2, 15, 9), utc(2024, 3, 15, 9)]),
        ("cron(0 9 ? * 6L *)", [utc(2024, 2, 23, 9), utc(2024, 3, 29, 9)]),  # last Friday
        ("cron(0 9 ? * 2#1 *)", [utc(2024, 2, 5, 9), utc(2024, 3, 4, 9)]),  # first Monday
        ("cron(0 9 ? * MON#3 *)", [utc(2024, 2, 19, 9), utc(2024, 3, 18, 9)]),
        ("cron(0 0 1 JAN,JUL ? *)", [utc(2024, 7, 1), utc(2025, 1, 1)]),
        ("cron(0 0 29 2 ? *)", [utc(2024, 2, 29), utc(2028, 2, 29)]),  # leap days only
        ("cron(0 0 1 1 ? 2025-2026)", [utc(2025, 1, 1), utc(2026, 1, 1)]),
    ],
)
def test_cron_wildcards(expression: str, expected: list[datetime]) -> None:
    assert upcoming(expression, utc(2024, 2, 1), 2) == expected


def test_cron_nearest_weekday_stays_in_the_month() -> None:
    # 2024-06-01 is a Saturday: 1W is Monday the 3rd (not Friday May 31st).
    # 2024-03-31 is a Sunday and the month's last day: 31W is Friday the 29th.
    assert next_fire_time("cron(0 9 1W * ? *)", utc(2024, 5, 15)) == utc(2024, 6, 3, 9)
    assert next_fire_time("cron(0 9 31W * ? *)", utc(2024, 3, 1)) == utc(2024, 3, 29, 9)


def test_cron_with_a_year_in_the_past_never_fires() -> None:
    assert next_fire_time("cron(0 0 1 1 ? 2020)", utc(2024, 1, 1)) is None


def test_cron_start_and_end_dates() -> None:
    fires = upcoming(
        "cron(0 12 * * ? *)",
        utc(2024, 1, 1),
        10,
        start_date=utc(2024, 1, 5, 13),
        end_date=utc(2024, 1, 8, 12),
    )
    assert fires == [utc(2024, 1, 6, 12), utc(2024, 1, 7, 12), utc(2024, 1, 8, 12)]


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 12 * * * *)",  # neither day field is '?'
        "cron(0 12 ? * ? *)",  # both are
        "cron(0 12 * * ?)",  # five fields
        "cron(60 12 * * ? *)",  # minute out of range
        "cron(0 24 * * ? *)",  # hour out of range
        "cron(0 12 ? * 8 *)",  # day of week out of range
        "cron(0 12 ? * FOO *)",
        "cron(0/0 12 * * ? *)",  # zero step
        "every day",
    ],
)
def test_bad_crons_are_rejected(expression: str) -> None:
    with pytest.raises(ScheduleExpressionError):
        parse_expression(expression)


def test_unknown_time_zone_is_rejected() -> None:
    with pytest.raises(ScheduleExpressionError):
        next_fire_time("cron(0 12 * * ? *)", utc(2024, 1, 1), time_zone="Mars/Olympus")


def test_after_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_fire_time("cron(0 12 * * ? *)", datetime(2024, 1, 1))
