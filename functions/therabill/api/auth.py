"""Who is calling: the token (the Cognito authorizer's claims) names the practice and the staff
member, never the request body, path or query; the member's staff item, read on every request,
says whether they may act now and with which role (docs/architecture.md, Flows: "Staff and the
per-request check")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from therabill import contract
from therabill.core.errors import ForbiddenError, UnauthorizedError
from therabill.core.ids import is_id
from therabill.staff.models import ROLES, Role, StaffMember

__all__ = ["PERMISSIONS", "ROLES", "Caller", "Role", "TokenClaims", "caller_from", "claims_from"]

# What each action needs. Reading is open to every staff role of the practice.
PERMISSIONS: dict[str, frozenset[str]] = {
    "practice:manage": frozenset({"owner"}),
    "clients:write": frozenset({"owner", "biller", "front_desk"}),
    "cards:manage": frozenset({"owner", "biller", "front_desk"}),
    "charges:create": frozenset({"owner", "biller", "front_desk"}),
    "refunds:create": frozenset({"owner", "biller"}),
    "credits:grant": frozenset({"owner", "biller"}),  # a staff credit, and taking it back
    "services:manage": frozenset({"owner", "biller"}),  # service types and client pricing rules
    "sessions:write": frozenset({"owner", "biller", "front_desk", "clinician"}),
    "invoices:write": frozenset({"owner", "biller", "front_desk"}),  # create, send, resend, ask for a card
    "invoices:manage": frozenset({"owner", "biller"}),  # void, uncollectible, unlock
    "reports:read": frozenset({"owner", "biller"}),
    "staff:manage": frozenset({"owner"}),  # invite, list, change role, disable, enable, remove
    # The nightly run: see tonight's listing and past runs; hold / waive items; run now.
    "nightly:read": frozenset({"owner", "biller", "front_desk"}),
    "nightly:manage": frozenset({"owner", "biller", "clinician"}),
    "nightly:run": frozenset({"owner", "biller"}),
    "fees:waive": frozenset({"owner", "biller", "clinician"}),  # a cancellation / no-show fee
    "diagnoses:write": frozenset({"owner", "biller", "clinician"}),  # a client's or a session's codes
    # A client's insurance coverage and billing type: taken at intake (front desk) and kept by billing.
    "coverage:write": frozenset({"owner", "biller", "front_desk"}),
    # The practice's accepted payers and its enrollments with them (reading: every role).
    "payers:manage": frozenset({"owner", "biller"}),
    # Provider set-up (the billing provider, clinicians' NPIs and taxonomies): billing's work.
    "providers:manage": frozenset({"owner", "biller"}),
    # Ask a payer about a coverage (270/271): a real clearinghouse charges per check.
    "eligibility:check": frozenset({"owner", "biller", "front_desk"}),
    # Bound to a relationship: a role in ``:any`` acts on every session of the practice, a role in
    # ``:own`` only where the session is theirs (their own note; a supervisee's session).
    "notes:sign:any": frozenset({"owner"}),
    "notes:sign:own": frozenset({"clinician"}),
    "sessions:approve:any": frozenset({"owner"}),
    "sessions:approve:own": frozenset({"clinician"}),
    "audit:read": frozenset({"owner"}),  # the audit trail
    # The equipment store: the catalogue, stock and returns are the owner's and billers'; anyone who
    # sees clients may send a client a purchase link (clinicians after a session; the front desk
    # for them).
    "shop:manage": frozenset({"owner", "biller"}),
    "shop:recommend": frozenset({"owner", "biller", "front_desk", "clinician"}),
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


@dataclass(frozen=True)
class TokenClaims:
    """What the verified token says: whose it is. Its role claim is not trusted (the item's is)."""

    practice_id: str
    staff_id: str
    sub: str


class StaffCheck(Protocol):
    def authenticate(self, practice_id: str, staff_id: str, sub: str) -> StaffMember: ...


def claims_from(event: APIGatewayProxyEvent) -> TokenClaims:
    authorizer = event.request_context.authorizer
    claims = (authorizer.claims if authorizer else None) or {}
    practice_id = claims.get(contract.CLAIM_PRACTICE_ID)
    staff_id = claims.get(contract.CLAIM_STAFF_ID)
    sub = claims.get(contract.CLAIM_SUBJECT)
    if not (isinstance(practice_id, str) and is_id(practice_id, "prc")):
        raise UnauthorizedError("the token names no practice")
    if not (isinstance(staff_id, str) and is_id(staff_id, "stf")) or not isinstance(sub, str) or not sub:
        raise UnauthorizedError("the token names no staff member")
    return TokenClaims(practice_id=practice_id, staff_id=staff_id, sub=sub)


def caller_from(event: APIGatewayProxyEvent, staff: StaffCheck) -> Caller:
    """The caller of a staff request: the token's member as their staff item holds now (one
    strongly consistent read). Missing, not enabled, or another user's: 401 with the reason."""
    token = claims_from(event)
    member = staff.authenticate(token.practice_id, token.staff_id, token.sub)
    return Caller(practice_id=member.practice_id, role=member.role, user_id=member.id)
