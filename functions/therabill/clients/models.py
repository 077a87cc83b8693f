from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from therabill.core.cadence import BillingCadence

ClientStatus = Literal["active", "inactive"]
# How the client's sessions are billed: to the client (self_pay), to their insurance (insurance:
# the client owes their estimated share, the copay; the rest is the claim's), or not at all.
BillingType = Literal["self_pay", "insurance", "not_billed"]


class Client(BaseModel):
    """A person who receives care. Their own card and contact details make them a billing party
    too."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    first_name: str
    last_name: str
    email: str | None = None
    phone: str | None = None
    status: ClientStatus = "active"
    stripe_customer_id: str | None = None
    default_card_id: str | None = None
    # Insurance itself (policies, copay, fee ban) is the coverage capability's: see
    # ``coverage.models.standing`` for what makes a session insured.
    billing_type: BillingType = "self_pay"
    # The item still holds insurance from before coverage (a copay, a fee ban, a payer) that the
    # coverage migration has not moved yet: until it has, the nightly run bills nothing of this
    # client's (it cannot tell what the client owes), so a deploy before the migration charges
    # no one the full price of an insured session.
    unmigrated_insurance: bool = False
    # ICD-10-CM codes in pointer order (primary first), normalised; a session may override them.
    # Health information: never logged, never sent to Stripe, never in an email.
    diagnoses: tuple[str, ...] = ()
    autopay: bool | None = None  # AutoPay as this billing party chose (None: the practice's default)
    billing_cadence: BillingCadence | None = None  # None: the practice's
    created_at: datetime
    version: int

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class BillingContact(BaseModel):
    """Someone who pays for a client (a parent, a spouse). Has their own cards and receipts."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    client_id: str
    name: str
    email: str
    relationship: str
    phone: str | None = None
    stripe_customer_id: str | None = None
    default_card_id: str | None = None
    autopay: bool | None = None  # AutoPay as this billing party chose (None: the practice's default)
    created_at: datetime
    version: int


class BillingParty(BaseModel):
    """Whose card pays and who gets the receipt: the client themself or a billing contact."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    client_id: str
    owner_id: str  # the client's id, or the contact's id
    name: str
    email: str | None
    stripe_customer_id: str | None
    default_card_id: str | None
    autopay: bool | None = None  # None: the practice's default
    version: int = 0  # the client's or the contact's

    def autopay_on(self, practice_default: bool) -> bool:
        return practice_default if self.autopay is None else self.autopay

    @property
    def is_contact(self) -> bool:
        return self.owner_id != self.client_id
