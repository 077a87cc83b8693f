"""The booking's pay page: a signed link that lives as long as the hold, the page it opens (the
payment's client secret for Stripe.js) and the status the page asks for after paying."""

from __future__ import annotations

from dataclasses import dataclass

from therabill.bookings.emails import local_time
from therabill.bookings.errors import BookingPaidError, BookingReleasedError, NothingToPayError
from therabill.core import signed_tokens
from therabill.core.clock import Clock
from therabill.payments.models import Payment
from therabill.payments.service import PaymentService
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService
from therabill.sessions.models import Session
from therabill.sessions.service import SessionService

PAY_TOKEN_PURPOSE = "booking-pay"


@dataclass(frozen=True)
class PayPage:
    practice: Practice
    session: Session
    payment: Payment
    client_secret: str
    when: str
    expires: str


class PayPages:
    def __init__(
        self,
        *,
        link_key: str,
        public_base_url: str,
        clock: Clock,
        practices: PracticeService,
        sessions: SessionService,
        payments: PaymentService,
    ) -> None:
        self._link_key = link_key
        self._public_base_url = public_base_url.rstrip("/")
        self._clock = clock
        self._practices = practices
        self._sessions = sessions
        self._payments = payments

    def pay_link(self, practice_id: str, session: Session) -> str:
        assert session.booking_payment is not None
        token = signed_tokens.sign(
            self._link_key,
            PAY_TOKEN_PURPOSE,
            {"p": practice_id, "s": session.id},
            session.booking_payment.hold_expires_at,
        )
        return f"{self._public_base_url}/pay/booking/{token}"

    def open_pay_link(self, token: str) -> PayPage:
        """The page's facts. A paid booking answers BookingPaidError even once the link has expired
        (the client may open it again later); otherwise an expired link, a released hold."""
        claims = signed_tokens.authentic(self._link_key, PAY_TOKEN_PURPOSE, token)
        practice = self._practices.get(str(claims["p"]))
        session = self._sessions.get(practice.id, str(claims["s"]))
        record = session.booking_payment
        if record is None:
            raise NothingToPayError(session.id)
        when = local_time(practice, session.scheduled_start)
        if session.status != "awaiting_payment" and record.status == "paid":
            raise BookingPaidError(session.id, when)
        signed_tokens.check_unexpired(claims, self._clock())
        if session.status != "awaiting_payment":
            raise BookingReleasedError(session.id, session.status, when)
        payment, secret = self._payments.client_secret(practice, record.payment_id)
        return PayPage(
            practice=practice,
            session=session,
            payment=payment,
            client_secret=secret,
            when=when,
            expires=local_time(practice, record.hold_expires_at),
        )

    def link_practice(self, token: str) -> Practice | None:
        """The practice a pay link comes from, expired or not (None: not one of ours)."""
        return self._practices.of_link(signed_tokens.signed_claims(self._link_key, PAY_TOKEN_PURPOSE, token))

    def pay_status(self, token: str) -> str:
        """``awaiting_payment``, ``confirmed`` or ``released`` (for the page, after paying)."""
        _, session = self._from_token(token)
        if session.status == "awaiting_payment":
            return "awaiting_payment"
        record = session.booking_payment
        return "confirmed" if record is not None and record.status == "paid" else "released"

    def _from_token(self, token: str) -> tuple[Practice, Session]:
        claims = signed_tokens.verify(self._link_key, PAY_TOKEN_PURPOSE, token, self._clock())
        practice = self._practices.get(str(claims["p"]))
        return practice, self._sessions.get(practice.id, str(claims["s"]))
