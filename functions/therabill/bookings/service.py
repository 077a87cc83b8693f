"""Booking with a payment required, and what happens to the held slot: one service over its
concerns, each in its own module.

- **Book** (bookings/booking.py, the rules in bookings/planning.py): a deposit or prepayment books
  the session ``awaiting_payment`` with an open hold, starts the payment and emails the pay link.
- **Pay** (bookings/pay_page.py): the signed pay link, its page and status.
- **Confirm** (bookings/confirmation.py): the payment's success hook books the session and closes
  the hold; a success after a release stays the client's credit.
- **Release** (bookings/release.py): the sweep of expired holds, and a staff cancellation of a
  session awaiting payment.
"""

from __future__ import annotations

from datetime import datetime

from therabill.bookings.booking import BookingDesk
from therabill.bookings.confirmation import BookingConfirmation
from therabill.bookings.models import Booking
from therabill.bookings.pay_page import PayPage, PayPages
from therabill.bookings.release import HoldRelease
from therabill.payments.models import Payment
from therabill.practices.models import Practice
from therabill.sessions.models import Session

__all__ = ["Booking", "BookingService"]


class BookingService:
    def __init__(
        self,
        *,
        desk: BookingDesk,
        pay_pages: PayPages,
        confirmation: BookingConfirmation,
        release: HoldRelease,
    ) -> None:
        self._desk = desk
        self._pay_pages = pay_pages
        self._confirmation = confirmation
        self._release = release

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
        return self._desk.book(
            practice_id,
            request_key=request_key,
            client_id=client_id,
            service_id=service_id,
            clinician_id=clinician_id,
            start=start,
            end=end,
            by=by,
            payer_id=payer_id,
            self_pay=self_pay,
        )

    def pay_link(self, practice_id: str, session: Session) -> str:
        return self._pay_pages.pay_link(practice_id, session)

    def open_pay_link(self, token: str) -> PayPage:
        return self._pay_pages.open_pay_link(token)

    def pay_link_practice(self, token: str) -> Practice | None:
        """The practice a pay link comes from, to name it on the link's error page."""
        return self._pay_pages.link_practice(token)

    def pay_status(self, token: str) -> str:
        """``awaiting_payment``, ``confirmed`` or ``released`` (for the page, after paying)."""
        return self._pay_pages.pay_status(token)

    def payment_succeeded(self, practice: Practice, payment: Payment) -> None:
        """The booking payment's success hook. Idempotent: runs at least once per success."""
        self._confirmation.payment_succeeded(practice, payment)

    def cancel_unpaid(self, practice_id: str, session_id: str, *, recorded_by: str) -> Session:
        return self._release.cancel_unpaid(practice_id, session_id, recorded_by=recorded_by)

    def release_expired(self, now: datetime | None = None, limit: int = 100) -> dict[str, int]:
        return self._release.release_expired(now, limit)
