"""What a booking must pay (bookings/models.py, pure): the rules' shapes, their precedence and the
amount due, integer math only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from therabill.bookings.models import (
    BookingRequirement,
    BookingSettings,
    ClientBookingRule,
    ServiceBookingRule,
    amount_due,
    decide,
)
from therabill.core.money import Money

NOW = datetime(2026, 11, 23, tzinfo=UTC)
DEPOSIT_FLAT = BookingRequirement(kind="deposit", deposit_amount=2_500)
DEPOSIT_HALF = BookingRequirement(kind="deposit", deposit_percent_bps=5_000)
PREPAY = BookingRequirement(kind="prepayment")
CARD = BookingRequirement(kind="card_on_file")
NONE = BookingRequirement(kind="none")


def _service(
    rule: BookingRequirement | None = None, first: BookingRequirement | None = None
) -> ServiceBookingRule:
    return ServiceBookingRule(service_id="svc_1", rule=rule, first_visit=first, updated_at=NOW)


def _client(rule: BookingRequirement) -> ClientBookingRule:
    return ClientBookingRule(client_id="cli_1", rule=rule, updated_at=NOW)


@pytest.mark.parametrize(
    "raw",
    [
        {"kind": "deposit"},
        {"kind": "deposit", "deposit_amount": 100, "deposit_percent_bps": 100},
        {"kind": "prepayment", "deposit_amount": 100},
        {"kind": "none", "deposit_percent_bps": 100},
        {"kind": "deposit", "deposit_percent_bps": 10_001},
        {"kind": "deposit", "deposit_amount": 0},
        {"kind": "deposit", "deposit_amount": "100"},
        {"kind": "layaway"},
        {"kind": "none", "extra": 1},
    ],
)
def test_malformed_requirements_are_refused(raw: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        BookingRequirement.model_validate(raw)


def test_precedence_client_over_first_visit_over_service() -> None:
    settings = BookingSettings(first_visit=PREPAY)

    assert (
        decide(
            settings=settings,
            service_rule=_service(DEPOSIT_FLAT),
            client_rule=_client(CARD),
            first_visit=True,
            insured=False,
        ).source
        == "client"
    )
    first = decide(
        settings=settings,
        service_rule=_service(DEPOSIT_FLAT),
        client_rule=None,
        first_visit=True,
        insured=False,
    )
    assert (first.requirement, first.source) == (PREPAY, "first_visit_practice")
    later = decide(
        settings=settings,
        service_rule=_service(DEPOSIT_FLAT),
        client_rule=None,
        first_visit=False,
        insured=False,
    )
    assert (later.requirement, later.source) == (DEPOSIT_FLAT, "service")


def test_the_services_first_visit_rule_beats_the_practices() -> None:
    decision = decide(
        settings=BookingSettings(first_visit=PREPAY),
        service_rule=_service(DEPOSIT_FLAT, first=DEPOSIT_HALF),
        client_rule=None,
        first_visit=True,
        insured=False,
    )

    assert (decision.requirement, decision.source) == (DEPOSIT_HALF, "first_visit_service")


def test_no_rule_at_all_is_nothing() -> None:
    decision = decide(
        settings=BookingSettings(), service_rule=None, client_rule=None, first_visit=True, insured=False
    )

    assert (decision.requirement.kind, decision.source) == ("none", "default")


def test_a_client_override_of_none_waives_every_other_rule() -> None:
    decision = decide(
        settings=BookingSettings(first_visit=PREPAY),
        service_rule=_service(DEPOSIT_FLAT),
        client_rule=_client(NONE),
        first_visit=True,
        insured=False,
    )

    assert decision.requirement.kind == "none"


@pytest.mark.parametrize("rule", [DEPOSIT_FLAT, PREPAY])
def test_insured_clients_pay_no_deposit_or_prepayment(rule: BookingRequirement) -> None:
    decision = decide(
        settings=BookingSettings(),
        service_rule=_service(rule),
        client_rule=None,
        first_visit=False,
        insured=True,
    )

    assert (decision.requirement.kind, decision.source) == ("none", "insured")


@pytest.mark.parametrize("rule", [DEPOSIT_FLAT, PREPAY])
def test_a_rule_set_on_an_insured_client_themself_applies(rule: BookingRequirement) -> None:
    decision = decide(
        settings=BookingSettings(),
        service_rule=None,
        client_rule=_client(rule),
        first_visit=False,
        insured=True,
    )

    assert (decision.requirement, decision.source) == (rule, "client")


def test_insured_clients_still_need_a_card_on_file_when_required() -> None:
    decision = decide(
        settings=BookingSettings(),
        service_rule=_service(CARD),
        client_rule=None,
        first_visit=False,
        insured=True,
    )

    assert decision.requirement.kind == "card_on_file"


def test_amounts_due() -> None:
    price = Money(amount=12_345, currency="usd")

    assert amount_due(PREPAY, price) == price
    assert amount_due(DEPOSIT_FLAT, price).amount == 2_500
    assert amount_due(DEPOSIT_HALF, price).amount == 6_173  # 6172.5 rounds half up
    assert amount_due(BookingRequirement(kind="deposit", deposit_amount=99_999), price) == price  # capped
    assert amount_due(CARD, price).amount == 0 and amount_due(NONE, price).amount == 0


@given(price=st.integers(min_value=0, max_value=10_000_000), bps=st.integers(min_value=1, max_value=10_000))
def test_a_percent_deposit_is_never_more_than_the_price_nor_off_by_more_than_half_a_unit(
    price: int, bps: int
) -> None:
    due = amount_due(
        BookingRequirement(kind="deposit", deposit_percent_bps=bps), Money(amount=price, currency="usd")
    )

    assert 0 <= due.amount <= price
    assert abs(due.amount * 10_000 - price * bps) <= 5_000
