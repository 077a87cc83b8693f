"""The store's facade: what the API, the entry points and other capabilities use."""

from __future__ import annotations

from datetime import datetime

from therabill.observability import logger
from therabill.practices.service import PracticeService
from therabill.shop.catalogue import Catalogue
from therabill.shop.links import PurchaseLinks
from therabill.shop.orders import Orders
from therabill.shop.paying import OrderPayments
from therabill.shop.returns import Returns
from therabill.shop.storefront import Storefront


class ShopService:
    def __init__(
        self,
        *,
        catalogue: Catalogue,
        orders: Orders,
        paying: OrderPayments,
        links: PurchaseLinks,
        storefront: Storefront,
        returns: Returns,
        practices: PracticeService,
    ) -> None:
        self.catalogue = catalogue
        self.orders = orders
        self.paying = paying
        self.links = links
        self.storefront = storefront
        self.returns = returns
        self._practices = practices

    def release_expired(self, now: datetime | None = None, limit: int = 100) -> dict[str, int]:
        """The sweep (with the reconciler, every 15 minutes): every reserved order past its expiry
        gives its units back (or is paid, if the client paid meanwhile). Orders are isolated: one
        that fails is counted and retried on the next run."""
        counts = {"released": 0, "paid": 0, "kept": 0, "errors": 0}
        for practice_id, order_id in self.orders.due(now, limit):
            try:
                practice = self._practices.get(practice_id)
                order = self.paying.release(practice, self.orders.get(practice_id, order_id))
            except Exception as exc:  # one bad order must not stop the others
                logger.error("order release failed", order_id=order_id, error=type(exc).__name__)
                counts["errors"] += 1
                continue
            counts[{"released": "released", "paid": "paid"}.get(order.status, "kept")] += 1
        return counts
