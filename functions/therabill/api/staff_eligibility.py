"""Eligibility (270/271): ask a client's payer about a coverage, and read the checks made
(included by api/staff.py). Reading is open to every staff role (as coverage is); asking to the
owner, billers and the front desk (``eligibility:check``). Every check shown leaves an audit
record (``eligibility.read``), every check asked for one more (``eligibility.check``)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from therabill.api import audit_trail
from therabill.api.auth import Caller
from therabill.api.deps import container
from therabill.api.documents import answers, body_of
from therabill.api.params import ClientId, ItemId
from therabill.api.staff_common import caller, json_response
from therabill.api.staff_eligibility_models import (
    CoverageCopay,
    EligibilityAnswer,
    EligibilityCheckOut,
    EligibilityRequest,
)

router = APIGatewayRouter()  # type: ignore[no-untyped-call]

_COVERAGE = "/clients/<client_id>/coverage/<coverage_id>/eligibility"


def _caller() -> Caller:
    return caller(router)


@router.post(
    _COVERAGE,
    status_code=201,
    responses=answers(
        {
            201: body_of(EligibilityAnswer, "The payer's answer, stored as a new check."),
            200: body_of(EligibilityAnswer, "Today's check of this client, payer and date (not forced)."),
        },
        403,
        404,
        409,
    ),
)
def check_eligibility(
    client_id: ClientId, coverage_id: ItemId, body: Annotated[EligibilityRequest, Body()]
) -> Response[str]:
    """Ask the payer whether the coverage is active for the date of service and what it pays
    (270/271), and keep the answer. A client, payer and date already checked today answer with
    that check unless ``force``. The in-network copay found becomes the coverage's
    ``copay_found`` (staff's ``copay_override`` stays and wins). 409 with the reason when no
    check can be made (no billing provider: "insurance set-up not complete: add the billing
    provider"; a coverage removed or missing what the payer needs; a check under way); 503 when
    the clearinghouse cannot be reached (nothing is kept: ask again). Owner, biller or front desk."""
    who = _caller()
    who.require("eligibility:check")
    c = container()
    outcome = c.eligibility.check(
        who.practice_id,
        client_id,
        coverage_id,
        date_of_service=body.date,
        force=body.force,
        requested_by=who.user_id,
    )
    if outcome.repeated:
        audit_trail.eligibility_shown(router, [outcome.check])
    else:
        audit_trail.eligibility_checked(router, outcome.check)
    coverage = c.coverage.get(who.practice_id, client_id, coverage_id)
    answer = EligibilityAnswer(
        check=EligibilityCheckOut.of(outcome.check),
        repeated=outcome.repeated,
        coverage=CoverageCopay.of(coverage),
    )
    return json_response(200 if outcome.repeated else 201, answer)


@router.get(_COVERAGE)
def list_coverage_checks(client_id: ClientId, coverage_id: ItemId) -> list[EligibilityCheckOut]:
    """The coverage's eligibility checks, newest first (each recorded: ``eligibility.read``)."""
    who = _caller()
    found = container().eligibility.checks_of(who.practice_id, client_id, coverage_id)
    return [EligibilityCheckOut.of(c) for c in audit_trail.eligibility_shown(router, found)]


@router.get("/clients/<client_id>/eligibility")
def list_client_checks(client_id: ClientId) -> list[EligibilityCheckOut]:
    """The client's eligibility checks of every coverage, newest first (each recorded)."""
    who = _caller()
    found = container().eligibility.checks_of(who.practice_id, client_id)
    return [EligibilityCheckOut.of(c) for c in audit_trail.eligibility_shown(router, found)]


@router.get("/clients/<client_id>/eligibility/<check_id>")
def get_check(client_id: ClientId, check_id: ItemId) -> EligibilityCheckOut:
    """One eligibility check of the client (recorded: ``eligibility.read``)."""
    who = _caller()
    found = container().eligibility.get(who.practice_id, client_id, check_id)
    return EligibilityCheckOut.of(audit_trail.eligibility_shown(router, [found])[0])
