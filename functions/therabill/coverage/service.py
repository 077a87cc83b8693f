"""A client's coverage (add, list, read, change, remove) and the one answer to "is this client
insured on this date of service" (``standing``; the rule itself is ``models.standing``), which
bookings, check-in's copay, cancellation fees and the nightly run all ask."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from therabill.clients.models import Client
from therabill.clients.service import ClientService
from therabill.core.clock import Clock, local_date
from therabill.core.ids import new_id
from therabill.coverage.errors import CoverageInvalidError, CoverageOverlapError
from therabill.coverage.models import Coverage, Standing, standing
from therabill.coverage.store import CoverageStore
from therabill.practices.service import PracticeService


def _checked(c: Coverage) -> Coverage:
    """The rules between fields (each field's own shape is checked at the edge)."""
    if c.effective_date and c.end_date and c.end_date < c.effective_date:
        raise CoverageInvalidError("end_date is before effective_date", field="end_date")
    if c.relationship != "self" and c.subscriber is None:
        raise CoverageInvalidError(
            "subscriber is required when the relationship is not self", field="subscriber"
        )
    if c.relationship == "self" and c.subscriber is not None:
        raise CoverageInvalidError("the patient is the subscriber: leave subscriber out", field="subscriber")
    return c


def _no_overlap(c: Coverage, others: list[Coverage]) -> None:
    clash = next((o for o in others if o.id != c.id and c.overlaps(o)), None)
    if clash is not None:
        raise CoverageOverlapError(
            f"another {c.rank} coverage covers some of the same days; end it first",
            coverage_id=clash.id,
        )


class CoverageService:
    def __init__(
        self, *, store: CoverageStore, clients: ClientService, practices: PracticeService, clock: Clock
    ) -> None:
        self._store = store
        self._clients = clients
        self._practices = practices
        self._clock = clock

    # -- staff's changes ------------------------------------------------------------------------
    def add(self, practice_id: str, client_id: str, fields: dict[str, Any]) -> Coverage:
        self._clients.get(practice_id, client_id)  # 404 outside the practice
        coverage = _checked(
            Coverage.model_validate(
                {
                    **fields,
                    "id": new_id("cov"),
                    "client_id": client_id,
                    "created_at": self._clock(),
                    "version": 1,
                }
            )
        )
        _no_overlap(coverage, self._store.of_client(practice_id, client_id))
        self._store.create(practice_id, coverage)
        return coverage

    def of_client(self, practice_id: str, client_id: str) -> list[Coverage]:
        self._clients.get(practice_id, client_id)
        return self._store.of_client(practice_id, client_id)

    def get(self, practice_id: str, client_id: str, coverage_id: str) -> Coverage:
        return self._store.get(practice_id, client_id, coverage_id)

    def change(
        self,
        practice_id: str,
        client_id: str,
        coverage_id: str,
        changes: dict[str, Any],
        expected_version: int | None = None,
    ) -> Coverage:
        """Change fields (None clears one); the result must still be a coverage, and not overlap
        another of its rank."""
        current = self._store.get(practice_id, client_id, coverage_id)
        merged = _checked(Coverage.model_validate({**current.model_dump(), **changes}))
        if merged.status == "active":
            _no_overlap(merged, self._store.of_client(practice_id, client_id))
        stored = merged.model_dump(mode="json")
        return self._store.update(
            practice_id,
            client_id,
            coverage_id,
            {k: stored[k] for k in changes},
            expected_version=expected_version or current.version,
        )

    def remove(self, practice_id: str, client_id: str, coverage_id: str) -> Coverage:
        """Entered in error: kept (claims may name it) but never counts again."""
        current = self._store.get(practice_id, client_id, coverage_id)
        if current.status == "removed":
            return current
        return self._store.update(
            practice_id, client_id, coverage_id, {"status": "removed"}, expected_version=current.version
        )

    # -- the one notion of insured --------------------------------------------------------------
    def standing(self, practice_id: str, client: Client, day: date) -> Standing:
        """How ``client`` is billed for a session on ``day`` (the practice's local date)."""
        return standing(client.billing_type, self._store.of_client(practice_id, client.id), day)

    def standing_at(self, practice_id: str, client: Client, at: datetime) -> Standing:
        """The same for a session starting at ``at`` (its date in the practice's zone)."""
        return self.standing(practice_id, client, local_date(at, self._practices.get(practice_id).time_zone))

    def insured_at(self, practice_id: str, client_id: str, at: datetime) -> bool:
        """Whether the client is insured for a session starting at ``at``."""
        return self.standing_at(practice_id, self._clients.get(practice_id, client_id), at).insured

    def all_of_practice(self, practice_id: str) -> dict[str, list[Coverage]]:
        """Every client's coverage, by client id, in one paged Query (for the nightly run)."""
        return self._store.of_practice(practice_id)
