"""Payments and refunds applied to an invoice, each once (the hooks call at least once): a payment
pays it (Paid when nothing is left), a refund of one makes it owe that again (a Paid one reopens).
Which invoice a card payment pays is named by a pointer written before the charge."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from therabill.core.clock import Clock
from therabill.core.errors import ConflictError
from therabill.core.money import Money
from therabill.invoices.errors import InvoiceChangedError
from therabill.invoices.models import PAYABLE, AppliedPayment, Invoice, next_status
from therabill.invoices.store import InvoiceStore
from therabill.observability import logger
from therabill.payments.models import Payment
from therabill.practices.models import Practice

_TRIES = 8  # optimistic: re-read and re-apply on a lost race, this many times at most


class InvoicePayments:
    def __init__(self, *, store: InvoiceStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    # -- which invoice a payment pays ------------------------------------------------------------
    def point_payment(self, practice_id: str, payment_id: str, invoice_id: str) -> None:
        """Name the invoice a payment pays, BEFORE the charge is made, so the success hook finds
        it whichever path reports the success first (the nightly run's pointer)."""
        self._store.point_payment(practice_id, payment_id, invoice_id)

    def invoice_of_payment(self, practice_id: str, payment_id: str) -> str | None:
        """The invoice a payment was pointed at, if any."""
        return self._store.invoice_of_payment(practice_id, payment_id)

    # -- the hooks ------------------------------------------------------------------------------
    def payment_succeeded(self, practice: Practice, payment: Payment) -> None:
        """The success hook (PaymentService, kinds ``invoice`` and ``balance``): a payment started
        on the pay page is applied to its invoice. At least once per success: idempotent."""
        invoice_id = self._store.invoice_of_payment(practice.id, payment.id)
        if invoice_id is None and payment.kind == "invoice" and payment.reference:
            invoice_id = payment.reference
        if invoice_id is None:
            return  # a balance charge that is not an invoice's
        self.apply_payment(practice.id, invoice_id, payment.id, payment.amount, "card")

    def refund_succeeded(self, practice_id: str, refund_id: str, payment_id: str, amount: Money) -> None:
        """A refund of a payment made for an invoice (RefundService's hook, at least once): the
        invoice owes it again, once per refund; a Paid invoice reopens."""
        invoice_id = self._store.invoice_of_payment(practice_id, payment_id)
        if invoice_id:
            self.apply_refund(practice_id, invoice_id, refund_id, amount)

    def refund_reversed(self, practice_id: str, refund_id: str, payment_id: str, amount: Money) -> None:
        """A refund of an invoice's payment that failed after its success (RefundService's hook, at
        least once): the money is the invoice's again, applied once and up to what it still owes (a
        reopened invoice is Paid; what it was paid again meanwhile stays the client's credit)."""
        invoice_id = self._store.invoice_of_payment(practice_id, payment_id)
        if not invoice_id:
            return
        left = self._store.get(practice_id, invoice_id).balance.amount  # paid again meanwhile: no more
        if left > 0:
            back = Money(amount=min(left, amount.amount), currency=amount.currency)
            self.apply_payment(practice_id, invoice_id, f"{refund_id}-failed", back)

    # -- applying -------------------------------------------------------------------------------
    def apply_payment(
        self, practice_id: str, invoice_id: str, payment_id: str, amount: Money, method: str = "card"
    ) -> Invoice:
        """Apply a succeeded payment once (called at least once per payment): the invoice is Paid
        when nothing is left, else it keeps its status."""

        def pay(inv: Invoice) -> Invoice | None:
            if any(p.payment_id == payment_id for p in inv.payments):
                return None
            if inv.status not in PAYABLE:
                logger.warning(
                    "payment on an invoice that is not payable; left as a credit",
                    invoice_id=inv.id,
                    payment_id=payment_id,
                    status=inv.status,
                )
                return None
            now = self._clock()
            applied = AppliedPayment(payment_id=payment_id, amount=amount, applied_at=now, method=method)
            changes: dict[str, Any] = {"paid": inv.paid + amount, "payments": (*inv.payments, applied)}
            if (inv.paid + amount).amount >= inv.total.amount:
                changes.update(status=next_status(inv.status, "pay"), paid_at=now, next_reminder_at=None)
            return inv.model_copy(update=changes)

        return self._change(practice_id, invoice_id, pay, "the payment will be applied on retry")

    def apply_refund(self, practice_id: str, invoice_id: str, refund_id: str, amount: Money) -> Invoice:
        def refund(inv: Invoice) -> Invoice | None:
            if any(p.payment_id == refund_id for p in inv.payments) or inv.status == "void":
                return None
            back = AppliedPayment(
                payment_id=refund_id,
                amount=Money(amount=-amount.amount, currency=amount.currency),
                applied_at=self._clock(),
                method="refund",
            )
            paid = Money(amount=inv.paid.amount - amount.amount, currency=inv.paid.currency)
            changes: dict[str, Any] = {"paid": paid, "payments": (*inv.payments, back)}
            if inv.status == "paid" and paid.amount < inv.total.amount:
                changes.update(status=next_status(inv.status, "reopen"), paid_at=None)
            return inv.model_copy(update=changes)

        return self._change(practice_id, invoice_id, refund, "the refund will be applied on retry")

    def _change(
        self, practice_id: str, invoice_id: str, change: Callable[[Invoice], Invoice | None], then: str
    ) -> Invoice:
        """Read the invoice, ``change`` it (None: nothing to do) and save; on a lost race, again."""
        for _ in range(_TRIES):
            inv = self._store.get(practice_id, invoice_id)
            new = change(inv)
            if new is None:
                return inv
            try:
                return self._store.save(practice_id, inv, new)
            except InvoiceChangedError:
                continue
        raise ConflictError(f"the invoice is changing too often; {then}")
