"""Cards on file and their consent records.

Flow: staff create a set-up link (a signed, expiring token naming a link item that holds the
billing party and the scope); the client opens the public page, agrees to the versioned text and
starts a SetupIntent (a *pending* consent is written first, so the webhook always finds it);
Stripe.js saves the card; ``setup_intent.succeeded`` activates the consent and stores the card in
one transaction. Replays of the event change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from therabill.cards import consent_texts, emails
from therabill.cards.consent import check_consent, describe_limit
from therabill.cards.errors import (
    CardNotFoundError,
    CardsNotAcceptedYetError,
    CardsPausedError,
    ConsentError,
    ConsentNotFoundError,
    ScopeAlreadyExpiredError,
    SetupAlreadyCompletedError,
    SetupLinkGoneError,
    SetupLinkUsedError,
)
from therabill.cards.gateway import CardGateway
from therabill.cards.models import Card, Consent, ConsentScope, SetupLink
from therabill.cards.store import CardStore, scope_item
from therabill.clients.models import BillingParty
from therabill.clients.service import ClientService
from therabill.core import signed_tokens
from therabill.core.clock import Clock, iso
from therabill.core.errors import ConflictError, InvalidRequestError, RetryLaterError
from therabill.core.ids import derived_id, is_id, new_id
from therabill.notifications.mailer import Outbox
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService

SETUP_TOKEN_PURPOSE = "card-setup"

__all__ = ["CardService", "ConsentError", "SetupKeys", "SetupPage", "check_consent"]


def _takes_cards(practice: Practice) -> bool:
    return practice.stripe is not None and practice.stripe.charges_enabled


@dataclass(frozen=True)
class SetupKeys:
    """The set-up page's two keys: ours, that signs its links, and Stripe's publishable one."""

    link_key: str
    publishable_key: str


@dataclass(frozen=True)
class SetupPage:
    practice_name: str
    party_first_name: str
    consent_text: str
    consent_version: str
    publishable_key: str
    stripe_account: str


class CardService:
    def __init__(
        self,
        *,
        store: CardStore,
        gateway: CardGateway,
        clients: ClientService,
        practices: PracticeService,
        clock: Clock,
        keys: SetupKeys,
        outbox: Outbox,
    ) -> None:
        self._outbox = outbox
        self._store = store
        self._gateway = gateway
        self._clients = clients
        self._practices = practices
        self._clock = clock
        self._keys = keys

    # -- set-up links ---------------------------------------------------------------------------
    def create_setup_link(  # noqa: PLR0917 - the API and invoices pass these by position
        self,
        practice_id: str,
        client_id: str,
        owner_id: str | None,
        scope: ConsentScope,
        created_by: str,
        valid_for: timedelta = timedelta(hours=72),
    ) -> tuple[SetupLink, str]:
        practice = self._practices.get(practice_id)
        if scope.max_amount and scope.max_amount.currency != practice.currency:
            raise InvalidRequestError(
                "the limit must be in the practice's currency", field="scope.max_amount"
            )
        now = self._clock()
        if scope.expires_at is not None and scope.expires_at <= now:
            raise ScopeAlreadyExpiredError(iso(scope.expires_at))
        party = self._clients.billing_party(practice_id, client_id, owner_id)  # 404 before 409
        if not _takes_cards(practice):  # the page would refuse the client: refuse the link now
            raise CardsNotAcceptedYetError(practice.id)
        link = SetupLink(
            id=new_id("sul"),
            client_id=client_id,
            owner_id=party.owner_id,
            scope=scope,
            created_at=now,
            expires_at=now + valid_for,
            created_by=created_by,
        )
        self._store.add_link(practice_id, link)
        token = signed_tokens.sign(
            self._keys.link_key, SETUP_TOKEN_PURPOSE, {"p": practice_id, "l": link.id}, link.expires_at
        )
        return link, token

    def _open_link(self, token: str) -> tuple[Practice, SetupLink, BillingParty]:
        claims = signed_tokens.verify(self._keys.link_key, SETUP_TOKEN_PURPOSE, token, self._clock())
        practice = self._practices.get(str(claims["p"]))
        link = self._store.find_link(practice.id, str(claims["l"]))
        if link is None:
            raise SetupLinkGoneError(str(claims["l"]))
        if link.status != "open":
            raise SetupLinkUsedError(link.id, link.status)
        if not _takes_cards(practice):
            raise CardsPausedError(practice.id)
        party = self._clients.billing_party(practice.id, link.client_id, link.owner_id)
        return practice, link, party

    def _consent_text(self, practice: Practice, scope: ConsentScope) -> str:
        expiry = scope.expires_at.date().isoformat() if scope.expires_at else None
        return consent_texts.render(
            consent_texts.CURRENT_VERSION,
            practice=practice.name,
            kinds=list(scope.kinds),
            limit_text=describe_limit(scope),
            expiry_text=expiry,
        )

    def link_practice(self, token: str) -> Practice | None:
        """The practice a set-up link comes from, expired or not (None: not one of ours)."""
        claims = signed_tokens.signed_claims(self._keys.link_key, SETUP_TOKEN_PURPOSE, token)
        return self._practices.of_link(claims)

    def setup_page(self, token: str) -> SetupPage:
        practice, link, party = self._open_link(token)
        assert practice.stripe is not None
        return SetupPage(
            practice_name=practice.name,
            party_first_name=party.name.split(" ")[0],
            consent_text=self._consent_text(practice, link.scope),
            consent_version=consent_texts.CURRENT_VERSION,
            publishable_key=self._keys.publishable_key,
            stripe_account=practice.stripe.account_id,
        )

    def start_setup(
        self,
        token: str,
        *,
        signer_name: str,
        agreed: bool,
        text_version: str,
        ip_address: str,
        user_agent: str | None,
    ) -> tuple[str, str]:
        """Record a pending consent, then create the SetupIntent. Returns (client_secret, account)."""
        practice, link, party = self._open_link(token)
        assert practice.stripe is not None
        if not agreed:
            raise InvalidRequestError("the authorization must be accepted to save a card", field="agreed")
        if text_version != consent_texts.CURRENT_VERSION:
            raise ConflictError(
                "the authorization text has changed; reload the page",
                current_version=consent_texts.CURRENT_VERSION,
            )
        account = practice.stripe.account_id
        customer_id = party.stripe_customer_id or self._ensure_customer(practice, party)
        consent = Consent(
            id=new_id("cns"),
            client_id=link.client_id,
            owner_id=link.owner_id,
            setup_link_id=link.id,
            text_version=text_version,
            text=self._consent_text(practice, link.scope),
            signer_name=signer_name,
            signed_at=self._clock(),
            ip_address=ip_address,
            user_agent=user_agent,
            scope=link.scope,
            status="pending",
        )
        self._store.add_consent(practice.id, consent)
        return self._create_setup_intent(practice, link, consent, customer_id), account

    def _create_setup_intent(
        self, practice: Practice, link: SetupLink, consent: Consent, customer_id: str
    ) -> str:
        """The SetupIntent of a pending consent (keyed by it); returns its client secret."""
        assert practice.stripe is not None
        intent = self._gateway.create_setup_intent(
            account=practice.stripe.account_id,
            customer_id=customer_id,
            idempotency_key=f"therabill:setup:{consent.id}",
            metadata={
                "therabill_practice_id": practice.id,
                "therabill_setup_link_id": link.id,
                "therabill_consent_id": consent.id,
            },
        )
        self._store.set_setup_intent(practice.id, consent.id, intent.id)
        return intent.client_secret

    def _ensure_customer(self, practice: Practice, party: BillingParty) -> str:
        assert practice.stripe is not None
        metadata = {"therabill_practice_id": practice.id, "therabill_client_id": party.client_id}
        if party.is_contact:
            metadata["therabill_contact_id"] = party.owner_id
        customer_id = self._gateway.create_customer(
            account=practice.stripe.account_id,
            idempotency_key=f"therabill:customer:{practice.id}:{party.owner_id}",
            email=party.email,
            name=party.name,
            metadata=metadata,
        )
        return self._clients.set_stripe_customer(practice.id, party, customer_id)

    # -- completion (setup_intent.succeeded) ----------------------------------------------------
    def complete_setup(
        self, practice: Practice, *, setup_intent_id: str, payment_method_id: str, metadata: dict[str, str]
    ) -> Card | None:
        """Store the card and activate its consent. A replay returns None and changes nothing."""
        consent_id = metadata.get("therabill_consent_id", "")
        if not is_id(consent_id, "cns"):
            return None  # a SetupIntent we did not create through a set-up link
        consent = self._store.find_consent(practice.id, consent_id)
        if consent is None:
            raise RetryLaterError("consent not found yet", consent_id=consent_id)
        if consent.status != "pending":
            if consent.status == "active" and consent.card_id:  # a replay: finish what may be left
                self._ensure_default(practice.id, consent.client_id, consent.owner_id, consent.card_id)
                card = self._store.find_card(practice.id, consent.client_id, consent.card_id)
                if card is not None:
                    self._tell_practice(practice, consent, card)
            return None
        card = self._new_card(practice, consent, payment_method_id)
        try:
            self._store.complete_setup(practice.id, consent, card, setup_intent_id)
        except SetupAlreadyCompletedError:
            return None  # a concurrent delivery of the same event won
        self._ensure_default(practice.id, card.client_id, card.owner_id, card.id)
        self._tell_practice(practice, consent, card)
        return card

    def _tell_practice(self, practice: Practice, consent: Consent, card: Card) -> None:
        """The practice hears of the saved card once (outbox ``card-saved:<consent>``): the card's
        brand and last four and the consent's scope. A failed email fails the event, whose
        redelivery (a replay) sends it."""
        party = self._clients.billing_party(practice.id, consent.client_id, consent.owner_id)
        client = self._clients.get(practice.id, consent.client_id)
        notice = emails.card_saved(practice, party, client.display_name, card, consent)
        self._outbox.send_once(practice.id, f"card-saved:{consent.id}", notice)

    def _new_card(self, practice: Practice, consent: Consent, payment_method_id: str) -> Card:
        """The card Stripe saved, as we store it (its id derived from the payment method)."""
        assert practice.stripe is not None
        details = self._gateway.retrieve_card(
            account=practice.stripe.account_id, payment_method_id=payment_method_id
        )
        return Card(
            id=derived_id("card", practice.id, payment_method_id),
            client_id=consent.client_id,
            owner_id=consent.owner_id,
            payment_method_id=payment_method_id,
            brand=details.brand,
            last4=details.last4,
            exp_month=details.exp_month,
            exp_year=details.exp_year,
            fingerprint=details.fingerprint,
            consent_id=consent.id,
            status="active",
            created_at=self._clock(),
        )

    def _ensure_default(self, practice_id: str, client_id: str, owner_id: str, card_id: str) -> None:
        """Make ``card_id`` the billing party's default unless they have another active default (a
        default left pointing at a removed card counts as none)."""
        party = self._clients.billing_party(practice_id, client_id, owner_id)
        current = party.default_card_id
        if current == card_id:
            return
        if current:
            card = self._store.find_card(practice_id, client_id, current)
            if card is not None and card.status == "active":
                return
        self._clients.set_default_card(practice_id, party, card_id)

    # -- cards ----------------------------------------------------------------------------------
    def active_cards_of(self, practice_id: str, client_id: str) -> list[Card]:
        """The client's active cards, without checking the client (the caller has)."""
        return [c for c in self._store.cards_of(practice_id, client_id) if c.status == "active"]

    def get_card(self, practice_id: str, client_id: str, card_id: str) -> Card:
        """An active card; anything else (removed, unknown, not an id) → CardNotFoundError."""
        card = self.find_card(practice_id, client_id, card_id)
        if card is None or card.status != "active":
            raise CardNotFoundError(card_id)
        return card

    def find_card(self, practice_id: str, client_id: str, card_id: str) -> Card | None:
        """The card in any status, removed included (a payment still names the card it was made
        with), or None. Inside ``Table.fresh_reads()`` it is read from the table."""
        if not is_id(card_id, "card"):
            return None
        return self._store.find_card(practice_id, client_id, card_id)

    def get_consent(self, practice_id: str, consent_id: str) -> Consent:
        consent = self._store.find_consent(practice_id, consent_id)
        if consent is None:
            raise ConsentNotFoundError(consent_id)
        return consent

    def set_default(self, practice_id: str, client_id: str, card_id: str) -> Card:
        card = self.get_card(practice_id, client_id, card_id)
        party = self._clients.billing_party(practice_id, client_id, card.owner_id)
        self._clients.set_default_card(practice_id, party, card.id)
        return card

    def remove(self, practice_id: str, client_id: str, card_id: str, *, by: str) -> Card:
        """Detach the card at Stripe, mark it removed and revoke its consent."""
        card = self.get_card(practice_id, client_id, card_id)
        practice = self._practices.get(practice_id)
        if practice.stripe is not None:
            self._gateway.detach_card(
                account=practice.stripe.account_id, payment_method_id=card.payment_method_id
            )
        now = self._clock()
        self._store.remove_card(practice_id, card, reason=f"card removed by {by}", at=now)
        party = self._clients.billing_party(practice_id, client_id, card.owner_id)
        if party.default_card_id == card.id:
            self._clients.set_default_card(practice_id, party, None)
        return card.model_copy(update={"status": "removed", "removed_at": now})

    def consent_evidence(self, practice_id: str, client_id: str, card_id: str) -> dict[str, Any]:
        """Everything needed to answer a dispute: the text agreed to, who, when, where, scope."""
        card = self.find_card(practice_id, client_id, card_id)
        if card is None:
            raise CardNotFoundError(card_id)
        consent = self.get_consent(practice_id, card.consent_id)
        practice = self._practices.get(practice_id)
        return {
            "practice": {"id": practice.id, "name": practice.name},
            "card": _card_evidence(card),
            "consent": _consent_evidence(consent),
        }


def _card_evidence(card: Card) -> dict[str, Any]:
    return {
        "id": card.id,
        "brand": card.brand,
        "last4": card.last4,
        "exp_month": card.exp_month,
        "exp_year": card.exp_year,
        "status": card.status,
        "saved_at": iso(card.created_at),
    }


def _consent_evidence(consent: Consent) -> dict[str, Any]:
    return {
        "id": consent.id,
        "status": consent.status,
        "text_version": consent.text_version,
        "text": consent.text,
        "signer_name": consent.signer_name,
        "signed_at": iso(consent.signed_at),
        "ip_address": consent.ip_address,
        "user_agent": consent.user_agent,
        "scope": scope_item(consent.scope),
        "setup_intent_id": consent.setup_intent_id,
        "activated_at": iso(consent.activated_at) if consent.activated_at else None,
        "revoked_at": iso(consent.revoked_at) if consent.revoked_at else None,
        "revoked_reason": consent.revoked_reason,
    }
