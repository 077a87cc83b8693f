"""The idempotency replay step: nothing yet, the same request again, or a reused key."""

from __future__ import annotations

import pytest

from therabill.core.errors import ConflictError
from therabill.core.replay import replayed


def test_nothing_yet_means_carry_on() -> None:
    assert replayed(None, same=lambda _: False, conflict="used") is None


def test_the_same_request_gets_what_it_made() -> None:
    assert replayed({"amount": 5}, same=lambda x: x["amount"] == 5, conflict="used") == {"amount": 5}


def test_a_reused_key_is_a_conflict_with_its_details() -> None:
    with pytest.raises(ConflictError) as caught:
        replayed({"amount": 5}, same=lambda x: x["amount"] == 6, conflict="used", payment_id="pay_1")
    assert caught.value.message == "used"
    assert caught.value.details == {"payment_id": "pay_1"}
