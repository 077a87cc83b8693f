"""The billing provider's address: no box of any kind in a street line (and the streets that only
look like one), ZIP and ZIP+4, the USPS state codes."""

from __future__ import annotations

import pytest

from therabill.providers.address import (
    STATES,
    box_in,
    check_street_address,
    normalise_state,
    normalise_zip,
)
from therabill.providers.errors import ProviderValueError

BOXES = [
    # PO box, however it is written
    ("PO Box 123", "PO BOX"),
    ("P.O. Box 123", "PO BOX"),
    ("P. O. Box 123", "PO BOX"),
    ("p.o. box 123", "PO BOX"),
    ("PO BOX 123", "PO BOX"),
    ("po box 123", "PO BOX"),
    ("P O Box 123", "PO BOX"),
    ("P/O Box 123", "PO BOX"),
    ("P-O Box 123", "PO BOX"),
    ("PO. Box 123", "PO BOX"),
    ("  po   box   12 ", "PO BOX"),
    ("PO Box", "PO BOX"),
    ("PO Box A", "PO BOX"),
    ("123 Main St, PO Box 4", "PO BOX"),
    ("\uff30.\uff2f. \uff22\uff4f\uff58 12", "PO BOX"),  # full-width letters
    ("P0 Box 123", "PO BOX"),  # a zero for the O
    ("P.0. Box 123", "PO BOX"),
    ("P.O.Box 123", "POBOX"),
    ("P.O.Box123", "POBOX"),
    ("POBox 123", "POBOX"),
    ("POBOX123", "POBOX"),
    ("Pobox 12", "POBOX"),
    ("pobox", "POBOX"),
    ("P0BOX 9", "POBOX"),
    ("POB 123", "POB"),
    ("P.O.B. 123", "POB"),
    ("POB123", "POB"),
    ("P0B 12", "POB"),
    ("P O B 123", "PO B"),
    ("P. O. B. 12", "PO B"),
    ("Post Office Box 123", "POST OFFICE BOX"),
    ("post-office box 123", "POST OFFICE BOX"),
    ("POST OFFICE BOX", "POST OFFICE BOX"),
    ("Post Box 123", "POST BOX"),
    ("Postal Box 9", "POSTAL BOX"),
    ("Postbox 9", "POSTBOX"),
    # drawers
    ("PO Drawer 5", "PO DRAWER"),
    ("P.O. Drawer 5", "PO DRAWER"),
    ("P0 Drawer 5", "PO DRAWER"),
    ("Post Office Drawer 5", "POST OFFICE DRAWER"),
    ("Drawer 5", "DRAWER"),
    ("Drawer C", "DRAWER"),
    # lock boxes
    ("Lock Box 12", "LOCK BOX"),
    ("lock-box 7", "LOCK BOX"),
    ("Lockbox 12", "LOCKBOX"),
    ("LOCKBOX", "LOCKBOX"),
    ("Dept 4410 Lockbox", "LOCKBOX"),
    # a bare box number
    ("Box 123", "BOX"),
    ("BOX #123", "BOX"),
    ("Box# 12", "BOX"),
    ("Box12", "BOX"),
    ("Box A", "BOX"),
    ("Caller Box 4000", "BOX"),
    ("RR 2 Box 45", "BOX"),
    ("HC 63 Box 12", "BOX"),
    ("Mailbox 7", "MAILBOX"),
    ("Apartado 1234", "APARTADO"),  # Puerto Rico
    ("Apdo. 1234", "APDO"),
    # private mailboxes
    ("PMB 456", "PMB"),
    ("123 Main St PMB 456", "PMB"),
    ("123 Main St #PMB 4", "PMB"),
    ("123 Main St Ste 5 PMB", "PMB"),
    ("Private Mailbox 12", "PRIVATE MAILBOX"),
    ("Private Mail Box 12", "PRIVATE MAIL BOX"),
]

STREETS = [
    "12 Harbor Street",
    "Pobox Road",
    "12 Pobox Rd",
    "Boxwood Lane",
    "100 Boxwood Lane",
    "Box Elder Road",
    "12 Box Elder St",
    "Box Hill Ct",
    "Pollock Box St",
    "Bay Box Plaza",
    "Boxer Ct",
    "Post Road",
    "1200 Boston Post Rd",
    "1 Post Office Square",
    "2 Post Office Sq Ste 200",
    "Postal Way",
    "Drawer Lane",
    "Mailbox Peak Rd",
    "Lockwood Ave",
    "Pob Hill Rd",
    "Poboy St",
    "2 Po Ave",
    "350 Fifth Ave Fl 3",
    "Suite B",
    "Unit 4B",
    "PO Building 3",
    "Pocono Blvd",
    "Calle Apartado",
    "12 Calle Luna",
]


@pytest.mark.parametrize(("line", "designation"), BOXES)
def test_a_box_in_any_spelling_is_found(line: str, designation: str) -> None:
    assert box_in(line) == designation


@pytest.mark.parametrize(("line", "designation"), BOXES)
def test_a_box_is_refused_as_the_billing_providers_street_address(line: str, designation: str) -> None:
    with pytest.raises(ProviderValueError) as caught:
        check_street_address(line)
    assert caught.value.rule == "street_address"
    assert f"not a box ({designation})" in caught.value.message
    assert "pay-to address" in caught.value.message


@pytest.mark.parametrize("line", STREETS)
def test_streets_that_only_look_like_a_box_are_streets(line: str) -> None:
    assert box_in(line) is None
    assert check_street_address(line) == line


# -- ZIP and ZIP+4 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "normal"),
    [("04101-1234", "04101-1234"), ("041011234", "04101-1234"), (" 00501-0001 ", "00501-0001")],
)
def test_zip_plus_4_normalises_to_five_dash_four(given: str, normal: str) -> None:
    assert normalise_zip(given, plus_four=True) == normal
    assert normalise_zip(given, plus_four=False) == normal


@pytest.mark.parametrize(
    "bad", ["04101", "0410-11234", "04101-123", "04101-12345", "04101 1234", "ABCDE-1234", "", "04101-"]
)
def test_the_billing_provider_needs_all_nine_digits(bad: str) -> None:
    with pytest.raises(ProviderValueError) as caught:
        normalise_zip(bad, plus_four=True)
    assert caught.value.rule == "zip_plus_4"
    assert "NNNNN-NNNN" in caught.value.message


def test_a_five_digit_zip_is_told_where_to_find_the_last_four() -> None:
    with pytest.raises(ProviderValueError) as caught:
        normalise_zip("04101", plus_four=True)
    assert "ZIP code look-up" in caught.value.message


def test_other_addresses_take_five_digits_or_nine() -> None:
    assert normalise_zip("04101", plus_four=False) == "04101"
    assert normalise_zip(" 04101 ", plus_four=False) == "04101"
    for bad in ("4101", "041012", "04101-12", "ME 04101"):
        with pytest.raises(ProviderValueError) as caught:
            normalise_zip(bad, plus_four=False)
        assert caught.value.rule == "zip"


# -- states ------------------------------------------------------------------------------------


def test_the_states_dc_and_five_territories_are_accepted() -> None:
    assert len(STATES) == 56
    for code in ("ME", "CA", "NY", "DC", "AS", "GU", "MP", "PR", "VI"):
        assert normalise_state(code) == code
    assert normalise_state(" me ") == "ME"
    assert normalise_state("Dc") == "DC"


@pytest.mark.parametrize("bad", ["FM", "MH", "PW", "AA", "AE", "AP", "XX", "Maine", "M", "ME.", "", "UM"])
def test_other_codes_are_refused(bad: str) -> None:
    with pytest.raises(ProviderValueError) as caught:
        normalise_state(bad)
    assert caught.value.rule == "state"
