"""Money: an integer amount in minor units with an ISO 4217 currency. Never a float."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

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

# The largest amount anyone may enter: Stripe's largest charge in a two-decimal currency
# (999,999.99). Balances and totals may grow past it; what one request names may not.
MAX_AMOUNT = 99_999_999
AMOUNT_WORDS = "an integer number of minor units (cents), e.g. 2500 for 25.00"
_NOT_INTEGER = f"must be {AMOUNT_WORDS}, not text, a decimal number or true/false"


def _integer_minor_units(value: object) -> object:
    """Only a JSON integer: not text ("10.00"), not a decimal (25.0), not true or false."""
    if type(value) is not int:
        raise PydanticCustomError("minor_units", _NOT_INTEGER)
    return value


def _check_range(value: int, least: int) -> int:
    if not least <= value <= MAX_AMOUNT:
        raise PydanticCustomError(
            "minor_units_range", f"must be {AMOUNT_WORDS}, from {least} to {MAX_AMOUNT:,}"
        )
    return value


def _in_range(least: int) -> BeforeValidator:
    return BeforeValidator(lambda value: _check_range(value, least))


def _described(least: int) -> Any:
    return Field(
        ge=least,
        le=MAX_AMOUNT,
        description=f"minor units (cents): an integer, e.g. 2500 for 25.00; {least} to {MAX_AMOUNT:,}",
    )


_INTEGER = BeforeValidator(_integer_minor_units)
# An amount of any sign (balances, refunds, ledger lines): an integer, never a float.
SignedMinorUnits = Annotated[int, _INTEGER, Field(description="minor units (cents for usd), any sign")]
# Money entering the system: every amount a request names (a price, a fee, a cap, a charge). The
# type is checked first, then the range, both in words (the schema's bounds only document them).
MinorUnits = Annotated[int, _described(0), _in_range(0), _INTEGER]
PositiveMinorUnits = Annotated[int, _described(1), _in_range(1), _INTEGER]  # a charge, a payment


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

    model_config = ConfigDict(defer_build=True, frozen=True)

    amount: SignedMinorUnits
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

    def decimal_text(self) -> str:
        """The amount as a plain decimal for spreadsheets: ``12.50``, ``-3.00``, ``500`` (yen).
        Exact: integer arithmetic only."""
        sign = "-" if self.amount < 0 else ""
        whole = abs(self.amount)
        if self.decimals == 0:
            return f"{sign}{whole}"
        unit = 10**self.decimals
        return f"{sign}{whole // unit}.{whole % unit:0{self.decimals}d}"

    def format(self) -> str:
        """Human text for receipts: ``USD 12.50``, ``-USD 3.00``. Exact: integer arithmetic only."""
        sign = "-" if self.amount < 0 else ""
        return f"{sign}{self.currency.upper()} {abs(self).decimal_text()}"

    def __abs__(self) -> Money:
        return self if self.amount >= 0 else -self


def _entered(money: Money) -> Money:
    _check_range(money.amount, 0)
    return money


# A Money a request names (a flat fee in a cancellation policy): its amount in MinorUnits' range.
EnteredMoney = Annotated[
    Money,
    AfterValidator(_entered),
    Field(
        description=f"amount: minor units (cents), an integer from 0 to {MAX_AMOUNT:,}; currency: ISO 4217"
    ),
]
