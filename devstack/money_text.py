"""Money as the demos print it, one way throughout: ``USD 25.00`` (minor units in, the ISO code
first); a balance says which way it goes (owed, in credit, or nothing owed)."""

from __future__ import annotations


def money(minor: int, currency: str = "usd") -> str:
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    return f"{sign}{currency.upper()} {whole:,}.{cents:02d}"


def signed(minor: int, currency: str = "usd") -> str:
    """A change: ``+USD 25.00`` more owed, ``-USD 25.00`` less."""
    return ("+" if minor >= 0 else "") + money(minor, currency)


def balance(minor: int, currency: str = "usd") -> str:
    """A client's balance in words: what they owe, or the credit they hold."""
    if minor > 0:
        return f"{money(minor, currency)} owed"
    if minor < 0:
        return f"{money(-minor, currency)} in credit"
    return f"nothing owed ({money(0, currency)})"
