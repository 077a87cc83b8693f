"""Property tests of the ledger against DynamoDB (moto): whatever sequence of posts and replays,
every entry is written once, nothing is edited in place, and the balance is the sum of entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from devstack.resources import table_definition
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from therabill.adapters.dynamo import Table
from therabill.core import keys
from therabill.core.ids import new_id
from therabill.core.money import Money
from therabill.ledger.service import LedgerService

KINDS = ["charge", "payment", "refund", "adjustment", "credit"]

operation = st.tuples(
    st.sampled_from(KINDS),
    st.integers(min_value=1, max_value=10_000_000),
    st.integers(min_value=0, max_value=15),  # source key: small range so replays happen
)


@pytest.fixture(scope="module")
def table():
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**table_definition("ledger-props"))
        yield Table(client, "ledger-props")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operation, min_size=1, max_size=15))
def test_entries_post_once_and_the_balance_is_their_sum(table, ops):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ticks = iter(start + timedelta(seconds=i) for i in range(1000))
    ledger = LedgerService(table, lambda: next(ticks))
    practice, client = new_id("prc"), new_id("cli")
    first_seen: dict[int, tuple[str, int]] = {}
    for kind, amount, source in ops:
        posted = ledger.post(
            practice,
            client_id=client,
            kind=kind,  # type: ignore[arg-type]
            amount=Money(amount=amount, currency="usd"),
            source_key=f"src:{source}",
            memo="property",
        )
        if source in first_seen:
            assert posted is None  # a replay of the same source changes nothing
        else:
            assert posted is not None
            first_seen[source] = (kind, amount)

    entries = ledger.entries(practice, client)
    assert len(entries) == len(first_seen)
    assert sorted((e.kind, e.amount.amount) for e in entries) == sorted(first_seen.values())
    sign = {"charge": 1, "refund": 1, "payment": -1, "credit": -1, "adjustment": -1}
    expected = sum(sign[k] * a for k, a in first_seen.values())
    assert ledger.balance(practice, client, "usd").owed == expected
    # Each entry has its guard, and entries are in posting order.
    for e in entries:
        guard = table.get(keys.practice_pk(practice), keys.ledger_guard_sk(e.source_key))
        assert guard is not None and guard["entry_id"] == e.id
    assert [e.posted_at for e in entries] == sorted(e.posted_at for e in entries)


def test_amounts_must_be_positive_minor_units(table):
    ledger = LedgerService(table, lambda: datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="positive"):
        ledger.post(
            "prc_x",
            client_id="cli_x",
            kind="charge",
            amount=Money(amount=0, currency="usd"),
            source_key="zero",
            memo="",
        )
