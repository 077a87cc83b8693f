"""The NUCC Health Care Provider Taxonomy codes a therapy practice bills under, with their names.

A taxonomy code says what kind of provider bills or renders a claim (837P PRV03). NUCC's code is
10 characters, letters and digits, the last always ``X``. The names are NUCC's display names.
Source: the NUCC code set as HL7 publishes it (Da Vinci PDex Plan-Net, "Individual and Group
Specialties" and "Non-Individual Specialties", NUCC version 20.2); 193400000X from NUCC's
"Group" grouping (its display name as NPPES data shows it). 103K00000X is "Behavior Analyst",
NUCC's later spelling of version 20.2's "Behavioral Analyst". Deactivated codes are left out.

The list is a choice, not the whole code set: the therapy professions, their assistants where
they hold their own NPI, and the group and clinic codes a practice bills under. A code outside it
is refused, to be added here when a practice needs it. Three kinds: ``individual`` (a person's
specialty: a clinician's record and an individual billing provider take only these), ``group``
(NUCC's group of individuals) and ``organization`` (NUCC's non-individual section: clinics and
agencies); an organization may bill under any of the three.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from therabill.providers.errors import ProviderValueError

TaxonomyKind = Literal["individual", "group", "organization"]

_SHAPE = re.compile(r"[0-9A-Z]{9}X")
SHAPE_WORDS = "10 letters and digits ending in X, e.g. 225X00000X"


@dataclass(frozen=True, slots=True)
class Taxonomy:
    code: str
    name: str  # NUCC's display name
    kind: TaxonomyKind
    profession: str  # how the list groups it, e.g. "Occupational therapy"


# profession → (kind, the words a search also finds it by, its codes and names; the classification
# first, then its specialisations)
# fmt: off
_LIST: dict[str, tuple[TaxonomyKind, str, tuple[tuple[str, str], ...]]] = {
    "Occupational therapy": ("individual", "OT OTR", (
        ("225X00000X", "Occupational Therapist"),
        ("225XE0001X", "Environmental Modification Occupational Therapist"),
        ("225XE1200X", "Ergonomics Occupational Therapist"),
        ("225XF0002X", "Feeding, Eating & Swallowing Occupational Therapist"),
        ("225XG0600X", "Gerontology Occupational Therapist"),
        ("225XH1200X", "Hand Occupational Therapist"),
        ("225XH1300X", "Human Factors Occupational Therapist"),
        ("225XL0004X", "Low Vision Occupational Therapist"),
        ("225XM0800X", "Mental Health Occupational Therapist"),
        ("225XN1300X", "Neurorehabilitation Occupational Therapist"),
        ("225XP0019X", "Physical Rehabilitation Occupational Therapist"),
        ("225XP0200X", "Pediatric Occupational Therapist"),
        ("225XR0403X", "Driving and Community Mobility Occupational Therapist"),
        ("224Z00000X", "Occupational Therapy Assistant"),
    )),
    "Physical therapy": ("individual", "PT DPT physiotherapy", (
        ("225100000X", "Physical Therapist"),
        ("2251C2600X", "Cardiopulmonary Physical Therapist"),
        ("2251E1200X", "Ergonomics Physical Therapist"),
        ("2251E1300X", "Clinical Electrophysiology Physical Therapist"),
        ("2251G0304X", "Geriatric Physical Therapist"),
        ("2251H1200X", "Hand Physical Therapist"),
        ("2251H1300X", "Human Factors Physical Therapist"),
        ("2251N0400X", "Neurology Physical Therapist"),
        ("2251P0200X", "Pediatric Physical Therapist"),
        ("2251S0007X", "Sports Physical Therapist"),
        ("2251X0800X", "Orthopedic Physical Therapist"),
        ("225200000X", "Physical Therapy Assistant"),
    )),
    "Speech, language and hearing": ("individual", "SLP speech therapy CCC", (
        ("235Z00000X", "Speech-Language Pathologist"),
        ("2355S0801X", "Speech-Language Assistant"),
        ("231H00000X", "Audiologist"),
    )),
    "Psychology": ("individual", "psychologist PhD PsyD", (
        ("103T00000X", "Psychologist"),
        ("103TA0400X", "Addiction (Substance Use Disorder) Psychologist"),
        ("103TA0700X", "Adult Development & Aging Psychologist"),
        ("103TB0200X", "Cognitive & Behavioral Psychologist"),
        ("103TC0700X", "Clinical Psychologist"),
        ("103TC1900X", "Counseling Psychologist"),
        ("103TC2200X", "Clinical Child & Adolescent Psychologist"),
        ("103TE1100X", "Exercise & Sports Psychologist"),
        ("103TF0000X", "Family Psychologist"),
        ("103TF0200X", "Forensic Psychologist"),
        ("103TH0004X", "Health Psychologist"),
        ("103TH0100X", "Health Service Psychologist"),
        ("103TM1800X", "Intellectual & Developmental Disabilities Psychologist"),
        ("103TP0016X", "Prescribing (Medical) Psychologist"),
        ("103TP0814X", "Psychoanalysis Psychologist"),
        ("103TP2701X", "Group Psychotherapy Psychologist"),
        ("103TR0400X", "Rehabilitation Psychologist"),
        ("103TS0200X", "School Psychologist"),
        ("103G00000X", "Clinical Neuropsychologist"),
    )),
    "Counseling": ("individual", "LPC LPCC LMHC LCPC counsellor therapist", (
        ("101Y00000X", "Counselor"),
        ("101YA0400X", "Addiction (Substance Use Disorder) Counselor"),
        ("101YM0800X", "Mental Health Counselor"),
        ("101YP1600X", "Pastoral Counselor"),
        ("101YP2500X", "Professional Counselor"),
        ("101YS0200X", "School Counselor"),
    )),
    "Social work": ("individual", "LCSW LICSW LMSW therapist", (
        ("104100000X", "Social Worker"),
        ("1041C0700X", "Clinical Social Worker"),
        ("1041S0200X", "School Social Worker"),
    )),
    "Marriage and family therapy": ("individual", "LMFT MFT couples", (
        ("106H00000X", "Marriage & Family Therapist"),
    )),
    "Behavior analysis": ("individual", "ABA BCBA BCaBA RBT behavioral", (
        ("103K00000X", "Behavior Analyst"),
        ("106E00000X", "Assistant Behavior Analyst"),
        ("106S00000X", "Behavior Technician"),
    )),
    "Creative arts therapy": ("individual", "creative arts", (
        ("221700000X", "Art Therapist"),
        ("225A00000X", "Music Therapist"),
        ("225600000X", "Dance Therapist"),
        ("101200000X", "Drama Therapist"),
    )),
    "Group practice": ("group", "practice", (
        ("193200000X", "Multi-Specialty Group"),
        ("193400000X", "Single Specialty Group"),
    )),
    "Clinic or agency": ("organization", "organization facility", (
        ("261QM0801X", "Mental Health Clinic/Center (Including Community Mental Health Center)"),
        ("261QM0850X", "Adult Mental Health Clinic/Center"),
        ("261QM0855X", "Adolescent and Children Mental Health Clinic/Center"),
        ("261QP2000X", "Physical Therapy Clinic/Center"),
        ("261QR0400X", "Rehabilitation Clinic/Center"),
        ("261QR0401X", "Comprehensive Outpatient Rehabilitation Facility (CORF)"),
        ("261QH0700X", "Hearing and Speech Clinic/Center"),
        ("251S00000X", "Community/Behavioral Health Agency"),
    )),
}
# fmt: on


def _catalogue() -> dict[str, Taxonomy]:
    out: dict[str, Taxonomy] = {}
    for profession, (kind, _, entries) in _LIST.items():
        for code, name in entries:
            if code in out:
                raise ValueError(f"taxonomy {code} is listed twice")
            out[code] = Taxonomy(code=code, name=name, kind=kind, profession=profession)
    return out


CATALOGUE = _catalogue()


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


_SEARCH_WORDS: dict[str, frozenset[str]] = {
    code: frozenset(_words(f"{t.name} {t.profession} {_LIST[t.profession][1]}"))
    for code, t in CATALOGUE.items()
}


def normalise_code(text: str) -> str:
    """A code's shape checked (upper case, surrounding spaces dropped); it need not be listed."""
    code = text.strip().upper()
    if not _SHAPE.fullmatch(code):
        raise ProviderValueError(f"must be a taxonomy code: {SHAPE_WORDS}", rule="taxonomy_shape")
    return code


def lookup(code: str) -> Taxonomy | None:
    """The listed taxonomy with this code (any case, surrounding spaces ignored), or None."""
    return CATALOGUE.get(code.strip().upper())


def known(text: str) -> Taxonomy:
    """The listed taxonomy for a code, or ProviderValueError (its shape, or not listed)."""
    found = CATALOGUE.get(normalise_code(text))
    if found is None:
        raise ProviderValueError(
            "is not one of the taxonomy codes Therabill bills therapy claims under; "
            "search the list by name (e.g. 'occupational', 'counselor')",
            rule="taxonomy_unknown",
        )
    return found


def individual(text: str) -> Taxonomy:
    """A listed taxonomy that a person may hold (not a group's or an organization's)."""
    found = known(text)
    if found.kind != "individual":
        raise ProviderValueError(
            f"is the code of a {'group' if found.kind == 'group' else 'clinic or agency'} "
            f"({found.name}); a person bills under their own specialty, e.g. 225X00000X "
            "Occupational Therapist",
            rule="taxonomy_not_individual",
        )
    return found


def search(query: str, *, kinds: frozenset[TaxonomyKind] | None = None) -> list[Taxonomy]:
    """The listed taxonomies where every word of the query starts a word of the name, the
    profession or its usual abbreviations ("occ hand", "lcsw", "speech"), in list order; a whole
    code finds that code.
    ``kinds`` keeps only those kinds. An empty query finds nothing."""
    exact = lookup(query)
    if exact is not None:
        found = [exact]
    else:
        wanted = _words(query)
        found = [
            t
            for code, t in CATALOGUE.items()
            if wanted and all(any(w.startswith(q) for w in _SEARCH_WORDS[code]) for q in wanted)
        ]
    return [t for t in found if kinds is None or t.kind in kinds]
