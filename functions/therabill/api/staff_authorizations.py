"""A coverage's authorizations: list, add, read, change, remove (included by api/staff.py).
An authorization names CPT codes and the payer's reference (health information), so each read and
each change leaves an audit record (ids only) before the answer leaves. Reading is open to every
staff role, as coverage is; writing to the owner, billers and the front desk
(``coverage:write``)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from therabill.api import audit_trail
from therabill.api.auth import Caller
from therabill.api.deps import container
from therabill.api.documents import answers, no_content
from therabill.api.params import ClientId, IdempotencyKey, ItemId
from therabill.api.staff_authorizations_models import (
    AuthorizationCreate,
    AuthorizationOut,
    AuthorizationUpdate,
)
from therabill.api.staff_common import caller, removed

router = APIGatewayRouter()

_PATH = "/clients/<client_id>/coverage/<coverage_id>/authorizations"


def _caller() -> Caller:
    return caller(router)


@router.get(_PATH)
def list_authorizations(client_id: ClientId, coverage_id: ItemId) -> list[AuthorizationOut]:
    """The coverage's authorizations, removed ones included (oldest first), each with what is
    used and left. Each one shown is recorded in the audit trail (``authorization.read``)."""
    who = _caller()
    found = container().authorizations.of_coverage(who.practice_id, client_id, coverage_id)
    return [AuthorizationOut.of(a) for a in audit_trail.authorizations_shown(router, found)]


@router.post(
    _PATH,
    status_code=201,
    responses=answers({201: "The new authorization (a retry: the one it made)."}, 403, 409),
)
def add_authorization(
    client_id: ClientId,
    coverage_id: ItemId,
    body: Annotated[AuthorizationCreate, Body()],
    idempotency_key: IdempotencyKey,
) -> AuthorizationOut:
    """Add the payer's authorization: visits (or 15-minute units) between two dates, optionally
    only for some CPT codes. The id is derived from the Idempotency-Key: a retried request answers
    the authorization it made (the same key with another body is a 409). A completed insured
    session uses the one that fits; where the coverage's payer requires one
    (``authorization_required``), bookings beyond it warn (or are refused) and the nightly run
    holds the claim. Owner, biller or front desk."""
    who = _caller()
    who.require("coverage:write")
    fields = body.model_dump(exclude_none=True)
    authorization, added = container().authorizations.add(
        who.practice_id, client_id, coverage_id, fields, request_key=idempotency_key
    )
    if added:
        audit_trail.authorization_changed(router, authorization)
    else:
        audit_trail.authorizations_shown(router, [authorization])
    return AuthorizationOut.of(authorization)


@router.get(f"{_PATH}/<authorization_id>")
def get_authorization(client_id: ClientId, coverage_id: ItemId, authorization_id: ItemId) -> AuthorizationOut:
    """One authorization of the coverage (recorded: ``authorization.read``)."""
    who = _caller()
    found = container().authorizations.get(who.practice_id, client_id, coverage_id, authorization_id)
    return AuthorizationOut.of(audit_trail.authorizations_shown(router, [found])[0])


@router.patch(f"{_PATH}/<authorization_id>", responses=answers({200: "As changed."}, 403, 409))
def change_authorization(
    client_id: ClientId,
    coverage_id: ItemId,
    authorization_id: ItemId,
    body: Annotated[AuthorizationUpdate, Body()],
) -> AuthorizationOut:
    """Change an authorization (omitted fields stay; ``cpt_codes`` and ``reference`` may be set to
    null); the used count moves only with sessions. 409 when ``expected_version`` is not the
    version now. Owner, biller or front desk."""
    who = _caller()
    who.require("coverage:write")
    changes: dict[str, Any] = body.model_dump(exclude_unset=True, exclude={"expected_version"})
    if "cpt_codes" in changes:
        changes["cpt_codes"] = changes["cpt_codes"] or []
    authorization = container().authorizations.change(
        who.practice_id,
        client_id,
        coverage_id,
        authorization_id,
        changes=changes,
        expected_version=body.expected_version,
    )
    audit_trail.authorization_changed(router, authorization)
    return AuthorizationOut.of(authorization)


@router.delete(
    f"{_PATH}/<authorization_id>", status_code=204, responses=answers({204: no_content("Removed.")}, 403)
)
def remove_authorization(client_id: ClientId, coverage_id: ItemId, authorization_id: ItemId) -> Response[str]:
    """Remove an authorization entered in error: it is kept (listed with status ``removed``) but no
    session uses it again; its uses count as none, and the nightly run moves each to the one that
    fits then. Owner, biller or front desk."""
    who = _caller()
    who.require("coverage:write")
    found = container().authorizations.remove(who.practice_id, client_id, coverage_id, authorization_id)
    audit_trail.authorization_changed(router, found)
    return removed()
