"""The store's items (products, stock adjustments, orders) as the table keeps them, and the one
transaction loop every stock change goes through."""

from __future__ import annotations

import random
import time
from typing import Any

from therabill import contract
from therabill.adapters.dynamo import Table
from therabill.core import keys
from therabill.core.clock import iso, parse_iso
from therabill.core.errors import DependencyUnavailableError
from therabill.core.money import Money
from therabill.core.writes import Write
from therabill.shop.models import Order, OrderLine, Product, ReturnRecord, StockAdjustment

_PRODUCT_FIELDS = ("name", "description", "sku", "hsa_fsa_eligible", "active", "on_hand", "available")
TRIES = 8  # a transaction that meets another on the same product is tried again, at most this often
_BACKOFF_SECONDS = 0.02  # the first retry's longest wait; doubled each time (at most about 2.5 s in all)


def product_item(practice_id: str, p: Product) -> dict[str, Any]:
    item: dict[str, Any] = {
        "PK": keys.practice_pk(practice_id),
        "SK": keys.product_sk(p.id),
        "type": "product",
        "id": p.id,
        **{k: getattr(p, k) for k in _PRODUCT_FIELDS},
        "price": p.price.amount,
        "currency": p.price.currency,
        "low_stock_at": p.low_stock_at,
        "created_at": iso(p.created_at),
        "version": p.version,
    }
    if p.tax_rate_bps is not None:
        item["tax_rate_bps"] = p.tax_rate_bps
    return item


def product_of(item: dict[str, Any]) -> Product:
    return Product(
        id=item["id"],
        **{k: item[k] for k in _PRODUCT_FIELDS},
        price=Money(amount=item["price"], currency=item["currency"]),
        tax_rate_bps=item.get("tax_rate_bps"),
        low_stock_at=item.get("low_stock_at", 0),
        created_at=parse_iso(item["created_at"]),
        version=item["version"],
    )


def order_item(practice_id: str, o: Order) -> dict[str, Any]:
    item: dict[str, Any] = {
        "PK": keys.practice_pk(practice_id),
        "SK": keys.order_sk(o.id),
        "type": "order",
        **o.model_dump(mode="json", exclude_none=True),
    }
    if o.status == "reserved":
        item[contract.GSI1_PARTITION_KEY] = keys.ORDER_EXPIRY_GSI
        item[contract.GSI1_SORT_KEY] = keys.order_expiry_gsi_sk(iso(o.expires_at), practice_id, o.id)
    return item


def order_of(item: dict[str, Any]) -> Order:
    fields = {k: v for k, v in item.items() if k in Order.model_fields}
    fields["lines"] = tuple(OrderLine.model_validate(line) for line in item["lines"])
    fields["returns"] = {k: ReturnRecord.model_validate(v) for k, v in (item.get("returns") or {}).items()}
    return Order.model_validate(fields)


def basket(order: Order) -> set[tuple[str, int]]:
    return {(line.product_id, line.quantity) for line in order.lines}


def line_update(practice_id: str, product_id: str, expression: str, values: dict[str, Any]) -> Write:
    return Write(
        kind="update",
        key=Table.key(keys.practice_pk(practice_id), keys.product_sk(product_id)),
        update=expression,
        names={"#available": "available", "#on_hand": "on_hand"},
        values=values,
        condition="attribute_exists(PK) AND #available >= :take AND #on_hand >= :sell",
    )


def adjustment_item(practice_id: str, a: StockAdjustment) -> dict[str, Any]:
    return {
        "PK": keys.practice_pk(practice_id),
        "SK": keys.stock_adjustment_sk(a.product_id, a.id),
        "type": "stock_adjustment",
        **a.model_dump(mode="json", exclude_none=True),
    }


def transact(table: Table, writes: list[Write]) -> None:
    """One transaction, tried again when it met another on the same items (DynamoDB cancels
    both with TransactionConflict; the loser simply tries again)."""
    for attempt in range(TRIES):
        try:
            table.transact(writes)
            return
        except DependencyUnavailableError:
            if attempt == TRIES - 1:
                raise
            # Backed off with jitter, so buyers racing for one product do not meet again in step.
            time.sleep(random.uniform(0, _BACKOFF_SECONDS * 2**attempt))
