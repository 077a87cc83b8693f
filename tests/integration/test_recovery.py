"""Recovery paths found in review: a bad row never stops the reconciler, an email failure never
turns a completed charge into an error, a replay finishes what a crash left, and a success event
that does not match its payment is not believed."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.integration.scenario import charge, create_client, create_practice, save_card
from therabill.core import keys


def _receipts(world, to):
    return [m for m in world.emails() if "Subject: Receipt" in m.raw_data and to in m.raw_data]


def test_one_broken_row_does_not_stop_the_reconciler_for_everyone(world):
    a, b = create_practice(world), create_practice(world)
    ca, cb = create_client(world, a), create_client(world, b, email="bo@client.test")
    save_card(world, a, ca["id"])
    save_card(world, b, cb["id"])
    world.stripe.fail_next(1, kind="5xx")
    _, pay_b = charge(world, b, cb["id"], 700)
    world.clock.now += timedelta(seconds=1)
    world.stripe.fail_next(1, kind="5xx")
    _, pay_a = charge(world, a, ca["id"], 800)
    # B's practice item is unreadable (an older payment, so it comes first in the index).
    world.container.table.delete(keys.practice_pk(b.id), keys.PRACTICE_SK)
    world.clock.now += timedelta(minutes=5)
    counts = world.container.payments.reconcile_pending()
    assert (counts["errors"], counts["retried"]) == (1, 1)
    assert world.container.payments.get(a.id, pay_a["id"]).status == "succeeded"
    assert world.container.payments.get(b.id, pay_b["id"]).status == "pending"  # left for review


def test_a_failed_receipt_never_fails_a_completed_charge_and_the_webhook_sends_it(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"])
    world.mail.fail_next()
    since = len(world.stripe.events)
    status, payment = charge(world, practice, client["id"], 1900)
    assert status == 201 and payment["status"] == "succeeded"
    assert _receipts(world, "ann@client.test") == []
    world.deliver_stripe_events(since=since)  # payment_intent.succeeded: the worker sends it
    assert len(_receipts(world, "ann@client.test")) == 1
    _, ledger = world.staff("GET", f"/clients/{client['id']}/ledger", practice_id=practice.id)
    assert [e["amount"] for e in ledger["entries"]] == [1900]


def test_a_replayed_setup_event_restores_a_default_a_crash_left_unset(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    since = len(world.stripe.events)
    card = save_card(world, practice, client["id"])
    setup_event = next(e for e in world.stripe.events[since:] if e["type"] == "setup_intent.succeeded")
    # The crash: the card and consent were written, the default was not.
    world.container.table.update(
        keys.practice_pk(practice.id), keys.client_sk(client["id"]), update="REMOVE default_card_id"
    )
    # Stripe redelivers; the first delivery never got as far as being marked processed.
    world.container.table.delete(keys.stripe_event_pk(setup_event["id"]), keys.STRIPE_EVENT_SK)
    assert world.worker([json.dumps(setup_event)]) == {"batchItemFailures": []}
    _, body = world.staff("GET", f"/clients/{client['id']}", practice_id=practice.id)
    assert body["default_card_id"] == card["id"]


def test_a_success_event_whose_amount_differs_from_the_payment_is_not_believed(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"], pm="pm_card_chargeCustomerFail")
    _, payment = charge(world, practice, client["id"], 50_000)
    assert payment["status"] == "declined"
    forged = {
        "id": "evt_small_pi_names_big_payment",
        "object": "event",
        "type": "payment_intent.succeeded",
        "account": practice.account,
        "created": int(world.clock().timestamp()),
        "data": {
            "object": {
                "id": "pi_other",
                "object": "payment_intent",
                "amount": 100,
                "currency": "usd",
                "metadata": {"therabill_practice_id": practice.id, "therabill_payment_id": payment["id"]},
            }
        },
    }
    world.worker([json.dumps(forged)])
    _, body = world.staff("GET", f"/clients/{client['id']}/payments/{payment['id']}", practice_id=practice.id)
    assert body["status"] == "declined"
    _, ledger = world.staff("GET", f"/clients/{client['id']}/ledger", practice_id=practice.id)
    assert ledger["entries"] == []
