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


def _tonight(world: World, practice, client_id: str) -> dict[str, Any]:
    world.clock.now = local(DAY, 20)
    status, listing = world.staff("GET", "/nightly/tonight", practice_id=practice.id)
    assert status == 200, listing
    (item,) = [i for i in listing["ready"] if i["client_id"] == client_id]
    return item


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


def _practice_with_card(world: World, decline: tuple[str, str, str] | None = None):
    install_queue(world)
    practice = scenario.create_practice(world)
    svc = service(world, practice)
    client = scenario.create_client(world, practice, email="ada@client.test")
    card = scenario.save_card(world, practice, client["id"])
    item = world.container.table.get(keys.practice_pk(practice.id), keys.card_sk(client["id"], card["id"]))
    set_charge_decline(world.stripe, item["payment_method_id"], decline)
    session = session_on(world, practice, client["id"], svc, local(DAY, 9))
    return practice, client, session


def test_autopay_off_sends_the_invoice_and_never_calls_stripe(world: World) -> None:
    practice, client, session = _practice_with_card(world)
    status, off = autopay(world, practice.id, client["id"], {"enabled": False})
    assert status == 200 and off["can_charge"] and not off["autopay"], off
    item = _tonight(world, practice, client["id"])
    assert (item["action"], item["will"]) == ("send", "sent")
    before = intents(world)
    fire(world, practice.id, local(DAY, 23))
    drain(world)
    assert intents(world) == before  # Stripe was never asked
    (done,) = run_of(world, practice.id, DAY)["items"]
    assert (done["session_id"], done["outcome"], done["charged"]) == (session["id"], "sent", 0)
    assert client_mail(world, "ada@client.test") == ["Invoice INV-000001"]


def test_the_practice_default_off_and_a_client_turning_it_on(world: World) -> None:
    practice, client, _ = _practice_with_card(world)
    _, now = world.staff("GET", "/practice/billing-automation", practice_id=practice.id)
    stale = {"autopay_default": False, "expected_version": now["version"] - 1}
    assert world.staff("PUT", "/practice/billing-automation", stale, practice_id=practice.id)[0] == 409
    body = {"autopay_default": False, "expected_version": now["version"]}
    status, settings = world.staff("PUT", "/practice/billing-automation", body, practice_id=practice.id)
    assert status == 200 and settings == {
        "auto_billing": True,
        "autopay_default": False,
        "version": now["version"] + 1,
    }
    assert _tonight(world, practice, client["id"])["will"] == "sent"
    autopay(world, practice.id, client["id"], {"enabled": True})
    assert _tonight(world, practice, client["id"])["will"] == "charged now"


def test_autopay_on_the_client_gets_the_receipt_only(world: World) -> None:
    practice, client, _ = _practice_with_card(world)
    assert _tonight(world, practice, client["id"])["will"] == "charged now"  # the practice's default
    fire(world, practice.id, local(DAY, 23))
    drain(world)
    (done,) = run_of(world, practice.id, DAY)["items"]
    assert (done["outcome"], done["charged"]) == ("charged", 12_000)
    assert client_mail(world, "ada@client.test") == ["Receipt"]


def test_autopay_on_a_failed_charge_sends_the_invoice_only(world: World) -> None:
    practice, _client, _ = _practice_with_card(world, LOST_CARD)
    fire(world, practice.id, local(DAY, 23))
    drain(world)
    (done,) = run_of(world, practice.id, DAY)["items"]
    assert done["outcome"] == "sent" and "declined" in done["problem"], done
    assert client_mail(world, "ada@client.test") == ["Invoice INV-000001"]


def _declined_tonight(world: World, then: tuple[str, str, str] | None) -> tuple[Any, dict[str, Any]]:
    """A card declined for insufficient funds at the cutoff (retried a day later, when it is
    declined with ``then``, or approved); the retry made by the scheduled reconciler."""
    practice, client, _ = _practice_with_card(world, INSUFFICIENT_FUNDS)
    fire(world, practice.id, local(DAY, 23))
    drain(world)
    (done,) = run_of(world, practice.id, DAY)["items"]
    assert done["outcome"] == "pending" and "retried" in done["problem"], done
    assert client_mail(world, "ada@client.test") == []  # the invoice waits for the retry
    (payment_id,) = done["payment_ids"]
    item = world.container.table.get(
        keys.practice_pk(practice.id), keys.card_sk(client["id"], _card(world, practice, client))
    )
    set_charge_decline(world.stripe, item["payment_method_id"], then)
    world.clock.now = local(DAY, 23) + timedelta(days=1, minutes=5)
    world.handler("payments_reconciler")(RECONCILER_EVENT, apigw.LambdaContext("payments-reconciler"))
    world.deliver_stripe_events()
    _, invoice = world.staff("GET", f"/invoices/{done['invoice_ids'][0]}", practice_id=practice.id)
    return invoice, {"payment_id": payment_id}


def _card(world: World, practice, client) -> str:
    _, cards = world.staff("GET", f"/clients/{client['id']}/cards", practice_id=practice.id)
    return str(cards[0]["id"])


def test_a_declined_charge_retried_successfully_sends_only_the_receipt(world: World) -> None:
    invoice, _ = _declined_tonight(world, None)
    assert invoice["status"] == "paid", invoice
    assert client_mail(world, "ada@client.test") == ["Receipt"]


def test_a_declined_charge_given_up_sends_only_the_invoice(world: World) -> None:
    invoice, _ = _declined_tonight(world, LOST_CARD)
    assert invoice["status"] == "open" and invoice["sends"] == 1, invoice
    assert client_mail(world, "ada@client.test") == ["Invoice INV-000001"]
    world.handler("payments_reconciler")(RECONCILER_EVENT, apigw.LambdaContext("payments-reconciler"))
    world.deliver_stripe_events()  # reported again: nothing more is sent
    assert client_mail(world, "ada@client.test") == ["Invoice INV-000001"]


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
