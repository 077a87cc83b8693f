"""The writer: fixed-width ISA, trailers' counts and control numbers from the port, delimiters
refused inside values, and writer -> reader round trips under any valid delimiters."""

from __future__ import annotations

import string
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from therabill.x12.delimiters import Delimiters
from therabill.x12.errors import X12ValueError
from therabill.x12.reader import read
from therabill.x12.segments import Segment
from therabill.x12.writer import (
    Composite,
    ControlNumberKind,
    ElementValue,
    Envelope,
    Party,
    Repeated,
    SequentialControlNumbers,
    Transaction,
    render_segment,
    seg,
    write_interchange,
)

ENVELOPE = Envelope(Party("ZZ", "PRACTICE01"), Party("30", "123456789"), "PRACTICE01", "CLEARHOUSE", "T")
WHEN = datetime(2026, 12, 4, 9, 7)


class FixedNumbers:
    """A control-number source that hands out what it is given (the lead's counter in tests)."""

    def __init__(self, **numbers: int) -> None:
        self.numbers = numbers
        self.asked: list[ControlNumberKind] = []

    def next(self, kind: ControlNumberKind) -> int:
        self.asked.append(kind)
        return self.numbers[kind.value]


def _270(*body: str) -> Transaction:
    return Transaction("270", "005010X279A1", tuple(seg(*line.split("*")) for line in body))


def test_an_interchange_with_its_counts_and_control_numbers() -> None:
    numbers = FixedNumbers(interchange=905, group=31, transaction=7)
    data = write_interchange(
        ENVELOPE, [_270("BHT*0022*13*REF1*20261204*0907", "HL*1**20*1")], created_at=WHEN, numbers=numbers
    )
    assert data.decode().split("~")[:-1] == [
        "ISA*00*          *00*          *ZZ*PRACTICE01     *30*123456789      "
        "*261204*0907*^*00501*000000905*0*T*:",
        "GS*HS*PRACTICE01*CLEARHOUSE*20261204*0907*31*X*005010X279A1",
        "ST*270*0007*005010X279A1",
        "BHT*0022*13*REF1*20261204*0907",
        "HL*1**20*1",
        "SE*4*0007",
        "GE*1*31",
        "IEA*1*000000905",
    ]
    assert len(data.decode().split("~")[0]) + 1 == 106
    assert numbers.asked == [
        ControlNumberKind.INTERCHANGE,
        ControlNumberKind.GROUP,
        ControlNumberKind.TRANSACTION,
    ]
    assert read(data).problems == ()


def test_transactions_of_one_kind_share_a_group_and_each_takes_a_number() -> None:
    numbers = SequentialControlNumbers()
    data = write_interchange(
        ENVELOPE,
        [_270("BHT*0022*13*A"), _270("BHT*0022*13*B"), _270("BHT*0022*13*C")],
        created_at=WHEN,
        numbers=numbers,
        line_breaks=True,
    )
    document = read(data)
    assert document.problems == ()
    [group] = document.interchanges[0].groups
    assert [t.control_number for t in group.transactions] == ["0001", "0002", "0003"]
    assert group.trailer is not None and group.trailer.get(1) == "3"
    assert data.count(b"\n") == 13  # one line per segment: ISA, GS, 3 x (ST, BHT, SE), GE, IEA


def test_chosen_delimiters_are_written() -> None:
    delimiters = Delimiters(element="|", repetition="!", component=">", segment="\\")
    body = Transaction(
        "271", "005010X279A1", (seg("EB", "B", "", Repeated(("MH", "A6")), Composite(("HC", "90834"))),)
    )
    data = write_interchange(
        ENVELOPE, [body], created_at=WHEN, numbers=SequentialControlNumbers(), delimiters=delimiters
    )
    text = data.decode()
    assert text.startswith("ISA|00|")
    assert text[82:84] == "!|" and text[103:106] == "|>\\"
    assert "EB|B||MH!A6|HC>90834\\" in text
    assert read(data).delimiters == delimiters


@pytest.mark.parametrize("value", ["A*B", "A~", "^", "X:Y", "LINE\nBREAK", "TAB\tX"])
def test_a_value_holding_a_delimiter_or_a_control_character_is_refused(value: str) -> None:
    with pytest.raises(X12ValueError) as raised:
        render_segment(seg("NM1", "IL", "1", value))
    assert raised.value.details == {"segment_id": "NM1", "element": 3}
    assert value not in raised.value.message


def test_a_component_holding_a_delimiter_is_refused() -> None:
    with pytest.raises(X12ValueError):
        render_segment(seg("SV1", Composite(("HC", "908:34"))))


def test_isa_values_are_padded_and_limited() -> None:
    too_long = Envelope(Party("ZZ", "X" * 16), Party("ZZ", "Y"), "A", "B")
    with pytest.raises(X12ValueError) as raised:
        write_interchange(too_long, [_270("BHT*0022")], created_at=WHEN, numbers=SequentialControlNumbers())
    assert raised.value.details == {"segment_id": "ISA", "element": 6}


def test_an_empty_interchange_is_refused() -> None:
    with pytest.raises(X12ValueError):
        write_interchange(ENVELOPE, [], created_at=WHEN, numbers=SequentialControlNumbers())


def test_control_numbers_out_of_range_are_refused() -> None:
    with pytest.raises(X12ValueError):
        write_interchange(
            ENVELOPE, [_270("BHT*0022")], created_at=WHEN, numbers=FixedNumbers(interchange=1_000_000_000)
        )


def test_trailing_empty_elements_and_components_are_left_out() -> None:
    assert render_segment(seg("NM1", "IL", "1", "", "", "")) == "NM1*IL*1~"
    assert render_segment(seg("SV1", Composite(("HC", "90834", "", "")), "")) == "SV1*HC:90834~"


# Delimiters: four distinct characters, none a letter, digit or space; the terminator may be a
# line break.
_DELIMITER_CHARS = list(string.punctuation)
delimiter_sets = st.tuples(
    st.lists(st.sampled_from(_DELIMITER_CHARS), min_size=4, max_size=4, unique=True), st.booleans()
).map(
    lambda drawn: Delimiters(
        element=drawn[0][0],
        repetition=drawn[0][1],
        component=drawn[0][2],
        segment="\n" if drawn[1] else drawn[0][3],
    )
)
_TEXT = string.ascii_letters + string.digits + string.punctuation + " "


@st.composite
def segments(draw: st.DrawFn, delimiters: Delimiters) -> tuple[str, tuple[ElementValue, ...]]:
    alphabet = "".join(char for char in _TEXT if char not in delimiters.all)
    text = st.text(alphabet, max_size=12).map(str.strip)
    filled = text.filter(bool)
    component = st.lists(text, min_size=1, max_size=4).map(tuple).map(Composite)
    element: st.SearchStrategy[ElementValue] = st.one_of(
        text,
        component,
        st.lists(st.one_of(filled, component.filter(lambda c: any(c.components))), min_size=1, max_size=4)
        .map(tuple)
        .map(Repeated),
    )
    segment_id = draw(
        st.from_regex(r"\A[A-Z][A-Z0-9]{1,2}\Z").filter(
            lambda s: s not in {"ISA", "IEA", "GS", "GE", "ST", "SE"}
        )
    )
    return segment_id, tuple(draw(st.lists(element, max_size=8)))


def _expected(segment: Segment, index: int, value: ElementValue) -> bool:
    if isinstance(value, str):
        return segment.get(index) == value
    if isinstance(value, Composite):
        return segment.components(index) == tuple(_trim(value.components))
    wanted = tuple(
        (item,) if isinstance(item, str) else tuple(_trim(item.components)) for item in value.values
    )
    return segment.composite_repetitions(index) == wanted


def _trim(components: tuple[str, ...]) -> list[str]:
    trimmed = list(components)
    while trimmed and not trimmed[-1]:
        trimmed.pop()
    return trimmed


@settings(max_examples=40, deadline=None)
@given(data=st.data(), delimiters=delimiter_sets)
def test_writer_to_reader_round_trips(data: st.DataObject, delimiters: Delimiters) -> None:
    built = data.draw(st.lists(segments(delimiters), min_size=1, max_size=6))
    transaction = Transaction("270", "005010X279A1", tuple(seg(sid, *elements) for sid, elements in built))
    line_breaks = data.draw(st.booleans())
    output = write_interchange(
        ENVELOPE,
        [transaction],
        created_at=WHEN,
        numbers=SequentialControlNumbers(),
        delimiters=delimiters,
        line_breaks=line_breaks and delimiters.segment != "\n",
    )
    document = read(output)
    assert document.delimiters == delimiters
    assert not [p for p in document.problems if p.kind.value != "undeclared_separator"]
    [transaction_read] = list(document.transactions())
    assert [s.id for s in transaction_read.body] == [sid for sid, _ in built]
    for segment, (_, elements) in zip(transaction_read.body, built, strict=True):
        for index, value in enumerate(elements, start=1):
            assert _expected(segment, index, value), (segment.elements, elements)
