"""The shapes of the values a response carries, declared once so the OpenAPI documents say them."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MONEY_WORDS = "minor units of the currency, e.g. 2500 for 25.00"

# An amount of money: an integer of minor units.
Amount = Annotated[int, Field(description=MONEY_WORDS)]


def minor_units(description: str) -> str:
    """A money field's own description, in minor units."""
    return f"{description}; {MONEY_WORDS}"
