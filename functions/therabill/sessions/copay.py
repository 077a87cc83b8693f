"""The copay at check-in: snapshotted on the session, posted (``copay:<ses>``) and charged to the
billing party's default card (request key ``copay:<ses>``, so a repeated check-in meets the same
payment). No card, no consent or a final decline leaves it open on the ledger and tells the
practice (outbox ``copay-failed:<ses>``); a decline that will be retried tells no one yet. The
check-in stands either way."""

from __future__ import annotations

from therabill.clients.service import ClientService
from therabill.core.money import Money
from therabill.coverage.service import CoverageService
from therabill.notifications.mailer import Outbox
from therabill.practices.service import PracticeService
from therabill.sessions import emails
from therabill.sessions.charges import AUTOPAY_OFF, SessionCharges
from therabill.sessions.models import Session, self_pay
from therabill.sessions.service import SessionService


class CopayBilling:
    def __init__(
        self,
        *,
        sessions: SessionService,
        practices: PracticeService,
        clients: ClientService,
        coverage: CoverageService,
        charges: SessionCharges,
        outbox: Outbox,
    ) -> None:
        self._sessions = sessions
        self._coverage = coverage
        self._practices = practices
        self._clients = clients
        self._charges = charges
        self._outbox = outbox

    def check_in(self, practice_id: str, session_id: str, by: str) -> Session:
        session = self._sessions.check_in(practice_id, session_id, self._copay(practice_id, session_id))
        record = session.copay
        if record is None or record.status in ("charged", "credit"):
            return session
        charged = self._charges.post_and_charge(
            practice_id, session, kind="copay", prefix="copay", amount=record.amount, memo="Copay", by=by
        )
        if charged.unpaid is not None and charged.problem != AUTOPAY_OFF:  # not a failure: invoiced
            self._copay_failed(practice_id, session, charged.unpaid, charged.problem or "not charged")
        updated = record.model_copy(
            update={"status": charged.status, "payment_id": charged.payment_id, "problem": charged.problem}
        )
        if updated != record:
            session = self._sessions.annotate(practice_id, session, "copay", updated)
        return session

    def _copay(self, practice_id: str, session_id: str) -> Money | None:
        """The client's copay, for a session still booked (a repeated check-in keeps the first):
        only an insured session has one (the primary coverage's, on the session's date)."""
        current = self._sessions.get(practice_id, session_id)
        if current.status != "booked" or self_pay(current):
            return None
        client = self._clients.get(practice_id, current.client_id)
        copay = self._coverage.standing_at(practice_id, client, current.scheduled_start).copay
        if not copay:
            return None
        return Money(amount=copay, currency=self._practices.get(practice_id).currency)

    def _copay_failed(self, practice_id: str, session: Session, amount: Money, problem: str) -> None:
        practice = self._practices.get(practice_id)
        client = self._clients.get(practice_id, session.client_id)
        email = emails.copay_not_collected(
            practice=practice,
            client_name=client.display_name,
            amount=amount,
            session_id=session.id,
            problem=problem,
        )
        emails.send_quietly(self._outbox, practice_id, f"copay-failed:{session.id}", email)
