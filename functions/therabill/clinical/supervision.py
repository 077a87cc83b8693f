"""Who supervises whom, per practice: one item per supervised clinician. A supervised clinician's
completed sessions wait for the supervisor's (or the owner's) approval before the nightly run bills
them."""

from __future__ import annotations

import re

from therabill.clinical.models import Supervision
from therabill.clinical.store import SupervisionStore
from therabill.core.clock import Clock
from therabill.core.errors import InvalidRequestError

__all__ = ["CLINICIAN_ID", "Supervision", "SupervisionService"]

# The shape of a clinician (staff user) id, as sessions take it.
CLINICIAN_ID = r"^[A-Za-z0-9_.@:\-]{1,64}$"
_CLINICIAN = re.compile(CLINICIAN_ID)


class SupervisionService:
    def __init__(self, *, store: SupervisionStore, clock: Clock) -> None:
        self._store = store
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
        return self._store.get(practice_id, clinician_id)

    def supervisor_of(self, practice_id: str, clinician_id: str) -> str | None:
        found = self.get(practice_id, clinician_id)
        return found.supervisor_id if found else None

    def all(self, practice_id: str) -> dict[str, str]:
        """Every supervised clinician of the practice → their supervisor: one Query."""
        return self._store.all(practice_id)

    def set(self, practice_id: str, clinician_id: str, supervisor_id: str, by: str) -> Supervision:
        """Set (or replace) the clinician's supervisor. 400 and nothing written on a bad id."""
        self._check(clinician_id, supervisor_id)
        supervision = Supervision(
            clinician_id=clinician_id, supervisor_id=supervisor_id, updated_at=self._clock(), updated_by=by
        )
        self._store.put(practice_id, supervision)
        return supervision

    def clear(self, practice_id: str, clinician_id: str) -> None:
        """The clinician is no longer supervised (404 if they were not)."""
        self._check(clinician_id)
        self._store.delete(practice_id, clinician_id)
