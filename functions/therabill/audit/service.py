"""The audit trail: record what staff did (ids and the action, never health information) and let
owners read it back.

Each record's id is derived from what the action was (``key``: the action's own id — a refund,
a payment, an invoice, a session's version — or the API request's id when it has none), so the
same action reported again (a retried request, a redelivered event) meets its record and writes
nothing: exactly one record per action.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from therabill.audit.errors import AuditQueryError
from therabill.audit.models import Action, Actor, AuditPage, AuditRecord, Source, Targets
from therabill.audit.store import AuditStore
from therabill.core.clock import Clock
from therabill.core.ids import derived_id


@dataclass(frozen=True)
class Entry:
    """One action to record (the practice, actor and source are the request's)."""

    action: Action
    key: str  # what makes the action itself: the same key, the same record
    targets: Targets
    amount: int | None = None
    currency: str | None = None


class AuditService:
    def __init__(self, *, store: AuditStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def record(self, practice_id: str, entry: Entry, *, actor: Actor, source: Source) -> bool:
        """Record ``entry`` once: False (nothing written) when the action was recorded before."""
        return self._store.add(self._record(practice_id, entry, actor=actor, source=source))

    def record_many(
        self, practice_id: str, entries: Sequence[Entry], *, actor: Actor, source: Source
    ) -> None:
        records = [self._record(practice_id, e, actor=actor, source=source) for e in entries]
        if records:
            self._store.add_many(records)

    def _record(self, practice_id: str, entry: Entry, *, actor: Actor, source: Source) -> AuditRecord:
        return AuditRecord(
            id=derived_id("aud", practice_id, entry.action.value, entry.key),
            practice_id=practice_id,
            at=self._clock(),
            actor=actor,
            action=entry.action,
            targets=entry.targets,
            amount=entry.amount,
            currency=entry.currency,
            source=source,
        )

    def query(
        self,
        practice_id: str,
        *,
        client_id: str | None = None,
        staff_id: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 25,
        cursor: str | None = None,
    ) -> AuditPage:
        """The practice's records, oldest first, in [start, end), by client and / or staff member."""
        if start is not None and end is not None and end <= start:
            raise AuditQueryError("the period ends before it starts", field="to")
        return self._store.page(
            practice_id,
            client_id=client_id,
            staff_id=staff_id,
            start=start,
            end=end,
            limit=limit,
            cursor=cursor,
        )
