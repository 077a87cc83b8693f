"""The test harness's shortcuts in moto (tests/moto_speedups.py) answer as moto itself does: the
same responses, the same order of items, the same all-or-nothing transactions."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws
from moto.backends import get_backend
from moto.core import DEFAULT_ACCOUNT_ID, serialize
from moto.dynamodb.models.table import Table

from tests import moto_speedups

pytestmark = pytest.mark.skipif(not moto_speedups.ORIGINALS, reason="not installed for this moto")


def _table(client: Any, name: str, sort_type: str) -> None:
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": sort_type},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def client(dynamodb_client: Any) -> Iterator[Any]:
    with mock_aws():
        _table(dynamodb_client, "strings", "S")
        _table(dynamodb_client, "numbers", "N")
        rng = random.Random(11)
        for n in range(120):
            pk = {"S": rng.choice(["P#1", "P#2", "p#1", "P#10"])}
            word = rng.choice(["LEDGER#", "SES#", "a", "Z", "é"]) + str(n)
            value = {"M": {"n": {"N": str(n)}, "tags": {"SS": ["x", "y"]}, "ok": {"BOOL": n % 2 == 0}}}
            dynamodb_client.put_item(TableName="strings", Item={"pk": pk, "sk": {"S": word}, "v": value})
            number = str(rng.choice([rng.randint(-50, 50), round(rng.random() * 100, 3)]))
            dynamodb_client.put_item(
                TableName="numbers", Item={"pk": pk, "sk": {"N": number}, "l": {"L": []}}
            )
        yield dynamodb_client


def _table_of(name: str) -> Table:
    return get_backend("dynamodb")[DEFAULT_ACCOUNT_ID]["us-east-1"].tables[name]


@pytest.mark.parametrize("name", ["strings", "numbers"])
def test_items_come_in_moto_s_own_order(client: Any, name: str) -> None:
    table = _table_of(name)
    keys = [(i.hash_key.value, i.range_key.value) for i in table.all_items()]
    assert keys == [
        (i.hash_key.value, i.range_key.value) for i in moto_speedups.ORIGINALS["all_items"](table)
    ]
    assert len(keys) > 100


@pytest.mark.parametrize("name", ["strings", "numbers"])
def test_responses_are_moto_s_own(client: Any, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def ask() -> list[Any]:
        query = {"TableName": name, "KeyConditionExpression": "pk = :p"}
        return [
            client.query(**query, ExpressionAttributeValues={":p": {"S": "P#1"}}, ScanIndexForward=False),
            client.get_item(
                TableName=name,
                Key={"pk": {"S": "nobody"}, "sk": client.scan(TableName=name, Limit=1)["Items"][0]["sk"]},
            ),
            client.describe_table(TableName=name)["Table"]["KeySchema"],
        ]

    fast = ask()
    monkeypatch.setattr(serialize.ResponseSerializer, "get_value", moto_speedups.ORIGINALS["get_value"])
    slow = ask()
    strip = [
        {k: v for k, v in r.items() if k != "ResponseMetadata"} if isinstance(r, dict) else r for r in fast
    ]
    assert strip == [
        {k: v for k, v in r.items() if k != "ResponseMetadata"} if isinstance(r, dict) else r for r in slow
    ]
    assert fast[0]["Count"] > 0


def test_a_cancelled_transaction_changes_nothing_and_a_complete_one_all(client: Any) -> None:
    before = client.scan(TableName="strings")["Items"]
    existing = before[0]
    key = {"pk": existing["pk"], "sk": existing["sk"]}
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "strings", "Item": {"pk": {"S": "P#new"}, "sk": {"S": "one"}}}},
                {"Delete": {"TableName": "strings", "Key": {"pk": {"S": "P#2"}, "sk": before[-1]["sk"]}}},
                {
                    "ConditionCheck": {
                        "TableName": "strings",
                        "Key": key,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    assert client.scan(TableName="strings")["Items"] == before
    client.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "strings", "Item": {"pk": {"S": "P#new"}, "sk": {"S": str(n)}}}}
            for n in range(3)
        ]
    )
    assert len(client.scan(TableName="strings")["Items"]) == len(before) + 3
