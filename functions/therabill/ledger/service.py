"""The client ledger: append-only double entry; balances derived from the entries.

Each posted entry is one journal transaction (one item, ``LEDGER#<cli>#<led>``) whose ``lines``
sum to zero; ``ledger/chart.py`` is the chart of accounts and what each kind posts. An entry
belongs to one *payer account*: a client and who pays (``owner_id`` None = the client themself; a
billing contact under split billing has an account of its own; an owner equal to the client's id
is the client). ``kind`` and ``method`` are for display; the lines are the accounting.

**Exactly once.** An entry is keyed by a *source key* that names what caused it
(``payment:<pay>``) and written in one TransactWriteItems with a guard item
(``LEDGERSRC#<source key>``, put-if-absent): a second post of the same source (a replayed webhook,
a retried request) is refused by the guard and changes nothing. Nothing is updated or deleted in
place: a correction is a new entry.

**Summaries.** The same transaction ``ADD``\\s the entry's effect to the payer account's summary
(``LEDGERBAL#<cli>#<owner or '-'>#<currency>``: ``receivable``, ``credit``, ``version``). The
summary is a cache for O(1) reads and for deciding what an entry posts; the entries stay the truth
(``balance`` sums them; ``verify`` checks every summary against them). The update is conditioned
on the version read (and on ``credit >= :used``, ``receivable >= :used``), so concurrent posts on
one account serialise: the loser re-reads and plans again, a bounded number of times. Neither
balance can go negative, whatever the interleaving.

**Credit applies automatically.** ``post_charge`` posts a charge and, in the same transaction,
applies the payer's credit to it: an application entry (kind ``payment``, method ``credit``: Dr
credit / Cr receivable) with its own source key ``credit-apply:<charge source key>`` and guard.
The amount applied is stored on both guards, so a retried charge returns the same
``credit_applied`` and ``due``; a charge whose application is missing (a crash, an entry from
before this rule) gets it on the next post of the same source. A credit or payment posted while
something is due pays it in the same entry (see the chart).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from therabill.adapters.dynamo import ConditionFailed, Table, put_new_write
from therabill.core import keys
from therabill.core.clock import Clock, iso, parse_iso
from therabill.core.errors import ConflictError, DependencyUnavailableError
from therabill.core.ids import id_floor, new_id
from therabill.core.money import Money
from therabill.core.writes import Write
from therabill.ledger import chart
from therabill.ledger.chart import EntryKind, Line, PaymentMethod, Position

__all__ = [
    "AccountBalance",
    "Balance",
    "ChargeResult",
    "EntryKind",
    "LedgerEntry",
    "LedgerService",
    "Line",
    "PaymentMethod",
    "balance_of",
]

T = TypeVar("T")

_MAX_ATTEMPTS = 8  # re-reads of a summary that changed meanwhile, per post
_NO_OWNER = "-"

# Entry ids carry the posting clock's time; instances' clocks may differ this much at most.
CLOCK_MARGIN = timedelta(days=1)


def _owner(client_id: str, owner_id: str | None) -> str | None:
    """The payer account's owner: None for the client themself (however it was named)."""
    return None if owner_id in (None, "", client_id) else owner_id


class LedgerEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

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

    @property
    def change(self) -> Position:
        """What the entry changes on its payer account (receivable, credit)."""
        return chart.effect(self.lines)

    @property
    def signed_amount(self) -> int:
        """The change in what the payer owes (receivable - credit): + charges, - payments."""
        return self.change.owed


class AccountBalance(BaseModel):
    """One payer account in one currency."""

    model_config = ConfigDict(frozen=True)

    owner_id: str | None
    currency: str
    receivable: int
    credit: int

    @property
    def owed(self) -> int:
        return self.receivable - self.credit


class Balance(BaseModel):
    model_config = ConfigDict(frozen=True)

    client_id: str
    currency: str
    owed: int  # receivable - credit over the client's payer accounts: negative = credit
    receivable: int
    credit: int
    entries: int
    accounts: tuple[AccountBalance, ...] = ()


class ChargeResult(BaseModel):
    """What ``post_charge`` did. ``due`` is what remains to collect for this charge (its amount
    less the credit applied to it): charge the card for ``due``, and nothing if it is zero. The
    same source always gives the same ``credit_applied`` and ``due``."""

    model_config = ConfigDict(frozen=True)

    entry: LedgerEntry | None  # None: this source was posted before
    credit_applied: Money
    due: Money
    application: LedgerEntry | None = None


def accounts_of(entries: Iterable[LedgerEntry]) -> list[AccountBalance]:
    """Every payer account's balances, summed from its entries' lines (client first)."""
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


def _item(practice_id: str, e: LedgerEntry) -> dict[str, Any]:
    return {
        "PK": keys.practice_pk(practice_id),
        "SK": keys.ledger_sk(e.client_id, e.id),
        "type": "ledger_entry",
        "id": e.id,
        "client_id": e.client_id,
        "kind": e.kind,
        "amount": e.amount.amount,
        "currency": e.amount.currency,
        "source_key": e.source_key,
        "posted_at": iso(e.posted_at),
        "memo": e.memo,
        "method": e.method,
        "payment_id": e.payment_id,
        "owner_id": e.owner_id,
        "lines": [{"account": line.account, "amount": line.amount} for line in e.lines],
    }


def _entry(item: dict[str, Any]) -> LedgerEntry:
    return LedgerEntry(
        id=item["id"],
        client_id=item["client_id"],
        kind=item["kind"],
        amount=Money(amount=item["amount"], currency=item["currency"]),
        source_key=item["source_key"],
        posted_at=parse_iso(item["posted_at"]),
        memo=item["memo"],
        method=item.get("method"),
        payment_id=item.get("payment_id"),
        owner_id=item.get("owner_id"),
        lines=tuple(Line(account=x["account"], amount=x["amount"]) for x in item.get("lines") or []),
    )


@dataclass(frozen=True)
class _Account:
    client_id: str
    owner_id: str | None
    currency: str


@dataclass(frozen=True)
class _Summary:
    position: Position
    version: int  # 0: no summary item yet


class LedgerService:
    def __init__(self, table: Table, clock: Clock) -> None:
        self._table = table
        self._clock = clock
        # Tests turn this off to leave a charge without its application (as a crash would).
        self._apply_with_charge = True

    # -- posting --------------------------------------------------------------------------------
    def post(
        self,
        practice_id: str,
        *,
        client_id: str,
        kind: EntryKind,
        amount: Money,
        source_key: str,
        memo: str,
        method: PaymentMethod | None = None,
        payment_id: str | None = None,
        owner_id: str | None = None,
    ) -> LedgerEntry | None:
        """Append one entry exactly once per ``source_key``; None if it was already posted. A
        charge also applies the payer's credit to itself (see ``post_charge``, which says how
        much)."""
        if kind == "charge":
            return self.post_charge(
                practice_id,
                client_id=client_id,
                amount=amount,
                source_key=source_key,
                memo=memo,
                method=method,
                payment_id=payment_id,
                owner_id=owner_id,
            ).entry
        if amount.amount <= 0:
            raise ValueError("ledger amounts are positive; the kind gives the direction")
        account = _Account(client_id, _owner(client_id, owner_id), amount.currency)

        def attempt(summary: _Summary) -> tuple[list[Write], LedgerEntry]:
            now, (entry_id,) = self._stamp(1)
            entry = self._new_entry(
                account,
                kind=kind,
                amount=amount,
                source_key=source_key,
                memo=memo,
                method=method,
                payment_id=payment_id,
                lines=chart.lines_for(kind, method, amount.amount, summary.position),
                now=now,
                entry_id=entry_id,
            )
            writes = [
                put_new_write(self._guard(practice_id, source_key, account, entry)),
                put_new_write(_item(practice_id, entry)),
                self._summary_write(practice_id, account, summary, entry.change),
            ]
            return writes, entry

        try:
            return self._commit(practice_id, account, attempt)
        except ConditionFailed as exc:
            if exc.index == 0:
                return None  # this source was posted before
            raise

    def post_charge(
        self,
        practice_id: str,
        *,
        client_id: str,
        amount: Money,
        source_key: str,
        memo: str,
        owner_id: str | None = None,
        method: PaymentMethod | None = None,
        payment_id: str | None = None,
    ) -> ChargeResult:
        """Post a charge once per ``source_key`` and, in the same transaction, apply the payer
        account's credit to it (min(credit, amount); source ``credit-apply:<source_key>``).

        The contract for callers: collect ``result.due`` (amount - credit applied), not the
        amount; if ``due`` is zero there is nothing to collect. A repeat of the same source key
        returns ``entry=None`` with the same ``credit_applied`` and ``due`` as the first post (they
        are stored on the guards), so a card charge keyed by the same request key asks for the
        same amount every time. If the first post left the charge without its application (a
        crash, or an entry from before this rule), the repeat completes it and reports it."""
        if amount.amount <= 0:
            raise ValueError("ledger amounts are positive; the kind gives the direction")
        account = _Account(client_id, _owner(client_id, owner_id), amount.currency)
        currency = amount.currency
        with_application = self._apply_with_charge

        def attempt(summary: _Summary) -> tuple[list[Write], ChargeResult]:
            now, (charge_id, apply_id) = self._stamp(2)
            charge = self._new_entry(
                account,
                kind="charge",
                amount=amount,
                source_key=source_key,
                memo=memo,
                method=method,
                payment_id=payment_id,
                lines=chart.lines_for("charge", method, amount.amount, summary.position),
                now=now,
                entry_id=charge_id,
            )
            after = Position(summary.position.receivable + amount.amount, summary.position.credit)
            applied = chart.application(amount.amount, after) if with_application else 0
            applied_entry = (
                self._application_entry(account, source_key, applied, now=now, entry_id=apply_id)
                if applied
                else None
            )
            change = Position(amount.amount - applied, -applied)
            guard = self._guard(practice_id, source_key, account, charge)
            if with_application:
                guard["credit_applied"] = applied
            writes = [
                put_new_write(guard),
                put_new_write(_item(practice_id, charge)),
                self._summary_write(practice_id, account, summary, change),
            ]
            if with_application:
                apply_key = _apply_key(source_key)
                apply_guard = self._guard(practice_id, apply_key, account, applied_entry)
                apply_guard["credit_applied"] = applied
                writes.append(put_new_write(apply_guard))
                if applied_entry is not None:
                    writes.append(put_new_write(_item(practice_id, applied_entry)))
            return writes, ChargeResult(
                entry=charge,
                credit_applied=Money(amount=applied, currency=currency),
                due=Money(amount=amount.amount - applied, currency=currency),
                application=applied_entry,
            )

        try:
            return self._commit(practice_id, account, attempt)
        except ConditionFailed as exc:
            if exc.index != 0:
                raise
            guard = exc.current or self._guard_item(practice_id, source_key) or {}
        if "credit_applied" in guard:
            applied = int(guard["credit_applied"])
            return _replayed(int(guard.get("amount", amount.amount)), applied, currency)
        charged, applied, entry = self._complete_application(practice_id, source_key, guard)
        return _replayed(charged, applied, currency, entry)

    def _complete_application(
        self, practice_id: str, source_key: str, charge_guard: dict[str, Any]
    ) -> tuple[int, int, LedgerEntry | None]:
        """A charge posted without its application: apply the credit now, once (the application
        has its own guard; whoever writes it first decides the amount)."""
        charge_item = self._table.get(
            keys.practice_pk(practice_id),
            keys.ledger_sk(str(charge_guard["client_id"]), str(charge_guard["entry_id"])),
        )
        if charge_item is None:
            raise ConflictError("the ledger entry of this source is missing", source_key=source_key)
        charge = _entry(charge_item)
        account = _Account(charge.client_id, charge.owner_id, charge.amount.currency)
        apply_key = _apply_key(source_key)
        existing = self._guard_item(practice_id, apply_key)
        if existing is not None:
            return charge.amount.amount, int(existing.get("credit_applied", 0)), None

        def attempt(summary: _Summary) -> tuple[list[Write], tuple[int, LedgerEntry | None]]:
            applied = chart.application(charge.amount.amount, summary.position)
            now, (entry_id,) = self._stamp(1)
            entry = (
                self._application_entry(account, source_key, applied, now=now, entry_id=entry_id)
                if applied
                else None
            )
            guard = self._guard(practice_id, apply_key, account, entry)
            guard["credit_applied"] = applied
            writes = [put_new_write(guard)]
            if entry is not None:
                writes.append(put_new_write(_item(practice_id, entry)))
                writes.append(self._summary_write(practice_id, account, summary, entry.change))
            return writes, (applied, entry)

        try:
            applied, entry = self._commit(practice_id, account, attempt, summary_index=2)
        except ConditionFailed as exc:
            if exc.index != 0:
                raise
            return charge.amount.amount, int((exc.current or {}).get("credit_applied", 0)), None
        return charge.amount.amount, applied, entry

    def _commit(
        self,
        practice_id: str,
        account: _Account,
        attempt: Callable[[_Summary], tuple[list[Write], T]],
        *,
        summary_index: int = 2,
    ) -> T:
        """Read the account's summary, plan, write; again if the summary changed meanwhile (a
        failed version condition, or DynamoDB's TransactionConflict). A failed guard (index 0)
        is the caller's to handle."""
        for n in range(_MAX_ATTEMPTS):
            summary = self._summary(practice_id, account)
            writes, result = attempt(summary)
            try:
                self._table.transact(writes)
                return result
            except ConditionFailed as exc:
                if exc.index != summary_index:
                    raise
            except DependencyUnavailableError as exc:
                if not _conflict(exc) or n == _MAX_ATTEMPTS - 1:
                    raise  # throttling and outages are the caller's to retry (a 503)
            time.sleep(random.uniform(0, 0.005 * 2**n))
        raise DependencyUnavailableError("the client's account is busy; try again")

    # -- items ----------------------------------------------------------------------------------
    def _stamp(self, n: int) -> tuple[datetime, list[str]]:
        """Now, and ``n`` entry ids of this instant in ascending order."""
        now = self._clock()
        ms = int(now.timestamp() * 1000)
        return now, sorted(new_id("led", ms) for _ in range(n))

    def _new_entry(
        self,
        account: _Account,
        *,
        kind: EntryKind,
        amount: Money,
        source_key: str,
        memo: str,
        method: PaymentMethod | None,
        payment_id: str | None,
        lines: tuple[Line, ...],
        now: datetime,
        entry_id: str,
    ) -> LedgerEntry:
        return LedgerEntry(
            id=entry_id,
            client_id=account.client_id,
            kind=kind,
            amount=amount,
            source_key=source_key,
            posted_at=now,
            memo=memo,
            method=method,
            payment_id=payment_id,
            owner_id=account.owner_id,
            lines=lines,
        )

    def _application_entry(
        self, account: _Account, charge_source: str, applied: int, *, now: datetime, entry_id: str
    ) -> LedgerEntry:
        return self._new_entry(
            account,
            kind="payment",
            amount=Money(amount=applied, currency=account.currency),
            source_key=_apply_key(charge_source),
            memo="Credit applied",
            method="credit",
            payment_id=None,
            lines=chart.application_lines(applied),
            now=now,
            entry_id=entry_id,
        )

    @staticmethod
    def _guard(
        practice_id: str, source_key: str, account: _Account, entry: LedgerEntry | None
    ) -> dict[str, Any]:
        return {
            "PK": keys.practice_pk(practice_id),
            "SK": keys.ledger_guard_sk(source_key),
            "type": "ledger_guard",
            "entry_id": entry.id if entry else None,
            "client_id": account.client_id,
            "owner_id": account.owner_id,
            "amount": entry.amount.amount if entry else 0,
            "currency": account.currency,
        }

    def _guard_item(self, practice_id: str, source_key: str) -> dict[str, Any] | None:
        return self._table.get(keys.practice_pk(practice_id), keys.ledger_guard_sk(source_key))

    def _summary(self, practice_id: str, account: _Account) -> _Summary:
        item = self._table.get(
            keys.practice_pk(practice_id),
            keys.ledger_summary_sk(account.client_id, account.owner_id or _NO_OWNER, account.currency),
        )
        if not item:
            return _Summary(Position(), 0)
        return _Summary(
            Position(receivable=int(item.get("receivable", 0)), credit=int(item.get("credit", 0))),
            int(item.get("version", 0)),
        )

    def _summary_write(self, practice_id: str, account: _Account, read: _Summary, change: Position) -> Write:
        """ADD the change, if the summary is still the one read (and never below zero)."""
        values: dict[str, Any] = {
            ":dr": change.receivable,
            ":dc": change.credit,
            ":next": read.version + 1,
            ":type": "ledger_summary",
            ":cli": account.client_id,
            ":own": account.owner_id or _NO_OWNER,
            ":cur": account.currency,
        }
        names = {"#r": "receivable", "#c": "credit", "#v": "version", "#t": "type"}
        if read.version == 0:
            condition = "attribute_not_exists(#v)"
        else:
            condition = "#v = :v AND #c >= :cused AND #r >= :rused"
            values[":v"] = read.version
            values[":cused"] = max(0, -change.credit)
            values[":rused"] = max(0, -change.receivable)
        return Write(
            kind="update",
            key=self._table.key(
                keys.practice_pk(practice_id),
                keys.ledger_summary_sk(account.client_id, account.owner_id or _NO_OWNER, account.currency),
            ),
            update=(
                "SET #v = :next, #t = :type, client_id = :cli, owner_id = :own, currency = :cur "
                "ADD #r :dr, #c :dc"
            ),
            condition=condition,
            names=names,
            values=values,
        )

    # -- reading --------------------------------------------------------------------------------
    def session_entries(self, practice_id: str, client_id: str, booked_at: datetime) -> list[LedgerEntry]:
        """The client's entries a session booked at ``booked_at`` can have: none is posted before
        its booking (a day's margin for clocks), so a long history is not read again."""
        return self.entries(practice_id, client_id, since=booked_at - CLOCK_MARGIN)

    def entries(
        self, practice_id: str, client_id: str, *, since: datetime | None = None
    ) -> list[LedgerEntry]:
        """The client's entries in posting order; with ``since``, only those posted from then on
        (entry ids sort by posting time, so it is a narrower key range, not a filter)."""
        prefix = keys.ledger_prefix(client_id)
        from_sk = None
        if since is not None:
            from_sk = prefix + id_floor("led", int(since.timestamp() * 1000))
        items = self._table.query_all(keys.practice_pk(practice_id), prefix=prefix, from_sk=from_sk)
        return [_entry(i) for i in items]

    def posted(self, practice_id: str, source_key: str) -> LedgerEntry | None:
        """The entry a source posted (None: not posted, or an application of nothing)."""
        guard = self._guard_item(practice_id, source_key)
        if not guard or not guard.get("entry_id"):
            return None
        item = self._table.get(
            keys.practice_pk(practice_id), keys.ledger_sk(str(guard["client_id"]), str(guard["entry_id"]))
        )
        return _entry(item) if item else None

    def balance(self, practice_id: str, client_id: str, currency: str) -> Balance:
        """Derived from the entries (the truth), never from the summaries."""
        return balance_of(client_id, currency, self.entries(practice_id, client_id))

    def summaries(self, practice_id: str, client_id: str) -> list[AccountBalance]:
        """The stored per-account summaries (one Query; O(1) per account)."""
        items = self._table.query_all(
            keys.practice_pk(practice_id), prefix=keys.ledger_summary_prefix(client_id)
        )
        return [
            AccountBalance(
                owner_id=None if i["owner_id"] == _NO_OWNER else i["owner_id"],
                currency=i["currency"],
                receivable=int(i.get("receivable", 0)),
                credit=int(i.get("credit", 0)),
            )
            for i in items
        ]

    def account(
        self, practice_id: str, client_id: str, currency: str, owner_id: str | None = None
    ) -> AccountBalance:
        """One payer account's summary (one GetItem)."""
        owner = _owner(client_id, owner_id)
        s = self._summary(practice_id, _Account(client_id, owner, currency))
        return AccountBalance(
            owner_id=owner, currency=currency, receivable=s.position.receivable, credit=s.position.credit
        )

    def verify(self, practice_id: str, client_id: str) -> list[str]:
        """Every way the summaries differ from the sum of the entries (empty: they agree)."""
        derived = {(a.owner_id, a.currency): a for a in accounts_of(self.entries(practice_id, client_id))}
        stored = {(a.owner_id, a.currency): a for a in self.summaries(practice_id, client_id)}
        problems = []
        for k in sorted(set(derived) | set(stored), key=lambda k: (k[0] or "", k[1])):
            d, s = derived.get(k), stored.get(k)
            dv = (d.receivable, d.credit) if d else (0, 0)
            sv = (s.receivable, s.credit) if s else (0, 0)
            if dv != sv:
                problems.append(f"account {k}: entries say {dv}, summary says {sv}")
        return problems


def _conflict(exc: DependencyUnavailableError) -> bool:
    """DynamoDB cancelled the transaction because another one was writing the same item (the
    summary): safe to re-read and plan again at once."""
    response = getattr(exc.__cause__, "response", None)  # the adapter's original error
    reasons = response.get("CancellationReasons") if isinstance(response, dict) else None
    return any(isinstance(r, dict) and r.get("Code") == "TransactionConflict" for r in reasons or [])


def _apply_key(charge_source: str) -> str:
    return f"credit-apply:{charge_source}"


def _replayed(charged: int, applied: int, currency: str, entry: LedgerEntry | None = None) -> ChargeResult:
    return ChargeResult(
        entry=None,
        credit_applied=Money(amount=applied, currency=currency),
        due=Money(amount=charged - applied, currency=currency),
        application=entry,
    )
