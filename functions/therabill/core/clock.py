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
