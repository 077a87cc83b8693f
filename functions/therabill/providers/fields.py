"""The shapes of a provider set-up's values as pydantic field types, each refused in words (the
rule's name is the error's type; the message never repeats the value, and the models hide their
input in errors, so no tax id reaches a log through a validation error)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Annotated

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from therabill.providers import taxonomy
from therabill.providers.address import (
    CITY_MAX,
    STREET_LINE_MAX,
    check_street_address,
    normalise_state,
    normalise_zip,
)
from therabill.providers.errors import ProviderValueError
from therabill.providers.identifiers import normalise_npi

# The shape of a staff user's id, as sessions and supervision take it.
_STAFF_ID = re.compile(r"[A-Za-z0-9_.@:\-]{1,64}")
_CREDENTIAL = re.compile(r"[A-Za-z][A-Za-z0-9./&-]{0,19}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[A-Za-z]{2,}")
_PHONE_CHARS = frozenset("0123456789 ()-.+")
_EMAIL_MAX = 254


def _field(check: Callable[[str], str]) -> BeforeValidator:
    """A field whose text ``check`` normalises, or refuses with a ProviderValueError."""

    def run(value: object) -> str:
        if not isinstance(value, str):
            raise PydanticCustomError("string_type", "must be text")
        try:
            return check(value)
        except ProviderValueError as exc:
            raise PydanticCustomError(exc.rule, exc.message) from None

    return BeforeValidator(run)


def text(max_length: int) -> Callable[[str], str]:
    """One line of text: surrounding spaces dropped, not empty, at most ``max_length`` characters,
    no control characters or line breaks."""

    def check(value: str) -> str:
        line = value.strip()
        if not line:
            raise ProviderValueError("must not be empty", rule="empty")
        if len(line) > max_length:
            raise ProviderValueError(f"must be at most {max_length} characters", rule="too_long")
        if any(unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") for ch in line):
            raise ProviderValueError(
                "must be text on one line, without control characters", rule="control_character"
            )
        return line

    return check


def _billing_street(value: str) -> str:
    return check_street_address(text(STREET_LINE_MAX)(value))


def _phone(value: str) -> str:
    """A US (NANP) phone number as its 10 digits: area code and exchange each start 2 to 9."""
    digits = "".join(ch for ch in value if ch.isdigit())
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    shaped = not (set(value) - _PHONE_CHARS) and len(digits) == 10
    if not shaped or digits[0] in "01" or digits[3] in "01":
        raise ProviderValueError(
            "must be a US phone number with its area code, e.g. (207) 555-0143", rule="phone"
        )
    return digits


def _email(value: str) -> str:
    address = text(_EMAIL_MAX)(value)
    if not _EMAIL.fullmatch(address):
        raise ProviderValueError("must be an email address, e.g. billing@example.com", rule="email")
    return address


def _credential(value: str) -> str:
    found = value.strip()
    if not _CREDENTIAL.fullmatch(found):
        raise ProviderValueError(
            "must be one credential as written after a name (e.g. LCSW, OTR/L, CCC-SLP): "
            "a letter, then letters, digits, '.', '/', '&' or '-', at most 20 characters",
            rule="credential",
        )
    return found


def _staff_id(value: str) -> str:
    if not _STAFF_ID.fullmatch(value):
        raise ProviderValueError("must be a staff user's id", rule="staff_id")
    return value


Npi = Annotated[str, _field(normalise_npi)]
TaxonomyCode = Annotated[str, _field(lambda v: taxonomy.known(v).code)]
IndividualTaxonomyCode = Annotated[str, _field(lambda v: taxonomy.individual(v).code)]
StreetLine = Annotated[str, _field(text(STREET_LINE_MAX))]
BillingStreetLine = Annotated[str, _field(_billing_street)]
City = Annotated[str, _field(text(CITY_MAX))]
State = Annotated[str, _field(normalise_state)]
Zip = Annotated[str, _field(lambda v: normalise_zip(v, plus_four=False))]
ZipPlus4 = Annotated[str, _field(lambda v: normalise_zip(v, plus_four=True))]
Phone = Annotated[str, _field(_phone)]
Email = Annotated[str, _field(_email)]
Credential = Annotated[str, _field(_credential)]
StaffId = Annotated[str, _field(_staff_id)]
# The 837P's lengths: an organization's or a person's last name 60 (NM103), a first name 35
# (NM104), a middle name 25 (NM105), a contact's name 60 (PER02).
OrganizationName = Annotated[str, _field(text(60))]
LastName = Annotated[str, _field(text(60))]
FirstName = Annotated[str, _field(text(35))]
MiddleName = Annotated[str, _field(text(25))]
ContactName = Annotated[str, _field(text(60))]
