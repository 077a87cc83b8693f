"""The client item's mapping: the insurance company is read from the stored ``payer`` attribute
and never written back."""

from __future__ import annotations

from datetime import UTC, datetime

from therabill.clients.models import Client
from therabill.clients.store import client_from_item, client_item

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _client(**extra: object) -> Client:
    return Client(id="cli_1", first_name="Ada", last_name="Lovelace", created_at=NOW, version=1, **extra)


def test_the_insurance_payer_is_read_from_the_stored_payer_attribute() -> None:
    item = client_item("prac_1", _client())
    assert client_from_item(item).insurance_payer is None
    assert client_from_item({**item, "payer": "payer_acme"}).insurance_payer == "payer_acme"
    mapped = client_from_item({**item, "payer": {"name": "Acme Health", "member_id": "M1"}})
    assert mapped.insurance_payer == "Acme Health"


def test_the_insurance_payer_is_never_written() -> None:
    item = client_item("prac_1", _client(insurance_payer="payer_acme"))
    assert "insurance_payer" not in item
    assert "payer" not in item


def test_a_stored_payer_without_id_or_name_still_makes_the_client_insured() -> None:
    # A legacy item holding only a member id: insured, and the member id is not copied out.
    client = client_from_item({**client_item("prac_1", _client()), "payer": {"member_id": "M123"}})
    assert client.insurance_payer == "unnamed payer"
    assert client_from_item({**client_item("prac_1", _client()), "payer": {}}).insurance_payer is None
