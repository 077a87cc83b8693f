"""The client ledger: append-only entries; every balance is derived from them.

An entry is written once, keyed by a *source key* that names what caused it (``payment:<id>``),
through a transaction that also creates a guard item for that source key. A second post of the
same source (a replayed webhook, a retried request) is refused by the guard and changes nothing.
Nothing is ever updated or deleted in place: a correction is a new entry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from therabill.adapters.dynamo import ConditionFailed, Table, put_new_write
from therabill.core import keys
from therabill.core.clock import Clock, iso, parse_iso
from therabill.core.ids import new_id
from therabill.core.money import Money

EntryKind = Literal["charge", "payment", "refund", "adjustment", "credit"]
PaymentMethod = Literal["card", "cash", "check", "credit", "insurance", "other"]

# The sign each kind has on the balance the client owes.
_SIGN: dict[str, int] = {"charge": 1, "refund": 1, "payment": -1, "credit": -1, "adjustment": -1}


class LedgerEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    client_id: str
    kind: EntryKind
    amount: Money  # positive; the kind gives the direction
    source_key: str
    posted_at: datetime
    memo: str
    method: PaymentMethod | None = None
    payment_id: str | None = None
    owner_id: str | None = None

    @property
    def signed_amount(self) -> int:
        return _SIGN[self.kind] * self.amount.amount


class Balance(BaseModel):
    model_config = ConfigDict(frozen=True)

    client_id: str
    currency: str
    owed: int  # positive: the client owes; negative: the client has credit
    entries: int


def balance_of(client_id: str, currency: str, entries: list[LedgerEntry]) -> Balance:
    owed = sum(e.signed_amount for e in entries if e.amount.currency == currency)
    return Balance(client_id=client_id, currency=currency, owed=owed, entries=len(entries))


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
    )


class LedgerService:
    def __init__(self, table: Table, clock: Clock) -> None:
        self._table = table
        self._clock = clock

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
        """Append one entry exactly once per ``source_key``. Returns None if it was already posted."""
        if amount.amount <= 0:
            raise ValueError("ledger amounts are positive; the kind gives the direction")
        now = self._clock()
        entry = LedgerEntry(
            id=new_id("led", int(now.timestamp() * 1000)),
            client_id=client_id,
            kind=kind,
            amount=amount,
            source_key=source_key,
            posted_at=now,
            memo=memo,
            method=method,
            payment_id=payment_id,
            owner_id=owner_id,
        )
        guard = {
            "PK": keys.practice_pk(practice_id),
            "SK": keys.ledger_guard_sk(source_key),
            "type": "ledger_guard",
            "entry_id": entry.id,
            "client_id": client_id,
        }
        try:
            self._table.transact([put_new_write(guard), put_new_write(_item(practice_id, entry))])
        except ConditionFailed:
            return None
        return entry

    def entries(self, practice_id: str, client_id: str) -> list[LedgerEntry]:
        items = self._table.query_all(keys.practice_pk(practice_id), prefix=keys.ledger_prefix(client_id))
        return [_entry(i) for i in items]

    def balance(self, practice_id: str, client_id: str, currency: str) -> Balance:
        return balance_of(client_id, currency, self.entries(practice_id, client_id))
