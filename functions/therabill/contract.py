"""Names shared by the runtime (functions/) and the infrastructure (infra/).

This module is plain data: no imports beyond the standard library, no side effects. The CDK app
reads it to name environment variables, build the table's key schema and wire each function;
the runtime reads it to find the same names. Keeping them here means the two cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SERVICE_NAME = "therabill"

# ---------------------------------------------------------------- business metrics (CloudWatch EMF)
# Powertools Metrics writes them to stdout; every metric carries the one dimension ``service`` =
# SERVICE_NAME, an amount (``<name>Amount``, minor units) also ``currency``. Never a practice, a
# client or anything about a session: the alarms and the dashboard read these names.
METRICS_NAMESPACE = "Therabill"
METRIC_SERVICE_DIMENSION = "service"
METRIC_CURRENCY_DIMENSION = "currency"
METRIC_AMOUNT_SUFFIX = "Amount"
METRIC_CHARGES_SUCCEEDED = "ChargesSucceeded"
METRIC_CHARGES_FAILED = "ChargesFailed"
METRIC_NIGHTLY_RUNS_FINISHED = "NightlyRunsFinished"
METRIC_NIGHTLY_ITEMS_BILLED = "NightlyItemsBilled"
METRIC_NIGHTLY_ITEMS_INCOMPLETE = "NightlyItemsIncomplete"
METRIC_NIGHTLY_ITEMS_FAILED = "NightlyItemsFailed"
METRIC_SESSIONS_BILLED_AT_COMPLETION = "SessionsBilledAtCompletion"  # outside any run's report
# Emitted by every nightly-sweep (0 included): the runs not done two hours after their cutoff.
METRIC_NIGHTLY_RUNS_OVERDUE = "NightlyRunsOverdue"
NIGHTLY_RUN_GRACE_HOURS = 2
METRIC_WEBHOOKS_APPLIED = "WebhooksApplied"
METRIC_WEBHOOKS_DUPLICATE = "WebhooksDuplicate"
METRIC_EMAILS_SENT = "EmailsSent"
# The audit archive: an audit item overwritten, or removed other than by TTL (alarmed at 1).
METRIC_AUDIT_ITEMS_CHANGED = "AuditItemsChanged"

# ---------------------------------------------------------------- environment variable names
ENV_TABLE_NAME = "THERABILL_TABLE_NAME"
ENV_SECRETS_ARN = "THERABILL_SECRETS_ARN"  # JSON secret: stripe keys, webhook secrets, link key
ENV_STRIPE_EVENTS_QUEUE_URL = "THERABILL_STRIPE_EVENTS_QUEUE_URL"
ENV_EMAIL_SENDER = "THERABILL_EMAIL_SENDER"
ENV_PUBLIC_BASE_URL = "THERABILL_PUBLIC_BASE_URL"  # where the public pages are served
ENV_STRIPE_API_BASE = "THERABILL_STRIPE_API_BASE"  # empty in AWS (api.stripe.com); localstripe locally
ENV_STRIPE_JS_URL = "THERABILL_STRIPE_JS_URL"  # Stripe.js; localstripe serves its own copy locally
ENV_DOCUMENTS_BUCKET = "THERABILL_DOCUMENTS_BUCKET"
ENV_SCHEDULER_GROUP = "THERABILL_SCHEDULER_GROUP"
ENV_NIGHTLY_QUEUE_URL = "THERABILL_NIGHTLY_QUEUE_URL"  # the nightly run's fan-out queue
ENV_NIGHTLY_TARGET_ARN = "THERABILL_NIGHTLY_TARGET_ARN"  # nightly-dispatch: the practice schedules' target
ENV_SCHEDULER_ROLE_ARN = "THERABILL_SCHEDULER_ROLE_ARN"  # the role the schedules invoke it with
ENV_USER_POOL_ID = "THERABILL_USER_POOL_ID"  # the staff user pool (the staff API manages its users)
ENV_SIGN_IN_URL = "THERABILL_SIGN_IN_URL"  # where staff sign in (emails point there; optional)
ENV_AUDIT_ARCHIVE_BUCKET = "THERABILL_AUDIT_ARCHIVE_BUCKET"  # the audit archive (S3, Object Lock)
# The clearinghouse: unset in AWS (Stedi's own API); the sandbox clearinghouse's URL locally.
ENV_CLEARINGHOUSE_URL = "THERABILL_CLEARINGHOUSE_URL"
# The eligibility function: the target of the one-time schedules that check a coverage added or
# changed (set by infra/ once the function exists).
ENV_ELIGIBILITY_TARGET_ARN = "THERABILL_ELIGIBILITY_TARGET_ARN"

# ---------------------------------------------------------------- the single table
TABLE_PARTITION_KEY = "PK"
TABLE_SORT_KEY = "SK"
TABLE_TTL_ATTRIBUTE = "expires_at_epoch"
GSI1_NAME = "GSI1"
GSI1_PARTITION_KEY = "GSI1PK"
GSI1_SORT_KEY = "GSI1SK"
# The audit trail's partitions (``AUDIT#<practice_id>``): every function role is denied
# UpdateItem / DeleteItem / BatchWriteItem on partition keys with this prefix.
AUDIT_PARTITION_PREFIX = "AUDIT#"

# ---------------------------------------------------------------- secret document keys
SECRET_STRIPE_SECRET_KEY = "stripe_secret_key"
SECRET_STRIPE_PUBLISHABLE_KEY = "stripe_publishable_key"
SECRET_STRIPE_WEBHOOK_SECRETS = "stripe_webhook_secrets"  # list: current first, previous during rotation
SECRET_LINK_SIGNING_KEY = "link_signing_key"
SECRET_PLATFORM_FEE_BPS = "platform_fee_bps"  # optional application fee in basis points
SECRET_STEDI_API_KEY = "stedi_api_key"  # the clearinghouse's API key (empty until insurance is on)


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function: its handler and the AWS permissions it is allowed.

    ``permissions`` names capabilities, not IAM actions; infra/ maps each capability to the exact
    actions and resources (see infra/therabill_infra/permissions.py).
    """

    name: str
    handler: str  # module path of the entry point, relative to functions/
    description: str
    permissions: tuple[str, ...]
    timeout_seconds: int = 15
    memory_mb: int = 512
    env: tuple[str, ...] = field(default_factory=tuple)


# Capabilities a function may be granted.
CAN_READ_TABLE = "table:read"
CAN_WRITE_TABLE = "table:write"
CAN_READ_SECRETS = "secrets:read"
CAN_SEND_EMAIL = "email:send"
CAN_ENQUEUE_STRIPE_EVENTS = "queue:stripe-events:send"
CAN_CONSUME_STRIPE_EVENTS = "queue:stripe-events:consume"
CAN_ENQUEUE_NIGHTLY = "queue:nightly:send"
CAN_CONSUME_NIGHTLY = "queue:nightly:consume"
# scheduler:CreateSchedule/UpdateSchedule/GetSchedule on the group's schedules, and
# iam:PassRole for the scheduler's execution role only.
CAN_MANAGE_SCHEDULES = "scheduler:manage"
# The staff user pool's users: create (invite), read, update the role, disable, enable, delete,
# sign out everywhere; on that one pool only.
CAN_MANAGE_STAFF_USERS = "cognito:staff-users"
# The staff user pool: create a user (and read one back, or find an address) — sign-up's owner.
CAN_CREATE_USERS = "users:create"
# The audit archive: read the table's stream; PutObject into the audit archive bucket only.
CAN_READ_TABLE_STREAM = "table:stream:read"
CAN_ARCHIVE_AUDIT = "audit:archive"
# Pictures of insurance cards in the documents bucket: signed uploads and reads, listing and
# deleting, under its card-images/ prefix only.
CAN_MANAGE_CARD_IMAGES = "documents:card-images"
# Eligibility checks: PutObject / GetObject under the documents bucket's ``eligibility/`` prefix
# (the raw 271s), with its KMS key.
CAN_STORE_ELIGIBILITY = "documents:eligibility"
# scheduler:ListSchedules on the group: the practices, from their nightly run schedules (never a
# Scan of the table).
CAN_LIST_PRACTICE_SCHEDULES = "scheduler:list"

_COMMON_ENV = (ENV_TABLE_NAME, ENV_SECRETS_ARN, ENV_STRIPE_API_BASE)
_NIGHTLY_ENV = (ENV_SCHEDULER_GROUP, ENV_NIGHTLY_TARGET_ARN, ENV_SCHEDULER_ROLE_ARN)

FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        name="staff-api",
        handler="therabill.entrypoints.staff_api.lambda_handler",
        description="Staff REST API (Cognito-authorized): practices, clients, cards, charges, ledger",
        permissions=(
            CAN_READ_TABLE,
            CAN_WRITE_TABLE,
            CAN_READ_SECRETS,
            CAN_SEND_EMAIL,
            # Practice settings move the practice's nightly schedules; "run now" and a session
            # billed at completion are one-time schedules (the staff API never reaches a queue).
            CAN_MANAGE_SCHEDULES,
            CAN_MANAGE_STAFF_USERS,  # the practice's people: invitations, roles, removals
            CAN_MANAGE_CARD_IMAGES,  # a coverage's card pictures
            CAN_STORE_ELIGIBILITY,  # a check staff ask for: its 271 kept in S3
        ),
        env=(
            *_COMMON_ENV,
            ENV_EMAIL_SENDER,
            ENV_PUBLIC_BASE_URL,
            *_NIGHTLY_ENV,
            ENV_USER_POOL_ID,
            ENV_DOCUMENTS_BUCKET,
            ENV_ELIGIBILITY_TARGET_ARN,
        ),
    ),
    FunctionSpec(
        name="public-api",
        handler="therabill.entrypoints.public_api.lambda_handler",
        description="Public pages: card set-up with consent, payment authentication; sign-up",
        permissions=(
            CAN_READ_TABLE,
            CAN_WRITE_TABLE,
            CAN_READ_SECRETS,
            # Sign-up: the practice (its nightly schedules), its owner's user (the invitation is
            # the user pool's), and the "you already have an account" email.
            CAN_SEND_EMAIL,
            CAN_MANAGE_SCHEDULES,
            CAN_CREATE_USERS,
        ),
        env=(
            *_COMMON_ENV,
            ENV_PUBLIC_BASE_URL,
            ENV_STRIPE_JS_URL,
            ENV_EMAIL_SENDER,
            ENV_USER_POOL_ID,
            ENV_SIGN_IN_URL,
            *_NIGHTLY_ENV,
        ),
    ),
    FunctionSpec(
        name="staff-messages",
        handler="therabill.entrypoints.staff_messages.lambda_handler",
        description="The staff user pool's CustomMessage trigger: invitations, reset codes name the practice",
        # The practice's name only. Settings need the secret's ARN; this function never reads it.
        permissions=(CAN_READ_TABLE,),
        timeout_seconds=5,  # Cognito waits at most 5 seconds for a trigger
        memory_mb=256,
        env=(ENV_TABLE_NAME, ENV_SECRETS_ARN, ENV_PUBLIC_BASE_URL, ENV_SIGN_IN_URL),
    ),
    FunctionSpec(
        name="stripe-webhook",
        handler="therabill.entrypoints.stripe_webhook.lambda_handler",
        description="Verifies Stripe webhooks, records each event once and enqueues it",
        permissions=(CAN_READ_TABLE, CAN_WRITE_TABLE, CAN_READ_SECRETS, CAN_ENQUEUE_STRIPE_EVENTS),
        timeout_seconds=10,
        env=(ENV_TABLE_NAME, ENV_SECRETS_ARN, ENV_STRIPE_EVENTS_QUEUE_URL),
    ),
    FunctionSpec(
        name="stripe-worker",
        handler="therabill.entrypoints.stripe_worker.lambda_handler",
        description="Applies recorded Stripe events (SQS consumer, partial batch failures)",
        permissions=(
            CAN_READ_TABLE,
            CAN_WRITE_TABLE,
            CAN_READ_SECRETS,
            CAN_SEND_EMAIL,
            CAN_CONSUME_STRIPE_EVENTS,
        ),
        timeout_seconds=60,
        env=(*_COMMON_ENV, ENV_EMAIL_SENDER, ENV_PUBLIC_BASE_URL),
    ),
    FunctionSpec(
        name="payments-reconciler",
        handler="therabill.entrypoints.payments_reconciler.lambda_handler",
        description="Scheduled: completes charges left pending by a crash or a Stripe outage",
        permissions=(CAN_READ_TABLE, CAN_WRITE_TABLE, CAN_READ_SECRETS, CAN_SEND_EMAIL),
        timeout_seconds=300,
        env=(*_COMMON_ENV, ENV_EMAIL_SENDER, ENV_PUBLIC_BASE_URL),
    ),
    FunctionSpec(
        name="nightly-dispatch",
        handler="therabill.entrypoints.nightly_dispatch.lambda_handler",
        description=(
            "Scheduled per practice: starts (or resumes) the nightly run; the evening summary; "
            "bills a session at completion"
        ),
        permissions=(CAN_READ_TABLE, CAN_WRITE_TABLE, CAN_READ_SECRETS, CAN_SEND_EMAIL, CAN_ENQUEUE_NIGHTLY),
        timeout_seconds=60,
        env=(*_COMMON_ENV, ENV_EMAIL_SENDER, ENV_PUBLIC_BASE_URL, ENV_NIGHTLY_QUEUE_URL),
    ),
    FunctionSpec(
        name="nightly-worker",
        handler="therabill.entrypoints.nightly_worker.lambda_handler",
        description="The nightly run's fan-out (SQS): plans a practice's run, bills batches of items",
        permissions=(
            CAN_READ_TABLE,
            CAN_WRITE_TABLE,
            CAN_READ_SECRETS,
            CAN_SEND_EMAIL,
            CAN_ENQUEUE_NIGHTLY,
            CAN_CONSUME_NIGHTLY,
        ),
        timeout_seconds=300,
        memory_mb=1024,
        env=(*_COMMON_ENV, ENV_EMAIL_SENDER, ENV_PUBLIC_BASE_URL, ENV_NIGHTLY_QUEUE_URL),
    ),
    FunctionSpec(
        name="invoice-sweep",
        handler="therabill.entrypoints.invoice_sweep.lambda_handler",
        description="Scheduled: open invoices past due become overdue; overdue reminders, each once",
        permissions=(CAN_READ_TABLE, CAN_WRITE_TABLE, CAN_READ_SECRETS, CAN_SEND_EMAIL),
        timeout_seconds=300,
        env=(*_COMMON_ENV, ENV_EMAIL_SENDER, ENV_PUBLIC_BASE_URL),
    ),
    FunctionSpec(
        name="audit-archive",
        handler="therabill.entrypoints.audit_archive.lambda_handler",
        description="The table's stream: copies each new audit record to the write-once archive (S3)",
        permissions=(CAN_READ_TABLE_STREAM, CAN_ARCHIVE_AUDIT),
        timeout_seconds=60,
        # The settings name the table and the secret (read by no code of this function: its role
        # grants neither) besides the bucket.
        env=(ENV_TABLE_NAME, ENV_SECRETS_ARN, ENV_AUDIT_ARCHIVE_BUCKET),
    ),
    FunctionSpec(
        name="eligibility-checks",
        handler="therabill.entrypoints.eligibility_checks.lambda_handler",
        description="Eligibility (270/271): a coverage added or changed; the batch the day before sessions",
        permissions=(
            CAN_READ_TABLE,
            CAN_WRITE_TABLE,
            CAN_READ_SECRETS,  # the clearinghouse's key
            CAN_STORE_ELIGIBILITY,
            CAN_LIST_PRACTICE_SCHEDULES,
        ),
        # A practice's batch: up to four checks at once, each at most two tries of 6 s.
        timeout_seconds=600,
        env=(*_COMMON_ENV, ENV_DOCUMENTS_BUCKET, ENV_SCHEDULER_GROUP),
    ),
)
# The audit archive's stream consumer: records per batch; a batch that keeps failing is split
# and, after this many retries, its position is sent to the function's failure queue (alarmed).
AUDIT_ARCHIVE_BATCH_SIZE = 100
AUDIT_ARCHIVE_MAX_RETRIES = 5

# A nightly message the worker fails this many times goes to the dead-letter queue.
NIGHTLY_MAX_RECEIVES = 5
NIGHTLY_BATCH_SIZE = 10  # SQS messages per worker invocation (each message: up to 25 items)

# A Stripe event the worker fails this many times goes to the dead-letter queue.
STRIPE_EVENTS_MAX_RECEIVES = 5

# EventBridge Scheduler schedules created by the CDK app in the Therabill schedule group.
# (name, expression, target function name). The local scheduler reads them back from the
# emulated Scheduler and fires them.
SCHEDULE_GROUP_NAME = "therabill"
SCHEDULES: tuple[tuple[str, str, str], ...] = (
    ("payments-reconciler", "rate(15 minutes)", "payments-reconciler"),
    # Resumes nightly runs left unfinished (the per-practice run and summary schedules are made
    # at runtime, in the same group, by the practices' settings).
    ("nightly-sweep", "rate(15 minutes)", "nightly-dispatch"),
    ("invoice-sweep", "rate(1 hour)", "invoice-sweep"),
    # Each practice's eligibility batch runs in the firing at its local batch hour (checking the
    # next day's insured sessions); the practices are listed from their nightly run schedules.
    ("eligibility-batch", "rate(1 hour)", "eligibility-checks"),
)

# API Gateway routes per function (REST API). Staff routes sit behind the Cognito authorizer;
# public and webhook routes authenticate themselves (signed tokens, Stripe signatures).
# Each prefix is served with every path below it, by both gateways (infra/ and devstack/). Every
# path the OpenAPI documents name must sit under a prefix of its function, and every prefix must
# hold a documented path (tests/unit/test_routes.py, tests/infra/test_stack.py).
STAFF_API_PREFIXES = (
    "/practice",
    "/clients",
    "/clinicians",
    "/providers",
    "/services",
    "/sessions",
    "/invoices",
    "/reports",
    "/nightly",
    "/billing-runs",
    "/staff",
    "/audit",
    "/payers",
    "/accepted-payers",
    "/shop",
)
PUBLIC_API_PREFIXES = ("/setup", "/pay", "/signup", "/store")
WEBHOOK_PATH = "/webhooks/stripe"
# A method and path no route serves is answered 404 with the APIs' error body naming them: by API
# Gateway (a gateway response, where the path carries the stage), by the local gateway and by
# the functions' resolvers (a path under a prefix that no route of the function takes). A missing
# or bad staff token is answered 401 with the same body shape.
NO_ROUTE_STATUS = 404
NO_ROUTE_CODE = "not_found"
NO_ROUTE_MESSAGE = "no route for {method} {path}: see the OpenAPI documents for the API's routes"
UNAUTHORIZED_CODE = "unauthorized"
# The methods API Gateway's ANY covers; any other (TRACE, CONNECT, ...) meets no route.
GATEWAY_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def no_route_body(method: str, path: str) -> dict[str, object]:
    return {
        "code": NO_ROUTE_CODE,
        "message": NO_ROUTE_MESSAGE.format(method=method, path=path),
        "details": {"method": method, "path": path},
    }


# Claims the Cognito user pool puts in the ID token; the staff API reads the practice and role
# from these, never from the request.
CLAIM_PRACTICE_ID = "custom:practice_id"
CLAIM_ROLE = "custom:role"
CLAIM_STAFF_ID = "custom:staff_id"
CLAIM_SUBJECT = "sub"
CLAIM_EMAIL = "email"

# The staff user pool's CustomMessage trigger (infra/ wires it; locally devstack plays Cognito).
STAFF_MESSAGES_FUNCTION = "staff-messages"
