"""The 270 eligibility inquiry (005010X279A1) from a typed inquiry: the minimal data payers ask for.

Loops: 2000A/2100A the payer (information source), 2000B/2100B the provider (information receiver),
2000C/2100C the subscriber, and 2000D/2100D the dependent when the patient is not the subscriber
(a dependent with a member id of their own is sent as the subscriber instead, as the guide asks).
The trace (TRN), the date of service (DTP*291) and the service types (one EQ each) go in the
patient's loop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from therabill.core.errors import InvalidRequestError
from therabill.x12.delimiters import DEFAULT, Delimiters
from therabill.x12.eligibility.codes import THERAPY_SERVICE_TYPES
from therabill.x12.identifiers import npi_is_valid
from therabill.x12.values import format_date
from therabill.x12.writer import Built, ControlNumbers, Envelope, Transaction, seg, write_interchange

VERSION = "005010X279A1"
_SERVICE_TYPE = re.compile(r"[A-Z0-9]{1,2}")


class InvalidInquiryError(InvalidRequestError):
    """An inquiry that cannot be sent; names the field, never its value."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}", field=field)
        self.field = field


@dataclass(frozen=True, slots=True)
class Payer:
    name: str
    payer_id: str  # NM109 with qualifier PI: the id the clearinghouse routes on


@dataclass(frozen=True, slots=True)
class Provider:
    """The information receiver: an organization (name) or a person (last and first name)."""

    npi: str
    organization_name: str | None = None
    last_name: str | None = None
    first_name: str | None = None


@dataclass(frozen=True, slots=True, repr=False)
class Person:
    """A subscriber or dependent: every field is health information, so the repr shows none."""

    last_name: str
    first_name: str
    date_of_birth: date | None = None
    member_id: str | None = None
    gender: str | None = None  # M, F or U, when the payer needs it

    def __repr__(self) -> str:
        return "Person(...)"


@dataclass(frozen=True, slots=True)
class EligibilityInquiry:
    payer: Payer
    provider: Provider
    subscriber: Person
    date_of_service: date
    trace_number: str  # TRN02 and BHT03: the practice's own reference, echoed in the 271
    originator_id: str  # TRN03: "1" followed by the practice's EIN (10 characters)
    service_types: tuple[str, ...] = ("30",)
    dependent: Person | None = None

    @property
    def patient(self) -> Person:
        return self.dependent or self.subscriber


def service_types_for(discipline: str) -> tuple[str, ...]:
    """30 (the plan's general coverage) and the discipline's own codes."""
    return ("30", *THERAPY_SERVICE_TYPES.get(discipline, ()))


def _require(value: str | None, field: str, longest: int) -> str:
    if value is None or not value.strip():
        raise InvalidInquiryError(field, "is required")
    if len(value) > longest:
        raise InvalidInquiryError(field, f"is longer than {longest} characters")
    return value.strip()


def check(inquiry: EligibilityInquiry) -> None:
    """Every rule the builder relies on, with the field at fault."""
    _require(inquiry.payer.name, "payer.name", 60)
    _require(inquiry.payer.payer_id, "payer.payer_id", 80)
    if not npi_is_valid(inquiry.provider.npi):
        raise InvalidInquiryError("provider.npi", "is not a valid NPI (10 digits with its check digit)")
    if inquiry.provider.organization_name is None:
        _require(inquiry.provider.last_name, "provider.last_name", 60)
    else:
        _require(inquiry.provider.organization_name, "provider.organization_name", 60)
    _require(inquiry.subscriber.member_id, "subscriber.member_id", 80)
    for role, person in (("subscriber", inquiry.subscriber), ("dependent", inquiry.dependent)):
        if person is not None:
            _require(person.last_name, f"{role}.last_name", 60)
            _require(person.first_name, f"{role}.first_name", 35)
            if person.gender not in (None, "M", "F", "U"):
                raise InvalidInquiryError(f"{role}.gender", "must be M, F or U")
    if inquiry.patient.date_of_birth is None:
        raise InvalidInquiryError("patient.date_of_birth", "is required")
    _require(inquiry.trace_number, "trace_number", 50)
    if len(inquiry.originator_id) != 10 or not inquiry.originator_id.isalnum():
        raise InvalidInquiryError("originator_id", "must be 10 letters or digits ('1' and the EIN)")
    if not inquiry.service_types or not 1 <= len(inquiry.service_types) <= 99:
        raise InvalidInquiryError("service_types", "must name 1 to 99 service type codes")
    if not all(_SERVICE_TYPE.fullmatch(code) for code in inquiry.service_types):
        raise InvalidInquiryError("service_types", "each must be a service type code (1 or 2 characters)")


def _provider_name(provider: Provider) -> Built:
    if provider.organization_name is not None:
        return seg("NM1", "1P", "2", provider.organization_name, "", "", "", "", "XX", provider.npi)
    return seg(
        "NM1", "1P", "1", provider.last_name or "", provider.first_name or "", "", "", "", "XX", provider.npi
    )


def _demographics(person: Person) -> list[Built]:
    if person.date_of_birth is None:
        return []
    return [seg("DMG", "D8", format_date(person.date_of_birth), person.gender or "")]


def _patient_tail(inquiry: EligibilityInquiry) -> list[Built]:
    """The patient loop's date of service and one EQ per service type."""
    out = [seg("DTP", "291", "D8", format_date(inquiry.date_of_service))]
    out.extend(seg("EQ", code) for code in dict.fromkeys(inquiry.service_types))
    return out


def inquiry_body(inquiry: EligibilityInquiry, created_at: datetime) -> tuple[Built, ...]:
    """The segments between ST and SE."""
    check(inquiry)
    subscriber, dependent = inquiry.subscriber, inquiry.dependent
    trace = seg("TRN", "1", inquiry.trace_number, inquiry.originator_id)
    subscriber_name = seg(
        "NM1",
        "IL",
        "1",
        subscriber.last_name,
        subscriber.first_name,
        "",
        "",
        "",
        "MI",
        subscriber.member_id or "",
    )
    body = [
        seg(
            "BHT",
            "0022",
            "13",
            inquiry.trace_number,
            format_date(created_at.date()),
            created_at.strftime("%H%M"),
        ),
        seg("HL", "1", "", "20", "1"),
        seg("NM1", "PR", "2", inquiry.payer.name, "", "", "", "", "PI", inquiry.payer.payer_id),
        seg("HL", "2", "1", "21", "1"),
        _provider_name(inquiry.provider),
        seg("HL", "3", "2", "22", "0" if dependent is None else "1"),
    ]
    if dependent is None:
        body += [trace, subscriber_name, *_demographics(subscriber), *_patient_tail(inquiry)]
    else:
        body += [subscriber_name, *_demographics(subscriber), seg("HL", "4", "3", "23", "0"), trace]
        body += [seg("NM1", "03", "1", dependent.last_name, dependent.first_name), *_demographics(dependent)]
        body += _patient_tail(inquiry)
    return tuple(body)


def build_270(
    inquiry: EligibilityInquiry,
    *,
    envelope: Envelope,
    created_at: datetime,
    numbers: ControlNumbers,
    delimiters: Delimiters = DEFAULT,
) -> bytes:
    """A whole interchange holding one 270."""
    transaction = Transaction("270", VERSION, inquiry_body(inquiry, created_at))
    return write_interchange(
        envelope, [transaction], created_at=created_at, numbers=numbers, delimiters=delimiters
    )
