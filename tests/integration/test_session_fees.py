"""Cancellation and no-show fees through the staff API: assessed by the practice's policy, stored on
the session, posted and charged once, the client told once; a clinician waiver before the cutoff."""

from datetime import datetime, timedelta

import pytest

from tests.integration.scenario import add_coverage, create_client, create_practice, save_card
from tests.integration.test_services_pricing import create_service
from tests.integration.test_session_charges import balances, body_text, ledger, mails, sources
from tests.integration.test_sessions import START, act, book

FLAT_50 = {"kind": "flat", "amount": {"amount": 5_000, "currency": "usd"}}
POLICY = {
    "late_cancellation": {
        "window_hours": 24,
        "tiers": [
            {"within_hours": 2, "fee": {"kind": "percent", "basis_points": 10_000}},
            {"within_hours": 24, "fee": FLAT_50},
        ],
    },
    "no_show_fee": {"kind": "flat", "amount": {"amount": 7_500, "currency": "usd"}},
}


def set_policy(world, practice, policy):
    status, body = world.staff("PUT", "/practice/cancellation-policy", policy, practice_id=practice.id)
    assert status == 200, body


@pytest.fixture
def fees(world):
    """A connected practice with the policy, a client with a card on file, a service."""
    practice = create_practice(world)
    set_policy(world, practice, POLICY)
    client = create_client(world, practice)
    save_card(world, practice, client["id"])
    svc = create_service(world, practice)
    return practice, client, svc


def cancel(world, practice, session, by="client", hours_before=10):
    world.clock.now = START - timedelta(hours=hours_before)
    return act(world, practice, session["id"], "cancel", {"cancelled_by": by})


def fee_mails(world):
    return mails(world, "ann@client.test", "Cancellation policy fee")


@pytest.mark.parametrize(("hours_before", "tier_fee"), [(10, 5_000), (1, None)])
def test_a_late_client_cancellation_is_charged_by_tier_with_one_notice(world, fees, hours_before, tier_fee):
    practice, client, svc = fees
    session = book(world, practice, client, svc)
    status, cancelled = cancel(world, practice, session, hours_before=hours_before)
    assert status == 200, cancelled
    fee = cancelled["fee"]
    assert fee["reason"] == "late_cancellation_tier" and fee["status"] == "charged", fee
    assert fee["counts_as_offence"] is True and fee["payment_id"]
    if tier_fee is None:  # 100 % of the session's price at its scheduled times
        tier_fee = world.staff("GET", f"/services/{svc['id']}", practice_id=practice.id)[1]["unit_price"] * 50
    assert fee["amount"] == tier_fee
    told = fee_mails(world)
    assert len(told) == 1
    text = body_text(told[0])
    assert fee["explanation"] in text and f"USD {tier_fee // 100}.00" in told[0]["Subject"]
    assert "90837" not in text and svc["name"] not in text
    status, payment = world.staff(
        "GET", f"/clients/{client['id']}/payments/{fee['payment_id']}", practice_id=practice.id
    )
    assert status == 200 and payment["kind"] == "cancellation_fee" and payment["amount"] == tier_fee
    assert sources(ledger(world, practice, client["id"]), "charge") == [tier_fee]


def test_a_practice_cancellation_costs_nothing(world, fees):
    practice, client, svc = fees
    session = book(world, practice, client, svc)
    _, cancelled = cancel(world, practice, session, by="practice", hours_before=1)
    fee = cancelled["fee"]
    assert (fee["amount"], fee["reason"], fee["status"]) == (0, "practice_cancelled", "none")
    assert fee["counts_as_offence"] is False
    assert ledger(world, practice, client["id"])["entries"] == [] and fee_mails(world) == []


def test_no_fee_when_the_payer_forbids_it(world, fees):
    practice, client, svc = fees
    add_coverage(world, practice, client["id"], forbids_cancellation_fees_override=True)
    session = book(world, practice, client, svc)
    _, cancelled = cancel(world, practice, session)
    fee = cancelled["fee"]
    assert (fee["amount"], fee["reason"], fee["waived_amount"]) == (0, "payer_forbids", 5_000)
    assert fee["counts_as_offence"] is True
    assert ledger(world, practice, client["id"])["entries"] == [] and fee_mails(world) == []


def test_the_first_offence_is_waived_and_the_second_charged(world, fees):
    practice, client, svc = fees
    set_policy(world, practice, {**POLICY, "first_offence_waiver": {"lookback_days": 365}})
    first = book(world, practice, client, svc)
    _, cancelled = cancel(world, practice, first)
    assert cancelled["fee"]["reason"] == "first_offence_waived" and cancelled["fee"]["amount"] == 0
    assert cancelled["fee"]["offence_at"] is not None
    assert ledger(world, practice, client["id"])["entries"] == []
    second = book(world, practice, client, svc, start=START + timedelta(days=7))
    world.clock.now = START + timedelta(days=7)
    status, missed = act(world, practice, second["id"], "no-show")
    assert status == 200 and missed["fee"]["reason"] == "no_show" and missed["fee"]["amount"] == 7_500


def test_a_no_show_is_charged_the_no_show_fee(world, fees):
    practice, client, svc = fees
    session = book(world, practice, client, svc)
    world.clock.now = START + timedelta(minutes=20)
    status, missed = act(world, practice, session["id"], "no-show")
    assert status == 200 and missed["status"] == "no_show"
    fee = missed["fee"]
    assert (fee["amount"], fee["reason"], fee["status"]) == (7_500, "no_show", "charged")
    assert len(fee_mails(world)) == 1
    assert sources(ledger(world, practice, client["id"]), "charge") == [7_500]


def test_cancelling_again_charges_once(world, fees):
    practice, client, svc = fees
    session = book(world, practice, client, svc)
    _, first = cancel(world, practice, session)
    requests = len(world.stripe.requests)
    status, again = act(world, practice, session["id"], "cancel", {"cancelled_by": "client"})
    assert status == 200 and again["fee"] == first["fee"]
    assert len(world.stripe.requests) == requests
    assert len(fee_mails(world)) == 1
    assert sources(ledger(world, practice, client["id"]), "charge") == [5_000]


def test_without_a_card_the_fee_stays_a_balance_and_the_client_is_told(world):
    practice = create_practice(world)
    set_policy(world, practice, POLICY)
    client = create_client(world, practice)
    svc = create_service(world, practice)
    session = book(world, practice, client, svc)
    _, cancelled = cancel(world, practice, session)
    assert cancelled["fee"]["status"] == "balance" and "no card" in cancelled["fee"]["problem"]
    told = fee_mails(world)
    assert len(told) == 1 and "balance" in body_text(told[0])
    assert balances(ledger(world, practice, client["id"])) == 5_000


def test_a_waiver_before_the_cutoff_adjusts_the_balance_back(world):
    practice = create_practice(world)
    set_policy(world, practice, POLICY)
    client = create_client(world, practice)
    svc = create_service(world, practice)
    session = book(world, practice, client, svc)
    before = balances(ledger(world, practice, client["id"]))
    _, cancelled = cancel(world, practice, session)
    assert cancelled["fee"]["status"] == "balance"
    assert balances(ledger(world, practice, client["id"])) == before + 5_000
    assert act(world, practice, session["id"], "waive-fee", role="front_desk")[0] == 403
    status, waived = act(world, practice, session["id"], "waive-fee", role="clinician")
    assert status == 200, waived
    assert waived["fee"]["status"] == "waived" and waived["fee"]["waived_by"]
    assert act(world, practice, session["id"], "waive-fee", role="biller") == (200, waived)
    body = ledger(world, practice, client["id"])
    assert sources(body, "adjustment") == [5_000] and balances(body) == before


def test_a_waiver_after_the_cutoff_is_a_409(world, fees):
    practice, client, svc = fees
    session = book(world, practice, client, svc)
    _, cancelled = cancel(world, practice, session)
    deadline = datetime.fromisoformat(cancelled["fee"]["waiver_deadline"].replace("Z", "+00:00"))
    world.clock.now = deadline
    status, answer = act(world, practice, session["id"], "waive-fee")
    assert status == 409, answer
    assert world.staff("GET", f"/sessions/{session['id']}", practice_id=practice.id)[1]["fee"]["status"] == (
        "charged"
    )


def test_waiving_a_paid_fee_is_a_409_pointing_to_refunds(world, fees):
    practice, client, svc = fees
    session = book(world, practice, client, svc)
    _, cancelled = cancel(world, practice, session)
    assert cancelled["fee"]["status"] == "charged"
    status, answer = act(world, practice, session["id"], "waive-fee")
    assert status == 409 and "refund" in str(answer), answer
    assert sources(ledger(world, practice, client["id"]), "adjustment") == []


def test_waiving_a_session_without_a_fee_is_a_409(world, fees):
    practice, client, svc = fees
    session = book(world, practice, client, svc)
    _, cancelled = cancel(world, practice, session, hours_before=48)
    assert cancelled["fee"]["reason"] == "not_late"
    assert act(world, practice, session["id"], "waive-fee")[0] == 409
