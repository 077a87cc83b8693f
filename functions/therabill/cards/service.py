"""Cards on file and their consent records.

Flow: staff create a set-up link (a signed, expiring token naming a link item that holds the payer
and the scope); the client opens the public page, agrees to the versioned text and starts a
SetupIntent (a *pending* consent is written first, so the webhook always finds it); Stripe.js
saves the card; ``setup_intent.succeeded`` activates the consent and stores the card in one
transaction. Replays of the event change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from therabill.adapters.dynamo import ConditionFailed, Table, put_new_write
from therabill.cards import consent_texts
from therabill.cards.models import Card, ChargeKind, Consent, ConsentScope, SetupLink
from therabill.clients.models import Payer
from therabill.clients.service import ClientService
from therabill.core import keys, signed_tokens
from therabill.core.clock import Clock, iso, parse_iso
from therabill.core.errors import ConflictError, InvalidRequestError, NotFoundError, RetryLaterError
from therabill.core.ids import derived_id, is_id, new_id
from therabill.core.writes import Write
from therabill.payments.gateway import PaymentGateway
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService

SETUP_TOKEN_PURPOSE = "card-setup"
LINK_RETENTION = timedelta(days=30)  # a used or expired link item lingers this long (TTL)


class ConsentError(InvalidRequestError):
    """The card's consent does not allow this charge (revoked, expired, out of scope, too large)."""


@dataclass(frozen=True)
class SetupPage:
    practice_name: str
    payer_first_name: str
    consent_text: str
    consent_version: str
    publishable_key: str
    stripe_account: str


def _dump(model: Any, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json")
    for name in list(data):
        if isinstance(getattr(model, name, None), datetime):
            data[name] = iso(getattr(model, name))
    data.update(extra)
    return data


def _load_dates(item: dict[str, Any], *names: str) -> dict[str, Any]:
    out = dict(item)
    for n in names:
        if out.get(n):
            out[n] = parse_iso(out[n])
    return out


def _scope_item(scope: ConsentScope) -> dict[str, Any]:
    data = scope.model_dump(mode="json")
    if scope.expires_at:
        data["expires_at"] = iso(scope.expires_at)
    return data


def _scope(data: dict[str, Any]) -> ConsentScope:
    return ConsentScope.model_validate(_load_dates(data, "expires_at"))


def _link(item: dict[str, Any]) -> SetupLink:
    data = _load_dates(item, "created_at", "expires_at")
    data["scope"] = _scope(item["scope"])
    return SetupLink.model_validate(data)


def _consent(item: dict[str, Any]) -> Consent:
    data = _load_dates(item, "signed_at", "activated_at", "revoked_at")
    data["scope"] = _scope(item["scope"])
    return Consent.model_validate(data)


def card_from_item(item: dict[str, Any]) -> Card:
    return Card.model_validate(_load_dates(item, "created_at", "removed_at"))


def describe_limit(scope: ConsentScope) -> str | None:
    return scope.max_amount.format() if scope.max_amount else None


def check_consent(consent: Consent, *, kind: ChargeKind, amount: int, currency: str, now: datetime) -> None:
    """Every off-session charge passes here first."""
    if consent.status != "active":
        raise ConsentError("the card's consent is not active", consent_status=consent.status)
    if consent.scope.expires_at and consent.scope.expires_at <= now:
        raise ConsentError("the card's consent has expired", expired_at=iso(consent.scope.expires_at))
    if kind not in consent.scope.kinds:
        raise ConsentError(
            f"the card's consent does not cover {kind} charges", allowed=list(consent.scope.kinds)
        )
    limit = consent.scope.max_amount
    if limit is not None:
        if limit.currency != currency:
            raise ConsentError("the consent's limit is in another currency")
        if amount > limit.amount:
            raise ConsentError(
                f"the amount exceeds the consent's limit of {limit.format()}", limit=limit.amount
            )


class CardService:
    def __init__(
        self,
        table: Table,
        gateway: PaymentGateway,
        clients: ClientService,
        practices: PracticeService,
        clock: Clock,
        link_key: str,
        publishable_key: str,
    ) -> None:
        self._table = table
        self._gateway = gateway
        self._clients = clients
        self._practices = practices
        self._clock = clock
        self._link_key = link_key
        self._publishable_key = publishable_key

    # -- set-up links ---------------------------------------------------------------------------
    def create_setup_link(
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
        payer = self._clients.payer(practice_id, client_id, owner_id)
        now = self._clock()
        link = SetupLink(
            id=new_id("sul"),
            client_id=client_id,
            owner_id=payer.owner_id,
            scope=scope,
            created_at=now,
            expires_at=now + valid_for,
            created_by=created_by,
        )
        item = _dump(
            link,
            PK=keys.practice_pk(practice_id),
            SK=keys.setup_link_sk(link.id),
            type="setup_link",
            scope=_scope_item(scope),
            expires_at_epoch=int((link.expires_at + LINK_RETENTION).timestamp()),
        )
        self._table.put_new(item)
        token = signed_tokens.sign(
            self._link_key, SETUP_TOKEN_PURPOSE, {"p": practice_id, "l": link.id}, link.expires_at
        )
        return link, token

    def _open_link(self, token: str) -> tuple[Practice, SetupLink, Payer]:
        claims = signed_tokens.verify(self._link_key, SETUP_TOKEN_PURPOSE, token, self._clock())
        practice = self._practices.get(str(claims["p"]))
        item = self._table.get(keys.practice_pk(practice.id), keys.setup_link_sk(str(claims["l"])))
        if not item:
            raise NotFoundError("this link is no longer valid")
        link = _link(item)
        if link.status != "open":
            raise ConflictError("this card has already been saved", status=link.status)
        if practice.stripe is None or not practice.stripe.charges_enabled:
            raise ConflictError("the practice cannot take cards yet")
        payer = self._clients.payer(practice.id, link.client_id, link.owner_id)
        return practice, link, payer

    def _consent_text(self, practice: Practice, scope: ConsentScope) -> str:
        expiry = scope.expires_at.date().isoformat() if scope.expires_at else None
        return consent_texts.render(
            consent_texts.CURRENT_VERSION,
            practice=practice.name,
            kinds=list(scope.kinds),
            limit_text=describe_limit(scope),
            expiry_text=expiry,
        )

    def setup_page(self, token: str) -> SetupPage:
        practice, link, payer = self._open_link(token)
        assert practice.stripe is not None
        return SetupPage(
            practice_name=practice.name,
            payer_first_name=payer.name.split(" ")[0],
            consent_text=self._consent_text(practice, link.scope),
            consent_version=consent_texts.CURRENT_VERSION,
            publishable_key=self._publishable_key,
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
        practice, link, payer = self._open_link(token)
        assert practice.stripe is not None
        if not agreed:
            raise InvalidRequestError("the authorization must be accepted to save a card", field="agreed")
        if text_version != consent_texts.CURRENT_VERSION:
            raise ConflictError(
                "the authorization text has changed; reload the page",
                current_version=consent_texts.CURRENT_VERSION,
            )
        account = practice.stripe.account_id
        customer_id = payer.stripe_customer_id or self._ensure_customer(practice, payer)
        now = self._clock()
        consent = Consent(
            id=new_id("cns"),
            client_id=link.client_id,
            owner_id=link.owner_id,
            setup_link_id=link.id,
            text_version=text_version,
            text=self._consent_text(practice, link.scope),
            signer_name=signer_name,
            signed_at=now,
            ip_address=ip_address,
            user_agent=user_agent,
            scope=link.scope,
            status="pending",
        )
        self._table.put_new(
            _dump(
                consent,
                PK=keys.practice_pk(practice.id),
                SK=keys.consent_sk(consent.id),
                type="consent",
                scope=_scope_item(consent.scope),
            )
        )
        intent = self._gateway.create_setup_intent(
            account=account,
            customer_id=customer_id,
            idempotency_key=f"therabill:setup:{consent.id}",
            metadata={
                "therabill_practice_id": practice.id,
                "therabill_setup_link_id": link.id,
                "therabill_consent_id": consent.id,
            },
        )
        self._table.update(
            keys.practice_pk(practice.id),
            keys.consent_sk(consent.id),
            update="SET setup_intent_id = :si",
            values={":si": intent.id},
        )
        return intent.client_secret, account

    def _ensure_customer(self, practice: Practice, payer: Payer) -> str:
        assert practice.stripe is not None
        metadata = {"therabill_practice_id": practice.id, "therabill_client_id": payer.client_id}
        if payer.is_contact:
            metadata["therabill_contact_id"] = payer.owner_id
        customer_id = self._gateway.create_customer(
            account=practice.stripe.account_id,
            idempotency_key=f"therabill:customer:{practice.id}:{payer.owner_id}",
            email=payer.email,
            name=payer.name,
            metadata=metadata,
        )
        return self._clients.set_stripe_customer(practice.id, payer, customer_id)

    # -- completion (setup_intent.succeeded) ----------------------------------------------------
    def complete_setup(
        self, practice: Practice, *, setup_intent_id: str, payment_method_id: str, metadata: dict[str, str]
    ) -> Card | None:
        """Store the card and activate its consent. A replay returns None and changes nothing."""
        consent_id = metadata.get("therabill_consent_id", "")
        if not is_id(consent_id, "cns"):
            return None  # a SetupIntent we did not create through a set-up link
        item = self._table.get(keys.practice_pk(practice.id), keys.consent_sk(consent_id))
        if not item:
            raise RetryLaterError("consent not found yet", consent_id=consent_id)
        consent = _consent(item)
        if consent.status != "pending":
            if consent.status == "active" and consent.card_id:  # a replay: finish what may be left
                self._ensure_default(practice.id, consent.client_id, consent.owner_id, consent.card_id)
            return None
        assert practice.stripe is not None
        details = self._gateway.retrieve_card(
            account=practice.stripe.account_id, payment_method_id=payment_method_id
        )
        now = self._clock()
        card = Card(
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
            created_at=now,
        )
        pk = keys.practice_pk(practice.id)
        try:
            self._table.transact(
                [
                    Write(
                        kind="update",
                        key=self._table.key(pk, keys.consent_sk(consent.id)),
                        update=(
                            "SET #status = :active, card_id = :card, activated_at = :now, "
                            "setup_intent_id = :si"
                        ),
                        condition="#status = :pending",
                        names={"#status": "status"},
                        values={
                            ":active": "active",
                            ":pending": "pending",
                            ":card": card.id,
                            ":now": iso(now),
                            ":si": setup_intent_id,
                        },
                    ),
                    put_new_write(_dump(card, PK=pk, SK=keys.card_sk(card.client_id, card.id), type="card")),
                    Write(
                        kind="update",
                        key=self._table.key(pk, keys.setup_link_sk(consent.setup_link_id)),
                        update="SET #status = :completed, consent_id = :consent",
                        names={"#status": "status"},
                        values={":completed": "completed", ":consent": consent.id},
                    ),
                ]
            )
        except ConditionFailed:
            return None  # a concurrent delivery of the same event won
        self._ensure_default(practice.id, card.client_id, card.owner_id, card.id)
        return card

    def _ensure_default(self, practice_id: str, client_id: str, owner_id: str, card_id: str) -> None:
        """Make ``card_id`` the payer's default unless they have another active default (a
        default left pointing at a removed card counts as none)."""
        payer = self._clients.payer(practice_id, client_id, owner_id)
        current = payer.default_card_id
        if current == card_id:
            return
        if current:
            item = self._table.get(keys.practice_pk(practice_id), keys.card_sk(client_id, current))
            if item and item.get("status") == "active":
                return
        self._clients.set_default_card(practice_id, payer, card_id)

    # -- cards ----------------------------------------------------------------------------------
    def active_cards_of(self, practice_id: str, client_id: str) -> list[Card]:
        """The client's active cards, without checking the client (the caller has)."""
        items = self._table.query_all(keys.practice_pk(practice_id), prefix=keys.card_prefix(client_id))
        return [c for c in map(card_from_item, items) if c.status == "active"]

    def get_card(self, practice_id: str, client_id: str, card_id: str) -> Card:
        if not is_id(card_id, "card"):
            raise NotFoundError("card not found")
        item = self._table.get(keys.practice_pk(practice_id), keys.card_sk(client_id, card_id))
        if not item or item.get("status") != "active":
            raise NotFoundError("card not found")
        return card_from_item(item)

    def get_consent(self, practice_id: str, consent_id: str) -> Consent:
        item = self._table.get(keys.practice_pk(practice_id), keys.consent_sk(consent_id))
        if not item:
            raise NotFoundError("consent not found")
        return _consent(item)

    def set_default(self, practice_id: str, client_id: str, card_id: str) -> Card:
        card = self.get_card(practice_id, client_id, card_id)
        payer = self._clients.payer(practice_id, client_id, card.owner_id)
        self._clients.set_default_card(practice_id, payer, card.id)
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
        pk = keys.practice_pk(practice_id)
        try:
            self._table.transact(
                [
                    Write(
                        kind="update",
                        key=self._table.key(pk, keys.card_sk(client_id, card.id)),
                        update="SET #status = :removed, removed_at = :now",
                        condition="#status = :active",
                        names={"#status": "status"},
                        values={":removed": "removed", ":active": "active", ":now": iso(now)},
                    ),
                    Write(
                        kind="update",
                        key=self._table.key(pk, keys.consent_sk(card.consent_id)),
                        update="SET #status = :revoked, revoked_at = :now, revoked_reason = :why",
                        condition="#status = :active",
                        names={"#status": "status"},
                        values={
                            ":revoked": "revoked",
                            ":active": "active",
                            ":now": iso(now),
                            ":why": f"card removed by {by}",
                        },
                    ),
                ]
            )
        except ConditionFailed as exc:
            raise NotFoundError("card not found") from exc
        payer = self._clients.payer(practice_id, client_id, card.owner_id)
        if payer.default_card_id == card.id:
            self._clients.set_default_card(practice_id, payer, None)
        return card.model_copy(update={"status": "removed", "removed_at": now})

    def consent_evidence(self, practice_id: str, client_id: str, card_id: str) -> dict[str, Any]:
        """Everything needed to answer a dispute: the text agreed to, who, when, where, scope."""
        item = (
            self._table.get(keys.practice_pk(practice_id), keys.card_sk(client_id, card_id))
            if is_id(card_id, "card")
            else None
        )
        if not item:
            raise NotFoundError("card not found")
        card = card_from_item(item)
        consent = self.get_consent(practice_id, card.consent_id)
        practice = self._practices.get(practice_id)
        return {
            "practice": {"id": practice.id, "name": practice.name},
            "card": {
                "id": card.id,
                "brand": card.brand,
                "last4": card.last4,
                "exp_month": card.exp_month,
                "exp_year": card.exp_year,
                "status": card.status,
                "saved_at": iso(card.created_at),
            },
            "consent": {
                "id": consent.id,
                "status": consent.status,
                "text_version": consent.text_version,
                "text": consent.text,
                "signer_name": consent.signer_name,
                "signed_at": iso(consent.signed_at),
                "ip_address": consent.ip_address,
                "user_agent": consent.user_agent,
                "scope": _scope_item(consent.scope),
                "setup_intent_id": consent.setup_intent_id,
                "activated_at": iso(consent.activated_at) if consent.activated_at else None,
                "revoked_at": iso(consent.revoked_at) if consent.revoked_at else None,
                "revoked_reason": consent.revoked_reason,
            },
        }
