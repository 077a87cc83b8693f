"""When the bank wants the cardholder (3-D Secure on an off-session charge): a signed link, sent
by email, to a page where the billing party confirms the payment with Stripe.js."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from therabill.cards.models import Card
from therabill.cards.service import CardService
from therabill.core import signed_tokens
from therabill.core.clock import Clock
from therabill.payments.errors import NoAuthenticationNeededError, PaymentAlreadyMadeError
from therabill.payments.gateway import PaymentGateway
from therabill.payments.models import Payment
from therabill.payments.store import PaymentStore
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService

AUTH_TOKEN_PURPOSE = "payment-auth"
AUTH_LINK_VALID_FOR = timedelta(days=7)


@dataclass(frozen=True)
class AuthPage:
    """The authentication page's facts: who asks, for what, on which card (never clinical detail)."""

    practice: Practice
    payment: Payment
    client_secret: str
    card: Card


class AuthLinks:
    """Signs and reads the authentication links (a week's validity)."""

    def __init__(self, *, link_key: str, public_base_url: str, clock: Clock) -> None:
        self._key = link_key
        self._base_url = public_base_url.rstrip("/")
        self._clock = clock

    def link(self, practice_id: str, payment_id: str) -> str:
        expires = self._clock() + AUTH_LINK_VALID_FOR
        token = signed_tokens.sign(
            self._key, AUTH_TOKEN_PURPOSE, {"p": practice_id, "pay": payment_id}, expires
        )
        return f"{self._base_url}/pay/authenticate/{token}"

    def claims(self, token: str) -> dict[str, Any] | None:
        """A link's claims, expired or not; None when we did not sign it."""
        return signed_tokens.signed_claims(self._key, AUTH_TOKEN_PURPOSE, token)

    def read(self, token: str) -> tuple[str, str]:
        """(practice id, payment id) of a valid link; raises for a bad or expired one."""
        claims = signed_tokens.verify(self._key, AUTH_TOKEN_PURPOSE, token, self._clock())
        return str(claims["p"]), str(claims["pay"])


class AuthenticationPage:
    def __init__(
        self,
        *,
        links: AuthLinks,
        store: PaymentStore,
        gateway: PaymentGateway,
        practices: PracticeService,
        cards: CardService,
    ) -> None:
        self._links = links
        self._store = store
        self._gateway = gateway
        self._practices = practices
        self._cards = cards

    def link(self, practice_id: str, payment_id: str) -> str:
        return self._links.link(practice_id, payment_id)

    def link_practice(self, token: str) -> Practice | None:
        """The practice an authentication link comes from, expired or not (None: not ours)."""
        return self._practices.of_link(self._links.claims(token))

    def open(self, token: str) -> AuthPage:
        """What the page shows and needs; PaymentAlreadyMadeError when there is nothing to do."""
        practice_id, payment_id = self._links.read(token)
        practice = self._practices.get(practice_id)
        payment = self._store.get(practice.id, payment_id)
        if payment.status == "succeeded":
            raise PaymentAlreadyMadeError(payment.id)
        if payment.status != "requires_action" or not payment.payment_intent_id:
            raise NoAuthenticationNeededError(payment.id, payment.status)
        assert practice.stripe is not None
        state = self._gateway.retrieve_payment_intent(
            account=practice.stripe.account_id, payment_intent_id=payment.payment_intent_id
        )
        if state.status == "succeeded":  # the webhook records it
            raise PaymentAlreadyMadeError(payment.id)
        if not state.client_secret:
            raise NoAuthenticationNeededError(
                payment.id, payment.status, "this payment cannot be completed online"
            )
        card = self._cards.get_card(practice.id, payment.client_id, payment.card_id)
        return AuthPage(practice=practice, payment=payment, client_secret=state.client_secret, card=card)
