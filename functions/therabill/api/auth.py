"""Who is calling: the practice and role come from the Cognito authorizer's claims, never from the
request body, path or query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from therabill import contract
from therabill.core.errors import ForbiddenError, UnauthorizedError
from therabill.core.ids import is_id

Role = Literal["owner", "biller", "front_desk", "clinician"]
ROLES: frozenset[str] = frozenset({"owner", "biller", "front_desk", "clinician"})

# What each action needs. Reading is open to every staff role of the practice.
PERMISSIONS: dict[str, frozenset[str]] = {
    "practice:manage": frozenset({"owner"}),
    "clients:write": frozenset({"owner", "biller", "front_desk"}),
    "cards:manage": frozenset({"owner", "biller", "front_desk"}),
    "charges:create": frozenset({"owner", "biller", "front_desk"}),
    "refunds:create": frozenset({"owner", "biller"}),
    "services:manage": frozenset({"owner", "biller"}),  # service types and client pricing rules
    "sessions:write": frozenset({"owner", "biller", "front_desk", "clinician"}),
    "invoices:write": frozenset({"owner", "biller", "front_desk"}),  # create, send, resend, ask for a card
    "invoices:manage": frozenset({"owner", "biller"}),  # void, uncollectible, unlock
    "reports:read": frozenset({"owner", "biller"}),
    # The nightly run: see tonight's listing and past runs; hold / waive items; run now.
    "nightly:read": frozenset({"owner", "biller", "front_desk"}),
    "nightly:manage": frozenset({"owner", "biller", "clinician"}),
    "nightly:run": frozenset({"owner", "biller"}),
    "fees:waive": frozenset({"owner", "biller", "clinician"}),  # a cancellation / no-show fee
    "diagnoses:write": frozenset({"owner", "biller", "clinician"}),  # a client's or a session's codes
    # Bound to a relationship: a role in ``:any`` acts on every session of the practice, a role in
    # ``:own`` only where the session is theirs (their own note; a supervisee's session).
    "notes:sign:any": frozenset({"owner"}),
    "notes:sign:own": frozenset({"clinician"}),
    "sessions:approve:any": frozenset({"owner"}),
    "sessions:approve:own": frozenset({"clinician"}),
    "audit:read": frozenset({"owner"}),  # the audit trail
    "read": frozenset(ROLES),
}


@dataclass(frozen=True)
class Caller:
    practice_id: str
    role: str
    user_id: str

    def require(self, permission: str) -> None:
        if self.role not in PERMISSIONS[permission]:
            raise ForbiddenError(f"the {self.role} role may not do this", permission=permission)

    def require_any_or_own(self, permission: str, *, own: bool, refusal: str) -> None:
        """``permission:any`` always, ``permission:own`` where ``own`` (the caller's relationship to
        the thing holds); else 403 with ``refusal``."""
        if self.role in PERMISSIONS[f"{permission}:any"]:
            return
        if own and self.role in PERMISSIONS[f"{permission}:own"]:
            return
        raise ForbiddenError(refusal, permission=permission)


def caller_from(event: APIGatewayProxyEvent) -> Caller:
    authorizer = event.request_context.authorizer
    claims = (authorizer.claims if authorizer else None) or {}
    practice_id = claims.get(contract.CLAIM_PRACTICE_ID)
    role = claims.get(contract.CLAIM_ROLE)
    user = claims.get(contract.CLAIM_SUBJECT)
    if not (isinstance(practice_id, str) and is_id(practice_id, "prc")):
        raise UnauthorizedError("the token names no practice")
    if role not in ROLES or not isinstance(user, str) or not user:
        raise UnauthorizedError("the token names no staff role")
    return Caller(practice_id=practice_id, role=str(role), user_id=user)
