"""X12 data types to and from Python: dates (D8, RD8), amounts (R, decimal) in minor units."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

# X12's R and N types: an optional minus, digits, an optional decimal point (no exponent, no +).
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)")


@dataclass(frozen=True, slots=True)
class DateRange:
    start: date
    end: date


def parse_date(text: str) -> date:
    """CCYYMMDD."""
    if len(text) != 8 or not text.isdigit():
        raise ValueError("not a CCYYMMDD date")
    return date(int(text[:4]), int(text[4:6]), int(text[6:]))


def parse_period(qualifier: str, text: str) -> DateRange:
    """A DTP's value by its format qualifier: D8 (one day) or RD8 (CCYYMMDD-CCYYMMDD)."""
    if qualifier == "D8":
        day = parse_date(text)
        return DateRange(day, day)
    if qualifier == "RD8":
        start, _, end = text.partition("-")
        return DateRange(parse_date(start), parse_date(end))
    raise ValueError("not a D8 or RD8 date")


def format_date(day: date) -> str:
    return day.strftime("%Y%m%d")


def parse_decimal(text: str) -> Decimal:
    if not _NUMBER.fullmatch(text):
        raise ValueError("not a decimal number")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError("not a decimal number") from None


def to_minor_units(text: str) -> int:
    """An X12 monetary amount (R: 10, 10.5, 10.00, -1.27) as an integer of cents, exactly."""
    cents = parse_decimal(text) * 100
    if cents != cents.to_integral_value():
        raise ValueError("an amount with more than two decimals")
    return int(cents)
