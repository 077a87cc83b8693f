"""Staff holds (before the cutoff only) and the listings of runs and their items."""

from __future__ import annotations

from datetime import date

from therabill.core.clock import Clock
from therabill.core.errors import ConflictError, NotFoundError
from therabill.nightly.models import NightRun, RunItem
from therabill.nightly.nights import cutoff_instant, run_date_at
from therabill.nightly.store import NightlyStore
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService
from therabill.sessions.service import SessionService


class HoldsAndRuns:
    def __init__(
        self, *, clock: Clock, practices: PracticeService, sessions: SessionService, store: NightlyStore
    ) -> None:
        self._clock = clock
        self._practices = practices
        self._sessions = sessions
        self._store = store

    # -- holds and the cutoff ---------------------------------------------------------------------
    def _before_cutoff(self, practice: Practice) -> date:
        now = self._clock()
        rd = run_date_at(now, practice.time_zone, practice.cutoff_hour)
        if now >= cutoff_instant(rd, practice.time_zone, practice.cutoff_hour) or self._store.find_run(
            practice.id, rd
        ):
            raise ConflictError(
                "tonight's run has started: holds and waivers are only possible before the cutoff",
                reason="after_cutoff",
                run_date=rd.isoformat(),
            )
        return rd

    def hold(self, practice_id: str, session_id: str, by: str) -> date:
        practice = self._practices.get(practice_id)
        session = self._sessions.get(practice_id, session_id)
        rd = self._before_cutoff(practice)
        self._store.hold(practice_id, rd, session.id, by=by, at=self._clock())
        return rd

    def release(self, practice_id: str, session_id: str) -> date:
        practice = self._practices.get(practice_id)
        session = self._sessions.get(practice_id, session_id)
        rd = self._before_cutoff(practice)
        self._store.release(practice_id, rd, session.id)
        return rd

    # -- runs ---------------------------------------------------------------------------------------
    def find_run(self, practice_id: str, run_date: date) -> NightRun | None:
        return self._store.find_run(practice_id, run_date)

    def get_run(self, practice_id: str, run_date: date) -> tuple[NightRun, list[RunItem]]:
        run = self._store.find_run(practice_id, run_date)
        if run is None:
            raise NotFoundError("run not found")
        return run, self._store.items(practice_id, run_date)

    def items(self, practice_id: str, run_date: date) -> list[RunItem]:
        return self._store.items(practice_id, run_date)

    def list_runs(
        self, practice_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[NightRun], str | None]:
        return self._store.list_runs(practice_id, limit=limit, cursor=cursor)
