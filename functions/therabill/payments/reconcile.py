"""Finishing payments left pending by a crash or a Stripe outage (scheduled).

Within Stripe's idempotency window the same request is replayed with the same key (Stripe returns
the first result, or performs it once if it never arrived). Past the window a replay could charge
twice, so such payments are marked failed for staff to review; a late ``payment_intent.succeeded``
can still turn them into successes."""

from __future__ import annotations

from datetime import datetime, timedelta

from therabill.core.clock import Clock
from therabill.observability import logger
from therabill.payments.attempts import Attempts
from therabill.payments.store import PaymentStore
from therabill.practices.service import PracticeService

RECONCILE_AFTER = timedelta(minutes=2)  # leave in-flight requests alone


class Reconciler:
    def __init__(
        self, *, store: PaymentStore, practices: PracticeService, attempts: Attempts, clock: Clock
    ) -> None:
        self._store = store
        self._practices = practices
        self._attempts = attempts
        self._clock = clock

    def reconcile_pending(self, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
        """Each row is isolated: one that fails is counted and logged."""
        now = now or self._clock()
        cutoff = now - RECONCILE_AFTER
        counts = {"retried": 0, "expired": 0, "skipped": 0, "errors": 0}
        for row in self._store.pending(limit):
            if row.at is not None and row.at >= cutoff:
                counts["skipped"] += 1
                continue
            try:
                practice = self._practices.get(row.practice_id)
                payment = self._store.get(practice.id, row.payment_id)
                if payment.status != "pending":
                    continue
                result = self._attempts.attempt(practice, payment)
            except Exception as exc:  # one bad row must not stop the others
                logger.error("reconcile failed", payment_id=row.payment_id, error=type(exc).__name__)
                counts["errors"] += 1
                continue
            counts["expired" if result.error_code == "not_confirmed" else "retried"] += 1
        return counts
