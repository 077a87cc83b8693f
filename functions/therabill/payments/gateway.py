"""The payment gateway port: what Therabill needs from Stripe, in our own terms.

The domain depends on this protocol only; adapters/stripe_gateway.py implements it with the Stripe
SDK. Every call that creates something takes an idempotency key derived from our own ids, and
every call names the practice's connected account (``account``), sent as the Stripe-Account header
(direct charges). Card declines are outcomes, not exceptions; exceptions are for a gateway that
could not answer (retry later) or refused the request itself (a bug or bad data: do not retry).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from therabill.cards.gateway import CardGateway
from therabill.core.errors import DependencyUnavailableError, TherabillError
from therabill.practices.connect import ConnectGateway

ChargeStatus = Literal["succeeded", "processing", "requires_action", "declined"]


class GatewayUnavailableError(DependencyUnavailableError):
    """Timeout, connection error, 5xx or 429 from the gateway. The same call may be retried with
    the same idempotency key."""


class GatewayRejectedError(TherabillError):
    """The gateway refused the request as invalid (4xx other than a card error)."""


class PhiLeakError(TherabillError):
    """Something about to be sent to the gateway looks like health information. Never sent."""


@dataclass(frozen=True)
class SetupIntentRef:
    id: str
    client_secret: str
    status: str


@dataclass(frozen=True)
class SetupIntentState:
    id: str
    status: str
    customer_id: str | None
    payment_method_id: str | None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CardDetails:
    payment_method_id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    fingerprint: str | None
    customer_id: str | None


@dataclass(frozen=True)
class ChargeOutcome:
    """What happened to an off-session charge attempt."""

    status: ChargeStatus
    payment_intent_id: str | None
    decline_code: str | None = None  # e.g. insufficient_funds, authentication_required
    error_code: str | None = None  # e.g. card_declined, authentication_required
    message: str | None = None
    charge_id: str | None = None


@dataclass(frozen=True)
class PaymentIntentState:
    id: str
    status: str  # Stripe's PaymentIntent status
    amount: int
    currency: str
    client_secret: str | None
    metadata: dict[str, str] = field(default_factory=dict)
    last_error_code: str | None = None
    last_decline_code: str | None = None
    payment_method_id: str | None = None  # the card it was paid with, once paid


@dataclass(frozen=True)
class RefundState:
    id: str
    status: str  # Stripe's: pending, requires_action, succeeded, failed, canceled
    amount: int
    currency: str
    payment_intent_id: str | None
    metadata: dict[str, str] = field(default_factory=dict)
    failure_reason: str | None = None


@dataclass(frozen=True)
class ClientPaymentIntent:
    """An on-session PaymentIntent the client confirms in the browser (Stripe.js) with its
    client secret. ``status`` is Stripe's (``requires_payment_method`` when new)."""

    id: str
    client_secret: str
    status: str


@dataclass(frozen=True)
class AccountState:
    id: str
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool


class PaymentGateway(CardGateway, ConnectGateway, Protocol):
    """Everything Therabill asks of Stripe: the cards' port (customers, SetupIntents, payment
    methods) and the practices' (Connect accounts), plus payments' own calls below."""

    def retrieve_setup_intent(self, *, account: str, setup_intent_id: str) -> SetupIntentState: ...

    def retrieve_card(self, *, account: str, payment_method_id: str) -> CardDetails: ...

    def detach_card(self, *, account: str, payment_method_id: str) -> None: ...

    def charge_off_session(
        self,
        *,
        account: str,
        customer_id: str,
        payment_method_id: str,
        amount: int,
        currency: str,
        idempotency_key: str,
        description: str,
        metadata: dict[str, str],
        application_fee_amount: int | None,
    ) -> ChargeOutcome:
        """Create and confirm a PaymentIntent off-session on a saved card."""
        ...

    def retrieve_payment_intent(self, *, account: str, payment_intent_id: str) -> PaymentIntentState: ...

    def create_payment_intent(
        self,
        *,
        account: str,
        amount: int,
        currency: str,
        idempotency_key: str,
        description: str,
        metadata: dict[str, str],
        customer_id: str | None = None,
        payment_method_id: str | None = None,
        setup_future_usage: Literal["on_session", "off_session"] | None = None,
    ) -> ClientPaymentIntent:
        """An on-session PaymentIntent (cards only, not confirmed) that the client confirms in the
        browser. A retry with the same idempotency key returns the same PaymentIntent."""
        ...

    def cancel_payment_intent(self, *, account: str, payment_intent_id: str, idempotency_key: str) -> str:
        """Cancel a PaymentIntent nobody paid. Returns the status it ends in: ``canceled``, or
        ``succeeded`` (or ``processing``) when the client paid first: that is an answer, not an
        error, and the caller must treat the money as received."""
        ...

    def refund(
        self,
        *,
        account: str,
        payment_intent_id: str,
        amount: int,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> RefundState:
        """Refund (part of) a PaymentIntent's charge back to the original card."""
        ...

    def create_connected_account(
        self, *, idempotency_key: str, email: str | None, country: str, metadata: dict[str, str]
    ) -> AccountState: ...

    def retrieve_account(self, *, account: str) -> AccountState: ...
