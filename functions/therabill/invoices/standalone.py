"""The ledger charges a standalone invoice posts itself (a late fee, a product, a balance carried
over): each line's charge once (``invoice:<inv>:<n>``), the credit the ledger applies to it shown
on the invoice as paid by credit, and on void each one reversed once (``invoice-void:<inv>:<n>``)."""

from __future__ import annotations

from therabill.invoices.applying import InvoicePayments
from therabill.invoices.models import CREDIT_APPLY, Invoice
from therabill.ledger.service import LedgerService


class StandaloneCharges:
    def __init__(self, *, ledger: LedgerService, payments: InvoicePayments) -> None:
        self._ledger = ledger
        self._payments = payments

    def post(self, practice_id: str, inv: Invoice) -> None:
        """Post each standalone line's charge once; the billing party's credit the ledger applies
        to it is applied to the invoice as a payment by credit (once: keyed by the application's
        source)."""
        for line in inv.lines:
            if line.category == "charge":
                continue
            posted = self._ledger.post_charge(
                practice_id,
                client_id=inv.client_id,
                amount=line.amount,
                source_key=line.source_key,
                memo=f"Invoice {inv.number}: {line.description}",
                owner_id=inv.owner_id,
            )
            if posted.credit_applied.amount > 0:
                self._payments.apply_payment(
                    practice_id, inv.id, CREDIT_APPLY + line.source_key, posted.credit_applied, "credit"
                )

    def reverse(self, practice_id: str, inv: Invoice) -> None:
        """Reverse each standalone charge of a void invoice once."""
        for line in inv.lines:
            if line.category != "charge":
                self._ledger.post(
                    practice_id,
                    client_id=inv.client_id,
                    kind="adjustment",
                    amount=line.amount,
                    source_key=f"invoice-void:{inv.id}:{line.n}",
                    memo=f"Invoice {inv.number} voided",
                    owner_id=inv.owner_id,
                )
