"""Cancellation and no-show fees.

Cancelling or marking a no-show assesses the fee with the policy in force for the session's
service (the practice's, with the service's own override merged in; the policy engine in
``therabill.policies.cancellation``) and stores the outcome on the session (``fee``, first one
stands). A fee due is posted once (``fee:<ses>``), charged to the billing party's default card
(request key ``fee:<ses>``; no card, no consent or a decline leaves it a balance) and each billing
party is emailed their amount and the policy that caused it once (``fee-notice:<ses>``, suffixed
per party). Waiving a fee (before the practice's nightly cutoff, and only while it is unpaid) posts
an adjustment (``waiver:<ses>``) and marks the fee waived.
"""

from __future__ import annotations

from datetime import datetime

from therabill.clients.service import ClientService
from therabill.core.errors import ConflictError
from therabill.coverage.service import CoverageService
from therabill.ledger.service import LedgerService
from therabill.notifications.mailer import Outbox
from therabill.policies.cancellation import (
    Cancellation as PolicyCancellation,
)
from therabill.policies.cancellation import (
    CancellationPolicy,
    ClinicianWaiver,
    NoShow,
    assess,
    check_waiver,
    merge_policy,
)
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService
from therabill.sessions import emails
from therabill.sessions.charges import Part, SessionCharges
from therabill.sessions.models import CancelledBy, FeeRecord, Session
from therabill.sessions.service import SessionService

# What each billing party's fee notice says became of their part.
_FEE_OUTCOME: dict[str, str] = {
    "charged": "It has been charged to the card on file.",
    "credit": "It has been paid from the credit on your account.",
    "pending": "It is being charged to the card on file.",
    "retrying": "The card on file was declined; we will try it again.",
    "requires_action": "Your bank asked to confirm the payment: please follow the link we sent you.",
}


def _event(session: Session) -> tuple[PolicyCancellation | NoShow, datetime]:
    """What the policy assesses, and the instant of the offence."""
    if session.status == "cancelled":
        assert session.cancellation is not None
        event = PolicyCancellation(
            cancelled_at=session.cancellation.cancelled_at,
            cancelled_by=session.cancellation.cancelled_by,
        )
        return event, session.cancellation.cancelled_at
    return NoShow(), session.scheduled_start


class FeeBilling:
    def __init__(
        self,
        *,
        sessions: SessionService,
        practices: PracticeService,
        clients: ClientService,
        coverage: CoverageService,
        ledger: LedgerService,
        charges: SessionCharges,
        outbox: Outbox,
    ) -> None:
        self._sessions = sessions
        self._practices = practices
        self._clients = clients
        self._coverage = coverage
        self._ledger = ledger
        self._charges = charges
        self._outbox = outbox

    def cancel(self, practice_id: str, session_id: str, cancelled_by: CancelledBy, by: str) -> Session:
        practice = self._practices.get(practice_id)
        policy = self._policy(practice, self._sessions.get(practice_id, session_id))
        window = policy.late_cancellation.window_hours if policy.late_cancellation else None
        session = self._sessions.cancel(practice_id, session_id, cancelled_by, by, window)
        return self._fee(practice, session, by)

    def no_show(self, practice_id: str, session_id: str, by: str) -> Session:
        session = self._sessions.no_show(practice_id, session_id)
        self._sessions.mark_to_bill(practice_id, session)
        return self._fee(self._practices.get(practice_id), session, by)

    def _policy(self, practice: Practice, session: Session) -> CancellationPolicy:
        """The policy in force for the session: the practice's, with its service's own terms."""
        service = self._sessions.service_of(practice.id, session)
        return merge_policy(practice.cancellation_policy or CancellationPolicy(), service.cancellation_policy)

    def _fee(self, practice: Practice, session: Session, by: str) -> Session:
        """Assess (once: the first stored record stands), then do what a fee due owes, each step
        keyed so a repeated request does it at most once."""
        if session.fee is None:
            assessed = self._assess(practice, session)
            session = self._sessions.annotate(practice.id, session, "fee", assessed, only_if_absent=True)
        record = session.fee
        assert record is not None
        if record.amount.amount <= 0 or record.status in ("charged", "credit", "none", "waived"):
            return session
        charged = self._charges.post_and_charge(
            practice.id,
            session,
            kind="cancellation_fee",
            prefix="fee",
            amount=record.amount,
            memo="Cancellation fee" if session.status == "cancelled" else "Missed appointment fee",
            by=by,
        )
        self._fee_notice(practice, session, record, charged.parts)
        updated = record.model_copy(
            update={"status": charged.status, "payment_id": charged.payment_id, "problem": charged.problem}
        )
        if updated != record:
            session = self._sessions.annotate(practice.id, session, "fee", updated)
        return session

    def _prior_offences(self, practice_id: str, session: Session) -> list[datetime]:
        return [
            other.fee.offence_at
            for other in self._sessions.list_for_client(practice_id, session.client_id)
            if other.id != session.id
            and other.fee is not None
            and other.fee.counts_as_offence
            and other.fee.offence_at is not None
        ]

    def _assess(self, practice: Practice, session: Session) -> FeeRecord:
        policy = self._policy(practice, session)
        client = self._clients.get(practice.id, session.client_id)
        prior = self._prior_offences(practice.id, session)
        event, event_at = _event(session)
        price = self._sessions.scheduled_price(practice.id, session)
        assessment = assess(
            policy,
            event,
            session_start=session.scheduled_start,
            price=price,
            time_zone=practice.time_zone,
            cutoff_hour=practice.cutoff_hour,
            prior_offences=prior,
            payer_forbids_fees=self._coverage.standing_at(
                practice.id, client, session.scheduled_start
            ).forbids_fees,
        )
        return FeeRecord(
            amount=assessment.fee,
            reason=assessment.reason,
            explanation=assessment.explanation,
            counts_as_offence=assessment.counts_as_offence,
            offence_at=event_at if assessment.counts_as_offence else None,
            waived_amount=assessment.waived_amount,
            waiver_deadline=assessment.waiver_deadline,
            status="due" if assessment.charged else "none",
        )

    def _fee_notice(self, practice: Practice, session: Session, record: FeeRecord, parts: list[Part]) -> None:
        """Each billing party is told their own part (and only theirs) and what became of it, once."""
        split = len(parts) > 1 or any(p.owner_id is not None for p in parts)
        for part in parts:
            party = self._clients.billing_party(practice.id, session.client_id, part.owner_id)
            if not party.email:
                continue
            outcome = _FEE_OUTCOME.get(part.status, "It has been added to your account balance.")
            email = emails.fee_notice(
                practice=practice,
                client_name=party.name,
                to=party.email,
                fee=record.amount,
                explanation=record.explanation,
                outcome=outcome,
                share=part.amount if split else None,
            )
            emails.send_quietly(self._outbox, practice.id, f"fee-notice:{session.id}{part.suffix}", email)

    # -- waivers --------------------------------------------------------------------------------
    def waive_fee(self, practice_id: str, session_id: str, by: str) -> Session:
        """A clinician's waiver: before the nightly cutoff (409 after), and only while the fee is
        unpaid (a paid fee is refunded instead). Waiving again is harmless."""
        session = self._sessions.get(practice_id, session_id)
        record = session.fee
        if record is not None and record.status == "waived":
            return session
        if record is None or record.amount.amount <= 0 or record.status == "none":
            raise ConflictError(
                "the session has no fee to waive",
                reason="no_fee",
                session_id=session.id,
                status=session.status,
            )
        now = self._sessions.now()
        self._check_waivable(self._practices.get(practice_id), session, record, by, now)
        # Each party's part of the fee is written off on that party's account (what credit paid of
        # it goes back to their credit).
        for charge in self._charges.posted(practice_id, session, "fee"):
            self._ledger.post(
                practice_id,
                client_id=session.client_id,
                kind="adjustment",
                amount=charge.amount,
                source_key="waiver:" + charge.source_key.removeprefix("fee:"),
                memo="Fee waived",
                owner_id=charge.owner_id,
            )
        updated = record.model_copy(update={"status": "waived", "waived_by": by, "waived_at": now})
        return self._sessions.annotate(practice_id, session, "fee", updated)

    @staticmethod
    def _check_waivable(
        practice: Practice, session: Session, record: FeeRecord, by: str, now: datetime
    ) -> None:
        """Before the nightly cutoff (409 after), and only while the fee is unpaid."""
        check_waiver(
            ClinicianWaiver(waived_by=by, waived_at=now),
            session_start=session.scheduled_start,
            cutoff_hour=practice.cutoff_hour,
            time_zone=practice.time_zone,
        )
        if record.status in ("charged", "pending", "requires_action", "retrying"):
            raise ConflictError(
                "the fee was already paid (or its payment is under way): refund the payment instead",
                reason="fee_paid",
                payment_id=record.payment_id,
                refunds=f"/clients/{session.client_id}/payments/{record.payment_id}/refunds",
            )
