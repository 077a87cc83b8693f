"""The adapters: AWS clients, secrets, the table, Stripe, email, the webhook queue, the outbox."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from therabill.settings import Secrets
from therabill.wiring.base import Base

if TYPE_CHECKING:
    from therabill.adapters.dynamo import Table
    from therabill.adapters.secrets import SecretsProvider
    from therabill.notifications.mailer import EmailTransport, Outbox
    from therabill.payments.gateway import PaymentGateway
    from therabill.webhooks.inbox import EventQueue


class Adapters(Base):
    @property
    def secrets(self) -> Secrets:
        if self._secrets is not None:
            return self._secrets
        return self._secrets_provider.get()

    @cached_property
    def _secrets_provider(self) -> SecretsProvider:
        from therabill.adapters.secrets import SecretsProvider

        return SecretsProvider(self._client("secretsmanager"), self.settings.secrets_arn)

    @cached_property
    def table(self) -> Table:
        from therabill.adapters.dynamo import Table

        return Table(self._client("dynamodb"), self.settings.table_name)

    @cached_property
    def gateway(self) -> PaymentGateway:
        if self._gateway is not None:
            return self._gateway
        from therabill.adapters.stripe_gateway import StripeGateway

        # Two attempts of at most 5 s each fit inside the API functions' 15 s timeout; anything
        # slower leaves the payment pending for the reconciler (same idempotency key).
        return StripeGateway(
            self.secrets.stripe_secret_key,
            api_base=self.settings.stripe_api_base,
            max_network_retries=1,
            timeout_seconds=5,
        )

    @cached_property
    def email_transport(self) -> EmailTransport:
        if self._email is not None:
            return self._email
        from therabill.adapters.ses import SesTransport

        return SesTransport(self._client("ses"))

    @cached_property
    def queue(self) -> EventQueue:
        if self._queue is not None:
            return self._queue
        from therabill.adapters.sqs import SqsQueue

        assert self.settings.stripe_events_queue_url, "the webhook needs its queue URL"
        return SqsQueue(self._client("sqs"), self.settings.stripe_events_queue_url)

    @property
    def public_base_url(self) -> str:
        return str(self.settings.public_base_url or "http://localhost:3000").rstrip("/")

    @cached_property
    def outbox(self) -> Outbox:
        from therabill.notifications.mailer import Outbox
        from therabill.notifications.store import OutboxStore

        sender = self.settings.email_sender or "billing@therabill.localhost"
        return Outbox(
            store=OutboxStore(self.table), transport=self.email_transport, sender=sender, clock=self.clock
        )
