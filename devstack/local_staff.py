"""Local sign-in: who a token from ``POST /_local/token`` is. In AWS a staff user signs in to
Cognito and the ID token carries their staff id; locally the token endpoint plays the sign-in.

Minting a token for an email signs in as the practice's member with that email (their own role
and sub, whatever role was asked for); for an email no member of the practice has, the member is
made first, invited through the staff service like any other (the local stand-in for accepting
an invitation, so the demo and a fresh practice need no set-up). A disabled or removed member
gets no token, as Cognito would not sign them in.
"""

from __future__ import annotations

from typing import Any

from devstack.local_auth import TokenRequestError
from devstack.resources import LocalResources
from therabill import contract
from therabill.adapters.cognito import CognitoDirectory
from therabill.adapters.dynamo import Table
from therabill.core.clock import utc_now
from therabill.staff.service import StaffService
from therabill.staff.store import StaffStore


class _RefuseRegistered:
    """A token for an address that signs in with another practice is refused (the local stand-in
    cannot accept an invitation Cognito would not have made); the member is not kept."""

    def registered_elsewhere(self, practice_id: str, email: str) -> None:
        raise TokenRequestError("email", "this email address signs in with another practice: use another")


class LocalStaff:
    def __init__(self, session: Any, resources: LocalResources) -> None:
        self.staff = StaffService(
            store=StaffStore(Table(session.client("dynamodb"), resources.table_name)),
            directory=CognitoDirectory(session.client("cognito-idp"), resources.user_pool_id),
            notices=_RefuseRegistered(),
            clock=utc_now,
        )

    def sign_in(self, practice_id: str, role: str, email: str) -> dict[str, str]:
        """The claims of the member who signs in (``sub``, role, staff id)."""
        member = self.staff.by_email(practice_id, email)
        if member is None:
            name = email.partition("@")[0] or "Staff member"
            member = self.staff.invite(practice_id, email=email, name=name, role=role)
        if not member.enabled:
            raise TokenRequestError("email", f"this staff member is {member.status}: they cannot sign in")
        if member.sub is None:  # invited by the practice, but the address signs in elsewhere
            raise TokenRequestError("email", "this email address signs in with another practice: use another")
        return {
            contract.CLAIM_SUBJECT: member.sub,
            contract.CLAIM_ROLE: member.role,
            contract.CLAIM_STAFF_ID: member.id,
        }
