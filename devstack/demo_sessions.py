"""The second ``make demo`` scenario: sessions and their money, over HTTP against the running system.

1. a practice with a cancellation policy (24 h window, 50 % late-cancellation fee) and a
   per-minute service that asks cash-pay clients for a deposit at booking;
2. an insured client (billing type insurance, a primary coverage with a USD 25.00 copay: no
   deposit by the service's rule), a card on file and
   the practice's own rule for this client: a USD 10.00 deposit at every booking;
3. a booking that waits for its deposit; the client pays it on the page the email links to
   (Stripe.js against localstripe); ``payment_intent.succeeded`` confirms the booking and the
   deposit becomes the client's credit;
4. check-in: the deposit credit pays part of the copay (credits apply automatically to the next
   amount due) and the card on file the rest (receipt emailed);
5. the session completes after 52 minutes: priced per minute; insured, the client owes only the
   copay (the price is the insurance claim's, not posted to the client's account);
6. a second booking cancelled 3 hours before its start: the policy's fee is charged to the card
   and the client is told the fee and the policy;
7. the fee is refunded as goodwill and written off (the client does not owe it again);
8. the ledger, entry by entry, with each billing party account's balances.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from devstack.demo_common import demo_clinician, utc_z
from devstack.money_text import balance, money, signed
from devstack.slice import CARD_VISA, Slice, SliceError, expect, poll

PER_MINUTE_CENTS = 300  # 3.00 a minute
COPAY = 2_500
DEPOSIT_BPS = 2_000  # the service's rule for cash-pay clients: 20 % of the scheduled price
DEPOSIT_FLAT = 1_000  # this client's own rule: 10.00 at every booking
POLICY = {
    "late_cancellation": {
        "window_hours": 24,
        "tiers": [{"within_hours": 24, "fee": {"kind": "percent", "basis_points": 5_000}}],
    }
}


@dataclass
class SessionsDemoResult:
    """What each step produced (the end-to-end tests assert on it)."""

    practice: dict[str, Any] = field(default_factory=dict)
    service: dict[str, Any] = field(default_factory=dict)
    client: dict[str, Any] = field(default_factory=dict)
    booked: dict[str, Any] = field(default_factory=dict)
    deposit: dict[str, Any] = field(default_factory=dict)
    confirmed: dict[str, Any] = field(default_factory=dict)
    checked_in: dict[str, Any] = field(default_factory=dict)
    completed: dict[str, Any] = field(default_factory=dict)
    cancelled: dict[str, Any] = field(default_factory=dict)
    fee_notice: dict[str, Any] = field(default_factory=dict)
    refund: dict[str, Any] = field(default_factory=dict)
    ledger: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def _book(s: Slice, client_id: str, service_id: str, start: datetime, key: str) -> dict[str, Any]:
    body = {
        "client_id": client_id,
        "service_id": service_id,
        "clinician_id": demo_clinician(s),
        "scheduled_start": utc_z(start),
        "scheduled_end": utc_z(start + timedelta(minutes=50)),
    }
    return dict(s.staff("POST", "/sessions", body, expect=(201,), headers={"Idempotency-Key": key}))


def booking_link(mail: dict[str, Any]) -> str:
    """The ``/pay/booking/{token}`` link in a deposit email's text."""
    text = mail.get("text") or mail.get("html") or ""
    match = re.search(r"https?://\S+/pay/booking/[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+", text)
    if not match:
        raise SliceError(f"no /pay/booking/ link in {mail.get('subject')!r}")
    return match.group(0)


def booking_mail(s: Slice, to: str, session_id: str, seen: set[str]) -> dict[str, Any]:
    """The deposit email of this booking: the first new email to ``to`` with a pay link."""

    def found() -> dict[str, Any] | None:
        for mail in s.emails(to):
            text = mail.get("text") or mail.get("html") or ""
            if "/pay/booking/" in text and mail.get("id", mail.get("subject", "")) not in seen:
                return mail
        return None

    mail = poll(found, timeout=s.wait, what=f"the deposit email of {session_id}")
    seen.add(mail.get("id", mail.get("subject", "")))
    return mail


def pay_on_page(s: Slice, link: str, number: str, *, name: str) -> dict[str, Any]:
    """What the booking page's script does: read its configuration, then Stripe.js's
    ``confirmCardPayment`` with the card element's values (the launcher's on-page confirm)."""
    html = s.request("GET", link, what="the booking pay page").text
    config_match = re.search(r"const CONFIG = (\{.*?\});", html)
    script_match = re.search(r'<script src="([^"]+)"', html)
    if not config_match or not script_match:
        raise SliceError("the booking pay page has no payment form")
    config = json.loads(config_match.group(1))
    parts = urlsplit(script_match.group(1))
    return s.confirm_card_payment(
        f"{parts.scheme}://{parts.netloc}",
        publishable_key=str(config["pk"]),
        client_secret=str(config["secret"]),
        number=number,
        name=name,
    )


def run_sessions_demo(gateway_url: str, say: Any = print, *, run_id: str | None = None) -> SessionsDemoResult:
    """Every step over HTTP; raises :class:`SliceError` at the first failure."""
    from devstack.demo import _Steps  # the same numbered output as the first scenario

    run_id = run_id or uuid.uuid4().hex[:8]
    steps = _Steps(say)
    s = Slice(gateway_url)
    result = SessionsDemoResult()
    started = time.monotonic()
    email = f"sam.{run_id}@client.example.com"

    steps.step("Sessions and their money: a practice with a cancellation policy")
    result.practice = s.new_practice(f"Demo Sessions {run_id}", f"office.s{run_id}@practice.example.com")
    s.connect_and_onboard()
    s.staff("PUT", "/practice/cancellation-policy", POLICY)
    steps.detail("late cancellation: within 24 h of the start, 50 % of the session's price")

    steps.step("A per-minute service (USD 3.00 a minute); cash-pay bookings of it take a 20 % deposit")
    result.service = dict(
        s.staff(
            "POST",
            "/services",
            {"name": "Therapy by the minute", "cpt_code": "90837", "unit": "minute", "unit_price": 300},
            expect=(201,),
        )
    )
    service_id = result.service["id"]
    s.staff(
        "PUT",
        f"/services/{service_id}/booking-payment",
        {"rule": {"kind": "deposit", "deposit_percent_bps": DEPOSIT_BPS}},
    )
    steps.detail(f"{service_id}: deposit 20 % of the scheduled price")

    steps.step(f"A client with a {money(COPAY)} copay and a card on file ({CARD_VISA})")
    result.client = s.create_client("Sam", "Rivera", email)
    client_id = result.client["id"]
    s.staff("PATCH", f"/clients/{client_id}", {"billing_type": "insurance"})
    s.staff(
        "POST",
        f"/clients/{client_id}/coverage",
        {"payer": {"id": "60054", "name": "Aetna"}, "member_id": "W000000001", "copay_override": COPAY},
        expect=(201,),
    )
    card = s.save_card(client_id, CARD_VISA, signer_name="Sam Rivera")
    steps.detail(f"{client_id}: card {card.card['brand']} …{card.card['last4']} with consent")
    # An insured client is asked no deposit by service rules; the practice asks
    # this client for one all the same, by a per-client override.
    s.staff(
        "PUT",
        f"/clients/{client_id}/booking-payment",
        {"rule": {"kind": "deposit", "deposit_amount": DEPOSIT_FLAT}},
    )
    steps.detail(f"per-client override: a {money(DEPOSIT_FLAT)} deposit at every booking")

    steps.step("Book: the session waits for its deposit (POST /sessions with an Idempotency-Key)")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=30)
    result.booked = _book(s, client_id, service_id, start, f"demo-book-{run_id}")
    hold = result.booked.get("booking_payment") or {}
    steps.detail(
        f"{result.booked['id']}: {result.booked['status']}; {hold.get('kind')} of "
        f"{money(int(hold.get('amount_due') or 0))} due, slot held until {hold.get('hold_expires_at')}"
    )
    expect(result.booked["status"] == "awaiting_payment", f"expected awaiting_payment: {result.booked}")

    steps.step("The client pays the deposit on the page the email links to (Stripe.js)")
    seen: set[str] = set()
    mail = booking_mail(s, email, result.booked["id"], seen)
    link = booking_link(mail)
    steps.detail(f"email: {mail['subject']}\nlink:  {link}")
    result.deposit = pay_on_page(s, link, CARD_VISA, name="Sam Rivera")
    steps.detail(f"PaymentIntent {result.deposit.get('id')}: {result.deposit.get('status')}")

    def confirmed() -> dict[str, Any] | None:
        session = dict(s.staff("GET", f"/sessions/{result.booked['id']}"))
        return session if session["status"] == "booked" else None

    result.confirmed = poll(confirmed, timeout=s.wait, what="the booking confirmed by its payment")
    steps.detail(f"payment_intent.succeeded → webhook → SQS → worker: {result.confirmed['status']}")

    steps.step("Check in: the deposit credit pays part of the copay, the card on file the rest")
    result.checked_in = dict(s.staff("POST", f"/sessions/{result.booked['id']}/check-in"))
    copay = result.checked_in["copay"]
    expect(copay["status"] == "charged", f"the copay is {copay['status']}")
    paid = s.staff("GET", f"/clients/{client_id}/payments/{copay['payment_id']}")
    steps.detail(
        f"copay {money(copay['amount'])}: {money(DEPOSIT_FLAT)} from the deposit credit, "
        f"{money(paid['amount'])} charged to the card ({paid['id']}: {paid['status']})"
    )
    expect(paid["amount"] == COPAY - DEPOSIT_FLAT, f"the card was charged {paid['amount']}")

    steps.step("Complete after 52 minutes: priced per minute (insured: the price is the claim's)")
    actual_start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=52)
    body = {"actual_start": utc_z(actual_start), "actual_end": utc_z(actual_start + timedelta(minutes=52))}
    result.completed = dict(s.staff("POST", f"/sessions/{result.booked['id']}/complete", body))
    price = result.completed["price"]
    steps.detail(f"{price['units']} minutes at {money(price['unit_price'])} = {money(price['amount'])}")
    expect(price["amount"] == 52 * PER_MINUTE_CENTS, f"expected 52 minutes, got {price}")

    steps.step("A second booking, cancelled by the client 3 hours before its start")
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    second = _book(s, client_id, service_id, soon, f"demo-book2-{run_id}")
    if second["status"] == "awaiting_payment":  # the deposit again, from its own page
        second_mail = booking_mail(s, email, second["id"], seen)
        pay_on_page(s, booking_link(second_mail), CARD_VISA, name="Sam Rivera")
        poll(
            lambda: s.staff("GET", f"/sessions/{second['id']}")["status"] == "booked" or None,
            timeout=s.wait,
            what="the second booking confirmed",
        )
        steps.detail("its deposit paid on its own page; confirmed")
    result.cancelled = dict(s.staff("POST", f"/sessions/{second['id']}/cancel", {"cancelled_by": "client"}))
    fee = result.cancelled["fee"]
    steps.detail(f"fee {money(fee['amount'])} ({fee['reason']}): {fee['status']}")
    steps.detail(fee["explanation"])
    expect(fee["status"] == "charged" and fee["amount"] > 0, f"the fee is {fee}")
    result.fee_notice = s.wait_for_email(email, "Cancellation policy fee")
    steps.detail(f"email: {result.fee_notice['subject']}")

    steps.step("Refund the fee as goodwill, written off: POST /clients/{id}/payments/{payment}/refunds")
    result.refund = dict(
        s.staff(
            "POST",
            f"/clients/{client_id}/payments/{fee['payment_id']}/refunds",
            {"memo": "goodwill", "write_off": True},
            expect=(201, 202),
            headers={"Idempotency-Key": f"demo-refund-{run_id}"},
        )
    )
    steps.detail(f"{result.refund['id']}: {result.refund['status']} {money(result.refund['amount'])}")

    def refunded() -> dict[str, Any] | None:
        ledger = s.ledger(client_id)
        return ledger if any(e["kind"] == "refund" for e in ledger["entries"]) else None

    result.ledger = poll(refunded, timeout=s.wait, what="the refund on the ledger")

    steps.step("The ledger: GET /clients/{id}/ledger")
    steps.detail(f"{'posted (UTC)':<19}  {'kind':<10} {'method':<7} {'amount':>9}  {'owed':>9}  memo")
    for entry in result.ledger["entries"]:
        steps.detail(
            f"{entry['posted_at'][:19]}  {entry['kind']:<10} {entry.get('method') or '':<7}"
            f" {money(entry['amount']):>9}  {signed(entry['signed_amount']):>9}  {entry['memo']}"
        )
    steps.detail(f"balance: {balance(result.ledger['balance'], result.ledger['currency'])}")
    for account in result.ledger.get("accounts", []):
        steps.detail(
            f"payer {account.get('owner_id') or client_id}: receivable {money(account['receivable'])},"
            f" credit {money(account['credit'])}"
        )
    result.seconds = time.monotonic() - started
    say(f"\nSessions and their money work end to end ({result.seconds:.1f}s).")
    return result
