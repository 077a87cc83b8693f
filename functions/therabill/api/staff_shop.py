"""Staff routes for the equipment store: the catalogue and its stock, orders (included by
api/staff.py). Reading is open to every staff role; the catalogue and stock are the owner's and
billers' (``shop:manage``); every role may send a client a purchase link (``shop:recommend``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from therabill.api import audit_trail
from therabill.api.auth import Caller
from therabill.api.deps import container
from therabill.api.documents import answers, body_of
from therabill.api.params import IdempotencyKey, ItemId
from therabill.api.staff_common import caller, csv_response, json_response
from therabill.api.staff_shop_models import (
    OrderOut,
    ProductCreate,
    ProductOut,
    ProductSalesOut,
    ProductUpdate,
    PurchaseLinkIn,
    PurchaseLinkOut,
    ReturnIn,
    SalesReport,
    StockAdjustmentOut,
    StockIn,
    StockRow,
)
from therabill.shop.reports import ProductSales, sales_csv, sales_report, stock_csv
from therabill.shop.returns import Giving

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
    ``Idempotency-Key`` makes a retried request change the stock once (answering the product's
    stock as it now is); the same key for another change of this product is a 409, nothing
    changed. 409 when fewer than zero units would be left (units held by unpaid orders count as
    taken). Owner or biller."""
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
    """The practice's orders, oldest first, with their lines and status. Each one shown is
    recorded in the audit trail (``order.read``: what a client bought may say something about
    their health)."""
    who = _caller()
    orders = container().shop.orders.all(who.practice_id)
    return [OrderOut.of(o) for o in audit_trail.orders_shown(router, orders)]


@router.get("/shop/orders/<order_id>")
def get_order(order_id: ItemId) -> OrderOut:
    """One order (recorded: ``order.read``)."""
    who = _caller()
    order = container().shop.orders.get(who.practice_id, order_id)
    return OrderOut.of(audit_trail.orders_shown(router, [order])[0])


@router.post(
    "/shop/purchase-links",
    status_code=201,
    responses=answers({201: "The link, emailed to the client."}, 403, 404),
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


@router.post(
    "/shop/orders/<order_id>/returns",
    status_code=201,
    responses=answers(
        {
            201: body_of(OrderOut, "The order with the return recorded and refunded."),
            202: body_of(OrderOut, "Recorded; Stripe did not answer the refund yet: it is pending."),
        },
        403,
        409,
        502,
    ),
)
def return_order(
    order_id: ItemId, body: Annotated[ReturnIn, Body()], idempotency_key: IdempotencyKey
) -> Response[str]:
    """Give back a paid order, whole (no ``lines``) or some units of some lines: the money goes
    back to the card it was paid with (each unit's price and its share of the tax) and the units
    go back in stock unless ``restock`` is false. The ``Idempotency-Key`` makes a retry give back
    once; 400 for more units than are left to give back; 409 when the payment has less left to
    refund (nothing recorded) or the refund failed (the return kept as ``refund_failed``, its
    units no longer given back, nothing restocked; the same key again answers the same); free
    lines only: restocked, nothing refunded. A refund Stripe fails later marks the return
    ``refund_failed`` the same way, takes its restock back out and emails the practice once.
    Owner or biller."""
    who = _caller()
    who.require("refunds:create")
    giving = None
    if body.lines is not None:
        giving = [Giving(x.product_id, x.quantity, x.restock) for x in body.lines]
    order, refund = container().shop.returns.give_back(
        who.practice_id, order_id, giving, key=idempotency_key, by=who.user_id
    )
    if refund is not None:
        audit_trail.refunded(router, refund, client_id=order.client_id)
    pending = refund is not None and refund.status == "pending"
    return json_response(202 if pending else 201, OrderOut.of(order))


# -- reports ---------------------------------------------------------------------------------------
Format = Annotated[Literal["json", "csv"], Query()]


def _report(model: Any, description: str) -> dict[int, OpenAPIResponse]:
    response: OpenAPIResponse = {
        "description": description,
        "content": {"application/json": {"model": model}, "text/csv": {"schema": {"type": "string"}}},
    }
    return answers({200: response}, 403)


def _sales_row(p: ProductSales) -> ProductSalesOut:
    return ProductSalesOut(
        product_id=p.product_id,
        sku=p.sku,
        name=p.name,
        units_sold=p.units_sold,
        units_returned=p.units_returned,
        sales=p.sales,
        tax=p.tax,
        refunded=p.refunded,
        net=p.net,
    )


@router.get(
    "/shop/reports/sales", responses=_report(SalesReport, "Product sales: JSON, or CSV with format=csv.")
)
def sales(
    start: Annotated[date, Query()], end: Annotated[date, Query()], format: Format = "json"
) -> Response[str]:
    """Product sales of the orders paid on the practice's local days ``start`` .. ``end``: units
    sold and returned, sales, tax, refunded and net per product, and the total. ``format=csv``: a
    row a product and a total row, amounts as decimals with a currency column. Owner or biller."""
    who = _caller()
    who.require("reports:read")
    practice = container().practices.get(who.practice_id)
    report = sales_report(
        container().shop.orders.all(who.practice_id),
        start=start,
        end=end,
        time_zone=practice.time_zone,
        currency=practice.currency,
    )
    if format == "csv":
        return csv_response(f"product-sales-{start}-{end}.csv", sales_csv(report))
    rows = sorted(report.products.values(), key=lambda p: p.sku)
    out = SalesReport(
        start=start,
        end=end,
        currency=report.currency,
        orders=report.orders,
        products=[_sales_row(p) for p in rows],
        total=_sales_row(report.total),
    )
    return json_response(200, out)


@router.get("/shop/reports/stock", responses=_report(list[StockRow], "Stock: JSON, or CSV with format=csv."))
def stock(format: Format = "json") -> Response[str]:
    """Every product's stock: on hand, available (not held by unpaid orders), the low-stock level
    and whether it is reached. Owner or biller."""
    who = _caller()
    who.require("reports:read")
    products = container().shop.catalogue.products(who.practice_id)
    if format == "csv":
        return csv_response("stock.csv", stock_csv(products))
    rows = [
        StockRow(
            product_id=p.id,
            sku=p.sku,
            name=p.name,
            on_hand=p.on_hand,
            available=p.available,
            low_stock_at=p.low_stock_at,
            low=p.available <= p.low_stock_at,
            active=p.active,
        )
        for p in sorted(products, key=lambda p: p.sku)
    ]
    return Response(
        status_code=200,
        content_type="application/json",
        body="[" + ",".join(r.model_dump_json() for r in rows) + "]",
    )
