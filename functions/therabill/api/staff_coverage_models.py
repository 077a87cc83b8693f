"""Request and response bodies of a client's coverage routes (api/staff_coverage.py). Every value
here is health information: errors name the field and the shape, never what was sent."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from therabill.api.inputs import Day, Flag, MinorUnits, Text, Whole
from therabill.api.outputs import minor_units
from therabill.api.staff_models import _Patch, _Strict
from therabill.coverage.models import Coverage, normalise_payer_id
from therabill.providers.fields import City, FirstName, LastName, State, StreetLine, Zip

Rank = Literal["primary", "secondary"]
Relationship = Literal["self", "spouse", "child", "other"]
Sex = Literal["F", "M", "U"]


def _past(day: date) -> date:
    if day > datetime.now(UTC).date():
        raise ValueError("a date of birth cannot be in the future")
    return day


BirthDate = Annotated[Day, AfterValidator(_past)]
PayerId = Annotated[Text, AfterValidator(normalise_payer_id)]
_MEMBER = r"^[A-Za-z0-9\-]{2,80}$"
_GROUP = r"^[A-Za-z0-9\- ]{1,50}$"
_PLAN = Field(default=None, min_length=1, max_length=60)
_PERCENT = Field(default=None, ge=0, le=100, description="percent (0 to 100)")


class PayerIn(_Strict):
    id: PayerId = Field(description="the clearinghouse's payer id: 2 to 10 letters or digits")
    name: Text = Field(min_length=1, max_length=60)


class AddressIn(_Strict):
    line1: StreetLine
    line2: StreetLine | None = None
    city: City
    state: State
    zip: Zip


class SubscriberIn(_Strict):
    first_name: FirstName
    last_name: LastName
    birth_date: BirthDate
    sex: Sex
    address: AddressIn | None = None


class CoverageCreate(_Strict):
    rank: Rank = "primary"
    payer: PayerIn
    plan_name: Text | None = _PLAN
    member_id: str = Field(pattern=_MEMBER)
    group_number: str | None = Field(default=None, pattern=_GROUP)
    effective_date: Day | None = Field(
        default=None, description="the first day covered (none: from the start)"
    )
    end_date: Day | None = Field(default=None, description="the last day covered (none: open)")
    relationship: Relationship = Field(
        default="self", description="the patient's relationship to the subscriber"
    )
    subscriber: SubscriberIn | None = Field(
        default=None, description="required unless the relationship is self"
    )
    patient_birth_date: BirthDate | None = None
    patient_sex: Sex | None = None
    copay_override: MinorUnits | None = Field(
        default=None, description="minor units: the client's copay, charged at check-in (staff's value)"
    )
    coinsurance_override: Whole | None = _PERCENT
    forbids_cancellation_fees_override: Flag | None = Field(
        default=None, description="the payer forbids cancellation / no-show fees (e.g. a Medicaid plan)"
    )
    authorization_required: Flag = Field(
        default=False, description="the payer requires an authorization for these visits"
    )


class CoverageUpdate(_Patch):
    CLEARABLE: ClassVar[frozenset[str]] = frozenset(
        {
            "plan_name",
            "group_number",
            "effective_date",
            "end_date",
            "subscriber",
            "patient_birth_date",
            "patient_sex",
            "copay_override",
            "coinsurance_override",
            "forbids_cancellation_fees_override",
        }
    )

    rank: Rank | None = None
    payer: PayerIn | None = None
    plan_name: Text | None = _PLAN
    member_id: str | None = Field(default=None, pattern=_MEMBER)
    group_number: str | None = Field(default=None, pattern=_GROUP)
    effective_date: Day | None = None
    end_date: Day | None = Field(default=None, description="set it to end the coverage")
    relationship: Relationship | None = None
    subscriber: SubscriberIn | None = None
    patient_birth_date: BirthDate | None = None
    patient_sex: Sex | None = None
    copay_override: MinorUnits | None = None
    coinsurance_override: Whole | None = _PERCENT
    forbids_cancellation_fees_override: Flag | None = None
    authorization_required: Flag | None = None
    expected_version: Whole | None = Field(default=None, ge=1)


class PayerOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    id: str | None = Field(description="null only on coverage carried over from before: complete it")
    name: str


class AddressOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    line1: str
    line2: str | None
    city: str
    state: str
    zip: str


class SubscriberOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    first_name: str
    last_name: str
    birth_date: date
    sex: str
    address: AddressOut | None


class CoverageOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    id: str
    client_id: str
    rank: str
    status: Literal["active", "removed"] = Field(description="removed: entered in error, never counts")
    payer: PayerOut
    plan_name: str | None
    member_id: str | None
    group_number: str | None
    effective_date: date | None
    end_date: date | None
    relationship: str
    subscriber: SubscriberOut | None
    patient_birth_date: date | None
    patient_sex: str | None
    copay_amount: int | None = Field(description=minor_units("the copay in use: staff's, else as found"))
    copay_found: int | None = Field(description=minor_units("as an eligibility check found it"))
    copay_override: int | None = Field(description=minor_units("staff's value"))
    coinsurance_percent: int | None = Field(description="the estimate in use: staff's, else as found")
    coinsurance_found: int | None
    coinsurance_override: int | None
    forbids_cancellation_fees: bool = Field(description="in use: staff's value, else as found, else false")
    forbids_cancellation_fees_found: bool | None
    forbids_cancellation_fees_override: bool | None
    authorization_required: bool = Field(
        default=False, description="the payer requires an authorization (bookings warn beyond it)"
    )
    version: int
    created_at: datetime

    @classmethod
    def of(cls, c: Coverage) -> CoverageOut:
        return cls.model_validate(
            {
                **c.model_dump(),
                "copay_amount": c.copay_amount,
                "coinsurance_percent": c.coinsurance_percent,
                "forbids_cancellation_fees": c.forbids_cancellation_fees,
            }
        )


# -- pictures of the insurance card ------------------------------------------------------------------
class CardUploadIn(_Strict):
    side: Literal["front", "back"]
    content_type: Literal["image/jpeg", "image/png", "image/heic", "application/pdf"]


class CardUploadOut(BaseModel):
    """POST ``url`` as multipart/form-data: every one of ``fields`` as given, then the file as
    ``file`` (at most 10 MiB, of the content type asked for), before ``expires_at``."""

    url: str
    fields: dict[str, str]
    expires_at: datetime


class CardPictureOut(BaseModel):
    side: Literal["front", "back"]
    content_type: str
    size: Whole = Field(description="bytes")
    uploaded_at: datetime
    url: str = Field(description="a signed link to the picture, valid until url_expires_at")
    url_expires_at: datetime
