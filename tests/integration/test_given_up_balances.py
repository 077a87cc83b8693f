"""A copay or fee whose declined payment is retried until the decline policy gives it up becomes an
open balance on its session, once: the nightly run or the next invoice bills it once, and the
practice is told once (the payment's own notice). Driven through the real handlers: the staff API,
the scheduled reconciler (the retries), Stripe's webhooks (delivered late and twice), the nightly
run's dispatch and worker."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from devstack import apigw
from tests.fakes.card_behaviour import GENERIC_DECLINE, set_charge_decline
from tests.integration import scenario
from tests.integration.conftest import World
from tests.integration.test_nightly_support import (
    charges,
    drain,
    fire,
    install_queue,
    local,
    mails,
    service,
    session_on,
)
from tests.integration.test_services_pricing import create_service
from tests.integration.test_session_fees import POLICY, set_policy
from tests.integration.test_sessions import START, act, book
from therabill.core import keys
from therabill.payments import retries

DAY = "2026-11-20"
NEXT = "2026-11-21"  # the retries run past DAY's cutoff: NEXT's run bills the session
SCHEDULER_EVENT = json.loads(
    (Path(__file__).resolve().parents[2] / "events" / "scheduler" / "payments_reconciler.json").read_text()
)
GAVE_UP = "could not be collected"


def _reconciler(world: World) -> None:
    world.handler("payments_reconciler")(SCHEDULER_EVENT, apigw.LambdaContext("payments-reconciler"))


def _declining_card(world: World, practice: scenario.Practice, client_id: str) -> None:
    card = scenario.save_card(world, practice, client_id)
    item = world.container.table.get(keys.practice_pk(practice.id), keys.card_sk(client_id, card["id"]))
    set_charge_decline(world.stripe, item["payment_method_id"], GENERIC_DECLINE)


def _session(world: World, practice: scenario.Practice, session_id: str) -> dict[str, Any]:
    status, body = world.staff("GET", f"/sessions/{session_id}", practice_id=practice.id)
    assert status == 200, body
    return dict(body)


def _retry_until_given_up(world: World, practice: scenario.Practice, client_id: str, payment_id: str) -> None:
    """The reconciler's runs, each just after the next retry is due (generic declines: 4 hours)."""
    for _ in range(retries.MAX_ATTEMPTS + 2):  # more runs than attempts
        world.clock.now += timedelta(hours=4, minutes=5)
        _reconciler(world)
    status, payment = world.staff(
        "GET", f"/clients/{client_id}/payments/{payment_id}", practice_id=practice.id
    )
    assert status == 200 and payment["status"] == "failed", payment
    stored = world.container.table.get(keys.practice_pk(practice.id), keys.payment_sk(payment_id))
    assert stored["attempt"] == retries.MAX_ATTEMPTS


def _notices(world: World) -> list[tuple[str, str, str]]:
    return [m for m in mails(world) if m[0] == "office@harbor.test" and GAVE_UP in m[1]]


def test_a_copay_given_up_after_its_retries_is_invoiced_once_never_with_the_session_price(
    world: World,
) -> None:
    install_queue(world)
    practice = scenario.create_practice(world)
    svc = service(world, practice)
    client = scenario.create_client(world, practice, copay_amount=2_500)
    _declining_card(world, practice, client["id"])
    done = session_on(world, practice, client["id"], svc, local(DAY, 9))  # checked in, then completed
    assert done["copay"]["status"] == "retrying", done["copay"]
    payment_id = done["copay"]["payment_id"]

    world.clock.now = local(DAY, 9)
    _retry_until_given_up(world, practice, client["id"], payment_id)
    copay = _session(world, practice, done["id"])["copay"]
    assert copay["status"] == "balance" and copay["payment_id"] == payment_id, copay
    assert "generic_decline" in copay["problem"]
    # Every attempt's failure event, delivered late and twice, changes nothing more.
    world.deliver_stripe_events()
    world.deliver_stripe_events()
    assert _session(world, practice, done["id"])["copay"] == copay
    (notice,) = _notices(world)
    assert "USD 25.00" in notice[1] and "will be invoiced" in notice[2]
    assert [m for m in mails(world) if m[1].startswith("A copay")] == []  # no second email

    # The client is insured: the session's price is the claim's, so tonight's run bills nothing
    # (the session waits: claims not set up) and the copay left open is the client's only debt.
    set_charge_decline(world.stripe, _pm(world, practice, client["id"]), None)
    before = charges(world)
    fire(world, practice.id, local(NEXT, 23))
    drain(world)
    status, run = world.staff("GET", f"/billing-runs/{NEXT}", practice_id=practice.id)
    assert status == 200, run
    assert run["items"] == [] and run["report"]["incomplete"] == 1, run
    assert charges(world) == before
    # An invoice bills the copay, once, and never the session's price.
    status, invoice = scenario.create_invoice(
        world,
        practice,
        {"client_id": client["id"], "kind": "session", "session_id": done["id"]},
        key="copay-invoice-0001",
    )
    assert status == 201, invoice
    assert [x["source_key"] for x in invoice["lines"]] == [f"copay:{done['id']}"]
    assert sum(x["amount"] for x in invoice["lines"]) == 2_500
    status, again = scenario.create_invoice(
        world,
        practice,
        {"client_id": client["id"], "kind": "session", "session_id": done["id"]},
        key="copay-invoice-0002",
    )
    assert status == 409, again
    assert charges(world) == before
    assert len(_notices(world)) == 1


def test_a_fee_given_up_after_its_retries_is_billed_by_the_next_invoice_once(world: World) -> None:
    practice = scenario.create_practice(world)
    set_policy(world, practice, POLICY)
    client = scenario.create_client(world, practice)
    _declining_card(world, practice, client["id"])
    svc = create_service(world, practice)
    session = book(world, practice, client, svc)
    world.clock.now = START - timedelta(hours=10)
    status, cancelled = act(world, practice, session["id"], "cancel", {"cancelled_by": "client"})
    assert status == 200 and cancelled["fee"]["status"] == "retrying", cancelled
    payment_id = cancelled["fee"]["payment_id"]
    assert _notices(world) == []

    _retry_until_given_up(world, practice, client["id"], payment_id)
    fee = _session(world, practice, session["id"])["fee"]
    assert (fee["status"], fee["amount"], fee["payment_id"]) == ("balance", 5_000, payment_id), fee
    world.deliver_stripe_events()
    world.deliver_stripe_events()
    _reconciler(world)
    assert _session(world, practice, session["id"])["fee"] == fee
    (notice,) = _notices(world)
    assert "USD 50.00" in notice[1] and "will be invoiced" in notice[2]

    body = {"client_id": client["id"], "kind": "session", "session_id": session["id"]}
    status, invoice = scenario.create_invoice(world, practice, body, key="fee-invoice-0001")
    assert status == 201, invoice
    assert [(x["source_key"], x["amount"]) for x in invoice["lines"]] == [(f"fee:{session['id']}", 5_000)]
    status, second = scenario.create_invoice(world, practice, body, key="fee-invoice-0002")
    assert status == 409, second
    assert len(_notices(world)) == 1


def _pm(world: World, practice: scenario.Practice, client_id: str) -> str:
    _, cards = world.staff("GET", f"/clients/{client_id}/cards", practice_id=practice.id)
    item = world.container.table.get(keys.practice_pk(practice.id), keys.card_sk(client_id, cards[0]["id"]))
    return str(item["payment_method_id"])


def test_a_late_success_of_the_payment_given_up_settles_the_balance_it_left(world: World) -> None:
    # Given a copay given up after its retries: an open balance naming its payment
    practice = scenario.create_practice(world)
    svc = service(world, practice)
    client = scenario.create_client(world, practice, copay_amount=2_500)
    _declining_card(world, practice, client["id"])
    done = session_on(world, practice, client["id"], svc, local(DAY, 9))
    payment_id = done["copay"]["payment_id"]
    world.clock.now = local(DAY, 9)
    _retry_until_given_up(world, practice, client["id"], payment_id)
    assert _session(world, practice, done["id"])["copay"]["status"] == "balance"
    # When the cardholder later pays that very PaymentIntent on a page with a working card, and
    # Stripe reports it through the signed webhook (twice) to the worker
    stored = world.container.table.get(keys.practice_pk(practice.id), keys.payment_sk(payment_id))
    intent = world.stripe.get(practice.account, stored["payment_intent_id"])
    seen = len(world.stripe.events)
    assert world.stripe.pay_on_page(practice.account, intent["client_secret"])["status"] == "succeeded"
    world.deliver_stripe_events(since=seen)
    world.deliver_stripe_events(since=seen)
    status, payment = world.staff(
        "GET", f"/clients/{client['id']}/payments/{payment_id}", practice_id=practice.id
    )
    assert status == 200 and payment["status"] == "succeeded", payment
    # Then the balance is settled: the copay is charged, and nothing invoices it again
    copay = _session(world, practice, done["id"])["copay"]
    assert copay["status"] == "charged" and copay["problem"] is None, copay
