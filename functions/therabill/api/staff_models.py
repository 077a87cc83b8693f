"""Request and response bodies of the staff API (the API boundary; domain models are mapped)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from therabill.api.inputs import Flag, Instant, Memo, PositiveMinorUnits, Text, Whole
from therabill.api.outputs import Amount, minor_units
from therabill.cards.models import ChargeKind
from therabill.clients.models import BillingType
from therabill.core.clock import zone
from therabill.core.money import normalise_currency

# Names go into emails and pages: ``Text``, one line without control characters.
_NAME = Field(min_length=1, max_length=120)
_OPTIONAL_NAME = Field(default=None, min_length=1, max_length=120)
SUPPORTED_CURRENCIES = frozenset({"usd", "cad", "gbp", "eur", "aud", "nzd"})
# A practical address check (no DNS at request time): one @, a dotted domain, no spaces.
EmailStr = Annotated[Text, Field(pattern=r"^[^@\s]{1,64}@[^@\s]+\.[A-Za-z]{2,}$", max_length=254)]
PHONE_PATTERN = r"^\+?[0-9 ()\-]{7,20}$"
# The practice's postal address, on one line as invoices print it.
_ADDRESS = Field(default=None, min_length=1, max_length=200, description="one line, printed on invoices")


class _Strict(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", str_strip_whitespace=True)


class _Patch(_Strict):
    """A partial update: omitted fields stay; only the fields in ``CLEARABLE`` may be set to null."""

    CLEARABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null_for_required(self) -> _Patch:
        for name in self.model_fields_set:
            if getattr(self, name) is None and name not in self.CLEARABLE:
                raise ValueError(f"{name} cannot be null")
        return self


class PracticeCreate(_Strict):
    name: Text = _NAME
    email: EmailStr
    time_zone: Text = Field(default="America/New_York", max_length=64)
    cutoff_hour: Whole = Field(default=23, ge=0, le=23)
    currency: Text = Field(default="usd", max_length=3)
    country: str = Field(default="US", pattern=r"^[A-Z]{2}$")
    address: Text | None = _ADDRESS
    phone: str | None = Field(default=None, pattern=PHONE_PATTERN)

    @field_validator("time_zone")
    @classmethod
    def _tz(cls, v: str) -> str:
        zone(v)
        return v

    @field_validator("currency")
    @classmethod
    def _cur(cls, v: str) -> str:
        currency = normalise_currency(v)
        if currency not in SUPPORTED_CURRENCIES:
            raise ValueError(f"currency must be one of {', '.join(sorted(SUPPORTED_CURRENCIES))}")
        return currency


class PracticeUpdate(_Patch):
    CLEARABLE = frozenset({"address", "phone"})

    name: Text | None = _OPTIONAL_NAME
    email: EmailStr | None = None
    time_zone: Text | None = Field(default=None, max_length=64)
    cutoff_hour: Whole | None = Field(default=None, ge=0, le=23)
    billing_requires_signed_note: Flag | None = Field(
        default=None, description="bill a completed session only once its note is signed"
    )
    address: Text | None = _ADDRESS
    phone: str | None = Field(default=None, pattern=PHONE_PATTERN)
    expected_version: Whole | None = Field(default=None, ge=1)

    @field_validator("time_zone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        if v is not None:
            zone(v)
        return v


class StripeStatusOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    account_id: str
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    updated_at: datetime


class PracticeOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    id: str
    name: str
    email: str
    time_zone: str
    cutoff_hour: int
    currency: str
    country: str
    version: int
    created_at: datetime
    stripe: StripeStatusOut | None
    billing_requires_signed_note: bool = False
    address: str | None = None
    phone: str | None = None


class ConnectLinks(_Strict):
    refresh_url: Text = Field(pattern=r"^https?://", max_length=2000)
    return_url: Text = Field(pattern=r"^https?://", max_length=2000)


class ConnectOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    onboarding_url: str


# Fields a client had before coverage existed: refused, pointing at where they live now.
_MOVED_TO_COVERAGE = {
    "copay_amount": "copay_override",
    "payer_forbids_fees": "forbids_cancellation_fees_override",
}
_BILLING_TYPE = Field(
    description="self_pay (the client pays), insurance (the client pays their copay; the rest is "
    "the claim's, once a primary coverage is in force on the date of service: "
    "/clients/{client_id}/coverage) or not_billed",
)


class _NoInsuranceFields(_Strict):
    """Refuses the fields a client had before coverage existed, by name, saying where they are now
    (left out of the OpenAPI document: the API takes no value for them)."""

    copay_amount: SkipJsonSchema[object] = Field(default=None, exclude=True)
    payer_forbids_fees: SkipJsonSchema[object] = Field(default=None, exclude=True)

    @field_validator("copay_amount", "payer_forbids_fees", mode="before")
    @classmethod
    def _moved(cls, value: object, info: ValidationInfo) -> object:
        moved = _MOVED_TO_COVERAGE[str(info.field_name)]
        raise ValueError(
            f"is a coverage field now: set {moved} on the client's coverage "
            "(POST or PATCH /clients/{client_id}/coverage)"
        )


class ClientCreate(_NoInsuranceFields):
    first_name: Text = _NAME
    last_name: Text = _NAME
    email: EmailStr | None = None
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()\-]{7,20}$")
    billing_type: BillingType = Field(default="self_pay", description=_BILLING_TYPE.description)


class ClientUpdate(_Patch, _NoInsuranceFields):
    CLEARABLE = frozenset({"email", "phone"})

    first_name: Text | None = _OPTIONAL_NAME
    last_name: Text | None = _OPTIONAL_NAME
    email: EmailStr | None = None
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()\-]{7,20}$")
    status: Literal["active", "inactive"] | None = None
    billing_type: BillingType | None = Field(default=None, description=_BILLING_TYPE.description)
    expected_version: Whole | None = Field(default=None, ge=1)


class ClientOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    id: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    status: str
    default_card_id: str | None
    billing_type: BillingType = Field(description=_BILLING_TYPE.description)
    diagnoses: list[str] = Field(
        default_factory=list, description="ICD-10-CM codes in pointer order, the primary first"
    )
    version: int
    created_at: datetime


class ClientPage(BaseModel):
    model_config = ConfigDict(defer_build=True)
    items: list[ClientOut]
    next_cursor: str | None


class ContactCreate(_Strict):
    name: Text = _NAME
    email: EmailStr
    relationship: Text = Field(min_length=1, max_length=40)
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()\-]{7,20}$")


class ContactUpdate(_Patch):
    CLEARABLE = frozenset({"phone"})

    name: Text | None = _OPTIONAL_NAME
    email: EmailStr | None = None
    relationship: Text | None = Field(default=None, min_length=1, max_length=40)
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()\-]{7,20}$")
    expected_version: Whole | None = Field(default=None, ge=1)


class ContactOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    id: str
    client_id: str
    name: str
    email: str
    relationship: str
    phone: str | None
    default_card_id: str | None
    version: int


class ScopeIn(_Strict):
    kinds: list[ChargeKind] = Field(
        min_length=1, max_length=5, json_schema_extra={"uniqueItems": True}, description="each kind once"
    )
    max_amount: PositiveMinorUnits | None = Field(
        default=None, description="minor units: the most one charge may take (omit: no cap)"
    )
    expires_at: Instant | None = None

    @field_validator("kinds")
    @classmethod
    def _distinct(cls, kinds: list[str]) -> list[str]:
        if len(set(kinds)) != len(kinds):
            raise ValueError("must name each kind once")
        return kinds


class SetupLinkCreate(_Strict):
    contact_id: Text | None = Field(default=None, max_length=40)  # omit: the client's own card
    scope: ScopeIn
    valid_hours: Whole = Field(default=72, ge=1, le=24 * 14)


class SetupLinkOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    link_id: str
    url: str
    expires_at: datetime


class CardOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    id: str
    owner_id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    is_default: bool
    consent_id: str
    created_at: datetime


class ChargeCreate(_Strict):
    amount: PositiveMinorUnits
    kind: ChargeKind
    memo: Memo = Field(default="", max_length=200, description="internal note; never sent to Stripe")
    card_id: Text | None = Field(default=None, max_length=60)
    contact_id: Text | None = Field(default=None, max_length=40)


class PaymentOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    id: str
    client_id: str
    owner_id: str
    card_id: str | None = Field(description="the saved card charged; null when paid on a page")
    amount: Amount
    currency: str
    kind: str
    status: str
    payment_intent_id: str | None
    error_code: str | None
    decline_code: str | None
    failure_message: str | None
    refunded_amount: Amount
    dispute_status: str | None
    dispute_reason: str | None
    created_at: datetime
    updated_at: datetime


class LedgerLineOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    account: str = Field(
        description="receivable, credit (the payer account's), revenue, adjustments or cash:<method>"
    )
    amount: int = Field(description="minor units; debit positive, credit negative; an entry's lines sum to 0")


class LedgerEntryOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    id: str
    kind: str
    amount: Amount
    currency: str
    signed_amount: int = Field(
        description=minor_units("the change in what the payer owes (receivable - credit)")
    )
    posted_at: datetime
    memo: str
    method: str | None
    payment_id: str | None
    owner_id: str | None = Field(description="the paying billing contact; null: the client")
    lines: list[LedgerLineOut]


class LedgerAccountOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    owner_id: str | None = Field(description="the paying billing contact; null: the client")
    receivable: int = Field(description=minor_units("what this payer owes (never negative)"))
    credit: int = Field(description=minor_units("this payer's unapplied credit (never negative)"))
    owed: int = Field(description=minor_units("receivable - credit"))


class LedgerOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    client_id: str
    currency: str
    balance: int = Field(description=minor_units("positive: owed by the client; negative: credit"))
    receivable: int = Field(description=minor_units("what the client's payer accounts owe in all"))
    credit: int = Field(description=minor_units("the unapplied credit of the client's payer accounts in all"))
    accounts: list[LedgerAccountOut] = Field(description="per payer account, the client first")
    entries: list[LedgerEntryOut]


# -- diagnoses (ICD-10-CM) -------------------------------------------------------------------------
# The shape is checked (and normalised) by therabill.clinical.icd10, with messages that never
# repeat a code; here only the size of the input is bounded.
DiagnosisCode = Annotated[Text, Field(min_length=1, max_length=16)]


class DiagnosesIn(_Strict):
    """ICD-10-CM codes in pointer order (the primary first), 0 to 12; an empty list clears them."""

    codes: list[DiagnosisCode] = Field(max_length=50)
    expected_version: Whole | None = Field(default=None, ge=1)
