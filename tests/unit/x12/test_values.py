"""X12 values: dates and exact amounts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from therabill.x12.values import DateRange, parse_decimal, parse_period, to_minor_units


@pytest.mark.parametrize(
    ("text", "cents"),
    [("10", 1000), ("10.5", 1050), ("10.00", 1000), ("-1.27", -127), (".5", 50), ("138018.40", 13801840)],
)
def test_amounts_in_minor_units(text: str, cents: int) -> None:
    assert to_minor_units(text) == cents


@pytest.mark.parametrize("text", ["12.345", "1e3", "+5", "", "ten", "NaN", "Infinity", "1.2.3", "-"])
def test_amounts_that_are_not_x12_amounts(text: str) -> None:
    with pytest.raises(ValueError, match=r"decimal|two decimals"):
        to_minor_units(text)


def test_a_decimal_is_exact() -> None:
    assert parse_decimal("0.1") * 3 == Decimal("0.3")


def test_dates() -> None:
    assert parse_period("D8", "20260412") == DateRange(date(2026, 4, 12), date(2026, 4, 12))
    assert parse_period("RD8", "20260101-20261231") == DateRange(date(2026, 1, 1), date(2026, 12, 31))
    for qualifier, text in (("D8", "2026041"), ("D8", "20261301"), ("RD8", "20260101"), ("D6", "260101")):
        with pytest.raises(ValueError):
            parse_period(qualifier, text)
