"""Staff routes for the equipment store: the catalogue and its stock, orders (included by
api/staff.py). Reading is open to every staff role; the catalogue and stock are the owner's and
billers' (``shop:manage``); every role may send a client a purchase link (``shop:recommend``)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from therabill.api.auth import Caller
from therabill.api.deps import container
from therabill.api.documents import answers
from therabill.api.params import IdempotencyKey, ItemId
from therabill.api.staff_common import caller
from therabill.api.staff_shop_models import (
    OrderOut,
    ProductCreate,
    ProductOut,
    ProductUpdate,
    PurchaseLinkIn,
    PurchaseLinkOut,
    StockAdjustmentOut,
    StockIn,
)

router = APIGatewayRouter()


def _caller() -> Caller:
    return caller(router)


@router.get("/shop/products")
def list_products() -> list[ProductOut]:
    """The practice's catalogue, each product with its stock: ``on_hand`` (in the practice) and
    ``available`` (on hand and not held by an order waiting to be paid)."""
    who = _caller()
    return [ProductOut.of(p) for p in container().shop.catalogue.products(who.practice_id)]


@router.post("/shop/products", status_code=201, responses=answers({201: "The new product."}, 403))
def create_product(body: Annotated[ProductCreate, Body()]) -> ProductOut:
    """Add a product (no stock yet: record what arrives with ``POST /shop/products/{id}/stock``).
    Its price is in the practice's currency. Owner or biller."""
    who = _caller()
    who.require("shop:manage")
    currency = container().practices.get(who.practice_id).currency
    product = container().shop.catalogue.create(who.practice_id, currency=currency, **body.model_dump())
    return ProductOut.of(product)


@router.get("/shop/products/<product_id>")
def get_product(product_id: ItemId) -> ProductOut:
    """One product with its stock."""
    who = _caller()
    return ProductOut.of(container().shop.catalogue.get(who.practice_id, product_id))


@router.patch("/shop/products/<product_id>", responses=answers({200: "The product as changed."}, 403, 409))
def update_product(product_id: ItemId, body: Annotated[ProductUpdate, Body()]) -> ProductOut:
    """Change a product (omitted fields stay); its stock moves only by adjustments. Orders keep
    the name and price they were made with. Owner or biller."""
    who = _caller()
    who.require("shop:manage")
    changes: dict[str, Any] = body.model_dump(exclude_unset=True, exclude={"expected_version"})
    product = container().shop.catalogue.update(who.practice_id, product_id, changes, body.expected_version)
    return ProductOut.of(product)


@router.post(
    "/shop/products/<product_id>/stock",
    status_code=201,
    responses=answers({201: "The product with its stock as changed."}, 403, 409),
)
def adjust_stock(
    product_id: ItemId, body: Annotated[StockIn, Body()], idempotency_key: IdempotencyKey
) -> ProductOut:
    """Record stock received, returned, damaged or corrected after a count. The
    ``Idempotency-Key`` makes a retried request change the stock once. 409 when fewer than zero units
    would be left (units held by unpaid orders count as taken). Owner or biller."""
    who = _caller()
    who.require("shop:manage")
    product = container().shop.catalogue.adjust(
        who.practice_id,
        product_id,
        kind=body.kind,
        quantity=body.quantity,
        by=who.user_id,
        note=body.note,
        key=idempotency_key,
    )
    return ProductOut.of(product)


@router.get("/shop/products/<product_id>/stock")
def stock_history(product_id: ItemId) -> list[StockAdjustmentOut]:
    """The product's stock history, oldest first: received, sold, returned, damaged, corrections."""
    who = _caller()
    history = container().shop.catalogue.history(who.practice_id, product_id)
    return [StockAdjustmentOut.of(a) for a in history]


@router.get("/shop/orders")
def list_orders() -> list[OrderOut]:
    """The practice's orders, oldest first, with their lines and status."""
    who = _caller()
    return [OrderOut.of(o) for o in container().shop.orders.all(who.practice_id)]


@router.get("/shop/orders/<order_id>")
def get_order(order_id: ItemId) -> OrderOut:
    """One order."""
    who = _caller()
    return OrderOut.of(container().shop.orders.get(who.practice_id, order_id))


@router.post(
    "/shop/purchase-links", status_code=201, responses=answers({201: "The link, emailed to the client."}, 403)
)
def send_purchase_link(body: Annotated[PurchaseLinkIn, Body()]) -> PurchaseLinkOut:
    """Recommend items to a client (after their session, or on its own): the client (or the
    billing contact named) gets a signed link to the store page by email, valid ``days`` days.
    The page lists these items first, then the rest of the catalogue. Any staff role."""
    who = _caller()
    who.require("shop:recommend")
    link, url = container().shop.links.send(
        who.practice_id,
        client_id=body.client_id,
        contact_id=body.contact_id,
        session_id=body.session_id,
        items=[(i.product_id, i.quantity) for i in body.items],
        days=body.days,
        created_by=who.user_id,
    )
    return PurchaseLinkOut(
        id=link.id,
        url=url,
        client_id=link.client_id,
        contact_id=link.owner_id,
        session_id=link.session_id,
        expires_at=link.expires_at,
    )
