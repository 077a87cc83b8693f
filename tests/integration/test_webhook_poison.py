"""Events that must apply, and events that never can, through the real handlers: a card saved by a
client whose browser sent no User-Agent appears after the webhook (missing optional evidence is
recorded as absent); an event the worker can never apply is not retried forever: SQS parks it in
the DLQ after maxReceiveCount receives, its inbox item records it failed with the error kind, and
nothing is lost (a redrive after the fix applies it)."""

from __future__ import annotations

from typing import Any

from tests.integration import scenario
from tests.integration.conftest import World
from therabill import contract
from therabill.core import keys


def _start_setup(world: World, practice: scenario.Practice, client_id: str, *, user_agent: str | None) -> Any:
    token = scenario.setup_link(world, practice, client_id)
    status, page = world.public("GET", f"/setup/{token}", user_agent=user_agent)
    assert status == 200, page
    version = page.split('"version": "')[1].split('"')[0]
    status, intent = world.public(
        "POST",
        f"/setup/{token}/intent",
        {"signer_name": "Ann Client", "agreed": True, "text_version": version},
        user_agent=user_agent,
    )
    assert status == 200, intent
    return intent


def _confirm(world: World, intent: Any) -> int:
    """Stripe.js confirms the SetupIntent; returns the index of the events it emits."""
    since = len(world.stripe.events)
    setup_intent_id = intent["client_secret"].split("_secret_")[0]
    world.stripe.client(stripe_account=intent["stripe_account"]).v1.setup_intents.confirm(
        setup_intent_id, {"payment_method": "pm_card_visa"}
    )
    return since


def _cards(world: World, practice: scenario.Practice, client_id: str) -> list[Any]:
    status, cards = world.staff("GET", f"/clients/{client_id}/cards", practice_id=practice.id)
    assert status == 200, cards
    return list(cards)


def _consent_item(world: World, practice: scenario.Practice) -> dict[str, Any]:
    (item,) = world.container.table.query_all(keys.practice_pk(practice.id), prefix="CONSENT#")
    return dict(item)


def _inbox(world: World, event_id: str) -> dict[str, Any]:
    item = world.container.table.get(keys.stripe_event_pk(event_id), keys.STRIPE_EVENT_SK)
    assert item is not None
    return dict(item)


def _setup_event(world: World, since: int) -> dict[str, Any]:
    (event,) = [e for e in world.stripe.events[since:] if e["type"] == "setup_intent.succeeded"]
    return dict(event)


def _queue_depth(world: World, url: str) -> int:
    attrs = world.session.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def test_a_card_saved_without_a_user_agent_appears_after_the_webhook(world: World) -> None:
    practice = scenario.create_practice(world)
    client = scenario.create_client(world, practice)
    intent = _start_setup(world, practice, client["id"], user_agent=None)
    assert "user_agent" not in _consent_item(world, practice)  # recorded as absent
    since = _confirm(world, intent)
    world.deliver_stripe_events(since=since)
    (card,) = _cards(world, practice, client["id"])
    assert card["last4"] == "4242"
    consent = _consent_item(world, practice)
    assert consent["status"] == "active" and consent["card_id"] == card["id"]
    event = _setup_event(world, since)
    assert _inbox(world, event["id"])["status"] == "processed"


def test_an_event_that_can_never_be_applied_is_parked_after_max_receives_and_recorded(world: World) -> None:
    practice = scenario.create_practice(world)
    client = scenario.create_client(world, practice)
    intent = _start_setup(world, practice, client["id"], user_agent="pytest-browser")
    good = _consent_item(world, practice)
    broken = {k: v for k, v in good.items() if k != "signer_name"}  # a malformed stored item
    world.container.table.put(broken)
    since = _confirm(world, intent)
    event = _setup_event(world, since)
    for e in world.stripe.events[since:]:
        assert world.webhook(scenario.event_json(e))[0] == 200

    rounds = 0
    for _ in range(contract.STRIPE_EVENTS_MAX_RECEIVES * 3):  # far more than it is allowed
        results = world.drain_queue()
        if not results:
            break
        rounds += 1
    assert rounds == contract.STRIPE_EVENTS_MAX_RECEIVES  # bounded: each receive tried once
    assert _queue_depth(world, world.resources.stripe_events_queue_url) == 0
    assert _queue_depth(world, world.resources.stripe_events_dlq_url) == 1  # kept, not dropped
    inbox = _inbox(world, event["id"])
    assert inbox["status"] == "failed" and inbox["last_error"] == "ValidationError"
    assert inbox["receives"] == contract.STRIPE_EVENTS_MAX_RECEIVES
    assert inbox["failures"] == contract.STRIPE_EVENTS_MAX_RECEIVES
    assert "Ann" not in str(inbox)  # the error kind only, no client detail
    assert _cards(world, practice, client["id"]) == []
    # Stripe delivering it again is acknowledged as a duplicate; nothing is re-queued.
    status, answer = world.webhook(scenario.event_json(event))
    assert status == 200 and answer["outcome"] == "duplicate", answer
    assert _queue_depth(world, world.resources.stripe_events_queue_url) == 0
    assert _inbox(world, event["id"]) == inbox  # the parked record is left as it was

    # Nothing is lost: once the cause is fixed, a redrive of the DLQ applies it.
    world.container.table.put(good)
    sqs = world.session.client("sqs")
    (parked,) = sqs.receive_message(QueueUrl=world.resources.stripe_events_dlq_url)["Messages"]
    sqs.send_message(QueueUrl=world.resources.stripe_events_queue_url, MessageBody=parked["Body"])
    sqs.delete_message(QueueUrl=world.resources.stripe_events_dlq_url, ReceiptHandle=parked["ReceiptHandle"])
    world.drain_queue()
    (card,) = _cards(world, practice, client["id"])
    assert card["last4"] == "4242"
    assert _inbox(world, event["id"])["status"] == "processed"
