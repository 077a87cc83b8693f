"""Supervision items (``SUPERVISION#<clinician>``, one per supervised clinician, in the practice's
partition)."""

from __future__ import annotations

from typing import Any

from therabill.adapters.dynamo import ConditionFailed, Table, put_new_write
from therabill.clinical.errors import NotSupervisedError
from therabill.clinical.models import Supervision
from therabill.core import keys
from therabill.core.clock import iso, parse_iso
from therabill.core.writes import Write


def _to_item(practice_id: str, supervision: Supervision) -> dict[str, Any]:
    return {
        "PK": keys.practice_pk(practice_id),
        "SK": keys.supervision_sk(supervision.clinician_id),
        "type": "supervision",
        "clinician_id": supervision.clinician_id,
        "supervisor_id": supervision.supervisor_id,
        "updated_at": iso(supervision.updated_at),
        "updated_by": supervision.updated_by,
    }


def _from_item(item: dict[str, Any]) -> Supervision:
    return Supervision(
        clinician_id=item["clinician_id"],
        supervisor_id=item["supervisor_id"],
        updated_at=parse_iso(item["updated_at"]),
        updated_by=item["updated_by"],
    )


class SupervisionStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, practice_id: str, clinician_id: str) -> Supervision | None:
        item = self.table.get(keys.practice_pk(practice_id), keys.supervision_sk(clinician_id))
        return _from_item(item) if item else None

    def all(self, practice_id: str) -> dict[str, str]:
        """Every supervised clinician of the practice → their supervisor: one Query."""
        rows = self.table.query_all(keys.practice_pk(practice_id), prefix=keys.SUPERVISION_PREFIX)
        return {r["clinician_id"]: r["supervisor_id"] for r in rows}

    def put(self, practice_id: str, supervision: Supervision) -> None:
        self.table.put(_to_item(practice_id, supervision))

    def rename(self, practice_id: str, before: Supervision, after: Supervision) -> bool:
        """Replace ``before`` by ``after`` (the migration naming staff ids): one transaction, on
        condition ``before`` is still as read; False (nothing written) when it is not."""
        pk = keys.practice_pk(practice_id)
        old = Table.key(pk, keys.supervision_sk(before.clinician_id))
        guard = {":c": before.clinician_id, ":s": before.supervisor_id}
        if before.clinician_id == after.clinician_id:
            writes = [
                Write(
                    kind="put",
                    item=_to_item(practice_id, after),
                    condition="clinician_id = :c AND supervisor_id = :s",
                    values=guard,
                )
            ]
        else:
            writes = [
                Write(
                    kind="delete", key=old, condition="clinician_id = :c AND supervisor_id = :s", values=guard
                ),
                put_new_write(_to_item(practice_id, after)),
            ]
        try:
            self.table.transact(writes)
        except ConditionFailed:
            return False
        return True

    def every(self, practice_id: str) -> list[Supervision]:
        rows = self.table.query_all(keys.practice_pk(practice_id), prefix=keys.SUPERVISION_PREFIX)
        return [_from_item(r) for r in rows]

    def delete(self, practice_id: str, clinician_id: str) -> None:
        """Remove the clinician's supervision; NotSupervisedError if there was none."""
        try:
            self.table.delete(
                keys.practice_pk(practice_id),
                keys.supervision_sk(clinician_id),
                condition="attribute_exists(PK)",
            )
        except ConditionFailed as exc:
            raise NotSupervisedError("this clinician has no supervisor") from exc
