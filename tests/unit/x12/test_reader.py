"""The reader: delimiters from the ISA, the shapes inputs come in, envelopes and their checks."""

from __future__ import annotations

import pytest

from tests.unit.x12.conftest import shared_file
from therabill.x12.delimiters import Delimiters
from therabill.x12.errors import X12UnreadableError
from therabill.x12.problems import ProblemKind, Severity
from therabill.x12.reader import read

ISA = (
    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       "
    "*261204*1305*^*00501*000000042*0*T*:~"
)
BODY = [
    "GS*HB*SENDER*RECEIVER*20261204*1305*7*X*005010X279A1~",
    "ST*271*0001*005010X279A1~",
    "EB*B**MH^A6*HM*PLAN*27*10.00*****Y~",
    "SV1*HC:90834:95*150~",
    "SE*4*0001~",
    "GE*1*7~",
    "IEA*1*000000042~",
]


def _text(join: str = "\n", isa: str = ISA, body: list[str] | None = None) -> str:
    return join.join([isa, *(body or BODY)])


def test_the_delimiters_come_from_the_isa() -> None:
    text = _text().replace("*", "|").replace("^", "!").replace(":", ">").replace("~", "\\")
    # "|" as the element separator, "!" repetition, ">" component, "\" terminator.
    document = read(text.encode())
    assert document.delimiters == Delimiters(element="|", repetition="!", component=">", segment="\\")
    eb = document.segments[3]
    assert eb.id == "EB"
    assert eb.repetitions(3) == ("MH", "A6")
    assert document.segments[4].components(1) == ("HC", "90834", "95")
    assert not document.problems


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param(lambda text: "\ufeff" + text, id="byte-order mark"),
        pytest.param(lambda text: text.replace("\n", "\r\n"), id="CRLF"),
        pytest.param(lambda text: text.replace("\n", ""), id="one line"),
        pytest.param(lambda text: text.replace("\n", "\n    \t"), id="indented"),
        pytest.param(lambda text: text.replace("\n", "\r\n\r\n  \n"), id="blank lines"),
        pytest.param(lambda text: "\n\n  " + text + "\n\n", id="leading and trailing space"),
    ],
)
def test_every_shape_reads_the_same(shape: object) -> None:
    plain = read(_text().encode())
    assert callable(shape)
    shaped = read(shape(_text()).encode("utf-8"))
    assert [(s.id, s.elements) for s in shaped.segments] == [(s.id, s.elements) for s in plain.segments]
    assert len(shaped.segments) == 8
    assert not shaped.problems


def test_a_newline_can_be_the_segment_terminator() -> None:
    text = _text(join="\r\n", isa=ISA[:-1], body=[line[:-1] for line in BODY])
    document = read(text.encode())
    assert document.delimiters.segment == "\n"
    assert [s.id for s in document.segments] == ["ISA", "GS", "ST", "EB", "SV1", "SE", "GE", "IEA"]
    assert document.segments[3].repetitions(3) == ("MH", "A6")
    assert not document.problems


def test_a_4010_isa11_is_not_a_repetition_separator() -> None:
    isa = ISA.replace("*^*00501*", "*U*00401*")
    document = read(_text(isa=isa).encode())
    assert document.delimiters.repetition is None
    assert document.segments[3].repetitions(3) == ("MH^A6",)


def test_input_without_an_isa_is_refused() -> None:
    with pytest.raises(X12UnreadableError):
        read(b"GS*HB*SENDER*RECEIVER~")
    with pytest.raises(X12UnreadableError):
        read(b"ISA*00*  *00~")


def test_an_isa_that_is_not_fixed_width_is_read_with_a_warning() -> None:
    isa = ISA.replace("SENDER         ", "SENDER")
    document = read(_text(isa=isa).encode())
    assert len(document.segments) == 8
    [problem] = document.problems
    assert (problem.kind, problem.position, problem.element) == (ProblemKind.ISA_WIDTH, 1, 6)
    assert problem.severity is Severity.WARNING


def test_latin1_input_is_read_with_a_warning() -> None:
    text = _text().replace("PLAN", "PLÄN")
    document = read(text.encode("latin-1"))
    assert document.segments[3].get(5) == "PLÄN"
    assert [p.kind for p in document.problems] == [ProblemKind.NOT_UTF8]


def test_an_undeclared_component_separator_is_a_fatal_problem() -> None:
    body = [line.replace("HC:90834:95", "HC>90834>95") for line in BODY]
    document = read(_text(body=body).encode())
    [problem] = document.fatal
    assert (problem.kind, problem.position, problem.segment_id, problem.element) == (
        ProblemKind.UNDECLARED_SEPARATOR,
        5,
        "SV1",
        1,
    )
    assert "'>'" in problem.detail


def test_the_component_mismatch_file_is_detected() -> None:
    document = read(shared_file("271", "mjk_demo_gt_component_mismatch.271"))
    # EB*1**1>33>35..., and the two EB*B: segments 18, 19, 20, element 3.
    assert [(p.position, p.segment_id, p.element) for p in document.fatal] == [
        (18, "EB", 3),
        (19, "EB", 3),
        (20, "EB", 3),
    ]


def test_the_pipe_component_835_is_detected_where_it_uses_a_colon() -> None:
    document = read(shared_file("835", "mjk_tr3_part_a_plb_pipe_component.835"))
    assert [(p.segment_id, p.element) for p in document.fatal] == [("PLB", 3)]


def test_segments_are_grouped_into_envelopes() -> None:
    document = read(shared_file("837p", "ims_complex_2st_all_loops.837"))
    [interchange] = document.interchanges
    [group] = interchange.groups
    assert group.functional_id == "HC"
    assert [t.code for t in group.transactions] == ["837", "837"]
    assert all(t.body[0].id == "BHT" and t.trailer is not None for t in group.transactions)
