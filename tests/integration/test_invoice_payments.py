"""Paying an invoice on the pay page: part with a new card, then the rest; a saved card of the
billing party's; the status and the ledger follow, once each, whichever of the page and the webhook
reports the success first; replays change nothing; a locked invoice cannot be paid; bad amounts and
other people's cards are refused with nothing written."""

import json
import uuid

import pytest

from tests.integration.scenario import create_client, create_practice, save_card, standalone_invoice


def lookup(world, practice, inv, ip="198.51.100.7"):
    status, view = world.public(
        "POST",
        f"/pay/invoice/{practice.id}/lookup",
        {"number": inv["number"], "access_code": inv["access_code"]},
        source_ip=ip,
    )
    assert status == 200, view
    return view


def pay(world, practice, token, amount, card_id=None, request_id=None):
    return world.public(
        "POST",
        f"/pay/invoice/{practice.id}/pay",
        {"token": token, "amount": amount, "card_id": card_id, "request_id": request_id or uuid.uuid4().hex},
    )


def staff_invoice(world, practice, inv):
    status, body = world.staff("GET", f"/invoices/{inv['id']}", practice_id=practice.id)
    assert status == 200
    return body


def ledger_payments(world, practice, client_id):
    _, body = world.staff("GET", f"/clients/{client_id}/ledger", practice_id=practice.id)
    return sorted(e["amount"] for e in body["entries"] if e["kind"] == "payment"), body["balance"]


@pytest.fixture
def setup(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    inv = standalone_invoice(world, practice, client["id"], 10_000)
    return practice, client, inv


def test_part_then_the_rest_with_new_cards_and_the_webhook(world, setup):
    practice, client, inv = setup
    view = lookup(world, practice, inv)

    since = len(world.stripe.events)
    status, started = pay(world, practice, view["token"], 4_000)
    assert status == 200 and started["status"] == "awaiting_client" and started["client_secret"], started
    world.stripe.pay_on_page(practice.account, started["client_secret"])
    world.deliver_stripe_events(since=since)

    after = staff_invoice(world, practice, inv)
    assert (after["status"], after["paid"], after["balance"]) == ("open", 4_000, 6_000)
    assert [p["payment_id"] for p in after["payments"]] == [started["payment_id"]]
    assert ledger_payments(world, practice, client["id"]) == ([4_000], 6_000)

    since = len(world.stripe.events)
    status, rest = pay(world, practice, view["token"], 6_000)
    assert status == 200, rest
    world.stripe.pay_on_page(practice.account, rest["client_secret"])
    # The page confirms before the webhook arrives: recorded and applied now.
    status, confirmed = world.public(
        "POST", f"/pay/invoice/{practice.id}/payments/{rest['payment_id']}/confirm", {"token": view["token"]}
    )
    assert status == 200 and (confirmed["status"], confirmed["balance"]) == ("paid", 0), confirmed
    world.deliver_stripe_events(since=since)  # the late webhook changes nothing
    world.deliver_stripe_events(since=since)  # nor does it again
    done = staff_invoice(world, practice, inv)
    assert (done["status"], done["paid"], done["balance"]) == ("paid", 10_000, 0) and done["paid_at"]
    assert len(done["payments"]) == 2
    assert ledger_payments(world, practice, client["id"]) == ([4_000, 6_000], 0)
    # Paid: out of the sweep, nothing more to pay.
    assert world.container.invoices.sweep()["overdue"] == 0
    status, refused = pay(world, practice, view["token"], 100)
    assert status == 409, refused


def test_a_replayed_success_event_applies_the_payment_once(world, setup):
    practice, client, inv = setup
    view = lookup(world, practice, inv)
    since = len(world.stripe.events)
    _, started = pay(world, practice, view["token"], 2_500)
    world.stripe.pay_on_page(practice.account, started["client_secret"])
    events = world.stripe.events[since:]
    succeeded = [e for e in events if e["type"] == "payment_intent.succeeded"]
    assert succeeded
    for _ in range(3):
        world.worker([json.dumps({"id": e["id"]}) for e in succeeded])  # unknown to the inbox: ignored
        world.deliver_stripe_events(since=since)
    after = staff_invoice(world, practice, inv)
    assert after["paid"] == 2_500 and len(after["payments"]) == 1
    assert ledger_payments(world, practice, client["id"]) == ([2_500], 7_500)
    # The hook itself, called again directly, is harmless.
    c = world.container
    c.invoices.payment_succeeded(
        c.practices.get(practice.id), c.payments.get(practice.id, started["payment_id"])
    )
    assert staff_invoice(world, practice, inv)["paid"] == 2_500


def test_the_same_request_id_meets_the_same_payment(world, setup):
    practice, _, inv = setup
    view = lookup(world, practice, inv)
    first = pay(world, practice, view["token"], 1_000, request_id="retry-0001")
    second = pay(world, practice, view["token"], 1_000, request_id="retry-0001")
    assert first[0] == second[0] == 200 and first[1]["payment_id"] == second[1]["payment_id"]
    assert first[1]["client_secret"] == second[1]["client_secret"]
    created = [r for r in world.stripe.requests_to("/v1/payment_intents") if r.method == "POST"]
    assert [r.path for r in created] == ["/v1/payment_intents"]  # one PaymentIntent made


def test_a_saved_card_of_the_payer_pays_at_once(world, setup):
    practice, client, inv = setup
    card = save_card(world, practice, client["id"])
    view = lookup(world, practice, inv)
    assert [c["id"] for c in view["cards"]] == [card["id"]] and view["cards"][0]["last4"] == "4242"

    status, paid = pay(world, practice, view["token"], 3_000, card_id=card["id"])
    assert status == 200 and paid["status"] == "succeeded" and paid["client_secret"] is None, paid
    after = staff_invoice(world, practice, inv)
    assert (after["status"], after["paid"]) == ("open", 3_000)
    world.deliver_stripe_events()  # the webhook's success runs the hook again: still once
    assert staff_invoice(world, practice, inv)["paid"] == 3_000
    assert ledger_payments(world, practice, client["id"]) == ([3_000], 7_000)


def test_a_saved_card_whose_consent_does_not_cover_balances_is_refused(world, setup):
    practice, client, inv = setup
    card = save_card(world, practice, client["id"], kinds=["copay"])
    view = lookup(world, practice, inv)
    status, body = pay(world, practice, view["token"], 3_000, card_id=card["id"])
    assert status == 400 and "balance" in body["message"], body
    assert staff_invoice(world, practice, inv)["paid"] == 0


def test_a_locked_invoice_cannot_be_paid_even_with_a_token(world, setup):
    practice, _, inv = setup
    view = lookup(world, practice, inv)
    bad = f"{(int(inv['access_code']) + 1) % 1_000_000:06d}"
    for n in range(5):
        world.public(
            "POST",
            f"/pay/invoice/{practice.id}/lookup",
            {"number": inv["number"], "access_code": bad},
            source_ip=f"203.0.113.{n}",
        )
    status, _ = pay(world, practice, view["token"], 1_000)
    assert status == 401
    assert world.stripe.requests_to("/v1/payment_intents") == []


@pytest.mark.parametrize("amount", [0, -5, 10_001, 12.5, "100"])
def test_an_amount_outside_the_balance_is_refused_and_writes_nothing(world, setup, amount):
    practice, _, inv = setup
    view = lookup(world, practice, inv)
    before = world.container.table.query_all(f"P#{practice.id}")
    status, body = pay(world, practice, view["token"], amount)
    assert status == 400 and body["message"], body
    assert world.container.table.query_all(f"P#{practice.id}") == before
    assert world.stripe.requests_to("/v1/payment_intents") == []


def test_someone_elses_card_or_invoice_is_not_found(world, setup):
    practice, _, inv = setup
    other = create_client(world, practice, first_name="Olive", email="olive@client.test")
    their_card = save_card(world, practice, other["id"])
    view = lookup(world, practice, inv)
    status, _ = pay(world, practice, view["token"], 1_000, card_id=their_card["id"])
    assert status == 404
    # Another practice's page path with this token: not found, nothing paid.
    b = create_practice(world)
    status, _ = world.public(
        "POST",
        f"/pay/invoice/{b.id}/pay",
        {"token": view["token"], "amount": 1_000, "request_id": "another-practice-1"},
    )
    assert status == 404
    assert staff_invoice(world, practice, inv)["paid"] == 0


def test_confirming_a_payment_that_is_not_this_invoices_is_not_found(world, setup):
    practice, client, inv = setup
    other = standalone_invoice(world, practice, client["id"], 3_000, key="confirm-other-1")
    view = lookup(world, practice, inv)
    other_view = lookup(world, practice, other)
    _, started = pay(world, practice, other_view["token"], 1_000)
    for payment_id in (started["payment_id"], "pay_00000000000000000000000000"):
        status, _ = world.public(
            "POST", f"/pay/invoice/{practice.id}/payments/{payment_id}/confirm", {"token": view["token"]}
        )
        assert status == 404
    for path in ("/pay/invoice/not-a-practice", "/pay/invoice/prc_x/payments/bad id/confirm"):
        status, _ = world.public("GET" if path.count("/") == 3 else "POST", path, {"token": view["token"]})
        assert 400 <= status < 500
    assert staff_invoice(world, practice, inv)["paid"] == 0


def test_refunding_a_payment_reopens_the_paid_invoice_once(world, setup):
    practice, client, inv = setup
    card = save_card(world, practice, client["id"])
    view = lookup(world, practice, inv)
    status, paid = pay(world, practice, view["token"], 10_000, card_id=card["id"])
    assert status == 200 and paid["status"] == "succeeded", paid
    assert staff_invoice(world, practice, inv)["status"] == "paid"
    path = f"/clients/{client['id']}/payments/{paid['payment_id']}/refunds"
    for _ in range(2):  # a retried request: one refund, applied once
        status, refund = world.staff(
            "POST",
            path,
            {"amount": 2_500},
            practice_id=practice.id,
            headers={"Idempotency-Key": "invoice-refund-1"},
        )
        assert status in (201, 202), refund
    world.deliver_stripe_events()  # charge.refunded / refund.* again: still once
    after = staff_invoice(world, practice, inv)
    assert (after["status"], after["paid"], after["balance"]) == ("open", 7_500, 2_500), after
    assert ledger_payments(world, practice, client["id"]) == ([10_000], 2_500)
    # The client pays what is owed again, and the invoice is Paid once more.
    view = lookup(world, practice, inv)
    status, again = pay(world, practice, view["token"], 2_500, card_id=card["id"])
    assert status == 200 and again["status"] == "succeeded", again
    assert staff_invoice(world, practice, inv)["status"] == "paid"


def test_a_refund_that_fails_after_its_success_gives_the_invoice_its_money_again(world, setup):
    practice, client, inv = setup
    card = save_card(world, practice, client["id"])
    view = lookup(world, practice, inv)
    status, paid = pay(world, practice, view["token"], 10_000, card_id=card["id"])
    assert status == 200 and paid["status"] == "succeeded", paid
    path = f"/clients/{client['id']}/payments/{paid['payment_id']}/refunds"
    headers = {"Idempotency-Key": "invoice-refund-2"}
    status, refund = world.staff("POST", path, {"amount": 2_500}, practice_id=practice.id, headers=headers)
    assert status == 201 and refund["status"] == "succeeded", refund
    assert staff_invoice(world, practice, inv)["status"] == "open"
    stored = world.container.refunds.get(practice.id, refund["id"])
    failed = {"id": stored.stripe_refund_id, "object": "refund", "status": "failed", "amount": 2_500}
    failed |= {"currency": "usd", "metadata": {"therabill_refund_id": refund["id"]}}
    for n in (1, 1):  # the event and its redelivery
        event = {
            "id": f"evt_rf_{n}",
            "object": "event",
            "type": "refund.updated",
            "account": practice.account,
        }
        event |= {"created": int(world.clock().timestamp()), "data": {"object": failed}}
        assert world.webhook(json.dumps(event))[0] == 200
        world.drain_queue()
    after = staff_invoice(world, practice, inv)
    assert (after["status"], after["paid"], after["balance"]) == ("paid", 10_000, 0), after
    assert ledger_payments(world, practice, client["id"]) == ([2_500, 10_000], 0)
