"""The practice's accepted payers and its enrollments with them, and the enrollment's rules, pure.

An accepted payer keeps the directory's listing as it was when accepted (its ids, names, aliases
and what it takes with or without enrollment). An enrollment is one per payer and kind of
transaction: Therabill's own record of the clearinghouse's enrollment (its id, status and
message), written before the clearinghouse is asked so that a retry or a second click never
enrolls twice (``plan``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from therabill.clearinghouse.port import (
    EnrolledTransaction,
    Enrollment,
    EnrollmentStatus,
    PayerListing,
    TransactionSupport,
)

# How long a request that wrote the draft may take to hear from the clearinghouse before another
# request may take its place (a staff request lives at most 15 s).
CLAIM = timedelta(seconds=60)
# Statuses the clearinghouse may still change (read again when shown).
PENDING = frozenset(
    {
        EnrollmentStatus.DRAFT,
        EnrollmentStatus.SUBMITTED,
        EnrollmentStatus.PROVISIONING,
        EnrollmentStatus.ACTION_REQUIRED,
    }
)
# Statuses after which asking again starts a new enrollment.
ENDED = frozenset({EnrollmentStatus.REJECTED, EnrollmentStatus.CANCELED})


@dataclass(frozen=True, slots=True)
class AcceptedPayer:
    listing: PayerListing
    accepted_at: datetime
    accepted_by: str  # a staff id


@dataclass(frozen=True, slots=True)
class PayerEnrollment:
    """Status ``draft`` with no ``clearinghouse_id``: written, the clearinghouse not (yet) heard
    from; ``claimed_until`` says until when the request that wrote it is still at it."""

    payer_id: str  # the directory's id
    transaction: EnrolledTransaction
    status: EnrollmentStatus
    requested_at: datetime
    requested_by: str
    updated_at: datetime
    version: int
    clearinghouse_id: str | None = None
    message: str | None = None
    claimed_until: datetime | None = None

    @classmethod
    def draft(
        cls, payer_id: str, transaction: EnrolledTransaction, *, by: str, now: datetime
    ) -> PayerEnrollment:
        return cls(
            payer_id=payer_id,
            transaction=transaction,
            status=EnrollmentStatus.DRAFT,
            requested_at=now,
            requested_by=by,
            updated_at=now,
            version=1,
            claimed_until=now + CLAIM,
        )

    def restarted(self, *, by: str, now: datetime) -> PayerEnrollment:
        """A new attempt in this item's place (after a rejection, or taking over a stale draft)."""
        fresh = PayerEnrollment.draft(self.payer_id, self.transaction, by=by, now=now)
        return replace(fresh, version=self.version + 1)

    def released(self, now: datetime) -> PayerEnrollment:
        """The draft let go (the clearinghouse was unavailable): the next request may go at once."""
        return replace(self, claimed_until=None, updated_at=now, version=self.version + 1)

    def with_clearinghouse(self, answer: Enrollment, now: datetime) -> PayerEnrollment:
        return replace(
            self,
            clearinghouse_id=answer.id,
            status=answer.status,
            message=answer.message,
            claimed_until=None,
            updated_at=now,
            version=self.version + 1,
        )

    @property
    def pending(self) -> bool:
        return self.clearinghouse_id is not None and self.status in PENDING


class Step(StrEnum):
    CREATE = "create"  # nothing yet: put the draft if absent, then ask the clearinghouse
    RESUME = "resume"  # a draft nobody is at (a crash, an unavailable clearinghouse): take it, ask
    RESTART = "restart"  # rejected or canceled: a new attempt in its place
    BUSY = "busy"  # another request is asking the clearinghouse right now
    DONE = "done"  # the clearinghouse has it: answer it as it is


def plan(existing: PayerEnrollment | None, now: datetime) -> Step:
    """What a request to enroll does, given the item as it is."""
    if existing is None:
        return Step.CREATE
    if existing.clearinghouse_id is None:
        if existing.claimed_until is not None and existing.claimed_until > now:
            return Step.BUSY
        return Step.RESUME
    if existing.status in ENDED:
        return Step.RESTART
    return Step.DONE


class Refusal(StrEnum):
    """Why an enrollment is not asked for (nothing written, the clearinghouse not called)."""

    NOT_SUPPORTED = "not_supported"  # the payer does not take this kind through the clearinghouse
    NOT_REQUIRED = "not_required"  # the payer takes it from any provider: nothing to enroll
    NO_BILLING_PROVIDER = "no_billing_provider"  # the practice has not set up its billing provider


def refusal(listing: PayerListing, transaction: EnrolledTransaction, *, has_provider: bool) -> Refusal | None:
    support = listing.support(transaction)
    if support is TransactionSupport.NOT_SUPPORTED:
        return Refusal.NOT_SUPPORTED
    if support is TransactionSupport.SUPPORTED:
        return Refusal.NOT_REQUIRED
    return None if has_provider else Refusal.NO_BILLING_PROVIDER


# What staff see per payer and kind: an enrollment's status, or what the listing says when there
# is none (``not_required``, ``not_supported``, ``not_started``).
NOT_STARTED = "not_started"


@dataclass(frozen=True, slots=True)
class EnrollmentView:
    transaction: EnrolledTransaction
    support: TransactionSupport
    status: str
    enrollment: PayerEnrollment | None = None


def views(listing: PayerListing, enrollments: list[PayerEnrollment]) -> list[EnrollmentView]:
    """The four kinds of transaction, in order, each with its state for this payer."""
    mine = {e.transaction: e for e in enrollments}
    out = []
    for kind in EnrolledTransaction:
        support = listing.support(kind)
        found = mine.get(kind)
        if found is not None:
            status = str(found.status)
        elif support is TransactionSupport.ENROLLMENT_REQUIRED:
            status = NOT_STARTED
        else:
            status = (
                Refusal.NOT_REQUIRED if support is TransactionSupport.SUPPORTED else Refusal.NOT_SUPPORTED
            )
        out.append(EnrollmentView(kind, support, str(status), found))
    return out
