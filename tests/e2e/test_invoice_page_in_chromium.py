"""Paying an invoice on the real pay page in headless Chromium, against the local stack: staff send
an invoice (emailed with its PDF); the client opens the page from the email, looks the invoice up
with its number and access code, pays part of it with a card typed into localstripe's card
element, then the rest; the page, the invoice's status and the ledger follow."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from devstack.run import Stack
from devstack.slice import CARD_VISA, Slice, poll

from tests.e2e.conftest import STACK_GROUP
from tests.e2e.test_card_page_in_chromium import CHROMIUM, Watched, browser, staff, sync_api, watched

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser,
    pytest.mark.xdist_group(STACK_GROUP),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]

__all__ = ["browser", "staff", "sync_api", "watched"]  # the fixtures, shared with the card page tests


def _type_card(page: Any) -> None:
    element = page.locator("#card-element")
    element.locator("input[placeholder=number]").wait_for(state="visible")
    for field, value in (
        ("number", CARD_VISA),
        ("exp_month", "12"),
        ("exp_year", "34"),
        ("cvc", "123"),
        ("postal_code", "10001"),
    ):
        box = element.locator(f"input[placeholder={field}]")
        box.fill("")
        box.press_sequentially(value)


def test_an_invoice_paid_in_two_parts_on_the_real_page(
    stack: Stack, staff: Slice, watched: Watched, sync_api: Any, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    email = f"zoe.{run}@client.example.com"
    client = staff.create_client("Zoë", "Łukasiewicz", email)
    invoice = staff.staff(
        "POST",
        "/invoices",
        {
            "client_id": client["id"],
            "kind": "standalone",
            "lines": [
                {"description": "Balance carried over", "amount": 10_000, "category": "previous_balance"}
            ],
            "send": True,
        },
        expect=(201,),
        headers={"Idempotency-Key": f"e2e-invoice-{run}"},
    )
    assert invoice["status"] == "open"
    mail = staff.wait_for_email(email, f"Invoice {invoice['number']}")
    assert [a["content_type"] for a in mail["attachments"]] == ["application/pdf"]
    match = re.search(r"Pay online at (\S+) with", mail["text"])
    assert match, mail["text"]
    page = watched.page
    page.set_viewport_size({"width": 375, "height": 740})  # a phone

    response = page.goto(match.group(1), wait_until="load")
    assert response is not None and response.status == 200
    page.get_by_label("Invoice number").fill(invoice["number"])
    page.get_by_label("Access code").fill(invoice["access_code"])
    page.get_by_role("button", name="Find invoice").click()
    sync_api.expect(page.locator("#balance")).to_have_text("USD 100.00")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scrolling
    page.screenshot(path=str(tmp_path / "invoice-found.png"), full_page=True)

    # Part of it: 40.00 with a new card.
    page.get_by_label("Pay another amount").check()
    page.get_by_label("Amount to pay").fill("40.00")
    _type_card(page)
    page.get_by_role("button", name="Pay").click()
    sync_api.expect(page.locator("#status")).to_contain_text("Thank you", timeout=20_000)
    sync_api.expect(page.locator("#balance")).to_have_text("USD 60.00")
    assert staff.staff("GET", f"/invoices/{invoice['id']}")["status"] == "open"

    # The rest.
    page.get_by_label("Pay the full balance").check()
    _type_card(page)
    page.get_by_role("button", name="Pay").click()
    sync_api.expect(page.locator("#balance")).to_have_text("USD 0.00", timeout=20_000)
    sync_api.expect(page.locator("#invoice-status")).to_contain_text("Paid")
    assert page.locator("#pay-form").is_hidden()
    screenshot = tmp_path / "invoice-pay-page.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"screenshot: {screenshot}")
    assert watched.real_problems() == [], "\n".join(watched.problems)

    def paid() -> dict[str, Any] | None:
        current: dict[str, Any] = staff.staff("GET", f"/invoices/{invoice['id']}")
        return current if current["status"] == "paid" else None

    done = poll(paid, timeout=15, what="the invoice to be paid")
    assert (done["paid"], done["balance"], len(done["payments"])) == (10_000, 0, 2)
    ledger = staff.ledger(client["id"])
    payments = sorted(e["amount"] for e in ledger["entries"] if e["kind"] == "payment")
    assert payments == [4_000, 6_000] and ledger["balance"] == 0


def test_the_invoices_demo_scenario_runs_against_the_stack(stack: Stack) -> None:
    from devstack.demo_invoices import run_invoices_demo

    lines: list[str] = []

    def say(text: str) -> None:
        lines.append(text)
        print(text)

    result = run_invoices_demo(stack.gateway_url, say)
    assert result.paid["status"] == "paid" and len(result.paid["payments"]) == 2
    assert result.refused["code"] == "unauthorized"
    assert any(a["filename"].endswith(".pdf") for a in result.email["attachments"])
    assert result.ledger["balance"] == 0
    assert lines[-1].startswith("\nInvoices work end to end")
