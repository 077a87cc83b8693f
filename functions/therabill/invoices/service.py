"""Invoices, one door for the API, the nightly run, the hooks and the sweep: ``InvoiceService``
answers each call with the part that holds its concern and holds none of its own
(``InvoiceService.build`` makes the parts from the collaborators).

* ``book``: reading, listing and creating drafts (``InvoiceBook``);
* ``lifecycle``: send, resend, the PDF, void, uncollectible, a new card, unlock
  (``InvoiceLifecycle``);
* ``payments``: payments and refunds applied to an invoice, and which invoice a payment pays
  (``InvoicePayments``);
* ``pay_page``: paying on the public pay page (``PagePayments``);
* ``manual``: cash and checks staff take (``ManualPayments``);
* ``sweeper``: the scheduled sweep, overdue and reminders (``InvoiceSweep``).
"""

from __future__ import annotations

from datetime import date, datetime

from therabill.cards.service import CardService
from therabill.clients.service import ClientService
from therabill.core.clock import Clock
from therabill.core.money import Money
from therabill.invoices.applying import InvoicePayments
from therabill.invoices.book import InvoiceBook, StandaloneLine
from therabill.invoices.charges import ChargeSelection
from therabill.invoices.delivery import InvoiceDelivery
from therabill.invoices.lifecycle import InvoiceLifecycle
from therabill.invoices.manual import ManualPayments
from therabill.invoices.models import Invoice, InvoiceKind
from therabill.invoices.pay_page import PagePayments
from therabill.invoices.standalone import StandaloneCharges
from therabill.invoices.store import InvoiceStore
from therabill.invoices.sweep import InvoiceSweep
from therabill.ledger.service import LedgerService
from therabill.notifications.mailer import Outbox
from therabill.payments.models import Payment
from therabill.payments.refunds import ManualMethod, RefundService
from therabill.payments.service import PaymentService
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService
from therabill.sessions.service import SessionService

__all__ = ["InvoiceService", "StandaloneLine"]


class InvoiceService:
    def __init__(  # the parts of invoices, one a concern (see the module's docstring)
        self,
        *,
        store: InvoiceStore,
        book: InvoiceBook,
        lifecycle: InvoiceLifecycle,
        payments: InvoicePayments,
        pay_page: PagePayments,
        manual: ManualPayments,
        sweeper: InvoiceSweep,
    ) -> None:
        self.store = store
        self.book = book
        self.lifecycle = lifecycle
        self.payments = payments
        self.pay_page = pay_page
        self.manual = manual
        self.sweeper = sweeper

    @classmethod
    def build(  # the composition of invoices: each collaborator goes to the parts that need it
        cls,
        *,
        store: InvoiceStore,
        clock: Clock,
        practices: PracticeService,
        clients: ClientService,
        sessions: SessionService,
        ledger: LedgerService,
        outbox: Outbox,
        cards: CardService,
        public_base_url: str,
    ) -> InvoiceService:
        payments = InvoicePayments(store=store, clock=clock)
        delivery = InvoiceDelivery(
            practices=practices, clients=clients, outbox=outbox, public_base_url=public_base_url
        )
        charges = ChargeSelection(store=store, sessions=sessions, ledger=ledger)
        standalone = StandaloneCharges(ledger=ledger, payments=payments)
        return cls(
            store=store,
            book=InvoiceBook(store=store, clock=clock, practices=practices, clients=clients, charges=charges),
            lifecycle=InvoiceLifecycle(
                store=store, clock=clock, delivery=delivery, cards=cards, standalone=standalone
            ),
            payments=payments,
            pay_page=PagePayments(store=store, cards=cards, payments=payments),
            manual=ManualPayments(store=store, payments=payments),
            sweeper=InvoiceSweep(store=store, clock=clock, practices=practices, delivery=delivery),
        )

    # -- reads and creation ---------------------------------------------------------------------
    def get(self, practice_id: str, invoice_id: str) -> Invoice:
        return self.book.get(practice_id, invoice_id)

    def list_invoices(
        self,
        practice_id: str,
        *,
        status: str | None,
        client_id: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Invoice], str | None]:
        return self.book.list_invoices(
            practice_id, status=status, client_id=client_id, limit=limit, cursor=cursor
        )

    def create(  # the request's fields, passed on as they came
        self,
        practice_id: str,
        *,
        request_key: str,
        client_id: str,
        owner_id: str | None,
        kind: InvoiceKind,
        created_by: str,
        session_id: str | None = None,
        start: date | None = None,
        end: date | None = None,
        lines: list[StandaloneLine] | None = None,
        due_date: date | None = None,
        memo: str = "",
        session_ids: tuple[str, ...] = (),
    ) -> tuple[Invoice, bool]:
        """Create a draft. Returns (invoice, created); the same request key again returns the
        invoice it made (a different request under the same key is a 409). ``monthly``: the
        charges of ``session_ids``, dated ``start``..``end``."""
        return self.book.create(
            practice_id,
            request_key=request_key,
            client_id=client_id,
            owner_id=owner_id,
            kind=kind,
            created_by=created_by,
            session_id=session_id,
            session_ids=session_ids,
            start=start,
            end=end,
            lines=lines,
            due_date=due_date,
            memo=memo,
        )

    # -- the lifecycle --------------------------------------------------------------------------
    def send(self, practice_id: str, invoice_id: str) -> Invoice:
        return self.lifecycle.send(practice_id, invoice_id)

    def mark_sending(self, practice_id: str, inv: Invoice) -> Invoice:
        """Draft → Sending (the nightly run does it before it charges what the invoice bills)."""
        return self.lifecycle.mark_sending(practice_id, inv)

    def resend(self, practice_id: str, invoice_id: str) -> Invoice:
        return self.lifecycle.resend(practice_id, invoice_id)

    def pdf(self, practice_id: str, invoice_id: str) -> tuple[Invoice, bytes]:
        return self.lifecycle.pdf(practice_id, invoice_id)

    def void(self, practice_id: str, invoice_id: str, reason: str) -> Invoice:
        return self.lifecycle.void(practice_id, invoice_id, reason)

    def mark_uncollectible(self, practice_id: str, invoice_id: str) -> Invoice:
        return self.lifecycle.mark_uncollectible(practice_id, invoice_id)

    def request_payment_method(self, practice_id: str, invoice_id: str, by: str) -> Invoice:
        return self.lifecycle.request_payment_method(practice_id, invoice_id, by)

    def unlock(self, practice_id: str, invoice_id: str) -> Invoice:
        return self.lifecycle.unlock(practice_id, invoice_id)

    # -- payments and refunds applied -----------------------------------------------------------
    def point_payment(self, practice_id: str, payment_id: str, invoice_id: str) -> None:
        """Name the invoice a payment pays, before the charge is made (the success hook then
        finds it whichever path reports the success first)."""
        self.payments.point_payment(practice_id, payment_id, invoice_id)

    def invoice_of_payment(self, practice_id: str, payment_id: str) -> str | None:
        return self.payments.invoice_of_payment(practice_id, payment_id)

    def apply_payment(
        self, practice_id: str, invoice_id: str, payment_id: str, amount: Money, method: str = "card"
    ) -> Invoice:
        return self.payments.apply_payment(practice_id, invoice_id, payment_id, amount, method)

    def apply_refund(self, practice_id: str, invoice_id: str, refund_id: str, amount: Money) -> Invoice:
        return self.payments.apply_refund(practice_id, invoice_id, refund_id, amount)

    def payment_succeeded(self, practice: Practice, payment: Payment) -> None:
        self.payments.payment_succeeded(practice, payment)

    def payment_given_up(self, practice: Practice, payment: Payment) -> None:
        """A card charge of an invoice not yet sent (the nightly run's, while the card is retried)
        given up: the invoice goes to the billing party now (once: a sent one is left as it is)."""
        invoice_id = self.payments.invoice_of_payment(practice.id, payment.id)
        if invoice_id is not None and self.get(practice.id, invoice_id).status in ("draft", "sending"):
            self.send(practice.id, invoice_id)

    def refund_succeeded(self, practice_id: str, refund_id: str, payment_id: str, amount: Money) -> None:
        self.payments.refund_succeeded(practice_id, refund_id, payment_id, amount)

    def refund_reversed(self, practice_id: str, refund_id: str, payment_id: str, amount: Money) -> None:
        self.payments.refund_reversed(practice_id, refund_id, payment_id, amount)

    # -- taking payments ------------------------------------------------------------------------
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
        return self.pay_page.start_page_payment(
            practice_id, invoice_id, request_id=request_id, amount=amount, card_id=card_id, payments=payments
        )

    def confirm_page_payment(
        self, practice: Practice, invoice_id: str, payment_id: str, payments: PaymentService
    ) -> Invoice:
        return self.pay_page.confirm_page_payment(practice, invoice_id, payment_id, payments)

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
        return self.manual.record_manual_payment(
            practice_id,
            invoice_id,
            request_key=request_key,
            amount=amount,
            method=method,
            reference=reference,
            refunds=refunds,
        )

    # -- the scheduled sweep --------------------------------------------------------------------
    def sweep(self, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
        return self.sweeper.sweep(now, limit)
