"""The notifications capability's errors."""

from __future__ import annotations

from therabill.core.errors import RetryLaterError, TherabillError


class EmailRejectedError(TherabillError):
    """The provider refused this message for good (bad address, content): do not retry."""


class EmailBeingSentError(RetryLaterError):
    """Another sender holds a fresh claim on the same email: try again later."""


class EmailClaimedError(TherabillError):
    """The outbox item exists already: ``status`` and ``claimed_at`` say what became of it."""

    def __init__(self, dedup_key: str, status: str | None, claimed_at: str | None) -> None:
        super().__init__("the email was claimed already")
        self.dedup_key = dedup_key
        self.status = status
        self.claimed_at = claimed_at
