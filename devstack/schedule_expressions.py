"""EventBridge Scheduler schedule expressions: ``rate(...)``, ``cron(...)`` and ``at(...)``.

Pure functions (no I/O, no clock): parse an expression and compute the next time it fires after a
given instant, in the schedule's IANA time zone, the way EventBridge Scheduler documents it:

- ``rate(value unit)``, unit minute(s) | hour(s) | day(s). Fires at the StartDate (or at creation when
  there is none) and then every ``value`` units of elapsed time; a day is 24 hours, so a rate does not
  follow daylight-saving shifts.
- ``cron(minutes hours day-of-month month day-of-week year)``: the six-field AWS cron. Day-of-week is
  1-7 = SUN-SAT; exactly one of day-of-month and day-of-week is ``?``. Wildcards ``, - * / ? L W #``
  and month/day names. Evaluated in ``ScheduleExpressionTimezone``: when the clocks spring forward, a
  time that does not exist that day is skipped; when they fall back, a repeated time fires once
  (its first occurrence).
- ``at(yyyy-mm-ddThh:mm:ss)``: once, at that wall-clock time in the schedule's time zone.

StartDate / EndDate bound recurring schedules; they are ignored for one-time schedules.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "AtExpression",
    "CronExpression",
    "RateExpression",
    "ScheduleExpression",
    "ScheduleExpressionError",
    "next_fire_time",
    "parse_expression",
    "upcoming",
    "zone",
]


class ScheduleExpressionError(ValueError):
    """The expression (or its time zone) is not one EventBridge Scheduler accepts."""


@dataclass(frozen=True)
class RateExpression:
    every: timedelta

    def next_after(self, after: datetime, anchor: datetime) -> datetime:
        """The first of ``anchor + k*every`` (k >= 0) strictly after ``after``."""
        if after < anchor:
            return anchor
        elapsed = after - anchor
        periods = elapsed // self.every + 1
        return anchor + periods * self.every


@dataclass(frozen=True)
class AtExpression:
    local: datetime  # naive wall-clock time in the schedule's time zone

    def instant(self, tz: ZoneInfo) -> datetime:
        return self.local.replace(tzinfo=tz, fold=0).astimezone(UTC)


_MONTHS = {name.upper(): i for i, name in enumerate(calendar.month_abbr) if name}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}


def _aws_dow(day: date) -> int:
    """AWS day-of-week: 1 = Sunday ... 7 = Saturday."""
    return (day.weekday() + 1) % 7 + 1


def _days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


@dataclass(frozen=True)
class _DayOfMonth:
    kind: str  # "any" | "set" | "last" | "last_weekday" | "nearest_weekday"
    values: frozenset[int] = frozenset()
    day: int = 0

    def matches(self, d: date) -> bool:
        last = _days_in_month(d.year, d.month)
        if self.kind == "any":
            return True
        if self.kind == "set":
            return d.day in self.values
        if self.kind == "last":
            return d.day == last
        if self.kind == "last_weekday":
            target = date(d.year, d.month, last)
            while target.weekday() >= 5:
                target -= timedelta(days=1)
            return d == target
        # nearest weekday to self.day, without leaving the month
        if self.day > last:
            return False
        target = date(d.year, d.month, self.day)
        if target.weekday() == 5:  # Saturday -> Friday, or Monday if the 1st
            target = target - timedelta(days=1) if self.day > 1 else target + timedelta(days=2)
        elif target.weekday() == 6:  # Sunday -> Monday, or Friday if that leaves the month
            target = target + timedelta(days=1) if self.day < last else target - timedelta(days=2)
        return d == target


@dataclass(frozen=True)
class _DayOfWeek:
    kind: str  # "any" | "set" | "last_of_month" | "nth"
    values: frozenset[int] = frozenset()
    weekday: int = 0
    nth: int = 0

    def matches(self, d: date) -> bool:
        dow = _aws_dow(d)
        if self.kind == "any":
            return True
        if self.kind == "set":
            return dow in self.values
        if self.kind == "last_of_month":
            return dow == self.weekday and d.day + 7 > _days_in_month(d.year, d.month)
        return dow == self.weekday and (d.day - 1) // 7 + 1 == self.nth


@dataclass(frozen=True)
class CronExpression:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    day_of_month: _DayOfMonth
    months: frozenset[int]
    day_of_week: _DayOfWeek
    years: frozenset[int]
    restrict_dom: bool  # day-of-month is the restricting field (day-of-week is "?")

    def day_matches(self, d: date) -> bool:
        if d.year not in self.years or d.month not in self.months:
            return False
        if self.restrict_dom:
            return self.day_of_month.matches(d)
        return self.day_of_week.matches(d)

    def next_after(
        self,
        after: datetime,
        tz: ZoneInfo,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> datetime | None:
        """The first firing instant (UTC) strictly after ``after`` within the bounds, or None."""
        threshold = after
        day = after.astimezone(tz).date()
        if not_before is not None and not_before > after:
            threshold = not_before - timedelta(microseconds=1)
            day = not_before.astimezone(tz).date()
        last_year = max(self.years)
        while day.year <= last_year:
            if day.year not in self.years:
                day = date(day.year + 1, 1, 1)
                continue
            if day.month not in self.months:
                day = date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)
                continue
            if self.day_matches(day):
                for hour in self.hours:
                    for minute in self.minutes:
                        local = datetime(day.year, day.month, day.day, hour, minute)  # noqa: DTZ001 - wall clock
                        aware = local.replace(tzinfo=tz, fold=0)
                        instant = aware.astimezone(UTC)
                        if instant.astimezone(tz).replace(tzinfo=None) != local:
                            continue  # does not exist today (clocks sprang forward): skipped
                        if instant <= threshold:
                            continue
                        if not_after is not None and instant > not_after:
                            return None
                        return instant
            if not_after is not None and datetime(
                day.year, day.month, day.day, tzinfo=tz
            ) > not_after + timedelta(days=1):
                return None
            day += timedelta(days=1)
        return None


ScheduleExpression = RateExpression | CronExpression | AtExpression

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone (``UTC`` when unset)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleExpressionError(f"unknown time zone {name!r}") from exc


def parse_expression(expression: str) -> ScheduleExpression:
    text = expression.strip()
    if match := _RATE.match(text):
        value = int(match.group(1))
        if value < 1:
            raise ScheduleExpressionError(f"rate must be a positive integer: {expression!r}")
        return RateExpression(every=value * _UNITS[match.group(2).rstrip("s")])
    if match := _AT.match(text):
        try:
            return AtExpression(local=datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S"))  # noqa: DTZ007 - wall-clock time in the schedule's zone
        except ValueError as exc:
            raise ScheduleExpressionError(f"invalid at() time: {expression!r}") from exc
    if match := _CRON.match(text):
        return _parse_cron(match.group(1), expression)
    raise ScheduleExpressionError(f"not a rate(), cron() or at() expression: {expression!r}")


def _number(token: str, low: int, high: int, names: dict[str, int] | None, expression: str) -> int:
    upper = token.upper()
    if names and upper in names:
        return names[upper]
    if not token.isdigit():
        raise ScheduleExpressionError(f"bad value {token!r} in {expression!r}")
    value = int(token)
    if not low <= value <= high:
        raise ScheduleExpressionError(f"value {value} out of range {low}-{high} in {expression!r}")
    return value


def _values(field: str, low: int, high: int, names: dict[str, int] | None, expression: str) -> frozenset[int]:
    """A standard field: lists of ``*``, ``a``, ``a-b`` (may wrap), each with an optional ``/step``."""
    result: set[int] = set()
    for item in field.split(","):
        if not item:
            raise ScheduleExpressionError(f"empty list item in {expression!r}")
        base, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) < 1:
                raise ScheduleExpressionError(f"bad step {item!r} in {expression!r}")
            step = int(step_text)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start = _number(first, low, high, names, expression)
            end = _number(last, low, high, names, expression)
        else:
            start = _number(base, low, high, names, expression)
            end = high if step_text else start
        span = (
            list(range(start, end + 1)) if start <= end else [*range(start, high + 1), *range(low, end + 1)]
        )
        result.update(span[::step])
    return frozenset(result)


def _parse_dom(field: str, expression: str) -> _DayOfMonth:
    upper = field.upper()
    if upper == "?":
        return _DayOfMonth("any")
    if upper == "L":
        return _DayOfMonth("last")
    if upper == "LW":
        return _DayOfMonth("last_weekday")
    if upper.endswith("W"):
        return _DayOfMonth("nearest_weekday", day=_number(upper[:-1], 1, 31, None, expression))
    return _DayOfMonth("set", values=_values(field, 1, 31, None, expression))


def _parse_dow(field: str, expression: str) -> _DayOfWeek:
    upper = field.upper()
    if upper == "?":
        return _DayOfWeek("any")
    if upper == "L":
        return _DayOfWeek("set", values=frozenset({7}))
    if upper.endswith("L"):
        return _DayOfWeek("last_of_month", weekday=_number(upper[:-1], 1, 7, _DAYS, expression))
    if "#" in upper:
        day, _, nth = upper.partition("#")
        return _DayOfWeek(
            "nth", weekday=_number(day, 1, 7, _DAYS, expression), nth=_number(nth, 1, 5, None, expression)
        )
    return _DayOfWeek("set", values=_values(upper, 1, 7, _DAYS, expression))


def _parse_cron(body: str, expression: str) -> CronExpression:
    fields = body.split()
    if len(fields) != 6:
        raise ScheduleExpressionError(f"cron() needs 6 fields, got {len(fields)}: {expression!r}")
    minutes, hours, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ScheduleExpressionError(
            f"exactly one of day-of-month and day-of-week must be '?': {expression!r}"
        )
    return CronExpression(
        minutes=tuple(sorted(_values(minutes, 0, 59, None, expression))),
        hours=tuple(sorted(_values(hours, 0, 23, None, expression))),
        day_of_month=_parse_dom(dom, expression),
        months=_values(month.upper(), 1, 12, _MONTHS, expression),
        day_of_week=_parse_dow(dow, expression),
        years=_values(year, 1970, 2199, None, expression),
        restrict_dom=dow == "?",
    )


def next_fire_time(
    expression: str | ScheduleExpression,
    after: datetime,
    *,
    time_zone: str | None = "UTC",
    anchor: datetime | None = None,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
) -> datetime | None:
    """The first instant (aware, UTC) the schedule fires strictly after ``after``; None if never.

    ``anchor`` is when a rate schedule without a StartDate was created (its first invocation).
    """
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    parsed = parse_expression(expression) if isinstance(expression, str) else expression
    tz = zone(time_zone)
    if isinstance(parsed, AtExpression):
        instant = parsed.instant(tz)
        return instant if instant > after else None
    if isinstance(parsed, RateExpression):
        start = start_date or anchor
        if start is None:
            raise ValueError("a rate schedule needs a StartDate or its creation time")
        instant = parsed.next_after(after, start)
        if end_date is not None and instant > end_date:
            return None
        return instant
    return parsed.next_after(after, tz, not_before=start_date, not_after=end_date)


def upcoming(expression: str, after: datetime, count: int, **kwargs: object) -> list[datetime]:
    """The next ``count`` firing instants (fewer if the schedule ends)."""
    result: list[datetime] = []
    cursor = after
    for _ in range(count):
        instant = next_fire_time(expression, cursor, **kwargs)  # type: ignore[arg-type]
        if instant is None:
            break
        result.append(instant)
        cursor = instant
    return result
