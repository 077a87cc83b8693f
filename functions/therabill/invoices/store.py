"""Invoice items: mapping between the domain model and the table, and the one way an invoice is
changed (a versioned UpdateItem of only the attributes that differ; with a status change, one
transaction that also moves the status index row)."""

from __future__ import annotations

from datetime import date
from typing import Any

from therabill.adapters.dynamo import ConditionFailed, Table, put_new_write
from therabill.core import keys
from therabill.core.clock import iso, parse_iso
from therabill.core.errors import ConflictError, NotFoundError
from therabill.core.ids import is_id
from therabill.core.money import Money
from therabill.core.writes import Write
from therabill.invoices.models import AppliedPayment, Invoice, InvoiceLine

# Written only by the access guard (atomic ADD); never part of a versioned update.
_GUARDED = frozenset({"failed_codes", "locked_at"})


def _opt_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def to_item(practice_id: str, inv: Invoice) -> dict[str, Any]:
    item: dict[str, Any] = {
        "PK": keys.practice_pk(practice_id),
        "SK": keys.invoice_sk(inv.id),
        "type": "invoice",
        "id": inv.id,
        "practice_id": practice_id,
        "number": inv.number,
        "client_id": inv.client_id,
        "owner_id": inv.owner_id,
        "kind": inv.kind,
        "status": inv.status,
        "currency": inv.currency,
        "total": inv.total.amount,
        "paid": inv.paid.amount,
        "lines": [
            {
                "n": line.n,
                "description": line.description,
                "amount": line.amount.amount,
                "category": line.category,
                "source_key": line.source_key,
                "session_id": line.session_id,
                "service_date": line.service_date.isoformat() if line.service_date else None,
            }
            for line in inv.lines
        ],
        "payments": [
            {
                "payment_id": p.payment_id,
                "amount": p.amount.amount,
                "applied_at": iso(p.applied_at),
                "method": p.method,
            }
            for p in inv.payments
        ],
        "issue_date": inv.issue_date.isoformat(),
        "due_date": inv.due_date.isoformat(),
        "period_start": inv.period_start.isoformat() if inv.period_start else None,
        "period_end": inv.period_end.isoformat() if inv.period_end else None,
        "memo": inv.memo,
        "access_code": inv.access_code,
        "failed_codes": inv.failed_codes,
        "locked_at": iso(inv.locked_at) if inv.locked_at else None,
        "created_at": iso(inv.created_at),
        "created_by": inv.created_by,
        "sent_at": iso(inv.sent_at) if inv.sent_at else None,
        "paid_at": iso(inv.paid_at) if inv.paid_at else None,
        "voided_at": iso(inv.voided_at) if inv.voided_at else None,
        "void_reason": inv.void_reason,
        "voided_from": inv.voided_from,
        "uncollectible_at": iso(inv.uncollectible_at) if inv.uncollectible_at else None,
        "reminders_sent": inv.reminders_sent,
        "next_reminder_at": iso(inv.next_reminder_at) if inv.next_reminder_at else None,
        "sends": inv.sends,
        "pm_requests": inv.pm_requests,
        "version": inv.version,
    }
    # Sparse platform indexes for the scheduled sweep: open invoices by due date, overdue ones by
    # their next reminder. An invoice is in at most one of them; paid / void / uncollectible: none.
    if inv.status == "open":
        item["GSI1PK"] = keys.INVOICES_DUE_GSI
        item["GSI1SK"] = keys.invoice_sweep_gsi_sk(inv.due_date.isoformat(), practice_id, inv.id)
    elif inv.status == "overdue" and inv.next_reminder_at is not None:
        item["GSI1PK"] = keys.INVOICE_REMINDERS_GSI
        item["GSI1SK"] = keys.invoice_sweep_gsi_sk(iso(inv.next_reminder_at), practice_id, inv.id)
    return item


def from_item(item: dict[str, Any]) -> Invoice:
    currency = item["currency"]
    return Invoice(
        id=item["id"],
        number=item["number"],
        client_id=item["client_id"],
        owner_id=item["owner_id"],
        kind=item["kind"],
        status=item["status"],
        lines=tuple(
            InvoiceLine(
                n=raw["n"],
                description=raw["description"],
                amount=Money(amount=raw["amount"], currency=currency),
                category=raw["category"],
                source_key=raw["source_key"],
                session_id=raw.get("session_id"),
                service_date=_opt_date(raw.get("service_date")),
            )
            for raw in item.get("lines", [])
        ),
        total=Money(amount=item["total"], currency=currency),
        paid=Money(amount=item.get("paid", 0), currency=currency),
        payments=tuple(
            AppliedPayment(
                payment_id=raw["payment_id"],
                amount=Money(amount=raw["amount"], currency=currency),
                applied_at=parse_iso(raw["applied_at"]),
                method=raw.get("method", "card"),
            )
            for raw in item.get("payments", [])
        ),
        issue_date=date.fromisoformat(item["issue_date"]),
        due_date=date.fromisoformat(item["due_date"]),
        period_start=_opt_date(item.get("period_start")),
        period_end=_opt_date(item.get("period_end")),
        memo=item.get("memo", ""),
        access_code=item["access_code"],
        failed_codes=item.get("failed_codes", 0),
        locked_at=parse_iso(item["locked_at"]) if item.get("locked_at") else None,
        created_at=parse_iso(item["created_at"]),
        created_by=item["created_by"],
        sent_at=parse_iso(item["sent_at"]) if item.get("sent_at") else None,
        paid_at=parse_iso(item["paid_at"]) if item.get("paid_at") else None,
        voided_at=parse_iso(item["voided_at"]) if item.get("voided_at") else None,
        void_reason=item.get("void_reason"),
        voided_from=item.get("voided_from"),
        uncollectible_at=parse_iso(item["uncollectible_at"]) if item.get("uncollectible_at") else None,
        reminders_sent=item.get("reminders_sent", 0),
        next_reminder_at=parse_iso(item["next_reminder_at"]) if item.get("next_reminder_at") else None,
        sends=item.get("sends", 0),
        pm_requests=item.get("pm_requests", 0),
        version=item["version"],
    )


class InvoiceStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, practice_id: str, invoice_id: str) -> Invoice:
        if not is_id(invoice_id, "inv"):
            raise NotFoundError("invoice not found")
        item = self.table.get(keys.practice_pk(practice_id), keys.invoice_sk(invoice_id))
        if not item:
            raise NotFoundError("invoice not found")
        return from_item(item)

    def find(self, practice_id: str, invoice_id: str) -> Invoice | None:
        item = self.table.get(keys.practice_pk(practice_id), keys.invoice_sk(invoice_id))
        return from_item(item) if item else None

    def by_number(self, practice_id: str, number: str) -> Invoice | None:
        pk = keys.practice_pk(practice_id)
        pointer = self.table.get(pk, keys.invoice_number_sk(number))
        item = pointer and self.table.get(pk, keys.invoice_sk(pointer["invoice_id"]))
        return from_item(item) if item else None

    def create(self, practice_id: str, inv: Invoice) -> None:
        pk = keys.practice_pk(practice_id)
        rows: list[dict[str, Any]] = [
            to_item(practice_id, inv),
            {
                "PK": pk,
                "SK": keys.invoice_number_sk(inv.number),
                "type": "invoice_number",
                "invoice_id": inv.id,
            },
            {
                "PK": pk,
                "SK": keys.invoice_client_sk(inv.client_id, inv.id),
                "type": "invoice_by_client",
                "invoice_id": inv.id,
            },
            _status_row(pk, inv),
        ]
        rows += [
            {
                "PK": pk,
                "SK": keys.invoiced_charge_sk(line.source_key),
                "type": "invoiced_charge",
                "invoice_id": inv.id,
            }
            for line in inv.lines
            if line.category == "charge"
        ]
        try:
            self.table.transact([put_new_write(r) for r in rows])
        except ConditionFailed as exc:
            if exc.index is not None and exc.index >= 4:
                line = [x for x in inv.lines if x.category == "charge"][exc.index - 4]
                raise ConflictError(
                    "a charge is already on another invoice", source_key=line.source_key
                ) from exc
            raise ConflictError("the invoice could not be created; try again") from exc

    def save(self, practice_id: str, old: Invoice, new: Invoice, extra: list[Write] | None = None) -> Invoice:
        """Write ``new`` over ``old`` if nobody changed it since (version), in one request; with a
        status change, the status index row moves (put the new, delete the old) in the same
        transaction. Stale → ConflictError."""
        pk, sk = keys.practice_pk(practice_id), keys.invoice_sk(old.id)
        new = new.model_copy(update={"version": old.version + 1})
        before, after = to_item(practice_id, old), to_item(practice_id, new)
        names: dict[str, str] = {"#version": "version"}
        values: dict[str, Any] = {":expected": old.version}
        sets, removes = [], []
        for i, name in enumerate(sorted(set(before) | set(after))):
            if name in _GUARDED or name in ("PK", "SK") or before.get(name) == after.get(name):
                continue
            names[f"#a{i}"] = name
            if after.get(name) is None:
                removes.append(f"#a{i}")
            else:
                sets.append(f"#a{i} = :a{i}")
                values[f":a{i}"] = after[name]
        update = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        condition = "attribute_exists(PK) AND #version = :expected"
        writes = [
            Write(
                kind="update",
                key=Table.key(pk, sk),
                update=update,
                condition=condition,
                names=names,
                values=values,
            )
        ]
        if old.status != new.status:
            writes.append(Write(kind="put", item=_status_row(pk, new)))
            writes.append(Write(kind="delete", key=Table.key(pk, keys.invoice_status_sk(old.status, old.id))))
        writes += extra or []
        try:
            if len(writes) == 1:
                self.table.update(pk, sk, update=update, condition=condition, names=names, values=values)
            else:
                self.table.transact(writes)
        except ConditionFailed as exc:
            raise ConflictError(
                "the invoice was changed by someone else; reload and retry", current_version=old.version
            ) from exc
        return new

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
        page = self.table.query(pk, prefix=prefix, limit=limit, cursor=cursor)
        found = [self.find(practice_id, row["invoice_id"]) for row in page.items]
        return [i for i in found if i is not None], page.cursor

    def next_number(self, practice_id: str) -> str:
        from therabill.invoices.models import format_number

        item = self.table.update(
            keys.practice_pk(practice_id),
            keys.INVOICE_COUNTER_SK,
            update="SET #t = :t ADD #last :one",
            names={"#t": "type", "#last": "last"},
            values={":t": "invoice_counter", ":one": 1},
        )
        return format_number(int(item["last"]))


def _status_row(pk: str, inv: Invoice) -> dict[str, Any]:
    return {
        "PK": pk,
        "SK": keys.invoice_status_sk(inv.status, inv.id),
        "type": "invoice_by_status",
        "invoice_id": inv.id,
    }
