"""What the OpenAPI documents promise, through the real handlers: creates answer 201 with the thing
made, every refusal carries the error body, an unknown route under a served prefix is a 404 naming
the method and path, a body sent as anything but JSON is a 415, and what schemathesis found: a
session booked at a time far in the past could be stored and then never read back (a 500 on every
later request for it)."""

from __future__ import annotations

import pytest

from tests.integration.scenario import booking_key, clinician, create_client, create_practice


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
        "clinician_id": clinician(world, practice),
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
        "clinician_id": clinician(world, practice),
        "scheduled_start": "1900-01-01T12:00:00+05:00",
    }
    status, booked = world.staff("POST", "/sessions", body, practice_id=practice.id, headers=booking_key())
    assert status == 201, booked
    status, read = world.staff("GET", f"/sessions/{booked['id']}", practice_id=practice.id)
    assert status == 200, read
    assert read["scheduled_start"].startswith("1900-01-01T07:00:00")


@pytest.mark.parametrize("body", [None, "", "null", "[]"])
def test_a_missing_body_names_the_body_and_says_what_it_takes(world, body):
    practice = create_practice(world, connect=False)
    status, answer = world.staff("POST", "/clients", body, practice_id=practice.id)
    assert status == 400, answer
    assert answer["details"]["problems"] == [
        {"field": "body", "problem": answer["message"].removeprefix("body: ")}
    ]
    assert answer["message"].startswith("body: must be a JSON object"), answer


def test_a_body_that_is_not_json_names_the_body(world):
    practice = create_practice(world, connect=False)
    status, answer = world.staff("POST", "/clients", "{", practice_id=practice.id)
    assert (status, answer["message"]) == (400, "body: is not valid JSON")


@pytest.mark.parametrize(
    "content_type", ["text/plain", "multipart/form-data", "application/x-www-form-urlencoded"]
)
def test_a_body_sent_as_anything_but_json_is_a_415(world, content_type):
    practice = create_practice(world, connect=False)
    status, answer = world.staff(
        "POST",
        "/clients",
        '{"first_name": "A", "last_name": "B"}',
        practice_id=practice.id,
        headers={"Content-Type": content_type},
    )
    assert status == 415, answer
    assert answer["code"] == "unsupported_media_type" and "application/json" in answer["message"]
    _, page = world.staff("GET", "/clients", practice_id=practice.id)
    assert page["items"] == []  # nothing written


def test_a_path_under_a_served_prefix_that_no_route_takes_is_a_404_naming_it(world):
    practice = create_practice(world, connect=False)
    status, answer = world.staff("GET", "/clients/cli_1/nothing", practice_id=practice.id)
    assert status == 404
    assert answer["code"] == "not_found" and "GET /clients/cli_1/nothing" in answer["message"]
    assert answer["details"] == {"method": "GET", "path": "/clients/cli_1/nothing"}
    status, answer = world.public("DELETE", "/pay/invoice/prc_1")
    assert status == 404 and answer["details"] == {"method": "DELETE", "path": "/pay/invoice/prc_1"}
    status, answer = world.staff("GET", "/nowhere", practice_id=practice.id)  # no prefix: the gateway
    assert status == 404 and answer["details"] == {"method": "GET", "path": "/nowhere"}


@pytest.mark.parametrize(
    ("path", "query", "field", "words"),
    [
        ("/invoices", {}, "status", "give status or client_id"),
        ("/sessions", {}, "date", "give exactly one of client_id and date"),
        ("/sessions", {"client_id": "cli_1", "date": "2031-03-04"}, "date", "exactly one"),
    ],
)
def test_a_list_without_the_filter_it_needs_says_which(world, path, query, field, words):
    practice = create_practice(world, connect=False)
    status, answer = world.staff("GET", path, practice_id=practice.id, query=query)
    assert status == 400, answer
    assert answer["details"]["field"] == field and words in answer["message"]


def test_creates_answer_201_with_the_thing_made(world):
    practice = create_practice(world, connect=False)  # POST /practice: 201 (checked inside)
    client = create_client(world, practice)
    assert client["id"].startswith("cli_") and client["version"] == 1
    status, contact = world.staff(
        "POST",
        f"/clients/{client['id']}/contacts",
        {"name": "Pat Parent", "email": "pat@parent.test", "relationship": "parent"},
        practice_id=practice.id,
    )
    assert status == 201 and contact["client_id"] == client["id"], contact
    service = _service(world, practice)
    assert service["unit_price"] == 15000
