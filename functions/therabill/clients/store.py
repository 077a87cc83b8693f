"""Client, billing contact and responsibility (split billing) items, in the practice's partition:
mapping between the domain models and the table, and the conditional writes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from therabill.adapters.dynamo import ConditionFailed, Table
from therabill.clients.errors import (
    BillingContactNotFoundError,
    BillingPartyNotFoundError,
    ClientChangedError,
    ClientNotFoundError,
)
from therabill.clients.models import BillingContact, BillingParty, Client
from therabill.clients.responsibility import Responsibility
from therabill.core import keys
from therabill.core.clock import iso, parse_iso
from therabill.core.errors import ConflictError, NotFoundError
from therabill.core.ids import is_id
from therabill.core.writes import Write


def client_item(practice_id: str, c: Client) -> dict[str, Any]:
    data = c.model_dump(mode="json", exclude={"unmigrated_insurance"})  # read from the item, not kept
    data["created_at"] = iso(c.created_at)
    return {"PK": keys.practice_pk(practice_id), "SK": keys.client_sk(c.id), "type": "client", **data}


# What a client item held of insurance before the coverage capability (its migration moves them).
PRE_COVERAGE_ATTRIBUTES = ("copay_amount", "payer_forbids_fees", "payer")


def client_from_item(item: dict[str, Any]) -> Client:
    unmigrated = any(item.get(name) not in (None, False) for name in PRE_COVERAGE_ATTRIBUTES)
    return Client.model_validate(
        {**item, "created_at": parse_iso(item["created_at"]), "unmigrated_insurance": unmigrated}
    )


def contact_item(practice_id: str, c: BillingContact) -> dict[str, Any]:
    data = c.model_dump(mode="json")
    data["created_at"] = iso(c.created_at)
    return {
        "PK": keys.practice_pk(practice_id),
        "SK": keys.contact_sk(c.client_id, c.id),
        "type": "contact",
        **data,
    }


def contact_from_item(item: dict[str, Any]) -> BillingContact:
    return BillingContact.model_validate({**item, "created_at": parse_iso(item["created_at"])})


def _patched(
    table: Table, pk: str, sk: str, changes: dict[str, Any], *, expected: int | None, what: str
) -> Any:
    """A versioned partial update; the table's not-found / changed errors become clients' own."""
    try:
        return table.patch(pk, sk, changes, expected_version=expected, what=what)
    except NotFoundError as exc:
        error = BillingContactNotFoundError if what == "billing contact" else ClientNotFoundError
        raise error(exc.message, **exc.details) from exc
    except ConflictError as exc:
        raise ClientChangedError(exc.message, **exc.details) from exc


class ClientStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    # -- insurance from before coverage (the coverage migration moves it out) --------------------
    def pre_coverage(self, practice_id: str) -> list[dict[str, Any]]:
        """Each client whose item still holds one of PRE_COVERAGE_ATTRIBUTES: its ``id`` and those
        attributes as stored (one Query of the practice's clients)."""
        found = []
        for item in self.table.query_all(keys.practice_pk(practice_id), prefix=keys.CLIENT_PREFIX):
            old = {k: item[k] for k in PRE_COVERAGE_ATTRIBUTES if k in item}
            if old:
                found.append({"id": str(item["id"]), **old})
        return found

    @staticmethod
    def clear_pre_coverage_write(practice_id: str, client_id: str, *, insured: bool) -> Write:
        """The write that removes a client's pre-coverage attributes (and, ``insured``, makes the
        client's billing type insurance), for the migration's transaction."""
        names = {f"#{k}": k for k in PRE_COVERAGE_ATTRIBUTES}
        update = "REMOVE " + ", ".join(names)
        values: dict[str, Any] | None = None
        if insured:
            update = "SET #billing_type = :insurance, #version = #version + :one " + update
            names["#billing_type"], names["#version"] = "billing_type", "version"
            values = {":insurance": "insurance", ":one": 1}
        return Write(
            kind="update",
            key={"PK": keys.practice_pk(practice_id), "SK": keys.client_sk(client_id)},
            update=update,
            condition="attribute_exists(PK)",
            names=names,
            values=values,
        )

    # -- clients --------------------------------------------------------------------------------
    def create(self, practice_id: str, client: Client) -> None:
        self.table.put_new(client_item(practice_id, client))

    def get(self, practice_id: str, client_id: str) -> Client:
        if not is_id(client_id, "cli"):
            raise ClientNotFoundError("client not found")
        item = self.table.get(keys.practice_pk(practice_id), keys.client_sk(client_id))
        if not item:
            raise ClientNotFoundError("client not found")
        return client_from_item(item)

    def get_many(self, practice_id: str, client_ids: Iterable[str]) -> dict[str, Client]:
        """Several clients in one round (BatchGetItem): found ones by id; unknown ids are absent."""
        pk = keys.practice_pk(practice_id)
        wanted = [(pk, keys.client_sk(c)) for c in dict.fromkeys(client_ids) if is_id(c, "cli")]
        return {c.id: c for c in map(client_from_item, self.table.get_many(wanted).values())}

    def list_page(
        self, practice_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Client], str | None]:
        page = self.table.query(
            keys.practice_pk(practice_id), prefix=keys.CLIENT_PREFIX, limit=limit, cursor=cursor
        )
        return [client_from_item(i) for i in page.items], page.cursor

    def update(
        self, practice_id: str, client_id: str, changes: dict[str, Any], *, expected_version: int | None
    ) -> Client:
        pk, sk = keys.practice_pk(practice_id), keys.client_sk(client_id)
        return client_from_item(
            _patched(self.table, pk, sk, changes, expected=expected_version, what="client")
        )

    # -- billing contacts -----------------------------------------------------------------------
    def add_contact(self, practice_id: str, contact: BillingContact) -> None:
        self.table.put_new(contact_item(practice_id, contact))

    def get_contact(self, practice_id: str, client_id: str, contact_id: str) -> BillingContact:
        if not is_id(contact_id, "con"):
            raise BillingContactNotFoundError("billing contact not found")
        item = self.table.get(keys.practice_pk(practice_id), keys.contact_sk(client_id, contact_id))
        if not item:
            raise BillingContactNotFoundError("billing contact not found")
        return contact_from_item(item)

    def contacts_of(self, practice_id: str, client_id: str) -> list[BillingContact]:
        items = self.table.query_all(keys.practice_pk(practice_id), prefix=keys.contact_prefix(client_id))
        return [contact_from_item(i) for i in items]

    def update_contact(
        self,
        practice_id: str,
        client_id: str,
        contact_id: str,
        changes: dict[str, Any],
        *,
        expected_version: int | None,
    ) -> BillingContact:
        pk, sk = keys.practice_pk(practice_id), keys.contact_sk(client_id, contact_id)
        return contact_from_item(
            _patched(self.table, pk, sk, changes, expected=expected_version, what="billing contact")
        )

    # -- a billing party's Stripe customer and default card -------------------------------------
    def _party_key(self, practice_id: str, party: BillingParty) -> tuple[str, str]:
        if party.is_contact:
            return keys.practice_pk(practice_id), keys.contact_sk(party.client_id, party.owner_id)
        return keys.practice_pk(practice_id), keys.client_sk(party.client_id)

    def set_stripe_customer(self, practice_id: str, party: BillingParty, customer_id: str) -> str:
        """Record the party's Stripe customer once; if another request won, theirs."""
        pk, sk = self._party_key(practice_id, party)
        try:
            self.table.update(
                pk,
                sk,
                update="SET stripe_customer_id = :c",
                condition="attribute_exists(PK) AND attribute_not_exists(stripe_customer_id)",
                values={":c": customer_id},
            )
        except ConditionFailed as exc:
            if exc.current and exc.current.get("stripe_customer_id"):
                return str(exc.current["stripe_customer_id"])
            raise BillingPartyNotFoundError("payer not found") from exc
        return customer_id

    def set_default_card(
        self, practice_id: str, party: BillingParty, card_id: str | None, *, only_if_unset: bool
    ) -> bool:
        """Set (None: clear) the party's default card; False if the party is gone, or (with
        ``only_if_unset``) it has one already."""
        pk, sk = self._party_key(practice_id, party)
        condition = "attribute_exists(PK)"
        if only_if_unset:
            condition += " AND attribute_not_exists(default_card_id)"
        try:
            if card_id is None:
                self.table.update(pk, sk, update="REMOVE default_card_id", condition=condition)
            else:
                self.table.update(
                    pk, sk, update="SET default_card_id = :c", condition=condition, values={":c": card_id}
                )
        except ConditionFailed:
            return False
        return True

    # -- split billing --------------------------------------------------------------------------
    def get_responsibility(self, practice_id: str, client_id: str) -> Responsibility | None:
        item = self.table.get(keys.practice_pk(practice_id), keys.responsibility_sk(client_id))
        if not item:
            return None
        return Responsibility.model_validate({**item, "updated_at": parse_iso(item["updated_at"])})

    def responsibilities(self, practice_id: str, client_ids: Iterable[str]) -> dict[str, Responsibility]:
        """The split-billing rules of those clients that have some, in one round (BatchGetItem)."""
        pk = keys.practice_pk(practice_id)
        found = self.table.get_many([(pk, keys.responsibility_sk(c)) for c in dict.fromkeys(client_ids)])
        out = [
            Responsibility.model_validate({**item, "updated_at": parse_iso(item["updated_at"])})
            for item in found.values()
        ]
        return {r.client_id: r for r in out}

    def put_responsibility(self, practice_id: str, resp: Responsibility) -> None:
        data = resp.model_dump(mode="json")
        data["updated_at"] = iso(resp.updated_at)
        self.table.put(
            {
                "PK": keys.practice_pk(practice_id),
                "SK": keys.responsibility_sk(resp.client_id),
                "type": "responsibility",
                **data,
            }
        )
