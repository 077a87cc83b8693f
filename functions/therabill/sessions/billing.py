"""The money side of the session lifecycle: each transition the staff API makes goes through here,
which makes the transition (SessionService) and then does what it owes, each step exactly once.

* Completing posts the session's charge (ledger source ``session:<ses>``) from the price snapshot;
  a $0 or not-billed session posts nothing (``charges.py``), and nor does an insured one
  (``CoverageService.insured_at``): the client owes only their copay, the rest is the claim's.
* Completing an insured session also uses the client's authorization that fits, once
  (``AuthorizationService.use``); a session booked as self-pay is billed as any cash-pay one.
* Checking in snapshots the client's copay on the session, posts and charges it (``copay.py``).
* Cancelling or marking a no-show assesses the fee, posts and charges it and tells each billing
  party; a clinician may waive an unpaid fee before the nightly cutoff (``fees.py``).
* Split billing: each charge above is split across the client's billing parties (``charges.py``).
* A copay or fee payment that succeeds later (the reconciler, an authentication, a retry of a
  decline) marks the session's record charged once every part is paid (here).
* A copay or fee payment given up later (its retries used up, a retry declined for good, the
  consent gone) leaves the session's record an open ``balance``, with the problem, once (here):
  the next invoice or the nightly run bills it. The practice's notice is the payment's own.
"""

from __future__ import annotations

from datetime import datetime

from therabill.authorizations.service import AuthorizationService, Visit
from therabill.coverage.service import CoverageService
from therabill.payments.models import Payment
from therabill.practices.models import Practice
from therabill.sessions.charges import SessionCharges
from therabill.sessions.copay import CopayBilling
from therabill.sessions.errors import SessionNotFoundError
from therabill.sessions.fees import FeeBilling
from therabill.sessions.models import CancelledBy, ChargeStatus, CopayRecord, FeeRecord, Session, self_pay
from therabill.sessions.service import SessionService

# A copay or fee whose payment is still under way (a later outcome decides it).
_UNDER_WAY: tuple[ChargeStatus, ...] = ("pending", "requires_action", "retrying")
_RECORDS = ("copay", "fee")  # a payment reference's prefix names the session's record
_Found = tuple[Session, str, CopayRecord | FeeRecord]


class SessionBilling:
    def __init__(
        self,
        *,
        sessions: SessionService,
        coverage: CoverageService,
        charges: SessionCharges,
        copay: CopayBilling,
        fees: FeeBilling,
        authorizations: AuthorizationService,
    ) -> None:
        self._authorizations = authorizations
        self._sessions = sessions
        self._coverage = coverage
        self._charges = charges
        self._copay = copay
        self._fees = fees

    def complete(self, practice_id: str, session_id: str, start: datetime, end: datetime) -> Session:
        """The transition is the truth; what it owes follows, each step once, so a retry of the
        same completion (the same times: the session unchanged) finishes what a crash left out."""
        session = self._sessions.complete(practice_id, session_id, start, end)
        self._sessions.mark_to_bill(practice_id, session)
        insured = not self_pay(session) and self._coverage.insured_at(
            practice_id, session.client_id, session.scheduled_start
        )
        if not insured:
            self._charges.post_session_charge(practice_id, session)
            return session
        real = session.actual_start and session.actual_end and session.actual_end - session.actual_start
        visit = Visit(
            session_id=session.id,
            client_id=session.client_id,
            scheduled_start=session.scheduled_start,
            cpt_code=session.price.cpt_code if session.price else None,
            actual_seconds=int(real.total_seconds()) if real else None,
        )
        self._authorizations.use(practice_id, visit)
        return session

    def check_in(self, practice_id: str, session_id: str, by: str) -> Session:
        return self._copay.check_in(practice_id, session_id, by)

    def cancel(self, practice_id: str, session_id: str, cancelled_by: CancelledBy, by: str) -> Session:
        return self._fees.cancel(practice_id, session_id, cancelled_by, by)

    def no_show(self, practice_id: str, session_id: str, by: str) -> Session:
        return self._fees.no_show(practice_id, session_id, by)

    def waive_fee(self, practice_id: str, session_id: str, by: str) -> Session:
        return self._fees.waive_fee(practice_id, session_id, by)

    def payment_succeeded(self, practice: Practice, payment: Payment) -> None:
        """A copay or fee payment that succeeded after the request that made it: the session's
        record follows, ``charged`` once every billing party's part is paid (by card or credit).
        Idempotent."""
        found = self._record_of(practice, payment, also_given_up=True)
        if found is None:
            return
        session, prefix, record = found
        if not self._charges.all_paid(practice.id, session, prefix):
            return  # another party's part is still under way, or left a balance
        updated = record.model_copy(update={"status": "charged", "problem": None})
        # A success after this very payment was given up (a late confirmation on the page) settles
        # the balance it left, so nothing invoices it again.
        moves = (*_UNDER_WAY, "balance") if record.payment_id == payment.id else _UNDER_WAY
        self._sessions.annotate(practice.id, session, prefix, updated, only_if_status=moves)

    def payment_given_up(self, practice: Practice, payment: Payment) -> None:
        """A copay or fee payment given up after the request that made it (``Payment.given_up``):
        the session's record becomes an open ``balance`` with the problem, so the next invoice or
        the nightly run bills it. Only a record still under way moves (one write, conditioned on
        that), so a repeat, or a report after the record moved on, changes nothing."""
        found = self._record_of(practice, payment)
        if found is None:
            return
        session, prefix, record = found
        if not self._charges.single_party(practice.id, session, prefix):
            # Under split billing one record stands for every party's part: another party's may be
            # paid or under way, and an invoice of the record would bill it again. The given-up
            # part stays with the practice's notice (``gave-up:<pay>``) for staff to invoice.
            return
        why = payment.decline_code or payment.error_code or payment.status
        tries = f" after {payment.attempt} attempts" if payment.attempt > 1 else ""
        problem = f"the card was declined ({why}){tries}; left open as a balance"
        update = {"status": "balance", "payment_id": payment.id, "problem": problem}
        updated = record.model_copy(update=update)
        self._sessions.annotate(practice.id, session, prefix, updated, only_if_status=_UNDER_WAY)

    def _record_of(
        self, practice: Practice, payment: Payment, *, also_given_up: bool = False
    ) -> _Found | None:
        """The session, prefix and copay or fee record a payment made at check-in, a cancellation
        or a no-show is for, while that record is still under way; else None."""
        prefix, _, session_id = (payment.reference or "").partition(":")
        if prefix not in _RECORDS or not session_id:
            return None
        try:
            session = self._sessions.get(practice.id, session_id)
        except SessionNotFoundError:
            return None
        record = session.copay if prefix == "copay" else session.fee
        if record is None:
            return None
        given_up_here = also_given_up and record.status == "balance" and record.payment_id == payment.id
        if record.status not in _UNDER_WAY and not given_up_here:
            return None
        return session, prefix, record
