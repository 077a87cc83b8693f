"""A practice's staff member: who may sign in, with which role, in which state."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

Role = Literal["owner", "biller", "front_desk", "clinician"]
ROLES: frozenset[str] = frozenset({"owner", "biller", "front_desk", "clinician"})

# invited: created, not signed in yet; active: has signed in; disabled: may not sign in (kept,
# may be enabled again); removed: gone for good (kept so the trail still names them).
StaffStatus = Literal["invited", "active", "disabled", "removed"]
# The statuses whose member may make requests (an invited member's first request activates them).
ENABLED: frozenset[str] = frozenset({"invited", "active"})


class StaffMember(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    practice_id: str
    email: str  # lower-cased; unique within the practice
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
    def counts_as_owner(self) -> bool:
        """An owner who can act: the practice always keeps at least one."""
        return self.role == "owner" and self.enabled
