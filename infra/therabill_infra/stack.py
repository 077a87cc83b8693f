"""The Therabill stack: a thin composition of one construct per concern."""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, CfnOutput, Stack
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from therabill_infra import permissions
from therabill_infra.api import STAGE_NAME, Api
from therabill_infra.audit import AuditArchive
from therabill_infra.contract import contract
from therabill_infra.data import Data
from therabill_infra.documents import Documents
from therabill_infra.firewall import Firewall
from therabill_infra.functions import AuditStream, Functions
from therabill_infra.layer import DependencyLayer
from therabill_infra.logs import LogGroups
from therabill_infra.mail import Mail
from therabill_infra.monitoring import Monitoring
from therabill_infra.nag import acknowledge
from therabill_infra.permissions import CapabilityResources
from therabill_infra.queues import Queues
from therabill_infra.scheduler import Schedules, execution_role, schedule_group_name
from therabill_infra.secrets import Secrets
from therabill_infra.settings import DEFAULT_STAGE, Settings

# Which function serves which routes (the contract names the routes and the functions).
STAFF_API_FUNCTION = "staff-api"
PUBLIC_API_FUNCTION = "public-api"
WEBHOOK_FUNCTION = "stripe-webhook"
NIGHTLY_DISPATCH_FUNCTION = "nightly-dispatch"
ELIGIBILITY_FUNCTION = "eligibility-checks"


class TherabillStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        stage = settings.stage
        if settings.uses_default_sender:
            Annotations.of(self).add_warning_v2(
                "therabill:default-sender",
                f"sender_email is the placeholder {settings.sender_email}: pass "
                "-c sender_email=<address you can verify> before deploying.",
            )

        consumers = [
            spec for spec in contract.FUNCTIONS if contract.CAN_CONSUME_STRIPE_EVENTS in spec.permissions
        ]
        consumer_timeout = max((spec.timeout_seconds for spec in consumers), default=30)
        async_targets = {target for _, _, target in contract.SCHEDULES}
        group_name = schedule_group_name(stage, default_stage=DEFAULT_STAGE)

        self.log_groups = LogGroups(self, "Logs", stage=stage, retention=settings.log_retention)
        self.data = Data(self, "Data", stage=stage)
        self.documents = Documents(self, "Documents", stage=stage)
        self.audit_archive = AuditArchive(
            self, "AuditArchive", stage=stage, access_logs=self.documents.access_logs
        )
        nightly_consumers = [
            spec for spec in contract.FUNCTIONS if contract.CAN_CONSUME_NIGHTLY in spec.permissions
        ]
        self.queues = Queues(
            self,
            "Queues",
            stage=stage,
            consumer_timeout_seconds=consumer_timeout,
            nightly_consumer_timeout_seconds=max((s.timeout_seconds for s in nightly_consumers), default=300),
        )
        self.secrets = Secrets(self, "Secrets", stage=stage)
        self.mail = Mail(self, "Mail", sender_email=settings.sender_email)
        self.api = Api(self, "Api", stage=stage, log_groups=self.log_groups, mail=self.mail)
        self.layer = DependencyLayer(self, "Layer", use_placeholder=settings.use_placeholder_layer)

        # The scheduler's execution role comes first: functions that manage the per-practice
        # schedules pass it to Scheduler (PassRole on this role only).
        scheduler_role = execution_role(self, "SchedulerRole")
        env_values = {
            contract.ENV_TABLE_NAME: self.data.table.table_name,
            contract.ENV_SECRETS_ARN: self.secrets.secret.secret_arn,
            contract.ENV_STRIPE_EVENTS_QUEUE_URL: self.queues.stripe_events.queue_url,
            contract.ENV_EMAIL_SENDER: settings.sender_email,
            contract.ENV_PUBLIC_BASE_URL: settings.public_base_url or self.api.stage_url,
            contract.ENV_STRIPE_API_BASE: settings.stripe_api_base,
            contract.ENV_STRIPE_JS_URL: settings.stripe_js_url,
            contract.ENV_DOCUMENTS_BUCKET: self.documents.bucket.bucket_name,
            contract.ENV_SCHEDULER_GROUP: group_name,
            contract.ENV_NIGHTLY_QUEUE_URL: self.queues.nightly.queue_url,
            contract.ENV_SCHEDULER_ROLE_ARN: scheduler_role.role_arn,
            contract.ENV_USER_POOL_ID: self.api.user_pool.user_pool_id,
            contract.ENV_AUDIT_ARCHIVE_BUCKET: self.audit_archive.bucket.bucket_name,
            # nightly-dispatch and eligibility-checks exist only after the functions: set below.
            contract.ENV_NIGHTLY_TARGET_ARN: "",
            contract.ENV_ELIGIBILITY_TARGET_ARN: "",
            # Where staff sign in; empty: the emails point at the public base URL.
            contract.ENV_SIGN_IN_URL: settings.sign_in_url,
        }
        resources = CapabilityResources(
            table_arn=self.data.table.table_arn,
            table_index_arns=self.data.index_arns,
            table_key_arn=self.data.key.key_arn,
            secret_arn=self.secrets.secret.secret_arn,
            secrets_key_arn=self.secrets.key.key_arn,
            email_identity_arn=self.mail.identity_arn,
            email_configuration_set_arn=self.mail.configuration_set_arn,
            stripe_events_queue_arn=self.queues.stripe_events.queue_arn,
            queues_key_arn=self.queues.key.key_arn,
            nightly_queue_arn=self.queues.nightly.queue_arn,
            runtime_schedule_arns=[
                self.format_arn(
                    service="scheduler", resource="schedule", resource_name=f"{group_name}/{pattern}"
                )
                for pattern in permissions.RUNTIME_SCHEDULE_PATTERNS
            ],
            scheduler_role_arn=scheduler_role.role_arn,
            schedule_group_name=group_name,
            user_pool_arn=self.api.user_pool.user_pool_arn,
            table_stream_arn=self.data.table.table_stream_arn or "",
            audit_failures_queue_arn=self.queues.audit_archive_failures.queue_arn,
            audit_bucket_arn=self.audit_archive.bucket.bucket_arn,
            audit_key_arn=self.audit_archive.key.key_arn,
            documents_bucket_arn=self.documents.bucket.bucket_arn,
            documents_key_arn=self.documents.key.key_arn,
        )
        self.functions = Functions(
            self,
            "Functions",
            layer=self.layer.layer,
            log_groups=self.log_groups,
            env_values=env_values,
            resources=resources,
            stripe_events_queue=self.queues.stripe_events,
            async_failures=self.queues.async_failures,
            queues_key_arn=self.queues.key.key_arn,
            async_targets=async_targets,
            reserved_concurrency=settings.reserved_concurrency,
            nightly_queue=self.queues.nightly,
            audit_stream=AuditStream(table=self.data.table, failures=self.queues.audit_archive_failures),
        )
        dispatch_arn = self.functions[NIGHTLY_DISPATCH_FUNCTION].function_arn
        eligibility_arn = self.functions[ELIGIBILITY_FUNCTION].function_arn
        for spec in contract.FUNCTIONS:
            if contract.ENV_NIGHTLY_TARGET_ARN in spec.env:
                self.functions[spec.name].add_environment(contract.ENV_NIGHTLY_TARGET_ARN, dispatch_arn)
            if contract.ENV_ELIGIBILITY_TARGET_ARN in spec.env:
                self.functions[spec.name].add_environment(
                    contract.ENV_ELIGIBILITY_TARGET_ARN, eligibility_arn
                )
        # Cognito words its invitations and reset codes through this trigger (naming the practice).
        self.api.user_pool.add_trigger(
            cognito.UserPoolOperation.CUSTOM_MESSAGE, self.functions[contract.STAFF_MESSAGES_FUNCTION]
        )
        self.api.add_routes(
            staff=self.functions[STAFF_API_FUNCTION],
            public=self.functions[PUBLIC_API_FUNCTION],
            webhook=self.functions[WEBHOOK_FUNCTION],
        )
        if settings.waf:
            self.firewall = Firewall(
                self,
                "Firewall",
                stage=stage,
                stage_arn=self.api.rest_api.deployment_stage.stage_arn,
                stage_name=STAGE_NAME,
                public_prefixes=contract.PUBLIC_API_PREFIXES,
                webhook_path=contract.WEBHOOK_PATH,
                log_groups=self.log_groups,
            )
        else:
            acknowledge(
                self.api.rest_api.deployment_stage,
                "AWS WAF was left out of this deployment on purpose (context waf=false, a "
                "throwaway developer stack); stage and per-route API Gateway throttling still apply.",
                "AwsSolutions-APIG3",
            )
        self.schedules = Schedules(
            self,
            "Schedules",
            group_name=group_name,
            targets={name: self.functions[name] for name in async_targets},
            dead_letter_queue=self.queues.scheduler_failures,
            queues_key_arn=self.queues.key.key_arn,
            role=scheduler_role,
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            stage=stage,
            topic=self.queues.alarms_topic,
            functions={spec.name: self.functions[spec.name] for spec in contract.FUNCTIONS},
            rest_api=self.api.rest_api,
            stripe_events_queue=self.queues.stripe_events,
            dead_letter_queues=self.queues.dead_letter_queues,
            other_alarms=self.queues.dlq_alarms,
        )
        self._outputs()

    def _outputs(self) -> None:
        CfnOutput(self, "ApiUrl", value=self.api.stage_url, description="Base URL of the API stage")
        CfnOutput(
            self,
            "StripeWebhookUrl",
            value=self.api.stage_url + contract.WEBHOOK_PATH,
            description="Register this endpoint in the Stripe dashboard",
        )
        CfnOutput(self, "UserPoolId", value=self.api.user_pool.user_pool_id)
        CfnOutput(self, "UserPoolClientId", value=self.api.user_pool_client.user_pool_client_id)
        CfnOutput(self, "TableName", value=self.data.table.table_name)
        CfnOutput(
            self,
            "SecretArn",
            value=self.secrets.secret.secret_arn,
            description="Fill in the Stripe keys and webhook secrets after the first deploy",
        )
        CfnOutput(self, "DocumentsBucket", value=self.documents.bucket.bucket_name)
        CfnOutput(
            self,
            "AuditArchiveBucket",
            value=self.audit_archive.bucket.bucket_name,
            description="The audit trail past its 13 months in the table (write-once, six years)",
        )
        CfnOutput(self, "ScheduleGroup", value=self.schedules.group.ref)
        CfnOutput(
            self,
            "OperatorAlarmsTopic",
            value=self.queues.alarms_topic.topic_arn,
            description="Subscribe the operators to the alarms (dead letters, function errors and "
            "throttles, API 5xx rate, Stripe events waiting, nightly runs overdue, audit items changed)",
        )
