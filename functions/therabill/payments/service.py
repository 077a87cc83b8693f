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
from typing import Any

from therabill.adapters.dynamo import ConditionFailed, Table
from therabill.cards.models import Card, ChargeKind
from therabill.cards.service import CardService, ConsentError, card_from_item, check_consent
from therabill.clients.models import Payer
from therabill.clients.service import ClientService
from therabill.core import keys, signed_tokens
from therabill.core.clock import Clock, iso, parse_iso
from therabill.core.errors import ConflictError, InvalidRequestError, NotFoundError
from therabill.core.ids import derived_id, is_id
from therabill.core.money import Money
from therabill.ledger.service import LedgerService
from therabill.notifications import templates
from therabill.notifications.mailer import Outbox
from therabill.observability import logger
from therabill.payments import retries
from therabill.payments.gateway import (
    ChargeOutcome,
    GatewayRejectedError,
    GatewayUnavailableError,
    PaymentGateway,
)
from therabill.payments.models import AttemptRecord, Payment
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService

AUTH_TOKEN_PURPOSE = "payment-auth"
AUTH_LINK_VALID_FOR = timedelta(days=7)
RECONCILE_AFTER = timedelta(minutes=2)  # leave in-flight requests alone
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
    ) -> Payment:
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
        )
        try:
            self._table.put_new(_item(practice_id, payment))
        except ConditionFailed as exc:  # a concurrent identical request won the race
            if exc.current is None:
                raise
            return _payment(exc.current)
        return self._attempt(practice, payment, _Parties(card, payer))

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
        removed since: a receipt still names it)."""
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
        self._ledger.post(
            practice.id,
            client_id=payment.client_id,
            kind="payment",
            amount=payment.amount,
            source_key=f"payment:{payment.id}",
            memo=f"Card payment ({payment.kind.replace('_', ' ')})",
            method="card",
            payment_id=payment.id,
            owner_id=payment.owner_id,
        )
        self._email(
            strict_email,
            payment,
            lambda: self._send_receipt(practice, payment, parties or self._parties(practice.id, payment)),
        )
        return payment

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
        if practice.stripe is None or not practice.stripe.charges_enabled:
            logger.warning("retry postponed: the practice cannot take charges", payment_id=payment.id)
            return None
        consent = self._cards.get_consent(practice.id, payment.consent_id)
        try:  # the card's consent may have been revoked or have expired since the decline
            check_consent(
                consent,
                kind=payment.kind,
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
        email = templates.payment_given_up(practice=practice, payment=payment)
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
        email = templates.receipt(
            practice=practice,
            payer_name=payer.name,
            to=payer.email,
            payment=payment,
            card_brand=card.brand,
            card_last4=card.last4,
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
        email = templates.authentication_needed(
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
