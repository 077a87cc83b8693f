"""AutoPay per billing party through the staff API and the nightly run: on, the card on file is
charged and the client gets the receipt (or, when the charge fails, the invoice), never both; off,
the invoice is sent and Stripe is never asked. Turning it on where no charge can happen is refused
with the reason."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from devstack import apigw
from tests.fakes.card_behaviour import INSUFFICIENT_FUNDS, LOST_CARD, set_charge_decline
from tests.integration import scenario
from tests.integration.conftest import World
from tests.integration.test_nightly_support import (
    drain,
    fire,
    install_queue,
    local,
    mails,
    run_of,
    service,
    session_on,
)
from therabill.core import keys

RECONCILER_EVENT = json.loads(
    (Path(__file__).resolve().parents[2] / "events" / "scheduler" / "payments_reconciler.json").read_text()
)

DAY = "2026-11-20"


def autopay(world: World, practice_id: str, client_id: str, body: dict[str, Any], role: str = "owner"):
    return world.staff("PUT", f"/clients/{client_id}/autopay", body, practice_id=practice_id, role=role)


def intents(world: World) -> int:
    """PaymentIntents asked of Stripe (any outcome)."""
    return sum(1 for r in world.stripe.requests if r.method == "POST" and r.path == "/v1/payment_intents")


def client_mail(world: World, to: str) -> list[str]:
    return sorted(subject.split(" from ")[0] for addr, subject, _ in mails(world) if addr == to)


def _tonight(world: World, practice) -> dict[str, dict[str, Any]]:
    """Tonight's Ready items by client id."""
    world.clock.now = local(DAY, 20)
    status, listing = world.staff("GET", "/nightly/tonight", practice_id=practice.id)
    assert status == 200, listing
    return {i["client_id"]: i for i in listing["ready"]}


def test_autopay_is_refused_with_the_reason_where_no_charge_can_happen(world: World) -> None:
    practice = scenario.create_practice(world)
    client = scenario.create_client(world, practice)
    status, refused = autopay(world, practice.id, client["id"], {"enabled": True})
    assert status == 409 and refused["details"]["reason"] == "no_card", refused
    scenario.save_card(world, practice, client["id"], kinds=["copay"])
    status, refused = autopay(world, practice.id, client["id"], {"enabled": True})
    assert status == 409 and refused["details"]["reason"] == "consent_excludes_session_fees", refused
    status, shown = world.staff("GET", f"/clients/{client['id']}/autopay", practice_id=practice.id)
    assert status == 200 and (shown["enabled"], shown["autopay"], shown["can_charge"]) == (None, True, False)
    assert shown["blocked_text"] == "the card's consent does not cover session charges"
    status, off = autopay(world, practice.id, client["id"], {"enabled": False})  # off is always allowed
    assert status == 200 and (off["enabled"], off["autopay"]) == (False, False), off
    # A card whose consent covers session fees: on is accepted; a stale version is refused.
    scenario.save_card(world, practice, client["id"], pm="pm_card_mastercard")
    _, cards = world.staff("GET", f"/clients/{client['id']}/cards", practice_id=practice.id)
    newest = next(c for c in cards if c["brand"] == "mastercard")
    status, _ = world.staff(
        "POST", f"/clients/{client['id']}/cards/{newest['id']}/default", practice_id=practice.id
    )
    assert status == 200
    status, on = autopay(world, practice.id, client["id"], {"enabled": True})
    assert status == 200 and on["autopay"] and on["can_charge"], on
    stale = {"enabled": False, "expected_version": off["version"]}
    assert autopay(world, practice.id, client["id"], stale)[0] == 409


def test_autopay_api_tenancy_roles_and_bad_input(world: World) -> None:
    practice = scenario.create_practice(world, connect=False)
    other = scenario.create_practice(world, connect=False)
    client = scenario.create_client(world, practice)
    status, refused = autopay(world, practice.id, client["id"], {"enabled": True})
    assert status == 409 and refused["details"]["reason"] == "practice_cannot_charge"
    assert autopay(world, other.id, client["id"], {"enabled": False})[0] == 404
    assert world.staff("GET", f"/clients/{client['id']}/autopay", practice_id=other.id)[0] == 404
    missing_contact = {"enabled": False, "contact_id": "con_0000000000000000000000000"}
    assert autopay(world, practice.id, client["id"], missing_contact)[0] == 404
    assert autopay(world, practice.id, client["id"], {"enabled": False}, role="clinician")[0] == 403
    for bad, field in (
        ({"enabled": "sometimes"}, "enabled"),
        ({"enabled": False, "x": 1}, "x"),
        ({}, "enabled"),
    ):
        status, body = autopay(world, practice.id, client["id"], bad)
        assert status == 400 and field in str(body["details"]), (bad, body)
    status, body = world.staff(
        "PUT", "/practice/billing-automation", {"autopay_default": "no"}, practice_id=practice.id
    )
    assert status == 400 and "autopay_default" in str(body["details"]), body
    assert (
        world.staff(
            "PUT",
            "/practice/billing-automation",
            {"autopay_default": False},
            practice_id=practice.id,
            role="biller",
        )[0]
        == 403
    )
    _, shown = world.staff("GET", f"/clients/{client['id']}/autopay", practice_id=practice.id)
    assert shown["enabled"] is None and shown["practice_default"] is True  # nothing was written


def _night(world: World, declines: dict[str, tuple[str, str, str] | None]) -> tuple[Any, dict[str, Any]]:
    """A connected practice; per name a client (``<name>@client.test``) with a card on file that
    Stripe declines as given (None: approves) and a session tonight."""
    install_queue(world)
    practice = scenario.create_practice(world)
    svc = service(world, practice)
    clients: dict[str, Any] = {}
    for name, decline in declines.items():
        client = scenario.create_client(world, practice, first_name=name, email=f"{name}@client.test")
        card = scenario.save_card(world, practice, client["id"])
        stored = world.container.table.get(
            keys.practice_pk(practice.id), keys.card_sk(client["id"], card["id"])
        )
        set_charge_decline(world.stripe, stored["payment_method_id"], decline)
        session = session_on(world, practice, client["id"], svc, local(DAY, 9))
        clients[name] = {**client, "session": session, "pm": stored["payment_method_id"]}
    return practice, clients


def _items(world: World, practice_id: str) -> dict[str, dict[str, Any]]:
    return {i["session_id"]: i for i in run_of(world, practice_id, DAY)["items"]}


def test_autopay_decides_charge_or_send_and_the_client_gets_one_email(world: World) -> None:
    """The practice's default off (versioned), then ada off, bea and cal on: ada's invoice is sent
    and Stripe never asked for her; bea is charged and gets only the receipt; cal's card is
    declined for good and cal gets only the invoice."""
    practice, c = _night(world, {"ada": None, "bea": None, "cal": LOST_CARD})
    _, now = world.staff("GET", "/practice/billing-automation", practice_id=practice.id)
    stale = {"autopay_default": False, "expected_version": now["version"] - 1}
    assert world.staff("PUT", "/practice/billing-automation", stale, practice_id=practice.id)[0] == 409
    body = {"autopay_default": False, "expected_version": now["version"]}
    status, settings = world.staff("PUT", "/practice/billing-automation", body, practice_id=practice.id)
    assert (status, settings) == (
        200,
        {
            "auto_billing": True,
            "autopay_default": False,
            "billing_cadence": "nightly",
            "monthly_billing_day": 1,
            "auto_billing_since": None,
            "backfill_from": None,
            "version": now["version"] + 1,
        },
    )
    assert {i["will"] for i in _tonight(world, practice).values()} == {"sent"}
    status, off = autopay(world, practice.id, c["ada"]["id"], {"enabled": False})
    assert status == 200 and off["can_charge"] and not off["autopay"], off
    for name in ("bea", "cal"):
        assert autopay(world, practice.id, c[name]["id"], {"enabled": True})[0] == 200
    tonight = _tonight(world, practice)
    assert (tonight[c["ada"]["id"]]["action"], tonight[c["ada"]["id"]]["will"]) == ("send", "sent")
    assert tonight[c["bea"]["id"]]["will"] == tonight[c["cal"]["id"]]["will"] == "charged now"
    before = len(world.stripe.requests)
    fire(world, practice.id, local(DAY, 23))
    drain(world)
    asked = [
        r for r in world.stripe.requests[before:] if r.method == "POST" and r.path == "/v1/payment_intents"
    ]
    assert sorted(r.params["payment_method"] for r in asked) == sorted([c["bea"]["pm"], c["cal"]["pm"]])
    items = _items(world, practice.id)
    ada, bea, cal = (items[c[n]["session"]["id"]] for n in ("ada", "bea", "cal"))
    assert (ada["outcome"], ada["charged"], ada["payment_ids"]) == ("sent", 0, [])
    assert (bea["outcome"], bea["charged"]) == ("charged", 12_000)
    assert cal["outcome"] == "sent" and "declined" in cal["problem"], cal
    assert [m[:7] for m in client_mail(world, "ada@client.test")] == ["Invoice"]
    assert client_mail(world, "bea@client.test") == ["Receipt"]
    assert [m[:7] for m in client_mail(world, "cal@client.test")] == ["Invoice"]


def test_a_declined_charge_retried_sends_one_email_the_receipt_or_the_invoice(world: World) -> None:
    """Both declined for insufficient funds at the cutoff: the invoices wait (Sending) while the
    cards are retried a day later; dee's retry is approved (the receipt only), eve's is declined
    for good (the invoice only, once)."""
    practice, c = _night(world, {"dee": INSUFFICIENT_FUNDS, "eve": INSUFFICIENT_FUNDS})
    fire(world, practice.id, local(DAY, 23))
    drain(world)
    items = _items(world, practice.id)
    for name in c:
        done = items[c[name]["session"]["id"]]
        assert done["outcome"] == "pending" and "retried" in done["problem"], done
        assert client_mail(world, f"{name}@client.test") == []  # the invoice waits for the retry
    set_charge_decline(world.stripe, c["dee"]["pm"], None)
    set_charge_decline(world.stripe, c["eve"]["pm"], LOST_CARD)
    world.clock.now = local(DAY, 23) + timedelta(days=1, minutes=5)
    for _ in range(2):  # reported again: nothing more is sent
        world.handler("payments_reconciler")(RECONCILER_EVENT, apigw.LambdaContext("payments-reconciler"))
        world.deliver_stripe_events()
    invoices = {
        name: world.staff(
            "GET", f"/invoices/{items[c[name]['session']['id']]['invoice_ids'][0]}", practice_id=practice.id
        )[1]
        for name in c
    }
    assert invoices["dee"]["status"] == "paid", invoices["dee"]
    assert (invoices["eve"]["status"], invoices["eve"]["sends"]) == ("open", 1), invoices["eve"]
    assert client_mail(world, "dee@client.test") == ["Receipt"]
    assert [m[:7] for m in client_mail(world, "eve@client.test")] == ["Invoice"]


def test_autopay_off_the_copay_at_check_in_is_left_to_invoice_and_stripe_is_not_asked(world: World) -> None:
    install_queue(world)
    practice = scenario.create_practice(world)
    svc = service(world, practice)
    client = scenario.create_client(world, practice, email="ada@client.test", copay_amount=2_500)
    scenario.save_card(world, practice, client["id"])
    assert autopay(world, practice.id, client["id"], {"enabled": False})[0] == 200
    before, told = intents(world), len(mails(world))
    session = session_on(world, practice, client["id"], svc, local(DAY, 9))
    copay = session["copay"]
    assert (copay["status"], copay["payment_id"], copay["problem"]) == (
        "balance",
        None,
        "AutoPay is off: it is invoiced",
    )
    assert intents(world) == before and len(mails(world)) == told  # no charge, nobody told of a failure


def test_autopay_turned_off_after_a_decline_sends_the_invoice_and_never_retries_the_card(
    world: World,
) -> None:
    """Off means never charged: a retry due after the client turned AutoPay off is given up (no
    PaymentIntent), and the invoice the charge was holding is sent, once."""
    practice, c = _night(world, {"dee": INSUFFICIENT_FUNDS})
    fire(world, practice.id, local(DAY, 23))
    drain(world)
    session_id = c["dee"]["session"]["id"]
    assert _items(world, practice.id)[session_id]["outcome"] == "pending"
    status, off = autopay(world, practice.id, c["dee"]["id"], {"enabled": False})
    assert status == 200 and off["autopay"] is False
    set_charge_decline(world.stripe, c["dee"]["pm"], None)  # the card would be approved now
    before = intents(world)
    world.clock.now = local(DAY, 23) + timedelta(days=1, minutes=5)
    for _ in range(2):
        world.handler("payments_reconciler")(RECONCILER_EVENT, apigw.LambdaContext("payments-reconciler"))
        world.deliver_stripe_events()
    assert intents(world) == before
    invoice_id = _items(world, practice.id)[session_id]["invoice_ids"][0]
    invoice = world.staff("GET", f"/invoices/{invoice_id}", practice_id=practice.id)[1]
    assert (invoice["status"], invoice["sends"]) == ("open", 1), invoice
    assert [m[:7] for m in client_mail(world, "dee@client.test")] == ["Invoice"]
