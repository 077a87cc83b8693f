from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from therabill.cards.models import ON_SESSION_KINDS, PaymentKind
from therabill.core.money import Money

# ``awaiting_client``: an on-session PaymentIntent exists and waits for the client to pay it on a
# page; ``canceled``: such a PaymentIntent was cancelled unpaid (e.g. a booking hold expired).
PaymentStatus = Literal[
    "pending",
    "processing",
    "requires_action",
    "declined",
    "failed",
    "succeeded",
    "awaiting_client",
    "canceled",
]
LedgerPosting = Literal["payment", "credit"]

# What a succeeded payment posts to the client's ledger: money paid ahead of a session (a booking
# deposit or prepayment) is a credit that the session's charge consumes; anything else pays what
# is owed.
LEDGER_POSTING: dict[str, LedgerPosting] = {"deposit": "credit", "prepayment": "credit"}

# A payment whose ``reference`` starts with this is a store order's (``order:<ord>``): the client
# waits on the page for it, so a decline is told there and never retried later (the order's units
# are held only for minutes), and the store's success hook sends the itemised receipt instead of
# the generic one.
ORDER_REFERENCE = "order:"


def for_an_order(payment: Payment) -> bool:
    return (payment.reference or "").startswith(ORDER_REFERENCE)


# From which states each outcome may be recorded. Succeeded is final: a late failure event
# (Stripe does not promise order) never overwrites it.
TERMINAL: frozenset[str] = frozenset({"succeeded"})


class AttemptRecord(BaseModel):
    """One declined attempt, kept on the payment (the current attempt is not in this list)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    number: int
    started_at: datetime
    declined_at: datetime
    code: str | None = None  # the decline code the retry policy looked at
    payment_intent_id: str | None = None


class Payment(BaseModel):
    """One attempt to collect money, recorded before Stripe is called: off-session on a saved
    card (``card_id``/``consent_id`` name them), or on-session, paid by the client on a page
    (kinds in ON_SESSION_KINDS: no card or consent yet, both empty strings)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    client_id: str
    owner_id: str
    card_id: str
    consent_id: str
    amount: Money
    kind: PaymentKind
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
    # Retries of declines (payments/retries.py): the attempt now in progress or last made, when it
    # started (the 23 h idempotency rule counts from here), when the next one is due, and the
    # earlier declined attempts.
    attempt: int = 1
    attempt_started_at: datetime | None = None  # None: the first attempt, started at created_at
    next_retry_at: datetime | None = None
    attempts: tuple[AttemptRecord, ...] = ()
    # What an on-session payment is for, in our own ids (e.g. ``session:<ses>``, ``invoice:<inv>``):
    # its success hooks read it. Never sent to Stripe.
    reference: str | None = None

    @property
    def on_session(self) -> bool:
        return self.kind in ON_SESSION_KINDS

    @property
    def started_at(self) -> datetime:
        return self.attempt_started_at or self.created_at

    @property
    def given_up(self) -> bool:
        """It will not be tried again and can no longer succeed: declined with no retry ahead
        (a hard decline, or the retries used up) or failed. Not an attempt left unconfirmed
        (``not_confirmed``): Stripe may still report its success."""
        if self.status == "failed":
            return self.error_code != "not_confirmed"
        return self.status == "declined" and self.next_retry_at is None


@dataclass(frozen=True)
class OutcomeFacts:
    """What Stripe said of an attempt that did not succeed (declined, failed, processing,
    requires_action), or what we decided about it (``not_confirmed``, ``card_removed``)."""

    payment_intent_id: str | None = None
    error_code: str | None = None
    decline_code: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class PaymentRef:
    """A payment named by a platform index row: which practice, which payment, and the instant the
    row is ordered by (when its attempt started, or when its retry is due)."""

    practice_id: str
    payment_id: str
    at: datetime | None = None


RefundStatus = Literal["pending", "succeeded", "failed"]
ManualMethod = Literal["cash", "check", "other"]


class Refund(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    payment_id: str
    client_id: str
    amount: Money
    status: RefundStatus
    memo: str
    created_at: datetime
    created_by: str
    stripe_refund_id: str | None = None
    failure_reason: str | None = None
    # Also forgive what was refunded: the billing party does not owe it again (an adjustment, once).
    write_off: bool = False
    # With ``write_off``: a sale given back (a store return), taken back from this revenue account
    # (a ``return`` entry) instead of written off. None: an adjustment.
    revenue: str | None = None


class Dispute(BaseModel):
    """A dispute as Stripe last reported it (``event_created`` orders its states)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    payment_id: str
    amount: int
    currency: str
    reason: str
    status: str
    evidence_due_by: int | None
    seen_at: datetime
    event_created: int


class PaymentAsked(Protocol):
    """What a request for a payment says about it, whichever way it is paid (a saved card off
    session, or a card on a page)."""

    @property
    def client_id(self) -> str: ...
    @property
    def amount(self) -> int: ...
    @property
    def kind(self) -> PaymentKind: ...
    @property
    def memo(self) -> str: ...
    @property
    def created_by(self) -> str: ...
    @property
    def reference(self) -> str | None: ...


def made_by(payment: Payment, asked: PaymentAsked) -> bool:
    """Whether ``payment`` (met under the request's key) was made by this same request."""
    return (payment.client_id, payment.amount.amount, payment.kind) == (
        asked.client_id,
        asked.amount,
        asked.kind,
    )


def pending_payment(
    asked: PaymentAsked,
    *,
    payment_id: str,
    owner_id: str,
    amount: Money,
    now: datetime,
    card_id: str = "",
    consent_id: str = "",
) -> Payment:
    """The payment written ``pending`` before Stripe is called (no card and no consent: a card the
    client enters on a page, which Therabill does not store)."""
    return Payment(
        id=payment_id,
        client_id=asked.client_id,
        owner_id=owner_id,
        card_id=card_id,
        consent_id=consent_id,
        amount=amount,
        kind=asked.kind,
        memo=asked.memo,
        status="pending",
        created_at=now,
        updated_at=now,
        created_by=asked.created_by,
        reference=asked.reference,
    )
