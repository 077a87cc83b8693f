"""Paying a store order exactly once through the payments capability: a new card on the page
(the signed webhook through the real entry point, replayed) or a saved card within a consent that
covers products; the ledger's product revenue, the itemised receipt with its PDF, low stock."""

from __future__ import annotations

import email
import json
from datetime import timedelta
from typing import Any

import pytest

from tests.fakes.card_behaviour import INSUFFICIENT_FUNDS, set_charge_decline
from tests.integration.conftest import World
from tests.integration.scenario import Practice, create_client, create_practice, save_card
from tests.integration.test_shop_stock import checkout, product, reconcile
from therabill.core import keys
from therabill.core.clock import local_date
from therabill.core.ids import derived_id
from therabill.payments.gateway import GatewayRejectedError
from therabill.shop.errors import OrderStateError
from therabill.shop.models import Order, StockAdjustment


def order_of(world: World, practice: Practice, client_id: str, items: list[tuple[str, int]]) -> Order:
    return checkout(
        world,
        practice.id,
        client_id=client_id,
        owner_id=None,
        currency="usd",
        items=items,
        key=f"o-{client_id}",
    )


def receipts(world: World) -> list[email.message.Message]:
    found = [email.message_from_string(m.raw_data) for m in world.emails()]
    return [m for m in found if str(m["Subject"]).startswith("Your receipt")]


def text_of(msg: email.message.Message) -> str:
    parts = [p for p in msg.walk() if p.get_content_type() == "text/plain"]
    return "\n".join(p.get_payload(decode=True).decode() for p in parts)  # type: ignore[union-attr]


def ledger(world: World, practice: Practice, client_id: str) -> dict[str, Any]:
    status, body = world.staff("GET", f"/clients/{client_id}/ledger", practice_id=practice.id)
    assert status == 200, body
    return body


def test_a_new_card_pays_once_however_often_the_webhook_comes(world: World) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    putty = product(world, practice, stock=3)
    splint = product(
        world,
        practice,
        stock=2,
        name="Wrist splint",
        sku="SPLINT-W",
        price=4000,
        hsa_fsa_eligible=False,
        tax_rate_bps=825,
    )
    world.clock.now += timedelta(minutes=1)
    order = order_of(world, practice, client["id"], [(putty["id"], 2), (splint["id"], 1)])
    assert (order.subtotal, order.tax, order.total) == (6500, 330, 6830)  # 8.25 % of 40.00, half up
    shop = world.container.shop.paying
    p = world.container.practices.get(practice.id)
    _, payment, secret = shop.pay(p, order, "new_card")
    _, again, secret_again = shop.pay(p, world.container.shop.orders.get(practice.id, order.id), "new_card")
    assert secret and secret_again == secret and again.id == payment.id  # one payment per order
    since = len(world.stripe.events)
    world.stripe.pay_on_page(practice.account, secret)
    events = [json.dumps(e) for e in world.stripe.events[since:]]
    for body in events + events:  # delivered, then every event again
        assert world.webhook(body)[0] == 200
    world.drain_queue()
    for body in events:  # and the worker given the same events again (an SQS redelivery)
        assert world.worker([body])["batchItemFailures"] == []

    _, stored = world.staff("GET", f"/shop/orders/{order.id}", practice_id=practice.id)
    _, trail = world.staff("GET", "/audit", practice_id=practice.id, query={"client_id": client["id"]})
    assert [(r["action"], r["order_id"]) for r in trail["items"] if r["action"] == "order.read"] == [
        ("order.read", order.id)
    ]
    other = create_practice(world, connect=False)
    assert world.staff("GET", f"/shop/orders/{order.id}", practice_id=other.id)[0] == 404
    assert (stored["status"], stored["card_brand"], stored["card_last4"]) == ("paid", "visa", "4242")
    _, after = world.staff("GET", f"/shop/products/{putty['id']}", practice_id=practice.id)
    assert (after["on_hand"], after["available"]) == (1, 1)
    _, history = world.staff("GET", f"/shop/products/{putty['id']}/stock", practice_id=practice.id)
    assert [(a["kind"], a["quantity"]) for a in history] == [("received", 3), ("sold", -2)]
    books = ledger(world, practice, client["id"])
    sales = [e for e in books["entries"] if e["kind"] == "charge"]
    assert [
        (e["amount"], [ln for ln in e["lines"] if ln["account"].startswith("revenue")]) for e in sales
    ] == [(6830, [{"account": "revenue:products", "amount": -6830}])]
    assert books["balance"] == 0, books
    (receipt,) = receipts(world)
    text = text_of(receipt)
    assert receipt["To"].endswith("ann@client.test")
    assert "Therapy putty, medium (SKU PUTTY-M) [HSA/FSA]: 2 at USD 12.50 = USD 25.00" in text
    assert "Wrist splint (SKU SPLINT-W): 1 at USD 40.00 = USD 40.00" in text
    assert (
        "Tax: USD 3.30" in text and "Total paid: USD 68.30" in text and "HSA/FSA eligible: USD 25.00" in text
    )
    assert "Visa ending in 4242" in text and "Harbor Family Practice" in text
    pdf = [p for p in receipt.walk() if p.get_content_type() == "application/pdf"]
    assert len(pdf) == 1 and pdf[0].get_payload(decode=True).startswith(b"%PDF")  # type: ignore[union-attr]
    sent = [json.dumps(r.params) for r in world.stripe.requests_to("/v1/payment_intents")]
    assert sent and not any(
        word in s for s in sent for word in ("putty", "Putty", "splint", "Splint", "PUTTY")
    )
    assert any(order.id not in s and payment.id in s for s in sent)


def test_a_saved_card_within_a_product_consent_pays_at_once_and_low_stock_is_told(world: World) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"], kinds=["product"], max_amount=10_000)
    putty = product(world, practice, stock=3, low_stock_at=1)
    order = order_of(world, practice, client["id"], [(putty["id"], 2)])
    p = world.container.practices.get(practice.id)
    paid, payment, secret = world.container.shop.paying.pay(p, order, "saved_card")
    assert (paid.status, payment.status, payment.kind, secret) == ("paid", "succeeded", "product", None)
    assert (paid.card_brand, paid.card_last4) == ("visa", "4242")
    (receipt,) = receipts(world)
    assert "Visa ending in 4242" in text_of(receipt)
    low = [m for m in world.emails() if "Low stock: PUTTY-M" in m.raw_data]
    assert len(low) == 1 and "office@harbor.test" in low[0].raw_data
    assert ledger(world, practice, client["id"])["balance"] == 0


def test_a_declined_saved_card_releases_the_order_and_is_never_retried(world: World) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    card = save_card(world, practice, client["id"], kinds=["product"])
    item = world.container.table.get(keys.practice_pk(practice.id), keys.card_sk(client["id"], card["id"]))
    assert item is not None
    set_charge_decline(world.stripe, item["payment_method_id"], INSUFFICIENT_FUNDS)  # a retryable code
    putty = product(world, practice, stock=3)
    order = order_of(world, practice, client["id"], [(putty["id"], 2)])
    p = world.container.practices.get(practice.id)
    after, payment, _ = world.container.shop.paying.pay(p, order, "saved_card")
    assert (after.status, payment.status, payment.next_retry_at) == ("released", "declined", None)
    _, stock = world.staff("GET", f"/shop/products/{putty['id']}", practice_id=practice.id)
    assert stock["available"] == 3 and not receipts(world)


def test_returns_per_line_give_back_once_and_restock_what_comes_back(world: World) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"], kinds=["product"])
    putty = product(world, practice, stock=3)
    splint = product(
        world, practice, stock=1, name="Wrist splint", sku="SPLINT-W", price=4000, tax_rate_bps=825
    )
    order = order_of(world, practice, client["id"], [(putty["id"], 2), (splint["id"], 1)])
    p = world.container.practices.get(practice.id)
    paid, _, _ = world.container.shop.paying.pay(p, order, "saved_card")
    assert paid.status == "paid" and paid.total == 6830
    path = f"/shop/orders/{order.id}/returns"
    some = {
        "lines": [
            {"product_id": putty["id"], "quantity": 1},
            {"product_id": splint["id"], "quantity": 1, "restock": False},
        ]
    }
    key = {"Idempotency-Key": "return-0001"}
    status, body = world.staff("POST", path, some, practice_id=practice.id, role="front_desk", headers=key)
    assert status == 403, body
    for _ in range(2):  # the same key twice: one refund
        status, body = world.staff("POST", path, some, practice_id=practice.id, role="biller", headers=key)
        assert (status, body["status"], body["refunded_amount"]) == (201, "paid", 1250 + 4330), body
    refunds = world.stripe.requests_to("/v1/refunds", "POST")
    assert [int(r.params["amount"]) for r in refunds] == [5580]
    _, stock = world.staff("GET", f"/shop/products/{putty['id']}", practice_id=practice.id)
    _, splints = world.staff("GET", f"/shop/products/{splint['id']}", practice_id=practice.id)
    assert (stock["on_hand"], stock["available"], splints["on_hand"]) == (2, 2, 0)
    status, body = world.staff(
        "POST", path, some, practice_id=practice.id, headers={"Idempotency-Key": "return-0002"}
    )
    assert status == 400 and "only 0 units of a line can be given back" in body["message"], body
    status, body = world.staff(
        "POST", path, {}, practice_id=practice.id, headers={"Idempotency-Key": "return-0003"}
    )
    assert (status, body["status"], body["refunded_amount"]) == (201, "refunded", 6830), body
    _, stock = world.staff("GET", f"/shop/products/{putty['id']}", practice_id=practice.id)
    assert (stock["on_hand"], stock["available"]) == (3, 3)
    books = ledger(world, practice, client["id"])
    assert books["balance"] == 0
    # A sale given back is product revenue taken back (a return entry), never a write-off: the
    # ledger's revenue report and the store's sales report both say net 0, 68.30 refunded.
    by_account: dict[str, int] = {}
    for line in (ln for e in books["entries"] for ln in e["lines"]):
        by_account[line["account"]] = by_account.get(line["account"], 0) + line["amount"]
    assert (by_account["revenue:products"], by_account.get("adjustments", 0)) == (0, 0), by_account
    assert sorted(e["amount"] for e in books["entries"] if e["kind"] == "return") == [1250, 5580]
    day = local_date(world.clock.now, "America/New_York").isoformat()
    query = {"start": day, "end": day}
    _, revenue = world.staff("GET", "/reports/revenue", practice_id=practice.id, query=query)
    assert {k: revenue[k] for k in ("charges", "adjustments", "returns", "net_revenue", "refunds")} == {
        "charges": 6830,
        "adjustments": 0,
        "returns": 6830,
        "net_revenue": 0,
        "refunds": 6830,
    }, revenue
    status, report = world.staff(
        "GET", "/shop/reports/sales", practice_id=practice.id, query=query, role="clinician"
    )
    assert status == 403, report
    status, report = world.staff("GET", "/shop/reports/sales", practice_id=practice.id, query=query)
    assert status == 200 and report["orders"] == 1, report
    assert report["total"] == {
        "product_id": "",
        "sku": "",
        "name": "Total",
        "units_sold": 3,
        "units_returned": 3,
        "sales": 6500,
        "tax": 330,
        "refunded": 6830,
        "net": 0,
    }
    status, text = world.staff(
        "GET", "/shop/reports/sales", practice_id=practice.id, query={**query, "format": "csv"}
    )
    assert (
        status == 200
        and text.splitlines()[1] == 'PUTTY-M,"Therapy putty, medium",2,2,25.00,0.00,25.00,0.00,usd'
    )
    status, text = world.staff("GET", "/shop/reports/stock", practice_id=practice.id, query={"format": "csv"})
    assert text.splitlines()[1:] == [
        'PUTTY-M,"Therapy putty, medium",3,3,0,no,yes',
        "SPLINT-W,Wrist splint,0,0,0,yes,yes",
    ]
    status, rows = world.staff("GET", "/shop/reports/stock", practice_id=practice.id)
    assert status == 200 and [(r["sku"], r["available"], r["low"]) for r in rows] == [
        ("PUTTY-M", 3, False),
        ("SPLINT-W", 0, True),
    ]


def test_at_expiry_an_open_payment_is_cancelled_and_one_paid_meanwhile_pays_its_order(world: World) -> None:
    practice = create_practice(world)
    putty = product(world, practice, stock=3)
    p = world.container.practices.get(practice.id)
    unpaid, paid = (
        order_of(
            world,
            practice,
            create_client(world, practice, email=f"{n}@client.test")["id"],
            [(putty["id"], 1)],
        )
        for n in ("ann", "bea")
    )
    _, left_open, _ = world.container.shop.paying.pay(p, unpaid, "new_card")
    _, _, secret = world.container.shop.paying.pay(p, paid, "new_card")
    assert secret is not None
    since = len(world.stripe.events)
    world.stripe.pay_on_page(practice.account, secret)  # the webhook has not come yet
    world.clock.now += timedelta(minutes=16)
    reconcile(world)
    orders = world.container.shop.orders
    assert orders.get(practice.id, unpaid.id).status == "released"
    assert world.container.payments.get(practice.id, left_open.id).status == "canceled"
    assert orders.get(practice.id, paid.id).status == "paid"
    world.deliver_stripe_events(since=since)  # the late webhook changes nothing
    _, stock = world.staff("GET", f"/shop/products/{putty['id']}", practice_id=practice.id)
    assert (stock["on_hand"], stock["available"]) == (2, 2)
    assert len(receipts(world)) == 1


def test_a_receipt_that_cannot_be_sent_fails_the_event_and_the_redelivery_finishes_once(world: World) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    putty = product(world, practice, stock=3)
    p = world.container.practices.get(practice.id)
    order = order_of(world, practice, client["id"], [(putty["id"], 1)])
    _, _, secret = world.container.shop.paying.pay(p, order, "new_card")
    assert secret is not None
    since = len(world.stripe.events)
    world.stripe.pay_on_page(practice.account, secret)
    world.mail.fail_next()
    for event in world.stripe.events[since:]:
        assert world.webhook(json.dumps(event))[0] == 200
    first = world.drain_queue()
    assert first[-1]["batchItemFailures"], first  # the event failed: SQS gives it again
    assert not receipts(world)
    world.drain_queue()
    assert len(receipts(world)) == 1
    books = ledger(world, practice, client["id"])
    assert [e["amount"] for e in books["entries"] if e["kind"] == "charge"] == [1250] and books[
        "balance"
    ] == 0


def test_a_return_beyond_what_is_left_to_refund_records_nothing_and_free_lines_only_restock(
    world: World,
) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"], kinds=["product"])
    putty = product(world, practice, stock=5)
    sample = product(world, practice, stock=5, name="Sample", sku="FREE-1", price=0)
    order = order_of(world, practice, client["id"], [(putty["id"], 2), (sample["id"], 1)])
    paid, _, _ = world.container.shop.paying.pay(
        world.container.practices.get(practice.id), order, "saved_card"
    )
    assert (paid.status, paid.total) == ("paid", 2500)
    status, staff_refund = world.staff(
        "POST",
        f"/clients/{client['id']}/payments/{paid.payment_id}/refunds",
        {"amount": 1000},
        practice_id=practice.id,
        headers={"Idempotency-Key": "goodwill-01"},
    )
    assert (status, staff_refund["status"]) == (201, "succeeded"), staff_refund
    path = f"/shop/orders/{order.id}/returns"
    for _ in range(2):  # a retry is refused the same way
        status, body = world.staff(
            "POST", path, {}, practice_id=practice.id, headers={"Idempotency-Key": "ret-00002"}
        )
        assert status == 409 and body["details"] == {"amount": 2500, "remaining": 1500}, body
        assert (
            body["message"]
            == "this return gives back USD 25.00 but only USD 15.00 of the payment is left to refund"
        )
    _, now = world.staff("GET", f"/shop/orders/{order.id}", practice_id=practice.id)
    assert (now["status"], now["refunded_amount"], [ln["returned"] for ln in now["lines"]]) == (
        "paid",
        0,
        [0, 0],
    )
    _, stock = world.staff("GET", f"/shop/products/{putty['id']}", practice_id=practice.id)
    assert (stock["on_hand"], stock["available"]) == (3, 3)

    free = {"lines": [{"product_id": sample["id"], "quantity": 1}]}
    for _ in range(2):
        status, body = world.staff(
            "POST", path, free, practice_id=practice.id, headers={"Idempotency-Key": "ret-00003"}
        )
        assert (status, body["refunded_amount"], [ln["returned"] for ln in body["lines"]]) == (
            201,
            0,
            [0, 1],
        ), body
    assert [int(r.params["amount"]) for r in world.stripe.requests_to("/v1/refunds", "POST")] == [1000]
    _, samples = world.staff("GET", f"/shop/products/{sample['id']}", practice_id=practice.id)
    assert (samples["on_hand"], samples["available"]) == (5, 5)  # sold one, given back one


def practice_mail(world: World, order_id: str) -> list[str]:
    found = [email.message_from_string(m.raw_data) for m in world.emails()]
    return [text_of(m) for m in found if m["Subject"] == f"Refund failed for order {order_id}"]


def test_a_refund_the_processor_rejects_marks_the_return_failed_and_restocks_nothing(
    world: World, monkeypatch: Any
) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"], kinds=["product"])
    putty = product(world, practice, stock=5)
    order = order_of(world, practice, client["id"], [(putty["id"], 2)])
    world.container.shop.paying.pay(world.container.practices.get(practice.id), order, "saved_card")

    def rejected(**_: Any) -> None:
        raise GatewayRejectedError("charge_already_refunded")

    monkeypatch.setattr(world.container.refunds._gateway, "refund", rejected)
    path = f"/shop/orders/{order.id}/returns"
    for _ in range(2):  # the same key again: the same answer, nothing restocked
        status, body = world.staff(
            "POST", path, {}, practice_id=practice.id, headers={"Idempotency-Key": "ret-00004"}
        )
        assert status == 409 and body["message"] == (
            "the card refund failed, so the return is marked refund_failed and nothing was restocked"
        ), body
    _, now = world.staff("GET", f"/shop/orders/{order.id}", practice_id=practice.id)
    assert (now["status"], now["refunded_amount"], now["lines"][0]["returned"]) == ("paid", 0, 0)
    assert [(r["amount"], r["status"]) for r in now["returns"]] == [(2500, "refund_failed")]
    _, stock = world.staff("GET", f"/shop/products/{putty['id']}", practice_id=practice.id)
    assert (stock["on_hand"], stock["available"]) == (3, 3)
    assert len(practice_mail(world, order.id)) == 1
    monkeypatch.undo()
    status, body = world.staff(
        "POST", path, {}, practice_id=practice.id, headers={"Idempotency-Key": "ret-00005"}
    )
    assert (status, body["status"], body["refunded_amount"]) == (201, "refunded", 2500), body


def test_a_refund_stripe_fails_later_undoes_the_return_once_and_takes_its_restock_back(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"], kinds=["product"])
    putty = product(world, practice, stock=5)
    order = order_of(world, practice, client["id"], [(putty["id"], 2)])
    paid, payment, _ = world.container.shop.paying.pay(
        world.container.practices.get(practice.id), order, "saved_card"
    )
    path = f"/shop/orders/{order.id}/returns"
    world.stripe.fail_next(1, kind="5xx", path="/v1/refunds")  # no answer: the refund stays pending
    status, body = world.staff(
        "POST", path, {}, practice_id=practice.id, headers={"Idempotency-Key": "ret-00006"}
    )
    assert (status, body["status"], body["refunded_amount"]) == (202, "refunded", 2500), body
    _, stock = world.staff("GET", f"/shop/products/{putty['id']}", practice_id=practice.id)
    assert (stock["on_hand"], stock["available"]) == (5, 5)  # restocked while the refund is pending
    return_id = derived_id("ret", practice.id, order.id, "ret-00006")
    refund_id = derived_id("rfd", practice.id, f"order-return:{return_id}")
    failed = {
        "id": "re_failed_1",
        "object": "refund",
        "status": "failed",
        "failure_reason": "expired_or_canceled_card",
        "amount": 2500,
        "currency": "usd",
        "payment_intent": payment.payment_intent_id,
        "metadata": {"therabill_refund_id": refund_id},
    }
    for n, kind in enumerate(["refund.updated", "refund.updated", "refund.failed"]):
        event = {
            "id": f"evt_refund_failed_{min(n, 1)}",  # the first twice (a redelivery), then another
            "object": "event",
            "type": kind,
            "account": practice.account,
            "created": int(world.clock().timestamp()),
            "data": {"object": failed},
        }
        assert world.webhook(json.dumps(event))[0] == 200
        world.drain_queue()
    _, now = world.staff("GET", f"/shop/orders/{order.id}", practice_id=practice.id)
    assert (now["status"], now["refunded_amount"], now["lines"][0]["returned"]) == ("paid", 0, 0)
    assert [(r["id"], r["status"]) for r in now["returns"]] == [(return_id, "refund_failed")]
    _, history = world.staff("GET", f"/shop/products/{putty['id']}/stock", practice_id=practice.id)
    assert sorted((a["kind"], a["quantity"], a["note"]) for a in history) == [
        ("correction", -2, "the return's card refund failed: its restock taken back"),
        ("received", 5, ""),
        ("returned", 2, ""),
        ("sold", -2, ""),
    ]
    _, stock = world.staff("GET", f"/shop/products/{putty['id']}", practice_id=practice.id)
    assert (stock["on_hand"], stock["available"]) == (3, 3)
    told = practice_mail(world, order.id)
    assert len(told) == 1 and f"order {order.id} failed" in told[0] and "Therapy putty" not in told[0]
    assert "The 2 units it had put back in stock were taken out again." in told[0]
    books = ledger(world, practice, client["id"])
    assert [e["kind"] for e in books["entries"] if e["kind"] in ("refund", "return", "adjustment")] == []
    assert books["balance"] == 0
    day = local_date(world.clock.now, "America/New_York").isoformat()
    _, report = world.staff(
        "GET", "/shop/reports/sales", practice_id=practice.id, query={"start": day, "end": day}
    )
    assert (report["total"]["units_returned"], report["total"]["refunded"], report["total"]["net"]) == (
        0,
        0,
        2500,
    )
    # A restock racing the failure (written after the mark) is refused, the stock unchanged.
    store = world.container.shop.returns._store
    late = StockAdjustment(
        id="adj_late", product_id=putty["id"], kind="returned", quantity=2, at=world.clock(), by="x"
    )
    with pytest.raises(OrderStateError):
        store.adjust(practice.id, late, only_if=store.restock_check(practice.id, order.id, return_id))
    assert store.get_product(practice.id, putty["id"]).on_hand == 3
    # Tried again under a new key: the card is refunded this time, the units go back once more.
    status, body = world.staff(
        "POST", path, {}, practice_id=practice.id, headers={"Idempotency-Key": "ret-00007"}
    )
    assert (status, body["status"], body["refunded_amount"]) == (201, "refunded", 2500), body
    _, stock = world.staff("GET", f"/shop/products/{putty['id']}", practice_id=practice.id)
    assert (stock["on_hand"], stock["available"]) == (5, 5)
    assert paid.status == "paid"
    # A refund that succeeded and is reported failed afterwards is undone too: the return no longer
    # counts, its restock is taken back, and the ledger has the sale again (the money stayed).
    again = derived_id(
        "rfd", practice.id, f"order-return:{derived_id('ret', practice.id, order.id, 'ret-00007')}"
    )
    event["id"], event["data"] = (
        "evt_refund_failed_2",
        {"object": {**failed, "metadata": {"therabill_refund_id": again}}},
    )
    assert world.webhook(json.dumps(event))[0] == 200
    world.drain_queue()
    books = ledger(world, practice, client["id"])
    assert books["balance"] == 0
    assert "a succeeded refund was reported failed; undone" in caplog.messages
    _, now = world.staff("GET", f"/shop/orders/{order.id}", practice_id=practice.id)
    assert (now["status"], now["refunded_amount"]) == ("paid", 0)
    assert {r["status"] for r in now["returns"]} == {"refund_failed"}
    _, stock = world.staff("GET", f"/shop/products/{putty['id']}", practice_id=practice.id)
    assert (stock["on_hand"], stock["available"]) == (3, 3)
    _, report = world.staff(
        "GET", "/shop/reports/sales", practice_id=practice.id, query={"start": day, "end": day}
    )
    assert (report["total"]["units_returned"], report["total"]["net"]) == (0, 2500)
