"""Starting a run: a firing (the practice's schedule, staff "run now", the sweep) creates the
run once per practice and local date (``run:<prc>:<date>``) and sends its ``plan`` message. A
second firing the same night, a redrive or "run now" finds the run and only resumes it.

The sweep also tells the operators: every sweep counts the open runs not done two hours after
their cutoff (``NightlyRunsOverdue``, 0 included; an alarm watches it) and logs each."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from therabill.contract import METRIC_NIGHTLY_RUNS_OVERDUE, NIGHTLY_RUN_GRACE_HOURS
from therabill.core.clock import Clock, iso
from therabill.nightly.errors import StaffRunTakenError
from therabill.nightly.models import NightRun, OpenRun
from therabill.nightly.nights import decide_firing, run_date_at, run_overdue
from therabill.nightly.ports import Messages, NightlyQueue, RunOnce
from therabill.nightly.store import NightlyStore
from therabill.observability import business, logger
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService


class RunStarter:
    def __init__(
        self,
        *,
        clock: Clock,
        practices: PracticeService,
        store: NightlyStore,
        messages: Messages,
        run_once: RunOnce | None,
    ) -> None:
        self._clock = clock
        self._practices = practices
        self._store = store
        self._messages = messages
        self._run_once = run_once

    def use_queue(self, queue: NightlyQueue | None) -> None:
        """Connect the fan-out queue (None: this process cannot reach it, like the staff API)."""
        self._messages.use(queue)

    def use_run_once(self, run_once: RunOnce | None) -> None:
        """Connect the one-time firing (the schedules adapter) the staff API's "run now" uses."""
        self._run_once = run_once

    @property
    def queue(self) -> NightlyQueue | None:
        return self._messages.queue

    def fire(
        self, practice_id: str, *, at: datetime | None = None, trigger: str = "schedule"
    ) -> NightRun | None:
        """A firing of the practice's run (schedule or staff): start tonight's run once, or resume
        it. None: the holiday calendar skips tonight."""
        practice = self._practices.get(practice_id)
        now = at or self._clock()
        rd = run_date_at(now, practice.time_zone, practice.cutoff_hour)
        if not practice.auto_billing:
            return self._resume_staff_run(practice_id, rd)
        decision = decide_firing(rd, practice.holidays)
        if not decision.run and (staff := self._store.find_run(practice_id, rd)) is not None:
            return self._resume_staff_run(practice_id, rd) if staff.status != "done" else staff
        if not decision.run:
            logger.info(
                "nightly run skipped",
                practice_id=practice_id,
                run_date=rd.isoformat(),
                reason=decision.reason,
            )
            return None
        run = self._start(practice, rd, trigger, tuple(d.isoformat() for d in decision.moved_from))
        self._messages.send(
            {"type": "plan", "practice_id": practice_id, "run_date": rd.isoformat()}, f"plan:{run.id}"
        )
        return run

    def resume(self, practice_id: str, rd: date) -> NightRun | None:
        """A one-time firing of "run now" or "bill now": the run of its date, resumed (its plan
        sent again) unless done; a firing never starts a run of another date (None: no run)."""
        run = self._store.find_run(practice_id, rd)
        if run is not None and run.status != "done":
            self._messages.send(
                {"type": "plan", "practice_id": practice_id, "run_date": rd.isoformat()}, f"plan:{run.id}"
            )
        return run

    def _resume_staff_run(self, practice_id: str, rd: date) -> NightRun | None:
        """Auto-billing off: a firing bills nothing of its own; it resumes the date's staff run
        (the one-time firing "bill now" made from the staff API), if there is one."""
        run = self.resume(practice_id, rd)
        if run is None:
            logger.info(
                "nightly run skipped: auto-billing is off", practice_id=practice_id, run_date=rd.isoformat()
            )
        return run

    def bill_now(
        self,
        practice: Practice,
        *,
        selection: tuple[str, ...] | None,
        ready: tuple[str, ...],
        trigger: str,
        billed: set[str],
    ) -> NightRun:
        """Staff bill a selection (None: every Ready item, ``ready``) now (``billed``: the sessions
        the date's run has items for, as the caller read them): the date's run, created
        once with the selection and planned and billed by the worker like any run (auto-billing on:
        with what the run would bill anyway). What the date's run has chosen already answers that
        run (a repeat, or two requests at once); more, once the run is done, extends it (the run
        bills the new ones and reports again); while it is still billing, 409."""
        now = self._clock()
        rd = run_date_at(now, practice.time_zone, practice.cutoff_hour)
        run, created = self._store.start_run(
            practice.id, rd, trigger=trigger, moved_from=(), at=now, selection=selection
        )
        if not created:
            run = self._more(practice, run, selection if selection is not None else ready, now, billed)
        if run.status != "done":
            if self._messages.connected or self._run_once is None:
                self._resume_staff_run(practice.id, rd)
            else:
                self._run_once.run_once(practice.id, at=now, trigger=trigger, run_date=rd)
        return run

    def _more(
        self, practice: Practice, run: NightRun, wanted: tuple[str, ...], now: datetime, billed: set[str]
    ) -> NightRun:
        """The date's run, made to bill ``wanted`` too where it has not chosen them all."""
        practice_id = practice.id
        chosen = billed | set(run.selection or ())
        every_ready = run.selection is None and not practice.auto_billing and run.status == "planning"
        if set(wanted) <= chosen or every_ready:
            return run  # already chosen (a repeat), or a staff run of every Ready item still planning
        if run.status != "done" or not self._store.extend_run(
            practice_id, run.run_date, selection=sorted(chosen | set(wanted)), at=now, run=run
        ):
            raise StaffRunTakenError(
                "the run of this date is still billing; bill these when it is done", run_id=run.id
            )
        extended = self._store.find_run(practice_id, run.run_date)
        assert extended is not None
        return extended

    def run_now(self, practice_id: str, *, trigger: str) -> NightRun | None:
        """Staff "run now": where the queue is reachable (the workers, tests, locally) the run
        starts here; from the staff API the run is created here and a one-time schedule fires
        nightly-dispatch at once, which resumes it (sends the plan). (With auto-billing off the
        service bills every Ready item as a staff run instead: ``NightlyService.bill_now``.)"""
        practice = self._practices.get(practice_id)
        if self._messages.connected or self._run_once is None:
            return self.fire(practice_id, trigger=trigger)
        now = self._clock()
        rd = run_date_at(now, practice.time_zone, practice.cutoff_hour)
        decision = decide_firing(rd, practice.holidays)
        if not decision.run:
            return None
        run = self._start(practice, rd, trigger, tuple(d.isoformat() for d in decision.moved_from))
        if run.status != "done":
            self._run_once.run_once(practice_id, at=now, trigger=trigger, run_date=rd)
        return run

    def sweep(self, *, older_than: timedelta = timedelta(minutes=10), limit: int = 100) -> dict[str, int]:
        """Scheduled: runs left unfinished (a crash, a message parked in the DLQ) are resumed —
        their plan is sent again, which re-sends their pending items. Rows are isolated. The runs
        overdue among them are counted (``NightlyRunsOverdue``)."""
        now = self._clock()
        counts = {"open": 0, "resumed": 0, "failed": 0}
        overdue = 0
        for run in self._store.open_runs(limit=limit):
            counts["open"] += 1
            if run.started_at > now - older_than:
                break  # oldest first: the rest are younger still (and not overdue)
            if self._overdue(run, now):
                overdue += 1
            try:
                self._messages.send(
                    {"type": "plan", "practice_id": run.practice_id, "run_date": run.run_date},
                    f"sweep:{run.run_id}:{iso(now)}",
                )
                counts["resumed"] += 1
            except Exception:
                logger.exception("nightly run not resumed", run_id=run.run_id)
                counts["failed"] += 1
        business.count(METRIC_NIGHTLY_RUNS_OVERDUE, overdue)
        return counts

    def _overdue(self, run: OpenRun, now: datetime) -> bool:
        """Whether the open run is overdue (logged as a warning for the operators). A practice that
        cannot be read counts from the run's start."""
        rd = date.fromisoformat(run.run_date)
        grace = timedelta(hours=NIGHTLY_RUN_GRACE_HOURS)
        try:
            late = run_overdue(rd, run.started_at, self._practices.get(run.practice_id), now=now, grace=grace)
        except Exception:
            logger.exception("nightly run's practice not read", run_id=run.run_id)
            late = now > run.started_at + grace
        if late:
            logger.warning("nightly run overdue", run_id=run.run_id, started_at=iso(run.started_at))
        return late

    def _start(self, practice: Practice, rd: date, trigger: str, moved_from: tuple[str, ...]) -> NightRun:
        run, created = self._store.start_run(
            practice.id, rd, trigger=trigger, moved_from=moved_from, at=self._clock()
        )
        if created:
            logger.info("nightly run started", run_id=run.id, trigger=trigger)
        else:
            logger.info("nightly run already exists: resuming", run_id=run.id)
        return run
