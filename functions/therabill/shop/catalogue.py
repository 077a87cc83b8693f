"""The practice's catalogue: products and their stock, changed by staff through adjustments."""

from __future__ import annotations

from typing import Any

from therabill.core.clock import Clock
from therabill.core.ids import derived_id, is_id, new_id
from therabill.core.money import Money
from therabill.shop.errors import ProductNotFoundError
from therabill.shop.models import ADJUSTMENT_SIGN, AdjustmentKind, Product, StockAdjustment
from therabill.shop.store import ShopStore


class Catalogue:
    def __init__(self, *, store: ShopStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def create(self, practice_id: str, *, currency: str, price: int, **fields: Any) -> Product:
        """A new product, with no stock yet (stock comes in as ``received`` adjustments)."""
        product = Product(
            id=new_id("prd"),
            price=Money(amount=price, currency=currency),
            created_at=self._clock(),
            **fields,
        )
        self._store.create_product(practice_id, product)
        return product

    def get(self, practice_id: str, product_id: str) -> Product:
        if not is_id(product_id, "prd"):
            raise ProductNotFoundError("product not found", product_id=product_id)
        return self._store.get_product(practice_id, product_id)

    def products(self, practice_id: str) -> list[Product]:
        return self._store.products(practice_id)

    def update(
        self, practice_id: str, product_id: str, changes: dict[str, Any], expected_version: int | None
    ) -> Product:
        """Change what a product is (name, description, SKU, price, eligibility, tax, active, the
        low-stock level); never its stock."""
        self.get(practice_id, product_id)
        return self._store.update_product(practice_id, product_id, changes, expected_version=expected_version)

    def adjust(
        self,
        practice_id: str,
        product_id: str,
        *,
        kind: AdjustmentKind,
        quantity: int,
        by: str,
        note: str = "",
        key: str | None = None,
    ) -> Product:
        """Stock received, damaged, returned or counted (``correction``: signed). ``key`` (an
        Idempotency-Key) makes a retried request change the stock once."""
        self.get(practice_id, product_id)
        signed = quantity if kind == "correction" else ADJUSTMENT_SIGN[kind] * abs(quantity)
        adjustment = StockAdjustment(
            id=derived_id("adj", practice_id, product_id, key) if key else new_id("adj"),
            product_id=product_id,
            kind=kind,
            quantity=signed,
            at=self._clock(),
            by=by,
            note=note,
        )
        return self._store.adjust(practice_id, adjustment)

    def history(self, practice_id: str, product_id: str) -> list[StockAdjustment]:
        self.get(practice_id, product_id)
        return self._store.adjustments(practice_id, product_id)
