"""Carrying clients' insurance attributes from before coverage existed into coverage items.

Before, a client item held ``copay_amount`` (a copay made the client insured for bookings),
``payer_forbids_fees`` and a raw ``payer`` attribute (a string id, or a map with ``id``, ``name``,
``member_id``; read by the nightly run only). Per practice, by one paged Query of its clients
(never a Scan): a client with a copay, a payer or a fee ban gets billing type ``insurance`` and
one primary coverage holding them (id derived from the client's, so never twice), in the same
transaction that removes the old attributes; any other client just loses the old attributes.
A client that already has coverage is left as it is and reported for staff to review. Re-running
changes nothing more. Nothing read here is logged: the result holds counts and client ids only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from therabill.adapters.dynamo import Table, put_new_write
from therabill.clients.store import ClientStore
from therabill.core import keys
from therabill.core.ids import derived_id
from therabill.coverage.models import PAYER_ID, Coverage, Payer
from therabill.coverage.store import coverage_item

UNKNOWN_PAYER = "Unknown payer (carried over; complete it)"


@dataclass
class MigrationResult:
    practice_id: str
    migrated: list[str] = field(default_factory=list)  # clients given a coverage
    cleaned: int = 0  # clients that only lost empty old attributes
    review: list[str] = field(default_factory=list)  # clients with coverage already: left as they were


def _payer(raw: Any) -> tuple[Payer, str | None]:
    """The payer and member id from the old ``payer`` attribute."""
    if isinstance(raw, dict):
        pid = str(raw.get("id") or "").strip().upper()
        name = str(raw.get("name") or "").strip() or UNKNOWN_PAYER
        member = str(raw.get("member_id") or "").strip() or None
        return Payer(id=pid if PAYER_ID.fullmatch(pid) else None, name=name[:60]), member
    text = str(raw or "").strip().upper()
    if PAYER_ID.fullmatch(text):
        return Payer(id=text, name=UNKNOWN_PAYER), None
    return Payer(id=None, name=(str(raw).strip() or UNKNOWN_PAYER)[:60] if raw else UNKNOWN_PAYER), None


def insured_before(item: dict[str, Any]) -> bool:
    return (
        item.get("copay_amount") is not None
        or bool(item.get("payer_forbids_fees"))
        or bool(item.get("payer"))
    )


def carried_coverage(item: dict[str, Any], now: datetime) -> Coverage:
    """The primary coverage a client item's old attributes describe."""
    client_id = str(item["id"])
    payer, member_id = _payer(item.get("payer"))
    copay = item.get("copay_amount")
    return Coverage(
        id=derived_id("cov", "carried", client_id),
        client_id=client_id,
        rank="primary",
        payer=payer,
        member_id=member_id,
        copay_override=int(copay) if copay is not None else None,
        forbids_cancellation_fees_override=True if item.get("payer_forbids_fees") else None,
        created_at=now,
        version=1,
    )


def migrate_practice(table: Table, practice_id: str, now: datetime) -> MigrationResult:
    """Carry one practice's clients over (see the module's description)."""
    pk = keys.practice_pk(practice_id)
    result = MigrationResult(practice_id)
    covered = {str(i["SK"]).split("#")[1] for i in table.query_all(pk, prefix=keys.coverage_prefix())}
    clients = ClientStore(table)  # the client items are the clients capability's: read through it
    for item in clients.pre_coverage(practice_id):
        client_id = str(item["id"])
        if not insured_before(item):
            table.transact([clients.clear_pre_coverage_write(practice_id, client_id, insured=False)])
            result.cleaned += 1
        elif client_id in covered:
            result.review.append(client_id)
        else:
            coverage = put_new_write(coverage_item(practice_id, carried_coverage(item, now)))
            cleared = clients.clear_pre_coverage_write(practice_id, client_id, insured=True)
            table.transact([coverage, cleared])
            result.migrated.append(client_id)
    return result
