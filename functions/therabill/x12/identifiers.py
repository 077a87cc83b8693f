"""Identifier checks the X12 builders share."""

from __future__ import annotations


def npi_is_valid(npi: str) -> bool:
    """A National Provider Identifier: 10 digits, the last a Luhn check digit over 80840 + the
    first nine (the card-issuer prefix the NPI standard prescribes)."""
    if len(npi) != 10 or not npi.isdigit():
        return False
    digits = [int(char) for char in "80840" + npi[:9]]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if position % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return (10 - total % 10) % 10 == int(npi[9])
