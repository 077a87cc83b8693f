"""Request and response bodies of a coverage's authorization routes (api/staff_authorizations.py).
CPT codes and the payer's reference are health information: errors name the field and the shape,
never what was sent."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from therabill.api.inputs import Day, Whole
from therabill.api.staff_models import _Patch, _Strict
from therabill.authorizations.models import Authorization

Counted = Literal["visits", "units"]
CptCode = Annotated[
    str,
    Field(pattern=r"^[0-9]{4}[0-9FTU]$", description="a CPT / HCPCS code: 4 digits then a digit, F, T or U"),
]
_CODES = Field(
    default=None,
    max_length=20,
    description="only sessions billed under these codes use it (none: any code)",
)
_REFERENCE = Field(
    default=None, pattern=r"^[A-Za-z0-9\-]{1,50}$", description="the payer's authorization number"
)
_AUTHORIZED = Field(ge=1, le=9999, description="visits, or 15-minute units, authorized")
_COUNTED: Counted = Field(
    default="visits",
    description="visits: each completed session uses one; units: its 15-minute units (the 8-minute rule)",
)


class AuthorizationCreate(_Strict):
    counted: Counted = _COUNTED
    authorized: Whole = _AUTHORIZED
    cpt_codes: list[CptCode] | None = _CODES
    start_date: Day = Field(description="the first day covered")
    end_date: Day = Field(description="the last day covered")
    reference: str | None = _REFERENCE


class AuthorizationUpdate(_Patch):
    CLEARABLE: ClassVar[frozenset[str]] = frozenset({"cpt_codes", "reference"})

    counted: Counted | None = None
    authorized: Whole | None = Field(default=None, ge=1, le=9999)
    cpt_codes: list[CptCode] | None = _CODES
    start_date: Day | None = None
    end_date: Day | None = None
    reference: str | None = _REFERENCE
    expected_version: Whole | None = Field(default=None, ge=1)


class AuthorizationOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    id: str
    client_id: str
    coverage_id: str
    status: Literal["active", "removed"] = Field(description="removed: entered in error, never used again")
    counted: Counted
    authorized: int
    used: int = Field(description="by completed sessions; may exceed authorized (the visits happened)")
    remaining: int = Field(description="authorized less used; negative when used beyond it")
    cpt_codes: list[str]
    start_date: date
    end_date: date
    reference: str | None
    version: int
    created_at: datetime

    @classmethod
    def of(cls, a: Authorization) -> AuthorizationOut:
        return cls.model_validate(
            {**a.model_dump(), "cpt_codes": list(a.cpt_codes), "remaining": a.remaining}
        )
