"""Making the next attempt of declined payments whose retry is due (scheduled, with the
reconciler). When a retry is due and how many are made is ``retries``' policy."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from therabill.cards.models import SESSION_BILLING_KINDS, ChargeKind
from therabill.cards.service import CardService, ConsentError, check_consent
from therabill.clients.service import ClientService
from therabill.core.clock import Clock
from therabill.observability import logger
from therabill.payments import retries
from therabill.payments.attempts import Attempts
from therabill.payments.models import Payment
from therabill.payments.outcomes import Outcomes
from therabill.payments.store import PaymentStore
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService

# The charges AutoPay governs (what billing a session charges the card on file for); a payment
# of another kind (a booking deposit, an order, a charge staff asked for) is retried regardless.
_BILLING_KINDS = frozenset(SESSION_BILLING_KINDS)


class RetryRunner:
    def __init__(
        self,
        *,
        store: PaymentStore,
        practices: PracticeService,
        clients: ClientService,
        cards: CardService,
        attempts: Attempts,
        outcomes: Outcomes,
        clock: Clock,
    ) -> None:
        self._store = store
        self._practices = practices
        self._clients = clients
        self._cards = cards
        self._attempts = attempts
        self._outcomes = outcomes
        self._clock = clock

    def run_due(self, now: datetime | None = None, limit: int = 100) -> dict[str, int]:
        """Each row is isolated: one that fails is counted and logged."""
        now = now or self._clock()
        counts = {"attempted": 0, "succeeded": 0, "skipped": 0, "errors": 0}
        for row in self._store.retries_due(limit):
            if row.at is not None and row.at > now:
                break  # ordered by due time: the rest are later
            try:
                practice = self._practices.get(row.practice_id)
                payment = self._store.get(practice.id, row.payment_id)
                result = self._start(practice, payment, now)
            except Exception as exc:  # one bad row must not stop the others
                logger.error("retry failed", payment_id=row.payment_id, error=type(exc).__name__)
                counts["errors"] += 1
                continue
            if result is None:
                counts["skipped"] += 1
                continue
            counts["attempted"] += 1
            counts["succeeded"] += result.status == "succeeded"
        return counts

    def _start(self, practice: Practice, payment: Payment, now: datetime) -> Payment | None:
        """Record attempt n+1 as pending (conditioned on the payment still being declined at
        attempt n) BEFORE Stripe is called, then call Stripe with that attempt's own key. A crash
        after the write leaves a pending attempt for the reconciler, replayed with the same key
        while Stripe remembers it, never after. None: not due or already taken by another run."""
        if payment.status != "declined" or payment.next_retry_at is None or payment.next_retry_at > now:
            return None
        if payment.on_session:  # never declined-and-scheduled; the client retries on the page
            return None
        if practice.stripe is None or not practice.stripe.charges_enabled:
            logger.warning("retry postponed: the practice cannot take charges", payment_id=payment.id)
            return None
        given_up = self._given_up(practice, payment, now)
        if given_up is not None:
            return given_up
        code = retries.decline_reason(payment.decline_code, payment.error_code)
        started = self._store.start_next_attempt(practice.id, payment, code=code, now=now)
        if started is None:
            return None  # another run (or a webhook) moved it first
        logger.info("retrying a declined payment", payment_id=payment.id, attempt=started.attempt)
        return self._attempts.attempt(practice, started)

    def _autopay_on(self, practice: Practice, payment: Payment) -> bool:
        party = self._clients.billing_party(practice.id, payment.client_id, payment.owner_id)
        return party.autopay_on(practice.autopay_default)

    def _given_up(self, practice: Practice, payment: Payment, now: datetime) -> Payment | None:
        """The payment given up instead of retried, if it may no longer be charged; else None."""
        if payment.kind in _BILLING_KINDS and not self._autopay_on(practice, payment):
            # The billing party turned AutoPay off since the decline: their card is not charged
            # again; giving up sends the invoice the charge was holding.
            return self._outcomes.give_up(
                practice, payment.id, "autopay_off", "AutoPay was turned off: the invoice is sent instead"
            )
        consent = self._cards.get_consent(practice.id, payment.consent_id)
        try:  # the card's consent may have been revoked or have expired since the decline
            check_consent(
                consent,
                kind=cast(ChargeKind, payment.kind),
                amount=payment.amount.amount,
                currency=payment.amount.currency,
                now=now,
            )
        except ConsentError as exc:
            return self._outcomes.give_up(practice, payment.id, "consent_not_valid", exc.message)
        return None
