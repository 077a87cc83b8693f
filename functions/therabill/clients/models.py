from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ClientStatus = Literal["active", "inactive"]


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
    copay_amount: int | None = None  # minor units, the practice's currency; charged at check-in
    payer_forbids_fees: bool = False  # e.g. a Medicaid plan: no cancellation / no-show fees
    # ICD-10-CM codes in pointer order (primary first), normalised; a session may override them.
    # Health information: never logged, never sent to Stripe, never in an email.
    diagnoses: tuple[str, ...] = ()
    # The client's insurance company (its payer id), read from the stored ``payer`` attribute.
    # Read-only: client creates and updates never write it, and no API response shows it.
    insurance_payer: str | None = Field(default=None, exclude=True)
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

    @property
    def is_contact(self) -> bool:
        return self.owner_id != self.client_id
