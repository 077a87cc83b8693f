"""The equipment store scenario of ``make demo``, over HTTP against the running system.

1. a practice connected to Stripe, its catalogue with stock (therapy putty, a wrist splint with
   tax, one last wrist rest), a client and a completed session;
2. the clinician sends a purchase link after the session: the client's email carries it;
3. the store page lists the recommended items first; the client buys two items with a new card
   (Stripe.js's confirmCardPayment against localstripe): the order is paid;
4. the stock, the itemised receipt (email with its PDF) and the ledger (revenue:products);
5. the last wrist rest, ordered by two clients at the same moment: one order holds it, the other
   client is told it is gone;
6. the stock report.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from devstack.demo_common import completed_session
from devstack.money_text import balance, money
from devstack.slice import CARD_VISA, Slice, SliceError, expect, poll


@dataclass
class ShopDemoResult:
    """What each step produced (the end-to-end tests assert on it)."""

    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    link_url: str = ""
    order: dict[str, Any] = field(default_factory=dict)
    receipt: dict[str, Any] = field(default_factory=dict)
    ledger: dict[str, Any] = field(default_factory=dict)
    race: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    stock: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


class StorePage:
    """What the store page's script does, over HTTP: order, confirm the card with Stripe.js."""

    def __init__(self, s: Slice, url: str) -> None:
        self.s = s
        self.url = url.rstrip("/")
        self.html = s.request("GET", self.url, what="the store page").text
        script = re.search(r'<script src="([^"]+)"', self.html)
        config = re.search(r"const CONFIG = (\{.*?\});\n", self.html)
        if not script or not config:
            raise SliceError("the store page loads no Stripe.js")
        self.localstripe = "{0.scheme}://{0.netloc}".format(urlsplit(script.group(1)))
        self.config = json.loads(config.group(1))

    def order(self, items: list[tuple[str, int]], expect: tuple[int, ...] = (200,)) -> tuple[int, Any]:
        body = {
            "items": [{"product_id": p, "quantity": q} for p, q in items],
            "method": "new_card",
            "request_id": uuid.uuid4().hex,
        }
        response = self.s.request(
            "POST", self.url + "/orders", json=body, expect=expect, what="POST …/orders"
        )
        return response.status_code, response.json()

    def pay(self, placed: dict[str, Any], name: str) -> dict[str, Any]:
        expect(bool(placed.get("client_secret")), f"no client secret to confirm: {placed}")
        self.s.confirm_card_payment(
            self.localstripe,
            publishable_key=self.config["pk"],
            client_secret=placed["client_secret"],
            number=CARD_VISA,
            name=name,
        )
        path = f"/orders/{placed['order_id']}/confirm"
        return dict(self.s.request("POST", self.url + path, json={}, what="POST …/confirm").json())


def _product(s: Slice, stock: int, **fields: Any) -> dict[str, Any]:
    made = s.staff("POST", "/shop/products", fields, expect=(201,))
    body = {"kind": "received", "quantity": stock}
    key = {"Idempotency-Key": f"demo-stock-{made['id']}"}
    return dict(s.staff("POST", f"/shop/products/{made['id']}/stock", body, expect=(201,), headers=key))


def _link(s: Slice, client_id: str, items: list[tuple[str, int]], session_id: str | None = None) -> str:
    body: dict[str, Any] = {
        "client_id": client_id,
        "items": [{"product_id": p, "quantity": q} for p, q in items],
    }
    if session_id:
        body["session_id"] = session_id
    return str(s.staff("POST", "/shop/purchase-links", body, expect=(201,))["url"])


def _completed_session(s: Slice, client_id: str, run_id: str) -> dict[str, Any]:
    service = s.staff(
        "POST",
        "/services",
        {"name": "Hand therapy", "cpt_code": "97110", "unit": "session", "unit_price": 9_000},
        expect=(201,),
    )
    key = f"demo-shop-session-{run_id}"
    return completed_session(s, client_id, service["id"], key=key, minutes=45)


# Long on purpose: the scenario's steps in order, each saying what it shows.
def run_shop_demo(gateway_url: str, say: Any = print, *, run_id: str | None = None) -> ShopDemoResult:
    """Every step over HTTP; raises :class:`SliceError` at the first failure."""
    from devstack.demo import _Steps  # the same numbered output as the first scenario

    run_id = run_id or uuid.uuid4().hex[:8]
    steps = _Steps(say)
    s = Slice(gateway_url)
    result = ShopDemoResult()
    started = time.monotonic()
    email = f"maya.{run_id}@client.example.com"

    steps.step("The store: a practice, its catalogue with stock, a client and a completed session")
    s.new_practice(f"Demo Store {run_id}", f"office.s{run_id}@practice.example.com")
    s.connect_and_onboard()
    putty = _product(
        s, 10, name="Therapy putty, medium", sku="PUTTY-M", price=1_250, hsa_fsa_eligible=True, low_stock_at=2
    )
    splint = _product(
        s, 5, name="Wrist splint", sku="SPLINT-W", price=4_000, hsa_fsa_eligible=True, tax_rate_bps=825
    )
    rest = _product(s, 1, name="Ergonomic wrist rest", sku="REST-1", price=2_900)
    result.products = {"putty": putty, "splint": splint, "rest": rest}
    for p in result.products.values():
        steps.detail(f"{p['sku']:<9} {money(p['price']):>10}  {p['available']} in stock")
    client = s.create_client("Maya", "Okafor", email)
    session = _completed_session(s, client["id"], run_id)
    steps.detail(f"{session['id']}: completed")

    steps.step("After the session the clinician sends a purchase link (POST /shop/purchase-links)")
    result.link_url = _link(s, client["id"], [(putty["id"], 2), (splint["id"], 1)], session["id"])
    mail = s.wait_for_email(email, "Items recommended for you")
    expect(result.link_url in (mail["text"] or ""), "the email carries no store link")
    steps.detail(f"email: {mail['subject']}")

    steps.step("The client opens the store page and pays for two items with a new card")
    page = StorePage(s, result.link_url)
    names = [n.strip() for n in re.findall(r'<h3 id="name-[^"]+">([^<]+)', page.html)]
    steps.detail(f"the page lists: {', '.join(names)} (recommended first)")
    expect(names[:2] == ["Therapy putty, medium", "Wrist splint"], f"the page lists {names}")
    _, placed = page.order([(putty["id"], 2), (splint["id"], 1)])
    steps.detail(f"order {placed['order_id']}: {placed['status']}, {money(placed['total'])}")
    result.order = page.pay(placed, "Maya Okafor")
    expect(result.order["status"] == "paid", f"the order is {result.order['status']}")
    steps.detail(f"order {result.order['order_id']}: {result.order['status']}")

    steps.step("The stock, the itemised receipt and the ledger")
    for key in ("putty", "splint"):
        now = s.staff("GET", f"/shop/products/{result.products[key]['id']}")
        steps.detail(f"{now['sku']:<9} on hand {now['on_hand']}, available {now['available']}")
    result.receipt = s.wait_for_email(email, "Your receipt")
    pdfs = [a for a in result.receipt["attachments"] if a["content_type"] == "application/pdf"]
    expect(len(pdfs) == 1, "the receipt carries no PDF")
    for line in (result.receipt["text"] or "").splitlines():
        if line.startswith("- ") or line.startswith(("Subtotal", "Tax", "Total", "Of which")):
            steps.detail(line)
    steps.detail(f"attached: {pdfs[0]['filename']} ({pdfs[0]['size']:,} bytes)")
    time.sleep(1.0)  # let payment_intent.succeeded through webhook → SQS → worker: it changes nothing
    result.ledger = s.ledger(client["id"])
    for e in result.ledger["entries"]:
        accounts = ", ".join(f"{ln['account']} {ln['amount']}" for ln in e["lines"])
        steps.detail(f"{e['kind']:<8} {money(e['amount']):>12}  {accounts}")
    steps.detail(f"balance: {balance(result.ledger['balance'])} (the session's, for the nightly run to bill)")
    sale = [
        e for e in result.ledger["entries"] if any(ln["account"] == "revenue:products" for ln in e["lines"])
    ]
    expect([e["amount"] for e in sale] == [result.order["total"]], "the sale is not on the ledger once")
    owed = session["price"]["amount"]
    expect(
        result.ledger["balance"] == owed,
        f"the balance is {result.ledger['balance']}, not the session's {owed}",
    )

    steps.step("The last wrist rest, ordered by two clients at the same moment")
    other = s.create_client("Leo", "Marsh", f"leo.{run_id}@client.example.com")
    pages = [StorePage(s, _link(s, c["id"], [(rest["id"], 1)])) for c in (client, other)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        result.race = list(pool.map(lambda p: p.order([(rest["id"], 1)], expect=(200, 409)), pages))
    for (status, body), who in zip(result.race, ("Maya", "Leo"), strict=True):
        steps.detail(f"{who}: {status} {body.get('status') or body.get('message')}")
    expect(sorted(status for status, _ in result.race) == [200, 409], f"the race ended {result.race}")
    winner = next(i for i, (status, _) in enumerate(result.race) if status == 200)
    paid = pages[winner].pay(result.race[winner][1], "Winner")
    steps.detail(f"the winner's order {paid['order_id']}: {paid['status']}")

    steps.step("The stock report (GET /shop/reports/stock)")

    def settled() -> list[dict[str, Any]] | None:
        rows = list(s.staff("GET", "/shop/reports/stock"))
        return rows if all(r["on_hand"] == r["available"] for r in rows) else None

    result.stock = poll(settled, timeout=s.wait, what="the stock settled")
    for r in result.stock:
        low = "  LOW" if r["low"] else ""
        steps.detail(f"{r['sku']:<9} on hand {r['on_hand']:>2}, available {r['available']:>2}{low}")
    result.seconds = time.monotonic() - started
    say(f"\nThe store works end to end ({result.seconds:.1f}s).")
    return result
