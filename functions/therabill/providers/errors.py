"""Providers' own errors (each a core error, so the API answers the same status)."""

from __future__ import annotations

from therabill.core.errors import ConflictError, InvalidRequestError, NotFoundError


class ProviderValueError(InvalidRequestError, ValueError):
    """A provider set-up value that cannot be used. ``rule`` names the rule it breaks (e.g.
    ``npi_check_digit``); the message says what is wrong in words and never repeats a tax id.

    A ``ValueError`` too, so a pydantic validator that lets it through still reports it."""

    def __init__(self, message: str, *, rule: str) -> None:
        super().__init__(message, rule=rule)
        self.rule = rule


class ProviderChangedError(ConflictError):
    """The provider set-up changed since it was read (or was made meanwhile): read it again."""

    def __init__(self, expected_version: int | None, *, what: str = "the billing provider") -> None:
        super().__init__(
            f"{what} changed since it was read; read it again and resend",
            expected_version=expected_version,
        )


class NotSupervisedError(NotFoundError):
    """The clinician has no supervisor (to show or to clear)."""


class NoBillingProviderError(NotFoundError):
    """The practice has not set up its billing provider yet."""
