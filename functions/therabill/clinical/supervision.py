"""Who supervises whom, per practice: one item per supervised clinician
(``SUPERVISION#<clinician>``). A supervised clinician's completed sessions wait for the
supervisor's (or the owner's) approval before the nightly run bills them."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from therabill.adapters.dynamo import ConditionFailed, Table
from therabill.core import keys
from therabill.core.clock import Clock, iso, parse_iso
from therabill.core.errors import InvalidRequestError, NotFoundError

# The shape of a clinician (staff user) id, as sessions take it.
CLINICIAN_ID = r"^[A-Za-z0-9_.@:\-]{1,64}$"
_CLINICIAN = re.compile(CLINICIAN_ID)


class Supervision(BaseModel):
    model_config = ConfigDict(frozen=True)

    clinician_id: str
    supervisor_id: str
    updated_at: datetime
    updated_by: str


def _from_item(item: dict[str, Any]) -> Supervision:
    return Supervision(
        clinician_id=item["clinician_id"],
        supervisor_id=item["supervisor_id"],
        updated_at=parse_iso(item["updated_at"]),
        updated_by=item["updated_by"],
    )


class SupervisionService:
    def __init__(self, table: Table, clock: Clock) -> None:
        self._table = table
        self._clock = clock

    @staticmethod
    def _check(clinician_id: str, supervisor_id: str | None = None) -> None:
        if not _CLINICIAN.match(clinician_id):
            raise InvalidRequestError("clinician_id is not a staff user id", field="clinician_id")
        if supervisor_id is None:
            return
        if not _CLINICIAN.match(supervisor_id):
            raise InvalidRequestError("supervisor_id is not a staff user id", field="supervisor_id")
        if supervisor_id == clinician_id:
            raise InvalidRequestError("a clinician cannot supervise themself", field="supervisor_id")

    def get(self, practice_id: str, clinician_id: str) -> Supervision | None:
        if not _CLINICIAN.match(clinician_id):
            return None
        item = self._table.get(keys.practice_pk(practice_id), keys.supervision_sk(clinician_id))
        return _from_item(item) if item else None

    def supervisor_of(self, practice_id: str, clinician_id: str) -> str | None:
        found = self.get(practice_id, clinician_id)
        return found.supervisor_id if found else None

    def all(self, practice_id: str) -> dict[str, str]:
        """Every supervised clinician of the practice → their supervisor: one Query."""
        rows = self._table.query_all(keys.practice_pk(practice_id), prefix=keys.SUPERVISION_PREFIX)
        return {r["clinician_id"]: r["supervisor_id"] for r in rows}

    def set(self, practice_id: str, clinician_id: str, supervisor_id: str, by: str) -> Supervision:
        """Set (or replace) the clinician's supervisor. 400 and nothing written on a bad id."""
        self._check(clinician_id, supervisor_id)
        supervision = Supervision(
            clinician_id=clinician_id, supervisor_id=supervisor_id, updated_at=self._clock(), updated_by=by
        )
        self._table.put(
            {
                "PK": keys.practice_pk(practice_id),
                "SK": keys.supervision_sk(clinician_id),
                "type": "supervision",
                "clinician_id": clinician_id,
                "supervisor_id": supervisor_id,
                "updated_at": iso(supervision.updated_at),
                "updated_by": by,
            }
        )
        return supervision

    def clear(self, practice_id: str, clinician_id: str) -> None:
        """The clinician is no longer supervised (404 if they were not)."""
        self._check(clinician_id)
        try:
            self._table.delete(
                keys.practice_pk(practice_id),
                keys.supervision_sk(clinician_id),
                condition="attribute_exists(PK)",
            )
        except ConditionFailed as exc:
            raise NotFoundError("this clinician has no supervisor") from exc
