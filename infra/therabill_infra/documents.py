"""The documents bucket (ERAs, 837s, invoice PDFs) and its server access logs bucket."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from therabill_infra.keys import customer_managed_key
from therabill_infra.nag import acknowledge


def private_bucket(
    scope: Construct,
    construct_id: str,
    *,
    key: kms.IKey,
    access_logs: s3.IBucket,
    log_prefix: str,
    **props: object,
) -> s3.Bucket:
    """A bucket of health information: this key (KMS, bucket key), no public access, owner-
    enforced objects, TLS 1.2 only, versioned, its access logged under ``log_prefix``, kept when
    the stack goes; ``props`` add the rest (lifecycle, Object Lock)."""
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.KMS,
        encryption_key=key,
        bucket_key_enabled=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        versioned=True,  # Object Lock requires it too
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=log_prefix,
        removal_policy=RemovalPolicy.RETAIN,
        **props,  # type: ignore[arg-type]
    )


class Documents(Construct):
    bucket: s3.Bucket
    key: kms.Key
    access_logs: s3.Bucket

    def __init__(self, scope: Construct, construct_id: str, *, stage: str) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            # S3 server access log delivery supports only SSE-S3 on the target bucket.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[
                s3.LifecycleRule(
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=Duration.days(90),
                        )
                    ],
                    noncurrent_version_expiration=Duration.days(90),
                )
            ],
        )
        acknowledge(
            self.access_logs,
            "This bucket is the server access log target; logging it into itself would loop and "
            "logging it elsewhere needs yet another bucket.",
            "AwsSolutions-S1",
            "HIPAA.Security-S3BucketLoggingEnabled",
        )
        acknowledge(
            self.access_logs,
            "S3 server access log delivery does not support SSE-KMS on the target bucket, so it "
            "uses SSE-S3 (AES-256); the logs carry request metadata, not documents.",
            "HIPAA.Security-S3DefaultEncryptionKMS",
        )
        acknowledge(
            self.access_logs,
            "Access logs are versioned and retained in-region; cross-region replication of "
            "request logs is not part of the recovery plan.",
            "HIPAA.Security-S3BucketReplicationEnabled",
        )

        self.key = customer_managed_key(self, "DocumentsKey", stage=stage, purpose="documents")
        self.bucket = private_bucket(
            self,
            "Bucket",
            key=self.key,
            access_logs=self.access_logs,
            log_prefix="documents/",
            lifecycle_rules=[
                s3.LifecycleRule(abort_incomplete_multipart_upload_after=Duration.days(7)),
            ],
        )
        acknowledge(
            self.bucket,
            "Documents are versioned, KMS-encrypted, retained on stack deletion and kept in one "
            "region; cross-region replication is a disaster-recovery choice for production "
            "accounts, added per deployment rather than for every developer stack.",
            "HIPAA.Security-S3BucketReplicationEnabled",
        )
