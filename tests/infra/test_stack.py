"""Template assertions for the Therabill stack.

The app is synthesized once for the module (with cdk-nag on, asset bundling off and the
placeholder layer). Expectations below are written out independently of
infra/therabill_infra/permissions.py, so a change there that widens a role fails here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import assertions
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks

from therabill_infra.app_factory import build_app
from therabill_infra.contract import contract
from therabill_infra.layer import python_version
from therabill_infra.permissions import UnknownCapabilityError, capability_statements
from therabill_infra.settings import SettingsError

# The synthesis is the module's fixture: under ``pytest -n 2 --dist loadgroup`` the module stays on
# one worker, so the app is synthesized once, not once per worker.
pytestmark = pytest.mark.xdist_group("cdk-synth")

# ---------------------------------------------------------------- expectations, written out
BASE_ACTIONS = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}
ACTIONS_BY_CAPABILITY = {
    "table:read": {
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "kms:Decrypt",
        "kms:DescribeKey",
    },
    "table:write": {
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:Encrypt",
        "kms:GenerateDataKey",
    },
    "secrets:read": {"secretsmanager:GetSecretValue", "kms:Decrypt"},
    "email:send": {"ses:SendEmail", "ses:SendRawEmail"},
    "queue:stripe-events:send": {"sqs:SendMessage", "kms:GenerateDataKey", "kms:Decrypt"},
    "queue:stripe-events:consume": {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "kms:Decrypt",
    },
    "queue:nightly:send": {"sqs:SendMessage", "kms:GenerateDataKey", "kms:Decrypt"},
    "queue:nightly:consume": {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "kms:Decrypt",
    },
    "users:create": {"cognito-idp:AdminCreateUser", "cognito-idp:AdminGetUser", "cognito-idp:ListUsers"},
    "scheduler:manage": {
        "scheduler:CreateSchedule",
        "scheduler:GetSchedule",
        "scheduler:UpdateSchedule",
        "iam:PassRole",
    },
    "cognito:staff-users": {
        "cognito-idp:AdminCreateUser",
        "cognito-idp:AdminDeleteUser",
        "cognito-idp:AdminDisableUser",
        "cognito-idp:AdminEnableUser",
        "cognito-idp:AdminGetUser",
        "cognito-idp:AdminUpdateUserAttributes",
        "cognito-idp:AdminUserGlobalSignOut",
    },
    "table:stream:read": {
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
        "kms:Decrypt",
        "sqs:SendMessage",
        "kms:GenerateDataKey",
    },
    "audit:archive": {"s3:PutObject", "kms:GenerateDataKey"},
    "documents:card-images": {
        "s3:PutObject",
        "s3:GetObject",
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "s3:ListBucket",
        "s3:ListBucketVersions",
        "kms:GenerateDataKey",
        "kms:Decrypt",
    },
    "documents:eligibility": {"s3:GetObject", "s3:PutObject", "kms:Decrypt", "kms:GenerateDataKey"},
    "scheduler:list": {"scheduler:ListSchedules"},
}
ASYNC_DLQ_ACTIONS = {"sqs:SendMessage", "kms:GenerateDataKey", "kms:Decrypt"}
SCHEDULED = {target for _, _, target in contract.SCHEDULES}
FUNCTION_NAMES = [spec.name for spec in contract.FUNCTIONS]
SPECS = {spec.name: spec for spec in contract.FUNCTIONS}


@dataclass
class Synth:
    template: assertions.Template
    resources: dict[str, dict[str, Any]]
    stack: Any
    template_file: Path

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {lid: r for lid, r in self.resources.items() if r["Type"] == resource_type}

    def only(self, resource_type: str) -> tuple[str, dict[str, Any]]:
        found = self.of_type(resource_type)
        assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
        return next(iter(found.items()))

    def function_id(self, name: str) -> str:
        handler = SPECS[name].handler
        matches = [
            lid
            for lid, r in self.of_type("AWS::Lambda::Function").items()
            if r["Properties"]["Handler"] == handler
        ]
        assert len(matches) == 1, f"one function with handler {handler}, found {matches}"
        return matches[0]

    def role_id(self, function_name: str) -> str:
        role = self.resources[self.function_id(function_name)]["Properties"]["Role"]
        return role["Fn::GetAtt"][0]

    def role_statements(self, role_id: str) -> list[dict[str, Any]]:
        role = self.resources[role_id]["Properties"]
        assert not role.get("ManagedPolicyArns"), f"{role_id} has AWS managed policies"
        assert not role.get("Policies"), f"{role_id} has inline policies"
        statements: list[dict[str, Any]] = []
        for policy_type in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            for policy in self.of_type(policy_type).values():
                if {"Ref": role_id} in policy["Properties"].get("Roles", []):
                    statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
        return statements

    def role_actions(self, role_id: str) -> set[str]:
        """What the role is allowed (its explicit denies: ``role_denies``)."""
        return {
            action
            for st in self.role_statements(role_id)
            if st.get("Effect", "Allow") == "Allow"
            for action in _listify(st["Action"])
        }

    def role_denies(self, role_id: str) -> list[dict[str, Any]]:
        return [st for st in self.role_statements(role_id) if st.get("Effect") == "Deny"]

    def statements_with(self, role_id: str, action: str) -> list[dict[str, Any]]:
        return [
            st
            for st in self.role_statements(role_id)
            if action in _listify(st["Action"]) and st.get("Effect", "Allow") == "Allow"
        ]


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


def _arn(logical_id: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def synthesize(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The app synthesized offline (the ``synth`` fixture in conftest.py: once per test process)."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stack = build_app({"aws:cdk:bundling-stacks": [], "use_placeholder_layer": True}, outdir=outdir)
    try:
        app.synth()
    except RuntimeError as exc:  # cdk-nag findings fail synthesis with a validation report
        report = outdir / "validation-report.json"
        details = report.read_text(encoding="utf-8") if report.exists() else ""
        pytest.fail(f"synthesis failed: {exc}\n{details[:5000]}")
    template = assertions.Template.from_stack(stack)
    return Synth(
        template, template.to_json()["Resources"], stack, outdir / f"{stack.stack_name}.template.json"
    )


# ---------------------------------------------------------------- data
def test_table_key_schema_pitr_ttl_gsi_and_customer_managed_key(synth: Synth) -> None:
    table_id, table = synth.only("AWS::DynamoDB::Table")
    props = table["Properties"]
    assert props["KeySchema"] == [
        {"AttributeName": contract.TABLE_PARTITION_KEY, "KeyType": "HASH"},
        {"AttributeName": contract.TABLE_SORT_KEY, "KeyType": "RANGE"},
    ]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["TimeToLiveSpecification"] == {
        "AttributeName": contract.TABLE_TTL_ATTRIBUTE,
        "Enabled": True,
    }
    (gsi,) = props["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == contract.GSI1_NAME
    assert gsi["KeySchema"] == [
        {"AttributeName": contract.GSI1_PARTITION_KEY, "KeyType": "HASH"},
        {"AttributeName": contract.GSI1_SORT_KEY, "KeyType": "RANGE"},
    ]
    sse = props["SSESpecification"]
    assert sse["SSEEnabled"] is True
    assert sse["SSEType"] == "KMS"
    key_id = sse["KMSMasterKeyId"]["Fn::GetAtt"][0]
    key = synth.resources[key_id]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["Properties"]["EnableKeyRotation"] is True
    assert table["DeletionPolicy"] == "Retain"
    assert key["DeletionPolicy"] == "Retain"

    selection = synth.only("AWS::Backup::BackupSelection")[1]["Properties"]["BackupSelection"]
    assert _arn(table_id) in selection["Resources"]


def test_every_kms_key_rotates(synth: Synth) -> None:
    keys = synth.of_type("AWS::KMS::Key")
    assert keys
    assert all(k["Properties"]["EnableKeyRotation"] is True for k in keys.values())


# ---------------------------------------------------------------- functions and their roles
@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_function_role_has_exactly_its_capabilities(synth: Synth, name: str) -> None:
    spec = SPECS[name]
    expected = set(BASE_ACTIONS)
    for capability in spec.permissions:
        expected |= ACTIONS_BY_CAPABILITY[capability]
    if name in SCHEDULED:
        expected |= ASYNC_DLQ_ACTIONS

    assert synth.role_actions(synth.role_id(name)) == expected


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_each_function_has_its_own_role(synth: Synth, name: str) -> None:
    others = {synth.role_id(other) for other in FUNCTION_NAMES if other != name}
    role_id = synth.role_id(name)
    assert role_id not in others
    trust = synth.resources[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]


def test_no_iam_policy_grants_wildcard_actions_scan_or_admin(synth: Synth) -> None:
    for policy_type in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
        for lid, policy in synth.of_type(policy_type).items():
            for st in policy["Properties"]["PolicyDocument"]["Statement"]:
                for action in _listify(st["Action"]):
                    assert "*" not in action, f"{lid} grants {action}"
                    assert action != "dynamodb:Scan", f"{lid} grants Scan"
                if "*" in _listify(st["Resource"]):
                    # Neither X-Ray's nor Scheduler's ListSchedules has resource-level permissions.
                    assert set(_listify(st["Action"])) <= {
                        "xray:PutTraceSegments",
                        "xray:PutTelemetryRecords",
                        "scheduler:ListSchedules",
                    }, f"{lid} grants {st['Action']} on every resource"


def test_only_the_eligibility_function_lists_schedules_and_it_reads_only_eligibility_documents(
    synth: Synth,
) -> None:
    listing = [n for n in FUNCTION_NAMES if "scheduler:ListSchedules" in synth.role_actions(synth.role_id(n))]
    assert listing == ["eligibility-checks"]
    (documents,) = synth.statements_with(synth.role_id("eligibility-checks"), "s3:PutObject")
    assert json.dumps(documents["Resource"]).endswith('"/eligibility/*"]]}'), documents["Resource"]
    # The staff API writes there too (a check staff ask for), and its card pictures' prefix.
    puts = synth.statements_with(synth.role_id("staff-api"), "s3:PutObject")
    staff = sorted(json.dumps(st["Resource"]) for st in puts)
    assert len(staff) == 2, staff
    assert staff[0].endswith('"/card-images/*"]]}') and staff[1].endswith('"/eligibility/*"]]}'), staff


def test_stripe_webhook_enqueues_to_the_stripe_events_queue_but_cannot_send_email(synth: Synth) -> None:
    role = synth.role_id("stripe-webhook")
    queue_id = _stripe_events_queue_id(synth)
    (send,) = synth.statements_with(role, "sqs:SendMessage")
    assert send["Resource"] == _arn(queue_id)
    actions = synth.role_actions(role)
    assert "ses:SendRawEmail" not in actions
    assert "ses:SendEmail" not in actions
    assert "sqs:ReceiveMessage" not in actions


def test_staff_api_cannot_enqueue_or_consume(synth: Synth) -> None:
    actions = synth.role_actions(synth.role_id("staff-api"))
    assert not {a for a in actions if a.startswith("sqs:")}


def test_public_api_creates_sign_up_owners_in_the_staff_pool_and_changes_no_user(synth: Synth) -> None:
    """Sign-up makes a practice's owner (and emails an address that has an account): the public
    API may create a user of the one staff pool, read it back and look an address up; never
    change, disable or delete a user."""
    role = synth.role_id("public-api")
    actions = synth.role_actions(role)
    assert {a for a in actions if a.startswith("cognito-idp:")} == {
        "cognito-idp:AdminCreateUser",
        "cognito-idp:AdminGetUser",
        "cognito-idp:ListUsers",
    }
    (pool_id, _) = synth.only("AWS::Cognito::UserPool")
    (create,) = synth.statements_with(role, "cognito-idp:AdminCreateUser")
    assert create["Resource"] == {"Fn::GetAtt": [pool_id, "Arn"]}


def test_table_actions_are_scoped_to_the_table_and_gsi1(synth: Synth) -> None:
    table_id, _ = synth.only("AWS::DynamoDB::Table")
    role = synth.role_id("staff-api")
    (read,) = synth.statements_with(role, "dynamodb:Query")
    assert read["Resource"] == [
        _arn(table_id),
        {"Fn::Join": ["", [_arn(table_id), f"/index/{contract.GSI1_NAME}"]]},
    ]
    (write,) = synth.statements_with(role, "dynamodb:PutItem")
    assert write["Resource"] == _arn(table_id)


def test_kms_use_is_limited_to_the_owning_service(synth: Synth) -> None:
    for name in FUNCTION_NAMES:
        for st in synth.role_statements(synth.role_id(name)):
            if any(a.startswith("kms:") for a in _listify(st["Action"])):
                via = st["Condition"]["StringEquals"]["kms:ViaService"]
                assert via["Fn::Join"][1][0] in {"dynamodb.", "secretsmanager.", "sqs.", "s3."}


def test_secrets_read_is_the_one_secret(synth: Synth) -> None:
    secret_id, secret = synth.only("AWS::SecretsManager::Secret")
    assert "KmsKeyId" in secret["Properties"]
    (get,) = synth.statements_with(synth.role_id("public-api"), "secretsmanager:GetSecretValue")
    assert get["Resource"] == _ref(secret_id)


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_function_runtime_handler_tracing_layer_and_logs(synth: Synth, name: str) -> None:
    spec = SPECS[name]
    props = synth.resources[synth.function_id(name)]["Properties"]
    assert props["Runtime"] == f"python{python_version()}"
    assert props["Architectures"] == ["arm64"]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["Timeout"] == spec.timeout_seconds
    assert props["MemorySize"] == spec.memory_mb
    (layer,) = props["Layers"]
    assert synth.resources[layer["Ref"]]["Type"] == "AWS::Lambda::LayerVersion"
    assert props["ReservedConcurrentExecutions"] >= 1

    log_group = synth.resources[props["LoggingConfig"]["LogGroup"]["Ref"]]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] > 0
    assert "KmsKeyId" in log_group["Properties"]
    (logs_statement,) = synth.statements_with(synth.role_id(name), "logs:PutLogEvents")
    assert logs_statement["Resource"] == _arn(props["LoggingConfig"]["LogGroup"]["Ref"])


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_function_environment_resolves_every_contract_name(synth: Synth, name: str) -> None:
    env = synth.resources[synth.function_id(name)]["Properties"]["Environment"]["Variables"]
    assert set(SPECS[name].env) <= set(env)
    table_id, _ = synth.only("AWS::DynamoDB::Table")
    secret_id, _ = synth.only("AWS::SecretsManager::Secret")
    resolved = {
        contract.ENV_TABLE_NAME: _ref(table_id),
        contract.ENV_SECRETS_ARN: _ref(secret_id),
        contract.ENV_STRIPE_EVENTS_QUEUE_URL: _ref(_stripe_events_queue_id(synth)),
        contract.ENV_EMAIL_SENDER: "billing@example.com",
        contract.ENV_STRIPE_API_BASE: "",
    }
    for key, value in resolved.items():
        if key in SPECS[name].env:
            assert env[key] == value, key
    if contract.ENV_PUBLIC_BASE_URL in SPECS[name].env:
        url = env[contract.ENV_PUBLIC_BASE_URL]["Fn::Join"][1]
        rest_api_id, _ = synth.only("AWS::ApiGateway::RestApi")
        assert url[0] == "https://"
        assert url[1] == _ref(rest_api_id)


def test_scheduled_functions_have_an_async_dead_letter_queue(synth: Synth) -> None:
    queues = synth.of_type("AWS::SQS::Queue")
    for name in SCHEDULED:
        props = synth.resources[synth.function_id(name)]["Properties"]
        dlq_id = props["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0]
        assert dlq_id in queues
        (send,) = synth.statements_with(synth.role_id(name), "sqs:SendMessage")
        # The DLQ, plus the one queue a producer (nightly-dispatch) sends its work to.
        sent_to = _listify(send["Resource"])
        assert _arn(dlq_id) in sent_to
        assert len(sent_to) == 1 + (contract.CAN_ENQUEUE_NIGHTLY in SPECS[name].permissions)


# ---------------------------------------------------------------- queues
def _stripe_events_queue_id(synth: Synth) -> str:
    worker = synth.function_id("stripe-worker")
    mappings = [
        m
        for m in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == _ref(worker)
    ]
    assert len(mappings) == 1
    return mappings[0]["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]


def test_stripe_worker_consumes_with_partial_batch_failures(synth: Synth) -> None:
    worker = synth.function_id("stripe-worker")
    synth.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionName": _ref(worker),
            "EventSourceArn": _arn(_stripe_events_queue_id(synth)),
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    )


def test_stripe_events_queue_has_a_dlq_and_outlives_the_worker_timeout(synth: Synth) -> None:
    queue = synth.resources[_stripe_events_queue_id(synth)]["Properties"]
    dlq_id = queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert synth.resources[dlq_id]["Type"] == "AWS::SQS::Queue"
    assert queue["RedrivePolicy"]["maxReceiveCount"] >= 3
    assert queue["VisibilityTimeout"] >= 6 * SPECS["stripe-worker"].timeout_seconds


def test_every_dead_letter_queue_is_alarmed_and_the_alarm_notifies(synth: Synth) -> None:
    """A message parked in any DLQ (an event the worker could never apply, above all) sets off
    an alarm with an action: nothing sits there unseen."""
    queues = synth.of_type("AWS::SQS::Queue")
    dlq_ids = {
        q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in queues.values()
        if "RedrivePolicy" in q["Properties"]
    }
    assert _stripe_events_queue_id(synth) not in dlq_ids and len(dlq_ids) >= 2
    alarms = synth.of_type("AWS::CloudWatch::Alarm").values()
    alarmed = {
        dim["Value"]["Fn::GetAtt"][0]
        for a in alarms
        if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and a["Properties"]["AlarmActions"]
        for dim in a["Properties"]["Dimensions"]
        if dim["Name"] == "QueueName"
    }
    assert dlq_ids <= alarmed
    (topic,) = synth.of_type("AWS::SNS::Topic").values()
    assert topic["Properties"]["KmsMasterKeyId"]


def test_every_queue_is_kms_encrypted_and_ssl_only(synth: Synth) -> None:
    queues = synth.of_type("AWS::SQS::Queue")
    assert len(queues) >= 2
    policies = synth.of_type("AWS::SQS::QueuePolicy").values()
    for lid, queue in queues.items():
        key = queue["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
        assert synth.resources[key]["Type"] == "AWS::KMS::Key"
        denies = [
            st
            for p in policies
            if _ref(lid) in p["Properties"]["Queues"]
            for st in p["Properties"]["PolicyDocument"]["Statement"]
            if st["Effect"] == "Deny"
            and st.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        ]
        assert denies, f"{lid} accepts plain-text requests"


# ---------------------------------------------------------------- documents bucket
def test_documents_bucket_is_kms_encrypted_private_versioned_and_logged(synth: Synth) -> None:
    buckets = synth.of_type("AWS::S3::Bucket")
    documents = [
        b
        for b in buckets.values()
        if "LoggingConfiguration" in b["Properties"] and "ObjectLockConfiguration" not in b["Properties"]
    ]
    assert len(documents) == 1
    props = documents[0]["Properties"]
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    key = rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]["Fn::GetAtt"][0]
    assert synth.resources[key]["Properties"]["EnableKeyRotation"] is True
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    logs_bucket = props["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
    assert logs_bucket in buckets
    for bucket in buckets.values():
        assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert bucket["DeletionPolicy"] == "Retain"


# ---------------------------------------------------------------- API
def _resource_paths(synth: Synth) -> dict[str, str]:
    resources = synth.of_type("AWS::ApiGateway::Resource")
    paths: dict[str, str] = {}

    def path_of(lid: str) -> str:
        if lid not in paths:
            props = resources[lid]["Properties"]
            parent = props["ParentId"]
            prefix = path_of(parent["Ref"]) if "Ref" in parent else ""
            paths[lid] = f"{prefix}/{props['PathPart']}"
        return paths[lid]

    for lid in resources:
        path_of(lid)
    return paths


def _methods(synth: Synth) -> Iterator[tuple[str, dict[str, Any]]]:
    paths = _resource_paths(synth)
    for method in synth.of_type("AWS::ApiGateway::Method").values():
        resource = method["Properties"]["ResourceId"]
        path = paths[resource["Ref"]] if "Ref" in resource else "/"
        yield path, method["Properties"]


def _integration_function(method: dict[str, Any]) -> str:
    uri = method["Integration"]["Uri"]["Fn::Join"][1]
    return next(part["Fn::GetAtt"][0] for part in uri if isinstance(part, dict) and "Fn::GetAtt" in part)


def test_staff_routes_and_their_sub_paths_require_the_cognito_authorizer(synth: Synth) -> None:
    authorizer_id, authorizer = synth.only("AWS::ApiGateway::Authorizer")
    pool_id, _ = synth.only("AWS::Cognito::UserPool")
    assert authorizer["Properties"]["Type"] == "COGNITO_USER_POOLS"
    assert authorizer["Properties"]["ProviderARNs"] == [_arn(pool_id)]
    staff = synth.function_id("staff-api")
    seen = set()
    for path, method in _methods(synth):
        if any(path == p or path.startswith(p + "/") for p in contract.STAFF_API_PREFIXES):
            assert method["AuthorizationType"] == "COGNITO_USER_POOLS", path
            assert method["AuthorizerId"] == _ref(authorizer_id), path
            assert _integration_function(method) == staff
            seen.add(path)
    assert seen == {p for prefix in contract.STAFF_API_PREFIXES for p in (prefix, f"{prefix}/{{proxy+}}")}


def test_public_routes_and_webhook_have_no_authorizer(synth: Synth) -> None:
    public = synth.function_id("public-api")
    webhook = synth.function_id("stripe-webhook")
    methods = list(_methods(synth))
    for path, method in methods:
        if any(path == p or path.startswith(p + "/") for p in contract.PUBLIC_API_PREFIXES):
            assert method["AuthorizationType"] == "NONE", path
            assert _integration_function(method) == public
    (hook,) = [m for path, m in methods if path == contract.WEBHOOK_PATH]
    assert hook["HttpMethod"] == "POST"
    assert hook["AuthorizationType"] == "NONE"
    assert "AuthorizerId" not in hook
    assert hook["RequestParameters"] == {"method.request.header.Stripe-Signature": True}
    assert _integration_function(hook) == webhook


def test_every_route_belongs_to_a_contract_prefix(synth: Synth) -> None:
    prefixes = (*contract.STAFF_API_PREFIXES, *contract.PUBLIC_API_PREFIXES, contract.WEBHOOK_PATH)
    for path, method in _methods(synth):
        assert any(path == p or path.startswith(p + "/") for p in prefixes), path
        assert method["Integration"]["Type"] == "AWS_PROXY"
        assert "RequestValidatorId" in method


DOCS_DIR = Path(__file__).resolve().parents[2] / "docs"
ANY_METHOD = "ANY"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
# Served on purpose but in neither OpenAPI document, each with its reason.
UNDOCUMENTED_ROUTES = {
    (contract.WEBHOOK_PATH, "POST"): "Stripe's endpoint, not an API for people: Stripe defines the "
    "body and its event types, and the Stripe-Signature header authenticates it",
}


def _served(synth: Synth) -> dict[tuple[str, str], str]:
    """(resource path, HTTP method) -> the logical id of the function it invokes."""
    return {(path, m["HttpMethod"]): _integration_function(m) for path, m in _methods(synth)}


def _gateway_match(served: dict[tuple[str, str], str], method: str, path: str) -> tuple[str, str] | None:
    """The route API Gateway picks: the exact resource, else the deepest ``{proxy+}`` above it."""
    for key in ((path, method), (path, ANY_METHOD)):
        if key in served:
            return key
    above = [
        (resource, m)
        for resource, m in served
        if resource.endswith("/{proxy+}")
        and path.startswith(resource.removesuffix("{proxy+}"))
        and m in (method, ANY_METHOD)
    ]
    return max(above, key=lambda key: len(key[0])) if above else None


def test_the_api_serves_exactly_the_route_list(synth: Synth) -> None:
    expected = {(contract.WEBHOOK_PATH, "POST"): synth.function_id("stripe-webhook")}
    for function, prefixes in (
        ("staff-api", contract.STAFF_API_PREFIXES),
        ("public-api", contract.PUBLIC_API_PREFIXES),
    ):
        for prefix in prefixes:
            expected[(prefix, ANY_METHOD)] = synth.function_id(function)
            expected[(f"{prefix}/{{proxy+}}", ANY_METHOD)] = synth.function_id(function)
    assert _served(synth) == expected


def test_every_documented_route_is_served_and_every_route_is_documented(synth: Synth) -> None:
    served = _served(synth)
    used: set[tuple[str, str]] = set()
    for document, function in (("staff", "staff-api"), ("public", "public-api")):
        spec = json.loads((DOCS_DIR / f"openapi-{document}.json").read_text(encoding="utf-8"))
        operations = [(m.upper(), p) for p, item in spec["paths"].items() for m in item if m in HTTP_METHODS]
        assert operations, document
        for method, template in operations:
            key = _gateway_match(served, method, re.sub(r"\{[^}]+\}", "x_1", template))
            assert key is not None, f"{method} {template} ({document}) is documented but not served"
            assert served[key] == synth.function_id(function), f"{method} {template} reaches {served[key]}"
            used.add(key)

    # Each prefix is served with every path below it, so a prefix is documented when a
    # documented route lies under it.
    def prefix_of(resource: str) -> str:
        return "/" + resource.strip("/").split("/")[0]

    documented = {prefix_of(resource) for resource, _ in used}
    undocumented = {key for key in served if prefix_of(key[0]) not in documented}
    assert undocumented == set(UNDOCUMENTED_ROUTES)


def test_an_unknown_route_is_a_404_naming_the_method_and_path_and_a_bad_token_a_401(synth: Synth) -> None:
    found = synth.of_type("AWS::ApiGateway::GatewayResponse").values()
    responses = {r["Properties"]["ResponseType"]: r["Properties"] for r in found}
    no_route = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert no_route["StatusCode"] == "404"
    body = json.loads(no_route["ResponseTemplates"]["application/json"])
    assert body["code"] == "not_found"
    assert "$context.httpMethod $context.path" in body["message"]
    assert body["details"] == {"method": "$context.httpMethod", "path": "$context.path"}
    unauthorized = responses["UNAUTHORIZED"]
    assert unauthorized["StatusCode"] == "401"
    template = unauthorized["ResponseTemplates"]["application/json"]
    # $context.error.messageString is a quoted JSON string already: the template is JSON once filled
    filled = json.loads(template.replace("$context.error.messageString", '"Unauthorized"'))
    assert filled == {"code": "unauthorized", "message": "Unauthorized", "details": {}}


def test_user_pool_carries_practice_and_role_and_users_cannot_write_them(synth: Synth) -> None:
    _, pool = synth.only("AWS::Cognito::UserPool")
    props = pool["Properties"]
    names = {attr["Name"] for attr in props["Schema"]}
    assert {
        contract.CLAIM_PRACTICE_ID.removeprefix("custom:"),
        contract.CLAIM_ROLE.removeprefix("custom:"),
    } <= names
    assert props["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert props["MfaConfiguration"] == "ON"
    _, client = synth.only("AWS::Cognito::UserPoolClient")
    assert contract.CLAIM_PRACTICE_ID in client["Properties"]["ReadAttributes"]
    assert not [a for a in client["Properties"]["WriteAttributes"] if a.startswith("custom:")]


def test_user_pool_names_users_by_staff_id_and_signs_them_in_by_email_alias(synth: Synth) -> None:
    """AdminCreateUser is called with the staff id as the user name: with email as the username
    attribute Cognito would refuse it ("Username should be an email"), so email is an alias."""
    _, pool = synth.only("AWS::Cognito::UserPool")
    props = pool["Properties"]
    assert props["AliasAttributes"] == ["email"]
    assert "UsernameAttributes" not in props
    assert props["UsernameConfiguration"] == {"CaseSensitive": False}


def test_user_pool_names_each_users_staff_member_for_good(synth: Synth) -> None:
    _, pool = synth.only("AWS::Cognito::UserPool")
    schema = {attr["Name"]: attr for attr in pool["Properties"]["Schema"]}
    assert schema[contract.CLAIM_STAFF_ID.removeprefix("custom:")]["Mutable"] is False
    assert schema[contract.CLAIM_PRACTICE_ID.removeprefix("custom:")]["Mutable"] is False
    _, client = synth.only("AWS::Cognito::UserPoolClient")
    assert contract.CLAIM_STAFF_ID in client["Properties"]["ReadAttributes"]


def test_only_the_staff_api_manages_staff_users_and_only_on_the_staff_pool(synth: Synth) -> None:
    """The public API may only create sign-up owners (its own test above); no other role has any
    user pool action."""
    pool_id, _ = synth.only("AWS::Cognito::UserPool")
    role = synth.role_id("staff-api")
    granted = [
        st
        for st in synth.role_statements(role)
        if any(str(a).startswith("cognito-idp:") for a in _listify(st["Action"]))
    ]
    assert len(granted) == 1, granted
    (statement,) = granted
    assert set(_listify(statement["Action"])) == ACTIONS_BY_CAPABILITY["cognito:staff-users"]
    assert statement["Resource"] == _arn(pool_id)
    env = synth.resources[synth.function_id("staff-api")]["Properties"]["Environment"]["Variables"]
    assert env[contract.ENV_USER_POOL_ID] == _ref(pool_id)
    for spec in contract.FUNCTIONS:
        if spec.name in ("staff-api", "public-api"):
            continue
        other = synth.role_statements(synth.role_id(spec.name))
        assert not [st for st in other if "cognito-idp" in json.dumps(st["Action"])], spec.name


def test_stage_logs_access_throttles_and_traces(synth: Synth) -> None:
    _, stage = synth.only("AWS::ApiGateway::Stage")
    props = stage["Properties"]
    assert props["TracingEnabled"] is True
    log_format = json.loads(props["AccessLogSetting"]["Format"])
    assert log_format["resourcePath"] == "$context.resourcePath"
    assert "path" not in log_format  # paths carry invoice numbers and tokens
    defaults = next(s for s in props["MethodSettings"] if s["ResourcePath"] == "/*")
    assert defaults["ThrottlingRateLimit"] > 0
    assert defaults["LoggingLevel"] == "ERROR"
    assert all(s["DataTraceEnabled"] is False for s in props["MethodSettings"])
    synth.template.has_resource_properties(
        "AWS::WAFv2::WebACLAssociation", {"WebACLArn": assertions.Match.any_value()}
    )


# ---------------------------------------------------------------- scheduler
def test_schedules_live_in_the_group_and_target_their_functions(synth: Synth) -> None:
    group_id, group = synth.only("AWS::Scheduler::ScheduleGroup")
    assert group["Properties"]["Name"] == contract.SCHEDULE_GROUP_NAME
    schedules = {
        s["Properties"]["Name"]: s["Properties"] for s in synth.of_type("AWS::Scheduler::Schedule").values()
    }
    assert set(schedules) == {name for name, _, _ in contract.SCHEDULES}
    for name, expression, target in contract.SCHEDULES:
        props = schedules[name]
        assert props["GroupName"] == _ref(group_id)
        assert props["ScheduleExpression"] == expression
        assert props["Target"]["Arn"] == _arn(synth.function_id(target))
        assert props["Target"]["RetryPolicy"]["MaximumRetryAttempts"] >= 1
        dlq = props["Target"]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
        assert synth.resources[dlq]["Type"] == "AWS::SQS::Queue"


def test_scheduler_role_can_only_invoke_the_targets_and_dead_letter(synth: Synth) -> None:
    roles = {
        s["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]
        for s in synth.of_type("AWS::Scheduler::Schedule").values()
    }
    (role,) = roles
    (invoke,) = synth.statements_with(role, "lambda:InvokeFunction")
    assert _listify(invoke["Resource"]) == [_arn(synth.function_id(t)) for t in sorted(SCHEDULED)]
    assert synth.role_actions(role) == {
        "lambda:InvokeFunction",
        "sqs:SendMessage",
        "kms:GenerateDataKey",
        "kms:Decrypt",
    }
    trust = synth.resources[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert "aws:SourceAccount" in trust["Condition"]["StringEquals"]


# ---------------------------------------------------------------- compliance
def test_cdk_nag_packs_report_no_findings(synth: Synth) -> None:
    for pack in (AwsSolutionsChecks(), HIPAASecurityChecks()):
        report = pack.validate_scope(synth.stack)
        findings = [
            f"{v.rule_name} ({v.severity}): {[c.construct_path for c in v.violating_constructs]}"
            for v in report.violations
        ]
        assert report.success, findings
        assert not findings


def test_no_error_annotations(synth: Synth) -> None:
    errors = assertions.Annotations.from_stack(synth.stack).find_error("*", assertions.Match.any_value())
    assert errors == []


def test_cfn_lint_is_clean(synth: Synth) -> None:
    beside_python = Path(sys.executable).with_name("cfn-lint")
    cfn_lint = str(beside_python) if beside_python.exists() else shutil.which("cfn-lint")
    if cfn_lint is None:
        pytest.skip("cfn-lint is not installed")
    result = subprocess.run(
        [cfn_lint, str(synth.template_file)], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------- guards (no synthesis)
def test_unknown_capability_fails_loudly() -> None:
    with pytest.raises(UnknownCapabilityError, match="queue:unknown:send"):
        capability_statements("queue:unknown:send", None)  # type: ignore[arg-type]


def test_invalid_stage_is_refused() -> None:
    with pytest.raises(SettingsError, match="stage"):
        build_app({"stage": "Alice_Branch"}, nag=False)


# ---------------------------------------------------------------- the nightly run (issue 5)
def _nightly_queue_id(synth: Synth) -> str:
    worker = synth.function_id("nightly-worker")
    (mapping,) = [
        m
        for m in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == _ref(worker)
    ]
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    return str(mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0])


def test_nightly_queue_has_a_dlq_and_outlives_the_worker(synth: Synth) -> None:
    queue = synth.resources[_nightly_queue_id(synth)]["Properties"]
    dlq_id = queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert synth.resources[dlq_id]["Type"] == "AWS::SQS::Queue"
    assert queue["RedrivePolicy"]["maxReceiveCount"] == contract.NIGHTLY_MAX_RECEIVES
    assert queue["VisibilityTimeout"] >= 6 * SPECS["nightly-worker"].timeout_seconds
    for name in ("nightly-dispatch", "nightly-worker"):
        sends = synth.statements_with(synth.role_id(name), "sqs:SendMessage")
        assert _arn(_nightly_queue_id(synth)) in [r for s in sends for r in _listify(s["Resource"])]


def test_staff_api_manages_only_runtime_schedules_and_passes_only_the_scheduler_role(synth: Synth) -> None:
    role = synth.role_id("staff-api")
    (manage,) = synth.statements_with(role, "scheduler:CreateSchedule")
    resources = json.dumps(manage["Resource"])
    for pattern in ("nightly-run-*", "nightly-summary-*", "nightly-now-*", "billing-now-*"):
        assert pattern in resources
    assert "nightly-sweep" not in resources
    (pass_role,) = synth.statements_with(role, "iam:PassRole")
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}
    scheduler_roles = {
        s["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]
        for s in synth.of_type("AWS::Scheduler::Schedule").values()
    }
    assert pass_role["Resource"] == _arn(next(iter(scheduler_roles)))
    env = synth.resources[synth.function_id("staff-api")]["Properties"]["Environment"]["Variables"]
    assert env[contract.ENV_NIGHTLY_TARGET_ARN] == _arn(synth.function_id("nightly-dispatch"))
    assert env[contract.ENV_SCHEDULER_ROLE_ARN] == _arn(next(iter(scheduler_roles)))


def test_the_user_pool_words_its_messages_with_the_staff_messages_trigger(synth: Synth) -> None:
    pool_id, pool = synth.only("AWS::Cognito::UserPool")
    function_id = synth.function_id(contract.STAFF_MESSAGES_FUNCTION)
    assert pool["Properties"]["LambdaConfig"] == {"CustomMessage": {"Fn::GetAtt": [function_id, "Arn"]}}
    invokes = [
        p["Properties"]
        for p in synth.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "cognito-idp.amazonaws.com"
    ]
    assert invokes == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": [function_id, "Arn"]},
            "Principal": "cognito-idp.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": [pool_id, "Arn"]},
        }
    ]
    # Only the practice's name: it reads the table and nothing else (no writes, no secret, no mail).
    actions = synth.role_actions(synth.role_id(contract.STAFF_MESSAGES_FUNCTION))
    assert actions == BASE_ACTIONS | ACTIONS_BY_CAPABILITY["table:read"]
    custom = {a["Name"] for a in pool["Properties"]["Schema"] if a["Name"] != "email"}
    assert {"practice_id", "role", "staff_id"} <= custom


def test_the_user_pool_sends_its_mail_through_the_stacks_ses_identity(synth: Synth) -> None:
    """Not Cognito's built-in sender: its small daily quota is shared by every practice, so
    sign-ups and invitations past it would fail for the rest of the day."""
    _, pool = synth.only("AWS::Cognito::UserPool")
    email = pool["Properties"]["EmailConfiguration"]
    assert email["EmailSendingAccount"] == "DEVELOPER"
    assert "billing@example.com" in json.dumps(email["From"]) and "SourceArn" in email
    (config_set_id,) = synth.of_type("AWS::SES::ConfigurationSet")
    assert email["ConfigurationSet"] == _ref(config_set_id)
