"""A paid order's returns as the table keeps them: recorded on the order, taken off again when
their refund could not be made, kept as ``refund_failed`` when it failed later."""

from __future__ import annotations

from datetime import datetime

from therabill.adapters.dynamo import ConditionFailed, Table
from therabill.core import keys
from therabill.core.writes import Write
from therabill.shop.errors import OrderNotFoundError, OrderStateError
from therabill.shop.models import Order, OrderLine, ReturnRecord
from therabill.shop.store.items import TRIES, order_of


class ReturnWrites:
    """The order reads and the return writes of ``ShopStore``."""

    table: Table

    def get_order(self, practice_id: str, order_id: str) -> Order:
        item = self.table.get(keys.practice_pk(practice_id), keys.order_sk(order_id))
        if not item:
            raise OrderNotFoundError("order not found", order_id=order_id)
        return order_of(item)

    # Long: one UpdateItem with its expression, names and values, and what a failed condition means.
    def record_return(
        self,
        practice_id: str,
        order: Order,
        return_id: str,
        *,
        lines: tuple[OrderLine, ...],
        amount: int,
        restock: tuple[tuple[str, int], ...],
        given: tuple[tuple[str, int], ...],
        at: datetime,
    ) -> Order:
        """Write a return on the order as read (its lines' ``returned``, the amount, the record);
        the same return already there is the order as it is. Refunded once nothing is left."""
        record = ReturnRecord(amount=amount, restock=restock, given=given, at=at)
        status = "refunded" if all(line.returned == line.quantity for line in lines) else "paid"
        try:
            item = self.table.update(
                keys.practice_pk(practice_id),
                keys.order_sk(order.id),
                update="SET #lines = :lines, #returns.#rid = :record, #status = :status,"
                " #version = #version + :one ADD refunded_amount :amount",
                condition="#version = :v AND #status IN (:paid, :refunded)",
                names={
                    "#lines": "lines",
                    "#returns": "returns",
                    "#rid": return_id,
                    "#status": "status",
                    "#version": "version",
                },
                values={
                    ":lines": [line.model_dump(mode="json") for line in lines],
                    ":record": record.model_dump(mode="json"),
                    ":status": status,
                    ":one": 1,
                    ":amount": amount,
                    ":v": order.version,
                    ":paid": "paid",
                    ":refunded": "refunded",
                },
            )
        except ConditionFailed as exc:
            current = self.get_order(practice_id, order.id)
            if return_id in current.returns:
                return current
            raise OrderStateError(
                "the order changed meanwhile; reload it and try again", current_status=current.status
            ) from exc
        return order_of(item)

    def undo_return(self, practice_id: str, return_id: str, order_id: str) -> Order:
        """Take a return whose refund could not be made off the order (its units no longer given
        back, its amount no longer refunded), conditioned on the order as read."""
        return self._take_back(practice_id, return_id, order_id, "REMOVE #returns.#rid", {})

    def mark_refund_failed(self, practice_id: str, return_id: str, order_id: str) -> Order:
        """A return whose refund failed: its lines no longer count as given back, its amount as
        refunded, and the record stays with status ``refund_failed``; once (a record marked
        already, or gone, is the order as it is)."""
        update = "SET #returns.#rid.#rst = :failed"
        return self._take_back(practice_id, return_id, order_id, update, {":failed": "refund_failed"})

    # Long: one UpdateItem conditioned on the version read, read again while another write wins.
    def _take_back(
        self, practice_id: str, return_id: str, order_id: str, update: str, values: dict[str, object]
    ) -> Order:
        names = {"#lines": "lines", "#returns": "returns", "#rid": return_id, "#status": "status"}
        for _ in range(TRIES):
            order = self.get_order(practice_id, order_id)
            record = order.returns.get(return_id)
            if record is None or record.status == "refund_failed":
                return order  # undone or marked already
            given = dict(record.given)
            lines = [
                line.model_copy(update={"returned": line.returned - given.get(line.product_id, 0)})
                for line in order.lines
            ]
            extra = update.replace("SET ", ", ", 1) if update.startswith("SET ") else " " + update
            try:
                self.table.update(
                    keys.practice_pk(practice_id),
                    keys.order_sk(order_id),
                    update=f"SET #lines = :lines, #status = :paid, #version = #version + :one{extra}"
                    " ADD refunded_amount :minus",
                    condition="#version = :v",
                    names=names | {"#version": "version"} | ({"#rst": "status"} if "#rst" in update else {}),
                    values={
                        ":lines": [line.model_dump(mode="json") for line in lines],
                        ":paid": "paid",
                        ":one": 1,
                        ":minus": -record.amount,
                        ":v": order.version,
                        **values,
                    },
                )
            except ConditionFailed:
                continue  # another return meanwhile: from the order as it now is
            return self.get_order(practice_id, order_id)
        raise OrderStateError("the order changed meanwhile; try again", order_id=order_id)

    def restock_check(self, practice_id: str, order_id: str, return_id: str) -> Write:
        """The condition a return's restock is written under: the return is on the order and its
        refund has not failed (a failure marked first leaves nothing restocked after it)."""
        return Write(
            kind="check",
            key=Table.key(keys.practice_pk(practice_id), keys.order_sk(order_id)),
            condition="attribute_exists(#returns.#rid) AND (attribute_not_exists(#returns.#rid.#rst)"
            " OR #returns.#rid.#rst = :recorded)",
            names={"#returns": "returns", "#rid": return_id, "#rst": "status"},
            values={":recorded": "recorded"},
        )
