"""The `Clearinghouse` port: X12 bytes in and out, enrollments, and what came back since.

check_eligibility: a 270 interchange in, the payer's 271 out. A payer's own refusal (AAA) is inside
the 271 (the 271 reader turns it into staff wording); a refusal by the clearinghouse before the
payer saw it (a 999 rejection, a validation error) raises `ClearinghouseRejectedError` carrying the
reasons and the 999. Trouble reaching anyone raises `ClearinghouseUnavailableError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol


class EnrollmentStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"  # handed to the clearinghouse, not yet worked on
    PROVISIONING = "provisioning"  # with the payer
    LIVE = "live"
    ACTION_REQUIRED = "action_required"  # the provider must do something (sign, answer)
    REJECTED = "rejected"
    CANCELED = "canceled"


class EnrolledTransaction(StrEnum):
    """What an enrollment allows (one kind per enrollment, as clearinghouses file them)."""

    ELIGIBILITY = "eligibility"  # 270/271
    CLAIMS = "claims"  # 837P
    CLAIM_STATUS = "claim_status"  # 276/277
    REMITTANCE = "remittance"  # 835


class TransactionSupport(StrEnum):
    """Whether a payer takes a kind of transaction through the clearinghouse, and on what terms."""

    SUPPORTED = "supported"  # open to every provider: no enrollment
    ENROLLMENT_REQUIRED = "enrollment_required"  # only once the provider is enrolled with the payer
    NOT_SUPPORTED = "not_supported"


@dataclass(frozen=True, slots=True)
class PayerListing:
    """One payer of the clearinghouse's directory.

    ``id`` is the clearinghouse's own id for the payer, which never changes; ``payer_id`` the
    primary payer id an X12 document names the payer by (NM1*PR / NM1*PI), which can; ``aliases``
    the other payer ids it answers to and ``names`` the other names it goes by. ``transactions``
    holds the four kinds a therapy practice uses, each with its support."""

    id: str
    payer_id: str
    name: str
    aliases: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    transactions: tuple[tuple[EnrolledTransaction, TransactionSupport], ...] = ()

    def support(self, transaction: EnrolledTransaction) -> TransactionSupport:
        return dict(self.transactions).get(transaction, TransactionSupport.NOT_SUPPORTED)


@dataclass(frozen=True, slots=True)
class EnrollmentContact:
    """Where the payer writes about the enrollment: an organization or a person, and an address."""

    email: str
    phone: str
    street: str
    city: str
    state: str
    zip_code: str
    organization_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None


@dataclass(frozen=True, slots=True)
class EnrollmentRequest:
    payer_id: str
    transaction: EnrolledTransaction
    provider_name: str
    provider_npi: str
    provider_tax_id: str  # 9 digits
    contact: EnrollmentContact
    notify_email: str  # where the clearinghouse sends updates
    requested_effective: date | None = None
    submit: bool = True  # False: leave it a draft
    provider_tax_id_kind: str = "ein"  # "ein" or "ssn" (an individual billing under their own)


@dataclass(frozen=True, slots=True)
class Enrollment:
    id: str
    status: EnrollmentStatus
    payer_id: str
    transaction: EnrolledTransaction | None
    message: str | None = None  # the clearinghouse's reason (pending, rejected, what to do)


@dataclass(frozen=True, slots=True)
class SubmissionReceipt:
    """The clearinghouse took a claim batch. `acknowledgment` is its first 277CA when it sends one
    at once; the payer's answers come later as inbound documents."""

    submission_id: str
    control_number: str
    acknowledgment: bytes | None = None


@dataclass(frozen=True, slots=True)
class InboundDocument:
    """A document the clearinghouse holds for us: fetch its bytes with `fetch(id)`."""

    id: str
    transaction_set: str  # ST01: 999, 277, 835, ...
    received_at: datetime


class Clearinghouse(Protocol):
    def check_eligibility(self, x12_270: bytes) -> bytes:
        """The payer's 271 for a 270 interchange (real time)."""
        ...

    def submit_claims(self, x12_837_batch: bytes, *, idempotency_key: str) -> SubmissionReceipt:
        """Hand an 837P interchange over; the same key within a day never submits twice."""
        ...

    def inbound(self, since: datetime) -> list[InboundDocument]:
        """Documents received for us after `since` (every page), oldest first."""
        ...

    def fetch(self, document_id: str) -> bytes:
        """One inbound document's X12."""
        ...

    def payers(self, query: str) -> list[PayerListing]:
        """The directory's payers matching ``query`` (a name or part of one, in any case, or a
        payer id or alias), best match first: the clearinghouse's first page."""
        ...

    def payer(self, directory_id: str) -> PayerListing:
        """One payer by the clearinghouse's own id; ``ClearinghouseNotFoundError`` if none."""
        ...

    def enroll(self, request: EnrollmentRequest) -> Enrollment: ...

    def enrollment(self, enrollment_id: str) -> Enrollment: ...

    def find_enrollment(
        self, payer_id: str, transaction: EnrolledTransaction, *, provider_npi: str
    ) -> Enrollment | None:
        """The enrollment the clearinghouse holds for this provider, payer (the directory's id) and
        kind that has not ended (rejected, canceled), or None: whether a request whose answer was
        lost reached it."""
        ...
