"""Envelope defects: counts and control numbers, missing and stray trailers; the MANIFEST lists
which shared files carry them."""

from __future__ import annotations

import pytest

from tests.unit.x12.conftest import shared_file, shared_names
from therabill.x12.problems import ProblemKind
from therabill.x12.reader import read


def _kinds(data: bytes) -> list[tuple[ProblemKind, int, str, int | None]]:
    return [(p.kind, p.position, p.segment_id, p.element) for p in read(data).problems]


@pytest.mark.parametrize(
    ("folder", "name", "expected"),
    [
        # SE01=25 but there are 34 segments.
        ("837p", "ims_valid_2claims.837", [(ProblemKind.SEGMENT_COUNT, 36, "SE", 1)]),
        ("837p", "ims_many_claims_820.837", [(ProblemKind.SEGMENT_COUNT, 11488, "SE", 1)]),
        (
            "837p",
            "ims_complex_2st_all_loops.837",
            [
                (ProblemKind.SEGMENT_COUNT, 149, "SE", 1),
                (ProblemKind.SEGMENT_COUNT, 296, "SE", 1),
                (ProblemKind.TRANSACTION_COUNT, 297, "GE", 1),
            ],
        ),
        ("271", "lfh_tr3_error_aaa_2100b.271", [(ProblemKind.CONTROL_NUMBER_MISMATCH, 10, "SE", 2)]),
        ("277", "ims_277_x212_8claims_a1_ack.277", [(ProblemKind.CONTROL_NUMBER_MISMATCH, 111, "IEA", 2)]),
    ],
)
def test_defective_envelopes_in_the_shared_files(
    folder: str, name: str, expected: list[tuple[ProblemKind, int, str, int | None]]
) -> None:
    assert _kinds(shared_file(folder, name)) == expected


def test_the_counted_segments_are_in_the_detail() -> None:
    [problem] = read(shared_file("837p", "ims_valid_2claims.837")).problems
    assert problem.detail == "SE01 does not match the 34 segments counted"


def test_the_mjk_835_se01_is_off_by_one() -> None:
    problems = read(shared_file("835", "mjk_tr3_part_a_plb_pipe_component.835")).problems
    counts = [p for p in problems if p.kind is ProblemKind.SEGMENT_COUNT]
    assert [p.detail for p in counts] == ["SE01 does not match the 32 segments counted"]


@pytest.mark.parametrize("folder", ["270", "271", "277", "835", "837p"])
def test_clean_files_have_no_envelope_problems(folder: str) -> None:
    clean = {
        "270": shared_names("270"),
        "271": ["lfh_tr3_subscriber_benefits_copay.271", "lfh_tr3_dependent_benefits_copay.271"],
        "277": ["lfh_x212_claim_level_status_3claims.277", "ims_277ca_x214_accepted_emedny.277"],
        "835": ["lfh_managed_care_2claims.835", "lfh_medicare_part_a_2claims_plb.835"],
        "837p": ["uhin_psychotherapy_90834_1claim.837", "lfh_tr3_ex1_commercial_4lines.837"],
    }[folder]
    if not clean:
        pytest.skip("the shared X12 folder is not on this machine")
    for name in clean:
        assert read(shared_file(folder, name)).problems == (), name


ISA = (
    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       "
    "*261204*1305*^*00501*000000042*0*T*:~"
)


def _doc(*segments: str) -> bytes:
    return (ISA + "".join(segments)).encode()


def test_counts_and_control_numbers_of_every_trailer() -> None:
    data = _doc(
        "GS*HS*A*B*20261204*1305*7*X*005010X279A1~",
        "ST*270*0001*005010X279A1~",
        "BHT*0022*13*X*20261204*1305~",
        "SE*4*0002~",
        "GE*2*8~",
        "IEA*3*000000043~",
    )
    assert _kinds(data) == [
        (ProblemKind.SEGMENT_COUNT, 5, "SE", 1),
        (ProblemKind.CONTROL_NUMBER_MISMATCH, 5, "SE", 2),
        (ProblemKind.TRANSACTION_COUNT, 6, "GE", 1),
        (ProblemKind.CONTROL_NUMBER_MISMATCH, 6, "GE", 2),
        (ProblemKind.GROUP_COUNT, 7, "IEA", 1),
        (ProblemKind.CONTROL_NUMBER_MISMATCH, 7, "IEA", 2),
    ]


def test_missing_and_stray_trailers() -> None:
    data = _doc(
        "GS*HS*A*B*20261204*1305*7*X*005010X279A1~",
        "ST*270*0001*005010X279A1~",
        "BHT*0022*13*X*20261204*1305~",
        "GE*1*7~",  # closes the group with the ST still open
        "SE*2*0001~",  # nothing open to close
        "NM1*PR*2*NAME~",  # outside any transaction
    )
    assert _kinds(data) == [
        (ProblemKind.MISSING_TRAILER, 5, "GE", None),
        (ProblemKind.UNEXPECTED_TRAILER, 6, "SE", None),
        (ProblemKind.SEGMENT_OUTSIDE_ENVELOPE, 7, "NM1", None),
        (ProblemKind.MISSING_TRAILER, 0, "", None),
    ]
    [interchange] = read(data).interchanges
    assert interchange.trailer is None
    assert [t.code for t in interchange.groups[0].transactions] == ["270"]


def test_a_count_that_is_not_a_number() -> None:
    data = _doc(
        "GS*HS*A*B*20261204*1305*7*X*005010X279A1~",
        "ST*270*0001*005010X279A1~",
        "SE*two*0001~",
        "GE*1*7~",
        "IEA*1*000000042~",
    )
    assert _kinds(data) == [(ProblemKind.BAD_VALUE, 4, "SE", 1)]


def test_gs01_that_does_not_fit_the_transaction_set_is_a_warning() -> None:
    # The synthetic 271 files carry GS01 HS (a 270's) instead of HB.
    problems = read(shared_file("271", "kh_synthetic_rejected_aaa72.271")).problems
    assert [(p.kind, p.position, p.element) for p in problems] == [(ProblemKind.FUNCTIONAL_ID, 3, 1)]


def test_problems_never_carry_a_data_value() -> None:
    member_id = "W123456789"
    data = _doc(
        "GS*HB*A*B*20261204*1305*7*X*005010X279A1~",
        "ST*271*0001*005010X279A1~",
        f"NM1*IL*1*DOE*JANE****MI*{member_id}>01~",  # an undeclared separator inside the member id
        "DMG*D8*19800101~",
        "SE*9*0001~",
        "GE*1*7~",
    )
    problems = read(data).problems
    assert {p.kind for p in problems} == {
        ProblemKind.UNDECLARED_SEPARATOR,
        ProblemKind.SEGMENT_COUNT,
        ProblemKind.MISSING_TRAILER,
    }
    for problem in problems:
        text = str(problem.as_dict())
        assert member_id not in text
        assert "DOE" not in text
        assert "19800101" not in text
