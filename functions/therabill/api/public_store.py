"""Public routes of the store page (included by api/public.py, under the public ``/store``
prefix): the page of a purchase link (HTML), placing an order and paying it, and the confirm
step after Stripe.js (JSON). The signed, expiring token in the path names the practice and the
link, so the client and who pays; nothing in a body can name anyone else."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, ConfigDict, Field

from therabill.api import page_errors, page_responses, store_pages
from therabill.api.deps import container
from therabill.api.documents import answers, page_refusals, text_of
from therabill.api.outputs import Amount
from therabill.api.staff_shop_models import ORDER_ITEMS, OrderItemIn
from therabill.core.errors import ConflictError, TherabillError
from therabill.shop.models import Order, Product
from therabill.shop.storefront import Placed

router = APIGatewayRouter()  # type: ignore[no-untyped-call]

Token = Annotated[str, Path(min_length=20, max_length=600, pattern=r"^[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+$")]
OrderId = Annotated[str, Path(min_length=3, max_length=40, pattern=r"^[a-z]{2,5}_[0-9a-z]+$")]


class PlaceOrder(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid")

    items: list[OrderItemIn] = ORDER_ITEMS
    method: Literal["saved_card", "new_card"]
    request_id: str = Field(
        min_length=8,
        max_length=64,
        pattern=r"^[A-Za-z0-9\-]+$",
        description="one per order (a retry reuses it)",
    )


class OrderState(BaseModel):
    """The order as the page shows it: ``status`` reserved (pay it), paid, or released (its time
    ran out, or the saved card was declined: order again)."""

    model_config = ConfigDict(defer_build=True)

    order_id: str
    status: str
    total: Amount
    currency: str
    payment_status: str | None = None
    client_secret: str | None = Field(default=None, description="a new card: Stripe.js confirms it")
    message: str | None = None


def _state(order: Order, placed: Placed | None = None) -> OrderState:
    message = None
    if placed is not None and placed.payment.status in ("declined", "failed"):
        message = "The card was declined; nothing was charged. Choose another way to pay and try again."
    elif placed is not None and placed.payment.status == "requires_action":
        message = "Your bank asks you to confirm this payment: follow the link we have emailed you."
    return OrderState(
        order_id=order.id,
        status=order.status,
        total=order.total,
        currency=order.currency,
        payment_status=placed.payment.status if placed else None,
        client_secret=placed.client_secret if placed else None,
        message=message,
    )


def _shelf_item(product: Product, recommended: int) -> store_pages.ShelfItem:
    return store_pages.ShelfItem(
        id=product.id,
        name=product.name,
        description=product.description,
        price=product.price.amount,
        price_text=product.price.format(),
        tax_rate_bps=product.tax_rate_bps or 0,
        eligible=product.hsa_fsa_eligible,
        available=product.available,
        recommended=recommended,
    )


@router.get(
    "/store/<token>",
    responses={200: text_of("text/html", "The store page."), **page_refusals(400, 401, 404, 409, 503)},
)
def store_page(token: Token) -> Response[str]:
    """The store page of a purchase link: the recommended items first, then the rest of the
    catalogue, quantities, the total; pay with the saved card or a new one."""
    c = container()
    try:
        shelf = c.shop.storefront.shelf(token)
    except TherabillError as exc:
        return _error_page(exc, token)
    practice = shelf.visit.practice
    if practice.stripe is None or not practice.stripe.charges_enabled:
        return _error_page(ConflictError("the practice cannot take payments online just now"), token)
    items = [_shelf_item(p, q) for p, q in shelf.products]
    card = shelf.saved_card
    return page_responses.html(
        store_pages.store_page(
            practice_name=practice.name,
            party_name=shelf.party_name,
            recommended=[i for i in items if i.recommended],
            others=[i for i in items if not i.recommended],
            saved_card=f"{card.brand.title()} ending in {card.last4}" if card else None,
            currency=practice.currency,
            decimals=shelf.products[0][0].price.decimals if shelf.products else 2,
            base_path=f"/store/{token}",
            publishable_key=c.secrets.stripe_publishable_key,
            account=practice.stripe.account_id,
            stripe_js_url=c.settings.stripe_js_url,
        )
    )


def _error_page(exc: TherabillError, token: str) -> Response[str]:
    try:
        signer = container().shop.links.link_practice(token)
    except TherabillError:
        signer = None
    return page_responses.notice(page_errors.notice(exc, page="store", practice=signer))


@router.post(
    "/store/<token>/orders", responses=answers({200: "The order and how it is paid."}, 401, 409, 502)
)
def place_order(token: Token, body: Annotated[PlaceOrder, Body()]) -> OrderState:
    """Order the items chosen: their units are held for 15 minutes while it is paid. A saved card
    is charged now (its consent must cover products); a new card gets a client secret for
    Stripe.js. 409 when an item has fewer units left than asked for, or the practice cannot take
    payments; 400 for no usable saved card or only free items (nothing is held in each case)."""
    placed = container().shop.storefront.place(
        token,
        items=[(i.product_id, i.quantity) for i in body.items],
        method=body.method,
        request_id=body.request_id,
    )
    return _state(placed.order, placed)


@router.post(
    "/store/<token>/orders/<order_id>/confirm", responses=answers({200: "The order as it now is."}, 401, 502)
)
def confirm_order(token: Token, order_id: OrderId) -> OrderState:
    """After Stripe.js confirmed the card: the order as it now is (paid once Stripe says so)."""
    return _state(container().shop.storefront.confirm(token, order_id))
