"""Credits apply automatically to the next amount due: a copay or a fee is
charged to the card only for what the billing party's credit leaves, a session's charge consumes the
credit, and a waived fee gives back what credit paid of it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.integration.scenario import create_client, create_practice, save_card
from tests.integration.test_services_pricing import create_service
from tests.integration.test_session_charges import ledger, mails
from tests.integration.test_session_fees import POLICY, cancel, fee_mails, set_policy
from tests.integration.test_sessions import START, act, book, completion


def cash(world, practice, client_id, amount, key):
    """Cash at the front desk with nothing owed: it becomes the client's credit."""
    status, body = world.staff(
        "POST",
        f"/clients/{client_id}/payments/manual",
        {"amount": amount, "method": "cash", "reference": "front desk"},
        practice_id=practice.id,
        headers={"Idempotency-Key": key},
    )
    assert status == 201, body


def account(body, owner_id=None):
    return next(a for a in body["accounts"] if a["owner_id"] == owner_id)


def card_charges(world, practice):
    return [r for r in world.stripe.requests if r.method == "POST" and r.path == "/v1/payment_intents"]


@pytest.fixture
def credited(world):
    practice = create_practice(world)
    set_policy(world, practice, POLICY)
    client = create_client(world, practice, copay_amount=2_500)
    save_card(world, practice, client["id"])
    svc = create_service(world, practice)
    return practice, client, svc


def test_a_credit_pays_part_of_a_copay_and_the_card_the_rest(world, credited):
    practice, client, svc = credited
    cash(world, practice, client["id"], 1_000, "cash-key-1")
    assert account(ledger(world, practice, client["id"]))["credit"] == 1_000
    session = book(world, practice, client, svc)
    before = len(card_charges(world, practice))
    status, checked = act(world, practice, session["id"], "check-in")
    assert status == 200 and checked["copay"]["status"] == "charged", checked
    charges = card_charges(world, practice)[before:]
    assert len(charges) == 1 and int(charges[0].params["amount"]) == 1_500
    assert act(world, practice, session["id"], "check-in") == (200, checked)  # once
    assert len(card_charges(world, practice)) == before + 1
    body = ledger(world, practice, client["id"])
    assert (account(body)["receivable"], account(body)["credit"], body["balance"]) == (0, 0, 0)


def test_a_fee_paid_by_credit_charges_no_card_and_a_waiver_gives_the_credit_back(world, credited):
    practice, client, svc = credited
    cash(world, practice, client["id"], 10_000, "cash-key-2")
    session = book(world, practice, client, svc)
    before = len(card_charges(world, practice))
    _, cancelled = cancel(world, practice, session, hours_before=10)  # the 50.00 tier
    fee = cancelled["fee"]
    assert (fee["amount"], fee["status"], fee["payment_id"]) == (5_000, "credit", None), fee
    assert len(card_charges(world, practice)) == before
    told = fee_mails(world)
    assert len(told) == 1 and "paid from the credit on your account" in told[0].get_payload(0).get_payload(
        decode=True
    ).decode().replace("\n", " ")
    assert account(ledger(world, practice, client["id"]))["credit"] == 5_000

    status, waived = act(world, practice, session["id"], "waive-fee")
    assert status == 200 and waived["fee"]["status"] == "waived", waived
    body = ledger(world, practice, client["id"])
    assert (account(body)["receivable"], account(body)["credit"]) == (0, 10_000)
    assert act(world, practice, session["id"], "waive-fee")[0] == 200
    assert account(ledger(world, practice, client["id"]))["credit"] == 10_000  # waived once


def test_a_completed_session_consumes_the_credit(world, credited):
    practice, client, svc = credited
    client_id = client["id"]
    # Self-pay now: no copay at check-in, and the session's price is the client's.
    world.staff("PATCH", f"/clients/{client_id}", {"billing_type": "self_pay"}, practice_id=practice.id)
    cash(world, practice, client_id, 5_000, "cash-key-3")
    session = book(world, practice, client, svc)
    assert act(world, practice, session["id"], "check-in")[0] == 200  # no copay now
    world.clock.now = START + timedelta(hours=2)
    status, done = act(world, practice, session["id"], "complete", completion())
    assert status == 200, done
    price = done["price"]["amount"]
    body = ledger(world, practice, client_id)
    applied = [e for e in body["entries"] if e["kind"] == "payment" and e["method"] == "credit"]
    assert [e["amount"] for e in applied] == [min(price, 5_000)]
    assert account(body)["credit"] == max(0, 5_000 - price)
    assert account(body)["receivable"] == max(0, price - 5_000)
    assert mails(world, "ann@client.test", "Receipt") == []


def test_cash_from_a_parent_goes_to_that_parents_account(world, credited):
    from tests.integration.test_split_billing import contact

    practice, client, _ = credited
    dad = contact(world, practice, client["id"], "Dan Parent", "dan@parent.test")
    status, body = world.staff(
        "POST",
        f"/clients/{client['id']}/payments/manual",
        {"amount": 700, "method": "check", "reference": "1001", "contact_id": dad["id"]},
        practice_id=practice.id,
        headers={"Idempotency-Key": "dad-check-0001"},
    )
    assert status == 201, body
    body = ledger(world, practice, client["id"])
    assert account(body, dad["id"])["credit"] == 700
    assert all(a["credit"] == 0 for a in body["accounts"] if a["owner_id"] != dad["id"])
    other = create_client(world, practice, first_name="Zed", email="zed@client.test")
    stranger = contact(world, practice, other["id"], "Sue Other", "sue@other.test")
    status, _ = world.staff(
        "POST",
        f"/clients/{client['id']}/payments/manual",
        {"amount": 700, "method": "cash", "contact_id": stranger["id"]},
        practice_id=practice.id,
        headers={"Idempotency-Key": "stranger-0001"},
    )
    assert status == 404
    assert account(ledger(world, practice, client["id"]), dad["id"])["credit"] == 700


@pytest.mark.parametrize("write_off", [False, True])
def test_refunding_a_fee_with_or_without_writing_it_off(world, credited, write_off):
    """A plain refund gives the money back and the fee is owed again; with ``write_off`` the fee is
    forgiven too (an adjustment, once), so the client owes nothing."""
    practice, client, svc = credited
    session = book(world, practice, client, svc)
    _, cancelled = cancel(world, practice, session, hours_before=10)
    fee = cancelled["fee"]
    assert fee["status"] == "charged"
    path = f"/clients/{client['id']}/payments/{fee['payment_id']}/refunds"
    body = {"write_off": write_off}
    for _ in range(2):  # a retried request refunds and writes off once
        status, refund = world.staff(
            "POST", path, body, practice_id=practice.id, headers={"Idempotency-Key": "fee-refund-01"}
        )
        assert status in (201, 202) and refund["write_off"] is write_off, refund
    events = world.stripe.events
    world.deliver_stripe_events(since=max(0, len(events) - 5))  # charge.refunded / refund.updated again
    entries = ledger(world, practice, client["id"])
    kinds = [e["kind"] for e in entries["entries"]]
    assert kinds.count("refund") == 1 and kinds.count("adjustment") == (1 if write_off else 0)
    assert account(entries)["receivable"] == (0 if write_off else fee["amount"])
    status, _ = world.staff(
        "POST",
        path,
        {"write_off": not write_off},
        practice_id=practice.id,
        headers={"Idempotency-Key": "fee-refund-01"},
    )
    assert status == 409  # the same key for another refund


def test_a_copay_left_pending_by_a_stripe_outage_shows_charged_once_the_reconciler_finishes_it(
    world, credited
):
    from tests.integration.test_decline_retries import _reconciler

    practice, client, svc = credited
    session = book(world, practice, client, svc)
    world.stripe.fail_next(1, kind="5xx")
    status, checked = act(world, practice, session["id"], "check-in")
    assert status == 200 and checked["copay"]["status"] == "pending", checked
    before = len(card_charges(world, practice))
    world.clock.now += timedelta(minutes=20)  # the reconciler leaves young pending payments alone
    _reconciler(world)
    assert len(card_charges(world, practice)) == before + 1  # the attempt Stripe never answered, again
    _, now = world.staff("GET", f"/sessions/{session['id']}", practice_id=practice.id)
    assert (
        now["copay"]["status"] == "charged" and now["copay"]["payment_id"] == checked["copay"]["payment_id"]
    )
    _reconciler(world)  # nothing more to do
    assert len(card_charges(world, practice)) == before + 1
    assert len(mails(world, "ann@client.test", "Receipt")) == 1
