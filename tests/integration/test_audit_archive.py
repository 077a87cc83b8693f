"""The audit archive's entry point: the table's stream (as Lambda delivers it) → each new audit
record written once to the write-once bucket (moto S3 with Object Lock), nothing else archived,
no health information in what is kept, and a failure reported by the record it stopped at."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from devstack import apigw
from tests.integration import scenario
from tests.integration.conftest import World
from tests.integration.test_audit_trail import CODES, audit_items, call
from therabill.audit.archive import backfill


def _archive_bucket(world: World) -> Any:
    """The world's archive bucket (provisioned as the stack makes it: Object Lock, compliance)."""
    s3 = world.session.client("s3")
    lock = s3.get_object_lock_configuration(Bucket=world.resources.audit_archive_bucket)
    assert lock["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]["Mode"] == "COMPLIANCE"
    return s3


def _stream_event(items: list[dict[str, Any]], event_name: str = "INSERT") -> dict[str, Any]:
    """The DynamoDB stream records Lambda would deliver for ``items`` (NEW_IMAGE)."""
    return {
        "Records": [
            {
                "eventID": f"evt-{n}",
                "eventName": event_name,
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": {
                    "Keys": {"PK": item["PK"], "SK": item["SK"]},
                    "NewImage": item,
                    "SequenceNumber": f"{1000 + n}",
                    "StreamViewType": "NEW_IMAGE",
                },
            }
            for n, item in enumerate(items)
        ]
    }


def _archive(world: World, event: dict[str, Any]) -> dict[str, Any]:
    return world.handler("audit_archive")(event, apigw.LambdaContext("audit-archive"))


def _trail(world: World) -> tuple[scenario.Practice, dict[str, Any]]:
    practice = scenario.create_practice(world, connect=False)
    client = scenario.create_client(world, practice, first_name="Zelda")
    path = f"/clients/{client['id']}/diagnoses"
    assert call(world, "PUT", path, {"codes": CODES}, practice_id=practice.id)[0] == 200
    assert call(world, "GET", f"/clients/{client['id']}", practice_id=practice.id)[0] == 200
    return practice, client


def test_each_new_record_is_archived_once_and_nothing_else(world):
    s3 = _archive_bucket(world)
    practice, client = _trail(world)
    items = audit_items(world, practice.id)  # two records and their copies
    client_item = world.session.client("dynamodb").get_item(
        TableName=world.resources.table_name,
        Key={"PK": {"S": f"P#{practice.id}"}, "SK": {"S": f"CLIENT#{client['id']}"}},
    )["Item"]
    result = _archive(world, _stream_event([*items, client_item]))
    assert result == {"batchItemFailures": []}
    result = _archive(world, _stream_event(items))  # the stream delivers a batch again
    assert result == {"batchItemFailures": []}

    listed = s3.list_objects_v2(Bucket=world.resources.audit_archive_bucket)["Contents"]
    keys = sorted(o["Key"] for o in listed)
    records = sorted(i["id"]["S"] for i in items if i["SK"]["S"].startswith("REC#"))
    assert len(records) == 2
    day = world.clock.now.strftime("%Y/%m/%d")
    assert keys == sorted(f"audit/{practice.id}/{day}/{r}.json" for r in records)
    bodies = [
        s3.get_object(Bucket=world.resources.audit_archive_bucket, Key=k)["Body"].read().decode()
        for k in keys
    ]
    assert sorted(json.loads(b)["action"] for b in bodies) == [
        "client.diagnoses.change",
        "client.diagnoses.read",
    ]
    assert all(json.loads(b)["targets"]["client_id"] == client["id"] for b in bodies)
    assert not any(code in b or "Zelda" in b for b in bodies for code in CODES)
    versions = s3.list_object_versions(Bucket=world.resources.audit_archive_bucket)["Versions"]
    assert len(versions) == 2  # the batch delivered again wrote no second version


def test_an_expired_item_is_not_archived_and_a_changed_one_is_counted_and_logged(
    world, capsys, caplog, monkeypatch
):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    s3 = _archive_bucket(world)
    practice, _ = _trail(world)
    items = audit_items(world, practice.id)
    expired = _stream_event(items, "REMOVE")
    for record in expired["Records"]:  # TTL's removal after the hot period
        record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    capsys.readouterr()
    assert _archive(world, expired) == {"batchItemFailures": []}
    assert "AuditItemsChanged" not in capsys.readouterr().out
    assert not [r for r in caplog.records if r.getMessage() == "audit item changed"]
    for name in ("MODIFY", "REMOVE"):  # overwritten; removed by anything but TTL
        caplog.clear()
        assert _archive(world, _stream_event(items[:1], name)) == {"batchItemFailures": []}
        (logged,) = [r for r in caplog.records if r.getMessage() == "audit item changed"]
        assert logged.levelname == "ERROR" and items[0]["SK"]["S"] in str(logged.__dict__["key"])
        emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
        assert [r["AuditItemsChanged"] for r in emf] == [[1.0]]
    assert "Contents" not in s3.list_objects_v2(Bucket=world.resources.audit_archive_bucket)


def test_a_record_that_cannot_be_archived_is_reported_so_the_stream_retries_from_it(world):
    world.container.settings = world.container.settings.model_copy(
        update={"audit_archive_bucket": "therabill-no-such-bucket"}  # every put fails
    )
    practice, _ = _trail(world)
    items = [i for i in audit_items(world, practice.id) if i["SK"]["S"].startswith("REC#")]
    result = _archive(world, _stream_event(items))
    assert result == {"batchItemFailures": [{"itemIdentifier": "1000"}]}


@pytest.fixture(autouse=True)
def _fresh_archive(world):
    """The archive is built once per container: each test names its own bucket first."""
    world.container.__dict__.pop("audit_archive", None)
    yield


def test_records_the_stream_never_delivered_are_archived_by_the_backfill_once(world):
    """Past the stream's 24 hours, the operator's backfill reads a period's records back from the
    table and archives each once; run again, it writes nothing new."""

    s3 = _archive_bucket(world)
    practice, _ = _trail(world)
    _other, _ = _trail(world)  # another practice's records are not this backfill's
    day = world.clock.now.replace(hour=0, minute=0, second=0, microsecond=0)
    window = (day, day + timedelta(days=1))
    c = world.container
    assert backfill(c.audit, c.audit_archive, practice.id, *window) == 2
    assert backfill(c.audit, c.audit_archive, practice.id, *window) == 2
    listed = s3.list_object_versions(Bucket=world.resources.audit_archive_bucket)["Versions"]
    assert len(listed) == 2  # the second run wrote no second version
    assert all(v["Key"].startswith(f"audit/{practice.id}/") for v in listed)
    assert backfill(c.audit, c.audit_archive, practice.id, day - timedelta(days=2), day) == 0
