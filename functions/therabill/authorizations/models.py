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

from collections.abc import Iterable
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
    authorizations: Iterable[Authorization], coverage_id: str, day: date, cpt_code: str | None
) -> Authorization | None:
    """The authorization a session on ``day`` uses: of those that apply and cover the day, one
    with something left first, then one naming the session's code over one for any code, then
    the one ending soonest (then the oldest)."""
    fitting = [a for a in authorizations if a.applies(coverage_id, cpt_code) and a.covers(day)]
    if not fitting:
        return None
    return min(fitting, key=lambda a: (a.remaining <= 0, not a.cpt_codes, a.end_date, a.id))


def booking_problem(
    authorizations: Iterable[Authorization],
    coverage_id: str,
    day: date,
    cpt_code: str | None,
    *,
    pending: Iterable[date] = (),
) -> Problem | None:
    """What a booking on ``day`` meets: no authorization at all, none covering the day (past its
    end, or not begun), or none with a visit left once the client's other sessions not yet
    completed (``pending``: their dates) are counted against it."""
    applying = [a for a in authorizations if a.applies(coverage_id, cpt_code)]
    if not applying:
        return "authorization_missing"
    chosen = choose(applying, coverage_id, day, cpt_code)
    if chosen is None:
        return "authorization_expired"
    waiting = sum(1 for d in pending if chosen.covers(d))
    return "authorization_used_up" if chosen.remaining - waiting <= 0 else None


def readiness_problem(
    authorizations: Iterable[Authorization],
    coverage_id: str | None,
    day: date,
    cpt_code: str | None,
    usage: Usage | None,
) -> Problem | None:
    """Why an insured session whose payer requires an authorization cannot be claimed yet. A use
    counts when it lay within the number authorized (its ``through``), unless uses given back
    since brought the count within it again. No use: no authorization applied, or none covered
    the day, or (a use a crash left unrecorded) one fits now."""
    found = {a.id: a for a in authorizations}
    if usage is not None and usage.authorization_id in found:
        used = found[usage.authorization_id]
        over = usage.through > used.authorized and used.used > used.authorized
        return "authorization_used_up" if over else None
    if coverage_id is None:
        return "authorization_missing"
    applying = [a for a in found.values() if a.applies(coverage_id, cpt_code)]
    if not applying:
        return "authorization_missing"
    chosen = choose(applying, coverage_id, day, cpt_code)
    if chosen is None:
        return "authorization_expired"
    return "authorization_used_up" if chosen.remaining <= 0 else None
