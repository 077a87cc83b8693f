"""The cancellation / no-show policy engine: pure domain, no I/O.

A practice has one :class:`CancellationPolicy`; a service may override parts of it
(:class:`CancellationPolicyOverride`, combined by :func:`merge_policy`). :func:`assess` decides the fee
for one cancelled or missed session and explains it in words fit to send to the client (dates, amounts
and the rule applied; never the service, a diagnosis or any clinical detail).

The pieces live beside this module: the policy and its override (``policy``), the events and the
assessment (``events``), a fee's amount (``fees``), the waiver deadline (``waivers``) and the words
(``explain``). Every name callers use is importable from here.

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
from datetime import datetime, timedelta

from therabill.core.errors import InvalidRequestError
from therabill.core.money import Money
from therabill.policies.events import (
    Assessment,
    AssessmentReason,
    Cancellation,
    CancelledBy,
    Facts,
    NoShow,
    PolicyEvent,
)
from therabill.policies.explain import explain, notice_text, when_text
from therabill.policies.fees import fee_amount, percent_of
from therabill.policies.policy import (
    BASIS_POINTS_PER_UNIT,
    MAX_WINDOW_HOURS,
    CancellationPolicy,
    CancellationPolicyOverride,
    CancellationTier,
    Fee,
    FirstOffenceWaiver,
    FlatFee,
    LateCancellationRule,
    PercentFee,
    Rounding,
    merge_policy,
)
from therabill.policies.waivers import AwareUTC, ClinicianWaiver, aware, check_waiver, waiver_allowed_until

__all__ = [
    "BASIS_POINTS_PER_UNIT",
    "MAX_WINDOW_HOURS",
    "Assessment",
    "AssessmentReason",
    "AwareUTC",
    "Cancellation",
    "CancellationPolicy",
    "CancellationPolicyOverride",
    "CancellationTier",
    "CancelledBy",
    "ClinicianWaiver",
    "Fee",
    "FirstOffenceWaiver",
    "FlatFee",
    "LateCancellationRule",
    "NoShow",
    "PercentFee",
    "PolicyEvent",
    "Rounding",
    "assess",
    "check_waiver",
    "fee_amount",
    "merge_policy",
    "percent_of",
    "waiver_allowed_until",
]


def _cancellation_facts(
    policy: CancellationPolicy, event: Cancellation, start: datetime, price: Money, when: str
) -> Facts:
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
    return Facts(
        event_at=event.cancelled_at,
        by_practice=by_practice,
        offence=tier is not None,
        fee_rule=None if tier is None else tier.fee,
        fee=Money(amount=max(amounts), currency=price.currency),
        floored=max(amounts) > amounts[0],
        tier=tier,
        notice=notice,
        what="late-cancellation fee",
        event_text=f"your appointment on {when} was cancelled {notice_text(notice)}",
    )


def _no_show_facts(policy: CancellationPolicy, start: datetime, price: Money, when: str) -> Facts:
    rule = policy.no_show_fee
    fee = (
        Money.zero(price.currency)
        if rule is None
        else fee_amount(rule, price, cap_at_session_price=policy.cap_at_session_price)
    )
    return Facts(
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
    earlier = (aware(when, "prior_offences") for when in prior_offences)
    return not any(since <= when < event_at for when in earlier)


def _reason(
    policy: CancellationPolicy,
    facts: Facts,
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
    start = aware(session_start, "session_start")
    deadline = waiver_allowed_until(start, cutoff_hour, time_zone)
    if waiver is not None:
        check_waiver(waiver, session_start=start, cutoff_hour=cutoff_hour, time_zone=time_zone)
    if price.amount < 0:
        raise InvalidRequestError("the session price must not be negative", field="price")
    when = when_text(start, time_zone)
    if isinstance(event, Cancellation):
        facts = _cancellation_facts(policy, event, start, price, when)
    else:
        facts = _no_show_facts(policy, start, price, when)
    reason = _reason(
        policy, facts, payer_forbids_fees=payer_forbids_fees, waiver=waiver, prior_offences=prior_offences
    )
    return _assessment(reason, policy, facts, deadline=deadline, when=when)


def _assessment(
    reason: AssessmentReason, policy: CancellationPolicy, facts: Facts, *, deadline: datetime, when: str
) -> Assessment:
    zero = Money.zero(facts.fee.currency)
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
        explanation=explain(reason, policy, facts, when),
    )
