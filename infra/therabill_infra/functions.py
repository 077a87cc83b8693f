"""One Lambda function per ``contract.FUNCTIONS`` entry, each with its own role and log group."""

from __future__ import annotations

import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import Annotations, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from therabill_infra import permissions
from therabill_infra.bytecode import source_only_message
from therabill_infra.contract import contract
from therabill_infra.function_code import CODE_EXCLUDES, function_code_dir
from therabill_infra.layer import ARCHITECTURE, python_runtime, python_version
from therabill_infra.logs import LogGroups
from therabill_infra.nag import acknowledge

__all__ = ["CODE_EXCLUDES", "DeployedFunction", "Functions"]

# Reserved concurrency caps each function so one hot path cannot starve the others or overrun
# DynamoDB / Stripe rate limits. The reconciler runs one at a time. Unknown functions get 5.
RESERVED_CONCURRENCY: dict[str, int] = {
    "staff-api": 20,
    "public-api": 20,
    "stripe-webhook": 20,
    "stripe-worker": 5,
    "payments-reconciler": 1,
    "nightly-dispatch": 5,
    # Bounded so the nightly fan-out stays inside Stripe's rate limit (100 operations / s).
    "nightly-worker": 10,
    "audit-archive": 2,
}
DEFAULT_RESERVED_CONCURRENCY = 5
SQS_BATCH_SIZE = 10
# Scheduled (asynchronous) invocations: Lambda retries a failed event twice, then sends it to the DLQ.
ASYNC_RETRY_ATTEMPTS = 2
ASYNC_MAX_EVENT_AGE = Duration.hours(1)
POWERTOOLS_METRICS_NAMESPACE = "Therabill"


@dataclass(frozen=True)
class AuditStream:
    """The table whose stream the audit archive reads, and where a batch it failed goes."""

    table: dynamodb.ITable
    failures: sqs.IQueue


@dataclass(frozen=True)
class DeployedFunction:
    spec: Any  # contract.FunctionSpec
    function: lambda_.Function
    role: iam.Role
    policy: iam.ManagedPolicy
    log_group: logs.LogGroup


def construct_name(function_name: str) -> str:
    """``stripe-webhook`` -> ``StripeWebhook`` (construct ids, logical ids)."""
    return "".join(part.capitalize() for part in function_name.replace("_", "-").split("-"))


# Statements on objects under a bucket prefix (one object per record, check or picture, so no
# object can be named in advance): the capability, the bucket it is on, why, and its finding.
_PREFIX_GRANTS: tuple[tuple[str, str, str, Any], ...] = (
    (
        contract.CAN_ARCHIVE_AUDIT,
        "audit_bucket_arn",
        "The archive writes one object per audit record, each named by its practice, day and id, "
        "so the statement names the bucket's audit/ prefix, not objects.",
        permissions.archive_prefix_finding,
    ),
    (
        contract.CAN_MANAGE_CARD_IMAGES,
        "documents_bucket_arn",
        "Each picture of an insurance card is its own object, named by practice, client, coverage "
        "and side, so the statement names the bucket's card-images/ prefix.",
        permissions.card_images_prefix_finding,
    ),
    (
        contract.CAN_STORE_ELIGIBILITY,
        "documents_bucket_arn",
        "Each eligibility check keeps its raw 271 as one object named by its practice, client and "
        "check, so the statement names the bucket's eligibility/ prefix.",
        permissions.eligibility_prefix_finding,
    ),
)


class Functions(Construct):
    """Builds every function of the contract.

    Each function gets: the handler from its spec, code from ``functions/``, the dependency layer,
    its spec's environment resolved to real values, X-Ray tracing, a KMS-encrypted log group with
    retention, reserved concurrency, and its own role whose only policy is a customer-managed
    policy holding exactly the statements of its capabilities (see permissions.py). The role is
    passed to Lambda as immutable, so nothing adds permissions behind the contract's back.
    """

    by_name: dict[str, DeployedFunction]

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        layer: lambda_.ILayerVersion,
        log_groups: LogGroups,
        env_values: Mapping[str, str],
        resources: permissions.CapabilityResources,
        stripe_events_queue: sqs.IQueue,
        async_failures: sqs.IQueue,
        queues_key_arn: str,
        async_targets: Collection[str],
        reserved_concurrency: bool,
        nightly_queue: sqs.IQueue | None = None,
        audit_stream: AuditStream | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.by_name = {}
        runtime = python_runtime()
        code = self._code()
        unknown_targets = set(async_targets) - {spec.name for spec in contract.FUNCTIONS}
        if unknown_targets:
            raise ValueError(f"schedules target unknown functions: {sorted(unknown_targets)}")

        for spec in contract.FUNCTIONS:
            name = construct_name(spec.name)
            is_async = spec.name in async_targets
            log_group = log_groups.log_group(self, f"{name}Logs")

            statements = permissions.base_statements(log_group.log_group_arn)
            statements.extend(permissions.audit_deny_statements(resources.table_arn))
            for capability in spec.permissions:
                statements.extend(permissions.capability_statements(capability, resources))
            if is_async:
                statements.extend(permissions.queue_send_statements(async_failures.queue_arn, queues_key_arn))

            role = iam.Role(
                self,
                f"{name}Role",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                description=f"therabill {spec.name}: {', '.join(spec.permissions) or 'logs only'}",
            )
            policy = iam.ManagedPolicy(
                self,
                f"{name}Policy",
                description=f"therabill {spec.name}: exactly its contract capabilities",
                statements=statements,
                roles=[role],
            )
            lists = contract.CAN_LIST_PRACTICE_SCHEDULES in spec.permissions
            acknowledge(
                policy,
                "X-Ray PutTraceSegments/PutTelemetryRecords"
                + (" and Scheduler ListSchedules (the practices, by their schedules' names)" if lists else "")
                + " support no resource-level permissions; AWS requires Resource '*' for them. "
                "Every other statement names its resources.",
                "AwsSolutions-IAM5[Resource::*]",
            )
            if contract.CAN_MANAGE_SCHEDULES in spec.permissions:
                acknowledge(
                    policy,
                    "Each practice gets its own nightly run / evening summary schedule (and one-time "
                    "run-now schedules) created at runtime, so their names are known only by prefix; "
                    "the statement is limited to those prefixes inside the one schedule group.",
                    *permissions.schedule_wildcard_findings(resources.schedule_group_name),
                )

            self._acknowledge_prefixes(policy, spec, resources)

            reserved = (
                RESERVED_CONCURRENCY.get(spec.name, DEFAULT_RESERVED_CONCURRENCY)
                if reserved_concurrency
                else None
            )
            async_props: dict[str, Any] = (
                {
                    "dead_letter_queue": async_failures,
                    "retry_attempts": ASYNC_RETRY_ATTEMPTS,
                    "max_event_age": ASYNC_MAX_EVENT_AGE,
                }
                if is_async
                else {}
            )
            function = lambda_.Function(
                self,
                name,
                description=spec.description[:256],
                runtime=runtime,
                architecture=ARCHITECTURE,
                handler=spec.handler,
                code=code,
                layers=[layer],
                # Imported, immutable view of the role: CDK cannot add statements behind the
                # contract's back (tracing, DLQ), and adds no redundant DependsOn on the role.
                role=iam.Role.from_role_arn(self, f"{name}RoleRef", role.role_arn, mutable=False),
                environment=self._environment(spec, env_values),
                timeout=Duration.seconds(spec.timeout_seconds),
                memory_size=spec.memory_mb,
                tracing=lambda_.Tracing.ACTIVE,
                log_group=log_group,
                logging_format=lambda_.LoggingFormat.JSON,
                reserved_concurrent_executions=reserved,
                **async_props,
            )
            # Lambda checks the role can reach a DLQ / event source when they are attached, so
            # the policy must be attached before the function and its mapping are created.
            function.node.add_dependency(policy)
            self._acknowledge_function(function, spec.name, is_async=is_async, reserved=reserved)

            if contract.CAN_CONSUME_STRIPE_EVENTS in spec.permissions:
                lambda_.EventSourceMapping(
                    self,
                    f"{name}StripeEvents",
                    target=function,
                    event_source_arn=stripe_events_queue.queue_arn,
                    batch_size=SQS_BATCH_SIZE,
                    report_batch_item_failures=True,
                    # Pollers never outnumber the reserved instances (ESM minimum is 2).
                    max_concurrency=reserved if reserved and reserved >= 2 else None,
                )
            if contract.CAN_CONSUME_NIGHTLY in spec.permissions:
                if nightly_queue is None:
                    raise ValueError(f"{spec.name} consumes the nightly queue, which was not given")
                lambda_.EventSourceMapping(
                    self,
                    f"{name}NightlyMessages",
                    target=function,
                    event_source_arn=nightly_queue.queue_arn,
                    batch_size=contract.NIGHTLY_BATCH_SIZE,
                    report_batch_item_failures=True,
                    max_concurrency=reserved if reserved and reserved >= 2 else None,
                )
            if contract.CAN_READ_TABLE_STREAM in spec.permissions:
                if audit_stream is None:
                    raise ValueError(f"{spec.name} reads the table's stream, which was not given")
                function.add_event_source(_audit_records(audit_stream))
            self.by_name[spec.name] = DeployedFunction(spec, function, role, policy, log_group)

    def _acknowledge_prefixes(self, policy: iam.Policy, spec: Any, resources: Any) -> None:
        """The cdk-nag findings of the statements on a bucket's prefix, each with its reason."""
        for capability, bucket_attribute, reason, finding in _PREFIX_GRANTS:
            if capability in spec.permissions:
                arn = getattr(resources, bucket_attribute)
                bucket = Stack.of(self).resolve(arn)["Fn::GetAtt"][0]
                acknowledge(policy, reason, finding(bucket))

    def _code(self) -> lambda_.Code:
        """``functions/`` staged with bytecode compiled by the runtime's Python (function_code.py)."""
        staged = function_code_dir(python_version())
        if staged.python is None:
            message = source_only_message(python_version(), "the function code")
            print(f"WARNING: {message}", file=sys.stderr)
            Annotations.of(self).add_warning_v2("therabill:function-code-source-only", message)
        return lambda_.Code.from_asset(str(staged.directory))

    def __getitem__(self, function_name: str) -> lambda_.Function:
        try:
            return self.by_name[function_name].function
        except KeyError:
            raise KeyError(f"no function {function_name!r} in contract.FUNCTIONS") from None

    @staticmethod
    def _environment(spec: Any, env_values: Mapping[str, str]) -> dict[str, str]:
        missing = [key for key in spec.env if key not in env_values]
        if missing:
            raise ValueError(
                f"function {spec.name!r} asks for environment variables infra cannot fill: {missing}"
            )
        env = {key: env_values[key] for key in spec.env}
        env["POWERTOOLS_SERVICE_NAME"] = contract.SERVICE_NAME
        env["POWERTOOLS_METRICS_NAMESPACE"] = POWERTOOLS_METRICS_NAMESPACE
        return env

    @staticmethod
    def _acknowledge_function(
        function: lambda_.Function, name: str, *, is_async: bool, reserved: int | None
    ) -> None:
        acknowledge(
            function,
            "The functions reach only AWS service endpoints and Stripe's public API and hold no "
            "VPC resources; a VPC would add NAT gateways and endpoints without isolating anything.",
            "HIPAA.Security-LambdaInsideVPC",
        )
        if not is_async:
            acknowledge(
                function,
                f"{name} is invoked synchronously (API Gateway) or by an SQS event source mapping; "
                "a Lambda DLQ applies only to asynchronous invocations. SQS failures go to the "
                "queue's own redrive DLQ.",
                "HIPAA.Security-LambdaDLQ",
            )
        if reserved is None:
            acknowledge(
                function,
                "Reserved concurrency was switched off for this deployment (context "
                "reserved_concurrency=false) because the account's concurrency quota is too small "
                "to reserve any.",
                "HIPAA.Security-LambdaConcurrency",
            )
        if _has_newer_python(python_runtime()):
            acknowledge(
                function,
                "pyproject.toml declares requires-python <3.14 and uv.lock pins wheels up to "
                "CPython 3.13, so the runtime and the layer are the newest Python the project "
                "supports (layers/python-version).",
                "AwsSolutions-L1",
            )


def _audit_records(stream: AuditStream) -> event_sources.DynamoEventSource:
    """New audit records (``REC#`` items inserted in an ``AUDIT#`` partition; their copies, the rest
    of the table and TTL's removals never invoke the function), and any other change of an audit
    item (overwritten, or removed by anything but TTL: counted and alarmed). A failing record is
    retried from itself, a batch that keeps failing is halved, and after its retries its position
    goes to the failure queue (alarmed)."""
    audit_pk = {
        contract.TABLE_PARTITION_KEY: {"S": lambda_.FilterRule.begins_with(contract.AUDIT_PARTITION_PREFIX)}
    }
    new_records = {
        "eventName": lambda_.FilterRule.is_equal("INSERT"),
        "dynamodb": {
            "Keys": {**audit_pk, contract.TABLE_SORT_KEY: {"S": lambda_.FilterRule.begins_with("REC#")}}
        },
    }
    overwritten = {"eventName": lambda_.FilterRule.is_equal("MODIFY"), "dynamodb": {"Keys": audit_pk}}
    # TTL's removals carry userIdentity (the DynamoDB service); any other removal has none.
    removed = {
        "eventName": lambda_.FilterRule.is_equal("REMOVE"),
        "userIdentity": lambda_.FilterRule.not_exists(),
        "dynamodb": {"Keys": audit_pk},
    }
    return event_sources.DynamoEventSource(
        stream.table,
        starting_position=lambda_.StartingPosition.TRIM_HORIZON,
        batch_size=contract.AUDIT_ARCHIVE_BATCH_SIZE,
        bisect_batch_on_error=True,
        retry_attempts=contract.AUDIT_ARCHIVE_MAX_RETRIES,
        report_batch_item_failures=True,
        on_failure=event_sources.SqsDlq(stream.failures),
        filters=[lambda_.FilterCriteria.filter(f) for f in (new_records, overwritten, removed)],
    )


def _has_newer_python(runtime: lambda_.Runtime) -> bool:
    """Whether aws-cdk-lib knows a newer Python runtime than ``runtime`` (cdk-nag's L1 check)."""

    def version(name: str) -> tuple[int, ...]:
        return tuple(int(part) for part in name.removeprefix("python").split("."))

    known = (getattr(lambda_.Runtime, attr) for attr in dir(lambda_.Runtime) if attr.startswith("PYTHON_3_"))
    return any(version(other.name) > version(runtime.name) for other in known)
