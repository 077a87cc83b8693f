"""The store's facade: what the API, the entry points and other capabilities use."""

from __future__ import annotations

from datetime import datetime

from therabill.observability import logger
from therabill.shop.catalogue import Catalogue
from therabill.shop.models import Order
from therabill.shop.orders import Orders


class ShopService:
    def __init__(self, *, catalogue: Catalogue, orders: Orders) -> None:
        self.catalogue = catalogue
        self.orders = orders

    def release_expired(self, now: datetime | None = None, limit: int = 100) -> dict[str, int]:
        """The sweep (with the reconciler, every 15 minutes): every reserved order past its expiry
        gives its units back. Orders are isolated: one that fails is counted and retried next run."""
        counts = {"released": 0, "kept": 0, "errors": 0}
        for practice_id, order_id in self.orders.due(now, limit):
            try:
                order = self.orders.get(practice_id, order_id)
                counts["released" if self._release(practice_id, order).status == "released" else "kept"] += 1
            except Exception as exc:  # one bad order must not stop the others
                logger.error("order release failed", order_id=order_id, error=type(exc).__name__)
                counts["errors"] += 1
        return counts

    def _release(self, practice_id: str, order: Order) -> Order:
        if order.status != "reserved":
            return order
        released = self.orders.release(practice_id, order)
        logger.info("order reservation released", order_id=order.id)
        return released
