"""The cancellation / no-show policy engine (therabill.policies.cancellation): pure, no I/O.

Boundaries decided here (see the module docstring): notice is measured in real (UTC) time; a
cancellation is late only with *strictly less* notice than the window (exactly 24 h before a 24 h
window is not late); a tier ``within_hours=N`` covers notices strictly under N h; a waiver is allowed
strictly before the deadline.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from therabill.core.errors import ConflictError, InvalidRequestError
from therabill.core.money import Money
from therabill.policies import (
    Assessment,
    Cancellation,
    CancellationPolicy,
    CancellationPolicyOverride,
    CancellationTier,
    ClinicianWaiver,
    FirstOffenceWaiver,
    FlatFee,
    LateCancellationRule,
    NoShow,
    PercentFee,
    assess,
    check_waiver,
    merge_policy,
    percent_of,
    waiver_allowed_until,
)

NY = "America/New_York"
LONDON = "Europe/London"
CUTOFF = 23


def usd(cents: int) -> Money:
    return Money(amount=cents, currency="usd")


def local(tz: str, *args: int, fold: int = 0) -> datetime:
    """A wall-clock time in ``tz`` as aware UTC."""
    return datetime(*args, tzinfo=ZoneInfo(tz), fold=fold).astimezone(UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def pct(percent: int, rounding: str = "half_up") -> PercentFee:
    return PercentFee(basis_points=percent * 100, rounding=rounding)


def tier(hours: int, fee: FlatFee | PercentFee) -> CancellationTier:
    return CancellationTier(within_hours=hours, fee=fee)


TIERED = CancellationPolicy(
    late_cancellation=LateCancellationRule(window_hours=24, tiers=(tier(2, pct(100)), tier(24, pct(50)))),
    no_show_fee=FlatFee(amount=usd(7_500)),
)
START = local(NY, 2026, 6, 15, 10)  # Mon 15 Jun 2026 10:00 EDT
PRICE = usd(15_000)


def cancel(before: timedelta, by: str = "client", start: datetime = START) -> Cancellation:
    return Cancellation(cancelled_at=start - before, cancelled_by=by)


def run(
    event: Cancellation | NoShow,
    policy: CancellationPolicy = TIERED,
    *,
    start: datetime = START,
    price: Money = PRICE,
    tz: str = NY,
    **kwargs: object,
) -> Assessment:
    return assess(
        policy,
        event,
        session_start=start,
        price=price,
        time_zone=tz,
        cutoff_hour=CUTOFF,
        **kwargs,
    )


H = timedelta(hours=1)


# --- the policy model ------------------------------------------------------------------------------


def test_tiers_are_sorted_tightest_first():
    rule = LateCancellationRule(window_hours=24, tiers=(tier(24, pct(50)), tier(2, pct(100))))
    assert [t.within_hours for t in rule.tiers] == [2, 24]


@pytest.mark.parametrize(
    "rule",
    [
        {
            "window_hours": 24,
            "tiers": [{"within_hours": 24, "fee": {"kind": "percent", "basis_points": 5000}}] * 2,
        },
        {
            "window_hours": 48,
            "tiers": [{"within_hours": 24, "fee": {"kind": "percent", "basis_points": 5000}}],
        },
        {"window_hours": 24},
        {
            "window_hours": 24,
            "fee": {"kind": "percent", "basis_points": 5000},
            "tiers": [{"within_hours": 24, "fee": {"kind": "percent", "basis_points": 5000}}],
        },
        {
            "window_hours": 24,
            "tiers": [
                {"within_hours": 2, "fee": {"kind": "percent", "basis_points": 2500}},
                {"within_hours": 24, "fee": {"kind": "percent", "basis_points": 5000}},
            ],
        },
        {
            "window_hours": 24,
            "tiers": [
                {"within_hours": 2, "fee": {"kind": "flat", "amount": {"amount": 1000, "currency": "usd"}}},
                {"within_hours": 24, "fee": {"kind": "flat", "amount": {"amount": 2000, "currency": "usd"}}},
            ],
        },
        {"window_hours": 0, "fee": {"kind": "percent", "basis_points": 5000}},
        {"window_hours": 24, "fee": {"kind": "percent", "basis_points": 10001}},
        {"window_hours": 24, "fee": {"kind": "percent", "basis_points": 50.5}},
        {"window_hours": 24, "fee": {"kind": "flat", "amount": {"amount": -1, "currency": "usd"}}},
        {"window_hours": 24, "fee": {"kind": "percent", "basis_points": 5000, "rounding": "bankers"}},
    ],
    ids=[
        "overlapping-tiers",
        "gap-before-window",
        "no-fee",
        "fee-and-tiers",
        "tighter-percent-cheaper",
        "tighter-flat-cheaper",
        "zero-window",
        "over-100-percent",
        "float-basis-points",
        "negative-flat",
        "unknown-rounding",
    ],
)
def test_invalid_late_cancellation_rules_are_refused(rule):
    with pytest.raises(ValidationError):
        LateCancellationRule.model_validate(rule)


def test_flat_fees_must_share_one_currency():
    with pytest.raises(ValidationError):
        CancellationPolicy(
            late_cancellation=LateCancellationRule(window_hours=24, fee=FlatFee(amount=usd(100))),
            no_show_fee=FlatFee(amount=Money(amount=100, currency="eur")),
        )


def test_policy_round_trips_through_json():
    assert CancellationPolicy.model_validate_json(TIERED.model_dump_json()) == TIERED


# --- per-service override ---------------------------------------------------------------------------


def test_no_override_is_the_practice_policy():
    assert merge_policy(TIERED, None) is TIERED


def test_override_replaces_only_the_parts_it_gives():
    override = CancellationPolicyOverride(no_show_fee=pct(100), first_offence_waiver=FirstOffenceWaiver())
    merged = merge_policy(TIERED, override)
    assert merged.late_cancellation == TIERED.late_cancellation
    assert merged.no_show_fee == pct(100)
    assert merged.first_offence_waiver == FirstOffenceWaiver(lookback_days=365)
    assert merged.cap_at_session_price is True


def test_override_replaces_the_late_rule_whole_and_null_disables_a_part():
    single = LateCancellationRule(window_hours=48, fee=FlatFee(amount=usd(4_000)))
    merged = merge_policy(TIERED, CancellationPolicyOverride(late_cancellation=single, no_show_fee=None))
    assert merged.late_cancellation == single
    assert merged.no_show_fee is None


def test_override_survives_storage_without_losing_not_given_versus_null():
    override = CancellationPolicyOverride(no_show_fee=None)
    stored = override.model_dump(mode="json", exclude_unset=True)
    assert stored == {"no_show_fee": None}
    merged = merge_policy(TIERED, CancellationPolicyOverride.model_validate(stored))
    assert merged.no_show_fee is None and merged.late_cancellation == TIERED.late_cancellation


def test_override_that_mixes_currencies_is_an_invalid_request():
    override = CancellationPolicyOverride(no_show_fee=FlatFee(amount=Money(amount=1, currency="eur")))
    practice = CancellationPolicy(
        late_cancellation=LateCancellationRule(window_hours=24, fee=FlatFee(amount=usd(100)))
    )
    with pytest.raises(InvalidRequestError) as caught:
        merge_policy(practice, override)
    assert caught.value.details["reason"] == "policy_override_invalid"


# --- reasons ------------------------------------------------------------------------------------------


def test_late_cancellation_charges_the_matched_tier_and_explains_it():
    result = run(cancel(3 * H + timedelta(minutes=15)))
    assert result.reason == "late_cancellation_tier"
    assert result.fee == usd(7_500)
    assert result.tier == tier(24, pct(50))
    assert result.hours_before == 3.25
    assert result.notice == timedelta(hours=3, minutes=15)
    assert result.counts_as_offence and result.charged
    assert result.waived_amount == usd(0)
    assert result.explanation == (
        "A late-cancellation fee of USD 75.00 applies: your appointment on Mon 15 Jun 2026 at 10:00 EDT "
        "was cancelled 3 hours 15 minutes before it began, and the cancellation policy charges 50% of the "
        "session fee for cancellations made less than 24 hours before the start."
    )


def test_tightest_tier_charges_in_full():
    result = run(cancel(30 * timedelta(minutes=1)))
    assert result.reason == "late_cancellation_tier"
    assert result.fee == PRICE
    assert result.tier == tier(2, pct(100))


def test_single_fee_rule_is_one_tier_spanning_the_window():
    policy = CancellationPolicy(
        late_cancellation=LateCancellationRule(window_hours=48, fee=FlatFee(amount=usd(5_000)))
    )
    result = run(cancel(47 * H), policy)
    assert result.reason == "late_cancellation_tier"
    assert result.fee == usd(5_000)
    assert result.tier == tier(48, FlatFee(amount=usd(5_000)))
    assert "a fee of USD 50.00" in result.explanation
    assert "less than 48 hours" in result.explanation


def test_cancelling_outside_the_window_is_not_late():
    result = run(cancel(30 * H))
    assert result.reason == "not_late"
    assert result.fee == usd(0)
    assert result.tier is None
    assert not result.counts_as_offence and not result.charged
    assert result.explanation == (
        "No fee: your appointment on Mon 15 Jun 2026 at 10:00 EDT was cancelled 30 hours before it "
        "began, which is outside the 24-hour late-cancellation window."
    )


def test_no_show_charges_the_no_show_fee():
    result = run(NoShow())
    assert result.reason == "no_show"
    assert result.fee == usd(7_500)
    assert result.tier is None and result.hours_before is None and result.notice is None
    assert result.counts_as_offence
    assert "missed without notice" in result.explanation
    assert "a fee of USD 75.00 for missed appointments" in result.explanation


def test_percent_no_show_fee():
    policy = TIERED.model_copy(update={"no_show_fee": pct(100)})
    assert run(NoShow(), policy).fee == PRICE


def test_nothing_configured_is_no_policy_but_a_no_show_is_still_an_offence():
    empty = CancellationPolicy()
    missed = run(NoShow(), empty)
    assert (missed.reason, missed.fee, missed.counts_as_offence) == ("no_policy", usd(0), True)
    assert missed.explanation == "No fee: the cancellation policy does not charge for missed appointments."
    cancelled = run(cancel(H), empty)
    assert (cancelled.reason, cancelled.fee, cancelled.counts_as_offence) == ("no_policy", usd(0), False)


def test_practice_cancelling_never_costs_the_client_anything():
    waiver = ClinicianWaiver(waived_by="usr_1", waived_at=START - 2 * H)
    result = run(cancel(10 * timedelta(minutes=1), by="practice"), payer_forbids_fees=True, waiver=waiver)
    assert result.reason == "practice_cancelled"
    assert result.fee == usd(0) and result.waived_amount == usd(0)
    assert not result.counts_as_offence
    assert (
        result.explanation
        == "No fee: the practice cancelled your appointment on Mon 15 Jun 2026 at 10:00 EDT."
    )


@pytest.mark.parametrize(
    "event",
    [cancel(H), cancel(20 * H), cancel(30 * H), NoShow()],
    ids=["tier-100", "tier-50", "not-late", "no-show"],
)
def test_payer_guard_beats_everything_but_practice_cancelled(event):
    waiver = ClinicianWaiver(waived_by="usr_1", waived_at=START - 3 * H)
    policy = TIERED.model_copy(update={"first_offence_waiver": FirstOffenceWaiver()})
    result = run(event, policy, payer_forbids_fees=True, waiver=waiver, prior_offences=[])
    assert result.reason == "payer_forbids"
    assert result.fee == usd(0)
    assert "coverage does not allow" in result.explanation


def test_payer_guard_records_what_it_waived_and_the_offence():
    result = run(cancel(H), payer_forbids_fees=True)
    assert result.waived_amount == PRICE
    assert result.counts_as_offence


def test_clinician_waiver_before_the_deadline_waives_the_fee():
    waiver = ClinicianWaiver(waived_by="usr_1", waived_at=START + 5 * H)
    result = run(NoShow(), waiver=waiver)
    assert result.reason == "clinician_waived"
    assert result.fee == usd(0) and result.waived_amount == usd(7_500)
    assert result.counts_as_offence
    assert result.explanation == "No fee: your clinician waived the missed-appointment fee of USD 75.00."


def test_a_waiver_is_moot_when_nothing_is_due():
    waiver = ClinicianWaiver(waived_by="usr_1", waived_at=START - 30 * H)
    assert run(cancel(48 * H), waiver=waiver).reason == "not_late"


def test_a_waiver_after_the_deadline_is_refused_by_assess():
    waiver = ClinicianWaiver(waived_by="usr_1", waived_at=local(NY, 2026, 6, 15, 23))
    with pytest.raises(ConflictError):
        run(NoShow(), waiver=waiver)


# --- first-offence waiver ------------------------------------------------------------------------------

FORGIVING = TIERED.model_copy(update={"first_offence_waiver": FirstOffenceWaiver(lookback_days=90)})


def test_first_offence_is_waived():
    result = run(cancel(H), FORGIVING, prior_offences=[])
    assert result.reason == "first_offence_waived"
    assert result.fee == usd(0) and result.waived_amount == PRICE
    assert result.counts_as_offence  # it uses up the allowance
    assert result.explanation == (
        "No fee: the late-cancellation fee of USD 150.00 was waived because this is your first late "
        "cancellation or missed appointment in 90 days."
    )


def test_second_offence_in_the_look_back_is_charged():
    result = run(cancel(H), FORGIVING, prior_offences=[START - timedelta(days=30)])
    assert result.reason == "late_cancellation_tier" and result.fee == PRICE


def test_look_back_is_inclusive_of_its_start_and_measured_from_the_event():
    cancelled_at = START - H
    exactly = cancelled_at - timedelta(days=90)
    assert run(cancel(H), FORGIVING, prior_offences=[exactly]).reason == "late_cancellation_tier"
    older = exactly - timedelta(seconds=1)
    assert run(cancel(H), FORGIVING, prior_offences=[older]).reason == "first_offence_waived"


def test_offences_at_or_after_the_event_are_not_prior():
    cancelled_at = START - H
    history = [cancelled_at, cancelled_at + timedelta(days=3)]  # this event itself, and a later one
    assert run(cancel(H), FORGIVING, prior_offences=history).reason == "first_offence_waived"


def test_a_no_show_offence_instant_is_the_scheduled_start():
    just_before = START - timedelta(seconds=1)
    assert run(NoShow(), FORGIVING, prior_offences=[just_before]).reason == "no_show"
    assert run(NoShow(), FORGIVING, prior_offences=[START]).reason == "first_offence_waived"


def test_without_the_waiver_the_first_offence_is_charged():
    assert run(cancel(H), TIERED, prior_offences=[]).reason == "late_cancellation_tier"


def test_naive_prior_offences_are_refused():
    with pytest.raises(InvalidRequestError):
        run(cancel(H), FORGIVING, prior_offences=[datetime(2026, 1, 1)])


# --- exact boundaries -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "reason", "fee"),
    [
        (24 * H, "not_late", 0),  # exactly the window: not late
        (24 * H - timedelta(microseconds=1), "late_cancellation_tier", 7_500),
        (2 * H, "late_cancellation_tier", 7_500),  # exactly 2 h: the wider (50 %) tier
        (2 * H - timedelta(seconds=1), "late_cancellation_tier", 15_000),
        (timedelta(0), "late_cancellation_tier", 15_000),
        (-H, "late_cancellation_tier", 15_000),  # cancelled after the start: tightest tier
    ],
)
def test_tier_boundaries(before, reason, fee):
    result = run(cancel(before))
    assert (result.reason, result.fee) == (reason, usd(fee))


def test_cancelling_after_the_start_says_so():
    result = run(cancel(-90 * timedelta(minutes=1)))
    assert result.hours_before == -1.5
    assert "1 hour 30 minutes after it was due to begin" in result.explanation


# --- money -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "basis_points", "rounding", "expected"),
    [
        (333, 5000, "half_up", 167),  # 166.5
        (333, 5000, "half_even", 166),
        (335, 5000, "half_even", 168),  # 167.5
        (333, 5000, "down", 166),
        (333, 5000, "up", 167),
        (1, 3333, "half_up", 0),  # 0.3333
        (1, 3333, "up", 1),
        (10_001, 3333, "half_up", 3333),  # 3333.3333
        (9_999, 10_000, "down", 9_999),
        (0, 5000, "up", 0),
    ],
)
def test_percent_rounding_is_integer_and_explicit(price, basis_points, rounding, expected):
    assert percent_of(usd(price), basis_points, rounding) == usd(expected)


def test_percent_fee_rounds_in_assessment_and_explains_fractions():
    policy = CancellationPolicy(
        late_cancellation=LateCancellationRule(
            window_hours=24, fee=PercentFee(basis_points=3333, rounding="up")
        )
    )
    result = run(cancel(H), policy, price=usd(10_001))
    assert result.fee == usd(3_334)
    assert "33.33% of the session fee" in result.explanation


def test_percent_text_drops_trailing_zeros():
    policy = CancellationPolicy(
        late_cancellation=LateCancellationRule(window_hours=24, fee=PercentFee(basis_points=1250))
    )
    assert "12.5% of the session fee" in run(cancel(H), policy).explanation


def test_flat_fee_is_capped_at_the_session_price_unless_turned_off():
    policy = CancellationPolicy(no_show_fee=FlatFee(amount=usd(10_000)))
    capped = run(NoShow(), policy, price=usd(4_000))
    assert capped.fee == usd(4_000)
    assert "capped at the session fee" in capped.explanation
    uncapped = run(NoShow(), policy.model_copy(update={"cap_at_session_price": False}), price=usd(4_000))
    assert uncapped.fee == usd(10_000)


def test_a_zero_price_session_costs_nothing_to_cancel_when_capped():
    result = run(cancel(H), price=usd(0))
    assert result.reason == "late_cancellation_tier" and result.fee == usd(0) and not result.charged


def test_fee_in_another_currency_than_the_price_is_refused():
    with pytest.raises(InvalidRequestError) as caught:
        run(NoShow(), price=Money(amount=1000, currency="eur"))
    assert caught.value.details["reason"] == "currency_mismatch"


def test_negative_price_is_refused():
    with pytest.raises(InvalidRequestError):
        run(NoShow(), price=usd(-1))


def test_mixed_tiers_never_charge_less_for_a_later_cancellation():
    # A wider 50 % tier and a tighter flat $40: with a $150 session the tighter tier is floored at $75.
    policy = CancellationPolicy(
        late_cancellation=LateCancellationRule(
            window_hours=24, tiers=(tier(2, FlatFee(amount=usd(4_000))), tier(24, pct(50)))
        )
    )
    result = run(cancel(H), policy)
    assert result.fee == usd(7_500)
    assert result.tier == tier(2, FlatFee(amount=usd(4_000)))
    assert "never less than for an earlier cancellation" in result.explanation


# --- input checks ---------------------------------------------------------------------------------------


def test_naive_datetimes_are_refused():
    with pytest.raises(ValidationError):
        Cancellation(cancelled_at=datetime(2026, 1, 1), cancelled_by="client")
    with pytest.raises(InvalidRequestError):
        waiver_allowed_until(datetime(2026, 1, 1), CUTOFF, NY)


def test_datetimes_are_normalised_to_utc():
    event = Cancellation(cancelled_at=local(NY, 2026, 6, 14, 10), cancelled_by="client")
    assert event.cancelled_at.tzinfo is UTC
    parsed = Cancellation.model_validate({"cancelled_at": "2026-06-14T14:00:00Z", "cancelled_by": "client"})
    assert parsed == event


@pytest.mark.parametrize(("cutoff", "tz"), [(24, NY), (-1, NY), (23, "Mars/Olympus_Mons")])
def test_bad_cutoff_or_zone_is_refused(cutoff, tz):
    with pytest.raises(InvalidRequestError):
        waiver_allowed_until(START, cutoff, tz)


# --- waiver deadline --------------------------------------------------------------------------------------


def test_waiver_deadline_is_the_cutoff_on_the_sessions_local_day():
    assert waiver_allowed_until(START, 23, NY) == local(NY, 2026, 6, 15, 23)
    # 21:30 EDT on 15 Jun is already 16 Jun in UTC: the local day still decides.
    evening = local(NY, 2026, 6, 15, 21, 30)
    assert evening.day == 16
    assert waiver_allowed_until(evening, 23, NY) == local(NY, 2026, 6, 15, 23)


def test_a_session_at_or_after_the_cutoff_is_waivable_until_the_next_nights_cutoff():
    assert waiver_allowed_until(local(NY, 2026, 6, 15, 23), 23, NY) == local(NY, 2026, 6, 16, 23)
    assert waiver_allowed_until(local(NY, 2026, 6, 15, 23, 30), 23, NY) == local(NY, 2026, 6, 16, 23)


def test_waiver_is_allowed_strictly_before_the_deadline():
    deadline = waiver_allowed_until(START, CUTOFF, NY)
    ok = ClinicianWaiver(waived_by="usr_1", waived_at=deadline - timedelta(microseconds=1))
    assert check_waiver(ok, session_start=START, cutoff_hour=CUTOFF, time_zone=NY) == deadline
    late = ClinicianWaiver(waived_by="usr_1", waived_at=deadline)
    with pytest.raises(ConflictError) as caught:
        check_waiver(late, session_start=START, cutoff_hour=CUTOFF, time_zone=NY)
    assert caught.value.details == {
        "reason": "waiver_deadline_passed",
        "deadline": "2026-06-16T03:00:00.000000Z",
        "waived_at": "2026-06-16T03:00:00.000000Z",
    }


def test_assessment_carries_the_waiver_deadline():
    assert run(NoShow()).waiver_deadline == local(NY, 2026, 6, 15, 23)


# --- DST --------------------------------------------------------------------------------------------------

SPRING_NY = local(NY, 2026, 3, 8, 10)  # Sun 8 Mar 2026: clocks go 02:00 EST -> 03:00 EDT (a 23 h day)
FALL_NY = local(NY, 2026, 11, 1, 10)  # Sun 1 Nov 2026: 02:00 EDT -> 01:00 EST (a 25 h day)
SPRING_LONDON = local(LONDON, 2026, 3, 29, 10)  # 01:00 GMT -> 02:00 BST
FALL_LONDON = local(LONDON, 2026, 10, 25, 10)  # 02:00 BST -> 01:00 GMT


@pytest.mark.parametrize(
    ("tz", "start", "day_before", "real_hours"),
    [
        (NY, SPRING_NY, (2026, 3, 7, 10), 23),
        (NY, FALL_NY, (2026, 10, 31, 10), 25),
        (LONDON, SPRING_LONDON, (2026, 3, 28, 10), 23),
        (LONDON, FALL_LONDON, (2026, 10, 24, 10), 25),
    ],
    ids=["ny-spring", "ny-fall", "london-spring", "london-fall"],
)
def test_window_is_real_hours_across_a_clock_change(tz, start, day_before, real_hours):
    # Cancelling at the same wall-clock time the day before is 23 or 25 real hours of notice.
    same_wall_time = local(tz, *day_before)
    assert start - same_wall_time == timedelta(hours=real_hours)
    event = Cancellation(cancelled_at=same_wall_time, cancelled_by="client")
    result = run(event, start=start, tz=tz)
    assert result.hours_before == real_hours
    assert result.reason == ("late_cancellation_tier" if real_hours < 24 else "not_late")
    # And exactly 24 real hours is never late, whatever the wall clock says.
    exactly = run(cancel(24 * H, start=start), start=start, tz=tz)
    assert exactly.reason == "not_late"
    assert run(cancel(24 * H - timedelta(seconds=1), start=start), start=start, tz=tz).fee == usd(7_500)


def test_explanation_uses_the_local_time_and_zone_name_on_dst_days():
    assert "Sun 8 Mar 2026 at 10:00 EDT" in run(NoShow(), start=SPRING_NY).explanation
    assert "Sun 1 Nov 2026 at 10:00 EST" in run(NoShow(), start=FALL_NY).explanation
    assert "Sun 29 Mar 2026 at 10:00 BST" in run(NoShow(), start=SPRING_LONDON, tz=LONDON).explanation


@pytest.mark.parametrize(
    ("tz", "start", "deadline_utc"),
    [
        (NY, SPRING_NY, utc(2026, 3, 9, 3)),  # 23:00 EDT
        (NY, local(NY, 2026, 3, 8, 0, 30), utc(2026, 3, 9, 3)),  # before the jump, same local day
        (NY, local(NY, 2026, 3, 7, 10), utc(2026, 3, 8, 4)),  # the day before: 23:00 EST
        (NY, FALL_NY, utc(2026, 11, 2, 4)),  # 23:00 EST
        (NY, local(NY, 2026, 11, 1, 1, 30, fold=0), utc(2026, 11, 2, 4)),  # first 01:30 (EDT)
        (NY, local(NY, 2026, 11, 1, 1, 30, fold=1), utc(2026, 11, 2, 4)),  # second 01:30 (EST)
        (LONDON, SPRING_LONDON, utc(2026, 3, 29, 22)),  # 23:00 BST
        (LONDON, FALL_LONDON, utc(2026, 10, 25, 23)),  # 23:00 GMT
        (LONDON, local(LONDON, 2026, 10, 24, 10), utc(2026, 10, 24, 22)),  # 23:00 BST
    ],
)
def test_waiver_deadline_is_the_local_cutoff_on_23_and_25_hour_days(tz, start, deadline_utc):
    assert waiver_allowed_until(start, 23, tz) == deadline_utc


@pytest.mark.parametrize(
    ("tz", "start", "cutoff", "deadline_utc"),
    [
        # 02:00 does not exist in New York on 8 Mar: the deadline is the instant the clocks jump.
        (NY, local(NY, 2026, 3, 8, 1), 2, utc(2026, 3, 8, 7)),
        # 01:00 happens twice in New York on 1 Nov: the first one (EDT).
        (NY, local(NY, 2026, 11, 1, 0, 30), 1, utc(2026, 11, 1, 5)),
        # 01:00 does not exist in London on 29 Mar.
        (LONDON, local(LONDON, 2026, 3, 29, 0, 30), 1, utc(2026, 3, 29, 1)),
        # 01:00 happens twice in London on 25 Oct: the first (BST).
        (LONDON, local(LONDON, 2026, 10, 25, 0, 30), 1, utc(2026, 10, 25, 0)),
    ],
    ids=["ny-gap", "ny-repeat", "london-gap", "london-repeat"],
)
def test_cutoff_in_a_skipped_or_repeated_hour(tz, start, cutoff, deadline_utc):
    assert waiver_allowed_until(start, cutoff, tz) == deadline_utc


def test_waiver_on_the_25_hour_night_is_refused_at_the_local_cutoff_not_24_hours_later():
    deadline = waiver_allowed_until(FALL_NY, CUTOFF, NY)
    assert deadline - FALL_NY == timedelta(hours=13)  # 10:00 EST -> 23:00 EST
    too_late = ClinicianWaiver(waived_by="usr_1", waived_at=local(NY, 2026, 11, 1, 23, 0))
    with pytest.raises(ConflictError):
        check_waiver(too_late, session_start=FALL_NY, cutoff_hour=CUTOFF, time_zone=NY)


# --- properties -------------------------------------------------------------------------------------------

fees = st.one_of(
    st.builds(FlatFee, amount=st.builds(usd, st.integers(0, 50_000))),
    st.builds(
        PercentFee,
        basis_points=st.integers(0, 10_000),
        rounding=st.sampled_from(["half_up", "half_even", "down", "up"]),
    ),
)


@st.composite
def tiered_rules(draw: st.DrawFn) -> LateCancellationRule:
    """Valid tiered rules: distinct bounds, and same-kind fees never cheaper closer to the start."""
    bounds = sorted(draw(st.sets(st.integers(1, 72), min_size=1, max_size=4)))
    kinds = draw(st.lists(st.sampled_from(["flat", "percent"]), min_size=len(bounds), max_size=len(bounds)))
    flats = sorted(
        draw(st.lists(st.integers(0, 50_000), min_size=len(bounds), max_size=len(bounds))), reverse=True
    )
    percents = sorted(
        draw(st.lists(st.integers(0, 10_000), min_size=len(bounds), max_size=len(bounds))), reverse=True
    )
    rounding = draw(st.sampled_from(["half_up", "half_even", "down", "up"]))
    tiers = []
    for index, (bound, kind) in enumerate(zip(bounds, kinds, strict=True)):
        fee: FlatFee | PercentFee = (
            FlatFee(amount=usd(flats[index]))
            if kind == "flat"
            else PercentFee(basis_points=percents[index], rounding=rounding)
        )
        tiers.append(tier(bound, fee))
    return LateCancellationRule(window_hours=bounds[-1], tiers=tuple(tiers))


policies = st.builds(
    CancellationPolicy,
    late_cancellation=st.one_of(
        st.none(), tiered_rules(), st.builds(LateCancellationRule, window_hours=st.integers(1, 72), fee=fees)
    ),
    no_show_fee=st.one_of(st.none(), fees),
    first_offence_waiver=st.one_of(
        st.none(), st.builds(FirstOffenceWaiver, lookback_days=st.integers(1, 400))
    ),
    cap_at_session_price=st.booleans(),
)
notices = st.integers(-3 * 3600, 80 * 3600).map(lambda seconds: timedelta(seconds=seconds))
prices = st.integers(0, 100_000).map(usd)
zones = st.sampled_from([NY, LONDON, "UTC", "Asia/Kolkata", "Australia/Lord_Howe"])
starts = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC))
offence_histories = st.lists(st.integers(0, 800).map(lambda days: timedelta(days=days)), max_size=3)


def _ceiling(policy: CancellationPolicy, result: Assessment, price: Money) -> int:
    """The most the configured rule can charge: a percent fee never more than the price, a flat fee
    never more than its amount (and, for a tier floored at a wider one, never more than the largest
    of them); with the cap on, never more than the price either."""
    if result.reason == "no_show":
        candidates = [policy.no_show_fee]
    else:
        assert policy.late_cancellation is not None and result.tier is not None
        tiers = policy.late_cancellation.effective_tiers()
        candidates = [t.fee for t in tiers[tiers.index(result.tier) :]]
    limit = max(
        price.amount if isinstance(fee, PercentFee) else fee.amount.amount for fee in candidates if fee
    )
    return min(limit, price.amount) if policy.cap_at_session_price else limit


@settings(max_examples=300)
@given(
    policy=policies,
    notice=st.one_of(st.none(), notices),
    by=st.sampled_from(["client", "practice"]),
    price=prices,
    start=starts,
    tz=zones,
    history=offence_histories,
    party=st.booleans(),
)
def test_fee_is_never_negative_nor_above_the_price_or_flat_amount(
    policy, notice, by, price, start, tz, history, party
):
    event = NoShow() if notice is None else cancel(notice, by=by, start=start)
    result = run(
        event,
        policy,
        start=start,
        price=price,
        tz=tz,
        prior_offences=[start - ago for ago in history],
        payer_forbids_fees=party,
    )
    assert result.fee.amount >= 0
    assert result.fee.currency == price.currency
    if result.reason in ("late_cancellation_tier", "no_show"):
        assert result.fee.amount <= _ceiling(policy, result, price)
        if policy.cap_at_session_price:
            assert result.fee.amount <= price.amount
    else:
        assert result.fee.amount == 0
    if by == "practice" and notice is not None:
        assert result.reason == "practice_cancelled"
    elif party:
        assert result.reason == "payer_forbids"
    assert result.waiver_deadline > start
    assert result.explanation


@settings(max_examples=300)
@given(
    rule=tiered_rules(),
    cap=st.booleans(),
    earlier=notices,
    later=notices,
    price=prices,
    start=starts,
    tz=zones,
)
def test_a_later_cancellation_never_costs_less(rule, cap, earlier, later, price, start, tz):
    policy = CancellationPolicy(late_cancellation=rule, cap_at_session_price=cap)
    more_notice, less_notice = max(earlier, later), min(earlier, later)
    early = run(cancel(more_notice, start=start), policy, start=start, price=price, tz=tz)
    late = run(cancel(less_notice, start=start), policy, start=start, price=price, tz=tz)
    assert late.fee.amount >= early.fee.amount


@given(price=st.integers(0, 10**9), basis_points=st.integers(0, 10_000))
def test_rounding_modes_bracket_the_exact_share(price, basis_points):
    exact_times_10000 = price * basis_points
    down = percent_of(usd(price), basis_points, "down").amount
    up = percent_of(usd(price), basis_points, "up").amount
    assert down * 10_000 <= exact_times_10000 <= up * 10_000
    assert up - down in (0, 1)
    for mode in ("half_up", "half_even"):
        value = percent_of(usd(price), basis_points, mode).amount
        assert value in (down, up)
        assert abs(value * 10_000 - exact_times_10000) <= 5_000
    assert up <= price
