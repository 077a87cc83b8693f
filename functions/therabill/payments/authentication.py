"""When the bank wants the cardholder (3-D Secure on an off-session charge): a signed link, sent
by email, to a page where the billing party confirms the payment with Stripe.js."""

from __future__ import annotations

from datetime import timedelta

from therabill.cards.service import CardService
from therabill.core import signed_tokens
from therabill.core.clock import Clock
from therabill.core.errors import ConflictError
from therabill.payments.gateway import PaymentGateway
from therabill.payments.models import Payment
from therabill.payments.store import PaymentStore
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService

AUTH_TOKEN_PURPOSE = "payment-auth"
AUTH_LINK_VALID_FOR = timedelta(days=7)


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

    def open(self, token: str) -> tuple[Practice, Payment, str, str]:
        """For the page: (practice, payment, client_secret, payment_method_id)."""
        practice_id, payment_id = self._links.read(token)
        practice = self._practices.get(practice_id)
        payment = self._store.get(practice.id, payment_id)
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
