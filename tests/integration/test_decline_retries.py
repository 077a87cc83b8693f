"""Declines retried on a schedule by decline code, through the real handlers:
the staff API charges, the scheduled reconciler retries, the webhook path delivers Stripe's
events. Whatever happens, Stripe charges a payment at most once."""

from __future__ import annotations

import email
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from devstack import apigw
from tests.fakes.card_behaviour import (
    GENERIC_DECLINE,
    INSUFFICIENT_FUNDS,
    LOST_CARD,
    set_charge_decline,
)
from tests.integration.scenario import charge, create_client, create_practice, save_card
from therabill.core import keys
from therabill.payments import retries

SCHEDULER_EVENT = json.loads(
    (Path(__file__).resolve().parents[2] / "events" / "scheduler" / "payments_reconciler.json").read_text()
)


def _reconciler(world) -> dict[str, Any]:
    """One run of the scheduled Lambda (EventBridge Scheduler's event)."""
    handler = world.handler("payments_reconciler")
    return handler(SCHEDULER_EVENT, apigw.LambdaContext("payments-reconciler"))


def _setup(world, decline: tuple[str, str, str] | None):
    practice = create_practice(world)
    client = create_client(world, practice)
    card = save_card(world, practice, client["id"])
    item = world.container.table.get(keys.practice_pk(practice.id), keys.card_sk(client["id"], card["id"]))
    pm = item["payment_method_id"]
    set_charge_decline(world.stripe, pm, decline)
    return practice, client, pm


def _payment(world, practice, client, payment_id) -> dict[str, Any]:
    status, body = world.staff(
        "GET", f"/clients/{client['id']}/payments/{payment_id}", practice_id=practice.id
    )
    assert status == 200, body
    return body


def _stored(world, practice, payment_id) -> dict[str, Any]:
    return world.container.table.get(keys.practice_pk(practice.id), keys.payment_sk(payment_id))


def _creates(world) -> list[Any]:
    return world.stripe.requests_to("/v1/payment_intents", "POST")


def _charged(world) -> int:
    """PaymentIntents Stripe actually charged."""
    return len(world.stripe.events_of_type("payment_intent.succeeded"))


def _ledger(world, practice, client) -> list[int]:
    _, body = world.staff("GET", f"/clients/{client['id']}/ledger", practice_id=practice.id)
    return [e["amount"] for e in body["entries"]]


def _subjects(world, prefix: str) -> list[str]:
    out = []
    for m in world.emails():
        subject = email.message_from_string(m.raw_data)["Subject"] or ""
        if subject.startswith(prefix):
            out.append(subject)
    return out


def test_insufficient_funds_is_retried_a_day_later_and_succeeds_once(world):
    practice, client, pm = _setup(world, INSUFFICIENT_FUNDS)
    status, payment = charge(world, practice, client["id"], 4_500, key="retry-if-0001")
    assert (
        status == 201 and payment["status"] == "declined" and payment["decline_code"] == "insufficient_funds"
    )
    stored = _stored(world, practice, payment["id"])
    assert stored["GSI1PK"] == keys.RETRY_DUE_GSI and stored["attempt"] == 1
    declined_at = world.clock()

    # Not before a day has passed, even though the card would now be approved.
    set_charge_decline(world.stripe, pm, None)
    world.clock.now = declined_at + timedelta(hours=23, minutes=59)
    _reconciler(world)
    assert _payment(world, practice, client, payment["id"])["status"] == "declined"
    assert len(_creates(world)) == 1

    world.clock.now = declined_at + timedelta(days=1)
    _reconciler(world)
    body = _payment(world, practice, client, payment["id"])
    assert body["status"] == "succeeded" and body["error_code"] is None
    assert [r.idempotency_key for r in _creates(world)] == [
        f"therabill:charge:{payment['id']}",
        f"therabill:charge:{payment['id']}:2",
    ]
    stored = _stored(world, practice, payment["id"])
    assert stored["attempt"] == 2 and "next_retry_at" not in stored
    assert stored["GSI1PK"] == keys.payment_intent_gsi(body["payment_intent_id"])  # out of RETRYDUE
    assert [a["code"] for a in stored["attempts"]] == ["insufficient_funds"]

    # Every event of both attempts, delivered late and twice, changes nothing.
    world.deliver_stripe_events()
    world.deliver_stripe_events()
    _reconciler(world)
    assert _payment(world, practice, client, payment["id"])["status"] == "succeeded"
    assert _ledger(world, practice, client) == [4_500]
    assert len(_subjects(world, "Receipt")) == 1
    assert _charged(world) == 1


def test_a_hard_decline_is_never_retried(world):
    practice, client, pm = _setup(world, LOST_CARD)
    status, payment = charge(world, practice, client["id"], 3_000, key="retry-hard-0001")
    assert status == 201 and payment["status"] == "declined" and payment["decline_code"] == "lost_card"
    stored = _stored(world, practice, payment["id"])
    assert "next_retry_at" not in stored and stored["GSI1PK"].startswith("PI#")
    set_charge_decline(world.stripe, pm, None)
    for _ in range(5):
        world.clock.now += timedelta(days=2)
        _reconciler(world)
    world.deliver_stripe_events()
    assert _payment(world, practice, client, payment["id"])["status"] == "declined"
    assert len(_creates(world)) == 1
    assert _ledger(world, practice, client) == []
    assert _subjects(world, "A payment of") == []


def test_after_the_last_attempt_the_payment_is_given_up_and_the_practice_told_once(world):
    practice, client, _ = _setup(world, GENERIC_DECLINE)
    status, payment = charge(world, practice, client["id"], 2_000, key="retry-cap-0001")
    assert status == 201 and payment["status"] == "declined"
    for _ in range(10):  # far more runs than attempts
        world.clock.now += timedelta(hours=4)
        _reconciler(world)
    body = _payment(world, practice, client, payment["id"])
    assert body["status"] == "failed"
    assert (body["error_code"], body["decline_code"]) == ("card_declined", "generic_decline")
    keys_sent = [r.idempotency_key for r in _creates(world)]
    assert keys_sent == [f"therabill:charge:{payment['id']}"] + [
        f"therabill:charge:{payment['id']}:{n}" for n in range(2, retries.MAX_ATTEMPTS + 1)
    ]
    stored = _stored(world, practice, payment["id"])
    assert stored["attempt"] == retries.MAX_ATTEMPTS and "next_retry_at" not in stored
    assert stored["GSI1PK"].startswith("PI#")
    # Webhooks of every attempt, twice, do not send a second notice or revive the payment.
    world.deliver_stripe_events()
    world.deliver_stripe_events()
    _reconciler(world)
    notices = _subjects(world, "A payment of")
    assert notices == ["A payment of USD 20.00 could not be collected"]
    assert _payment(world, practice, client, payment["id"])["status"] == "failed"
    assert _ledger(world, practice, client) == [] and _charged(world) == 0


def test_a_timeout_after_writing_attempt_two_is_replayed_with_its_own_key_and_charges_once(world):
    practice, client, pm = _setup(world, INSUFFICIENT_FUNDS)
    _, payment = charge(world, practice, client["id"], 1_200, key="retry-crash-0001")
    set_charge_decline(world.stripe, pm, None)
    world.stripe.fail_next(1, kind="timeout_after_commit", path="/v1/payment_intents")
    world.clock.now += timedelta(days=1)
    _reconciler(world)  # attempt 2 recorded, Stripe charged, the answer was lost
    stored = _stored(world, practice, payment["id"])
    assert stored["status"] == "pending" and stored["attempt"] == 2
    assert stored["GSI1PK"] == keys.PENDING_PAYMENTS_GSI
    world.clock.now += timedelta(minutes=15)
    _reconciler(world)  # the reconciler replays attempt 2's key: Stripe answers from memory
    assert _payment(world, practice, client, payment["id"])["status"] == "succeeded"
    second = [r for r in _creates(world) if r.idempotency_key == f"therabill:charge:{payment['id']}:2"]
    assert len([r for r in second if r.status == 200 and not r.replayed]) <= 1
    assert _charged(world) == 1
    world.deliver_stripe_events()
    assert _ledger(world, practice, client) == [1_200]
    assert len(_subjects(world, "Receipt")) == 1


def test_an_attempt_left_pending_for_days_is_never_replayed(world):
    practice, client, pm = _setup(world, INSUFFICIENT_FUNDS)
    since = len(world.stripe.events)
    _, payment = charge(world, practice, client["id"], 1_500, key="retry-late-0001")
    set_charge_decline(world.stripe, pm, None)
    world.stripe.fail_next(1, kind="timeout_after_commit", path="/v1/payment_intents")
    world.clock.now += timedelta(days=1)
    _reconciler(world)  # attempt 2 charged by Stripe; the answer was lost
    creates = len(_creates(world))
    world.clock.now += timedelta(days=3)  # Stripe may have forgotten the key by now
    _reconciler(world)
    status, again = charge(world, practice, client["id"], 1_500, key="retry-late-0001")  # a staff retry
    assert status in (200, 201) and again["status"] == "failed" and again["error_code"] == "not_confirmed"
    assert len(_creates(world)) == creates  # nothing replayed
    assert "GSI1PK" not in _stored(world, practice, payment["id"]) or not _stored(
        world, practice, payment["id"]
    )["GSI1PK"].startswith(("RETRYDUE", "PENDINGPAY"))
    # Stripe's success event for attempt 2 arrives: it turns into a success, once.
    world.deliver_stripe_events(since=since)
    assert _payment(world, practice, client, payment["id"])["status"] == "succeeded"
    assert _ledger(world, practice, client) == [1_500] and _charged(world) == 1


def test_a_failure_event_of_an_earlier_attempt_does_not_disturb_the_current_one(world):
    practice, client, pm = _setup(world, GENERIC_DECLINE)
    since = len(world.stripe.events)
    _, payment = charge(world, practice, client["id"], 800, key="retry-old-0001")
    first_events = world.stripe.events[since:]
    assert any(e["type"] == "payment_intent.payment_failed" for e in first_events)
    set_charge_decline(world.stripe, pm, None)
    world.stripe.fail_next(1, kind="timeout", path="/v1/payment_intents")
    world.clock.now += timedelta(hours=4)
    _reconciler(world)  # attempt 2 written, Stripe never reached
    assert _stored(world, practice, payment["id"])["status"] == "pending"
    # Attempt 1's failure is delivered only now (late), twice.
    for e in first_events * 2:
        assert world.webhook(json.dumps(e))[0] == 200
    world.drain_queue()
    stored = _stored(world, practice, payment["id"])
    assert stored["status"] == "pending" and stored["attempt"] == 2
    world.clock.now += timedelta(minutes=15)
    _reconciler(world)
    assert _payment(world, practice, client, payment["id"])["status"] == "succeeded"
    # And once more after the success: still nothing changes.
    for e in first_events:
        world.worker([json.dumps({**e, "id": e["id"] + "_again"})])
    assert _payment(world, practice, client, payment["id"])["status"] == "succeeded"
    assert _ledger(world, practice, client) == [800] and _charged(world) == 1


def test_the_decline_recorded_by_the_webhook_first_schedules_the_same_retry(world):
    practice, client, _ = _setup(world, INSUFFICIENT_FUNDS)
    _, payment = charge(world, practice, client["id"], 900, key="retry-dup-0001")
    before = _stored(world, practice, payment["id"])
    world.clock.now += timedelta(hours=2)
    world.deliver_stripe_events()  # the same decline again, later: not a new decline
    after = _stored(world, practice, payment["id"])
    assert after["next_retry_at"] == before["next_retry_at"] and after["GSI1SK"] == before["GSI1SK"]
    assert after["attempt"] == 1


def test_a_retry_is_not_made_once_the_cards_consent_is_revoked(world):
    practice, client, pm = _setup(world, INSUFFICIENT_FUNDS)
    status, payment = charge(world, practice, client["id"], 1_200, key="retry-consent-0001")
    assert status == 201 and payment["status"] == "declined"
    _, cards = world.staff("GET", f"/clients/{client['id']}/cards", practice_id=practice.id)
    world.staff("DELETE", f"/clients/{client['id']}/cards/{cards[0]['id']}", practice_id=practice.id)
    set_charge_decline(world.stripe, pm, None)
    world.clock.now += timedelta(days=2)
    _reconciler(world)
    body = _payment(world, practice, client, payment["id"])
    assert (body["status"], body["error_code"]) == ("failed", "consent_not_valid")
    assert len(_creates(world)) == 1
