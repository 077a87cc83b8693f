"""The store's values: products with their stock, stock adjustments, orders and their lines (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from therabill.core.money import Money

AdjustmentKind = Literal["received", "sold", "returned", "damaged", "correction"]
# How each kind moves the two counters: ``on_hand`` (units in the practice) and ``available``
# (on hand and not held by an unpaid order). A sale's units left ``available`` when the order
# reserved them, so the sale moves ``on_hand`` only.
ADJUSTMENT_SIGN: dict[str, int] = {"received": 1, "returned": 1, "damaged": -1, "sold": -1, "correction": 1}

ReturnStatus = Literal["recorded", "refund_failed"]
OrderStatus = Literal["reserved", "paid", "released", "refunded"]
MAX_ORDER_LINES = 20  # one order's transaction: the order, a product per line (and its history)


class Product(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    name: str
    description: str = ""
    sku: str
    price: Money
    hsa_fsa_eligible: bool = False
    tax_rate_bps: int | None = None  # basis points of the price, e.g. 825 = 8.25 %
    active: bool = True
    on_hand: int = 0
    available: int = 0
    low_stock_at: int = 0  # the practice is told when ``available`` falls to this or below
    created_at: datetime
    version: int = 1


class StockAdjustment(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    product_id: str
    kind: AdjustmentKind
    quantity: int  # signed: the change of ``on_hand``
    at: datetime
    by: str  # a staff id, or ``system`` / ``order:<ord>``
    order_id: str | None = None
    note: str = ""

    def same_change(self, other: StockAdjustment) -> bool:
        """The same change of the same product (who made it and when aside): a replay of a request,
        not another one under its key."""
        return (self.product_id, self.kind, self.quantity, self.note, self.order_id) == (
            other.product_id,
            other.kind,
            other.quantity,
            other.note,
            other.order_id,
        )


class OrderLine(BaseModel):
    """What one line sold, fixed at checkout (the product may change later)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    product_id: str
    name: str
    sku: str
    quantity: int = Field(ge=1)
    unit_price: int  # minor units
    tax: int = 0  # minor units for the whole line
    hsa_fsa_eligible: bool = False
    returned: int = 0  # units refunded (restocked or not)

    @property
    def subtotal(self) -> int:
        return self.unit_price * self.quantity

    @property
    def total(self) -> int:
        return self.subtotal + self.tax


class ReturnRecord(BaseModel):
    """One return of an order: what it gave back and which units went back on the shelf."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    amount: int
    restock: tuple[tuple[str, int], ...] = ()  # (product id, units)
    given: tuple[tuple[str, int], ...] = ()  # (product id, units) given back, to undo a failed refund
    at: datetime
    # refund_failed: its refund failed after it was recorded; its units no longer count as given
    # back, nor its amount as refunded, and its restock was taken back.
    status: ReturnStatus = "recorded"


class Order(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    client_id: str
    owner_id: str | None = None  # the billing party paying: None = the client
    lines: tuple[OrderLine, ...]
    currency: str
    status: OrderStatus
    created_at: datetime
    expires_at: datetime
    link_id: str | None = None
    payment_id: str | None = None
    paid_at: datetime | None = None
    card_brand: str | None = None
    card_last4: str | None = None
    refunded_amount: int = 0
    returns: dict[str, ReturnRecord] = Field(default_factory=dict)  # by return id
    version: int = 1

    @property
    def subtotal(self) -> int:
        return sum(line.subtotal for line in self.lines)

    @property
    def tax(self) -> int:
        return sum(line.tax for line in self.lines)

    @property
    def total(self) -> int:
        return self.subtotal + self.tax

    @property
    def amount(self) -> Money:
        return Money(amount=self.total, currency=self.currency)


def line_tax(unit_price: int, quantity: int, rate_bps: int | None) -> int:
    """A line's tax in minor units, rounded half up."""
    if not rate_bps:
        return 0
    return (unit_price * quantity * rate_bps + 5_000) // 10_000


class Recommended(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    product_id: str
    quantity: int = Field(ge=1)


class PurchaseLink(BaseModel):
    """Items a clinician recommends to a client (after a session, or on its own), sent as a signed,
    expiring link to the store page. The billing party (``owner_id``: None = the client) pays."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    client_id: str
    owner_id: str | None = None
    session_id: str | None = None
    items: tuple[Recommended, ...]
    created_by: str
    created_at: datetime
    expires_at: datetime
