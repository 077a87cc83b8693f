"""Session money through the staff API: the completed session's charge on the ledger (once), the
copay at check-in, and cancellation / no-show fees by policy."""

import email
from datetime import UTC, datetime

import pytest

from tests.fakes.card_behaviour import LOST_CARD, set_charge_decline
from tests.integration.scenario import add_coverage, create_client, create_practice, save_card
from tests.integration.test_services_pricing import create_service
from tests.integration.test_sessions import act, book, completion
from therabill.core import keys

START = datetime(2031, 3, 4, 15, 0, tzinfo=UTC)


def mails(world, to, subject=""):
    out = []
    for m in world.emails():
        msg = email.message_from_string(m.raw_data)
        if to in msg["To"] and msg["Subject"].startswith(subject):
            out.append(msg)
    return out


def body_text(msg):
    return "\n".join(
        part.get_payload(decode=True).decode()
        for part in msg.walk()
        if part.get_content_type() == "text/plain"
    )


def ledger(world, practice, client_id):
    status, body = world.staff("GET", f"/clients/{client_id}/ledger", practice_id=practice.id)
    assert status == 200, body
    return body


def balances(body):
    """The ledger balances: the balance is charges (and refunds) less payments and adjustments."""
    total = sum(e["signed_amount"] for e in body["entries"])
    assert total == body["balance"]
    return body["balance"]


def sources(body, kind):
    return sorted(e["amount"] for e in body["entries"] if e["kind"] == kind)


@pytest.fixture
def setup(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    svc = create_service(world, practice)
    return practice, client, svc


def test_completing_posts_the_session_charge_once(world, setup):
    practice, client, svc = setup
    session = book(world, practice, client, svc)
    act(world, practice, session["id"], "check-in")
    status, done = act(world, practice, session["id"], "complete", completion())
    assert status == 200 and done["price"]["amount"] == 16_500
    assert act(world, practice, session["id"], "complete", completion()) == (200, done)
    body = ledger(world, practice, client["id"])
    assert sources(body, "charge") == [16_500] and balances(body) == 16_500


def test_a_not_billed_session_posts_nothing(world, setup):
    practice, client, svc = setup
    path = f"/clients/{client['id']}/pricing/{svc['id']}"
    world.staff("PUT", path, {"kind": "fixed", "amount": 0}, practice_id=practice.id)
    session = book(world, practice, client, svc)
    act(world, practice, session["id"], "check-in")
    _, done = act(world, practice, session["id"], "complete", completion())
    assert done["price"]["not_billed"] is True
    assert ledger(world, practice, client["id"])["entries"] == []


# -- copay at check-in --------------------------------------------------------------------------------
@pytest.fixture
def paying(world):
    """A connected practice, a client with a $25 copay, a service; no card yet."""
    practice = create_practice(world)
    client = create_client(world, practice, copay_amount=2_500)
    assert client["billing_type"] == "insurance"
    _, (coverage,) = world.staff("GET", f"/clients/{client['id']}/coverage", practice_id=practice.id)
    assert (coverage["copay_amount"], coverage["forbids_cancellation_fees"]) == (2_500, False)
    svc = create_service(world, practice)
    return practice, client, svc


def test_the_copay_is_charged_at_check_in_with_one_receipt_and_only_once(world, paying):
    practice, client, svc = paying
    save_card(world, practice, client["id"])
    session = book(world, practice, client, svc)
    requests = len(world.stripe.requests)
    status, checked = act(world, practice, session["id"], "check-in", role="front_desk")
    assert status == 200 and checked["status"] == "checked_in", checked
    copay = checked["copay"]
    assert (copay["amount"], copay["status"], copay["problem"]) == (2_500, "charged", None)
    assert world.staff("GET", f"/sessions/{session['id']}", practice_id=practice.id) == (200, checked)
    charged = len(world.stripe.requests)
    assert charged > requests
    # Again: the same session, no new Stripe call, no second receipt.
    assert act(world, practice, session["id"], "check-in") == (200, checked)
    assert len(world.stripe.requests) == charged
    assert len(mails(world, "ann@client.test", "Receipt")) == 1
    world.deliver_stripe_events()
    body = ledger(world, practice, client["id"])
    assert sources(body, "charge") == [2_500] and sources(body, "payment") == [2_500]
    assert balances(body) == 0
    status, payment = world.staff(
        "GET", f"/clients/{client['id']}/payments/{copay['payment_id']}", practice_id=practice.id
    )
    assert status == 200 and payment["kind"] == "copay" and payment["status"] == "succeeded"


def test_no_card_leaves_the_copay_as_a_balance_and_tells_the_practice(world, paying):
    practice, client, svc = paying
    session = book(world, practice, client, svc)
    status, checked = act(world, practice, session["id"], "check-in")
    assert status == 200 and checked["status"] == "checked_in"
    assert checked["copay"]["status"] == "balance" and "no card" in checked["copay"]["problem"]
    act(world, practice, session["id"], "check-in")
    told = mails(world, "office@harbor.test", "A copay")
    assert len(told) == 1 and "Ann Client" in body_text(told[0]) and "90837" not in body_text(told[0])
    body = ledger(world, practice, client["id"])
    assert sources(body, "charge") == [2_500] and balances(body) == 2_500


def test_a_hard_declined_copay_stays_a_balance_and_the_practice_is_told(world, paying):
    practice, client, svc = paying
    card = save_card(world, practice, client["id"])
    item = world.container.table.get(keys.practice_pk(practice.id), keys.card_sk(client["id"], card["id"]))
    set_charge_decline(world.stripe, item["payment_method_id"], LOST_CARD)  # never retried
    session = book(world, practice, client, svc)
    status, checked = act(world, practice, session["id"], "check-in")
    assert status == 200 and checked["copay"]["status"] == "balance", checked
    assert "declined" in checked["copay"]["problem"]
    assert len(mails(world, "office@harbor.test", "A copay")) == 1
    assert mails(world, "ann@client.test", "Receipt") == []
    body = ledger(world, practice, client["id"])
    assert sources(body, "charge") == [2_500] and balances(body) == 2_500


def test_a_copay_decline_that_will_be_retried_tells_no_one_yet(world, paying):
    """A soft decline is retried on the decline policy's schedule: the practice hears of it only if
    the retries are given up (PaymentService's notice), not at check-in."""
    practice, client, svc = paying
    save_card(world, practice, client["id"], pm="pm_card_chargeCustomerFail")
    session = book(world, practice, client, svc)
    status, checked = act(world, practice, session["id"], "check-in")
    assert status == 200 and checked["copay"]["status"] == "retrying", checked
    assert "retry" in checked["copay"]["problem"]
    payment = world.container.table.get(
        keys.practice_pk(practice.id), keys.payment_sk(checked["copay"]["payment_id"])
    )
    assert payment["status"] == "declined" and payment["next_retry_at"]
    act(world, practice, session["id"], "check-in")
    assert mails(world, "office@harbor.test", "A copay") == []
    assert mails(world, "ann@client.test", "Receipt") == []
    body = ledger(world, practice, client["id"])
    assert sources(body, "charge") == [2_500] and balances(body) == 2_500


def test_a_client_without_a_copay_checks_in_as_before(world, setup):
    practice, client, svc = setup
    session = book(world, practice, client, svc)
    status, checked = act(world, practice, session["id"], "check-in")
    assert status == 200 and checked["copay"] is None
    assert ledger(world, practice, client["id"])["entries"] == []


def test_the_copay_is_set_and_cleared_through_the_coverage(world, setup):
    practice, client, _ = setup
    coverage = add_coverage(world, practice, client["id"])
    path = f"/clients/{client['id']}/coverage/{coverage['id']}"
    status, updated = world.staff("PATCH", path, {"copay_override": 3_000}, practice_id=practice.id)
    assert status == 200 and updated["copay_amount"] == 3_000
    status, updated = world.staff("PATCH", path, {"copay_override": None}, practice_id=practice.id)
    assert status == 200 and updated["copay_amount"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"copay_amount": -1},
        {"copay_amount": 12.5},
        {"copay_amount": "25"},
        {"payer_forbids_fees": None},
        {"payer_forbids_fees": "maybe"},
    ],
)
def test_the_old_client_money_fields_are_a_400(world, setup, body):
    practice, client, _ = setup
    status, answer = world.staff("PATCH", f"/clients/{client['id']}", body, practice_id=practice.id)
    assert status == 400, answer
    assert world.staff("GET", f"/clients/{client['id']}", practice_id=practice.id)[1]["version"] == 1


# -- the practice's cancellation policy ----------------------------------------------------------------
POLICY = {
    "late_cancellation": {
        "window_hours": 24,
        "tiers": [
            {"within_hours": 2, "fee": {"kind": "percent", "basis_points": 10_000}},
            {"within_hours": 24, "fee": {"kind": "flat", "amount": {"amount": 5_000, "currency": "usd"}}},
        ],
    },
    "no_show_fee": {"kind": "flat", "amount": {"amount": 7_500, "currency": "usd"}},
    "first_offence_waiver": {"lookback_days": 365},
}


def test_the_owner_sets_and_reads_the_cancellation_policy(world, setup):
    practice, *_ = setup
    path = "/practice/cancellation-policy"
    status, empty = world.staff("GET", path, practice_id=practice.id)
    assert status == 200 and empty["late_cancellation"] is None and empty["no_show_fee"] is None
    status, stored = world.staff("PUT", path, POLICY, practice_id=practice.id)
    assert status == 200 and stored["late_cancellation"]["tiers"][0]["within_hours"] == 2, stored
    assert world.staff("GET", path, practice_id=practice.id) == (200, stored)
    for role in ("biller", "front_desk", "clinician"):
        assert world.staff("GET", path, practice_id=practice.id, role=role)[0] == 403
        assert world.staff("PUT", path, POLICY, practice_id=practice.id, role=role)[0] == 403


@pytest.mark.parametrize(
    "body",
    [
        {"late_cancellation": {"window_hours": 24}},  # neither a fee nor tiers
        {"late_cancellation": {"window_hours": 0, "fee": {"kind": "percent", "basis_points": 100}}},
        {"no_show_fee": {"kind": "percent", "basis_points": 10_001}},
        {"no_show_fee": {"kind": "flat", "amount": {"amount": -1, "currency": "usd"}}},
        {"no_show_fee": {"kind": "flat", "amount": {"amount": 100, "currency": "eur"}}},  # not the practice's
        {
            "late_cancellation": {
                "window_hours": 24,
                "tiers": [{"within_hours": 12, "fee": {"kind": "percent", "basis_points": 100}}],
            }
        },  # a gap up to the window
        {"surprise": True},
    ],
)
def test_a_bad_cancellation_policy_is_a_400_and_stores_nothing(world, setup, body):
    practice, *_ = setup
    status, answer = world.staff("PUT", "/practice/cancellation-policy", body, practice_id=practice.id)
    assert status == 400, answer
    _, stored = world.staff("GET", "/practice/cancellation-policy", practice_id=practice.id)
    assert stored["late_cancellation"] is None and stored["no_show_fee"] is None
