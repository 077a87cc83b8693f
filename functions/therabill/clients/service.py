"""Clients and their billing contacts, always inside one practice's partition."""

from __future__ import annotations

from typing import Any

from therabill.adapters.dynamo import ConditionFailed, Table
from therabill.clients.models import BillingContact, Client, Payer
from therabill.clients.responsibility import Responsibility, RuleError, RuleSet, validate
from therabill.clinical.icd10 import CodeError, normalise_codes
from therabill.core import keys
from therabill.core.clock import Clock, iso, parse_iso
from therabill.core.errors import InvalidRequestError, NotFoundError
from therabill.core.ids import is_id, new_id

CLIENT_FIELDS = ("first_name", "last_name", "email", "phone", "status")
CONTACT_FIELDS = ("name", "email", "relationship", "phone")


def _client_item(practice_id: str, c: Client) -> dict[str, Any]:
    data = c.model_dump(mode="json")
    data["created_at"] = iso(c.created_at)
    return {"PK": keys.practice_pk(practice_id), "SK": keys.client_sk(c.id), "type": "client", **data}


def _client(item: dict[str, Any]) -> Client:
    return Client.model_validate({**item, "created_at": parse_iso(item["created_at"])})


def _contact_item(practice_id: str, c: BillingContact) -> dict[str, Any]:
    data = c.model_dump(mode="json")
    data["created_at"] = iso(c.created_at)
    return {
        "PK": keys.practice_pk(practice_id),
        "SK": keys.contact_sk(c.client_id, c.id),
        "type": "contact",
        **data,
    }


def _contact(item: dict[str, Any]) -> BillingContact:
    return BillingContact.model_validate({**item, "created_at": parse_iso(item["created_at"])})


class ClientService:
    def __init__(self, table: Table, clock: Clock) -> None:
        self._table = table
        self._clock = clock

    # -- clients --------------------------------------------------------------------------------
    def create(self, practice_id: str, **fields: Any) -> Client:
        client = Client(id=new_id("cli"), created_at=self._clock(), version=1, **fields)
        self._table.put_new(_client_item(practice_id, client))
        return client

    def get(self, practice_id: str, client_id: str) -> Client:
        if not is_id(client_id, "cli"):
            raise NotFoundError("client not found")
        item = self._table.get(keys.practice_pk(practice_id), keys.client_sk(client_id))
        if not item:
            raise NotFoundError("client not found")
        return _client(item)

    def list_page(
        self, practice_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Client], str | None]:
        page = self._table.query(
            keys.practice_pk(practice_id), prefix=keys.CLIENT_PREFIX, limit=limit, cursor=cursor
        )
        return [_client(i) for i in page.items], page.cursor

    def update(
        self, practice_id: str, client_id: str, changes: dict[str, Any], expected_version: int | None = None
    ) -> Client:
        self.get(practice_id, client_id)
        item = self._table.patch(
            keys.practice_pk(practice_id),
            keys.client_sk(client_id),
            changes,
            expected_version=expected_version,
            what="client",
        )
        return _client(item)

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
        item = self._table.patch(
            keys.practice_pk(practice_id),
            keys.client_sk(client_id),
            {"diagnoses": list(normal) or None},
            expected_version=expected_version,
            what="client",
        )
        return _client(item)

    # -- billing contacts -----------------------------------------------------------------------
    def add_contact(self, practice_id: str, client_id: str, **fields: Any) -> BillingContact:
        self.get(practice_id, client_id)
        contact = BillingContact(
            id=new_id("con"), client_id=client_id, created_at=self._clock(), version=1, **fields
        )
        self._table.put_new(_contact_item(practice_id, contact))
        return contact

    def get_contact(self, practice_id: str, client_id: str, contact_id: str) -> BillingContact:
        if not is_id(contact_id, "con"):
            raise NotFoundError("billing contact not found")
        item = self._table.get(keys.practice_pk(practice_id), keys.contact_sk(client_id, contact_id))
        if not item:
            raise NotFoundError("billing contact not found")
        return _contact(item)

    def list_contacts(self, practice_id: str, client_id: str) -> list[BillingContact]:
        self.get(practice_id, client_id)
        return self.contacts_of(practice_id, client_id)

    def contacts_of(self, practice_id: str, client_id: str) -> list[BillingContact]:
        """The client's contacts, without checking the client (the caller has)."""
        items = self._table.query_all(keys.practice_pk(practice_id), prefix=keys.contact_prefix(client_id))
        return [_contact(i) for i in items]

    def update_contact(
        self,
        practice_id: str,
        client_id: str,
        contact_id: str,
        changes: dict[str, Any],
        expected_version: int | None = None,
    ) -> BillingContact:
        self.get_contact(practice_id, client_id, contact_id)
        item = self._table.patch(
            keys.practice_pk(practice_id),
            keys.contact_sk(client_id, contact_id),
            changes,
            expected_version=expected_version,
            what="billing contact",
        )
        return _contact(item)

    # -- payers ---------------------------------------------------------------------------------
    def payer(self, practice_id: str, client_id: str, owner_id: str | None) -> Payer:
        """The client themself (owner_id None or the client's id) or one of their contacts."""
        client = self.get(practice_id, client_id)
        if owner_id in (None, client_id):
            return Payer(
                client_id=client.id,
                owner_id=client.id,
                name=client.display_name,
                email=client.email,
                stripe_customer_id=client.stripe_customer_id,
                default_card_id=client.default_card_id,
            )
        assert owner_id is not None
        contact = self.get_contact(practice_id, client_id, owner_id)
        return Payer(
            client_id=client.id,
            owner_id=contact.id,
            name=contact.name,
            email=contact.email,
            stripe_customer_id=contact.stripe_customer_id,
            default_card_id=contact.default_card_id,
        )

    def _payer_key(self, practice_id: str, payer: Payer) -> tuple[str, str]:
        if payer.is_contact:
            return keys.practice_pk(practice_id), keys.contact_sk(payer.client_id, payer.owner_id)
        return keys.practice_pk(practice_id), keys.client_sk(payer.client_id)

    def set_stripe_customer(self, practice_id: str, payer: Payer, customer_id: str) -> str:
        """Record the payer's Stripe customer once; if another request won, use theirs."""
        pk, sk = self._payer_key(practice_id, payer)
        try:
            self._table.update(
                pk,
                sk,
                update="SET stripe_customer_id = :c",
                condition="attribute_exists(PK) AND attribute_not_exists(stripe_customer_id)",
                values={":c": customer_id},
            )
        except ConditionFailed as exc:
            if exc.current and exc.current.get("stripe_customer_id"):
                return str(exc.current["stripe_customer_id"])
            raise NotFoundError("payer not found") from exc
        return customer_id

    def set_default_card(
        self, practice_id: str, payer: Payer, card_id: str | None, only_if_unset: bool = False
    ) -> bool:
        pk, sk = self._payer_key(practice_id, payer)
        condition = "attribute_exists(PK)"
        if only_if_unset:
            condition += " AND attribute_not_exists(default_card_id)"
        try:
            if card_id is None:
                self._table.update(pk, sk, update="REMOVE default_card_id", condition=condition)
            else:
                self._table.update(
                    pk, sk, update="SET default_card_id = :c", condition=condition, values={":c": card_id}
                )
        except ConditionFailed:
            return False
        return True

    # -- split billing --------------------------------------------------------------------------
    def get_responsibility(self, practice_id: str, client_id: str) -> Responsibility | None:
        item = self._table.get(keys.practice_pk(practice_id), keys.responsibility_sk(client_id))
        if not item:
            return None
        return Responsibility.model_validate({**item, "updated_at": parse_iso(item["updated_at"])})

    def put_responsibility(
        self, practice_id: str, client_id: str, rules: list[RuleSet], by: str
    ) -> Responsibility:
        """Validate (400, nothing written) against the client and their own contacts, then store."""
        self.get(practice_id, client_id)
        payers = {client_id} | {c.id for c in self.contacts_of(practice_id, client_id)}
        try:
            validate(rules, payers)
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
        data = resp.model_dump(mode="json")
        data["updated_at"] = iso(resp.updated_at)
        self._table.put(
            {
                "PK": keys.practice_pk(practice_id),
                "SK": keys.responsibility_sk(client_id),
                "type": "responsibility",
                **data,
            }
        )
        return resp
