"""Sessions in the table: booked in one transaction (the session under its client, plus an
immutable id → client pointer); every later transition is ONE conditional UpdateItem on the
session's status and version. GSI1 orders a practice's sessions by scheduled start (UTC)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel

from therabill import contract
from therabill.adapters.dynamo import ConditionFailed, Table, put_new_write
from therabill.clients.service import ClientService
from therabill.clinical.icd10 import CodeError, normalise_codes
from therabill.clinical.supervision import SupervisionService
from therabill.core import keys
from therabill.core.clock import Clock, iso, require_aware, zone
from therabill.core.errors import ConflictError, InvalidRequestError, NotFoundError
from therabill.core.ids import is_id, new_id
from therabill.core.money import Money
from therabill.core.writes import Write
from therabill.practices.service import PracticeService
from therabill.services.catalog import ServiceCatalog
from therabill.services.models import ServiceType
from therabill.services.pricing import price_session
from therabill.sessions import models
from therabill.sessions.models import (
    DEFAULT_LATE_CANCELLATION_WINDOW_HOURS,
    BookingPaymentRecord,
    CancelledBy,
    Change,
    Outcome,
    Session,
)

_ATTEMPTS = 3
_NOT_STORED = frozenset({"PK", "SK", "GSI1PK", "GSI1SK", "type"})


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


def _item(practice_id: str, s: Session) -> dict[str, Any]:
    data = {k: _value(getattr(s, k)) for k in Session.model_fields}
    return {
        "PK": keys.practice_pk(practice_id),
        "SK": keys.session_sk(s.client_id, s.id),
        "GSI1PK": keys.sessions_by_time_gsi(practice_id),
        "GSI1SK": _gsi_sk(s.scheduled_start, s.id),
        "type": "session",
        **data,
    }


def _session(item: dict[str, Any]) -> Session:
    return Session.model_validate({k: v for k, v in item.items() if k not in _NOT_STORED})


def local_day_bounds(day: date, time_zone: str) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day, as UTC instants: 23 or 25 hours on DST nights."""
    tz = zone(time_zone)
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


class SessionService:
    def __init__(
        self,
        table: Table,
        clock: Clock,
        practices: PracticeService,
        clients: ClientService,
        catalog: ServiceCatalog,
    ) -> None:
        self._table = table
        self._clock = clock
        self._practices = practices
        self._clients = clients
        self._catalog = catalog
        self.supervision = SupervisionService(table, clock)

    # -- booking and reading --------------------------------------------------------------------
    def book(
        self,
        practice_id: str,
        *,
        client_id: str,
        service_id: str,
        clinician_id: str,
        start: datetime,
        end: datetime | None,
        by: str,
        session_id: str | None = None,
        booking_payment: BookingPaymentRecord | None = None,
        booking_rule: str | None = None,
        extra_writes: Callable[[Session], list[Write]] | None = None,
    ) -> Session:
        """``session_id``: derived from the request's Idempotency-Key; if that session exists
        already it is returned as it is (the caller compares). ``booking_payment``: the session is
        booked ``awaiting_payment`` (paying at booking); ``extra_writes`` join the transaction."""
        self._clients.get(practice_id, client_id)
        service = self._catalog.get(practice_id, service_id)
        if not service.active:
            raise InvalidRequestError("the service is not active", field="service_id")
        start = require_aware(start)
        end = start + timedelta(minutes=service.default_duration_minutes) if end is None else end
        start, end = models.check_times(start, end, "scheduled")
        now = self._clock()
        session = Session(
            id=session_id or new_id("ses"),
            client_id=client_id,
            service_id=service.id,
            clinician_id=clinician_id,
            scheduled_start=start,
            scheduled_end=end,
            status="awaiting_payment" if booking_payment is not None else "booked",
            created_at=now,
            created_by=by,
            updated_at=now,
            version=1,
            booking_payment=booking_payment,
            booking_rule=booking_rule,
        )
        pointer = {
            "PK": keys.practice_pk(practice_id),
            "SK": keys.session_pointer_sk(session.id),
            "type": "session_pointer",
            "client_id": client_id,
        }
        writes = [put_new_write(_item(practice_id, session)), put_new_write(pointer)]
        writes += extra_writes(session) if extra_writes else []
        try:
            self._table.transact(writes)
        except ConditionFailed:
            if session_id is None:
                raise
            existing = self.find(practice_id, session_id)  # a concurrent request with the same key
            if existing is None:
                raise
            return existing
        return session

    def find(self, practice_id: str, session_id: str) -> Session | None:
        try:
            return self.get(practice_id, session_id)
        except NotFoundError:
            return None

    def get(self, practice_id: str, session_id: str) -> Session:
        if not is_id(session_id, "ses"):
            raise NotFoundError("session not found")
        pk = keys.practice_pk(practice_id)
        pointer = self._table.get(pk, keys.session_pointer_sk(session_id))
        item = pointer and self._table.get(pk, keys.session_sk(pointer["client_id"], session_id))
        if not item:
            raise NotFoundError("session not found")
        return _session(item)

    def list_for_client(self, practice_id: str, client_id: str) -> list[Session]:
        self._clients.get(practice_id, client_id)
        items = self._table.query_all(keys.practice_pk(practice_id), prefix=keys.session_prefix(client_id))
        return sorted((_session(i) for i in items), key=lambda s: (s.scheduled_start, s.id))

    def list_day(self, practice_id: str, day: date) -> list[Session]:
        """The sessions scheduled to start on ``day`` in the practice's time zone: one Query per
        UTC date the local day touches (one or two; three at most), then the exact bounds."""
        practice = self._practices.get(practice_id)
        lo, hi = local_day_bounds(day, practice.time_zone)
        found: list[Session] = []
        utc_day, last = lo.date(), (hi - timedelta(microseconds=1)).date()
        while utc_day <= last:
            items = self._table.query_all(
                keys.sessions_by_time_gsi(practice_id), prefix=utc_day.isoformat(), index=contract.GSI1_NAME
            )
            found.extend(_session(i) for i in items)
            utc_day += timedelta(days=1)
        return [s for s in found if lo <= s.scheduled_start < hi]

    def now(self) -> datetime:
        return self._clock()

    def mark_to_bill(self, practice_id: str, session: Session) -> None:
        """Completed or no-show: the nightly run's to-do item (``TOBILL#<start>#<ses>``), until a
        run has finished the session. Written again by a repeated request: harmless."""
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

    def service_of(self, practice_id: str, session: Session) -> ServiceType:
        return self._catalog.get(practice_id, session.service_id)

    def scheduled_price(self, practice_id: str, session: Session) -> Money:
        """The session's price at its scheduled times (what a cancellation or no-show fee is measured
        against); zero when the client's rule says "not billed"."""
        service = self._catalog.get(practice_id, session.service_id)
        rule = self._catalog.get_rule(practice_id, session.client_id, session.service_id)
        price = price_session(
            service, rule, actual_start=session.scheduled_start, actual_end=session.scheduled_end
        )
        return Money.zero(price.amount.currency) if price.not_billed else price.amount

    # -- transitions ----------------------------------------------------------------------------
    def reschedule(self, practice_id: str, session_id: str, start: datetime, end: datetime) -> Session:
        start, end = models.check_times(start, end, "scheduled")
        return self._transition(practice_id, session_id, lambda s: models.reschedule(s, start, end))

    def check_in(self, practice_id: str, session_id: str, copay: Money | None = None) -> Session:
        return self._transition(practice_id, session_id, lambda s: models.check_in(s, self._clock(), copay))

    def complete(self, practice_id: str, session_id: str, start: datetime, end: datetime) -> Session:
        start, end = models.check_times(start, end, "actual")

        def decide(s: Session) -> Outcome:
            def price() -> Any:
                service = self._catalog.get(practice_id, s.service_id)
                rule = self._catalog.get_rule(practice_id, s.client_id, s.service_id)
                return price_session(service, rule, actual_start=start, actual_end=end)

            return models.complete(s, start, end, self._clock(), price)

        return self._transition(practice_id, session_id, decide)

    def confirm_booking(self, practice_id: str, session_id: str) -> Session:
        """``awaiting_payment → booked`` (one conditional write; a repeat is harmless)."""
        return self._transition(practice_id, session_id, models.confirm_booking)

    def release(self, practice_id: str, session_id: str, *, recorded_by: str, reason: str) -> Session:
        """``awaiting_payment → released``: the slot is free again, no fee."""
        return self._transition(
            practice_id, session_id, lambda s: models.release(s, self._clock(), recorded_by, reason)
        )

    def no_show(self, practice_id: str, session_id: str) -> Session:
        return self._transition(practice_id, session_id, lambda s: models.no_show(s, self._clock()))

    def cancel(
        self,
        practice_id: str,
        session_id: str,
        by: CancelledBy,
        recorded_by: str,
        window_hours: int | None = None,
    ) -> Session:
        """``window_hours``: the late-cancellation window of the policy in force (default 24 h)."""
        hours = DEFAULT_LATE_CANCELLATION_WINDOW_HOURS if window_hours is None else window_hours
        return self._transition(
            practice_id, session_id, lambda s: models.cancel(s, by, recorded_by, self._clock(), hours)
        )

    # -- documentation state (no clinical content) ----------------------------------------------
    def sign_note(self, practice_id: str, session_id: str, by: str) -> Session:
        """Mark the completed session's note signed (idempotent: the first signature stands)."""
        return self._transition(practice_id, session_id, lambda s: models.sign_note(s, self._clock(), by))

    def approve_supervision(self, practice_id: str, session_id: str, by: str) -> Session:
        """The supervisor's approval of a supervised clinician's completed session (idempotent).
        The caller has checked that ``by`` is the supervisor or the owner."""
        practice = self._practices.get(practice_id)
        session = self.get(practice_id, session_id)
        supervised = self.supervision.supervisor_of(practice_id, session.clinician_id) is not None
        return self._transition(
            practice_id,
            session_id,
            lambda s: models.approve_supervision(
                s,
                self._clock(),
                by,
                supervised=supervised,
                note_required=practice.billing_requires_signed_note,
            ),
        )

    def set_diagnoses(self, practice_id: str, session_id: str, codes: list[str]) -> Session:
        """The session's own ICD-10-CM codes (pointer order; empty: the client's apply). 400 and
        nothing written on a bad list."""
        try:
            normal = normalise_codes(codes)
        except CodeError as exc:
            raise InvalidRequestError(str(exc), field="codes") from exc
        return self._transition(practice_id, session_id, lambda s: models.set_diagnoses(s, normal))

    def _transition(self, practice_id: str, session_id: str, decide: Callable[[Session], Outcome]) -> Session:
        """Read, decide, then one UpdateItem conditioned on the status and version read. If someone
        else moved the session in between, decide again on what is there now (so a concurrent
        identical transition is harmless and an illegal one is a 409 with the current status)."""
        session = self.get(practice_id, session_id)
        for _ in range(_ATTEMPTS):
            outcome = decide(session)
            if isinstance(outcome, Session):
                return outcome
            try:
                return self._write(practice_id, session, outcome)
            except ConditionFailed as exc:
                if exc.current is None:
                    raise NotFoundError("session not found") from exc
                session = _session(exc.current)
        raise ConflictError(
            "the session keeps changing; reload and retry",
            current_status=session.status,
            session_id=session.id,
        )

    def annotate(
        self, practice_id: str, session: Session, name: str, value: BaseModel, *, only_if_absent: bool = False
    ) -> Session:
        """Record a billing outcome (``copay`` / ``fee``) on the session. Not a transition: the status
        and version are left alone. ``only_if_absent``: the first record stands (a concurrent
        request's, if it won), and the session as it now is is returned."""
        condition = "attribute_exists(PK)" + (" AND attribute_not_exists(#n)" if only_if_absent else "")
        try:
            item = self._table.update(
                keys.practice_pk(practice_id),
                keys.session_sk(session.client_id, session.id),
                update="SET #n = :v",
                condition=condition,
                names={"#n": name},
                values={":v": _value(value)},
            )
        except ConditionFailed as exc:
            if exc.current is None:
                raise NotFoundError("session not found") from exc
            return _session(exc.current)
        return _session(item)

    def _write(self, practice_id: str, session: Session, change: Change) -> Session:
        fields = {**change.fields, "status": change.status, "updated_at": self._clock()}
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
        item = self._table.update(
            keys.practice_pk(practice_id),
            keys.session_sk(session.client_id, session.id),
            update="SET " + ", ".join(sets) + " ADD #version :one",
            condition="#status = :expected AND #version = :version",
            names=names,
            values=values,
        )
        return _session(item)
