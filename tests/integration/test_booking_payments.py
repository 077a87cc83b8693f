"""Paying at booking, through the real entry points: the staff API books (Idempotency-Key), the
rules decide (client override > first visit > service > none; insured clients pay no deposit),
the client pays on the public page (Stripe.js played by the fake), the signed webhook → SQS →
worker confirms, the reconciler's scheduled run releases expired holds. Replays, faults, tenancy
and bad input of every new route."""

from __future__ import annotations

import email
import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from devstack.apigw import LambdaContext, scheduled_event

from tests.integration.conftest import World
from tests.integration.scenario import Practice, clinician, create_client, create_practice, save_card
from therabill.core import keys

START = datetime(2031, 3, 4, 15, 0, tzinfo=UTC)
CONSULT = {"name": "Consultation", "cpt_code": "90791", "unit": "session", "unit_price": 15_000}
DEPOSIT_25 = {"kind": "deposit", "deposit_percent_bps": 2_500}
DEPOSIT_FLAT = {"kind": "deposit", "deposit_amount": 2_000}
PREPAY = {"kind": "prepayment"}
CARD = {"kind": "card_on_file"}


def z(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def service(world: World, practice: Practice, **over: Any) -> dict[str, Any]:
    status, body = world.staff("POST", "/services", {**CONSULT, **over}, practice_id=practice.id)
    assert status == 201, body
    return body


def rule(world: World, practice: Practice, svc: dict[str, Any], **body: Any) -> None:
    status, out = world.staff("PUT", f"/services/{svc['id']}/booking-payment", body, practice_id=practice.id)
    assert status == 200, out


def book(
    world: World,
    practice: Practice,
    client: dict[str, Any],
    svc: dict[str, Any],
    *,
    start: datetime = START,
    key: str | None = None,
    expect: int = 201,
    **over: Any,
) -> dict[str, Any]:
    body = {
        "client_id": client["id"],
        "service_id": svc["id"],
        "clinician_id": clinician(world, practice),
        "scheduled_start": z(start),
        **over,
    }
    status, session = world.staff(
        "POST",
        "/sessions",
        body,
        practice_id=practice.id,
        headers={"Idempotency-Key": key or f"book-{client['id']}-{z(start)}"},
    )
    assert status == expect, session
    return session


def secret_from_page(world: World, link: str) -> str:
    status, page = world.public("GET", "/pay/booking/" + link.split("/pay/booking/")[1])
    assert status == 200, page
    return str(page.split('"secret": "')[1].split('"')[0])


def ledger(world: World, practice: Practice, client_id: str) -> list[tuple[str, int]]:
    status, body = world.staff("GET", f"/clients/{client_id}/ledger", practice_id=practice.id)
    assert status == 200, body
    return [(e["kind"], e["amount"]) for e in body["entries"]]


def subjects(world: World) -> list[str]:
    return sorted(str(email.message_from_string(m.raw_data)["Subject"]) for m in world.emails())


def reconcile(world: World) -> dict[str, Any]:
    from therabill.entrypoints import payments_reconciler

    result: dict[str, Any] = payments_reconciler.lambda_handler(
        scheduled_event("payments-reconciler"), LambdaContext("payments-reconciler")
    )
    return result


def get(world: World, practice: Practice, session_id: str) -> dict[str, Any]:
    status, body = world.staff("GET", f"/sessions/{session_id}", practice_id=practice.id)
    assert status == 200, body
    return body


@pytest.fixture
def setup(world: World) -> tuple[Practice, dict[str, Any], dict[str, Any]]:
    practice = create_practice(world)
    client = create_client(world, practice)
    return practice, client, service(world, practice)


# -- the rules and their precedence ------------------------------------------------------------------
def test_no_rule_books_at_once(world: World, setup: Any) -> None:
    practice, client, svc = setup

    session = book(world, practice, client, svc)

    assert session["status"] == "booked" and session["booking_payment"] is None
    assert session["booking_requirement"] == "none:default"


def test_a_service_deposit_holds_the_slot_for_a_percent_of_the_price(world: World, setup: Any) -> None:
    practice, client, svc = setup
    rule(world, practice, svc, rule=DEPOSIT_25)

    session = book(world, practice, client, svc)

    assert session["status"] == "awaiting_payment"
    pay = session["booking_payment"]
    assert (pay["kind"], pay["amount_due"], pay["currency"], pay["status"]) == (
        "deposit",
        3_750,
        "usd",
        "awaiting",
    )
    assert pay["payment_status"] == "awaiting_client" and "/pay/booking/" in pay["pay_link"]
    assert datetime.fromisoformat(pay["hold_expires_at"]) == world.clock.now + timedelta(minutes=30)
    assert session["booking_requirement"] == "deposit:service"


def test_first_visit_rule_then_service_rule_then_client_override(world: World, setup: Any) -> None:
    practice, client, svc = setup
    rule(world, practice, svc, rule=DEPOSIT_FLAT)
    status, _ = world.staff(
        "PUT",
        "/practice/booking-payment",
        {"first_visit": PREPAY, "hold_minutes": 45},
        practice_id=practice.id,
    )
    assert status == 200

    first = book(world, practice, client, svc)
    later = book(world, practice, client, svc, start=START + timedelta(days=7))
    assert (first["booking_requirement"], first["booking_payment"]["amount_due"]) == (
        "prepayment:first_visit_practice",
        15_000,
    )
    assert (later["booking_requirement"], later["booking_payment"]["amount_due"]) == (
        "deposit:service",
        2_000,
    )
    assert datetime.fromisoformat(first["booking_payment"]["hold_expires_at"]) == world.clock.now + timedelta(
        minutes=45
    )

    # A session before the first one makes the new one a first visit, unless it was released.
    earlier = book(world, practice, client, svc, start=START - timedelta(days=1))
    assert earlier["booking_requirement"] == "prepayment:first_visit_practice"

    status, _ = world.staff(
        "PUT", f"/clients/{client['id']}/booking-payment", {"rule": CARD}, practice_id=practice.id
    )
    assert status == 200
    refused = book(world, practice, client, svc, start=START + timedelta(days=14), expect=409)
    assert "card on file" in refused["message"]
    status, _ = world.staff(
        "PUT", f"/clients/{client['id']}/booking-payment", {"rule": {"kind": "none"}}, practice_id=practice.id
    )
    waived = book(world, practice, client, svc, start=START + timedelta(days=21))
    assert (waived["status"], waived["booking_requirement"]) == ("booked", "none:client")


def test_the_services_first_visit_rule_beats_the_practices(world: World, setup: Any) -> None:
    practice, client, svc = setup
    world.staff("PUT", "/practice/booking-payment", {"first_visit": PREPAY}, practice_id=practice.id)
    rule(world, practice, svc, first_visit=DEPOSIT_FLAT)

    session = book(world, practice, client, svc)

    assert session["booking_requirement"] == "deposit:first_visit_service"
    assert session["booking_payment"]["amount_due"] == 2_000


def test_insured_clients_pay_no_deposit(world: World, setup: Any) -> None:
    practice, _, svc = setup
    insured = create_client(world, practice, copay_amount=2_500, email="ins@client.test")
    rule(world, practice, svc, rule=PREPAY)

    session = book(world, practice, insured, svc)

    assert (session["status"], session["booking_requirement"]) == ("booked", "none:insured")
    assert world.stripe.requests_to("/v1/payment_intents") == []


def test_a_not_billed_client_books_without_paying(world: World, setup: Any) -> None:
    practice, client, svc = setup
    rule(world, practice, svc, rule=PREPAY)
    world.staff(
        "PUT",
        f"/clients/{client['id']}/pricing/{svc['id']}",
        {"kind": "fixed", "amount": 0},
        practice_id=practice.id,
    )

    session = book(world, practice, client, svc)

    assert session["status"] == "booked" and session["booking_payment"] is None


def test_card_on_file_is_required_but_nothing_is_charged(world: World, setup: Any) -> None:
    practice, client, svc = setup
    rule(world, practice, svc, rule=CARD)

    refused = book(world, practice, client, svc, expect=409)
    assert refused["code"] == "conflict" and "card on file" in refused["message"]
    assert world.container.sessions.list_for_client(practice.id, client["id"]) == []

    card = save_card(world, practice, client["id"])
    session = book(world, practice, client, svc)
    assert session["status"] == "booked"
    world.staff("DELETE", f"/clients/{client['id']}/cards/{card['id']}", practice_id=practice.id)
    book(world, practice, client, svc, start=START + timedelta(days=1), expect=409)
    assert world.stripe.requests_to("/v1/payment_intents") == []


# -- the whole flow through the entry points -----------------------------------------------------------
def test_paying_on_the_page_confirms_the_booking_once(world: World, setup: Any) -> None:
    practice, client, svc = setup
    rule(world, practice, svc, rule=DEPOSIT_25)
    since = len(world.stripe.events)
    session = book(world, practice, client, svc)
    link = session["booking_payment"]["pay_link"]
    assert any("Confirm your appointment" in s for s in subjects(world))

    secret = secret_from_page(world, link)
    world.stripe.pay_on_page(practice.account, secret)
    world.deliver_stripe_events(since=since)

    confirmed = get(world, practice, session["id"])
    assert confirmed["status"] == "booked" and confirmed["booking_payment"]["status"] == "paid"
    assert ledger(world, practice, client["id"]) == [("credit", 3_750)]
    mails = subjects(world)
    assert sum("is confirmed" in s for s in mails) == 1 and sum("Receipt" in s for s in mails) == 1
    token = link.split("/pay/booking/")[1]
    assert world.public("GET", f"/pay/booking/{token}/status") == (200, {"status": "confirmed"})
    status, page = world.public("GET", f"/pay/booking/{token}")
    # Paid is not an error: the page says the appointment is confirmed and what comes next.
    assert status == 200 and "Your appointment is confirmed" in page and "Harbor Family Practice" in page
    assert "on its way by email" in page and "cannot be used" not in page
    hold = world.container.table.get(keys.practice_pk(practice.id), keys.booking_hold_sk(session["id"]))
    assert hold["status"] == "closed" and "GSI1PK" not in hold
    # Later, the session's life goes on as usual.
    world.clock.now = START - timedelta(minutes=5)
    status, checked = world.staff("POST", f"/sessions/{session['id']}/check-in", practice_id=practice.id)
    assert status == 200 and checked["status"] == "checked_in"


@pytest.mark.parametrize("seed", [1, 5, 9])
def test_replaying_every_stripe_event_one_to_three_times_in_any_order_changes_nothing(
    world: World, setup: Any, seed: int
) -> None:
    practice, client, svc = setup
    rule(world, practice, svc, rule=DEPOSIT_25)
    since = len(world.stripe.events)
    paid = book(world, practice, client, svc)
    released = book(world, practice, client, svc, start=START + timedelta(days=1))
    world.stripe.pay_on_page(practice.account, secret_from_page(world, paid["booking_payment"]["pay_link"]))
    world.stripe.pay_on_page(
        practice.account,
        secret_from_page(world, released["booking_payment"]["pay_link"]),
        payment_method="pm_card_chargeDeclined",
    )
    world.clock.now += timedelta(minutes=31)
    reconcile(world)  # releases the unpaid one before any event arrives (the paid one: confirmed)
    events = world.stripe.events[since:]

    def state() -> Any:
        sessions = {
            s: (get(world, practice, s)["status"], get(world, practice, s)["booking_payment"]["status"])
            for s in (paid["id"], released["id"])
        }
        return sessions, ledger(world, practice, client["id"]), subjects(world)

    for e in events:
        assert world.webhook(json.dumps(e))[0] == 200
    world.drain_queue()
    once = state()
    rng = random.Random(seed)
    copies = [{**e, "id": f"{e['id']}_copy{n}"} for e in events for n in range(rng.randint(1, 3))]
    rng.shuffle(copies)
    for e in copies:
        assert world.webhook(json.dumps(e))[0] == 200
        if rng.random() < 0.5:
            world.drain_queue()
    world.drain_queue()

    assert state() == once
    assert once[0] == {paid["id"]: ("booked", "paid"), released["id"]: ("released", "released")}
    assert once[1] == [("credit", 3_750)]


# -- release on timeout --------------------------------------------------------------------------------
def test_an_unpaid_hold_is_released_by_the_scheduled_run_and_the_slot_is_free(
    world: World, setup: Any
) -> None:
    practice, client, svc = setup
    rule(world, practice, svc, rule=DEPOSIT_FLAT)
    session = book(world, practice, client, svc)
    pi = world.container.payments.get(practice.id, session["booking_payment"]["payment_id"]).payment_intent_id
    assert pi is not None

    world.clock.now += timedelta(minutes=29)
    reconcile(world)
    assert get(world, practice, session["id"])["status"] == "awaiting_payment"  # not yet
    world.clock.now += timedelta(minutes=2)
    reconcile(world)

    released = get(world, practice, session["id"])
    assert released["status"] == "released" and released["fee"] is None
    assert (
        released["release"]["reason"] == "payment_not_received"
        and released["release"]["recorded_by"] == "system"
    )
    assert released["booking_payment"]["status"] == "released"
    assert world.stripe.get(practice.account, pi)["status"] == "canceled"
    cancel = world.stripe.requests_to(f"/v1/payment_intents/{pi}/cancel")[0]
    assert cancel.idempotency_key == f"therabill:cancel:{session['booking_payment']['payment_id']}"
    _, day = world.staff("GET", "/sessions", practice_id=practice.id, query={"date": "2031-03-04"})
    assert [(s["id"], s["status"]) for s in day["items"]] == [(session["id"], "released")]
    token = session["booking_payment"]["pay_link"].split("/pay/booking/")[1]
    assert world.public("GET", f"/pay/booking/{token}")[0] in (401, 409)
    # The slot can be booked again; nothing is owed.
    world.staff("DELETE", f"/services/{svc['id']}/booking-payment", practice_id=practice.id)
    again = book(world, practice, client, svc, key="book-again-0001")
    assert again["status"] == "booked"
    assert ledger(world, practice, client["id"]) == []
    reconcile(world)  # nothing left to release
    assert get(world, practice, session["id"])["version"] == released["version"]


def test_a_payment_made_just_before_the_release_confirms_instead(world: World, setup: Any) -> None:
    practice, client, svc = setup
    rule(world, practice, svc, rule=PREPAY)
    session = book(world, practice, client, svc)
    world.stripe.pay_on_page(
        practice.account, secret_from_page(world, session["booking_payment"]["pay_link"])
    )
    world.clock.now += timedelta(minutes=31)  # the webhook has not arrived yet

    reconcile(world)

    assert get(world, practice, session["id"])["status"] == "booked"
    assert ledger(world, practice, client["id"]) == [("credit", 15_000)]


def test_a_success_after_the_release_stays_credit_and_the_practice_is_told_once(
    world: World, setup: Any
) -> None:
    practice, client, svc = setup
    rule(world, practice, svc, rule=DEPOSIT_FLAT)
    session = book(world, practice, client, svc)
    since = len(world.stripe.events)
    world.stripe.pay_on_page(
        practice.account, secret_from_page(world, session["booking_payment"]["pay_link"])
    )
    # Out of order: our release was recorded before Stripe's success reached us.
    world.container.sessions.release(
        practice.id, session["id"], recorded_by="system", reason="payment_not_received"
    )

    world.deliver_stripe_events(since=since)
    for e in world.stripe.events[since:]:
        world.webhook(json.dumps({**e, "id": e["id"] + "_again"}))
    world.drain_queue()

    after = get(world, practice, session["id"])
    assert after["status"] == "released" and after["booking_payment"]["status"] == "paid_after_release"
    assert ledger(world, practice, client["id"]) == [("credit", 2_000)]
    assert sum("late booking payment" in s for s in subjects(world)) == 1


def test_staff_cancelling_a_session_awaiting_payment_releases_it_without_a_fee(
    world: World, setup: Any
) -> None:
    practice, client, svc = setup
    rule(world, practice, svc, rule=DEPOSIT_FLAT)
    session = book(world, practice, client, svc)

    status, cancelled = world.staff(
        "POST",
        f"/sessions/{session['id']}/cancel",
        {"cancelled_by": "client"},
        practice_id=practice.id,
        role="front_desk",
    )

    assert status == 200 and cancelled["status"] == "released" and cancelled["fee"] is None
    assert cancelled["release"]["reason"] == "cancelled_before_payment"
    pay = world.container.payments.get(practice.id, session["booking_payment"]["payment_id"])
    assert pay.status == "canceled"
    assert world.stripe.get(practice.account, pay.payment_intent_id)["status"] == "canceled"


# -- Idempotency-Key ----------------------------------------------------------------------------------
def test_a_retried_booking_meets_the_same_session_payment_and_email(world: World, setup: Any) -> None:
    practice, client, svc = setup
    rule(world, practice, svc, rule=DEPOSIT_FLAT)

    first = book(world, practice, client, svc, key="same-key-0001")
    second = book(world, practice, client, svc, key="same-key-0001")

    assert first["id"] == second["id"] and second["booking_payment"]["pay_link"]
    assert len(world.container.sessions.list_for_client(practice.id, client["id"])) == 1
    creates = [
        r for r in world.stripe.requests_to("/v1/payment_intents", "POST") if r.path == "/v1/payment_intents"
    ]
    assert len(creates) == 1
    assert sum("Confirm your appointment" in s for s in subjects(world)) == 1


def test_the_same_key_for_another_booking_is_a_conflict(world: World, setup: Any) -> None:
    practice, client, svc = setup
    book(world, practice, client, svc, key="same-key-0002")

    conflict = book(
        world, practice, client, svc, key="same-key-0002", start=START + timedelta(hours=2), expect=409
    )

    assert conflict["code"] == "conflict"


def test_booking_without_an_idempotency_key_is_refused(world: World, setup: Any) -> None:
    practice, client, svc = setup
    body = {
        "client_id": client["id"],
        "service_id": svc["id"],
        "clinician_id": clinician(world, practice),
        "scheduled_start": z(START),
    }

    status, answer = world.staff("POST", "/sessions", body, practice_id=practice.id)

    assert 400 <= status < 500, answer
    assert world.container.sessions.list_for_client(practice.id, client["id"]) == []


# -- faults ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fault", ["5xx", "429", "timeout"])
def test_stripe_unavailable_at_booking_still_holds_the_slot_and_the_page_works_later(
    world: World, setup: Any, fault: str
) -> None:
    practice, client, svc = setup
    rule(world, practice, svc, rule=DEPOSIT_FLAT)
    world.stripe.fail_next(1, fault, path="/v1/payment_intents")  # type: ignore[arg-type]

    session = book(world, practice, client, svc)

    assert (
        session["status"] == "awaiting_payment" and session["booking_payment"]["payment_status"] == "pending"
    )
    secret = secret_from_page(world, session["booking_payment"]["pay_link"])  # created now
    since = len(world.stripe.events)
    world.stripe.pay_on_page(practice.account, secret)
    world.deliver_stripe_events(since=since)
    assert get(world, practice, session["id"])["status"] == "booked"
    assert ledger(world, practice, client["id"]) == [("credit", 2_000)]


def test_a_crash_between_stripe_and_our_write_is_completed_by_the_retry_with_one_intent(
    world: World, setup: Any
) -> None:
    practice, client, svc = setup
    rule(world, practice, svc, rule=DEPOSIT_FLAT)
    world.stripe.fail_next(1, "timeout_after_commit", path="/v1/payment_intents")

    first = book(world, practice, client, svc, key="crash-key-0001")
    second = book(world, practice, client, svc, key="crash-key-0001")

    assert first["booking_payment"]["payment_status"] == "pending"
    assert second["booking_payment"]["payment_status"] == "awaiting_client"
    created = {e["data"]["object"]["id"] for e in world.stripe.events_of_type("payment_intent.created")}
    assert len(created) == 1


def test_a_failed_database_write_at_booking_writes_nothing_and_the_retry_books(
    world: World, setup: Any
) -> None:
    practice, client, svc = setup
    rule(world, practice, svc, rule=DEPOSIT_FLAT)
    failing = world.dynamo
    failing.fail("transact_write_items")

    status, body = world.staff(
        "POST",
        "/sessions",
        {
            "client_id": client["id"],
            "service_id": svc["id"],
            "clinician_id": clinician(world, practice),
            "scheduled_start": z(START),
        },
        practice_id=practice.id,
        headers={"Idempotency-Key": "db-fault-0001"},
    )
    assert status == 503, body
    assert world.container.sessions.list_for_client(practice.id, client["id"]) == []
    assert world.stripe.requests_to("/v1/payment_intents") == []

    retried = book(world, practice, client, svc, key="db-fault-0001")
    assert retried["status"] == "awaiting_payment"


@pytest.mark.parametrize("fault", ["5xx", "429", "timeout"])
def test_stripe_unavailable_at_release_keeps_the_hold_for_the_next_run(
    world: World, setup: Any, fault: str
) -> None:
    practice, client, svc = setup
    rule(world, practice, svc, rule=DEPOSIT_FLAT)
    session = book(world, practice, client, svc)
    world.clock.now += timedelta(minutes=31)
    world.stripe.fail_next(1, fault, path="/v1/payment_intents/")  # type: ignore[arg-type]

    reconcile(world)
    assert get(world, practice, session["id"])["status"] == "awaiting_payment"
    reconcile(world)

    assert get(world, practice, session["id"])["status"] == "released"


def test_the_confirmation_hook_is_harmless_when_repeated(world: World, setup: Any) -> None:
    practice, client, svc = setup
    rule(world, practice, svc, rule=DEPOSIT_FLAT)
    session = book(world, practice, client, svc)
    since = len(world.stripe.events)
    world.stripe.pay_on_page(
        practice.account, secret_from_page(world, session["booking_payment"]["pay_link"])
    )
    world.deliver_stripe_events(since=since)
    model = world.container.practices.get(practice.id)
    payment = world.container.payments.get(practice.id, session["booking_payment"]["payment_id"])
    before = get(world, practice, session["id"])

    world.container.bookings.payment_succeeded(model, payment)
    world.container.payments.record_success(model, payment.id, payment.payment_intent_id, None)

    assert get(world, practice, session["id"]) == before
    assert ledger(world, practice, client["id"]) == [("credit", 2_000)]
    assert sum("is confirmed" in s for s in subjects(world)) == 1


# -- tenancy and bad input of the new routes -----------------------------------------------------------
def _set(rule: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rule.items() if v is not None}


def test_another_practice_can_neither_read_nor_change_the_rules_or_the_hold(world: World, setup: Any) -> None:
    practice, client, svc = setup
    rule(world, practice, svc, rule=DEPOSIT_FLAT)
    world.staff("PUT", f"/clients/{client['id']}/booking-payment", {"rule": PREPAY}, practice_id=practice.id)
    session = book(world, practice, client, svc)
    other = create_practice(world)
    attacks = [
        ("GET", f"/services/{svc['id']}/booking-payment", None),
        ("PUT", f"/services/{svc['id']}/booking-payment", {"rule": {"kind": "none"}}),
        ("DELETE", f"/services/{svc['id']}/booking-payment", None),
        ("GET", f"/clients/{client['id']}/booking-payment", None),
        ("PUT", f"/clients/{client['id']}/booking-payment", {"rule": {"kind": "none"}}),
        ("DELETE", f"/clients/{client['id']}/booking-payment", None),
        ("POST", f"/sessions/{session['id']}/cancel", {"cancelled_by": "practice"}),
        (
            "POST",
            "/sessions",
            {
                "client_id": client["id"],
                "service_id": svc["id"],
                "clinician_id": clinician(world, other),
                "scheduled_start": z(START),
            },
        ),
    ]
    for method, path, body in attacks:
        status, answer = world.staff(
            method, path, body, practice_id=other.id, headers={"Idempotency-Key": "attack-0001"}
        )
        assert status == 404, (method, path, status, answer)
    # The other practice's own settings are its own.
    assert world.staff("GET", "/practice/booking-payment", practice_id=other.id)[1]["first_visit"] is None
    assert (
        _set(world.staff("GET", f"/services/{svc['id']}/booking-payment", practice_id=practice.id)[1]["rule"])
        == DEPOSIT_FLAT
    )
    assert (
        _set(
            world.staff("GET", f"/clients/{client['id']}/booking-payment", practice_id=practice.id)[1]["rule"]
        )
        == PREPAY
    )
    assert get(world, practice, session["id"])["status"] == "awaiting_payment"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/services/{svc}/booking-payment", {"rule": {"kind": "deposit"}}),
        ("PUT", "/services/{svc}/booking-payment", {"rule": {"kind": "deposit", "deposit_amount": -5}}),
        (
            "PUT",
            "/services/{svc}/booking-payment",
            {"rule": {"kind": "deposit", "deposit_percent_bps": 10_001}},
        ),
        ("PUT", "/services/{svc}/booking-payment", {"rule": {"kind": "deposit", "deposit_amount": 12.5}}),
        ("PUT", "/services/{svc}/booking-payment", {"rule": {"kind": "prepayment", "deposit_amount": 100}}),
        ("PUT", "/services/{svc}/booking-payment", {"rule": {"kind": "layaway"}}),
        ("PUT", "/services/{svc}/booking-payment", {"surprise": True}),
        ("PUT", "/clients/{cli}/booking-payment", {}),
        (
            "PUT",
            "/clients/{cli}/booking-payment",
            {"rule": {"kind": "deposit", "deposit_amount": 1, "deposit_percent_bps": 1}},
        ),
        ("PUT", "/practice/booking-payment", {"hold_minutes": 1}),
        ("PUT", "/practice/booking-payment", {"hold_minutes": "30"}),
        ("PUT", "/practice/booking-payment", {"first_visit": {"kind": "deposit"}}),
        ("PUT", "/services/svc_doesnotexist/booking-payment", {"rule": {"kind": "prepayment"}}),
        ("PUT", "/clients/cli_doesnotexist/booking-payment", {"rule": {"kind": "prepayment"}}),
        ("DELETE", "/clients/{cli}/booking-payment", None),
        ("GET", "/services/{svc}/booking-payment", None),
    ],
)
def test_bad_input_on_the_rules_is_a_4xx_and_writes_nothing(
    world: World, setup: Any, method: str, path: str, body: Any
) -> None:
    practice, client, svc = setup
    before = world.container.table.query_all(keys.practice_pk(practice.id), prefix="BOOKPAY#")

    status, answer = world.staff(
        method, path.format(svc=svc["id"], cli=client["id"]), body, practice_id=practice.id
    )

    assert 400 <= status < 500 and status != 403, answer
    assert world.container.table.query_all(keys.practice_pk(practice.id), prefix="BOOKPAY#") == before


def test_rules_need_the_right_role(world: World, setup: Any) -> None:
    practice, client, svc = setup
    for method, path, body in [
        ("PUT", f"/services/{svc['id']}/booking-payment", {"rule": PREPAY}),
        ("PUT", f"/clients/{client['id']}/booking-payment", {"rule": PREPAY}),
        ("PUT", "/practice/booking-payment", {"hold_minutes": 20}),
    ]:
        status, _ = world.staff(method, path, body, practice_id=practice.id, role="front_desk")
        assert status == 403, path
    assert world.container.table.query_all(keys.practice_pk(practice.id), prefix="BOOKPAY#") == []


def test_a_forged_or_foreign_pay_link_opens_nothing(world: World, setup: Any) -> None:
    practice, client, svc = setup
    rule(world, practice, svc, rule=DEPOSIT_FLAT)
    session = book(world, practice, client, svc)
    token = session["booking_payment"]["pay_link"].split("/pay/booking/")[1]
    body, mac = token.split(".")

    assert world.public("GET", f"/pay/booking/{body}.{mac[:-2]}xx")[0] == 401
    assert world.public("GET", f"/pay/booking/{body}.{mac}/status")[0] == 200
    assert world.public("GET", "/pay/booking/not-a-token")[0] in (400, 422)
    world.clock.now += timedelta(minutes=31)
    assert world.public("GET", f"/pay/booking/{token}")[0] == 401  # expired with the hold


def test_the_practice_settings_are_versioned(world: World, setup: Any) -> None:
    practice, *_ = setup
    assert world.staff("GET", "/practice/booking-payment", practice_id=practice.id)[1]["version"] == 0
    status, saved = world.staff(
        "PUT", "/practice/booking-payment", {"hold_minutes": 20, "version": 0}, practice_id=practice.id
    )
    assert status == 200 and saved["version"] == 1

    status, stale = world.staff(
        "PUT", "/practice/booking-payment", {"hold_minutes": 25, "version": 0}, practice_id=practice.id
    )

    assert status == 409, stale
    assert world.staff("GET", "/practice/booking-payment", practice_id=practice.id)[1]["hold_minutes"] == 20


# -- the sample events (events/api) --------------------------------------------------------------------
def _sample(name: str) -> dict[str, Any]:
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "events" / "api" / name
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def test_the_booking_samples_run_through_the_real_handlers(world: World) -> None:
    staff = world.handler("staff_api")
    world.admit(_sample("staff_create_practice.json"))  # the samples' staff member
    assert staff(_sample("staff_create_practice.json"), LambdaContext("staff-api"))["statusCode"] == 201
    booked = staff(_sample("staff_book_session.json"), LambdaContext("staff-api"))
    # The sample names a client that does not exist in this practice.
    assert booked["statusCode"] == 404, booked
    page = world.handler("public_api")(_sample("public_booking_page.json"), LambdaContext("public-api"))
    assert page["statusCode"] == 401 and "<html" in page["body"]  # the placeholder signature


def test_a_hold_never_outlasts_the_sessions_start(world: World, setup: Any) -> None:
    practice, client, svc = setup
    rule(world, practice, svc, rule=DEPOSIT_FLAT)
    soon = (world.clock.now + timedelta(minutes=10)).replace(second=0)

    session = book(world, practice, client, svc, start=soon)

    assert datetime.fromisoformat(session["booking_payment"]["hold_expires_at"]) == soon
