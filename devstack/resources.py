"""Creates Therabill's AWS resources in an emulator (moto in-process or moto server).

The table is built from the key schema in therabill.contract, the same names infra/ uses, so the
tests, the local system and the deployed stack cannot drift apart.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any

from therabill import contract

LOCAL_REGION = "us-east-1"
LOCAL_ACCOUNT = "123456789012"


@dataclass(frozen=True)
class LocalResources:
    table_name: str
    secrets_arn: str
    stripe_events_queue_url: str
    stripe_events_dlq_url: str
    email_sender: str
    documents_bucket: str
    schedule_group: str
    user_pool_id: str
    user_pool_client_id: str = ""  # signs in with ADMIN_USER_PASSWORD_AUTH (POST /_local/sign-in)
    audit_archive_bucket: str = ""


def user_pool(cognito: Any, name: str) -> str:
    """The staff user pool ``name`` (made if missing): signs in by email (an alias of the staff
    id each user is named by), with the claims the staff API reads. The same attributes as
    infra/'s pool."""
    for pool in cognito.list_user_pools(MaxResults=60)["UserPools"]:
        if pool["Name"] == name:
            return str(pool["Id"])

    def custom(attribute: str, mutable: bool) -> dict[str, Any]:
        return {
            "Name": attribute.removeprefix("custom:"),
            "AttributeDataType": "String",
            "Mutable": mutable,
            "StringAttributeConstraints": {"MinLength": "1", "MaxLength": "64"},
        }

    return str(
        cognito.create_user_pool(
            PoolName=name,
            AliasAttributes=["email"],
            AutoVerifiedAttributes=["email"],
            Schema=[
                custom(contract.CLAIM_PRACTICE_ID, mutable=False),
                custom(contract.CLAIM_STAFF_ID, mutable=False),
                custom(contract.CLAIM_ROLE, mutable=True),
            ],
        )["UserPool"]["Id"]
    )


def user_pool_client(cognito: Any, pool_id: str, name: str = "therabill-local-sign-in") -> str:
    """The pool's app client for the local sign-in (made if missing): the admin password flow, as
    a server-side sign-in uses (the deployed web client signs in with SRP)."""
    for client in cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]:
        if client["ClientName"] == name:
            return str(client["ClientId"])
    return str(
        cognito.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName=name,
            GenerateSecret=False,
            ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
    )


def table_definition(table_name: str) -> dict[str, Any]:
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": contract.TABLE_PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": contract.TABLE_SORT_KEY, "AttributeType": "S"},
            {"AttributeName": contract.GSI1_PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": contract.GSI1_SORT_KEY, "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": contract.TABLE_PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": contract.TABLE_SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": contract.GSI1_NAME,
                "KeySchema": [
                    {"AttributeName": contract.GSI1_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": contract.GSI1_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }


def provision(
    session: Any,
    *,
    secrets: dict[str, Any],
    prefix: str = "therabill-local",
    email_sender: str = "billing@therabill.localhost",
) -> LocalResources:
    """Create (or find) every resource. ``session`` is a boto3 Session pointed at the emulator."""
    ddb = session.client("dynamodb")
    table_name = f"{prefix}-table"
    if table_name not in ddb.list_tables()["TableNames"]:
        ddb.create_table(**table_definition(table_name))
        ddb.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": contract.TABLE_TTL_ATTRIBUTE},
        )

    sqs = session.client("sqs")
    dlq_url = sqs.create_queue(QueueName=f"{prefix}-stripe-events-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue_url = sqs.create_queue(
        QueueName=f"{prefix}-stripe-events",
        Attributes={
            "VisibilityTimeout": "60",
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(contract.STRIPE_EVENTS_MAX_RECEIVES)}
            ),
        },
    )["QueueUrl"]

    sm = session.client("secretsmanager")
    secret_name = f"{prefix}/stripe"
    try:
        secrets_arn = sm.create_secret(Name=secret_name, SecretString=json.dumps(secrets))["ARN"]
    except sm.exceptions.ResourceExistsException:
        secrets_arn = sm.put_secret_value(SecretId=secret_name, SecretString=json.dumps(secrets))["ARN"]

    session.client("ses").verify_email_identity(EmailAddress=email_sender)

    s3 = session.client("s3")
    bucket = f"{prefix}-documents"
    s3.create_bucket(Bucket=bucket)
    # Versioned, as deployed (infra/documents.py): removing a picture must delete its versions.
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    # The audit archive: write-once as in AWS (Object Lock, compliance mode, six years).
    archive = f"{prefix}-audit-archive"
    s3.create_bucket(Bucket=archive, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(
        Bucket=archive,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": 6}},
        },
    )

    scheduler = session.client("scheduler")
    with contextlib.suppress(scheduler.exceptions.ConflictException):
        scheduler.create_schedule_group(Name=contract.SCHEDULE_GROUP_NAME)

    cognito = session.client("cognito-idp")
    pool_id = user_pool(cognito, f"{prefix}-staff")
    return LocalResources(
        user_pool_id=pool_id,
        user_pool_client_id=user_pool_client(cognito, pool_id),
        table_name=table_name,
        secrets_arn=secrets_arn,
        stripe_events_queue_url=queue_url,
        stripe_events_dlq_url=dlq_url,
        email_sender=email_sender,
        documents_bucket=bucket,
        schedule_group=contract.SCHEDULE_GROUP_NAME,
        audit_archive_bucket=archive,
    )


def function_environment(
    resources: LocalResources, *, public_base_url: str, stripe_api_base: str, stripe_js_url: str
) -> dict[str, str]:
    """The environment variables every function gets locally (the same names as in AWS)."""
    return {
        contract.ENV_TABLE_NAME: resources.table_name,
        contract.ENV_SECRETS_ARN: resources.secrets_arn,
        contract.ENV_STRIPE_EVENTS_QUEUE_URL: resources.stripe_events_queue_url,
        contract.ENV_EMAIL_SENDER: resources.email_sender,
        contract.ENV_PUBLIC_BASE_URL: public_base_url,
        contract.ENV_STRIPE_API_BASE: stripe_api_base,
        contract.ENV_STRIPE_JS_URL: stripe_js_url,
        contract.ENV_DOCUMENTS_BUCKET: resources.documents_bucket,
        contract.ENV_SCHEDULER_GROUP: resources.schedule_group,
        contract.ENV_USER_POOL_ID: resources.user_pool_id,
        contract.ENV_AUDIT_ARCHIVE_BUCKET: resources.audit_archive_bucket,
    }
