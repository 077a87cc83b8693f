"""Recording what Stripe says happened to a payment, from the request path, the webhook worker or
the reconciler, any number of times and in any order: success is final, and the ledger entry, the
receipt and the success hooks that follow it are each keyed by the payment, so none happens twice.
A payment given up (``Payment.given_up``: declined for good, or its retries used up) runs its
kind's given-up hooks, and when it had been retried (or was given up by the retry run) the
practice is told once (outbox ``gave-up:<pay>``); every later report of it does the same again,
which changes nothing.

Ledger effect of a success: a payment entry (it pays what is owed) or, for money paid ahead of a
session (``LEDGER_POSTING``), a credit; source ``payment:<pay>``.
"""

from __future__ import annotations

from collections.abc import Callable

from therabill.contract import METRIC_CHARGES_FAILED, METRIC_CHARGES_SUCCEEDED
from therabill.core.clock import Clock
from therabill.ledger.service import LedgerService
from therabill.observability import business, logger
from therabill.payments.declines import Declines
from therabill.payments.gateway import ChargeOutcome
from therabill.payments.mail import PaymentMail, deliver
from therabill.payments.models import LEDGER_POSTING, OutcomeFacts, Payment, for_an_order
from therabill.payments.parties import Parties, PartyFinder
from therabill.payments.store import PaymentStore
from therabill.practices.models import Practice

# Called once a payment of a kind has succeeded (from the request path, the webhook worker or the
# reconciler): AT LEAST once, so every hook must be idempotent. The payment is as stored.
SuccessHook = Callable[[Practice, Payment], None]
# Called once a payment of a kind is given up (``Payment.given_up``), with the same guarantees: at
# least once (every report of the outcome runs it again), so it must be idempotent.
GiveUpHook = Callable[[Practice, Payment], None]


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
        self._given_up_hooks: dict[str, list[GiveUpHook]] = {}

    def on_success(self, kind: str, hook: SuccessHook) -> None:
        self._hooks.setdefault(kind, []).append(hook)

    def on_given_up(self, kind: str, hook: GiveUpHook) -> None:
        self._given_up_hooks.setdefault(kind, []).append(hook)

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
        tell: bool = False,
    ) -> Payment:
        """Record a non-success outcome, unless the payment has already succeeded. A decline goes
        to the retry policy; ``requires_action`` sends the billing party the authentication link.
        A payment given up is settled (``_settle_given_up``) on every report, changed or not: a
        crash may have left its hooks or notice undone."""
        payment = self._recorded(
            practice, payment_id, status, facts, parties, strict_email=strict_email, tell=tell
        )
        self._settle_given_up(practice, payment, strict=strict_email, tell=tell)
        return payment

    def _recorded(
        self,
        practice: Practice,
        payment_id: str,
        status: str,
        facts: OutcomeFacts,
        parties: Parties | None,
        *,
        strict_email: bool,
        tell: bool,
    ) -> Payment:
        """The payment with the outcome applied: a decline through the retry policy, any other
        status moved once (a repeated report changes nothing and sends nothing)."""
        if status == "declined":
            return self._declines.record(practice, payment_id, facts)
        changed, payment = self._store.move(practice.id, payment_id, status, facts, self._clock())
        if not changed:
            return payment
        _moved(payment, status, facts, given_up_by_us=tell)
        if status == "requires_action":
            deliver(
                strict_email,
                payment,
                lambda: self._mail.authentication_needed(
                    practice, payment, parties or self._parties.of(practice.id, payment)
                ),
            )
        return payment

    def fail(
        self, practice: Practice, payment_id: str, error_code: str, message: str, *, tell: bool = False
    ) -> Payment:
        """Record a failure we decided on (not a decline from the bank)."""
        facts = OutcomeFacts(error_code=error_code, message=message)
        return self.record(practice, payment_id, "failed", facts, tell=tell)

    def give_up(self, practice: Practice, payment_id: str, error_code: str, message: str) -> Payment:
        """Fail a payment that was being retried, and tell the practice (once)."""
        return self.fail(practice, payment_id, error_code, message, tell=True)

    def _settle_given_up(self, practice: Practice, payment: Payment, *, strict: bool, tell: bool) -> None:
        """A payment given up: its kind's hooks first (a copay or fee becomes an open balance),
        then the practice's notice, once, when the payment had been retried (``attempt`` > 1) or
        the retry run gave it up (``tell``). A first attempt declined for good is the request's
        to report. On the webhook path (strict) a failure fails the event and SQS redelivers it."""
        if not payment.given_up:
            return
        for hook in self._given_up_hooks.get(payment.kind, []):
            _run_hook(strict, practice, payment, hook)
        if tell or payment.attempt > 1:
            deliver(strict, payment, lambda: self._mail.given_up(practice, payment))

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
        changed, payment = self._store.succeed_once(
            practice.id, payment_id, payment_intent_id, charge_id, self._clock()
        )
        if changed:  # counted once, however many reports of the success arrive
            business.count(METRIC_CHARGES_SUCCEEDED, amount=payment.amount)
        self._post(practice, payment)
        if for_an_order(payment):
            logger.debug("receipt left to the order", payment_id=payment.id)  # itemised, by the store
        elif payment.on_session:
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


def _moved(payment: Payment, status: str, facts: OutcomeFacts, *, given_up_by_us: bool) -> None:
    """A payment moved to ``status``: logged, and a failure counted (a retried payment given up
    is no new failure: its declines were counted)."""
    logger.info(
        "payment outcome",
        payment_id=payment.id,
        status=status,
        decline_code=facts.decline_code,
        error_code=facts.error_code,
    )
    if status == "failed" and not given_up_by_us:
        business.count(METRIC_CHARGES_FAILED, amount=payment.amount)


def _run_hook(strict: bool, practice: Practice, payment: Payment, hook: SuccessHook) -> None:
    """A hook that fails on the webhook path (strict) fails the event (SQS redelivers it);
    elsewhere it is logged and the payment's webhook event (``payment_intent.succeeded``,
    ``payment_intent.payment_failed``) runs it again."""
    if strict:
        hook(practice, payment)
        return
    try:
        hook(practice, payment)
    except Exception as exc:  # the payment.succeeded webhook runs it again
        logger.warning(
            "payment hook deferred to the webhook", payment_id=payment.id, error=type(exc).__name__
        )
