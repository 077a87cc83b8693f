import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from therabill.core.ids import derived_id, is_id, new_id
from therabill.core.money import CurrencyMismatchError, Money


def test_money_is_integer_minor_units_only():
    with pytest.raises(ValidationError):
        Money(amount=12.5, currency="usd")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Money(amount="1250", currency="usd")  # type: ignore[arg-type]


def test_currency_is_normalised_and_checked():
    assert Money(amount=1, currency="USD").currency == "usd"
    with pytest.raises(ValidationError):
        Money(amount=1, currency="dollars")


def test_adding_different_currencies_is_refused():
    with pytest.raises(CurrencyMismatchError):
        Money(amount=1, currency="usd") + Money(amount=1, currency="eur")


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (1250, "usd", "USD 12.50"),
        (5, "usd", "USD 0.05"),
        (-1999, "eur", "-EUR 19.99"),
        (500, "jpy", "JPY 500"),
        (1500, "kwd", "KWD 1.500"),
        (250, "isk", "ISK 250"),
    ],
)
def test_format_is_exact(amount, currency, text):
    assert Money(amount=amount, currency=currency).format() == text


@given(st.integers(-(10**12), 10**12), st.integers(-(10**12), 10**12))
def test_addition_is_exact(a, b):
    total = Money(amount=a, currency="usd") + Money(amount=b, currency="usd")
    assert total.amount == a + b
    assert (total - Money(amount=b, currency="usd")).amount == a


def test_ids_sort_by_creation_and_carry_their_kind():
    first, second = new_id("pay", 1_000), new_id("pay", 2_000)
    assert first < second
    assert is_id(first, "pay") and not is_id(first, "cli")


def test_derived_ids_are_deterministic_and_distinct():
    assert derived_id("pay", "prc_1", "key") == derived_id("pay", "prc_1", "key")
    assert derived_id("pay", "prc_1", "key") != derived_id("pay", "prc_2", "key")
    assert is_id(derived_id("pay", "a", "b"), "pay")
