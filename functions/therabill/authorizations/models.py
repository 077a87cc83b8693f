"""A payer's authorization of visits (or units) for one coverage, and which one a session uses.
Pure.

An authorization counts visits or units the payer agreed to pay for between two dates,
optionally only for some CPT codes. A completed insured session uses the one that fits (the
client's primary coverage in force on the date of service, the date inside the range, the
session's CPT code among the named ones); a use is recorded once per session with the count it
brought the authorization to (``through``), so the nightly run can tell the uses beyond the
number authorized. Use may exceed the number: the visit happened; readiness flags it.

CPT codes and the payer's reference are health information: never logged, never in an audit
record or an error message.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Counted = Literal["visits", "units"]
AuthorizationStatus = Literal["active", "removed"]
# What keeps a session (or a booking) from an authorization, as the nightly run's reason codes.
Problem = Literal["authorization_missing", "authorization_expired", "authorization_used_up"]
UNIT_MINUTES = 15  # a timed CPT code's unit
UNIT_THRESHOLD_MINUTES = 8  # the "8-minute rule": a unit counts from 8 minutes on


class Authorization(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    client_id: str
    coverage_id: str
    counted: Counted = "visits"
    authorized: int = Field(ge=1, le=9999)
    used: int = 0  # may exceed ``authorized``: the visits happened
    cpt_codes: tuple[str, ...] = ()  # empty: any code
    start_date: date
    end_date: date  # the last day covered
    reference: str | None = None  # the payer's authorization number
    status: AuthorizationStatus = "active"
    created_at: datetime
    version: int

    @property
    def remaining(self) -> int:
        return self.authorized - self.used

    def covers(self, day: date) -> bool:
        return self.start_date <= day <= self.end_date

    def applies(self, coverage_id: str, cpt_code: str | None) -> bool:
        """Active, for this coverage and (when it names codes) this code."""
        return (
            self.status == "active"
            and self.coverage_id == coverage_id
            and (not self.cpt_codes or cpt_code in self.cpt_codes)
        )


@dataclass(frozen=True)
class Usage:
    """One session's use: which authorization, how much, and the used count it brought it to."""

    session_id: str
    client_id: str
    authorization_id: str
    amount: int
    through: int
    service_date: date


def units_of(counted: Counted, actual_seconds: int | None) -> int:
    """What one session uses: a visit, or its 15-minute units by the 8-minute rule (at least 1)."""
    if counted == "visits" or not actual_seconds:
        return 1
    minutes = actual_seconds // 60
    whole, rest = divmod(minutes, UNIT_MINUTES)
    return max(1, whole + (1 if rest >= UNIT_THRESHOLD_MINUTES else 0))


def choose(
    authorizations: Iterable[Authorization],
    coverage_id: str,
    day: date,
    cpt_code: str | None,
    *,
    waiting: Mapping[str, int] | None = None,
) -> Authorization | None:
    """The authorization a session on ``day`` uses: of those that apply and cover the day, one
    with something left first (less what ``waiting`` sessions without a use will take of it),
    then one naming the session's code over one for any code, then the one ending soonest (then
    the oldest)."""
    fitting = [a for a in authorizations if a.applies(coverage_id, cpt_code) and a.covers(day)]
    if not fitting:
        return None
    held = waiting or {}
    return min(
        fitting, key=lambda a: (a.remaining - held.get(a.id, 0) <= 0, not a.cpt_codes, a.end_date, a.id)
    )


def booking_problem(
    authorizations: Iterable[Authorization],
    coverage_id: str,
    day: date,
    cpt_code: str | None,
    *,
    pending: Iterable[tuple[date, int | None]] = (),
    seconds: int | None = None,
) -> Problem | None:
    """What a booking on ``day`` (``seconds`` long) meets: no authorization at all, none covering
    the day (past its end, or not begun), or not enough left once the client's other sessions not
    yet completed (``pending``: each one's date and scheduled length) are counted against it: a
    visit each, or, where it counts units, each one's scheduled units by the 8-minute rule."""
    applying = [a for a in authorizations if a.applies(coverage_id, cpt_code)]
    if not applying:
        return "authorization_missing"
    chosen = choose(applying, coverage_id, day, cpt_code)
    if chosen is None:
        return "authorization_expired"
    waiting = sum(units_of(chosen.counted, length) for d, length in pending if chosen.covers(d))
    needed = units_of(chosen.counted, seconds)
    return "authorization_used_up" if chosen.remaining - waiting < needed else None


@dataclass(frozen=True)
class Asked:
    """An insured session whose primary coverage's payer requires an authorization, as readiness
    asks about it: that coverage, the date of service, the code and the length (units)."""

    session_id: str
    coverage_id: str
    day: date
    cpt_code: str | None
    seconds: int | None = None
    completed: bool = True  # a no-show is judged, but takes nothing
    start: datetime | None = None  # the scheduled start: the order within a day

    @property
    def order(self) -> tuple[date, float, str]:
        """Sessions without a use take their share in this order: by date of service, by time."""
        return (self.day, self.start.timestamp() if self.start else 0.0, self.session_id)


def readiness_problems(
    authorizations: Iterable[Authorization], asked: Iterable[Asked], usages: Mapping[str, Usage]
) -> dict[str, Problem | None]:
    """Why each session cannot be claimed yet (None: nothing). A use of an active authorization
    counts when it lay within the number (its ``through``), unless uses given back since brought the
    count within it again. A session without one (completed before the authorization was entered or
    required, a use a crash left out), or whose use names a removed one, takes its share of the one
    that fits, by date of service then time, after the uses recorded: two such sessions against one
    visit left, the first passes and the second is used up."""
    found = {a.id: a for a in authorizations}
    waiting: dict[str, int] = defaultdict(int)
    out: dict[str, Problem | None] = {}
    for s in sorted(asked, key=lambda s: s.order):
        usage = usages.get(s.session_id)
        held = found.get(usage.authorization_id) if usage is not None else None
        if usage is not None and held is not None and held.status == "active":
            over = usage.through > held.authorized and held.used > held.authorized
            out[s.session_id] = "authorization_used_up" if over else None
        else:
            out[s.session_id] = _unused_problem(list(found.values()), s, waiting)
    return out


def _unused_problem(authorizations: list[Authorization], s: Asked, waiting: dict[str, int]) -> Problem | None:
    applying = [a for a in authorizations if a.applies(s.coverage_id, s.cpt_code)]
    if not applying:
        return "authorization_missing"
    chosen = choose(applying, s.coverage_id, s.day, s.cpt_code, waiting=waiting)
    if chosen is None:
        return "authorization_expired"
    amount = units_of(chosen.counted, s.seconds) if s.completed else 1
    over = chosen.used + waiting[chosen.id] + amount > chosen.authorized
    if s.completed:
        waiting[chosen.id] += amount
    return "authorization_used_up" if over else None
