"""Release: the reconciler's sweep (and a staff cancellation of a session awaiting payment)
cancels the PaymentIntent at Stripe first: if the client paid meanwhile, the booking is confirmed
instead; else the session moves ``awaiting_payment → released`` (recorded by ``system``, reason
``payment_not_received``; no fee, the slot is free)."""

from __future__ import annotations

from datetime import datetime

from therabill.bookings.confirmation import BookingConfirmation
from therabill.bookings.models import Hold
from therabill.bookings.store import BookingStore
from therabill.core.clock import Clock
from therabill.core.errors import ConflictError, NotFoundError
from therabill.observability import logger
from therabill.payments.service import PaymentService
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService
from therabill.sessions.models import Session
from therabill.sessions.service import SessionService

RELEASE_REASON = "payment_not_received"
SYSTEM = "system"


class HoldRelease:
    def __init__(
        self,
        *,
        store: BookingStore,
        practices: PracticeService,
        sessions: SessionService,
        payments: PaymentService,
        confirmation: BookingConfirmation,
        clock: Clock,
    ) -> None:
        self._store = store
        self._practices = practices
        self._sessions = sessions
        self._payments = payments
        self._confirmation = confirmation
        self._clock = clock

    def cancel_unpaid(self, practice_id: str, session_id: str, *, recorded_by: str) -> Session:
        """Staff cancel a session awaiting payment: the same release as an expired hold. If the
        client has just paid, the booking is confirmed instead and this is a 409 (cancel it again,
        as a booked session)."""
        practice = self._practices.get(practice_id)
        session = self._release(
            practice, self._sessions.get(practice_id, session_id), recorded_by, "cancelled_before_payment"
        )
        if session.status != "released":
            raise ConflictError(
                "the client has just paid: the session is booked",
                current_status=session.status,
                session_id=session.id,
            )
        return session

    def release_expired(self, now: datetime | None = None, limit: int = 100) -> dict[str, int]:
        """The sweep (scheduled with the reconciler): every hold past its expiry is released, or
        confirmed if Stripe says the client paid. Holds are isolated: one that fails is counted
        and retried on the next run."""
        counts = {"released": 0, "confirmed": 0, "skipped": 0, "errors": 0}
        for hold in self._store.due_holds(now or self._clock(), limit):
            counts[self._release_due(hold)] += 1
        return counts

    def _release_due(self, hold: Hold) -> str:
        """One expired hold: which count it adds to."""
        try:
            practice = self._practices.get(hold.practice_id)
            session = self._sessions.get(practice.id, hold.session_id)
            result = self._release(practice, session, SYSTEM, RELEASE_REASON)
        except Exception as exc:  # one bad hold must not stop the others
            logger.error("hold release failed", session_id=hold.session_id, error=type(exc).__name__)
            return "errors"
        if result.status == "released":
            return "released"
        if result.status == "awaiting_payment":
            return "skipped"
        return "confirmed"

    def _release(self, practice: Practice, session: Session, recorded_by: str, reason: str) -> Session:
        record = session.booking_payment
        if session.status != "awaiting_payment" or record is None:
            self._confirmation.close_hold(practice.id, session.id)
            return session
        try:
            payment = self._payments.cancel_client_payment(practice, record.payment_id)
        except NotFoundError:
            payment = None  # never started (a crash before it): nothing at Stripe to cancel
        if payment is not None and payment.status == "succeeded":
            self._confirmation.payment_succeeded(practice, payment)  # idempotent; may have run already
            return self._sessions.get(practice.id, session.id)
        if payment is not None and payment.status not in ("canceled", "failed"):
            logger.info("booking payment still processing; hold kept", session_id=session.id)
            return session
        released = self._sessions.release(practice.id, session.id, recorded_by=recorded_by, reason=reason)
        self._confirmation.close_hold(practice.id, session.id)
        logger.info("booking hold released", session_id=session.id, reason=reason)
        return released
