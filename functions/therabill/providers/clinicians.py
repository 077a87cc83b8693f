"""Each clinician's provider record: the rendering NPI, taxonomy and credentials a claim names them
by, and who supervises them (a supervised clinician's completed sessions wait for the supervisor's
or the owner's approval before they are billed). A clinician is a staff member who may treat (a
clinician or an owner, not removed); so is a supervisor.

Supervision items from before (``SUPERVISION#``) are read too until the practice's migration has
moved them: where a clinician has a provider record, the record holds their supervisor; where they
have none, a supervision item still does. Every write of a record deletes the item it replaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from therabill.core.clock import Clock
from therabill.core.errors import InvalidRequestError, NotFoundError
from therabill.providers.errors import NotSupervisedError
from therabill.providers.models import ClinicianProvider, ClinicianProviderRecord, Supervision
from therabill.providers.store.clinicians import ClinicianProviderStore
from therabill.staff.errors import NotAClinicianError
from therabill.staff.service import StaffService


@dataclass(frozen=True)
class ClinicianProviderView:
    """A clinician's provider record as shown: ``version`` None while none is stored (then only a
    supervisor carried from a supervision item, or nothing, is known)."""

    provider: ClinicianProvider
    version: int | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None


@dataclass(frozen=True)
class Roster:
    """The practice's provider records by clinician, and every supervised clinician → supervisor."""

    records: dict[str, ClinicianProvider]
    supervisors: dict[str, str]


def _view(
    clinician_id: str, record: ClinicianProviderRecord | None, legacy: Supervision | None
) -> ClinicianProviderView:
    if record is not None:
        return ClinicianProviderView(record.provider, record.version, record.updated_at, record.updated_by)
    if legacy is not None:  # its ids may be free strings the clinicians' migration has not reached
        carried = ClinicianProvider.model_construct(
            clinician_id=clinician_id,
            rendering_npi=None,
            taxonomy=None,
            credentials=[],
            supervisor_id=legacy.supervisor_id,
        )
        return ClinicianProviderView(carried, None, legacy.updated_at, legacy.updated_by)
    return ClinicianProviderView(ClinicianProvider(clinician_id=clinician_id))


class ClinicianProviderService:
    def __init__(self, *, store: ClinicianProviderStore, staff: StaffService, clock: Clock) -> None:
        self._store = store
        self._staff = staff
        self._clock = clock

    # -- reading -----------------------------------------------------------------------------------
    def current(self, practice_id: str, clinician_id: str) -> ClinicianProviderView:
        """What is known of any id the API lets through (no check that it names a clinician: a
        supervision item the clinicians' migration has not reached is still the one its sessions
        wait for). One BatchGetItem."""
        return _view(clinician_id, *self._store.get(practice_id, clinician_id))

    def supervisor_of(self, practice_id: str, clinician_id: str) -> str | None:
        return self.current(practice_id, clinician_id).provider.supervisor_id

    def of_clinician(self, practice_id: str, clinician_id: str) -> ClinicianProviderView:
        """A clinician's record; 404 when the id names no clinician (or owner) of this practice."""
        self._clinician(practice_id, clinician_id)
        return self.current(practice_id, clinician_id)

    def roster(self, practice_id: str) -> Roster:
        """One Query of the provider records, one of the supervision items not migrated yet (none
        once migrated): never one read per clinician or session."""
        records = {r.provider.clinician_id: r.provider for r in self._store.all(practice_id)}
        supervisors = {s.clinician_id: s.supervisor_id for s in self._store.supervisions(practice_id)}
        for clinician_id, provider in records.items():  # the record holds the supervisor where it exists
            supervisors.pop(clinician_id, None)
            if provider.supervisor_id is not None:
                supervisors[clinician_id] = provider.supervisor_id
        return Roster(records=records, supervisors=supervisors)

    def every_clinician(self, practice_id: str) -> list[ClinicianProviderView]:
        """Every member who may treat (oldest first) with their record, or an empty one: the
        members, the records and the supervision items not migrated yet, one Query each."""
        records = {r.provider.clinician_id: r for r in self._store.all(practice_id)}
        legacy = {s.clinician_id: s for s in self._store.supervisions(practice_id)}
        members = self._staff.list_members(practice_id)
        return [_view(m.id, records.get(m.id), legacy.get(m.id)) for m in members if m.treats]

    def supervision_items(self, practice_id: str) -> list[Supervision]:
        """The supervision items not migrated yet (one Query), for the clinicians' migration."""
        return self._store.supervisions(practice_id)

    def rename_supervision(
        self, practice_id: str, before: Supervision, *, clinician_id: str, supervisor_id: str
    ) -> bool:
        """A supervision item naming other ids (the clinicians' migration's staff ids for free
        strings), the record of who set it kept. False when it changed meanwhile (nothing written)."""
        after = before.model_copy(update={"clinician_id": clinician_id, "supervisor_id": supervisor_id})
        return self._store.rename_supervision(practice_id, before, after)

    # -- writing -----------------------------------------------------------------------------------
    def put(
        self,
        practice_id: str,
        clinician_id: str,
        fields: dict[str, Any],
        *,
        by: str,
        expected_version: int | None,
    ) -> ClinicianProviderView:
        """Set (or replace) the whole record from the version read (None: none stored yet)."""
        if fields.get("supervisor_id") == clinician_id:
            raise InvalidRequestError("a clinician cannot supervise themself", field="supervisor_id")
        provider = ClinicianProvider.model_validate({**fields, "clinician_id": clinician_id})
        self._clinician(practice_id, clinician_id, provider.supervisor_id)
        _, legacy = self._store.get(practice_id, clinician_id)
        return self._write(practice_id, provider, by=by, expected_version=expected_version, replaces=legacy)

    def set_supervisor(
        self, practice_id: str, clinician_id: str, supervisor_id: str, by: str
    ) -> ClinicianProviderView:
        """The clinician's supervisor set (or replaced) on their record, the rest kept. 400 and
        nothing written on a bad id; 409 when the record changed meanwhile."""
        if supervisor_id == clinician_id:
            raise InvalidRequestError("a clinician cannot supervise themself", field="supervisor_id")
        self._staff.clinicians(practice_id, {"clinician_id": clinician_id, "supervisor_id": supervisor_id})
        return self._change_supervisor(practice_id, clinician_id, supervisor_id, by)

    def clear_supervisor(self, practice_id: str, clinician_id: str, by: str) -> ClinicianProviderView:
        """The clinician is no longer supervised (404 if they were not)."""
        if self.supervisor_of(practice_id, clinician_id) is None:
            raise NotSupervisedError("this clinician has no supervisor")
        return self._change_supervisor(practice_id, clinician_id, None, by)

    def _change_supervisor(
        self, practice_id: str, clinician_id: str, supervisor_id: str | None, by: str
    ) -> ClinicianProviderView:
        record, legacy = self._store.get(practice_id, clinician_id)
        base = record.provider if record else ClinicianProvider(clinician_id=clinician_id)
        provider = base.model_copy(update={"supervisor_id": supervisor_id})
        version = record.version if record else None
        return self._write(practice_id, provider, by=by, expected_version=version, replaces=legacy)

    def _write(
        self,
        practice_id: str,
        provider: ClinicianProvider,
        *,
        by: str,
        expected_version: int | None,
        replaces: Supervision | None,
    ) -> ClinicianProviderView:
        record = ClinicianProviderRecord(
            provider=provider, version=(expected_version or 0) + 1, updated_at=self._clock(), updated_by=by
        )
        self._store.put(practice_id, record, expected_version=expected_version, replaces=replaces)
        return ClinicianProviderView(provider, record.version, record.updated_at, record.updated_by)

    def _clinician(self, practice_id: str, clinician_id: str, supervisor_id: str | None = None) -> None:
        """The id names a clinician (or owner) of this practice, not removed (else 404), and so does
        the supervisor, if any (else 400 naming the field): one batch read."""
        named = {"clinician_id": clinician_id}
        if supervisor_id is not None:
            named["supervisor_id"] = supervisor_id
        try:
            self._staff.clinicians(practice_id, named)
        except NotAClinicianError as exc:
            if exc.details.get("field") != "clinician_id":
                raise
            raise NotFoundError(
                "no clinician of this practice has this id", clinician_id=clinician_id
            ) from exc
