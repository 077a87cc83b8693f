"""The client-facing words of an assessment: dates, amounts and the rule applied; never the
service, a diagnosis or any clinical detail (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta

from therabill.core.clock import zone
from therabill.policies.events import AssessmentReason, Facts
from therabill.policies.policy import CancellationPolicy, FlatFee, PercentFee


def _percent_text(basis_points: int) -> str:
    whole, fraction = divmod(basis_points, 100)
    return f"{whole}%" if fraction == 0 else f"{whole}.{fraction:02d}".rstrip("0") + "%"


def _fee_text(fee: FlatFee | PercentFee) -> str:
    if isinstance(fee, PercentFee):
        return f"{_percent_text(fee.basis_points)} of the session fee"
    return f"a fee of {fee.amount.format()}"


def _hours_text(hours: int) -> str:
    return "1 hour" if hours == 1 else f"{hours} hours"


def notice_text(notice: timedelta) -> str:
    minutes = int(abs(notice).total_seconds()) // 60
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(_hours_text(hours))
    if minutes or not hours:
        parts.append("1 minute" if minutes == 1 else f"{minutes} minutes")
    text = " ".join(parts)
    return f"{text} after it was due to begin" if notice < timedelta(0) else f"{text} before it began"


def when_text(session_start: datetime, time_zone: str) -> str:
    local = session_start.astimezone(zone(time_zone))
    return f"{local:%a} {local.day} {local:%b %Y} at {local:%H:%M} {local.tzname()}"


def explain(reason: AssessmentReason, policy: CancellationPolicy, facts: Facts, when: str) -> str:
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
