from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from therabill.cards.models import ChargeKind
from therabill.core.money import Money

PaymentStatus = Literal["pending", "processing", "requires_action", "declined", "failed", "succeeded"]

# From which states each outcome may be recorded. Succeeded is final: a late failure event
# (Stripe does not promise order) never overwrites it.
TERMINAL: frozenset[str] = frozenset({"succeeded"})


class Payment(BaseModel):
    """One attempt to collect money on a saved card, recorded before Stripe is called."""

    model_config = ConfigDict(frozen=True)

    id: str
    client_id: str
    owner_id: str
    card_id: str
    consent_id: str
    amount: Money
    kind: ChargeKind
    memo: str  # internal only; never sent to Stripe
    status: PaymentStatus
    created_at: datetime
    updated_at: datetime
    created_by: str
    payment_intent_id: str | None = None
    charge_id: str | None = None
    error_code: str | None = None
    decline_code: str | None = None
    failure_message: str | None = None
    refunded_amount: int = 0  # reserved or refunded, in minor units; never more than amount
    dispute_id: str | None = None
    dispute_status: str | None = None
    dispute_reason: str | None = None
