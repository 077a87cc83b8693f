"""Template assertions for the audit trail: append-only for every function role (an explicit Deny
on the audit partitions), the table's stream, the archive function (reads the stream, writes only
to the archive bucket's prefix; a failed batch goes to an alarmed queue) and the write-once
bucket (Object Lock, compliance, six years; colder with age). Expectations are written out here."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.test_stack import FUNCTION_NAMES, Synth, _arn, _listify, _ref
from therabill_infra.contract import contract

pytestmark = pytest.mark.xdist_group("cdk-synth")  # the app synthesized once, on one worker

SIX_YEARS_DAYS = 6 * 365


def _archive_bucket(synth: Synth) -> tuple[str, dict[str, Any]]:
    locked = {
        lid: b
        for lid, b in synth.of_type("AWS::S3::Bucket").items()
        if "ObjectLockConfiguration" in b["Properties"]
    }
    assert len(locked) == 1, sorted(locked)
    return next(iter(locked.items()))


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_every_role_is_denied_changing_or_removing_audit_items(synth: Synth, name: str) -> None:
    table_id, _ = synth.only("AWS::DynamoDB::Table")
    denies = synth.role_denies(synth.role_id(name))
    keyed = [st for st in denies if "Condition" in st]
    (deny,) = keyed
    assert set(_listify(deny["Action"])) == {
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
    }
    assert deny["Resource"] == _arn(table_id)
    assert deny["Condition"] == {"ForAnyValue:StringLike": {"dynamodb:LeadingKeys": ["AUDIT#*"]}}
    (partiql,) = [st for st in denies if "Condition" not in st]
    assert set(_listify(partiql["Action"])) == {"dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete"}
    assert partiql["Resource"] == _arn(table_id)
    # Nothing else allows the batch write or PartiQL that the deny would have to outweigh.
    allowed = synth.role_actions(synth.role_id(name))
    assert not allowed & {"dynamodb:BatchWriteItem", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete"}


def test_the_audit_partition_prefix_is_the_one_the_runtime_writes() -> None:
    from therabill.core import keys

    assert keys.audit_pk("prc_x").startswith(contract.AUDIT_PARTITION_PREFIX)
    assert contract.AUDIT_PARTITION_PREFIX == "AUDIT#"


def test_the_table_streams_new_images(synth: Synth) -> None:
    _, table = synth.only("AWS::DynamoDB::Table")
    assert table["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}


def test_the_archive_bucket_is_write_once_for_six_years_and_grows_colder(synth: Synth) -> None:
    _, bucket = _archive_bucket(synth)
    props = bucket["Properties"]
    assert props["ObjectLockEnabled"] is True
    retention = props["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert retention["Mode"] == "COMPLIANCE"
    assert retention["Days"] >= SIX_YEARS_DAYS
    assert props["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    key = rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]["Fn::GetAtt"][0]
    assert synth.resources[key]["Properties"]["EnableKeyRotation"] is True
    assert "LoggingConfiguration" in props
    assert bucket["DeletionPolicy"] == "Retain"
    (lifecycle,) = props["LifecycleConfiguration"]["Rules"]
    assert lifecycle["Status"] == "Enabled" and lifecycle["Prefix"] == "audit/"
    classes = [(t["StorageClass"], t["TransitionInDays"]) for t in lifecycle["Transitions"]]
    assert classes == [("GLACIER_IR", 30), ("DEEP_ARCHIVE", 400)]
    assert lifecycle["ExpirationInDays"] > SIX_YEARS_DAYS  # only after the lock has run out


def test_the_archive_function_writes_only_to_the_archive_prefix(synth: Synth) -> None:
    bucket_id, _ = _archive_bucket(synth)
    role = synth.role_id("audit-archive")
    (put,) = synth.statements_with(role, "s3:PutObject")
    assert _listify(put["Action"]) == ["s3:PutObject"]
    assert put["Resource"] == {"Fn::Join": ["", [_arn(bucket_id), "/audit/*"]]}
    actions = synth.role_actions(role)
    assert {a for a in actions if a.startswith("s3:")} == {"s3:PutObject"}
    assert not {a for a in actions if a.startswith("dynamodb:")} - {
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
    }
    table_id, _ = synth.only("AWS::DynamoDB::Table")
    (stream,) = synth.statements_with(role, "dynamodb:GetRecords")
    assert stream["Resource"] == {"Fn::GetAtt": [table_id, "StreamArn"]}
    # No other function reaches the archive (eligibility's functions write the documents bucket).
    for other in FUNCTION_NAMES:
        if other != "audit-archive":
            for st in synth.statements_with(synth.role_id(other), "s3:PutObject"):
                assert bucket_id not in json.dumps(st["Resource"]), other
    # The staff API's card pictures: the documents bucket's card-images/ prefix alone.
    staff = synth.role_id("staff-api")
    for action in ("s3:PutObject", "s3:GetObject", "s3:DeleteObject"):
        statements = synth.statements_with(staff, action)
        assert statements and all(bucket_id not in json.dumps(st) for st in statements)
        assert any("card-images/*" in json.dumps(st["Resource"]) for st in statements)
    (listing,) = synth.statements_with(staff, "s3:ListBucket")
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["card-images/*"]}}
    assert bucket_id not in json.dumps(listing)


def test_the_archive_reads_only_new_audit_records_and_parks_failed_batches(synth: Synth) -> None:
    table_id, _ = synth.only("AWS::DynamoDB::Table")
    function = synth.function_id("audit-archive")
    (mapping,) = [
        m["Properties"]
        for m in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == _ref(function)
    ]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [table_id, "StreamArn"]}
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 0 < mapping["MaximumRetryAttempts"] <= 10
    patterns = [json.loads(f["Pattern"]) for f in mapping["FilterCriteria"]["Filters"]]
    audit_pk = {"PK": {"S": [{"prefix": "AUDIT#"}]}}
    assert patterns == [
        {"eventName": ["INSERT"], "dynamodb": {"Keys": {**audit_pk, "SK": {"S": [{"prefix": "REC#"}]}}}},
        {"eventName": ["MODIFY"], "dynamodb": {"Keys": audit_pk}},
        {"eventName": ["REMOVE"], "userIdentity": [{"exists": False}], "dynamodb": {"Keys": audit_pk}},
    ]
    failures = mapping["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    assert synth.resources[failures]["Type"] == "AWS::SQS::Queue"
    alarms = [
        a["Properties"]
        for a in synth.of_type("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and any(d["Value"] == {"Fn::GetAtt": [failures, "QueueName"]} for d in a["Properties"]["Dimensions"])
    ]
    (alarm,) = alarms
    assert alarm["Threshold"] == 1 and alarm["AlarmActions"]
    (send,) = synth.statements_with(synth.role_id("audit-archive"), "sqs:SendMessage")
    assert send["Resource"] == _arn(failures)
    env = synth.resources[function]["Properties"]["Environment"]["Variables"]
    bucket_id, _ = _archive_bucket(synth)
    assert env[contract.ENV_AUDIT_ARCHIVE_BUCKET] == _ref(bucket_id)


def test_a_changed_audit_item_sets_off_an_alarm(synth: Synth) -> None:
    (alarm,) = [
        a["Properties"]
        for a in synth.of_type("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == contract.METRIC_AUDIT_ITEMS_CHANGED
    ]
    assert alarm["Namespace"] == "Therabill"
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "therabill"}]
    assert (alarm["Statistic"], alarm["Period"], alarm["Threshold"]) == ("Sum", 300, 1)
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["AlarmActions"] and alarm["TreatMissingData"] == "notBreaching"
