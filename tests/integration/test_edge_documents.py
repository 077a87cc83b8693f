"""What the OpenAPI documents promise, through the real handlers: creates answer 201 with the thing
made, every refusal carries the error body, an unknown route under a served prefix is a 404 naming
the method and path, a body sent as anything but JSON is a 415, and what schemathesis found: a
session booked at a time far in the past could be stored and then never read back (a 500 on every
later request for it)."""

from __future__ import annotations

import pytest

from tests.integration.scenario import booking_key, create_client, create_practice


def _service(world, practice) -> dict:
    status, service = world.staff(
        "POST",
        "/services",
        {"name": "Therapy", "cpt_code": "90837", "unit": "session", "unit_price": 15000},
        practice_id=practice.id,
    )
    assert status == 201, service
    return service


@pytest.mark.parametrize(
    "start", ["1092-09-02T20:22:49.2711-12:05", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+05:00"]
)
def test_a_session_booked_outside_the_years_an_instant_takes_is_refused(world, start):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    service = _service(world, practice)
    body = {
        "client_id": client["id"],
        "service_id": service["id"],
        "clinician_id": "clinician-1",
        "scheduled_start": start,
    }
    status, answer = world.staff("POST", "/sessions", body, practice_id=practice.id, headers=booking_key())
    assert status == 400, answer
    assert answer["code"] == "invalid_request"
    assert answer["message"].startswith("scheduled_start: must be a date and time"), answer
    assert "in the years 1900 to 2999" in answer["message"]
    _, listed = world.staff("GET", "/sessions", practice_id=practice.id, query={"client_id": client["id"]})
    assert listed["items"] == []  # nothing written


def test_a_session_booked_early_in_the_years_taken_is_stored_and_read_back(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    service = _service(world, practice)
    body = {
        "client_id": client["id"],
        "service_id": service["id"],
        "clinician_id": "clinician-1",
        "scheduled_start": "1900-01-01T12:00:00+05:00",
    }
    status, booked = world.staff("POST", "/sessions", body, practice_id=practice.id, headers=booking_key())
    assert status == 201, booked
    status, read = world.staff("GET", f"/sessions/{booked['id']}", practice_id=practice.id)
    assert status == 200, read
    assert read["scheduled_start"].startswith("1900-01-01T07:00:00")
