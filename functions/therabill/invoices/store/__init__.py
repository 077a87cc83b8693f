"""Invoice items: the only module of invoices that knows their keys or the table.

The one way an invoice is changed is a versioned UpdateItem of only the attributes that differ
(with a status change, one transaction that also moves the status index row). Beside the invoice
item: its number and client index rows, the guard that bills a ledger charge once
(``invoiced_charge``), the pointer from a payment to the invoice it pays (``INVPAY#``), the
practice's invoice counter, the sweep's sparse indexes and the pay page's attempt counters
(``attempts``)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from therabill.adapters.dynamo import ConditionFailed, Table, put_new_write
from therabill.core import keys
from therabill.core.clock import iso
from therabill.core.errors import NotFoundError
from therabill.core.ids import is_id
from therabill.core.writes import Write
from therabill.invoices.errors import (
    ChargeAlreadyInvoicedError,
    InvoiceChangedError,
    InvoiceNotCreatedError,
    PaymentPointerError,
)
from therabill.invoices.models import Invoice, InvoiceRef, format_number
from therabill.invoices.store.attempts import AttemptCounters
from therabill.invoices.store.items import GUARDED, from_item, status_row, to_item

__all__ = ["NO_INVOICE_ID", "InvoiceStore"]

NO_INVOICE_ID = "inv_none"  # an invoice id no invoice has (ids are new_id("inv"): never this)
_CREATION_ROWS = 4  # the invoice, its number, its client row and its status row; then the guards
_UNCHANGED = "attribute_exists(PK) AND #version = :expected"  # the version the change was read at


class InvoiceStore:
    def __init__(self, table: Table) -> None:
        self._table = table
        self.attempts = AttemptCounters(table)

    # -- reads ----------------------------------------------------------------------------------
    def get(self, practice_id: str, invoice_id: str) -> Invoice:
        if not is_id(invoice_id, "inv"):
            raise NotFoundError("invoice not found")
        item = self._table.get(keys.practice_pk(practice_id), keys.invoice_sk(invoice_id))
        if not item:
            raise NotFoundError("invoice not found")
        return from_item(item)

    def find(self, practice_id: str, invoice_id: str) -> Invoice | None:
        item = self._table.get(keys.practice_pk(practice_id), keys.invoice_sk(invoice_id))
        return from_item(item) if item else None

    def by_number(self, practice_id: str, number: str) -> Invoice | None:
        """Always two reads, the number's row then an invoice item (one that never exists when the
        number is unknown), so an unknown number costs what a known one does."""
        pk = keys.practice_pk(practice_id)
        pointer = self._table.get(pk, keys.invoice_number_sk(number))
        item = self._table.get(pk, keys.invoice_sk(pointer["invoice_id"] if pointer else NO_INVOICE_ID))
        return from_item(item) if item and pointer else None

    def list_status(
        self, practice_id: str, status: str, limit: int, cursor: str | None
    ) -> tuple[list[Invoice], str | None]:
        found, next_cursor = self._list(practice_id, keys.invoice_status_prefix(status), limit, cursor)
        return [i for i in found if i.status == status], next_cursor

    def list_client(
        self, practice_id: str, client_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Invoice], str | None]:
        return self._list(practice_id, keys.invoice_client_prefix(client_id), limit, cursor)

    def _list(
        self, practice_id: str, prefix: str, limit: int, cursor: str | None
    ) -> tuple[list[Invoice], str | None]:
        pk = keys.practice_pk(practice_id)
        page = self._table.query(pk, prefix=prefix, limit=limit, cursor=cursor)
        # The page's invoices in one round (BatchGetItem), in the index rows' order.
        wanted = [(pk, keys.invoice_sk(row["invoice_id"])) for row in page.items]
        got = self._table.get_many(wanted)
        return [from_item(got[k]) for k in wanted if k in got], page.cursor

    # -- creation and numbers -------------------------------------------------------------------
    def next_number(self, practice_id: str) -> str:
        item = self._table.update(
            keys.practice_pk(practice_id),
            keys.INVOICE_COUNTER_SK,
            update="SET #t = :t ADD #last :one",
            names={"#t": "type", "#last": "last"},
            values={":t": "invoice_counter", ":one": 1},
        )
        return format_number(int(item["last"]))

    def create(self, practice_id: str, inv: Invoice) -> None:
        """The invoice, its index rows and a guard per charge line, all or nothing. A charge on
        another invoice → ChargeAlreadyInvoicedError; any other lost race → InvoiceNotCreatedError."""
        charges = [line for line in inv.lines if line.category == "charge"]
        rows = _creation_rows(practice_id, inv) + [
            _guard_row(practice_id, line.source_key, inv.id) for line in charges
        ]
        try:
            self._table.transact([put_new_write(r) for r in rows])
        except ConditionFailed as exc:
            if exc.index is not None and exc.index >= _CREATION_ROWS:
                line = charges[exc.index - _CREATION_ROWS]
                raise ChargeAlreadyInvoicedError(
                    "a charge is already on another invoice", source_key=line.source_key
                ) from exc
            raise InvoiceNotCreatedError("the invoice could not be created; try again") from exc

    # -- the one way an invoice changes ---------------------------------------------------------
    def save(self, practice_id: str, old: Invoice, new: Invoice, extra: list[Write] | None = None) -> Invoice:
        """Write ``new`` over ``old`` if nobody changed it since (version), in one request; with a
        status change, the status index row moves (put the new, delete the old) in the same
        transaction. Stale → InvoiceChangedError."""
        pk, sk = keys.practice_pk(practice_id), keys.invoice_sk(old.id)
        new = new.model_copy(update={"version": old.version + 1})
        update, names, values = _changed_attributes(practice_id, old, new)
        writes = [
            Write(
                kind="update",
                key=Table.key(pk, sk),
                update=update,
                condition=_UNCHANGED,
                names=names,
                values=values,
            )
        ]
        if old.status != new.status:
            writes.append(Write(kind="put", item=status_row(pk, new)))
            writes.append(Write(kind="delete", key=Table.key(pk, keys.invoice_status_sk(old.status, old.id))))
        writes += extra or []
        try:
            if len(writes) == 1:
                self._table.update(pk, sk, update=update, condition=_UNCHANGED, names=names, values=values)
            else:
                self._table.transact(writes)
        except ConditionFailed as exc:
            raise InvoiceChangedError(
                "the invoice was changed by someone else; reload and retry", current_version=old.version
            ) from exc
        return new

    def unlock(self, practice_id: str, inv: Invoice, access_code: str) -> Invoice:
        """A new access code and the wrong-code counter back to zero (the guarded attributes a
        versioned save never writes), if nobody changed the invoice since. Stale →
        InvoiceChangedError."""
        try:
            item = self._table.update(
                keys.practice_pk(practice_id),
                keys.invoice_sk(inv.id),
                update="SET access_code = :code, failed_codes = :zero REMOVE locked_at ADD #version :one",
                condition="#version = :v",
                names={"#version": "version"},
                values={":code": access_code, ":zero": 0, ":one": 1, ":v": inv.version},
            )
        except ConditionFailed as exc:
            raise InvoiceChangedError("the invoice was changed by someone else; reload and retry") from exc
        return from_item(item)

    # -- the guard: a ledger charge on at most one invoice that is not void ---------------------
    def is_invoiced(self, practice_id: str, source_key: str) -> bool:
        return bool(self._table.get(keys.practice_pk(practice_id), keys.invoiced_charge_sk(source_key)))

    def free_charge(self, practice_id: str, source_key: str, invoice_id: str) -> None:
        """Drop the guard of a charge the invoice billed (a guard of another invoice stays)."""
        with contextlib.suppress(ConditionFailed):  # only our own guard
            self._table.delete(
                keys.practice_pk(practice_id),
                keys.invoiced_charge_sk(source_key),
                condition="invoice_id = :inv",
                values={":inv": invoice_id},
            )

    # -- the payment → invoice pointer, written before any charge -------------------------------
    def point_payment(self, practice_id: str, payment_id: str, invoice_id: str) -> None:
        """The pointer as the nightly run writes it (with the payment id), unconditionally."""
        self._table.put(
            {
                "PK": keys.practice_pk(practice_id),
                "SK": keys.invoice_payment_sk(payment_id),
                "type": "invoice_payment",
                "invoice_id": invoice_id,
                "payment_id": payment_id,
            }
        )

    def point_page_payment(self, practice_id: str, payment_id: str, invoice_id: str, amount: int) -> None:
        """The pointer as the pay page writes it (with the amount asked), unless the payment
        already names another invoice (→ PaymentPointerError)."""
        try:
            self._table.put(
                {
                    "PK": keys.practice_pk(practice_id),
                    "SK": keys.invoice_payment_sk(payment_id),
                    "type": "invoice_payment",
                    "invoice_id": invoice_id,
                    "amount": amount,
                },
                condition="attribute_not_exists(PK) OR invoice_id = :inv",
                values={":inv": invoice_id},
            )
        except ConditionFailed as exc:
            raise PaymentPointerError(
                "the payment is for another invoice", payment_id=payment_id, invoice_id=invoice_id
            ) from exc

    def invoice_of_payment(self, practice_id: str, payment_id: str) -> str | None:
        pointer = self._table.get(keys.practice_pk(practice_id), keys.invoice_payment_sk(payment_id))
        return str(pointer["invoice_id"]) if pointer else None

    # -- the scheduled sweep's work lists (every practice) --------------------------------------
    def open_due_before(self, day: date, limit: int) -> list[InvoiceRef]:
        """Open invoices whose due date is before ``day`` (oldest first, at most ``limit`` read)."""
        bound = day.isoformat()
        page = self._table.query(keys.INVOICES_DUE_GSI, index="GSI1", limit=limit)
        return _refs_while(page.items, lambda sk: sk < bound)

    def reminders_due(self, now: datetime, limit: int) -> list[InvoiceRef]:
        """Overdue invoices whose next reminder is due at ``now`` (at most ``limit`` read)."""
        bound = iso(now) + "#~"
        page = self._table.query(keys.INVOICE_REMINDERS_GSI, index="GSI1", limit=limit)
        return _refs_while(page.items, lambda sk: sk <= bound)


def _refs_while(rows: list[dict[str, Any]], keep: Callable[[str], bool]) -> list[InvoiceRef]:
    """The rows in index order up to the first one ``keep`` refuses."""
    refs = []
    for row in rows:
        if not keep(row["GSI1SK"]):
            break
        refs.append(InvoiceRef(practice_id=row["practice_id"], invoice_id=row["id"]))
    return refs


def _changed_attributes(
    practice_id: str, old: Invoice, new: Invoice
) -> tuple[str, dict[str, str], dict[str, Any]]:
    """(update expression, names, values): SET the attributes that differ, REMOVE those now empty,
    on the version ``old`` was read at (``_UNCHANGED``)."""
    before, after = to_item(practice_id, old), to_item(practice_id, new)
    names: dict[str, str] = {"#version": "version"}
    values: dict[str, Any] = {":expected": old.version}
    sets, removes = [], []
    for i, name in enumerate(sorted(set(before) | set(after))):
        if name in GUARDED or name in ("PK", "SK") or before.get(name) == after.get(name):
            continue
        names[f"#a{i}"] = name
        if after.get(name) is None:
            removes.append(f"#a{i}")
        else:
            sets.append(f"#a{i} = :a{i}")
            values[f":a{i}"] = after[name]
    update = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    return update, names, values


def _creation_rows(practice_id: str, inv: Invoice) -> list[dict[str, Any]]:
    pk = keys.practice_pk(practice_id)
    return [
        to_item(practice_id, inv),
        {"PK": pk, "SK": keys.invoice_number_sk(inv.number), "type": "invoice_number", "invoice_id": inv.id},
        {
            "PK": pk,
            "SK": keys.invoice_client_sk(inv.client_id, inv.id),
            "type": "invoice_by_client",
            "invoice_id": inv.id,
        },
        status_row(pk, inv),
    ]


def _guard_row(practice_id: str, source_key: str, invoice_id: str) -> dict[str, Any]:
    return {
        "PK": keys.practice_pk(practice_id),
        "SK": keys.invoiced_charge_sk(source_key),
        "type": "invoiced_charge",
        "invoice_id": invoice_id,
    }
