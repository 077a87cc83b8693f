"""SQS queues: Stripe events (with its DLQ) and the dead-letter queues of async invocations.

Every dead-letter queue is alarmed: a message in one (an event the worker could never apply, a
nightly message, a failed scheduled invocation or schedule) sets off its alarm, which notifies the
operators' topic (subscribe an address to it after deploying). The DLQs keep a message 14 days,
for a redrive once the cause is fixed."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from therabill_infra.contract import contract
from therabill_infra.keys import customer_managed_key
from therabill_infra.nag import acknowledge

# AWS recommends a visibility timeout of at least six times the consumer function's timeout, so
# a batch retried by Lambda after throttling is not delivered twice while still in flight.
VISIBILITY_TIMEOUT_FACTOR = 6
STRIPE_EVENTS_MAX_RECEIVES = contract.STRIPE_EVENTS_MAX_RECEIVES
DLQ_RETENTION = Duration.days(14)


class Queues(Construct):
    key: kms.Key
    stripe_events: sqs.Queue
    stripe_events_dlq: sqs.Queue
    async_failures: sqs.Queue
    scheduler_failures: sqs.Queue
    nightly: sqs.Queue
    nightly_dlq: sqs.Queue
    audit_archive_failures: sqs.Queue
    alarms_topic: sns.Topic
    dead_letter_queues: dict[str, sqs.Queue]
    dlq_alarms: dict[str, cloudwatch.Alarm]

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        consumer_timeout_seconds: int,
        nightly_consumer_timeout_seconds: int = 300,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = customer_managed_key(self, "QueuesKey", stage=stage, purpose="queues")

        self.stripe_events_dlq = self._queue("StripeEventsDLQ", retention_period=DLQ_RETENTION)
        self.stripe_events = self._queue(
            "StripeEvents",
            visibility_timeout=Duration.seconds(VISIBILITY_TIMEOUT_FACTOR * consumer_timeout_seconds),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=STRIPE_EVENTS_MAX_RECEIVES, queue=self.stripe_events_dlq
            ),
        )
        # The nightly run's fan-out: a practice's plan, then batches of its items; a message the
        # worker fails NIGHTLY_MAX_RECEIVES times is parked in the DLQ (a redrive completes it).
        self.nightly_dlq = self._queue("NightlyDLQ", retention_period=DLQ_RETENTION)
        self.nightly = self._queue(
            "Nightly",
            visibility_timeout=Duration.seconds(VISIBILITY_TIMEOUT_FACTOR * nightly_consumer_timeout_seconds),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=contract.NIGHTLY_MAX_RECEIVES, queue=self.nightly_dlq
            ),
        )
        # Receives the events of scheduled (asynchronously invoked) functions that fail every retry.
        self.async_failures = self._queue("AsyncInvokeDLQ", retention_period=DLQ_RETENTION)
        # The audit archive's stream mapping sends a batch it could not archive (its stream
        # position, not the records) here after its retries: redrive by re-reading the stream.
        self.audit_archive_failures = self._queue("AuditArchiveDLQ", retention_period=DLQ_RETENTION)
        acknowledge(
            self.audit_archive_failures,
            "This queue is itself the on-failure destination of the audit archive's DynamoDB stream "
            "mapping, which cdk-nag does not recognise as a DLQ reference.",
            "AwsSolutions-SQS3",
        )
        # Receives the schedules EventBridge Scheduler could not deliver to their target.
        self.scheduler_failures = self._queue("SchedulerDLQ", retention_period=DLQ_RETENTION)
        acknowledge(
            self.scheduler_failures,
            "This queue is itself the dead-letter queue of the EventBridge Scheduler schedules "
            "(Target.DeadLetterConfig), which cdk-nag does not recognise as a DLQ reference.",
            "AwsSolutions-SQS3",
        )
        self._alarm_dead_letters(stage)

    def _alarm_dead_letters(self, stage: str) -> None:
        """An alarm on each DLQ (any message visible), notifying the operators' topic."""
        self.alarms_topic = sns.Topic(
            self,
            "OperatorAlarms",
            display_name=f"Therabill {stage}: operator alarms",
            master_key=self.key,
            enforce_ssl=True,
        )
        # CloudWatch publishes the alarms to the encrypted topic.
        cloudwatch_service = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        self.key.grant(cloudwatch_service, "kms:Decrypt", "kms:GenerateDataKey*")
        self.dead_letter_queues = {
            "StripeEventsDLQ": self.stripe_events_dlq,
            "NightlyDLQ": self.nightly_dlq,
            "AsyncInvokeDLQ": self.async_failures,
            "SchedulerDLQ": self.scheduler_failures,
            "AuditArchiveDLQ": self.audit_archive_failures,
        }
        self.dlq_alarms = {}
        for name, queue in self.dead_letter_queues.items():
            alarm = cloudwatch.Alarm(
                self,
                f"{name}Alarm",
                alarm_description=f"Messages in {name}: they could not be processed (redrive after the fix).",
                metric=queue.metric_approximate_number_of_messages_visible(
                    period=Duration.minutes(5), statistic="Maximum"
                ),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.alarms_topic))
            self.dlq_alarms[name] = alarm

    def _queue(self, construct_id: str, **props: object) -> sqs.Queue:
        return sqs.Queue(
            self,
            construct_id,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            enforce_ssl=True,
            **props,  # type: ignore[arg-type]
        )
