"""What callers meet at the edges: money is an integer of minor units everywhere it enters (never
text, a decimal or true/false; at most 99,999,999), numbers and times have one strict shape, free
text has no control characters, and a body that is too large or not UTF-8 text is refused before
anything is parsed or written. Every refusal names the field and says, in words, what it expected."""

from __future__ import annotations

import json

import pytest

from devstack import apigw
from tests.integration.scenario import COVERAGE, create_client, create_practice, save_card
from therabill.core import keys

KEY = {"Idempotency-Key": "edge-input-key-1"}
NOT_MONEY = ["10.00", 25.0, 25.5, True, "2500"]
MONEY_WORDS = "must be an integer number of minor units (cents), e.g. 2500 for 25.00"
SETUP_TOKEN = "abcdefghij0123456789.abcdefghij0123456789"


def _table(world, practice_id):
    return world.container.table.query_all(f"P#{practice_id}")


def _refused(status, answer, field, words):
    assert status == 400, (status, answer)
    assert answer["code"] == "invalid_request"
    assert answer["details"]["problems"][0]["field"] == field, answer
    assert answer["message"].startswith(f"{field}: {words}"), answer["message"]
    assert not any(mark in answer["message"] for mark in ("^", "\\", "[^", "$")), answer["message"]


# (route, body with the amount in it, the field's name in the error)
MONEY_ROUTES = [
    ("POST", "/clients/{cid}/charges", lambda v: {"amount": v, "kind": "copay"}, "amount"),
    ("POST", "/clients/{cid}/payments/manual", lambda v: {"amount": v, "method": "cash"}, "amount"),
    ("POST", "/clients/{cid}/payments/pay_x1/refunds", lambda v: {"amount": v}, "amount"),
    (
        "POST",
        "/clients/{cid}/setup-links",
        lambda v: {"scope": {"kinds": ["copay"], "max_amount": v}},
        "scope.max_amount",
    ),
    ("POST", "/clients/{cid}/coverage", lambda v: {**COVERAGE, "copay_override": v}, "copay_override"),
    (
        "POST",
        "/services",
        lambda v: {"name": "T", "cpt_code": "90837", "unit": "session", "unit_price": v},
        "unit_price",
    ),
    ("PATCH", "/services/svc_x1", lambda v: {"minimum_amount": v}, "minimum_amount"),
    ("PUT", "/clients/{cid}/pricing/svc_x1", lambda v: {"kind": "fixed", "amount": v}, "amount"),
    (
        "PUT",
        "/practice/cancellation-policy",
        lambda v: {"no_show_fee": {"kind": "flat", "amount": {"amount": v, "currency": "usd"}}},
        "no_show_fee.flat.amount.amount",
    ),
    (
        "PUT",
        "/services/svc_x1/cancellation-policy",
        lambda v: {
            "late_cancellation": {
                "window_hours": 24,
                "fee": {"kind": "flat", "amount": {"amount": v, "currency": "usd"}},
            }
        },
        "late_cancellation.fee.flat.amount.amount",
    ),
    (
        "PUT",
        "/services/svc_x1/booking-payment",
        lambda v: {"rule": {"kind": "deposit", "deposit_amount": v}},
        "rule.deposit_amount",
    ),
    (
        "PUT",
        "/practice/booking-payment",
        lambda v: {"first_visit": {"kind": "deposit", "deposit_amount": v}},
        "first_visit.deposit_amount",
    ),
    (
        "PUT",
        "/clients/{cid}/responsibility",
        lambda v: {"rules": [{"shares": [{"owner_id": "cli_x1", "type": "fixed", "value": v}]}]},
        "rules[0].shares[0].value",
    ),
    (
        "POST",
        "/invoices",
        lambda v: {
            "client_id": "cli_x1",
            "kind": "standalone",
            "lines": [{"description": "Book", "amount": v, "category": "product"}],
        },
        "lines[0].amount",
    ),
    ("POST", "/invoices/inv_x1/payments", lambda v: {"amount": v, "method": "check"}, "amount"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"), MONEY_ROUTES, ids=[f"{m} {p} {f}" for m, p, _, f in MONEY_ROUTES]
)
def test_every_money_field_takes_only_an_integer_of_minor_units_within_bounds(
    world, method, path, body, field
):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    path = path.replace("{cid}", client["id"])
    before = _table(world, practice.id)
    for value in NOT_MONEY:
        status, answer = world.staff(method, path, body(value), practice_id=practice.id, headers=KEY)
        _refused(status, answer, field, MONEY_WORDS)
    # a flat fee's range is checked on its Money ({"amount", "currency"}), so the error names that
    in_range_field = field.removesuffix(".amount") if field.endswith("amount.amount") else field
    for value in (-1, 100_000_000, 10**18):
        status, answer = world.staff(method, path, body(value), practice_id=practice.id, headers=KEY)
        _refused(status, answer, in_range_field, MONEY_WORDS)
        assert "99,999,999" in answer["message"]
    assert _table(world, practice.id) == before  # nothing written


def test_the_money_bounds_are_inclusive_and_an_integer_is_taken_as_minor_units(world):
    practice = create_practice(world, connect=False)
    fee = {"kind": "flat", "amount": {"amount": 99_999_999, "currency": "usd"}}
    status, policy = world.staff(
        "PUT", "/practice/cancellation-policy", {"no_show_fee": fee}, practice_id=practice.id
    )
    assert status == 200, policy
    assert policy["no_show_fee"]["amount"]["amount"] == 99_999_999
    status, service = world.staff(
        "POST",
        "/services",
        {"name": "Therapy", "cpt_code": "90837", "unit": "session", "unit_price": 2500},
        practice_id=practice.id,
    )
    assert status == 201 and service["unit_price"] == 2500


def test_the_public_pay_step_takes_only_an_integer_of_minor_units(world):
    practice = create_practice(world, connect=False)
    path = f"/pay/invoice/{practice.id}/pay"
    before = _table(world, practice.id)
    for value in ("10.00", 25.0, True, 10**18):
        body = {"token": SETUP_TOKEN, "amount": value, "request_id": "req-0001-abcd"}
        status, answer = world.public("POST", path, body)
        _refused(status, answer, "amount", MONEY_WORDS)
    assert _table(world, practice.id) == before


WHOLE = "must be a whole number"
FLAG = "must be true or false"
INSTANT = "must be a date and time in ISO-8601 with an offset"
BOOK = {"client_id": "cli_x1", "service_id": "svc_x1", "clinician_id": "stf_x1"}
LINK = {"scope": {"kinds": ["copay"]}}
STRICT = [
    ("POST", "/practice", {"name": "X", "email": "a@b.test", "cutoff_hour": "12"}, "cutoff_hour", WHOLE),
    ("PATCH", "/practice", {"cutoff_hour": 12.0}, "cutoff_hour", WHOLE),
    ("PATCH", "/practice", {"billing_requires_signed_note": "yes"}, "billing_requires_signed_note", FLAG),
    (
        "POST",
        "/clients/{cid}/coverage",
        {**COVERAGE, "forbids_cancellation_fees_override": 1},
        "forbids_cancellation_fees_override",
        FLAG,
    ),
    ("PATCH", "/clients/{cid}", {"expected_version": "1"}, "expected_version", WHOLE),
    ("PUT", "/practice/booking-payment", {"hold_minutes": "30"}, "hold_minutes", WHOLE),
    ("PUT", "/nightly/settings", {"summary_hours_before": True}, "summary_hours_before", WHOLE),
    ("POST", "/clients/{cid}/setup-links", {**LINK, "valid_hours": "72"}, "valid_hours", WHOLE),
    ("PUT", "/practice/cancellation-policy", {"cap_at_session_price": "no"}, "cap_at_session_price", FLAG),
    ("POST", "/sessions", {**BOOK, "scheduled_start": 12}, "scheduled_start", INSTANT),
    ("POST", "/sessions", {**BOOK, "scheduled_start": "12"}, "scheduled_start", INSTANT),
    ("POST", "/sessions", {**BOOK, "scheduled_start": "2031-03-04T15:00:00"}, "scheduled_start", INSTANT),
    ("POST", "/sessions/ses_x1/complete", {"actual_start": 0, "actual_end": 1}, "actual_start", INSTANT),
    (
        "POST",
        "/clients/{cid}/setup-links",
        {"scope": {"kinds": ["copay"], "expires_at": 1900000000}},
        "scope.expires_at",
        INSTANT,
    ),
    ("POST", "/invoices", {"client_id": "cli_x1", "kind": "day", "start": 0}, "start", "must be a date"),
]


@pytest.mark.parametrize(("method", "path", "body", "field", "words"), STRICT)
def test_numbers_flags_and_times_have_one_strict_shape(world, method, path, body, field, words):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    path = path.replace("{cid}", client["id"])
    before = _table(world, practice.id)
    headers = {"Idempotency-Key": "edge-strict-key-1"}
    status, answer = world.staff(method, path, body, practice_id=practice.id, headers=headers)
    _refused(status, answer, field, words)
    assert _table(world, practice.id) == before


SERVICE = {"cpt_code": "90837", "unit": "session", "unit_price": 1}
CASH = {"amount": 100, "method": "cash"}
CONTROLS = [
    ("PATCH", "/clients/{cid}", {"first_name": "Ann\x00"}, "first_name"),
    ("PATCH", "/clients/{cid}", {"last_name": "Cl\x1bient"}, "last_name"),
    ("PATCH", "/practice", {"name": "Harbor\x7f"}, "name"),
    ("PATCH", "/practice", {"email": "of\x00fice@harbor.test"}, "email"),
    (
        "POST",
        "/clients/{cid}/contacts",
        {"name": "P", "email": "p@p.test", "relationship": "\x00"},
        "relationship",
    ),
    ("POST", "/services", {"name": "Thera\x07py", **SERVICE}, "name"),
    ("POST", "/clients/{cid}/charges", {"amount": 100, "kind": "copay", "memo": "a\x00b"}, "memo"),
    ("POST", "/clients/{cid}/payments/manual", {**CASH, "memo": "two\nlines"}, "memo"),
    ("POST", "/clients/{cid}/payments/manual", {**CASH, "reference": "#1\x00"}, "reference"),
    (
        "POST",
        "/invoices",
        {
            "client_id": "cli_x1",
            "kind": "standalone",
            "lines": [{"description": "B\x00", "amount": 1, "category": "other"}],
        },
        "lines[0].description",
    ),
    ("POST", "/invoices/inv_x1/void", {"reason": "no\x00"}, "reason"),
    ("PUT", "/clinicians/stf_x1/supervision", {"supervisor_id": "s\x001"}, "supervisor_id"),
    ("PUT", "/nightly/settings", {"holidays": {"2031-12-25": "skip\x00"}}, "holidays.2031-12-25"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), CONTROLS)
def test_control_characters_are_refused_in_free_text_and_nothing_is_stored(world, method, path, body, field):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    path = path.replace("{cid}", client["id"])
    before = _table(world, practice.id)
    status, answer = world.staff(method, path, body, practice_id=practice.id, headers=KEY)
    _refused(status, answer, field, "must be text")
    assert "control characters" in answer["message"]
    assert _table(world, practice.id) == before


def test_a_lone_surrogate_is_refused_not_a_500(world):
    practice = create_practice(world, connect=False)
    before = _table(world, practice.id)
    raw = '{"first_name": "Ann\\ud800", "last_name": "Client"}'  # valid JSON, no UTF-8 text
    status, answer = world.staff("POST", "/clients", raw, practice_id=practice.id)
    _refused(status, answer, "first_name", "must be text")
    assert _table(world, practice.id) == before


def test_a_charge_memo_may_have_line_breaks_but_a_signer_name_no_control_characters(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"])
    status, payment = world.staff(
        "POST",
        f"/clients/{client['id']}/charges",
        {"amount": 2500, "kind": "copay", "memo": "first line\n\tsecond line"},
        practice_id=practice.id,
        headers={"Idempotency-Key": "edge-memo-key-1"},
    )
    assert status == 201 and payment["amount"] == 2500, payment
    body = {"signer_name": "Ann\x00Client", "agreed": True, "text_version": "v1"}
    status, answer = world.public("POST", f"/setup/{SETUP_TOKEN}/intent", body)
    _refused(status, answer, "signer_name", "must be text")
    status, answer = world.public(
        "POST", f"/setup/{SETUP_TOKEN}/intent", {**body, "signer_name": "Ann", "agreed": "yes"}
    )
    _refused(status, answer, "agreed", "must be true or false")


def test_a_pattern_mismatch_is_said_in_words(world):
    practice = create_practice(world, connect=False)
    status, answer = world.staff("PATCH", "/practice", {"email": "not-an-email"}, practice_id=practice.id)
    _refused(status, answer, "email", "must be an email address")


# -- bodies ------------------------------------------------------------------------------------
NOT_UTF8 = b'{"first_name": "\xff\xfeAnn", "last_name": "Client"}'


def test_a_body_that_is_not_utf8_is_a_400_on_every_api(world):
    practice = create_practice(world, connect=False)
    before = _table(world, practice.id)
    for method, path in (("POST", "/clients"), ("PATCH", "/practice"), ("PUT", "/nightly/settings")):
        status, answer = world.staff(method, path, NOT_UTF8, practice_id=practice.id)
        assert status == 400, (path, status, answer)
        assert answer["code"] == "invalid_request" and "not UTF-8" in answer["message"], answer
    status, answer = world.public("POST", f"/pay/invoice/{practice.id}/lookup", NOT_UTF8)
    assert status == 400 and "not UTF-8" in answer["message"], answer
    status, answer = world.public("POST", f"/setup/{SETUP_TOKEN}/intent", NOT_UTF8)
    assert status == 400 and "not UTF-8" in answer["message"], answer
    assert _table(world, practice.id) == before


def _big_client(size: int) -> str:
    return json.dumps({"first_name": "A", "last_name": "B", "padding": "x" * size})


def test_an_oversized_body_is_a_413_before_it_is_parsed(world):
    practice = create_practice(world, connect=False)
    before = _table(world, practice.id)
    status, answer = world.staff("POST", "/clients", _big_client(300 * 1024), practice_id=practice.id)
    assert status == 413 and answer["code"] == "payload_too_large", answer
    assert "256 KiB" in answer["message"] and answer["details"]["limit_bytes"] == 256 * 1024
    # still 413 (not a complaint about the unknown field): the body is never parsed
    status, answer = world.staff("POST", "/clients", "{not json" + " " * 300 * 1024, practice_id=practice.id)
    assert status == 413, answer
    # sent base64-encoded (binary media types) it is the same
    status, answer = world.staff("POST", "/clients", b"\xff" + b"x" * 300 * 1024, practice_id=practice.id)
    assert status == 413, answer
    status, answer = world.public("POST", f"/pay/invoice/{practice.id}/lookup", "x" * 300 * 1024)
    assert status == 413 and answer["code"] == "payload_too_large", answer
    assert _table(world, practice.id) == before
    # just under the limit the request is read as usual (and refused for its unknown field)
    status, answer = world.staff("POST", "/clients", _big_client(200 * 1024), practice_id=practice.id)
    assert status == 400 and answer["details"]["problems"][0]["field"] == "padding", answer


def _queued(world):
    sqs = world.session.client("sqs")
    attrs = sqs.get_queue_attributes(
        QueueUrl=world.resources.stripe_events_queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def _event(event_id: str, padding: int) -> str:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "customer.updated",
            "created": 0,
            "data": {"object": {"id": "cus_1", "object": "customer", "metadata": {"pad": "x" * padding}}},
        }
    )


def test_a_validly_signed_oversized_webhook_is_a_413_and_writes_nothing(world):
    status, answer = world.webhook(_event("evt_edge_huge", 6 * 1024 * 1024))
    assert status == 413 and answer["code"] == "payload_too_large", answer
    assert world.container.table.get(keys.stripe_event_pk("evt_edge_huge"), keys.STRIPE_EVENT_SK) is None
    assert _queued(world) == 0
    # base64-encoded the same
    status, _ = world.webhook(b"\xff" + _event("evt_edge_huge2", 400 * 1024).encode())
    assert status == 413


def test_a_large_webhook_under_the_limit_is_recorded_and_queued(world):
    status, answer = world.webhook(_event("evt_edge_large", 250 * 1024))
    assert status == 200 and answer["outcome"] == "new", answer
    assert _queued(world) == 1


def test_a_webhook_that_is_not_utf8_is_a_400(world):
    status, answer = world.webhook(b'{"id": "evt_\xff", "object": "event"}')
    assert status == 400, answer
    assert _queued(world) == 0


def test_a_base64_body_that_is_not_base64_is_a_400(world):
    practice = create_practice(world, connect=False)
    event = apigw.rest_event(
        "POST",
        "/clients",
        body=b"\xff",
        headers={"Content-Type": "application/json"},
        claims=apigw.staff_claims(practice.id),
    )
    event["body"] = "not base64!"
    status, answer = world.decode(world.handler("staff_api")(event, apigw.LambdaContext("staff-api")))
    assert status == 400 and "base64" in answer["message"], answer
