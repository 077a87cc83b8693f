"""Refunds and returns: a paid order's lines given back, whole or in part, each with or without
its units going back on the shelf. Exactly once per request key: the return is recorded on the
order first (conditioned on the order as read, so two returns never give back more than was
bought; refused before anything is written when the payment has less left to refund), then
the money goes back through the payments capability's refund (keyed by the return; the sale
is taken back from product revenue, a ``return`` entry, so the client owes nothing again), then
the units are restocked (one ``returned`` adjustment per line, keyed by the return). A retry
completes what a crash left. A refund that fails takes the return off the order again and
restocks nothing; a return of only free lines refunds nothing and only restocks."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from therabill.core.clock import Clock
from therabill.core.errors import ConflictError, InvalidRequestError
from therabill.core.ids import derived_id
from therabill.core.money import Money
from therabill.ledger.chart import PRODUCT_REVENUE
from therabill.notifications.mailer import Outbox
from therabill.payments.models import ORDER_REFERENCE, Payment, for_an_order
from therabill.payments.refunds import Refund, RefundService
from therabill.practices.service import PracticeService
from therabill.shop.errors import (
    BadOrderError,
    NotRefundableError,
    OrderStateError,
    ReturnRefundFailedError,
)
from therabill.shop.models import Order, OrderLine, StockAdjustment
from therabill.shop.receipts import refund_failed_email
from therabill.shop.store import ShopStore


@dataclass(frozen=True)
class Giving:
    product_id: str
    quantity: int
    restock: bool


def tax_back(line: OrderLine, before: int, after: int) -> int:
    """The tax of units ``before`` .. ``after`` of a line: proportional, the last unit takes the
    rest, so a whole line gives back exactly its tax."""
    return line.tax * after // line.quantity - line.tax * before // line.quantity


def planned(order: Order, giving: list[Giving]) -> tuple[tuple[OrderLine, ...], int]:
    """The order's lines after the return and the amount it gives back; 400 (field ``lines``)
    for a product not on the order, twice, or more units than are left to give back."""
    wanted = {g.product_id: g for g in giving}
    if len(wanted) != len(giving) or not giving:
        raise BadOrderError("name each product of the order once", field="lines")
    lines, amount = [], 0
    for line in order.lines:
        g = wanted.pop(line.product_id, None)
        if g is None:
            lines.append(line)
            continue
        left = line.quantity - line.returned
        if g.quantity > left:
            raise BadOrderError(
                f"only {left} units of a line can be given back", field="lines", product_id=line.product_id
            )
        after = line.returned + g.quantity
        amount += line.unit_price * g.quantity + tax_back(line, line.returned, after)
        lines.append(line.model_copy(update={"returned": after}))
    if wanted:
        raise BadOrderError("names a product that is not on this order", field="lines")
    return tuple(lines), amount


def refund_key(return_id: str) -> str:
    """The request key of a return's refund (its refund id is derived from it)."""
    return f"order-return:{return_id}"


def _failed_error(refund_id: str) -> ReturnRefundFailedError:
    return ReturnRefundFailedError(
        "the card refund failed, so the return is marked refund_failed and nothing was restocked",
        refund_id=refund_id,
    )


class Returns:
    def __init__(
        self,
        *,
        store: ShopStore,
        refunds: RefundService,
        practices: PracticeService,
        outbox: Outbox,
        clock: Clock,
    ) -> None:
        self._store = store
        self._refunds = refunds
        self._practices = practices
        self._outbox = outbox
        self._clock = clock

    def give_back(
        self, practice_id: str, order_id: str, giving: list[Giving] | None, *, key: str, by: str
    ) -> tuple[Order, Refund | None]:
        """Return ``giving`` (None: everything not yet returned, restocked): the order as it now
        is and the return's refund (None: only free lines, nothing to refund). A refund that
        fails marks the return ``refund_failed`` (ReturnRefundFailedError, nothing restocked);
        so does the same request again."""
        return_id = derived_id("ret", practice_id, order_id, key)
        order = self._store.get_order(practice_id, order_id)
        if return_id not in order.returns:
            order = self._record(practice_id, order, return_id, giving)
        assert order.payment_id is not None
        record = order.returns[return_id]
        if record.status == "refund_failed":
            raise _failed_error(self._refund_id(practice_id, return_id))
        refund = None
        if record.amount > 0:
            refund = self._refund(practice_id, order, return_id, by=by)
        for product_id, quantity in record.restock:
            back = StockAdjustment(
                id=derived_id("adj", return_id, product_id),
                product_id=product_id,
                kind="returned",
                quantity=quantity,
                at=self._clock(),
                by=by,
                order_id=order.id,
            )
            check = self._store.restock_check(practice_id, order.id, return_id)
            try:
                self._store.adjust(practice_id, back, only_if=check)
            except OrderStateError:
                break  # its refund failed meanwhile (marked first): nothing more goes back on the shelf
        return self._store.get_order(practice_id, order.id), refund

    def _refund(self, practice_id: str, order: Order, return_id: str, *, by: str) -> Refund:
        assert order.payment_id is not None
        try:
            refund = self._refunds.refund(
                practice_id,
                client_id=order.client_id,
                payment_id=order.payment_id,
                request_key=refund_key(return_id),
                amount=order.returns[return_id].amount,
                memo=f"Return of store order {order.id}",
                created_by=by,
                write_off=True,
                revenue=PRODUCT_REVENUE,
            )
        except (ConflictError, InvalidRequestError):
            self._store.undo_return(practice_id, return_id, order.id)  # refunded meanwhile by another
            raise
        if refund.status == "failed":
            self._return_failed(practice_id, order.id, return_id)  # the hook did it too: once
            raise _failed_error(refund.id)
        return refund

    def _refund_id(self, practice_id: str, return_id: str) -> str:
        return derived_id("rfd", practice_id, refund_key(return_id))

    # -- a refund that failed -------------------------------------------------------------------
    def refund_failed(self, practice_id: str, refund: Refund, payment: Payment) -> None:
        """The refunds' failure hook: a return whose refund failed, whenever Stripe says so, no
        longer counts (see ``_return_failed``); any other refund is left alone."""
        if not for_an_order(payment):
            return
        order = self._store.get_order(practice_id, (payment.reference or "").removeprefix(ORDER_REFERENCE))
        for return_id in order.returns:
            if self._refund_id(practice_id, return_id) == refund.id:
                self._return_failed(practice_id, order.id, return_id)

    def _return_failed(self, practice_id: str, order_id: str, return_id: str) -> None:
        """Exactly once in effect: the return marked ``refund_failed`` (its units and amount off
        the order), each restock taken back by a correction, and the practice told once."""
        order = self._store.mark_refund_failed(practice_id, return_id, order_id)
        record = order.returns.get(return_id)
        if record is None:
            return  # taken off the order (never refunded): nothing to tell
        units = sum(self._unstock(practice_id, order, return_id, p, q) for p, q in record.restock)
        practice = self._practices.get(practice_id)
        email = refund_failed_email(practice=practice, order=order, amount=record.amount, units=units)
        self._outbox.send_once(practice_id, f"order-refund-failed:{return_id}", email)

    def _unstock(self, practice_id: str, order: Order, return_id: str, product_id: str, quantity: int) -> int:
        """Take a return's restock of one product back out, as far as units are left (none left:
        a correction of 0 says so): the units taken out, decided once."""
        undo_id = derived_id("adj", return_id, product_id, "refund-failed")
        for _ in range(3):  # the stock may move between the read and the write
            done = self._store.adjustment(practice_id, product_id, undo_id)
            if done is not None:
                return -done.quantity
            restocked = derived_id("adj", return_id, product_id)
            if self._store.adjustment(practice_id, product_id, restocked) is None:
                return 0  # never restocked (and, marked first, never will be)
            left = max(0, min(quantity, self._store.get_product(practice_id, product_id).available))
            undo = StockAdjustment(
                id=undo_id,
                product_id=product_id,
                kind="correction",
                quantity=-left,
                at=self._clock(),
                by="system",
                order_id=order.id,
                note="the return's card refund failed: its restock taken back",
            )
            with contextlib.suppress(ConflictError):  # below zero meanwhile, or another call first
                self._store.adjust(practice_id, undo)
                return left
        raise OrderStateError("the stock kept changing; the event is tried again", order_id=order.id)

    def _record(self, practice_id: str, order: Order, return_id: str, giving: list[Giving] | None) -> Order:
        if order.status not in ("paid", "refunded") or order.payment_id is None:
            raise OrderStateError("only a paid order can be returned", current_status=order.status)
        if giving is None:
            giving = [
                Giving(line.product_id, line.quantity - line.returned, True)
                for line in order.lines
                if line.returned < line.quantity
            ]
        lines, amount = planned(order, giving)
        remaining = self._refunds.left_to_refund(practice_id, order.payment_id) if amount else 0
        if amount > remaining:
            raise NotRefundableError(
                f"this return gives back {Money(amount=amount, currency=order.currency).format()} but"
                f" only {Money(amount=remaining, currency=order.currency).format()} of the payment"
                " is left to refund",
                amount=amount,
                remaining=remaining,
            )
        restock = tuple((g.product_id, g.quantity) for g in giving if g.restock)
        given = tuple((g.product_id, g.quantity) for g in giving)
        return self._store.record_return(
            practice_id,
            order,
            return_id,
            lines=lines,
            amount=amount,
            restock=restock,
            given=given,
            at=self._clock(),
        )
