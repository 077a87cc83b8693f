"""Billing one item (the ``items`` messages). Each item:

1. claims the session (its billing mark ``started``, conditioned on none);
2. bills it (``nightly.billing``), or submits its claim (an insured session);
3. marks the session done, then the item done and the run's ``finished`` counter, in one
   transaction conditioned on the item being pending (a duplicate message counts nothing).

The last item to finish reports the run."""

from __future__ import annotations

from datetime import date
from typing import cast

from therabill.core.clock import Clock
from therabill.core.errors import NotFoundError
from therabill.core.writes import Write
from therabill.nightly.billing import MEMOS, NIGHTLY_MEMO, Billed, InvoiceCharger
from therabill.nightly.consolidation import Consolidation, is_tag
from therabill.nightly.models import Finish, ItemAction, NightRun, RunItem
from therabill.nightly.ports import Hooks
from therabill.nightly.reports import Reporter
from therabill.nightly.store import FinishWriteFailedError, ItemAlreadyDoneError, NightlyStore
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService
from therabill.sessions.models import Billable, BillingMark
from therabill.sessions.store import SessionStore


def _recorded(item: RunItem, mark: BillingMark) -> RunItem:
    """The item as the session's billing record says it was billed."""
    return item.model_copy(
        update={
            "status": "done",
            "outcome": mark.outcome or "failed",
            "billed": mark.billed or 0,
            "charged": mark.charged or 0,
            "invoice_ids": mark.invoice_ids,
            "payment_ids": mark.payment_ids,
            "problem": mark.problem,
        }
    )


def _done_mark(billable: Billable | None) -> BillingMark | None:
    if billable is not None and billable.mark is not None and billable.mark.status == "done":
        return billable.mark
    return None


def _consolidating(billable: Billable) -> bool:
    """Claimed by a monthly consolidation (its tag: ``<run id>#<first session>``), not yet done."""
    mark = billable.mark
    return mark is not None and mark.status == "started" and is_tag(mark.run_id)


class ItemBilling:
    """Bills an item's session once across runs (the session's billing mark): the result, and the
    writes that finish it with the item."""

    def __init__(
        self,
        *,
        clock: Clock,
        sessions: SessionStore,
        charger: InvoiceCharger,
        consolidation: Consolidation,
        hooks: Hooks,
    ) -> None:
        self._clock = clock
        self._sessions = sessions
        self._charger = charger
        self._consolidation = consolidation
        self._hooks = hooks

    def bill_item(  # noqa: PLR0911 - each way an item ends is one return, read top to bottom
        self, practice: Practice, run: NightRun, item: RunItem
    ) -> tuple[RunItem, Finish]:
        if item.sessions:  # a monthly client's consolidation
            done, writes = self._consolidation.bill(practice, run, item)
            return done, Finish(None, None, tuple(writes))
        billable = self._sessions.billable(practice.id, item.client_id, item.session_id)
        if billable is None:
            failed = item.model_copy(
                update={"status": "done", "outcome": "failed", "problem": "session not found"}
            )
            return failed, Finish(None, None)
        to_do = self._sessions.to_bill_done_write(
            practice.id, item.session_id, billable.session.scheduled_start
        )
        if (mark := _done_mark(billable)) is not None:
            return _recorded(item, mark), Finish(None, to_do)
        if billable.mark is None or billable.mark.status != "started":
            claimed = self._sessions.claim_billing(
                practice.id, item.client_id, item.session_id, run_id=run.id, action=item.action
            )
            if claimed is None:
                failed = item.model_copy(update={"outcome": "failed", "problem": "session not found"})
                return failed, Finish(None, None)
            if (mark := _done_mark(claimed)) is not None:
                return _recorded(item, mark), Finish(None, to_do)
            billable = claimed
        if _consolidating(billable):  # a monthly consolidation claimed it (a cadence switched): its
            left = {"status": "done", "outcome": "nothing_to_bill", "problem": "billed by its consolidation"}
            return item.model_copy(update=left), Finish(None, None)
        self._hooks.checkpoint("claimed")
        action = cast("ItemAction", (billable.mark.action if billable.mark else None) or item.action)
        billed = self._bill(practice, run, item, billable, action)
        done, record = self._finished(practice, item, billed)
        return done, Finish(record, to_do)

    def _finished(self, practice: Practice, item: RunItem, billed: Billed) -> tuple[RunItem, Write]:
        """The item done with what billing did, and the session's billing record to write with it."""
        record = billed.record(self._sessions, practice.id, (item.client_id, item.session_id), self._clock())
        self._hooks.checkpoint("billed")
        done = item.model_copy(
            update={
                "status": "done",
                "outcome": billed.outcome,
                "billed": billed.billed,
                "charged": billed.charged,
                "invoice_ids": billed.invoice_ids,
                "payment_ids": billed.payment_ids,
                "problem": billed.problem,
            }
        )
        return done, record

    def _bill(
        self, practice: Practice, run: NightRun, item: RunItem, billable: Billable, action: ItemAction
    ) -> Billed:
        claims = self._hooks.claims
        if action == "claim" and claims is not None:
            claim_id = claims.submit(practice, billable.session, run_id=run.id)
            return Billed("claimed", billed=item.amount, invoice_ids=(claim_id,))
        claimed_by = (billable.mark.run_id if billable.mark else None) or ""
        memo = MEMOS.get(claimed_by, NIGHTLY_MEMO)
        return self._charger.bill(practice, billable.session, action, memo=memo)


class ItemProcessor:
    def __init__(
        self,
        *,
        practices: PracticeService,
        store: NightlyStore,
        sessions: SessionStore,
        billing: ItemBilling,
        reports: Reporter,
        hooks: Hooks,
    ) -> None:
        self._practices = practices
        self._store = store
        self._sessions = sessions
        self._billing = billing
        self._reports = reports
        self._hooks = hooks

    def process(self, practice_id: str, run_date: date, items: list[tuple[str, str]]) -> NightRun | None:
        """Bill each item of a batch once; the last one to finish reports the run."""
        practice = self._practices.get(practice_id)
        run = self._store.find_run(practice_id, run_date)
        if run is None:
            raise NotFoundError("run not found")
        finished_all = False
        for session_id, _client_id in items:
            item = self._store.item(practice_id, run_date, session_id)
            if item is None or item.status == "done":
                continue  # a duplicate message: already done
            result, finish = self._billing.bill_item(practice, run, item)
            self._hooks.checkpoint("item-billed")
            finished_all = self._mark_done(practice_id, run_date, result, finish) or finished_all
        if finished_all:
            return self._reports.finalize(practice_id, run_date)
        return self._store.find_run(practice_id, run_date)

    def _mark_done(self, practice_id: str, run_date: date, item: RunItem, finish: Finish) -> bool:
        """One transaction: the item pending → done, the run's counter, and ``finish`` (the
        session's billing record and the removal of its to-do). A duplicate that got there first
        fails the item's condition; a session another message recorded fails its own, and then
        that record is the item's. True: this item finished the run."""
        try:
            self._store.item_done(practice_id, run_date, item, extra=finish.writes())
        except ItemAlreadyDoneError:
            return False  # counted by a duplicate already
        except FinishWriteFailedError as exc:
            if finish.consolidated:
                raise  # a session of the consolidation recorded by another biller: retry the item
            if finish.record is None or exc.extra_index != 0:
                return False
            current = self._sessions.billable(practice_id, item.client_id, item.session_id, fresh=True)
            if current is None:
                return False
            if (mark := _done_mark(current)) is not None:  # the session recorded meanwhile
                return self._mark_done(
                    practice_id, run_date, _recorded(item, mark), Finish(None, finish.to_do)
                )
            raise
        self._hooks.checkpoint("item-done")
        run = self._store.find_run(practice_id, run_date)
        return run is not None and run.status == "running" and run.finished >= run.planned
