"""The cancellation / no-show policy engine: pure domain, no I/O.

A practice has one :class:`CancellationPolicy`; a service may override parts of it
(:class:`CancellationPolicyOverride`, combined by :func:`merge_policy`). :func:`assess` decides the fee
for one cancelled or missed session and explains it in words fit to send to the client (dates, amounts
and the rule applied; never the service, a diagnosis or any clinical detail).

Decisions (each one is tested in ``tests/unit/test_cancellation_policy.py``):

* **Lateness is measured in real time.** ``notice = session_start - cancelled_at`` on aware UTC
  instants, so a 24 h window is 24 elapsed hours even across a 23 h or 25 h local day.
* **Boundaries are exclusive.** A cancellation is late when the notice is *strictly less* than the
  window: exactly 24 h before a session with a 24 h window is **not late**. A tier ``within_hours=2``
  covers notices strictly under 2 h, so exactly 2 h before falls in the next wider tier. A cancellation
  made after the scheduled start (negative notice) is in the tightest tier.
* **Tiers.** A late-cancellation rule has either one ``fee`` for the whole window or ``tiers``; tiers are
  sorted by ``within_hours`` (tightest first), must be distinct (no overlaps) and the widest one must end
  at the window (no gaps). A tier closer to the start never charges less than a wider one: same-kind
  tiers are validated, and for mixed flat/percent tiers the fee is floored at every wider tier's fee.
* **Percent fees** are basis points (``5000`` = 50 %) of the session price in integer arithmetic with an
  explicit rounding mode (default half-up). A percent fee never exceeds the price. Flat fees are capped
  at the session price unless ``cap_at_session_price`` is turned off.
* **Precedence** (first match wins): practice cancelled → payer forbids fees → nothing to charge
  (``no_policy`` / ``not_late``) → clinician waiver → first-offence waiver → the fee.
* **Offences.** A no-show, or a client's cancellation inside the window, is an offence
  (``Assessment.counts_as_offence``) whatever the waivers or the payer say; the caller stores it in the
  client's history. The first-offence waiver applies when no prior offence lies in
  ``[event - lookback_days, event)``: an offence exactly ``lookback_days`` ago still counts, and offences
  at or after the event's instant are ignored (so a history that already holds this event is harmless).
  The event's instant is ``cancelled_at`` for a cancellation and the scheduled start for a no-show.
* **Clinician waiver deadline** (:func:`waiver_allowed_until`): the practice's cutoff hour in its local
  time on the session's local day: the nightly run that charges the fee. If the session starts at or
  after that cutoff, the run that bills it is the next day's, so the deadline is the next day's cutoff.
  A cutoff hour that does not exist (spring-forward gap) resolves to the instant the clocks jump; one
  that happens twice (fall-back) resolves to the first occurrence. A waiver must be made strictly
  before the deadline; at or after it :func:`check_waiver` raises :class:`ConflictError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from therabill.core.clock import iso, require_aware, zone
from therabill.core.errors import ConflictError, InvalidRequestError
from therabill.core.money import Money

AwareUTC = Annotated[datetime, AfterValidator(require_aware)]

Rounding = Literal["half_up", "half_even", "down", "up"]
CancelledBy = Literal["client", "practice"]
AssessmentReason = Literal[
    "late_cancellation_tier",
    "no_show",
    "not_late",
    "no_policy",
    "practice_cancelled",
    "payer_forbids",
    "first_offence_waived",
    "clinician_waived",
]

BASIS_POINTS_PER_UNIT = 10_000
MAX_WINDOW_HOURS = 24 * 30


# --- policy ---------------------------------------------------------------------------------------


class FlatFee(BaseModel):
    """A fixed amount, capped at the session price unless the policy says otherwise."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["flat"] = "flat"
    amount: Money

    @model_validator(mode="after")
    def _not_negative(self) -> FlatFee:
        if self.amount.amount < 0:
            raise ValueError("a flat fee must not be negative")
        return self


class PercentFee(BaseModel):
    """A share of the session price in basis points (``2500`` = 25 %)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["percent"] = "percent"
    basis_points: int = Field(strict=True, ge=0, le=BASIS_POINTS_PER_UNIT)
    rounding: Rounding = "half_up"


Fee = Annotated[FlatFee | PercentFee, Field(discriminator="kind")]


class CancellationTier(BaseModel):
    """Cancellations with strictly less than ``within_hours`` of notice (and not inside a tighter tier)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    within_hours: int = Field(strict=True, ge=1, le=MAX_WINDOW_HOURS)
    fee: Fee


class LateCancellationRule(BaseModel):
    """The late-cancellation window and its fee: one ``fee`` for the whole window, or ``tiers``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

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

    model_config = ConfigDict(frozen=True, extra="forbid")

    lookback_days: int = Field(default=365, strict=True, ge=1, le=3650)


class CancellationPolicy(BaseModel):
    """A practice's cancellation / no-show policy. ``None`` disables a part."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    late_cancellation: LateCancellationRule | None = None
    no_show_fee: Fee | None = None
    first_offence_waiver: FirstOffenceWaiver | None = None
    cap_at_session_price: bool = True

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

    model_config = ConfigDict(frozen=True, extra="forbid")

    late_cancellation: LateCancellationRule | None = None
    no_show_fee: Fee | None = None
    first_offence_waiver: FirstOffenceWaiver | None = None
    cap_at_session_price: bool = True


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


# --- events and waivers ---------------------------------------------------------------------------


class Cancellation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["cancellation"] = "cancellation"
    cancelled_at: AwareUTC
    cancelled_by: CancelledBy


class NoShow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["no_show"] = "no_show"


PolicyEvent = Annotated[Cancellation | NoShow, Field(discriminator="kind")]


class ClinicianWaiver(BaseModel):
    """A clinician's decision not to charge the fee, with who made it and when."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    waived_by: str = Field(min_length=1)
    waived_at: AwareUTC


class Assessment(BaseModel):
    """The outcome for one session. ``fee`` may be zero; ``waived_amount`` is what the policy would
    have charged where a waiver or the payer guard took it away (zero otherwise)."""

    model_config = ConfigDict(frozen=True)

    fee: Money
    reason: AssessmentReason
    tier: CancellationTier | None  # the late-cancellation tier matched (a single-fee rule's window)
    hours_before: float | None  # notice in hours, 2 decimals, for display; None for a no-show
    notice: timedelta | None  # exact notice; negative when cancelled after the scheduled start
    counts_as_offence: bool  # store this event in the client's offence history
    waived_amount: Money
    waiver_deadline: AwareUTC  # a clinician may waive the fee strictly before this instant
    explanation: str  # client-facing, no clinical detail

    @property
    def charged(self) -> bool:
        return self.fee.amount > 0


# --- time ----------------------------------------------------------------------------------------


def _aware(value: datetime, field: str) -> datetime:
    try:
        return require_aware(value)
    except ValueError as exc:
        raise InvalidRequestError(f"{field} must be timezone-aware", field=field) from exc


def _checked_zone_and_cutoff(time_zone: str, cutoff_hour: int) -> None:
    if isinstance(cutoff_hour, bool) or not isinstance(cutoff_hour, int) or not 0 <= cutoff_hour <= 23:
        raise InvalidRequestError("cutoff_hour must be an hour from 0 to 23", field="cutoff_hour")
    try:
        zone(time_zone)
    except ValueError as exc:
        raise InvalidRequestError(str(exc), field="time_zone") from exc


def _local_cutoff(day: datetime, cutoff_hour: int, time_zone: str) -> datetime:
    """The cutoff hour on ``day``'s local date, as aware UTC. fold=0: a non-existent wall time maps to
    the instant the clocks jump, an ambiguous one to its first occurrence."""
    local = datetime.combine(day.date(), time(cutoff_hour), tzinfo=zone(time_zone))
    return local.astimezone(UTC)


def waiver_allowed_until(session_start: datetime, cutoff_hour: int, time_zone: str) -> datetime:
    """The aware-UTC instant by which a clinician must waive a session's fee: the practice's nightly
    cutoff on the session's local day (the next local day's if the session starts at or after it)."""
    _checked_zone_and_cutoff(time_zone, cutoff_hour)
    start = _aware(session_start, "session_start")
    local_start = start.astimezone(zone(time_zone))
    deadline = _local_cutoff(local_start, cutoff_hour, time_zone)
    if deadline <= start:
        deadline = _local_cutoff(local_start + timedelta(days=1), cutoff_hour, time_zone)
    return deadline


def check_waiver(
    waiver: ClinicianWaiver, *, session_start: datetime, cutoff_hour: int, time_zone: str
) -> datetime:
    """Refuse a waiver made at or after the deadline (ConflictError: the nightly run has charged the
    fee). Returns the deadline."""
    deadline = waiver_allowed_until(session_start, cutoff_hour, time_zone)
    if waiver.waived_at >= deadline:
        raise ConflictError(
            "the fee can no longer be waived: the nightly cutoff has passed",
            reason="waiver_deadline_passed",
            deadline=iso(deadline),
            waived_at=iso(waiver.waived_at),
        )
    return deadline


def _same_kind_cheaper(tighter: FlatFee | PercentFee, wider: FlatFee | PercentFee) -> bool:
    if isinstance(tighter, FlatFee) and isinstance(wider, FlatFee):
        same_currency = tighter.amount.currency == wider.amount.currency
        return same_currency and tighter.amount.amount < wider.amount.amount
    if isinstance(tighter, PercentFee) and isinstance(wider, PercentFee):
        return tighter.basis_points < wider.basis_points
    return False


# --- money ---------------------------------------------------------------------------------------


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


# --- assessment ----------------------------------------------------------------------------------


def _percent_text(basis_points: int) -> str:
    whole, fraction = divmod(basis_points, 100)
    return f"{whole}%" if fraction == 0 else f"{whole}.{fraction:02d}".rstrip("0") + "%"


def _fee_text(fee: FlatFee | PercentFee) -> str:
    if isinstance(fee, PercentFee):
        return f"{_percent_text(fee.basis_points)} of the session fee"
    return f"a fee of {fee.amount.format()}"


def _hours_text(hours: int) -> str:
    return "1 hour" if hours == 1 else f"{hours} hours"


def _notice_text(notice: timedelta) -> str:
    minutes = int(abs(notice).total_seconds()) // 60
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(_hours_text(hours))
    if minutes or not hours:
        parts.append("1 minute" if minutes == 1 else f"{minutes} minutes")
    text = " ".join(parts)
    return f"{text} after it was due to begin" if notice < timedelta(0) else f"{text} before it began"


def _when_text(session_start: datetime, time_zone: str) -> str:
    local = session_start.astimezone(zone(time_zone))
    return f"{local:%a} {local.day} {local:%b %Y} at {local:%H:%M} {local.tzname()}"


@dataclass(frozen=True)
class _Facts:
    """What happened, before any guard or waiver: the fee the policy itself would charge."""

    event_at: datetime  # the offence's instant: cancelled_at, or the scheduled start for a no-show
    by_practice: bool
    offence: bool
    fee_rule: FlatFee | PercentFee | None  # the rule that sets the fee (the matched tier's)
    fee: Money
    floored: bool  # raised to a wider tier's fee (later never costs less)
    tier: CancellationTier | None
    notice: timedelta | None
    what: str  # "late-cancellation fee" / "missed-appointment fee"
    event_text: str  # "your appointment on ... was cancelled 3 hours before it began"


def _cancellation_facts(
    policy: CancellationPolicy, event: Cancellation, start: datetime, price: Money, when: str
) -> _Facts:
    notice = start - event.cancelled_at
    rule = policy.late_cancellation
    tiers = rule.effective_tiers() if rule is not None else ()
    index = next(
        (i for i, tier in enumerate(tiers) if notice < timedelta(hours=tier.within_hours)),
        None,
    )
    by_practice = event.cancelled_by == "practice"
    tier = None if index is None or by_practice else tiers[index]
    amounts = [0]
    if tier is not None and index is not None:
        # Later never costs less: floor at every wider tier's fee (matters for mixed flat/percent).
        amounts = [
            fee_amount(t.fee, price, cap_at_session_price=policy.cap_at_session_price).amount
            for t in tiers[index:]
        ]
    return _Facts(
        event_at=event.cancelled_at,
        by_practice=by_practice,
        offence=tier is not None,
        fee_rule=None if tier is None else tier.fee,
        fee=Money(amount=max(amounts), currency=price.currency),
        floored=max(amounts) > amounts[0],
        tier=tier,
        notice=notice,
        what="late-cancellation fee",
        event_text=f"your appointment on {when} was cancelled {_notice_text(notice)}",
    )


def _no_show_facts(policy: CancellationPolicy, start: datetime, price: Money, when: str) -> _Facts:
    rule = policy.no_show_fee
    fee = (
        Money.zero(price.currency)
        if rule is None
        else fee_amount(rule, price, cap_at_session_price=policy.cap_at_session_price)
    )
    return _Facts(
        event_at=start,
        by_practice=False,
        offence=True,
        fee_rule=rule,
        fee=fee,
        floored=False,
        tier=None,
        notice=None,
        what="missed-appointment fee",
        event_text=f"your appointment on {when} was missed without notice",
    )


def _first_offence(
    waiver: FirstOffenceWaiver | None, prior_offences: Sequence[datetime], event_at: datetime
) -> bool:
    if waiver is None:
        return False
    since = event_at - timedelta(days=waiver.lookback_days)
    earlier = (_aware(when, "prior_offences") for when in prior_offences)
    return not any(since <= when < event_at for when in earlier)


def _reason(
    policy: CancellationPolicy,
    facts: _Facts,
    *,
    payer_forbids_fees: bool,
    waiver: ClinicianWaiver | None,
    prior_offences: Sequence[datetime],
) -> AssessmentReason:
    """The precedence, first match wins."""
    if facts.by_practice:
        return "practice_cancelled"
    if payer_forbids_fees:
        return "payer_forbids"
    if not facts.offence or facts.fee_rule is None:
        cancellation_rule = facts.notice is not None and policy.late_cancellation is not None
        return "not_late" if cancellation_rule else "no_policy"
    if waiver is not None:
        return "clinician_waived"
    if _first_offence(policy.first_offence_waiver, prior_offences, facts.event_at):
        return "first_offence_waived"
    return "no_show" if facts.tier is None else "late_cancellation_tier"


def _explain(reason: AssessmentReason, policy: CancellationPolicy, facts: _Facts, when: str) -> str:
    fee = facts.fee.format()
    if reason in ("late_cancellation_tier", "no_show"):
        assert facts.fee_rule is not None
        if facts.tier is not None:
            rule = (
                f"the cancellation policy charges {_fee_text(facts.tier.fee)} for cancellations made "
                f"less than {_hours_text(facts.tier.within_hours)} before the start"
            )
        else:
            rule = f"the cancellation policy charges {_fee_text(facts.fee_rule)} for missed appointments"
        if isinstance(facts.fee_rule, FlatFee) and facts.fee.amount < facts.fee_rule.amount.amount:
            rule += ", capped at the session fee"
        if facts.floored:
            rule += ", and never less than for an earlier cancellation"
        return f"A {facts.what} of {fee} applies: {facts.event_text}, and {rule}."
    if reason == "not_late":
        assert policy.late_cancellation is not None
        window = policy.late_cancellation.window_hours
        return f"No fee: {facts.event_text}, which is outside the {window}-hour late-cancellation window."
    lookback = policy.first_offence_waiver.lookback_days if policy.first_offence_waiver else 0
    texts: dict[AssessmentReason, str] = {
        "practice_cancelled": f"No fee: the practice cancelled your appointment on {when}.",
        "payer_forbids": "No fee: your coverage does not allow cancellation or missed-appointment fees.",
        "no_policy": (
            "No fee: the cancellation policy does not charge for "
            + ("cancellations." if facts.notice is not None else "missed appointments.")
        ),
        "clinician_waived": f"No fee: your clinician waived the {facts.what} of {fee}.",
        "first_offence_waived": (
            f"No fee: the {facts.what} of {fee} was waived because this is your first late "
            f"cancellation or missed appointment in {lookback} days."
        ),
    }
    return texts[reason]


def assess(
    policy: CancellationPolicy,
    event: Cancellation | NoShow,
    *,
    session_start: datetime,
    price: Money,
    time_zone: str,
    cutoff_hour: int,
    prior_offences: Sequence[datetime] = (),
    payer_forbids_fees: bool = False,
    waiver: ClinicianWaiver | None = None,
) -> Assessment:
    """The fee (possibly zero) for one cancelled or missed session, with the reason and a client-facing
    explanation. ``prior_offences`` are the instants of the client's earlier offences (see
    ``Assessment.counts_as_offence``). A waiver made at or after the deadline raises ConflictError; a
    negative price, a naive datetime, a bad zone or cutoff, or flat fees in another currency than
    ``price`` raise InvalidRequestError."""
    start = _aware(session_start, "session_start")
    deadline = waiver_allowed_until(start, cutoff_hour, time_zone)
    if waiver is not None:
        check_waiver(waiver, session_start=start, cutoff_hour=cutoff_hour, time_zone=time_zone)
    if price.amount < 0:
        raise InvalidRequestError("the session price must not be negative", field="price")
    when = _when_text(start, time_zone)
    if isinstance(event, Cancellation):
        facts = _cancellation_facts(policy, event, start, price, when)
    else:
        facts = _no_show_facts(policy, start, price, when)
    reason = _reason(
        policy,
        facts,
        payer_forbids_fees=payer_forbids_fees,
        waiver=waiver,
        prior_offences=prior_offences,
    )
    zero = Money.zero(price.currency)
    charged = reason in ("late_cancellation_tier", "no_show")
    waived = reason in ("payer_forbids", "clinician_waived", "first_offence_waived")
    notice = facts.notice
    return Assessment(
        fee=facts.fee if charged else zero,
        reason=reason,
        tier=facts.tier,
        hours_before=None if notice is None else round(notice.total_seconds() / 3600, 2),
        notice=notice,
        counts_as_offence=facts.offence,
        waived_amount=facts.fee if waived else zero,
        waiver_deadline=deadline,
        explanation=_explain(reason, policy, facts, when),
    )
