"""Walk the Therabill slice end to end against the running local system: ``make demo``.

Start the system first (``make run``); this reads ``.devstack/state.json`` for the gateway URL
(``--gateway URL`` or ``--state FILE`` to point elsewhere) and talks to it only over HTTP:

 1. a new practice of its own (a fresh ``prc_`` id and a staff token for it), connected to Stripe
    through the onboarding link, until ``account.updated`` enables charges;
 2. a client, a set-up link, and a card saved the way the page and Stripe.js save it (4242…);
 3. the consent evidence, a copay charged off-session, its ledger entry and the receipt email;
 4. a card that is declined on charge (…0341): the decline is recorded with its code;
 5. a card that always needs 3-D Secure (…3184): the charge needs action, the client gets an
    email with a link, and the link's page opens.

Then the other scenarios, each on a practice of its own: invoices and the pay page
(``demo_invoices``), sessions and their money (``demo_sessions``), the nightly run
(``demo_nightly``), and a practice's people (``demo_people``: a practice signs up, its owner signs
in from the emailed invitation, invites a biller who works, changes their role and removes them,
and reads the audit trail), and insurance (``demo_insurance``: the billing and clinician provider
set-up, the sandbox payer accepted and enrolled, a client's coverage and its eligibility check with
the copay found, a card picture, an authorization of one visit and a booking past it warned and
booked as self-pay instead, the insured session billed the copay only and waiting for claims),
and the equipment store (``demo_shop``: a purchase link after a session, two items bought on the
store page, the stock, receipt and ledger, and the last unit of a product bought by two clients at
once).

Exits 0 when every step got what it expected, 1 (with the reason) at the first that did not.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from devstack import PROJECT_ROOT
from devstack.money_text import balance, money, signed
from devstack.slice import (
    CARD_AUTH_ALWAYS,
    CARD_DECLINE_ON_CHARGE,
    CARD_VISA,
    SavedCard,
    Slice,
    SliceError,
    authentication_link,
    expect,
)

DEFAULT_STATE = PROJECT_ROOT / ".devstack" / "state.json"

Say = Callable[[str], None]


@dataclass
class DemoResult:
    """What each step produced (the end-to-end tests assert on it)."""

    slice: Slice
    practice: dict[str, Any] = field(default_factory=dict)
    onboarding_url: str = ""
    onboarding_status: int = 0
    connected: dict[str, Any] = field(default_factory=dict)
    client: dict[str, Any] = field(default_factory=dict)
    visa: SavedCard | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    charge_key: str = ""
    payment: dict[str, Any] = field(default_factory=dict)
    ledger: dict[str, Any] = field(default_factory=dict)
    receipt: dict[str, Any] = field(default_factory=dict)
    declined_card: SavedCard | None = None
    declined: dict[str, Any] = field(default_factory=dict)
    auth_card: SavedCard | None = None
    needs_action: dict[str, Any] = field(default_factory=dict)
    auth_email: dict[str, Any] = field(default_factory=dict)
    auth_url: str = ""
    auth_page_status: int = 0
    seconds: float = 0.0


class _Steps:
    def __init__(self, say: Say) -> None:
        self.say = say
        self.number = 0
        self.started = time.monotonic()

    def step(self, title: str) -> None:
        self.number += 1
        self.say(f"\n[{self.number:>2}] {title}  (+{time.monotonic() - self.started:.1f}s)")

    def detail(self, text: str) -> None:
        for line in text.splitlines():
            self.say(f"     {line}")


def _card_text(card: dict[str, Any]) -> str:
    return f"{card['brand']} …{card['last4']} exp {card['exp_month']:02d}/{card['exp_year']} id {card['id']}"


def run_demo(gateway_url: str, say: Say = print, *, run_id: str | None = None) -> DemoResult:
    """Every step of the slice over HTTP; raises :class:`SliceError` at the first failure."""
    run_id = run_id or uuid.uuid4().hex[:8]
    steps = _Steps(say)
    s = Slice(gateway_url)
    result = DemoResult(slice=s)
    client_email = f"ann.{run_id}@client.example.com"
    started = time.monotonic()

    steps.step(f"The local system at {s.gateway_url}")
    health = s.health()
    steps.detail(f"gateway ok; localstripe {health.get('localstripe', '?')}, moto {health.get('moto', '?')}")

    steps.step("A new practice for this run (token from POST /_local/token, then POST /practice)")
    result.practice = s.new_practice(f"Demo Practice {run_id}", f"office.{run_id}@practice.example.com")
    steps.detail(f"{result.practice['id']} · {result.practice['name']} · {result.practice['time_zone']}")

    steps.step("Connect Stripe: POST /practice/stripe/connect, then visit the onboarding link")
    result.onboarding_url = s.connect_stripe()
    steps.detail(f"onboarding URL {result.onboarding_url}")
    result.onboarding_status = s.complete_onboarding(result.onboarding_url)
    steps.detail(f"onboarding page answered {result.onboarding_status}; waiting for account.updated…")
    result.connected = s.wait_for_charges_enabled()
    stripe = result.connected["stripe"]
    steps.detail(
        f"account {stripe['account_id']}: charges_enabled={stripe['charges_enabled']} "
        f"payouts_enabled={stripe['payouts_enabled']}"
    )

    steps.step("A client: POST /clients")
    result.client = s.create_client("Ann", "Client", client_email)
    client_id = result.client["id"]
    steps.detail(f"{client_id} · {result.client['first_name']} {result.client['last_name']} <{client_email}>")

    steps.step(f"Save a card ({CARD_VISA}) through the public set-up page, as the browser does")
    result.visa = s.save_card(client_id, CARD_VISA, signer_name="Ann Client")
    page, intent = result.visa.page, result.visa.intent
    steps.detail(f"set-up URL {page.url}")
    steps.detail(f"page: HTTP {page.status}, consent text {page.consent_version}")
    steps.detail(f"Stripe.js from {page.stripe_js_url}")
    setup_intent_id = intent["client_secret"].split("_secret_")[0]
    steps.detail(f"POST …/intent → SetupIntent {setup_intent_id} on {intent['stripe_account']}")
    steps.detail(f"Stripe.js confirm at {page.localstripe_url} → {result.visa.setup_intent['status']}")
    steps.detail(f"setup_intent.succeeded → webhook → SQS → worker stored {_card_text(result.visa.card)}")
    expect(
        (result.visa.card["brand"], result.visa.card["last4"]) == ("visa", "4242"),
        f"expected a visa ending 4242, got {result.visa.card}",
    )
    expect(result.visa.card["is_default"] is True, "the first card should be the client's default")

    steps.step("The consent evidence: GET /clients/{id}/cards/{card}/consent")
    result.evidence = s.consent_evidence(client_id, result.visa.card["id"])
    consent = result.evidence["consent"]
    steps.detail(
        f"{consent['status']} consent {consent['id']} (text {consent['text_version']}), "
        f"signed by {consent['signer_name']!r} at {consent['signed_at']}\n"
        f"from {consent['ip_address']} with {consent['user_agent']!r}\n"
        f"scope {json.dumps(consent['scope'])}, SetupIntent {consent['setup_intent_id']}"
    )
    expect(consent["status"] == "active", f"the consent is {consent['status']}, not active")
    expect(consent["signer_name"] == "Ann Client", f"the consent was signed by {consent['signer_name']!r}")

    steps.step("Charge a copay of USD 25.00: POST /clients/{id}/charges with an Idempotency-Key")
    result.charge_key = f"demo-copay-{run_id}"
    result.payment = s.charge(client_id, 2500, kind="copay", key=result.charge_key)
    payment = result.payment
    steps.detail(
        f"{payment['id']}: {payment['status']} · {money(payment['amount'], payment['currency'])} "
        f"· {payment['payment_intent_id']}"
    )
    expect(payment["status"] == "succeeded", f"the charge is {payment['status']}, not succeeded: {payment}")

    steps.step("The ledger: GET /clients/{id}/ledger")
    result.ledger = s.wait_for_ledger_entry(client_id, payment["id"])
    for entry in result.ledger["entries"]:
        amount = signed(entry["signed_amount"], result.ledger["currency"])
        steps.detail(f"{entry['posted_at']}  {entry['kind']:<8} {amount:>12}  {entry['payment_id']}")
    steps.detail(f"balance: {balance(result.ledger['balance'], result.ledger['currency'])}")

    steps.step(f"The receipt: GET /_local/emails?to={client_email}")
    result.receipt = s.wait_for_email(client_email, "Receipt")
    steps.detail(f"Subject: {result.receipt['subject']}")
    lines = [line for line in (result.receipt.get("text") or "").splitlines() if line.strip()]
    steps.detail("\n".join(f"| {line}" for line in lines[:6]))

    steps.step(f"A card that is declined on charge ({CARD_DECLINE_ON_CHARGE}), saved on a second set-up")
    result.declined_card = s.save_card(client_id, CARD_DECLINE_ON_CHARGE, signer_name="Ann Client")
    steps.detail(f"saved {_card_text(result.declined_card.card)}")
    result.declined = s.charge(client_id, 2500, kind="copay", card_id=result.declined_card.card["id"])
    d = result.declined
    steps.detail(
        f"{d['id']}: {d['status']} · error_code={d['error_code']} decline_code={d['decline_code']} · "
        f"{d['failure_message']!r}"
    )
    expect(d["status"] == "declined", f"expected a decline, got {d['status']}")
    expect(bool(d["decline_code"]), "the decline has no decline code")

    steps.step(f"A card that always needs 3-D Secure ({CARD_AUTH_ALWAYS})")
    result.auth_card = s.save_card(client_id, CARD_AUTH_ALWAYS, signer_name="Ann Client")
    steps.detail(
        f"saved {_card_text(result.auth_card.card)} "
        f"(set-up asked for authentication: {result.auth_card.authenticated})"
    )
    result.needs_action = s.charge(client_id, 4000, kind="session_fee", card_id=result.auth_card.card["id"])
    n = result.needs_action
    steps.detail(f"{n['id']}: {n['status']} · error_code={n['error_code']} decline_code={n['decline_code']}")
    expect(n["status"] == "requires_action", f"expected requires_action, got {n['status']}")
    result.auth_email = s.wait_for_email(client_email, "Please confirm")
    result.auth_url = authentication_link(result.auth_email)
    steps.detail(f"email: {result.auth_email['subject']}")
    steps.detail(f"link:  {result.auth_url}")
    result.auth_page_status = s.request("GET", result.auth_url, what="the authentication page").status_code
    steps.detail(f"the authentication page answers {result.auth_page_status}")

    result.seconds = time.monotonic() - started
    say(f"\nThe slice works end to end ({result.seconds:.1f}s).")
    return result


def gateway_from_state(path: Path) -> str:
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        raise SliceError(f"{path} not found: start the system first (`make run`) or pass --gateway") from None
    except ValueError as exc:
        raise SliceError(f"{path} is not valid JSON: {exc}") from None
    url = state.get("gateway_url")
    if not isinstance(url, str) or not url:
        raise SliceError(f"{path} has no gateway_url")
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.demo",
        description="Walk the Therabill slice end to end against the running local system.",
    )
    parser.add_argument("--gateway", default=None, help="the local API URL (default: from the state file)")
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE, help="the stack's state.json")
    args = parser.parse_args(argv)
    try:
        gateway = args.gateway or gateway_from_state(args.state)
        run_demo(gateway, lambda text: print(text, flush=True))
        from devstack.demo_invoices import run_invoices_demo  # invoices and the pay page

        run_invoices_demo(gateway, lambda text: print(text, flush=True))
        from devstack.demo_sessions import run_sessions_demo  # sessions and their money

        run_sessions_demo(gateway, lambda text: print(text, flush=True))
        from devstack.demo_nightly import run_nightly_demo  # the nightly run

        run_nightly_demo(gateway, lambda text: print(text, flush=True))
        from devstack.demo_people import run_people_demo  # sign-up, staff and the audit trail

        run_people_demo(gateway, lambda text: print(text, flush=True))
        from devstack.demo_insurance import run_insurance_demo  # coverage, eligibility, authorizations

        run_insurance_demo(gateway, lambda text: print(text, flush=True))

        from devstack.demo_shop import run_shop_demo  # the equipment store

        run_shop_demo(gateway, lambda text: print(text, flush=True))
    except SliceError as exc:
        print(f"\nDEMO FAILED: {exc}", file=sys.stderr, flush=True)
        return 1
    except requests.RequestException as exc:
        print(f"\nDEMO FAILED: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
