from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from therabill.core.money import Money

# Off-session kinds: charged to a saved card, so each must be in the card's consent scope.
ChargeKind = Literal["copay", "session_fee", "cancellation_fee", "balance", "product"]
# What billing a session charges the card on file for (the nightly run, at completion, check-in):
# the kinds AutoPay governs and an invoice's payment may be.
SESSION_BILLING_KINDS: tuple[ChargeKind, ...] = ("session_fee", "copay", "cancellation_fee")
# On-session kinds: the client pays on a page (Stripe.js confirms the PaymentIntent), so no
# consent is involved: a booking deposit, a full prepayment of a booking, an invoice, a store order.
OnSessionKind = Literal["deposit", "prepayment", "invoice", "order"]
PaymentKind = ChargeKind | OnSessionKind
ON_SESSION_KINDS: frozenset[str] = frozenset({"deposit", "prepayment", "invoice", "order"})
ConsentStatus = Literal["pending", "active", "revoked"]
CardStatus = Literal["active", "removed"]
SetupLinkStatus = Literal["open", "completed"]


class ConsentScope(BaseModel):
    """What a saved card may be charged for off-session."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    kinds: list[ChargeKind] = Field(min_length=1)
    max_amount: Money | None = None  # the most any single charge may be
    expires_at: datetime | None = None

    @model_validator(mode="after")
    def _distinct(self) -> ConsentScope:
        if len(set(self.kinds)) != len(self.kinds):
            raise ValueError("scope kinds must not repeat")
        if self.max_amount is not None and self.max_amount.amount <= 0:
            raise ValueError("max_amount must be positive")
        return self


class Consent(BaseModel):
    """The evidence that a client authorized off-session charges on a card."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    client_id: str
    owner_id: str
    setup_link_id: str
    text_version: str
    text: str
    signer_name: str
    signed_at: datetime
    ip_address: str
    user_agent: str | None = None  # absent when the browser sent none
    scope: ConsentScope
    status: ConsentStatus
    card_id: str | None = None
    setup_intent_id: str | None = None
    activated_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_reason: str | None = None


class SetupLink(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    client_id: str
    owner_id: str
    scope: ConsentScope
    created_at: datetime
    expires_at: datetime
    created_by: str
    status: SetupLinkStatus = "open"
    setup_intent_id: str | None = None
    consent_id: str | None = None


class Card(BaseModel):
    """A saved card: brand, last 4, expiry and fingerprint. Never a card number."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    client_id: str
    owner_id: str
    payment_method_id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    fingerprint: str | None = None  # absent when Stripe gave none
    consent_id: str
    status: CardStatus
    created_at: datetime
    removed_at: datetime | None = None
