"""Errors shared by every capability. Each carries data, never an HTTP status; the entry points
map them (see api/errors.py, the one error mapper)."""

from __future__ import annotations

from typing import Any


class TherabillError(Exception):
    """Base of every domain error."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFoundError(TherabillError):
    """The thing does not exist in this practice (or at all: we never say which)."""


class AlreadyExistsError(TherabillError):
    pass


class ConflictError(TherabillError):
    """The item changed state under us, or the transition is not legal from its current state."""


class InvalidRequestError(TherabillError):
    """Input that is well-formed but not acceptable (a business rule says no)."""


class PayloadTooLargeError(TherabillError):
    """A request body over the limit, refused before it is read any further."""


class ForbiddenError(TherabillError):
    """The caller's role may not do this."""


class UnauthorizedError(TherabillError):
    """A token, signature or access code is missing, wrong or expired."""


class TooManyRequestsError(TherabillError):
    """Too many of this kind of request in the current window (HTTP 429, ``retry_after`` seconds)."""


class DependencyUnavailableError(TherabillError):
    """A downstream service (Stripe, DynamoDB) is throttling or failing: safe to retry later."""


class RetryLaterError(TherabillError):
    """An event cannot be applied yet (e.g. its related object has not arrived): redeliver later."""
