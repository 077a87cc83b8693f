"""Payments staff take in person (cash, a check at the front desk): Dr cash:<method> / Cr
receivable, any excess Cr credit (applied to the next charge) — source ``manual:<man>``, once per
Idempotency-Key."""

from __future__ import annotations

from therabill.core.errors import ConflictError
from therabill.core.ids import derived_id
from therabill.core.money import Money
from therabill.ledger.service import LedgerEntry, LedgerService
from therabill.payments.models import ManualMethod
from therabill.practices.service import PracticeService

_LABEL = {"cash": "Cash payment", "check": "Check payment", "other": "Payment"}


class InPersonPayments:
    def __init__(self, *, practices: PracticeService, ledger: LedgerService) -> None:
        self._practices = practices
        self._ledger = ledger

    def record(
        self,
        practice_id: str,
        *,
        client_id: str,
        request_key: str,
        amount: int,
        method: ManualMethod,
        reference: str,
        memo: str,
        owner_id: str | None = None,
    ) -> LedgerEntry:
        """A payment entry, once per request key. It pays what the billing party account owes; anything
        beyond becomes credit."""
        practice = self._practices.get(practice_id)
        source = f"manual:{derived_id('man', practice_id, request_key)}"
        label = _LABEL[method]
        entry = self._ledger.post(
            practice_id,
            client_id=client_id,
            kind="payment",
            amount=Money(amount=amount, currency=practice.currency),
            source_key=source,
            memo=f"{label} {reference}".strip() if not memo else f"{label} {reference} — {memo}".strip(),
            method=method,
            owner_id=owner_id,
        )
        if entry is None:  # a retried request: return the entry it made
            existing = self._ledger.posted(practice_id, source)
            if existing is None or existing.client_id != client_id:
                raise ConflictError("this Idempotency-Key was used for another client")
            return existing
        return entry
