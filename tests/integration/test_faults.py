"""Faults around a charge: DynamoDB throttling and a crash between the Stripe call and our write.
Whatever fails, no money is lost, nothing is charged twice, and a retry completes the state."""

from __future__ import annotations

from tests.integration.faults import FailingDynamo
from tests.integration.scenario import charge, create_client, create_practice, save_card


def _install(world) -> FailingDynamo:
    return world.dynamo


def _payment_intent_creates(world) -> int:
    return len([r for r in world.stripe.requests_to("/v1/payment_intents", "POST") if r.status == 200])


def test_throttling_before_anything_is_written_is_a_503_and_writes_nothing(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"])
    failing = _install(world)
    failing.fail("put_item")  # the pending payment cannot be written
    status, body = charge(world, practice, client["id"], 1800)
    assert status == 503 and body["code"] == "unavailable"
    assert _payment_intent_creates(world) == 0
    status, body = charge(world, practice, client["id"], 1800)  # the client retries
    assert status == 201 and body["status"] == "succeeded"
    assert _payment_intent_creates(world) == 1


def test_a_crash_between_stripe_and_our_write_is_completed_by_the_retry_without_a_second_charge(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"])
    failing = _install(world)
    failing.fail("update_item")  # Stripe charged; recording the success fails
    status, _ = charge(world, practice, client["id"], 2200, key="crash-key-0001")
    assert status == 503
    status, payment = charge(world, practice, client["id"], 2200, key="crash-key-0001")
    assert status == 201 and payment["status"] == "succeeded"
    # Stripe saw the same idempotency key twice and charged once.
    creates = world.stripe.requests_to("/v1/payment_intents", "POST")
    assert {r.idempotency_key for r in creates} == {f"therabill:charge:{payment['id']}"}
    assert [r.replayed for r in creates] == [False, True]
    _, ledger = world.staff("GET", f"/clients/{client['id']}/ledger", practice_id=practice.id)
    assert [e["amount"] for e in ledger["entries"]] == [2200]


def test_a_crash_after_the_payment_succeeded_but_before_the_ledger_is_finished_by_the_webhook(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"])
    since = len(world.stripe.events)
    failing = _install(world)
    failing.fail("transact_write_items")  # the ledger entry cannot be written
    status, _ = charge(world, practice, client["id"], 900)
    assert status == 503
    world.deliver_stripe_events(since=since)  # payment_intent.succeeded completes it
    _, ledger = world.staff("GET", f"/clients/{client['id']}/ledger", practice_id=practice.id)
    assert [e["amount"] for e in ledger["entries"]] == [900]
    receipts = [m for m in world.emails() if "Receipt" in m.raw_data]
    assert len(receipts) == 1
    assert _payment_intent_creates(world) == 1


def test_a_stripe_429_leaves_the_charge_pending_for_the_reconciler(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"])
    world.stripe.fail_next(1, kind="429")
    status, payment = charge(world, practice, client["id"], 600)
    assert status == 202 and payment["status"] == "pending"
    status, again = charge(world, practice, client["id"], 600)  # a retry finishes it
    assert status == 201 and again["status"] == "succeeded" and again["id"] == payment["id"]
    assert _payment_intent_creates(world) == 1
