"""The store's items in the practice's partition: products (with their stock counters), stock
adjustments and orders (with their lines). Every stock change is a conditional write: a unit is
never sold twice and no counter goes below zero."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NoReturn

from therabill import contract
from therabill.adapters.dynamo import ConditionFailed, Table, put_new_write
from therabill.core import keys
from therabill.core.clock import iso
from therabill.core.errors import ConflictError, NotFoundError
from therabill.core.ids import derived_id
from therabill.core.replay import replayed
from therabill.core.writes import Write
from therabill.shop.errors import (
    OrderStateError,
    OutOfStockError,
    ProductChangedError,
    ProductNotFoundError,
    RequestReusedError,
    StockBelowZeroError,
)
from therabill.shop.models import Order, Product, PurchaseLink, StockAdjustment
from therabill.shop.store.items import (
    adjustment_item,
    basket,
    line_update,
    order_item,
    order_of,
    product_item,
    product_of,
    transact,
)
from therabill.shop.store.returns import ReturnWrites

_SWEEP_PAGES = 10  # pages of due orders one sweep reads


class ShopStore(ReturnWrites):
    def __init__(self, table: Table) -> None:
        self.table = table

    # -- products -------------------------------------------------------------------------------
    def create_product(self, practice_id: str, product: Product) -> None:
        self.table.put_new(product_item(practice_id, product))

    def get_product(self, practice_id: str, product_id: str) -> Product:
        item = self.table.get(keys.practice_pk(practice_id), keys.product_sk(product_id))
        if not item:
            raise ProductNotFoundError("product not found", product_id=product_id)
        return product_of(item)

    def products(self, practice_id: str) -> list[Product]:
        items = self.table.query_all(keys.practice_pk(practice_id), prefix=keys.PRODUCT_PREFIX)
        return [product_of(i) for i in items]

    def products_by_id(self, practice_id: str, product_ids: list[str]) -> dict[str, Product]:
        pk = keys.practice_pk(practice_id)
        found = self.table.get_many([(pk, keys.product_sk(p)) for p in product_ids])
        return {item["id"]: product_of(item) for item in found.values()}

    def update_product(
        self, practice_id: str, product_id: str, changes: dict[str, Any], *, expected_version: int | None
    ) -> Product:
        try:
            item = self.table.patch(
                keys.practice_pk(practice_id),
                keys.product_sk(product_id),
                changes,
                expected_version=expected_version,
                what="product",
            )
        except NotFoundError as exc:
            raise ProductNotFoundError(exc.message, product_id=product_id) from exc
        except ConflictError as exc:
            raise ProductChangedError(exc.message, **exc.details) from exc
        return product_of(item)

    # -- stock ----------------------------------------------------------------------------------
    def adjust(
        self, practice_id: str, adjustment: StockAdjustment, *, only_if: Write | None = None
    ) -> Product:
        """One adjustment: both counters move by its quantity and it joins the history, in one
        transaction; refused when a counter would go below zero, or (OrderStateError) when the
        check ``only_if`` fails."""
        q = adjustment.quantity
        values = {":q": q, ":take": max(0, -q), ":sell": max(0, -q)}
        writes = [
            line_update(practice_id, adjustment.product_id, "ADD #available :q, #on_hand :q", values),
            put_new_write(adjustment_item(practice_id, adjustment)),
            *([only_if] if only_if else []),
        ]
        try:
            transact(self.table, writes)
        except ConditionFailed as exc:
            # The adjustment there already (its id derived from the request): a replay answers the
            # stock as it now is, another change under the same key is a 409; else below zero.
            existing = replayed(
                self.adjustment(practice_id, adjustment.product_id, adjustment.id),
                same=adjustment.same_change,
                conflict="this Idempotency-Key was used for a different stock change",
                adjustment_id=adjustment.id,
            )
            if existing is None:
                self._below_zero(practice_id, adjustment.product_id, exc)
        return self.get_product(practice_id, adjustment.product_id)

    def adjustment(self, practice_id: str, product_id: str, adjustment_id: str) -> StockAdjustment | None:
        item = self.table.get(
            keys.practice_pk(practice_id), keys.stock_adjustment_sk(product_id, adjustment_id), fresh=True
        )
        return StockAdjustment.model_validate(item) if item else None

    def _below_zero(self, practice_id: str, product_id: str, exc: ConditionFailed) -> NoReturn:
        if exc.index == 2:
            raise OrderStateError("the order no longer allows this stock change") from exc
        if exc.index != 0:
            raise exc
        current = self.get_product(practice_id, product_id)
        raise StockBelowZeroError(
            "not enough units in stock for this change",
            product_id=current.id,
            available=current.available,
            on_hand=current.on_hand,
        ) from exc

    def adjustments(self, practice_id: str, product_id: str) -> list[StockAdjustment]:
        items = self.table.query_all(
            keys.practice_pk(practice_id), prefix=keys.stock_adjustment_prefix(product_id)
        )
        return sorted((StockAdjustment.model_validate(i) for i in items), key=lambda a: a.at)

    # -- orders ---------------------------------------------------------------------------------
    def reserve(self, practice_id: str, order: Order) -> Order:
        """Put the order and take each line's units from ``available``, all or nothing. The order
        already there (the same key again) is returned as it is when it has the same lines (product
        and quantity), else RequestReusedError (nothing held); a line short of units is an
        OutOfStockError naming the product and what is left."""
        writes: list[Write] = [put_new_write(order_item(practice_id, order))]
        for line in order.lines:
            values = {":take": line.quantity, ":neg": -line.quantity, ":sell": 0}
            writes.append(line_update(practice_id, line.product_id, "ADD #available :neg", values))
        try:
            transact(self.table, writes)
        except ConditionFailed as exc:
            if exc.index == 0:
                return self._same_order(practice_id, order)
            line = order.lines[(exc.index or 1) - 1]
            left = self.table.get(keys.practice_pk(practice_id), keys.product_sk(line.product_id), fresh=True)
            raise OutOfStockError(
                # Ids and counts only: a product's name says what the client is buying.
                f"only {left['available'] if left else 0} left of an item chosen; {line.quantity} asked for",
                product_id=line.product_id,
                available=left["available"] if left else 0,
                wanted=line.quantity,
            ) from exc
        return order

    def _same_order(self, practice_id: str, order: Order) -> Order:
        existing = self.get_order(practice_id, order.id)
        if basket(existing) != basket(order):
            raise RequestReusedError(
                "this request was already used for other items: reload the page and order again",
                order_id=existing.id,
            )
        return existing

    def has_order(self, practice_id: str, order_id: str) -> bool:
        return bool(self.table.get(keys.practice_pk(practice_id), keys.order_sk(order_id)))

    def orders(self, practice_id: str) -> list[Order]:
        items = self.table.query_all(keys.practice_pk(practice_id), prefix=keys.ORDER_PREFIX)
        return [order_of(i) for i in items]

    def due_orders(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        """(practice, order) of reserved orders past their expiry, earliest first: every page up to
        the first not yet due (at most ``_SWEEP_PAGES`` pages of ``limit``), so orders the sweep
        keeps (a payment still pending) never hide the ones behind them."""
        due: list[tuple[str, str]] = []
        cursor: str | None = None
        for _ in range(_SWEEP_PAGES):
            page = self.table.query(
                keys.ORDER_EXPIRY_GSI, index=contract.GSI1_NAME, limit=limit, cursor=cursor
            )
            for item in page.items:
                if item["expires_at"] > iso(now):
                    return due
                due.append((keys.practice_id_of(item["PK"]), item["id"]))
            if page.cursor is None:
                return due
            cursor = page.cursor
        return due

    def set_payment(self, practice_id: str, order: Order, payment_id: str) -> Order:
        """Name the order's payment (before Stripe is called), while it is reserved."""
        return self._move(practice_id, order, "reserved", "SET payment_id = :pay", {":pay": payment_id})

    def release(self, practice_id: str, order: Order) -> Order:
        """reserved → released: its units go back to ``available``, in one transaction."""
        writes = [
            self._order_move(
                practice_id, order, "reserved", "released", update="REMOVE GSI1PK, GSI1SK", values={}
            )
        ]
        for line in order.lines:
            values = {":q": line.quantity, ":take": 0, ":sell": 0}
            writes.append(line_update(practice_id, line.product_id, "ADD #available :q", values))
        return self._transact_move(practice_id, order, writes)

    def mark_paid(self, practice_id: str, order: Order, changes: dict[str, Any], at: datetime) -> Order:
        """reserved (or, for a late payment, released) → paid: each line's units leave ``on_hand``
        (and, if it had been released, ``available`` again) with a ``sold`` adjustment, in one
        transaction. Refused by a line short of units (a released order's stock sold meanwhile)."""
        was = order.status
        sets = ", ".join(f"{k} = :{k}" for k in changes)
        writes = [
            self._order_move(
                practice_id,
                order,
                was,
                "paid",
                update=f"SET {sets} REMOVE GSI1PK, GSI1SK",
                values={f":{k}": v for k, v in changes.items()},
            )
        ]
        for line in order.lines:
            again = line.quantity if was == "released" else 0
            values = {":take": again, ":sell": line.quantity, ":a": -again, ":s": -line.quantity}
            writes.append(line_update(practice_id, line.product_id, "ADD #available :a, #on_hand :s", values))
            sold = StockAdjustment(
                id=derived_id("adj", order.id, line.product_id, "sold"),
                product_id=line.product_id,
                kind="sold",
                quantity=-line.quantity,
                at=at,
                by=f"order:{order.id}",
                order_id=order.id,
            )
            writes.append(put_new_write(adjustment_item(practice_id, sold)))
        return self._transact_move(practice_id, order, writes)

    # -- purchase links -------------------------------------------------------------------------
    def put_link(self, practice_id: str, link: PurchaseLink) -> None:
        item = {
            "PK": keys.practice_pk(practice_id),
            "SK": keys.purchase_link_sk(link.id),
            "type": "purchase_link",
            **link.model_dump(mode="json", exclude_none=True),
            # Kept 30 days past its expiry (its orders keep their own copy of what was bought).
            "expires_at_epoch": int(link.expires_at.timestamp()) + 30 * 86_400,
        }
        self.table.put_new(item)

    def get_link(self, practice_id: str, link_id: str) -> PurchaseLink | None:
        item = self.table.get(keys.practice_pk(practice_id), keys.purchase_link_sk(link_id))
        if not item:
            return None
        return PurchaseLink.model_validate({k: v for k, v in item.items() if k in PurchaseLink.model_fields})

    # -- the parts ------------------------------------------------------------------------------
    @staticmethod
    def _order_move(
        practice_id: str, order: Order, was: str, to: str, *, update: str, values: dict[str, Any]
    ) -> Write:
        extra = update.replace("SET ", ", ", 1) if update.startswith("SET ") else " " + update
        return Write(
            kind="update",
            key=Table.key(keys.practice_pk(practice_id), keys.order_sk(order.id)),
            update=f"SET #status = :to, #version = #version + :one{extra}",
            condition="#status = :was AND #version = :v",
            names={"#status": "status", "#version": "version"},
            values={":to": to, ":was": was, ":v": order.version, ":one": 1, **values},
        )

    def _move(
        self, practice_id: str, order: Order, status: str, update: str, values: dict[str, Any]
    ) -> Order:
        write = self._order_move(practice_id, order, status, status, update=update, values=values)
        return self._transact_move(practice_id, order, [write])

    def _transact_move(self, practice_id: str, order: Order, writes: list[Write]) -> Order:
        try:
            transact(self.table, writes)
        except ConditionFailed as exc:
            current = self.get_order(practice_id, order.id)
            if exc.index == 0:
                raise OrderStateError(
                    "the order changed meanwhile", current_status=current.status, order_id=order.id
                ) from exc
            raise OutOfStockError(
                "a product of this order has no units left", order_id=order.id, available=0, wanted=0
            ) from exc
        return self.get_order(practice_id, order.id)
