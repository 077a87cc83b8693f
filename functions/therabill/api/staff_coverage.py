"""A client's insurance coverage: list, add, read, change, remove (included by api/staff.py).
Every answer shows health information, so each read and each change leaves an audit record
(api/audit_trail.py) before the answer leaves. Reading is open to every staff role; writing to
the owner, billers and the front desk (``coverage:write``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from therabill.api import audit_trail
from therabill.api.auth import Caller
from therabill.api.deps import container
from therabill.api.documents import answers, no_content
from therabill.api.params import ClientId, ItemId
from therabill.api.staff_common import caller, removed
from therabill.api.staff_coverage_models import (
    CardPictureOut,
    CardUploadIn,
    CardUploadOut,
    CoverageCreate,
    CoverageOut,
    CoverageUpdate,
)
from therabill.audit.models import Action
from therabill.eligibility.triggers import ask_for_check

router = APIGatewayRouter()

CardSide = Annotated[Literal["front", "back"], Path(description="front or back")]

_PATH = "/clients/<client_id>/coverage"


def _caller() -> Caller:
    return caller(router)


@router.get(_PATH)
def list_coverage(client_id: ClientId) -> list[CoverageOut]:
    """The client's coverage, primary and secondary, past ones and removed ones included (oldest
    first). Each one shown is recorded in the audit trail (``coverage.read``)."""
    who = _caller()
    found = container().coverage.of_client(who.practice_id, client_id)
    return [CoverageOut.of(c) for c in audit_trail.coverage_shown(router, found)]


@router.post(_PATH, status_code=201, responses=answers({201: "The new coverage."}, 403, 409))
def add_coverage(client_id: ClientId, body: Annotated[CoverageCreate, Body()]) -> CoverageOut:
    """Add a policy (primary or secondary). The client counts as insured on a date of service
    when their billing type is ``insurance`` and a primary coverage is in force that day; then
    they owe only their copay (charged at check-in) and the rest is the insurance claim's. 409
    when another coverage of the same rank covers some of the same days. A primary policy's
    eligibility is checked with the payer shortly after (not in this request). Owner, biller or
    front desk."""
    who = _caller()
    who.require("coverage:write")
    coverage = container().coverage.add(who.practice_id, client_id, body.model_dump())
    audit_trail.coverage_changed(router, coverage)
    ask_for_check(container().eligibility_requests, who.practice_id, coverage)  # checked soon, not now
    return CoverageOut.of(coverage)


@router.get(f"{_PATH}/<coverage_id>")
def get_coverage(client_id: ClientId, coverage_id: ItemId) -> CoverageOut:
    """One coverage of the client (recorded: ``coverage.read``)."""
    who = _caller()
    coverage = container().coverage.get(who.practice_id, client_id, coverage_id)
    return CoverageOut.of(audit_trail.coverage_shown(router, [coverage])[0])


@router.patch(f"{_PATH}/<coverage_id>", responses=answers({200: "The coverage as changed."}, 403, 409))
def change_coverage(
    client_id: ClientId, coverage_id: ItemId, body: Annotated[CoverageUpdate, Body()]
) -> CoverageOut:
    """Change a coverage (omitted fields stay; the optional ones may be set to null). Set
    ``end_date`` to end it: from the day after, the client is billed as self-pay unless another
    primary coverage is in force. Owner, biller or front desk."""
    who = _caller()
    who.require("coverage:write")
    changes: dict[str, Any] = body.model_dump(exclude_unset=True, exclude={"expected_version"})
    coverage = container().coverage.change(
        who.practice_id, client_id, coverage_id, changes, body.expected_version
    )
    audit_trail.coverage_changed(router, coverage)
    ask_for_check(container().eligibility_requests, who.practice_id, coverage, changes)
    return CoverageOut.of(coverage)


@router.delete(
    f"{_PATH}/<coverage_id>", status_code=204, responses=answers({204: no_content("Removed.")}, 403)
)
def remove_coverage(client_id: ClientId, coverage_id: ItemId) -> Response[str]:
    """Remove a coverage entered in error: it is kept (listed with status ``removed``) but never
    counts again. To end a real policy, set its ``end_date`` instead. Owner, biller or front
    desk."""
    who = _caller()
    who.require("coverage:write")
    coverage = container().coverage.remove(who.practice_id, client_id, coverage_id)
    audit_trail.coverage_changed(router, coverage)
    return removed()


# -- pictures of the insurance card ------------------------------------------------------------------
@router.post(
    f"{_PATH}/<coverage_id>/card-images",
    status_code=201,
    responses=answers({201: "A signed form to upload the picture with."}, 403, 409),
)
def upload_card_image(
    client_id: ClientId, coverage_id: ItemId, body: Annotated[CardUploadIn, Body()]
) -> CardUploadOut:
    """A signed form (ten minutes) to upload one picture of the card's front or back straight to
    the practice's private, encrypted storage: JPEG, PNG, HEIC or PDF, at most 10 MiB. Once
    uploaded it is the picture shown for that side. A removed coverage takes none (409). Owner,
    biller or front desk."""
    who = _caller()
    who.require("coverage:write")
    form = container().card_images.upload(
        who.practice_id, client_id, coverage_id, side=body.side, content_type=body.content_type
    )
    audit_trail.coverage_card(router, Action.COVERAGE_CARD_CHANGE, client_id, coverage_id)
    return CardUploadOut(url=form.url, fields=form.fields, expires_at=form.expires_at)


@router.get(f"{_PATH}/<coverage_id>/card-images")
def list_card_images(client_id: ClientId, coverage_id: ItemId) -> list[CardPictureOut]:
    """The newest picture of each side uploaded (front first), each with a signed link valid for
    five minutes (recorded: ``coverage.card.read``)."""
    who = _caller()
    shown = container().card_images.shown(who.practice_id, client_id, coverage_id)
    if shown:
        audit_trail.coverage_card(router, Action.COVERAGE_CARD_READ, client_id, coverage_id)
    return [CardPictureOut(**vars(p)) for p in shown]


@router.delete(
    f"{_PATH}/<coverage_id>/card-images/<side>",
    status_code=204,
    responses=answers({204: no_content("Removed (or there was none).")}, 403),
)
def remove_card_image(client_id: ClientId, coverage_id: ItemId, side: CardSide) -> Response[str]:
    """Delete every picture of that side of the card, every stored version of each: gone from
    storage, not hidden. Owner, biller or front desk."""
    who = _caller()
    who.require("coverage:write")
    if container().card_images.remove(who.practice_id, client_id, coverage_id, side):
        audit_trail.coverage_card(router, Action.COVERAGE_CARD_CHANGE, client_id, coverage_id)
    return removed()
