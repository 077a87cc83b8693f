"""The billing provider (who a claim says is owed: the practice, or a clinician billing alone)
and a clinician's provider record (who rendered the session). Strict input: an unknown field, a
number for text or text for true/false is refused; each value is normalised (an NPI's digits, a
tax id's 9 digits, ZIP+4 as NNNNN-NNNN, a code in capitals).

The billing provider is one of two shapes, told apart by ``entity``: an ``individual`` (a person:
first and last name, an EIN or their SSN, their own specialty's taxonomy) or an ``organization``
(its name, its EIN, any listed taxonomy: a group, a clinic or the specialty it practises).

A tax id is health-adjacent personal data: ``TaxId`` leaves the number out of its repr, the models
hide their input in validation errors, and ``masked`` is how it is shown (an SSN by its last four).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from therabill.providers.errors import ProviderValueError
from therabill.providers.fields import (
    BillingStreetLine,
    City,
    ContactName,
    Credential,
    Email,
    FirstName,
    IndividualTaxonomyCode,
    LastName,
    MiddleName,
    Npi,
    OrganizationName,
    Phone,
    StaffId,
    State,
    StreetLine,
    TaxonomyCode,
    Zip,
    ZipPlus4,
)
from therabill.providers.identifiers import TaxIdKind, masked_tax_id, normalise_tax_id

MAX_CREDENTIALS = 10

_STRICT = ConfigDict(extra="forbid", frozen=True, strict=True, hide_input_in_errors=True, defer_build=True)


def _refused(exc: ProviderValueError) -> PydanticCustomError:
    return PydanticCustomError(exc.rule, exc.message)


class TaxId(BaseModel):
    """An EIN or an SSN, stored as its 9 digits. ``number`` may be given as NN-NNNNNNN (EIN),
    NNN-NN-NNNN (SSN) or 9 digits."""

    model_config = _STRICT

    kind: TaxIdKind
    number: str = Field(repr=False)

    @field_validator("number")
    @classmethod
    def _number(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        if kind is None:  # the kind is wrong: that is the error to report
            return value
        try:
            return normalise_tax_id(kind, value, organization=False)
        except ProviderValueError as exc:
            raise _refused(exc) from None

    @property
    def masked(self) -> str:
        return masked_tax_id(self.kind, self.number)


class Address(BaseModel):
    """A US address: one or two street lines, the city, the state's USPS code, the ZIP code."""

    model_config = _STRICT

    lines: list[StreetLine] = Field(min_length=1, max_length=2)
    city: City
    state: State
    zip: Zip


class BillingAddress(Address):
    """The billing provider's address: a street address (no box of any kind) with ZIP+4."""

    lines: list[BillingStreetLine] = Field(min_length=1, max_length=2)
    zip: ZipPlus4


class BillingContact(BaseModel):
    """Who a payer calls about the practice's claims (837P PER)."""

    model_config = _STRICT

    name: ContactName
    phone: Phone  # 10 digits
    email: Email


class _BillingProvider(BaseModel):
    model_config = _STRICT

    npi: Npi
    tax_id: TaxId
    taxonomy: TaxonomyCode
    accepts_assignment: bool  # the practice takes the payer's payment (CLM07)
    address: BillingAddress
    contact: BillingContact


class IndividualBillingProvider(_BillingProvider):
    """A clinician billing in their own name (a sole practitioner)."""

    entity: Literal["individual"]
    first_name: FirstName
    middle_name: MiddleName | None = None
    last_name: LastName
    taxonomy: IndividualTaxonomyCode


class OrganizationBillingProvider(_BillingProvider):
    """A practice billing as a group, clinic or agency: always under its EIN."""

    entity: Literal["organization"]
    organization_name: OrganizationName

    @field_validator("tax_id")
    @classmethod
    def _ein_only(cls, value: TaxId) -> TaxId:
        try:
            normalise_tax_id(value.kind, value.number, organization=True)
        except ProviderValueError as exc:
            raise _refused(exc) from None
        return value


BillingProvider = Annotated[
    IndividualBillingProvider | OrganizationBillingProvider, Field(discriminator="entity")
]


@cache
def _billing_provider() -> TypeAdapter[IndividualBillingProvider | OrganizationBillingProvider]:
    return TypeAdapter(BillingProvider, config=ConfigDict(hide_input_in_errors=True))


def parse_billing_provider(data: object) -> IndividualBillingProvider | OrganizationBillingProvider:
    """A billing provider from its fields (``entity`` picks the shape); ValidationError if not."""
    return _billing_provider().validate_python(data)


def _each_once(value: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    for n, credential in enumerate(value):
        key = credential.replace(".", "").upper()
        if key in seen:
            raise PydanticCustomError(
                "credential_repeated", f"credentials[{n}] repeats credentials[{seen[key]}]"
            )
        seen[key] = n
    return value


# The credentials after a clinician's name, each once (LCSW and lcsw, PhD and Ph.D. are one).
Credentials = Annotated[list[Credential], Field(max_length=MAX_CREDENTIALS), AfterValidator(_each_once)]


class ClinicianProvider(BaseModel):
    """What a claim names a clinician by when they render a session: their own NPI, their
    specialty, the credentials after their name, and (optionally) who supervises them.

    The NPI and the taxonomy may be absent: a self-pay practice keeps a record only for who
    supervises whom. An insured session's claim needs both (the nightly run's readiness says so)."""

    model_config = _STRICT

    clinician_id: StaffId
    rendering_npi: Npi | None = None
    taxonomy: IndividualTaxonomyCode | None = None
    credentials: Credentials = Field(default_factory=list)
    supervisor_id: StaffId | None = None

    @field_validator("supervisor_id")
    @classmethod
    def _not_themself(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and value == info.data.get("clinician_id"):
            raise PydanticCustomError("supervisor_is_clinician", "a clinician cannot supervise themself")
        return value


class BillingProviderRecord(BaseModel):
    """The practice's billing provider as stored: who set it last, and its version."""

    model_config = ConfigDict(frozen=True)

    provider: IndividualBillingProvider | OrganizationBillingProvider = Field(discriminator="entity")
    version: int
    updated_at: datetime
    updated_by: str


class ClinicianProviderRecord(BaseModel):
    """A clinician's provider record as stored: who set it last, and its version."""

    model_config = ConfigDict(frozen=True)

    provider: ClinicianProvider
    version: int
    updated_at: datetime
    updated_by: str


class Supervision(BaseModel):
    """A supervision item from before provider records held the supervisor (``SUPERVISION#``):
    read until the practice's migration moves it into the clinician's provider record. Its ids
    may still be free strings where the clinicians' migration has not reached them."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    clinician_id: str
    supervisor_id: str
    updated_at: datetime
    updated_by: str
