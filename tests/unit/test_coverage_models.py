"""The one notion of insured (``coverage.models.standing``) and a coverage's own rules."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from therabill.coverage.models import Coverage, Payer, normalise_payer_id, standing

AT = datetime(2026, 1, 1, tzinfo=UTC)


def cov(**over: Any) -> Coverage:
    fields: dict[str, Any] = {
        "id": "cov_01",
        "client_id": "cli_01",
        "rank": "primary",
        "payer": Payer(id="60054", name="Aetna"),
        "created_at": AT,
        "version": 1,
        **over,
    }
    return Coverage(**fields)


DAY = date(2026, 11, 20)


def test_insured_needs_the_billing_type_and_a_primary_in_force_that_day() -> None:
    primary = cov(copay_override=2_500, effective_date=date(2026, 1, 1), end_date=DAY)
    assert standing("insurance", [primary], DAY).insured
    assert standing("insurance", [primary], DAY).copay == 2_500
    assert not standing("self_pay", [primary], DAY).insured
    assert standing("self_pay", [primary], DAY).copay is None  # a self-pay client has no copay
    assert not standing("not_billed", [primary], DAY).insured
    assert not standing("insurance", [], DAY).insured
    assert not standing("insurance", [primary], date(2026, 11, 21)).insured  # ended the day before
    assert not standing("insurance", [primary], date(2025, 12, 31)).insured  # not yet begun
    assert not standing("insurance", [cov(rank="secondary")], DAY).insured  # a secondary alone
    assert not standing("insurance", [cov(status="removed")], DAY).insured


def test_staffs_values_win_over_what_was_found() -> None:
    c = cov(
        copay_found=3_000, copay_override=2_500, coinsurance_found=20, forbids_cancellation_fees_found=True
    )
    assert (c.copay_amount, c.coinsurance_percent, c.forbids_cancellation_fees) == (2_500, 20, True)
    c = cov(copay_found=3_000, forbids_cancellation_fees_found=True, forbids_cancellation_fees_override=False)
    assert (c.copay_amount, c.forbids_cancellation_fees) == (3_000, False)
    assert cov().forbids_cancellation_fees is False


def test_any_coverage_in_force_that_forbids_fees_waives_them() -> None:
    medicaid = cov(rank="secondary", forbids_cancellation_fees_override=True)
    assert standing("insurance", [cov(), medicaid], DAY).forbids_fees
    assert standing("self_pay", [medicaid], DAY).forbids_fees  # the payer's rule protects its member
    ended = cov(forbids_cancellation_fees_override=True, end_date=date(2026, 1, 31))
    assert not standing("insurance", [ended], DAY).forbids_fees


def test_overlap_is_the_same_rank_over_a_common_day() -> None:
    jan_jun = cov(effective_date=date(2026, 1, 1), end_date=date(2026, 6, 30))
    assert jan_jun.overlaps(cov(id="cov_02", effective_date=date(2026, 6, 30)))
    assert not jan_jun.overlaps(cov(id="cov_02", effective_date=date(2026, 7, 1)))
    assert not jan_jun.overlaps(cov(id="cov_02", rank="secondary"))
    assert cov().overlaps(cov(id="cov_02", end_date=date(2020, 1, 1)))  # open-ended both ways
    assert not jan_jun.overlaps(cov(id="cov_02", status="removed"))


@pytest.mark.parametrize(("raw", "normal"), [("60054", "60054"), (" sb580 ", "SB580"), ("AB", "AB")])
def test_payer_ids_are_normalised(raw: str, normal: str) -> None:
    assert normalise_payer_id(raw) == normal


@pytest.mark.parametrize("raw", ["A", "ABCDEFGHIJK", "AB-12", "", "60 054"])
def test_bad_payer_ids_are_refused_without_the_value(raw: str) -> None:
    with pytest.raises(ValueError, match="2 to 10 letters or digits") as info:
        normalise_payer_id(raw)
    assert not raw.strip() or raw.strip() not in str(info.value)
