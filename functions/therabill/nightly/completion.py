"""Billing at completion: a self-pay session of a client whose cadence is ``at_completion`` is
billed within minutes of becoming Ready (completed, or its note signed or its supervisor's
approval given where the practice requires them), not at the cutoff.

The staff request that makes it Ready asks for a one-time firing (``ask_to_bill``; a scheduler
that cannot be reached is logged, and the nightly run bills the session instead). The firing
(``CompletionBilling.bill``) decides afresh from the nightly run's own facts and ``assess``, then
bills through the run's exactly-once path: the session's billing mark claimed ``started`` (only
where none: N5's condition), its invoices made and charged or sent by the run's ``InvoiceCharger``
(the same request keys), and the mark ``done`` with the removal of its to-do in one transaction.
So whatever fires first or again, a session is billed once: the nightly run skips a session marked
done and resumes one left ``started``; a session not Ready (no price, unsigned note, insured,
held...) or no longer at completion is left to the run or to staff."""

from __future__ import annotations

from typing import Protocol

from therabill.clients.models import Client
from therabill.clients.service import ClientService
from therabill.contract import METRIC_SESSIONS_BILLED_AT_COMPLETION
from therabill.core.cadence import cadence_of
from therabill.core.clock import Clock, local_date
from therabill.core.errors import DependencyUnavailableError
from therabill.nightly.billing import COMPLETION_RUN, MEMOS, InvoiceCharger
from therabill.nightly.facts import FactReader
from therabill.nightly.models import ItemAction, assess
from therabill.nightly.nights import run_date_at
from therabill.observability import business, logger
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService
from therabill.sessions.models import Session
from therabill.sessions.store import SessionStore


class CompletionRequests(Protocol):
    """Fires nightly-dispatch for one session a few minutes from now (a one-time schedule); the
    same ``trigger`` for the same session is one firing."""

    def request(self, practice_id: str, client_id: str, session_id: str, *, trigger: str) -> None: ...


def at_completion(practice: Practice, client: Client) -> bool:
    """The client's sessions are billed at completion (auto-billing off: staff bill everything)."""
    cadence = cadence_of(practice.billing_cadence, client.billing_cadence)
    return practice.auto_billing and cadence == "at_completion"


def ask_to_bill(
    requests: CompletionRequests | None, practice: Practice, client: Client, session: Session, trigger: str
) -> bool:
    """After a step that may make a completed session Ready: ask for its billing soon when its
    client is billed at completion; whether it was asked for (never fails the step)."""
    if requests is None or session.status != "completed" or not at_completion(practice, client):
        return False
    try:
        requests.request(practice.id, client.id, session.id, trigger=trigger)
    except DependencyUnavailableError:
        logger.warning("billing at completion not scheduled", practice_id=practice.id, session_id=session.id)
        return False
    return True


class CompletionBilling:
    def __init__(
        self,
        *,
        clock: Clock,
        practices: PracticeService,
        clients: ClientService,
        reader: FactReader,
        sessions: SessionStore,
        charger: InvoiceCharger,
    ) -> None:
        self._clock = clock
        self._practices = practices
        self._clients = clients
        self._reader = reader
        self._sessions = sessions
        self._charger = charger

    def bill(self, practice_id: str, client_id: str, session_id: str) -> str:
        """Bill the session once if it is Ready and billed at completion: what came of it (an
        outcome such as ``charged`` or ``sent``), or why nothing was billed."""
        practice = self._practices.get(practice_id)
        billable = self._sessions.billable(practice_id, client_id, session_id)
        if billable is None:
            return "not_found"
        mark = billable.mark
        if mark is not None and (mark.status == "done" or mark.run_id != COMPLETION_RUN):
            return "already_billed" if mark.status == "done" else "billed_by_run"
        if mark is None:  # not yet claimed: decide afresh, then claim (N5)
            action = self._ready_action(practice, billable.session)
            if action is None:
                return "left_for_the_run"
            claimed = self._sessions.claim_billing(
                practice_id, client_id, session_id, run_id=COMPLETION_RUN, action=action
            )
            if claimed is None or claimed.mark is None or claimed.mark.run_id != COMPLETION_RUN:
                return "billed_by_run"
            billable, mark = claimed, claimed.mark
        if mark.status == "done":
            return "already_billed"
        return self._bill_claimed(practice, billable.session, mark.action or "send")

    def _ready_action(self, practice: Practice, session: Session) -> ItemAction | None:
        """The action the run would take tonight (charge or send), where the session is Ready and
        its client billed at completion; else None (left to the run or to staff)."""
        if not at_completion(practice, self._clients.get(practice.id, session.client_id)):
            return None
        # The run that bills it: tonight's, or the one of the session's own date (until 12 hours
        # before the cutoff, "tonight" is still last night's run, whose window ends before it).
        tonight = run_date_at(self._clock(), practice.time_zone, practice.cutoff_hour)
        served = local_date(session.scheduled_start, practice.time_zone)
        for facts in self._reader.facts(practice, max(tonight, served)):
            if facts.session_id == session.id:
                a = assess(facts)
                ready = a.state == "ready" and a.action in ("charge", "send") and not facts.before_auto
                if not ready:
                    logger.info("not billed at completion", session_id=session.id, reasons=list(a.reasons))
                return a.action if ready else None
        return None

    def _bill_claimed(self, practice: Practice, session: Session, action: str) -> str:
        act: ItemAction = "charge" if action == "charge" else "send"
        billed = self._charger.bill(practice, session, act, memo=MEMOS[COMPLETION_RUN])
        record = billed.record(self._sessions, practice.id, (session.client_id, session.id), self._clock())
        to_do = self._sessions.to_bill_done_write(practice.id, session.id, session.scheduled_start)
        if not self._sessions.finish_billing(practice.id, record, to_do):
            return "already_billed"  # a run resuming it recorded it first (the same invoices)
        if billed.outcome in ("charged", "sent", "pending"):  # no run reports it: the operators count it
            business.count(METRIC_SESSIONS_BILLED_AT_COMPLETION)
        return billed.outcome
