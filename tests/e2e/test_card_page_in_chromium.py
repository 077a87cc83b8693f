"""The real public pages in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright's
Python package; no downloaded browsers).

The card set-up page: a client types a test card into localstripe's card element, agrees and
saves; the staff API then lists the card, and the consent evidence records this browser's user
agent and the signer. The payment-authentication page: the client confirms a payment the bank
wanted authenticated."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from devstack.run import Stack
from devstack.slice import CARD_AUTH_ALWAYS, CARD_VISA, Slice, authentication_link, poll

from tests.e2e.conftest import CHROMIUM, STACK_GROUP

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser,
    pytest.mark.xdist_group(STACK_GROUP),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture(scope="module")
def sync_api() -> Any:
    return pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser(chromium: Any) -> Any:
    """The package's one Chromium (tests/e2e/conftest.py); the modules that import this fixture
    share it rather than each launching its own."""
    return chromium


@pytest.fixture(scope="module")
def staff(stack: Stack) -> Slice:
    """A practice of the module's own, connected to Stripe."""
    s = Slice(stack.gateway_url)
    run = uuid.uuid4().hex[:8]
    s.new_practice(f"Browser Practice {run}", f"office.{run}@practice.example.com")
    s.connect_and_onboard()
    return s


class Watched:
    """A page whose console errors, uncaught exceptions and failed requests are collected."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url} {r.failure}"))

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.problems.append(f"console error: {message.text} @ {message.location}")

    def real_problems(self) -> list[str]:
        return list(self.problems)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    w = Watched(browser)
    try:
        yield w
    finally:
        w.close()


def _csp_directives(header: str) -> dict[str, list[str]]:
    parts = [d.split() for d in header.split(";") if d.strip()]
    return {p[0]: p[1:] for p in parts}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def test_a_card_saved_on_the_real_page_in_chromium(
    stack: Stack, staff: Slice, watched: Watched, sync_api: Any, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    client = staff.create_client("Bea", "Browser", f"bea.{run}@client.example.com")
    url = staff.create_setup_link(client["id"], kinds=["copay", "session_fee"], max_amount=20_000)
    page = watched.page

    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == 200
    csp = _csp_directives(response.headers.get("content-security-policy", ""))
    localstripe = _origin(stack.localstripe_url)
    assert localstripe in csp.get("script-src", []), csp  # localstripe's Stripe.js
    assert localstripe in csp.get("connect-src", []), csp  # its confirm request
    user_agent = page.evaluate("navigator.userAgent")

    # localstripe's card element: plain text inputs named by their placeholders.
    element = page.locator("#card-element")
    element.locator("input[placeholder=number]").wait_for(state="visible")
    page.get_by_label("Your full name").fill("Bea Browser")
    for field, value in (
        ("number", CARD_VISA),
        ("exp_month", "12"),
        ("exp_year", "34"),
        ("cvc", "123"),
        ("postal_code", "10001"),
    ):
        element.locator(f"input[placeholder={field}]").press_sequentially(value)
    page.get_by_label("I agree to the authorization above").check()
    page.get_by_role("button", name="Save card").click()

    sync_api.expect(page.locator("#status")).to_contain_text("Your card has been saved", timeout=15_000)
    assert page.locator("#setup-form").get_attribute("data-done") == "true"
    screenshot = tmp_path / "card-setup-page.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"screenshot: {screenshot}")
    assert screenshot.stat().st_size > 0
    assert watched.real_problems() == [], "\n".join(watched.problems)

    # setup_intent.succeeded went webhook -> SQS -> worker: the staff API lists the card.
    def the_card() -> dict[str, Any] | None:
        return next((c for c in staff.cards(client["id"]) if c["last4"] == "4242"), None)

    card = poll(the_card, timeout=15, what="the card saved in Chromium")
    assert (card["brand"], card["last4"], card["is_default"]) == ("visa", "4242", True)

    evidence = staff.consent_evidence(client["id"], card["id"])["consent"]
    assert evidence["status"] == "active"
    assert evidence["signer_name"] == "Bea Browser"
    assert evidence["user_agent"] == user_agent and "Chrome" in user_agent
    assert evidence["scope"]["kinds"] == ["copay", "session_fee"]
    assert evidence["scope"]["max_amount"] == {"amount": 20_000, "currency": "usd"}


def test_the_authentication_page_confirms_the_payment_in_chromium(
    staff: Slice, watched: Watched, sync_api: Any
) -> None:
    run = uuid.uuid4().hex[:8]
    email = f"cal.{run}@client.example.com"
    client = staff.create_client("Cal", "Confirm", email)
    saved = staff.save_card(client["id"], CARD_AUTH_ALWAYS, signer_name="Cal Confirm")
    payment = staff.charge(client["id"], 3500, kind="session_fee", card_id=saved.card["id"])
    assert payment["status"] == "requires_action"
    link = authentication_link(staff.wait_for_email(email, "Please confirm"))
    page = watched.page

    response = page.goto(link, wait_until="load")
    assert response is not None and response.status == 200
    page.get_by_role("button", name="Confirm payment").click()
    page.get_by_role("button", name="Complete authentication").click()  # localstripe's 3-D Secure modal
    page.wait_for_function(
        "() => { const t = document.getElementById('status').textContent;"
        " return t && !t.startsWith('Confirming'); }"
    )
    assert "your payment is confirmed" in page.locator("#status").inner_text()
    assert watched.real_problems() == [], "\n".join(watched.problems)

    # payment_intent.succeeded: the payment succeeds, posts once and a receipt is sent.
    path = f"/clients/{client['id']}/payments/{payment['id']}"
    poll(
        lambda: True if staff.staff("GET", path)["status"] == "succeeded" else None,
        timeout=15,
        what="the payment to succeed",
    )
    staff.wait_for_ledger_entry(client["id"], payment["id"])
    staff.wait_for_email(email, "Receipt")
