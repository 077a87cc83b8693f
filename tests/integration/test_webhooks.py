import json
import random

import pytest

from tests.integration.scenario import charge, create_client, create_practice, save_card
from therabill.core import keys


def _inbox_item(world, event_id):
    return world.container.table.get(keys.stripe_event_pk(event_id), keys.STRIPE_EVENT_SK)


def _queued(world):
    sqs = world.session.client("sqs")
    attrs = sqs.get_queue_attributes(
        QueueUrl=world.resources.stripe_events_queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


EVENT = {
    "id": "evt_test_webhook_1",
    "object": "event",
    "type": "payment_intent.succeeded",
    "created": 0,
    "data": {"object": {"id": "pi_1", "object": "payment_intent", "metadata": {}}},
}


@pytest.mark.parametrize(
    ("header", "timestamp_shift"),
    [
        (None, 0),
        ("t=1,v1=deadbeef", 0),
        ("wrong", 0),
        ("sign", -301),
        ("sign", 301),
    ],
)
def test_bad_signatures_get_400_and_write_nothing(world, header, timestamp_shift):
    payload = json.dumps(EVENT)
    now = int(world.clock().timestamp())
    status, body = world.webhook(payload, header=header, timestamp=now + timestamp_shift)
    assert status == 400 and body["code"] == "bad_signature"
    assert _inbox_item(world, EVENT["id"]) is None
    assert _queued(world) == 0


def test_a_signed_non_event_is_a_400(world):
    status, body = world.webhook('{"hello": "world"}')
    assert status == 400 and body["code"] == "invalid_request"
    status, body = world.webhook("not json at all")
    assert status == 400


def test_an_event_is_recorded_once_and_enqueued_once(world):
    payload = json.dumps(EVENT)
    assert world.webhook(payload)[1]["outcome"] == "new"
    assert world.webhook(payload)[1]["outcome"] == "duplicate"
    assert _queued(world) == 1
    assert _inbox_item(world, EVENT["id"])["status"] == "enqueued"


def test_an_event_that_never_reached_the_queue_is_enqueued_on_redelivery(world):
    # A crash between recording and enqueueing leaves the record 'received'.
    world.container.table.put(
        {
            "PK": keys.stripe_event_pk(EVENT["id"]),
            "SK": keys.STRIPE_EVENT_SK,
            "status": "received",
            "event_id": EVENT["id"],
        }
    )
    assert world.webhook(json.dumps(EVENT))[1]["outcome"] == "requeued"
    assert _queued(world) == 1


def test_the_worker_applies_the_shared_stripe_payloads_without_harm(world, shared_data):
    """Real payloads written by others: none is ours, so each is acknowledged and ignored."""
    bodies = []
    for path in sorted((shared_data / "stripe").glob("*_evt_*.json")):
        event = json.loads(path.read_text())
        bodies.append(json.dumps(event))
    assert bodies
    result = world.worker(bodies)
    assert result == {"batchItemFailures": []}
    for body in bodies:
        item = _inbox_item(world, json.loads(body)["id"])
        assert item["status"] == "processed" and item["result"].startswith("ignored")


def test_account_updated_from_shared_data_applies_to_the_practice_with_that_account(world, shared_data):
    event = json.loads((shared_data / "stripe" / "pay_evt_account_updated.json").read_text())
    account = event["account"]
    practice = create_practice(world, connect=False)
    from datetime import UTC, datetime

    from therabill.payments.gateway import AccountState
    from therabill.practices.store import PracticeStore

    PracticeStore(world.container.table).connect_account(  # the state a connect call leaves
        practice.id,
        AccountState(id=account, charges_enabled=False, payouts_enabled=False, details_submitted=False),
        datetime(2000, 1, 1, tzinfo=UTC),
    )
    assert world.worker([json.dumps(event)]) == {"batchItemFailures": []}
    _, body = world.staff("GET", "/practice", practice_id=practice.id)
    obj = event["data"]["object"]
    assert body["stripe"]["charges_enabled"] is obj["charges_enabled"] is True
    assert body["stripe"]["payouts_enabled"] is obj["payouts_enabled"]


def test_replaying_a_scenario_in_random_order_gives_the_same_ledger_and_emails(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"])
    since = len(world.stripe.events)
    for i in range(3):
        charge(world, practice, client["id"], 1000 + i, key=f"replay-key-{i:04d}")
    events = world.stripe.events[since:]
    deliveries = [e for e in events for _ in range(random.randint(1, 3))]
    random.Random(7).shuffle(deliveries)
    mails_before = len(world.emails())
    for e in deliveries:
        world.worker([json.dumps(e)])
    _, ledger = world.staff("GET", f"/clients/{client['id']}/ledger", practice_id=practice.id)
    assert sorted(e["amount"] for e in ledger["entries"]) == [1000, 1001, 1002]
    assert len(world.emails()) == mails_before  # the receipts went out once, with the charges


def test_a_late_failure_event_never_undoes_a_success(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"])
    _, payment = charge(world, practice, client["id"], 1200)
    failed = {
        "id": "evt_late_failure",
        "object": "event",
        "type": "payment_intent.payment_failed",
        "account": practice.account,
        "created": 1,
        "data": {
            "object": {
                "id": payment["payment_intent_id"],
                "object": "payment_intent",
                "metadata": {"therabill_practice_id": practice.id, "therabill_payment_id": payment["id"]},
                "last_payment_error": {"code": "card_declined", "decline_code": "generic_decline"},
            }
        },
    }
    world.worker([json.dumps(failed)])
    _, body = world.staff("GET", f"/clients/{client['id']}/payments/{payment['id']}", practice_id=practice.id)
    assert body["status"] == "succeeded"


def test_an_event_naming_another_practices_payment_is_ignored(world):
    a = create_practice(world)
    b = create_practice(world)
    client = create_client(world, a)
    save_card(world, a, client["id"])
    _, payment = charge(world, a, client["id"], 700)
    forged = {
        "id": "evt_cross_tenant",
        "object": "event",
        "type": "payment_intent.payment_failed",
        "account": b.account,
        "created": 2,
        "data": {
            "object": {
                "id": "pi_x",
                "object": "payment_intent",
                "metadata": {"therabill_practice_id": a.id, "therabill_payment_id": payment["id"]},
                "last_payment_error": {"code": "card_declined"},
            }
        },
    }
    world.worker([json.dumps(forged)])
    assert _inbox_item(world, "evt_cross_tenant")["result"] == "ignored:unknown-practice"
