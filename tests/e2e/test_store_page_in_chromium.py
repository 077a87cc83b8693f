"""Buying on the real store page in headless Chromium at phone width, against the local stack:
staff stock the catalogue and send a purchase link; the client opens it from the email, sees the
recommended item first, changes the quantities, watches the total and pays with a card typed into
localstripe's card element; the order, the stock and the receipt follow. Then the store scenario
of ``make demo``."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from devstack.run import Stack
from devstack.slice import Slice, poll

from tests.e2e.conftest import STACK_GROUP
from tests.e2e.test_card_page_in_chromium import CHROMIUM, Watched, browser, staff, sync_api, watched
from tests.e2e.test_invoice_page_in_chromium import _type_card

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser,
    pytest.mark.xdist_group(STACK_GROUP),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]

__all__ = ["browser", "staff", "sync_api", "watched"]  # the fixtures, shared with the card page tests


def _stocked(staff: Slice, stock: int, **fields: Any) -> dict[str, Any]:
    made = staff.staff("POST", "/shop/products", fields, expect=(201,))
    body = {"kind": "received", "quantity": stock}
    key = {"Idempotency-Key": f"e2e-stock-{made['id']}"}
    return dict(staff.staff("POST", f"/shop/products/{made['id']}/stock", body, expect=(201,), headers=key))


def test_two_items_bought_on_the_real_store_page_at_phone_width(
    stack: Stack, staff: Slice, watched: Watched, sync_api: Any, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    email = f"ines.{run}@client.example.com"
    client = staff.create_client("Inês", "Ørsted", email)
    putty = _stocked(staff, 4, name="Therapy putty, soft", sku="PUTTY-S", price=1_100, hsa_fsa_eligible=True)
    grip = _stocked(staff, 3, name="Pen grip", sku="GRIP-2", price=450)
    body = {"client_id": client["id"], "items": [{"product_id": putty["id"], "quantity": 1}]}
    staff.staff("POST", "/shop/purchase-links", body, expect=(201,))
    mail = staff.wait_for_email(email, "Items recommended for you")
    match = re.search(r"Open the store: (\S+)", mail["text"])
    assert match, mail["text"]
    page = watched.page
    page.set_viewport_size({"width": 375, "height": 740})  # a phone

    response = page.goto(match.group(1), wait_until="load")
    assert response is not None and response.status == 200
    assert page.locator("h3").first.inner_text().startswith("Therapy putty, soft")  # recommended first
    sync_api.expect(page.locator("#total")).to_have_text("USD 11.00")
    first_id = page.evaluate("() => REQUEST")
    page.get_by_label("Quantity of Therapy putty, soft").fill("2")
    page.get_by_label("Quantity of Pen grip").fill("1")
    sync_api.expect(page.locator("#total")).to_have_text("USD 26.50")
    changed_id = page.evaluate("() => REQUEST")
    assert changed_id != first_id  # another basket: another order
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scrolling
    _type_card(page)
    sent: list[str] = []

    def refuse(route: Any) -> None:
        sent.append(json.loads(route.request.post_data or "{}")["request_id"])
        route.fulfill(status=409, content_type="application/json", body='{"message": "Try again."}')

    page.route("**/orders", refuse)
    page.get_by_role("button", name="Pay").click()
    sync_api.expect(page.locator("#status")).to_contain_text("Try again.")
    page.unroute("**/orders")
    sync_api.expect(page.get_by_role("button", name="Pay")).to_be_enabled()
    watched.problems[:] = [p for p in watched.problems if "409 (Conflict)" not in p]  # the refusal made above
    assert sent == [changed_id] and page.evaluate("() => REQUEST") != changed_id  # a new one after an error
    page.get_by_role("button", name="Pay").click()
    sync_api.expect(page.locator("#status")).to_contain_text("Thank you", timeout=20_000)
    sync_api.expect(page.locator("#status")).to_contain_text("USD 26.50")
    screenshot = tmp_path / "store-page.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"screenshot: {screenshot}")
    assert watched.real_problems() == [], "\n".join(watched.problems)

    orders = poll(
        lambda: [o for o in staff.staff("GET", "/shop/orders") if o["status"] == "paid"] or None,
        timeout=15,
        what="the order paid",
    )
    assert [(ln["sku"], ln["quantity"]) for ln in orders[0]["lines"]] == [("PUTTY-S", 2), ("GRIP-2", 1)]
    assert staff.staff("GET", f"/shop/products/{grip['id']}")["on_hand"] == 2
    receipt = staff.wait_for_email(email, "Your receipt")
    assert "Therapy putty, soft (SKU PUTTY-S) [HSA/FSA]: 2 at USD 11.00 = USD 22.00" in receipt["text"]
    assert [a["content_type"] for a in receipt["attachments"]] == ["application/pdf"]


def test_the_store_demo_scenario_runs_against_the_stack(stack: Stack) -> None:
    from devstack.demo_shop import run_shop_demo

    lines: list[str] = []

    def say(text: str) -> None:
        lines.append(text)
        print(text)

    result = run_shop_demo(stack.gateway_url, say)
    assert result.order["status"] == "paid" and result.ledger["balance"] == 9_000  # the session's charge
    assert sorted(status for status, _ in result.race) == [200, 409]
    rest = next(r for r in result.stock if r["sku"] == "REST-1")
    assert (rest["on_hand"], rest["available"], rest["low"]) == (0, 0, True)
    assert lines[-1].startswith("\nThe store works end to end")
