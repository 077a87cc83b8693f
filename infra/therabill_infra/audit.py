"""The audit trail's archive: a write-once S3 bucket (Object Lock in compliance mode, six years)
where the audit-archive function copies each new audit record from the table's stream. The
table keeps a record for its hot period (13 months, TTL); the archive keeps it six years."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from therabill_infra.documents import private_bucket
from therabill_infra.keys import customer_managed_key
from therabill_infra.nag import acknowledge

# Six years (HIPAA's retention of documentation); Object Lock counts whole years.
RETENTION_YEARS = 6
# Records are written once and read rarely: Glacier Instant Retrieval after a month, Deep Archive
# after the table's hot period (they are then read only from here).
INSTANT_RETRIEVAL_AFTER = Duration.days(30)
DEEP_ARCHIVE_AFTER = Duration.days(400)
# Removed once the lock has expired (six years and a few days: leap days and the clock of the lock).
EXPIRE_AFTER = Duration.days(365 * RETENTION_YEARS + 7)
OBJECT_PREFIX = "audit/"


class AuditArchive(Construct):
    bucket: s3.Bucket
    key: kms.Key

    def __init__(self, scope: Construct, construct_id: str, *, stage: str, access_logs: s3.IBucket) -> None:
        super().__init__(scope, construct_id)
        self.key = customer_managed_key(self, "AuditArchiveKey", stage=stage, purpose="audit-archive")
        self.bucket = private_bucket(
            self,
            "Bucket",
            key=self.key,
            access_logs=access_logs,
            log_prefix="audit-archive/",
            object_lock_enabled=True,
            object_lock_default_retention=s3.ObjectLockRetention.compliance(
                Duration.days(365 * RETENTION_YEARS)
            ),
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="colder-with-age",
                    prefix=OBJECT_PREFIX,
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                            transition_after=INSTANT_RETRIEVAL_AFTER,
                        ),
                        s3.Transition(
                            storage_class=s3.StorageClass.DEEP_ARCHIVE, transition_after=DEEP_ARCHIVE_AFTER
                        ),
                    ],
                    noncurrent_version_transitions=[
                        s3.NoncurrentVersionTransition(
                            storage_class=s3.StorageClass.DEEP_ARCHIVE, transition_after=Duration.days(30)
                        )
                    ],
                    expiration=EXPIRE_AFTER,
                    noncurrent_version_expiration=EXPIRE_AFTER,
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
        )
        acknowledge(
            self.bucket,
            "The audit archive is write-once (Object Lock, compliance mode, six years), versioned, "
            "KMS-encrypted and retained on stack deletion in one region; cross-region replication "
            "is a disaster-recovery choice for production accounts, added per deployment.",
            "HIPAA.Security-S3BucketReplicationEnabled",
        )
