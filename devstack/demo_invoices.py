"""The invoices scenario of ``make demo``, over HTTP against the running system.

1. a practice connected to Stripe, a client with a name Latin-1 cannot hold, a completed session;
2. an invoice for the session, sent at once: the email carries the PDF and the pay link, the
   invoice number and the access code;
3. the pay page: a wrong access code is refused without saying anything about the invoice; the
   right one shows what is owed;
4. the client pays part of it with a new card (Stripe.js's confirmCardPayment against localstripe):
   the invoice stays Open with the rest due;
5. the client pays the rest: Paid; ``payment_intent.succeeded`` → webhook → SQS → worker changes
   nothing more;
6. the ledger and the payments report.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlsplit

from devstack.demo_common import completed_session
from devstack.money_text import balance, money
from devstack.slice import CARD_VISA, Slice, SliceError, expect, poll


@dataclass
class InvoicesDemoResult:
    """What each step produced (the end-to-end tests assert on it)."""

    practice: dict[str, Any] = field(default_factory=dict)
    client: dict[str, Any] = field(default_factory=dict)
    session: dict[str, Any] = field(default_factory=dict)
    invoice: dict[str, Any] = field(default_factory=dict)
    email: dict[str, Any] = field(default_factory=dict)
    pay_url: str = ""
    refused: dict[str, Any] = field(default_factory=dict)
    first: dict[str, Any] = field(default_factory=dict)
    second: dict[str, Any] = field(default_factory=dict)
    paid: dict[str, Any] = field(default_factory=dict)
    ledger: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


class PayPage:
    """What the pay page's script does, over HTTP: look up, pay, confirm with Stripe.js."""

    def __init__(self, s: Slice, url: str) -> None:
        self.s = s
        self.url = url.rstrip("/")
        html = s.request("GET", self.url, what="the pay page").text
        match = re.search(r'<script src="([^"]+)"', html)
        if not match:
            raise SliceError("the pay page loads no Stripe.js")
        src = match.group(1)
        parts = urlsplit(src)
        self.localstripe = f"{parts.scheme}://{parts.netloc}"

    def post(self, path: str, body: dict[str, Any], expect: tuple[int, ...] = (200,)) -> tuple[int, Any]:
        response = self.s.request("POST", self.url + path, json=body, expect=expect, what=f"POST …{path}")
        return response.status_code, response.json()

    def lookup(self, number: str, code: str, expect: tuple[int, ...] = (200,)) -> tuple[int, Any]:
        return self.post("/lookup", {"number": number, "access_code": code}, expect)

    def pay_new_card(self, view: dict[str, Any], amount: int, name: str) -> dict[str, Any]:
        _, started = self.post(
            "/pay", {"token": view["token"], "amount": amount, "request_id": uuid.uuid4().hex}
        )
        secret = started.get("client_secret")
        expect(bool(secret), f"no client secret to confirm: {started}")
        self.s.confirm_card_payment(
            self.localstripe,
            publishable_key=view["publishable_key"],
            client_secret=secret,
            number=CARD_VISA,
            name=name,
        )
        _, after = self.post(f"/payments/{started['payment_id']}/confirm", {"token": view["token"]})
        return dict(after)


def run_invoices_demo(gateway_url: str, say: Any = print, *, run_id: str | None = None) -> InvoicesDemoResult:
    """Every step over HTTP; raises :class:`SliceError` at the first failure."""
    from devstack.demo import _Steps  # the same numbered output as the first scenario

    run_id = run_id or uuid.uuid4().hex[:8]
    steps = _Steps(say)
    s = Slice(gateway_url)
    result = InvoicesDemoResult()
    started = time.monotonic()
    email = f"zoe.{run_id}@client.example.com"

    steps.step("Invoices: a practice, a client and a completed session")
    result.practice = s.new_practice(f"Demo Invoices {run_id}", f"office.i{run_id}@practice.example.com")
    s.connect_and_onboard()
    result.client = s.create_client("Zoë", "Łukasiewicz 王", email)
    client_id = result.client["id"]
    service = s.staff(
        "POST",
        "/services",
        {"name": "Therapy", "cpt_code": "90837", "unit": "session", "unit_price": 15_000},
        expect=(201,),
    )
    # A session that ended an hour ago: a session is completed only once it has ended.
    key = f"demo-invoice-session-{run_id}"
    result.session = completed_session(s, client_id, service["id"], key=key, minutes=50)
    session = result.session
    steps.detail(
        f"{session['id']}: completed, charge {money(result.session['price']['amount'])} on the ledger"
    )

    steps.step("An invoice for the session, sent at once (POST /invoices with send: true)")
    result.invoice = dict(
        s.staff(
            "POST",
            "/invoices",
            {"client_id": client_id, "kind": "session", "session_id": session["id"], "send": True},
            expect=(201,),
            headers={"Idempotency-Key": f"demo-invoice-{run_id}"},
        )
    )
    inv = result.invoice
    expect(inv["status"] == "open", f"the invoice is {inv['status']}")
    steps.detail(
        f"{inv['number']} ({inv['id']}): {inv['status']}, {money(inv['total'])}, due {inv['due_date']}"
    )
    result.email = s.wait_for_email(email, f"Invoice {inv['number']}")
    pdfs = [a for a in result.email["attachments"] if a["content_type"] == "application/pdf"]
    expect(len(pdfs) == 1, "the invoice email carries no PDF")
    steps.detail(f"email: {result.email['subject']}")
    steps.detail(f"attached: {pdfs[0]['filename']} ({pdfs[0]['size']:,} bytes)")
    match = re.search(r"Pay online at (\S+) with", result.email["text"] or "")
    expect(match is not None, "the email has no pay link")
    assert match is not None
    result.pay_url = match.group(1)
    steps.detail(f"pay at {result.pay_url} with {inv['number']} and access code {inv['access_code']}")

    steps.step("The pay page: a wrong access code, then the right one")
    page = PayPage(s, result.pay_url)
    wrong = f"{(int(inv['access_code']) + 1) % 1_000_000:06d}"
    status, result.refused = page.lookup(inv["number"], wrong, expect=(401,))
    steps.detail(f"wrong code → {status}: {result.refused['message']}")
    _, view = page.lookup(inv["number"], inv["access_code"])
    steps.detail(f"right code → balance {money(view['balance'])} ({view['status_label']})")

    steps.step("The client pays USD 60.00 with a new card (Stripe.js confirmCardPayment)")
    result.first = page.pay_new_card(view, 6_000, "Zoë Łukasiewicz")
    expect(result.first["balance"] == inv["total"] - 6_000, f"balance after part: {result.first['balance']}")
    steps.detail(f"{result.first['status_label']}, {money(result.first['balance'])} left")

    steps.step("The client pays the rest")
    result.second = page.pay_new_card(result.first, result.first["balance"], "Zoë Łukasiewicz")
    expect(result.second["status"] == "paid", f"the invoice is {result.second['status']}")
    steps.detail(f"{result.second['status_label']}, {money(result.second['balance'])} left")

    def settled() -> dict[str, Any] | None:
        current = dict(s.staff("GET", f"/invoices/{inv['id']}"))
        return current if current["status"] == "paid" else None

    result.paid = poll(settled, timeout=s.wait, what="the invoice paid")
    time.sleep(1.0)  # let the two payment_intent.succeeded events through webhook → SQS → worker
    result.paid = dict(s.staff("GET", f"/invoices/{inv['id']}"))
    expect(len(result.paid["payments"]) == 2, f"{len(result.paid['payments'])} payments on the invoice")
    for p in result.paid["payments"]:
        steps.detail(f"payment {p['payment_id']}: {money(p['amount'])}")

    steps.step("The ledger and the payments report")
    result.ledger = s.ledger(client_id)
    for e in result.ledger["entries"]:
        steps.detail(f"{e['kind']:<8} {money(e['amount']):>12}  {e['memo']}")
    steps.detail(f"balance: {balance(result.ledger['balance'])}")
    expect(result.ledger["balance"] == 0, f"the balance is {result.ledger['balance']}")
    paid_on = date.fromisoformat(result.paid["paid_at"][:10])  # UTC; the report takes local dates
    start, end = paid_on - timedelta(days=1), paid_on
    result.report = dict(s.staff("GET", f"/reports/payments?start={start}&end={end}"))
    steps.detail(
        f"payments {start}..{end}: {result.report['by_method']}, total {money(result.report['total'])}"
    )
    expect(result.report["total"] >= inv["total"], "the payments report misses the invoice's payments")

    result.seconds = time.monotonic() - started
    say(f"\nInvoices work end to end ({result.seconds:.1f}s).")
    return result
