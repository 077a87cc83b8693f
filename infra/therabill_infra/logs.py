"""CloudWatch Logs: one KMS key for every log group of the stack, retention from settings."""

from __future__ import annotations

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from therabill_infra.keys import customer_managed_key


class LogGroups(Construct):
    """Makes encrypted, retained log groups (functions, API access logs)."""

    key: kms.Key

    def __init__(
        self, scope: Construct, construct_id: str, *, stage: str, retention: logs.RetentionDays
    ) -> None:
        super().__init__(scope, construct_id)
        self._retention = retention
        self.key = customer_managed_key(self, "LogsKey", stage=stage, purpose="logs")
        # CloudWatch Logs encrypts with the key itself, so the key policy (not an IAM role) lets the
        # regional Logs service use it, and only for this account's log groups.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:*"
                        )
                    }
                },
            )
        )

    def log_group(self, scope: Construct, construct_id: str, *, name: str | None = None) -> logs.LogGroup:
        """Audit logs are kept when the stack is deleted; retention ends them.

        The key policy is part of the key resource, which the group references, so the policy
        exists before CloudWatch Logs checks it.
        """
        return logs.LogGroup(
            scope,
            construct_id,
            log_group_name=name,
            encryption_key=self.key,
            retention=self._retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
