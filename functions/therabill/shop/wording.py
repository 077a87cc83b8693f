"""How a receipt words an order (the email and the PDF say the same)."""

from __future__ import annotations

from therabill.core.money import Money
from therabill.shop.models import Order, OrderLine

ELIGIBLE_MARK = "HSA/FSA"


def money(order: Order, amount: int) -> str:
    return Money(amount=amount, currency=order.currency).format()


def line_text(order: Order, line: OrderLine) -> str:
    mark = f" [{ELIGIBLE_MARK}]" if line.hsa_fsa_eligible else ""
    each, subtotal = money(order, line.unit_price), money(order, line.subtotal)
    return f"{line.name} (SKU {line.sku}){mark}: {line.quantity} at {each} = {subtotal}"


def totals(order: Order) -> list[str]:
    eligible = sum(line.total for line in order.lines if line.hsa_fsa_eligible)
    rows = [f"Subtotal: {money(order, order.subtotal)}"]
    if order.tax:
        rows.append(f"Tax: {money(order, order.tax)}")
    rows.append(f"Total paid: {money(order, order.total)}")
    rows.append(f"Of which HSA/FSA eligible: {money(order, eligible)}")
    return rows


def card_text(order: Order) -> str:
    if order.card_brand and order.card_last4:
        return f"Paid with {order.card_brand.title()} ending in {order.card_last4}."
    return "Paid by card."
