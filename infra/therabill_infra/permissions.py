"""Capability -> IAM: the exact actions and resources each capability of the contract grants.

``contract.FUNCTIONS`` names capabilities (``table:read``, ``email:send``, ...); this module is the
only place that turns them into IAM statements. Every statement names its resources (no ``*``
action, no service wildcard); KMS statements are limited to calls made through the owning service
(``kms:ViaService``). The only ``Resource: *`` a function gets is X-Ray's and, for the eligibility
function, Scheduler's ListSchedules: neither has resource-level permissions.

A capability this module does not know fails synthesis, so a new capability in the contract
cannot silently deploy without permissions (or with too many).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from aws_cdk import Aws
from aws_cdk import aws_iam as iam

from therabill_infra.contract import contract

# ---------------------------------------------------------------- exact actions, by capability
TABLE_READ_ACTIONS = ("dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query")
# TransactWriteItems is authorised per item against PutItem / UpdateItem / DeleteItem /
# ConditionCheckItem, so those four cover transactions too. No Scan, no BatchWriteItem
# (batch writes cannot carry conditions), no table-level actions.
TABLE_WRITE_ACTIONS = (
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)
TABLE_KEY_READ_ACTIONS = ("kms:Decrypt", "kms:DescribeKey")
TABLE_KEY_WRITE_ACTIONS = ("kms:Encrypt", "kms:GenerateDataKey")
SECRETS_READ_ACTIONS = ("secretsmanager:GetSecretValue",)
SECRETS_KEY_ACTIONS = ("kms:Decrypt",)
EMAIL_SEND_ACTIONS = ("ses:SendEmail", "ses:SendRawEmail")
QUEUE_SEND_ACTIONS = ("sqs:SendMessage",)
# A producer of a KMS-encrypted queue needs a data key (and Decrypt to reuse a cached one).
QUEUE_KEY_SEND_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
# What the Lambda SQS poller calls with the function's role (AWSLambdaSQSQueueExecutionRole).
QUEUE_CONSUME_ACTIONS = ("sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage")
QUEUE_KEY_CONSUME_ACTIONS = ("kms:Decrypt",)

# The per-practice nightly schedules (created / updated at runtime in the schedule group) and
# the scheduler's execution role they run with (PassRole, to Scheduler only).
SCHEDULER_MANAGE_ACTIONS = ("scheduler:CreateSchedule", "scheduler:GetSchedule", "scheduler:UpdateSchedule")
PASS_ROLE_ACTIONS = ("iam:PassRole",)
# Schedule names the runtime makes (therabill.adapters.scheduler): a practice's run, its
# evening summary, and one-time "run now" schedules; one-time eligibility checks of a coverage;
# one-time billing of a session at completion (its target: nightly-dispatch).
RUNTIME_SCHEDULE_PATTERNS = (
    "nightly-run-*",
    "nightly-summary-*",
    "nightly-now-*",
    "eligibility-now-*",
    "billing-now-*",
)
# The practices, listed from their nightly run schedules' names (the eligibility batch). Like
# X-Ray's, ListSchedules supports no resource-level permissions: Resource must be "*".
LIST_SCHEDULES_ACTIONS = ("scheduler:ListSchedules",)

# The staff user pool's admin actions the staff service uses (therabill.adapters.cognito).
STAFF_USERS_ACTIONS = (
    "cognito-idp:AdminCreateUser",
    "cognito-idp:AdminDeleteUser",
    "cognito-idp:AdminDisableUser",
    "cognito-idp:AdminEnableUser",
    "cognito-idp:AdminGetUser",
    "cognito-idp:AdminUpdateUserAttributes",
    "cognito-idp:AdminUserGlobalSignOut",
)
# Sign-up's owner in the staff user pool: create the user, read a retried one back, and find
# whether an address is taken (ListUsers with an email filter). Nothing that changes a user.
USERS_CREATE_ACTIONS = ("cognito-idp:AdminCreateUser", "cognito-idp:AdminGetUser", "cognito-idp:ListUsers")
# The audit archive: read the table's stream (as the Lambda event source mapping does with the
# function's role), decrypt its records (the table's key), send a failed batch's position to the
# failure queue, and write objects under the archive bucket's prefix (its key, through S3).
TABLE_STREAM_READ_ACTIONS = (
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
)
AUDIT_ARCHIVE_ACTIONS = ("s3:PutObject",)
AUDIT_ARCHIVE_KEY_ACTIONS = ("kms:GenerateDataKey",)
AUDIT_ARCHIVE_PREFIX = "audit/*"
# Pictures of insurance cards: objects under the documents bucket's card-images/ prefix (a signed
# upload form or link acts with the signer's permissions), listed by that prefix; the bucket's key
# through S3 (a data key to write, Decrypt to read).
# The bucket keeps versions: removing a picture deletes every version of it (listed first).
CARD_IMAGES_OBJECT_ACTIONS = ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:GetObject", "s3:PutObject")
CARD_IMAGES_LIST_ACTIONS = ("s3:ListBucket", "s3:ListBucketVersions")
CARD_IMAGES_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
CARD_IMAGES_PREFIX = "card-images/"
# Eligibility checks: each raw 271 written and read back (a crashed check finished from it) under
# the documents bucket's eligibility/ prefix, with the bucket's key through S3.
ELIGIBILITY_DOCUMENT_ACTIONS = ("s3:GetObject", "s3:PutObject")
ELIGIBILITY_DOCUMENT_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
ELIGIBILITY_PREFIX = "eligibility/*"

# Every role, whatever its capabilities: the audit trail is append-only. An explicit Deny (it
# wins over any Allow) of every action that changes or removes an item whose partition key is an
# audit partition; PartiQL's update and delete are denied on the whole table (no code uses them).
AUDIT_DENIED_ACTIONS = ("dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem")
PARTIQL_DENIED_ACTIONS = ("dynamodb:PartiQLDelete", "dynamodb:PartiQLUpdate")

# Every function: write its own log group, send traces.
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
TRACE_ACTIONS = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")

CAPABILITY_ACTIONS: dict[str, tuple[str, ...]] = {
    contract.CAN_READ_TABLE: TABLE_READ_ACTIONS + TABLE_KEY_READ_ACTIONS,
    contract.CAN_WRITE_TABLE: TABLE_WRITE_ACTIONS + TABLE_KEY_READ_ACTIONS + TABLE_KEY_WRITE_ACTIONS,
    contract.CAN_READ_SECRETS: SECRETS_READ_ACTIONS + SECRETS_KEY_ACTIONS,
    contract.CAN_SEND_EMAIL: EMAIL_SEND_ACTIONS,
    contract.CAN_ENQUEUE_STRIPE_EVENTS: QUEUE_SEND_ACTIONS + QUEUE_KEY_SEND_ACTIONS,
    contract.CAN_CONSUME_STRIPE_EVENTS: QUEUE_CONSUME_ACTIONS + QUEUE_KEY_CONSUME_ACTIONS,
    contract.CAN_ENQUEUE_NIGHTLY: QUEUE_SEND_ACTIONS + QUEUE_KEY_SEND_ACTIONS,
    contract.CAN_CONSUME_NIGHTLY: QUEUE_CONSUME_ACTIONS + QUEUE_KEY_CONSUME_ACTIONS,
    contract.CAN_MANAGE_SCHEDULES: SCHEDULER_MANAGE_ACTIONS + PASS_ROLE_ACTIONS,
    contract.CAN_MANAGE_STAFF_USERS: STAFF_USERS_ACTIONS,
    contract.CAN_CREATE_USERS: USERS_CREATE_ACTIONS,
    contract.CAN_READ_TABLE_STREAM: (
        *TABLE_STREAM_READ_ACTIONS,
        "kms:Decrypt",
        *QUEUE_SEND_ACTIONS,
        *QUEUE_KEY_SEND_ACTIONS,
    ),
    contract.CAN_ARCHIVE_AUDIT: AUDIT_ARCHIVE_ACTIONS + AUDIT_ARCHIVE_KEY_ACTIONS,
    contract.CAN_MANAGE_CARD_IMAGES: (
        *CARD_IMAGES_OBJECT_ACTIONS,
        *CARD_IMAGES_LIST_ACTIONS,
        *CARD_IMAGES_KEY_ACTIONS,
    ),
    contract.CAN_STORE_ELIGIBILITY: ELIGIBILITY_DOCUMENT_ACTIONS + ELIGIBILITY_DOCUMENT_KEY_ACTIONS,
    contract.CAN_LIST_PRACTICE_SCHEDULES: LIST_SCHEDULES_ACTIONS,
}
BASE_ACTIONS = LOG_ACTIONS + TRACE_ACTIONS
# Functions invoked asynchronously (schedule targets) also deliver failed events to their DLQ.
ASYNC_DLQ_ACTIONS = QUEUE_SEND_ACTIONS + QUEUE_KEY_SEND_ACTIONS


class UnknownCapabilityError(ValueError):
    """The contract names a capability that has no IAM mapping here."""


@dataclass(frozen=True)
class CapabilityResources:
    """The ARNs capabilities are granted on (tokens resolved at deploy time)."""

    table_arn: str
    table_index_arns: Sequence[str]
    table_key_arn: str
    secret_arn: str
    secrets_key_arn: str
    email_identity_arn: str
    email_configuration_set_arn: str
    stripe_events_queue_arn: str
    queues_key_arn: str
    nightly_queue_arn: str = ""
    runtime_schedule_arns: Sequence[str] = ()  # the group's schedules the runtime may manage
    schedule_group_name: str = ""
    scheduler_role_arn: str = ""
    user_pool_arn: str = ""  # the staff user pool
    table_stream_arn: str = ""
    audit_failures_queue_arn: str = ""  # the stream consumer's on-failure destination
    audit_bucket_arn: str = ""
    audit_key_arn: str = ""
    documents_bucket_arn: str = ""
    documents_key_arn: str = ""


def expected_actions(capabilities: Iterable[str], *, async_dlq: bool = False) -> frozenset[str]:
    """The full set of IAM actions a function with ``capabilities`` is given."""
    actions = set(BASE_ACTIONS)
    for capability in capabilities:
        actions.update(_actions_of(capability))
    if async_dlq:
        actions.update(ASYNC_DLQ_ACTIONS)
    return frozenset(actions)


def _read_table(capability: str, res: CapabilityResources) -> list[iam.PolicyStatement]:
    return [
        _allow(TABLE_READ_ACTIONS, [res.table_arn, *res.table_index_arns]),
        _via(TABLE_KEY_READ_ACTIONS, res.table_key_arn, "dynamodb"),
    ]


def _write_table(capability: str, res: CapabilityResources) -> list[iam.PolicyStatement]:
    return [
        _allow(TABLE_WRITE_ACTIONS, [res.table_arn]),
        _via(TABLE_KEY_READ_ACTIONS + TABLE_KEY_WRITE_ACTIONS, res.table_key_arn, "dynamodb"),
    ]


def _read_secrets(capability: str, res: CapabilityResources) -> list[iam.PolicyStatement]:
    return [
        _allow(SECRETS_READ_ACTIONS, [res.secret_arn]),
        _via(SECRETS_KEY_ACTIONS, res.secrets_key_arn, "secretsmanager"),
    ]


def _send_email(capability: str, res: CapabilityResources) -> list[iam.PolicyStatement]:
    # SES authorises a send against the identity and against the configuration set it uses.
    return [_allow(EMAIL_SEND_ACTIONS, [res.email_identity_arn, res.email_configuration_set_arn])]


def _enqueue_stripe_events(capability: str, res: CapabilityResources) -> list[iam.PolicyStatement]:
    return queue_send_statements(res.stripe_events_queue_arn, res.queues_key_arn)


def _consume_stripe_events(capability: str, res: CapabilityResources) -> list[iam.PolicyStatement]:
    return [
        _allow(QUEUE_CONSUME_ACTIONS, [res.stripe_events_queue_arn]),
        _via(QUEUE_KEY_CONSUME_ACTIONS, res.queues_key_arn, "sqs"),
    ]


def _enqueue_nightly(capability: str, res: CapabilityResources) -> list[iam.PolicyStatement]:
    return queue_send_statements(_required(res.nightly_queue_arn, capability), res.queues_key_arn)


def _consume_nightly(capability: str, res: CapabilityResources) -> list[iam.PolicyStatement]:
    return [
        _allow(QUEUE_CONSUME_ACTIONS, [_required(res.nightly_queue_arn, capability)]),
        _via(QUEUE_KEY_CONSUME_ACTIONS, res.queues_key_arn, "sqs"),
    ]


def _manage_schedules(capability: str, res: CapabilityResources) -> list[iam.PolicyStatement]:
    if not res.runtime_schedule_arns:
        raise ValueError(f"capability {capability!r} needs the schedule ARNs")
    return [
        _allow(SCHEDULER_MANAGE_ACTIONS, list(res.runtime_schedule_arns)),
        iam.PolicyStatement(
            actions=list(PASS_ROLE_ACTIONS),
            resources=[_required(res.scheduler_role_arn, capability)],
            conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
        ),
    ]


def _manage_staff_users(capability: str, res: CapabilityResources) -> list[iam.PolicyStatement]:
    return [_allow(STAFF_USERS_ACTIONS, [_required(res.user_pool_arn, capability)])]


def _create_users(capability: str, res: CapabilityResources) -> list[iam.PolicyStatement]:
    return [_allow(USERS_CREATE_ACTIONS, [_required(res.user_pool_arn, capability)])]


def _read_table_stream(capability: str, res: CapabilityResources) -> list[iam.PolicyStatement]:
    return [
        _allow(TABLE_STREAM_READ_ACTIONS, [_required(res.table_stream_arn, capability)]),
        _via(("kms:Decrypt",), res.table_key_arn, "dynamodb"),
        *queue_send_statements(_required(res.audit_failures_queue_arn, capability), res.queues_key_arn),
    ]


def _archive_audit(capability: str, res: CapabilityResources) -> list[iam.PolicyStatement]:
    bucket = _required(res.audit_bucket_arn, capability)
    return [
        _allow(AUDIT_ARCHIVE_ACTIONS, [f"{bucket}/{AUDIT_ARCHIVE_PREFIX}"]),
        _via(AUDIT_ARCHIVE_KEY_ACTIONS, _required(res.audit_key_arn, capability), "s3"),
    ]


def _manage_card_images(capability: str, res: CapabilityResources) -> list[iam.PolicyStatement]:
    bucket = _required(res.documents_bucket_arn, capability)
    return [
        _allow(CARD_IMAGES_OBJECT_ACTIONS, [f"{bucket}/{CARD_IMAGES_PREFIX}*"]),
        iam.PolicyStatement(
            actions=list(CARD_IMAGES_LIST_ACTIONS),
            resources=[bucket],
            conditions={"StringLike": {"s3:prefix": [f"{CARD_IMAGES_PREFIX}*"]}},
        ),
        _via(CARD_IMAGES_KEY_ACTIONS, _required(res.documents_key_arn, capability), "s3"),
    ]


def _store_eligibility(capability: str, res: CapabilityResources) -> list[iam.PolicyStatement]:
    bucket = _required(res.documents_bucket_arn, capability)
    return [
        _allow(ELIGIBILITY_DOCUMENT_ACTIONS, [f"{bucket}/{ELIGIBILITY_PREFIX}"]),
        _via(ELIGIBILITY_DOCUMENT_KEY_ACTIONS, _required(res.documents_key_arn, capability), "s3"),
    ]


def _list_practice_schedules(capability: str, res: CapabilityResources) -> list[iam.PolicyStatement]:
    return [_allow(LIST_SCHEDULES_ACTIONS, ["*"])]


_STATEMENTS: dict[str, Callable[[str, CapabilityResources], list[iam.PolicyStatement]]] = {
    contract.CAN_READ_TABLE: _read_table,
    contract.CAN_WRITE_TABLE: _write_table,
    contract.CAN_READ_SECRETS: _read_secrets,
    contract.CAN_SEND_EMAIL: _send_email,
    contract.CAN_ENQUEUE_STRIPE_EVENTS: _enqueue_stripe_events,
    contract.CAN_CONSUME_STRIPE_EVENTS: _consume_stripe_events,
    contract.CAN_ENQUEUE_NIGHTLY: _enqueue_nightly,
    contract.CAN_CONSUME_NIGHTLY: _consume_nightly,
    contract.CAN_MANAGE_SCHEDULES: _manage_schedules,
    contract.CAN_MANAGE_STAFF_USERS: _manage_staff_users,
    contract.CAN_CREATE_USERS: _create_users,
    contract.CAN_READ_TABLE_STREAM: _read_table_stream,
    contract.CAN_ARCHIVE_AUDIT: _archive_audit,
    contract.CAN_MANAGE_CARD_IMAGES: _manage_card_images,
    contract.CAN_STORE_ELIGIBILITY: _store_eligibility,
    contract.CAN_LIST_PRACTICE_SCHEDULES: _list_practice_schedules,
}


def capability_statements(capability: str, res: CapabilityResources) -> list[iam.PolicyStatement]:
    """The statements that grant one capability."""
    _actions_of(capability)  # fail on an unknown capability before building anything
    build = _STATEMENTS.get(capability)
    if build is None:
        raise AssertionError(f"capability {capability!r} is mapped to actions but not to statements")
    return build(capability, res)


def audit_deny_statements(table_arn: str) -> list[iam.PolicyStatement]:
    """The trail is append-only for every function: no update, delete or batch write of an item in
    an ``AUDIT#`` partition (a transaction's update or delete is authorised as UpdateItem /
    DeleteItem per item, so it is denied too), and no PartiQL update or delete at all."""
    return [
        iam.PolicyStatement(
            effect=iam.Effect.DENY,
            actions=sorted(AUDIT_DENIED_ACTIONS),
            resources=[table_arn],
            conditions={
                "ForAnyValue:StringLike": {"dynamodb:LeadingKeys": [f"{contract.AUDIT_PARTITION_PREFIX}*"]}
            },
        ),
        iam.PolicyStatement(
            effect=iam.Effect.DENY, actions=sorted(PARTIQL_DENIED_ACTIONS), resources=[table_arn]
        ),
    ]


def schedule_wildcard_findings(group_name: str) -> list[str]:
    """The cdk-nag IAM5 findings of the runtime-schedule statement (one per name pattern)."""
    return [
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:"
        f"schedule/{group_name}/{pattern}]"
        for pattern in RUNTIME_SCHEDULE_PATTERNS
    ]


def archive_prefix_finding(bucket_logical_id: str) -> str:
    """The cdk-nag IAM5 finding of the archive statement (objects under the bucket's prefix)."""
    return f"AwsSolutions-IAM5[Resource::<{bucket_logical_id}.Arn>/{AUDIT_ARCHIVE_PREFIX}]"


def card_images_prefix_finding(bucket_logical_id: str) -> str:
    """The cdk-nag IAM5 finding of the card pictures' statement (objects under the prefix)."""
    return f"AwsSolutions-IAM5[Resource::<{bucket_logical_id}.Arn>/{CARD_IMAGES_PREFIX}*]"


def eligibility_prefix_finding(bucket_logical_id: str) -> str:
    """The cdk-nag IAM5 finding of the eligibility documents statement (objects under the prefix)."""
    return f"AwsSolutions-IAM5[Resource::<{bucket_logical_id}.Arn>/{ELIGIBILITY_PREFIX}]"


def _required(arn: str, capability: str) -> str:
    if not arn:
        raise ValueError(f"capability {capability!r} needs a resource ARN the stack did not give")
    return arn


def base_statements(log_group_arn: str) -> list[iam.PolicyStatement]:
    """What every function needs: its own log group and X-Ray."""
    return [
        _allow(LOG_ACTIONS, [log_group_arn]),
        # X-Ray has no resource-level permissions: Resource must be "*".
        _allow(TRACE_ACTIONS, ["*"]),
    ]


def queue_send_statements(queue_arn: str, key_arn: str) -> list[iam.PolicyStatement]:
    """Send to one KMS-encrypted queue."""
    return [_allow(QUEUE_SEND_ACTIONS, [queue_arn]), _via(QUEUE_KEY_SEND_ACTIONS, key_arn, "sqs")]


def _actions_of(capability: str) -> tuple[str, ...]:
    try:
        return CAPABILITY_ACTIONS[capability]
    except KeyError:
        known = ", ".join(sorted(CAPABILITY_ACTIONS))
        raise UnknownCapabilityError(
            f"capability {capability!r} has no IAM mapping in infra/therabill_infra/permissions.py "
            f"(known: {known})"
        ) from None


def _allow(actions: Sequence[str], resources: Sequence[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=sorted(actions), resources=list(resources))


def _via(actions: Sequence[str], key_arn: str, service: str) -> iam.PolicyStatement:
    """KMS use of one key, only when the call comes through ``service`` in this region."""
    return iam.PolicyStatement(
        actions=sorted(actions),
        resources=[key_arn],
        conditions={"StringEquals": {"kms:ViaService": f"{service}.{Aws.REGION}.amazonaws.com"}},
    )
