"""Refunds back to the original card; the service also answers for disputes (``disputes``) and
payments staff take in person (``in_person``).

A refund is reserved before Stripe is called: one transaction writes the refund (``pending``) and
adds its amount to the payment's ``refunded_amount`` on the condition that the total stays within
the amount paid, so two concurrent refunds can never return more than was charged. Stripe gets the
idempotency key ``therabill:refund:<id>``; the ledger entry (source ``refund:<id>``) is posted when
Stripe says the refund succeeded, by the request or by the ``refund.*`` webhook, whichever comes
first. A refund Stripe fails gives its reservation back, then runs the failure hooks (a store
return's refund undoes the return); one it fails after its success also has what the success
posted undone, each once (``refund-failed:<rfd>``, ``refund-failed-undo:<rfd>``), and its reversed
hooks run (the invoice has the money again).

Ledger effect (double entry, see ``ledger/chart.py``), on the billing party account of the payment (the
client, or the billing contact who owns the card): Dr credit (what credit the account holds, e.g.
a refunded deposit) and/or Dr receivable (what the payment paid is owed again) / Cr cash:card —
source ``refund:<rfd>``; with ``write_off``, also an adjustment forgiving it (source
``refund-write-off:<rfd>``), or for a sale given back (``revenue``: a store return) a ``return``
entry taking it back from that revenue account (source ``refund-return:<rfd>``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from therabill.core.clock import Clock
from therabill.core.errors import ConflictError, InvalidRequestError, NotFoundError
from therabill.core.ids import derived_id, is_id
from therabill.core.money import Money
from therabill.core.replay import replayed
from therabill.ledger.chart import ADJUSTMENTS, REVENUE, EntryKind
from therabill.ledger.service import LedgerEntry, LedgerService
from therabill.observability import logger
from therabill.payments.disputes import Disputes
from therabill.payments.gateway import (
    GatewayRejectedError,
    GatewayUnavailableError,
    PaymentGateway,
    RefundState,
)
from therabill.payments.in_person import InPersonPayments
from therabill.payments.models import ManualMethod, Payment, Refund
from therabill.payments.store import PaymentStore
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService

__all__ = ["ManualMethod", "Refund", "RefundService", "refund_id_of"]

RefundHook = Callable[[str, Refund, Payment], None]
# The sources of the entries undoing a refund that failed after its success (``refund-failed:`` the
# money that stayed, ``refund-failed-undo:`` the write-off or the sale given back): the reports
# tell them apart by it.
REFUND_FAILED = "refund-failed"


def written_source(refund: Refund) -> str:
    """The source of what a refund with ``write_off`` posts besides itself: a sale given back
    (``refund-return:``) or a write-off (``refund-write-off:``)."""
    return f"{'refund-return' if refund.revenue else 'refund-write-off'}:{refund.id}"


class RefundService:
    def __init__(
        self,
        *,
        store: PaymentStore,
        gateway: PaymentGateway,
        practices: PracticeService,
        ledger: LedgerService,
        clock: Clock,
    ) -> None:
        self._store = store
        self._gateway = gateway
        self._practices = practices
        self._ledger = ledger
        self._clock = clock
        self._disputes = Disputes(store=store, ledger=ledger, clock=clock)
        self._in_person = InPersonPayments(practices=practices, ledger=ledger)
        self._hooks: list[RefundHook] = []
        self._failed_hooks: list[RefundHook] = []
        self._reversed_hooks: list[RefundHook] = []

    def on_refund(self, hook: RefundHook) -> None:
        """Run ``hook(practice_id, refund, payment)`` after each refund succeeds (after its ledger
        entries), at least once: hooks must be idempotent."""
        self._hooks.append(hook)

    def on_refund_reversed(self, hook: RefundHook) -> None:
        """Run ``hook(practice_id, refund, payment)`` when a refund Stripe reported succeeded is
        reported failed (at least once: hooks are idempotent)."""
        self._reversed_hooks.append(hook)

    def on_refund_failed(self, hook: RefundHook) -> None:
        """Run ``hook(practice_id, refund, payment)`` each time a refund is reported failed (the
        request's answer, each ``refund.*`` event saying so, after its reservation was given
        back): at least once, so hooks must be idempotent."""
        self._failed_hooks.append(hook)

    # -- refunds ------------------------------------------------------------------------------
    def get(self, practice_id: str, refund_id: str) -> Refund:
        return self._store.get_refund(practice_id, refund_id)

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
        revenue: str | None = None,
    ) -> Refund:
        """Give money back to the card it came from. The billing party then owes again what the refunded
        payment paid, unless ``write_off``: the refund also writes it off (a goodwill refund of a
        fee, a session not given) or, with ``revenue``, takes the sale back from that revenue
        account (a store return: less revenue, not a write-off)."""
        practice = self._practices.get(practice_id)
        payment = self._store.get(practice_id, payment_id)
        if payment.client_id != client_id:
            raise NotFoundError("payment not found")
        refund_id = derived_id("rfd", practice_id, request_key)
        existing = self._replayed(practice_id, refund_id, payment_id, amount, write_off)
        if existing:
            return self._attempt(practice, payment, existing) if existing.status == "pending" else existing
        refund = Refund(
            id=refund_id,
            payment_id=payment_id,
            client_id=client_id,
            amount=Money(amount=_refundable(payment, amount), currency=payment.amount.currency),
            status="pending",
            memo=memo,
            created_at=self._clock(),
            created_by=created_by,
            write_off=write_off,
            revenue=revenue if write_off else None,
        )
        refund, reserved = self._store.reserve_refund(practice_id, refund, amount_paid=payment.amount.amount)
        return self._attempt(practice, payment, refund) if reserved else refund

    def left_to_refund(self, practice_id: str, payment_id: str) -> int:
        """What may still be refunded of a payment (0: not a succeeded card payment)."""
        payment = self._store.get(practice_id, payment_id)
        if payment.status != "succeeded" or not payment.payment_intent_id:
            return 0
        return payment.amount.amount - payment.refunded_amount

    def _replayed(
        self, practice_id: str, refund_id: str, payment_id: str, amount: int | None, write_off: bool
    ) -> Refund | None:
        """The refund this request made already (None: none yet); 409 for another request's key."""
        return replayed(
            self._store.find_refund(practice_id, refund_id),
            same=lambda r: (
                r.payment_id == payment_id
                and (amount is None or amount == r.amount.amount)
                and r.write_off == write_off
            ),
            conflict="this Idempotency-Key was used for a different refund",
        )

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
            self._store.note_stripe_refund(practice.id, refund.id, state.id)
        return refund.model_copy(update={"stripe_refund_id": state.id})

    def _succeed(self, practice_id: str, refund: Refund, stripe_refund_id: str) -> Refund:
        refund = self._store.refund_succeeded(practice_id, refund.id, stripe_refund_id)
        if refund.status != "succeeded":
            return refund  # failed earlier: a late success is Stripe's to explain, not ours to post
        payment = self._store.get(practice_id, refund.payment_id)
        self._post(practice_id, refund, payment)
        for hook in self._hooks:
            hook(practice_id, refund, payment)
        # A failure handled while this success was being posted found nothing to undo: undo it here
        # (one side always sees the other's write; each undo is once).
        now = self._store.get_refund(practice_id, refund.id, fresh=True)
        if now.status == "failed":
            self._unpost(practice_id, now)
            return now
        return refund

    def _post(self, practice_id: str, refund: Refund, payment: Payment) -> None:
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
        if not refund.write_off:
            return
        # A sale given back (a store return) is taken from its revenue; anything else written off.
        kind: EntryKind = "return" if refund.revenue else "adjustment"
        memo = "Sale given back with the refund" if refund.revenue else "Written off with the refund"
        self._ledger.post(
            practice_id,
            client_id=refund.client_id,
            kind=kind,
            amount=refund.amount,
            source_key=written_source(refund),
            memo=memo,
            payment_id=refund.payment_id,
            owner_id=payment.owner_id,
            revenue=refund.revenue or REVENUE,
        )

    def _fail(
        self, practice_id: str, refund: Refund, reason: str, stripe_refund_id: str | None = None
    ) -> Refund:
        if self._store.refund_failed(practice_id, refund, reason, stripe_refund_id):
            logger.warning("refund failed", refund_id=refund.id, reason=reason)
        now = self._store.get_refund(practice_id, refund.id, fresh=True)  # settled already, or failed now
        if now.status == "succeeded" and self._store.refund_failed(
            practice_id, now, reason, stripe_refund_id, after_success=True
        ):
            # Stripe fails a refund after its success when the card can no longer take it (a closed
            # account): the money stayed with the practice, so what the success posted is undone.
            logger.warning("a succeeded refund was reported failed; undone", refund_id=now.id, reason=reason)
        now = self._store.get_refund(practice_id, refund.id, fresh=True)  # whoever moved it
        if now.status == "failed" and now.stripe_refund_id and self._posted(practice_id, now):
            self._unpost(practice_id, now)
        if now.status == "failed" and self._failed_hooks:
            payment = self._store.get(practice_id, now.payment_id)
            for hook in self._failed_hooks:
                hook(practice_id, now, payment)
        return now

    def _posted(self, practice_id: str, refund: Refund) -> bool:
        """Whether the refund's success was posted to the ledger (it succeeded before it failed)."""
        return self._ledger.posted(practice_id, f"refund:{refund.id}") is not None

    def _unpost(self, practice_id: str, refund: Refund) -> None:
        """Undo a failed refund's postings, each once (its own source): the money is back with the
        practice, as a card payment again; a sale given back is a sale again, and a write-off is
        owed again (a charge to the adjustments it came from)."""
        payment = self._store.get(practice_id, refund.payment_id)
        self._ledger.post(
            practice_id,
            client_id=refund.client_id,
            kind="payment",
            amount=refund.amount,
            method="card",
            source_key=f"{REFUND_FAILED}:{refund.id}",
            memo="Refund failed: the money stayed with the practice",
            payment_id=refund.payment_id,
            owner_id=payment.owner_id,
        )
        if refund.write_off and self._ledger.posted(practice_id, written_source(refund)) is not None:
            self._ledger.post(
                practice_id,
                client_id=refund.client_id,
                kind="charge",
                amount=refund.amount,
                source_key=f"{REFUND_FAILED}-undo:{refund.id}",
                memo="Refund failed: " + ("the sale stands" if refund.revenue else "no longer written off"),
                payment_id=refund.payment_id,
                owner_id=payment.owner_id,
                revenue=refund.revenue or ADJUSTMENTS,
            )
        for hook in self._reversed_hooks:
            hook(practice_id, refund, payment)

    # -- disputes and payments in person --------------------------------------------------------
    def record_dispute(self, practice: Practice, dispute: dict[str, Any], event_created: int = 0) -> str:
        """``charge.dispute.*``: keep the dispute and show it on its payment (see ``disputes``)."""
        return self._disputes.record(practice, dispute, event_created)

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
        """Cash or a check handed to the front desk (see ``in_person``)."""
        return self._in_person.record(
            practice_id,
            client_id=client_id,
            request_key=request_key,
            amount=amount,
            method=method,
            reference=reference,
            memo=memo,
            owner_id=owner_id,
        )


def _refundable(payment: Payment, amount: int | None) -> int:
    """What a new refund of ``amount`` (None: all that is left) may return of ``payment``."""
    if payment.status != "succeeded" or not payment.payment_intent_id:
        raise ConflictError("only a succeeded payment can be refunded", status=payment.status)
    remaining = payment.amount.amount - payment.refunded_amount
    value = remaining if amount is None else amount
    if value <= 0:
        raise ConflictError("this payment has been refunded in full", refunded=payment.refunded_amount)
    if value > remaining:
        left = Money(amount=remaining, currency=payment.amount.currency)
        raise InvalidRequestError(
            f"at most {left.format()} can be refunded", field="amount", remaining=remaining
        )
    return value


def refund_id_of(metadata: dict[str, Any]) -> str | None:
    value = metadata.get("therabill_refund_id")
    return value if isinstance(value, str) and is_id(value, "rfd") else None
