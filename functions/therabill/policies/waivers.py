"""When a clinician may still waive a session's fee: the practice's nightly cutoff that charges it
(pure)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from therabill.core.clock import iso, require_aware, zone
from therabill.core.errors import ConflictError, InvalidRequestError

AwareUTC = Annotated[datetime, AfterValidator(require_aware)]


class ClinicianWaiver(BaseModel):
    """A clinician's decision not to charge the fee, with who made it and when."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    waived_by: str = Field(min_length=1)
    waived_at: AwareUTC


def aware(value: datetime, field: str) -> datetime:
    try:
        return require_aware(value)
    except ValueError as exc:
        raise InvalidRequestError(f"{field} must be timezone-aware", field=field) from exc


def _checked_zone_and_cutoff(time_zone: str, cutoff_hour: int) -> None:
    if isinstance(cutoff_hour, bool) or not isinstance(cutoff_hour, int) or not 0 <= cutoff_hour <= 23:
        raise InvalidRequestError("cutoff_hour must be an hour from 0 to 23", field="cutoff_hour")
    try:
        zone(time_zone)
    except ValueError as exc:
        raise InvalidRequestError(str(exc), field="time_zone") from exc


def _local_cutoff(day: datetime, cutoff_hour: int, time_zone: str) -> datetime:
    """The cutoff hour on ``day``'s local date, as aware UTC. fold=0: a non-existent wall time maps to
    the instant the clocks jump, an ambiguous one to its first occurrence."""
    local = datetime.combine(day.date(), time(cutoff_hour), tzinfo=zone(time_zone))
    return local.astimezone(UTC)


def waiver_allowed_until(session_start: datetime, cutoff_hour: int, time_zone: str) -> datetime:
    """The aware-UTC instant by which a clinician must waive a session's fee: the practice's nightly
    cutoff on the session's local day (the next local day's if the session starts at or after it)."""
    _checked_zone_and_cutoff(time_zone, cutoff_hour)
    start = aware(session_start, "session_start")
    local_start = start.astimezone(zone(time_zone))
    deadline = _local_cutoff(local_start, cutoff_hour, time_zone)
    if deadline <= start:
        deadline = _local_cutoff(local_start + timedelta(days=1), cutoff_hour, time_zone)
    return deadline


def check_waiver(
    waiver: ClinicianWaiver, *, session_start: datetime, cutoff_hour: int, time_zone: str
) -> datetime:
    """Refuse a waiver made at or after the deadline (ConflictError: the nightly run has charged the
    fee). Returns the deadline."""
    deadline = waiver_allowed_until(session_start, cutoff_hour, time_zone)
    if waiver.waived_at >= deadline:
        raise ConflictError(
            "the fee can no longer be waived: the nightly cutoff has passed",
            reason="waiver_deadline_passed",
            deadline=iso(deadline),
            waived_at=iso(waiver.waived_at),
        )
    return deadline
