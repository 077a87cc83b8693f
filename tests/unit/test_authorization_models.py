"""Authorizations, pure: which one a session uses, what a booking meets, what readiness says, the
units a session uses (the 8-minute rule), and the nightly run's reasons from them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from therabill.authorizations.models import (
    Asked,
    Authorization,
    Usage,
    booking_problem,
    choose,
    readiness_problems,
    units_of,
)
from therabill.nightly.models import ItemFacts, assess

COV = "cov_1"
NOV_20 = date(2026, 11, 20)


def readiness_problem(auths, coverage_id, day, cpt_code, usage):
    """``readiness_problems`` of one session (its use, if any)."""
    if coverage_id is None:
        return "authorization_missing"
    asked = Asked(usage.session_id if usage else "ses_x", coverage_id, day, cpt_code)
    return readiness_problems(auths, [asked], {asked.session_id: usage} if usage else {})[asked.session_id]


def auth(id_: str = "auth_a", **fields: object) -> Authorization:
    base: dict[str, object] = {
        "id": id_,
        "client_id": "cli_1",
        "coverage_id": COV,
        "authorized": 2,
        "start_date": date(2026, 11, 1),
        "end_date": date(2026, 11, 30),
        "created_at": datetime(2026, 11, 1, tzinfo=UTC),
        "version": 1,
    }
    return Authorization.model_validate({**base, **fields})


def test_the_session_uses_one_with_something_left_then_naming_its_code_then_ending_soonest() -> None:
    used_up = auth("auth_a", used=2, end_date=date(2026, 11, 25))
    later = auth("auth_b", end_date=date(2026, 12, 31))
    sooner = auth("auth_c", end_date=date(2026, 11, 28))
    other_code = auth("auth_d", cpt_codes=("97110",))
    other_coverage = auth("auth_e", coverage_id="cov_2")
    removed = auth("auth_f", status="removed")
    found = [used_up, later, sooner, other_code, other_coverage, removed]
    assert choose(found, COV, NOV_20, "90837") == sooner
    assert choose(found, COV, NOV_20, "97110") == other_code  # naming the code: over any-code ones
    assert choose([used_up], COV, NOV_20, "90837") == used_up  # used beyond: still the one
    assert choose(found, COV, date(2027, 1, 1), "90837") is None
    assert choose([removed, other_coverage], COV, NOV_20, None) is None


@pytest.mark.parametrize(
    ("minutes", "units"), [(0, 1), (7, 1), (8, 1), (22, 1), (23, 2), (50, 3), (53, 4), (60, 4)]
)
def test_units_by_the_8_minute_rule(minutes: int, units: int) -> None:
    assert units_of("units", minutes * 60) == units
    assert units_of("visits", minutes * 60) == 1


def test_what_a_booking_meets() -> None:
    two = auth(authorized=2, used=1)
    assert booking_problem([], COV, NOV_20, "90837") == "authorization_missing"
    assert booking_problem([auth(cpt_codes=("97110",))], COV, NOV_20, "90837") == "authorization_missing"
    assert booking_problem([two], COV, date(2026, 12, 1), "90837") == "authorization_expired"
    assert booking_problem([two], COV, date(2026, 10, 31), "90837") == "authorization_expired"
    assert booking_problem([two], COV, NOV_20, "90837") is None  # one left
    # A session already booked in the range takes the one left; one booked after the end does not.
    assert (
        booking_problem([two], COV, NOV_20, "90837", pending=[(date(2026, 11, 25), None)])
        == "authorization_used_up"
    )
    assert booking_problem([two], COV, NOV_20, "90837", pending=[(date(2026, 12, 2), None)]) is None


def test_a_booking_counts_the_scheduled_units_where_the_authorization_counts_units() -> None:
    eight = auth(counted="units", authorized=8, used=2)  # 6 units left
    fifty = 50 * 60  # 3 units by the 8-minute rule
    booked = [(date(2026, 11, 25), fifty)]
    assert booking_problem([eight], COV, NOV_20, None, pending=booked, seconds=fifty) is None  # 3 + 3 of 6
    both = booked * 2
    assert booking_problem([eight], COV, NOV_20, None, pending=both, seconds=fifty) == "authorization_used_up"
    # 22 minutes booked: 1 unit; 6 - 3 - 1 leaves 2, short of the 3 a 50-minute visit takes.
    short = [*booked, (date(2026, 11, 26), 22 * 60)]
    assert (
        booking_problem([eight], COV, NOV_20, None, pending=short, seconds=fifty) == "authorization_used_up"
    )
    assert booking_problem([eight], COV, NOV_20, None, pending=short, seconds=fifty // 2) is None


def _use(through: int, amount: int = 1) -> Usage:
    return Usage("ses_1", "cli_1", "auth_a", amount, through, NOV_20)


def test_readiness_of_a_completed_session() -> None:
    assert readiness_problem([auth(used=2)], COV, NOV_20, "90837", _use(2)) is None  # the 2nd of 2
    assert readiness_problem([auth(used=3)], COV, NOV_20, "90837", _use(3)) == "authorization_used_up"
    # A use beyond the count, but uses given back since brought it within: fine.
    assert readiness_problem([auth(used=2)], COV, NOV_20, "90837", _use(3)) is None
    # Staff raised the number authorized: the same use is now within it.
    assert readiness_problem([auth(used=3, authorized=5)], COV, NOV_20, "90837", _use(3)) is None
    # No use recorded: nothing on file, nothing covering the date, or none left.
    assert readiness_problem([], COV, NOV_20, "90837", None) == "authorization_missing"
    assert readiness_problem([auth()], COV, date(2026, 12, 5), "90837", None) == "authorization_expired"
    assert readiness_problem([auth(used=2)], COV, NOV_20, "90837", None) == "authorization_used_up"
    assert readiness_problem([auth()], COV, NOV_20, "90837", None) is None  # a use a crash left out


def test_the_nightly_run_holds_an_insured_session_with_the_reason() -> None:
    facts = ItemFacts(
        session_id="ses_1",
        client_id="cli_1",
        client_name="Ann Client",
        status="completed",
        service_date=NOV_20,
        currency="usd",
        session_amount=12_000,
        not_billed=False,
        cpt_code="90837",
        copay_balance=0,
        fee_balance=0,
        insured=True,
        practice_can_charge=True,
        card_chargeable=True,
        payer_email=True,
        claims_enabled=True,
    )
    assert (assess(facts).state, assess(facts).action) == ("ready", "claim")
    for code, words in (
        ("authorization_used_up", "authorization used up"),
        ("authorization_expired", "authorization expired (none covers the date of service)"),
    ):
        a = assess(replace(facts, authorization=code))
        assert (a.state, a.reasons, a.reason_texts) == ("incomplete", (code,), [words])
    # A self-pay session is not insured: its authorization is never asked about.
    a = assess(replace(facts, insured=False, authorization="authorization_used_up"))
    assert (a.state, a.action) == ("ready", "charge")


def test_readiness_counts_the_sessions_without_a_use_against_what_is_left() -> None:
    # Completed before the authorization was entered: no use recorded. One visit left for two.
    one = auth(authorized=1)
    later = Asked("ses_b", COV, NOV_20, "90837")
    earlier = Asked("ses_a", COV, date(2026, 11, 19), "90837")
    assert readiness_problems([one], [later, earlier], {}) == {
        "ses_a": None,
        "ses_b": "authorization_used_up",
    }
    # A recorded use within the number comes first; the one without takes what is left (none).
    recorded = Usage("ses_b", "cli_1", "auth_a", 1, 1, NOV_20)
    assert readiness_problems([auth(authorized=1, used=1)], [later, earlier], {"ses_b": recorded}) == {
        "ses_a": "authorization_used_up",
        "ses_b": None,
    }
    # Units: 50 minutes take 3 of 4; the next 3 do not fit in the 1 left.
    units = auth(counted="units", authorized=4)
    asked = [Asked(s, COV, NOV_20, None, 50 * 60) for s in ("ses_a", "ses_b")]
    assert readiness_problems([units], asked, {}) == {"ses_a": None, "ses_b": "authorization_used_up"}
    # A no-show is judged but takes nothing.
    no_show = Asked("ses_a", COV, date(2026, 11, 19), "90837", completed=False)
    assert readiness_problems([one], [no_show, later], {}) == {"ses_a": None, "ses_b": None}


def test_a_use_of_a_removed_authorization_is_no_use() -> None:
    removed = auth("auth_a", authorized=1, used=2, status="removed")
    replacement = auth("auth_b", authorized=2)
    uses = {s: Usage(s, "cli_1", "auth_a", 1, n, NOV_20) for n, s in enumerate(("ses_a", "ses_b"), 1)}
    asked = [Asked(s, COV, NOV_20, "90837") for s in ("ses_a", "ses_b")]
    assert readiness_problems([removed, replacement], asked, uses) == {"ses_a": None, "ses_b": None}
    assert readiness_problems([removed], asked, uses) == {
        "ses_a": "authorization_missing",
        "ses_b": "authorization_missing",
    }
