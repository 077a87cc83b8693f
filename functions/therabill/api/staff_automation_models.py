"""Request and response models of the billing automation routes (auto-billing, AutoPay)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from therabill.api.inputs import Day, Flag, Whole
from therabill.core.cadence import BillingCadence

_CADENCE = (
    "when a self-pay session is billed: nightly (at the cutoff), at_completion (within minutes of "
    "becoming Ready) or monthly (one invoice per billing party for the sessions served before the "
    "practice's monthly_billing_day, at that day's cutoff)"
)
_DAY = (
    "the day of the month monthly clients are billed, at the cutoff; in a shorter month, its last "
    "day (31: 30 April, 28 or 29 February)"
)


class AutomationIn(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid")

    auto_billing: Flag | None = Field(
        default=None, description="the nightly run bills Ready items at the cutoff; off: staff bill them"
    )
    autopay_default: Flag | None = Field(
        default=None, description="charge the card on file unless a client or billing contact chose otherwise"
    )
    billing_cadence: BillingCadence | None = Field(default=None, description=_CADENCE)
    monthly_billing_day: Whole | None = Field(default=None, ge=1, le=31, description=_DAY)
    backfill_from: Day | None = Field(
        default=None,
        description="with auto_billing true (turning it on): the next run also bills the unbilled "
        "sessions served from this date (on or before today) until today; older ones wait for "
        "staff. Omit: none of the older ones",
    )
    expected_version: Whole | None = Field(default=None, ge=1)


class AutomationOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    auto_billing: bool
    autopay_default: bool
    billing_cadence: BillingCadence = Field(description=_CADENCE)
    monthly_billing_day: int = Field(description=_DAY)
    auto_billing_since: date | None = Field(
        description="the day auto-billing was last turned on; sessions served before it are "
        "billed by the run only from backfill_from, the rest wait for staff"
    )
    backfill_from: date | None
    version: int


class CadenceIn(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid")

    cadence: BillingCadence | None = Field(description=f"{_CADENCE}; null: the practice's")
    expected_version: Whole | None = Field(default=None, ge=1, description="the client's version")


class CadenceOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    client_id: str
    cadence: BillingCadence | None = Field(description="the client's own choice; null: the practice's")
    practice_cadence: BillingCadence
    effective: BillingCadence = Field(description="what holds for the client's sessions")
    version: int


class AutoPayIn(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid")

    enabled: Flag | None = Field(description="on, off, or null: the practice's default")
    contact_id: str | None = Field(
        default=None,
        pattern=r"^con_[0-9a-z]+$",
        description="the billing contact whose AutoPay this is (split billing); omit: the client's",
    )
    expected_version: Whole | None = Field(
        default=None, ge=1, description="the client's or contact's version"
    )


class AutoPayOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    client_id: str
    contact_id: str | None
    enabled: bool | None = Field(description="the billing party's own choice; null: the practice's default")
    practice_default: bool
    autopay: bool = Field(description="what holds: the card on file is charged (true) or the invoice sent")
    can_charge: bool = Field(description="whether a session charge can be made to the card on file now")
    blocked_reason: str | None = Field(
        description="why not: practice_cannot_charge, no_card, consent_not_in_force, "
        "consent_excludes_session_fees"
    )
    blocked_text: str | None
    version: int
