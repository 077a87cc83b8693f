"""Invoices: create from ledger charges (per session, per day, over a period) or standalone, send
with the PDF, resend, void, mark uncollectible, ask for a new card, apply payments, and the
scheduled sweep (open → overdue at the due date, then reminders, each at most once).

Every change is one versioned write (``InvoiceStore.save``); a status change is checked by the
pure table in ``models.next_status`` first. Effects are keyed by our ids: the ledger charge of a
standalone line (``invoice:<inv>:<n>``), its reversal on void (``invoice-void:<inv>:<n>``), and
each email (outbox ``invoice:<inv>:<send n>``, ``invoice-reminder:<inv>:<n>``,
``invoice-card:<inv>:<n>``), so a retry after a crash repeats none of them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from therabill.adapters.dynamo import ConditionFailed
from therabill.cards.models import ConsentScope
from therabill.cards.service import CardService
from therabill.clients.models import Payer
from therabill.clients.service import ClientService
from therabill.core import keys
from therabill.core.clock import Clock, iso, zone
from therabill.core.errors import (
    ConflictError,
    DependencyUnavailableError,
    InvalidRequestError,
    NotFoundError,
    TherabillError,
    UnauthorizedError,
)
from therabill.core.ids import derived_id
from therabill.core.money import Money
from therabill.invoices import emails
from therabill.invoices.models import (
    MAX_LINES,
    PAYABLE,
    RESENDABLE,
    AppliedPayment,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    LineCategory,
    new_access_code,
    next_status,
)
from therabill.invoices.store import InvoiceStore, from_item
from therabill.ledger.service import LedgerEntry, LedgerService
from therabill.notifications.mailer import Outbox
from therabill.observability import logger
from therabill.payments.models import Payment
from therabill.payments.refunds import ManualMethod, RefundService
from therabill.payments.service import PaymentService
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService
from therabill.sessions.service import SessionService

DEFAULT_DUE_DAYS = 30
# Reminders of an overdue invoice: at these offsets after it became overdue, each at most once.
REMINDER_OFFSETS = (timedelta(0), timedelta(days=7), timedelta(days=14), timedelta(days=30))
CARD_LINK_VALID_FOR = timedelta(days=7)
_SESSION_CHARGES = ("session", "copay", "fee")
# A copay or fee the session still has a chance to collect (or has collected) is not invoiced.
_INVOICEABLE_CHARGE_STATUS = frozenset({"due", "balance"})
CREDIT_APPLY = "credit-apply:"  # the ledger's source key of credit applied to a charge
_MEMO = {"session": "Session", "copay": "Copay", "fee": "Cancellation / no-show fee"}


class StandaloneLine:
    """One line of a standalone invoice, as staff enter it."""

    def __init__(self, description: str, amount: int, category: LineCategory) -> None:
        self.description = description
        self.amount = amount
        self.category = category


class InvoiceService:
    def __init__(
        self,
        store: InvoiceStore,
        clock: Clock,
        practices: PracticeService,
        clients: ClientService,
        sessions: SessionService,
        ledger: LedgerService,
        outbox: Outbox,
        cards: CardService,
        public_base_url: str,
    ) -> None:
        self.store = store
        self._clock = clock
        self._practices = practices
        self._clients = clients
        self._sessions = sessions
        self._ledger = ledger
        self._outbox = outbox
        self._cards = cards
        self._public_base_url = public_base_url.rstrip("/")

    def now(self) -> datetime:
        return self._clock()

    def pay_url(self, practice_id: str) -> str:
        return f"{self._public_base_url}/pay/invoice/{practice_id}"

    # -- reads ----------------------------------------------------------------------------------
    def get(self, practice_id: str, invoice_id: str) -> Invoice:
        return self.store.get(practice_id, invoice_id)

    def list_invoices(
        self,
        practice_id: str,
        *,
        status: str | None,
        client_id: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Invoice], str | None]:
        if client_id:
            self._clients.get(practice_id, client_id)  # 404 outside the caller's practice
            found, next_cursor = self.store.list_client(practice_id, client_id, limit, cursor)
            return [i for i in found if status is None or i.status == status], next_cursor
        if not status:
            raise InvalidRequestError("list by status or by client_id", field="status")
        return self.store.list_status(practice_id, status, limit, cursor)

    # -- creation -------------------------------------------------------------------------------
    def create(
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
    ) -> tuple[Invoice, bool]:
        """Create a draft. Returns (invoice, created); the same request key again returns the
        invoice it made (a different request under the same key is a 409)."""
        invoice_id = derived_id("inv", practice_id, request_key)
        existing = self.store.find(practice_id, invoice_id)
        if existing:
            if (existing.client_id, existing.kind) != (client_id, kind):
                raise ConflictError(
                    "this Idempotency-Key was used for a different invoice", invoice_id=invoice_id
                )
            return existing, False
        practice = self._practices.get(practice_id)
        payer = self._clients.payer(practice_id, client_id, owner_id)  # 404 outside the practice
        now = self._clock()
        today = now.astimezone(zone(practice.time_zone)).date()
        credits: list[AppliedPayment] = []
        if kind == "standalone":
            if not lines:
                raise InvalidRequestError("a standalone invoice needs lines", field="lines")
            built = [
                InvoiceLine(
                    n=n,
                    description=given.description,
                    amount=Money(amount=given.amount, currency=practice.currency),
                    category=given.category,
                    source_key=f"invoice:{invoice_id}:{n}",
                    service_date=today,
                )
                for n, given in enumerate(lines, start=1)
            ]
        else:
            if lines:
                raise InvalidRequestError("lines are only for standalone invoices", field="lines")
            built, credits = self._charge_lines(practice, payer, kind, session_id, start, end)
        if len(built) > MAX_LINES:
            raise InvalidRequestError(f"an invoice has at most {MAX_LINES} lines", field="lines")
        total = sum((line.amount for line in built), Money.zero(practice.currency))
        if total.amount <= 0:
            raise InvalidRequestError("an invoice must be for a positive amount", field="lines")
        due = due_date or today + timedelta(days=DEFAULT_DUE_DAYS)
        if due < today:
            raise InvalidRequestError("the due date is in the past", field="due_date")
        invoice = Invoice(
            id=invoice_id,
            number=self.store.next_number(practice_id),
            client_id=client_id,
            owner_id=payer.owner_id,
            kind=kind,
            status="draft",
            lines=tuple(built),
            total=total,
            paid=sum((c.amount for c in credits), Money.zero(practice.currency)),
            payments=tuple(credits),
            issue_date=today,
            due_date=due,
            period_start=start if kind in ("day", "period") else None,
            period_end=(end or start) if kind in ("day", "period") else None,
            memo=memo,
            access_code=new_access_code(),
            created_at=now,
            created_by=created_by,
        )
        try:
            self.store.create(practice_id, invoice)
        except ConflictError:
            raced = self.store.find(practice_id, invoice_id)  # the same request, concurrently
            if raced:
                return raced, False
            raise
        logger.info("invoice created", invoice_id=invoice.id, lines=len(built), kind=kind)
        return invoice, True

    def _charge_lines(
        self,
        practice: Practice,
        payer: Payer,
        kind: InvoiceKind,
        session_id: str | None,
        start: date | None,
        end: date | None,
    ) -> tuple[list[InvoiceLine], list[AppliedPayment]]:
        """The payer's session charges chosen by ``kind``, and the credit the ledger already
        applied to each (``credit-apply:<source>``), which the invoice shows as paid by credit. A
        charge the credit paid in full is not invoiced."""
        tz = zone(practice.time_zone)
        all_entries = self._entries_for(practice, payer, kind, session_id)
        applied = {
            e.source_key.removeprefix(CREDIT_APPLY): e
            for e in all_entries
            if e.source_key.startswith(CREDIT_APPLY)
        }
        entries = [e for e in all_entries if e.kind == "charge"]
        mine = [e for e in entries if (e.owner_id or payer.client_id) == payer.owner_id]
        if kind == "session":
            if not session_id:
                raise InvalidRequestError("a session invoice names its session_id", field="session_id")
            chosen = [e for e in mine if _session_of(e.source_key) == session_id]
        else:
            if start is None:
                raise InvalidRequestError("a day or period invoice names its start date", field="start")
            last = end or start
            if kind == "day" and last != start:
                raise InvalidRequestError("a day invoice covers one day", field="end")
            if last < start or (last - start).days > 366:
                raise InvalidRequestError("the period must run forward, a year at most", field="end")
            chosen = [
                e
                for e in mine
                if _session_of(e.source_key) and start <= e.posted_at.astimezone(tz).date() <= last
            ]
        lines: list[InvoiceLine] = []
        credits: list[AppliedPayment] = []
        for e in sorted(chosen, key=lambda x: (x.posted_at, x.source_key)):
            credit = applied.get(e.source_key)
            if credit is not None and credit.amount.amount >= e.amount.amount:
                continue  # paid by credit already
            if not self._invoiceable(practice.id, e):
                continue
            if credit is not None:
                credits.append(
                    AppliedPayment(
                        payment_id=credit.source_key,
                        amount=credit.amount,
                        applied_at=credit.posted_at,
                        method="credit",
                    )
                )
            prefix = e.source_key.split(":", 1)[0]
            lines.append(
                InvoiceLine(
                    n=len(lines) + 1,
                    description=_MEMO.get(prefix, e.memo),
                    amount=e.amount,
                    category="charge",
                    source_key=e.source_key,
                    session_id=_session_of(e.source_key),
                    service_date=e.posted_at.astimezone(tz).date(),
                )
            )
        if not lines:
            raise ConflictError("there is nothing left to invoice there (already invoiced or collected)")
        return lines, credits

    def _entries_for(
        self, practice: Practice, payer: Payer, kind: InvoiceKind, session_id: str | None
    ) -> list[LedgerEntry]:
        """The payer's ledger entries: for one session, only those since it was booked."""
        if kind != "session" or not session_id:
            return self._ledger.entries(practice.id, payer.client_id)
        session = self._sessions.get(practice.id, session_id)
        if session.client_id != payer.client_id:
            raise NotFoundError("session not found")
        return self._ledger.session_entries(practice.id, payer.client_id, session.created_at)

    def _invoiceable(self, practice_id: str, entry: LedgerEntry) -> bool:
        """Not on another invoice already, and not a copay or fee the session collects itself."""
        pk = keys.practice_pk(practice_id)
        if self.store.table.get(pk, keys.invoiced_charge_sk(entry.source_key)):
            return False
        prefix = entry.source_key.split(":", 1)[0]
        session_id = _session_of(entry.source_key)
        if prefix in ("copay", "fee") and session_id:
            session = self._sessions.get(practice_id, session_id)
            record = session.copay if prefix == "copay" else session.fee
            return record is not None and record.status in _INVOICEABLE_CHARGE_STATUS
        return True

    # -- sending --------------------------------------------------------------------------------
    def send(self, practice_id: str, invoice_id: str) -> Invoice:
        """Draft → Sending (standalone charges posted) → email with the PDF → Open. A retry of a
        send that stopped half way resumes at Sending; the email goes once."""
        inv = self.store.get(practice_id, invoice_id)
        practice = self._practices.get(practice_id)
        payer = self._clients.payer(practice_id, inv.client_id, inv.owner_id)
        if not payer.email:
            raise ConflictError("the payer has no email address; add one first")
        if inv.status == "draft":
            inv = self.store.save(
                practice_id, inv, inv.model_copy(update={"status": next_status("draft", "send")})
            )
        if inv.status != "sending":
            raise ConflictError(
                f"an invoice that is {inv.status} cannot be sent; resend it instead",
                current_status=inv.status,
            )
        self._post_standalone(practice_id, inv)
        inv = self.store.get(practice_id, inv.id)  # credit may have paid some (or all) of it
        if inv.status == "paid":
            return inv
        self._email_invoice(practice, payer, inv, send_number=1)
        now = self._clock()
        return self.store.save(
            practice_id,
            inv,
            inv.model_copy(update={"status": next_status("sending", "sent"), "sent_at": now, "sends": 1}),
        )

    def resend(self, practice_id: str, invoice_id: str) -> Invoice:
        inv = self.store.get(practice_id, invoice_id)
        if inv.status not in RESENDABLE:
            raise ConflictError(
                f"an invoice that is {inv.status} cannot be resent", current_status=inv.status
            )
        practice = self._practices.get(practice_id)
        payer = self._clients.payer(practice_id, inv.client_id, inv.owner_id)
        if not payer.email:
            raise ConflictError("the payer has no email address; add one first")
        updated = self.store.save(practice_id, inv, inv.model_copy(update={"sends": inv.sends + 1}))
        self._email_invoice(practice, payer, updated, send_number=updated.sends)
        return updated

    def _post_standalone(self, practice_id: str, inv: Invoice) -> None:
        """Post each standalone line's charge once; the payer's credit the ledger applies to it is
        applied to the invoice as a payment by credit (once: keyed by the application's source)."""
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
                self.apply_payment(
                    practice_id, inv.id, CREDIT_APPLY + line.source_key, posted.credit_applied, "credit"
                )

    def _email_invoice(self, practice: Practice, payer: Payer, inv: Invoice, *, send_number: int) -> None:
        assert payer.email
        email = emails.invoice_email(
            practice=practice,
            payer_name=payer.name,
            to=payer.email,
            invoice=inv,
            pay_url=self.pay_url(practice.id),
        )
        try:
            self._outbox.send_once(practice.id, f"invoice:{inv.id}:{send_number}", email)
        except TherabillError:
            raise
        except Exception as exc:  # the provider failed: the invoice stays as it is, retry the call
            logger.warning("invoice email not sent", invoice_id=inv.id, error=type(exc).__name__)
            raise DependencyUnavailableError("the invoice email could not be sent; try again") from exc

    def pdf(self, practice_id: str, invoice_id: str) -> tuple[Invoice, bytes]:
        from therabill.invoices.pdf import render

        inv = self.store.get(practice_id, invoice_id)
        practice = self._practices.get(practice_id)
        payer = self._clients.payer(practice_id, inv.client_id, inv.owner_id)
        return inv, render(practice, payer.name, inv, self.pay_url(practice_id))

    # -- void, uncollectible, a new card --------------------------------------------------------
    def void(self, practice_id: str, invoice_id: str, reason: str) -> Invoice:
        """Void frees the charges it billed (each may go on a new invoice) and reverses the
        standalone charges it posted. Voiding a void invoice again finishes a half-done void."""
        inv = self.store.get(practice_id, invoice_id)
        if inv.status != "void":
            if inv.paid.amount > 0:
                raise ConflictError(
                    "an invoice with payments cannot be voided; refund them or mark it uncollectible",
                    current_status=inv.status,
                )
            changes = {
                "status": next_status(inv.status, "void"),
                "voided_at": self._clock(),
                "void_reason": reason,
                "voided_from": inv.status,
                "next_reminder_at": None,
            }
            inv = self.store.save(practice_id, inv, inv.model_copy(update=changes))
        pk = keys.practice_pk(practice_id)
        for line in inv.lines:
            if line.category == "charge":
                with contextlib.suppress(ConditionFailed):  # only our own guard
                    self.store.table.delete(
                        pk,
                        keys.invoiced_charge_sk(line.source_key),
                        condition="invoice_id = :inv",
                        values={":inv": inv.id},
                    )
        if inv.voided_from not in (None, "draft"):
            # Past Draft every standalone charge is posted (posting is idempotent: a send that
            # stopped half way is completed first), then each is reversed once.
            self._post_standalone(practice_id, inv)
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
        return inv

    def mark_uncollectible(self, practice_id: str, invoice_id: str) -> Invoice:
        inv = self.store.get(practice_id, invoice_id)
        if inv.status == "uncollectible":
            return inv
        to = next_status(inv.status, "uncollectible")
        return self.store.save(
            practice_id, inv, inv.model_copy(update={"status": to, "uncollectible_at": self._clock()})
        )

    def request_payment_method(self, practice_id: str, invoice_id: str, by: str) -> Invoice:
        """Email the payer a link to save a new card (consent scope: balances and session charges)."""
        inv = self.store.get(practice_id, invoice_id)
        if inv.status not in RESENDABLE and inv.status != "uncollectible":
            raise ConflictError(
                f"an invoice that is {inv.status} needs no payment method", current_status=inv.status
            )
        practice = self._practices.get(practice_id)
        payer = self._clients.payer(practice_id, inv.client_id, inv.owner_id)
        if not payer.email:
            raise ConflictError("the payer has no email address; add one first")
        updated = self.store.save(
            practice_id, inv, inv.model_copy(update={"pm_requests": inv.pm_requests + 1})
        )
        scope = ConsentScope(kinds=["balance", "copay", "session_fee", "cancellation_fee"])
        contact = None if payer.owner_id == payer.client_id else payer.owner_id
        _, token = self._cards.create_setup_link(
            practice_id, inv.client_id, contact, scope, by, CARD_LINK_VALID_FOR
        )
        email = emails.new_card_request(
            practice=practice,
            payer_name=payer.name,
            to=payer.email,
            invoice=updated,
            link=f"{self._public_base_url}/setup/{token}",
        )
        self._outbox.send_once(practice_id, f"invoice-card:{inv.id}:{updated.pm_requests}", email)
        return updated

    def unlock(self, practice_id: str, invoice_id: str) -> Invoice:
        """A new access code, and the wrong-code counter back to zero (the old code stops working;
        resend the invoice or read the code to the payer)."""
        inv = self.store.get(practice_id, invoice_id)
        try:
            item = self.store.table.update(
                keys.practice_pk(practice_id),
                keys.invoice_sk(inv.id),
                update="SET access_code = :code, failed_codes = :zero REMOVE locked_at ADD #version :one",
                condition="#version = :v",
                names={"#version": "version"},
                values={":code": new_access_code(), ":zero": 0, ":one": 1, ":v": inv.version},
            )
        except ConditionFailed as exc:
            raise ConflictError("the invoice was changed by someone else; reload and retry") from exc
        logger.info("invoice unlocked with a new access code", invoice_id=inv.id)
        return from_item(item)

    # -- payments -------------------------------------------------------------------------------
    def apply_payment(
        self, practice_id: str, invoice_id: str, payment_id: str, amount: Money, method: str = "card"
    ) -> Invoice:
        """Apply a succeeded payment once (called at least once per payment): the invoice is Paid
        when nothing is left, else it keeps its status. Optimistic: re-read on a lost race."""
        for _ in range(8):
            inv = self.store.get(practice_id, invoice_id)
            if any(p.payment_id == payment_id for p in inv.payments):
                return inv
            if inv.status not in PAYABLE:
                logger.warning(
                    "payment on an invoice that is not payable; left as a credit",
                    invoice_id=inv.id,
                    payment_id=payment_id,
                    status=inv.status,
                )
                return inv
            now = self._clock()
            applied = AppliedPayment(payment_id=payment_id, amount=amount, applied_at=now, method=method)
            changes: dict[str, Any] = {"paid": inv.paid + amount, "payments": (*inv.payments, applied)}
            if (inv.paid + amount).amount >= inv.total.amount:
                changes.update(status=next_status(inv.status, "pay"), paid_at=now, next_reminder_at=None)
            try:
                return self.store.save(practice_id, inv, inv.model_copy(update=changes))
            except ConflictError:
                continue
        raise ConflictError("the invoice is changing too often; the payment will be applied on retry")

    def refund_succeeded(self, practice_id: str, refund_id: str, payment_id: str, amount: Money) -> None:
        """A refund of a payment made for an invoice (RefundService's hook, at least once): the
        invoice owes it again, once per refund; a Paid invoice reopens."""
        pointer = self.store.table.get(keys.practice_pk(practice_id), keys.invoice_payment_sk(payment_id))
        if pointer:
            self.apply_refund(practice_id, str(pointer["invoice_id"]), refund_id, amount)

    def apply_refund(self, practice_id: str, invoice_id: str, refund_id: str, amount: Money) -> Invoice:
        for _ in range(8):
            inv = self.store.get(practice_id, invoice_id)
            if any(p.payment_id == refund_id for p in inv.payments) or inv.status == "void":
                return inv
            now = self._clock()
            back = AppliedPayment(
                payment_id=refund_id,
                amount=Money(amount=-amount.amount, currency=amount.currency),
                applied_at=now,
                method="refund",
            )
            paid = Money(amount=inv.paid.amount - amount.amount, currency=inv.paid.currency)
            changes: dict[str, Any] = {"paid": paid, "payments": (*inv.payments, back)}
            if inv.status == "paid" and paid.amount < inv.total.amount:
                changes.update(status=next_status(inv.status, "reopen"), paid_at=None)
            try:
                return self.store.save(practice_id, inv, inv.model_copy(update=changes))
            except ConflictError:
                continue
        raise ConflictError("the invoice is changing too often; the refund will be applied on retry")

    def payment_succeeded(self, practice: Practice, payment: Payment) -> None:
        """The success hook (PaymentService, kinds ``invoice`` and ``balance``): a payment started
        on the pay page is applied to its invoice. At least once per success: idempotent."""
        pointer = self.store.table.get(keys.practice_pk(practice.id), keys.invoice_payment_sk(payment.id))
        invoice_id = pointer["invoice_id"] if pointer else None
        if invoice_id is None and payment.kind == "invoice" and payment.reference:
            invoice_id = payment.reference
        if invoice_id is None:
            return  # a balance charge that is not an invoice's
        self.apply_payment(practice.id, invoice_id, payment.id, payment.amount, "card")

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
        """Start paying ``amount`` (at most the balance) of an invoice on the pay page: with a new
        card (an on-session PaymentIntent; the page confirms it with Stripe.js and its client
        secret) or with one of the payer's saved cards (charged now, kind ``balance``: its consent
        must cover balances). The invoice is named by a pointer written BEFORE any payment, so
        the success hook finds it whichever path reports the success first."""
        inv = self.store.get(practice_id, invoice_id)
        if inv.locked:
            raise UnauthorizedError("this invoice is locked; contact the practice")
        if inv.status not in PAYABLE:
            raise ConflictError(f"an invoice that is {inv.status} cannot be paid", current_status=inv.status)
        if amount <= 0 or amount > inv.balance.amount:
            raise InvalidRequestError(
                f"the amount must be between 1 and the balance of {inv.balance.format()}", field="amount"
            )
        request_key = f"invoice:{inv.id}:{request_id}"
        payment_id = derived_id("pay", practice_id, request_key)
        pk = keys.practice_pk(practice_id)
        self.store.table.put(
            {
                "PK": pk,
                "SK": keys.invoice_payment_sk(payment_id),
                "type": "invoice_payment",
                "invoice_id": inv.id,
                "amount": amount,
            },
            condition="attribute_not_exists(PK) OR invoice_id = :inv",
            values={":inv": inv.id},
        )
        memo = f"Invoice {inv.number}"
        if card_id is None:
            return payments.start_client_payment(
                practice_id,
                client_id=inv.client_id,
                owner_id=inv.owner_id,
                request_key=request_key,
                amount=amount,
                kind="invoice",
                memo=memo,
                created_by="pay-page",
                reference=inv.id,
            )
        card = self._cards.get_card(practice_id, inv.client_id, card_id)
        if card.owner_id != inv.owner_id or card.status != "active":
            raise NotFoundError("card not found")
        payment = payments.charge_saved_card(
            practice_id,
            client_id=inv.client_id,
            request_key=request_key,
            amount=amount,
            kind="balance",
            memo=memo,
            created_by="pay-page",
            card_id=card.id,
            owner_id=inv.owner_id,
        )
        if payment.status == "succeeded":  # the hook did it too; applying is idempotent
            self.apply_payment(practice_id, inv.id, payment.id, payment.amount)
        return payment, None

    def confirm_page_payment(
        self, practice: Practice, invoice_id: str, payment_id: str, payments: PaymentService
    ) -> Invoice:
        """After Stripe.js confirmed: if Stripe says the PaymentIntent succeeded, record it now
        (the webhook may be late); the hook applies it. Returns the invoice as it now is."""
        pointer = self.store.table.get(keys.practice_pk(practice.id), keys.invoice_payment_sk(payment_id))
        if not pointer or pointer["invoice_id"] != invoice_id:
            raise NotFoundError("payment not found")
        payment = payments.get(practice.id, payment_id)
        if payment.status != "succeeded" and payment.on_session:
            with contextlib.suppress(ConflictError):  # "already made": recorded just now
                payments.client_secret(practice, payment_id)
            payment = payments.get(practice.id, payment_id)
        if payment.status == "succeeded":
            self.apply_payment(practice.id, invoice_id, payment.id, payment.amount)
        return self.store.get(practice.id, invoice_id)

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
        """Cash or a check taken by staff for an invoice: the ledger payment (once per request key,
        on the invoice's payer account), then applied to the invoice (once per entry)."""
        inv = self.store.get(practice_id, invoice_id)
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
        return self.apply_payment(practice_id, inv.id, entry.id, entry.amount, method)

    # -- the scheduled sweep --------------------------------------------------------------------
    def sweep(self, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
        """Open invoices past their due date (in the practice's zone) become Overdue; overdue
        invoices whose next reminder is due get it (outbox key per reminder: at most once).
        Each row is isolated: one that fails is counted and logged, the rest go on."""
        now = now or self._clock()
        counts = {"overdue": 0, "reminded": 0, "errors": 0}
        tomorrow = (now + timedelta(days=1)).date().isoformat()
        page = self.store.table.query(keys.INVOICES_DUE_GSI, index="GSI1", limit=limit)
        for row in page.items:
            if row["GSI1SK"] >= tomorrow:
                break  # ordered by due date
            self._isolated(counts, "overdue", row, lambda r: self._make_overdue(r, now))
        due = iso(now) + "#~"
        page = self.store.table.query(keys.INVOICE_REMINDERS_GSI, index="GSI1", limit=limit)
        for row in page.items:
            if row["GSI1SK"] > due:
                break
            self._isolated(counts, "reminded", row, lambda r: self._remind(r, now))
        return counts

    @staticmethod
    def _isolated(
        counts: dict[str, int], what: str, row: dict[str, Any], work: Callable[[dict[str, Any]], bool]
    ) -> None:
        try:
            if work(row):
                counts[what] += 1
        except Exception as exc:  # one bad row must not stop the others
            logger.error("invoice sweep failed", invoice_id=row.get("id"), error=type(exc).__name__)
            counts["errors"] += 1

    def _make_overdue(self, row: dict[str, Any], now: datetime) -> bool:
        practice = self._practices.get(row["practice_id"])
        inv = self.store.get(practice.id, row["id"])
        if inv.status != "open" or now.astimezone(zone(practice.time_zone)).date() <= inv.due_date:
            return False
        self.store.save(
            practice.id,
            inv,
            inv.model_copy(update={"status": next_status("open", "overdue"), "next_reminder_at": now}),
        )
        return True

    def _remind(self, row: dict[str, Any], now: datetime) -> bool:
        practice = self._practices.get(row["practice_id"])
        inv = self.store.get(practice.id, row["id"])
        if inv.status != "overdue" or inv.next_reminder_at is None or inv.next_reminder_at > now:
            return False
        n = inv.reminders_sent + 1
        payer = self._clients.payer(practice.id, inv.client_id, inv.owner_id)
        if payer.email and inv.balance.amount > 0:
            email = emails.reminder_email(
                practice=practice,
                payer_name=payer.name,
                to=payer.email,
                invoice=inv,
                pay_url=self.pay_url(practice.id),
                number=n,
            )
            self._outbox.send_once(practice.id, f"invoice-reminder:{inv.id}:{n}", email)
        overdue_since = inv.next_reminder_at - REMINDER_OFFSETS[min(n, len(REMINDER_OFFSETS)) - 1]
        following = overdue_since + REMINDER_OFFSETS[n] if n < len(REMINDER_OFFSETS) else None
        self.store.save(
            practice.id, inv, inv.model_copy(update={"reminders_sent": n, "next_reminder_at": following})
        )
        return True


def _session_of(source_key: str) -> str | None:
    """``session:<ses>``, ``copay:<ses>``, ``fee:<ses>`` (and ``…:<owner>``) → the session id."""
    parts = source_key.split(":")
    if len(parts) >= 2 and parts[0] in _SESSION_CHARGES:
        return parts[1]
    return None
