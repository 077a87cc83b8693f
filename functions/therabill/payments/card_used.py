"""Which card paid a payment, for a receipt that names it: a saved card from its item; a card
paid with on a page from the PaymentIntent's payment method at Stripe (we store no such card)."""

from __future__ import annotations

from dataclasses import dataclass

from therabill.core.errors import NotFoundError
from therabill.payments.gateway import GatewayRejectedError, GatewayUnavailableError, PaymentGateway
from therabill.payments.models import Payment
from therabill.payments.parties import PartyFinder
from therabill.practices.models import Practice


@dataclass(frozen=True)
class CardShown:
    brand: str
    last4: str


class CardUsed:
    def __init__(self, *, parties: PartyFinder, gateway: PaymentGateway) -> None:
        self._parties = parties
        self._gateway = gateway

    def of(self, practice: Practice, payment: Payment) -> CardShown | None:
        """The card's brand and last four, or None when it cannot be known now (Stripe
        unreachable, a card removed): a receipt then names no card rather than waiting."""
        if not payment.on_session:
            try:
                card = self._parties.of(practice.id, payment).card
            except NotFoundError:
                return None
            return CardShown(card.brand, card.last4)
        return self._paid_on_page(practice, payment)

    def _paid_on_page(self, practice: Practice, payment: Payment) -> CardShown | None:
        if practice.stripe is None or not payment.payment_intent_id:
            return None
        try:
            state = self._gateway.retrieve_payment_intent(
                account=practice.stripe.account_id, payment_intent_id=payment.payment_intent_id
            )
            if not state.payment_method_id:
                return None
            details = self._gateway.retrieve_card(
                account=practice.stripe.account_id, payment_method_id=state.payment_method_id
            )
        except (GatewayUnavailableError, GatewayRejectedError):  # a receipt never waits for it
            return None
        return CardShown(details.brand, details.last4)
