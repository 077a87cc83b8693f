"""Request and response bodies of the staff routes (the practice's people)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from therabill.api.inputs import Text
from therabill.api.staff_models import EmailStr
from therabill.staff.models import Role, StaffStatus

RoleIn = Role
_NAME = Field(min_length=1, max_length=120)


class _Strict(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", str_strip_whitespace=True)


class StaffInvite(_Strict):
    """``sign_in`` false: a member who never signs in (a clinician the practice books sessions
    for): no email (invite them later with POST /staff/{staff_id}/invitation), never an owner."""

    email: EmailStr | None = Field(
        default=None, description="required unless sign_in is false (then omitted)"
    )
    name: Text = _NAME
    role: RoleIn
    sign_in: bool = True

    @model_validator(mode="after")
    def _email_when_signing_in(self) -> StaffInvite:
        if self.sign_in and self.email is None:
            raise ValueError("email is required (or sign_in false for a member who never signs in)")
        if not self.sign_in and self.email is not None:
            raise ValueError("a member who never signs in has no email: omit it, invite them later")
        return self


class StaffInvitation(_Strict):
    email: EmailStr


class StaffUpdate(_Strict):
    """Omitted fields stay; neither may be null, and at least one is given."""

    role: RoleIn | None = None
    name: Text | None = Field(default=None, min_length=1, max_length=120)

    @model_validator(mode="after")
    def _something_to_change(self) -> StaffUpdate:
        for field in self.model_fields_set:
            if getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null")
        if not self.model_fields_set:
            raise ValueError("nothing to change: give role or name")
        return self


class StaffOut(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: str
    email: str | None = Field(description="None: a member who does not sign in")
    name: str
    role: RoleIn
    status: StaffStatus
    created_at: datetime
    activated_at: datetime | None
    sign_in: bool = Field(description="false: never signs in (no email, no user) until invited")
    version: int
