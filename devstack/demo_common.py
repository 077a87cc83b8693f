"""What the demo scenarios share: times as the API takes them, and the practice's clinician."""

from __future__ import annotations

from datetime import UTC, datetime

from devstack.slice import Slice

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
