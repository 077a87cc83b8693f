"""Set-up links, consent records and cards in the practice's partition: the mapping between the
domain models and the items, and the two transactions of a card's life (the set-up completed:
consent activated, card stored, link used; the card removed: card marked, consent revoked)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from therabill.adapters.dynamo import ConditionFailed, Table, put_new_write
from therabill.cards.errors import CardNotFoundError, CardRecordExistsError, SetupAlreadyCompletedError
from therabill.cards.models import Card, Consent, ConsentScope, SetupLink
from therabill.core import keys
from therabill.core.clock import iso, parse_iso
from therabill.core.writes import Write

LINK_RETENTION = timedelta(days=30)  # a used or expired link item lingers this long (TTL)


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


def scope_item(scope: ConsentScope) -> dict[str, Any]:
    """A consent scope as stored (and as shown in the dispute evidence)."""
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


class CardStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    # -- set-up links -----------------------------------------------------------------------------
    def add_link(self, practice_id: str, link: SetupLink) -> None:
        item = _dump(
            link,
            PK=keys.practice_pk(practice_id),
            SK=keys.setup_link_sk(link.id),
            type="setup_link",
            scope=scope_item(link.scope),
            expires_at_epoch=int((link.expires_at + LINK_RETENTION).timestamp()),
        )
        try:
            self._table.put_new(item)
        except ConditionFailed as exc:
            raise CardRecordExistsError("set-up link", link.id) from exc

    def find_link(self, practice_id: str, link_id: str) -> SetupLink | None:
        item = self._table.get(keys.practice_pk(practice_id), keys.setup_link_sk(link_id))
        return _link(item) if item else None

    # -- consents ---------------------------------------------------------------------------------
    def add_consent(self, practice_id: str, consent: Consent) -> None:
        item = _dump(
            consent,
            PK=keys.practice_pk(practice_id),
            SK=keys.consent_sk(consent.id),
            type="consent",
            scope=scope_item(consent.scope),
        )
        try:
            self._table.put_new(item)
        except ConditionFailed as exc:
            raise CardRecordExistsError("consent", consent.id) from exc

    def set_setup_intent(self, practice_id: str, consent_id: str, setup_intent_id: str) -> None:
        self._table.update(
            keys.practice_pk(practice_id),
            keys.consent_sk(consent_id),
            update="SET setup_intent_id = :si",
            values={":si": setup_intent_id},
        )

    def find_consent(self, practice_id: str, consent_id: str) -> Consent | None:
        item = self._table.get(keys.practice_pk(practice_id), keys.consent_sk(consent_id))
        return _consent(item) if item else None

    # -- cards ------------------------------------------------------------------------------------
    def find_card(self, practice_id: str, client_id: str, card_id: str) -> Card | None:
        """The card in any status (a removed card is still named by its payments)."""
        item = self._table.get(keys.practice_pk(practice_id), keys.card_sk(client_id, card_id))
        return card_from_item(item) if item else None

    def cards_of(self, practice_id: str, client_id: str) -> list[Card]:
        items = self._table.query_all(keys.practice_pk(practice_id), prefix=keys.card_prefix(client_id))
        return [card_from_item(item) for item in items]

    # -- the two transactions -----------------------------------------------------------------------
    def complete_setup(self, practice_id: str, consent: Consent, card: Card, setup_intent_id: str) -> None:
        """Activate the pending consent, store the card and mark the link used, all or none (at
        the card's creation time). Not pending any more → SetupAlreadyCompletedError."""
        pk = keys.practice_pk(practice_id)
        activate = Write(
            kind="update",
            key=Table.key(pk, keys.consent_sk(consent.id)),
            update="SET #status = :active, card_id = :card, activated_at = :now, setup_intent_id = :si",
            condition="#status = :pending",
            names={"#status": "status"},
            values={
                ":active": "active",
                ":pending": "pending",
                ":card": card.id,
                ":now": iso(card.created_at),
                ":si": setup_intent_id,
            },
        )
        used = Write(
            kind="update",
            key=Table.key(pk, keys.setup_link_sk(consent.setup_link_id)),
            update="SET #status = :completed, consent_id = :consent",
            names={"#status": "status"},
            values={":completed": "completed", ":consent": consent.id},
        )
        card_item = _dump(card, PK=pk, SK=keys.card_sk(card.client_id, card.id), type="card")
        try:
            self._table.transact([activate, put_new_write(card_item), used])
        except ConditionFailed as exc:
            raise SetupAlreadyCompletedError(consent.id) from exc

    def remove_card(self, practice_id: str, card: Card, *, reason: str, at: datetime) -> None:
        """Mark the active card removed and revoke its active consent, both or neither. Either one
        not active any more → CardNotFoundError."""
        pk = keys.practice_pk(practice_id)
        removed = Write(
            kind="update",
            key=Table.key(pk, keys.card_sk(card.client_id, card.id)),
            update="SET #status = :removed, removed_at = :now",
            condition="#status = :active",
            names={"#status": "status"},
            values={":removed": "removed", ":active": "active", ":now": iso(at)},
        )
        revoked = Write(
            kind="update",
            key=Table.key(pk, keys.consent_sk(card.consent_id)),
            update="SET #status = :revoked, revoked_at = :now, revoked_reason = :why",
            condition="#status = :active",
            names={"#status": "status"},
            values={":revoked": "revoked", ":active": "active", ":now": iso(at), ":why": reason},
        )
        try:
            self._table.transact([removed, revoked])
        except ConditionFailed as exc:
            raise CardNotFoundError(card.id) from exc
