"""A fee's amount for a session price, in integer minor units (pure)."""

from __future__ import annotations

from therabill.core.errors import InvalidRequestError
from therabill.core.money import Money
from therabill.policies.policy import BASIS_POINTS_PER_UNIT, FlatFee, PercentFee, Rounding


def percent_of(price: Money, basis_points: int, rounding: Rounding = "half_up") -> Money:
    """``price * basis_points / 10000`` in integer minor units, rounded as asked. ``price`` >= 0."""
    if price.amount < 0:
        raise InvalidRequestError("the session price must not be negative", field="price")
    if not 0 <= basis_points <= BASIS_POINTS_PER_UNIT:
        raise InvalidRequestError("basis points must be from 0 to 10000", field="basis_points")
    quotient, remainder = divmod(price.amount * basis_points, BASIS_POINTS_PER_UNIT)
    twice = 2 * remainder
    if rounding == "up":
        quotient += remainder > 0
    elif rounding == "half_up":
        quotient += twice >= BASIS_POINTS_PER_UNIT
    elif rounding == "half_even":
        quotient += twice > BASIS_POINTS_PER_UNIT or (twice == BASIS_POINTS_PER_UNIT and quotient % 2 == 1)
    return Money(amount=quotient, currency=price.currency)


def fee_amount(fee: FlatFee | PercentFee, price: Money, *, cap_at_session_price: bool = True) -> Money:
    """One fee applied to a session price. Flat fees must be in the price's currency."""
    if isinstance(fee, PercentFee):
        return percent_of(price, fee.basis_points, fee.rounding)
    if fee.amount.currency != price.currency:
        raise InvalidRequestError(
            "the policy's fee and the session price are in different currencies",
            reason="currency_mismatch",
            fee_currency=fee.amount.currency,
            price_currency=price.currency,
        )
    if cap_at_session_price and price.amount < fee.amount.amount:
        return Money(amount=max(price.amount, 0), currency=price.currency)
    return fee.amount
