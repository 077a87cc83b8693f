"""Posting a session's charges on the ledger and collecting them from each billing party's card.

Split billing: with responsibility rules on the client (``therabill.clients.responsibility``), each
charge is split across billing parties; each one's part is posted with their ``owner_id`` (source
key suffixed ``:<owner>``) and charged to their own default card (request key suffixed the same
way). With no rules, or when the client pays it all, the keys are the unsuffixed ones.
"""

from __future__ import annotations

from dataclasses import dataclass

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
from therabill.payments.gateway import GatewayRejectedError
from therabill.payments.models import Payment
from therabill.payments.service import PaymentService
from therabill.practices.service import PracticeService
from therabill.sessions.models import ChargeStatus, Session

# Why a copay or fee was not charged when its billing party's AutoPay is off: it is invoiced.
AUTOPAY_OFF = "AutoPay is off: it is invoiced"


@dataclass(frozen=True)
class Part:
    """One billing party's part of a charge and what became of it."""

    owner_id: str | None  # None: the client pays it all (no split)
    amount: Money
    suffix: str  # appended to source, request and email keys ("" when not split)
    status: ChargeStatus
    payment_id: str | None
    problem: str | None


@dataclass(frozen=True)
class Charged:
    """What a posted-and-charged amount came to, over all its billing parties."""

    status: ChargeStatus
    payment_id: str | None  # the first party's
    problem: str | None  # the first problem met
    unpaid: Money | None  # what was left a balance (None: nothing)
    parts: list[Part]


# Why a charge could not even be attempted: it stays a balance.
_NOT_CHARGEABLE = (
    InvalidRequestError,  # no card on file, consent out of scope (ConsentError)
    ConflictError,  # the practice cannot take charges, the billing party has no Stripe customer
    NotFoundError,  # the default card is gone
    DependencyUnavailableError,
    GatewayRejectedError,
)
_STATUS: dict[str, ChargeStatus] = {
    "succeeded": "charged",
    "pending": "pending",
    "requires_action": "requires_action",
}


def _overall(parts: list[Part], currency: str) -> Charged:
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
    return Charged(
        status=status,
        payment_id=next((p.payment_id for p in parts if p.payment_id is not None), None),
        problem=next((p.problem for p in parts if p.problem is not None), None),
        unpaid=Money(amount=unpaid, currency=currency) if unpaid else None,
        parts=parts,
    )


def _outcome(payment: Payment) -> tuple[ChargeStatus, str | None, str | None]:
    status = _STATUS.get(payment.status)
    if status is not None:
        return status, payment.id, None
    why = payment.decline_code or payment.error_code or payment.failure_message or payment.status
    if payment.status == "declined" and payment.next_retry_at is not None:
        return "retrying", payment.id, f"the card was declined ({why}); a retry is scheduled"
    return "balance", payment.id, f"the card was declined ({why})"


class SessionCharges:
    def __init__(
        self,
        *,
        clients: ClientService,
        ledger: LedgerService,
        payments: PaymentService,
        practices: PracticeService,
    ) -> None:
        self._practices = practices
        self._clients = clients
        self._ledger = ledger
        self._payments = payments

    def post_session_charge(self, practice_id: str, session: Session) -> None:
        """A completed session's charge (``session:<ses>``) from its price snapshot, per billing
        party; a $0 or not-billed session posts nothing. Not charged to a card here."""
        price = session.price
        if price is None or price.amount.amount <= 0 or price.not_billed:
            return
        for owner, part, suffix in self.parts(practice_id, session, price.amount, "session_fee"):
            # The party's credit (a deposit, a prepayment) is applied to it in the same write.
            self._ledger.post_charge(
                practice_id,
                client_id=session.client_id,
                amount=part,
                source_key=f"session:{session.id}{suffix}",
                memo="Session",
                owner_id=owner,
            )

    def parts(
        self, practice_id: str, session: Session, amount: Money, kind: SplitKind
    ) -> list[tuple[str | None, Money, str]]:
        """(owner id, part, key suffix) for each billing party with something to pay. With no
        rules, or when the client pays it all, one part: owner None and no suffix (the old keys)."""
        rules = self._clients.get_responsibility(practice_id, session.client_id)
        if rules is None:
            return [(None, amount, "")]
        parts = [(owner, part) for owner, part in split(amount.amount, rules, kind) if part > 0]
        if not parts or (len(parts) == 1 and parts[0][0] == session.client_id):
            return [(None, amount, "")]
        return [(owner, Money(amount=part, currency=amount.currency), f":{owner}") for owner, part in parts]

    def post_and_charge(
        self,
        practice_id: str,
        session: Session,
        *,
        kind: ChargeKind,
        prefix: str,
        amount: Money,
        memo: str,
        by: str,
    ) -> Charged:
        """Post and charge each billing party's part once (keys ``<prefix>:<ses>[:<owner>]``)."""
        assert kind in ("copay", "session_fee", "cancellation_fee")
        parts: list[Part] = []
        for owner, share, suffix in self.parts(practice_id, session, amount, kind):
            key = f"{prefix}:{session.id}{suffix}"
            posted = self._ledger.post_charge(
                practice_id,
                client_id=session.client_id,
                amount=share,
                source_key=key,
                memo=memo,
                owner_id=owner,
            )
            if posted.due.amount <= 0:  # the party's credit paid it all: no card charge
                parts.append(Part(owner, share, suffix, "credit", None, None))
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
            parts.append(Part(owner, share, suffix, *outcome))
        return _overall(parts, amount.currency)

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
        """Charge the party's default card once per ``key``: (status, payment id, why not).
        ``reference`` (``copay:<ses>`` / ``fee:<ses>``) lets a later success find the session.
        A billing party whose AutoPay is off is never charged: it stays a balance to invoice."""
        party = self._clients.billing_party(practice_id, session.client_id, owner_id)
        if not party.autopay_on(self._practices.get(practice_id).autopay_default):
            return "balance", None, AUTOPAY_OFF
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
        return _outcome(payment)

    def posted(self, practice_id: str, session: Session, prefix: str) -> list[LedgerEntry]:
        """The ledger charges ``<prefix>:<ses>`` posted for the session: one, or one per billing
        party (``<prefix>:<ses>:<owner>``) under split billing."""
        base = f"{prefix}:{session.id}"
        return [
            e
            for e in self._ledger.session_entries(practice_id, session.client_id, session.created_at)
            if e.kind == "charge" and (e.source_key == base or e.source_key.startswith(base + ":"))
        ]

    def single_party(self, practice_id: str, session: Session, prefix: str) -> bool:
        """``<prefix>:<ses>`` was posted for one billing party only (no split)."""
        return len(self.posted(practice_id, session, prefix)) <= 1

    def all_paid(self, practice_id: str, session: Session, prefix: str) -> bool:
        """Every party's part of ``<prefix>:<ses>`` is paid (by card or by credit)."""
        return all(
            self._part_paid(practice_id, charge.source_key, charge.amount)
            for charge in self.posted(practice_id, session, prefix)
        )

    def _part_paid(self, practice_id: str, key: str, amount: Money) -> bool:
        """One party's part: paid by its card payment (request key = the charge's source key), or
        in full by the credit applied to it (then no payment was made)."""
        try:
            return self._payments.get(practice_id, derived_id("pay", practice_id, key)).status == "succeeded"
        except NotFoundError:
            applied = self._ledger.posted(practice_id, f"credit-apply:{key}")
            return applied is not None and applied.amount == amount
