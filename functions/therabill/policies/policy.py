"""A practice's cancellation / no-show policy and a service's override of it (pure data with its
validation; see ``therabill.policies.cancellation`` for what the policy decides)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from therabill.core.errors import InvalidRequestError
from therabill.core.money import EnteredMoney

Rounding = Literal["half_up", "half_even", "down", "up"]

BASIS_POINTS_PER_UNIT = 10_000
MAX_WINDOW_HOURS = 24 * 30


class FlatFee(BaseModel):
    """A fixed amount, capped at the session price unless the policy says otherwise."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    kind: Literal["flat"] = "flat"
    amount: EnteredMoney


class PercentFee(BaseModel):
    """A share of the session price in basis points (``2500`` = 25 %)."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    kind: Literal["percent"] = "percent"
    basis_points: int = Field(strict=True, ge=0, le=BASIS_POINTS_PER_UNIT)
    rounding: Rounding = "half_up"


Fee = Annotated[FlatFee | PercentFee, Field(discriminator="kind")]


class CancellationTier(BaseModel):
    """Cancellations with strictly less than ``within_hours`` of notice (and not inside a tighter tier)."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    within_hours: int = Field(strict=True, ge=1, le=MAX_WINDOW_HOURS)
    fee: Fee


class LateCancellationRule(BaseModel):
    """The late-cancellation window and its fee: one ``fee`` for the whole window, or ``tiers``."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    window_hours: int = Field(strict=True, ge=1, le=MAX_WINDOW_HOURS)
    fee: Fee | None = None
    tiers: tuple[CancellationTier, ...] = ()

    @field_validator("tiers")
    @classmethod
    def _sorted(cls, tiers: tuple[CancellationTier, ...]) -> tuple[CancellationTier, ...]:
        return tuple(sorted(tiers, key=lambda tier: tier.within_hours))  # tightest first

    @model_validator(mode="after")
    def _tiers(self) -> LateCancellationRule:
        if (self.fee is None) == (not self.tiers):
            raise ValueError("give either one fee for the whole window or tiers, not both and not neither")
        if not self.tiers:
            return self
        ordered = self.tiers
        bounds = [tier.within_hours for tier in ordered]
        if len(set(bounds)) != len(bounds):
            raise ValueError("tiers overlap: two tiers have the same within_hours")
        if bounds[-1] != self.window_hours:
            raise ValueError(
                f"the widest tier must end at the window ({self.window_hours} h), not at {bounds[-1]} h"
            )
        for tighter_index, tighter in enumerate(ordered):
            for wider in ordered[tighter_index + 1 :]:
                if _same_kind_cheaper(tighter.fee, wider.fee):
                    raise ValueError(
                        f"the tier within {tighter.within_hours} h must not cost less than the wider "
                        f"tier within {wider.within_hours} h"
                    )
        return self

    def effective_tiers(self) -> tuple[CancellationTier, ...]:
        """The tiers, tightest first; a single-fee rule is one tier spanning the window."""
        if self.tiers:
            return self.tiers
        assert self.fee is not None  # guaranteed by the validator
        return (CancellationTier(within_hours=self.window_hours, fee=self.fee),)


class FirstOffenceWaiver(BaseModel):
    """Waive the client's first late cancellation or no-show within the look-back period."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    lookback_days: int = Field(default=365, strict=True, ge=1, le=3650)


class CancellationPolicy(BaseModel):
    """A practice's cancellation / no-show policy. ``None`` disables a part."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    late_cancellation: LateCancellationRule | None = None
    no_show_fee: Fee | None = None
    first_offence_waiver: FirstOffenceWaiver | None = None
    cap_at_session_price: StrictBool = True

    @model_validator(mode="after")
    def _one_currency(self) -> CancellationPolicy:
        currencies = {fee.amount.currency for fee in self.fees() if isinstance(fee, FlatFee)}
        if len(currencies) > 1:
            raise ValueError(f"flat fees must share one currency, got {sorted(currencies)}")
        return self

    def fees(self) -> list[FlatFee | PercentFee]:
        found: list[FlatFee | PercentFee] = []
        if self.late_cancellation is not None:
            found.extend(tier.fee for tier in self.late_cancellation.effective_tiers())
        if self.no_show_fee is not None:
            found.append(self.no_show_fee)
        return found


class CancellationPolicyOverride(BaseModel):
    """A service's override. Only the fields given replace the practice's, each as a whole part (the
    late-cancellation rule is replaced with its window and tiers); a field given as ``null`` disables that
    part for the service. Store it with ``model_dump(mode="json", exclude_unset=True)`` so "not given"
    survives a round trip."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    late_cancellation: LateCancellationRule | None = None
    no_show_fee: Fee | None = None
    first_offence_waiver: FirstOffenceWaiver | None = None
    cap_at_session_price: StrictBool = True


def merge_policy(
    practice: CancellationPolicy, override: CancellationPolicyOverride | None
) -> CancellationPolicy:
    """The policy in force for one service: the practice's, with the override's given parts replacing
    the practice's. Raises InvalidRequestError when the result is inconsistent (mixed currencies)."""
    if override is None:
        return practice
    parts = {name: getattr(practice, name) for name in CancellationPolicy.model_fields}
    for name in override.model_fields_set:
        parts[name] = getattr(override, name)
    try:
        return CancellationPolicy.model_validate(parts)
    except ValueError as exc:
        raise InvalidRequestError(
            "the service's cancellation policy does not combine with the practice's",
            reason="policy_override_invalid",
            problem=str(exc),
        ) from exc


def _same_kind_cheaper(tighter: FlatFee | PercentFee, wider: FlatFee | PercentFee) -> bool:
    if isinstance(tighter, FlatFee) and isinstance(wider, FlatFee):
        same_currency = tighter.amount.currency == wider.amount.currency
        return same_currency and tighter.amount.amount < wider.amount.amount
    if isinstance(tighter, PercentFee) and isinstance(wider, PercentFee):
        return tighter.basis_points < wider.basis_points
    return False
