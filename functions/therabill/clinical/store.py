"""Supervision items (``SUPERVISION#<clinician>``, one per supervised clinician, in the practice's
partition)."""

from __future__ import annotations

from typing import Any

from therabill.adapters.dynamo import ConditionFailed, Table
from therabill.clinical.errors import NotSupervisedError
from therabill.clinical.models import Supervision
from therabill.core import keys
from therabill.core.clock import iso, parse_iso


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
        self.table.put(
            {
                "PK": keys.practice_pk(practice_id),
                "SK": keys.supervision_sk(supervision.clinician_id),
                "type": "supervision",
                "clinician_id": supervision.clinician_id,
                "supervisor_id": supervision.supervisor_id,
                "updated_at": iso(supervision.updated_at),
                "updated_by": supervision.updated_by,
            }
        )

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
