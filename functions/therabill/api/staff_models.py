"""Request and response bodies of the staff API (the API boundary; domain models are mapped)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator, model_validator

from therabill.cards.models import ChargeKind
from therabill.core.clock import zone
from therabill.core.money import normalise_currency

# Names go into emails and pages: printable text only (no control characters, no line breaks).
_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
_NAME = Field(min_length=1, max_length=120, pattern=_PRINTABLE)
_OPTIONAL_NAME = Field(default=None, min_length=1, max_length=120, pattern=_PRINTABLE)
SUPPORTED_CURRENCIES = frozenset({"usd", "cad", "gbp", "eur", "aud", "nzd"})
# A practical address check (no DNS at request time): one @, a dotted domain, no spaces.
# Minor units: integers only (a JSON 12.5 is refused), at most 1,000,000.00 of the currency.
Amount = Annotated[StrictInt, Field(ge=0, le=100_000_000)]
EmailStr = Annotated[str, Field(pattern=r"^[^@\s]{1,64}@[^@\s]+\.[A-Za-z]{2,}$", max_length=254)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


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
    name: str = _NAME
    email: EmailStr
    time_zone: str = "America/New_York"
    cutoff_hour: int = Field(default=23, ge=0, le=23)
    currency: str = "usd"
    country: str = Field(default="US", pattern=r"^[A-Z]{2}$")

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
    name: str | None = _OPTIONAL_NAME
    email: EmailStr | None = None
    time_zone: str | None = None
    cutoff_hour: int | None = Field(default=None, ge=0, le=23)
    billing_requires_signed_note: StrictBool | None = Field(
        default=None, description="bill a completed session only once its note is signed"
    )
    expected_version: int | None = Field(default=None, ge=1)

    @field_validator("time_zone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        if v is not None:
            zone(v)
        return v


class StripeStatusOut(BaseModel):
    account_id: str
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    updated_at: datetime


class PracticeOut(BaseModel):
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


class ConnectLinks(_Strict):
    refresh_url: str = Field(pattern=r"^https?://", max_length=2000)
    return_url: str = Field(pattern=r"^https?://", max_length=2000)


class ConnectOut(BaseModel):
    onboarding_url: str


class ClientCreate(_Strict):
    first_name: str = _NAME
    last_name: str = _NAME
    email: EmailStr | None = None
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()\-]{7,20}$")
    copay_amount: Amount | None = None
    payer_forbids_fees: bool = False


class ClientUpdate(_Patch):
    CLEARABLE = frozenset({"email", "phone", "copay_amount"})

    first_name: str | None = _OPTIONAL_NAME
    last_name: str | None = _OPTIONAL_NAME
    email: EmailStr | None = None
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()\-]{7,20}$")
    status: Literal["active", "inactive"] | None = None
    copay_amount: Amount | None = None
    payer_forbids_fees: bool | None = None
    expected_version: int | None = Field(default=None, ge=1)


class ClientOut(BaseModel):
    id: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    status: str
    default_card_id: str | None
    copay_amount: int | None = Field(description="minor units, charged at check-in")
    payer_forbids_fees: bool
    diagnoses: list[str] = Field(
        default_factory=list, description="ICD-10-CM codes in pointer order, the primary first"
    )
    version: int
    created_at: datetime


class ClientPage(BaseModel):
    items: list[ClientOut]
    next_cursor: str | None


class ContactCreate(_Strict):
    name: str = _NAME
    email: EmailStr
    relationship: str = Field(min_length=1, max_length=40)
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()\-]{7,20}$")


class ContactUpdate(_Patch):
    CLEARABLE = frozenset({"phone"})

    name: str | None = _OPTIONAL_NAME
    email: EmailStr | None = None
    relationship: str | None = Field(default=None, min_length=1, max_length=40)
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()\-]{7,20}$")
    expected_version: int | None = Field(default=None, ge=1)


class ContactOut(BaseModel):
    id: str
    client_id: str
    name: str
    email: str
    relationship: str
    phone: str | None
    default_card_id: str | None
    version: int


class ScopeIn(_Strict):
    kinds: list[ChargeKind] = Field(min_length=1, max_length=5)
    max_amount: int | None = Field(default=None, gt=0, le=10_000_000)
    expires_at: datetime | None = None

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("expires_at needs a time zone (use Z for UTC)")
        return v


class SetupLinkCreate(_Strict):
    contact_id: str | None = None  # omit: the client's own card
    scope: ScopeIn
    valid_hours: int = Field(default=72, ge=1, le=24 * 14)


class SetupLinkOut(BaseModel):
    link_id: str
    url: str
    expires_at: datetime


class CardOut(BaseModel):
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
    amount: int = Field(gt=0, le=10_000_000, description="minor units (cents)")
    kind: ChargeKind
    memo: str = Field(default="", max_length=200, description="internal note; never sent to Stripe")
    card_id: str | None = None
    contact_id: str | None = None


class PaymentOut(BaseModel):
    id: str
    client_id: str
    owner_id: str
    card_id: str | None = Field(description="the saved card charged; null when paid on a page")
    amount: int
    currency: str
    kind: str
    status: str
    payment_intent_id: str | None
    error_code: str | None
    decline_code: str | None
    failure_message: str | None
    refunded_amount: int
    dispute_status: str | None
    dispute_reason: str | None
    created_at: datetime
    updated_at: datetime


class LedgerLineOut(BaseModel):
    account: str = Field(
        description="receivable, credit (the payer account's), revenue, adjustments or cash:<method>"
    )
    amount: int = Field(description="minor units; debit positive, credit negative; an entry's lines sum to 0")


class LedgerEntryOut(BaseModel):
    id: str
    kind: str
    amount: int
    currency: str
    signed_amount: int = Field(description="the change in what the payer owes (receivable - credit)")
    posted_at: datetime
    memo: str
    method: str | None
    payment_id: str | None
    owner_id: str | None = Field(description="the paying billing contact; null: the client")
    lines: list[LedgerLineOut]


class LedgerAccountOut(BaseModel):
    owner_id: str | None = Field(description="the paying billing contact; null: the client")
    receivable: int = Field(description="what this payer owes (never negative)")
    credit: int = Field(description="this payer's unapplied credit (never negative)")
    owed: int = Field(description="receivable - credit")


class LedgerOut(BaseModel):
    client_id: str
    currency: str
    balance: int = Field(description="positive: owed by the client; negative: credit")
    receivable: int = Field(description="what the client's payer accounts owe in all")
    credit: int = Field(description="the unapplied credit of the client's payer accounts in all")
    accounts: list[LedgerAccountOut] = Field(description="per payer account, the client first")
    entries: list[LedgerEntryOut]


# -- diagnoses (ICD-10-CM) -------------------------------------------------------------------------
# The shape is checked (and normalised) by therabill.clinical.icd10, with messages that never
# repeat a code; here only the size of the input is bounded.
DiagnosisCode = Annotated[str, Field(min_length=1, max_length=16)]


class DiagnosesIn(_Strict):
    """ICD-10-CM codes in pointer order (the primary first), 0 to 12; an empty list clears them."""

    codes: list[DiagnosisCode] = Field(max_length=50)
    expected_version: int | None = Field(default=None, ge=1)
