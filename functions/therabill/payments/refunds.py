"""Refunds back to the original card, disputes as Stripe reports them, and payments staff take
in person (cash, check).

A refund is reserved before Stripe is called: one transaction writes the refund (``pending``) and
adds its amount to the payment's ``refunded_amount`` on the condition that the total stays within
the amount paid, so two concurrent refunds can never return more than was charged. Stripe gets the
idempotency key ``therabill:refund:<id>``; the ledger entry (source ``refund:<id>``) is posted when
Stripe says the refund succeeded, by the request or by the ``refund.*`` webhook, whichever comes
first. A refund Stripe fails gives its reservation back.

Ledger effects (double entry, see ``ledger/chart.py``), on the payer account of the payment (the
client, or the billing contact who owns the card):

* a refund: Dr credit (what credit the account holds, e.g. a refunded deposit) and/or Dr
  receivable (what the payment paid is owed again) / Cr cash:card — source ``refund:<rfd>``;
* a lost dispute (``charge.dispute.closed`` or ``.updated`` with status ``lost``): the same lines
  for the disputed amount, kind ``chargeback`` — source ``dispute-lost:<dp>``, once; a dispute
  still open or won changes no balance (it is shown on the payment);
* cash or a check at the front desk: Dr cash:<method> / Cr receivable, any excess Cr credit —
  source ``manual:<man>``, once per Idempotency-Key.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from therabill.adapters.dynamo import ConditionFailed, Table, put_new_write
from therabill.core import keys
from therabill.core.clock import Clock, iso, parse_iso
from therabill.core.errors import ConflictError, InvalidRequestError, NotFoundError
from therabill.core.ids import derived_id, is_id
from therabill.core.money import Money
from therabill.core.writes import Write
from therabill.ledger.service import LedgerEntry, LedgerService
from therabill.observability import logger
from therabill.payments.gateway import (
    GatewayRejectedError,
    GatewayUnavailableError,
    PaymentGateway,
    RefundState,
)
from therabill.payments.models import Payment
from therabill.payments.service import PaymentService
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService

RefundStatus = Literal["pending", "succeeded", "failed"]
ManualMethod = Literal["cash", "check", "other"]


class Refund(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    payment_id: str
    client_id: str
    amount: Money
    status: RefundStatus
    memo: str
    created_at: datetime
    created_by: str
    stripe_refund_id: str | None = None
    failure_reason: str | None = None
    # Also forgive what was refunded: the payer does not owe it again (an adjustment, once).
    write_off: bool = False


def _refund_item(practice_id: str, r: Refund) -> dict[str, Any]:
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
    }


def _refund(item: dict[str, Any]) -> Refund:
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
    )


class RefundService:
    def __init__(
        self,
        table: Table,
        gateway: PaymentGateway,
        practices: PracticeService,
        payments: PaymentService,
        ledger: LedgerService,
        clock: Clock,
    ) -> None:
        self._table = table
        self._gateway = gateway
        self._practices = practices
        self._payments = payments
        self._ledger = ledger
        self._clock = clock
        self._hooks: list[Callable[[str, Refund, Payment], None]] = []

    def on_refund(self, hook: Callable[[str, Refund, Payment], None]) -> None:
        """Run ``hook(practice_id, refund, payment)`` after each refund succeeds (after its ledger
        entries), at least once: hooks must be idempotent."""
        self._hooks.append(hook)

    # -- refunds ------------------------------------------------------------------------------
    def get(self, practice_id: str, refund_id: str) -> Refund:
        item = self._table.get(keys.practice_pk(practice_id), keys.refund_sk(refund_id))
        if not item:
            raise NotFoundError("refund not found")
        return _refund(item)

    def refund(
        self,
        practice_id: str,
        *,
        client_id: str,
        payment_id: str,
        request_key: str,
        amount: int | None,
        memo: str,
        created_by: str,
        write_off: bool = False,
    ) -> Refund:
        """Give money back to the card it came from. The payer then owes again what the refunded
        payment paid, unless ``write_off``: the refund also writes it off (a goodwill refund of a
        fee, a session not given)."""
        practice = self._practices.get(practice_id)
        payment = self._payments.get(practice_id, payment_id)
        if payment.client_id != client_id:
            raise NotFoundError("payment not found")
        refund_id = derived_id("rfd", practice_id, request_key)
        existing = self._table.get(keys.practice_pk(practice_id), keys.refund_sk(refund_id))
        if existing:
            refund = _refund(existing)
            if (
                refund.payment_id != payment_id
                or (amount is not None and amount != refund.amount.amount)
                or refund.write_off != write_off
            ):
                raise ConflictError("this Idempotency-Key was used for a different refund")
            return self._attempt(practice, payment, refund) if refund.status == "pending" else refund
        if payment.status != "succeeded" or not payment.payment_intent_id:
            raise ConflictError("only a succeeded payment can be refunded", status=payment.status)
        remaining = payment.amount.amount - payment.refunded_amount
        value = remaining if amount is None else amount
        if value <= 0:
            raise ConflictError("this payment has been refunded in full", refunded=payment.refunded_amount)
        if value > remaining:
            left = Money(amount=remaining, currency=payment.amount.currency)
            raise InvalidRequestError(
                f"at most {left.format()} can be refunded",
                field="amount",
                remaining=remaining,
            )
        now = self._clock()
        refund = Refund(
            id=refund_id,
            payment_id=payment_id,
            client_id=client_id,
            amount=Money(amount=value, currency=payment.amount.currency),
            status="pending",
            memo=memo,
            created_at=now,
            created_by=created_by,
            write_off=write_off,
        )
        pk = keys.practice_pk(practice_id)
        try:
            self._table.transact(
                [
                    put_new_write(_refund_item(practice_id, refund)),
                    Write(
                        kind="update",
                        key=self._table.key(pk, keys.payment_sk(payment_id)),
                        update="ADD refunded_amount :amt",
                        # No arithmetic in conditions: compare with the most that may be refunded before.
                        condition=(
                            "#s = :ok AND (attribute_not_exists(refunded_amount) OR refunded_amount <= :max)"
                        ),
                        names={"#s": "status"},
                        values={":amt": value, ":ok": "succeeded", ":max": payment.amount.amount - value},
                    ),
                ]
            )
        except ConditionFailed as exc:
            if exc.index == 0 and exc.current:  # the same request, concurrently
                return _refund(exc.current)
            raise ConflictError("the payment changed meanwhile (another refund?); reload and retry") from exc
        return self._attempt(practice, payment, refund)

    def _attempt(self, practice: Practice, payment: Payment, refund: Refund) -> Refund:
        assert practice.stripe is not None and payment.payment_intent_id
        try:
            state = self._gateway.refund(
                account=practice.stripe.account_id,
                payment_intent_id=payment.payment_intent_id,
                amount=refund.amount.amount,
                idempotency_key=f"therabill:refund:{refund.id}",
                metadata={
                    "therabill_practice_id": practice.id,
                    "therabill_payment_id": payment.id,
                    "therabill_refund_id": refund.id,
                },
            )
        except GatewayUnavailableError:
            logger.warning("stripe unavailable; refund left pending", refund_id=refund.id)
            return refund
        except GatewayRejectedError as exc:
            return self._fail(practice.id, refund, exc.message)
        return self.apply(practice, refund.id, state)

    def apply(self, practice: Practice, refund_id: str, state: RefundState) -> Refund:
        """What Stripe says of a refund (the request's answer or a ``refund.*`` event)."""
        refund = self.get(practice.id, refund_id)
        if state.status == "succeeded":
            return self._succeed(practice.id, refund, state.id)
        if state.status in ("failed", "canceled"):
            return self._fail(practice.id, refund, state.failure_reason or state.status, state.id)
        if not refund.stripe_refund_id:
            self._table.update(
                keys.practice_pk(practice.id),
                keys.refund_sk(refund.id),
                update="SET stripe_refund_id = :re",
                values={":re": state.id},
            )
        return refund.model_copy(update={"stripe_refund_id": state.id})

    def _succeed(self, practice_id: str, refund: Refund, stripe_refund_id: str) -> Refund:
        try:
            item = self._table.update(
                keys.practice_pk(practice_id),
                keys.refund_sk(refund.id),
                update="SET #s = :ok, stripe_refund_id = :re",
                condition="#s = :pending",
                names={"#s": "status"},
                values={":ok": "succeeded", ":pending": "pending", ":re": stripe_refund_id},
            )
            refund = _refund(item)
        except ConditionFailed as exc:
            refund = _refund(exc.current or {})
            if refund.status != "succeeded":
                return refund  # failed earlier: a late success is Stripe's to explain, not ours to post
        payment = self._payments.get(practice_id, refund.payment_id)
        self._ledger.post(
            practice_id,
            client_id=refund.client_id,
            kind="refund",
            amount=refund.amount,
            source_key=f"refund:{refund.id}",
            memo="Refund to card",
            method="card",
            payment_id=refund.payment_id,
            owner_id=payment.owner_id,
        )
        if refund.write_off:
            self._ledger.post(
                practice_id,
                client_id=refund.client_id,
                kind="adjustment",
                amount=refund.amount,
                source_key=f"refund-write-off:{refund.id}",
                memo="Written off with the refund",
                payment_id=refund.payment_id,
                owner_id=payment.owner_id,
            )
        for hook in self._hooks:
            hook(practice_id, refund, payment)
        return refund

    def _fail(
        self, practice_id: str, refund: Refund, reason: str, stripe_refund_id: str | None = None
    ) -> Refund:
        pk = keys.practice_pk(practice_id)
        sets = "SET #s = :failed, failure_reason = :why" + (
            ", stripe_refund_id = :re" if stripe_refund_id else ""
        )
        values: dict[str, Any] = {":failed": "failed", ":pending": "pending", ":why": reason}
        if stripe_refund_id:
            values[":re"] = stripe_refund_id
        try:
            self._table.transact(
                [
                    Write(
                        kind="update",
                        key=self._table.key(pk, keys.refund_sk(refund.id)),
                        update=sets,
                        condition="#s = :pending",
                        names={"#s": "status"},
                        values=values,
                    ),
                    Write(
                        kind="update",
                        key=self._table.key(pk, keys.payment_sk(refund.payment_id)),
                        update="ADD refunded_amount :back",
                        values={":back": -refund.amount.amount},
                    ),
                ]
            )
        except ConditionFailed:
            return self.get(practice_id, refund.id)  # already settled
        logger.warning("refund failed", refund_id=refund.id, reason=reason)
        return self.get(practice_id, refund.id)

    # -- disputes -----------------------------------------------------------------------------
    def record_dispute(self, practice: Practice, dispute: dict[str, Any], event_created: int = 0) -> str:
        """``charge.dispute.*``: keep the dispute and show it on its payment. The newest state
        wins (Stripe sends updates out of order): states are ordered by their event's ``created``,
        and an older one arriving late changes nothing."""
        intent = dispute.get("payment_intent")
        if not isinstance(intent, str):
            return "ignored:no-payment-intent"
        page = self._table.query(keys.payment_intent_gsi(intent), index="GSI1", limit=1)
        if not page.items or page.items[0].get("practice_id") != practice.id:
            return "ignored:unknown-payment"
        payment_id = str(page.items[0]["id"])
        due = (dispute.get("evidence_details") or {}).get("due_by")
        created = int(event_created or 0)
        pk = keys.practice_pk(practice.id)
        item = {
            "PK": pk,
            "SK": keys.dispute_sk(str(dispute["id"])),
            "type": "dispute",
            "id": dispute["id"],
            "payment_id": payment_id,
            "amount": int(dispute.get("amount") or 0),
            "currency": str(dispute.get("currency") or ""),
            "reason": str(dispute.get("reason") or ""),
            "status": str(dispute.get("status") or ""),
            "evidence_due_by": int(due) if due else None,
            "seen_at": iso(self._clock()),
            "event_created": created,
        }
        try:  # an older state (Stripe's ``created``) never replaces a newer one
            self._table.put(
                item,
                condition="attribute_not_exists(PK) OR event_created <= :created",
                values={":created": created},
            )
        except ConditionFailed:
            return "ignored:older-dispute-state"
        self._table.update(
            pk,
            keys.payment_sk(payment_id),
            update="SET dispute_id = :d, dispute_status = :s, dispute_reason = :r",
            condition="attribute_exists(PK)",
            values={":d": item["id"], ":s": item["status"], ":r": item["reason"]},
        )
        if item["status"] == "lost":
            self._dispute_lost(practice.id, payment_id, str(item["id"]), item["amount"], item["currency"])
        return f"dispute-{item['status']}"

    def _dispute_lost(
        self, practice_id: str, payment_id: str, dispute_id: str, amount: int, currency: str
    ) -> None:
        """A lost dispute takes the money back: the payment is reversed on the ledger, once."""
        payment = self._payments.get(practice_id, payment_id)
        if amount <= 0 or currency.lower() != payment.amount.currency:
            logger.warning("lost dispute not posted: amount or currency", dispute_id=dispute_id)
            return
        self._ledger.post(
            practice_id,
            client_id=payment.client_id,
            kind="chargeback",
            amount=Money(amount=min(amount, payment.amount.amount), currency=payment.amount.currency),
            source_key=f"dispute-lost:{dispute_id}",
            memo="Dispute lost: payment reversed",
            method="card",
            payment_id=payment.id,
            owner_id=payment.owner_id,
        )

    # -- payments taken in person -------------------------------------------------------------
    def record_manual_payment(
        self,
        practice_id: str,
        *,
        client_id: str,
        request_key: str,
        amount: int,
        method: ManualMethod,
        reference: str,
        memo: str,
        owner_id: str | None = None,
    ) -> LedgerEntry:
        """Cash or a check handed to the front desk: a payment entry, once per request key. It
        pays what the payer account owes; anything beyond becomes credit (applied to the next
        charge)."""
        practice = self._practices.get(practice_id)
        source = f"manual:{derived_id('man', practice_id, request_key)}"
        label = {"cash": "Cash payment", "check": "Check payment", "other": "Payment"}[method]
        entry = self._ledger.post(
            practice_id,
            client_id=client_id,
            kind="payment",
            amount=Money(amount=amount, currency=practice.currency),
            source_key=source,
            memo=f"{label} {reference}".strip() if not memo else f"{label} {reference} — {memo}".strip(),
            method=method,
            owner_id=owner_id,
        )
        if entry is None:  # a retried request: return the entry it made
            existing = self._ledger.posted(practice_id, source)
            if existing is None or existing.client_id != client_id:
                raise ConflictError("this Idempotency-Key was used for another client")
            return existing
        return entry


def refund_id_of(metadata: dict[str, Any]) -> str | None:
    value = metadata.get("therabill_refund_id")
    return value if isinstance(value, str) and is_id(value, "rfd") else None
