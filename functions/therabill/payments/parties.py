"""Who is charged and with what: the card and its owner (the billing party) of a saved-card
payment, read once and passed along so one attempt does not read them again."""

from __future__ import annotations

from dataclasses import dataclass

from therabill.cards.models import Card
from therabill.cards.service import CardService
from therabill.clients.models import BillingParty
from therabill.clients.service import ClientService
from therabill.core.errors import InvalidRequestError, NotFoundError
from therabill.payments.models import Payment
from therabill.payments.store import PaymentStore


@dataclass(frozen=True)
class Parties:
    card: Card
    party: BillingParty  # the billing party: whoever owns the card


class PartyFinder:
    def __init__(self, *, store: PaymentStore, clients: ClientService, cards: CardService) -> None:
        self._store = store
        self._clients = clients
        self._cards = cards

    def for_charge(
        self, practice_id: str, client_id: str, card_id: str | None, owner_id: str | None
    ) -> Parties:
        """The card to charge (named, or the billing party's default) and who owns it."""
        if card_id:
            card = self._cards.get_card(practice_id, client_id, card_id)
            return Parties(card, self._clients.billing_party(practice_id, client_id, card.owner_id))
        party = self._clients.billing_party(practice_id, client_id, owner_id)
        if not party.default_card_id:
            raise InvalidRequestError("there is no card on file to charge", field="card_id")
        return Parties(self._cards.get_card(practice_id, client_id, party.default_card_id), party)

    def of(self, practice_id: str, payment: Payment) -> Parties:
        """The card and billing party of a saved-card payment (the card may have been removed
        since: a receipt still names it). Read from the table: an attempt is decided by them."""
        with self._store.fresh_reads():
            card = self._cards.find_card(practice_id, payment.client_id, payment.card_id)
            if card is None:
                raise NotFoundError("card not found")
            party = self._clients.billing_party(practice_id, payment.client_id, payment.owner_id)
        return Parties(card, party)
