"""Finishing a run: when ``finished`` reaches ``planned`` the run reports once (running →
reporting → done; the email's outbox key is the run id, and its extension's count once staff had
it bill more, so a re-run sends it once). The move to done counts the run's items in the
business metrics, once (an extension: those billed since)."""

from __future__ import annotations

from datetime import date

from therabill.contract import (
    METRIC_NIGHTLY_ITEMS_BILLED,
    METRIC_NIGHTLY_ITEMS_FAILED,
    METRIC_NIGHTLY_ITEMS_INCOMPLETE,
    METRIC_NIGHTLY_RUNS_FINISHED,
)
from therabill.core.clock import Clock
from therabill.nightly import emails
from therabill.nightly.models import NightRun, Report, build_report
from therabill.nightly.ports import Hooks
from therabill.nightly.store import NightlyStore
from therabill.notifications.mailer import Outbox
from therabill.observability import business, logger
from therabill.practices.service import PracticeService


class Reporter:
    def __init__(
        self, *, clock: Clock, practices: PracticeService, store: NightlyStore, outbox: Outbox, hooks: Hooks
    ) -> None:
        self._clock = clock
        self._practices = practices
        self._store = store
        self._outbox = outbox
        self._hooks = hooks

    def _run(self, practice_id: str, run_date: date) -> NightRun:
        run = self._store.find_run(practice_id, run_date)
        assert run is not None
        return run

    def finalize(self, practice_id: str, run_date: date) -> NightRun:
        run = self._run(practice_id, run_date)
        if run.status == "running":
            if run.finished < run.planned:
                return run
            self._store.begin_report(practice_id, run_date)
            run = self._run(practice_id, run_date)
        if run.status != "reporting":
            return run
        self._hooks.checkpoint("reporting")
        report = build_report(
            self._store.items(practice_id, run_date),
            held=list(run.held),
            incomplete=run.incomplete,
            skipped=run.skipped,
            waiting=run.waiting,
            later=run.later,
        )
        practice = self._practices.get(practice_id)
        self._store.store_report(practice_id, run_date, report)
        self._hooks.checkpoint("report-stored")
        try:
            self._outbox.send_once(
                practice_id, run.report_key, emails.run_report(practice, run.id, run_date, report)
            )
        except Exception as exc:  # the report stands; a re-run sends the email (once)
            logger.warning("run report email not sent", run_id=run.id, error=type(exc).__name__)
            raise
        self._hooks.checkpoint("report-emailed")
        if self._store.finish_run(practice_id, run_date, at=self._clock()):
            _count(report, before=run.counted)
        logger.info(
            "nightly run done", run_id=run.id, **report.model_dump(include={"items_billed", "amount_billed"})
        )
        return self._run(practice_id, run_date)


def _count(report: Report, *, before: tuple[int, int, int]) -> None:
    """A finished run in the business metrics: its items billed, incomplete and failed (an
    extended run: only what is new since its last finish)."""
    billed, failed, incomplete = before
    business.count(METRIC_NIGHTLY_RUNS_FINISHED)
    business.count(METRIC_NIGHTLY_ITEMS_BILLED, report.items_billed - billed)
    business.count(METRIC_NIGHTLY_ITEMS_INCOMPLETE, max(0, report.incomplete - incomplete))
    business.count(METRIC_NIGHTLY_ITEMS_FAILED, len(report.failures) - failed)
