"""The nights of a practice's run, pure: the local run date a firing belongs to, the cutoff's
instant, the evening summary's hour, the overdue alarm, and the holiday calendar's decisions.

* ``run_date_at`` / ``summary_run_date_at``: the local run date a firing belongs to.
* ``run_overdue``: a run not done two hours after its cutoff (the operators' alarm).
* ``decide_firing``: the holiday calendar (skip a night, or move it to another date).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from therabill.practices.calendar import HolidayCalendar
from therabill.practices.models import Practice


def run_date_at(at: datetime, time_zone: str, cutoff_hour: int) -> date:
    """The run date a firing at ``at`` belongs to: the local date of the cutoff that has passed
    last. A firing a little late (or early: Scheduler's flexible window) keeps its date."""
    local = at.astimezone(ZoneInfo(time_zone))
    # Up to 12 hours before the cutoff still counts as that night's run (a staff "run now" in
    # the evening); after midnight it is still the previous night's until 12 h past the cutoff.
    anchor = local - timedelta(hours=cutoff_hour - 12)
    return anchor.date()


def cutoff_instant(run_date: date, time_zone: str, cutoff_hour: int) -> datetime:
    """The cutoff of ``run_date`` as an aware UTC instant (a cutoff hour the clocks skip that day
    is the first instant after it)."""
    tz = ZoneInfo(time_zone)
    naive = datetime.combine(run_date, time(cutoff_hour))
    at = naive.replace(tzinfo=tz)
    # Normalise a non-existent wall time (spring forward) through UTC.
    return at.astimezone(UTC).astimezone(tz).astimezone(UTC)


def run_overdue(
    run_date: date, started_at: datetime, practice: Practice, *, now: datetime, grace: timedelta
) -> bool:
    """Whether a run not yet done at ``now`` is overdue: ``grace`` past its cutoff in the
    practice's zone, or past its start when it started later than that (staff started it by hand)."""
    cutoff = cutoff_instant(run_date, practice.time_zone, practice.cutoff_hour)
    return now > max(cutoff, started_at) + grace


def hour_skipped_some_day(time_zone: str, hour: int, start: date, days: int = 731) -> bool:
    """Whether ``hour``:00 does not exist on some local day of ``[start, start + days)``: the
    clocks spring forward over it (EventBridge Scheduler then skips a cron firing at that hour)."""
    tz = ZoneInfo(time_zone)
    for n in range(days):
        wall = datetime.combine(start + timedelta(days=n), time(hour))
        if wall.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) != wall:
            return True
    return False


def summary_hour(cutoff_hour: int, hours_before: int) -> tuple[int, int]:
    """(local hour of the evening summary, day offset from the run date: 0 or -1)."""
    h = cutoff_hour - hours_before
    return (h % 24, 0 if h >= 0 else -1)


def summary_run_date_at(at: datetime, time_zone: str, cutoff_hour: int, hours_before: int) -> date:
    """The run a summary firing at ``at`` announces: the next cutoff after it."""
    return run_date_at(at + timedelta(hours=hours_before), time_zone, cutoff_hour)


@dataclass(frozen=True)
class FiringDecision:
    run: bool
    run_date: date
    moved_from: tuple[date, ...] = ()
    reason: str = ""


def decide_firing(run_date: date, calendar: HolidayCalendar) -> FiringDecision:
    """What a firing for ``run_date`` does: skip (the date is skipped or moved away) or run, also
    covering the nights moved onto it. Each run date has at most one run (its run id)."""
    entry = calendar.get(run_date.isoformat())
    if entry == "skip":
        return FiringDecision(False, run_date, reason="holiday: skipped")
    if entry is not None:
        return FiringDecision(False, run_date, reason=f"holiday: moved to {entry}")
    moved = tuple(sorted(date.fromisoformat(k) for k, v in calendar.items() if v == run_date.isoformat()))
    return FiringDecision(True, run_date, moved_from=moved)
