"""Ledger items, in the practice's partition: entries (``LEDGER#<cli>#<led>``), the guards that
make a source post once (``LEDGERSRC#<source key>``) and the billing party accounts' summaries
(``LEDGERBAL#<cli>#<owner or '-'>#<currency>``).

A posting is one transaction whose writes are, in this order: the source's guard, its entry, the
summary update, then anything else (another guard and entry). ``commit`` reads the summary, asks
the caller to plan the writes from it, and runs them; a summary that changed meanwhile (its version
condition, or DynamoDB's TransactionConflict) is read again and the posting planned again, a
bounded number of times."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from therabill.adapters.dynamo import ConditionFailed, Table, put_new_write
from therabill.core import keys
from therabill.core.clock import iso, parse_iso
from therabill.core.errors import DependencyUnavailableError
from therabill.core.ids import id_floor
from therabill.core.money import Money
from therabill.core.writes import Write
from therabill.ledger.chart import Line, Position
from therabill.ledger.errors import LedgerBusyError, SourcePostedError
from therabill.ledger.models import AccountBalance, BillingAccount, Guard, LedgerEntry, Summary

T = TypeVar("T")

MAX_ATTEMPTS = 8  # re-reads of a summary that changed meanwhile, per posting
GUARD_INDEX = 0
SUMMARY_INDEX = 2
_NO_OWNER = "-"


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
        **({"reference": e.reference} if e.reference else {}),
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
        reference=item.get("reference"),
    )


def _guard(item: dict[str, Any]) -> Guard:
    entry_id = item.get("entry_id")
    amount = item.get("amount")
    return Guard(
        entry_id=str(entry_id) if entry_id else None,
        client_id=str(item["client_id"]),
        owner_id=item.get("owner_id"),
        amount=int(amount) if amount is not None else None,
        currency=item.get("currency"),
        credit_applied=int(item["credit_applied"]) if "credit_applied" in item else None,
    )


def _summary_sk(account: BillingAccount) -> str:
    return keys.ledger_summary_sk(account.client_id, account.owner_id or _NO_OWNER, account.currency)


def _conflict(exc: DependencyUnavailableError) -> bool:
    """DynamoDB cancelled the transaction because another one was writing the same item (the
    summary): safe to re-read and plan again at once."""
    response = getattr(exc.__cause__, "response", None)  # the adapter's original error
    reasons = response.get("CancellationReasons") if isinstance(response, dict) else None
    return any(isinstance(r, dict) and r.get("Code") == "TransactionConflict" for r in reasons or [])


class LedgerStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    # -- a posting's writes ---------------------------------------------------------------------
    def entry_write(self, practice_id: str, entry: LedgerEntry) -> Write:
        return put_new_write(_item(practice_id, entry))

    def guard_write(
        self,
        practice_id: str,
        source_key: str,
        account: BillingAccount,
        entry: LedgerEntry | None,
        *,
        credit_applied: int | None = None,
    ) -> Write:
        """The source's guard, put if absent: a second posting of the source fails on it."""
        item: dict[str, Any] = {
            "PK": keys.practice_pk(practice_id),
            "SK": keys.ledger_guard_sk(source_key),
            "type": "ledger_guard",
            "entry_id": entry.id if entry else None,
            "client_id": account.client_id,
            "owner_id": account.owner_id,
            "amount": entry.amount.amount if entry else 0,
            "currency": account.currency,
        }
        if credit_applied is not None:
            item["credit_applied"] = credit_applied
        return put_new_write(item)

    def summary_write(
        self, practice_id: str, account: BillingAccount, read: Summary, change: Position
    ) -> Write:
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
            key=Table.key(keys.practice_pk(practice_id), _summary_sk(account)),
            update=(
                "SET #v = :next, #t = :type, client_id = :cli, owner_id = :own, currency = :cur "
                "ADD #r :dr, #c :dc"
            ),
            condition=condition,
            names=names,
            values=values,
        )

    def commit(
        self,
        practice_id: str,
        source_key: str,
        account: BillingAccount,
        plan: Callable[[Summary], tuple[list[Write], T]],
    ) -> T:
        """Read the account's summary, plan, write; again if the summary changed meanwhile. The
        source posted before (its guard failed) → SourcePostedError with what the guard holds."""
        for n in range(MAX_ATTEMPTS):
            writes, result = plan(self.summary(practice_id, account))
            try:
                self.table.transact(writes)
                return result
            except ConditionFailed as exc:
                if exc.index == GUARD_INDEX:
                    guard = _guard(exc.current) if exc.current else None
                    raise SourcePostedError(source_key, guard) from exc
                if exc.index != SUMMARY_INDEX:
                    raise
            except DependencyUnavailableError as exc:
                if not _conflict(exc) or n == MAX_ATTEMPTS - 1:
                    raise  # throttling and outages are the caller's to retry (a 503)
            time.sleep(random.uniform(0, 0.005 * 2**n))
        raise LedgerBusyError("the client's account is busy; try again")

    # -- reading --------------------------------------------------------------------------------
    def summary(self, practice_id: str, account: BillingAccount) -> Summary:
        item = self.table.get(keys.practice_pk(practice_id), _summary_sk(account))
        if not item:
            return Summary(Position(), 0)
        return Summary(
            Position(receivable=int(item.get("receivable", 0)), credit=int(item.get("credit", 0))),
            int(item.get("version", 0)),
        )

    def summaries(self, practice_id: str, client_id: str) -> list[AccountBalance]:
        items = self.table.query_all(
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

    def guard(self, practice_id: str, source_key: str) -> Guard | None:
        item = self.table.get(keys.practice_pk(practice_id), keys.ledger_guard_sk(source_key))
        return _guard(item) if item else None

    def entry(self, practice_id: str, client_id: str, entry_id: str) -> LedgerEntry | None:
        item = self.table.get(keys.practice_pk(practice_id), keys.ledger_sk(client_id, entry_id))
        return _entry(item) if item else None

    def entries(self, practice_id: str, client_id: str, *, since: datetime | None) -> list[LedgerEntry]:
        """The client's entries in posting order; with ``since``, only those posted from then on
        (entry ids sort by posting time, so it is a narrower key range, not a filter)."""
        prefix = keys.ledger_prefix(client_id)
        from_sk = None
        if since is not None:
            from_sk = prefix + id_floor("led", int(since.timestamp() * 1000))
        items = self.table.query_all(keys.practice_pk(practice_id), prefix=prefix, from_sk=from_sk)
        return [_entry(i) for i in items]
