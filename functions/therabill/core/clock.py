"""Time: every instant is timezone-aware UTC; local days come from a practice's IANA zone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def require_aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetimes are not allowed; use timezone-aware UTC")
    return value.astimezone(UTC)


def iso(value: datetime) -> str:
    """Sortable ISO-8601 text in UTC with a Z suffix, for keys and stored attributes (the year in
    four digits: strftime's ``%Y`` drops the leading zeros of a year before 1000 on Linux)."""
    return require_aware(value).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_iso(text: str) -> datetime:
    return require_aware(datetime.fromisoformat(text.replace("Z", "+00:00")))


def local_date(at: datetime, time_zone: str) -> date:
    """The date an instant falls on in a time zone (a practice's local day)."""
    return at.astimezone(zone(time_zone)).date()


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {name!r}") from exc


_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def day_text(day: date, *, long: bool = False) -> str:
    """A date as a person reads it: ``Tue 3 Nov 2026`` (invoices, their lines and emails), or
    ``long``, ``Tuesday 3 November 2026`` (the pages). English names on purpose: the server's
    locale never changes them. A datetime gives its own (already local) date."""
    weekday, month = _DAY_NAMES[day.weekday()], _MONTH_NAMES[day.month - 1]
    if long:
        return f"{weekday} {day.day} {month} {day.year}"
    return f"{weekday[:3]} {day.day} {month[:3]} {day.year}"
