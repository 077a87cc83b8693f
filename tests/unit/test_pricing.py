"""The price of a session: exact integer arithmetic, rounding, minimums and client rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from therabill.core.errors import InvalidRequestError
from therabill.core.money import Money
from therabill.services.models import PricingRule, ServiceType
from therabill.services.pricing import price_session, round_minutes

T0 = datetime(2025, 3, 9, 14, 0, tzinfo=UTC)


def service(**over):
    fields = {
        "id": "svc_01hzzzzzzzzzzzzzzzzzzzzzzz",
        "name": "Therapy",
        "cpt_code": "90837",
        "unit": "minute",
        "unit_price": Money(amount=300, currency="usd"),
        "created_at": T0,
        "version": 1,
    }
    fields.update(over)
    return ServiceType(**fields)


def rule(kind="fixed", amount=None, percent_bps=None):
    return PricingRule(
        client_id="cli_x",
        service_id="svc_x",
        kind=kind,
        amount=amount,
        percent_bps=percent_bps,
        currency="usd",
        updated_at=T0,
        updated_by="u",
    )


def price(svc, r=None, seconds=0):
    return price_session(svc, r, actual_start=T0, actual_end=T0 + timedelta(seconds=seconds))


def test_per_minute_bills_real_minutes_rounded_up_by_default():
    p = price(service(), seconds=52 * 60 + 1)
    assert (p.billed_minutes, p.units, p.amount.amount, p.actual_seconds) == (53, 53, 15_900, 3121)
    assert p.rule == "default" and not p.not_billed


@pytest.mark.parametrize(
    ("mode", "seconds", "expected"),
    [
        ("up", 50 * 60 + 1, 60),
        ("down", 59 * 60 + 59, 45),
        ("nearest", 52 * 60 + 29, 45),
        ("nearest", 52 * 60 + 30, 60),  # halves go up
        ("nearest", 52 * 60 + 31, 60),
    ],
)
def test_rounding_to_a_15_minute_increment(mode, seconds, expected):
    assert round_minutes(seconds, 15, mode) == expected


def test_per_hour_is_prorated_half_up_to_the_cent():
    svc = service(unit="hour", unit_price=Money(amount=10_001, currency="usd"))
    # 50 minutes of 100.01/h = 83.341666… → 83.34
    assert price(svc, seconds=50 * 60).amount.amount == 8_334


def test_per_session_ignores_the_duration_and_needs_no_times():
    svc = service(unit="session", unit_price=Money(amount=15_000, currency="usd"))
    p = price_session(svc)
    assert (p.amount.amount, p.units, p.billed_minutes) == (15_000, 1, None)


def test_minimum_minutes_and_minimum_amount():
    svc = service(minimum_minutes=30, minimum_amount=10_000)
    assert price(svc, seconds=10 * 60).billed_minutes == 30
    assert price(svc, seconds=10 * 60).amount.amount == 10_000  # 30 x 3.00 = 90.00 < 100.00
    assert price(svc, seconds=40 * 60).amount.amount == 12_000


def test_fixed_rule_replaces_the_unit_price_and_percent_scales_the_default():
    svc = service()
    assert price(svc, rule(amount=100), seconds=50 * 60).amount.amount == 5_000
    p = price(svc, rule("percent", percent_bps=3_333), seconds=50 * 60)
    assert p.amount.amount == 5_000  # 15000 x 33.33 % = 4999.5 → 5000 (half up)
    assert p.unit_price.amount == 100 and p.rule == "percent"


@pytest.mark.parametrize("r", [rule(amount=0), rule("percent", percent_bps=0)])
def test_a_zero_rule_is_not_billed(r):
    p = price(service(minimum_amount=5_000), r, seconds=3600)
    assert p.amount.amount == 0 and p.not_billed


def test_time_based_needs_a_real_end_after_its_start():
    with pytest.raises(InvalidRequestError):
        price(service(), seconds=0)
    with pytest.raises(InvalidRequestError):
        price_session(service())
    with pytest.raises(InvalidRequestError):
        price(service(), seconds=25 * 3600)


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="naive"):
        price_session(service(), actual_start=datetime(2025, 1, 1), actual_end=datetime(2025, 1, 2))


@pytest.mark.parametrize(
    ("cpt", "ok"), [("90837", True), ("9083F", True), ("0001U", True), ("9083X", False), ("908", False)]
)
def test_cpt_codes(cpt, ok):
    if ok:
        assert service(cpt_code=cpt).cpt_code == cpt
    else:
        with pytest.raises(ValueError, match="cpt_code"):
            service(cpt_code=cpt)


def test_modifiers_are_two_characters_and_at_most_four():
    assert service(modifiers=("95", "GT")).modifiers == ("95", "GT")
    with pytest.raises(ValueError, match="modifier"):
        service(modifiers=("95", "GT", "HO", "U1", "U2"))
    with pytest.raises(ValueError, match="modifier"):
        service(modifiers=("9",))


# -- properties ------------------------------------------------------------------------------------
services = st.builds(
    service,
    unit=st.sampled_from(["session", "hour", "minute"]),
    unit_price=st.integers(0, 1_000_000).map(lambda a: Money(amount=a, currency="usd")),
    rounding=st.sampled_from(["up", "down", "nearest"]),
    rounding_increment_minutes=st.sampled_from([1, 5, 6, 10, 15, 30, 60]),
    minimum_minutes=st.integers(0, 120),
    minimum_amount=st.integers(0, 100_000),
)
rules = (
    st.none()
    | st.builds(rule, st.just("fixed"), amount=st.integers(0, 1_000_000))
    | st.builds(rule, st.just("percent"), percent_bps=st.integers(0, 10_000))
)
durations = st.integers(1, 24 * 3600)


@given(services, rules, durations, durations)
def test_never_negative_and_monotonic_in_duration(svc, r, a, b):
    short, long = sorted((a, b))
    p_short, p_long = price(svc, r, seconds=short), price(svc, r, seconds=long)
    assert 0 <= p_short.amount.amount <= p_long.amount.amount
    assert isinstance(p_long.amount.amount, int)
    if svc.unit != "session":
        assert p_short.billed_minutes <= p_long.billed_minutes


@given(services, rules, durations)
def test_respects_rounding_and_minimums(svc, r, seconds):
    p = price(svc, r, seconds=seconds)
    if svc.unit == "session":
        assert p.units == 1 and p.billed_minutes is None
        return
    inc = svc.rounding_increment_minutes
    billed = p.billed_minutes
    assert billed >= svc.minimum_minutes
    if billed > svc.minimum_minutes:
        assert billed % inc == 0
        assert abs(billed * 60 - seconds) < inc * 60
        if svc.rounding == "up":
            assert billed * 60 >= seconds
        if svc.rounding == "down":
            assert billed * 60 <= seconds
        if svc.rounding == "nearest":
            assert abs(billed * 60 - seconds) <= inc * 30
    if r is None:
        assert p.amount.amount >= svc.minimum_amount


@given(services, durations, st.sampled_from([rule(amount=0), rule("percent", percent_bps=0)]))
def test_a_zero_rule_is_always_zero_and_flagged(svc, seconds, r):
    p = price(svc, r, seconds=seconds)
    assert p.amount.amount == 0 and p.not_billed


@given(services, durations, st.integers(0, 10_000))
def test_a_percent_rule_never_exceeds_the_default(svc, seconds, bps):
    default = price(svc, None, seconds=seconds).amount.amount
    scaled = price(svc, rule("percent", percent_bps=bps), seconds=seconds).amount.amount
    assert scaled <= default
    assert abs(scaled * 10_000 - default * bps) <= 5_000
