"""Reports for staff, from the ledger (the one source of truth for money): payments in a date
range by method, and revenue. Dates are the practice's local dates, inclusive. The aggregation is
pure (``payments_report`` / ``revenue_report``); ``ReportService`` reads the entries."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from therabill.clients.service import ClientService
from therabill.core.clock import zone
from therabill.core.errors import InvalidRequestError
from therabill.ledger.service import LedgerEntry, LedgerService
from therabill.practices.service import PracticeService

MAX_DAYS = 366
# Not money received: a credit applied, an insurance write-off are adjustments of what is owed.
EXCLUDED_METHODS = frozenset({"credit"})


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
class Revenue:
    start: date
    end: date
    currency: str
    charges: int = 0
    adjustments: int = 0
    refunds: int = 0
    payments: int = 0
    by_day: dict[str, int] = field(default_factory=dict)

    @property
    def net_revenue(self) -> int:
        return self.charges - self.adjustments

    @property
    def collected(self) -> int:
        return self.payments - self.refunds


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
    """Every payment posted in the range, by method; credits applied are not payments."""
    report = Payments(start, end, currency)
    for line in _in_range(entries, start, end, tz_name, currency):
        if line.entry.kind == "payment" and (line.entry.method or "other") not in EXCLUDED_METHODS:
            report.rows.append(line)
    report.rows.sort(key=lambda r: (r.entry.posted_at, r.entry.id))
    return report


def revenue_report(
    entries: Iterable[LedgerEntry], *, start: date, end: date, tz_name: str, currency: str
) -> Revenue:
    report = Revenue(start, end, currency)
    day = start
    while day <= end:
        report.by_day[day.isoformat()] = 0
        day += timedelta(days=1)
    for line in _in_range(entries, start, end, tz_name, currency):
        e, amount = line.entry, line.entry.amount.amount
        key = line.local_date.isoformat()
        if e.kind == "charge":
            report.charges += amount
            report.by_day[key] += amount
        elif e.kind == "adjustment":
            report.adjustments += amount
            report.by_day[key] -= amount
        elif e.kind == "refund":
            report.refunds += amount
        elif e.kind == "payment" and (e.method or "other") not in EXCLUDED_METHODS:
            report.payments += amount
    return report


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        # A leading =, +, - or @ would be a formula in a spreadsheet: quote it as text.
        writer.writerow(["'" + v if isinstance(v, str) and v[:1] in "=+-@" else v for v in row])
    return buffer.getvalue()


class ReportService:
    def __init__(self, practices: PracticeService, clients: ClientService, ledger: LedgerService) -> None:
        self._practices = practices
        self._clients = clients
        self._ledger = ledger

    def _entries(self, practice_id: str) -> list[LedgerEntry]:
        """Every ledger entry of the practice: each client's ledger (pattern 11), client by client."""
        entries: list[LedgerEntry] = []
        cursor: str | None = None
        while True:
            clients, cursor = self._clients.list_page(practice_id, limit=100, cursor=cursor)
            for client in clients:
                entries.extend(self._ledger.entries(practice_id, client.id))
            if not cursor:
                return entries

    def payments(self, practice_id: str, start: date, end: date) -> Payments:
        check_range(start, end)
        practice = self._practices.get(practice_id)
        return payments_report(
            self._entries(practice_id),
            start=start,
            end=end,
            tz_name=practice.time_zone,
            currency=practice.currency,
        )

    def revenue(self, practice_id: str, start: date, end: date) -> Revenue:
        check_range(start, end)
        practice = self._practices.get(practice_id)
        return revenue_report(
            self._entries(practice_id),
            start=start,
            end=end,
            tz_name=practice.time_zone,
            currency=practice.currency,
        )
