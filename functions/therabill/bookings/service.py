"""Booking with a payment required, and what happens to the held slot.

- **Book.** The session id is derived from (practice, Idempotency-Key): a retried request meets the
  same session (another body with the same key is a 409). The rules decide what the booking
  needs (bookings/models.py). A deposit or prepayment books the session ``awaiting_payment`` and,
  in the same transaction, an open hold item (``BOOKHOLD#<ses>``, in the sparse ``HOLDEXPIRY`` index
  by expiry); then the payment is started (PaymentService.start_client_payment, request key
  ``booking:<ses>``, so a retry meets the same payment and PaymentIntent) and the payer is emailed
  a signed link to the pay page, once. A crash anywhere is completed by the retry, or released by
  the sweep when the hold expires.
- **Confirm.** The payment's success hook moves the session ``awaiting_payment → booked`` with one
  conditional write (a repeat is harmless), closes the hold and emails a confirmation once. The
  money is a ledger credit posted by PaymentService.
- **Release.** The reconciler's sweep (and a staff cancellation of a session awaiting payment)
  cancels the PaymentIntent at Stripe first: if the client paid meanwhile, the booking is confirmed
  instead; else the session moves ``awaiting_payment → released`` (recorded by ``system``, reason
  ``payment_not_received``; no fee, the slot is free). A success that still arrives later stays
  the client's credit and the practice is told once.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from therabill.adapters.dynamo import ConditionFailed, Table, put_new_write
from therabill.bookings import emails
from therabill.bookings.models import BookingRequirement, Decision, amount_due, decide
from therabill.bookings.rules import BookingRules
from therabill.cards.models import OnSessionKind
from therabill.cards.service import CardService
from therabill.clients.models import Client
from therabill.clients.service import ClientService
from therabill.core import keys, signed_tokens
from therabill.core.clock import Clock, iso, zone
from therabill.core.errors import ConflictError, NotFoundError
from therabill.core.ids import derived_id
from therabill.core.money import Money
from therabill.notifications.mailer import Outbox
from therabill.observability import logger
from therabill.payments.gateway import GatewayUnavailableError
from therabill.payments.models import Payment
from therabill.payments.service import PaymentService
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService
from therabill.services.catalog import ServiceCatalog
from therabill.services.pricing import price_session
from therabill.sessions.models import BookingPaymentRecord, Session
from therabill.sessions.service import SessionService

PAY_TOKEN_PURPOSE = "booking-pay"
RELEASE_REASON = "payment_not_received"
SYSTEM = "system"


@dataclass(frozen=True)
class BookingPaymentView:
    """What staff see of a booking's payment."""

    payment_id: str
    kind: str
    status: str  # the payment's
    amount: Money
    hold_expires_at: datetime
    link: str | None  # the pay page, while the hold is open


@dataclass(frozen=True)
class Booking:
    session: Session
    payment: BookingPaymentView | None
    requirement: Decision


@dataclass(frozen=True)
class PayPage:
    practice: Practice
    session: Session
    payment: Payment
    client_secret: str
    when: str
    expires: str


def is_insured(client: Client) -> bool:
    """Until client insurance policies exist (section G), a client with a default copay or a payer
    that forbids fees is billed to insurance: not cash-pay."""
    return client.copay_amount is not None or client.payer_forbids_fees


def _hold_item(practice_id: str, session: Session, record: BookingPaymentRecord) -> dict[str, Any]:
    return {
        "PK": keys.practice_pk(practice_id),
        "SK": keys.booking_hold_sk(session.id),
        "GSI1PK": keys.BOOKING_HOLDS_GSI,
        "GSI1SK": keys.booking_hold_gsi_sk(iso(record.hold_expires_at), practice_id, session.id),
        "type": "booking_hold",
        "practice_id": practice_id,
        "session_id": session.id,
        "client_id": session.client_id,
        "payment_id": record.payment_id,
        "expires_at": iso(record.hold_expires_at),
        "status": "open",
    }


class BookingService:
    def __init__(
        self,
        table: Table,
        clock: Clock,
        rules: BookingRules,
        sessions: SessionService,
        catalog: ServiceCatalog,
        practices: PracticeService,
        clients: ClientService,
        cards: CardService,
        payments: PaymentService,
        outbox: Outbox,
        link_key: str,
        public_base_url: str,
    ) -> None:
        self._table = table
        self._clock = clock
        self.rules = rules
        self._sessions = sessions
        self._catalog = catalog
        self._practices = practices
        self._clients = clients
        self._cards = cards
        self._payments = payments
        self._outbox = outbox
        self._link_key = link_key
        self._public_base_url = public_base_url.rstrip("/")

    # -- what a booking needs ----------------------------------------------------------------------
    def requirement_for(
        self,
        practice_id: str,
        client: Client,
        service_id: str,
        start: datetime,
        session_id: str | None = None,
    ) -> Decision:
        earlier = [
            s
            for s in self._sessions.list_for_client(practice_id, client.id)
            if s.status not in ("cancelled", "released") and s.scheduled_start < start and s.id != session_id
        ]
        return decide(
            settings=self.rules.settings(practice_id),
            service_rule=self.rules.service_rule(practice_id, service_id),
            client_rule=self.rules.client_rule(practice_id, client.id),
            first_visit=not earlier,
            insured=is_insured(client),
        )

    # -- booking -----------------------------------------------------------------------------------
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
    ) -> Booking:
        practice = self._practices.get(practice_id)
        session_id = derived_id("ses", practice_id, request_key)
        existing = self._sessions.find(practice_id, session_id)
        if existing is not None:
            return self._retried(practice, existing, client_id, service_id, clinician_id, start, end)
        client = self._clients.get(practice_id, client_id)
        service = self._catalog.get(practice_id, service_id)
        decision = self.requirement_for(practice_id, client, service.id, start)
        requirement = decision.requirement
        payer = self._clients.payer(practice_id, client_id, payer_id)
        if requirement.kind == "card_on_file":
            self._require_card(practice_id, client_id, payer.owner_id)
        record: BookingPaymentRecord | None = None
        if requirement.takes_payment:
            record = self._payment_record(
                practice, session_id, client_id, service_id, start, end, requirement
            )
            if record is not None:
                record = record.model_copy(update={"owner_id": payer.owner_id})
                if practice.stripe is None or not practice.stripe.charges_enabled:
                    raise ConflictError("the practice's Stripe account cannot take booking payments yet")
        session = self._sessions.book(
            practice_id,
            client_id=client_id,
            service_id=service_id,
            clinician_id=clinician_id,
            start=start,
            end=end,
            by=by,
            session_id=session_id,
            booking_payment=record,
            booking_rule=f"{requirement.kind}:{decision.source}",
            extra_writes=lambda s: (
                [put_new_write(_hold_item(practice_id, s, s.booking_payment))] if s.booking_payment else []
            ),
        )
        return self._resume(practice, session, decision)

    def _payment_record(
        self,
        practice: Practice,
        session_id: str,
        client_id: str,
        service_id: str,
        start: datetime,
        end: datetime | None,
        requirement: BookingRequirement,
    ) -> BookingPaymentRecord | None:
        service = self._catalog.get(practice.id, service_id)
        end = end or start + timedelta(minutes=service.default_duration_minutes)
        rule = self._catalog.get_rule(practice.id, client_id, service_id)
        price = price_session(service, rule, actual_start=start, actual_end=end)
        if price.not_billed:
            return None
        amount = amount_due(requirement, price.amount)
        if amount.amount <= 0:
            return None
        hold = self.rules.settings(practice.id).hold_minutes
        return BookingPaymentRecord(
            kind=cast(OnSessionKind, requirement.kind),
            amount=amount,
            payment_id=derived_id("pay", practice.id, f"booking:{session_id}"),
            owner_id=client_id,
            # Never held past the session's own start: an unpaid slot is released by then.
            hold_expires_at=min(self._clock() + timedelta(minutes=hold), start),
            status="awaiting",
        )

    def _retried(
        self,
        practice: Practice,
        session: Session,
        client_id: str,
        service_id: str,
        clinician_id: str,
        start: datetime,
        end: datetime | None,
    ) -> Booking:
        same = (session.client_id, session.service_id, session.clinician_id) == (
            client_id,
            service_id,
            clinician_id,
        )
        same = same and session.scheduled_start == start and (end is None or session.scheduled_end == end)
        if not same:
            raise ConflictError(
                "this Idempotency-Key was used for a different booking", session_id=session.id
            )
        record = session.booking_payment
        if record is None:
            requirement = BookingRequirement(kind="none")
        elif record.kind == "deposit":
            requirement = BookingRequirement(kind="deposit", deposit_amount=record.amount.amount)
        else:
            requirement = BookingRequirement(kind="prepayment")
        return self._resume(practice, session, Decision(requirement, "stored"))

    def _resume(self, practice: Practice, session: Session, decision: Decision) -> Booking:
        """Start (or meet again) the booking's payment and send the link: every step is keyed, so
        a retry after a crash completes what is missing and repeats nothing."""
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
                link = self.pay_link(practice.id, session)
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

    def _require_card(self, practice_id: str, client_id: str, owner_id: str) -> None:
        payer = self._clients.payer(practice_id, client_id, owner_id)
        if not payer.default_card_id:
            raise ConflictError(
                "this booking requires a card on file; the payer has none", requirement="card_on_file"
            )
        try:
            card = self._cards.get_card(practice_id, client_id, payer.default_card_id)
        except NotFoundError as exc:
            raise ConflictError(
                "this booking requires a card on file; the payer has none", requirement="card_on_file"
            ) from exc
        consent = self._cards.get_consent(practice_id, card.consent_id)
        if card.status != "active" or consent.status != "active":
            raise ConflictError(
                "this booking requires a card on file with an active consent", requirement="card_on_file"
            )
        now = self._clock()
        if consent.scope.expires_at is not None and consent.scope.expires_at <= now:
            raise ConflictError("the card's consent has expired", requirement="card_on_file")

    # -- the pay page ------------------------------------------------------------------------------
    def pay_link(self, practice_id: str, session: Session) -> str:
        assert session.booking_payment is not None
        token = signed_tokens.sign(
            self._link_key,
            PAY_TOKEN_PURPOSE,
            {"p": practice_id, "s": session.id},
            session.booking_payment.hold_expires_at,
        )
        return f"{self._public_base_url}/pay/booking/{token}"

    def _local(self, practice: Practice, at: datetime) -> str:
        return at.astimezone(zone(practice.time_zone)).strftime("%A %d %B %Y at %H:%M (%Z)")

    def _send_link(
        self, practice: Practice, session: Session, record: BookingPaymentRecord, link: str
    ) -> None:
        try:
            payer = self._clients.payer(practice.id, session.client_id, record.owner_id)
            if not payer.email:
                logger.info("no email for the booking payment link", session_id=session.id)
                return
            email = emails.booking_payment_link(
                practice=practice,
                payer_name=payer.name,
                to=payer.email,
                amount=record.amount,
                what="a deposit" if record.kind == "deposit" else "the session fee",
                when=self._local(practice, session.scheduled_start),
                expires=self._local(practice, record.hold_expires_at),
                link=link,
            )
            self._outbox.send_once(practice.id, f"booking-link:{session.id}", email)
        except Exception as exc:  # the booking stands; staff see the link in the answer
            logger.warning("booking link email failed", session_id=session.id, error=type(exc).__name__)

    def open_pay_link(self, token: str) -> PayPage:
        practice, session = self._from_token(token)
        record = session.booking_payment
        if record is None:
            raise NotFoundError("this booking has nothing to pay")
        if session.status != "awaiting_payment":
            if record.status == "paid":
                raise ConflictError("this booking is paid and confirmed", status=session.status)
            raise ConflictError(
                "this booking is no longer held; please contact the practice", status=session.status
            )
        payment, secret = self._payments.client_secret(practice, record.payment_id)
        return PayPage(
            practice=practice,
            session=session,
            payment=payment,
            client_secret=secret,
            when=self._local(practice, session.scheduled_start),
            expires=self._local(practice, record.hold_expires_at),
        )

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

    # -- confirmation (the payment's success hook) ---------------------------------------------------
    def payment_succeeded(self, practice: Practice, payment: Payment) -> None:
        """Idempotent: runs at least once per success."""
        if not payment.reference or not payment.reference.startswith("session:"):
            return
        session_id = payment.reference.removeprefix("session:")
        try:
            session = self._sessions.get(practice.id, session_id)
        except NotFoundError:
            logger.error("booking payment for an unknown session", payment_id=payment.id)
            return
        record = session.booking_payment
        if record is None or record.payment_id != payment.id:
            logger.error("payment is not this session's booking payment", payment_id=payment.id)
            return
        if session.status == "awaiting_payment":
            session = self._sessions.confirm_booking(practice.id, session.id)
        record = session.booking_payment
        assert record is not None
        if session.status in ("released", "cancelled"):
            # Released (or cancelled) before the money came: it stays the client's credit.
            if record.status != "paid_after_release":
                session = self._sessions.annotate(
                    practice.id,
                    session,
                    "booking_payment",
                    record.model_copy(update={"status": "paid_after_release"}),
                )
            self._close_hold(practice.id, session.id)
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
            return
        self._close_hold(practice.id, session.id)
        payer = self._clients.payer(practice.id, session.client_id, record.owner_id)
        if payer.email:
            self._outbox.send_once(
                practice.id,
                f"booking-confirmed:{session.id}",
                emails.booking_confirmed(
                    practice=practice,
                    payer_name=payer.name,
                    to=payer.email,
                    amount=payment.amount,
                    when=self._local(practice, session.scheduled_start),
                ),
            )

    def _close_hold(self, practice_id: str, session_id: str) -> None:
        """Out of the HOLDEXPIRY index (the item stays as a record). Harmless when repeated."""
        try:
            self._table.update(
                keys.practice_pk(practice_id),
                keys.booking_hold_sk(session_id),
                update="SET #s = :closed, closed_at = :now REMOVE GSI1PK, GSI1SK",
                condition="attribute_exists(PK)",
                names={"#s": "status"},
                values={":closed": "closed", ":now": iso(self._clock())},
            )
        except ConditionFailed:
            return

    # -- release -------------------------------------------------------------------------------------
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
        confirmed if Stripe says the client paid. Rows are isolated: one that fails is counted and
        retried on the next run."""
        now = now or self._clock()
        due = iso(now) + "#~"
        page = self._table.query(keys.BOOKING_HOLDS_GSI, index="GSI1", limit=limit)
        counts = {"released": 0, "confirmed": 0, "skipped": 0, "errors": 0}
        for row in page.items:
            if row["GSI1SK"] > due:
                break  # ordered by expiry: the rest are later
            try:
                practice = self._practices.get(row["practice_id"])
                session = self._sessions.get(practice.id, row["session_id"])
                result = self._release(practice, session, SYSTEM, RELEASE_REASON)
            except Exception as exc:  # one bad row must not stop the others
                logger.error(
                    "hold release failed", session_id=row.get("session_id"), error=type(exc).__name__
                )
                counts["errors"] += 1
                continue
            if result.status == "released":
                counts["released"] += 1
            elif result.status == "awaiting_payment":
                counts["skipped"] += 1
            else:
                counts["confirmed"] += 1
        return counts

    def _release(self, practice: Practice, session: Session, recorded_by: str, reason: str) -> Session:
        record = session.booking_payment
        if session.status != "awaiting_payment" or record is None:
            self._close_hold(practice.id, session.id)
            return session
        try:
            payment = self._payments.cancel_client_payment(practice, record.payment_id)
        except NotFoundError:
            payment = None  # never started (a crash before it): nothing at Stripe to cancel
        if payment is not None and payment.status == "succeeded":
            self.payment_succeeded(practice, payment)  # idempotent; the hook may have run already
            return self._sessions.get(practice.id, session.id)
        if payment is not None and payment.status not in ("canceled", "failed"):
            logger.info("booking payment still processing; hold kept", session_id=session.id)
            return session
        released = self._sessions.release(practice.id, session.id, recorded_by=recorded_by, reason=reason)
        self._close_hold(practice.id, session.id)
        logger.info("booking hold released", session_id=session.id, reason=reason)
        return released


__all__ = [
    "Booking",
    "BookingPaymentView",
    "BookingService",
    "GatewayUnavailableError",
    "PayPage",
    "is_insured",
]
