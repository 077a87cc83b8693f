"""The identifiers a claim names its providers by: the NPI, and the tax id (an EIN or an SSN).

NPI (National Provider Identifier, 45 CFR 162.406; CMS, "Requirements for NPI Check Digit"):
10 digits, the first 1 or 2 (the only first digits issued), the last a check digit. The check digit
is the Luhn "double-add-double" digit of the first nine digits as if they were preceded by the
card-issuer prefix 80840 (80: health, 840: United States). The prefix's own digits always add 24,
so the digit is worked out on the nine digits with 24 added to the sum. The standard's worked
example: 123456789 gives check digit 3, so 1234567893 is an NPI.

EIN (Employer Identification Number): 9 digits, written NN-NNNNNNN. The first two are the prefix
of the IRS campus or channel that assigned it; the IRS publishes the valid prefixes ("How EINs are
assigned and valid EIN prefixes"). The list has moved prefixes between campuses over the years but
not added or dropped any: a prefix outside it (00, 07-09, 17-19, 28, 29, 49, 69, 70, 78, 79, 89,
96, 97) has never been assigned. Nothing else in an EIN can be checked: it has no check digit.

SSN (Social Security Number): 9 digits, written AAA-GG-SSSS. The Social Security Administration
never assigns area 000, 666 or 900-999 (numbers starting with 9 are the IRS's individual taxpayer
numbers, ITINs), group 00 or serial 0000 (SSA, "Social Security Number Randomization"). It has no
check digit either.

A tax id is stored as its 9 digits. Messages never contain a tax id: at most the two-digit prefix
of an EIN, which says nothing about its holder.
"""

from __future__ import annotations

import re
from typing import Literal

from therabill.providers.errors import ProviderValueError

TaxIdKind = Literal["ein", "ssn"]

NPI_CARD_ISSUER_PREFIX = "80840"
# What the prefix adds to the sum: in the 14-digit number 80840 + nine digits, counted from the
# right, the prefix holds positions 10 to 14 (0, 4, 8, 0, 8); the odd positions are doubled, so
# 0 + 4*2 + 8 + 0*2 + 8 = 24.
NPI_PREFIX_SUM = 24
NPI_FIRST_DIGITS = frozenset("12")

# Every prefix the IRS lists for a campus, the Internet, or the SBA (see the module docstring).
EIN_PREFIXES = frozenset(
    f"{n:02d}"
    for n in (
        *range(1, 7),  # 01-06 Brookhaven
        *range(10, 17),  # 10, 12 Andover; 11, 13, 14, 16 Brookhaven; 15 Fresno
        *range(20, 28),  # 20, 26, 27 Internet; 21-23, 25 Brookhaven; 24 Fresno
        *range(30, 49),  # Cincinnati, SBA (31), Philadelphia, Kansas City, Internet (45-47), ...
        *range(50, 69),  # Austin (50, 53), Brookhaven, Atlanta (60, 67), Cincinnati (61), ...
        *range(71, 78),  # 71-77 Philadelphia
        *range(80, 89),  # 80 Ogden; 81-88 Internet and Philadelphia
        *range(90, 96),  # 90 Ogden; 91-93 Philadelphia; 94, 95 Memphis
        98,
        99,  # Philadelphia
    )
)

_DIGITS = re.compile(r"[0-9]+")
_EIN = re.compile(r"([0-9]{2})-?([0-9]{7})")
_SSN = re.compile(r"([0-9]{3})-?([0-9]{2})-?([0-9]{4})")


def _luhn_sum(digits: str) -> int:
    """The double-add-double sum of a number whose check digit is still to be appended: from the
    right, the first, third, fifth... digits are doubled and a two-digit product adds its digits."""
    total = 0
    for position, ch in enumerate(reversed(digits)):
        value = int(ch)
        if position % 2 == 0:
            value *= 2
            value = value - 9 if value > 9 else value
        total += value
    return total


def npi_check_digit(first_nine: str) -> int:
    """The check digit of the NPI whose first nine digits are given (the prefix 80840 implied)."""
    if len(first_nine) != 9 or not _DIGITS.fullmatch(first_nine):
        raise ValueError("the first nine digits of an NPI")
    return (10 - (_luhn_sum(first_nine) + NPI_PREFIX_SUM) % 10) % 10


def normalise_npi(text: str) -> str:
    """An NPI's 10 digits (surrounding spaces dropped), or ProviderValueError saying what is wrong."""
    npi = text.strip()
    if len(npi) != 10 or not _DIGITS.fullmatch(npi):
        raise ProviderValueError(
            "must be an NPI: 10 digits, without spaces or dashes (e.g. 1234567893)", rule="npi_shape"
        )
    if npi[0] not in NPI_FIRST_DIGITS:
        raise ProviderValueError("is not an NPI: an NPI starts with 1 or 2", rule="npi_first_digit")
    if int(npi[9]) != npi_check_digit(npi[:9]):
        raise ProviderValueError(
            "is not a valid NPI: its last digit (the check digit) does not match the others; "
            "a digit may be mistyped or two digits swapped",
            rule="npi_check_digit",
        )
    return npi


def normalise_ein(text: str) -> str:
    """An EIN's 9 digits, from ``NN-NNNNNNN`` or ``NNNNNNNNN``."""
    found = _EIN.fullmatch(text.strip())
    if found is None:
        if _SSN.fullmatch(text.strip()) and "-" in text:
            raise ProviderValueError(
                "is written like an SSN (NNN-NN-NNNN); an EIN is written NN-NNNNNNN", rule="ein_shape"
            )
        raise ProviderValueError("must be an EIN: 9 digits, written NN-NNNNNNN", rule="ein_shape")
    prefix, rest = found.groups()
    if prefix not in EIN_PREFIXES:
        raise ProviderValueError(
            f"is not an EIN: the IRS has never issued an EIN starting with {prefix}; "
            "check the number on the practice's IRS letter (CP 575)",
            rule="ein_prefix",
        )
    return prefix + rest


def normalise_ssn(text: str) -> str:
    """An SSN's 9 digits, from ``NNN-NN-NNNN`` or ``NNNNNNNNN``. Messages never repeat a digit."""
    found = _SSN.fullmatch(text.strip())
    if found is None:
        raise ProviderValueError("must be an SSN: 9 digits, written NNN-NN-NNNN", rule="ssn_shape")
    area, group, serial = found.groups()
    if area in ("000", "666") or area.startswith("9"):
        raise ProviderValueError(
            "is not an SSN: no SSN starts with 000, 666 or 9 (numbers starting with 9 are ITINs, "
            "which a claim cannot carry as the provider's tax id)",
            rule="ssn_area",
        )
    if group == "00":
        raise ProviderValueError("is not an SSN: its middle two digits cannot be 00", rule="ssn_group")
    if serial == "0000":
        raise ProviderValueError("is not an SSN: its last four digits cannot be 0000", rule="ssn_serial")
    return area + group + serial


def normalise_tax_id(kind: TaxIdKind, text: str, *, organization: bool) -> str:
    """A tax id's 9 digits. An organization has an EIN; a person may bill under an EIN or their
    SSN."""
    if kind == "ssn":
        if organization:
            raise ProviderValueError(
                "an organization bills under its EIN: an SSN belongs to a person",
                rule="organization_ein_only",
            )
        return normalise_ssn(text)
    return normalise_ein(text)


def masked_tax_id(kind: TaxIdKind, digits: str) -> str:
    """How a stored tax id is shown: an EIN in full (NN-NNNNNNN), an SSN by its last four only."""
    if kind == "ein":
        return f"{digits[:2]}-{digits[2:]}"
    return f"***-**-{digits[-4:]}"
