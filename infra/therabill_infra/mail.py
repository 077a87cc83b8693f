"""SES: the verified sender identity and the configuration set every email goes through."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_ses as ses
from constructs import Construct


class Mail(Construct):
    identity: ses.EmailIdentity
    configuration_set: ses.ConfigurationSet
    sender: str

    def __init__(self, scope: Construct, construct_id: str, *, sender_email: str) -> None:
        super().__init__(scope, construct_id)
        self.sender = sender_email
        self.configuration_set = ses.ConfigurationSet(
            self,
            "ConfigurationSet",
            reputation_metrics=True,
            sending_enabled=True,
            # Receipts and invoices must never travel in clear text between mail servers.
            tls_policy=ses.ConfigurationSetTlsPolicy.REQUIRE,
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        )
        # The configuration set is the identity's default, so the runtime needs no extra setting.
        self.identity = ses.EmailIdentity(
            self,
            "Sender",
            identity=ses.Identity.email(sender_email),
            configuration_set=self.configuration_set,
        )

    @property
    def identity_arn(self) -> str:
        return Stack.of(self).format_arn(
            service="ses",
            resource="identity",
            resource_name=self.sender,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

    @property
    def configuration_set_arn(self) -> str:
        return Stack.of(self).format_arn(
            service="ses",
            resource="configuration-set",
            resource_name=self.configuration_set.configuration_set_name,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
