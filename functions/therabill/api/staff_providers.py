"""Provider set-up (included by api/staff.py): the practice's billing provider, each clinician's
provider record (and its supervisor alone, at ``/clinicians/{id}/supervision``), and the NUCC
taxonomy list. Reading is open to every staff role (a tax id is
only ever shown masked); writing to the owner and billers (``providers:manage``), and changing a
clinician's supervisor to the owner (``practice:manage``, as ``PUT /clinicians/{id}/supervision``).
Every change leaves an audit record naming no value of it."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from therabill.api import audit_trail
from therabill.api.auth import Caller
from therabill.api.deps import container
from therabill.api.documents import answers, no_content
from therabill.api.params import ClinicianPathId
from therabill.api.staff_common import caller, removed
from therabill.api.staff_providers_models import (
    BillingAddressOut,
    BillingContactOut,
    BillingProviderIn,
    BillingProviderOut,
    ClinicianProviderIn,
    ClinicianProviderOut,
    SupervisionIn,
    SupervisionOut,
    TaxIdOut,
    TaxonomyOut,
)
from therabill.core.errors import NotFoundError
from therabill.providers.clinicians import ClinicianProviderView
from therabill.providers.errors import NoBillingProviderError
from therabill.providers.models import (
    BillingProviderRecord,
    OrganizationBillingProvider,
    parse_billing_provider,
)
from therabill.providers.taxonomy import TaxonomyKind, search

router = APIGatewayRouter()


def _caller() -> Caller:
    return caller(router)


def _billing_out(record: BillingProviderRecord) -> BillingProviderOut:
    p = record.provider
    if isinstance(p, OrganizationBillingProvider):
        names: dict[str, str | None] = {"organization_name": p.organization_name}
    else:
        names = {"first_name": p.first_name, "middle_name": p.middle_name, "last_name": p.last_name}
    taxonomy = TaxonomyOut.of_code(p.taxonomy)
    assert taxonomy is not None  # a stored code is a listed one
    return BillingProviderOut(
        entity=p.entity,
        **names,
        npi=p.npi,
        tax_id=TaxIdOut(kind=p.tax_id.kind, masked=p.tax_id.masked),
        taxonomy=taxonomy,
        accepts_assignment=p.accepts_assignment,
        address=BillingAddressOut.model_validate(p.address.model_dump()),
        contact=BillingContactOut.model_validate(p.contact.model_dump()),
        version=record.version,
        updated_at=record.updated_at,
        updated_by=record.updated_by,
    )


@router.get("/practice/billing-provider", responses=answers({200: "The billing provider."}, 404))
def get_billing_provider() -> BillingProviderOut:
    """The practice's billing provider, the tax id masked (404 until it is set up)."""
    who = _caller()
    record = container().providers.billing_provider_record(who.practice_id)
    if record is None:
        raise NoBillingProviderError("the practice has no billing provider yet")
    return _billing_out(record)


@router.put("/practice/billing-provider", responses=answers({200: "The billing provider as set."}, 403, 409))
def put_billing_provider(body: Annotated[BillingProviderIn, Body()]) -> BillingProviderOut:
    """Set (or replace) who the practice's claims name as the billing provider: an ``individual``
    (a clinician billing in their own name: EIN or SSN) or an ``organization`` (EIN only); the NPI
    (its check digit), a listed NUCC taxonomy, whether it accepts assignment, a US street address
    with ZIP+4 (no PO box of any kind) and a billing contact. Send ``expected_version`` as read
    (none the first time); 409 if it changed meanwhile. Owner or biller."""
    who = _caller()
    who.require("providers:manage")
    provider = parse_billing_provider(body.model_dump(exclude={"expected_version"}))
    record = container().providers.set_billing_provider(
        who.practice_id, provider, by=who.user_id, expected_version=body.expected_version
    )
    audit_trail.billing_provider_changed(router, record.version)
    return _billing_out(record)


@router.get("/clinicians/providers")
def list_clinician_providers() -> list[ClinicianProviderOut]:
    """Every clinician and owner of the practice (not removed) with their provider record (an
    empty one, ``version`` null, where none is stored)."""
    who = _caller()
    return [
        ClinicianProviderOut.of(v) for v in container().providers.clinicians.every_clinician(who.practice_id)
    ]


@router.get("/clinicians/<clinician_id>/provider")
def get_clinician_provider(clinician_id: ClinicianPathId) -> ClinicianProviderOut:
    """A clinician's provider record (404 when the id names no clinician or owner of the practice)."""
    who = _caller()
    return ClinicianProviderOut.of(
        container().providers.clinicians.of_clinician(who.practice_id, clinician_id)
    )


@router.put("/clinicians/<clinician_id>/provider", responses=answers({200: "The record as set."}, 403, 409))
def put_clinician_provider(
    clinician_id: ClinicianPathId, body: Annotated[ClinicianProviderIn, Body()]
) -> ClinicianProviderOut:
    """Set (or replace) a clinician's provider record: rendering NPI, taxonomy (a person's), the
    credentials after their name, their supervisor. An insured session of theirs waits for the
    NPI and the taxonomy. Send ``expected_version`` as read (none while none is stored); 409 if it
    changed. Owner or biller; changing the supervisor, owner only."""
    who = _caller()
    who.require("providers:manage")
    clinicians = container().providers.clinicians
    if body.supervisor_id != clinicians.supervisor_of(who.practice_id, clinician_id):
        who.require("practice:manage")
    fields = body.model_dump(exclude={"expected_version"}, exclude_none=True)
    view = clinicians.put(
        who.practice_id, clinician_id, fields, by=who.user_id, expected_version=body.expected_version
    )
    audit_trail.clinician_provider_changed(router, clinician_id, view.version or 0)
    return ClinicianProviderOut.of(view)


@router.get("/providers/taxonomies")
def search_taxonomies(
    q: Annotated[str, Query(min_length=1, max_length=60, description="a code, or words of the name")],
    kind: Annotated[TaxonomyKind | None, Query(description="only this kind")] = None,
) -> list[TaxonomyOut]:
    """The NUCC taxonomy codes Therabill bills therapy claims under: a whole code finds that code;
    words find the names, professions and usual abbreviations they start ("occ hand", "lcsw")."""
    _caller()
    return [TaxonomyOut.of(t) for t in search(q, kinds=frozenset({kind}) if kind else None)]


def _supervision_out(view: ClinicianProviderView) -> SupervisionOut:
    supervisor = view.provider.supervisor_id
    if supervisor is None or view.updated_at is None or view.updated_by is None:
        raise NotFoundError("this clinician has no supervisor")
    return SupervisionOut(
        clinician_id=view.provider.clinician_id,
        supervisor_id=supervisor,
        updated_at=view.updated_at,
        updated_by=view.updated_by,
    )


# Supervision: the supervisor on the clinician's provider record; these routes read and set that one
# field (the routes that were there before provider records, kept for their clients).
@router.get("/clinicians/<clinician_id>/supervision")
def get_supervision(clinician_id: ClinicianPathId) -> SupervisionOut:
    """Who supervises the clinician (404: nobody)."""
    caller = _caller()
    return _supervision_out(container().providers.clinicians.current(caller.practice_id, clinician_id))


@router.put("/clinicians/<clinician_id>/supervision", responses=answers({200: "The supervision."}, 403, 409))
def put_supervision(clinician_id: ClinicianPathId, body: Annotated[SupervisionIn, Body()]) -> SupervisionOut:
    """Set (or replace) the clinician's supervisor on their provider record: from now on their
    completed sessions wait for the supervisor's approval before they are billed. Both are staff
    ids of clinicians or owners of the practice, not removed, and not the same member (400 naming
    the field otherwise). Owner only."""
    caller = _caller()
    caller.require("practice:manage")
    c = container()
    c.practices.get(caller.practice_id)
    view = c.providers.clinicians.set_supervisor(
        caller.practice_id, clinician_id, body.supervisor_id, caller.user_id
    )
    audit_trail.clinician_provider_changed(router, clinician_id, view.version or 0)
    return _supervision_out(view)


@router.delete(
    "/clinicians/<clinician_id>/supervision",
    status_code=204,
    responses=answers({204: no_content("Removed.")}, 403, 409),
)
def delete_supervision(clinician_id: ClinicianPathId) -> Response[str]:
    """The clinician is no longer supervised (404 if they were not); the rest of their provider
    record stays. Owner only."""
    caller = _caller()
    caller.require("practice:manage")
    view = container().providers.clinicians.clear_supervisor(caller.practice_id, clinician_id, caller.user_id)
    audit_trail.clinician_provider_changed(router, clinician_id, view.version or 0)
    return removed()
