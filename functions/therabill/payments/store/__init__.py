"""The payments store: payment items (and the PENDINGPAY, RETRYDUE and PI# index attributes they
carry), refunds, disputes and the refund reservation. It alone knows their keys and shapes
(``items``, ``updates``); it returns domain models and turns failed conditions into payment
errors, or into "nothing changed" answers where a failed condition is an expected race."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from therabill.adapters.dynamo import ConditionFailed, Table, put_new_write
from therabill.core import keys
from therabill.core.clock import parse_iso
from therabill.core.ids import is_id
from therabill.core.writes import Write
from therabill.payments.errors import (
    PaymentChangedError,
    PaymentNotFoundError,
    RefundNotFoundError,
    RefundReservationError,
)
from therabill.payments.models import Dispute, OutcomeFacts, Payment, PaymentRef, Refund
from therabill.payments.retries import RetryDecision
from therabill.payments.store import updates
from therabill.payments.store.items import (
    attempt_record_item,
    dispute_item,
    payment_from_item,
    payment_item,
    refund_from_item,
    refund_item,
)


class PaymentStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    @staticmethod
    def fresh_reads() -> AbstractContextManager[None]:
        """Every read in the block goes to the table (see ``Table.fresh_reads``): for the reads
        that decide whether to call Stripe, which an earlier read of the same unit of work must
        not answer."""
        return Table.fresh_reads()

    # -- payments -----------------------------------------------------------------------------
    def get(self, practice_id: str, payment_id: str) -> Payment:
        payment = self.find(practice_id, payment_id) if is_id(payment_id, "pay") else None
        if payment is None:
            raise PaymentNotFoundError(payment_id)
        return payment

    def find(self, practice_id: str, payment_id: str) -> Payment | None:
        item = self._table.get(keys.practice_pk(practice_id), keys.payment_sk(payment_id))
        return payment_from_item(item) if item else None

    def add_pending(self, practice_id: str, payment: Payment) -> tuple[Payment, bool]:
        """Write a new payment, pending, before Stripe is called: (it, True); or (the one a
        concurrent identical request wrote first, False)."""
        try:
            self._table.put_new(payment_item(practice_id, payment))
        except ConditionFailed as exc:
            if exc.current is None:
                raise PaymentChangedError(payment.id) from exc
            return payment_from_item(exc.current), False
        return payment, True

    def move(
        self, practice_id: str, payment_id: str, status: str, facts: OutcomeFacts, now: datetime
    ) -> tuple[bool, Payment]:
        """Set a status other than succeeded (and the facts that are not None) unless the payment
        has succeeded: success is final. Whether it changed, and the payment as it now is."""
        fields = updates.outcome_fields(facts)
        return self._apply(practice_id, payment_id, updates.move(payment_id, status, fields, (), now))

    def succeed(
        self,
        practice_id: str,
        payment_id: str,
        payment_intent_id: str | None,
        charge_id: str | None,
        now: datetime,
    ) -> Payment:
        """Mark succeeded (the error codes cleared); a payment that had succeeded already is
        returned as it is."""
        return self.succeed_once(practice_id, payment_id, payment_intent_id, charge_id, now)[1]

    def succeed_once(
        self,
        practice_id: str,
        payment_id: str,
        payment_intent_id: str | None,
        charge_id: str | None,
        now: datetime,
    ) -> tuple[bool, Payment]:
        """``succeed``, and whether this call made it succeeded (False: it had succeeded already)."""
        fields = {"payment_intent_id": payment_intent_id, "charge_id": charge_id}
        update = updates.move(payment_id, "succeeded", fields, ("error_code", "decline_code"), now)
        return self._apply(practice_id, payment_id, update)

    def record_decline(
        self, practice_id: str, current: Payment, facts: OutcomeFacts, decision: RetryDecision, now: datetime
    ) -> tuple[bool, Payment]:
        """Record a decline of the current attempt, placed as ``decision`` says. Nothing changes
        for a decline of an earlier attempt or the same decline twice (False, the payment now)."""
        update = updates.decline((practice_id, current.id), current.attempt, facts, decision, now)
        return self._apply(practice_id, current.id, update)

    def start_next_attempt(
        self, practice_id: str, payment: Payment, *, code: str | None, now: datetime
    ) -> Payment | None:
        """Attempt n+1 of a payment declined at attempt n, pending; None when another run (or a
        webhook) moved the payment first."""
        update = updates.next_attempt(practice_id, payment, attempt_record_item(payment, code), now)
        try:
            return self._update(practice_id, payment.id, update)
        except ConditionFailed:
            return None

    def await_client(
        self, practice_id: str, payment_id: str, payment_intent_id: str, now: datetime
    ) -> tuple[bool, Payment]:
        return self._apply(practice_id, payment_id, updates.await_client(payment_id, payment_intent_id, now))

    def cancel(
        self, practice_id: str, payment_id: str, payment_intent_id: str, now: datetime
    ) -> tuple[bool, Payment]:
        return self._apply(practice_id, payment_id, updates.cancel(payment_intent_id, now))

    def show_dispute(self, practice_id: str, dispute: Dispute) -> None:
        """The dispute's id, status and reason on its payment."""
        try:
            self._table.update(
                keys.practice_pk(practice_id),
                keys.payment_sk(dispute.payment_id),
                update="SET dispute_id = :d, dispute_status = :s, dispute_reason = :r",
                condition="attribute_exists(PK)",
                values={":d": dispute.id, ":s": dispute.status, ":r": dispute.reason},
            )
        except ConditionFailed as exc:
            raise PaymentNotFoundError(dispute.payment_id) from exc

    def _apply(self, practice_id: str, payment_id: str, update: updates.Update) -> tuple[bool, Payment]:
        try:
            return True, self._update(practice_id, payment_id, update)
        except ConditionFailed as exc:
            if exc.current is None:
                raise PaymentNotFoundError(payment_id) from exc
            return False, payment_from_item(exc.current)

    def _update(self, practice_id: str, payment_id: str, update: updates.Update) -> Payment:
        item = self._table.update(
            keys.practice_pk(practice_id),
            keys.payment_sk(payment_id),
            update=update.expression,
            condition=update.condition,
            names=update.names,
            values=update.values,
        )
        return payment_from_item(item)

    # -- the platform indexes -----------------------------------------------------------------
    def pending(self, limit: int) -> list[PaymentRef]:
        """Payments waiting on Stripe, oldest attempt first (``at``: when it started)."""
        return self._queue(keys.PENDING_PAYMENTS_GSI, limit)

    def retries_due(self, limit: int) -> list[PaymentRef]:
        """Declined payments with a retry scheduled, earliest first (``at``: when it is due)."""
        return self._queue(keys.RETRY_DUE_GSI, limit)

    def _queue(self, partition: str, limit: int) -> list[PaymentRef]:
        page = self._table.query(partition, index="GSI1", limit=limit)
        return [
            PaymentRef(
                practice_id=row["practice_id"],
                payment_id=row["id"],
                at=parse_iso(str(row["GSI1SK"]).split("#", 1)[0]),
            )
            for row in page.items
        ]

    def by_payment_intent(self, payment_intent_id: str) -> PaymentRef | None:
        page = self._table.query(keys.payment_intent_gsi(payment_intent_id), index="GSI1", limit=1)
        if not page.items:
            return None
        row = page.items[0]
        return PaymentRef(practice_id=str(row.get("practice_id")), payment_id=str(row["id"]))

    # -- the card a payment was made with ------------------------------------------------------
    # -- refunds ------------------------------------------------------------------------------
    def get_refund(self, practice_id: str, refund_id: str, *, fresh: bool = False) -> Refund:
        """``fresh``: from the table, not the unit of work's memo (another process may have moved it)."""
        refund = self.find_refund(practice_id, refund_id, fresh=fresh)
        if refund is None:
            raise RefundNotFoundError(refund_id)
        return refund

    def find_refund(self, practice_id: str, refund_id: str, *, fresh: bool = False) -> Refund | None:
        item = self._table.get(keys.practice_pk(practice_id), keys.refund_sk(refund_id), fresh=fresh)
        return refund_from_item(item) if item else None

    def reserve_refund(self, practice_id: str, refund: Refund, *, amount_paid: int) -> tuple[Refund, bool]:
        """Write the refund (pending) and add its amount to the payment's ``refunded_amount``, in
        one transaction, on the condition that the payment succeeded and the total stays within
        ``amount_paid``: (the refund, True). The same refund written concurrently: (it, False)."""
        value = refund.amount.amount
        pk = keys.practice_pk(practice_id)
        reserve = Write(
            kind="update",
            key=Table.key(pk, keys.payment_sk(refund.payment_id)),
            update="ADD refunded_amount :amt",
            # No arithmetic in conditions: compare with the most that may be refunded before.
            condition="#s = :ok AND (attribute_not_exists(refunded_amount) OR refunded_amount <= :max)",
            names={"#s": "status"},
            values={":amt": value, ":ok": "succeeded", ":max": amount_paid - value},
        )
        try:
            self._table.transact([put_new_write(refund_item(practice_id, refund)), reserve])
        except ConditionFailed as exc:
            if exc.index == 0 and exc.current:  # the same request, concurrently
                return refund_from_item(exc.current), False
            raise RefundReservationError(refund.payment_id, refund.id) from exc
        return refund, True

    def note_stripe_refund(self, practice_id: str, refund_id: str, stripe_refund_id: str) -> None:
        self._table.update(
            keys.practice_pk(practice_id),
            keys.refund_sk(refund_id),
            update="SET stripe_refund_id = :re",
            values={":re": stripe_refund_id},
        )

    def refund_succeeded(self, practice_id: str, refund_id: str, stripe_refund_id: str) -> Refund:
        """Pending → succeeded; a refund settled already is returned as it is."""
        try:
            item = self._table.update(
                keys.practice_pk(practice_id),
                keys.refund_sk(refund_id),
                update="SET #s = :ok, stripe_refund_id = :re",
                condition="#s = :pending",
                names={"#s": "status"},
                values={":ok": "succeeded", ":pending": "pending", ":re": stripe_refund_id},
            )
        except ConditionFailed as exc:
            if exc.current is None:
                raise RefundNotFoundError(refund_id) from exc
            return refund_from_item(exc.current)
        return refund_from_item(item)

    def refund_failed(
        self,
        practice_id: str,
        refund: Refund,
        reason: str,
        stripe_refund_id: str | None,
        *,
        after_success: bool = False,
    ) -> bool:
        """Pending → failed (``after_success``: succeeded → failed, Stripe failing a refund it
        reported succeeded), giving the reservation back to the payment, in one transaction.
        False: the refund was not in that state (settled already, or failed already)."""
        pk = keys.practice_pk(practice_id)
        sets = "SET #s = :failed, failure_reason = :why" + (
            ", stripe_refund_id = :re" if stripe_refund_id else ""
        )
        frm = "succeeded" if after_success else "pending"
        values: dict[str, Any] = {":failed": "failed", ":pending": frm, ":why": reason}
        if stripe_refund_id:
            values[":re"] = stripe_refund_id
        writes = [
            Write(
                kind="update",
                key=Table.key(pk, keys.refund_sk(refund.id)),
                update=sets,
                condition="#s = :pending",
                names={"#s": "status"},
                values=values,
            ),
            Write(
                kind="update",
                key=Table.key(pk, keys.payment_sk(refund.payment_id)),
                update="ADD refunded_amount :back",
                values={":back": -refund.amount.amount},
            ),
        ]
        try:
            self._table.transact(writes)
        except ConditionFailed:
            return False
        return True

    # -- disputes -----------------------------------------------------------------------------
    def save_dispute(self, practice_id: str, dispute: Dispute) -> bool:
        """Keep the dispute's state unless a newer one (by Stripe's ``created``) is kept already."""
        try:
            self._table.put(
                dispute_item(practice_id, dispute),
                condition="attribute_not_exists(PK) OR event_created <= :created",
                values={":created": dispute.event_created},
            )
        except ConditionFailed:
            return False
        return True
