"""Authorizations per coverage (add, list, read, change, remove) and their use: a completed
insured session uses the one that fits, once (``use``); a session that stops being completed
gives it back, once (``give_back``). Bookings ask what a new visit would meet
(``booking_problem``); the nightly run reads them all at once (``of_practice``, ``usages``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from therabill.authorizations.errors import AuthorizationInvalidError, AuthorizationNotFoundError
from therabill.authorizations.models import Authorization, Problem, Usage, booking_problem, choose, units_of
from therabill.authorizations.store import AuthorizationStore
from therabill.clients.service import ClientService
from therabill.core.clock import Clock, local_date
from therabill.core.ids import derived_id
from therabill.core.replay import replayed
from therabill.coverage.service import CoverageService
from therabill.practices.service import PracticeService

# What staff may change (``used`` moves only with sessions).
CHANGEABLE = frozenset({"counted", "authorized", "cpt_codes", "start_date", "end_date", "reference"})


@dataclass(frozen=True)
class Visit:
    """A completed session, as its use of an authorization needs it (no clinical content)."""

    session_id: str
    client_id: str
    scheduled_start: datetime
    cpt_code: str | None
    actual_seconds: int | None


def _as_added(a: Authorization) -> dict[str, Any]:
    """What an add asks for: the coverage and the fields staff set."""
    return a.model_dump(include={"coverage_id", *CHANGEABLE})


def _checked(a: Authorization) -> Authorization:
    if a.end_date < a.start_date:
        raise AuthorizationInvalidError("end_date is before start_date", field="end_date")
    return a


class AuthorizationService:
    def __init__(
        self,
        *,
        store: AuthorizationStore,
        coverage: CoverageService,
        clients: ClientService,
        practices: PracticeService,
        clock: Clock,
    ) -> None:
        self._store = store
        self._coverage = coverage
        self._clients = clients
        self._practices = practices
        self._clock = clock

    # -- staff's changes ------------------------------------------------------------------------
    def add(
        self, practice_id: str, client_id: str, coverage_id: str, fields: dict[str, Any], *, request_key: str
    ) -> tuple[Authorization, bool]:
        """The new authorization, and True; or, for a retry (the same ``request_key``: the id is
        derived from it), the one it made, and False. The same key with another body is a 409."""
        coverage = self._coverage.get(practice_id, client_id, coverage_id)  # 404 outside the practice
        authorization_id = derived_id("auth", practice_id, client_id, request_key)
        existing = self._store.find(practice_id, client_id, authorization_id)
        if existing is None and coverage.status != "active":
            raise AuthorizationInvalidError("the coverage was removed", field="coverage_id")
        asked = _checked(
            Authorization.model_validate(
                {
                    **fields,
                    "id": authorization_id,
                    "client_id": client_id,
                    "coverage_id": coverage_id,
                    "used": 0,
                    "created_at": self._clock(),
                    "version": 1,
                }
            )
        )
        stored = existing or self._store.create(practice_id, asked)
        replayed(
            stored,
            same=lambda a: _as_added(a) == _as_added(asked),
            conflict="this Idempotency-Key was used for a different authorization",
            authorization_id=stored.id,
        )
        return stored, stored is asked

    def of_coverage(self, practice_id: str, client_id: str, coverage_id: str) -> list[Authorization]:
        self._coverage.get(practice_id, client_id, coverage_id)
        return [a for a in self._store.of_client(practice_id, client_id) if a.coverage_id == coverage_id]

    def get(self, practice_id: str, client_id: str, coverage_id: str, authorization_id: str) -> Authorization:
        found = self._store.get(practice_id, client_id, authorization_id)
        if found.coverage_id != coverage_id:
            raise AuthorizationNotFoundError("authorization not found")
        return found

    def change(
        self,
        practice_id: str,
        client_id: str,
        coverage_id: str,
        authorization_id: str,
        *,
        changes: dict[str, Any],
        expected_version: int | None = None,
    ) -> Authorization:
        current = self.get(practice_id, client_id, coverage_id, authorization_id)
        changes = {k: v for k, v in changes.items() if k in CHANGEABLE}
        merged = _checked(Authorization.model_validate({**current.model_dump(), **changes}))
        stored = merged.model_dump(mode="json")
        return self._store.update(
            practice_id,
            current,
            {k: stored[k] for k in changes},
            expected_version=expected_version or current.version,
        )

    def remove(
        self, practice_id: str, client_id: str, coverage_id: str, authorization_id: str
    ) -> Authorization:
        """Entered in error: kept, but never fits a session again; its uses count as none until
        ``use`` moves them (the nightly run)."""
        current = self.get(practice_id, client_id, coverage_id, authorization_id)
        if current.status == "removed":
            return current
        return self._store.update(
            practice_id, current, {"status": "removed"}, expected_version=current.version
        )

    # -- uses -----------------------------------------------------------------------------------
    def use(self, practice_id: str, visit: Visit) -> Usage | None:
        """The completed session's use of the authorization that fits, exactly once (a repeat
        returns the use recorded). A use of a removed authorization (entered in error) is no use:
        it moves to the one that fits now, once. None: the client is not insured that day, or
        none fits."""
        recorded = self._store.usage(practice_id, visit.session_id)
        if recorded is not None and self._stands(practice_id, recorded):
            return recorded
        client = self._clients.get(practice_id, visit.client_id)
        standing = self._coverage.standing_at(practice_id, client, visit.scheduled_start)
        if not standing.insured or standing.primary is None:
            return recorded
        day = local_date(visit.scheduled_start, self._practices.get(practice_id).time_zone)
        chosen = choose(
            self._store.of_client(practice_id, visit.client_id), standing.primary.id, day, visit.cpt_code
        )
        if chosen is None:
            return recorded
        amount = units_of(chosen.counted, visit.actual_seconds)
        return self._store.record_use(
            practice_id,
            chosen,
            session_id=visit.session_id,
            amount=amount,
            service_date=day,
            replacing=recorded,
        )

    def _stands(self, practice_id: str, usage: Usage) -> bool:
        """The use names an authorization still active."""
        found = self._store.find(practice_id, usage.client_id, usage.authorization_id)
        return found is not None and found.status == "active"

    def give_back(self, practice_id: str, session_id: str) -> Usage | None:
        """The session's use given back, exactly once (None: nothing to give back)."""
        return self._store.give_back(practice_id, session_id)

    def booking_problem(
        self,
        practice_id: str,
        *,
        coverage_id: str,
        client_id: str,
        day: date,
        cpt_code: str | None,
        pending: Iterable[tuple[date, int | None]] = (),
        seconds: int | None = None,
    ) -> Problem | None:
        """What a new visit on ``day`` would meet (the caller asks only when the coverage's payer
        requires an authorization)."""
        found = self._store.of_client(practice_id, client_id)
        return booking_problem(found, coverage_id, day, cpt_code, pending=pending, seconds=seconds)

    # -- the nightly run ------------------------------------------------------------------------
    def of_practice(self, practice_id: str) -> dict[str, list[Authorization]]:
        return self._store.of_practice(practice_id)

    def usages(self, practice_id: str, session_ids: set[str]) -> dict[str, Usage]:
        return self._store.usages(practice_id, session_ids) if session_ids else {}
