"""The store's pure rules: a line's tax, the tax a return gives back, what an order's lines may
name, and the sales report's sums."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from therabill.core.money import Money
from therabill.shop.errors import BadOrderError
from therabill.shop.models import Order, OrderLine, Product, line_tax
from therabill.shop.orders import order_lines
from therabill.shop.reports import sales_csv, sales_report
from therabill.shop.returns import Giving, planned, tax_back

AT = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)


def _product(pid: str, price: int, tax: int | None = None, active: bool = True) -> Product:
    return Product(
        id=pid,
        name=f"Item {pid}",
        sku=pid.upper(),
        price=Money(amount=price, currency="usd"),
        tax_rate_bps=tax,
        active=active,
        created_at=AT,
    )


def _order(*lines: OrderLine) -> Order:
    return Order(
        id="ord_1",
        client_id="cli_1",
        lines=lines,
        currency="usd",
        status="paid",
        created_at=AT,
        expires_at=AT,
        paid_at=AT,
    )


def test_a_lines_tax_is_rounded_half_up() -> None:
    assert line_tax(4000, 1, 825) == 330
    assert line_tax(1250, 1, 825) == 103  # 103.125
    assert line_tax(200, 1, 825) == 17  # 16.5 → 17
    assert line_tax(1250, 3, None) == 0


@settings(max_examples=40)
@given(st.integers(1, 20), st.integers(0, 5000), st.lists(st.integers(1, 5), max_size=6))
def test_returns_give_back_exactly_the_lines_tax_in_any_steps(
    quantity: int, tax: int, steps: list[int]
) -> None:
    line = OrderLine(product_id="prd_1", name="x", sku="X", quantity=quantity, unit_price=100, tax=tax)
    returned, given_back = 0, 0
    for step in steps:
        after = min(quantity, returned + step)
        given_back += tax_back(line, returned, after)
        returned = after
    given_back += tax_back(line, returned, quantity)
    assert given_back == tax


def test_order_lines_refuse_what_cannot_be_sold() -> None:
    products = {"prd_a": _product("prd_a", 500, 1000), "prd_b": _product("prd_b", 900, active=False)}
    lines = order_lines([("prd_a", 3)], products, "usd")
    assert [(ln.quantity, ln.unit_price, ln.tax) for ln in lines] == [(3, 500, 150)]
    for items, field in (
        ([], "items"),
        ([("prd_a", 1), ("prd_a", 2)], "items"),
        ([("prd_b", 1)], "items.0.product_id"),
        ([("prd_a", 1), ("prd_x", 1)], "items.1.product_id"),
    ):
        with pytest.raises(BadOrderError) as err:
            order_lines(items, products, "usd")
        assert err.value.details["field"] == field
    with pytest.raises(BadOrderError):
        order_lines([("prd_a", 1)], products, "eur")


def test_a_return_plans_its_amount_and_refuses_more_than_is_left() -> None:
    putty = OrderLine(product_id="prd_a", name="Putty", sku="P", quantity=2, unit_price=1250, tax=0)
    splint = OrderLine(product_id="prd_b", name="Splint", sku="S", quantity=1, unit_price=4000, tax=330)
    lines, amount = planned(_order(putty, splint), [Giving("prd_a", 1, True), Giving("prd_b", 1, False)])
    assert amount == 1250 + 4330 and [ln.returned for ln in lines] == [1, 1]
    with pytest.raises(BadOrderError, match="only 2 units"):
        planned(_order(putty, splint), [Giving("prd_a", 3, True)])
    with pytest.raises(BadOrderError, match="not on this order"):
        planned(_order(putty), [Giving("prd_b", 1, True)])


def test_the_sales_report_counts_the_local_day_and_what_came_back() -> None:
    putty = OrderLine(product_id="prd_a", name="=Putty", sku="P", quantity=2, unit_price=1250, returned=1)
    order = _order(putty)
    report = sales_report(
        [order], start=date(2026, 12, 4), end=date(2026, 12, 4), time_zone="America/New_York", currency="usd"
    )
    assert (report.orders, report.total.sales, report.total.refunded, report.total.net) == (
        1,
        2500,
        1250,
        1250,
    )
    assert sales_csv(report).splitlines()[1] == "P,'=Putty,2,1,25.00,0.00,12.50,12.50,usd"
    late = sales_report(
        [order], start=date(2026, 12, 5), end=date(2026, 12, 5), time_zone="America/New_York", currency="usd"
    )
    assert late.orders == 0
