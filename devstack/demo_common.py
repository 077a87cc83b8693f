"""What the demo scenarios share: times as the API takes them, the practice's clinician, a
session that has ended and been completed, and firing a practice's schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from devstack.slice import Slice, poll

_CLINICIANS: dict[tuple[str, str | None], str] = {}  # (gateway, practice) → the demo clinician


def utc_z(dt: datetime) -> str:
    """``2026-12-04T14:30:00Z``: an instant as the staff API takes it."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def demo_clinician(s: Slice) -> str:
    """The staff id of the practice's demo clinician (sessions name a staff member who may treat):
    a clinician who does not sign in, added once per practice through ``POST /staff``."""
    key = (s.gateway_url, s.practice_id)
    if key not in _CLINICIANS:
        body = {"name": "Dr Demo Clinician", "role": "clinician", "sign_in": False}
        member = s.staff("POST", "/staff", body, expect=(201,))
        _CLINICIANS[key] = str(member["id"])
    return _CLINICIANS[key]


def completed_session(
    s: Slice,
    client_id: str,
    service_id: str,
    *,
    key: str,
    minutes: int,
    ago: timedelta = timedelta(hours=2),
) -> dict[str, Any]:
    """A session that started ``ago`` (two hours ago) and lasted ``minutes`` (a session is
    completed only once it has ended): booked (``key``: its Idempotency-Key), checked in and
    completed."""
    start = datetime.now(UTC).replace(second=0, microsecond=0) - ago
    body = {
        "client_id": client_id,
        "service_id": service_id,
        "clinician_id": demo_clinician(s),
        "scheduled_start": utc_z(start),
    }
    session = s.staff("POST", "/sessions", body, expect=(201,), headers={"Idempotency-Key": key})
    s.staff("POST", f"/sessions/{session['id']}/check-in")
    end = {"actual_start": utc_z(start), "actual_end": utc_z(start + timedelta(minutes=minutes))}
    return dict(s.staff("POST", f"/sessions/{session['id']}/complete", end))


def fire_schedule(s: Slice, name: str) -> None:
    """Fire one of the practice's schedules through the local scheduler (as Scheduler would)."""

    def fired() -> bool | None:
        response = s.request(
            "POST", f"{s.gateway_url}/_local/schedules/{name}/fire", expect=(200, 404), what=f"fire {name}"
        )
        return True if response.status_code == 200 else None

    poll(fired, timeout=s.wait, what=f"the schedule {name}")
