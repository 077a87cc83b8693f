"""The price of one session: a pure function of the service, the client's rule (if any) and, for
time-based services, the session's real start and end. Integer arithmetic only.

Rules, in order:

1. Billed minutes (time-based only): the real duration in whole seconds is rounded to the service's
   increment (``up`` = ceiling, ``down`` = floor, ``nearest`` = halves up), then raised to
   ``minimum_minutes``. A session billed per session has no billed minutes and one unit.
2. Default amount: per session → the unit price; per minute → minutes * price; per hour →
   minutes * price / 60 rounded half up to the minor unit. Then raised to ``minimum_amount``.
3. Client rule: ``fixed`` replaces the unit price (per session, per minute or per hour, same
   arithmetic as 2, no minimum amount — the rule *is* the agreed price); ``percent`` is that share of
   the default amount (basis points, half up). A rule of 0 (amount 0 or 0 %) means "not billed":
   the amount is 0 and ``not_billed`` is set.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from therabill.core.clock import require_aware
from therabill.core.errors import InvalidRequestError
from therabill.core.money import Money
from therabill.services.models import BPS_WHOLE, PricingRule, PricingUnit, RoundingMode, ServiceType

MAX_BILLABLE = timedelta(hours=24)


class Price(BaseModel):
    """What a session costs and why: stored on the completed session as its price snapshot."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    amount: Money
    unit: PricingUnit
    unit_price: Money  # the price per unit actually applied (the rule's when fixed)
    units: int  # 1 per session; billed minutes for per-minute and per-hour services
    billed_minutes: int | None  # after rounding and the minimum (time-based only)
    actual_seconds: int | None  # the real duration (time-based only)
    rule: Literal["default", "fixed", "percent"]
    percent_bps: int | None = None
    not_billed: bool = False
    cpt_code: str
    modifiers: tuple[str, ...] = ()


def _div_half_up(numerator: int, denominator: int) -> int:
    """Round numerator/denominator half up, for non-negative integers."""
    return (2 * numerator + denominator) // (2 * denominator)


def round_minutes(seconds: int, increment_minutes: int, mode: RoundingMode) -> int:
    """Whole seconds → billed minutes, a multiple of the increment."""
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    step = increment_minutes * 60
    if mode == "up":
        steps = -(-seconds // step)
    elif mode == "down":
        steps = seconds // step
    else:
        steps = _div_half_up(seconds, step)
    return steps * increment_minutes


def _amount(unit: PricingUnit, unit_price: int, billed_minutes: int) -> int:
    if unit == "session":
        return unit_price
    if unit == "minute":
        return unit_price * billed_minutes
    return _div_half_up(unit_price * billed_minutes, 60)


def _billed_minutes(
    service: ServiceType, actual_start: datetime | None, actual_end: datetime | None
) -> tuple[int | None, int | None]:
    """(billed minutes, real seconds) of a time-based service; (None, None) per session."""
    if service.unit == "session":
        return None, None
    if actual_start is None or actual_end is None:
        raise InvalidRequestError("a time-based service needs the real start and end", field="actual_end")
    duration = require_aware(actual_end) - require_aware(actual_start)
    if duration <= timedelta(0):
        raise InvalidRequestError("the end must be after the start", field="actual_end")
    if duration > MAX_BILLABLE:
        raise InvalidRequestError("a session cannot last more than 24 hours", field="actual_end")
    seconds = duration // timedelta(seconds=1)
    rounded = round_minutes(seconds, service.rounding_increment_minutes, service.rounding)
    return max(rounded, service.minimum_minutes), seconds


def price_session(
    service: ServiceType,
    rule: PricingRule | None = None,
    *,
    actual_start: datetime | None = None,
    actual_end: datetime | None = None,
) -> Price:
    currency = service.unit_price.currency
    if rule is not None and rule.currency != currency:
        raise InvalidRequestError("the pricing rule's currency is not the service's", field="currency")
    billed, seconds = _billed_minutes(service, actual_start, actual_end)
    units = 1 if billed is None else billed
    default = max(_amount(service.unit, service.unit_price.amount, units), service.minimum_amount)

    if rule is None:
        amount, applied, kind = default, service.unit_price.amount, "default"
    elif rule.kind == "fixed":
        assert rule.amount is not None
        amount, applied, kind = _amount(service.unit, rule.amount, units), rule.amount, "fixed"
    else:
        assert rule.percent_bps is not None
        amount = _div_half_up(default * rule.percent_bps, BPS_WHOLE)
        applied = _div_half_up(service.unit_price.amount * rule.percent_bps, BPS_WHOLE)
        kind = "percent"
    not_billed = rule is not None and rule.not_billed
    return Price(
        amount=Money(amount=0 if not_billed else amount, currency=currency),
        unit=service.unit,
        unit_price=Money(amount=applied, currency=currency),
        units=units,
        billed_minutes=billed,
        actual_seconds=seconds,
        rule=kind,
        percent_bps=rule.percent_bps if rule is not None else None,
        not_billed=not_billed,
        cpt_code=service.cpt_code,
        modifiers=service.modifiers,
    )
