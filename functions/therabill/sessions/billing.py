"""The money side of the session lifecycle: each transition the staff API makes goes through here,
which makes the transition (SessionService) and then does what it owes, each step exactly once.

* Completing posts the session's charge (ledger source ``session:<ses>``) from the price snapshot;
  a $0 or not-billed session posts nothing.
* Checking in snapshots the client's copay on the session, posts its charge (``copay:<ses>``) and
  charges it to the payer's default card (request key ``copay:<ses>``, so a repeated check-in meets
  the same payment; the receipt is PaymentService's). No card, no consent or a decline leaves it
  open on the ledger and tells the practice (outbox ``copay-failed:<ses>``); the check-in stands.
"""

from __future__ import annotations

from datetime import datetime

from therabill.cards.models import ChargeKind
from therabill.clients.service import ClientService
from therabill.core.errors import (
    ConflictError,
    DependencyUnavailableError,
    InvalidRequestError,
    NotFoundError,
)
from therabill.core.money import Money
from therabill.ledger.service import LedgerService
from therabill.notifications import templates
from therabill.notifications.mailer import Email, Outbox
from therabill.observability import logger
from therabill.payments.gateway import GatewayRejectedError
from therabill.payments.service import PaymentService
from therabill.practices.service import PracticeService
from therabill.sessions.models import ChargeStatus, Session
from therabill.sessions.service import SessionService

# Why a charge could not even be attempted: it stays a balance.
_NOT_CHARGEABLE = (
    InvalidRequestError,  # no card on file, consent out of scope (ConsentError)
    ConflictError,  # the practice cannot take charges, the payer has no Stripe customer
    NotFoundError,  # the default card is gone
    DependencyUnavailableError,
    GatewayRejectedError,
)
_STATUS: dict[str, ChargeStatus] = {
    "succeeded": "charged",
    "pending": "pending",
    "requires_action": "requires_action",
}


class SessionBilling:
    def __init__(
        self,
        sessions: SessionService,
        practices: PracticeService,
        clients: ClientService,
        ledger: LedgerService,
        payments: PaymentService,
        outbox: Outbox,
    ) -> None:
        self._sessions = sessions
        self._practices = practices
        self._clients = clients
        self._ledger = ledger
        self._payments = payments
        self._outbox = outbox

    # -- completion -----------------------------------------------------------------------------
    def complete(self, practice_id: str, session_id: str, start: datetime, end: datetime) -> Session:
        session = self._sessions.complete(practice_id, session_id, start, end)
        price = session.price
        if price is not None and price.amount.amount > 0 and not price.not_billed:
            self._ledger.post(
                practice_id,
                client_id=session.client_id,
                kind="charge",
                amount=price.amount,
                source_key=f"session:{session.id}",
                memo="Session",
            )
        return session

    # -- check-in and the copay -----------------------------------------------------------------
    def check_in(self, practice_id: str, session_id: str, by: str) -> Session:
        current = self._sessions.get(practice_id, session_id)
        copay = None
        if current.status == "booked":
            client = self._clients.get(practice_id, current.client_id)
            if client.copay_amount:
                currency = self._practices.get(practice_id).currency
                copay = Money(amount=client.copay_amount, currency=currency)
        session = self._sessions.check_in(practice_id, session_id, copay)
        record = session.copay
        if record is None or record.status == "charged":
            return session
        self._ledger.post(
            practice_id,
            client_id=session.client_id,
            kind="charge",
            amount=record.amount,
            source_key=f"copay:{session.id}",
            memo="Copay",
        )
        status, payment_id, problem = self._charge(
            practice_id, session, kind="copay", key=f"copay:{session.id}", amount=record.amount, by=by
        )
        if status == "balance":
            self._copay_failed(practice_id, session, record.amount, problem or "not charged")
        updated = record.model_copy(update={"status": status, "payment_id": payment_id, "problem": problem})
        if updated != record:
            session = self._sessions.annotate(practice_id, session, "copay", updated)
        return session

    def _copay_failed(self, practice_id: str, session: Session, amount: Money, problem: str) -> None:
        practice = self._practices.get(practice_id)
        client = self._clients.get(practice_id, session.client_id)
        email = templates.copay_not_collected(
            practice=practice,
            client_name=client.display_name,
            amount=amount,
            session_id=session.id,
            problem=problem,
        )
        self._send(practice_id, f"copay-failed:{session.id}", email)

    # -- helpers --------------------------------------------------------------------------------
    def _charge(
        self, practice_id: str, session: Session, *, kind: ChargeKind, key: str, amount: Money, by: str
    ) -> tuple[ChargeStatus, str | None, str | None]:
        """Charge the payer's default card once per ``key``: (status, payment id, why not)."""
        try:
            payment = self._payments.charge_saved_card(
                practice_id,
                client_id=session.client_id,
                request_key=key,
                amount=amount.amount,
                kind=kind,
                memo=kind.replace("_", " ").capitalize(),
                created_by=by,
            )
        except _NOT_CHARGEABLE as exc:
            return "balance", None, exc.message
        status = _STATUS.get(payment.status)
        if status is not None:
            return status, payment.id, None
        why = payment.decline_code or payment.error_code or payment.failure_message or payment.status
        return "balance", payment.id, f"the card was declined ({why})"

    def _send(self, practice_id: str, dedup_key: str, email: Email) -> None:
        """Money never depends on an email: a failed send is logged, and a repeat of the request
        sends it (the outbox sends each dedup key at most once)."""
        try:
            self._outbox.send_once(practice_id, dedup_key, email)
        except Exception as exc:
            logger.warning("email not sent", dedup_key=dedup_key, error=type(exc).__name__)
