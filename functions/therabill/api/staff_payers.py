"""The payer directory, the practice's accepted payers and its enrollments with them (included
by api/staff.py). Reading is open to every staff role; accepting, removing and enrolling to the
owner and billers (``payers:manage``). The directory is the clearinghouse's, asked per search."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from therabill.api.auth import Caller
from therabill.api.deps import container
from therabill.api.documents import answers, no_content
from therabill.api.staff_common import caller, removed
from therabill.api.staff_payers_models import (
    PAYER_ID_PATTERN,
    AcceptedPayerOut,
    AcceptPayerIn,
    EnrollIn,
    EnrollmentOut,
    PayerListingOut,
)
from therabill.clearinghouse.port import EnrolledTransaction

router = APIGatewayRouter()

PayerId = Annotated[str, Path(min_length=2, max_length=20, pattern=PAYER_ID_PATTERN)]
_ACCEPTED = "/accepted-payers"


def _caller() -> Caller:
    return caller(router)


@router.get("/payers")
def search_payers(
    q: Annotated[str, Query(min_length=2, max_length=100, description="a name, part of one, or a payer id")],
) -> list[PayerListingOut]:
    """Search the clearinghouse's payer directory by name (any case; each word may be the start
    of a word of the payer's name or one of its other names) or by payer id or alias, best match
    first. 503 when the clearinghouse cannot be reached."""
    _caller()
    return [PayerListingOut.of(listing) for listing in container().payers.search(q.strip())]


@router.get(_ACCEPTED)
def list_accepted_payers() -> list[AcceptedPayerOut]:
    """The payers the practice accepts, each with its four kinds of transaction and their
    enrollments as last recorded (read one payer's enrollments to hear from the clearinghouse)."""
    who = _caller()
    return [AcceptedPayerOut.of(p, v) for p, v in container().payers.accepted(who.practice_id)]


@router.post(_ACCEPTED, status_code=201, responses=answers({201: "The payer as accepted."}, 403, 404))
def accept_payer(body: Annotated[AcceptPayerIn, Body()]) -> AcceptedPayerOut:
    """Accept a payer of the directory (by its directory ``id``): its listing is kept as it is
    now. Accepting it again answers it as first accepted. 404 when the directory has no such
    payer. Owner or biller."""
    who = _caller()
    who.require("payers:manage")
    accepted, views = container().payers.accept(who.practice_id, body.payer_id, by=who.user_id)
    return AcceptedPayerOut.of(accepted, views)


@router.delete(
    f"{_ACCEPTED}/<payer_id>", status_code=204, responses=answers({204: no_content("Removed.")}, 403, 404)
)
def remove_payer(payer_id: PayerId) -> Response[str]:
    """The practice no longer accepts the payer. Its enrollments stay recorded (and with the
    clearinghouse), and show again if the payer is accepted again. Owner or biller."""
    who = _caller()
    who.require("payers:manage")
    container().payers.remove(who.practice_id, payer_id.upper())
    return removed()


@router.get(
    f"{_ACCEPTED}/<payer_id>/enrollments",
    responses=answers({200: "The four kinds, each with its state."}, 404),
)
def list_enrollments(payer_id: PayerId) -> list[EnrollmentOut]:
    """The payer's four kinds of transaction: each enrollment still under way is read again from
    the clearinghouse (as last recorded when it cannot be reached); a kind with none says
    not_required, not_supported or not_started. 404 when the payer is not accepted."""
    who = _caller()
    views = container().payers.enrollments(who.practice_id, payer_id.upper())
    return [EnrollmentOut.of(view) for view in views]


@router.post(
    f"{_ACCEPTED}/<payer_id>/enrollments",
    status_code=201,
    responses=answers({201: "The enrollment as the clearinghouse took it."}, 403, 404, 409),
)
def enroll(payer_id: PayerId, body: Annotated[EnrollIn, Body()]) -> EnrollmentOut:
    """Enroll the practice's billing provider with the payer for one kind of transaction, through
    the clearinghouse, exactly once: asking again answers the enrollment recorded (a rejected or
    canceled one starts again). 409 with ``reason`` when there is nothing to send: not_required
    (the payer takes it from any provider), not_supported, no_billing_provider; 409 too while
    another request is sending it. 400 with the clearinghouse's ``reasons`` when it refuses; 503
    when it cannot be reached (nothing is lost: send again). Owner or biller."""
    who = _caller()
    who.require("payers:manage")
    transaction = EnrolledTransaction(body.transaction)
    view = container().payers.enroll(who.practice_id, payer_id.upper(), transaction, by=who.user_id)
    return EnrollmentOut.of(view)
