"""Paying a booking deposit on the real page in headless Chromium, against the local stack: staff
book a session whose service asks for a deposit, the client opens the emailed link, types a test
card into localstripe's card element and pays; localstripe's signed webhook → SQS → worker
confirms the booking, and the page says so."""

from __future__ import annotations

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


def test_a_deposit_paid_on_the_booking_page_confirms_the_booking(
    stack: Stack, staff: Slice, watched: Watched, sync_api: Any, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    email = f"dee.{run}@client.example.com"
    client = staff.create_client("Dee", "Deposit", email)
    service = staff.staff(
        "POST",
        "/services",
        {"name": "Consultation", "cpt_code": "90791", "unit": "session", "unit_price": 16_000},
        expect=(201,),
    )
    staff.staff(
        "PUT",
        f"/services/{service['id']}/booking-payment",
        {"rule": {"kind": "deposit", "deposit_percent_bps": 2_500}},
    )
    session = staff.staff(
        "POST",
        "/sessions",
        {
            "client_id": client["id"],
            "service_id": service["id"],
            "clinician_id": staff.staff(
                "POST",
                "/staff",
                {"name": "E2E Clinician", "role": "clinician", "sign_in": False},
                expect=(201,),
            )["id"],
            "scheduled_start": "2031-05-06T14:00:00Z",
        },
        expect=(201,),
        headers={"Idempotency-Key": f"e2e-booking-{run}"},
    )
    assert session["status"] == "awaiting_payment", session
    deposit = session["booking_payment"]
    assert deposit["amount_due"] == 4_000
    mail = staff.wait_for_email(email, "Confirm your appointment")
    assert deposit["pay_link"] in str(mail)
    page = watched.page

    response = page.goto(deposit["pay_link"], wait_until="load")
    assert response is not None and response.status == 200
    assert "USD 40.00" in page.locator("#amount").inner_text()
    element = page.locator("#card-element")
    element.locator("input[placeholder=number]").wait_for(state="visible")
    page.get_by_label("Name on the card").fill("Dee Deposit")
    for field, value in (
        ("number", CARD_VISA),
        ("exp_month", "12"),
        ("exp_year", "34"),
        ("cvc", "123"),
        ("postal_code", "10001"),
    ):
        element.locator(f"input[placeholder={field}]").press_sequentially(value)
    page.get_by_role("button", name="Pay USD 40.00").click()

    sync_api.expect(page.locator("#status")).to_contain_text("appointment is confirmed", timeout=20_000)
    assert page.locator("#pay-form").get_attribute("data-done") == "confirmed"
    screenshot = tmp_path / "booking-pay-page.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"screenshot: {screenshot}")
    assert watched.real_problems() == [], "\n".join(watched.problems)

    # payment_intent.succeeded went webhook -> SQS -> worker: booked, the deposit is a credit.
    def confirmed() -> dict[str, Any] | None:
        current: dict[str, Any] = staff.staff("GET", f"/sessions/{session['id']}")
        return current if current["status"] == "booked" else None

    booked = poll(confirmed, timeout=15, what="the booking to be confirmed")
    assert booked["booking_payment"]["status"] == "paid"
    ledger = staff.ledger(client["id"])
    assert [(e["kind"], e["amount"]) for e in ledger["entries"]] == [("credit", 4_000)]
    staff.wait_for_email(email, "Your appointment with")
