"""Request and response bodies of the provider set-up routes (api/staff_providers.py). The values'
rules are the providers capability's own field types (``providers/fields.py``), so a refusal names
the field and the rule in words (an NPI's check digit, a box in a billing address, ZIP+4, an SSN
for an organization) and never repeats a tax id. A tax id is answered masked, never whole."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from therabill.api.inputs import Text, Whole
from therabill.api.staff_models import _Strict
from therabill.providers.clinicians import ClinicianProviderView
from therabill.providers.fields import IndividualTaxonomyCode, Npi, StaffId
from therabill.providers.models import (
    Credentials,
    IndividualBillingProvider,
    OrganizationBillingProvider,
)
from therabill.providers.taxonomy import Taxonomy, TaxonomyKind, lookup

_VERSION = Field(
    default=None,
    ge=1,
    description="the version read; omit (or null) when none is set up yet. 409 if it changed",
)


# -- the practice's billing provider ----------------------------------------------------------------
class IndividualBillingProviderIn(IndividualBillingProvider):
    """A clinician billing in their own name: EIN or SSN, their own specialty's taxonomy."""

    expected_version: Whole | None = _VERSION


class OrganizationBillingProviderIn(OrganizationBillingProvider):
    """A group, clinic or agency: always its EIN."""

    expected_version: Whole | None = _VERSION


BillingProviderIn = Annotated[
    IndividualBillingProviderIn | OrganizationBillingProviderIn, Field(discriminator="entity")
]


class TaxIdOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    kind: Literal["ein", "ssn"]
    masked: str = Field(
        description="as shown: an EIN in full (NN-NNNNNNN, a business's public number), an SSN by "
        "its last four only (***-**-NNNN)"
    )


class TaxonomyOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    code: str
    name: str = Field(description="NUCC's display name")
    kind: TaxonomyKind
    profession: str

    @classmethod
    def of(cls, taxonomy: Taxonomy) -> TaxonomyOut:
        return cls(code=taxonomy.code, name=taxonomy.name, kind=taxonomy.kind, profession=taxonomy.profession)

    @classmethod
    def of_code(cls, code: str | None) -> TaxonomyOut | None:
        found = lookup(code) if code else None
        return cls.of(found) if found else None


class BillingAddressOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    lines: list[str]
    city: str
    state: str
    zip: str


class BillingContactOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    name: str
    phone: str
    email: str


class BillingProviderOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    entity: Literal["individual", "organization"]
    organization_name: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    npi: str
    tax_id: TaxIdOut
    taxonomy: TaxonomyOut
    accepts_assignment: bool
    address: BillingAddressOut
    contact: BillingContactOut
    version: int
    updated_at: datetime
    updated_by: str


# -- a clinician's provider record --------------------------------------------------------------------
class ClinicianProviderIn(BaseModel):
    """The whole record (a PUT replaces it): the NPI and taxonomy may be left out while the
    practice bills no insurance (an insured session waits for them)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", strict=True, hide_input_in_errors=True)

    rendering_npi: Npi | None = Field(default=None, description="the clinician's own (type 1) NPI")
    taxonomy: IndividualTaxonomyCode | None = Field(
        default=None, description="a person's NUCC code from GET /providers/taxonomies"
    )
    credentials: Credentials = Field(default_factory=list)
    supervisor_id: StaffId | None = Field(
        default=None, description="a clinician or owner of the practice, not the clinician (owner only)"
    )
    expected_version: Whole | None = _VERSION


class ClinicianProviderOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    clinician_id: str
    rendering_npi: str | None
    taxonomy: TaxonomyOut | None
    credentials: list[str]
    supervisor_id: str | None
    version: int | None = Field(description="null while no record is stored")
    updated_at: datetime | None
    updated_by: str | None

    @classmethod
    def of(cls, view: ClinicianProviderView) -> ClinicianProviderOut:
        p = view.provider
        return cls(
            clinician_id=p.clinician_id,
            rendering_npi=p.rendering_npi,
            taxonomy=TaxonomyOut.of_code(p.taxonomy),
            credentials=list(p.credentials),
            supervisor_id=p.supervisor_id,
            version=view.version,
            updated_at=view.updated_at,
            updated_by=view.updated_by,
        )


# -- supervision: the supervisor on the record, read and set alone -----------------------------------
class SupervisionIn(_Strict):
    supervisor_id: Text = Field(
        min_length=1,
        max_length=64,
        description="a staff id (stf_…) of a clinician or owner of the practice, not removed, "
        "not the clinician",
    )


class SupervisionOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    clinician_id: str
    supervisor_id: str
    updated_at: datetime
    updated_by: str
