"""Invoices through the staff API: created from a session's charges, standalone, sent with the
PDF, numbered, moved only along legal transitions, voided (freeing the charges), uncollectible,
resent, a new card requested; the overdue sweep and its reminders, each at most once."""

import email
import re
from datetime import timedelta

from tests.integration.scenario import (
    completed_session,
    create_client,
    create_invoice,
    create_practice,
    standalone_invoice,
)


def mails(world, to, subject=""):
    out = []
    for m in world.emails():
        msg = email.message_from_string(m.raw_data)
        if to in msg["To"] and msg["Subject"].startswith(subject):
            out.append(msg)
    return out


def text_of(msg):
    return "\n".join(
        part.get_payload(decode=True).decode()
        for part in msg.walk()
        if part.get_content_type() == "text/plain"
    )


def pdf_of(msg):
    parts = [p for p in msg.walk() if p.get_content_type() == "application/pdf"]
    assert len(parts) == 1
    return parts[0].get_filename(), parts[0].get_payload(decode=True)


def ledger(world, practice, client_id):
    status, body = world.staff("GET", f"/clients/{client_id}/ledger", practice_id=practice.id)
    assert status == 200, body
    return body


def test_a_session_invoice_bills_the_sessions_charge_and_is_sent_with_its_pdf(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    session = completed_session(world, practice, client["id"])

    status, invoice = create_invoice(
        world, practice, {"client_id": client["id"], "kind": "session", "session_id": session["id"]}
    )
    assert status == 201, invoice
    assert invoice["status"] == "draft" and invoice["number"] == "INV-000001"
    assert [(x["source_key"], x["amount"], x["category"]) for x in invoice["lines"]] == [
        (f"session:{session['id']}", 12_000, "charge")
    ]
    assert invoice["total"] == invoice["balance"] == 12_000
    assert re.fullmatch(r"[0-9]{6}", invoice["access_code"])
    assert mails(world, "ann@client.test", "Invoice") == []

    status, sent = world.staff("POST", f"/invoices/{invoice['id']}/send", practice_id=practice.id)
    assert status == 200, sent
    assert sent["status"] == "open" and sent["sends"] == 1 and sent["sent_at"]
    [msg] = mails(world, "ann@client.test", "Invoice INV-000001")
    body = text_of(msg)
    assert invoice["access_code"] in body and f"/pay/invoice/{practice.id}" in body
    filename, data = pdf_of(msg)
    assert filename == "INV-000001.pdf" and data.startswith(b"%PDF")
    # The ledger charge is the session's own: nothing new posted for it.
    assert [e["kind"] for e in ledger(world, practice, client["id"])["entries"]] == ["charge"]

    # Sending again is refused (resend is the way); nothing more is emailed.
    status, again = world.staff("POST", f"/invoices/{invoice['id']}/send", practice_id=practice.id)
    assert status == 409 and again["details"]["current_status"] == "open"
    assert len(mails(world, "ann@client.test", "Invoice")) == 1


def test_a_charge_is_on_at_most_one_invoice_until_that_invoice_is_voided(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    session = completed_session(world, practice, client["id"])
    body = {"client_id": client["id"], "kind": "session", "session_id": session["id"]}
    _, first = create_invoice(world, practice, body, key="first-invoice-1")

    status, second = create_invoice(world, practice, body, key="second-invoice-1")
    assert status == 409, second

    status, voided = world.staff(
        "POST", f"/invoices/{first['id']}/void", {"reason": "wrong payer"}, practice_id=practice.id
    )
    assert status == 200 and voided["status"] == "void" and voided["void_reason"] == "wrong payer"
    status, third = create_invoice(world, practice, body, key="third-invoice-1")
    assert status == 201 and third["number"] == "INV-000002", third
    # Voiding again is harmless; a void invoice cannot be sent.
    assert world.staff("POST", f"/invoices/{first['id']}/void", {}, practice_id=practice.id)[0] == 200
    assert world.staff("POST", f"/invoices/{first['id']}/send", practice_id=practice.id)[0] == 409


def test_the_same_idempotency_key_returns_the_same_invoice_and_numbers_are_not_reused(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    body = {
        "client_id": client["id"],
        "kind": "standalone",
        "lines": [{"description": "Late fee", "amount": 2_500, "category": "late_fee"}],
    }
    status, a = create_invoice(world, practice, body, key="same-key-0001")
    assert status == 201
    status, again = create_invoice(world, practice, body, key="same-key-0001")
    assert status == 200 and again["id"] == a["id"] and again["number"] == a["number"]
    status, b = create_invoice(world, practice, body, key="other-key-0001")
    assert status == 201 and (a["number"], b["number"]) == ("INV-000001", "INV-000002")
    other = create_practice(world, connect=False)
    other_client = create_client(world, other)
    status, c = create_invoice(world, other, {**body, "client_id": other_client["id"]}, key="same-key-0001")
    assert status == 201 and c["number"] == "INV-000001" and c["id"] != a["id"]  # per practice


def test_a_standalone_invoice_posts_its_lines_when_sent_and_reverses_them_when_voided(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    status, invoice = create_invoice(
        world,
        practice,
        {
            "client_id": client["id"],
            "kind": "standalone",
            "lines": [
                {"description": "Therapy putty", "amount": 1_250, "category": "product"},
                {"description": "Late fee", "amount": 2_500, "category": "late_fee"},
            ],
        },
    )
    assert status == 201 and invoice["total"] == 3_750
    assert ledger(world, practice, client["id"])["entries"] == []  # a draft posts nothing

    world.staff("POST", f"/invoices/{invoice['id']}/send", practice_id=practice.id)
    body = ledger(world, practice, client["id"])
    assert sorted(e["amount"] for e in body["entries"] if e["kind"] == "charge") == [1_250, 2_500]
    assert body["balance"] == 3_750

    status, voided = world.staff("POST", f"/invoices/{invoice['id']}/void", {}, practice_id=practice.id)
    assert status == 200 and voided["status"] == "void"
    world.staff("POST", f"/invoices/{invoice['id']}/void", {}, practice_id=practice.id)  # again: once
    body = ledger(world, practice, client["id"])
    assert sorted(e["amount"] for e in body["entries"] if e["kind"] == "adjustment") == [1_250, 2_500]
    assert body["balance"] == 0


def test_uncollectible_resend_and_a_request_for_a_new_card(world):
    practice = create_practice(world)  # asking for a card needs a practice that can take cards
    client = create_client(world, practice)
    invoice = standalone_invoice(world, practice, client["id"])
    assert invoice["status"] == "open"

    status, resent = world.staff("POST", f"/invoices/{invoice['id']}/resend", practice_id=practice.id)
    assert status == 200 and resent["sends"] == 2
    assert len(mails(world, "ann@client.test", f"Invoice {invoice['number']}")) == 2

    status, asked = world.staff(
        "POST", f"/invoices/{invoice['id']}/request-payment-method", practice_id=practice.id
    )
    assert status == 200, asked
    [msg] = mails(world, "ann@client.test", f"{'Harbor Family Practice'}: please add a payment method")
    assert "/setup/" in text_of(msg)

    status, bad = world.staff("POST", f"/invoices/{invoice['id']}/uncollectible", practice_id=practice.id)
    assert status == 200 and bad["status"] == "uncollectible" and bad["uncollectible_at"]
    assert world.staff("POST", f"/invoices/{invoice['id']}/resend", practice_id=practice.id)[0] == 409
    # A front-desk user may not void or write off.
    status, _ = world.staff(
        "POST", f"/invoices/{invoice['id']}/void", {}, practice_id=practice.id, role="front_desk"
    )
    assert status == 403


def test_invoices_are_listed_by_status_and_by_client(world):
    practice = create_practice(world, connect=False)
    ann = create_client(world, practice)
    bob = create_client(world, practice, first_name="Bob", email="bob@client.test")
    a1 = standalone_invoice(world, practice, ann["id"], key="list-a1-0001")
    a2 = standalone_invoice(world, practice, ann["id"], send=False, key="list-a2-0001")
    b1 = standalone_invoice(world, practice, bob["id"], key="list-b1-0001")

    def listed(**query):
        status, page = world.staff("GET", "/invoices", practice_id=practice.id, query=query)
        assert status == 200, page
        return sorted(i["id"] for i in page["items"])

    assert listed(status="open") == sorted([a1["id"], b1["id"]])
    assert listed(status="draft") == [a2["id"]]
    assert listed(client_id=ann["id"]) == sorted([a1["id"], a2["id"]])
    assert listed(client_id=ann["id"], status="open") == [a1["id"]]
    world.staff("POST", f"/invoices/{a1['id']}/void", {}, practice_id=practice.id)
    assert listed(status="open") == [b1["id"]] and listed(status="void") == [a1["id"]]
    status, _ = world.staff("GET", "/invoices", practice_id=practice.id)
    assert status == 400  # a status or a client is needed


def test_the_sweep_makes_invoices_overdue_and_sends_each_reminder_once(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    invoice = standalone_invoice(world, practice, client["id"])
    paid_one = standalone_invoice(world, practice, client["id"], key="sweep-void-0001")
    world.staff("POST", f"/invoices/{paid_one['id']}/void", {}, practice_id=practice.id)
    invoices = world.container.invoices

    assert invoices.sweep()["overdue"] == 0  # not due yet
    world.clock.now += timedelta(days=32)
    # Overdue, and the first reminder is due at once (the same run).
    assert invoices.sweep() == {"overdue": 1, "reminded": 1, "errors": 0}
    _, now_overdue = world.staff("GET", f"/invoices/{invoice['id']}", practice_id=practice.id)
    assert now_overdue["status"] == "overdue" and now_overdue["reminders_sent"] == 1
    assert invoices.sweep() == {"overdue": 0, "reminded": 0, "errors": 0}  # not again
    assert len(mails(world, "ann@client.test", "Reminder 1")) == 1

    world.clock.now += timedelta(days=7, minutes=1)
    assert invoices.sweep()["reminded"] == 1
    assert invoices.sweep()["reminded"] == 0
    assert len(mails(world, "ann@client.test", "Reminder 2")) == 1

    # Voided: no more reminders, and it leaves the schedule.
    world.staff("POST", f"/invoices/{invoice['id']}/void", {}, practice_id=practice.id)
    world.clock.now += timedelta(days=60)
    assert invoices.sweep() == {"overdue": 0, "reminded": 0, "errors": 0}
    assert mails(world, "ann@client.test", "Reminder 3") == []
    assert mails(world, "ann@client.test", "Reminder 1")[0]["Subject"].endswith("is overdue")


def test_the_scheduled_sweep_entry_point_runs_with_its_sample_event(world):
    import json
    from pathlib import Path

    from devstack.apigw import LambdaContext

    from therabill.entrypoints.invoice_sweep import lambda_handler

    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    invoice = standalone_invoice(world, practice, client["id"])
    world.clock.now += timedelta(days=31)
    event = json.loads(
        (Path(__file__).resolve().parents[2] / "events/scheduler/invoice_sweep.json").read_text()
    )

    assert lambda_handler(event, LambdaContext("invoice-sweep")) == {"overdue": 1, "reminded": 1, "errors": 0}
    assert lambda_handler(event, LambdaContext("invoice-sweep")) == {"overdue": 0, "reminded": 0, "errors": 0}
    _, after = world.staff("GET", f"/invoices/{invoice['id']}", practice_id=practice.id)
    assert after["status"] == "overdue"


def test_under_split_billing_each_payer_is_invoiced_only_their_part(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    _, parent = world.staff(
        "POST",
        f"/clients/{client['id']}/contacts",
        {"name": "Pat Parent", "email": "pat@parent.test", "relationship": "parent"},
        practice_id=practice.id,
    )
    rules = [
        {
            "shares": [
                {"owner_id": parent["id"], "type": "percent", "value": 7_500},
                {"owner_id": client["id"], "type": "rest"},
            ]
        }
    ]
    status, _ = world.staff(
        "PUT", f"/clients/{client['id']}/responsibility", {"rules": rules}, practice_id=practice.id
    )
    assert status == 200
    session = completed_session(world, practice, client["id"])  # 120.00: 90.00 parent, 30.00 client

    body = {"client_id": client["id"], "kind": "session", "session_id": session["id"]}
    _, for_parent = create_invoice(
        world, practice, {**body, "contact_id": parent["id"], "send": True}, key="split-p-1"
    )
    _, for_client = create_invoice(world, practice, {**body, "send": True}, key="split-c-1")
    assert (for_parent["owner_id"], for_parent["total"]) == (parent["id"], 9_000)
    assert [x["source_key"] for x in for_parent["lines"]] == [f"session:{session['id']}:{parent['id']}"]
    assert (for_client["owner_id"], for_client["total"]) == (client["id"], 3_000)
    # Each gets only their own invoice.
    assert [m["Subject"] for m in mails(world, "pat@parent.test", "Invoice")] == [
        f"Invoice {for_parent['number']} from Harbor Family Practice: USD 90.00 due"
    ]
    assert len(mails(world, "ann@client.test", "Invoice")) == 1


def test_cash_taken_by_staff_is_posted_once_and_applied_to_the_invoice(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    invoice = standalone_invoice(world, practice, client["id"], 5_000)

    def pay(amount, key):
        return world.staff(
            "POST",
            f"/invoices/{invoice['id']}/payments",
            {"amount": amount, "method": "cash", "reference": "front desk"},
            practice_id=practice.id,
            headers={"Idempotency-Key": key},
        )

    status, part = pay(2_000, "cash-key-0001")
    assert status == 200 and (part["status"], part["paid"], part["balance"]) == ("open", 2_000, 3_000)
    assert pay(2_000, "cash-key-0001")[1]["paid"] == 2_000  # the same key: once
    status, too_much = pay(3_001, "cash-key-0002")
    assert status == 400, too_much
    status, rest = pay(3_000, "cash-key-0003")
    assert (rest["status"], rest["balance"], [p["method"] for p in rest["payments"]]) == (
        "paid",
        0,
        ["cash", "cash"],
    )
    entries = ledger(world, practice, client["id"])["entries"]
    assert sorted(e["amount"] for e in entries if e["kind"] == "payment") == [2_000, 3_000]
    assert pay(100, "cash-key-0004")[0] == 409  # paid: nothing more to take


def _credit(world, practice, client_id, amount, key):
    """Cash taken with nothing owed: the billing party's credit (the ledger applies it to later charges)."""
    status, body = world.staff(
        "POST",
        f"/clients/{client_id}/payments/manual",
        {"amount": amount, "method": "cash"},
        practice_id=practice.id,
        headers={"Idempotency-Key": key},
    )
    assert status == 201, body


def test_credit_the_ledger_applied_shows_as_paid_by_credit(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    _credit(world, practice, client["id"], 4_000, "credit-key-0001")
    session = completed_session(world, practice, client["id"])  # 120.00, 40.00 of it paid by credit

    status, inv = create_invoice(
        world,
        practice,
        {"client_id": client["id"], "kind": "session", "session_id": session["id"], "send": True},
    )
    assert status == 201, inv
    assert (inv["total"], inv["paid"], inv["balance"], inv["status"]) == (12_000, 4_000, 8_000, "open")
    assert [(p["method"], p["amount"]) for p in inv["payments"]] == [("credit", 4_000)]
    [msg] = mails(world, "ann@client.test", f"Invoice {inv['number']}")
    assert "USD 80.00 due" in msg["Subject"]


def test_a_standalone_invoice_takes_the_payers_credit_when_sent(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    _credit(world, practice, client["id"], 3_000, "credit-key-0002")
    part = standalone_invoice(world, practice, client["id"], 5_000, key="credit-inv-1")
    assert (part["status"], part["paid"], part["balance"]) == ("open", 3_000, 2_000)
    assert [p["method"] for p in part["payments"]] == ["credit"]

    _, ledger_body = world.staff("GET", f"/clients/{client['id']}/ledger", practice_id=practice.id)
    assert ledger_body["balance"] == 2_000  # the ledger and the invoice agree

    other = create_client(world, practice, first_name="Bea", email="bea@client.test")
    _credit(world, practice, other["id"], 9_000, "credit-key-0003")
    covered = standalone_invoice(world, practice, other["id"], 5_000, key="credit-inv-2")
    assert (covered["status"], covered["balance"]) == ("paid", 0)
    assert mails(world, "bea@client.test", f"Invoice {covered['number']}") == []  # nothing to ask for
    _, ledger_body = world.staff("GET", f"/clients/{other['id']}/ledger", practice_id=practice.id)
    assert ledger_body["balance"] == -4_000  # 40.00 of credit left
