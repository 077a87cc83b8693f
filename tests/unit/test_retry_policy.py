"""The retry policy for declined charges (payments/retries.py): pure, so checked exhaustively."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from therabill.payments import retries

T0 = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "code",
    [
        "lost_card",
        "stolen_card",
        "pickup_card",
        "do_not_honor",
        "restricted_card",
        "fraudulent",
        "invalid_account",
        "card_not_supported",
        "expired_card",
        "incorrect_number",
        "authentication_required",
        None,
        "some_code_stripe_adds_next_year",
    ],
)
def test_hard_and_unknown_declines_are_never_retried(code):
    for attempt in range(1, retries.MAX_ATTEMPTS + 2):
        assert retries.decide(code, attempt=attempt, declined_at=T0) == retries.RetryDecision("final")


def test_insufficient_funds_waits_a_day():
    decision = retries.decide("insufficient_funds", attempt=1, declined_at=T0)
    assert decision.action == "retry" and decision.at == T0 + timedelta(days=1)


@pytest.mark.parametrize(
    "code", ["generic_decline", "processing_error", "try_again_later", "issuer_not_available"]
)
def test_transient_errors_wait_a_few_hours(code):
    decision = retries.decide(code, attempt=2, declined_at=T0)
    assert decision.action == "retry" and decision.at is not None
    assert timedelta(hours=1) <= decision.at - T0 <= timedelta(hours=12)


def test_the_last_attempt_gives_up():
    assert (
        retries.decide("insufficient_funds", attempt=retries.MAX_ATTEMPTS, declined_at=T0).action == "give_up"
    )
    assert (
        retries.decide("generic_decline", attempt=retries.MAX_ATTEMPTS + 3, declined_at=T0).action
        == "give_up"
    )


def test_the_decline_code_wins_over_the_error_code():
    assert retries.decline_reason("insufficient_funds", "card_declined") == "insufficient_funds"
    assert retries.decline_reason(None, "processing_error") == "processing_error"
    assert retries.decline_reason(None, None) is None


def test_each_attempt_has_its_own_key_and_the_first_keeps_the_original():
    assert retries.idempotency_key("pay_1", 1) == "therabill:charge:pay_1"
    assert retries.idempotency_key("pay_1", 2) == "therabill:charge:pay_1:2"
    assert len({retries.idempotency_key("pay_1", n) for n in range(1, 10)}) == 9
    with pytest.raises(ValueError):
        retries.idempotency_key("pay_1", 0)
    with pytest.raises(ValueError):
        retries.decide("generic_decline", attempt=0, declined_at=T0)


_CODES = (
    st.sampled_from([*sorted(retries.HARD_DECLINES | set(retries.RETRY_DELAYS)), "unknown_code"]) | st.none()
)


@given(
    codes=st.lists(_CODES, min_size=1, max_size=20),
    lateness=st.lists(st.integers(min_value=0, max_value=3 * 24 * 3600), min_size=20, max_size=20),
)
def test_any_sequence_of_declines_is_bounded_and_spaced(codes, lateness):
    """Play the policy like the scheduler does (a retry runs at or after its due time, declined
    again with whatever code): attempts never exceed the cap, consecutive attempts are at least the
    code's delay apart (a day for insufficient funds), and hard codes end it at once."""
    attempt, now = 1, T0
    times = [now]
    for i, code in enumerate(codes):
        decision = retries.decide(code, attempt=attempt, declined_at=now)
        if decision.action != "retry":
            assert decision.action == "final" or attempt == retries.MAX_ATTEMPTS
            if code in retries.HARD_DECLINES or code not in retries.RETRY_DELAYS:
                assert decision.action == "final"
            break
        assert code in retries.RETRY_DELAYS and decision.at is not None
        assert decision.at - now == retries.RETRY_DELAYS[code]
        if code == "insufficient_funds":
            assert decision.at - now >= timedelta(days=1)
        now = decision.at + timedelta(seconds=lateness[i])
        attempt += 1
        times.append(now)
    assert attempt <= retries.MAX_ATTEMPTS
    assert len(times) <= retries.MAX_ATTEMPTS
    assert all(b - a >= timedelta(hours=1) for a, b in itertools.pairwise(times))
