"""The 271 told as the product shows it (pure): accumulators by coverage level and network with
total and remaining, visit limits from EB and HSD, coinsurance as exact text, the copay taken to
the coverage, plan dates and the network status. Values worked out from the benefits given."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from therabill.eligibility import summary
from therabill.eligibility.inquiry import service_types
from therabill.eligibility.models import EligibilityCheck
from therabill.x12.eligibility.benefits import Benefit, Eligibility, ServiceDelivery
from therabill.x12.eligibility.rejections import Rejection
from therabill.x12.values import DateRange


def eb(kind: str, codes: tuple[str, ...] = ("30",), **fields: Any) -> Benefit:
    base: dict[str, Any] = {
        "position": 0,
        "kind": kind,
        "coverage_level": "IND",
        "service_types": codes,
        "insurance_type": "",
        "plan_description": "",
        "time_period": "",
        "amount": None,
        "percent": None,
        "quantity_qualifier": "",
        "quantity": None,
        "authorization_required": None,
        "network": "",
        "procedure": (),
    }
    return Benefit(**{**base, **fields})


def answer(*benefits: Benefit, dates: tuple[tuple[str, DateRange], ...] = (), **fields: Any) -> Eligibility:
    base: dict[str, Any] = {
        "payer_name": "P",
        "payer_id": "P1",
        "patient_is_dependent": False,
        "member_id": "M",
        "group_number": "",
        "trace_numbers": (),
        "dates": dates,
        "benefits": benefits,
        "rejections": (),
    }
    return Eligibility(**{**base, **fields})


PLAN = answer(
    eb("1", plan_description="GOLD PPO"),
    eb("C", time_period="23", amount=150_000, network="Y"),
    eb("C", time_period="29", amount=120_000, network="Y"),
    eb("C", coverage_level="FAM", time_period="23", amount=300_000, network="N"),
    eb("G", time_period="23", amount=500_000, network="Y"),
    eb("B", ("MH",), time_period="27", amount=3_000, network="N"),
    eb("B", ("MH",), time_period="27", amount=2_000, network="Y"),
    eb("A", ("MH",), percent=Decimal("12.50"), network="Y"),
    eb("F", ("MH",), time_period="23", quantity_qualifier="VS", quantity=Decimal(20), network="Y"),
    eb("F", ("MH",), time_period="29", quantity_qualifier="VS", quantity=Decimal(3), network="Y"),
    eb("F", ("PT",), deliveries=(ServiceDelivery("VS", Decimal(12), "", "22", None),)),
    eb("1", ("MH",), authorization_required=True, network="Y"),
    dates=(
        ("346", DateRange(date(2026, 1, 1), date(2026, 1, 1))),
        ("347", DateRange(date(2026, 12, 31), date(2026, 12, 31))),
    ),
)


def test_deductibles_and_out_of_pocket_by_level_and_network_with_total_and_remaining() -> None:
    mh = summary.service_benefits(PLAN, "MH")  # stated once, for the plan (30): taken for MH too
    deductibles = {(a.level, a.network): (a.total, a.remaining) for a in mh.deductibles}
    assert deductibles == {("individual", "in"): (150_000, 120_000), ("family", "out"): (300_000, None)}
    assert [(a.level, a.network, a.total) for a in mh.out_of_pocket] == [("individual", "in", 500_000)]


def test_copays_coinsurance_visits_and_prior_authorization_of_one_service_type() -> None:
    mh = summary.service_benefits(PLAN, "MH")
    assert [(c.network, c.amount) for c in mh.copays] == [("in", 2_000), ("out", 3_000)]
    assert [(c.network, c.percent) for c in mh.coinsurance] == [("in", "12.5")]  # exact, no float
    assert [(v.network, v.limit, v.remaining) for v in mh.visit_limits] == [("in", 20, 3)]
    assert (mh.active, mh.prior_authorization_required, mh.name) == (True, True, "Mental Health")
    pt = summary.service_benefits(PLAN, "PT")
    assert [(v.network, v.limit, v.remaining) for v in pt.visit_limits] == [("not_stated", 12, None)]  # HSD
    plan = summary.service_benefits(PLAN, "30")
    assert plan.copays == () and plan.prior_authorization_required is None


def test_the_copay_found_is_the_disciplines_in_network_one_else_the_plans() -> None:
    assert summary.copay_found(PLAN, ("30", "MH", "A6")) == 2_000
    assert summary.copay_found(PLAN, ("30", "PT")) is None  # no in-network copay for PT or 30
    plan_copay = answer(eb("B", amount=4_000, network="W"))
    assert summary.copay_found(plan_copay, ("30", "AF")) == 4_000


def test_only_a_whole_in_network_coinsurance_percentage_goes_to_the_coverage() -> None:
    def check(plan: Eligibility, status: str = "active") -> EligibilityCheck:
        services = tuple(summary.service_benefits(plan, code) for code in ("30", "MH"))
        return EligibilityCheck(
            id="elg_1",
            client_id="cli_1",
            coverage_id="cov_1",
            payer_id="P1",
            date_of_service=date(2026, 12, 4),
            checked_at=datetime(2026, 12, 4, tzinfo=UTC),
            trigger="staff",
            status=status,  # type: ignore[arg-type]
            services=services,
            document_key="k",
        )

    assert summary.coinsurance_found(check(PLAN)) is None  # 12.5%: kept on the check only
    whole = answer(
        eb("A", ("MH",), percent=Decimal(30), network="Y"), eb("A", percent=Decimal(10), network="Y")
    )
    assert summary.coinsurance_found(check(whole)) == 30  # the discipline's before the plan's
    assert summary.coinsurance_found(check(whole, "inactive")) is None


def test_plan_dates_network_status_and_rejections() -> None:
    begin, end = summary.plan_dates(PLAN)
    assert (begin and begin.start, end and end.end) == (date(2026, 1, 1), date(2026, 12, 31))
    ranged = answer(dates=(("291", DateRange(date(2026, 3, 1), date(2027, 2, 28))),))
    assert summary.plan_dates(ranged) == (DateRange(date(2026, 3, 1), date(2027, 2, 28)),) * 2
    assert summary.network_status(PLAN) == "in_network"
    assert summary.network_status(answer(eb("B", amount=1, network="N"))) == "out_of_network"
    assert summary.network_status(answer(eb("1"))) == "not_stated"
    rejected = answer(rejections=(Rejection("2100C", "72", "C", True),))
    [reason] = summary.rejections(rejected)
    assert (reason.code, reason.about, reason.retry_later) == ("72", "subscriber", False)
    assert reason.next_step.startswith("Check the member id on the insurance card")


def test_the_service_types_follow_the_billing_providers_taxonomy() -> None:
    assert service_types("225X00000X") == ("30", "AD")  # an occupational therapist
    assert service_types("235Z00000X") == ("30", "AF")  # a speech-language pathologist
    assert service_types("101YM0800X") == ("30", "MH", "A6", "A4", "CF", "CH")  # a mental health counselor
    assert service_types("193400000X") == (
        "30",
        "MH",
        "A6",
        "AD",
        "PT",
        "AE",
        "AF",
    )  # a group: every discipline
