"""The audit trail's values (plain data): who did what to which ids, when and from where.

A record never holds health information: no codes, names, notes or free text a person typed;
only ids, the action, the actor and, for a money action, its amount.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Action(StrEnum):
    """The fixed vocabulary of what is recorded. A new kind of action (coverage, insurance) is one
    new member here; stored records keep their text, so a member is never renamed or removed."""

    CLIENT_DIAGNOSES_READ = "client.diagnoses.read"
    CLIENT_DIAGNOSES_CHANGE = "client.diagnoses.change"
    SESSION_DIAGNOSES_READ = "session.diagnoses.read"
    SESSION_DIAGNOSES_CHANGE = "session.diagnoses.change"
    SESSION_NOTE_SIGN = "session.note.sign"
    SESSION_APPROVE = "session.approve"
    CHARGE_CREATE = "charge.create"
    PAYMENT_MANUAL = "payment.manual"
    REFUND_CREATE = "refund.create"
    REFUND_WRITE_OFF = "refund.write_off"  # a refund whose amount is also written off
    INVOICE_CREATE = "invoice.create"
    INVOICE_VOID = "invoice.void"
    INVOICE_UNCOLLECTIBLE = "invoice.uncollectible"
    WRITEOFF_FEE_WAIVER = "writeoff.fee_waiver"  # a cancellation / no-show fee waived
    CREDIT_GRANT = "credit.grant"  # a credit staff granted (goodwill, discount, paid outside Stripe)
    CREDIT_TAKE_BACK = "credit.take_back"  # what was unused of it taken back
    COVERAGE_READ = "coverage.read"  # a client's insurance coverage shown
    COVERAGE_CHANGE = "coverage.change"  # added, changed or removed
    COVERAGE_CARD_READ = "coverage.card.read"  # the card's pictures shown (signed links handed out)
    COVERAGE_CARD_CHANGE = "coverage.card.change"  # a picture's upload form handed out, or removed
    AUTHORIZATION_READ = "authorization.read"  # a coverage's authorization shown
    AUTHORIZATION_CHANGE = "authorization.change"  # added, changed or removed
    # Provider set-up (what claims name): never the tax id or NPI, only that it changed.
    BILLING_PROVIDER_CHANGE = "provider.billing.change"  # the practice's billing provider set
    CLINICIAN_PROVIDER_CHANGE = "provider.clinician.change"  # a clinician's record (or supervisor) set
    ELIGIBILITY_CHECK = "eligibility.check"  # staff asked the payer about a coverage (270/271)
    ELIGIBILITY_READ = "eligibility.read"  # an eligibility check shown
    # Who may see health information: a practice's staff and their roles.
    STAFF_INVITE = "staff.invite"  # invited by email, or added with no sign-in
    STAFF_CHANGE = "staff.change"  # role or name changed
    STAFF_DISABLE = "staff.disable"
    STAFF_ENABLE = "staff.enable"
    STAFF_REMOVE = "staff.remove"
    # The store: an order's lines name products, which may say something about a condition.
    ORDER_READ = "order.read"  # a store order shown to staff


class Actor(BaseModel):
    """Who acted: the staff member (the caller's user id) and the role they acted in."""

    model_config = ConfigDict(defer_build=True, frozen=True)
    id: str = Field(min_length=1, max_length=128)
    role: str = Field(min_length=1, max_length=40)


class Source(BaseModel):
    """Where the request came from, as API Gateway saw it (absent when it did not say)."""

    model_config = ConfigDict(defer_build=True, frozen=True)
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=512)
    request_id: str | None = Field(default=None, max_length=128)


class Targets(BaseModel):
    """The ids the action concerned (only ids: never what they hold)."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")
    client_id: str | None = None
    session_id: str | None = None
    payment_id: str | None = None
    refund_id: str | None = None
    invoice_id: str | None = None
    entry_id: str | None = None  # a ledger entry
    coverage_id: str | None = None  # a client's insurance coverage
    authorization_id: str | None = None  # a coverage's authorization
    member_id: str | None = None  # a staff member acted on (the actor is ``Actor.id``)
    order_id: str | None = None  # a store order (what it holds names products: health information)


class AuditRecord(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    practice_id: str
    at: datetime
    actor: Actor
    action: Action
    targets: Targets
    amount: int | None = None  # minor units, money actions only
    currency: str | None = None
    source: Source


class AuditPage(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)
    items: list[AuditRecord]
    cursor: str | None
