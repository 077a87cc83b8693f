"""Payment, refund and dispute items: the mapping between the domain models and the table's
attributes. The item shapes are stored data: attribute names never change."""

from __future__ import annotations

from typing import Any

from therabill.core import keys
from therabill.core.clock import iso, parse_iso
from therabill.core.money import Money
from therabill.payments.models import AttemptRecord, Dispute, Payment, Refund


def payment_item(practice_id: str, p: Payment) -> dict[str, Any]:
    item: dict[str, Any] = {
        "PK": keys.practice_pk(practice_id),
        "SK": keys.payment_sk(p.id),
        "type": "payment",
        "id": p.id,
        "practice_id": practice_id,
        "client_id": p.client_id,
        "owner_id": p.owner_id,
        "card_id": p.card_id,
        "consent_id": p.consent_id,
        "amount": p.amount.amount,
        "currency": p.amount.currency,
        "kind": p.kind,
        "memo": p.memo,
        "status": p.status,
        "created_at": iso(p.created_at),
        "updated_at": iso(p.updated_at),
        "created_by": p.created_by,
        "attempt": p.attempt,
    }
    if p.reference:
        item["reference"] = p.reference
    if p.status == "pending":  # sparse index of payments still waiting on Stripe
        item["GSI1PK"] = keys.PENDING_PAYMENTS_GSI
        item["GSI1SK"] = keys.pending_payment_gsi_sk(iso(p.started_at), practice_id, p.id)
    return item


def _attempt_record(raw: dict[str, Any]) -> AttemptRecord:
    return AttemptRecord(
        number=raw["number"],
        started_at=parse_iso(raw["started_at"]),
        declined_at=parse_iso(raw["declined_at"]),
        code=raw.get("code"),
        payment_intent_id=raw.get("payment_intent_id"),
    )


def attempt_record_item(payment: Payment, code: str | None) -> dict[str, Any]:
    """The attempt a payment has just finished (declined), as kept in its ``attempts`` list."""
    record: dict[str, Any] = {
        "number": payment.attempt,
        "started_at": iso(payment.started_at),
        "declined_at": iso(payment.updated_at),
    }
    if code:
        record["code"] = code
    if payment.payment_intent_id:
        record["payment_intent_id"] = payment.payment_intent_id
    return record


def _opt_time(item: dict[str, Any], name: str) -> Any:
    return parse_iso(item[name]) if item.get(name) else None


def payment_from_item(item: dict[str, Any]) -> Payment:
    return Payment(
        id=item["id"],
        client_id=item["client_id"],
        owner_id=item["owner_id"],
        card_id=item["card_id"],
        consent_id=item["consent_id"],
        amount=Money(amount=item["amount"], currency=item["currency"]),
        kind=item["kind"],
        memo=item.get("memo", ""),
        status=item["status"],
        created_at=parse_iso(item["created_at"]),
        updated_at=parse_iso(item["updated_at"]),
        created_by=item["created_by"],
        payment_intent_id=item.get("payment_intent_id"),
        charge_id=item.get("charge_id"),
        error_code=item.get("error_code"),
        decline_code=item.get("decline_code"),
        failure_message=item.get("failure_message"),
        refunded_amount=item.get("refunded_amount", 0),
        dispute_id=item.get("dispute_id"),
        dispute_status=item.get("dispute_status"),
        dispute_reason=item.get("dispute_reason"),
        attempt=item.get("attempt", 1),
        attempt_started_at=_opt_time(item, "attempt_started_at"),
        next_retry_at=_opt_time(item, "next_retry_at"),
        attempts=tuple(_attempt_record(a) for a in item.get("attempts", [])),
        reference=item.get("reference"),
    )


def refund_item(practice_id: str, r: Refund) -> dict[str, Any]:
    return {
        "PK": keys.practice_pk(practice_id),
        "SK": keys.refund_sk(r.id),
        "type": "refund",
        "id": r.id,
        "payment_id": r.payment_id,
        "client_id": r.client_id,
        "amount": r.amount.amount,
        "currency": r.amount.currency,
        "status": r.status,
        "memo": r.memo,
        "created_at": iso(r.created_at),
        "created_by": r.created_by,
        "write_off": r.write_off,
    } | ({"revenue": r.revenue} if r.revenue else {})


def refund_from_item(item: dict[str, Any]) -> Refund:
    return Refund(
        id=item["id"],
        payment_id=item["payment_id"],
        client_id=item["client_id"],
        amount=Money(amount=item["amount"], currency=item["currency"]),
        status=item["status"],
        memo=item.get("memo", ""),
        created_at=parse_iso(item["created_at"]),
        created_by=item["created_by"],
        stripe_refund_id=item.get("stripe_refund_id"),
        failure_reason=item.get("failure_reason"),
        write_off=bool(item.get("write_off", False)),
        revenue=item.get("revenue"),
    )


def dispute_item(practice_id: str, d: Dispute) -> dict[str, Any]:
    return {
        "PK": keys.practice_pk(practice_id),
        "SK": keys.dispute_sk(d.id),
        "type": "dispute",
        "id": d.id,
        "payment_id": d.payment_id,
        "amount": d.amount,
        "currency": d.currency,
        "reason": d.reason,
        "status": d.status,
        "evidence_due_by": d.evidence_due_by,
        "seen_at": iso(d.seen_at),
        "event_created": d.event_created,
    }
