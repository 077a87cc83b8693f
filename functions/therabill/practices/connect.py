"""What practices need from the payment provider to connect a practice (Stripe Connect), in our own
terms. The Stripe adapter satisfies these structurally; practices never imports it."""

from __future__ import annotations

from typing import Protocol


class AccountState(Protocol):
    """A connected account's state as the provider reports it."""

    @property
    def id(self) -> str: ...

    @property
    def charges_enabled(self) -> bool: ...

    @property
    def payouts_enabled(self) -> bool: ...

    @property
    def details_submitted(self) -> bool: ...


class ConnectGateway(Protocol):
    """The two provider calls that create a practice's connected account and onboard it."""

    def create_connected_account(
        self, *, idempotency_key: str, email: str | None, country: str, metadata: dict[str, str]
    ) -> AccountState: ...

    def create_account_link(self, *, account: str, refresh_url: str, return_url: str) -> str:
        """An onboarding link; returns its URL."""
        ...
