"""Refunds back to the original payment, disputes as Stripe reports them, and cash or check taken
at the front desk."""

from __future__ import annotations

import json

from tests.integration.scenario import charge, create_client, create_practice, save_card


def _paid(world, amount=2500):
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"])
    _, payment = charge(world, practice, client["id"], amount)
    assert payment["status"] == "succeeded"
    return practice, client, payment


def _refund(world, practice, client, payment, amount=None, key="refund-key-0001", role="owner"):
    body = {} if amount is None else {"amount": amount}
    return world.staff(
        "POST",
        f"/clients/{client['id']}/payments/{payment['id']}/refunds",
        body,
        practice_id=practice.id,
        role=role,
        headers={"Idempotency-Key": key},
    )


def _ledger(world, practice, client):
    _, body = world.staff("GET", f"/clients/{client['id']}/ledger", practice_id=practice.id)
    return body


def test_a_partial_then_the_remaining_refund_post_to_the_ledger_once(world):
    practice, client, payment = _paid(world)
    since = len(world.stripe.events)
    status, first = _refund(world, practice, client, payment, 1000)
    assert status == 201 and first["status"] == "succeeded" and first["amount"] == 1000
    world.deliver_stripe_events(since=since)  # refund.created and charge.refunded change nothing more
    status, rest = _refund(world, practice, client, payment, key="refund-key-0002")
    assert status == 201 and rest["amount"] == 1500
    ledger = _ledger(world, practice, client)
    assert sorted((e["kind"], e["amount"]) for e in ledger["entries"]) == [
        ("payment", 2500),
        ("refund", 1000),
        ("refund", 1500),
    ]
    assert ledger["balance"] == 0
    _, shown = world.staff(
        "GET", f"/clients/{client['id']}/payments/{payment['id']}", practice_id=practice.id
    )
    assert shown["refunded_amount"] == 2500
    status, body = _refund(world, practice, client, payment, key="refund-key-0003")
    assert status == 409 and "in full" in body["message"]


def test_refunds_never_exceed_the_payment_and_refusals_write_nothing(world):
    practice, client, payment = _paid(world)
    status, body = _refund(world, practice, client, payment, 2501)
    assert status == 400 and body["details"]["remaining"] == 2500
    _refund(world, practice, client, payment, 2000, key="refund-key-0004")
    status, body = _refund(world, practice, client, payment, 600, key="refund-key-0005")
    assert status == 400 and body["details"]["remaining"] == 500
    assert len(world.stripe.requests_to("/v1/refunds", "POST")) == 1


def test_a_retried_refund_request_refunds_once(world):
    practice, client, payment = _paid(world)
    first = _refund(world, practice, client, payment, 700)
    again = _refund(world, practice, client, payment, 700)
    assert first[1]["id"] == again[1]["id"]
    assert len(world.stripe.requests_to("/v1/refunds", "POST")) == 1
    request = world.stripe.requests_to("/v1/refunds", "POST")[0]
    assert request.idempotency_key == f"therabill:refund:{first[1]['id']}"
    assert request.stripe_account == practice.account
    assert request.params["payment_intent"] == payment["payment_intent_id"]


def test_a_refund_during_a_stripe_outage_is_completed_by_the_retry(world):
    practice, client, payment = _paid(world)
    world.stripe.fail_next(1, kind="5xx", path="/v1/refunds")
    status, pending = _refund(world, practice, client, payment, 500)
    assert status == 202 and pending["status"] == "pending"
    status, done = _refund(world, practice, client, payment, 500)
    assert status == 201 and done["status"] == "succeeded" and done["id"] == pending["id"]
    assert [e["amount"] for e in _ledger(world, practice, client)["entries"] if e["kind"] == "refund"] == [
        500
    ]


def test_only_owners_and_billers_refund_and_only_succeeded_payments(world):
    practice, client, payment = _paid(world)
    status, _ = _refund(world, practice, client, payment, 100, role="front_desk")
    assert status == 403
    save_card(world, practice, client["id"], pm="pm_card_chargeCustomerFail")
    cards = world.staff("GET", f"/clients/{client['id']}/cards", practice_id=practice.id)[1]
    declining = next(c for c in cards if c["last4"] == "0341")
    _, declined = charge(world, practice, client["id"], 900, key="declined-0001", card_id=declining["id"])
    assert declined["status"] == "declined"
    status, body = _refund(world, practice, client, declined, 100, key="refund-key-0006")
    assert status == 409 and body["details"]["status"] == "declined"


def test_another_practice_cannot_refund_this_payment(world):
    _, client, payment = _paid(world)
    other = create_practice(world)
    status, _ = world.staff(
        "POST",
        f"/clients/{client['id']}/payments/{payment['id']}/refunds",
        {"amount": 100},
        practice_id=other.id,
        headers={"Idempotency-Key": "cross-tenant-01"},
    )
    assert status == 404
    assert world.stripe.requests_to("/v1/refunds", "POST") == []


def test_a_dispute_is_recorded_and_shown_on_its_payment(world, shared_data):
    practice, client, payment = _paid(world)
    event = json.loads((shared_data / "stripe" / "srm_evt_charge_dispute_created.json").read_text())
    # The shared payload is not ours: acknowledged and ignored.
    assert world.worker([json.dumps(event)]) == {"batchItemFailures": []}
    dispute = event["data"]["object"]
    event = {
        **event,
        "id": "evt_dispute_ours",
        "account": practice.account,
        "created": int(world.clock().timestamp()),
        "data": {"object": {**dispute, "payment_intent": payment["payment_intent_id"]}},
    }
    assert world.worker([json.dumps(event)]) == {"batchItemFailures": []}
    _, shown = world.staff(
        "GET", f"/clients/{client['id']}/payments/{payment['id']}", practice_id=practice.id
    )
    assert (shown["dispute_status"], shown["dispute_reason"]) == (dispute["status"], dispute["reason"])


def test_cash_and_check_payments_post_once_per_request(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    path = f"/clients/{client['id']}/payments/manual"
    body = {"amount": 4000, "method": "check", "reference": "#1042"}
    status, first = world.staff(
        "POST", path, body, practice_id=practice.id, headers={"Idempotency-Key": "manual-key-001"}
    )
    assert status == 201 and first["method"] == "check" and "#1042" in first["memo"]
    _, again = world.staff(
        "POST", path, body, practice_id=practice.id, headers={"Idempotency-Key": "manual-key-001"}
    )
    assert again["entry_id"] == first["entry_id"]
    world.staff(
        "POST",
        path,
        {"amount": 1000, "method": "cash"},
        practice_id=practice.id,
        headers={"Idempotency-Key": "manual-key-002"},
    )
    ledger = _ledger(world, practice, client)
    assert sorted((e["method"], e["amount"]) for e in ledger["entries"]) == [("cash", 1000), ("check", 4000)]
    assert ledger["balance"] == -5000
    status, _ = world.staff(
        "POST",
        path,
        {"amount": 10.5, "method": "cash"},
        practice_id=practice.id,
        headers={"Idempotency-Key": "manual-key-003"},
    )
    assert status == 400


def test_an_older_dispute_state_arriving_late_changes_nothing(world):
    practice, client, payment = _paid(world)
    base = int(world.clock().timestamp())

    def event(event_id, status, created):
        obj = {
            "id": "dp_late_order",
            "object": "dispute",
            "amount": payment["amount"],
            "currency": "usd",
            "reason": "fraudulent",
            "status": status,
            "created": base - 100,  # the dispute's own creation: the same in every update
            "payment_intent": payment["payment_intent_id"],
        }
        return {
            "id": event_id,
            "object": "event",
            "type": "charge.dispute.updated",
            "account": practice.account,
            "created": created,
            "data": {"object": obj},
        }

    assert world.worker([json.dumps(event("evt_dp_new", "won", base + 60))]) == {"batchItemFailures": []}
    assert world.worker([json.dumps(event("evt_dp_old", "needs_response", base))]) == {
        "batchItemFailures": []
    }
    _, shown = world.staff(
        "GET", f"/clients/{client['id']}/payments/{payment['id']}", practice_id=practice.id
    )
    assert shown["dispute_status"] == "won"


def test_a_refund_stripe_fails_after_its_success_is_undone_once(world):
    """Stripe reports a succeeded refund failed (the card could no longer take it): the money
    stayed with the practice, so the refund's posting is undone once, the payment may be refunded
    again (its reservation given back), and a redelivered event changes nothing more."""
    practice, client, payment = _paid(world)
    status, refund = _refund(world, practice, client, payment)
    assert status == 201 and refund["status"] == "succeeded", refund
    stored = world.container.refunds.get(practice.id, refund["id"])
    failed = {
        "id": stored.stripe_refund_id,
        "object": "refund",
        "status": "failed",
        "failure_reason": "expired_or_canceled_card",
        "amount": 2500,
        "currency": "usd",
        "payment_intent": "pi_x",
        "metadata": {"therabill_refund_id": refund["id"]},
    }
    for n in (0, 0, 1):  # the event, its redelivery, then another event of the same failure
        event = {
            "id": f"evt_refund_failed_after_{n}",
            "object": "event",
            "type": "refund.updated" if n == 0 else "refund.failed",
            "account": practice.account,
            "created": int(world.clock().timestamp()),
            "data": {"object": failed},
        }
        assert world.webhook(json.dumps(event))[0] == 200
        world.drain_queue()
    assert world.container.refunds.get(practice.id, refund["id"]).status == "failed"
    ledger = _ledger(world, practice, client)
    assert sorted((e["kind"], e["amount"]) for e in ledger["entries"]) == [
        ("payment", 2500),
        ("payment", 2500),  # the failed refund's money, back with the practice
        ("refund", 2500),
    ]
    assert ledger["balance"] == -2500  # the client's credit, as before the refund
    _, shown = world.staff(
        "GET", f"/clients/{client['id']}/payments/{payment['id']}", practice_id=practice.id
    )
    assert shown["refunded_amount"] == 0  # all of it may be refunded again


def test_a_failure_handled_while_the_success_is_posted_is_still_undone(world, monkeypatch):
    """The success has moved the refund to succeeded but not yet posted it when the failure is
    handled (two events at once): whichever finishes last sees the other, and it is undone once."""
    from therabill.payments.gateway import RefundState

    practice, client, payment = _paid(world)
    refunds = world.container.refunds
    monkeypatch.setattr(refunds, "_attempt", lambda practice, payment, refund: refund)  # no answer yet
    status, refund = _refund(world, practice, client, payment, 1000)
    assert (status, refund["status"]) == (202, "pending"), refund
    monkeypatch.undo()
    prc = world.container.practices.get(practice.id)

    def state(status):
        return RefundState(
            id="re_raced",
            status=status,
            amount=1000,
            currency="usd",
            payment_intent_id=None,
            metadata={},
            failure_reason="expired_or_canceled_card" if status == "failed" else None,
        )

    real_post = refunds._post

    def failure_meanwhile(practice_id, r, p):
        refunds.apply(prc, r.id, state("failed"))  # the other event, handled in between
        real_post(practice_id, r, p)

    monkeypatch.setattr(refunds, "_post", failure_meanwhile)
    refunds.apply(prc, refund["id"], state("succeeded"))
    monkeypatch.undo()
    assert refunds.get(practice.id, refund["id"]).status == "failed"
    ledger = _ledger(world, practice, client)
    assert sorted((e["kind"], e["amount"]) for e in ledger["entries"]) == [
        ("payment", 1000),
        ("payment", 2500),
        ("refund", 1000),
    ]
    assert ledger["balance"] == -2500
