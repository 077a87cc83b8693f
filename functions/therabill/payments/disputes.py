"""Disputes as Stripe reports them (``charge.dispute.*``): kept, shown on their payment, and a lost
one reverses the payment on the ledger: Dr credit and/or receivable / Cr cash:card for the disputed
amount, kind ``chargeback``, source ``dispute-lost:<dp>``, once. A dispute still open or won
changes no balance."""

from __future__ import annotations

from typing import Any

from therabill.core.clock import Clock
from therabill.core.money import Money
from therabill.ledger.service import LedgerService
from therabill.observability import logger
from therabill.payments.models import Dispute
from therabill.payments.store import PaymentStore
from therabill.practices.models import Practice


class Disputes:
    def __init__(self, *, store: PaymentStore, ledger: LedgerService, clock: Clock) -> None:
        self._store = store
        self._ledger = ledger
        self._clock = clock

    def record(self, practice: Practice, dispute: dict[str, Any], event_created: int = 0) -> str:
        """The newest state wins (Stripe sends updates out of order): states are ordered by their
        event's ``created``, and an older one arriving late changes nothing."""
        intent = dispute.get("payment_intent")
        if not isinstance(intent, str):
            return "ignored:no-payment-intent"
        ref = self._store.by_payment_intent(intent)
        if ref is None or ref.practice_id != practice.id:
            return "ignored:unknown-payment"
        due = (dispute.get("evidence_details") or {}).get("due_by")
        kept = Dispute(
            id=str(dispute["id"]),
            payment_id=ref.payment_id,
            amount=int(dispute.get("amount") or 0),
            currency=str(dispute.get("currency") or ""),
            reason=str(dispute.get("reason") or ""),
            status=str(dispute.get("status") or ""),
            evidence_due_by=int(due) if due else None,
            seen_at=self._clock(),
            event_created=int(event_created or 0),
        )
        if not self._store.save_dispute(practice.id, kept):
            return "ignored:older-dispute-state"
        self._store.show_dispute(practice.id, kept)
        if kept.status == "lost":
            self._lost(practice.id, kept)
        return f"dispute-{kept.status}"

    def _lost(self, practice_id: str, dispute: Dispute) -> None:
        """A lost dispute takes the money back: the payment is reversed on the ledger, once."""
        payment = self._store.get(practice_id, dispute.payment_id)
        if dispute.amount <= 0 or dispute.currency.lower() != payment.amount.currency:
            logger.warning("lost dispute not posted: amount or currency", dispute_id=dispute.id)
            return
        self._ledger.post(
            practice_id,
            client_id=payment.client_id,
            kind="chargeback",
            amount=Money(amount=min(dispute.amount, payment.amount.amount), currency=payment.amount.currency),
            source_key=f"dispute-lost:{dispute.id}",
            memo="Dispute lost: payment reversed",
            method="card",
            payment_id=payment.id,
            owner_id=payment.owner_id,
        )
