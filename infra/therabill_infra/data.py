"""The single DynamoDB table (key schema from the shared contract) and its backups."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_backup as backup
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from therabill_infra.contract import contract
from therabill_infra.keys import customer_managed_key
from therabill_infra.nag import acknowledge


class Data(Construct):
    """All state: one table, PAY_PER_REQUEST, PITR, a customer-managed key, TTL, GSI1 and a stream
    of new images (the audit archive's source).

    The table and its key are retained when the stack is deleted. AWS Backup adds daily and
    monthly recovery points beyond PITR's 35 days (HIPAA contingency plan).
    """

    table: dynamodb.Table
    key: kms.Key

    def __init__(self, scope: Construct, construct_id: str, *, stage: str) -> None:
        super().__init__(scope, construct_id)
        self.key = customer_managed_key(self, "TableKey", stage=stage, purpose="table")
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(
                name=contract.TABLE_PARTITION_KEY, type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(name=contract.TABLE_SORT_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=contract.TABLE_TTL_ATTRIBUTE,
            # The audit archive reads new audit records from the stream (filtered to them).
            stream=dynamodb.StreamViewType.NEW_IMAGE,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.table.add_global_secondary_index(
            index_name=contract.GSI1_NAME,
            partition_key=dynamodb.Attribute(
                name=contract.GSI1_PARTITION_KEY, type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(name=contract.GSI1_SORT_KEY, type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        self._add_backups(stage)

    @property
    def index_arns(self) -> list[str]:
        """Exact ARNs of the table's indexes (no ``index/*`` wildcard)."""
        return [f"{self.table.table_arn}/index/{contract.GSI1_NAME}"]

    def _add_backups(self, stage: str) -> None:
        vault = backup.BackupVault(
            self,
            "BackupVault",
            encryption_key=customer_managed_key(self, "BackupKey", stage=stage, purpose="backup"),
            removal_policy=RemovalPolicy.RETAIN,
        )
        plan = backup.BackupPlan.daily_monthly1_year_retention(self, "BackupPlan", vault)
        selection = plan.add_selection(
            "Table", resources=[backup.BackupResource.from_dynamo_db_table(self.table)]
        )
        acknowledge(
            selection,
            "AWS Backup's own service-role policy (AWSBackupServiceRolePolicyForBackup) is the "
            "documented way to let Backup snapshot the table; Backup needs no other permission.",
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSBackupServiceRolePolicyForBackup]",
        )
