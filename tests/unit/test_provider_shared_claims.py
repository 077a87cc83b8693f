"""The provider rules against the billing providers of real 837P files written by others
(../shared/data/x12/837p; skipped when absent). The verdicts were read by hand from the files:
sample files often carry placeholder NPIs and five-digit ZIPs a real claim could not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from therabill.providers.address import box_in, normalise_zip
from therabill.providers.errors import ProviderValueError
from therabill.providers.identifiers import normalise_ein, normalise_npi

# file → the billing provider (loop 2010AA): NPI, N4 ZIP, REF*EI, and which of the three pass
# (the NPI's check digit, the ZIP as a billing provider's ZIP+4, the EIN's prefix).
BILLING_PROVIDERS = {
    "uhin_psychotherapy_90834_1claim.837": ("1245319599", "841061149", "123456789", (True, True, True)),
    "lfh_tr3_ex1_commercial_4lines.837": ("1912301953", "331110000", "587654321", (True, True, True)),
    # check digit 7, not 6; a five-digit ZIP
    "lfh_tr3_ex3b_cob_secondary_with_2320_cas.837": (
        "1999996666",
        "33111",
        "123456789",
        (False, False, True),
    ),
    # no NPI starts with 0; the IRS never issued prefix 89
    "lfh_tr3_cob_ex4_medicare_secondary_svd_cas.837": (
        "0100000009",
        "21236",
        "890123456",
        (False, False, False),
    ),
    "lfh_tr3_ex6_medicare_chiro_gt_component.837": ("1234567890", "21236", "987654321", (False, False, True)),
    "ims_valid_2claims.837": ("1234567890", "20705", "123456789", (False, False, True)),
}


def _segments(path: Path) -> list[list[str]]:
    text = path.read_text()
    element, terminator = text[3], text[105]  # fixed places in the ISA segment
    return [s.strip().split(element) for s in text.split(terminator) if s.strip()]


def _billing_provider(segments: list[list[str]]) -> tuple[str, str, str]:
    """The first NM1*85's NPI (its last element) and the N4 ZIP and REF*EI that follow it."""
    start = next(i for i, s in enumerate(segments) if s[:2] == ["NM1", "85"])
    npi, zip_code, ein = segments[start][-1], "", ""
    for seg in segments[start + 1 :]:
        if seg[0] == "NM1":
            break
        if seg[0] == "N4":
            zip_code = seg[3]
        if seg[:2] == ["REF", "EI"]:
            ein = seg[2]
    return npi, zip_code, ein


def _passes(check: Callable[[str], str], value: str) -> bool:
    try:
        check(value)
    except ProviderValueError:
        return False
    return True


@pytest.mark.parametrize("name", sorted(BILLING_PROVIDERS))
def test_the_billing_providers_of_shared_claims(shared_data: Path, name: str) -> None:
    npi, zip_code, ein, verdicts = BILLING_PROVIDERS[name]
    assert _billing_provider(_segments(shared_data / "x12" / "837p" / name)) == (npi, zip_code, ein)
    got = (
        _passes(normalise_npi, npi),
        _passes(lambda z: normalise_zip(z, plus_four=True), zip_code),
        _passes(normalise_ein, ein),
    )
    assert got == verdicts


def test_the_one_box_among_the_shared_claims_street_lines_is_found(shared_data: Path) -> None:
    lines = {
        seg[1]
        for path in sorted((shared_data / "x12" / "837p").glob("*.837"))
        for seg in _segments(path)
        if seg[0] == "N3"
    }
    assert len(lines) > 20
    assert {line for line in lines if box_in(line)} == {"PO BOX 45"}
