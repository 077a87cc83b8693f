"""Recording a declined attempt and deciding what follows (the policy is ``retries``): another
attempt at a time set by the decline code (the payment enters the RETRYDUE index), nothing (a hard
decline stays declined), or giving up (failed, the codes kept). What follows a payment given up
(its hooks, the practice's notice) is ``outcomes``'."""

from __future__ import annotations

from therabill.contract import METRIC_CHARGES_FAILED
from therabill.core.clock import Clock, iso
from therabill.observability import business, logger
from therabill.payments import retries
from therabill.payments.models import OutcomeFacts, Payment, for_an_order
from therabill.payments.store import PaymentStore
from therabill.practices.models import Practice


class Declines:
    def __init__(self, *, store: PaymentStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def record(self, practice: Practice, payment_id: str, facts: OutcomeFacts) -> Payment:
        """A decline of an earlier attempt (a late or replayed webhook) changes nothing, and
        neither does the same decline twice: the write is conditioned on the attempt it belongs to."""
        current = self._store.get(practice.id, payment_id)
        if current.status == "succeeded":
            return current
        if facts.payment_intent_id and any(
            a.payment_intent_id == facts.payment_intent_id for a in current.attempts
        ):
            logger.info("decline of an earlier attempt ignored", payment_id=payment_id)
            return current
        now = self._clock()
        reason = retries.decline_reason(facts.decline_code, facts.error_code)
        decision = (
            retries.RetryDecision("final")
            if for_an_order(current)
            else retries.decide(reason, attempt=current.attempt, declined_at=now)
        )
        changed, payment = self._store.record_decline(practice.id, current, facts, decision, now)
        if not changed:
            return payment
        business.count(METRIC_CHARGES_FAILED, amount=payment.amount)
        logger.info(
            "payment declined",
            payment_id=payment.id,
            attempt=payment.attempt,
            decline_code=facts.decline_code,
            error_code=facts.error_code,
            next_step=decision.action,
            next_retry_at=iso(decision.at) if decision.action == "retry" and decision.at else None,
        )
        return payment
