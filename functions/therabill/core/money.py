"""Money: an integer amount in minor units with an ISO 4217 currency. Never a float."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Currencies whose minor unit is not 1/100 (ISO 4217). Everything else has two decimals.
_THREE_DECIMAL = frozenset({"bhd", "iqd", "jod", "kwd", "lyd", "omr", "tnd"})
_ZERO_DECIMAL = frozenset(
    {
        "bif",
        "isk",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    }
)
_CURRENCY = re.compile(r"^[a-z]{3}$")

MinorUnits = Annotated[int, Field(strict=True)]


class CurrencyMismatchError(ValueError):
    def __init__(self, left: str, right: str) -> None:
        super().__init__(f"cannot combine {left} with {right}")
        self.left = left
        self.right = right


def normalise_currency(code: str) -> str:
    lowered = code.strip().lower()
    if not _CURRENCY.match(lowered):
        raise ValueError(f"currency must be a three-letter ISO 4217 code, got {code!r}")
    return lowered


class Money(BaseModel):
    """An exact amount. ``amount`` is in minor units (cents for usd)."""

    model_config = ConfigDict(frozen=True)

    amount: MinorUnits
    currency: str

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return normalise_currency(value)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(amount=0, currency=currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatchError(self.currency, other.currency)

    def __add__(self, other: Any) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Any) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def __neg__(self) -> Money:
        return Money(amount=-self.amount, currency=self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    @property
    def decimals(self) -> int:
        """ISO 4217 minor-unit exponent."""
        if self.currency in _ZERO_DECIMAL:
            return 0
        return 3 if self.currency in _THREE_DECIMAL else 2

    def format(self) -> str:
        """Human text for receipts: ``USD 12.50``. Exact: integer arithmetic only."""
        sign = "-" if self.amount < 0 else ""
        whole = abs(self.amount)
        if self.decimals == 0:
            return f"{sign}{self.currency.upper()} {whole}"
        unit = 10**self.decimals
        return f"{sign}{self.currency.upper()} {whole // unit}.{whole % unit:0{self.decimals}d}"
