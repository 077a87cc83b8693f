"""Orders: created with their lines at checkout, each line's units reserved at once (all or
nothing), released when not paid in time."""

from __future__ import annotations

from datetime import datetime, timedelta

from therabill.core.clock import Clock
from therabill.core.ids import derived_id, is_id, new_id
from therabill.shop.errors import BadOrderError, OrderNotFoundError
from therabill.shop.models import MAX_ORDER_LINES, Order, OrderLine, Product, line_tax
from therabill.shop.store import ShopStore

RESERVATION = timedelta(minutes=15)  # an unpaid order holds its units this long


def order_lines(
    wanted: list[tuple[str, int]], products: dict[str, Product], currency: str
) -> list[OrderLine]:
    """The lines of an order as the catalogue prices them now; refused (400, field ``items``) for
    no items, too many, a product twice, or one this practice does not sell."""
    if not wanted:
        raise BadOrderError("an order needs at least one item", field="items")
    if len(wanted) > MAX_ORDER_LINES:
        raise BadOrderError(f"an order has at most {MAX_ORDER_LINES} items", field="items")
    ids = [product_id for product_id, _ in wanted]
    if len(set(ids)) != len(ids):
        raise BadOrderError("each product may appear once; give its quantity instead", field="items")
    lines = []
    for index, (product_id, quantity) in enumerate(wanted):
        product = products.get(product_id)
        if product is None or not product.active or product.price.currency != currency:
            raise BadOrderError(
                "names no product on sale in this practice", field=f"items.{index}.product_id"
            )
        lines.append(
            OrderLine(
                product_id=product.id,
                name=product.name,
                sku=product.sku,
                quantity=quantity,
                unit_price=product.price.amount,
                tax=line_tax(product.price.amount, quantity, product.tax_rate_bps),
                hsa_fsa_eligible=product.hsa_fsa_eligible,
            )
        )
    return lines


class Orders:
    def __init__(self, *, store: ShopStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def reserve(self, practice_id: str, order: Order) -> Order:
        """Reserve a drafted order's units, all or nothing: not enough of an item is an
        OutOfStockError (409) naming it and how many are left; nothing is held. The same key
        (the draft's id) gets the same order back, however often it is sent."""
        return self._store.reserve(practice_id, order)

    def draft(
        self,
        practice_id: str,
        *,
        client_id: str,
        owner_id: str | None,
        currency: str,
        items: list[tuple[str, int]],
        key: str | None,
        link_id: str | None = None,
    ) -> Order:
        """The order as ``reserve`` would hold it, priced now; nothing written."""
        products = self._store.products_by_id(practice_id, [p for p, _ in items if is_id(p, "prd")])
        now = self._clock()
        return Order(
            id=derived_id("ord", practice_id, key) if key else new_id("ord"),
            client_id=client_id,
            owner_id=owner_id,
            lines=tuple(order_lines(items, products, currency)),
            currency=currency,
            status="reserved",
            created_at=now,
            expires_at=now + RESERVATION,
            link_id=link_id,
        )

    def get(self, practice_id: str, order_id: str) -> Order:
        if not is_id(order_id, "ord"):
            raise OrderNotFoundError("order not found", order_id=order_id)
        return self._store.get_order(practice_id, order_id)

    def all(self, practice_id: str) -> list[Order]:
        return self._store.orders(practice_id)

    def due(self, now: datetime | None = None, limit: int = 100) -> list[tuple[str, str]]:
        return self._store.due_orders(now or self._clock(), limit)

    def release(self, practice_id: str, order: Order) -> Order:
        return self._store.release(practice_id, order)
