"""Split billing rules: validation and the integer split."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from therabill.clients.responsibility import (
    Responsibility,
    RuleError,
    RuleSet,
    Share,
    rule_for,
    split,
    validate,
)

CLI, MOM, DAD = "cli_1", "con_mom", "con_dad"
PAYERS = {CLI, MOM, DAD}


def resp(*rules: RuleSet) -> Responsibility:
    return Responsibility(
        client_id=CLI, rules=rules, updated_at=datetime(2031, 1, 1, tzinfo=UTC), updated_by="u", version=1
    )


def test_sixty_percent_and_the_rest():
    rules = resp(
        RuleSet(shares=(Share(owner_id=MOM, type="percent", value=6000), Share(owner_id=DAD, type="rest")))
    )
    assert split(2_500, rules, "copay") == [(MOM, 1_500), (DAD, 1_000)]
    assert split(1, rules, "copay") == [(MOM, 0), (DAD, 1)]


def test_fixed_first_capped_then_the_rest():
    rules = resp(
        RuleSet(shares=(Share(owner_id=CLI, type="rest"), Share(owner_id=MOM, type="fixed", value=2_000)))
    )
    assert split(2_500, rules, "copay") == [(CLI, 500), (MOM, 2_000)]
    assert split(1_500, rules, "copay") == [(CLI, 0), (MOM, 1_500)]


def test_percents_without_rest_give_the_rounding_to_the_first_percent():
    rules = resp(
        RuleSet(
            shares=(
                Share(owner_id=MOM, type="percent", value=3333),
                Share(owner_id=DAD, type="percent", value=6667),
            )
        )
    )
    assert split(100, rules, "copay") == [(MOM, 34), (DAD, 66)]


def test_per_kind_rules_and_the_catch_all():
    fee = RuleSet(kinds=("cancellation_fee",), shares=(Share(owner_id=CLI, type="rest"),))
    other = RuleSet(shares=(Share(owner_id=MOM, type="rest"),))
    rules = resp(fee, other)
    assert rule_for(rules.rules, "cancellation_fee") == fee
    assert split(900, rules, "cancellation_fee") == [(CLI, 900)]
    assert split(900, rules, "copay") == [(MOM, 900)]
    only_fee = resp(fee)
    assert split(900, only_fee, "copay") == [(CLI, 900)]


@pytest.mark.parametrize(
    "rules",
    [
        [],
        [RuleSet(shares=())],
        [RuleSet(shares=(Share(owner_id=MOM, type="percent", value=5000),))],
        [RuleSet(shares=(Share(owner_id=MOM, type="rest"), Share(owner_id=DAD, type="rest")))],
        [RuleSet(shares=(Share(owner_id=MOM, type="rest"), Share(owner_id=MOM, type="fixed", value=5)))],
        [RuleSet(shares=(Share(owner_id="con_other", type="rest"),))],
        [
            RuleSet(
                shares=(Share(owner_id=MOM, type="rest"), Share(owner_id=DAD, type="percent", value=10_001))
            )
        ],
        [RuleSet(shares=(Share(owner_id=MOM, type="rest", value=5),))],
        [RuleSet(shares=(Share(owner_id=MOM, type="fixed"), Share(owner_id=DAD, type="rest")))],
        [RuleSet(shares=(Share(owner_id=MOM, type="fixed", value=0), Share(owner_id=DAD, type="rest")))],
        [
            RuleSet(shares=(Share(owner_id=MOM, type="rest"),)),
            RuleSet(shares=(Share(owner_id=DAD, type="rest"),)),
        ],
        [
            RuleSet(kinds=("copay",), shares=(Share(owner_id=MOM, type="rest"),)),
            RuleSet(kinds=("copay",), shares=(Share(owner_id=DAD, type="rest"),)),
        ],
    ],
)
def test_invalid_rules_are_refused(rules):
    with pytest.raises(RuleError):
        validate(rules, PAYERS)


share_st = st.one_of(
    st.builds(Share, owner_id=st.just(""), type=st.just("fixed"), value=st.integers(1, 10**7)),
    st.builds(Share, owner_id=st.just(""), type=st.just("percent"), value=st.integers(1, 10_000)),
)


@st.composite
def rule_sets(draw):
    shares = draw(st.lists(share_st, max_size=4))
    named = [s.model_copy(update={"owner_id": f"con_{i}"}) for i, s in enumerate(shares)]
    percents = sum(s.value or 0 for s in named if s.type == "percent")
    if percents > 10_000:
        named = [s for s in named if s.type == "fixed"] + [Share(owner_id=CLI, type="rest")]
    elif draw(st.booleans()):
        named.append(Share(owner_id=CLI, type="rest"))
    elif percents < 10_000:
        named.append(Share(owner_id=CLI, type="percent", value=10_000 - percents))
    return RuleSet(shares=tuple(named))


@given(amount=st.integers(0, 10**9), rule=rule_sets())
def test_parts_are_non_negative_and_sum_to_the_amount(amount, rule):
    validate([rule], {CLI} | {s.owner_id for s in rule.shares})
    parts = split(amount, resp(rule), "copay")
    assert all(part >= 0 for _, part in parts)
    assert sum(part for _, part in parts) == amount
    assert [owner for owner, _ in parts] == [s.owner_id for s in rule.shares]
