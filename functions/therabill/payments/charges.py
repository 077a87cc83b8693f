"""Charging a saved card off-session, exactly once.

The payment id is derived from the caller's idempotency key, the payment is written (``pending``)
before Stripe is called, and Stripe gets an idempotency key derived from the payment id. A retried
request, a crash after the Stripe call, a replayed or out-of-order webhook and the reconciler all
meet the same payment and converge on the same state; the ledger entry and the receipt are keyed
by the payment id, so neither can happen twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from therabill.cards.models import Card, ChargeKind
from therabill.cards.service import CardService, check_consent
from therabill.core.clock import Clock
from therabill.core.errors import ConflictError
from therabill.core.ids import derived_id
from therabill.core.money import Money
from therabill.core.replay import replayed
from therabill.payments.attempts import Attempts
from therabill.payments.models import Payment, made_by, pending_payment
from therabill.payments.parties import PartyFinder
from therabill.payments.store import PaymentStore
from therabill.practices.service import PracticeService


@dataclass(frozen=True)
class ChargeRequest:
    """A charge as a caller asks for it (see ``PaymentService.charge_saved_card``). ``reference``
    names what the payment is for (e.g. ``copay:<ses>``), for its success hooks."""

    client_id: str
    request_key: str
    amount: int
    kind: ChargeKind
    memo: str
    created_by: str
    card_id: str | None = None
    owner_id: str | None = None
    reference: str | None = None

    def made(self, payment: Payment) -> bool:
        """Whether ``payment`` (met under this request's key) was made by this same request."""
        return made_by(payment, self)

    def pending(self, payment_id: str, card: Card, consent_id: str, amount: Money, now: datetime) -> Payment:
        return pending_payment(
            self,
            payment_id=payment_id,
            owner_id=card.owner_id,
            amount=amount,
            now=now,
            card_id=card.id,
            consent_id=consent_id,
        )


class SavedCardCharges:
    def __init__(
        self,
        *,
        store: PaymentStore,
        practices: PracticeService,
        cards: CardService,
        parties: PartyFinder,
        attempts: Attempts,
        clock: Clock,
    ) -> None:
        self._store = store
        self._practices = practices
        self._cards = cards
        self._parties = parties
        self._attempts = attempts
        self._clock = clock

    def charge(self, practice_id: str, request: ChargeRequest) -> Payment:
        practice = self._practices.get(practice_id)
        payment_id = derived_id("pay", practice_id, request.request_key)
        existing = replayed(
            self._store.find(practice_id, payment_id),
            same=request.made,
            conflict="this Idempotency-Key was used for a different charge",
            payment_id=payment_id,
        )
        if existing:
            return self._attempts.resume(practice, existing)

        # The card, its owner and the consent decide the charge: read from the table, never from
        # an earlier read of this unit of work (a nightly batch charges many sessions in one).
        with self._store.fresh_reads():
            parties = self._parties.for_charge(
                practice_id, request.client_id, request.card_id, request.owner_id
            )
            if practice.stripe is None or not practice.stripe.charges_enabled:
                raise ConflictError("the practice's Stripe account cannot take charges yet")
            consent = self._cards.get_consent(practice_id, parties.card.consent_id)
        now = self._clock()
        check_consent(consent, kind=request.kind, amount=request.amount, currency=practice.currency, now=now)
        amount = Money(amount=request.amount, currency=practice.currency)
        payment = request.pending(payment_id, parties.card, consent.id, amount, now)
        payment, written = self._store.add_pending(practice_id, payment)
        return self._attempts.attempt(practice, payment, parties) if written else payment
