"""The code lists shipped with the eligibility reader: AAA reasons in plain English with a next
step, service types by name, the therapy disciplines' codes."""

from __future__ import annotations

import pytest

from therabill.x12.eligibility.codes import SERVICE_TYPES, THERAPY_SERVICE_TYPES, service_type_name
from therabill.x12.eligibility.rejections import REASONS, Rejection
from therabill.x12.identifiers import npi_is_valid

STAFF_CODES = [
    "15",
    "41",
    "42",
    "43",
    "50",
    "51",
    "52",
    "56",
    "57",
    "58",
    "62",
    "71",
    "72",
    "73",
    "75",
    "76",
    "79",
]


@pytest.mark.parametrize("code", STAFF_CODES)
def test_each_reason_staff_meet_has_words_and_a_next_step(code: str) -> None:
    rejection = Rejection("2100C", code, "C", False)
    assert rejection.explanation == REASONS[code][0]
    assert rejection.next_step == REASONS[code][1]
    assert rejection.next_step.endswith(".")


@pytest.mark.parametrize(
    ("code", "explanation"),
    [
        ("15", "Required application data missing"),
        ("42", "Payer unable to respond right now"),
        ("43", "Invalid or missing provider identification"),
        ("58", "Invalid or missing date of birth"),
        ("71", "Patient birth date does not match the payer's records"),
        ("75", "Subscriber not found"),
        ("79", "Invalid participant identification"),
    ],
)
def test_reason_codes_read_by_hand(code: str, explanation: str) -> None:
    assert Rejection("2100C", code, "", None).explanation == explanation


def test_only_reasons_that_pass_by_themselves_are_retried() -> None:
    assert [code for code in STAFF_CODES if Rejection("2100A", code, "", None).retry_later] == ["42"]
    assert Rejection("2100C", "72", "P", None).retry_later is True  # "please resubmit original"


def test_an_unknown_reason_still_tells_staff_what_to_do() -> None:
    rejection = Rejection("2100D", "ZZ", "W", None)
    assert rejection.explanation == "A reason code this product does not know"
    assert "call the payer" in rejection.next_step
    assert (rejection.about, rejection.follow_up_text) == ("dependent", "Please wait 30 days and resubmit")


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("30", "Health Benefit Plan Coverage"),
        ("MH", "Mental Health"),
        ("A4", "Psychiatric"),
        ("A6", "Psychotherapy"),
        ("AD", "Occupational Therapy"),
        ("PT", "Physical Therapy"),
        ("AE", "Physical Medicine"),
        ("AF", "Speech Therapy"),
        ("98", "Professional (Physician) Visit - Office"),
        ("BD", "Cognitive Therapy"),
        ("CF", "Mental Health Provider - Outpatient"),
    ],
)
def test_service_types_by_name(code: str, name: str) -> None:
    assert service_type_name(code) == name


def test_every_discipline_code_has_a_name() -> None:
    codes = [code for group in THERAPY_SERVICE_TYPES.values() for code in group]
    assert set(codes) <= set(SERVICE_TYPES)
    assert service_type_name("Q9") == "Unknown service type"


@pytest.mark.parametrize(
    ("npi", "valid"),
    [("1234567893", True), ("1234567890", False), ("123456789", False), ("12345678AB", False)],
)
def test_npi_check_digit(npi: str, valid: bool) -> None:
    assert npi_is_valid(npi) is valid
