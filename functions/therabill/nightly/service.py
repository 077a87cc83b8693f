"""The nightly run: read the facts (I/O), decide with ``nightly.models`` (pure), act exactly once.

Flow: a firing (the practice's schedule, or staff "run now") creates the run once per practice
and local date (``NIGHTRUN#<date>``, put-if-absent: run id ``run:<prc>:<date>``) and sends a
``plan`` message. Planning writes one item per Ready session (put-if-absent), then the run's
planned count, then sends the items in batches of ``BATCH_SIZE`` (``items`` messages). Each item:

1. claims the session (``nightly_status = started`` on the session item, conditioned on none);
2. creates the session's invoice per payer (request key ``nightly:<ses>[:<owner>]``: the invoice
   id is derived from it, so a repeat meets the same invoice);
3. charges the payer's default card (the same request key: the payment id is derived from it,
   written pending before Stripe; the pointer ``INVPAY#<pay>`` names the invoice first, so a late
   success still pays it), or sends the invoice (the outbox sends it once);
4. marks the session done, then the item done and the run's ``finished`` counter, in one
   transaction conditioned on the item being pending (a duplicate message counts nothing).

When ``finished`` reaches ``planned`` the run reports once (running → reporting → done; the
email's outbox key is the run id). A second firing the same night, a redrive or "run now" finds
the run and only resumes: it re-sends the items still pending, each of which resumes at its step.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from therabill import contract
from therabill.adapters.dynamo import ConditionFailed, Table
from therabill.cards.models import ChargeKind
from therabill.cards.service import CardService, check_consent
from therabill.clients.service import ClientService
from therabill.clinical.supervision import SupervisionService
from therabill.core import keys
from therabill.core.clock import Clock, iso, parse_iso, zone
from therabill.core.errors import (
    ConflictError,
    DependencyUnavailableError,
    InvalidRequestError,
    NotFoundError,
    TherabillError,
)
from therabill.core.ids import derived_id
from therabill.core.writes import Write
from therabill.invoices.models import Invoice, next_status
from therabill.invoices.service import InvoiceService
from therabill.ledger.service import LedgerService
from therabill.nightly import emails
from therabill.nightly.models import (
    BATCH_SIZE,
    LOOKBACK_DAYS,
    Assessment,
    ItemAction,
    ItemFacts,
    ItemOutcome,
    Report,
    RunItem,
    RunStatus,
    assess,
    batches,
    build_report,
    cutoff_instant,
    decide_firing,
    run_date_at,
    run_id,
    summary_run_date_at,
)
from therabill.notifications.mailer import Outbox
from therabill.observability import logger
from therabill.payments.gateway import GatewayRejectedError
from therabill.payments.service import PaymentService
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService
from therabill.sessions.models import Session

RUN_BY = "nightly-run"
_OPEN = ("due", "balance")
_NOT_CHARGEABLE = (
    InvalidRequestError,
    ConflictError,
    NotFoundError,
    DependencyUnavailableError,
    GatewayRejectedError,
)


class NightlyQueue(Protocol):
    def send(self, body: str, *, dedup_id: str) -> None: ...


class ClaimSubmitter(Protocol):
    """The insurance capability's port (issue 6): turn a ready insured session into a claim, once
    per session (idempotent: the same session again returns the same claim id)."""

    def submit(self, practice: Practice, session: Session, *, run_id: str) -> str: ...


class RunOnce(Protocol):
    """Fires nightly-dispatch once for a practice (a one-time EventBridge Scheduler schedule):
    how the staff API, which cannot reach the queue, starts a run now."""

    def run_once(self, practice_id: str, *, at: datetime, trigger: str) -> None: ...


@dataclass(frozen=True)
class NightRun:
    id: str
    practice_id: str
    run_date: date
    status: RunStatus
    trigger: str
    started_at: datetime
    planned: int
    finished: int
    moved_from: tuple[str, ...]
    report: Report | None
    finished_at: datetime | None


@dataclass(frozen=True)
class Finish:
    """What finishes a billed item together with its done mark: the session's billing record
    (None: recorded already, or nothing to record) and the removal of its to-do item."""

    record: Write | None
    to_do: Write | None

    def writes(self) -> list[Write]:
        return [w for w in (self.record, self.to_do) if w is not None]


@dataclass(frozen=True)
class Listing:
    """Tonight's items as the run will see them (the dry run)."""

    practice: Practice
    run_date: date
    cutoff_at: datetime
    run: NightRun | None
    decision_runs: bool
    decision_reason: str
    items: list[tuple[ItemFacts, Assessment]]

    def of(self, state: str) -> list[tuple[ItemFacts, Assessment]]:
        return [(f, a) for f, a in self.items if a.state == state]


def _run_from(practice_id: str, item: dict[str, Any]) -> NightRun:
    report = item.get("report")
    return NightRun(
        id=item["run_id"],
        practice_id=practice_id,
        run_date=date.fromisoformat(item["run_date"]),
        status=item["status"],
        trigger=item.get("trigger", "schedule"),
        started_at=parse_iso(item["started_at"]),
        planned=int(item.get("planned", 0)),
        finished=int(item.get("finished", 0)),
        moved_from=tuple(item.get("moved_from") or ()),
        report=Report.model_validate(json.loads(report)) if report else None,
        finished_at=parse_iso(item["finished_at"]) if item.get("finished_at") else None,
    )


def _item_from(item: dict[str, Any]) -> RunItem:
    return RunItem.model_validate(
        {k: item[k] for k in RunItem.model_fields if k in item and item[k] is not None}
    )


def _session_from(item: dict[str, Any]) -> Session:
    return Session.model_validate({k: item[k] for k in Session.model_fields if k in item})


def _session_of(source_key: str) -> str | None:
    parts = source_key.split(":")
    if len(parts) >= 2 and parts[0] in ("session", "copay", "fee"):
        return parts[1]
    return None


def charge_kind(f: ItemFacts) -> ChargeKind:
    """The consent kind of tonight's charge: the one kind it bills, else a balance."""
    session = 0 if f.not_billed else (f.session_amount or 0)
    parts = [
        k
        for k, v in (
            ("session_fee", session),
            ("copay", f.copay_balance),
            ("cancellation_fee", f.fee_balance),
        )
        if v
    ]
    if len(parts) == 1:
        return parts[0]  # type: ignore[return-value]
    return "balance"


class NightlyService:
    def __init__(
        self,
        table: Table,
        clock: Clock,
        practices: PracticeService,
        clients: ClientService,
        cards: CardService,
        ledger: LedgerService,
        payments: PaymentService,
        invoices: InvoiceService,
        outbox: Outbox,
        queue: NightlyQueue | None,
        run_once: RunOnce | None = None,
        claims: ClaimSubmitter | None = None,
    ) -> None:
        self._table = table
        self._clock = clock
        self._practices = practices
        self._clients = clients
        self._cards = cards
        self._ledger = ledger
        self._payments = payments
        self._invoices = invoices
        self._outbox = outbox
        self._queue = queue
        self._run_once = run_once
        self._supervision = SupervisionService(table, clock)
        self.claims = claims  # None until the insurance capability exists: insured items wait
        # Crash injection in tests: called with the name of each step boundary.
        self.checkpoint: Callable[[str], None] = lambda step: None

    def now(self) -> datetime:
        return self._clock()

    # -- reading the facts ------------------------------------------------------------------------
    def tonight(self, practice_id: str, at: datetime | None = None) -> date:
        practice = self._practices.get(practice_id)
        return run_date_at(at or self._clock(), practice.time_zone, practice.cutoff_hour)

    def _candidates(self, practice: Practice, run_date: date) -> list[dict[str, Any]]:
        """Completed and no-show sessions not yet billed by a run. The look-back window: one Query
        per UTC date it touches (the S7 day index); older ones (held back, incomplete for weeks,
        a run skipped): their ``TOBILL#`` to-do items, read before the window starts. Never a Scan."""
        tz = zone(practice.time_zone)
        lo = datetime.combine(run_date - timedelta(days=LOOKBACK_DAYS - 1), time(0), tzinfo=tz).astimezone(
            UTC
        )
        hi = datetime.combine(run_date + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
        found: list[dict[str, Any]] = []
        day, last = lo.date(), (hi - timedelta(microseconds=1)).date()
        while day <= last:
            found.extend(
                self._table.query_all(
                    keys.sessions_by_time_gsi(practice.id), prefix=day.isoformat(), index=contract.GSI1_NAME
                )
            )
            day += timedelta(days=1)
        in_window = [i for i in found if lo <= parse_iso(i["scheduled_start"]) < hi]
        # The to-do items are only the sessions no run has finished: few, whatever the history.
        for todo in self._table.query_all(keys.practice_pk(practice.id), prefix=keys.TO_BILL_PREFIX):
            if parse_iso(todo["scheduled_start"]) >= lo:
                continue  # in the window: read above
            item = self._table.get(
                keys.practice_pk(practice.id), keys.session_sk(todo["client_id"], todo["session_id"])
            )
            if item is not None and item.get("nightly_status") == "done":  # a crash left it behind
                self._table.delete(keys.practice_pk(practice.id), todo["SK"])
            elif item is not None:
                in_window.append(item)
        return [
            i
            for i in in_window
            if i.get("status") in ("completed", "no_show") and i.get("nightly_status") != "done"
        ]

    def _holds(self, practice_id: str, run_date: date) -> set[str]:
        rows = self._table.query_all(
            keys.practice_pk(practice_id), prefix=keys.nightly_hold_prefix(run_date.isoformat())
        )
        return {r["session_id"] for r in rows}

    def _facts(self, practice: Practice, run_date: date) -> list[ItemFacts]:
        held = self._holds(practice.id, run_date)
        supervised = set(self._supervision.all(practice.id))  # one Query, never one per session
        clients: dict[str, dict[str, Any] | None] = {}
        chargeable: dict[tuple[str, str, int], bool] = {}
        can_charge = bool(practice.stripe and practice.stripe.charges_enabled)
        tz = zone(practice.time_zone)
        out: list[ItemFacts] = []
        for raw in self._candidates(practice, run_date):
            s = _session_from(raw)
            if s.client_id not in clients:
                clients[s.client_id] = self._table.get(
                    keys.practice_pk(practice.id), keys.client_sk(s.client_id)
                )
            client = clients[s.client_id] or {}
            price = s.price
            copay = s.copay.amount.amount if s.copay and s.copay.status in _OPEN else 0
            fee = s.fee.amount.amount if s.fee and s.fee.status in _OPEN and s.fee.amount.amount > 0 else 0
            if s.status == "no_show" and not fee:
                continue  # a no-show owes only its fee: none, or it was charged or waived
            session_amount = price.amount.amount if price else (0 if s.status == "no_show" else None)
            base = ItemFacts(
                session_id=s.id,
                client_id=s.client_id,
                client_name=f"{client.get('first_name', '')} {client.get('last_name', '')}".strip(),
                status=s.status,
                service_date=s.scheduled_start.astimezone(tz).date(),
                currency=practice.currency,
                session_amount=session_amount,
                not_billed=bool(price and price.not_billed),
                cpt_code=price.cpt_code if price else None,
                copay_balance=copay,
                fee_balance=fee,
                insured=bool(client.get("payer")),
                practice_can_charge=can_charge,
                card_chargeable=False,
                payer_email=bool(client.get("email")),
                held=s.id in held,
                claims_enabled=self.claims is not None,
                has_diagnosis=bool(s.diagnoses or client.get("diagnoses")),
                note_required=practice.billing_requires_signed_note,
                note_signed=s.note_signed_at is not None,
                supervised=s.clinician_id in supervised,
                supervisor_approved=s.supervisor_approved_at is not None,
            )
            card_id = client.get("default_card_id")
            if can_charge and card_id:
                kind = charge_kind(base)
                amount = max(1, copay + fee + (0 if base.not_billed else (session_amount or 0)))
                ck = (s.client_id, kind, amount)
                if ck not in chargeable:
                    chargeable[ck] = self._card_allows(practice, s.client_id, str(card_id), kind, amount)
                base = ItemFacts(**{**base.__dict__, "card_chargeable": chargeable[ck]})
            out.append(base)
        return sorted(out, key=lambda f: (f.service_date, f.session_id))

    def _card_allows(
        self, practice: Practice, client_id: str, card_id: str, kind: ChargeKind, amount: int
    ) -> bool:
        try:
            card = self._cards.get_card(practice.id, client_id, card_id)
            if card.status != "active":
                return False
            consent = self._cards.get_consent(practice.id, card.consent_id)
            check_consent(consent, kind=kind, amount=amount, currency=practice.currency, now=self._clock())
        except TherabillError:
            return False
        return True

    def listing(self, practice_id: str, at: datetime | None = None) -> Listing:
        """The dry run: what tonight's run will do, from the same facts and decisions."""
        practice = self._practices.get(practice_id)
        now = at or self._clock()
        rd = run_date_at(now, practice.time_zone, practice.cutoff_hour)
        decision = decide_firing(rd, practice.holidays)
        facts = self._facts(practice, rd)
        return Listing(
            practice=practice,
            run_date=rd,
            cutoff_at=cutoff_instant(rd, practice.time_zone, practice.cutoff_hour),
            run=self.find_run(practice_id, rd),
            decision_runs=decision.run,
            decision_reason=decision.reason,
            items=[(f, assess(f)) for f in facts],
        )

    # -- holds and the cutoff ---------------------------------------------------------------------
    def _before_cutoff(self, practice: Practice) -> date:
        now = self._clock()
        rd = run_date_at(now, practice.time_zone, practice.cutoff_hour)
        if now >= cutoff_instant(rd, practice.time_zone, practice.cutoff_hour) or self.find_run(
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
        session = self._session(practice_id, session_id)
        rd = self._before_cutoff(practice)
        self._table.put(
            {
                "PK": keys.practice_pk(practice_id),
                "SK": keys.nightly_hold_sk(rd.isoformat(), session.id),
                "type": "nightly_hold",
                "session_id": session.id,
                "held_by": by,
                "held_at": iso(self._clock()),
            }
        )
        return rd

    def release(self, practice_id: str, session_id: str) -> date:
        practice = self._practices.get(practice_id)
        session = self._session(practice_id, session_id)
        rd = self._before_cutoff(practice)
        self._table.delete(keys.practice_pk(practice_id), keys.nightly_hold_sk(rd.isoformat(), session.id))
        return rd

    def _session(self, practice_id: str, session_id: str) -> Session:
        pointer = self._table.get(keys.practice_pk(practice_id), keys.session_pointer_sk(session_id))
        if not pointer:
            raise NotFoundError("session not found")
        raw = self._table.get(
            keys.practice_pk(practice_id), keys.session_sk(pointer["client_id"], session_id)
        )
        if not raw:
            raise NotFoundError("session not found")
        return _session_from(raw)

    # -- runs ---------------------------------------------------------------------------------------
    def find_run(self, practice_id: str, run_date: date) -> NightRun | None:
        item = self._table.get(keys.practice_pk(practice_id), keys.nightly_run_sk(run_date.isoformat()))
        return _run_from(practice_id, item) if item else None

    def get_run(self, practice_id: str, run_date: date) -> tuple[NightRun, list[RunItem]]:
        run = self.find_run(practice_id, run_date)
        if run is None:
            raise NotFoundError("run not found")
        return run, self.items(practice_id, run_date)

    def items(self, practice_id: str, run_date: date) -> list[RunItem]:
        rows = self._table.query_all(
            keys.practice_pk(practice_id), prefix=keys.nightly_item_prefix(run_date.isoformat())
        )
        return [_item_from(r) for r in rows]

    def list_runs(
        self, practice_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[NightRun], str | None]:
        page = self._table.query(
            keys.practice_pk(practice_id),
            prefix=keys.NIGHTLY_RUN_PREFIX,
            limit=limit,
            cursor=cursor,
            forward=False,
        )
        return [_run_from(practice_id, i) for i in page.items], page.cursor

    def fire(
        self, practice_id: str, *, at: datetime | None = None, trigger: str = "schedule"
    ) -> NightRun | None:
        """A firing of the practice's run (schedule or staff): start tonight's run once, or resume
        it. None: the holiday calendar skips tonight."""
        practice = self._practices.get(practice_id)
        now = at or self._clock()
        rd = run_date_at(now, practice.time_zone, practice.cutoff_hour)
        decision = decide_firing(rd, practice.holidays)
        if not decision.run:
            logger.info(
                "nightly run skipped",
                practice_id=practice_id,
                run_date=rd.isoformat(),
                reason=decision.reason,
            )
            return None
        run = self._start(practice, rd, trigger, tuple(d.isoformat() for d in decision.moved_from))
        self._send({"type": "plan", "practice_id": practice_id, "run_date": rd.isoformat()}, f"plan:{run.id}")
        return run

    def run_now(self, practice_id: str, *, trigger: str) -> NightRun | None:
        """Staff "run now": where the queue is reachable (the workers, tests, locally) the run
        starts here; from the staff API the run is created here and a one-time schedule fires
        nightly-dispatch at once, which resumes it (sends the plan)."""
        if self._queue is not None or self._run_once is None:
            return self.fire(practice_id, trigger=trigger)
        practice = self._practices.get(practice_id)
        now = self._clock()
        rd = run_date_at(now, practice.time_zone, practice.cutoff_hour)
        decision = decide_firing(rd, practice.holidays)
        if not decision.run:
            return None
        run = self._start(practice, rd, trigger, tuple(d.isoformat() for d in decision.moved_from))
        if run.status != "done":
            self._run_once.run_once(practice_id, at=now, trigger=trigger)
        return run

    def sweep(self, *, older_than: timedelta = timedelta(minutes=10), limit: int = 100) -> dict[str, int]:
        """Scheduled: runs left unfinished (a crash, a message parked in the DLQ) are resumed —
        their plan is sent again, which re-sends their pending items. Rows are isolated."""
        now = self._clock()
        page = self._table.query(keys.NIGHTLY_OPEN_GSI, index=contract.GSI1_NAME, limit=limit)
        counts = {"open": 0, "resumed": 0, "failed": 0}
        for row in page.items:
            counts["open"] += 1
            if parse_iso(str(row["started_at"])) > now - older_than:
                break  # oldest first: the rest are younger still
            practice_id = str(row["PK"]).removeprefix("P#")
            try:
                self._send(
                    {"type": "plan", "practice_id": practice_id, "run_date": row["run_date"]},
                    f"sweep:{row['run_id']}:{iso(now)}",
                )
                counts["resumed"] += 1
            except Exception:
                logger.exception("nightly run not resumed", run_id=row.get("run_id"))
                counts["failed"] += 1
        return counts

    def _start(self, practice: Practice, rd: date, trigger: str, moved_from: tuple[str, ...]) -> NightRun:
        started = iso(self._clock())
        item = {
            "PK": keys.practice_pk(practice.id),
            "SK": keys.nightly_run_sk(rd.isoformat()),
            "type": "nightly_run",
            "run_id": run_id(practice.id, rd),
            "run_date": rd.isoformat(),
            "status": "planning",
            "trigger": trigger,
            "started_at": started,
            "GSI1PK": keys.NIGHTLY_OPEN_GSI,
            "GSI1SK": f"{started}#{practice.id}#{rd.isoformat()}",
            "planned": 0,
            "finished": 0,
            "moved_from": list(moved_from),
        }
        try:
            self._table.put_new(item)
        except ConditionFailed as exc:
            if exc.current is None:
                raise
            logger.info("nightly run already exists: resuming", run_id=item["run_id"])
            return _run_from(practice.id, exc.current)
        logger.info("nightly run started", run_id=item["run_id"], trigger=trigger)
        return _run_from(practice.id, item)

    def _send(self, message: dict[str, Any], dedup: str) -> None:
        if self._queue is None:
            raise DependencyUnavailableError("the nightly queue is not configured")
        self._queue.send(json.dumps(message, separators=(",", ":")), dedup_id=dedup)

    # -- planning (the practice-level message) ----------------------------------------------------
    def plan(self, practice_id: str, run_date: date) -> NightRun:
        practice = self._practices.get(practice_id)
        run = self.find_run(practice_id, run_date)
        if run is None:
            raise NotFoundError("run not found")
        if run.status == "planning":
            facts = self._facts(practice, run_date)
            decided = [(f, assess(f)) for f in facts]
            ready = [(f, a) for f, a in decided if a.state == "ready"]
            self._write_items(practice_id, run_date, ready)
            self.checkpoint("planned-items")
            count = len(self.items(practice_id, run_date))
            with contextlib.suppress(ConditionFailed):  # a duplicate plan message got there first
                self._table.update(
                    keys.practice_pk(practice_id),
                    keys.nightly_run_sk(run_date.isoformat()),
                    update="SET #s = :running, planned = :n, held = :held, incomplete = :inc, skipped = :sk",
                    condition="#s = :planning",
                    names={"#s": "status"},
                    values={
                        ":running": "running",
                        ":planning": "planning",
                        ":n": count,
                        ":held": [f.session_id for f, a in decided if a.state == "held"],
                        ":inc": sum(1 for _, a in decided if a.state == "incomplete"),
                        ":sk": sum(1 for _, a in decided if a.state == "skipped"),
                    },
                )
            self.checkpoint("planned")
            run = self.find_run(practice_id, run_date)
            assert run is not None
        if run.status == "running":
            pending = [i for i in self.items(practice_id, run_date) if i.status == "pending"]
            for n, chunk in enumerate(batches([i.session_id for i in pending], BATCH_SIZE)):
                by_id = {i.session_id: i for i in pending}
                body = {
                    "type": "items",
                    "practice_id": practice_id,
                    "run_date": run_date.isoformat(),
                    "items": [[sid, by_id[sid].client_id] for sid in chunk],
                }
                self._send(body, f"items:{run.id}:{n}")
                self.checkpoint("sent-batch")
            if not pending:
                return self.finalize(practice_id, run_date)
        if run.status == "reporting":
            return self.finalize(practice_id, run_date)
        return run

    def _write_items(
        self, practice_id: str, run_date: date, ready: list[tuple[ItemFacts, Assessment]]
    ) -> None:
        pk = keys.practice_pk(practice_id)
        rows = [
            {
                "PK": pk,
                "SK": keys.nightly_item_sk(run_date.isoformat(), f.session_id),
                "type": "nightly_item",
                **RunItem(
                    session_id=f.session_id, client_id=f.client_id, amount=a.amount, action=a.action
                ).model_dump(mode="json", exclude_none=True),
            }
            for f, a in ready
        ]
        for chunk_start in range(0, len(rows), BATCH_SIZE):
            chunk = rows[chunk_start : chunk_start + BATCH_SIZE]
            try:
                self._table.transact(
                    [Write(kind="put", item=r, condition="attribute_not_exists(PK)") for r in chunk]
                )
            except ConditionFailed:  # a resumed plan: keep the rows already written
                for r in chunk:
                    with contextlib.suppress(ConditionFailed):
                        self._table.put_new(r)

    # -- items (the batch messages) -------------------------------------------------------------
    def process(self, practice_id: str, run_date: date, items: list[tuple[str, str]]) -> NightRun | None:
        """Bill each item of a batch once; the last one to finish reports the run."""
        practice = self._practices.get(practice_id)
        run = self.find_run(practice_id, run_date)
        if run is None:
            raise NotFoundError("run not found")
        finished_all = False
        for session_id, _client_id in items:
            row = self._table.get(
                keys.practice_pk(practice_id), keys.nightly_item_sk(run_date.isoformat(), session_id)
            )
            if not row or row.get("status") == "done":
                continue  # a duplicate message: already done
            item = _item_from(row)
            result, finish = self._bill_item(practice, run, item)
            self.checkpoint("item-billed")
            finished_all = self._mark_done(practice_id, run_date, result, finish) or finished_all
        if finished_all:
            return self.finalize(practice_id, run_date)
        return self.find_run(practice_id, run_date)

    def _mark_done(self, practice_id: str, run_date: date, item: RunItem, finish: Finish) -> bool:
        """One transaction: the item pending → done, the run's counter, and ``finish`` (the
        session's billing record and the removal of its to-do). A duplicate that got there first
        fails the item's condition; a session another message recorded fails its own, and then
        that record is the item's."""
        pk = keys.practice_pk(practice_id)
        data = item.model_dump(mode="json", exclude_none=True)
        sets = {k: v for k, v in data.items() if k not in ("session_id", "client_id", "status")}
        names = {"#s": "status", **{f"#{k}": k for k in sets}}
        values: dict[str, Any] = {
            ":done": "done",
            ":pending": "pending",
            **{f":{k}": v for k, v in sets.items()},
        }
        try:
            self._table.transact(
                [
                    Write(
                        kind="update",
                        key=Table.key(pk, keys.nightly_item_sk(run_date.isoformat(), item.session_id)),
                        update="SET #s = :done, " + ", ".join(f"#{k} = :{k}" for k in sets),
                        condition="#s = :pending",
                        names=names,
                        values=values,
                    ),
                    Write(
                        kind="update",
                        key=Table.key(pk, keys.nightly_run_sk(run_date.isoformat())),
                        update="ADD finished :one",
                        values={":one": 1},
                    ),
                    *finish.writes(),
                ]
            )
        except ConditionFailed as exc:
            if finish.record is not None and exc.index == 2 and exc.current is not None:
                if exc.current.get("nightly_status") == "done":  # the session recorded meanwhile
                    recorded = self._recorded(item, exc.current)
                    return self._mark_done(practice_id, run_date, recorded, Finish(None, finish.to_do))
                raise
            return False  # counted by a duplicate already
        self.checkpoint("item-done")
        run = self.find_run(practice_id, run_date)
        return run is not None and run.status == "running" and run.finished >= run.planned

    def _bill_item(self, practice: Practice, run: NightRun, item: RunItem) -> tuple[RunItem, Finish]:
        """Bill the item's session (once across runs: the session's ``nightly_status``); the
        result, and the writes that finish it with the item (``_mark_done``)."""
        pk = keys.practice_pk(practice.id)
        sk = keys.session_sk(item.client_id, item.session_id)
        raw = self._table.get(pk, sk)
        if not raw:
            failed = item.model_copy(
                update={"status": "done", "outcome": "failed", "problem": "session not found"}
            )
            return failed, Finish(None, None)
        to_do = Write(
            kind="delete", key=Table.key(pk, keys.to_bill_sk(str(raw["scheduled_start"]), item.session_id))
        )
        if raw.get("nightly_status") == "done":
            return self._recorded(item, raw), Finish(None, to_do)
        if raw.get("nightly_status") != "started":
            try:
                raw = self._table.update(
                    pk,
                    sk,
                    update="SET nightly_status = :started, nightly_run = :run, nightly_action = :a",
                    condition="attribute_exists(PK) AND attribute_not_exists(nightly_status)",
                    values={":started": "started", ":run": run.id, ":a": item.action},
                )
            except ConditionFailed as exc:
                if exc.current is None:
                    failed = item.model_copy(update={"outcome": "failed", "problem": "session not found"})
                    return failed, Finish(None, None)
                raw = exc.current
                if raw.get("nightly_status") == "done":
                    return self._recorded(item, raw), Finish(None, to_do)
        self.checkpoint("claimed")
        action: ItemAction = raw.get("nightly_action") or item.action
        if action == "claim" and self.claims is not None:
            claim_id = self.claims.submit(practice, _session_from(raw), run_id=run.id)
            outcome: ItemOutcome = "claimed"
            payment_ids: list[str] = []
            billed, charged, invoice_ids, problem = item.amount, 0, [claim_id], None
        else:
            outcome, billed, charged, invoice_ids, payment_ids, problem = self._bill(
                practice, _session_from(raw), action
            )
        done = {
            ":done": "done",
            ":started": "started",
            ":o": outcome,
            ":b": billed,
            ":c": charged,
            ":inv": invoice_ids,
            ":pay": payment_ids,
            ":p": problem or "",
            ":at": iso(self._clock()),
        }
        self.checkpoint("billed")
        record = Write(
            kind="update",
            key=Table.key(pk, sk),
            update=(
                "SET nightly_status = :done, nightly_outcome = :o, nightly_billed = :b, "
                "nightly_charged = :c, nightly_invoices = :inv, nightly_payments = :pay, "
                "nightly_problem = :p, nightly_at = :at"
            ),
            condition="nightly_status = :started",
            values=done,
        )
        return item.model_copy(
            update={
                "status": "done",
                "outcome": outcome,
                "billed": billed,
                "charged": charged,
                "invoice_ids": tuple(invoice_ids),
                "payment_ids": tuple(payment_ids),
                "problem": problem,
            }
        ), Finish(record, to_do)

    @staticmethod
    def _recorded(item: RunItem, raw: dict[str, Any]) -> RunItem:
        return item.model_copy(
            update={
                "status": "done",
                "outcome": raw.get("nightly_outcome", "failed"),
                "billed": int(raw.get("nightly_billed", 0)),
                "charged": int(raw.get("nightly_charged", 0)),
                "invoice_ids": tuple(raw.get("nightly_invoices") or ()),
                "payment_ids": tuple(raw.get("nightly_payments") or ()),
                "problem": raw.get("nightly_problem") or None,
            }
        )

    def _bill(
        self, practice: Practice, session: Session, action: ItemAction
    ) -> tuple[ItemOutcome, int, int, list[str], list[str], str | None]:
        """Invoice each payer's open charges of the session, then charge the card or send."""
        entries = [
            e
            for e in self._ledger.session_entries(practice.id, session.client_id, session.created_at)
            if e.kind == "charge" and _session_of(e.source_key) == session.id
        ]
        owners = sorted({e.owner_id or "" for e in entries})
        outcomes: list[ItemOutcome] = []
        billed = charged = 0
        invoice_ids: list[str] = []
        payment_ids: list[str] = []
        problem: str | None = None
        for owner in owners:
            suffix = f":{owner}" if owner else ""
            key = f"nightly:{session.id}{suffix}"
            try:
                inv, _ = self._invoices.create(
                    practice.id,
                    request_key=key,
                    client_id=session.client_id,
                    owner_id=owner or None,
                    kind="session",
                    session_id=session.id,
                    created_by=RUN_BY,
                    memo="Nightly billing",
                )
            except ConflictError:
                continue  # nothing left to invoice for this payer (invoiced or collected already)
            self.checkpoint("invoiced")
            invoice_ids.append(inv.id)
            billed += inv.total.amount
            result, paid, pay_id, why = self._collect(practice, session, inv, key, action)
            outcomes.append(result)
            charged += paid
            if pay_id:
                payment_ids.append(pay_id)
            problem = problem or why
        if not outcomes:
            return "nothing_to_bill", 0, 0, [], [], None
        for o in ("failed", "pending", "sent", "charged"):
            if o in outcomes:
                return o, billed, charged, invoice_ids, payment_ids, problem
        return outcomes[0], billed, charged, invoice_ids, payment_ids, problem

    def _collect(  # noqa: PLR0911 - one return per outcome
        self, practice: Practice, session: Session, inv: Invoice, key: str, action: ItemAction
    ) -> tuple[ItemOutcome, int, str | None, str | None]:
        """(outcome, amount charged, payment id, problem)."""
        if inv.status == "paid":
            return "charged", inv.paid.amount, None, None
        if inv.status in ("open", "overdue"):
            return "sent", 0, None, None
        # The invoice shows what the payer's credit already paid of its charges; the card is
        # asked for what is left, the same amount on every attempt (the key asks it once).
        due = inv.balance.amount
        payment_id = derived_id("pay", practice.id, key)
        existing = self._table.get(keys.practice_pk(practice.id), keys.payment_sk(payment_id))
        if (action == "charge" or existing) and inv.status == "draft":
            inv = self._invoices.store.save(
                practice.id, inv, inv.model_copy(update={"status": next_status("draft", "send")})
            )
        if action == "charge" or existing:
            self._table.put(
                {
                    "PK": keys.practice_pk(practice.id),
                    "SK": keys.invoice_payment_sk(payment_id),
                    "type": "invoice_payment",
                    "invoice_id": inv.id,
                    "payment_id": payment_id,
                }
            )
            self.checkpoint("pointer")
            try:
                kind = self._kind_of(inv)
                payment = self._payments.charge_saved_card(
                    practice.id,
                    client_id=inv.client_id,
                    request_key=key,
                    amount=due,
                    kind=kind,
                    memo="Session billing",
                    created_by=RUN_BY,
                    owner_id=inv.owner_id if inv.owner_id != inv.client_id else None,
                )
            except _NOT_CHARGEABLE as exc:
                return self._send_invoice(practice, inv, why=exc.message)
            self.checkpoint("charged")
            if payment.status == "succeeded":
                self._invoices.apply_payment(practice.id, inv.id, payment.id, payment.amount, "card")
                return "charged", payment.amount.amount, payment.id, None
            if payment.status in ("pending", "requires_action"):
                return "pending", 0, payment.id, None
            why = payment.decline_code or payment.error_code or payment.status
            outcome, _, _, problem = self._send_invoice(practice, inv, why=f"the card was declined ({why})")
            return outcome, 0, payment.id, problem
        return self._send_invoice(practice, inv, why=None)

    @staticmethod
    def _kind_of(inv: Invoice) -> ChargeKind:
        prefixes = {line.source_key.split(":", 1)[0] for line in inv.lines}
        kinds: dict[str, ChargeKind] = {"session": "session_fee", "copay": "copay", "fee": "cancellation_fee"}
        if len(prefixes) == 1 and next(iter(prefixes)) in kinds:
            return kinds[next(iter(prefixes))]
        return "balance"

    def _send_invoice(
        self, practice: Practice, inv: Invoice, *, why: str | None
    ) -> tuple[ItemOutcome, int, str | None, str | None]:
        try:
            self._invoices.send(practice.id, inv.id)
        except ConflictError as exc:
            current = self._invoices.get(practice.id, inv.id)
            if current.status in ("open", "overdue", "paid"):
                return "sent", 0, None, why
            return "failed", 0, None, exc.message if why is None else f"{why}; {exc.message}"
        return "sent", 0, None, why

    # -- the report ---------------------------------------------------------------------------------
    def finalize(self, practice_id: str, run_date: date) -> NightRun:
        pk, sk = keys.practice_pk(practice_id), keys.nightly_run_sk(run_date.isoformat())
        run = self.find_run(practice_id, run_date)
        assert run is not None
        if run.status == "running":
            if run.finished < run.planned:
                return run
            with contextlib.suppress(ConditionFailed):
                self._table.update(
                    pk,
                    sk,
                    update="SET #s = :reporting",
                    condition="#s = :running",
                    names={"#s": "status"},
                    values={":reporting": "reporting", ":running": "running"},
                )
            run = self.find_run(practice_id, run_date)
            assert run is not None
        if run.status != "reporting":
            return run
        self.checkpoint("reporting")
        raw = self._table.get(pk, sk) or {}
        report = build_report(
            self.items(practice_id, run_date),
            held=list(raw.get("held") or []),
            incomplete=int(raw.get("incomplete", 0)),
            skipped=int(raw.get("skipped", 0)),
        )
        practice = self._practices.get(practice_id)
        self._table.update(
            pk,
            sk,
            update="SET report = :r",
            condition="#s = :reporting",
            names={"#s": "status"},
            values={":r": report.model_dump_json(), ":reporting": "reporting"},
        )
        self.checkpoint("report-stored")
        try:
            self._outbox.send_once(
                practice_id, f"nightly-report:{run.id}", emails.run_report(practice, run.id, run_date, report)
            )
        except Exception as exc:  # the report stands; a re-run sends the email (once)
            logger.warning("run report email not sent", run_id=run.id, error=type(exc).__name__)
            raise
        self.checkpoint("report-emailed")
        with contextlib.suppress(ConditionFailed):
            self._table.update(
                pk,
                sk,
                update="SET #s = :done, finished_at = :at REMOVE GSI1PK, GSI1SK",
                condition="#s = :reporting",
                names={"#s": "status"},
                values={":done": "done", ":reporting": "reporting", ":at": iso(self._clock())},
            )
        logger.info(
            "nightly run done", run_id=run.id, **report.model_dump(include={"items_billed", "amount_billed"})
        )
        done = self.find_run(practice_id, run_date)
        assert done is not None
        return done

    # -- the evening summary ---------------------------------------------------------------------
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
