"""The session charges an invoice bills: the billing party's ledger charges chosen by the
invoice's kind (one session, one day, a period), less those already on another invoice, those the
session still collects itself (a copay or a fee), and those credit already paid in full. The
credit the ledger applied to a charge (``credit-apply:<source>``) is shown as paid by credit.
Each line names the service and the session's local date ("Speech therapy session", "Copay —
Speech therapy", "Late cancellation fee — Speech therapy"); never a code, a diagnosis or a note."""

from __future__ import annotations

from datetime import date, tzinfo

from therabill.clients.models import BillingParty
from therabill.core.clock import zone
from therabill.core.errors import InvalidRequestError, NotFoundError
from therabill.invoices.errors import NothingToInvoiceError
from therabill.invoices.models import (
    CREDIT_APPLY,
    AppliedPayment,
    InvoiceKind,
    InvoiceLine,
    session_of_source,
)
from therabill.invoices.store import InvoiceStore
from therabill.ledger.service import LedgerEntry, LedgerService
from therabill.practices.models import Practice
from therabill.sessions.models import Session
from therabill.sessions.service import SessionService

# A copay or fee the session still has a chance to collect (or has collected) is not invoiced.
_INVOICEABLE_CHARGE_STATUS = frozenset({"due", "balance"})
_FEE_NAMES = {"late_cancellation_tier": "Late cancellation fee", "no_show": "No-show fee"}
MAX_PERIOD_DAYS = 366


class ChargeSelection:
    def __init__(self, *, store: InvoiceStore, sessions: SessionService, ledger: LedgerService) -> None:
        self._store = store
        self._sessions = sessions
        self._ledger = ledger

    def lines_for(
        self,
        practice: Practice,
        party: BillingParty,
        *,
        kind: InvoiceKind,
        session_id: str | None,
        start: date | None,
        end: date | None,
        session_ids: tuple[str, ...] = (),
    ) -> tuple[list[InvoiceLine], list[AppliedPayment]]:
        """The lines of the charges chosen by ``kind`` (``monthly``: those of ``session_ids``), and
        the credit already applied to them."""
        tz = zone(practice.time_zone)
        all_entries = self._entries_for(practice, party, kind, session_id)
        applied = {
            e.source_key.removeprefix(CREDIT_APPLY): e
            for e in all_entries
            if e.source_key.startswith(CREDIT_APPLY)
        }
        mine = [
            e for e in all_entries if e.kind == "charge" and (e.owner_id or party.client_id) == party.owner_id
        ]
        if kind == "monthly":
            chosen = [e for e in mine if session_of_source(e.source_key) in session_ids]
        else:
            chosen = _choose(mine, kind=kind, session_id=session_id, start=start, end=end, tz=tz)
        lines: list[InvoiceLine] = []
        credits: list[AppliedPayment] = []
        for e in sorted(chosen, key=lambda x: (x.posted_at, x.source_key)):
            credit = applied.get(e.source_key)
            if credit is not None and credit.amount.amount >= e.amount.amount:
                continue  # paid by credit already
            if not self._invoiceable(practice.id, e):
                continue
            if credit is not None:
                credits.append(_paid_by_credit(credit))
            lines.append(self._line_of(practice.id, e, n=len(lines) + 1, tz=tz))
        if not lines:
            raise NothingToInvoiceError(
                "there is nothing left to invoice there (already invoiced or collected)"
            )
        return lines, credits

    def _entries_for(
        self, practice: Practice, party: BillingParty, kind: InvoiceKind, session_id: str | None
    ) -> list[LedgerEntry]:
        """The billing party's ledger entries: for one session, only those since it was booked."""
        if kind != "session" or not session_id:
            return self._ledger.entries(practice.id, party.client_id)
        session = self._sessions.get(practice.id, session_id)
        if session.client_id != party.client_id:
            raise NotFoundError("session not found")
        return self._ledger.session_entries(practice.id, party.client_id, session.created_at)

    def _invoiceable(self, practice_id: str, entry: LedgerEntry) -> bool:
        """Not on another invoice already, and not a copay or fee the session collects itself."""
        if self._store.is_invoiced(practice_id, entry.source_key):
            return False
        prefix = entry.source_key.split(":", 1)[0]
        session_id = session_of_source(entry.source_key)
        if prefix in ("copay", "fee") and session_id:
            session = self._sessions.get(practice_id, session_id)
            record = session.copay if prefix == "copay" else session.fee
            return record is not None and record.status in _INVOICEABLE_CHARGE_STATUS
        return True

    def _line_of(self, practice_id: str, e: LedgerEntry, *, n: int, tz: tzinfo) -> InvoiceLine:
        """The charge's line: what it is for (its service) and when (the session's local date)."""
        session_id = session_of_source(e.source_key)
        prefix = e.source_key.split(":", 1)[0]
        description, when = _described(prefix, None, None), e.posted_at.astimezone(tz).date()
        if session_id:
            try:
                session = self._sessions.get(practice_id, session_id)
                description = _described(prefix, session, self._service_name(practice_id, session))
                when = session.scheduled_start.astimezone(tz).date()
            except NotFoundError:
                pass  # a charge whose session is gone: named by its kind, dated when it was posted
        return InvoiceLine(
            n=n,
            description=description,
            amount=e.amount,
            category="charge",
            source_key=e.source_key,
            session_id=session_id,
            service_date=when,
        )

    def _service_name(self, practice_id: str, session: Session) -> str | None:
        try:
            return self._sessions.service_of(practice_id, session).name
        except NotFoundError:
            return None


def _described(prefix: str, session: Session | None, service: str | None) -> str:
    """ "Speech therapy session", "Copay — Speech therapy", "No-show fee — Speech therapy"."""
    if prefix == "session":
        if not service:
            return "Session"
        return service if service.casefold().endswith("session") else f"{service} session"
    if prefix == "copay":
        what = "Copay"
    else:
        reason = session.fee.reason if session and session.fee else ""
        what = _FEE_NAMES.get(reason, "Cancellation / no-show fee")
    return f"{what} — {service}" if service else what


def _choose(
    charges: list[LedgerEntry],
    *,
    kind: InvoiceKind,
    session_id: str | None,
    start: date | None,
    end: date | None,
    tz: tzinfo,
) -> list[LedgerEntry]:
    """The charges of one session, or of the sessions in a day or a period (local dates)."""
    if kind == "session":
        if not session_id:
            raise InvalidRequestError("a session invoice names its session_id", field="session_id")
        return [e for e in charges if session_of_source(e.source_key) == session_id]
    if start is None:
        raise InvalidRequestError("a day or period invoice names its start date", field="start")
    last = end or start
    if kind == "day" and last != start:
        raise InvalidRequestError("a day invoice covers one day", field="end")
    if last < start or (last - start).days > MAX_PERIOD_DAYS:
        raise InvalidRequestError("the period must run forward, a year at most", field="end")
    return [
        e
        for e in charges
        if session_of_source(e.source_key) and start <= e.posted_at.astimezone(tz).date() <= last
    ]


def _paid_by_credit(credit: LedgerEntry) -> AppliedPayment:
    return AppliedPayment(
        payment_id=credit.source_key, amount=credit.amount, applied_at=credit.posted_at, method="credit"
    )
