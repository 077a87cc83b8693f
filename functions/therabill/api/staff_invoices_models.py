"""Request and response bodies of the staff routes for invoices and reports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from therabill.api.inputs import Day, Flag, PositiveMinorUnits, Text
from therabill.api.outputs import Amount, minor_units
from therabill.invoices.models import InvoiceKind, InvoiceStatus, LineCategory, StaffInvoiceKind

Id = Annotated[str, Field(min_length=3, max_length=40, pattern=r"^[a-z]{2,5}_[0-9a-z]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", str_strip_whitespace=True)


class StandaloneLineIn(_Strict):
    description: Text = Field(min_length=1, max_length=120)
    amount: PositiveMinorUnits
    category: Literal["late_fee", "product", "previous_balance", "other"]


class InvoiceCreate(_Strict):
    """``session``: the charges of one session; ``day`` / ``period``: the client's session charges
    posted on those local dates (``start``..``end``, inclusive); ``standalone``: the given lines
    (a late fee, a product, a balance carried over from another system), posted when sent."""

    client_id: Id
    contact_id: Id | None = None  # the billing party under split billing; the client when absent
    kind: StaffInvoiceKind
    session_id: Id | None = None
    start: Day | None = None
    end: Day | None = None
    lines: list[StandaloneLineIn] | None = Field(default=None, min_length=1, max_length=40)
    due_date: Day | None = None
    memo: Text = Field(default="", max_length=200)
    send: Flag = False  # send it at once (draft → sending → open)

    @model_validator(mode="after")
    def _shape(self) -> InvoiceCreate:
        if self.kind == "standalone" and not self.lines:
            raise ValueError("a standalone invoice needs lines")
        if self.kind != "standalone" and self.lines:
            raise ValueError("lines are only for standalone invoices")
        if self.kind == "session" and not self.session_id:
            raise ValueError("a session invoice needs session_id")
        if self.kind in ("day", "period") and not self.start:
            raise ValueError("a day or period invoice needs start")
        return self


class VoidIn(_Strict):
    reason: Text = Field(default="voided by staff", min_length=1, max_length=200)


class InvoicePaymentIn(_Strict):
    amount: PositiveMinorUnits
    method: Literal["cash", "check", "other"]
    reference: Text = Field(default="", max_length=40, description="e.g. check no.")


class InvoiceLineOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    n: int
    description: str
    amount: Amount
    category: LineCategory
    source_key: str
    session_id: str | None
    service_date: date | None


class AppliedPaymentOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    payment_id: str
    amount: Amount
    applied_at: datetime
    method: str


class InvoiceOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    id: str
    number: str
    client_id: str
    owner_id: str
    kind: InvoiceKind
    status: InvoiceStatus
    currency: str
    lines: list[InvoiceLineOut]
    total: Amount
    paid: Amount
    balance: Amount
    payments: list[AppliedPaymentOut]
    issue_date: date
    due_date: date
    period_start: date | None
    period_end: date | None
    memo: str
    access_code: str  # staff read it to the client on the phone
    locked: bool
    failed_codes: int
    created_at: datetime
    created_by: str
    sent_at: datetime | None
    paid_at: datetime | None
    voided_at: datetime | None
    void_reason: str | None
    uncollectible_at: datetime | None
    reminders_sent: int
    next_reminder_at: datetime | None
    sends: int
    version: int


class InvoicePage(BaseModel):
    model_config = ConfigDict(defer_build=True)
    items: list[InvoiceOut]
    next_cursor: str | None


class InvoicePdfOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    filename: str
    content_type: str
    content_base64: str


class PaymentRow(BaseModel):
    model_config = ConfigDict(defer_build=True)
    posted_at: datetime
    client_id: str
    method: str
    amount: Amount
    payment_id: str | None
    source_key: str


class PaymentsReport(BaseModel):
    model_config = ConfigDict(defer_build=True)
    start: date
    end: date
    currency: str
    total: Amount
    by_method: dict[str, int] = Field(description=minor_units("the total of each payment method"))
    count: int
    rows: list[PaymentRow]


class RevenueReport(BaseModel):
    model_config = ConfigDict(defer_build=True)
    start: date
    end: date
    currency: str
    charges: int = Field(description=minor_units("charges posted in the period"))
    adjustments: int = Field(
        description=minor_units("write-offs, waivers, voided standalone lines (they reduce revenue)")
    )
    returns: int = Field(
        description=minor_units("sales given back (the store's returns: product revenue taken back)")
    )
    refunds: Amount
    net_revenue: int = Field(description=minor_units("charges - adjustments - returns"))
    collected: int = Field(description=minor_units("payments (any method but credit) - refunds"))
    by_day: dict[str, int] = Field(description=minor_units("net revenue per local day (YYYY-MM-DD)"))
