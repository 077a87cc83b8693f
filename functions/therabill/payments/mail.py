"""Sending the payment emails (templates in ``emails``): receipts, the authentication link, the
practice's notice of a payment given up. Each is sent once (the outbox keys it by the payment).

The money is recorded before any email. On a request path a failed email must not turn a
completed charge into an error: it is logged and the webhook worker (strict) sends it, redelivered
by SQS until it goes."""

from __future__ import annotations

from collections.abc import Callable

from therabill.clients.service import ClientService
from therabill.notifications.mailer import Outbox
from therabill.observability import logger
from therabill.payments import emails
from therabill.payments.authentication import AuthLinks
from therabill.payments.models import Payment
from therabill.payments.parties import Parties
from therabill.practices.models import Practice


def deliver(strict: bool, payment: Payment, send: Callable[[], None]) -> None:
    """Send now; unless ``strict``, a failure is logged and left to the webhook worker."""
    if strict:
        send()
        return
    try:
        send()
    except Exception as exc:
        logger.warning("email deferred to the webhook", payment_id=payment.id, error=type(exc).__name__)


class PaymentMail:
    def __init__(self, *, outbox: Outbox, clients: ClientService, links: AuthLinks) -> None:
        self._outbox = outbox
        self._clients = clients
        self._links = links

    def receipt(self, practice: Practice, payment: Payment, parties: Parties) -> None:
        """To the billing party of a saved-card payment, naming the card."""
        party, card = parties.party, parties.card
        if not party.email:
            logger.info("no email for receipt", payment_id=payment.id)
            return
        email = emails.receipt(
            practice=practice,
            party_name=party.name,
            to=party.email,
            payment=payment,
            card_brand=card.brand,
            card_last4=card.last4,
        )
        self._outbox.send_once(practice.id, f"receipt:{payment.id}", email)

    def client_receipt(self, practice: Practice, payment: Payment) -> None:
        """To the billing party of a payment made on a page (a card we do not store)."""
        party = self._clients.billing_party(practice.id, payment.client_id, payment.owner_id)
        if not party.email:
            logger.info("no email for receipt", payment_id=payment.id)
            return
        email = emails.receipt(
            practice=practice,
            party_name=party.name,
            to=party.email,
            payment=payment,
            card_brand=None,
            card_last4=None,
        )
        self._outbox.send_once(practice.id, f"receipt:{payment.id}", email)

    def authentication_needed(self, practice: Practice, payment: Payment, parties: Parties) -> None:
        """The link to confirm a charge the bank wants the cardholder for (once per PaymentIntent)."""
        party = parties.party
        if not party.email:
            return
        email = emails.authentication_needed(
            practice=practice,
            party_name=party.name,
            to=party.email,
            payment=payment,
            link=self._links.link(practice.id, payment.id),
        )
        self._outbox.send_once(practice.id, f"auth:{payment.id}:{payment.payment_intent_id}", email)

    def given_up(self, practice: Practice, payment: Payment) -> None:
        """To the practice: a declined charge was retried as often as the policy allows."""
        if not practice.email:
            return
        email = emails.payment_given_up(practice=practice, payment=payment)
        self._outbox.send_once(practice.id, f"gave-up:{payment.id}", email)
