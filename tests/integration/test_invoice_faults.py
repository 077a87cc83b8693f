"""Faults around invoices: the email provider failing during a send, Stripe unreachable when a
payment starts or its answer lost, DynamoDB throttling at creation, a success hook that fails on
the request path. Whatever fails, a retry completes the state and nothing happens twice."""

from __future__ import annotations

import email
from typing import Any

from tests.integration.scenario import create_client, create_invoice, create_practice, standalone_invoice
from tests.integration.test_faults import _install


def invoice_mails(world, number):
    return [
        m
        for m in world.emails()
        if email.message_from_string(m.raw_data)["Subject"].startswith(f"Invoice {number}")
    ]


def lookup(world, practice, inv):
    status, view = world.public(
        "POST",
        f"/pay/invoice/{practice.id}/lookup",
        {"number": inv["number"], "access_code": inv["access_code"]},
    )
    assert status == 200, view
    return view


def test_an_email_failure_during_send_is_a_503_and_a_retry_sends_once(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    inv = standalone_invoice(world, practice, client["id"], 2_000, send=False)
    world.mail.fail_next()

    status, body = world.staff("POST", f"/invoices/{inv['id']}/send", practice_id=practice.id)
    assert status == 503 and body["code"] == "unavailable", body
    _, mid = world.staff("GET", f"/invoices/{inv['id']}", practice_id=practice.id)
    assert mid["status"] == "sending" and invoice_mails(world, inv["number"]) == []

    status, sent = world.staff("POST", f"/invoices/{inv['id']}/send", practice_id=practice.id)
    assert status == 200 and sent["status"] == "open", sent
    assert len(invoice_mails(world, inv["number"])) == 1
    _, ledger = world.staff("GET", f"/clients/{client['id']}/ledger", practice_id=practice.id)
    assert [e["amount"] for e in ledger["entries"]] == [2_000]  # the standalone charge, once


def test_stripe_unreachable_when_a_payment_starts_then_the_same_request_completes(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    inv = standalone_invoice(world, practice, client["id"], 5_000)
    view = lookup(world, practice, inv)
    body = {"token": view["token"], "amount": 5_000, "request_id": "flaky-request-1"}

    world.stripe.fail_next(1, "timeout", path="/v1/payment_intents")
    status, started = world.public("POST", f"/pay/invoice/{practice.id}/pay", body)
    assert status == 200 and started["status"] == "pending" and started["client_secret"] is None, started
    assert "Try again" in started["message"]

    since = len(world.stripe.events)
    status, again = world.public("POST", f"/pay/invoice/{practice.id}/pay", body)
    assert status == 200 and again["payment_id"] == started["payment_id"] and again["client_secret"], again
    world.stripe.pay_on_page(practice.account, again["client_secret"])
    world.deliver_stripe_events(since=since)
    _, after = world.staff("GET", f"/invoices/{inv['id']}", practice_id=practice.id)
    assert (after["status"], after["paid"]) == ("paid", 5_000)


def test_a_lost_stripe_answer_meets_the_same_payment_intent(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    inv = standalone_invoice(world, practice, client["id"], 5_000)
    view = lookup(world, practice, inv)
    body = {"token": view["token"], "amount": 1_000, "request_id": "lost-answer-1"}
    world.stripe.fail_next(1, "timeout_after_commit", path="/v1/payment_intents")
    world.public("POST", f"/pay/invoice/{practice.id}/pay", body)
    status, again = world.public("POST", f"/pay/invoice/{practice.id}/pay", body)
    assert status == 200 and again["client_secret"], again
    posts = [
        r for r in world.stripe.requests_to("/v1/payment_intents", "POST") if r.path == "/v1/payment_intents"
    ]
    keys = {next(v for k, v in r.headers.items() if k.lower() == "idempotency-key") for r in posts}
    assert len(posts) == 2 and len(keys) == 1  # the same key: Stripe answers with the first one
    assert [r.replayed for r in posts] == [False, True]


def test_throttling_at_creation_is_a_503_and_the_retry_creates_it_once(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    failing = _install(world)
    failing.fail("transact_write_items")
    body = {
        "client_id": client["id"],
        "kind": "standalone",
        "lines": [{"description": "Late fee", "amount": 2_500, "category": "late_fee"}],
    }
    status, answer = create_invoice(world, practice, body, key="throttled-0001")
    assert status == 503, answer
    assert world.container.table.query_all(f"P#{practice.id}", prefix="INVOICE#") == []
    status, made = create_invoice(world, practice, body, key="throttled-0001")
    assert status == 201, made
    status, again = create_invoice(world, practice, body, key="throttled-0001")
    assert status == 200 and again["id"] == made["id"]
    assert len(world.container.table.query_all(f"P#{practice.id}", prefix="INVOICE#")) == 1


def test_a_hook_that_fails_on_the_page_is_completed_by_the_webhook(world, monkeypatch):
    practice = create_practice(world)
    client = create_client(world, practice)
    inv = standalone_invoice(world, practice, client["id"], 5_000)
    view = lookup(world, practice, inv)
    since = len(world.stripe.events)
    status, started = world.public(
        "POST",
        f"/pay/invoice/{practice.id}/pay",
        {"token": view["token"], "amount": 2_000, "request_id": "hook-fails-1"},
    )
    world.stripe.pay_on_page(practice.account, started["client_secret"])
    applied = world.container.invoices.payments  # where the hook and the page apply a payment
    real = applied.apply_payment
    calls = {"n": 0}

    def crash_once(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] <= 2:
            raise RuntimeError("crash before the invoice was updated")
        return real(*args, **kwargs)

    monkeypatch.setattr(applied, "apply_payment", crash_once)
    status, _ = world.public(
        "POST",
        f"/pay/invoice/{practice.id}/payments/{started['payment_id']}/confirm",
        {"token": view["token"]},
    )
    assert status == 500  # the page says something went wrong; the money is recorded
    _, mid = world.staff("GET", f"/invoices/{inv['id']}", practice_id=practice.id)
    assert mid["paid"] == 0
    world.deliver_stripe_events(since=since)  # payment_intent.succeeded: the hook runs again
    _, after = world.staff("GET", f"/invoices/{inv['id']}", practice_id=practice.id)
    assert after["paid"] == 2_000 and len(after["payments"]) == 1
    _, ledger = world.staff("GET", f"/clients/{client['id']}/ledger", practice_id=practice.id)
    assert sorted(e["amount"] for e in ledger["entries"] if e["kind"] == "payment") == [2_000]
