"""The nightly run: read the facts (I/O), decide with ``nightly.models`` (pure), act exactly once.

``NightlyService`` is the one face the staff API, the entry points and the worker use; each
concern lives in its own module:

* ``dry_run`` (with ``facts``): tonight's listing and the evening summary;
* ``runs``: a firing starts the run once per practice and local date, or resumes it;
* ``planning``: the run's items, then the batches of ``items`` messages;
* ``items`` (with ``billing``): billing one item exactly once;
* ``completion``: billing one session at completion, through the same exactly-once path;
* ``reports``: the report once every item is done;
* ``holds``: staff holds before the cutoff, and the listings of runs.

The run's own items are ``store.NightlyStore``'s; other capabilities are reached only through
their public APIs (sessions' billing record and to-do rows through ``SessionService.store``, the
client's coverage through ``CoverageService``, the invoice's payment pointer through ``InvoiceService``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from therabill.authorizations.service import AuthorizationService
from therabill.cards.service import CardService
from therabill.clients.service import ClientService
from therabill.core.clock import Clock
from therabill.coverage.service import CoverageService
from therabill.invoices.service import InvoiceService
from therabill.ledger.service import LedgerService
from therabill.nightly.billing import InvoiceCharger
from therabill.nightly.completion import CompletionBilling
from therabill.nightly.consolidation import Consolidation
from therabill.nightly.dry_run import DryRun
from therabill.nightly.errors import AutoBillingOnError, NotReadyError
from therabill.nightly.facts import ChargeCheck, ClientLookup, FactReader
from therabill.nightly.holds import HoldsAndRuns
from therabill.nightly.items import ItemBilling, ItemProcessor
from therabill.nightly.listing import Listing
from therabill.nightly.models import ItemFacts, NightRun, RunItem
from therabill.nightly.planning import Planner
from therabill.nightly.ports import ClaimSubmitter, Hooks, Messages, NightlyQueue, RunOnce
from therabill.nightly.reports import Reporter
from therabill.nightly.runs import RunStarter
from therabill.nightly.store import NightlyStore
from therabill.notifications.mailer import Outbox
from therabill.payments.service import PaymentService
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService
from therabill.providers.service import ProviderService
from therabill.sessions.service import SessionService

__all__ = ["NightlyQueue", "NightlyService", "build_nightly"]


class NightlyService:
    """A facade: one method per thing the callers do, each handed to the concern that does it."""

    def __init__(  # eight parts: the facade's whole job is to stand in front of each concern
        self,
        *,
        dry_run: DryRun,
        holds: HoldsAndRuns,
        starter: RunStarter,
        planner: Planner,
        items: ItemProcessor,
        completion: CompletionBilling,
        reports: Reporter,
        hooks: Hooks,
    ) -> None:
        self._dry_run = dry_run
        self._completion = completion
        self._holds = holds
        self._starter = starter
        self._planner = planner
        self._items = items
        self._reports = reports
        self._hooks = hooks

    # -- what tests and the insurance capability set ------------------------------------------------
    @property
    def claims(self) -> ClaimSubmitter | None:
        """The insurance capability's claims port (None: insured items wait)."""
        return self._hooks.claims

    @claims.setter
    def claims(self, port: ClaimSubmitter | None) -> None:
        self._hooks.claims = port

    @property
    def checkpoint(self) -> Callable[[str], None]:
        """Called with the name of each step boundary (crash injection in tests)."""
        return self._hooks.checkpoint

    @checkpoint.setter
    def checkpoint(self, hook: Callable[[str], None]) -> None:
        self._hooks.checkpoint = hook

    @property
    def queue(self) -> NightlyQueue | None:
        return self._starter.queue

    def use_queue(self, queue: NightlyQueue | None) -> None:
        """Connect the fan-out queue (None: this process cannot reach it, like the staff API)."""
        self._starter.use_queue(queue)

    def use_run_once(self, run_once: RunOnce | None) -> None:
        """Connect the one-time firing (the schedules adapter) the staff API's "run now" uses."""
        self._starter.use_run_once(run_once)

    # -- the facts and the dry run ----------------------------------------------------------------
    def now(self) -> datetime:
        return self._dry_run.now()

    def tonight(self, practice_id: str, at: datetime | None = None) -> date:
        return self._dry_run.tonight(practice_id, at)

    def facts(self, practice: Practice, run_date: date) -> list[ItemFacts]:
        return self._dry_run.facts(practice, run_date)

    def listing(self, practice_id: str, at: datetime | None = None) -> Listing:
        return self._dry_run.listing(practice_id, at)

    def summary(self, practice_id: str, *, at: datetime | None = None, email: bool = False) -> Listing:
        return self._dry_run.summary(practice_id, at=at, email=email)

    # -- holds and listings -----------------------------------------------------------------------
    def hold(self, practice_id: str, session_id: str, by: str) -> date:
        return self._holds.hold(practice_id, session_id, by)

    def release(self, practice_id: str, session_id: str) -> date:
        return self._holds.release(practice_id, session_id)

    def find_run(self, practice_id: str, run_date: date) -> NightRun | None:
        return self._holds.find_run(practice_id, run_date)

    def get_run(self, practice_id: str, run_date: date) -> tuple[NightRun, list[RunItem]]:
        return self._holds.get_run(practice_id, run_date)

    def items(self, practice_id: str, run_date: date) -> list[RunItem]:
        return self._holds.items(practice_id, run_date)

    def list_runs(
        self, practice_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[NightRun], str | None]:
        return self._holds.list_runs(practice_id, limit=limit, cursor=cursor)

    # -- starting, planning, billing, reporting ---------------------------------------------------
    def fire(
        self, practice_id: str, *, at: datetime | None = None, trigger: str = "schedule"
    ) -> NightRun | None:
        return self._starter.fire(practice_id, at=at, trigger=trigger)

    def resume(self, practice_id: str, run_date: date) -> NightRun | None:
        return self._starter.resume(practice_id, run_date)

    def run_now(self, practice_id: str, *, trigger: str) -> NightRun | None:
        if not self._dry_run.practice(practice_id).auto_billing:  # every Ready item, as staff
            return self.bill_now(practice_id, session_ids=None, trigger=trigger)
        return self._starter.run_now(practice_id, trigger=trigger)

    def bill_now(self, practice_id: str, *, session_ids: list[str] | None, trigger: str) -> NightRun:
        """Staff bill a selection of tonight's Ready items (None: all of them) now, as a run of
        their own (auto-billing off); once that run is done, another selection makes it bill those
        too. A session not Ready tonight is refused (400, nothing written), unless the date's run
        has chosen it already (it answers that run). With auto-billing on, only the items waiting
        for staff (served before it was turned on, not backfilled; None: all of them) may be
        chosen: the run starts now with them (409 otherwise, before any 400)."""
        listing = self._dry_run.listing(practice_id)
        selection = None if session_ids is None else tuple(sorted(set(session_ids)))
        run = listing.run
        billed = {i.session_id for i in self.items(practice_id, run.run_date)} if run else set()
        chosen = billed | set(run.selection or ()) if run else set()
        ready = listing.of("ready")
        ready_ids = tuple(sorted(f.session_id for f, _ in ready))
        if listing.practice.auto_billing:
            waiting = sorted(f.session_id for f, a in listing.waiting("staff"))
            selection = tuple(waiting) if selection is None else selection
            others = [s for s in selection if s not in waiting and s not in chosen]
            if not selection or others:
                raise AutoBillingOnError(
                    "auto-billing is on: the run bills Ready items at the cutoff", session_ids=others
                )
            ready_ids = tuple(waiting)
        not_ready = [s for s in selection or () if s not in ready_ids and s not in chosen]
        if not_ready:
            raise NotReadyError("not Ready tonight", field="session_ids", session_ids=not_ready)
        return self._starter.bill_now(
            listing.practice, selection=selection, ready=ready_ids, trigger=trigger, billed=billed
        )

    def sweep(self, *, older_than: timedelta = timedelta(minutes=10), limit: int = 100) -> dict[str, int]:
        return self._starter.sweep(older_than=older_than, limit=limit)

    def plan(self, practice_id: str, run_date: date) -> NightRun:
        return self._planner.plan(practice_id, run_date)

    def process(self, practice_id: str, run_date: date, items: list[tuple[str, str]]) -> NightRun | None:
        return self._items.process(practice_id, run_date, items)

    def bill_at_completion(self, practice_id: str, client_id: str, session_id: str) -> str:
        return self._completion.bill(practice_id, client_id, session_id)

    def finalize(self, practice_id: str, run_date: date) -> NightRun:
        return self._reports.finalize(practice_id, run_date)


def build_nightly(  # long: one line per part, the parts' wiring read top to bottom
    *,
    clock: Clock,
    store: NightlyStore,
    practices: PracticeService,
    clients: ClientService,
    coverage: CoverageService,
    authorizations: AuthorizationService,
    sessions: SessionService,
    providers: ProviderService,
    cards: CardService,
    ledger: LedgerService,
    payments: PaymentService,
    invoices: InvoiceService,
    outbox: Outbox,
    queue: NightlyQueue | None,
    run_once: RunOnce | None = None,
    claims: ClaimSubmitter | None = None,
) -> NightlyService:
    """The nightly run's parts, wired (the composition root passes the table's stores in)."""
    hooks = Hooks(claims=claims)
    messages = Messages(queue=queue)
    consents = ChargeCheck(cards=cards, clock=clock)
    reader = FactReader(
        clients=ClientLookup(clients=clients, coverage=coverage, authorizations=authorizations),
        sessions=sessions.store,
        providers=providers,
        store=store,
        charges=consents,
        hooks=hooks,
    )
    reports = Reporter(clock=clock, practices=practices, store=store, outbox=outbox, hooks=hooks)
    charger = InvoiceCharger(
        ledger=ledger, invoices=invoices, payments=payments, clients=clients, hooks=hooks, consents=consents
    )
    consolidation = Consolidation(clock=clock, sessions=sessions.store, charger=charger, hooks=hooks)
    billing = ItemBilling(
        clock=clock, sessions=sessions.store, charger=charger, consolidation=consolidation, hooks=hooks
    )
    completion = CompletionBilling(
        clock=clock,
        practices=practices,
        clients=clients,
        reader=reader,
        sessions=sessions.store,
        charger=charger,
    )
    return NightlyService(
        dry_run=DryRun(clock=clock, practices=practices, reader=reader, store=store, outbox=outbox),
        holds=HoldsAndRuns(clock=clock, practices=practices, sessions=sessions, store=store),
        starter=RunStarter(
            clock=clock, practices=practices, store=store, messages=messages, run_once=run_once
        ),
        planner=Planner(
            practices=practices, store=store, reader=reader, messages=messages, reports=reports, hooks=hooks
        ),
        items=ItemProcessor(
            practices=practices,
            store=store,
            sessions=sessions.store,
            billing=billing,
            reports=reports,
            hooks=hooks,
        ),
        completion=completion,
        reports=reports,
        hooks=hooks,
    )
