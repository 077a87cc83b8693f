"""Cash or a check staff take for an invoice: the ledger payment (once per request key, on the
invoice's billing party's account), then applied to the invoice (once per ledger entry)."""

from __future__ import annotations

from therabill.core.errors import ConflictError, InvalidRequestError
from therabill.invoices.applying import InvoicePayments
from therabill.invoices.models import PAYABLE, Invoice
from therabill.invoices.store import InvoiceStore
from therabill.payments.refunds import ManualMethod, RefundService


class ManualPayments:
    def __init__(self, *, store: InvoiceStore, payments: InvoicePayments) -> None:
        self._store = store
        self._payments = payments

    def record_manual_payment(
        self,
        practice_id: str,
        invoice_id: str,
        *,
        request_key: str,
        amount: int,
        method: ManualMethod,
        reference: str,
        refunds: RefundService,
    ) -> Invoice:
        inv = self._store.get(practice_id, invoice_id)
        if inv.status not in PAYABLE:
            raise ConflictError(f"an invoice that is {inv.status} cannot be paid", current_status=inv.status)
        if amount > inv.balance.amount:
            raise InvalidRequestError(
                f"the amount is more than the balance of {inv.balance.format()}", field="amount"
            )
        entry = refunds.record_manual_payment(
            practice_id,
            client_id=inv.client_id,
            request_key=f"invoice:{inv.id}:{request_key}",
            amount=amount,
            method=method,
            reference=reference,
            memo=f"Invoice {inv.number}",
            owner_id=inv.owner_id,
        )
        return self._payments.apply_payment(practice_id, inv.id, entry.id, entry.amount, method)
