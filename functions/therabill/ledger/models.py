"""The ledger's values: entries, balances, what a charge did, and the billing party account an entry
belongs to (pure; no I/O)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from therabill.core.money import Money
from therabill.ledger import chart
from therabill.ledger.chart import EntryKind, Line, PaymentMethod, Position


def owner_of(client_id: str, owner_id: str | None) -> str | None:
    """The billing party account's owner: None for the client themself (however it was named)."""
    return None if owner_id in (None, "", client_id) else owner_id


class LedgerEntry(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    client_id: str
    kind: EntryKind
    amount: Money  # positive; the lines give the accounting
    source_key: str
    posted_at: datetime
    memo: str
    method: PaymentMethod | None = None
    payment_id: str | None = None
    owner_id: str | None = None  # None: the client pays
    lines: tuple[Line, ...] = ()
    reference: str | None = None  # the staff request that posted it (a staff credit, its take-back)

    @property
    def change(self) -> Position:
        """What the entry changes on its billing party account (receivable, credit)."""
        return chart.effect(self.lines)

    @property
    def signed_amount(self) -> int:
        """The change in what the billing party owes (receivable - credit): + charges, - payments."""
        return self.change.owed


class AccountBalance(BaseModel):
    """One billing party account in one currency."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    owner_id: str | None
    currency: str
    receivable: int
    credit: int

    @property
    def owed(self) -> int:
        return self.receivable - self.credit


class Balance(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    client_id: str
    currency: str
    owed: int  # receivable - credit over the client's billing party accounts: negative = credit
    receivable: int
    credit: int
    entries: int
    accounts: tuple[AccountBalance, ...] = ()


class ChargeResult(BaseModel):
    """What ``post_charge`` did. ``due`` is what remains to collect for this charge (its amount
    less the credit applied to it): charge the card for ``due``, and nothing if it is zero. The
    same source always gives the same ``credit_applied`` and ``due``."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    entry: LedgerEntry | None  # None: this source was posted before
    credit_applied: Money
    due: Money
    application: LedgerEntry | None = None


@dataclass(frozen=True)
class BillingAccount:
    """A billing party account (the chart's term): a client and the billing party who pays (``owner_id``
    None: the client themself), in one currency."""

    client_id: str
    owner_id: str | None
    currency: str


@dataclass(frozen=True)
class Summary:
    """A billing party account's stored summary as read: its position and version (0: none yet)."""

    position: Position
    version: int


@dataclass(frozen=True)
class Guard:
    """What a source key posted: its entry (None: an application of nothing) and, on a charge's
    guards, the credit applied to it (None when not recorded)."""

    entry_id: str | None
    client_id: str
    owner_id: str | None
    amount: int | None
    currency: str | None
    credit_applied: int | None = None


def accounts_of(entries: Iterable[LedgerEntry]) -> list[AccountBalance]:
    """Every billing party account's balances, summed from its entries' lines (client first)."""
    sums: dict[tuple[str | None, str], Position] = {}
    for e in entries:
        k = (e.owner_id, e.amount.currency)
        now, d = sums.get(k, Position()), e.change
        sums[k] = Position(receivable=now.receivable + d.receivable, credit=now.credit + d.credit)
    ordered = sorted(sums.items(), key=lambda kv: (kv[0][0] is not None, kv[0][0] or "", kv[0][1]))
    return [
        AccountBalance(owner_id=owner, currency=cur, receivable=p.receivable, credit=p.credit)
        for (owner, cur), p in ordered
    ]


def balance_of(client_id: str, currency: str, entries: list[LedgerEntry]) -> Balance:
    mine = [e for e in entries if e.amount.currency == currency]
    accounts = tuple(accounts_of(mine))
    receivable = sum(a.receivable for a in accounts)
    credit = sum(a.credit for a in accounts)
    return Balance(
        client_id=client_id,
        currency=currency,
        owed=receivable - credit,
        receivable=receivable,
        credit=credit,
        entries=len(mine),
        accounts=accounts,
    )


def compare(derived: Iterable[AccountBalance], stored: Iterable[AccountBalance]) -> list[str]:
    """Every way stored summaries differ from the balances derived from the entries."""
    by_derived = {(a.owner_id, a.currency): a for a in derived}
    by_stored = {(a.owner_id, a.currency): a for a in stored}
    problems = []
    for k in sorted(set(by_derived) | set(by_stored), key=lambda k: (k[0] or "", k[1])):
        d, s = by_derived.get(k), by_stored.get(k)
        dv = (d.receivable, d.credit) if d else (0, 0)
        sv = (s.receivable, s.credit) if s else (0, 0)
        if dv != sv:
            problems.append(f"account {k}: entries say {dv}, summary says {sv}")
    return problems
