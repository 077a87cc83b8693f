"""Payments the client makes on a page (a booking deposit, an invoice, a pay link): Stripe.js
confirms the PaymentIntent's client secret. No consent is needed (the client is there).

The payment id is derived from the request key and written ``pending`` BEFORE Stripe is called;
the PaymentIntent's idempotency key (``therabill:pi:<pay>``) is derived from the payment id, so a
retried call (or the reconciler) meets the same PaymentIntent and gets the same client secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from therabill.cards.models import OnSessionKind
from therabill.clients.service import ClientService
from therabill.core.clock import Clock
from therabill.core.errors import ConflictError, DependencyUnavailableError, InvalidRequestError
from therabill.core.ids import derived_id
from therabill.core.money import Money
from therabill.core.replay import replayed
from therabill.observability import logger
from therabill.payments import retries
from therabill.payments.gateway import GatewayRejectedError, GatewayUnavailableError, PaymentGateway
from therabill.payments.models import Payment, made_by, pending_payment
from therabill.payments.outcomes import Outcomes
from therabill.payments.store import PaymentStore
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService


@dataclass(frozen=True)
class ClientPaymentRequest:
    """A payment on a page as a caller asks for it (see ``PaymentService.start_client_payment``).
    ``reference`` names what it is for (e.g. ``session:<ses>``), for its success hooks."""

    client_id: str
    owner_id: str | None
    request_key: str
    amount: int
    kind: OnSessionKind
    memo: str
    created_by: str
    reference: str | None = None

    def made(self, payment: Payment) -> bool:
        """Whether ``payment`` (met under this request's key) was made by this same request."""
        return made_by(payment, self)

    def pending(self, payment_id: str, owner_id: str, amount: Money, now: datetime) -> Payment:
        """No card and no consent: the client pays with a card we do not store."""
        return pending_payment(self, payment_id=payment_id, owner_id=owner_id, amount=amount, now=now)


class ClientPayments:
    def __init__(
        self,
        *,
        store: PaymentStore,
        gateway: PaymentGateway,
        practices: PracticeService,
        clients: ClientService,
        outcomes: Outcomes,
        clock: Clock,
    ) -> None:
        self._store = store
        self._gateway = gateway
        self._practices = practices
        self._clients = clients
        self._outcomes = outcomes
        self._clock = clock

    def start(self, practice_id: str, request: ClientPaymentRequest) -> tuple[Payment, str | None]:
        """The payment and its client secret, or None when there is nothing (left) to pay on a
        page: paid already, cancelled, or Stripe unreachable just now (the payment stays pending;
        ``client_secret`` or the reconciler creates the PaymentIntent later)."""
        if request.amount <= 0:
            raise InvalidRequestError("the amount must be positive", field="amount")
        practice = self._practices.get(practice_id)
        payment_id = derived_id("pay", practice_id, request.request_key)
        existing = replayed(
            self._store.find(practice_id, payment_id),
            same=request.made,
            conflict="this key was used for a different payment",
            payment_id=payment_id,
        )
        if existing:
            return self.intent(practice, existing)
        party = self._clients.billing_party(practice_id, request.client_id, request.owner_id)
        if practice.stripe is None or not practice.stripe.charges_enabled:
            raise ConflictError("the practice's Stripe account cannot take payments yet")
        amount = Money(amount=request.amount, currency=practice.currency)
        payment = request.pending(payment_id, party.owner_id, amount, self._clock())
        payment, _ = self._store.add_pending(practice_id, payment)
        return self.intent(practice, payment)

    def client_secret(self, practice: Practice, payment_id: str) -> tuple[Payment, str]:
        """For a pay page: the client secret of the payment's PaymentIntent (created now if a
        Stripe outage left the payment pending). 409 when there is nothing to pay."""
        payment, secret = self.intent(practice, self._store.get(practice.id, payment_id))
        if payment.status == "succeeded":
            raise ConflictError("this payment has already been made", status=payment.status)
        if secret is None:
            if payment.status == "pending":
                raise DependencyUnavailableError("the payment page is not ready; try again shortly")
            raise ConflictError("this payment can no longer be made", status=payment.status)
        return payment, secret

    def intent(self, practice: Practice, payment: Payment) -> tuple[Payment, str | None]:
        """The payment as it now is and the client secret to pay it with, if it can be paid."""
        if not payment.on_session:
            raise ConflictError("this payment is not paid on a page", payment_id=payment.id)
        if payment.status == "pending":
            return self.create_intent(practice, payment)
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
            return self._outcomes.record_success(practice, payment.id, state.id, None), None
        if state.status in ("succeeded", "canceled", "processing") or not state.client_secret:
            return payment, None
        return payment, state.client_secret

    def create_intent(self, practice: Practice, payment: Payment) -> tuple[Payment, str | None]:
        """Create (or, with the same idempotency key, meet again) the on-session PaymentIntent of
        a pending payment, then record it: ``awaiting_client``, found by its PaymentIntent."""
        if retries.stripe_may_forget(payment.started_at, self._clock()):
            message = "Stripe could not be reached in time; nothing was charged by us"
            return self._outcomes.fail(practice, payment.id, "not_confirmed", message), None
        if practice.stripe is None or not practice.stripe.charges_enabled:
            logger.warning("payment page postponed: the practice cannot take payments", payment_id=payment.id)
            return payment, None
        party = self._clients.billing_party(practice.id, payment.client_id, payment.owner_id)
        try:
            intent = self._gateway.create_payment_intent(
                account=practice.stripe.account_id,
                amount=payment.amount.amount,
                currency=payment.amount.currency,
                idempotency_key=f"therabill:pi:{payment.id}",
                description=f"Payment {payment.id}",
                metadata={
                    "therabill_practice_id": practice.id,
                    "therabill_payment_id": payment.id,
                    "therabill_client_id": payment.client_id,
                },
                customer_id=party.stripe_customer_id,
            )
        except GatewayUnavailableError:
            logger.warning("stripe unavailable; payment left pending", payment_id=payment.id)
            return payment, None
        except GatewayRejectedError as exc:
            return self._outcomes.fail(practice, payment.id, "rejected", exc.message), None
        # Unless a concurrent call (or the webhook) moved it first.
        _, current = self._store.await_client(practice.id, payment.id, intent.id, self._clock())
        return current, intent.client_secret if current.status == "awaiting_client" else None

    def cancel(self, practice: Practice, payment_id: str) -> Payment:
        """Cancel an on-session payment nobody paid (a booking hold expired, staff cancelled).
        Stripe is asked first (key ``therabill:cancel:<pay>``): if the client paid meanwhile, the
        payment is recorded as succeeded (its hooks run) instead. Returns the payment as it ends:
        ``canceled``, ``succeeded``, or unchanged while Stripe says ``processing``. Raises
        GatewayUnavailableError when Stripe cannot answer (call again later)."""
        payment = self._store.get(practice.id, payment_id)
        if not payment.on_session:
            raise ConflictError("only a payment made on a page can be cancelled", payment_id=payment.id)
        if payment.status == "succeeded":
            return self._outcomes.record_success(
                practice, payment.id, payment.payment_intent_id, payment.charge_id
            )
        if payment.status in ("canceled", "failed"):
            return payment
        if payment.status == "pending":
            # Stripe may have created the PaymentIntent even if we never heard back: meet it
            # again with the same key, so it can be cancelled too.
            payment, _ = self.create_intent(practice, payment)
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
            return self._outcomes.record_success(practice, payment.id, payment.payment_intent_id, None)
        if status == "processing":
            return payment
        return self.record_canceled(practice, payment.id, payment.payment_intent_id)

    def record_canceled(self, practice: Practice, payment_id: str, payment_intent_id: str) -> Payment:
        """Stripe cancelled the payment's PaymentIntent (our cancel, or ``payment_intent.canceled``).
        Only an on-session payment still waiting on that PaymentIntent moves; a success is final."""
        moved, payment = self._store.cancel(practice.id, payment_id, payment_intent_id, self._clock())
        if moved:
            logger.info("client payment cancelled", payment_id=payment_id)
        return payment
