"""The provider identifiers: the NPI's check digit, the EIN's IRS prefixes, the SSN's never-issued
parts, an organization's EIN-only rule, and messages that never repeat a tax id."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from therabill.core.errors import InvalidRequestError
from therabill.providers.errors import ProviderValueError
from therabill.providers.identifiers import (
    EIN_PREFIXES,
    masked_tax_id,
    normalise_ein,
    normalise_npi,
    normalise_ssn,
    normalise_tax_id,
    npi_check_digit,
)


def _luhn_valid(number: str) -> bool:
    """The plain ISO Luhn check of a whole number (check digit included): a second way to the same
    answer, over the 15-digit card-issuer form 80840 + NPI."""
    total = 0
    for position, ch in enumerate(reversed(number)):
        value = int(ch) * (2 if position % 2 else 1)
        total += value // 10 + value % 10
    return total % 10 == 0


# -- NPI ---------------------------------------------------------------------------------------

# Worked by hand (doubling the 1st, 3rd, ... digits from the right of the first nine, adding the
# digits of each product, adding 24 for the prefix 80840, then up to the next multiple of 10):
#   123456789: 18→9, 8, 14→5, 6, 10→1, 4, 6, 2, 2 = 43; +24 = 67 → 3   (CMS's own example)
#   155859879: 9, 7, 7, 9, 1, 8, 1, 5, 2 = 49; +24 = 73 → 7             (a published worked example)
#   124531959: 9, 5, 9, 1, 6, 5, 8, 2, 2 = 47; +24 = 71 → 9             (the UHIN test claim's)
#   191230195: 1, 9, 2, 0, 6, 2, 2, 9, 2 = 33; +24 = 57 → 3             (the TR3 example 1's)
#   100000000: 0, ..., 1→2 = 2; +24 = 26 → 4
#   200000000: 2→4 = 4; +24 = 28 → 2
#   100000040: 0, 4, 0, ..., 2 = 6; +24 = 30 → 0                        (a check digit of 0)
VALID_NPIS = ["1234567893", "1558598797", "1245319599", "1912301953", "1000000004", "2000000002"]


@pytest.mark.parametrize("npi", [*VALID_NPIS, "1000000400"])
def test_valid_npis_pass_and_come_back_as_their_digits(npi: str) -> None:
    assert normalise_npi(npi) == npi
    assert normalise_npi(f"  {npi} ") == npi


def test_the_standard_worked_example_gives_check_digit_3() -> None:
    assert npi_check_digit("123456789") == 3
    assert npi_check_digit("100000040") == 0


@pytest.mark.parametrize(
    "npi",
    [
        "1234567890",  # the example with a wrong last digit
        "1234567839",  # the last two digits swapped (check digit for 123456783 is 6)
        "1234567993",  # one digit mistyped (8 → 9: the check digit would be 2)
        "1999996666",  # the TR3 COB example's (check digit would be 7)
        "1558598798",
    ],
)
def test_a_wrong_check_digit_is_refused_in_words(npi: str) -> None:
    with pytest.raises(ProviderValueError) as caught:
        normalise_npi(npi)
    assert caught.value.rule == "npi_check_digit"
    assert "check digit" in caught.value.message
    assert npi not in caught.value.message


@pytest.mark.parametrize(
    ("npi", "rule"),
    [
        ("", "npi_shape"),
        ("123456789", "npi_shape"),
        ("12345678931", "npi_shape"),
        ("123456789X", "npi_shape"),
        ("1234-567893", "npi_shape"),
        ("1234 567893", "npi_shape"),
        ("١٢٣٤٥٦٧٨٩٣", "npi_shape"),  # Arabic-Indic digits are not NPI digits
        ("0100000009", "npi_first_digit"),  # the TR3 example's placeholder
        ("9090909090", "npi_first_digit"),
        ("3000000000", "npi_first_digit"),
    ],
)
def test_npis_of_the_wrong_shape_are_refused(npi: str, rule: str) -> None:
    with pytest.raises(ProviderValueError) as caught:
        normalise_npi(npi)
    assert caught.value.rule == rule


@given(st.sampled_from("12"), st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_the_check_digit_agrees_with_luhn_over_the_card_issuer_form(first: str, rest: str) -> None:
    nine = first + rest
    npi = nine + str(npi_check_digit(nine))
    assert normalise_npi(npi) == npi
    assert _luhn_valid("80840" + npi)
    for wrong in "0123456789":
        if wrong != npi[-1]:
            assert not _luhn_valid("80840" + nine + wrong)
            with pytest.raises(ProviderValueError):
                normalise_npi(nine + wrong)


def test_a_provider_value_error_is_a_bad_request_and_a_value_error() -> None:
    with pytest.raises(ProviderValueError) as caught:
        normalise_npi("1234567890")
    assert isinstance(caught.value, InvalidRequestError)
    assert isinstance(caught.value, ValueError)
    assert caught.value.details == {"rule": "npi_check_digit"}


# -- EIN ---------------------------------------------------------------------------------------

# The IRS's table, by campus, as published (the Internet and Philadelphia rows have traded
# prefixes over the years; every version's prefixes are here).
IRS_TABLE = {
    "Andover": "10 12",
    "Atlanta": "60 67",
    "Austin": "50 53",
    "Brookhaven": "01 02 03 04 05 06 11 13 14 16 21 22 23 25 34 51 52 54 55 56 57 58 59 65",
    "Cincinnati": "30 32 35 36 37 38 61",
    "Fresno": "15 24",
    "Kansas City": "40 44",
    "Memphis": "94 95",
    "Ogden": "80 90",
    "Philadelphia": "33 39 41 42 43 45 46 47 48 62 63 64 66 68 71 72 73 74 75 76 77 81 82 83 "
    "84 85 86 87 88 91 92 93 98 99",
    "Internet": "20 26 27 45 46 47 81 82 83 84 85 86 87 88",
    "Small Business Administration": "31",
}
NEVER_ISSUED = [
    "00",
    "07",
    "08",
    "09",
    "17",
    "18",
    "19",
    "28",
    "29",
    "49",
    "69",
    "70",
    "78",
    "79",
    "89",
    "96",
    "97",
]


def test_the_valid_prefixes_are_exactly_the_irs_table() -> None:
    listed = {p for row in IRS_TABLE.values() for p in row.split()}
    assert listed == EIN_PREFIXES
    assert len(EIN_PREFIXES) == 83
    assert set(NEVER_ISSUED).isdisjoint(EIN_PREFIXES)
    assert len(EIN_PREFIXES) + len(NEVER_ISSUED) == 100


@pytest.mark.parametrize(
    ("given", "digits"),
    [
        ("12-3456789", "123456789"),
        ("123456789", "123456789"),
        (" 58-7654321 ", "587654321"),
        ("01-0000001", "010000001"),
        ("99-9999999", "999999999"),
        ("31-0000000", "310000000"),
    ],
)
def test_valid_eins_normalise_to_nine_digits(given: str, digits: str) -> None:
    assert normalise_ein(given) == digits


@pytest.mark.parametrize(
    "ein",
    [
        "",
        "12345678",
        "1234567890",
        "12-345678",
        "12-34567890",
        "1-23456789",
        "12 3456789",
        "AB-1234567",
        "12--3456789",
        "12-3456789\n9",
    ],
)
def test_eins_of_the_wrong_shape_are_refused(ein: str) -> None:
    with pytest.raises(ProviderValueError) as caught:
        normalise_ein(ein)
    assert caught.value.rule == "ein_shape"
    assert "NN-NNNNNNN" in caught.value.message


def test_an_ssn_given_as_an_ein_is_named_as_such() -> None:
    with pytest.raises(ProviderValueError) as caught:
        normalise_ein("123-45-6789")
    assert caught.value.rule == "ein_shape"
    assert "written like an SSN" in caught.value.message
    assert "6789" not in caught.value.message


@pytest.mark.parametrize("prefix", NEVER_ISSUED)
def test_a_prefix_the_irs_never_issued_is_refused(prefix: str) -> None:
    with pytest.raises(ProviderValueError) as caught:
        normalise_ein(f"{prefix}-3456789")
    assert caught.value.rule == "ein_prefix"
    assert f"starting with {prefix}" in caught.value.message
    assert "3456789" not in caught.value.message


# -- SSN ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "digits"),
    [
        ("123-45-6789", "123456789"),
        ("123456789", "123456789"),
        ("001-01-0001", "001010001"),
        ("665-99-9999", "665999999"),
        ("667-01-0001", "667010001"),
        ("899-12-3456", "899123456"),
        (" 772-10-2000 ", "772102000"),
    ],
)
def test_valid_ssns_normalise_to_nine_digits(given: str, digits: str) -> None:
    assert normalise_ssn(given) == digits


@pytest.mark.parametrize(
    ("ssn", "rule"),
    [
        ("000-12-3456", "ssn_area"),
        ("666-12-3456", "ssn_area"),
        ("900-12-3456", "ssn_area"),
        ("912-70-1234", "ssn_area"),  # an ITIN
        ("999-99-9999", "ssn_area"),
        ("123-00-4567", "ssn_group"),
        ("123-45-0000", "ssn_serial"),
        ("12345678", "ssn_shape"),
        ("1234567890", "ssn_shape"),
        ("123 45 6789", "ssn_shape"),
        ("12-3456789", "ssn_shape"),
        ("abc-de-fghi", "ssn_shape"),
    ],
)
def test_impossible_ssns_are_refused_without_repeating_them(ssn: str, rule: str) -> None:
    with pytest.raises(ProviderValueError) as caught:
        normalise_ssn(ssn)
    assert caught.value.rule == rule
    digits = "".join(ch for ch in ssn if ch.isdigit())
    assert ssn not in caught.value.message
    if len(digits) == 9:
        assert digits not in caught.value.message
        assert digits[3:5] + "-" + digits[5:] not in caught.value.message
        assert digits[5:] not in caught.value.message or digits[5:] == "0000"


# -- a tax id for an entity --------------------------------------------------------------------


def test_an_organization_may_use_an_ein_only() -> None:
    assert normalise_tax_id("ein", "12-3456789", organization=True) == "123456789"
    with pytest.raises(ProviderValueError) as caught:
        normalise_tax_id("ssn", "123-45-6789", organization=True)
    assert caught.value.rule == "organization_ein_only"
    assert "6789" not in caught.value.message


def test_a_person_may_use_an_ein_or_their_ssn() -> None:
    assert normalise_tax_id("ein", "123456789", organization=False) == "123456789"
    assert normalise_tax_id("ssn", "123-45-6789", organization=False) == "123456789"
    with pytest.raises(ProviderValueError) as caught:
        normalise_tax_id("ssn", "12-3456789", organization=False)
    assert caught.value.rule == "ssn_shape"


def test_an_ssn_is_shown_by_its_last_four_and_an_ein_in_full() -> None:
    assert masked_tax_id("ssn", "123456789") == "***-**-6789"
    assert masked_tax_id("ein", "123456789") == "12-3456789"
