"""The per-practice X12 control numbers: atomic, per kind and practice, wrapping at 9 digits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from devstack.resources import table_definition
from moto import mock_aws

from therabill.adapters.dynamo import Table
from therabill.clearinghouse.store import (
    MAX_CONTROL_NUMBER,
    PracticeControlNumbers,
    X12CounterStore,
    wrapped,
)
from therabill.x12.reader import read
from therabill.x12.writer import ControlNumberKind, Envelope, Party, Transaction, seg, write_interchange


@pytest.fixture
def table(dynamodb_client: Any) -> Iterator[Table]:
    with mock_aws():
        dynamodb_client.create_table(**table_definition("counters"))
        yield Table(dynamodb_client, "counters")


def test_each_kind_and_practice_counts_from_one(table: Table) -> None:
    store = X12CounterStore(table)
    assert [store.next("prc_a", ControlNumberKind.INTERCHANGE) for _ in range(3)] == [1, 2, 3]
    assert store.next("prc_a", ControlNumberKind.GROUP) == 1
    assert store.next("prc_b", ControlNumberKind.INTERCHANGE) == 1
    item = table.get("P#prc_a", "X12COUNTER#interchange")
    assert item is not None and item["last"] == 3


def test_writers_in_turn_never_repeat_a_number_and_each_takes_one_atomic_add(
    table: Table, dynamodb_client: Any
) -> None:
    """Each number is one UpdateItem ADD answered with the new value (DynamoDB applies it
    atomically, so concurrent writers can never share a number; moto is not thread-safe, so the
    writers here take turns rather than race)."""
    sent: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.append(params)

    events = dynamodb_client.meta.events
    events.register("before-parameter-build.dynamodb.UpdateItem", record)
    try:
        one, other = X12CounterStore(table), X12CounterStore(table)
        numbers = [
            (one if n % 3 else other).next("prc_busy", ControlNumberKind.INTERCHANGE) for n in range(30)
        ]
    finally:
        events.unregister("before-parameter-build.dynamodb.UpdateItem", record)
    assert numbers == list(range(1, 31))
    assert len(sent) == 30
    assert all(
        "ADD" in p["UpdateExpression"] and p["ReturnValues"] in ("UPDATED_NEW", "ALL_NEW") for p in sent
    )
    assert not any("ConditionExpression" in p for p in sent)  # nothing to read first, nothing to lose


def test_the_number_wraps_after_nine_digits(table: Table) -> None:
    assert wrapped(1) == 1
    assert wrapped(999_999_999) == 999_999_999
    assert wrapped(1_000_000_000) == 1
    assert wrapped(1_000_000_001) == 2
    table.put(
        {
            "PK": "P#prc_old",
            "SK": "X12COUNTER#interchange",
            "type": "x12_counter",
            "last": MAX_CONTROL_NUMBER - 1,
        }
    )
    store = X12CounterStore(table)
    taken = [store.next("prc_old", ControlNumberKind.INTERCHANGE) for _ in range(3)]
    assert taken == [999_999_999, 1, 2]


def test_the_writer_takes_its_numbers_from_the_practice_counter(table: Table) -> None:
    numbers = PracticeControlNumbers(X12CounterStore(table), "prc_w")
    envelope = Envelope(Party("ZZ", "SENDER"), Party("ZZ", "RECEIVER"), "SENDER", "RECEIVER")
    body = (seg("BHT", "0022", "13", "T1", "20261201", "1000"),)
    at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    first = write_interchange(
        envelope, [Transaction("270", "005010X279A1", body)], created_at=at, numbers=numbers
    )
    second = write_interchange(
        envelope, [Transaction("270", "005010X279A1", body)], created_at=at, numbers=numbers
    )
    assert read(first).interchanges[0].control_number == "000000001"
    assert read(second).interchanges[0].control_number == "000000002"
    assert read(second).interchanges[0].groups[0].control_number == "2"
