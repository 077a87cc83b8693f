"""A practice's holiday calendar for its nightly run: which dates skip the run and which move it to
another date (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

HolidayCalendar = Mapping[str, str]  # "YYYY-MM-DD" → "skip" | "YYYY-MM-DD" (moved to)

MAX_DATES = 366
MAX_MOVE_DAYS = 14


def validate_calendar(calendar: Mapping[str, str]) -> dict[str, str]:
    """A holiday calendar: each key a date, each value ``skip`` or another date. Raises ValueError."""
    out: dict[str, str] = {}
    if len(calendar) > MAX_DATES:
        raise ValueError("a holiday calendar has at most 366 dates")
    for k, v in calendar.items():
        day = date.fromisoformat(k)
        if v != "skip":
            to = date.fromisoformat(v)
            if to == day:
                raise ValueError(f"{k} cannot be moved to itself")
            if abs((to - day).days) > MAX_MOVE_DAYS:
                raise ValueError(f"{k} can be moved by two weeks at most")
            if v in calendar:
                raise ValueError(f"{k} is moved to {v}, which is itself skipped or moved")
        out[day.isoformat()] = v
    return out
