"""A practice's book of invoices: reading and listing them, and creating drafts from the ledger's
session charges (per session, per day, over a period) or standalone lines staff enter. A draft is
created once per request key (its id is derived from it), with its number from the practice's
counter and a guard per charge it bills, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from therabill.clients.models import BillingParty
from therabill.clients.service import ClientService
from therabill.core.clock import Clock, local_date
from therabill.core.errors import ConflictError, InvalidRequestError
from therabill.core.ids import derived_id
from therabill.core.money import Money
from therabill.core.replay import replayed
from therabill.invoices.charges import ChargeSelection
from therabill.invoices.models import (
    MAX_LINES,
    AppliedPayment,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    LineCategory,
    new_access_code,
)
from therabill.invoices.store import InvoiceStore
from therabill.observability import logger
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService

DEFAULT_DUE_DAYS = 30


class StandaloneLine:
    """One line of a standalone invoice, as staff enter it."""

    def __init__(self, description: str, amount: int, category: LineCategory) -> None:
        self.description = description
        self.amount = amount
        self.category = category


@dataclass(frozen=True)
class _Request:
    """What a creation request asks for (the arguments of ``InvoiceBook.create``)."""

    client_id: str
    owner_id: str | None
    kind: InvoiceKind
    created_by: str
    session_id: str | None
    session_ids: tuple[str, ...]
    start: date | None
    end: date | None
    lines: list[StandaloneLine] | None
    due_date: date | None
    memo: str


class InvoiceBook:
    def __init__(
        self,
        *,
        store: InvoiceStore,
        clock: Clock,
        practices: PracticeService,
        clients: ClientService,
        charges: ChargeSelection,
    ) -> None:
        self._store = store
        self._clock = clock
        self._practices = practices
        self._clients = clients
        self._charges = charges

    # -- reads ----------------------------------------------------------------------------------
    def get(self, practice_id: str, invoice_id: str) -> Invoice:
        return self._store.get(practice_id, invoice_id)

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
            found, next_cursor = self._store.list_client(practice_id, client_id, limit, cursor)
            return [i for i in found if status is None or i.status == status], next_cursor
        if not status:
            raise InvalidRequestError(
                "give status or client_id (or both): which invoices to list", field="status"
            )
        return self._store.list_status(practice_id, status, limit, cursor)

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
        session_ids: tuple[str, ...] = (),
    ) -> tuple[Invoice, bool]:
        """Create a draft. Returns (invoice, created); the same request key again returns the
        invoice it made (a different request under the same key is a 409)."""
        invoice_id = derived_id("inv", practice_id, request_key)
        replayed = self._replay(practice_id, invoice_id, client_id=client_id, kind=kind)
        if replayed is not None:
            return replayed, False
        request = _Request(
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
        return self._insert(practice_id, self._draft(practice_id, invoice_id, request))

    def _replay(
        self, practice_id: str, invoice_id: str, *, client_id: str, kind: InvoiceKind
    ) -> Invoice | None:
        """The invoice this request key already made, if any (another request under it: a 409)."""
        return replayed(
            self._store.find(practice_id, invoice_id),
            same=lambda inv: (inv.client_id, inv.kind) == (client_id, kind),
            conflict="this Idempotency-Key was used for a different invoice",
            invoice_id=invoice_id,
        )

    def _draft(self, practice_id: str, invoice_id: str, req: _Request) -> Invoice:
        practice = self._practices.get(practice_id)
        party = self._clients.billing_party(
            practice_id, req.client_id, req.owner_id
        )  # 404 outside the practice
        now = self._clock()
        today = local_date(now, practice.time_zone)
        built, credits = self._lines(practice, party, invoice_id, req, today)
        total = sum((line.amount for line in built), Money.zero(practice.currency))
        if total.amount <= 0:
            raise InvalidRequestError("an invoice must be for a positive amount", field="lines")
        due = req.due_date or today + timedelta(days=DEFAULT_DUE_DAYS)
        if due < today:
            raise InvalidRequestError("the due date is in the past", field="due_date")
        dated = req.kind in ("day", "period", "monthly")
        return Invoice(
            id=invoice_id,
            number=self._store.next_number(practice_id),
            client_id=req.client_id,
            owner_id=party.owner_id,
            kind=req.kind,
            status="draft",
            lines=tuple(built),
            total=total,
            paid=sum((c.amount for c in credits), Money.zero(practice.currency)),
            payments=tuple(credits),
            issue_date=today,
            due_date=due,
            period_start=req.start if dated else None,
            period_end=(req.end or req.start) if dated else None,
            memo=req.memo,
            access_code=new_access_code(),
            created_at=now,
            created_by=req.created_by,
        )

    def _lines(
        self, practice: Practice, party: BillingParty, invoice_id: str, req: _Request, today: date
    ) -> tuple[list[InvoiceLine], list[AppliedPayment]]:
        """The lines staff entered (standalone), or the session charges ``kind`` chooses."""
        credits: list[AppliedPayment] = []
        if req.kind == "standalone":
            if not req.lines:
                raise InvalidRequestError("a standalone invoice needs lines", field="lines")
            built = [
                _standalone_line(invoice_id, n, given, practice.currency, today)
                for n, given in enumerate(req.lines, start=1)
            ]
        else:
            if req.lines:
                raise InvalidRequestError("lines are only for standalone invoices", field="lines")
            built, credits = self._charges.lines_for(
                practice,
                party,
                kind=req.kind,
                session_id=req.session_id,
                start=req.start,
                end=req.end,
                session_ids=req.session_ids,
            )
        if len(built) > MAX_LINES:
            raise InvalidRequestError(f"an invoice has at most {MAX_LINES} lines", field="lines")
        return built, credits

    def _insert(self, practice_id: str, invoice: Invoice) -> tuple[Invoice, bool]:
        try:
            self._store.create(practice_id, invoice)
        except ConflictError:
            raced = self._store.find(practice_id, invoice.id)  # the same request, concurrently
            if raced:
                return raced, False
            raise
        logger.info("invoice created", invoice_id=invoice.id, lines=len(invoice.lines), kind=invoice.kind)
        return invoice, True


def _standalone_line(
    invoice_id: str, n: int, given: StandaloneLine, currency: str, today: date
) -> InvoiceLine:
    return InvoiceLine(
        n=n,
        description=given.description,
        amount=Money(amount=given.amount, currency=currency),
        category=given.category,
        source_key=f"invoice:{invoice_id}:{n}",
        service_date=today,
    )
