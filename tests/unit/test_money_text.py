"""The demos print money one way: the ISO code, then the amount with two decimals; a balance says
whether it is owed or held as credit."""

from __future__ import annotations

from devstack.money_text import balance, money, signed


def test_money_reads_as_the_code_then_the_amount() -> None:
    assert money(2500) == "USD 25.00"
    assert money(123456789, "eur") == "EUR 1,234,567.89"
    assert money(-5) == "-USD 0.05"


def test_a_change_carries_its_sign() -> None:
    assert signed(2500) == "+USD 25.00"
    assert signed(-2500) == "-USD 25.00"


def test_a_balance_says_which_way_it_goes() -> None:
    assert balance(2500) == "USD 25.00 owed"
    assert balance(-1000) == "USD 10.00 in credit"
    assert balance(0) == "nothing owed (USD 0.00)"
