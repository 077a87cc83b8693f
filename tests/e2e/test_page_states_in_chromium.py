"""Each public page's states a client may meet, in headless Chromium at a phone's width (375 px)
against the local stack: a link cut short or changed, expired, already used, a booking already
paid, a practice that does not exist, and the authentication page itself. Each is a page of words
(never JSON or validation text) that names the practice when the link is ours, says what happened
and what to do next. Screenshots go to ``$THERABILL_SCREENSHOTS`` or a temporary directory (never
the repository); their paths are printed."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from devstack.run import Stack
from devstack.slice import CARD_AUTH_ALWAYS, CARD_VISA, Slice, authentication_link, poll

from tests.e2e.conftest import STACK_GROUP
from tests.e2e.test_card_page_in_chromium import CHROMIUM, browser, sync_api
from therabill import contract
from therabill.core import signed_tokens

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser,
    pytest.mark.xdist_group(STACK_GROUP),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]

__all__ = ["browser", "sync_api"]  # the fixtures, shared with the card page tests

PHONE = {"width": 375, "height": 740}
LEAKS = ("{", "}", "invalid_request", "unauthorized", "problems", "field", "pattern", "string_", "detail")


@pytest.fixture(scope="module")
def office(stack: Stack) -> Iterator[tuple[Slice, str, str]]:
    """A practice of the module's own, connected to Stripe: (staff, name, email)."""
    run = uuid.uuid4().hex[:8]
    name, email = f"Harbor Lights {run}", f"front.desk.{run}@harbor-lights.example.com"
    s = Slice(stack.gateway_url)
    s.new_practice(name, email)
    s.connect_and_onboard()
    yield s, name, email


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = os.environ.get("THERABILL_SCREENSHOTS")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        return Path(where)
    return tmp_path_factory.mktemp("page-states")


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE, is_mobile=True, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

    def console(message: Any) -> None:
        # The page's own status (4xx) is logged as a failed load: that is the state shown, not a problem.
        if message.type == "error" and not message.text.startswith("Failed to load resource: the server"):
            problems.append(f"console: {message.text}")

    page.on("console", console)
    page.problems = problems
    try:
        yield page
    finally:
        context.close()


def _signed(stack: Stack, purpose: str, claims: dict[str, str], *, expired: bool) -> str:
    """A link token as the stack signs it (its key), expired an hour ago or valid for a day."""
    at = datetime.now(UTC) + (timedelta(hours=-1) if expired else timedelta(days=1))
    return signed_tokens.sign(stack.secrets[contract.SECRET_LINK_SIGNING_KEY], purpose, claims, at)


def _tampered(url: str) -> str:
    head, _, mac = url.rpartition(".")
    return f"{head}.{mac[:-3]}{'abc' if not mac.endswith('abc') else 'xyz'}"


def look_at(page: Any, url: str, shots: Path, name: str, *, status: int, practice: str | None) -> str:
    """Open ``url`` at 375 px, save a screenshot, and check the page reads as words: a heading,
    what happened, what to do next; the practice named (or, when the link cannot be trusted, no
    one); no JSON, braces or validation text; nothing wider than the screen."""
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == status, (name, response and response.status)
    assert "text/html" in response.headers.get("content-type", ""), name
    path = shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    words = page.locator("main").inner_text()
    for leak in LEAKS:
        assert leak not in words, (name, leak, words)
    assert page.locator("h1").count() == 1 and page.locator("#next-step").inner_text().strip(), name
    if practice is not None:
        assert practice in words and page.locator("#next-step a[href^='mailto:']").count() == 1, (name, words)
    else:
        assert "Harbor Lights" not in words, (name, words)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
    assert page.problems == [], (name, page.problems)
    return words


def test_the_set_up_pages_states(stack: Stack, office: Any, phone: Any, shots: Path) -> None:
    staff, name, email = office
    run = uuid.uuid4().hex[:8]
    client = staff.create_client("Sam", "States", f"sam.{run}@client.example.com")
    saved = staff.save_card(client["id"], CARD_VISA, signer_name="Sam States")
    base = stack.gateway_url.rstrip("/")

    words = look_at(phone, f"{base}/setup/not-a-token", shots, "setup-malformed", status=400, practice=None)
    assert "This link does not work" in words
    words = look_at(phone, _tampered(saved.page.url), shots, "setup-tampered", status=401, practice=None)
    assert "cannot tell which practice sent it" in words
    words = look_at(phone, saved.page.url, shots, "setup-used", status=409, practice=name)
    assert "Your card is already saved" in words and email in words
    token = _signed(stack, "card-setup", {"p": staff.practice_id or "", "l": "sul_gone"}, expired=True)
    words = look_at(phone, f"{base}/setup/{token}", shots, "setup-expired", status=401, practice=name)
    assert f"Ask {name} for a new link" in words


def test_the_authentication_pages_states(stack: Stack, office: Any, phone: Any, shots: Path) -> None:
    staff, name, _ = office
    run = uuid.uuid4().hex[:8]
    address = f"ari.{run}@client.example.com"
    client = staff.create_client("Ari", "Auth", address)
    saved = staff.save_card(client["id"], CARD_AUTH_ALWAYS, signer_name="Ari Auth")
    payment = staff.charge(client["id"], 4000, kind="copay", card_id=saved.card["id"], memo="90837 F41.1")
    assert payment["status"] == "requires_action", payment
    link = authentication_link(staff.wait_for_email(address, "Please confirm"))

    response = phone.goto(link, wait_until="load")
    assert response is not None and response.status == 200
    phone.screenshot(path=str(shots / "authenticate-page.png"), full_page=True)
    print(f"screenshot: {shots / 'authenticate-page.png'}")
    facts = phone.locator("dl.facts").inner_text()
    assert name in facts and "A copay" in facts and "USD 40.00" in facts
    assert f"ending in {saved.card['last4']}" in facts and str(datetime.now(UTC).year) in facts
    assert "90837" not in phone.content() and "F41.1" not in phone.content()

    words = look_at(phone, _tampered(link), shots, "authenticate-tampered", status=401, practice=None)
    assert "This link does not work" in words
    token = _signed(stack, "payment-auth", {"p": staff.practice_id or "", "pay": payment["id"]}, expired=True)
    base = stack.gateway_url.rstrip("/")
    words = look_at(
        phone, f"{base}/pay/authenticate/{token}", shots, "authenticate-expired", status=401, practice=name
    )
    assert "This link to confirm your payment" in words and "has expired" in words


def _deposit_booking(staff: Slice, run: str, start: str) -> dict[str, Any]:
    client = staff.create_client("Bo", "Booking", f"bo.{run}@client.example.com")
    service = staff.staff(
        "POST",
        "/services",
        {"name": f"Consultation {run}", "cpt_code": "90791", "unit": "session", "unit_price": 16_000},
        expect=(201,),
    )
    staff.staff(
        "PUT",
        f"/services/{service['id']}/booking-payment",
        {"rule": {"kind": "deposit", "deposit_amount": 2_000}},
    )
    body = {
        "client_id": client["id"],
        "service_id": service["id"],
        "clinician_id": staff.staff(
            "POST", "/staff", {"name": "E2E Clinician", "role": "clinician", "sign_in": False}, expect=(201,)
        )["id"],
        "scheduled_start": start,
    }
    session = staff.staff(
        "POST", "/sessions", body, expect=(201,), headers={"Idempotency-Key": f"states-{run}"}
    )
    assert session["status"] == "awaiting_payment", session
    return dict(session)


def test_the_booking_and_invoice_pages_states(stack: Stack, office: Any, phone: Any, shots: Path) -> None:
    staff, name, _ = office
    run = uuid.uuid4().hex[:8]
    base = stack.gateway_url.rstrip("/")
    session = _deposit_booking(staff, run, "2031-06-03T14:00:00Z")
    link = session["booking_payment"]["pay_link"]

    # The time to pay has passed (the hold's link expired before it was paid).
    token = _signed(stack, "booking-pay", {"p": staff.practice_id or "", "s": session["id"]}, expired=True)
    words = look_at(phone, f"{base}/pay/booking/{token}", shots, "booking-expired", status=401, practice=name)
    assert "The time to pay for your appointment" in words

    # Paid: not an error; the page says it is confirmed and what comes next.
    html = staff.request("GET", link, what="the booking pay page").text
    config = re.search(r'"pk": "([^"]+)".*"secret": "([^"]+)"', html)
    assert config is not None, html
    staff.confirm_card_payment(
        stack.localstripe_url,
        publishable_key=config.group(1),
        client_secret=config.group(2),
        number=CARD_VISA,
        name="Bo Booking",
    )
    poll(
        lambda: True if staff.staff("GET", f"/sessions/{session['id']}")["status"] == "booked" else None,
        timeout=15,
        what="the booking to be confirmed",
    )
    words = look_at(phone, link, shots, "booking-paid", status=200, practice=name)
    assert "Your appointment is confirmed" in words and "2031" in words
    words = look_at(phone, _tampered(link), shots, "booking-tampered", status=401, practice=None)

    words = look_at(
        phone,
        f"{base}/pay/invoice/prc_nosuchpractice0",
        shots,
        "invoice-no-practice",
        status=404,
        practice=None,
    )
    assert "We could not find this pay page" in words
    words = look_at(
        phone, f"{base}/pay/invoice/Not-An-Id", shots, "invoice-malformed", status=400, practice=None
    )
    assert "printed on your invoice" in words
