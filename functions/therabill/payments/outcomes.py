"""Recording what Stripe says happened to a payment, from the request path, the webhook worker or
the reconciler, any number of times and in any order: success is final, and the ledger entry, the
receipt and the success hooks that follow it are each keyed by the payment, so none happens twice.

Ledger effect of a success: a payment entry (it pays what is owed) or, for money paid ahead of a
session (``LEDGER_POSTING``), a credit; source ``payment:<pay>``.
"""

from __future__ import annotations

from collections.abc import Callable

from therabill.core.clock import Clock
from therabill.ledger.service import LedgerService
from therabill.observability import logger
from therabill.payments.declines import Declines
from therabill.payments.gateway import ChargeOutcome
from therabill.payments.mail import PaymentMail, deliver
from therabill.payments.models import LEDGER_POSTING, OutcomeFacts, Payment
from therabill.payments.parties import Parties, PartyFinder
from therabill.payments.store import PaymentStore
from therabill.practices.models import Practice

# Called once a payment of a kind has succeeded (from the request path, the webhook worker or the
# reconciler): AT LEAST once, so every hook must be idempotent. The payment is as stored.
SuccessHook = Callable[[Practice, Payment], None]


class Outcomes:
    def __init__(
        self,
        *,
        store: PaymentStore,
        ledger: LedgerService,
        mail: PaymentMail,
        parties: PartyFinder,
        declines: Declines,
        clock: Clock,
    ) -> None:
        self._store = store
        self._ledger = ledger
        self._mail = mail
        self._parties = parties
        self._declines = declines
        self._clock = clock
        self._hooks: dict[str, list[SuccessHook]] = {}

    def on_success(self, kind: str, hook: SuccessHook) -> None:
        self._hooks.setdefault(kind, []).append(hook)

    def apply(
        self,
        practice: Practice,
        payment_id: str,
        outcome: ChargeOutcome,
        parties: Parties | None = None,
        *,
        strict_email: bool = False,
    ) -> Payment:
        """Record what Stripe said of a charge attempt."""
        if outcome.status == "succeeded":
            return self.record_success(
                practice,
                payment_id,
                outcome.payment_intent_id,
                outcome.charge_id,
                parties,
                strict_email=strict_email,
            )
        facts = OutcomeFacts(
            payment_intent_id=outcome.payment_intent_id,
            error_code=outcome.error_code,
            decline_code=outcome.decline_code,
            message=outcome.message,
        )
        return self.record(practice, payment_id, outcome.status, facts, parties, strict_email=strict_email)

    def record(
        self,
        practice: Practice,
        payment_id: str,
        status: str,
        facts: OutcomeFacts,
        parties: Parties | None = None,
        *,
        strict_email: bool = False,
    ) -> Payment:
        """Record a non-success outcome, unless the payment has already succeeded. A decline goes
        to the retry policy; ``requires_action`` sends the billing party the authentication link."""
        if status == "declined":
            return self._declines.record(practice, payment_id, facts, strict_email=strict_email)
        changed, payment = self._store.move(practice.id, payment_id, status, facts, self._clock())
        if not changed:
            return payment
        logger.info(
            "payment outcome",
            payment_id=payment.id,
            status=status,
            decline_code=facts.decline_code,
            error_code=facts.error_code,
        )
        if status == "requires_action":
            deliver(
                strict_email,
                payment,
                lambda: self._mail.authentication_needed(
                    practice, payment, parties or self._parties.of(practice.id, payment)
                ),
            )
        return payment

    def fail(self, practice: Practice, payment_id: str, error_code: str, message: str) -> Payment:
        """Record a failure we decided on (not a decline from the bank)."""
        return self.record(
            practice, payment_id, "failed", OutcomeFacts(error_code=error_code, message=message)
        )

    def give_up(self, practice: Practice, payment_id: str, error_code: str, message: str) -> Payment:
        """Fail a payment that was being retried, and tell the practice (once)."""
        given_up = self.fail(practice, payment_id, error_code, message)
        deliver(False, given_up, lambda: self._mail.given_up(practice, given_up))
        return given_up

    def record_success(
        self,
        practice: Practice,
        payment_id: str,
        payment_intent_id: str | None,
        charge_id: str | None,
        parties: Parties | None = None,
        *,
        strict_email: bool = False,
    ) -> Payment:
        """Mark succeeded, post to the ledger, send the receipt and run the kind's hooks. If it had
        succeeded already, these are still completed (a crash may have left them)."""
        payment = self._store.succeed(practice.id, payment_id, payment_intent_id, charge_id, self._clock())
        self._post(practice, payment)
        if payment.on_session:
            deliver(strict_email, payment, lambda: self._mail.client_receipt(practice, payment))
        else:
            deliver(
                strict_email,
                payment,
                lambda: self._mail.receipt(
                    practice, payment, parties or self._parties.of(practice.id, payment)
                ),
            )
        for hook in self._hooks.get(payment.kind, []):
            _run_hook(strict_email, practice, payment, hook)
        return payment

    def _post(self, practice: Practice, payment: Payment) -> None:
        posting = LEDGER_POSTING.get(payment.kind, "payment")
        self._ledger.post(
            practice.id,
            client_id=payment.client_id,
            kind=posting,
            amount=payment.amount,
            source_key=f"payment:{payment.id}",
            memo=f"Card payment ({payment.kind.replace('_', ' ')})"
            + (", held as credit" if posting == "credit" else ""),
            method="card",
            payment_id=payment.id,
            owner_id=payment.owner_id,
        )


def _run_hook(strict: bool, practice: Practice, payment: Payment, hook: SuccessHook) -> None:
    """A hook that fails on the webhook path (strict) fails the event (SQS redelivers it);
    elsewhere it is logged and the ``payment_intent.succeeded`` event runs it again."""
    if strict:
        hook(practice, payment)
        return
    try:
        hook(practice, payment)
    except Exception as exc:  # the payment.succeeded webhook runs it again
        logger.warning(
            "success hook deferred to the webhook", payment_id=payment.id, error=type(exc).__name__
        )
