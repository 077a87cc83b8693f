"""The scheduled sweep: open invoices past their due date (in the practice's zone) become
Overdue; overdue invoices whose next reminder is due get it, each reminder at most once (outbox
``invoice-reminder:<inv>:<n>``), at fixed offsets after the invoice became overdue."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from therabill.core.clock import Clock, local_date
from therabill.invoices.delivery import InvoiceDelivery
from therabill.invoices.models import InvoiceRef, next_status
from therabill.invoices.store import InvoiceStore
from therabill.observability import logger
from therabill.practices.service import PracticeService

# Reminders of an overdue invoice: at these offsets after it became overdue, each at most once.
REMINDER_OFFSETS = (timedelta(0), timedelta(days=7), timedelta(days=14), timedelta(days=30))


class InvoiceSweep:
    def __init__(
        self, *, store: InvoiceStore, clock: Clock, practices: PracticeService, delivery: InvoiceDelivery
    ) -> None:
        self._store = store
        self._clock = clock
        self._practices = practices
        self._delivery = delivery

    def sweep(self, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
        """Each invoice is isolated: one that fails is counted and logged, the rest go on."""
        now = now or self._clock()
        counts = {"overdue": 0, "reminded": 0, "errors": 0}
        for ref in self._store.open_due_before((now + timedelta(days=1)).date(), limit):
            _isolated(counts, "overdue", ref, lambda r: self._make_overdue(r, now))
        for ref in self._store.reminders_due(now, limit):
            _isolated(counts, "reminded", ref, lambda r: self._remind(r, now))
        return counts

    def _make_overdue(self, ref: InvoiceRef, now: datetime) -> bool:
        practice = self._practices.get(ref.practice_id)
        inv = self._store.get(practice.id, ref.invoice_id)
        if inv.status != "open" or local_date(now, practice.time_zone) <= inv.due_date:
            return False
        self._store.save(
            practice.id,
            inv,
            inv.model_copy(update={"status": next_status("open", "overdue"), "next_reminder_at": now}),
        )
        return True

    def _remind(self, ref: InvoiceRef, now: datetime) -> bool:
        practice = self._practices.get(ref.practice_id)
        inv = self._store.get(practice.id, ref.invoice_id)
        if inv.status != "overdue" or inv.next_reminder_at is None or inv.next_reminder_at > now:
            return False
        n = inv.reminders_sent + 1
        self._delivery.send_reminder(practice, inv, number=n)
        overdue_since = inv.next_reminder_at - REMINDER_OFFSETS[min(n, len(REMINDER_OFFSETS)) - 1]
        following = overdue_since + REMINDER_OFFSETS[n] if n < len(REMINDER_OFFSETS) else None
        self._store.save(
            practice.id, inv, inv.model_copy(update={"reminders_sent": n, "next_reminder_at": following})
        )
        return True


def _isolated(counts: dict[str, int], what: str, ref: InvoiceRef, work: Callable[[InvoiceRef], bool]) -> None:
    try:
        if work(ref):
            counts[what] += 1
    except Exception as exc:  # one bad invoice must not stop the others
        logger.error("invoice sweep failed", invoice_id=ref.invoice_id, error=type(exc).__name__)
        counts["errors"] += 1
