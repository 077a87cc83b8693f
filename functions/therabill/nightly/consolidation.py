"""A monthly client's consolidation: one run item bills the client's due sessions (at most
``MAX_SESSIONS``) with one invoice per billing party, exactly once.

1. Each session is claimed for the item (its billing mark ``started``, conditioned on none, with
   the item's own tag ``<run id>#<first session>``): a session another biller claimed or finished
   first (at completion, staff, a run before a switch of cadence) is left to it.
2. The claimed sessions' open charges are invoiced per billing party (request key
   ``monthly:<run date>:<first session>[:<party>]``: a retry meets the same invoice), then the
   party's card is charged or the invoice sent, as the nightly run does for one session.
3. Every claimed session's record ``started → done`` and its to-do's removal go in the item's
   finishing transaction (two writes a session: ``MAX_SESSIONS`` keeps it under DynamoDB's 100).

A crash anywhere leaves a retry (the message again, or the sweep) to meet the same claims, the same
invoices and the same payments, so a session is billed once and nothing is left unbilled."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from therabill.core.clock import Clock, local_date
from therabill.core.writes import Write
from therabill.nightly.billing import COMPLETION_RUN, MEMOS, MONTHLY_MEMO, Batch, Billed, InvoiceCharger
from therabill.nightly.models import Assessment, ItemAction, ItemFacts, NightRun, RunItem
from therabill.nightly.ports import Hooks
from therabill.practices.models import Practice
from therabill.sessions.models import Session
from therabill.sessions.store import SessionStore

_WORST = ("failed", "pending", "sent", "charged")  # the worst outcome first, as a night's item
MAX_SESSIONS = 40  # per consolidation item: its finishing transaction writes 2 + 2 x sessions rows


def consolidations(ready: Sequence[tuple[ItemFacts, Assessment]]) -> list[RunItem]:
    """The run items of the monthly clients' due sessions: one per client (a client with more
    than ``MAX_SESSIONS`` gets one per ``MAX_SESSIONS``), oldest first; charged where any of its
    sessions would be (AutoPay decides per billing party when it is billed)."""
    by_client: dict[str, list[tuple[ItemFacts, Assessment]]] = {}
    for f, a in sorted(ready, key=lambda fa: (fa[0].service_date, fa[0].session_id)):
        by_client.setdefault(f.client_id, []).append((f, a))
    items: list[RunItem] = []
    for client_id, due in sorted(by_client.items()):
        for start in range(0, len(due), MAX_SESSIONS):
            chunk = due[start : start + MAX_SESSIONS]
            items.append(
                RunItem(
                    session_id=chunk[0][0].session_id,
                    client_id=client_id,
                    amount=sum(a.amount for _, a in chunk),
                    action="charge" if any(a.action == "charge" for _, a in chunk) else "send",
                    sessions=tuple(f.session_id for f, _ in chunk),
                )
            )
    return items


_TAG = "#"


def tag_of(run: NightRun, item: RunItem) -> str:
    """The billing mark's run of the item's sessions: this item's, no other's."""
    return f"{run.id}{_TAG}{item.session_id}"


def is_tag(run_id: str | None) -> bool:
    """Whether a billing mark's run is a consolidation's (``tag_of``)."""
    return _TAG in (run_id or "")


class Consolidation:
    def __init__(
        self, *, clock: Clock, sessions: SessionStore, charger: InvoiceCharger, hooks: Hooks
    ) -> None:
        self._clock = clock
        self._sessions = sessions
        self._charger = charger
        self._hooks = hooks

    def bill(self, practice: Practice, run: NightRun, item: RunItem) -> tuple[RunItem, list[Write]]:
        """Bill the item's sessions once: the item done, and the writes that finish its sessions."""
        mine, left = self._claim(practice.id, tag_of(run, item), item)
        self._hooks.checkpoint("claimed")
        # A session its billing at completion claimed and never finished (its firing gave up, then
        # the client moved to monthly) is finished here on its own path: the same keys and memo.
        resumed = [
            (s, self._charger.bill(practice, s, action, memo=MEMOS[COMPLETION_RUN])) for s, action in left
        ]
        writes = [w for s, b in resumed for w in self._finish_one(practice.id, s, b)]
        if not mine:
            billed = Billed("nothing_to_bill", problem="billed elsewhere")
        else:
            days = [local_date(s.scheduled_start, practice.time_zone) for s in mine]
            batch = Batch(
                key=f"monthly:{run.run_date.isoformat()}:{item.session_id}",
                client_id=item.client_id,
                sessions=tuple(mine),
                memo=MONTHLY_MEMO,
                kind="monthly",
                period=(min(days), max(days)),
            )
            billed = self._charger.bill_batch(practice, batch, item.action)
            writes += self._finishing(practice.id, mine, billed)
        self._hooks.checkpoint("billed")
        results = ([billed] if mine else []) + [b for _, b in resumed]
        outcomes = [b.outcome for b in results]
        worst = next((o for o in _WORST if o in outcomes), outcomes[0] if outcomes else "nothing_to_bill")
        done = item.model_copy(
            update={
                "status": "done",
                "outcome": worst,
                "billed": sum(b.billed for b in results),
                "charged": sum(b.charged for b in results),
                "invoice_ids": tuple(i for b in results for i in b.invoice_ids),
                "payment_ids": tuple(p for b in results for p in b.payment_ids),
                "problem": next(
                    (b.problem for b in results if b.problem), None if results else billed.problem
                ),
                # What it billed: the month's sessions with a part on its invoices, and those resumed.
                "sessions": tuple(s.id for s in mine if billed.share(s.id)[0])
                + tuple(s.id for s, _ in resumed),
            }
        )
        return done, writes

    def _claim(
        self, practice_id: str, tag: str, item: RunItem
    ) -> tuple[list[Session], list[tuple[Session, ItemAction]]]:
        """The item's sessions claimed for it (now, or by an earlier attempt of it), and those a
        billing at completion claimed and left unfinished (with the action it chose)."""
        mine: list[Session] = []
        left: list[tuple[Session, ItemAction]] = []
        for session_id in item.session_ids:
            claimed = self._sessions.claim_billing(
                practice_id, item.client_id, session_id, run_id=tag, action=item.action
            )
            mark = claimed.mark if claimed is not None else None
            if claimed is None or mark is None or mark.status != "started":
                continue
            if mark.run_id == tag:
                mine.append(claimed.session)
            elif mark.run_id == COMPLETION_RUN:
                left.append((claimed.session, "charge" if mark.action == "charge" else "send"))
        return mine, left

    def _finish_one(self, practice_id: str, s: Session, billed: Billed) -> list[Write]:
        record = billed.record(self._sessions, practice_id, (s.client_id, s.id), self._clock())
        return [record, self._sessions.to_bill_done_write(practice_id, s.id, s.scheduled_start)]

    def _finishing(self, practice_id: str, mine: Iterable[Session], billed: Billed) -> Iterable[Write]:
        """Each session's record (its share of the invoices) and the removal of its to-do."""
        at = self._clock()
        for s in mine:
            share, charged = billed.share(s.id)
            yield self._sessions.billing_done_write(
                practice_id,
                s.client_id,
                s.id,
                outcome=billed.outcome if share else "nothing_to_bill",
                billed=share,
                charged=charged,
                invoice_ids=list(billed.invoice_ids) if share else [],
                payment_ids=list(billed.payment_ids) if share else [],
                problem=billed.problem,
                at=at,
            )
            yield self._sessions.to_bill_done_write(practice_id, s.id, s.scheduled_start)
