"""Refunds and returns: a paid order's lines given back, whole or in part, each with or without
its units going back on the shelf. Exactly once per request key: the return is recorded on the
order first (conditioned on the order as read, so two returns never give back more than was
bought), then the money goes back through the payments capability's refund (keyed by the
return; the sale is written off, so the client owes nothing again), then the units are restocked
(one ``returned`` adjustment per line, keyed by the return). A retry completes what a crash left."""

from __future__ import annotations

from dataclasses import dataclass

from therabill.core.clock import Clock
from therabill.core.ids import derived_id
from therabill.payments.refunds import Refund, RefundService
from therabill.shop.errors import BadOrderError, OrderStateError
from therabill.shop.models import Order, OrderLine, StockAdjustment
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


class Returns:
    def __init__(self, *, store: ShopStore, refunds: RefundService, clock: Clock) -> None:
        self._store = store
        self._refunds = refunds
        self._clock = clock

    def give_back(
        self, practice_id: str, order_id: str, giving: list[Giving] | None, *, key: str, by: str
    ) -> tuple[Order, Refund]:
        """Return ``giving`` (None: everything not yet returned, restocked): the order as it now
        is and the return's refund."""
        return_id = derived_id("ret", practice_id, order_id, key)
        order = self._store.get_order(practice_id, order_id)
        if return_id not in order.returns:
            order = self._record(practice_id, order, return_id, giving)
        assert order.payment_id is not None
        record = order.returns[return_id]
        refund = self._refunds.refund(
            practice_id,
            client_id=order.client_id,
            payment_id=order.payment_id,
            request_key=f"order-return:{return_id}",
            amount=record.amount,
            memo=f"Return of store order {order.id}",
            created_by=by,
            write_off=True,
        )
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
            self._store.adjust(practice_id, back)
        return self._store.get_order(practice_id, order.id), refund

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
        restock = tuple((g.product_id, g.quantity) for g in giving if g.restock)
        return self._store.record_return(
            practice_id, order, return_id, lines=lines, amount=amount, restock=restock, at=self._clock()
        )
