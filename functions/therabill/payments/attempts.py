"""One attempt at Stripe for a pending payment: the first try, a retry or the reconciler's replay.

Each attempt has its own idempotency key (``retries.idempotency_key``) and is only ever replayed
while Stripe still remembers it, counted from that attempt's own start; past that the payment is
failed (``not_confirmed``) for staff to review, never charged again.
"""

from __future__ import annotations

from therabill.core.clock import Clock
from therabill.core.errors import ConflictError
from therabill.observability import logger
from therabill.payments import retries
from therabill.payments.gateway import (
    ChargeOutcome,
    GatewayRejectedError,
    GatewayUnavailableError,
    PaymentGateway,
)
from therabill.payments.intents import ClientPayments
from therabill.payments.models import Payment
from therabill.payments.outcomes import Outcomes
from therabill.payments.parties import Parties, PartyFinder
from therabill.practices.models import Practice


class Attempts:
    def __init__(
        self,
        *,
        gateway: PaymentGateway,
        parties: PartyFinder,
        outcomes: Outcomes,
        client_payments: ClientPayments,
        clock: Clock,
        platform_fee_bps: int = 0,
    ) -> None:
        self._gateway = gateway
        self._parties = parties
        self._outcomes = outcomes
        self._client_payments = client_payments
        self._clock = clock
        self._fee_bps = platform_fee_bps

    def resume(self, practice: Practice, payment: Payment) -> Payment:
        """A payment met again (a retried request): attempt it while pending, finish what a crash
        may have left after a success (idempotent), else leave it as it is."""
        if payment.status == "pending":
            return self.attempt(practice, payment)
        if payment.status == "succeeded":
            return self._outcomes.record_success(
                practice, payment.id, payment.payment_intent_id, payment.charge_id
            )
        return payment

    def attempt(self, practice: Practice, payment: Payment, parties: Parties | None = None) -> Payment:
        """Call Stripe for a pending payment and record what it says."""
        assert practice.stripe is not None
        if retries.stripe_may_forget(payment.started_at, self._clock()):
            message = "Stripe could not be reached in time; not charged by us"
            return self._outcomes.fail(practice, payment.id, "not_confirmed", message)
        if payment.on_session:
            return self._client_payments.create_intent(practice, payment)[0]
        parties = parties or self._parties.of(practice.id, payment)
        if parties.card.status != "active":
            message = "the card was removed before the charge was made"
            return self._outcomes.fail(practice, payment.id, "card_removed", message)
        if not parties.party.stripe_customer_id:
            raise ConflictError("the card's owner has no Stripe customer")
        try:
            outcome = self._charge(practice, payment, parties)
        except GatewayUnavailableError:
            logger.warning("stripe unavailable; payment left pending", payment_id=payment.id)
            return payment
        except GatewayRejectedError as exc:
            return self._outcomes.fail(practice, payment.id, "rejected", exc.message)
        return self._outcomes.apply(practice, payment.id, outcome, parties)

    def _charge(self, practice: Practice, payment: Payment, parties: Parties) -> ChargeOutcome:
        assert practice.stripe is not None and parties.party.stripe_customer_id
        return self._gateway.charge_off_session(
            account=practice.stripe.account_id,
            customer_id=parties.party.stripe_customer_id,
            payment_method_id=parties.card.payment_method_id,
            amount=payment.amount.amount,
            currency=payment.amount.currency,
            idempotency_key=retries.idempotency_key(payment.id, payment.attempt),
            description=f"Payment {payment.id}",
            metadata={
                "therabill_practice_id": practice.id,
                "therabill_payment_id": payment.id,
                "therabill_client_id": payment.client_id,
            },
            application_fee_amount=payment.amount.amount * self._fee_bps // 10_000 or None,
        )
