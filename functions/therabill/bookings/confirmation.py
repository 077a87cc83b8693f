"""Confirmation: the booking payment's success hook moves the session ``awaiting_payment →
booked`` with one conditional write (a repeat is harmless), closes the hold and emails a
confirmation once. A success that arrives after the hold was released (or the session cancelled)
stays the client's credit and the practice is told once. The money itself is a ledger credit
posted by PaymentService."""

from __future__ import annotations

from therabill.bookings import emails
from therabill.bookings.store import BookingStore
from therabill.clients.service import ClientService
from therabill.core.clock import Clock
from therabill.core.errors import NotFoundError
from therabill.notifications.mailer import Outbox
from therabill.observability import logger
from therabill.payments.models import Payment
from therabill.practices.models import Practice
from therabill.sessions.models import Session
from therabill.sessions.service import SessionService


class BookingConfirmation:
    def __init__(
        self,
        *,
        store: BookingStore,
        sessions: SessionService,
        clients: ClientService,
        outbox: Outbox,
        clock: Clock,
    ) -> None:
        self._store = store
        self._sessions = sessions
        self._clients = clients
        self._outbox = outbox
        self._clock = clock

    def payment_succeeded(self, practice: Practice, payment: Payment) -> None:
        """Idempotent: runs at least once per success."""
        session = self._session_of(practice, payment)
        if session is None:
            return
        if session.status == "awaiting_payment":
            session = self._sessions.confirm_booking(practice.id, session.id)
        if session.status in ("released", "cancelled"):
            self._paid_after_release(practice, session, payment)
            return
        self.close_hold(practice.id, session.id)
        self._send_confirmed(practice, session, payment)

    def close_hold(self, practice_id: str, session_id: str) -> None:
        """Out of the HOLDEXPIRY index (the item stays as a record). Harmless when repeated."""
        self._store.close_hold(practice_id, session_id, at=self._clock())

    def _session_of(self, practice: Practice, payment: Payment) -> Session | None:
        """The session this payment was taken to book, or None (logged) if it is not one."""
        if not payment.reference or not payment.reference.startswith("session:"):
            return None
        session_id = payment.reference.removeprefix("session:")
        try:
            session = self._sessions.get(practice.id, session_id)
        except NotFoundError:
            logger.error("booking payment for an unknown session", payment_id=payment.id)
            return None
        record = session.booking_payment
        if record is None or record.payment_id != payment.id:
            logger.error("payment is not this session's booking payment", payment_id=payment.id)
            return None
        return session

    def _paid_after_release(self, practice: Practice, session: Session, payment: Payment) -> None:
        """Released (or cancelled) before the money came: it stays the client's credit."""
        record = session.booking_payment
        assert record is not None
        if record.status != "paid_after_release":
            session = self._sessions.annotate(
                practice.id,
                session,
                "booking_payment",
                record.model_copy(update={"status": "paid_after_release"}),
            )
        self.close_hold(practice.id, session.id)
        if practice.email:
            self._outbox.send_once(
                practice.id,
                f"booking-late-payment:{session.id}",
                emails.booking_paid_after_release(
                    practice=practice,
                    amount=payment.amount,
                    session_id=session.id,
                    client_id=session.client_id,
                ),
            )

    def _send_confirmed(self, practice: Practice, session: Session, payment: Payment) -> None:
        record = session.booking_payment
        assert record is not None
        party = self._clients.billing_party(practice.id, session.client_id, record.owner_id)
        if party.email:
            self._outbox.send_once(
                practice.id,
                f"booking-confirmed:{session.id}",
                emails.booking_confirmed(
                    practice=practice,
                    party_name=party.name,
                    to=party.email,
                    amount=payment.amount,
                    when=emails.local_time(practice, session.scheduled_start),
                ),
            )
