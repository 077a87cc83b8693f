from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from therabill.core.cadence import BillingCadence
from therabill.policies.policy import CancellationPolicy

DEFAULT_SUMMARY_HOURS_BEFORE = 3
SUMMARY_HOURS_RANGE = (1, 12)


class StripeConnection(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    account_id: str
    charges_enabled: bool = False
    payouts_enabled: bool = False
    details_submitted: bool = False
    updated_at: datetime  # the Stripe event (or call) the status came from

    @property
    def ready(self) -> bool:
        return self.charges_enabled and self.details_submitted


class Practice(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    name: str
    email: str
    time_zone: str
    cutoff_hour: int = Field(ge=0, le=23)
    currency: str
    country: str
    created_at: datetime
    version: int
    stripe: StripeConnection | None = None
    cancellation_policy: CancellationPolicy | None = None  # None: no cancellation / no-show fees
    # The nightly run: dates that skip or move the run ("YYYY-MM-DD" → "skip" or the
    # date it moves to), and how many hours before the cutoff the evening summary goes out.
    holidays: dict[str, str] = Field(default_factory=dict)
    summary_hours_before: int = Field(default=DEFAULT_SUMMARY_HOURS_BEFORE, ge=1, le=12)
    # Bill a completed session only once its note is signed (the nightly run's "note not signed").
    billing_requires_signed_note: bool = False
    # Billing automation: the nightly run bills Ready items at the cutoff (off: they wait for staff
    # to bill them), and whether a client's card on file is charged (AutoPay) unless the client's
    # (or billing contact's) own choice says otherwise.
    auto_billing: bool = True
    autopay_default: bool = True
    # When a self-pay session is billed: at the cutoff, or within minutes of becoming Ready.
    billing_cadence: BillingCadence = "nightly"
    # The day of the month monthly clients are billed, at the cutoff (past a month's end: its last day).
    monthly_billing_day: int = Field(default=1, ge=1, le=31)
    # The local date auto-billing was last turned on (None: never turned off and on again), and
    # from which service date the older unbilled sessions are included (None: none of them).
    auto_billing_since: date | None = None
    backfill_from: date | None = None
    # The last period auto-billing was on before it was turned off (from ``auto_billing_on_from``,
    # None: since the practice began, until ``auto_billing_off_from``): sessions served then were
    # served under auto-billing, and its run (or a monthly client's billing date) bills them as usual.
    auto_billing_on_from: date | None = None
    auto_billing_off_from: date | None = None
    # How clients reach the practice, printed on invoices and in emails when set (``email`` too).
    address: str | None = None  # one line, e.g. "12 Harbor Street, Portland, ME 04101"
    phone: str | None = None

    def before_auto_billing(self, service_date: date) -> Literal["backfill", "staff"] | None:
        """A session served before auto-billing was turned on: billed by the next run as a
        backfill (on or after ``backfill_from``) or left for staff to bill; None: billed as usual."""
        since, off_from = self.auto_billing_since, self.auto_billing_off_from
        if not self.auto_billing or since is None or service_date >= since:
            return None
        on_from = self.auto_billing_on_from
        if off_from is not None and (on_from is None or on_from <= service_date) and service_date < off_from:
            return None  # served while auto-billing was last on (a monthly client's, not yet due)
        if self.backfill_from is not None and service_date >= self.backfill_from:
            return "backfill"
        return "staff"

    def contact_lines(self) -> list[str]:
        """The practice's name, then its address, phone and email as far as it has them."""
        phone = f"Phone {self.phone}" if self.phone else None
        return [x for x in (self.name, self.address, phone, self.email) if x]
