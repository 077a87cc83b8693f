"""Request and response bodies of the payer routes (api/staff_payers.py): the directory's
listings, the practice's accepted payers and their enrollments. No health information here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from therabill.api.staff_models import _Strict
from therabill.clearinghouse.port import PayerListing
from therabill.payers.models import AcceptedPayer, EnrollmentView

PAYER_ID_PATTERN = r"^[A-Za-z0-9]{2,20}$"
Transaction = Literal["eligibility", "claims", "claim_status", "remittance"]
Support = Literal["supported", "enrollment_required", "not_supported"]

DirectoryPayerId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, pattern=PAYER_ID_PATTERN),
    Field(description="the payer's id in the clearinghouse's directory (``id`` of a listing)"),
]


class PayerListingOut(BaseModel):
    """A payer of the clearinghouse's directory."""

    id: str = Field(description="the directory's own id for the payer; it never changes")
    payer_id: str = Field(description="the primary payer id X12 documents name the payer by")
    name: str
    aliases: list[str] = Field(description="other payer ids it answers to")
    names: list[str] = Field(description="other names it goes by")
    transactions: dict[Transaction, Support] = Field(
        description="per kind: supported (no enrollment needed), enrollment_required or not_supported"
    )

    @classmethod
    def of(cls, listing: PayerListing) -> PayerListingOut:
        return cls(
            id=listing.id,
            payer_id=listing.payer_id,
            name=listing.name,
            aliases=list(listing.aliases),
            names=list(listing.names),
            transactions={kind.value: listing.support(kind).value for kind, _ in listing.transactions},
        )


class AcceptPayerIn(_Strict):
    payer_id: DirectoryPayerId


class EnrollIn(_Strict):
    transaction: Transaction


class EnrollmentOut(BaseModel):
    """One kind of transaction with one payer: the enrollment's state, or the listing's word when
    there is none (not_required, not_supported, not_started)."""

    transaction: Transaction
    support: Support
    status: str = Field(
        description="draft, submitted, provisioning, live, action_required, rejected, canceled; "
        "or, with no enrollment, not_required, not_supported or not_started"
    )
    clearinghouse_id: str | None = None
    message: str | None = Field(default=None, description="the clearinghouse's words")
    requested_at: datetime | None = None
    requested_by: str | None = None
    updated_at: datetime | None = None

    @classmethod
    def of(cls, view: EnrollmentView) -> EnrollmentOut:
        e = view.enrollment
        return cls(
            transaction=view.transaction.value,
            support=view.support.value,
            status=view.status,
            clearinghouse_id=e.clearinghouse_id if e else None,
            message=e.message if e else None,
            requested_at=e.requested_at if e else None,
            requested_by=e.requested_by if e else None,
            updated_at=e.updated_at if e else None,
        )


class AcceptedPayerOut(BaseModel):
    payer: PayerListingOut = Field(description="the directory's listing as it was when accepted")
    accepted_at: datetime
    accepted_by: str
    enrollments: list[EnrollmentOut] = Field(description="as last recorded, the four kinds in order")

    @classmethod
    def of(cls, accepted: AcceptedPayer, enrollments: list[EnrollmentView]) -> AcceptedPayerOut:
        return cls(
            payer=PayerListingOut.of(accepted.listing),
            accepted_at=accepted.accepted_at,
            accepted_by=accepted.accepted_by,
            enrollments=[EnrollmentOut.of(v) for v in enrollments],
        )
