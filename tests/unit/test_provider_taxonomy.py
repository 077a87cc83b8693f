"""The NUCC taxonomy codes a therapy practice bills under: every code's shape, lookup by code,
search by name, and the individual-only rule."""

from __future__ import annotations

import pytest

from therabill.providers import taxonomy
from therabill.providers.errors import ProviderValueError
from therabill.providers.taxonomy import CATALOGUE, individual, known, lookup, normalise_code, search


def test_every_listed_code_has_nuccs_shape() -> None:
    assert len(CATALOGUE) == 75
    for code, entry in CATALOGUE.items():
        assert entry.code == code
        assert len(code) == 10
        assert code.endswith("X")
        assert code.isalnum()
        assert code == code.upper()
        assert normalise_code(code) == code
    names = [t.name for t in CATALOGUE.values()]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize(
    ("code", "name", "kind"),
    [
        ("225X00000X", "Occupational Therapist", "individual"),
        ("225XH1200X", "Hand Occupational Therapist", "individual"),
        ("225XP0200X", "Pediatric Occupational Therapist", "individual"),
        ("225100000X", "Physical Therapist", "individual"),
        ("2251X0800X", "Orthopedic Physical Therapist", "individual"),
        ("235Z00000X", "Speech-Language Pathologist", "individual"),
        ("231H00000X", "Audiologist", "individual"),
        ("103T00000X", "Psychologist", "individual"),
        ("103TC0700X", "Clinical Psychologist", "individual"),
        ("101Y00000X", "Counselor", "individual"),
        ("101YP2500X", "Professional Counselor", "individual"),
        ("101YM0800X", "Mental Health Counselor", "individual"),
        ("101YA0400X", "Addiction (Substance Use Disorder) Counselor", "individual"),
        ("104100000X", "Social Worker", "individual"),
        ("1041C0700X", "Clinical Social Worker", "individual"),
        ("106H00000X", "Marriage & Family Therapist", "individual"),
        ("103K00000X", "Behavior Analyst", "individual"),
        ("221700000X", "Art Therapist", "individual"),
        ("225A00000X", "Music Therapist", "individual"),
        ("193200000X", "Multi-Specialty Group", "group"),
        ("193400000X", "Single Specialty Group", "group"),
        (
            "261QM0801X",
            "Mental Health Clinic/Center (Including Community Mental Health Center)",
            "organization",
        ),
        ("261QP2000X", "Physical Therapy Clinic/Center", "organization"),
    ],
)
def test_lookup_by_code_gives_nuccs_name(code: str, name: str, kind: str) -> None:
    found = lookup(code)
    assert found is not None
    assert (found.name, found.kind) == (name, kind)
    assert lookup(f" {code.lower()} ") == found


@pytest.mark.parametrize(
    "code",
    [
        "207Q00000X",  # Family Medicine Physician: NUCC's, not a therapy practice's
        "103GC0700X",  # deactivated by NUCC
        "225X00000Y",
        "",
        "225X",
    ],
)
def test_lookup_of_an_unlisted_code_finds_nothing(code: str) -> None:
    assert lookup(code) is None


@pytest.mark.parametrize(
    "bad", ["225X0000X", "225X00000XX", "225X00000A", "225X-0000X", "225X 0000X", "", "\uff38" * 9 + "X"]
)
def test_a_code_of_the_wrong_shape_is_refused_in_words(bad: str) -> None:
    with pytest.raises(ProviderValueError) as caught:
        normalise_code(bad)
    assert caught.value.rule == "taxonomy_shape"
    assert "ending in X" in caught.value.message


def test_a_well_shaped_code_that_is_not_listed_is_refused() -> None:
    assert normalise_code("207q00000x") == "207Q00000X"
    with pytest.raises(ProviderValueError) as caught:
        known("207Q00000X")
    assert caught.value.rule == "taxonomy_unknown"
    assert known(" 235z00000x ").name == "Speech-Language Pathologist"


@pytest.mark.parametrize(("code", "words"), [("193200000X", "a group"), ("261QM0801X", "a clinic or agency")])
def test_a_person_cannot_hold_a_groups_or_a_clinics_code(code: str, words: str) -> None:
    with pytest.raises(ProviderValueError) as caught:
        individual(code)
    assert caught.value.rule == "taxonomy_not_individual"
    assert f"the code of {words}" in caught.value.message
    assert individual("1041C0700X").name == "Clinical Social Worker"


def _codes(query: str, **kw: frozenset[taxonomy.TaxonomyKind]) -> list[str]:
    return [t.code for t in search(query, **kw)]


def test_search_by_name_finds_every_word_as_a_word_start() -> None:
    assert _codes("hand") == ["225XH1200X", "2251H1200X"]
    assert _codes("occ hand") == ["225XH1200X"]
    assert _codes("clinical social") == ["1041C0700X"]
    # the audiologist is found by its profession's name ("Speech, language and hearing")
    assert _codes("Speech-Language") == ["235Z00000X", "2355S0801X", "231H00000X"]
    assert _codes("pathologist") == ["235Z00000X"]
    assert _codes("marriage family") == ["106H00000X"]
    assert _codes("mental health") == ["225XM0800X", "101YM0800X", "261QM0801X", "261QM0850X", "261QM0855X"]
    occupational = _codes("occupational")
    assert len(occupational) == 14
    assert occupational[0] == "225X00000X"
    assert occupational[-1] == "224Z00000X"


def test_search_finds_a_profession_by_its_usual_abbreviation() -> None:
    assert _codes("lcsw") == ["104100000X", "1041C0700X", "1041S0200X"]
    assert _codes("LMFT") == ["106H00000X"]
    assert _codes("bcba") == ["103K00000X", "106E00000X", "106S00000X"]
    assert _codes("slp")[0] == "235Z00000X"
    assert _codes("OT")[0] == "225X00000X"


def test_search_by_code_and_by_kind() -> None:
    assert _codes("1041c0700x") == ["1041C0700X"]
    assert _codes("mental health", kinds=frozenset({"organization"})) == [
        "261QM0801X",
        "261QM0850X",
        "261QM0855X",
    ]
    assert _codes("group", kinds=frozenset({"group"})) == ["193200000X", "193400000X"]
    assert _codes("193200000X", kinds=frozenset({"individual"})) == []


@pytest.mark.parametrize("query", ["", "   ", "zzz", "physician", "-"])
def test_search_for_nothing_listed_finds_nothing(query: str) -> None:
    assert search(query) == []
