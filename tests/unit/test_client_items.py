"""The client item's mapping: the billing type round-trips (absent: self-pay); the insurance
attributes from before coverage existed are not the client's any more (coverage/store/migration.py
carries them over) and are never written."""

from __future__ import annotations

from datetime import UTC, datetime

from therabill.clients.models import Client
from therabill.clients.store import client_from_item, client_item
from therabill.coverage.store.migration import UNKNOWN_PAYER, carried_coverage, insured_before

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _client(**extra: object) -> Client:
    return Client(id="cli_1", first_name="Ada", last_name="Lovelace", created_at=NOW, version=1, **extra)


def test_the_billing_type_round_trips_and_defaults_to_self_pay() -> None:
    item = client_item("prac_1", _client())
    assert item["billing_type"] == "self_pay"
    assert client_from_item({k: v for k, v in item.items() if k != "billing_type"}).billing_type == "self_pay"
    insured = client_item("prac_1", _client(billing_type="insurance"))
    assert client_from_item(insured).billing_type == "insurance"


def test_old_insurance_attributes_are_neither_read_nor_written() -> None:
    item = client_item("prac_1", _client())
    old = {
        **item,
        "payer": {"name": "Acme", "member_id": "M1"},
        "copay_amount": 2_500,
        "payer_forbids_fees": True,
    }
    client = client_from_item(old)
    assert client.billing_type == "self_pay"  # until the migration makes them insured
    assert not {"payer", "copay_amount", "payer_forbids_fees"} & set(client_item("prac_1", client))


def test_a_stored_payer_with_only_a_member_id_is_carried_as_an_unknown_payer() -> None:
    item = {**client_item("prac_1", _client()), "payer": {"member_id": "M123"}}
    assert insured_before(item)
    coverage = carried_coverage(item, NOW)
    assert (coverage.payer.id, coverage.payer.name, coverage.member_id) == (None, UNKNOWN_PAYER, "M123")
    assert (coverage.rank, coverage.copay_amount, coverage.forbids_cancellation_fees) == (
        "primary",
        None,
        False,
    )
    assert not insured_before({**client_item("prac_1", _client()), "payer": {}, "payer_forbids_fees": False})
    assert carried_coverage(item, NOW).id == coverage.id  # the same id every time: never twice
