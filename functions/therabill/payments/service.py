"""Charging a saved card off-session, and recording what Stripe says happened.

Exactly once: the payment id is derived from the caller's idempotency key, the payment is written
(``pending``) before Stripe is called, and Stripe gets an idempotency key derived from the payment
id. A retried request, a crash after the Stripe call, a replayed or out-of-order webhook and the
reconciler all meet the same payment and converge on the same state; the ledger entry and the
receipt are keyed by the payment id, so neither can happen twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from therabill.adapters.dynamo import ConditionFailed, Table
from therabill.cards.models import Card, ChargeKind, OnSessionKind
from therabill.cards.service import CardService, ConsentError, card_from_item, check_consent
from therabill.clients.models import Payer
from therabill.clients.service import ClientService
from therabill.core import keys, signed_tokens
from therabill.core.clock import Clock, iso, parse_iso
from therabill.core.errors import (
    ConflictError,
    DependencyUnavailableError,
    InvalidRequestError,
    NotFoundError,
)
from therabill.core.ids import derived_id, is_id
from therabill.core.money import Money
from therabill.ledger.service import LedgerService
from therabill.notifications.mailer import Outbox
from therabill.observability import logger
from therabill.payments import emails, retries
from therabill.payments.gateway import (
    ChargeOutcome,
    GatewayRejectedError,
    GatewayUnavailableError,
    PaymentGateway,
)
from therabill.payments.models import LEDGER_POSTING, AttemptRecord, Payment
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService

AUTH_TOKEN_PURPOSE = "payment-auth"
AUTH_LINK_VALID_FOR = timedelta(days=7)
RECONCILE_AFTER = timedelta(minutes=2)  # leave in-flight requests alone

# Called once a payment of a kind has succeeded (from the request path, the webhook worker or the
# reconciler): AT LEAST once, so every hook must be idempotent. The payment is as stored.
SuccessHook = Callable[[Practice, Payment], None]
STRIPE_KEY_MEMORY = timedelta(hours=23)  # Stripe keeps idempotency keys for at least 24 h


def _item(practice_id: str, p: Payment) -> dict[str, Any]:
    item: dict[str, Any] = {
        "PK": keys.practice_pk(practice_id),
        "SK": keys.payment_sk(p.id),
        "type": "payment",
        "id": p.id,
        "practice_id": practice_id,
        "client_id": p.client_id,
        "owner_id": p.owner_id,
        "card_id": p.card_id,
        "consent_id": p.consent_id,
        "amount": p.amount.amount,
        "currency": p.amount.currency,
        "kind": p.kind,
        "memo": p.memo,
        "status": p.status,
        "created_at": iso(p.created_at),
        "updated_at": iso(p.updated_at),
        "created_by": p.created_by,
        "attempt": p.attempt,
    }
    if p.reference:
        item["reference"] = p.reference
    if p.status == "pending":  # sparse index of payments still waiting on Stripe
        item["GSI1PK"] = keys.PENDING_PAYMENTS_GSI
        item["GSI1SK"] = keys.pending_payment_gsi_sk(iso(p.started_at), practice_id, p.id)
    return item


def _attempt_record(raw: dict[str, Any]) -> AttemptRecord:
    return AttemptRecord(
        number=raw["number"],
        started_at=parse_iso(raw["started_at"]),
        declined_at=parse_iso(raw["declined_at"]),
        code=raw.get("code"),
        payment_intent_id=raw.get("payment_intent_id"),
    )


def _payment(item: dict[str, Any]) -> Payment:
    return Payment(
        id=item["id"],
        client_id=item["client_id"],
        owner_id=item["owner_id"],
        card_id=item["card_id"],
        consent_id=item["consent_id"],
        amount=Money(amount=item["amount"], currency=item["currency"]),
        kind=item["kind"],
        memo=item.get("memo", ""),
        status=item["status"],
        created_at=parse_iso(item["created_at"]),
        updated_at=parse_iso(item["updated_at"]),
        created_by=item["created_by"],
        payment_intent_id=item.get("payment_intent_id"),
        charge_id=item.get("charge_id"),
        error_code=item.get("error_code"),
        decline_code=item.get("decline_code"),
        failure_message=item.get("failure_message"),
        refunded_amount=item.get("refunded_amount", 0),
        dispute_id=item.get("dispute_id"),
        dispute_status=item.get("dispute_status"),
        dispute_reason=item.get("dispute_reason"),
        attempt=item.get("attempt", 1),
        attempt_started_at=parse_iso(item["attempt_started_at"]) if item.get("attempt_started_at") else None,
        next_retry_at=parse_iso(item["next_retry_at"]) if item.get("next_retry_at") else None,
        attempts=tuple(_attempt_record(a) for a in item.get("attempts", [])),
        reference=item.get("reference"),
    )


def _place_after_decline(
    decision: retries.RetryDecision,
    practice_id: str,
    payment_id: str,
    payment_intent_id: str | None,
    sets: list[str],
    removes: list[str],
    values: dict[str, Any],
) -> None:
    """Where a declined payment sits in GSI1 (it is in at most one of its indexes): the retry
    schedule while a retry is due, else the PaymentIntent lookup (or nowhere)."""
    if decision.action == "retry":
        assert decision.at is not None
        sets += ["next_retry_at = :next", "GSI1PK = :gpk", "GSI1SK = :gsk"]
        values[":next"] = iso(decision.at)
        values[":gpk"] = keys.RETRY_DUE_GSI
        values[":gsk"] = keys.retry_due_gsi_sk(iso(decision.at), practice_id, payment_id)
        return
    removes.append("next_retry_at")
    if payment_intent_id:
        sets += ["GSI1PK = :gpk", "GSI1SK = :gsk"]
        values[":gpk"] = keys.payment_intent_gsi(payment_intent_id)
        values[":gsk"] = keys.payment_sk(payment_id)
    else:
        removes += ["GSI1PK", "GSI1SK"]


@dataclass(frozen=True)
class _Parties:
    card: Card
    payer: Payer


class PaymentService:
    def __init__(
        self,
        table: Table,
        gateway: PaymentGateway,
        practices: PracticeService,
        clients: ClientService,
        cards: CardService,
        ledger: LedgerService,
        outbox: Outbox,
        clock: Clock,
        link_key: str,
        public_base_url: str,
        platform_fee_bps: int = 0,
    ) -> None:
        self._table = table
        self._gateway = gateway
        self._practices = practices
        self._clients = clients
        self._cards = cards
        self._ledger = ledger
        self._outbox = outbox
        self._clock = clock
        self._link_key = link_key
        self._public_base_url = public_base_url.rstrip("/")
        self._fee_bps = platform_fee_bps
        self._hooks: dict[str, list[SuccessHook]] = {}

    def on_success(self, kind: str, hook: SuccessHook) -> None:
        """Run ``hook`` after each success of a payment of ``kind`` (after its ledger entry and
        receipt). At least once per success: hooks must be idempotent. A hook that fails on the
        webhook path fails the event (SQS redelivers it); elsewhere it is logged and the
        ``payment_intent.succeeded`` event runs it again."""
        self._hooks.setdefault(kind, []).append(hook)

    # -- reads --------------------------------------------------------------------------------
    def get(self, practice_id: str, payment_id: str) -> Payment:
        if not is_id(payment_id, "pay"):
            raise NotFoundError("payment not found")
        item = self._table.get(keys.practice_pk(practice_id), keys.payment_sk(payment_id))
        if not item:
            raise NotFoundError("payment not found")
        return _payment(item)

    # -- charging -----------------------------------------------------------------------------
    def charge_saved_card(
        self,
        practice_id: str,
        *,
        client_id: str,
        request_key: str,
        amount: int,
        kind: ChargeKind,
        memo: str,
        created_by: str,
        card_id: str | None = None,
        owner_id: str | None = None,
        reference: str | None = None,
    ) -> Payment:
        """``reference`` names what the payment is for (e.g. ``copay:<ses>``), for its success hooks."""
        practice = self._practices.get(practice_id)
        payment_id = derived_id("pay", practice_id, request_key)
        existing = self._table.get(keys.practice_pk(practice_id), keys.payment_sk(payment_id))
        if existing:
            payment = _payment(existing)
            if (payment.client_id, payment.amount.amount, payment.kind) != (client_id, amount, kind):
                raise ConflictError(
                    "this Idempotency-Key was used for a different charge", payment_id=payment.id
                )
            if payment.status == "pending":
                return self._attempt(practice, payment)
            if payment.status == "succeeded":  # finish what a crash may have left (idempotent)
                return self.record_success(practice, payment.id, payment.payment_intent_id, payment.charge_id)
            return payment

        # The card, its owner and the consent decide the charge: read from the table, never from
        # an earlier read of this unit of work (a nightly batch charges many sessions in one).
        with self._table.fresh_reads():
            card, payer = self._resolve_card(practice_id, client_id, card_id, owner_id)
            if practice.stripe is None or not practice.stripe.charges_enabled:
                raise ConflictError("the practice's Stripe account cannot take charges yet")
            consent = self._cards.get_consent(practice_id, card.consent_id)
        now = self._clock()
        check_consent(consent, kind=kind, amount=amount, currency=practice.currency, now=now)
        payment = Payment(
            id=payment_id,
            client_id=client_id,
            owner_id=card.owner_id,
            card_id=card.id,
            consent_id=consent.id,
            amount=Money(amount=amount, currency=practice.currency),
            kind=kind,
            memo=memo,
            status="pending",
            created_at=now,
            updated_at=now,
            created_by=created_by,
            reference=reference,
        )
        payment, written = self._put_pending(practice_id, payment)
        if not written:
            return payment
        return self._attempt(practice, payment, _Parties(card, payer))

    def _put_pending(self, practice_id: str, payment: Payment) -> tuple[Payment, bool]:
        """Write a new payment, pending, before Stripe is called: (it, True); or (the one a
        concurrent identical request wrote first, False)."""
        try:
            self._table.put_new(_item(practice_id, payment))
        except ConditionFailed as exc:
            if exc.current is None:
                raise
            return _payment(exc.current), False
        return payment, True

    # -- on-session payments: the client pays on a page ---------------------------------------
    def start_client_payment(
        self,
        practice_id: str,
        *,
        client_id: str,
        owner_id: str | None,
        request_key: str,
        amount: int,
        kind: OnSessionKind,
        memo: str,
        created_by: str,
        reference: str | None = None,
    ) -> tuple[Payment, str | None]:
        """A payment the client makes on a page: Stripe.js confirms the returned PaymentIntent
        client secret. No consent is needed (the client is there). The payment id is derived from
        ``request_key`` and written ``pending`` BEFORE Stripe is called; the PaymentIntent's
        idempotency key is derived from the payment id, so a retried call (or the reconciler)
        meets the same PaymentIntent and gets the same client secret. Returns the payment and the
        client secret, or None when there is nothing (left) to pay on a page: paid already,
        cancelled, or Stripe unreachable just now (the payment stays pending; ``client_secret``
        or the reconciler creates the PaymentIntent later)."""
        if amount <= 0:
            raise InvalidRequestError("the amount must be positive", field="amount")
        practice = self._practices.get(practice_id)
        payment_id = derived_id("pay", practice_id, request_key)
        existing = self._table.get(keys.practice_pk(practice_id), keys.payment_sk(payment_id))
        if existing:
            payment = _payment(existing)
            if (payment.client_id, payment.amount.amount, payment.kind) != (client_id, amount, kind):
                raise ConflictError("this key was used for a different payment", payment_id=payment.id)
            return self._client_intent(practice, payment)
        payer = self._clients.payer(practice_id, client_id, owner_id)
        if practice.stripe is None or not practice.stripe.charges_enabled:
            raise ConflictError("the practice's Stripe account cannot take payments yet")
        now = self._clock()
        payment = Payment(
            id=payment_id,
            client_id=client_id,
            owner_id=payer.owner_id,
            card_id="",
            consent_id="",
            amount=Money(amount=amount, currency=practice.currency),
            kind=kind,
            memo=memo,
            status="pending",
            created_at=now,
            updated_at=now,
            created_by=created_by,
            reference=reference,
        )
        payment, _ = self._put_pending(practice_id, payment)
        return self._client_intent(practice, payment)

    def client_secret(self, practice: Practice, payment_id: str) -> tuple[Payment, str]:
        """For a pay page: the client secret of the payment's PaymentIntent (created now if a
        Stripe outage left the payment pending). 409 when there is nothing to pay."""
        payment, secret = self._client_intent(practice, self.get(practice.id, payment_id))
        if payment.status == "succeeded":
            raise ConflictError("this payment has already been made", status=payment.status)
        if secret is None:
            if payment.status == "pending":
                raise DependencyUnavailableError("the payment page is not ready; try again shortly")
            raise ConflictError("this payment can no longer be made", status=payment.status)
        return payment, secret

    def _client_intent(self, practice: Practice, payment: Payment) -> tuple[Payment, str | None]:
        if not payment.on_session:
            raise ConflictError("this payment is not paid on a page", payment_id=payment.id)
        if payment.status == "pending":
            return self._create_client_intent(practice, payment)
        if payment.status != "awaiting_client" or not payment.payment_intent_id:
            return payment, None
        assert practice.stripe is not None
        state = self._gateway.retrieve_payment_intent(
            account=practice.stripe.account_id, payment_intent_id=payment.payment_intent_id
        )
        paid = (state.status, state.amount, state.currency.lower()) == (
            "succeeded",
            payment.amount.amount,
            payment.amount.currency,
        )
        if paid:  # the client paid; the webhook may not have come yet
            return self.record_success(practice, payment.id, state.id, None), None
        if state.status in ("succeeded", "canceled", "processing") or not state.client_secret:
            return payment, None
        return payment, state.client_secret

    @staticmethod
    def _intent_key(payment: Payment) -> str:
        return f"therabill:pi:{payment.id}"

    def _create_client_intent(self, practice: Practice, payment: Payment) -> tuple[Payment, str | None]:
        """Create (or, with the same idempotency key, meet again) the on-session PaymentIntent of
        a pending payment, then record it: ``awaiting_client``, found by its PaymentIntent."""
        if self._clock() - payment.started_at > STRIPE_KEY_MEMORY:
            # Stripe may have forgotten the key: a new PaymentIntent could be paid twice.
            failed = self._record(
                practice,
                payment.id,
                status="failed",
                error_code="not_confirmed",
                message="Stripe could not be reached in time; nothing was charged by us",
            )
            return failed, None
        if practice.stripe is None or not practice.stripe.charges_enabled:
            logger.warning("payment page postponed: the practice cannot take payments", payment_id=payment.id)
            return payment, None
        payer = self._clients.payer(practice.id, payment.client_id, payment.owner_id)
        try:
            intent = self._gateway.create_payment_intent(
                account=practice.stripe.account_id,
                amount=payment.amount.amount,
                currency=payment.amount.currency,
                idempotency_key=self._intent_key(payment),
                description=f"Payment {payment.id}",
                metadata={
                    "therabill_practice_id": practice.id,
                    "therabill_payment_id": payment.id,
                    "therabill_client_id": payment.client_id,
                },
                customer_id=payer.stripe_customer_id,
            )
        except GatewayUnavailableError:
            logger.warning("stripe unavailable; payment left pending", payment_id=payment.id)
            return payment, None
        except GatewayRejectedError as exc:
            failed = self._record(
                practice, payment.id, status="failed", error_code="rejected", message=exc.message
            )
            return failed, None
        try:
            item = self._table.update(
                keys.practice_pk(practice.id),
                keys.payment_sk(payment.id),
                update=(
                    "SET #s = :awaiting, payment_intent_id = :pi, updated_at = :now, "
                    "GSI1PK = :gpk, GSI1SK = :gsk"
                ),
                condition="#s = :pending",
                names={"#s": "status"},
                values={
                    ":awaiting": "awaiting_client",
                    ":pending": "pending",
                    ":pi": intent.id,
                    ":now": iso(self._clock()),
                    ":gpk": keys.payment_intent_gsi(intent.id),
                    ":gsk": keys.payment_sk(payment.id),
                },
            )
        except ConditionFailed as exc:  # a concurrent call (or the webhook) moved it first
            if exc.current is None:
                raise NotFoundError("payment not found") from exc
            current = _payment(exc.current)
            return current, intent.client_secret if current.status == "awaiting_client" else None
        return _payment(item), intent.client_secret

    def cancel_client_payment(self, practice: Practice, payment_id: str) -> Payment:
        """Cancel an on-session payment nobody paid (a booking hold expired, staff cancelled).
        Stripe is asked first (key ``therabill:cancel:<pay>``): if the client paid meanwhile, the
        payment is recorded as succeeded (its hooks run) instead. Returns the payment as it ends:
        ``canceled``, ``succeeded``, or unchanged while Stripe says ``processing``. Raises
        GatewayUnavailableError when Stripe cannot answer (call again later)."""
        payment = self.get(practice.id, payment_id)
        if not payment.on_session:
            raise ConflictError("only a payment made on a page can be cancelled", payment_id=payment.id)
        if payment.status == "succeeded":
            return self.record_success(practice, payment.id, payment.payment_intent_id, payment.charge_id)
        if payment.status in ("canceled", "failed"):
            return payment
        if payment.status == "pending":
            # Stripe may have created the PaymentIntent even if we never heard back: meet it
            # again with the same key, so it can be cancelled too.
            payment, _ = self._create_client_intent(practice, payment)
            if payment.status == "pending":
                raise GatewayUnavailableError("stripe unavailable; cancel again later", payment_id=payment.id)
            if payment.status != "awaiting_client":
                return payment
        assert practice.stripe is not None and payment.payment_intent_id
        status = self._gateway.cancel_payment_intent(
            account=practice.stripe.account_id,
            payment_intent_id=payment.payment_intent_id,
            idempotency_key=f"therabill:cancel:{payment.id}",
        )
        if status == "succeeded":
            return self.record_success(practice, payment.id, payment.payment_intent_id, None)
        if status == "processing":
            return payment
        return self.record_canceled(practice, payment.id, payment.payment_intent_id)

    def record_canceled(self, practice: Practice, payment_id: str, payment_intent_id: str) -> Payment:
        """Stripe cancelled the payment's PaymentIntent (our cancel, or ``payment_intent.canceled``).
        Only an on-session payment still waiting on that PaymentIntent moves; a success is final."""
        try:
            item = self._table.update(
                keys.practice_pk(practice.id),
                keys.payment_sk(payment_id),
                update="SET #s = :canceled, updated_at = :now",
                condition="#s IN (:awaiting, :pending) AND payment_intent_id = :pi",
                names={"#s": "status"},
                values={
                    ":canceled": "canceled",
                    ":awaiting": "awaiting_client",
                    ":pending": "pending",
                    ":pi": payment_intent_id,
                    ":now": iso(self._clock()),
                },
            )
        except ConditionFailed as exc:
            if exc.current is None:
                raise NotFoundError("payment not found") from exc
            return _payment(exc.current)
        logger.info("client payment cancelled", payment_id=payment_id)
        return _payment(item)

    def _resolve_card(
        self, practice_id: str, client_id: str, card_id: str | None, owner_id: str | None
    ) -> tuple[Card, Payer]:
        """The card to charge and who owns it (whoever owns the card is who pays)."""
        if card_id:
            card = self._cards.get_card(practice_id, client_id, card_id)
            return card, self._clients.payer(practice_id, client_id, card.owner_id)
        payer = self._clients.payer(practice_id, client_id, owner_id)
        if not payer.default_card_id:
            raise InvalidRequestError("there is no card on file to charge", field="card_id")
        return self._cards.get_card(practice_id, client_id, payer.default_card_id), payer

    def _parties(self, practice_id: str, payment: Payment) -> _Parties:
        """The card and payer of a payment, read once and passed along (the card may have been
        removed since: a receipt still names it). Read from the table (an attempt is decided by them)."""
        with self._table.fresh_reads():
            item = self._table.get(
                keys.practice_pk(practice_id), keys.card_sk(payment.client_id, payment.card_id)
            )
            if not item:
                raise NotFoundError("card not found")
            payer = self._clients.payer(practice_id, payment.client_id, payment.owner_id)
        return _Parties(card_from_item(item), payer)

    def _attempt(self, practice: Practice, payment: Payment, parties: _Parties | None = None) -> Payment:
        """Call Stripe for a pending payment (first try, retry or reconciliation). Each attempt
        has its own idempotency key, and is only ever replayed while Stripe still remembers it,
        counted from that attempt's own start."""
        assert practice.stripe is not None
        if self._clock() - payment.started_at > STRIPE_KEY_MEMORY:
            # Stripe may have forgotten the idempotency key: a replay could charge twice.
            return self._record(
                practice,
                payment.id,
                status="failed",
                error_code="not_confirmed",
                message="Stripe could not be reached in time; not charged by us",
            )
        if payment.on_session:
            return self._create_client_intent(practice, payment)[0]
        parties = parties or self._parties(practice.id, payment)
        card, payer = parties.card, parties.payer
        if card.status != "active":
            return self._record(
                practice,
                payment.id,
                status="failed",
                error_code="card_removed",
                message="the card was removed before the charge was made",
            )
        if not payer.stripe_customer_id:
            raise ConflictError("the card's owner has no Stripe customer")
        fee = payment.amount.amount * self._fee_bps // 10_000 or None
        try:
            outcome = self._gateway.charge_off_session(
                account=practice.stripe.account_id,
                customer_id=payer.stripe_customer_id,
                payment_method_id=card.payment_method_id,
                amount=payment.amount.amount,
                currency=payment.amount.currency,
                idempotency_key=retries.idempotency_key(payment.id, payment.attempt),
                description=f"Payment {payment.id}",
                metadata={
                    "therabill_practice_id": practice.id,
                    "therabill_payment_id": payment.id,
                    "therabill_client_id": payment.client_id,
                },
                application_fee_amount=fee,
            )
        except GatewayUnavailableError:
            logger.warning("stripe unavailable; payment left pending", payment_id=payment.id)
            return payment
        except GatewayRejectedError as exc:
            return self._record(
                practice, payment.id, status="failed", error_code="rejected", message=exc.message
            )
        return self.apply_outcome(practice, payment.id, outcome, parties)

    def apply_outcome(
        self,
        practice: Practice,
        payment_id: str,
        outcome: ChargeOutcome,
        parties: _Parties | None = None,
        *,
        strict_email: bool = False,
    ) -> Payment:
        """Record what Stripe said. ``strict_email``: an email that cannot be sent raises (the
        webhook worker, so SQS redelivers); otherwise it is logged and left to the webhook."""
        if outcome.status == "succeeded":
            return self.record_success(
                practice,
                payment_id,
                outcome.payment_intent_id,
                outcome.charge_id,
                parties,
                strict_email=strict_email,
            )
        return self._record(
            practice,
            payment_id,
            status=outcome.status,
            payment_intent_id=outcome.payment_intent_id,
            error_code=outcome.error_code,
            decline_code=outcome.decline_code,
            message=outcome.message,
            parties=parties,
            strict_email=strict_email,
        )

    def _record(
        self,
        practice: Practice,
        payment_id: str,
        *,
        status: str,
        payment_intent_id: str | None = None,
        error_code: str | None = None,
        decline_code: str | None = None,
        message: str | None = None,
        parties: _Parties | None = None,
        strict_email: bool = False,
    ) -> Payment:
        """Record a non-success outcome, unless the payment has already succeeded."""
        if status == "declined":
            return self._record_decline(
                practice,
                payment_id,
                payment_intent_id=payment_intent_id,
                error_code=error_code,
                decline_code=decline_code,
                message=message,
                strict_email=strict_email,
            )
        fields = {
            "payment_intent_id": payment_intent_id,
            "error_code": error_code,
            "decline_code": decline_code,
            "failure_message": message,
        }
        changed, payment = self._move(practice.id, payment_id, status, fields)
        if not changed:
            return payment
        logger.info(
            "payment outcome",
            payment_id=payment.id,
            status=status,
            decline_code=decline_code,
            error_code=error_code,
        )
        if status == "requires_action":
            self._email(
                strict_email,
                payment,
                lambda: self._send_auth_link(
                    practice, payment, parties or self._parties(practice.id, payment)
                ),
            )
        return payment

    def record_success(
        self,
        practice: Practice,
        payment_id: str,
        payment_intent_id: str | None,
        charge_id: str | None,
        parties: _Parties | None = None,
        *,
        strict_email: bool = False,
    ) -> Payment:
        """Mark succeeded, post to the ledger and send the receipt: each at most once. If it had
        succeeded already, the ledger entry and receipt are still completed (a crash may have
        left them); both are keyed by the payment, so nothing happens twice."""
        fields = {"payment_intent_id": payment_intent_id, "charge_id": charge_id}
        _, payment = self._move(
            practice.id, payment_id, "succeeded", fields, clear=("error_code", "decline_code")
        )
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
        if payment.on_session:
            self._email(strict_email, payment, lambda: self._send_client_receipt(practice, payment))
        else:
            self._email(
                strict_email,
                payment,
                lambda: self._send_receipt(practice, payment, parties or self._parties(practice.id, payment)),
            )
        for hook in self._hooks.get(payment.kind, []):
            self._run_hook(strict_email, practice, payment, hook)
        return payment

    @staticmethod
    def _run_hook(strict: bool, practice: Practice, payment: Payment, hook: SuccessHook) -> None:
        if strict:
            hook(practice, payment)
            return
        try:
            hook(practice, payment)
        except Exception as exc:  # the payment.succeeded webhook runs it again
            logger.warning(
                "success hook deferred to the webhook", payment_id=payment.id, error=type(exc).__name__
            )

    def _move(
        self,
        practice_id: str,
        payment_id: str,
        status: str,
        fields: dict[str, str | None],
        clear: tuple[str, ...] = (),
    ) -> tuple[bool, Payment]:
        """Set the status (and the given fields) unless the payment has succeeded: success is
        final. Returns whether it changed, and the payment as it now is."""
        sets = ["#s = :s", "updated_at = :now"]
        values: dict[str, Any] = {":s": status, ":now": iso(self._clock()), ":done": "succeeded"}
        for name, value in fields.items():
            if value is not None:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = value
        removes = list(clear)
        if fields.get("payment_intent_id"):
            # Out of the pending index, into the PaymentIntent lookup (disputes name only the PI).
            sets += ["GSI1PK = :gpk", "GSI1SK = :gsk"]
            values[":gpk"] = keys.payment_intent_gsi(str(fields["payment_intent_id"]))
            values[":gsk"] = keys.payment_sk(payment_id)
        else:
            removes += ["GSI1PK", "GSI1SK"]
        removes.append("next_retry_at")  # out of the retry schedule too (at most one index)
        try:
            item = self._table.update(
                keys.practice_pk(practice_id),
                keys.payment_sk(payment_id),
                update="SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else ""),
                condition="attribute_exists(PK) AND #s <> :done",
                names={"#s": "status"},
                values=values,
            )
        except ConditionFailed as exc:
            if exc.current is None:
                raise NotFoundError("payment not found") from exc
            return False, _payment(exc.current)
        return True, _payment(item)

    # -- declines and their retries (payments/retries.py) --------------------------------------
    @staticmethod
    def _attempt_condition(attempt: int, values: dict[str, Any]) -> str:
        values[":attempt"] = attempt
        if attempt == 1:  # items written before attempts were numbered have no attribute
            return "(attribute_not_exists(attempt) OR attempt = :attempt)"
        return "attempt = :attempt"

    def _record_decline(
        self,
        practice: Practice,
        payment_id: str,
        *,
        payment_intent_id: str | None,
        error_code: str | None,
        decline_code: str | None,
        message: str | None,
        strict_email: bool,
    ) -> Payment:
        """Record a decline of the current attempt and decide what follows: another attempt at
        a time set by the decline code (the payment enters the RETRYDUE index), nothing (a hard
        decline stays declined), or giving up (failed, the codes kept, the practice told once).

        A decline of an earlier attempt (a late or replayed webhook) changes nothing, and neither
        does the same decline twice: the write is conditioned on the attempt it belongs to."""
        current = self.get(practice.id, payment_id)
        if current.status == "succeeded":
            return current
        if payment_intent_id and any(a.payment_intent_id == payment_intent_id for a in current.attempts):
            logger.info("decline of an earlier attempt ignored", payment_id=payment_id)
            return current
        now = self._clock()
        reason = retries.decline_reason(decline_code, error_code)
        decision = retries.decide(reason, attempt=current.attempt, declined_at=now)
        status = "failed" if decision.action == "give_up" else "declined"
        sets = ["#s = :s", "updated_at = :now"]
        values: dict[str, Any] = {":s": status, ":now": iso(now), ":done": "succeeded"}
        removes: list[str] = []
        for name, value in (
            ("payment_intent_id", payment_intent_id),
            ("error_code", error_code),
            ("decline_code", decline_code),
            ("failure_message", message),
        ):
            if value is not None:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = value
            elif name != "payment_intent_id":
                removes.append(name)
        _place_after_decline(decision, practice.id, payment_id, payment_intent_id, sets, removes, values)
        condition = "attribute_exists(PK) AND #s <> :done AND " + self._attempt_condition(
            current.attempt, values
        )
        if payment_intent_id:  # the same decline again (a replay) is not a new decline
            condition += (
                " AND (NOT (#s IN (:declined, :failed)) OR attribute_not_exists(payment_intent_id)"
                " OR payment_intent_id <> :payment_intent_id)"
            )
            values[":declined"] = "declined"
            values[":failed"] = "failed"
        try:
            item = self._table.update(
                keys.practice_pk(practice.id),
                keys.payment_sk(payment_id),
                update="SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else ""),
                condition=condition,
                names={"#s": "status"},
                values=values,
            )
        except ConditionFailed as exc:
            if exc.current is None:
                raise NotFoundError("payment not found") from exc
            return _payment(exc.current)
        payment = _payment(item)
        logger.info(
            "payment declined",
            payment_id=payment.id,
            attempt=payment.attempt,
            decline_code=decline_code,
            error_code=error_code,
            next_step=decision.action,
            next_retry_at=values.get(":next"),
        )
        if decision.action == "give_up":
            self._email(strict_email, payment, lambda: self._send_gave_up(practice, payment))
        return payment

    def retry_due(self, now: datetime | None = None, limit: int = 100) -> dict[str, int]:
        """Make the next attempt of every declined payment whose retry is due (scheduled, with
        the reconciler). Each row is isolated: one that fails is counted and logged."""
        now = now or self._clock()
        due = iso(now) + "#~"  # every key at or before now sorts below this
        page = self._table.query(keys.RETRY_DUE_GSI, index="GSI1", limit=limit)
        counts = {"attempted": 0, "succeeded": 0, "skipped": 0, "errors": 0}
        for row in page.items:
            if row["GSI1SK"] > due:
                break  # ordered by due time: the rest are later
            try:
                practice = self._practices.get(row["practice_id"])
                payment = self.get(practice.id, row["id"])
                result = self._start_retry(practice, payment, now)
            except Exception as exc:  # one bad row must not stop the others
                logger.error("retry failed", payment_id=row["id"], error=type(exc).__name__)
                counts["errors"] += 1
                continue
            if result is None:
                counts["skipped"] += 1
                continue
            counts["attempted"] += 1
            counts["succeeded"] += result.status == "succeeded"
        return counts

    def _start_retry(self, practice: Practice, payment: Payment, now: datetime) -> Payment | None:
        """Record attempt n+1 as pending (conditioned on the payment still being declined at
        attempt n) BEFORE Stripe is called, then call Stripe with that attempt's own key. A crash
        after the write leaves a pending attempt for the reconciler, replayed with the same key
        while Stripe remembers it, never after. None: not due or already taken by another run."""
        if payment.status != "declined" or payment.next_retry_at is None or payment.next_retry_at > now:
            return None
        if payment.on_session:  # never declined-and-scheduled; the client retries on the page
            return None
        if practice.stripe is None or not practice.stripe.charges_enabled:
            logger.warning("retry postponed: the practice cannot take charges", payment_id=payment.id)
            return None
        consent = self._cards.get_consent(practice.id, payment.consent_id)
        try:  # the card's consent may have been revoked or have expired since the decline
            check_consent(
                consent,
                kind=cast(ChargeKind, payment.kind),
                amount=payment.amount.amount,
                currency=payment.amount.currency,
                now=now,
            )
        except ConsentError as exc:
            given_up = self._record(
                practice, payment.id, status="failed", error_code="consent_not_valid", message=exc.message
            )
            self._email(False, given_up, lambda: self._send_gave_up(practice, given_up))
            return given_up
        number = payment.attempt + 1
        record: dict[str, Any] = {
            "number": payment.attempt,
            "started_at": iso(payment.started_at),
            "declined_at": iso(payment.updated_at),
        }
        code = retries.decline_reason(payment.decline_code, payment.error_code)
        if code:
            record["code"] = code
        if payment.payment_intent_id:
            record["payment_intent_id"] = payment.payment_intent_id
        values: dict[str, Any] = {
            ":pending": "pending",
            ":declined": "declined",
            ":n": number,
            ":now": iso(now),
            ":gpk": keys.PENDING_PAYMENTS_GSI,
            ":gsk": keys.pending_payment_gsi_sk(iso(now), practice.id, payment.id),
            ":rec": [record],
            ":empty": [],
        }
        condition = "#s = :declined AND " + self._attempt_condition(payment.attempt, values)
        try:
            item = self._table.update(
                keys.practice_pk(practice.id),
                keys.payment_sk(payment.id),
                update=(
                    "SET #s = :pending, attempt = :n, attempt_started_at = :now, updated_at = :now, "
                    "GSI1PK = :gpk, GSI1SK = :gsk, "
                    "attempts = list_append(if_not_exists(attempts, :empty), :rec) "
                    "REMOVE next_retry_at"
                ),
                condition=condition,
                names={"#s": "status"},
                values=values,
            )
        except ConditionFailed:
            return None  # another run (or a webhook) moved it first
        started = _payment(item)
        logger.info("retrying a declined payment", payment_id=payment.id, attempt=number)
        return self._attempt(practice, started)

    def _send_gave_up(self, practice: Practice, payment: Payment) -> None:
        if not practice.email:
            return
        email = emails.payment_given_up(practice=practice, payment=payment)
        self._outbox.send_once(practice.id, f"gave-up:{payment.id}", email)

    # -- emails -------------------------------------------------------------------------------
    @staticmethod
    def _email(strict: bool, payment: Payment, send: Callable[[], None]) -> None:
        """The money is recorded before any email. On a request path a failed email must not
        turn a completed charge into an error: it is logged and the webhook worker (strict)
        sends it, redelivered by SQS until it goes."""
        if strict:
            send()
            return
        try:
            send()
        except Exception as exc:
            logger.warning("email deferred to the webhook", payment_id=payment.id, error=type(exc).__name__)

    def _send_receipt(self, practice: Practice, payment: Payment, parties: _Parties) -> None:
        payer, card = parties.payer, parties.card
        if not payer.email:
            logger.info("no email for receipt", payment_id=payment.id)
            return
        email = emails.receipt(
            practice=practice,
            payer_name=payer.name,
            to=payer.email,
            payment=payment,
            card_brand=card.brand,
            card_last4=card.last4,
        )
        self._outbox.send_once(practice.id, f"receipt:{payment.id}", email)

    def _send_client_receipt(self, practice: Practice, payment: Payment) -> None:
        payer = self._clients.payer(practice.id, payment.client_id, payment.owner_id)
        if not payer.email:
            logger.info("no email for receipt", payment_id=payment.id)
            return
        email = emails.receipt(
            practice=practice,
            payer_name=payer.name,
            to=payer.email,
            payment=payment,
            card_brand=None,
            card_last4=None,
        )
        self._outbox.send_once(practice.id, f"receipt:{payment.id}", email)

    def auth_link(self, practice_id: str, payment_id: str) -> str:
        expires = self._clock() + AUTH_LINK_VALID_FOR
        token = signed_tokens.sign(
            self._link_key, AUTH_TOKEN_PURPOSE, {"p": practice_id, "pay": payment_id}, expires
        )
        return f"{self._public_base_url}/pay/authenticate/{token}"

    def _send_auth_link(self, practice: Practice, payment: Payment, parties: _Parties) -> None:
        payer = parties.payer
        if not payer.email:
            return
        email = emails.authentication_needed(
            practice=practice,
            payer_name=payer.name,
            to=payer.email,
            payment=payment,
            link=self.auth_link(practice.id, payment.id),
        )
        self._outbox.send_once(practice.id, f"auth:{payment.id}:{payment.payment_intent_id}", email)

    # -- the public authentication page -------------------------------------------------------
    def open_auth_link(self, token: str) -> tuple[Practice, Payment, str, str]:
        """For the page: (practice, payment, client_secret, payment_method_id)."""
        claims = signed_tokens.verify(self._link_key, AUTH_TOKEN_PURPOSE, token, self._clock())
        practice = self._practices.get(str(claims["p"]))
        payment = self.get(practice.id, str(claims["pay"]))
        if payment.status == "succeeded":
            raise ConflictError("this payment has already been made", status=payment.status)
        if payment.status != "requires_action" or not payment.payment_intent_id:
            raise ConflictError("this payment does not need authentication", status=payment.status)
        assert practice.stripe is not None
        state = self._gateway.retrieve_payment_intent(
            account=practice.stripe.account_id, payment_intent_id=payment.payment_intent_id
        )
        if state.status == "succeeded":  # the webhook records it
            raise ConflictError("this payment has already been made", status="succeeded")
        if not state.client_secret:
            raise ConflictError("this payment cannot be completed online")
        card = self._cards.get_card(practice.id, payment.client_id, payment.card_id)
        return practice, payment, state.client_secret, card.payment_method_id

    # -- reconciliation (scheduled) -----------------------------------------------------------
    def reconcile_pending(self, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
        """Finish payments left pending by a crash or a Stripe outage.

        Within Stripe's idempotency window the same request is replayed with the same key (Stripe
        returns the first result, or performs it once if it never arrived). Past the window a
        replay could charge twice, so such payments are marked failed for staff to review; a late
        ``payment_intent.succeeded`` can still turn them into successes."""
        now = now or self._clock()
        cutoff = iso(now - RECONCILE_AFTER)
        page = self._table.query(keys.PENDING_PAYMENTS_GSI, index="GSI1", limit=limit)
        counts = {"retried": 0, "expired": 0, "skipped": 0, "errors": 0}
        for row in page.items:
            if row["GSI1SK"] > cutoff:
                counts["skipped"] += 1
                continue
            try:
                practice = self._practices.get(row["practice_id"])
                payment = self.get(practice.id, row["id"])
                if payment.status != "pending":
                    continue
                result = self._attempt(practice, payment)
            except Exception as exc:  # one bad row must not stop the others
                logger.error("reconcile failed", payment_id=row["id"], error=type(exc).__name__)
                counts["errors"] += 1
                continue
            counts["expired" if result.error_code == "not_confirmed" else "retried"] += 1
        return counts
