"""Tonight's listing (the dry run) and the evening summary: the same facts and decisions the run
uses, so what staff are shown is what the run does."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from therabill.core.clock import Clock
from therabill.nightly import emails
from therabill.nightly.facts import FactReader
from therabill.nightly.listing import Listing
from therabill.nightly.models import ItemFacts, assess, run_id
from therabill.nightly.nights import cutoff_instant, decide_firing, run_date_at, summary_run_date_at
from therabill.nightly.store import NightlyStore
from therabill.notifications.mailer import Outbox
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService


class DryRun:
    def __init__(
        self,
        *,
        clock: Clock,
        practices: PracticeService,
        reader: FactReader,
        store: NightlyStore,
        outbox: Outbox,
    ) -> None:
        self._clock = clock
        self._practices = practices
        self._reader = reader
        self._store = store
        self._outbox = outbox

    def practice(self, practice_id: str) -> Practice:
        return self._practices.get(practice_id)

    def now(self) -> datetime:
        return self._clock()

    def tonight(self, practice_id: str, at: datetime | None = None) -> date:
        practice = self._practices.get(practice_id)
        return run_date_at(at or self._clock(), practice.time_zone, practice.cutoff_hour)

    def facts(self, practice: Practice, run_date: date) -> list[ItemFacts]:
        return self._reader.facts(practice, run_date)

    def listing(self, practice_id: str, at: datetime | None = None) -> Listing:
        """The dry run: what tonight's run will do, from the same facts and decisions."""
        practice = self._practices.get(practice_id)
        now = at or self._clock()
        rd = run_date_at(now, practice.time_zone, practice.cutoff_hour)
        decision = decide_firing(rd, practice.holidays)
        facts = self._reader.facts(practice, rd)
        return Listing(
            practice=practice,
            run_date=rd,
            cutoff_at=cutoff_instant(rd, practice.time_zone, practice.cutoff_hour),
            run=self._store.find_run(practice_id, rd),
            decision_runs=decision.run,
            decision_reason=decision.reason,
            items=[(f, assess(f)) for f in facts],
        )

    def summary(self, practice_id: str, *, at: datetime | None = None, email: bool = False) -> Listing:
        """The dry run a few hours before the cutoff; with ``email``, sent to the practice once a night."""
        practice = self._practices.get(practice_id)
        now = at or self._clock()
        rd = summary_run_date_at(now, practice.time_zone, practice.cutoff_hour, practice.summary_hours_before)
        listing = self.listing(
            practice_id,
            at=cutoff_instant(rd, practice.time_zone, practice.cutoff_hour) - timedelta(minutes=1),
        )
        if email:
            self._outbox.send_once(
                practice_id, f"nightly-summary:{run_id(practice_id, rd)}", emails.evening_summary(listing)
            )
        return listing
