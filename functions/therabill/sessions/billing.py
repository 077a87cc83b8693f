"""The money side of the session lifecycle: each transition the staff API makes goes through here,
which makes the transition (SessionService) and then does what it owes, each step exactly once.

* Completing posts the session's charge (ledger source ``session:<ses>``) from the price snapshot;
  a $0 or not-billed session posts nothing.
* Checking in snapshots the client's copay on the session, posts its charge (``copay:<ses>``) and
  charges it to the payer's default card (request key ``copay:<ses>``, so a repeated check-in meets
  the same payment; the receipt is PaymentService's). No card, no consent or a final decline leaves
  it open on the ledger and tells the practice (outbox ``copay-failed:<ses>``); a decline that will
  be retried (``retrying``) tells no one yet — if the retries are given up, PaymentService tells the
  practice then. The check-in stands either way.
* Cancelling or marking a no-show assesses the fee with the policy in force for the session's
  service (the practice's, with the service's own override merged in; the policy engine in
  ``therabill.policies.cancellation``) and stores the outcome on the session (``fee``, first one
  stands). A fee due is posted once (``fee:<ses>``), charged to the payer's default card (request
  key ``fee:<ses>``; no card, no consent or a decline leaves it a balance) and each payer is emailed
  their amount and the policy that caused it once (``fee-notice:<ses>``, suffixed per payer).
* Split billing: with responsibility rules on the client (``therabill.clients.responsibility``),
  each charge above is split across payers; each payer's part is posted with their ``owner_id``
  (source key suffixed ``:<owner>``) and charged to that payer's own default card (request key
  suffixed the same way), so each payer gets only their own receipt. With no rules, or when the
  client pays it all, the keys are the unsuffixed ones above.
* Waiving a fee (before the practice's nightly cutoff, and only while it is unpaid) posts an
  adjustment (``waiver:<ses>``) and marks the fee waived.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from therabill.cards.models import ChargeKind
from therabill.clients.responsibility import SplitKind, split
from therabill.clients.service import ClientService
from therabill.core.errors import (
    ConflictError,
    DependencyUnavailableError,
    InvalidRequestError,
    NotFoundError,
)
from therabill.core.ids import derived_id
from therabill.core.money import Money
from therabill.ledger.service import LedgerEntry, LedgerService
from therabill.notifications.mailer import Email, Outbox
from therabill.observability import logger
from therabill.payments.gateway import GatewayRejectedError
from therabill.payments.models import Payment
from therabill.payments.service import PaymentService
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
from therabill.sessions.models import CancelledBy, ChargeStatus, FeeRecord, Session
from therabill.sessions.service import SessionService


@dataclass(frozen=True)
class _Part:
    """One payer's part of a charge and what became of it."""

    owner_id: str | None  # None: the client pays it all (no split)
    amount: Money
    suffix: str  # appended to source, request and email keys ("" when not split)
    status: ChargeStatus
    payment_id: str | None
    problem: str | None


@dataclass(frozen=True)
class _Charged:
    """What a posted-and-charged amount came to, over all its payers."""

    status: ChargeStatus
    payment_id: str | None  # the first payer's
    problem: str | None  # the first problem met
    unpaid: Money | None  # what was left a balance (None: nothing)
    parts: list[_Part]


# Why a charge could not even be attempted: it stays a balance.
_NOT_CHARGEABLE = (
    InvalidRequestError,  # no card on file, consent out of scope (ConsentError)
    ConflictError,  # the practice cannot take charges, the payer has no Stripe customer
    NotFoundError,  # the default card is gone
    DependencyUnavailableError,
    GatewayRejectedError,
)
# What each payer's fee notice says became of their part.
_FEE_OUTCOME: dict[str, str] = {
    "charged": "It has been charged to the card on file.",
    "credit": "It has been paid from the credit on your account.",
    "pending": "It is being charged to the card on file.",
    "retrying": "The card on file was declined; we will try it again.",
    "requires_action": "Your bank asked to confirm the payment: please follow the link we sent you.",
}
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
        self._sessions.mark_to_bill(practice_id, session)
        price = session.price
        if price is not None and price.amount.amount > 0 and not price.not_billed:
            for owner, part, suffix in self._parts(practice_id, session, price.amount, "session_fee"):
                # The payer's credit (a deposit, a prepayment) is applied to it in the same write.
                self._ledger.post_charge(
                    practice_id,
                    client_id=session.client_id,
                    amount=part,
                    source_key=f"session:{session.id}{suffix}",
                    memo="Session",
                    owner_id=owner,
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
        if record is None or record.status in ("charged", "credit"):
            return session
        charged = self._post_and_charge(
            practice_id, session, kind="copay", prefix="copay", amount=record.amount, memo="Copay", by=by
        )
        if charged.unpaid is not None:
            self._copay_failed(practice_id, session, charged.unpaid, charged.problem or "not charged")
        updated = record.model_copy(
            update={"status": charged.status, "payment_id": charged.payment_id, "problem": charged.problem}
        )
        if updated != record:
            session = self._sessions.annotate(practice_id, session, "copay", updated)
        return session

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
        self._send(practice_id, f"copay-failed:{session.id}", email)

    # -- cancellation and no-show fees -----------------------------------------------------------
    def cancel(self, practice_id: str, session_id: str, cancelled_by: CancelledBy, by: str) -> Session:
        practice = self._practices.get(practice_id)
        policy = self._policy(practice, self._sessions.get(practice_id, session_id))
        window = policy.late_cancellation.window_hours if policy.late_cancellation else None
        session = self._sessions.cancel(practice_id, session_id, cancelled_by, by, window)
        return self._fee(practice, session, by)

    def _policy(self, practice: Practice, session: Session) -> CancellationPolicy:
        """The policy in force for the session: the practice's, with its service's own terms."""
        service = self._sessions.service_of(practice.id, session)
        return merge_policy(practice.cancellation_policy or CancellationPolicy(), service.cancellation_policy)

    def no_show(self, practice_id: str, session_id: str, by: str) -> Session:
        session = self._sessions.no_show(practice_id, session_id)
        self._sessions.mark_to_bill(practice_id, session)
        return self._fee(self._practices.get(practice_id), session, by)

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
        charged = self._post_and_charge(
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

    def _assess(self, practice: Practice, session: Session) -> FeeRecord:
        policy = self._policy(practice, session)
        client = self._clients.get(practice.id, session.client_id)
        prior = [
            other.fee.offence_at
            for other in self._sessions.list_for_client(practice.id, session.client_id)
            if other.id != session.id
            and other.fee is not None
            and other.fee.counts_as_offence
            and other.fee.offence_at is not None
        ]
        event: PolicyCancellation | NoShow
        if session.status == "cancelled":
            assert session.cancellation is not None
            event = PolicyCancellation(
                cancelled_at=session.cancellation.cancelled_at,
                cancelled_by=session.cancellation.cancelled_by,
            )
            event_at = session.cancellation.cancelled_at
        else:
            event, event_at = NoShow(), session.scheduled_start
        price = self._sessions.scheduled_price(practice.id, session)
        assessment = assess(
            policy,
            event,
            session_start=session.scheduled_start,
            price=price,
            time_zone=practice.time_zone,
            cutoff_hour=practice.cutoff_hour,
            prior_offences=prior,
            payer_forbids_fees=client.payer_forbids_fees,
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

    def _fee_notice(
        self, practice: Practice, session: Session, record: FeeRecord, parts: list[_Part]
    ) -> None:
        """Each payer is told their own part (and only theirs) and what became of it, once."""
        split = len(parts) > 1 or any(p.owner_id is not None for p in parts)
        for part in parts:
            payer = self._clients.payer(practice.id, session.client_id, part.owner_id)
            if not payer.email:
                continue
            outcome = _FEE_OUTCOME.get(part.status, "It has been added to your account balance.")
            email = emails.fee_notice(
                practice=practice,
                client_name=payer.name,
                to=payer.email,
                fee=record.amount,
                explanation=record.explanation,
                outcome=outcome,
                share=part.amount if split else None,
            )
            self._send(practice.id, f"fee-notice:{session.id}{part.suffix}", email)

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
        practice = self._practices.get(practice_id)
        now = self._sessions.now()
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
        # Each payer's part of the fee is written off on that payer's account (what credit paid of
        # it goes back to their credit).
        for charge in self._charges(practice_id, session, "fee"):
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

    # -- a payment that finishes later ----------------------------------------------------------
    def payment_succeeded(self, practice: Practice, payment: Payment) -> None:
        """A copay or fee payment that succeeded after the request that made it (the reconciler
        after a Stripe outage, an authentication, a retry of a decline): the session's record
        follows, ``charged`` once every payer's part is paid (by card or credit). Idempotent."""
        reference = payment.reference or ""
        prefix, _, session_id = reference.partition(":")
        if prefix not in ("copay", "fee") or not session_id:
            return
        session = self._sessions.get(practice.id, session_id)
        name = "copay" if prefix == "copay" else "fee"
        record = session.copay if name == "copay" else session.fee
        if record is None or record.status not in ("pending", "requires_action", "retrying"):
            return
        for charge in self._charges(practice.id, session, prefix):
            if not self._part_paid(practice.id, charge.source_key, charge.amount):
                return  # another payer's part is still under way, or left a balance
        updated = record.model_copy(update={"status": "charged", "problem": None})
        self._sessions.annotate(practice.id, session, name, updated)

    def _charges(self, practice_id: str, session: Session, prefix: str) -> list[LedgerEntry]:
        """The ledger charges ``<prefix>:<ses>`` posted for the session: one, or one per payer
        (``<prefix>:<ses>:<owner>``) under split billing."""
        base = f"{prefix}:{session.id}"
        return [
            e
            for e in self._ledger.session_entries(practice_id, session.client_id, session.created_at)
            if e.kind == "charge" and (e.source_key == base or e.source_key.startswith(base + ":"))
        ]

    def _part_paid(self, practice_id: str, key: str, amount: Money) -> bool:
        """One payer's part: paid by its card payment (request key = the charge's source key), or
        in full by the credit applied to it (then no payment was made)."""
        try:
            return self._payments.get(practice_id, derived_id("pay", practice_id, key)).status == "succeeded"
        except NotFoundError:
            applied = self._ledger.posted(practice_id, f"credit-apply:{key}")
            return applied is not None and applied.amount == amount

    # -- helpers --------------------------------------------------------------------------------
    def _parts(
        self, practice_id: str, session: Session, amount: Money, kind: SplitKind
    ) -> list[tuple[str | None, Money, str]]:
        """(owner id, part, key suffix) for each payer with something to pay. With no rules, or
        when the client pays it all, one part: owner None and no suffix (the keys of old)."""
        rules = self._clients.get_responsibility(practice_id, session.client_id)
        if rules is None:
            return [(None, amount, "")]
        parts = [(owner, part) for owner, part in split(amount.amount, rules, kind) if part > 0]
        if not parts or (len(parts) == 1 and parts[0][0] == session.client_id):
            return [(None, amount, "")]
        return [(owner, Money(amount=part, currency=amount.currency), f":{owner}") for owner, part in parts]

    def _post_and_charge(
        self,
        practice_id: str,
        session: Session,
        *,
        kind: ChargeKind,
        prefix: str,
        amount: Money,
        memo: str,
        by: str,
    ) -> _Charged:
        """Post and charge each payer's part once."""
        assert kind in ("copay", "session_fee", "cancellation_fee")
        parts: list[_Part] = []
        for owner, share, suffix in self._parts(practice_id, session, amount, kind):
            key = f"{prefix}:{session.id}{suffix}"
            posted = self._ledger.post_charge(
                practice_id,
                client_id=session.client_id,
                amount=share,
                source_key=key,
                memo=memo,
                owner_id=owner,
            )
            if posted.due.amount <= 0:  # the payer's credit paid it all: no card charge
                parts.append(_Part(owner, share, suffix, "credit", None, None))
                continue
            # Only what the credit left is collected; the same key always asks the same amount.
            outcome = self._charge(
                practice_id,
                session,
                kind=kind,
                key=key,
                reference=f"{prefix}:{session.id}",
                amount=posted.due,
                by=by,
                owner_id=owner,
            )
            parts.append(_Part(owner, share, suffix, *outcome))
        statuses = [p.status for p in parts]
        status: ChargeStatus
        if all(st == "credit" for st in statuses):
            status = "credit"
        elif all(st in ("charged", "credit") for st in statuses):
            status = "charged"
        elif "balance" in statuses:
            status = "balance"
        else:
            status = next(st for st in statuses if st not in ("charged", "credit"))
        unpaid = sum(p.amount.amount for p in parts if p.status == "balance")
        return _Charged(
            status=status,
            payment_id=next((p.payment_id for p in parts if p.payment_id is not None), None),
            problem=next((p.problem for p in parts if p.problem is not None), None),
            unpaid=Money(amount=unpaid, currency=amount.currency) if unpaid else None,
            parts=parts,
        )

    def _charge(
        self,
        practice_id: str,
        session: Session,
        *,
        kind: ChargeKind,
        key: str,
        reference: str,
        amount: Money,
        by: str,
        owner_id: str | None = None,
    ) -> tuple[ChargeStatus, str | None, str | None]:
        """Charge the payer's default card once per ``key``: (status, payment id, why not).
        ``reference`` (``copay:<ses>`` / ``fee:<ses>``) lets a later success find the session."""
        try:
            payment = self._payments.charge_saved_card(
                practice_id,
                client_id=session.client_id,
                request_key=key,
                amount=amount.amount,
                kind=kind,
                memo=kind.replace("_", " ").capitalize(),
                created_by=by,
                owner_id=owner_id,
                reference=reference,
            )
        except _NOT_CHARGEABLE as exc:
            return "balance", None, exc.message
        status = _STATUS.get(payment.status)
        if status is not None:
            return status, payment.id, None
        why = payment.decline_code or payment.error_code or payment.failure_message or payment.status
        if payment.status == "declined" and payment.next_retry_at is not None:
            return "retrying", payment.id, f"the card was declined ({why}); a retry is scheduled"
        return "balance", payment.id, f"the card was declined ({why})"

    def _send(self, practice_id: str, dedup_key: str, email: Email) -> None:
        """Money never depends on an email: a failed send is logged, and a repeat of the request
        sends it (the outbox sends each dedup key at most once)."""
        try:
            self._outbox.send_once(practice_id, dedup_key, email)
        except Exception as exc:
            logger.warning("email not sent", dedup_key=dedup_key, error=type(exc).__name__)
