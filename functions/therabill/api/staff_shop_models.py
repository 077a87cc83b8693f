"""Request and response bodies of the staff routes for the equipment store."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from therabill.api.inputs import Flag, MinorUnits, Text, Whole
from therabill.api.outputs import Amount, minor_units
from therabill.shop.models import (
    MAX_ORDER_LINES,
    Order,
    OrderStatus,
    Product,
    ReturnStatus,
    StockAdjustment,
)

Sku = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._\-]+$")]
TaxRate = Annotated[Whole, Field(ge=0, le=3000, description="basis points: 825 is 8.25 %")]
Units = Annotated[Whole, Field(ge=1, le=10_000)]
Id = Annotated[str, Field(min_length=3, max_length=40, pattern=r"^[a-z]{2,5}_[0-9a-z]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", str_strip_whitespace=True)


class ProductCreate(_Strict):
    name: Text = Field(min_length=1, max_length=120)
    description: Text = Field(default="", max_length=500)
    sku: Sku
    price: MinorUnits
    hsa_fsa_eligible: Flag = False
    tax_rate_bps: TaxRate | None = None
    active: Flag = True
    low_stock_at: Annotated[Whole, Field(ge=0, le=10_000)] = 0


class ProductUpdate(_Strict):
    """A partial update: omitted fields stay; ``tax_rate_bps`` may be set to null (no tax)."""

    name: Text | None = Field(default=None, min_length=1, max_length=120)
    description: Text | None = Field(default=None, max_length=500)
    sku: Sku | None = None
    price: MinorUnits | None = None
    hsa_fsa_eligible: Flag | None = None
    tax_rate_bps: TaxRate | None = None
    active: Flag | None = None
    low_stock_at: Annotated[Whole, Field(ge=0, le=10_000)] | None = None
    expected_version: Whole | None = None

    @model_validator(mode="after")
    def _only_tax_may_be_null(self) -> ProductUpdate:
        nulls = [k for k in self.model_fields_set if getattr(self, k) is None]
        wrong = sorted(set(nulls) - {"tax_rate_bps", "expected_version"})
        if wrong:
            raise ValueError(f"{', '.join(wrong)} may not be null (only tax_rate_bps may: no tax)")
        return self


class ProductOut(BaseModel):
    id: str
    name: str
    description: str
    sku: str
    price: Amount
    currency: str
    hsa_fsa_eligible: bool
    tax_rate_bps: int | None
    active: bool
    on_hand: int
    available: int
    low_stock_at: int
    version: int
    created_at: datetime

    @classmethod
    def of(cls, p: Product) -> ProductOut:
        return cls(**p.model_dump(exclude={"price"}), price=p.price.amount, currency=p.price.currency)


class StockIn(_Strict):
    """``received`` / ``returned`` add units, ``damaged`` takes them away; ``correction`` after a
    count is signed (``quantity`` may be negative)."""

    kind: Literal["received", "returned", "damaged", "correction"]
    quantity: Annotated[int, Field(ge=-10_000, le=10_000)]
    note: Text = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _some_units(self) -> StockIn:
        if self.quantity == 0 or (self.kind != "correction" and self.quantity < 0):
            raise ValueError("quantity must be at least 1 (a correction: any number but 0)")
        return self


class StockAdjustmentOut(BaseModel):
    id: str
    product_id: str
    kind: str
    quantity: int
    at: datetime
    by: str
    order_id: str | None
    note: str

    @classmethod
    def of(cls, a: StockAdjustment) -> StockAdjustmentOut:
        return cls(**a.model_dump())


class OrderLineOut(BaseModel):
    product_id: str
    name: str
    sku: str
    quantity: int
    unit_price: Amount
    tax: Amount
    total: Amount
    hsa_fsa_eligible: bool
    returned: int


class ReturnOut(BaseModel):
    id: str
    amount: int = Field(description=minor_units("what it gives back (refunded unless its refund failed)"))
    status: ReturnStatus = Field(
        description="recorded; refund_failed: its card refund failed, so it no longer counts (its"
        " units are sold again, its restock was taken back): refund another way, or return again"
    )
    at: datetime


class OrderOut(BaseModel):
    id: str
    client_id: str
    owner_id: str | None
    status: OrderStatus
    lines: list[OrderLineOut]
    subtotal: Amount
    tax: Amount
    total: Amount
    currency: str
    refunded_amount: Amount
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None
    payment_id: str | None
    card_brand: str | None
    card_last4: str | None
    returns: list[ReturnOut]

    @classmethod
    def of(cls, o: Order) -> OrderOut:
        lines = [OrderLineOut(**line.model_dump(), total=line.total) for line in o.lines]
        returns = [ReturnOut(id=k, amount=r.amount, status=r.status, at=r.at) for k, r in o.returns.items()]
        return cls(
            **o.model_dump(exclude={"lines", "link_id", "version", "returns"}),
            lines=lines,
            returns=sorted(returns, key=lambda r: r.at),
            subtotal=o.subtotal,
            tax=o.tax,
            total=o.total,
        )


class OrderItemIn(_Strict):
    product_id: Id
    quantity: Units


ORDER_ITEMS = Field(min_length=1, max_length=MAX_ORDER_LINES)


class PurchaseLinkIn(_Strict):
    """Items to recommend: ``client_id``; ``contact_id`` when a billing contact pays (and gets
    the email); ``session_id`` of the client's session it follows, if any."""

    client_id: Id
    contact_id: Id | None = None
    session_id: Id | None = None
    items: list[OrderItemIn] = ORDER_ITEMS
    days: Annotated[Whole, Field(ge=1, le=60, description="how long the link works")] = 14


class PurchaseLinkOut(BaseModel):
    id: str
    url: str
    client_id: str
    contact_id: str | None
    session_id: str | None
    expires_at: datetime


class ReturnLineIn(_Strict):
    product_id: Id
    quantity: Units
    restock: Flag = Field(default=True, description="the units go back on the shelf (false: damaged, kept)")


class ReturnIn(_Strict):
    """``lines`` to give back part of the order; omitted: everything not yet returned, restocked."""

    lines: list[ReturnLineIn] | None = Field(default=None, min_length=1, max_length=MAX_ORDER_LINES)


class ProductSalesOut(BaseModel):
    product_id: str
    sku: str
    name: str
    units_sold: int
    units_returned: int
    sales: Amount
    tax: Amount
    refunded: Amount
    net: Amount


class SalesReport(BaseModel):
    start: date
    end: date
    currency: str
    orders: int
    products: list[ProductSalesOut]
    total: ProductSalesOut


class StockRow(BaseModel):
    product_id: str
    sku: str
    name: str
    on_hand: int
    available: int
    low_stock_at: int
    low: bool
    active: bool
