"""Applies one Stripe event to the domain. Event types are allow-listed; everything else is
acknowledged and ignored. Each handler is idempotent and tolerates any order of arrival."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from therabill.cards.service import CardService
from therabill.core.clock import Clock, utc_now
from therabill.core.errors import NotFoundError, RetryLaterError
from therabill.observability import logger
from therabill.payments.gateway import AccountState, ChargeOutcome, ChargeStatus, RefundState
from therabill.payments.refunds import RefundService, refund_id_of
from therabill.payments.service import PaymentService
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService


def _charge_id(intent: dict[str, Any]) -> str | None:
    """Current API versions name ``latest_charge``; 2020-08-27 and older carry ``charges``."""
    latest = intent.get("latest_charge")
    if isinstance(latest, str):
        return latest
    if isinstance(latest, dict):
        return latest.get("id")
    charges = (intent.get("charges") or {}).get("data") or []
    return charges[0].get("id") if charges else None


RECENT = timedelta(minutes=10)


class EventDispatcher:
    def __init__(
        self,
        *,
        practices: PracticeService,
        cards: CardService,
        payments: PaymentService,
        refunds: RefundService | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._clock = clock
        self._refunds = refunds
        self._practices = practices
        self._cards = cards
        self._payments = payments
        self._handlers: dict[str, Callable[[Practice, dict[str, Any], dict[str, Any]], str]] = {
            "setup_intent.succeeded": self._setup_succeeded,
            "payment_intent.succeeded": self._payment_succeeded,
            "payment_intent.payment_failed": self._payment_failed,
            "payment_intent.canceled": self._payment_canceled,
            "account.updated": self._account_updated,
        }
        if refunds is not None:
            self._handlers.update(
                {
                    "refund.created": self._refund_changed,
                    "refund.updated": self._refund_changed,
                    "refund.failed": self._refund_changed,
                    "charge.refunded": self._charge_refunded,
                    "charge.dispute.created": self._dispute,
                    "charge.dispute.updated": self._dispute,
                    "charge.dispute.closed": self._dispute,
                }
            )

    @property
    def handled_types(self) -> frozenset[str]:
        return frozenset(self._handlers)

    def _practice_for(self, event: dict[str, Any], obj: dict[str, Any]) -> Practice | None:
        """Connect events name the account; platform (and local) events carry our metadata."""
        account = event.get("account")
        metadata = obj.get("metadata") or {}
        claimed = metadata.get("therabill_practice_id")
        practice: Practice | None = None
        if isinstance(account, str) and account:
            # A Connect event: the account decides. Never fall back to metadata for it.
            practice = self._practices.find_by_stripe_account(account)
            if practice is None and self._recent(event):
                # The account may have been stored a moment ago (the index lags): retry.
                raise RetryLaterError("no practice has this account yet", account=account)
            return self._check(event, practice, claimed)
        if isinstance(claimed, str) and claimed:
            try:
                practice = self._practices.get(claimed)
            except NotFoundError:
                return None
        return self._check(event, practice, claimed)

    def _recent(self, event: dict[str, Any]) -> bool:
        created = datetime.fromtimestamp(int(event.get("created") or 0), UTC)
        return self._clock() - created < RECENT

    @staticmethod
    def _check(event: dict[str, Any], practice: Practice | None, claimed: Any) -> Practice | None:
        account = event.get("account")
        if practice is None:
            return None
        if claimed and claimed != practice.id:
            logger.warning("event metadata names another practice", event_id=event.get("id"))
            return None
        if account and practice.stripe and practice.stripe.account_id != account:
            logger.warning("event account is not the practice's account", event_id=event.get("id"))
            return None
        return practice

    def apply(self, event: dict[str, Any]) -> str:
        handler = self._handlers.get(event["type"])
        if handler is None:
            return "ignored:type"
        obj = event["data"]["object"]
        practice = self._practice_for(event, obj)
        if practice is None:
            return "ignored:unknown-practice"
        return handler(practice, event, obj)

    def _setup_succeeded(self, practice: Practice, event: dict[str, Any], obj: dict[str, Any]) -> str:
        pm = obj.get("payment_method")
        pm_id = pm.get("id") if isinstance(pm, dict) else pm
        if not isinstance(pm_id, str):
            return "ignored:no-payment-method"
        card = self._cards.complete_setup(
            practice, setup_intent_id=obj["id"], payment_method_id=pm_id, metadata=obj.get("metadata") or {}
        )
        return "card-saved" if card else "duplicate"

    def _payment_id(self, obj: dict[str, Any]) -> str | None:
        value = (obj.get("metadata") or {}).get("therabill_payment_id")
        return value if isinstance(value, str) else None

    def _payment_succeeded(self, practice: Practice, event: dict[str, Any], obj: dict[str, Any]) -> str:
        payment_id = self._payment_id(obj)
        if not payment_id:
            return "ignored:not-ours"
        try:
            payment = self._payments.get(practice.id, payment_id)
        except NotFoundError:
            return "ignored:unknown-payment"
        if (obj.get("amount"), str(obj.get("currency", "")).lower()) != (
            payment.amount.amount,
            payment.amount.currency,
        ):
            # Not the PaymentIntent we created for this payment (amounts are set by us, once).
            logger.error("payment_intent amount does not match its payment", payment_id=payment_id)
            return "ignored:amount-mismatch"
        self._payments.record_success(practice, payment_id, obj["id"], _charge_id(obj), strict_email=True)
        return "payment-succeeded"

    def _payment_failed(self, practice: Practice, event: dict[str, Any], obj: dict[str, Any]) -> str:
        payment_id = self._payment_id(obj)
        if not payment_id:
            return "ignored:not-ours"
        try:
            payment = self._payments.get(practice.id, payment_id)
        except NotFoundError:
            return "ignored:unknown-payment"
        if payment.on_session:
            # The client is on the page and may try another card on the same PaymentIntent:
            # nothing to record or retry (an abandoned one is cancelled when its hold expires).
            return "ignored:client-may-retry"
        error = obj.get("last_payment_error") or {}
        code = error.get("code")
        status: ChargeStatus = "requires_action" if code == "authentication_required" else "declined"
        outcome = ChargeOutcome(
            status=status,
            payment_intent_id=obj["id"],
            error_code=code,
            decline_code=error.get("decline_code"),
            message=error.get("message"),
        )
        try:
            payment = self._payments.apply_outcome(practice, payment_id, outcome, strict_email=True)
        except NotFoundError:
            return "ignored:unknown-payment"
        return f"payment-{payment.status}"

    def _payment_canceled(self, practice: Practice, event: dict[str, Any], obj: dict[str, Any]) -> str:
        payment_id = self._payment_id(obj)
        if not payment_id:
            return "ignored:not-ours"
        try:
            payment = self._payments.record_canceled(practice, payment_id, str(obj["id"]))
        except NotFoundError:
            return "ignored:unknown-payment"
        return f"payment-{payment.status}"

    def _refund_changed(self, practice: Practice, event: dict[str, Any], obj: dict[str, Any]) -> str:
        assert self._refunds is not None
        refund_id = refund_id_of(obj.get("metadata") or {})
        if refund_id is None:
            return "ignored:not-ours"  # refunds made in the Stripe Dashboard are not posted here
        state = RefundState(
            id=str(obj["id"]),
            status=str(obj.get("status") or "pending"),
            amount=int(obj.get("amount") or 0),
            currency=str(obj.get("currency") or ""),
            payment_intent_id=obj.get("payment_intent"),
            metadata=obj.get("metadata") or {},
            failure_reason=obj.get("failure_reason"),
        )
        try:
            refund = self._refunds.apply(practice, refund_id, state)
        except NotFoundError:
            return "ignored:unknown-refund"
        return f"refund-{refund.status}"

    def _charge_refunded(self, practice: Practice, event: dict[str, Any], obj: dict[str, Any]) -> str:
        """Older API versions list the refunds on the charge; current ones send ``refund.*``."""
        results = [
            self._refund_changed(practice, event, refund)
            for refund in ((obj.get("refunds") or {}).get("data") or [])
            if isinstance(refund, dict)
        ]
        return ",".join(results) or "ignored:no-refunds-listed"

    def _dispute(self, practice: Practice, event: dict[str, Any], obj: dict[str, Any]) -> str:
        assert self._refunds is not None
        return self._refunds.record_dispute(practice, obj, int(event.get("created") or 0))

    def _account_updated(self, practice: Practice, event: dict[str, Any], obj: dict[str, Any]) -> str:
        state = AccountState(
            id=obj["id"],
            charges_enabled=bool(obj.get("charges_enabled")),
            payouts_enabled=bool(obj.get("payouts_enabled")),
            details_submitted=bool(obj.get("details_submitted")),
        )
        at = datetime.fromtimestamp(int(event.get("created") or 0), UTC)
        changed = self._practices.apply_account_update(practice, state, at)
        return "account-updated" if changed else "stale"
