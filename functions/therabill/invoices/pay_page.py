"""Paying an invoice on the public pay page: all of its balance or part of it, with a new card (an
on-session PaymentIntent the page confirms with Stripe.js) or with one of the billing party's saved
cards (charged now, kind ``balance``: its consent must cover balances). The invoice is named by a
pointer written BEFORE any payment, so the success hook finds it whichever path reports the
success first."""

from __future__ import annotations

import contextlib

from therabill.cards.service import CardService
from therabill.core.errors import ConflictError, InvalidRequestError, NotFoundError, UnauthorizedError
from therabill.core.ids import derived_id
from therabill.invoices.applying import InvoicePayments
from therabill.invoices.models import PAYABLE, Invoice
from therabill.invoices.store import InvoiceStore
from therabill.payments.models import Payment
from therabill.payments.service import PaymentService
from therabill.practices.models import Practice


class PagePayments:
    def __init__(self, *, store: InvoiceStore, cards: CardService, payments: InvoicePayments) -> None:
        self._store = store
        self._cards = cards
        self._payments = payments

    def start_page_payment(
        self,
        practice_id: str,
        invoice_id: str,
        *,
        request_id: str,
        amount: int,
        card_id: str | None,
        payments: PaymentService,
    ) -> tuple[Payment, str | None]:
        """Start paying ``amount`` (at most the balance): (the payment, the client secret the page
        confirms with; None for a saved card, charged now)."""
        inv = self._payable(practice_id, invoice_id, amount)
        request_key = f"invoice:{inv.id}:{request_id}"
        payment_id = derived_id("pay", practice_id, request_key)
        self._store.point_page_payment(practice_id, payment_id, inv.id, amount)
        if card_id is None:
            return payments.start_client_payment(
                practice_id,
                client_id=inv.client_id,
                owner_id=inv.owner_id,
                request_key=request_key,
                amount=amount,
                kind="invoice",
                memo=f"Invoice {inv.number}",
                created_by="pay-page",
                reference=inv.id,
            )
        payment = self._charge_saved_card(
            practice_id, inv, request_key=request_key, amount=amount, card_id=card_id, payments=payments
        )
        return payment, None

    def confirm_page_payment(
        self, practice: Practice, invoice_id: str, payment_id: str, payments: PaymentService
    ) -> Invoice:
        """After Stripe.js confirmed: if Stripe says the PaymentIntent succeeded, record it now
        (the webhook may be late); the hook applies it. Returns the invoice as it now is."""
        if self._store.invoice_of_payment(practice.id, payment_id) != invoice_id:
            raise NotFoundError("payment not found")
        payment = payments.get(practice.id, payment_id)
        if payment.status != "succeeded" and payment.on_session:
            with contextlib.suppress(ConflictError):  # "already made": recorded just now
                payments.client_secret(practice, payment_id)
            payment = payments.get(practice.id, payment_id)
        if payment.status == "succeeded":
            self._payments.apply_payment(practice.id, invoice_id, payment.id, payment.amount)
        return self._store.get(practice.id, invoice_id)

    def _payable(self, practice_id: str, invoice_id: str, amount: int) -> Invoice:
        """The invoice, if it can be paid ``amount`` on the page now."""
        inv = self._store.get(practice_id, invoice_id)
        if inv.locked:
            raise UnauthorizedError("this invoice is locked; contact the practice")
        if inv.status not in PAYABLE:
            raise ConflictError(f"an invoice that is {inv.status} cannot be paid", current_status=inv.status)
        if amount <= 0 or amount > inv.balance.amount:
            raise InvalidRequestError(
                f"the amount must be between 1 and the balance of {inv.balance.format()}", field="amount"
            )
        return inv

    def _charge_saved_card(
        self,
        practice_id: str,
        inv: Invoice,
        *,
        request_key: str,
        amount: int,
        card_id: str,
        payments: PaymentService,
    ) -> Payment:
        card = self._cards.get_card(practice_id, inv.client_id, card_id)
        if card.owner_id != inv.owner_id or card.status != "active":
            raise NotFoundError("card not found")
        payment = payments.charge_saved_card(
            practice_id,
            client_id=inv.client_id,
            request_key=request_key,
            amount=amount,
            kind="balance",
            memo=f"Invoice {inv.number}",
            created_by="pay-page",
            card_id=card.id,
            owner_id=inv.owner_id,
        )
        if payment.status == "succeeded":  # the hook did it too; applying is idempotent
            self._payments.apply_payment(practice_id, inv.id, payment.id, payment.amount)
        return payment
