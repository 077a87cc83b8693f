"""Request and response bodies of the staff routes for services, pricing rules and sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from therabill.api.inputs import Flag, Instant, MinorUnits, Text, Whole
from therabill.api.outputs import Amount
from therabill.bookings.models import BookingRequirement
from therabill.policies.cancellation import CancellationPolicy, CancellationPolicyOverride
from therabill.services.models import MAX_MODIFIERS, PricingUnit, RoundingMode, RuleKind
from therabill.sessions.models import CancelledBy, ChargeStatus, SessionStatus

CptCode = Annotated[str, Field(pattern=r"^[0-9]{4}[0-9FTU]$")]
Modifier = Annotated[str, Field(pattern=r"^[A-Z0-9]{2}$")]
Increment = Annotated[Whole, Field(ge=1, le=60)]
Minutes = Annotated[Whole, Field(ge=0, le=1440)]
Duration = Annotated[Whole, Field(ge=1, le=1440)]
_CLINICIAN = "a staff id (stf_…) of a clinician or owner of the practice, not removed"
# The shape checked here, the member by the domain (a 400 that names the field).
ClinicianId = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@:\-]+$", description=_CLINICIAN)
]
Id = Annotated[str, Field(min_length=3, max_length=40, pattern=r"^[a-z]{2,5}_[0-9a-z]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", str_strip_whitespace=True)


class ServiceCreate(_Strict):
    name: Text = Field(min_length=1, max_length=120)
    cpt_code: CptCode
    modifiers: list[Modifier] = Field(default_factory=list, max_length=MAX_MODIFIERS)
    unit: PricingUnit
    unit_price: MinorUnits
    rounding: RoundingMode = "up"
    rounding_increment_minutes: Increment = 1
    minimum_minutes: Minutes = 0
    minimum_amount: MinorUnits = 0
    default_duration_minutes: Duration = 50
    active: Flag = True


class ServiceUpdate(_Strict):
    """A partial update: omitted fields stay; none may be set to null."""

    name: Text | None = Field(default=None, min_length=1, max_length=120)
    cpt_code: CptCode | None = None
    modifiers: list[Modifier] | None = Field(default=None, max_length=MAX_MODIFIERS)
    unit: PricingUnit | None = None
    unit_price: MinorUnits | None = None
    rounding: RoundingMode | None = None
    rounding_increment_minutes: Increment | None = None
    minimum_minutes: Minutes | None = None
    minimum_amount: MinorUnits | None = None
    default_duration_minutes: Duration | None = None
    active: Flag | None = None
    expected_version: Whole | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _no_null(self) -> ServiceUpdate:
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class ServiceOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    id: str
    name: str
    cpt_code: str
    modifiers: list[str]
    unit: PricingUnit
    unit_price: Amount
    currency: str
    rounding: RoundingMode
    rounding_increment_minutes: int
    minimum_minutes: int
    minimum_amount: Amount
    default_duration_minutes: int
    active: bool
    version: int
    created_at: datetime
    has_cancellation_policy: bool  # the service has its own cancellation / no-show terms


class ServicePolicyOut(BaseModel):
    """A service's own cancellation / no-show terms (``override``: only the parts it replaces; null:
    none) and the policy in force for its sessions (``effective``: the practice's with the override)."""

    model_config = ConfigDict(defer_build=True)

    service_id: str
    override: CancellationPolicyOverride | None
    effective: CancellationPolicy


class PricingRuleIn(_Strict):
    """``fixed``: ``amount`` per unit (minor units); ``percent``: ``percent_bps`` of the default
    price (basis points, 10000 = 100 %). 0 means the client is not billed for this service."""

    kind: RuleKind
    amount: MinorUnits | None = None
    percent_bps: Annotated[Whole, Field(ge=0, le=10_000)] | None = None

    @model_validator(mode="after")
    def _one_value(self) -> PricingRuleIn:
        if self.kind == "fixed" and (self.amount is None or self.percent_bps is not None):
            raise ValueError("a fixed rule needs amount (and no percent_bps)")
        if self.kind == "percent" and (self.percent_bps is None or self.amount is not None):
            raise ValueError("a percent rule needs percent_bps (and no amount)")
        return self


class PricingRuleOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    client_id: str
    service_id: str
    kind: RuleKind
    amount: Amount | None
    percent_bps: int | None
    currency: str
    not_billed: bool
    updated_at: datetime
    updated_by: str
    version: int


class SessionBook(_Strict):
    client_id: Id
    service_id: Id
    clinician_id: ClinicianId
    scheduled_start: Instant
    scheduled_end: Instant | None = None  # default: start + the service's default duration
    payer_id: Id | None = Field(
        default=None,
        description="who pays a booking deposit: one of the client's billing contacts (default: the client)",
    )
    billing: Literal["self_pay"] | None = Field(
        default=None,
        description="self_pay: the client pays for this visit whatever their coverage (e.g. past their "
        "authorization), under the practice's cash-pay deposit and prepayment rules",
    )


class SessionReschedule(_Strict):
    scheduled_start: Instant
    scheduled_end: Instant


class SessionComplete(_Strict):
    actual_start: Instant
    actual_end: Instant


class SessionCancel(_Strict):
    cancelled_by: CancelledBy


class PriceOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    amount: Amount
    currency: str
    unit: PricingUnit
    unit_price: Amount
    units: int
    billed_minutes: int | None
    actual_seconds: int | None
    rule: Literal["default", "fixed", "percent"]
    percent_bps: int | None
    not_billed: bool
    cpt_code: str
    modifiers: list[str]


class CancellationOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    cancelled_at: datetime
    cancelled_by: CancelledBy
    recorded_by: str
    minutes_before_start: int
    hours_before_start: int
    window_hours: int
    late: bool


class CopayOut(BaseModel):
    """The copay taken at check-in: ``charged``, ``pending`` (finished by the reconciler),
    ``requires_action`` (the billing party was emailed a link) or ``balance`` (left open; see ``problem``)."""

    model_config = ConfigDict(defer_build=True)

    amount: Amount
    currency: str
    status: ChargeStatus
    payment_id: str | None
    problem: str | None


class FeeOut(BaseModel):
    """The cancellation / no-show fee assessed by the practice's policy: ``none`` (no fee; see
    ``reason``), ``charged``, ``pending``, ``requires_action``, ``balance`` (left open; see
    ``problem``) or ``waived``. ``explanation`` is what the client was told."""

    model_config = ConfigDict(defer_build=True)

    amount: Amount
    currency: str
    reason: str
    explanation: str
    counts_as_offence: bool
    offence_at: datetime | None
    waived_amount: Amount
    waiver_deadline: datetime
    status: ChargeStatus
    payment_id: str | None
    problem: str | None
    waived_by: str | None
    waived_at: datetime | None


class BookingPaymentOut(BaseModel):
    """The deposit or prepayment the booking waits for. ``status``: ``awaiting`` (the slot is held
    until ``hold_expires_at``), ``paid`` (confirmed), ``released`` (the hold ended unpaid) or
    ``paid_after_release`` (kept as the client's credit). ``pay_link``: the client's pay page
    (in the booking's answer only, while the hold is open)."""

    model_config = ConfigDict(defer_build=True)

    kind: Literal["deposit", "prepayment"]
    amount_due: Amount
    currency: str
    payment_id: str
    status: str
    payment_status: str | None = None
    hold_expires_at: datetime
    pay_link: str | None = None


class ReleaseOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    released_at: datetime
    reason: str
    recorded_by: str


class AuthorizationWarningOut(BaseModel):
    """The booking goes beyond the client's authorization: ``authorization_missing``,
    ``authorization_expired`` or ``authorization_used_up``, in words."""

    model_config = ConfigDict(defer_build=True)
    code: Literal["authorization_missing", "authorization_expired", "authorization_used_up"]
    message: str


class SessionOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    id: str
    client_id: str
    service_id: str
    clinician_id: str
    status: SessionStatus
    scheduled_start: datetime
    scheduled_end: datetime
    checked_in_at: datetime | None
    actual_start: datetime | None
    actual_end: datetime | None
    completed_at: datetime | None
    no_show_at: datetime | None
    price: PriceOut | None
    cancellation: CancellationOut | None
    copay: CopayOut | None = None
    fee: FeeOut | None = None
    booking_payment: BookingPaymentOut | None = None
    release: ReleaseOut | None = None
    billing: Literal["self_pay"] | None = Field(
        default=None, description="self_pay: booked as cash-pay; the client pays whatever their coverage"
    )
    authorization_warning: AuthorizationWarningOut | None = Field(
        default=None, description="in the booking's answer only: the visit goes beyond the authorization"
    )
    booking_requirement: str | None = Field(
        default=None,
        description="what the booking rules asked for when it was booked, and which rule: deposit:service",
    )
    note_signed_at: datetime | None = None
    note_signed_by: str | None = None
    supervisor_approved_at: datetime | None = None
    supervisor_approved_by: str | None = None
    diagnoses: list[str] | None = Field(
        default=None,
        description="the session's own ICD-10-CM codes in pointer order (null: the client's apply)",
    )
    version: int
    created_at: datetime
    updated_at: datetime


class SessionList(BaseModel):
    model_config = ConfigDict(defer_build=True)
    items: list[SessionOut]


# -- split billing -------------------------------------------------------------------------------
SplitKindIn = Literal["copay", "session_fee", "cancellation_fee"]


class ShareIn(_Strict):
    """``percent``: value in basis points (1..10000); ``fixed``: value in minor units; ``rest``:
    no value, pays what the other shares leave."""

    owner_id: Id  # the client's id or one of their billing contacts' ids
    type: Literal["percent", "fixed", "rest"]
    value: MinorUnits | None = Field(
        default=None, description="percent: basis points (1 to 10,000); fixed: minor units; rest: none"
    )


class RuleSetIn(_Strict):
    kinds: list[SplitKindIn] = Field(default_factory=list, max_length=3)  # empty: all kinds
    shares: list[ShareIn] = Field(min_length=1, max_length=10)


class ResponsibilityIn(_Strict):
    rules: list[RuleSetIn] = Field(min_length=1, max_length=4)


class ShareOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    owner_id: str
    type: Literal["percent", "fixed", "rest"]
    value: int | None = Field(
        description="percent: basis points (2500 is 25%); fixed: minor units of the currency, e.g. "
        "2500 for 25.00; rest: null"
    )


class RuleSetOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    kinds: list[SplitKindIn]
    shares: list[ShareOut]


class ResponsibilityOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    client_id: str
    rules: list[RuleSetOut]
    updated_at: datetime
    updated_by: str
    version: int


# -- paying at booking: the rules ----------------------------------------------------------------
class ServiceBookingRuleIn(_Strict):
    """``rule``: every booking of the service; ``first_visit``: a client's first visit (over the
    practice's default). Either may be null (none)."""

    rule: BookingRequirement | None = None
    first_visit: BookingRequirement | None = None


class ServiceBookingRuleOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    service_id: str
    rule: BookingRequirement | None
    first_visit: BookingRequirement | None
    updated_at: datetime


class ClientBookingRuleIn(_Strict):
    """Over every other rule, for every service (``{"kind": "none"}`` waives them)."""

    rule: BookingRequirement


class ClientBookingRuleOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    client_id: str
    rule: BookingRequirement
    updated_at: datetime


class BookingSettingsIn(_Strict):
    first_visit: BookingRequirement | None = None
    hold_minutes: Whole = Field(default=30, ge=5, le=7 * 24 * 60)
    authorization_enforcement: Literal["warn", "refuse"] = Field(
        default="warn",
        description="a visit beyond the client's authorization (where the payer requires one): "
        "booked with a warning, or refused (409)",
    )
    version: Whole | None = Field(default=None, ge=0, description="the version read; 409 if it changed since")


class BookingSettingsOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    first_visit: BookingRequirement | None
    hold_minutes: int
    authorization_enforcement: str
    version: int
    updated_at: datetime | None
