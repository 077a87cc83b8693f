"""The port cards need from the payment provider: customers, SetupIntents, the saved card's
details and its removal. The Stripe adapter satisfies it structurally; the value types are the
attributes cards reads of what the provider answers."""

from __future__ import annotations

from typing import Protocol


class SetupIntentRef(Protocol):
    """A SetupIntent the client confirms in the browser with its client secret."""

    @property
    def id(self) -> str: ...

    @property
    def client_secret(self) -> str: ...


class CardDetails(Protocol):
    """What is shown of a saved card: never its number."""

    @property
    def brand(self) -> str: ...

    @property
    def last4(self) -> str: ...

    @property
    def exp_month(self) -> int: ...

    @property
    def exp_year(self) -> int: ...

    @property
    def fingerprint(self) -> str | None: ...


class CardGateway(Protocol):
    def create_customer(
        self,
        *,
        account: str,
        idempotency_key: str,
        email: str | None,
        name: str | None,
        metadata: dict[str, str],
    ) -> str:
        """Create a customer on the connected account; return its id."""
        ...

    def create_setup_intent(
        self, *, account: str, customer_id: str, idempotency_key: str, metadata: dict[str, str]
    ) -> SetupIntentRef:
        """A SetupIntent for saving a card for later off-session use (usage=off_session)."""
        ...

    def retrieve_card(self, *, account: str, payment_method_id: str) -> CardDetails: ...

    def detach_card(self, *, account: str, payment_method_id: str) -> None: ...
