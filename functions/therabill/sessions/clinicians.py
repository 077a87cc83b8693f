"""The migration of free-string clinicians to staff members.

Sessions and supervision items once named a clinician by any string ("c1", "Dr Ada"). Now a clinician
is a staff member (``stf_…``). Per practice, by Queries of its own partition (its sessions and its
supervision items, never a Scan): one member with no sign-in (role clinician, named by the string)
per distinct free string, its id derived from the practice and the string, then each item still
naming the string rewritten to that id, each on condition it still names it. A re-run, or a run
after a crash half way, makes no second member for a string (the derived id reads back the first)
and rewrites only what still names a free string.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from therabill.core.ids import derived_id, is_id
from therabill.providers.clinicians import ClinicianProviderService
from therabill.sessions.store import SessionStore
from therabill.staff.service import StaffService

_NAME_LENGTH = 120  # as the staff API takes a name


@dataclass
class Migrated:
    """What one practice's run did: members made or found per free string, items rewritten."""

    practice_id: str
    clinicians: dict[str, str]  # free string → staff id
    sessions: int = 0
    supervisions: int = 0


def staff_id_for(practice_id: str, name: str) -> str:
    """The member a free string becomes: the same id however often the migration runs."""
    return derived_id("stf", practice_id, "clinician", name)


def _free(value: str) -> bool:
    return not is_id(value, "stf")


class ClinicianMigration:
    def __init__(
        self, *, sessions: SessionStore, supervision: ClinicianProviderService, staff: StaffService
    ) -> None:
        self._sessions = sessions
        self._supervision = supervision
        self._staff = staff

    def run(self, practice_ids: Iterable[str]) -> list[Migrated]:
        return [self.migrate(p) for p in practice_ids]

    def migrate(self, practice_id: str) -> Migrated:
        sessions = [s for s in self._sessions.of_practice(practice_id) if _free(s.clinician_id)]
        supervisions = [
            s
            for s in self._supervision.supervision_items(practice_id)
            if _free(s.clinician_id) or _free(s.supervisor_id)
        ]
        strings = {s.clinician_id for s in sessions}
        for sup in supervisions:
            strings.update(x for x in (sup.clinician_id, sup.supervisor_id) if _free(x))
        ids = {name: self._member(practice_id, name) for name in sorted(strings)}
        done = Migrated(practice_id=practice_id, clinicians=ids)
        for session in sessions:
            done.sessions += self._sessions.set_clinician(practice_id, session, ids[session.clinician_id])
        for sup in supervisions:
            done.supervisions += self._supervision.rename_supervision(
                practice_id,
                sup,
                clinician_id=ids.get(sup.clinician_id, sup.clinician_id),
                supervisor_id=ids.get(sup.supervisor_id, sup.supervisor_id),
            )
        return done

    def _member(self, practice_id: str, name: str) -> str:
        member = self._staff.add_without_sign_in(
            practice_id,
            name=name.strip()[:_NAME_LENGTH] or name,
            role="clinician",
            staff_id=staff_id_for(practice_id, name),
        )
        return member.id
