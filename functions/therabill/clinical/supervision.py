"""Who supervises whom, per practice: one item per supervised clinician. A supervised clinician's
completed sessions wait for the supervisor's (or the owner's) approval before the nightly run bills
them. Both are staff members of the practice (``stf_…``) with the clinician or owner role, not
removed."""

from __future__ import annotations

from therabill.clinical.models import Supervision
from therabill.clinical.store import SupervisionStore
from therabill.core.clock import Clock
from therabill.core.errors import InvalidRequestError
from therabill.staff.service import StaffService

__all__ = ["Supervision", "SupervisionService"]


class SupervisionService:
    def __init__(self, *, store: SupervisionStore, staff: StaffService, clock: Clock) -> None:
        self._store = store
        self._staff = staff
        self._clock = clock

    def _check(self, practice_id: str, clinician_id: str, supervisor_id: str) -> None:
        """Both name clinicians (or owners) of this practice, not removed, not the same one: one
        batch read of the two members."""
        if supervisor_id == clinician_id:
            raise InvalidRequestError("a clinician cannot supervise themself", field="supervisor_id")
        self._staff.clinicians(practice_id, {"clinician_id": clinician_id, "supervisor_id": supervisor_id})

    def get(self, practice_id: str, clinician_id: str) -> Supervision | None:
        """Any id the API lets through is read (an item the clinicians' migration has not reached
        yet is still the supervision its sessions wait for)."""
        return self._store.get(practice_id, clinician_id)

    def supervisor_of(self, practice_id: str, clinician_id: str) -> str | None:
        found = self.get(practice_id, clinician_id)
        return found.supervisor_id if found else None

    def all(self, practice_id: str) -> dict[str, str]:
        """Every supervised clinician of the practice → their supervisor: one Query."""
        return self._store.all(practice_id)

    def every(self, practice_id: str) -> list[Supervision]:
        """Every supervision item of the practice (one Query), for the clinicians' migration."""
        return self._store.every(practice_id)

    def rename(self, practice_id: str, before: Supervision, *, clinician_id: str, supervisor_id: str) -> bool:
        """The same supervision naming other ids (the migration's staff ids for free strings), the
        record of who set it kept. False when it changed meanwhile (nothing written)."""
        after = before.model_copy(update={"clinician_id": clinician_id, "supervisor_id": supervisor_id})
        return self._store.rename(practice_id, before, after)

    def set(self, practice_id: str, clinician_id: str, supervisor_id: str, by: str) -> Supervision:
        """Set (or replace) the clinician's supervisor. 400 and nothing written on a bad id."""
        self._check(practice_id, clinician_id, supervisor_id)
        supervision = Supervision(
            clinician_id=clinician_id, supervisor_id=supervisor_id, updated_at=self._clock(), updated_by=by
        )
        self._store.put(practice_id, supervision)
        return supervision

    def clear(self, practice_id: str, clinician_id: str) -> None:
        """The clinician is no longer supervised (404 if they were not)."""
        self._store.delete(practice_id, clinician_id)
