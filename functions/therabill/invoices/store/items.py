"""The invoice item and the table: mapping between the domain model and the stored attributes
(names and shapes exactly as stored), the sparse sweep indexes, and the status index row."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from therabill.core import keys
from therabill.core.clock import iso, parse_iso
from therabill.core.money import Money
from therabill.invoices.models import AppliedPayment, Invoice, InvoiceLine

# Written only by the access guard (atomic ADD); never part of a versioned update.
GUARDED = frozenset({"failed_codes", "locked_at"})


def _opt_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _opt_time(value: str | None) -> datetime | None:
    return parse_iso(value) if value else None


def _opt_iso(value: datetime | None) -> str | None:
    return iso(value) if value else None


def _line_item(line: InvoiceLine) -> dict[str, Any]:
    return {
        "n": line.n,
        "description": line.description,
        "amount": line.amount.amount,
        "category": line.category,
        "source_key": line.source_key,
        "session_id": line.session_id,
        "service_date": line.service_date.isoformat() if line.service_date else None,
    }


def _payment_item(p: AppliedPayment) -> dict[str, Any]:
    return {
        "payment_id": p.payment_id,
        "amount": p.amount.amount,
        "applied_at": iso(p.applied_at),
        "method": p.method,
    }


def _sweep_index(practice_id: str, inv: Invoice) -> dict[str, Any]:
    """Sparse platform indexes for the scheduled sweep: open invoices by due date, overdue ones by
    their next reminder. An invoice is in at most one of them; paid / void / uncollectible: none."""
    if inv.status == "open":
        when = inv.due_date.isoformat()
        return {
            "GSI1PK": keys.INVOICES_DUE_GSI,
            "GSI1SK": keys.invoice_sweep_gsi_sk(when, practice_id, inv.id),
        }
    if inv.status == "overdue" and inv.next_reminder_at is not None:
        when = iso(inv.next_reminder_at)
        return {
            "GSI1PK": keys.INVOICE_REMINDERS_GSI,
            "GSI1SK": keys.invoice_sweep_gsi_sk(when, practice_id, inv.id),
        }
    return {}


def to_item(practice_id: str, inv: Invoice) -> dict[str, Any]:  # long: one stored attribute a line
    return {
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
        "lines": [_line_item(line) for line in inv.lines],
        "payments": [_payment_item(p) for p in inv.payments],
        "issue_date": inv.issue_date.isoformat(),
        "due_date": inv.due_date.isoformat(),
        "period_start": inv.period_start.isoformat() if inv.period_start else None,
        "period_end": inv.period_end.isoformat() if inv.period_end else None,
        "memo": inv.memo,
        "access_code": inv.access_code,
        "failed_codes": inv.failed_codes,
        "locked_at": _opt_iso(inv.locked_at),
        "created_at": iso(inv.created_at),
        "created_by": inv.created_by,
        "sent_at": _opt_iso(inv.sent_at),
        "paid_at": _opt_iso(inv.paid_at),
        "voided_at": _opt_iso(inv.voided_at),
        "void_reason": inv.void_reason,
        "voided_from": inv.voided_from,
        "uncollectible_at": _opt_iso(inv.uncollectible_at),
        "reminders_sent": inv.reminders_sent,
        "next_reminder_at": _opt_iso(inv.next_reminder_at),
        "sends": inv.sends,
        "pm_requests": inv.pm_requests,
        "version": inv.version,
        **_sweep_index(practice_id, inv),
    }


def _line_of(raw: dict[str, Any], currency: str) -> InvoiceLine:
    return InvoiceLine(
        n=raw["n"],
        description=raw["description"],
        amount=Money(amount=raw["amount"], currency=currency),
        category=raw["category"],
        source_key=raw["source_key"],
        session_id=raw.get("session_id"),
        service_date=_opt_date(raw.get("service_date")),
    )


def _payment_of(raw: dict[str, Any], currency: str) -> AppliedPayment:
    return AppliedPayment(
        payment_id=raw["payment_id"],
        amount=Money(amount=raw["amount"], currency=currency),
        applied_at=parse_iso(raw["applied_at"]),
        method=raw.get("method", "card"),
    )


def from_item(item: dict[str, Any]) -> Invoice:
    currency = item["currency"]
    return Invoice(
        id=item["id"],
        number=item["number"],
        client_id=item["client_id"],
        owner_id=item["owner_id"],
        kind=item["kind"],
        status=item["status"],
        lines=tuple(_line_of(raw, currency) for raw in item.get("lines", [])),
        total=Money(amount=item["total"], currency=currency),
        paid=Money(amount=item.get("paid", 0), currency=currency),
        payments=tuple(_payment_of(raw, currency) for raw in item.get("payments", [])),
        issue_date=date.fromisoformat(item["issue_date"]),
        due_date=date.fromisoformat(item["due_date"]),
        period_start=_opt_date(item.get("period_start")),
        period_end=_opt_date(item.get("period_end")),
        memo=item.get("memo", ""),
        access_code=item["access_code"],
        failed_codes=item.get("failed_codes", 0),
        locked_at=_opt_time(item.get("locked_at")),
        created_at=parse_iso(item["created_at"]),
        created_by=item["created_by"],
        sent_at=_opt_time(item.get("sent_at")),
        paid_at=_opt_time(item.get("paid_at")),
        voided_at=_opt_time(item.get("voided_at")),
        void_reason=item.get("void_reason"),
        voided_from=item.get("voided_from"),
        uncollectible_at=_opt_time(item.get("uncollectible_at")),
        reminders_sent=item.get("reminders_sent", 0),
        next_reminder_at=_opt_time(item.get("next_reminder_at")),
        sends=item.get("sends", 0),
        pm_requests=item.get("pm_requests", 0),
        version=item["version"],
    )


def status_row(pk: str, inv: Invoice) -> dict[str, Any]:
    return {
        "PK": pk,
        "SK": keys.invoice_status_sk(inv.status, inv.id),
        "type": "invoice_by_status",
        "invoice_id": inv.id,
    }
