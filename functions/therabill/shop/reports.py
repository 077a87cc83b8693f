"""The store's reports: product sales over the practice's local days (units sold and returned,
sales, tax, refunded, net) and stock (on hand, available, low). JSON keeps integer minor units;
the CSVs are for spreadsheets (decimal amounts with a currency column; text that would start a
formula gets a leading apostrophe)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from therabill.core.clock import local_date
from therabill.core.csv_text import to_csv
from therabill.core.money import Money
from therabill.shop.models import Order, Product
from therabill.shop.returns import tax_back


@dataclass
class ProductSales:
    product_id: str
    sku: str
    name: str
    units_sold: int = 0
    units_returned: int = 0
    sales: int = 0
    tax: int = 0
    refunded: int = 0

    @property
    def net(self) -> int:
        return self.sales + self.tax - self.refunded


@dataclass
class Sales:
    start: date
    end: date
    currency: str
    orders: int = 0
    products: dict[str, ProductSales] = field(default_factory=dict)

    @property
    def total(self) -> ProductSales:
        out = ProductSales("", "", "Total")
        for p in self.products.values():
            out.units_sold += p.units_sold
            out.units_returned += p.units_returned
            out.sales += p.sales
            out.tax += p.tax
            out.refunded += p.refunded
        return out


def sales_report(orders: Iterable[Order], *, start: date, end: date, time_zone: str, currency: str) -> Sales:
    """Orders paid on the practice's local days ``start`` .. ``end`` (returns counted with the
    sale they undo)."""
    report = Sales(start, end, currency)
    for order in orders:
        if order.paid_at is None or not start <= local_date(order.paid_at, time_zone) <= end:
            continue
        report.orders += 1
        for line in order.lines:
            row = report.products.setdefault(
                line.product_id, ProductSales(line.product_id, line.sku, line.name)
            )
            row.units_sold += line.quantity
            row.units_returned += line.returned
            row.sales += line.subtotal
            row.tax += line.tax
            row.refunded += line.unit_price * line.returned + tax_back(line, 0, line.returned)
    return report


def sales_csv(report: Sales) -> str:
    def money(amount: int) -> str:
        return Money(amount=amount, currency=report.currency).decimal_text()

    rows = [
        (
            p.sku,
            p.name,
            p.units_sold,
            p.units_returned,
            money(p.sales),
            money(p.tax),
            money(p.refunded),
            money(p.net),
            report.currency,
        )
        for p in [*sorted(report.products.values(), key=lambda p: p.sku), report.total]
    ]
    header = ("sku", "product", "units_sold", "units_returned", "sales", "tax", "refunded", "net", "currency")
    return to_csv(header, rows)


def stock_csv(products: Iterable[Product]) -> str:
    rows = [
        (
            p.sku,
            p.name,
            p.on_hand,
            p.available,
            p.low_stock_at,
            "yes" if p.available <= p.low_stock_at else "no",
            "yes" if p.active else "no",
        )
        for p in sorted(products, key=lambda p: p.sku)
    ]
    return to_csv(("sku", "product", "on_hand", "available", "low_stock_at", "low", "active"), rows)
