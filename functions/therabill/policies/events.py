"""What happened to a session (a cancellation or a no-show), the facts the policy reads from it,
and the assessment it comes to (pure data)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from therabill.core.money import Money
from therabill.policies.policy import CancellationTier, FlatFee, PercentFee
from therabill.policies.waivers import AwareUTC

CancelledBy = Literal["client", "practice"]
AssessmentReason = Literal[
    "late_cancellation_tier",
    "no_show",
    "not_late",
    "no_policy",
    "practice_cancelled",
    "payer_forbids",
    "first_offence_waived",
    "clinician_waived",
]


class Cancellation(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    kind: Literal["cancellation"] = "cancellation"
    cancelled_at: AwareUTC
    cancelled_by: CancelledBy


class NoShow(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    kind: Literal["no_show"] = "no_show"


PolicyEvent = Annotated[Cancellation | NoShow, Field(discriminator="kind")]


class Assessment(BaseModel):
    """The outcome for one session. ``fee`` may be zero; ``waived_amount`` is what the policy would
    have charged where a waiver or the payer guard took it away (zero otherwise)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    fee: Money
    reason: AssessmentReason
    tier: CancellationTier | None  # the late-cancellation tier matched (a single-fee rule's window)
    hours_before: float | None  # notice in hours, 2 decimals, for display; None for a no-show
    notice: timedelta | None  # exact notice; negative when cancelled after the scheduled start
    counts_as_offence: bool  # store this event in the client's offence history
    waived_amount: Money
    waiver_deadline: AwareUTC  # a clinician may waive the fee strictly before this instant
    explanation: str  # client-facing, no clinical detail

    @property
    def charged(self) -> bool:
        return self.fee.amount > 0


@dataclass(frozen=True)
class Facts:
    """What happened, before any guard or waiver: the fee the policy itself would charge."""

    event_at: datetime  # the offence's instant: cancelled_at, or the scheduled start for a no-show
    by_practice: bool
    offence: bool
    fee_rule: FlatFee | PercentFee | None  # the rule that sets the fee (the matched tier's)
    fee: Money
    floored: bool  # raised to a wider tier's fee (later never costs less)
    tier: CancellationTier | None
    notice: timedelta | None
    what: str  # "late-cancellation fee" / "missed-appointment fee"
    event_text: str  # "your appointment on ... was cancelled 3 hours before it began"
