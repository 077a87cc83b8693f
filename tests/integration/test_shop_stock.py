"""The equipment store's catalogue, stock and reservations, through the staff API and the
store's service against moto: no unit is sold twice, unpaid reservations come back."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from devstack.apigw import LambdaContext, scheduled_event

from tests.integration.conftest import World
from tests.integration.scenario import Practice, create_client, create_practice
from therabill.core.errors import TherabillError
from therabill.shop.errors import OutOfStockError
from therabill.shop.models import Order

PUTTY = {"name": "Therapy putty, medium", "sku": "PUTTY-M", "price": 1250, "hsa_fsa_eligible": True}


def checkout(world: World, practice_id: str, **order: Any) -> Order:
    """An order drafted and reserved, as the store page's checkout does (``Storefront.place``)."""
    orders = world.container.shop.orders
    return orders.reserve(practice_id, orders.draft(practice_id, **order))


def product(world: World, practice: Practice, stock: int = 0, **fields: Any) -> dict[str, Any]:
    status, body = world.staff("POST", "/shop/products", {**PUTTY, **fields}, practice_id=practice.id)
    assert status == 201, body
    if stock:
        status, body = world.staff(
            "POST",
            f"/shop/products/{body['id']}/stock",
            {"kind": "received", "quantity": stock},
            practice_id=practice.id,
            headers={"Idempotency-Key": f"receive-{body['id']}"},
        )
        assert status == 201, body
    return body


def reconcile(world: World) -> None:
    world.handler("payments_reconciler")(scheduled_event("payments-reconciler"), LambdaContext("r"))


class _Serialised:
    """DynamoDB applies each request atomically; moto under threads does not (a transaction
    restores a copy of the whole table on failure). One request at a time models the service."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attr(*args, **kwargs)

        return call


def test_catalogue_and_stock_by_role_with_history(world: World) -> None:
    practice = create_practice(world, connect=False)
    status, body = world.staff("POST", "/shop/products", PUTTY, practice_id=practice.id, role="front_desk")
    assert status == 403, body
    status, body = world.staff("POST", "/shop/products", {**PUTTY, "price": "12.50"}, practice_id=practice.id)
    assert status == 400 and "price" in str(body), body
    putty = product(world, practice, stock=10)
    assert (putty["on_hand"], putty["available"], putty["currency"]) == (10, 10, "usd")
    again = {"kind": "received", "quantity": 10}
    key = {"Idempotency-Key": f"receive-{putty['id']}"}
    path = f"/shop/products/{putty['id']}/stock"
    status, body = world.staff("POST", path, again, practice_id=practice.id, headers=key)
    assert (status, body["on_hand"], body["available"]) == (201, 10, 10)  # the same key: once
    status, body = world.staff(
        "POST",
        path,
        {"kind": "received", "quantity": 0},
        practice_id=practice.id,
        headers={"Idempotency-Key": "zero-0001"},
    )
    assert status == 400 and "quantity must be at least 1" in str(body), body
    damaged = {"kind": "damaged", "quantity": 11}
    status, body = world.staff(
        "POST", path, damaged, practice_id=practice.id, headers={"Idempotency-Key": "dmg-0001"}
    )
    assert status == 409 and body["details"]["available"] == 10, body
    damaged["quantity"] = 2
    world.clock.now += timedelta(minutes=1)
    status, body = world.staff(
        "POST", path, damaged, practice_id=practice.id, headers={"Idempotency-Key": "dmg-0002"}
    )
    assert (status, body["on_hand"], body["available"]) == (201, 8, 8)
    status, history = world.staff("GET", path, practice_id=practice.id, role="clinician")
    assert [(a["kind"], a["quantity"]) for a in history] == [("received", 10), ("damaged", -2)]
    status, body = world.staff(
        "PATCH", f"/shop/products/{putty['id']}", {"price": 1400, "available": 99}, practice_id=practice.id
    )
    assert status == 400, body  # stock moves only by adjustments
    status, body = world.staff(
        "PATCH",
        f"/shop/products/{putty['id']}",
        {"active": None, "tax_rate_bps": None},
        practice_id=practice.id,
    )
    assert status == 400 and "active may not be null" in str(body), body
    status, body = world.staff(
        "PATCH", f"/shop/products/{putty['id']}", {"tax_rate_bps": None}, practice_id=practice.id
    )
    assert (status, body["tax_rate_bps"], body["active"]) == (200, None, True), body
    other = create_practice(world, connect=False)
    status, body = world.staff("GET", f"/shop/products/{putty['id']}", practice_id=other.id)
    assert status == 404, body


def test_twenty_buyers_for_three_units_make_three_paid_orders(world: World) -> None:
    practice = create_practice(world)
    splint = product(world, practice, stock=3, name="Wrist splint", sku="SPLINT-W")
    service = world.container.clients  # twenty clients, made straight through the service (faster)
    clients = [service.create(practice.id, first_name=f"B{i}", last_name="Buyer").id for i in range(20)]
    world.dynamo._inner = _Serialised(world.dynamo._inner)
    orders = world.container.shop.orders

    def buy(client_id: str) -> str:
        try:
            order = checkout(
                world,
                practice.id,
                client_id=client_id,
                owner_id=None,
                currency="usd",
                items=[(splint["id"], 1)],
                key=f"buy-{client_id}",
            )
        except OutOfStockError as exc:
            assert exc.details == {"product_id": splint["id"], "available": 0, "wanted": 1}
            assert exc.message == "only 0 left of an item chosen; 1 asked for"  # no product named
            return "out of stock"
        except TherabillError as exc:  # pragma: no cover - shown if it happens
            return type(exc).__name__
        return order.id

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(buy, clients))
    won = [o for o in outcomes if o.startswith("ord_")]
    assert len(won) == 3 and outcomes.count("out of stock") == 17, outcomes
    p = world.container.practices.get(practice.id)
    for order_id in won:
        _, _, secret = world.container.shop.paying.pay(p, orders.get(practice.id, order_id), "new_card")
        assert secret is not None
        world.stripe.pay_on_page(practice.account, secret)
        assert world.container.shop.paying.confirm(p, orders.get(practice.id, order_id)).status == "paid"
    _, listed = world.staff("GET", "/shop/orders", practice_id=practice.id)
    assert sorted(o["status"] for o in listed) == ["paid"] * 3
    _, after = world.staff("GET", f"/shop/products/{splint['id']}", practice_id=practice.id)
    assert (after["on_hand"], after["available"]) == (0, 0)


def test_an_unpaid_reservation_is_released_after_its_time(world: World) -> None:
    practice = create_practice(world, connect=False)
    putty = product(world, practice, stock=5)
    client = create_client(world, practice)
    order = checkout(
        world,
        practice.id,
        client_id=client["id"],
        owner_id=None,
        currency="usd",
        items=[(putty["id"], 2)],
        key="k-1",
    )
    assert order.total == 2500 and order.lines[0].hsa_fsa_eligible
    _, held = world.staff("GET", f"/shop/products/{putty['id']}", practice_id=practice.id)
    assert (held["on_hand"], held["available"]) == (5, 3)
    world.clock.now += timedelta(minutes=14)
    reconcile(world)  # not yet due
    _, body = world.staff("GET", f"/shop/orders/{order.id}", practice_id=practice.id)
    assert body["status"] == "reserved"
    world.clock.now += timedelta(minutes=2)
    reconcile(world)
    reconcile(world)  # a second run changes nothing
    _, body = world.staff("GET", f"/shop/orders/{order.id}", practice_id=practice.id)
    assert body["status"] == "released"
    _, back = world.staff("GET", f"/shop/products/{putty['id']}", practice_id=practice.id)
    assert (back["on_hand"], back["available"]) == (5, 5)


def test_a_stock_key_reused_for_another_change_is_refused_and_its_replay_answers_once(world: World) -> None:
    practice = create_practice(world, connect=False)
    putty = product(world, practice)
    path = f"/shop/products/{putty['id']}/stock"
    key = {"Idempotency-Key": "count-0001"}
    first = {"kind": "correction", "quantity": 4, "note": "counted"}
    for _ in range(2):  # the same body again: the first change, once
        status, body = world.staff("POST", path, first, practice_id=practice.id, headers=key)
        assert (status, body["on_hand"], body["available"]) == (201, 4, 4), body
    for other in ({**first, "quantity": 5}, {**first, "kind": "received"}, {**first, "note": "recount"}):
        status, body = world.staff("POST", path, other, practice_id=practice.id, headers=key)
        assert (
            status == 409 and body["message"] == "this Idempotency-Key was used for a different stock change"
        )
    _, history = world.staff("GET", path, practice_id=practice.id)
    assert [(a["kind"], a["quantity"]) for a in history] == [("correction", 4)]
    # A replay of a take-away once the stock has fallen meanwhile is still the replay, not a 409.
    take = {"kind": "damaged", "quantity": 4}
    status, body = world.staff(
        "POST", path, take, practice_id=practice.id, headers={"Idempotency-Key": "damaged-0001"}
    )
    assert (status, body["on_hand"]) == (201, 0), body
    status, body = world.staff(
        "POST", path, take, practice_id=practice.id, headers={"Idempotency-Key": "damaged-0001"}
    )
    assert (status, body["on_hand"]) == (201, 0), body
