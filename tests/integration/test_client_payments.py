"""Payments the client makes on a page (PaymentService.start_client_payment): written before
Stripe is called, one PaymentIntent per payment whatever is retried, success through the webhook
(ledger per kind, receipt, success hooks: each once), cancellation, and Stripe faults."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from typing import Any

import pytest

from tests.integration.conftest import World
from tests.integration.scenario import Practice, create_client, create_practice
from therabill.core.errors import ConflictError
from therabill.payments.models import Payment
from therabill.practices.models import Practice as PracticeModel


def _start(world: World, practice: Practice, client_id: str, **overrides: Any) -> tuple[Payment, str | None]:
    args: dict[str, Any] = {
        "client_id": client_id,
        "owner_id": None,
        "request_key": "booking:ses_test_0001",
        "amount": 4_000,
        "kind": "deposit",
        "memo": "deposit for a booking",
        "created_by": "usr_test",
        "reference": "session:ses_test_0001",
    }
    args.update(overrides)
    return world.container.payments.start_client_payment(practice.id, **args)


def _ledger(world: World, practice: Practice, client_id: str) -> list[tuple[str, int, str | None]]:
    status, ledger = world.staff("GET", f"/clients/{client_id}/ledger", practice_id=practice.id)
    assert status == 200, ledger
    return [(e["kind"], e["amount"], e["payment_id"]) for e in ledger["entries"]]


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, practice: PracticeModel, payment: Payment) -> None:
        self.calls.append((practice.id, payment.id))


@pytest.fixture
def hook(world: World) -> Recorder:
    recorder = Recorder()
    world.container.payments.on_success("deposit", recorder)
    return recorder


def test_a_client_payment_is_written_before_stripe_and_waits_for_the_client(world: World) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    world.stripe.fail_next(1, "timeout", path="/v1/payment_intents")

    payment, secret = _start(world, practice, client["id"])

    # Stripe never saw it: the payment is recorded, pending, with no client secret yet.
    assert (payment.status, secret) == ("pending", None)
    assert world.stripe.requests_to("/v1/payment_intents", "POST")[-1].status is None
    # The page (or the reconciler) creates the PaymentIntent later with the same key.
    payment, secret = world.container.payments.client_secret(
        world.container.practices.get(practice.id), payment.id
    )
    assert payment.status == "awaiting_client" and secret is not None
    intent = world.stripe.get(practice.account, secret.split("_secret_")[0])
    assert intent["metadata"]["therabill_payment_id"] == payment.id
    assert intent["amount"] == 4_000 and intent["payment_method_types"] == ["card"]
    assert intent["description"] == f"Payment {payment.id}"


def test_a_retried_start_meets_the_same_payment_intent(world: World) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)

    first, secret1 = _start(world, practice, client["id"])
    second, secret2 = _start(world, practice, client["id"])

    assert first.id == second.id and secret1 == secret2 and secret1 is not None
    creates = [
        r for r in world.stripe.requests_to("/v1/payment_intents", "POST") if r.path == "/v1/payment_intents"
    ]
    assert len(creates) == 1
    assert creates[0].idempotency_key == f"therabill:pi:{first.id}"
    assert creates[0].stripe_account == practice.account


def test_the_same_key_for_another_amount_is_a_conflict(world: World) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    _start(world, practice, client["id"])

    with pytest.raises(ConflictError):
        _start(world, practice, client["id"], amount=5_000)


def test_a_crash_after_stripe_answered_is_completed_by_the_retry_with_one_intent(world: World) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    world.stripe.fail_next(1, "timeout_after_commit", path="/v1/payment_intents")

    lost, none = _start(world, practice, client["id"])
    payment, secret = _start(world, practice, client["id"])

    assert (lost.status, none) == ("pending", None)
    assert payment.status == "awaiting_client" and secret is not None
    intents = {
        r.params.get("metadata", {}).get("therabill_payment_id")
        for r in world.stripe.requests_to("/v1/payment_intents", "POST")
    }
    assert intents == {payment.id}
    ids = {e["data"]["object"]["id"] for e in world.stripe.events_of_type("payment_intent.created")}
    assert len(ids) == 1


@pytest.mark.parametrize("fault", ["5xx", "429"])
def test_stripe_unavailable_leaves_it_pending_for_the_reconciler(world: World, fault: str) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    world.stripe.fail_next(1, fault, path="/v1/payment_intents")  # type: ignore[arg-type]
    payment, _ = _start(world, practice, client["id"])
    assert payment.status == "pending"

    world.clock.now += timedelta(minutes=5)
    counts = world.container.payments.reconcile_pending()

    assert counts["retried"] == 1
    assert world.container.payments.get(practice.id, payment.id).status == "awaiting_client"


def test_paid_on_the_page_posts_a_credit_a_receipt_and_runs_the_hook_once_whatever_the_replays(
    world: World, hook: Recorder
) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    payment, secret = _start(world, practice, client["id"])
    assert secret is not None
    since = len(world.stripe.events)

    world.stripe.pay_on_page(practice.account, secret)
    events = world.stripe.events[since:]
    replay = [json.dumps(e) for e in events for _ in range(random.randint(1, 3))]
    random.Random(7).shuffle(replay)
    for body in replay:
        assert world.webhook(body)[0] == 200
    world.drain_queue()

    stored = world.container.payments.get(practice.id, payment.id)
    assert stored.status == "succeeded" and stored.payment_intent_id == secret.split("_secret_")[0]
    assert _ledger(world, practice, client["id"]) == [("credit", 4_000, payment.id)]
    receipts = [m for m in world.emails() if "Receipt" in str(m.raw_data if hasattr(m, "raw_data") else m)]
    assert len(receipts) == 1
    assert hook.calls and set(hook.calls) == {(practice.id, payment.id)}


def test_an_invoice_payment_posts_a_payment_not_a_credit(world: World) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    payment, secret = _start(world, practice, client["id"], kind="invoice", request_key="invoice:inv_1")
    assert secret is not None
    since = len(world.stripe.events)

    world.stripe.pay_on_page(practice.account, secret)
    world.deliver_stripe_events(since=since)

    assert _ledger(world, practice, client["id"]) == [("payment", 4_000, payment.id)]


def test_a_declined_card_on_the_page_leaves_the_payment_waiting_for_another_card(world: World) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    payment, secret = _start(world, practice, client["id"])
    assert secret is not None
    since = len(world.stripe.events)

    world.stripe.pay_on_page(practice.account, secret, payment_method="pm_card_chargeDeclined")
    since = world.deliver_stripe_events(since=since)
    assert world.container.payments.get(practice.id, payment.id).status == "awaiting_client"
    world.stripe.pay_on_page(practice.account, secret)
    world.deliver_stripe_events(since=since)

    assert world.container.payments.get(practice.id, payment.id).status == "succeeded"
    assert _ledger(world, practice, client["id"]) == [("credit", 4_000, payment.id)]


def test_cancelling_an_unpaid_payment_cancels_its_intent(world: World, hook: Recorder) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    payment, secret = _start(world, practice, client["id"])
    assert secret is not None
    model = world.container.practices.get(practice.id)
    since = len(world.stripe.events)

    cancelled = world.container.payments.cancel_client_payment(model, payment.id)
    again = world.container.payments.cancel_client_payment(model, payment.id)
    world.deliver_stripe_events(since=since)

    assert (cancelled.status, again.status) == ("canceled", "canceled")
    assert world.stripe.get(practice.account, secret.split("_secret_")[0])["status"] == "canceled"
    assert world.container.payments.get(practice.id, payment.id).status == "canceled"
    assert _ledger(world, practice, client["id"]) == [] and hook.calls == []


def test_cancelling_a_payment_the_client_just_made_records_the_success(world: World, hook: Recorder) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    payment, secret = _start(world, practice, client["id"])
    assert secret is not None
    world.stripe.pay_on_page(practice.account, secret)  # the webhook has not arrived yet

    result = world.container.payments.cancel_client_payment(
        world.container.practices.get(practice.id), payment.id
    )

    assert result.status == "succeeded"
    assert _ledger(world, practice, client["id"]) == [("credit", 4_000, payment.id)]
    assert hook.calls == [(practice.id, payment.id)]


@pytest.mark.parametrize("fault", ["5xx", "429", "timeout"])
def test_cancel_when_stripe_is_unavailable_changes_nothing_and_can_be_retried(
    world: World, fault: str
) -> None:
    from therabill.payments.gateway import GatewayUnavailableError

    practice = create_practice(world)
    client = create_client(world, practice)
    payment, _ = _start(world, practice, client["id"])
    model = world.container.practices.get(practice.id)
    world.stripe.fail_next(1, fault, path=f"/v1/payment_intents/{payment.payment_intent_id}/cancel")  # type: ignore[arg-type]

    with pytest.raises(GatewayUnavailableError):
        world.container.payments.cancel_client_payment(model, payment.id)
    assert world.container.payments.get(practice.id, payment.id).status == "awaiting_client"

    assert world.container.payments.cancel_client_payment(model, payment.id).status == "canceled"


def test_a_late_success_after_cancellation_is_still_recorded(world: World, hook: Recorder) -> None:
    """Out of order: the PaymentIntent succeeded although we recorded it cancelled (a fault
    between the two): the money is never lost."""
    practice = create_practice(world)
    client = create_client(world, practice)
    payment, secret = _start(world, practice, client["id"])
    assert secret is not None
    model = world.container.practices.get(practice.id)
    assert payment.payment_intent_id is not None
    world.container.payments.record_canceled(model, payment.id, payment.payment_intent_id)
    since = len(world.stripe.events)

    world.stripe.pay_on_page(practice.account, secret)
    world.deliver_stripe_events(since=since)

    assert world.container.payments.get(practice.id, payment.id).status == "succeeded"
    assert _ledger(world, practice, client["id"]) == [("credit", 4_000, payment.id)]
    assert hook.calls == [(practice.id, payment.id)]
