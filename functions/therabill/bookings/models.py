"""What a booking must pay, decided purely from the rules in force. Integer minor units only.

Precedence: the client's override > the first-visit rule (the service's, else the practice's
default), when the client has no earlier non-cancelled session > the service's rule > nothing.
Insured clients are not cash-pay: a deposit or prepayment never applies to them (a card-on-file
requirement still does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from therabill.core.money import Money, PositiveMinorUnits
from therabill.sessions.models import Session

RequirementKind = Literal["none", "deposit", "prepayment", "card_on_file"]
# Which rule decided; ``stored``: a retried booking, as decided when it was first made.
RuleSource = Literal[
    "client", "first_visit_service", "first_visit_practice", "service", "default", "insured", "stored"
]
BookingPaymentStatus = Literal["awaiting", "paid", "released", "paid_after_release"]
AuthorizationEnforcement = Literal["warn", "refuse"]
BPS_WHOLE = 10_000
DEFAULT_HOLD_MINUTES = 30


class BookingRequirement(BaseModel):
    """``deposit``: a flat amount (``deposit_amount``, minor units, at most the price) or a percent
    of the scheduled price (``deposit_percent_bps``, basis points, rounded half up): exactly one.
    ``prepayment``: the whole scheduled price. ``card_on_file``: no charge, but the billing party must have
    an active default card with consent. ``none``: nothing."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    kind: RequirementKind
    deposit_amount: PositiveMinorUnits | None = None
    deposit_percent_bps: int | None = Field(default=None, gt=0, le=BPS_WHOLE, strict=True)

    @model_validator(mode="after")
    def _shape(self) -> BookingRequirement:
        given = (self.deposit_amount is not None) + (self.deposit_percent_bps is not None)
        if self.kind == "deposit" and given != 1:
            raise ValueError("a deposit needs exactly one of deposit_amount or deposit_percent_bps")
        if self.kind != "deposit" and given:
            raise ValueError("only a deposit takes deposit_amount or deposit_percent_bps")
        return self

    @property
    def takes_payment(self) -> bool:
        return self.kind in ("deposit", "prepayment")


NOTHING = BookingRequirement(kind="none")


class BookingSettings(BaseModel):
    """The practice's own: the first-visit default and how long a slot is held for payment."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    first_visit: BookingRequirement | None = None
    hold_minutes: int = Field(default=DEFAULT_HOLD_MINUTES, ge=5, le=7 * 24 * 60)
    # A visit beyond the client's authorization (where the payer requires one): booked with a
    # warning in the answer, or refused (409; staff may book it as self-pay instead).
    authorization_enforcement: AuthorizationEnforcement = "warn"
    version: int = 0
    updated_at: datetime | None = None


class ServiceBookingRule(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    service_id: str
    rule: BookingRequirement | None = None  # every booking of the service
    first_visit: BookingRequirement | None = None  # a client's first visit (over the practice's)
    updated_at: datetime


class ClientBookingRule(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    client_id: str
    rule: BookingRequirement  # over every other rule, for every service
    updated_at: datetime


@dataclass(frozen=True)
class Decision:
    requirement: BookingRequirement
    source: RuleSource


@dataclass(frozen=True)
class BookingPaymentView:
    """What staff see of a booking's payment."""

    payment_id: str
    kind: str
    status: str  # the payment's
    amount: Money
    hold_expires_at: datetime
    link: str | None  # the pay page, while the hold is open


@dataclass(frozen=True)
class Booking:
    session: Session
    payment: BookingPaymentView | None
    requirement: Decision
    authorization: str | None = None  # the warning: a code of the authorization's problems


HoldStatus = Literal["open", "closed"]


@dataclass(frozen=True)
class Hold:
    """A session's slot held until its booking payment arrives (closed: kept as a record)."""

    practice_id: str
    session_id: str
    client_id: str
    payment_id: str
    expires_at: datetime
    status: HoldStatus


def decide(
    *,
    settings: BookingSettings,
    service_rule: ServiceBookingRule | None,
    client_rule: ClientBookingRule | None,
    first_visit: bool,
    insured: bool,
) -> Decision:
    """What a booking must pay. Insured clients pay no deposit or prepayment by the practice's or a
    service's rules; a rule set on the client themself is the practice's explicit choice for that
    client and applies all the same."""
    decision = _by_precedence(settings, service_rule, client_rule, first_visit)
    if insured and decision.requirement.takes_payment and decision.source != "client":
        return Decision(NOTHING, "insured")
    return decision


def _by_precedence(
    settings: BookingSettings,
    service_rule: ServiceBookingRule | None,
    client_rule: ClientBookingRule | None,
    first_visit: bool,
) -> Decision:
    if client_rule is not None:
        return Decision(client_rule.rule, "client")
    if first_visit:
        if service_rule is not None and service_rule.first_visit is not None:
            return Decision(service_rule.first_visit, "first_visit_service")
        if settings.first_visit is not None:
            return Decision(settings.first_visit, "first_visit_practice")
    if service_rule is not None and service_rule.rule is not None:
        return Decision(service_rule.rule, "service")
    return Decision(NOTHING, "default")


def amount_due(requirement: BookingRequirement, price: Money) -> Money:
    """What must be paid now for a booking whose scheduled price is ``price`` (never more)."""
    if requirement.kind == "prepayment":
        return price
    if requirement.kind != "deposit":
        return Money.zero(price.currency)
    if requirement.deposit_amount is not None:
        return Money(amount=min(requirement.deposit_amount, price.amount), currency=price.currency)
    assert requirement.deposit_percent_bps is not None
    amount = (price.amount * requirement.deposit_percent_bps * 2 + BPS_WHOLE) // (2 * BPS_WHOLE)
    return Money(amount=amount, currency=price.currency)
