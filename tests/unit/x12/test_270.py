"""The 270 builder, checked by hand, by the reader, by pyx12's envelope reader and by the
X279A1 layout; and every shared 270 read."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from pyx12.errors import EngineError
from pyx12.params import params as pyx12_params
from pyx12.x12file import X12Reader
from pyx12.x12n_document import x12n_document

from tests.unit.x12.conftest import shared_file, shared_names
from tests.unit.x12.x279 import check_270
from therabill.x12.eligibility.inquiry import (
    EligibilityInquiry,
    InvalidInquiryError,
    Payer,
    Person,
    Provider,
    build_270,
    service_types_for,
)
from therabill.x12.errors import X12ValueError
from therabill.x12.reader import read
from therabill.x12.writer import Envelope, Party, SequentialControlNumbers

ENVELOPE = Envelope(Party("ZZ", "THERABILL"), Party("ZZ", "CLEARHOUSE"), "THERABILL", "CLEARHOUSE", "T")
WHEN = datetime(2026, 12, 4, 14, 30)
SUBSCRIBER = Person("SMITH", "ROBERT", date(1943, 5, 19), "W11122333301")
INQUIRY = EligibilityInquiry(
    payer=Payer("ABC COMPANY", "842610001"),
    provider=Provider("1234567893", organization_name="BONE AND JOINT CLINIC"),
    subscriber=SUBSCRIBER,
    date_of_service=date(2026, 12, 7),
    trace_number="ELG-7F3A",
    originator_id="1234567890",
    service_types=service_types_for("mental_health"),
)


def _build(inquiry: EligibilityInquiry) -> bytes:
    return build_270(inquiry, envelope=ENVELOPE, created_at=WHEN, numbers=SequentialControlNumbers())


def _body(data: bytes) -> list[str]:
    [transaction] = list(read(data).transactions("270"))
    delimiter = read(data).delimiters.element
    return [delimiter.join([s.id, *s.elements]) for s in transaction.body]


def _pyx12_errors(data: bytes) -> list[tuple[object, ...]]:
    reader = X12Reader(io.StringIO(data.decode()))
    errors: list[tuple[object, ...]] = []
    for _segment in reader:
        errors.extend(reader.pop_errors())
    reader.cleanup()
    return errors + list(reader.pop_errors())


def test_a_subscriber_inquiry_for_mental_health() -> None:
    assert service_types_for("mental_health") == ("30", "MH", "A6", "A4", "CF", "CH")
    assert _body(_build(INQUIRY)) == [
        "BHT*0022*13*ELG-7F3A*20261204*1430",
        "HL*1**20*1",
        "NM1*PR*2*ABC COMPANY*****PI*842610001",
        "HL*2*1*21*1",
        "NM1*1P*2*BONE AND JOINT CLINIC*****XX*1234567893",
        "HL*3*2*22*0",
        "TRN*1*ELG-7F3A*1234567890",
        "NM1*IL*1*SMITH*ROBERT****MI*W11122333301",
        "DMG*D8*19430519",
        "DTP*291*D8*20261207",
        "EQ*30",
        "EQ*MH",
        "EQ*A6",
        "EQ*A4",
        "EQ*CF",
        "EQ*CH",
    ]


def test_a_dependent_inquiry_from_a_person_provider() -> None:
    inquiry = EligibilityInquiry(
        payer=Payer("ABC COMPANY", "842610001"),
        provider=Provider("1234567893", last_name="JONES", first_name="MARCUS"),
        subscriber=Person("SMITH", "JOHN", None, "W11122333301"),
        dependent=Person("SMITH", "MARY", date(2015, 10, 14), gender="F"),
        date_of_service=date(2026, 12, 7),
        trace_number="ELG-7F3B",
        originator_id="1234567890",
        service_types=("30", "AD"),
    )
    assert _body(_build(inquiry)) == [
        "BHT*0022*13*ELG-7F3B*20261204*1430",
        "HL*1**20*1",
        "NM1*PR*2*ABC COMPANY*****PI*842610001",
        "HL*2*1*21*1",
        "NM1*1P*1*JONES*MARCUS****XX*1234567893",
        "HL*3*2*22*1",
        "NM1*IL*1*SMITH*JOHN****MI*W11122333301",
        "HL*4*3*23*0",
        "TRN*1*ELG-7F3B*1234567890",
        "NM1*03*1*SMITH*MARY",
        "DMG*D8*20151014*F",
        "DTP*291*D8*20261207",
        "EQ*30",
        "EQ*AD",
    ]
    [transaction] = list(read(_build(inquiry)).transactions())
    assert check_270(transaction) == []


def test_built_270s_pass_the_envelope_checks_of_both_readers() -> None:
    data = _build(INQUIRY)
    assert read(data).problems == ()
    assert _pyx12_errors(data) == []
    [transaction] = list(read(data).transactions())
    assert check_270(transaction) == []


def test_pyx12_finds_a_defect_in_a_270_and_has_no_x279a1_map() -> None:
    """Shows the pyx12 check can fail, and why the layout is checked here instead: pyx12 4.0 maps
    the 270 of 4010 (X092A1) only. When a later pyx12 maps X279A1, this test says so."""
    broken = _build(INQUIRY).replace(b"SE*18*", b"SE*17*").replace(b"HL*3*2*", b"HL*3*9*")
    codes = [error[1] for error in _pyx12_errors(broken)]
    assert codes == ["HL2", "4"]  # HL parent not valid; SE count wrong
    with pytest.raises(EngineError, match="Map not found"):
        x12n_document(pyx12_params(), io.StringIO(_build(INQUIRY).decode()), io.StringIO(), None)


def test_the_layout_check_catches_a_misplaced_or_missing_segment() -> None:
    data = _build(INQUIRY)
    [transaction] = list(read(data.replace(b"TRN*1*ELG-7F3A*1234567890~", b"")).transactions())
    assert check_270(transaction) == []  # TRN is situational in 2000C
    [moved] = list(
        read(data.replace(b"DTP*291*D8*20261207~EQ*30~", b"EQ*30~DTP*291*D8*20261207~")).transactions()
    )
    assert check_270(moved) == []  # a DTP may follow an EQ (2110C)
    [wrong] = list(read(data.replace(b"HL*3*2*22*0", b"HL*3*2*22*1")).transactions())
    assert check_270(wrong) == ["HL 3: HL04 does not say whether it has children"]
    [no_id] = list(read(data.replace(b"****MI*W11122333301", b"")).transactions())
    assert check_270(no_id) == ["NM1 in level 22: entity or id qualifier"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"provider": Provider("1234567890", organization_name="CLINIC")}, "provider.npi"),
        ({"subscriber": Person("SMITH", "ROBERT", date(1943, 5, 19))}, "subscriber.member_id"),
        ({"subscriber": Person("SMITH", "ROBERT", None, "W1")}, "patient.date_of_birth"),
        ({"service_types": ("30", "MHX")}, "service_types"),
        ({"service_types": ()}, "service_types"),
        ({"originator_id": "12345"}, "originator_id"),
        ({"payer": Payer("", "842610001")}, "payer.name"),
        ({"subscriber": Person("SMITH", "ROBERT", date(1943, 5, 19), "W1", gender="X")}, "subscriber.gender"),
    ],
)
def test_an_inquiry_that_cannot_be_sent_names_the_field(change: dict[str, object], field: str) -> None:
    values = {name: getattr(INQUIRY, name) for name in INQUIRY.__dataclass_fields__}
    with pytest.raises(InvalidInquiryError) as raised:
        _build(EligibilityInquiry(**(values | change)))  # type: ignore[arg-type]
    assert raised.value.field == field


def test_a_value_with_a_delimiter_is_refused_without_echoing_it() -> None:
    inquiry = EligibilityInquiry(
        **{name: getattr(INQUIRY, name) for name in INQUIRY.__dataclass_fields__}
        | {"subscriber": Person("O*BRIEN", "ANN", date(1990, 1, 2), "W1")}
    )  # type: ignore[arg-type]
    with pytest.raises(X12ValueError) as raised:
        _build(inquiry)
    assert "O*BRIEN" not in str(raised.value)
    assert raised.value.details == {"segment_id": "NM1", "element": 3}


# What each shared 270 holds, read by hand: segments, the member id (NM109 of IL), EQ codes.
SHARED = {
    "kh_synthetic_realtime_single.270": (17, "000123450", ["30"]),
    "lfh_tr3_dependent_eq30.270": (19, "11122333301", ["30"]),
    "lfh_tr3_subscriber_eq30.270": (17, "11122333301", ["30"]),
    "lfh_tr3_subscriber_single_line.270": (17, "11122333301", ["30"]),
    "mjk_demo_subscriber.270": (20, "11122333301", ["30"]),
}


@pytest.mark.parametrize("name", shared_names("270"))
def test_every_shared_270_is_read(name: str) -> None:
    document = read(shared_file("270", name))
    segments, member_id, eq = SHARED[name]
    assert len(document.segments) == segments
    assert document.problems == ()
    [transaction] = list(document.transactions("270"))
    assert [s.get(9) for s in transaction.body if s.id == "NM1" and s.get(1) == "IL"] == [member_id]
    assert [s.get(1) for s in transaction.body if s.id == "EQ"] == eq
    assert check_270(transaction) == []


def test_the_single_line_270_reads_as_the_multi_line_one() -> None:
    single = read(shared_file("270", "lfh_tr3_subscriber_single_line.270"))
    lines = read(shared_file("270", "lfh_tr3_subscriber_eq30.270"))
    assert [(s.id, s.elements) for s in single.segments] == [(s.id, s.elements) for s in lines.segments]


def test_a_persons_repr_shows_nothing_of_them() -> None:
    assert repr(SUBSCRIBER) == "Person(...)"
    assert "W11122333301" not in repr(INQUIRY) and "SMITH" not in repr(INQUIRY)
