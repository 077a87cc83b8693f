"""The audit trail's own errors (each a core error, so the API answers the same status)."""

from __future__ import annotations

from therabill.core.errors import InvalidRequestError


class AuditQueryError(InvalidRequestError):
    """A query the trail cannot answer: a period that ends before it starts, a bad cursor."""
