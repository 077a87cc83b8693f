"""Reports for staff, from the ledger (the one source of truth for money): payments in a date
range by method, and revenue (gross charges, adjustments, sales returned, net; money in and given
back). Dates are
the practice's local dates, inclusive. The aggregation is pure (``payments_report`` /
``revenue_report``); ``ReportService`` reads the entries. The JSON answers keep integer minor
units; the CSVs (``payments_csv`` / ``revenue_csv``) are for spreadsheets: decimal amounts with a
currency column, the client's name beside its id."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from therabill.clients.service import ClientService
from therabill.core.clock import zone
from therabill.core.csv_text import to_csv
from therabill.core.errors import InvalidRequestError
from therabill.core.money import Money
from therabill.ledger.chart import ADJUSTMENTS
from therabill.ledger.service import LedgerEntry, LedgerService
from therabill.payments.refunds import REFUND_FAILED
from therabill.practices.service import PracticeService

MAX_DAYS = 366
# Not money received: a credit applied, an insurance write-off are adjustments of what is owed.
EXCLUDED_METHODS = frozenset({"credit"})


def received(e: LedgerEntry) -> bool:
    """Money in: a payment, or a credit paid in by a method (a deposit or prepayment by card);
    not credit applied to a charge, nor goodwill credit (no method), nor a failed refund's money."""
    if e.source_key.startswith(REFUND_FAILED):
        return False
    if e.kind == "payment":
        return (e.method or "other") not in EXCLUDED_METHODS
    return e.kind == "credit" and e.method is not None and e.method not in EXCLUDED_METHODS


def adjusted(e: LedgerEntry) -> bool:
    """Booked to the practice's adjustments (write-offs, waivers, voided charges, goodwill credit)."""
    return e.kind == "adjustment" or (e.kind == "credit" and e.method is None)


@dataclass(frozen=True)
class PaymentLine:
    entry: LedgerEntry
    local_date: date


@dataclass
class Payments:
    start: date
    end: date
    currency: str
    rows: list[PaymentLine] = field(default_factory=list)
    client_names: dict[str, str] = field(default_factory=dict)  # client id → name, for the CSV

    @property
    def total(self) -> int:
        return sum(r.entry.amount.amount for r in self.rows)

    @property
    def by_method(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rows:
            method = r.entry.method or "other"
            out[method] = out.get(method, 0) + r.entry.amount.amount
        return dict(sorted(out.items()))


@dataclass
class DayRevenue:
    """One local day (or the range): gross charges, adjustments, money in and money given back."""

    charges: int = 0
    adjustments: int = 0
    returns: int = 0  # sales given back (the store's returns): revenue taken back, not written off
    payments: int = 0
    refunds: int = 0  # refunds and lost disputes

    @property
    def net_revenue(self) -> int:
        return self.charges - self.adjustments - self.returns

    @property
    def collected(self) -> int:
        return self.payments - self.refunds

    def _undo_refund(self, e: LedgerEntry, amount: int) -> None:
        """The money stayed (less refunded); the write-off or the sale given back stands no more."""
        if e.kind != "charge":
            self.refunds -= amount
        elif any(line.account == ADJUSTMENTS for line in e.lines):
            self.adjustments -= amount
        else:
            self.returns -= amount

    def add(self, e: LedgerEntry) -> None:
        amount = e.amount.amount
        if e.source_key.startswith(REFUND_FAILED):  # a refund that failed after its success: undone
            self._undo_refund(e, amount)
        elif e.kind == "charge":
            self.charges += amount
        elif adjusted(e):
            self.adjustments += amount
        elif e.kind == "return":
            self.returns += amount
        elif e.kind == "credit_reversal":  # a staff credit taken back undoes what it booked
            if e.method is None:
                self.adjustments -= amount
            else:
                self.refunds += amount
        elif e.kind in ("refund", "chargeback"):
            self.refunds += amount
        elif received(e):
            self.payments += amount


@dataclass
class Revenue:
    start: date
    end: date
    currency: str
    days: dict[str, DayRevenue] = field(default_factory=dict)  # every local day of the range, in order

    @property
    def total(self) -> DayRevenue:
        return DayRevenue(
            charges=sum(d.charges for d in self.days.values()),
            adjustments=sum(d.adjustments for d in self.days.values()),
            returns=sum(d.returns for d in self.days.values()),
            payments=sum(d.payments for d in self.days.values()),
            refunds=sum(d.refunds for d in self.days.values()),
        )

    @property
    def by_day(self) -> dict[str, int]:
        """Net revenue per local day."""
        return {day: d.net_revenue for day, d in self.days.items()}


def check_range(start: date, end: date) -> None:
    if end < start:
        raise InvalidRequestError("end is before start", field="end")
    if (end - start).days >= MAX_DAYS:
        raise InvalidRequestError(f"a report covers {MAX_DAYS} days at most", field="end")


def _in_range(
    entries: Iterable[LedgerEntry], start: date, end: date, tz_name: str, currency: str
) -> list[PaymentLine]:
    tz = zone(tz_name)
    out = []
    for e in entries:
        local = e.posted_at.astimezone(tz).date()
        if start <= local <= end and e.amount.currency == currency:
            out.append(PaymentLine(e, local))
    return out


def payments_report(
    entries: Iterable[LedgerEntry], *, start: date, end: date, tz_name: str, currency: str
) -> Payments:
    """Every payment (money in) posted in the range, by method; credits applied are not payments."""
    report = Payments(start, end, currency)
    for line in _in_range(entries, start, end, tz_name, currency):
        if received(line.entry):
            report.rows.append(line)
    report.rows.sort(key=lambda r: (r.entry.posted_at, r.entry.id))
    return report


def revenue_report(
    entries: Iterable[LedgerEntry], *, start: date, end: date, tz_name: str, currency: str
) -> Revenue:
    report = Revenue(start, end, currency)
    day = start
    while day <= end:
        report.days[day.isoformat()] = DayRevenue()
        day += timedelta(days=1)
    for line in _in_range(entries, start, end, tz_name, currency):
        report.days[line.local_date.isoformat()].add(line.entry)
    return report


def _decimal(amount: int, currency: str) -> Decimal:
    """Minor units as the decimal a spreadsheet reads: 2500 USD → 25.00 (exact)."""
    return Decimal(Money(amount=amount, currency=currency).decimal_text())


def payments_csv(report: Payments) -> str:
    """One row a payment: its local date, the client (id and name), method, amount and currency."""
    return to_csv(
        ["date", "posted_at", "client_id", "client_name", "method", "amount", "currency", "payment_id"],
        [
            (
                r.local_date.isoformat(),
                r.entry.posted_at.isoformat(),
                r.entry.client_id,
                report.client_names.get(r.entry.client_id, ""),
                r.entry.method or "other",
                _decimal(r.entry.amount.amount, report.currency),
                report.currency.upper(),
                r.entry.payment_id or "",
            )
            for r in report.rows
        ],
    )


def revenue_csv(report: Revenue) -> str:
    """One row a local day: gross charges, adjustments, returns, net; payments, refunds, collected."""
    columns = ("charges", "adjustments", "returns", "net_revenue", "payments", "refunds", "collected")
    return to_csv(
        ["date", "currency", "gross", "adjustments", "returns", "net", "payments", "refunds", "collected"],
        [
            (day, report.currency.upper(), *(_decimal(getattr(d, c), report.currency) for c in columns))
            for day, d in report.days.items()
        ],
    )


class ReportService:
    def __init__(self, practices: PracticeService, clients: ClientService, ledger: LedgerService) -> None:
        self._practices = practices
        self._clients = clients
        self._ledger = ledger

    def _entries(self, practice_id: str) -> tuple[list[LedgerEntry], dict[str, str]]:
        """Every ledger entry of the practice: each client's ledger (pattern 11), client by client;
        and each client's name by id."""
        entries: list[LedgerEntry] = []
        names: dict[str, str] = {}
        cursor: str | None = None
        while True:
            clients, cursor = self._clients.list_page(practice_id, limit=100, cursor=cursor)
            for client in clients:
                names[client.id] = client.display_name
                entries.extend(self._ledger.entries(practice_id, client.id))
            if not cursor:
                return entries, names

    def payments(self, practice_id: str, start: date, end: date) -> Payments:
        check_range(start, end)
        practice = self._practices.get(practice_id)
        entries, names = self._entries(practice_id)
        report = payments_report(
            entries, start=start, end=end, tz_name=practice.time_zone, currency=practice.currency
        )
        report.client_names = names
        return report

    def revenue(self, practice_id: str, start: date, end: date) -> Revenue:
        check_range(start, end)
        practice = self._practices.get(practice_id)
        return revenue_report(
            self._entries(practice_id)[0],
            start=start,
            end=end,
            tz_name=practice.time_zone,
            currency=practice.currency,
        )
