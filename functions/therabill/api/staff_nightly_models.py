"""Request and response models of the nightly run's staff routes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from therabill.api.inputs import Text, Whole
from therabill.api.outputs import Amount

_CalendarDay = Annotated[Text, Field(max_length=10, description="YYYY-MM-DD, or skip as a value")]


class NightlyItemOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    session_id: str
    client_id: str
    client_name: str
    service_date: date
    status: str  # the session's: completed | no_show
    state: str  # ready | incomplete | skipped | held
    action: str  # charge | send | claim | none
    amount: Amount
    currency: str
    reasons: list[str]  # codes
    reason_texts: list[str]
    will: str = Field(
        description="what tonight does with it: charged now, sent, claim submitted, billed at completion "
        "(the client's cadence; at the cutoff if still unbilled), waiting for staff (auto-billing off, or "
        "served before it was turned on and before its backfill date), consolidated tonight, charged / "
        "consolidated tonight, sent (a monthly client whose billing date has come: one invoice per billing "
        "party), consolidated on the 1st (YYYY-MM-DD) (a monthly client's billing date to come), "
        "held until tomorrow, left out, not billed"
    )
    bills_on: date | None = Field(
        default=None, description="a monthly client's item: the billing date that consolidates it"
    )


class NightlyTotalsOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    ready: int
    ready_amount: Amount
    to_charge: int = Field(description="Ready items tonight's run charges (consolidations: each session)")
    to_charge_amount: Amount
    to_send: int = Field(description="Ready items tonight's run sends an invoice for")
    to_send_amount: Amount
    waiting_for_staff: int = Field(description="Ready items left for staff to bill")
    later: int = Field(description="Ready items of monthly clients left for their billing date")
    incomplete: int
    skipped: int
    held: int
    backfill: int = Field(description="of the Ready items, those in the backfill section")


class NightlyListingOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    auto_billing: bool = Field(description="off: Ready items wait for staff to bill them")
    run_date: date
    cutoff_at: datetime
    runs_tonight: bool
    no_run_reason: str | None
    run_id: str
    run_status: str | None  # None: not started yet
    totals: NightlyTotalsOut
    ready: list[NightlyItemOut]
    backfill: list[NightlyItemOut] = Field(
        description="Ready items served before auto-billing was turned on, from its backfill date: "
        "billed by the next run (the first night after turning it on), listed apart from ready"
    )
    incomplete: list[NightlyItemOut]
    skipped: list[NightlyItemOut]
    held: list[NightlyItemOut]


class BillNowIn(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid")

    session_ids: list[Annotated[str, Field(pattern=r"^ses_[0-9a-z]+$", max_length=40)]] | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="tonight's Ready sessions to bill now; omit or null: all of them",
    )


class HoldOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    session_id: str
    run_date: date
    held: bool


class NightlySettingsIn(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid")

    holidays: dict[_CalendarDay, _CalendarDay] | None = Field(default=None, max_length=366)
    summary_hours_before: Whole | None = Field(default=None, ge=1, le=12)
    expected_version: Whole | None = Field(default=None, ge=1)


class NightlySettingsOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    time_zone: str
    cutoff_hour: int
    summary_hours_before: int
    holidays: dict[str, str]
    version: int


class ReportOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    items_billed: int
    amount_billed: Amount
    cards_charged: int
    amount_charged: Amount
    invoices_sent: int
    claims_submitted: int = 0
    pending: int
    failures: list[dict[str, str]]
    held: list[str]
    incomplete: int
    skipped: int
    waiting: int = 0
    later: int = Field(default=0, description="Ready items of monthly clients left for their billing date")
    invoices_consolidated: int = Field(
        default=0, description="monthly clients' invoices made (each billing several sessions)"
    )


class RunItemOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    session_id: str
    client_id: str
    amount: Amount
    action: str
    status: str
    outcome: str | None
    billed: int
    charged: int
    invoice_ids: list[str]
    payment_ids: list[str]
    problem: str | None
    sessions: list[str] = Field(
        default_factory=list,
        description="a monthly consolidation: every session it bills (session_id is the first); empty: one",
    )


class RunOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    id: str
    run_date: date
    status: str
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    planned: int
    finished: int
    moved_from: list[str]
    report: ReportOut | None
    items: list[RunItemOut] | None = None


class RunPage(BaseModel):
    model_config = ConfigDict(defer_build=True)
    items: list[RunOut]
    next_cursor: str | None


class RunNowOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    run: RunOut | None
    skipped_reason: str | None
