"""Clients and their billing contacts, always inside one practice's partition."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from therabill.clients.models import BillingContact, BillingParty, Client
from therabill.clients.responsibility import Responsibility, RuleError, RuleSet, validate
from therabill.clients.store import ClientStore
from therabill.clinical.icd10 import CodeError, normalise_codes
from therabill.core.cadence import BillingCadence
from therabill.core.clock import Clock
from therabill.core.errors import InvalidRequestError
from therabill.core.ids import new_id

CLIENT_FIELDS = ("first_name", "last_name", "email", "phone", "status")
CONTACT_FIELDS = ("name", "email", "relationship", "phone")


class ClientService:
    def __init__(self, *, store: ClientStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    # -- clients --------------------------------------------------------------------------------
    def create(self, practice_id: str, **fields: Any) -> Client:
        client = Client(id=new_id("cli"), created_at=self._clock(), version=1, **fields)
        self._store.create(practice_id, client)
        return client

    def get(self, practice_id: str, client_id: str) -> Client:
        return self._store.get(practice_id, client_id)

    def get_many(self, practice_id: str, client_ids: Iterable[str]) -> dict[str, Client]:
        """The clients of ``client_ids`` in one round, by id (unknown ids left out)."""
        return self._store.get_many(practice_id, client_ids)

    def list_page(
        self, practice_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Client], str | None]:
        return self._store.list_page(practice_id, limit=limit, cursor=cursor)

    def update(
        self, practice_id: str, client_id: str, changes: dict[str, Any], expected_version: int | None = None
    ) -> Client:
        self.get(practice_id, client_id)
        return self._store.update(practice_id, client_id, changes, expected_version=expected_version)

    def set_diagnoses(
        self, practice_id: str, client_id: str, codes: list[str], expected_version: int | None = None
    ) -> Client:
        """Replace the client's ICD-10-CM codes (pointer order; an empty list clears them). 400 and
        nothing written on a bad list."""
        try:
            normal = normalise_codes(codes)
        except CodeError as exc:
            raise InvalidRequestError(str(exc), field="codes") from exc
        self.get(practice_id, client_id)
        return self._store.update(
            practice_id, client_id, {"diagnoses": list(normal) or None}, expected_version=expected_version
        )

    # -- billing contacts -----------------------------------------------------------------------
    def add_contact(self, practice_id: str, client_id: str, **fields: Any) -> BillingContact:
        self.get(practice_id, client_id)
        contact = BillingContact(
            id=new_id("con"), client_id=client_id, created_at=self._clock(), version=1, **fields
        )
        self._store.add_contact(practice_id, contact)
        return contact

    def get_contact(self, practice_id: str, client_id: str, contact_id: str) -> BillingContact:
        return self._store.get_contact(practice_id, client_id, contact_id)

    def list_contacts(self, practice_id: str, client_id: str) -> list[BillingContact]:
        self.get(practice_id, client_id)
        return self.contacts_of(practice_id, client_id)

    def contacts_of(self, practice_id: str, client_id: str) -> list[BillingContact]:
        """The client's contacts, without checking the client (the caller has)."""
        return self._store.contacts_of(practice_id, client_id)

    def update_contact(
        self,
        practice_id: str,
        client_id: str,
        contact_id: str,
        changes: dict[str, Any],
        expected_version: int | None = None,
    ) -> BillingContact:
        self.get_contact(practice_id, client_id, contact_id)
        return self._store.update_contact(
            practice_id, client_id, contact_id, changes, expected_version=expected_version
        )

    # -- billing parties ------------------------------------------------------------------------
    def billing_party(self, practice_id: str, client_id: str, owner_id: str | None) -> BillingParty:
        """The client themself (owner_id None or the client's id) or one of their contacts."""
        client = self.get(practice_id, client_id)
        if owner_id is None or owner_id == client_id:
            return BillingParty(
                client_id=client.id,
                owner_id=client.id,
                name=client.display_name,
                email=client.email,
                stripe_customer_id=client.stripe_customer_id,
                default_card_id=client.default_card_id,
                autopay=client.autopay,
                version=client.version,
            )
        contact = self.get_contact(practice_id, client_id, owner_id)
        return BillingParty(
            client_id=client.id,
            owner_id=contact.id,
            name=contact.name,
            email=contact.email,
            stripe_customer_id=contact.stripe_customer_id,
            default_card_id=contact.default_card_id,
            autopay=contact.autopay,
            version=contact.version,
        )

    def set_autopay(
        self, practice_id: str, party: BillingParty, enabled: bool | None, *, expected_version: int | None
    ) -> BillingParty:
        """The billing party's own AutoPay choice (None: back to the practice's default), written
        from the version read like any change of the client or contact."""
        change = {"autopay": enabled}
        if party.is_contact:
            self.update_contact(practice_id, party.client_id, party.owner_id, change, expected_version)
        else:
            self.update(practice_id, party.client_id, change, expected_version)
        return self.billing_party(practice_id, party.client_id, party.owner_id)

    def set_billing_cadence(
        self,
        practice_id: str,
        client_id: str,
        cadence: BillingCadence | None,
        *,
        expected_version: int | None,
    ) -> Client:
        """The client's own billing cadence (None: back to the practice's), from the version read."""
        return self.update(practice_id, client_id, {"billing_cadence": cadence}, expected_version)

    def set_stripe_customer(self, practice_id: str, party: BillingParty, customer_id: str) -> str:
        """Record the billing party's Stripe customer once; if another request won, use theirs."""
        return self._store.set_stripe_customer(practice_id, party, customer_id)

    def set_default_card(
        self, practice_id: str, party: BillingParty, card_id: str | None, only_if_unset: bool = False
    ) -> bool:
        return self._store.set_default_card(practice_id, party, card_id, only_if_unset=only_if_unset)

    # -- split billing --------------------------------------------------------------------------
    def get_responsibility(self, practice_id: str, client_id: str) -> Responsibility | None:
        return self._store.get_responsibility(practice_id, client_id)

    def responsibilities(self, practice_id: str, client_ids: Iterable[str]) -> dict[str, Responsibility]:
        """The split-billing rules of the clients that have some, in one round."""
        return self._store.responsibilities(practice_id, client_ids)

    def put_responsibility(
        self, practice_id: str, client_id: str, rules: list[RuleSet], by: str
    ) -> Responsibility:
        """Validate (400, nothing written) against the client and their own contacts, then store."""
        self.get(practice_id, client_id)
        parties = {client_id} | {c.id for c in self.contacts_of(practice_id, client_id)}
        try:
            validate(rules, parties)
        except RuleError as exc:
            raise InvalidRequestError(str(exc), field="rules") from exc
        current = self.get_responsibility(practice_id, client_id)
        resp = Responsibility(
            client_id=client_id,
            rules=tuple(rules),
            updated_at=self._clock(),
            updated_by=by,
            version=(current.version + 1) if current else 1,
        )
        self._store.put_responsibility(practice_id, resp)
        return resp
