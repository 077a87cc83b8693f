"""The one Secrets Manager secret: Stripe keys, webhook signing secrets and the link signing key."""

from __future__ import annotations

import json

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from therabill_infra.contract import contract
from therabill_infra.keys import customer_managed_key
from therabill_infra.nag import acknowledge


class Secrets(Construct):
    """A JSON secret in the shape ``therabill.settings.Secrets`` reads.

    The link signing key is generated at deploy time. The Stripe keys and webhook secrets come
    from Stripe and are filled in by an operator after the first deploy
    (``aws secretsmanager put-secret-value``); the template never carries them.
    """

    secret: secretsmanager.Secret
    key: kms.Key

    def __init__(self, scope: Construct, construct_id: str, *, stage: str) -> None:
        super().__init__(scope, construct_id)
        self.key = customer_managed_key(self, "SecretsKey", stage=stage, purpose="secrets")
        template = {
            contract.SECRET_STRIPE_SECRET_KEY: "",
            contract.SECRET_STRIPE_PUBLISHABLE_KEY: "",
            contract.SECRET_STRIPE_WEBHOOK_SECRETS: [],
            contract.SECRET_PLATFORM_FEE_BPS: 0,
            contract.SECRET_STEDI_API_KEY: "",  # put with the Stripe keys once insurance is on
        }
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            description=f"Therabill {stage}: Stripe keys, webhook secrets and the link signing key",
            encryption_key=self.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps(template),
                generate_string_key=contract.SECRET_LINK_SIGNING_KEY,
                password_length=64,
                exclude_punctuation=True,
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.secret,
            "The Stripe keys and webhook signing secrets are issued and rolled in the Stripe "
            "dashboard, which no rotation Lambda can drive; the webhook secret list holds the "
            "current and previous secret so a roll has no downtime. The link signing key is "
            "rotated the same way (new key first, old key kept until its links expire).",
            "AwsSolutions-SMG4",
            "HIPAA.Security-SecretsManagerRotationEnabled",
        )
