"""The 270's inquiry from what the product holds (pure): the coverage (payer, member id, the
subscriber when the patient is not), the client (the patient's name), the billing provider and
the date of service; the service types from the billing provider's taxonomy."""

from __future__ import annotations

from datetime import date

from therabill.clients.models import Client
from therabill.coverage.models import Coverage
from therabill.providers.models import BillingProviderRecord
from therabill.providers.taxonomy import lookup
from therabill.x12.eligibility.codes import THERAPY_SERVICE_TYPES
from therabill.x12.eligibility.inquiry import EligibilityInquiry, Payer, Person, Provider, service_types_for

# The taxonomy list's professions → the discipline whose service type codes a check asks about.
_DISCIPLINES = {
    "Occupational therapy": "occupational_therapy",
    "Physical therapy": "physical_therapy",
    "Speech, language and hearing": "speech_therapy",
    "Psychology": "mental_health",
    "Counseling": "mental_health",
    "Social work": "mental_health",
    "Marriage and family therapy": "mental_health",
    "Behavior analysis": "mental_health",
    "Creative arts therapy": "mental_health",
}
# A group or a clinic may offer several: every therapy discipline's first codes.
_MIXED = ("30", "MH", "A6", "AD", "PT", "AE", "AF")


def service_types(taxonomy_code: str) -> tuple[str, ...]:
    """30 and the discipline's codes (a group's or a clinic's taxonomy: every discipline's)."""
    found = lookup(taxonomy_code)
    discipline = _DISCIPLINES.get(found.profession) if found else None
    if discipline is None or discipline not in THERAPY_SERVICE_TYPES:
        return _MIXED
    return service_types_for(discipline)


def _provider(record: BillingProviderRecord) -> tuple[Provider, str]:
    """The information receiver and TRN03: "1" and the provider's 9-digit tax id."""
    p = record.provider
    if p.entity == "organization":
        receiver = Provider(p.npi, organization_name=p.organization_name)
    else:
        receiver = Provider(p.npi, last_name=p.last_name, first_name=p.first_name)
    return receiver, "1" + p.tax_id.number


def build_inquiry(
    *,
    coverage: Coverage,
    client: Client,
    provider: BillingProviderRecord,
    date_of_service: date,
    check_id: str,
) -> EligibilityInquiry:
    """The inquiry (not yet checked: ``x12.eligibility.inquiry.check`` names a missing field)."""
    receiver, originator = _provider(provider)
    patient = Person(
        client.last_name,
        client.first_name,
        coverage.patient_birth_date,
        gender=coverage.patient_sex,
    )
    subscriber = Person(
        patient.last_name, patient.first_name, patient.date_of_birth, coverage.member_id, patient.gender
    )
    dependent: Person | None = None
    if coverage.relationship != "self" and coverage.subscriber is not None:
        s = coverage.subscriber
        subscriber = Person(s.last_name, s.first_name, s.birth_date, coverage.member_id, s.sex)
        dependent = patient
    return EligibilityInquiry(
        payer=Payer(coverage.payer.name, coverage.payer.id or ""),
        provider=receiver,
        subscriber=subscriber,
        dependent=dependent,
        date_of_service=date_of_service,
        trace_number=check_id,
        originator_id=originator,
        service_types=service_types(provider.provider.taxonomy),
    )
