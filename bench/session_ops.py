"""Requests per operation of sessions and their money, on the same harness and meter as
the slice (bench/slice_ops.py): book with a deposit and pay it, check in with a copay, complete a
per-minute session, cancel late with a fee charged by policy, refund the fee.

Each operation is one handler invocation, one webhook delivery or one worker batch; the counts
are the steady state (the second pass in one process), as for the slice.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.slice_ops import Meter, _event, _expect, _webhook_and_worker

START = datetime(2031, 3, 4, 15, 0, tzinfo=UTC)
POLICY = {
    "late_cancellation": {
        "window_hours": 24,
        "tiers": [{"within_hours": 24, "fee": {"kind": "percent", "basis_points": 5_000}}],
    }
}


def _z(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _book(
    world: Any, practice: Any, client: dict[str, Any], service_id: str, start: datetime, key: str
) -> tuple[int, Any]:
    body = {
        "client_id": client["id"],
        "service_id": service_id,
        "clinician_id": world.member(practice.id, "clinician").id,
        "scheduled_start": _z(start),
        "scheduled_end": _z(start + timedelta(minutes=50)),
    }
    return world.staff("POST", "/sessions", body, practice_id=practice.id, headers={"Idempotency-Key": key})


def run_sessions(world: Any, meter: Meter, tag: str) -> None:
    original = world.clock.now
    try:
        _run(world, meter, tag)
    finally:
        world.clock.now = original  # the next pass's practice is connected at the harness's time


def _run(world: Any, meter: Meter, tag: str) -> None:
    from tests.integration import scenario

    practice = scenario.create_practice(world)
    status, body = world.staff("PUT", "/practice/cancellation-policy", POLICY, practice_id=practice.id)
    _expect(status == 200, "set the policy", body)
    status, service = world.staff(
        "POST",
        "/services",
        {"name": "Therapy by the minute", "cpt_code": "90837", "unit": "minute", "unit_price": 300},
        practice_id=practice.id,
    )
    _expect(status == 201, "create a service", service)
    client = scenario.create_client(world, practice, copay_amount=2_500)
    scenario.save_card(world, practice, client["id"])
    world.clock.now = START - timedelta(days=2)

    with meter.op("sessions: book"):
        status, session = _book(world, practice, client, service["id"], START, f"bench-book-{tag}")
    _expect(status == 201 and session["status"] == "booked", "book", session)

    # A cash-pay client whose booking waits for a 20 % deposit, paid on the booking page.
    status, body = world.staff(
        "PUT",
        f"/services/{service['id']}/booking-payment",
        {"rule": {"kind": "deposit", "deposit_percent_bps": 2_000}},
        practice_id=practice.id,
    )
    _expect(status == 200, "the deposit rule", body)
    cash_pay = scenario.create_client(world, practice, first_name="Cy", email="cy@client.test")
    with meter.op("sessions: book with a deposit (hold, PaymentIntent, pay link)"):
        status, held = _book(
            world, practice, cash_pay, service["id"], START + timedelta(hours=2), f"bench-deposit-{tag}"
        )
    _expect(status == 201 and held["status"] == "awaiting_payment", "book with a deposit", held)
    link = held["booking_payment"]["pay_link"]
    with meter.op("sessions: open the booking pay page"):
        status, page = world.public("GET", "/pay/booking/" + link.split("/pay/booking/")[1])
    _expect(status == 200, "the booking page", page[:200])
    secret = page.split('"secret": "')[1].split('"')[0]
    since = len(world.stripe.events)
    world.stripe.pay_on_page(practice.account, secret)  # Stripe.js in the client's browser
    _webhook_and_worker(
        meter,
        world,
        "sessions: deposit payment_intent.succeeded (confirms)",
        _event(world, since, "payment_intent.succeeded"),
    )
    status, confirmed = world.staff("GET", f"/sessions/{held['id']}", practice_id=practice.id)
    _expect(confirmed["status"] == "booked", "the deposit confirms the booking", confirmed)

    world.clock.now = START - timedelta(minutes=5)
    since = len(world.stripe.events)
    with meter.op("sessions: check in with a copay (API call)"):
        status, checked = world.staff("POST", f"/sessions/{session['id']}/check-in", practice_id=practice.id)
    _expect(status == 200 and checked["copay"]["status"] == "charged", "check in", checked)
    _webhook_and_worker(
        meter,
        world,
        "sessions: copay payment_intent.succeeded (replay)",
        _event(world, since, "payment_intent.succeeded"),
    )

    world.clock.now = START + timedelta(minutes=60)
    done = {"actual_start": _z(START), "actual_end": _z(START + timedelta(minutes=52))}
    with meter.op("sessions: complete a per-minute session"):
        status, completed = world.staff(
            "POST", f"/sessions/{session['id']}/complete", done, practice_id=practice.id
        )
    _expect(status == 200 and completed["price"]["amount"] == 52 * 300, "complete", completed)

    later = START + timedelta(days=1)
    status, second = _book(world, practice, client, service["id"], later, f"bench-book2-{tag}")
    _expect(status == 201, "book the second session", second)
    world.clock.now = later - timedelta(hours=3)
    since = len(world.stripe.events)
    with meter.op("sessions: late cancellation, fee charged by policy"):
        status, cancelled = world.staff(
            "POST", f"/sessions/{second['id']}/cancel", {"cancelled_by": "client"}, practice_id=practice.id
        )
    _expect(status == 200 and cancelled["fee"]["status"] == "charged", "cancel", cancelled)
    fee_payment = cancelled["fee"]["payment_id"]
    # Its payment_intent.succeeded costs what the copay's did; not repeated here.

    since = len(world.stripe.events)
    with meter.op("sessions: refund the fee", "API call"):
        status, refund = world.staff(
            "POST",
            f"/clients/{client['id']}/payments/{fee_payment}/refunds",
            {"memo": "goodwill", "write_off": True},
            practice_id=practice.id,
            headers={"Idempotency-Key": f"bench-refund-{tag}"},
        )
    _expect(status in (201, 202), "refund", refund)
    _webhook_and_worker(meter, world, "sessions: refund the fee", _event(world, since, "charge.refunded"))

    with meter.op("sessions: read the ledger"):
        status, ledger = world.staff("GET", f"/clients/{client['id']}/ledger", practice_id=practice.id)
    _expect(status == 200 and len(ledger["entries"]) >= 5, "read the ledger", json.dumps(ledger)[:300])
