"""Service types and client pricing rules: plain data, integer minor units only."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from therabill.core.money import Money
from therabill.policies.policy import CancellationPolicyOverride

PricingUnit = Literal["session", "hour", "minute"]
RoundingMode = Literal["up", "down", "nearest"]
RuleKind = Literal["fixed", "percent"]

CPT_CODE = re.compile(r"^[0-9]{4}[0-9FTU]$")
MODIFIER = re.compile(r"^[A-Z0-9]{2}$")
MAX_MODIFIERS = 4
BPS_WHOLE = 10_000  # 100 % in basis points


class ServiceType(BaseModel):
    """What a practice sells. ``unit_price`` is per session, per hour or per minute.

    Time-based services bill the session's real duration rounded to ``rounding_increment_minutes``
    (up, down, or to the nearest, halves up), never less than ``minimum_minutes``; the amount at the
    default price is never less than ``minimum_amount`` (minor units).
    """

    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    name: str
    cpt_code: str
    modifiers: tuple[str, ...] = ()
    unit: PricingUnit
    unit_price: Money
    rounding: RoundingMode = "up"
    rounding_increment_minutes: int = Field(default=1, ge=1, le=60)
    minimum_minutes: int = Field(default=0, ge=0, le=1440)
    minimum_amount: int = Field(default=0, ge=0, strict=True)
    default_duration_minutes: int = Field(default=50, ge=1, le=1440)
    active: bool = True
    created_at: datetime
    version: int
    # This service's own cancellation / no-show terms, over the practice's (None: the practice's).
    cancellation_policy: CancellationPolicyOverride | None = None

    @field_validator("cpt_code")
    @classmethod
    def _cpt(cls, value: str) -> str:
        if not CPT_CODE.match(value):
            raise ValueError("cpt_code must be 4 digits then a digit, F, T or U")
        return value

    @field_validator("modifiers")
    @classmethod
    def _modifiers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(value) > MAX_MODIFIERS:
            raise ValueError(f"at most {MAX_MODIFIERS} modifiers")
        if any(not MODIFIER.match(m) for m in value):
            raise ValueError("a modifier is two upper-case letters or digits")
        return value

    @model_validator(mode="after")
    def _non_negative(self) -> ServiceType:
        if self.unit_price.amount < 0:
            raise ValueError("unit_price cannot be negative")
        return self


class PricingRule(BaseModel):
    """A client's own price for a service (sliding scale): a fixed price per unit, or a percentage
    (basis points) of what the service would cost at its default price. Zero means "not billed"."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    client_id: str
    service_id: str
    kind: RuleKind
    amount: int | None = Field(default=None, ge=0, strict=True)  # minor units per unit (fixed)
    percent_bps: int | None = Field(default=None, ge=0, le=BPS_WHOLE, strict=True)  # percent
    currency: str
    updated_at: datetime
    updated_by: str
    version: int = 1

    @model_validator(mode="after")
    def _one_value(self) -> PricingRule:
        if self.kind == "fixed" and (self.amount is None or self.percent_bps is not None):
            raise ValueError("a fixed rule has an amount and no percent_bps")
        if self.kind == "percent" and (self.percent_bps is None or self.amount is not None):
            raise ValueError("a percent rule has percent_bps and no amount")
        return self

    @property
    def not_billed(self) -> bool:
        return (self.amount if self.kind == "fixed" else self.percent_bps) == 0
