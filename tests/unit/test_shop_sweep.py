"""The store's expiry sweep reads every due reservation, page after page, up to the first not yet
due: orders the sweep keeps (a payment still pending) at the front never hide the ones behind."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from devstack.resources import table_definition
from moto import mock_aws

from therabill import contract
from therabill.adapters.dynamo import Table
from therabill.core import keys
from therabill.core.clock import iso
from therabill.shop.store import ShopStore

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def table(dynamodb_client: Any) -> Iterator[Table]:
    with mock_aws():
        dynamodb_client.create_table(**table_definition("sweep"))
        yield Table(dynamodb_client, "sweep")


def _reserved(table: Table, practice_id: str, order_id: str, expires_at: datetime) -> None:
    table.put(
        {
            "PK": keys.practice_pk(practice_id),
            "SK": f"ORDER#{order_id}",
            "id": order_id,
            "expires_at": iso(expires_at),
            contract.GSI1_PARTITION_KEY: keys.ORDER_EXPIRY_GSI,
            contract.GSI1_SORT_KEY: keys.order_expiry_gsi_sk(iso(expires_at), practice_id, order_id),
        }
    )


def test_every_due_reservation_is_read_past_a_full_first_page(table: Table) -> None:
    for n in range(5):
        _reserved(table, "prc_a" if n % 2 else "prc_b", f"ord_{n}", NOW - timedelta(minutes=30 - n))
    _reserved(table, "prc_a", "ord_later", NOW + timedelta(minutes=5))
    due = ShopStore(table).due_orders(NOW, limit=2)  # three pages of two
    assert due == [
        ("prc_b", "ord_0"),
        ("prc_a", "ord_1"),
        ("prc_b", "ord_2"),
        ("prc_a", "ord_3"),
        ("prc_b", "ord_4"),
    ]
