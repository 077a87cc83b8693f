"""Planning a run (its ``plan`` message): one item per Ready session (put if absent), then the
run's planned count, then the pending items in batches of ``BATCH_SIZE`` (``items`` messages).
A repeated plan message resumes: it re-sends the items still pending."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from therabill.core.errors import NotFoundError
from therabill.nightly.consolidation import consolidations
from therabill.nightly.facts import FactReader
from therabill.nightly.models import (
    BATCH_SIZE,
    Assessment,
    ItemFacts,
    NightRun,
    RunItem,
    assess,
    batches,
    disposition,
)
from therabill.nightly.nights import decide_firing
from therabill.nightly.ports import Hooks, Messages
from therabill.nightly.reports import Reporter
from therabill.nightly.store import NightlyStore
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService


class Planner:
    def __init__(
        self,
        *,
        practices: PracticeService,
        store: NightlyStore,
        reader: FactReader,
        messages: Messages,
        reports: Reporter,
        hooks: Hooks,
    ) -> None:
        self._practices = practices
        self._store = store
        self._reader = reader
        self._messages = messages
        self._reports = reports
        self._hooks = hooks

    def plan(self, practice_id: str, run_date: date) -> NightRun:
        practice = self._practices.get(practice_id)
        run = self._store.find_run(practice_id, run_date)
        if run is None:
            raise NotFoundError("run not found")
        if run.status == "planning":
            run = self._write_plan(practice, run)
        if run.status == "running":
            pending = [i for i in self._store.items(practice_id, run_date) if i.status == "pending"]
            self._send_items(run, pending)
            if not pending:
                return self._reports.finalize(practice_id, run_date)
        if run.status == "reporting":
            return self._reports.finalize(practice_id, run_date)
        return run

    def _write_plan(self, practice: Practice, planning: NightRun) -> NightRun:
        practice_id, run_date = practice.id, planning.run_date
        decided = [(f, assess(f)) for f in self._reader.facts(practice, run_date, record_uses=True)]
        chosen = None if planning.selection is None else set(planning.selection)
        # A staff run on a night the holiday calendar skips bills only what staff chose.
        auto = practice.auto_billing and (decide_firing(run_date, practice.holidays).run or chosen is None)
        plan = plan_items(decided, chosen, run_date=run_date, auto_billing=auto)
        self._store.add_items(practice_id, run_date, plan.items)
        self._hooks.checkpoint("planned-items")
        self._store.mark_planned(
            practice_id,
            run_date,
            planned=len(self._store.items(practice_id, run_date)),
            held=[f.session_id for f, a in decided if a.state == "held"],
            incomplete=sum(1 for _, a in decided if a.state == "incomplete"),
            skipped=sum(1 for _, a in decided if a.state == "skipped"),
            waiting=plan.waiting,
            later=plan.later,
        )
        self._hooks.checkpoint("planned")
        run = self._store.find_run(practice_id, run_date)
        assert run is not None
        return run

    def _send_items(self, run: NightRun, pending: list[RunItem]) -> None:
        by_id = {i.session_id: i for i in pending}
        for n, chunk in enumerate(batches([i.session_id for i in pending], BATCH_SIZE)):
            body = {
                "type": "items",
                "practice_id": run.practice_id,
                "run_date": run.run_date.isoformat(),
                "items": [[sid, by_id[sid].client_id] for sid in chunk],
            }
            self._messages.send(body, f"items:{run.id}:{n}")
            self._hooks.checkpoint("sent-batch")


@dataclass(frozen=True)
class Plan:
    items: list[RunItem]
    waiting: int  # Ready items left for staff
    later: int  # Ready items of monthly clients left for their billing date


def plan_items(
    decided: list[tuple[ItemFacts, Assessment]],
    chosen: set[str] | None,
    *,
    run_date: date,
    auto_billing: bool,
) -> Plan:
    """The run's items: auto-billing on, every Ready item but those waiting for staff (unless
    staff chose them) and monthly clients' not yet due, the due ones consolidated per client; off,
    staff's selection (None: all), each billed on its own but a monthly client's, consolidated."""
    singles: list[RunItem] = []
    due: list[tuple[ItemFacts, Assessment]] = []
    waiting = later = 0
    for f, a in decided:
        what = disposition(f, a, run_date=run_date, auto_billing=auto_billing)
        if what is None:
            continue
        picked = chosen is not None and f.session_id in chosen
        monthly = f.monthly_on is not None and a.action in ("charge", "send")
        if what == "staff" and not (picked or (not auto_billing and chosen is None)):
            waiting += 1
        elif what == "later":
            later += 1
        elif what == "consolidate" or (what == "staff" and monthly):  # staff's pick: one per client too
            due.append((f, a))
        else:
            singles.append(
                RunItem(session_id=f.session_id, client_id=f.client_id, amount=a.amount, action=a.action)
            )
    return Plan(singles + consolidations(due), waiting, later)
