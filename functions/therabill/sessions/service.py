"""Sessions: booking, reading and every transition. Booked in one transaction (the session under
its client, plus an immutable id → client pointer); every later transition is ONE conditional
UpdateItem on the session's status and version (the store's). GSI1 orders a practice's sessions by
scheduled start (UTC)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel

from therabill.clients.service import ClientService
from therabill.clinical.icd10 import CodeError, normalise_codes
from therabill.core.clock import Clock, require_aware, zone
from therabill.core.errors import InvalidRequestError
from therabill.core.ids import new_id
from therabill.core.money import Money
from therabill.core.writes import Write
from therabill.practices.service import PracticeService
from therabill.providers.clinicians import ClinicianProviderService
from therabill.services.catalog import ServiceCatalog
from therabill.services.models import ServiceType
from therabill.services.pricing import price_session
from therabill.sessions import models
from therabill.sessions.errors import SessionKeepsChangingError, SessionNotBookedError
from therabill.sessions.models import (
    DEFAULT_LATE_CANCELLATION_WINDOW_HOURS,
    BookingPaymentRecord,
    CancelledBy,
    Outcome,
    Session,
)
from therabill.sessions.store import SessionChangedError, SessionStore
from therabill.staff.service import StaffService

_ATTEMPTS = 3


def local_day_bounds(day: date, time_zone: str) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day, as UTC instants: 23 or 25 hours on DST nights."""
    tz = zone(time_zone)
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


class SessionService:
    """``store``: the session items, public for the nightly run (its to-do rows and its billing
    record on each session: ``billables_starting_between``, ``claim_billing``, ...)."""

    def __init__(
        self,
        *,
        store: SessionStore,
        clock: Clock,
        practices: PracticeService,
        clients: ClientService,
        catalog: ServiceCatalog,
        supervision: ClinicianProviderService,
        staff: StaffService,
    ) -> None:
        self.store = store
        self._staff = staff
        self._clock = clock
        self._practices = practices
        self._clients = clients
        self._catalog = catalog
        self.supervision = supervision

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
        self_pay: bool = False,
    ) -> Session:
        """``session_id``: derived from the request's Idempotency-Key; if that session exists
        already it is returned as it is (the caller compares). ``booking_payment``: the session is
        booked ``awaiting_payment`` (paying at booking); ``extra_writes`` join the transaction;
        ``self_pay``: the client pays for this session whatever their coverage."""
        # Long for its keyword signature (what bookings pass) and the session built field by field.
        # The clinician: a clinician or owner of this practice, not removed (400 otherwise).
        service, start, end = self._bookable(practice_id, client_id, service_id, start, end)
        self._staff.clinicians(practice_id, {"clinician_id": clinician_id})
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
            billing="self_pay" if self_pay else None,
        )
        try:
            self.store.create(practice_id, session, extra_writes(session) if extra_writes else [])
        except SessionNotBookedError:
            existing = self.find(practice_id, session_id) if session_id else None
            if existing is None:  # else: a concurrent request with the same key booked it
                raise
            return existing
        return session

    def _bookable(
        self, practice_id: str, client_id: str, service_id: str, start: datetime, end: datetime | None
    ) -> tuple[ServiceType, datetime, datetime]:
        """The client and an active service exist; the times (end: the service's length) are sane."""
        self._clients.get(practice_id, client_id)
        service = self._catalog.get(practice_id, service_id)
        if not service.active:
            raise InvalidRequestError("the service is not active", field="service_id")
        start = require_aware(start)
        end = start + timedelta(minutes=service.default_duration_minutes) if end is None else end
        start, end = models.check_times(start, end, "scheduled")
        return service, start, end

    def find(self, practice_id: str, session_id: str) -> Session | None:
        return self.store.find(practice_id, session_id)

    def get(self, practice_id: str, session_id: str) -> Session:
        return self.store.get(practice_id, session_id)

    def list_for_client(self, practice_id: str, client_id: str) -> list[Session]:
        self._clients.get(practice_id, client_id)
        return self.store.of_client(practice_id, client_id)

    def list_day(self, practice_id: str, day: date) -> list[Session]:
        """The sessions scheduled to start on ``day`` in the practice's time zone: one Query per
        UTC date the local day touches (one or two; three at most), then the exact bounds."""
        practice = self._practices.get(practice_id)
        lo, hi = local_day_bounds(day, practice.time_zone)
        return self.store.starting_between(practice_id, lo, hi)

    def now(self) -> datetime:
        return self._clock()

    def mark_to_bill(self, practice_id: str, session: Session) -> None:
        """Completed or no-show: the nightly run's to-do item (``TOBILL#<start>#<ses>``), until a
        run has finished the session. Written again by a repeated request: harmless."""
        self.store.mark_to_bill(practice_id, session)

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
        start, end = models.check_completion_times(start, end, self._clock())

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
                return self.store.apply(practice_id, session, outcome, self._clock())
            except SessionChangedError as exc:
                session = exc.current
        raise SessionKeepsChangingError(current_status=session.status, session_id=session.id)

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
        """Record a billing outcome (``copay`` / ``fee``) on the session. Not a transition: the status
        and version are left alone. ``only_if_absent``: the first record stands (a concurrent
        request's, if it won); ``only_if_status``: only while the record is in one of these states.
        Otherwise the session as it now is is returned."""
        return self.store.annotate(
            practice_id, session, name, value, only_if_absent=only_if_absent, only_if_status=only_if_status
        )
