"""Bodies of the eligibility routes (api/staff_eligibility.py). A check is health information:
errors name the field and the shape, never what was sent."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from therabill.api.inputs import Day, Flag
from therabill.api.outputs import minor_units
from therabill.api.staff_models import _Strict
from therabill.coverage.models import Coverage
from therabill.eligibility.models import EligibilityCheck


class EligibilityRequest(_Strict):
    date: Day | None = Field(
        default=None, description="the date of service to ask about (default: the practice's today)"
    )
    force: Flag = Field(
        default=False,
        description="ask the payer again even when this client, payer and date were checked today "
        "(a real clearinghouse charges per check)",
    )


class EligibilityCheckOut(EligibilityCheck):
    """A check as stored: the status, plan dates and network, per service type (the discipline's
    codes and 30) the copays, coinsurance, deductibles and out-of-pocket (individual and family,
    in and out of network, total and remaining; amounts in minor units), visit limits and prior
    authorization; the payer's rejections with the next step."""

    @classmethod
    def of(cls, check: EligibilityCheck) -> EligibilityCheckOut:
        return cls.model_validate(check.model_dump())


class CoverageCopay(BaseModel):
    model_config = ConfigDict(defer_build=True)
    copay_found: int | None = Field(description=minor_units("the copay the last check found"))
    copay_override: int | None = Field(description=minor_units("staff's copay; it wins when set"))
    copay_amount: int | None = Field(description=minor_units("the copay charged at check-in"))

    @classmethod
    def of(cls, coverage: Coverage) -> CoverageCopay:
        return cls(
            copay_found=coverage.copay_found,
            copay_override=coverage.copay_override,
            copay_amount=coverage.copay_amount,
        )


class EligibilityAnswer(BaseModel):
    model_config = ConfigDict(defer_build=True)
    check: EligibilityCheckOut
    repeated: bool = Field(description="today's earlier check of this client, payer and date (no new one)")
    coverage: CoverageCopay = Field(description="the coverage's copay after the check: found and staff's")
