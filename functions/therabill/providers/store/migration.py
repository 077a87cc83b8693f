"""Moving a practice's supervision items (``SUPERVISION#<stf>``) into its clinicians' provider
records (``PROVIDER#<stf>``).

Per practice, by one Query of its supervision items and one of its provider records (never a
Scan). A clinician with no provider record gets one holding the supervisor (version 1, the
supervision's ``updated_at`` / ``updated_by`` kept), in the same transaction that deletes the
supervision item (on condition it is as read); a clinician whose record exists already keeps it
(readers let the record win over a supervision item, so this changes nothing they see) and the
item is deleted. An item naming a free string (not a staff id: the clinicians' migration has not
reached it) is left where it is, still read, and reported. Each item moves alone, so a crash half
way leaves every item either moved or untouched; a re-run reads only what is left.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from therabill.adapters.dynamo import ConditionFailed, Table, put_new_write
from therabill.core.ids import is_id
from therabill.providers.models import ClinicianProvider, ClinicianProviderRecord, Supervision
from therabill.providers.store.clinicians import (
    ClinicianProviderStore,
    record_item,
    supervision_gone_write,
)


@dataclass
class ProviderMigrationResult:
    practice_id: str
    moved: list[str] = field(default_factory=list)  # clinicians given a record holding the supervisor
    superseded: list[str] = field(default_factory=list)  # their record stood: the item only deleted
    waiting: list[str] = field(default_factory=list)  # free strings: left for the clinicians' migration
    changed: int = 0  # changed while read: a re-run takes them


def _record(supervision: Supervision) -> ClinicianProviderRecord:
    return ClinicianProviderRecord(
        provider=ClinicianProvider(
            clinician_id=supervision.clinician_id, supervisor_id=supervision.supervisor_id
        ),
        version=1,
        updated_at=supervision.updated_at,
        updated_by=supervision.updated_by,
    )


def _staff_ids(supervision: Supervision) -> bool:
    ids = (supervision.clinician_id, supervision.supervisor_id)
    return all(is_id(i, "stf") for i in ids) and ids[0] != ids[1]


def migrate_practice(table: Table, practice_id: str) -> ProviderMigrationResult:
    """Move one practice's supervision items (see the module's description)."""
    store = ClinicianProviderStore(table)
    result = ProviderMigrationResult(practice_id)
    recorded = {r.provider.clinician_id for r in store.all(practice_id)}
    for supervision in store.supervisions(practice_id):
        clinician = supervision.clinician_id
        gone = supervision_gone_write(practice_id, supervision)
        if not _staff_ids(supervision):
            result.waiting.append(clinician)
            continue
        writes = (
            [gone]
            if clinician in recorded
            else [put_new_write(record_item(practice_id, _record(supervision))), gone]
        )
        try:
            table.transact(writes)
        except ConditionFailed:
            result.changed += 1
            continue
        (result.superseded if clinician in recorded else result.moved).append(clinician)
    return result
