"""Services' own errors (each a core error, so the API answers the same status)."""

from __future__ import annotations

from therabill.core.errors import ConflictError, NotFoundError


class ServiceNotFoundError(NotFoundError):
    """No such service type in this practice."""


class ServiceChangedError(ConflictError):
    """The service type changed since the version the caller read (``current_version``)."""


class PricingRuleNotFoundError(NotFoundError):
    """The client has no pricing rule for the service."""
