"""Clients' own errors (each a core error, so the API answers the same status)."""

from __future__ import annotations

from therabill.core.errors import ConflictError, NotFoundError


class ClientNotFoundError(NotFoundError):
    """No such client in this practice."""


class BillingContactNotFoundError(NotFoundError):
    """No such billing contact of this client."""


class BillingPartyNotFoundError(NotFoundError):
    """The client or contact whose Stripe customer was to be recorded does not exist."""


class ClientChangedError(ConflictError):
    """The client or contact changed since the version the caller read (``current_version``)."""
