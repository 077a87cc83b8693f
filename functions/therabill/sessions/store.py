"""Session items: the one place that knows them.

* the session, under its client (``SESSION#<cli>#<ses>``), in a practice's by-time index
  (GSI1: ``SESSIONS#<prc>`` / ``<scheduled start, UTC ISO>#<ses>``);
* its immutable id → client pointer (``SESSIONID#<ses>``), written with it;
* the nightly run's to-do row of a completed or no-show session (``TOBILL#<start>#<ses>``);
* the nightly run's record on the session item (the ``nightly_*`` attributes).

A session is booked in one transaction (the session and its pointer, plus any writes that join
it); every later transition is ONE UpdateItem conditioned on the status and version read. A failed
condition is answered with the item as it is now (``SessionChangedError``), so the service decides
again on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from therabill import contract
from therabill.adapters.dynamo import ConditionFailed, Table, put_new_write
from therabill.core import keys
from therabill.core.clock import iso, parse_iso
from therabill.core.errors import ConflictError
from therabill.core.ids import is_id
from therabill.core.writes import Write
from therabill.sessions.errors import SessionNotBookedError, SessionNotFoundError
from therabill.sessions.models import Billable, BillingMark, Change, Session, ToBill

_CLAIM = "SET nightly_status = :started, nightly_run = :run, nightly_action = :a"
_DONE = (
    "SET nightly_status = :done, nightly_outcome = :o, nightly_billed = :b, "
    "nightly_charged = :c, nightly_invoices = :inv, nightly_payments = :pay, "
    "nightly_problem = :p, nightly_at = :at"
)


class SessionChangedError(ConflictError):
    """A conditional write found the session moved on since it was read; ``current`` is the
    session as it is now (the service decides again on it)."""

    def __init__(self, current: Session) -> None:
        super().__init__(
            "the session was changed by someone else; reload and retry",
            current_status=current.status,
            session_id=current.id,
            version=current.version,
        )
        self.current = current


# -- items <-> models --------------------------------------------------------------------------
def _value(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def _gsi_sk(start: datetime, session_id: str) -> str:
    return f"{iso(start)}#{session_id}"


def to_item(practice_id: str, s: Session) -> dict[str, Any]:
    data = {k: _value(getattr(s, k)) for k in Session.model_fields}
    return {
        "PK": keys.practice_pk(practice_id),
        "SK": keys.session_sk(s.client_id, s.id),
        "GSI1PK": keys.sessions_by_time_gsi(practice_id),
        "GSI1SK": _gsi_sk(s.scheduled_start, s.id),
        "type": "session",
        **data,
    }


def from_item(item: dict[str, Any]) -> Session:
    """The one reader of a session item (its keys and the nightly record are not the session's)."""
    return Session.model_validate({k: item[k] for k in Session.model_fields if k in item})


def mark_from_item(item: dict[str, Any]) -> BillingMark | None:
    status = item.get("nightly_status")
    if status is None:
        return None
    billed, charged, at = item.get("nightly_billed"), item.get("nightly_charged"), item.get("nightly_at")
    return BillingMark(
        status=status,
        run_id=item.get("nightly_run"),
        action=item.get("nightly_action"),
        outcome=item.get("nightly_outcome"),
        billed=None if billed is None else int(billed),
        charged=None if charged is None else int(charged),
        invoice_ids=tuple(item.get("nightly_invoices") or ()),
        payment_ids=tuple(item.get("nightly_payments") or ()),
        problem=item.get("nightly_problem") or None,
        at=parse_iso(at) if at else None,
    )


def billable_from_item(item: dict[str, Any]) -> Billable:
    return Billable(session=from_item(item), mark=mark_from_item(item))


class SessionStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    # -- the session and its pointer --------------------------------------------------------------
    def create(self, practice_id: str, session: Session, extra: Sequence[Write] = ()) -> None:
        """The session and its pointer (both new), with ``extra`` in the same transaction. A key
        already taken → SessionNotBookedError (``index``: which write)."""
        pointer = {
            "PK": keys.practice_pk(practice_id),
            "SK": keys.session_pointer_sk(session.id),
            "type": "session_pointer",
            "client_id": session.client_id,
        }
        writes = [put_new_write(to_item(practice_id, session)), put_new_write(pointer), *extra]
        try:
            self._table.transact(writes)
        except ConditionFailed as exc:
            raise SessionNotBookedError(session.id, exc.index) from exc

    def client_of(self, practice_id: str, session_id: str) -> str | None:
        """The session's client, from its pointer (None: no such session)."""
        if not is_id(session_id, "ses"):
            return None
        pointer = self._table.get(keys.practice_pk(practice_id), keys.session_pointer_sk(session_id))
        return str(pointer["client_id"]) if pointer else None

    def get(self, practice_id: str, session_id: str) -> Session:
        client_id = self.client_of(practice_id, session_id)
        item = None
        if client_id is not None:
            item = self._table.get(keys.practice_pk(practice_id), keys.session_sk(client_id, session_id))
        if not item:
            raise SessionNotFoundError(session_id)
        return from_item(item)

    def find(self, practice_id: str, session_id: str) -> Session | None:
        try:
            return self.get(practice_id, session_id)
        except SessionNotFoundError:
            return None

    def of_client(self, practice_id: str, client_id: str) -> list[Session]:
        items = self._table.query_all(keys.practice_pk(practice_id), prefix=keys.session_prefix(client_id))
        return sorted((from_item(i) for i in items), key=lambda s: (s.scheduled_start, s.id))

    def starting_between(self, practice_id: str, lo: datetime, hi: datetime) -> list[Session]:
        return [b.session for b in self.billables_starting_between(practice_id, lo, hi)]

    def billables_starting_between(self, practice_id: str, lo: datetime, hi: datetime) -> list[Billable]:
        """The sessions scheduled to start in [lo, hi), with the nightly record of each: one Query
        of the by-time index per UTC date the span touches, then the exact bounds."""
        found: list[Billable] = []
        utc_day, last = lo.date(), (hi - timedelta(microseconds=1)).date()
        while utc_day <= last:
            items = self._table.query_all(
                keys.sessions_by_time_gsi(practice_id), prefix=utc_day.isoformat(), index=contract.GSI1_NAME
            )
            found.extend(billable_from_item(i) for i in items)
            utc_day += timedelta(days=1)
        return [b for b in found if lo <= b.session.scheduled_start < hi]

    def of_practice(self, practice_id: str) -> list[Session]:
        """Every session of the practice: one Query of its partition (``SESSION#``), for the
        clinicians' migration (never on a request's path)."""
        items = self._table.query_all(keys.practice_pk(practice_id), prefix=keys.SESSION_PREFIX)
        return [from_item(i) for i in items]

    def set_clinician(self, practice_id: str, session: Session, clinician_id: str) -> bool:
        """Name another clinician (the migration of a free-string clinician to a staff id): one
        UpdateItem conditioned on the clinician read, the version left alone (no transition reads
        or writes the clinician). False when the session names another one by now."""
        try:
            self._table.update(
                keys.practice_pk(practice_id),
                keys.session_sk(session.client_id, session.id),
                update="SET clinician_id = :new",
                condition="clinician_id = :old",
                values={":new": clinician_id, ":old": session.clinician_id},
            )
        except ConditionFailed:
            return False
        return True

    def apply(self, practice_id: str, session: Session, change: Change, now: datetime) -> Session:
        """One UpdateItem conditioned on the status and version read. Moved on meanwhile →
        SessionChangedError with the session as it is now; gone → SessionNotFoundError."""
        fields = {**change.fields, "status": change.status, "updated_at": now}
        names = {"#version": "version", "#status": "status"}
        values: dict[str, Any] = {":one": 1, ":expected": change.expected, ":version": session.version}
        sets = []
        for i, (name, value) in enumerate(fields.items()):
            names[f"#f{i}"] = name
            values[f":f{i}"] = _value(value)
            sets.append(f"#f{i} = :f{i}")
        if "scheduled_start" in fields:
            names["#gsk"] = contract.GSI1_SORT_KEY
            values[":gsk"] = _gsi_sk(fields["scheduled_start"], session.id)
            sets.append("#gsk = :gsk")
        try:
            item = self._table.update(
                keys.practice_pk(practice_id),
                keys.session_sk(session.client_id, session.id),
                update="SET " + ", ".join(sets) + " ADD #version :one",
                condition="#status = :expected AND #version = :version",
                names=names,
                values=values,
            )
        except ConditionFailed as exc:
            if exc.current is None:
                raise SessionNotFoundError(session.id) from exc
            raise SessionChangedError(from_item(exc.current)) from exc
        return from_item(item)

    def annotate(
        self,
        practice_id: str,
        session: Session,
        name: str,
        value: BaseModel,
        *,
        only_if_absent: bool = False,
        only_if_status: tuple[str, ...] = (),
    ) -> Session:
        """Set one record (``copay`` / ``fee`` / ``booking_payment``); status and version stay.
        ``only_if_absent``: a record already there stands; ``only_if_status``: only while the
        record's status is one of these. Otherwise the session as it is is returned."""
        condition = "attribute_exists(PK)" + (" AND attribute_not_exists(#n)" if only_if_absent else "")
        names = {"#n": name}
        values: dict[str, Any] = {":v": _value(value)}
        if only_if_status:
            names["#st"] = "status"
            placeholders = [f":st{i}" for i in range(len(only_if_status))]
            values.update(zip(placeholders, only_if_status, strict=True))
            condition += f" AND #n.#st IN ({', '.join(placeholders)})"
        try:
            item = self._table.update(
                keys.practice_pk(practice_id),
                keys.session_sk(session.client_id, session.id),
                update="SET #n = :v",
                condition=condition,
                names=names,
                values=values,
            )
        except ConditionFailed as exc:
            if exc.current is None:
                raise SessionNotFoundError(session.id) from exc
            return from_item(exc.current)
        return from_item(item)

    # -- the nightly run's to-do rows -------------------------------------------------------------
    def mark_to_bill(self, practice_id: str, session: Session) -> None:
        """The to-do row of a completed or no-show session (written again: harmless)."""
        self._table.put(
            {
                "PK": keys.practice_pk(practice_id),
                "SK": keys.to_bill_sk(iso(session.scheduled_start), session.id),
                "type": "to_bill",
                "session_id": session.id,
                "client_id": session.client_id,
                "scheduled_start": iso(session.scheduled_start),
            }
        )

    def to_bill(self, practice_id: str) -> list[ToBill]:
        rows = self._table.query_all(keys.practice_pk(practice_id), prefix=keys.TO_BILL_PREFIX)
        return [
            ToBill(
                session_id=r["session_id"],
                client_id=r["client_id"],
                scheduled_start=parse_iso(r["scheduled_start"]),
            )
            for r in rows
        ]

    def forget_to_bill(self, practice_id: str, todo: ToBill) -> None:
        self._table.delete(
            keys.practice_pk(practice_id), keys.to_bill_sk(iso(todo.scheduled_start), todo.session_id)
        )

    def to_bill_done_write(self, practice_id: str, session_id: str, scheduled_start: datetime) -> Write:
        """The delete of the session's to-do row, for the transaction that finishes it."""
        return Write(
            kind="delete",
            key=Table.key(keys.practice_pk(practice_id), keys.to_bill_sk(iso(scheduled_start), session_id)),
        )

    # -- the nightly run's record on the session --------------------------------------------------
    def billable(
        self, practice_id: str, client_id: str, session_id: str, *, fresh: bool = False
    ) -> Billable | None:
        item = self._table.get(
            keys.practice_pk(practice_id), keys.session_sk(client_id, session_id), fresh=fresh
        )
        return billable_from_item(item) if item else None

    def billables(self, practice_id: str, wanted: Sequence[tuple[str, str]]) -> list[Billable]:
        """Several sessions by (client id, session id) in one round (BatchGetItem); gone ones absent."""
        pk = keys.practice_pk(practice_id)
        found = self._table.get_many([(pk, keys.session_sk(c, s)) for c, s in dict.fromkeys(wanted)])
        return [billable_from_item(item) for item in found.values()]

    def claim_billing(
        self, practice_id: str, client_id: str, session_id: str, *, run_id: str, action: str
    ) -> Billable | None:
        """Mark the session ``started`` by this run, unless a run has marked it already: then the
        session as it is now (None: it is gone)."""
        try:
            item = self._table.update(
                keys.practice_pk(practice_id),
                keys.session_sk(client_id, session_id),
                update=_CLAIM,
                condition="attribute_exists(PK) AND attribute_not_exists(nightly_status)",
                values={":started": "started", ":run": run_id, ":a": action},
            )
        except ConditionFailed as exc:
            return billable_from_item(exc.current) if exc.current else None
        return billable_from_item(item)

    def billing_done_write(
        self,
        practice_id: str,
        client_id: str,
        session_id: str,
        *,
        outcome: str,
        billed: int,
        charged: int,
        invoice_ids: Sequence[str],
        payment_ids: Sequence[str],
        problem: str | None,
        at: datetime,
    ) -> Write:
        """The session's record ``started → done`` with what came of it, for the transaction that
        finishes the run's item (conditioned on ``started``)."""
        return Write(
            kind="update",
            key=Table.key(keys.practice_pk(practice_id), keys.session_sk(client_id, session_id)),
            update=_DONE,
            condition="nightly_status = :started",
            values={
                ":done": "done",
                ":started": "started",
                ":o": outcome,
                ":b": billed,
                ":c": charged,
                ":inv": list(invoice_ids),
                ":pay": list(payment_ids),
                ":p": problem or "",
                ":at": iso(at),
            },
        )

    def finish_billing(self, practice_id: str, record: Write, to_do: Write) -> bool:
        """A session billed outside a run (at completion): its record ``started → done`` and the
        removal of its to-do in one transaction. False: another biller recorded it first."""
        try:
            self._table.transact([record, to_do])
        except ConditionFailed:
            return False
        return True
