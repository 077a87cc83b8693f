"""Charging a saved card off-session, exactly once.

The payment id is derived from the caller's idempotency key, the payment is written (``pending``)
before Stripe is called, and Stripe gets an idempotency key derived from the payment id. A retried
request, a crash after the Stripe call, a replayed or out-of-order webhook and the reconciler all
meet the same payment and converge on the same state; the ledger entry and the receipt are keyed
by the payment id, so neither can happen twice.
"""

from __future__ import annotations

from therabill.cards.models import ChargeKind
from therabill.cards.service import CardService, check_consent
from therabill.core.clock import Clock
from therabill.core.errors import ConflictError
from therabill.core.ids import derived_id
from therabill.core.money import Money
from therabill.core.replay import replayed
from therabill.payments.attempts import Attempts
from therabill.payments.models import Payment
from therabill.payments.parties import PartyFinder
from therabill.payments.store import PaymentStore
from therabill.practices.service import PracticeService


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

    def charge(
        self,
        practice_id: str,
        *,
        client_id: str,
        request_key: str,
        amount: int,
        kind: ChargeKind,
        memo: str,
        created_by: str,
        card_id: str | None = None,
        owner_id: str | None = None,
        reference: str | None = None,
    ) -> Payment:
        """``reference`` names what the payment is for (e.g. ``copay:<ses>``), for its success hooks."""
        practice = self._practices.get(practice_id)
        payment_id = derived_id("pay", practice_id, request_key)
        existing = replayed(
            self._store.find(practice_id, payment_id),
            same=lambda p: (p.client_id, p.amount.amount, p.kind) == (client_id, amount, kind),
            conflict="this Idempotency-Key was used for a different charge",
            payment_id=payment_id,
        )
        if existing:
            return self._attempts.resume(practice, existing)

        # The card, its owner and the consent decide the charge: read from the table, never from
        # an earlier read of this unit of work (a nightly batch charges many sessions in one).
        with self._store.fresh_reads():
            parties = self._parties.for_charge(practice_id, client_id, card_id, owner_id)
            if practice.stripe is None or not practice.stripe.charges_enabled:
                raise ConflictError("the practice's Stripe account cannot take charges yet")
            consent = self._cards.get_consent(practice_id, parties.card.consent_id)
        now = self._clock()
        check_consent(consent, kind=kind, amount=amount, currency=practice.currency, now=now)
        payment = Payment(
            id=payment_id,
            client_id=client_id,
            owner_id=parties.card.owner_id,
            card_id=parties.card.id,
            consent_id=consent.id,
            amount=Money(amount=amount, currency=practice.currency),
            kind=kind,
            memo=memo,
            status="pending",
            created_at=now,
            updated_at=now,
            created_by=created_by,
            reference=reference,
        )
        payment, written = self._store.add_pending(practice_id, payment)
        if not written:
            return payment
        return self._attempts.attempt(practice, payment, parties)
