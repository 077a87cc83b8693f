"""Customer-managed KMS keys: one per concern, so a grant on one never opens another."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from constructs import Construct


def customer_managed_key(scope: Construct, construct_id: str, *, stage: str, purpose: str) -> kms.Key:
    """A symmetric key with yearly automatic rotation, kept when the stack is deleted."""
    return kms.Key(
        scope,
        construct_id,
        alias=f"alias/therabill/{stage}/{purpose}",
        description=f"Therabill {stage}: {purpose}",
        enable_key_rotation=True,
        pending_window=Duration.days(30),
        removal_policy=RemovalPolicy.RETAIN,
    )
