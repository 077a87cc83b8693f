"""The chart of accounts (pure): what each kind posts, for any amount and any starting position."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from therabill.ledger.chart import (
    InsufficientCreditError,
    Line,
    Position,
    application,
    effect,
    lines_for,
)

KINDS_AND_METHODS = [
    ("charge", None),
    ("payment", "card"),
    ("payment", "cash"),
    ("payment", "check"),
    ("payment", "other"),
    ("payment", "insurance"),
    ("credit", "card"),
    ("credit", None),
    ("adjustment", None),
    ("refund", "card"),
    ("chargeback", "card"),
    ("return", None),
]
SIGN = {
    "charge": 1,
    "refund": 1,
    "chargeback": 1,
    "payment": -1,
    "credit": -1,
    "adjustment": -1,
    "return": -1,
}

settled = st.integers(min_value=0, max_value=100_000)
# A position as the ledger keeps them: never both an open receivable and credit.
positions = st.one_of(
    st.builds(Position, receivable=settled, credit=st.just(0)),
    st.builds(Position, receivable=st.just(0), credit=settled),
)


@given(
    kind_method=st.sampled_from(KINDS_AND_METHODS),
    amount=st.integers(min_value=1, max_value=100_000),
    at=positions,
)
def test_every_entry_balances_and_keeps_the_account_sound(kind_method, amount, at):
    kind, method = kind_method
    lines = lines_for(kind, method, amount, at)
    assert sum(line.amount for line in lines) == 0
    assert all(line.amount != 0 for line in lines)
    change = effect(lines)
    after = Position(at.receivable + change.receivable, at.credit + change.credit)
    assert after.receivable >= 0 and after.credit >= 0
    assert change.owed == SIGN[kind] * amount  # what is owed moves by the amount, its way
    if kind != "charge":  # a charge's credit is applied by its own application entry
        assert after.receivable == 0 or after.credit == 0


def test_a_payment_beyond_what_is_due_becomes_credit():
    lines = lines_for("payment", "check", 5_000, Position(receivable=3_000))
    assert lines == (
        Line(account="cash:check", amount=5_000),
        Line(account="receivable", amount=-3_000),
        Line(account="credit", amount=-2_000),
    )


def test_a_goodwill_credit_comes_from_adjustments_and_a_deposit_from_the_card():
    assert lines_for("credit", None, 100, Position())[0] == Line(account="adjustments", amount=100)
    assert lines_for("credit", "card", 100, Position())[0] == Line(account="cash:card", amount=100)
    with pytest.raises(ValueError, match="method"):
        lines_for("credit", "credit", 100, Position())


def test_a_refund_uses_credit_first_then_reopens_the_receivable():
    assert lines_for("refund", "card", 500, Position(credit=200)) == (
        Line(account="credit", amount=200),
        Line(account="receivable", amount=300),
        Line(account="cash:card", amount=-500),
    )


def test_a_sale_given_back_is_taken_from_its_revenue_not_written_off():
    assert lines_for("return", None, 4_000, Position(receivable=1_000), revenue="revenue:products") == (
        Line(account="revenue:products", amount=4_000),
        Line(account="receivable", amount=-1_000),
        Line(account="credit", amount=-3_000),
    )


def test_credit_applies_up_to_what_is_due_and_what_is_held():
    assert application(8_000, Position(receivable=8_000, credit=5_000)) == 5_000
    assert application(1_000, Position(receivable=1_000, credit=5_000)) == 1_000
    assert application(1_000, Position(receivable=1_000)) == 0
    assert lines_for("payment", "credit", 100, Position(receivable=100, credit=100)) == (
        Line(account="credit", amount=100),
        Line(account="receivable", amount=-100),
    )
    with pytest.raises(InsufficientCreditError):
        lines_for("payment", "credit", 101, Position(receivable=500, credit=100))


@pytest.mark.parametrize("amount", [0, -1])
def test_amounts_are_positive(amount):
    with pytest.raises(ValueError, match="positive"):
        lines_for("charge", None, amount, Position())


@pytest.mark.parametrize(("method", "source"), [(None, "adjustments"), ("other", "cash:other")])
def test_a_staff_credit_taken_back_takes_only_credit_on_hand(method, source):
    lines = lines_for("credit_reversal", method, 3_000, Position(credit=5_000))
    assert {line.account: line.amount for line in lines} == {"credit": 3_000, source: -3_000}
    assert effect(lines) == Position(receivable=0, credit=-3_000)
    with pytest.raises(InsufficientCreditError):
        lines_for("credit_reversal", method, 3_001, Position(credit=3_000))
