"""The 271 reader: every shared 271 with the values read by hand from the file, and a hand-written
271 with every benefit kind a therapy practice needs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.unit.x12.conftest import shared_file
from therabill.x12.eligibility.benefits import CoverageStatus, ServiceDelivery
from therabill.x12.eligibility.rejections import Rejection
from therabill.x12.eligibility.response import read_271
from therabill.x12.errors import X12UnreadableError
from therabill.x12.problems import ProblemKind
from therabill.x12.reader import read
from therabill.x12.throughput import read_271_copies
from therabill.x12.values import DateRange

MH_AND_MORE = ("1", "33", "35", "47", "86", "88", "98", "AL", "MH", "UC")


def _day(text: str) -> DateRange:
    day = date.fromisoformat(text)
    return DateRange(day, day)


def test_the_tr3_subscriber_response() -> None:
    response = read_271(shared_file("271", "lfh_tr3_subscriber_benefits_copay.271"))
    assert response.problems == ()
    result = response.only
    assert result.status is CoverageStatus.ACTIVE
    assert (result.payer_name, result.payer_id) == ("ABC COMPANY", "841610001")
    assert (result.member_id, result.patient_is_dependent) == ("123456789", False)
    assert result.trace_numbers == ("93175-012547",)
    assert result.plan_name == "GOLD 123 PLAN"
    assert result.date("346") == _day("2006-01-01")
    assert result.date("347") is None
    assert result.service_types == ("30", *MH_AND_MORE)
    mental_health = result.service("MH")
    assert mental_health.name == "Mental Health"
    assert mental_health.active is True
    assert (mental_health.copay("Y"), mental_health.copay("N")) == (1000, 3000)
    [inside, outside] = mental_health.copays
    assert (inside.insurance_type, inside.plan_description, inside.time_period) == (
        "HM",
        "GOLD 123 PLAN",
        "27",
    )
    assert (inside.network_name, outside.network_name) == ("in network", "out of network")
    assert inside.service_types == MH_AND_MORE
    assert mental_health.prior_authorization_required is None
    assert result.service("A6").benefits == ()
    [pcp] = [b for b in result.benefits if b.kind == "L"]
    assert pcp.related_entities == ("P3",)
    assert result.rejections == ()


def test_the_tr3_dependent_response() -> None:
    response = read_271(shared_file("271", "lfh_tr3_dependent_benefits_copay.271"))
    assert response.problems == ()
    result = response.only
    assert result.patient_is_dependent is True
    assert result.member_id == "123456789"  # the subscriber's, which the dependent is covered under
    assert result.status is CoverageStatus.ACTIVE
    assert result.date("346") == _day("2006-01-01")
    assert (result.service("MH").copay("Y"), result.service("MH").copay("N")) == (1000, 3000)


def test_the_calendar_year_copay() -> None:
    response = read_271(shared_file("271", "kh_synthetic_active_copay_eb_b.271"))
    result = response.only
    assert result.status is CoverageStatus.ACTIVE
    assert result.plan_name is None
    [copay] = result.service("30").copays
    assert (copay.amount, copay.time_period, copay.time_period_name, copay.remaining) == (
        500,
        "23",
        "Calendar Year",
        False,
    )
    assert copay.network == "" and copay.network_name == "not stated"
    assert copay.dates == (("291", _day("2026-04-12")),)
    assert result.service("30").copay("Y") == 500  # no network stated: it applies to both
    assert [p.kind for p in response.problems] == [ProblemKind.FUNCTIONAL_ID]


def test_the_invalid_member_id_rejection() -> None:
    result = read_271(shared_file("271", "kh_synthetic_rejected_aaa72.271")).only
    assert result.status is CoverageStatus.REJECTED
    assert result.rejections == (Rejection("2100C", "72", "C", False),)
    [rejection] = result.rejections
    assert rejection.explanation == "Invalid or missing subscriber member id"
    assert "member id on the insurance card" in rejection.next_step
    assert (rejection.about, rejection.follow_up_text, rejection.retry_later) == (
        "subscriber",
        "Please correct and resubmit",
        False,
    )
    assert result.benefits == ()


def test_the_provider_level_rejection() -> None:
    response = read_271(shared_file("271", "lfh_tr3_error_aaa_2100b.271"))
    result = response.only
    assert result.status is CoverageStatus.REJECTED
    assert result.rejections == (Rejection("2100B", "50", "N", True),)
    assert result.rejections[0].explanation == "Provider ineligible for inquiries"
    assert result.rejections[0].about == "provider"
    assert result.payer_id == "842610001"
    assert [(p.kind, p.position, p.element) for p in response.problems] == [
        (ProblemKind.CONTROL_NUMBER_MISMATCH, 10, 2)  # SE02 4323, ST02 4321
    ]


def test_the_component_separator_mismatch_is_refused() -> None:
    with pytest.raises(X12UnreadableError) as raised:
        read_271(shared_file("271", "mjk_demo_gt_component_mismatch.271"))
    assert [(p.position, p.segment_id, p.element) for p in raised.value.problems] == [
        (18, "EB", 3),
        (19, "EB", 3),
        (20, "EB", 3),
    ]
    assert "SMITH" not in str(raised.value.details) and "123456789" not in str(raised.value.details)


ISA = (
    "ISA*00*          *00*          *ZZ*CLEARHOUSE     *ZZ*THERABILL      "
    "*261204*1430*^*00501*000000077*0*T*:~"
)


def _271(*lines: str) -> bytes:
    body = ["ST*271*0001*005010X279A1", "BHT*0022*11*ELG-1*20261204*1430", *lines]
    body.append(f"SE*{len(body) + 1}*0001")
    envelope = [
        "GS*HB*CLEARHOUSE*THERABILL*20261204*1430*77*X*005010X279A1",
        *body,
        "GE*1*77",
        "IEA*1*000000077",
    ]
    return (ISA + "\n" + "~\n".join(envelope) + "~\n").encode()


SOURCE = [
    "HL*1**20*1",
    "NM1*PR*2*ACME HEALTH*****PI*60054",
    "HL*2*1*21*1",
    "NM1*1P*2*CALM MINDS*****XX*1234567893",
]
THERAPY = _271(
    *SOURCE,
    "HL*3*2*22*0",
    "TRN*2*ELG-1*1234567890",
    "NM1*IL*1*DOE*JANE****MI*W99887766",
    "REF*6P*GRP001*ACME EMPLOYER",
    "DMG*D8*19850214*F",
    "DTP*356*D8*20260101",
    "DTP*357*D8*20261231",
    "EB*1*IND*30*PS*ACME PPO GOLD",
    "EB*1**MH^A6",
    "EB*B*IND*MH^A6*PS**27*25.00*****Y",
    "EB*B*IND*MH^A6*PS**27*60*****N",
    "EB*A*IND*MH^A6*PS**27**0.2****N",
    "EB*C*IND*30*PS**23*1500.00*****Y",
    "EB*C*IND*30*PS**29*1234.56*****Y",
    "EB*C*FAM*30*PS**23*3000*****Y",
    "EB*G*IND*30*PS**23*5000.00*****Y",
    "EB*G*IND*30*PS**29*4100.5*****Y",
    "EB*F*IND*A6*PS**23***VS*30*Y*Y",
    "EB*F*IND*A6*PS**29***VS*22",
    "MSG*VISIT LIMIT SHARED WITH OUTPATIENT MENTAL HEALTH",
    "EB*F*IND*AD",
    "HSD*VS*20***22*1",
    "EB*B*IND*AD*PS**27*40.00****Y*Y",
    "DTP*292*RD8*20260101-20261231",
    "EB*I**A4",
    "EB*V**AF",
    "AAA*N**53*C",
)


def test_every_benefit_kind_a_therapy_practice_needs() -> None:
    response = read_271(THERAPY)
    assert response.problems == ()
    result = response.only
    assert (result.status, result.plan_name, result.group_number) == (
        CoverageStatus.ACTIVE,
        "ACME PPO GOLD",
        "GRP001",
    )
    assert (result.date("356"), result.date("357")) == (_day("2026-01-01"), _day("2026-12-31"))
    assert result.named_dates == {
        "Eligibility Begin": _day("2026-01-01"),
        "Eligibility End": _day("2026-12-31"),
    }
    mental_health = result.service("MH")
    assert (mental_health.copay("Y"), mental_health.copay("N")) == (2500, 6000)
    [coinsurance] = mental_health.coinsurance
    assert (coinsurance.percent, coinsurance.network, coinsurance.amount) == (Decimal(20), "N", None)
    plan = result.service("30")
    assert [(b.coverage_level, b.time_period, b.amount, b.remaining) for b in plan.deductibles] == [
        ("IND", "23", 150000, False),
        ("IND", "29", 123456, True),
        ("FAM", "23", 300000, False),
    ]
    assert [(b.time_period_name, b.amount) for b in plan.out_of_pocket] == [
        ("Calendar Year", 500000),
        ("Remaining", 410050),
    ]


def test_visit_limits_prior_authorization_and_plan_defaults() -> None:
    result = read_271(THERAPY).only
    psychotherapy = result.service("A6")
    assert [
        (b.quantity_qualifier, b.quantity, b.time_period, b.remaining) for b in psychotherapy.limitations
    ] == [
        ("VS", Decimal(30), "23", False),
        ("VS", Decimal(22), "29", True),
    ]
    assert psychotherapy.limitations[1].messages == ("VISIT LIMIT SHARED WITH OUTPATIENT MENTAL HEALTH",)
    assert psychotherapy.prior_authorization_required is True
    assert result.service("MH").prior_authorization_required is None
    occupational = result.service("AD")
    assert occupational.name == "Occupational Therapy"
    [limit] = occupational.limitations
    assert limit.deliveries == (ServiceDelivery("VS", Decimal(20), "", "22", Decimal(1)),)
    assert (occupational.copay("Y"), occupational.prior_authorization_required) == (4000, True)
    assert occupational.copays[0].dates == (("292", DateRange(date(2026, 1, 1), date(2026, 12, 31))),)
    assert result.service("A4").active is False
    # The deductible is stated once for the plan; the MH view with the plan's defaults has it.
    assert result.service("MH").deductibles == ()
    with_plan = result.service_with_plan("MH")
    assert [b.amount for b in with_plan.deductibles] == [150000, 123456, 300000]
    assert (with_plan.copay("Y"), with_plan.active) == (2500, True)


def test_a_benefit_level_rejection_leaves_the_coverage_active() -> None:
    result = read_271(THERAPY).only
    assert result.rejections == (Rejection("2110C", "53", "C", False),)
    assert result.status is CoverageStatus.ACTIVE
    assert result.service("AF").benefits[0].kind_name == "Cannot Process"


def test_a_payer_that_cannot_respond_now_is_retried_later() -> None:
    result = read_271(_271("HL*1**20*0", "NM1*PR*2*ACME HEALTH*****PI*60054", "AAA*Y**42*R")).only
    assert result.status is CoverageStatus.REJECTED
    [rejection] = result.rejections
    assert (rejection.loop, rejection.about, rejection.retry_later) == ("2100A", "payer", True)
    assert "retry later" in rejection.next_step


def test_each_dependent_is_a_result_of_its_own() -> None:
    data = _271(
        *SOURCE,
        "HL*3*2*22*1",
        "NM1*IL*1*DOE*JOHN****MI*W555",
        "HL*4*3*23*0",
        "TRN*2*ELG-2*1234567890",
        "NM1*03*1*DOE*ANN",
        "EB*1**30",
        "HL*5*3*23*0",
        "TRN*2*ELG-3*1234567890",
        "NM1*03*1*DOE*BEN",
        "AAA*N**58*C",
        "EB*6**30",
    )
    response = read_271(data)
    assert response.problems == ()
    first, second = response.results
    assert (first.patient_is_dependent, first.member_id, first.trace_numbers, first.status) == (
        True,
        "W555",
        ("ELG-2",),
        CoverageStatus.ACTIVE,
    )
    assert (second.trace_numbers, second.status) == (("ELG-3",), CoverageStatus.INACTIVE)
    assert second.rejections == (Rejection("2100D", "58", "C", False),)


def test_a_bad_amount_is_a_problem_by_position_not_by_value() -> None:
    response = read_271(_271(*SOURCE, "HL*3*2*22*0", "NM1*IL*1*DOE*JANE****MI*W1", "EB*B**30***23*12.345"))
    [copay] = response.only.service("30").copays
    assert copay.amount is None
    [problem] = response.problems
    assert (problem.kind, problem.position, problem.segment_id, problem.element) == (
        ProblemKind.BAD_VALUE,
        11,  # ISA, GS, ST, BHT, 3 x (HL, NM1), EB
        "EB",
        7,
    )
    assert "12.345" not in problem.detail


def test_the_bench_hook_reads_n_copies() -> None:
    assert read_271_copies(THERAPY, 3) == 3


def test_reprs_carry_no_health_information() -> None:
    result = read_271(shared_file("271", "lfh_tr3_subscriber_benefits_copay.271")).only
    assert "123456789" not in repr(result)
    member = read(shared_file("271", "lfh_tr3_subscriber_benefits_copay.271")).segments[10]
    assert member.get(9) == "123456789"
    assert repr(member) == "Segment(NM1 at 11, 9 elements)"
