"""The real card set-up page in headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright's Python package; no downloaded browsers): a client types a test card into localstripe's
card element, agrees and saves; the staff API then lists the card, and the consent evidence
records this browser's user agent and the signer."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from devstack.run import Stack
from devstack.slice import CARD_VISA, Slice, poll

from tests.e2e.conftest import STACK_GROUP

CHROMIUM = Path(os.environ.get("THERABILL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser,
    pytest.mark.xdist_group(STACK_GROUP),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]


def _csp_directives(header: str) -> dict[str, list[str]]:
    parts = [d.split() for d in header.split(";") if d.strip()]
    return {p[0]: p[1:] for p in parts}


def test_a_card_saved_on_the_real_page_in_chromium(stack: Stack, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")

    # Staff: a practice connected to Stripe, a client, a set-up link.
    staff = Slice(stack.gateway_url)
    run = uuid.uuid4().hex[:8]
    staff.new_practice(f"Browser Practice {run}", f"office.{run}@practice.example.com")
    staff.connect_and_onboard()
    client = staff.create_client("Bea", "Browser", f"bea.{run}@client.example.com")
    url = staff.create_setup_link(client["id"], kinds=["copay", "session_fee"], max_amount=20_000)
    localstripe = "{0.scheme}://{0.netloc}".format(urlsplit(stack.localstripe_url))

    problems: list[str] = []
    screenshot = tmp_path / "card-setup-page.png"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(10_000)
            page.on(
                "console",
                lambda m: (
                    problems.append(f"console {m.type}: {m.text} @ {m.location}")
                    if m.type == "error"
                    else None
                ),
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}"))

            response = page.goto(url, wait_until="load")
            assert response is not None and response.status == 200
            csp = _csp_directives(response.headers.get("content-security-policy", ""))
            assert localstripe in csp.get("script-src", []), csp  # localstripe's Stripe.js
            assert localstripe in csp.get("connect-src", []), csp  # its confirm request
            user_agent = page.evaluate("navigator.userAgent")

            # localstripe's card element: plain inputs named by their placeholder.
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

            status = page.locator("#status")
            sync_api.expect(status).to_contain_text("Your card has been saved", timeout=15_000)
            assert page.locator("#setup-form").get_attribute("data-done") == "true"
            page.screenshot(path=str(screenshot), full_page=True)
            print(f"screenshot: {screenshot}")
        finally:
            browser.close()

    # Chromium asks for /favicon.ico on its own; the pages declare no icon, so the gateway answers
    # 403 (as API Gateway would). Not the page's code: ignored here, reported separately.
    problems = [p for p in problems if "/favicon.ico" not in p]
    assert problems == [], "\n".join(problems)

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
    assert screenshot.stat().st_size > 0
