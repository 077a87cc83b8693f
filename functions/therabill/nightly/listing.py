"""Tonight's listing (the dry run's value): the items as the run will see them, and what tonight
does with each, in staff's words, by the same rule the planner uses (``models.disposition``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from therabill.nightly.models import (
    IN_RUN,
    NO_RUN_TONIGHT,
    Assessment,
    Disposition,
    ItemFacts,
    NightRun,
    disposition,
    will_happen,
)
from therabill.practices.models import Practice


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

    def disposition(self, f: ItemFacts, a: Assessment) -> Disposition | None:
        return disposition(f, a, run_date=self.run_date, auto_billing=self.practice.auto_billing)

    def will(self, f: ItemFacts, a: Assessment) -> str:
        """What tonight does with the item, in staff's words (``will_happen``); on a night the
        holiday calendar skips, what the run would bill waits for the next run."""
        if not self.decision_runs and self.disposition(f, a) in IN_RUN:
            return NO_RUN_TONIGHT
        return will_happen(f, a, run_date=self.run_date, auto_billing=self.practice.auto_billing)

    def tonight(self, action: str | None = None) -> list[tuple[ItemFacts, Assessment]]:
        """The Ready items tonight's run bills (with ``action``: only those it charges, sends...);
        none on a night the holiday calendar skips."""
        return [
            (f, a)
            for f, a in self.of("ready")
            if self.decision_runs
            and self.disposition(f, a) in IN_RUN
            and (action is None or a.action == action)
        ]

    def waiting(self, what: Disposition) -> list[tuple[ItemFacts, Assessment]]:
        """The Ready items tonight's run leaves: for staff (``staff``) or a billing date (``later``)."""
        return [(f, a) for f, a in self.of("ready") if self.disposition(f, a) == what]
