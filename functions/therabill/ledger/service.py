"""The client ledger: append-only double entry; balances derived from the entries.

Each posted entry is one journal transaction (one item, ``LEDGER#<cli>#<led>``) whose ``lines``
sum to zero; ``ledger/chart.py`` is the chart of accounts and what each kind posts. An entry
belongs to one *billing party account*: a client and who pays (``owner_id`` None = the client themself; a
billing contact under split billing has an account of its own; an owner equal to the client's id
is the client). ``kind`` and ``method`` are for display; the lines are the accounting.

**Exactly once.** An entry is keyed by a *source key* that names what caused it
(``payment:<pay>``) and written in one TransactWriteItems with a guard item
(``LEDGERSRC#<source key>``, put-if-absent): a second post of the same source (a replayed webhook,
a retried request) is refused by the guard and changes nothing. Nothing is updated or deleted in
place: a correction is a new entry.

**Summaries.** The same transaction ``ADD``\\s the entry's effect to the billing party account's summary
(``LEDGERBAL#<cli>#<owner or '-'>#<currency>``: ``receivable``, ``credit``, ``version``). The
summary is a cache for O(1) reads and for deciding what an entry posts; the entries stay the truth
(``balance`` sums them; ``verify`` checks every summary against them). The update is conditioned
on the version read (and on ``credit >= :used``, ``receivable >= :used``), so concurrent posts on
one account serialise: the loser re-reads and plans again, a bounded number of times. Neither
balance can go negative, whatever the interleaving.

**Credit applies automatically.** ``post_charge`` posts a charge and, in the same transaction,
applies the billing party's credit to it: an application entry (kind ``payment``, method ``credit``: Dr
credit / Cr receivable) with its own source key ``credit-apply:<charge source key>`` and guard.
The amount applied is stored on both guards, so a retried charge returns the same
``credit_applied`` and ``due``; a charge whose application is missing (a crash, an entry from
before this rule) gets it on the next post of the same source. A credit or payment posted while
something is due pays it in the same entry (see the chart).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from therabill.core.clock import Clock
from therabill.core.ids import new_id
from therabill.core.money import Money
from therabill.core.writes import Write
from therabill.ledger import chart
from therabill.ledger.chart import EntryKind, Line, PaymentMethod, Position
from therabill.ledger.errors import LedgerEntryMissingError, SourcePostedError
from therabill.ledger.models import (
    AccountBalance,
    Balance,
    BillingAccount,
    ChargeResult,
    Guard,
    LedgerEntry,
    Summary,
    accounts_of,
    balance_of,
    compare,
    owner_of,
)
from therabill.ledger.store import LedgerStore

__all__ = ["LedgerEntry", "LedgerService", "balance_of"]

# Entry ids carry the posting clock's time; instances' clocks may differ this much at most.
CLOCK_MARGIN = timedelta(days=1)


@dataclass(frozen=True)
class _Request:
    """What one posting asks for: the entry's own fields."""

    kind: EntryKind
    amount: Money
    source_key: str
    memo: str
    method: PaymentMethod | None = None
    payment_id: str | None = None
    reference: str | None = None
    revenue: str = chart.REVENUE


def _positive(amount: Money) -> None:
    if amount.amount <= 0:
        raise ValueError("ledger amounts are positive; the kind gives the direction")


class LedgerService:
    def __init__(self, *, store: LedgerStore, clock: Clock) -> None:
        self._store = store
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
        reference: str | None = None,
        revenue: str = chart.REVENUE,
    ) -> LedgerEntry | None:
        """Append one entry exactly once per ``source_key``; None if it was already posted. A
        charge also applies the billing party's credit to itself (see ``post_charge``, which says how
        much). ``revenue``: the account a charge credits or a return debits."""
        _positive(amount)
        account = BillingAccount(client_id, owner_of(client_id, owner_id), amount.currency)
        request = _Request(kind, amount, source_key, memo, method, payment_id, reference, revenue)
        if kind == "charge":
            return self._charge(practice_id, account, request).entry

        def plan(summary: Summary) -> tuple[list[Write], LedgerEntry]:
            return self._plan_entry(practice_id, account, request, summary)

        try:
            return self._store.commit(practice_id, source_key, account, plan)
        except SourcePostedError:
            return None

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
        revenue: str = chart.REVENUE,
    ) -> ChargeResult:
        """Post a charge once per ``source_key`` and, in the same transaction, apply the billing party
        account's credit to it (min(credit, amount); source ``credit-apply:<source_key>``).

        The contract for callers: collect ``result.due`` (amount - credit applied), not the
        amount; if ``due`` is zero there is nothing to collect. A repeat of the same source key
        returns ``entry=None`` with the same ``credit_applied`` and ``due`` as the first post (they
        are stored on the guards), so a card charge keyed by the same request key asks for the
        same amount every time. If the first post left the charge without its application (a
        crash, or an entry from before this rule), the repeat completes it and reports it.
        ``revenue``: the account the charge credits (``chart.PRODUCT_REVENUE`` for the store)."""
        _positive(amount)
        account = BillingAccount(client_id, owner_of(client_id, owner_id), amount.currency)
        return self._charge(
            practice_id,
            account,
            _Request("charge", amount, source_key, memo, method, payment_id, revenue=revenue),
        )

    def _plan_entry(
        self, practice_id: str, account: BillingAccount, request: _Request, summary: Summary
    ) -> tuple[list[Write], LedgerEntry]:
        """Any entry but a charge, on the account as read: its guard, the entry, the summary."""
        now, (entry_id,) = self._stamp(1)
        lines = chart.lines_for(
            request.kind, request.method, request.amount.amount, summary.position, revenue=request.revenue
        )
        entry = self._new_entry(account, request, lines, now=now, entry_id=entry_id)
        writes = [
            self._store.guard_write(practice_id, request.source_key, account, entry),
            self._store.entry_write(practice_id, entry),
            self._store.summary_write(practice_id, account, summary, entry.change),
        ]
        return writes, entry

    def _charge(self, practice_id: str, account: BillingAccount, request: _Request) -> ChargeResult:
        with_application = self._apply_with_charge

        def plan(summary: Summary) -> tuple[list[Write], ChargeResult]:
            return self._plan_charge(
                practice_id, account, request, summary, with_application=with_application
            )

        try:
            return self._store.commit(practice_id, request.source_key, account, plan)
        except SourcePostedError as exc:
            guard = exc.guard or self._store.guard(practice_id, request.source_key)
        currency = request.amount.currency
        if guard is not None and guard.credit_applied is not None:
            charged = guard.amount if guard.amount is not None else request.amount.amount
            return _replayed(charged, guard.credit_applied, currency)
        charged, applied, entry = self._complete_application(practice_id, request.source_key, guard)
        return _replayed(charged, applied, currency, entry)

    def _plan_charge(
        self,
        practice_id: str,
        account: BillingAccount,
        request: _Request,
        summary: Summary,
        *,
        with_application: bool,
    ) -> tuple[list[Write], ChargeResult]:
        """A charge on the account as read: its guard, the entry, the summary and (unless turned
        off) the application of credit with its own guard."""
        now, (charge_id, apply_id) = self._stamp(2)
        amount = request.amount.amount
        lines = chart.lines_for("charge", request.method, amount, summary.position, revenue=request.revenue)
        charge = self._new_entry(account, request, lines, now=now, entry_id=charge_id)
        after = Position(summary.position.receivable + amount, summary.position.credit)
        applied = chart.application(amount, after) if with_application else 0
        application = (
            self._application_entry(account, request.source_key, applied, now=now, entry_id=apply_id)
            if applied
            else None
        )
        recorded = applied if with_application else None
        writes = [
            self._store.guard_write(
                practice_id, request.source_key, account, charge, credit_applied=recorded
            ),
            self._store.entry_write(practice_id, charge),
            self._store.summary_write(practice_id, account, summary, Position(amount - applied, -applied)),
        ]
        if with_application:
            writes += self._application_writes(practice_id, account, request.source_key, application, applied)
        return writes, ChargeResult(
            entry=charge,
            credit_applied=Money(amount=applied, currency=account.currency),
            due=Money(amount=amount - applied, currency=account.currency),
            application=application,
        )

    def _application_writes(
        self,
        practice_id: str,
        account: BillingAccount,
        charge_source: str,
        entry: LedgerEntry | None,
        applied: int,
    ) -> list[Write]:
        """The application's guard (with the amount applied, zero included) and its entry."""
        writes = [
            self._store.guard_write(
                practice_id, _apply_key(charge_source), account, entry, credit_applied=applied
            )
        ]
        if entry is not None:
            writes.append(self._store.entry_write(practice_id, entry))
        return writes

    def _complete_application(
        self, practice_id: str, source_key: str, charge_guard: Guard | None
    ) -> tuple[int, int, LedgerEntry | None]:
        """A charge posted without its application: apply the credit now, once (the application
        has its own guard; whoever writes it first decides the amount)."""
        charge = None
        if charge_guard is not None and charge_guard.entry_id is not None:
            charge = self._store.entry(practice_id, charge_guard.client_id, charge_guard.entry_id)
        if charge is None:
            raise LedgerEntryMissingError("the ledger entry of this source is missing", source_key=source_key)
        charged = charge.amount.amount
        account = BillingAccount(charge.client_id, charge.owner_id, charge.amount.currency)
        apply_key = _apply_key(source_key)
        existing = self._store.guard(practice_id, apply_key)
        if existing is not None:
            return charged, existing.credit_applied or 0, None

        def plan(summary: Summary) -> tuple[list[Write], tuple[int, LedgerEntry | None]]:
            applied = chart.application(charged, summary.position)
            now, (entry_id,) = self._stamp(1)
            entry = (
                self._application_entry(account, source_key, applied, now=now, entry_id=entry_id)
                if applied
                else None
            )
            writes = self._application_writes(practice_id, account, source_key, entry, applied)
            if entry is not None:
                writes.append(self._store.summary_write(practice_id, account, summary, entry.change))
            return writes, (applied, entry)

        try:
            applied, entry = self._store.commit(practice_id, apply_key, account, plan)
        except SourcePostedError as exc:
            return charged, (exc.guard.credit_applied or 0) if exc.guard else 0, None
        return charged, applied, entry

    # -- entries --------------------------------------------------------------------------------
    def _stamp(self, n: int) -> tuple[datetime, list[str]]:
        """Now, and ``n`` entry ids of this instant in ascending order."""
        now = self._clock()
        ms = int(now.timestamp() * 1000)
        return now, sorted(new_id("led", ms) for _ in range(n))

    @staticmethod
    def _new_entry(
        account: BillingAccount, request: _Request, lines: tuple[Line, ...], *, now: datetime, entry_id: str
    ) -> LedgerEntry:
        return LedgerEntry(
            id=entry_id,
            client_id=account.client_id,
            kind=request.kind,
            amount=request.amount,
            source_key=request.source_key,
            posted_at=now,
            memo=request.memo,
            method=request.method,
            payment_id=request.payment_id,
            owner_id=account.owner_id,
            lines=lines,
            reference=request.reference,
        )

    def _application_entry(
        self, account: BillingAccount, charge_source: str, applied: int, *, now: datetime, entry_id: str
    ) -> LedgerEntry:
        amount = Money(amount=applied, currency=account.currency)
        request = _Request("payment", amount, _apply_key(charge_source), "Credit applied", "credit")
        return self._new_entry(account, request, chart.application_lines(applied), now=now, entry_id=entry_id)

    # -- reading --------------------------------------------------------------------------------
    def session_entries(self, practice_id: str, client_id: str, booked_at: datetime) -> list[LedgerEntry]:
        """The client's entries a session booked at ``booked_at`` can have: none is posted before
        its booking (a day's margin for clocks), so a long history is not read again."""
        return self.entries(practice_id, client_id, since=booked_at - CLOCK_MARGIN)

    def entries(
        self, practice_id: str, client_id: str, *, since: datetime | None = None
    ) -> list[LedgerEntry]:
        """The client's entries in posting order; with ``since``, only those posted from then on."""
        return self._store.entries(practice_id, client_id, since=since)

    def posted(self, practice_id: str, source_key: str) -> LedgerEntry | None:
        """The entry a source posted (None: not posted, or an application of nothing)."""
        guard = self._store.guard(practice_id, source_key)
        if guard is None or guard.entry_id is None:
            return None
        return self._store.entry(practice_id, guard.client_id, guard.entry_id)

    def balance(self, practice_id: str, client_id: str, currency: str) -> Balance:
        """Derived from the entries (the truth), never from the summaries."""
        return balance_of(client_id, currency, self.entries(practice_id, client_id))

    def summaries(self, practice_id: str, client_id: str) -> list[AccountBalance]:
        """The stored per-account summaries (one Query; O(1) per account)."""
        return self._store.summaries(practice_id, client_id)

    def account(
        self, practice_id: str, client_id: str, currency: str, owner_id: str | None = None
    ) -> AccountBalance:
        """One billing party account's summary (one GetItem)."""
        owner = owner_of(client_id, owner_id)
        s = self._store.summary(practice_id, BillingAccount(client_id, owner, currency))
        return AccountBalance(
            owner_id=owner, currency=currency, receivable=s.position.receivable, credit=s.position.credit
        )

    def verify(self, practice_id: str, client_id: str) -> list[str]:
        """Every way the summaries differ from the sum of the entries (empty: they agree)."""
        derived = accounts_of(self.entries(practice_id, client_id))
        return compare(derived, self.summaries(practice_id, client_id))


def _apply_key(charge_source: str) -> str:
    return f"credit-apply:{charge_source}"


def _replayed(charged: int, applied: int, currency: str, entry: LedgerEntry | None = None) -> ChargeResult:
    return ChargeResult(
        entry=None,
        credit_applied=Money(amount=applied, currency=currency),
        due=Money(amount=charged - applied, currency=currency),
        application=entry,
    )
