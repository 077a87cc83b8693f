"""The replay check: every Stripe event of a sessions-and-money scenario (split copay at
check-in, a late-cancellation fee, a partial refund, a declined copay) delivered through the real
webhook → SQS → worker path one to three times in random order leaves the same ledger, payments
and emails as one in-order delivery. The copies carry new event ids, so the inbox (which drops a
repeated id) does not shield the worker: each copy is applied again."""

from __future__ import annotations

import email
import json
import random
from datetime import timedelta

import pytest

from tests.integration.scenario import create_client, create_practice, save_card
from tests.integration.test_services_pricing import create_service
from tests.integration.test_session_fees import POLICY, set_policy
from tests.integration.test_sessions import START, act, book
from tests.integration.test_split_billing import contact, put_rules
from therabill.core import keys


def _state(world, practice, client_ids):
    """Everything the events could change: ledgers, payments, refunds, emails."""
    ledgers = {
        cid: world.staff("GET", f"/clients/{cid}/ledger", practice_id=practice.id)[1] for cid in client_ids
    }
    items = world.container.table.query_all(keys.practice_pk(practice.id), prefix="PAYMENT#")
    payments = sorted(
        (i["id"], i["status"], int(i["amount"]), int(i.get("refunded_amount") or 0)) for i in items
    )
    refunds = sorted(
        (i["id"], i["status"])
        for i in world.container.table.query_all(keys.practice_pk(practice.id), prefix="REFUND#")
    )
    parsed = [email.message_from_string(m.raw_data) for m in world.emails()]
    mails = sorted((str(m["To"]), str(m["Subject"])) for m in parsed)
    return ledgers, payments, refunds, mails


def _deliver(world, events, rng=None):
    """In order once; or (with ``rng``) each event one to three times, shuffled, every copy under
    a new event id so the inbox cannot drop it: the domain's own keys must make it harmless."""
    deliveries = list(events)
    if rng is not None:
        deliveries = [{**e, "id": f"{e['id']}_copy{n}"} for e in events for n in range(rng.randint(1, 3))]
        rng.shuffle(deliveries)
    for event in deliveries:
        status, _ = world.webhook(json.dumps(event))
        assert status == 200
        # The worker sometimes takes a batch of several, sometimes one at a time.
        if rng is None or rng.random() < 0.5:
            assert all(not b["batchItemFailures"] for b in world.drain_queue())
    assert all(not b["batchItemFailures"] for b in world.drain_queue())


@pytest.mark.parametrize("seed", [3, 11])
def test_replaying_the_session_scenario_changes_nothing(world, seed):
    practice = create_practice(world)
    set_policy(world, practice, POLICY)
    client = create_client(world, practice, copay_amount=2_500)
    mom = contact(world, practice, client["id"], "Mia Parent", "mia@parent.test")
    save_card(world, practice, client["id"])
    save_card(world, practice, client["id"], contact_id=mom["id"])
    rules = [
        {
            "kinds": ["copay"],
            "shares": [
                {"owner_id": mom["id"], "type": "percent", "value": 4000},
                {"owner_id": client["id"], "type": "rest"},
            ],
        }
    ]
    assert put_rules(world, practice, client["id"], rules)[0] == 200
    other = create_client(world, practice, copay_amount=1_500, email="bo@client.test")
    save_card(world, practice, other["id"], pm="pm_card_chargeCustomerFail")
    svc = create_service(world, practice)

    since = len(world.stripe.events)
    first = book(world, practice, client, svc)
    second = book(world, practice, client, svc, start=START + timedelta(days=1))
    declined = book(world, practice, other, svc)
    world.clock.now = START - timedelta(minutes=10)
    assert act(world, practice, first["id"], "check-in")[1]["copay"]["status"] == "charged"
    assert act(world, practice, declined["id"], "check-in")[1]["copay"]["status"] == "retrying"
    world.clock.now = START + timedelta(days=1) - timedelta(hours=5)
    _, cancelled = act(world, practice, second["id"], "cancel", {"cancelled_by": "client"})
    fee = cancelled["fee"]
    assert fee["status"] == "charged" and fee["amount"] > 0, fee
    status, refund = world.staff(
        "POST",
        f"/clients/{client['id']}/payments/{fee['payment_id']}/refunds",
        {"amount": fee["amount"] // 2},
        practice_id=practice.id,
        headers={"Idempotency-Key": "replay-refund"},
    )
    assert status in (201, 202), refund
    events = world.stripe.events[since:]
    assert {"payment_intent.succeeded", "charge.refunded"} <= {e["type"] for e in events}

    _deliver(world, events)
    once = _state(world, practice, [client["id"], other["id"]])
    rng = random.Random(seed)
    _deliver(world, events, rng)
    assert _state(world, practice, [client["id"], other["id"]]) == once
    # The copies really reached the domain (not dropped as duplicates on the way).
    copy = next(e for e in events if e["type"] == "payment_intent.succeeded")
    applied = world.container.table.get(keys.stripe_event_pk(f"{copy['id']}_copy0"), keys.STRIPE_EVENT_SK)
    assert applied["status"] == "processed" and applied["result"] == "payment-succeeded", applied
    ledger = once[0][client["id"]]
    assert {e["kind"] for e in ledger["entries"]} >= {"charge", "payment", "refund"}
