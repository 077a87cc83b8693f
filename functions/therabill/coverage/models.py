"""A client's insurance coverage (primary and secondary policies) and the one answer to "is this
client insured for this date of service" (``standing``), pure.

Everything here is health information (member ids, subscribers' names and dates of birth): it is
never logged, never sent to Stripe and never in an email except the client's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from therabill.clients.models import BillingType

Rank = Literal["primary", "secondary"]
Relationship = Literal["self", "spouse", "child", "other"]
Sex = Literal["F", "M", "U"]  # X12 DMG03: female, male, unknown
CoverageStatus = Literal["active", "removed"]

# A clearinghouse payer id: 2 to 10 letters or digits (stored upper case). The payer directory
# that knows the real ids comes later; until then only the shape is checked.
PAYER_ID = re.compile(r"[A-Z0-9]{2,10}")


def normalise_payer_id(value: str) -> str:
    """The payer id upper case, or ValueError (naming the shape, not the value)."""
    normal = value.strip().upper()
    if not PAYER_ID.fullmatch(normal):
        raise ValueError("a payer id is 2 to 10 letters or digits")
    return normal


class Payer(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)
    id: str | None = None  # None only on coverage carried over from before (to be completed)
    name: str


class Address(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)
    line1: str
    line2: str | None = None
    city: str
    state: str
    zip: str


class Subscriber(BaseModel):
    """The policy holder when the patient is not: as a claim names them (2010BA)."""

    model_config = ConfigDict(defer_build=True, frozen=True)
    first_name: str
    last_name: str
    birth_date: date
    sex: Sex
    address: Address | None = None


class Coverage(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    client_id: str
    rank: Rank
    payer: Payer
    plan_name: str | None = None
    member_id: str | None = None
    group_number: str | None = None
    effective_date: date | None = None  # None: from the start
    end_date: date | None = None  # None: open; the last day covered
    relationship: Relationship = "self"
    subscriber: Subscriber | None = None  # required when the relationship is not self
    patient_birth_date: date | None = None
    patient_sex: Sex | None = None
    # What the client pays, as found (an eligibility check, the payer directory: later) and as
    # staff set it; staff's value wins.
    copay_found: int | None = None  # minor units
    copay_override: int | None = None
    coinsurance_found: int | None = Field(default=None, ge=0, le=100)  # percent
    coinsurance_override: int | None = Field(default=None, ge=0, le=100)
    forbids_cancellation_fees_found: bool | None = (
        None  # no cancellation / no-show fees (e.g. Medicaid plans)
    )
    forbids_cancellation_fees_override: bool | None = None
    # The payer wants its authorization for these visits (staff set it from the plan's rules; an
    # eligibility check's "prior authorization required" may suggest it): bookings warn beyond it
    # and the nightly run holds a claim without one.
    authorization_required: bool = False
    status: CoverageStatus = "active"
    created_at: datetime
    version: int

    @property
    def copay_amount(self) -> int | None:
        return self.copay_override if self.copay_override is not None else self.copay_found

    @property
    def coinsurance_percent(self) -> int | None:
        return self.coinsurance_override if self.coinsurance_override is not None else self.coinsurance_found

    @property
    def forbids_cancellation_fees(self) -> bool:
        chosen = self.forbids_cancellation_fees_override
        return bool(chosen if chosen is not None else self.forbids_cancellation_fees_found)

    def active_on(self, day: date) -> bool:
        """In force on ``day`` (a removed coverage never is)."""
        if self.status != "active":
            return False
        if self.effective_date is not None and day < self.effective_date:
            return False
        return self.end_date is None or day <= self.end_date

    def overlaps(self, other: Coverage) -> bool:
        """The same rank over at least one common day (removed ones never overlap)."""
        if self.status != "active" or other.status != "active" or self.rank != other.rank:
            return False
        starts_before_other_ends = (
            other.end_date is None or (self.effective_date or date.min) <= other.end_date
        )
        ends_after_other_starts = self.end_date is None or (other.effective_date or date.min) <= self.end_date
        return starts_before_other_ends and ends_after_other_starts


@dataclass(frozen=True)
class Standing:
    """How a client is billed for one date of service."""

    billing_type: BillingType
    insured: bool  # billing type insurance and a primary coverage in force that day
    primary: Coverage | None  # the primary in force that day (whatever the billing type)
    forbids_fees: bool  # a coverage in force that day forbids cancellation / no-show fees

    @property
    def copay(self) -> int | None:
        """The client's share charged at check-in: the primary's copay, only when insured."""
        return self.primary.copay_amount if self.insured and self.primary else None

    @property
    def not_billed(self) -> bool:
        return self.billing_type == "not_billed"


def standing(billing_type: BillingType, coverages: list[Coverage], day: date) -> Standing:
    """The one answer to "insured on this date of service": the client's billing type is
    insurance and a primary coverage is in force that day. Coverage that ended before the day (or
    starts after it) does not count: the client is billed as self-pay. A coverage in force that
    forbids fees waives cancellation and no-show fees whatever the billing type (the payer's rule
    protects its member)."""
    in_force = [c for c in coverages if c.active_on(day)]
    primary = next((c for c in in_force if c.rank == "primary"), None)
    return Standing(
        billing_type=billing_type,
        insured=billing_type == "insurance" and primary is not None,
        primary=primary,
        forbids_fees=any(c.forbids_cancellation_fees for c in in_force),
    )
