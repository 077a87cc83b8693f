"""Payer items, in the practice's partition: an accepted payer (``PAYER#<payer>``, the directory's
listing as accepted) and an enrollment (``ENROLLMENT#<payer>#<transaction>``, versioned: every
write after the first is conditioned on the version read)."""

from __future__ import annotations

from typing import Any

from therabill.adapters.dynamo import ConditionFailed, Table
from therabill.clearinghouse.port import (
    EnrolledTransaction,
    EnrollmentStatus,
    PayerListing,
    TransactionSupport,
)
from therabill.core import keys
from therabill.core.clock import iso, parse_iso
from therabill.payers.errors import EnrollmentChangedError, PayerNotAcceptedError
from therabill.payers.models import AcceptedPayer, PayerEnrollment


def _listing_item(listing: PayerListing) -> dict[str, Any]:
    return {
        "id": listing.id,
        "payer_id": listing.payer_id,
        "name": listing.name,
        "aliases": list(listing.aliases),
        "names": list(listing.names),
        "transactions": {str(kind): str(support) for kind, support in listing.transactions},
    }


def _listing(data: dict[str, Any]) -> PayerListing:
    return PayerListing(
        id=data["id"],
        payer_id=data["payer_id"],
        name=data["name"],
        aliases=tuple(data.get("aliases") or ()),
        names=tuple(data.get("names") or ()),
        transactions=tuple(
            (EnrolledTransaction(kind), TransactionSupport(support))
            for kind, support in (data.get("transactions") or {}).items()
        ),
    )


def _accepted(item: dict[str, Any]) -> AcceptedPayer:
    return AcceptedPayer(
        listing=_listing(item["listing"]),
        accepted_at=parse_iso(item["accepted_at"]),
        accepted_by=item["accepted_by"],
    )


def _enrollment_item(practice_id: str, e: PayerEnrollment) -> dict[str, Any]:
    item: dict[str, Any] = {
        "PK": keys.practice_pk(practice_id),
        "SK": keys.enrollment_sk(e.payer_id, e.transaction),
        "type": "payer_enrollment",
        "payer_id": e.payer_id,
        "transaction": str(e.transaction),
        "status": str(e.status),
        "requested_at": iso(e.requested_at),
        "requested_by": e.requested_by,
        "updated_at": iso(e.updated_at),
        "version": e.version,
    }
    optional = {"clearinghouse_id": e.clearinghouse_id, "message": e.message}
    optional["claimed_until"] = iso(e.claimed_until) if e.claimed_until else None
    item.update({k: v for k, v in optional.items() if v is not None})
    return item


def _enrollment(item: dict[str, Any]) -> PayerEnrollment:
    claimed = item.get("claimed_until")
    return PayerEnrollment(
        payer_id=item["payer_id"],
        transaction=EnrolledTransaction(item["transaction"]),
        status=EnrollmentStatus(item["status"]),
        requested_at=parse_iso(item["requested_at"]),
        requested_by=item["requested_by"],
        updated_at=parse_iso(item["updated_at"]),
        version=int(item["version"]),
        clearinghouse_id=item.get("clearinghouse_id"),
        message=item.get("message"),
        claimed_until=parse_iso(claimed) if claimed else None,
    )


class PayerStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    # -- accepted payers ------------------------------------------------------------------------
    def accept(self, practice_id: str, accepted: AcceptedPayer) -> AcceptedPayer:
        """Put the payer if the practice has not accepted it yet; the one stored either way."""
        item = {
            "PK": keys.practice_pk(practice_id),
            "SK": keys.accepted_payer_sk(accepted.listing.id),
            "type": "accepted_payer",
            "listing": _listing_item(accepted.listing),
            "accepted_at": iso(accepted.accepted_at),
            "accepted_by": accepted.accepted_by,
        }
        try:
            self.table.put_new(item)
        except ConditionFailed as exc:
            return _accepted(exc.current) if exc.current else accepted
        return accepted

    def accepted(self, practice_id: str, payer_id: str) -> AcceptedPayer | None:
        item = self.table.get(keys.practice_pk(practice_id), keys.accepted_payer_sk(payer_id))
        return _accepted(item) if item else None

    def all_accepted(self, practice_id: str) -> list[AcceptedPayer]:
        """The practice's accepted payers (one Query), in the order of their directory ids."""
        items = self.table.query_all(keys.practice_pk(practice_id), prefix=keys.ACCEPTED_PAYER_PREFIX)
        return [_accepted(item) for item in items]

    def remove(self, practice_id: str, payer_id: str) -> None:
        try:
            self.table.delete(
                keys.practice_pk(practice_id),
                keys.accepted_payer_sk(payer_id),
                condition="attribute_exists(PK)",
            )
        except ConditionFailed as exc:
            raise PayerNotAcceptedError(payer_id) from exc

    # -- enrollments ----------------------------------------------------------------------------
    def enrollment(
        self, practice_id: str, payer_id: str, transaction: EnrolledTransaction
    ) -> PayerEnrollment | None:
        item = self.table.get(keys.practice_pk(practice_id), keys.enrollment_sk(payer_id, transaction))
        return _enrollment(item) if item else None

    def enrollments(self, practice_id: str, payer_id: str | None = None) -> list[PayerEnrollment]:
        """One payer's enrollments, or the practice's all (one Query either way)."""
        items = self.table.query_all(keys.practice_pk(practice_id), prefix=keys.enrollment_prefix(payer_id))
        return [_enrollment(item) for item in items]

    def create(self, practice_id: str, draft: PayerEnrollment) -> PayerEnrollment | None:
        """Put the draft if there is no enrollment yet: None when put, else the one already there."""
        try:
            self.table.put_new(_enrollment_item(practice_id, draft))
        except ConditionFailed as exc:
            return _enrollment(exc.current) if exc.current else None
        return None

    def replace(self, practice_id: str, enrollment: PayerEnrollment, *, expected_version: int) -> None:
        """Write the enrollment in place of the version read; EnrollmentChangedError if another
        request wrote it meanwhile."""
        try:
            self.table.put(
                _enrollment_item(practice_id, enrollment),
                condition="#version = :v",
                names={"#version": "version"},
                values={":v": expected_version},
            )
        except ConditionFailed as exc:
            raise EnrollmentChangedError(enrollment.payer_id, enrollment.transaction) from exc

    def discard(self, practice_id: str, draft: PayerEnrollment) -> None:
        """Delete a draft the clearinghouse refused (only the version this request wrote)."""
        try:
            self.table.delete(
                keys.practice_pk(practice_id),
                keys.enrollment_sk(draft.payer_id, draft.transaction),
                condition="#version = :v AND attribute_not_exists(clearinghouse_id)",
                names={"#version": "version"},
                values={":v": draft.version},
            )
        except ConditionFailed as exc:
            raise EnrollmentChangedError(draft.payer_id, draft.transaction) from exc
