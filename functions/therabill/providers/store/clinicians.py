"""Clinicians' provider records (``P#<prc>`` / ``PROVIDER#<stf>``), and the supervision items they
replace (``SUPERVISION#<stf>``): read until the practice's migration (``store/migration.py``) has
moved each into its clinician's record, and deleted by any write of that record."""

from __future__ import annotations

from typing import Any

from therabill.adapters.dynamo import ConditionFailed, Table, put_new_write
from therabill.core import keys
from therabill.core.clock import iso, parse_iso
from therabill.core.writes import Write
from therabill.providers.errors import ProviderChangedError
from therabill.providers.models import ClinicianProvider, ClinicianProviderRecord, Supervision

_SAME_SUPERVISION = "clinician_id = :c AND supervisor_id = :s"


def record_item(practice_id: str, record: ClinicianProviderRecord) -> dict[str, Any]:
    return {
        "PK": keys.practice_pk(practice_id),
        "SK": keys.clinician_provider_sk(record.provider.clinician_id),
        "type": "clinician_provider",
        "provider": record.provider.model_dump(mode="json", exclude_none=True),
        "version": record.version,
        "updated_at": iso(record.updated_at),
        "updated_by": record.updated_by,
    }


def _record(item: dict[str, Any]) -> ClinicianProviderRecord:
    return ClinicianProviderRecord(
        provider=ClinicianProvider.model_validate(item["provider"]),
        version=int(item["version"]),
        updated_at=parse_iso(item["updated_at"]),
        updated_by=item["updated_by"],
    )


def supervision_item(practice_id: str, supervision: Supervision) -> dict[str, Any]:
    return {
        "PK": keys.practice_pk(practice_id),
        "SK": keys.supervision_sk(supervision.clinician_id),
        "type": "supervision",
        "clinician_id": supervision.clinician_id,
        "supervisor_id": supervision.supervisor_id,
        "updated_at": iso(supervision.updated_at),
        "updated_by": supervision.updated_by,
    }


def _supervision(item: dict[str, Any]) -> Supervision:
    return Supervision(
        clinician_id=item["clinician_id"],
        supervisor_id=item["supervisor_id"],
        updated_at=parse_iso(item["updated_at"]),
        updated_by=item["updated_by"],
    )


def supervision_gone_write(practice_id: str, supervision: Supervision) -> Write:
    """Delete a supervision item, on condition it is still as read."""
    return Write(
        kind="delete",
        key=Table.key(keys.practice_pk(practice_id), keys.supervision_sk(supervision.clinician_id)),
        condition=_SAME_SUPERVISION,
        values={":c": supervision.clinician_id, ":s": supervision.supervisor_id},
    )


class ClinicianProviderStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def get(
        self, practice_id: str, clinician_id: str
    ) -> tuple[ClinicianProviderRecord | None, Supervision | None]:
        """The clinician's provider record and any supervision item not migrated yet: one
        BatchGetItem of the two keys."""
        pk = keys.practice_pk(practice_id)
        record_key = (pk, keys.clinician_provider_sk(clinician_id))
        legacy_key = (pk, keys.supervision_sk(clinician_id))
        found = self.table.get_many([record_key, legacy_key])
        record, legacy = found.get(record_key), found.get(legacy_key)
        return (_record(record) if record else None, _supervision(legacy) if legacy else None)

    def all(self, practice_id: str) -> list[ClinicianProviderRecord]:
        """Every provider record of the practice: one Query."""
        rows = self.table.query_all(keys.practice_pk(practice_id), prefix=keys.PROVIDER_PREFIX)
        return [_record(r) for r in rows]

    def supervisions(self, practice_id: str) -> list[Supervision]:
        """Every supervision item not migrated yet: one Query (none once the practice is migrated)."""
        rows = self.table.query_all(keys.practice_pk(practice_id), prefix=keys.SUPERVISION_PREFIX)
        return [_supervision(r) for r in rows]

    def put(
        self,
        practice_id: str,
        record: ClinicianProviderRecord,
        *,
        expected_version: int | None,
        replaces: Supervision | None,
    ) -> None:
        """Write the record on condition the stored one is still ``expected_version`` (None: none
        stored), deleting the supervision item it replaces (on condition it is as read), in one
        transaction; ProviderChangedError (nothing written) when either changed meanwhile."""
        item = record_item(practice_id, record)
        if expected_version is None:
            writes = [put_new_write(item)]
        else:
            writes = [Write(kind="put", item=item, condition="version = :v", values={":v": expected_version})]
        if replaces is not None:
            writes.append(supervision_gone_write(practice_id, replaces))
        try:
            self.table.transact(writes)
        except ConditionFailed as exc:
            raise ProviderChangedError(expected_version, what="the clinician's provider record") from exc

    def rename_supervision(self, practice_id: str, before: Supervision, after: Supervision) -> bool:
        """Replace a supervision item by one naming other ids (the clinicians' migration naming
        staff ids for free strings): one transaction, on condition ``before`` is still as read;
        False (nothing written) when it is not."""
        if before.clinician_id == after.clinician_id:
            guard = {":c": before.clinician_id, ":s": before.supervisor_id}
            item = supervision_item(practice_id, after)
            writes = [Write(kind="put", item=item, condition=_SAME_SUPERVISION, values=guard)]
        else:
            writes = [
                supervision_gone_write(practice_id, before),
                put_new_write(supervision_item(practice_id, after)),
            ]
        try:
            self.table.transact(writes)
        except ConditionFailed:
            return False
        return True
