"""Booking, and resuming a booking's payment.

The session id is derived from (practice, Idempotency-Key): a retried request meets the same
session (another body with the same key is a 409). The rules decide what the booking needs
(bookings/planning.py). A deposit or prepayment books the session ``awaiting_payment`` and, in the
same transaction, an open hold item (bookings/store.py); then the payment is started
(PaymentService.start_client_payment, request key ``booking:<ses>``, so a retry meets the same
payment and PaymentIntent) and the billing party is emailed a signed link to the pay page, once.
A crash anywhere is completed by the retry, or released by the sweep when the hold expires.
"""

from __future__ import annotations

import contextlib
import dataclasses
from datetime import datetime

from therabill.bookings import emails
from therabill.bookings.models import Booking, BookingPaymentView, BookingRequirement, Decision
from therabill.bookings.pay_page import PayPages
from therabill.bookings.planning import BookingPlanner, BookingSlot
from therabill.bookings.store import BookingStore
from therabill.clients.service import ClientService
from therabill.core.errors import NotFoundError
from therabill.core.ids import derived_id
from therabill.core.replay import replayed
from therabill.core.writes import Write
from therabill.notifications.mailer import Outbox
from therabill.observability import logger
from therabill.payments.service import PaymentService
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService
from therabill.sessions.models import BookingPaymentRecord, Session
from therabill.sessions.service import SessionService


class BookingPayments:
    """Starts (or meets again) a booking's payment and sends its pay link: every step is keyed,
    so a retry after a crash completes what is missing and repeats nothing."""

    def __init__(
        self,
        *,
        payments: PaymentService,
        sessions: SessionService,
        pay_pages: PayPages,
        clients: ClientService,
        outbox: Outbox,
    ) -> None:
        self._payments = payments
        self._sessions = sessions
        self._pay_pages = pay_pages
        self._clients = clients
        self._outbox = outbox

    def resume(self, practice: Practice, session: Session, decision: Decision) -> Booking:
        record = session.booking_payment
        if record is None:
            return Booking(session, None, decision)
        link = None
        payment_status: str = record.status
        if session.status == "awaiting_payment":
            payment, _ = self._payments.start_client_payment(
                practice.id,
                client_id=session.client_id,
                owner_id=record.owner_id,
                request_key=f"booking:{session.id}",
                amount=record.amount.amount,
                kind=record.kind,
                memo=f"booking {record.kind} for session {session.id}",
                created_by=session.created_by,
                reference=f"session:{session.id}",
            )
            payment_status = payment.status
            if payment.status == "succeeded":  # paid already: the hook has confirmed it
                session = self._sessions.get(practice.id, session.id)
            else:
                link = self._pay_pages.pay_link(practice.id, session)
                self._send_link(practice, session, record, link)
        else:
            with contextlib.suppress(NotFoundError):
                payment_status = self._payments.get(practice.id, record.payment_id).status
        view = BookingPaymentView(
            payment_id=record.payment_id,
            kind=record.kind,
            status=payment_status,
            amount=record.amount,
            hold_expires_at=record.hold_expires_at,
            link=link,
        )
        return Booking(session, view, decision)

    def _send_link(
        self, practice: Practice, session: Session, record: BookingPaymentRecord, link: str
    ) -> None:
        try:
            party = self._clients.billing_party(practice.id, session.client_id, record.owner_id)
            if not party.email:
                logger.info("no email for the booking payment link", session_id=session.id)
                return
            email = emails.booking_payment_link(
                practice=practice,
                party_name=party.name,
                to=party.email,
                amount=record.amount,
                what="a deposit" if record.kind == "deposit" else "the session fee",
                when=emails.local_time(practice, session.scheduled_start),
                expires=emails.local_time(practice, record.hold_expires_at),
                link=link,
            )
            self._outbox.send_once(practice.id, f"booking-link:{session.id}", email)
        except Exception as exc:  # the booking stands; staff see the link in the answer
            logger.warning("booking link email failed", session_id=session.id, error=type(exc).__name__)


class BookingDesk:
    """Books a session under the rules in force, holding its slot when a payment is due."""

    def __init__(
        self,
        *,
        store: BookingStore,
        practices: PracticeService,
        sessions: SessionService,
        planner: BookingPlanner,
        payments: BookingPayments,
    ) -> None:
        self._store = store
        self._practices = practices
        self._sessions = sessions
        self._planner = planner
        self._payments = payments

    def book(
        self,
        practice_id: str,
        *,
        request_key: str,
        client_id: str,
        service_id: str,
        clinician_id: str,
        start: datetime,
        end: datetime | None,
        by: str,
        payer_id: str | None = None,
        self_pay: bool = False,
    ) -> Booking:
        """``self_pay``: the client pays for this visit whatever their coverage. The answer
        carries the authorization's warning when the visit goes beyond it."""
        practice = self._practices.get(practice_id)
        slot = BookingSlot(
            session_id=derived_id("ses", practice_id, request_key),
            client_id=client_id,
            service_id=service_id,
            clinician_id=clinician_id,
            start=start,
            end=end,
            self_pay=self_pay,
        )
        existing = self._sessions.find(practice_id, slot.session_id)
        if existing is not None:
            return self._retried(practice, existing, slot)
        plan = self._planner.plan(practice, slot, payer_id)
        session = self._sessions.book(
            practice_id,
            client_id=client_id,
            service_id=service_id,
            clinician_id=clinician_id,
            start=start,
            end=end,
            by=by,
            session_id=slot.session_id,
            booking_payment=plan.record,
            booking_rule=f"{plan.decision.requirement.kind}:{plan.decision.source}",
            extra_writes=lambda s: self._hold_writes(practice_id, s),
            self_pay=self_pay,
        )
        booking = self._payments.resume(practice, session, plan.decision)
        return dataclasses.replace(booking, authorization=plan.authorization)

    def _hold_writes(self, practice_id: str, session: Session) -> list[Write]:
        record = session.booking_payment
        if record is None:
            return []
        return [self._store.open_hold(practice_id, session.id, session.client_id, record)]

    def _retried(self, practice: Practice, session: Session, slot: BookingSlot) -> Booking:
        replayed(
            session,
            same=lambda s: (
                (s.client_id, s.service_id, s.clinician_id, s.scheduled_start)
                == (slot.client_id, slot.service_id, slot.clinician_id, slot.start)
                and (slot.end is None or s.scheduled_end == slot.end)
                and (s.billing == "self_pay") == slot.self_pay
            ),
            conflict="this Idempotency-Key was used for a different booking",
            session_id=session.id,
        )
        record = session.booking_payment
        if record is None:
            requirement = BookingRequirement(kind="none")
        elif record.kind == "deposit":
            requirement = BookingRequirement(kind="deposit", deposit_amount=record.amount.amount)
        else:
            requirement = BookingRequirement(kind="prepayment")
        return self._payments.resume(practice, session, Decision(requirement, "stored"))
