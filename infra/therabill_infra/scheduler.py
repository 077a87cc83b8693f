"""EventBridge Scheduler: the schedule group, its execution role and one schedule per contract entry."""

from __future__ import annotations

import json
from collections.abc import Mapping

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from therabill_infra import permissions
from therabill_infra.contract import contract
from therabill_infra.functions import construct_name

RETRY_ATTEMPTS = 3
MAX_EVENT_AGE_SECONDS = 3600
INVOKE_ACTIONS = ("lambda:InvokeFunction",)


def schedule_group_name(stage: str, *, default_stage: str) -> str:
    """``contract.SCHEDULE_GROUP_NAME`` for the default stage; other stages in the same account
    get their own group (``therabill-<stage>``), handed to functions as THERABILL_SCHEDULER_GROUP."""
    if stage == default_stage:
        return contract.SCHEDULE_GROUP_NAME
    return f"{contract.SCHEDULE_GROUP_NAME}-{stage}"


def schedule_input(schedule_name: str) -> str:
    """The event each scheduled invocation receives (Scheduler fills the ``<aws.scheduler.*>``)."""
    return json.dumps(
        {
            "source": "therabill.scheduler",
            "schedule": schedule_name,
            "scheduled_time": "<aws.scheduler.scheduled-time>",
            "execution_id": "<aws.scheduler.execution-id>",
        }
    )


def execution_role(scope: Construct, construct_id: str) -> iam.Role:
    """The role EventBridge Scheduler invokes the targets with (the contract's schedules and the
    per-practice nightly schedules the runtime creates in the same group)."""
    return iam.Role(
        scope,
        construct_id,
        description="EventBridge Scheduler: invoke the scheduled therabill functions",
        # Only schedules of this account may assume it (confused-deputy guard).
        assumed_by=iam.ServicePrincipal(
            "scheduler.amazonaws.com",
            conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
        ),
    )


class Schedules(Construct):
    group: scheduler.CfnScheduleGroup
    role: iam.Role
    schedules: dict[str, scheduler.CfnSchedule]

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        group_name: str,
        targets: Mapping[str, lambda_.IFunction],
        dead_letter_queue: sqs.IQueue,
        queues_key_arn: str,
        role: iam.Role | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.group = scheduler.CfnScheduleGroup(self, "Group", name=group_name)
        target_names = sorted({target for _, _, target in contract.SCHEDULES})
        missing = [name for name in target_names if name not in targets]
        if missing:
            raise ValueError(f"schedules target functions that are not deployed: {missing}")

        self.role = role or execution_role(self, "ExecutionRole")
        policy = iam.ManagedPolicy(
            self,
            "ExecutionPolicy",
            description="EventBridge Scheduler: invoke the scheduled functions, dead-letter failures",
            statements=[
                iam.PolicyStatement(
                    actions=list(INVOKE_ACTIONS),
                    resources=[targets[name].function_arn for name in target_names],
                ),
                # Undeliverable invocations go to the DLQ with this role.
                *permissions.queue_send_statements(dead_letter_queue.queue_arn, queues_key_arn),
            ],
            roles=[self.role],
        )

        self.schedules = {}
        for schedule_name, expression, target in contract.SCHEDULES:
            schedule = scheduler.CfnSchedule(
                self,
                construct_name(schedule_name),
                name=schedule_name,
                group_name=self.group.ref,
                description=f"Therabill: {schedule_name} -> {target}",
                schedule_expression=expression,
                schedule_expression_timezone="UTC",
                flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
                state="ENABLED",
                target=scheduler.CfnSchedule.TargetProperty(
                    arn=targets[target].function_arn,
                    role_arn=self.role.role_arn,
                    input=schedule_input(schedule_name),
                    retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                        maximum_retry_attempts=RETRY_ATTEMPTS,
                        maximum_event_age_in_seconds=MAX_EVENT_AGE_SECONDS,
                    ),
                    dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
                        arn=dead_letter_queue.queue_arn
                    ),
                ),
            )
            schedule.node.add_dependency(policy)
            self.schedules[schedule_name] = schedule
