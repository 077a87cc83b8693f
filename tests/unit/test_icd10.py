"""ICD-10-CM codes (shape, normal form, the claim's list) and the nightly assessment's
documentation reasons."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.unit.test_nightly_models import BASE as READY
from therabill.clinical.icd10 import MAX_CODES, CodeError, normalise, normalise_codes
from therabill.nightly.models import assess


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("F41.1", "F41.1"),
        ("f41.1", "F41.1"),
        ("F411", "F41.1"),
        (" z63.0 ", "Z63.0"),
        ("R69", "R69"),
        ("F32.A", "F32.A"),
        ("f32a", "F32.A"),
        ("S72.001A", "S72.001A"),
        ("s72001a", "S72.001A"),
        ("U07.1", "U07.1"),
    ],
)
def test_normal_form_is_upper_case_with_the_dot(given: str, normal: str) -> None:
    assert normalise(given) == normal


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "F",
        "F4",
        "41.1",
        "FF1.1",
        "F4.1",
        "F41.",
        "F41..1",
        "F41.12345",
        "F4112345",
        "F41-1",
        "F41 1",
        "é41.1",
    ],
)
def test_other_shapes_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not an ICD-10-CM code"):
        normalise(bad)


def test_a_list_keeps_pointer_order_and_refuses_repeats_and_more_than_twelve() -> None:
    assert normalise_codes(["z63.0", "F41.1"]) == ("Z63.0", "F41.1")
    assert normalise_codes([]) == ()
    with pytest.raises(CodeError, match=r"codes\[1\] repeats codes\[0\]") as exc:
        normalise_codes(["F41.1", "f411"])
    assert "F41" not in str(exc.value)  # a code is never echoed
    with pytest.raises(CodeError, match=r"codes\[2\] is not an ICD-10-CM code"):
        normalise_codes(["F41.1", "Z63.0", "bad"])
    twelve = [f"F4{n // 10}.{n % 10}" for n in range(MAX_CODES)]
    assert len(normalise_codes(twelve)) == 12
    with pytest.raises(CodeError, match="at most 12"):
        normalise_codes([*twelve, "R69"])


BASE = replace(READY, has_diagnosis=False)


def test_documentation_reasons() -> None:
    assert assess(BASE).state == "ready"  # cash pay: no diagnosis needed
    a = assess(replace(BASE, insured=True, claims_enabled=True))
    assert (a.state, a.action, a.reasons) == ("incomplete", "claim", ("missing_diagnosis",))
    assert assess(replace(BASE, insured=True, claims_enabled=True, has_diagnosis=True)).state == "ready"
    a = assess(replace(BASE, note_required=True))
    assert (a.state, a.reasons, a.reason_texts) == ("incomplete", ("unsigned_note",), ["note not signed"])
    assert assess(replace(BASE, note_required=True, note_signed=True)).state == "ready"
    assert assess(replace(BASE, note_signed=False)).state == "ready"  # not required
    a = assess(replace(BASE, supervised=True))
    assert a.reasons == ("awaiting_supervisor_approval",)
    assert a.reason_texts == ["awaiting supervisor approval"]
    assert assess(replace(BASE, supervised=True, supervisor_approved=True)).state == "ready"
    # Every reason that holds, in a stable order; held never hides them.
    every = replace(BASE, insured=True, cpt_code=None, note_required=True, supervised=True, held=True)
    assert assess(every).reasons == (
        "claims_not_set_up",
        "missing_cpt_code",
        "missing_diagnosis",
        "unsigned_note",
        "awaiting_supervisor_approval",
    )
    assert assess(replace(BASE, session_amount=None, note_required=True)).reasons == (
        "missing_price",
        "unsigned_note",
    )


def test_a_no_show_needs_no_note_and_no_approval() -> None:
    missed = replace(
        BASE, status="no_show", session_amount=0, fee_balance=5_000, note_required=True, supervised=True
    )
    assert (assess(missed).state, assess(missed).amount) == ("ready", 5_000)
