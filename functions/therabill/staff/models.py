"""A practice's staff member: who may sign in, with which role, in which state."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

Role = Literal["owner", "biller", "front_desk", "clinician"]
ROLES: frozenset[str] = frozenset({"owner", "biller", "front_desk", "clinician"})

# invited: created, not signed in yet; active: has signed in (or, a member with no sign-in, exists);
# disabled: may not sign in (kept, may be enabled again); removed: gone for good (kept so the trail
# still names them).
StaffStatus = Literal["invited", "active", "disabled", "removed"]
# The statuses whose member may make requests (an invited member's first request activates them).
ENABLED: frozenset[str] = frozenset({"invited", "active"})
# The roles that may be a session's clinician (an owner often treats too) and so a supervisor.
CLINICAL_ROLES: frozenset[str] = frozenset({"clinician", "owner"})


class StaffMember(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    practice_id: str
    # Lower-cased; unique within the practice. None: a member with no sign-in (a clinician who never
    # signs in): no user in the directory, no sub, so no token can name them; invited later by email.
    email: str | None
    name: str
    role: Role
    status: StaffStatus
    sub: str | None = None  # the Cognito user's sub; None until the user exists
    activated_at: datetime | None = None  # the first signed-in request
    created_at: datetime
    version: int

    @property
    def enabled(self) -> bool:
        return self.status in ENABLED

    @property
    def signs_in(self) -> bool:
        return self.email is not None

    @property
    def counts_as_owner(self) -> bool:
        """An owner who can act: the practice always keeps at least one. Active only: an owner
        still invited (who may never accept) does not count, so the last owner who has signed in
        cannot leave the practice to an invitation."""
        return self.role == "owner" and self.status == "active" and self.signs_in

    @property
    def treats(self) -> bool:
        """May be a session's clinician (or a supervisor): a clinician or owner not removed."""
        return self.role in CLINICAL_ROLES and self.status != "removed"
