"""An eligibility check as stored and shown: what the payer's 271 said about one client's coverage
for one date of service, told per service type (the discipline's codes and 30, the plan).

Health information (the plan, the benefits, the payer's answer): never logged, never in an
exception message, never sent to Stripe. The raw 271 is kept in S3 (``document_key``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CheckStatus = Literal["active", "inactive", "rejected", "unknown"]
Network = Literal["in", "out", "both", "not_stated"]
Level = Literal["individual", "family", "not_stated"]
Trigger = Literal["staff", "coverage", "batch"]
NetworkStatus = Literal["in_network", "out_of_network", "not_stated"]


class _Frozen(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)


_MINOR = "minor units of the currency, e.g. 2500 for 25.00"


class Copay(_Frozen):
    network: Network
    amount: int = Field(description=f"the copay per visit; {_MINOR}")


class Coinsurance(_Frozen):
    network: Network
    percent: str  # a decimal number as text, never a float: "20" is 20%, "12.5" is 12.5%


class Accumulator(_Frozen):
    """A deductible or an out-of-pocket maximum: the total for the period and what is left."""

    level: Level
    network: Network
    total: int | None = Field(default=None, description=f"for the period; {_MINOR}")
    remaining: int | None = Field(default=None, description=f"what is left to meet; {_MINOR}")


class VisitLimit(_Frozen):
    network: Network
    limit: int | None = None  # visits the plan allows in the period
    remaining: int | None = None  # visits left


class ServiceBenefits(_Frozen):
    """One service type code's benefits (the plan's, 30, filling in the kinds it does not state)."""

    service_type: str
    name: str
    active: bool | None
    copays: tuple[Copay, ...] = ()
    coinsurance: tuple[Coinsurance, ...] = ()
    deductibles: tuple[Accumulator, ...] = ()
    out_of_pocket: tuple[Accumulator, ...] = ()
    visit_limits: tuple[VisitLimit, ...] = ()
    prior_authorization_required: bool | None = None


class RejectionReason(_Frozen):
    """An AAA: the payer's reason in words and what staff do next (never a value sent)."""

    code: str
    about: str  # payer, provider, subscriber, dependent
    reason: str
    next_step: str
    retry_later: bool


class EligibilityCheck(_Frozen):
    id: str
    client_id: str
    coverage_id: str
    payer_id: str
    date_of_service: date
    checked_at: datetime
    trigger: Trigger
    requested_by: str | None = None  # the staff member, when staff asked
    status: CheckStatus
    plan_name: str | None = None
    plan_begin: date | None = None
    plan_end: date | None = None
    network: NetworkStatus = "not_stated"
    services: tuple[ServiceBenefits, ...] = ()
    rejections: tuple[RejectionReason, ...] = ()
    copay_found: int | None = Field(
        default=None, description=f"the in-network copay taken to the coverage; {_MINOR}"
    )
    document_key: str  # the raw 271 in the documents bucket

    @property
    def retry_later(self) -> bool:
        """The payer could not answer now (AAA 42, 80, ...): the check may be made again today."""
        return self.status == "rejected" and any(r.retry_later for r in self.rejections)


class CheckOutcome(_Frozen):
    """What a request for a check did: a new check, or today's earlier one (``repeated``)."""

    check: EligibilityCheck
    repeated: bool = False
