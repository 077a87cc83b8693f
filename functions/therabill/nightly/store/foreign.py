"""Every read and write the nightly run still makes of another capability's items, in one place.

Each method is shaped after the public API that replaces it (named in its comment), so the
switch is mechanical: sessions' billing mark and to-do items, the client's insurance payer, the
invoice's payment pointer. Nothing else in the nightly run touches those items or their keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from therabill import contract
from therabill.adapters.dynamo import ConditionFailed, Table
from therabill.core import keys
from therabill.core.clock import iso, parse_iso
from therabill.core.writes import Write
from therabill.sessions.models import Session


@dataclass(frozen=True)
class BillingMark:
    """A session's nightly billing record (replaced by ``sessions.models.BillingMark``)."""

    status: str  # started | done
    run_id: str | None
    action: str | None
    outcome: str | None
    billed: int
    charged: int
    invoice_ids: tuple[str, ...]
    payment_ids: tuple[str, ...]
    problem: str | None
    at: datetime | None


@dataclass(frozen=True)
class Billable:
    """A session and its billing mark (replaced by ``sessions.models.Billable``)."""

    session: Session
    mark: BillingMark | None


@dataclass(frozen=True)
class ToBill:
    """A session no run has finished yet (replaced by ``sessions.models.ToBill``)."""

    session_id: str
    client_id: str
    scheduled_start: datetime


def _session_from(item: dict[str, Any]) -> Session:
    return Session.model_validate({k: item[k] for k in Session.model_fields if k in item})


def _billable_from(item: dict[str, Any]) -> Billable:
    status = item.get("nightly_status")
    mark = (
        BillingMark(
            status=str(status),
            run_id=item.get("nightly_run"),
            action=item.get("nightly_action"),
            outcome=item.get("nightly_outcome"),
            billed=int(item.get("nightly_billed", 0)),
            charged=int(item.get("nightly_charged", 0)),
            invoice_ids=tuple(item.get("nightly_invoices") or ()),
            payment_ids=tuple(item.get("nightly_payments") or ()),
            problem=item.get("nightly_problem") or None,
            at=parse_iso(item["nightly_at"]) if item.get("nightly_at") else None,
        )
        if status
        else None
    )
    return Billable(session=_session_from(item), mark=mark)


class ForeignItems:
    def __init__(self, *, table: Table) -> None:
        self._table = table

    # -- sessions -----------------------------------------------------------------------------------
    def billables_starting_between(self, practice_id: str, lo: datetime, hi: datetime) -> list[Billable]:
        """Sessions scheduled in ``[lo, hi)``: one Query per UTC date (the day index).
        Replaced by ``SessionService.billables_starting_between``."""
        found: list[dict[str, Any]] = []
        day, last = lo.astimezone(UTC).date(), (hi.astimezone(UTC) - timedelta(microseconds=1)).date()
        while day <= last:
            found.extend(
                self._table.query_all(
                    keys.sessions_by_time_gsi(practice_id), prefix=day.isoformat(), index=contract.GSI1_NAME
                )
            )
            day += timedelta(days=1)
        return [_billable_from(i) for i in found if lo <= parse_iso(i["scheduled_start"]) < hi]

    def to_bill(self, practice_id: str) -> list[ToBill]:
        """The to-do items. Replaced by ``SessionService.to_bill``."""
        return [
            ToBill(
                session_id=t["session_id"],
                client_id=t["client_id"],
                scheduled_start=parse_iso(t["scheduled_start"]),
            )
            for t in self._table.query_all(keys.practice_pk(practice_id), prefix=keys.TO_BILL_PREFIX)
        ]

    def forget_to_bill(self, practice_id: str, todo: ToBill) -> None:
        """Replaced by ``SessionService.forget_to_bill``."""
        self._table.delete(
            keys.practice_pk(practice_id), keys.to_bill_sk(iso(todo.scheduled_start), todo.session_id)
        )

    def to_bill_done_write(self, practice_id: str, session_id: str, scheduled_start: datetime) -> Write:
        """The removal of a session's to-do item. Replaced by ``SessionStore.to_bill_done_write``."""
        return Write(
            kind="delete",
            key=Table.key(keys.practice_pk(practice_id), keys.to_bill_sk(iso(scheduled_start), session_id)),
        )

    def billable(
        self, practice_id: str, client_id: str, session_id: str, *, fresh: bool = False
    ) -> Billable | None:
        """Replaced by ``SessionService.billable``."""
        item = self._table.get(
            keys.practice_pk(practice_id), keys.session_sk(client_id, session_id), fresh=fresh
        )
        return _billable_from(item) if item else None

    def claim_billing(
        self, practice_id: str, client_id: str, session_id: str, *, run_id: str, action: str
    ) -> Billable | None:
        """Mark the session started by ``run_id`` unless a mark exists; the session as it is then
        (None: no such session). Replaced by ``SessionService.claim_billing``."""
        try:
            item = self._table.update(
                keys.practice_pk(practice_id),
                keys.session_sk(client_id, session_id),
                update="SET nightly_status = :started, nightly_run = :run, nightly_action = :a",
                condition="attribute_exists(PK) AND attribute_not_exists(nightly_status)",
                values={":started": "started", ":run": run_id, ":a": action},
            )
        except ConditionFailed as exc:
            if exc.current is None:
                return None
            item = exc.current
        return _billable_from(item)

    def billing_done_write(
        self,
        practice_id: str,
        client_id: str,
        session_id: str,
        *,
        outcome: str,
        billed: int,
        charged: int,
        invoice_ids: list[str],
        payment_ids: list[str],
        problem: str | None,
        at: datetime,
    ) -> Write:
        """The session's billing record, started → done. Replaced by ``SessionStore.billing_done_write``."""
        return Write(
            kind="update",
            key=Table.key(keys.practice_pk(practice_id), keys.session_sk(client_id, session_id)),
            update=(
                "SET nightly_status = :done, nightly_outcome = :o, nightly_billed = :b, "
                "nightly_charged = :c, nightly_invoices = :inv, nightly_payments = :pay, "
                "nightly_problem = :p, nightly_at = :at"
            ),
            condition="nightly_status = :started",
            values={
                ":done": "done",
                ":started": "started",
                ":o": outcome,
                ":b": billed,
                ":c": charged,
                ":inv": invoice_ids,
                ":pay": payment_ids,
                ":p": problem or "",
                ":at": iso(at),
            },
        )

    # -- clients ------------------------------------------------------------------------------------
    def insurance_payer(self, practice_id: str, client_id: str) -> str | None:
        """The client's insurance payer. Replaced by ``Client.insurance_payer``."""
        item = self._table.get(keys.practice_pk(practice_id), keys.client_sk(client_id))
        payer = (item or {}).get("payer")
        return str(payer) if payer else None

    # -- invoices -----------------------------------------------------------------------------------
    def point_payment(self, practice_id: str, payment_id: str, invoice_id: str) -> None:
        """The payment's pointer to the invoice it pays (a late success still pays it). Replaced by
        ``InvoiceService.point_payment``."""
        self._table.put(
            {
                "PK": keys.practice_pk(practice_id),
                "SK": keys.invoice_payment_sk(payment_id),
                "type": "invoice_payment",
                "invoice_id": invoice_id,
                "payment_id": payment_id,
            }
        )
